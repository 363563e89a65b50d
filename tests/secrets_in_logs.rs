//! Secrets never reach a log line: with the most verbose logging the server has, the
//! plaintexts it encrypted and decrypted, the data keys it generated and the random bytes
//! it returned appear nowhere in its log.

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeyState};
use base64::Engine;
use common::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[tokio::test(flavor = "multi_thread")]
async fn plaintexts_and_data_keys_never_reach_the_log_even_at_trace_level() {
    let server = Server::start_with(&["--regions", "us-east-1,eu-west-1", "--log", "trace"]);
    let kms = server.client("us-east-1").await;
    let key = create_mrk(&kms).await.key_id().to_string();
    let secret = b"correct horse battery staple, do not log me";
    let ct = kms
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(secret.to_vec()))
        .send()
        .await
        .expect("Encrypt")
        .ciphertext_blob()
        .unwrap()
        .clone();
    let decrypted = kms
        .decrypt()
        .ciphertext_blob(ct)
        .send()
        .await
        .expect("Decrypt");
    assert_eq!(decrypted.plaintext().unwrap().as_ref(), secret);
    let data_key = kms
        .generate_data_key()
        .key_id(&key)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .expect("GenerateDataKey");
    let data_key = data_key.plaintext().unwrap().as_ref().to_vec();
    let random = kms
        .generate_random()
        .number_of_bytes(64)
        .send()
        .await
        .expect("GenerateRandom")
        .plaintext()
        .unwrap()
        .as_ref()
        .to_vec();
    // The replication job moves the material between the tokens, logging as it goes.
    replicate(&kms, &key, "eu-west-1").await;
    let eu = server.client("eu-west-1").await;
    wait_for_state(&eu, &key, KeyState::Enabled).await;

    let log = server.log();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the server did not log verbosely; the check below would prove nothing"
    );
    for (what, bytes) in [
        ("plaintext", secret.to_vec()),
        ("data key", data_key),
        ("random bytes", random),
    ] {
        let b64 = B64.encode(&bytes);
        let hex = hex::encode(&bytes);
        assert!(
            !log.contains(&b64),
            "the {what} (base64) is in the server log"
        );
        assert!(!log.contains(&hex), "the {what} (hex) is in the server log");
        if let Ok(text) = std::str::from_utf8(&bytes) {
            assert!(
                !log.contains(text),
                "the {what} (text) is in the server log"
            );
        }
    }
}
