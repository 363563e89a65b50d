//! The server's edge under attack (issue 12, items 9, 10, 11, 13, 14): requests that never
//! finish, connections that never speak, more connections than the cap, a web page's
//! rebound host name (on the API and on the web console, whose open-mode sign-in it would
//! otherwise reach), cross-site calls of the admin API, an open-mode server on the
//! network, bodies too large or malformed — each refused or cut off, in the caller's
//! protocol wherever the request is HTTP enough to answer: AWS's JSON error form for the
//! KMS API, the awsQuery XML error for CloudFormation callers (aws-sdk-rust and the aws
//! CLI name the error), plain text for the console. And HTTPS with aws-sdk-kms, where the
//! console's cookies are marked Secure.
//!
//! Raw sockets play the attacker: they send exactly the bytes an attack sends. The
//! servers run with short timeouts (1–1.5 s); every wait below has a generous bound (the
//! code before this hardening held such connections for good).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Far more than any timeout configured here: a connection still open after this was
/// held, not cut off.
const BOUND: Duration = Duration::from_secs(20);

/// A server with short edge timeouts and a small body limit.
fn short_timeouts(extra: &[&str]) -> Server {
    let mut args = vec![
        "--header-timeout-ms",
        "1000",
        "--body-timeout-ms",
        "1500",
        "--idle-timeout-ms",
        "1500",
        "--max-request-bytes",
        "4096",
        "--regions",
        "us-east-1",
    ];
    args.extend_from_slice(extra);
    Server::start_with(&args)
}

fn port(server: &Server) -> u16 {
    server
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in the server URL")
}

fn connect(server: &Server) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port(server))).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    s
}

/// Reads until the server closes the connection (or `BOUND` passes). Returns what was
/// read and whether the server closed it.
fn read_until_closed(s: &mut TcpStream) -> (String, bool) {
    let deadline = Instant::now() + BOUND;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), false)
}

/// The status code and JSON body of a raw HTTP/1.1 response.
fn parse_response(raw: &str) -> (u16, Value) {
    let status: u16 = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {raw:?}"));
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, json)
}

fn head(server: &Server, extra: &str) -> String {
    format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.ListKeys\r\n{extra}\r\n",
        port(server)
    )
}

#[test]
fn slowloris_headers_are_cut_off_after_the_header_timeout() {
    let server = short_timeouts(&[]);
    let mut s = connect(&server);
    s.write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .expect("first bytes");
    // One more header byte every 200 ms, never the end of the headers.
    let started = Instant::now();
    let mut cut = false;
    while started.elapsed() < BOUND {
        if s.write_all(b"X").is_err() {
            cut = true;
            break;
        }
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(0) => {
                cut = true;
                break;
            }
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                cut = true;
                break;
            }
        }
    }
    assert!(
        cut,
        "a request whose headers never end was held for {BOUND:?}"
    );
    assert!(server.current_log().contains("serving"));
}

#[test]
fn a_declared_body_that_never_arrives_gets_408_in_json_and_the_connection_closes() {
    let server = short_timeouts(&[]);
    let mut s = connect(&server);
    s.write_all(head(&server, "Content-Length: 1000\r\n").as_bytes())
        .expect("headers");
    s.write_all(b"{\"Limit\":").expect("first body bytes");
    let (raw, closed) = read_until_closed(&mut s);
    assert!(closed, "held for {BOUND:?}: {raw:?}");
    let (status, body) = parse_response(&raw);
    assert_eq!(status, 408, "{raw}");
    assert_eq!(body["__type"], "RequestTimeoutException", "{raw}");
    assert!(body["message"]
        .as_str()
        .unwrap_or("")
        .contains("did not arrive"));
    assert!(
        raw.to_ascii_lowercase().contains("x-amzn-requestid"),
        "{raw}"
    );
}

#[test]
fn a_chunk_of_2_to_the_64_bytes_is_answered_not_awaited() {
    let server = short_timeouts(&[]);
    // A few bytes of the endless chunk, then silence: the body timeout answers.
    let mut s = connect(&server);
    s.write_all(head(&server, "Transfer-Encoding: chunked\r\n").as_bytes())
        .expect("headers");
    s.write_all(b"ffffffffffffffff\r\n{\"Limit\":1")
        .expect("chunk");
    let (raw, closed) = read_until_closed(&mut s);
    assert!(closed, "held for {BOUND:?}: {raw:?}");
    let (status, body) = parse_response(&raw);
    assert_eq!(status, 408, "{raw}");
    assert_eq!(body["__type"], "RequestTimeoutException", "{raw}");

    // More of it than the body limit: 413 at once.
    let mut s = connect(&server);
    s.write_all(head(&server, "Transfer-Encoding: chunked\r\n").as_bytes())
        .expect("headers");
    s.write_all(b"ffffffffffffffff\r\n").expect("chunk size");
    let _ = s.write_all(&[b'a'; 8192]);
    let (raw, closed) = read_until_closed(&mut s);
    assert!(closed, "held for {BOUND:?}: {raw:?}");
    let (status, body) = parse_response(&raw);
    assert_eq!(status, 413, "{raw}");
    assert_eq!(body["__type"], "RequestEntityTooLargeException", "{raw}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("4096 bytes"),
        "{raw}"
    );
}

#[test]
fn bodies_over_the_limit_and_malformed_chunks_get_aws_json_errors() {
    let server = short_timeouts(&[]);
    // Declared too large: refused before a byte of the body is read.
    let mut s = connect(&server);
    s.write_all(head(&server, "Content-Length: 2000000\r\n").as_bytes())
        .expect("headers");
    let (raw, closed) = read_until_closed(&mut s);
    assert!(closed, "{raw:?}");
    let (status, body) = parse_response(&raw);
    assert_eq!(status, 413, "{raw}");
    assert_eq!(body["__type"], "RequestEntityTooLargeException", "{raw}");
    assert!(
        raw.contains("application/x-amz-json-1.1"),
        "JSON content type: {raw}"
    );

    // A chunk size that is not hexadecimal.
    let mut s = connect(&server);
    s.write_all(head(&server, "Transfer-Encoding: chunked\r\n").as_bytes())
        .expect("headers");
    s.write_all(b"zz\r\n{}\r\n0\r\n\r\n").expect("bad chunk");
    let (raw, closed) = read_until_closed(&mut s);
    assert!(closed, "{raw:?}");
    let (status, body) = parse_response(&raw);
    assert_eq!(status, 400, "{raw}");
    assert_eq!(body["__type"], "SerializationException", "{raw}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("could not be read"),
        "{raw}"
    );

    // The server is unharmed: a well-formed request still works.
    let mut s = connect(&server);
    let body = "{}";
    s.write_all(
        format!(
            "{}{}",
            head(
                &server,
                &format!(
                    "Content-Length: {}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00\r\nConnection: close\r\n",
                    body.len()
                )
            ),
            body
        )
        .as_bytes(),
    )
    .expect("request");
    let (raw, _) = read_until_closed(&mut s);
    let (status, json) = parse_response(&raw);
    assert_eq!(status, 200, "{raw}");
    assert!(json["Keys"].is_array(), "{raw}");
}

#[test]
fn idle_connections_are_closed_before_and_after_a_request() {
    let server = short_timeouts(&[]);
    // Never says a word.
    let mut silent = connect(&server);
    let (raw, closed) = read_until_closed(&mut silent);
    assert!(closed, "an idle connection was held for {BOUND:?}");
    assert!(raw.is_empty(), "{raw:?}");

    // Keep-alive after one answered request.
    let mut s = connect(&server);
    s.write_all(
        format!(
            "GET /health HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            port(&server)
        )
        .as_bytes(),
    )
    .expect("request");
    let (raw, closed) = read_until_closed(&mut s);
    assert!(
        closed,
        "a kept-alive idle connection was held for {BOUND:?}"
    );
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw:?}");
    assert!(raw.ends_with("ok"), "{raw:?}");
}

#[test]
fn the_connection_cap_holds_new_clients_until_a_connection_closes() {
    let server = short_timeouts(&["--max-connections", "2"]);
    let holders: Vec<TcpStream> = (0..2).map(|_| connect(&server)).collect();
    // A third client is accepted only once an idle holder has been closed.
    let mut third = connect(&server);
    third
        .write_all(
            format!(
                "GET /health HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                port(&server)
            )
            .as_bytes(),
        )
        .expect("request");
    let (raw, closed) = read_until_closed(&mut third);
    assert!(closed && raw.starts_with("HTTP/1.1 200"), "{raw:?}");
    assert!(
        server
            .current_log()
            .contains("connection cap reached: new clients wait until a connection closes"),
        "{}",
        server.current_log()
    );
    drop(holders);
}

#[test]
fn a_rebound_host_name_is_refused_on_every_route() {
    let server = short_timeouts(&["--admin-api"]);
    let p = port(&server);
    for (method, path) in [("POST", "/"), ("GET", "/health"), ("GET", "/admin/clock")] {
        let mut s = connect(&server);
        // What a browser sends after evil.example was rebound to 127.0.0.1.
        s.write_all(
            format!(
                "{method} {path} HTTP/1.1\r\nHost: evil.example:{p}\r\nContent-Length: 2\r\nX-Amz-Target: TrentService.ListKeys\r\n\r\n{{}}"
            )
            .as_bytes(),
        )
        .expect("request");
        let (raw, closed) = read_until_closed(&mut s);
        assert!(closed, "{raw:?}");
        let (status, body) = parse_response(&raw);
        assert_eq!(status, 421, "{method} {path}: {raw}");
        assert_eq!(body["__type"], "MisdirectedRequestException", "{raw}");
        let message = body["message"].as_str().unwrap_or("");
        assert!(message.contains("evil.example"), "{message}");
        assert!(message.contains(&format!("localhost:{p}")), "{message}");
    }
    // The names of the README work.
    for host in [format!("127.0.0.1:{p}"), format!("localhost:{p}")] {
        let mut s = connect(&server);
        s.write_all(
            format!("GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("request");
        let (raw, _) = read_until_closed(&mut s);
        assert!(raw.starts_with("HTTP/1.1 200"), "{host}: {raw:?}");
    }
}

/// A client that resolves `evil.example` to the server, as a victim's browser does once a
/// page's DNS name was rebound to 127.0.0.1; redirects are not followed.
fn rebinding_browser(p: u16) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve("evil.example", ([127, 0, 0, 1], p).into())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(BOUND)
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_rebound_host_name_cannot_reach_the_console_nor_sign_in() {
    let server = short_timeouts(&[]);
    let p = port(&server);
    let browser = rebinding_browser(p);
    let evil = format!("http://evil.example:{p}");
    // The console's entry, its sign-in page, its assets and a key page: refused before
    // any of them runs, in plain text, with no cookie.
    for path in [
        "/",
        "/console/",
        "/console/signin",
        "/console/assets/console.js",
        "/console/us-east-1/keys",
    ] {
        let r = browser
            .get(format!("{evil}{path}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), 421, "GET {path}");
        assert!(r.headers().get("set-cookie").is_none(), "GET {path}");
        assert_eq!(
            r.headers()["content-type"],
            "text/plain; charset=utf-8",
            "GET {path}"
        );
        let text = r.text().await.expect("body");
        assert!(text.contains("\"evil.example:"), "{text}");
        assert!(text.contains("does not name this server"), "{text}");
    }
    // The rebound page's own form post is same-origin as far as Origin and Host go (both
    // name evil.example), so only the Host check stands between it and an open-mode
    // session: the sign-in is refused and no session cookie is set.
    let r = browser
        .post(format!("{evil}/console/signin"))
        .header("origin", &evil)
        .header("cookie", "hsmkms_signin=forged")
        .form(&[("csrf", "forged"), ("next", "/console/")])
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 421);
    assert!(r.headers().get("set-cookie").is_none());

    // The console's own names work: its sign-in page sets its cookie, its assets load.
    let own = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(BOUND)
        .build()
        .expect("client");
    let r = own
        .get(format!("http://localhost:{p}/console/signin"))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(cookie.starts_with("hsmkms_signin="), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let r = own
        .get(format!("http://127.0.0.1:{p}/console/assets/console.css"))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/css"));
}

/// The head of a CloudFormation (awsQuery) request as aws-sdk-rust and the aws CLI send
/// it: form-encoded, signed for `cloudformation`.
fn cfn_head(host: &str, extra: &str) -> String {
    format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/cloudformation/aws4_request, SignedHeaders=host, Signature=00\r\n{extra}\r\n"
    )
}

/// The status, content type and `Type` / `Code` / `Message` of a raw awsQuery error.
fn parse_query_error(raw: &str) -> (u16, String, [String; 3]) {
    let status: u16 = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {raw:?}"));
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    assert!(body.contains("<ErrorResponse"), "{raw}");
    assert!(body.contains("<RequestId>"), "{raw}");
    let element = |name: &str| {
        let open = format!("<{name}>");
        body.split_once(&open)
            .and_then(|(_, rest)| rest.split_once(&format!("</{name}>")))
            .map(|(v, _)| v.to_string())
            .unwrap_or_else(|| panic!("no <{name}> in {raw}"))
    };
    (
        status,
        content_type,
        [element("Type"), element("Code"), element("Message")],
    )
}

#[test]
fn cloudformation_callers_read_edge_errors_in_the_query_form() {
    let server = short_timeouts(&[]);
    let p = port(&server);
    let own = format!("127.0.0.1:{p}");
    // A body over the limit.
    let mut s = connect(&server);
    s.write_all(cfn_head(&own, "Content-Length: 2000000\r\n").as_bytes())
        .expect("headers");
    let (raw, closed) = read_until_closed(&mut s);
    assert!(closed, "{raw:?}");
    let (status, content_type, [kind, code, message]) = parse_query_error(&raw);
    assert_eq!(status, 413, "{raw}");
    assert_eq!(content_type, "text/xml", "{raw}");
    assert_eq!(kind, "Sender");
    assert_eq!(code, "RequestEntityTooLargeException");
    assert!(message.contains("larger than 4096 bytes"), "{message}");

    // A rebound Host.
    let mut s = connect(&server);
    s.write_all(
        format!(
            "{}Action=ListStacks&Version=2010-05-15",
            cfn_head(&format!("evil.example:{p}"), "Content-Length: 36\r\n")
        )
        .as_bytes(),
    )
    .expect("request");
    let (raw, closed) = read_until_closed(&mut s);
    assert!(closed, "{raw:?}");
    let (status, _, [kind, code, message]) = parse_query_error(&raw);
    assert_eq!(status, 421, "{raw}");
    assert_eq!(
        (kind.as_str(), code.as_str()),
        ("Sender", "MisdirectedRequestException")
    );
    assert!(message.contains("evil.example"), "{message}");

    // A malformed chunked body: the query protocol's callers read AWS's common error for
    // a request broken at the HTTP level.
    let mut s = connect(&server);
    s.write_all(cfn_head(&own, "Transfer-Encoding: chunked\r\n").as_bytes())
        .expect("headers");
    s.write_all(b"zz\r\nAction=ListStacks\r\n0\r\n\r\n")
        .expect("bad chunk");
    let (raw, closed) = read_until_closed(&mut s);
    assert!(closed, "{raw:?}");
    let (status, _, [_, code, message]) = parse_query_error(&raw);
    assert_eq!(status, 400, "{raw}");
    assert_eq!(code, "MalformedHttpRequestException");
    assert!(message.contains("could not be read"), "{message}");

    // A body that never arrives.
    let mut s = connect(&server);
    s.write_all(cfn_head(&own, "Content-Length: 100\r\n").as_bytes())
        .expect("headers");
    s.write_all(b"Action=").expect("first body bytes");
    let (raw, closed) = read_until_closed(&mut s);
    assert!(closed, "{raw:?}");
    let (status, _, [_, code, _]) = parse_query_error(&raw);
    assert_eq!(status, 408, "{raw}");
    assert_eq!(code, "RequestTimeoutException");
}

#[tokio::test]
async fn aws_sdk_cloudformation_reads_a_body_over_the_limit_as_its_service_error() {
    let server = short_timeouts(&[]);
    let cfn = aws_sdk_cloudformation::Client::new(&server.sdk_config("us-east-1").await);
    let template = format!(
        "{{\"Description\": \"{}\", \"Resources\": {{\"K\": {{\"Type\": \"AWS::KMS::Key\"}}}}}}",
        "x".repeat(8000)
    );
    let e = must_fail(
        cfn.validate_template().template_body(template).send().await,
        "ValidateTemplate of 8 KB against a 4 KB limit",
    );
    assert_err(
        &e,
        "RequestEntityTooLargeException",
        &["larger than 4096 bytes"],
    );
    // Under the limit, the same client is served.
    let small = "{\"Resources\": {\"K\": {\"Type\": \"AWS::KMS::Key\"}}}";
    cfn.validate_template()
        .template_body(small)
        .send()
        .await
        .expect("ValidateTemplate under the limit");
}

#[test]
fn the_aws_cli_names_the_edge_errors_of_cloudformation_calls() {
    let server = short_timeouts(&[]);
    let p = port(&server);
    let scratch = tempfile::tempdir().expect("scratch dir");
    let template = format!(
        "{{\"Description\": \"{}\", \"Resources\": {{\"K\": {{\"Type\": \"AWS::KMS::Key\"}}}}}}",
        "x".repeat(8000)
    );
    std::fs::write(scratch.path().join("big.json"), template).expect("write the template");
    // The rebound Host: the CLI is sent through an HTTP proxy that is the server itself,
    // so its request reaches 127.0.0.1 naming evil.example, as a rebound name would.
    let script = format!(
        r#"export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1
echo '== too large'
aws cloudformation validate-template --endpoint-url http://127.0.0.1:{p} \
    --template-body file://big.json 2>&1 || echo "exit $?"
echo '== rebound'
HTTP_PROXY=http://127.0.0.1:{p} NO_PROXY= no_proxy= \
    aws cloudformation list-stacks --endpoint-url http://evil.example:{p} 2>&1 || echo "exit $?"
"#
    );
    let run = common::readme::run_script(&script, scratch.path(), scratch.path(), BOUND * 6);
    let out = run.stdout;
    assert!(
        run.status.is_some_and(|s| s.success()),
        "{out}\n{}",
        run.stderr
    );
    let (too_large, rebound) = out
        .split_once("== rebound")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        too_large.contains(
            "An error occurred (RequestEntityTooLargeException) when calling the ValidateTemplate operation: The request body is larger than 4096 bytes"
        ),
        "{out}"
    );
    assert!(too_large.contains("exit "), "{out}");
    assert!(
        rebound.contains(
            "An error occurred (MisdirectedRequestException) when calling the ListStacks operation: The Host header \"evil.example:"
        ),
        "{out}"
    );
    assert!(rebound.contains("exit "), "{out}");
}

#[tokio::test]
async fn sdk_clients_naming_localhost_or_a_configured_name_are_served() {
    let server = Server::start_with(&["--regions", "us-east-1", "--allowed-hosts", "kms.test"]);
    let p = port(&server);
    let localhost = client_for(&format!("http://localhost:{p}"), "us-east-1").await;
    let key = localhost
        .create_key()
        .send()
        .await
        .expect("CreateKey via localhost");
    let id = key.key_metadata().expect("metadata").key_id().to_string();
    // A configured name: reqwest resolves it to 127.0.0.1 itself.
    let http = reqwest::Client::builder()
        .resolve("kms.test", ([127, 0, 0, 1], p).into())
        .build()
        .expect("client");
    let resp = http
        .get(format!("http://kms.test:{p}/health"))
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 200);
    assert!(!id.is_empty());
}

/// An aws-sdk-kms client for `endpoint`.
async fn client_for(endpoint: &str, region: &str) -> aws_sdk_kms::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_kms::Client::new(&config)
}

#[tokio::test]
async fn the_admin_api_refuses_cross_site_requests_and_overflowing_offsets() {
    let server = short_timeouts(&["--admin-api"]);
    let url = format!("{}/admin/clock", server.url);
    let http = reqwest::Client::new();
    let token = server.admin_token();
    assert_eq!(token.len(), 32, "128 random bits, hex");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(server.data_dir().join("admin-token"))
            .expect("admin-token")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // What a web page can send without a CORS preflight: a text/plain POST, no token.
    let resp = http
        .post(&url)
        .header("content-type", "text/plain")
        .body("{\"advance_seconds\": 604800}")
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");
    assert!(body["message"]
        .as_str()
        .unwrap_or("")
        .contains("admin-token"));
    // Reading the clock needs the token too.
    let resp = http.get(&url).send().await.expect("GET");
    assert_eq!(resp.status(), 401);
    // A wrong token.
    let resp = http
        .post(&url)
        .bearer_auth("0".repeat(32))
        .json(&serde_json::json!({"advance_seconds": 1}))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 403);
    // The right token, but not JSON.
    let resp = http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{\"advance_seconds\": 1}")
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), 415);
    // Nothing moved the clock so far.
    let before = server.clock_now().await;
    let resp = http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    let clock: Value = resp.json().await.expect("JSON");
    assert_eq!(clock["offset_seconds"], 0.0, "{clock}");

    // Values that overflowed the offset arithmetic.
    for bad in ["1e308", "-1", "1e10"] {
        let resp = http
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(format!("{{\"advance_seconds\": {bad}}}"))
            .send()
            .await
            .expect("POST");
        assert_eq!(resp.status(), 400, "{bad}");
        let body: Value = resp.json().await.expect("JSON");
        assert_eq!(body["__type"], "ValidationException", "{bad}: {body}");
    }
    // The largest step, many times: the clock saturates, the server keeps answering.
    for _ in 0..12 {
        server.advance_clock(100.0 * 365.25 * 86_400.0).await;
    }
    let after = server.clock_now().await;
    assert!(after > before + 999.0 * 365.0 * 86_400.0, "{after}");
    let client = server.client("us-east-1").await;
    client.list_keys().send().await.expect("ListKeys after");
}

fn hsm_kms() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hsm-kms"));
    common::launch::clear_inherited_settings(&mut cmd);
    cmd.env("NO_COLOR", "1");
    cmd
}

#[test]
fn open_mode_refuses_a_network_address_unless_told_it_is_wanted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = hsm_kms()
        .args(["serve", "--regions", "us-east-1", "--listen", "0.0.0.0:0"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("run hsm-kms");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for words in [
        "refusing to listen on 0.0.0.0:0 in open mode",
        "without credentials",
        "--allow-unauthenticated-network-access",
        "strict",
    ] {
        assert!(stderr.contains(words), "{words:?} in {stderr}");
    }
    assert!(
        !dir.path().join("data").join("tokens").exists(),
        "nothing was created before the refusal"
    );

    // Told: it serves (reached here over loopback) and warns.
    let mut cmd = hsm_kms();
    cmd.args([
        "serve",
        "--regions",
        "us-east-1",
        "--listen",
        "0.0.0.0:0",
        "--allow-unauthenticated-network-access",
    ])
    .arg("--data-dir")
    .arg(dir.path().join("data"))
    .stderr(std::process::Stdio::piped());
    let (mut child, url) =
        common::launch::spawn_listening(&mut cmd, Duration::from_secs(180)).expect("starts");
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(200))).ok();
    s.write_all(
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .expect("request");
    let (raw, _) = read_until_closed(&mut s);
    let _ = child.kill();
    let out = child.wait_with_output().expect("reap");
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("anyone who can reach it can use every key without credentials"),
        "{stderr}"
    );
}

#[tokio::test]
async fn https_with_a_self_signed_certificate_serves_aws_sdk_kms() {
    let certs = tempfile::tempdir().expect("temp dir");
    let identity =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("self-signed certificate");
    let cert_pem = identity.cert.pem();
    let cert = certs.path().join("cert.pem");
    let key = certs.path().join("key.pem");
    std::fs::write(&cert, &cert_pem).expect("write cert");
    std::fs::write(&key, identity.key_pair.serialize_pem()).expect("write key");
    let server = Server::start_with(&[
        "--regions",
        "us-east-1",
        "--tls-cert",
        cert.to_str().expect("utf-8"),
        "--tls-key",
        key.to_str().expect("utf-8"),
    ]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    use aws_smithy_http_client::tls;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(
            tls::TlsContext::builder()
                .with_trust_store(
                    tls::TrustStore::empty().with_pem_certificate(cert_pem.as_bytes()),
                )
                .build()
                .expect("TLS context"),
        )
        .build_https();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(server.url.clone())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let kms = aws_sdk_kms::Client::new(&config);
    let key_id = kms
        .create_key()
        .send()
        .await
        .expect("CreateKey over HTTPS")
        .key_metadata()
        .expect("metadata")
        .key_id()
        .to_string();
    let sealed = kms
        .encrypt()
        .key_id(&key_id)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"over TLS".to_vec()))
        .send()
        .await
        .expect("Encrypt over HTTPS");
    let opened = kms
        .decrypt()
        .ciphertext_blob(sealed.ciphertext_blob().expect("blob").clone())
        .send()
        .await
        .expect("Decrypt over HTTPS");
    assert_eq!(opened.plaintext().expect("plaintext").as_ref(), b"over TLS");

    // The console's cookies are Secure over TLS: a browser will not send them over HTTP.
    let raw = https_get(&server, identity.cert.der().clone(), "/console/signin").await;
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    let cookie = raw
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {raw}"));
    assert!(cookie.contains("hsmkms_signin="), "{cookie}");
    assert!(cookie.trim_end().ends_with("; Secure"), "{cookie}");

    // Plain HTTP to the HTTPS port gets no answer it could use.
    let plain = reqwest::Client::new()
        .get(format!(
            "{}/health",
            server.url.replacen("https", "http", 1)
        ))
        .timeout(BOUND)
        .send()
        .await;
    assert!(
        plain.is_err() || !plain.expect("response").status().is_success(),
        "plain HTTP was served on the TLS port"
    );
}

/// `GET path` over TLS to `server`, trusting only `cert`; the whole raw response.
async fn https_get(
    server: &Server,
    cert: rustls::pki_types::CertificateDer<'static>,
    path: &str,
) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("trust the certificate");
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let p = port(server);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", p))
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost:{p}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("request");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(BOUND, tls.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}
