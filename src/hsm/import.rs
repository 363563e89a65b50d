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
//! - [`RegionToken::imported_check_value`] runs inside the token: a key check value that
//!   tells whether two tokens (or two imports) hold the same material without reading it.
//!
//! What kind of object the material becomes is a [`MaterialKind`], chosen by the service
//! from the key spec (AES-256 today; HMAC secrets and PKCS#8 private keys slot in here).

use std::collections::HashMap;

use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use once_cell::sync::Lazy;
use parking_lot::RwLock;
use zeroize::{Zeroize, Zeroizing};

use super::{HsmError, RegionToken};
use crate::kms::region::Region;

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
}

impl MaterialKind {
    fn expected_len(self) -> usize {
        match self {
            MaterialKind::Aes { len } => len,
        }
    }
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

/// The template of a secret-key object holding imported material.
fn material_template(kind: MaterialKind, label: Option<&str>) -> Vec<Attribute> {
    let MaterialKind::Aes { .. } = kind;
    let mut t = vec![
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
    ];
    if let Some(label) = label {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
        t.push(Attribute::Id(label.as_bytes().to_vec()));
    }
    t
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
    /// `label` (unless the token already holds it: then nothing is created and `false`
    /// comes back); without, it is a session object that only yields the key check value.
    /// Either way returns the key check value computed in the token.
    pub fn unwrap_imported(
        &self,
        wrapping_label: &str,
        algorithm: WrappingAlgorithm,
        wrapped: &[u8],
        kind: MaterialKind,
        label: Option<&str>,
    ) -> Result<(Vec<u8>, bool), ImportError> {
        let wrapping = self.handle(wrapping_label)?;
        let caps = capabilities(self.region());
        let in_token_oaep = !algorithm.sha256() || caps.oaep_sha256;
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
        let _guard = if label.is_some() {
            Some(self.creation_guard())
        } else {
            None
        };
        if let Some(l) = label {
            if self.has_object(l) {
                let kcv = self.check_value_of_label(l, kind)?;
                return Ok((kcv, false));
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
        // The probe copy: length check, then the key check value. The token object (made
        // from the same blob after the probe passed) only gets its check value computed.
        let checked = self.session(|s| {
            if label.is_none() {
                let len = self.probe_len(s, handle)?;
                if len != kind.expected_len() {
                    return Ok(Err(ImportError::WrongLength {
                        got: len,
                        expected: kind.expected_len(),
                    }));
                }
            }
            match check_value(s, handle, kind) {
                Ok(kcv) => Ok(Ok(kcv)),
                Err(e) if is_bad_data(&e) || label.is_none() => Ok(Err(ImportError::CannotUnwrap)),
                Err(e) => Err(self.p11("C_Encrypt")(e)),
            }
        });
        let keep = matches!(checked, Ok(Ok(_))) && label.is_some();
        if !keep {
            let _ = self.session(|s| {
                s.destroy_object(handle)
                    .map_err(self.p11("C_DestroyObject"))
            });
        }
        let kcv = checked??;
        if let Some(l) = label {
            self.insert_handle(l, handle);
        }
        Ok((kcv, label.is_some()))
    }

    /// The key check value of the material object `label` (computed in the token).
    pub fn imported_check_value(
        &self,
        label: &str,
        kind: MaterialKind,
    ) -> Result<Vec<u8>, HsmError> {
        self.check_value_of_label(label, kind)
    }

    fn check_value_of_label(&self, label: &str, kind: MaterialKind) -> Result<Vec<u8>, HsmError> {
        let handle = self.handle(label)?;
        self.session(|s| check_value(s, handle, kind).map_err(self.p11("C_Encrypt")))
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
            if secret.len() != kind.expected_len() {
                return Err(ImportError::WrongLength {
                    got: secret.len(),
                    expected: kind.expected_len(),
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
        let template = [
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
        ];
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

/// The key check value: the AES-GCM tag of no plaintext under a fixed IV and AAD,
/// computed in the token.
fn check_value(
    s: &Session,
    handle: ObjectHandle,
    kind: MaterialKind,
) -> Result<Vec<u8>, cryptoki::error::Error> {
    let MaterialKind::Aes { .. } = kind;
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
