//! Key transport between Region tokens (issue 12, items 1, 2 and 5).
//!
//! - Through the library (no server): multi-Region material replicated between tokens of
//!   one partition, never readable, never wrappable under an untrusted key, never sent to
//!   another partition, and a receiving KEK that refuses to unwrap it as a readable key;
//!   a transport setup that repairs what is missing.
//! - Against a running server's tokens, from another process holding the user PIN (the
//!   attacker, `common::pkcs11`): every extraction path of issue 12 item 1 refused, no
//!   key-encryption key to be found, keys usable only with their own mechanisms (item
//!   5), no secret key stored as a public object, so none in clear in the token files
//!   (item 2).
//! - A data directory laid out as before (former PINs, KEKs as token objects, transport
//!   keys without templates) upgraded by the next start.
//!
//! C_Initialize happens once per process and SoftHSM2 reads SOFTHSM2_CONF only then, so
//! every in-process PKCS#11 check lives in one test function; the others run the real
//! binary, and cryptoki in child processes.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use aws_sdk_kms::types::{AlgorithmSpec, KeySpec, KeyState, KeyUsageType, WrappingKeySpec};
use cryptoki::error::{Error as Pkcs11Error, RvError};
use hsm_kms::config::{Config, Settings};
use hsm_kms::domain::region::Region;
use hsm_kms::hsm::transport::{kek_label, transport_private_label, transport_public_label};
use hsm_kms::hsm::Extractability;
use hsm_kms::hsm::{setup, AttributeAccess, Hsm, HsmError, Pins, TransportSetup};

use common::*;

/// The PKCS#11 child process of `common::pkcs11` (does nothing in a normal run).
#[test]
#[ignore = "a child process started by common::pkcs11::run"]
fn pkcs11_child() {
    common::pkcs11::child_main();
}

fn region(name: &str) -> Region {
    Region::parse(name).expect("a Region in the catalogue")
}

fn config(data_dir: &Path, regions: &[&str]) -> Config {
    Settings {
        data_dir: data_dir.to_path_buf(),
        regions: regions.iter().map(|r| region(r)).collect(),
        ..Settings::default()
    }
    .resolve()
    .expect("valid configuration")
}

/// The log without the terminal colour codes tracing adds.
fn plain(log: &[u8]) -> String {
    let text = String::from_utf8_lossy(log);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn rv(result: Result<(), HsmError>) -> Option<RvError> {
    match result {
        Err(HsmError::Pkcs11 {
            error: Pkcs11Error::Pkcs11(rv, _),
            ..
        }) => Some(rv),
        _ => None,
    }
}

/// The transport token objects of a set of Regions of one partition, per token.
fn transport_labels(regions: &[Region], token: Region) -> Vec<String> {
    let mut labels = vec![
        transport_private_label(token),
        transport_public_label(token),
    ];
    for other in regions.iter().copied().filter(|r| *r != token) {
        labels.push(transport_public_label(other));
    }
    labels
}

/// The KEKs of a token: session objects of this process, one per direction.
fn kek_labels(regions: &[Region], token: Region) -> Vec<String> {
    let mut labels = Vec::new();
    for other in regions.iter().copied().filter(|r| *r != token) {
        labels.push(kek_label(token, other));
        labels.push(kek_label(other, token));
    }
    labels
}

fn assert_one_of_each(hsm: &Hsm, regions: &[Region]) {
    for r in regions {
        let token = hsm.token(*r).expect("served Region");
        for label in transport_labels(regions, *r) {
            assert_eq!(
                token.count_objects(&label).expect("C_FindObjects"),
                1,
                "{r} must hold exactly one {label}"
            );
            assert!(token.has_object(&label), "{r}'s label map lacks {label}");
        }
        for label in kek_labels(regions, *r) {
            assert_eq!(
                token.count_objects(&label).expect("C_FindObjects"),
                1,
                "{r} must hold exactly one {label} (a session object)"
            );
            assert!(
                token.has_session_key(&label),
                "{r} lacks the session key {label}"
            );
            assert!(
                !token.has_object(&label),
                "{label} must not be a token object"
            );
        }
    }
}

#[test]
fn multi_region_material_travels_only_wrapped_between_tokens_of_one_partition() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path(), &["us-east-1", "eu-west-1", "cn-north-1"]);
    setup::prepare_environment(&config).expect("environment");
    let started = Instant::now();
    let hsm = Hsm::open(&config).expect("open the tokens");
    eprintln!("first open with 3 Regions: {:?}", started.elapsed());

    let us = region("us-east-1");
    let eu = region("eu-west-1");
    let cn = region("cn-north-1");
    let aws = [us, eu];
    let us_token = hsm.token(us).expect("us-east-1 token").clone();
    let eu_token = hsm.token(eu).expect("eu-west-1 token").clone();
    let cn_token = hsm.token(cn).expect("cn-north-1 token").clone();

    // Transport objects: one of each per pair in the aws partition, none in aws-cn (no peer).
    assert_one_of_each(&hsm, &aws);
    for label in cn_token.labels() {
        assert!(
            !label.starts_with("transport/") && !label.starts_with("kek/"),
            "cn-north-1 has no peer and needs no transport objects, found {label}"
        );
    }
    // The private transport key and the receiving KEK copies never reveal their value.
    assert_eq!(
        eu_token
            .secret_access(&transport_private_label(eu))
            .unwrap(),
        AttributeAccess::Sensitive
    );
    assert_eq!(
        eu_token.secret_access(&kek_label(us, eu)).unwrap(),
        AttributeAccess::Sensitive
    );
    assert_eq!(
        us_token.secret_access(&kek_label(us, eu)).unwrap(),
        AttributeAccess::Sensitive
    );

    // Setup again: new KEKs (session keys of each setup), nothing else, no duplicates.
    let so_pin = Pins::load_or_create(dir.path(), None, None)
        .expect("the PINs hsm-kms generated")
        .so;
    assert_eq!(
        hsm.ensure_transport(&so_pin).unwrap(),
        TransportSetup {
            keks_generated: 2,
            keks_delivered: 2,
            ..TransportSetup::default()
        }
    );
    assert_one_of_each(&hsm, &aws);

    // Multi-Region material: generated in us-east-1, replicated to eu-west-1.
    let label = "mrk-transporttest/0001";
    us_token
        .generate_aes256(label, Extractability::WrappedUnderTrustedKey)
        .expect("generate multi-Region material");
    hsm.replicate_material(us, eu, label)
        .expect("replicate us-east-1 -> eu-west-1");
    assert!(eu_token.has_object(label));
    // Idempotent.
    hsm.replicate_material(us, eu, label)
        .expect("replicating again is a no-op");
    assert_eq!(eu_token.count_objects(label).unwrap(), 1);

    // Same material: ciphertext from either Region decrypts in the other.
    let iv = [7u8; 12];
    let aad = b"header";
    let ct = us_token
        .aes_gcm_encrypt(label, &iv, aad, b"made in us-east-1")
        .unwrap();
    assert_eq!(
        eu_token
            .aes_gcm_decrypt(label, &iv, aad, &ct)
            .unwrap()
            .as_slice(),
        b"made in us-east-1"
    );
    let ct = eu_token
        .aes_gcm_encrypt(label, &iv, aad, b"made in eu-west-1")
        .unwrap();
    assert_eq!(
        us_token
            .aes_gcm_decrypt(label, &iv, aad, &ct)
            .unwrap()
            .as_slice(),
        b"made in eu-west-1"
    );

    // Neither token reveals the material.
    for token in [&us_token, &eu_token] {
        assert_eq!(
            token.secret_access(label).unwrap(),
            AttributeAccess::Sensitive,
            "CKA_VALUE in {}",
            token.region()
        );
        assert!(!token.value_is_readable(label).unwrap());
    }

    // Issue 12 item 1, path 1: the blob wrapped under the pair's KEK, unwrapped under the
    // receiving KEK as a readable key. The KEK's unwrap template refuses it.
    for (from, to) in [(us, eu), (eu, us)] {
        assert_eq!(
            rv(hsm.try_unwrap_readable(from, to, label)),
            Some(RvError::TemplateInconsistent),
            "a readable unwrap {from} -> {to}"
        );
    }

    // Only a trusted key can wrap it: an untrusted, user-made wrapping key is refused.
    for token in [&us_token, &eu_token] {
        assert_eq!(
            rv(token.try_wrap_under_untrusted_key(label)),
            Some(RvError::KeyNotWrappable),
            "wrapping under an untrusted key in {}",
            token.region()
        );
    }
    // Single-Region material is not extractable at all, and is never replicated.
    let single = "single-region/0001";
    us_token
        .generate_aes256(single, Extractability::Never)
        .unwrap();
    assert_eq!(
        rv(us_token.try_wrap_under_untrusted_key(single)),
        Some(RvError::KeyUnextractable)
    );
    assert!(matches!(
        hsm.replicate_material(us, eu, single),
        Err(HsmError::NotReplicable(l)) if l == single
    ));
    assert!(!eu_token.has_object(single));

    // Another partition: no transport, a clear error, nothing created.
    let err = hsm
        .replicate_material(us, cn, label)
        .expect_err("aws -> aws-cn must fail");
    assert!(
        matches!(err, HsmError::NoTransport { from, to } if from == us && to == cn),
        "{err}"
    );
    assert!(err.to_string().contains("different partitions"), "{err}");
    assert!(!cn_token.has_object(label));

    // Repair: a trusted public key lost, then a whole transport key pair (whose trusted
    // copy in the peer is then stale). Setup runs the SO of every token while the Hsm is
    // open: the user is logged out and back in and the label map rebuilt.
    us_token.destroy(&transport_public_label(eu)).unwrap();
    let report = hsm.ensure_transport(&so_pin).unwrap();
    assert_eq!(
        report,
        TransportSetup {
            public_keys_trusted: 1,
            keks_generated: 2,
            keks_delivered: 2,
            ..TransportSetup::default()
        }
    );
    eu_token.destroy(&transport_private_label(eu)).unwrap();
    let report = hsm.ensure_transport(&so_pin).unwrap();
    assert_eq!(report.key_pairs_generated, 1);
    assert_eq!(
        report.public_keys_trusted, 1,
        "us-east-1's copy of the old key is stale"
    );
    assert_one_of_each(&hsm, &aws);

    // After the SO logins the private handles were re-mapped: the material still works,
    // and a new material goes the other way over the new KEK.
    let ct = us_token.aes_gcm_encrypt(label, &iv, aad, b"again").unwrap();
    assert_eq!(
        eu_token
            .aes_gcm_decrypt(label, &iv, aad, &ct)
            .unwrap()
            .as_slice(),
        b"again"
    );
    let label2 = "mrk-transporttest/0002";
    eu_token
        .generate_aes256(label2, Extractability::WrappedUnderTrustedKey)
        .unwrap();
    hsm.replicate_material(eu, us, label2).unwrap();
    let ct = us_token.aes_gcm_encrypt(label2, &iv, aad, b"back").unwrap();
    assert_eq!(
        eu_token
            .aes_gcm_decrypt(label2, &iv, aad, &ct)
            .unwrap()
            .as_slice(),
        b"back"
    );
}

/// Across restarts (real binary, child processes): a second start with the same Regions
/// creates no transport object; a Region added later gets exactly the objects it needs.
#[test]
fn restarts_create_only_missing_transport_objects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let init = |regions: &str| {
        let started = Instant::now();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsm-kms"));
        launch::clear_inherited_settings(&mut cmd);
        let out = cmd
            .args(["init", "--data-dir"])
            .arg(dir.path())
            .args(["--regions", regions])
            .env("HSM_KMS_LOG", "info")
            .output()
            .expect("run hsm-kms init");
        let log = plain(&out.stderr);
        assert!(out.status.success(), "hsm-kms init failed:\n{log}");
        eprintln!("hsm-kms init --regions {regions}: {:?}", started.elapsed());
        log
    };
    // KEKs are made anew at every start (session objects): one per ordered pair.
    let expect = |log: &str, pairs: usize, trusted: usize, keks: usize| {
        let line = log
            .lines()
            .find(|l| l.contains("key transport ready"))
            .unwrap_or_else(|| panic!("no transport report in:\n{log}"));
        for field in [
            format!("key_pairs_generated={pairs} "),
            format!("public_keys_trusted={trusted} "),
            format!("keks_generated={keks} "),
            format!("keks_delivered={keks} "),
        ] {
            assert!(line.contains(&field), "expected {field}in: {line}");
        }
    };
    let first = init("us-east-1,eu-west-1,cn-north-1");
    expect(&first, 2, 2, 2);
    let added = init("us-east-1,eu-west-1,cn-north-1,us-west-2");
    expect(&added, 1, 4, 6);
    let again = init("us-east-1,eu-west-1,cn-north-1,us-west-2");
    expect(&again, 0, 0, 6);
}

/// Two Regions of one partition, the attacker's A and B.
const PAIR: &str = "us-east-1,eu-west-1";

/// GetParametersForImport of a new EXTERNAL symmetric key with `algorithm`: the key id and
/// 32 random bytes wrapped for it (hex), as a caller sends them to ImportKeyMaterial.
async fn import_blob(kms: &aws_sdk_kms::Client, algorithm: &str) -> (String, String) {
    let key_id = create_external(kms, false).await;
    let params = kms
        .get_parameters_for_import()
        .key_id(&key_id)
        .wrapping_algorithm(AlgorithmSpec::from(algorithm))
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await
        .expect("GetParametersForImport");
    let public = params.public_key().expect("PublicKey").as_ref();
    let blob = common::wrapping::wrap(public, algorithm, &random_bytes(32));
    (key_id, hex::encode(blob))
}

/// Issue 12 items 1 and 5: a process holding the user PIN (and a caller's wrapped import
/// material) attacks a running server's tokens. Every path that gave it key material on
/// the former layout is refused, and the keys run only their own mechanisms.
#[tokio::test(flavor = "multi_thread")]
async fn attacks_with_the_user_pin_on_a_running_servers_tokens_are_refused() {
    let server = Server::start_with(&["--regions", PAIR]);
    let us = server.client("us-east-1").await;
    let eu = server.client("eu-west-1").await;
    let mrk = create_mrk(&us).await;
    let mrk = mrk.key_id().to_string();
    replicate(&us, &mrk, "eu-west-1").await;
    wait_for_state(&eu, &mrk, KeyState::Enabled).await;
    let rsa = NewKey::of(KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt)
        .create_id(&us)
        .await;
    let hmac = NewKey::of(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac)
        .create_id(&us)
        .await;
    let (import_key, import_blob_hex) = import_blob(&us, "RSAES_OAEP_SHA_1").await;
    let (kwp_key, kwp_blob_hex) = import_blob(&us, "RSA_AES_KEY_WRAP_SHA_1").await;

    let outcome = common::pkcs11::run(
        "attack",
        &server.data_dir(),
        &[
            ("a", "us-east-1"),
            ("b", "eu-west-1"),
            ("mrk", &mrk),
            ("rsa", &rsa),
            ("hmac", &hmac),
            ("import_key", &import_key),
            ("import_blob", &import_blob_hex),
            ("kwp_key", &kwp_key),
            ("kwp_blob", &kwp_blob_hex),
        ],
    );
    outcome.assert_all(&[
        // Path 2 (wrap kek A->B under the trusted transport/B/public, unwrap it in B) and
        // path 1 (unwrap material with B's KEK) both start from a KEK: there is none to
        // find. (The in-process test shows B's KEK refusing a readable unwrap.)
        ("A: objects labelled kek/", "0"),
        ("B: objects labelled kek/", "0"),
        // The material itself.
        ("A: read material CKA_VALUE", "sensitive"),
        ("A: set material SENSITIVE=false", "CKR_ATTRIBUTE_READ_ONLY"),
        (
            "A: set material WRAP_WITH_TRUSTED=false",
            "CKR_ATTRIBUTE_READ_ONLY",
        ),
        (
            "A: copy material with SENSITIVE=false",
            "CKR_ATTRIBUTE_READ_ONLY",
        ),
        (
            "A: copy material as a public object",
            "CKR_TEMPLATE_INCONSISTENT",
        ),
        ("A: wrap material under own key", "CKR_KEY_NOT_WRAPPABLE"),
        ("A: mark own key trusted", "CKR_ATTRIBUTE_READ_ONLY"),
        // The trusted public key wraps only trusted session keys (its wrap template).
        (
            "A: wrap material under trusted transport/B/public",
            "CKR_KEY_NOT_WRAPPABLE",
        ),
        (
            "A: wrap own key under trusted transport/B/public",
            "CKR_KEY_NOT_WRAPPABLE",
        ),
        // Item 5: each key runs only its mechanisms.
        (
            "A: encrypt with AES material under CKM_AES_ECB",
            "CKR_MECHANISM_INVALID",
        ),
        ("A: encrypt with AES material under CKM_AES_GCM", "CKR_OK"),
        (
            "A: decrypt with the RSA decryption key under CKM_RSA_PKCS",
            "CKR_MECHANISM_INVALID",
        ),
        (
            "A: decrypt with the RSA decryption key under CKM_RSA_PKCS_OAEP",
            "CKR_OK",
        ),
        (
            "A: sign with the HMAC_256 key under CKM_SHA224_HMAC",
            "CKR_MECHANISM_INVALID",
        ),
        (
            "A: sign with the HMAC_256 key under CKM_SHA256_HMAC",
            "CKR_OK",
        ),
        // Import wrapping keys: what they unwrap is never readable.
        (
            "A: unwrap an import blob as a readable key",
            "CKR_TEMPLATE_INCONSISTENT",
        ),
        (
            "A: unwrap an import blob sensitive but wrappable under any key",
            "CKR_TEMPLATE_INCONSISTENT",
        ),
        (
            "A: set import wrapping key DECRYPT=true",
            "CKR_ACTION_PROHIBITED",
        ),
        ("A: copy import wrapping key", "CKR_ACTION_PROHIBITED"),
        (
            "A: unwrap an RSA_AES_KEY_WRAP ephemeral key as a readable key",
            "CKR_TEMPLATE_INCONSISTENT",
        ),
        (
            "A: unwrap an RSA_AES_KEY_WRAP ephemeral key as a decrypting key",
            "CKR_TEMPLATE_INCONSISTENT",
        ),
        // The replica and B's transport key.
        ("B: read replica CKA_VALUE", "sensitive"),
        ("B: wrap replica under own key", "CKR_KEY_NOT_WRAPPABLE"),
        (
            "B: copy replica with SENSITIVE=false",
            "CKR_ATTRIBUTE_READ_ONLY",
        ),
        ("B: set transport key DECRYPT=true", "CKR_ACTION_PROHIBITED"),
        ("B: copy transport key", "CKR_ACTION_PROHIBITED"),
        (
            "B: OAEP-decrypt with the transport key",
            "CKR_KEY_FUNCTION_NOT_PERMITTED",
        ),
        (
            "B: unwrap with the transport key as a readable key",
            "CKR_TEMPLATE_INCONSISTENT",
        ),
        (
            "B: unwrap with the transport key as a decrypting key",
            "CKR_TEMPLATE_INCONSISTENT",
        ),
    ]);
    // The server was not disturbed: the key still works in both Regions.
    let ct = encrypt(&us, &mrk, b"still fine").await;
    assert_eq!(decrypt(&eu, &ct).await.0, b"still fine");
}

/// Every file under `dir`, recursively, with its bytes.
fn token_files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(token_files(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).expect("read token file")));
        }
    }
    out
}

/// Whether any file under `dir` holds `needle`.
fn in_token_files(dir: &Path, needle: &[u8]) -> bool {
    token_files(dir)
        .iter()
        .any(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
}

/// Issue 12 item 2: SoftHSM stores a public object's value in clear and a private one's
/// encrypted (shown with two secrets the test makes); no secret key of a server's tokens is
/// a public object, so no key-encryption key (nor anything else) is in clear on disk.
#[tokio::test(flavor = "multi_thread")]
async fn no_secret_key_is_a_public_object_so_none_is_in_clear_on_disk() {
    let server = Server::start_with(&["--regions", PAIR]);
    let us = server.client("us-east-1").await;
    let eu = server.client("eu-west-1").await;
    let mrk = create_mrk(&us).await.key_id().to_string();
    replicate(&us, &mrk, "eu-west-1").await;
    wait_for_state(&eu, &mrk, KeyState::Enabled).await;

    let outcome = common::pkcs11::run(
        "secrets-at-rest",
        &server.data_dir(),
        &[("a", "us-east-1"), ("regions", PAIR)],
    );
    let tokens = server.data_dir().join("tokens");
    let public_value = hex::decode(outcome.get("public value")).expect("hex");
    let private_value = hex::decode(outcome.get("private value")).expect("hex");
    // The method works: the public test secret is found in clear, the private one is not.
    assert!(
        in_token_files(&tokens, &public_value),
        "public object in clear"
    );
    assert!(
        !in_token_files(&tokens, &private_value),
        "private object encrypted"
    );
    // The only public secret key of either token is the test's own (a session KEK of the
    // server is invisible here and never on disk).
    outcome.assert_all(&[
        ("us-east-1: public secret keys", "test/at-rest/false"),
        ("us-east-1: public secret token objects", "1"),
        ("eu-west-1: public secret keys", ""),
        ("eu-west-1: public secret token objects", "0"),
    ]);
}

/// Issue 12 items 1, 2 and 3 for existing data directories: tokens laid out by the former
/// version (default PINs, KEKs as token objects — the sending one public, in clear on
/// disk —, transport keys without templates) are upgraded by the next start: the PINs
/// replaced by generated ones, the KEKs destroyed, the transport keys replaced, and the
/// multi-Region material made before still works.
#[test]
fn a_data_directory_of_the_former_layout_is_upgraded_at_startup() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    // The SoftHSM configuration hsm-kms writes (and will find unchanged).
    std::fs::create_dir_all(data.join("tokens")).expect("tokens dir");
    let canonical = data.canonicalize().expect("canonical");
    std::fs::write(
        data.join("softhsm2.conf"),
        include_str!("../softhsm/softhsm2.conf.template")
            .replace("{TOKEN_DIR}", &canonical.join("tokens").to_string_lossy()),
    )
    .expect("softhsm2.conf");
    let mrk = "mrk-former/0001";
    let former = common::pkcs11::run(
        "former-layout",
        data,
        &[("a", "us-east-1"), ("b", "eu-west-1"), ("mrk", mrk)],
    );
    let kek_value = hex::decode(former.get("kek value")).expect("hex");
    assert!(
        in_token_files(&data.join("tokens"), &kek_value),
        "the former layout's sending KEK is in clear in a token file"
    );

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsm-kms"));
    launch::clear_inherited_settings(&mut cmd);
    let out = cmd
        .args(["init", "--data-dir"])
        .arg(data)
        .args(["--regions", PAIR])
        .env("NO_COLOR", "1")
        .output()
        .expect("run hsm-kms init");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "hsm-kms init failed:\n{log}");
    assert_eq!(
        log.matches("replaced the former built-in default PIN")
            .count(),
        4,
        "user and SO PIN of both tokens:\n{log}"
    );
    assert!(log.contains("former_keks_destroyed=2"), "{log}");
    assert!(log.contains("key_pairs_generated=2"), "{log}");
    assert!(
        !in_token_files(&data.join("tokens"), &kek_value),
        "the former KEK's value is gone from the token files"
    );

    let upgraded = common::pkcs11::run(
        "inspect-upgraded",
        data,
        &[("a", "us-east-1"), ("b", "eu-west-1"), ("mrk", mrk)],
    );
    upgraded.assert_all(&[
        (
            "us-east-1: user login with the former PIN",
            "CKR_PIN_INCORRECT",
        ),
        (
            "us-east-1: SO login with the former PIN",
            "CKR_PIN_INCORRECT",
        ),
        (
            "eu-west-1: user login with the former PIN",
            "CKR_PIN_INCORRECT",
        ),
        (
            "eu-west-1: SO login with the former PIN",
            "CKR_PIN_INCORRECT",
        ),
        ("us-east-1: objects labelled kek/", "0"),
        ("eu-west-1: objects labelled kek/", "0"),
        ("us-east-1: transport key has an unwrap template", "true"),
        ("eu-west-1: transport key has an unwrap template", "true"),
        ("us-east-1: trusted public key has a wrap template", "true"),
        ("eu-west-1: trusted public key has a wrap template", "true"),
        (
            "B: unwrap with the transport key as a readable key",
            "CKR_TEMPLATE_INCONSISTENT",
        ),
        ("former material: A encrypts, B decrypts", "same plaintext"),
    ]);
}
