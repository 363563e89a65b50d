//! ListGrants: the grants of a key of the request's Region (never those of a related
//! multi-Region key), in creation order, paged (50 by default, at most 100 a page),
//! optionally only the grant `GrantId` or the grants of one grantee.

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::KeyRecord;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::kms::error::KmsResult;
use crate::kms::grants;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{page, Output, RecordDetail};

pub struct ListGrants;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    limit: Option<i64>,
    marker: Option<String>,
    grant_id: Option<String>,
    grantee_principal: Option<String>,
    grantee_service_principal: Option<String>,
}

impl Operation for ListGrants {
    const SPEC: Spec = Spec {
        name: "ListGrants",
        action: "kms:ListGrants",
        key_state: Some(Op::ListGrants),
        pool: Pool::Short,
        read_only: true,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        grants::check_marker(req.marker.as_deref())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn resolve(
        kms: &Kms,
        ctx: &RequestContext,
        req: &Request,
    ) -> KmsResult<Option<std::sync::Arc<KeyRecord>>> {
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
        let only = req.grant_id.as_deref().map(grants::parse_grant_id).transpose()?;
        let mut listed: Vec<_> = kms
            .grants_for(key)
            .into_iter()
            .filter(|g| only.as_ref().is_none_or(|id| &g.record.grant_id == id))
            .filter(|g| {
                req.grantee_principal
                    .as_deref()
                    .is_none_or(|p| g.record.grantee.principal() == Some(p))
            })
            .filter(|g| {
                req.grantee_service_principal
                    .as_deref()
                    .is_none_or(|s| g.record.grantee.service() == Some(s))
            })
            .map(|g| (grants::listing_key(&g.record), g))
            .collect();
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        let items = listed
            .into_iter()
            .map(|(k, g)| (k, grants::entry_json(kms, &g.record)));
        let (entries, next) = page(
            items,
            req.marker.as_deref(),
            Some(grants::page_limit(req.limit)),
        );
        let mut out = json!({"Grants": entries, "Truncated": next.is_some()});
        if let Some(m) = next {
            out["NextMarker"] = json!(m);
        }
        Ok(Output::from(out).with_audit(RecordDetail {
            key_arn: Some(key.arn()),
            ..RecordDetail::default()
        }))
    }
}
