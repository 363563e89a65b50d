//! UpdateAlias: points an existing alias at another key of the same Region and type.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::ids::AliasName;
use crate::domain::request::RequestContext;
use crate::domain::write::Write;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::service::Kms;

use super::create_alias::{reserved_error, resolve_target};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    alias_name: String,
    target_key_id: String,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let name = AliasName::parse(&req.alias_name)?;
    if name.is_reserved() {
        return Err(reserved_error());
    }
    let _guard = kms.write_guard();
    let mut alias = kms
        .state()
        .aliases
        .get(&ctx.region)
        .and_then(|m| m.get(&name))
        .cloned()
        .ok_or_else(|| {
            KmsError::not_found(format!(
                "Alias {} is not found.",
                kms.alias_arn(ctx.region, &name)
            ))
        })?;
    let key = resolve_target(kms, ctx, &req.target_key_id)?;
    if let Some(old) = kms.get_key(ctx.region, &alias.target) {
        if old.key_usage != key.key_usage || old.key_spec != key.key_spec {
            return Err(KmsError::validation(format!(
                "{} is not the same type of key as the alias's current key: an alias can only move to a key with the same key spec and key usage.",
                key.arn()
            )));
        }
    }
    alias.target = key.key_id.clone();
    alias.updated = kms.clock.now();
    kms.commit(vec![Write::PutAlias(alias)])?;
    Ok(json!({}))
}
