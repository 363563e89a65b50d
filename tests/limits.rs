//! Limits that keep one caller from exhausting the server (issue 12, items 7 and 15):
//! AWS's resource quotas with LimitExceededException in AWS's words, RSA key generations
//! throttled per Region token instead of queued without end, import wrapping keys that
//! were never used destroyed when their 24 hours are over, and AWS's encryption-context
//! rules. The keys a CloudFormation stack creates count against the same quotas.

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{AlgorithmSpec, DataKeyPairSpec, KeySpec, KeyUsageType, WrappingKeySpec};
use common::*;

/// The PKCS#11 child process of `common::pkcs11` (does nothing in a normal run).
#[test]
#[ignore = "a child process started by common::pkcs11::run"]
fn pkcs11_child() {
    common::pkcs11::child_main();
}

#[tokio::test]
async fn a_stacks_keys_count_against_the_regions_key_quota() {
    let server = Server::start_with(&["--regions", "us-east-1", "--quota-keys-per-region", "2"]);
    let kms = server.client("us-east-1").await;
    new_key(&kms).await;
    let cfn = aws_sdk_cloudformation::Client::new(&server.sdk_config("us-east-1").await);
    let template = r#"{"Resources": {
        "First": {"Type": "AWS::KMS::Key"},
        "Second": {"Type": "AWS::KMS::Key", "DependsOn": "First"}}}"#;
    cfn.create_stack()
        .stack_name("over-quota")
        .template_body(template)
        .send()
        .await
        .expect("CreateStack");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    let status = loop {
        let out = cfn
            .describe_stacks()
            .stack_name("over-quota")
            .send()
            .await
            .expect("DescribeStacks");
        let status = out.stacks()[0]
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if !status.ends_with("_IN_PROGRESS") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(status, "ROLLBACK_COMPLETE");
    let events = cfn
        .describe_stack_events()
        .stack_name("over-quota")
        .send()
        .await
        .expect("DescribeStackEvents");
    let failed: Vec<String> = events
        .stack_events()
        .iter()
        .filter(|e| e.resource_status().map(|s| s.as_str()) == Some("CREATE_FAILED"))
        .map(|e| {
            format!(
                "{} {}",
                e.logical_resource_id().unwrap_or_default(),
                e.resource_status_reason().unwrap_or_default()
            )
        })
        .collect();
    let second = failed
        .iter()
        .find(|l| l.starts_with("Second "))
        .unwrap_or_else(|| panic!("{failed:?}"));
    assert!(
        second
            .contains("Key quota for this account in this region is 2 but the current usage is 2."),
        "{second}"
    );
    assert!(
        second.contains("(HandlerErrorCode: ServiceLimitExceeded)"),
        "{second}"
    );
}

#[tokio::test]
async fn keys_per_region_and_aliases_per_key_are_quotas_as_in_aws() {
    let server = Server::start_with(&[
        "--regions",
        "us-east-1,eu-west-1",
        "--quota-keys-per-region",
        "3",
        "--quota-aliases-per-key",
        "2",
    ]);
    let kms = server.client("us-east-1").await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(new_key(&kms).await.0);
    }
    let e = must_fail(kms.create_key().send().await, "a fourth key");
    assert_err(
        &e,
        "LimitExceededException",
        &["Key quota for this account in this region is 3 but the current usage is 3."],
    );
    // Another Region counts its own keys.
    let eu = server.client("eu-west-1").await;
    new_key(&eu).await;

    // Aliases per key.
    for name in ["alias/one", "alias/two"] {
        kms.create_alias()
            .alias_name(name)
            .target_key_id(&keys[0])
            .send()
            .await
            .expect("CreateAlias within the quota");
    }
    let e = must_fail(
        kms.create_alias()
            .alias_name("alias/three")
            .target_key_id(&keys[0])
            .send()
            .await,
        "a third alias",
    );
    assert_err(
        &e,
        "LimitExceededException",
        &["Aliases per key quota for this account in this region is 2, current usage is 2."],
    );
    // Moving an alias onto the full key is refused too; onto another key it works.
    kms.create_alias()
        .alias_name("alias/three")
        .target_key_id(&keys[1])
        .send()
        .await
        .expect("CreateAlias on another key");
    let e = must_fail(
        kms.update_alias()
            .alias_name("alias/three")
            .target_key_id(&keys[0])
            .send()
            .await,
        "UpdateAlias onto the full key",
    );
    assert_err(&e, "LimitExceededException", &["Aliases per key quota"]);
    // Re-pointing an alias at the key it already names is no new alias.
    kms.update_alias()
        .alias_name("alias/one")
        .target_key_id(&keys[0])
        .send()
        .await
        .expect("UpdateAlias to the same key");
}

#[tokio::test(flavor = "multi_thread")]
async fn rsa_generations_beyond_the_token_queue_are_throttled_not_queued() {
    let server = Server::start_with(&[
        "--regions",
        "us-east-1",
        "--key-generations-per-region",
        "1",
        "--key-generation-queue",
        "0",
    ]);
    let kms = server.client("us-east-1").await;
    let (symmetric, _) = new_key(&kms).await;
    let burst = (0..4).map(|_| {
        let kms = kms.clone();
        tokio::spawn(async move {
            kms.create_key()
                .key_spec(KeySpec::Rsa4096)
                .key_usage(KeyUsageType::SignVerify)
                .send()
                .await
        })
    });
    let burst: Vec<_> = burst.collect();
    // Crypto with an existing key goes on meanwhile.
    let sealed = kms
        .encrypt()
        .key_id(&symmetric)
        .plaintext(Blob::new(b"not stalled".to_vec()))
        .send()
        .await
        .expect("Encrypt during the burst");
    assert!(sealed.ciphertext_blob().is_some());
    let mut created = 0;
    let mut throttled = 0;
    for task in burst {
        match task.await.expect("task") {
            Ok(_) => created += 1,
            Err(e) => {
                assert_err(&e, "ThrottlingException", &["Rate exceeded"]);
                assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(400));
                throttled += 1;
            }
        }
    }
    assert!(created >= 1, "none of the burst was created");
    assert!(
        throttled >= 1,
        "four RSA_4096 generations at once were all queued"
    );
    // Only the created ones exist: a throttled request left nothing behind.
    let listed = kms.list_keys().send().await.expect("ListKeys");
    assert_eq!(listed.keys().len(), 1 + created);

    // GenerateDataKeyPair RSA goes through the same gate; with the gate free it works.
    kms.generate_data_key_pair()
        .key_id(&symmetric)
        .key_pair_spec(DataKeyPairSpec::Rsa2048)
        .send()
        .await
        .expect("GenerateDataKeyPair RSA_2048 once the burst is over");
}

#[tokio::test]
async fn import_wrapping_keys_never_used_are_destroyed_after_24_hours() {
    let server = Server::start_with(&["--regions", "us-east-1", "--admin-api"]);
    let kms = server.client("us-east-1").await;
    let key = create_external(&kms, false).await;
    for _ in 0..2 {
        kms.get_parameters_for_import()
            .key_id(&key)
            .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
            .wrapping_key_spec(WrappingKeySpec::Rsa2048)
            .send()
            .await
            .expect("GetParametersForImport");
    }
    let count = || {
        common::pkcs11::run(
            "count-objects",
            &server.data_dir(),
            &[("region", "us-east-1")],
        )
    };
    // Each pair's private half is a token object until its token expires.
    assert_eq!(count().get("import wrapping key objects"), "2");
    server.advance_clock(86_400.0 + 60.0).await;
    wait_until("the wrapping keys are destroyed", || async {
        let n = count().get("import wrapping key objects").to_string();
        if n == "0" {
            Ok(())
        } else {
            Err(format!("{n} wrapping key objects"))
        }
    })
    .await;
}

#[tokio::test]
async fn encryption_contexts_follow_aws_rules() {
    let server = Server::start_with(&["--regions", "us-east-1"]);
    let kms = server.client("us-east-1").await;
    let (key, _) = new_key(&kms).await;
    let encrypt = |context: Vec<(String, String)>| {
        let mut req = kms
            .encrypt()
            .key_id(&key)
            .plaintext(Blob::new(b"x".to_vec()));
        for (k, v) in context {
            req = req.encryption_context(k, v);
        }
        req.send()
    };
    let e = must_fail(
        encrypt(vec![(String::new(), "v".into())]).await,
        "an empty key",
    );
    assert_err(
        &e,
        "ValidationException",
        &["Invalid EncryptionContext", "empty key"],
    );
    let e = must_fail(
        encrypt(vec![("purpose".into(), String::new())]).await,
        "an empty value",
    );
    assert_err(
        &e,
        "ValidationException",
        &["Invalid EncryptionContext", "empty"],
    );
    let e = must_fail(
        encrypt(vec![("k".repeat(10_000), "v".into())]).await,
        "a 10,000-character key",
    );
    assert_err(
        &e,
        "ValidationException",
        &["Invalid EncryptionContext", "10001 bytes", "8192"],
    );
    let many = (0..10_000)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    let e = must_fail(encrypt(many).await, "10,000 entries");
    assert_err(&e, "ValidationException", &["10000 pairs", "8192"]);
    let e = must_fail(
        encrypt(vec![("k".into(), "v".repeat(1 << 20))]).await,
        "a 1 MiB value",
    );
    // The request itself is over the body limit (1 MiB): refused at the edge, in JSON.
    let code = e
        .raw_response()
        .map(|r| r.status().as_u16())
        .unwrap_or_default();
    assert_eq!(code, 413, "{e:?}");
    // At the limit it works, and Decrypt checks the same rules.
    let sealed = encrypt(vec![("k".into(), "v".repeat(8191))])
        .await
        .expect("an 8,192-byte context");
    let e = must_fail(
        kms.decrypt()
            .ciphertext_blob(sealed.ciphertext_blob().expect("blob").clone())
            .encryption_context("", "v")
            .send()
            .await,
        "Decrypt with an empty key",
    );
    assert_err(&e, "ValidationException", &["Invalid EncryptionContext"]);
}
