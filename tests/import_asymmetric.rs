//! Imported HMAC keys and asymmetric private keys (bring your own key), end to end through
//! the aws-sdk-kms client, with known-answer checks made outside the server:
//! - an imported HMAC key's GenerateMac equals the `hmac` crate's MAC over the same
//!   message with the same key;
//! - an imported EC private key's GetPublicKey equals the public key RustCrypto derives
//!   from that private key, and its signatures verify with that independently derived key;
//! - an RSA private key imported with RSA_AES_KEY_WRAP_SHA_256 signs (checked with the
//!   `rsa` crate) and decrypts what the `rsa` crate encrypted under its public key.
//!
//! The material is wrapped as an outside user wraps it (the `rsa` and `aes-kw` crates).

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, KeySpec, KeyState, KeyUsageType, MacAlgorithmSpec,
    MessageType, SigningAlgorithmSpec, WrappingKeySpec,
};
use aws_sdk_kms::Client;
use base64::Engine as _;
use common::wrapping::{oaep_encrypt, wrap};
use common::*;
use hmac::Mac;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use sha2::Digest;

/// A fixed RSA-2048 private key (PKCS#8 DER, made once with `openssl genpkey`).
const RSA_2048_PKCS8_B64: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCG3IfZG6BSz3NkaI2R3OJ8p9LB9sotQp2WNs6JsTNSlDSGE+7tjR9Ri5d7NoaiAPHAIQuHduI/dAejknYRBnRxCWsLgs/ohqNbrJM7if/7Cji70+Du4/17dFL9TjCQN30Et8Lq3Ie5oFKXZkVQyRxKwJ37rVf7hkf2JikipTOwbxSQaoPUSSXe25otMtjH9pzs2c+q0jNR9bmBtQZKB0t3RSLXRHy8zu5V2CoICJR4ph7SngoY7ZdWuJAaJlisqngnb5YPLLrEfKTiQf0ZV33g/AWu/uTHxIDZWK56VEPurpLVqkugaGbE6oAd8nk1ytrilH40JmEIlUPfSTe8BkkBAgMBAAECggEABSQQeKX9M1LtpOj4ZpRLPPG/zr2L4PROYgzGTEjpOi9knizR2ZPc2wSteliugqvzCz4nPJt7TexsIx/g6M68bxerETYEG2rQfNzkAuvEiosN9RkDVM/zmHprdHT/1GuNFDo2D7Jm6RxTsapIH6d+8NmNXCv0M+YfRaKYRFYUVZgkP8V2QtygmdRsTNA23HB5TThE5Gg+QsrkgDeroSWQ6wEEzs+TOqcjKdqGjgSrxSvNi4ps9HepBn5GUVIZrPjdUvSY+sD3bFlIXLwRx+I5Ei07yMbItArq5unFtnmfedi6OIIdnpHCkKpT9IHQ1b1p73QlO3QZIfOOSKx1dJPb8QKBgQC53iEBkgndJ0vdeXHsXkTbWRXWsmQpqvCuymC5zGkWBm39fnO8H/XWqOXmbM0nXLo3f8DmdGD2N2g4rGPRAUuuZu4UfX15WsbvEVjwRLjLCeUWcrfliFiTN4xsKDo+8acCvDoUeT4ZI0qrQoi9kFjDJLvmu1Z4HfqSprHZiEwDiQKBgQC5v3Vws/N1c0mH2pA0t2+jH44p1NUohLOZFt3bbo9rqrEzC1vailB3GnGRqOOUEIOXQg+8LtK4hXkX6YC+VKZB5JV+qfNHUvCirXzdL51LVBLqn4ox6YMkzgWuetnaAS82aZaG22ZWgLdcrLWal+tmvDlOUpT60Xq4/EMFQLwjuQKBgDlilXowpo77NPcaKcw6hrPaW13AEiCzQEAXB6oVrFQ6g/cB9aWdkH9IAkMUUHrYrD26WcpNICqkjK8CuoarCby81sDIxdaT6luhVX5JGWzGj05Q+OoLIJ3DRr2V5fXNEi1MA/qSPFPyi3k4v5MXX/BQBRuFt3q6dsSUZtCsvhtRAoGBALb+7v7H6tUNbaXQKD4ncm6tCewgaJhwlFgAdTZX6ChUlBsL18Soe7m7baPpVbxrwJjmVoY5QxTTOofaXiIlV16XisitOqZMChLbBKcM39R00eYgo4+k1LUP2/0Xv0TN4eujfs8BnAMg8IT3Cjtx7FLcoUCOj4PDmTpiHM0yB6jRAoGADq8xClLIFF/Fwjwe9L925iYvTy5/1RWESfr3ouGTkhJu/4tYbm3ir3Ir8PAzlzVoBhk5W0Opvm1DoF/69Uf3kgtkVsBC0k26O5AzzAEHok2KRIFd2MD6aJbTHDHHtGj7gUQ6FsjDViYskxUVuvAhN8uqA17sbD7SI84i5Dlr4XY=";

struct Params {
    token: Vec<u8>,
    public_key: Vec<u8>,
}

async fn parameters(client: &Client, key_id: &str, algorithm: &str) -> Params {
    let out = client
        .get_parameters_for_import()
        .key_id(key_id)
        .wrapping_algorithm(AlgorithmSpec::from(algorithm))
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetParametersForImport {algorithm}: {e:?}"));
    Params {
        token: out.import_token().expect("ImportToken").as_ref().to_vec(),
        public_key: out.public_key().expect("PublicKey").as_ref().to_vec(),
    }
}

async fn try_import(
    client: &Client,
    key_id: &str,
    algorithm: &str,
    material: &[u8],
) -> Result<
    String,
    aws_sdk_kms::error::SdkError<
        aws_sdk_kms::operation::import_key_material::ImportKeyMaterialError,
    >,
> {
    let p = parameters(client, key_id, algorithm).await;
    let out = client
        .import_key_material()
        .key_id(key_id)
        .import_token(Blob::new(p.token))
        .encrypted_key_material(Blob::new(wrap(&p.public_key, algorithm, material)))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await?;
    Ok(out.key_material_id().expect("KeyMaterialId").to_string())
}

async fn import(client: &Client, key_id: &str, algorithm: &str, material: &[u8]) -> String {
    try_import(client, key_id, algorithm, material)
        .await
        .unwrap_or_else(|e| panic!("ImportKeyMaterial {algorithm}: {e:?}"))
}

async fn generate_mac(
    client: &Client,
    key_id: &str,
    algorithm: MacAlgorithmSpec,
    message: &[u8],
) -> Vec<u8> {
    client
        .generate_mac()
        .key_id(key_id)
        .mac_algorithm(algorithm)
        .message(Blob::new(message.to_vec()))
        .send()
        .await
        .expect("GenerateMac")
        .mac()
        .expect("Mac")
        .as_ref()
        .to_vec()
}

async fn sign(
    client: &Client,
    key_id: &str,
    algorithm: SigningAlgorithmSpec,
    message: &[u8],
) -> Vec<u8> {
    client
        .sign()
        .key_id(key_id)
        .signing_algorithm(algorithm)
        .message_type(MessageType::Raw)
        .message(Blob::new(message.to_vec()))
        .send()
        .await
        .expect("Sign")
        .signature()
        .expect("Signature")
        .as_ref()
        .to_vec()
}

/// The `hmac` crate's MAC (the known answer).
fn reference_mac(spec: &KeySpec, key: &[u8], message: &[u8]) -> Vec<u8> {
    match spec {
        KeySpec::Hmac224 => {
            let mut m = hmac::Hmac::<sha2::Sha224>::new_from_slice(key).unwrap();
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
        KeySpec::Hmac256 => {
            let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
        KeySpec::Hmac384 => {
            let mut m = hmac::Hmac::<sha2::Sha384>::new_from_slice(key).unwrap();
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut m = hmac::Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
    }
}

/// A fixed key of `len` bytes (the known key of the known-answer tests).
fn known_key(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(7)))
        .collect()
}

const ALGORITHMS: [&str; 4] = [
    "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
];

#[tokio::test]
async fn imported_hmac_keys_mac_exactly_like_the_hmac_crate() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let specs = [
        (KeySpec::Hmac224, MacAlgorithmSpec::HmacSha224, 28),
        (KeySpec::Hmac256, MacAlgorithmSpec::HmacSha256, 32),
        (KeySpec::Hmac384, MacAlgorithmSpec::HmacSha384, 48),
        (KeySpec::Hmac512, MacAlgorithmSpec::HmacSha512, 64),
    ];
    let message = b"known-answer test message for an imported HMAC key";
    for (i, (spec, mac_alg, len)) in specs.into_iter().enumerate() {
        let key_id = NewKey::of(spec.clone(), KeyUsageType::GenerateVerifyMac)
            .external()
            .multi_region(false)
            .create_id(&client)
            .await;
        let key = known_key(len, i as u8 + 1);
        // Wrong lengths are InvalidCiphertextException, through the in-token path (SHA-1)
        // and the host OAEP path (SHA-256) alike.
        for (alg, wrong) in [
            ("RSAES_OAEP_SHA_1", len - 1),
            ("RSAES_OAEP_SHA_256", len + 1),
            ("RSA_AES_KEY_WRAP_SHA_1", len - 4),
        ] {
            let e = must_fail(
                try_import(&client, &key_id, alg, &known_key(wrong, 9)).await,
                "wrong length",
            );
            assert_err(
                &e,
                "InvalidCiphertextException",
                &["bytes long", spec.as_str()],
            );
        }
        let algorithm = ALGORITHMS[i % ALGORITHMS.len()];
        import(&client, &key_id, algorithm, &key).await;
        let md = describe(&client, &key_id).await;
        assert_eq!(md.key_state(), Some(&KeyState::Enabled), "{spec:?}");
        assert_eq!(
            md.expiration_model(),
            Some(&ExpirationModelType::KeyMaterialDoesNotExpire)
        );
        assert_eq!(
            md.current_key_material_id(),
            None,
            "AWS shows none for HMAC keys"
        );
        let mac = generate_mac(&client, &key_id, mac_alg.clone(), message).await;
        assert_eq!(
            mac,
            reference_mac(&spec, &key, message),
            "{spec:?} via {algorithm}"
        );
        let ok = client
            .verify_mac()
            .key_id(&key_id)
            .mac_algorithm(mac_alg.clone())
            .message(Blob::new(message.to_vec()))
            .mac(Blob::new(mac))
            .send()
            .await
            .expect("VerifyMac");
        assert!(ok.mac_valid());

        // Delete: PendingImport; other material is refused; the same comes back.
        client
            .delete_imported_key_material()
            .key_id(&key_id)
            .send()
            .await
            .expect("DeleteImportedKeyMaterial");
        assert_eq!(
            describe(&client, &key_id).await.key_state(),
            Some(&KeyState::PendingImport)
        );
        let e = must_fail(
            try_import(&client, &key_id, algorithm, &known_key(len, 200)).await,
            "other material",
        );
        assert_err(&e, "IncorrectKeyMaterialException", &[]);
        import(
            &client,
            &key_id,
            ALGORITHMS[(i + 1) % ALGORITHMS.len()],
            &key,
        )
        .await;
        assert_eq!(
            generate_mac(&client, &key_id, mac_alg, message).await,
            reference_mac(&spec, &key, message)
        );
    }
}

/// (spec, algorithm, PKCS#8 of a known private key, its SubjectPublicKeyInfo derived by
/// RustCrypto).
fn known_ec_key(spec: &KeySpec, seed: u8) -> (Vec<u8>, Vec<u8>) {
    let scalar = |len: usize| -> Vec<u8> {
        let mut s = known_key(len, seed);
        s[0] = 0x01; // below the group order of every curve
        s
    };
    match spec {
        KeySpec::EccNistP256 => {
            let k = p256::SecretKey::from_slice(&scalar(32)).unwrap();
            (
                k.to_pkcs8_der().unwrap().as_bytes().to_vec(),
                k.public_key().to_public_key_der().unwrap().into_vec(),
            )
        }
        KeySpec::EccNistP384 => {
            let k = p384::SecretKey::from_slice(&scalar(48)).unwrap();
            (
                k.to_pkcs8_der().unwrap().as_bytes().to_vec(),
                k.public_key().to_public_key_der().unwrap().into_vec(),
            )
        }
        KeySpec::EccNistP521 => {
            let k = p521::SecretKey::from_slice(&scalar(66)).unwrap();
            (
                k.to_pkcs8_der().unwrap().as_bytes().to_vec(),
                k.public_key().to_public_key_der().unwrap().into_vec(),
            )
        }
        _ => {
            let k = k256::SecretKey::from_slice(&scalar(32)).unwrap();
            (
                k.to_pkcs8_der().unwrap().as_bytes().to_vec(),
                k.public_key().to_public_key_der().unwrap().into_vec(),
            )
        }
    }
}

/// Verifies an ECDSA signature (DER) over `message` with `spki`, RustCrypto only.
fn verify_ecdsa(spec: &KeySpec, spki: &[u8], message: &[u8], signature: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    match spec {
        KeySpec::EccNistP256 => {
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
            let sig = p256::ecdsa::Signature::from_der(signature).unwrap();
            key.verify_prehash(&sha2::Sha256::digest(message), &sig)
                .is_ok()
        }
        KeySpec::EccNistP384 => {
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
            let sig = p384::ecdsa::Signature::from_der(signature).unwrap();
            key.verify_prehash(&sha2::Sha384::digest(message), &sig)
                .is_ok()
        }
        KeySpec::EccNistP521 => {
            use p521::elliptic_curve::sec1::ToEncodedPoint;
            let public = p521::PublicKey::from_public_key_der(spki).unwrap();
            let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(
                public.to_encoded_point(false).as_bytes(),
            )
            .unwrap();
            let sig = p521::ecdsa::Signature::from_der(signature).unwrap();
            key.verify_prehash(&sha2::Sha512::digest(message), &sig)
                .is_ok()
        }
        _ => {
            let key = k256::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
            let sig = k256::ecdsa::Signature::from_der(signature).unwrap();
            let sig = sig.normalize_s().unwrap_or(sig);
            key.verify_prehash(&sha2::Sha256::digest(message), &sig)
                .is_ok()
        }
    }
}

#[tokio::test]
async fn imported_ec_keys_sign_with_the_known_private_key() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let specs = [
        (KeySpec::EccNistP256, SigningAlgorithmSpec::EcdsaSha256),
        (KeySpec::EccNistP384, SigningAlgorithmSpec::EcdsaSha384),
        (KeySpec::EccNistP521, SigningAlgorithmSpec::EcdsaSha512),
        (KeySpec::EccSecgP256K1, SigningAlgorithmSpec::EcdsaSha256),
    ];
    let message = b"known-answer test message for an imported EC key";
    for (i, (spec, alg)) in specs.into_iter().enumerate() {
        let key_id = NewKey::of(spec.clone(), KeyUsageType::SignVerify)
            .external()
            .multi_region(false)
            .create_id(&client)
            .await;
        let (pkcs8, spki) = known_ec_key(&spec, 10 + i as u8);
        // A key of another curve is refused.
        let other = if spec == KeySpec::EccNistP384 {
            KeySpec::EccNistP256
        } else {
            KeySpec::EccNistP384
        };
        let (other_pkcs8, _) = known_ec_key(&other, 99);
        let e = must_fail(
            try_import(&client, &key_id, "RSA_AES_KEY_WRAP_SHA_1", &other_pkcs8).await,
            "PKCS#8 of another curve",
        );
        assert_err(&e, "IncorrectKeyMaterialException", &[spec.as_str()]);
        // Garbage is not a private key.
        let e = must_fail(
            try_import(
                &client,
                &key_id,
                "RSA_AES_KEY_WRAP_SHA_256",
                &known_key(40, 1),
            )
            .await,
            "not PKCS#8",
        );
        assert_err(&e, "InvalidCiphertextException", &[]);

        let algorithm = if i % 2 == 0 {
            "RSA_AES_KEY_WRAP_SHA_1"
        } else {
            "RSA_AES_KEY_WRAP_SHA_256"
        };
        import(&client, &key_id, algorithm, &pkcs8).await;
        let md = describe(&client, &key_id).await;
        assert_eq!(md.key_state(), Some(&KeyState::Enabled));
        assert_eq!(
            md.expiration_model(),
            Some(&ExpirationModelType::KeyMaterialDoesNotExpire)
        );
        assert_eq!(
            public_key(&client, &key_id).await,
            spki,
            "{spec:?}: GetPublicKey is the imported key's"
        );
        let signature = sign(&client, &key_id, alg.clone(), message).await;
        assert!(
            verify_ecdsa(&spec, &spki, message, &signature),
            "{spec:?}: the known key verifies the signature"
        );
        let verified = client
            .verify()
            .key_id(&key_id)
            .signing_algorithm(alg.clone())
            .message(Blob::new(message.to_vec()))
            .signature(Blob::new(signature))
            .send()
            .await
            .expect("Verify");
        assert!(verified.signature_valid());
    }
}

/// ImportKeyMaterial of a PKCS#8 wrapped with RSAES_OAEP_* under an RSA_4096 wrapping
/// key (issue 16 item 5).
async fn try_import_oaep(
    client: &Client,
    key_id: &str,
    algorithm: &str,
    material: &[u8],
) -> Result<
    String,
    aws_sdk_kms::error::SdkError<
        aws_sdk_kms::operation::import_key_material::ImportKeyMaterialError,
    >,
> {
    let out = client
        .get_parameters_for_import()
        .key_id(key_id)
        .wrapping_algorithm(AlgorithmSpec::from(algorithm))
        .wrapping_key_spec(WrappingKeySpec::Rsa4096)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetParametersForImport {algorithm}: {e:?}"));
    let public = out.public_key().expect("PublicKey").as_ref().to_vec();
    let out = client
        .import_key_material()
        .key_id(key_id)
        .import_token(out.import_token().expect("ImportToken").clone())
        .encrypted_key_material(Blob::new(wrap(&public, algorithm, material)))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await?;
    Ok(out.key_material_id().expect("KeyMaterialId").to_string())
}

/// As AWS does, ECC private keys import wrapped with RSAES_OAEP_SHA_1 and
/// RSAES_OAEP_SHA_256 too (the PKCS#8 fits an RSA_4096 wrapping key): the token parses
/// the PKCS#8 by way of its transit key. The imported key signs what the known key
/// verifies; a PKCS#8 of another curve and bytes that are no PKCS#8 are refused.
#[tokio::test]
async fn imported_ec_keys_wrapped_with_rsaes_oaep_sign_with_the_known_private_key() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let specs = [
        (KeySpec::EccNistP256, SigningAlgorithmSpec::EcdsaSha256),
        (KeySpec::EccNistP384, SigningAlgorithmSpec::EcdsaSha384),
        (KeySpec::EccNistP521, SigningAlgorithmSpec::EcdsaSha512),
        (KeySpec::EccSecgP256K1, SigningAlgorithmSpec::EcdsaSha256),
    ];
    let message = b"known-answer test message for an EC key imported with OAEP";
    for (i, (spec, alg)) in specs.into_iter().enumerate() {
        for algorithm in ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] {
            let key_id = NewKey::of(spec.clone(), KeyUsageType::SignVerify)
                .external()
                .create_id(&client)
                .await;
            let other = if spec == KeySpec::EccNistP384 {
                KeySpec::EccNistP256
            } else {
                KeySpec::EccNistP384
            };
            let (other_pkcs8, _) = known_ec_key(&other, 98);
            let e = must_fail(
                try_import_oaep(&client, &key_id, algorithm, &other_pkcs8).await,
                "PKCS#8 of another curve, OAEP",
            );
            assert_err(&e, "IncorrectKeyMaterialException", &[spec.as_str()]);
            let e = must_fail(
                try_import_oaep(&client, &key_id, algorithm, &known_key(40, 2)).await,
                "not PKCS#8, OAEP",
            );
            assert_err(&e, "InvalidCiphertextException", &[]);

            let (pkcs8, spki) = known_ec_key(&spec, 40 + i as u8);
            try_import_oaep(&client, &key_id, algorithm, &pkcs8)
                .await
                .unwrap_or_else(|e| panic!("{spec:?} {algorithm}: {e:?}"));
            assert_eq!(
                describe(&client, &key_id).await.key_state(),
                Some(&KeyState::Enabled)
            );
            assert_eq!(
                public_key(&client, &key_id).await,
                spki,
                "{spec:?} {algorithm}: GetPublicKey is the imported key's"
            );
            let signature = sign(&client, &key_id, alg.clone(), message).await;
            assert!(
                verify_ecdsa(&spec, &spki, message, &signature),
                "{spec:?} {algorithm}: the known key verifies the signature"
            );
        }
    }
}

#[tokio::test]
async fn imported_key_agreement_key_derives_the_known_shared_secret() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let spec = KeySpec::EccNistP256;
    let key_id = NewKey::of(spec.clone(), KeyUsageType::KeyAgreement)
        .external()
        .multi_region(false)
        .create_id(&client)
        .await;
    let (pkcs8, spki) = known_ec_key(&spec, 21);
    import(&client, &key_id, "RSA_AES_KEY_WRAP_SHA_256", &pkcs8).await;
    assert_eq!(public_key(&client, &key_id).await, spki);
    // The known answer: ECDH of the known private key with a peer key, by RustCrypto.
    let ours = p256::SecretKey::from_pkcs8_der(&pkcs8).unwrap();
    let peer = p256::SecretKey::from_slice(&known_key(32, 3)).unwrap();
    let expected =
        p256::ecdh::diffie_hellman(ours.to_nonzero_scalar(), peer.public_key().as_affine());
    let out = client
        .derive_shared_secret()
        .key_id(&key_id)
        .key_agreement_algorithm(aws_sdk_kms::types::KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(Blob::new(
            peer.public_key().to_public_key_der().unwrap().into_vec(),
        ))
        .send()
        .await
        .expect("DeriveSharedSecret");
    assert_eq!(
        out.shared_secret().expect("SharedSecret").as_ref(),
        expected.raw_secret_bytes().as_slice()
    );
}

#[tokio::test]
async fn ed25519_keys_cannot_take_imported_material() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let key_id = NewKey::of(KeySpec::EccNistEdwards25519, KeyUsageType::SignVerify)
        .external()
        .multi_region(false)
        .create_id(&client)
        .await;
    let e = must_fail(
        client
            .get_parameters_for_import()
            .key_id(&key_id)
            .wrapping_algorithm(AlgorithmSpec::RsaAesKeyWrapSha256)
            .wrapping_key_spec(WrappingKeySpec::Rsa2048)
            .send()
            .await,
        "GetParametersForImport for an Ed25519 key",
    );
    assert_err(
        &e,
        "UnsupportedOperationException",
        &["ECC_NIST_EDWARDS25519"],
    );
}

#[tokio::test]
async fn imported_ec_key_delete_reimport_and_other_material() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let spec = KeySpec::EccNistP256;
    let key_id = NewKey::of(spec.clone(), KeyUsageType::SignVerify)
        .external()
        .multi_region(false)
        .create_id(&client)
        .await;
    let (pkcs8, spki) = known_ec_key(&spec, 42);
    let first = import(&client, &key_id, "RSA_AES_KEY_WRAP_SHA_256", &pkcs8).await;
    client
        .delete_imported_key_material()
        .key_id(&key_id)
        .send()
        .await
        .expect("DeleteImportedKeyMaterial");
    let md = describe(&client, &key_id).await;
    assert_eq!(md.key_state(), Some(&KeyState::PendingImport));
    assert_eq!(md.expiration_model(), None);
    let e = must_fail(
        client
            .sign()
            .key_id(&key_id)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .message(Blob::new(b"x".to_vec()))
            .send()
            .await,
        "Sign while PendingImport",
    );
    assert_err(&e, "KMSInvalidStateException", &["is pending import."]);
    let (other, _) = known_ec_key(&spec, 43);
    let e = must_fail(
        try_import(&client, &key_id, "RSA_AES_KEY_WRAP_SHA_1", &other).await,
        "other EC key",
    );
    assert_err(
        &e,
        "IncorrectKeyMaterialException",
        &["not the key material previously imported"],
    );
    let again = import(&client, &key_id, "RSA_AES_KEY_WRAP_SHA_1", &pkcs8).await;
    assert_eq!(again, first, "the same material gets the same material id");
    assert_eq!(public_key(&client, &key_id).await, spki);
    let sig = sign(
        &client,
        &key_id,
        SigningAlgorithmSpec::EcdsaSha256,
        b"after re-import",
    )
    .await;
    assert!(verify_ecdsa(&spec, &spki, b"after re-import", &sig));
}

#[tokio::test]
async fn rsa_private_keys_import_only_with_rsa_aes_key_wrap() {
    let server = Server::start();
    let client = server.client("us-east-1").await;
    let pkcs8 = base64::engine::general_purpose::STANDARD
        .decode(RSA_2048_PKCS8_B64)
        .unwrap();
    let private = rsa::RsaPrivateKey::from_pkcs8_der(&pkcs8).unwrap();
    let public = private.to_public_key();
    let spki = public.to_public_key_der().unwrap().into_vec();

    let signer = NewKey::of(KeySpec::Rsa2048, KeyUsageType::SignVerify)
        .external()
        .multi_region(false)
        .create_id(&client)
        .await;
    for alg in [AlgorithmSpec::RsaesOaepSha1, AlgorithmSpec::RsaesOaepSha256] {
        let e = must_fail(
            client
                .get_parameters_for_import()
                .key_id(&signer)
                .wrapping_algorithm(alg)
                .wrapping_key_spec(WrappingKeySpec::Rsa4096)
                .send()
                .await,
            "RSAES_OAEP for an RSA key",
        );
        assert_err(&e, "ValidationException", &["RSA_AES"]);
    }
    // A private key of another size is refused.
    let e = must_fail(
        try_import(
            &client,
            &signer,
            "RSA_AES_KEY_WRAP_SHA_256",
            &known_ec_key(&KeySpec::EccNistP256, 1).0,
        )
        .await,
        "an EC key into an RSA key",
    );
    assert_err(&e, "InvalidCiphertextException", &[]);
    // A private key of another modulus size is refused.
    let big = NewKey::of(KeySpec::Rsa3072, KeyUsageType::SignVerify)
        .external()
        .multi_region(false)
        .create_id(&client)
        .await;
    let e = must_fail(
        try_import(&client, &big, "RSA_AES_KEY_WRAP_SHA_1", &pkcs8).await,
        "an RSA-2048 key into an RSA_3072 key",
    );
    assert_err(
        &e,
        "IncorrectKeyMaterialException",
        &["an RSA key of 2048 bits", "RSA_3072"],
    );
    import(&client, &signer, "RSA_AES_KEY_WRAP_SHA_256", &pkcs8).await;
    assert_eq!(public_key(&client, &signer).await, spki);
    let message = b"known-answer test message for an imported RSA key";
    let sig = sign(
        &client,
        &signer,
        SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
        message,
    )
    .await;
    public
        .verify(
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(message),
            &sig,
        )
        .expect("PKCS#1 v1.5 signature verifies with the rsa crate");
    let sig = sign(
        &client,
        &signer,
        SigningAlgorithmSpec::RsassaPssSha256,
        message,
    )
    .await;
    public
        .verify(
            rsa::Pss::new_with_salt::<sha2::Sha256>(32),
            &sha2::Sha256::digest(message),
            &sig,
        )
        .expect("PSS signature verifies with the rsa crate");

    // The same private key as an ENCRYPT_DECRYPT key: decrypts what the rsa crate encrypted.
    let decrypter = NewKey::of(KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt)
        .external()
        .multi_region(false)
        .create_id(&client)
        .await;
    import(&client, &decrypter, "RSA_AES_KEY_WRAP_SHA_1", &pkcs8).await;
    assert_eq!(public_key(&client, &decrypter).await, spki);
    let ciphertext = oaep_encrypt(&public, true, b"secret for the imported key");
    let out = client
        .decrypt()
        .key_id(&decrypter)
        .encryption_algorithm(aws_sdk_kms::types::EncryptionAlgorithmSpec::RsaesOaepSha256)
        .ciphertext_blob(Blob::new(ciphertext))
        .send()
        .await
        .expect("Decrypt");
    assert_eq!(
        out.plaintext().unwrap().as_ref(),
        b"secret for the imported key"
    );
    client
        .delete_imported_key_material()
        .key_id(&decrypter)
        .send()
        .await
        .expect("DeleteImportedKeyMaterial");
    assert_eq!(
        describe(&client, &decrypter).await.key_state(),
        Some(&KeyState::PendingImport)
    );
}

#[tokio::test]
async fn multi_region_external_hmac_and_ec_keys_take_the_same_material_in_every_region() {
    let server = Server::start();
    let east = server.client("us-east-1").await;
    let west = server.client("us-west-2").await;

    // HMAC.
    let key_id = NewKey::of(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)
        .external()
        .multi_region(true)
        .create_id(&east)
        .await;
    let key = known_key(32, 77);
    import(&east, &key_id, "RSAES_OAEP_SHA_256", &key).await;
    east.replicate_key()
        .key_id(&key_id)
        .replica_region("us-west-2")
        .send()
        .await
        .expect("ReplicateKey");
    wait_for_state(&west, &key_id, KeyState::PendingImport).await;
    let e = must_fail(
        try_import(&west, &key_id, "RSAES_OAEP_SHA_1", &known_key(32, 78)).await,
        "other material into the replica",
    );
    assert_err(&e, "IncorrectKeyMaterialException", &["primary key"]);
    import(&west, &key_id, "RSA_AES_KEY_WRAP_SHA_1", &key).await;
    assert_eq!(
        describe(&west, &key_id).await.key_state(),
        Some(&KeyState::Enabled)
    );
    let message = b"the same MAC in every Region";
    let mac_east = generate_mac(&east, &key_id, MacAlgorithmSpec::HmacSha256, message).await;
    let mac_west = generate_mac(&west, &key_id, MacAlgorithmSpec::HmacSha256, message).await;
    assert_eq!(mac_east, mac_west);
    assert_eq!(mac_east, reference_mac(&KeySpec::Hmac256, &key, message));

    // EC: the same public key in both Regions, the replica's signature verifies with it.
    let ec_id = NewKey::of(KeySpec::EccNistP384, KeyUsageType::SignVerify)
        .external()
        .multi_region(true)
        .create_id(&east)
        .await;
    let (pkcs8, spki) = known_ec_key(&KeySpec::EccNistP384, 5);
    import(&east, &ec_id, "RSA_AES_KEY_WRAP_SHA_256", &pkcs8).await;
    east.replicate_key()
        .key_id(&ec_id)
        .replica_region("us-west-2")
        .send()
        .await
        .expect("ReplicateKey");
    wait_for_state(&west, &ec_id, KeyState::PendingImport).await;
    let (other, _) = known_ec_key(&KeySpec::EccNistP384, 6);
    let e = must_fail(
        try_import(&west, &ec_id, "RSA_AES_KEY_WRAP_SHA_1", &other).await,
        "other EC key into the replica",
    );
    assert_err(&e, "IncorrectKeyMaterialException", &[]);
    import(&west, &ec_id, "RSA_AES_KEY_WRAP_SHA_1", &pkcs8).await;
    assert_eq!(public_key(&west, &ec_id).await, spki);
    assert_eq!(public_key(&east, &ec_id).await, spki);
    let sig = sign(&west, &ec_id, SigningAlgorithmSpec::EcdsaSha384, message).await;
    assert!(verify_ecdsa(&KeySpec::EccNistP384, &spki, message, &sig));
}
