//! Template parameters: their declarations (Type, Default, AllowedValues, AllowedPattern,
//! Min/MaxLength, Min/MaxValue, NoEcho, Description, ConstraintDescription), the values a
//! call supplies (`ParameterValue` or `UsePreviousValue`), and the checks AWS makes, with
//! its messages (`Parameters: [X] must have values`, `Parameter 'X' must be one of
//! AllowedValues`, …).

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

use crate::cloudformation::error::{CfnError, CfnResult};

/// The parameter types hsm-kms knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamType {
    String,
    Number,
    NumberList,
    CommaDelimitedList,
    /// An AWS-specific type (`AWS::EC2::KeyPair::KeyName`, …): a string here, its
    /// existence is not checked. `List<…>` forms are lists.
    AwsSpecific {
        name: String,
        list: bool,
    },
}

impl ParamType {
    fn parse(name: &str) -> Option<ParamType> {
        Some(match name {
            "String" => ParamType::String,
            "Number" => ParamType::Number,
            "List<Number>" => ParamType::NumberList,
            "CommaDelimitedList" => ParamType::CommaDelimitedList,
            t if t.starts_with("AWS::SSM::") || t.starts_with("List<AWS::SSM::") => return None,
            t if t.starts_with("AWS::") => ParamType::AwsSpecific {
                name: t.to_string(),
                list: false,
            },
            t if t.starts_with("List<AWS::") && t.ends_with('>') => ParamType::AwsSpecific {
                name: t.to_string(),
                list: true,
            },
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            ParamType::String => "String",
            ParamType::Number => "Number",
            ParamType::NumberList => "List<Number>",
            ParamType::CommaDelimitedList => "CommaDelimitedList",
            ParamType::AwsSpecific { name, .. } => name,
        }
    }

    /// List types evaluate to a list of strings.
    pub fn is_list(&self) -> bool {
        matches!(
            self,
            ParamType::NumberList
                | ParamType::CommaDelimitedList
                | ParamType::AwsSpecific { list: true, .. }
        )
    }
}

/// One declared parameter.
#[derive(Debug, Clone)]
pub struct ParameterDecl {
    pub name: String,
    pub param_type: ParamType,
    pub default: Option<String>,
    pub allowed_values: Option<Vec<String>>,
    pub allowed_pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub no_echo: bool,
    pub description: Option<String>,
    pub constraint_description: Option<String>,
}

/// A scalar template value as a string (numbers and booleans are written as text).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

const PARAMETER_ATTRIBUTES: &[&str] = &[
    "Type",
    "Default",
    "AllowedValues",
    "AllowedPattern",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "NoEcho",
    "Description",
    "ConstraintDescription",
];

impl ParameterDecl {
    pub fn parse(name: &str, decl: &Value) -> CfnResult<ParameterDecl> {
        let bad = |what: &str| {
            CfnError::template_format(format!("Invalid template parameter property '{what}'"))
        };
        let decl = decl.as_object().ok_or_else(|| {
            CfnError::template_format(format!("[/Parameters/{name}] parameter is malformed"))
        })?;
        if let Some(k) = decl
            .keys()
            .find(|k| !PARAMETER_ATTRIBUTES.contains(&k.as_str()))
        {
            return Err(bad(k));
        }
        let type_name = decl.get("Type").and_then(Value::as_str).ok_or_else(|| {
            CfnError::template_format(format!(
                "[/Parameters/{name}] Every Parameters object must contain a Type member."
            ))
        })?;
        let param_type = ParamType::parse(type_name).ok_or_else(|| {
            CfnError::template_format(format!("Unrecognized parameter type: {type_name}"))
        })?;
        let text = |k: &str| -> CfnResult<Option<String>> {
            match decl.get(k) {
                None => Ok(None),
                Some(v) => scalar_text(v).map(Some).ok_or_else(|| bad(k)),
            }
        };
        let number = |k: &str| -> CfnResult<Option<f64>> {
            match text(k)? {
                None => Ok(None),
                Some(s) => s.trim().parse().map(Some).map_err(|_| bad(k)),
            }
        };
        let allowed_values = match decl.get("AllowedValues") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|i| scalar_text(i).ok_or_else(|| bad("AllowedValues")))
                    .collect::<CfnResult<Vec<_>>>()?,
            ),
            Some(_) => return Err(bad("AllowedValues")),
        };
        let allowed_pattern = text("AllowedPattern")?;
        if let Some(p) = &allowed_pattern {
            Regex::new(&format!("^(?:{p})$")).map_err(|_| {
                CfnError::template_format(format!(
                    "Parameter '{name}' has an AllowedPattern that is not a valid regular expression: {p}"
                ))
            })?;
        }
        let no_echo = match decl.get("NoEcho") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            Some(_) => return Err(bad("NoEcho")),
        };
        Ok(ParameterDecl {
            name: name.to_string(),
            param_type,
            default: text("Default")?,
            allowed_values,
            allowed_pattern,
            min_length: number("MinLength")?.map(|n| n as u64),
            max_length: number("MaxLength")?.map(|n| n as u64),
            min_value: number("MinValue")?,
            max_value: number("MaxValue")?,
            no_echo,
            description: text("Description")?,
            constraint_description: text("ConstraintDescription")?,
        })
    }

    /// Checks one value against the declaration's constraints.
    pub fn check(&self, value: &str) -> CfnResult<()> {
        let name = &self.name;
        let fail = |m: String| {
            Err(CfnError::validation(match &self.constraint_description {
                Some(d) => format!("Parameter '{name}' failed to satisfy constraint: {d}"),
                None => m,
            }))
        };
        let items: Vec<&str> = if self.param_type.is_list() {
            value.split(',').map(str::trim).collect()
        } else {
            vec![value]
        };
        for item in &items {
            if matches!(self.param_type, ParamType::Number | ParamType::NumberList)
                && item.trim().parse::<f64>().is_err()
            {
                return Err(CfnError::validation(format!(
                    "Parameter '{name}' must be a number."
                )));
            }
            if let Some(allowed) = &self.allowed_values {
                if !allowed.iter().any(|a| a == item) {
                    return fail(format!("Parameter '{name}' must be one of AllowedValues"));
                }
            }
        }
        if let Some(p) = &self.allowed_pattern {
            let re = Regex::new(&format!("^(?:{p})$")).map_err(CfnError::internal)?;
            if !re.is_match(value) {
                return fail(format!("Parameter '{name}' must match pattern {p}"));
            }
        }
        let len = value.chars().count() as u64;
        if let Some(min) = self.min_length {
            if len < min {
                return fail(format!(
                    "Parameter '{name}' must contain at least {min} characters"
                ));
            }
        }
        if let Some(max) = self.max_length {
            if len > max {
                return fail(format!(
                    "Parameter '{name}' must contain at most {max} characters"
                ));
            }
        }
        if self.min_value.is_some() || self.max_value.is_some() {
            for item in &items {
                let n: f64 = item.trim().parse().unwrap_or(f64::NAN);
                if let Some(min) = self.min_value {
                    if n.is_nan() || n < min {
                        return fail(format!(
                            "Parameter '{name}' must be a number not less than {}",
                            trim_float(min)
                        ));
                    }
                }
                if let Some(max) = self.max_value {
                    if n.is_nan() || n > max {
                        return fail(format!(
                            "Parameter '{name}' must be a number not greater than {}",
                            trim_float(max)
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn trim_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// A parameter as a call supplies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenParameter {
    pub key: String,
    pub value: Option<String>,
    pub use_previous: bool,
}

impl GivenParameter {
    /// The `Parameters` member of a CreateStack/UpdateStack/CreateChangeSet input.
    pub fn from_input(input: &Value) -> Vec<GivenParameter> {
        input
            .get("Parameters")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|p| {
                        Some(GivenParameter {
                            key: p.get("ParameterKey")?.as_str()?.to_string(),
                            value: p
                                .get("ParameterValue")
                                .and_then(Value::as_str)
                                .map(str::to_string),
                            use_previous: p.get("UsePreviousValue").and_then(Value::as_bool)
                                == Some(true),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The value of every declared parameter: given, else previous (UsePreviousValue), else
/// Default; checked against the declarations.
pub fn resolve(
    decls: &BTreeMap<String, ParameterDecl>,
    given: &[GivenParameter],
    previous: Option<&BTreeMap<String, String>>,
) -> CfnResult<BTreeMap<String, String>> {
    let unknown: Vec<&str> = given
        .iter()
        .filter(|g| !decls.contains_key(&g.key))
        .map(|g| g.key.as_str())
        .collect();
    if !unknown.is_empty() {
        return Err(CfnError::validation(format!(
            "Parameters: [{}] do not exist in the template",
            unknown.join(", ")
        )));
    }
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, decl) in decls {
        let supplied = given.iter().find(|g| &g.key == name);
        let value = match supplied {
            Some(g) if g.use_previous => match previous.and_then(|p| p.get(name)) {
                Some(v) => Some(v.clone()),
                None => {
                    return Err(CfnError::validation(format!(
                        "Invalid input for parameter key {name}. Cannot specify usePreviousValue as true for a parameter key not in the previous template"
                    )))
                }
            },
            Some(g) => g.value.clone(),
            None => decl.default.clone(),
        };
        match value {
            Some(v) => {
                decl.check(&v)?;
                values.insert(name.clone(), v);
            }
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(CfnError::validation(format!(
            "Parameters: [{}] must have values",
            missing.join(", ")
        )));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decls(v: Value) -> BTreeMap<String, ParameterDecl> {
        v.as_object()
            .expect("object")
            .iter()
            .map(|(k, d)| (k.clone(), ParameterDecl::parse(k, d).expect("valid")))
            .collect()
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<GivenParameter> {
        pairs
            .iter()
            .map(|(k, v)| GivenParameter {
                key: k.to_string(),
                value: Some(v.to_string()),
                use_previous: false,
            })
            .collect()
    }

    #[test]
    fn defaults_and_given_values() {
        let d = decls(json!({"A": {"Type": "String", "Default": "x"}, "B": {"Type": "Number"}}));
        let v = resolve(&d, &given(&[("B", "7")]), None).expect("resolves");
        assert_eq!(v["A"], "x");
        assert_eq!(v["B"], "7");
    }

    #[test]
    fn aws_messages_for_each_rule() {
        let d = decls(json!({
            "Env": {"Type": "String", "AllowedValues": ["dev", "prod"]},
            "Name": {"Type": "String", "AllowedPattern": "[a-z]+", "MinLength": 2, "MaxLength": 4},
            "Days": {"Type": "Number", "MinValue": 7, "MaxValue": 30}
        }));
        let base = [("Env", "dev"), ("Name", "abc"), ("Days", "7")];
        let with = |k: &str, v: &str| {
            let mut g: Vec<(&str, &str)> = base.iter().copied().filter(|(n, _)| *n != k).collect();
            g.push((k, v));
            resolve(&d, &given(&g), None).expect_err("refused").message
        };
        assert_eq!(
            with("Env", "qa"),
            "Parameter 'Env' must be one of AllowedValues"
        );
        assert_eq!(
            with("Name", "ABC"),
            "Parameter 'Name' must match pattern [a-z]+"
        );
        assert_eq!(
            with("Name", "a"),
            "Parameter 'Name' must contain at least 2 characters"
        );
        assert_eq!(
            with("Name", "abcde"),
            "Parameter 'Name' must contain at most 4 characters"
        );
        assert_eq!(
            with("Days", "3"),
            "Parameter 'Days' must be a number not less than 7"
        );
        assert_eq!(
            with("Days", "31"),
            "Parameter 'Days' must be a number not greater than 30"
        );
        assert_eq!(with("Days", "x"), "Parameter 'Days' must be a number.");
        assert_eq!(
            resolve(&d, &given(&[("Env", "dev")]), None)
                .expect_err("missing")
                .message,
            "Parameters: [Days, Name] must have values"
        );
        assert_eq!(
            resolve(&d, &given(&[("Nope", "1")]), None)
                .expect_err("unknown")
                .message,
            "Parameters: [Nope] do not exist in the template"
        );
    }

    #[test]
    fn previous_values_are_reused() {
        let d = decls(json!({"A": {"Type": "String"}}));
        let prev: BTreeMap<String, String> = [("A".to_string(), "old".to_string())].into();
        let g = vec![GivenParameter {
            key: "A".into(),
            value: None,
            use_previous: true,
        }];
        assert_eq!(resolve(&d, &g, Some(&prev)).expect("ok")["A"], "old");
    }
}
