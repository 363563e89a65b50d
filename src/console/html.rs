//! HTML building: one escaping function ([`esc`]) used for every value that reaches a page,
//! the page frame (header with the Region selector, navigation, flash message), and the small
//! pieces pages share. Pages are plain strings; nothing is interpolated unescaped except
//! markup built here.

use std::fmt::Write as _;

use serde_json::Value;

use super::session::{Flash, Session};
use crate::domain::region::Region;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encodes a value for a URL path segment or query value.
pub fn url(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The name AWS's console shows for a Region.
pub fn region_label(region: Region) -> &'static str {
    match region.as_str() {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "ca-central-1" => "Canada (Central)",
        "ca-west-1" => "Canada West (Calgary)",
        "sa-east-1" => "South America (São Paulo)",
        "mx-central-1" => "Mexico (Central)",
        "eu-west-1" => "Europe (Ireland)",
        "eu-west-2" => "Europe (London)",
        "eu-west-3" => "Europe (Paris)",
        "eu-central-1" => "Europe (Frankfurt)",
        "eu-central-2" => "Europe (Zurich)",
        "eu-north-1" => "Europe (Stockholm)",
        "eu-south-1" => "Europe (Milan)",
        "eu-south-2" => "Europe (Spain)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        "ap-northeast-2" => "Asia Pacific (Seoul)",
        "ap-northeast-3" => "Asia Pacific (Osaka)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-southeast-2" => "Asia Pacific (Sydney)",
        "ap-southeast-3" => "Asia Pacific (Jakarta)",
        "ap-southeast-4" => "Asia Pacific (Melbourne)",
        "ap-southeast-5" => "Asia Pacific (Malaysia)",
        "ap-south-1" => "Asia Pacific (Mumbai)",
        "ap-south-2" => "Asia Pacific (Hyderabad)",
        "ap-east-1" => "Asia Pacific (Hong Kong)",
        "me-south-1" => "Middle East (Bahrain)",
        "me-central-1" => "Middle East (UAE)",
        "il-central-1" => "Israel (Tel Aviv)",
        "af-south-1" => "Africa (Cape Town)",
        "cn-north-1" => "China (Beijing)",
        "cn-northwest-1" => "China (Ningxia)",
        "us-gov-west-1" => "AWS GovCloud (US-West)",
        "us-gov-east-1" => "AWS GovCloud (US-East)",
        _ => "",
    }
}

/// What the frame around a page needs.
pub struct Frame<'a> {
    pub title: &'a str,
    pub region: Region,
    pub regions: &'a [Region],
    pub session: &'a Session,
    pub flash: Option<Flash>,
    /// The path after `/console/<region>` the Region selector keeps (e.g. `/keys`).
    pub region_path: &'a str,
}

/// A whole page: header (product name, Region selector upper right, principal, sign-out),
/// navigation, the flash message, then `body`.
pub fn page(f: Frame<'_>, body: &str) -> String {
    let mut regions = String::new();
    for r in f.regions {
        let current = *r == f.region;
        let _ = write!(
            regions,
            "<li><a href=\"/console/{r}{path}\" lang=\"en\"{cur}><span class=\"rname\">{label}</span> <span class=\"rcode\">{r}</span></a></li>",
            r = r.as_str(),
            path = esc(f.region_path),
            cur = if current { " aria-current=\"true\"" } else { "" },
            label = esc(region_label(*r)),
        );
    }
    let flash = match &f.flash {
        Some(m) => format!(
            "<div class=\"flash {}\" role=\"{}\">{}</div>",
            if m.ok { "ok" } else { "error" },
            if m.ok { "status" } else { "alert" },
            esc(&m.text)
        ),
        None => String::new(),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | Key Management Service | hsm-kms</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head><body>
<header class="top">
 <a class="brand" href="/console/{region}/keys">hsm-kms <span>Key Management Service</span></a>
 <div class="top-right">
  <details class="menu region-menu" id="region-selector">
   <summary aria-label="Region selector: {region_label} {region}">{region_label} <span class="rcode">{region}</span></summary>
   <ul class="menu-list" aria-label="Regions">{regions}</ul>
  </details>
  <span class="principal" title="Signed in as">{principal}</span>
  <form method="post" action="/console/signout" class="inline"><input type="hidden" name="csrf" value="{csrf}"><button type="submit" class="link" id="sign-out">Sign out</button></form>
 </div>
</header>
<div class="layout">
<nav class="side" aria-label="Key Management Service">
 <ul><li><a href="/console/{region}/keys" id="nav-customer-managed-keys">Customer managed keys</a></li></ul>
</nav>
<main id="main">{flash}{body}</main>
</div>
</body></html>"#,
        title = esc(f.title),
        region = f.region.as_str(),
        region_label = esc(region_label(f.region)),
        principal = esc(&f.session.principal.arn),
        csrf = esc(&f.session.csrf),
    )
}

/// The hidden CSRF input every state-changing form carries.
pub fn csrf_input(session: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&session.csrf)
    )
}

/// A JSON member as a string ("" when absent).
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// An epoch-seconds timestamp as the console shows it.
pub fn date(v: Option<&Value>) -> String {
    let Some(secs) = v.and_then(Value::as_f64) else {
        return "-".to_string();
    };
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "-".to_string())
}

/// A key state as the console words it.
pub fn state_label(state: &str) -> &str {
    match state {
        "PendingDeletion" => "Pending deletion",
        "PendingImport" => "Pending import",
        "PendingReplicaDeletion" => "Pending replica deletion",
        other => other,
    }
}

/// "Symmetric" or "Asymmetric", as the key table's Key type column says.
pub fn key_type(spec: &str) -> &'static str {
    if spec == "SYMMETRIC_DEFAULT" || spec.starts_with("HMAC_") {
        "Symmetric"
    } else {
        "Asymmetric"
    }
}

/// Single-Region, Multi-Region primary or Multi-Region replica.
pub fn regionality(meta: &Value) -> &'static str {
    if meta.get("MultiRegion").and_then(Value::as_bool) != Some(true) {
        return "Single-Region";
    }
    match meta
        .pointer("/MultiRegionConfiguration/MultiRegionKeyType")
        .and_then(Value::as_str)
    {
        Some("PRIMARY") => "Multi-Region primary",
        _ => "Multi-Region replica",
    }
}

/// A key usage as the console words it.
pub fn usage_label(usage: &str) -> &str {
    match usage {
        "ENCRYPT_DECRYPT" => "Encrypt and decrypt",
        "SIGN_VERIFY" => "Sign and verify",
        "GENERATE_VERIFY_MAC" => "Generate and verify MAC",
        "KEY_AGREEMENT" => "Key agreement",
        other => other,
    }
}

/// A definition list of label/value rows (values already HTML).
pub fn dl(rows: &[(&str, String)]) -> String {
    let mut out = String::from("<dl class=\"props\">");
    for (k, v) in rows {
        let _ = write!(out, "<div><dt>{}</dt><dd>{}</dd></div>", esc(k), v);
    }
    out.push_str("</dl>");
    out
}

/// A simple error panel for a failed read.
pub fn error_panel(title: &str, err: &crate::kms::error::KmsError) -> String {
    format!(
        "<div class=\"flash error\" role=\"alert\"><strong>{}</strong> {}: {}</div>",
        esc(title),
        esc(err.kind.aws_name()),
        esc(&err.message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            esc("<script>alert(\"x\")</script>&'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
    }

    #[test]
    fn regionality_reads_the_multi_region_configuration() {
        let single = serde_json::json!({"MultiRegion": false});
        let primary = serde_json::json!({"MultiRegion": true,
            "MultiRegionConfiguration": {"MultiRegionKeyType": "PRIMARY"}});
        let replica = serde_json::json!({"MultiRegion": true,
            "MultiRegionConfiguration": {"MultiRegionKeyType": "REPLICA"}});
        assert_eq!(regionality(&single), "Single-Region");
        assert_eq!(regionality(&primary), "Multi-Region primary");
        assert_eq!(regionality(&replica), "Multi-Region replica");
    }
}
