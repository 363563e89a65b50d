//! Identifiers parsed once at the API boundary: key ids, alias names, key references
//! (what a caller may put in a `KeyId` field) and the ARNs built from them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::{KmsError, KmsResult};
use super::region::Region;

/// A KMS key id: a lowercase UUID, or `mrk-` + 32 lowercase hex digits for multi-Region keys.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    /// A fresh single-Region key id.
    pub fn new_single_region() -> KeyId {
        KeyId(uuid::Uuid::new_v4().hyphenated().to_string())
    }

    /// A fresh multi-Region key id.
    pub fn new_multi_region() -> KeyId {
        KeyId(format!("mrk-{}", uuid::Uuid::new_v4().simple()))
    }

    /// Parses a bare key id; `None` when it has neither form.
    pub fn parse(s: &str) -> Option<KeyId> {
        if let Some(hex) = s.strip_prefix("mrk-") {
            if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Some(KeyId(s.to_ascii_lowercase()));
            }
            return None;
        }
        let parsed = uuid::Uuid::try_parse(s).ok()?;
        // AWS only accepts the hyphenated form.
        if s.len() != 36 {
            return None;
        }
        Some(KeyId(parsed.hyphenated().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_multi_region(&self) -> bool {
        self.0.starts_with("mrk-")
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// An alias name, always starting with `alias/`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AliasName(String);

/// The message AWS gives for an alias without the `alias/` prefix.
const ALIAS_PREFIX_MESSAGE: &str = "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html";

impl AliasName {
    /// Parses an alias name given to CreateAlias/UpdateAlias/DeleteAlias.
    pub fn parse(s: &str) -> KmsResult<AliasName> {
        let Some(rest) = s.strip_prefix("alias/") else {
            return Err(KmsError::validation(ALIAS_PREFIX_MESSAGE));
        };
        if rest.is_empty()
            || !rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
        {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{s}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
            )));
        }
        Ok(AliasName(s.to_string()))
    }

    /// `alias/aws/...` names are reserved for AWS managed keys.
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with("alias/aws/")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AliasName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AliasName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AliasName({})", self.0)
    }
}

/// What a caller may put in a `KeyId` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    Id(KeyId),
    Alias(AliasName),
}

impl KeyRef {
    /// Parses a `KeyId` field as AWS does, for a request served in `region` of `account`.
    ///
    /// Accepts a key id, a key ARN, an alias name or an alias ARN. An ARN of another Region
    /// or account names no key here.
    pub fn parse(raw: &str, region: Region, account: &str) -> KmsResult<KeyRef> {
        if let Some(rest) = raw.strip_prefix("arn:") {
            // arn:<partition>:kms:<region>:<account>:<resource>
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            if parts.len() != 5 || parts[1] != "kms" {
                return Err(KmsError::not_found(format!("Invalid arn {raw}")));
            }
            let (partition, arn_region, arn_account, resource) =
                (parts[0], parts[2], parts[3], parts[4]);
            if arn_region != region.as_str() {
                return Err(KmsError::not_found(format!("Invalid arn {arn_region}")));
            }
            if partition != region.partition().as_str() || arn_account != account {
                return Err(KmsError::not_found(format!("Key '{raw}' does not exist")));
            }
            if let Some(id) = resource.strip_prefix("key/") {
                return KeyId::parse(id)
                    .map(KeyRef::Id)
                    .ok_or_else(|| KmsError::not_found(format!("Invalid keyId '{id}'")));
            }
            if resource.starts_with("alias/") {
                let alias = AliasName::parse(resource)
                    .map_err(|_| KmsError::not_found(format!("Alias '{raw}' is not found.")))?;
                return Ok(KeyRef::Alias(alias));
            }
            return Err(KmsError::not_found(format!("Invalid arn {raw}")));
        }
        if raw.starts_with("alias/") {
            let alias = AliasName::parse(raw).map_err(|_| {
                KmsError::not_found(format!(
                    "Alias '{}' is not found.",
                    alias_arn_str(region, account, raw)
                ))
            })?;
            return Ok(KeyRef::Alias(alias));
        }
        KeyId::parse(raw)
            .map(KeyRef::Id)
            .ok_or_else(|| KmsError::not_found(format!("Invalid keyId '{raw}'")))
    }
}

/// `arn:<partition>:kms:<region>:<account>:key/<id>`
pub fn key_arn(region: Region, account: &str, key_id: &KeyId) -> String {
    format!(
        "arn:{}:kms:{}:{}:key/{}",
        region.partition().as_str(),
        region,
        account,
        key_id
    )
}

/// `arn:<partition>:kms:<region>:<account>:alias/<name>`
pub fn alias_arn(region: Region, account: &str, alias: &AliasName) -> String {
    alias_arn_str(region, account, alias.as_str())
}

fn alias_arn_str(region: Region, account: &str, alias: &str) -> String {
    format!(
        "arn:{}:kms:{}:{}:{}",
        region.partition().as_str(),
        region,
        account,
        alias
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> Region {
        Region::parse("us-east-1").expect("catalogue")
    }

    #[test]
    fn key_ids_have_aws_forms() {
        let single = KeyId::new_single_region();
        assert_eq!(single.as_str().len(), 36);
        assert!(KeyId::parse(single.as_str()).is_some());
        let mrk = KeyId::new_multi_region();
        assert!(mrk.as_str().starts_with("mrk-"));
        assert_eq!(mrk.as_str().len(), 36);
        assert!(KeyId::parse(mrk.as_str()).is_some());
        assert!(KeyId::parse("fake-key-id").is_none());
        assert!(KeyId::parse("134f2428cec14b25a1ae9048164dba47").is_none());
        assert!(KeyId::parse("mrk-fake-key-id").is_none());
    }

    #[test]
    fn malformed_key_id_is_not_found_with_aws_message() {
        let e = KeyRef::parse("fake-key-id", us(), "111122223333").unwrap_err();
        assert_eq!(e.kind.aws_name(), "NotFoundException");
        assert_eq!(e.message, "Invalid keyId 'fake-key-id'");
    }

    #[test]
    fn arn_of_another_region_names_no_key_here() {
        let id = KeyId::new_single_region();
        let arn = format!("arn:aws:kms:eu-west-1:111122223333:key/{id}");
        let e = KeyRef::parse(&arn, us(), "111122223333").unwrap_err();
        assert_eq!(e.message, "Invalid arn eu-west-1");
    }

    #[test]
    fn all_four_reference_forms_parse() {
        let id = KeyId::new_single_region();
        let acct = "111122223333";
        assert_eq!(
            KeyRef::parse(id.as_str(), us(), acct).unwrap(),
            KeyRef::Id(id.clone())
        );
        assert_eq!(
            KeyRef::parse(&key_arn(us(), acct, &id), us(), acct).unwrap(),
            KeyRef::Id(id)
        );
        let alias = AliasName::parse("alias/x").unwrap();
        assert_eq!(
            KeyRef::parse("alias/x", us(), acct).unwrap(),
            KeyRef::Alias(alias.clone())
        );
        assert_eq!(
            KeyRef::parse(&alias_arn(us(), acct, &alias), us(), acct).unwrap(),
            KeyRef::Alias(alias)
        );
    }

    #[test]
    fn alias_needs_prefix() {
        let e = AliasName::parse("tour").unwrap_err();
        assert_eq!(e.kind.aws_name(), "ValidationException");
        assert!(e
            .message
            .starts_with("Alias must start with the prefix \"alias/\"."));
    }
}
