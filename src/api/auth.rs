//! The verification step every service on the port runs first: who signed the request,
//! and for which Region.
//!
//! Open mode reads the SigV4 credential scope only (any credentials will do; the caller
//! is the account root). Strict mode verifies the signature (`authz::sigv4`: canonical
//! request, signed headers, body hash, ±5 minutes of the real clock, the access key or
//! role session, constant-time comparison) for the service the request is for (`kms`,
//! `sts`, `cloudtrail`, `cloudformation`), and refuses with AWS's errors. Nothing is
//! decided or changed before this step passes.

use axum::http::{HeaderMap, Method, Uri};

use crate::authz::{Protocol, SigError, SignedRequest};
use crate::domain::region::Region;
use crate::kms::error::{ErrorKind, KmsError};
use crate::kms::service::Kms;

use super::sigv4;

/// A request whose signature (strict mode) or credential scope (open mode) checked out.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The Region of the credential scope (one this server serves).
    pub region: Region,
    /// The access key id the request was signed with (the caller, for every later step).
    pub access_key: String,
}

/// Why a request was refused at the verification step.
#[derive(Debug)]
pub enum Refused {
    /// Open mode: the credential scope is missing, malformed or names a Region not served.
    Scope(KmsError),
    /// Strict mode: the signature did not verify.
    Signature(SigError),
}

impl Refused {
    /// The error for a JSON 1.1 service (KMS, CloudTrail).
    pub fn into_json(self) -> KmsError {
        match self {
            Refused::Scope(e) => e,
            Refused::Signature(e) => {
                let kind = match e.code(Protocol::Json) {
                    "MissingAuthenticationTokenException" => ErrorKind::MissingAuthenticationToken,
                    "IncompleteSignatureException" => ErrorKind::IncompleteSignature,
                    "UnrecognizedClientException" => ErrorKind::UnrecognizedClient,
                    "ExpiredTokenException" => ErrorKind::ExpiredToken,
                    _ => ErrorKind::InvalidSignature,
                };
                KmsError::new(kind, e.to_string())
            }
        }
    }

    /// The HTTP status, error code and message for an awsQuery service (STS,
    /// CloudFormation).
    pub fn into_query(self) -> (u16, String, String) {
        match self {
            Refused::Scope(e) => {
                let code = e.kind.aws_name().trim_end_matches("Exception").to_string();
                (e.kind.http_status(), code, e.message)
            }
            Refused::Signature(e) => (
                e.http_status(Protocol::Query),
                e.code(Protocol::Query).to_string(),
                e.to_string(),
            ),
        }
    }
}

/// The verification step for a request to `service` (the SigV4 service name).
pub fn authenticate(
    kms: &Kms,
    service: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Authenticated, Refused> {
    let Some(authz) = kms.access.authorizer() else {
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let scope = sigv4::credential_scope(authorization).map_err(Refused::Scope)?;
        let region = sigv4::served_region(&kms.config, &scope.region).map_err(Refused::Scope)?;
        return Ok(Authenticated {
            region,
            access_key: scope.access_key,
        });
    };
    let served = |name: &str| Region::parse(name).is_some_and(|r| kms.config.regions.contains(&r));
    let verified = authz
        .verify(
            &SignedRequest {
                method: method.as_str(),
                path: uri.path(),
                query: uri.query().unwrap_or(""),
                headers,
                body,
            },
            service,
            &served,
            chrono::Utc::now(),
            kms.clock.now().secs(),
        )
        .map_err(Refused::Signature)?;
    // `served` accepted it, so it parses.
    let region = Region::parse(&verified.region).ok_or_else(|| {
        Refused::Signature(SigError::Scope(format!(
            "Credential should be scoped to a valid region, not '{}'.",
            verified.region
        )))
    })?;
    Ok(Authenticated {
        region,
        access_key: verified.caller.access_key_id,
    })
}
