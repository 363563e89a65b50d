//! A failed audit write is never silent (issue 12, item 12): with a Region's audit log on a
//! device that refuses every write (`/dev/full`), strict mode refuses the calls it cannot
//! record (AWS records every call) and changes nothing — KMS, STS and CloudFormation
//! calls alike; open mode serves them and counts and logs the failures.

mod common;

use aws_sdk_kms::primitives::Blob;
use common::*;

/// A strict server's one principal: an administrator of KMS and CloudFormation.
const PRINCIPALS: &str = r#"
[accounts.111122223333]
[users.admin]
account = "111122223333"
[[users.admin.access_keys]]
id = "AKIAADMIN00000000001"
secret = "admin-secret"
[[users.admin.policies]]
name = "all"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["kms:*","cloudformation:*"],"Resource":"*"}}'
"#;

async fn kms_admin(server: &Server) -> aws_sdk_kms::Client {
    server
        .client_as("us-east-1", "AKIAADMIN00000000001", "admin-secret", None)
        .await
}

async fn cfn_admin(server: &Server) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(
        &server
            .sdk_config_as("us-east-1", "AKIAADMIN00000000001", "admin-secret", None)
            .await,
    )
}

/// Stops `server`, puts its us-east-1 audit log on /dev/full, and starts it again.
fn audit_on_a_full_disk(server: &mut Server) {
    server.stop();
    let log = server.data_dir().join("audit").join("us-east-1.jsonl");
    std::fs::remove_file(&log).expect("remove the audit log");
    std::os::unix::fs::symlink("/dev/full", &log).expect("symlink to /dev/full");
    server.restart();
}

#[tokio::test]
async fn strict_mode_refuses_a_call_it_cannot_record() {
    let mut server = Server::start_strict(PRINCIPALS, &["--regions", "us-east-1"]);
    let kms = kms_admin(&server).await;
    let (key, _) = new_key(&kms).await;
    audit_on_a_full_disk(&mut server);
    let kms = kms_admin(&server).await;

    let e = must_fail(
        kms.encrypt()
            .key_id(&key)
            .plaintext(Blob::new(b"x".to_vec()))
            .send()
            .await,
        "Encrypt without an audit log",
    );
    assert_err(&e, "KMSInternalException", &[]);
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500));
    // Refused before it runs: nothing is created.
    let e = must_fail(kms.create_key().send().await, "CreateKey");
    assert_err(&e, "KMSInternalException", &[]);
    // STS calls too.
    let sts = aws_sdk_sts::Client::new(
        &server
            .sdk_config_as("us-east-1", "AKIAADMIN00000000001", "admin-secret", None)
            .await,
    );
    let e = must_fail(
        sts.get_caller_identity().send().await,
        "GetCallerIdentity without an audit log",
    );
    assert_err(&e, "InternalFailure", &[]);
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500));
    let log = server.current_log();
    assert!(log.contains("audit log"), "{log}");
    assert!(log.contains("No space left on device"), "{log}");

    // With a writable log again, the only key is the one made before.
    server.stop();
    let path = server.data_dir().join("audit").join("us-east-1.jsonl");
    std::fs::remove_file(&path).expect("remove the symlink");
    server.restart();
    let kms = kms_admin(&server).await;
    let keys = kms.list_keys().send().await.expect("ListKeys");
    assert_eq!(keys.keys().len(), 1);
}

#[tokio::test]
async fn strict_mode_refuses_a_cloudformation_call_it_cannot_record() {
    let mut server = Server::start_strict(PRINCIPALS, &["--regions", "us-east-1"]);
    audit_on_a_full_disk(&mut server);
    let cfn = cfn_admin(&server).await;
    // The first call finds the log unwritable when its record fails: it fails.
    let e = must_fail(
        cfn.describe_stacks().send().await,
        "DescribeStacks (read-only) without an audit log",
    );
    assert_err(&e, "InternalFailure", &[]);
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500));
    // From then on a call is refused before it runs.
    let template = r#"{"Resources": {"Key": {"Type": "AWS::KMS::Key"}}}"#;
    let e = must_fail(
        cfn.create_stack()
            .stack_name("unrecorded")
            .template_body(template)
            .send()
            .await,
        "CreateStack without an audit log",
    );
    assert_err(&e, "InternalFailure", &[]);
    let log = server.current_log();
    assert!(
        log.contains("CreateStack refused: the audit log of us-east-1 cannot be written"),
        "{log}"
    );

    // Refused before it ran: no stack, no key.
    server.stop();
    let path = server.data_dir().join("audit").join("us-east-1.jsonl");
    std::fs::remove_file(&path).expect("remove the symlink");
    server.restart();
    let cfn = cfn_admin(&server).await;
    let stacks = cfn.list_stacks().send().await.expect("ListStacks");
    assert!(stacks.stack_summaries().is_empty(), "{stacks:?}");
    let kms = kms_admin(&server).await;
    let keys = kms.list_keys().send().await.expect("ListKeys");
    assert!(keys.keys().is_empty(), "{keys:?}");
}

#[tokio::test]
async fn open_mode_serves_and_counts_the_failures() {
    let mut server = Server::start_with(&["--regions", "us-east-1"]);
    let kms = server.client("us-east-1").await;
    let (key, _) = new_key(&kms).await;
    audit_on_a_full_disk(&mut server);
    let kms = server.client("us-east-1").await;
    kms.encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect("Encrypt in open mode");
    kms.create_key()
        .send()
        .await
        .expect("CreateKey in open mode");
    wait_until("the failure is logged", || async {
        let log = server.current_log();
        if log.contains("audit log: writing a record failed")
            || log.contains("audit log: flushing to disk failed")
        {
            Ok(())
        } else {
            Err(log)
        }
    })
    .await;
    assert!(
        server.current_log().contains("failures="),
        "{}",
        server.current_log()
    );
}
