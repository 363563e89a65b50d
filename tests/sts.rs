//! STS on the server's port, through aws-sdk-sts: GetCallerIdentity for each kind of
//! caller, AssumeRole (trust policy and IAM policy, session duration, role chaining,
//! parameters hsm-kms does not implement), temporary credentials signing KMS calls until
//! their expiry on the server clock and across a restart, forged or altered credentials
//! refused with STS's errors, the audit records of STS calls (never a secret), and open
//! mode. The aws CLI's role profiles are exercised by the README's Access control example
//! (tests/access_control_readme.rs).

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_sts::Client as Sts;
use common::*;
use serde_json::Value;

const A: &str = "111122223333";

fn principals() -> String {
    r#"
[accounts.111122223333]
[[accounts.111122223333.access_keys]]
id = "AKIAROOT000000000001"
secret = "root-secret"

[users.alice]
account = "111122223333"
[[users.alice.access_keys]]
id = "AKIAALICE00000000001"
secret = "alice-secret"
[[users.alice.policies]]
name = "assume-app"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/app"}}'

[users.bob]
account = "111122223333"
[[users.bob.access_keys]]
id = "AKIABOB0000000000001"
secret = "bob-secret"

[roles.app]
account = "111122223333"
max_session_duration = 3600
trust_policy = '''
{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},
 "Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:RoleSessionName":"batch-*"}}}}
'''
[[roles.app.policies]]
name = "use-keys"
document = '''
{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["kms:CreateKey","kms:Encrypt","kms:DescribeKey"],"Resource":"*"},
  {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/auditor"}]}
'''

[roles.auditor]
account = "111122223333"
max_session_duration = 43200
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"sts:AssumeRole"}}'
"#
    .to_string()
}

async fn sts(server: &Server, region: &str, id: &str, secret: &str, token: Option<&str>) -> Sts {
    Sts::new(&server.sdk_config_as(region, id, secret, token).await)
}

/// The temporary credentials of an AssumeRole answer: access key id, secret, token.
fn credentials(
    out: &aws_sdk_sts::operation::assume_role::AssumeRoleOutput,
) -> (String, String, String) {
    let c = out.credentials().expect("Credentials");
    (
        c.access_key_id().to_string(),
        c.secret_access_key().to_string(),
        c.session_token().to_string(),
    )
}

/// A Region's audit records once the buffered ones are on disk (flushed every 200 ms).
async fn records(server: &Server, region: &str) -> Vec<Value> {
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    audit_records(server, region)
}

#[tokio::test(flavor = "multi_thread")]
async fn get_caller_identity_names_each_kind_of_caller() {
    let server = Server::start_strict(&principals(), &[]);
    let root = sts(
        &server,
        "us-east-1",
        "AKIAROOT000000000001",
        "root-secret",
        None,
    )
    .await;
    let me = root.get_caller_identity().send().await.expect("root");
    assert_eq!(me.account(), Some(A));
    assert_eq!(me.user_id(), Some(A));
    assert_eq!(me.arn(), Some("arn:aws:iam::111122223333:root"));

    let alice = sts(
        &server,
        "eu-west-1",
        "AKIAALICE00000000001",
        "alice-secret",
        None,
    )
    .await;
    let me = alice.get_caller_identity().send().await.expect("alice");
    assert_eq!(me.arn(), Some("arn:aws:iam::111122223333:user/alice"));
    assert!(me.user_id().expect("UserId").starts_with("AIDA"), "{me:?}");

    let out = alice
        .assume_role()
        .role_arn("arn:aws:iam::111122223333:role/app")
        .role_session_name("batch-1")
        .send()
        .await
        .expect("alice assumes app");
    let (id, secret, token) = credentials(&out);
    assert!(id.starts_with("ASIA") && id.len() == 20, "{id}");
    let role_user = out.assumed_role_user().expect("AssumedRoleUser");
    assert_eq!(
        role_user.arn(),
        "arn:aws:sts::111122223333:assumed-role/app/batch-1"
    );
    let session = sts(&server, "eu-west-1", &id, &secret, Some(&token)).await;
    let me = session.get_caller_identity().send().await.expect("session");
    assert_eq!(me.arn(), Some(role_user.arn()));
    let user_id = me.user_id().expect("UserId");
    assert!(
        user_id.starts_with("AROA") && user_id.ends_with(":batch-1"),
        "{user_id}"
    );
    assert_eq!(user_id, role_user.assumed_role_id());

    // Any other STS action is refused, not mistaken for another.
    let e = must_fail(alice.get_session_token().send().await, "GetSessionToken");
    assert_err(&e, "InvalidAction", &["GetCallerIdentity and AssumeRole"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_credentials_sign_kms_calls_until_their_expiry_and_survive_a_restart() {
    let mut server = Server::start_strict(&principals(), &["--admin-api"]);
    let r = "us-east-1";
    let alice = sts(&server, r, "AKIAALICE00000000001", "alice-secret", None).await;
    let out = alice
        .assume_role()
        .role_arn("arn:aws:iam::111122223333:role/app")
        .role_session_name("batch-nightly")
        .duration_seconds(900)
        .send()
        .await
        .expect("AssumeRole");
    let (id, secret, token) = credentials(&out);
    let expiration = out.credentials().expect("Credentials").expiration().secs();
    let kms = server.client_as(r, &id, &secret, Some(&token)).await;
    let key = kms
        .create_key()
        .send()
        .await
        .expect("the role may create keys")
        .key_metadata()
        .expect("metadata")
        .key_id()
        .to_string();
    kms.encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"nightly".to_vec()))
        .send()
        .await
        .expect("the role may encrypt");
    let e = must_fail(
        kms.schedule_key_deletion().key_id(&key).send().await,
        "not in the role's policy",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &[
            "arn:aws:sts::111122223333:assumed-role/app/batch-nightly",
            "kms:ScheduleKeyDeletion",
        ],
    );

    // The audit log: the session as CloudTrail shows it, and the AssumeRole call without
    // its secret or token.
    let log = records(&server, r).await;
    let encrypt = log
        .iter()
        .rev()
        .find(|e| e["eventName"] == "Encrypt")
        .expect("Encrypt record");
    let who = &encrypt["userIdentity"];
    assert_eq!(who["type"], "AssumedRole");
    assert_eq!(who["accessKeyId"], id.as_str());
    assert_eq!(
        who["sessionContext"]["sessionIssuer"]["arn"],
        "arn:aws:iam::111122223333:role/app"
    );
    let assume = log
        .iter()
        .find(|e| e["eventName"] == "AssumeRole")
        .expect("AssumeRole record");
    assert_eq!(assume["eventSource"], "sts.amazonaws.com");
    assert_eq!(
        assume["userIdentity"]["arn"],
        "arn:aws:iam::111122223333:user/alice"
    );
    assert_eq!(
        assume["requestParameters"]["roleSessionName"],
        "batch-nightly"
    );
    assert_eq!(assume["requestParameters"]["durationSeconds"], 900);
    assert_eq!(
        assume["responseElements"]["credentials"]["accessKeyId"],
        id.as_str()
    );
    assert_eq!(
        assume["resources"][0]["ARN"],
        "arn:aws:iam::111122223333:role/app"
    );
    let text = std::fs::read_to_string(server.data_dir().join("audit/us-east-1.jsonl"))
        .expect("audit file");
    assert!(
        !text.contains(&secret),
        "the secret key is in the audit log"
    );
    assert!(
        !text.contains(&token),
        "the session token is in the audit log"
    );
    assert!(!server.log().contains(&secret) && !server.log().contains(&token));

    // Nothing about the session is on disk, yet it outlives a restart.
    server.restart();
    let kms = server.client_as(r, &id, &secret, Some(&token)).await;
    kms.describe_key()
        .key_id(&key)
        .send()
        .await
        .expect("the session after a restart");

    // An altered token does not open; a token without its secret does not sign.
    let mut altered = token.clone().into_bytes();
    let i = altered.len() / 2;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).expect("ascii");
    let forged = server.client_as(r, &id, &secret, Some(&altered)).await;
    let e = must_fail(
        forged.describe_key().key_id(&key).send().await,
        "altered token",
    );
    assert_err(
        &e,
        "UnrecognizedClientException",
        &["security token included in the request is invalid"],
    );
    let forged = sts(&server, r, &id, &secret, Some(&altered)).await;
    let e = must_fail(
        forged.get_caller_identity().send().await,
        "altered token (STS)",
    );
    assert_err(
        &e,
        "InvalidClientTokenId",
        &["security token included in the request is invalid"],
    );
    let wrong = sts(&server, r, &id, "not-the-secret", Some(&token)).await;
    let e = must_fail(wrong.get_caller_identity().send().await, "wrong secret");
    assert_err(
        &e,
        "SignatureDoesNotMatch",
        &["The request signature we calculated does not match"],
    );

    // The server clock ends the session at its expiry.
    let now = server.advance_clock(901.0).await;
    assert!(now >= expiration as f64, "the clock passed the expiry");
    let kms = server.client_as(r, &id, &secret, Some(&token)).await;
    let e = must_fail(kms.describe_key().key_id(&key).send().await, "expired");
    assert_err(
        &e,
        "ExpiredTokenException",
        &["The security token included in the request is expired"],
    );
    let expired = sts(&server, r, &id, &secret, Some(&token)).await;
    let e = must_fail(expired.get_caller_identity().send().await, "expired (STS)");
    assert_err(&e, "ExpiredToken", &["expired"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn assume_role_is_refused_as_aws_refuses_it() {
    let server = Server::start_strict(&principals(), &[]);
    let r = "us-west-2";
    let app = "arn:aws:iam::111122223333:role/app";
    let assume = |client: Sts, role: &'static str, name: &'static str| async move {
        client
            .assume_role()
            .role_arn(role)
            .role_session_name(name)
            .send()
            .await
    };
    let bob = sts(&server, r, "AKIABOB0000000000001", "bob-secret", None).await;
    let alice = sts(&server, r, "AKIAALICE00000000001", "alice-secret", None).await;
    let root = sts(&server, r, "AKIAROOT000000000001", "root-secret", None).await;

    // The trust policy names the account: bob's IAM policies must allow it, and do not.
    let e = must_fail(assume(bob.clone(), app, "batch-1").await, "bob");
    assert_err(
        &e,
        "AccessDenied",
        &["User: arn:aws:iam::111122223333:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/app"],
    );
    // The trust policy's condition on the session name.
    let e = must_fail(assume(alice.clone(), app, "adhoc").await, "session name");
    assert_err(&e, "AccessDenied", &["sts:AssumeRole", app]);
    let e = must_fail(
        assume(
            alice.clone(),
            "arn:aws:iam::111122223333:role/nobody",
            "batch-1",
        )
        .await,
        "no such role",
    );
    assert_err(
        &e,
        "AccessDenied",
        &["arn:aws:iam::111122223333:role/nobody"],
    );
    let e = must_fail(assume(root, app, "batch-1").await, "root");
    assert_err(
        &e,
        "AccessDenied",
        &["Roles may not be assumed by root accounts."],
    );
    let e = must_fail(
        assume(
            alice.clone(),
            "arn:aws:iam::111122223333:user/bob",
            "batch-1",
        )
        .await,
        "a user ARN",
    );
    assert_err(&e, "ValidationError", &["is not a role ARN"]);

    // Durations: the model's bounds, the role's maximum, role chaining's hour.
    let e = must_fail(
        alice
            .assume_role()
            .role_arn(app)
            .role_session_name("batch-1")
            .duration_seconds(600)
            .send()
            .await,
        "too short",
    );
    assert_err(
        &e,
        "ValidationError",
        &["durationSeconds", "greater than or equal to 900"],
    );
    let e = must_fail(
        alice
            .assume_role()
            .role_arn(app)
            .role_session_name("batch-1")
            .duration_seconds(7200)
            .send()
            .await,
        "beyond the role's maximum",
    );
    assert_err(
        &e,
        "ValidationError",
        &["The requested DurationSeconds exceeds the MaxSessionDuration set for this role."],
    );
    let e = must_fail(
        alice
            .assume_role()
            .role_arn(app)
            .role_session_name("batch-1")
            .policy(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}}"#)
            .send()
            .await,
        "a session policy",
    );
    assert_err(&e, "ValidationError", &["does not implement Policy"]);

    let out = assume(alice, app, "batch-1")
        .await
        .expect("alice assumes app");
    let (id, secret, token) = credentials(&out);
    let session = sts(&server, r, &id, &secret, Some(&token)).await;
    let e = must_fail(
        session
            .assume_role()
            .role_arn("arn:aws:iam::111122223333:role/auditor")
            .role_session_name("audit")
            .duration_seconds(7200)
            .send()
            .await,
        "chained beyond an hour",
    );
    assert_err(
        &e,
        "ValidationError",
        &["1 hour session limit for roles assumed by role chaining"],
    );
    let chained = session
        .assume_role()
        .role_arn("arn:aws:iam::111122223333:role/auditor")
        .role_session_name("audit")
        .send()
        .await
        .expect("app chains to auditor");
    assert_eq!(
        chained.assumed_role_user().expect("user").arn(),
        "arn:aws:sts::111122223333:assumed-role/auditor/audit"
    );

    // Denials are in the audit log with STS's error code.
    let log = records(&server, r).await;
    let denied: Vec<&Value> = log
        .iter()
        .filter(|e| e["eventName"] == "AssumeRole" && e["errorCode"] == "AccessDenied")
        .collect();
    assert_eq!(denied.len(), 4, "{denied:#?}");
    assert!(denied
        .iter()
        .any(|e| e["userIdentity"]["arn"] == "arn:aws:iam::111122223333:user/bob"));
}

#[tokio::test(flavor = "multi_thread")]
async fn open_mode_answers_as_the_account_root_and_issues_credentials_for_any_role() {
    let server = Server::start();
    let r = "us-east-1";
    let anyone = sts(&server, r, "AKIDEXAMPLE", "secret", None).await;
    let me = anyone
        .get_caller_identity()
        .send()
        .await
        .expect("open mode");
    assert_eq!(me.arn(), Some("arn:aws:iam::111122223333:root"));
    assert_eq!(me.account(), Some(A));
    let out = anyone
        .assume_role()
        .role_arn("arn:aws:iam::111122223333:role/anything")
        .role_session_name("s1")
        .send()
        .await
        .expect("AssumeRole in open mode");
    let (id, secret, token) = credentials(&out);
    assert!(id.starts_with("ASIA") && id.len() == 20, "{id}");
    assert_eq!(
        out.assumed_role_user().expect("user").arn(),
        "arn:aws:sts::111122223333:assumed-role/anything/s1"
    );
    let kms = server.client_as(r, &id, &secret, Some(&token)).await;
    let (key, _) = new_key(&kms).await;
    encrypt(&kms, &key, b"open").await;
    let log = records(&server, r).await;
    let record = log
        .iter()
        .find(|e| e["eventName"] == "CreateKey")
        .expect("CreateKey record");
    assert_eq!(record["userIdentity"]["type"], "Root");
    assert_eq!(record["userIdentity"]["accessKeyId"], id.as_str());
}
