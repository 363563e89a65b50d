//! HMAC KMS keys: CreateKey (HMAC_224/256/384/512), GenerateMac/VerifyMac inside the token,
//! AWS's errors (recorded responses), and multi-Region HMAC keys.
//!
//! Generated HMAC keys never leave the token, so no test can know their bytes: the
//! independent checks are (1) HMAC is deterministic, so two Regions holding the same
//! replicated key must return byte-identical MACs, while two different keys must not;
//! (2) the MAC has the algorithm's length; (3) VerifyMac accepts exactly the MAC and
//! refuses any changed message, MAC or algorithm. Known-answer tests with a known key
//! belong to imported HMAC keys (ImportKeyMaterial).

mod common;

use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, MacAlgorithmSpec};
use aws_sdk_kms::Client;
use common::*;

const R: &str = "us-east-1";

async fn mac(kms: &Client, key_id: &str, algorithm: &MacAlgorithmSpec, message: &[u8]) -> Vec<u8> {
    let out = kms
        .generate_mac()
        .key_id(key_id)
        .mac_algorithm(algorithm.clone())
        .message(blob(message))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "GenerateMac {algorithm:?}: {} {}",
                err_code(&e),
                err_message(&e)
            )
        });
    assert_eq!(out.mac_algorithm(), Some(algorithm));
    out.mac().unwrap().as_ref().to_vec()
}

const SPECS: [(KeySpec, MacAlgorithmSpec, usize); 4] = [
    (KeySpec::Hmac224, MacAlgorithmSpec::HmacSha224, 28),
    (KeySpec::Hmac256, MacAlgorithmSpec::HmacSha256, 32),
    (KeySpec::Hmac384, MacAlgorithmSpec::HmacSha384, 48),
    (KeySpec::Hmac512, MacAlgorithmSpec::HmacSha512, 64),
];

#[tokio::test(flavor = "multi_thread")]
async fn generate_and_verify_mac_for_every_hmac_spec() {
    let server = Server::start();
    let kms = server.client(R).await;
    for (spec, algorithm, len) in SPECS {
        let key_id = NewKey::of(spec.clone(), KeyUsageType::GenerateVerifyMac)
            .multi_region(false)
            .create_id(&kms)
            .await;
        let md = kms.describe_key().key_id(&key_id).send().await.unwrap();
        let md = md.key_metadata().unwrap();
        assert_eq!(md.mac_algorithms(), std::slice::from_ref(&algorithm));
        assert!(md.encryption_algorithms().is_empty());
        assert!(md.signing_algorithms().is_empty());
        // As recorded from AWS: only symmetric encryption keys show CurrentKeyMaterialId.
        assert_eq!(md.current_key_material_id(), None);

        let message = b"some important message";
        let m = mac(&kms, &key_id, &algorithm, message).await;
        assert_eq!(m.len(), len, "{spec:?}: full-length MAC");
        assert_eq!(
            mac(&kms, &key_id, &algorithm, message).await,
            m,
            "deterministic"
        );
        assert_ne!(mac(&kms, &key_id, &algorithm, b"another message").await, m);
        let out = kms
            .verify_mac()
            .key_id(&key_id)
            .mac_algorithm(algorithm.clone())
            .message(blob(message))
            .mac(blob(&m))
            .send()
            .await
            .expect("VerifyMac");
        assert!(out.mac_valid());
        assert_eq!(out.key_id(), Some(Server::key_arn(R, &key_id).as_str()));

        // test_invalid_verify_mac[...-some different important message]
        let e = must_fail(
            kms.verify_mac()
                .key_id(&key_id)
                .mac_algorithm(algorithm.clone())
                .message(blob(b"some different important message"))
                .mac(blob(&m))
                .send()
                .await,
            "VerifyMac of another message",
        );
        assert_err(&e, "KMSInvalidMacException", &[]);
        assert_eq!(err_message(&e), "");
        let mut bad = m.clone();
        bad[0] ^= 1;
        for wrong in [bad, m[..len - 1].to_vec()] {
            let e = must_fail(
                kms.verify_mac()
                    .key_id(&key_id)
                    .mac_algorithm(algorithm.clone())
                    .message(blob(message))
                    .mac(blob(&wrong))
                    .send()
                    .await,
                "VerifyMac of a changed MAC",
            );
            assert_err(&e, "KMSInvalidMacException", &[]);
        }
        // A different key of the same spec gives a different MAC.
        let other = NewKey::of(spec.clone(), KeyUsageType::GenerateVerifyMac)
            .multi_region(false)
            .create_id(&kms)
            .await;
        assert_ne!(mac(&kms, &other, &algorithm, message).await, m);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hmac_errors_match_the_recorded_aws_responses() {
    let server = Server::start();
    let kms = server.client(R).await;
    // test_hmac_create_key_invalid_operations: KeyUsage is required.
    let e = must_fail(
        kms.create_key().key_spec(KeySpec::Hmac256).send().await,
        "HMAC key without KeyUsage",
    );
    assert_err(&e, "ValidationException", &[]);
    assert_eq!(
        err_message(&e),
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
    );
    let e = must_fail(
        kms.create_key()
            .key_spec(KeySpec::Hmac256)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .send()
            .await,
        "HMAC key for ENCRYPT_DECRYPT",
    );
    assert_err(&e, "ValidationException", &["ENCRYPT_DECRYPT", "HMAC_256"]);

    let h224 = NewKey::of(KeySpec::Hmac224, KeyUsageType::GenerateVerifyMac)
        .multi_region(false)
        .create_id(&kms)
        .await;
    let h256 = NewKey::of(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)
        .multi_region(false)
        .create_id(&kms)
        .await;
    // test_invalid_generate_mac[HMAC_224-HMAC_SHA_256]
    let e = must_fail(
        kms.generate_mac()
            .key_id(&h224)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(blob(b"m"))
            .send()
            .await,
        "HMAC_SHA_256 with an HMAC_224 key",
    );
    assert_err(&e, "InvalidKeyUsageException", &[]);
    assert_eq!(
        err_message(&e),
        "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224."
    );
    // test_invalid_verify_mac[HMAC_256-HMAC_SHA_512-some important message]
    let m = mac(
        &kms,
        &h256,
        &MacAlgorithmSpec::HmacSha256,
        b"some important message",
    )
    .await;
    let e = must_fail(
        kms.verify_mac()
            .key_id(&h256)
            .mac_algorithm(MacAlgorithmSpec::HmacSha512)
            .message(blob(b"some important message"))
            .mac(blob(&m))
            .send()
            .await,
        "VerifyMac with another algorithm",
    );
    assert_err(&e, "InvalidKeyUsageException", &[]);
    assert_eq!(
        err_message(&e),
        "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256."
    );
    // test_error_messaging_for_invalid_keys: GenerateMac with a symmetric key.
    let (symmetric, _) = new_key(&kms).await;
    let e = must_fail(
        kms.generate_mac()
            .key_id(&symmetric)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(blob(b"m"))
            .send()
            .await,
        "GenerateMac with a symmetric key",
    );
    assert_err(&e, "InvalidKeyUsageException", &[]);
    assert_eq!(
        err_message(&e),
        format!(
            "{} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.",
            Server::key_arn(R, &symmetric)
        )
    );
    // HMAC keys do not encrypt, and have no public key.
    let e = must_fail(
        kms.encrypt()
            .key_id(&h256)
            .plaintext(blob(b"p"))
            .send()
            .await,
        "Encrypt with an HMAC key",
    );
    assert_err(
        &e,
        "InvalidKeyUsageException",
        &["GENERATE_VERIFY_MAC", "Encrypt"],
    );
    let e = must_fail(
        kms.get_public_key().key_id(&h256).send().await,
        "GetPublicKey of an HMAC key",
    );
    assert_err(&e, "UnsupportedOperationException", &["HMAC_256"]);
    // Disabled keys: DisabledException.
    kms.disable_key().key_id(&h256).send().await.unwrap();
    let e = must_fail(
        kms.generate_mac()
            .key_id(&h256)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(blob(b"m"))
            .send()
            .await,
        "GenerateMac with a disabled key",
    );
    assert_err(&e, "DisabledException", &["is disabled"]);
    // DryRun.
    let e = must_fail(
        kms.generate_mac()
            .key_id(&h224)
            .mac_algorithm(MacAlgorithmSpec::HmacSha224)
            .message(blob(b"m"))
            .dry_run(true)
            .send()
            .await,
        "GenerateMac DryRun",
    );
    assert_err(&e, "DryRunOperationException", &[]);
}

/// The HMAC secret travels wrapped from the us-east-1 token into the eu-west-1 token: the
/// same message gets the byte-identical MAC in both, and a MAC from one verifies in the
/// other.
#[tokio::test(flavor = "multi_thread")]
async fn multi_region_hmac_keys_mac_identically_in_every_region() {
    const EU: &str = "eu-west-1";
    const US_WEST: &str = "us-west-2";
    let server = Server::start();
    let us = server.client(R).await;
    let eu = server.client(EU).await;
    let west = server.client(US_WEST).await;
    for (spec, algorithm, _) in SPECS {
        let key_id = NewKey::of(spec.clone(), KeyUsageType::GenerateVerifyMac)
            .multi_region(true)
            .create_id(&us)
            .await;
        for (client, region) in [(&eu, EU), (&west, US_WEST)] {
            replicate(&us, &key_id, region).await;
            wait_for_state(client, &key_id, KeyState::Enabled).await;
        }
        let message = b"MAC me in every Region";
        let in_us = mac(&us, &key_id, &algorithm, message).await;
        let in_eu = mac(&eu, &key_id, &algorithm, message).await;
        let in_west = mac(&west, &key_id, &algorithm, message).await;
        assert_eq!(
            in_us, in_eu,
            "{spec:?}: same MAC in us-east-1 and eu-west-1"
        );
        assert_eq!(
            in_us, in_west,
            "{spec:?}: same MAC in us-east-1 and us-west-2"
        );
        let out = eu
            .verify_mac()
            .key_id(&key_id)
            .mac_algorithm(algorithm.clone())
            .message(blob(message))
            .mac(blob(&in_us))
            .send()
            .await
            .expect("VerifyMac in eu-west-1 of a MAC from us-east-1");
        assert!(out.mac_valid());
        assert_eq!(out.key_id(), Some(Server::key_arn(EU, &key_id).as_str()));
        let e = must_fail(
            eu.verify_mac()
                .key_id(&key_id)
                .mac_algorithm(algorithm.clone())
                .message(blob(b"changed"))
                .mac(blob(&in_us))
                .send()
                .await,
            "VerifyMac of a changed message in eu-west-1",
        );
        assert_err(&e, "KMSInvalidMacException", &[]);
    }
}
