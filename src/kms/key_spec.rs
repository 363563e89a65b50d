//! The key-spec table: which KeyUsage each KeySpec allows, and the algorithms DescribeKey
//! lists for each (spec, usage) pair. CreateKey and the crypto operations read it; nothing
//! else decides these combinations.

use crate::domain::key::{KeySpec, KeyUsage};

/// One row: a key spec, the usages it allows, and the algorithms for each usage.
pub struct SpecRule {
    pub spec: KeySpec,
    pub usages: &'static [KeyUsage],
    pub encryption: &'static [&'static str],
    pub signing: &'static [&'static str],
    pub mac: &'static [&'static str],
    pub agreement: &'static [&'static str],
}

use KeySpec as S;
use KeyUsage::{
    EncryptDecrypt as ED, GenerateVerifyMac as MAC, KeyAgreement as KA, SignVerify as SV,
};

const NONE: &[&str] = &[];
const RSA_ENC: &[&str] = &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"];
const RSA_SIGN: &[&str] = &[
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
];
const ECDH: &[&str] = &["ECDH"];

const fn row(
    spec: KeySpec,
    usages: &'static [KeyUsage],
    encryption: &'static [&'static str],
    signing: &'static [&'static str],
    mac: &'static [&'static str],
    agreement: &'static [&'static str],
) -> SpecRule {
    SpecRule {
        spec,
        usages,
        encryption,
        signing,
        mac,
        agreement,
    }
}

#[rustfmt::skip]
pub const TABLE: &[SpecRule] = &[
    row(S::SymmetricDefault, &[ED], &["SYMMETRIC_DEFAULT"], NONE, NONE, NONE),
    row(S::Rsa2048, &[ED, SV], RSA_ENC, RSA_SIGN, NONE, NONE),
    row(S::Rsa3072, &[ED, SV], RSA_ENC, RSA_SIGN, NONE, NONE),
    row(S::Rsa4096, &[ED, SV], RSA_ENC, RSA_SIGN, NONE, NONE),
    row(S::EccNistP256, &[SV, KA], NONE, &["ECDSA_SHA_256"], NONE, ECDH),
    row(S::EccNistP384, &[SV, KA], NONE, &["ECDSA_SHA_384"], NONE, ECDH),
    row(S::EccNistP521, &[SV, KA], NONE, &["ECDSA_SHA_512"], NONE, ECDH),
    row(S::EccSecgP256k1, &[SV], NONE, &["ECDSA_SHA_256"], NONE, NONE),
    row(S::EccNistEdwards25519, &[SV], NONE, &["ED25519_SHA_512", "ED25519_PH_SHA_512"], NONE, NONE),
    row(S::Hmac224, &[MAC], NONE, NONE, &["HMAC_SHA_224"], NONE),
    row(S::Hmac256, &[MAC], NONE, NONE, &["HMAC_SHA_256"], NONE),
    row(S::Hmac384, &[MAC], NONE, NONE, &["HMAC_SHA_384"], NONE),
    row(S::Hmac512, &[MAC], NONE, NONE, &["HMAC_SHA_512"], NONE),
    row(S::Sm2, &[ED, SV, KA], &["SM2PKE"], &["SM2DSA"], NONE, ECDH),
    row(S::MlDsa44, &[SV], NONE, &["ML_DSA_SHAKE_256"], NONE, NONE),
    row(S::MlDsa65, &[SV], NONE, &["ML_DSA_SHAKE_256"], NONE, NONE),
    row(S::MlDsa87, &[SV], NONE, &["ML_DSA_SHAKE_256"], NONE, NONE),
];

/// The row of a key spec.
pub fn rule(spec: KeySpec) -> &'static SpecRule {
    TABLE.iter().find(|r| r.spec == spec).unwrap_or(&TABLE[0])
}

/// Whether `usage` is valid for `spec`.
pub fn allows(spec: KeySpec, usage: KeyUsage) -> bool {
    rule(spec).usages.contains(&usage)
}

/// The algorithm lists DescribeKey shows for a key: (member name, algorithms).
pub fn algorithm_members(
    spec: KeySpec,
    usage: KeyUsage,
) -> Option<(&'static str, &'static [&'static str])> {
    let r = rule(spec);
    match usage {
        ED => Some(("EncryptionAlgorithms", r.encryption)),
        SV => Some(("SigningAlgorithms", r.signing)),
        MAC => Some(("MacAlgorithms", r.mac)),
        KA => Some(("KeyAgreementAlgorithms", r.agreement)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_has_one_row() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert_ne!(a.spec, b.spec);
            }
        }
        assert_eq!(TABLE.len(), 17);
    }

    #[test]
    fn symmetric_keys_only_encrypt() {
        assert!(allows(KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt));
        assert!(!allows(KeySpec::SymmetricDefault, KeyUsage::SignVerify));
        assert_eq!(
            algorithm_members(KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt),
            Some(("EncryptionAlgorithms", &["SYMMETRIC_DEFAULT"][..]))
        );
    }

    #[test]
    fn hmac_and_ecc_rows_match_aws() {
        assert_eq!(
            algorithm_members(KeySpec::Hmac384, KeyUsage::GenerateVerifyMac),
            Some(("MacAlgorithms", &["HMAC_SHA_384"][..]))
        );
        assert!(allows(KeySpec::EccNistP384, KeyUsage::KeyAgreement));
        assert!(!allows(KeySpec::EccSecgP256k1, KeyUsage::KeyAgreement));
        assert!(!allows(KeySpec::Rsa2048, KeyUsage::KeyAgreement));
    }
}
