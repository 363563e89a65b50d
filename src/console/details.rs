//! The key details page: the header with key actions, and the tabs the guide names
//! (General configuration, Key policy, Cryptographic configuration, Tags, Key rotation,
//! Aliases, Public key, Key material, Regionality), each read through the service. Also the
//! key's sub-pages: the schedule-deletion confirmation, the replica form, downloads, and the
//! `state.json` the live status elements poll.

use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use super::app::{Console, Req};
use super::form::Form;
use super::html::{self, esc, s, url};
use super::key_policy::{self, SID_ADMINS, SID_USERS};
use super::key_view::{describe, KeyView};
use super::replicate;
use super::service::{call, list_all};

/// The wrapping algorithms the Key material tab offers.
pub const WRAPPING_ALGORITHMS: &[&str] = &[
    "RSAES_OAEP_SHA_256",
    "RSAES_OAEP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1",
    "RSAES_PKCS1_V1_5",
];
/// The wrapping key specs the Key material tab offers.
pub const WRAPPING_KEY_SPECS: &[&str] = &["RSA_2048", "RSA_3072", "RSA_4096"];

/// The tabs this key has, as (id, label).
pub fn tabs(k: &KeyView) -> Vec<(&'static str, &'static str)> {
    let mut t = vec![
        ("general", "General configuration"),
        ("policy", "Key policy"),
        ("crypto", "Cryptographic configuration"),
        ("tags", "Tags"),
    ];
    if k.spec() == "SYMMETRIC_DEFAULT" {
        t.push(("rotation", "Key rotation"));
    }
    t.push(("aliases", "Aliases"));
    if k.is_asymmetric() {
        t.push(("publickey", "Public key"));
    }
    if k.is_external() {
        t.push(("keymaterial", "Key material"));
    }
    if k.is_multi_region() {
        t.push(("regionality", "Regionality"));
    }
    t
}

/// `GET /console/{region}/keys/{key}?tab=…`.
pub async fn page(
    State(app): State<Console>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((region, key)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let req = match app.authed(&headers, peer, &region, &uri) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let q = Form::parse(uri.query().unwrap_or("").as_bytes());
    let k = match describe(&app, &req, &key).await {
        Ok(k) => k,
        Err(e) => {
            return app.render(
                &req,
                "Key not found",
                "/keys",
                &format!(
                    "<p><a href=\"/console/{}/keys\">Customer managed keys</a></p>{}",
                    req.region.as_str(),
                    html::error_panel("The key could not be shown.", &e)
                ),
            )
        }
    };
    let tabs = tabs(&k);
    let tab = q
        .get("tab")
        .and_then(|t| tabs.iter().find(|(id, _)| *id == t))
        .map(|(id, _)| *id)
        .unwrap_or("general");
    let aliases: Vec<String> = list_all(
        &app.kms,
        &req.caller,
        req.region,
        "ListAliases",
        json!({"KeyId": k.id}),
        "Aliases",
    )
    .await
    .unwrap_or_default()
    .iter()
    .map(|a| s(a, "AliasName").to_string())
    .collect();
    let title = aliases
        .first()
        .map(|a| a.strip_prefix("alias/").unwrap_or(a).to_string())
        .unwrap_or_else(|| k.id.clone());
    let region = req.region.as_str();
    let base = format!("/console/{region}/keys/{}", url(&k.id));
    let mut body = String::new();
    let _ = write!(
        body,
        "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/console/{region}/keys\">Customer managed keys</a> &rsaquo; <span>{}</span></nav>\
         <div class=\"title-row\"><h1 id=\"key-title\">{}</h1>{}</div>",
        esc(&k.id),
        esc(&title),
        key_actions(&req, &k, &base)
    );
    body.push_str(&general_summary(&k, &aliases));
    body.push_str("<nav class=\"tabs\" aria-label=\"Key details\"><ul>");
    for (id, label) in &tabs {
        let _ = write!(
            body,
            "<li><a href=\"{}?tab={id}\" id=\"tab-{id}\"{}>{label}</a></li>",
            esc(&base),
            if *id == tab {
                " aria-current=\"page\" class=\"current\""
            } else {
                ""
            }
        );
    }
    body.push_str("</ul></nav><section class=\"tab-body\" id=\"tab-panel\">");
    let panel = match tab {
        "policy" => policy_tab(&app, &req, &k, &base).await,
        "crypto" => crypto_tab(&k),
        "tags" => tags_tab(&app, &req, &k, &base).await,
        "rotation" => rotation_tab(&app, &req, &k, &base).await,
        "aliases" => aliases_tab(&req, &aliases, &base),
        "publickey" => public_key_tab(&app, &req, &k, &base).await,
        "keymaterial" => key_material_tab(&app, &req, &k, &base),
        "regionality" => replicate::regionality_tab(&app, &req, &k, &base).await,
        _ => general_tab(&req, &k, &base),
    };
    body.push_str(&panel);
    body.push_str("</section>");
    let page_title = format!("{title} - key details");
    // The Region selector goes to the same key in another Region (a multi-Region key's id is
    // the same everywhere), else to that Region's table.
    let region_path = if k.is_multi_region() {
        format!("/keys/{}?tab=regionality", url(&k.id))
    } else {
        "/keys".to_string()
    };
    app.render(&req, &page_title, &region_path, &body)
}

fn key_actions(req: &Req, k: &KeyView, base: &str) -> String {
    let state = s(&k.meta, "KeyState");
    let csrf = html::csrf_input(&req.session);
    let mut items = String::new();
    let form = |action: &str, label: &str, id: &str| {
        format!(
            "<li><form method=\"post\" action=\"{}/{action}\">{csrf}<button type=\"submit\" id=\"{id}\">{label}</button></form></li>",
            esc(base)
        )
    };
    match state {
        "Disabled" => items.push_str(&form("enable", "Enable", "action-enable")),
        "Enabled" => items.push_str(&form("disable", "Disable", "action-disable")),
        _ => {}
    }
    if state == "PendingDeletion" || state == "PendingReplicaDeletion" {
        items.push_str(&form(
            "cancel-deletion",
            "Cancel key deletion",
            "action-cancel-deletion",
        ));
    } else {
        let _ = write!(
            items,
            "<li><a href=\"{}/schedule-deletion\" id=\"action-schedule-deletion\">Schedule key deletion</a></li>",
            esc(base)
        );
    }
    if k.is_primary() {
        let _ = write!(
            items,
            "<li><a href=\"{}/replicate\" id=\"action-create-replicas\">Create replica keys</a></li>",
            esc(base)
        );
    }
    format!(
        "<details class=\"menu actions-menu\" id=\"key-actions\"><summary>Key actions</summary><ul class=\"menu-list\">{items}</ul></details>"
    )
}

fn live_state(req: &Req, k: &KeyView) -> String {
    let state = s(&k.meta, "KeyState");
    format!(
        "<span class=\"state state-{st}\" id=\"key-state\" data-live=\"/console/{r}/keys/{id}/state.json\" data-reload=\"1\">{label}</span>",
        st = esc(state),
        r = req.region.as_str(),
        id = url(&k.id),
        label = esc(html::state_label(state))
    )
}

fn general_summary(k: &KeyView, aliases: &[String]) -> String {
    let alias = aliases
        .first()
        .map(|a| esc(a.strip_prefix("alias/").unwrap_or(a)))
        .unwrap_or_else(|| "-".to_string());
    format!(
        "<div class=\"summary\">{}</div>",
        html::dl(&[
            ("Alias", alias),
            (
                "Status",
                format!(
                    "<span class=\"state state-{0}\">{1}</span>",
                    esc(s(&k.meta, "KeyState")),
                    esc(html::state_label(s(&k.meta, "KeyState")))
                )
            ),
            ("Regionality", html::regionality(&k.meta).to_string()),
        ])
    )
}

fn general_tab(req: &Req, k: &KeyView, base: &str) -> String {
    let m = &k.meta;
    let mut rows = vec![
        (
            "Key ID",
            format!("<span class=\"mono\" id=\"key-id\">{}</span>", esc(&k.id)),
        ),
        (
            "ARN",
            format!(
                "<span class=\"mono\" id=\"key-arn\">{}</span>",
                esc(s(m, "Arn"))
            ),
        ),
        ("Status", live_state(req, k)),
        ("Description", esc(s(m, "Description"))),
        ("Creation date", html::date(m.get("CreationDate"))),
        ("Regionality", html::regionality(m).to_string()),
    ];
    if m.get("DeletionDate").is_some() {
        rows.push(("Scheduled deletion date", html::date(m.get("DeletionDate"))));
    }
    if m.get("ValidTo").is_some() {
        rows.push(("Expiration date", html::date(m.get("ValidTo"))));
    }
    format!(
        "<h2>General configuration</h2>{}\
         <form method=\"post\" action=\"{}/description\" class=\"card\">{}\
         <p><label for=\"description\">Description</label><textarea id=\"description\" name=\"description\" rows=\"2\">{}</textarea></p>\
         <button type=\"submit\" id=\"save-description\">Save description</button></form>",
        html::dl(&rows),
        esc(base),
        html::csrf_input(&req.session),
        esc(s(m, "Description"))
    )
}

fn principal_picker(app: &Console, req: &Req, id: &str) -> String {
    let mut opts = String::from("<option value=\"\">Choose an IAM user or role…</option>");
    for p in app.signin.principals(req.region.partition().as_str()) {
        let _ = write!(opts, "<option value=\"{0}\">{0}</option>", esc(&p));
    }
    format!(
        "<label for=\"{id}-pick\">Principal</label><select id=\"{id}-pick\" name=\"pick\">{opts}</select>\
         <label for=\"{id}-arn\">or ARN</label><input id=\"{id}-arn\" name=\"arn\" placeholder=\"arn:aws:iam::111122223333:role/Name\" size=\"44\">"
    )
}

async fn policy_tab(app: &Console, req: &Req, k: &KeyView, base: &str) -> String {
    let policy = match call(
        &app.kms,
        &req.caller,
        req.region,
        "GetKeyPolicy",
        json!({"KeyId": k.id, "PolicyName": "default"}),
    )
    .await
    {
        Ok(p) => s(&p, "Policy").to_string(),
        Err(e) => return html::error_panel("The key policy could not be read.", &e),
    };
    let csrf = html::csrf_input(&req.session);
    let mut out = String::from("<h2>Key policy</h2>");
    for (role, sid, title) in [
        ("admins", SID_ADMINS, "Key administrators"),
        ("users", SID_USERS, "Key users"),
    ] {
        let list = key_policy::principals_of(&policy, sid);
        let _ = write!(
            out,
            "<section class=\"card\" aria-labelledby=\"{role}-h\"><h3 id=\"{role}-h\">{title}</h3><table id=\"{role}-table\"><thead><tr><th scope=\"col\">Principal</th><th scope=\"col\"><span class=\"sr\">Remove</span></th></tr></thead><tbody>"
        );
        if list.is_empty() {
            out.push_str("<tr><td colspan=\"2\" class=\"empty\">None</td></tr>");
        }
        for arn in &list {
            let _ = write!(
                out,
                "<tr><td class=\"mono\">{a}</td><td><form method=\"post\" action=\"{b}/principal-remove\">{csrf}<input type=\"hidden\" name=\"role\" value=\"{role}\"><input type=\"hidden\" name=\"arn\" value=\"{a}\"><button type=\"submit\" aria-label=\"Remove {a} from {title}\">Remove</button></form></td></tr>",
                a = esc(arn),
                b = esc(base)
            );
        }
        let _ = write!(
            out,
            "</tbody></table><form method=\"post\" action=\"{}/principal-add\" class=\"inline-form\">{csrf}<input type=\"hidden\" name=\"role\" value=\"{role}\">{}<button type=\"submit\" id=\"add-{role}\">Add</button></form></section>",
            esc(base),
            principal_picker(app, req, role)
        );
    }
    let _ = write!(
        out,
        "<section class=\"card\"><h3>Policy view</h3><form method=\"post\" action=\"{}/policy\">{csrf}\
         <label for=\"policy-text\">Key policy (JSON)</label><textarea id=\"policy-text\" name=\"policy\" rows=\"22\" class=\"mono\" spellcheck=\"false\">{}</textarea>\
         <p><button type=\"submit\" class=\"primary\" id=\"save-policy\">Save changes</button></p></form></section>",
        esc(base),
        esc(&policy)
    );
    out
}

fn crypto_tab(k: &KeyView) -> String {
    let m = &k.meta;
    let list = |name: &str| {
        m.get(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(esc)
                    .collect::<Vec<_>>()
                    .join("<br>")
            })
            .unwrap_or_else(|| "-".to_string())
    };
    let mut rows = vec![
        ("Key type", html::key_type(k.spec()).to_string()),
        ("Origin", esc(s(m, "Origin"))),
        ("Key spec", esc(k.spec())),
        ("Key usage", esc(html::usage_label(s(m, "KeyUsage")))),
    ];
    for (name, label) in [
        ("EncryptionAlgorithms", "Encryption algorithms"),
        ("SigningAlgorithms", "Signing algorithms"),
        ("MacAlgorithms", "MAC algorithms"),
        ("KeyAgreementAlgorithms", "Key agreement algorithms"),
    ] {
        if m.get(name).is_some() {
            rows.push((label, list(name)));
        }
    }
    if m.get("ExpirationModel").is_some() {
        rows.push(("Expiration model", esc(s(m, "ExpirationModel"))));
    }
    if m.get("CurrentKeyMaterialId").is_some() {
        rows.push((
            "Current key material ID",
            format!(
                "<span class=\"mono\">{}</span>",
                esc(s(m, "CurrentKeyMaterialId"))
            ),
        ));
    }
    format!("<h2>Cryptographic configuration</h2>{}", html::dl(&rows))
}

async fn tags_tab(app: &Console, req: &Req, k: &KeyView, base: &str) -> String {
    let tags = match list_all(
        &app.kms,
        &req.caller,
        req.region,
        "ListResourceTags",
        json!({"KeyId": k.id}),
        "Tags",
    )
    .await
    {
        Ok(t) => t,
        Err(e) => return html::error_panel("The tags could not be read.", &e),
    };
    let csrf = html::csrf_input(&req.session);
    let mut out = String::from("<h2>Tags</h2><table id=\"tags-table\"><thead><tr><th scope=\"col\">Tag key</th><th scope=\"col\">Tag value</th><th scope=\"col\"><span class=\"sr\">Remove</span></th></tr></thead><tbody>");
    if tags.is_empty() {
        out.push_str("<tr><td colspan=\"3\" class=\"empty\">No tags</td></tr>");
    }
    for t in &tags {
        let _ = write!(
            out,
            "<tr><td>{k}</td><td>{v}</td><td><form method=\"post\" action=\"{b}/tag-remove\">{csrf}<input type=\"hidden\" name=\"tag_key\" value=\"{k}\"><button type=\"submit\" aria-label=\"Remove tag {k}\">Remove</button></form></td></tr>",
            k = esc(s(t, "TagKey")),
            v = esc(s(t, "TagValue")),
            b = esc(base)
        );
    }
    let _ = write!(
        out,
        "</tbody></table><form method=\"post\" action=\"{}/tag-add\" class=\"inline-form card\">{csrf}\
         <label for=\"new-tag-key\">Tag key</label><input id=\"new-tag-key\" name=\"tag_key\" required>\
         <label for=\"new-tag-value\">Tag value</label><input id=\"new-tag-value\" name=\"tag_value\">\
         <button type=\"submit\" id=\"add-tag\">Add tag</button></form>",
        esc(base)
    );
    out
}

async fn rotation_tab(app: &Console, req: &Req, k: &KeyView, base: &str) -> String {
    let status = match call(
        &app.kms,
        &req.caller,
        req.region,
        "GetKeyRotationStatus",
        json!({"KeyId": k.id}),
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return html::error_panel("The rotation status could not be read.", &e),
    };
    let enabled = status.get("KeyRotationEnabled").and_then(Value::as_bool) == Some(true);
    let period = status
        .get("RotationPeriodInDays")
        .and_then(Value::as_u64)
        .unwrap_or(365);
    let csrf = html::csrf_input(&req.session);
    let mut out = format!(
        "<h2>Key rotation</h2>{}\
         <form method=\"post\" action=\"{b}/rotation\" class=\"card\">{csrf}\
         <p><input type=\"checkbox\" id=\"rotation-enabled\" name=\"enabled\" value=\"1\"{c}><label for=\"rotation-enabled\">Automatically rotate this KMS key</label></p>\
         <p><label for=\"rotation-period\">Rotation period (in days, 90–2560)</label><input type=\"number\" id=\"rotation-period\" name=\"period\" min=\"90\" max=\"2560\" value=\"{period}\"></p>\
         <button type=\"submit\" id=\"save-rotation\">Save</button></form>\
         <form method=\"post\" action=\"{b}/rotate-now\" class=\"card\">{csrf}<p>On-demand rotation creates new key material now.</p><button type=\"submit\" id=\"rotate-now\">Rotate now</button></form>",
        html::dl(&[
            ("Automatic rotation", if enabled { "Enabled".to_string() } else { "Disabled".to_string() }),
            ("Rotation period", if enabled { format!("{period} days") } else { "-".to_string() }),
            ("Next rotation date", html::date(status.get("NextRotationDate"))),
            ("On-demand rotation start date", html::date(status.get("OnDemandRotationStartDate"))),
        ]),
        b = esc(base),
        c = if enabled { " checked" } else { "" }
    );
    out.push_str("<h3>Rotation history</h3>");
    match list_all(
        &app.kms,
        &req.caller,
        req.region,
        "ListKeyRotations",
        json!({"KeyId": k.id}),
        "Rotations",
    )
    .await
    {
        Ok(list) => {
            out.push_str("<table id=\"rotations-table\"><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">Type</th><th scope=\"col\">Key material ID</th></tr></thead><tbody>");
            if list.is_empty() {
                out.push_str("<tr><td colspan=\"3\" class=\"empty\">No rotations yet</td></tr>");
            }
            for r in &list {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                    html::date(r.get("RotationDate")),
                    esc(s(r, "RotationType")),
                    esc(s(r, "KeyMaterialId"))
                );
            }
            out.push_str("</tbody></table>");
        }
        Err(e) => out.push_str(&html::error_panel(
            "The rotation history could not be read.",
            &e,
        )),
    }
    out
}

fn aliases_tab(req: &Req, aliases: &[String], base: &str) -> String {
    let csrf = html::csrf_input(&req.session);
    let mut out = String::from("<h2>Aliases</h2><table id=\"aliases-table\"><thead><tr><th scope=\"col\">Alias name</th><th scope=\"col\"><span class=\"sr\">Delete</span></th></tr></thead><tbody>");
    if aliases.is_empty() {
        out.push_str("<tr><td colspan=\"2\" class=\"empty\">No aliases</td></tr>");
    }
    for a in aliases {
        let _ = write!(
            out,
            "<tr><td>{a}</td><td><form method=\"post\" action=\"{b}/alias-delete\">{csrf}<input type=\"hidden\" name=\"alias\" value=\"{a}\"><button type=\"submit\" aria-label=\"Delete alias {a}\">Delete</button></form></td></tr>",
            a = esc(a),
            b = esc(base)
        );
    }
    let _ = write!(
        out,
        "</tbody></table><form method=\"post\" action=\"{}/alias-create\" class=\"inline-form card\">{csrf}\
         <label for=\"new-alias\">Alias name</label><span class=\"prefix\">alias/</span><input id=\"new-alias\" name=\"alias\" required>\
         <button type=\"submit\" id=\"create-alias\">Create alias</button></form>",
        esc(base)
    );
    out
}

/// The public key as PEM text.
pub fn pem(der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}

async fn public_key_tab(app: &Console, req: &Req, k: &KeyView, base: &str) -> String {
    let der = match call(
        &app.kms,
        &req.caller,
        req.region,
        "GetPublicKey",
        json!({"KeyId": k.id}),
    )
    .await
    {
        Ok(v) => B64.decode(s(&v, "PublicKey")).unwrap_or_default(),
        Err(e) => return html::error_panel("The public key could not be read.", &e),
    };
    format!(
        "<h2>Public key</h2><pre id=\"public-key-pem\" class=\"mono\" tabindex=\"0\">{}</pre>\
         <p><button type=\"button\" data-copy=\"public-key-pem\" id=\"copy-public-key\">Copy</button> \
         <a class=\"button\" id=\"download-pem\" href=\"{b}/public-key.pem\" download>Download PEM</a> \
         <a class=\"button\" id=\"download-der\" href=\"{b}/public-key.der\" download>Download DER</a></p>",
        esc(&pem(&der)),
        b = esc(base)
    )
}

fn key_material_tab(_app: &Console, req: &Req, k: &KeyView, base: &str) -> String {
    let csrf = html::csrf_input(&req.session);
    let state = s(&k.meta, "KeyState");
    let mut out = format!(
        "<h2>Key material</h2>{}",
        html::dl(&[
            ("Key material state", esc(html::state_label(state))),
            (
                "Expiration model",
                match s(&k.meta, "ExpirationModel") {
                    "" => "-".to_string(),
                    m => esc(m),
                }
            ),
            ("Expiration date", html::date(k.meta.get("ValidTo"))),
        ])
    );
    let opts = |list: &[&str]| {
        list.iter()
            .map(|a| format!("<option value=\"{a}\">{a}</option>"))
            .collect::<String>()
    };
    let _ = write!(
        out,
        "<section class=\"card\"><h3>Step 1: Download wrapping public key and import token</h3>\
         <form method=\"post\" action=\"{b}/import-params\">{csrf}\
         <p><label for=\"wrapping-algorithm\">Wrapping algorithm</label><select id=\"wrapping-algorithm\" name=\"algorithm\">{algs}</select></p>\
         <p><label for=\"wrapping-key-spec\">Wrapping key spec</label><select id=\"wrapping-key-spec\" name=\"spec\">{specs}</select></p>\
         <button type=\"submit\" id=\"get-import-params\">Download wrapping public key and import token</button></form>",
        b = esc(base),
        algs = opts(WRAPPING_ALGORITHMS),
        specs = opts(WRAPPING_KEY_SPECS)
    );
    if let Some(p) = req.session.import.get(&(req.region, k.id.clone())) {
        let _ = write!(
            out,
            "<div id=\"import-params\" class=\"ready\"><p>Wrapping algorithm <strong>{alg}</strong>, wrapping key spec <strong>{spec}</strong>; the import token is valid until {until}.</p>\
             <p><a class=\"button\" id=\"download-wrapping-key\" href=\"{b}/wrapping-key.bin\" download>WrappingPublicKey.bin</a> \
             <a class=\"button\" id=\"download-import-token\" href=\"{b}/import-token.bin\" download>ImportToken.bin</a></p>\
             <label for=\"wrapping-public-key\">Wrapping public key (base64 DER)</label><textarea id=\"wrapping-public-key\" readonly rows=\"4\" class=\"mono\">{pk}</textarea>\
             <label for=\"import-token\">Import token (base64)</label><textarea id=\"import-token\" readonly rows=\"4\" class=\"mono\">{tok}</textarea></div>",
            alg = esc(&p.wrapping_algorithm),
            spec = esc(&p.wrapping_key_spec),
            until = html::date(Some(&json!(p.valid_to))),
            b = esc(base),
            pk = esc(&p.public_key_b64),
            tok = esc(&p.import_token_b64)
        );
    }
    out.push_str("</section>");
    let _ = write!(
        out,
        "<section class=\"card\"><h3>Step 2: Upload encrypted key material</h3>\
         <form method=\"post\" action=\"{b}/import-material\" enctype=\"multipart/form-data\">{csrf}\
         <p><label for=\"encrypted-key-material\">Encrypted key material (file)</label><input type=\"file\" id=\"encrypted-key-material\" name=\"material\" required></p>\
         <p><label for=\"import-token-file\">Import token (file)</label><input type=\"file\" id=\"import-token-file\" name=\"token\" required></p>\
         <fieldset><legend>Expiration option</legend>\
         <p><input type=\"radio\" id=\"expires-never\" name=\"expiration\" value=\"never\" checked><label for=\"expires-never\">Key material never expires</label></p>\
         <p><input type=\"radio\" id=\"expires-on\" name=\"expiration\" value=\"expires\"><label for=\"expires-on\">Key material expires</label>\
         <label for=\"expiration-date\">Expiration date (UTC)</label><input type=\"date\" id=\"expiration-date\" name=\"valid_to\"></p></fieldset>\
         <button type=\"submit\" class=\"primary\" id=\"upload-key-material\">Upload key material</button></form></section>",
        b = esc(base)
    );
    if state != "PendingImport" {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{}/delete-material\" class=\"card\">{csrf}<p>Deleting the key material makes the key unusable until the same material is imported again.</p><button type=\"submit\" class=\"danger\" id=\"delete-key-material\">Delete key material</button></form>",
            esc(base)
        );
    }
    out
}

fn download(name: &str, ctype: &'static str, bytes: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(ctype),
    );
    if let Ok(v) = header::HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

/// `GET /console/{region}/keys/{key}/{item}`: sub-pages, downloads and `state.json`.
pub async fn subpage(
    State(app): State<Console>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((region, key, item)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let req = match app.authed(&headers, peer, &region, &uri) {
        Ok(r) => r,
        Err(r) => return r,
    };
    match item.as_str() {
        "state.json" => {
            let body = match describe(&app, &req, &key).await {
                Ok(k) => json!({
                    "KeyState": s(&k.meta, "KeyState"),
                    "label": html::state_label(s(&k.meta, "KeyState")),
                }),
                Err(e) => json!({"error": e.kind.aws_name(), "message": e.message}),
            };
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body.to_string(),
            )
                .into_response()
        }
        "public-key.pem" | "public-key.der" => {
            match call(
                &app.kms,
                &req.caller,
                req.region,
                "GetPublicKey",
                json!({"KeyId": key}),
            )
            .await
            {
                Ok(v) => {
                    let der = B64.decode(s(&v, "PublicKey")).unwrap_or_default();
                    let id = s(&v, "KeyId")
                        .rsplit('/')
                        .next()
                        .unwrap_or("key")
                        .to_string();
                    if item.ends_with(".pem") {
                        download(
                            &format!("{id}.pem"),
                            "application/x-pem-file",
                            pem(&der).into_bytes(),
                        )
                    } else {
                        download(&format!("{id}.der"), "application/pkix-cert", der)
                    }
                }
                Err(e) => super::app::html_response(
                    StatusCode::BAD_REQUEST,
                    super::app::bare_page(
                        "No public key",
                        &html::error_panel("GetPublicKey failed.", &e),
                    ),
                ),
            }
        }
        "wrapping-key.bin" | "import-token.bin" => {
            let Ok(k) = describe(&app, &req, &key).await else {
                return super::app::not_found("No such key.");
            };
            let Some(p) = req.session.import.get(&(req.region, k.id.clone())) else {
                return super::app::not_found(
                    "Download the wrapping public key and import token first.",
                );
            };
            let (name, b64) = if item == "wrapping-key.bin" {
                ("WrappingPublicKey.bin", &p.public_key_b64)
            } else {
                ("ImportToken.bin", &p.import_token_b64)
            };
            download(
                name,
                "application/octet-stream",
                B64.decode(b64).unwrap_or_default(),
            )
        }
        "schedule-deletion" => {
            let k = match describe(&app, &req, &key).await {
                Ok(k) => k,
                Err(e) => {
                    return app.render(
                        &req,
                        "Schedule key deletion",
                        "/keys",
                        &html::error_panel("The key could not be shown.", &e),
                    )
                }
            };
            let base = format!("/console/{}/keys/{}", req.region.as_str(), url(&k.id));
            let replicas = if k.is_primary() {
                "<p class=\"flash error\">This is a multi-Region primary key: it is deleted only after all of its replica keys are deleted.</p>"
            } else {
                ""
            };
            let body = format!(
                "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"{b}\">Back to the key</a></nav><h1>Schedule key deletion</h1>\
                 <form method=\"post\" action=\"{b}/schedule-deletion\" class=\"card\">{csrf}{replicas}\
                 <p>Key <span class=\"mono\">{id}</span> will be deleted after the waiting period. Data encrypted under it cannot be decrypted after that.</p>\
                 <p><label for=\"waiting-period\">Waiting period (in days, 7–30)</label><input type=\"number\" id=\"waiting-period\" name=\"days\" min=\"7\" max=\"30\" value=\"30\" required></p>\
                 <p><input type=\"checkbox\" id=\"confirm-deletion\" name=\"confirm\" value=\"1\"><label for=\"confirm-deletion\">Confirm that you want to schedule this key for deletion after the waiting period.</label></p>\
                 <p><a href=\"{b}\">Cancel</a> <button type=\"submit\" class=\"danger\" id=\"schedule-deletion\">Schedule deletion</button></p></form>",
                b = esc(&base),
                csrf = html::csrf_input(&req.session),
                id = esc(&k.id)
            );
            app.render(&req, "Schedule key deletion", "/keys", &body)
        }
        "replicate" => replicate::form_page(&app, &req, &key).await,
        _ => super::app::not_found("No such page."),
    }
}
