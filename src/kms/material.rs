//! Key material creation: the one place that decides which token object a new KMS key's
//! material is, by key spec. The material is generated inside the Region's token.

use super::asymmetric;
use super::error::{KmsError, KmsResult};
use super::service::Kms;
use crate::domain::ids::KeyId;
use crate::domain::key::{new_material_id, KeySpec, KeyUsage, MaterialRecord};
use crate::domain::region::Region;
use crate::hsm::Extractability;

/// Generates new material of `spec` for `key_id` in `region`'s token, usable for `usage`
/// only (a key pair's private key signs, decrypts or derives, never more than one).
pub fn generate_for_usage(
    kms: &Kms,
    region: Region,
    key_id: &KeyId,
    spec: KeySpec,
    usage: KeyUsage,
    extractability: Extractability,
) -> KmsResult<MaterialRecord> {
    let mut material = MaterialRecord {
        id: new_material_id(),
        created: kms.clock.now(),
        rotation_type: None,
        public_key: None,
    };
    let label = material.token_label(key_id);
    let token = kms.token(region)?;
    match spec {
        KeySpec::SymmetricDefault => {
            token
                .generate_aes256(&label, extractability)
                .map_err(Kms::hsm_error)?;
            // The session copy crypto runs with, made now rather than on first use.
            if let Err(e) = token.warm(&label) {
                tracing::debug!(%label, "no session copy yet: {e}");
            }
        }
        spec if asymmetric::hmac_len(spec).is_some() => {
            let len = asymmetric::hmac_len(spec).unwrap_or(32);
            token
                .generate_hmac_material(&label, len, extractability)
                .map_err(|e| {
                    asymmetric::token_error(
                        e,
                        region,
                        &format!(
                            "generate a {} key (CKM_GENERIC_SECRET_KEY_GEN)",
                            spec.as_str()
                        ),
                    )
                })?
        }
        KeySpec::EccNistEdwards25519
            if extractability == Extractability::WrappedUnderTrustedKey =>
        {
            // Measured: SoftHSM 2.6.1 answers C_WrapKey of an EdDSA private key with
            // CKR_KEY_NOT_WRAPPABLE, so such a key could never reach a replica's token.
            return Err(KmsError::unsupported(
                "ECC_NIST_EDWARDS25519 keys cannot be multi-Region in hsm-kms: the token \
                 cannot wrap an EdDSA private key (C_WrapKey with CKM_AES_KEY_WRAP_PAD \
                 returns CKR_KEY_NOT_WRAPPABLE on SoftHSM 2.6.1), and key material travels \
                 between Regions only wrapped.",
            ));
        }
        spec if asymmetric::pair_kind(spec).is_some() => {
            let kind = asymmetric::pair_kind(spec).ok_or_else(|| KmsError::internal("no kind"))?;
            material.public_key = Some(asymmetric::generate_pair(
                token,
                &label,
                spec,
                kind,
                usage,
                extractability,
            )?);
        }
        other => {
            return Err(KmsError::unsupported(format!(
                "KeySpec {} is not supported by hsm-kms yet.",
                other.as_str()
            )))
        }
    }
    Ok(material)
}
