//! HTTP and the AWS JSON 1.1 protocol: `POST /` with `X-Amz-Target: TrentService.<Op>`,
//! the Region taken from the SigV4 credential scope, the body checked against the service
//! model ([`validate`]), the operation run off the async executor, and errors rendered as
//! `{"__type": ..., "message": ...}`.

pub mod sigv4;
pub mod validate;
pub mod workers;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::kms::dispatch;
use crate::kms::error::{ErrorKind, KmsError};
use crate::kms::wire::Output;
use crate::kms::{Kms, RequestContext};
use validate::{InputError, ServiceModel};

const TARGET_PREFIX: &str = "TrentService.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// What the handlers share: the service, and the threads short operations run on.
#[derive(Clone)]
struct App {
    kms: Arc<Kms>,
    workers: Arc<workers::Workers>,
}

impl axum::extract::FromRef<App> for Arc<Kms> {
    fn from_ref(app: &App) -> Arc<Kms> {
        app.kms.clone()
    }
}

/// The HTTP application.
pub fn router(kms: Arc<Kms>) -> Router {
    let admin = kms.config.admin_api;
    let mut router = Router::new()
        // GET / is the web console; POST / is the API.
        .route("/", post(handle).get(crate::console::root_redirect))
        .route("/health", get(|| async { "ok" }));
    if admin {
        router = router.route("/admin/clock", get(clock_get).post(clock_advance));
    }
    router
        .with_state(App {
            kms: kms.clone(),
            workers: Arc::new(workers::Workers::start(workers::Workers::default_size())),
        })
        .merge(crate::console::router(kms))
}

fn render(request_id: &str, result: Result<Output, KmsError>) -> Response {
    let (status, body) = match result {
        Ok(out) => (StatusCode::OK, out.to_bytes()),
        Err(e) => (
            StatusCode::from_u16(e.kind.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            zeroize::Zeroizing::new(
                json!({"__type": e.kind.aws_name(), "message": e.message})
                    .to_string()
                    .into_bytes(),
            ),
        ),
    };
    // The body buffer is zeroised when the response has been sent and dropped.
    let mut resp = (status, Bytes::from_owner(body)).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn handle(
    State(App { kms, workers: pool }): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let target = header(&headers, "x-amz-target");
    let Some(operation) = target.strip_prefix(TARGET_PREFIX) else {
        return render(
            &request_id,
            Err(KmsError::new(
                ErrorKind::UnknownOperation,
                format!(
                    "Unknown target {target:?}: expected X-Amz-Target: TrentService.<Operation>"
                ),
            )),
        );
    };
    let model = ServiceModel::get();
    if !model.has_operation(operation) {
        return render(
            &request_id,
            Err(KmsError::new(
                ErrorKind::UnknownOperation,
                format!("Unknown operation {operation}"),
            )),
        );
    }
    let scope = match sigv4::credential_scope(header(&headers, "authorization")) {
        Ok(s) => s,
        Err(e) => return render(&request_id, Err(e)),
    };
    let region = match sigv4::served_region(&kms.config, &scope.region) {
        Ok(r) => r,
        Err(e) => return render(&request_id, Err(e)),
    };
    let input: Value = if body.iter().all(|b| b.is_ascii_whitespace()) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return render(
                    &request_id,
                    Err(KmsError::new(
                        ErrorKind::Serialization,
                        format!("The request body is not valid JSON: {e}"),
                    )),
                )
            }
        }
    };
    if let Err(e) = model.validate_input(operation, &input) {
        let err = match e {
            InputError::Validation(m) => KmsError::validation(m),
            InputError::Serialization(m) => KmsError::new(ErrorKind::Serialization, m),
        };
        return render(&request_id, Err(err));
    }
    let ctx = RequestContext {
        region,
        access_key: scope.access_key,
        request_id: request_id.clone(),
        source_ip: peer.ip().to_string(),
        user_agent: header(&headers, "user-agent").to_string(),
    };
    let operation = operation.to_string();
    // What the audit record shows of the request (secrets left out), taken before the
    // operation consumes the input and zeroises its blobs.
    let audit_input = crate::audit::request_record(&input);
    let worker_kms = kms.clone();
    let short = workers::is_short(&operation);
    let job = move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            dispatch::dispatch(&worker_kms, &ctx, &operation, input)
        }))
        .unwrap_or_else(|_| Err(KmsError::internal(format!("{operation} panicked"))));
        worker_kms.audit.record_call(
            &ctx,
            worker_kms.account(),
            &operation,
            &audit_input,
            outcome.as_ref().ok().map(|o| &o.body),
            outcome.as_ref().err(),
            worker_kms.clock.now(),
        );
        outcome
    };
    let result = if short {
        pool.run(job).await
    } else {
        tokio::task::spawn_blocking(job).await.ok()
    }
    .unwrap_or_else(|| Err(KmsError::internal("the worker running the request failed")));
    // The request body held any plaintext in base64: wipe it once nothing refers to it.
    if let Ok(mut bytes) = body.try_into_mut() {
        zeroize::Zeroize::zeroize(bytes.as_mut());
    }
    render(&request_id, result)
}

#[derive(serde::Deserialize)]
struct Advance {
    advance_seconds: f64,
}

async fn clock_get(State(kms): State<Arc<Kms>>) -> Response {
    let body = json!({"now": kms.clock.now(), "offset_seconds": kms.clock.offset_seconds()});
    ([("content-type", "application/json")], body.to_string()).into_response()
}

/// `POST /admin/clock {"advance_seconds": N}` moves the server clock forward and runs the
/// jobs that became due.
async fn clock_advance(State(kms): State<Arc<Kms>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Advance>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            "expected {\"advance_seconds\": <number>}",
        )
            .into_response();
    };
    kms.clock.advance(req.advance_seconds);
    let k = kms.clone();
    let ran = tokio::task::spawn_blocking(move || crate::kms::jobs::run_due(&k)).await;
    if let Ok(Err(e)) = ran {
        return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    clock_get(State(kms)).await
}
