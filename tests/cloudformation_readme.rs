//! Replays the `## CloudFormation` section of README.md with the real aws CLI against
//! the real server (serving us-east-1 and ap-southeast-2): two templates deployed with
//! `aws cloudformation deploy`, encrypt in one Region and decrypt in the other, an update
//! of the description, both stacks deleted.
//!
//! Needs `HSM_KMS_AWS_CLI` (scripts/test installs the aws CLI into .venv and exports it).

mod common;

use std::time::Duration;

use common::readme::{run_script, section_blocks, README_ENDPOINT};
use common::Server;

const TIMEOUT: Duration = Duration::from_secs(600);

#[test]
fn readme_cloudformation_scenario_runs_verbatim() {
    let readme = common::readme::readme();
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
    let run = run_script(&script, tmp.path(), tmp.path(), TIMEOUT);
    let (stdout, stderr) = (&run.stdout, &run.stderr);
    let context = format!(
        "\n--- script ---\n{script}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n\
         --- server log ---\n{}",
        server.log()
    );
    let Some(status) = run.status else {
        panic!(
            "the README CloudFormation scenario did not finish in {}s{context}",
            TIMEOUT.as_secs()
        );
    };
    assert!(status.success(), "the scenario failed ({status}){context}");
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
