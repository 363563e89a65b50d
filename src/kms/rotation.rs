//! Key rotation: new material generated inside the token of the key's Region (for a
//! multi-Region key, the primary's), copied to every replica's token, and only then made
//! current in every related key at once, so no Region ever encrypts under material another
//! Region cannot decrypt. Old material stays in the tokens: old ciphertexts keep
//! decrypting. Automatic rotation happens when the server clock passes NextRotationDate.

use super::error::{KmsError, KmsResult};
use super::ids::KeyId;
use super::model::{new_material_id, KeyRecord, KeySpec, KeyState, MaterialRecord, Origin};
use super::region::Region;
use super::{multi_region, Kms};
use crate::hsm::token::Extractability;
use crate::store::{JobKind, JobRecord, Write};

pub const DAY: f64 = 86_400.0;
pub const AUTOMATIC: &str = "AUTOMATIC";
pub const ON_DEMAND: &str = "ON_DEMAND";

/// The job id of a key's rotation.
pub fn job_id(key_id: &KeyId) -> String {
    format!("rotate/{key_id}")
}

/// Rotation is for symmetric encryption keys only (AWS refuses it for HMAC and
/// asymmetric keys with an empty UnsupportedOperationException).
pub fn require_rotatable(key: &KeyRecord) -> KmsResult<()> {
    if key.key_spec != KeySpec::SymmetricDefault {
        return Err(KmsError::unsupported(""));
    }
    Ok(())
}

/// Rotation settings are changed on the primary only.
pub fn require_not_replica(key: &KeyRecord) -> KmsResult<()> {
    if key.multi_region == Some(super::model::MultiRegionRole::Replica) {
        return Err(KmsError::unsupported(format!(
            "{} is a multi-Region replica key. Rotation settings can only be changed on its primary key.",
            key.arn()
        )));
    }
    Ok(())
}

/// The job that rotates `key` (the primary, for a multi-Region key).
pub fn rotation_job(key: &KeyRecord, rotation_type: &str, due: f64) -> JobRecord {
    JobRecord {
        id: job_id(&key.key_id),
        due,
        kind: JobKind::RotateKey {
            region: key.region,
            key_id: key.key_id.clone(),
            material_id: new_material_id(),
            rotation_type: rotation_type.to_string(),
        },
    }
}

/// Enqueues automatic rotations whose date has passed (called by the job runner).
pub fn schedule_due(kms: &Kms) -> KmsResult<()> {
    let now = kms.clock.now();
    let due: Vec<KeyRecord> = {
        let state = kms.state();
        state
            .keys
            .values()
            .flat_map(|m| m.values())
            .filter(|k| {
                k.rotation_enabled
                    && k.state == KeyState::Enabled
                    && k.origin == Origin::AwsKms
                    && k.next_rotation.is_some_and(|t| t <= now)
                    && k.multi_region != Some(super::model::MultiRegionRole::Replica)
                    && !state.jobs.contains_key(&job_id(&k.key_id))
            })
            .map(|k| (**k).clone())
            .collect()
    };
    for key in due {
        let _guard = kms.write_guard();
        if kms.state().jobs.contains_key(&job_id(&key.key_id)) {
            continue;
        }
        kms.commit(vec![Write::PutJob(rotation_job(&key, AUTOMATIC, now))])?;
    }
    Ok(())
}

/// Runs a rotation job. Idempotent: material already generated or copied is kept.
pub fn run(
    kms: &Kms,
    job: &JobRecord,
    region: Region,
    key_id: &KeyId,
    material_id: &str,
    rotation_type: &str,
) -> KmsResult<()> {
    let Some(key) = kms.get_key(region, key_id) else {
        return kms.commit(vec![Write::DeleteJob { id: job.id.clone() }]);
    };
    let material = MaterialRecord {
        id: material_id.to_string(),
        created: kms.clock.now(),
        rotation_type: Some(rotation_type.to_string()),
        public_key: None,
    };
    let label = material.token_label(key_id);
    let token = kms.token(region)?;
    if !token.has_object(&label) {
        let extract = if key.multi_region.is_some() {
            Extractability::WrappedUnderTrustedKey
        } else {
            Extractability::Never
        };
        token
            .generate_aes256(&label, extract)
            .map_err(Kms::hsm_error)?;
    }
    for replica in multi_region::related(kms, key_id) {
        if replica.region != region {
            kms.hsm()
                .replicate_material(region, replica.region, &label)
                .map_err(Kms::hsm_error)?;
        }
    }
    let _guard = kms.write_guard();
    let now = kms.clock.now();
    let mut batch = vec![Write::DeleteJob { id: job.id.clone() }];
    for k in multi_region::related(kms, key_id) {
        let mut k = (*k).clone();
        if k.material(material_id).is_none() {
            k.materials.push(material.clone());
        }
        k.rotation_started = None;
        if rotation_type == AUTOMATIC {
            k.next_rotation = k
                .rotation_period_days
                .filter(|_| k.rotation_enabled)
                .map(|d| now + f64::from(d) * DAY);
        } else {
            k.on_demand_rotations = k.on_demand_rotations.saturating_add(1);
        }
        batch.push(Write::PutKey(k));
    }
    kms.commit(batch)?;
    tracing::info!(%region, key = %key_id, rotation_type, "rotated key material");
    Ok(())
}
