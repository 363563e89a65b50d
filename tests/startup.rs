//! A healthy start is quiet: a handful of INFO lines (tokens ready, key transport ready,
//! listening), one INFO line per Region saying what its token lacks, and nothing at WARN
//! or ERROR — checked on a first start (`hsm-kms init` creating the tokens and key
//! transport from nothing) and on a normal start of the server.

mod common;

use std::process::{Command, Stdio};

use common::*;

/// The lines at WARN or ERROR level (tracing's plain-text format: `<time> <LEVEL> ...`).
fn warnings_and_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            let level = l.split_whitespace().nth(1).unwrap_or("");
            level == "WARN" || level == "ERROR"
        })
        .collect()
}

/// The capability lines of `region`.
fn capability_lines<'a>(log: &'a str, region: &str) -> Vec<&'a str> {
    let field = format!("region={region} ");
    log.lines()
        .filter(|l| l.contains("token capabilities") && l.contains(&field))
        .collect()
}

/// SoftHSM 2.6.1 implements RSA-OAEP only with SHA-1 and ignores CKM_EDDSA's Ed25519ph
/// parameters: the capability line names both, and nothing else.
fn assert_one_capability_line(log: &str, region: &str) {
    let lines = capability_lines(log, region);
    assert_eq!(lines.len(), 1, "one capability line for {region}:\n{log}");
    let line = lines[0];
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("RSA-OAEP with SHA-256"), "{line}");
    assert!(line.contains("Ed25519ph"), "{line}");
    assert!(
        !line.contains("CKM_"),
        "SoftHSM 2.6.1 offers every mechanism used: {line}"
    );
}

#[test]
fn a_first_start_creates_tokens_and_transport_without_a_warning() {
    let dir = tempfile::Builder::new()
        .prefix("hsm-kms-startup-")
        .tempdir()
        .expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_hsm-kms"))
        .arg("init")
        .arg("--data-dir")
        .arg(dir.path())
        .arg("--regions")
        .arg("us-east-1,eu-west-1")
        .env("NO_COLOR", "1")
        .env_remove("HSM_KMS_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run hsm-kms init");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "hsm-kms init failed:\n{log}");
    assert_eq!(warnings_and_errors(&log), Vec::<&str>::new(), "\n{log}");
    assert!(
        !log.contains("cryptoki"),
        "no log line from the PKCS#11 binding:\n{log}"
    );
    for region in ["us-east-1", "eu-west-1"] {
        assert_one_capability_line(&log, region);
        assert!(
            log.lines()
                .any(|l| l.contains("token ready") && l.contains(&format!("region={region} "))),
            "{region}'s token is ready:\n{log}"
        );
    }
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("key transport ready"))
            .count(),
        1,
        "\n{log}"
    );
    // A handful: per Region created, ready and capabilities, two transport key pairs and
    // one transport summary.
    assert!(log.lines().count() <= 12, "a handful of lines:\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_normal_start_logs_no_warning_and_one_capability_line_per_region() {
    let server = Server::start();
    // The server answers (so its startup is over) ...
    let kms = server.client("us-east-1").await;
    kms.list_keys().send().await.expect("ListKeys");
    let log = server.log();
    // ... and said nothing at WARN or ERROR on the way.
    assert_eq!(warnings_and_errors(&log), Vec::<&str>::new(), "\n{log}");
    assert!(!log.contains("cryptoki"), "\n{log}");
    for region in ["us-east-1", "us-west-2", "eu-west-1", "cn-north-1"] {
        assert_one_capability_line(&log, region);
    }
    assert!(log.contains("key transport ready"), "\n{log}");
}
