//! DeleteAlias: removes an alias; the key it pointed at is unaffected.

use serde::Deserialize;
use serde_json::json;

use std::sync::Arc;

use crate::domain::ids::AliasName;
use crate::domain::key::KeyRecord;
use crate::domain::request::RequestContext;
use crate::domain::write::Write;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct DeleteAlias;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    alias_name: String,
}

impl Operation for DeleteAlias {
    const SPEC: Spec = Spec {
        name: "DeleteAlias",
        action: "kms:DeleteAlias",
        key_state: None,
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn alias_ref(req: &Request) -> Option<&str> {
        Some(&req.alias_name)
    }

    /// The alias's target key: the caller needs kms:DeleteAlias on it too.
    fn resolve(
        kms: &Kms,
        ctx: &RequestContext,
        req: &Request,
    ) -> KmsResult<Option<Arc<KeyRecord>>> {
        let name = AliasName::parse(&req.alias_name)?;
        let target = kms
            .state()
            .aliases
            .get(&ctx.region)
            .and_then(|m| m.get(&name))
            .map(|a| a.target.clone());
        Ok(target.and_then(|id| kms.get_key(ctx.region, &id)))
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let region = call.ctx.region;
        let name = AliasName::parse(&req.alias_name)?;
        let _guard = kms.write_guard();
        let exists = kms
            .state()
            .aliases
            .get(&region)
            .is_some_and(|m| m.contains_key(&name));
        if !exists {
            return Err(KmsError::not_found(format!(
                "Alias {} is not found.",
                kms.alias_arn(region, &name)
            )));
        }
        kms.commit(vec![Write::DeleteAlias { region, name }])?;
        Ok(json!({}).into())
    }
}
