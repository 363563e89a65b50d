//! DeleteAlias: removes an alias; the key it pointed at is unaffected.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::ids::AliasName;
use crate::domain::request::RequestContext;
use crate::domain::write::Write;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::service::Kms;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    alias_name: String,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let name = AliasName::parse(&req.alias_name)?;
    let _guard = kms.write_guard();
    let exists = kms
        .state()
        .aliases
        .get(&ctx.region)
        .is_some_and(|m| m.contains_key(&name));
    if !exists {
        return Err(KmsError::not_found(format!(
            "Alias {} is not found.",
            kms.alias_arn(ctx.region, &name)
        )));
    }
    kms.commit(vec![Write::DeleteAlias {
        region: ctx.region,
        name,
    }])?;
    Ok(json!({}))
}
