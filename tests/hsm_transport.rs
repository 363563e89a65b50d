//! Key transport between Region tokens, checked at the PKCS#11 level through the library
//! (no server): multi-Region material replicated between tokens of one partition, never
//! readable, never wrappable under an untrusted key, never sent to another partition, and
//! a transport setup that is idempotent and repairs what is missing.
//!
//! C_Initialize happens once per process and SoftHSM2 reads SOFTHSM2_CONF only then, so
//! every in-process PKCS#11 check lives in one test function. Restart behaviour runs the
//! real binary in child processes.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use cryptoki::error::{Error as Pkcs11Error, RvError};
use hsm_kms::config::{Config, Settings};
use hsm_kms::domain::region::Region;
use hsm_kms::hsm::token::Extractability;
use hsm_kms::hsm::transport::{kek_label, transport_private_label, transport_public_label};
use hsm_kms::hsm::{setup, AttributeAccess, Hsm, HsmError, TransportSetup};

/// The process launcher of the other tests (only its environment clean-up is used here).
#[allow(dead_code)]
#[path = "common/launch.rs"]
mod launch;

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

/// Every transport object label of a set of Regions of one partition, per token.
fn transport_labels(regions: &[Region], token: Region) -> Vec<String> {
    let mut labels = vec![
        transport_private_label(token),
        transport_public_label(token),
    ];
    for other in regions.iter().copied().filter(|r| *r != token) {
        labels.push(transport_public_label(other));
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

    // Setup again: nothing to do, no duplicates.
    assert_eq!(
        hsm.ensure_transport(&config.so_pin).unwrap(),
        TransportSetup::default()
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

    // Repair: a receiving copy lost, and a sending KEK lost (its stale receiving copy must
    // be replaced too). The second case needs the SO of eu-west-1 while the Hsm is open:
    // the user is logged out and back in and the label map rebuilt.
    eu_token.destroy(&kek_label(us, eu)).unwrap();
    let report = hsm.ensure_transport(&config.so_pin).unwrap();
    assert_eq!(
        report,
        TransportSetup {
            keks_delivered: 1,
            ..TransportSetup::default()
        }
    );
    eu_token.destroy(&kek_label(eu, us)).unwrap();
    let report = hsm.ensure_transport(&config.so_pin).unwrap();
    assert_eq!(report.keks_generated, 1);
    assert_eq!(report.keks_delivered, 1);
    assert_one_of_each(&hsm, &aws);

    // After the SO login in eu-west-1 the private handles were re-mapped: the material
    // still works, and a new material goes the other way over the new KEK.
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
    expect(&added, 1, 4, 4);
    let again = init("us-east-1,eu-west-1,cn-north-1,us-west-2");
    expect(&again, 0, 0, 0);
}
