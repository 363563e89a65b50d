//! Symmetric cryptography: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext),
//! GenerateRandom; ciphertext integrity and encryption context binding.

mod common;

use aes_gcm::aead::Aead;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit, Nonce};
use aws_sdk_kms::types::{DataKeySpec, EncryptionAlgorithmSpec};
use common::*;

const R: &str = "us-east-1";

async fn encrypt_ctx(
    kms: &aws_sdk_kms::Client,
    key: &str,
    plaintext: &[u8],
    ctx: &[(&str, &str)],
) -> Vec<u8> {
    let mut req = kms.encrypt().key_id(key).plaintext(blob(plaintext));
    for (k, v) in ctx {
        req = req.encryption_context(*k, *v);
    }
    let out = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("Encrypt: {}", err_message(&e)));
    out.ciphertext_blob()
        .expect("CiphertextBlob")
        .as_ref()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn encrypt_decrypt_round_trip_with_context_and_without_key_id() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, arn) = new_key(&kms).await;
    let msg = b"test message 123 !%$@ 1234567890";

    let out = kms
        .encrypt()
        .key_id(&id)
        .plaintext(blob(msg))
        .encryption_context("purpose", "test")
        .encryption_context("tenant", "42")
        .send()
        .await
        .expect("Encrypt");
    assert_eq!(
        out.key_id(),
        Some(arn.as_str()),
        "Encrypt KeyId is the key ARN"
    );
    assert_eq!(
        out.encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );
    let ct = out.ciphertext_blob().unwrap().as_ref().to_vec();
    assert!(
        !ct.windows(msg.len()).any(|w| w == msg),
        "plaintext not visible in ciphertext"
    );

    // No KeyId: the ciphertext says which key it belongs to.
    let dec = kms
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .encryption_context("tenant", "42")
        .encryption_context("purpose", "test")
        .send()
        .await
        .expect("Decrypt");
    assert_eq!(dec.plaintext().unwrap().as_ref(), msg);
    assert_eq!(
        dec.key_id(),
        Some(arn.as_str()),
        "Decrypt KeyId is the key ARN"
    );
    assert_eq!(
        dec.encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );

    // With KeyId (id, ARN) too.
    for k in [id.as_str(), arn.as_str()] {
        let dec = kms
            .decrypt()
            .key_id(k)
            .ciphertext_blob(blob(&ct))
            .encryption_context("purpose", "test")
            .encryption_context("tenant", "42")
            .send()
            .await
            .unwrap_or_else(|e| panic!("Decrypt with KeyId {k}: {}", err_message(&e)));
        assert_eq!(dec.plaintext().unwrap().as_ref(), msg);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn encrypt_decrypt_round_trip_without_context() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;
    for msg in [&b"x"[..], &[0u8; 4096][..], &random_bytes(1000)[..]] {
        let ct = encrypt_ctx(&kms, &id, msg, &[]).await;
        let dec = kms
            .decrypt()
            .ciphertext_blob(blob(&ct))
            .send()
            .await
            .expect("Decrypt");
        assert_eq!(dec.plaintext().unwrap().as_ref(), msg);
    }
    // Two encryptions of one plaintext differ (fresh IV).
    let a = encrypt_ctx(&kms, &id, b"same", &[]).await;
    let b = encrypt_ctx(&kms, &id, b"same", &[]).await;
    assert_ne!(a, b);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_or_missing_encryption_context_is_invalid_ciphertext() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;
    let ct = encrypt_ctx(&kms, &id, b"secret", &[("a", "1"), ("b", "2")]).await;

    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("missing context", vec![]),
        ("wrong value", vec![("a", "1"), ("b", "3")]),
        ("missing pair", vec![("a", "1")]),
        ("extra pair", vec![("a", "1"), ("b", "2"), ("c", "3")]),
        ("wrong key", vec![("a", "1"), ("B", "2")]),
    ];
    for (what, ctx) in cases {
        let mut req = kms.decrypt().ciphertext_blob(blob(&ct));
        for (k, v) in &ctx {
            req = req.encryption_context(*k, *v);
        }
        let e = must_fail(req.send().await, what);
        assert_eq!(
            err_code(&e),
            "InvalidCiphertextException",
            "{what}: {}",
            err_message(&e)
        );
    }

    // Context given at Decrypt but none at Encrypt.
    let ct = encrypt_ctx(&kms, &id, b"secret", &[]).await;
    let e = must_fail(
        kms.decrypt()
            .ciphertext_blob(blob(&ct))
            .encryption_context("a", "1")
            .send()
            .await,
        "unexpected context",
    );
    assert_eq!(
        err_code(&e),
        "InvalidCiphertextException",
        "{}",
        err_message(&e)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_ciphertext_is_invalid_ciphertext() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;
    let ct = encrypt_ctx(&kms, &id, b"attack at dawn", &[("k", "v")]).await;
    assert!(ct.len() > 28, "ciphertext holds at least an IV and a tag");

    // A flipped bit at every position: header, key id, IV, body, tag.
    for pos in 0..ct.len() {
        let mut bad = ct.clone();
        bad[pos] ^= 0x01;
        let e = must_fail(
            kms.decrypt()
                .ciphertext_blob(blob(&bad))
                .encryption_context("k", "v")
                .send()
                .await,
            &format!("flipped byte {pos} of {}", ct.len()),
        );
        assert_eq!(
            err_code(&e),
            "InvalidCiphertextException",
            "flipped byte {pos} of {}: {}",
            ct.len(),
            err_message(&e)
        );
    }

    // Truncations.
    for len in [1, ct.len() / 2, ct.len() - 16, ct.len() - 1] {
        let e = must_fail(
            kms.decrypt()
                .ciphertext_blob(blob(&ct[..len]))
                .encryption_context("k", "v")
                .send()
                .await,
            &format!("truncated to {len}"),
        );
        assert_eq!(
            err_code(&e),
            "InvalidCiphertextException",
            "truncated to {len}: {}",
            err_message(&e)
        );
    }

    // Extended.
    let mut longer = ct.clone();
    longer.push(0);
    let e = must_fail(
        kms.decrypt()
            .ciphertext_blob(blob(&longer))
            .encryption_context("k", "v")
            .send()
            .await,
        "one byte appended",
    );
    assert_eq!(
        err_code(&e),
        "InvalidCiphertextException",
        "{}",
        err_message(&e)
    );

    // Random garbage of several sizes.
    for n in [1, 16, 64, ct.len(), 200, 6144] {
        let garbage = random_bytes(n);
        let e = must_fail(
            kms.decrypt().ciphertext_blob(blob(&garbage)).send().await,
            &format!("{n} random bytes"),
        );
        assert_eq!(
            err_code(&e),
            "InvalidCiphertextException",
            "{n} random bytes: {}",
            err_message(&e)
        );
    }

    // The untouched ciphertext still decrypts.
    let dec = kms
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .encryption_context("k", "v")
        .send()
        .await
        .expect("Decrypt original");
    assert_eq!(dec.plaintext().unwrap().as_ref(), b"attack at dawn");
}

#[tokio::test(flavor = "multi_thread")]
async fn decrypt_with_another_key_id_is_incorrect_key() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (a, _) = new_key(&kms).await;
    let (b, _) = new_key(&kms).await;
    let ct = encrypt_ctx(&kms, &a, b"for key a", &[]).await;
    let e = must_fail(
        kms.decrypt()
            .key_id(&b)
            .ciphertext_blob(blob(&ct))
            .send()
            .await,
        "Decrypt with key b",
    );
    assert_err(
        &e,
        "IncorrectKeyException",
        &["The key ID in the request does not identify a CMK that can perform this operation."],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_key_cannot_encrypt_or_decrypt() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, arn) = new_key(&kms).await;
    let ct = encrypt_ctx(&kms, &id, b"before", &[]).await;
    kms.disable_key()
        .key_id(&id)
        .send()
        .await
        .expect("DisableKey");
    let want = format!("{arn} is disabled.");

    let e = must_fail(
        kms.encrypt().key_id(&id).plaintext(blob(b"x")).send().await,
        "Encrypt disabled",
    );
    assert_err(&e, "DisabledException", &[&want]);

    let e = must_fail(
        kms.decrypt().ciphertext_blob(blob(&ct)).send().await,
        "Decrypt disabled",
    );
    assert_err(&e, "DisabledException", &[&want]);

    let e = must_fail(
        kms.generate_data_key()
            .key_id(&id)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await,
        "GenerateDataKey disabled",
    );
    assert_err(&e, "DisabledException", &[&want]);

    // Enabling again restores use; the old ciphertext is intact.
    kms.enable_key().key_id(&id).send().await.unwrap();
    let dec = kms
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .expect("Decrypt");
    assert_eq!(dec.plaintext().unwrap().as_ref(), b"before");
}

#[tokio::test(flavor = "multi_thread")]
async fn re_encrypt_moves_ciphertext_to_another_key() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (src, src_arn) = new_key(&kms).await;
    let (dst, dst_arn) = new_key(&kms).await;
    let ct = encrypt_ctx(&kms, &src, b"move me", &[("from", "src")]).await;

    let out = kms
        .re_encrypt()
        .ciphertext_blob(blob(&ct))
        .source_encryption_context("from", "src")
        .destination_key_id(&dst)
        .destination_encryption_context("to", "dst")
        .send()
        .await
        .expect("ReEncrypt");
    assert_eq!(out.source_key_id(), Some(src_arn.as_str()));
    assert_eq!(out.key_id(), Some(dst_arn.as_str()));
    assert_eq!(
        out.source_encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );
    assert_eq!(
        out.destination_encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );
    let new_ct = out.ciphertext_blob().unwrap().as_ref().to_vec();
    assert_ne!(new_ct, ct);

    let dec = kms
        .decrypt()
        .key_id(&dst)
        .ciphertext_blob(blob(&new_ct))
        .encryption_context("to", "dst")
        .send()
        .await
        .expect("Decrypt with destination key");
    assert_eq!(dec.plaintext().unwrap().as_ref(), b"move me");
    assert_eq!(dec.key_id(), Some(dst_arn.as_str()));

    // The new ciphertext is bound to the destination context, not the source one.
    let e = must_fail(
        kms.decrypt()
            .ciphertext_blob(blob(&new_ct))
            .encryption_context("from", "src")
            .send()
            .await,
        "Decrypt with source context",
    );
    assert_eq!(
        err_code(&e),
        "InvalidCiphertextException",
        "{}",
        err_message(&e)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn re_encrypt_with_wrong_source_key_is_incorrect_key() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (a, _) = new_key(&kms).await;
    let (b, _) = new_key(&kms).await;
    let ct = encrypt_ctx(&kms, &a, b"x", &[]).await;
    let e = must_fail(
        kms.re_encrypt()
            .ciphertext_blob(blob(&ct))
            .source_key_id(&b)
            .destination_key_id(&b)
            .send()
            .await,
        "ReEncrypt wrong source",
    );
    assert_err(
        &e,
        "IncorrectKeyException",
        &["The key ID in the request does not identify a CMK that can perform this operation."],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_data_key_aes_256_works_with_aes_gcm() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, arn) = new_key(&kms).await;
    let out = kms
        .generate_data_key()
        .key_id(&id)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("file", "report.pdf")
        .send()
        .await
        .expect("GenerateDataKey");
    assert_eq!(out.key_id(), Some(arn.as_str()));
    let key = out.plaintext().expect("Plaintext").as_ref().to_vec();
    assert_eq!(key.len(), 32);
    let wrapped = out
        .ciphertext_blob()
        .expect("CiphertextBlob")
        .as_ref()
        .to_vec();
    assert!(
        !wrapped.windows(32).any(|w| w == key.as_slice()),
        "key not in clear"
    );

    // Use the data key locally.
    let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
    let nonce = Nonce::from_slice(&[7u8; 12]);
    let sealed = cipher
        .encrypt(nonce, b"envelope encryption".as_ref())
        .unwrap();
    assert_eq!(
        cipher.decrypt(nonce, sealed.as_ref()).unwrap(),
        b"envelope encryption"
    );

    // KMS gives the same key back from the wrapped copy.
    let dec = kms
        .decrypt()
        .ciphertext_blob(blob(&wrapped))
        .encryption_context("file", "report.pdf")
        .send()
        .await
        .expect("Decrypt data key");
    assert_eq!(dec.plaintext().unwrap().as_ref(), key.as_slice());
    assert_eq!(dec.key_id(), Some(arn.as_str()));
    let again = Aes256Gcm::new_from_slice(dec.plaintext().unwrap().as_ref()).unwrap();
    assert_eq!(
        again.decrypt(nonce, sealed.as_ref()).unwrap(),
        b"envelope encryption"
    );

    // And binds it to the context.
    let e = must_fail(
        kms.decrypt().ciphertext_blob(blob(&wrapped)).send().await,
        "Decrypt data key without context",
    );
    assert_eq!(
        err_code(&e),
        "InvalidCiphertextException",
        "{}",
        err_message(&e)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_data_key_aes_128_and_number_of_bytes() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;

    let out = kms
        .generate_data_key()
        .key_id(&id)
        .key_spec(DataKeySpec::Aes128)
        .send()
        .await
        .expect("GenerateDataKey AES_128");
    let key = out.plaintext().unwrap().as_ref().to_vec();
    assert_eq!(key.len(), 16);
    let cipher = Aes128Gcm::new_from_slice(&key).unwrap();
    let nonce = Nonce::from_slice(&[1u8; 12]);
    let sealed = cipher.encrypt(nonce, b"short key".as_ref()).unwrap();
    assert_eq!(
        cipher.decrypt(nonce, sealed.as_ref()).unwrap(),
        b"short key"
    );
    let dec = kms
        .decrypt()
        .ciphertext_blob(out.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext().unwrap().as_ref(), key.as_slice());

    for n in [1, 64, 1024] {
        let out = kms
            .generate_data_key()
            .key_id(&id)
            .number_of_bytes(n)
            .send()
            .await
            .unwrap_or_else(|e| panic!("NumberOfBytes {n}: {}", err_message(&e)));
        let key = out.plaintext().unwrap().as_ref().to_vec();
        assert_eq!(key.len(), n as usize);
        let dec = kms
            .decrypt()
            .ciphertext_blob(out.ciphertext_blob().unwrap().clone())
            .send()
            .await
            .unwrap();
        assert_eq!(dec.plaintext().unwrap().as_ref(), key.as_slice());
    }

    // Two data keys differ.
    let a = kms
        .generate_data_key()
        .key_id(&id)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    let b = kms
        .generate_data_key()
        .key_id(&id)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    assert_ne!(
        a.plaintext().unwrap().as_ref(),
        b.plaintext().unwrap().as_ref()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_data_key_needs_exactly_one_of_key_spec_and_number_of_bytes() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;

    let e = must_fail(
        kms.generate_data_key()
            .key_id(&id)
            .key_spec(DataKeySpec::Aes256)
            .number_of_bytes(32)
            .send()
            .await,
        "both KeySpec and NumberOfBytes",
    );
    assert_eq!(err_code(&e), "ValidationException", "{}", err_message(&e));
    let msg = err_message(&e).to_lowercase();
    assert!(
        msg.contains("key spec") || msg.contains("keyspec"),
        "message mentions the key spec: {msg:?}"
    );

    let e = must_fail(
        kms.generate_data_key().key_id(&id).send().await,
        "neither KeySpec nor NumberOfBytes",
    );
    assert_eq!(err_code(&e), "ValidationException", "{}", err_message(&e));
    let msg = err_message(&e).to_lowercase();
    assert!(
        msg.contains("key spec") || msg.contains("keyspec"),
        "message mentions the key spec: {msg:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_data_key_without_plaintext_decrypts_to_key() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, arn) = new_key(&kms).await;
    for (spec, len) in [(DataKeySpec::Aes256, 32), (DataKeySpec::Aes128, 16)] {
        let out = kms
            .generate_data_key_without_plaintext()
            .key_id(&id)
            .key_spec(spec.clone())
            .encryption_context("purpose", "later")
            .send()
            .await
            .expect("GenerateDataKeyWithoutPlaintext");
        assert_eq!(out.key_id(), Some(arn.as_str()));
        let wrapped = out.ciphertext_blob().unwrap().as_ref().to_vec();
        let dec = kms
            .decrypt()
            .ciphertext_blob(blob(&wrapped))
            .encryption_context("purpose", "later")
            .send()
            .await
            .expect("Decrypt");
        assert_eq!(dec.plaintext().unwrap().as_ref().len(), len, "{spec:?}");

        let e = must_fail(
            kms.decrypt().ciphertext_blob(blob(&wrapped)).send().await,
            "without context",
        );
        assert_eq!(
            err_code(&e),
            "InvalidCiphertextException",
            "{}",
            err_message(&e)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_random_lengths() {
    let server = Server::start();
    let kms = server.client(R).await;
    for n in [1, 12, 44, 91, 1024] {
        let out = kms
            .generate_random()
            .number_of_bytes(n)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GenerateRandom {n}: {}", err_message(&e)));
        assert_eq!(
            out.plaintext().expect("Plaintext").as_ref().len(),
            n as usize
        );
    }
    let a = kms
        .generate_random()
        .number_of_bytes(32)
        .send()
        .await
        .unwrap();
    let b = kms
        .generate_random()
        .number_of_bytes(32)
        .send()
        .await
        .unwrap();
    assert_ne!(
        a.plaintext().unwrap().as_ref(),
        b.plaintext().unwrap().as_ref(),
        "two random outputs differ"
    );
    assert_ne!(a.plaintext().unwrap().as_ref(), &[0u8; 32]);
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_random_rejects_bad_lengths() {
    let server = Server::start();
    let kms = server.client(R).await;

    let e = must_fail(
        kms.generate_random().number_of_bytes(0).send().await,
        "0 bytes",
    );
    assert_err(
        &e,
        "ValidationException",
        &["1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"],
    );

    let e = must_fail(
        kms.generate_random().number_of_bytes(1025).send().await,
        "1025 bytes",
    );
    assert_err(
        &e,
        "ValidationException",
        &["1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"],
    );

    let e = must_fail(kms.generate_random().send().await, "no NumberOfBytes");
    assert_err(&e, "ValidationException", &["NumberOfBytes is required."]);
}

#[tokio::test(flavor = "multi_thread")]
async fn encrypt_plaintext_limit_is_4096_bytes() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, _) = new_key(&kms).await;

    let ct = encrypt_ctx(&kms, &id, &[0xabu8; 4096], &[]).await;
    let dec = kms
        .decrypt()
        .ciphertext_blob(blob(&ct))
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext().unwrap().as_ref(), &[0xabu8; 4096][..]);

    let e = must_fail(
        kms.encrypt()
            .key_id(&id)
            .plaintext(blob(&[0u8; 4097]))
            .send()
            .await,
        "4097 bytes",
    );
    assert_err(
        &e,
        "ValidationException",
        &["1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn crypto_via_alias_name_and_alias_arn() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (id, arn) = new_key(&kms).await;
    kms.create_alias()
        .alias_name("alias/app-key")
        .target_key_id(&id)
        .send()
        .await
        .expect("CreateAlias");
    let alias_arn = Server::alias_arn(R, "alias/app-key");

    for key_ref in ["alias/app-key", alias_arn.as_str()] {
        let out = kms
            .encrypt()
            .key_id(key_ref)
            .plaintext(blob(b"via alias"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("Encrypt via {key_ref}: {}", err_message(&e)));
        assert_eq!(
            out.key_id(),
            Some(arn.as_str()),
            "Encrypt via {key_ref} names the key ARN"
        );
        let ct = out.ciphertext_blob().unwrap().clone();

        let dec = kms
            .decrypt()
            .key_id(key_ref)
            .ciphertext_blob(ct.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("Decrypt via {key_ref}: {}", err_message(&e)));
        assert_eq!(dec.plaintext().unwrap().as_ref(), b"via alias");
        assert_eq!(dec.key_id(), Some(arn.as_str()));

        let dk = kms
            .generate_data_key()
            .key_id(key_ref)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GenerateDataKey via {key_ref}: {}", err_message(&e)));
        assert_eq!(dk.key_id(), Some(arn.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn encrypt_with_unknown_key_is_not_found() {
    let server = Server::start();
    let kms = server.client(R).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let e = must_fail(
        kms.encrypt()
            .key_id(&unknown)
            .plaintext(blob(b"x"))
            .send()
            .await,
        "Encrypt unknown key",
    );
    assert_err(
        &e,
        "NotFoundException",
        &[&format!(
            "Key '{}' does not exist",
            Server::key_arn(R, &unknown)
        )],
    );
    let e = must_fail(
        kms.encrypt()
            .key_id("alias/missing")
            .plaintext(blob(b"x"))
            .send()
            .await,
        "Encrypt unknown alias",
    );
    assert_eq!(err_code(&e), "NotFoundException", "{}", err_message(&e));
}

#[tokio::test(flavor = "multi_thread")]
async fn ciphertext_of_one_region_does_not_decrypt_in_another() {
    let server = Server::start();
    let east = server.client("us-east-1").await;
    let west = server.client("us-west-2").await;
    let (id, _) = new_key(&east).await;
    let ct = encrypt_ctx(&east, &id, b"regional", &[]).await;
    let e = must_fail(
        west.decrypt().ciphertext_blob(blob(&ct)).send().await,
        "Decrypt in another Region",
    );
    let code = err_code(&e);
    assert!(
        code == "InvalidCiphertextException" || code == "NotFoundException",
        "single-Region key ciphertext in another Region: {code}: {}",
        err_message(&e)
    );
}
