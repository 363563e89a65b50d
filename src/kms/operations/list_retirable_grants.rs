//! ListRetirableGrants: every grant of the request's Region whose retiring principal (or
//! retiring service principal) is the one named, across the Region's keys, paged (50 by
//! default, at most 100 a page). It is authorized on no key (`kms:ListRetirableGrants`
//! comes from IAM policies only).

use serde::Deserialize;
use serde_json::json;

use crate::domain::grant::GrantPrincipal;
use crate::domain::request::RequestContext;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::grants;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::operations::create_grant::check_principal;
use crate::kms::service::Kms;
use crate::kms::wire::{page, Output};

pub struct ListRetirableGrants;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    limit: Option<i64>,
    marker: Option<String>,
    retiring_principal: Option<String>,
    retiring_service_principal: Option<String>,
}

impl Request {
    fn retiring(&self) -> KmsResult<GrantPrincipal> {
        match (&self.retiring_principal, &self.retiring_service_principal) {
            (Some(p), None) => Ok(GrantPrincipal::Principal(p.clone())),
            (None, Some(s)) => Ok(GrantPrincipal::Service(s.clone())),
            _ => Err(KmsError::validation(
                "You must specify either RetiringPrincipal or RetiringServicePrincipal, but not both.",
            )),
        }
    }
}

impl Operation for ListRetirableGrants {
    const SPEC: Spec = Spec {
        name: "ListRetirableGrants",
        action: "kms:ListRetirableGrants",
        key_state: None,
        pool: Pool::Short,
        read_only: true,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        if let GrantPrincipal::Principal(p) = req.retiring()? {
            check_principal("RetiringPrincipal", &p)?;
        }
        grants::check_marker(req.marker.as_deref())
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let retiring = req.retiring()?;
        let mut listed: Vec<(String, serde_json::Value)> = {
            let state = kms.state();
            state
                .grants
                .in_region(call.ctx.region)
                .filter(|g| g.record.retiring.as_ref() == Some(&retiring))
                .map(|g| {
                    (
                        format!("{}/{}", g.record.key_id, grants::listing_key(&g.record)),
                        grants::entry_json(kms, &g.record),
                    )
                })
                .collect()
        };
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        let (entries, next) = page(
            listed.into_iter(),
            req.marker.as_deref(),
            Some(grants::page_limit(req.limit)),
        );
        let mut out = json!({"Grants": entries, "Truncated": next.is_some()});
        if let Some(m) = next {
            out["NextMarker"] = json!(m);
        }
        Ok(out.into())
    }
}
