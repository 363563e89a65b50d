//! Key policies: AWS's default key policy text, and the checks a new policy must pass.

use super::error::{ErrorKind, KmsError, KmsResult};
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

fn malformed(message: impl Into<String>) -> KmsError {
    KmsError::new(ErrorKind::MalformedPolicyDocument, message)
}

/// Checks that a policy document is a JSON object with a `Statement` list whose entries
/// each have an `Effect` of Allow or Deny.
pub fn check_policy(text: &str) -> KmsResult<()> {
    let doc: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| malformed(format!("The policy is not valid JSON: {e}")))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| malformed("The policy must be a JSON object."))?;
    let statements = match obj.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(s @ serde_json::Value::Object(_)) => vec![s.clone()],
        _ => return Err(malformed("The policy must contain a Statement.")),
    };
    if statements.is_empty() {
        return Err(malformed("The policy must contain at least one statement."));
    }
    for s in &statements {
        match s.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow") | Some("Deny") => {}
            _ => {
                return Err(malformed(
                    "Every policy statement needs an Effect of Allow or Deny.",
                ))
            }
        }
    }
    Ok(())
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
