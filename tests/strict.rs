//! Strict mode end to end, with aws-sdk-kms signing as the principals of a principals file:
//! signatures verified (and every refusal leaving the store as it was), the seed's
//! replication permissions in each Region, ABAC through tags and aliases, encryption
//! context conditions, explicit denies, cross-account use, grants (tokens, constraints,
//! grants made through grants, who may retire), CloudFormation (its own permissions, and
//! the KMS permissions of what a template creates, as the caller), the policy checks on
//! write, and the audit log's verified identities and denials.

mod common;

use std::time::SystemTime;

use aws_sdk_kms::types::{KeyState, Tag};
use aws_sdk_kms::Client;
use common::signing::{kms_call, Signer};
use common::*;
use serde_json::{json, Value};

const A: &str = "111122223333";
const B: &str = "444455556666";

/// The cast: an administrator, application users, two replicators, an ABAC user, a user
/// with an explicit deny, and a user of another account.
fn cast() -> String {
    r#"
[accounts.111122223333]
name = "owner of the keys"
[[accounts.111122223333.access_keys]]
id = "AKIAROOT000000000001"
secret = "root-secret"

[accounts.444455556666]
name = "partner"

[users.admin]
account = "111122223333"
[[users.admin.access_keys]]
id = "AKIAADMIN00000000001"
secret = "admin-secret"
[[users.admin.policies]]
name = "kms-admin"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["kms:*","cloudtrail:LookupEvents","cloudformation:*"],"Resource":"*"}}'

[users.stacker]
account = "111122223333"
[[users.stacker.access_keys]]
id = "AKIASTACKER000000001"
secret = "stacker-secret"
[[users.stacker.policies]]
name = "app-stacks-without-aliases"
document = '''
{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"cloudformation:*","Resource":"arn:aws:cloudformation:*:111122223333:stack/app-*/*"},
  {"Effect":"Allow","Action":["kms:CreateKey","kms:TagResource","kms:PutKeyPolicy","kms:DescribeKey",
     "kms:ListKeys","kms:ListAliases","kms:ScheduleKeyDeletion"],"Resource":"*"}]}
'''

[users.payer]
account = "111122223333"
[[users.payer.access_keys]]
id = "AKIAPAYER00000000001"
secret = "payer-secret"

[users.replicator]
account = "111122223333"
[[users.replicator.access_keys]]
id = "AKIAREPLICATOR000001"
secret = "replicator-secret"
[[users.replicator.policies]]
name = "replicas-anywhere"
document = '''
{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"kms:CreateKey","Resource":"*",
   "Condition":{"StringEquals":{"kms:MultiRegionKeyType":"REPLICA"}}},
  {"Effect":"Allow","Action":"kms:DescribeKey","Resource":"*"}]}
'''

[users.eu-replicator]
account = "111122223333"
[[users.eu-replicator.access_keys]]
id = "AKIAEUREPLICATOR0001"
secret = "eu-replicator-secret"
[[users.eu-replicator.policies]]
name = "replicas-in-eu-west-1"
document = '''
{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"kms:CreateKey","Resource":"arn:aws:kms:eu-west-1:111122223333:*",
   "Condition":{"StringEquals":{"kms:MultiRegionKeyType":"REPLICA"}}},
  {"Effect":"Allow","Action":["kms:TagResource","kms:UpdatePrimaryRegion"],"Resource":"*"}]}
'''

[users.tagger]
account = "111122223333"
[[users.tagger.access_keys]]
id = "AKIATAGGER0000000001"
secret = "tagger-secret"
[[users.tagger.policies]]
name = "abac"
document = '''
{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"arn:aws:kms:*:111122223333:key/*",
   "Condition":{"StringEquals":{"aws:ResourceTag/project":"alpha"}}},
  {"Effect":"Allow","Action":"kms:GenerateDataKey","Resource":"arn:aws:kms:*:111122223333:key/*",
   "Condition":{"ForAnyValue:StringLike":{"kms:ResourceAliases":"alias/alpha-*"}}},
  {"Effect":"Allow","Action":"kms:DescribeKey","Resource":"*",
   "Condition":{"StringEquals":{"kms:RequestAlias":"alias/alpha-payments"}}}]}
'''

[users.mallory]
account = "111122223333"
[[users.mallory.access_keys]]
id = "AKIAMALLORY000000001"
secret = "mallory-secret"
[[users.mallory.policies]]
name = "everything-but-decrypt"
document = '''
{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"kms:*","Resource":"*"},
  {"Effect":"Deny","Action":["kms:Decrypt","kms:RetireGrant"],"Resource":"*"}]}
'''

[users.carol]
account = "444455556666"
[[users.carol.access_keys]]
id = "AKIACAROL00000000001"
secret = "carol-secret"
[[users.carol.policies]]
name = "use-partner-keys"
document = '''
{"Version":"2012-10-17","Statement":{"Effect":"Allow",
  "Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey","kms:ScheduleKeyDeletion","kms:ListKeys"],
  "Resource":"*"}}
'''
"#
    .to_string()
}

/// The access key and secret of a principal of the cast.
fn creds(who: &str) -> (&'static str, &'static str) {
    match who {
        "root" => ("AKIAROOT000000000001", "root-secret"),
        "admin" => ("AKIAADMIN00000000001", "admin-secret"),
        "payer" => ("AKIAPAYER00000000001", "payer-secret"),
        "replicator" => ("AKIAREPLICATOR000001", "replicator-secret"),
        "eu-replicator" => ("AKIAEUREPLICATOR0001", "eu-replicator-secret"),
        "tagger" => ("AKIATAGGER0000000001", "tagger-secret"),
        "mallory" => ("AKIAMALLORY000000001", "mallory-secret"),
        "carol" => ("AKIACAROL00000000001", "carol-secret"),
        "stacker" => ("AKIASTACKER000000001", "stacker-secret"),
        other => panic!("no such principal in the cast: {other}"),
    }
}

async fn as_(server: &Server, who: &str, region: &str) -> Client {
    let (id, secret) = creds(who);
    server.client_as(region, id, secret, None).await
}

fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{A}:user/{name}")
}

/// A key policy: the default "Enable IAM User Permissions" statement plus `more`.
fn policy_with(more: &[Value]) -> String {
    let mut statements = vec![json!({
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{A}:root")},
        "Action": "kms:*",
        "Resource": "*"
    })];
    statements.extend_from_slice(more);
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

async fn create_key_with_policy(kms: &Client, policy: &str, multi_region: bool) -> String {
    kms.create_key()
        .policy(policy)
        .multi_region(multi_region)
        .send()
        .await
        .expect("CreateKey")
        .key_metadata()
        .expect("KeyMetadata")
        .key_id()
        .to_string()
}

/// Reads a Region's audit log once its buffered records are on disk.
async fn audit_records(server: &Server, region: &str) -> Vec<Value> {
    // Read-only records are flushed every 200 ms.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let path = server
        .data_dir()
        .join("audit")
        .join(format!("{region}.jsonl"));
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit record is JSON"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_strict_start_names_its_principals_file_and_a_malformed_one_stops_startup() {
    let server = Server::start_strict(&cast(), &[]);
    let log = server.log();
    assert!(log.contains("strict mode"), "{log}");
    assert!(
        log.contains(&server.principals_path().display().to_string()),
        "the start names the principals file: {log}"
    );
    assert!(log.contains("users=8"), "{log}");
    for secret in ["admin-secret", "root-secret", "carol-secret"] {
        assert!(!log.contains(secret), "a secret reached the log: {secret}");
    }

    // A duplicate access key id: startup stops, naming the entry and what is wrong.
    let bad = cast().replace("AKIAPAYER00000000001", "AKIAADMIN00000000001");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("principals.toml");
    std::fs::write(&file, bad).expect("write");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hsm-kms"));
    common::launch::clear_inherited_settings(&mut cmd);
    let out = cmd
        .args(["serve", "--listen", "127.0.0.1:0", "--mode", "strict"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--principals-file")
        .arg(&file)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run hsm-kms serve");
    assert!(
        !out.status.success(),
        "a malformed principals file must stop startup"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("users.payer.access_keys[0]"), "{stderr}");
    assert!(
        stderr.contains("duplicate access key id AKIAADMIN00000000001"),
        "{stderr}"
    );
    assert!(!stderr.contains("payer-secret") && !stderr.contains("admin-secret"));
    assert!(
        !dir.path().join("data").join("tokens").exists(),
        "nothing was opened or created before the file was checked"
    );

    // Strict mode without a principals file is refused as a configuration error.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hsm-kms"));
    common::launch::clear_inherited_settings(&mut cmd);
    let out = cmd
        .args(["check-config", "--mode", "strict"])
        .output()
        .expect("run hsm-kms check-config");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("principals_file"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_signatures_are_refused_with_aws_errors_and_change_nothing() {
    let server = Server::start_strict(&cast(), &[]);
    let r = "us-east-1";
    let admin = as_(&server, "admin", r).await;
    let (key_id, _) = new_key(&admin).await;
    let keys_before = admin
        .list_keys()
        .send()
        .await
        .expect("ListKeys")
        .keys()
        .len();
    let (akid, secret) = creds("admin");
    let now = Signer {
        access_key_id: akid,
        secret,
        session_token: None,
        region: r,
        service: "kms",
        time: SystemTime::now(),
    };
    let schedule = json!({"KeyId": key_id, "PendingWindowInDays": 30}).to_string();
    let create = json!({"Description": "must not exist"}).to_string();

    // Wrong secret.
    let wrong = Signer {
        secret: "not-the-secret",
        ..now.clone()
    };
    let a = kms_call(&server.url, &wrong, "ScheduleKeyDeletion", &schedule, None).await;
    assert_eq!(a.error_type(), "InvalidSignatureException", "{}", a.text);
    assert!(
        a.message().starts_with(
            "The request signature we calculated does not match the signature you provided."
        ),
        "{}",
        a.text
    );
    // Unknown access key.
    let stranger = Signer {
        access_key_id: "AKIAUNKNOWN000000001",
        ..now.clone()
    };
    let a = kms_call(&server.url, &stranger, "CreateKey", &create, None).await;
    assert_eq!(a.error_type(), "UnrecognizedClientException", "{}", a.text);
    assert_eq!(
        a.message(),
        "The security token included in the request is invalid."
    );
    // A date ten minutes ahead of the real clock.
    let a = kms_call(
        &server.url,
        &now.earlier_by(-600),
        "CreateKey",
        &create,
        None,
    )
    .await;
    assert_eq!(a.error_type(), "InvalidSignatureException", "{}", a.text);
    assert!(
        a.message().starts_with("Signature not yet current:"),
        "{}",
        a.text
    );
    // A request signed six minutes ago, replayed after its five-minute window.
    let a = kms_call(
        &server.url,
        &now.earlier_by(360),
        "ScheduleKeyDeletion",
        &schedule,
        None,
    )
    .await;
    assert_eq!(a.error_type(), "InvalidSignatureException", "{}", a.text);
    assert!(a.message().starts_with("Signature expired:"), "{}", a.text);
    assert!(a.message().contains("- 5 min."), "{}", a.text);
    // A body changed after signing (7 days instead of 30).
    let tampered = json!({"KeyId": key_id, "PendingWindowInDays": 7}).to_string();
    let a = kms_call(
        &server.url,
        &now,
        "ScheduleKeyDeletion",
        &schedule,
        Some(&tampered),
    )
    .await;
    assert_eq!(a.error_type(), "InvalidSignatureException", "{}", a.text);
    // A credential scoped to another service.
    let sts_scoped = Signer {
        service: "sts",
        ..now.clone()
    };
    let a = kms_call(&server.url, &sts_scoped, "CreateKey", &create, None).await;
    assert_eq!(a.error_type(), "InvalidSignatureException", "{}", a.text);
    assert!(a.message().contains("correct service: 'kms'"), "{}", a.text);
    // No signature at all.
    let a = reqwest::Client::new()
        .post(format!("{}/", server.url))
        .header("x-amz-target", "TrentService.CreateKey")
        .header("content-type", "application/x-amz-json-1.1")
        .body(create.clone())
        .send()
        .await
        .expect("send");
    let body: Value = serde_json::from_str(&a.text().await.unwrap_or_default()).unwrap_or_default();
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");

    // Nothing changed: the key is still Enabled, no key was created, and none of the
    // refused requests reached the audit log.
    let d = describe(&admin, &key_id).await;
    assert_eq!(d.key_state().map(|s| s.as_str()), Some("Enabled"));
    assert_eq!(
        admin
            .list_keys()
            .send()
            .await
            .expect("ListKeys")
            .keys()
            .len(),
        keys_before
    );
    let records = audit_records(&server, r).await;
    assert!(!records
        .iter()
        .any(|e| e["eventName"] == "ScheduleKeyDeletion"));
    assert_eq!(
        records
            .iter()
            .filter(|e| e["eventName"] == "CreateKey")
            .count(),
        1,
        "only the admin's own CreateKey"
    );

    // The correctly signed request goes through.
    let a = kms_call(&server.url, &now, "ScheduleKeyDeletion", &schedule, None).await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn replication_needs_replicate_key_on_the_primary_and_create_key_in_the_replica_region() {
    let server = Server::start_strict(&cast(), &[]);
    let admin = as_(&server, "admin", "us-east-1").await;
    // The primary's key policy lets both replicators replicate it (and the replicator
    // update its primary Region); IAM decides the rest.
    let policy = policy_with(&[json!({
        "Sid": "Replicators",
        "Effect": "Allow",
        "Principal": {"AWS": [user_arn("replicator"), user_arn("eu-replicator")]},
        "Action": ["kms:ReplicateKey", "kms:DescribeKey", "kms:UpdatePrimaryRegion"],
        "Resource": "*"
    })]);
    let id = create_key_with_policy(&admin, &policy, true).await;
    let arn = Server::key_arn("us-east-1", &id);
    let missing_in = |region: &'static str| {
        let server = &server;
        let id = id.clone();
        async move {
            let admin = as_(server, "admin", region).await;
            let e = must_fail(admin.describe_key().key_id(&id).send().await, "no replica");
            assert_err(&e, "NotFoundException", &[]);
        }
    };

    // eu-replicator may create keys only in eu-west-1: refused for us-west-2 …
    let eu = as_(&server, "eu-replicator", "us-east-1").await;
    let e = must_fail(
        eu.replicate_key()
            .key_id(&arn)
            .replica_region("us-west-2")
            .send()
            .await,
        "eu-replicator into us-west-2",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &[
            &format!(
                "User: {} is not authorized to perform: kms:CreateKey",
                user_arn("eu-replicator")
            ),
            "because no identity-based policy allows the kms:CreateKey action",
        ],
    );
    missing_in("us-west-2").await;
    // … allowed for eu-west-1, with tags (it has kms:TagResource).
    let out = eu
        .replicate_key()
        .key_id(&arn)
        .replica_region("eu-west-1")
        .tags(
            Tag::builder()
                .tag_key("team")
                .tag_value("eu")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("eu-replicator into eu-west-1");
    // The replica's key policy is the default one, not the primary's.
    let replica_policy: Value =
        serde_json::from_str(out.replica_policy().expect("ReplicaPolicy")).expect("JSON");
    assert_eq!(replica_policy["Id"], "key-default-1");
    assert!(!out
        .replica_policy()
        .unwrap_or_default()
        .contains("Replicators"));

    // The replicator may create replicas anywhere, but not tag them.
    let rep = as_(&server, "replicator", "us-east-1").await;
    let e = must_fail(
        rep.replicate_key()
            .key_id(&arn)
            .replica_region("us-west-2")
            .tags(
                Tag::builder()
                    .tag_key("team")
                    .tag_value("x")
                    .build()
                    .expect("tag"),
            )
            .send()
            .await,
        "tags without kms:TagResource",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &["kms:TagResource because no identity-based policy allows the kms:TagResource action"],
    );
    assert!(
        !err_message(&e).contains("on resource"),
        "{}",
        err_message(&e)
    );
    missing_in("us-west-2").await;
    rep.replicate_key()
        .key_id(&arn)
        .replica_region("us-west-2")
        .send()
        .await
        .expect("replicator into us-west-2");

    // Someone the key policy does not name, whose IAM policies do not allow it either.
    let payer = as_(&server, "payer", "us-east-1").await;
    let e = must_fail(
        payer
            .replicate_key()
            .key_id(&arn)
            .replica_region("us-west-2")
            .send()
            .await,
        "payer",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &[
            "kms:ReplicateKey on resource: ",
            &arn,
            "because no identity-based policy allows the kms:ReplicateKey action",
        ],
    );

    // UpdatePrimaryRegion needs the permission on both keys: the eu-west-1 replica has the
    // default policy, and the replicator's IAM policies do not allow it there.
    wait_for_state(
        &as_(&server, "admin", "eu-west-1").await,
        &id,
        KeyState::Enabled,
    )
    .await;
    let e = must_fail(
        rep.update_primary_region()
            .key_id(&arn)
            .primary_region("eu-west-1")
            .send()
            .await,
        "replicator, replica not allowed",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &[
            "kms:UpdatePrimaryRegion on resource: ",
            &Server::key_arn("eu-west-1", &id),
            "because no identity-based policy allows",
        ],
    );
    let d = describe(&admin, &id).await;
    assert_eq!(
        d.key_state().map(|s| s.as_str()),
        Some("Enabled"),
        "still the primary, unchanged"
    );
    // eu-replicator has it in IAM (replica) and in the primary's key policy.
    eu.update_primary_region()
        .key_id(&arn)
        .primary_region("eu-west-1")
        .send()
        .await
        .expect("eu-replicator moves the primary");
}

#[tokio::test(flavor = "multi_thread")]
async fn abac_through_tags_and_aliases() {
    let server = Server::start_strict(&cast(), &[]);
    let r = "us-west-2";
    let admin = as_(&server, "admin", r).await;
    let tagger = as_(&server, "tagger", r).await;
    let (id, _) = new_key(&admin).await;
    let encrypt = || {
        tagger
            .encrypt()
            .key_id(&id)
            .plaintext(aws_sdk_kms::primitives::Blob::new(b"abac".to_vec()))
            .send()
    };
    let e = must_fail(encrypt().await, "untagged");
    assert_err(
        &e,
        "AccessDeniedException",
        &[
            &user_arn("tagger"),
            "kms:Encrypt",
            "no identity-based policy allows",
        ],
    );
    // Tagging the key allows (aws:ResourceTag/project) …
    admin
        .tag_resource()
        .key_id(&id)
        .tags(
            Tag::builder()
                .tag_key("project")
                .tag_value("alpha")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("tag");
    encrypt().await.expect("tagged project=alpha");
    // … untagging denies again.
    admin
        .untag_resource()
        .key_id(&id)
        .tag_keys("project")
        .send()
        .await
        .expect("untag");
    must_fail(encrypt().await, "untagged again");

    // An alias allows GenerateDataKey (kms:ResourceAliases) while it points at the key.
    let gdk = || {
        tagger
            .generate_data_key()
            .key_id(&id)
            .number_of_bytes(32)
            .send()
    };
    must_fail(gdk().await, "no alias");
    admin
        .create_alias()
        .alias_name("alias/alpha-payments")
        .target_key_id(&id)
        .send()
        .await
        .expect("alias");
    gdk().await.expect("alias alpha-payments");
    // kms:RequestAlias: DescribeKey is allowed only by that alias name.
    tagger
        .describe_key()
        .key_id("alias/alpha-payments")
        .send()
        .await
        .expect("DescribeKey by alias");
    let e = must_fail(tagger.describe_key().key_id(&id).send().await, "by id");
    assert_err(&e, "AccessDeniedException", &["kms:DescribeKey"]);
    admin
        .delete_alias()
        .alias_name("alias/alpha-payments")
        .send()
        .await
        .expect("delete alias");
    must_fail(gdk().await, "alias deleted");

    // The alias actions need the alias and the key: mallory's IAM allows every kms: action,
    // the key policy lets her account's IAM decide, so she can; the tagger cannot.
    let e = must_fail(
        tagger
            .create_alias()
            .alias_name("alias/mine")
            .target_key_id(&id)
            .send()
            .await,
        "tagger creates an alias",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &[&format!(
            "kms:CreateAlias on resource: {}",
            Server::alias_arn(r, "alias/mine")
        )],
    );
    as_(&server, "mallory", r)
        .await
        .create_alias()
        .alias_name("alias/mine")
        .target_key_id(&id)
        .send()
        .await
        .expect("mallory creates an alias");
}

#[tokio::test(flavor = "multi_thread")]
async fn encryption_context_conditions_and_explicit_denies() {
    let server = Server::start_strict(&cast(), &[]);
    let r = "eu-west-1";
    let admin = as_(&server, "admin", r).await;
    // payer has no IAM policy: the key policy names payer directly, for Encrypt with
    // purpose=payments only.
    let policy = policy_with(&[
        json!({
            "Sid": "Payments only",
            "Effect": "Allow",
            "Principal": {"AWS": user_arn("payer")},
            "Action": "kms:Encrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:purpose": "payments"}}
        }),
        json!({
            "Sid": "No encryption for mallory",
            "Effect": "Deny",
            "Principal": {"AWS": user_arn("mallory")},
            "Action": "kms:Encrypt",
            "Resource": "*"
        }),
    ]);
    let id = create_key_with_policy(&admin, &policy, false).await;
    let arn = Server::key_arn(r, &id);
    let payer = as_(&server, "payer", r).await;
    let encrypt = |client: &Client, purpose: Option<&str>| {
        let mut call = client
            .encrypt()
            .key_id(&id)
            .plaintext(aws_sdk_kms::primitives::Blob::new(b"pay".to_vec()));
        if let Some(p) = purpose {
            call = call.encryption_context("purpose", p);
        }
        call.send()
    };
    encrypt(&payer, Some("payments"))
        .await
        .expect("purpose=payments");
    for other in [Some("reports"), None] {
        let e = must_fail(encrypt(&payer, other).await, "another purpose");
        assert_err(
            &e,
            "AccessDeniedException",
            &[&format!(
                "User: {} is not authorized to perform: kms:Encrypt on resource: {arn} because no identity-based policy allows the kms:Encrypt action",
                user_arn("payer")
            )],
        );
    }
    // Decrypt is not in the statement at all.
    let blob = encrypt(&admin, Some("payments"))
        .await
        .expect("admin encrypts")
        .ciphertext_blob()
        .expect("blob")
        .clone();
    let e = must_fail(
        payer
            .decrypt()
            .ciphertext_blob(blob.clone())
            .encryption_context("purpose", "payments")
            .send()
            .await,
        "payer decrypts",
    );
    assert_err(&e, "AccessDeniedException", &["kms:Decrypt"]);

    // mallory: an explicit deny in the key policy, and one in her IAM policy.
    let mallory = as_(&server, "mallory", r).await;
    let e = must_fail(
        encrypt(&mallory, Some("payments")).await,
        "mallory encrypts",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &[
            "kms:Encrypt on resource: ",
            &arn,
            "with an explicit deny in a resource-based policy",
        ],
    );
    let e = must_fail(
        mallory
            .decrypt()
            .ciphertext_blob(blob)
            .encryption_context("purpose", "payments")
            .send()
            .await,
        "mallory decrypts",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &[
            "kms:Decrypt on resource: ",
            &arn,
            "with an explicit deny in an identity-based policy",
        ],
    );
    // What her policies allow still works.
    mallory
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .expect("mallory describes");
}

#[tokio::test(flavor = "multi_thread")]
async fn grants_allow_their_grantee_within_their_constraints_in_their_region_only() {
    use aws_sdk_kms::types::{GrantConstraints, GrantOperation};
    let server = Server::start_strict(&cast(), &[]);
    let r = "us-east-1";
    let admin = as_(&server, "admin", r).await;
    // The default key policy: IAM decides, and payer has no IAM policy at all.
    let id = create_key_with_policy(&admin, &policy_with(&[]), true).await;
    let arn = Server::key_arn(r, &id);
    admin
        .replicate_key()
        .key_id(&arn)
        .replica_region("us-west-2")
        .send()
        .await
        .expect("admin replicates");
    let payer = as_(&server, "payer", r).await;
    let encrypt = |client: &Client, purpose: Option<&str>, tokens: &[String]| {
        let mut call = client
            .encrypt()
            .key_id(&arn)
            .plaintext(aws_sdk_kms::primitives::Blob::new(b"pay".to_vec()))
            .set_grant_tokens((!tokens.is_empty()).then(|| tokens.to_vec()));
        if let Some(p) = purpose {
            call = call.encryption_context("purpose", p);
        }
        call.send()
    };
    let e = must_fail(encrypt(&payer, Some("payments"), &[]).await, "no grant yet");
    assert_err(&e, "AccessDeniedException", &["kms:Encrypt", &arn]);

    let payments = || {
        GrantConstraints::builder()
            .encryption_context_subset("purpose", "payments")
            .build()
    };
    let grant = admin
        .create_grant()
        .key_id(&id)
        .grantee_principal(user_arn("payer"))
        .retiring_principal(user_arn("replicator"))
        .operations(GrantOperation::Encrypt)
        .operations(GrantOperation::Decrypt)
        .operations(GrantOperation::CreateGrant)
        .constraints(payments())
        .send()
        .await
        .expect("CreateGrant");
    let token = grant.grant_token().expect("token").to_string();
    let grant_id = grant.grant_id().expect("grant id").to_string();
    // A principal the principals file does not declare is no grantee.
    let e = must_fail(
        admin
            .create_grant()
            .key_id(&id)
            .grantee_principal(user_arn("ghost"))
            .operations(GrantOperation::Encrypt)
            .send()
            .await,
        "an unknown grantee",
    );
    assert_err(
        &e,
        "InvalidArnException",
        &["ARN does not refer to a valid principal: arn:aws:iam::111122223333:user/ghost"],
    );
    // The token is usable at once, and so is the grant without it (immediately
    // consistent here).
    let blob = encrypt(&payer, Some("payments"), std::slice::from_ref(&token))
        .await
        .expect("the grant allows Encrypt with purpose=payments")
        .ciphertext_blob()
        .expect("blob")
        .clone();
    encrypt(&payer, Some("payments"), &[])
        .await
        .expect("without the token too");
    for (purpose, what) in [(Some("reports"), "another purpose"), (None, "no context")] {
        let e = must_fail(
            encrypt(&payer, purpose, std::slice::from_ref(&token)).await,
            what,
        );
        assert_err(&e, "AccessDeniedException", &["kms:Encrypt", &arn]);
    }
    payer
        .decrypt()
        .ciphertext_blob(blob)
        .encryption_context("purpose", "payments")
        .send()
        .await
        .expect("the grant allows Decrypt");
    let e = must_fail(
        payer.describe_key().key_id(&arn).send().await,
        "DescribeKey is not in the grant",
    );
    assert_err(&e, "AccessDeniedException", &["kms:DescribeKey"]);
    // Grants are Regional: the replica in us-west-2 has none.
    let replica_arn = Server::key_arn("us-west-2", &id);
    let admin_west = as_(&server, "admin", "us-west-2").await;
    wait_for_state(&admin_west, &id, KeyState::Enabled).await;
    let payer_west = as_(&server, "payer", "us-west-2").await;
    let e = must_fail(
        payer_west
            .encrypt()
            .key_id(&replica_arn)
            .plaintext(aws_sdk_kms::primitives::Blob::new(b"pay".to_vec()))
            .encryption_context("purpose", "payments")
            .send()
            .await,
        "the primary's grant on the replica",
    );
    assert_err(&e, "AccessDeniedException", &["kms:Encrypt", &replica_arn]);

    // payer may create grants through the grant, but only within it.
    let child = |ops: &[GrantOperation], constraints: Option<GrantConstraints>| {
        payer
            .create_grant()
            .key_id(&arn)
            .grantee_principal(user_arn("tagger"))
            .set_operations(Some(ops.to_vec()))
            .set_constraints(constraints)
            .send()
    };
    let e = must_fail(
        child(
            &[GrantOperation::Encrypt, GrantOperation::GenerateDataKey],
            Some(payments()),
        )
        .await,
        "an operation the parent does not allow",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &[
            &user_arn("payer"),
            "kms:CreateGrant",
            &arn,
            "the grant that allows it",
        ],
    );
    let e = must_fail(
        child(&[GrantOperation::Encrypt], None).await,
        "looser constraints than the parent's",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &["kms:CreateGrant", "the grant that allows it"],
    );
    let grandchild = child(&[GrantOperation::Encrypt], Some(payments()))
        .await
        .expect("a grant within the parent");
    let tagger = as_(&server, "tagger", r).await;
    let child_token = grandchild.grant_token().expect("token").to_string();
    encrypt(
        &tagger,
        Some("payments"),
        std::slice::from_ref(&child_token),
    )
    .await
    .expect("the child grant allows tagger Encrypt");

    // Who may retire: not the grantee of a grant without RetireGrant, not another account,
    // not a user whose IAM policy denies kms:RetireGrant; the retiring principal may.
    let e = must_fail(
        tagger.retire_grant().grant_token(&child_token).send().await,
        "the grantee of a grant without RetireGrant",
    );
    assert_err(&e, "AccessDeniedException", &["kms:RetireGrant", &arn]);
    let mallory = as_(&server, "mallory", r).await;
    let e = must_fail(
        mallory
            .retire_grant()
            .key_id(&arn)
            .grant_id(&grant_id)
            .send()
            .await,
        "an explicit deny of kms:RetireGrant",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &[
            "kms:RetireGrant",
            "with an explicit deny in an identity-based policy",
        ],
    );
    let carol = as_(&server, "carol", r).await;
    let e = must_fail(
        carol.retire_grant().grant_token(&token).send().await,
        "another account",
    );
    assert_err(&e, "AccessDeniedException", &["kms:RetireGrant"]);
    let listed = admin
        .list_grants()
        .key_id(&id)
        .send()
        .await
        .expect("ListGrants");
    assert_eq!(listed.grants().len(), 2, "nothing was retired");
    let replicator = as_(&server, "replicator", r).await;
    replicator
        .retire_grant()
        .grant_token(&token)
        .send()
        .await
        .expect("the retiring principal retires");
    let e = must_fail(
        encrypt(&payer, Some("payments"), &[]).await,
        "the grant is gone",
    );
    assert_err(&e, "AccessDeniedException", &["kms:Encrypt"]);
    // The account the grant was made in retires the other one (admin: IAM allows it).
    admin
        .retire_grant()
        .grant_token(&child_token)
        .send()
        .await
        .expect("the issuing account's administrator retires");
}

/// A key and an alias: CloudFormation creates them with the caller's permissions.
const KEY_AND_ALIAS: &str = r#"
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      Description: made by a stack
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Sid: Enable IAM User Permissions
            Effect: Allow
            Principal: {AWS: "arn:aws:iam::111122223333:root"}
            Action: "kms:*"
            Resource: "*"
  Alias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: !Sub "alias/${AWS::StackName}"
      TargetKeyId: !Ref Key
"#;

/// Polls until the stack's operation is over; returns its status.
async fn stack_settled(cfn: &aws_sdk_cloudformation::Client, name: &str) -> String {
    for _ in 0..1200 {
        let out = cfn
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe {name}: {}", err_message(&e)));
        let status = out.stacks()[0]
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if !status.ends_with("_IN_PROGRESS") {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("{name} did not settle");
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudformation_needs_its_own_permissions_and_creates_resources_as_the_caller() {
    let server = Server::start_strict(&cast(), &[]);
    let r = "us-east-1";
    let cfn_as = |who: &'static str| {
        let server = &server;
        async move {
            let (id, secret) = creds(who);
            aws_sdk_cloudformation::Client::new(&server.sdk_config_as(r, id, secret, None).await)
        }
    };
    let create = |client: aws_sdk_cloudformation::Client, name: &'static str| async move {
        client
            .create_stack()
            .stack_name(name)
            .template_body(KEY_AND_ALIAS)
            .send()
            .await
    };
    let admin = cfn_as("admin").await;

    // No cloudformation:CreateStack at all, or not on this stack name.
    let e = must_fail(create(cfn_as("payer").await, "app-payer").await, "payer");
    assert_err(
        &e,
        "AccessDenied",
        &["User: arn:aws:iam::111122223333:user/payer is not authorized to perform: cloudformation:CreateStack on resource: arn:aws:cloudformation:us-east-1:111122223333:stack/app-payer/* because no identity-based policy allows the cloudformation:CreateStack action"],
    );
    let stacker = cfn_as("stacker").await;
    let e = must_fail(create(stacker.clone(), "other-stack").await, "another name");
    assert_err(
        &e,
        "AccessDenied",
        &["cloudformation:CreateStack", "stack/other-stack/*"],
    );
    for name in ["app-payer", "other-stack"] {
        let e = must_fail(
            admin.describe_stacks().stack_name(name).send().await,
            "no stack was made",
        );
        assert_err(&e, "ValidationError", &["does not exist"]);
    }

    // stacker may create the stack and the key, but not the alias: the alias fails with
    // KMS's denial of the caller, and the rollback deletes the key.
    create(stacker.clone(), "app-one")
        .await
        .expect("stacker may create app-* stacks");
    assert_eq!(
        stack_settled(&stacker, "app-one").await,
        "ROLLBACK_COMPLETE"
    );
    let events = stacker
        .describe_stack_events()
        .stack_name("app-one")
        .send()
        .await
        .expect("events");
    let failed = events
        .stack_events()
        .iter()
        .find(|e| {
            e.logical_resource_id() == Some("Alias")
                && e.resource_status().map(|s| s.as_str()) == Some("CREATE_FAILED")
        })
        .expect("the alias failed");
    let reason = failed.resource_status_reason().unwrap_or_default();
    for words in [
        "User: arn:aws:iam::111122223333:user/stacker is not authorized to perform: kms:CreateAlias",
        "(HandlerErrorCode: AccessDenied)",
    ] {
        assert!(reason.contains(words), "{reason}");
    }
    // The KMS calls were made as stacker, by CloudFormation.
    let log = audit_records(&server, r).await;
    let create_key = log
        .iter()
        .find(|e| e["eventName"] == "CreateKey" && e["errorCode"].is_null())
        .expect("CreateKey by the stack");
    assert_eq!(create_key["userIdentity"]["arn"], user_arn("stacker"));
    assert_eq!(
        create_key["userIdentity"]["invokedBy"],
        "cloudformation.amazonaws.com"
    );
    let key_id = create_key["resources"][0]["ARN"]
        .as_str()
        .expect("the key's ARN");
    let kms = as_(&server, "admin", r).await;
    assert_eq!(
        describe(&kms, key_id).await.key_state(),
        Some(&KeyState::PendingDeletion),
        "the rollback scheduled the key's deletion"
    );
    let denied = log
        .iter()
        .find(|e| e["eventName"] == "CreateAlias")
        .expect("CreateAlias record");
    assert_eq!(denied["errorCode"], "AccessDeniedException");
    let stack_call = log
        .iter()
        .find(|e| e["eventName"] == "CreateStack" && e["errorCode"] == "AccessDenied")
        .expect("the refused CreateStack is recorded");
    assert_eq!(stack_call["eventSource"], "cloudformation.amazonaws.com");

    // admin has every permission the template needs.
    create(admin.clone(), "app-two").await.expect("admin");
    assert_eq!(stack_settled(&admin, "app-two").await, "CREATE_COMPLETE");
    kms.describe_key()
        .key_id("alias/app-two")
        .send()
        .await
        .expect("the stack's alias");
}

#[tokio::test(flavor = "multi_thread")]
async fn re_encrypt_needs_both_keys_even_in_a_dry_run() {
    let server = Server::start_strict(&cast(), &[]);
    let r = "us-east-1";
    let admin = as_(&server, "admin", r).await;
    let source = create_key_with_policy(&admin, &policy_with(&[]), false).await;
    // payer may re-encrypt into the destination key, and nothing more.
    let destination = create_key_with_policy(
        &admin,
        &policy_with(&[json!({
            "Effect": "Allow", "Principal": {"AWS": user_arn("payer")},
            "Action": "kms:ReEncryptTo", "Resource": "*"
        })]),
        false,
    )
    .await;
    let blob = admin
        .encrypt()
        .key_id(&source)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"move me".to_vec()))
        .send()
        .await
        .expect("Encrypt")
        .ciphertext_blob()
        .expect("blob")
        .clone();
    let payer = as_(&server, "payer", r).await;
    for dry_run in [true, false] {
        let e = must_fail(
            payer
                .re_encrypt()
                .ciphertext_blob(blob.clone())
                .destination_key_id(&destination)
                .dry_run(dry_run)
                .send()
                .await,
            "no kms:ReEncryptFrom on the source",
        );
        assert_err(
            &e,
            "AccessDeniedException",
            &["kms:ReEncryptFrom", &Server::key_arn(r, &source)],
        );
    }
    // The administrator's dry run passes every check.
    let e = must_fail(
        admin
            .re_encrypt()
            .ciphertext_blob(blob)
            .destination_key_id(&destination)
            .dry_run(true)
            .send()
            .await,
        "dry run",
    );
    assert_err(&e, "DryRunOperationException", &[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_account_use_is_allowed_only_where_both_sides_allow_and_aws_allows() {
    let server = Server::start_strict(&cast(), &[]);
    let r = "us-east-1";
    let admin = as_(&server, "admin", r).await;
    let partner = format!("arn:aws:iam::{B}:root");
    let shared = policy_with(&[json!({
        "Sid": "Partner account",
        "Effect": "Allow",
        "Principal": {"AWS": partner},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ScheduleKeyDeletion"],
        "Resource": "*"
    })]);
    let id = create_key_with_policy(&admin, &shared, false).await;
    let arn = Server::key_arn(r, &id);
    let (private, _) = new_key(&admin).await;
    let carol = as_(&server, "carol", r).await;
    let carol_arn = format!("arn:aws:iam::{B}:user/carol");

    let out = carol
        .encrypt()
        .key_id(&arn)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect("carol encrypts by key ARN");
    assert_eq!(out.key_id(), Some(arn.as_str()));
    carol
        .describe_key()
        .key_id(&arn)
        .send()
        .await
        .expect("describe");
    // A key id alone names a key of carol's own account.
    let e = must_fail(
        carol
            .encrypt()
            .key_id(&id)
            .plaintext(aws_sdk_kms::primitives::Blob::new(b"x".to_vec()))
            .send()
            .await,
        "bare id",
    );
    assert_err(
        &e,
        "NotFoundException",
        &[&format!("arn:aws:kms:{r}:{B}:key/{id}")],
    );
    // ScheduleKeyDeletion is not an operation AWS allows across accounts, even though
    // both policies name it.
    let e = must_fail(
        carol.schedule_key_deletion().key_id(&arn).send().await,
        "cross-account deletion",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &[&format!("User: {carol_arn} is not authorized to perform: kms:ScheduleKeyDeletion on resource: {arn}")],
    );
    // A key whose policy does not name carol's account.
    let e = must_fail(
        carol
            .describe_key()
            .key_id(Server::key_arn(r, &private))
            .send()
            .await,
        "private key",
    );
    assert_err(
        &e,
        "AccessDeniedException",
        &["because no resource-based policy allows the kms:DescribeKey action"],
    );
    // Her account's keys: none here.
    let listed = carol.list_keys().send().await.expect("ListKeys");
    assert!(listed.keys().is_empty());
    // The key is untouched.
    let d = describe(&admin, &id).await;
    assert_eq!(d.key_state().map(|s| s.as_str()), Some("Enabled"));
}

#[tokio::test(flavor = "multi_thread")]
async fn new_key_policies_are_checked_for_lockout_principals_and_form() {
    let server = Server::start_strict(&cast(), &[]);
    let r = "us-east-1";
    let admin = as_(&server, "admin", r).await;
    let (id, _) = new_key(&admin).await;
    let before = admin
        .get_key_policy()
        .key_id(&id)
        .send()
        .await
        .expect("GetKeyPolicy");
    let payer_only = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": user_arn("payer")},
        "Action": "kms:*", "Resource": "*"}]})
    .to_string();

    let e = must_fail(
        admin
            .put_key_policy()
            .key_id(&id)
            .policy(&payer_only)
            .send()
            .await,
        "lockout",
    );
    assert_err(
        &e,
        "MalformedPolicyDocumentException",
        &["The new key policy will not allow you to update the key policy in the future."],
    );
    let keys_before = admin
        .list_keys()
        .send()
        .await
        .expect("ListKeys")
        .keys()
        .len();
    let e = must_fail(
        admin.create_key().policy(&payer_only).send().await,
        "CreateKey lockout",
    );
    assert_err(
        &e,
        "MalformedPolicyDocumentException",
        &["will not allow you to update"],
    );
    assert_eq!(
        admin
            .list_keys()
            .send()
            .await
            .expect("ListKeys")
            .keys()
            .len(),
        keys_before,
        "no key was created"
    );

    let ghost = policy_with(&[json!({
        "Effect": "Allow", "Principal": {"AWS": user_arn("ghost")},
        "Action": "kms:Encrypt", "Resource": "*"})]);
    let e = must_fail(
        admin
            .put_key_policy()
            .key_id(&id)
            .policy(&ghost)
            .send()
            .await,
        "unknown principal",
    );
    assert_err(
        &e,
        "MalformedPolicyDocumentException",
        &["Policy contains a statement with one or more invalid principals."],
    );
    let bad_operator = policy_with(&[json!({
        "Effect": "Allow", "Principal": {"AWS": user_arn("payer")},
        "Action": "kms:Encrypt", "Resource": "*",
        "Condition": {"StringEqualz": {"kms:EncryptionContext:a": "b"}}})]);
    let e = must_fail(
        admin
            .put_key_policy()
            .key_id(&id)
            .policy(&bad_operator)
            .send()
            .await,
        "unknown operator",
    );
    assert_err(&e, "MalformedPolicyDocumentException", &["StringEqualz"]);
    let after = admin
        .get_key_policy()
        .key_id(&id)
        .send()
        .await
        .expect("GetKeyPolicy");
    assert_eq!(after.policy(), before.policy(), "the policy did not change");

    // With the bypass, the lockout policy is stored — and the admin is locked out.
    admin
        .put_key_policy()
        .key_id(&id)
        .policy(&payer_only)
        .bypass_policy_lockout_safety_check(true)
        .send()
        .await
        .expect("bypass");
    let e = must_fail(admin.describe_key().key_id(&id).send().await, "locked out");
    assert_err(
        &e,
        "AccessDeniedException",
        &["because no resource-based policy allows the kms:DescribeKey action"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_records_verified_identities_and_denials() {
    let server = Server::start_strict(&cast(), &[]);
    let r = "us-east-1";
    let admin = as_(&server, "admin", r).await;
    let (id, _) = new_key(&admin).await;
    let root = as_(&server, "root", r).await;
    root.describe_key()
        .key_id(&id)
        .send()
        .await
        .expect("root describes");
    let payer = as_(&server, "payer", r).await;
    must_fail(
        payer.disable_key().key_id(&id).send().await,
        "payer disables",
    );
    let carol = as_(&server, "carol", r).await;
    must_fail(
        carol
            .describe_key()
            .key_id(Server::key_arn(r, &id))
            .send()
            .await,
        "carol describes",
    );

    let records = audit_records(&server, r).await;
    let create = records
        .iter()
        .find(|e| e["eventName"] == "CreateKey")
        .expect("CreateKey record");
    let who = &create["userIdentity"];
    assert_eq!(who["type"], "IAMUser");
    assert_eq!(who["arn"], user_arn("admin"));
    assert_eq!(who["userName"], "admin");
    assert_eq!(who["accountId"], A);
    assert_eq!(who["accessKeyId"], "AKIAADMIN00000000001");
    assert!(who["principalId"]
        .as_str()
        .unwrap_or_default()
        .starts_with("AIDA"));

    let described = records
        .iter()
        .find(|e| e["eventName"] == "DescribeKey" && e["userIdentity"]["type"] == "Root")
        .expect("root's DescribeKey");
    assert_eq!(
        described["userIdentity"]["arn"],
        format!("arn:aws:iam::{A}:root")
    );
    assert_eq!(described["userIdentity"]["principalId"], A);

    let denied = records
        .iter()
        .find(|e| e["eventName"] == "DisableKey")
        .expect("the denied DisableKey is recorded");
    assert_eq!(denied["errorCode"], "AccessDeniedException");
    assert!(denied["errorMessage"]
        .as_str()
        .unwrap_or_default()
        .contains("kms:DisableKey"));
    assert_eq!(denied["userIdentity"]["userName"], "payer");
    let foreign = records
        .iter()
        .find(|e| e["userIdentity"]["accountId"] == B)
        .expect("carol's call");
    assert_eq!(foreign["errorCode"], "AccessDeniedException");
    assert_eq!(foreign["recipientAccountId"], A);

    // The key is still Enabled: the denied DisableKey changed nothing.
    let d = describe(&admin, &id).await;
    assert_eq!(d.key_state().map(|s| s.as_str()), Some("Enabled"));
}

#[tokio::test(flavor = "multi_thread")]
async fn open_mode_takes_any_credentials_and_records_the_account_root() {
    let server = Server::start();
    let kms = server.client("us-east-1").await;
    let (id, _) = new_key(&kms).await;
    // A policy that names nobody the server knows is accepted (no principals in open
    // mode), and nothing is refused afterwards.
    kms.put_key_policy()
        .key_id(&id)
        .policy(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:user/nobody"},
                "Action": "kms:*", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("open mode: no lockout check");
    kms.describe_key()
        .key_id(&id)
        .send()
        .await
        .expect("still allowed");
    let records = audit_records(&server, "us-east-1").await;
    let who = &records[0]["userIdentity"];
    assert_eq!(who["type"], "Root");
    assert_eq!(who["arn"], format!("arn:aws:iam::{A}:root"));
    assert_eq!(who["principalId"], A);
    assert_eq!(who["accessKeyId"], "AKIDEXAMPLE");
    // Unknown condition operators are refused in open mode too.
    let e = must_fail(
        kms.create_key()
            .policy(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": "kms:*", "Resource": "*",
                    "Condition": {"StringEqualz": {"aws:username": "x"}}}]})
                .to_string(),
            )
            .send()
            .await,
        "bad operator",
    );
    assert_err(&e, "MalformedPolicyDocumentException", &["StringEqualz"]);
}

/// A signer for a principal of the cast, now.
fn signer<'a>(who: &str, region: &'a str, service: &'a str) -> Signer<'a> {
    let (access_key_id, secret) = creds(who);
    Signer {
        access_key_id,
        secret,
        session_token: None,
        region,
        service,
        time: SystemTime::now(),
    }
}

async fn lookup(server: &Server, who: &str, region: &str, body: Value) -> common::signing::Answer {
    common::signing::json_call(
        &server.url,
        &signer(who, region, "cloudtrail"),
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
        &body.to_string(),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn lookup_events_lists_a_regions_records_with_paging_and_needs_permission() {
    let server = Server::start_strict(&cast(), &[]);
    let admin = as_(&server, "admin", "us-east-1").await;
    let mut arns = Vec::new();
    for _ in 0..3 {
        let (id, _) = new_key(&admin).await;
        arns.push(Server::key_arn("us-east-1", &id));
    }
    new_key(&as_(&server, "admin", "eu-west-1").await).await;
    let payer = as_(&server, "payer", "us-east-1").await;
    let (first, _) = new_key(&admin).await;
    arns.push(Server::key_arn("us-east-1", &first));
    must_fail(
        payer.disable_key().key_id(&first).send().await,
        "payer disables",
    );

    let by_name =
        json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateKey"}]});
    let a = lookup(&server, "admin", "us-east-1", by_name.clone()).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let events = a.body["Events"].as_array().expect("Events");
    assert_eq!(events.len(), 4, "{}", a.text);
    // Most recent first, each naming its key.
    let names: Vec<&str> = events
        .iter()
        .map(|e| {
            e["Resources"][0]["ResourceName"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    let mut want: Vec<&str> = arns.iter().map(String::as_str).collect();
    want.reverse();
    assert_eq!(names, want);
    assert_eq!(events[0]["Username"], "admin");
    assert_eq!(events[0]["AccessKeyId"], "AKIAADMIN00000000001");
    assert_eq!(events[0]["ReadOnly"], "false");
    assert_eq!(events[0]["EventSource"], "kms.amazonaws.com");
    assert_eq!(events[0]["Resources"][0]["ResourceType"], "AWS::KMS::Key");
    assert!(events[0]["EventTime"].is_number());

    // Paging: 3, then the last one.
    let mut paged = by_name.clone();
    paged["MaxResults"] = json!(3);
    let p1 = lookup(&server, "admin", "us-east-1", paged.clone()).await;
    assert_eq!(
        p1.body["Events"].as_array().map(Vec::len),
        Some(3),
        "{}",
        p1.text
    );
    let token = p1.body["NextToken"]
        .as_str()
        .expect("NextToken")
        .to_string();
    paged["NextToken"] = json!(token);
    let p2 = lookup(&server, "admin", "us-east-1", paged).await;
    let last = p2.body["Events"].as_array().expect("Events");
    assert_eq!(last.len(), 1, "{}", p2.text);
    assert_eq!(last[0]["Resources"][0]["ResourceName"], arns[0].as_str());
    assert!(p2.body.get("NextToken").is_none());
    // A token with other parameters is refused.
    let other = json!({"NextToken": token, "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}]});
    let a = lookup(&server, "admin", "us-east-1", other).await;
    assert_eq!(a.error_type(), "InvalidNextTokenException", "{}", a.text);

    // The denial, found by user name, with its error code.
    let a = lookup(
        &server,
        "admin",
        "us-east-1",
        json!({"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "payer"}]}),
    )
    .await;
    let events = a.body["Events"].as_array().expect("Events");
    assert_eq!(events.len(), 1, "{}", a.text);
    assert_eq!(events[0]["EventName"], "DisableKey");
    let record: Value =
        serde_json::from_str(events[0]["CloudTrailEvent"].as_str().expect("text")).expect("JSON");
    assert_eq!(record["errorCode"], "AccessDeniedException");
    assert_eq!(record["userIdentity"]["arn"], user_arn("payer"));

    // Each Region has its own records.
    let a = lookup(&server, "admin", "eu-west-1", by_name.clone()).await;
    assert_eq!(
        a.body["Events"].as_array().map(Vec::len),
        Some(1),
        "{}",
        a.text
    );
    // A time range with nothing in it, and one that is backwards.
    let a = lookup(
        &server,
        "admin",
        "us-east-1",
        json!({"EndTime": 1_000_000_000}),
    )
    .await;
    assert_eq!(
        a.body["Events"].as_array().map(Vec::len),
        Some(0),
        "{}",
        a.text
    );
    let a = lookup(
        &server,
        "admin",
        "us-east-1",
        json!({"StartTime": 2_000_000_000, "EndTime": 1_000_000_000}),
    )
    .await;
    assert_eq!(a.error_type(), "InvalidTimeRangeException", "{}", a.text);
    // The caller needs cloudtrail:LookupEvents.
    let a = lookup(&server, "payer", "us-east-1", json!({})).await;
    assert_eq!(a.error_type(), "AccessDeniedException", "{}", a.text);
    assert!(
        a.message().contains("cloudtrail:LookupEvents"),
        "{}",
        a.text
    );
    // A signature for another service is refused.
    let a = common::signing::json_call(
        &server.url,
        &signer("admin", "us-east-1", "kms"),
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
        "{}",
        None,
    )
    .await;
    assert_eq!(a.error_type(), "InvalidSignatureException", "{}", a.text);
}
