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

use cryptoki::error::Error as CkError;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};

use super::algorithms::{Curve, Hash, OaepHash, PairKind, SignScheme};

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
