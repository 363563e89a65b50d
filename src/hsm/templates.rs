//! Every object template the service creates objects from, in one place, so what each
//! object may do (and may never do) can be read and reviewed together.
//!
//! | object | where | lives | may |
//! |---|---|---|---|
//! | AES / HMAC / private-key material | token object `<key id>/<material id>` | until deleted | its key usage and mechanisms only; leaves the token only wrapped under a trusted KEK (multi-Region) |
//! | public half of a new key pair | session object | read once, destroyed | nothing |
//! | data key pair | session objects | read once, destroyed | nothing (extractable: returning it is the point) |
//! | import wrapping key pair | private: token object; public: session object | until the import ends | unwrap (OAEP) into sensitive material only, or raw RSA decrypt only |
//! | imported material | token object, or a session probe copy | until deleted / at once | its key usage only, never readable; the probe copy wraps only under the measuring key |
//! | ephemeral AES key of RSA_AES_KEY_WRAP | session object | one unwrap | unwrap only |
//! | throwaway wrapping key | session object | one wrap | wrap only, never trusted |
//! | measuring key (SO) | public session object of the login session | process | wraps only session copies, to measure them; unwraps nothing |
//! | transit key (SO) | public session object of the login session | process | wraps only PKCS#8 carriers; unwraps only into sensitive, never-extractable private keys |
//! | PKCS#8 carrier | session object | one wrap under the transit key | nothing, never readable |
//! | ECDH secret | session object | read once, destroyed | nothing |
//! | transport key pair | token objects `transport/<R>`, `transport/<R>/public` | forever | private: unwrap (OAEP) into the exact shape of a KEK only; public: carrier of values |
//! | trusted peer public key (SO) | token object `transport/<P>/public` | forever | wrap (OAEP) only trusted session keys, i.e. KEKs |
//! | KEK `kek/<A>-><B>` in A (SO) | public session object of A's login session | process | wrap (key wrap) only multi-Region token material, trusted |
//! | KEK `kek/<A>-><B>` in B | private session object of B's login session | process | unwrap (key wrap) only into multi-Region material |
//! | public key to verify with | session object of the login session | process | verify only |
//! | startup probes (OAEP-SHA-256, Ed25519ph) | session objects | destroyed at once | encrypt / sign |
//!
//! Every key carries CKA_ALLOWED_MECHANISMS ([`KeyRole`]) except objects whose value is
//! read out and destroyed at once. Unwrapping keys carry a CKA_UNWRAP_TEMPLATE and the
//! trusted wrapping keys a CKA_WRAP_TEMPLATE ([`Template`], created through
//! [`super::raw`]): SoftHSM compares every pinned attribute byte for byte with the
//! caller's template and refuses the call otherwise, and neither template can be changed
//! or dropped later. Only booleans and integers are pinned (byte strings of private
//! objects are stored encrypted and never match).
//!
//! The caller adds CKA_LABEL where a template says so (the token's label map must learn
//! the handle under the same lock that creates the object).

use cryptoki::mechanism::MechanismType;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};

use super::algorithms::{Curve, MaterialKind, PairKind, PairUsage, WrappingAlgorithm};
use super::encoding;
use super::errors::HsmError;
use super::mechanisms::KeyRole;

/// An object template with the array attributes cryptoki cannot express: what the object
/// may unwrap into (CKA_UNWRAP_TEMPLATE) and what it may wrap (CKA_WRAP_TEMPLATE); empty
/// means none. Created through [`super::raw`], which puts CKA_MODIFIABLE last.
#[derive(Debug, Clone, Default)]
pub(crate) struct Template {
    pub attrs: Vec<Attribute>,
    pub unwrap_template: Vec<Attribute>,
    pub wrap_template: Vec<Attribute>,
}

/// CKA_ALLOWED_MECHANISMS of a key of `role` (nothing when the role runs nothing).
fn allowed(role: KeyRole) -> Option<Attribute> {
    let list = role.allowed();
    (!list.is_empty()).then_some(Attribute::AllowedMechanisms(list))
}

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
    t.extend(allowed(KeyRole::AesMaterial));
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
    t.extend(allowed(KeyRole::HmacMaterial { len }));
    t.extend(named(label));
    t.extend(extractability(extract));
    t
}

/// A key pair of `kind` for a KMS key: (public, private). The private key is the token
/// object `label`, usable for `usage` only (`raw_rsa`: see [`KeyRole::PrivateKey`]); the
/// public half is a session object that is read once and destroyed.
pub(crate) fn pair_material(
    label: &str,
    kind: PairKind,
    usage: PairUsage,
    extract: Extractability,
    raw_rsa: bool,
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
    private.extend(allowed(KeyRole::PrivateKey {
        kind,
        usage,
        raw_rsa,
    }));
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
    t.extend(allowed(KeyRole::VerifyingKey(kind)));
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

/// The RSA wrapping key pair of one GetParametersForImport call for `algorithm`:
/// (public, private). The private half is the token object `label`: sensitive, never
/// extractable, copyable or modifiable. With `in_token_oaep` it can only unwrap, with
/// RSA-OAEP, and its CKA_UNWRAP_TEMPLATE pins what it may create: for RSAES_OAEP_* material
/// that is sensitive and extractable only under a trusted key
/// ([`imported_material_pin`]), for RSA_AES_KEY_WRAP_* exactly the ephemeral AES key
/// ([`ephemeral_unwrapping_key`]). Without, it can only decrypt raw RSA (OAEP decoded on
/// the host), which no template can restrict.
pub(crate) fn import_wrapping_pair(
    label: &str,
    bits: u64,
    algorithm: WrappingAlgorithm,
    in_token_oaep: bool,
) -> (Vec<Attribute>, Template) {
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
        Attribute::Copyable(false),
        Attribute::Modifiable(false),
    ];
    private.extend(allowed(if in_token_oaep {
        KeyRole::RsaOaep
    } else {
        KeyRole::RsaRaw
    }));
    private.extend(named(label));
    let unwrap_template = match (in_token_oaep, algorithm.aes_key_wrap()) {
        (false, _) => Vec::new(),
        (true, false) => imported_material_pin(),
        (true, true) => ephemeral_unwrapping_key(),
    };
    (
        public,
        Template {
            attrs: private,
            unwrap_template,
            wrap_template: Vec::new(),
        },
    )
}

/// What an RSAES_OAEP_* import wrapping key pins on whatever it unwraps: sensitive, and
/// extractable (if at all) only under a trusted key. No holder of the user PIN can make a
/// trusted key, so nothing it unwraps can ever be read.
pub(crate) fn imported_material_pin() -> Vec<Attribute> {
    vec![Attribute::Sensitive(true), Attribute::WrapWithTrusted(true)]
}

/// The object imported material becomes: the token object `label`, or without a label
/// the probe copy (a session object of this call, destroyed at once, that only yields the
/// key check value and the checks below). Both carry [`imported_material_pin`]. The probe
/// copy of secret-key material is extractable under a trusted key so the token's
/// measuring key can tell its length (SoftHSM 2.6.1 records no CKA_VALUE_LEN on unwrap).
/// `raw_rsa`: see [`KeyRole::PrivateKey`].
pub(crate) fn imported_material(
    kind: MaterialKind,
    label: Option<&str>,
    raw_rsa: bool,
) -> Vec<Attribute> {
    let probe = label.is_none();
    let mut t = match kind {
        MaterialKind::Aes { .. } => vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(!probe),
            Attribute::Private(true),
            Attribute::Extractable(probe),
            Attribute::Encrypt(true),
            // The probe copy only computes the key check value.
            Attribute::Decrypt(!probe),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Derive(false),
            Attribute::AllowedMechanisms(KeyRole::AesMaterial.allowed()),
        ],
        MaterialKind::Hmac { len } => vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(!probe),
            Attribute::Private(true),
            Attribute::Extractable(probe),
            Attribute::Sign(true),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::AllowedMechanisms(if probe {
                KeyRole::HmacProbe.allowed()
            } else {
                KeyRole::HmacMaterial { len }.allowed()
            }),
        ],
        MaterialKind::PrivateKey { kind, usage } => {
            let is_ec = matches!(kind, PairKind::Ec(_));
            let mut t = vec![
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::KeyType(key_type(kind)),
                Attribute::Token(!probe),
                Attribute::Private(true),
                Attribute::Extractable(false),
                // The probe copy signs once (its public key is proven by a signature)
                // and, for EC, derives once with the base point (the x coordinate of its
                // public point); the token object can do only what its key usage allows.
                Attribute::Sign(probe || usage == PairUsage::Sign),
                Attribute::Decrypt(!probe && usage == PairUsage::Decrypt),
                Attribute::Derive((probe && is_ec) || usage == PairUsage::Derive),
                Attribute::Unwrap(false),
                Attribute::SignRecover(false),
            ];
            t.extend(allowed(if probe {
                KeyRole::PrivateKeyProbe(kind)
            } else {
                KeyRole::PrivateKey {
                    kind,
                    usage,
                    raw_rsa,
                }
            }));
            t
        }
    };
    t.extend(imported_material_pin());
    if let Some(label) = label {
        t.extend(named(label));
    }
    t
}

/// The ephemeral AES key of RSA_AES_KEY_WRAP_*: a session object that unwraps the
/// material once. The in-token wrapping key pins exactly this shape (CKA_MODIFIABLE last).
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
        Attribute::AllowedMechanisms(KeyRole::KeyWrap.allowed()),
        Attribute::Modifiable(false),
    ]
}

/// A session-only AES key that can only wrap, generated by the user (so never trusted),
/// used once and destroyed: for probing what the token lets out of it.
pub(crate) fn throwaway_wrapping_key() -> [Attribute; 15] {
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
        Attribute::AllowedMechanisms(KeyRole::KeyWrap.allowed()),
    ]
}

/// The measuring key (made by the Security Officer at every start, a public session
/// object of the login session): a trusted AES key whose wrap template admits only
/// session objects that may leave their token only under a trusted key — the probe
/// copies of imported material (and, though never asked, the session copies of
/// multi-Region material) — so the wrapped length tells the material's length. It cannot
/// unwrap or decrypt, never leaves the token and no other process sees it, so what it
/// wraps can never be recovered.
pub(crate) fn measuring_key(label: &str) -> Template {
    Template {
        attrs: vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(32.into()),
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::Trusted(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Wrap(true),
            Attribute::Unwrap(false),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Derive(false),
            Attribute::Copyable(false),
            Attribute::AllowedMechanisms(KeyRole::KeyWrap.allowed()),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Modifiable(false),
        ],
        unwrap_template: Vec::new(),
        wrap_template: vec![Attribute::Token(false), Attribute::WrapWithTrusted(true)],
    }
}

/// The transit key (made by the Security Officer at every start, a public session object
/// of the login session, like the measuring key): the token's route for a PKCS#8 private
/// key that arrived wrapped with RSA-OAEP, which the token cannot parse. The PKCS#8 is
/// first a [`pkcs8_carrier`] (a sensitive generic secret); the transit key wraps it with
/// CKM_AES_KEY_WRAP_PAD and unwraps the result as a private key, so the token parses the
/// PKCS#8 itself. Its wrap template admits only such carriers (session generic secrets
/// that may leave their token only under a trusted key); its unwrap template makes only
/// sensitive, never-extractable private keys. It never leaves the token and no other
/// process sees it.
pub(crate) fn transit_key(label: &str) -> Template {
    Template {
        attrs: vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(32.into()),
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::Trusted(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Wrap(true),
            Attribute::Unwrap(true),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Derive(false),
            Attribute::Copyable(false),
            Attribute::AllowedMechanisms(KeyRole::KeyWrap.allowed()),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Modifiable(false),
        ],
        unwrap_template: vec![
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Extractable(false),
            Attribute::Sensitive(true),
            Attribute::WrapWithTrusted(true),
        ],
        wrap_template: vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(false),
            Attribute::WrapWithTrusted(true),
        ],
    }
}

/// A PKCS#8 private key on its way through the token ([`transit_key`]): a session
/// generic secret that can do nothing, is never readable ([`imported_material_pin`],
/// which an OAEP import wrapping key pins) and can be wrapped only under a trusted key.
pub(crate) fn pkcs8_carrier() -> Vec<Attribute> {
    let mut t = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Extractable(true),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
    ];
    t.extend(imported_material_pin());
    t
}

// ---- Key transport between Region tokens ----------------------------------------------

/// A Region's RSA transport key pair: (public, private), labelled here. The private half
/// can only unwrap, only with RSA-OAEP, and only into the exact shape of a receiving KEK
/// ([`kek_shape`]); it can be neither copied nor changed.
pub(crate) fn transport_pair(
    private_label: &str,
    public_label: &str,
    bits: u64,
) -> (Template, Template) {
    let id = private_label.as_bytes().to_vec();
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
        Attribute::Copyable(false),
        Attribute::Id(id.clone()),
        Attribute::Label(public_label.as_bytes().to_vec()),
        Attribute::Modifiable(false),
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
        Attribute::Copyable(false),
        Attribute::AllowedMechanisms(KeyRole::RsaOaep.allowed()),
        Attribute::Id(id),
        Attribute::Label(private_label.as_bytes().to_vec()),
        // Never to become a decryption key: OAEP blobs it unwraps must stay in the token.
        Attribute::Modifiable(false),
    ];
    (
        Template {
            attrs: public,
            ..Template::default()
        },
        Template {
            attrs: private,
            unwrap_template: kek_shape(),
            wrap_template: Vec::new(),
        },
    )
}

/// The exact shape of a receiving KEK, pinned by the transport private key: a private
/// session key, sensitive, never extractable, that can only unwrap, only with RFC 5649 key
/// wrap, and cannot be changed. Whatever a holder of the user PIN unwraps with a
/// transport key is such a key, never a readable or decrypting one.
pub(crate) fn kek_shape() -> Vec<Attribute> {
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
        Attribute::AllowedMechanisms(KeyRole::KeyWrap.allowed()),
        Attribute::Modifiable(false),
    ]
}

/// A peer's public transport key as a trusted object in another token (only the SO can
/// set CKA_TRUSTED). Its CKA_WRAP_TEMPLATE lets it wrap only trusted session keys, i.e.
/// the KEKs the SO makes at every start — never key material, never a user's key.
pub(crate) fn trusted_public_key(label: &str, modulus: &[u8], exponent: &[u8]) -> Template {
    let mut attrs = vec![
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
        Attribute::Copyable(false),
        Attribute::AllowedMechanisms(KeyRole::RsaOaep.allowed()),
        Attribute::Modulus(modulus.to_vec()),
        Attribute::PublicExponent(exponent.to_vec()),
        Attribute::Modifiable(false),
    ];
    attrs.extend(named(label));
    Template {
        attrs,
        unwrap_template: Vec::new(),
        wrap_template: trusted_public_key_wraps(),
    }
}

/// What a trusted transport public key may wrap (its CKA_WRAP_TEMPLATE).
pub(crate) fn trusted_public_key_wraps() -> Vec<Attribute> {
    vec![Attribute::Trusted(true), Attribute::Token(false)]
}

/// The key-encryption key `label` in the sending token, made by the SO at every start as
/// a public session object of the login session (the SO cannot create private objects;
/// a session object never touches the disk and no other process sees it). Trusted, so
/// multi-Region material can be wrapped under it; wrap only, and by its
/// CKA_WRAP_TEMPLATE only token objects that may leave their token under a trusted key.
pub(crate) fn sending_kek(label: &str) -> Template {
    Template {
        attrs: vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(32.into()),
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::Trusted(true),
            Attribute::Sensitive(true),
            // Extractable so it can be wrapped once for its receiver; only under a trusted key.
            Attribute::Extractable(true),
            Attribute::WrapWithTrusted(true),
            Attribute::Wrap(true),
            Attribute::Unwrap(false),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Derive(false),
            Attribute::Copyable(false),
            Attribute::AllowedMechanisms(KeyRole::KeyWrap.allowed()),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Modifiable(false),
        ],
        unwrap_template: Vec::new(),
        wrap_template: vec![Attribute::WrapWithTrusted(true), Attribute::Token(true)],
    }
}

/// The key-encryption key `label` in the receiving token (unwrapped by the user into the
/// login session): exactly [`kek_shape`], with its own CKA_UNWRAP_TEMPLATE
/// ([`replica_shape`]).
pub(crate) fn receiving_kek(label: &str) -> Template {
    let mut attrs = vec![Attribute::Label(label.as_bytes().to_vec())];
    attrs.extend(kek_shape());
    Template {
        attrs,
        unwrap_template: replica_shape(),
        wrap_template: Vec::new(),
    }
}

/// What a receiving KEK may create: multi-Region material replicas — token objects,
/// private, sensitive, extractable only under a trusted key, never unwrapping keys.
pub(crate) fn replica_shape() -> Vec<Attribute> {
    vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
        Attribute::WrapWithTrusted(true),
        Attribute::Unwrap(false),
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
/// CKA_ID, usage values and allowed mechanisms (none for material made before they were
/// set), with the multi-Region protection (sensitive, extractable only under a trusted
/// key) — which is also what the receiving KEK pins ([`replica_shape`]). The caller adds
/// the label.
pub(crate) fn replica(
    class: ObjectClass,
    key_type: KeyType,
    id: Vec<u8>,
    usage_values: Vec<Attribute>,
    allowed_mechanisms: Vec<MechanismType>,
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
    if !allowed_mechanisms.is_empty() {
        t.push(Attribute::AllowedMechanisms(allowed_mechanisms));
    }
    t
}

// ---- Startup capability probes --------------------------------------------------------

/// A throwaway RSA-2048 public key session object (its modulus is not a real key's) to
/// try OAEP-SHA-256 encryption with.
pub(crate) fn oaep_probe_public_key() -> [Attribute; 7] {
    [
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::RSA),
        Attribute::Token(false),
        Attribute::Encrypt(true),
        Attribute::AllowedMechanisms(KeyRole::RsaOaep.allowed()),
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
        Attribute::AllowedMechanisms(
            KeyRole::PrivateKey {
                kind: PairKind::Ec(Curve::Ed25519),
                usage: PairUsage::Sign,
                raw_rsa: false,
            }
            .allowed(),
        ),
    ];
    (public, private)
}
