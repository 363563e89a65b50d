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
//! `authz` decide in AWS's order (explicit deny, key policy, IAM policies, grants). A
//! refusal is AccessDeniedException with AWS's message.

use crate::authz::rules::{self, Source};
use crate::authz::{Caller, Denial, DenyReason, GrantView, Request, RequestFacts, Resource};
use crate::domain::key::{KeyRecord, MultiRegionRole};
use crate::domain::region::Region;
use crate::domain::request::{ConditionValues, RequestContext};

use super::error::{ErrorKind, KmsError, KmsResult};
use super::service::Kms;

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
) -> KmsResult<()> {
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
) -> KmsResult<()> {
    let Some(authz) = kms.access.authorizer() else {
        return Ok(());
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
    let iam_only = rules::rule(action).is_some_and(|r| r.source == Source::IamOnly);
    let nothing = Resource::Nothing {
        partition: region.partition().as_str(),
        region: region.as_str(),
    };
    let decision = match target {
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
            let encryption_context = own.encryption_context();
            // GRANTS: kms.grants_for(key) once the grant operations land (branch `grants`).
            let grants: Vec<GrantView<'_>> = Vec::new();
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
    decision.map(|_| ()).map_err(|d| denied(&d))
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
