//! RetireGrant: deletes a grant named by its grant token, or by key id (or key ARN) and
//! grant id. Who may retire it is the grant's to say (grant-manage.md: its retiring
//! principal, its grantee when it allows RetireGrant, the account it was created in),
//! through [`crate::kms::authorization::authorize_retire`]. A token that is not one of this Region's is
//! InvalidGrantTokenException; a grant that no longer exists is NotFoundException.

use std::cell::OnceCell;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use crate::domain::grant::GrantId;
use crate::domain::key::KeyRecord;
use crate::domain::request::RequestContext;
use crate::domain::write::Write;
use crate::kms::authorization;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::grants::{self, TokenClaims};
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{Output, RecordDetail};

pub struct RetireGrant;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    grant_token: Option<String>,
    key_id: Option<String>,
    grant_id: Option<String>,
    dry_run: Option<bool>,
    /// What the grant token names, once opened (by `check_request`).
    #[serde(skip)]
    claims: OnceCell<TokenClaims>,
}

impl Request {
    /// The grant to retire: the one the token names, or `GrantId`. When the request has
    /// both, they must agree.
    fn grant_id(&self) -> KmsResult<GrantId> {
        let by_id = self
            .grant_id
            .as_deref()
            .map(grants::parse_grant_id)
            .transpose()?;
        match (self.claims.get(), by_id) {
            (Some(claims), Some(id)) if claims.grant_id != id => Err(KmsError::validation(
                "The GrantId does not identify the grant of the grant token: name the grant by its token, or by KeyId and GrantId.",
            )),
            (Some(claims), _) => Ok(claims.grant_id.clone()),
            (None, Some(id)) => Ok(id),
            (None, None) => Err(neither()),
        }
    }
}

fn neither() -> KmsError {
    KmsError::validation(
        "Either a GrantToken, or both a KeyId and a GrantId, must be specified to identify the grant to retire.",
    )
}

impl Operation for RetireGrant {
    const SPEC: Spec = Spec {
        name: "RetireGrant",
        action: "kms:RetireGrant",
        key_state: Some(Op::RetireGrant),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn check_request(kms: &Kms, ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        match &req.grant_token {
            Some(token) => {
                let claims = grants::open_token(kms, ctx.region, token)?;
                // Set once: check_request runs once per request.
                let _ = req.claims.set(claims);
            }
            None if req.key_id.is_none() || req.grant_id.is_none() => return Err(neither()),
            None => {}
        }
        req.grant_id().map(|_| ())
    }

    fn resolve(
        kms: &Kms,
        ctx: &RequestContext,
        req: &Request,
    ) -> KmsResult<Option<Arc<KeyRecord>>> {
        let named = req
            .key_id
            .as_deref()
            .map(|raw| grants::resolve_key(kms, ctx, raw))
            .transpose()?;
        let Some(claims) = req.claims.get() else {
            return Ok(named);
        };
        if let Some(key) = &named {
            if key.key_id != claims.key_id {
                return Err(KmsError::validation(format!(
                    "The grant token is for a grant of another KMS key than {}.",
                    key.arn()
                )));
            }
            return Ok(named);
        }
        kms.get_key(ctx.region, &claims.key_id)
            .map(Some)
            .ok_or_else(|| {
                KmsError::not_found(format!(
                    "Key '{}' does not exist",
                    kms.key_arn(ctx.region, &claims.key_id)
                ))
            })
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let key = call.key()?;
        let grant_id = req.grant_id()?;
        {
            let _guard = kms.write_guard();
            let grant = grants::find(kms, key, &grant_id)?;
            authorization::authorize_retire(kms, call.ctx, &grant)?;
            crate::kms::operation::stop_dry_run(req.dry_run)?;
            kms.commit(vec![Write::DeleteGrant {
                region: key.region,
                key_id: key.key_id.clone(),
                grant_id: grant_id.clone(),
            }])?;
        }
        Ok(Output::from(json!({})).with_audit(RecordDetail {
            key_arn: Some(key.arn()),
            response_elements: None,
            additional_event_data: Some(json!({ "grantId": grant_id.as_str() })),
        }))
    }
}
