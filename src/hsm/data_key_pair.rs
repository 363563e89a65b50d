//! Data key pairs (GenerateDataKeyPair): generated in the token as session objects, the
//! private key read out as PKCS#8 in zeroising memory (returning it is the operation's
//! purpose) and the public key as DER SubjectPublicKeyInfo, then both destroyed.

use cryptoki::object::{AttributeType, ObjectHandle};
use cryptoki::session::Session;
use zeroize::Zeroizing;

use super::algorithms::PairKind;
use super::encoding::{self, RsaPrivateParts};
use super::errors::HsmError;
use super::mechanisms;
use super::readers;
use super::templates;
use super::token::RegionToken;

impl RegionToken {
    /// Generates a data key pair of `kind` in the token (as session objects), returns its
    /// private key as PKCS#8 DER (zeroising) and its public key as DER SubjectPublicKeyInfo,
    /// and destroys both objects.
    pub fn generate_data_key_pair(
        &self,
        kind: PairKind,
    ) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), HsmError> {
        let (public, private) = templates::data_key_pair(kind);
        self.session(|s| {
            let (public_handle, private_handle) = {
                let _guard = self.creation_guard();
                s.generate_key_pair(&mechanisms::pair_generation(kind), &public, &private)
                    .map_err(self.p11("C_GenerateKeyPair"))?
            };
            let result = readers::spki(self, s, public_handle, kind).and_then(|spki| {
                let pkcs8 = match kind {
                    PairKind::Rsa(_) => {
                        encoding::rsa_pkcs8(&rsa_private(self, s, private_handle)?)?
                    }
                    PairKind::Ec(curve) => {
                        let value = readers::secret_value(
                            self,
                            s,
                            private_handle,
                            "the generated private key",
                        )?;
                        encoding::ec_pkcs8(curve, &encoding::private_value(&value, curve))?
                    }
                };
                Ok((pkcs8, spki))
            });
            let _guard = self.creation_guard();
            let d1 = s.destroy_object(public_handle);
            let d2 = s.destroy_object(private_handle);
            let out = result?;
            d1.map_err(self.p11("C_DestroyObject"))?;
            d2.map_err(self.p11("C_DestroyObject"))?;
            Ok(out)
        })
    }
}

/// The components of the (extractable, session-only) RSA private key `private`.
fn rsa_private(
    token: &RegionToken,
    s: &Session,
    private: ObjectHandle,
) -> Result<RsaPrivateParts, HsmError> {
    const PARTS: [AttributeType; 5] = [
        AttributeType::Modulus,
        AttributeType::PublicExponent,
        AttributeType::PrivateExponent,
        AttributeType::Prime1,
        AttributeType::Prime2,
    ];
    // Each part read straight into zeroising memory (the private ones are secrets).
    let mut parts: [Zeroizing<Vec<u8>>; 5] = Default::default();
    for (part, which) in parts.iter_mut().zip(PARTS) {
        *part =
            readers::secret_attribute(token, s, private, which, "the generated RSA private key")?;
        if part.is_empty() {
            return Err(HsmError::MissingAttribute {
                region: token.region(),
                object: "the generated RSA private key".into(),
                attribute: which,
            });
        }
    }
    let [modulus, public_exponent, private_exponent, prime1, prime2] = parts;
    Ok(RsaPrivateParts {
        modulus,
        public_exponent,
        private_exponent,
        prime1,
        prime2,
    })
}
