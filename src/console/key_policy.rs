//! The console's default key policy (AWS's "default key policy" guide page): the statement
//! that enables IAM policies for the account, the key administrators statement, and the two
//! key users statements, whose actions depend on the key's type and usage. Also reads and
//! changes the administrators and users of an existing policy for the Key policy tab.

use serde::Serialize;
use serde_json::{json, Value};

/// Sid of the statement that lets the account's IAM policies grant access.
pub const SID_ROOT: &str = "Enable IAM User Permissions";
/// Sid of the key administrators statement.
pub const SID_ADMINS: &str = "Allow access for Key Administrators";
/// Sid of the key users statement for cryptographic operations.
pub const SID_USERS: &str = "Allow use of the key";
/// Sid of the key users statement for grants to AWS services.
pub const SID_GRANTS: &str = "Allow attachment of persistent resources";

/// What the key users statement allows depends on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    SymmetricEncrypt,
    Hmac,
    AsymmetricEncrypt,
    SignVerify,
    KeyAgreement,
}

impl Usage {
    /// From a key's KeySpec and KeyUsage.
    pub fn of(key_spec: &str, key_usage: &str) -> Usage {
        match key_usage {
            "GENERATE_VERIFY_MAC" => Usage::Hmac,
            "SIGN_VERIFY" => Usage::SignVerify,
            "KEY_AGREEMENT" => Usage::KeyAgreement,
            _ if key_spec == "SYMMETRIC_DEFAULT" => Usage::SymmetricEncrypt,
            _ => Usage::AsymmetricEncrypt,
        }
    }

    fn user_actions(self) -> &'static [&'static str] {
        match self {
            Usage::SymmetricEncrypt => &[
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
            Usage::Hmac => &["kms:DescribeKey", "kms:GenerateMac", "kms:VerifyMac"],
            Usage::AsymmetricEncrypt => &[
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:DescribeKey",
                "kms:GetPublicKey",
            ],
            Usage::SignVerify => &[
                "kms:DescribeKey",
                "kms:GetPublicKey",
                "kms:Sign",
                "kms:Verify",
            ],
            Usage::KeyAgreement => &[
                "kms:DescribeKey",
                "kms:GetPublicKey",
                "kms:DeriveSharedSecret",
            ],
        }
    }
}

/// The properties of a key that shape its console policy.
#[derive(Debug, Clone, Copy)]
pub struct KeyShape {
    pub usage: Usage,
    pub multi_region: bool,
    pub external: bool,
}

/// The key administrators' actions for a key of `shape`.
pub fn admin_actions(shape: KeyShape, can_delete: bool) -> Vec<&'static str> {
    let mut a = vec![
        "kms:Create*",
        "kms:Describe*",
        "kms:Enable*",
        "kms:List*",
        "kms:Put*",
        "kms:Update*",
        "kms:Revoke*",
        "kms:Disable*",
        "kms:Get*",
        "kms:Delete*",
        "kms:TagResource",
        "kms:UntagResource",
    ];
    if shape.external {
        a.push("kms:ImportKeyMaterial");
    }
    if shape.multi_region {
        a.push("kms:ReplicateKey");
        a.push("kms:UpdatePrimaryRegion");
    }
    if shape.usage == Usage::SymmetricEncrypt && !shape.external {
        a.push("kms:RotateKeyOnDemand");
    }
    if can_delete {
        a.push("kms:ScheduleKeyDeletion");
        a.push("kms:CancelKeyDeletion");
    }
    a
}

#[derive(Serialize)]
struct Doc {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Id")]
    id: &'static str,
    #[serde(rename = "Statement")]
    statement: Vec<Statement>,
}

#[derive(Serialize)]
struct Statement {
    #[serde(rename = "Sid")]
    sid: &'static str,
    #[serde(rename = "Effect")]
    effect: &'static str,
    #[serde(rename = "Principal")]
    principal: Value,
    #[serde(rename = "Action")]
    action: Value,
    #[serde(rename = "Resource")]
    resource: &'static str,
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    condition: Option<Value>,
}

fn principal(arns: &[String]) -> Value {
    if arns.len() == 1 {
        json!({ "AWS": arns[0] })
    } else {
        json!({ "AWS": arns })
    }
}

/// The policy the console proposes for a new key: the account statement always, the
/// administrators statement when there are administrators, the two users statements when
/// there are users.
pub fn console_policy(
    root_arn: &str,
    shape: KeyShape,
    admins: &[String],
    users: &[String],
    admins_can_delete: bool,
) -> String {
    let mut statement = vec![Statement {
        sid: SID_ROOT,
        effect: "Allow",
        principal: json!({ "AWS": root_arn }),
        action: json!("kms:*"),
        resource: "*",
        condition: None,
    }];
    if !admins.is_empty() {
        statement.push(Statement {
            sid: SID_ADMINS,
            effect: "Allow",
            principal: principal(admins),
            action: json!(admin_actions(shape, admins_can_delete)),
            resource: "*",
            condition: None,
        });
    }
    if !users.is_empty() {
        statement.push(Statement {
            sid: SID_USERS,
            effect: "Allow",
            principal: principal(users),
            action: json!(shape.usage.user_actions()),
            resource: "*",
            condition: None,
        });
        statement.push(Statement {
            sid: SID_GRANTS,
            effect: "Allow",
            principal: principal(users),
            action: json!(["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]),
            resource: "*",
            condition: Some(json!({"Bool": {"kms:GrantIsForAWSResource": "true"}})),
        });
    }
    let doc = Doc {
        version: "2012-10-17",
        id: "key-consolepolicy-3",
        statement,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => vec![],
    }
}

/// The `AWS` principals of the statement with `sid` in `policy`.
pub fn principals_of(policy: &str, sid: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return vec![];
    };
    let mut out = Vec::new();
    for st in statements(&doc) {
        if st.get("Sid").and_then(Value::as_str) != Some(sid) {
            continue;
        }
        match st.pointer("/Principal/AWS") {
            Some(Value::String(s)) => out.push(s.clone()),
            Some(Value::Array(a)) => {
                out.extend(a.iter().filter_map(|v| v.as_str().map(String::from)))
            }
            _ => {}
        }
    }
    out
}

/// Who the policy change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Administrators,
    Users,
}

/// `policy` with the administrators (or users) set to `arns`: the matching statements get
/// the new principals, are added when missing, or are removed when `arns` is empty.
pub fn with_principals(
    policy: &str,
    role: Role,
    arns: &[String],
    shape: KeyShape,
) -> Result<String, String> {
    let mut doc: Value = serde_json::from_str(policy)
        .map_err(|e| format!("The current key policy is not valid JSON: {e}"))?;
    let mut list: Vec<Value> = statements(&doc).into_iter().cloned().collect();
    let sids: &[&str] = match role {
        Role::Administrators => &[SID_ADMINS],
        Role::Users => &[SID_USERS, SID_GRANTS],
    };
    if arns.is_empty() {
        list.retain(|st| !sids.contains(&st.get("Sid").and_then(Value::as_str).unwrap_or("")));
    } else {
        for sid in sids {
            let existing = list
                .iter_mut()
                .find(|st| st.get("Sid").and_then(Value::as_str) == Some(sid));
            match existing {
                Some(st) => st["Principal"] = principal(arns),
                None => {
                    let fresh: Value = serde_json::from_str(&console_policy(
                        "",
                        shape,
                        if role == Role::Administrators {
                            arns
                        } else {
                            &[]
                        },
                        if role == Role::Users { arns } else { &[] },
                        true,
                    ))
                    .map_err(|e| e.to_string())?;
                    if let Some(st) = statements(&fresh)
                        .into_iter()
                        .find(|st| st.get("Sid").and_then(Value::as_str) == Some(sid))
                    {
                        list.push(st.clone());
                    }
                }
            }
        }
    }
    doc["Statement"] = Value::Array(list);
    Ok(pretty(&doc))
}

/// The order policy members are written in (the order AWS's documents use); members not
/// listed follow in name order.
const MEMBER_ORDER: &[&str] = &[
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// A policy document as indented JSON with its members in [`MEMBER_ORDER`].
pub fn pretty(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out
}

fn write_value(out: &mut String, v: &Value, depth: usize) {
    let pad = |n: usize| "  ".repeat(n);
    match v {
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| {
                (
                    MEMBER_ORDER
                        .iter()
                        .position(|o| o == k)
                        .unwrap_or(MEMBER_ORDER.len()),
                    k.as_str(),
                )
            });
            out.push_str("{\n");
            for (i, k) in keys.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&Value::String(k.to_string()).to_string());
                out.push_str(": ");
                write_value(out, &map[k.as_str()], depth + 1);
                if i + 1 < keys.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write_value(out, item, depth + 1);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "arn:aws:iam::111122223333:root";

    fn shape(usage: Usage) -> KeyShape {
        KeyShape {
            usage,
            multi_region: false,
            external: false,
        }
    }

    #[test]
    fn default_console_policy_has_the_guides_statements() {
        let admins = vec!["arn:aws:iam::111122223333:role/KMSAdminRole".to_string()];
        let users = vec!["arn:aws:iam::111122223333:user/ExampleUser".to_string()];
        let p = console_policy(ROOT, shape(Usage::SymmetricEncrypt), &admins, &users, true);
        crate::kms::policy::check_policy(&p).expect("valid policy");
        let doc: Value = serde_json::from_str(&p).expect("json");
        let sids: Vec<&str> = doc["Statement"]
            .as_array()
            .expect("list")
            .iter()
            .map(|s| s["Sid"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(sids, vec![SID_ROOT, SID_ADMINS, SID_USERS, SID_GRANTS]);
        assert_eq!(principals_of(&p, SID_ADMINS), admins);
        assert_eq!(principals_of(&p, SID_USERS), users);
        assert!(p.contains("kms:GenerateDataKey*"));
        assert!(p.contains("kms:GrantIsForAWSResource"));
    }

    #[test]
    fn user_actions_follow_the_key_usage() {
        let users = vec!["arn:aws:iam::111122223333:user/U".to_string()];
        let sign = console_policy(ROOT, shape(Usage::SignVerify), &[], &users, true);
        assert!(sign.contains("kms:Sign") && !sign.contains("kms:Encrypt"));
        let mac = console_policy(ROOT, shape(Usage::Hmac), &[], &users, true);
        assert!(mac.contains("kms:GenerateMac") && !mac.contains("kms:Decrypt"));
        let mr = KeyShape {
            usage: Usage::SymmetricEncrypt,
            multi_region: true,
            external: true,
        };
        let admins = vec![ROOT.to_string()];
        let p = console_policy(ROOT, mr, &admins, &[], false);
        assert!(p.contains("kms:ReplicateKey") && p.contains("kms:ImportKeyMaterial"));
        assert!(!p.contains("kms:ScheduleKeyDeletion"));
    }

    #[test]
    fn administrators_are_replaced_added_and_removed() {
        let base = console_policy(ROOT, shape(Usage::SymmetricEncrypt), &[], &[], true);
        let a = vec!["arn:aws:iam::111122223333:user/A".to_string()];
        let p = with_principals(
            &base,
            Role::Administrators,
            &a,
            shape(Usage::SymmetricEncrypt),
        )
        .expect("added");
        assert_eq!(principals_of(&p, SID_ADMINS), a);
        let p =
            with_principals(&p, Role::Users, &a, shape(Usage::SymmetricEncrypt)).expect("users");
        assert_eq!(principals_of(&p, SID_GRANTS), a);
        let p = with_principals(
            &p,
            Role::Administrators,
            &[],
            shape(Usage::SymmetricEncrypt),
        )
        .expect("removed");
        assert!(principals_of(&p, SID_ADMINS).is_empty());
        assert_eq!(principals_of(&p, SID_ROOT), vec![ROOT.to_string()]);
        assert!(with_principals("{", Role::Users, &a, shape(Usage::Hmac)).is_err());
    }

    #[test]
    fn rewritten_policies_keep_the_documents_member_order() {
        let doc: Value = serde_json::from_str(
            r#"{"Statement":[{"Resource":"*","Action":"kms:*","Sid":"S","Effect":"Allow","Principal":{"AWS":"x"}}],"Id":"i","Version":"2012-10-17"}"#,
        )
        .expect("json");
        let p = pretty(&doc);
        let order: Vec<usize> = [
            "\"Version\"",
            "\"Id\"",
            "\"Statement\"",
            "\"Sid\"",
            "\"Effect\"",
            "\"Principal\"",
            "\"Action\"",
            "\"Resource\"",
        ]
        .iter()
        .map(|k| p.find(k).expect("member present"))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{p}");
        assert_eq!(serde_json::from_str::<Value>(&p).expect("valid"), doc);
    }
}
