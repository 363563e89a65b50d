//! Key material creation: the one place that decides which token object a new KMS key's
//! material is, by key spec. The material is generated inside the Region's token.

use super::error::{KmsError, KmsResult};
use super::ids::KeyId;
use super::model::{new_material_id, KeySpec, MaterialRecord};
use super::region::Region;
use super::Kms;
use crate::hsm::token::Extractability;

/// Generates new material of `spec` for `key_id` in `region`'s token.
pub fn generate(
    kms: &Kms,
    region: Region,
    key_id: &KeyId,
    spec: KeySpec,
    extractability: Extractability,
) -> KmsResult<MaterialRecord> {
    let material = MaterialRecord {
        id: new_material_id(),
        created: kms.clock.now(),
        rotation_type: None,
    };
    let label = material.token_label(key_id);
    let token = kms.token(region)?;
    match spec {
        KeySpec::SymmetricDefault => token
            .generate_aes256(&label, extractability)
            .map_err(Kms::hsm_error)?,
        other => {
            return Err(KmsError::unsupported(format!(
                "KeySpec {} is not supported by hsm-kms yet.",
                other.as_str()
            )))
        }
    }
    Ok(material)
}
