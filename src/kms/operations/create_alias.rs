//! CreateAlias: a new alias in the request's Region pointing at a key of that Region.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::alias::AliasRecord;
use crate::domain::ids::{AliasName, KeyRef};
use crate::domain::request::RequestContext;
use crate::domain::write::Write;
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    alias_name: String,
    target_key_id: String,
}

/// Checks a TargetKeyId: a key id or key ARN (never an alias) of a key whose state
/// allows aliasing.
pub fn resolve_target(
    kms: &Kms,
    ctx: &RequestContext,
    raw: &str,
) -> KmsResult<std::sync::Arc<crate::domain::key::KeyRecord>> {
    if let KeyRef::Alias(_) = KeyRef::parse(raw, ctx.region, kms.account())? {
        return Err(KmsError::validation(
            "Aliases must refer to keys. Use a key ID or key ARN as TargetKeyId, not an alias.",
        ));
    }
    let key = kms.resolve(ctx, raw)?;
    key_state::check(Op::CreateAlias, &key)?;
    Ok(key)
}

pub fn reserved_error() -> KmsError {
    KmsError::new(
        ErrorKind::InvalidAliasName,
        "Alias names that begin with alias/aws/ are reserved for AWS managed keys.",
    )
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let name = AliasName::parse(&req.alias_name)?;
    if name.is_reserved() {
        return Err(reserved_error());
    }
    let _guard = kms.write_guard();
    let key = resolve_target(kms, ctx, &req.target_key_id)?;
    let exists = kms
        .state()
        .aliases
        .get(&ctx.region)
        .is_some_and(|m| m.contains_key(&name));
    if exists {
        return Err(KmsError::new(
            ErrorKind::AlreadyExists,
            format!(
                "An alias with the name {} already exists",
                kms.alias_arn(ctx.region, &name)
            ),
        ));
    }
    let now = kms.clock.now();
    kms.commit(vec![Write::PutAlias(AliasRecord {
        name,
        region: ctx.region,
        target: key.key_id.clone(),
        created: now,
        updated: now,
    })])?;
    Ok(json!({}))
}
