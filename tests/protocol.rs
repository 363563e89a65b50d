//! The AWS JSON 1.1 wire protocol, seen with a raw HTTP client: X-Amz-Target dispatch,
//! error bodies, content types, Region from the SigV4 credential scope, timestamps
//! and blobs encoding.

mod common;

use base64::Engine;
use common::*;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

struct Reply {
    status: u16,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.body))
    }

    /// The error type, normalised as AWS JSON clients do (drop "namespace#" and ":suffix").
    fn error_type(&self) -> String {
        let v = self.json();
        let t = v["__type"]
            .as_str()
            .unwrap_or_else(|| panic!("error body has __type: {}", self.body));
        let t = t.rsplit('#').next().unwrap();
        t.split(':').next().unwrap().to_string()
    }

    fn message(&self) -> String {
        let v = self.json();
        v.get("message")
            .or_else(|| v.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }
}

/// POST one AWS JSON 1.1 request with a raw body.
async fn call_raw(server: &Server, target: Option<&str>, region: &str, body: &str) -> Reply {
    let mut req = reqwest::Client::new()
        .post(format!("{}/", server.url))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Date", "20261123T120000Z")
        .header("Authorization", fake_sigv4_authorization(region))
        .body(body.to_string());
    if let Some(t) = target {
        req = req.header("X-Amz-Target", t);
    }
    let resp = req.send().await.expect("HTTP request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.text().await.expect("response body");
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}

async fn call(server: &Server, op: &str, body: Value) -> Reply {
    call_raw(
        server,
        Some(&format!("TrentService.{op}")),
        "us-east-1",
        &body.to_string(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_operation() {
    let server = Server::start();
    let r = call(&server, "Nope", json!({})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_type(), "UnknownOperationException", "{}", r.body);
    assert_eq!(
        r.json()["__type"],
        "UnknownOperationException",
        "exact __type: {}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_body_is_serialization_exception() {
    let server = Server::start();
    for body in ["{not json", "[1,2,3]", "{\"KeyId\": }"] {
        let r = call_raw(&server, Some("TrentService.DescribeKey"), "us-east-1", body).await;
        assert_eq!(r.status, 400, "body {body:?}: {}", r.body);
        assert_eq!(
            r.error_type(),
            "SerializationException",
            "body {body:?}: {}",
            r.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wrongly_typed_member_is_serialization_exception() {
    let server = Server::start();
    let r = call(
        &server,
        "GenerateRandom",
        json!({"NumberOfBytes": "sixteen"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_type(), "SerializationException", "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_required_member_is_validation_exception() {
    let server = Server::start();
    let r = call(&server, "DescribeKey", json!({})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_type(), "ValidationException", "{}", r.body);
    assert!(
        r.message().contains(
            "Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        ),
        "message: {:?}",
        r.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_are_amz_json_1_1() {
    let server = Server::start();
    let ok = call(&server, "CreateKey", json!({})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(
        ok.content_type.starts_with("application/x-amz-json-1.1"),
        "success Content-Type {:?}",
        ok.content_type
    );
    let err = call(
        &server,
        "DescribeKey",
        json!({"KeyId": uuid::Uuid::new_v4().to_string()}),
    )
    .await;
    assert_eq!(err.status, 400, "{}", err.body);
    assert_eq!(err.error_type(), "NotFoundException");
    assert!(
        err.content_type.starts_with("application/x-amz-json-1.1"),
        "error Content-Type {:?}",
        err.content_type
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_carry_a_request_id() {
    let server = Server::start();
    let ok = call(&server, "ListKeys", json!({})).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let err = call(&server, "Nope", json!({})).await;
    let mut ids = Vec::new();
    for r in [&ok, &err] {
        let id = r
            .headers
            .get("x-amzn-requestid")
            .unwrap_or_else(|| panic!("x-amzn-RequestId header in {:?}", r.headers))
            .to_str()
            .unwrap()
            .to_string();
        assert!(!id.is_empty());
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "request ids are unique");
}

#[tokio::test(flavor = "multi_thread")]
async fn unserved_region_names_the_served_regions() {
    let server = Server::start();
    let r = call_raw(&server, Some("TrentService.ListKeys"), "sa-east-1", "{}").await;
    assert_eq!(r.status, 400, "{}", r.body);
    let _ = r.error_type(); // a well-formed AWS error body
    let msg = r.message();
    assert!(
        msg.contains("us-east-1"),
        "message names the served Regions: {msg:?}"
    );
    assert!(
        msg.contains("eu-west-1"),
        "message names the served Regions: {msg:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn region_comes_from_the_credential_scope() {
    let server = Server::start();
    let created = call_raw(&server, Some("TrentService.CreateKey"), "eu-west-1", "{}").await;
    assert_eq!(created.status, 200, "{}", created.body);
    let arn = created.json()["KeyMetadata"]["Arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        arn.starts_with("arn:aws:kms:eu-west-1:111122223333:key/"),
        "{arn}"
    );

    let cn = call_raw(&server, Some("TrentService.CreateKey"), "cn-north-1", "{}").await;
    assert_eq!(cn.status, 200, "{}", cn.body);
    let arn = cn.json()["KeyMetadata"]["Arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        arn.starts_with("arn:aws-cn:kms:cn-north-1:111122223333:key/"),
        "{arn}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn timestamps_are_epoch_seconds() {
    let server = Server::start();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let r = call(&server, "CreateKey", json!({"Description": "time"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let created = &v["KeyMetadata"]["CreationDate"];
    assert!(
        created.is_number(),
        "CreationDate is a JSON number: {created}"
    );
    let created = created.as_f64().unwrap();
    assert!(
        (created - now).abs() < 300.0,
        "CreationDate {created} is epoch seconds near {now}"
    );

    let id = v["KeyMetadata"]["KeyId"].as_str().unwrap();
    let r = call(
        &server,
        "ScheduleKeyDeletion",
        json!({"KeyId": id, "PendingWindowInDays": 7}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let when = &r.json()["DeletionDate"];
    assert!(when.is_number(), "DeletionDate is a JSON number: {when}");
    let when = when.as_f64().unwrap();
    assert!(
        (when - (now + 7.0 * 86400.0)).abs() < 300.0,
        "DeletionDate {when}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn blobs_are_base64() {
    let server = Server::start();
    let r = call(&server, "CreateKey", json!({})).await;
    let id = r.json()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_string();

    let r = call(
        &server,
        "Encrypt",
        json!({"KeyId": id, "Plaintext": B64.encode(b"raw protocol")}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ct = r.json()["CiphertextBlob"]
        .as_str()
        .expect("CiphertextBlob string")
        .to_string();
    assert!(B64.decode(&ct).is_ok(), "CiphertextBlob is base64: {ct}");

    let r = call(&server, "Decrypt", json!({"CiphertextBlob": ct})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let pt = B64.decode(r.json()["Plaintext"].as_str().unwrap()).unwrap();
    assert_eq!(pt, b"raw protocol");

    let r = call(&server, "GenerateRandom", json!({"NumberOfBytes": 33})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let random = B64.decode(r.json()["Plaintext"].as_str().unwrap()).unwrap();
    assert_eq!(random.len(), 33);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_target_header_is_rejected() {
    let server = Server::start();
    let r = call_raw(&server, None, "us-east-1", "{}").await;
    assert_eq!(r.status, 400, "{}", r.body);
    let _ = r.error_type();
}

/// Open mode: whatever the credentials, the caller is the account's root user, and the
/// audit log says so as CloudTrail does (type Root, the root ARN of the Region's
/// partition, the account id as principal id), with the access key the request was signed
/// with.
#[tokio::test(flavor = "multi_thread")]
async fn an_open_mode_caller_is_recorded_as_the_account_root() {
    let server = Server::start();
    for (region, partition) in [("us-east-1", "aws"), ("cn-north-1", "aws-cn")] {
        let key = new_key(&server.client(region).await).await.0;
        let record = wait_for_record(&server, region, "CreateKey", |r| {
            r["eventName"] == "CreateKey" && r.to_string().contains(&key)
        })
        .await;
        assert_eq!(
            record["userIdentity"],
            json!({
                "type": "Root",
                "principalId": ACCOUNT,
                "arn": format!("arn:{partition}:iam::{ACCOUNT}:root"),
                "accountId": ACCOUNT,
                "accessKeyId": "AKIDEXAMPLE",
            }),
            "{record}"
        );
    }
}
