//! Key policies: AWS's default key policy text, and the checks a new policy must pass.

use super::error::{ErrorKind, KmsError, KmsResult};
use crate::authz::{PolicyDoc, PolicyError, PolicyKind};
use crate::domain::region::Region;

/// The name of the one policy a key has.
pub const POLICY_NAME: &str = "default";

/// AWS's default key policy, as CreateKey attaches it when no policy is given (formatted
/// exactly as AWS returns it).
pub fn default_policy(region: Region, account: &str) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:{}:iam::{}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}",
        region.partition().as_str(),
        account
    )
}

/// Only the policy name "default" exists (GetKeyPolicy, PutKeyPolicy).
pub fn check_policy_name(name: Option<&str>) -> KmsResult<()> {
    match name {
        None | Some(POLICY_NAME) => Ok(()),
        Some(other) => Err(KmsError::not_found(format!(
            "No such policy exists: {other}. A key has one policy, named default."
        ))),
    }
}

/// Checks that a key policy is a well-formed policy document KMS accepts: the IAM policy
/// language (`authz::policy`: elements, effects, actions, ARNs, condition operators and
/// keys, policy variables) and KMS's own rules for key policies. The message is AWS's
/// MalformedPolicyDocumentException message.
pub fn check_policy(text: &str) -> KmsResult<()> {
    let malformed = |e: PolicyError| KmsError::new(ErrorKind::MalformedPolicyDocument, e.message());
    let doc = PolicyDoc::parse(text, PolicyKind::Key).map_err(malformed)?;
    doc.check_kms_rules().map_err(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_valid_and_names_the_account_root() {
        let region = Region::parse("cn-north-1").expect("catalogue");
        let p = default_policy(region, "111122223333");
        check_policy(&p).expect("valid");
        assert!(p.contains("arn:aws-cn:iam::111122223333:root"));
        assert!(p.contains("Enable IAM User Permissions"));
    }

    #[test]
    fn malformed_documents_are_refused() {
        for bad in [
            "{",
            "[]",
            "{}",
            "{\"Statement\": [{\"Effect\": \"Maybe\"}]}",
        ] {
            let e = check_policy(bad).unwrap_err();
            assert_eq!(e.kind.aws_name(), "MalformedPolicyDocumentException");
        }
    }
}
