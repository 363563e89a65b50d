//! Key and signature encodings between what a PKCS#11 token holds and what AWS KMS
//! returns, all done by the RustCrypto encoders (`spki`, `pkcs8`, `sec1`, `ecdsa`, `rsa`):
//!
//! - CKA_EC_PARAMS: the curve's DER object identifier;
//! - CKA_EC_POINT: a DER OCTET STRING around the point (some tokens give the bare point);
//! - public keys as DER SubjectPublicKeyInfo (what GetPublicKey returns) and back;
//! - private keys as PKCS#8 DER (GenerateDataKeyPair), in zeroising memory;
//! - ECDSA signatures: PKCS#11's r‖s and the DER `ECDSA-Sig-Value` AWS KMS uses.
//!
//! Nothing here talks to a token.

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use spki::der::asn1::OctetStringRef;
use spki::der::{Decode, Encode};
use spki::ObjectIdentifier;
use zeroize::Zeroizing;

use super::algorithms::Curve;
use super::errors::{EncodingError, HsmError};

/// Runs `$body` with `$m` naming the RustCrypto crate of a short-Weierstrass `$curve`
/// (p256, p384, p521, k256) and `$t` its curve type; `$ed` for Ed25519.
macro_rules! by_curve {
    ($curve:expr, $m:ident, $t:ident => $body:expr, ed25519 => $ed:expr) => {
        match $curve {
            Curve::P256 => {
                #[allow(unused_imports)]
                use p256 as $m;
                #[allow(dead_code)]
                type $t = p256::NistP256;
                $body
            }
            Curve::P384 => {
                #[allow(unused_imports)]
                use p384 as $m;
                #[allow(dead_code)]
                type $t = p384::NistP384;
                $body
            }
            Curve::P521 => {
                #[allow(unused_imports)]
                use p521 as $m;
                #[allow(dead_code)]
                type $t = p521::NistP521;
                $body
            }
            Curve::Secp256k1 => {
                #[allow(unused_imports)]
                use k256 as $m;
                #[allow(dead_code)]
                type $t = k256::Secp256k1;
                $body
            }
            Curve::Ed25519 => $ed,
        }
    };
}
pub(crate) use by_curve;

fn encoding(what: &'static str) -> impl Fn(EncodingError) -> HsmError {
    move |source| HsmError::Encoding { what, source }
}

/// The curve's object identifier.
pub(crate) fn curve_oid(curve: Curve) -> ObjectIdentifier {
    use p256::pkcs8::AssociatedOid;
    by_curve!(curve, _m, C => <C as AssociatedOid>::OID, ed25519 => ed25519_dalek::pkcs8::ALGORITHM_OID)
}

/// CKA_EC_PARAMS of `curve`: the DER-encoded named-curve OID.
pub fn ec_params(curve: Curve) -> Vec<u8> {
    // An OID of a few bytes always encodes.
    curve_oid(curve).to_der().unwrap_or_default()
}

/// The curve whose CKA_EC_PARAMS is `params`, if it is one of ours.
pub fn curve_of_params(params: &[u8]) -> Option<Curve> {
    let oid = ObjectIdentifier::from_der(params).ok()?;
    Curve::ALL.into_iter().find(|c| curve_oid(*c) == oid)
}

/// The point inside a CKA_EC_POINT value: a DER OCTET STRING holding the point, or (some
/// tokens) the bare point.
pub fn point_from_attribute(value: &[u8], curve: Curve) -> Vec<u8> {
    if value.len() != curve.point_len() {
        if let Ok(inner) = OctetStringRef::from_der(value) {
            if inner.as_bytes().len() == curve.point_len() {
                return inner.as_bytes().to_vec();
            }
        }
    }
    value.to_vec()
}

/// CKA_EC_POINT of a public key object: the point in a DER OCTET STRING.
pub fn point_attribute(point: &[u8]) -> Result<Vec<u8>, HsmError> {
    OctetStringRef::new(point)
        .and_then(|o| o.to_der())
        .map_err(|e| encoding("an EC point")(e.into()))
}

/// The DER SubjectPublicKeyInfo of an RSA public key (rsaEncryption, NULL parameters).
pub fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, HsmError> {
    let err = encoding("an RSA public key");
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(modulus),
        rsa::BigUint::from_bytes_be(exponent),
    )
    .map_err(|e| err(e.into()))?;
    key.to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .map_err(|e| err(e.into()))
}

/// The DER SubjectPublicKeyInfo of an EC public point (SEC1 uncompressed; 32 raw bytes for
/// Ed25519).
pub fn ec_spki(curve: Curve, point: &[u8]) -> Result<Vec<u8>, HsmError> {
    let err = encoding("an EC public key");
    let doc = by_curve!(curve, m, _C => m::PublicKey::from_sec1_bytes(point)
        .map_err(|e| err(e.into()))?
        .to_public_key_der(),
        ed25519 => {
            let bytes: [u8; 32] = point.try_into().map_err(|_| {
                err(EncodingError::Length { got: point.len(), expected: 32 })
            })?;
            ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map_err(|e| err(e.into()))?
                .to_public_key_der()
        }
    );
    doc.map(|d| d.as_bytes().to_vec())
        .map_err(|e| err(EncodingError::Spki(e)))
}

/// The modulus and public exponent (big-endian) of an RSA SubjectPublicKeyInfo.
pub fn rsa_public_values(spki: &[u8]) -> Result<(Vec<u8>, Vec<u8>), HsmError> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPublicKey::from_public_key_der(spki)
        .map_err(|e| encoding("a stored RSA public key")(e.into()))?;
    Ok((key.n().to_bytes_be(), key.e().to_bytes_be()))
}

/// The public point (SEC1 uncompressed, or the Ed25519 point) of an EC
/// SubjectPublicKeyInfo.
pub fn spki_point(spki: &[u8]) -> Result<Vec<u8>, HsmError> {
    let err = encoding("a stored EC public key");
    let info = spki::SubjectPublicKeyInfoRef::try_from(spki).map_err(|e| err(e.into()))?;
    info.subject_public_key
        .as_bytes()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| err(EncodingError::UnusedBits))
}

/// PKCS#11's r‖s ECDSA signature as a DER `ECDSA-Sig-Value` (what AWS KMS returns).
pub fn ecdsa_raw_to_der(curve: Curve, raw: &[u8]) -> Result<Vec<u8>, HsmError> {
    let err = encoding("an ECDSA signature");
    by_curve!(curve, m, _C => m::ecdsa::Signature::from_slice(raw)
        .map(|s| s.to_der().as_bytes().to_vec())
        .map_err(|e| err(EncodingError::Signature(e))),
        ed25519 => Ok(raw.to_vec()))
}

/// A DER `ECDSA-Sig-Value` as PKCS#11's r‖s for `curve`; None when it is not one (a
/// signature that cannot verify).
pub fn ecdsa_der_to_raw(der: &[u8], curve: Curve) -> Option<Vec<u8>> {
    by_curve!(curve, m, _C => m::ecdsa::Signature::from_der(der)
        .ok()
        .map(|s| s.to_bytes().to_vec()),
        ed25519 => None)
}

/// The PKCS#8 DER of an EC private scalar (big-endian, any length up to the field's) or
/// an Ed25519 seed.
pub fn ec_pkcs8(curve: Curve, scalar: &[u8]) -> Result<Zeroizing<Vec<u8>>, HsmError> {
    let err = encoding("a private key");
    let scalar = fixed_len(scalar, curve.field_len()).ok_or_else(|| {
        err(EncodingError::Length {
            got: scalar.len(),
            expected: curve.field_len(),
        })
    })?;
    let doc = by_curve!(curve, m, _C => m::SecretKey::from_slice(&scalar)
        .map_err(|e| err(e.into()))?
        .to_pkcs8_der(),
        ed25519 => {
            let mut seed = Zeroizing::new([0u8; 32]);
            seed.copy_from_slice(&scalar);
            ed25519_dalek::SigningKey::from_bytes(&seed).to_pkcs8_der()
        }
    );
    let doc = doc.map_err(|e| err(e.into()))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// The components of an RSA private key as the token reveals them (big-endian).
pub struct RsaPrivateParts {
    pub modulus: Zeroizing<Vec<u8>>,
    pub public_exponent: Zeroizing<Vec<u8>>,
    pub private_exponent: Zeroizing<Vec<u8>>,
    pub prime1: Zeroizing<Vec<u8>>,
    pub prime2: Zeroizing<Vec<u8>>,
}

/// The PKCS#8 DER of an RSA private key.
pub fn rsa_pkcs8(parts: &RsaPrivateParts) -> Result<Zeroizing<Vec<u8>>, HsmError> {
    let err = encoding("an RSA private key");
    let big = |v: &[u8]| rsa::BigUint::from_bytes_be(v);
    let key = rsa::RsaPrivateKey::from_components(
        big(&parts.modulus),
        big(&parts.public_exponent),
        big(&parts.private_exponent),
        vec![big(&parts.prime1), big(&parts.prime2)],
    )
    .map_err(|e| err(e.into()))?;
    let doc = key.to_pkcs8_der().map_err(|e| err(e.into()))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// An EC private key's CKA_VALUE as the scalar (or Ed25519 seed): SoftHSM stores an
/// Ed25519 seed as the raw 32 bytes; some tokens wrap it in an OCTET STRING.
pub fn private_value(value: &[u8], curve: Curve) -> Zeroizing<Vec<u8>> {
    if curve == Curve::Ed25519 && value.len() != 32 {
        if let Ok(inner) = OctetStringRef::from_der(value) {
            if inner.as_bytes().len() == 32 {
                return Zeroizing::new(inner.as_bytes().to_vec());
            }
        }
    }
    Zeroizing::new(value.to_vec())
}

/// `value` as exactly `len` big-endian bytes (leading zeros added or removed).
fn fixed_len(value: &[u8], len: usize) -> Option<Zeroizing<Vec<u8>>> {
    let mut v = value;
    while v.len() > len && v[0] == 0 {
        v = &v[1..];
    }
    if v.len() > len {
        return None;
    }
    let mut out = Zeroizing::new(vec![0u8; len - v.len()]);
    out.extend_from_slice(v);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_params_are_the_named_curve_oids() {
        assert_eq!(
            ec_params(Curve::P256),
            [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
        );
        assert_eq!(
            ec_params(Curve::P384),
            [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22]
        );
        assert_eq!(
            ec_params(Curve::P521),
            [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23]
        );
        assert_eq!(
            ec_params(Curve::Secp256k1),
            [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x0A]
        );
        assert_eq!(ec_params(Curve::Ed25519), [0x06, 0x03, 0x2B, 0x65, 0x70]);
        for curve in Curve::ALL {
            assert_eq!(curve_of_params(&ec_params(curve)), Some(curve));
        }
        assert_eq!(curve_of_params(&[0x05, 0x00]), None);
    }

    #[test]
    fn ecdsa_signatures_convert_both_ways() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a leading zero in DER
        raw[63] = 1; // s is small
        let der = ecdsa_raw_to_der(Curve::P256, &raw).expect("a valid signature");
        assert_eq!(der[0], 0x30);
        assert_eq!(ecdsa_der_to_raw(&der, Curve::P256), Some(raw.clone()));
        assert_eq!(ecdsa_der_to_raw(&der[..der.len() - 1], Curve::P256), None);
        let mut long = vec![0x11u8; 132];
        long[0] = 0x01; // r and s below the P-521 group order
        long[66] = 0x01;
        let der = ecdsa_raw_to_der(Curve::P521, &long).expect("a valid signature");
        assert_eq!(der[1], 0x81, "P-521 signatures need a long-form length");
        assert_eq!(ecdsa_der_to_raw(&der, Curve::P521), Some(long));
    }

    #[test]
    fn ec_points_come_out_of_their_octet_string() {
        let point = [0x04u8; 65];
        let attribute = point_attribute(&point).expect("encodes");
        assert_eq!(&attribute[..2], &[0x04, 0x41]);
        assert_eq!(point_from_attribute(&attribute, Curve::P256), point);
        assert_eq!(point_from_attribute(&point, Curve::P256), point);
    }

    #[test]
    fn rsa_spki_encodes_integers_minimally_and_positive() {
        let modulus = {
            let mut n = vec![0u8; 1];
            n.extend_from_slice(&[0xc3; 256]);
            n
        };
        let der = rsa_spki(&modulus, &[0x01, 0x00, 0x01]).expect("encodes");
        let (n, e) = rsa_public_values(&der).expect("decodes");
        assert_eq!(n, &modulus[1..]);
        assert_eq!(e, [0x01, 0x00, 0x01]);
        // ... INTEGER (257 bytes: a zero byte keeps it positive) ...
        let at = der.windows(4).position(|w| w == [0x02, 0x82, 0x01, 0x01]);
        assert!(at.is_some(), "the modulus is a positive 257-byte INTEGER");
    }
}
