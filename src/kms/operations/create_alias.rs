//! CreateAlias: a new alias in the request's Region pointing at a key of that Region.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use crate::domain::alias::AliasRecord;
use crate::domain::ids::{AliasName, KeyRef};
use crate::domain::key::KeyRecord;
use crate::domain::request::RequestContext;
use crate::domain::write::Write;
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct CreateAlias;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    alias_name: String,
    target_key_id: String,
}

/// Parses an alias name that CreateAlias or UpdateAlias may set: not `alias/aws/…`.
pub fn settable_alias_name(raw: &str) -> KmsResult<AliasName> {
    let name = AliasName::parse(raw)?;
    if name.is_reserved() {
        return Err(KmsError::new(
            ErrorKind::InvalidAliasName,
            "Alias names that begin with alias/aws/ are reserved for AWS managed keys.",
        ));
    }
    Ok(name)
}

/// Resolves a TargetKeyId: a key id or key ARN, never an alias.
pub fn resolve_target(kms: &Kms, ctx: &RequestContext, raw: &str) -> KmsResult<Arc<KeyRecord>> {
    if let KeyRef::Alias(_) = KeyRef::parse(raw, ctx.region, kms.account())? {
        return Err(KmsError::validation(
            "Aliases must refer to keys. Use a key ID or key ARN as TargetKeyId, not an alias.",
        ));
    }
    kms.resolve(ctx, raw)
}

impl Operation for CreateAlias {
    const SPEC: Spec = Spec {
        name: "CreateAlias",
        action: "kms:CreateAlias",
        key_state: Some(Op::CreateAlias),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        settable_alias_name(&req.alias_name).map(|_| ())
    }

    fn alias_ref(req: &Request) -> Option<&str> {
        Some(&req.alias_name)
    }

    fn resolve(
        kms: &Kms,
        ctx: &RequestContext,
        req: &Request,
    ) -> KmsResult<Option<Arc<KeyRecord>>> {
        resolve_target(kms, ctx, &req.target_key_id).map(Some)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let region = call.ctx.region;
        let name = settable_alias_name(&req.alias_name)?;
        let _guard = kms.write_guard();
        let key = call.reload(kms)?;
        let exists = kms
            .state()
            .aliases
            .get(&region)
            .is_some_and(|m| m.contains_key(&name));
        if exists {
            return Err(KmsError::new(
                ErrorKind::AlreadyExists,
                format!(
                    "An alias with the name {} already exists",
                    kms.alias_arn(region, &name)
                ),
            ));
        }
        crate::kms::quotas::check_new_alias(kms, region, &key.key_id)?;
        let now = kms.clock.now();
        kms.commit(vec![Write::PutAlias(AliasRecord {
            name,
            region,
            target: key.key_id.clone(),
            created: now,
            updated: now,
        })])?;
        Ok(json!({}).into())
    }
}
