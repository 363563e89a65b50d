//! Requests signed by hand (the `aws-sigv4` crate the SDKs use), for tests that need to
//! sign at another time, with another secret, or change a request after signing it.

use std::time::{Duration, SystemTime};

/// Who signs, for which Region and service, and when.
#[derive(Debug, Clone)]
pub struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
    /// `kms`, `sts`, `cloudtrail`.
    pub service: &'a str,
    pub time: SystemTime,
}

impl Signer<'_> {
    /// This signer, `secs` seconds earlier (negative: later).
    pub fn earlier_by(&self, secs: i64) -> Self {
        let time = if secs >= 0 {
            self.time - Duration::from_secs(secs as u64)
        } else {
            self.time + Duration::from_secs((-secs) as u64)
        };
        Signer {
            time,
            ..self.clone()
        }
    }
}

/// The headers of a `POST /` to `url` with `headers` and `body`, signed by `s`
/// (`authorization`, `x-amz-date`, and `x-amz-security-token` for a session).
pub fn sign_post(
    s: &Signer<'_>,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let identity = aws_credential_types::Credentials::new(
        s.access_key_id,
        s.secret,
        s.session_token.map(str::to_string),
        None,
        "test",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(s.region)
        .name(s.service)
        .time(s.time)
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let host = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let mut all: Vec<(&str, &str)> = vec![("host", host)];
    all.extend_from_slice(headers);
    let signable = SignableRequest::new(
        "POST",
        format!("{}/", url.trim_end_matches('/')),
        all.iter().copied(),
        SignableBody::Bytes(body),
    )
    .expect("signable request");
    let (instructions, _) = sign(signable, &params).expect("signs").into_parts();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("{}/", url.trim_end_matches('/')));
    for (k, v) in &all {
        request = request.header(*k, *v);
    }
    let mut request = request.body(()).expect("request");
    instructions.apply_to_request_http1x(&mut request);
    request
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str() != "host")
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().expect("ascii header").to_string(),
            )
        })
        .collect()
}

/// What a raw call answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
    pub text: String,
}

impl Answer {
    /// The AWS error type (`__type`), if any.
    pub fn error_type(&self) -> &str {
        self.body["__type"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["message"]
            .as_str()
            .or_else(|| self.body["Message"].as_str())
            .unwrap_or("")
    }
}

/// Sends a KMS JSON 1.1 request (`TrentService.<operation>`) signed by `s`, with `body`
/// replaced by `sent` after signing when given (a tampered body).
pub async fn kms_call(
    url: &str,
    s: &Signer<'_>,
    operation: &str,
    body: &str,
    sent: Option<&str>,
) -> Answer {
    let target = format!("TrentService.{operation}");
    json_call(url, s, &target, body, sent).await
}

/// Sends a JSON 1.1 request with `X-Amz-Target: target`, signed by `s`.
pub async fn json_call(
    url: &str,
    s: &Signer<'_>,
    target: &str,
    body: &str,
    sent: Option<&str>,
) -> Answer {
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", target),
    ];
    let signed = sign_post(s, url, &headers, body.as_bytes());
    // The signed headers: content-type and x-amz-target, and what signing added.
    let mut request = reqwest::Client::new().post(format!("{url}/"));
    for (k, v) in &signed {
        request = request.header(k, v);
    }
    let response = request
        .body(sent.unwrap_or(body).to_string())
        .send()
        .await
        .expect("send the request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        text,
    }
}
