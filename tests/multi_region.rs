//! Multi-Region keys (issue 3): CreateKey MultiRegion, ReplicateKey and its Region rules,
//! shared vs independent properties, cross-Region crypto, UpdatePrimaryRegion, deletion of
//! primary and replica keys (with the admin clock), CloudTrail-style audit records, crash
//! safety of the background jobs, and the AWS Encryption SDK's MRK-aware providers.
#![allow(deprecated)] // CustomerMasterKeySpec is deprecated in the SDK but still on the wire.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType, MultiRegionKeyType};
use aws_sdk_kms::Client;
use base64::Engine as _;
use common::*;
use serde_json::Value;

/// Region of every primary key in these tests.
const PRIMARY: &str = "us-east-1";
/// First replica Region.
const EU: &str = "eu-west-1";
/// Second replica Region.
const WEST: &str = "us-west-2";
/// A Region of the other partition that the default server serves.
const CN: &str = "cn-north-1";

const DAY: f64 = 86_400.0;

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// (primary ARN, primary Region, set of (replica ARN, replica Region)) of a key.
fn mr_config(md: &KeyMetadata) -> (String, String, BTreeSet<(String, String)>) {
    let cfg = md
        .multi_region_configuration()
        .unwrap_or_else(|| panic!("MultiRegionConfiguration missing: {md:?}"));
    let p = cfg.primary_key().expect("PrimaryKey");
    let replicas = cfg
        .replica_keys()
        .iter()
        .map(|k| {
            (
                k.arn().unwrap_or_default().to_string(),
                k.region().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (
        p.arn().unwrap_or_default().to_string(),
        p.region().unwrap_or_default().to_string(),
        replicas,
    )
}

fn key_type(md: &KeyMetadata) -> Option<MultiRegionKeyType> {
    md.multi_region_configuration()
        .and_then(|c| c.multi_region_key_type())
        .cloned()
}

fn replica_set(id: &str, regions: &[&str]) -> BTreeSet<(String, String)> {
    regions
        .iter()
        .map(|r| (Server::key_arn(r, id), r.to_string()))
        .collect()
}

/// Raw lines of <data dir>/audit/<region>.jsonl ("" if the file does not exist yet).
fn audit_text(server: &Server, region: &str) -> String {
    std::fs::read_to_string(
        server
            .data_dir()
            .join("audit")
            .join(format!("{region}.jsonl")),
    )
    .unwrap_or_default()
}

/// Parsed events of a Region's audit file (every line must be a JSON object).
fn audit_events(server: &Server, region: &str) -> Vec<Value> {
    audit_text(server, region)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}"))
        })
        .collect()
}

/// Events named `name` in the Region's audit file that mention `key_id`.
fn events_named(server: &Server, region: &str, name: &str, key_id: &str) -> Vec<Value> {
    audit_events(server, region)
        .into_iter()
        .filter(|e| e["eventName"] == name && e.to_string().contains(key_id))
        .collect()
}

/// Waits until the Region's audit file has an event `name` mentioning `key_id`.
async fn wait_for_event(server: &Server, region: &str, name: &str, key_id: &str) -> Value {
    let what = format!("a {name} event for {key_id} in the {region} audit log");
    wait_until(&what, || async {
        match events_named(server, region, name, key_id)
            .into_iter()
            .next()
        {
            Some(e) => Ok(e),
            None => {
                let names: Vec<String> = audit_events(server, region)
                    .iter()
                    .map(|e| e["eventName"].to_string())
                    .collect();
                Err(format!("events: {names:?}"))
            }
        }
    })
    .await
}

#[track_caller]
fn assert_cloudtrail_event(e: &Value, name: &str, region: &str) {
    assert_eq!(e["eventName"], name, "eventName of {e}");
    assert_eq!(e["awsRegion"], region, "awsRegion of {e}");
    assert_eq!(e["eventSource"], "kms.amazonaws.com", "eventSource of {e}");
}

// ---------------------------------------------------------------------------------------
// CreateKey MultiRegion
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn create_multi_region_key_is_an_mrk_primary_without_replicas() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let md = create_mrk(&kms).await;
    let id = md.key_id();
    let hex = id
        .strip_prefix("mrk-")
        .unwrap_or_else(|| panic!("KeyId {id:?} starts with mrk-"));
    assert_eq!(hex.len(), 32, "KeyId {id:?}: mrk- + 32 hex digits");
    assert!(
        hex.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "KeyId {id:?}: lowercase hex"
    );
    let arn = Server::key_arn(PRIMARY, id);
    assert_eq!(md.arn(), Some(arn.as_str()));
    assert_eq!(md.multi_region(), Some(true));
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert!(md.enabled());
    assert!(md.current_key_material_id().is_some_and(|m| !m.is_empty()));
    let cfg = md
        .multi_region_configuration()
        .expect("MultiRegionConfiguration");
    assert_eq!(
        cfg.multi_region_key_type(),
        Some(&MultiRegionKeyType::Primary)
    );
    assert_eq!(cfg.primary_key().and_then(|p| p.arn()), Some(arn.as_str()));
    assert_eq!(cfg.primary_key().and_then(|p| p.region()), Some(PRIMARY));
    assert_eq!(
        cfg.replica_keys.as_deref(),
        Some(&[][..]),
        "ReplicaKeys is present and empty, as AWS answers"
    );

    // DescribeKey agrees.
    let d = describe(&kms, id).await;
    assert_eq!(d.multi_region(), Some(true));
    assert_eq!(
        mr_config(&d),
        (arn.clone(), PRIMARY.into(), BTreeSet::new())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn single_region_key_has_no_multi_region_configuration() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let out = kms.create_key().send().await.expect("CreateKey");
    let md = out.key_metadata().unwrap();
    assert_eq!(md.multi_region(), Some(false));
    assert!(md.multi_region_configuration().is_none());
    assert!(!md.key_id().starts_with("mrk-"));
}

// ---------------------------------------------------------------------------------------
// ReplicateKey
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn replicate_key_returns_a_creating_replica_with_default_properties() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let p = create_mrk(&kms).await;
    let id = p.key_id().to_string();
    let out = replicate(&kms, &id, EU).await;

    let md = out.replica_key_metadata().expect("ReplicaKeyMetadata");
    let replica_arn = Server::key_arn(EU, &id);
    assert_eq!(md.key_id(), id);
    assert_eq!(md.arn(), Some(replica_arn.as_str()));
    assert_eq!(md.aws_account_id(), Some(ACCOUNT));
    assert_eq!(md.key_state(), Some(&KeyState::Creating));
    assert!(!md.enabled(), "a Creating replica is not Enabled");
    assert_eq!(
        md.description(),
        Some(""),
        "default description is the empty string"
    );
    assert!(
        md.current_key_material_id().is_none(),
        "AWS omits CurrentKeyMaterialId from ReplicateKey's metadata: {md:?}"
    );
    assert_eq!(md.multi_region(), Some(true));
    assert_eq!(md.key_spec(), Some(&KeySpec::SymmetricDefault));
    assert_eq!(md.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
    assert_eq!(key_type(md), Some(MultiRegionKeyType::Replica));
    assert_eq!(
        mr_config(md),
        (
            Server::key_arn(PRIMARY, &id),
            PRIMARY.to_string(),
            replica_set(&id, &[EU])
        )
    );

    // Default key policy of the replica Region's account.
    let policy = out.replica_policy().expect("ReplicaPolicy");
    let pj: Value =
        serde_json::from_str(policy).unwrap_or_else(|e| panic!("policy {policy:?}: {e}"));
    assert_eq!(pj["Id"], "key-default-1", "default key policy: {policy}");
    assert_eq!(
        pj["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{ACCOUNT}:root")
    );
    assert_eq!(pj["Statement"][0]["Action"], "kms:*");
    // As the seed's example shows it: an empty list, not a missing member.
    assert_eq!(
        out.replica_tags.as_deref(),
        Some(&[][..]),
        "ReplicaTags [] without Tags"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicate_key_uses_given_policy_description_and_tags() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "replica-policy",
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
        .replicate_key()
        .key_id(&id)
        .replica_region(EU)
        .policy(&policy)
        .description("the Irish copy")
        .tags(tag("team", "eu"))
        .send()
        .await
        .expect("ReplicateKey with policy, description, tags");
    let md = out.replica_key_metadata().unwrap();
    assert_eq!(md.description(), Some("the Irish copy"));
    let got: Value = serde_json::from_str(out.replica_policy().expect("ReplicaPolicy")).unwrap();
    assert_eq!(got["Id"], "replica-policy");
    assert_eq!(out.replica_tags(), &[tag("team", "eu")]);

    // The replica keeps them; the primary is untouched.
    let eu = server.client(EU).await;
    wait_for_state(&eu, &id, KeyState::Enabled).await;
    let pol = eu
        .get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .expect("GetKeyPolicy replica");
    let pol: Value = serde_json::from_str(pol.policy().unwrap()).unwrap();
    assert_eq!(pol["Id"], "replica-policy");
    let tags = eu
        .list_resource_tags()
        .key_id(&id)
        .send()
        .await
        .expect("ListResourceTags");
    assert_eq!(tags.tags(), &[tag("team", "eu")]);
    assert_eq!(describe(&kms, &id).await.description(), Some("primary key"));
    let ptags = kms.list_resource_tags().key_id(&id).send().await.unwrap();
    assert!(
        ptags.tags().is_empty(),
        "primary has no tags: {:?}",
        ptags.tags()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_becomes_enabled_shortly_after_replicate_key() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let p = create_mrk(&kms).await;
    let id = p.key_id().to_string();
    let started = Instant::now();
    replicate(&kms, &id, EU).await;
    let eu = server.client(EU).await;
    let md = wait_for_state(&eu, &id, KeyState::Enabled).await;
    eprintln!("replica Enabled after {:?}", started.elapsed());
    assert!(md.enabled());
    assert_eq!(md.arn(), Some(Server::key_arn(EU, &id).as_str()));
    assert_eq!(key_type(&md), Some(MultiRegionKeyType::Replica));
    assert_eq!(
        md.current_key_material_id(),
        p.current_key_material_id(),
        "the Enabled replica has the primary's current key material"
    );
    // Listed in its own Region.
    let listed = eu.list_keys().send().await.expect("ListKeys eu-west-1");
    assert!(
        listed
            .keys()
            .iter()
            .any(|k| k.key_arn() == Some(Server::key_arn(EU, &id).as_str())),
        "ListKeys in eu-west-1 lists the replica: {:?}",
        listed.keys()
    );
    // Usable: encrypt in the replica Region.
    let ct = encrypt(&eu, &id, b"hello from the replica").await;
    assert!(!ct.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_replica_can_be_managed_but_not_used_or_enabled() {
    let server = Server::start_with(&["--replica-creation-delay-ms", "8000"]);
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    let ct = encrypt(&kms, &id, b"secret").await;
    replicate(&kms, &id, EU).await;
    let eu = server.client(EU).await;
    let arn = Server::key_arn(EU, &id);
    assert_eq!(
        describe(&eu, &id).await.key_state(),
        Some(&KeyState::Creating)
    );

    let e = must_fail(
        eu.encrypt()
            .key_id(&id)
            .plaintext(Blob::new("x"))
            .send()
            .await,
        "Encrypt on a Creating replica",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&format!("{arn} is creating.")],
    );
    let e = must_fail(
        eu.decrypt().ciphertext_blob(blob(&ct)).send().await,
        "Decrypt on a Creating replica",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&format!("{arn} is creating.")],
    );
    let e = must_fail(
        eu.generate_data_key()
            .key_id(&id)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .send()
            .await,
        "GenerateDataKey on a Creating replica",
    );
    assert_err(&e, "KMSInvalidStateException", &["is creating."]);
    let e = must_fail(
        eu.disable_key().key_id(&id).send().await,
        "DisableKey on a Creating replica",
    );
    assert_err(&e, "KMSInvalidStateException", &["is creating."]);

    // Management that AWS allows while Creating.
    eu.update_key_description()
        .key_id(&id)
        .description("renamed while creating")
        .send()
        .await
        .expect("UpdateKeyDescription on a Creating replica");
    eu.tag_resource()
        .key_id(&id)
        .tags(tag("stage", "creating"))
        .send()
        .await
        .expect("TagResource on a Creating replica");
    let md = describe(&eu, &id).await;
    assert_eq!(md.key_state(), Some(&KeyState::Creating));
    assert_eq!(md.description(), Some("renamed while creating"));

    // Once Enabled, the changes made while Creating are still there.
    let md = wait_for_state(&eu, &id, KeyState::Enabled).await;
    assert_eq!(md.description(), Some("renamed while creating"));
    let tags = eu.list_resource_tags().key_id(&id).send().await.unwrap();
    assert_eq!(tags.tags(), &[tag("stage", "creating")]);
    let pt = eu
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt once Enabled");
    assert_eq!(pt.plaintext().unwrap().as_ref(), b"secret");
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_scheduled_for_deletion_while_creating_stays_pending_deletion() {
    let server = Server::start_with(&["--replica-creation-delay-ms", "2000"]);
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    replicate(&kms, &id, EU).await;
    let eu = server.client(EU).await;
    assert_eq!(
        describe(&eu, &id).await.key_state(),
        Some(&KeyState::Creating)
    );
    let out = eu
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion of a Creating replica (allowed by the key-state table)");
    assert_eq!(out.key_state(), Some(&KeyState::PendingDeletion));
    // The replica job's due time passes: it must not bring the key back to Enabled.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let md = describe(&eu, &id).await;
    assert_eq!(
        md.key_state(),
        Some(&KeyState::PendingDeletion),
        "the finished replica job must not override the scheduled deletion: {md:?}"
    );
    assert!(md.deletion_date().is_some());
    // Cancelling gives a Disabled key that can be enabled and used with the primary's material.
    eu.cancel_key_deletion()
        .key_id(&id)
        .send()
        .await
        .expect("CancelKeyDeletion");
    assert_eq!(
        describe(&eu, &id).await.key_state(),
        Some(&KeyState::Disabled)
    );
    eu.enable_key().key_id(&id).send().await.expect("EnableKey");
    let ct = encrypt(&kms, &id, b"after cancel").await;
    let pt = eu
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt after cancel+enable");
    assert_eq!(pt.plaintext().unwrap().as_ref(), b"after cancel");
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_a_replica_is_unsupported_not_a_primary() {
    let server = Server::start();
    let (_kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let eu = &clients[0];
    let e = must_fail(
        eu.replicate_key()
            .key_id(&id)
            .replica_region(WEST)
            .send()
            .await,
        "ReplicateKey of a replica",
    );
    let arn = Server::key_arn(EU, &id);
    assert_err(
        &e,
        "UnsupportedOperationException",
        &[&format!("{arn} is not a multi-region primary key.")],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_a_single_region_key_is_unsupported_not_a_primary() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let md = NewKey::symmetric().create(&kms).await;
    let e = must_fail(
        kms.replicate_key()
            .key_id(md.key_id())
            .replica_region(EU)
            .send()
            .await,
        "ReplicateKey of a single-Region key",
    );
    assert_err(
        &e,
        "UnsupportedOperationException",
        &[md.arn().unwrap(), "is not a multi-region primary key."],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_into_the_primary_region_already_exists() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    let e = must_fail(
        kms.replicate_key()
            .key_id(&id)
            .replica_region(PRIMARY)
            .send()
            .await,
        "ReplicateKey into the primary's own Region",
    );
    assert_err(&e, "AlreadyExistsException", &[&id]);
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_into_a_region_that_has_a_replica_already_exists() {
    let server = Server::start();
    let (kms, id, _c) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let e = must_fail(
        kms.replicate_key()
            .key_id(&id)
            .replica_region(EU)
            .send()
            .await,
        "second ReplicateKey into the same Region",
    );
    assert_err(&e, "AlreadyExistsException", &[&id, EU]);
    // Still exactly one replica.
    assert_eq!(
        mr_config(&describe(&kms, &id).await).2,
        replica_set(&id, &[EU])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_over_a_replica_pending_deletion_says_cancel_or_wait() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    clients[0]
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion replica");
    let e = must_fail(
        kms.replicate_key()
            .key_id(&id)
            .replica_region(EU)
            .send()
            .await,
        "ReplicateKey over a replica pending deletion",
    );
    assert_eq!(
        err_code(&e),
        "AlreadyExistsException",
        "{}",
        err_message(&e)
    );
    let msg = err_message(&e).to_lowercase();
    assert!(
        msg.contains("pending deletion"),
        "message names the pending deletion: {msg:?}"
    );
    assert!(
        msg.contains("cancel"),
        "message says to cancel the deletion: {msg:?}"
    );
    assert!(
        msg.contains("wait"),
        "message says to wait for the deletion: {msg:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_into_another_partition_is_unsupported() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    let e = must_fail(
        kms.replicate_key()
            .key_id(&id)
            .replica_region(CN)
            .send()
            .await,
        "ReplicateKey aws -> aws-cn",
    );
    assert_err(&e, "UnsupportedOperationException", &["partition", CN]);
    // Nothing was created in cn-north-1.
    let cn = server.client(CN).await;
    let e = must_fail(
        cn.describe_key().key_id(&id).send().await,
        "DescribeKey in cn-north-1",
    );
    assert_eq!(err_code(&e), "NotFoundException");
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_into_an_unknown_region_name_is_a_validation_error() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    let e = must_fail(
        kms.replicate_key()
            .key_id(&id)
            .replica_region("mars-north-1")
            .send()
            .await,
        "ReplicateKey into mars-north-1",
    );
    assert_err(&e, "ValidationException", &["mars-north-1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_into_an_unserved_region_names_the_served_regions() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    let e = must_fail(
        kms.replicate_key()
            .key_id(&id)
            .replica_region("ap-northeast-1")
            .send()
            .await,
        "ReplicateKey into a Region the server does not serve",
    );
    assert_err(
        &e,
        "UnsupportedOperationException",
        &["ap-northeast-1", "us-east-1", "us-west-2", "eu-west-1"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_a_disabled_primary_is_disabled_exception() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    kms.disable_key()
        .key_id(&id)
        .send()
        .await
        .expect("DisableKey");
    let e = must_fail(
        kms.replicate_key()
            .key_id(&id)
            .replica_region(EU)
            .send()
            .await,
        "ReplicateKey of a disabled primary",
    );
    let arn = Server::key_arn(PRIMARY, &id);
    assert_err(&e, "DisabledException", &[&format!("{arn} is disabled.")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_a_primary_pending_deletion_is_invalid_state() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    let e = must_fail(
        kms.replicate_key()
            .key_id(&id)
            .replica_region(EU)
            .send()
            .await,
        "ReplicateKey of a primary pending deletion",
    );
    let arn = Server::key_arn(PRIMARY, &id);
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&arn, "is pending deletion"],
    );
}

// ---------------------------------------------------------------------------------------
// Shared and independent properties, consistent configuration
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn shared_properties_are_equal_in_primary_and_replicas() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    for r in [EU, WEST] {
        replicate(&kms, &id, r).await;
    }
    let p = describe(&kms, &id).await;
    let p_rot = kms
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .expect("GetKeyRotationStatus primary")
        .key_rotation_enabled();
    for r in [EU, WEST] {
        let c = server.client(r).await;
        let md = wait_for_state(&c, &id, KeyState::Enabled).await;
        assert_eq!(md.key_id(), p.key_id(), "KeyId in {r}");
        assert_eq!(md.key_spec(), p.key_spec(), "KeySpec in {r}");
        assert_eq!(md.key_usage(), p.key_usage(), "KeyUsage in {r}");
        assert_eq!(md.origin(), p.origin(), "Origin in {r}");
        assert_eq!(
            md.encryption_algorithms(),
            p.encryption_algorithms(),
            "EncryptionAlgorithms in {r}"
        );
        assert_eq!(
            md.current_key_material_id(),
            p.current_key_material_id(),
            "CurrentKeyMaterialId in {r}"
        );
        assert!(md.current_key_material_id().is_some());
        let rot = c
            .get_key_rotation_status()
            .key_id(&id)
            .send()
            .await
            .expect("GetKeyRotationStatus replica");
        assert_eq!(
            rot.key_rotation_enabled(),
            p_rot,
            "rotation status is shared: {r}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_enabled_on_the_primary_is_synchronized_to_replicas() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let eu = &clients[0];
    let before = eu
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    assert!(!before.key_rotation_enabled());
    kms.enable_key_rotation()
        .key_id(&id)
        .send()
        .await
        .expect("EnableKeyRotation primary");
    wait_until(
        "the replica's rotation status follows the primary's (enabled)",
        || async {
            let s = eu
                .get_key_rotation_status()
                .key_id(&id)
                .send()
                .await
                .expect("GetKeyRotationStatus");
            if s.key_rotation_enabled() {
                Ok(())
            } else {
                Err("KeyRotationEnabled false".to_string())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_cannot_be_changed_on_a_replica() {
    let server = Server::start();
    let (_kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let e = must_fail(
        clients[0].enable_key_rotation().key_id(&id).send().await,
        "EnableKeyRotation on a replica",
    );
    let arn = Server::key_arn(EU, &id);
    assert_err(&e, "UnsupportedOperationException", &[&arn, "primary"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn description_policy_tags_and_aliases_are_independent_per_region() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let eu = &clients[0];

    eu.update_key_description()
        .key_id(&id)
        .description("eu only")
        .send()
        .await
        .unwrap();
    eu.tag_resource()
        .key_id(&id)
        .tags(tag("where", "eu"))
        .send()
        .await
        .unwrap();
    kms.tag_resource()
        .key_id(&id)
        .tags(tag("where", "us"))
        .send()
        .await
        .unwrap();
    eu.create_alias()
        .alias_name("alias/eu-name")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    kms.create_alias()
        .alias_name("alias/us-name")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let eu_policy = serde_json::json!({
        "Version": "2012-10-17", "Id": "eu-policy",
        "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
            "Action": "kms:*", "Resource": "*"}]
    })
    .to_string();
    eu.put_key_policy()
        .key_id(&id)
        .policy_name("default")
        .policy(&eu_policy)
        .send()
        .await
        .unwrap();

    assert_eq!(describe(&kms, &id).await.description(), Some("primary key"));
    assert_eq!(describe(eu, &id).await.description(), Some("eu only"));
    assert_eq!(
        kms.list_resource_tags()
            .key_id(&id)
            .send()
            .await
            .unwrap()
            .tags(),
        &[tag("where", "us")]
    );
    assert_eq!(
        eu.list_resource_tags()
            .key_id(&id)
            .send()
            .await
            .unwrap()
            .tags(),
        &[tag("where", "eu")]
    );
    let us_policy = kms
        .get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let us_policy: Value = serde_json::from_str(us_policy.policy().unwrap()).unwrap();
    assert_eq!(
        us_policy["Id"], "key-default-1",
        "primary keeps its own policy"
    );
    let got_eu = eu
        .get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let got_eu: Value = serde_json::from_str(got_eu.policy().unwrap()).unwrap();
    assert_eq!(got_eu["Id"], "eu-policy");

    let aliases = |c: &Client| {
        let c = c.clone();
        let id = id.clone();
        async move {
            c.list_aliases()
                .key_id(&id)
                .send()
                .await
                .unwrap()
                .aliases()
                .iter()
                .filter_map(|a| a.alias_name().map(str::to_string))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(aliases(&kms).await, vec!["alias/us-name".to_string()]);
    assert_eq!(aliases(eu).await, vec!["alias/eu-name".to_string()]);
    // An alias of one Region does not resolve in the other.
    let e = must_fail(
        eu.encrypt()
            .key_id("alias/us-name")
            .plaintext(Blob::new("x"))
            .send()
            .await,
        "Encrypt with the primary Region's alias in the replica Region",
    );
    assert_eq!(err_code(&e), "NotFoundException");
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_the_replica_leaves_the_primary_enabled() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let eu = &clients[0];
    eu.disable_key()
        .key_id(&id)
        .send()
        .await
        .expect("DisableKey replica");
    assert_eq!(
        describe(eu, &id).await.key_state(),
        Some(&KeyState::Disabled)
    );
    assert_eq!(
        describe(&kms, &id).await.key_state(),
        Some(&KeyState::Enabled)
    );
    let ct = encrypt(&kms, &id, b"still works").await;
    let e = must_fail(
        eu.decrypt().ciphertext_blob(blob(&ct)).send().await,
        "Decrypt with a disabled replica",
    );
    assert_err(
        &e,
        "DisabledException",
        &[&format!("{} is disabled.", Server::key_arn(EU, &id))],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_the_primary_leaves_the_replica_enabled() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let eu = &clients[0];
    kms.disable_key()
        .key_id(&id)
        .send()
        .await
        .expect("DisableKey primary");
    assert_eq!(
        describe(&kms, &id).await.key_state(),
        Some(&KeyState::Disabled)
    );
    // Give a sync job the chance to (wrongly) copy the state.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        describe(eu, &id).await.key_state(),
        Some(&KeyState::Enabled)
    );
    let ct = encrypt(eu, &id, b"replica works").await;
    let pt = eu
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt in replica");
    assert_eq!(pt.plaintext().unwrap().as_ref(), b"replica works");
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_key_shows_the_same_multi_region_configuration_in_every_region() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU, WEST]).await;
    let expected = (
        Server::key_arn(PRIMARY, &id),
        PRIMARY.to_string(),
        replica_set(&id, &[EU, WEST]),
    );
    let p = describe(&kms, &id).await;
    assert_eq!(key_type(&p), Some(MultiRegionKeyType::Primary));
    assert_eq!(mr_config(&p), expected, "in {PRIMARY}");
    for (c, r) in clients.iter().zip([EU, WEST]) {
        let md = describe(c, &id).await;
        assert_eq!(
            key_type(&md),
            Some(MultiRegionKeyType::Replica),
            "type in {r}"
        );
        assert_eq!(mr_config(&md), expected, "configuration in {r}");
        assert_eq!(md.arn(), Some(Server::key_arn(r, &id).as_str()));
        // Also by ARN.
        let by_arn = describe(c, &Server::key_arn(r, &id)).await;
        assert_eq!(mr_config(&by_arn), expected);
    }
}

// ---------------------------------------------------------------------------------------
// Cross-Region cryptography
// ---------------------------------------------------------------------------------------

/// (primary client, replica client, mrk id, ciphertext made in the primary Region).
async fn primary_ciphertext(
    server: &Server,
    plaintext: &[u8],
) -> (Client, Client, String, Vec<u8>) {
    let (kms, id, mut clients) = mrk_with_replicas(server, PRIMARY, &[EU]).await;
    let ct = encrypt(&kms, &id, plaintext).await;
    (kms, clients.remove(0), id, ct)
}

#[tokio::test(flavor = "multi_thread")]
async fn primary_ciphertext_decrypts_in_the_replica_region_without_key_id() {
    let server = Server::start();
    let (_kms, eu, id, ct) = primary_ciphertext(&server, b"cross-region 1").await;
    let out = eu
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt in eu-west-1");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"cross-region 1");
    assert_eq!(out.key_id(), Some(Server::key_arn(EU, &id).as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn primary_ciphertext_decrypts_in_the_replica_region_with_the_replica_arn() {
    let server = Server::start();
    let (_kms, eu, id, ct) = primary_ciphertext(&server, b"cross-region 2").await;
    let arn = Server::key_arn(EU, &id);
    let out = eu
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .key_id(&arn)
        .send()
        .await
        .expect("Decrypt with replica ARN");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"cross-region 2");
    assert_eq!(out.key_id(), Some(arn.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn primary_ciphertext_decrypts_in_the_replica_region_with_the_bare_mrk_id() {
    let server = Server::start();
    let (_kms, eu, id, ct) = primary_ciphertext(&server, b"cross-region 3").await;
    let out = eu
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .key_id(&id)
        .send()
        .await
        .expect("Decrypt with mrk id");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"cross-region 3");
    assert_eq!(out.key_id(), Some(Server::key_arn(EU, &id).as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_ciphertext_decrypts_in_the_primary_region() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let ct = encrypt(&clients[0], &id, b"from europe").await;
    let out = kms
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt in us-east-1");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"from europe");
    assert_eq!(out.key_id(), Some(Server::key_arn(PRIMARY, &id).as_str()));
    let out = kms
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .key_id(Server::key_arn(PRIMARY, &id))
        .send()
        .await
        .expect("Decrypt in us-east-1 with the primary ARN");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"from europe");
}

#[tokio::test(flavor = "multi_thread")]
async fn ciphertext_decrypts_between_two_replicas() {
    let server = Server::start();
    let (_kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU, WEST]).await;
    let ct = encrypt(&clients[0], &id, b"eu to west").await;
    let out = clients[1]
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt in us-west-2");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"eu to west");
    assert_eq!(out.key_id(), Some(Server::key_arn(WEST, &id).as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn data_key_generated_in_the_primary_region_decrypts_in_the_replica_region() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let dk = kms
        .generate_data_key()
        .key_id(Server::key_arn(PRIMARY, &id))
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .encryption_context("purpose", "mrk-test")
        .send()
        .await
        .expect("GenerateDataKey");
    assert_eq!(dk.key_id(), Some(Server::key_arn(PRIMARY, &id).as_str()));
    let out = clients[0]
        .decrypt()
        .ciphertext_blob(dk.ciphertext_blob().unwrap().clone())
        .encryption_context("purpose", "mrk-test")
        .send()
        .await
        .expect("Decrypt data key in eu-west-1");
    assert_eq!(
        out.plaintext().unwrap().as_ref(),
        dk.plaintext().unwrap().as_ref()
    );
    assert_eq!(out.plaintext().unwrap().as_ref().len(), 32);
    assert_eq!(out.key_id(), Some(Server::key_arn(EU, &id).as_str()));
    // The encryption context still binds across Regions.
    let e = must_fail(
        clients[0]
            .decrypt()
            .ciphertext_blob(dk.ciphertext_blob().unwrap().clone())
            .encryption_context("purpose", "other")
            .send()
            .await,
        "Decrypt in eu-west-1 with a different encryption context",
    );
    assert_eq!(err_code(&e), "InvalidCiphertextException");
}

#[tokio::test(flavor = "multi_thread")]
async fn re_encrypt_in_the_replica_region_accepts_primary_ciphertext() {
    let server = Server::start();
    let (kms, eu, id, ct) = primary_ciphertext(&server, b"re-encrypt me").await;
    // Destination: a single-Region key in eu-west-1.
    let (_, dest) = new_key(&eu).await;
    let out = eu
        .re_encrypt()
        .ciphertext_blob(blob(&ct))
        .destination_key_id(&dest)
        .send()
        .await
        .expect("ReEncrypt in eu-west-1");
    assert_eq!(out.source_key_id(), Some(Server::key_arn(EU, &id).as_str()));
    assert_eq!(out.key_id(), Some(dest.as_str()));
    let pt = eu
        .decrypt()
        .ciphertext_blob(out.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .expect("Decrypt re-encrypted");
    assert_eq!(pt.plaintext().unwrap().as_ref(), b"re-encrypt me");
    assert_eq!(pt.key_id(), Some(dest.as_str()));
    drop(kms);
}

#[tokio::test(flavor = "multi_thread")]
async fn single_region_ciphertext_does_not_decrypt_in_another_region() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let md = NewKey::symmetric().create(&kms).await;
    let ct = encrypt(&kms, md.key_id(), b"stay home").await;
    let eu = server.client(EU).await;
    let e = must_fail(
        eu.decrypt().ciphertext_blob(blob(&ct)).send().await,
        "Decrypt of a single-Region ciphertext in another Region",
    );
    // Without a KeyId the ciphertext is simply not valid in this Region.
    assert_eq!(
        err_code(&e),
        "InvalidCiphertextException",
        "message: {}",
        err_message(&e)
    );
    // And naming the key's ARN from the other Region is no way around it.
    let e = must_fail(
        eu.decrypt()
            .ciphertext_blob(blob(&ct))
            .key_id(md.arn().unwrap())
            .send()
            .await,
        "Decrypt in eu-west-1 naming the us-east-1 ARN",
    );
    assert_eq!(
        err_code(&e),
        "NotFoundException",
        "message: {}",
        err_message(&e)
    );
}

// ---------------------------------------------------------------------------------------
// UpdatePrimaryRegion
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn update_primary_region_swaps_primary_and_replica() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU, WEST]).await;
    let (eu, west) = (&clients[0], &clients[1]);
    let before_ct = encrypt(&kms, &id, b"before the swap").await;
    kms.update_primary_region()
        .key_id(&id)
        .primary_region(EU)
        .send()
        .await
        .expect("UpdatePrimaryRegion us-east-1 -> eu-west-1");

    let new_p = wait_for_state(eu, &id, KeyState::Enabled).await;
    let old_p = wait_for_state(&kms, &id, KeyState::Enabled).await;
    let third = wait_for_state(west, &id, KeyState::Enabled).await;
    let expected = (
        Server::key_arn(EU, &id),
        EU.to_string(),
        replica_set(&id, &[PRIMARY, WEST]),
    );
    assert_eq!(
        key_type(&new_p),
        Some(MultiRegionKeyType::Primary),
        "eu-west-1 is PRIMARY"
    );
    assert_eq!(
        key_type(&old_p),
        Some(MultiRegionKeyType::Replica),
        "us-east-1 is REPLICA"
    );
    assert_eq!(key_type(&third), Some(MultiRegionKeyType::Replica));
    assert_eq!(mr_config(&new_p), expected, "eu-west-1's view");
    assert_eq!(mr_config(&old_p), expected, "us-east-1's view");
    assert_eq!(
        mr_config(&third),
        expected,
        "us-west-2 shows the new primary"
    );
    // ARNs unchanged.
    assert_eq!(new_p.arn(), Some(Server::key_arn(EU, &id).as_str()));
    assert_eq!(old_p.arn(), Some(Server::key_arn(PRIMARY, &id).as_str()));
    // Old ciphertexts keep working everywhere; the new primary encrypts for the old one.
    let out = eu
        .decrypt()
        .ciphertext_blob(blob(&before_ct))
        .send()
        .await
        .expect("Decrypt old ct in eu");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"before the swap");
    let ct = encrypt(eu, &id, b"after the swap").await;
    let out = kms
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt new ct in us-east-1");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"after the swap");
    // The new primary replicates; the old one no longer does.
    let e = must_fail(
        kms.replicate_key()
            .key_id(&id)
            .replica_region(WEST)
            .send()
            .await,
        "ReplicateKey from the former primary",
    );
    assert_err(
        &e,
        "UnsupportedOperationException",
        &["is not a multi-region primary key."],
    );
    let e = must_fail(
        eu.replicate_key()
            .key_id(&id)
            .replica_region(WEST)
            .send()
            .await,
        "ReplicateKey from the new primary into a Region that has a replica",
    );
    assert_eq!(
        err_code(&e),
        "AlreadyExistsException",
        "{}",
        err_message(&e)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_being_updated_still_encrypt_but_refuse_disable() {
    // The Updating window is stretched to 2 s so every check below lands inside it.
    let server = Server::start_with(&["--primary-update-delay-ms", "2000"]);
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let eu = clients[0].clone();
    let us_arn = Server::key_arn(PRIMARY, &id);
    let eu_arn = Server::key_arn(EU, &id);
    kms.update_primary_region()
        .key_id(&id)
        .primary_region(EU)
        .send()
        .await
        .expect("UpdatePrimaryRegion");

    // Both keys are Updating.
    assert_eq!(
        describe(&kms, &id).await.key_state(),
        Some(&KeyState::Updating)
    );
    assert_eq!(
        describe(&eu, &id).await.key_state(),
        Some(&KeyState::Updating)
    );
    // Crypto keeps working in both Regions, across Regions.
    let ct = encrypt(&kms, &id, b"during update").await;
    let out = eu
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt during update");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"during update");
    encrypt(&eu, &id, b"replica side during update").await;
    // Management operations key-state.md forbids are refused with "is updating.".
    let e = must_fail(
        eu.disable_key().key_id(&id).send().await,
        "DisableKey while Updating",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&format!("{eu_arn} is updating.")],
    );
    let e = must_fail(
        kms.enable_key().key_id(&id).send().await,
        "EnableKey while Updating",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&format!("{us_arn} is updating.")],
    );
    let e = must_fail(
        kms.replicate_key()
            .key_id(&id)
            .replica_region(WEST)
            .send()
            .await,
        "ReplicateKey while Updating",
    );
    assert_err(&e, "KMSInvalidStateException", &["is updating."]);

    // Then the roles swap and both keys are Enabled again.
    let new_p = wait_for_state(&eu, &id, KeyState::Enabled).await;
    wait_for_state(&kms, &id, KeyState::Enabled).await;
    assert_eq!(key_type(&new_p), Some(MultiRegionKeyType::Primary));
    assert_eq!(
        key_type(&describe(&kms, &id).await),
        Some(MultiRegionKeyType::Replica)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_primary_region_on_a_replica_is_unsupported() {
    let server = Server::start();
    let (_kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let e = must_fail(
        clients[0]
            .update_primary_region()
            .key_id(&id)
            .primary_region(PRIMARY)
            .send()
            .await,
        "UpdatePrimaryRegion called on a replica",
    );
    assert_err(
        &e,
        "UnsupportedOperationException",
        &[&format!(
            "{} is not a multi-region primary key.",
            Server::key_arn(EU, &id)
        )],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_primary_region_to_a_region_without_a_replica_is_not_found() {
    let server = Server::start();
    let (kms, id, _c) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let e = must_fail(
        kms.update_primary_region()
            .key_id(&id)
            .primary_region(WEST)
            .send()
            .await,
        "UpdatePrimaryRegion to a Region without a replica",
    );
    assert_err(&e, "NotFoundException", &[WEST]);
    // Nothing changed.
    let md = describe(&kms, &id).await;
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert_eq!(key_type(&md), Some(MultiRegionKeyType::Primary));
}

#[tokio::test(flavor = "multi_thread")]
async fn update_primary_region_of_a_single_region_key_is_unsupported() {
    let server = Server::start();
    let kms = server.client(PRIMARY).await;
    let md = NewKey::symmetric().create(&kms).await;
    let e = must_fail(
        kms.update_primary_region()
            .key_id(md.key_id())
            .primary_region(EU)
            .send()
            .await,
        "UpdatePrimaryRegion of a single-Region key",
    );
    // AWS documents no wording for this case: the key is named and called not multi-Region
    // ("is not a multi-region key." / "is not a multi-region primary key." both fit).
    assert_err(
        &e,
        "UnsupportedOperationException",
        &[md.arn().unwrap(), "is not a multi-region"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_primary_region_of_a_disabled_primary_is_disabled_exception() {
    let server = Server::start();
    let (kms, id, _c) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    kms.disable_key().key_id(&id).send().await.unwrap();
    let e = must_fail(
        kms.update_primary_region()
            .key_id(&id)
            .primary_region(EU)
            .send()
            .await,
        "UpdatePrimaryRegion of a disabled primary",
    );
    assert_err(
        &e,
        "DisabledException",
        &[&format!("{} is disabled.", Server::key_arn(PRIMARY, &id))],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_primary_region_to_a_disabled_replica_is_disabled_exception() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    clients[0].disable_key().key_id(&id).send().await.unwrap();
    let e = must_fail(
        kms.update_primary_region()
            .key_id(&id)
            .primary_region(EU)
            .send()
            .await,
        "UpdatePrimaryRegion to a disabled replica",
    );
    // The guide: both keys must be Enabled when the operation starts.
    assert_err(
        &e,
        "DisabledException",
        &[&format!("{} is disabled.", Server::key_arn(EU, &id))],
    );
    let md = describe(&kms, &id).await;
    assert_eq!(key_type(&md), Some(MultiRegionKeyType::Primary));
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
}

#[tokio::test(flavor = "multi_thread")]
async fn update_primary_region_of_a_primary_pending_replica_deletion_is_invalid_state() {
    let server = Server::start();
    let (kms, id, _c) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let e = must_fail(
        kms.update_primary_region()
            .key_id(&id)
            .primary_region(EU)
            .send()
            .await,
        "UpdatePrimaryRegion of a primary pending replica deletion",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&Server::key_arn(PRIMARY, &id), "is pending"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_deletion_of_a_replica_disables_it_and_leaves_the_primary_alone() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let eu = &clients[0];
    eu.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let out = eu
        .cancel_key_deletion()
        .key_id(&id)
        .send()
        .await
        .expect("CancelKeyDeletion replica");
    assert_eq!(out.key_id(), Some(Server::key_arn(EU, &id).as_str()));
    let md = describe(eu, &id).await;
    assert_eq!(md.key_state(), Some(&KeyState::Disabled));
    assert!(md.deletion_date().is_none());
    assert_eq!(
        describe(&kms, &id).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(mr_config(&md).2, replica_set(&id, &[EU]));
}

// ---------------------------------------------------------------------------------------
// Deletion
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn scheduling_deletion_of_a_replica_leaves_the_primary_unaffected() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let eu = &clients[0];
    let out = eu
        .schedule_key_deletion()
        .key_id(Server::key_arn(EU, &id))
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion replica");
    assert_eq!(out.key_id(), Some(Server::key_arn(EU, &id).as_str()));
    assert_eq!(out.key_state(), Some(&KeyState::PendingDeletion));
    assert!(
        out.deletion_date().is_some(),
        "replica deletion has a DeletionDate"
    );
    assert_eq!(out.pending_window_in_days(), Some(7));
    let r = describe(eu, &id).await;
    assert_eq!(r.key_state(), Some(&KeyState::PendingDeletion));
    assert!(r.deletion_date().is_some());
    let p = describe(&kms, &id).await;
    assert_eq!(p.key_state(), Some(&KeyState::Enabled));
    assert!(p.deletion_date().is_none());
    let ct = encrypt(&kms, &id, b"primary still works").await;
    let e = must_fail(
        eu.decrypt().ciphertext_blob(blob(&ct)).send().await,
        "Decrypt with a replica pending deletion",
    );
    assert_err(&e, "KMSInvalidStateException", &["is pending deletion"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduling_deletion_of_a_primary_with_replicas_is_pending_replica_deletion() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let eu = &clients[0];
    let out = kms
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(9)
        .send()
        .await
        .expect("ScheduleKeyDeletion primary");
    assert_eq!(out.key_id(), Some(Server::key_arn(PRIMARY, &id).as_str()));
    assert_eq!(out.key_state(), Some(&KeyState::PendingReplicaDeletion));
    assert!(
        out.deletion_date().is_none(),
        "no DeletionDate while replicas exist: {:?}",
        out.deletion_date()
    );
    assert_eq!(out.pending_window_in_days(), Some(9));

    let md = describe(&kms, &id).await;
    assert_eq!(md.key_state(), Some(&KeyState::PendingReplicaDeletion));
    assert!(!md.enabled());
    assert!(md.deletion_date().is_none());
    assert_eq!(md.pending_deletion_window_in_days(), Some(9));

    // Primary unusable, replica unaffected.
    let e = must_fail(
        kms.encrypt()
            .key_id(&id)
            .plaintext(Blob::new("x"))
            .send()
            .await,
        "Encrypt with a primary pending replica deletion",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&Server::key_arn(PRIMARY, &id), "is pending"],
    );
    assert_eq!(
        describe(eu, &id).await.key_state(),
        Some(&KeyState::Enabled)
    );
    let ct = encrypt(eu, &id, b"replica still works").await;
    let pt = eu
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt in replica");
    assert_eq!(pt.plaintext().unwrap().as_ref(), b"replica still works");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_deletion_of_a_primary_pending_replica_deletion_disables_it() {
    let server = Server::start();
    let (kms, id, _c) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    kms.schedule_key_deletion()
        .key_id(&id)
        .send()
        .await
        .expect("ScheduleKeyDeletion primary");
    let out = kms
        .cancel_key_deletion()
        .key_id(&id)
        .send()
        .await
        .expect("CancelKeyDeletion");
    assert_eq!(out.key_id(), Some(Server::key_arn(PRIMARY, &id).as_str()));
    let md = describe(&kms, &id).await;
    assert_eq!(md.key_state(), Some(&KeyState::Disabled));
    assert!(md.deletion_date().is_none());
    assert!(md.pending_deletion_window_in_days().is_none());
    kms.enable_key()
        .key_id(&id)
        .send()
        .await
        .expect("EnableKey after cancel");
    encrypt(&kms, &id, b"back").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn primary_is_deleted_only_after_its_replicas_and_then_its_own_window() {
    let server = Server::start_with(&["--admin-api"]);
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU, WEST]).await;
    let out = kms
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion primary");
    assert_eq!(out.key_state(), Some(&KeyState::PendingReplicaDeletion));
    for c in &clients {
        let o = c
            .schedule_key_deletion()
            .key_id(&id)
            .pending_window_in_days(7)
            .send()
            .await
            .expect("ScheduleKeyDeletion replica");
        assert_eq!(o.key_state(), Some(&KeyState::PendingDeletion));
    }

    // Day 8: replicas gone, primary's own window starts.
    let now = server.advance_clock(8.0 * DAY).await;
    for (c, r) in clients.iter().zip([EU, WEST]) {
        let e = must_fail(
            c.describe_key().key_id(&id).send().await,
            "DescribeKey of a deleted replica",
        );
        assert_err(&e, "NotFoundException", &[&id]);
        let _ = r;
    }
    let md = describe(&kms, &id).await;
    assert_eq!(md.key_state(), Some(&KeyState::PendingDeletion));
    let deletion = md
        .deletion_date()
        .unwrap_or_else(|| panic!("primary PendingDeletion has a DeletionDate: {md:?}"))
        .as_secs_f64();
    let expected = now + 7.0 * DAY;
    assert!(
        (deletion - expected).abs() < 300.0,
        "primary DeletionDate {deletion} ≈ server now {now} + 7 days ({expected})"
    );
    assert!(mr_config(&md).2.is_empty(), "no replicas left: {md:?}");

    // Day 16: the primary is gone too.
    server.advance_clock(8.0 * DAY).await;
    let e = must_fail(
        kms.describe_key().key_id(&id).send().await,
        "DescribeKey of a deleted primary",
    );
    assert_err(&e, "NotFoundException", &[&id]);
}

#[tokio::test(flavor = "multi_thread")]
async fn primary_stays_pending_replica_deletion_while_a_replica_remains() {
    let server = Server::start_with(&["--admin-api"]);
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU, WEST]).await;
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    clients[0]
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    server.advance_clock(40.0 * DAY).await;
    let e = must_fail(
        clients[0].describe_key().key_id(&id).send().await,
        "deleted replica",
    );
    assert_eq!(err_code(&e), "NotFoundException");
    let md = describe(&kms, &id).await;
    assert_eq!(
        md.key_state(),
        Some(&KeyState::PendingReplicaDeletion),
        "us-west-2 replica still exists"
    );
    assert!(md.deletion_date().is_none());
    assert_eq!(mr_config(&md).2, replica_set(&id, &[WEST]));
    assert_eq!(
        describe(&clients[1], &id).await.key_state(),
        Some(&KeyState::Enabled)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicating_again_after_a_replica_was_deleted_restores_the_same_key() {
    let server = Server::start_with(&["--admin-api"]);
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let eu = &clients[0];
    let material = describe(eu, &id)
        .await
        .current_key_material_id()
        .map(str::to_string);
    assert!(material.is_some());
    let old_ct = encrypt(&kms, &id, b"written before the replica was deleted").await;
    eu.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    server.advance_clock(8.0 * DAY).await;
    let e = must_fail(
        eu.describe_key().key_id(&id).send().await,
        "DescribeKey deleted replica",
    );
    assert_eq!(err_code(&e), "NotFoundException");
    assert!(
        mr_config(&describe(&kms, &id).await).2.is_empty(),
        "primary lists no replica"
    );

    let out = replicate(&kms, &id, EU).await;
    assert_eq!(out.replica_key_metadata().unwrap().key_id(), id);
    let md = wait_for_state(eu, &id, KeyState::Enabled).await;
    assert_eq!(md.key_id(), id);
    assert_eq!(md.current_key_material_id().map(str::to_string), material);
    let pt = eu
        .decrypt()
        .ciphertext_blob(blob(&old_ct))
        .send()
        .await
        .expect("Decrypt old ct in recreated replica");
    assert_eq!(
        pt.plaintext().unwrap().as_ref(),
        b"written before the replica was deleted"
    );
}

// ---------------------------------------------------------------------------------------
// Audit (CloudTrail-style records)
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn replicate_key_is_audited_in_the_primary_and_the_replica_region() {
    let server = Server::start();
    let (_kms, id, _c) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let ev = wait_for_event(&server, PRIMARY, "ReplicateKey", &id).await;
    assert_cloudtrail_event(&ev, "ReplicateKey", PRIMARY);
    assert_eq!(
        ev["requestParameters"]["replicaRegion"], EU,
        "requestParameters of {ev}"
    );
    let ev = wait_for_event(&server, EU, "CreateKey", &id).await;
    assert_cloudtrail_event(&ev, "CreateKey", EU);
    // No ReplicateKey record in the replica's Region, no CreateKey for this key... except
    // the primary's own CreateKey in us-east-1.
    assert!(events_named(&server, EU, "ReplicateKey", &id).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_synchronization_is_audited_in_the_replica_region() {
    let server = Server::start();
    let (_kms, id, _c) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let ev = wait_for_event(&server, EU, "SynchronizeMultiRegionKey", &id).await;
    assert_cloudtrail_event(&ev, "SynchronizeMultiRegionKey", EU);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_primary_region_is_audited_in_both_regions() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    kms.update_primary_region()
        .key_id(&id)
        .primary_region(EU)
        .send()
        .await
        .unwrap();
    wait_for_state(&clients[0], &id, KeyState::Enabled).await;
    wait_for_state(&kms, &id, KeyState::Enabled).await;
    let ev = wait_for_event(&server, PRIMARY, "UpdatePrimaryRegion", &id).await;
    assert_cloudtrail_event(&ev, "UpdatePrimaryRegion", PRIMARY);
    let ev = wait_for_event(&server, EU, "UpdatePrimaryRegion", &id).await;
    assert_cloudtrail_event(&ev, "UpdatePrimaryRegion", EU);
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_records_of_cross_region_crypto_hold_no_plaintext() {
    let server = Server::start();
    let (kms, id, clients) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let plaintext = b"very secret plaintext that must not be logged 0123456789";
    let ct = encrypt(&kms, &id, plaintext).await;
    let out = clients[0]
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext().unwrap().as_ref(), plaintext);
    let dk = kms
        .generate_data_key()
        .key_id(&id)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    clients[0]
        .decrypt()
        .ciphertext_blob(dk.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    let decrypt_ev = wait_for_event(&server, EU, "Decrypt", &id).await;
    assert_cloudtrail_event(&decrypt_ev, "Decrypt", EU);
    let encrypt_ev = wait_for_event(&server, PRIMARY, "Encrypt", &id).await;
    assert_cloudtrail_event(&encrypt_ev, "Encrypt", PRIMARY);
    let secrets = [
        ("plaintext", b64(plaintext)),
        ("data key", b64(dk.plaintext().unwrap().as_ref())),
        ("ciphertext", b64(ct.as_ref())),
    ];
    for region in [PRIMARY, EU] {
        let text = audit_text(&server, region);
        assert!(!text.is_empty());
        for (what, s) in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{region} audit log contains the {what}"
            );
        }
        for e in audit_events(&server, region) {
            assert_eq!(e["eventSource"], "kms.amazonaws.com");
            assert_eq!(e["awsRegion"], region);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Crash safety
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn replica_creating_at_kill9_becomes_enabled_after_restart() {
    let mut server = Server::start_with(&["--replica-creation-delay-ms", "3000"]);
    let kms = server.client(PRIMARY).await;
    let id = create_mrk(&kms).await.key_id().to_string();
    let ct = encrypt(&kms, &id, b"survives the crash").await;
    replicate(&kms, &id, EU).await;
    let eu = server.client(EU).await;
    assert_eq!(
        describe(&eu, &id).await.key_state(),
        Some(&KeyState::Creating)
    );
    server.kill9();
    server.restart();
    let eu = server.client(EU).await;
    let kms = server.client(PRIMARY).await;
    let md = wait_for_state(&eu, &id, KeyState::Enabled).await;
    assert_eq!(key_type(&md), Some(MultiRegionKeyType::Replica));
    let pt = eu
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt after restart");
    assert_eq!(pt.plaintext().unwrap().as_ref(), b"survives the crash");
    assert_eq!(
        mr_config(&describe(&kms, &id).await).2,
        replica_set(&id, &[EU])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn update_primary_region_interrupted_by_kill9_completes_after_restart() {
    let mut server = Server::start();
    let (kms, id, _c) = mrk_with_replicas(&server, PRIMARY, &[EU, WEST]).await;
    let ct = encrypt(&kms, &id, b"before the crash").await;
    kms.update_primary_region()
        .key_id(&id)
        .primary_region(EU)
        .send()
        .await
        .expect("UpdatePrimaryRegion");
    server.kill9();
    server.restart();
    let kms = server.client(PRIMARY).await;
    let eu = server.client(EU).await;
    let west = server.client(WEST).await;
    let new_p = wait_for_state(&eu, &id, KeyState::Enabled).await;
    let old_p = wait_for_state(&kms, &id, KeyState::Enabled).await;
    let third = wait_for_state(&west, &id, KeyState::Enabled).await;
    let expected = (
        Server::key_arn(EU, &id),
        EU.to_string(),
        replica_set(&id, &[PRIMARY, WEST]),
    );
    assert_eq!(key_type(&new_p), Some(MultiRegionKeyType::Primary));
    assert_eq!(key_type(&old_p), Some(MultiRegionKeyType::Replica));
    for md in [&new_p, &old_p, &third] {
        assert_eq!(mr_config(md), expected);
    }
    let pt = eu
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt after restart");
    assert_eq!(pt.plaintext().unwrap().as_ref(), b"before the crash");
}

// ---------------------------------------------------------------------------------------
// AWS Encryption SDK (Python) with an MRK-aware master key provider
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn encryption_sdk_data_under_primary_arn_decrypts_with_replica_arn() {
    let python = std::env::var("HSM_KMS_PYTHON").unwrap_or_else(|_| {
        panic!(
            "HSM_KMS_PYTHON is not set: run the tests through scripts/test, which installs \
             aws-encryption-sdk and boto3 into .venv and exports HSM_KMS_PYTHON=$PWD/.venv/bin/python"
        )
    });
    let server = Server::start();
    let (_kms, id, _c) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("encryption_sdk")
        .join("mrk_roundtrip.py");
    let run = |primary_arn: String, replica_arn: String| {
        let (python, script, url) = (python.clone(), script.clone(), server.url.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(&python)
                .arg(&script)
                .arg(&url)
                .arg(&primary_arn)
                .arg(&replica_arn)
                .output()
                .unwrap_or_else(|e| panic!("run {python} {}: {e}", script.display()))
        })
    };
    let out = run(Server::key_arn(PRIMARY, &id), Server::key_arn(EU, &id))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "mrk_roundtrip.py failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    eprintln!("mrk_roundtrip.py:\n{stdout}");
    assert!(stdout.contains("OK"), "script reports OK: {stdout}");

    // Control: a replica of an unrelated multi-Region key must not decrypt it.
    let (_k2, other, _c2) = mrk_with_replicas(&server, PRIMARY, &[EU]).await;
    let out = run(Server::key_arn(PRIMARY, &id), Server::key_arn(EU, &other))
        .await
        .unwrap();
    assert!(
        !out.status.success(),
        "mrk_roundtrip.py must fail with an unrelated replica ARN; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The decrypt really happened in the replica's Region.
    let ev = wait_for_event(&server, EU, "Decrypt", &id).await;
    assert_cloudtrail_event(&ev, "Decrypt", EU);
}
