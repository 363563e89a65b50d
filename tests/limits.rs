//! Limits that keep one caller from exhausting the server (issue 12, items 7 and 15):
//! AWS's resource quotas with LimitExceededException in AWS's words, RSA key generations
//! throttled per Region token instead of queued without end, import wrapping keys that
//! were never used destroyed when their 24 hours are over, and AWS's encryption-context
//! rules. The keys a CloudFormation stack creates count against the same quotas, and a
//! burst of concurrent creations (keys, replicas, aliases, grants) cannot overshoot them.

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    AlgorithmSpec, DataKeyPairSpec, KeySpec, KeyState, KeyUsageType, WrappingKeySpec,
};
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

/// The labelled token objects of `region`'s token (key material, one per symmetric key).
fn labelled_objects(server: &Server, region: &str) -> usize {
    common::pkcs11::run("count-objects", &server.data_dir(), &[("region", region)])
        .get("labelled objects")
        .parse()
        .expect("a count")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_key_creations_cannot_overshoot_the_key_quota() {
    const QUOTA: usize = 6;
    let server = Server::start_with(&[
        "--regions",
        "us-east-1,eu-west-1",
        "--quota-keys-per-region",
        "6",
    ]);
    let us = server.client("us-east-1").await;
    let eu = server.client("eu-west-1").await;
    // Four multi-Region primaries; the first one's replica is eu-west-1's first key (and
    // sets up whatever a replication leaves in the token before the objects are counted).
    let mut primaries = Vec::new();
    for _ in 0..4 {
        primaries.push(create_mrk(&us).await.key_id().to_string());
    }
    replicate_to(&server, &us, &primaries[0], &["eu-west-1"]).await;
    // Creations that fail after taking their place give it back.
    for _ in 0..3 {
        let e = must_fail(
            eu.create_key()
                .key_usage(KeyUsageType::SignVerify)
                .send()
                .await,
            "a symmetric key for signing",
        );
        assert_err(&e, "ValidationException", &["SIGN_VERIFY"]);
    }
    let objects_before = labelled_objects(&server, "eu-west-1");

    // Twelve CreateKey and three ReplicateKey into eu-west-1 at once, for five free places.
    let creates: Vec<_> = (0..12)
        .map(|_| {
            let eu = eu.clone();
            tokio::spawn(async move { eu.create_key().send().await.map(|_| ()) })
        })
        .collect();
    let replicas: Vec<_> = primaries[1..]
        .iter()
        .map(|id| {
            let (us, id) = (us.clone(), id.clone());
            tokio::spawn(async move {
                us.replicate_key()
                    .key_id(&id)
                    .replica_region("eu-west-1")
                    .send()
                    .await
                    .map(|_| id)
            })
        })
        .collect();
    let mut created = 0;
    let mut refused = Vec::new();
    for task in creates {
        match task.await.expect("task") {
            Ok(()) => created += 1,
            Err(e) => refused.push((err_code(&e), err_message(&e))),
        }
    }
    let mut replicated = Vec::new();
    for task in replicas {
        match task.await.expect("task") {
            Ok(id) => replicated.push(id),
            Err(e) => refused.push((err_code(&e), err_message(&e))),
        }
    }
    let quota_words = "Key quota for this account in this region is 6 but the current usage is 6.";
    for (code, message) in &refused {
        assert_eq!(code, "LimitExceededException", "{message}");
        assert_eq!(message, quota_words);
    }
    assert_eq!(
        created + replicated.len(),
        QUOTA - 1,
        "created {created}, replicated {replicated:?}, refused {refused:?}"
    );
    assert_eq!(refused.len(), 15 - (QUOTA - 1));
    let listed = eu.list_keys().send().await.expect("ListKeys");
    assert_eq!(listed.keys().len(), QUOTA);
    // Every key has its material in the token, and no refused call left any behind.
    for id in &replicated {
        wait_for_state(&eu, id, KeyState::Enabled).await;
    }
    assert_eq!(
        labelled_objects(&server, "eu-west-1"),
        objects_before + QUOTA - 1
    );
    // Full, and says so; the other Region is not.
    let e = must_fail(eu.create_key().send().await, "a key beyond the quota");
    assert_err(&e, "LimitExceededException", &[quota_words]);
    new_key(&us).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_aliases_or_grants_cannot_overshoot_their_quotas() {
    let server = Server::start_with(&[
        "--regions",
        "us-east-1",
        "--quota-aliases-per-key",
        "3",
        "--max-grants-per-key",
        "3",
    ]);
    let kms = server.client("us-east-1").await;
    let (key, arn) = new_key(&kms).await;
    let (other, _) = new_key(&kms).await;
    // Aliases on another key that a burst of UpdateAlias moves onto `key`.
    for i in 0..3 {
        kms.create_alias()
            .alias_name(format!("alias/moved-{i}"))
            .target_key_id(&other)
            .send()
            .await
            .expect("CreateAlias");
    }
    let creates: Vec<_> = (0..8)
        .map(|i| {
            let (kms, key) = (kms.clone(), key.clone());
            tokio::spawn(async move {
                kms.create_alias()
                    .alias_name(format!("alias/burst-{i}"))
                    .target_key_id(&key)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| (err_code(&e), err_message(&e)))
            })
        })
        .collect();
    let moves: Vec<_> = (0..3)
        .map(|i| {
            let (kms, key) = (kms.clone(), key.clone());
            tokio::spawn(async move {
                kms.update_alias()
                    .alias_name(format!("alias/moved-{i}"))
                    .target_key_id(&key)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| (err_code(&e), err_message(&e)))
            })
        })
        .collect();
    let mut done = 0;
    for task in creates.into_iter().chain(moves) {
        match task.await.expect("task") {
            Ok(()) => done += 1,
            Err((code, message)) => {
                assert_eq!(code, "LimitExceededException", "{message}");
                assert_eq!(
                    message,
                    "Aliases per key quota for this account in this region is 3, current usage is 3."
                );
            }
        }
    }
    assert_eq!(done, 3);
    let aliases = kms
        .list_aliases()
        .key_id(&key)
        .send()
        .await
        .expect("ListAliases");
    assert_eq!(aliases.aliases().len(), 3, "{:?}", aliases.aliases());

    // Grants per key.
    let grants: Vec<_> = (0..10)
        .map(|i| {
            let (kms, key) = (kms.clone(), key.clone());
            tokio::spawn(async move {
                kms.create_grant()
                    .key_id(&key)
                    .grantee_principal(format!("arn:aws:iam::{ACCOUNT}:user/burst-{i}"))
                    .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| (err_code(&e), err_message(&e)))
            })
        })
        .collect();
    let mut granted = 0;
    for task in grants {
        match task.await.expect("task") {
            Ok(()) => granted += 1,
            Err((code, message)) => {
                assert_eq!(code, "LimitExceededException", "{message}");
                assert!(
                    message.contains(&format!("KMS key {arn} already has 3 grants")),
                    "{message}"
                );
            }
        }
    }
    assert_eq!(granted, 3);
    let listed = kms
        .list_grants()
        .key_id(&key)
        .send()
        .await
        .expect("ListGrants");
    assert_eq!(listed.grants().len(), 3);
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
