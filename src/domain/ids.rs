//! Identifiers parsed once at the API boundary: key ids, alias names, key references
//! (what a caller may put in a `KeyId` field) and the ARNs built from them.
//!
//! A parse failure says exactly what was wrong ([`AliasNameError`], [`KeyRefError`]);
//! its `Display` is the message AWS gives, and the service layer decides the AWS error
//! type it travels as.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::region::Region;

/// A random (version 4) UUID for a request id or an audit event id. The random bytes come
/// from the operating system as for [`uuid::Uuid::new_v4`], but fetched 4 KiB at a time
/// per thread instead of one system call per id (an API call takes two). Ids only: key
/// ids, secrets and IVs take their bytes straight from the operating system.
pub fn call_uuid() -> uuid::Uuid {
    use std::cell::RefCell;

    use rand_core::RngCore as _;

    const BUFFER: usize = 4096;
    thread_local! {
        static RANDOM: RefCell<(Box<[u8; BUFFER]>, usize)> =
            RefCell::new((Box::new([0u8; BUFFER]), BUFFER));
    }
    RANDOM
        .with(|cell| {
            let (bytes, used) = &mut *cell.borrow_mut();
            if *used + 16 > BUFFER {
                rand_core::OsRng.try_fill_bytes(&mut bytes[..]).ok()?;
                *used = 0;
            }
            let mut id = [0u8; 16];
            id.copy_from_slice(&bytes[*used..*used + 16]);
            *used += 16;
            Some(uuid::Builder::from_random_bytes(id).into_uuid())
        })
        .unwrap_or_else(uuid::Uuid::new_v4)
}

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

/// Why a string is not an alias name (AWS: ValidationException with this message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasNameError {
    /// The name does not start with `alias/`.
    MissingPrefix,
    /// Nothing after `alias/`, or a character outside `[a-zA-Z0-9/_-]`.
    BadCharacters(String),
}

impl fmt::Display for AliasNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AliasNameError::MissingPrefix => f.write_str(
                "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
            ),
            AliasNameError::BadCharacters(name) => write!(
                f,
                "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
            ),
        }
    }
}

impl std::error::Error for AliasNameError {}

impl AliasName {
    /// Parses an alias name given to CreateAlias/UpdateAlias/DeleteAlias.
    pub fn parse(s: &str) -> Result<AliasName, AliasNameError> {
        let Some(rest) = s.strip_prefix("alias/") else {
            return Err(AliasNameError::MissingPrefix);
        };
        if rest.is_empty()
            || !rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
        {
            return Err(AliasNameError::BadCharacters(s.to_string()));
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

/// Why a `KeyId` field names no key here (AWS: NotFoundException with this message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRefError {
    /// Not an ARN of a KMS key or alias: `Invalid arn <raw>`.
    MalformedArn(String),
    /// The ARN of another Region: `Invalid arn <region>`.
    OtherRegion(String),
    /// The ARN of another partition or account: `Key '<raw>' does not exist`.
    OtherAccount(String),
    /// Neither form of key id: `Invalid keyId '<id>'`.
    InvalidKeyId(String),
    /// A malformed alias name or alias ARN: `Alias '<alias ARN>' is not found.`
    InvalidAlias(String),
}

impl fmt::Display for KeyRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRefError::MalformedArn(raw) => write!(f, "Invalid arn {raw}"),
            KeyRefError::OtherRegion(region) => write!(f, "Invalid arn {region}"),
            KeyRefError::OtherAccount(raw) => write!(f, "Key '{raw}' does not exist"),
            KeyRefError::InvalidKeyId(id) => write!(f, "Invalid keyId '{id}'"),
            KeyRefError::InvalidAlias(arn) => write!(f, "Alias '{arn}' is not found."),
        }
    }
}

impl std::error::Error for KeyRefError {}

impl KeyRef {
    /// Parses a `KeyId` field as AWS does, for a request served in `region` of `account`.
    ///
    /// Accepts a key id, a key ARN, an alias name or an alias ARN. An ARN of another Region
    /// or account names no key here.
    pub fn parse(raw: &str, region: Region, account: &str) -> Result<KeyRef, KeyRefError> {
        if let Some(rest) = raw.strip_prefix("arn:") {
            // arn:<partition>:kms:<region>:<account>:<resource>
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            if parts.len() != 5 || parts[1] != "kms" {
                return Err(KeyRefError::MalformedArn(raw.to_string()));
            }
            let (partition, arn_region, arn_account, resource) =
                (parts[0], parts[2], parts[3], parts[4]);
            if arn_region != region.as_str() {
                return Err(KeyRefError::OtherRegion(arn_region.to_string()));
            }
            if partition != region.partition().as_str() || arn_account != account {
                return Err(KeyRefError::OtherAccount(raw.to_string()));
            }
            if let Some(id) = resource.strip_prefix("key/") {
                return KeyId::parse(id)
                    .map(KeyRef::Id)
                    .ok_or_else(|| KeyRefError::InvalidKeyId(id.to_string()));
            }
            if resource.starts_with("alias/") {
                let alias = AliasName::parse(resource)
                    .map_err(|_| KeyRefError::InvalidAlias(raw.to_string()))?;
                return Ok(KeyRef::Alias(alias));
            }
            return Err(KeyRefError::MalformedArn(raw.to_string()));
        }
        if raw.starts_with("alias/") {
            let alias = AliasName::parse(raw)
                .map_err(|_| KeyRefError::InvalidAlias(alias_arn_str(region, account, raw)))?;
            return Ok(KeyRef::Alias(alias));
        }
        KeyId::parse(raw)
            .map(KeyRef::Id)
            .ok_or_else(|| KeyRefError::InvalidKeyId(raw.to_string()))
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

    #[test]
    fn call_uuids_are_version_4_and_distinct_across_refills() {
        let ids: std::collections::HashSet<uuid::Uuid> = (0..1000).map(|_| call_uuid()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
    }

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
    fn malformed_key_id_has_aws_message() {
        let e = KeyRef::parse("fake-key-id", us(), "111122223333").unwrap_err();
        assert_eq!(e, KeyRefError::InvalidKeyId("fake-key-id".into()));
        assert_eq!(e.to_string(), "Invalid keyId 'fake-key-id'");
    }

    #[test]
    fn arn_of_another_region_names_no_key_here() {
        let id = KeyId::new_single_region();
        let arn = format!("arn:aws:kms:eu-west-1:111122223333:key/{id}");
        let e = KeyRef::parse(&arn, us(), "111122223333").unwrap_err();
        assert_eq!(e.to_string(), "Invalid arn eu-west-1");
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
        assert_eq!(e, AliasNameError::MissingPrefix);
        assert!(e
            .to_string()
            .starts_with("Alias must start with the prefix \"alias/\"."));
    }
}
