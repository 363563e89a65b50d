//! Key rotation: new material generated inside the token of the key's Region (for a
//! multi-Region key, the primary's), copied to every replica's token, and only then made
//! current in every related key at once, so no Region ever encrypts under material another
//! Region cannot decrypt. Old material stays in the tokens: old ciphertexts keep
//! decrypting. Automatic rotation happens when the server clock passes NextRotationDate.
//!
//! Keys with imported material (Origin EXTERNAL) rotate on demand only, to material the
//! user imported for it (ImportType NEW_KEY_MATERIAL, pending rotation until then; for a
//! multi-Region key imported into every related key): nothing is generated or copied,
//! the pending material becomes current in every related key in one commit.

use super::error::{ErrorKind, KmsError, KmsResult};
use super::multi_region;
use super::service::Kms;
use crate::domain::ids::KeyId;
use crate::domain::job::{JobKind, JobRecord};
use crate::domain::key::{new_material_id, KeyRecord, KeySpec, KeyState, MaterialRecord, Origin};
use crate::domain::region::Region;
use crate::domain::time::Timestamp;
use crate::domain::write::Write;
use crate::hsm::Extractability;

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
        return Err(KmsError::without_message(ErrorKind::UnsupportedOperation));
    }
    Ok(())
}

/// Rotation settings are changed on the primary only.
pub fn require_not_replica(key: &KeyRecord) -> KmsResult<()> {
    if key.multi_region == Some(crate::domain::key::MultiRegionRole::Replica) {
        return Err(KmsError::unsupported(format!(
            "{} is a multi-Region replica key. Rotation settings can only be changed on its primary key.",
            key.arn()
        )));
    }
    Ok(())
}

/// The job that rotates `key` (the primary, for a multi-Region key).
pub fn rotation_job(key: &KeyRecord, rotation_type: &str, due: Timestamp) -> JobRecord {
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
                    && k.multi_region != Some(crate::domain::key::MultiRegionRole::Replica)
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
    if key.origin == Origin::External {
        return run_imported(kms, job, &key, material_id, rotation_type);
    }
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
                .map(|d| now.plus_days(d));
        } else {
            k.on_demand_rotations = k.on_demand_rotations.saturating_add(1);
        }
        batch.push(Write::PutKey(k));
    }
    kms.commit(batch)?;
    tracing::info!(%region, key = %key_id, rotation_type, "rotated key material");
    Ok(())
}

/// Rotates a key with imported material: the material imported for rotation (already in
/// every related key's token, each Region imported it itself) becomes current in every
/// related key at once. If it is no longer pending or left a token meanwhile (deleted,
/// expired), the rotation is abandoned and the key keeps its current material.
fn run_imported(
    kms: &Kms,
    job: &JobRecord,
    key: &KeyRecord,
    material_id: &str,
    rotation_type: &str,
) -> KmsResult<()> {
    let _guard = kms.write_guard();
    let now = kms.clock.now();
    let Some(key) = kms.get_key(key.region, &key.key_id) else {
        return kms.commit(vec![Write::DeleteJob { id: job.id.clone() }]);
    };
    let ready = key
        .imported
        .iter()
        .any(|m| m.id == material_id && m.pending_rotation)
        && super::import::in_every_token(kms, &key, material_id);
    let mut batch = vec![Write::DeleteJob { id: job.id.clone() }];
    for k in multi_region::related(kms, &key.key_id)
        .into_iter()
        .filter(|k| key.multi_region.is_some() || k.region == key.region)
    {
        let mut k = (*k).clone();
        k.rotation_started = None;
        if ready {
            if let Some(m) = k.imported.iter_mut().find(|m| m.id == material_id) {
                m.pending_rotation = false;
                m.rotation_type = Some(rotation_type.to_string());
                m.rotated_at = Some(now);
            }
            // The rotated material moves to the end of the list: it is current now.
            if let Some(i) = k.imported.iter().position(|m| m.id == material_id) {
                let m = k.imported.remove(i);
                k.imported.push(m);
            }
            super::import::order_materials(&mut k);
            super::import::refresh_state(&mut k);
            if rotation_type == ON_DEMAND {
                k.on_demand_rotations = k.on_demand_rotations.saturating_add(1);
            }
        }
        batch.push(Write::PutKey(k));
    }
    kms.commit(batch)?;
    if ready {
        tracing::info!(region = %key.region, key = %key.key_id, "rotated to imported key material");
    } else {
        tracing::warn!(region = %key.region, key = %key.key_id, "rotation abandoned: the imported key material is no longer pending rotation in every Region");
    }
    Ok(())
}

/// Asks for an automatic rotation of `key` (its primary, for a multi-Region key) because
/// `material_id` reached half its AES-GCM encryption budget
/// ([`super::encryption_budget`]). Keys with imported material cannot rotate by
/// themselves: a warning says what to do.
pub fn for_encryption_budget(kms: &Kms, key: &KeyRecord, material_id: &str) {
    let primary = match key.multi_region {
        Some(_) => multi_region::primary(kms, &key.key_id)
            .map(|k| (*k).clone())
            .unwrap_or_else(|| key.clone()),
        None => key.clone(),
    };
    if primary.origin != Origin::AwsKms {
        tracing::warn!(
            key = %key.key_id,
            material = material_id,
            "key material has used half its AES-GCM encryption budget: import new key material and rotate the key"
        );
        return;
    }
    let id = job_id(&primary.key_id);
    let _guard = kms.write_guard();
    if kms.state().jobs.contains_key(&id) {
        return;
    }
    let job = rotation_job(&primary, AUTOMATIC, kms.clock.now());
    match kms.commit(vec![Write::PutJob(job)]) {
        Ok(()) => {
            tracing::info!(
                key = %primary.key_id,
                material = material_id,
                "key material has used half its AES-GCM encryption budget: rotating the key"
            );
            kms.jobs_changed.notify_one();
        }
        Err(e) => tracing::error!(
            key = %primary.key_id,
            "cannot schedule the rotation: {}",
            super::error::Report(&e)
        ),
    }
}
