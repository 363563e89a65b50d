//! KMS's authorization decision, in AWS's order (policy-evaluation.md):
//!
//! 1. an explicit deny in the key policy or in the caller's IAM policies denies;
//! 2. for the key's own account, the key policy decides: a statement naming the caller
//!    allows; a statement naming the caller's account (`…:root`) lets the caller's IAM
//!    policies decide;
//! 3. for a caller of another account, the action must be one AWS allows across accounts,
//!    and both the key policy (naming the caller or its account) and the caller's IAM
//!    policies must allow;
//! 4. actions on no particular key (`kms:CreateKey`, `kms:ListKeys`, …) and on aliases come
//!    from IAM policies only; the root user holds every IAM permission of its account;
//! 5. then grants: a grant naming the caller and the operation allows (subject to its
//!    encryption-context constraints); grants never override an explicit deny.
//!
//! Denials carry the principal, action and resource, and render AWS's messages.

use std::collections::BTreeMap;

use super::caller::Caller;
use super::context::ConditionValues;
use super::grants::{self, GrantView};
use super::policy::eval::{self, Decision, EvalRequest, PrincipalMatch, ResourceDecision};
use super::policy::{PolicyDoc, PolicyError};
use super::principals::{Identity, IdentityKind};
use super::rules::{self, Source};

/// What an action is performed on.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// A KMS key, with its key policy.
    Key {
        arn: &'a str,
        account: &'a str,
        policy: &'a PolicyDoc,
    },
    /// An alias (IAM policies only).
    Alias { arn: &'a str, account: &'a str },
    /// No particular resource: `kms:CreateKey`, `kms:ListKeys`, … in a Region.
    Nothing { partition: &'a str, region: &'a str },
}

/// One authorization question.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `kms:Encrypt`, …
    pub action: &'a str,
    pub resource: Resource<'a>,
    /// Global and `kms:` condition keys for this request.
    pub context: &'a ConditionValues,
    /// The key's grants (including any named by grant tokens in the request).
    pub grants: &'a [GrantView<'a>],
    /// The request's encryption context, for grant constraints.
    pub encryption_context: Option<&'a BTreeMap<String, String>>,
}

/// Why a request was allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// By the key policy and/or IAM policies.
    Policy,
    /// By this grant.
    Grant(String),
}

/// Why a request was denied: which of AWS's messages applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// A Deny statement in the caller's IAM policies applies.
    ExplicitDenyIdentity,
    /// A Deny statement in the key policy (or trust policy) applies.
    ExplicitDenyResource,
    /// The key policy allows neither the caller nor (for this action) the caller's account.
    NoResourcePolicyAllows,
    /// The key policy leaves it to IAM, and no IAM policy allows (also every denial of an
    /// IAM-only action).
    NoIdentityPolicyAllows,
    /// An account's root user asked to assume a role.
    RootCannotAssumeRole,
}

/// An `AccessDeniedException`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub reason: DenyReason,
    /// The caller's ARN.
    pub principal: String,
    pub action: String,
    /// The resource as the message names it (`*` for actions on no resource); `None`
    /// leaves `on resource: …` out, as AWS does for the `kms:TagResource` check of
    /// `CreateKey` with tags.
    pub resource: Option<String>,
}

impl Denial {
    /// The error code for KMS and the other JSON services.
    pub fn aws_code(&self) -> &'static str {
        "AccessDeniedException"
    }

    /// The error code as the protocol spells it (`AccessDenied` for STS's awsQuery).
    pub fn code(&self, protocol: super::sigv4::Protocol) -> &'static str {
        match protocol {
            super::sigv4::Protocol::Json => "AccessDeniedException",
            super::sigv4::Protocol::Query => "AccessDenied",
        }
    }

    /// The HTTP status: 400 for KMS (JSON), 403 for awsQuery services.
    pub fn http_status(&self, protocol: super::sigv4::Protocol) -> u16 {
        match protocol {
            super::sigv4::Protocol::Json => 400,
            super::sigv4::Protocol::Query => 403,
        }
    }

    /// AWS's message.
    pub fn message(&self) -> String {
        let on = match &self.resource {
            Some(r) => format!(" on resource: {r}"),
            None => String::new(),
        };
        let head = format!(
            "User: {} is not authorized to perform: {}{on}",
            self.principal, self.action
        );
        match self.reason {
            DenyReason::ExplicitDenyIdentity => {
                format!("{head} with an explicit deny in an identity-based policy")
            }
            DenyReason::ExplicitDenyResource => {
                format!("{head} with an explicit deny in a resource-based policy")
            }
            DenyReason::NoResourcePolicyAllows => format!(
                "{head} because no resource-based policy allows the {} action",
                self.action
            ),
            DenyReason::NoIdentityPolicyAllows => format!(
                "{head} because no identity-based policy allows the {} action",
                self.action
            ),
            DenyReason::RootCannotAssumeRole => "Roles may not be assumed by root accounts.".into(),
        }
    }
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Decides one request.
pub fn authorize(caller: &Caller, req: &Request) -> Result<Allowed, Denial> {
    let action_lower = req.action.to_ascii_lowercase();
    let rule = rules::rule(&action_lower);
    let deny = |reason: DenyReason, resource: &str| Denial {
        reason,
        principal: caller.arn().to_string(),
        action: req.action.to_string(),
        resource: Some(resource.to_string()),
    };
    match req.resource {
        Resource::Nothing { partition, region } => {
            let pattern = format!("arn:{partition}:kms:{region}:{}:*", caller.account());
            match iam_decision(caller, &action_lower, &pattern, req.context) {
                Decision::Allow => Ok(Allowed::Policy),
                Decision::ExplicitDeny => Err(deny(DenyReason::ExplicitDenyIdentity, "*")),
                Decision::ImplicitDeny => Err(deny(DenyReason::NoIdentityPolicyAllows, "*")),
            }
        }
        Resource::Alias { arn, account } => {
            if account != caller.account() {
                return Err(deny(DenyReason::NoIdentityPolicyAllows, arn));
            }
            match iam_decision(caller, &action_lower, arn, req.context) {
                Decision::Allow => Ok(Allowed::Policy),
                Decision::ExplicitDeny => Err(deny(DenyReason::ExplicitDenyIdentity, arn)),
                Decision::ImplicitDeny => Err(deny(DenyReason::NoIdentityPolicyAllows, arn)),
            }
        }
        Resource::Key {
            arn,
            account,
            policy,
        } => {
            let iam = iam_decision(caller, &action_lower, arn, req.context);
            if iam == Decision::ExplicitDeny {
                return Err(deny(DenyReason::ExplicitDenyIdentity, arn));
            }
            let kp = key_policy_decision(policy, caller, &action_lower, arn, req.context);
            if kp.deny {
                return Err(deny(DenyReason::ExplicitDenyResource, arn));
            }
            let same_account = account == caller.account();
            let source = rule.map_or(Source::KeyPolicy, |r| r.source);
            let cross_ok = rule.is_some_and(|r| r.cross_account);
            let policies_allow =
                source == Source::KeyPolicy && combine(kp.allow, iam, same_account, cross_ok);
            if policies_allow {
                return Ok(Allowed::Policy);
            }
            if rule.is_some_and(|r| r.grant_operation) && (same_account || cross_ok) {
                let operation = &req.action[req.action.find(':').map_or(0, |i| i + 1)..];
                for g in req.grants {
                    if grants::grant_allows(
                        g,
                        caller,
                        operation,
                        req.encryption_context,
                        iam == Decision::Allow,
                    ) {
                        return Ok(Allowed::Grant(g.grant_id.to_string()));
                    }
                }
            }
            // The key policy named the caller's account (or, across accounts, the caller) and
            // left the rest to IAM: the IAM side is what is missing.
            let left_to_iam = if same_account {
                kp.allow == PrincipalMatch::ViaAccount
            } else {
                cross_ok && kp.allow != PrincipalMatch::No
            };
            let reason = if left_to_iam {
                DenyReason::NoIdentityPolicyAllows
            } else {
                DenyReason::NoResourcePolicyAllows
            };
            Err(deny(reason, arn))
        }
    }
}

/// Decides an action that only IAM policies govern, outside KMS's rules (`cloudtrail:*`,
/// `cloudformation:*`): the caller's identity policies on `resource` (an ARN, or `*`).
/// The root user holds every permission of its account.
pub fn authorize_iam(
    caller: &Caller,
    action: &str,
    resource: &str,
    context: &ConditionValues,
) -> Result<(), Denial> {
    let deny = |reason| Denial {
        reason,
        principal: caller.arn().to_string(),
        action: action.to_string(),
        resource: Some(resource.to_string()),
    };
    match iam_decision(caller, &action.to_ascii_lowercase(), resource, context) {
        Decision::Allow => Ok(()),
        Decision::ExplicitDeny => Err(deny(DenyReason::ExplicitDenyIdentity)),
        Decision::ImplicitDeny => Err(deny(DenyReason::NoIdentityPolicyAllows)),
    }
}

/// Whether a resource-based policy's verdict and the caller's IAM verdict together allow
/// (explicit denies already handled).
fn combine(resource: PrincipalMatch, iam: Decision, same_account: bool, cross_ok: bool) -> bool {
    if same_account {
        resource == PrincipalMatch::Direct
            || (resource == PrincipalMatch::ViaAccount && iam == Decision::Allow)
    } else {
        cross_ok && resource != PrincipalMatch::No && iam == Decision::Allow
    }
}

/// The caller's IAM policies on a resource. The root user is not governed by IAM
/// policies: it holds every permission of its account.
fn iam_decision(
    caller: &Caller,
    action_lower: &str,
    resource: &str,
    context: &ConditionValues,
) -> Decision {
    if caller.is_root() {
        return Decision::Allow;
    }
    eval::evaluate(
        caller.identity_policies(),
        &EvalRequest {
            action_lower,
            resource,
            context,
        },
    )
}

/// The key policy's verdict, evaluated without the condition keys only IAM policies see.
fn key_policy_decision(
    policy: &PolicyDoc,
    caller: &Caller,
    action_lower: &str,
    resource: &str,
    context: &ConditionValues,
) -> ResourceDecision {
    let filtered;
    let context = if context.has_iam_only_keys() {
        filtered = context.for_key_policy();
        &filtered
    } else {
        context
    };
    eval::evaluate_resource(
        policy,
        &EvalRequest {
            action_lower,
            resource,
            context,
        },
        &caller.who(),
    )
}

/// The lockout safety check of CreateKey, PutKeyPolicy and ReplicateKey: the new key
/// policy must still let the caller call PutKeyPolicy on the key.
pub fn lockout_check(
    new_policy: &PolicyDoc,
    caller: &Caller,
    key_arn: &str,
    key_account: &str,
    context: &ConditionValues,
) -> Result<(), PolicyError> {
    let req = Request {
        action: "kms:PutKeyPolicy",
        resource: Resource::Key {
            arn: key_arn,
            account: key_account,
            policy: new_policy,
        },
        context,
        grants: &[],
        encryption_context: None,
    };
    authorize(caller, &req)
        .map(|_| ())
        .map_err(|_| PolicyError::Lockout)
}

/// Whether the caller may assume `role` (`sts:AssumeRole`): the role's trust policy and,
/// where it names only the caller's account or the caller is in another account, the
/// caller's IAM policies. Root users cannot assume roles.
pub fn may_assume(
    caller: &Caller,
    role: &Identity,
    context: &ConditionValues,
) -> Result<(), Denial> {
    let deny = |reason| Denial {
        reason,
        principal: caller.arn().to_string(),
        action: "sts:AssumeRole".into(),
        resource: Some(role.arn.clone()),
    };
    let Some(trust) = role.trust_policy.as_deref() else {
        return Err(deny(DenyReason::NoResourcePolicyAllows));
    };
    if caller.is_root() {
        return Err(deny(DenyReason::RootCannotAssumeRole));
    }
    if role.kind != IdentityKind::Role {
        return Err(deny(DenyReason::NoResourcePolicyAllows));
    }
    let iam = iam_decision(caller, "sts:assumerole", &role.arn, context);
    if iam == Decision::ExplicitDeny {
        return Err(deny(DenyReason::ExplicitDenyIdentity));
    }
    let t = eval::evaluate_resource(
        trust,
        &EvalRequest {
            action_lower: "sts:assumerole",
            resource: &role.arn,
            context,
        },
        &caller.who(),
    );
    if t.deny {
        return Err(deny(DenyReason::ExplicitDenyResource));
    }
    if combine(t.allow, iam, role.account == caller.account(), true) {
        return Ok(());
    }
    Err(deny(if t.allow == PrincipalMatch::No {
        DenyReason::NoResourcePolicyAllows
    } else {
        DenyReason::NoIdentityPolicyAllows
    }))
}

/// What the request path knows of a request, for the global condition keys.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// `aws:RequestedRegion`.
    pub region: &'a str,
    /// `aws:SourceIp` (the peer address).
    pub source_ip: Option<&'a str>,
    /// `aws:SecureTransport`.
    pub secure_transport: bool,
    /// `aws:CurrentTime` / `aws:EpochTime`: the server clock (which the admin endpoint
    /// can move), in epoch seconds, so time conditions follow the clock keys live by.
    pub now: f64,
}

/// The global condition keys and, where the action has it (operations on a key),
/// `kms:CallerAccount`. The operation adds its other `kms:` keys
/// ([`rules::condition_keys_for`]) and `aws:ResourceTag/…` / `aws:RequestTag/…`.
pub fn context_for(caller: &Caller, facts: &RequestFacts, action: &str) -> ConditionValues {
    let mut c = global_context(caller, facts);
    if rules::condition_keys_for(action).any(|k| k.key == "kms:CallerAccount") {
        c.set("kms:CallerAccount", caller.account());
    }
    c
}

/// The global condition keys for a caller and request. What describes the caller is
/// computed once per identity or session and shared.
pub fn global_context(caller: &Caller, facts: &RequestFacts) -> ConditionValues {
    let mut c = ConditionValues::on(caller_context(caller));
    c.set("aws:RequestedRegion", facts.region)
        .set(
            "aws:SecureTransport",
            if facts.secure_transport {
                "true"
            } else {
                "false"
            },
        )
        .set_time(facts.now);
    if let Some(ip) = facts.source_ip {
        c.set("aws:SourceIp", ip);
    }
    c
}

/// `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid`,
/// `aws:username`, `aws:PrincipalTag/*` of a caller.
fn caller_context(caller: &Caller) -> std::sync::Arc<ConditionValues> {
    let cell = match &caller.session {
        Some(s) => &s.context_base,
        None => &caller.identity.context_base,
    };
    cell.get_or_init(|| {
        let mut c = ConditionValues::new();
        c.set("aws:PrincipalArn", caller.principal_arn())
            .set("aws:PrincipalAccount", caller.account())
            .set("aws:PrincipalType", caller.principal_type())
            .set("aws:userid", caller.user_id());
        if let Some(name) = caller.username() {
            c.set("aws:username", name);
        }
        for (k, v) in &caller.identity.tags {
            c.set(&format!("aws:PrincipalTag/{k}"), v.as_str());
        }
        std::sync::Arc::new(c)
    })
    .clone()
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
