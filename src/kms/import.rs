//! Imported key material (Origin EXTERNAL), the service side shared by
//! GetParametersForImport, ImportKeyMaterial and DeleteImportedKeyMaterial: the import
//! token format, the key-spec dispatch to the token object the material becomes, the
//! "same material" rule (key check values computed in the tokens), the expiry and clean-up
//! jobs (deleted material leaves each Region's token through a durable job), and the
//! KeyMetadata members of imported keys.
//!
//! Import token: `0x01 || IV (12) || AES-256-GCM(claims JSON) || tag`, sealed inside the
//! Region's token under its `import-token-key` with AAD `hsm-kms import token v1|<Region>`.
//! It is opaque to the caller, any change to it fails the tag check, a token of another
//! Region does not open here (another key), and the claims bind it to the KMS key, the
//! wrapping key pair (by label), the wrapping algorithm and its expiry (ParametersValidTo).
//!
//! Material id: hex SHA-256 of (`hsm-kms key material id v1`, key id, key check value),
//! so the same material imported again — or into a related multi-Region key, which has the
//! same key id — gets the same id and the same token label, and old ciphertexts (which
//! name their material id) decrypt again.

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{ErrorKind, KmsError, KmsResult};
use super::service::Kms;
use crate::domain::ids::KeyId;
use crate::domain::job::{JobKind, JobRecord};
use crate::domain::key::{
    material_token_label, ImportedMaterial, KeyRecord, KeySpec, KeyState, KeyUsage,
    KEY_MATERIAL_DOES_NOT_EXPIRE, KEY_MATERIAL_EXPIRES,
};
use crate::domain::region::Region;
use crate::domain::time::Timestamp;
use crate::domain::write::Write;
use crate::hsm::import::{MaterialKind, WrappingAlgorithm, IMPORT_TOKEN_KEY_LABEL};
use crate::hsm::HsmError;
use crate::hsm::{Curve, PairKind, PairUsage};

/// How long a public key and import token stay valid (AWS: 24 hours).
pub const PARAMETERS_VALID_FOR_SECONDS: f64 = 24.0 * 3600.0;
/// The latest ValidTo AWS accepts, counted from the request.
pub const MAX_VALID_TO_DAYS: u32 = 365;

const TOKEN_VERSION: u8 = 1;
const TOKEN_IV_LEN: usize = 12;

/// What an import token vouches for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportClaims {
    pub key_id: String,
    pub region: String,
    /// Label of the wrapping private key in the Region's token.
    pub wrapping_label: String,
    pub wrapping_algorithm: String,
    pub wrapping_key_spec: String,
    /// ParametersValidTo (server clock).
    pub valid_to: Timestamp,
}

fn token_aad(region: Region) -> Vec<u8> {
    format!("hsm-kms import token v1|{region}").into_bytes()
}

/// Seals `claims` into an import token in `region`'s token.
pub fn seal(kms: &Kms, region: Region, claims: &ImportClaims) -> KmsResult<Vec<u8>> {
    let plaintext = serde_json::to_vec(claims).map_err(KmsError::internal)?;
    let mut iv = [0u8; TOKEN_IV_LEN];
    OsRng.fill_bytes(&mut iv);
    let body = kms
        .token(region)?
        .aes_gcm_encrypt(IMPORT_TOKEN_KEY_LABEL, &iv, &token_aad(region), &plaintext)
        .map_err(Kms::hsm_error)?;
    let mut out = Vec::with_capacity(1 + TOKEN_IV_LEN + body.len());
    out.push(TOKEN_VERSION);
    out.extend_from_slice(&iv);
    out.extend_from_slice(&body);
    Ok(out)
}

fn invalid_token(message: impl Into<String>) -> KmsError {
    KmsError::new(ErrorKind::InvalidImportToken, message)
}

/// Opens an import token presented in `region` for `key`: InvalidImportTokenException
/// when it is not one of ours for this key and Region (or was altered),
/// ExpiredImportTokenException when its 24 hours are over.
pub fn open(kms: &Kms, key: &KeyRecord, token: &[u8]) -> KmsResult<ImportClaims> {
    let region = key.region;
    let not_ours = || {
        invalid_token(format!(
            "The import token is not valid for {}: it was not issued by GetParametersForImport for this KMS key in {region}, or it was altered. Call GetParametersForImport for this key in this Region.",
            key.arn()
        ))
    };
    if token.len() < 1 + TOKEN_IV_LEN + 16 || token[0] != TOKEN_VERSION {
        return Err(not_ours());
    }
    let mut iv = [0u8; TOKEN_IV_LEN];
    iv.copy_from_slice(&token[1..1 + TOKEN_IV_LEN]);
    let plaintext = match kms.token(region)?.aes_gcm_decrypt(
        IMPORT_TOKEN_KEY_LABEL,
        &iv,
        &token_aad(region),
        &token[1 + TOKEN_IV_LEN..],
    ) {
        Ok(p) => p,
        Err(HsmError::AuthenticationFailed) => return Err(not_ours()),
        Err(e) => return Err(Kms::hsm_error(e)),
    };
    let claims: ImportClaims = serde_json::from_slice(&plaintext).map_err(|_| not_ours())?;
    if claims.region != region.as_str() {
        return Err(not_ours());
    }
    if claims.key_id != key.key_id.as_str() {
        return Err(invalid_token(format!(
            "The import token was issued for KMS key {}, not for {}.",
            kms.key_arn(region, &KeyId::parse(&claims.key_id).ok_or_else(not_ours)?),
            key.arn()
        )));
    }
    if kms.clock.now() > claims.valid_to {
        return Err(KmsError::new(
            ErrorKind::ExpiredImportToken,
            format!(
                "The import token expired at {} (ParametersValidTo). Call GetParametersForImport for a new public key and import token.",
                claims.valid_to.iso8601()
            ),
        ));
    }
    Ok(claims)
}

/// The token object material of `spec` becomes on import, or UnsupportedOperationException:
/// an AES-256 key, an HMAC key of the spec's length, or a private key (PKCS#8 DER) of the
/// spec's curve or modulus size, usable for the key's usage only.
pub fn material_kind(key: &KeyRecord) -> KmsResult<MaterialKind> {
    if key.key_spec == KeySpec::SymmetricDefault {
        return Ok(MaterialKind::Aes { len: 32 });
    }
    if let Some(len) = super::asymmetric::hmac_len(key.key_spec) {
        return Ok(MaterialKind::Hmac { len });
    }
    match super::asymmetric::pair_kind(key.key_spec) {
        Some(PairKind::Ec(Curve::Ed25519)) => Err(KmsError::unsupported(format!(
            "hsm-kms cannot import key material for KeySpec {}: it derives an imported private key's public key inside the token by ECDH with the base point, and PKCS#11 has no ECDH on Edwards curves.",
            key.key_spec.as_str()
        ))),
        Some(kind) => Ok(MaterialKind::PrivateKey {
            kind,
            usage: match key.key_usage {
                KeyUsage::SignVerify => PairUsage::Sign,
                KeyUsage::EncryptDecrypt => PairUsage::Decrypt,
                KeyUsage::KeyAgreement => PairUsage::Derive,
                KeyUsage::GenerateVerifyMac => {
                    return Err(KmsError::internal("a key pair with KeyUsage GENERATE_VERIFY_MAC"))
                }
            },
        }),
        None => Err(KmsError::unsupported(format!(
            "hsm-kms cannot import key material for KeySpec {}.",
            key.key_spec.as_str()
        ))),
    }
}

/// Whether `algorithm` may wrap material of `kind` for `key`. AWS: an RSA private key
/// only with RSA_AES_KEY_WRAP_* (ValidationException otherwise); an ECC private key with
/// any wrapping algorithm (with RSAES_OAEP_* its PKCS#8 must fit the wrapping key's
/// modulus; the token then parses it by way of its transit key, see
/// `crate::hsm::templates::transit_key`).
pub fn check_wrapping_algorithm(
    key: &KeyRecord,
    kind: MaterialKind,
    algorithm: WrappingAlgorithm,
) -> KmsResult<()> {
    let aes_kw = matches!(
        algorithm,
        WrappingAlgorithm::RsaAesKeyWrapSha1 | WrappingAlgorithm::RsaAesKeyWrapSha256
    );
    match kind {
        MaterialKind::PrivateKey {
            kind: PairKind::Rsa(_),
            ..
        } if !aes_kw => Err(KmsError::validation(format!(
            "The wrapping algorithm {} cannot wrap RSA private key material ({} key {}). To import an RSA private key, use an RSA_AES wrapping algorithm: RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1.",
            algorithm.as_str(),
            key.key_spec.as_str(),
            key.arn()
        ))),
        _ => Ok(()),
    }
}

/// The material id of material with key check value `kcv` in key `key_id`.
pub fn material_id(key_id: &KeyId, kcv: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"hsm-kms key material id v1\0");
    h.update(key_id.as_str().as_bytes());
    h.update(b"\0");
    h.update(kcv);
    hex::encode(h.finalize())
}

/// What a new replica of `primary` knows about imported material: the primary's key check
/// values (so only the same material is accepted), none of it imported yet.
pub fn expected_for_replica(primary: &KeyRecord) -> Vec<ImportedMaterial> {
    primary
        .imported
        .iter()
        .map(|m| ImportedMaterial {
            id: m.id.clone(),
            kcv: m.kcv.clone(),
            imported_at: None,
            in_token: false,
            expiration_model: None,
            valid_to: None,
            description: m.description.clone(),
            pending_rotation: m.pending_rotation,
            rotation_type: m.rotation_type.clone(),
            rotated_at: m.rotated_at,
        })
        .collect()
}

/// Puts an EXTERNAL key's materials (those in its token) in the order of its imported
/// list, which is the order the materials became current: the last one that is not
/// pending rotation then encrypts.
pub fn order_materials(key: &mut KeyRecord) {
    let position = |id: &str| key.imported.iter().position(|m| m.id == id);
    let mut ordered = key.materials.clone();
    ordered.sort_by_key(|m| position(&m.id));
    for m in &mut ordered {
        if let Some(imp) = key.imported.iter().find(|i| i.id == m.id) {
            m.rotation_type = imp.rotation_type.clone();
            if let Some(at) = imp.rotated_at {
                m.created = at;
            }
        }
    }
    key.materials = ordered;
}

/// Whether every material permanently associated with an EXTERNAL key is in its token:
/// the current material and every earlier (`NON_CURRENT`) one, and there is a current
/// one. Material pending rotation is not permanently associated and does not count.
/// AWS: deletion or expiry of any permanently associated material makes the key
/// `PendingImport`; it needs all of them imported again to be `Enabled`.
pub fn all_associated_imported(key: &KeyRecord) -> bool {
    key.current_import().is_some()
        && key
            .imported
            .iter()
            .filter(|m| !m.pending_rotation)
            .all(|m| key.materials.iter().any(|t| t.id == m.id))
}

/// Moves an EXTERNAL key between `Enabled`/`Disabled` and `PendingImport` after its
/// materials changed: it is usable exactly when every material permanently associated
/// with it is in its token ([`all_associated_imported`]). Losing one makes an `Enabled`
/// or `Disabled` key `PendingImport` (AWS: DeleteImportedKeyMaterial and expiry change
/// any state but `PendingDeletion` to `PendingImport`); importing the last missing one
/// makes a `PendingImport` key `Enabled` (AWS: a successful ImportKeyMaterial enables
/// the key). Each key of a multi-Region family decides from its own materials. A key
/// pending deletion or still being created keeps its state.
pub fn refresh_state(key: &mut KeyRecord) {
    let usable = all_associated_imported(key);
    match key.state {
        KeyState::PendingImport if usable => key.state = KeyState::Enabled,
        KeyState::Enabled | KeyState::Disabled if !usable => key.state = KeyState::PendingImport,
        _ => {}
    }
}

/// Whether material `id` is in the token of every key of `key`'s family (the key itself
/// included): pending material may become current only then.
pub fn in_every_token(kms: &Kms, key: &KeyRecord, id: &str) -> bool {
    let in_token = |k: &KeyRecord| k.imported.iter().any(|m| m.id == id && m.in_token);
    if !in_token(key) {
        return false;
    }
    if key.multi_region.is_none() {
        return true;
    }
    super::multi_region::related(kms, &key.key_id)
        .iter()
        .filter(|k| k.region != key.region)
        .all(|k| in_token(k))
}

/// Synchronises the shared properties of imported material (which materials the family
/// has, in which order, which one is pending rotation, how each became current) from
/// `source` to every related key. Each key keeps its own import state (in its token or
/// not, expiration, description).
pub fn sync_family(kms: &Kms, source: &KeyRecord) -> Vec<Write> {
    if source.multi_region.is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for related in super::multi_region::related(kms, &source.key_id) {
        if related.region == source.region {
            continue;
        }
        let mut k = (*related).clone();
        merge_shared(source, &mut k);
        if k != *related {
            out.push(Write::PutKey(k));
        }
    }
    out
}

/// Takes the shared properties of imported material from `source` (a related key) into
/// `k`: the family's materials in the family's order, pending rotation, rotation type and
/// date. `k` keeps its own import state of each.
pub fn merge_shared(source: &KeyRecord, k: &mut KeyRecord) {
    {
        let mut merged: Vec<ImportedMaterial> = source
            .imported
            .iter()
            .map(|s| match k.imported.iter().find(|m| m.id == s.id) {
                Some(own) => ImportedMaterial {
                    pending_rotation: s.pending_rotation,
                    rotation_type: s.rotation_type.clone(),
                    rotated_at: s.rotated_at,
                    ..own.clone()
                },
                None => ImportedMaterial {
                    id: s.id.clone(),
                    kcv: s.kcv.clone(),
                    imported_at: None,
                    in_token: false,
                    expiration_model: None,
                    valid_to: None,
                    description: s.description.clone(),
                    pending_rotation: s.pending_rotation,
                    rotation_type: s.rotation_type.clone(),
                    rotated_at: s.rotated_at,
                },
            })
            .collect();
        for own in &k.imported {
            if !merged.iter().any(|m| m.id == own.id) {
                merged.push(own.clone());
            }
        }
        k.imported = merged;
        order_materials(k);
    }
}

/// The write that keeps `key`'s expiry job due at the earliest ValidTo of its expiring
/// materials in the token (or removes it when none expires).
pub fn expiry_write(key: &KeyRecord) -> Write {
    let id = expiry_job_id(key.region, &key.key_id);
    let due = key
        .imported
        .iter()
        .filter_map(ImportedMaterial::expires_at)
        .reduce(Timestamp::min);
    match due {
        Some(due) => Write::PutJob(JobRecord {
            id,
            due,
            kind: JobKind::ExpireImportedMaterial {
                region: key.region,
                key_id: key.key_id.clone(),
            },
        }),
        None => Write::DeleteJob { id },
    }
}

/// Every key check value known for `key`: its own and, for a multi-Region key, those of
/// every related key (deduplicated by material id, oldest first).
pub fn known_materials(kms: &Kms, key: &KeyRecord) -> Vec<ImportedMaterial> {
    let mut out: Vec<ImportedMaterial> = key.imported.clone();
    if key.multi_region.is_some() {
        for related in super::multi_region::related(kms, &key.key_id) {
            for m in &related.imported {
                if !out.iter().any(|o| o.id == m.id) {
                    out.push(m.clone());
                }
            }
        }
    }
    out
}

/// Job id of the expiry of `key_id`'s imported material in `region`.
pub fn expiry_job_id(region: Region, key_id: &KeyId) -> String {
    format!("expire-imported-material/{region}/{key_id}")
}

/// Job id of the clean-up of an import wrapping key.
pub fn wrapping_job_id(region: Region, label: &str) -> String {
    format!("drop-import-wrapping-key/{region}/{label}")
}

/// Marks imported material of `key` (all, or `only` those) as gone from the token and
/// returns the labels to destroy once that is durable. The key returns to `PendingImport`
/// when material permanently associated with it (current or `NON_CURRENT`) is gone; not
/// for material pending rotation (a key pending deletion keeps its state, as in AWS).
pub fn take_material_out(key: &mut KeyRecord, only: Option<&[String]>) -> Vec<String> {
    let selected = |id: &str| only.is_none_or(|ids| ids.iter().any(|i| i == id));
    let mut labels = Vec::new();
    for m in key.imported.iter_mut().filter(|m| selected(&m.id)) {
        m.in_token = false;
        m.expiration_model = None;
        m.valid_to = None;
    }
    let key_id = key.key_id.clone();
    key.materials.retain(|m| {
        if selected(&m.id) {
            labels.push(m.token_label(&key_id));
            false
        } else {
            true
        }
    });
    if key.origin == crate::domain::key::Origin::External {
        refresh_state(key);
    } else if key.materials.is_empty()
        && !matches!(
            key.state,
            KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
        )
    {
        key.state = KeyState::PendingImport;
    }
    labels
}

/// Destroys token objects after the metadata no longer refers to them. A failure is only
/// logged: startup reconciliation destroys orphaned material objects.
pub fn destroy_labels(kms: &Kms, region: Region, labels: &[String]) {
    if let Ok(token) = kms.token(region) {
        for label in labels {
            if let Err(e) = token.destroy(label) {
                tracing::error!(%region, %label, "cannot destroy imported material: {e}");
            }
        }
    }
}

/// Removes material `id` from `key` altogether, as if it had never been imported: its
/// entry (ListKeyRotations no longer lists it) and its token object's record. Returns
/// whether `key`'s token held it (its object is then to be destroyed). The key state
/// follows the materials that remain.
pub fn forget_material(key: &mut KeyRecord, id: &str) -> bool {
    key.imported.retain(|m| m.id != id);
    let held = key.materials.iter().any(|m| m.id == id);
    key.materials.retain(|m| m.id != id);
    refresh_state(key);
    held
}

/// DeleteImportedKeyMaterial of material pending rotation in a single-Region key or a
/// multi-Region primary: such material is not permanently associated with the key, so it
/// leaves the key — and every related replica key, whether the replica imported it or
/// not — instead of waiting to be imported again. No key's state changes (its current
/// material is untouched); every key's expiry job follows its remaining materials.
/// Returns the writes for the related keys and the Regions whose tokens hold the material.
pub fn dissociate_pending(kms: &Kms, key: &mut KeyRecord, id: &str) -> (Vec<Write>, Vec<Region>) {
    let mut writes = Vec::new();
    let mut holders = Vec::new();
    if forget_material(key, id) {
        holders.push(key.region);
    }
    if key.multi_region.is_some() {
        for related in super::multi_region::related(kms, &key.key_id) {
            if related.region == key.region {
                continue;
            }
            let mut k = (*related).clone();
            if forget_material(&mut k, id) {
                holders.push(k.region);
            }
            writes.push(expiry_write(&k));
            writes.push(Write::PutKey(k));
        }
    }
    (writes, holders)
}

/// Job id of destroying deleted material `material_id` of `key_id` in `region`'s token.
pub fn destroy_job_id(region: Region, key_id: &KeyId, material_id: &str) -> String {
    format!("destroy-imported-material/{region}/{key_id}/{material_id}")
}

/// The durable job that destroys deleted material in `region`'s token, due at once. It is
/// committed with the metadata that stops referring to the material, so a crash before
/// the object is destroyed leaves the job to finish it.
pub fn destroy_job(region: Region, key_id: &KeyId, material_id: &str, now: Timestamp) -> JobRecord {
    JobRecord {
        id: destroy_job_id(region, key_id, material_id),
        due: now,
        kind: JobKind::DestroyImportedMaterial {
            region,
            key_id: key_id.clone(),
            material_id: material_id.to_string(),
        },
    }
}

/// Runs a [`destroy_job`]: destroys the material's object in `region`'s token unless the
/// key there holds that material again (imported anew since), then retires the job. Runs
/// under the metadata write lock, so an import committing the same material waits for it
/// (and finds the object gone, see ImportKeyMaterial). Idempotent: an object already
/// destroyed is not an error.
pub fn destroy_deleted(
    kms: &Kms,
    region: Region,
    key_id: &KeyId,
    material_id: &str,
) -> KmsResult<()> {
    let _guard = kms.write_guard();
    let held_again = kms
        .get_key(region, key_id)
        .is_some_and(|k| k.material(material_id).is_some());
    if !held_again {
        let label = material_token_label(key_id, material_id);
        kms.token(region)?.destroy(&label).map_err(Kms::hsm_error)?;
    }
    let id = destroy_job_id(region, key_id, material_id);
    if kms.state().jobs.contains_key(&id) {
        kms.commit(vec![Write::DeleteJob { id }])?;
    }
    Ok(())
}

/// Runs an import job.
pub fn run_job(kms: &Kms, job: &JobRecord) -> KmsResult<()> {
    match &job.kind {
        JobKind::ExpireImportedMaterial { region, key_id } => expire(kms, job, *region, key_id),
        JobKind::DestroyImportedMaterial {
            region,
            key_id,
            material_id,
        } => destroy_deleted(kms, *region, key_id, material_id),
        JobKind::DropImportWrappingKey { region, label } => {
            kms.token(*region)?.destroy(label).map_err(Kms::hsm_error)?;
            kms.commit(vec![Write::DeleteJob { id: job.id.clone() }])
        }
        _ => Ok(()),
    }
}

/// ValidTo reached: the material leaves the token; the key returns to `PendingImport`
/// when it was permanently associated with the key (current or `NON_CURRENT`), not when
/// it was only pending rotation.
fn expire(kms: &Kms, job: &JobRecord, region: Region, key_id: &KeyId) -> KmsResult<()> {
    let labels;
    let arn;
    {
        let _guard = kms.write_guard();
        let Some(key) = kms.get_key(region, key_id) else {
            return kms.commit(vec![Write::DeleteJob { id: job.id.clone() }]);
        };
        let now = kms.clock.now();
        let due: Vec<String> = key
            .imported
            .iter()
            .filter(|m| m.expires_at().is_some_and(|v| v <= now))
            .map(|m| m.id.clone())
            .collect();
        let mut k = (*key).clone();
        labels = if due.is_empty() {
            Vec::new()
        } else {
            take_material_out(&mut k, Some(&due))
        };
        arn = k.arn();
        // The job stays for the materials that expire later.
        let mut batch = vec![expiry_write(&k)];
        if !due.is_empty() {
            batch.insert(0, Write::PutKey(k));
        }
        kms.commit(batch)?;
    }
    if !labels.is_empty() {
        destroy_labels(kms, region, &labels);
        tracing::info!(%region, key = %key_id, "imported key material expired and was deleted");
        kms.audit.record_service_event(
            region,
            "DeleteExpiredKeyMaterial",
            &arn,
            kms.account(),
            kms.clock.now(),
        );
    }
    Ok(())
}

/// ValidTo / ExpirationModel of an ImportKeyMaterial request, checked as AWS does.
/// Returns (model, valid_to).
pub fn expiration(
    now: Timestamp,
    model: Option<&str>,
    valid_to: Option<Timestamp>,
) -> KmsResult<(String, Option<Timestamp>)> {
    let model = model.unwrap_or(KEY_MATERIAL_EXPIRES);
    match (model, valid_to) {
        (KEY_MATERIAL_EXPIRES, None) => Err(KmsError::validation(
            "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
        )),
        (KEY_MATERIAL_EXPIRES, Some(v)) => {
            if v <= now {
                return Err(KmsError::validation(format!(
                    "ValidTo {} is in the past: it must be a future date and time.",
                    v.iso8601()
                )));
            }
            if v > now.plus_days(MAX_VALID_TO_DAYS) {
                return Err(KmsError::validation(format!(
                    "ValidTo {} is too far in the future: it must be at most 365 days from the request date.",
                    v.iso8601()
                )));
            }
            Ok((KEY_MATERIAL_EXPIRES.to_string(), Some(v)))
        }
        (KEY_MATERIAL_DOES_NOT_EXPIRE, Some(_)) => Err(KmsError::validation(
            "The parameter ValidTo cannot be specified for a key with an expiration model of KEY_MATERIAL_DOES_NOT_EXPIRE",
        )),
        (KEY_MATERIAL_DOES_NOT_EXPIRE, None) => Ok((KEY_MATERIAL_DOES_NOT_EXPIRE.to_string(), None)),
        (other, _) => Err(KmsError::validation(format!(
            "ExpirationModel {other} is not valid."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_rules_match_aws() {
        let now = Timestamp::from_secs(1_000_000.0);
        assert_eq!(
            expiration(now, None, None).unwrap_err().message,
            "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"
        );
        assert!(expiration(
            now,
            Some(KEY_MATERIAL_DOES_NOT_EXPIRE),
            Some(now.plus_secs(10.0))
        )
        .is_err());
        assert!(expiration(now, None, Some(now.plus_days(366))).is_err());
        assert!(expiration(now, None, Some(now.plus_secs(-1.0))).is_err());
        assert_eq!(
            expiration(now, None, Some(now.plus_secs(3600.0))).unwrap(),
            (
                KEY_MATERIAL_EXPIRES.to_string(),
                Some(now.plus_secs(3600.0))
            )
        );
        assert_eq!(
            expiration(now, Some(KEY_MATERIAL_DOES_NOT_EXPIRE), None).unwrap(),
            (KEY_MATERIAL_DOES_NOT_EXPIRE.to_string(), None)
        );
    }

    /// An EXTERNAL key in `state` whose imported list is `imported` (id, pending
    /// rotation) and whose token holds the materials `in_token`.
    fn external_key(state: KeyState, imported: &[(&str, bool)], in_token: &[&str]) -> KeyRecord {
        let material = |id: &str| -> crate::domain::key::MaterialRecord {
            serde_json::from_value(serde_json::json!({"id": id, "created": Timestamp::EPOCH}))
                .expect("a material record")
        };
        KeyRecord {
            key_id: KeyId::new_single_region(),
            region: Region::parse("us-east-1").expect("catalogue"),
            account_id: "111122223333".into(),
            created: Timestamp::EPOCH,
            description: String::new(),
            key_spec: KeySpec::SymmetricDefault,
            key_usage: KeyUsage::EncryptDecrypt,
            origin: crate::domain::key::Origin::External,
            state,
            deletion_date: None,
            pending_window_days: None,
            policy: String::new(),
            tags: vec![],
            materials: in_token.iter().map(|id| material(id)).collect(),
            rotation_enabled: false,
            rotation_period_days: None,
            multi_region: None,
            next_rotation: None,
            on_demand_rotations: 0,
            rotation_started: None,
            imported: imported
                .iter()
                .map(|(id, pending)| ImportedMaterial {
                    id: id.to_string(),
                    kcv: String::new(),
                    imported_at: Some(Timestamp::EPOCH),
                    in_token: in_token.contains(id),
                    expiration_model: None,
                    valid_to: None,
                    description: None,
                    pending_rotation: *pending,
                    rotation_type: None,
                    rotated_at: None,
                })
                .collect(),
        }
    }

    #[test]
    fn every_permanently_associated_material_decides_the_key_state() {
        use KeyState::*;
        // (state before, imported (id, pending rotation), in the token, state after)
        type Case<'a> = (KeyState, &'a [(&'a str, bool)], &'a [&'a str], KeyState);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // Current and NON_CURRENT material both in the token.
            (Enabled, &[("a", false), ("b", false)], &["a", "b"], Enabled),
            (PendingImport, &[("a", false), ("b", false)], &["a", "b"], Enabled),
            (Disabled, &[("a", false), ("b", false)], &["a", "b"], Disabled),
            // NON_CURRENT material missing.
            (Enabled, &[("a", false), ("b", false)], &["b"], PendingImport),
            (Disabled, &[("a", false), ("b", false)], &["b"], PendingImport),
            (PendingImport, &[("a", false), ("b", false)], &["b"], PendingImport),
            // Current material missing.
            (Enabled, &[("a", false), ("b", false)], &["a"], PendingImport),
            // Material pending rotation does not count, in the token or not.
            (Enabled, &[("a", false), ("p", true)], &["a"], Enabled),
            (PendingImport, &[("a", false), ("p", true)], &["a"], Enabled),
            (Enabled, &[("a", false), ("p", true)], &["p"], PendingImport),
            // Nothing imported yet.
            (PendingImport, &[], &[], PendingImport),
            (PendingImport, &[("p", true)], &["p"], PendingImport),
            // States that do not follow the materials.
            (PendingDeletion, &[("a", false), ("b", false)], &["b"], PendingDeletion),
            (PendingReplicaDeletion, &[("a", false)], &[], PendingReplicaDeletion),
            (Creating, &[("a", false)], &[], Creating),
        ];
        for (before, imported, in_token, after) in cases {
            let mut k = external_key(*before, imported, in_token);
            refresh_state(&mut k);
            assert_eq!(
                k.state, *after,
                "{before:?} {imported:?} in token {in_token:?}"
            );
        }
    }

    #[test]
    fn taking_out_non_current_material_makes_the_key_pending_import() {
        let mut k = external_key(
            KeyState::Enabled,
            &[("a", false), ("b", false)],
            &["a", "b"],
        );
        let labels = take_material_out(&mut k, Some(&["a".to_string()]));
        assert_eq!(labels, vec![material_token_label(&k.key_id, "a")]);
        assert_eq!(k.state, KeyState::PendingImport);
        assert!(!k.imported[0].in_token && k.imported[1].in_token);
        // Taking out material pending rotation leaves the state alone.
        let mut k = external_key(KeyState::Enabled, &[("a", false), ("p", true)], &["a", "p"]);
        take_material_out(&mut k, Some(&["p".to_string()]));
        assert_eq!(k.state, KeyState::Enabled);
    }

    #[test]
    fn material_ids_are_64_hex_and_depend_on_key_and_material() {
        let a = KeyId::new_single_region();
        let b = KeyId::new_single_region();
        let id = material_id(&a, &[1; 16]);
        assert_eq!(id.len(), 64);
        assert!(id
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(id, material_id(&a, &[1; 16]));
        assert_ne!(id, material_id(&b, &[1; 16]));
        assert_ne!(id, material_id(&a, &[2; 16]));
    }
}
