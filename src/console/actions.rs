//! Every state-changing form on a key (`POST /console/{region}/keys/{key}/{action}`): each
//! checks the session and CSRF token, runs one or two KMS operations through the service,
//! and redirects back with a one-shot message (post/redirect/get). The replica form's steps
//! are rendered directly by [`super::replicate::post`].

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, Path, Request, State};
use axum::http::{header, Uri};
use axum::response::Response;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use super::app::{Console, Req};
use super::details::{WRAPPING_ALGORITHMS, WRAPPING_KEY_SPECS};
use super::form::{self, Form};
use super::html::{s, url};
use super::key_policy::{self, Role};
use super::key_view::describe;
use super::replicate;
use super::service::call;
use super::session::ImportParams;
use crate::kms::error::KmsError;

/// The largest urlencoded form accepted (a key policy is at most 32 KB).
const MAX_FORM: usize = 256 * 1024;

/// `POST /console/{region}/keys/{key}/{action}`.
pub async fn post(
    State(app): State<Console>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((region, key, action)): Path<(String, String, String)>,
    uri: Uri,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (form, uploads) = if multipart {
        let mp = match axum::extract::Multipart::from_request(request, &()).await {
            Ok(m) => m,
            Err(e) => return super::app::forbidden(&format!("The upload could not be read: {e}")),
        };
        match form::multipart(mp).await {
            Ok(x) => x,
            Err(e) => return super::app::forbidden(&e),
        }
    } else {
        match axum::body::to_bytes(request.into_body(), MAX_FORM).await {
            Ok(b) => (Form::parse(&b), vec![]),
            Err(_) => return super::app::forbidden("The form is too large."),
        }
    };
    let req = match app.authed_post(&headers, peer, &region, &uri, &form) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if action == "replicate" {
        return replicate::post(&app, &req, &key, &form).await;
    }
    let base = format!("/console/{}/keys/{}", req.region.as_str(), url(&key));
    let run = |op: &'static str, input: Value| {
        let app = app.clone();
        let caller = req.caller.clone();
        let region = req.region;
        async move { call(&app.kms, &caller, region, op, input).await }
    };
    let back = |tab: &str| super::app::see_other(&format!("{base}?tab={tab}"));
    let done = |result: Result<Value, KmsError>, ok_text: String, tab: &str| {
        match result {
            Ok(_) => app.flash(&req, true, ok_text),
            Err(e) => app.flash(&req, false, format!("{}: {}", e.kind.aws_name(), e.message)),
        }
        back(tab)
    };
    match action.as_str() {
        "enable" => {
            let r = run("EnableKey", json!({"KeyId": key})).await;
            done(r, "The key is enabled.".into(), "general")
        }
        "disable" => {
            let r = run("DisableKey", json!({"KeyId": key})).await;
            done(r, "The key is disabled.".into(), "general")
        }
        "schedule-deletion" => {
            if form.get("confirm").is_none() {
                app.flash(
                    &req,
                    false,
                    "Confirm that you want to schedule this key for deletion: tick the confirmation box.",
                );
                return super::app::see_other(&format!("{base}/schedule-deletion"));
            }
            let days = match form.get("days").and_then(|d| d.parse::<u32>().ok()) {
                Some(d) if (7..=30).contains(&d) => d,
                _ => {
                    app.flash(
                        &req,
                        false,
                        "The waiting period must be a whole number of days from 7 to 30.",
                    );
                    return super::app::see_other(&format!("{base}/schedule-deletion"));
                }
            };
            let r = run(
                "ScheduleKeyDeletion",
                json!({"KeyId": key, "PendingWindowInDays": days}),
            )
            .await;
            done(
                r,
                format!("The key is scheduled for deletion after {days} days."),
                "general",
            )
        }
        "cancel-deletion" => {
            let r = run("CancelKeyDeletion", json!({"KeyId": key})).await;
            done(
                r,
                "Key deletion is cancelled. The key is disabled: enable it to use it again.".into(),
                "general",
            )
        }
        "description" => {
            let r = run(
                "UpdateKeyDescription",
                json!({"KeyId": key, "Description": form.raw("description")}),
            )
            .await;
            done(r, "The description is saved.".into(), "general")
        }
        "policy" => {
            let r = run(
                "PutKeyPolicy",
                json!({"KeyId": key, "PolicyName": "default", "Policy": form.raw("policy")}),
            )
            .await;
            done(r, "The key policy is saved.".into(), "policy")
        }
        "principal-add" | "principal-remove" => {
            let role = if form.get("role") == Some("users") {
                Role::Users
            } else {
                Role::Administrators
            };
            let arn = form
                .get("arn")
                .or_else(|| form.get("pick"))
                .unwrap_or("")
                .to_string();
            if arn.is_empty() {
                app.flash(&req, false, "Choose a principal or type its ARN.");
                return back("policy");
            }
            let k = match describe(&app, &req, &key).await {
                Ok(k) => k,
                Err(e) => return done(Err(e), String::new(), "policy"),
            };
            let policy = match run(
                "GetKeyPolicy",
                json!({"KeyId": key, "PolicyName": "default"}),
            )
            .await
            {
                Ok(p) => s(&p, "Policy").to_string(),
                Err(e) => return done(Err(e), String::new(), "policy"),
            };
            let sid = match role {
                Role::Administrators => key_policy::SID_ADMINS,
                Role::Users => key_policy::SID_USERS,
            };
            let mut list = key_policy::principals_of(&policy, sid);
            if action == "principal-add" {
                if !list.contains(&arn) {
                    list.push(arn.clone());
                }
            } else {
                list.retain(|a| *a != arn);
            }
            let new_policy = match key_policy::with_principals(&policy, role, &list, k.shape()) {
                Ok(p) => p,
                Err(e) => {
                    app.flash(&req, false, e);
                    return back("policy");
                }
            };
            let r = run(
                "PutKeyPolicy",
                json!({"KeyId": key, "PolicyName": "default", "Policy": new_policy}),
            )
            .await;
            let who = if role == Role::Users {
                "key users"
            } else {
                "key administrators"
            };
            let verb = if action == "principal-add" {
                "added to"
            } else {
                "removed from"
            };
            done(r, format!("{arn} is {verb} the {who}."), "policy")
        }
        "tag-add" => {
            let r = run(
                "TagResource",
                json!({"KeyId": key, "Tags": [{"TagKey": form.raw("tag_key").trim(), "TagValue": form.raw("tag_value").trim()}]}),
            )
            .await;
            done(r, "The tag is saved.".into(), "tags")
        }
        "tag-remove" => {
            let r = run(
                "UntagResource",
                json!({"KeyId": key, "TagKeys": [form.raw("tag_key")]}),
            )
            .await;
            done(r, "The tag is removed.".into(), "tags")
        }
        "rotation" => {
            let r = if form.get("enabled").is_some() {
                let period = form
                    .get("period")
                    .and_then(|p| p.parse::<u32>().ok())
                    .unwrap_or(365);
                run(
                    "EnableKeyRotation",
                    json!({"KeyId": key, "RotationPeriodInDays": period}),
                )
                .await
            } else {
                run("DisableKeyRotation", json!({"KeyId": key})).await
            };
            done(r, "The rotation settings are saved.".into(), "rotation")
        }
        "rotate-now" => {
            let r = run("RotateKeyOnDemand", json!({"KeyId": key})).await;
            done(r, "On-demand rotation has started.".into(), "rotation")
        }
        "alias-create" => {
            let raw = form.raw("alias").trim();
            let name = if raw.starts_with("alias/") {
                raw.to_string()
            } else {
                format!("alias/{raw}")
            };
            let r = run(
                "CreateAlias",
                json!({"AliasName": name, "TargetKeyId": key}),
            )
            .await;
            done(r, format!("The alias {name} is created."), "aliases")
        }
        "alias-delete" => {
            let name = form.raw("alias").to_string();
            let r = run("DeleteAlias", json!({"AliasName": name})).await;
            done(r, format!("The alias {name} is deleted."), "aliases")
        }
        "import-params" => import_params(&app, &req, &key, &form, &base).await,
        "import-material" => {
            let file = |n: &str| uploads.iter().find(|u| u.name == n).map(|u| &u.bytes);
            let (Some(material), Some(token)) = (file("material"), file("token")) else {
                app.flash(
                    &req,
                    false,
                    "Choose both files: the encrypted key material and the import token.",
                );
                return back("keymaterial");
            };
            if material.is_empty() || token.is_empty() {
                app.flash(
                    &req,
                    false,
                    "The encrypted key material and the import token files must not be empty.",
                );
                return back("keymaterial");
            }
            let mut input = json!({
                "KeyId": key,
                "EncryptedKeyMaterial": B64.encode(material.as_slice()),
                "ImportToken": B64.encode(token.as_slice()),
            });
            if form.get("expiration") == Some("expires") {
                let date = form.get("valid_to").unwrap_or("");
                let Some(epoch) = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc().timestamp())
                else {
                    app.flash(
                        &req,
                        false,
                        "Give the expiration date as a calendar date (YYYY-MM-DD).",
                    );
                    return back("keymaterial");
                };
                input["ExpirationModel"] = json!("KEY_MATERIAL_EXPIRES");
                input["ValidTo"] = json!(epoch);
            } else {
                input["ExpirationModel"] = json!("KEY_MATERIAL_DOES_NOT_EXPIRE");
            }
            let r = run("ImportKeyMaterial", input).await;
            if r.is_ok() {
                if let Ok(k) = describe(&app, &req, &key).await {
                    app.sessions.update(&req.token, |s| {
                        s.import.remove(&(req.region, k.id.clone()));
                    });
                }
            }
            done(r, "The key material is imported.".into(), "keymaterial")
        }
        "delete-material" => {
            let r = run("DeleteImportedKeyMaterial", json!({"KeyId": key})).await;
            done(r, "The key material is deleted.".into(), "keymaterial")
        }
        "update-primary" => {
            let target = form.raw("region").to_string();
            let r = run(
                "UpdatePrimaryRegion",
                json!({"KeyId": key, "PrimaryRegion": target}),
            )
            .await;
            done(
                r,
                format!("The primary Region is changing to {target}. Both keys show Updating until the change completes."),
                "regionality",
            )
        }
        _ => super::app::not_found("No such action."),
    }
}

async fn import_params(app: &Console, req: &Req, key: &str, form: &Form, base: &str) -> Response {
    let alg = form.raw("algorithm");
    let spec = form.raw("spec");
    if !WRAPPING_ALGORITHMS.contains(&alg) || !WRAPPING_KEY_SPECS.contains(&spec) {
        app.flash(
            req,
            false,
            "Choose a wrapping algorithm and a wrapping key spec from the lists.",
        );
        return super::app::see_other(&format!("{base}?tab=keymaterial"));
    }
    let out = call(
        &app.kms,
        &req.caller,
        req.region,
        "GetParametersForImport",
        json!({"KeyId": key, "WrappingAlgorithm": alg, "WrappingKeySpec": spec}),
    )
    .await;
    match out {
        Ok(v) => {
            let id = s(&v, "KeyId").rsplit('/').next().unwrap_or("").to_string();
            let params = ImportParams {
                wrapping_algorithm: alg.to_string(),
                wrapping_key_spec: spec.to_string(),
                public_key_b64: s(&v, "PublicKey").to_string(),
                import_token_b64: s(&v, "ImportToken").to_string(),
                valid_to: v
                    .get("ParametersValidTo")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0),
            };
            let region = req.region;
            app.sessions.update(&req.token, |s| {
                s.import.insert((region, id), params);
            });
            app.flash(
                req,
                true,
                "The wrapping public key and import token are ready: download both, wrap your key material, then upload it with the token.",
            );
        }
        Err(e) => app.flash(req, false, format!("{}: {}", e.kind.aws_name(), e.message)),
    }
    super::app::see_other(&format!("{base}?tab=keymaterial"))
}
