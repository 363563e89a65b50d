//! Grants as the service keeps them: the grant id, the grant operations of the service
//! model, the grantee and retiring principals, the constraints, and the grant record the
//! metadata store holds. A grant belongs to one key in one Region (grants are Regional:
//! related multi-Region keys never share them) and goes with the key when it is deleted.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::KeyId;
use super::key::random_hex;
use super::region::Region;
use super::time::Timestamp;

/// A grant id: 64 lowercase hex digits, as AWS's grant ids.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GrantId(String);

impl GrantId {
    /// A fresh grant id: 32 random bytes, hex encoded.
    pub fn new() -> GrantId {
        GrantId(random_hex::<32>())
    }

    /// A grant id as a request gives it: `None` unless it is 64 lowercase hex digits.
    pub fn parse(s: &str) -> Option<GrantId> {
        (s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| GrantId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GrantId {
    type Error = String;
    fn try_from(s: String) -> Result<GrantId, String> {
        GrantId::parse(&s).ok_or_else(|| format!("not a grant id: {s:?}"))
    }
}

impl From<GrantId> for String {
    fn from(id: GrantId) -> String {
        id.0
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId({})", self.0)
    }
}

/// Declares [`GrantOperation`] and the list of its values from one list: the service
/// model's `GrantOperation` enum, whose wire names are the variant names.
macro_rules! grant_operations {
    ($($op:ident),+ $(,)?) => {
        /// An operation a grant may allow (the service model's `GrantOperation`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum GrantOperation { $($op),+ }

        impl GrantOperation {
            /// Every grant operation, in the service model's order.
            pub const ALL: &'static [GrantOperation] = &[$(GrantOperation::$op),+];

            /// The wire name (`Encrypt`, `ReEncryptFrom`, …).
            pub fn as_str(self) -> &'static str {
                match self { $(GrantOperation::$op => stringify!($op)),+ }
            }
        }
    };
}

grant_operations!(
    Decrypt,
    Encrypt,
    GenerateDataKey,
    GenerateDataKeyWithoutPlaintext,
    ReEncryptFrom,
    ReEncryptTo,
    Sign,
    Verify,
    GetPublicKey,
    CreateGrant,
    RetireGrant,
    DescribeKey,
    GenerateDataKeyPair,
    GenerateDataKeyPairWithoutPlaintext,
    GenerateMac,
    VerifyMac,
    DeriveSharedSecret,
);

impl GrantOperation {
    /// The operation of a wire name, `None` for a name the model does not have.
    pub fn parse(s: &str) -> Option<GrantOperation> {
        GrantOperation::ALL
            .iter()
            .copied()
            .find(|o| o.as_str() == s)
    }
}

/// Who a grant names as its grantee or retiring principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GrantPrincipal {
    /// An AWS principal by ARN (account, IAM user, IAM role, assumed-role session) or
    /// account id: `GranteePrincipal` / `RetiringPrincipal`.
    Principal(String),
    /// An AWS service principal (`dynamodb.amazonaws.com`): `GranteeServicePrincipal` /
    /// `RetiringServicePrincipal`.
    Service(String),
}

impl GrantPrincipal {
    /// The principal ARN, for an AWS principal.
    pub fn principal(&self) -> Option<&str> {
        match self {
            GrantPrincipal::Principal(p) => Some(p),
            GrantPrincipal::Service(_) => None,
        }
    }

    /// The service principal, for a service.
    pub fn service(&self) -> Option<&str> {
        match self {
            GrantPrincipal::Service(s) => Some(s),
            GrantPrincipal::Principal(_) => None,
        }
    }
}

/// An encryption context in a grant constraint, ordered by key.
pub type ConstraintContext = BTreeMap<String, String>;

/// A grant's constraints (the service model's `GrantConstraints`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantConstraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<ConstraintContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<ConstraintContext>,
    /// The ARN of the AWS resource on whose behalf a request must be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
}

impl GrantConstraints {
    /// Whether it constrains the encryption context.
    pub fn has_encryption_context(&self) -> bool {
        self.encryption_context_equals.is_some() || self.encryption_context_subset.is_some()
    }
}

/// A grant on one key in one Region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub region: Region,
    pub key_id: KeyId,
    pub grant_id: GrantId,
    /// The `Name` of the CreateGrant request (for idempotent retries), if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub grantee: GrantPrincipal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring: Option<GrantPrincipal>,
    /// Without duplicates, in the order of the request.
    pub operations: Vec<GrantOperation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraints>,
    /// `arn:<partition>:iam::<account>:root` of the account the grant was created in.
    pub issuing_account: String,
    pub created: Timestamp,
}

impl GrantRecord {
    /// Whether `other` is the same grant as this one for CreateGrant's idempotency: the
    /// same key, name, grantee, retiring principal, operations (in any order) and
    /// constraints. Only a request with a name is ever a retry.
    pub fn same_grant(&self, other: &GrantRecord) -> bool {
        let sorted = |ops: &[GrantOperation]| {
            let mut ops = ops.to_vec();
            ops.sort();
            ops
        };
        self.name.is_some()
            && self.region == other.region
            && self.key_id == other.key_id
            && self.name == other.name
            && self.grantee == other.grantee
            && self.retiring == other.retiring
            && sorted(&self.operations) == sorted(&other.operations)
            && self.constraints == other.constraints
    }

    /// Whether the grant allows `operation`.
    pub fn allows(&self, operation: GrantOperation) -> bool {
        self.operations.contains(&operation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_ids_are_64_lowercase_hex_digits() {
        let id = GrantId::new();
        assert_eq!(id.as_str().len(), 64);
        assert_eq!(GrantId::parse(id.as_str()), Some(id.clone()));
        assert!(GrantId::parse(&id.as_str().to_uppercase()).is_none());
        assert!(GrantId::parse(&id.as_str()[1..]).is_none());
        assert!(GrantId::parse("not-a-grant-id").is_none());
        assert_ne!(GrantId::new(), GrantId::new());
    }

    #[test]
    fn grant_operations_are_the_models() {
        let model: serde_json::Value =
            serde_json::from_str(include_str!("../../model/kms-service-model.json"))
                .expect("model");
        let names: Vec<&str> = model["shapes"]["GrantOperation"]["enum"]
            .as_array()
            .expect("GrantOperation enum")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let ours: Vec<&str> = GrantOperation::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(ours, names);
        for name in names {
            let op = GrantOperation::parse(name).expect("parses");
            assert_eq!(
                serde_json::to_value(op).expect("serialises"),
                serde_json::json!(name)
            );
        }
        assert_eq!(GrantOperation::parse("ReEncrypt"), None);
    }

    fn record(name: Option<&str>, ops: &[GrantOperation]) -> GrantRecord {
        GrantRecord {
            region: Region::parse("us-east-1").expect("region"),
            key_id: KeyId::new_single_region(),
            grant_id: GrantId::new(),
            name: name.map(str::to_string),
            grantee: GrantPrincipal::Principal("arn:aws:iam::111122223333:user/a".into()),
            retiring: None,
            operations: ops.to_vec(),
            constraints: None,
            issuing_account: "arn:aws:iam::111122223333:root".into(),
            created: Timestamp::from_secs(1.0),
        }
    }

    #[test]
    fn a_named_request_with_the_same_parameters_is_the_same_grant() {
        use GrantOperation::{Decrypt, Encrypt};
        let a = record(Some("n"), &[Encrypt, Decrypt]);
        let mut b = a.clone();
        b.grant_id = GrantId::new();
        b.operations = vec![Decrypt, Encrypt];
        assert!(a.same_grant(&b), "operation order does not matter");
        b.constraints = Some(GrantConstraints {
            encryption_context_subset: Some([("a".into(), "b".into())].into()),
            ..Default::default()
        });
        assert!(!a.same_grant(&b), "other constraints");
        let mut c = a.clone();
        c.name = Some("m".into());
        assert!(!a.same_grant(&c), "other name");
        let unnamed = record(None, &[Encrypt]);
        assert!(
            !unnamed.same_grant(&unnamed.clone()),
            "no name: never a retry"
        );
    }

    #[test]
    fn records_round_trip_through_json() {
        let mut r = record(Some("n"), &[GrantOperation::Encrypt]);
        r.retiring = Some(GrantPrincipal::Service("dynamodb.amazonaws.com".into()));
        r.constraints = Some(GrantConstraints {
            encryption_context_equals: Some([("k".into(), "v".into())].into()),
            ..Default::default()
        });
        let text = serde_json::to_string(&r).expect("encode");
        let back: GrantRecord = serde_json::from_str(&text).expect("decode");
        assert_eq!(back, r);
        let damaged = text.replace(r.grant_id.as_str(), "xyz");
        assert!(serde_json::from_str::<GrantRecord>(&damaged).is_err());
    }
}
