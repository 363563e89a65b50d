//! Grants through aws-sdk-kms against the real server: CreateGrant, ListGrants,
//! ListRetirableGrants, RetireGrant and RevokeGrant; grant tokens in every operation that
//! takes them; the validation of operations per key type and of constraints; idempotent
//! names; the errors; key states; DryRun; the per-key limit; grants being Regional, going
//! with their key, and surviving kill -9; and their audit records.
//!
//! Open mode: every caller is the account's root user, so these tests are about the grants
//! themselves. Their effect on authorization is strict mode's (issue 11).

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, DataKeySpec, GrantConstraints, GrantListEntry, GrantOperation,
    KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType, MacAlgorithmSpec, SigningAlgorithmSpec,
};
use aws_sdk_kms::Client;
use base64::Engine as _;
use common::*;
use p256::pkcs8::EncodePublicKey;
use serde_json::Value;

const USER: &str = "arn:aws:iam::111122223333:user/exampleUser";
const OTHER_USER: &str = "arn:aws:iam::111122223333:user/anotherUser";
const ADMIN_ROLE: &str = "arn:aws:iam::111122223333:role/adminRole";
const US: &str = "us-east-1";
const EU: &str = "eu-west-1";

/// A grant for `USER` allowing `ops` on `key_id`: its id and token.
async fn grant(kms: &Client, key_id: &str, ops: &[GrantOperation]) -> (String, String) {
    let out = kms
        .create_grant()
        .key_id(key_id)
        .grantee_principal(USER)
        .set_operations(Some(ops.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateGrant {ops:?}: {} {}", err_code(&e), err_message(&e)));
    (
        out.grant_id().expect("GrantId").to_string(),
        out.grant_token().expect("GrantToken").to_string(),
    )
}

/// Every grant of a key (all pages).
async fn list(kms: &Client, key_id: &str) -> Vec<GrantListEntry> {
    let out = kms
        .list_grants()
        .key_id(key_id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListGrants: {} {}", err_code(&e), err_message(&e)));
    assert!(!out.truncated(), "more than one page");
    out.grants().to_vec()
}

fn ids(grants: &[GrantListEntry]) -> Vec<String> {
    grants
        .iter()
        .map(|g| g.grant_id().expect("GrantId").to_string())
        .collect()
}

/// The same token with one bit of its sealed body flipped.
fn tampered(token: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bytes = b64.decode(token).expect("a grant token is base64");
    let last = bytes.len() - 1;
    bytes[last / 2] ^= 0x01;
    b64.encode(bytes)
}

/// Parsed events of a Region's audit file.
fn audit_events(server: &Server, region: &str) -> Vec<Value> {
    std::fs::read_to_string(
        server
            .data_dir()
            .join("audit")
            .join(format!("{region}.jsonl")),
    )
    .unwrap_or_default()
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_is_created_listed_and_retired() {
    let server = Server::start();
    let kms = server.client(US).await;
    let (key_id, key_arn) = new_key(&kms).await;
    let before = server_time(&kms, &key_id).await;
    let out = kms
        .create_grant()
        .key_id(&key_id)
        .grantee_principal(USER)
        .operations(GrantOperation::Decrypt)
        .operations(GrantOperation::Encrypt)
        .retiring_principal(ADMIN_ROLE)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_subset("Department", "IT")
                .build(),
        )
        .name("IT-exampleUser")
        .send()
        .await
        .expect("CreateGrant");
    let grant_id = out.grant_id().expect("GrantId").to_string();
    let token = out.grant_token().expect("GrantToken").to_string();
    assert_eq!(grant_id.len(), 64, "{grant_id}");
    assert!(grant_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(
        !token.contains(&grant_id),
        "the token does not reveal the grant id"
    );

    let grants = list(&kms, &key_id).await;
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(g.key_id(), Some(key_arn.as_str()), "KeyId is the key ARN");
    assert_eq!(g.grant_id(), Some(grant_id.as_str()));
    assert_eq!(g.name(), Some("IT-exampleUser"));
    assert_eq!(g.grantee_principal(), Some(USER));
    assert_eq!(g.retiring_principal(), Some(ADMIN_ROLE));
    assert_eq!(g.issuing_account(), Some("arn:aws:iam::111122223333:root"));
    assert_eq!(
        g.operations(),
        [GrantOperation::Decrypt, GrantOperation::Encrypt]
    );
    let c = g.constraints().expect("Constraints");
    assert_eq!(
        c.encryption_context_subset()
            .and_then(|m| m.get("Department"))
            .map(String::as_str),
        Some("IT")
    );
    assert!(c.encryption_context_equals().is_none());
    let created = g.creation_date().expect("CreationDate").secs() as f64;
    assert!(
        (before - 5.0..before + 120.0).contains(&created),
        "CreationDate {created} near {before}"
    );

    // ListRetirableGrants: by retiring principal, across the Region's keys.
    let (other_key, _) = new_key(&kms).await;
    let other = kms
        .create_grant()
        .key_id(&other_key)
        .grantee_principal(OTHER_USER)
        .operations(GrantOperation::GenerateDataKey)
        .retiring_principal(ADMIN_ROLE)
        .send()
        .await
        .expect("second grant")
        .grant_id()
        .expect("GrantId")
        .to_string();
    grant(&kms, &other_key, &[GrantOperation::Encrypt]).await; // no retiring principal
    let retirable = kms
        .list_retirable_grants()
        .retiring_principal(ADMIN_ROLE)
        .send()
        .await
        .expect("ListRetirableGrants");
    let mut found = ids(retirable.grants());
    found.sort();
    let mut want = vec![grant_id.clone(), other.clone()];
    want.sort();
    assert_eq!(found, want);
    let none = kms
        .list_retirable_grants()
        .retiring_principal(USER)
        .send()
        .await
        .expect("ListRetirableGrants of a principal that retires nothing");
    assert!(none.grants().is_empty());

    // Retired by its token: gone, and a second retirement finds nothing.
    kms.retire_grant()
        .grant_token(&token)
        .send()
        .await
        .expect("RetireGrant by token");
    assert!(list(&kms, &key_id).await.is_empty());
    let e = must_fail(
        kms.retire_grant().grant_token(&token).send().await,
        "RetireGrant of a retired grant",
    );
    assert_err(&e, "NotFoundException", &[&grant_id, &key_arn]);

    // Retired by key and grant id; revoked by key and grant id.
    kms.retire_grant()
        .key_id(&other_key)
        .grant_id(&other)
        .send()
        .await
        .expect("RetireGrant by key and grant id");
    let (third, _) = grant(&kms, &other_key, &[GrantOperation::Decrypt]).await;
    assert_eq!(list(&kms, &other_key).await.len(), 2);
    kms.revoke_grant()
        .key_id(Server::key_arn(US, &other_key))
        .grant_id(&third)
        .send()
        .await
        .expect("RevokeGrant by key ARN");
    let left = ids(&list(&kms, &other_key).await);
    assert_eq!(left.len(), 1);
    assert!(!left.contains(&third) && !left.contains(&other));
}

/// The server's time, in epoch seconds, as a key's CreationDate shows it.
async fn server_time(kms: &Client, key_id: &str) -> f64 {
    describe(kms, key_id)
        .await
        .creation_date()
        .expect("CreationDate")
        .secs() as f64
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_that_takes_grant_tokens_accepts_a_valid_one_and_refuses_a_bad_one() {
    let server = Server::start();
    let kms = server.client(US).await;
    let other_region = server.client(EU).await;
    let (eu_key, _) = new_key(&other_region).await;
    let (_, eu_token) = grant(&other_region, &eu_key, &[GrantOperation::Encrypt]).await;

    let sym = new_key(&kms).await.0;
    let (_, token) = grant(&kms, &sym, &[GrantOperation::Encrypt]).await;
    let signing = NewKey::of(KeySpec::EccNistP256, KeyUsageType::SignVerify)
        .create_id(&kms)
        .await;
    let (_, sign_token) = grant(&kms, &signing, &[GrantOperation::Sign]).await;
    let mac = NewKey::of(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)
        .create_id(&kms)
        .await;
    let (_, mac_token) = grant(&kms, &mac, &[GrantOperation::GenerateMac]).await;
    let agreement = NewKey::of(KeySpec::EccNistP256, KeyUsageType::KeyAgreement)
        .create_id(&kms)
        .await;
    let (_, agreement_token) = grant(&kms, &agreement, &[GrantOperation::DeriveSharedSecret]).await;
    let ciphertext = encrypt(&kms, &sym, b"granted").await;
    let signature = kms
        .sign()
        .key_id(&signing)
        .message(blob(b"m"))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .expect("Sign")
        .signature()
        .expect("Signature")
        .as_ref()
        .to_vec();
    let tag = kms
        .generate_mac()
        .key_id(&mac)
        .message(blob(b"m"))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .expect("GenerateMac")
        .mac()
        .expect("Mac")
        .as_ref()
        .to_vec();
    let peer = p256::SecretKey::random(&mut aes_gcm::aead::OsRng)
        .public_key()
        .to_public_key_der()
        .expect("SPKI");

    // Each operation with the right token, then with bad ones: the right one passes, every
    // bad one is InvalidGrantTokenException.
    let bad = [
        tampered(&token),
        "bm90IGEgZ3JhbnQgdG9rZW4=".to_string(),
        "*not base64*".to_string(),
        eu_token.clone(),
    ];
    macro_rules! check {
        ($name:literal, $good:expr, |$t:ident| $call:expr) => {{
            let $t: Vec<String> = vec![$good.to_string()];
            if let Err(e) = $call.await {
                panic!(
                    "{} with a valid grant token: {} {}",
                    $name,
                    err_code(&e),
                    err_message(&e)
                );
            }
            for b in &bad {
                // A valid token does not make a bad one acceptable.
                let $t: Vec<String> = vec![$good.to_string(), b.clone()];
                let e = must_fail($call.await, $name);
                assert_err(&e, "InvalidGrantTokenException", &["grant token", US]);
            }
        }};
    }
    check!("Encrypt", token, |t| kms
        .encrypt()
        .key_id(&sym)
        .plaintext(blob(b"x"))
        .set_grant_tokens(Some(t))
        .send());
    check!("Decrypt", token, |t| kms
        .decrypt()
        .ciphertext_blob(Blob::new(ciphertext.clone()))
        .set_grant_tokens(Some(t))
        .send());
    check!("ReEncrypt", token, |t| kms
        .re_encrypt()
        .ciphertext_blob(Blob::new(ciphertext.clone()))
        .destination_key_id(&sym)
        .set_grant_tokens(Some(t))
        .send());
    check!("GenerateDataKey", token, |t| kms
        .generate_data_key()
        .key_id(&sym)
        .key_spec(DataKeySpec::Aes256)
        .set_grant_tokens(Some(t))
        .send());
    check!("GenerateDataKeyWithoutPlaintext", token, |t| kms
        .generate_data_key_without_plaintext()
        .key_id(&sym)
        .key_spec(DataKeySpec::Aes256)
        .set_grant_tokens(Some(t))
        .send());
    check!("GenerateDataKeyPair", token, |t| kms
        .generate_data_key_pair()
        .key_id(&sym)
        .key_pair_spec(DataKeyPairSpec::EccNistP256)
        .set_grant_tokens(Some(t))
        .send());
    check!("GenerateDataKeyPairWithoutPlaintext", token, |t| kms
        .generate_data_key_pair_without_plaintext()
        .key_id(&sym)
        .key_pair_spec(DataKeyPairSpec::EccNistP256)
        .set_grant_tokens(Some(t))
        .send());
    check!("DescribeKey", token, |t| kms
        .describe_key()
        .key_id(&sym)
        .set_grant_tokens(Some(t))
        .send());
    check!("CreateGrant", token, |t| kms
        .create_grant()
        .key_id(&sym)
        .grantee_principal(OTHER_USER)
        .operations(GrantOperation::Encrypt)
        .set_grant_tokens(Some(t))
        .send());
    check!("Sign", sign_token, |t| kms
        .sign()
        .key_id(&signing)
        .message(blob(b"m"))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .set_grant_tokens(Some(t))
        .send());
    check!("Verify", sign_token, |t| kms
        .verify()
        .key_id(&signing)
        .message(blob(b"m"))
        .signature(blob(&signature))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .set_grant_tokens(Some(t))
        .send());
    check!("GetPublicKey", sign_token, |t| kms
        .get_public_key()
        .key_id(&signing)
        .set_grant_tokens(Some(t))
        .send());
    check!("GenerateMac", mac_token, |t| kms
        .generate_mac()
        .key_id(&mac)
        .message(blob(b"m"))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .set_grant_tokens(Some(t))
        .send());
    check!("VerifyMac", mac_token, |t| kms
        .verify_mac()
        .key_id(&mac)
        .message(blob(b"m"))
        .mac(blob(&tag))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .set_grant_tokens(Some(t))
        .send());
    check!("DeriveSharedSecret", agreement_token, |t| kms
        .derive_shared_secret()
        .key_id(&agreement)
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(blob(peer.as_bytes()))
        .set_grant_tokens(Some(t))
        .send());

    // The token of a grant that no longer exists is still well formed: it is accepted
    // and allows nothing (a later grant of the same key is not revived by it).
    kms.retire_grant()
        .grant_token(&token)
        .send()
        .await
        .expect("retire");
    kms.encrypt()
        .key_id(&sym)
        .plaintext(blob(b"x"))
        .grant_tokens(&token)
        .send()
        .await
        .expect("a retired grant's token is not malformed");
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_operations_must_be_ones_the_key_supports() {
    let server = Server::start();
    let kms = server.client(US).await;
    let sym = new_key(&kms).await.0;
    let sym_arn = Server::key_arn(US, &sym);
    let rsa = NewKey::of(KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt)
        .create_id(&kms)
        .await;
    let mac = NewKey::of(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)
        .create_id(&kms)
        .await;
    let signing = NewKey::of(KeySpec::EccNistP256, KeyUsageType::SignVerify)
        .create_id(&kms)
        .await;
    use GrantOperation as Op;
    for (key, ops, words) in [
        (
            &sym,
            vec![Op::Sign],
            vec![
                "operation Sign is not supported",
                sym_arn.as_str(),
                "SYMMETRIC_DEFAULT",
            ],
        ),
        (
            &sym,
            vec![Op::Encrypt, Op::Verify, Op::GenerateMac],
            vec!["operations Verify, GenerateMac are"],
        ),
        (&sym, vec![Op::GetPublicKey], vec!["GetPublicKey"]),
        (
            &rsa,
            vec![Op::GenerateDataKey],
            vec!["GenerateDataKey", "RSA_2048"],
        ),
        (&rsa, vec![Op::Sign], vec!["Sign", "ENCRYPT_DECRYPT"]),
        (&mac, vec![Op::Encrypt], vec!["Encrypt", "HMAC_256"]),
        (&signing, vec![Op::Decrypt], vec!["Decrypt", "SIGN_VERIFY"]),
        (
            &signing,
            vec![Op::DeriveSharedSecret],
            vec!["DeriveSharedSecret"],
        ),
    ] {
        let e = must_fail(
            kms.create_grant()
                .key_id(key)
                .grantee_principal(USER)
                .set_operations(Some(ops.clone()))
                .send()
                .await,
            &format!("CreateGrant {ops:?} on {key}"),
        );
        assert_err(&e, "ValidationException", &words);
    }
    // What each key does support, with the operations every key accepts.
    for (key, ops) in [
        (
            &sym,
            vec![
                Op::Encrypt,
                Op::Decrypt,
                Op::GenerateDataKey,
                Op::GenerateDataKeyPair,
                Op::ReEncryptFrom,
                Op::ReEncryptTo,
                Op::DescribeKey,
                Op::CreateGrant,
                Op::RetireGrant,
            ],
        ),
        (
            &rsa,
            vec![Op::Encrypt, Op::Decrypt, Op::GetPublicKey, Op::DescribeKey],
        ),
        (&mac, vec![Op::GenerateMac, Op::VerifyMac, Op::RetireGrant]),
        (
            &signing,
            vec![Op::Sign, Op::Verify, Op::GetPublicKey, Op::CreateGrant],
        ),
    ] {
        grant(&kms, key, &ops).await;
    }

    // Only CreateGrant, none at all, an alias, principals that are not principals.
    let e = must_fail(
        kms.create_grant()
            .key_id(&sym)
            .grantee_principal(USER)
            .operations(Op::CreateGrant)
            .send()
            .await,
        "only CreateGrant",
    );
    assert_err(
        &e,
        "ValidationException",
        &["Grants must not contain only the CreateGrant operation."],
    );
    let e = must_fail(
        kms.create_grant()
            .key_id(&sym)
            .grantee_principal(USER)
            .set_operations(Some(vec![]))
            .send()
            .await,
        "no operation",
    );
    assert_err(&e, "ValidationException", &["at least one operation"]);
    kms.create_alias()
        .alias_name("alias/granted")
        .target_key_id(&sym)
        .send()
        .await
        .expect("CreateAlias");
    for alias in [
        "alias/granted".to_string(),
        Server::alias_arn(US, "alias/granted"),
    ] {
        let e = must_fail(
            kms.create_grant()
                .key_id(&alias)
                .grantee_principal(USER)
                .operations(Op::Encrypt)
                .send()
                .await,
            "CreateGrant on an alias",
        );
        assert_err(
            &e,
            "InvalidArnException",
            &["Key Aliases are not supported for this operation."],
        );
    }
    for (grantee, retiring) in [("exampleUser", None), (USER, Some("arn:aws:s3:::bucket"))] {
        let e = must_fail(
            kms.create_grant()
                .key_id(&sym)
                .grantee_principal(grantee)
                .set_retiring_principal(retiring.map(str::to_string))
                .operations(Op::Encrypt)
                .send()
                .await,
            "a principal that is not one",
        );
        assert_err(&e, "InvalidArnException", &["is not a valid principal"]);
    }
    let e = must_fail(
        kms.create_grant()
            .key_id(&sym)
            .operations(Op::Encrypt)
            .send()
            .await,
        "no grantee",
    );
    assert_err(
        &e,
        "ValidationException",
        &["GranteePrincipal or GranteeServicePrincipal"],
    );
    let e = must_fail(
        kms.create_grant()
            .key_id(&sym)
            .grantee_principal(USER)
            .grantee_service_principal("dynamodb.amazonaws.com")
            .operations(Op::Encrypt)
            .send()
            .await,
        "two grantees",
    );
    assert_err(&e, "ValidationException", &["but not both"]);
    // An account id, an account root, a role and a session are principals.
    for grantee in [
        "111122223333",
        "arn:aws:iam::444455556666:root",
        ADMIN_ROLE,
        "arn:aws:sts::111122223333:assumed-role/adminRole/session",
    ] {
        kms.create_grant()
            .key_id(&sym)
            .grantee_principal(grantee)
            .operations(Op::Encrypt)
            .send()
            .await
            .unwrap_or_else(|e| panic!("grantee {grantee}: {} {}", err_code(&e), err_message(&e)));
    }
    // A service grantee needs a SourceArn constraint and a retiring principal.
    let service = |c: Option<GrantConstraints>, retiring: Option<&str>| {
        kms.create_grant()
            .key_id(&sym)
            .grantee_service_principal("dynamodb.amazonaws.com")
            .set_retiring_principal(retiring.map(str::to_string))
            .set_constraints(c)
            .operations(Op::Encrypt)
            .send()
    };
    let source = GrantConstraints::builder()
        .source_arn("arn:aws:dynamodb:us-east-1:111122223333:table/Services")
        .build();
    let e = must_fail(service(None, Some(ADMIN_ROLE)).await, "no SourceArn");
    assert_err(&e, "ValidationException", &["SourceArn"]);
    let e = must_fail(
        service(Some(source.clone()), None).await,
        "no retiring principal",
    );
    assert_err(
        &e,
        "ValidationException",
        &["RetiringPrincipal or a RetiringServicePrincipal"],
    );
    let id = service(Some(source), Some(ADMIN_ROLE))
        .await
        .expect("a service grant")
        .grant_id()
        .expect("GrantId")
        .to_string();
    let listed = kms
        .list_grants()
        .key_id(&sym)
        .grant_id(&id)
        .send()
        .await
        .expect("ListGrants by id");
    let g = &listed.grants()[0];
    assert_eq!(
        g.grantee_service_principal(),
        Some("dynamodb.amazonaws.com")
    );
    assert!(g.grantee_principal().is_none());
    assert_eq!(
        g.constraints().and_then(|c| c.source_arn()),
        Some("arn:aws:dynamodb:us-east-1:111122223333:table/Services")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn encryption_context_constraints_are_validated() {
    let server = Server::start();
    let kms = server.client(US).await;
    let sym = new_key(&kms).await.0;
    let rsa = NewKey::of(KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt)
        .create_id(&kms)
        .await;
    let mac = NewKey::of(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)
        .create_id(&kms)
        .await;
    use GrantOperation as Op;
    let subset = |pairs: &[(&str, &str)]| {
        let mut b = GrantConstraints::builder();
        for (k, v) in pairs {
            b = b.encryption_context_subset(*k, *v);
        }
        b.build()
    };
    let create = |key: &str, ops: Vec<Op>, c: GrantConstraints| {
        kms.create_grant()
            .key_id(key)
            .grantee_principal(USER)
            .set_operations(Some(ops))
            .constraints(c)
            .send()
    };
    let it = subset(&[("Department", "IT")]);
    // Operations without an encryption context.
    let e = must_fail(
        create(&mac, vec![Op::GenerateMac], it.clone()).await,
        "GenerateMac",
    );
    assert_err(
        &e,
        "ValidationException",
        &["operation GenerateMac is not", "encryption context"],
    );
    // A key without encryption contexts, even for operations that have one elsewhere.
    let e = must_fail(create(&rsa, vec![Op::Decrypt], it.clone()).await, "RSA key");
    assert_err(
        &e,
        "ValidationException",
        &["symmetric encryption KMS key", "RSA_2048"],
    );
    // At most 8 pairs, at most 384 characters.
    let nine: Vec<(String, String)> = (0..9).map(|i| (format!("k{i}"), "v".into())).collect();
    let nine: Vec<(&str, &str)> = nine.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let e = must_fail(
        create(&sym, vec![Op::Decrypt], subset(&nine)).await,
        "9 pairs",
    );
    assert_err(
        &e,
        "ValidationException",
        &["9 encryption context pairs", "up to 8"],
    );
    let long = "v".repeat(380);
    let e = must_fail(
        create(&sym, vec![Op::Decrypt], subset(&[("key12", long.as_str())])).await,
        "385 characters",
    );
    assert_err(
        &e,
        "ValidationException",
        &["385 characters", "cannot exceed 384"],
    );
    create(&sym, vec![Op::Decrypt], subset(&[("key1", long.as_str())]))
        .await
        .expect("384 characters exactly");
    // DescribeKey, CreateGrant and RetireGrant may come with a constrained grant.
    create(
        &sym,
        vec![
            Op::Encrypt,
            Op::Decrypt,
            Op::DescribeKey,
            Op::CreateGrant,
            Op::RetireGrant,
        ],
        it.clone(),
    )
    .await
    .expect("constrained grant with the management operations");
    // Both constraints at once are kept, and listed.
    let both = GrantConstraints::builder()
        .encryption_context_equals("Department", "IT")
        .encryption_context_subset("Department", "IT")
        .build();
    let id = create(&sym, vec![Op::Decrypt], both)
        .await
        .expect("both constraints")
        .grant_id()
        .expect("GrantId")
        .to_string();
    let g = kms
        .list_grants()
        .key_id(&sym)
        .grant_id(&id)
        .send()
        .await
        .expect("ListGrants")
        .grants()[0]
        .clone();
    let c = g.constraints().expect("Constraints");
    assert!(c.encryption_context_equals().is_some() && c.encryption_context_subset().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_retry_with_the_same_parameters_is_the_same_grant() {
    let server = Server::start();
    let kms = server.client(US).await;
    let key = new_key(&kms).await.0;
    use GrantOperation as Op;
    let create = |name: Option<&str>, ops: Vec<Op>, retiring: Option<&str>| {
        kms.create_grant()
            .key_id(&key)
            .grantee_principal(USER)
            .set_operations(Some(ops))
            .set_retiring_principal(retiring.map(str::to_string))
            .set_name(name.map(str::to_string))
            .send()
    };
    let first = create(
        Some("retry-me"),
        vec![Op::Encrypt, Op::Decrypt],
        Some(ADMIN_ROLE),
    )
    .await
    .expect("first");
    let again = create(
        Some("retry-me"),
        vec![Op::Decrypt, Op::Encrypt],
        Some(ADMIN_ROLE),
    )
    .await
    .expect("retry");
    assert_eq!(first.grant_id(), again.grant_id(), "the same grant");
    assert_ne!(
        first.grant_token(),
        again.grant_token(),
        "a new token every time"
    );
    assert_eq!(list(&kms, &key).await.len(), 1, "nothing created");
    // Both tokens are tokens of that grant: either retires it... after the other was used.
    for t in [first.grant_token(), again.grant_token()] {
        kms.encrypt()
            .key_id(&key)
            .plaintext(blob(b"x"))
            .grant_tokens(t.expect("token"))
            .send()
            .await
            .expect("either token is accepted");
    }
    // Another parameter, or no name: a new grant.
    let other = create(Some("retry-me"), vec![Op::Encrypt], Some(ADMIN_ROLE))
        .await
        .expect("other operations");
    assert_ne!(other.grant_id(), first.grant_id());
    let other_retiring = create(Some("retry-me"), vec![Op::Encrypt, Op::Decrypt], None)
        .await
        .expect("no retiring principal");
    assert_ne!(other_retiring.grant_id(), first.grant_id());
    let a = create(None, vec![Op::Encrypt], None)
        .await
        .expect("unnamed");
    let b = create(None, vec![Op::Encrypt], None)
        .await
        .expect("unnamed again");
    assert_ne!(
        a.grant_id(),
        b.grant_id(),
        "without a name every request is a new grant"
    );
    assert_eq!(list(&kms, &key).await.len(), 5);
    kms.retire_grant()
        .grant_token(again.grant_token().expect("token"))
        .send()
        .await
        .expect("retire by the retry's token");
    let e = must_fail(
        kms.retire_grant()
            .grant_token(first.grant_token().expect("token"))
            .send()
            .await,
        "the first token names the same, retired grant",
    );
    assert_err(&e, "NotFoundException", &[first.grant_id().expect("id")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn list_grants_pages_in_creation_order_and_filters() {
    let server = Server::start();
    let kms = server.client(US).await;
    let key = new_key(&kms).await.0;
    let mut created = Vec::new();
    for i in 0..7 {
        let grantee = if i % 3 == 0 { OTHER_USER } else { USER };
        let id = kms
            .create_grant()
            .key_id(&key)
            .grantee_principal(grantee)
            .operations(GrantOperation::Encrypt)
            .send()
            .await
            .expect("CreateGrant")
            .grant_id()
            .expect("GrantId")
            .to_string();
        created.push((id, grantee));
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = kms
            .list_grants()
            .key_id(&key)
            .limit(3)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListGrants page");
        pages += 1;
        assert!(out.grants().len() <= 3);
        seen.extend(ids(out.grants()));
        if !out.truncated() {
            assert!(out.next_marker().is_none());
            break;
        }
        marker = Some(
            out.next_marker()
                .expect("NextMarker when truncated")
                .to_string(),
        );
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = created.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(seen, want, "every grant once, in creation order");

    let by_grantee = kms
        .list_grants()
        .key_id(&key)
        .grantee_principal(OTHER_USER)
        .send()
        .await
        .expect("by grantee");
    let want: Vec<String> = created
        .iter()
        .filter(|(_, g)| *g == OTHER_USER)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(ids(by_grantee.grants()), want);
    let by_id = kms
        .list_grants()
        .key_id(&key)
        .grant_id(&created[4].0)
        .send()
        .await
        .expect("by id");
    assert_eq!(ids(by_id.grants()), vec![created[4].0.clone()]);
    let unknown = "0".repeat(64);
    let none = kms
        .list_grants()
        .key_id(&key)
        .grant_id(&unknown)
        .send()
        .await
        .expect("by an id the key does not have");
    assert!(none.grants().is_empty());
    let e = must_fail(
        kms.list_grants().key_id(&key).grant_id("abc").send().await,
        "malformed GrantId",
    );
    assert_err(&e, "InvalidGrantIdException", &["abc"]);
    let e = must_fail(
        kms.list_grants()
            .key_id(&key)
            .marker("not-a-marker")
            .send()
            .await,
        "made-up marker",
    );
    assert_err(&e, "InvalidMarkerException", &["not-a-marker"]);
    // Another key's grants are not listed; an unknown key is NotFoundException.
    let other = new_key(&kms).await.0;
    assert!(list(&kms, &other).await.is_empty());
    let ghost = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let e = must_fail(kms.list_grants().key_id(ghost).send().await, "unknown key");
    assert_err(
        &e,
        "NotFoundException",
        &[&Server::key_arn(US, ghost), "does not exist"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retire_and_revoke_say_what_was_wrong() {
    let server = Server::start();
    let kms = server.client(US).await;
    let (key, key_arn) = new_key(&kms).await;
    let (id, token) = grant(&kms, &key, &[GrantOperation::Encrypt]).await;
    let unknown = "ab".repeat(32);

    let e = must_fail(
        kms.revoke_grant()
            .key_id(&key)
            .grant_id("not-hex")
            .send()
            .await,
        "malformed id",
    );
    assert_err(&e, "InvalidGrantIdException", &["not-hex"]);
    let e = must_fail(
        kms.revoke_grant()
            .key_id(&key)
            .grant_id(&unknown)
            .send()
            .await,
        "unknown id",
    );
    assert_err(&e, "NotFoundException", &[&unknown, &key_arn]);
    let other = new_key(&kms).await.0;
    let e = must_fail(
        kms.revoke_grant().key_id(&other).grant_id(&id).send().await,
        "a grant of another key",
    );
    assert_err(&e, "NotFoundException", &[&id]);
    kms.create_alias()
        .alias_name("alias/revoking")
        .target_key_id(&key)
        .send()
        .await
        .expect("alias");
    let e = must_fail(
        kms.revoke_grant()
            .key_id("alias/revoking")
            .grant_id(&id)
            .send()
            .await,
        "alias",
    );
    assert_err(&e, "InvalidArnException", &["Key Aliases"]);

    for (key_id, grant_id) in [
        (None, None),
        (Some(key.as_str()), None),
        (None, Some(id.as_str())),
    ] {
        let e = must_fail(
            kms.retire_grant()
                .set_key_id(key_id.map(str::to_string))
                .set_grant_id(grant_id.map(str::to_string))
                .send()
                .await,
            "RetireGrant without a token or both ids",
        );
        assert_err(
            &e,
            "ValidationException",
            &["GrantToken", "KeyId and a GrantId"],
        );
    }
    let e = must_fail(
        kms.retire_grant()
            .grant_token(tampered(&token))
            .send()
            .await,
        "tampered token",
    );
    assert_err(&e, "InvalidGrantTokenException", &["grant token"]);
    let e = must_fail(
        kms.retire_grant()
            .grant_token(&token)
            .grant_id(&unknown)
            .send()
            .await,
        "token and another grant id",
    );
    assert_err(
        &e,
        "ValidationException",
        &["GrantId does not identify the grant of the grant token"],
    );
    let e = must_fail(
        kms.retire_grant()
            .grant_token(&token)
            .key_id(&other)
            .send()
            .await,
        "token and another key",
    );
    assert_err(&e, "ValidationException", &["another KMS key"]);
    assert_eq!(
        ids(&list(&kms, &key).await),
        vec![id.clone()],
        "nothing was retired"
    );
    kms.retire_grant()
        .grant_token(&token)
        .key_id(&key_arn)
        .grant_id(&id)
        .send()
        .await
        .expect("token, key and id that agree");
    assert!(list(&kms, &key).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_operations_follow_the_key_state_table() {
    let server = Server::start();
    let kms = server.client(US).await;
    let (key, arn) = new_key(&kms).await;
    let (id, token) = grant(&kms, &key, &[GrantOperation::Encrypt]).await;
    kms.disable_key()
        .key_id(&key)
        .send()
        .await
        .expect("DisableKey");
    let e = must_fail(
        kms.create_grant()
            .key_id(&key)
            .grantee_principal(USER)
            .operations(GrantOperation::Encrypt)
            .send()
            .await,
        "CreateGrant on a disabled key",
    );
    assert_err(&e, "DisabledException", &[&format!("{arn} is disabled.")]);
    assert_eq!(
        ids(&list(&kms, &key).await),
        vec![id.clone()],
        "ListGrants while disabled"
    );
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    let e = must_fail(
        kms.create_grant()
            .key_id(&key)
            .grantee_principal(USER)
            .operations(GrantOperation::Encrypt)
            .send()
            .await,
        "CreateGrant on a key pending deletion",
    );
    assert_err(&e, "KMSInvalidStateException", &[&arn, "pending deletion"]);
    // Listing, retiring and revoking are allowed in every state.
    assert_eq!(list(&kms, &key).await.len(), 1);
    let (id2, _) = {
        kms.cancel_key_deletion()
            .key_id(&key)
            .send()
            .await
            .expect("cancel");
        kms.enable_key().key_id(&key).send().await.expect("enable");
        let g = grant(&kms, &key, &[GrantOperation::Decrypt]).await;
        kms.schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(7)
            .send()
            .await
            .expect("ScheduleKeyDeletion");
        g
    };
    kms.retire_grant()
        .grant_token(&token)
        .send()
        .await
        .expect("RetireGrant on a key pending deletion");
    kms.revoke_grant()
        .key_id(&key)
        .grant_id(&id2)
        .send()
        .await
        .expect("RevokeGrant on a key pending deletion");
    assert!(list(&kms, &key).await.is_empty());

    // A key waiting for its material.
    let external = create_external(&kms, false).await;
    let e = must_fail(
        kms.create_grant()
            .key_id(&external)
            .grantee_principal(USER)
            .operations(GrantOperation::Encrypt)
            .send()
            .await,
        "CreateGrant on a key pending import",
    );
    assert_err(&e, "KMSInvalidStateException", &["pending import"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_changes_nothing() {
    let server = Server::start();
    let kms = server.client(US).await;
    let key = new_key(&kms).await.0;
    let e = must_fail(
        kms.create_grant()
            .key_id(&key)
            .grantee_principal(USER)
            .operations(GrantOperation::Encrypt)
            .dry_run(true)
            .send()
            .await,
        "CreateGrant DryRun",
    );
    assert_err(&e, "DryRunOperationException", &["DryRun"]);
    assert!(list(&kms, &key).await.is_empty());
    // A DryRun that would fail fails as the real request would.
    let e = must_fail(
        kms.create_grant()
            .key_id(&key)
            .grantee_principal(USER)
            .operations(GrantOperation::Sign)
            .dry_run(true)
            .send()
            .await,
        "CreateGrant DryRun of an invalid grant",
    );
    assert_err(&e, "ValidationException", &["Sign"]);
    let (id, token) = grant(&kms, &key, &[GrantOperation::Encrypt]).await;
    let e = must_fail(
        kms.revoke_grant()
            .key_id(&key)
            .grant_id(&id)
            .dry_run(true)
            .send()
            .await,
        "RevokeGrant DryRun",
    );
    assert_err(&e, "DryRunOperationException", &[]);
    let e = must_fail(
        kms.retire_grant()
            .grant_token(&token)
            .dry_run(true)
            .send()
            .await,
        "RetireGrant DryRun",
    );
    assert_err(&e, "DryRunOperationException", &[]);
    assert_eq!(ids(&list(&kms, &key).await), vec![id]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_grants_per_key_limit_is_a_setting() {
    let server = Server::start_with(&["--max-grants-per-key", "2"]);
    let kms = server.client(US).await;
    let (key, arn) = new_key(&kms).await;
    let named = |name: &str| {
        kms.create_grant()
            .key_id(&key)
            .grantee_principal(USER)
            .operations(GrantOperation::Encrypt)
            .name(name)
            .send()
    };
    let first = named("one").await.expect("first");
    named("two").await.expect("second");
    let e = must_fail(named("three").await, "a third grant");
    assert_err(&e, "LimitExceededException", &[&arn, "2"]);
    // A retry of an existing grant is no new grant.
    let retry = named("one").await.expect("retry at the limit");
    assert_eq!(retry.grant_id(), first.grant_id());
    // Other keys have their own count.
    let other = new_key(&kms).await.0;
    grant(&kms, &other, &[GrantOperation::Encrypt]).await;
    kms.revoke_grant()
        .key_id(&key)
        .grant_id(first.grant_id().expect("id"))
        .send()
        .await
        .expect("revoke");
    named("three").await.expect("room again");
}

#[tokio::test(flavor = "multi_thread")]
async fn grants_are_regional_and_never_copied_to_related_keys() {
    let server = Server::start();
    let us = server.client(US).await;
    let key = create_mrk(&us).await.key_id().to_string();
    let (us_grant, us_token) = kms_grant_retirable(&us, &key).await;
    let eu = replicate_to(&server, &us, &key, &[EU]).await.remove(0);
    assert!(list(&eu, &key).await.is_empty(), "the replica has no grant");
    let eu_retirable = eu
        .list_retirable_grants()
        .retiring_principal(ADMIN_ROLE)
        .send()
        .await
        .expect("ListRetirableGrants in the replica's Region");
    assert!(eu_retirable.grants().is_empty());
    let (eu_grant, eu_token) = kms_grant_retirable(&eu, &key).await;
    assert_eq!(ids(&list(&us, &key).await), vec![us_grant.clone()]);
    assert_eq!(ids(&list(&eu, &key).await), vec![eu_grant.clone()]);
    // Each Region's token opens only there.
    let e = must_fail(
        eu.encrypt()
            .key_id(&key)
            .plaintext(blob(b"x"))
            .grant_tokens(&us_token)
            .send()
            .await,
        "us-east-1's token in eu-west-1",
    );
    assert_err(&e, "InvalidGrantTokenException", &[EU]);
    let e = must_fail(
        eu.retire_grant().grant_token(&us_token).send().await,
        "retiring us-east-1's grant in eu-west-1",
    );
    assert_err(&e, "InvalidGrantTokenException", &[]);
    // A grant id of one Region names nothing in the other.
    let e = must_fail(
        eu.revoke_grant()
            .key_id(&key)
            .grant_id(&us_grant)
            .send()
            .await,
        "us-east-1's grant id in eu-west-1",
    );
    assert_err(&e, "NotFoundException", &[&us_grant]);
    // Retiring in one Region leaves the other's grant.
    eu.retire_grant()
        .grant_token(&eu_token)
        .send()
        .await
        .expect("retire in eu-west-1");
    assert_eq!(ids(&list(&us, &key).await), vec![us_grant]);
    // A new replica does not get the primary's grants either.
    let west = replicate_to(&server, &us, &key, &["us-west-2"])
        .await
        .remove(0);
    assert!(list(&west, &key).await.is_empty());
}

/// A grant on `key_id` retirable by `ADMIN_ROLE`: its id and token.
async fn kms_grant_retirable(kms: &Client, key_id: &str) -> (String, String) {
    let out = kms
        .create_grant()
        .key_id(key_id)
        .grantee_principal(USER)
        .operations(GrantOperation::Encrypt)
        .retiring_principal(ADMIN_ROLE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateGrant: {} {}", err_code(&e), err_message(&e)));
    (
        out.grant_id().expect("GrantId").to_string(),
        out.grant_token().expect("GrantToken").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_keys_grants_are_deleted_with_the_key() {
    let mut server = Server::start_with(&["--admin-api"]);
    let kms = server.client(US).await;
    let doomed = new_key(&kms).await.0;
    let kept = new_key(&kms).await.0;
    kms_grant_retirable(&kms, &doomed).await;
    kms_grant_retirable(&kms, &doomed).await;
    let (kept_grant, _) = kms_grant_retirable(&kms, &kept).await;
    kms.schedule_key_deletion()
        .key_id(&doomed)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    assert_eq!(
        retirable(&server).await.len(),
        3,
        "pending deletion: still there"
    );
    server.advance_clock(8.0 * 86_400.0).await;
    wait_until("the key's deletion", || async {
        match kms.describe_key().key_id(&doomed).send().await {
            Err(e) if err_code(&e) == "NotFoundException" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(retirable(&server).await, vec![kept_grant.clone()]);
    // Gone from the store too, not only from memory.
    server.restart();
    assert_eq!(retirable(&server).await, vec![kept_grant]);
}

/// The ids of the grants `ADMIN_ROLE` may retire in us-east-1.
async fn retirable(server: &Server) -> Vec<String> {
    let out = server
        .client(US)
        .await
        .list_retirable_grants()
        .retiring_principal(ADMIN_ROLE)
        .send()
        .await
        .expect("ListRetirableGrants");
    ids(out.grants())
}

#[tokio::test(flavor = "multi_thread")]
async fn grants_and_their_tokens_survive_kill_9() {
    let mut server = Server::start();
    let kms = server.client(US).await;
    let key = new_key(&kms).await.0;
    let out = kms
        .create_grant()
        .key_id(&key)
        .grantee_principal(USER)
        .operations(GrantOperation::Encrypt)
        .operations(GrantOperation::RetireGrant)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_equals("purpose", "durability")
                .build(),
        )
        .name("durable")
        .send()
        .await
        .expect("CreateGrant");
    let id = out.grant_id().expect("GrantId").to_string();
    let token = out.grant_token().expect("GrantToken").to_string();
    let before = list(&kms, &key).await;
    server.kill9();
    server.restart();
    let kms = server.client(US).await;
    let after = list(&kms, &key).await;
    assert_eq!(after, before, "the same grant, field for field");
    kms.encrypt()
        .key_id(&key)
        .plaintext(blob(b"x"))
        .grant_tokens(&token)
        .send()
        .await
        .expect("the token is still accepted");
    let retry = kms
        .create_grant()
        .key_id(&key)
        .grantee_principal(USER)
        .operations(GrantOperation::RetireGrant)
        .operations(GrantOperation::Encrypt)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_equals("purpose", "durability")
                .build(),
        )
        .name("durable")
        .send()
        .await
        .expect("named retry after the restart");
    assert_eq!(retry.grant_id(), Some(id.as_str()));
    kms.retire_grant()
        .grant_token(&token)
        .send()
        .await
        .expect("retired by its token after the restart");
    server.kill9();
    server.restart();
    assert!(list(&server.client(US).await, &key).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_operations_are_audited_as_cloudtrail_shows_them() {
    let server = Server::start();
    let kms = server.client(US).await;
    let (key, arn) = new_key(&kms).await;
    let out = kms
        .create_grant()
        .key_id(&key)
        .grantee_principal(USER)
        .operations(GrantOperation::Encrypt)
        .operations(GrantOperation::RetireGrant)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_subset("ContextKey1", "Value1")
                .build(),
        )
        .send()
        .await
        .expect("CreateGrant");
    let id = out.grant_id().expect("GrantId").to_string();
    let token = out.grant_token().expect("GrantToken").to_string();
    kms.encrypt()
        .key_id(&key)
        .plaintext(blob(b"x"))
        .grant_tokens(&token)
        .send()
        .await
        .expect("Encrypt with the token");
    kms.list_grants()
        .key_id(&key)
        .limit(10)
        .send()
        .await
        .expect("ListGrants");
    kms.retire_grant()
        .grant_token(&token)
        .send()
        .await
        .expect("RetireGrant");
    let (revoked, _) = grant(&kms, &key, &[GrantOperation::Decrypt]).await;
    kms.revoke_grant()
        .key_id(&key)
        .grant_id(&revoked)
        .send()
        .await
        .expect("RevokeGrant");
    // Change records are written at once; ListGrants and Encrypt (read-only) within 200 ms.
    let events = wait_until("the read-only records", || async {
        let events = audit_events(&server, US);
        if events.iter().any(|e| e["eventName"] == "ListGrants") {
            Ok(events)
        } else {
            Err(format!("{} events", events.len()))
        }
    })
    .await;
    let one = |name: &str| -> Value {
        let mut found: Vec<&Value> = events.iter().filter(|e| e["eventName"] == name).collect();
        assert!(!found.is_empty(), "no {name} record");
        found.remove(0).clone()
    };
    let resources = serde_json::json!([{
        "accountId": ACCOUNT,
        "type": "AWS::KMS::Key",
        "ARN": arn,
    }]);

    let create = one("CreateGrant");
    assert_eq!(
        create["requestParameters"],
        serde_json::json!({
            "keyId": key,
            "constraints": {"encryptionContextSubset": {"ContextKey1": "Value1"}},
            "operations": ["Encrypt", "RetireGrant"],
            "granteePrincipal": USER,
        })
    );
    assert_eq!(
        create["responseElements"],
        serde_json::json!({"grantId": id})
    );
    assert_eq!(create["resources"], resources);
    assert_eq!(create["readOnly"], false);

    let list = one("ListGrants");
    assert_eq!(
        list["requestParameters"],
        serde_json::json!({"keyId": key, "limit": 10})
    );
    assert_eq!(list["readOnly"], true);
    assert_eq!(list["resources"], resources);

    let retire = one("RetireGrant");
    assert_eq!(
        retire["requestParameters"],
        Value::Null,
        "the token is not recorded"
    );
    assert_eq!(retire["responseElements"], Value::Null);
    assert_eq!(
        retire["additionalEventData"],
        serde_json::json!({"grantId": id})
    );
    assert_eq!(retire["resources"], resources);

    let revoke = one("RevokeGrant");
    assert_eq!(
        revoke["requestParameters"],
        serde_json::json!({"keyId": key, "grantId": revoked})
    );
    assert_eq!(revoke["resources"], resources);

    let encrypt = one("Encrypt");
    assert!(encrypt["requestParameters"].get("grantTokens").is_none());
    // No grant token anywhere in the Region's audit log.
    let text = std::fs::read_to_string(server.data_dir().join("audit").join("us-east-1.jsonl"))
        .expect("audit log");
    assert!(
        !text.contains(&token),
        "a grant token reached the audit log"
    );
    assert!(!text.contains(&token[..40]));
}
