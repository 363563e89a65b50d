//! Key lifecycle: CreateKey, DescribeKey, ListKeys, Enable/Disable, descriptions,
//! deletion scheduling, rotation status, key policies, and Region scoping of keys.
#![allow(deprecated)] // CustomerMasterKeySpec is deprecated in the SDK but still part of the wire shape.

mod common;

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_kms::types::{
    CustomerMasterKeySpec, EncryptionAlgorithmSpec, KeyManagerType, KeySpec, KeyState,
    KeyUsageType, OriginType,
};
use common::*;

const R: &str = "us-east-1";

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread")]
async fn create_key_defaults_match_aws() {
    let server = Server::start();
    let kms = server.client(R).await;
    let before = now_secs();
    let out = kms
        .create_key()
        .description("test key 123")
        .send()
        .await
        .expect("CreateKey");
    let md = out.key_metadata().expect("KeyMetadata");

    let id = md.key_id();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "KeyId {id:?} is a UUID");
    assert_eq!(md.arn(), Some(Server::key_arn(R, id).as_str()));
    assert_eq!(md.aws_account_id(), Some(ACCOUNT));
    assert_eq!(md.description(), Some("test key 123"));
    assert_eq!(md.key_spec(), Some(&KeySpec::SymmetricDefault));
    assert_eq!(
        md.customer_master_key_spec(),
        Some(&CustomerMasterKeySpec::SymmetricDefault)
    );
    assert_eq!(md.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
    assert_eq!(md.origin(), Some(&OriginType::AwsKms));
    assert_eq!(md.key_manager(), Some(&KeyManagerType::Customer));
    assert!(md.enabled());
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert_eq!(md.multi_region(), Some(false));
    assert_eq!(
        md.encryption_algorithms(),
        &[EncryptionAlgorithmSpec::SymmetricDefault]
    );
    assert!(
        md.current_key_material_id().is_some_and(|m| !m.is_empty()),
        "CurrentKeyMaterialId present: {md:?}"
    );
    let created = md.creation_date().expect("CreationDate").secs();
    assert!(
        created >= before - 5 && created <= now_secs() + 5,
        "CreationDate {created} is about now"
    );
    assert!(md.deletion_date().is_none());
    assert!(md.multi_region_configuration().is_none());

    // DescribeKey returns the same metadata.
    let d = kms
        .describe_key()
        .key_id(id)
        .send()
        .await
        .expect("DescribeKey");
    let dm = d.key_metadata().unwrap();
    assert_eq!(dm, md, "DescribeKey metadata equals CreateKey metadata");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_key_with_description_tags_and_policy() {
    let server = Server::start();
    let kms = server.client(R).await;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "custom-policy",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string();
    let out = kms
        .create_key()
        .description("with extras")
        .tags(tag("team", "crypto"))
        .tags(tag("env", "test"))
        .policy(&policy)
        .send()
        .await
        .expect("CreateKey");
    let id = out.key_metadata().unwrap().key_id().to_string();
    assert_eq!(
        out.key_metadata().unwrap().description(),
        Some("with extras")
    );

    let tags = kms.list_resource_tags().key_id(&id).send().await.unwrap();
    let got: Vec<(&str, &str)> = tags
        .tags()
        .iter()
        .map(|t| (t.tag_key(), t.tag_value()))
        .collect();
    assert_eq!(got, vec![("team", "crypto"), ("env", "test")]);

    let p = kms
        .get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let got: serde_json::Value = serde_json::from_str(p.policy().unwrap()).unwrap();
    let want: serde_json::Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread")]
async fn create_key_rejects_unsupported_spec_and_usage() {
    let server = Server::start();
    let kms = server.client(R).await;

    // A key spec the token cannot hold (ML-DSA: SoftHSM 2.6.1 has no such mechanism):
    // any error will do, but it must be an error (tests/asymmetric.rs covers the others).
    let r = kms
        .create_key()
        .key_spec(KeySpec::from("ML_DSA_44"))
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await;
    let e = must_fail(r, "CreateKey ML_DSA_44");
    assert!(
        !err_code(&e).starts_with('<'),
        "expected a service error, got {}",
        err_code(&e)
    );

    // A symmetric key cannot sign.
    let r = kms
        .create_key()
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await;
    let e = must_fail(r, "CreateKey SYMMETRIC_DEFAULT/SIGN_VERIFY");
    assert_eq!(err_code(&e), "ValidationException", "{}", err_message(&e));
    let msg = err_message(&e);
    assert!(
        msg.contains("SIGN_VERIFY") || msg.contains("SYMMETRIC_DEFAULT"),
        "message names the rejected usage/spec: {msg:?}"
    );

    // Nothing was created by the failed calls.
    let keys = kms.list_keys().send().await.unwrap();
    assert!(keys.keys().is_empty(), "no keys: {:?}", keys.keys());
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_key_by_id_arn_alias_name_and_alias_arn() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, arn) = new_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/my-key")
        .target_key_id(&id)
        .send()
        .await
        .expect("CreateAlias");
    let alias_arn = Server::alias_arn(R, "alias/my-key");

    for key_ref in [
        id.as_str(),
        arn.as_str(),
        "alias/my-key",
        alias_arn.as_str(),
    ] {
        let out = kms
            .describe_key()
            .key_id(key_ref)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeKey {key_ref}: {}", err_message(&e)));
        let md = out.key_metadata().unwrap();
        assert_eq!(md.key_id(), id, "DescribeKey {key_ref}");
        assert_eq!(md.arn(), Some(arn.as_str()), "DescribeKey {key_ref}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_unknown_key_is_not_found() {
    let server = Server::start();
    let kms = server.client(R).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let unknown_arn = Server::key_arn(R, &unknown);

    let e = must_fail(
        kms.describe_key().key_id(&unknown).send().await,
        "unknown id",
    );
    assert_err(
        &e,
        "NotFoundException",
        &[&format!("Key '{unknown_arn}' does not exist")],
    );

    let e = must_fail(
        kms.describe_key().key_id(&unknown_arn).send().await,
        "unknown arn",
    );
    assert_err(
        &e,
        "NotFoundException",
        &[&format!("Key '{unknown_arn}' does not exist")],
    );

    let e = must_fail(
        kms.describe_key().key_id("alias/nope").send().await,
        "unknown alias",
    );
    assert_eq!(err_code(&e), "NotFoundException", "{}", err_message(&e));
    assert!(
        err_message(&e).contains("alias/nope"),
        "{}",
        err_message(&e)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_malformed_key_id_is_invalid_key_id() {
    let server = Server::start();
    let kms = server.client(R).await;
    for bad in ["fake-key-id", "134f2428cec14b25a1ae9048164dba47"] {
        let e = must_fail(kms.describe_key().key_id(bad).send().await, bad);
        assert_err(
            &e,
            "NotFoundException",
            &[&format!("Invalid keyId '{bad}'")],
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn key_of_one_region_is_not_found_from_another() {
    let server = Server::start();
    let east = server.client("us-east-1").await;
    let eu = server.client("eu-west-1").await;
    let (id, arn) = new_key(&east).await;

    // By key id: looked up in the caller's Region, so the message names that Region's ARN.
    let e = must_fail(eu.describe_key().key_id(&id).send().await, "by id");
    let eu_arn = Server::key_arn("eu-west-1", &id);
    assert_err(
        &e,
        "NotFoundException",
        &[&format!("Key '{eu_arn}' does not exist")],
    );

    // By the us-east-1 ARN (recorded from AWS: "Invalid arn <key's region>").
    let e = must_fail(eu.describe_key().key_id(&arn).send().await, "by arn");
    assert_err(&e, "NotFoundException", &["Invalid arn us-east-1"]);

    // ListKeys is per Region too.
    let listed = eu.list_keys().send().await.unwrap();
    assert!(
        listed
            .keys()
            .iter()
            .all(|k| k.key_id() != Some(id.as_str())),
        "eu-west-1 ListKeys must not show a us-east-1 key"
    );
    // And the key is still fine in its own Region.
    east.describe_key()
        .key_id(&arn)
        .send()
        .await
        .expect("own Region");
}

#[tokio::test(flavor = "multi_thread")]
async fn china_region_key_arn_uses_aws_cn_partition() {
    let server = Server::start();
    let kms = server.client("cn-north-1").await;
    let (id, arn) = new_key(&kms).await;
    assert_eq!(arn, format!("arn:aws-cn:kms:cn-north-1:{ACCOUNT}:key/{id}"));
    let d = kms.describe_key().key_id(&arn).send().await.unwrap();
    assert_eq!(d.key_metadata().unwrap().arn(), Some(arn.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn list_keys_pages_with_limit_and_marker() {
    let server = Server::start();
    let kms = server.client(R).await;
    let mut created = HashSet::new();
    for _ in 0..5 {
        created.insert(new_key(&kms).await);
    }

    let mut seen: Vec<(String, String)> = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "paging does not terminate");
        let out = kms
            .list_keys()
            .limit(2)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListKeys");
        assert!(out.keys().len() <= 2, "Limit 2 respected: {:?}", out.keys());
        for k in out.keys() {
            let id = k.key_id().expect("KeyId").to_string();
            let arn = k.key_arn().expect("KeyArn").to_string();
            assert_eq!(arn, Server::key_arn(R, &id));
            seen.push((id, arn));
        }
        if out.truncated() {
            let m = out.next_marker().expect("NextMarker when Truncated");
            assert!(!m.is_empty());
            assert_eq!(out.keys().len(), 2, "a truncated page is full");
            marker = Some(m.to_string());
        } else {
            assert!(
                out.next_marker().is_none(),
                "no NextMarker on the last page"
            );
            break;
        }
    }
    assert_eq!(pages, 3, "5 keys with Limit 2 -> 3 pages");
    let uniq: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(uniq.len(), seen.len(), "no key listed twice: {seen:?}");
    assert_eq!(uniq, created, "every key listed exactly once");
}

#[tokio::test(flavor = "multi_thread")]
async fn disable_and_enable_key() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;

    kms.disable_key()
        .key_id(&id)
        .send()
        .await
        .expect("DisableKey");
    let md = kms.describe_key().key_id(&id).send().await.unwrap();
    let md = md.key_metadata().unwrap();
    assert!(!md.enabled());
    assert_eq!(md.key_state(), Some(&KeyState::Disabled));

    // Disabling a disabled key is allowed (key-state table).
    kms.disable_key()
        .key_id(&id)
        .send()
        .await
        .expect("DisableKey twice");

    kms.enable_key()
        .key_id(&id)
        .send()
        .await
        .expect("EnableKey");
    let md = kms.describe_key().key_id(&id).send().await.unwrap();
    let md = md.key_metadata().unwrap();
    assert!(md.enabled());
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));

    let e = must_fail(
        kms.enable_key()
            .key_id(uuid::Uuid::new_v4().to_string())
            .send()
            .await,
        "EnableKey unknown",
    );
    assert_err(&e, "NotFoundException", &["does not exist"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_key_description() {
    let server = Server::start();
    let kms = server.client(R).await;
    let out = kms.create_key().description("old").send().await.unwrap();
    let id = out.key_metadata().unwrap().key_id().to_string();
    kms.update_key_description()
        .key_id(&id)
        .description("new description")
        .send()
        .await
        .expect("UpdateKeyDescription");
    let d = kms.describe_key().key_id(&id).send().await.unwrap();
    assert_eq!(
        d.key_metadata().unwrap().description(),
        Some("new description")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn schedule_key_deletion_default_window_is_30_days() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, arn) = new_key(&kms).await;
    let before = now_secs();
    let out = kms
        .schedule_key_deletion()
        .key_id(&id)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    assert_eq!(out.key_id(), Some(arn.as_str()), "KeyId is the key ARN");
    assert_eq!(out.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(out.pending_window_in_days(), Some(30));
    let when = out.deletion_date().expect("DeletionDate").secs();
    let expected = before + 30 * 86400;
    assert!(
        (when - expected).abs() < 120,
        "DeletionDate {when} is now + 30 days ({expected})"
    );

    let d = kms.describe_key().key_id(&id).send().await.unwrap();
    let md = d.key_metadata().unwrap();
    assert_eq!(md.key_state(), Some(&KeyState::PendingDeletion));
    assert!(!md.enabled());
    assert_eq!(md.deletion_date().map(|t| t.secs()), Some(when));
    assert_eq!(md.pending_deletion_window_in_days(), Some(30));
}

#[tokio::test(flavor = "multi_thread")]
async fn schedule_key_deletion_window_bounds() {
    let server = Server::start();
    let kms = server.client(R).await;

    for days in [6, 31] {
        let (id, _) = new_key(&kms).await;
        let e = must_fail(
            kms.schedule_key_deletion()
                .key_id(&id)
                .pending_window_in_days(days)
                .send()
                .await,
            &format!("window {days}"),
        );
        assert_eq!(err_code(&e), "ValidationException", "{}", err_message(&e));
        assert!(
            err_message(&e)
                .to_lowercase()
                .contains("pendingwindowindays"),
            "message names pendingWindowInDays: {:?}",
            err_message(&e)
        );
        // The key was not touched.
        let d = kms.describe_key().key_id(&id).send().await.unwrap();
        assert_eq!(
            d.key_metadata().unwrap().key_state(),
            Some(&KeyState::Enabled)
        );
    }

    for days in [7, 30] {
        let (id, _) = new_key(&kms).await;
        let before = now_secs();
        let out = kms
            .schedule_key_deletion()
            .key_id(&id)
            .pending_window_in_days(days)
            .send()
            .await
            .unwrap_or_else(|e| panic!("window {days}: {}", err_message(&e)));
        assert_eq!(out.pending_window_in_days(), Some(days));
        assert_eq!(out.key_state(), Some(&KeyState::PendingDeletion));
        let when = out.deletion_date().unwrap().secs();
        let expected = before + days as i64 * 86400;
        assert!(
            (when - expected).abs() < 120,
            "DeletionDate {when} ≈ {expected}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_key_deletion_leaves_key_disabled() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, arn) = new_key(&kms).await;

    // Not pending deletion yet.
    let e = must_fail(
        kms.cancel_key_deletion().key_id(&id).send().await,
        "cancel early",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&arn, "is not pending deletion"],
    );

    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let out = kms
        .cancel_key_deletion()
        .key_id(&id)
        .send()
        .await
        .expect("CancelKeyDeletion");
    assert_eq!(out.key_id(), Some(arn.as_str()), "KeyId is the key ARN");

    let d = kms.describe_key().key_id(&id).send().await.unwrap();
    let md = d.key_metadata().unwrap();
    assert_eq!(md.key_state(), Some(&KeyState::Disabled));
    assert!(!md.enabled());
    assert!(md.deletion_date().is_none(), "no DeletionDate after cancel");
    assert!(md.pending_deletion_window_in_days().is_none());

    kms.enable_key()
        .key_id(&id)
        .send()
        .await
        .expect("EnableKey after cancel");
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_on_pending_deletion_key_are_invalid_state() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, arn) = new_key(&kms).await;
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let words: [&str; 2] = [&arn, "is pending deletion"];

    let e = must_fail(kms.enable_key().key_id(&id).send().await, "EnableKey");
    assert_err(&e, "KMSInvalidStateException", &words);
    let e = must_fail(kms.disable_key().key_id(&id).send().await, "DisableKey");
    assert_err(&e, "KMSInvalidStateException", &words);
    let e = must_fail(
        kms.update_key_description()
            .key_id(&id)
            .description("x")
            .send()
            .await,
        "UpdateKeyDescription",
    );
    assert_err(&e, "KMSInvalidStateException", &words);
    let e = must_fail(
        kms.schedule_key_deletion().key_id(&id).send().await,
        "ScheduleKeyDeletion again",
    );
    assert_err(&e, "KMSInvalidStateException", &words);
    let e = must_fail(
        kms.tag_resource()
            .key_id(&id)
            .tags(tag("a", "b"))
            .send()
            .await,
        "TagResource",
    );
    assert_err(&e, "KMSInvalidStateException", &words);
    let e = must_fail(
        kms.create_alias()
            .alias_name("alias/doomed")
            .target_key_id(&id)
            .send()
            .await,
        "CreateAlias",
    );
    assert_err(&e, "KMSInvalidStateException", &words);

    // Cryptographic operations: the key-state table allows DisabledException or
    // KMSInvalidStateException ([2] or [3]), both with "is pending deletion".
    let e = must_fail(
        kms.encrypt()
            .key_id(&id)
            .plaintext(aws_sdk_kms::primitives::Blob::new(b"hi".to_vec()))
            .send()
            .await,
        "Encrypt",
    );
    let code = err_code(&e);
    assert!(
        code == "KMSInvalidStateException" || code == "DisabledException",
        "Encrypt on pending deletion: {code}: {}",
        err_message(&e)
    );
    assert!(
        err_message(&e).contains("is pending deletion"),
        "{}",
        err_message(&e)
    );

    // Read-only operations still work.
    kms.describe_key()
        .key_id(&id)
        .send()
        .await
        .expect("DescribeKey");
    kms.list_resource_tags()
        .key_id(&id)
        .send()
        .await
        .expect("ListResourceTags");
    kms.get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .expect("GetKeyPolicy");
}

#[tokio::test(flavor = "multi_thread")]
async fn new_key_has_rotation_disabled() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;
    let out = kms
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .expect("GetKeyRotationStatus");
    assert!(!out.key_rotation_enabled());
}

#[tokio::test(flavor = "multi_thread")]
async fn default_key_policy_grants_account_root() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;

    let names = kms
        .list_key_policies()
        .key_id(&id)
        .send()
        .await
        .expect("ListKeyPolicies");
    assert_eq!(names.policy_names(), &["default".to_string()]);
    assert!(!names.truncated());

    let out = kms
        .get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .expect("GetKeyPolicy");
    let policy: serde_json::Value =
        serde_json::from_str(out.policy().expect("Policy")).expect("policy is JSON");
    assert_eq!(policy["Version"], "2012-10-17");
    let statements = policy["Statement"].as_array().expect("Statement array");
    let root = statements
        .iter()
        .find(|s| s["Sid"] == "Enable IAM User Permissions")
        .unwrap_or_else(|| panic!("statement 'Enable IAM User Permissions' in {policy}"));
    assert_eq!(root["Effect"], "Allow");
    assert_eq!(
        root["Principal"]["AWS"],
        format!("arn:aws:iam::{ACCOUNT}:root")
    );
    assert_eq!(root["Action"], "kms:*");
    assert_eq!(root["Resource"], "*");
}

#[tokio::test(flavor = "multi_thread")]
async fn put_key_policy_then_get_returns_it() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
                "Action": "kms:*",
                "Resource": "*"
            },
            {
                "Sid": "Allow use",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/App")},
                "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": "*"
            }
        ]
    })
    .to_string();
    kms.put_key_policy()
        .key_id(&id)
        .policy_name("default")
        .policy(&policy)
        .send()
        .await
        .expect("PutKeyPolicy");
    let out = kms
        .get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let got: serde_json::Value = serde_json::from_str(out.policy().unwrap()).unwrap();
    let want: serde_json::Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread")]
async fn put_key_policy_rejects_malformed_json() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;
    let e = must_fail(
        kms.put_key_policy()
            .key_id(&id)
            .policy_name("default")
            .policy("{\"Version\": \"2012-10-17\", \"Statement\": [")
            .send()
            .await,
        "PutKeyPolicy malformed",
    );
    assert_eq!(
        err_code(&e),
        "MalformedPolicyDocumentException",
        "{}",
        err_message(&e)
    );
    assert!(!err_message(&e).is_empty(), "the error says what is wrong");

    // The old policy is still in place.
    let out = kms
        .get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(out.policy().unwrap()).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
}
