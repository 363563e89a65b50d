//! The admin API (`--admin-api`, off by default): `GET /admin/clock` shows the server
//! clock, `POST /admin/clock {"advance_seconds": N}` moves it forward and runs the jobs
//! that became due.
//!
//! A web page must not be able to drive it (a simple cross-site POST needs no CORS
//! preflight), so every request needs:
//! - the admin token, a random value made at the first start with the admin API and kept
//!   in `DATA_DIR/admin-token` (mode 0600), printed at every start: `Authorization:
//!   Bearer <token>` — a header no page can set on a cross-origin request without a
//!   preflight, which this server never grants;
//! - for a POST, `Content-Type: application/json` (also preflighted).
//!
//! The clock moves by at most [`MAX_ADVANCE_SECONDS`] per call and its offset saturates
//! (`clock::Clock`), so no value makes the arithmetic overflow.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::kms::error::Report;
use crate::kms::service::Kms;

/// The most one call may move the clock: 100 years.
pub const MAX_ADVANCE_SECONDS: f64 = 100.0 * 365.25 * 86_400.0;

/// The admin token (a secret: never logged, wiped when dropped).
#[derive(Clone)]
pub struct AdminToken(Arc<Zeroizing<String>>);

impl AdminToken {
    pub fn new(token: Zeroizing<String>) -> AdminToken {
        AdminToken(Arc::new(token))
    }

    fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

#[derive(Clone)]
struct Admin {
    kms: Arc<Kms>,
    token: AdminToken,
}

/// The admin routes, guarded by `token`.
pub fn routes(kms: Arc<Kms>, token: AdminToken) -> Router {
    Router::new()
        .route("/admin/clock", get(clock_get).post(clock_advance))
        .with_state(Admin { kms, token })
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"__type": kind, "message": message}).to_string(),
    )
        .into_response()
}

/// The token check every admin request passes first: the refusal, if any.
fn refused(admin: &Admin, headers: &HeaderMap) -> Option<Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token) if admin.token.matches(token) => None,
        Some(_) => Some(error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "The admin token is not this server's: use the one in DATA_DIR/admin-token.",
        )),
        None => Some(error(
            StatusCode::UNAUTHORIZED,
            "MissingAuthenticationTokenException",
            "The admin API needs the admin token (DATA_DIR/admin-token) as `Authorization: Bearer <token>`.",
        )),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn clock_body(kms: &Kms) -> Response {
    let body = json!({"now": kms.clock.now(), "offset_seconds": kms.clock.offset_seconds()});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn clock_get(State(admin): State<Admin>, headers: HeaderMap) -> Response {
    if let Some(refusal) = refused(&admin, &headers) {
        return refusal;
    }
    clock_body(&admin.kms)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_seconds: f64,
}

/// `POST /admin/clock {"advance_seconds": N}`, 0 ≤ N ≤ [`MAX_ADVANCE_SECONDS`].
async fn clock_advance(State(admin): State<Admin>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refusal) = refused(&admin, &headers) {
        return refusal;
    }
    if !is_json(&headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaTypeException",
            "The admin API takes only Content-Type: application/json.",
        );
    }
    let seconds = match serde_json::from_slice::<Advance>(&body) {
        Ok(req) => req.advance_seconds,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                &format!("expected {{\"advance_seconds\": <number>}}: {e}"),
            )
        }
    };
    if !(0.0..=MAX_ADVANCE_SECONDS).contains(&seconds) {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            &format!(
                "advance_seconds must be between 0 and {MAX_ADVANCE_SECONDS} (100 years): the clock only moves forward, by at most that much per call."
            ),
        );
    }
    let kms = admin.kms.clone();
    kms.clock.advance(seconds);
    kms.jobs_changed.notify_one();
    let k = kms.clone();
    let ran = tokio::task::spawn_blocking(move || crate::kms::jobs::run_due(&k)).await;
    if let Ok(Err(e)) = ran {
        tracing::error!("jobs due after the clock moved failed: {}", Report(&e));
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "KMSInternalException",
            "The jobs that became due could not all run; they are retried.",
        );
    }
    clock_body(&kms)
}
