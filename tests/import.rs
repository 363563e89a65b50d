//! Imported key material (bring your own key), end to end through the aws-sdk-kms client:
//! CreateKey Origin=EXTERNAL, GetParametersForImport, ImportKeyMaterial,
//! DeleteImportedKeyMaterial, expiry at ValidTo (server clock moved with the admin
//! endpoint) and multi-Region keys with imported material.
//!
//! The material is wrapped as an outside user would wrap it: with the `rsa` crate
//! (RSA-OAEP with SHA-1 or SHA-256) and the `aes-kw` crate (RFC 5649 key wrap with
//! padding), never with the server's code.

mod common;

use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, KeyState, OriginType, WrappingKeySpec,
};
use aws_sdk_kms::Client;
use common::wrapping::wrap;
use common::*;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;

const ALGORITHMS: [&str; 4] = [
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
];
const SPECS: [(&str, usize); 3] = [("RSA_2048", 2048), ("RSA_3072", 3072), ("RSA_4096", 4096)];

struct Params {
    token: Vec<u8>,
    public_key: Vec<u8>,
    valid_to: f64,
    key_arn: String,
}

async fn parameters(client: &Client, key_id: &str, algorithm: &str, spec: &str) -> Params {
    let out = client
        .get_parameters_for_import()
        .key_id(key_id)
        .wrapping_algorithm(AlgorithmSpec::from(algorithm))
        .wrapping_key_spec(WrappingKeySpec::from(spec))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetParametersForImport {algorithm} {spec}: {e:?}"));
    Params {
        token: out.import_token().expect("ImportToken").as_ref().to_vec(),
        public_key: out.public_key().expect("PublicKey").as_ref().to_vec(),
        valid_to: out
            .parameters_valid_to()
            .expect("ParametersValidTo")
            .as_secs_f64(),
        key_arn: out.key_id().expect("KeyId").to_string(),
    }
}

/// Imports without expiry; returns the KeyMaterialId.
async fn import(client: &Client, key_id: &str, p: &Params, wrapped: Vec<u8>) -> String {
    let out = client
        .import_key_material()
        .key_id(key_id)
        .import_token(Blob::new(p.token.clone()))
        .encrypted_key_material(Blob::new(wrapped))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ImportKeyMaterial: {e:?}"));
    assert_eq!(out.key_id(), Some(p.key_arn.as_str()));
    out.key_material_id().expect("KeyMaterialId").to_string()
}

/// Fresh parameters, wrap, import (no expiry): the KeyMaterialId.
async fn import_material(
    client: &Client,
    key_id: &str,
    algorithm: &str,
    material: &[u8],
) -> String {
    let p = parameters(client, key_id, algorithm, "RSA_2048").await;
    let wrapped = wrap(&p.public_key, algorithm, material);
    import(client, key_id, &p, wrapped).await
}

#[tokio::test]
async fn every_wrapping_algorithm_and_key_size_imports_working_material() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    for algorithm in ALGORITHMS {
        for (spec, bits) in SPECS {
            let key_id = create_external(&client, false).await;
            let started = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            let p = parameters(&client, &key_id, algorithm, spec).await;
            assert_eq!(p.key_arn, Server::key_arn("us-east-1", &key_id));
            let public = RsaPublicKey::from_public_key_der(&p.public_key).expect("SPKI");
            assert_eq!(public.n().bits(), bits, "{algorithm} {spec}: modulus size");
            assert!(
                (p.valid_to - (started + 86_400.0)).abs() < 120.0,
                "ParametersValidTo is 24 h ahead: {} vs {}",
                p.valid_to,
                started
            );
            let material = random_bytes(32);
            let wrapped = wrap(&p.public_key, algorithm, &material);
            let material_id = import(&client, &key_id, &p, wrapped).await;
            assert_eq!(material_id.len(), 64, "{algorithm} {spec}: KeyMaterialId");
            assert!(material_id.bytes().all(|b| b.is_ascii_hexdigit()));
            let md = describe(&client, &key_id).await;
            assert_eq!(
                md.key_state(),
                Some(&KeyState::Enabled),
                "{algorithm} {spec}"
            );
            assert_eq!(md.current_key_material_id(), Some(material_id.as_str()));
            let ct = encrypt(&client, &key_id, format!("{algorithm} {spec}").as_bytes()).await;
            assert_eq!(
                decrypt(&client, &ct).await.0,
                format!("{algorithm} {spec}").as_bytes()
            );
        }
    }
}

#[tokio::test]
async fn external_key_is_pending_import_until_imported_then_shows_expiration_model() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let created = client
        .create_key()
        .origin(OriginType::External)
        .send()
        .await
        .expect("CreateKey");
    let md = created.key_metadata().expect("metadata");
    assert_eq!(md.key_state(), Some(&KeyState::PendingImport));
    assert!(!md.enabled());
    assert_eq!(md.origin(), Some(&OriginType::External));
    assert_eq!(md.current_key_material_id(), None);
    assert_eq!(md.expiration_model(), None);
    let key_id = md.key_id().to_string();
    let arn = Server::key_arn("us-east-1", &key_id);

    let e = must_fail(
        client
            .encrypt()
            .key_id(&key_id)
            .plaintext(Blob::new(b"x".to_vec()))
            .send()
            .await,
        "Encrypt before import",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&arn, "is pending import."],
    );

    let id = import_material(&client, &key_id, "RSAES_OAEP_SHA_1", &random_bytes(32)).await;
    let md = describe(&client, &key_id).await;
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
    assert!(md.enabled());
    assert_eq!(
        md.expiration_model(),
        Some(&ExpirationModelType::KeyMaterialDoesNotExpire)
    );
    assert_eq!(md.valid_to(), None);
    assert_eq!(md.current_key_material_id(), Some(id.as_str()));
}

#[tokio::test]
async fn get_parameters_for_import_refuses_what_aws_refuses() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let (aws_kms_key, _) = new_key(&client).await;
    let e = must_fail(
        client
            .get_parameters_for_import()
            .key_id(&aws_kms_key)
            .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
            .wrapping_key_spec(WrappingKeySpec::Rsa2048)
            .send()
            .await,
        "GetParametersForImport on an AWS_KMS key",
    );
    assert_err(
        &e,
        "UnsupportedOperationException",
        &[&format!(
            "{} origin is AWS_KMS which is not valid for this operation.",
            Server::key_arn("us-east-1", &aws_kms_key)
        )],
    );

    let key_id = create_external(&client, false).await;
    let e = must_fail(
        client
            .get_parameters_for_import()
            .key_id(&key_id)
            .wrapping_algorithm(AlgorithmSpec::RsaesPkcs1V15)
            .wrapping_key_spec(WrappingKeySpec::Rsa2048)
            .send()
            .await,
        "RSAES_PKCS1_V1_5",
    );
    assert_err(
        &e,
        "ValidationException",
        &["RSAES_PKCS1_V1_5", "no longer supported"],
    );
    let e = must_fail(
        client
            .get_parameters_for_import()
            .key_id(&key_id)
            .wrapping_algorithm(AlgorithmSpec::Sm2Pke)
            .wrapping_key_spec(WrappingKeySpec::Sm2)
            .send()
            .await,
        "SM2 outside China",
    );
    assert_err(&e, "ValidationException", &["SM2", "China Regions"]);
    let e = must_fail(
        client
            .get_parameters_for_import()
            .key_id(&key_id)
            .wrapping_algorithm(AlgorithmSpec::Sm2Pke)
            .wrapping_key_spec(WrappingKeySpec::Rsa2048)
            .send()
            .await,
        "SM2PKE outside China",
    );
    assert_err(&e, "ValidationException", &["SM2PKE", "China Regions"]);
}

#[tokio::test]
async fn expiration_model_and_valid_to_follow_aws_rules() {
    let server = Server::start_with(&["--admin-api"]);
    let client = server.client("us-east-1").await;
    let key_id = create_external(&client, false).await;
    let p = parameters(&client, &key_id, "RSAES_OAEP_SHA_256", "RSA_2048").await;
    let wrapped = wrap(&p.public_key, "RSAES_OAEP_SHA_256", &random_bytes(32));
    let now = server.clock_now().await;
    let attempt = |model: Option<ExpirationModelType>, valid_to: Option<f64>| {
        let mut req = client
            .import_key_material()
            .key_id(&key_id)
            .import_token(Blob::new(p.token.clone()))
            .encrypted_key_material(Blob::new(wrapped.clone()));
        if let Some(m) = model {
            req = req.expiration_model(m);
        }
        if let Some(v) = valid_to {
            req = req.valid_to(DateTime::from_secs_f64(v));
        }
        req.send()
    };
    let e = must_fail(attempt(None, None).await, "no ValidTo, default model");
    assert_err(
        &e,
        "ValidationException",
        &["A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"],
    );
    let e = must_fail(
        attempt(Some(ExpirationModelType::KeyMaterialExpires), None).await,
        "EXPIRES without ValidTo",
    );
    assert_err(&e, "ValidationException", &["validTo date must be set"]);
    let e = must_fail(
        attempt(
            Some(ExpirationModelType::KeyMaterialDoesNotExpire),
            Some(now + 3600.0),
        )
        .await,
        "DOES_NOT_EXPIRE with ValidTo",
    );
    assert_err(
        &e,
        "ValidationException",
        &["ValidTo", "KEY_MATERIAL_DOES_NOT_EXPIRE"],
    );
    let e = must_fail(
        attempt(None, Some(now + 366.0 * 86_400.0)).await,
        "ValidTo beyond 365 days",
    );
    assert_err(&e, "ValidationException", &["ValidTo", "365 days"]);
    let e = must_fail(attempt(None, Some(now - 60.0)).await, "ValidTo in the past");
    assert_err(&e, "ValidationException", &["ValidTo", "past"]);
    // None of those consumed the token: the same token and material import now.
    let valid_to = (now + 3600.0).floor();
    attempt(None, Some(valid_to))
        .await
        .expect("import with ValidTo");
    let md = describe(&client, &key_id).await;
    assert_eq!(
        md.expiration_model(),
        Some(&ExpirationModelType::KeyMaterialExpires)
    );
    assert_eq!(md.valid_to().map(|d| d.as_secs_f64()), Some(valid_to));
    assert_eq!(md.key_state(), Some(&KeyState::Enabled));
}

#[tokio::test]
async fn import_tokens_are_bound_to_their_key_tamper_evident_and_expire_after_24_hours() {
    let server = Server::start_with(&["--admin-api"]);
    let client = server.client("us-east-1").await;
    let key_a = create_external(&client, false).await;
    let key_b = create_external(&client, false).await;
    let pa = parameters(&client, &key_a, "RSAES_OAEP_SHA_1", "RSA_2048").await;
    let material = random_bytes(32);
    let wrapped = wrap(&pa.public_key, "RSAES_OAEP_SHA_1", &material);
    let try_import = |key: String, token: Vec<u8>, wrapped: Vec<u8>| {
        client
            .import_key_material()
            .key_id(key)
            .import_token(Blob::new(token))
            .encrypted_key_material(Blob::new(wrapped))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
    };
    // A's token presented for B.
    let e = must_fail(
        try_import(key_b.clone(), pa.token.clone(), wrapped.clone()).await,
        "token of another key",
    );
    assert_err(
        &e,
        "InvalidImportTokenException",
        &["issued for KMS key", &key_a, &key_b],
    );
    // Every single flipped byte is refused.
    for i in [0, 5, pa.token.len() / 2, pa.token.len() - 1] {
        let mut tampered = pa.token.clone();
        tampered[i] ^= 0x01;
        let e = must_fail(
            try_import(key_a.clone(), tampered, wrapped.clone()).await,
            "tampered token",
        );
        assert_err(&e, "InvalidImportTokenException", &["altered", &key_a]);
    }
    // 24 hours later the token has expired.
    server.advance_clock(86_400.0 + 1.0).await;
    let e = must_fail(
        try_import(key_a.clone(), pa.token.clone(), wrapped.clone()).await,
        "expired token",
    );
    assert_err(
        &e,
        "ExpiredImportTokenException",
        &["expired", "GetParametersForImport"],
    );
    assert_eq!(
        describe(&client, &key_a).await.key_state(),
        Some(&KeyState::PendingImport)
    );
    // New parameters work.
    import_material(&client, &key_a, "RSAES_OAEP_SHA_1", &material).await;
}

#[tokio::test]
async fn material_that_does_not_unwrap_or_has_the_wrong_length_is_invalid_ciphertext() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let key_id = create_external(&client, false).await;
    for algorithm in ALGORITHMS {
        let p = parameters(&client, &key_id, algorithm, "RSA_2048").await;
        let attempt = |wrapped: Vec<u8>| {
            client
                .import_key_material()
                .key_id(&key_id)
                .import_token(Blob::new(p.token.clone()))
                .encrypted_key_material(Blob::new(wrapped))
                .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
                .send()
        };
        // Random bytes of the right size.
        let e = must_fail(attempt(random_bytes(256 + 40)).await, "garbage");
        assert_err(
            &e,
            "InvalidCiphertextException",
            &["cannot be unwrapped", algorithm],
        );
        // A 128-bit key is not SYMMETRIC_DEFAULT material.
        let e = must_fail(
            attempt(wrap(&p.public_key, algorithm, &random_bytes(16))).await,
            "16-byte material",
        );
        assert_err(
            &e,
            "InvalidCiphertextException",
            &["16 bytes", "SYMMETRIC_DEFAULT", "32 bytes"],
        );
        // Wrapped with the other OAEP hash than the token's algorithm.
        let other = match algorithm {
            "RSAES_OAEP_SHA_1" => "RSAES_OAEP_SHA_256",
            "RSAES_OAEP_SHA_256" => "RSAES_OAEP_SHA_1",
            "RSA_AES_KEY_WRAP_SHA_1" => "RSA_AES_KEY_WRAP_SHA_256",
            _ => "RSA_AES_KEY_WRAP_SHA_1",
        };
        let e = must_fail(
            attempt(wrap(&p.public_key, other, &random_bytes(32))).await,
            "wrong algorithm",
        );
        assert_err(&e, "InvalidCiphertextException", &["cannot be unwrapped"]);
    }
    assert_eq!(
        describe(&client, &key_id).await.key_state(),
        Some(&KeyState::PendingImport)
    );
}

#[tokio::test]
async fn delete_then_reimport_the_same_material_with_another_algorithm_restores_old_ciphertexts() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let key_id = create_external(&client, false).await;
    let arn = Server::key_arn("us-east-1", &key_id);
    let material = random_bytes(32);
    let id = import_material(&client, &key_id, "RSAES_OAEP_SHA_1", &material).await;
    let ct = encrypt(&client, &key_id, b"before deletion").await;

    let out = client
        .delete_imported_key_material()
        .key_id(&key_id)
        .send()
        .await
        .expect("DeleteImportedKeyMaterial");
    assert_eq!(out.key_id(), Some(arn.as_str()));
    assert_eq!(out.key_material_id(), Some(id.as_str()));
    let md = describe(&client, &key_id).await;
    assert_eq!(md.key_state(), Some(&KeyState::PendingImport));
    assert!(!md.enabled());
    assert_eq!(md.expiration_model(), None, "AWS drops ExpirationModel");
    assert_eq!(
        md.current_key_material_id(),
        Some(id.as_str()),
        "AWS keeps it"
    );
    let e = must_fail(
        client.decrypt().ciphertext_blob(blob(&ct)).send().await,
        "Decrypt after deletion",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&arn, "is pending import."],
    );

    // Other material is refused; the same material, wrapped another way, is accepted.
    let p = parameters(&client, &key_id, "RSA_AES_KEY_WRAP_SHA_256", "RSA_4096").await;
    let e = must_fail(
        client
            .import_key_material()
            .key_id(&key_id)
            .import_token(Blob::new(p.token.clone()))
            .encrypted_key_material(Blob::new(wrap(
                &p.public_key,
                "RSA_AES_KEY_WRAP_SHA_256",
                &random_bytes(32),
            )))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
            .await,
        "different material",
    );
    assert_err(
        &e,
        "IncorrectKeyMaterialException",
        &["not the key material previously imported", &arn],
    );
    let again = import(
        &client,
        &key_id,
        &p,
        wrap(&p.public_key, "RSA_AES_KEY_WRAP_SHA_256", &material),
    )
    .await;
    assert_eq!(again, id, "the same material keeps its KeyMaterialId");
    assert_eq!(decrypt(&client, &ct).await.0, b"before deletion");
}

#[tokio::test]
async fn reimporting_different_material_into_an_enabled_key_is_incorrect_key_material() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let key_id = create_external(&client, false).await;
    let material = random_bytes(32);
    let id = import_material(&client, &key_id, "RSAES_OAEP_SHA_256", &material).await;
    let p = parameters(&client, &key_id, "RSAES_OAEP_SHA_256", "RSA_3072").await;
    let e = must_fail(
        client
            .import_key_material()
            .key_id(&key_id)
            .import_token(Blob::new(p.token.clone()))
            .encrypted_key_material(Blob::new(wrap(
                &p.public_key,
                "RSAES_OAEP_SHA_256",
                &random_bytes(32),
            )))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
            .await,
        "different material",
    );
    assert_err(
        &e,
        "IncorrectKeyMaterialException",
        &["not the key material"],
    );
    // The same material again only changes the expiration.
    let again = import(
        &client,
        &key_id,
        &p,
        wrap(&p.public_key, "RSAES_OAEP_SHA_256", &material),
    )
    .await;
    assert_eq!(again, id);
    assert_eq!(
        describe(&client, &key_id).await.key_state(),
        Some(&KeyState::Enabled)
    );
}

#[tokio::test]
async fn imported_material_expires_at_valid_to_and_comes_back_when_reimported() {
    let server = Server::start_with(&["--admin-api"]);
    let client = server.client("us-east-1").await;
    let key_id = create_external(&client, false).await;
    let arn = Server::key_arn("us-east-1", &key_id);
    let material = random_bytes(32);
    let p = parameters(&client, &key_id, "RSA_AES_KEY_WRAP_SHA_1", "RSA_2048").await;
    let valid_to = (server.clock_now().await + 3600.0).floor();
    let out = client
        .import_key_material()
        .key_id(&key_id)
        .import_token(Blob::new(p.token.clone()))
        .encrypted_key_material(Blob::new(wrap(
            &p.public_key,
            "RSA_AES_KEY_WRAP_SHA_1",
            &material,
        )))
        .valid_to(DateTime::from_secs_f64(valid_to))
        .send()
        .await
        .expect("import with ValidTo");
    let id = out.key_material_id().unwrap().to_string();
    let ct = encrypt(&client, &key_id, b"expiring").await;

    // One minute before ValidTo nothing happens.
    server.advance_clock(3540.0).await;
    assert_eq!(
        describe(&client, &key_id).await.key_state(),
        Some(&KeyState::Enabled)
    );
    // At ValidTo the material is destroyed.
    server.advance_clock(61.0).await;
    let md = describe(&client, &key_id).await;
    assert_eq!(md.key_state(), Some(&KeyState::PendingImport));
    assert_eq!(md.valid_to(), None);
    let e = must_fail(
        client
            .encrypt()
            .key_id(&key_id)
            .plaintext(Blob::new(b"x".to_vec()))
            .send()
            .await,
        "Encrypt after expiry",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&arn, "is pending import."],
    );
    // The service event is in the Region's audit log.
    let audit = std::fs::read_to_string(server.data_dir().join("audit").join("us-east-1.jsonl"))
        .unwrap_or_default();
    assert!(
        audit.contains("DeleteExpiredKeyMaterial"),
        "audit log: {audit}"
    );

    let again = import_material(&client, &key_id, "RSAES_OAEP_SHA_1", &material).await;
    assert_eq!(again, id);
    assert_eq!(decrypt(&client, &ct).await.0, b"expiring");
}

#[tokio::test]
async fn multi_region_external_key_replica_imports_the_same_material_and_expires_independently() {
    let server = Server::start_with(&["--admin-api"]);
    let east = server.client("us-east-1").await;
    let west = server.client("us-west-2").await;
    let key_id = create_external(&east, true).await;
    assert!(key_id.starts_with("mrk-"));
    let west_arn = Server::key_arn("us-west-2", &key_id);

    // A primary pending import cannot be replicated (key-state table [5]).
    let e = must_fail(
        east.replicate_key()
            .key_id(&key_id)
            .replica_region("us-west-2")
            .send()
            .await,
        "ReplicateKey while PendingImport",
    );
    assert_err(&e, "KMSInvalidStateException", &["is pending import."]);

    let material = random_bytes(32);
    let primary_id = import_material(&east, &key_id, "RSAES_OAEP_SHA_256", &material).await;
    let replica = east
        .replicate_key()
        .key_id(&key_id)
        .replica_region("us-west-2")
        .send()
        .await
        .expect("ReplicateKey");
    let rmd = replica.replica_key_metadata().unwrap();
    assert_eq!(rmd.origin(), Some(&OriginType::External));
    wait_for_state(&west, &key_id, KeyState::PendingImport).await;
    assert_eq!(
        describe(&west, &key_id).await.current_key_material_id(),
        None
    );

    // The replica needs parameters of its own Region.
    let east_params = parameters(&east, &key_id, "RSAES_OAEP_SHA_1", "RSA_2048").await;
    let e = must_fail(
        west.import_key_material()
            .key_id(&key_id)
            .import_token(Blob::new(east_params.token.clone()))
            .encrypted_key_material(Blob::new(wrap(
                &east_params.public_key,
                "RSAES_OAEP_SHA_1",
                &material,
            )))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
            .await,
        "token from the primary's Region",
    );
    assert_err(&e, "InvalidImportTokenException", &[&west_arn, "us-west-2"]);

    // Only the primary's material.
    let wp = parameters(&west, &key_id, "RSA_AES_KEY_WRAP_SHA_256", "RSA_3072").await;
    let e = must_fail(
        west.import_key_material()
            .key_id(&key_id)
            .import_token(Blob::new(wp.token.clone()))
            .encrypted_key_material(Blob::new(wrap(
                &wp.public_key,
                "RSA_AES_KEY_WRAP_SHA_256",
                &random_bytes(32),
            )))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
            .await,
        "other material into the replica",
    );
    assert_err(
        &e,
        "IncorrectKeyMaterialException",
        &["primary key", &west_arn],
    );

    // The same material, with an expiry in the replica only.
    let valid_to = (server.clock_now().await + 7200.0).floor();
    let out = west
        .import_key_material()
        .key_id(&key_id)
        .import_token(Blob::new(wp.token.clone()))
        .encrypted_key_material(Blob::new(wrap(
            &wp.public_key,
            "RSA_AES_KEY_WRAP_SHA_256",
            &material,
        )))
        .import_type(aws_sdk_kms::types::ImportType::ExistingKeyMaterial)
        .valid_to(DateTime::from_secs_f64(valid_to))
        .send()
        .await
        .expect("import into the replica");
    assert_eq!(out.key_material_id(), Some(primary_id.as_str()));
    assert_eq!(
        describe(&west, &key_id).await.key_state(),
        Some(&KeyState::Enabled)
    );

    // Cross-Region crypto both ways.
    let from_east = encrypt(&east, &key_id, b"east to west").await;
    assert_eq!(decrypt(&west, &from_east).await.0, b"east to west");
    let from_west = encrypt(&west, &key_id, b"west to east").await;
    assert_eq!(decrypt(&east, &from_west).await.0, b"west to east");

    // Expiry is per Region: the replica's material expires, the primary's does not.
    server.advance_clock(7201.0).await;
    assert_eq!(
        describe(&west, &key_id).await.key_state(),
        Some(&KeyState::PendingImport)
    );
    assert_eq!(
        describe(&east, &key_id).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt(&east, &from_west).await.0, b"west to east");
    let e = must_fail(
        west.decrypt()
            .ciphertext_blob(blob(&from_east))
            .send()
            .await,
        "Decrypt in the expired replica",
    );
    assert_err(
        &e,
        "KMSInvalidStateException",
        &[&west_arn, "is pending import."],
    );
}

#[tokio::test]
async fn delete_imported_key_material_is_refused_for_aws_kms_keys() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let (key_id, _) = new_key(&client).await;
    let e = must_fail(
        client
            .delete_imported_key_material()
            .key_id(&key_id)
            .send()
            .await,
        "DeleteImportedKeyMaterial on an AWS_KMS key",
    );
    assert_err(
        &e,
        "UnsupportedOperationException",
        &["origin is AWS_KMS which is not valid for this operation."],
    );
    // And a key with imported material survives a restart, still Enabled.
    let ext = create_external(&client, false).await;
    let material = random_bytes(32);
    import_material(&client, &ext, "RSAES_OAEP_SHA_1", &material).await;
    let ct = encrypt(&client, &ext, b"persisted").await;
    let mut server = server;
    server.restart();
    let client = server.client("us-east-1").await;
    assert_eq!(
        describe(&client, &ext).await.key_state(),
        Some(&KeyState::Enabled)
    );
    assert_eq!(decrypt(&client, &ct).await.0, b"persisted");
}
