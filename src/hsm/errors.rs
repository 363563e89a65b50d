//! What went wrong in the token layer ([`HsmError`], each variant saying exactly what
//! failed and keeping its cause), and what a PKCS#11 return value means for the request
//! that caused it: one table per meaning, so "bad ciphertext" or "the token cannot do
//! this" is decided in one place only.
//!
//! The tables are separate because the meaning depends on the call: CKR_KEY_SIZE_RANGE
//! from C_GenerateKeyPair says the token lacks a key size, from C_UnwrapKey that the
//! caller's wrapped material has the wrong length.

use std::path::PathBuf;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::AttributeType;

use crate::domain::region::Region;

/// What went wrong in the token layer.
#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    /// The PKCS#11 module could not be loaded.
    #[error(
        "cannot load the PKCS#11 module {}: {source} (is SoftHSM2 installed? scripts/run \
         installs it)",
        path.display()
    )]
    ModuleLoad {
        path: PathBuf,
        #[source]
        source: CkError,
    },
    /// C_Initialize failed.
    #[error("PKCS#11 C_Initialize failed: {source}")]
    Initialize {
        #[source]
        source: CkError,
    },
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {call} failed in the {region} token: {error}")]
    Pkcs11 {
        call: &'static str,
        region: Region,
        #[source]
        error: CkError,
    },
    /// No token carries this Region's label and every slot's token is initialised.
    #[error("no token labelled {region} and no free slot to create one on")]
    NoFreeSlot { region: Region },
    /// C_InitToken succeeded but no token with the label appeared.
    #[error("token {region} vanished right after C_InitToken")]
    TokenVanished { region: Region },
    /// The Region is not one this process serves.
    #[error("Region {0} is not served")]
    NotServed(Region),
    /// The token has no object for this key material.
    #[error("the token holds no object labelled {0}")]
    MissingObject(String),
    /// The token did not reveal an attribute it must have.
    #[error("the {region} token did not reveal {attribute} of {object}")]
    MissingAttribute {
        region: Region,
        /// What the object is (a label, or e.g. "the derived ECDH secret").
        object: String,
        attribute: AttributeType,
    },
    /// Key values the token returned could not be encoded (or a stored one decoded).
    #[error("cannot encode {what}: {source}")]
    Encoding {
        what: &'static str,
        #[source]
        source: EncodingError,
    },
    /// An AES-GCM tag did not verify (wrong key, context or tampered data), or an RSA
    /// ciphertext did not decrypt.
    #[error("AES-GCM authentication failed")]
    AuthenticationFailed,
    /// Key material never travels between these Regions: they are in different
    /// partitions, so no transport keys link their tokens.
    #[error(
        "no key transport from {from} to {to}: they are in different partitions ({} and \
         {}), which never share key material",
        from.partition().as_str(),
        to.partition().as_str()
    )]
    NoTransport { from: Region, to: Region },
    /// The object is not multi-Region material (material that may leave its token only
    /// wrapped under a trusted key), so it is never copied to another token.
    #[error("the object labelled {0} is not multi-Region material and never leaves its token")]
    NotReplicable(String),
    /// A thread of the parallel key transport setup panicked.
    #[error("a key transport setup thread panicked")]
    SetupThreadPanicked,
    /// The token object made from imported private-key material is not the key its probe
    /// copy proved (the same wrapped blob unwrapped twice gave two keys).
    #[error(
        "the imported private key {label} in the {region} token does not match the public \
         key its probe copy proved"
    )]
    ImportedKeyMismatch { region: Region, label: String },
    /// The token refuses a PIN.
    #[error(
        "the {region} token refuses the {who} PIN from {origin}: give the token's PIN there \
         (or, for PINs hsm-kms keeps, restore the pins file it wrote)"
    )]
    WrongPin {
        region: Region,
        who: &'static str,
        /// Where the PIN came from (the pins file, or the setting that gave it).
        origin: String,
    },
    /// The PINs cannot be read, generated or rotated.
    #[error(transparent)]
    Pins(#[from] super::pins::PinsError),
    /// The module's function list for the calls with array attributes is unavailable.
    #[error("PKCS#11 module: {0}")]
    ArrayCalls(String),
    /// A private key's token object was unwrapped without the public key its probe copy
    /// proved (the caller must pass it).
    #[error("the imported private key {label} in the {region} token was unwrapped without the public key of its probe copy")]
    MissingProbePublicKey { region: Region, label: String },
}

/// Why a key value could not be encoded or decoded (the encoding crate's own error).
#[derive(Debug, thiserror::Error)]
pub enum EncodingError {
    #[error(transparent)]
    Rsa(#[from] rsa::Error),
    #[error(transparent)]
    Spki(#[from] spki::Error),
    #[error(transparent)]
    Der(#[from] spki::der::Error),
    #[error(transparent)]
    Pkcs8(#[from] rsa::pkcs8::Error),
    #[error(transparent)]
    Curve(#[from] p256::elliptic_curve::Error),
    #[error(transparent)]
    Signature(#[from] ed25519_dalek::SignatureError),
    /// A value of the wrong length for its curve.
    #[error("{got} bytes where {expected} are expected")]
    Length { got: usize, expected: usize },
    /// The SubjectPublicKeyInfo's key is not a whole number of bytes.
    #[error("the public key bit string has unused bits")]
    UnusedBits,
}

/// Why imported material could not be unwrapped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The token failed for a reason that is not the caller's data.
    #[error(transparent)]
    Hsm(#[from] HsmError),
    /// The wrapped blob does not decrypt under the wrapping key with this algorithm.
    #[error("the wrapped key material does not unwrap under the wrapping key")]
    CannotUnwrap,
    /// It decrypted, but the material has the wrong length for the key spec.
    #[error("the key material is {got} bytes where the key spec needs {expected}")]
    WrongLength { got: usize, expected: usize },
    /// A well-formed private key of another type than the key spec (what it is).
    #[error("the key material is {0}, not the key spec's type")]
    WrongKeyType(String),
}

impl HsmError {
    /// The PKCS#11 return value, when this is a PKCS#11 call's failure.
    pub fn return_value(&self) -> Option<RvError> {
        match self {
            HsmError::Pkcs11 { error, .. } => return_value(error),
            _ => None,
        }
    }
}

/// The return value of a failed PKCS#11 call (None for cryptoki's own errors).
pub(crate) fn return_value(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

/// "The token cannot do this mechanism, curve, key size or parameter" (rather than a
/// fault): the service answers UnsupportedOperationException.
const UNSUPPORTED: &[RvError] = &[
    RvError::MechanismInvalid,
    RvError::MechanismParamInvalid,
    RvError::CurveNotSupported,
    RvError::DomainParamsInvalid,
    RvError::TemplateInconsistent,
    RvError::AttributeValueInvalid,
    RvError::KeySizeRange,
    RvError::FunctionNotSupported,
];

/// "The caller's ciphertext does not decrypt under this key" (C_Decrypt). SoftHSM2
/// reports a failed AES-GCM tag check as CKR_GENERAL_ERROR.
const CIPHERTEXT_REFUSALS: &[RvError] = &[
    RvError::EncryptedDataInvalid,
    RvError::EncryptedDataLenRange,
    RvError::DataInvalid,
    RvError::DataLenRange,
    RvError::GeneralError,
];

/// "The caller's wrapped key material is wrong" (C_UnwrapKey, and C_CreateObject from
/// material decoded on the host), besides [`CIPHERTEXT_REFUSALS`]: it does not unwrap, has
/// a length the key type cannot have, or (PKCS#8) is another kind of key than the
/// template's.
const WRAPPED_KEY_REFUSALS: &[RvError] = &[
    RvError::WrappedKeyInvalid,
    RvError::WrappedKeyLenRange,
    RvError::KeySizeRange,
    RvError::FunctionFailed,
    RvError::TemplateInconsistent,
];

/// "The signature or MAC does not verify" (C_Verify).
const SIGNATURE_REFUSALS: &[RvError] = &[RvError::SignatureInvalid, RvError::SignatureLenRange];

/// "This mechanism parameter is not implemented": SoftHSM 2.6.1 answers RSA-OAEP with
/// SHA-256 with CKR_ARGUMENTS_BAD.
const PARAMETER_REFUSALS: &[RvError] = &[
    RvError::MechanismInvalid,
    RvError::MechanismParamInvalid,
    RvError::ArgumentsBad,
];

/// The session is gone and must not go back to the pool.
const BROKEN_SESSION: &[RvError] = &[RvError::SessionHandleInvalid, RvError::SessionClosed];

fn in_table(table: &[RvError], e: &CkError) -> bool {
    return_value(e).is_some_and(|rv| table.contains(&rv))
}

/// True when a token error means "the token cannot do this mechanism, curve or parameter"
/// (rather than a fault): the service answers UnsupportedOperationException.
pub fn is_unsupported(e: &HsmError) -> bool {
    e.return_value().is_some_and(|rv| UNSUPPORTED.contains(&rv))
}

/// The caller's ciphertext does not decrypt (see [`CIPHERTEXT_REFUSALS`]).
pub(crate) fn rejects_ciphertext(e: &CkError) -> bool {
    in_table(CIPHERTEXT_REFUSALS, e)
}

/// The caller's wrapped key material is wrong (see [`WRAPPED_KEY_REFUSALS`]).
pub(crate) fn rejects_wrapped_key(e: &CkError) -> bool {
    rejects_ciphertext(e) || in_table(WRAPPED_KEY_REFUSALS, e)
}

/// The signature or MAC does not verify.
pub(crate) fn rejects_signature(e: &CkError) -> bool {
    in_table(SIGNATURE_REFUSALS, e)
}

/// The mechanism's parameters are not implemented by the token.
pub(crate) fn rejects_parameters(e: &CkError) -> bool {
    in_table(PARAMETER_REFUSALS, e)
}

/// The work session broke and must be dropped rather than reused.
pub(crate) fn breaks_session(e: &HsmError) -> bool {
    e.return_value()
        .is_some_and(|rv| BROKEN_SESSION.contains(&rv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::context::Function;

    fn p11(rv: RvError) -> CkError {
        CkError::Pkcs11(rv, Function::Decrypt)
    }

    #[test]
    fn a_bad_ciphertext_is_also_a_bad_wrapped_key_but_not_the_reverse() {
        for rv in CIPHERTEXT_REFUSALS {
            assert!(rejects_wrapped_key(&p11(*rv)), "{rv:?}");
        }
        assert!(rejects_wrapped_key(&p11(RvError::WrappedKeyInvalid)));
        assert!(!rejects_ciphertext(&p11(RvError::WrappedKeyInvalid)));
    }

    #[test]
    fn faults_are_neither_bad_input_nor_unsupported() {
        let fault = p11(RvError::DeviceError);
        assert!(!rejects_ciphertext(&fault));
        assert!(!rejects_wrapped_key(&fault));
        assert!(!rejects_signature(&fault));
        let e = HsmError::Pkcs11 {
            call: "C_Decrypt",
            region: Region::parse("us-east-1").expect("a Region"),
            error: fault,
        };
        assert!(!is_unsupported(&e));
        assert!(!breaks_session(&e));
    }

    #[test]
    fn unsupported_mechanisms_and_broken_sessions_are_recognised() {
        let region = Region::parse("us-east-1").expect("a Region");
        let e = |rv| HsmError::Pkcs11 {
            call: "C_GenerateKeyPair",
            region,
            error: p11(rv),
        };
        assert!(is_unsupported(&e(RvError::CurveNotSupported)));
        assert!(breaks_session(&e(RvError::SessionClosed)));
        assert!(!is_unsupported(&HsmError::AuthenticationFailed));
    }
}
