//! Signing and verification inside the token. Signing uses the private key object of
//! the material label; verification runs against a session object made once per public
//! key from the stored SubjectPublicKeyInfo. Signatures are in AWS KMS's form (DER
//! `ECDSA-Sig-Value` for ECDSA; see [`super::encoding`]); what the token signs is
//! [`super::mechanisms::sign_input`].

use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;

use super::algorithms::{PairKind, SignScheme};
use super::encoding;
use super::errors::{rejects_signature, HsmError};
use super::mechanisms;
use super::templates;
use super::token::RegionToken;

impl RegionToken {
    /// Signs `input` with the private key object `key` in session `s` (no label needed:
    /// also for session objects). Returns the signature as AWS KMS returns it.
    pub(crate) fn sign_handle(
        &self,
        s: &Session,
        key: ObjectHandle,
        scheme: SignScheme,
        input: &[u8],
    ) -> Result<Vec<u8>, HsmError> {
        let data = mechanisms::sign_input(scheme, input);
        let raw = s
            .sign(&mechanisms::sign(scheme), key, &data)
            .map_err(self.p11("C_Sign"))?;
        match scheme {
            SignScheme::Ecdsa(curve) => encoding::ecdsa_raw_to_der(curve, &raw),
            _ => Ok(raw),
        }
    }

    /// Signs `input` (a digest, or the message for Ed25519) with the private key `label`.
    /// Returns the signature as AWS KMS returns it (DER for ECDSA).
    pub fn sign_with(
        &self,
        label: &str,
        scheme: SignScheme,
        input: &[u8],
    ) -> Result<Vec<u8>, HsmError> {
        let key = self.handle(label)?;
        self.session(|s| self.sign_handle(s, key, scheme, input))
    }

    /// Verifies `signature` (as AWS KMS returns it) over `input` with the public key `spki`
    /// of a key pair of `kind`, inside the token: false when it does not verify.
    pub fn verify_with(
        &self,
        kind: PairKind,
        spki: &[u8],
        scheme: SignScheme,
        input: &[u8],
        signature: &[u8],
    ) -> Result<bool, HsmError> {
        let signature = match scheme {
            SignScheme::Ecdsa(curve) => match encoding::ecdsa_der_to_raw(signature, curve) {
                Some(raw) => raw,
                None => return Ok(false),
            },
            _ => signature.to_vec(),
        };
        let public = self.public_object(spki, || templates::verifying_public_key(kind, spki))?;
        let data = mechanisms::sign_input(scheme, input);
        self.session(
            |s| match s.verify(&mechanisms::sign(scheme), public, &data, &signature) {
                Ok(()) => Ok(true),
                Err(e) if rejects_signature(&e) => Ok(false),
                Err(e) => Err(self.p11("C_Verify")(e)),
            },
        )
    }
}
