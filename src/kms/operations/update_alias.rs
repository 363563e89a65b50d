//! UpdateAlias: points an existing alias at another key of the same Region and type.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use super::create_alias::{resolve_target, settable_alias_name};
use crate::domain::alias::AliasRecord;
use crate::domain::ids::AliasName;
use crate::domain::key::KeyRecord;
use crate::domain::region::Region;
use crate::domain::request::RequestContext;
use crate::domain::write::Write;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct UpdateAlias;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    alias_name: String,
    target_key_id: String,
}

/// The alias `name` of `region`, or NotFoundException.
fn existing(kms: &Kms, region: Region, name: &AliasName) -> KmsResult<AliasRecord> {
    kms.state()
        .aliases
        .get(&region)
        .and_then(|m| m.get(name))
        .cloned()
        .ok_or_else(|| {
            KmsError::not_found(format!(
                "Alias {} is not found.",
                kms.alias_arn(region, name)
            ))
        })
}

impl Operation for UpdateAlias {
    const SPEC: Spec = Spec {
        name: "UpdateAlias",
        action: "kms:UpdateAlias",
        // The new target is checked as CreateAlias checks it.
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

    /// The new target key, once the alias is known to exist.
    fn resolve(
        kms: &Kms,
        ctx: &RequestContext,
        req: &Request,
    ) -> KmsResult<Option<Arc<KeyRecord>>> {
        existing(kms, ctx.region, &settable_alias_name(&req.alias_name)?)?;
        resolve_target(kms, ctx, &req.target_key_id).map(Some)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let region = call.ctx.region;
        let name = settable_alias_name(&req.alias_name)?;
        let _guard = kms.write_guard();
        let mut alias = existing(kms, region, &name)?;
        let key = call.reload(kms)?;
        if let Some(old) = kms.get_key(region, &alias.target) {
            call.authorize_also(kms, Self::SPEC.action, Some(&old))?;
            if old.key_usage != key.key_usage || old.key_spec != key.key_spec {
                return Err(KmsError::validation(format!(
                    "{} is not the same type of key as the alias's current key: an alias can only move to a key with the same key spec and key usage.",
                    key.arn()
                )));
            }
        }
        if alias.target != key.key_id {
            crate::kms::quotas::check_new_alias(kms, region, &key.key_id)?;
        }
        alias.target = key.key_id.clone();
        alias.updated = kms.clock.now();
        kms.commit(vec![Write::PutAlias(alias)])?;
        Ok(json!({}).into())
    }
}
