//! CreateGrant: a grant on a key of the request's Region, for a grantee principal (or an
//! AWS service principal), allowing some grant operations, optionally under constraints,
//! optionally retirable by a retiring principal. Returns the grant id and a new grant
//! token (sealed in the Region's token, [`crate::kms::grants`]).
//!
//! The rules, in the order they are checked:
//! - the request alone: one grantee (`GranteePrincipal` or `GranteeServicePrincipal`), at
//!   most one retiring principal, principals that are principal ARNs (InvalidArnException),
//!   at least one operation and not only `CreateGrant`, at most 8 encryption context pairs
//!   and 384 characters in each constraint, encryption-context constraints only with
//!   operations that take an encryption context (and DescribeKey, CreateGrant,
//!   RetireGrant), a service grantee only with a `SourceArn` constraint and a retiring
//!   principal;
//! - the key (a key id or key ARN; an alias is InvalidArnException): every operation must
//!   be one the key supports (authz::rules' table: no Sign on a symmetric key, no data
//!   keys from an asymmetric one, …), and encryption-context constraints need a symmetric
//!   encryption key;
//! - the key state (the key-state table's CreateGrant row);
//! - a named request with the same parameters as an existing grant of the key is a retry:
//!   the same grant id, a new token, nothing written; otherwise a key with
//!   `max_grants_per_key` grants refuses a new one (LimitExceededException);
//! - DryRun: DryRunOperationException once everything above passed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use crate::authz::arn::PrincipalArn;
use crate::domain::grant::{GrantConstraints, GrantId, GrantOperation, GrantPrincipal, GrantRecord};
use crate::domain::key::KeyRecord;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::domain::write::Write;
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::authorization;
use crate::kms::grant_index::{account_root, admits_child};
use crate::kms::grants;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{Output, RecordDetail};

/// Encryption context pairs one constraint may hold.
pub const MAX_CONSTRAINT_PAIRS: usize = 8;
/// Characters (keys and values together) one constraint's encryption context may hold.
pub const MAX_CONSTRAINT_CHARS: usize = 384;

pub struct CreateGrant;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    grantee_principal: Option<String>,
    grantee_service_principal: Option<String>,
    retiring_principal: Option<String>,
    retiring_service_principal: Option<String>,
    operations: Vec<GrantOperation>,
    constraints: Option<Constraints>,
    name: Option<String>,
    dry_run: Option<bool>,
}

/// `GrantConstraints` as the request spells it.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Constraints {
    encryption_context_equals: Option<BTreeMap<String, String>>,
    encryption_context_subset: Option<BTreeMap<String, String>>,
    source_arn: Option<String>,
}

impl Request {
    /// The operations without duplicates, in the request's order.
    fn operations(&self) -> Vec<GrantOperation> {
        let mut ops: Vec<GrantOperation> = Vec::with_capacity(self.operations.len());
        for op in &self.operations {
            if !ops.contains(op) {
                ops.push(*op);
            }
        }
        ops
    }

    /// The constraints, `None` when the request has none (or an empty structure).
    fn constraints(&self) -> Option<GrantConstraints> {
        let c = self.constraints.as_ref()?;
        let out = GrantConstraints {
            encryption_context_equals: c.encryption_context_equals.clone(),
            encryption_context_subset: c.encryption_context_subset.clone(),
            source_arn: c.source_arn.clone(),
        };
        (out != GrantConstraints::default()).then_some(out)
    }

    fn grantee(&self) -> KmsResult<GrantPrincipal> {
        match (&self.grantee_principal, &self.grantee_service_principal) {
            (Some(p), None) => Ok(GrantPrincipal::Principal(p.clone())),
            (None, Some(s)) => Ok(GrantPrincipal::Service(s.clone())),
            _ => Err(KmsError::validation(
                "You must specify either GranteePrincipal or GranteeServicePrincipal, but not both.",
            )),
        }
    }

    fn retiring(&self) -> KmsResult<Option<GrantPrincipal>> {
        match (&self.retiring_principal, &self.retiring_service_principal) {
            (None, None) => Ok(None),
            (Some(p), None) => Ok(Some(GrantPrincipal::Principal(p.clone()))),
            (None, Some(s)) => Ok(Some(GrantPrincipal::Service(s.clone()))),
            (Some(_), Some(_)) => Err(KmsError::validation(
                "You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both.",
            )),
        }
    }
}

/// A principal member must name an AWS principal: an account (id or `…:root`), an IAM
/// user or role, or an assumed-role session.
pub fn check_principal(member: &str, value: &str) -> KmsResult<()> {
    if PrincipalArn::parse(value).is_some() {
        return Ok(());
    }
    Err(KmsError::new(
        ErrorKind::InvalidArn,
        format!(
            "{member} '{value}' is not a valid principal: use the ARN of an AWS account (arn:aws:iam::111122223333:root), an IAM user, an IAM role or an assumed-role session{}.",
            if member.starts_with("Grantee") {
                "; name an AWS service with GranteeServicePrincipal"
            } else {
                ""
            }
        ),
    ))
}

/// Strict mode: a grantee or retiring principal must exist (the principals file declares
/// it), as AWS refuses a principal it does not know.
fn check_known(kms: &Kms, arn: &str) -> KmsResult<()> {
    let Some(authz) = kms.access.authorizer() else {
        return Ok(());
    };
    match PrincipalArn::parse(arn) {
        Some(p) if authz.principals.exists(&p) => Ok(()),
        _ => Err(KmsError::new(
            ErrorKind::InvalidArn,
            format!("ARN does not refer to a valid principal: {arn}"),
        )),
    }
}

fn check_constraint_context(member: &str, context: &BTreeMap<String, String>) -> KmsResult<()> {
    if context.len() > MAX_CONSTRAINT_PAIRS {
        return Err(KmsError::validation(format!(
            "The {member} grant constraint has {} encryption context pairs; a grant constraint can include up to {MAX_CONSTRAINT_PAIRS}.",
            context.len()
        )));
    }
    let chars: usize = context
        .iter()
        .map(|(k, v)| k.chars().count() + v.chars().count())
        .sum();
    if chars > MAX_CONSTRAINT_CHARS {
        return Err(KmsError::validation(format!(
            "The encryption context in the {member} grant constraint has {chars} characters; it cannot exceed {MAX_CONSTRAINT_CHARS}."
        )));
    }
    Ok(())
}

/// "operation Sign is" / "operations Sign, Verify are".
fn operations_are(ops: &[GrantOperation]) -> String {
    let list = ops.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", ");
    if ops.len() == 1 {
        format!("operation {list} is")
    } else {
        format!("operations {list} are")
    }
}

impl Operation for CreateGrant {
    const SPEC: Spec = Spec {
        name: "CreateGrant",
        action: "kms:CreateGrant",
        key_state: Some(Op::CreateGrant),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn check_request(kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        let grantee = req.grantee()?;
        if let GrantPrincipal::Principal(p) = &grantee {
            check_principal("GranteePrincipal", p)?;
            check_known(kms, p)?;
        }
        let retiring = req.retiring()?;
        if let Some(GrantPrincipal::Principal(p)) = &retiring {
            check_principal("RetiringPrincipal", p)?;
            check_known(kms, p)?;
        }
        let ops = req.operations();
        if ops.is_empty() {
            return Err(KmsError::validation(
                "A grant must allow at least one operation: Operations is empty.",
            ));
        }
        if ops == [GrantOperation::CreateGrant] {
            return Err(KmsError::validation(
                "Grants must not contain only the CreateGrant operation.",
            ));
        }
        let constraints = req.constraints();
        if let Some(c) = &constraints {
            if let Some(eq) = &c.encryption_context_equals {
                check_constraint_context("EncryptionContextEquals", eq)?;
            }
            if let Some(sub) = &c.encryption_context_subset {
                check_constraint_context("EncryptionContextSubset", sub)?;
            }
            if c.has_encryption_context() {
                let other: Vec<GrantOperation> = ops
                    .iter()
                    .copied()
                    .filter(|o| !grants::constrainable(*o))
                    .collect();
                if !other.is_empty() {
                    return Err(KmsError::validation(format!(
                        "EncryptionContextEquals and EncryptionContextSubset grant constraints are supported only on grant operations that take an encryption context (and DescribeKey, CreateGrant, RetireGrant); the grant {} not.",
                        operations_are(&other)
                    )));
                }
            }
        }
        if matches!(grantee, GrantPrincipal::Service(_)) {
            if constraints.as_ref().and_then(|c| c.source_arn.as_ref()).is_none() {
                return Err(KmsError::validation(
                    "When you specify a GranteeServicePrincipal, you must also specify a SourceArn grant constraint.",
                ));
            }
            if retiring.is_none() {
                return Err(KmsError::validation(
                    "When you specify a GranteeServicePrincipal, you must also specify a RetiringPrincipal or a RetiringServicePrincipal.",
                ));
            }
        }
        Ok(())
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

    fn check_key(req: &Request, key: &KeyRecord) -> KmsResult<()> {
        let unsupported: Vec<GrantOperation> = req
            .operations()
            .into_iter()
            .filter(|o| !grants::accepts_operation(key, *o))
            .collect();
        if !unsupported.is_empty() {
            return Err(KmsError::validation(format!(
                "The grant {} not supported by KMS key {}: its KeySpec is {} and its KeyUsage is {}.",
                operations_are(&unsupported),
                key.arn(),
                key.key_spec.as_str(),
                key.key_usage.as_str()
            )));
        }
        if req.constraints().is_some_and(|c| c.has_encryption_context())
            && !grants::takes_encryption_context(key)
        {
            return Err(KmsError::validation(format!(
                "Encryption context grant constraints are valid only in a grant for a symmetric encryption KMS key; {} has KeySpec {} and KeyUsage {}.",
                key.arn(),
                key.key_spec.as_str(),
                key.key_usage.as_str()
            )));
        }
        Ok(())
    }

    /// `kms:GrantOperations`, `kms:GranteePrincipal`, `kms:RetiringPrincipal`,
    /// `kms:GrantConstraintType`, `kms:GrantIsForAWSResource` (false: no AWS service calls
    /// hsm-kms), and the constraint's encryption context as `kms:EncryptionContext:*` /
    /// `kms:EncryptionContextKeys`.
    fn conditions(req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        for op in req.operations() {
            values.add("kms:GrantOperations", op.as_str());
        }
        if let Some(p) = &req.grantee_principal {
            values.add("kms:GranteePrincipal", p.as_str());
        }
        if let Some(p) = &req.retiring_principal {
            values.add("kms:RetiringPrincipal", p.as_str());
        }
        values.add("kms:GrantIsForAWSResource", "false");
        if let Some(c) = req.constraints() {
            for (kind, context) in [
                ("EncryptionContextEquals", &c.encryption_context_equals),
                ("EncryptionContextSubset", &c.encryption_context_subset),
            ] {
                if let Some(context) = context {
                    values.add("kms:GrantConstraintType", kind);
                    for (k, v) in context {
                        values.add(format!("kms:EncryptionContext:{k}"), v.as_str());
                        values.add("kms:EncryptionContextKeys", k.as_str());
                    }
                }
            }
        }
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let key = call.key()?;
        let candidate = GrantRecord {
            region: key.region,
            key_id: key.key_id.clone(),
            grant_id: GrantId::new(),
            name: req.name.clone(),
            grantee: req.grantee()?,
            retiring: req.retiring()?,
            operations: req.operations(),
            constraints: req.constraints(),
            issuing_account: account_root(key.region.partition().as_str(), kms.account()),
            created: kms.clock.now(),
        };
        let (grant_id, token) = {
            let _guard = kms.write_guard();
            let key = call.reload(kms)?;
            let existing = kms.grants_for(&key);
            let retry = existing
                .iter()
                .find(|g| g.record.same_grant(&candidate))
                .map(|g| g.record.grant_id.clone());
            // Strict mode: when a grant, not a policy, allowed this CreateGrant, the new
            // grant must be within it (create-grant-overview.md, "Granting CreateGrant
            // permission"), else AccessDeniedException.
            if let Some(parent) = call.allowed_by_grant() {
                let within = GrantId::parse(parent)
                    .and_then(|id| kms.grant(&key, &id))
                    .is_some_and(|p| admits_child(&p.record, &candidate));
                if !within {
                    return Err(authorization::grant_exceeds_parent(kms, call.ctx, &key)?);
                }
            }
            let max = kms.config.max_grants_per_key as usize;
            if retry.is_none() && existing.len() >= max {
                return Err(KmsError::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "KMS key {} already has {} grants, the most a KMS key can have (Grants per KMS key: {max}). Retire or revoke grants it no longer needs.",
                        key.arn(),
                        existing.len()
                    ),
                ));
            }
            crate::kms::operation::stop_dry_run(req.dry_run)?;
            let grant_id = retry.clone().unwrap_or(candidate.grant_id.clone());
            // The token first: if sealing fails, no grant exists without one.
            let token = grants::seal_token(kms, key.region, &key.key_id, &grant_id)?;
            if retry.is_none() {
                kms.commit(vec![Write::PutGrant(candidate)])?;
            }
            (grant_id, token)
        };
        Ok(Output::from(json!({
            "GrantId": grant_id.as_str(),
            "GrantToken": token,
        }))
        .with_audit(RecordDetail {
            key_arn: Some(key.arn()),
            response_elements: Some(json!({ "grantId": grant_id.as_str() })),
            additional_event_data: None,
        }))
    }
}
