//! A policy document parsed once into typed statements ([`PolicyDoc`]); a malformed
//! document is refused with a [`PolicyError`].

use serde_json::{Map, Value};

use super::condition::Condition;
use super::error::{PolicyError, PolicyKind};
use super::template::Template;
use crate::authz::arn::{self, PrincipalArn};

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDoc {
    pub kind: PolicyKind,
    /// `Version` is 2012-10-17 (policy variables are read).
    pub current_version: bool,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<PrincipalElement>,
    pub action: Match<String>,
    /// `None` in trust policies.
    pub resource: Option<Match<Template>>,
    pub conditions: Vec<Condition>,
}

/// `X` or `NotX` with its entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Match<T> {
    pub negated: bool,
    pub entries: Vec<T>,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalElement {
    pub negated: bool,
    /// `"*"` or `{"AWS": "*"}`: everyone.
    pub everyone: bool,
    pub aws: Vec<PrincipalArn>,
    /// The same principals as ARN text (an account id as its `:root` ARN).
    pub aws_arns: Vec<String>,
    /// `{"Service": ...}` entries (no caller of hsm-kms is an AWS service).
    pub services: Vec<String>,
    /// `{"Federated": ...}` / `{"CanonicalUser": ...}` entries, kept but never matched.
    pub other: Vec<String>,
}

impl PolicyDoc {
    /// Parses and checks a policy document of the given kind.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<PolicyDoc, PolicyError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| PolicyError::InvalidJson(e.to_string()))?;
        let obj = value.as_object().ok_or(PolicyError::NotAnObject)?;
        for k in obj.keys() {
            if !["Version", "Id", "Statement"].contains(&k.as_str()) {
                return Err(PolicyError::UnknownElement(k.clone()));
            }
        }
        let current_version = match obj.get("Version") {
            None => false,
            Some(Value::String(v)) if v == "2012-10-17" => true,
            Some(Value::String(v)) if v == "2008-10-17" => false,
            Some(v) => return Err(PolicyError::BadVersion(v.to_string())),
        };
        let id = match obj.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(PolicyError::NotStrings("Id".into())),
        };
        let raw_statements: Vec<&Value> = match obj.get("Statement") {
            Some(Value::Array(a)) if !a.is_empty() => a.iter().collect(),
            Some(s @ Value::Object(_)) => vec![s],
            _ => return Err(PolicyError::NoStatement),
        };
        let mut statements = Vec::with_capacity(raw_statements.len());
        for (i, s) in raw_statements.into_iter().enumerate() {
            let at = match s.get("Sid").and_then(Value::as_str) {
                Some(sid) if !sid.is_empty() => format!("Statement[{i}] (Sid {sid})"),
                _ => format!("Statement[{i}]"),
            };
            let st = parse_statement(s, kind, current_version).map_err(|e| e.at(at))?;
            statements.push(st);
        }
        Ok(PolicyDoc {
            kind,
            current_version,
            id,
            statements,
        })
    }

    /// KMS's extra check on key policies: `ForAllValues` with a single-valued key
    /// (`kms:EncryptionContext:…`, `aws:RequestTag/…`) is refused as overly permissive.
    pub fn check_kms_rules(&self) -> Result<(), PolicyError> {
        for s in &self.statements {
            for c in &s.conditions {
                if c.set == super::condition::SetOp::AllValues {
                    let k = c.key.to_ascii_lowercase();
                    if k.starts_with("kms:encryptioncontext:") {
                        return Err(PolicyError::OverlyPermissive("encryption context"));
                    }
                    if k.starts_with("aws:requesttag/") {
                        return Err(PolicyError::OverlyPermissive("tag"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every AWS principal ARN the policy names (for the strict-mode check that they exist).
    pub fn principal_arns(&self) -> impl Iterator<Item = &PrincipalArn> {
        self.statements
            .iter()
            .filter_map(|s| s.principal.as_ref())
            .flat_map(|p| p.aws.iter())
    }
}

fn parse_statement(v: &Value, kind: PolicyKind, variables: bool) -> Result<Statement, PolicyError> {
    let obj = v.as_object().ok_or(PolicyError::NotAnObject)?;
    const KNOWN: &[&str] = &[
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
    for k in obj.keys() {
        if !KNOWN.contains(&k.as_str()) {
            return Err(PolicyError::UnknownElement(k.clone()));
        }
    }
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(PolicyError::NotStrings("Sid".into())),
    };
    let effect = match obj.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => return Err(PolicyError::BadEffect(other.to_string())),
        None => return Err(PolicyError::MissingEffect),
    };

    let principal = match pick(obj, "Principal", "NotPrincipal")? {
        None => None,
        Some((negated, v)) => Some(parse_principal(v, negated)?),
    };
    match (kind, &principal) {
        (PolicyKind::Identity, Some(_)) => return Err(PolicyError::PrincipalNotAllowed),
        (PolicyKind::Key | PolicyKind::Trust, None) => return Err(PolicyError::MissingPrincipal),
        _ => {}
    }

    let action = match pick(obj, "Action", "NotAction")? {
        None => return Err(PolicyError::MissingAction),
        Some((negated, v)) => {
            let entries = strings(v, "Action")?
                .into_iter()
                .map(|a| check_action(&a).map(|()| a.to_ascii_lowercase()))
                .collect::<Result<Vec<_>, _>>()?;
            if entries.is_empty() {
                return Err(PolicyError::MissingAction);
            }
            Match { negated, entries }
        }
    };

    let resource = match (pick(obj, "Resource", "NotResource")?, kind) {
        (Some(_), PolicyKind::Trust) => return Err(PolicyError::ResourceNotAllowed),
        (None, PolicyKind::Trust) => None,
        (None, _) => return Err(PolicyError::MissingResource),
        (Some((negated, v)), _) => {
            let mut entries = Vec::new();
            for r in strings(v, "Resource")? {
                if r != "*" && !(r.starts_with("arn:") && r.matches(':').count() >= 5) {
                    return Err(PolicyError::BadResource(r));
                }
                entries.push(Template::parse(&r, variables)?);
            }
            if entries.is_empty() {
                return Err(PolicyError::MissingResource);
            }
            Some(Match { negated, entries })
        }
    };

    let mut conditions = Vec::new();
    match obj.get("Condition") {
        None => {}
        Some(Value::Object(blocks)) => {
            for (operator, keys) in blocks {
                let keys = keys
                    .as_object()
                    .ok_or_else(|| PolicyError::NotStrings(format!("Condition {operator}")))?;
                for (key, values) in keys {
                    let values = condition_values(values, key)?
                        .iter()
                        .map(|s| Template::parse(s, variables))
                        .collect::<Result<Vec<_>, _>>()?;
                    conditions.push(Condition::new(operator, key, values)?);
                }
            }
        }
        Some(_) => return Err(PolicyError::NotStrings("Condition".into())),
    }

    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

/// The one of `X`/`NotX` present, refusing both.
fn pick<'a>(
    obj: &'a Map<String, Value>,
    yes: &'static str,
    not: &'static str,
) -> Result<Option<(bool, &'a Value)>, PolicyError> {
    match (obj.get(yes), obj.get(not)) {
        (Some(_), Some(_)) => Err(PolicyError::Both(yes, not)),
        (Some(v), None) => Ok(Some((false, v))),
        (None, Some(v)) => Ok(Some((true, v))),
        (None, None) => Ok(None),
    }
}

/// A string or a list of strings.
fn strings(v: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|e| {
                e.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| PolicyError::NotStrings(what.to_string()))
            })
            .collect(),
        _ => Err(PolicyError::NotStrings(what.to_string())),
    }
}

/// Condition values may be strings, numbers or booleans, alone or in a list.
fn condition_values(v: &Value, key: &str) -> Result<Vec<String>, PolicyError> {
    fn one(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match v {
        Value::Array(a) => a
            .iter()
            .map(|e| one(e).ok_or_else(|| PolicyError::NotStrings(format!("Condition {key}"))))
            .collect(),
        other => one(other)
            .map(|s| vec![s])
            .ok_or_else(|| PolicyError::NotStrings(format!("Condition {key}"))),
    }
}

fn check_action(a: &str) -> Result<(), PolicyError> {
    if a == "*" {
        return Ok(());
    }
    match a.matches(':').count() {
        0 => Err(PolicyError::ActionWithoutVendor(a.to_string())),
        1 if !a.starts_with(':') => Ok(()),
        1 => Err(PolicyError::ActionWithoutVendor(a.to_string())),
        _ => Err(PolicyError::ActionWithColons(a.to_string())),
    }
}

fn parse_principal(v: &Value, negated: bool) -> Result<PrincipalElement, PolicyError> {
    let mut p = PrincipalElement {
        negated,
        everyone: false,
        aws: Vec::new(),
        aws_arns: Vec::new(),
        services: Vec::new(),
        other: Vec::new(),
    };
    let invalid = |s: &str| PolicyError::InvalidPrincipal(s.to_string());
    match v {
        Value::String(s) if s == "*" => p.everyone = true,
        Value::Object(map) => {
            for (kind, entries) in map {
                let entries = strings(entries, "Principal").map_err(|_| invalid(kind))?;
                for e in entries {
                    match kind.as_str() {
                        "AWS" if e == "*" => p.everyone = true,
                        "AWS" => p
                            .aws
                            .push(PrincipalArn::parse(&e).ok_or_else(|| invalid(&e))?),
                        "Service" if e.contains('.') && !e.contains(char::is_whitespace) => {
                            p.services.push(e)
                        }
                        "Federated" | "CanonicalUser" if !e.is_empty() => p.other.push(e),
                        _ => return Err(invalid(&e)),
                    }
                }
            }
            if !p.everyone && p.aws.is_empty() && p.services.is_empty() && p.other.is_empty() {
                return Err(invalid("{}"));
            }
        }
        other => return Err(invalid(&other.to_string())),
    }
    p.aws_arns = p.aws.iter().map(PrincipalArn::to_arn).collect();
    Ok(p)
}

/// True when `pattern` (`*` or six ARN fields) is well formed; for callers that check a
/// value before building a policy.
pub fn is_resource_pattern(pattern: &str) -> bool {
    arn::is_valid_pattern(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_policy(statement: &str) -> Result<PolicyDoc, PolicyError> {
        PolicyDoc::parse(
            &format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#),
            PolicyKind::Key,
        )
    }

    fn identity(statement: &str) -> Result<PolicyDoc, PolicyError> {
        PolicyDoc::parse(
            &format!(r#"{{"Version":"2012-10-17","Statement":{statement}}}"#),
            PolicyKind::Identity,
        )
    }

    #[test]
    fn the_default_key_policy_parses() {
        let p = PolicyDoc::parse(
            "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::111122223333:root\"\n    },\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}",
            PolicyKind::Key,
        )
        .expect("parses");
        assert_eq!(p.id.as_deref(), Some("key-default-1"));
        assert_eq!(p.statements.len(), 1);
        let s = &p.statements[0];
        assert_eq!(s.effect, Effect::Allow);
        assert_eq!(s.action.entries, vec!["kms:*".to_string()]);
        let principal = s.principal.as_ref().expect("principal");
        assert_eq!(principal.aws[0].to_arn(), "arn:aws:iam::111122223333:root");
    }

    #[test]
    fn statement_may_be_a_single_object() {
        let p = identity(r#"{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}"#)
            .expect("parses");
        assert_eq!(p.statements.len(), 1);
    }

    #[test]
    fn actions_are_kept_lowercased_for_case_insensitive_matching() {
        let p = identity(r#"{"Effect":"Allow","Action":["KMS:Encrypt"],"Resource":"*"}"#)
            .expect("parses");
        assert_eq!(
            p.statements[0].action.entries,
            vec!["kms:encrypt".to_string()]
        );
    }

    #[test]
    fn malformed_documents_are_refused_with_what_is_wrong() {
        let cases: &[(&str, PolicyError)] = &[
            (
                r#"{"Effect":"Maybe","Action":"kms:*","Resource":"*"}"#,
                PolicyError::BadEffect("\"Maybe\"".into()),
            ),
            (
                r#"{"Action":"kms:*","Resource":"*"}"#,
                PolicyError::MissingEffect,
            ),
            (
                r#"{"Effect":"Allow","Resource":"*"}"#,
                PolicyError::MissingAction,
            ),
            (
                r#"{"Effect":"Allow","Action":"kms:*"}"#,
                PolicyError::MissingResource,
            ),
            (
                r#"{"Effect":"Allow","Action":"Encrypt","Resource":"*"}"#,
                PolicyError::ActionWithoutVendor("Encrypt".into()),
            ),
            (
                r#"{"Effect":"Allow","Action":"kms:a:b","Resource":"*"}"#,
                PolicyError::ActionWithColons("kms:a:b".into()),
            ),
            (
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"key/1"}"#,
                PolicyError::BadResource("key/1".into()),
            ),
            (
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Principal":"*"}"#,
                PolicyError::PrincipalNotAllowed,
            ),
            (
                r#"{"Effect":"Allow","Action":"kms:*","NotAction":"kms:x","Resource":"*"}"#,
                PolicyError::Both("Action", "NotAction"),
            ),
            (
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"StringEqualz":{"aws:x":"1"}}}"#,
                PolicyError::UnknownConditionOperator("StringEqualz".into()),
            ),
            (
                r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Extra":1}"#,
                PolicyError::UnknownElement("Extra".into()),
            ),
        ];
        for (statement, want) in cases {
            let err = identity(statement).expect_err(statement);
            match &err {
                PolicyError::InStatement { at, problem } => {
                    assert_eq!(at, "Statement[0]");
                    assert_eq!(problem.as_ref(), want, "{statement}");
                }
                other => panic!("{statement}: {other:?}"),
            }
            assert_eq!(err.message(), want.to_string());
            assert_eq!(err.aws_code(), "MalformedPolicyDocumentException");
        }
    }

    #[test]
    fn document_level_faults() {
        assert!(matches!(
            PolicyDoc::parse("{", PolicyKind::Key),
            Err(PolicyError::InvalidJson(_))
        ));
        assert_eq!(
            PolicyDoc::parse("[]", PolicyKind::Key),
            Err(PolicyError::NotAnObject)
        );
        assert_eq!(
            PolicyDoc::parse("{}", PolicyKind::Key),
            Err(PolicyError::NoStatement)
        );
        assert_eq!(
            PolicyDoc::parse(r#"{"Statement":[]}"#, PolicyKind::Key),
            Err(PolicyError::NoStatement)
        );
        assert!(matches!(
            PolicyDoc::parse(
                r#"{"Version":"2020-01-01","Statement":[]}"#,
                PolicyKind::Key
            ),
            Err(PolicyError::BadVersion(_))
        ));
    }

    #[test]
    fn key_policy_statements_need_valid_principals() {
        let e = key_policy(r#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#).unwrap_err();
        assert_eq!(
            e.message(),
            "Policy contains a statement with no principal."
        );
        for bad in [
            r#""alice""#,
            r#"{"AWS":"arn:aws:iam::111122223333:group/x"}"#,
            r#"{"AWS":"arn:aws:iam::111122223333:user/al*"}"#,
            r#"{"Nobody":"x"}"#,
            r#"{"AWS":[]}"#,
        ] {
            let e = key_policy(&format!(
                r#"{{"Effect":"Allow","Principal":{bad},"Action":"kms:*","Resource":"*"}}"#
            ))
            .unwrap_err();
            assert_eq!(
                e.message(),
                "Policy contains a statement with one or more invalid principals.",
                "{bad}"
            );
        }
        key_policy(r#"{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:sts::111122223333:assumed-role/R/s"],"Service":"logs.amazonaws.com"},"Action":"kms:*","Resource":"*"}"#)
            .expect("valid principals");
    }

    #[test]
    fn trust_policies_name_a_principal_and_no_resource() {
        PolicyDoc::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"sts:AssumeRole"}}"#,
            PolicyKind::Trust,
        )
        .expect("trust policy");
        let e = PolicyDoc::parse(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}"#,
            PolicyKind::Trust,
        )
        .unwrap_err();
        assert_eq!(e.message(), "Has prohibited field Resource");
    }

    #[test]
    fn kms_refuses_for_all_values_on_single_valued_keys() {
        let p = key_policy(r#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContext:dept":"IT"}}}"#)
            .expect("parses");
        let e = p.check_kms_rules().unwrap_err();
        assert!(e.message().starts_with("OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context"));
    }

    #[test]
    fn condition_values_may_be_numbers_and_booleans() {
        let p = identity(r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{"Bool":{"kms:MultiRegion":true},"NumericLessThan":{"kms:RotationPeriodInDays":[90, 180]}}}"#)
            .expect("parses");
        let c = &p.statements[0].conditions;
        assert_eq!(c.len(), 2);
        assert!(c.iter().any(|c| c.values.iter().any(|v| v.raw == "true")));
        assert!(c.iter().any(|c| c.values.iter().any(|v| v.raw == "180")));
    }
}
