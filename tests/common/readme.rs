//! Replaying a README section verbatim: its ```bash blocks, the aws CLI the tests run
//! (`HSM_KMS_AWS_CLI`), and one bash run of the section's script against a test server,
//! with the developer's own AWS configuration kept out.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The endpoint the README's commands use (the one `scripts/run` listens on).
pub const README_ENDPOINT: &str = "http://127.0.0.1:4599";

/// The README's text.
pub fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md")
}

/// The ```bash blocks of the README section `## <title>`, in order (blocks in another
/// language, and every block of other sections, are left out).
pub fn section_blocks(readme: &str, title: &str) -> Vec<String> {
    section_blocks_in(readme, title, "bash")
}

/// The blocks of language `lang` (```toml, ```bash …) of the README section `## <title>`,
/// in order.
pub fn section_blocks_in(readme: &str, title: &str, lang: &str) -> Vec<String> {
    let heading = format!("## {title}");
    let mut inside = false;
    let mut fence: Option<bool> = None; // Some(is the language) while inside a fence
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in readme.lines() {
        let trimmed = line.trim_start();
        if let Some(is_lang) = fence {
            if trimmed.starts_with("```") {
                if is_lang && inside {
                    blocks.push(std::mem::take(&mut current));
                }
                current.clear();
                fence = None;
            } else if is_lang && inside {
                current.push_str(line);
                current.push('\n');
            }
            continue;
        }
        if let Some(info) = trimmed.strip_prefix("```") {
            fence = Some(info.split_whitespace().next() == Some(lang));
            continue;
        }
        if line.starts_with("## ") {
            inside = line.trim_end() == heading;
        } else if line.starts_with("# ") {
            inside = false;
        }
    }
    assert!(fence.is_none(), "README.md has an unclosed code fence");
    blocks
}

/// The aws CLI the README sections run, from `HSM_KMS_AWS_CLI`.
pub fn aws_cli() -> PathBuf {
    let value = std::env::var_os("HSM_KMS_AWS_CLI").unwrap_or_else(|| {
        panic!(
            "HSM_KMS_AWS_CLI is not set: it must name the aws CLI executable that the README \
             runs. Run the tests through scripts/test, which installs the aws CLI into .venv \
             and exports HSM_KMS_AWS_CLI=$PWD/.venv/bin/aws (or run scripts/setup --test and \
             export it yourself)."
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

/// How a script run ended.
pub struct ScriptRun {
    /// `None` when the script did not finish in time (it was killed).
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `script` with `bash -euo pipefail` in `work_dir`, with the aws CLI of
/// [`aws_cli`] first on the PATH and the caller's AWS settings removed (config and
/// credentials files live in `scratch`). Output goes to files in `scratch` (no pipe to
/// fill); the script is killed after `timeout`.
pub fn run_script(script: &str, work_dir: &Path, scratch: &Path, timeout: Duration) -> ScriptRun {
    let aws_dir = aws_cli().parent().expect("aws CLI directory").to_path_buf();
    let script_path = scratch.join("readme.sh");
    std::fs::write(&script_path, script).expect("write the README script");
    let stdout_path = scratch.join("readme.stdout");
    let stderr_path = scratch.join("readme.stderr");
    let path_var = match std::env::var_os("PATH") {
        Some(p) => {
            let mut dirs = vec![aws_dir.clone()];
            dirs.extend(std::env::split_paths(&p));
            std::env::join_paths(dirs).expect("join PATH")
        }
        None => aws_dir.into_os_string(),
    };
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail"])
        .arg(&script_path)
        .current_dir(work_dir)
        .env("PATH", path_var)
        .env("AWS_CONFIG_FILE", scratch.join("aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            scratch.join("aws-credentials"),
        )
        // The aws CLI caches role credentials under ~/.aws/cli/cache: another server's
        // session tokens must not be found there.
        .env("HOME", scratch)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .env("TMPDIR", scratch);
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_ENDPOINT_URL_CLOUDFORMATION",
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
    let status = wait_with_timeout(&mut child, timeout);
    ScriptRun {
        status,
        stdout: read_to_string(&stdout_path),
        stderr: read_to_string(&stderr_path),
    }
}

/// Waits for `child` with a timeout (kills it when the time is up).
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the script") {
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
