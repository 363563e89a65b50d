//! STS on the same port: `GetCallerIdentity` and `AssumeRole` over the awsQuery protocol
//! ([`super::query`], driven by `model/sts-service-model.json`), so `aws sts
//! get-caller-identity` and role profiles of the aws CLI and the SDKs (`role_arn` +
//! `source_profile`, with the server as the endpoint) work unchanged. Requests are routed
//! here by the signing service name of their credential scope (`sts`) and pass the
//! verification step first ([`super::auth`]).
//!
//! Strict mode: the caller is the verified signer. AssumeRole evaluates the role's trust
//! policy and the caller's IAM policies (`authz::Authorizer::may_assume`, with
//! `sts:RoleSessionName` and `sts:ExternalId`), checks `DurationSeconds` against the
//! role's `max_session_duration` (and the one-hour limit of role chaining), and issues
//! temporary credentials whose expiry is on the server clock and whose session token is
//! sealed by a key held in a PKCS#11 token (`authz::sessions`, `kms::session_seal`), so
//! they outlive a restart.
//!
//! Open mode: the caller is the account root; AssumeRole hands out credentials for the role
//! named (any credentials work in open mode), so role profiles work there too.
//!
//! Every call is recorded in the Region's audit log (`eventSource` `sts.amazonaws.com`);
//! in strict mode a call that cannot be recorded fails, as KMS and CloudFormation calls do.
//! The secret access key and the session token are never recorded, and the response that
//! carries them is built in a zeroising buffer.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::query::{escape, iso8601_millis, parse_form, QueryError, QueryModel};
use super::workers::{Blocking, NotRun};
use crate::audit::{ApiCall, AuditError, CallError, EventSource};
use crate::authz::{Protocol, RequestFacts};
use crate::domain::request::RequestContext;
use crate::kms::service::Kms;

/// The signing name STS requests carry in their credential scope.
pub const SERVICE: &str = "sts";

/// `DurationSeconds` when the request has none (AWS: one hour).
const DEFAULT_DURATION: u32 = 3600;
/// The longest session a role session may get by assuming a role (role chaining).
const CHAINED_MAX_DURATION: u32 = 3600;

/// AssumeRole parameters hsm-kms does not implement: refused rather than ignored, since
/// each would narrow or mark the session in a way the caller relies on.
const UNSUPPORTED: &[&str] = &[
    "Policy",
    "PolicyArns",
    "Tags",
    "TransitiveTagKeys",
    "SerialNumber",
    "TokenCode",
    "SourceIdentity",
    "ProvidedContexts",
];

/// An STS error: code, HTTP status, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsError {
    pub code: String,
    pub status: u16,
    pub message: String,
}

impl StsError {
    fn new(code: &str, status: u16, message: impl Into<String>) -> StsError {
        StsError {
            code: code.to_string(),
            status,
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> StsError {
        StsError::new("ValidationError", 400, message)
    }

    fn internal() -> StsError {
        StsError::new(
            "InternalFailure",
            500,
            "The request processing has failed because of an unknown error.",
        )
    }
}

/// What an operation answers: the response body (zeroised when sent) and what its audit
/// record shows.
struct Answer {
    xml: Zeroizing<Vec<u8>>,
    /// `responseElements` (never a secret).
    response_elements: Value,
    /// `resources`, or `null`.
    resources: Value,
    /// `recipientAccountId`.
    account: String,
}

fn xml_response(status: StatusCode, body: Bytes, request_id: &str) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

/// An error response of STS.
pub fn error(code: &str, status: u16, message: &str, request_id: &str) -> Response {
    let body = QueryModel::sts().encode_error(code, message, status < 500, request_id);
    xml_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Bytes::from(body),
        request_id,
    )
}

/// Serves one STS request from a caller the verification step let through, on `pool`
/// (the bounded pool of the long KMS operations: when it is full the caller is throttled).
pub async fn handle(kms: Arc<Kms>, pool: &Blocking, ctx: RequestContext, body: Bytes) -> Response {
    let request_id = ctx.request_id.clone();
    let model = QueryModel::sts();
    let (action, input) = match model.decode(&parse_form(&body)) {
        Ok(x) => x,
        Err(e) => {
            let (code, status) = e.wire();
            let message = match &e {
                QueryError::InvalidAction(m) => m.clone(),
                other => other.message(),
            };
            return error(code, status, &message, &request_id);
        }
    };
    // AssumeRole seals its session token in a PKCS#11 token: not on the async executor.
    let outcome = match pool
        .run(move || {
            // Strict mode: AWS records every call, so a call that cannot be recorded is not
            // run, and one whose record fails is answered as failed (as for KMS calls).
            let strict = kms.config.mode == crate::config::Mode::Strict;
            if strict && !kms.audit.writable(ctx.region) {
                tracing::error!(
                    request_id = %ctx.request_id,
                    "{action} refused: the audit log of {} cannot be written",
                    ctx.region
                );
                return Err(StsError::internal());
            }
            let result = call(&kms, &ctx, &action, &input);
            match record(&kms, &ctx, &action, &input, &result) {
                Err(e) if strict => {
                    tracing::error!(request_id = %ctx.request_id, "{action} not recorded: {e}");
                    Err(StsError::internal())
                }
                _ => result,
            }
        })
        .await
    {
        Ok(result) => result,
        Err(NotRun::Busy) => return error("Throttling", 400, "Rate exceeded", &request_id),
        Err(NotRun::Failed) => {
            tracing::error!(request_id, "the worker running an STS call failed");
            Err(StsError::internal())
        }
    };
    match outcome {
        Ok(answer) => xml_response(StatusCode::OK, Bytes::from_owner(answer.xml), &request_id),
        Err(e) => error(&e.code, e.status, &e.message, &request_id),
    }
}

/// Records the call in the Region's audit log as CloudTrail does.
fn record(
    kms: &Kms,
    ctx: &RequestContext,
    action: &str,
    input: &Value,
    result: &Result<Answer, StsError>,
) -> Result<(), AuditError> {
    let request_parameters = match action {
        "AssumeRole" => {
            let mut p = json!({
                "roleArn": input["RoleArn"],
                "roleSessionName": input["RoleSessionName"],
            });
            if let Some(d) = input.get("DurationSeconds") {
                p["durationSeconds"] = d.clone();
            }
            if let Some(e) = input.get("ExternalId") {
                // Not a secret (AWS: it is known to whoever assumes the role).
                p["externalId"] = e.clone();
            }
            p
        }
        _ => Value::Null,
    };
    let (account, response_elements, resources) = match result {
        Ok(a) => (
            a.account.clone(),
            a.response_elements.clone(),
            a.resources.clone(),
        ),
        Err(_) => (kms.account().to_string(), Value::Null, Value::Null),
    };
    kms.audit.record_api_call(
        ctx,
        &ApiCall {
            who: &kms.user_identity(ctx),
            source: EventSource::Sts,
            account: &account,
            event: action,
            read_only: action == "GetCallerIdentity",
            request_parameters,
            response_elements,
            resources,
            additional_event_data: Value::Null,
            error: result.as_ref().err().map(|e| CallError {
                code: &e.code,
                message: &e.message,
            }),
            time: kms.clock.now(),
        },
    )
}

/// Runs an STS operation (already decoded and validated against the model) for the
/// verified caller of `ctx`.
fn call(kms: &Kms, ctx: &RequestContext, action: &str, input: &Value) -> Result<Answer, StsError> {
    match action {
        "GetCallerIdentity" => get_caller_identity(kms, ctx),
        "AssumeRole" => assume_role(kms, ctx, input),
        other => Err(StsError::new(
            "InvalidAction",
            400,
            format!(
                "hsm-kms serves the STS actions GetCallerIdentity and AssumeRole, not {other}."
            ),
        )),
    }
}

fn invalid_token() -> StsError {
    StsError::new(
        "InvalidClientTokenId",
        403,
        "The security token included in the request is invalid.",
    )
}

fn get_caller_identity(kms: &Kms, ctx: &RequestContext) -> Result<Answer, StsError> {
    let (user_id, account, arn) = match kms.access.authorizer() {
        None => {
            let partition = ctx.region.partition().as_str();
            let account = kms.account().to_string();
            let arn = format!("arn:{partition}:iam::{account}:root");
            (account.clone(), account, arn)
        }
        Some(authz) => {
            let caller = authz
                .caller_for(&ctx.access_key, kms.clock.now().secs())
                .ok_or_else(invalid_token)?;
            (
                caller.user_id(),
                caller.account().to_string(),
                caller.arn().to_string(),
            )
        }
    };
    let output = json!({"UserId": user_id, "Account": account, "Arn": arn});
    let xml = QueryModel::sts().encode_result("GetCallerIdentity", &output, &ctx.request_id);
    Ok(Answer {
        xml: Zeroizing::new(xml.into_bytes()),
        response_elements: Value::Null,
        resources: Value::Null,
        account,
    })
}

/// The parts of a role ARN: `arn:<partition>:iam::<account>:role/<path/><name>`.
fn role_arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (valid_account && !name.is_empty() && !partition.is_empty())
        .then_some((partition, account, name))
}

/// `ASIA` and 16 random characters of the access key alphabet.
fn random_access_key_id() -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    std::iter::once("ASIA")
        .map(str::to_string)
        .chain(
            bytes
                .iter()
                .map(|b| (ALPHABET[usize::from(*b & 31)] as char).to_string()),
        )
        .collect()
}

/// Temporary credentials and who they are, as AssumeRole answers them.
struct Issued<'a> {
    access_key_id: &'a str,
    secret: &'a str,
    token: &'a str,
    expiration: f64,
    assumed_role_id: &'a str,
    arn: &'a str,
}

fn assume_role(kms: &Kms, ctx: &RequestContext, input: &Value) -> Result<Answer, StsError> {
    let role_arn = input["RoleArn"].as_str().unwrap_or_default();
    let session_name = input["RoleSessionName"].as_str().unwrap_or_default();
    if let Some(name) = UNSUPPORTED
        .iter()
        .find(|name| input.get(**name).is_some_and(|v| !v.is_null()))
    {
        return Err(StsError::validation(format!(
            "hsm-kms does not implement {name} in AssumeRole: session policies, session tags, MFA, source identity and context assertions are not supported."
        )));
    }
    let Some((partition, account, role_name)) = role_arn_parts(role_arn) else {
        return Err(StsError::validation(format!(
            "{role_arn} is not a role ARN (arn:<partition>:iam::<account id>:role/<name>)."
        )));
    };
    // The model bounds it to 900..=43200.
    let duration = input
        .get("DurationSeconds")
        .and_then(Value::as_u64)
        .and_then(|d| u32::try_from(d).ok())
        .unwrap_or(DEFAULT_DURATION);
    let now = kms.clock.now().secs();
    let resources = json!([{
        "accountId": account,
        "type": "AWS::IAM::Role",
        "ARN": role_arn,
    }]);
    let Some(authz) = kms.access.authorizer() else {
        // Open mode: any role, any credentials.
        let mut secret = Zeroizing::new([0u8; 30]);
        let mut token = Zeroizing::new([0u8; 96]);
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, secret.as_mut());
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, token.as_mut());
        let b64 = |bytes: &[u8]| {
            use base64::Engine as _;
            Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(bytes))
        };
        let access_key_id = random_access_key_id();
        let assumed_role_id = format!(
            "{}:{session_name}",
            crate::authz::principals::unique_id("AROA", role_arn)
        );
        let arn = format!("arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}");
        return Ok(answer(
            &ctx.request_id,
            &Issued {
                access_key_id: &access_key_id,
                secret: &b64(secret.as_ref()),
                token: &b64(token.as_ref()),
                expiration: now + f64::from(duration),
                assumed_role_id: &assumed_role_id,
                arn: &arn,
            },
            account,
            resources,
        ));
    };
    let caller = authz
        .caller_for(&ctx.access_key, now)
        .ok_or_else(invalid_token)?;
    let facts = RequestFacts {
        region: ctx.region.as_str(),
        source_ip: Some(&ctx.source_ip),
        secure_transport: ctx.secure_transport,
        now,
    };
    let mut values = authz.context(&caller, &facts, "sts:AssumeRole");
    values.set("sts:RoleSessionName", session_name);
    if let Some(external) = input.get("ExternalId").and_then(Value::as_str) {
        values.set("sts:ExternalId", external);
    }
    let role = authz.may_assume(&caller, role_arn, &values).map_err(|d| {
        StsError::new(
            d.code(Protocol::Query),
            d.http_status(Protocol::Query),
            d.message(),
        )
    })?;
    if caller.session.is_some() && duration > CHAINED_MAX_DURATION {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if duration > role.max_session_duration {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let session = authz
        .sessions
        .issue(role.clone(), session_name, caller.arn(), duration, now)
        .map_err(|e| {
            tracing::error!(request_id = %ctx.request_id, "cannot seal a session token: {e}");
            StsError::internal()
        })?;
    let assumed_role_id = format!("{}:{}", role.unique_id, session.name);
    Ok(answer(
        &ctx.request_id,
        &Issued {
            access_key_id: &session.access_key_id,
            secret: session.secret.expose(),
            token: session.token.expose(),
            expiration: session.expiration,
            assumed_role_id: &assumed_role_id,
            arn: &session.arn,
        },
        &role.account,
        resources,
    ))
}

/// AssumeRole's response, written straight into a zeroising buffer of its final size (the
/// secret and the token are never copied elsewhere), and its audit record's
/// `responseElements` (without them).
fn answer(request_id: &str, issued: &Issued<'_>, account: &str, resources: Value) -> Answer {
    let expiration = iso8601_millis(issued.expiration);
    let (assumed_role_id, arn) = (escape(issued.assumed_role_id), escape(issued.arn));
    let namespace = "https://sts.amazonaws.com/doc/2011-06-15/";
    // The secret and the token are base64 (nothing to escape).
    let parts: [&str; 17] = [
        "<AssumeRoleResponse xmlns=\"",
        namespace,
        "\"><AssumeRoleResult><Credentials><AccessKeyId>",
        issued.access_key_id,
        "</AccessKeyId><SecretAccessKey>",
        issued.secret,
        "</SecretAccessKey><SessionToken>",
        issued.token,
        "</SessionToken><Expiration>",
        &expiration,
        "</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>",
        &assumed_role_id,
        "</AssumedRoleId><Arn>",
        &arn,
        "</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>",
        request_id,
        "</RequestId></ResponseMetadata></AssumeRoleResponse>",
    ];
    let mut xml = Zeroizing::new(Vec::with_capacity(parts.iter().map(|p| p.len()).sum()));
    for p in parts {
        xml.extend_from_slice(p.as_bytes());
    }
    Answer {
        xml,
        response_elements: json!({
            "credentials": {
                "accessKeyId": issued.access_key_id,
                "expiration": expiration,
            },
            "assumedRoleUser": {
                "assumedRoleId": issued.assumed_role_id,
                "arn": issued.arn,
            },
        }),
        resources,
        account: account.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_are_taken_apart_and_other_arns_refused() {
        assert_eq!(
            role_arn_parts("arn:aws:iam::111122223333:role/app"),
            Some(("aws", "111122223333", "app"))
        );
        assert_eq!(
            role_arn_parts("arn:aws-cn:iam::111122223333:role/team/app"),
            Some(("aws-cn", "111122223333", "app"))
        );
        for bad in [
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::1111:role/app",
            "arn:aws:kms:us-east-1:111122223333:role/app",
            "arn:aws:iam::111122223333:role/",
            "role/app",
        ] {
            assert_eq!(role_arn_parts(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_assume_role_response_is_the_models_shape_and_its_record_holds_no_secret() {
        let issued = Issued {
            access_key_id: "ASIAEXAMPLE0000000001",
            secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
            token: "dG9rZW4tdG9rZW4tdG9rZW4=",
            expiration: 1_800_000_000.0,
            assumed_role_id: "AROAEXAMPLE:batch",
            arn: "arn:aws:sts::111122223333:assumed-role/app/batch",
        };
        let a = answer("req-1", &issued, "111122223333", Value::Null);
        let xml = String::from_utf8(a.xml.to_vec()).expect("utf-8");
        // The elements the model-driven encoder writes for that output, in AWS's order.
        let model = QueryModel::sts().encode_result(
            "AssumeRole",
            &json!({
                "Credentials": {
                    "AccessKeyId": issued.access_key_id,
                    "SecretAccessKey": issued.secret,
                    "SessionToken": issued.token,
                    "Expiration": issued.expiration,
                },
                "AssumedRoleUser": {"AssumedRoleId": issued.assumed_role_id, "Arn": issued.arn},
            }),
            "req-1",
        );
        let elements = |x: &str| {
            let mut v: Vec<String> = x
                .split('<')
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect();
            v.sort();
            v
        };
        assert_eq!(elements(&xml), elements(&model));
        assert!(
            xml.find("<Credentials>") < xml.find("<AssumedRoleUser>"),
            "{xml}"
        );
        let record = a.response_elements.to_string();
        assert!(
            !record.contains(issued.secret) && !record.contains(issued.token),
            "{record}"
        );
        assert!(record.contains("ASIAEXAMPLE0000000001"), "{record}");
    }
}
