//! ImportKeyMaterial: unwraps the caller's wrapped key material into the Region's token
//! (inside the token wherever the module can; see `hsm::import`), checks that it is the
//! key's material (key check values computed in the token), and enables the key. The
//! expiration model and ValidTo are checked as AWS checks them; an expiring import gets a
//! durable job that destroys the material at ValidTo.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;

use crate::domain::key::{
    ImportedMaterial, KeyRecord, KeySpec, MaterialRecord, MultiRegionRole, KEY_MATERIAL_EXPIRES,
};
use crate::domain::request::{ConditionValues, RequestContext};
use crate::domain::time::Timestamp;
use crate::domain::write::Write;
use crate::hsm::import::{ImportError, WrappingAlgorithm};
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::import;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{Blob, Output};

const NEW_KEY_MATERIAL: &str = "NEW_KEY_MATERIAL";
const EXISTING_KEY_MATERIAL: &str = "EXISTING_KEY_MATERIAL";

pub struct ImportKeyMaterial;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    import_token: Blob,
    encrypted_key_material: Blob,
    valid_to: Option<Timestamp>,
    expiration_model: Option<String>,
    import_type: Option<String>,
    key_material_description: Option<String>,
    key_material_id: Option<String>,
}

fn incorrect(message: String) -> KmsError {
    KmsError::new(ErrorKind::IncorrectKeyMaterial, message)
}

/// New material cannot be imported while another waits for rotation (AWS's words).
fn pending_conflict(key: &KeyRecord, new_id: &str) -> KmsResult<()> {
    match key.pending_import() {
        Some(p) => Err(KmsError::invalid_state(format!(
            "New key material (id: {new_id}) cannot be imported into KMS key {}, because another key material (id: {}) is pending rotation.",
            key.arn(),
            p.id
        ))),
        None => Ok(()),
    }
}

impl Operation for ImportKeyMaterial {
    const SPEC: Spec = Spec {
        name: "ImportKeyMaterial",
        action: "kms:ImportKeyMaterial",
        key_state: Some(Op::ImportKeyMaterial),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn check_request(kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        import::expiration(kms.clock.now(), req.expiration_model.as_deref(), req.valid_to)
            .map(|_| ())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn conditions(req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        values.add(
            "kms:ExpirationModel",
            req.expiration_model
                .as_deref()
                .unwrap_or(KEY_MATERIAL_EXPIRES),
        );
        if let Some(valid_to) = req.valid_to {
            values.add("kms:ValidTo", valid_to.secs().to_string());
        }
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let now = kms.clock.now();
        let (model, valid_to) =
            import::expiration(now, req.expiration_model.as_deref(), req.valid_to)?;
        let key = call.key()?;
        let kind = import::material_kind(key)?;
        let claims = import::open(kms, key, &req.import_token.0)?;
        let algorithm = WrappingAlgorithm::parse(&claims.wrapping_algorithm)
            .ok_or_else(|| KmsError::internal("import token with an unknown wrapping algorithm"))?;
        import::check_wrapping_algorithm(key, kind, algorithm)?;
        let token = kms.token(key.region)?;
        if !token.has_object(&claims.wrapping_label) {
            return Err(KmsError::new(
                ErrorKind::InvalidImportToken,
                "The wrapping key of this import token no longer exists. Call GetParametersForImport for a new public key and import token.",
            ));
        }

        // Which material this import may be.
        let imported_here = key.imported_here();
        let is_replica = key.multi_region == Some(MultiRegionRole::Replica);
        let import_type = match req.import_type.as_deref() {
            Some(t) => t,
            None if imported_here => EXISTING_KEY_MATERIAL,
            None => NEW_KEY_MATERIAL,
        };
        if import_type == NEW_KEY_MATERIAL && req.key_material_id.is_some() {
            return Err(KmsError::validation(
                "You cannot specify a key material ID with ImportType set to NEW_KEY_MATERIAL.",
            ));
        }
        if import_type != NEW_KEY_MATERIAL && import_type != EXISTING_KEY_MATERIAL {
            return Err(KmsError::validation(format!(
                "ImportType {import_type} is not valid: use NEW_KEY_MATERIAL or EXISTING_KEY_MATERIAL."
            )));
        }
        // New material after the first import is for on-demand rotation: symmetric keys only,
        // and for a multi-Region key only through its primary.
        let rotation_import = import_type == NEW_KEY_MATERIAL && imported_here;
        if rotation_import && is_replica {
            return Err(KmsError::unsupported(format!(
                "{} is a multi-Region replica key: new key material cannot be imported into it. Import new key material into its primary key (ImportType NEW_KEY_MATERIAL), then the same key material into each replica key with ImportType EXISTING_KEY_MATERIAL.",
                key.arn()
            )));
        }
        if rotation_import && key.key_spec != KeySpec::SymmetricDefault {
            return Err(KmsError::unsupported(format!(
                "{} is not a symmetric encryption key: its key material cannot be changed after the first import.",
                key.arn()
            )));
        }
        let known = import::known_materials(kms, key);
        let must_match = is_replica || import_type == EXISTING_KEY_MATERIAL;

        // First unwrap: a session object, only for the key check value.
        let blob = &req.encrypted_key_material.0;
        let unwrap_error = |e: ImportError| {
            match e {
            ImportError::CannotUnwrap => KmsError::new(
                ErrorKind::InvalidCiphertext,
                format!(
                    "The encrypted key material cannot be unwrapped with the wrapping key of this import token using {}. Encrypt it with the public key of the same GetParametersForImport response and the wrapping algorithm requested there.",
                    algorithm.as_str()
                ),
            ),
            ImportError::WrongLength { got, expected } => KmsError::new(
                ErrorKind::InvalidCiphertext,
                format!(
                    "The imported key material is {got} bytes long; {} key material must be {expected} bytes ({}-bit).",
                    key.key_spec.as_str(),
                    expected * 8
                ),
            ),
            ImportError::WrongKeyType(what) => incorrect(format!(
                "The imported key material is {what}, which is not valid for a KMS key with KeySpec {}. Import a PKCS#8 private key of that key spec.",
                key.key_spec.as_str()
            )),
            ImportError::Hsm(e) => Kms::hsm_error(e),
        }
        };
        let probe = token
            .unwrap_imported(&claims.wrapping_label, algorithm, blob, kind, None, None)
            .map_err(unwrap_error)?;
        let kcv = probe.kcv;
        // A private key's public key, derived from the imported private key in the token.
        let public_key = probe
            .public_key
            .as_deref()
            .map(|der| base64::engine::general_purpose::STANDARD.encode(der));
        let kcv_hex = hex::encode(&kcv);
        let material_id = import::material_id(&key.key_id, &kcv);
        if let Some(want) = &req.key_material_id {
            if *want != material_id {
                return Err(incorrect(format!(
                    "The key material in the request is not key material {want} of {}.",
                    key.arn()
                )));
            }
        }
        if rotation_import {
            pending_conflict(key, &material_id)?;
            if known.iter().any(|m| m.id == material_id) {
                return Err(incorrect(format!(
                    "The key material in the request is already associated with {} (key material {material_id}). Re-import it with ImportType EXISTING_KEY_MATERIAL.",
                    key.arn()
                )));
            }
        }
        if must_match && !known.iter().any(|m| m.kcv == kcv_hex) {
            return Err(incorrect(if known.is_empty() && is_replica {
                format!(
                    "{} is a multi-Region replica key and its primary key has no imported key material yet. Import the key material into the primary key first, then the same key material into each replica.",
                    key.arn()
                )
            } else if known.is_empty() {
                format!(
                    "No key material was previously imported into {}, so there is no existing key material to re-import. Use ImportType NEW_KEY_MATERIAL.",
                    key.arn()
                )
            } else if is_replica {
                format!(
                    "The key material in the request is not the key material of the primary key of {}. A multi-Region replica key takes only the key material imported into its primary key.",
                    key.arn()
                )
            } else {
                format!(
                    "The key material in the request is not the key material previously imported into {}. Re-import the same key material.",
                    key.arn()
                )
            }));
        }

        // Second unwrap: the token object itself, labelled with the material id (unless the
        // token holds it already: a re-import that only changes the expiration).
        // Built from its serialised form so that fields other key types add to the record
        // (all `#[serde(default)]`) take their defaults.
        let mut material: MaterialRecord =
            serde_json::from_value(json!({"id": material_id, "created": now}))
                .map_err(KmsError::internal)?;
        material.public_key = public_key;
        let label = material.token_label(&key.key_id);
        let unwrapped = token
            .unwrap_imported(
                &claims.wrapping_label,
                algorithm,
                blob,
                kind,
                Some(&label),
                probe.public_key.as_deref(),
            )
            .map_err(unwrap_error)?;
        let (kcv_in_token, created) = (unwrapped.kcv, unwrapped.created);
        if kcv_in_token != kcv {
            if created {
                let _ = token.destroy(&label);
            }
            return Err(KmsError::internal(format!(
                "{label}: the token object's key check value differs from the probe's"
            )));
        }

        let committed = (|| {
            let _guard = kms.write_guard();
            let current = call.reload(kms)?;
            if rotation_import {
                pending_conflict(&current, &material_id)?;
            }
            // Re-checked under the write lock: the family may have dropped this material
            // meanwhile (pending material deleted from the primary), and the object this
            // import reused may have been destroyed by that deletion's job.
            if must_match
                && !import::known_materials(kms, &current)
                    .iter()
                    .any(|m| m.kcv == kcv_hex)
            {
                return Err(incorrect(format!(
                    "The key material in the request is no longer associated with {}: it was deleted while this import ran.",
                    key.arn()
                )));
            }
            if !token.has_object(&label) {
                return Err(KmsError::internal(format!(
                    "Key material {material_id} of {} was deleted while this import ran. Import it again.",
                    key.arn()
                )));
            }
            let mut k = (*current).clone();
            if !k.materials.iter().any(|m| m.id == material_id) {
                k.materials.push(material.clone());
            }
            // Material the family does not know yet goes at the end of the imported list; a
            // rotation import waits there as pending rotation.
            let entry = match k.imported.iter().position(|m| m.id == material_id) {
                Some(i) => &mut k.imported[i],
                None => {
                    k.imported.push(ImportedMaterial {
                        id: material_id.clone(),
                        kcv: kcv_hex.clone(),
                        imported_at: None,
                        in_token: false,
                        expiration_model: None,
                        valid_to: None,
                        description: None,
                        pending_rotation: rotation_import,
                        rotation_type: None,
                        rotated_at: None,
                    });
                    k.imported.last_mut().expect("just pushed")
                }
            };
            entry.imported_at = Some(now);
            entry.in_token = true;
            entry.expiration_model = Some(model.clone());
            entry.valid_to = valid_to;
            if req.key_material_description.is_some() {
                entry.description = req.key_material_description.clone();
            }
            // A replica that imports before its primary knows the material's place only from
            // the family: take the family's order and pending state first.
            if is_replica {
                if let Some(primary) = crate::kms::multi_region::primary(kms, &k.key_id) {
                    import::merge_shared(&primary, &mut k);
                }
            }
            import::order_materials(&mut k);
            import::refresh_state(&mut k);
            let mut batch = vec![Write::PutKey(k.clone()), import::expiry_write(&k)];
            if k.is_primary() {
                batch.extend(import::sync_family(kms, &k));
            }
            kms.commit(batch)?;
            Ok::<_, KmsError>(k)
        })();
        let k = match committed {
            Ok(k) => k,
            Err(e) => {
                if created {
                    let _ = token.destroy(&label);
                }
                return Err(e);
            }
        };
        kms.jobs_changed.notify_one();
        Ok(json!({
            "KeyId": k.arn(),
            "KeyMaterialId": material_id,
        })
        .into())
    }
}
