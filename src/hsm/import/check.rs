//! Checks of unwrapped material, all inside the token: the length or key type the key
//! spec needs, the key check value, and for private keys the public key (proven by a
//! signature the imported key makes; see [`crate::hsm::ec_points`] for EC keys).
//!
//! The length of secret-key material is measured without reading it ([`Measured`]): the
//! probe copy is wrapped under the measuring key (CKM_AES_KEY_WRAP_PAD; SoftHSM pads the
//! key to 8 bytes first, so the wrapped length is the length rounded up to 8, plus 8), and
//! an HMAC key is narrowed further by the HMAC mechanisms, each of which refuses keys
//! shorter than its hash.

use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use zeroize::Zeroizing;

use crate::hsm::algorithms::{Hash, MaterialKind, PairKind, PairUsage, SignScheme};
use crate::hsm::ec_points;
use crate::hsm::encoding;
use crate::hsm::errors::{rejects_wrapped_key, HsmError, ImportError};
use crate::hsm::mechanisms;
use crate::hsm::readers;
use crate::hsm::token::RegionToken;

use super::keys::MEASURING_KEY_LABEL;

/// The length of a secret, as far as the token tells it without revealing it: between
/// `min` and `max` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Measured {
    pub min: usize,
    pub max: usize,
}

impl Measured {
    /// Whether a secret of `len` bytes could have been measured so.
    pub fn admits(self, len: usize) -> bool {
        (self.min..=self.max).contains(&len)
    }

    /// The length to report when `expected` is not admitted: the measured bound nearest
    /// to it.
    pub fn reported(self, expected: usize) -> usize {
        if expected < self.min {
            self.min
        } else {
            self.max
        }
    }

    /// Narrows an HMAC key's length with what `accepts(hash)` tells: an HMAC mechanism
    /// accepts only keys at least as long as its hash.
    fn narrowed(mut self, accepts: impl Fn(Hash) -> bool) -> Measured {
        for hash in [
            Hash::Sha1,
            Hash::Sha224,
            Hash::Sha256,
            Hash::Sha384,
            Hash::Sha512,
        ] {
            let bound = hash.output_len();
            if bound > self.max || bound <= self.min {
                continue;
            }
            if accepts(hash) {
                self.min = bound;
            } else {
                self.max = bound - 1;
            }
        }
        self
    }
}

/// Fixed IV and AAD of the key check value (AES-GCM over no plaintext: the tag only).
const KCV_IV: [u8; 12] = *b"hsm-kms-kcv1";
const KCV_AAD: &[u8] = b"hsm-kms key check value v1";
/// The fixed message of an HMAC key's check value (HMAC-SHA-1 in the token: SoftHSM
/// refuses HMAC keys shorter than the hash, and SHA-1's 20 bytes fit every HMAC key spec).
const KCV_HMAC_MESSAGE: &[u8] = b"hsm-kms HMAC key check value v1";
/// The message an imported private key signs once to prove its public key.
const PUBLIC_KEY_PROOF_MESSAGE: &[u8] = b"hsm-kms imported private key proof v1";

/// The key check value of a private key: a hash of its public key (DER
/// SubjectPublicKeyInfo), which identifies the key pair.
pub fn public_key_check_value(spki: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"hsm-kms public key check value v1\0");
    h.update(spki);
    h.finalize()[..16].to_vec()
}

/// The key check value of secret-key material, computed in the token: for AES the
/// AES-GCM tag of no plaintext under a fixed IV and AAD, for HMAC keys the HMAC-SHA-1 of
/// a fixed message. (Private keys: [`public_key_check_value`].)
fn check_value(
    s: &Session,
    handle: ObjectHandle,
    kind: MaterialKind,
) -> Result<Vec<u8>, cryptoki::error::Error> {
    if let MaterialKind::Hmac { .. } = kind {
        return s.sign(&mechanisms::hmac(Hash::Sha1), handle, KCV_HMAC_MESSAGE);
    }
    let mut iv = KCV_IV;
    s.encrypt(&mechanisms::aes_gcm(&mut iv, KCV_AAD)?, handle, &[])
}

impl RegionToken {
    /// Checks the material object `handle` (the probe copy when `probe`; `label` names it
    /// in errors) and returns its key check value and, for a private key, its public key
    /// (DER SubjectPublicKeyInfo).
    pub(super) fn check_material(
        &self,
        handle: ObjectHandle,
        kind: MaterialKind,
        probe: bool,
        expected_public: Option<&[u8]>,
        label: &str,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>), ImportError> {
        if let MaterialKind::PrivateKey { kind: pair, usage } = kind {
            let spki = if probe {
                self.prove_public_key(handle, pair)?
            } else {
                let spki = expected_public.ok_or_else(|| HsmError::MissingProbePublicKey {
                    region: self.region(),
                    label: label.to_string(),
                })?;
                if !self.matches_public_key(handle, pair, usage, spki)? {
                    return Err(HsmError::ImportedKeyMismatch {
                        region: self.region(),
                        label: label.to_string(),
                    }
                    .into());
                }
                spki.to_vec()
            };
            return Ok((public_key_check_value(&spki), Some(spki)));
        }
        let kcv = self.session(|s| {
            if probe {
                if let Some(expected) = kind.expected_len() {
                    let measured = self.measure(s, handle, kind)?;
                    if !measured.admits(expected) {
                        return Ok(Err(ImportError::WrongLength {
                            got: measured.reported(expected),
                            expected,
                        }));
                    }
                }
            }
            match check_value(s, handle, kind) {
                Ok(kcv) => Ok(Ok(kcv)),
                Err(e) if rejects_wrapped_key(&e) || probe => Ok(Err(ImportError::CannotUnwrap)),
                Err(e) => Err(self.p11("C_Sign")(e)),
            }
        })??;
        Ok((kcv, None))
    }

    /// The public key of the private key object `handle` (the probe copy), from what the
    /// token tells without revealing the private key: an RSA key's modulus and public
    /// exponent; for EC the x coordinate of the public point as ECDH with the base point G
    /// (x(d·G)), and y chosen by a signature of the key that only one of the two points
    /// verifies. Either way one signature made in the token must verify under the result,
    /// so a PKCS#8 whose parts do not belong together is refused. The key type must be the
    /// key spec's (curve, modulus size).
    fn prove_public_key(
        &self,
        handle: ObjectHandle,
        pair: PairKind,
    ) -> Result<Vec<u8>, ImportError> {
        let digest = Hash::Sha256.digest(PUBLIC_KEY_PROOF_MESSAGE);
        let (candidates, scheme) = match pair {
            PairKind::Rsa(bits) => {
                let public = self.session(|s| {
                    readers::rsa_public(self, s, handle, "the imported RSA private key")
                })?;
                let got = public.bits();
                if got != bits {
                    return Err(ImportError::WrongKeyType(format!(
                        "an RSA key of {got} bits"
                    )));
                }
                (vec![public.spki()?], SignScheme::RsaPkcs1(Hash::Sha256))
            }
            PairKind::Ec(curve) => {
                let params =
                    self.session(|s| readers::read(self, s, handle, &[AttributeType::EcParams]))?;
                let params = params.into_iter().find_map(|a| match a {
                    Attribute::EcParams(p) => Some(p),
                    _ => None,
                });
                let on = params.as_deref().and_then(encoding::curve_of_params);
                if on != Some(curve) {
                    let other = on.map_or("an unsupported curve", |c| c.name());
                    return Err(ImportError::WrongKeyType(format!("an EC key on {other}")));
                }
                let g = ec_points::generator_point(curve).ok_or(ImportError::CannotUnwrap)?;
                let x = self.session(|s| self.ecdh_x_handle(s, handle, curve, &g))?;
                let mut spkis = Vec::new();
                for point in ec_points::points_with_x(curve, &x) {
                    spkis.push(encoding::ec_spki(curve, &point)?);
                }
                (spkis, SignScheme::Ecdsa(curve))
            }
        };
        let signature = self.session(|s| self.sign_handle(s, handle, scheme, &digest))?;
        for spki in candidates {
            if self.verify_with(pair, &spki, scheme, &digest, &signature)? {
                return Ok(spki);
            }
        }
        Err(ImportError::CannotUnwrap)
    }

    /// Whether the private key object `handle` (usable for `usage` only) is the private
    /// half of `spki`: the same modulus and exponent (RSA), a signature that verifies
    /// (EC signing keys), or the same x(d·G) (EC key agreement keys).
    fn matches_public_key(
        &self,
        handle: ObjectHandle,
        pair: PairKind,
        usage: PairUsage,
        spki: &[u8],
    ) -> Result<bool, ImportError> {
        match pair {
            PairKind::Rsa(_) => {
                let public = self.session(|s| {
                    readers::rsa_public(self, s, handle, "the imported RSA private key")
                })?;
                Ok(public.spki()? == spki)
            }
            PairKind::Ec(curve) if usage == PairUsage::Derive => {
                let g = ec_points::generator_point(curve).ok_or(ImportError::CannotUnwrap)?;
                let x = self.session(|s| self.ecdh_x_handle(s, handle, curve, &g))?;
                Ok(ec_points::spki_x(curve, spki).as_deref() == Some(&x[..]))
            }
            PairKind::Ec(curve) => {
                let digest = Hash::Sha256.digest(PUBLIC_KEY_PROOF_MESSAGE);
                let scheme = SignScheme::Ecdsa(curve);
                let signature = self.session(|s| self.sign_handle(s, handle, scheme, &digest))?;
                Ok(self.verify_with(pair, spki, scheme, &digest, &signature)?)
            }
        }
    }

    /// The length of the secret in the probe copy `handle` (sensitive, extractable only
    /// under a trusted key), never read: wrapped under the measuring key, then for HMAC
    /// keys narrowed by the HMAC mechanisms' minimum key sizes. The wrapped bytes are
    /// zeroised; nothing can unwrap them anyway (the measuring key cannot unwrap).
    fn measure(
        &self,
        s: &Session,
        handle: ObjectHandle,
        kind: MaterialKind,
    ) -> Result<Measured, HsmError> {
        let measuring = self.handle(MEASURING_KEY_LABEL)?;
        let wrapped = s
            .wrap_key(&mechanisms::AES_KEY_WRAP_PAD, measuring, handle)
            .map(Zeroizing::new)
            .map_err(self.p11("C_WrapKey"))?;
        let padded = wrapped.len().saturating_sub(8);
        let measured = Measured {
            min: padded.saturating_sub(7).max(1),
            max: padded,
        };
        Ok(match kind {
            MaterialKind::Hmac { .. } => measured.narrowed(|hash| {
                s.sign(&mechanisms::hmac(hash), handle, KCV_HMAC_MESSAGE)
                    .is_ok()
            }),
            _ => measured,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_lengths_are_narrowed_by_the_minimum_key_sizes() {
        // 28 bytes wrap like 25 to 32; SHA-224 accepts (>= 28), SHA-256 refuses (< 32).
        let bucket = Measured { min: 25, max: 32 };
        let hmac_224 = bucket.narrowed(|h| h.output_len() <= 28);
        assert_eq!(hmac_224, Measured { min: 28, max: 31 });
        assert!(hmac_224.admits(28));
        // A 32-byte key given for HMAC_224 is told apart: SHA-256 accepts it.
        let thirty_two = bucket.narrowed(|h| h.output_len() <= 32);
        assert_eq!(thirty_two, Measured { min: 32, max: 32 });
        assert!(!thirty_two.admits(28));
        assert_eq!(thirty_two.reported(28), 32);
        // HMAC_384 and HMAC_512 are exact.
        let h384 = Measured { min: 41, max: 48 }.narrowed(|h| h.output_len() <= 48);
        assert_eq!(h384, Measured { min: 48, max: 48 });
        let short = Measured { min: 57, max: 64 }.narrowed(|h| h.output_len() <= 48);
        assert_eq!(short, Measured { min: 57, max: 63 });
        assert!(!short.admits(64));
        // AES: the padded length is exact for 16, 24 and 32 bytes.
        assert_eq!(Measured { min: 9, max: 16 }.reported(32), 16);
    }
}
