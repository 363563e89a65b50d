//! Checks of unwrapped material, all inside the token: the length or key type the key
//! spec needs, the key check value, and for private keys the public key (proven by a
//! signature the imported key makes; see [`crate::hsm::ec_points`] for EC keys).

use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use zeroize::Zeroizing;

use crate::hsm::algorithms::{Hash, MaterialKind, PairKind, PairUsage, SignScheme};
use crate::hsm::ec_points;
use crate::hsm::encoding;
use crate::hsm::errors::{rejects_wrapped_key, HsmError, ImportError};
use crate::hsm::mechanisms;
use crate::hsm::readers;
use crate::hsm::templates;
use crate::hsm::token::RegionToken;

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
                    let len = match kind {
                        MaterialKind::Hmac { .. } => self.secret_len(s, handle)?,
                        _ => self.probe_len(s, handle)?,
                    };
                    if len != expected {
                        return Ok(Err(ImportError::WrongLength { got: len, expected }));
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

    /// The length of the secret in the (non-sensitive, session-only) HMAC probe object
    /// `handle`: CKA_VALUE_LEN when the token records it, else the length of CKA_VALUE as
    /// C_GetAttributeValue reports it without being given a buffer (the value is never
    /// read).
    fn secret_len(&self, s: &Session, handle: ObjectHandle) -> Result<usize, HsmError> {
        if let Ok(attrs) = s.get_attributes(handle, &[AttributeType::ValueLen]) {
            for a in attrs {
                if let Attribute::ValueLen(l) = a {
                    let l: u64 = l.into();
                    if l > 0 {
                        return Ok(l as usize);
                    }
                }
            }
        }
        let info = s
            .get_attribute_info(handle, &[AttributeType::Value])
            .map_err(self.p11("C_GetAttributeValue"))?;
        match info.first() {
            Some(AttributeInfo::Available(len)) => Ok(*len),
            _ => Err(HsmError::MissingAttribute {
                region: self.region(),
                object: "the imported HMAC key's probe copy".into(),
                attribute: AttributeType::Value,
            }),
        }
    }

    /// The length of the secret in the (extractable, session-only) probe object `handle`,
    /// found without reading it: wrapped under a throwaway AES key with
    /// CKM_AES_KEY_WRAP_PAD, the output is 8 bytes longer than the secret rounded up to 8
    /// bytes (exact for AES keys). The throwaway key is destroyed at once and the wrapped
    /// bytes are zeroised.
    fn probe_len(&self, s: &Session, handle: ObjectHandle) -> Result<usize, HsmError> {
        let throwaway = s
            .generate_key(
                &cryptoki::mechanism::Mechanism::AesKeyGen,
                &templates::throwaway_wrapping_key(),
            )
            .map_err(self.p11("C_GenerateKey"))?;
        let wrapped = s
            .wrap_key(&mechanisms::AES_KEY_WRAP_PAD, throwaway, handle)
            .map(Zeroizing::new)
            .map_err(self.p11("C_WrapKey"));
        let _ = s.destroy_object(throwaway);
        Ok(wrapped?.len().saturating_sub(8))
    }
}
