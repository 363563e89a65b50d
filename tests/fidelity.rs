//! Fidelity to AWS: the responses real AWS gave, and hsm-kms's to the same calls.
//!
//! - `recorded_aws_cases_match`: the suite of tests/fidelity/ (boto3, as the recordings
//!   are botocore responses) performs the calls of every recorded case against a real
//!   server and compares each response member by member with AWS's recorded response
//!   (tests/fidelity/compare.py says what is compared and what is ignored). It prints how
//!   many recorded cases are covered, how many match, and every difference.
//! - The other tests state single rules of the recordings through aws-sdk-rust and the
//!   raw HTTP response: errors AWS sends without a message, DryRun's HTTP status,
//!   IncorrectKeyException from ReEncrypt, AWS's order of enum values in validation
//!   messages, and ReplicateKey's `ReplicaTags`.

mod common;

use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::SdkError;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, DataKeySpec, KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType,
    MacAlgorithmSpec, MessageType, SigningAlgorithmSpec,
};
use common::*;
use serde_json::Value;

/// The Regions of the suite: the recordings' `<region>` and `<secondary-region>`, and
/// the Region the replication test names literally (ap-southeast-1).
const SUITE_REGIONS: &str = "us-east-1,us-west-2,ap-southeast-1";

#[tokio::test(flavor = "multi_thread")]
async fn recorded_aws_cases_match() {
    let python = std::env::var("HSM_KMS_PYTHON").unwrap_or_else(|_| {
        panic!(
            "HSM_KMS_PYTHON is not set: run the tests through scripts/test, which installs \
             boto3 into .venv and exports HSM_KMS_PYTHON=$PWD/.venv/bin/python"
        )
    });
    let server = Server::start_with(&["--regions", SUITE_REGIONS]);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fidelity");
    let url = server.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg(dir.join("run_cases.py"))
            .arg(&url)
            .arg(dir.join("recorded.json"))
            .output()
            .unwrap_or_else(|e| panic!("run {python} run_cases.py: {e}"))
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "recorded AWS cases differ ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    // The summary names every recorded case: none is silently left out.
    assert!(
        stdout.contains("recorded cases: 114;"),
        "summary counts all 114 recorded cases: {stdout}"
    );
    assert!(stdout.contains("differing: 0;"), "{stdout}");
}

/// The HTTP status and JSON body of a failed call, as the server sent them.
fn raw<E: std::fmt::Debug>(e: &SdkError<E, HttpResponse>) -> (u16, Value) {
    let resp = e
        .raw_response()
        .unwrap_or_else(|| panic!("no HTTP response: {e:?}"));
    let body = resp.body().bytes().expect("buffered body");
    let json = serde_json::from_slice(body)
        .unwrap_or_else(|err| panic!("error body is JSON ({err}): {body:?}"));
    (resp.status().as_u16(), json)
}

/// `e` is `code` with HTTP 400 and a body that has no `message` member at all: AWS sends
/// these errors without one, and an SDK shows `"message": ""` as an extra field.
#[track_caller]
fn assert_no_message<E: std::fmt::Debug>(e: &SdkError<E, HttpResponse>, code: &str) {
    let (status, body) = raw(e);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], code, "{body}");
    assert!(
        body.get("message").is_none() && body.get("Message").is_none(),
        "{code} has no message member: {body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_aws_sends_without_a_message_have_no_message_member() {
    let server = Server::start();
    let kms = server.client("us-east-1").await;

    // Verify with a signature of another message: KMSInvalidSignatureException.
    let signing = NewKey::of(KeySpec::EccNistP256, KeyUsageType::SignVerify)
        .create_id(&kms)
        .await;
    let other = kms
        .sign()
        .key_id(&signing)
        .message(blob(b"another message"))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .expect("Sign")
        .signature()
        .expect("Signature")
        .clone();
    let e = must_fail(
        kms.verify()
            .key_id(&signing)
            .message(blob(b"the message"))
            .message_type(MessageType::Raw)
            .signature(other)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await,
        "Verify of a wrong signature",
    );
    assert_no_message(&e, "KMSInvalidSignatureException");

    // VerifyMac of a MAC of another message: KMSInvalidMacException.
    let mac_key = NewKey::of(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)
        .create_id(&kms)
        .await;
    let mac = kms
        .generate_mac()
        .key_id(&mac_key)
        .message(blob(b"another message"))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .expect("GenerateMac")
        .mac()
        .expect("Mac")
        .clone();
    let e = must_fail(
        kms.verify_mac()
            .key_id(&mac_key)
            .message(blob(b"the message"))
            .mac(mac)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .send()
            .await,
        "VerifyMac of a wrong MAC",
    );
    assert_no_message(&e, "KMSInvalidMacException");

    // Decrypt under another encryption context: InvalidCiphertextException.
    let (key, _) = new_key(&kms).await;
    let ct = kms
        .encrypt()
        .key_id(&key)
        .plaintext(blob(b"secret"))
        .encryption_context("purpose", "test")
        .send()
        .await
        .expect("Encrypt")
        .ciphertext_blob()
        .expect("CiphertextBlob")
        .clone();
    let e = must_fail(
        kms.decrypt().ciphertext_blob(ct).send().await,
        "Decrypt without the encryption context",
    );
    assert_no_message(&e, "InvalidCiphertextException");

    // RotateKeyOnDemand of an asymmetric key: UnsupportedOperationException.
    let rsa = NewKey::of(KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt)
        .create_id(&kms)
        .await;
    let e = must_fail(
        kms.rotate_key_on_demand().key_id(&rsa).send().await,
        "RotateKeyOnDemand of an RSA key",
    );
    assert_no_message(&e, "UnsupportedOperationException");

    // Control: an error AWS sends with a message still has it.
    let e = must_fail(
        kms.describe_key().key_id("fake-key-id").send().await,
        "DescribeKey of a malformed id",
    );
    let (_, body) = raw(&e);
    assert_eq!(body["message"], "Invalid keyId 'fake-key-id'", "{body}");
}

/// `e` is DryRunOperationException with HTTP 400 (as AWS answered, not the 412 of the
/// service model) and AWS's message.
#[track_caller]
fn assert_dry_run<E: std::fmt::Debug>(e: &SdkError<E, HttpResponse>, operation: &str) {
    let (status, body) = raw(e);
    assert_eq!(
        body["__type"], "DryRunOperationException",
        "{operation}: {body}"
    );
    assert_eq!(status, 400, "{operation}: HTTP status");
    assert_eq!(
        body["message"], "The request would have succeeded, but the DryRun option is set.",
        "{operation}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_is_http_400_for_every_operation_that_takes_it() {
    let server = Server::start();
    let kms = server.client("us-east-1").await;
    let (key, _) = new_key(&kms).await;
    let ct = encrypt(&kms, &key, b"data").await;

    let e = must_fail(
        kms.encrypt()
            .key_id(&key)
            .plaintext(blob(b"x"))
            .dry_run(true)
            .send()
            .await,
        "Encrypt DryRun",
    );
    assert_dry_run(&e, "Encrypt");
    let e = must_fail(
        kms.decrypt()
            .ciphertext_blob(Blob::new(ct.clone()))
            .dry_run(true)
            .send()
            .await,
        "Decrypt DryRun",
    );
    assert_dry_run(&e, "Decrypt");
    let e = must_fail(
        kms.re_encrypt()
            .ciphertext_blob(Blob::new(ct.clone()))
            .destination_key_id(&key)
            .dry_run(true)
            .send()
            .await,
        "ReEncrypt DryRun",
    );
    assert_dry_run(&e, "ReEncrypt");
    let e = must_fail(
        kms.generate_data_key()
            .key_id(&key)
            .key_spec(DataKeySpec::Aes256)
            .dry_run(true)
            .send()
            .await,
        "GenerateDataKey DryRun",
    );
    assert_dry_run(&e, "GenerateDataKey");
    let e = must_fail(
        kms.generate_data_key_without_plaintext()
            .key_id(&key)
            .key_spec(DataKeySpec::Aes256)
            .dry_run(true)
            .send()
            .await,
        "GenerateDataKeyWithoutPlaintext DryRun",
    );
    assert_dry_run(&e, "GenerateDataKeyWithoutPlaintext");
    let e = must_fail(
        kms.generate_data_key_pair()
            .key_id(&key)
            .key_pair_spec(DataKeyPairSpec::Rsa2048)
            .dry_run(true)
            .send()
            .await,
        "GenerateDataKeyPair DryRun",
    );
    assert_dry_run(&e, "GenerateDataKeyPair");
    let e = must_fail(
        kms.generate_data_key_pair_without_plaintext()
            .key_id(&key)
            .key_pair_spec(DataKeyPairSpec::EccNistP256)
            .dry_run(true)
            .send()
            .await,
        "GenerateDataKeyPairWithoutPlaintext DryRun",
    );
    assert_dry_run(&e, "GenerateDataKeyPairWithoutPlaintext");

    let signing = NewKey::of(KeySpec::EccNistP256, KeyUsageType::SignVerify)
        .create_id(&kms)
        .await;
    let e = must_fail(
        kms.sign()
            .key_id(&signing)
            .message(blob(b"m"))
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .dry_run(true)
            .send()
            .await,
        "Sign DryRun",
    );
    assert_dry_run(&e, "Sign");
    let e = must_fail(
        kms.verify()
            .key_id(&signing)
            .message(blob(b"m"))
            .signature(blob(b"not checked in a dry run"))
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .dry_run(true)
            .send()
            .await,
        "Verify DryRun",
    );
    assert_dry_run(&e, "Verify");

    let mac_key = NewKey::of(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)
        .create_id(&kms)
        .await;
    let e = must_fail(
        kms.generate_mac()
            .key_id(&mac_key)
            .message(blob(b"m"))
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .dry_run(true)
            .send()
            .await,
        "GenerateMac DryRun",
    );
    assert_dry_run(&e, "GenerateMac");
    let e = must_fail(
        kms.verify_mac()
            .key_id(&mac_key)
            .message(blob(b"m"))
            .mac(blob(&[0u8; 32]))
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .dry_run(true)
            .send()
            .await,
        "VerifyMac DryRun",
    );
    assert_dry_run(&e, "VerifyMac");

    let agreement = NewKey::of(KeySpec::EccNistP256, KeyUsageType::KeyAgreement)
        .create_id(&kms)
        .await;
    let peer = public_key(&kms, &agreement).await;
    let e = must_fail(
        kms.derive_shared_secret()
            .key_id(&agreement)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(Blob::new(peer))
            .dry_run(true)
            .send()
            .await,
        "DeriveSharedSecret DryRun",
    );
    assert_dry_run(&e, "DeriveSharedSecret");
}

#[tokio::test(flavor = "multi_thread")]
async fn re_encrypt_from_a_key_that_cannot_decrypt_is_incorrect_key() {
    let server = Server::start();
    let kms = server.client("us-east-1").await;
    let (key, _) = new_key(&kms).await;
    let ct = encrypt(&kms, &key, b"data").await;
    let hmac = NewKey::of(KeySpec::Hmac224, KeyUsageType::GenerateVerifyMac)
        .create_id(&kms)
        .await;
    // As recorded: the HMAC key as the source (and the destination).
    let e = must_fail(
        kms.re_encrypt()
            .ciphertext_blob(Blob::new(ct.clone()))
            .source_key_id(&hmac)
            .destination_key_id(&hmac)
            .send()
            .await,
        "ReEncrypt from an HMAC key",
    );
    assert_err(
        &e,
        "IncorrectKeyException",
        &["The key ID in the request does not identify a CMK that can perform this operation."],
    );
    // A signing key as the source: the same.
    let signing = NewKey::of(KeySpec::EccNistP256, KeyUsageType::SignVerify)
        .create_id(&kms)
        .await;
    let e = must_fail(
        kms.re_encrypt()
            .ciphertext_blob(Blob::new(ct.clone()))
            .source_key_id(&signing)
            .destination_key_id(&key)
            .send()
            .await,
        "ReEncrypt from a signing key",
    );
    assert_err(&e, "IncorrectKeyException", &["does not identify a CMK"]);
    // The destination is checked as Encrypt checks its key: InvalidKeyUsageException.
    let e = must_fail(
        kms.re_encrypt()
            .ciphertext_blob(Blob::new(ct))
            .destination_key_id(&hmac)
            .send()
            .await,
        "ReEncrypt to an HMAC key",
    );
    assert_err(
        &e,
        "InvalidKeyUsageException",
        &["key usage is GENERATE_VERIFY_MAC which is not valid for ReEncrypt."],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_messages_list_enum_values_in_aws_order() {
    let server = Server::start();
    let kms = server.client("us-east-1").await;
    let e = must_fail(
        kms.create_key()
            .key_spec(KeySpec::from("HMAC_random"))
            .send()
            .await,
        "CreateKey with an unknown KeySpec",
    );
    assert_err(
        &e,
        "ValidationException",
        &[
            "1 validation error detected: Value 'HMAC_random' at 'keySpec' failed to satisfy \
           constraint: Member must satisfy enum value set: [RSA_2048, ECC_NIST_P384, \
           ECC_NIST_P256, ECC_NIST_P521, HMAC_384, RSA_3072, ECC_SECG_P256K1, RSA_4096, \
           SYMMETRIC_DEFAULT, HMAC_256, HMAC_224, HMAC_512, ",
        ],
    );
    let e = must_fail(
        kms.create_key()
            .key_spec(KeySpec::Hmac256)
            .key_usage(KeyUsageType::from("RANDOM"))
            .send()
            .await,
        "CreateKey with an unknown KeyUsage",
    );
    assert_err(
        &e,
        "ValidationException",
        &[
            "Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, \
           GENERATE_VERIFY_MAC, KEY_AGREEMENT]",
        ],
    );
    let mac_key = NewKey::of(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)
        .create_id(&kms)
        .await;
    let e = must_fail(
        kms.generate_mac()
            .key_id(&mac_key)
            .message(blob(b"m"))
            .mac_algorithm(MacAlgorithmSpec::from("INVALID"))
            .send()
            .await,
        "GenerateMac with an unknown MacAlgorithm",
    );
    assert_err(
        &e,
        "ValidationException",
        &[
            "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy \
           constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, \
           HMAC_SHA_224, HMAC_SHA_512]",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicate_key_without_tags_answers_empty_replica_tags() {
    let server = Server::start();
    let kms = server.client("us-east-1").await;
    let mrk = create_mrk(&kms).await;
    let key_id = mrk.key_id().to_string();
    let out = replicate(&kms, &key_id, "us-west-2").await;
    // The SDK reads a missing member as None and `[]` as an empty list.
    let tags = out.replica_tags.clone();
    assert_eq!(tags.as_deref(), Some(&[][..]), "ReplicaTags: {tags:?}");
    let policy: Value =
        serde_json::from_str(out.replica_policy().expect("ReplicaPolicy")).expect("policy JSON");
    assert_eq!(policy["Id"], "key-default-1", "{policy}");
}
