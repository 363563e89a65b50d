//! The authorization hook: the one place that decides whether a caller may perform an
//! action on a key, an alias, or nothing in particular in a Region. The dispatcher calls
//! it once per request, after the key is resolved and its state checked and before the
//! operation runs (for the alias actions, first on the alias); an operation that acts on
//! a second resource (ReEncrypt's source key, UpdatePrimaryRegion's replica, UpdateAlias's
//! current target, ReplicateKey's kms:CreateKey in the replica Region) asks again through
//! [`super::operation::Call::authorize_also`] and friends.
//!
//! Open mode allows everything. Strict mode builds the request's condition keys — the
//! global ones from the verified caller (`authz`), the operation's own `kms:` keys
//! ([`super::operation::Operation::conditions`]), and what the key says of itself
//! (`kms:KeySpec`, `kms:KeyUsage`, `kms:KeyOrigin`, `kms:MultiRegion`,
//! `kms:MultiRegionKeyType`, `aws:ResourceTag/*`, `kms:ResourceAliases`) — and lets
//! `authz` decide in AWS's order (explicit deny, key policy, IAM policies, the key's
//! grants — [`Kms::grants_for`]). A refusal is AccessDeniedException with AWS's message.
//!
//! RetireGrant is not decided by policies: here only an explicit deny of
//! `kms:RetireGrant` in the caller's IAM policies refuses it, and the grant decides the
//! rest ([`authorize_retire`]). A CreateGrant that only a grant allowed may create only a
//! grant within that grant: the hook says which grant allowed an action
//! ([`Permit::Grant`]).

use crate::authz::rules::{self, Source};
use crate::authz::Allowed;
use crate::authz::{Caller, Denial, DenyReason, GrantView, Request, RequestFacts, Resource};
use crate::domain::key::{KeyRecord, MultiRegionRole};
use crate::domain::region::Region;
use crate::domain::request::{ConditionValues, RequestContext};

use super::error::{ErrorKind, KmsError, KmsResult};
use super::grant_index::Grant;
use super::service::Kms;

/// Why the hook let an action through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permit {
    /// Open mode: everything is allowed.
    Open,
    /// The key policy and/or IAM policies allow it.
    Policies,
    /// This grant (its id) allows it.
    Grant(String),
    /// The action is the grant's to decide (RetireGrant, [`authorize_retire`]); no IAM
    /// policy denies it.
    LeftToTheGrant,
}

/// What an action is asked on.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A KMS key (its key policy, IAM policies, grants).
    Key(&'a KeyRecord),
    /// An alias, by ARN (IAM policies only).
    Alias(&'a str),
    /// No particular resource, in a Region (`kms:CreateKey`, `kms:ListKeys`, …).
    Region(Region),
    /// A key being created in a Region: as [`Target::Region`], but a denial names no
    /// resource, as AWS's does for the `kms:TagResource` check of CreateKey and
    /// ReplicateKey with tags.
    NewKey(Region),
}

/// May the caller of `ctx` perform `action` (an IAM action such as `kms:Encrypt`) on `key`
/// (`None`: an action on no particular key, in the request's Region)? `conditions`
/// computes the request's condition values (`kms:EncryptionContext:*`,
/// `kms:EncryptionAlgorithm`, …); it is called only in strict mode. A refusal is the error
/// the caller gets (AccessDeniedException).
pub fn authorize(
    kms: &Kms,
    ctx: &RequestContext,
    action: &'static str,
    key: Option<&KeyRecord>,
    conditions: &dyn Fn() -> ConditionValues,
) -> KmsResult<Permit> {
    let target = match key {
        Some(k) => Target::Key(k),
        None => Target::Region(ctx.region),
    };
    authorize_on(kms, ctx, action, target, conditions)
}

/// [`authorize`] on any [`Target`].
pub fn authorize_on(
    kms: &Kms,
    ctx: &RequestContext,
    action: &str,
    target: Target<'_>,
    conditions: &dyn Fn() -> ConditionValues,
) -> KmsResult<Permit> {
    let Some(authz) = kms.access.authorizer() else {
        return Ok(Permit::Open);
    };
    let now = kms.clock.now();
    let caller = caller(kms, ctx)?;
    let region = match target {
        Target::Key(k) => k.region,
        Target::Alias(_) => ctx.region,
        Target::Region(r) | Target::NewKey(r) => r,
    };
    let facts = RequestFacts {
        region: region.as_str(),
        source_ip: Some(&ctx.source_ip),
        secure_transport: ctx.secure_transport,
        now: now.secs(),
    };
    let mut values = authz.context(&caller, &facts, action);
    let own = conditions();
    for (k, v) in own.iter() {
        values.set_all(k, v.iter().cloned());
    }
    let source = rules::rule(action).map(|r| r.source);
    let iam_only = source == Some(Source::IamOnly);
    let nothing = Resource::Nothing {
        partition: region.partition().as_str(),
        region: region.as_str(),
    };
    let decision = match target {
        Target::Key(key) if source == Some(Source::Grant) => {
            // Only an explicit deny in the caller's IAM policies refuses it here.
            key_values(kms, key, &mut values);
            let arn = key.arn();
            return match authz.authorize_iam(&caller, action, &arn, &values) {
                Err(d) if d.reason == DenyReason::ExplicitDenyIdentity => Err(denied(&d)),
                _ => Ok(Permit::LeftToTheGrant),
            };
        }
        Target::Key(key) if !iam_only => {
            key_values(kms, key, &mut values);
            let arn = key.arn();
            let policy = match authz.key_policy(&key.policy) {
                Ok(p) => p,
                Err(e) => {
                    // A policy stored before strict mode that strict parsing refuses
                    // allows nothing (the account can still be let in by a new policy
                    // put with BypassPolicyLockoutSafetyCheck by whoever IAM allows).
                    tracing::warn!(key = %arn, "the key policy does not parse, so it allows nothing: {e}");
                    return Err(denied(&Denial {
                        reason: DenyReason::NoResourcePolicyAllows,
                        principal: caller.arn().to_string(),
                        action: action.to_string(),
                        resource: Some(arn),
                    }));
                }
            };
            let held = kms.grants_for(key);
            let grants: Vec<GrantView<'_>> = held.iter().filter_map(|g| g.view()).collect();
            let encryption_context = own.encryption_context();
            authz.authorize(
                &caller,
                &Request {
                    action,
                    resource: Resource::Key {
                        arn: &arn,
                        account: &key.account_id,
                        policy: &policy,
                    },
                    context: &values,
                    grants: &grants,
                    encryption_context: Some(&encryption_context),
                },
            )
        }
        Target::Alias(arn) => authz.authorize(
            &caller,
            &Request {
                action,
                resource: Resource::Alias {
                    arn,
                    account: kms.account(),
                },
                context: &values,
                grants: &[],
                encryption_context: None,
            },
        ),
        Target::Key(_) | Target::Region(_) | Target::NewKey(_) => authz
            .authorize(
                &caller,
                &Request {
                    action,
                    resource: nothing,
                    context: &values,
                    grants: &[],
                    encryption_context: None,
                },
            )
            .map_err(|mut d| {
                if matches!(target, Target::NewKey(_)) {
                    d.resource = None;
                }
                d
            }),
    };
    match decision {
        Ok(Allowed::Policy) => Ok(Permit::Policies),
        Ok(Allowed::Grant(id)) => Ok(Permit::Grant(id)),
        Err(d) => Err(denied(&d)),
    }
}

/// The refusal of a CreateGrant that only a grant allowed and whose new grant would allow
/// more than that grant (another operation, or looser constraints).
pub fn grant_exceeds_parent(
    kms: &Kms,
    ctx: &RequestContext,
    key: &KeyRecord,
) -> KmsResult<KmsError> {
    let caller = caller(kms, ctx)?;
    Ok(KmsError::new(
        ErrorKind::AccessDenied,
        format!(
            "User: {} is not authorized to perform: kms:CreateGrant on resource: {} because the grant that allows it does not allow the grant requested (its operations, or its constraints, go beyond that grant's)",
            caller.arn(),
            key.arn()
        ),
    ))
}

/// RetireGrant, decided by the grant (grant-manage.md, "Retiring and revoking grants"):
/// its retiring principal, its grantee when it allows RetireGrant, or the account it was
/// created in may retire it; an account named in the grant, and the issuing account,
/// stand for their IAM principals where those principals' IAM policies allow
/// `kms:RetireGrant` on the key. (An explicit deny was refused by the hook already.) Open
/// mode: every caller is the account's root user, which may retire every grant of its
/// account.
pub fn authorize_retire(kms: &Kms, ctx: &RequestContext, grant: &Grant) -> KmsResult<()> {
    let Some(authz) = kms.access.authorizer() else {
        return Ok(());
    };
    let caller = caller(kms, ctx)?;
    let arn = kms.key_arn(grant.record.region, &grant.record.key_id);
    let facts = RequestFacts {
        region: grant.record.region.as_str(),
        source_ip: Some(&ctx.source_ip),
        secure_transport: ctx.secure_transport,
        now: kms.clock.now().secs(),
    };
    let values = authz.context(&caller, &facts, "kms:RetireGrant");
    let iam_allows = authz
        .authorize_iam(&caller, "kms:RetireGrant", &arn, &values)
        .is_ok();
    if grant.may_retire(&caller, iam_allows) {
        return Ok(());
    }
    Err(denied(&Denial {
        reason: DenyReason::NoResourcePolicyAllows,
        principal: caller.arn().to_string(),
        action: "kms:RetireGrant".into(),
        resource: Some(arn),
    }))
}

/// Decides an action that IAM policies alone govern, of a service other than KMS served on
/// the port (`cloudformation:*`, `cloudtrail:*`), on `resource` (an ARN, or `*`), with the
/// global condition keys of the request. Open mode allows everything.
pub fn authorize_iam(
    kms: &Kms,
    ctx: &RequestContext,
    action: &str,
    resource: &str,
) -> KmsResult<()> {
    let Some(authz) = kms.access.authorizer() else {
        return Ok(());
    };
    let caller = caller(kms, ctx)?;
    let facts = RequestFacts {
        region: ctx.region.as_str(),
        source_ip: Some(&ctx.source_ip),
        secure_transport: ctx.secure_transport,
        now: kms.clock.now().secs(),
    };
    let values = authz.context(&caller, &facts, action);
    authz
        .authorize_iam(&caller, action, resource, &values)
        .map_err(|d| denied(&d))
}

/// The verified caller of a request (strict mode). An access key no verification vouched
/// for — an internal caller's mistake, or a session that expired meanwhile — is refused
/// as AWS refuses unknown credentials.
pub fn caller(kms: &Kms, ctx: &RequestContext) -> KmsResult<Caller> {
    kms.access
        .caller(&ctx.access_key, kms.clock.now())
        .ok_or_else(|| {
            KmsError::new(
                ErrorKind::UnrecognizedClient,
                "The security token included in the request is invalid.",
            )
        })
}

/// The checks of a key policy about to be stored (CreateKey, PutKeyPolicy, ReplicateKey
/// with a Policy), in both modes: a well-formed policy document that KMS accepts
/// (MalformedPolicyDocumentException with AWS's message otherwise). In strict mode also:
/// every principal it names is declared in the principals file, and — unless
/// `bypass_lockout_check` — the policy still lets the caller call PutKeyPolicy on `key`
/// (the lockout safety check). Open mode skips those two: every caller is the account
/// root, and no policy locks it out of a server in open mode.
pub fn check_new_policy(
    kms: &Kms,
    ctx: &RequestContext,
    text: &str,
    key: &KeyRecord,
    bypass_lockout_check: bool,
) -> KmsResult<()> {
    super::policy::check_policy(text)?;
    let Some(authz) = kms.access.authorizer() else {
        return Ok(());
    };
    let caller = caller(kms, ctx)?;
    let facts = RequestFacts {
        region: key.region.as_str(),
        source_ip: Some(&ctx.source_ip),
        secure_transport: ctx.secure_transport,
        now: kms.clock.now().secs(),
    };
    let mut values = authz.context(&caller, &facts, "kms:PutKeyPolicy");
    key_values(kms, key, &mut values);
    authz
        .check_new_key_policy(
            text,
            &caller,
            &key.arn(),
            &key.account_id,
            &values,
            bypass_lockout_check,
        )
        .map(|_| ())
        .map_err(|e| KmsError::new(ErrorKind::MalformedPolicyDocument, e.message()))
}

/// A denial as the caller gets it.
pub fn denied(d: &Denial) -> KmsError {
    KmsError::new(ErrorKind::AccessDenied, d.message())
}

/// The condition keys a key gives every request on it: `kms:KeySpec`, `kms:KeyUsage`,
/// `kms:KeyOrigin`, `kms:MultiRegion`, `kms:MultiRegionKeyType`, `aws:ResourceTag/*` and
/// `kms:ResourceAliases` (the aliases of the key in its Region).
fn key_values(kms: &Kms, key: &KeyRecord, values: &mut crate::authz::ConditionValues) {
    values
        .set("kms:KeySpec", key.key_spec.as_str())
        .set("kms:KeyUsage", key.key_usage.as_str())
        .set("kms:KeyOrigin", key.origin.as_str())
        .set(
            "kms:MultiRegion",
            if key.multi_region.is_some() {
                "true"
            } else {
                "false"
            },
        );
    if let Some(role) = key.multi_region {
        values.set(
            "kms:MultiRegionKeyType",
            match role {
                MultiRegionRole::Primary => "PRIMARY",
                MultiRegionRole::Replica => "REPLICA",
            },
        );
    }
    values.set_resource_tags(key.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())));
    let aliases: Vec<String> = kms
        .state()
        .aliases
        .get(&key.region)
        .map(|m| {
            m.values()
                .filter(|a| a.target == key.key_id)
                .map(|a| a.name.as_str().to_string())
                .collect()
        })
        .unwrap_or_default();
    values.set_all("kms:ResourceAliases", aliases);
}
