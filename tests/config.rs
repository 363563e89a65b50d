//! The configuration as a user meets it: the real `hsm-kms` binary, its environment, its
//! config file and its flags. `hsm-kms check-config` resolves the configuration exactly as
//! `serve` does and prints it; a bad value must stop `serve` itself before it touches a
//! token.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `hsm-kms <args>` with exactly the `HSM_KMS_*` variables given in `env` (those of
/// the test process are removed).
fn hsm_kms(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsm-kms"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HSM_KMS_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1");
    cmd.output().expect("run hsm-kms")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_refused(o: &Output, words: &[&str]) {
    assert!(
        !o.status.success(),
        "expected a refusal, got success; stdout: {}",
        stdout(o)
    );
    let err = stderr(o);
    for w in words {
        assert!(err.contains(w), "stderr {err:?} should contain {w:?}");
    }
}

fn write_file(dir: &Path, text: &str) -> String {
    let path = dir.join("hsm-kms.toml");
    std::fs::write(&path, text).expect("write config file");
    path.to_str().expect("utf-8 path").to_string()
}

#[test]
fn a_bad_delay_in_the_environment_stops_serve_naming_the_variable_and_the_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let o = hsm_kms(
        &["serve", "--data-dir", data.to_str().expect("utf-8")],
        &[("HSM_KMS_REPLICA_CREATION_DELAY_MS", "soon")],
    );
    assert_refused(
        &o,
        &[
            "HSM_KMS_REPLICA_CREATION_DELAY_MS",
            "\"soon\"",
            "invalid digit",
        ],
    );
    assert!(
        !data.exists(),
        "serve must stop before it creates the data directory"
    );
}

#[test]
fn bad_values_in_the_environment_are_refused_even_under_a_flag() {
    for (var, value, flag, words) in [
        (
            "HSM_KMS_ADMIN_API",
            "maybe",
            "--admin-api",
            &["HSM_KMS_ADMIN_API", "\"maybe\""][..],
        ),
        (
            "HSM_KMS_REGIONS",
            "us-east-1,atlantis-1",
            "--regions=us-east-1",
            &["HSM_KMS_REGIONS", "atlantis-1", "not a Region"][..],
        ),
        (
            "HSM_KMS_LISTEN",
            "localhost",
            "--listen=127.0.0.1:0",
            &["HSM_KMS_LISTEN", "\"localhost\""][..],
        ),
        (
            "HSM_KMS_ACCOUNT_ID",
            "1234",
            "--account-id=123456789012",
            &["HSM_KMS_ACCOUNT_ID", "\"1234\"", "twelve decimal digits"][..],
        ),
        ("HSM_KMS_LOG", "info,[", "--log=info", &["HSM_KMS_LOG"][..]),
    ] {
        let o = hsm_kms(&["check-config"], &[(var, value)]);
        assert_refused(&o, words);
        let o = hsm_kms(&["check-config", flag], &[(var, value)]);
        assert_refused(&o, words);
    }
}

#[test]
fn a_bad_region_in_the_file_and_an_unknown_key_stop_startup() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_file(dir.path(), "regions = [\"us-east-1\", \"eu-west-9\"]\n");
    let o = hsm_kms(&["serve", "--config", &file], &[]);
    assert_refused(&o, &["`regions`", "\"eu-west-9\"", &file]);

    let file = write_file(dir.path(), "replica_creation_delay = 5\n");
    let o = hsm_kms(&["check-config"], &[("HSM_KMS_CONFIG", &file)]);
    assert_refused(
        &o,
        &[
            "unknown setting `replica_creation_delay`",
            &file,
            "replica_creation_delay_ms",
        ],
    );
}

#[test]
fn flags_beat_the_environment_which_beats_the_file_which_beats_the_defaults() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_file(
        dir.path(),
        "regions = [\"eu-west-1\"]\n\
         replica_creation_delay_ms = 1\n\
         primary_update_delay_ms = 2\n\
         account_id = \"000000000001\"\n",
    );
    let o = hsm_kms(
        &[
            "check-config",
            "--config",
            &file,
            "--primary-update-delay-ms",
            "30",
        ],
        &[
            ("HSM_KMS_REPLICA_CREATION_DELAY_MS", "20"),
            ("HSM_KMS_PRIMARY_UPDATE_DELAY_MS", "20"),
            // Empty counts as unset: the file's Regions stay.
            ("HSM_KMS_REGIONS", ""),
        ],
    );
    assert!(o.status.success(), "check-config failed: {}", stderr(&o));
    let out = stdout(&o);
    for line in [
        "replica_creation_delay_ms: 20,", // environment over file
        "primary_update_delay_ms: 30,",   // flag over environment and file
        "account_id: \"000000000001\",",  // file over default
        "listen: 127.0.0.1:4599,",        // default
        "eu-west-1,",
    ] {
        assert!(out.contains(line), "{out} should contain {line:?}");
    }
    assert!(!out.contains("us-east-1"), "file Regions only: {out}");
}

#[test]
fn pins_are_never_printed_and_never_taken_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_file(dir.path(), "so_pin = \"86420\"\n");
    let o = hsm_kms(
        &["check-config", "--config", &file],
        &[("HSM_KMS_USER_PIN", "97531")],
    );
    assert!(o.status.success(), "check-config failed: {}", stderr(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(!all.contains("97531") && !all.contains("86420"), "{all}");
    assert!(all.contains("user_pin: Pin(<redacted>)"), "{all}");

    let o = hsm_kms(&["check-config", "--user-pin", "97531"], &[]);
    assert_refused(&o, &["--user-pin", "HSM_KMS_USER_PIN"]);
    assert!(!stderr(&o).contains("97531"));

    // --help shows where a PIN comes from, never its value.
    let o = hsm_kms(&["serve", "--help"], &[("HSM_KMS_USER_PIN", "97531")]);
    assert!(o.status.success());
    let help = stdout(&o);
    assert!(help.contains("HSM_KMS_USER_PIN"), "{help}");
    assert!(!help.contains("97531"), "{help}");
}
