//! Imported key material (bring your own key) at the PKCS#11 level.
//!
//! - [`RegionToken::generate_import_wrapping_key`]: the RSA wrapping key pair of one
//!   GetParametersForImport call, generated inside the Region's token. The private half is
//!   a sensitive, never-extractable token object (`import-wrapping/<key id>/<nonce>`) that
//!   can only unwrap (or, where the token has no OAEP with SHA-256, only decrypt raw RSA);
//!   the public half is a session object that is read once (DER SubjectPublicKeyInfo) and
//!   destroyed.
//! - [`RegionToken::unwrap_imported`]: unwraps the caller's wrapped material into the
//!   token as a sensitive, never-extractable object:
//!   - `RSAES_OAEP_SHA_1`: C_UnwrapKey with CKM_RSA_PKCS_OAEP (SHA-1) straight into the
//!     token;
//!   - `RSA_AES_KEY_WRAP_SHA_1`: C_UnwrapKey (OAEP SHA-1) of the ephemeral AES key into a
//!     session object, then C_UnwrapKey with CKM_AES_KEY_WRAP_PAD (RFC 5649) of the
//!     material under it;
//!   - the SHA-256 variants: SoftHSM 2.6.1 implements OAEP only with SHA-1, so unless the
//!     startup probe found OAEP-SHA-256 in the token, the RSA step is a raw RSA decryption
//!     (CKM_RSA_X_509) in the token and the OAEP decoding (SHA-256, MGF1-SHA-256, empty
//!     label) runs here; the recovered secret (the material, or the ephemeral AES key)
//!     lives only in zeroising buffers until C_CreateObject puts it into the token.
//! - Key check values run inside the token and tell whether two tokens (or two imports)
//!   hold the same material without reading it: the AES-GCM tag of nothing (AES), the
//!   HMAC-SHA-1 of a fixed message (HMAC keys), a hash of the public key (private keys).
//!
//! What kind of object the material becomes is a [`MaterialKind`], chosen by the service
//! from the key spec: an AES-256 key, an HMAC key (CKK_GENERIC_SECRET of the spec's
//! length), or a private key from PKCS#8 DER. A private key is unwrapped only with
//! CKM_AES_KEY_WRAP_PAD, straight into a private key object: the token parses the PKCS#8,
//! so the private key is never in host memory. Its public key is then derived from what
//! the token reveals anyway (RSA: modulus and public exponent; EC: x(d·G) by ECDH with the
//! base point, y by one signature that only one of the two candidate points verifies) and
//! must verify a signature the token makes with the imported key.

use std::collections::HashMap;

use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use parking_lot::RwLock;
use std::sync::LazyLock as Lazy;
use zeroize::{Zeroize, Zeroizing};

use super::asymmetric::{self as asym, Curve, Hash, PairKind, PairUsage, SignScheme};
use super::{HsmError, RegionToken};
use crate::domain::region::Region;

/// Label of the per-Region AES-256 key that seals import tokens (created at startup).
pub const IMPORT_TOKEN_KEY_LABEL: &str = "import-token-key";

/// Prefix of the labels of import wrapping keys.
pub const WRAPPING_LABEL_PREFIX: &str = "import-wrapping/";

/// The wrapping algorithms hsm-kms accepts (AWS's, minus the retired RSAES_PKCS1_V1_5 and
/// the China-only SM2PKE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrappingAlgorithm {
    RsaesOaepSha1,
    RsaesOaepSha256,
    RsaAesKeyWrapSha1,
    RsaAesKeyWrapSha256,
}

impl WrappingAlgorithm {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RSAES_OAEP_SHA_1" => Some(Self::RsaesOaepSha1),
            "RSAES_OAEP_SHA_256" => Some(Self::RsaesOaepSha256),
            "RSA_AES_KEY_WRAP_SHA_1" => Some(Self::RsaAesKeyWrapSha1),
            "RSA_AES_KEY_WRAP_SHA_256" => Some(Self::RsaAesKeyWrapSha256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
            Self::RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
            Self::RsaAesKeyWrapSha1 => "RSA_AES_KEY_WRAP_SHA_1",
            Self::RsaAesKeyWrapSha256 => "RSA_AES_KEY_WRAP_SHA_256",
        }
    }

    fn sha256(self) -> bool {
        matches!(self, Self::RsaesOaepSha256 | Self::RsaAesKeyWrapSha256)
    }

    fn aes_key_wrap(self) -> bool {
        matches!(self, Self::RsaAesKeyWrapSha1 | Self::RsaAesKeyWrapSha256)
    }
}

/// The token object imported material becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaterialKind {
    /// An AES key of exactly this many bytes (SYMMETRIC_DEFAULT: 32).
    Aes { len: usize },
    /// An HMAC key (CKK_GENERIC_SECRET) of exactly this many bytes (HMAC_224: 28, ...).
    Hmac { len: usize },
    /// A private key from PKCS#8 DER, of this kind (curve or modulus size), usable for
    /// `usage` only. Unwrapped only with CKM_AES_KEY_WRAP_PAD (RSA_AES_KEY_WRAP_*): the
    /// token parses the PKCS#8 itself.
    PrivateKey { kind: PairKind, usage: PairUsage },
}

impl MaterialKind {
    /// The exact length of secret-key material; None for private keys (checked by key
    /// type instead).
    fn expected_len(self) -> Option<usize> {
        match self {
            MaterialKind::Aes { len } | MaterialKind::Hmac { len } => Some(len),
            MaterialKind::PrivateKey { .. } => None,
        }
    }

    /// Whether the material is a private key (its public key comes back from the unwrap).
    pub fn is_private_key(self) -> bool {
        matches!(self, MaterialKind::PrivateKey { .. })
    }
}

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

/// Why imported material could not be unwrapped.
#[derive(Debug)]
pub enum ImportError {
    /// The token failed for a reason that is not the caller's data.
    Hsm(HsmError),
    /// The wrapped blob does not decrypt under the wrapping key with this algorithm.
    CannotUnwrap,
    /// It decrypted, but the material has the wrong length for the key spec.
    WrongLength { got: usize, expected: usize },
    /// A well-formed private key of another type than the key spec (what it is).
    WrongKeyType(String),
}

impl From<HsmError> for ImportError {
    fn from(e: HsmError) -> Self {
        ImportError::Hsm(e)
    }
}

/// What the startup probe found in a token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCapabilities {
    /// CKM_RSA_PKCS_OAEP accepts SHA-256/MGF1-SHA-256 (not on SoftHSM 2.6.1).
    pub oaep_sha256: bool,
    /// CKM_AES_KEY_WRAP_PAD (RFC 5649) is listed.
    pub aes_key_wrap_pad: bool,
    /// CKM_RSA_X_509 (raw RSA) is listed.
    pub rsa_x509: bool,
}

static CAPABILITIES: Lazy<RwLock<HashMap<Region, ImportCapabilities>>> =
    Lazy::new(|| RwLock::new(HashMap::new()));

/// What the startup probe found for `region` (all false when it never ran).
pub fn capabilities(region: Region) -> ImportCapabilities {
    CAPABILITIES
        .read()
        .get(&region)
        .copied()
        .unwrap_or_default()
}

const GCM_TAG_BITS: u64 = 128;
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

fn oaep(sha256: bool) -> Mechanism<'static> {
    if sha256 {
        Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
            MechanismType::SHA256,
            PkcsMgfType::MGF1_SHA256,
            PkcsOaepSource::empty(),
        ))
    } else {
        Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
            MechanismType::SHA1,
            PkcsMgfType::MGF1_SHA1,
            PkcsOaepSource::empty(),
        ))
    }
}

/// PKCS#11 return values that mean "the caller's wrapped data is wrong".
fn is_bad_data(e: &cryptoki::error::Error) -> bool {
    use cryptoki::error::RvError::*;
    matches!(
        e,
        cryptoki::error::Error::Pkcs11(
            EncryptedDataInvalid
                | EncryptedDataLenRange
                | WrappedKeyInvalid
                | WrappedKeyLenRange
                | DataInvalid
                | DataLenRange
                | KeySizeRange
                | GeneralError
                | FunctionFailed
                | TemplateInconsistent,
            _
        )
    )
}

/// The template of the object holding imported material (a session-object probe copy
/// without `label`).
fn material_template(kind: MaterialKind, label: Option<&str>) -> Vec<Attribute> {
    let mut t = match kind {
        MaterialKind::Aes { .. } => aes_template(label),
        MaterialKind::Hmac { .. } => vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(label.is_some()),
            Attribute::Private(true),
            // The probe copy (a session object of this call, destroyed at once) is not
            // sensitive so that the token tells the length of its CKA_VALUE (only the
            // length is ever asked: SoftHSM 2.6.1 records no CKA_VALUE_LEN on unwrap, and
            // the AES key-wrap trick is exact only to 8 bytes, too coarse for HMAC_224).
            Attribute::Sensitive(label.is_some()),
            Attribute::Extractable(label.is_none()),
            Attribute::Sign(true),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
        ],
        MaterialKind::PrivateKey { kind, usage } => {
            let probe = label.is_none();
            let key_type = match kind {
                PairKind::Rsa(_) => KeyType::RSA,
                PairKind::Ec(curve) => curve.key_type(),
            };
            let is_ec = matches!(kind, PairKind::Ec(_));
            vec![
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::KeyType(key_type),
                Attribute::Token(!probe),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                // The probe copy signs once (its public key is proven by a signature) and,
                // for EC, derives once with the base point (the x coordinate of its public
                // point); the token object can do only what its key usage allows.
                Attribute::Sign(probe || usage == PairUsage::Sign),
                Attribute::Decrypt(!probe && usage == PairUsage::Decrypt),
                Attribute::Derive((probe && is_ec) || usage == PairUsage::Derive),
                Attribute::Unwrap(false),
                Attribute::SignRecover(false),
            ]
        }
    };
    if let Some(label) = label {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
        t.push(Attribute::Id(label.as_bytes().to_vec()));
    }
    t
}

/// The template of an AES key holding imported material (labels added by the caller).
fn aes_template(label: Option<&str>) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(label.is_some()),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        // The probe copy (a session object, destroyed at once) may be wrapped under a
        // throwaway key: the wrapped length tells the material length, which SoftHSM
        // 2.6.1 does not record (CKA_VALUE_LEN stays unset on unwrapped keys).
        Attribute::Extractable(label.is_none()),
        Attribute::Encrypt(true),
        // The probe copy only computes the key check value.
        Attribute::Decrypt(label.is_some()),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
    ]
}

/// The session-object template of an ephemeral AES key that unwraps the material once.
fn ephemeral_template() -> Vec<Attribute> {
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

/// Zeroises every CKA_VALUE of a template once the token has its copy.
fn scrub(template: &mut [Attribute]) {
    for a in template.iter_mut() {
        if let Attribute::Value(v) = a {
            v.zeroize();
        }
    }
}

// ---- DER SubjectPublicKeyInfo for RSA -----------------------------------------------

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = {
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        if skip == bytes.len() {
            &[0]
        } else {
            &bytes[skip..]
        }
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    der(0x02, &content)
}

/// DER SubjectPublicKeyInfo of an RSA public key (rsaEncryption, NULL parameters).
pub fn rsa_spki_der(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    // 1.2.840.113549.1.1.1
    const RSA_OID: [u8; 11] = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
    ];
    let mut alg = RSA_OID.to_vec();
    alg.extend_from_slice(&[0x05, 0x00]);
    let alg = der(0x30, &alg);
    let mut rsa_key = der_uint(modulus);
    rsa_key.extend_from_slice(&der_uint(exponent));
    let rsa_key = der(0x30, &rsa_key);
    let mut bits = vec![0u8];
    bits.extend_from_slice(&rsa_key);
    let mut spki = alg;
    spki.extend_from_slice(&der(0x03, &bits));
    der(0x30, &spki)
}

// ---- OAEP decoding with SHA-256 (the host step of the SHA-256 wrapping algorithms) ----

/// Decodes an OAEP-encoded message `em` (SHA-256, MGF1-SHA-256, empty label): the decoder
/// shared with RSA decryption ([`super::asymmetric::oaep_decode`]).
pub fn oaep_sha256_decode(em: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    super::asymmetric::oaep_decode(super::asymmetric::Hash::Sha256, em)
}

// ---- Token operations ----------------------------------------------------------------

impl RegionToken {
    /// Startup: probes what the token offers for import unwrapping (once; remembered for
    /// the process) and creates the Region's import-token sealing key if it is missing.
    pub fn prepare_import(&self) -> Result<ImportCapabilities, HsmError> {
        let listed = self.mechanisms()?;
        let mut caps = ImportCapabilities {
            aes_key_wrap_pad: listed.contains(&MechanismType::AES_KEY_WRAP_PAD),
            rsa_x509: listed.contains(&MechanismType::RSA_X_509),
            oaep_sha256: false,
        };
        if listed.contains(&MechanismType::RSA_PKCS_OAEP) {
            caps.oaep_sha256 = self.probe_oaep_sha256();
        }
        CAPABILITIES.write().insert(self.region(), caps);
        if !self.has_object(IMPORT_TOKEN_KEY_LABEL) {
            self.generate_aes256(IMPORT_TOKEN_KEY_LABEL, super::token::Extractability::Never)?;
            tracing::info!(region = %self.region(), "created the import-token key");
        }
        tracing::info!(
            region = %self.region(),
            oaep_sha256_in_token = caps.oaep_sha256,
            aes_key_wrap_pad = caps.aes_key_wrap_pad,
            rsa_x509 = caps.rsa_x509,
            "import unwrapping ready"
        );
        Ok(caps)
    }

    /// Whether CKM_RSA_PKCS_OAEP accepts SHA-256: encrypts one byte with OAEP-SHA-256
    /// under a throwaway public-key session object.
    fn probe_oaep_sha256(&self) -> bool {
        let modulus = vec![0xffu8; 256];
        let template = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::RSA),
            Attribute::Token(false),
            Attribute::Encrypt(true),
            Attribute::Modulus(modulus),
            Attribute::PublicExponent(vec![1, 0, 1]),
        ];
        let _guard = self.creation_guard();
        self.session(|s| {
            let key = s
                .create_object(&template)
                .map_err(self.p11("C_CreateObject"))?;
            let ok = s.encrypt(&oaep(true), key, &[0u8]).is_ok();
            let _ = s.destroy_object(key);
            Ok(ok)
        })
        .unwrap_or(false)
    }

    /// Generates the RSA wrapping key pair of one GetParametersForImport call: the private
    /// half stays in the token as `label`; returns the public half as DER
    /// SubjectPublicKeyInfo.
    pub fn generate_import_wrapping_key(
        &self,
        label: &str,
        bits: u64,
        algorithm: WrappingAlgorithm,
    ) -> Result<Vec<u8>, HsmError> {
        let in_token_oaep = !algorithm.sha256() || capabilities(self.region()).oaep_sha256;
        let public = [
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::ModulusBits(bits.into()),
            Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
            Attribute::Encrypt(false),
            Attribute::Verify(false),
            Attribute::VerifyRecover(false),
            Attribute::Wrap(false),
            Attribute::Derive(false),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            // OAEP unwrap in the token where it can; else raw RSA decryption only.
            Attribute::Unwrap(in_token_oaep),
            Attribute::Decrypt(!in_token_oaep),
            Attribute::Sign(false),
            Attribute::SignRecover(false),
            Attribute::Derive(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(label.as_bytes().to_vec()),
        ];
        let _guard = self.creation_guard();
        let (spki, private_handle) = self.session(|s| {
            let (pub_h, priv_h) = s
                .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private)
                .map_err(self.p11("C_GenerateKeyPair"))?;
            let attrs = s.get_attributes(
                pub_h,
                &[AttributeType::Modulus, AttributeType::PublicExponent],
            );
            let _ = s.destroy_object(pub_h);
            let attrs = match attrs {
                Ok(a) => a,
                Err(e) => {
                    let _ = s.destroy_object(priv_h);
                    return Err(self.p11("C_GetAttributeValue")(e));
                }
            };
            let (mut n, mut e) = (Vec::new(), Vec::new());
            for a in attrs {
                match a {
                    Attribute::Modulus(m) => n = m,
                    Attribute::PublicExponent(x) => e = x,
                    _ => {}
                }
            }
            Ok((rsa_spki_der(&n, &e), priv_h))
        })?;
        self.insert_handle(label, private_handle);
        Ok(spki)
    }

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
        let caps = capabilities(self.region());
        let in_token_oaep = !algorithm.sha256() || caps.oaep_sha256;
        if kind.is_private_key() && !algorithm.aes_key_wrap() {
            // The service refuses this combination before; PKCS#8 travels only under
            // CKM_AES_KEY_WRAP_PAD, which the token parses into a private key itself.
            return Err(ImportError::CannotUnwrap);
        }
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
                    self.check_material(handle, kind, false, expected_public)?;
                return Ok(Unwrapped {
                    kcv,
                    created: false,
                    public_key,
                });
            }
        }
        let template = material_template(kind, label);
        let handle = self.session(|s| {
            let result = self.unwrap_steps(
                s,
                wrapping,
                algorithm,
                in_token_oaep,
                rsa_part,
                kwp_part,
                kind,
                template,
            );
            Ok(result)
        })??;
        if let Some(l) = label {
            self.insert_handle(l, handle);
        }
        drop(guard);
        // The probe copy: length or key type check, then the key check value. The token
        // object (made from the same blob after the probe passed) is only checked to be
        // the same material.
        let checked = self.check_material(handle, kind, label.is_none(), expected_public);
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

    /// Checks the material object `handle` (the probe copy when `probe`) and returns its
    /// key check value and, for a private key, its public key (DER SubjectPublicKeyInfo).
    fn check_material(
        &self,
        handle: ObjectHandle,
        kind: MaterialKind,
        probe: bool,
        expected_public: Option<&[u8]>,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>), ImportError> {
        if let MaterialKind::PrivateKey { kind: pair, usage } = kind {
            let spki = if probe {
                self.prove_public_key(handle, pair)?
            } else {
                let spki = expected_public.ok_or_else(|| {
                    ImportError::Hsm(HsmError::Token(
                        "a private key's token object needs the probe's public key".into(),
                    ))
                })?;
                if !self.matches_public_key(handle, pair, usage, spki)? {
                    return Err(ImportError::Hsm(HsmError::Token(
                        "the imported private key's token object does not match the probe's public key".into(),
                    )));
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
                Err(e) if is_bad_data(&e) || probe => Ok(Err(ImportError::CannotUnwrap)),
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
                let (n, e) = self.rsa_public_parts(handle)?;
                let skip = n.iter().take_while(|b| **b == 0).count();
                let n = &n[skip..];
                let got = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
                if got as u64 != bits {
                    return Err(ImportError::WrongKeyType(format!(
                        "an RSA key of {got} bits"
                    )));
                }
                let spki = asym::rsa_spki(n, &e)?;
                (vec![spki], SignScheme::RsaPkcs1(Hash::Sha256))
            }
            PairKind::Ec(curve) => {
                let params = self.session(|s| {
                    s.get_attributes(handle, &[AttributeType::EcParams])
                        .map_err(self.p11("C_GetAttributeValue"))
                })?;
                let params = params.into_iter().find_map(|a| match a {
                    Attribute::EcParams(p) => Some(p),
                    _ => None,
                });
                if params.as_deref() != Some(curve.ec_params()) {
                    let other = [
                        Curve::P256,
                        Curve::P384,
                        Curve::P521,
                        Curve::Secp256k1,
                        Curve::Ed25519,
                    ]
                    .into_iter()
                    .find(|c| params.as_deref() == Some(c.ec_params()))
                    .map_or("an unsupported curve", |c| c.name());
                    return Err(ImportError::WrongKeyType(format!("an EC key on {other}")));
                }
                let g = asym::generator_point(curve).ok_or(ImportError::CannotUnwrap)?;
                let x = self.session(|s| self.ecdh_x_handle(s, handle, curve, &g))?;
                let mut spkis = Vec::new();
                for point in asym::points_with_x(curve, &x) {
                    spkis.push(asym::ec_spki(curve, &point)?);
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
                let (n, e) = self.rsa_public_parts(handle)?;
                Ok(asym::rsa_spki(&n, &e)? == spki)
            }
            PairKind::Ec(curve) if usage == PairUsage::Derive => {
                let g = asym::generator_point(curve).ok_or(ImportError::CannotUnwrap)?;
                let x = self.session(|s| self.ecdh_x_handle(s, handle, curve, &g))?;
                Ok(asym::spki_x(curve, spki).as_deref() == Some(&x[..]))
            }
            PairKind::Ec(curve) => {
                let digest = Hash::Sha256.digest(PUBLIC_KEY_PROOF_MESSAGE);
                let scheme = SignScheme::Ecdsa(curve);
                let signature = self.session(|s| self.sign_handle(s, handle, scheme, &digest))?;
                Ok(self.verify_with(pair, spki, scheme, &digest, &signature)?)
            }
        }
    }

    /// An RSA private key object's modulus and public exponent (public attributes).
    fn rsa_public_parts(&self, handle: ObjectHandle) -> Result<(Vec<u8>, Vec<u8>), HsmError> {
        let attrs = self.session(|s| {
            s.get_attributes(
                handle,
                &[AttributeType::Modulus, AttributeType::PublicExponent],
            )
            .map_err(self.p11("C_GetAttributeValue"))
        })?;
        let (mut n, mut e) = (Vec::new(), Vec::new());
        for a in attrs {
            match a {
                Attribute::Modulus(m) => n = m,
                Attribute::PublicExponent(x) => e = x,
                _ => {}
            }
        }
        if n.is_empty() || e.is_empty() {
            return Err(HsmError::Token(
                "the imported RSA private key has no modulus or public exponent".into(),
            ));
        }
        Ok((n, e))
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
            Some(cryptoki::object::AttributeInfo::Available(len)) => Ok(*len),
            other => Err(HsmError::Token(format!(
                "the token does not tell the length of the imported HMAC key ({other:?})"
            ))),
        }
    }

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
        Err(HsmError::Token(
            "the import wrapping key has no modulus".into(),
        ))
    }

    /// The RSA step and, for RSA_AES_KEY_WRAP, the AES key-wrap step, in one session.
    /// Returns the handle of the new material object.
    #[allow(clippy::too_many_arguments)]
    fn unwrap_steps(
        &self,
        s: &Session,
        wrapping: ObjectHandle,
        algorithm: WrappingAlgorithm,
        in_token_oaep: bool,
        rsa_part: &[u8],
        kwp_part: &[u8],
        kind: MaterialKind,
        mut template: Vec<Attribute>,
    ) -> Result<ObjectHandle, ImportError> {
        let bad = |e: cryptoki::error::Error, call: &'static str| {
            if is_bad_data(&e) {
                tracing::debug!(region = %self.region(), "{call} refused the wrapped key material: {e}");
                ImportError::CannotUnwrap
            } else {
                ImportError::Hsm(self.p11(call)(e))
            }
        };
        let sha256 = algorithm.sha256();
        if !algorithm.aes_key_wrap() {
            if in_token_oaep {
                return s
                    .unwrap_key(&oaep(sha256), wrapping, rsa_part, &template)
                    .map_err(|e| bad(e, "C_UnwrapKey"));
            }
            // Raw RSA in the token, OAEP decoding here, C_CreateObject from zeroising memory.
            let secret = self.host_oaep_decode(s, wrapping, rsa_part)?;
            let expected = kind.expected_len().ok_or(ImportError::CannotUnwrap)?;
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
            s.unwrap_key(&oaep(sha256), wrapping, rsa_part, &ephemeral_template())
                .map_err(|e| bad(e, "C_UnwrapKey"))?
        } else {
            let secret = self.host_oaep_decode(s, wrapping, rsa_part)?;
            if !matches!(secret.len(), 16 | 24 | 32) {
                return Err(ImportError::CannotUnwrap);
            }
            let mut t = ephemeral_template();
            t.push(Attribute::Value(secret.to_vec()));
            let created = s.create_object(&t);
            scrub(&mut t);
            created.map_err(|e| bad(e, "C_CreateObject"))?
        };
        let material = s
            .unwrap_key(&Mechanism::AesKeyWrapPad, ephemeral, kwp_part, &template)
            .map_err(|e| bad(e, "C_UnwrapKey"));
        let _ = s.destroy_object(ephemeral);
        material
    }

    /// The length of the secret in the (extractable, session-only) probe object `handle`,
    /// found without reading it: wrapped under a throwaway AES key with
    /// CKM_AES_KEY_WRAP_PAD, the output is 8 bytes longer than the secret rounded up to 8
    /// bytes (exact for AES keys). The throwaway key is destroyed at once and the wrapped
    /// bytes are zeroised.
    fn probe_len(&self, s: &Session, handle: ObjectHandle) -> Result<usize, HsmError> {
        let template = super::token::throwaway_wrapping_key_template();
        let throwaway = s
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(self.p11("C_GenerateKey"))?;
        let wrapped = s
            .wrap_key(&Mechanism::AesKeyWrapPad, throwaway, handle)
            .map(Zeroizing::new)
            .map_err(self.p11("C_WrapKey"));
        let _ = s.destroy_object(throwaway);
        Ok(wrapped?.len().saturating_sub(8))
    }

    /// CKM_RSA_X_509 decryption in the token, then OAEP-SHA-256 decoding in zeroising
    /// memory.
    fn host_oaep_decode(
        &self,
        s: &Session,
        wrapping: ObjectHandle,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ImportError> {
        let k = self.modulus_len(wrapping)?;
        if ciphertext.len() != k {
            return Err(ImportError::CannotUnwrap);
        }
        let raw = s
            .decrypt(&Mechanism::RsaX509, wrapping, ciphertext)
            .map(Zeroizing::new)
            .map_err(|e| {
                if is_bad_data(&e) {
                    ImportError::CannotUnwrap
                } else {
                    ImportError::Hsm(self.p11("C_Decrypt")(e))
                }
            })?;
        let mut em = Zeroizing::new(vec![0u8; k]);
        if raw.len() > k {
            return Err(ImportError::CannotUnwrap);
        }
        em[k - raw.len()..].copy_from_slice(&raw);
        oaep_sha256_decode(&em).ok_or(ImportError::CannotUnwrap)
    }
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
        return s.sign(&Mechanism::Sha1Hmac, handle, KCV_HMAC_MESSAGE);
    }
    let mut iv = KCV_IV;
    let params = GcmParams::new(&mut iv, KCV_AAD, GCM_TAG_BITS.into())?;
    s.encrypt(&Mechanism::AesGcm(params), handle, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_encodes_integers_minimally_and_positive() {
        let der = rsa_spki_der(&[0x00, 0x80, 0x01], &[0x01, 0x00, 0x01]);
        // SEQUENCE { SEQUENCE { OID, NULL }, BIT STRING { 0, SEQUENCE { INT, INT } } }
        assert_eq!(der[0], 0x30);
        let tail = &der[der.len() - 12..];
        assert_eq!(
            tail,
            &[0x30, 0x0a, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01]
        );
    }

    #[test]
    fn oaep_decoding_rejects_garbage() {
        assert!(oaep_sha256_decode(&[0u8; 256]).is_none());
        assert!(oaep_sha256_decode(&[0u8; 10]).is_none());
    }
}
