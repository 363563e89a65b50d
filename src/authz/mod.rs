//! Access control: who is calling (principals, SigV4 verification), what policies say
//! (the IAM policy language), and what KMS decides (key policies, IAM policies, grants,
//! the lockout check).
//!
//! Module map:
//! - [`principals`]: the principals file (accounts, users, roles, keys, tags, policies);
//! - [`sessions`]: temporary credentials of assumed-role sessions;
//! - [`sigv4`]: server-side Signature Version 4 verification;
//! - [`caller`]: the verified caller, as policies see it;
//! - [`policy`]: the IAM policy language (parse, conditions, variables, evaluation);
//! - [`context`]: condition keys and values of one request;
//! - [`arn`], [`glob`]: ARNs and wildcard matching;
//! - [`rules`]: the KMS action table;
//! - [`decide`]: KMS's decision (key policy, IAM, grants), denials, lockout, AssumeRole;
//! - [`grants`]: grant matching and retirement;
//! - [`cache`]: parsed policies by text.
//!
//! The module is self-contained: it knows Regions, ARNs and accounts as strings, and the
//! request path calls it through [`Authorizer`].

pub mod arn;
pub mod cache;
pub mod caller;
pub mod context;
pub mod decide;
pub mod glob;
pub mod grants;
pub mod policy;
pub mod principals;
pub mod rules;
pub mod sessions;
pub mod sigv4;

use std::path::Path;
use std::sync::Arc;

pub use caller::Caller;
pub use context::ConditionValues;
pub use decide::{Allowed, Denial, DenyReason, Request, RequestFacts, Resource};
pub use grants::{GrantConstraints, GrantView};
pub use policy::{PolicyDoc, PolicyError, PolicyKind};
pub use principals::{Identity, Principals, PrincipalsError};
pub use sessions::{Sealer, Session, Sessions};
pub use sigv4::{Protocol, SigError, SignedRequest, Verified};

/// Everything strict mode needs, built once at startup from the principals file.
#[derive(Debug)]
pub struct Authorizer {
    pub principals: Arc<Principals>,
    pub sessions: Arc<Sessions>,
    verifier: sigv4::Verifier,
    policies: cache::PolicyCache,
}

impl Authorizer {
    /// Loads the principals file; session tokens are sealed by `sealer`.
    pub fn load(path: &Path, sealer: Arc<dyn Sealer>) -> Result<Authorizer, PrincipalsError> {
        Ok(Authorizer::new(Principals::load(path)?, sealer))
    }

    pub fn new(principals: Principals, sealer: Arc<dyn Sealer>) -> Authorizer {
        let principals = Arc::new(principals);
        let sessions = Arc::new(Sessions::new(sealer));
        Authorizer {
            verifier: sigv4::Verifier::new(principals.clone(), sessions.clone()),
            principals,
            sessions,
            policies: cache::PolicyCache::new(),
        }
    }

    /// Verifies a request's signature (see [`sigv4::Verifier::verify`]).
    pub fn verify(
        &self,
        req: &SignedRequest,
        service: &str,
        region_served: &dyn Fn(&str) -> bool,
        real_now: chrono::DateTime<chrono::Utc>,
        server_now: f64,
    ) -> Result<Verified, SigError> {
        self.verifier
            .verify(req, service, region_served, real_now, server_now)
    }

    /// The global condition keys for a verified caller and action (and
    /// `kms:CallerAccount` on key operations); the operation adds its `kms:` keys
    /// ([`rules::condition_keys_for`] lists them).
    pub fn context(&self, caller: &Caller, facts: &RequestFacts, action: &str) -> ConditionValues {
        decide::context_for(caller, facts, action)
    }

    /// Decides a request.
    pub fn authorize(&self, caller: &Caller, req: &Request) -> Result<Allowed, Denial> {
        decide::authorize(caller, req)
    }

    /// Decides an action governed by IAM policies alone (`cloudtrail:LookupEvents`,
    /// `cloudformation:*`) on `resource` (an ARN or `*`).
    pub fn authorize_iam(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        context: &ConditionValues,
    ) -> Result<(), Denial> {
        decide::authorize_iam(caller, action, resource, context)
    }

    /// The caller an access key id stands for, for a request whose signature was verified
    /// (or whose secret was checked, [`Authorizer::sign_in`]): a permanent key of the
    /// principals file, or a session known to be live at `server_now`.
    pub fn caller_for(&self, access_key_id: &str, server_now: f64) -> Option<Caller> {
        self.known_caller(access_key_id)
            .filter(|c| c.session.as_ref().is_none_or(|s| s.expiration > server_now))
    }

    /// The caller an access key id stands for, whether or not its session has expired
    /// (for the audit record of a call).
    pub fn known_caller(&self, access_key_id: &str) -> Option<Caller> {
        if let Some((identity, _)) = self.principals.by_access_key(access_key_id) {
            return Some(Caller::new(identity.clone(), access_key_id));
        }
        self.sessions.get(access_key_id).map(Caller::from_session)
    }

    /// Signs in with a permanent access key and its secret (the web console): the caller,
    /// if the secret is the key's (compared in constant time).
    pub fn sign_in(&self, access_key_id: &str, secret: &str) -> Option<Caller> {
        use subtle::ConstantTimeEq;
        let (identity, expected) = self.principals.by_access_key(access_key_id)?;
        let expected = expected.expose().as_bytes();
        let ok = expected.len() == secret.len() && bool::from(expected.ct_eq(secret.as_bytes()));
        ok.then(|| Caller::new(identity.clone(), access_key_id))
    }

    /// A stored key policy, parsed (once) for evaluation.
    pub fn key_policy(&self, text: &str) -> Result<Arc<PolicyDoc>, PolicyError> {
        self.policies.get(text, PolicyKind::Key)
    }

    /// The checks a new key policy passes before it is stored (CreateKey, PutKeyPolicy,
    /// ReplicateKey): well formed, KMS's own rules, every principal it names exists, and —
    /// unless `bypass_lockout_check` — the caller can still change it afterwards.
    pub fn check_new_key_policy(
        &self,
        text: &str,
        caller: &Caller,
        key_arn: &str,
        key_account: &str,
        context: &ConditionValues,
        bypass_lockout_check: bool,
    ) -> Result<Arc<PolicyDoc>, PolicyError> {
        let doc = self.key_policy(text)?;
        doc.check_kms_rules()?;
        if let Some(p) = doc.principal_arns().find(|p| !self.principals.exists(p)) {
            return Err(PolicyError::InvalidPrincipal(p.to_arn()));
        }
        if !bypass_lockout_check {
            decide::lockout_check(&doc, caller, key_arn, key_account, context)?;
        }
        Ok(doc)
    }

    /// Whether the caller may assume the role (`sts:AssumeRole`), and the role.
    pub fn may_assume(
        &self,
        caller: &Caller,
        role_arn: &str,
        context: &ConditionValues,
    ) -> Result<Arc<Identity>, Denial> {
        let denial = || Denial {
            reason: DenyReason::NoResourcePolicyAllows,
            principal: caller.arn().to_string(),
            action: "sts:AssumeRole".into(),
            resource: Some(role_arn.to_string()),
        };
        let role = self.principals.by_arn(role_arn).ok_or_else(denial)?;
        decide::may_assume(caller, role, context)?;
        Ok(role.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "111122223333";
    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const DEFAULT: &str = "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::111122223333:root\"\n    },\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}";

    fn test_sealer() -> Arc<dyn Sealer> {
        Arc::new(sessions::tests::MemorySealer::default())
    }

    fn authorizer() -> Authorizer {
        let text = r#"
[accounts.111122223333]
[users.admin]
account = "111122223333"
[[users.admin.access_keys]]
id = "AKIAADMIN00000000001"
secret = "admin-secret"
[[users.admin.policies]]
name = "all"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}'
"#;
        Authorizer::new(
            Principals::parse(text, Path::new("."), "t.toml").expect("principals"),
            test_sealer(),
        )
    }

    fn admin(a: &Authorizer) -> Caller {
        let (id, _) = a
            .principals
            .by_access_key("AKIAADMIN00000000001")
            .expect("key");
        Caller::new(id.clone(), "AKIAADMIN00000000001")
    }

    fn facts() -> RequestFacts<'static> {
        RequestFacts {
            region: "us-east-1",
            source_ip: Some("127.0.0.1"),
            secure_transport: false,
            now: 1_790_000_000.0,
        }
    }

    #[test]
    fn a_new_key_policy_must_name_existing_principals() {
        let a = authorizer();
        let caller = admin(&a);
        let ctx = a.context(&caller, &facts(), "kms:PutKeyPolicy");
        a.check_new_key_policy(DEFAULT, &caller, KEY, A, &ctx, false)
            .expect("default policy");
        let ghost = DEFAULT.replace(
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:user/ghost",
        );
        let e = a
            .check_new_key_policy(&ghost, &caller, KEY, A, &ctx, true)
            .expect_err("unknown principal");
        assert_eq!(
            e.message(),
            "Policy contains a statement with one or more invalid principals."
        );
    }

    #[test]
    fn the_lockout_check_can_be_bypassed() {
        let a = authorizer();
        let caller = admin(&a);
        let ctx = a.context(&caller, &facts(), "kms:PutKeyPolicy");
        let other = DEFAULT.replace("111122223333:root", "444455556666:root");
        let a2 = Authorizer::new(
            Principals::parse(
                "[accounts.111122223333]\n[accounts.444455556666]\n[users.admin]\naccount = \"111122223333\"\n",
                Path::new("."),
                "t.toml",
            )
            .expect("principals"),
            test_sealer(),
        );
        let caller2 = Caller::new(
            a2.principals
                .by_arn("arn:aws:iam::111122223333:user/admin")
                .expect("admin")
                .clone(),
            "AKIAX000000000000001",
        );
        let e = a2
            .check_new_key_policy(&other, &caller2, KEY, A, &ctx, false)
            .expect_err("lockout");
        assert_eq!(e, PolicyError::Lockout);
        a2.check_new_key_policy(&other, &caller2, KEY, A, &ctx, true)
            .expect("bypassed");
    }

    /// Signs like the SDKs do (the aws-sigv4 crate) and returns the headers sent.
    fn signed(
        akid: &str,
        secret: &str,
        token: Option<&str>,
        body: &[u8],
        at: u64,
    ) -> http::HeaderMap {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        let identity = aws_credential_types::Credentials::new(
            akid,
            secret,
            token.map(str::to_string),
            None,
            "test",
        )
        .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("kms")
            .time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(at))
            .settings(SigningSettings::default())
            .build()
            .expect("params")
            .into();
        let headers = [
            ("host", "localhost:4599"),
            ("x-amz-target", "TrentService.Encrypt"),
        ];
        let signable = SignableRequest::new(
            "POST",
            "http://localhost:4599/",
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("signs").into_parts();
        let mut request = http::Request::builder()
            .method("POST")
            .uri("http://localhost:4599/")
            .header("host", "localhost:4599")
            .header("x-amz-target", "TrentService.Encrypt")
            .body(())
            .expect("request");
        instructions.apply_to_request_http1x(&mut request);
        request.headers().clone()
    }

    #[test]
    fn from_signature_to_decision_for_a_user_and_an_assumed_role() {
        let text = r#"
[accounts.111122223333]
[users.alice]
account = "111122223333"
[[users.alice.access_keys]]
id = "AKIAALICE00000000001"
secret = "alice-secret"
[[users.alice.policies]]
name = "assume-app"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/app"}}'
[roles.app]
account = "111122223333"
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}'
"#;
        let a = Authorizer::new(
            Principals::parse(text, Path::new("."), "t.toml").expect("principals"),
            test_sealer(),
        );
        let policy_text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:purpose":"payments"}}}]}"#;
        let policy = a.key_policy(policy_text).expect("key policy");
        let t = 1_790_000_000u64;
        let body = br#"{"KeyId":"alias/pay","Plaintext":"aGk="}"#;
        let served = |r: &str| r == "us-east-1";
        let now = chrono::DateTime::from_timestamp(t as i64, 0).expect("time");
        let verify = |headers: &http::HeaderMap| {
            a.verify(
                &SignedRequest {
                    method: "POST",
                    path: "/",
                    query: "",
                    headers,
                    body,
                },
                "kms",
                &served,
                now,
                t as f64,
            )
        };
        let decide = |caller: &Caller, purpose: &str| {
            let mut ctx = a.context(caller, &facts(), "kms:Encrypt");
            ctx.set_encryption_context([("purpose", purpose)]);
            a.authorize(
                caller,
                &Request {
                    action: "kms:Encrypt",
                    resource: Resource::Key {
                        arn: KEY,
                        account: A,
                        policy: &policy,
                    },
                    context: &ctx,
                    grants: &[],
                    encryption_context: None,
                },
            )
        };

        let alice = verify(&signed(
            "AKIAALICE00000000001",
            "alice-secret",
            None,
            body,
            t,
        ))
        .expect("alice verified")
        .caller;
        let d = decide(&alice, "payments").expect_err("alice may not encrypt");
        assert_eq!(d.reason, DenyReason::NoIdentityPolicyAllows);

        let ctx = a.context(&alice, &facts(), "sts:AssumeRole");
        let role = a
            .may_assume(&alice, "arn:aws:iam::111122223333:role/app", &ctx)
            .expect("alice may assume app");
        let session = a
            .sessions
            .issue(role, "batch", alice.arn(), 900, t as f64)
            .expect("issued");
        let app = verify(&signed(
            &session.access_key_id,
            session.secret.expose(),
            Some(session.token.expose()),
            body,
            t,
        ))
        .expect("session verified")
        .caller;
        assert_eq!(
            app.arn(),
            "arn:aws:sts::111122223333:assumed-role/app/batch"
        );
        assert_eq!(decide(&app, "payments"), Ok(Allowed::Policy));
        assert!(decide(&app, "reports").is_err());
        assert!(a
            .may_assume(&alice, "arn:aws:iam::111122223333:role/none", &ctx)
            .is_err());
    }

    /// Not a test of speed (timings are for scripts/bench): prints what strict mode adds
    /// to one Encrypt — SigV4 verification, the condition keys, the cached key policy,
    /// the decision.
    #[test]
    #[ignore]
    fn time_one_authorization() {
        let a = authorizer();
        let n: u32 = 200_000;
        let t = 1_790_000_000u64;
        let body = br#"{"KeyId":"alias/pay","Plaintext":"aGk="}"#;
        let headers = signed("AKIAADMIN00000000001", "admin-secret", None, body, t);
        let now = chrono::DateTime::from_timestamp(t as i64, 0).expect("time");
        let served = |r: &str| r == "us-east-1";
        let req = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        let time = |label: &str, f: &mut dyn FnMut()| {
            let start = std::time::Instant::now();
            for _ in 0..n {
                f();
            }
            println!("{label}: {:?}", start.elapsed() / n);
        };
        let caller = admin(&a);
        time("SigV4 verification", &mut || {
            assert!(a.verify(&req, "kms", &served, now, t as f64).is_ok());
        });
        time("condition keys", &mut || {
            let mut ctx = a.context(&caller, &facts(), "kms:Encrypt");
            ctx.set_encryption_context([("purpose", "payments")]);
            assert!(ctx.get("kms:CallerAccount").is_some());
        });
        time("cached key policy", &mut || {
            assert!(a.key_policy(DEFAULT).is_ok());
        });
        let mut ctx = a.context(&caller, &facts(), "kms:Encrypt");
        ctx.set_encryption_context([("purpose", "payments")]);
        let policy = a.key_policy(DEFAULT).expect("policy");
        time("decision", &mut || {
            let req = Request {
                action: "kms:Encrypt",
                resource: Resource::Key {
                    arn: KEY,
                    account: A,
                    policy: &policy,
                },
                context: &ctx,
                grants: &[],
                encryption_context: None,
            };
            assert!(a.authorize(&caller, &req).is_ok());
        });
    }
}
