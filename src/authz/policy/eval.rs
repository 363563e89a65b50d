//! Evaluating policies for one request: which statements apply (principal, action,
//! resource, conditions), and what they decide together — an explicit deny wins, then an
//! allow, else the request is implicitly denied.

use super::super::arn;
use super::super::context::ConditionValues;
use super::super::glob::{self, Tok};
use super::document::{Effect, PolicyDoc, PrincipalElement, Statement};

/// The outcome of evaluating a set of policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A statement with `Effect: Deny` applies.
    ExplicitDeny,
    /// No statement allows (and none denies).
    ImplicitDeny,
}

/// What is being asked, as policies see it.
#[derive(Debug, Clone, Copy)]
pub struct EvalRequest<'a> {
    /// The action in lowercase (`kms:encrypt`): actions match case-insensitively.
    pub action_lower: &'a str,
    /// The resource ARN (or, for actions on no particular resource, the account-wide
    /// pattern `arn:aws:kms:<region>:<account>:*`).
    pub resource: &'a str,
    pub context: &'a ConditionValues,
}

/// The caller as a `Principal` element sees them.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub account: &'a str,
    pub kind: WhoKind<'a>,
}

/// The kinds of caller.
#[derive(Debug, Clone, Copy)]
pub enum WhoKind<'a> {
    /// The account's root user.
    Root,
    /// An IAM user.
    User { arn: &'a str },
    /// A session of an assumed role.
    RoleSession {
        role_arn: &'a str,
        session_arn: &'a str,
    },
}

/// How a `Principal` element matched the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalMatch {
    No,
    /// Only through the caller's account (`arn:aws:iam::<account>:root` or the bare
    /// account id) and the caller is not the root user: in a key policy this enables the
    /// account's IAM policies for the caller rather than allowing them directly.
    ViaAccount,
    /// The caller itself (user, role, session, root user), or everyone (`*`).
    Direct,
}

/// What a resource-based policy says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceDecision {
    /// A statement with `Effect: Deny` applies to the caller.
    pub deny: bool,
    /// The best principal match among the statements that allow.
    pub allow: PrincipalMatch,
}

/// Evaluates identity policies (no `Principal` element) for a request.
pub fn evaluate<'p, I>(policies: I, req: &EvalRequest) -> Decision
where
    I: IntoIterator<Item = &'p PolicyDoc>,
{
    let mut allowed = false;
    for policy in policies {
        for s in &policy.statements {
            if statement_applies(s, req) {
                match s.effect {
                    Effect::Deny => return Decision::ExplicitDeny,
                    Effect::Allow => allowed = true,
                }
            }
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// Evaluates a resource-based policy (key policy, trust policy) for a caller.
pub fn evaluate_resource(policy: &PolicyDoc, req: &EvalRequest, who: &Who) -> ResourceDecision {
    let mut out = ResourceDecision {
        deny: false,
        allow: PrincipalMatch::No,
    };
    for s in &policy.statements {
        let m = match &s.principal {
            Some(p) => principal_matches(p, who),
            None => PrincipalMatch::No,
        };
        if m == PrincipalMatch::No || !statement_applies(s, req) {
            continue;
        }
        match s.effect {
            Effect::Deny => {
                out.deny = true;
                return out;
            }
            Effect::Allow => out.allow = out.allow.max(m),
        }
    }
    out
}

/// Whether a statement's action, resource and conditions apply (its principal aside).
pub fn statement_applies(s: &Statement, req: &EvalRequest) -> bool {
    let action_hit = s
        .action
        .entries
        .iter()
        .any(|a| a == "*" || glob::matches(a, req.action_lower));
    if action_hit == s.action.negated {
        return false;
    }
    if let Some(resource) = &s.resource {
        let hit = resource.entries.iter().any(|r| {
            if r.raw == "*" {
                return true;
            }
            if !r.has_variables() {
                return arn::arn_matches(&r.raw, req.resource);
            }
            match r.resolve_pattern(req.context) {
                Some(tokens) => arn_matches_tokens(&tokens, req.resource),
                None => false,
            }
        });
        if hit == resource.negated {
            return false;
        }
    }
    s.conditions.iter().all(|c| c.holds(req.context))
}

/// Whether a `Principal`/`NotPrincipal` element matches the caller.
pub fn principal_matches(p: &PrincipalElement, who: &Who) -> PrincipalMatch {
    if p.negated {
        // NotPrincipal applies when any identity in the caller's chain (account, then
        // user or role, then session) is not listed.
        if p.everyone {
            return PrincipalMatch::No;
        }
        let listed = |arn: &str| p.aws_arns.iter().any(|a| a == arn);
        let account_listed = p.aws.iter().any(
            |a| matches!(a, arn::PrincipalArn::Account { account, .. } if account == who.account),
        );
        let all_listed = account_listed
            && match who.kind {
                WhoKind::Root => true,
                WhoKind::User { arn } => listed(arn),
                WhoKind::RoleSession {
                    role_arn,
                    session_arn,
                } => listed(role_arn) && listed(session_arn),
            };
        return if all_listed {
            PrincipalMatch::No
        } else {
            PrincipalMatch::Direct
        };
    }
    if p.everyone {
        return PrincipalMatch::Direct;
    }
    let mut best = PrincipalMatch::No;
    for (entry, text) in p.aws.iter().zip(&p.aws_arns) {
        let m = match (entry, who.kind) {
            (arn::PrincipalArn::Account { account, .. }, kind) if account == who.account => {
                match kind {
                    WhoKind::Root => PrincipalMatch::Direct,
                    _ => PrincipalMatch::ViaAccount,
                }
            }
            (arn::PrincipalArn::User { .. }, WhoKind::User { arn }) if text == arn => {
                PrincipalMatch::Direct
            }
            (arn::PrincipalArn::Role { .. }, WhoKind::RoleSession { role_arn, .. })
                if text == role_arn =>
            {
                PrincipalMatch::Direct
            }
            (arn::PrincipalArn::AssumedRole { .. }, WhoKind::RoleSession { session_arn, .. })
                if text == session_arn =>
            {
                PrincipalMatch::Direct
            }
            _ => PrincipalMatch::No,
        };
        best = best.max(m);
        if best == PrincipalMatch::Direct {
            break;
        }
    }
    best
}

/// [`arn::arn_matches`] for a pattern already resolved into tokens.
fn arn_matches_tokens(pattern: &[Tok], arn_text: &str) -> bool {
    let mut fields: Vec<&[Tok]> = Vec::with_capacity(6);
    let mut start = 0;
    for (i, t) in pattern.iter().enumerate() {
        if fields.len() == 5 {
            break;
        }
        if *t == Tok::Lit(':') {
            fields.push(&pattern[start..i]);
            start = i + 1;
        }
    }
    fields.push(&pattern[start..]);
    let arn_fields: Vec<&str> = arn_text.splitn(6, ':').collect();
    fields.len() == 6
        && arn_fields.len() == 6
        && fields
            .iter()
            .zip(&arn_fields)
            .all(|(p, a)| glob::matches_tokens(p, a, false))
}

#[cfg(test)]
mod tests {
    use super::super::error::PolicyKind;
    use super::*;

    const ACCOUNT: &str = "111122223333";
    const KEY: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
    const APP_ROLE: &str = "arn:aws:iam::111122223333:role/App";
    const APP_SESSION: &str = "arn:aws:sts::111122223333:assumed-role/App/s1";

    fn identity(json: &str) -> PolicyDoc {
        PolicyDoc::parse(json, PolicyKind::Identity).expect("identity policy")
    }

    fn key(json: &str) -> PolicyDoc {
        PolicyDoc::parse(json, PolicyKind::Key).expect("key policy")
    }

    fn req<'a>(action: &'a str, ctx: &'a ConditionValues) -> EvalRequest<'a> {
        EvalRequest {
            action_lower: action,
            resource: KEY,
            context: ctx,
        }
    }

    fn alice() -> Who<'static> {
        Who {
            account: ACCOUNT,
            kind: WhoKind::User { arn: ALICE },
        }
    }

    #[test]
    fn explicit_deny_wins_then_allow_else_implicit_deny() {
        let ctx = ConditionValues::new();
        let allow = identity(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#,
        );
        let deny = identity(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}}"#,
        );
        assert_eq!(
            evaluate([&allow], &req("kms:decrypt", &ctx)),
            Decision::Allow
        );
        assert_eq!(
            evaluate([&allow, &deny], &req("kms:decrypt", &ctx)),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate([&deny, &allow], &req("kms:encrypt", &ctx)),
            Decision::Allow
        );
        assert_eq!(
            evaluate([&deny], &req("kms:encrypt", &ctx)),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate([], &req("kms:encrypt", &ctx)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn actions_match_case_insensitively_with_wildcards() {
        let ctx = ConditionValues::new();
        let p = identity(
            r#"{"Statement":{"Effect":"Allow","Action":["KMS:Generate*","kms:?ecrypt"],"Resource":"*"}}"#,
        );
        assert_eq!(
            evaluate([&p], &req("kms:generatedatakey", &ctx)),
            Decision::Allow
        );
        assert_eq!(evaluate([&p], &req("kms:decrypt", &ctx)), Decision::Allow);
        assert_eq!(
            evaluate([&p], &req("kms:encrypt", &ctx)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn not_action_applies_to_every_other_action() {
        let ctx = ConditionValues::new();
        let p = identity(
            r#"{"Statement":{"Effect":"Allow","NotAction":"kms:ScheduleKeyDeletion","Resource":"*"}}"#,
        );
        assert_eq!(evaluate([&p], &req("kms:encrypt", &ctx)), Decision::Allow);
        assert_eq!(
            evaluate([&p], &req("kms:schedulekeydeletion", &ctx)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn resources_match_arn_patterns_and_not_resource_inverts() {
        let ctx = ConditionValues::new();
        let p = identity(
            r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/*"}}"#,
        );
        assert_eq!(evaluate([&p], &req("kms:encrypt", &ctx)), Decision::Allow);
        let other = identity(
            r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:444455556666:key/*"}}"#,
        );
        assert_eq!(
            evaluate([&other], &req("kms:encrypt", &ctx)),
            Decision::ImplicitDeny
        );
        let not = identity(
            r#"{"Statement":{"Effect":"Allow","Action":"kms:*","NotResource":"arn:aws:kms:*:444455556666:key/*"}}"#,
        );
        assert_eq!(evaluate([&not], &req("kms:encrypt", &ctx)), Decision::Allow);
    }

    #[test]
    fn resource_variables_are_resolved_from_the_request() {
        let mut ctx = ConditionValues::new();
        ctx.set(
            "aws:PrincipalTag/keyid",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
        );
        let p = identity(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:111122223333:key/${aws:PrincipalTag/keyid}"}}"#,
        );
        assert_eq!(evaluate([&p], &req("kms:encrypt", &ctx)), Decision::Allow);
        let empty = ConditionValues::new();
        assert_eq!(
            evaluate([&p], &req("kms:encrypt", &empty)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn every_condition_must_hold() {
        let p = identity(
            r#"{"Statement":{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:purpose":"payments","aws:RequestedRegion":"us-west-2"}}}}"#,
        );
        let mut ctx = ConditionValues::new();
        ctx.set("kms:EncryptionContext:purpose", "payments");
        assert_eq!(
            evaluate([&p], &req("kms:encrypt", &ctx)),
            Decision::ImplicitDeny
        );
        ctx.set("aws:RequestedRegion", "us-west-2");
        assert_eq!(evaluate([&p], &req("kms:encrypt", &ctx)), Decision::Allow);
    }

    #[test]
    fn the_account_principal_enables_iam_for_users_and_allows_the_root_user() {
        let p = key(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}}"#,
        );
        let ctx = ConditionValues::new();
        let r = evaluate_resource(&p, &req("kms:encrypt", &ctx), &alice());
        assert_eq!(
            r,
            ResourceDecision {
                deny: false,
                allow: PrincipalMatch::ViaAccount
            }
        );
        let root = Who {
            account: ACCOUNT,
            kind: WhoKind::Root,
        };
        assert_eq!(
            evaluate_resource(&p, &req("kms:encrypt", &ctx), &root).allow,
            PrincipalMatch::Direct
        );
        let stranger = Who {
            account: "444455556666",
            kind: WhoKind::User {
                arn: "arn:aws:iam::444455556666:user/alice",
            },
        };
        assert_eq!(
            evaluate_resource(&p, &req("kms:encrypt", &ctx), &stranger).allow,
            PrincipalMatch::No
        );
    }

    #[test]
    fn a_role_principal_matches_its_sessions_and_a_session_principal_only_itself() {
        let ctx = ConditionValues::new();
        let session = Who {
            account: ACCOUNT,
            kind: WhoKind::RoleSession {
                role_arn: APP_ROLE,
                session_arn: APP_SESSION,
            },
        };
        let by_role = key(&format!(
            r#"{{"Statement":{{"Effect":"Allow","Principal":{{"AWS":"{APP_ROLE}"}},"Action":"kms:Encrypt","Resource":"*"}}}}"#
        ));
        assert_eq!(
            evaluate_resource(&by_role, &req("kms:encrypt", &ctx), &session).allow,
            PrincipalMatch::Direct
        );
        let other_session = key(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/App/s2"},"Action":"kms:Encrypt","Resource":"*"}}"#,
        );
        assert_eq!(
            evaluate_resource(&other_session, &req("kms:encrypt", &ctx), &session).allow,
            PrincipalMatch::No
        );
        assert_eq!(
            evaluate_resource(&by_role, &req("kms:encrypt", &ctx), &alice()).allow,
            PrincipalMatch::No
        );
    }

    #[test]
    fn a_deny_in_a_resource_policy_is_reported() {
        let p = key(&format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}},{{"Effect":"Deny","Principal":{{"AWS":"{ALICE}"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
        ));
        let ctx = ConditionValues::new();
        assert!(evaluate_resource(&p, &req("kms:decrypt", &ctx), &alice()).deny);
        assert!(!evaluate_resource(&p, &req("kms:encrypt", &ctx), &alice()).deny);
    }

    #[test]
    fn not_principal_with_deny_spares_only_fully_listed_callers() {
        let ctx = ConditionValues::new();
        let deny_all_but_alice = key(&format!(
            r#"{{"Statement":{{"Effect":"Deny","NotPrincipal":{{"AWS":["{ALICE}","arn:aws:iam::111122223333:root"]}},"Action":"kms:*","Resource":"*"}}}}"#
        ));
        assert!(!evaluate_resource(&deny_all_but_alice, &req("kms:encrypt", &ctx), &alice()).deny);
        let bob = Who {
            account: ACCOUNT,
            kind: WhoKind::User {
                arn: "arn:aws:iam::111122223333:user/bob",
            },
        };
        assert!(evaluate_resource(&deny_all_but_alice, &req("kms:encrypt", &ctx), &bob).deny);
        // Listing the user without the account does not spare them (IAM checks the account too).
        let without_account = key(&format!(
            r#"{{"Statement":{{"Effect":"Deny","NotPrincipal":{{"AWS":"{ALICE}"}},"Action":"kms:*","Resource":"*"}}}}"#
        ));
        assert!(evaluate_resource(&without_account, &req("kms:encrypt", &ctx), &alice()).deny);
    }
}
