//! Imported key material (bring your own key) at the PKCS#11 level.
//!
//! - [`wrapping_key`]: the RSA wrapping key pair of one GetParametersForImport call,
//!   generated inside the Region's token. The private half is a sensitive,
//!   never-extractable, unmodifiable token object (`import-wrapping/<key id>/<nonce>`)
//!   that can only unwrap with RSA-OAEP (or, where the token has no OAEP with SHA-256,
//!   only decrypt raw RSA); the public half is a session object that is read once (DER
//!   SubjectPublicKeyInfo) and destroyed. An unwrapping wrapping key carries a
//!   CKA_UNWRAP_TEMPLATE: for RSAES_OAEP_* whatever it creates is sensitive and
//!   extractable only under a trusted key — which no holder of the user PIN can make — so
//!   someone holding the user PIN and a caller's wrapped blob still cannot read the
//!   material; for RSA_AES_KEY_WRAP_* it creates exactly the ephemeral AES key (that key's
//!   own template cannot be pinned: PKCS#11 templates do not nest). A raw-RSA wrapping key
//!   decrypts, which no template restricts (documented in the README).
//! - [`unwrap`]: unwraps the caller's wrapped material into the token as a sensitive,
//!   never-extractable object:
//!   - `RSAES_OAEP_SHA_1`: C_UnwrapKey with CKM_RSA_PKCS_OAEP (SHA-1) straight into the
//!     token;
//!   - `RSA_AES_KEY_WRAP_SHA_1`: C_UnwrapKey (OAEP SHA-1) of the ephemeral AES key into a
//!     session object, then C_UnwrapKey with CKM_AES_KEY_WRAP_PAD (RFC 5649) of the
//!     material under it;
//!   - the SHA-256 variants: SoftHSM 2.6.1 implements OAEP only with SHA-1, so unless the
//!     token's capabilities include OAEP-SHA-256, the RSA step is a raw RSA decryption
//!     (CKM_RSA_X_509) in the token and the OAEP decoding (SHA-256, MGF1-SHA-256, empty
//!     label) runs on the host ([`super::oaep`]); the recovered secret (the material, or
//!     the ephemeral AES key) lives only in zeroising buffers until C_CreateObject puts it
//!     into the token.
//! - [`check`]: the length of secret-key material is measured without reading it: the
//!   probe copy (sensitive, extractable only under a trusted key) is wrapped under the
//!   measuring key, a trusted wrap-only session key the Security Officer makes at every
//!   start, and the wrapped length tells the length to 8 bytes (SoftHSM pads before
//!   wrapping); HMAC keys are narrowed further by the HMAC mechanisms' minimum key sizes
//!   (exact for HMAC_256/384/512; HMAC_224 accepts 28 to 31 bytes). Key check values run
//!   inside the token and tell whether two tokens (or two
//!   imports) hold the same material without reading it: the AES-GCM tag of nothing
//!   (AES), the HMAC-SHA-1 of a fixed message (HMAC keys), a hash of the public key
//!   (private keys). A private key is unwrapped only with CKM_AES_KEY_WRAP_PAD, straight
//!   into a private key object: the token parses the PKCS#8, so the private key is never
//!   in host memory. Its public key is then derived from what the token reveals anyway
//!   (RSA: modulus and public exponent; EC: x(d·G) by ECDH with the base point, y by one
//!   signature that only one of the two candidate points verifies) and must verify a
//!   signature the token makes with the imported key.
//! - A PKCS#8 private key (ECC) wrapped with RSAES_OAEP_*, which the token cannot parse
//!   on an OAEP unwrap, goes through the token's transit key (a trusted session key the
//!   Security Officer makes at every start next to the measuring key): the OAEP step
//!   makes it a sensitive generic-secret session object (in the token with OAEP-SHA-1;
//!   with OAEP-SHA-256 raw RSA in the token and the decoding on the host in zeroising
//!   memory, as for secret-key material), the transit key wraps that with
//!   CKM_AES_KEY_WRAP_PAD and unwraps the result as the private key, so the token parses
//!   the PKCS#8. Its templates admit only that: it wraps only such carriers and unwraps
//!   only into sensitive, never-extractable private keys.
//!
//! What kind of object the material becomes is a [`MaterialKind`], chosen by the service
//! from the key spec.

pub mod check;
pub mod keys;
pub mod unwrap;
pub mod wrapping_key;

pub use super::algorithms::{MaterialKind, WrappingAlgorithm};
pub use super::errors::ImportError;
pub use check::public_key_check_value;
pub use keys::{
    IMPORT_TOKEN_KEY_LABEL, MEASURING_KEY_LABEL, TRANSIT_KEY_LABEL, WRAPPING_LABEL_PREFIX,
};
pub use unwrap::Unwrapped;
