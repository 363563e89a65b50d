//! Replays the `## CloudFormation` section of README.md with the real aws CLI against
//! the real server (serving us-east-1 and ap-southeast-2): two templates deployed with
//! `aws cloudformation deploy`, encrypt in one Region and decrypt in the other, an update
//! of the description, both stacks deleted.
//!
//! Needs `HSM_KMS_AWS_CLI` (scripts/test installs the aws CLI into .venv and exports it).

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;

const README_ENDPOINT: &str = "http://127.0.0.1:4599";
const TIMEOUT: Duration = Duration::from_secs(600);

/// The ```bash blocks of one `## ` section of the README.
fn section_blocks(readme: &str, title: &str) -> Vec<String> {
    let mut inside = false;
    let mut fence: Option<bool> = None;
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in readme.lines() {
        if let Some(is_bash) = fence {
            if line.trim_start().starts_with("```") {
                if is_bash && inside {
                    blocks.push(std::mem::take(&mut current));
                }
                current.clear();
                fence = None;
            } else if is_bash && inside {
                current.push_str(line);
                current.push('\n');
            }
            continue;
        }
        if let Some(info) = line.trim_start().strip_prefix("```") {
            fence = Some(info.split_whitespace().next() == Some("bash"));
            continue;
        }
        if line.starts_with("## ") {
            inside = line.trim_end() == format!("## {title}");
        }
    }
    blocks
}

fn aws_cli() -> PathBuf {
    let path = PathBuf::from(std::env::var_os("HSM_KMS_AWS_CLI").expect(
        "HSM_KMS_AWS_CLI must name the aws CLI (scripts/test installs it into .venv and exports it)",
    ));
    assert!(
        path.is_file(),
        "HSM_KMS_AWS_CLI={} does not exist",
        path.display()
    );
    path
}

#[test]
fn readme_cloudformation_scenario_runs_verbatim() {
    let aws = aws_cli();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let blocks = section_blocks(&readme, "CloudFormation");
    assert!(
        blocks.len() >= 4,
        "README.md `## CloudFormation` should hold its commands as ```bash blocks"
    );
    let script = blocks.concat();
    for needed in [
        "aws cloudformation deploy --stack-name demo-primary",
        "--region ap-southeast-2 --stack-name demo-replica",
        "AWS::KMS::ReplicaKey",
        "aws cloudformation delete-stack",
        "wait stack-delete-complete",
    ] {
        assert!(
            script.contains(needed),
            "the README scenario lacks `{needed}`"
        );
    }
    let server = Server::start_with(&["--regions", "us-east-1,ap-southeast-2"]);
    let tmp = tempfile::tempdir().expect("temp dir");
    let script = script.replace(README_ENDPOINT, &server.url);
    let path = format!(
        "{}:{}",
        aws.parent().expect("aws dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(tmp.path())
        .env("PATH", path)
        .env("TMPDIR", tmp.path())
        .env("AWS_CONFIG_FILE", tmp.path().join("aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            tmp.path().join("aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bash");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!(
                "the README CloudFormation scenario did not finish in {}s",
                TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context =
        format!("\n--- script ---\n{script}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    assert!(
        out.status.success(),
        "the scenario failed ({}){context}",
        out.status
    );
    assert!(
        stdout.contains("Successfully created/updated stack - demo-primary")
            && stdout.contains("Successfully created/updated stack - demo-replica"),
        "both stacks deploy{context}"
    );
    assert!(
        stdout.contains("primary key: arn:aws:kms:us-east-1:111122223333:key/mrk-"),
        "the primary stack outputs its multi-Region key ARN{context}"
    );
    assert!(
        stdout.contains("decrypted in ap-southeast-2: sealed by a stack in us-east-1"),
        "ciphertext from us-east-1 decrypts in ap-southeast-2{context}"
    );
    assert!(
        stdout.contains("description: updated by a stack update"),
        "the update changed the key's description{context}"
    );
    assert!(
        stdout.contains("primary key state: PendingReplicaDeletion")
            || stdout.contains("primary key state: PendingDeletion"),
        "deleting the stack schedules the key for deletion{context}"
    );
    // The resource operations are in the audit log as the KMS calls they are.
    let audit = std::fs::read_to_string(server.data_dir().join("audit/us-east-1.jsonl"))
        .expect("audit log");
    let by_cfn: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|r: &serde_json::Value| {
            r["userIdentity"]["invokedBy"] == "cloudformation.amazonaws.com"
        })
        .collect();
    for event in [
        "CreateKey",
        "CreateAlias",
        "UpdateKeyDescription",
        "ReplicateKey",
        "DeleteAlias",
        "ScheduleKeyDeletion",
    ] {
        assert!(
            by_cfn.iter().any(|r| r["eventName"] == event),
            "{event} made by CloudFormation is in the us-east-1 audit log"
        );
    }
}
