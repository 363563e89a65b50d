//! Key material wrapped as an outside user wraps it for ImportKeyMaterial — with the
//! `rsa` crate (RSA-OAEP, SHA-1 or SHA-256) and the `aes-kw` crate (RFC 5649 key wrap with
//! padding) — never with the server's code.

use aes_kw::KekAes256;
use rsa::pkcs8::DecodePublicKey;
use rsa::rand_core::{OsRng, RngCore};
use rsa::{Oaep, RsaPublicKey};

/// RSA-OAEP encryption (empty label, MGF1 with the same hash).
pub fn oaep_encrypt(public: &RsaPublicKey, sha256: bool, data: &[u8]) -> Vec<u8> {
    let padding = if sha256 {
        Oaep::new::<sha2::Sha256>()
    } else {
        Oaep::new::<sha1::Sha1>()
    };
    public
        .encrypt(&mut OsRng, padding, data)
        .expect("RSA-OAEP encryption")
}

/// Wraps `material` under the DER SubjectPublicKeyInfo `public_der` with `algorithm`, as
/// the AWS guide describes it (RSA_AES_KEY_WRAP: RSA-OAEP of a fresh AES-256 key, then
/// that key's RFC 5649 wrap of the material, concatenated).
pub fn wrap(public_der: &[u8], algorithm: &str, material: &[u8]) -> Vec<u8> {
    let public = RsaPublicKey::from_public_key_der(public_der).expect("DER SubjectPublicKeyInfo");
    match algorithm {
        "RSAES_OAEP_SHA_1" => oaep_encrypt(&public, false, material),
        "RSAES_OAEP_SHA_256" => oaep_encrypt(&public, true, material),
        "RSA_AES_KEY_WRAP_SHA_1" | "RSA_AES_KEY_WRAP_SHA_256" => {
            let mut aes = [0u8; 32];
            OsRng.fill_bytes(&mut aes);
            let mut out = oaep_encrypt(&public, algorithm.ends_with("256"), &aes);
            let kek = KekAes256::from(aes);
            out.extend(kek.wrap_with_padding_vec(material).expect("RFC 5649 wrap"));
            out
        }
        other => panic!("no such algorithm {other}"),
    }
}
