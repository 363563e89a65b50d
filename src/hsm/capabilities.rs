//! What a Region's token can do, probed once when the token is opened and kept with it
//! ([`super::token::RegionToken::capabilities`]).
//!
//! Only the mechanisms the service uses are asked about, one C_GetMechanismInfo each
//! (C_GetMechanismList would also return vendor mechanisms that the PKCS#11 binding does
//! not know, and it logs an error for every one). Two abilities cannot be read from the
//! mechanism list and are tried with throwaway session objects:
//! - RSA-OAEP with SHA-256: SoftHSM 2.6.1 lists CKM_RSA_PKCS_OAEP but accepts only SHA-1
//!   (CKR_ARGUMENTS_BAD otherwise); without it the token decrypts raw RSA and the OAEP
//!   decoding runs on the host ([`super::oaep`]);
//! - Ed25519ph: SoftHSM 2.6.1 ignores CKM_EDDSA's parameters and always signs pure
//!   Ed25519, so a pre-hashed signature is indistinguishable from a pure one (the service
//!   refuses ED25519_PH_SHA_512).
//!
//! What the token lacks is logged as one INFO line per Region.

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::session::Session;
use cryptoki::slot::Slot;

use super::algorithms::OaepHash;
use super::mechanisms;
use super::templates;
use crate::domain::region::Region;

/// The mechanisms the service uses, with what each is for (named in the capability line
/// when missing).
const USED: &[(MechanismType, &str)] = &[
    (
        MechanismType::AES_KEY_GEN,
        "CKM_AES_KEY_GEN (symmetric keys)",
    ),
    (MechanismType::AES_GCM, "CKM_AES_GCM (Encrypt, Decrypt)"),
    (
        MechanismType::AES_KEY_WRAP_PAD,
        "CKM_AES_KEY_WRAP_PAD (multi-Region keys, import)",
    ),
    (
        MechanismType::RSA_PKCS_KEY_PAIR_GEN,
        "CKM_RSA_PKCS_KEY_PAIR_GEN (RSA keys)",
    ),
    (
        MechanismType::RSA_PKCS,
        "CKM_RSA_PKCS (RSASSA_PKCS1_V1_5 signing)",
    ),
    (
        MechanismType::RSA_PKCS_PSS,
        "CKM_RSA_PKCS_PSS (RSASSA_PSS signing)",
    ),
    (
        MechanismType::RSA_PKCS_OAEP,
        "CKM_RSA_PKCS_OAEP (RSA decryption, import)",
    ),
    (
        MechanismType::RSA_X_509,
        "CKM_RSA_X_509 (host-side OAEP decoding)",
    ),
    (
        MechanismType::ECC_KEY_PAIR_GEN,
        "CKM_EC_KEY_PAIR_GEN (ECC keys)",
    ),
    (MechanismType::ECDSA, "CKM_ECDSA (ECDSA signing)"),
    (
        MechanismType::ECDH1_DERIVE,
        "CKM_ECDH1_DERIVE (DeriveSharedSecret)",
    ),
    (
        MechanismType::ECC_EDWARDS_KEY_PAIR_GEN,
        "CKM_EC_EDWARDS_KEY_PAIR_GEN (Ed25519 keys)",
    ),
    (MechanismType::EDDSA, "CKM_EDDSA (Ed25519 signing)"),
    (
        MechanismType::GENERIC_SECRET_KEY_GEN,
        "CKM_GENERIC_SECRET_KEY_GEN (HMAC keys)",
    ),
    (
        MechanismType::SHA1_HMAC,
        "CKM_SHA_1_HMAC (key check values)",
    ),
    (MechanismType::SHA224_HMAC, "CKM_SHA224_HMAC (HMAC_SHA_224)"),
    (MechanismType::SHA256_HMAC, "CKM_SHA256_HMAC (HMAC_SHA_256)"),
    (MechanismType::SHA384_HMAC, "CKM_SHA384_HMAC (HMAC_SHA_384)"),
    (MechanismType::SHA512_HMAC, "CKM_SHA512_HMAC (HMAC_SHA_512)"),
];

/// What a token can do, as far as the service cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// CKM_RSA_PKCS_OAEP accepts SHA-256/MGF1-SHA-256 (not on SoftHSM 2.6.1).
    pub oaep_sha256: bool,
    /// CKM_AES_KEY_WRAP_PAD (RFC 5649) is offered.
    pub aes_key_wrap_pad: bool,
    /// CKM_RSA_X_509 (raw RSA) is offered.
    pub rsa_x509: bool,
    /// CKM_EDDSA honours the Ed25519ph parameters (not on SoftHSM 2.6.1).
    pub ed25519ph: bool,
    /// The used mechanisms the token does not offer (their descriptions).
    pub missing_mechanisms: Vec<&'static str>,
}

impl Capabilities {
    /// Probes the token in `slot` with the logged-in `session` (startup only: it creates
    /// and destroys session objects, so nothing else may create objects meanwhile).
    pub(crate) fn probe(pkcs11: &Pkcs11, slot: Slot, session: &Session) -> Capabilities {
        let offered = |m: MechanismType| pkcs11.get_mechanism_info(slot, m).is_ok();
        let missing_mechanisms: Vec<&'static str> = USED
            .iter()
            .filter(|(m, _)| !offered(*m))
            .map(|(_, what)| *what)
            .collect();
        let has = |m: MechanismType| offered(m);
        Capabilities {
            oaep_sha256: has(MechanismType::RSA_PKCS_OAEP) && probe_oaep_sha256(session),
            aes_key_wrap_pad: has(MechanismType::AES_KEY_WRAP_PAD),
            rsa_x509: has(MechanismType::RSA_X_509),
            ed25519ph: has(MechanismType::EDDSA)
                && has(MechanismType::ECC_EDWARDS_KEY_PAIR_GEN)
                && probe_ed25519ph(session),
            missing_mechanisms,
        }
    }

    /// What the token lacks, in words; empty when it lacks nothing.
    pub fn lacks(&self) -> Vec<&'static str> {
        let mut out = self.missing_mechanisms.clone();
        if !self.oaep_sha256 {
            out.push("RSA-OAEP with SHA-256 in the token (decoded on the host instead)");
        }
        if !self.ed25519ph {
            out.push("Ed25519ph (ED25519_PH_SHA_512 is refused)");
        }
        out
    }

    /// Logs the one INFO line that says what the token of `region` lacks.
    pub(crate) fn log(&self, region: Region) {
        let lacks = self.lacks();
        let lacks = if lacks.is_empty() {
            "nothing".to_string()
        } else {
            lacks.join("; ")
        };
        tracing::info!(%region, lacks = ?lacks, "token capabilities");
    }
}

/// Whether CKM_RSA_PKCS_OAEP accepts SHA-256: encrypts one byte with OAEP-SHA-256 under a
/// throwaway public-key session object.
fn probe_oaep_sha256(s: &Session) -> bool {
    let Ok(key) = s.create_object(&templates::oaep_probe_public_key()) else {
        return false;
    };
    let ok = s
        .encrypt(&mechanisms::oaep(OaepHash::Sha256), key, &[0u8])
        .is_ok();
    let _ = s.destroy_object(key);
    ok
}

/// Whether CKM_EDDSA honours Ed25519ph: Ed25519 signatures are deterministic, so a token
/// that ignores the parameters returns the pure signature for the pre-hashed request.
fn probe_ed25519ph(s: &Session) -> bool {
    let (public, private) = templates::ed25519_probe_pair();
    let Ok((public, private)) =
        s.generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public, &private)
    else {
        return false;
    };
    let message = b"hsm-kms Ed25519ph probe";
    let pure = s.sign(
        &mechanisms::sign(super::algorithms::SignScheme::Ed25519),
        private,
        message,
    );
    let prehashed = s.sign(&mechanisms::ed25519ph(), private, message);
    let _ = s.destroy_object(public);
    let _ = s.destroy_object(private);
    matches!((pure, prehashed), (Ok(p), Ok(h)) if p != h)
}
