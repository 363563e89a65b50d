//! The RSA wrapping key pair of one GetParametersForImport call (its templates, unwrap
//! template included: [`templates::import_wrapping_pair`]).

use crate::hsm::algorithms::{OaepHash, WrappingAlgorithm};
use crate::hsm::errors::HsmError;
use crate::hsm::mechanisms;
use crate::hsm::readers;
use crate::hsm::templates::{self, Template};
use crate::hsm::token::RegionToken;

impl RegionToken {
    /// Whether this token runs the RSA step of `algorithm` as OAEP itself (else raw RSA
    /// in the token and OAEP decoding on the host).
    pub(crate) fn oaep_in_token(&self, algorithm: WrappingAlgorithm) -> bool {
        match algorithm.oaep_hash() {
            OaepHash::Sha1 => true,
            OaepHash::Sha256 => self.capabilities().oaep_sha256,
        }
    }

    /// Generates the RSA wrapping key pair of one GetParametersForImport call: the private
    /// half stays in the token as `label`; returns the public half as DER
    /// SubjectPublicKeyInfo.
    pub fn generate_import_wrapping_key(
        &self,
        label: &str,
        bits: u64,
        algorithm: WrappingAlgorithm,
    ) -> Result<Vec<u8>, HsmError> {
        let (public, private) =
            templates::import_wrapping_pair(label, bits, algorithm, self.oaep_in_token(algorithm));
        let public = Template {
            attrs: public,
            ..Template::default()
        };
        let _guard = self.creation_guard();
        let (spki, private_handle) = self.session(|s| {
            let (public_handle, private_handle) = self
                .raw()
                .generate_key_pair(s, &mechanisms::RSA_PAIR_GENERATION, &public, &private)
                .map_err(self.p11("C_GenerateKeyPair"))?;
            let spki = readers::rsa_public(self, s, public_handle, "the import wrapping key")
                .and_then(|values| values.spki());
            let _ = s.destroy_object(public_handle);
            match spki {
                Ok(spki) => Ok((spki, private_handle)),
                Err(e) => {
                    let _ = s.destroy_object(private_handle);
                    Err(e)
                }
            }
        })?;
        self.insert_handle(label, private_handle);
        Ok(spki)
    }
}
