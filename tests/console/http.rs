//! Sessions and CSRF at the HTTP level: what a page needs before it is shown, what the
//! cookies say, and forged or cross-site form posts that must change nothing.

use std::time::Duration;

use reqwest::redirect::Policy;
use reqwest::StatusCode;

use crate::common::{self, Server};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect()
}

fn cookie_value(set: &[String], name: &str) -> Option<String> {
    set.iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in page"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Signs in through the form; returns the session cookie.
async fn sign_in(c: &reqwest::Client, base: &str) -> String {
    let page = c
        .get(format!("{base}/console/signin"))
        .send()
        .await
        .expect("signin page");
    let pre = cookie_value(&set_cookies(&page), "hsmkms_signin").expect("signin cookie");
    let html = page.text().await.expect("html");
    let token = hidden(&html, "csrf");
    let r = c
        .post(format!("{base}/console/signin"))
        .header("cookie", format!("hsmkms_signin={pre}"))
        .form(&[("csrf", token.as_str()), ("next", "/console/")])
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set = set_cookies(&r);
    let session = set
        .iter()
        .find(|c| c.starts_with("hsmkms_console="))
        .expect("session cookie")
        .clone();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/console"), "{session}");
    cookie_value(&set, "hsmkms_console").expect("session value")
}

async fn page(c: &reqwest::Client, url: &str, session: &str) -> (StatusCode, String) {
    let r = c
        .get(url)
        .header("cookie", format!("hsmkms_console={session}"))
        .send()
        .await
        .expect("get");
    (r.status(), r.text().await.unwrap_or_default())
}

async fn make_key(server: &Server, description: &str) -> String {
    common::NewKey::symmetric()
        .description(description)
        .create_id(&server.client("us-east-1").await)
        .await
}

async fn key_state(server: &Server, id: &str) -> String {
    common::describe(&server.client("us-east-1").await, id)
        .await
        .key_state()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn browsers_get_the_console_at_the_root_and_the_api_still_answers_posts() {
    let server = Server::start();
    let c = http();
    let r = c
        .get(format!("{}/", server.url))
        .send()
        .await
        .expect("get /");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/console/");
    let r = c
        .get(format!("{}/console/us-east-1/keys", server.url))
        .send()
        .await
        .expect("keys");
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "no session: sign in first"
    );
    assert!(r.headers()["location"]
        .to_str()
        .unwrap_or("")
        .starts_with("/console/signin?next="));
    let api = c
        .post(format!("{}/", server.url))
        .header("x-amz-target", "TrentService.ListKeys")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            common::fake_sigv4_authorization("us-east-1"),
        )
        .body("{}")
        .send()
        .await
        .expect("api");
    assert_eq!(api.status(), StatusCode::OK);
    let body: serde_json::Value = api.json().await.expect("json");
    assert!(body["Keys"].is_array(), "{body}");
    let css = c
        .get(format!("{}/console/assets/console.css", server.url))
        .send()
        .await
        .expect("css");
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/css"));
}

#[tokio::test]
async fn sign_in_needs_the_forms_own_token_and_sign_out_ends_the_session() {
    let server = Server::start();
    let c = http();
    // A sign-in posted from elsewhere (no double-submit cookie) is refused: no login CSRF.
    let forged = c
        .post(format!("{}/console/signin", server.url))
        .form(&[("csrf", "0123456789"), ("next", "/console/")])
        .send()
        .await
        .expect("forged sign-in");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(&forged)
        .iter()
        .all(|c| !c.starts_with("hsmkms_console=")));

    let session = sign_in(&c, &server.url).await;
    let (status, html) = page(
        &c,
        &format!("{}/console/us-east-1/keys", server.url),
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Customer managed keys"));
    assert!(
        html.contains("arn:aws:iam::111122223333:root"),
        "open mode acts as root"
    );

    // Sign-out without the CSRF token is refused and the session lives on.
    let r = c
        .post(format!("{}/console/signout", server.url))
        .header("cookie", format!("hsmkms_console={session}"))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .expect("signout");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (status, _) = page(
        &c,
        &format!("{}/console/us-east-1/keys", server.url),
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let csrf = hidden(&html, "csrf");
    let r = c
        .post(format!("{}/console/signout", server.url))
        .header("cookie", format!("hsmkms_console={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("signout");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(set_cookies(&r)
        .iter()
        .any(|c| c.starts_with("hsmkms_console=;") && c.contains("Max-Age=0")));
    let (status, _) = page(
        &c,
        &format!("{}/console/us-east-1/keys", server.url),
        &session,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the old cookie no longer opens pages"
    );

    // An open redirect through ?next= is not followed.
    let page_r = c
        .get(format!(
            "{}/console/signin?next=//evil.example/",
            server.url
        ))
        .send()
        .await
        .expect("signin page");
    let html = page_r.text().await.expect("html");
    assert_eq!(hidden(&html, "next"), "/console/");
}

#[tokio::test]
async fn forged_and_cross_site_form_posts_change_nothing() {
    let server = Server::start();
    let c = http();
    let id = make_key(&server, "csrf target").await;
    let session = sign_in(&c, &server.url).await;
    let other = sign_in(&c, &server.url).await;
    let (_, html) = page(
        &c,
        &format!("{}/console/us-east-1/keys/{id}", server.url),
        &session,
    )
    .await;
    let csrf = hidden(&html, "csrf");
    let (_, other_html) = page(
        &c,
        &format!("{}/console/us-east-1/keys", server.url),
        &other,
    )
    .await;
    let other_csrf = hidden(&other_html, "csrf");
    assert_ne!(csrf, other_csrf, "each session has its own token");
    let url = format!("{}/console/us-east-1/keys/{id}/disable", server.url);

    // The attack: a page elsewhere posts the disable form with the victim's cookie.
    for (token, origin, why) in [
        ("", None, "no token"),
        ("deadbeef", None, "a wrong token"),
        (other_csrf.as_str(), None, "another session's token"),
        (
            csrf.as_str(),
            Some("http://evil.example"),
            "a cross-site Origin",
        ),
    ] {
        let mut r = c
            .post(&url)
            .header("cookie", format!("hsmkms_console={session}"))
            .form(&[("csrf", token)]);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        let r = r.send().await.expect("post");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{why}");
        assert_eq!(
            key_state(&server, &id).await,
            "Enabled",
            "{why} changed the key"
        );
    }
    // Without a session at all.
    let r = c
        .post(&url)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(key_state(&server, &id).await, "Enabled");

    // The real form works, and the action is in the audit log with the console's user agent.
    let r = c
        .post(&url)
        .header("cookie", format!("hsmkms_console={session}"))
        .header("origin", server.url.clone())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(key_state(&server, &id).await, "Disabled");
    let record = common::wait_for_record(&server, "us-east-1", "the console's DisableKey", |r| {
        r["eventName"] == "DisableKey"
            && r["requestParameters"]["keyId"].as_str() == Some(id.as_str())
    })
    .await;
    assert_eq!(
        record["userAgent"], "console.amazonaws.com (hsm-kms console)",
        "{record}"
    );
    // The open-mode console acts as the account's root user, and says so as AWS does.
    assert_eq!(
        record["userIdentity"],
        serde_json::json!({
            "type": "Root",
            "principalId": "111122223333",
            "arn": "arn:aws:iam::111122223333:root",
            "accountId": "111122223333",
            "accessKeyId": "ASIACONSOLEROOT00000",
        }),
        "{record}"
    );
}

#[tokio::test]
async fn pages_escape_what_users_typed_and_refuse_unserved_regions() {
    let server = Server::start();
    let c = http();
    let id = make_key(&server, "<script>alert(1)</script>\"'").await;
    let session = sign_in(&c, &server.url).await;
    let (status, html) = page(
        &c,
        &format!("{}/console/us-east-1/keys/{id}", server.url),
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("<script>alert(1)"),
        "description rendered raw"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;"));
    let (status, html) = page(
        &c,
        &format!("{}/console/ap-south-1/keys", server.url),
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("not served here"));
    let r = c
        .get(format!("{}/console/us-east-1/keys", server.url))
        .header("cookie", format!("hsmkms_console={session}"))
        .send()
        .await
        .expect("get");
    // The proposed key policy names the root of the page's Region's partition.
    let (_, html) = page(
        &c,
        &format!("{}/console/cn-north-1/keys", server.url),
        &session,
    )
    .await;
    let csrf = hidden(&html, "csrf");
    let review = c
        .post(format!("{}/console/cn-north-1/create", server.url))
        .header("cookie", format!("hsmkms_console={session}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("step", "4"),
            ("nav", "next"),
            ("key_type", "symmetric"),
            ("key_usage", "ENCRYPT_DECRYPT"),
            ("key_spec", "SYMMETRIC_DEFAULT"),
            ("origin", "AWS_KMS"),
            ("regionality", "single"),
            ("seen_admins", "1"),
            ("other_admins", "arn:aws-cn:iam::111122223333:role/Admin"),
        ])
        .send()
        .await
        .expect("review");
    assert_eq!(review.status(), StatusCode::OK);
    let html = review.text().await.expect("html");
    assert!(
        html.contains("arn:aws-cn:iam::111122223333:root"),
        "root of aws-cn"
    );
    assert!(
        !html.contains("arn:aws:iam::111122223333:root&quot;"),
        "no aws root in a cn policy"
    );
    assert!(html.contains("Allow access for Key Administrators"));
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap_or("")
        .to_string();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
}

#[tokio::test]
async fn downloads_are_the_keys_own_bytes() {
    let server = Server::start();
    let c = http();
    let kms = server.client("us-east-1").await;
    let signing = kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .expect("key")
        .key_metadata
        .expect("meta")
        .key_id;
    let der = kms
        .get_public_key()
        .key_id(&signing)
        .send()
        .await
        .expect("public key")
        .public_key
        .expect("der");
    let session = sign_in(&c, &server.url).await;
    let base = format!("{}/console/us-east-1/keys/{signing}", server.url);
    let get = |path: String| {
        c.get(path)
            .header("cookie", format!("hsmkms_console={session}"))
            .send()
    };
    let r = get(format!("{base}/public-key.der")).await.expect("der");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap_or("")
        .contains(&format!("{signing}.der")));
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), der.as_ref());
    let pem = get(format!("{base}/public-key.pem"))
        .await
        .expect("pem")
        .text()
        .await
        .expect("text");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("base64"),
        der.as_ref()
    );

    // Import parameters: fetched by the form, then downloadable as the two files.
    let external = kms
        .create_key()
        .origin(aws_sdk_kms::types::OriginType::External)
        .send()
        .await
        .expect("key")
        .key_metadata
        .expect("meta")
        .key_id;
    let base = format!("{}/console/us-east-1/keys/{external}", server.url);
    let missing = get(format!("{base}/wrapping-key.bin")).await.expect("get");
    assert_eq!(
        missing.status(),
        StatusCode::NOT_FOUND,
        "nothing fetched yet"
    );
    let (_, html) = page(&c, &format!("{base}?tab=keymaterial"), &session).await;
    let csrf = hidden(&html, "csrf");
    let r = c
        .post(format!("{base}/import-params"))
        .header("cookie", format!("hsmkms_console={session}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("algorithm", "RSAES_OAEP_SHA_256"),
            ("spec", "RSA_2048"),
        ])
        .send()
        .await
        .expect("params");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let key = get(format!("{base}/wrapping-key.bin"))
        .await
        .expect("key")
        .bytes()
        .await
        .expect("bytes");
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let public = rsa::RsaPublicKey::from_public_key_der(&key).expect("SubjectPublicKeyInfo");
    assert_eq!(public.size() * 8, 2048);
    let token = get(format!("{base}/import-token.bin"))
        .await
        .expect("token")
        .bytes()
        .await
        .expect("bytes");
    assert!(!token.is_empty());
    // The same token and key the page shows, and they import.
    let (_, html) = page(&c, &format!("{base}?tab=keymaterial"), &session).await;
    assert!(html.contains(&base64::engine::general_purpose::STANDARD.encode(&token)));
    let material = [7u8; 32];
    let wrapped = common::wrapping::wrap(&key, "RSAES_OAEP_SHA_256", &material);
    kms.import_key_material()
        .key_id(&external)
        .import_token(aws_sdk_kms::primitives::Blob::new(token.to_vec()))
        .encrypted_key_material(aws_sdk_kms::primitives::Blob::new(wrapped))
        .expiration_model(aws_sdk_kms::types::ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .expect("the downloaded token and wrapping key import");
}

/// Posts the sign-in form with credentials; returns the response.
async fn sign_in_with(
    c: &reqwest::Client,
    base: &str,
    akid: &str,
    secret: &str,
) -> reqwest::Response {
    let page = c
        .get(format!("{base}/console/signin"))
        .send()
        .await
        .expect("signin page");
    let pre = cookie_value(&set_cookies(&page), "hsmkms_signin").expect("signin cookie");
    let html = page.text().await.expect("html");
    assert!(html.contains("name=\"access_key_id\""), "{html}");
    assert!(html.contains("type=\"password\""), "{html}");
    let token = hidden(&html, "csrf");
    c.post(format!("{base}/console/signin"))
        .header("cookie", format!("hsmkms_signin={pre}"))
        .form(&[
            ("csrf", token.as_str()),
            ("next", "/console/"),
            ("access_key_id", akid),
            ("secret_access_key", secret),
        ])
        .send()
        .await
        .expect("sign in")
}

#[tokio::test]
async fn strict_sign_in_needs_a_principals_access_key_and_its_secret() {
    let server = Server::start_strict(crate::flows::STRICT_PRINCIPALS, &[]);
    let c = http();
    for (akid, secret) in [
        ("", ""),
        ("AKIAVIEWER0000000001", "admin-secret"),
        ("AKIANOBODY0000000001", "viewer-secret"),
    ] {
        let r = sign_in_with(&c, &server.url, akid, secret).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{akid}");
        assert!(cookie_value(&set_cookies(&r), "hsmkms_console").is_none());
        let html = r.text().await.unwrap_or_default();
        assert!(
            html.contains("The access key ID or the secret access key is not correct."),
            "{html}"
        );
    }
    let r = sign_in_with(&c, &server.url, "AKIAVIEWER0000000001", "viewer-secret").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = cookie_value(&set_cookies(&r), "hsmkms_console").expect("session");
    let (status, html) = page(
        &c,
        &format!("{}/console/us-east-1/keys", server.url),
        &session,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("arn:aws:iam::111122223333:user/viewer"),
        "{html}"
    );
    assert!(!html.contains("viewer-secret"));
    assert!(!server.log().contains("viewer-secret"));
}
