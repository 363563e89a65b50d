//! RevokeGrant: deletes a grant of a key, by key id (or key ARN) and grant id. Unlike
//! RetireGrant it is authorized like any key operation (`kms:RevokeGrant` in the key
//! policy or IAM), and takes no grant token.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::KeyRecord;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::domain::write::Write;
use crate::kms::error::KmsResult;
use crate::kms::grants;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{Output, RecordDetail};

pub struct RevokeGrant;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    grant_id: String,
    dry_run: Option<bool>,
}

impl Operation for RevokeGrant {
    const SPEC: Spec = Spec {
        name: "RevokeGrant",
        action: "kms:RevokeGrant",
        key_state: Some(Op::RevokeGrant),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        grants::parse_grant_id(&req.grant_id).map(|_| ())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn resolve(
        kms: &Kms,
        ctx: &RequestContext,
        req: &Request,
    ) -> KmsResult<Option<Arc<KeyRecord>>> {
        grants::resolve_key(kms, ctx, &req.key_id).map(Some)
    }

    /// `kms:GrantIsForAWSResource`: false, no AWS service calls hsm-kms.
    fn conditions(_req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        values.add("kms:GrantIsForAWSResource", "false");
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let key = call.key()?;
        let grant_id = grants::parse_grant_id(&req.grant_id)?;
        {
            let _guard = kms.write_guard();
            grants::find(kms, key, &grant_id)?;
            crate::kms::operation::stop_dry_run(req.dry_run)?;
            kms.commit(vec![Write::DeleteGrant {
                region: key.region,
                key_id: key.key_id.clone(),
                grant_id,
            }])?;
        }
        Ok(Output::from(json!({})).with_audit(RecordDetail {
            key_arn: Some(key.arn()),
            ..RecordDetail::default()
        }))
    }
}
