//! Bad input never breaks the server: every operation of the AWS KMS model, sent empty,
//! half-filled and filled with wrong-but-well-typed values (unknown keys, keys of the
//! wrong type, garbage ciphertexts, out-of-range numbers), gets an AWS error type with a
//! message — never a 500, never a dropped connection — and the server still serves
//! afterwards with every earlier key intact.

mod common;

use std::collections::BTreeMap;

use base64::Engine;
use common::*;
use serde_json::{json, Map, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The service model compiled into the server, read the same way here.
fn model() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/model/kms-service-model.json"
    ))
    .expect("model file");
    serde_json::from_str(&text).expect("model JSON")
}

/// A well-typed value for a member shape, filled from `pick` where the member is a key id.
fn value_for(model: &Value, shape_name: &str, member: &str, key: &str, depth: usize) -> Value {
    let shape = &model["shapes"][shape_name];
    let kind = shape["type"].as_str().unwrap_or("string");
    if depth > 3 {
        return Value::Null;
    }
    match kind {
        "string" => {
            if let Some(values) = shape["enum"].as_array() {
                return values.first().cloned().unwrap_or(json!("x"));
            }
            if member.ends_with("KeyId") || member == "KeyId" {
                return json!(key);
            }
            if member == "AliasName" {
                return json!("alias/bad-input");
            }
            if member.ends_with("Region") {
                return json!("eu-west-1");
            }
            let min = shape["min"].as_u64().unwrap_or(1).max(1) as usize;
            json!("a".repeat(min))
        }
        "blob" => {
            let min = shape["min"].as_u64().unwrap_or(1).max(1) as usize;
            json!(B64.encode(vec![0x41u8; min.max(32)]))
        }
        "integer" | "long" => json!(shape["min"].as_i64().unwrap_or(1)),
        "boolean" => json!(false),
        "timestamp" => json!(1_900_000_000),
        "list" => {
            let member_shape = shape["member"]["shape"].as_str().unwrap_or("");
            json!([value_for(model, member_shape, member, key, depth + 1)])
        }
        "map" => json!({"k": "v"}),
        "structure" => {
            let mut obj = Map::new();
            if let Some(members) = shape["members"].as_object() {
                for (name, m) in members {
                    let s = m["shape"].as_str().unwrap_or("");
                    obj.insert(name.clone(), value_for(model, s, name, key, depth + 1));
                }
            }
            Value::Object(obj)
        }
        _ => Value::Null,
    }
}

async fn call(url: &str, op: &str, body: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("TrentService.{op}"))
        .header("authorization", fake_sigv4_authorization("us-east-1"))
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{op}: the server dropped the request: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, json)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_answers_bad_input_with_an_aws_error_never_a_fault() {
    let server = Server::start_with(&["--regions", "us-east-1,eu-west-1"]);
    let kms = server.client("us-east-1").await;
    let symmetric = NewKey::symmetric()
        .description("survivor")
        .create_id(&kms)
        .await;
    let ct = encrypt(&kms, &symmetric, b"still here").await;

    // Well-typed bodies name this key, and may disable or schedule it; the survivor above
    // is never named and must come through untouched.
    let (victim, _) = new_key(&kms).await;

    let model = model();
    let ops = model["operations"].as_object().expect("operations");
    let unknown_key = "0b0e8b8c-5d52-4c5b-9f34-2b8e3f4c9a11";
    let mut outcomes: BTreeMap<String, Vec<(u16, String)>> = BTreeMap::new();
    for (op, def) in ops {
        let input_shape = def["input"]["shape"].as_str().unwrap_or("");
        let mut bodies = vec![
            "{}".to_string(),
            "not json".to_string(),
            "[]".to_string(),
            json!({"KeyId": 42}).to_string(),
        ];
        if !input_shape.is_empty() {
            for key in [victim.as_str(), unknown_key, "alias/none", "mrk-nope"] {
                bodies.push(value_for(&model, input_shape, "", key, 0).to_string());
            }
        }
        for body in bodies {
            let (status, reply) = call(&server.url, op, &body).await;
            let error = reply["__type"].as_str().unwrap_or("").to_string();
            assert_ne!(
                status, 500,
                "{op} answered 500 to {body}: {reply} (a fault, not the caller's error)"
            );
            if status != 200 {
                assert_eq!(status, 400, "{op} {body}: status {status} {reply}");
                assert!(
                    error.ends_with("Exception"),
                    "{op} {body}: the error has no AWS type: {reply}"
                );
                // The errors AWS sends without a message (tests/fidelity.rs).
                let message_ok = reply["message"].as_str().is_some_and(|m| !m.is_empty())
                    || error == "InvalidCiphertextException"
                    || error == "KMSInvalidSignatureException"
                    || error == "KMSInvalidMacException"
                    || (op == "RotateKeyOnDemand" && error == "UnsupportedOperationException")
                    || (op == "DeriveSharedSecret" && error == "ValidationException");
                assert!(message_ok, "{op} {body}: no message: {reply}");
            }
            outcomes
                .entry(op.clone())
                .or_default()
                .push((status, error));
        }
    }
    // Unparseable bodies are SerializationException for every operation.
    for (op, results) in &outcomes {
        assert_eq!(
            results[1],
            (400, "SerializationException".to_string()),
            "{op}: 'not json'"
        );
    }
    eprintln!("{} operations exercised", outcomes.len());

    // The server still works and nothing it held was lost.
    assert_eq!(decrypt(&kms, &ct).await.0, b"still here");
    assert_eq!(
        describe(&kms, &symmetric).await.description(),
        Some("survivor")
    );
}
