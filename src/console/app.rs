//! What every console handler shares: the console's state ([`Console`]: the KMS service,
//! the sessions, the sign-in policy), one authenticated request ([`Req`]), the checks every
//! page and form makes (session, Region, CSRF token, Origin), the page frame, and the
//! responses (security headers, not found, refused, redirect after a post).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};

use super::form::Form;
use super::html::{self, esc};
use super::service::Caller;
use super::session::{self, Preferences, Session, Sessions, SignIn};
use crate::domain::region::Region;
use crate::kms::service::Kms;

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

pub fn default_prefs() -> Preferences {
    Preferences {
        columns: DEFAULT_COLUMNS.iter().map(|s| s.to_string()).collect(),
        page_size: 10,
    }
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
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin == format!("http://{host}") || origin == format!("https://{host}")
}
