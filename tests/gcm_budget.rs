//! The AES-GCM nonce budget (issue 12, item 8): encryptions are counted per key material,
//! durably; at half the budget the key rotates itself, at the budget the material
//! encrypts no more. The servers run with a budget of a few encryptions
//! (`--encryptions-per-key-material`; the default is 4,000,000,000, below 2^32).

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{AlgorithmSpec, DataKeySpec, ExpirationModelType, WrappingKeySpec};
use common::*;

async fn seal(kms: &aws_sdk_kms::Client, key: &str, i: usize) -> Vec<u8> {
    kms.encrypt()
        .key_id(key)
        .plaintext(Blob::new(format!("message {i}").into_bytes()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("Encrypt {i}: {e:?}"))
        .ciphertext_blob()
        .expect("blob")
        .as_ref()
        .to_vec()
}

#[tokio::test]
async fn a_key_rotates_itself_at_half_the_budget_and_the_count_survives_a_restart() {
    let mut server = Server::start_with(&[
        "--regions",
        "us-east-1",
        "--encryptions-per-key-material",
        "8",
    ]);
    let kms = server.client("us-east-1").await;
    let (key, _) = new_key(&kms).await;
    let first = current_material(&kms, &key).await;
    let mut sealed = vec![seal(&kms, &key, 0).await, seal(&kms, &key, 1).await];
    // A restart does not reset the count (it was reserved durably before use).
    server.restart();
    let kms = server.client("us-east-1").await;
    sealed.push(seal(&kms, &key, 2).await);
    assert_eq!(current_material(&kms, &key).await, first, "no rotation yet");
    // The 4th encryption (half of 8) asks for the rotation.
    sealed.push(seal(&kms, &key, 3).await);
    let rotated = wait_until("the key rotated itself", || async {
        let now = current_material(&kms, &key).await;
        if now != first {
            Ok(now)
        } else {
            Err(now)
        }
    })
    .await;
    let rotations = kms
        .list_key_rotations()
        .key_id(&key)
        .send()
        .await
        .expect("ListKeyRotations");
    assert_eq!(rotations.rotations().len(), 1);
    assert_eq!(
        rotations.rotations()[0].rotation_type().map(|t| t.as_str()),
        Some("AUTOMATIC")
    );
    // New material, new count: encrypting goes on, and every ciphertext decrypts.
    for i in 4..10 {
        sealed.push(seal(&kms, &key, i).await);
    }
    for (i, ct) in sealed.iter().enumerate() {
        let (plaintext, _) = decrypt(&kms, ct).await;
        assert_eq!(plaintext, format!("message {i}").into_bytes());
    }
    assert_ne!(rotated, first);
}

#[tokio::test]
async fn imported_material_encrypts_no_more_at_the_budget() {
    let mut server = Server::start_with(&[
        "--regions",
        "us-east-1",
        "--encryptions-per-key-material",
        "4",
    ]);
    let kms = server.client("us-east-1").await;
    let key = create_external(&kms, false).await;
    let params = kms
        .get_parameters_for_import()
        .key_id(&key)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await
        .expect("GetParametersForImport");
    let material = random_bytes(32);
    let wrapped = common::wrapping::wrap(
        params.public_key().expect("PublicKey").as_ref(),
        "RSAES_OAEP_SHA_256",
        &material,
    );
    kms.import_key_material()
        .key_id(&key)
        .import_token(params.import_token().expect("ImportToken").clone())
        .encrypted_key_material(Blob::new(wrapped))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .expect("ImportKeyMaterial");
    let mut sealed = Vec::new();
    for i in 0..4 {
        sealed.push(seal(&kms, &key, i).await);
    }
    let e = must_fail(
        kms.encrypt()
            .key_id(&key)
            .plaintext(Blob::new(b"one too many".to_vec()))
            .send()
            .await,
        "the 5th encryption",
    );
    assert_err(
        &e,
        "LimitExceededException",
        &["4 encryptions", "AES-GCM", "import new key material"],
    );
    let e = must_fail(
        kms.generate_data_key()
            .key_id(&key)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await,
        "GenerateDataKey past the budget",
    );
    assert_err(&e, "LimitExceededException", &["AES-GCM"]);
    // Still refused after a restart; decrypting is not limited.
    server.restart();
    let kms = server.client("us-east-1").await;
    let e = must_fail(
        kms.encrypt()
            .key_id(&key)
            .plaintext(Blob::new(b"after restart".to_vec()))
            .send()
            .await,
        "after a restart",
    );
    assert_err(&e, "LimitExceededException", &["AES-GCM"]);
    for (i, ct) in sealed.iter().enumerate() {
        let (plaintext, _) = decrypt(&kms, ct).await;
        assert_eq!(plaintext, format!("message {i}").into_bytes());
    }
    assert!(
        server
            .current_log()
            .contains("import new key material and rotate the key")
            || server
                .log()
                .contains("import new key material and rotate the key")
    );
}
