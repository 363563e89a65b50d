//! The web console, served by the same binary on the same port as the API: server-rendered
//! pages under `/console/`, every asset compiled in, a little vanilla JavaScript for live
//! state (replicas Creating → Enabled, Updating during a primary Region change) and for the
//! replica form's chosen-Region list.
//!
//! Module map:
//! - [`service`]: the one entry point into the KMS service every page and action uses.
//! - [`session`]: sign-in (with the strict-mode seam), sessions, CSRF tokens, cookies.
//! - [`html`]: escaping, the page frame, shared pieces.
//! - [`form`]: urlencoded and multipart form parsing.
//! - [`key_policy`]: the console's default key policy and its administrators/users.
//! - [`keys`]: the customer managed keys table.
//! - [`create`]: the create-key wizard.
//! - [`details`]: the key details page and its tabs.
//! - [`replicate`]: the Regionality tab's "Create new replica keys" procedure.
//! - [`actions`]: every state-changing form on a key.
//!
//! Routes (all below `/console`; `GET /` redirects here, `POST /` stays the API):
//! `GET /signin`, `POST /signin`, `POST /signout`, `GET /assets/{file}`,
//! `GET /{region}/keys`, `POST /{region}/preferences`, `GET|POST /{region}/create`,
//! `GET /{region}/keys/{key}` (`?tab=`), `GET /{region}/keys/{key}/{page}` (sub-pages,
//! downloads, `state.json`), `POST /{region}/keys/{key}/{action}`.

pub mod actions;
pub mod create;
pub mod details;
pub mod form;
pub mod html;
pub mod key_policy;
pub mod keys;
pub mod replicate;
pub mod service;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use zeroize::Zeroizing;

use crate::kms::region::Region;
use crate::kms::Kms;
use form::Form;
use html::esc;
use service::Caller;
use session::{OpenSignIn, Preferences, Session, Sessions, SignIn};

/// What every console handler shares.
#[derive(Clone)]
pub struct Console {
    pub kms: Arc<Kms>,
    pub sessions: Arc<Sessions>,
    pub signin: Arc<dyn SignIn>,
}

/// One authenticated request: the session (token and contents), who acts, and the Region
/// the page is about.
pub struct Req {
    pub token: String,
    pub session: Session,
    pub caller: Caller,
    pub region: Region,
}

/// The columns of the key table, in display order, and the ones shown by default.
pub const COLUMNS: &[(&str, &str)] = &[
    ("aliases", "Aliases"),
    ("keyid", "Key ID"),
    ("status", "Status"),
    ("keytype", "Key type"),
    ("keyspec", "Key spec"),
    ("keyusage", "Key usage"),
    ("origin", "Origin"),
    ("created", "Creation date"),
    ("expires", "Expiration date"),
    ("regionality", "Regionality"),
];
const DEFAULT_COLUMNS: &[&str] = &["aliases", "keyid", "status", "keyspec", "keyusage"];

fn default_prefs() -> Preferences {
    Preferences {
        columns: DEFAULT_COLUMNS.iter().map(|s| s.to_string()).collect(),
        page_size: 10,
    }
}

/// The console's routes, in open mode (everyone is the account's root).
pub fn router(kms: Arc<Kms>) -> Router {
    let partition = kms
        .config
        .regions
        .first()
        .map(|r| r.partition().as_str())
        .unwrap_or("aws");
    let signin = Arc::new(OpenSignIn::new(partition, kms.account()));
    router_with(kms, signin)
}

/// The console's routes with a chosen sign-in policy (strict mode plugs in here).
pub fn router_with(kms: Arc<Kms>, signin: Arc<dyn SignIn>) -> Router {
    let app = Console {
        kms,
        sessions: Arc::new(Sessions::default()),
        signin,
    };
    Router::new()
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/assets/{file}", get(asset))
        .route("/console/signin", get(signin_page).post(signin_submit))
        .route("/console/signout", post(signout))
        .route("/console/{region}", get(region_index))
        .route("/console/{region}/keys", get(keys::list))
        .route(
            "/console/{region}/preferences",
            post(keys::save_preferences),
        )
        .route(
            "/console/{region}/create",
            get(create::start).post(create::step),
        )
        .route("/console/{region}/keys/{key}", get(details::page))
        .route(
            "/console/{region}/keys/{key}/{item}",
            get(details::subpage).post(actions::post),
        )
        .with_state(app)
}

/// `GET /`: browsers get the console.
pub async fn root_redirect() -> Redirect {
    Redirect::to("/console/")
}

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

async fn asset(Path(file): Path<String>) -> Response {
    let (body, ctype) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return not_found("No such asset."),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// A page with security headers: no framing, no sniffing, scripts and styles from this
/// origin only.
pub fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    r
}

/// A bare page for errors outside a session.
pub fn bare_page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} | hsm-kms</title><link rel=\"stylesheet\" href=\"/console/assets/console.css\"></head><body><main id=\"main\" class=\"narrow\"><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title)
    )
}

pub fn not_found(what: &str) -> Response {
    html_response(
        StatusCode::NOT_FOUND,
        bare_page(
            "Not found",
            &format!(
                "<p>{}</p><p><a href=\"/console/\">Customer managed keys</a></p>",
                esc(what)
            ),
        ),
    )
}

pub fn forbidden(what: &str) -> Response {
    html_response(
        StatusCode::FORBIDDEN,
        bare_page("Request refused", &format!("<p>{}</p>", esc(what))),
    )
}

/// 303 See Other to `to` (after a form post).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

impl Console {
    /// The served Regions, as the Region selector lists them.
    pub fn regions(&self) -> &[Region] {
        &self.kms.config.regions
    }

    /// Parses a Region path segment; only served Regions exist in the console.
    pub fn region(&self, name: &str) -> Option<Region> {
        Region::parse(name).filter(|r| self.kms.config.regions.contains(r))
    }

    /// The signed-in session, or the response to send instead (sign-in redirect, 404).
    // The error is the response the handler returns as is, once per request.
    #[allow(clippy::result_large_err)]
    pub fn authed(
        &self,
        headers: &HeaderMap,
        peer: SocketAddr,
        region: &str,
        uri: &Uri,
    ) -> Result<Req, Response> {
        let cookies = headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let found = session::cookie(cookies, session::SESSION_COOKIE)
            .and_then(|t| self.sessions.get(t).map(|s| (t.to_string(), s)));
        let Some((token, session)) = found else {
            let next = uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/console/");
            return Err(see_other(&format!(
                "/console/signin?next={}",
                html::url(next)
            )));
        };
        let Some(region) = self.region(region) else {
            return Err(not_found(&format!(
                "The Region {region} is not served here. Served Regions: {}.",
                self.kms.config.served_list()
            )));
        };
        Ok(Req {
            caller: Caller {
                principal: session.principal.clone(),
                source_ip: peer.ip().to_string(),
            },
            token,
            session,
            region,
        })
    }

    /// [`Console::authed`] for a form post: also checks the CSRF token and the Origin.
    #[allow(clippy::result_large_err)]
    pub fn authed_post(
        &self,
        headers: &HeaderMap,
        peer: SocketAddr,
        region: &str,
        uri: &Uri,
        form: &Form,
    ) -> Result<Req, Response> {
        if !same_origin(headers) {
            return Err(forbidden("The form was sent from another site."));
        }
        let req = match self.authed(headers, peer, region, uri) {
            Ok(r) => r,
            // A post without a session gets 403, not a redirect that would drop the form.
            Err(r) if r.status() == StatusCode::SEE_OTHER => {
                return Err(forbidden("Your session has ended: sign in again."))
            }
            Err(r) => return Err(r),
        };
        if !session::same_token(form.raw("csrf"), &req.session.csrf) {
            return Err(forbidden(
                "The form's CSRF token is missing or wrong: reload the page and try again.",
            ));
        }
        Ok(req)
    }

    /// Sets the message the next page shows once.
    pub fn flash(&self, req: &Req, ok: bool, text: impl Into<String>) {
        let text = text.into();
        self.sessions
            .update(&req.token, |s| s.flash = Some(session::Flash { ok, text }));
    }

    /// Renders a page in the frame.
    pub fn render(&self, req: &Req, title: &str, region_path: &str, body: &str) -> Response {
        let flash = self.sessions.take_flash(&req.token);
        html_response(
            StatusCode::OK,
            html::page(
                html::Frame {
                    title,
                    region: req.region,
                    regions: self.regions(),
                    session: &req.session,
                    flash,
                    region_path,
                },
                body,
            ),
        )
    }
}

/// A browser's Origin (when it sends one) must be this server's.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

async fn index(State(app): State<Console>) -> Redirect {
    let region = app
        .regions()
        .first()
        .map(|r| r.as_str())
        .unwrap_or("us-east-1");
    Redirect::to(&format!("/console/{region}/keys"))
}

async fn region_index(Path(region): Path<String>) -> Redirect {
    Redirect::to(&format!("/console/{}/keys", html::url(&region)))
}

/// Only local paths below /console are followed after sign-in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console/") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_string()
        }
        _ => "/console/".to_string(),
    }
}

async fn signin_page(State(app): State<Console>, uri: Uri) -> Response {
    let query = Form::parse(uri.query().unwrap_or("").as_bytes());
    let next = safe_next(query.get("next"));
    let token = session::random_token();
    let fields = if app.signin.requires_credentials() {
        "<p><label for=\"access-key-id\">Access key ID</label><input id=\"access-key-id\" name=\"access_key_id\" autocomplete=\"username\" required></p>\
         <p><label for=\"secret-access-key\">Secret access key</label><input id=\"secret-access-key\" name=\"secret_access_key\" type=\"password\" autocomplete=\"current-password\" required></p>"
            .to_string()
    } else {
        format!(
            "<p>This server runs in open mode: the console acts as the account's root user, <code>{}</code>.</p>",
            esc(&app
                .signin
                .verify("", &Zeroizing::new(String::new()))
                .map(|p| p.arn)
                .unwrap_or_default())
        )
    };
    let body = format!(
        "<form method=\"post\" action=\"/console/signin\" class=\"card\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\"><input type=\"hidden\" name=\"next\" value=\"{next}\">\
         {fields}<p><button type=\"submit\" class=\"primary\" id=\"sign-in\">Sign in</button></p></form>",
        next = esc(&next)
    );
    let mut r = html_response(
        StatusCode::OK,
        bare_page("Sign in to the hsm-kms console", &body),
    );
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(
        session::SIGNIN_COOKIE,
        "/console/signin",
        Some(&token),
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn signin_submit(State(app): State<Console>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let cookies = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let expected = session::cookie(cookies, session::SIGNIN_COOKIE).unwrap_or("");
    if !same_origin(&headers) || !session::same_token(form.raw("csrf"), expected) {
        return forbidden(
            "The sign-in form is stale or came from another site: open the sign-in page again.",
        );
    }
    let secret = Zeroizing::new(form.raw("secret_access_key").to_string());
    let principal = match app.signin.verify(form.raw("access_key_id"), &secret) {
        Ok(p) => p,
        Err(e) => {
            return html_response(
                StatusCode::FORBIDDEN,
                bare_page(
                    "Sign-in failed",
                    &format!(
                        "<p class=\"flash error\" role=\"alert\">{}</p><p><a href=\"/console/signin\">Try again</a></p>",
                        esc(&e.0)
                    ),
                ),
            )
        }
    };
    let token = app.sessions.create(principal, default_prefs());
    let mut r = see_other(&safe_next(form.get("next")));
    let h = r.headers_mut();
    for c in [
        session::set_cookie(session::SESSION_COOKIE, "/console", Some(&token)),
        session::set_cookie(session::SIGNIN_COOKIE, "/console/signin", None),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    r
}

async fn signout(
    State(app): State<Console>,
    ConnectInfo(_peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let cookies = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(token) = session::cookie(cookies, session::SESSION_COOKIE) {
        let Some(s) = app.sessions.get(token) else {
            return see_other("/console/signin");
        };
        if !same_origin(&headers) || !session::same_token(form.raw("csrf"), &s.csrf) {
            return forbidden("The sign-out form's CSRF token is missing or wrong.");
        }
        app.sessions.remove(token);
    }
    let mut r = see_other("/console/signin");
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(
        session::SESSION_COOKIE,
        "/console",
        None,
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
