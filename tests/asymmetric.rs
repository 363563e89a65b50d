//! Asymmetric KMS keys: Sign/Verify for every key spec and signing algorithm, GetPublicKey,
//! RSA-OAEP Encrypt/Decrypt/ReEncrypt, DeriveSharedSecret, GenerateDataKeyPair(WithoutPlaintext),
//! AWS's error types and messages, and multi-Region replication of these keys.
//!
//! Every signature, public-key ciphertext, shared secret and data key pair is checked with
//! an independent library (RustCrypto) using only what the API returned.

mod common;

use aws_sdk_kms::types::{
    DataKeyPairSpec, EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType,
    MessageType, SigningAlgorithmSpec,
};
use aws_sdk_kms::Client;
use common::*;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use sha2::Digest;

const R: &str = "us-east-1";

async fn sign(
    kms: &Client,
    key_id: &str,
    algorithm: &SigningAlgorithmSpec,
    message_type: MessageType,
    message: &[u8],
) -> Vec<u8> {
    let out = kms
        .sign()
        .key_id(key_id)
        .signing_algorithm(algorithm.clone())
        .message_type(message_type.clone())
        .message(blob(message))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Sign {algorithm:?} {message_type:?}: {} {}",
                err_code(&e),
                err_message(&e)
            )
        });
    assert_eq!(out.signing_algorithm(), Some(algorithm));
    assert_eq!(out.key_id(), Some(Server::key_arn(R, key_id).as_str()));
    out.signature().unwrap().as_ref().to_vec()
}

fn hash_for(algorithm: &SigningAlgorithmSpec) -> &'static str {
    let name = algorithm.as_str();
    if name.ends_with("256") {
        "SHA256"
    } else if name.ends_with("384") {
        "SHA384"
    } else {
        "SHA512"
    }
}

fn digest(hash: &str, message: &[u8]) -> Vec<u8> {
    match hash {
        "SHA256" => sha2::Sha256::digest(message).to_vec(),
        "SHA384" => sha2::Sha384::digest(message).to_vec(),
        _ => sha2::Sha512::digest(message).to_vec(),
    }
}

/// Verifies `signature` over `message` with the DER SubjectPublicKeyInfo `spki` using
/// RustCrypto only: the independent check of what the server signed.
fn verify_independently(
    spec: &KeySpec,
    spki: &[u8],
    algorithm: &SigningAlgorithmSpec,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let hash = hash_for(algorithm);
    let prehash = digest(hash, message);
    match spec {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            let key = rsa::RsaPublicKey::from_public_key_der(spki).expect("RSA SPKI");
            let pss = algorithm.as_str().starts_with("RSASSA_PSS");
            let r = match (pss, hash) {
                (false, "SHA256") => key.verify(
                    rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    &prehash,
                    signature,
                ),
                (false, "SHA384") => key.verify(
                    rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    &prehash,
                    signature,
                ),
                (false, _) => key.verify(
                    rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                    &prehash,
                    signature,
                ),
                // AWS: PSS salt length = hash length; the verifier insists on it.
                (true, "SHA256") => key.verify(
                    rsa::Pss::new_with_salt::<sha2::Sha256>(32),
                    &prehash,
                    signature,
                ),
                (true, "SHA384") => key.verify(
                    rsa::Pss::new_with_salt::<sha2::Sha384>(48),
                    &prehash,
                    signature,
                ),
                (true, _) => key.verify(
                    rsa::Pss::new_with_salt::<sha2::Sha512>(64),
                    &prehash,
                    signature,
                ),
            };
            r.is_ok()
        }
        KeySpec::EccNistP256 => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki).expect("P-256 SPKI");
            let Ok(sig) = p256::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            key.verify_prehash(&prehash, &sig).is_ok()
        }
        KeySpec::EccNistP384 => {
            use p384::ecdsa::signature::hazmat::PrehashVerifier;
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(spki).expect("P-384 SPKI");
            let Ok(sig) = p384::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            key.verify_prehash(&prehash, &sig).is_ok()
        }
        KeySpec::EccNistP521 => {
            use p521::ecdsa::signature::hazmat::PrehashVerifier;
            use p521::elliptic_curve::sec1::ToEncodedPoint;
            let public = p521::PublicKey::from_public_key_der(spki).expect("P-521 SPKI");
            let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(
                public.to_encoded_point(false).as_bytes(),
            )
            .expect("P-521 point");
            let Ok(sig) = p521::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            key.verify_prehash(&prehash, &sig).is_ok()
        }
        KeySpec::EccSecgP256K1 => {
            use k256::ecdsa::signature::hazmat::PrehashVerifier;
            let key = k256::ecdsa::VerifyingKey::from_public_key_der(spki).expect("secp256k1 SPKI");
            let Ok(sig) = k256::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            // AWS (like OpenSSL) may return high-S signatures; k256 verifies only low-S.
            let sig = sig.normalize_s().unwrap_or(sig);
            key.verify_prehash(&prehash, &sig).is_ok()
        }
        KeySpec::EccNistEdwards25519 => {
            let key = ed25519_dalek::VerifyingKey::from_public_key_der(spki).expect("Ed25519 SPKI");
            let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
                return false;
            };
            key.verify_strict(message, &sig).is_ok()
        }
        other => panic!("no independent verifier for {other:?}"),
    }
}

/// Sign (RAW and DIGEST) and Verify with every signing algorithm of `spec`; each signature
/// checked independently, tampered ones refused by both sides.
async fn exercise_signing(kms: &Client, spec: KeySpec) {
    let key_id = NewKey::of(spec.clone(), KeyUsageType::SignVerify)
        .multi_region(false)
        .create_id(kms)
        .await;
    let md = kms.describe_key().key_id(&key_id).send().await.unwrap();
    let md = md.key_metadata().unwrap();
    assert_eq!(md.key_usage(), Some(&KeyUsageType::SignVerify));
    assert!(md.encryption_algorithms().is_empty());
    let algorithms = md.signing_algorithms().to_vec();
    assert!(
        !algorithms.is_empty(),
        "{spec:?} lists its signing algorithms"
    );

    let pk = kms.get_public_key().key_id(&key_id).send().await.unwrap();
    assert_eq!(pk.key_spec(), Some(&spec));
    assert_eq!(pk.key_usage(), Some(&KeyUsageType::SignVerify));
    assert_eq!(pk.signing_algorithms(), &algorithms[..]);
    let spki = pk.public_key().unwrap().as_ref().to_vec();

    let message = format!("message for {spec:?} signed in the token").into_bytes();
    for algorithm in &algorithms {
        if *algorithm == SigningAlgorithmSpec::Ed25519PhSha512 {
            continue; // refused with UnsupportedOperationException: see the Ed25519 test
        }
        let raw = sign(kms, &key_id, algorithm, MessageType::Raw, &message).await;
        assert!(
            verify_independently(&spec, &spki, algorithm, &message, &raw),
            "{spec:?} {algorithm:?} RAW signature verifies with RustCrypto"
        );
        let out = kms
            .verify()
            .key_id(&key_id)
            .signing_algorithm(algorithm.clone())
            .message(blob(&message))
            .signature(blob(&raw))
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!("Verify {algorithm:?}: {} {}", err_code(&e), err_message(&e))
            });
        assert!(out.signature_valid());
        assert_eq!(out.signing_algorithm(), Some(algorithm));

        // A changed message does not verify: KMSInvalidSignatureException with no message.
        let e = must_fail(
            kms.verify()
                .key_id(&key_id)
                .signing_algorithm(algorithm.clone())
                .message(blob(b"another message"))
                .signature(blob(&raw))
                .send()
                .await,
            "Verify of a changed message",
        );
        assert_err(&e, "KMSInvalidSignatureException", &[]);
        assert_eq!(err_message(&e), "");
        // Neither does a changed signature (also one that is no longer valid DER).
        let mut bad = raw.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        let e = must_fail(
            kms.verify()
                .key_id(&key_id)
                .signing_algorithm(algorithm.clone())
                .message(blob(&message))
                .signature(blob(&bad))
                .send()
                .await,
            "Verify of a changed signature",
        );
        assert_err(&e, "KMSInvalidSignatureException", &[]);
        assert!(!verify_independently(
            &spec, &spki, algorithm, &message, &bad
        ));

        if spec == KeySpec::EccNistEdwards25519 {
            continue;
        }
        // DIGEST: the caller hashes; the signature is the same kind.
        let d = digest(hash_for(algorithm), &message);
        let sig = sign(kms, &key_id, algorithm, MessageType::Digest, &d).await;
        assert!(verify_independently(
            &spec, &spki, algorithm, &message, &sig
        ));
        let out = kms
            .verify()
            .key_id(&key_id)
            .signing_algorithm(algorithm.clone())
            .message_type(MessageType::Digest)
            .message(blob(&d))
            .signature(blob(&sig))
            .send()
            .await
            .expect("Verify DIGEST");
        assert!(out.signature_valid());
        // A RAW signature verifies as DIGEST of the same message, and the other way round.
        kms.verify()
            .key_id(&key_id)
            .signing_algorithm(algorithm.clone())
            .message(blob(&message))
            .signature(blob(&sig))
            .send()
            .await
            .expect("DIGEST signature verifies over the RAW message");
        // A digest of the wrong length: AWS's ValidationException.
        let e = must_fail(
            kms.sign()
                .key_id(&key_id)
                .signing_algorithm(algorithm.clone())
                .message_type(MessageType::Digest)
                .message(blob(&d[1..]))
                .send()
                .await,
            "Sign of a short digest",
        );
        assert_err(&e, "ValidationException", &[]);
        assert_eq!(
            err_message(&e),
            format!(
                "Digest is invalid length for algorithm {}.",
                algorithm.as_str()
            )
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_and_verify_rsa_every_algorithm() {
    let server = Server::start();
    let kms = server.client(R).await;
    for spec in [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096] {
        exercise_signing(&kms, spec).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_and_verify_ecdsa_every_curve() {
    let server = Server::start();
    let kms = server.client(R).await;
    for spec in [
        KeySpec::EccNistP256,
        KeySpec::EccNistP384,
        KeySpec::EccNistP521,
        KeySpec::EccSecgP256K1,
    ] {
        exercise_signing(&kms, spec).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_and_verify_ed25519_or_a_clear_unsupported_error() {
    let server = Server::start();
    let kms = server.client(R).await;
    let created = kms
        .create_key()
        .key_spec(KeySpec::EccNistEdwards25519)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await;
    match created {
        Ok(_) => {
            exercise_signing(&kms, KeySpec::EccNistEdwards25519).await;
            let key_id = NewKey::of(KeySpec::EccNistEdwards25519, KeyUsageType::SignVerify)
                .multi_region(false)
                .create_id(&kms)
                .await;
            // Pure Ed25519 signs messages, never digests.
            let e = must_fail(
                kms.sign()
                    .key_id(&key_id)
                    .signing_algorithm(SigningAlgorithmSpec::Ed25519Sha512)
                    .message_type(MessageType::Digest)
                    .message(blob(&[0u8; 64]))
                    .send()
                    .await,
                "Ed25519 DIGEST",
            );
            assert_err(&e, "ValidationException", &["RAW"]);
            let e = must_fail(
                kms.sign()
                    .key_id(&key_id)
                    .signing_algorithm(SigningAlgorithmSpec::Ed25519PhSha512)
                    .message(blob(b"m"))
                    .send()
                    .await,
                "Ed25519ph",
            );
            assert_err(&e, "UnsupportedOperationException", &["Ed25519ph"]);
        }
        Err(e) => assert_err(
            &e,
            "UnsupportedOperationException",
            &["CKM_EC_EDWARDS_KEY_PAIR_GEN", "edwards25519"],
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_algorithm_usage_and_spec_get_aws_errors() {
    let server = Server::start();
    let kms = server.client(R).await;
    let ecc = NewKey::of(KeySpec::EccNistP256, KeyUsageType::SignVerify)
        .multi_region(false)
        .create_id(&kms)
        .await;
    let e = must_fail(
        kms.sign()
            .key_id(&ecc)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha384)
            .message(blob(b"m"))
            .send()
            .await,
        "ECDSA_SHA_384 with a P-256 key",
    );
    assert_err(&e, "InvalidKeyUsageException", &[]);
    assert_eq!(
        err_message(&e),
        "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256."
    );

    // test_error_messaging_for_invalid_keys (recorded from AWS).
    let (symmetric, _) = new_key(&kms).await;
    let hmac = NewKey::of(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)
        .multi_region(false)
        .create_id(&kms)
        .await;
    let e = must_fail(
        kms.sign()
            .key_id(&hmac)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .message(blob(b"m"))
            .send()
            .await,
        "Sign with an HMAC key",
    );
    assert_err(&e, "InvalidKeyUsageException", &[]);
    assert_eq!(
        err_message(&e),
        format!(
            "{} key usage is GENERATE_VERIFY_MAC which is not valid for Sign.",
            Server::key_arn(R, &hmac)
        )
    );
    let e = must_fail(
        kms.verify()
            .key_id(&symmetric)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .message(blob(b"m"))
            .signature(blob(b"s"))
            .send()
            .await,
        "Verify with a symmetric key",
    );
    assert_eq!(
        err_message(&e),
        format!(
            "{} key usage is ENCRYPT_DECRYPT which is not valid for Verify.",
            Server::key_arn(R, &symmetric)
        )
    );
    let e = must_fail(
        kms.encrypt()
            .key_id(&ecc)
            .plaintext(blob(b"p"))
            .send()
            .await,
        "Encrypt with a signing key",
    );
    assert_err(&e, "InvalidKeyUsageException", &[]);
    assert_eq!(
        err_message(&e),
        format!(
            "{} key usage is SIGN_VERIFY which is not valid for Encrypt.",
            Server::key_arn(R, &ecc)
        )
    );
    let ct = kms
        .encrypt()
        .key_id(&symmetric)
        .plaintext(blob(b"p"))
        .send()
        .await
        .unwrap();
    let e = must_fail(
        kms.decrypt()
            .key_id(&hmac)
            .ciphertext_blob(ct.ciphertext_blob().unwrap().clone())
            .send()
            .await,
        "Decrypt naming an HMAC key",
    );
    assert_err(
        &e,
        "IncorrectKeyException",
        &["The key ID in the request does not identify a CMK that can perform this operation."],
    );

    // KeyUsage/KeySpec combinations AWS rejects.
    let e = must_fail(
        kms.create_key()
            .key_spec(KeySpec::Rsa2048)
            .key_usage(KeyUsageType::KeyAgreement)
            .send()
            .await,
        "RSA KEY_AGREEMENT",
    );
    assert_err(&e, "ValidationException", &[]);
    assert_eq!(
        err_message(&e),
        "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"
    );
    let e = must_fail(
        kms.create_key().key_spec(KeySpec::EccNistP256).send().await,
        "ECC key without KeyUsage",
    );
    assert_err(
        &e,
        "ValidationException",
        &["You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."],
    );
    let e = must_fail(
        kms.create_key()
            .key_spec(KeySpec::EccSecgP256K1)
            .key_usage(KeyUsageType::KeyAgreement)
            .send()
            .await,
        "secp256k1 KEY_AGREEMENT",
    );
    assert_err(
        &e,
        "ValidationException",
        &["KEY_AGREEMENT", "ECC_SECG_P256K1"],
    );

    // GetPublicKey of a symmetric key.
    let e = must_fail(
        kms.get_public_key().key_id(&symmetric).send().await,
        "GetPublicKey of a symmetric key",
    );
    assert_err(&e, "UnsupportedOperationException", &["SYMMETRIC_DEFAULT"]);

    // A disabled key cannot sign.
    kms.disable_key().key_id(&ecc).send().await.unwrap();
    let e = must_fail(
        kms.sign()
            .key_id(&ecc)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .message(blob(b"m"))
            .send()
            .await,
        "Sign with a disabled key",
    );
    assert_err(&e, "DisabledException", &["is disabled"]);
}

/// RSA-OAEP: AWS's size limits; ciphertext from an independent encryptor decrypts in the
/// server, the server's ciphertext is raw RSA-OAEP of the modulus size.
#[tokio::test(flavor = "multi_thread")]
async fn rsa_encrypt_decrypt_with_both_oaep_algorithms() {
    let server = Server::start();
    let kms = server.client(R).await;
    for (spec, bits) in [
        (KeySpec::Rsa2048, 2048usize),
        (KeySpec::Rsa3072, 3072),
        (KeySpec::Rsa4096, 4096),
    ] {
        let key_id = NewKey::of(spec.clone(), KeyUsageType::EncryptDecrypt)
            .multi_region(false)
            .create_id(&kms)
            .await;
        let md = kms.describe_key().key_id(&key_id).send().await.unwrap();
        assert_eq!(
            md.key_metadata().unwrap().encryption_algorithms(),
            &[
                EncryptionAlgorithmSpec::RsaesOaepSha1,
                EncryptionAlgorithmSpec::RsaesOaepSha256
            ]
        );
        let spki = public_key(&kms, &key_id).await;
        let public = rsa::RsaPublicKey::from_public_key_der(&spki).unwrap();
        assert_eq!(public.size() * 8, bits);
        for (algorithm, hash_len) in [
            (EncryptionAlgorithmSpec::RsaesOaepSha1, 20usize),
            (EncryptionAlgorithmSpec::RsaesOaepSha256, 32),
        ] {
            let max = bits / 8 - 2 * hash_len - 2;
            let plaintext: Vec<u8> = (0..max).map(|i| (i * 7 + 3) as u8).collect();
            // The server encrypts ...
            let out = kms
                .encrypt()
                .key_id(&key_id)
                .encryption_algorithm(algorithm.clone())
                .plaintext(blob(&plaintext))
                .send()
                .await
                .unwrap_or_else(|e| panic!("Encrypt {spec:?} {algorithm:?}: {}", err_message(&e)));
            assert_eq!(out.encryption_algorithm(), Some(&algorithm));
            let ct = out.ciphertext_blob().unwrap().as_ref().to_vec();
            assert_eq!(ct.len(), bits / 8, "raw RSA-OAEP output, as AWS's");
            // ... an independent library encrypts too.
            let mut rng = aes_gcm::aead::OsRng;
            let independent = match hash_len {
                20 => public.encrypt(&mut rng, rsa::Oaep::new::<sha1::Sha1>(), &plaintext),
                _ => public.encrypt(&mut rng, rsa::Oaep::new::<sha2::Sha256>(), &plaintext),
            }
            .unwrap();
            for c in [ct.clone(), independent] {
                let out = kms
                    .decrypt()
                    .key_id(&key_id)
                    .encryption_algorithm(algorithm.clone())
                    .ciphertext_blob(blob(&c))
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!("Decrypt {spec:?} {algorithm:?}: {}", err_message(&e))
                    });
                assert_eq!(out.plaintext().unwrap().as_ref(), &plaintext[..]);
                assert_eq!(out.encryption_algorithm(), Some(&algorithm));
                assert_eq!(out.key_id(), Some(Server::key_arn(R, &key_id).as_str()));
            }
            // One byte too many: the recorded AWS message.
            let e = must_fail(
                kms.encrypt()
                    .key_id(&key_id)
                    .encryption_algorithm(algorithm.clone())
                    .plaintext(blob(&vec![1u8; max + 1]))
                    .send()
                    .await,
                "oversized RSA plaintext",
            );
            assert_err(&e, "ValidationException", &[]);
            assert_eq!(
                err_message(&e),
                format!(
                    "Algorithm {} and key spec {} cannot encrypt data larger than {max} bytes.",
                    algorithm.as_str(),
                    spec.as_str()
                )
            );
            // Tampered ciphertext, or the other OAEP hash: InvalidCiphertextException.
            let mut bad = ct.clone();
            bad[10] ^= 0x40;
            let e = must_fail(
                kms.decrypt()
                    .key_id(&key_id)
                    .encryption_algorithm(algorithm.clone())
                    .ciphertext_blob(blob(&bad))
                    .send()
                    .await,
                "tampered RSA ciphertext",
            );
            assert_err(&e, "InvalidCiphertextException", &[]);
            let other = if hash_len == 20 {
                EncryptionAlgorithmSpec::RsaesOaepSha256
            } else {
                EncryptionAlgorithmSpec::RsaesOaepSha1
            };
            let e = must_fail(
                kms.decrypt()
                    .key_id(&key_id)
                    .encryption_algorithm(other)
                    .ciphertext_blob(blob(&ct))
                    .send()
                    .await,
                "RSA ciphertext with the other algorithm",
            );
            assert_err(&e, "InvalidCiphertextException", &[]);
        }
        if spec != KeySpec::Rsa2048 {
            continue;
        }
        // Decrypt of RSA ciphertext needs the KeyId and the EncryptionAlgorithm.
        let ct = kms
            .encrypt()
            .key_id(&key_id)
            .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .plaintext(blob(b"secret"))
            .send()
            .await
            .unwrap()
            .ciphertext_blob()
            .unwrap()
            .clone();
        let e = must_fail(
            kms.decrypt().ciphertext_blob(ct.clone()).send().await,
            "RSA Decrypt without KeyId",
        );
        assert_err(&e, "InvalidCiphertextException", &[]);
        let e = must_fail(
            kms.decrypt()
                .key_id(&key_id)
                .ciphertext_blob(ct.clone())
                .send()
                .await,
            "RSA Decrypt without EncryptionAlgorithm",
        );
        assert_err(
            &e,
            "InvalidKeyUsageException",
            &["Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."],
        );
        let e = must_fail(
            kms.encrypt()
                .key_id(&key_id)
                .plaintext(blob(b"x"))
                .send()
                .await,
            "RSA Encrypt without EncryptionAlgorithm",
        );
        assert_err(
            &e,
            "InvalidKeyUsageException",
            &["SYMMETRIC_DEFAULT", "RSA_2048"],
        );

        // ReEncrypt RSA -> RSA (recorded test_re_encrypt[RSA_2048-RSAES_OAEP_SHA_256]) and
        // RSA -> symmetric.
        let other = NewKey::of(KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt)
            .multi_region(false)
            .create_id(&kms)
            .await;
        let out = kms
            .re_encrypt()
            .ciphertext_blob(ct.clone())
            .source_key_id(&key_id)
            .source_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .destination_key_id(&other)
            .destination_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ReEncrypt RSA->RSA: {} {}", err_code(&e), err_message(&e)));
        assert_eq!(
            out.source_key_id(),
            Some(Server::key_arn(R, &key_id).as_str())
        );
        assert_eq!(
            out.source_encryption_algorithm(),
            Some(&EncryptionAlgorithmSpec::RsaesOaepSha256)
        );
        assert_eq!(
            out.destination_encryption_algorithm(),
            Some(&EncryptionAlgorithmSpec::RsaesOaepSha256)
        );
        let back = kms
            .decrypt()
            .key_id(&other)
            .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .ciphertext_blob(out.ciphertext_blob().unwrap().clone())
            .send()
            .await
            .unwrap();
        assert_eq!(back.plaintext().unwrap().as_ref(), b"secret");
        let (symmetric, _) = new_key(&kms).await;
        let out = kms
            .re_encrypt()
            .ciphertext_blob(ct.clone())
            .source_key_id(&key_id)
            .source_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .destination_key_id(&symmetric)
            .send()
            .await
            .expect("ReEncrypt RSA->symmetric");
        let back = kms
            .decrypt()
            .ciphertext_blob(out.ciphertext_blob().unwrap().clone())
            .send()
            .await
            .unwrap();
        assert_eq!(back.plaintext().unwrap().as_ref(), b"secret");
    }
}

fn ecdh_local(spec: &KeySpec, kms_spki: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut rng = aes_gcm::aead::OsRng;
    match spec {
        KeySpec::EccNistP256 => {
            let mine = p256::SecretKey::random(&mut rng);
            let theirs = p256::PublicKey::from_public_key_der(kms_spki).unwrap();
            let shared = p256::ecdh::diffie_hellman(mine.to_nonzero_scalar(), theirs.as_affine());
            let spki = mine.public_key().to_public_key_der().unwrap();
            (spki.as_bytes().to_vec(), shared.raw_secret_bytes().to_vec())
        }
        KeySpec::EccNistP384 => {
            let mine = p384::SecretKey::random(&mut rng);
            let theirs = p384::PublicKey::from_public_key_der(kms_spki).unwrap();
            let shared = p384::ecdh::diffie_hellman(mine.to_nonzero_scalar(), theirs.as_affine());
            let spki = mine.public_key().to_public_key_der().unwrap();
            (spki.as_bytes().to_vec(), shared.raw_secret_bytes().to_vec())
        }
        KeySpec::EccNistP521 => {
            let mine = p521::SecretKey::random(&mut rng);
            let theirs = p521::PublicKey::from_public_key_der(kms_spki).unwrap();
            let shared = p521::ecdh::diffie_hellman(mine.to_nonzero_scalar(), theirs.as_affine());
            let spki = mine.public_key().to_public_key_der().unwrap();
            (spki.as_bytes().to_vec(), shared.raw_secret_bytes().to_vec())
        }
        other => panic!("no ECDH for {other:?}"),
    }
}

async fn derive(kms: &Client, key_id: &str, peer_spki: &[u8]) -> Vec<u8> {
    let out = kms
        .derive_shared_secret()
        .key_id(key_id)
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(blob(peer_spki))
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeriveSharedSecret: {} {}", err_code(&e), err_message(&e)));
    assert_eq!(
        out.key_agreement_algorithm(),
        Some(&KeyAgreementAlgorithmSpec::Ecdh)
    );
    assert_eq!(out.key_origin().map(|o| o.as_str()), Some("AWS_KMS"));
    out.shared_secret().unwrap().as_ref().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn derive_shared_secret_matches_an_independent_ecdh() {
    let server = Server::start();
    let kms = server.client(R).await;
    for spec in [
        KeySpec::EccNistP256,
        KeySpec::EccNistP384,
        KeySpec::EccNistP521,
    ] {
        let key_id = NewKey::of(spec.clone(), KeyUsageType::KeyAgreement)
            .multi_region(false)
            .create_id(&kms)
            .await;
        let pk = kms.get_public_key().key_id(&key_id).send().await.unwrap();
        assert_eq!(
            pk.key_agreement_algorithms(),
            &[KeyAgreementAlgorithmSpec::Ecdh]
        );
        let (peer, expected) = ecdh_local(&spec, pk.public_key().unwrap().as_ref());
        let secret = derive(&kms, &key_id, &peer).await;
        assert_eq!(secret, expected, "{spec:?} shared secret");
        // A key-agreement key cannot sign.
        let e = must_fail(
            kms.sign()
                .key_id(&key_id)
                .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
                .message(blob(b"m"))
                .send()
                .await,
            "Sign with a KEY_AGREEMENT key",
        );
        assert_err(&e, "InvalidKeyUsageException", &["KEY_AGREEMENT", "Sign"]);
    }
    // A public key of another curve or not a key at all: empty ValidationException.
    let p256_key = NewKey::of(KeySpec::EccNistP256, KeyUsageType::KeyAgreement)
        .multi_region(false)
        .create_id(&kms)
        .await;
    let other_curve = p384::SecretKey::random(&mut aes_gcm::aead::OsRng)
        .public_key()
        .to_public_key_der()
        .unwrap();
    for bad in [other_curve.as_bytes().to_vec(), b"not a key".to_vec()] {
        let e = must_fail(
            kms.derive_shared_secret()
                .key_id(&p256_key)
                .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                .public_key(blob(&bad))
                .send()
                .await,
            "DeriveSharedSecret with a bad public key",
        );
        assert_err(&e, "ValidationException", &[]);
        assert_eq!(err_message(&e), "");
    }
    // Recorded usage errors.
    let signing = NewKey::of(KeySpec::EccNistP256, KeyUsageType::SignVerify)
        .multi_region(false)
        .create_id(&kms)
        .await;
    let (symmetric, _) = new_key(&kms).await;
    for (key, usage) in [(&signing, "SIGN_VERIFY"), (&symmetric, "ENCRYPT_DECRYPT")] {
        let e = must_fail(
            kms.derive_shared_secret()
                .key_id(key)
                .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                .public_key(blob(other_curve.as_bytes()))
                .send()
                .await,
            "DeriveSharedSecret with a non-agreement key",
        );
        assert_err(&e, "InvalidKeyUsageException", &[]);
        assert_eq!(
            err_message(&e),
            format!(
                "{} key usage is {usage} which is not valid for DeriveSharedSecret.",
                Server::key_arn(R, key)
            )
        );
    }
}

/// The public key (DER SPKI) derived from a PKCS#8 private key, with RustCrypto.
fn public_of_pkcs8(spec: &DataKeyPairSpec, pkcs8: &[u8]) -> Vec<u8> {
    match spec {
        DataKeyPairSpec::Rsa2048 | DataKeyPairSpec::Rsa3072 | DataKeyPairSpec::Rsa4096 => {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).expect("RSA PKCS#8");
            key.validate().expect("a consistent RSA key");
            key.to_public_key()
                .to_public_key_der()
                .unwrap()
                .as_bytes()
                .to_vec()
        }
        DataKeyPairSpec::EccNistP256 => p256::SecretKey::from_pkcs8_der(pkcs8)
            .unwrap()
            .public_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec(),
        DataKeyPairSpec::EccNistP384 => p384::SecretKey::from_pkcs8_der(pkcs8)
            .unwrap()
            .public_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec(),
        DataKeyPairSpec::EccNistP521 => p521::SecretKey::from_pkcs8_der(pkcs8)
            .unwrap()
            .public_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec(),
        DataKeyPairSpec::EccSecgP256K1 => k256::SecretKey::from_pkcs8_der(pkcs8)
            .unwrap()
            .public_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec(),
        DataKeyPairSpec::EccNistEdwards25519 => ed25519_dalek::SigningKey::from_pkcs8_der(pkcs8)
            .unwrap()
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec(),
        other => panic!("no parser for {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn data_key_pairs_are_pkcs8_matching_their_public_key_and_ciphertext() {
    let server = Server::start();
    let kms = server.client(R).await;
    let (key_id, _) = new_key(&kms).await;
    let mut specs = vec![
        DataKeyPairSpec::Rsa2048,
        DataKeyPairSpec::Rsa3072,
        DataKeyPairSpec::Rsa4096,
        DataKeyPairSpec::EccNistP256,
        DataKeyPairSpec::EccNistP384,
        DataKeyPairSpec::EccNistP521,
        DataKeyPairSpec::EccSecgP256K1,
    ];
    let ed = kms
        .generate_data_key_pair_without_plaintext()
        .key_id(&key_id)
        .key_pair_spec(DataKeyPairSpec::EccNistEdwards25519)
        .send()
        .await;
    match ed {
        Ok(_) => specs.push(DataKeyPairSpec::EccNistEdwards25519),
        Err(e) => assert_err(
            &e,
            "UnsupportedOperationException",
            &["CKM_EC_EDWARDS_KEY_PAIR_GEN"],
        ),
    }
    for spec in specs {
        let out = kms
            .generate_data_key_pair()
            .key_id(&key_id)
            .key_pair_spec(spec.clone())
            .encryption_context("purpose", "test")
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "GenerateDataKeyPair {spec:?}: {} {}",
                    err_code(&e),
                    err_message(&e)
                )
            });
        assert_eq!(out.key_pair_spec(), Some(&spec));
        assert_eq!(out.key_id(), Some(Server::key_arn(R, &key_id).as_str()));
        let pkcs8 = out.private_key_plaintext().unwrap().as_ref().to_vec();
        let public = out.public_key().unwrap().as_ref().to_vec();
        assert_eq!(
            public_of_pkcs8(&spec, &pkcs8),
            public,
            "{spec:?}: private matches public"
        );
        let back = kms
            .decrypt()
            .ciphertext_blob(out.private_key_ciphertext_blob().unwrap().clone())
            .encryption_context("purpose", "test")
            .send()
            .await
            .expect("Decrypt of PrivateKeyCiphertextBlob");
        assert_eq!(back.plaintext().unwrap().as_ref(), &pkcs8[..]);
        // test_encryption_context_generate_data_key_pair: the context is bound.
        let e = must_fail(
            kms.decrypt()
                .ciphertext_blob(out.private_key_ciphertext_blob().unwrap().clone())
                .send()
                .await,
            "Decrypt without the encryption context",
        );
        assert_err(&e, "InvalidCiphertextException", &[]);

        let out = kms
            .generate_data_key_pair_without_plaintext()
            .key_id(&key_id)
            .key_pair_spec(spec.clone())
            .send()
            .await
            .expect("GenerateDataKeyPairWithoutPlaintext");
        let public = out.public_key().unwrap().as_ref().to_vec();
        let back = kms
            .decrypt()
            .ciphertext_blob(out.private_key_ciphertext_blob().unwrap().clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            public_of_pkcs8(&spec, back.plaintext().unwrap().as_ref()),
            public
        );
    }
    // Only symmetric encryption keys protect data key pairs.
    let signing = NewKey::of(KeySpec::EccNistP256, KeyUsageType::SignVerify)
        .multi_region(false)
        .create_id(&kms)
        .await;
    let e = must_fail(
        kms.generate_data_key_pair()
            .key_id(&signing)
            .key_pair_spec(DataKeyPairSpec::EccNistP256)
            .send()
            .await,
        "GenerateDataKeyPair under a signing key",
    );
    assert_err(&e, "InvalidKeyUsageException", &["GenerateDataKeyPair"]);
    // DryRun (recorded).
    let e = must_fail(
        kms.generate_data_key_pair()
            .key_id(&key_id)
            .key_pair_spec(DataKeyPairSpec::EccNistP256)
            .dry_run(true)
            .send()
            .await,
        "DryRun",
    );
    assert_err(
        &e,
        "DryRunOperationException",
        &["The request would have succeeded, but the DryRun option is set."],
    );
}

/// Multi-Region asymmetric keys: the private key travels wrapped between the tokens; the
/// public key is the same in every Region; a signature, a ciphertext or a shared secret
/// made in one Region is good in the other.
#[tokio::test(flavor = "multi_thread")]
async fn multi_region_asymmetric_keys_work_across_regions() {
    const EU: &str = "eu-west-1";
    let server = Server::start();
    let us = server.client(R).await;
    let eu = server.client(EU).await;

    for (spec, algorithm) in [
        (KeySpec::EccNistP256, SigningAlgorithmSpec::EcdsaSha256),
        (KeySpec::EccSecgP256K1, SigningAlgorithmSpec::EcdsaSha256),
        (KeySpec::Rsa2048, SigningAlgorithmSpec::RsassaPssSha256),
    ] {
        let key_id = NewKey::of(spec.clone(), KeyUsageType::SignVerify)
            .multi_region(true)
            .create_id(&us)
            .await;
        replicate_to(&server, &us, &key_id, &[EU]).await;
        let us_public = public_key(&us, &key_id).await;
        let eu_public = public_key(&eu, &key_id).await;
        assert_eq!(
            us_public, eu_public,
            "{spec:?}: same public key in both Regions"
        );
        let message = b"signed in us-east-1";
        let signature = sign(&us, &key_id, &algorithm, MessageType::Raw, message).await;
        assert!(verify_independently(
            &spec, &eu_public, &algorithm, message, &signature
        ));
        let out = eu
            .verify()
            .key_id(&key_id)
            .signing_algorithm(algorithm.clone())
            .message(blob(message))
            .signature(blob(&signature))
            .send()
            .await
            .expect("Verify in eu-west-1");
        assert!(out.signature_valid());
        assert_eq!(out.key_id(), Some(Server::key_arn(EU, &key_id).as_str()));
        // And the replica's private key signs too (it is the same key: verify in us-east-1).
        let out = eu
            .sign()
            .key_id(&key_id)
            .signing_algorithm(algorithm.clone())
            .message(blob(b"signed in eu-west-1"))
            .send()
            .await
            .expect("Sign in eu-west-1");
        let signature = out.signature().unwrap().as_ref().to_vec();
        assert!(verify_independently(
            &spec,
            &us_public,
            &algorithm,
            b"signed in eu-west-1",
            &signature
        ));
    }

    // Ed25519: the token cannot wrap EdDSA private keys, so no multi-Region Ed25519 key.
    let e = must_fail(
        us.create_key()
            .key_spec(KeySpec::EccNistEdwards25519)
            .key_usage(KeyUsageType::SignVerify)
            .multi_region(true)
            .send()
            .await,
        "multi-Region Ed25519 key",
    );
    assert_err(
        &e,
        "UnsupportedOperationException",
        &["CKR_KEY_NOT_WRAPPABLE"],
    );

    // RSA encryption: ciphertext from one Region decrypts in the other.
    let key_id = NewKey::of(KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt)
        .multi_region(true)
        .create_id(&us)
        .await;
    replicate_to(&server, &us, &key_id, &[EU]).await;
    assert_eq!(
        public_key(&us, &key_id).await,
        public_key(&eu, &key_id).await
    );
    let ct = eu
        .encrypt()
        .key_id(&key_id)
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .plaintext(blob(b"from eu-west-1"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    let out = us
        .decrypt()
        .key_id(&key_id)
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .ciphertext_blob(ct)
        .send()
        .await
        .expect("Decrypt in us-east-1");
    assert_eq!(out.plaintext().unwrap().as_ref(), b"from eu-west-1");

    // Key agreement: both Regions derive the same secret with a peer.
    let key_id = NewKey::of(KeySpec::EccNistP384, KeyUsageType::KeyAgreement)
        .multi_region(true)
        .create_id(&us)
        .await;
    replicate_to(&server, &us, &key_id, &[EU]).await;
    let spki = public_key(&eu, &key_id).await;
    let (peer, expected) = ecdh_local(&KeySpec::EccNistP384, &spki);
    assert_eq!(derive(&us, &key_id, &peer).await, expected);
    assert_eq!(derive(&eu, &key_id, &peer).await, expected);
}
