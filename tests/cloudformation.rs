//! CloudFormation on the same port, driven by aws-sdk-rust's CloudFormation client
//! against the real server: intrinsic functions and conditions (YAML short forms),
//! change sets, replacement on a create-only property, rollback on a bad property,
//! exports and imports, bad templates, DeletionPolicy, and kill -9 in the middle of a
//! deployment. Keys are checked with the KMS client.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{ChangeAction, ChangeSetType, Parameter, Replacement, Stack};
use aws_sdk_cloudformation::Client;
use common::{assert_err, describe, err_message, must_fail, wait_for_record, Server};

const WAIT: Duration = Duration::from_secs(240);

/// A CloudFormation client of the server in `region` (the KMS clients' configuration).
async fn cfn(server: &Server, region: &str) -> Client {
    Client::new(&server.sdk_config(region).await)
}

fn params(pairs: &[(&str, &str)]) -> Vec<Parameter> {
    pairs
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(*k)
                .parameter_value(*v)
                .build()
        })
        .collect()
}

async fn create(c: &Client, name: &str, template: &str, p: &[(&str, &str)]) -> Stack {
    c.create_stack()
        .stack_name(name)
        .template_body(template)
        .set_parameters(Some(params(p)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {}", err_message(&e)));
    settled(c, name).await
}

/// Polls until the stack's operation is over.
async fn settled(c: &Client, name: &str) -> Stack {
    let start = Instant::now();
    loop {
        let out = c
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe {name}: {}", err_message(&e)));
        let stack = out.stacks()[0].clone();
        let status = stack
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if !status.ends_with("_IN_PROGRESS") || status == "REVIEW_IN_PROGRESS" {
            return stack;
        }
        assert!(
            start.elapsed() < WAIT,
            "{name} still {status} after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn status(s: &Stack) -> &str {
    s.stack_status().map(|x| x.as_str()).unwrap_or_default()
}

fn output(s: &Stack, key: &str) -> String {
    s.outputs()
        .iter()
        .find(|o| o.output_key() == Some(key))
        .and_then(|o| o.output_value())
        .unwrap_or_else(|| panic!("no output {key} in {:?}", s.outputs()))
        .to_string()
}

async fn physical_id(c: &Client, stack: &str, logical: &str) -> String {
    c.describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(logical)
        .send()
        .await
        .expect("describe resource")
        .stack_resource_detail()
        .and_then(|d| d.physical_resource_id())
        .expect("physical id")
        .to_string()
}

async fn key_state(server: &Server, region: &str, key: &str) -> String {
    describe(&server.client(region).await, key)
        .await
        .key_state()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

/// Events as "LogicalId STATUS reason" lines, oldest first.
async fn events(c: &Client, stack: &str) -> Vec<String> {
    let out = c
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .expect("events");
    let mut lines: Vec<String> = out
        .stack_events()
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e.logical_resource_id().unwrap_or_default(),
                e.resource_status().map(|s| s.as_str()).unwrap_or_default(),
                e.resource_status_reason().unwrap_or_default()
            )
        })
        .collect();
    lines.reverse();
    lines
}

const EXPORTER: &str = r#"
Resources:
  SharedKey:
    Type: AWS::KMS::Key
    Properties:
      Description: shared by export
Outputs:
  SharedKeyArn:
    Value: !GetAtt SharedKey.Arn
    Export:
      Name: shared-key-arn
"#;

const EVERYTHING: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Description: every intrinsic function
Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
    Default: prod
  Days:
    Type: Number
    Default: 9
  Names:
    Type: CommaDelimitedList
    Default: "alpha,beta,gamma"
  Secret:
    Type: String
    NoEcho: true
    Default: hidden
Mappings:
  Windows:
    prod: {Days: 30}
    dev: {Days: 7}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  ProdAndNine: !And [!Condition IsProd, !Equals [!Ref Days, 9]]
  DevOrNine: !Or [!Condition IsDev, !Equals ["9", !Ref Days]]
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      Description: !Sub "${AWS::StackName} key in ${AWS::Region} for ${Env}"
      PendingWindowInDays: !FindInMap [Windows, !Ref Env, Days]
      EnableKeyRotation: !If [IsProd, true, false]
      Tags:
        - Key: names
          Value: !Join ["+", !Ref Names]
        - !If [IsDev, {Key: dropped, Value: "dev only"}, !Ref "AWS::NoValue"]
  DevOnly:
    Type: AWS::KMS::Key
    Condition: IsDev
  Alias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: !Sub "alias/${AWS::StackName}-${Env}"
      TargetKeyId: !GetAtt Key.KeyId
Outputs:
  Ref: {Value: !Ref Key}
  Arn: {Value: !GetAtt Key.Arn}
  AliasRef: {Value: !Ref Alias}
  Joined: {Value: !Join [":", [!Ref "AWS::Partition", !Ref "AWS::AccountId", !Ref "AWS::URLSuffix"]]}
  Second: {Value: !Select [1, !Ref Names]}
  Split: {Value: !Select [2, !Split ["/", "a/b/c"]]}
  Sub2: {Value: !Sub ["${A}-${B}", {A: !Ref Days, B: literal}]}
  Escaped: {Value: !Sub "${!NotAVariable}"}
  Window: {Value: !FindInMap [Windows, dev, Days]}
  Encoded: {Value: !Base64 "hsm-kms"}
  Zone: {Value: !Select [0, !GetAZs ""]}
  Imported: {Value: !ImportValue shared-key-arn}
  IfProd: {Value: !If [ProdAndNine, "prod and nine", "other"]}
  IfOr: {Value: !If [DevOrNine, "dev or nine", "neither"]}
  StackId: {Value: !Ref "AWS::StackId"}
  DevOnlyKey:
    Condition: IsDev
    Value: !Ref DevOnly
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intrinsic_functions_conditions_and_short_forms() {
    let server = Server::start();
    let c = cfn(&server, "us-east-1").await;
    let exporter = create(&c, "exporter", EXPORTER, &[]).await;
    assert_eq!(status(&exporter), "CREATE_COMPLETE");
    let shared = output(&exporter, "SharedKeyArn");

    let s = create(&c, "everything", EVERYTHING, &[]).await;
    assert_eq!(
        status(&s),
        "CREATE_COMPLETE",
        "{:?}",
        events(&c, "everything").await
    );
    let key_id = output(&s, "Ref");
    assert_eq!(output(&s, "Arn"), Server::key_arn("us-east-1", &key_id));
    assert_eq!(output(&s, "AliasRef"), "alias/everything-prod");
    assert_eq!(output(&s, "Joined"), "aws:111122223333:amazonaws.com");
    assert_eq!(output(&s, "Second"), "beta");
    assert_eq!(output(&s, "Split"), "c");
    assert_eq!(output(&s, "Sub2"), "9-literal");
    assert_eq!(output(&s, "Escaped"), "${NotAVariable}");
    assert_eq!(output(&s, "Window"), "7");
    assert_eq!(output(&s, "Encoded"), "aHNtLWttcw==");
    assert_eq!(output(&s, "Zone"), "us-east-1a");
    assert_eq!(output(&s, "Imported"), shared);
    assert_eq!(output(&s, "IfProd"), "prod and nine");
    assert_eq!(output(&s, "IfOr"), "dev or nine");
    assert_eq!(output(&s, "StackId"), s.stack_id().unwrap_or_default());
    assert!(
        s.outputs()
            .iter()
            .all(|o| o.output_key() != Some("DevOnlyKey")),
        "condition-false output left out"
    );
    // NoEcho parameters are masked.
    let secret = s
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("Secret"))
        .expect("param");
    assert_eq!(secret.parameter_value(), Some("****"));

    // The resources got what the functions computed.
    let kms = server.client("us-east-1").await;
    let meta = describe(&kms, &key_id).await;
    assert_eq!(
        meta.description(),
        Some("everything key in us-east-1 for prod")
    );
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .expect("rotation");
    assert!(rotation.key_rotation_enabled());
    let tags = kms
        .list_resource_tags()
        .key_id(&key_id)
        .send()
        .await
        .expect("tags");
    let tag = |k: &str| {
        tags.tags()
            .iter()
            .find(|t| t.tag_key() == k)
            .map(|t| t.tag_value().to_string())
    };
    assert_eq!(tag("names").as_deref(), Some("alpha+beta+gamma"));
    assert_eq!(tag("dropped"), None, "AWS::NoValue removes the tag");
    assert_eq!(
        tag("aws:cloudformation:stack-name").as_deref(),
        Some("everything")
    );
    assert_eq!(tag("aws:cloudformation:logical-id").as_deref(), Some("Key"));
    assert_eq!(tag("aws:cloudformation:stack-id").as_deref(), s.stack_id());
    let resources = c
        .list_stack_resources()
        .stack_name("everything")
        .send()
        .await
        .expect("resources");
    let mut logical: Vec<&str> = resources
        .stack_resource_summaries()
        .iter()
        .filter_map(|r| r.logical_resource_id())
        .collect();
    logical.sort();
    assert_eq!(
        logical,
        vec!["Alias", "Key"],
        "the IsDev resource is not created"
    );
    let aliases = kms
        .list_aliases()
        .key_id(&key_id)
        .send()
        .await
        .expect("aliases");
    assert_eq!(
        aliases.aliases()[0].alias_name(),
        Some("alias/everything-prod")
    );

    // The other branch of every condition, through an update.
    let update = c
        .update_stack()
        .stack_name("everything")
        .use_previous_template(true)
        .set_parameters(Some(params(&[("Env", "dev")])))
        .send()
        .await;
    update.unwrap_or_else(|e| panic!("update: {}", err_message(&e)));
    let s = settled(&c, "everything").await;
    assert_eq!(
        status(&s),
        "UPDATE_COMPLETE",
        "{:?}",
        events(&c, "everything").await
    );
    assert_eq!(output(&s, "IfProd"), "other");
    assert_eq!(output(&s, "IfOr"), "dev or nine");
    assert_eq!(output(&s, "AliasRef"), "alias/everything-dev");
    let dev_key = output(&s, "DevOnlyKey");
    assert_eq!(key_state(&server, "us-east-1", &dev_key).await, "Enabled");
    assert!(!kms
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .expect("rotation")
        .key_rotation_enabled());
    // The renamed alias is a new alias; the old one is gone after the cleanup.
    let names: Vec<String> = kms
        .list_aliases()
        .key_id(&key_id)
        .send()
        .await
        .expect("aliases")
        .aliases()
        .iter()
        .filter_map(|a| a.alias_name().map(str::to_string))
        .collect();
    assert_eq!(names, vec!["alias/everything-dev".to_string()]);
}

const KEY_TEMPLATE: &str = r#"
Parameters:
  Spec: {Type: String, Default: SYMMETRIC_DEFAULT}
  Usage: {Type: String, Default: ENCRYPT_DECRYPT}
  Text: {Type: String, Default: first}
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      Description: !Ref Text
      KeySpec: !Ref Spec
      KeyUsage: !Ref Usage
      PendingWindowInDays: 7
Outputs:
  KeyId: {Value: !Ref Key}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_sets_and_replacement_on_a_create_only_property() {
    let server = Server::start();
    let c = cfn(&server, "us-east-1").await;
    // A CREATE change set: the stack waits in REVIEW_IN_PROGRESS.
    let created = c
        .create_change_set()
        .stack_name("cs")
        .change_set_name("first")
        .change_set_type(ChangeSetType::Create)
        .template_body(KEY_TEMPLATE)
        .send()
        .await
        .expect("create change set");
    let d = c
        .describe_change_set()
        .change_set_name(created.id().expect("id"))
        .send()
        .await
        .expect("describe");
    assert_eq!(d.status().map(|s| s.as_str()), Some("CREATE_COMPLETE"));
    assert_eq!(d.execution_status().map(|s| s.as_str()), Some("AVAILABLE"));
    let rc = d.changes()[0].resource_change().expect("resource change");
    assert_eq!(rc.action(), Some(&ChangeAction::Add));
    assert_eq!(rc.logical_resource_id(), Some("Key"));
    assert_eq!(status(&settled(&c, "cs").await), "REVIEW_IN_PROGRESS");
    c.execute_change_set()
        .change_set_name("first")
        .stack_name("cs")
        .send()
        .await
        .expect("execute");
    let s = settled(&c, "cs").await;
    assert_eq!(status(&s), "CREATE_COMPLETE");
    let old_key = output(&s, "KeyId");

    // An in-place change: Replacement False.
    c.create_change_set()
        .stack_name("cs")
        .change_set_name("describe")
        .use_previous_template(true)
        .set_parameters(Some(params(&[("Text", "second")])))
        .send()
        .await
        .expect("update change set");
    let d = c
        .describe_change_set()
        .change_set_name("describe")
        .stack_name("cs")
        .send()
        .await
        .expect("describe");
    let rc = d.changes()[0].resource_change().expect("change");
    assert_eq!(rc.action(), Some(&ChangeAction::Modify));
    assert_eq!(rc.replacement(), Some(&Replacement::False));
    assert_eq!(rc.physical_resource_id(), Some(old_key.as_str()));
    let listed = c
        .list_change_sets()
        .stack_name("cs")
        .send()
        .await
        .expect("list");
    let names: Vec<&str> = listed
        .summaries()
        .iter()
        .filter_map(|c| c.change_set_name())
        .collect();
    assert_eq!(
        names,
        vec!["describe", "first"],
        "the executed change set stays, EXECUTE_COMPLETE"
    );
    c.delete_change_set()
        .change_set_name("describe")
        .stack_name("cs")
        .send()
        .await
        .expect("delete change set");

    // Nothing changes: the change set FAILS with AWS's reason.
    c.create_change_set()
        .stack_name("cs")
        .change_set_name("empty")
        .use_previous_template(true)
        .send()
        .await
        .expect("empty change set");
    let d = c
        .describe_change_set()
        .change_set_name("empty")
        .stack_name("cs")
        .send()
        .await
        .expect("describe");
    assert_eq!(d.status().map(|s| s.as_str()), Some("FAILED"));
    assert_eq!(
        d.status_reason(),
        Some("The submitted information didn't contain changes. Submit different information to create a change set.")
    );
    let e = must_fail(
        c.execute_change_set()
            .change_set_name("empty")
            .stack_name("cs")
            .send()
            .await,
        "execute failed",
    );
    assert_err(&e, "InvalidChangeSetStatus", &["cannot be executed"]);
    let e = must_fail(
        c.update_stack()
            .stack_name("cs")
            .use_previous_template(true)
            .send()
            .await,
        "no-op update",
    );
    assert_err(&e, "ValidationError", &["No updates are to be performed."]);

    // A create-only property: Replacement True; executing it makes a new key and
    // schedules the old one for deletion.
    c.create_change_set()
        .stack_name("cs")
        .change_set_name("replace")
        .use_previous_template(true)
        .set_parameters(Some(params(&[
            ("Spec", "HMAC_256"),
            ("Usage", "GENERATE_VERIFY_MAC"),
        ])))
        .send()
        .await
        .expect("replacement change set");
    let d = c
        .describe_change_set()
        .change_set_name("replace")
        .stack_name("cs")
        .send()
        .await
        .expect("describe");
    let rc = d.changes()[0].resource_change().expect("change");
    assert_eq!(rc.replacement(), Some(&Replacement::True));
    let recreate: Vec<&str> = rc
        .details()
        .iter()
        .filter(|d| {
            d.target()
                .and_then(|t| t.requires_recreation())
                .map(|r| r.as_str())
                == Some("Always")
        })
        .filter_map(|d| d.target().and_then(|t| t.name()))
        .collect();
    assert_eq!(recreate, vec!["KeySpec", "KeyUsage"]);
    c.execute_change_set()
        .change_set_name("replace")
        .stack_name("cs")
        .send()
        .await
        .expect("execute");
    let s = settled(&c, "cs").await;
    assert_eq!(
        status(&s),
        "UPDATE_COMPLETE",
        "{:?}",
        events(&c, "cs").await
    );
    let new_key = output(&s, "KeyId");
    assert_ne!(new_key, old_key);
    assert_eq!(
        key_state(&server, "us-east-1", &old_key).await,
        "PendingDeletion"
    );
    let kms = server.client("us-east-1").await;
    let mac = kms
        .generate_mac()
        .key_id(&new_key)
        .mac_algorithm(aws_sdk_kms::types::MacAlgorithmSpec::HmacSha256)
        .message(aws_sdk_kms::primitives::Blob::new(b"m".to_vec()))
        .send()
        .await
        .expect("the new key works");
    assert_eq!(mac.mac().map(|m| m.as_ref().len()), Some(32));
    let ev = events(&c, "cs").await.join("\n");
    assert!(ev.contains("Key UPDATE_IN_PROGRESS Requested update requires the creation of a new physical resource; hence creating one."), "{ev}");
    assert!(
        ev.contains("cs UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        "{ev}"
    );
    // The change set is the stack's.
    assert!(s
        .change_set_id()
        .is_some_and(|id| id.contains(":changeSet/replace/")));
    let t = c
        .get_template()
        .stack_name("cs")
        .send()
        .await
        .expect("template");
    assert_eq!(t.template_body(), Some(KEY_TEMPLATE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_resource_rolls_back_and_leaves_no_key() {
    let server = Server::start();
    let c = cfn(&server, "us-east-1").await;
    let kms = server.client("us-east-1").await;
    let template = r#"
Resources:
  Good:
    Type: AWS::KMS::Key
    Properties: {Description: made then rolled back, PendingWindowInDays: 7}
  Bad:
    Type: AWS::KMS::Key
    DependsOn: Good
    Properties: {PendingWindowInDays: 3}
"#;
    let s = create(&c, "bad-window", template, &[]).await;
    assert_eq!(status(&s), "ROLLBACK_COMPLETE");
    let ev = events(&c, "bad-window").await.join("\n");
    assert!(
        ev.contains("bad-window ROLLBACK_IN_PROGRESS The following resource(s) failed to create: [Bad]. Rollback requested by user."),
        "{ev}"
    );
    assert!(
        ev.contains("Bad CREATE_FAILED Properties validation failed for resource Bad with message: [#/PendingWindowInDays: 3 is not greater or equal to 7]"),
        "{ev}"
    );
    assert!(ev.contains("Good DELETE_COMPLETE"), "{ev}");
    let good = physical_id(&c, "bad-window", "Good").await;
    assert_eq!(
        key_state(&server, "us-east-1", &good).await,
        "PendingDeletion"
    );
    // No key of the stack is left usable.
    let keys = kms.list_keys().send().await.expect("keys");
    for k in keys.keys() {
        let id = k.key_id().unwrap_or_default();
        assert_ne!(
            key_state(&server, "us-east-1", id).await,
            "Enabled",
            "key {id} left behind"
        );
    }

    // A KMS error is the resource's reason, as a handler message.
    let template = r#"
Resources:
  Wrong:
    Type: AWS::KMS::Key
    Properties: {KeySpec: SYMMETRIC_DEFAULT, KeyUsage: SIGN_VERIFY}
"#;
    let s = create(&c, "kms-error", template, &[]).await;
    assert_eq!(status(&s), "ROLLBACK_COMPLETE");
    let ev = events(&c, "kms-error").await.join("\n");
    assert!(
        ev.contains("Wrong CREATE_FAILED Resource handler returned message: \"KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT\" (Service: Kms, Status Code: 400"),
        "{ev}"
    );
    // A rolled back stack cannot be updated; its name is taken until it is deleted.
    let e = must_fail(
        c.update_stack()
            .stack_name("kms-error")
            .use_previous_template(true)
            .send()
            .await,
        "update",
    );
    assert_err(
        &e,
        "ValidationError",
        &["is in ROLLBACK_COMPLETE state and can not be updated."],
    );
    let e = must_fail(
        c.create_stack()
            .stack_name("kms-error")
            .template_body(template)
            .send()
            .await,
        "again",
    );
    assert_err(
        &e,
        "AlreadyExistsException",
        &["Stack [kms-error] already exists"],
    );

    // DisableRollback keeps what was made.
    c.create_stack()
        .stack_name("kept")
        .template_body(r#"{"Resources": {"A": {"Type": "AWS::KMS::Key"}, "B": {"Type": "AWS::KMS::Key", "DependsOn": "A", "Properties": {"PendingWindowInDays": 3}}}}"#)
        .disable_rollback(true)
        .send()
        .await
        .expect("create");
    let s = settled(&c, "kept").await;
    assert_eq!(status(&s), "CREATE_FAILED");
    let a = physical_id(&c, "kept", "A").await;
    assert_eq!(key_state(&server, "us-east-1", &a).await, "Enabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_imports_and_an_export_in_use() {
    let server = Server::start();
    let c = cfn(&server, "us-east-1").await;
    let exporter = create(&c, "exporter", EXPORTER, &[]).await;
    let arn = output(&exporter, "SharedKeyArn");
    let importer = r#"
Resources:
  Alias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: alias/imported
      TargetKeyId: !ImportValue shared-key-arn
Outputs:
  Target: {Value: !ImportValue shared-key-arn}
"#;
    let s = create(&c, "importer", importer, &[]).await;
    assert_eq!(
        status(&s),
        "CREATE_COMPLETE",
        "{:?}",
        events(&c, "importer").await
    );
    assert_eq!(output(&s, "Target"), arn);
    let exports = c.list_exports().send().await.expect("exports");
    assert_eq!(exports.exports().len(), 1);
    assert_eq!(exports.exports()[0].name(), Some("shared-key-arn"));
    assert_eq!(exports.exports()[0].value(), Some(arn.as_str()));
    let imports = c
        .list_imports()
        .export_name("shared-key-arn")
        .send()
        .await
        .expect("imports");
    assert_eq!(imports.imports(), ["importer".to_string()]);

    // The exporter cannot be deleted while its export is imported.
    c.delete_stack()
        .stack_name("exporter")
        .send()
        .await
        .expect("delete request");
    let s = settled(&c, "exporter").await;
    assert_eq!(status(&s), "DELETE_FAILED");
    assert_eq!(
        s.stack_status_reason(),
        Some("Export shared-key-arn cannot be deleted as it is in use by importer")
    );
    assert_eq!(
        key_state(
            &server,
            "us-east-1",
            &physical_id(&c, "exporter", "SharedKey").await
        )
        .await,
        "Enabled"
    );
    // A second stack cannot export the same name.
    let s = create(&c, "exporter-two", EXPORTER, &[]).await;
    assert_eq!(status(&s), "ROLLBACK_COMPLETE");
    let ev = events(&c, "exporter-two").await.join("\n");
    assert!(
        ev.contains("Export with name shared-key-arn is already exported by stack exporter"),
        "{ev}"
    );
    // An export that does not exist is refused when the stack is created.
    let e = must_fail(
        c.create_stack()
            .stack_name("nothing")
            .template_body(importer.replace("shared-key-arn", "missing"))
            .send()
            .await,
        "missing export",
    );
    assert_err(&e, "ValidationError", &["No export named missing found"]);

    // Once the importer is gone, the exporter can go.
    c.delete_stack()
        .stack_name("importer")
        .send()
        .await
        .expect("delete importer");
    let e = must_fail(
        c.describe_stacks().stack_name("importer").send().await,
        "deleted",
    );
    assert_err(
        &e,
        "ValidationError",
        &["Stack with id importer does not exist"],
    );
    c.delete_stack()
        .stack_name("exporter")
        .send()
        .await
        .expect("delete exporter");
    settled_deleted(&c, &exporter).await;
    assert!(c
        .list_exports()
        .send()
        .await
        .expect("exports")
        .exports()
        .is_empty());
}

async fn settled_deleted(c: &Client, stack: &Stack) {
    let id = stack.stack_id().expect("id");
    let s = settled(c, id).await;
    assert_eq!(status(&s), "DELETE_COMPLETE", "{:?}", events(c, id).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_templates_answer_aws_validation_errors() {
    let server = Server::start();
    let c = cfn(&server, "us-east-1").await;
    let cases: &[(&str, &str)] = &[
        (
            "Resources:\n  Key:\n    Type: AWS::KMS::Key\n   Properties: {}\n",
            "Template format error: YAML not well-formed. (line 4, column 14)",
        ),
        (
            "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n",
            "Template format error: Unrecognized resource types: [AWS::S3::Bucket]",
        ),
        (
            "Resources:\n  A:\n    Type: AWS::KMS::Alias\n    Properties:\n      AliasName: alias/a\n      TargetKeyId: !Ref B\n  B:\n    Type: AWS::KMS::Key\n    DependsOn: A\n",
            "Template format error: Circular dependency between resources: [A, B]",
        ),
        (
            "Parameters:\n  Needed: {Type: String}\nResources:\n  K:\n    Type: AWS::KMS::Key\n    Properties: {Description: !Ref Needed}\n",
            "Parameters: [Needed] must have values",
        ),
        (
            "Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties: {Description: !Ref Nowhere}\n",
            "Template format error: Unresolved resource dependencies [Nowhere] in the Resources block of the template",
        ),
    ];
    for (template, message) in cases {
        let e = must_fail(
            c.create_stack()
                .stack_name("bad")
                .template_body(*template)
                .send()
                .await,
            message,
        );
        assert_err(&e, "ValidationError", &[message]);
        if !message.starts_with("Parameters") {
            // ValidateTemplate needs no parameter values; it checks everything else.
            let e = must_fail(
                c.validate_template().template_body(*template).send().await,
                message,
            );
            assert_err(&e, "ValidationError", &[message]);
        }
    }
    let e = must_fail(
        c.create_stack()
            .stack_name("bad_name")
            .template_body(EXPORTER)
            .send()
            .await,
        "name",
    );
    assert_err(&e, "ValidationError", &["Value 'bad_name' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"]);
    let e = must_fail(
        c.describe_stacks().stack_name("nope").send().await,
        "missing stack",
    );
    assert_err(
        &e,
        "ValidationError",
        &["Stack with id nope does not exist"],
    );
    let e = must_fail(
        c.describe_change_set()
            .change_set_name("nope")
            .stack_name("nope")
            .send()
            .await,
        "missing change set",
    );
    assert_err(
        &e,
        "ChangeSetNotFound",
        &["ChangeSet [nope] does not exist"],
    );
    // ValidateTemplate and GetTemplateSummary describe a good template.
    let v = c
        .validate_template()
        .template_body(EVERYTHING)
        .send()
        .await
        .expect("validate");
    assert_eq!(v.description(), Some("every intrinsic function"));
    assert_eq!(v.parameters().len(), 4);
    let summary = c
        .get_template_summary()
        .template_body(EVERYTHING)
        .send()
        .await
        .expect("summary");
    assert_eq!(
        summary.resource_types(),
        ["AWS::KMS::Alias".to_string(), "AWS::KMS::Key".to_string()]
    );
    let env = summary
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("Env"))
        .expect("Env");
    assert_eq!(env.default_value(), Some("prod"));
    assert_eq!(
        env.parameter_constraints()
            .map(|c| c.allowed_values().len()),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_retargets_in_place_and_retain_keeps_the_key() {
    let server = Server::start();
    let c = cfn(&server, "us-east-1").await;
    let template = r#"
Parameters:
  Target: {Type: String, Default: One}
Conditions:
  UseOne: !Equals [!Ref Target, One]
Resources:
  One:
    Type: AWS::KMS::Key
    DeletionPolicy: Retain
  Two:
    Type: AWS::KMS::Key
    Properties: {PendingWindowInDays: 7}
  Alias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: alias/moving
      TargetKeyId: !If [UseOne, !Ref One, !Ref Two]
"#;
    let s = create(&c, "moving", template, &[]).await;
    assert_eq!(status(&s), "CREATE_COMPLETE");
    let one = physical_id(&c, "moving", "One").await;
    let two = physical_id(&c, "moving", "Two").await;
    let kms = server.client("us-east-1").await;
    let target = |k: &aws_sdk_kms::Client| {
        let k = k.clone();
        async move { describe(&k, "alias/moving").await.key_id().to_string() }
    };
    assert_eq!(target(&kms).await, one);
    c.update_stack()
        .stack_name("moving")
        .use_previous_template(true)
        .set_parameters(Some(params(&[("Target", "Two")])))
        .send()
        .await
        .expect("update");
    let s = settled(&c, "moving").await;
    assert_eq!(status(&s), "UPDATE_COMPLETE");
    assert_eq!(target(&kms).await, two);
    assert_eq!(
        physical_id(&c, "moving", "Alias").await,
        "alias/moving",
        "same alias, updated in place"
    );
    let audit =
        std::fs::read_to_string(server.data_dir().join("audit/us-east-1.jsonl")).expect("audit");
    assert!(audit
        .lines()
        .any(|l| l.contains("\"UpdateAlias\"") && l.contains("cloudformation.amazonaws.com")));

    c.delete_stack()
        .stack_name("moving")
        .send()
        .await
        .expect("delete");
    settled_deleted(&c, &s).await;
    assert_eq!(
        key_state(&server, "us-east-1", &one).await,
        "Enabled",
        "DeletionPolicy Retain"
    );
    assert_eq!(
        key_state(&server, "us-east-1", &two).await,
        "PendingDeletion"
    );
    let ev = events(&c, s.stack_id().expect("id")).await.join("\n");
    assert!(ev.contains("One DELETE_SKIPPED"), "{ev}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_during_a_deployment_rolls_back_after_restart() {
    // Replicas stay `Creating` for 20 s, so the replica stack is mid-deployment when the
    // server is killed.
    let mut server = Server::start_with(&[
        "--regions",
        "us-east-1,ap-southeast-2",
        "--replica-creation-delay-ms",
        "20000",
    ]);
    let c = cfn(&server, "us-east-1").await;
    let primary = create(
        &c,
        "primary",
        "Resources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties: {MultiRegion: true}\nOutputs:\n  Arn: {Value: !GetAtt Key.Arn}\n",
        &[],
    )
    .await;
    let arn = output(&primary, "Arn");
    let replica_template = r#"
Parameters:
  Primary: {Type: String}
Resources:
  Replica:
    Type: AWS::KMS::ReplicaKey
    Properties:
      PrimaryKeyArn: !Ref Primary
      PendingWindowInDays: 7
      KeyPolicy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {AWS: "arn:aws:iam::111122223333:root"}, Action: "kms:*", Resource: "*"}]}
"#;
    let sydney = cfn(&server, "ap-southeast-2").await;
    sydney
        .create_stack()
        .stack_name("replica")
        .template_body(replica_template)
        .set_parameters(Some(params(&[("Primary", &arn)])))
        .send()
        .await
        .expect("create replica stack");
    let d = sydney
        .describe_stacks()
        .stack_name("replica")
        .send()
        .await
        .expect("describe");
    assert_eq!(
        status(&d.stacks()[0]),
        "CREATE_IN_PROGRESS",
        "the replica is still Creating"
    );
    server.kill9();
    server.restart();

    let sydney = cfn(&server, "ap-southeast-2").await;
    let s = settled(&sydney, "replica").await;
    assert_eq!(
        status(&s),
        "ROLLBACK_COMPLETE",
        "{:?}",
        events(&sydney, "replica").await
    );
    let ev = events(&sydney, "replica").await.join("\n");
    assert!(
        ev.contains("Replica CREATE_FAILED Resource handler was interrupted"),
        "{ev}"
    );
    let key_id = arn.rsplit('/').next().expect("key id");
    assert_eq!(
        key_state(&server, "ap-southeast-2", key_id).await,
        "PendingDeletion",
        "the replica made before the crash is known to the stack and removed"
    );
    // The stack is known after another restart, as it was.
    server.restart();
    let sydney = cfn(&server, "ap-southeast-2").await;
    let again = settled(&sydney, "replica").await;
    assert_eq!(status(&again), "ROLLBACK_COMPLETE");
    assert_eq!(events(&sydney, "replica").await.join("\n"), ev);
}

/// The crash window between a stack's CreateKey and the record of the key's physical id:
/// the engine is held between the two (`--stack-record-delay-ms`), and the server is killed
/// once the CreateKey record is in the audit log (so the key exists, and the stack has not
/// recorded it). After the restart the stack rolls back, the key is found by its
/// `aws:cloudformation:*` tags and scheduled for deletion: no key is left that no stack
/// knows of.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_between_create_key_and_its_record_leaves_no_key_the_stack_does_not_know() {
    let mut server = Server::start_with(&[
        "--regions",
        "us-east-1",
        "--stack-record-delay-ms",
        "600000",
    ]);
    let c = cfn(&server, "us-east-1").await;
    c.create_stack()
        .stack_name("window")
        .template_body("Resources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties: {PendingWindowInDays: 7}\n")
        .send()
        .await
        .unwrap_or_else(|e| panic!("create window: {}", err_message(&e)));
    let created = wait_for_record(&server, "us-east-1", "the stack's CreateKey", |r| {
        r["eventName"] == "CreateKey"
            && r["userIdentity"]["invokedBy"] == "cloudformation.amazonaws.com"
            && r.get("errorCode").is_none()
    })
    .await;
    let key_id = created["responseElements"]["keyMetadata"]["KeyId"]
        .as_str()
        .unwrap_or_else(|| panic!("no key id in {created}"))
        .to_string();
    // Inside the window: the key exists, the stack has no physical id for it yet.
    let resource = c
        .describe_stack_resource()
        .stack_name("window")
        .logical_resource_id("Key")
        .send()
        .await
        .expect("describe resource");
    let detail = resource.stack_resource_detail().expect("detail");
    assert_eq!(
        detail.resource_status().map(|s| s.as_str()),
        Some("CREATE_IN_PROGRESS")
    );
    assert_eq!(detail.physical_resource_id(), None, "{detail:?}");
    assert_eq!(key_state(&server, "us-east-1", &key_id).await, "Enabled");
    server.kill9();
    server.restart();

    let c = cfn(&server, "us-east-1").await;
    let s = settled(&c, "window").await;
    let ev = events(&c, "window").await.join("\n");
    assert_eq!(status(&s), "ROLLBACK_COMPLETE", "{ev}");
    assert!(
        ev.contains("Key CREATE_FAILED Resource handler was interrupted"),
        "{ev}"
    );
    assert!(
        ev.contains("restarted. Rollback requested by user."),
        "{ev}"
    );
    // The key the crash left is the stack's: its deletion is among the stack's events,
    // and it is the only key of the Region, pending deletion.
    let events = c
        .describe_stack_events()
        .stack_name("window")
        .send()
        .await
        .expect("events");
    assert!(
        events.stack_events().iter().any(|e| {
            e.logical_resource_id() == Some("Key")
                && e.physical_resource_id() == Some(key_id.as_str())
                && e.resource_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE")
        }),
        "{ev}"
    );
    let kms = server.client("us-east-1").await;
    let keys = kms.list_keys().send().await.expect("list keys");
    let ids: Vec<&str> = keys.keys().iter().filter_map(|k| k.key_id()).collect();
    assert_eq!(ids, vec![key_id.as_str()]);
    assert_eq!(
        key_state(&server, "us-east-1", &key_id).await,
        "PendingDeletion"
    );
}

/// CloudFormation's own API calls are in the Region's audit log as CloudTrail records
/// them: eventSource cloudformation.amazonaws.com, the caller (the account root in open
/// mode), readOnly for Describe/List/Get/Validate, the stack id as responseElements,
/// errors with their code — and neither the template body nor parameter values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudformation_api_calls_are_in_the_audit_log() {
    let server = Server::start_with(&["--regions", "us-east-1"]);
    let c = cfn(&server, "us-east-1").await;
    let template = "Parameters:\n  Secret: {Type: String, NoEcho: true}\nResources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      Description: audited key\n";
    let s = create(
        &c,
        "audited",
        template,
        &[("Secret", "s3cret-parameter-value")],
    )
    .await;
    assert_eq!(status(&s), "CREATE_COMPLETE");
    let stack_id = s.stack_id().expect("stack id").to_string();
    let again = c
        .create_stack()
        .stack_name("audited")
        .template_body(template)
        .set_parameters(Some(params(&[("Secret", "s3cret-parameter-value")])))
        .send()
        .await;
    assert_err(
        &must_fail(again, "a second stack of the same name"),
        "AlreadyExistsException",
        &["Stack [audited] already exists"],
    );

    let cfn_record = |name: &'static str| {
        let server = &server;
        async move {
            wait_for_record(server, "us-east-1", name, |r| {
                r["eventSource"] == "cloudformation.amazonaws.com" && r["eventName"] == name
            })
            .await
        }
    };
    let create = cfn_record("CreateStack").await;
    assert_eq!(create["awsRegion"], "us-east-1", "{create}");
    assert_eq!(create["readOnly"], false, "{create}");
    assert_eq!(create["eventType"], "AwsApiCall", "{create}");
    assert_eq!(create["userIdentity"]["type"], "Root", "{create}");
    assert_eq!(create["userIdentity"]["accessKeyId"], "AKIDEXAMPLE");
    assert!(
        create["userIdentity"].get("invokedBy").is_none(),
        "{create}"
    );
    assert_eq!(create["sourceIPAddress"], "127.0.0.1", "{create}");
    assert!(
        create["userAgent"]
            .as_str()
            .is_some_and(|ua| ua.contains("aws-sdk-rust")),
        "{create}"
    );
    assert_eq!(create["requestParameters"]["stackName"], "audited");
    assert_eq!(
        create["requestParameters"]["parameters"],
        serde_json::json!([{"parameterKey": "Secret"}]),
        "parameter values are left out: {create}"
    );
    assert!(create["requestParameters"].get("templateBody").is_none());
    assert_eq!(create["responseElements"]["stackId"], stack_id.as_str());

    let describe = cfn_record("DescribeStacks").await;
    assert_eq!(describe["readOnly"], true, "{describe}");
    assert_eq!(describe["responseElements"], serde_json::Value::Null);

    let refused = wait_for_record(&server, "us-east-1", "the refused CreateStack", |r| {
        r["eventName"] == "CreateStack" && r.get("errorCode").is_some()
    })
    .await;
    assert_eq!(refused["errorCode"], "AlreadyExistsException", "{refused}");
    assert_eq!(refused["errorMessage"], "Stack [audited] already exists");

    // The stack's own KMS call is recorded as KMS's, made by CloudFormation for the caller.
    let kms_call = wait_for_record(&server, "us-east-1", "the stack's CreateKey", |r| {
        r["eventName"] == "CreateKey"
    })
    .await;
    assert_eq!(kms_call["eventSource"], "kms.amazonaws.com");
    assert_eq!(
        kms_call["userIdentity"]["invokedBy"],
        "cloudformation.amazonaws.com"
    );
    assert_eq!(kms_call["userIdentity"]["type"], "Root");

    let log = std::fs::read_to_string(server.data_dir().join("audit/us-east-1.jsonl"))
        .expect("audit log");
    assert!(!log.contains("s3cret-parameter-value"), "{log}");
    assert!(!log.contains("NoEcho"), "no template text: {log}");
}
