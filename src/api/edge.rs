//! The HTTP edge: everything between the listening socket and the routes. One accept loop
//! (instead of `axum::serve`) so that the server, not its clients, decides how long a
//! connection lives and what may reach a route:
//!
//! - **A cap on open connections** (`max_connections`): at the cap the loop stops
//!   accepting, and further clients wait in the kernel's listen backlog until a
//!   connection closes.
//! - **Timeouts**, enforced per connection by a watchdog around hyper's connection future
//!   ([`Watchdog`]): an idle keep-alive connection is closed after `idle_timeout`; once the
//!   first byte of a request has arrived its headers must be complete within
//!   `header_timeout` (slowloris); the body must arrive within `body_timeout` of the
//!   headers ([`read_body`]: a declared Content-Length that never arrives, a chunk size of
//!   `ffffffffffffffff`), and the response must be sent within `body_timeout` too (a
//!   client that does not read). A TLS handshake gets `header_timeout`.
//! - **The Host header** must name this server ([`HostRule`]): the listen address with its
//!   port, `localhost` when listening on loopback, or a name of `allowed_hosts`. A web
//!   page that rebinds its own DNS name to 127.0.0.1 sends its own name and is refused
//!   (DNS rebinding), on every route: the KMS API, the admin API and the web console.
//! - **Request bodies** are read here, up to `max_request_bytes`, straight into zeroising
//!   memory sized from the declared length (a body may hold plaintext), and handed to the
//!   routes as one buffer that is wiped when the request is dropped.
//! - **Errors in AWS's form** wherever the request is HTTP enough to answer: a body over
//!   the limit is HTTP 413, a malformed (chunked) body 400, a body that does not arrive in
//!   time 408, a foreign Host 421. The form is the caller's ([`ErrorForm`], decided from
//!   the request's head before its body is read): the KMS API's JSON
//!   (`{"__type": ..., "message": ...}`), the awsQuery XML `ErrorResponse` for callers of
//!   CloudFormation (a request signed for `cloudformation`, or a form-encoded `POST /`),
//!   or plain text for the web console's browser requests (`/console`, `GET /`). Each
//!   carries `x-amzn-requestid`.
//! - **Over TLS, the console's cookies** are marked `Secure` on their way out, so a
//!   browser never sends a session cookie of an HTTPS server over plain HTTP.
//!
//! A request whose client goes away before it is answered is dropped by hyper (an early
//! EOF on a busy connection ends it), and with it the handler's future: work still queued
//! for a worker thread then does not run (`api::workers`).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use axum::Router;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower_service::Service as _;
use zeroize::Zeroizing;

use crate::config::EdgeConfig;

/// What the edge needs to know about the server it guards.
pub struct Edge {
    config: EdgeConfig,
    hosts: HostRule,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Edge {
    /// The edge of a server bound to `bound` (the real port, after port 0 was resolved).
    pub fn new(
        config: EdgeConfig,
        bound: SocketAddr,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Edge {
        let hosts = HostRule::new(bound, tls.is_some(), &config.allowed_hosts);
        Edge { config, hosts, tls }
    }

    /// Accepts connections on `listener` and serves `app` on them until `shutdown`
    /// resolves; then stops accepting, lets each connection finish the request it is
    /// answering, and returns when every connection has closed (or after `body_timeout`).
    pub async fn serve(
        self,
        listener: TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let edge = Arc::new(self);
        let slots = Arc::new(Semaphore::new(edge.config.max_connections));
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::pin!(shutdown);
        let mut warned_full = false;
        loop {
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            if slots.available_permits() == 0 && !warned_full {
                tracing::warn!(
                    max_connections = edge.config.max_connections,
                    "connection cap reached: new clients wait until a connection closes"
                );
                warned_full = true;
            } else if slots.available_permits() > edge.config.max_connections / 2 {
                warned_full = false;
            }
            let (stream, peer) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let edge = edge.clone();
            let app = app.clone();
            let stop = stop_rx.clone();
            tokio::spawn(async move {
                edge.connection(stream, peer, app, stop).await;
                drop(permit);
            });
        }
        drop(listener);
        let _ = stop_tx.send(true);
        let all = u32::try_from(edge.config.max_connections).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(edge.config.body_timeout, slots.acquire_many(all));
        if drained.await.is_err() {
            tracing::warn!("connections still open at shutdown were closed");
        }
        Ok(())
    }

    /// Serves one connection: TLS handshake (if configured), then HTTP/1.1 under the
    /// watchdog.
    async fn connection(
        self: Arc<Self>,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        app: Router,
        stop: watch::Receiver<bool>,
    ) {
        let state = Arc::new(ConnState::new());
        match &self.tls {
            None => {
                let io = Tracked::new(stream, state.clone());
                self.http(io, peer, app, state, stop).await;
            }
            Some(acceptor) => {
                let handshake =
                    tokio::time::timeout(self.config.header_timeout, acceptor.accept(stream));
                match handshake.await {
                    Ok(Ok(tls)) => {
                        let io = Tracked::new(tls, state.clone());
                        self.http(io, peer, app, state, stop).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            }
        }
    }

    async fn http<S>(
        self: Arc<Self>,
        io: Tracked<S>,
        peer: SocketAddr,
        app: Router,
        state: Arc<ConnState>,
        mut stop: watch::Receiver<bool>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let edge = self.clone();
        let service_state = state.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let edge = edge.clone();
            let app = app.clone();
            let state = service_state.clone();
            async move { Ok::<_, Infallible>(edge.request(req, peer, app, state).await) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.keep_alive(true).half_close(false);
        let conn = builder.serve_connection(TokioIo::new(io), service);
        let mut watchdog = Watchdog {
            conn: Box::pin(conn),
            state,
            timeouts: Timeouts {
                idle: self.config.idle_timeout,
                header: self.config.header_timeout,
                write: self.config.body_timeout,
            },
            sleep: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
        };
        let mut stopping = false;
        loop {
            tokio::select! {
                outcome = &mut watchdog => {
                    match outcome {
                        Ok(()) => {}
                        Err(Closed::TimedOut(phase)) => {
                            tracing::debug!(%peer, "connection closed: {phase}");
                        }
                        Err(Closed::Http(e)) => tracing::debug!(%peer, "connection ended: {e}"),
                    }
                    return;
                }
                changed = stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_ok() {
                        watchdog.conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }

    /// One request: Host check, body read into zeroising memory, then the routes.
    async fn request(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        app: Router,
        state: Arc<ConnState>,
    ) -> Response<TrackedBody> {
        state.enter(Phase::Busy);
        let response = self.checked_request(req, peer, app).await;
        state.enter(Phase::Writing);
        response.map(|body| TrackedBody {
            inner: body,
            state: Some(state),
        })
    }

    async fn checked_request(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        mut app: Router,
    ) -> Response<Body> {
        // The form of an error answer is worked out only when there is one to give.
        let form = || ErrorForm::of(req.method(), req.uri(), req.headers());
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        match host {
            Some(host) if self.hosts.allows(host) => {}
            Some(host) => {
                let shown: String = host.chars().take(100).collect();
                return form().error(
                    StatusCode::MISDIRECTED_REQUEST,
                    EdgeErrorKind::MisdirectedRequest,
                    &format!(
                        "The Host header {shown:?} does not name this server: use {} (or add the name to allowed_hosts).",
                        self.hosts.expected()
                    ),
                    true,
                );
            }
            None => {
                return form().error(
                    StatusCode::BAD_REQUEST,
                    EdgeErrorKind::MisdirectedRequest,
                    &format!(
                        "The request has no Host header: HTTP/1.1 requires one ({}).",
                        self.hosts.expected()
                    ),
                    true,
                )
            }
        }
        let (parts, body) = req.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = match read_body(
            body,
            declared,
            self.config.max_request_bytes,
            self.config.body_timeout,
        )
        .await
        {
            Ok(bytes) => bytes,
            Err(e) => {
                let form = ErrorForm::of(&parts.method, &parts.uri, &parts.headers);
                return e.response(form, self.config.max_request_bytes);
            }
        };
        let mut req = Request::from_parts(parts, Body::from(Bytes::from_owner(bytes)));
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut response = match app.call(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        if self.tls.is_some() {
            secure_cookies(response.headers_mut());
        }
        response
    }
}

/// Open mode verifies no signature: on an address beyond loopback anyone who can reach it
/// could use, disable and delete every key. Refused unless
/// `allow_unauthenticated_network_access` says the operator knows (then a warning).
pub fn check_exposure(config: &crate::config::Config) -> Result<(), String> {
    let ip = config.listen.ip();
    if ip.is_loopback() || config.mode != crate::config::Mode::Open {
        return Ok(());
    }
    if config.edge.allow_unauthenticated_network_access {
        return Ok(());
    }
    Err(format!(
        "refusing to listen on {} in open mode: open mode checks no signature, so anyone \
         who can reach that address could use, disable and delete every key without \
         credentials. Listen on a loopback address (127.0.0.1, the default), or use strict \
         mode (mode = \"strict\", with tls_cert and tls_key across a network), or, if that \
         is what you want, add --allow-unauthenticated-network-access.",
        config.listen
    ))
}

/// An AWS-style JSON error answered by the edge itself. `close`: the connection is closed
/// after it (its framing can no longer be trusted, or the client is not welcome).
pub fn error_response(
    status: StatusCode,
    kind: &str,
    message: &str,
    close: bool,
) -> Response<Body> {
    let body = serde_json::json!({"__type": kind, "message": message}).to_string();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(id) = HeaderValue::from_str(&crate::domain::ids::call_uuid().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    if close {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than `max_request_bytes` (declared or counted).
    TooLarge,
    /// Not complete within `body_timeout`.
    TimedOut,
    /// Not valid HTTP framing (a bad chunk, a connection cut mid-body).
    Malformed(String),
}

impl BodyError {
    fn response(&self, form: ErrorForm, limit: usize) -> Response<Body> {
        match self {
            BodyError::TooLarge => form.error(
                StatusCode::PAYLOAD_TOO_LARGE,
                EdgeErrorKind::RequestEntityTooLarge,
                &format!("The request body is larger than {limit} bytes, the largest this server accepts."),
                true,
            ),
            BodyError::TimedOut => form.error(
                StatusCode::REQUEST_TIMEOUT,
                EdgeErrorKind::RequestTimeout,
                "The request body did not arrive in time.",
                true,
            ),
            BodyError::Malformed(why) => form.error(
                StatusCode::BAD_REQUEST,
                EdgeErrorKind::MalformedRequest,
                &format!("The request body could not be read: {why}"),
                true,
            ),
        }
    }
}

/// What the edge refuses, named per protocol by [`ErrorForm::error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeErrorKind {
    /// The Host header does not name this server (or is missing).
    MisdirectedRequest,
    /// The body is over `max_request_bytes`.
    RequestEntityTooLarge,
    /// The body did not arrive within `body_timeout`.
    RequestTimeout,
    /// The body's HTTP framing is broken.
    MalformedRequest,
}

impl EdgeErrorKind {
    /// The error code a caller of `form` reads. The JSON protocol's malformed body is its
    /// SerializationException; the query protocol has no such error, and AWS's common
    /// errors name an HTTP-level problem MalformedHttpRequestException.
    pub fn code(self, form: ErrorForm) -> &'static str {
        match (self, form) {
            (EdgeErrorKind::MisdirectedRequest, _) => "MisdirectedRequestException",
            (EdgeErrorKind::RequestEntityTooLarge, _) => "RequestEntityTooLargeException",
            (EdgeErrorKind::RequestTimeout, _) => "RequestTimeoutException",
            (EdgeErrorKind::MalformedRequest, ErrorForm::Query | ErrorForm::StsQuery) => {
                "MalformedHttpRequestException"
            }
            (EdgeErrorKind::MalformedRequest, _) => "SerializationException",
        }
    }
}

/// Which error form a request's caller reads, from the request's head alone (the edge
/// may answer before the body has arrived).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorForm {
    /// The KMS API (and the admin API): AWS JSON 1.1, `{"__type", "message"}`.
    Json,
    /// CloudFormation: the awsQuery XML `ErrorResponse` (`Type`, `Code`, `Message`).
    Query,
    /// STS: the same, in STS's XML namespace.
    StsQuery,
    /// The web console: a browser shows the message as text.
    Text,
}

impl ErrorForm {
    /// The console's paths (and `GET /`, its entry) are a browser's; a request without
    /// `X-Amz-Target` signed for STS an STS caller's; one signed for CloudFormation, or an
    /// unsigned form-encoded `POST /` without `X-Amz-Target` (the query protocol's shape),
    /// a CloudFormation caller's; everything else the JSON API's (as `api::handle` routes).
    pub fn of(method: &Method, uri: &Uri, headers: &HeaderMap) -> ErrorForm {
        let path = uri.path();
        if path == "/console"
            || path.starts_with("/console/")
            || (path == "/" && method == Method::GET)
        {
            return ErrorForm::Text;
        }
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let signed_for = super::sigv4::credential_scope(text(header::AUTHORIZATION))
            .ok()
            .map(|scope| scope.service);
        let form_encoded = text(header::CONTENT_TYPE)
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded");
        let targeted = headers.contains_key("x-amz-target");
        match signed_for {
            _ if targeted => ErrorForm::Json,
            Some(service) if service == super::sts::SERVICE => ErrorForm::StsQuery,
            Some(service) if service == super::cloudformation::SERVICE => ErrorForm::Query,
            None if form_encoded => ErrorForm::Query,
            _ => ErrorForm::Json,
        }
    }

    /// The edge's answer `kind` in this form. `close`: the connection is closed after it
    /// (its framing can no longer be trusted, or the client is not welcome).
    pub fn error(
        self,
        status: StatusCode,
        kind: EdgeErrorKind,
        message: &str,
        close: bool,
    ) -> Response<Body> {
        let code = kind.code(self);
        let mut response = match self {
            ErrorForm::Json => return error_response(status, code, message, close),
            ErrorForm::Query => {
                let request_id = uuid::Uuid::new_v4().to_string();
                super::cloudformation::error(code, status.as_u16(), message, &request_id)
            }
            ErrorForm::StsQuery => {
                let request_id = uuid::Uuid::new_v4().to_string();
                super::sts::error(code, status.as_u16(), message, &request_id)
            }
            ErrorForm::Text => {
                let mut response = Response::new(Body::from(format!("{message}\n")));
                *response.status_mut() = status;
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                headers.insert(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
                    headers.insert("x-amzn-requestid", id);
                }
                response
            }
        };
        if close {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// Adds `Secure` to every cookie a response sets that lacks it (the server speaks TLS: a
/// browser must not send the console's session cookie over plain HTTP to the same host).
fn secure_cookies(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let secured = cookie.to_str().ok().and_then(|text| {
            let has = text
                .split(';')
                .any(|attr| attr.trim().eq_ignore_ascii_case("secure"));
            (!has).then(|| HeaderValue::from_str(&format!("{text}; Secure")).ok())?
        });
        headers.append(header::SET_COOKIE, secured.unwrap_or(cookie));
    }
}

/// Reads a request body into zeroising memory: reserved once from the declared length,
/// grown (for a chunked body) by copying into a larger zeroising buffer, so no copy of it
/// is ever freed unwiped by this code.
pub async fn read_body<B>(
    mut body: B,
    declared: Option<u64>,
    limit: usize,
    timeout: Duration,
) -> Result<Zeroizing<Vec<u8>>, BodyError>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = Zeroizing::new(Vec::with_capacity(declared.unwrap_or(0) as usize));
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::TimedOut),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(BodyError::Malformed(e.to_string())),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if buf.len() + data.len() > limit {
            return Err(BodyError::TooLarge);
        }
        append_zeroizing(&mut buf, &data);
    }
    Ok(buf)
}

/// Appends `data`, moving to a larger zeroising buffer when full (the old one is wiped
/// when dropped).
fn append_zeroizing(buf: &mut Zeroizing<Vec<u8>>, data: &[u8]) {
    let needed = buf.len() + data.len();
    if needed > buf.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(buf.capacity() * 2)));
        bigger.extend_from_slice(buf);
        *buf = bigger;
    }
    buf.extend_from_slice(data);
}

/// Which Host headers name this server.
#[derive(Debug, Clone)]
pub struct HostRule {
    ip: IpAddr,
    port: u16,
    /// The port a Host without one means (80, or 443 over TLS).
    default_port: u16,
    names: Vec<String>,
}

impl HostRule {
    pub fn new(bound: SocketAddr, tls: bool, names: &[String]) -> HostRule {
        HostRule {
            ip: bound.ip(),
            port: bound.port(),
            default_port: if tls { 443 } else { 80 },
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
        }
    }

    /// True when `host` (a Host header value) names this server: the listen address (any
    /// IP address of the machine when listening on all of them, any loopback address when
    /// listening on loopback) or `localhost` on loopback, with the listen port; or a name
    /// of `allowed_hosts`, with any port (for port forwarding).
    pub fn allows(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if self.names.contains(&name) {
            return true;
        }
        if port.unwrap_or(self.default_port) != self.port {
            return false;
        }
        let local = self.ip.is_loopback() || self.ip.is_unspecified();
        match name.parse::<IpAddr>() {
            Ok(ip) => {
                ip == self.ip
                    || self.ip.is_unspecified()
                    || (self.ip.is_loopback() && ip.is_loopback())
            }
            Err(_) => local && name == "localhost",
        }
    }

    /// What a client should send, for error messages.
    pub fn expected(&self) -> String {
        let addr = SocketAddr::new(self.ip, self.port);
        if self.ip.is_loopback() || self.ip.is_unspecified() {
            format!("{addr} or localhost:{}", self.port)
        } else {
            addr.to_string()
        }
    }
}

/// Splits a Host header into its name (brackets removed from an IPv6 address) and port.
/// `None` for a malformed value.
fn split_host(host: &str) -> Option<(&str, Option<u16>)> {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        return Some((ip, port));
    }
    match host.rsplit_once(':') {
        Some((name, port)) => Some((name, Some(port.parse().ok()?))),
        None if !host.is_empty() => Some((host, None)),
        None => None,
    }
}

/// Where a connection is in its life, for the watchdog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// Waiting for the first byte of a request.
    Idle = 0,
    /// A request's first bytes arrived; its headers are not complete.
    Head = 1,
    /// A request is being read (its own body timeout) and answered.
    Busy = 2,
    /// The response is being sent.
    Writing = 3,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Idle => "idle too long",
            Phase::Head => "request headers did not arrive in time",
            Phase::Busy => "busy",
            Phase::Writing => "the response was not taken in time",
        })
    }
}

/// The phase of a connection and when it began (milliseconds since the connection's
/// start), shared by the byte stream, the request handler and the watchdog.
struct ConnState {
    start: Instant,
    phase: AtomicU8,
    since_ms: AtomicU64,
}

impl ConnState {
    fn new() -> ConnState {
        ConnState {
            start: Instant::now(),
            phase: AtomicU8::new(Phase::Idle as u8),
            since_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn enter(&self, phase: Phase) {
        self.since_ms.store(self.now_ms(), Ordering::Relaxed);
        self.phase.store(phase as u8, Ordering::Release);
    }

    /// Idle → Head when a request's first bytes arrive.
    fn bytes_arrived(&self) {
        if self
            .phase
            .compare_exchange(
                Phase::Idle as u8,
                Phase::Head as u8,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            self.since_ms.store(self.now_ms(), Ordering::Relaxed);
        }
    }

    fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Idle,
            1 => Phase::Head,
            2 => Phase::Busy,
            _ => Phase::Writing,
        }
    }
}

/// The byte stream of a connection, telling [`ConnState`] when a request begins.
struct Tracked<S> {
    inner: S,
    state: Arc<ConnState>,
}

impl<S> Tracked<S> {
    fn new(inner: S, state: Arc<ConnState>) -> Tracked<S> {
        Tracked { inner, state }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.bytes_arrived();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that puts its connection back to [`Phase::Idle`] once it has been
/// sent (or dropped).
pub struct TrackedBody {
    inner: Body,
    state: Option<Arc<ConnState>>,
}

impl TrackedBody {
    fn finish(&mut self) {
        if let Some(state) = self.state.take() {
            state.enter(Phase::Idle);
        }
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.finish();
    }
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.finish();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The time limits of a connection's phases.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    idle: Duration,
    header: Duration,
    write: Duration,
}

/// Why a connection ended other than by its client.
#[derive(Debug)]
enum Closed {
    TimedOut(Phase),
    Http(hyper::Error),
}

/// hyper's connection future with the phase deadlines around it: after every poll of the
/// connection (the only place the phase changes) the deadline of the current phase is
/// armed; when it passes, the connection is dropped (and with it the socket).
struct Watchdog<C> {
    conn: Pin<Box<C>>,
    state: Arc<ConnState>,
    timeouts: Timeouts,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl<C> Future for Watchdog<C>
where
    C: Future<Output = Result<(), hyper::Error>>,
{
    type Output = Result<(), Closed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Poll::Ready(done) = this.conn.as_mut().poll(cx) {
            return Poll::Ready(done.map_err(Closed::Http));
        }
        let phase = this.state.phase();
        let limit = match phase {
            Phase::Idle => this.timeouts.idle,
            Phase::Head => this.timeouts.header,
            Phase::Writing => this.timeouts.write,
            Phase::Busy => return Poll::Pending,
        };
        let since = Duration::from_millis(this.state.since_ms.load(Ordering::Relaxed));
        let deadline = tokio::time::Instant::from_std(this.state.start + since + limit);
        if tokio::time::Instant::now() >= deadline {
            return Poll::Ready(Err(Closed::TimedOut(phase)));
        }
        if this.sleep.deadline() != deadline {
            this.sleep.as_mut().reset(deadline);
        }
        match this.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Closed::TimedOut(phase))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Loads the TLS identity (`tls_cert`, `tls_key`: PEM) into an acceptor for HTTP/1.1.
pub fn tls_acceptor(files: &crate::config::TlsFiles) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "cannot read the TLS certificate {}: {e}",
                files.cert.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "the TLS certificate file {} holds no certificate",
            files.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        format!(
            "cannot read the TLS private key {}: {e}",
            files.key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "the TLS key {} does not fit the certificate {}: {e}",
                files.key.display(),
                files.cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(bound: &str, names: &[&str]) -> HostRule {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        HostRule::new(bound.parse().expect("address"), false, &names)
    }

    #[test]
    fn the_readme_addresses_name_a_loopback_server() {
        let r = rule("127.0.0.1:4599", &[]);
        for host in [
            "127.0.0.1:4599",
            "localhost:4599",
            "LOCALHOST:4599",
            "localhost.:4599",
            "[::1]:4599",
            "127.0.0.2:4599",
        ] {
            assert!(r.allows(host), "{host}");
        }
    }

    #[test]
    fn rebound_names_other_ports_and_garbage_are_refused() {
        let r = rule("127.0.0.1:4599", &[]);
        for host in [
            "evil.example:4599",
            "attacker.localhost.evil.example:4599",
            "127.0.0.1:80",
            "127.0.0.1",
            "localhost",
            "10.0.0.1:4599",
            "",
            ":4599",
            "[::1",
            "127.0.0.1:99999",
            "127.0.0.1:4599:1",
        ] {
            assert!(!r.allows(host), "{host:?}");
        }
    }

    #[test]
    fn configured_names_match_with_any_port() {
        let r = rule("127.0.0.1:4599", &["kms.test"]);
        assert!(r.allows("kms.test:8080"));
        assert!(r.allows("KMS.test"));
        assert!(!r.allows("other.test:4599"));
    }

    #[test]
    fn a_server_on_every_interface_takes_any_ip_address_but_no_foreign_name() {
        let r = rule("0.0.0.0:4599", &[]);
        assert!(r.allows("192.0.2.7:4599"));
        assert!(r.allows("localhost:4599"));
        assert!(!r.allows("evil.example:4599"));
        let r = rule("192.0.2.7:443", &[]);
        assert!(r.allows("192.0.2.7:443"));
        assert!(!r.allows("localhost:443"), "not a loopback listener");
        assert!(!r.allows("192.0.2.8:443"));
    }

    #[test]
    fn a_host_without_port_means_the_schemes_default_port() {
        let names: Vec<String> = Vec::new();
        let r = HostRule::new("127.0.0.1:443".parse().expect("addr"), true, &names);
        assert!(r.allows("localhost"));
        assert!(r.allows("127.0.0.1:443"));
        let r = HostRule::new("127.0.0.1:80".parse().expect("addr"), false, &names);
        assert!(r.allows("127.0.0.1"));
    }

    fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> ErrorForm {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        ErrorForm::of(&method, &path.parse().expect("uri"), &map)
    }

    const CFN_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/cloudformation/aws4_request, SignedHeaders=host, Signature=00";
    const KMS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00";
    const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

    #[test]
    fn each_caller_reads_edge_errors_in_its_own_protocols_form() {
        let kms = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "TrentService.ListKeys"),
            ("authorization", KMS_AUTH),
        ];
        assert_eq!(head("POST", "/", &kms), ErrorForm::Json);
        assert_eq!(head("POST", "/", &[]), ErrorForm::Json);
        assert_eq!(head("GET", "/admin/clock", &[]), ErrorForm::Json);
        assert_eq!(head("GET", "/health", &[]), ErrorForm::Json);
        // CloudFormation: signed for it (whatever the content type), or the unsigned
        // query shape.
        let cfn = [("content-type", FORM), ("authorization", CFN_AUTH)];
        assert_eq!(head("POST", "/", &cfn), ErrorForm::Query);
        assert_eq!(
            head("POST", "/", &[("authorization", CFN_AUTH)]),
            ErrorForm::Query
        );
        assert_eq!(
            head("POST", "/", &[("content-type", FORM)]),
            ErrorForm::Query
        );
        // STS: signed for it, without a target.
        let sts_auth = CFN_AUTH.replace("/cloudformation/", "/sts/");
        assert_eq!(
            head(
                "POST",
                "/",
                &[("content-type", FORM), ("authorization", &sts_auth)]
            ),
            ErrorForm::StsQuery
        );
        assert_eq!(
            head(
                "POST",
                "/",
                &[
                    ("authorization", &sts_auth),
                    ("x-amz-target", "TrentService.ListKeys")
                ]
            ),
            ErrorForm::Json,
            "a target names the JSON service, whatever the scope"
        );
        // A form-encoded body signed for KMS, or with a KMS target, stays JSON.
        assert_eq!(
            head(
                "POST",
                "/",
                &[("content-type", FORM), ("authorization", KMS_AUTH)]
            ),
            ErrorForm::Json
        );
        assert_eq!(
            head(
                "POST",
                "/",
                &[
                    ("content-type", FORM),
                    ("x-amz-target", "TrentService.ListKeys")
                ]
            ),
            ErrorForm::Json
        );
        // The console's pages, forms and assets, and its entry `GET /`.
        for (method, path) in [
            ("GET", "/"),
            ("GET", "/console"),
            ("GET", "/console/assets/console.css"),
            ("POST", "/console/signin"),
            ("POST", "/console/us-east-1/keys/k/enable"),
        ] {
            assert_eq!(
                head(method, path, &[("content-type", FORM)]),
                ErrorForm::Text,
                "{method} {path}"
            );
        }
        assert_eq!(head("GET", "/consoles", &[]), ErrorForm::Json);
    }

    fn body_text(response: Response<Body>) -> (StatusCode, HeaderMap, String) {
        let (parts, body) = response.into_parts();
        let bytes = block_on(body.collect()).expect("body").to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8(bytes.to_vec()).expect("utf-8"),
        )
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn an_edge_error_in_the_query_form_is_an_aws_error_response() {
        let response = ErrorForm::Query.error(
            StatusCode::PAYLOAD_TOO_LARGE,
            EdgeErrorKind::RequestEntityTooLarge,
            "The request body is larger than 4096 bytes, the largest this server accepts.",
            true,
        );
        let (status, headers, body) = body_text(response);
        assert_eq!(status, 413);
        assert_eq!(headers[header::CONTENT_TYPE], "text/xml");
        assert_eq!(headers[header::CONNECTION], "close");
        assert!(headers.contains_key("x-amzn-requestid"));
        assert!(body.contains("<ErrorResponse"), "{body}");
        assert!(body.contains("<Type>Sender</Type>"), "{body}");
        assert!(
            body.contains("<Code>RequestEntityTooLargeException</Code>"),
            "{body}"
        );
        assert!(body.contains("larger than 4096 bytes"), "{body}");
        assert_eq!(
            EdgeErrorKind::MalformedRequest.code(ErrorForm::Query),
            "MalformedHttpRequestException"
        );
        assert_eq!(
            EdgeErrorKind::MalformedRequest.code(ErrorForm::Json),
            "SerializationException"
        );
    }

    #[test]
    fn an_edge_error_for_a_browser_is_plain_text_it_will_not_sniff() {
        let response = ErrorForm::Text.error(
            StatusCode::MISDIRECTED_REQUEST,
            EdgeErrorKind::MisdirectedRequest,
            "The Host header \"<b>evil</b>\" does not name this server.",
            true,
        );
        let (status, headers, body) = body_text(response);
        assert_eq!(status, 421);
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(body.contains("does not name this server"), "{body}");
    }

    #[test]
    fn over_tls_every_cookie_set_is_secure() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("s=1; Path=/console; HttpOnly; SameSite=Strict"),
        );
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("t=; Path=/console/signin; Max-Age=0; secure"),
        );
        secure_cookies(&mut headers);
        let set: Vec<&str> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("ascii"))
            .collect();
        assert_eq!(
            set,
            [
                "s=1; Path=/console; HttpOnly; SameSite=Strict; Secure",
                "t=; Path=/console/signin; Max-Age=0; secure",
            ]
        );
    }

    #[test]
    fn a_growing_body_buffer_keeps_every_byte() {
        let mut buf = Zeroizing::new(Vec::with_capacity(2));
        let mut expected = Vec::new();
        for i in 0..100u8 {
            let chunk = vec![i; (i % 7) as usize + 1];
            append_zeroizing(&mut buf, &chunk);
            expected.extend_from_slice(&chunk);
        }
        assert_eq!(&buf[..], &expected[..]);
    }
}
