//! GetPublicKey: the DER SubjectPublicKeyInfo of an asymmetric key, read from its token when
//! the key pair was generated and kept with the key's metadata (so every Region of a
//! multi-Region key returns the same bytes), plus the key's usage and algorithms.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::asymmetric::public_key;
use crate::kms::error::KmsResult;
use crate::kms::key_spec;
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::wire::b64;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    key_state::check(Op::GetPublicKey, &key)?;
    let (_, spki) = public_key(&key)?;
    let mut out = json!({
        "KeyId": key.arn(),
        "PublicKey": b64(&spki),
        "CustomerMasterKeySpec": key.key_spec.as_str(),
        "KeySpec": key.key_spec.as_str(),
        "KeyUsage": key.key_usage.as_str(),
    });
    if let Some((member, algorithms)) = key_spec::algorithm_members(key.key_spec, key.key_usage) {
        if !algorithms.is_empty() {
            out[member] = json!(algorithms);
        }
    }
    Ok(out)
}
