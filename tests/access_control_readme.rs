//! Replays the `## Access control` section of README.md verbatim with the real aws CLI
//! against a strict-mode server started with the section's principals file: profiles for
//! an administrator, two replicators and a role profile (AssumeRole on this server), a key
//! policy that lets the role encrypt only payments, the replication permissions split
//! between two users, a replica's own key policy, a grant with a constraint, and
//! `lookup-events` showing the refusal.
//!
//! Needs `HSM_KMS_AWS_CLI` (scripts/test installs the aws CLI into .venv and exports it).

mod common;

use std::time::Duration;

use common::readme::{run_script, section_blocks, section_blocks_in, README_ENDPOINT};
use common::Server;

const TIMEOUT: Duration = Duration::from_secs(600);
const SECTION: &str = "Access control";

#[test]
fn readme_access_control_example_runs_verbatim() {
    let readme = common::readme::readme();
    let principals = section_blocks_in(&readme, SECTION, "toml");
    assert_eq!(
        principals.len(),
        1,
        "README.md `## {SECTION}` should hold its principals file as one ```toml block"
    );
    let blocks = section_blocks(&readme, SECTION);
    assert!(
        blocks.len() >= 7,
        "README.md `## {SECTION}` should hold its commands as ```bash blocks"
    );
    let script = blocks.concat();
    for needed in [
        "role_arn = arn:aws:iam::111122223333:role/payments-app",
        "source_profile = admin",
        "kms:EncryptionContext:purpose",
        "--replica-region eu-west-1",
        "aws kms create-grant",
        "EncryptionContextSubset={purpose=payments}",
        "aws cloudtrail lookup-events",
    ] {
        assert!(
            script.contains(needed),
            "the README example lacks `{needed}`"
        );
    }
    let server = Server::start_strict(&principals[0], &[]);
    let log = server.log();
    assert!(
        log.contains("strict mode") && log.contains("principals.toml"),
        "the start names the principals file: {log}"
    );
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
            "the README access control example did not finish in {}s{context}",
            TIMEOUT.as_secs()
        );
    };
    assert!(status.success(), "the example failed ({status}){context}");
    println!("{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let has = |needle: &str| stdout.contains(needle);
    // Who is who: the user, and the role session the role profile made.
    assert!(
        lines.contains(&"arn:aws:iam::111122223333:user/admin"),
        "the admin profile is the admin user{context}"
    );
    assert!(
        lines.contains(&"arn:aws:sts::111122223333:assumed-role/payments-app/payments-app"),
        "the role profile assumed the role on this server{context}"
    );
    assert!(
        has("key: arn:aws:kms:us-east-1:111122223333:key/mrk-"),
        "the administrator made the key{context}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("encrypted: ") && l != &"encrypted: 0 bytes"),
        "the app encrypted a payment{context}"
    );
    // The refusals, as AWS words them.
    assert!(
        has("(AccessDeniedException) when calling the Encrypt operation: User: arn:aws:sts::111122223333:assumed-role/payments-app/payments-app is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:111122223333:key/mrk-"),
        "another purpose is refused{context}"
    );
    assert!(
        has("(AccessDeniedException) when calling the ReplicateKey operation: User: arn:aws:iam::111122223333:user/eu-replicator is not authorized to perform: kms:CreateKey"),
        "eu-replicator may not make a replica in us-west-2{context}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("arn:aws:kms:eu-west-1:111122223333:key/mrk-")),
        "eu-replicator replicated into eu-west-1{context}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("arn:aws:kms:us-west-2:111122223333:key/mrk-")),
        "replicator replicated into us-west-2{context}"
    );
    assert!(
        has("is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:eu-west-1:111122223333:key/mrk-"),
        "the replica's own key policy does not let the app encrypt{context}"
    );
    assert!(
        lines.contains(&"pay 100 EUR to Bob"),
        "the grant lets the app decrypt{context}"
    );
    assert!(
        lines.contains(&"Encrypt\tpayments-app"),
        "lookup-events finds the refused Encrypt{context}"
    );
    // The us-east-1 log records who did what.
    let audit = std::fs::read_to_string(server.data_dir().join("audit/us-east-1.jsonl"))
        .expect("audit log");
    assert!(
        audit.contains("\"eventSource\":\"sts.amazonaws.com\""),
        "{audit}"
    );
    assert!(!audit.contains("admin-secret-key"));
}
