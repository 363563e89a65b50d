//! DeleteImportedKeyMaterial: the imported material leaves the Region's token at once and
//! the key returns to `PendingImport` (a key pending deletion keeps its state). Importing
//! the same material again brings the key back, with the same key material id.

use serde::Deserialize;
use serde_json::json;

use crate::kms::error::{KmsError, KmsResult};
use crate::kms::import;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct DeleteImportedKeyMaterial;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    key_material_id: Option<String>,
}

impl Operation for DeleteImportedKeyMaterial {
    const SPEC: Spec = Spec {
        name: "DeleteImportedKeyMaterial",
        action: "kms:DeleteImportedKeyMaterial",
        key_state: Some(Op::DeleteImportedKeyMaterial),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let mut labels = Vec::new();
        let mut deleted: Option<String> = None;
        let key = call.modify_key(kms, |k, extra| {
            let target = match &req.key_material_id {
                Some(id) => {
                    if !k.imported.iter().any(|m| &m.id == id) {
                        return Err(KmsError::not_found(format!(
                            "Key material {id} is not associated with {}.",
                            k.arn()
                        )));
                    }
                    id.clone()
                }
                None => match k.current_material().map(|m| m.id.clone()).or_else(|| {
                    k.imported
                        .iter()
                        .rev()
                        .find(|m| m.imported_at.is_some())
                        .map(|m| m.id.clone())
                }) {
                    Some(id) => id,
                    None => return Ok(()),
                },
            };
            labels = import::take_material_out(k, Some(std::slice::from_ref(&target)));
            deleted = Some(target);
            // Other materials may still expire later.
            extra.push(import::expiry_write(k));
            Ok(())
        })?;
        import::destroy_labels(kms, key.region, &labels);
        let mut out = json!({ "KeyId": key.arn() });
        if let Some(id) = deleted {
            out["KeyMaterialId"] = json!(id);
        }
        Ok(out.into())
    }
}
