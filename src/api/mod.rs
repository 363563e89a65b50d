//! HTTP and the AWS JSON 1.1 protocol: `POST /` with `X-Amz-Target: TrentService.<Op>`,
//! the caller and Region from the verification step ([`auth`]: the SigV4 credential scope
//! in open mode, the verified signature in strict mode), the body validated against the
//! service model and parsed into the operation's typed request
//! ([`crate::kms::dispatch::validate`]), the operation run where it says
//! ([`crate::kms::operation::Pool`]: on this thread when it takes microseconds, else on a
//! worker thread; [`crate::kms::dispatch::run`]), and errors rendered as
//! `{"__type": ..., "message": ...}`.

pub mod admin;
pub mod auth;
pub mod cloudformation;
pub mod cloudtrail;
pub mod edge;
pub mod query;
pub mod sigv4;
pub mod sts;
pub mod workers;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::error::Error as _;

use crate::cloudformation::service::CloudFormation;
use crate::domain::request::RequestContext;
use crate::kms::dispatch;
use crate::kms::error::{ErrorKind, KmsError, Report};
use crate::kms::operation::Pool;
use crate::kms::service::Kms;
use crate::kms::validate::ServiceModel;
use crate::kms::wire::Output;

const TARGET_PREFIX: &str = "TrentService.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// Built once, not parsed from a string on every response.
const REQUEST_ID_HEADER: axum::http::HeaderName =
    axum::http::HeaderName::from_static("x-amzn-requestid");

/// What the handlers share: the service, and the threads short operations run on.
#[derive(Clone)]
struct App {
    kms: Arc<Kms>,
    cfn: Arc<CloudFormation>,
    workers: Arc<workers::Workers>,
    long: Arc<workers::Blocking>,
}

impl axum::extract::FromRef<App> for Arc<Kms> {
    fn from_ref(app: &App) -> Arc<Kms> {
        app.kms.clone()
    }
}

/// The HTTP application: the KMS and CloudTrail APIs (`POST /` with `X-Amz-Target`), the
/// CloudFormation and STS APIs (`POST /` signed for `cloudformation` or `sts`, without a
/// target) and the web console (`/console`, `GET /`). Every API request passes the
/// verification step first ([`auth`]).
/// The admin routes are added by the server when enabled (see [`admin::routes`]). Request
/// bodies arrive read in full and size-checked by the edge ([`edge`]) on every route, so
/// axum's own body limit is off.
pub fn router(kms: Arc<Kms>, cfn: Arc<CloudFormation>) -> Router {
    let queue = kms.config.limits.max_queued_requests;
    Router::new()
        // GET / is the web console; POST / is the API.
        .route("/", post(handle).get(crate::console::root_redirect))
        .route("/health", get(|| async { "ok" }))
        .with_state(App {
            kms: kms.clone(),
            cfn,
            workers: Arc::new(workers::Workers::start(
                workers::Workers::default_size(),
                queue,
            )),
            long: Arc::new(workers::Blocking::new(queue)),
        })
        .merge(crate::console::router(kms))
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// The HTTP response of a call. An internal error is logged here, once, with the request
/// id and its causes; the caller gets only its generic message.
fn render(request_id: &str, result: Result<Output, KmsError>) -> Response {
    if let Err(e) = &result {
        if e.is_internal() {
            let cause: &(dyn std::error::Error + 'static) = e.source().unwrap_or(e);
            tracing::error!(request_id, "internal error: {}", Report(cause));
        }
    }
    let (status, body) = match result {
        Ok(out) => (StatusCode::OK, out.to_bytes()),
        Err(e) => (
            StatusCode::from_u16(e.kind.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            zeroize::Zeroizing::new(crate::kms::wire::error_body(&e).to_string().into_bytes()),
        ),
    };
    // The body buffer is zeroised when the response has been sent and dropped.
    let mut resp = (status, Bytes::from_owner(body)).into_response();
    let h = resp.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(REQUEST_ID_HEADER, v);
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
    State(App {
        kms,
        cfn,
        workers: pool,
        long,
    }): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = crate::domain::ids::call_uuid().to_string();
    // CloudFormation and STS (awsQuery: no X-Amz-Target) on the same port: routed by the
    // signing service name, verified like every request. A request with a target is the
    // JSON service the target names, whatever its credential scope says (the verification
    // step then refuses a scope of another service).
    let scope = match headers.get("x-amz-target") {
        None => sigv4::credential_scope(header(&headers, "authorization")).ok(),
        Some(_) => None,
    };
    if let Some(scope) = scope {
        let service = scope.service.as_str();
        if service == cloudformation::SERVICE || service == sts::SERVICE {
            let signer = match auth::authenticate(&kms, service, &method, &uri, &headers, &body) {
                Ok(s) => s,
                Err(e) => {
                    let (status, code, message) = e.into_query();
                    return if service == sts::SERVICE {
                        sts::error(&code, status, &message, &request_id)
                    } else {
                        cloudformation::error(&code, status, &message, &request_id)
                    };
                }
            };
            let ctx = request_context(&kms, signer, request_id, peer, &headers);
            return if service == sts::SERVICE {
                sts::handle(kms, &long, ctx, body).await
            } else {
                cloudformation::handle(cfn, &long, ctx, body).await
            };
        }
    }
    let target = header(&headers, "x-amz-target");
    if let Some(operation) = target.strip_prefix(cloudtrail::TARGET_PREFIX) {
        let signer = match auth::authenticate(&kms, "cloudtrail", &method, &uri, &headers, &body) {
            Ok(s) => s,
            Err(e) => return render(&request_id, Err(e.into_json())),
        };
        let ctx = request_context(&kms, signer, request_id, peer, &headers);
        return cloudtrail::handle(kms, ctx, operation.to_string(), body).await;
    }
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
    let signer = match auth::authenticate(&kms, "kms", &method, &uri, &headers, &body) {
        Ok(s) => s,
        Err(e) => return render(&request_id, Err(e.into_json())),
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
    let ctx = request_context(&kms, signer, request_id.clone(), peer, &headers);
    let request = match dispatch::validate(operation, input) {
        Ok(request) => request,
        Err(e) => return render(&request_id, Err(e)),
    };
    let pool_kind = request.pool();
    let result = match pool_kind {
        // Microseconds of work: here, without a hand-off to another thread and back.
        Pool::Inline => Ok(dispatch::run(&kms, &ctx, request)),
        Pool::Short => {
            let worker_kms = kms.clone();
            pool.run(move || dispatch::run(&worker_kms, &ctx, request))
                .await
        }
        Pool::Long => {
            let worker_kms = kms.clone();
            long.run(move || dispatch::run(&worker_kms, &ctx, request))
                .await
        }
    }
    .unwrap_or_else(|not_run| match not_run {
        workers::NotRun::Busy => Err(KmsError::throttled()),
        workers::NotRun::Failed => Err(KmsError::internal("the worker running the request failed")),
    });
    // The request body held any plaintext in base64: wipe it once nothing refers to it.
    if let Ok(mut bytes) = body.try_into_mut() {
        zeroize::Zeroize::zeroize(bytes.as_mut());
    }
    render(&request_id, result)
}

/// The request context of a request the verification step let through.
fn request_context(
    kms: &Kms,
    signer: auth::Authenticated,
    request_id: String,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> RequestContext {
    RequestContext {
        region: signer.region,
        access_key: signer.access_key,
        request_id,
        source_ip: peer.ip().to_string(),
        // The edge serves either HTTPS only or plain HTTP only.
        secure_transport: kms.config.edge.tls.is_some(),
        user_agent: header(headers, "user-agent").to_string(),
        invoked_by: None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log sink for one test.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_internal_error_is_logged_once_with_its_request_id_and_cause() {
        let log = Captured::default();
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let response = tracing::subscriber::with_default(subscriber, || {
            let cause = std::io::Error::other("the metadata disk is on fire");
            let error = KmsError::internal(cause);
            render("req-4711", Err(error))
        });
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text.matches("the metadata disk is on fire").count(),
            1,
            "{text}"
        );
        assert!(text.contains("req-4711"), "{text}");
        assert!(text.contains("ERROR"), "{text}");

        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["__type"], "KMSInternalException");
        assert!(!body["message"].as_str().unwrap().contains("disk"));
    }

    #[tokio::test]
    async fn an_error_of_the_caller_is_not_logged() {
        let log = Captured::default();
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .finish();
        let response = tracing::subscriber::with_default(subscriber, || {
            render("req-1", Err(KmsError::not_found("Key 'x' does not exist")))
        });
        assert!(log.0.lock().unwrap().is_empty());
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
