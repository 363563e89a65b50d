//! Every object template the service creates objects from, in one place, so what each
//! object may do (and may never do) can be read and reviewed together.
//!
//! | object | where | lives | may |
//! |---|---|---|---|
//! | AES / HMAC / private-key material | token object `<key id>/<material id>` | until deleted | its key usage only; leaves the token only wrapped under a trusted KEK (multi-Region) |
//! | public half of a new key pair | session object | read once, destroyed | nothing |
//! | data key pair | session objects | read once, destroyed | nothing (extractable: returning it is the point) |
//! | import wrapping key pair | private: token object; public: session object | until the import ends | unwrap (or raw RSA decrypt) only |
//! | imported material | token object, or a session probe copy | until deleted / at once | its key usage only, never extractable |
//! | ephemeral AES key of RSA_AES_KEY_WRAP | session object | one unwrap | unwrap only |
//! | throwaway wrapping key | session object | one wrap | wrap only, never trusted |
//! | ECDH secret | session object | read once, destroyed | nothing |
//! | transport key pair | token objects `transport/<R>`, `transport/<R>/public` | forever | private: unwrap only; public: carrier of values |
//! | trusted peer public key | token object (SO) | forever | wrap only, CKA_TRUSTED |
//! | KEK `kek/<A>-><B>` | token object in A (SO) and in B (user) | forever | A: wrap only, trusted; B: unwrap only |
//! | public key to verify with | session object of the login session | process | verify only |
//! | startup probes (OAEP-SHA-256, Ed25519ph) | session objects | destroyed at once | encrypt / sign |
//!
//! The caller adds CKA_LABEL where a template says so (the token's label map must learn
//! the handle under the same lock that creates the object).

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};

use super::algorithms::{Curve, MaterialKind, PairKind, PairUsage};
use super::encoding;
use super::errors::HsmError;

/// How key material may leave its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extractability {
    /// Never (single-Region keys, imported material).
    Never,
    /// Only wrapped under a key the token's Security Officer marked trusted
    /// (CKA_WRAP_WITH_TRUSTED): multi-Region keys.
    WrappedUnderTrustedKey,
}

/// The public exponent of every RSA key pair generated here (65537).
const RSA_PUBLIC_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

/// CKA_LABEL and CKA_ID of a token object (both the label).
fn named(label: &str) -> [Attribute; 2] {
    [
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(label.as_bytes().to_vec()),
    ]
}

/// CKA_EXTRACTABLE, and CKA_WRAP_WITH_TRUSTED for material that may leave its token.
fn extractability(extract: Extractability) -> Vec<Attribute> {
    match extract {
        Extractability::Never => vec![Attribute::Extractable(false)],
        Extractability::WrappedUnderTrustedKey => vec![
            Attribute::Extractable(true),
            Attribute::WrapWithTrusted(true),
        ],
    }
}

/// The key type of a key pair's objects.
pub(crate) fn key_type(kind: PairKind) -> KeyType {
    match kind {
        PairKind::Rsa(_) => KeyType::RSA,
        PairKind::Ec(Curve::Ed25519) => KeyType::EC_EDWARDS,
        PairKind::Ec(_) => KeyType::EC,
    }
}

/// What a public key template needs to generate a pair of `kind`: the modulus size and
/// exponent, or the curve.
fn generation_parameters(kind: PairKind) -> Vec<Attribute> {
    match kind {
        PairKind::Rsa(bits) => vec![
            Attribute::ModulusBits(bits.into()),
            Attribute::PublicExponent(RSA_PUBLIC_EXPONENT.to_vec()),
        ],
        PairKind::Ec(curve) => vec![Attribute::EcParams(encoding::ec_params(curve))],
    }
}

// ---- Key material -------------------------------------------------------------------

/// An AES-256 key generated as the token object `label` (encrypt/decrypt only).
pub(crate) fn aes_material(label: &str, extract: Extractability) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen(32.into()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
    ];
    t.extend(named(label));
    t.extend(extractability(extract));
    t
}

/// An HMAC key of `len` bytes generated as the token object `label` (sign/verify only).
pub(crate) fn hmac_material(label: &str, len: usize, extract: Extractability) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::ValueLen((len as u64).into()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Sign(true),
        Attribute::Verify(true),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
    ];
    t.extend(named(label));
    t.extend(extractability(extract));
    t
}

/// A key pair of `kind` for a KMS key: (public, private). The private key is the token
/// object `label`, usable for `usage` only; the public half is a session object that is
/// read once and destroyed.
pub(crate) fn pair_material(
    label: &str,
    kind: PairKind,
    usage: PairUsage,
    extract: Extractability,
) -> (Vec<Attribute>, Vec<Attribute>) {
    let mut public = vec![
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::Verify(usage == PairUsage::Sign),
        Attribute::Encrypt(usage == PairUsage::Decrypt),
        Attribute::Wrap(false),
        Attribute::Derive(false),
    ];
    public.extend(generation_parameters(kind));
    if let PairKind::Rsa(_) = kind {
        public.push(Attribute::VerifyRecover(false));
    }
    let mut private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Sign(usage == PairUsage::Sign),
        Attribute::Decrypt(usage == PairUsage::Decrypt),
        Attribute::Derive(usage == PairUsage::Derive),
        Attribute::Unwrap(false),
        Attribute::SignRecover(false),
    ];
    private.extend(named(label));
    private.extend(extractability(extract));
    (public, private)
}

/// A data key pair of `kind`: (public, private), both session objects whose values are
/// read once (returning the private key is GenerateDataKeyPair's purpose) and destroyed.
pub(crate) fn data_key_pair(kind: PairKind) -> (Vec<Attribute>, Vec<Attribute>) {
    let mut public = vec![
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::Verify(false),
        Attribute::Encrypt(false),
        Attribute::Wrap(false),
        Attribute::Derive(false),
    ];
    public.extend(generation_parameters(kind));
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
    (public, private)
}

/// The session object ECDH derives the shared secret into: read once (DeriveSharedSecret
/// returns it by design) and destroyed.
pub(crate) fn ecdh_secret(curve: Curve) -> [Attribute; 14] {
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

/// The public key `spki` of a pair of `kind` as a verify-only session object.
pub(crate) fn verifying_public_key(
    kind: PairKind,
    spki: &[u8],
) -> Result<Vec<Attribute>, HsmError> {
    let mut t = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(key_type(kind)),
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Encrypt(false),
        Attribute::Wrap(false),
        Attribute::Derive(false),
    ];
    match kind {
        PairKind::Rsa(_) => {
            let (modulus, exponent) = encoding::rsa_public_values(spki)?;
            t.push(Attribute::Modulus(modulus));
            t.push(Attribute::PublicExponent(exponent));
        }
        PairKind::Ec(curve) => {
            let point = encoding::spki_point(spki)?;
            t.push(Attribute::EcParams(encoding::ec_params(curve)));
            t.push(Attribute::EcPoint(encoding::point_attribute(&point)?));
        }
    }
    Ok(t)
}

// ---- Imported material (bring your own key) -------------------------------------------

/// The RSA wrapping key pair of one GetParametersForImport call: (public, private). The
/// private half is the token object `label`: sensitive, never extractable, and able to
/// unwrap (OAEP in the token) or, where the token lacks OAEP with the requested hash, only
/// to decrypt raw RSA (OAEP decoded on the host).
pub(crate) fn import_wrapping_pair(
    label: &str,
    bits: u64,
    in_token_oaep: bool,
) -> (Vec<Attribute>, Vec<Attribute>) {
    let public = vec![
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::ModulusBits(bits.into()),
        Attribute::PublicExponent(RSA_PUBLIC_EXPONENT.to_vec()),
        Attribute::Encrypt(false),
        Attribute::Verify(false),
        Attribute::VerifyRecover(false),
        Attribute::Wrap(false),
        Attribute::Derive(false),
    ];
    let mut private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Unwrap(in_token_oaep),
        Attribute::Decrypt(!in_token_oaep),
        Attribute::Sign(false),
        Attribute::SignRecover(false),
        Attribute::Derive(false),
    ];
    private.extend(named(label));
    (public, private)
}

/// The object imported material becomes: the token object `label`, or without a label
/// the probe copy (a session object of this call, destroyed at once, that only yields the
/// key check value and the checks below).
pub(crate) fn imported_material(kind: MaterialKind, label: Option<&str>) -> Vec<Attribute> {
    let probe = label.is_none();
    let mut t = match kind {
        MaterialKind::Aes { .. } => vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(!probe),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            // The probe copy may be wrapped under a throwaway key: the wrapped length
            // tells the material length, which SoftHSM 2.6.1 does not record
            // (CKA_VALUE_LEN stays unset on unwrapped keys).
            Attribute::Extractable(probe),
            Attribute::Encrypt(true),
            // The probe copy only computes the key check value.
            Attribute::Decrypt(!probe),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Derive(false),
        ],
        MaterialKind::Hmac { .. } => vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(!probe),
            Attribute::Private(true),
            // The probe copy is not sensitive so that the token tells the length of its
            // CKA_VALUE (only the length is ever asked: SoftHSM 2.6.1 records no
            // CKA_VALUE_LEN on unwrap, and the AES key-wrap trick is exact only to 8
            // bytes, too coarse for HMAC_224).
            Attribute::Sensitive(!probe),
            Attribute::Extractable(probe),
            Attribute::Sign(true),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
        ],
        MaterialKind::PrivateKey { kind, usage } => {
            let is_ec = matches!(kind, PairKind::Ec(_));
            vec![
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::KeyType(key_type(kind)),
                Attribute::Token(!probe),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                // The probe copy signs once (its public key is proven by a signature)
                // and, for EC, derives once with the base point (the x coordinate of its
                // public point); the token object can do only what its key usage allows.
                Attribute::Sign(probe || usage == PairUsage::Sign),
                Attribute::Decrypt(!probe && usage == PairUsage::Decrypt),
                Attribute::Derive((probe && is_ec) || usage == PairUsage::Derive),
                Attribute::Unwrap(false),
                Attribute::SignRecover(false),
            ]
        }
    };
    if let Some(label) = label {
        t.extend(named(label));
    }
    t
}

/// The ephemeral AES key of RSA_AES_KEY_WRAP_*: a session object that unwraps the
/// material once.
pub(crate) fn ephemeral_unwrapping_key() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Unwrap(true),
        Attribute::Wrap(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
    ]
}

/// A session-only AES key that can only wrap, generated by the user (so never trusted),
/// used once and destroyed: for probing what the token lets out of it.
pub(crate) fn throwaway_wrapping_key() -> [Attribute; 14] {
    [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen(32.into()),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Wrap(true),
        Attribute::Unwrap(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
    ]
}

// ---- Key transport between Region tokens ----------------------------------------------

/// A Region's RSA transport key pair: (public, private); the caller adds the labels.
pub(crate) fn transport_pair(id: &str, bits: u64) -> (Vec<Attribute>, Vec<Attribute>) {
    let id = id.as_bytes().to_vec();
    let public = vec![
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::ModulusBits(bits.into()),
        Attribute::PublicExponent(RSA_PUBLIC_EXPONENT.to_vec()),
        // Only a carrier of the public values: the trusted copies in peer tokens wrap.
        Attribute::Encrypt(false),
        Attribute::Verify(false),
        Attribute::VerifyRecover(false),
        Attribute::Wrap(false),
        Attribute::Derive(false),
        Attribute::Modifiable(false),
        Attribute::Copyable(false),
        Attribute::Id(id.clone()),
    ];
    let private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Unwrap(true),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::SignRecover(false),
        Attribute::Derive(false),
        // Never to become a decryption key: OAEP blobs it unwraps must stay in the token.
        Attribute::Modifiable(false),
        Attribute::Copyable(false),
        Attribute::Id(id),
    ];
    (public, private)
}

/// A peer's public transport key as a trusted object in another token (only the SO can
/// set CKA_TRUSTED).
pub(crate) fn trusted_public_key(label: &str, modulus: &[u8], exponent: &[u8]) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::RSA),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Trusted(true),
        Attribute::Wrap(true),
        Attribute::Encrypt(false),
        Attribute::Verify(false),
        Attribute::VerifyRecover(false),
        Attribute::Derive(false),
        Attribute::Modifiable(false),
        Attribute::Copyable(false),
        Attribute::Modulus(modulus.to_vec()),
        Attribute::PublicExponent(exponent.to_vec()),
    ];
    t.extend(named(label));
    t
}

/// The key-encryption key `label` in the sending token (generated by the SO).
pub(crate) fn sending_kek(label: &str) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen(32.into()),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Sensitive(true),
        // Extractable so it can be wrapped once for its receiver; only under a trusted key.
        Attribute::Extractable(true),
        Attribute::WrapWithTrusted(true),
        Attribute::Trusted(true),
        Attribute::Wrap(true),
        Attribute::Unwrap(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
        // A public object: without this, any session could make it an unwrapping key.
        Attribute::Modifiable(false),
        Attribute::Copyable(false),
    ];
    t.extend(named(label));
    t
}

/// The key-encryption key `label` in the receiving token (unwrapped by the user; the
/// caller adds the label).
pub(crate) fn receiving_kek(label: &str) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Unwrap(true),
        Attribute::Wrap(false),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
        // No CKA_MODIFIABLE/CKA_COPYABLE here: SoftHSM 2.6.1 answers C_UnwrapKey with
        // CKR_ATTRIBUTE_READ_ONLY when the template sets them.
        Attribute::Id(label.as_bytes().to_vec()),
    ]
}

/// The usage attributes an object of `class` has, which a replica copies from its
/// source; None for classes that are never replicated.
pub(crate) fn replicated_usage(class: ObjectClass) -> Option<&'static [AttributeType]> {
    if class == ObjectClass::SECRET_KEY {
        Some(&[
            AttributeType::Encrypt,
            AttributeType::Decrypt,
            AttributeType::Sign,
            AttributeType::Verify,
            AttributeType::Wrap,
            AttributeType::Unwrap,
            AttributeType::Derive,
        ])
    } else if class == ObjectClass::PRIVATE_KEY {
        Some(&[
            AttributeType::Decrypt,
            AttributeType::Sign,
            AttributeType::SignRecover,
            AttributeType::Unwrap,
            AttributeType::Derive,
        ])
    } else {
        None
    }
}

/// A replica of multi-Region material in another token: the source's class, key type,
/// CKA_ID and usage values, with the multi-Region protection (sensitive, extractable only
/// under a trusted key). The caller adds the label.
pub(crate) fn replica(
    class: ObjectClass,
    key_type: KeyType,
    id: Vec<u8>,
    usage_values: Vec<Attribute>,
) -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Class(class),
        Attribute::KeyType(key_type),
        Attribute::Id(id),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
        Attribute::WrapWithTrusted(true),
    ];
    t.extend(usage_values);
    t
}

// ---- Startup capability probes --------------------------------------------------------

/// A throwaway RSA-2048 public key session object (its modulus is not a real key's) to
/// try OAEP-SHA-256 encryption with.
pub(crate) fn oaep_probe_public_key() -> [Attribute; 6] {
    [
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::RSA),
        Attribute::Token(false),
        Attribute::Encrypt(true),
        Attribute::Modulus(vec![0xffu8; 256]),
        Attribute::PublicExponent(RSA_PUBLIC_EXPONENT.to_vec()),
    ]
}

/// A throwaway Ed25519 session key pair to try Ed25519ph signing with: (public, private).
pub(crate) fn ed25519_probe_pair() -> (Vec<Attribute>, Vec<Attribute>) {
    let public = vec![
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::EcParams(encoding::ec_params(Curve::Ed25519)),
    ];
    let private = vec![
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
    ];
    (public, private)
}
