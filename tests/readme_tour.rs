//! Replays the `## Tour` section of README.md with the real aws CLI against the real
//! server binary, so the README's commands keep working verbatim.
//!
//! Needs `HSM_KMS_AWS_CLI` = path of an `aws` executable; `scripts/test` installs the aws
//! CLI into `.venv` and exports it.

mod common;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::Server;

/// The endpoint the README's commands use (the one `scripts/run` listens on).
const README_ENDPOINT: &str = "http://127.0.0.1:4599";
const TOUR_TIMEOUT: Duration = Duration::from_secs(300);

/// The plaintext the tour encrypts (must match README.md).
const TOUR_PLAINTEXT: &str = "Hello from a PKCS#11 token";

/// The aws CLI the tour runs, from `HSM_KMS_AWS_CLI`.
fn aws_cli() -> PathBuf {
    let value = std::env::var_os("HSM_KMS_AWS_CLI").unwrap_or_else(|| {
        panic!(
            "HSM_KMS_AWS_CLI is not set: it must name the aws CLI executable that the README \
             tour runs. Run the tests through scripts/test, which installs the aws CLI into \
             .venv and exports HSM_KMS_AWS_CLI=$PWD/.venv/bin/aws (or run scripts/setup --test \
             and export it yourself)."
        )
    });
    let path = PathBuf::from(value);
    assert!(
        path.is_file(),
        "HSM_KMS_AWS_CLI={} does not exist: run scripts/test (or scripts/setup --test), \
         which installs the aws CLI into .venv",
        path.display()
    );
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("aws"),
        "HSM_KMS_AWS_CLI={} must be an executable named `aws` (the README calls `aws`)",
        path.display()
    );
    path.canonicalize().unwrap_or(path)
}

/// The ```bash blocks of the README's `## Tour` section, in order.
fn tour_blocks(readme: &str) -> Vec<String> {
    let mut in_tour = false;
    let mut fence: Option<bool> = None; // Some(is_bash) while inside a fence
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in readme.lines() {
        let trimmed = line.trim_start();
        if let Some(is_bash) = fence {
            if trimmed.starts_with("```") {
                if is_bash && in_tour {
                    blocks.push(std::mem::take(&mut current));
                }
                current.clear();
                fence = None;
            } else if is_bash && in_tour {
                current.push_str(line);
                current.push('\n');
            }
            continue;
        }
        if let Some(info) = trimmed.strip_prefix("```") {
            let lang = info.split_whitespace().next().unwrap_or("");
            fence = Some(lang == "bash");
            continue;
        }
        if line.starts_with("## ") {
            in_tour = line.trim_end() == "## Tour";
        } else if line.starts_with("# ") {
            in_tour = false;
        }
    }
    assert!(fence.is_none(), "README.md has an unclosed code fence");
    blocks
}

/// Waits for `child` with a timeout (kills it when the time is up).
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the tour") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_to_string(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut text);
    }
    text
}

#[test]
fn readme_tour_runs_verbatim_against_the_server() {
    let aws = aws_cli();
    let aws_dir = aws.parent().expect("aws CLI directory").to_path_buf();

    let readme_path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(readme_path).expect("read README.md");
    let blocks = tour_blocks(&readme);
    assert!(
        blocks.len() >= 3,
        "README.md `## Tour` should hold the tour as ```bash blocks; found {}",
        blocks.len()
    );
    let tour = blocks.concat();
    for needed in [
        "create-key",
        "describe-key",
        "encrypt",
        "decrypt",
        "create-alias",
        "list-aliases",
        "generate-data-key",
        "--region eu-west-1",
    ] {
        assert!(tour.contains(needed), "the README tour lacks `{needed}`");
    }
    assert!(
        tour.contains(README_ENDPOINT),
        "the README tour should use the endpoint {README_ENDPOINT}"
    );

    let tmp = tempfile::tempdir().expect("temp dir");
    let work_dir = tmp.path().join("work");
    std::fs::create_dir_all(&work_dir).expect("create work dir");
    // A first start, as `scripts/run` gives a new user: the server creates its tokens.
    let server = Server::start_fresh(&["--regions", "us-east-1,eu-west-1"]);

    let script = tour.replace(README_ENDPOINT, &server.url);
    let script_path = tmp.path().join("tour.sh");
    std::fs::write(&script_path, &script).expect("write tour script");
    let stdout_path = tmp.path().join("tour.stdout");
    let stderr_path = tmp.path().join("tour.stderr");

    let path_var = match std::env::var_os("PATH") {
        Some(p) => {
            let mut dirs = vec![aws_dir.clone()];
            dirs.extend(std::env::split_paths(&p));
            std::env::join_paths(dirs).expect("join PATH")
        }
        None => aws_dir.clone().into_os_string(),
    };
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail"])
        .arg(&script_path)
        .current_dir(&work_dir)
        .env("PATH", path_var)
        // Keep the developer's own AWS configuration out of the tour.
        .env("AWS_CONFIG_FILE", tmp.path().join("aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            tmp.path().join("aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .env("TMPDIR", tmp.path());
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_OUTPUT",
        "AWS_CA_BUNDLE",
        "AWS_CLI_AUTO_PROMPT",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ] {
        command.env_remove(var);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::from(
            File::create(&stdout_path).expect("stdout file"),
        ))
        .stderr(Stdio::from(
            File::create(&stderr_path).expect("stderr file"),
        ))
        .spawn()
        .expect("run bash");
    let status = wait_with_timeout(&mut child, TOUR_TIMEOUT);
    let out = read_to_string(&stdout_path);
    let err = read_to_string(&stderr_path);
    let context = || {
        format!(
            "\n--- tour script ---\n{script}\n--- stdout ---\n{out}\n--- stderr ---\n{err}\n\
             --- server log ---\n{}",
            server.log()
        )
    };

    match status {
        None => panic!(
            "the README tour did not finish within {}s{}",
            TOUR_TIMEOUT.as_secs(),
            context()
        ),
        Some(s) if !s.success() => panic!("the README tour failed ({s}){}", context()),
        Some(_) => {}
    }

    // CreateKey printed the key id (a UUID), and DescribeKey showed the description.
    let key_id = out
        .lines()
        .find_map(|l| l.strip_prefix("created key "))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `created key <id>` line{}", context()))
        .to_string();
    assert!(
        key_id.len() == 36 && key_id.chars().filter(|c| *c == '-').count() == 4,
        "CreateKey returned a KeyId that is not a UUID: {key_id:?}{}",
        context()
    );
    assert!(
        out.contains("\"Description\": \"hsm-kms tour key\""),
        "describe-key should show the description{}",
        context()
    );
    assert!(
        out.contains(&format!(
            "\"Arn\": \"arn:aws:kms:us-east-1:111122223333:key/{key_id}\""
        )),
        "describe-key should show the key ARN in us-east-1, account 111122223333{}",
        context()
    );
    assert!(
        out.contains("\"KeyState\": \"Enabled\""),
        "describe-key should show KeyState Enabled{}",
        context()
    );

    // Encrypt/Decrypt round trip with the encryption context.
    assert!(
        out.lines()
            .any(|l| l == format!("decrypted: {TOUR_PLAINTEXT}")),
        "decrypt should give back `{TOUR_PLAINTEXT}`{}",
        context()
    );
    // The wrong encryption context is refused.
    assert!(
        out.contains("(InvalidCiphertextException) when calling the Decrypt operation"),
        "decrypt with another encryption context should fail with InvalidCiphertextException{}",
        context()
    );

    // Encrypt through the alias reports the key's ARN.
    let key_arn = format!("arn:aws:kms:us-east-1:111122223333:key/{key_id}");
    assert!(
        out.lines().any(|l| l.trim() == key_arn),
        "encrypt via alias/tour should print the KeyId {key_arn}{}",
        context()
    );
    // ListAliases shows the alias pointing at the key.
    assert!(
        out.contains("\"AliasName\": \"alias/tour\""),
        "list-aliases should show alias/tour{}",
        context()
    );
    assert!(
        out.contains(&format!("\"TargetKeyId\": \"{key_id}\"")),
        "list-aliases should show alias/tour's TargetKeyId {key_id}{}",
        context()
    );
    assert!(
        out.contains("\"AliasArn\": \"arn:aws:kms:us-east-1:111122223333:alias/tour\""),
        "list-aliases should show the alias ARN{}",
        context()
    );

    // GenerateDataKey: 32 bytes, and its encrypted copy decrypts to the same bytes.
    assert!(
        out.lines().any(|l| l.trim() == "data key: 32 bytes"),
        "generate-data-key AES_256 should return a 32-byte plaintext key{}",
        context()
    );
    assert!(
        out.lines()
            .any(|l| l.trim() == "data key decrypts to the same bytes"),
        "the encrypted data key should decrypt to the plaintext data key{}",
        context()
    );

    // The us-east-1 key does not exist in eu-west-1.
    assert!(
        out.contains("(NotFoundException) when calling the DescribeKey operation"),
        "describe-key in eu-west-1 should fail with NotFoundException{}",
        context()
    );

    drop(server);
}

#[test]
fn tour_blocks_are_taken_from_the_tour_section_only() {
    let readme = "# t\n\n```\nscripts/run\n```\n\n## Tour\n\ntext\n\n```bash\necho one\n```\n\n\
                  ```toml\nx = 1\n```\n\n```bash\necho two\n```\n\n## Configuration\n\n\
                  ```bash\necho three\n```\n";
    assert_eq!(tour_blocks(readme), vec!["echo one\n", "echo two\n"]);
}
