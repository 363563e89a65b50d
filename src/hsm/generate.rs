//! Key material generated inside the token for new KMS keys and rotations: AES-256 keys,
//! HMAC keys and key pairs, each a token object labelled with the material label. The
//! public half of a key pair is a session object, read once for the DER
//! SubjectPublicKeyInfo the caller stores, and destroyed: public keys live in the key's
//! metadata, so every related Region returns the same bytes.

use cryptoki::mechanism::Mechanism;

use super::algorithms::{PairKind, PairUsage};
use super::errors::HsmError;
use super::mechanisms;
use super::readers;
use super::templates::{self, Extractability};
use super::token::RegionToken;

impl RegionToken {
    /// Generates an AES-256 key inside the token as a token object labelled `label`.
    pub fn generate_aes256(&self, label: &str, extract: Extractability) -> Result<(), HsmError> {
        let template = templates::aes_material(label, extract);
        let _guard = self.creation_guard();
        let handle = self.session(|s| {
            s.generate_key(&Mechanism::AesKeyGen, &template)
                .map_err(self.p11("C_GenerateKey"))
        })?;
        self.insert_handle(label, handle);
        Ok(())
    }

    /// Generates an HMAC key of `len` bytes as the token object `label` (sign/verify only).
    pub fn generate_hmac_material(
        &self,
        label: &str,
        len: usize,
        extract: Extractability,
    ) -> Result<(), HsmError> {
        let template = templates::hmac_material(label, len, extract);
        let _guard = self.creation_guard();
        let handle = self.session(|s| {
            s.generate_key(&Mechanism::GenericSecretKeyGen, &template)
                .map_err(self.p11("C_GenerateKey"))
        })?;
        self.insert_handle(label, handle);
        Ok(())
    }

    /// Generates a key pair of `kind` whose private key becomes the token object `label`
    /// (usable for `usage` only). Returns the DER SubjectPublicKeyInfo of the public key.
    pub fn generate_pair_material(
        &self,
        label: &str,
        kind: PairKind,
        usage: PairUsage,
        extract: Extractability,
    ) -> Result<Vec<u8>, HsmError> {
        let raw_rsa = !self.capabilities().oaep_sha256;
        let (public, private) = templates::pair_material(label, kind, usage, extract, raw_rsa);
        let _guard = self.creation_guard();
        self.session(|s| {
            let (public_handle, private_handle) = s
                .generate_key_pair(&mechanisms::pair_generation(kind), &public, &private)
                .map_err(self.p11("C_GenerateKeyPair"))?;
            let spki = readers::spki(self, s, public_handle, kind);
            let destroyed = s
                .destroy_object(public_handle)
                .map_err(self.p11("C_DestroyObject"));
            match spki.and_then(|spki| destroyed.map(|()| spki)) {
                Ok(spki) => {
                    self.insert_handle(label, private_handle);
                    Ok(spki)
                }
                Err(e) => {
                    let _ = s.destroy_object(private_handle);
                    Err(e)
                }
            }
        })
    }
}
