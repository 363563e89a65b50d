//! Unwrapping the caller's wrapped key material into the token (ImportKeyMaterial): the
//! RSA step (OAEP in the token, or raw RSA in the token and OAEP decoding on the host),
//! then for RSA_AES_KEY_WRAP_* the AES key-wrap step under the ephemeral key.

use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use zeroize::{Zeroize, Zeroizing};

use crate::hsm::algorithms::{MaterialKind, WrappingAlgorithm};
use crate::hsm::errors::{rejects_wrapped_key, HsmError, ImportError};
use crate::hsm::mechanisms;
use crate::hsm::oaep;
use crate::hsm::templates;
use crate::hsm::token::RegionToken;

use super::keys::TRANSIT_KEY_LABEL;

/// What [`RegionToken::unwrap_imported`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    /// The key check value (computed in the token; for private keys from the public key).
    pub kcv: Vec<u8>,
    /// Whether a token object was created (false: the label existed already, or a probe).
    pub created: bool,
    /// Private keys: the DER SubjectPublicKeyInfo of the imported key's public key.
    pub public_key: Option<Vec<u8>>,
}

/// Zeroises every CKA_VALUE of a template once the token has its copy.
fn scrub(template: &mut [Attribute]) {
    for a in template.iter_mut() {
        if let Attribute::Value(v) = a {
            v.zeroize();
        }
    }
}

impl RegionToken {
    /// Unwraps `wrapped` (made with `algorithm` under the public half of
    /// `wrapping_label`) into the token. With `label` it becomes the token object
    /// `label` (unless the token already holds it: then nothing is created and `created`
    /// is false); without, it is a session object (the probe copy) that only yields the key
    /// check value — and, for a private key, its public key, proven by a signature.
    /// A private key's token object is checked against `expected_public` (the public key
    /// the probe copy yielded).
    pub fn unwrap_imported(
        &self,
        wrapping_label: &str,
        algorithm: WrappingAlgorithm,
        wrapped: &[u8],
        kind: MaterialKind,
        label: Option<&str>,
        expected_public: Option<&[u8]>,
    ) -> Result<Unwrapped, ImportError> {
        let wrapping = self.handle(wrapping_label)?;
        // A PKCS#8 private key wrapped with RSA-OAEP takes the transit key's route.
        let transit = if kind.is_private_key() && !algorithm.aes_key_wrap() {
            Some(self.handle(TRANSIT_KEY_LABEL)?)
        } else {
            None
        };
        // The RSA ciphertext is as long as the modulus; with AES key wrap the wrapped
        // material follows it. Read the modulus length from the private key.
        let modulus_len = self.modulus_len(wrapping)?;
        let (rsa_part, kwp_part) = if algorithm.aes_key_wrap() {
            if wrapped.len() <= modulus_len {
                return Err(ImportError::CannotUnwrap);
            }
            wrapped.split_at(modulus_len)
        } else {
            (wrapped, &[][..])
        };
        let guard = label.map(|_| self.creation_guard());
        if let Some(l) = label {
            if self.has_object(l) {
                drop(guard);
                let handle = self.handle(l)?;
                let (kcv, public_key) =
                    self.check_material(handle, kind, false, expected_public, l)?;
                return Ok(Unwrapped {
                    kcv,
                    created: false,
                    public_key,
                });
            }
        }
        let template = templates::imported_material(kind, label, !self.capabilities().oaep_sha256);
        let steps = UnwrapSteps {
            wrapping,
            algorithm,
            rsa_part,
            kwp_part,
            kind,
            transit,
        };
        let handle = self.session(|s| Ok(self.unwrap_steps(s, &steps, template)))??;
        if let Some(l) = label {
            self.insert_handle(l, handle);
        }
        drop(guard);
        // The probe copy: length or key type check, then the key check value. The token
        // object (made from the same blob after the probe passed) is only checked to be
        // the same material.
        let checked = self.check_material(
            handle,
            kind,
            label.is_none(),
            expected_public,
            label.unwrap_or("the probe copy"),
        );
        match (&checked, label) {
            (Ok(_), Some(_)) => {}
            (Err(_), Some(l)) => {
                let _ = self.destroy(l);
            }
            (_, None) => {
                let _guard = self.creation_guard();
                let _ = self.session(|s| {
                    s.destroy_object(handle)
                        .map_err(self.p11("C_DestroyObject"))
                });
            }
        }
        let (kcv, public_key) = checked?;
        Ok(Unwrapped {
            kcv,
            created: label.is_some(),
            public_key,
        })
    }

    /// The modulus length in bytes of the RSA key object `key`.
    fn modulus_len(&self, key: ObjectHandle) -> Result<usize, HsmError> {
        let attrs = self.session(|s| {
            s.get_attributes(key, &[AttributeType::Modulus])
                .map_err(self.p11("C_GetAttributeValue"))
        })?;
        for a in attrs {
            if let Attribute::Modulus(m) = a {
                let skip = m.iter().take_while(|b| **b == 0).count();
                return Ok(m.len() - skip);
            }
        }
        Err(HsmError::MissingAttribute {
            region: self.region(),
            object: "the import wrapping key".into(),
            attribute: AttributeType::Modulus,
        })
    }

    /// The RSA step and, for RSA_AES_KEY_WRAP, the AES key-wrap step, in one session.
    /// Returns the handle of the new material object.
    fn unwrap_steps(
        &self,
        s: &Session,
        steps: &UnwrapSteps<'_>,
        mut template: Vec<Attribute>,
    ) -> Result<ObjectHandle, ImportError> {
        let bad = |e: cryptoki::error::Error, call: &'static str| {
            if rejects_wrapped_key(&e) {
                tracing::debug!(region = %self.region(), "{call} refused the wrapped key material: {e}");
                ImportError::CannotUnwrap
            } else {
                ImportError::Hsm(self.p11(call)(e))
            }
        };
        let oaep_mechanism = mechanisms::oaep(steps.algorithm.oaep_hash());
        let in_token_oaep = self.oaep_in_token(steps.algorithm);
        if let Some(transit) = steps.transit {
            return self.unwrap_pkcs8_in_transit(s, steps, transit, &template);
        }
        if !steps.algorithm.aes_key_wrap() {
            if in_token_oaep {
                return s
                    .unwrap_key(&oaep_mechanism, steps.wrapping, steps.rsa_part, &template)
                    .map_err(|e| bad(e, "C_UnwrapKey"));
            }
            // Raw RSA in the token, OAEP decoding here, C_CreateObject from zeroising memory.
            let secret = self.host_oaep_decode(s, steps)?;
            let expected = steps.kind.expected_len().ok_or(ImportError::CannotUnwrap)?;
            if secret.len() != expected {
                return Err(ImportError::WrongLength {
                    got: secret.len(),
                    expected,
                });
            }
            template.push(Attribute::Value(secret.to_vec()));
            let created = s.create_object(&template);
            scrub(&mut template);
            return created.map_err(|e| bad(e, "C_CreateObject"));
        }
        // RSA_AES_KEY_WRAP: first the ephemeral AES key, as a session object.
        let ephemeral = if in_token_oaep {
            s.unwrap_key(
                &oaep_mechanism,
                steps.wrapping,
                steps.rsa_part,
                &templates::ephemeral_unwrapping_key(),
            )
            .map_err(|e| bad(e, "C_UnwrapKey"))?
        } else {
            let secret = self.host_oaep_decode(s, steps)?;
            if !matches!(secret.len(), 16 | 24 | 32) {
                return Err(ImportError::CannotUnwrap);
            }
            let mut t = templates::ephemeral_unwrapping_key();
            t.push(Attribute::Value(secret.to_vec()));
            let created = s.create_object(&t);
            scrub(&mut t);
            created.map_err(|e| bad(e, "C_CreateObject"))?
        };
        let material = s
            .unwrap_key(
                &mechanisms::AES_KEY_WRAP_PAD,
                ephemeral,
                steps.kwp_part,
                &template,
            )
            .map_err(|e| bad(e, "C_UnwrapKey"));
        let _ = s.destroy_object(ephemeral);
        material
    }

    /// A PKCS#8 private key wrapped with RSA-OAEP: the RSA step makes it a
    /// [`templates::pkcs8_carrier`] (C_UnwrapKey with OAEP-SHA-1 in the token; for
    /// OAEP-SHA-256 without it in the token, raw RSA in the token, OAEP decoding here and
    /// C_CreateObject from zeroising memory); the transit key wraps the carrier with
    /// CKM_AES_KEY_WRAP_PAD and unwraps that as the private key `template`, so the token
    /// parses the PKCS#8. With OAEP-SHA-1 the private key is never in host memory.
    fn unwrap_pkcs8_in_transit(
        &self,
        s: &Session,
        steps: &UnwrapSteps<'_>,
        transit: ObjectHandle,
        template: &[Attribute],
    ) -> Result<ObjectHandle, ImportError> {
        let bad = |e: cryptoki::error::Error, call: &'static str| {
            if rejects_wrapped_key(&e) {
                tracing::debug!(region = %self.region(), "{call} refused the wrapped key material: {e}");
                ImportError::CannotUnwrap
            } else {
                ImportError::Hsm(self.p11(call)(e))
            }
        };
        let carrier = if self.oaep_in_token(steps.algorithm) {
            s.unwrap_key(
                &mechanisms::oaep(steps.algorithm.oaep_hash()),
                steps.wrapping,
                steps.rsa_part,
                &templates::pkcs8_carrier(),
            )
            .map_err(|e| bad(e, "C_UnwrapKey"))?
        } else {
            let secret = self.host_oaep_decode(s, steps)?;
            if secret.is_empty() {
                return Err(ImportError::CannotUnwrap);
            }
            let mut t = templates::pkcs8_carrier();
            t.push(Attribute::Value(secret.to_vec()));
            let created = s.create_object(&t);
            scrub(&mut t);
            created.map_err(|e| bad(e, "C_CreateObject"))?
        };
        let wrapped = s
            .wrap_key(&mechanisms::AES_KEY_WRAP_PAD, transit, carrier)
            .map(Zeroizing::new)
            .map_err(|e| ImportError::Hsm(self.p11("C_WrapKey")(e)));
        let _ = s.destroy_object(carrier);
        s.unwrap_key(&mechanisms::AES_KEY_WRAP_PAD, transit, &wrapped?, template)
            .map_err(|e| bad(e, "C_UnwrapKey"))
    }

    /// CKM_RSA_X_509 decryption of the RSA part in the token, then OAEP decoding in
    /// zeroising memory.
    fn host_oaep_decode(
        &self,
        s: &Session,
        steps: &UnwrapSteps<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, ImportError> {
        let k = self.modulus_len(steps.wrapping)?;
        if steps.rsa_part.len() != k {
            return Err(ImportError::CannotUnwrap);
        }
        let raw = s
            .decrypt(&mechanisms::RSA_RAW, steps.wrapping, steps.rsa_part)
            .map(Zeroizing::new)
            .map_err(|e| {
                if rejects_wrapped_key(&e) {
                    ImportError::CannotUnwrap
                } else {
                    ImportError::Hsm(self.p11("C_Decrypt")(e))
                }
            })?;
        oaep::decode_raw(steps.algorithm.oaep_hash().hash(), &raw, k)
            .ok_or(ImportError::CannotUnwrap)
    }
}

/// What one unwrap works on.
struct UnwrapSteps<'a> {
    /// The wrapping key's private half.
    wrapping: ObjectHandle,
    algorithm: WrappingAlgorithm,
    /// The RSA-encrypted part (the material, or the ephemeral AES key).
    rsa_part: &'a [u8],
    /// The material wrapped under the ephemeral AES key (RSA_AES_KEY_WRAP_* only).
    kwp_part: &'a [u8],
    kind: MaterialKind,
    /// The transit key, for a PKCS#8 private key wrapped with RSA-OAEP.
    transit: Option<ObjectHandle>,
}
