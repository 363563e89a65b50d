//! The KMS authorization rules, one test per rule, on a small cast of principals.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::authz::grants::{GrantConstraints, GrantView};
use crate::authz::policy::PolicyKind;
use crate::authz::principals::Principals;
use crate::authz::sessions::Sessions;

const A: &str = "111122223333";
const B: &str = "444455556666";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const MRK: &str = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";
const ALIAS: &str = "arn:aws:kms:us-east-1:111122223333:alias/payments";

fn cast() -> Principals {
    let text = r#"
[accounts.111122223333]
[accounts.444455556666]

[users.admin]
account = "111122223333"
[[users.admin.policies]]
name = "all"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}'

[users.alice]
account = "111122223333"
[[users.alice.policies]]
name = "crypto"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"arn:aws:kms:*:111122223333:key/*"}}'

[users.nobody]
account = "111122223333"

[users.denied]
account = "111122223333"
[[users.denied.policies]]
name = "all-but-decrypt"
document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}'

[users.tagged]
account = "111122223333"
tags = { team = "payments" }
[[users.tagged.policies]]
name = "abac"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}}}'

[users.replicator]
account = "111122223333"
[[users.replicator.policies]]
name = "replicas-in-eu-west-1"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*","Condition":{"StringEquals":{"kms:MultiRegionKeyType":"REPLICA","aws:RequestedRegion":"eu-west-1"}}}}'

[users.bob]
account = "444455556666"
[[users.bob.policies]]
name = "use-a-keys"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["kms:Encrypt","kms:TagResource"],"Resource":"arn:aws:kms:*:111122223333:key/*"}}'

[users.carol]
account = "444455556666"

[roles.app]
account = "111122223333"
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}}'

[roles.ops]
account = "111122223333"
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}'
"#;
    Principals::parse(text, Path::new("."), "cast.toml").expect("cast")
}

struct World {
    p: Principals,
    sessions: Sessions,
}

impl World {
    fn new() -> World {
        World {
            p: cast(),
            sessions: Sessions::for_tests(),
        }
    }

    fn user(&self, account: &str, name: &str) -> Caller {
        let id = self
            .p
            .by_arn(&format!("arn:aws:iam::{account}:user/{name}"))
            .expect(name);
        Caller::new(id.clone(), "AKIAEXAMPLE000000001")
    }

    fn root(&self, account: &str) -> Caller {
        Caller::new(
            self.p.root(account).expect("root").clone(),
            "AKIAROOT000000000001",
        )
    }

    fn session(&self, role: &str) -> Caller {
        let role = self
            .p
            .by_arn(&format!("arn:aws:iam::{A}:role/{role}"))
            .expect(role)
            .clone();
        Caller::from_session(
            self.sessions
                .issue(role, "s1", "x", 900, 0.0)
                .expect("issued"),
        )
    }
}

fn key_policy(statements: &str) -> PolicyDoc {
    PolicyDoc::parse(
        &format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#),
        PolicyKind::Key,
    )
    .expect("key policy")
}

const ENABLE_IAM: &str = r#"{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}"#;

fn default_policy() -> PolicyDoc {
    key_policy(ENABLE_IAM)
}

fn ctx(caller: &Caller, region: &str) -> ConditionValues {
    global_context(
        caller,
        &RequestFacts {
            region,
            source_ip: Some("127.0.0.1"),
            secure_transport: false,
            now: 1_790_000_000.0,
        },
    )
}

fn on_key<'a>(
    action: &'a str,
    arn: &'a str,
    policy: &'a PolicyDoc,
    context: &'a ConditionValues,
) -> Request<'a> {
    Request {
        action,
        resource: Resource::Key {
            arn,
            account: A,
            policy,
        },
        context,
        grants: &[],
        encryption_context: None,
    }
}

fn denied(r: Result<Allowed, Denial>) -> Denial {
    r.expect_err("denied")
}

#[test]
fn the_default_key_policy_lets_iam_policies_decide_for_the_account() {
    let w = World::new();
    let p = default_policy();
    let alice = w.user(A, "alice");
    let c = ctx(&alice, "us-east-1");
    assert_eq!(
        authorize(&alice, &on_key("kms:Encrypt", KEY, &p, &c)),
        Ok(Allowed::Policy)
    );
    let d = denied(authorize(
        &alice,
        &on_key("kms:ScheduleKeyDeletion", KEY, &p, &c),
    ));
    assert_eq!(d.reason, DenyReason::NoIdentityPolicyAllows);
    assert_eq!(
        d.message(),
        format!("User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:ScheduleKeyDeletion on resource: {KEY} because no identity-based policy allows the kms:ScheduleKeyDeletion action")
    );
    assert_eq!(d.aws_code(), "AccessDeniedException");
}

#[test]
fn the_root_user_is_allowed_by_the_account_statement() {
    let w = World::new();
    let root = w.root(A);
    let c = ctx(&root, "us-east-1");
    assert_eq!(
        authorize(
            &root,
            &on_key("kms:ScheduleKeyDeletion", KEY, &default_policy(), &c)
        ),
        Ok(Allowed::Policy)
    );
}

#[test]
fn without_the_account_statement_iam_policies_are_ineffective_even_for_root() {
    let w = World::new();
    let p = key_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/nobody"},"Action":"kms:Encrypt","Resource":"*"}"#,
    );
    let admin = w.user(A, "admin");
    let c = ctx(&admin, "us-east-1");
    let d = denied(authorize(&admin, &on_key("kms:Encrypt", KEY, &p, &c)));
    assert_eq!(d.reason, DenyReason::NoResourcePolicyAllows);
    assert!(d
        .message()
        .ends_with("because no resource-based policy allows the kms:Encrypt action"));
    let root = w.root(A);
    assert!(authorize(
        &root,
        &on_key("kms:Encrypt", KEY, &p, &ctx(&root, "us-east-1"))
    )
    .is_err());
    // The user named in the key policy needs no IAM policy at all.
    let nobody = w.user(A, "nobody");
    let c = ctx(&nobody, "us-east-1");
    assert_eq!(
        authorize(&nobody, &on_key("kms:Encrypt", KEY, &p, &c)),
        Ok(Allowed::Policy)
    );
}

#[test]
fn an_explicit_deny_in_an_iam_policy_wins_over_any_allow() {
    let w = World::new();
    let p = key_policy(&format!(
        r#"{ENABLE_IAM},{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:user/denied"}},"Action":"kms:*","Resource":"*"}}"#
    ));
    let denied_user = w.user(A, "denied");
    let c = ctx(&denied_user, "us-east-1");
    let d = denied(authorize(&denied_user, &on_key("kms:Decrypt", KEY, &p, &c)));
    assert_eq!(d.reason, DenyReason::ExplicitDenyIdentity);
    assert_eq!(
        d.message(),
        format!("User: arn:aws:iam::111122223333:user/denied is not authorized to perform: kms:Decrypt on resource: {KEY} with an explicit deny in an identity-based policy")
    );
    assert!(authorize(&denied_user, &on_key("kms:Encrypt", KEY, &p, &c)).is_ok());
}

#[test]
fn an_explicit_deny_in_the_key_policy_wins_over_any_allow() {
    let w = World::new();
    let p = key_policy(&format!(
        r#"{ENABLE_IAM},{{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{{"StringNotEquals":{{"kms:EncryptionContext:purpose":"payments"}}}}}}"#
    ));
    let admin = w.user(A, "admin");
    let mut c = ctx(&admin, "us-east-1");
    let d = denied(authorize(&admin, &on_key("kms:Decrypt", KEY, &p, &c)));
    assert_eq!(d.reason, DenyReason::ExplicitDenyResource);
    assert!(d
        .message()
        .ends_with("with an explicit deny in a resource-based policy"));
    c.set_encryption_context([("purpose", "payments")]);
    assert!(authorize(&admin, &on_key("kms:Decrypt", KEY, &p, &c)).is_ok());
}

#[test]
fn a_role_may_encrypt_only_with_the_encryption_context_its_statement_requires() {
    let w = World::new();
    let p = key_policy(&format!(
        r#"{ENABLE_IAM},{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:role/app"}},"Action":"kms:Encrypt","Resource":"*","Condition":{{"StringEquals":{{"kms:EncryptionContext:purpose":"payments"}}}}}}"#
    ));
    let app = w.session("app");
    let mut c = ctx(&app, "us-east-1");
    let d = denied(authorize(&app, &on_key("kms:Encrypt", KEY, &p, &c)));
    assert_eq!(d.principal, "arn:aws:sts::111122223333:assumed-role/app/s1");
    // The account statement leaves it to IAM, and the role's IAM policies allow nothing.
    assert_eq!(d.reason, DenyReason::NoIdentityPolicyAllows);
    c.set_encryption_context([("purpose", "reports")]);
    assert!(authorize(&app, &on_key("kms:Encrypt", KEY, &p, &c)).is_err());
    c.set_encryption_context([("PURPOSE", "payments")]);
    assert_eq!(
        authorize(&app, &on_key("kms:Encrypt", KEY, &p, &c)),
        Ok(Allowed::Policy)
    );
}

#[test]
fn cross_account_use_needs_the_key_policy_and_the_callers_iam_policy() {
    let w = World::new();
    let p = key_policy(&format!(
        r#"{ENABLE_IAM},{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::444455556666:root"}},"Action":["kms:Encrypt","kms:TagResource"],"Resource":"*"}}"#
    ));
    let bob = w.user(B, "bob");
    let c = ctx(&bob, "us-east-1");
    assert_eq!(
        authorize(&bob, &on_key("kms:Encrypt", KEY, &p, &c)),
        Ok(Allowed::Policy)
    );
    // carol's account is allowed by the key policy but her IAM policies allow nothing.
    let carol = w.user(B, "carol");
    let d = denied(authorize(
        &carol,
        &on_key("kms:Encrypt", KEY, &p, &ctx(&carol, "us-east-1")),
    ));
    assert_eq!(d.reason, DenyReason::NoIdentityPolicyAllows);
    // Without the key policy statement, bob's IAM policy alone is not enough.
    let d = denied(authorize(
        &bob,
        &on_key("kms:Encrypt", KEY, &default_policy(), &c),
    ));
    assert_eq!(d.reason, DenyReason::NoResourcePolicyAllows);
}

#[test]
fn operations_aws_keeps_in_the_account_are_refused_across_accounts() {
    let w = World::new();
    let p = key_policy(r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}"#);
    let bob = w.user(B, "bob");
    let c = ctx(&bob, "us-east-1");
    for action in [
        "kms:TagResource",
        "kms:ReplicateKey",
        "kms:UpdatePrimaryRegion",
        "kms:PutKeyPolicy",
    ] {
        let d = denied(authorize(&bob, &on_key(action, KEY, &p, &c)));
        assert_eq!(d.reason, DenyReason::NoResourcePolicyAllows, "{action}");
    }
}

#[test]
fn iam_only_actions_ignore_key_policies_and_name_resource_star() {
    let w = World::new();
    fn req(c: &ConditionValues) -> Request<'_> {
        Request {
            action: "kms:CreateKey",
            resource: Resource::Nothing {
                partition: "aws",
                region: "us-east-1",
            },
            context: c,
            grants: &[],
            encryption_context: None,
        }
    }
    let admin = w.user(A, "admin");
    assert!(authorize(&admin, &req(&ctx(&admin, "us-east-1"))).is_ok());
    let nobody = w.user(A, "nobody");
    let d = denied(authorize(&nobody, &req(&ctx(&nobody, "us-east-1"))));
    assert_eq!(
        d.message(),
        "User: arn:aws:iam::111122223333:user/nobody is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action"
    );
    let root = w.root(A);
    assert!(authorize(&root, &req(&ctx(&root, "us-east-1"))).is_ok());
}

#[test]
fn an_account_wide_resource_pattern_covers_actions_on_no_resource() {
    let w = World::new();
    let p = Principals::parse(
        r#"
[accounts.111122223333]
[users.lister]
account = "111122223333"
[[users.lister.policies]]
name = "list-here"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:ListKeys","Resource":"arn:aws:kms:us-east-1:111122223333:*"}}'
"#,
        Path::new("."),
        "x.toml",
    )
    .expect("principals");
    let _ = w;
    let lister = Caller::new(
        p.by_arn("arn:aws:iam::111122223333:user/lister")
            .expect("lister")
            .clone(),
        "AKIAEXAMPLE000000001",
    );
    let c = ctx(&lister, "us-east-1");
    let list = |region| Request {
        action: "kms:ListKeys",
        resource: Resource::Nothing {
            partition: "aws",
            region,
        },
        context: &c,
        grants: &[],
        encryption_context: None,
    };
    assert!(authorize(&lister, &list("us-east-1")).is_ok());
    assert!(authorize(&lister, &list("eu-west-1")).is_err());
}

#[test]
fn abac_resource_tags_count_in_iam_policies_only() {
    let w = World::new();
    let tagged = w.user(A, "tagged");
    let mut c = ctx(&tagged, "us-east-1");
    c.set_resource_tags([("team", "payments")]);
    assert!(authorize(&tagged, &on_key("kms:Encrypt", KEY, &default_policy(), &c)).is_ok());
    c.set_resource_tags([("team", "reports")]);
    assert!(authorize(&tagged, &on_key("kms:Encrypt", KEY, &default_policy(), &c)).is_err());
    // In a key policy the same condition finds no aws:ResourceTag value.
    let p = key_policy(
        r#"{"Effect":"Allow","Principal":"*","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"payments"}}}"#,
    );
    let nobody = w.user(A, "nobody");
    let mut c = ctx(&nobody, "us-east-1");
    c.set_resource_tags([("team", "payments")]);
    assert!(authorize(&nobody, &on_key("kms:Encrypt", KEY, &p, &c)).is_err());
}

#[test]
fn alias_conditions_request_alias_and_resource_aliases() {
    let w = World::new();
    let p = key_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/nobody"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringLike":{"kms:RequestAlias":"alias/*pay*"}}}"#,
    );
    let nobody = w.user(A, "nobody");
    let mut c = ctx(&nobody, "us-east-1");
    assert!(authorize(&nobody, &on_key("kms:Encrypt", KEY, &p, &c)).is_err());
    c.set("kms:RequestAlias", "alias/payments");
    assert!(authorize(&nobody, &on_key("kms:Encrypt", KEY, &p, &c)).is_ok());
}

#[test]
fn replicate_key_checks_the_primary_key_policy_and_create_key_in_the_replica_region() {
    let w = World::new();
    let primary = key_policy(&format!(
        r#"{ENABLE_IAM},{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:user/replicator"}},"Action":"kms:ReplicateKey","Resource":"*","Condition":{{"StringEquals":{{"kms:ReplicaRegion":"eu-west-1"}}}}}}"#
    ));
    let rep = w.user(A, "replicator");
    let replicate = |replica: &str| {
        let mut c = ctx(&rep, "us-east-1");
        c.set("kms:ReplicaRegion", replica);
        authorize(&rep, &on_key("kms:ReplicateKey", MRK, &primary, &c))
    };
    assert!(replicate("eu-west-1").is_ok());
    assert_eq!(
        denied(replicate("ap-southeast-2")).reason,
        DenyReason::NoIdentityPolicyAllows
    );
    // kms:CreateKey in an IAM policy effective in the replica's Region.
    let create = |region: &str, key_type: &str| {
        let mut c = ctx(&rep, region);
        c.set("kms:MultiRegionKeyType", key_type);
        authorize(
            &rep,
            &Request {
                action: "kms:CreateKey",
                resource: Resource::Nothing {
                    partition: "aws",
                    region,
                },
                context: &c,
                grants: &[],
                encryption_context: None,
            },
        )
    };
    assert!(create("eu-west-1", "REPLICA").is_ok());
    assert!(create("ap-southeast-2", "REPLICA").is_err());
    assert!(create("eu-west-1", "PRIMARY").is_err());
}

#[test]
fn alias_actions_are_authorized_on_the_alias_by_iam() {
    let w = World::new();
    let alias = |caller: &Caller| {
        let c = ctx(caller, "us-east-1");
        authorize(
            caller,
            &Request {
                action: "kms:CreateAlias",
                resource: Resource::Alias {
                    arn: ALIAS,
                    account: A,
                },
                context: &c,
                grants: &[],
                encryption_context: None,
            },
        )
    };
    assert!(alias(&w.user(A, "admin")).is_ok());
    let d = denied(alias(&w.user(A, "nobody")));
    assert_eq!(d.resource.as_deref(), Some(ALIAS));
    assert!(alias(&w.user(B, "bob")).is_err());
}

fn grant<'a>(
    ops: &'a [String],
    grantee: &'a str,
    constraints: Option<&'a GrantConstraints>,
) -> GrantView<'a> {
    GrantView {
        grant_id: "g1",
        grantee_principal: grantee,
        retiring_principal: None,
        operations: ops,
        constraints,
    }
}

#[test]
fn a_grant_allows_its_grantee_its_operations_after_the_policies() {
    let w = World::new();
    let p = key_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"kms:*","Resource":"*"}"#,
    );
    let nobody = w.user(A, "nobody");
    let c = ctx(&nobody, "us-east-1");
    let ops = vec!["Encrypt".to_string()];
    let grants = [grant(&ops, "arn:aws:iam::111122223333:user/nobody", None)];
    let mut req = on_key("kms:Encrypt", KEY, &p, &c);
    assert!(authorize(&nobody, &req).is_err());
    req.grants = &grants;
    assert_eq!(authorize(&nobody, &req), Ok(Allowed::Grant("g1".into())));
    let mut decrypt = req;
    decrypt.action = "kms:Decrypt";
    assert!(authorize(&nobody, &decrypt).is_err());
    // Another caller is not the grantee.
    let alice = w.user(A, "alice");
    assert!(authorize(
        &alice,
        &on_key("kms:Encrypt", KEY, &p, &ctx(&alice, "us-east-1"))
    )
    .is_err());
}

#[test]
fn a_grant_never_overrides_an_explicit_deny() {
    let w = World::new();
    let denied_user = w.user(A, "denied");
    let c = ctx(&denied_user, "us-east-1");
    let ops = vec!["Decrypt".to_string()];
    let grants = [grant(&ops, "arn:aws:iam::111122223333:user/denied", None)];
    let p = default_policy();
    let mut req = on_key("kms:Decrypt", KEY, &p, &c);
    req.grants = &grants;
    assert_eq!(
        denied(authorize(&denied_user, &req)).reason,
        DenyReason::ExplicitDenyIdentity
    );
}

#[test]
fn grant_constraints_compare_the_encryption_context_exactly() {
    let w = World::new();
    let nobody = w.user(A, "nobody");
    let p = key_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"kms:*","Resource":"*"}"#,
    );
    let c = ctx(&nobody, "us-east-1");
    let ops = vec!["Decrypt".to_string()];
    let it: BTreeMap<String, String> = [("Department".to_string(), "IT".to_string())].into();
    let more: BTreeMap<String, String> = [
        ("Department".to_string(), "IT".to_string()),
        ("Purpose".to_string(), "Test".to_string()),
    ]
    .into();
    let lower: BTreeMap<String, String> = [("Department".to_string(), "it".to_string())].into();
    let equals = GrantConstraints {
        encryption_context_equals: Some(it.clone()),
        ..Default::default()
    };
    let subset = GrantConstraints {
        encryption_context_subset: Some(it.clone()),
        ..Default::default()
    };
    let allows = |constraints: &GrantConstraints, ec: Option<&BTreeMap<String, String>>| {
        let grants = [grant(
            &ops,
            "arn:aws:iam::111122223333:user/nobody",
            Some(constraints),
        )];
        let mut req = on_key("kms:Decrypt", KEY, &p, &c);
        req.grants = &grants;
        req.encryption_context = ec;
        authorize(&nobody, &req).is_ok()
    };
    assert!(allows(&equals, Some(&it)));
    assert!(!allows(&equals, Some(&more)));
    assert!(!allows(&equals, Some(&lower)));
    assert!(!allows(&equals, None));
    assert!(allows(&subset, Some(&it)));
    assert!(allows(&subset, Some(&more)));
    assert!(!allows(&subset, Some(&lower)));

    // DescribeKey and CreateGrant have no encryption context: the constraint does not
    // apply to them (a grant made through the grant is checked against it instead).
    for op in ["DescribeKey", "CreateGrant"] {
        let ops = vec![op.to_string()];
        let grants = [grant(
            &ops,
            "arn:aws:iam::111122223333:user/nobody",
            Some(&subset),
        )];
        let action = format!("kms:{op}");
        let mut req = on_key(&action, KEY, &p, &c);
        req.grants = &grants;
        req.encryption_context = None;
        assert!(authorize(&nobody, &req).is_ok(), "{op}");
    }
}

#[test]
fn a_grant_to_a_role_serves_its_sessions_and_a_grant_to_an_account_needs_iam() {
    let w = World::new();
    let p = key_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"kms:*","Resource":"*"}"#,
    );
    let ops = vec!["Encrypt".to_string()];
    let app = w.session("app");
    let c = ctx(&app, "us-east-1");
    let to_role = [grant(&ops, "arn:aws:iam::111122223333:role/app", None)];
    let mut req = on_key("kms:Encrypt", KEY, &p, &c);
    req.grants = &to_role;
    assert!(authorize(&app, &req).is_ok());

    let to_account = [grant(&ops, "arn:aws:iam::111122223333:root", None)];
    let alice = w.user(A, "alice");
    let nobody = w.user(A, "nobody");
    let ca = ctx(&alice, "us-east-1");
    let mut req = on_key("kms:Encrypt", KEY, &p, &ca);
    req.grants = &to_account;
    assert!(
        authorize(&alice, &req).is_ok(),
        "alice's IAM policy allows Encrypt"
    );
    let cn = ctx(&nobody, "us-east-1");
    let mut req = on_key("kms:Encrypt", KEY, &p, &cn);
    req.grants = &to_account;
    assert!(authorize(&nobody, &req).is_err());
}

#[test]
fn grant_retirement() {
    let w = World::new();
    let ops = vec!["Encrypt".to_string(), "RetireGrant".to_string()];
    let g = GrantView {
        grant_id: "g",
        grantee_principal: "arn:aws:iam::111122223333:user/nobody",
        retiring_principal: Some("arn:aws:iam::111122223333:user/alice"),
        operations: &ops,
        constraints: None,
    };
    assert!(grants::may_retire(&g, &w.user(A, "alice")));
    assert!(grants::may_retire(&g, &w.user(A, "nobody")));
    assert!(!grants::may_retire(&g, &w.user(A, "admin")));
}

#[test]
fn the_lockout_check_refuses_a_policy_the_caller_could_not_change_again() {
    let w = World::new();
    let admin = w.user(A, "admin");
    let c = ctx(&admin, "us-east-1");
    lockout_check(&default_policy(), &admin, KEY, A, &c)
        .expect("admin keeps PutKeyPolicy through IAM");
    let only_alice = key_policy(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}"#,
    );
    let e = lockout_check(&only_alice, &admin, KEY, A, &c).expect_err("locked out");
    assert_eq!(
        e.message(),
        "The new key policy will not allow you to update the key policy in the future."
    );
    assert_eq!(e.aws_code(), "MalformedPolicyDocumentException");
    // A caller whose IAM policies do not allow PutKeyPolicy is locked out by the default policy.
    let alice = w.user(A, "alice");
    assert!(lockout_check(&default_policy(), &alice, KEY, A, &ctx(&alice, "us-east-1")).is_err());
}

#[test]
fn assuming_a_role_follows_its_trust_policy() {
    let w = World::new();
    let app =
        w.p.by_arn("arn:aws:iam::111122223333:role/app")
            .expect("app")
            .clone();
    let ops =
        w.p.by_arn("arn:aws:iam::111122223333:role/ops")
            .expect("ops")
            .clone();
    let alice = w.user(A, "alice");
    let nobody = w.user(A, "nobody");
    let admin = w.user(A, "admin");
    // Named directly: no IAM permission needed.
    assert!(may_assume(&alice, &app, &ctx(&alice, "us-east-1")).is_ok());
    let d = may_assume(&nobody, &app, &ctx(&nobody, "us-east-1")).expect_err("not trusted");
    assert_eq!(
        d.message(),
        "User: arn:aws:iam::111122223333:user/nobody is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/app because no resource-based policy allows the sts:AssumeRole action"
    );
    // Trusting the account: the caller's IAM policies must allow sts:AssumeRole.
    assert!(may_assume(&nobody, &ops, &ctx(&nobody, "us-east-1")).is_err());
    assert!(
        may_assume(&admin, &ops, &ctx(&admin, "us-east-1")).is_err(),
        "kms:* does not cover sts:AssumeRole"
    );
    let root = w.root(A);
    assert!(
        may_assume(&root, &ops, &ctx(&root, "us-east-1")).is_err(),
        "root users cannot assume roles"
    );
}

#[test]
fn global_condition_keys_describe_the_caller_and_request() {
    let w = World::new();
    let tagged = w.user(A, "tagged");
    let c = ctx(&tagged, "eu-west-1");
    let one = |k: &str| {
        c.get(k)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        one("aws:PrincipalArn"),
        "arn:aws:iam::111122223333:user/tagged"
    );
    assert_eq!(one("aws:PrincipalAccount"), A);
    assert_eq!(one("aws:PrincipalType"), "User");
    assert_eq!(one("aws:username"), "tagged");
    assert!(one("aws:userid").starts_with("AIDA"));
    assert_eq!(one("aws:PrincipalTag/team"), "payments");
    assert_eq!(one("aws:RequestedRegion"), "eu-west-1");
    assert_eq!(one("aws:SourceIp"), "127.0.0.1");
    assert_eq!(one("aws:SecureTransport"), "false");
    assert_eq!(one("aws:CurrentTime"), "2026-09-21T14:13:20Z");
    assert!(
        c.get("kms:CallerAccount").is_none(),
        "only operations on a key have it"
    );
    let f = RequestFacts {
        region: "us-east-1",
        source_ip: None,
        secure_transport: true,
        now: 0.0,
    };
    let on_key = context_for(&tagged, &f, "kms:Encrypt");
    assert_eq!(
        on_key.get("kms:CallerAccount").map(|v| v[0].clone()),
        Some(A.to_string())
    );
    assert!(context_for(&tagged, &f, "kms:CreateKey")
        .get("kms:CallerAccount")
        .is_none());
    let app = w.session("app");
    let c = ctx(&app, "us-east-1");
    assert_eq!(
        c.get("aws:PrincipalArn").map(|v| v[0].clone()),
        Some("arn:aws:iam::111122223333:role/app".into())
    );
    assert_eq!(
        c.get("aws:PrincipalType").map(|v| v[0].clone()),
        Some("AssumedRole".into())
    );
    assert!(c.get("aws:username").is_none());
    assert!(c
        .get("aws:userid")
        .map(|v| v[0].ends_with(":s1"))
        .unwrap_or(false));
}
