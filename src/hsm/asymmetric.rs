//! Asymmetric and HMAC key material in a Region's token: key-pair and HMAC key generation,
//! signing, verification, RSA-OAEP decryption, HMAC, ECDH, and data key pairs.
//!
//! What runs where:
//! - Private keys and HMAC secrets are token objects labelled with the material label
//!   (sensitive; extractable only under a trusted key for multi-Region keys, per
//!   docs/architecture.md). The public half of a key pair is generated as a session object, read
//!   once to build the DER SubjectPublicKeyInfo the caller stores, and destroyed: public
//!   keys live in the key's metadata, so every related Region returns the same bytes.
//! - Signing, HMAC, RSA decryption and ECDH run inside the token. Verification runs inside
//!   the token too, against a short-lived session object made from the stored public key.
//! - Message hashing for RAW signing happens on the host (messages are not secret); the
//!   token signs the digest (CKM_ECDSA, CKM_RSA_PKCS with a DigestInfo, CKM_RSA_PKCS_PSS).
//!   SoftHSM 2.6.1 has no hash-and-sign ECDSA mechanisms, so this is also the only way there.
//! - RSA-OAEP with SHA-256: SoftHSM 2.6.1 accepts OAEP only with SHA-1, so the token does
//!   a raw RSA decryption (CKM_RSA_X_509) and the OAEP decoding happens on the host in a
//!   zeroising buffer. The module's support is probed once and the in-token path preferred.
//! - Data key pairs are generated in the token as session objects, read out as PKCS#8 in
//!   zeroising memory (returning them is the operation's purpose) and destroyed.

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use sha1::Sha1;
use sha2::{Digest as _, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use super::token::{Extractability, RegionToken};
use super::HsmError;

/// Elliptic curves of the KMS key specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
    Secp256k1,
    Ed25519,
}

impl Curve {
    /// CKA_EC_PARAMS: the DER-encoded named-curve OID.
    pub(crate) fn ec_params(self) -> &'static [u8] {
        match self {
            Curve::P256 => &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07],
            Curve::P384 => &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22],
            Curve::P521 => &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23],
            Curve::Secp256k1 => &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x0A],
            Curve::Ed25519 => &[0x06, 0x03, 0x2B, 0x65, 0x70],
        }
    }

    /// Bytes of a field element (and of each ECDSA signature half).
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 | Curve::Secp256k1 | Curve::Ed25519 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The curve's name as OpenSSL and the SEC/RFC documents spell it.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "secp256r1",
            Curve::P384 => "secp384r1",
            Curve::P521 => "secp521r1",
            Curve::Secp256k1 => "secp256k1",
            Curve::Ed25519 => "edwards25519",
        }
    }

    pub(crate) fn key_type(self) -> KeyType {
        if self == Curve::Ed25519 {
            KeyType::EC_EDWARDS
        } else {
            KeyType::EC
        }
    }
}

/// The kind of a key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairKind {
    /// RSA with this modulus size in bits.
    Rsa(u64),
    Ec(Curve),
}

impl PairKind {
    /// The PKCS#11 key-pair generation mechanism's name (for error messages).
    pub fn generation_mechanism(self) -> &'static str {
        match self {
            PairKind::Rsa(_) => "CKM_RSA_PKCS_KEY_PAIR_GEN",
            PairKind::Ec(Curve::Ed25519) => "CKM_EC_EDWARDS_KEY_PAIR_GEN",
            PairKind::Ec(_) => "CKM_EC_KEY_PAIR_GEN",
        }
    }
}

/// What a key pair's private key may do in the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairUsage {
    Sign,
    Decrypt,
    Derive,
}

/// Hash functions of the signing, MAC and OAEP algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha224 => 28,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// The digest of `data` (computed on the host: only for data that is not secret).
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha1 => Sha1::digest(data).to_vec(),
            Hash::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn mechanism_type(self) -> MechanismType {
        match self {
            Hash::Sha1 => MechanismType::SHA1,
            Hash::Sha224 => MechanismType::SHA224,
            Hash::Sha256 => MechanismType::SHA256,
            Hash::Sha384 => MechanismType::SHA384,
            Hash::Sha512 => MechanismType::SHA512,
        }
    }

    fn mgf(self) -> PkcsMgfType {
        match self {
            Hash::Sha1 => PkcsMgfType::MGF1_SHA1,
            Hash::Sha224 => PkcsMgfType::MGF1_SHA224,
            Hash::Sha256 => PkcsMgfType::MGF1_SHA256,
            Hash::Sha384 => PkcsMgfType::MGF1_SHA384,
            Hash::Sha512 => PkcsMgfType::MGF1_SHA512,
        }
    }

    /// The DER DigestInfo prefix of PKCS#1 v1.5 signatures.
    fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Hash::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
                0x14,
            ],
            Hash::Sha224 => &[
                0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x04, 0x05, 0x00, 0x04, 0x1c,
            ],
            Hash::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Hash::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Hash::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    fn hmac_mechanism(self) -> Mechanism<'static> {
        match self {
            Hash::Sha1 => Mechanism::Sha1Hmac,
            Hash::Sha224 => Mechanism::Sha224Hmac,
            Hash::Sha256 => Mechanism::Sha256Hmac,
            Hash::Sha384 => Mechanism::Sha384Hmac,
            Hash::Sha512 => Mechanism::Sha512Hmac,
        }
    }
}

/// A signature scheme and what its input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignScheme {
    /// RSASSA-PKCS1-v1_5 over a digest of this hash.
    RsaPkcs1(Hash),
    /// RSASSA-PSS over a digest of this hash, MGF1 with the same hash, salt = hash length.
    RsaPss(Hash),
    /// ECDSA over a digest; signatures are DER `ECDSA-Sig-Value` on the wire.
    Ecdsa(Curve),
    /// Pure Ed25519 over the message itself.
    Ed25519,
}

impl SignScheme {
    /// The PKCS#11 mechanism's name (for error messages).
    pub fn mechanism_name(self) -> &'static str {
        match self {
            SignScheme::RsaPkcs1(_) => "CKM_RSA_PKCS",
            SignScheme::RsaPss(_) => "CKM_RSA_PKCS_PSS",
            SignScheme::Ecdsa(_) => "CKM_ECDSA",
            SignScheme::Ed25519 => "CKM_EDDSA",
        }
    }
}

/// Hashes for RSA-OAEP (the hash and MGF1 use the same function, empty label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OaepHash {
    Sha1,
    Sha256,
}

impl OaepHash {
    fn hash(self) -> Hash {
        match self {
            OaepHash::Sha1 => Hash::Sha1,
            OaepHash::Sha256 => Hash::Sha256,
        }
    }
}

/// True when a token error means "the token cannot do this mechanism, curve or parameter"
/// (rather than a fault): the service answers UnsupportedOperationException.
pub fn is_unsupported(e: &HsmError) -> bool {
    matches!(
        e,
        HsmError::Pkcs11 {
            error: CkError::Pkcs11(
                RvError::MechanismInvalid
                    | RvError::MechanismParamInvalid
                    | RvError::CurveNotSupported
                    | RvError::DomainParamsInvalid
                    | RvError::TemplateInconsistent
                    | RvError::AttributeValueInvalid
                    | RvError::KeySizeRange
                    | RvError::FunctionNotSupported,
                _
            ),
            ..
        }
    )
}

fn rv(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

fn rsa_exponent() -> Vec<u8> {
    vec![0x01, 0x00, 0x01]
}

// ---------------------------------------------------------------------------------------
// DER helpers (small, strict, for the few structures needed here)
// ---------------------------------------------------------------------------------------

fn der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
}

/// Reads a DER TLV with tag `tag` from the start of `input`: (content, rest).
fn der_take(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if input.len() < 2 || input[0] != tag {
        return None;
    }
    let (len, header): (usize, usize) = match input[1] {
        l if l < 0x80 => (l as usize, 2),
        0x81 if input.len() >= 3 && input[2] >= 0x80 => (input[2] as usize, 3),
        0x82 if input.len() >= 4 && input[2] != 0 => {
            (((input[2] as usize) << 8) | input[3] as usize, 4)
        }
        _ => return None,
    };
    let end = header.checked_add(len)?;
    if input.len() < end {
        return None;
    }
    Some((&input[header..end], &input[end..]))
}

/// CKA_EC_POINT is a DER OCTET STRING holding the point; some tokens give the raw point.
fn unwrap_ec_point(value: &[u8], curve: Curve) -> Vec<u8> {
    let raw_len = if curve == Curve::Ed25519 {
        32
    } else {
        1 + 2 * curve.field_len()
    };
    if value.len() != raw_len {
        if let Some((inner, rest)) = der_take(value, 0x04) {
            if rest.is_empty() && inner.len() == raw_len {
                return inner.to_vec();
            }
        }
    }
    value.to_vec()
}

fn wrap_ec_point(point: &[u8]) -> Vec<u8> {
    let mut out = vec![0x04];
    der_len(&mut out, point.len());
    out.extend_from_slice(point);
    out
}

fn der_integer(out: &mut Vec<u8>, unsigned_be: &[u8]) {
    let mut v = unsigned_be;
    while v.len() > 1 && v[0] == 0 {
        v = &v[1..];
    }
    let pad = v.first().is_some_and(|b| b & 0x80 != 0);
    let len = v.len() + pad as usize;
    out.push(0x02);
    der_len(out, len);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(v);
}

/// PKCS#11's r||s ECDSA signature as a DER `ECDSA-Sig-Value` (what AWS KMS returns).
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = Vec::with_capacity(raw.len() + 8);
    der_integer(&mut body, r);
    der_integer(&mut body, s);
    let mut out = vec![0x30];
    der_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// A DER `ECDSA-Sig-Value` as PKCS#11's r||s for `curve`; None when it is not one.
pub fn ecdsa_der_to_raw(der: &[u8], curve: Curve) -> Option<Vec<u8>> {
    let n = curve.field_len();
    let (seq, rest) = der_take(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(2 * n);
    let mut input = seq;
    for _ in 0..2 {
        let (int, rest) = der_take(input, 0x02)?;
        input = rest;
        if int.is_empty() || int[0] & 0x80 != 0 {
            return None; // negative or empty
        }
        let mut v = int;
        if v.len() > 1 && v[0] == 0 {
            if v[1] & 0x80 == 0 {
                return None; // not minimal
            }
            v = &v[1..];
        }
        if v.len() > n {
            return None;
        }
        out.extend(std::iter::repeat_n(0u8, n - v.len()));
        out.extend_from_slice(v);
    }
    if !input.is_empty() {
        return None;
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// SubjectPublicKeyInfo and PKCS#8 (built with the RustCrypto encoders)
// ---------------------------------------------------------------------------------------

fn encoding_error(what: &str) -> impl Fn(String) -> HsmError + '_ {
    move |e| HsmError::Token(format!("cannot encode {what}: {e}"))
}

/// The DER SubjectPublicKeyInfo of an RSA public key.
pub fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, HsmError> {
    use rsa::pkcs8::EncodePublicKey;
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(modulus),
        rsa::BigUint::from_bytes_be(exponent),
    )
    .map_err(|e| encoding_error("an RSA public key")(e.to_string()))?;
    key.to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .map_err(|e| encoding_error("an RSA public key")(e.to_string()))
}

/// The DER SubjectPublicKeyInfo of an EC public point (SEC1 uncompressed; 32 raw bytes for
/// Ed25519).
pub fn ec_spki(curve: Curve, point: &[u8]) -> Result<Vec<u8>, HsmError> {
    use p256::pkcs8::EncodePublicKey;
    let err = |e: String| encoding_error("an EC public key")(e);
    let doc = match curve {
        Curve::P256 => p256::PublicKey::from_sec1_bytes(point)
            .map_err(|e| err(e.to_string()))?
            .to_public_key_der(),
        Curve::P384 => p384::PublicKey::from_sec1_bytes(point)
            .map_err(|e| err(e.to_string()))?
            .to_public_key_der(),
        Curve::P521 => p521::PublicKey::from_sec1_bytes(point)
            .map_err(|e| err(e.to_string()))?
            .to_public_key_der(),
        Curve::Secp256k1 => k256::PublicKey::from_sec1_bytes(point)
            .map_err(|e| err(e.to_string()))?
            .to_public_key_der(),
        Curve::Ed25519 => {
            let bytes: [u8; 32] = point
                .try_into()
                .map_err(|_| err(format!("{} bytes for Ed25519", point.len())))?;
            ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map_err(|e| err(e.to_string()))?
                .to_public_key_der()
        }
    };
    doc.map(|d| d.as_bytes().to_vec())
        .map_err(|e| err(e.to_string()))
}

/// The public values of a stored SubjectPublicKeyInfo, as PKCS#11 attributes of a public
/// key object of `kind`.
fn public_attributes(kind: PairKind, spki: &[u8]) -> Result<Vec<Attribute>, HsmError> {
    let bad = |what: &str| HsmError::Token(format!("stored public key is not {what}"));
    match kind {
        PairKind::Rsa(_) => {
            use rsa::pkcs8::DecodePublicKey;
            use rsa::traits::PublicKeyParts;
            let key =
                rsa::RsaPublicKey::from_public_key_der(spki).map_err(|_| bad("an RSA key"))?;
            Ok(vec![
                Attribute::KeyType(KeyType::RSA),
                Attribute::Modulus(key.n().to_bytes_be()),
                Attribute::PublicExponent(key.e().to_bytes_be()),
            ])
        }
        PairKind::Ec(curve) => {
            let info = spki::SubjectPublicKeyInfoRef::try_from(spki)
                .map_err(|_| bad("a SubjectPublicKeyInfo"))?;
            let point = info
                .subject_public_key
                .as_bytes()
                .ok_or_else(|| bad("a whole-byte point"))?;
            Ok(vec![
                Attribute::KeyType(curve.key_type()),
                Attribute::EcParams(curve.ec_params().to_vec()),
                Attribute::EcPoint(wrap_ec_point(point)),
            ])
        }
    }
}

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

/// PKCS#8 DER of an EC private scalar (or Ed25519 seed).
fn ec_pkcs8(curve: Curve, scalar: &[u8]) -> Result<Zeroizing<Vec<u8>>, HsmError> {
    use p256::pkcs8::EncodePrivateKey;
    let err = |e: String| HsmError::Token(format!("cannot encode a private key: {e}"));
    let scalar = fixed_len(scalar, curve.field_len()).ok_or_else(|| err("bad length".into()))?;
    let doc = match curve {
        Curve::P256 => p256::SecretKey::from_slice(&scalar)
            .map_err(|e| err(e.to_string()))?
            .to_pkcs8_der(),
        Curve::P384 => p384::SecretKey::from_slice(&scalar)
            .map_err(|e| err(e.to_string()))?
            .to_pkcs8_der(),
        Curve::P521 => p521::SecretKey::from_slice(&scalar)
            .map_err(|e| err(e.to_string()))?
            .to_pkcs8_der(),
        Curve::Secp256k1 => k256::SecretKey::from_slice(&scalar)
            .map_err(|e| err(e.to_string()))?
            .to_pkcs8_der(),
        Curve::Ed25519 => {
            let mut seed = Zeroizing::new([0u8; 32]);
            seed.copy_from_slice(&scalar);
            ed25519_dalek::SigningKey::from_bytes(&seed).to_pkcs8_der()
        }
    };
    let doc = doc.map_err(|e| err(e.to_string()))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

/// The curve's base point G, SEC1 uncompressed (the public key of the scalar 1); None for
/// Ed25519.
pub(crate) fn generator_point(curve: Curve) -> Option<Vec<u8>> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let mut one = vec![0u8; curve.field_len()];
    *one.last_mut()? = 1;
    Some(match curve {
        Curve::P256 => p256::SecretKey::from_slice(&one)
            .ok()?
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::P384 => p384::SecretKey::from_slice(&one)
            .ok()?
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::P521 => p521::SecretKey::from_slice(&one)
            .ok()?
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::Secp256k1 => k256::SecretKey::from_slice(&one)
            .ok()?
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::Ed25519 => return None,
    })
}

/// The two public points with x coordinate `x` (SEC1 uncompressed, even y first); empty
/// when `x` is not on `curve`.
pub(crate) fn points_with_x(curve: Curve, x: &[u8]) -> Vec<Vec<u8>> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let mut out = Vec::new();
    for prefix in [0x02u8, 0x03] {
        let mut compressed = vec![prefix];
        compressed.extend_from_slice(x);
        let point = match curve {
            Curve::P256 => p256::PublicKey::from_sec1_bytes(&compressed)
                .ok()
                .map(|k| k.to_encoded_point(false).as_bytes().to_vec()),
            Curve::P384 => p384::PublicKey::from_sec1_bytes(&compressed)
                .ok()
                .map(|k| k.to_encoded_point(false).as_bytes().to_vec()),
            Curve::P521 => p521::PublicKey::from_sec1_bytes(&compressed)
                .ok()
                .map(|k| k.to_encoded_point(false).as_bytes().to_vec()),
            Curve::Secp256k1 => k256::PublicKey::from_sec1_bytes(&compressed)
                .ok()
                .map(|k| k.to_encoded_point(false).as_bytes().to_vec()),
            Curve::Ed25519 => None,
        };
        out.extend(point);
    }
    out
}

/// The x coordinate of the uncompressed point in the EC SubjectPublicKeyInfo `spki`.
pub(crate) fn spki_x(curve: Curve, spki: &[u8]) -> Option<Vec<u8>> {
    let info = spki::SubjectPublicKeyInfoRef::try_from(spki).ok()?;
    let point = info.subject_public_key.as_bytes()?;
    let n = curve.field_len();
    if point.len() != 1 + 2 * n || point[0] != 0x04 {
        return None;
    }
    Some(point[1..1 + n].to_vec())
}

/// The template of the session object an ECDH derivation yields: the shared secret,
/// read once (DeriveSharedSecret returns it by design) and destroyed.
fn ecdh_secret_template(curve: Curve) -> [Attribute; 14] {
    [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::ValueLen((curve.field_len() as u64).into()),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(false),
        Attribute::Extractable(true),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
    ]
}

// ---------------------------------------------------------------------------------------
// OAEP decoding (RFC 8017 section 7.1.2, steps 3 onwards) for the raw-RSA path
// ---------------------------------------------------------------------------------------

fn mgf1(hash: Hash, seed: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + hash.output_len()));
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut input = Zeroizing::new(seed.to_vec());
        input.extend_from_slice(&counter.to_be_bytes());
        out.extend_from_slice(&hash.digest(&input));
        counter += 1;
    }
    out.truncate(len);
    out
}

/// Decodes an OAEP-encoded block `em` (k bytes) with an empty label. Checks run without
/// early exits on secret data; any failure is one undistinguished error.
pub(super) fn oaep_decode(hash: Hash, em: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let h = hash.output_len();
    let k = em.len();
    if k < 2 * h + 2 {
        return None;
    }
    let l_hash = hash.digest(b"");
    let y = em[0];
    let masked_seed = &em[1..1 + h];
    let masked_db = &em[1 + h..];
    let seed_mask = mgf1(hash, masked_db, h);
    let seed: Zeroizing<Vec<u8>> = Zeroizing::new(
        masked_seed
            .iter()
            .zip(seed_mask.iter())
            .map(|(a, b)| a ^ b)
            .collect(),
    );
    let db_mask = mgf1(hash, &seed, k - h - 1);
    let db: Zeroizing<Vec<u8>> = Zeroizing::new(
        masked_db
            .iter()
            .zip(db_mask.iter())
            .map(|(a, b)| a ^ b)
            .collect(),
    );
    let mut bad = y;
    for (a, b) in db[..h].iter().zip(l_hash.iter()) {
        bad |= a ^ b;
    }
    // Find the 0x01 separator after the zero padding, in constant time over the block.
    let mut found: u8 = 0;
    let mut index: usize = 0;
    for (i, &byte) in db[h..].iter().enumerate() {
        let is_one = (byte == 1) as u8;
        let is_zero = (byte == 0) as u8;
        let first_one = is_one & (1 - found);
        index |= (first_one as usize).wrapping_neg() & i;
        // A non-zero, non-one byte before the separator is an error.
        bad |= (1 - found) & (1 - is_one) & (1 - is_zero);
        found |= is_one;
    }
    if bad != 0 || found == 0 {
        return None;
    }
    Some(Zeroizing::new(db[h + index + 1..].to_vec()))
}

// ---------------------------------------------------------------------------------------
// The token operations
// ---------------------------------------------------------------------------------------

impl RegionToken {
    /// Generates a key pair of `kind` whose private key becomes the token object `label`
    /// (usable for `usage` only). Returns the DER SubjectPublicKeyInfo of the public key.
    pub fn generate_pair_material(
        &self,
        label: &str,
        kind: PairKind,
        usage: PairUsage,
        extract: Extractability,
    ) -> Result<Vec<u8>, HsmError> {
        let extractable = extract == Extractability::WrappedUnderTrustedKey;
        let mut public = vec![
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::Verify(usage == PairUsage::Sign),
            Attribute::Encrypt(usage == PairUsage::Decrypt),
            Attribute::Wrap(false),
            Attribute::Derive(false),
        ];
        let mut private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(extractable),
            Attribute::Sign(usage == PairUsage::Sign),
            Attribute::Decrypt(usage == PairUsage::Decrypt),
            Attribute::Derive(usage == PairUsage::Derive),
            Attribute::Unwrap(false),
            Attribute::SignRecover(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(label.as_bytes().to_vec()),
        ];
        if extractable {
            private.push(Attribute::WrapWithTrusted(true));
        }
        let mechanism = match kind {
            PairKind::Rsa(bits) => {
                public.push(Attribute::ModulusBits(bits.into()));
                public.push(Attribute::PublicExponent(rsa_exponent()));
                public.push(Attribute::VerifyRecover(false));
                Mechanism::RsaPkcsKeyPairGen
            }
            PairKind::Ec(curve) => {
                public.push(Attribute::EcParams(curve.ec_params().to_vec()));
                if curve == Curve::Ed25519 {
                    Mechanism::EccEdwardsKeyPairGen
                } else {
                    Mechanism::EccKeyPairGen
                }
            }
        };
        let _guard = self.creation_guard();
        self.session(|s| {
            let (public_handle, private_handle) = s
                .generate_key_pair(&mechanism, &public, &private)
                .map_err(self.p11("C_GenerateKeyPair"))?;
            let spki = match kind {
                PairKind::Rsa(_) => read_rsa_public(self, s, public_handle),
                PairKind::Ec(curve) => read_ec_public(self, s, public_handle, curve),
            };
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

    /// Generates an HMAC key of `len` bytes as the token object `label` (sign/verify only).
    pub fn generate_hmac_material(
        &self,
        label: &str,
        len: usize,
        extract: Extractability,
    ) -> Result<(), HsmError> {
        let extractable = extract == Extractability::WrappedUnderTrustedKey;
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::ValueLen((len as u64).into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(extractable),
            Attribute::Sign(true),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(label.as_bytes().to_vec()),
        ];
        if extractable {
            template.push(Attribute::WrapWithTrusted(true));
        }
        let _guard = self.creation_guard();
        let handle = self.session(|s| {
            s.generate_key(&Mechanism::GenericSecretKeyGen, &template)
                .map_err(self.p11("C_GenerateKey"))
        })?;
        self.insert_handle(label, handle);
        Ok(())
    }

    /// Signs `input` with the private key object `key` in session `s` (no label needed:
    /// also for session objects). Returns the signature as AWS KMS returns it.
    pub(crate) fn sign_handle(
        &self,
        s: &Session,
        key: ObjectHandle,
        scheme: SignScheme,
        input: &[u8],
    ) -> Result<Vec<u8>, HsmError> {
        let data = sign_input(scheme, input);
        let raw = s
            .sign(&sign_mechanism(scheme), key, &data)
            .map_err(self.p11("C_Sign"))?;
        Ok(match scheme {
            SignScheme::Ecdsa(_) => ecdsa_raw_to_der(&raw),
            _ => raw,
        })
    }

    /// ECDH of the private key object `key` with the public point `peer` (uncompressed)
    /// in session `s`: the x coordinate of the shared point. Takes the creation guard itself
    /// (the caller must not hold it). With `peer` = G this is the x
    /// coordinate of the key's own public point (public information).
    pub(crate) fn ecdh_x_handle(
        &self,
        s: &Session,
        key: ObjectHandle,
        curve: Curve,
        peer: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        let params = Ecdh1DeriveParams::new(EcKdf::null(), peer);
        let mechanism = Mechanism::Ecdh1Derive(params);
        let template = ecdh_secret_template(curve);
        let secret = {
            let _guard = self.creation_guard();
            s.derive_key(&mechanism, key, &template)
                .map_err(self.p11("C_DeriveKey"))?
        };
        let value = s
            .get_attributes(secret, &[AttributeType::Value])
            .map_err(self.p11("C_GetAttributeValue"));
        let destroyed = {
            let _guard = self.creation_guard();
            s.destroy_object(secret)
                .map_err(self.p11("C_DestroyObject"))
        };
        let mut out = None;
        for attr in value? {
            if let Attribute::Value(v) = attr {
                out = Some(Zeroizing::new(v));
            }
        }
        destroyed?;
        out.ok_or_else(|| HsmError::Token("the derived secret has no value".into()))
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
        let data = sign_input(scheme, input);
        let raw = self.session(|s| {
            s.sign(&sign_mechanism(scheme), key, &data)
                .map_err(self.p11("C_Sign"))
        })?;
        Ok(match scheme {
            SignScheme::Ecdsa(_) => ecdsa_raw_to_der(&raw),
            _ => raw,
        })
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
            SignScheme::Ecdsa(curve) => match ecdsa_der_to_raw(signature, curve) {
                Some(raw) => raw,
                None => return Ok(false),
            },
            _ => signature.to_vec(),
        };
        let mut template = vec![
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Wrap(false),
            Attribute::Derive(false),
        ];
        template.extend(public_attributes(kind, spki)?);
        let data = sign_input(scheme, input);
        let public = self.public_object(spki, &template)?;
        self.session(
            |s| match s.verify(&sign_mechanism(scheme), public, &data, &signature) {
                Ok(()) => Ok(true),
                Err(e)
                    if matches!(
                        rv(&e),
                        Some(RvError::SignatureInvalid | RvError::SignatureLenRange)
                    ) =>
                {
                    Ok(false)
                }
                Err(e) => Err(self.p11("C_Verify")(e)),
            },
        )
    }

    /// HMAC of `message` with the HMAC key `label`, inside the token.
    pub fn hmac_with(&self, label: &str, hash: Hash, message: &[u8]) -> Result<Vec<u8>, HsmError> {
        let key = self.handle(label)?;
        self.session(|s| {
            s.sign(&hash.hmac_mechanism(), key, message)
                .map_err(self.p11("C_Sign"))
        })
    }

    /// Checks `mac` over `message` with the HMAC key `label`, inside the token.
    pub fn hmac_verify_with(
        &self,
        label: &str,
        hash: Hash,
        message: &[u8],
        mac: &[u8],
    ) -> Result<bool, HsmError> {
        let key = self.handle(label)?;
        if mac.len() != hash.output_len() {
            return Ok(false);
        }
        self.session(
            |s| match s.verify(&hash.hmac_mechanism(), key, message, mac) {
                Ok(()) => Ok(true),
                Err(e)
                    if matches!(
                        rv(&e),
                        Some(RvError::SignatureInvalid | RvError::SignatureLenRange)
                    ) =>
                {
                    Ok(false)
                }
                Err(e) => Err(self.p11("C_Verify")(e)),
            },
        )
    }

    /// RSA-OAEP decryption with the private key `label` (hash and MGF1 with `hash`, empty
    /// label). A ciphertext that does not decrypt is [`HsmError::AuthenticationFailed`].
    pub fn rsa_oaep_decrypt(
        &self,
        label: &str,
        hash: OaepHash,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        let key = self.handle(label)?;
        let in_token = match hash {
            OaepHash::Sha1 => true,
            // Probed once per token at startup (hsm::import::prepare_import).
            OaepHash::Sha256 => super::import::capabilities(self.region()).oaep_sha256,
        };
        if in_token {
            let h = hash.hash();
            let mechanism = Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
                h.mechanism_type(),
                h.mgf(),
                PkcsOaepSource::empty(),
            ));
            let result = self.session(|s| match s.decrypt(&mechanism, key, ciphertext) {
                Ok(pt) => Ok(Some(Zeroizing::new(pt))),
                Err(e) => match rv(&e) {
                    // SoftHSM 2.6.1 answers OAEP with SHA-256 with CKR_ARGUMENTS_BAD.
                    Some(
                        RvError::MechanismParamInvalid
                        | RvError::MechanismInvalid
                        | RvError::ArgumentsBad,
                    ) if hash == OaepHash::Sha256 => Ok(None),
                    Some(
                        RvError::EncryptedDataInvalid
                        | RvError::EncryptedDataLenRange
                        | RvError::GeneralError
                        | RvError::DataInvalid
                        | RvError::DataLenRange,
                    ) => Err(HsmError::AuthenticationFailed),
                    _ => Err(self.p11("C_Decrypt")(e)),
                },
            })?;
            if let Some(pt) = result {
                return Ok(pt);
            }
        }
        let em = self.session(|s| match s.decrypt(&Mechanism::RsaX509, key, ciphertext) {
            Ok(em) => Ok(Zeroizing::new(em)),
            Err(e) => match rv(&e) {
                Some(
                    RvError::EncryptedDataInvalid
                    | RvError::EncryptedDataLenRange
                    | RvError::GeneralError
                    | RvError::DataInvalid
                    | RvError::DataLenRange,
                ) => Err(HsmError::AuthenticationFailed),
                _ => Err(self.p11("C_Decrypt")(e)),
            },
        })?;
        // CKM_RSA_X_509 returns k bytes (SoftHSM keeps the leading zero byte of the
        // block); be tolerant of tokens that strip it.
        let k = ciphertext.len();
        let mut block = Zeroizing::new(vec![0u8; k.saturating_sub(em.len())]);
        block.extend_from_slice(&em);
        oaep_decode(hash.hash(), &block).ok_or(HsmError::AuthenticationFailed)
    }

    /// ECDH (CKM_ECDH1_DERIVE, no KDF) of the private key `label` with the peer's
    /// uncompressed public point, inside the token. The shared secret is derived into a
    /// session object that is read once and destroyed.
    pub fn ecdh_with(
        &self,
        label: &str,
        curve: Curve,
        peer_point: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        let key = self.handle(label)?;
        let params = Ecdh1DeriveParams::new(EcKdf::null(), peer_point);
        let mechanism = Mechanism::Ecdh1Derive(params);
        let template = ecdh_secret_template(curve);
        self.session(|s| {
            let secret = {
                let _guard = self.creation_guard();
                s.derive_key(&mechanism, key, &template)
                    .map_err(self.p11("C_DeriveKey"))?
            };
            let value = s
                .get_attributes(secret, &[AttributeType::Value])
                .map_err(self.p11("C_GetAttributeValue"));
            let _guard = self.creation_guard();
            let destroyed = s
                .destroy_object(secret)
                .map_err(self.p11("C_DestroyObject"));
            let mut out = None;
            for attr in value? {
                if let Attribute::Value(v) = attr {
                    out = Some(Zeroizing::new(v));
                }
            }
            destroyed?;
            out.ok_or_else(|| HsmError::Token("the derived secret has no value".into()))
        })
    }

    /// Generates a data key pair of `kind` in the token (as session objects), returns its
    /// private key as PKCS#8 DER (zeroising) and its public key as DER SubjectPublicKeyInfo,
    /// and destroys both objects.
    pub fn generate_data_key_pair(
        &self,
        kind: PairKind,
    ) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), HsmError> {
        let mut public = vec![
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::Verify(false),
            Attribute::Encrypt(false),
            Attribute::Wrap(false),
            Attribute::Derive(false),
        ];
        let private = vec![
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
            Attribute::Sign(false),
            Attribute::Decrypt(false),
            Attribute::Derive(false),
            Attribute::Unwrap(false),
            Attribute::SignRecover(false),
        ];
        let mechanism = match kind {
            PairKind::Rsa(bits) => {
                public.push(Attribute::ModulusBits(bits.into()));
                public.push(Attribute::PublicExponent(rsa_exponent()));
                Mechanism::RsaPkcsKeyPairGen
            }
            PairKind::Ec(curve) => {
                public.push(Attribute::EcParams(curve.ec_params().to_vec()));
                if curve == Curve::Ed25519 {
                    Mechanism::EccEdwardsKeyPairGen
                } else {
                    Mechanism::EccKeyPairGen
                }
            }
        };
        self.session(|s| {
            let (public_handle, private_handle) = {
                let _guard = self.creation_guard();
                s.generate_key_pair(&mechanism, &public, &private)
                    .map_err(self.p11("C_GenerateKeyPair"))?
            };
            let result = (|| {
                let spki = match kind {
                    PairKind::Rsa(_) => read_rsa_public(self, s, public_handle)?,
                    PairKind::Ec(curve) => read_ec_public(self, s, public_handle, curve)?,
                };
                let pkcs8 = match kind {
                    PairKind::Rsa(_) => read_rsa_private(self, s, private_handle)?,
                    PairKind::Ec(curve) => {
                        let attrs = s
                            .get_attributes(private_handle, &[AttributeType::Value])
                            .map_err(self.p11("C_GetAttributeValue"))?;
                        let mut scalar = None;
                        for attr in attrs {
                            if let Attribute::Value(v) = attr {
                                scalar = Some(Zeroizing::new(v));
                            }
                        }
                        let scalar = scalar.ok_or_else(|| {
                            HsmError::Token("the generated private key has no value".into())
                        })?;
                        ec_pkcs8(curve, &unwrap_private_value(&scalar, curve))?
                    }
                };
                Ok((pkcs8, spki))
            })();
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

/// SoftHSM stores an Ed25519 private key's CKA_VALUE as the raw 32-byte seed; some tokens
/// wrap it in an OCTET STRING.
fn unwrap_private_value(value: &[u8], curve: Curve) -> Zeroizing<Vec<u8>> {
    if curve == Curve::Ed25519 && value.len() != 32 {
        if let Some((inner, rest)) = der_take(value, 0x04) {
            if rest.is_empty() && inner.len() == 32 {
                return Zeroizing::new(inner.to_vec());
            }
        }
    }
    Zeroizing::new(value.to_vec())
}

fn sign_mechanism(scheme: SignScheme) -> Mechanism<'static> {
    match scheme {
        SignScheme::RsaPkcs1(_) => Mechanism::RsaPkcs,
        SignScheme::RsaPss(hash) => Mechanism::RsaPkcsPss(PkcsPssParams {
            hash_alg: hash.mechanism_type(),
            mgf: hash.mgf(),
            s_len: (hash.output_len() as u64).into(),
        }),
        SignScheme::Ecdsa(_) => Mechanism::Ecdsa,
        SignScheme::Ed25519 => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
    }
}

/// What the token's mechanism signs: a DigestInfo for PKCS#1 v1.5, else the input.
fn sign_input(scheme: SignScheme, input: &[u8]) -> Vec<u8> {
    match scheme {
        SignScheme::RsaPkcs1(hash) => {
            let mut v = hash.digest_info_prefix().to_vec();
            v.extend_from_slice(input);
            v
        }
        _ => input.to_vec(),
    }
}

fn read_rsa_public(
    token: &RegionToken,
    s: &Session,
    public: ObjectHandle,
) -> Result<Vec<u8>, HsmError> {
    let attrs = s
        .get_attributes(
            public,
            &[AttributeType::Modulus, AttributeType::PublicExponent],
        )
        .map_err(token.p11("C_GetAttributeValue"))?;
    let (mut n, mut e) = (Vec::new(), Vec::new());
    for attr in attrs {
        match attr {
            Attribute::Modulus(m) => n = m,
            Attribute::PublicExponent(x) => e = x,
            _ => {}
        }
    }
    rsa_spki(&n, &e)
}

fn read_ec_public(
    token: &RegionToken,
    s: &Session,
    public: ObjectHandle,
    curve: Curve,
) -> Result<Vec<u8>, HsmError> {
    let attrs = s
        .get_attributes(public, &[AttributeType::EcPoint])
        .map_err(token.p11("C_GetAttributeValue"))?;
    for attr in attrs {
        if let Attribute::EcPoint(p) = attr {
            return ec_spki(curve, &unwrap_ec_point(&p, curve));
        }
    }
    Err(HsmError::Token("the public key has no CKA_EC_POINT".into()))
}

fn read_rsa_private(
    token: &RegionToken,
    s: &Session,
    private: ObjectHandle,
) -> Result<Zeroizing<Vec<u8>>, HsmError> {
    use rsa::pkcs8::EncodePrivateKey;
    let attrs = s
        .get_attributes(
            private,
            &[
                AttributeType::Modulus,
                AttributeType::PublicExponent,
                AttributeType::PrivateExponent,
                AttributeType::Prime1,
                AttributeType::Prime2,
            ],
        )
        .map_err(token.p11("C_GetAttributeValue"))?;
    let mut parts: [Zeroizing<Vec<u8>>; 5] = Default::default();
    for attr in attrs {
        match attr {
            Attribute::Modulus(v) => parts[0] = Zeroizing::new(v),
            Attribute::PublicExponent(v) => parts[1] = Zeroizing::new(v),
            Attribute::PrivateExponent(v) => parts[2] = Zeroizing::new(v),
            Attribute::Prime1(v) => parts[3] = Zeroizing::new(v),
            Attribute::Prime2(v) => parts[4] = Zeroizing::new(v),
            _ => {}
        }
    }
    if parts.iter().any(|p| p.is_empty()) {
        return Err(HsmError::Token(
            "the generated RSA private key did not reveal its components".into(),
        ));
    }
    let big = |v: &[u8]| rsa::BigUint::from_bytes_be(v);
    let key = rsa::RsaPrivateKey::from_components(
        big(&parts[0]),
        big(&parts[1]),
        big(&parts[2]),
        vec![big(&parts[3]), big(&parts[4])],
    )
    .map_err(|e| HsmError::Token(format!("cannot rebuild the RSA private key: {e}")))?;
    let doc = key
        .to_pkcs8_der()
        .map_err(|e| HsmError::Token(format!("cannot encode the RSA private key: {e}")))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_signatures_convert_both_ways() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a leading zero in DER
        raw[63] = 1; // s is small
        let der = ecdsa_raw_to_der(&raw);
        assert_eq!(der[0], 0x30);
        assert_eq!(ecdsa_der_to_raw(&der, Curve::P256), Some(raw.clone()));
        assert_eq!(ecdsa_der_to_raw(&der[..der.len() - 1], Curve::P256), None);
        let mut long = vec![0x11u8; 132];
        long[0] = 0x01;
        let der = ecdsa_raw_to_der(&long);
        assert_eq!(der[1], 0x81, "P-521 signatures need a long-form length");
        assert_eq!(ecdsa_der_to_raw(&der, Curve::P521), Some(long));
    }

    #[test]
    fn oaep_decoding_matches_an_independent_encoder() {
        use rsa::traits::{PrivateKeyParts, PublicKeyParts};
        let mut rng = aes_gcm::aead::OsRng;
        let key = rsa::RsaPrivateKey::new(&mut rng, 1024).expect("key");
        let public = key.to_public_key();
        let msg = b"attack at dawn";
        let ct = public
            .encrypt(&mut rng, rsa::Oaep::new::<Sha256>(), msg)
            .expect("encrypt");
        // Raw RSA decryption, as CKM_RSA_X_509 does it.
        let c = rsa::BigUint::from_bytes_be(&ct);
        let m = c.modpow(key.d(), key.n());
        let mut em = vec![0u8; public.size() - m.to_bytes_be().len()];
        em.extend_from_slice(&m.to_bytes_be());
        assert_eq!(
            oaep_decode(Hash::Sha256, &em).as_deref().map(|v| &v[..]),
            Some(&msg[..])
        );
        em[5] ^= 1;
        assert!(oaep_decode(Hash::Sha256, &em).is_none());
    }
}
