//! The create-key wizard, in the guide's steps: 1 Configure key (key type, key usage, key
//! spec; advanced options: key material origin KMS or External, single- or multi-Region),
//! 2 Add labels (alias, description, tags), 3 Define key administrative permissions,
//! 4 Define key usage permissions, 5 Review (the generated console key policy, editable),
//! Finish → CreateKey, then CreateAlias. Each step posts the whole wizard state (the other
//! steps' answers ride along as hidden fields), so nothing is kept on the server between
//! steps.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{json, Value};

use super::app::{Console, Req};
use super::form::Form;
use super::html::{self, esc, url};
use super::key_policy::{self, KeyShape, Usage};
use super::service::call;

/// Key usage → the key specs that allow it, per key type.
const SPECS: &[(&str, &str, &[&str])] = &[
    ("symmetric", "ENCRYPT_DECRYPT", &["SYMMETRIC_DEFAULT"]),
    (
        "symmetric",
        "GENERATE_VERIFY_MAC",
        &["HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"],
    ),
    (
        "asymmetric",
        "ENCRYPT_DECRYPT",
        &["RSA_2048", "RSA_3072", "RSA_4096"],
    ),
    (
        "asymmetric",
        "SIGN_VERIFY",
        &[
            "RSA_2048",
            "RSA_3072",
            "RSA_4096",
            "ECC_NIST_P256",
            "ECC_NIST_P384",
            "ECC_NIST_P521",
            "ECC_SECG_P256K1",
            "ECC_NIST_EDWARDS25519",
        ],
    ),
    (
        "asymmetric",
        "KEY_AGREEMENT",
        &["ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"],
    ),
];

/// The fields each step owns.
const STEP_FIELDS: &[&[&str]] = &[
    &["key_type", "key_usage", "key_spec", "origin", "regionality"],
    &["alias", "description", "tag_key", "tag_value"],
    &["admin", "other_admins", "admin_delete", "seen_admins"],
    &["user", "other_users"],
    &["policy"],
];
const STEP_TITLES: &[&str] = &[
    "Configure key",
    "Add labels",
    "Define key administrative permissions",
    "Define key usage permissions",
    "Review",
];

/// `GET /console/{region}/create`: step 1 with AWS's defaults.
pub async fn start(
    State(app): State<Console>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(region): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let req = match app.authed(&headers, peer, &region, &uri) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let form = Form::parse(
        b"key_type=symmetric&key_usage=ENCRYPT_DECRYPT&key_spec=SYMMETRIC_DEFAULT&origin=AWS_KMS&regionality=single",
    );
    render_step(&app, &req, &form, 1, None)
}

/// `POST /console/{region}/create`: `step` is the step shown, `nav` is next/back/finish.
pub async fn step(
    State(app): State<Console>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(region): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let req = match app.authed_post(&headers, peer, &region, &uri, &form) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let current: usize = form
        .get("step")
        .and_then(|s| s.parse().ok())
        .filter(|s| (1..=5).contains(s))
        .unwrap_or(1);
    match form.get("nav") {
        Some("back") => render_step(&app, &req, &form, current.saturating_sub(1).max(1), None),
        Some("finish") => finish(&app, &req, &form).await,
        _ => {
            if let Err(e) = check_step(&form, current) {
                return render_step(&app, &req, &form, current, Some(&e));
            }
            render_step(&app, &req, &form, (current + 1).min(5), None)
        }
    }
}

fn allowed_specs(key_type: &str, usage: &str) -> &'static [&'static str] {
    SPECS
        .iter()
        .find(|(t, u, _)| *t == key_type && *u == usage)
        .map(|(_, _, s)| *s)
        .unwrap_or(&[])
}

fn check_step(form: &Form, step: usize) -> Result<(), String> {
    match step {
        1 => {
            let t = form.get("key_type").unwrap_or("");
            let u = form.get("key_usage").unwrap_or("");
            let s = form.get("key_spec").unwrap_or("");
            let allowed = allowed_specs(t, u);
            if allowed.is_empty() {
                return Err(format!(
                    "A {t} key cannot have the key usage {}.",
                    html::usage_label(u)
                ));
            }
            if !allowed.contains(&s) {
                return Err(format!(
                    "The key spec {s} does not fit a {t} key for {}: choose one of {}.",
                    html::usage_label(u),
                    allowed.join(", ")
                ));
            }
            if form.get("origin") == Some("EXTERNAL")
                && s != "SYMMETRIC_DEFAULT"
                && !s.starts_with("HMAC_")
                && !s.starts_with("RSA_")
                && !s.starts_with("ECC_")
            {
                return Err(format!("Key material for {s} cannot be imported."));
            }
            Ok(())
        }
        2 => {
            let alias = form.get("alias").unwrap_or("");
            let name = alias.strip_prefix("alias/").unwrap_or(alias);
            if name.starts_with("aws/") {
                return Err(
                    "Aliases that begin with aws/ are reserved for AWS managed keys.".into(),
                );
            }
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
            {
                return Err("An alias may contain only letters, digits, slashes (/), underscores (_) and dashes (-).".into());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The ARNs picked in checkboxes `name` plus those typed in `other` (one per line).
fn principals(form: &Form, name: &str, other: &str) -> Vec<String> {
    let mut out: Vec<String> = form.all(name).iter().map(|s| s.to_string()).collect();
    for line in form.raw(other).lines() {
        let l = line.trim();
        if !l.is_empty() && !out.iter().any(|a| a == l) {
            out.push(l.to_string());
        }
    }
    out
}

fn shape(form: &Form) -> KeyShape {
    KeyShape {
        usage: Usage::of(
            form.get("key_spec").unwrap_or(""),
            form.get("key_usage").unwrap_or(""),
        ),
        multi_region: form.get("regionality") == Some("multi"),
        external: form.get("origin") == Some("EXTERNAL"),
    }
}

fn proposed_policy(app: &Console, req: &Req, form: &Form) -> String {
    let root = format!(
        "arn:{}:iam::{}:root",
        req.region.partition().as_str(),
        app.kms.account()
    );
    key_policy::console_policy(
        &root,
        shape(form),
        &principals(form, "admin", "other_admins"),
        &principals(form, "user", "other_users"),
        form.get("seen_admins").is_none() || form.get("admin_delete").is_some(),
    )
}

fn radio(name: &str, value: &str, label: &str, current: &str) -> String {
    format!(
        "<p><input type=\"radio\" name=\"{name}\" id=\"{name}-{value}\" value=\"{value}\"{c}><label for=\"{name}-{value}\">{label}</label></p>",
        c = if current == value { " checked" } else { "" }
    )
}

fn principal_boxes(app: &Console, req: &Req, form: &Form, name: &str) -> String {
    let chosen = form.all(name);
    let mut all = app.signin.principals(req.region.partition().as_str());
    for c in &chosen {
        if !all.iter().any(|a| a == c) {
            all.push(c.to_string());
        }
    }
    let mut out = String::from("<ul class=\"plain\">");
    for (i, p) in all.iter().enumerate() {
        let _ = write!(
            out,
            "<li><input type=\"checkbox\" name=\"{name}\" value=\"{p}\" id=\"{name}-{i}\"{c}><label for=\"{name}-{i}\" class=\"mono\">{p}</label></li>",
            p = esc(p),
            c = if chosen.contains(&p.as_str()) { " checked" } else { "" }
        );
    }
    out.push_str("</ul>");
    out
}

fn render_step(
    app: &Console,
    req: &Req,
    form: &Form,
    step: usize,
    error: Option<&str>,
) -> Response {
    let own = STEP_FIELDS[step - 1];
    let mut hidden = String::new();
    for (k, v) in form.pairs() {
        let carried = STEP_FIELDS
            .iter()
            .enumerate()
            .any(|(i, fields)| i != step - 1 && i != 4 && fields.contains(&k.as_str()));
        if carried && !own.contains(&k.as_str()) {
            let _ = write!(
                hidden,
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            );
        }
    }
    let mut steps = String::from("<ol class=\"steps\">");
    for (i, t) in STEP_TITLES.iter().enumerate() {
        let _ = write!(
            steps,
            "<li{}>Step {}: {}</li>",
            if i + 1 == step {
                " aria-current=\"step\" class=\"current\""
            } else {
                ""
            },
            i + 1,
            t
        );
    }
    steps.push_str("</ol>");
    let v = |n: &str| form.raw(n).to_string();
    let fields = match step {
        1 => {
            let mut specs = String::new();
            let current = v("key_spec");
            for (t, u, list) in SPECS {
                let _ = write!(specs, "<optgroup label=\"{} - {}\">", if *t == "symmetric" { "Symmetric" } else { "Asymmetric" }, html::usage_label(u));
                for s in *list {
                    let _ = write!(specs, "<option value=\"{s}\"{}>{s}</option>", if current == *s { " selected" } else { "" });
                }
                specs.push_str("</optgroup>");
            }
            format!(
                "<fieldset class=\"card\"><legend>Key type</legend>{}{}</fieldset>\
                 <fieldset class=\"card\"><legend>Key usage</legend>{}{}{}{}</fieldset>\
                 <section class=\"card\"><label for=\"key-spec\">Key spec</label><select id=\"key-spec\" name=\"key_spec\">{specs}</select></section>\
                 <details class=\"card\" open><summary>Advanced options</summary>\
                 <fieldset><legend>Key material origin</legend>{}{}</fieldset>\
                 <fieldset><legend>Regionality</legend>{}{}</fieldset></details>",
                radio("key_type", "symmetric", "Symmetric", &v("key_type")),
                radio("key_type", "asymmetric", "Asymmetric", &v("key_type")),
                radio("key_usage", "ENCRYPT_DECRYPT", "Encrypt and decrypt", &v("key_usage")),
                radio("key_usage", "SIGN_VERIFY", "Sign and verify", &v("key_usage")),
                radio("key_usage", "GENERATE_VERIFY_MAC", "Generate and verify MAC", &v("key_usage")),
                radio("key_usage", "KEY_AGREEMENT", "Key agreement", &v("key_usage")),
                radio("origin", "AWS_KMS", "KMS - recommended", &v("origin")),
                radio("origin", "EXTERNAL", "External (Import Key material)", &v("origin")),
                radio("regionality", "single", "Single-Region key", &v("regionality")),
                radio("regionality", "multi", "Multi-Region key", &v("regionality")),
            )
        }
        2 => {
            let keys = form.all("tag_key");
            let vals = form.all("tag_value");
            let mut rows = String::new();
            let n = keys.iter().filter(|k| !k.trim().is_empty()).count();
            let mut i = 0;
            for (idx, k) in keys.iter().enumerate() {
                if k.trim().is_empty() {
                    continue;
                }
                rows.push_str(&tag_row(i, k, vals.get(idx).copied().unwrap_or("")));
                i += 1;
            }
            rows.push_str(&tag_row(n, "", ""));
            format!(
                "<section class=\"card\"><label for=\"alias\">Alias</label><span class=\"prefix\">alias/</span><input id=\"alias\" name=\"alias\" value=\"{}\"></section>\
                 <section class=\"card\"><label for=\"description\">Description - optional</label><textarea id=\"description\" name=\"description\" rows=\"2\">{}</textarea></section>\
                 <section class=\"card\"><h2>Tags - optional</h2><div id=\"tag-rows\">{rows}</div><button type=\"button\" id=\"add-tag-row\" data-add-row=\"tag-rows\">Add tag</button></section>",
                esc(v("alias").trim_start_matches("alias/")),
                esc(&v("description"))
            )
        }
        3 => format!(
            "<section class=\"card\"><h2>Key administrators</h2><p class=\"hint\">IAM users and roles who can administer this key through the KMS API.</p>{}\
             <label for=\"other-admins\">Other administrators (one ARN per line)</label><textarea id=\"other-admins\" name=\"other_admins\" rows=\"2\" class=\"mono\">{}</textarea>\
             <input type=\"hidden\" name=\"seen_admins\" value=\"1\">\
             <p><input type=\"checkbox\" id=\"admin-delete\" name=\"admin_delete\" value=\"1\"{}><label for=\"admin-delete\">Allow key administrators to delete this key.</label></p></section>",
            principal_boxes(app, req, form, "admin"),
            esc(&v("other_admins")),
            if form.get("seen_admins").is_none() || form.get("admin_delete").is_some() { " checked" } else { "" }
        ),
        4 => format!(
            "<section class=\"card\"><h2>Key users</h2><p class=\"hint\">IAM users and roles who can use this key in cryptographic operations.</p>{}\
             <label for=\"other-users\">Other users or AWS accounts (one ARN per line)</label><textarea id=\"other-users\" name=\"other_users\" rows=\"2\" class=\"mono\">{}</textarea></section>",
            principal_boxes(app, req, form, "user"),
            esc(&v("other_users"))
        ),
        _ => {
            let policy = match form.get("policy") {
                Some(p) if error.is_some() => p.to_string(),
                _ => proposed_policy(app, req, form),
            };
            let tags: Vec<String> = form
                .all("tag_key")
                .iter()
                .zip(form.all("tag_value"))
                .filter(|(k, _)| !k.trim().is_empty())
                .map(|(k, v)| format!("{}={}", k.trim(), v.trim()))
                .collect();
            format!(
                "<section class=\"card\" id=\"review-summary\">{}</section>\
                 <section class=\"card\"><h2>Key policy</h2><label for=\"key-policy\">Key policy (JSON) - edit it if you like</label><textarea id=\"key-policy\" name=\"policy\" rows=\"24\" class=\"mono\" spellcheck=\"false\">{}</textarea></section>",
                html::dl(&[
                    ("Key type", esc(if v("key_type") == "asymmetric" { "Asymmetric" } else { "Symmetric" })),
                    ("Key spec", esc(&v("key_spec"))),
                    ("Key usage", esc(html::usage_label(&v("key_usage")))),
                    ("Origin", esc(&v("origin"))),
                    ("Regionality", if v("regionality") == "multi" { "Multi-Region".into() } else { "Single-Region".into() }),
                    ("Alias", esc(&v("alias"))),
                    ("Description", esc(&v("description"))),
                    ("Tags", esc(&tags.join(", "))),
                ]),
                esc(&policy)
            )
        }
    };
    let err = error
        .map(|e| {
            format!(
                "<div class=\"flash error\" role=\"alert\" id=\"form-error\">{}</div>",
                esc(e)
            )
        })
        .unwrap_or_default();
    let back = if step > 1 {
        "<button type=\"submit\" name=\"nav\" value=\"back\" id=\"wizard-previous\" formnovalidate>Previous</button> "
    } else {
        ""
    };
    let next = if step == 5 {
        "<button type=\"submit\" name=\"nav\" value=\"finish\" class=\"primary\" id=\"wizard-finish\">Finish</button>"
    } else {
        "<button type=\"submit\" name=\"nav\" value=\"next\" class=\"primary\" id=\"wizard-next\">Next</button>"
    };
    let region = req.region.as_str();
    let body = format!(
        "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/console/{region}/keys\">Customer managed keys</a> &rsaquo; <span>Create key</span></nav>\
         <div class=\"wizard\">{steps}<div><h1>{title}</h1>{err}\
         <form method=\"post\" action=\"/console/{region}/create\" id=\"create-key-form\">{csrf}<input type=\"hidden\" name=\"step\" value=\"{step}\">{hidden}{fields}\
         <p class=\"buttons\"><a href=\"/console/{region}/keys\">Cancel</a> {back}{next}</p></form></div></div>",
        title = STEP_TITLES[step - 1],
        csrf = html::csrf_input(&req.session),
    );
    app.render(req, "Create key", "/create", &body)
}

fn tag_row(i: usize, k: &str, v: &str) -> String {
    format!(
        "<div class=\"tag-row\"><label for=\"tag-key-{i}\">Tag key</label><input id=\"tag-key-{i}\" name=\"tag_key\" value=\"{}\">\
         <label for=\"tag-value-{i}\">Tag value</label><input id=\"tag-value-{i}\" name=\"tag_value\" value=\"{}\">\
         <button type=\"button\" class=\"remove-row\">Remove</button></div>",
        esc(k),
        esc(v)
    )
}

async fn finish(app: &Console, req: &Req, form: &Form) -> Response {
    for step in 1..=2 {
        if let Err(e) = check_step(form, step) {
            return render_step(app, req, form, step, Some(&e));
        }
    }
    let mut input = json!({
        "KeySpec": form.get("key_spec").unwrap_or("SYMMETRIC_DEFAULT"),
        "KeyUsage": form.get("key_usage").unwrap_or("ENCRYPT_DECRYPT"),
        "Origin": form.get("origin").unwrap_or("AWS_KMS"),
        "MultiRegion": form.get("regionality") == Some("multi"),
        "Description": form.raw("description"),
        "Policy": form.raw("policy"),
    });
    let tags: Vec<Value> = form
        .all("tag_key")
        .iter()
        .zip(form.all("tag_value"))
        .filter(|(k, _)| !k.trim().is_empty())
        .map(|(k, v)| json!({"TagKey": k.trim(), "TagValue": v.trim()}))
        .collect();
    if !tags.is_empty() {
        input["Tags"] = json!(tags);
    }
    let out = match call(&app.kms, &req.caller, req.region, "CreateKey", input).await {
        Ok(o) => o,
        Err(e) => {
            return render_step(
                app,
                req,
                form,
                5,
                Some(&format!(
                    "The key was not created. {}: {}",
                    e.kind.aws_name(),
                    e.message
                )),
            )
        }
    };
    let meta = &out["KeyMetadata"];
    let id = html::s(meta, "KeyId").to_string();
    let mut message = format!("Your KMS key was created with key ID {id}.");
    let mut ok = true;
    if let Some(alias) = form.get("alias") {
        let name = if alias.starts_with("alias/") {
            alias.to_string()
        } else {
            format!("alias/{alias}")
        };
        match call(
            &app.kms,
            &req.caller,
            req.region,
            "CreateAlias",
            json!({"AliasName": name, "TargetKeyId": id}),
        )
        .await
        {
            Ok(_) => {
                message = format!("Your KMS key was created with alias {name} and key ID {id}.")
            }
            Err(e) => {
                ok = false;
                message = format!(
                    "Your KMS key {id} was created, but the alias {name} was not: {}: {}",
                    e.kind.aws_name(),
                    e.message
                )
            }
        }
    }
    app.flash(req, ok, message);
    let tab = if form.get("origin") == Some("EXTERNAL") {
        "keymaterial"
    } else {
        "general"
    };
    super::app::see_other(&format!(
        "/console/{}/keys/{}?tab={tab}",
        req.region.as_str(),
        url(&id)
    ))
}
