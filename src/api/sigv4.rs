//! The parts of AWS Signature Version 4 hsm-kms reads: the credential scope of the
//! `Authorization` header (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`), which names
//! the caller's access key and the Region the request is for. Signatures are not verified.

use crate::config::Config;
use crate::domain::region::Region;
use crate::kms::error::{ErrorKind, KmsError, KmsResult};

/// What the credential scope says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key: String,
    pub region: String,
    /// The service the request is signed for (`kms`, `cloudformation`, ...).
    pub service: String,
}

/// Parses the credential scope out of an `Authorization` header.
pub fn credential_scope(authorization: &str) -> KmsResult<CredentialScope> {
    if authorization.is_empty() {
        return Err(KmsError::new(
            ErrorKind::MissingAuthenticationToken,
            "Request is missing Authentication Token: sign requests with SigV4 (any credentials will do); the Region comes from the credential scope.",
        ));
    }
    let credential = authorization
        .split([',', ' '])
        .find_map(|part| part.trim().strip_prefix("Credential="))
        .ok_or_else(|| {
            KmsError::new(
                ErrorKind::IncompleteSignature,
                "Authorization header requires a 'Credential' parameter.",
            )
        })?;
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" {
        return Err(KmsError::new(
            ErrorKind::IncompleteSignature,
            format!(
                "Credential should be scoped to a valid Region and service: expected AKID/DATE/REGION/kms/aws4_request, got {credential}"
            ),
        ));
    }
    Ok(CredentialScope {
        access_key: parts[0].to_string(),
        region: parts[2].to_string(),
        service: parts[3].to_string(),
    })
}

/// The Region of a request, if this server serves it.
pub fn served_region(config: &Config, name: &str) -> KmsResult<Region> {
    match Region::parse(name) {
        Some(region) if config.regions.contains(&region) => Ok(region),
        _ => Err(KmsError::new(
            ErrorKind::UnrecognizedClient,
            format!(
                "hsm-kms does not serve Region {name}. Served Regions: {}.",
                config.served_list()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_the_credential_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/eu-west-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        let scope = credential_scope(h).expect("parses");
        assert_eq!(scope.region, "eu-west-1");
        assert_eq!(scope.access_key, "AKIDEXAMPLE");
        assert_eq!(scope.service, "kms");
    }

    #[test]
    fn missing_or_malformed_scope_is_refused() {
        assert!(credential_scope("").is_err());
        assert!(credential_scope("AWS4-HMAC-SHA256 Signature=abc").is_err());
        assert!(credential_scope("AWS4-HMAC-SHA256 Credential=AKID/x/kms").is_err());
    }
}
