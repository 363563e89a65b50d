//! Which PKCS#11 mechanism (and parameters) runs each algorithm, and what exactly the
//! token is given to sign: the only place that builds a [`Mechanism`] for the service's
//! algorithms.
//!
//! - Signing: CKM_RSA_PKCS over a DER DigestInfo, CKM_RSA_PKCS_PSS (MGF1 with the same
//!   hash, salt = hash length), CKM_ECDSA over a digest, CKM_EDDSA (pure Ed25519) over the
//!   message. Message hashing for RAW signing happens on the host (messages are not
//!   secret): SoftHSM 2.6.1 has no hash-and-sign ECDSA mechanisms.
//! - RSA-OAEP: the hash and MGF1 use the same function, empty label.
//! - HMAC: CKM_SHA*_HMAC; AES: CKM_AES_GCM with a 128-bit tag, CKM_AES_KEY_WRAP_PAD
//!   (RFC 5649) for wrapping.
//!
//! [`KeyRole::allowed`] is the other side of the same table: the mechanisms each kind of
//! key may run (CKA_ALLOWED_MECHANISMS, fixed when the object is created). A token refuses
//! any other mechanism with CKR_MECHANISM_INVALID, so a holder of the user PIN cannot use
//! AES material with AES-ECB (single-block decryption undoes key wrapping) or an RSA
//! decryption key with PKCS#1 v1.5 padding. Every call site of the service is in a list:
//! the operation files, the key check values and proofs of imports, the capability probes.

use cryptoki::error::Error as CkError;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};

use super::algorithms::{Curve, Hash, OaepHash, PairKind, PairUsage, SignScheme};

/// AES-GCM tag length.
const GCM_TAG_BITS: u64 = 128;

/// Key wrapping with AES (RFC 5649, with padding): key transport and imported material.
pub(crate) const AES_KEY_WRAP_PAD: Mechanism<'static> = Mechanism::AesKeyWrapPad;

/// RSA key-pair generation.
pub(crate) const RSA_PAIR_GENERATION: Mechanism<'static> = Mechanism::RsaPkcsKeyPairGen;

/// Raw RSA (no padding): the token step of host-side OAEP decoding.
pub(crate) const RSA_RAW: Mechanism<'static> = Mechanism::RsaX509;

fn hash_type(hash: Hash) -> MechanismType {
    match hash {
        Hash::Sha1 => MechanismType::SHA1,
        Hash::Sha224 => MechanismType::SHA224,
        Hash::Sha256 => MechanismType::SHA256,
        Hash::Sha384 => MechanismType::SHA384,
        Hash::Sha512 => MechanismType::SHA512,
    }
}

fn mgf1(hash: Hash) -> PkcsMgfType {
    match hash {
        Hash::Sha1 => PkcsMgfType::MGF1_SHA1,
        Hash::Sha224 => PkcsMgfType::MGF1_SHA224,
        Hash::Sha256 => PkcsMgfType::MGF1_SHA256,
        Hash::Sha384 => PkcsMgfType::MGF1_SHA384,
        Hash::Sha512 => PkcsMgfType::MGF1_SHA512,
    }
}

/// AES-GCM with a 96-bit IV, `aad` and a 128-bit tag.
pub(crate) fn aes_gcm<'a>(iv: &'a mut [u8; 12], aad: &'a [u8]) -> Result<Mechanism<'a>, CkError> {
    Ok(Mechanism::AesGcm(GcmParams::new(
        iv,
        aad,
        GCM_TAG_BITS.into(),
    )?))
}

/// RSA-OAEP with `hash` for the digest and MGF1, and an empty label.
pub(crate) fn oaep(hash: OaepHash) -> Mechanism<'static> {
    let hash = hash.hash();
    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
        hash_type(hash),
        mgf1(hash),
        PkcsOaepSource::empty(),
    ))
}

/// HMAC with `hash`.
pub(crate) fn hmac(hash: Hash) -> Mechanism<'static> {
    match hash {
        Hash::Sha1 => Mechanism::Sha1Hmac,
        Hash::Sha224 => Mechanism::Sha224Hmac,
        Hash::Sha256 => Mechanism::Sha256Hmac,
        Hash::Sha384 => Mechanism::Sha384Hmac,
        Hash::Sha512 => Mechanism::Sha512Hmac,
    }
}

/// The signing (and verification) mechanism of `scheme`.
pub(crate) fn sign(scheme: SignScheme) -> Mechanism<'static> {
    match scheme {
        SignScheme::RsaPkcs1(_) => Mechanism::RsaPkcs,
        SignScheme::RsaPss(hash) => Mechanism::RsaPkcsPss(PkcsPssParams {
            hash_alg: hash_type(hash),
            mgf: mgf1(hash),
            s_len: (hash.output_len() as u64).into(),
        }),
        SignScheme::Ecdsa(_) => Mechanism::Ecdsa,
        SignScheme::Ed25519 => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
    }
}

/// CKM_EDDSA asked for Ed25519ph (empty context): only the startup capability probe uses
/// it, to learn whether the token honours the parameters.
pub(crate) fn ed25519ph() -> Mechanism<'static> {
    Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Ed25519ph(&[])))
}

/// What the token's mechanism signs for `scheme` given `input` (a digest, or the message
/// for Ed25519): CKM_RSA_PKCS signs a DER DigestInfo, every other mechanism the input.
pub(crate) fn sign_input(scheme: SignScheme, input: &[u8]) -> Vec<u8> {
    match scheme {
        SignScheme::RsaPkcs1(hash) => {
            let mut data = digest_info_prefix(hash).to_vec();
            data.extend_from_slice(input);
            data
        }
        _ => input.to_vec(),
    }
}

/// The DER DigestInfo prefix of PKCS#1 v1.5 signatures (the `rsa` crate's encoding).
fn digest_info_prefix(hash: Hash) -> Box<[u8]> {
    use rsa::Pkcs1v15Sign;
    match hash {
        Hash::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>().prefix,
        Hash::Sha224 => Pkcs1v15Sign::new::<sha2::Sha224>().prefix,
        Hash::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>().prefix,
        Hash::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>().prefix,
        Hash::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>().prefix,
    }
}

/// What a key is for, and so which mechanisms it may run ([`KeyRole::allowed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRole {
    /// AES material: Encrypt/Decrypt and its key check value (AES-GCM). Wrapping it for
    /// another token is checked against the wrapping key's list, not this one.
    AesMaterial,
    /// HMAC material of `len` bytes: its MAC algorithm, and HMAC-SHA-1 for the key check
    /// value of imports.
    HmacMaterial { len: usize },
    /// The probe copy of imported HMAC material: the key check value and the length
    /// checks (each HMAC mechanism refuses keys shorter than its hash).
    HmacProbe,
    /// The private key of a KMS key pair; `raw_rsa`: the token lacks OAEP with SHA-256, so
    /// RSA decryption with SHA-256 runs as raw RSA with OAEP decoded on the host.
    PrivateKey {
        kind: PairKind,
        usage: PairUsage,
        raw_rsa: bool,
    },
    /// The probe copy of an imported private key: one proof signature, and for EC the
    /// public point's x coordinate by ECDH with the base point.
    PrivateKeyProbe(PairKind),
    /// A public key objects verify signatures with (RSA: both padding schemes).
    VerifyingKey(PairKind),
    /// Key-encryption keys, the ephemeral key of RSA_AES_KEY_WRAP, throwaway and measuring
    /// keys: RFC 5649 key wrap only.
    KeyWrap,
    /// The transport key pairs and the in-token import wrapping keys: RSA-OAEP only.
    RsaOaep,
    /// Import wrapping keys where OAEP is decoded on the host: raw RSA only.
    RsaRaw,
}

impl KeyRole {
    /// The mechanisms a key of this role may run (never empty for a role that runs
    /// anything; empty means "set no list": RSA key agreement does not exist).
    pub(crate) fn allowed(self) -> Vec<MechanismType> {
        use MechanismType as M;
        let hmac = |hash: Hash| hmac(hash).mechanism_type();
        match self {
            KeyRole::AesMaterial => vec![M::AES_GCM],
            KeyRole::HmacMaterial { len } => {
                let own = [Hash::Sha224, Hash::Sha256, Hash::Sha384, Hash::Sha512]
                    .into_iter()
                    .filter(|h| h.output_len() == len)
                    .map(hmac);
                let mut list = vec![M::SHA1_HMAC];
                list.extend(own);
                list
            }
            KeyRole::HmacProbe => vec![
                M::SHA1_HMAC,
                M::SHA224_HMAC,
                M::SHA256_HMAC,
                M::SHA384_HMAC,
                M::SHA512_HMAC,
            ],
            KeyRole::PrivateKey {
                kind,
                usage,
                raw_rsa,
            } => match (kind, usage) {
                (PairKind::Rsa(_), PairUsage::Sign) => vec![M::RSA_PKCS, M::RSA_PKCS_PSS],
                (PairKind::Rsa(_), PairUsage::Decrypt) if raw_rsa => {
                    vec![M::RSA_PKCS_OAEP, M::RSA_X_509]
                }
                (PairKind::Rsa(_), PairUsage::Decrypt) => vec![M::RSA_PKCS_OAEP],
                (PairKind::Ec(Curve::Ed25519), PairUsage::Sign) => vec![M::EDDSA],
                (PairKind::Ec(_), PairUsage::Sign) => vec![M::ECDSA],
                (PairKind::Ec(_), PairUsage::Derive) => vec![M::ECDH1_DERIVE],
                _ => Vec::new(),
            },
            KeyRole::PrivateKeyProbe(PairKind::Rsa(_)) => vec![M::RSA_PKCS],
            KeyRole::PrivateKeyProbe(PairKind::Ec(Curve::Ed25519)) => vec![M::EDDSA],
            KeyRole::PrivateKeyProbe(PairKind::Ec(_)) => vec![M::ECDSA, M::ECDH1_DERIVE],
            KeyRole::VerifyingKey(PairKind::Rsa(_)) => vec![M::RSA_PKCS, M::RSA_PKCS_PSS],
            KeyRole::VerifyingKey(PairKind::Ec(Curve::Ed25519)) => vec![M::EDDSA],
            KeyRole::VerifyingKey(PairKind::Ec(_)) => vec![M::ECDSA],
            KeyRole::KeyWrap => vec![M::AES_KEY_WRAP_PAD],
            KeyRole::RsaOaep => vec![M::RSA_PKCS_OAEP],
            KeyRole::RsaRaw => vec![M::RSA_X_509],
        }
    }
}

/// The key-pair generation mechanism of `kind`.
pub(crate) fn pair_generation(kind: PairKind) -> Mechanism<'static> {
    match kind {
        PairKind::Rsa(_) => RSA_PAIR_GENERATION,
        PairKind::Ec(Curve::Ed25519) => Mechanism::EccEdwardsKeyPairGen,
        PairKind::Ec(_) => Mechanism::EccKeyPairGen,
    }
}

/// ECDH (CKM_ECDH1_DERIVE, no KDF) with the peer's public point (SEC1 uncompressed).
pub(crate) fn ecdh(peer_point: &[u8]) -> Mechanism<'_> {
    Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(EcKdf::null(), peer_point))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mechanism_the_service_runs_is_in_its_keys_list() {
        use MechanismType as M;
        // Signing schemes against the private keys and public keys that run them.
        for (scheme, kind) in [
            (SignScheme::RsaPkcs1(Hash::Sha256), PairKind::Rsa(2048)),
            (SignScheme::RsaPss(Hash::Sha384), PairKind::Rsa(3072)),
            (SignScheme::Ecdsa(Curve::P256), PairKind::Ec(Curve::P256)),
            (SignScheme::Ed25519, PairKind::Ec(Curve::Ed25519)),
        ] {
            let m = sign(scheme).mechanism_type();
            let private = KeyRole::PrivateKey {
                kind,
                usage: PairUsage::Sign,
                raw_rsa: false,
            };
            assert!(private.allowed().contains(&m), "{scheme:?}");
            assert!(
                KeyRole::VerifyingKey(kind).allowed().contains(&m),
                "{scheme:?}"
            );
        }
        // RSA decryption: OAEP always, raw RSA only where OAEP-SHA-256 is decoded on the host.
        let decrypt = |raw_rsa| KeyRole::PrivateKey {
            kind: PairKind::Rsa(2048),
            usage: PairUsage::Decrypt,
            raw_rsa,
        };
        assert_eq!(decrypt(false).allowed(), vec![M::RSA_PKCS_OAEP]);
        assert_eq!(
            decrypt(true).allowed(),
            vec![M::RSA_PKCS_OAEP, M::RSA_X_509]
        );
        assert!(!decrypt(true).allowed().contains(&M::RSA_PKCS));
        // HMAC keys: their own hash and the SHA-1 check value, nothing else.
        assert_eq!(
            KeyRole::HmacMaterial { len: 28 }.allowed(),
            vec![M::SHA1_HMAC, M::SHA224_HMAC]
        );
        assert_eq!(
            KeyRole::HmacMaterial { len: 64 }.allowed(),
            vec![M::SHA1_HMAC, M::SHA512_HMAC]
        );
        // AES material: GCM only (no ECB, no CBC, no key derivation).
        assert_eq!(KeyRole::AesMaterial.allowed(), vec![M::AES_GCM]);
        let key_agreement = KeyRole::PrivateKey {
            kind: PairKind::Ec(Curve::P384),
            usage: PairUsage::Derive,
            raw_rsa: false,
        };
        assert_eq!(key_agreement.allowed(), vec![M::ECDH1_DERIVE]);
        // The import proofs: the signature scheme check.rs uses, and ECDH with G.
        assert!(KeyRole::PrivateKeyProbe(PairKind::Rsa(2048))
            .allowed()
            .contains(&sign(SignScheme::RsaPkcs1(Hash::Sha256)).mechanism_type()));
        assert!(KeyRole::PrivateKeyProbe(PairKind::Ec(Curve::P256))
            .allowed()
            .contains(&M::ECDH1_DERIVE));
    }

    #[test]
    fn pkcs1_signatures_sign_a_digest_info() {
        let digest = [0xabu8; 32];
        let data = sign_input(SignScheme::RsaPkcs1(Hash::Sha256), &digest);
        // SEQUENCE { SEQUENCE { sha256 OID, NULL }, OCTET STRING (32) }
        assert_eq!(
            &data[..19],
            &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20
            ]
        );
        assert_eq!(&data[19..], &digest);
        assert_eq!(
            sign_input(SignScheme::RsaPss(Hash::Sha256), &digest),
            digest
        );
    }

    #[test]
    fn every_hash_has_a_digest_info_of_its_length() {
        for hash in [
            Hash::Sha1,
            Hash::Sha224,
            Hash::Sha256,
            Hash::Sha384,
            Hash::Sha512,
        ] {
            let prefix = digest_info_prefix(hash);
            assert_eq!(
                prefix[prefix.len() - 1] as usize,
                hash.output_len(),
                "{hash:?}"
            );
            assert_eq!(
                prefix[1] as usize,
                prefix.len() - 2 + hash.output_len(),
                "{hash:?}"
            );
        }
    }
}
