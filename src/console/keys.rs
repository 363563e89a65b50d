//! The customer managed keys table: the columns the guide lists (chosen with the
//! preferences gear), sorting by alias, key id and key type, a text filter and a tag filter,
//! page size and paging. Everything is read through ListKeys, DescribeKey, ListAliases and
//! ListResourceTags.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{json, Value};

use super::app::{Console, COLUMNS};
use super::form::Form;
use super::html::{self, esc, s, url};
use super::service::{call, list_all};

/// Page sizes the preferences offer.
pub const PAGE_SIZES: &[usize] = &[10, 25, 50, 100];

/// One row of the table.
struct Row {
    meta: Value,
    aliases: Vec<String>,
    tags: Vec<(String, String)>,
}

impl Row {
    fn first_alias(&self) -> &str {
        self.aliases.first().map(String::as_str).unwrap_or("")
    }
    fn key_type(&self) -> &'static str {
        html::key_type(s(&self.meta, "KeySpec"))
    }
}

/// `GET /console/{region}/keys`.
pub async fn list(
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
    let q = Form::parse(uri.query().unwrap_or("").as_bytes());
    let text = q.get("q").unwrap_or("").to_string();
    let tag = q.get("tag").unwrap_or("").to_string();
    let sort = q
        .get("sort")
        .filter(|c| ["alias", "keyid", "keytype"].contains(c))
        .unwrap_or("alias");
    let desc = q.get("dir") == Some("desc");
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);

    let (keys, aliases) = match (
        list_all(
            &app.kms,
            &req.caller,
            req.region,
            "ListKeys",
            json!({}),
            "Keys",
        )
        .await,
        list_all(
            &app.kms,
            &req.caller,
            req.region,
            "ListAliases",
            json!({}),
            "Aliases",
        )
        .await,
    ) {
        (Ok(k), Ok(a)) => (k, a),
        (Err(e), _) | (_, Err(e)) => {
            return app.render(
                &req,
                "Customer managed keys",
                "/keys",
                &html::error_panel("The keys could not be listed.", &e),
            )
        }
    };
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in &aliases {
        if let Some(k) = a.get("TargetKeyId").and_then(Value::as_str) {
            by_key
                .entry(k.to_string())
                .or_default()
                .push(s(a, "AliasName").to_string());
        }
    }
    let mut rows = Vec::new();
    for k in &keys {
        let id = s(k, "KeyId");
        let Ok(d) = call(
            &app.kms,
            &req.caller,
            req.region,
            "DescribeKey",
            json!({"KeyId": id}),
        )
        .await
        else {
            continue;
        };
        let meta = d.get("KeyMetadata").cloned().unwrap_or(Value::Null);
        if s(&meta, "KeyManager") != "CUSTOMER" {
            continue;
        }
        let tags = if tag.is_empty() {
            vec![]
        } else {
            list_all(
                &app.kms,
                &req.caller,
                req.region,
                "ListResourceTags",
                json!({"KeyId": id}),
                "Tags",
            )
            .await
            .unwrap_or_default()
            .iter()
            .map(|t| (s(t, "TagKey").to_string(), s(t, "TagValue").to_string()))
            .collect()
        };
        let mut aliases = by_key.remove(id).unwrap_or_default();
        aliases.sort();
        rows.push(Row {
            meta,
            aliases,
            tags,
        });
    }
    rows.retain(|r| matches_text(r, &text) && matches_tag(r, &tag));
    rows.sort_by(|a, b| {
        let ord = match sort {
            "keyid" => s(&a.meta, "KeyId").cmp(s(&b.meta, "KeyId")),
            "keytype" => a
                .key_type()
                .cmp(b.key_type())
                .then_with(|| s(&a.meta, "KeyId").cmp(s(&b.meta, "KeyId"))),
            // Keys without an alias sort after those with one, as in AWS's console.
            _ => (a.aliases.is_empty(), a.first_alias())
                .cmp(&(b.aliases.is_empty(), b.first_alias()))
                .then_with(|| s(&a.meta, "KeyId").cmp(s(&b.meta, "KeyId"))),
        };
        if desc {
            ord.reverse()
        } else {
            ord
        }
    });

    let size = req.session.prefs.page_size.max(1);
    let pages = rows.len().div_ceil(size).max(1);
    let page = page.min(pages);
    let shown = &rows[(page - 1) * size..(page * size).min(rows.len())];
    let cols: Vec<&(&str, &str)> = COLUMNS
        .iter()
        .filter(|(id, _)| req.session.prefs.columns.iter().any(|c| c == id))
        .collect();

    let region = req.region.as_str();
    let link = |sort: &str, dir: &str, page: usize| {
        format!(
            "/console/{region}/keys?q={}&tag={}&sort={sort}&dir={dir}&page={page}",
            url(&text),
            url(&tag)
        )
    };
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class=\"title-row\"><h1>Customer managed keys <span class=\"count\">({n})</span></h1>\
         <div class=\"actions\"><a class=\"button primary\" id=\"create-key\" href=\"/console/{region}/create\">Create key</a></div></div>",
        n = rows.len()
    );
    // Filters and the preferences gear.
    let _ = write!(
        body,
        "<div class=\"toolbar\"><form method=\"get\" action=\"/console/{region}/keys\" class=\"filters\" role=\"search\">\
         <label for=\"filter-text\">Filter keys</label><input id=\"filter-text\" name=\"q\" value=\"{q}\" placeholder=\"alias, key id, status, spec…\">\
         <label for=\"filter-tag\">Tag</label><input id=\"filter-tag\" name=\"tag\" value=\"{t}\" placeholder=\"key or key=value\">\
         <input type=\"hidden\" name=\"sort\" value=\"{sort}\"><input type=\"hidden\" name=\"dir\" value=\"{dir}\">\
         <button type=\"submit\" id=\"apply-filter\">Filter</button> <a href=\"/console/{region}/keys\">Clear</a></form>",
        q = esc(&text),
        t = esc(&tag),
        dir = if desc { "desc" } else { "asc" }
    );
    let mut checks = String::new();
    for (id, label) in COLUMNS {
        let on = req.session.prefs.columns.iter().any(|c| c == id);
        let _ = write!(
            checks,
            "<li><input type=\"checkbox\" id=\"col-{id}\" name=\"col\" value=\"{id}\"{c}><label for=\"col-{id}\">{label}</label></li>",
            c = if on { " checked" } else { "" }
        );
    }
    let mut sizes = String::new();
    for n in PAGE_SIZES {
        let _ = write!(
            sizes,
            "<option value=\"{n}\"{}>{n} keys</option>",
            if *n == size { " selected" } else { "" }
        );
    }
    let _ = write!(
        body,
        "<details class=\"menu prefs\" id=\"preferences\"><summary aria-label=\"Preferences\" title=\"Preferences\">&#9881;</summary>\
         <form method=\"post\" action=\"/console/{region}/preferences\" class=\"menu-panel\">{csrf}\
         <fieldset><legend>Page size</legend><label for=\"page-size\">Keys per page</label><select id=\"page-size\" name=\"page_size\">{sizes}</select></fieldset>\
         <fieldset><legend>Columns</legend><ul class=\"plain\">{checks}</ul></fieldset>\
         <button type=\"submit\" class=\"primary\" id=\"save-preferences\">Confirm</button></form></details></div>",
        csrf = html::csrf_input(&req.session)
    );

    // The table.
    body.push_str("<table class=\"keys\" id=\"keys-table\"><thead><tr>");
    for (id, label) in &cols {
        let sortable = matches!(*id, "aliases" | "keyid" | "keytype");
        let key = match *id {
            "aliases" => "alias",
            other => other,
        };
        if sortable {
            let active = sort == key;
            let next_dir = if active && !desc { "desc" } else { "asc" };
            let aria = match (active, desc) {
                (true, false) => " aria-sort=\"ascending\"",
                (true, true) => " aria-sort=\"descending\"",
                _ => "",
            };
            let _ = write!(
                body,
                "<th scope=\"col\"{aria}><a href=\"{}\" id=\"sort-{key}\">{label}{}</a></th>",
                esc(&link(key, next_dir, 1)),
                if active {
                    if desc {
                        " &#9660;"
                    } else {
                        " &#9650;"
                    }
                } else {
                    ""
                }
            );
        } else {
            let _ = write!(body, "<th scope=\"col\">{label}</th>");
        }
    }
    body.push_str("</tr></thead><tbody>");
    if shown.is_empty() {
        let _ = write!(
            body,
            "<tr><td colspan=\"{}\" class=\"empty\">No keys{}</td></tr>",
            cols.len().max(1),
            if text.is_empty() && tag.is_empty() {
                " in this Region"
            } else {
                " match the filter"
            }
        );
    }
    for r in shown {
        let id = s(&r.meta, "KeyId");
        let href = format!("/console/{region}/keys/{}", url(id));
        let _ = write!(body, "<tr data-key-id=\"{}\">", esc(id));
        for (col, _) in &cols {
            let cell = match *col {
                "aliases" => match r.aliases.split_first() {
                    None => "-".to_string(),
                    Some((first, rest)) => {
                        let name = first.strip_prefix("alias/").unwrap_or(first);
                        let more = if rest.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " <span class=\"more\" title=\"{}\">+{} more</span>",
                                esc(&rest.join(", ")),
                                rest.len()
                            )
                        };
                        format!("<a href=\"{}\">{}</a>{more}", esc(&href), esc(name))
                    }
                },
                "keyid" => format!("<a href=\"{}\" class=\"mono\">{}</a>", esc(&href), esc(id)),
                "status" => format!(
                    "<span class=\"state state-{}\">{}</span>",
                    esc(s(&r.meta, "KeyState")),
                    esc(html::state_label(s(&r.meta, "KeyState")))
                ),
                "keytype" => r.key_type().to_string(),
                "keyspec" => esc(s(&r.meta, "KeySpec")),
                "keyusage" => esc(html::usage_label(s(&r.meta, "KeyUsage"))),
                "origin" => esc(s(&r.meta, "Origin")),
                "created" => html::date(r.meta.get("CreationDate")),
                "expires" => html::date(r.meta.get("ValidTo")),
                "regionality" => html::regionality(&r.meta).to_string(),
                _ => String::new(),
            };
            let _ = write!(body, "<td data-col=\"{col}\">{cell}</td>");
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table>");
    let _ = write!(
        body,
        "<nav class=\"pager\" aria-label=\"Pages\"><span id=\"page-status\">Page {page} of {pages}</span>"
    );
    let dir = if desc { "desc" } else { "asc" };
    if page > 1 {
        let _ = write!(
            body,
            " <a href=\"{}\" id=\"page-prev\" rel=\"prev\">Previous page</a>",
            esc(&link(sort, dir, page - 1))
        );
    }
    if page < pages {
        let _ = write!(
            body,
            " <a href=\"{}\" id=\"page-next\" rel=\"next\">Next page</a>",
            esc(&link(sort, dir, page + 1))
        );
    }
    body.push_str("</nav>");
    app.render(&req, "Customer managed keys", "/keys", &body)
}

fn matches_text(r: &Row, text: &str) -> bool {
    if text.is_empty() {
        return true;
    }
    let needle = text.to_lowercase();
    let m = &r.meta;
    let fields = [
        s(m, "KeyId"),
        s(m, "Arn"),
        s(m, "KeyState"),
        html::state_label(s(m, "KeyState")),
        s(m, "KeySpec"),
        s(m, "KeyUsage"),
        s(m, "Origin"),
        s(m, "Description"),
        html::regionality(m),
        html::key_type(s(m, "KeySpec")),
    ];
    fields.iter().any(|f| f.to_lowercase().contains(&needle))
        || r.aliases.iter().any(|a| a.to_lowercase().contains(&needle))
}

fn matches_tag(r: &Row, tag: &str) -> bool {
    if tag.is_empty() {
        return true;
    }
    match tag.split_once('=') {
        Some((k, v)) => r
            .tags
            .iter()
            .any(|(tk, tv)| tk == k.trim() && tv == v.trim()),
        None => r.tags.iter().any(|(tk, _)| tk == tag),
    }
}

/// `POST /console/{region}/preferences`: columns and page size from the gear.
pub async fn save_preferences(
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
    let columns: Vec<String> = COLUMNS
        .iter()
        .filter(|(id, _)| form.all("col").contains(id))
        .map(|(id, _)| id.to_string())
        .collect();
    let size = form
        .get("page_size")
        .and_then(|v| v.parse().ok())
        .filter(|n| PAGE_SIZES.contains(n));
    app.sessions.update(&req.token, |s| {
        if !columns.is_empty() {
            s.prefs.columns = columns;
        }
        if let Some(n) = size {
            s.prefs.page_size = n;
        }
    });
    super::app::see_other(&format!("/console/{}/keys", req.region.as_str()))
}
