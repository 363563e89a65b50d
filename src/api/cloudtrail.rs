//! CloudTrail's `LookupEvents` on the same port (AWS JSON 1.1, `X-Amz-Target:
//! com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`), over the audit
//! log of the request's Region, so `aws cloudtrail lookup-events --region R` lists R's
//! records. The body is validated against CloudTrail's service model
//! (`model/cloudtrail-service-model.json`); in strict mode the caller needs
//! `cloudtrail:LookupEvents` in an IAM policy. Other CloudTrail operations are
//! `UnknownOperationException` (not in the model) or `UnsupportedOperationException`.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::audit::{Lookup, LookupKey};
use crate::authz::RequestFacts;
use crate::domain::region::Region;
use crate::domain::request::RequestContext;
use crate::kms::service::Kms;
use crate::kms::validate::{InputError, ServiceModel};

/// The `X-Amz-Target` prefix of CloudTrail's operations.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

const MODEL_JSON: &str = include_str!("../../model/cloudtrail-service-model.json");

static MODEL: LazyLock<Result<ServiceModel, String>> =
    LazyLock::new(|| ServiceModel::load(MODEL_JSON));

/// A CloudTrail error: its type and message.
struct TrailError {
    status: u16,
    code: String,
    message: String,
}

impl TrailError {
    fn new(code: &str, message: impl Into<String>) -> TrailError {
        TrailError {
            status: 400,
            code: code.to_string(),
            message: message.into(),
        }
    }
}

fn render(request_id: &str, result: Result<Value, TrailError>) -> Response {
    let (status, body) = match result {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            json!({"__type": e.code, "message": e.message}),
        ),
    };
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// Answers a CloudTrail request for `operation` (the part of the target after the
/// prefix), from a caller the verification step let through.
pub async fn handle(
    kms: std::sync::Arc<Kms>,
    ctx: RequestContext,
    operation: String,
    body: Bytes,
) -> Response {
    let request_id = ctx.request_id.clone();
    // Reading the audit log blocks: not on the async executor.
    let result = tokio::task::spawn_blocking(move || answer(&kms, &ctx, &operation, &body))
        .await
        .unwrap_or_else(|_| {
            Err(TrailError {
                status: 500,
                code: "InternalFailure".into(),
                message: "The request failed.".into(),
            })
        });
    render(&request_id, result)
}

fn answer(
    kms: &Kms,
    ctx: &RequestContext,
    operation: &str,
    body: &[u8],
) -> Result<Value, TrailError> {
    let model = MODEL.as_ref().map_err(|e| TrailError {
        status: 500,
        code: "InternalFailure".into(),
        message: format!("the CloudTrail model does not load: {e}"),
    })?;
    if !model.has_operation(operation) {
        return Err(TrailError::new(
            "UnknownOperationException",
            format!("Unknown operation {operation}"),
        ));
    }
    let input: Value = if body.iter().all(|b| b.is_ascii_whitespace()) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            TrailError::new(
                "SerializationException",
                format!("The request body is not valid JSON: {e}"),
            )
        })?
    };
    model
        .validate_input(operation, &input)
        .map_err(|e| match e {
            InputError::Validation(m) => TrailError::new("ValidationException", m),
            InputError::Serialization(m) => TrailError::new("SerializationException", m),
        })?;
    if operation != "LookupEvents" {
        return Err(TrailError::new(
            "UnsupportedOperationException",
            format!("hsm-kms serves LookupEvents over its audit log, not {operation}."),
        ));
    }
    authorize(kms, ctx, "cloudtrail:LookupEvents")?;
    lookup_events(kms, ctx.region, &input)
}

/// Strict mode: the caller's IAM policies must allow `action`.
fn authorize(kms: &Kms, ctx: &RequestContext, action: &str) -> Result<(), TrailError> {
    let Some(authz) = kms.access.authorizer() else {
        return Ok(());
    };
    let now = kms.clock.now().secs();
    let caller = authz.caller_for(&ctx.access_key, now).ok_or_else(|| {
        TrailError::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    })?;
    let facts = RequestFacts {
        region: ctx.region.as_str(),
        source_ip: Some(&ctx.source_ip),
        secure_transport: ctx.secure_transport,
        now,
    };
    let values = authz.context(&caller, &facts, action);
    authz
        .authorize_iam(&caller, action, "*", &values)
        .map_err(|d| TrailError::new("AccessDeniedException", d.message()))
}

fn lookup_events(kms: &Kms, region: Region, input: &Value) -> Result<Value, TrailError> {
    if input.get("EventCategory").and_then(Value::as_str) == Some("insight") {
        // hsm-kms has no Insights events.
        return Ok(json!({"Events": []}));
    }
    let attributes = input
        .get("LookupAttributes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if attributes.len() > 1 {
        return Err(TrailError::new(
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.",
        ));
    }
    let attribute = match attributes.first() {
        Some(a) => {
            let key = a["AttributeKey"].as_str().unwrap_or_default();
            let key = LookupKey::parse(key).ok_or_else(|| {
                TrailError::new(
                    "InvalidLookupAttributesException",
                    format!("{key} is not a valid lookup attribute key."),
                )
            })?;
            Some((
                key,
                a["AttributeValue"].as_str().unwrap_or_default().to_string(),
            ))
        }
        None => None,
    };
    let start = input.get("StartTime").and_then(Value::as_f64);
    let end = input.get("EndTime").and_then(Value::as_f64);
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(TrailError::new(
                "InvalidTimeRangeException",
                "Start time must not be after end time.",
            ));
        }
    }
    let max_results = input
        .get("MaxResults")
        .and_then(Value::as_u64)
        .unwrap_or(50)
        .clamp(1, 50) as usize;
    // A page token names where the previous page stopped, for these same parameters.
    let fingerprint = fingerprint(input);
    let before = match input.get("NextToken").and_then(Value::as_str) {
        Some(token) => Some(parse_token(token, &fingerprint).ok_or_else(|| {
            TrailError::new(
                "InvalidNextTokenException",
                "Invalid NextToken: it was not returned by a LookupEvents call with the same parameters.",
            )
        })?),
        None => None,
    };
    let page = kms
        .audit
        .lookup(
            region,
            &Lookup {
                attribute,
                start,
                end,
                max_results,
                before,
            },
        )
        .map_err(|e| {
            tracing::error!(region = %region, "cannot read the audit log: {e}");
            TrailError {
                status: 500,
                code: "InternalFailure".into(),
                message: "The audit log could not be read.".into(),
            }
        })?;
    let mut out = json!({"Events": page.events});
    if let Some(next) = page.next {
        out["NextToken"] = json!(make_token(next, &fingerprint));
    }
    Ok(out)
}

/// What a page token is bound to: the request without its token and page size.
fn fingerprint(input: &Value) -> String {
    let mut params = input.clone();
    if let Some(o) = params.as_object_mut() {
        o.remove("NextToken");
        o.remove("MaxResults");
    }
    hex::encode(&Sha256::digest(params.to_string().as_bytes())[..8])
}

fn make_token(offset: u64, fingerprint: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}.{fingerprint}"))
}

fn parse_token(token: &str, fingerprint: &str) -> Option<u64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (offset, bound) = text.split_once('.')?;
    (bound == fingerprint).then_some(())?;
    offset.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_loads_and_has_lookup_events() {
        let model = MODEL.as_ref().expect("the CloudTrail model loads");
        assert!(model.has_operation("LookupEvents"));
        assert!(model
            .validate_input("LookupEvents", &json!({"MaxResults": 51}))
            .is_err());
    }

    #[test]
    fn a_page_token_is_bound_to_its_parameters() {
        let a = json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}]});
        let b = json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}]});
        let token = make_token(4711, &fingerprint(&a));
        let mut again = a.clone();
        again["NextToken"] = json!(token);
        again["MaxResults"] = json!(5);
        assert_eq!(parse_token(&token, &fingerprint(&again)), Some(4711));
        assert_eq!(parse_token(&token, &fingerprint(&b)), None);
        assert_eq!(parse_token("garbage", &fingerprint(&a)), None);
    }
}
