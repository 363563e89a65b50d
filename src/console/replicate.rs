//! The Regionality tab and the seed's "Creating replica keys (console)" procedure, step for
//! step: Related multi-Region keys; Create new replica keys → choose Regions (only the
//! primary's partition; Regions that already hold a related key shown but not selectable;
//! chosen Regions shown with an X), alias, description and tags prefilled from the primary,
//! key administrators → review the key policy (the primary's current policy, editable) →
//! Finish: one ReplicateKey per Region, then the alias in each replica's Region, each
//! Region's outcome shown on its own with its state live (Creating → Enabled). Also Change
//! primary Region (UpdatePrimaryRegion, Updating shown until done).

use std::fmt::Write as _;

use axum::response::Response;
use serde_json::{json, Value};

use super::app::{Console, Req};
use super::form::Form;
use super::html::{self, esc, s, url};
use super::key_policy::{self, Role, SID_ADMINS};
use super::key_view::{describe, KeyView};
use super::service::{call, list_all};
use crate::domain::region::Region;

/// A related key of a multi-Region key: (Region, ARN, is primary).
fn related(meta: &Value) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    if let Some(p) = meta.pointer("/MultiRegionConfiguration/PrimaryKey") {
        out.push((s(p, "Region").to_string(), s(p, "Arn").to_string(), true));
    }
    if let Some(list) = meta
        .pointer("/MultiRegionConfiguration/ReplicaKeys")
        .and_then(Value::as_array)
    {
        for r in list {
            out.push((s(r, "Region").to_string(), s(r, "Arn").to_string(), false));
        }
    }
    out
}

fn state_span(region: &str, key_id: &str, state: &str, reload: bool) -> String {
    format!(
        "<span class=\"state state-{st}\" data-live=\"/console/{r}/keys/{id}/state.json\"{rl}>{label}</span>",
        st = esc(state),
        r = esc(region),
        id = url(key_id),
        rl = if reload { " data-reload=\"1\"" } else { "" },
        label = esc(html::state_label(state))
    )
}

/// The Regionality tab.
pub async fn regionality_tab(app: &Console, req: &Req, k: &KeyView, base: &str) -> String {
    let mut out = format!(
        "<h2>Regionality</h2>{}",
        html::dl(&[
            ("Regionality", html::regionality(&k.meta).to_string()),
            (
                "Key state in this Region",
                state_span(req.region.as_str(), &k.id, s(&k.meta, "KeyState"), true).replacen(
                    "<span ",
                    "<span id=\"key-state\" ",
                    1
                )
            ),
        ])
    );
    out.push_str("<section class=\"card\" aria-labelledby=\"related-h\"><div class=\"title-row\"><h3 id=\"related-h\">Related multi-Region keys</h3>");
    if k.is_primary() {
        let _ = write!(
            out,
            "<div class=\"actions\"><a class=\"button primary\" id=\"create-replicas\" href=\"{}/replicate\">Create new replica keys</a></div>",
            esc(base)
        );
    }
    out.push_str("</div><table id=\"related-keys\"><thead><tr><th scope=\"col\">Region</th><th scope=\"col\">Key ARN</th><th scope=\"col\">Regionality</th><th scope=\"col\">Key state</th></tr></thead><tbody>");
    for (region, arn, primary) in related(&k.meta) {
        let served = app.region(&region);
        let state = match served {
            Some(r) => call(
                &app.kms,
                &req.caller,
                r,
                "DescribeKey",
                json!({"KeyId": k.id}),
            )
            .await
            .map(|d| s(&d["KeyMetadata"], "KeyState").to_string())
            .unwrap_or_else(|e| e.kind.aws_name().to_string()),
            None => "-".to_string(),
        };
        let region_cell = match served {
            Some(_) => format!(
                "<a href=\"/console/{r}/keys/{id}?tab=regionality\">{label} <span class=\"rcode\">{r}</span></a>",
                r = esc(&region),
                id = url(&k.id),
                label = esc(served.map(html::region_label).unwrap_or(""))
            ),
            None => esc(&region),
        };
        let _ = write!(
            out,
            "<tr data-region=\"{r}\"><td>{region_cell}</td><td class=\"mono\">{a}</td><td>{role}</td><td>{st}</td></tr>",
            r = esc(&region),
            a = esc(&arn),
            role = if primary { "Primary" } else { "Replica" },
            st = state_span(&region, &k.id, &state, false)
        );
    }
    out.push_str("</tbody></table></section>");
    if k.is_primary() {
        let replicas: Vec<String> = related(&k.meta)
            .into_iter()
            .filter(|(r, _, p)| !p && app.region(r).is_some())
            .map(|(r, _, _)| r)
            .collect();
        if !replicas.is_empty() {
            let mut opts = String::new();
            for r in &replicas {
                let label = app.region(r).map(html::region_label).unwrap_or("");
                let _ = write!(
                    opts,
                    "<option value=\"{0}\">{1} ({0})</option>",
                    esc(r),
                    esc(label)
                );
            }
            let _ = write!(
                out,
                "<section class=\"card\" aria-labelledby=\"change-primary-h\"><h3 id=\"change-primary-h\">Change primary Region</h3>\
                 <p class=\"hint\">The chosen replica becomes the primary key and this key becomes a replica. Both show Updating until the change completes.</p>\
                 <form method=\"post\" action=\"{}/update-primary\" class=\"inline-form\">{}\
                 <label for=\"new-primary-region\">New primary Region</label><select id=\"new-primary-region\" name=\"region\">{opts}</select>\
                 <button type=\"submit\" id=\"change-primary\">Change primary Region</button></form></section>",
                esc(base),
                html::csrf_input(&req.session)
            );
        }
    }
    out
}

/// What the first step of the replica form collects.
#[derive(Debug, Default)]
struct ReplicaForm {
    regions: Vec<String>,
    alias: String,
    description: String,
    tags: Vec<(String, String)>,
    admins: Vec<String>,
}

impl ReplicaForm {
    fn from_form(f: &Form) -> ReplicaForm {
        let keys = f.all("tag_key");
        let values = f.all("tag_value");
        let tags = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| !k.trim().is_empty())
            .map(|(i, k)| {
                (
                    k.trim().to_string(),
                    values
                        .get(i)
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        let mut admins: Vec<String> = f.all("admin").iter().map(|s| s.to_string()).collect();
        for line in f.raw("other_admins").lines() {
            let l = line.trim();
            if !l.is_empty() && !admins.iter().any(|a| a == l) {
                admins.push(l.to_string());
            }
        }
        ReplicaForm {
            regions: f.all("region").iter().map(|s| s.to_string()).collect(),
            alias: f.raw("alias").trim().to_string(),
            description: f.raw("description").to_string(),
            tags,
            admins,
        }
    }

    fn hidden(&self) -> String {
        let mut out = String::new();
        let mut h = |n: &str, v: &str| {
            let _ = write!(
                out,
                "<input type=\"hidden\" name=\"{n}\" value=\"{}\">",
                esc(v)
            );
        };
        for r in &self.regions {
            h("region", r);
        }
        h("alias", &self.alias);
        h("description", &self.description);
        for (k, v) in &self.tags {
            h("tag_key", k);
            h("tag_value", v);
        }
        for a in &self.admins {
            h("admin", a);
        }
        out
    }
}

/// The Regions that already hold a key related to `k`.
fn taken(k: &KeyView) -> Vec<String> {
    related(&k.meta).into_iter().map(|(r, _, _)| r).collect()
}

/// The Regions the menu offers: served Regions of the primary's partition.
fn menu_regions(app: &Console, primary: Region) -> Vec<Region> {
    app.regions()
        .iter()
        .copied()
        .filter(|r| r.partition() == primary.partition())
        .collect()
}

async fn primary_of(app: &Console, req: &Req, key: &str) -> Result<(KeyView, String), Response> {
    let k = match describe(app, req, key).await {
        Ok(k) => k,
        Err(e) => {
            return Err(app.render(
                req,
                "Create replica keys",
                "/keys",
                &html::error_panel("The key could not be shown.", &e),
            ))
        }
    };
    if !k.is_primary() {
        return Err(app.render(
            req,
            "Create replica keys",
            "/keys",
            &format!(
                "<div class=\"flash error\" role=\"alert\">Only a multi-Region primary key can be replicated: {} is {}.</div>",
                esc(&k.id),
                html::regionality(&k.meta)
            ),
        ));
    }
    let policy = call(
        &app.kms,
        &req.caller,
        req.region,
        "GetKeyPolicy",
        json!({"KeyId": k.id, "PolicyName": "default"}),
    )
    .await
    .map(|p| s(&p, "Policy").to_string())
    .unwrap_or_default();
    Ok((k, policy))
}

/// `GET …/replicate`: the first step, prefilled from the primary key.
pub async fn form_page(app: &Console, req: &Req, key: &str) -> Response {
    let (k, policy) = match primary_of(app, req, key).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let aliases = list_all(
        &app.kms,
        &req.caller,
        req.region,
        "ListAliases",
        json!({"KeyId": k.id}),
        "Aliases",
    )
    .await
    .unwrap_or_default();
    let tags = list_all(
        &app.kms,
        &req.caller,
        req.region,
        "ListResourceTags",
        json!({"KeyId": k.id}),
        "Tags",
    )
    .await
    .unwrap_or_default();
    let form = ReplicaForm {
        regions: vec![],
        alias: aliases
            .first()
            .map(|a| s(a, "AliasName").trim_start_matches("alias/").to_string())
            .unwrap_or_default(),
        description: s(&k.meta, "Description").to_string(),
        tags: tags
            .iter()
            .map(|t| (s(t, "TagKey").to_string(), s(t, "TagValue").to_string()))
            .collect(),
        admins: key_policy::principals_of(&policy, SID_ADMINS),
    };
    step_one(app, req, &k, &form, None)
}

fn step_one(
    app: &Console,
    req: &Req,
    k: &KeyView,
    f: &ReplicaForm,
    error: Option<&str>,
) -> Response {
    let base = format!("/console/{}/keys/{}", req.region.as_str(), url(&k.id));
    let taken = taken(k);
    let mut menu = String::new();
    let mut chips = String::new();
    for r in menu_regions(app, req.region) {
        let name = r.as_str();
        let has = taken.iter().any(|t| t == name);
        let checked = f.regions.iter().any(|c| c == name);
        let _ = write!(
            menu,
            "<li><input type=\"checkbox\" name=\"region\" value=\"{name}\" id=\"region-{name}\" data-label=\"{label}\"{dis}{chk}><label for=\"region-{name}\">{label} <span class=\"rcode\">{name}</span>{note}</label></li>",
            label = esc(html::region_label(r)),
            dis = if has { " disabled" } else { "" },
            chk = if checked && !has { " checked" } else { "" },
            note = if has { " <em class=\"note\">(already has a related multi-Region key)</em>" } else { "" }
        );
        if checked && !has {
            let _ = write!(
                chips,
                "<li data-region=\"{name}\">{label} <span class=\"rcode\">{name}</span> <button type=\"button\" class=\"chip-x\" data-uncheck=\"region-{name}\" aria-label=\"Remove {name}\">&times;</button></li>",
                label = esc(html::region_label(r))
            );
        }
    }
    let mut tag_rows = String::new();
    let blank = (String::new(), String::new());
    for (i, (tk, tv)) in f.tags.iter().chain(std::iter::once(&blank)).enumerate() {
        let _ = write!(
            tag_rows,
            "<div class=\"tag-row\"><label for=\"tag-key-{i}\">Tag key</label><input id=\"tag-key-{i}\" name=\"tag_key\" value=\"{}\">\
             <label for=\"tag-value-{i}\">Tag value</label><input id=\"tag-value-{i}\" name=\"tag_value\" value=\"{}\">\
             <button type=\"button\" class=\"remove-row\">Remove</button></div>",
            esc(tk),
            esc(tv)
        );
    }
    let mut admin_boxes = String::new();
    let mut known = app.signin.principals(req.region.partition().as_str());
    for a in &f.admins {
        if !known.contains(a) {
            known.push(a.clone());
        }
    }
    for (i, p) in known.iter().enumerate() {
        let _ = write!(
            admin_boxes,
            "<li><input type=\"checkbox\" name=\"admin\" value=\"{p}\" id=\"admin-{i}\"{c}><label for=\"admin-{i}\" class=\"mono\">{p}</label></li>",
            p = esc(p),
            c = if f.admins.contains(p) { " checked" } else { "" }
        );
    }
    let err = error
        .map(|e| {
            format!(
                "<div class=\"flash error\" role=\"alert\" id=\"form-error\">{}</div>",
                esc(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"/console/{region}/keys\">Customer managed keys</a> &rsaquo; <a href=\"{b}?tab=regionality\">{id}</a> &rsaquo; <span>Create replica keys</span></nav>\
         <h1>Create replica keys</h1>{err}\
         <p>Primary key <span class=\"mono\">{arn}</span>. Shared properties (key spec, key usage, origin, key material) come from the primary key; the alias, description, tags and key policy below belong to each replica and are not kept in sync.</p>\
         <form method=\"post\" action=\"{b}/replicate\" id=\"replica-form\">{csrf}<input type=\"hidden\" name=\"nav\" value=\"next\">\
         <section class=\"card\"><h2 id=\"regions-h\">AWS Regions</h2>\
         <details class=\"menu region-multi\" id=\"replica-regions-menu\"><summary id=\"replica-regions-toggle\">Choose AWS Regions</summary>\
         <ul class=\"menu-list\" role=\"group\" aria-labelledby=\"regions-h\" id=\"replica-regions\">{menu}</ul></details>\
         <p class=\"hint\">Only Regions in the primary key's partition are listed. Regions that already have a related multi-Region key are shown but cannot be chosen.</p>\
         <h3>Chosen Regions</h3><ul id=\"chosen-regions\" class=\"chips\" aria-live=\"polite\">{chips}</ul></section>\
         <section class=\"card\"><h2>Alias</h2><label for=\"replica-alias\">Alias</label><span class=\"prefix\">alias/</span><input id=\"replica-alias\" name=\"alias\" value=\"{alias}\"></section>\
         <section class=\"card\"><h2>Description</h2><label for=\"replica-description\">Description - optional</label><textarea id=\"replica-description\" name=\"description\" rows=\"2\">{desc}</textarea></section>\
         <section class=\"card\"><h2>Tags</h2><div id=\"tag-rows\">{tag_rows}</div><button type=\"button\" id=\"add-tag-row\" data-add-row=\"tag-rows\">Add tag</button></section>\
         <section class=\"card\"><h2>Key administrators</h2><p class=\"hint\">IAM users and roles that can administer the replica keys through the key policy.</p><ul class=\"plain\" id=\"admin-list\">{admin_boxes}</ul>\
         <label for=\"other-admins\">Other administrators (one ARN per line)</label><textarea id=\"other-admins\" name=\"other_admins\" rows=\"2\" class=\"mono\"></textarea></section>\
         <p class=\"buttons\"><a href=\"{b}?tab=regionality\">Cancel</a> <button type=\"submit\" class=\"primary\" id=\"replica-next\">Next</button></p></form>",
        region = req.region.as_str(),
        b = esc(&base),
        id = esc(&k.id),
        arn = esc(s(&k.meta, "Arn")),
        csrf = html::csrf_input(&req.session),
        alias = esc(&f.alias),
        desc = esc(&f.description),
    );
    app.render(req, "Create replica keys", "/keys", &body)
}

/// `POST …/replicate`: `nav=next` (to the policy review), `nav=back`, `nav=finish`.
pub async fn post(app: &Console, req: &Req, key: &str, form: &Form) -> Response {
    let (k, policy) = match primary_of(app, req, key).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = ReplicaForm::from_form(form);
    let taken = taken(&k);
    let menu: Vec<String> = menu_regions(app, req.region)
        .iter()
        .map(|r| r.as_str().to_string())
        .collect();
    if let Some(bad) = f
        .regions
        .iter()
        .find(|r| !menu.contains(r) || taken.contains(r))
    {
        return step_one(
            app,
            req,
            &k,
            &f,
            Some(&format!("{bad} cannot be chosen: it is not in the primary key's partition or already has a related multi-Region key.")),
        );
    }
    match form.get("nav") {
        Some("back") => step_one(app, req, &k, &f, None),
        Some("finish") => finish(app, req, &k, &f, form.raw("policy")).await,
        _ => {
            if f.regions.is_empty() {
                return step_one(app, req, &k, &f, Some("Choose at least one AWS Region."));
            }
            let current_admins = key_policy::principals_of(&policy, SID_ADMINS);
            let proposed = if f.admins == current_admins {
                policy.clone()
            } else {
                key_policy::with_principals(&policy, Role::Administrators, &f.admins, k.shape())
                    .unwrap_or_else(|_| policy.clone())
            };
            review(app, req, &k, &f, &proposed)
        }
    }
}

fn review(app: &Console, req: &Req, k: &KeyView, f: &ReplicaForm, policy: &str) -> Response {
    let base = format!("/console/{}/keys/{}", req.region.as_str(), url(&k.id));
    let tags = if f.tags.is_empty() {
        "-".to_string()
    } else {
        f.tags
            .iter()
            .map(|(k, v)| format!("{}={}", esc(k), esc(v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let summary = html::dl(&[
        ("Regions", esc(&f.regions.join(", "))),
        (
            "Alias",
            if f.alias.is_empty() {
                "-".to_string()
            } else {
                esc(&f.alias)
            },
        ),
        ("Description", esc(&f.description)),
        ("Tags", tags),
        ("Key administrators", esc(&f.admins.join(", "))),
    ]);
    let body = format!(
        "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"{b}?tab=regionality\">{id}</a> &rsaquo; <span>Review</span></nav>\
         <h1>Review key policy</h1><section class=\"card\" id=\"replica-summary\">{summary}</section>\
         <form method=\"post\" action=\"{b}/replicate\">{csrf}{hidden}\
         <section class=\"card\"><h2>Key policy</h2><p class=\"hint\">This is the primary key's current policy with the key administrators you chose. Edit it as you like: each replica gets its own copy.</p>\
         <label for=\"replica-policy\">Key policy (JSON)</label><textarea id=\"replica-policy\" name=\"policy\" rows=\"22\" class=\"mono\" spellcheck=\"false\">{policy}</textarea></section>\
         <p class=\"buttons\"><button type=\"submit\" name=\"nav\" value=\"back\" id=\"replica-previous\">Previous</button> <button type=\"submit\" name=\"nav\" value=\"finish\" class=\"primary\" id=\"replica-finish\">Finish</button></p></form>",
        b = esc(&base),
        id = esc(&k.id),
        csrf = html::csrf_input(&req.session),
        hidden = f.hidden(),
        policy = esc(policy)
    );
    app.render(req, "Create replica keys - review", "/keys", &body)
}

async fn finish(app: &Console, req: &Req, k: &KeyView, f: &ReplicaForm, policy: &str) -> Response {
    if f.regions.is_empty() {
        return step_one(app, req, k, f, Some("Choose at least one AWS Region."));
    }
    let tags: Vec<Value> = f
        .tags
        .iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    let alias = match f.alias.as_str() {
        "" => None,
        a if a.starts_with("alias/") => Some(a.to_string()),
        a => Some(format!("alias/{a}")),
    };
    let mut rows = String::new();
    for region in &f.regions {
        let mut input = json!({
            "KeyId": k.id,
            "ReplicaRegion": region,
            "Description": f.description,
        });
        if !tags.is_empty() {
            input["Tags"] = json!(tags);
        }
        if !policy.trim().is_empty() {
            input["Policy"] = json!(policy);
        }
        let label = app.region(region).map(html::region_label).unwrap_or("");
        let outcome = call(&app.kms, &req.caller, req.region, "ReplicateKey", input).await;
        let (state, arn, message, ok) = match outcome {
            Err(e) => (
                "Failed".to_string(),
                String::new(),
                format!("{}: {}", e.kind.aws_name(), e.message),
                false,
            ),
            Ok(out) => {
                let meta = &out["ReplicaKeyMetadata"];
                let arn = s(meta, "Arn").to_string();
                let state = s(meta, "KeyState").to_string();
                let mut msg = "Replica key created.".to_string();
                let mut ok = true;
                if let (Some(alias), Some(r)) = (&alias, app.region(region)) {
                    match call(
                        &app.kms,
                        &req.caller,
                        r,
                        "CreateAlias",
                        json!({"AliasName": alias, "TargetKeyId": k.id}),
                    )
                    .await
                    {
                        Ok(_) => msg = format!("Replica key created with alias {alias}."),
                        Err(e) => {
                            ok = false;
                            msg = format!(
                                "Replica key created, but the alias {alias} was not: {}: {}",
                                e.kind.aws_name(),
                                e.message
                            )
                        }
                    }
                }
                (state, arn, msg, ok)
            }
        };
        let state_cell = if arn.is_empty() {
            "<span class=\"state state-Failed\">Failed</span>".to_string()
        } else {
            state_span(region, &k.id, &state, false)
        };
        let link = if arn.is_empty() {
            "-".to_string()
        } else {
            format!(
                "<a href=\"/console/{r}/keys/{id}?tab=regionality\" class=\"mono\">{a}</a>",
                r = esc(region),
                id = url(&k.id),
                a = esc(&arn)
            )
        };
        let _ = write!(
            rows,
            "<tr data-region=\"{r}\" class=\"{cls}\"><td>{label} <span class=\"rcode\">{r}</span></td><td>{state_cell}</td><td>{link}</td><td{role}>{msg}</td></tr>",
            r = esc(region),
            cls = if ok { "ok" } else { "failed" },
            label = esc(label),
            role = if ok { "" } else { " role=\"alert\"" },
            msg = esc(&message)
        );
    }
    let base = format!("/console/{}/keys/{}", req.region.as_str(), url(&k.id));
    let body = format!(
        "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><a href=\"{b}?tab=regionality\">{id}</a> &rsaquo; <span>Replica keys</span></nav>\
         <h1>Creating replica keys</h1><p>Each replica starts in the Creating state and becomes usable when its key material is in place; this page updates by itself.</p>\
         <table id=\"replica-results\"><thead><tr><th scope=\"col\">Region</th><th scope=\"col\">Key state</th><th scope=\"col\">Key ARN</th><th scope=\"col\">Result</th></tr></thead><tbody>{rows}</tbody></table>\
         <p><a class=\"button\" href=\"{b}?tab=regionality\" id=\"back-to-regionality\">Back to the Regionality tab</a></p>",
        b = esc(&base),
        id = esc(&k.id)
    );
    app.render(req, "Creating replica keys", "/keys", &body)
}
