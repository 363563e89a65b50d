//! The console's routes (all below `/console`; `GET /` redirects here, `POST /` stays the
//! API): sign-in and sign-out, the compiled-in assets, and the pages of [`super::keys`],
//! [`super::create`], [`super::details`] and [`super::actions`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use zeroize::Zeroizing;

use super::app::{
    bare_page, default_prefs, forbidden, html_response, not_found, same_origin, see_other, Console,
};
use super::form::Form;
use super::html::{self, esc};
use super::session::{self, OpenSignIn, Sessions, SignIn, StrictSignIn};
use super::{actions, create, details, keys};
use crate::kms::service::Kms;

/// The console's routes, signing in as the service's access-control mode says: in open
/// mode everyone is the account's root; in strict mode a principal of the principals file
/// signs in with its access key and secret.
pub fn router(kms: Arc<Kms>) -> Router {
    if let Some(authz) = kms.access.authorizer() {
        let signin = Arc::new(StrictSignIn::new(authz.clone(), kms.account()));
        return router_with(kms, signin);
    }
    let partition = kms
        .config
        .regions
        .first()
        .map(|r| r.partition().as_str())
        .unwrap_or("aws");
    let signin = Arc::new(OpenSignIn::new(partition, kms.account()));
    router_with(kms, signin)
}

/// The console's routes with a chosen sign-in policy.
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
