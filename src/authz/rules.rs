//! KMS's authorization rules as data: for every KMS action, the resource it is
//! authorized on, whether a principal of another account may call it, whether it comes
//! from IAM policies only, and whether a grant may allow it (kms-api-permissions-
//! reference.md, grants.md, key-policy-default.md).

/// What an action is authorized on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    /// A KMS key: its key policy decides, IAM policies count where it allows.
    Key,
    /// An alias (CreateAlias, UpdateAlias, DeleteAlias also need the key).
    Alias,
    /// No particular resource (`*`): IAM policies only.
    None,
}

/// Where permission for an action may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The key policy, and IAM policies where the key policy enables them.
    KeyPolicy,
    /// IAM policies only; the action is ineffective in a key policy.
    IamOnly,
    /// Not controlled by policies: who may call it is written in the grant (RetireGrant).
    Grant,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionRule {
    /// `kms:<Operation>`.
    pub action: &'static str,
    /// What it is authorized on, in the order they are checked.
    pub resources: &'static [ResourceType],
    pub source: Source,
    /// Whether a principal of another account may perform it on a key here.
    pub cross_account: bool,
    /// Whether a grant may allow it (a "grant operation").
    pub grant_operation: bool,
}

use ResourceType::{Alias, Key, None as NoResource};
use Source::{Grant, IamOnly, KeyPolicy};

const fn r(
    action: &'static str,
    resources: &'static [ResourceType],
    source: Source,
    cross_account: bool,
    grant_operation: bool,
) -> ActionRule {
    ActionRule {
        action,
        resources,
        source,
        cross_account,
        grant_operation,
    }
}

/// Every KMS action hsm-kms knows.
pub const KMS_ACTIONS: &[ActionRule] = &[
    //  action                                      resources        source     x-acct grant
    r("kms:CancelKeyDeletion", &[Key], KeyPolicy, false, false),
    r(
        "kms:ConnectCustomKeyStore",
        &[NoResource],
        IamOnly,
        false,
        false,
    ),
    r("kms:CreateAlias", &[Alias, Key], KeyPolicy, false, false),
    r(
        "kms:CreateCustomKeyStore",
        &[NoResource],
        IamOnly,
        false,
        false,
    ),
    r("kms:CreateGrant", &[Key], KeyPolicy, true, true),
    r("kms:CreateKey", &[NoResource], IamOnly, false, false),
    r("kms:Decrypt", &[Key], KeyPolicy, true, true),
    r("kms:DeleteAlias", &[Alias, Key], KeyPolicy, false, false),
    r(
        "kms:DeleteCustomKeyStore",
        &[NoResource],
        IamOnly,
        false,
        false,
    ),
    r(
        "kms:DeleteImportedKeyMaterial",
        &[Key],
        KeyPolicy,
        false,
        false,
    ),
    r("kms:DeriveSharedSecret", &[Key], KeyPolicy, true, true),
    r(
        "kms:DescribeCustomKeyStores",
        &[NoResource],
        IamOnly,
        false,
        false,
    ),
    r("kms:DescribeKey", &[Key], KeyPolicy, true, true),
    r("kms:DisableKey", &[Key], KeyPolicy, false, false),
    r("kms:DisableKeyRotation", &[Key], KeyPolicy, false, false),
    r(
        "kms:DisconnectCustomKeyStore",
        &[NoResource],
        IamOnly,
        false,
        false,
    ),
    r("kms:EnableKey", &[Key], KeyPolicy, false, false),
    r("kms:EnableKeyRotation", &[Key], KeyPolicy, false, false),
    r("kms:Encrypt", &[Key], KeyPolicy, true, true),
    r("kms:GenerateDataKey", &[Key], KeyPolicy, true, true),
    r("kms:GenerateDataKeyPair", &[Key], KeyPolicy, true, true),
    r(
        "kms:GenerateDataKeyPairWithoutPlaintext",
        &[Key],
        KeyPolicy,
        true,
        true,
    ),
    r(
        "kms:GenerateDataKeyWithoutPlaintext",
        &[Key],
        KeyPolicy,
        true,
        true,
    ),
    r("kms:GenerateMac", &[Key], KeyPolicy, true, true),
    r("kms:GenerateRandom", &[NoResource], IamOnly, false, false),
    r("kms:GetKeyPolicy", &[Key], KeyPolicy, false, false),
    r("kms:GetKeyRotationStatus", &[Key], KeyPolicy, true, false),
    r(
        "kms:GetParametersForImport",
        &[Key],
        KeyPolicy,
        false,
        false,
    ),
    r("kms:GetPublicKey", &[Key], KeyPolicy, true, true),
    r("kms:ImportKeyMaterial", &[Key], KeyPolicy, false, false),
    r("kms:ListAliases", &[NoResource], IamOnly, false, false),
    r("kms:ListGrants", &[Key], KeyPolicy, true, false),
    r("kms:ListKeyPolicies", &[Key], KeyPolicy, false, false),
    r("kms:ListKeyRotations", &[Key], KeyPolicy, false, false),
    r("kms:ListKeys", &[NoResource], IamOnly, false, false),
    r("kms:ListResourceTags", &[Key], KeyPolicy, false, false),
    r(
        "kms:ListRetirableGrants",
        &[NoResource],
        IamOnly,
        false,
        false,
    ),
    r("kms:PutKeyPolicy", &[Key], KeyPolicy, false, false),
    r("kms:ReEncryptFrom", &[Key], KeyPolicy, true, true),
    r("kms:ReEncryptTo", &[Key], KeyPolicy, true, true),
    r("kms:ReplicateKey", &[Key], KeyPolicy, false, false),
    r("kms:RetireGrant", &[Key], Grant, true, true),
    r("kms:RevokeGrant", &[Key], KeyPolicy, true, false),
    r("kms:RotateKeyOnDemand", &[Key], KeyPolicy, false, false),
    r("kms:ScheduleKeyDeletion", &[Key], KeyPolicy, false, false),
    r("kms:Sign", &[Key], KeyPolicy, true, true),
    r("kms:TagResource", &[Key], KeyPolicy, false, false),
    r("kms:UntagResource", &[Key], KeyPolicy, false, false),
    r("kms:UpdateAlias", &[Alias, Key], KeyPolicy, false, false),
    r(
        "kms:UpdateCustomKeyStore",
        &[NoResource],
        IamOnly,
        false,
        false,
    ),
    r("kms:UpdateKeyDescription", &[Key], KeyPolicy, false, false),
    r("kms:UpdatePrimaryRegion", &[Key], KeyPolicy, false, false),
    r("kms:Verify", &[Key], KeyPolicy, true, true),
    r("kms:VerifyMac", &[Key], KeyPolicy, true, true),
];

/// The row for an action (`kms:Encrypt`; case-insensitive as IAM matches actions).
pub fn rule(action: &str) -> Option<&'static ActionRule> {
    static BY_NAME: std::sync::LazyLock<std::collections::HashMap<String, &'static ActionRule>> =
        std::sync::LazyLock::new(|| {
            KMS_ACTIONS
                .iter()
                .map(|r| (r.action.to_ascii_lowercase(), r))
                .collect()
        });
    if action.bytes().any(|b| b.is_ascii_uppercase()) {
        BY_NAME.get(&action.to_ascii_lowercase()).copied()
    } else {
        BY_NAME.get(action).copied()
    }
}

/// The grant operation names (`Encrypt`, `ReEncryptFrom`, …) a grant may list.
pub fn grant_operations() -> impl Iterator<Item = &'static str> {
    KMS_ACTIONS
        .iter()
        .filter(|r| r.grant_operation)
        .map(|r| &r.action[4..])
}

/// Grant operations that take an encryption context, so that grant constraints apply to
/// them (create-grant-overview.md); a constrained grant may list only these.
pub const CONSTRAINABLE_GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "CreateGrant",
    "RetireGrant",
];

/// Grant operations every key accepts.
const COMMON_GRANT_OPERATIONS: &[&str] = &["CreateGrant", "DescribeKey", "RetireGrant"];

/// The grant operations a key of a given usage accepts (besides CreateGrant, DescribeKey
/// and RetireGrant): a grant may only allow what the key can do.
pub const GRANT_OPERATIONS_BY_USAGE: &[(&str, bool, &[&str])] = &[
    // (KeyUsage, symmetric, operations)
    (
        "ENCRYPT_DECRYPT",
        true,
        &[
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "GenerateDataKeyWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
        ],
    ),
    (
        "ENCRYPT_DECRYPT",
        false,
        &[
            "Decrypt",
            "Encrypt",
            "ReEncryptFrom",
            "ReEncryptTo",
            "GetPublicKey",
        ],
    ),
    ("SIGN_VERIFY", false, &["Sign", "Verify", "GetPublicKey"]),
    ("GENERATE_VERIFY_MAC", true, &["GenerateMac", "VerifyMac"]),
    (
        "KEY_AGREEMENT",
        false,
        &["DeriveSharedSecret", "GetPublicKey"],
    ),
];

/// Whether a grant on a key of this usage may list `operation`.
pub fn grant_operation_valid_for(operation: &str, key_usage: &str, symmetric: bool) -> bool {
    COMMON_GRANT_OPERATIONS.contains(&operation)
        || GRANT_OPERATIONS_BY_USAGE
            .iter()
            .any(|(u, sym, ops)| *u == key_usage && *sym == symmetric && ops.contains(&operation))
}

/// The value type of a condition key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    String,
    Boolean,
    Numeric,
    Date,
}

/// Which requests a `kms:` condition key has a value in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// These operations (names without `kms:`).
    Ops(&'static [&'static str]),
    /// Every operation authorized on a KMS key.
    KeyOperations,
    /// CreateKey and every operation authorized on a KMS key.
    CreateKeyAndKeyOperations,
    /// The cryptographic operations, DescribeKey and GetPublicKey.
    CryptoDescribeGetPublicKey,
}

/// One `kms:` condition key (conditions-kms.md) and the requests it has a value in; the
/// operations fill these in the request context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionKey {
    /// As conditions-kms.md spells it (`kms:EncryptionContext:` is a prefix).
    pub key: &'static str,
    pub value_type: KeyType,
    pub multi_valued: bool,
    pub applies: Applies,
    /// Supported in IAM policies only (key policies never see a value).
    pub iam_only: bool,
}

const fn k(
    key: &'static str,
    value_type: KeyType,
    multi_valued: bool,
    applies: Applies,
    iam_only: bool,
) -> ConditionKey {
    ConditionKey {
        key,
        value_type,
        multi_valued,
        applies,
        iam_only,
    }
}

const ENCRYPTION_CONTEXT_OPS: &[&str] = &[
    "CreateGrant",
    "Encrypt",
    "Decrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
];

use Applies::{CreateKeyAndKeyOperations, CryptoDescribeGetPublicKey, KeyOperations, Ops};

/// Every `kms:` condition key hsm-kms supplies.
pub const KMS_CONDITION_KEYS: &[ConditionKey] = &[
    k(
        "kms:BypassPolicyLockoutSafetyCheck",
        KeyType::Boolean,
        false,
        Ops(&["CreateKey", "PutKeyPolicy"]),
        false,
    ),
    k(
        "kms:CallerAccount",
        KeyType::String,
        false,
        KeyOperations,
        false,
    ),
    k(
        "kms:DataKeyPairSpec",
        KeyType::String,
        false,
        Ops(&["GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"]),
        false,
    ),
    k(
        "kms:EncryptionAlgorithm",
        KeyType::String,
        false,
        Ops(&[
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "GenerateDataKeyWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
        ]),
        false,
    ),
    k(
        "kms:EncryptionContext:",
        KeyType::String,
        false,
        Ops(ENCRYPTION_CONTEXT_OPS),
        false,
    ),
    k(
        "kms:EncryptionContextKeys",
        KeyType::String,
        true,
        Ops(ENCRYPTION_CONTEXT_OPS),
        false,
    ),
    k(
        "kms:ExpirationModel",
        KeyType::String,
        false,
        Ops(&["ImportKeyMaterial"]),
        false,
    ),
    k(
        "kms:GrantConstraintType",
        KeyType::String,
        false,
        Ops(&["CreateGrant"]),
        false,
    ),
    k(
        "kms:GrantIsForAWSResource",
        KeyType::Boolean,
        false,
        Ops(&["CreateGrant", "ListGrants", "RevokeGrant"]),
        false,
    ),
    k(
        "kms:GrantOperations",
        KeyType::String,
        true,
        Ops(&["CreateGrant"]),
        false,
    ),
    k(
        "kms:GranteePrincipal",
        KeyType::String,
        false,
        Ops(&["CreateGrant"]),
        false,
    ),
    k(
        "kms:KeyAgreementAlgorithm",
        KeyType::String,
        false,
        Ops(&["DeriveSharedSecret"]),
        false,
    ),
    k(
        "kms:KeyOrigin",
        KeyType::String,
        false,
        CreateKeyAndKeyOperations,
        false,
    ),
    k(
        "kms:KeySpec",
        KeyType::String,
        false,
        CreateKeyAndKeyOperations,
        false,
    ),
    k(
        "kms:KeyUsage",
        KeyType::String,
        false,
        CreateKeyAndKeyOperations,
        false,
    ),
    k(
        "kms:MacAlgorithm",
        KeyType::String,
        false,
        Ops(&["GenerateMac", "VerifyMac"]),
        false,
    ),
    k(
        "kms:MessageType",
        KeyType::String,
        false,
        Ops(&["Sign", "Verify"]),
        false,
    ),
    k(
        "kms:MultiRegion",
        KeyType::Boolean,
        false,
        CreateKeyAndKeyOperations,
        false,
    ),
    k(
        "kms:MultiRegionKeyType",
        KeyType::String,
        false,
        CreateKeyAndKeyOperations,
        false,
    ),
    k(
        "kms:PrimaryRegion",
        KeyType::String,
        false,
        Ops(&["UpdatePrimaryRegion"]),
        false,
    ),
    k(
        "kms:ReEncryptOnSameKey",
        KeyType::Boolean,
        false,
        Ops(&["ReEncryptFrom", "ReEncryptTo"]),
        false,
    ),
    k(
        "kms:ReplicaRegion",
        KeyType::String,
        false,
        Ops(&["ReplicateKey"]),
        false,
    ),
    k(
        "kms:RequestAlias",
        KeyType::String,
        false,
        CryptoDescribeGetPublicKey,
        false,
    ),
    k(
        "kms:ResourceAliases",
        KeyType::String,
        true,
        KeyOperations,
        true,
    ),
    k(
        "kms:RetiringPrincipal",
        KeyType::String,
        false,
        Ops(&["CreateGrant"]),
        false,
    ),
    k(
        "kms:RotationPeriodInDays",
        KeyType::Numeric,
        false,
        Ops(&["EnableKeyRotation"]),
        false,
    ),
    k(
        "kms:ScheduleKeyDeletionPendingWindowInDays",
        KeyType::Numeric,
        false,
        Ops(&["ScheduleKeyDeletion"]),
        false,
    ),
    k(
        "kms:SigningAlgorithm",
        KeyType::String,
        false,
        Ops(&["Sign", "Verify"]),
        false,
    ),
    k(
        "kms:ValidTo",
        KeyType::Date,
        false,
        Ops(&["ImportKeyMaterial"]),
        false,
    ),
    k(
        "kms:WrappingAlgorithm",
        KeyType::String,
        false,
        Ops(&["GetParametersForImport"]),
        false,
    ),
    k(
        "kms:WrappingKeySpec",
        KeyType::String,
        false,
        Ops(&["GetParametersForImport"]),
        false,
    ),
];

/// The cryptographic operations (concepts.md), for `kms:RequestAlias`.
pub const CRYPTOGRAPHIC_OPERATIONS: &[&str] = &[
    "Decrypt",
    "DeriveSharedSecret",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "VerifyMac",
];

/// The `kms:` condition keys that have a value in a request for `action` (`kms:Encrypt`).
pub fn condition_keys_for(action: &str) -> impl Iterator<Item = &'static ConditionKey> + '_ {
    let op = action.strip_prefix("kms:").unwrap_or(action);
    let on_key = rule(action).is_some_and(|r| r.resources.contains(&ResourceType::Key));
    KMS_CONDITION_KEYS.iter().filter(move |c| match c.applies {
        Ops(ops) => ops.contains(&op),
        KeyOperations => on_key,
        CreateKeyAndKeyOperations => on_key || op == "CreateKey",
        CryptoDescribeGetPublicKey => {
            CRYPTOGRAPHIC_OPERATIONS.contains(&op) || op == "DescribeKey" || op == "GetPublicKey"
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_unique_and_named_kms_colon_operation() {
        for (i, a) in KMS_ACTIONS.iter().enumerate() {
            assert!(a.action.starts_with("kms:"), "{}", a.action);
            assert!(!a.resources.is_empty());
            for b in &KMS_ACTIONS[i + 1..] {
                assert_ne!(a.action, b.action);
            }
        }
    }

    #[test]
    fn create_key_list_keys_list_aliases_and_generate_random_come_from_iam_only() {
        for a in [
            "kms:CreateKey",
            "kms:ListKeys",
            "kms:ListAliases",
            "kms:GenerateRandom",
        ] {
            let r = rule(a).expect(a);
            assert_eq!(r.source, Source::IamOnly, "{a}");
            assert_eq!(r.resources, &[ResourceType::None], "{a}");
        }
    }

    #[test]
    fn replicate_key_and_update_primary_region_are_never_cross_account() {
        for a in [
            "kms:ReplicateKey",
            "kms:UpdatePrimaryRegion",
            "kms:TagResource",
            "kms:PutKeyPolicy",
        ] {
            assert!(!rule(a).expect(a).cross_account, "{a}");
        }
        for a in [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:CreateGrant",
            "kms:ReEncryptTo",
        ] {
            assert!(rule(a).expect(a).cross_account, "{a}");
        }
    }

    #[test]
    fn alias_actions_need_the_alias_and_the_key() {
        for a in ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"] {
            assert_eq!(
                rule(a).expect(a).resources,
                &[ResourceType::Alias, ResourceType::Key]
            );
        }
    }

    #[test]
    fn condition_keys_name_known_operations() {
        for c in KMS_CONDITION_KEYS {
            if let Applies::Ops(ops) = c.applies {
                for op in ops {
                    assert!(rule(&format!("kms:{op}")).is_some(), "{} names {op}", c.key);
                }
            }
        }
    }

    #[test]
    fn each_operation_gets_the_condition_keys_the_guide_lists() {
        let keys = |a: &str| condition_keys_for(a).map(|c| c.key).collect::<Vec<_>>();
        let encrypt = keys("kms:Encrypt");
        for k in [
            "kms:CallerAccount",
            "kms:EncryptionContext:",
            "kms:EncryptionContextKeys",
            "kms:EncryptionAlgorithm",
            "kms:KeySpec",
            "kms:MultiRegion",
            "kms:RequestAlias",
            "kms:ResourceAliases",
        ] {
            assert!(encrypt.contains(&k), "Encrypt: {k}");
        }
        assert!(!encrypt.contains(&"kms:ReplicaRegion"));
        let create = keys("kms:CreateKey");
        assert!(
            create.contains(&"kms:MultiRegionKeyType")
                && create.contains(&"kms:BypassPolicyLockoutSafetyCheck")
        );
        assert!(!create.contains(&"kms:CallerAccount"));
        assert_eq!(keys("kms:ListKeys"), Vec::<&str>::new());
        assert!(keys("kms:ReplicateKey").contains(&"kms:ReplicaRegion"));
        assert!(keys("kms:UpdatePrimaryRegion").contains(&"kms:PrimaryRegion"));
        assert!(KMS_CONDITION_KEYS
            .iter()
            .filter(|c| c.iam_only)
            .all(|c| c.key == "kms:ResourceAliases"));
    }

    #[test]
    fn a_grant_may_only_allow_what_the_key_can_do() {
        assert!(grant_operation_valid_for(
            "GenerateDataKey",
            "ENCRYPT_DECRYPT",
            true
        ));
        assert!(!grant_operation_valid_for(
            "GenerateDataKey",
            "ENCRYPT_DECRYPT",
            false
        ));
        assert!(grant_operation_valid_for(
            "GetPublicKey",
            "ENCRYPT_DECRYPT",
            false
        ));
        assert!(!grant_operation_valid_for("Sign", "ENCRYPT_DECRYPT", true));
        assert!(grant_operation_valid_for("Sign", "SIGN_VERIFY", false));
        assert!(grant_operation_valid_for(
            "VerifyMac",
            "GENERATE_VERIFY_MAC",
            true
        ));
        assert!(grant_operation_valid_for(
            "DeriveSharedSecret",
            "KEY_AGREEMENT",
            false
        ));
        assert!(grant_operation_valid_for(
            "DescribeKey",
            "GENERATE_VERIFY_MAC",
            true
        ));
        assert!(!grant_operation_valid_for(
            "ScheduleKeyDeletion",
            "ENCRYPT_DECRYPT",
            true
        ));
        let all: Vec<&str> = grant_operations().collect();
        for (_, _, ops) in GRANT_OPERATIONS_BY_USAGE {
            for op in *ops {
                assert!(all.contains(op), "{op} is a grant operation");
            }
        }
    }

    #[test]
    fn grant_operations_are_the_documented_ones() {
        let ops: Vec<&str> = grant_operations().collect();
        for op in [
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
            "Sign",
            "Verify",
            "GetPublicKey",
            "CreateGrant",
            "RetireGrant",
            "DescribeKey",
            "GenerateMac",
            "VerifyMac",
            "DeriveSharedSecret",
        ] {
            assert!(ops.contains(&op), "{op}");
        }
        assert_eq!(ops.len(), 17);
        assert!(rule("KMS:encrypt").is_some());
    }
}
