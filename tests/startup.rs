//! Starting up.
//!
//! - A healthy start is quiet: a handful of INFO lines (tokens ready, key transport ready,
//!   listening), one INFO line per Region saying what its token lacks, and nothing at WARN
//!   or ERROR — checked on a first start (`hsm-kms init` creating the tokens and key
//!   transport from nothing) and on a normal start of the server.
//! - PINs (issue 12 item 3): none built in; generated into `DATA_DIR/pins` (0600) on the
//!   first start, read on later ones, never logged; `hsm-kms rotate-pins` replaces them.
//! - File modes (item 4): the data directory and everything in it private to its owner,
//!   whatever was there before; a config file others can read is warned about.
//! - Remains of a kill -9 during object creation (item 16): unnamed token objects and
//!   empty object files are removed by the next start.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aws_sdk_kms::types::KeyState;
use common::*;

/// The PKCS#11 child process of `common::pkcs11` (does nothing in a normal run).
#[test]
#[ignore = "a child process started by common::pkcs11::run"]
fn pkcs11_child() {
    common::pkcs11::child_main();
}

/// Runs `hsm-kms` with `args` and only the `HSM_KMS_*` settings of `env`.
fn hsm_kms(args: &[&str], data: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsm-kms"));
    launch::clear_inherited_settings(&mut cmd);
    cmd.args(args)
        .arg("--data-dir")
        .arg(data)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .env_remove("HSM_KMS_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run hsm-kms")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The (user, SO) PINs of a pins file.
fn pins(data: &Path) -> (String, String) {
    let text = std::fs::read_to_string(data.join("pins")).expect("DATA_DIR/pins");
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{key} in {text}"))
            .to_string()
    };
    (value("user_pin"), value("so_pin"))
}

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

/// Issue 12 item 3: the first start generates both PINs (no built-in default) into a
/// private file, later starts use them, the log never shows them, and the former defaults
/// open nothing.
#[test]
fn the_first_start_generates_the_pins_into_a_private_file_and_later_starts_reuse_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let first = hsm_kms(&["init", "--regions", "us-east-1"], &data, &[]);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(mode(&data.join("pins")), 0o600);
    let (user, so) = pins(&data);
    for pin in [&user, &so] {
        assert_eq!(pin.len(), 32, "128 random bits in hex");
        assert!(pin.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!text(&first).contains(pin.as_str()), "a PIN in the log");
    }
    assert_ne!(user, so);
    assert!(
        text(&first).contains("generated token PINs"),
        "{}",
        text(&first)
    );

    let again = hsm_kms(&["init", "--regions", "us-east-1"], &data, &[]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        pins(&data),
        (user.clone(), so.clone()),
        "read, not generated again"
    );
    assert!(!text(&again).contains("generated token PINs"));

    // The former built-in defaults open nothing: given explicitly, they are refused with
    // a message naming the setting, never the value.
    for (var, pin, who) in [
        ("HSM_KMS_USER_PIN", "1234", "user"),
        ("HSM_KMS_SO_PIN", "12345678", "SO"),
    ] {
        let o = hsm_kms(&["init", "--regions", "us-east-1"], &data, &[(var, pin)]);
        assert!(!o.status.success(), "{var}={pin} opened the token");
        let out = text(&o);
        assert!(out.contains(&format!("refuses the {who} PIN")), "{out}");
        assert!(out.contains(var), "{out}");
    }
}

/// Issue 12 item 3: `hsm-kms rotate-pins` gives every token new PINs (kept in the pins
/// file, still 0600); the keys keep working with them, the old PINs stop working; an
/// interrupted rotation blocks the start until it is finished; PINs given in the
/// configuration are not its to rotate.
#[tokio::test(flavor = "multi_thread")]
async fn rotate_pins_replaces_both_pins_of_every_token_and_the_keys_keep_working() {
    let regions = "us-east-1,eu-west-1";
    let mut server = Server::start_with(&["--regions", regions]);
    let data = server.data_dir();
    let us = server.client("us-east-1").await;
    let mrk = create_mrk(&us).await.key_id().to_string();
    let ct = encrypt(&us, &mrk, b"before the rotation").await;
    server.stop();
    let (old_user, old_so) = pins(&data);

    let o = hsm_kms(&["rotate-pins", "--regions", regions], &data, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("rotated the user and SO PINs of 2 token(s)"),
        "{}",
        text(&o)
    );
    let (user, so) = pins(&data);
    assert_ne!(user, old_user);
    assert_ne!(so, old_so);
    assert!(!text(&o).contains(&user) && !text(&o).contains(&so));
    assert_eq!(mode(&data.join("pins")), 0o600);
    assert!(!data.join("pins.next").exists());

    server.restart();
    let us = server.client("us-east-1").await;
    let eu = server.client("eu-west-1").await;
    assert_eq!(decrypt(&us, &ct).await.0, b"before the rotation");
    replicate(&us, &mrk, "eu-west-1").await;
    wait_for_state(&eu, &mrk, KeyState::Enabled).await;
    assert_eq!(decrypt(&eu, &ct).await.0, b"before the rotation");
    server.stop();

    // The old PINs are refused.
    let o = hsm_kms(
        &["init", "--regions", regions],
        &data,
        &[("HSM_KMS_USER_PIN", &old_user)],
    );
    assert!(
        !o.status.success() && text(&o).contains("refuses the user PIN"),
        "{}",
        text(&o)
    );
    // Given PINs are the configuration's: rotate-pins refuses them, naming the setting.
    let o = hsm_kms(
        &["rotate-pins", "--regions", regions],
        &data,
        &[("HSM_KMS_SO_PIN", &so)],
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("HSM_KMS_SO_PIN") && !text(&o).contains(&so),
        "{}",
        text(&o)
    );

    // An interrupted rotation (its target PINs written, tokens not moved yet) stops the
    // start with what to do, and a second rotate-pins finishes it to those PINs.
    let next_user = "0123456789abcdef0123456789abcdef";
    let next_so = "fedcba9876543210fedcba9876543210";
    std::fs::write(
        data.join("pins.next"),
        format!("user_pin = \"{next_user}\"\nso_pin = \"{next_so}\"\n"),
    )
    .expect("pins.next");
    let o = hsm_kms(&["init", "--regions", regions], &data, &[]);
    assert!(
        !o.status.success() && text(&o).contains("rotate-pins"),
        "{}",
        text(&o)
    );
    let o = hsm_kms(&["rotate-pins", "--regions", regions], &data, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(pins(&data), (next_user.to_string(), next_so.to_string()));
    server.restart();
    let us = server.client("us-east-1").await;
    assert_eq!(decrypt(&us, &ct).await.0, b"before the rotation");
}

/// Issue 12 item 4: whatever modes the data directory had, a start leaves it and its
/// directories 0700 and every file 0600 — the metadata database with its WAL files, the
/// audit logs, the pins, the token files — including files created while serving.
#[tokio::test(flavor = "multi_thread")]
async fn the_data_directory_is_private_to_its_owner() {
    let mut server = Server::start_with(&["--regions", "us-east-1"]);
    let data = server.data_dir();
    let us = server.client("us-east-1").await;
    let key = new_key(&us).await.0;
    encrypt(&us, &key, b"audit and WAL written").await;
    server.stop();
    // Loosen everything, as a careless copy or umask would leave it.
    let loosen = |path: &Path, m: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).expect("chmod")
    };
    for entry in walk(&data) {
        loosen(&entry, if entry.is_dir() { 0o755 } else { 0o644 });
    }
    loosen(&data, 0o755);
    server.restart();
    let us = server.client("us-east-1").await;
    let key = new_key(&us).await.0;
    encrypt(&us, &key, b"more").await;

    assert_eq!(mode(&data), 0o700, "{}", data.display());
    let files = walk(&data);
    for must in [
        "kms.sqlite3",
        "kms.sqlite3-wal",
        "kms.sqlite3-shm",
        "cloudformation.sqlite3",
        "cloudformation.sqlite3-wal",
        "pins",
        "softhsm2.conf",
        "audit/us-east-1.jsonl",
    ] {
        assert!(files.contains(&data.join(must)), "{must} exists");
    }
    assert!(files
        .iter()
        .any(|f| f.starts_with(data.join("tokens")) && f.is_file()));
    for path in files {
        if path.file_name().is_some_and(|n| n == "server-stderr.log") {
            continue;
        }
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), want, "{}", path.display());
    }
}

/// Every path under `dir` (files and directories), recursively.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        out.push(path.clone());
        if path.is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

/// Issue 12 item 4: a config file other users can read is named in a startup warning
/// (which says when it holds PINs, never what they are); a private one is not.
#[test]
fn a_config_file_others_can_read_gets_a_startup_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let file = dir.path().join("hsm-kms.toml");
    std::fs::write(
        &file,
        "regions = [\"us-east-1\"]\nuser_pin = \"2468013579\"\nso_pin = \"1357924680\"\n",
    )
    .expect("config file");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let config = file.to_str().expect("utf-8");
    let o = hsm_kms(&["init", "--config", config], &data, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let log = text(&o);
    let warning = warnings_and_errors(&log)
        .into_iter()
        .find(|l| l.contains("can be read by other users"))
        .unwrap_or_else(|| panic!("no warning about the config file:\n{log}"));
    assert!(
        warning.contains(config) && warning.contains("mode 644"),
        "{warning}"
    );
    assert!(warning.contains("holds token PINs"), "{warning}");
    assert!(
        !log.contains("2468013579") && !log.contains("1357924680"),
        "{log}"
    );
    assert!(
        !data.join("pins").exists(),
        "given PINs are not written to the pins file"
    );

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let o = hsm_kms(&["init", "--config", config], &data, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(warnings_and_errors(&text(&o)), Vec::<&str>::new());
}

/// The empty object files SoftHSM left in a token directory.
fn empty_object_files(tokens: &Path) -> usize {
    walk(tokens)
        .iter()
        .filter(|p| {
            p.extension().is_some_and(|e| e == "object")
                && p.file_name().is_some_and(|n| n != "token.object")
                && std::fs::metadata(p).map(|m| m.len() == 0).unwrap_or(false)
        })
        .count()
}

/// Issue 12 item 16: kill -9 while CreateKey requests create key material, several
/// times; whatever that leaves in the token — objects with neither label nor ID, which
/// report CKA_TOKEN=false, and empty object files — is gone after the next start, and
/// the token holds exactly the keys' material and its own key. One orphan of each kind is
/// also planted, so the test does not depend on the kills' timing.
#[tokio::test(flavor = "multi_thread")]
async fn what_a_kill_during_create_key_leaves_in_the_token_is_removed_by_the_next_start() {
    let mut server = Server::start_with(&["--regions", "us-east-1"]);
    let data = server.data_dir();
    let tokens = data.join("tokens");
    let mut seed = std::process::id() as u64;
    for round in 0..6 {
        if round > 0 {
            server.restart();
        }
        let us = server.client("us-east-1").await;
        let creators: Vec<_> = (0..6)
            .map(|_| {
                let us = us.clone();
                tokio::spawn(async move {
                    loop {
                        let _ = us.create_key().send().await;
                    }
                })
            })
            .collect();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        tokio::time::sleep(Duration::from_millis(100 + (seed >> 33) % 400)).await;
        server.kill9();
        for c in creators {
            c.abort();
        }
    }
    // Plant one of each kind: an empty object file named as SoftHSM names them, and a
    // token object with neither label nor ID.
    let token_dir = walk(&tokens)
        .into_iter()
        .find(|p| p.join("token.object").is_file())
        .expect("a token directory");
    std::fs::write(
        token_dir.join("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9.object"),
        b"",
    )
    .expect("empty object file");
    std::fs::write(
        token_dir.join("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9.lock"),
        b"",
    )
    .expect("its lock file");
    common::pkcs11::run("plant-orphan", &data, &[("region", "us-east-1")]);
    let before = common::pkcs11::run("count-objects", &data, &[("region", "us-east-1")]);
    let unnamed_before: usize = before
        .get("objects with neither label nor ID")
        .parse()
        .expect("count");
    let empty_before = empty_object_files(&tokens);
    eprintln!(
        "before the restart: {unnamed_before} unnamed objects, {empty_before} empty object files"
    );
    assert!(unnamed_before >= 1 && empty_before >= 1);

    server.restart();
    let us = server.client("us-east-1").await;
    let mut keys = 0;
    let mut pages = us.list_keys().into_paginator().send();
    while let Some(page) = pages.next().await {
        keys += page.expect("ListKeys").keys().len();
    }
    let after = common::pkcs11::run("count-objects", &data, &[("region", "us-east-1")]);
    assert_eq!(
        after.get("objects with neither label nor ID"),
        "0",
        "{}\nthe server's log since the restart (what its startup sweep destroyed):\n{}",
        after.text,
        server.current_log()
    );
    assert_eq!(empty_object_files(&tokens), 0);
    // Every key's material, and the import-token and grant-token keys: nothing else,
    // nothing missing.
    assert_eq!(
        after.get("labelled objects"),
        (keys + 2).to_string(),
        "{keys} keys\n{}",
        after.text
    );
    let log = server.current_log();
    assert!(
        log.contains("destroyed objects with neither label nor ID"),
        "{log}"
    );
    assert!(log.contains("removed empty token object files"), "{log}");
    // The keys answered before the kills still work.
    let key = new_key(&us).await.0;
    let ct = encrypt(&us, &key, b"after").await;
    assert_eq!(decrypt(&us, &ct).await.0, b"after");
}
