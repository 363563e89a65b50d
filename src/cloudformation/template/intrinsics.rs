//! Evaluation of template values: the intrinsic functions (`Ref`, `Fn::GetAtt`,
//! `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::If`, `Fn::Equals`, `Fn::And`,
//! `Fn::Or`, `Fn::Not`, `Fn::FindInMap`, `Fn::ImportValue`, `Fn::Base64`, `Fn::GetAZs`,
//! `Condition`), the pseudo parameters, and the `Conditions` section.
//!
//! A value that depends on a resource not created yet evaluates to [`UNKNOWN`] (what a
//! change set shows as `{{changeSet:KNOWN_AFTER_APPLY}}`), so the same evaluator plans
//! changes and applies them.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::document::Template;
use super::params::scalar_text;
use crate::cloudformation::error::{CfnError, CfnResult};
use crate::domain::region::{Partition, Region};

/// The pseudo parameters `Ref` accepts.
pub const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// A value known only once the resources it depends on exist.
pub const UNKNOWN: &str = "{{changeSet:KNOWN_AFTER_APPLY}}";

/// The functions hsm-kms evaluates (for the error naming an unknown one).
const FUNCTIONS: &[&str] = &[
    "Fn::Base64",
    "Fn::Equals",
    "Fn::FindInMap",
    "Fn::GetAZs",
    "Fn::GetAtt",
    "Fn::If",
    "Fn::ImportValue",
    "Fn::Join",
    "Fn::Not",
    "Fn::And",
    "Fn::Or",
    "Fn::Select",
    "Fn::Split",
    "Fn::Sub",
];

/// The stack the template is evaluated for.
#[derive(Debug, Clone)]
pub struct Pseudo {
    pub region: Region,
    pub account: String,
    pub stack_name: String,
    pub stack_id: String,
    pub notification_arns: Vec<String>,
}

impl Pseudo {
    fn value(&self, name: &str) -> Option<Value> {
        Some(match name {
            "AWS::AccountId" => Value::String(self.account.clone()),
            "AWS::Region" => Value::String(self.region.as_str().to_string()),
            "AWS::Partition" => Value::String(self.region.partition().as_str().to_string()),
            "AWS::StackName" => Value::String(self.stack_name.clone()),
            "AWS::StackId" => Value::String(self.stack_id.clone()),
            "AWS::URLSuffix" => Value::String(
                match self.region.partition() {
                    Partition::AwsCn => "amazonaws.com.cn",
                    _ => "amazonaws.com",
                }
                .to_string(),
            ),
            "AWS::NotificationARNs" => Value::Array(
                self.notification_arns
                    .iter()
                    .map(|a| Value::String(a.clone()))
                    .collect(),
            ),
            _ => return None,
        })
    }
}

/// Where resource values and exports come from.
pub trait Lookup {
    /// `Ref` of a resource; `None` while it does not exist.
    fn resource_ref(&self, logical: &str) -> Option<String>;
    /// `Fn::GetAtt` of a resource; `None` while it does not exist.
    fn resource_attr(&self, logical: &str, attribute: &str) -> Option<String>;
    /// The value of an export of the stack's Region.
    fn import(&self, name: &str) -> Option<String>;
}

/// A template, its parameter values and its stack, with the conditions evaluated.
pub struct Context<'a> {
    pub template: &'a Template,
    pub params: &'a BTreeMap<String, String>,
    pub pseudo: &'a Pseudo,
    pub conditions: BTreeMap<String, bool>,
    pub lookup: &'a dyn Lookup,
}

fn bad(function: &str, usage: &str) -> CfnError {
    CfnError::template(format!("every {function} object requires {usage}"))
}

fn is_unknown(v: &Value) -> bool {
    match v {
        Value::String(s) => s == UNKNOWN,
        Value::Array(items) => items.iter().any(is_unknown),
        _ => false,
    }
}

fn text_of(v: &Value, function: &str) -> CfnResult<String> {
    scalar_text(v).ok_or_else(|| {
        CfnError::template(format!(
            "{function} expects a string here, found {}",
            match v {
                Value::Array(_) => "a list",
                Value::Object(_) => "an object",
                _ => "null",
            }
        ))
    })
}

impl<'a> Context<'a> {
    /// Evaluates the `Conditions` section.
    pub fn new(
        template: &'a Template,
        params: &'a BTreeMap<String, String>,
        pseudo: &'a Pseudo,
        lookup: &'a dyn Lookup,
    ) -> CfnResult<Context<'a>> {
        let mut cx = Context {
            template,
            params,
            pseudo,
            conditions: BTreeMap::new(),
            lookup,
        };
        let names: Vec<String> = template.conditions.keys().cloned().collect();
        for name in names {
            let mut visiting = BTreeSet::new();
            cx.condition(&name, &mut visiting)?;
        }
        Ok(cx)
    }

    fn condition(&mut self, name: &str, visiting: &mut BTreeSet<String>) -> CfnResult<bool> {
        if let Some(v) = self.conditions.get(name) {
            return Ok(*v);
        }
        let Some(expr) = self.template.conditions.get(name).cloned() else {
            return Err(CfnError::template(format!(
                "unresolved condition dependency {name} in Fn::If"
            )));
        };
        if !visiting.insert(name.to_string()) {
            return Err(CfnError::template_format(format!(
                "Circular dependency between conditions: [{}]",
                visiting.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        // Conditions may name other conditions: evaluate those first.
        for r in super::graph::references(&expr) {
            if let super::graph::Reference::Condition(c) = r {
                self.condition(&c, visiting)?;
            }
        }
        let value = self.eval(&expr)?.unwrap_or(Value::Null);
        let b = as_bool(&value).ok_or_else(|| {
            CfnError::template(format!(
                "condition {name} must evaluate to true or false (use Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition)"
            ))
        })?;
        visiting.remove(name);
        self.conditions.insert(name.to_string(), b);
        Ok(b)
    }

    /// True unless the resource or output has a condition that is false.
    pub fn active(&self, condition: Option<&str>) -> bool {
        condition.is_none_or(|c| self.conditions.get(c).copied().unwrap_or(false))
    }

    /// Evaluates a value. `None` is `AWS::NoValue` (the property is left out).
    pub fn eval(&self, v: &Value) -> CfnResult<Option<Value>> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    if let Some(x) = self.eval(i)? {
                        out.push(x);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(map) if map.len() == 1 => {
                let (k, arg) = map.iter().next().expect("one entry");
                if k == "Ref" || k == "Condition" || k.starts_with("Fn::") {
                    return self.function(k, arg);
                }
                self.eval_object(map)
            }
            Value::Object(map) => self.eval_object(map),
            other => Ok(Some(other.clone())),
        }
    }

    fn eval_object(&self, map: &Map<String, Value>) -> CfnResult<Option<Value>> {
        let mut out = Map::new();
        for (k, v) in map {
            if let Some(x) = self.eval(v)? {
                out.insert(k.clone(), x);
            }
        }
        Ok(Some(Value::Object(out)))
    }

    /// Evaluates a value that must not be `AWS::NoValue`.
    fn value(&self, v: &Value, function: &str) -> CfnResult<Value> {
        self.eval(v)?.ok_or_else(|| {
            CfnError::template(format!(
                "AWS::NoValue cannot be used as an argument of {function}"
            ))
        })
    }

    fn reference(&self, name: &str) -> CfnResult<Option<Value>> {
        if name == "AWS::NoValue" {
            return Ok(None);
        }
        if let Some(v) = self.pseudo.value(name) {
            return Ok(Some(v));
        }
        if let Some(value) = self.params.get(name) {
            let list = self
                .template
                .parameters
                .get(name)
                .is_some_and(|d| d.param_type.is_list());
            return Ok(Some(if list {
                Value::Array(
                    value
                        .split(',')
                        .map(|s| Value::String(s.trim().to_string()))
                        .collect(),
                )
            } else {
                Value::String(value.clone())
            }));
        }
        if self.template.resources.contains_key(name) {
            return Ok(Some(Value::String(
                self.lookup
                    .resource_ref(name)
                    .unwrap_or_else(|| UNKNOWN.to_string()),
            )));
        }
        Err(CfnError::template_format(format!(
            "Unresolved resource dependencies [{name}] in the Resources block of the template"
        )))
    }

    fn get_att(&self, resource: &str, attribute: &str) -> CfnResult<Value> {
        if !self.template.resources.contains_key(resource) {
            return Err(CfnError::template(format!(
                "instance of Fn::GetAtt references undefined resource {resource}"
            )));
        }
        Ok(Value::String(
            self.lookup
                .resource_attr(resource, attribute)
                .unwrap_or_else(|| UNKNOWN.to_string()),
        ))
    }

    fn function(&self, name: &str, arg: &Value) -> CfnResult<Option<Value>> {
        let args = |n: usize, usage: &str| -> CfnResult<&Vec<Value>> {
            match arg {
                Value::Array(a) if a.len() == n => Ok(a),
                _ => Err(bad(name, usage)),
            }
        };
        let v = match name {
            "Ref" => {
                let target = arg
                    .as_str()
                    .ok_or_else(|| bad("Ref", "a string naming a parameter or resource"))?;
                return self.reference(target);
            }
            "Condition" => {
                let c = arg
                    .as_str()
                    .ok_or_else(|| bad("Condition", "a condition name"))?;
                Value::Bool(self.condition_value(c)?)
            }
            "Fn::GetAtt" => {
                let (res, attr) = match arg {
                    Value::String(s) => {
                        let (r, a) = s.split_once('.').ok_or_else(|| {
                            bad(
                                "Fn::GetAtt",
                                "two parameters: a resource name and an attribute",
                            )
                        })?;
                        (r.to_string(), a.to_string())
                    }
                    Value::Array(a) if a.len() == 2 => {
                        let res = a[0].as_str().ok_or_else(|| {
                            bad(
                                "Fn::GetAtt",
                                "two parameters: a resource name and an attribute",
                            )
                        })?;
                        let attr = text_of(&self.value(&a[1], name)?, name)?;
                        (res.to_string(), attr)
                    }
                    _ => {
                        return Err(bad(
                            "Fn::GetAtt",
                            "two parameters: a resource name and an attribute",
                        ))
                    }
                };
                self.get_att(&res, &attr)?
            }
            "Fn::Join" => {
                let usage = "two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined.";
                let a = args(2, usage)?;
                let delim = a[0].as_str().ok_or_else(|| bad(name, usage))?;
                let list = self.value(&a[1], name)?;
                let Value::Array(items) = list else {
                    if is_unknown(&list) {
                        return Ok(Some(Value::String(UNKNOWN.into())));
                    }
                    return Err(bad(name, usage));
                };
                if items.iter().any(is_unknown) {
                    return Ok(Some(Value::String(UNKNOWN.into())));
                }
                let parts = items
                    .iter()
                    .map(|i| scalar_text(i).ok_or_else(|| bad(name, usage)))
                    .collect::<CfnResult<Vec<_>>>()?;
                Value::String(parts.join(delim))
            }
            "Fn::Select" => {
                let usage = "two parameters: an index and a list";
                let a = args(2, usage)?;
                let index = text_of(&self.value(&a[0], name)?, name)?;
                let index: usize = index.trim().parse().map_err(|_| {
                    CfnError::template(format!(
                        "Fn::Select requires a non-negative integer index, got {index}"
                    ))
                })?;
                let list = self.value(&a[1], name)?;
                match list {
                    Value::Array(items) => items.get(index).cloned().ok_or_else(|| {
                        CfnError::template(format!(
                            "Fn::Select cannot select nonexistent value at index {index}"
                        ))
                    })?,
                    v if is_unknown(&v) => Value::String(UNKNOWN.into()),
                    _ => return Err(bad(name, usage)),
                }
            }
            "Fn::Split" => {
                let usage = "two parameters: a delimiter and a string";
                let a = args(2, usage)?;
                let delim = a[0].as_str().ok_or_else(|| bad(name, usage))?;
                if delim.is_empty() {
                    return Err(bad(name, "a non-empty delimiter"));
                }
                let s = text_of(&self.value(&a[1], name)?, name)?;
                if s == UNKNOWN {
                    return Ok(Some(Value::String(UNKNOWN.into())));
                }
                Value::Array(s.split(delim).map(|p| Value::String(p.into())).collect())
            }
            "Fn::Sub" => self.sub(arg)?,
            "Fn::If" => {
                let a = args(3, "three parameters: a condition name and two values")?;
                let c = a[0]
                    .as_str()
                    .ok_or_else(|| bad(name, "a condition name as its first parameter"))?;
                let branch = if self.condition_value(c)? {
                    &a[1]
                } else {
                    &a[2]
                };
                return self.eval(branch);
            }
            "Fn::Equals" => {
                let a = args(2, "two parameters")?;
                let x = self.value(&a[0], name)?;
                let y = self.value(&a[1], name)?;
                let same = match (scalar_text(&x), scalar_text(&y)) {
                    (Some(p), Some(q)) => p == q,
                    _ => x == y,
                };
                Value::Bool(same)
            }
            "Fn::And" | "Fn::Or" => {
                let items = match arg {
                    Value::Array(a) if (2..=10).contains(&a.len()) => a,
                    _ => return Err(bad(name, "a list of 2 to 10 conditions")),
                };
                let mut values = Vec::with_capacity(items.len());
                for i in items {
                    let v = self.value(i, name)?;
                    values.push(
                        as_bool(&v).ok_or_else(|| bad(name, "conditions as its parameters"))?,
                    );
                }
                Value::Bool(if name == "Fn::And" {
                    values.iter().all(|b| *b)
                } else {
                    values.iter().any(|b| *b)
                })
            }
            "Fn::Not" => {
                let a = args(1, "one condition in a list")?;
                let v = self.value(&a[0], name)?;
                Value::Bool(!as_bool(&v).ok_or_else(|| bad(name, "one condition in a list"))?)
            }
            "Fn::FindInMap" => {
                let a = args(
                    3,
                    "three parameters: the map name, the top level key and the second level key",
                )?;
                let keys = a
                    .iter()
                    .map(|k| text_of(&self.value(k, name)?, name))
                    .collect::<CfnResult<Vec<_>>>()?;
                self.template
                    .mappings
                    .get(&keys[0])
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                    .cloned()
                    .ok_or_else(|| {
                        CfnError::template(format!(
                            "Unable to get mapping for {}::{}::{}",
                            keys[0], keys[1], keys[2]
                        ))
                    })?
            }
            "Fn::ImportValue" => {
                let export = text_of(&self.value(arg, name)?, name)?;
                if export == UNKNOWN {
                    return Err(CfnError::template(
                        "Fn::ImportValue cannot depend on a resource of the stack",
                    ));
                }
                Value::String(self.lookup.import(&export).ok_or_else(|| {
                    CfnError::validation(format!("No export named {export} found"))
                })?)
            }
            "Fn::Base64" => {
                let s = text_of(&self.value(arg, name)?, name)?;
                if s == UNKNOWN {
                    Value::String(UNKNOWN.into())
                } else {
                    Value::String(base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
                }
            }
            "Fn::GetAZs" => {
                let r = text_of(&self.value(arg, name)?, name)?;
                let region = if r.is_empty() {
                    self.pseudo.region
                } else {
                    Region::parse(&r).ok_or_else(|| {
                        CfnError::template(format!("Fn::GetAZs: {r} is not a Region"))
                    })?
                };
                Value::Array(
                    ["a", "b", "c"]
                        .iter()
                        .map(|z| Value::String(format!("{region}{z}")))
                        .collect(),
                )
            }
            other => {
                return Err(CfnError::template_format(format!(
                    "Encountered unsupported function: {other} Supported functions are: [{}]",
                    FUNCTIONS.join(", ")
                )))
            }
        };
        Ok(Some(v))
    }

    fn condition_value(&self, name: &str) -> CfnResult<bool> {
        self.conditions.get(name).copied().ok_or_else(|| {
            CfnError::template(format!("unresolved condition dependency {name} in Fn::If"))
        })
    }

    fn sub(&self, arg: &Value) -> CfnResult<Value> {
        let usage = "a string, or a list of a string and a map of variables";
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), None),
            Value::Array(a) if a.len() == 2 => (
                a[0].as_str().ok_or_else(|| bad("Fn::Sub", usage))?,
                Some(a[1].as_object().ok_or_else(|| bad("Fn::Sub", usage))?),
            ),
            _ => return Err(bad("Fn::Sub", usage)),
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let var = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = var.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let value = match vars.and_then(|m| m.get(var)) {
                Some(v) => self.value(v, "Fn::Sub")?,
                None => match var.split_once('.') {
                    Some((res, attr)) if !var.starts_with("AWS::") => self.get_att(res, attr)?,
                    _ => self.reference(var)?.ok_or_else(|| {
                        CfnError::template("AWS::NoValue cannot be used in Fn::Sub")
                    })?,
                },
            };
            let s = text_of(&value, "Fn::Sub")?;
            if s == UNKNOWN {
                return Ok(Value::String(UNKNOWN.into()));
            }
            out.push_str(&s);
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// True when a value still holds something known only after apply.
pub fn contains_unknown(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(UNKNOWN),
        Value::Array(items) => items.iter().any(contains_unknown),
        Value::Object(m) => m.values().any(contains_unknown),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudformation::template::document::tests::Kms;
    use serde_json::json;

    struct Fixed;
    impl Lookup for Fixed {
        fn resource_ref(&self, logical: &str) -> Option<String> {
            (logical == "Key").then(|| "1234abcd-12ab-34cd-56ef-1234567890ab".to_string())
        }
        fn resource_attr(&self, logical: &str, attribute: &str) -> Option<String> {
            (logical == "Key" && attribute == "Arn").then(|| {
                "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                    .to_string()
            })
        }
        fn import(&self, name: &str) -> Option<String> {
            (name == "shared-key").then(|| "imported".to_string())
        }
    }

    const TEMPLATE: &str = r#"
Parameters:
  Env: {Type: String, Default: prod}
  Days: {Type: Number, Default: 9}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
Mappings:
  Windows:
    prod: {Days: 30}
    dev: {Days: 7}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Equals ['1', '1']]
  Either: !Or [!Condition IsDev, !Equals [!Ref Days, 9]]
Resources:
  Key: {Type: AWS::KMS::Key}
  Later: {Type: AWS::KMS::Key}
"#;

    fn with<T>(f: impl FnOnce(&Context) -> T) -> T {
        let t = Template::parse(TEMPLATE, &Kms).expect("valid");
        let params: BTreeMap<String, String> = [
            ("Env".to_string(), "prod".to_string()),
            ("Days".to_string(), "9".to_string()),
            ("Names".to_string(), "a,b,c".to_string()),
        ]
        .into();
        let pseudo = Pseudo {
            region: Region::parse("us-east-1").expect("region"),
            account: "111122223333".into(),
            stack_name: "demo".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:111122223333:stack/demo/x".into(),
            notification_arns: vec![],
        };
        let cx = Context::new(&t, &params, &pseudo, &Fixed).expect("conditions");
        f(&cx)
    }

    fn eval(v: Value) -> Value {
        with(|cx| cx.eval(&v).expect("evaluates").expect("has a value"))
    }

    fn eval_err(v: Value) -> String {
        with(|cx| cx.eval(&v).expect_err("fails").message)
    }

    #[test]
    fn conditions() {
        with(|cx| {
            assert!(cx.conditions["IsProd"]);
            assert!(!cx.conditions["IsDev"]);
            assert!(cx.conditions["Both"]);
            assert!(cx.conditions["Either"]);
        });
    }

    #[test]
    fn ref_and_pseudo_parameters() {
        assert_eq!(eval(json!({"Ref": "Env"})), json!("prod"));
        assert_eq!(eval(json!({"Ref": "Names"})), json!(["a", "b", "c"]));
        assert_eq!(
            eval(json!({"Ref": "Key"})),
            json!("1234abcd-12ab-34cd-56ef-1234567890ab")
        );
        assert_eq!(eval(json!({"Ref": "Later"})), json!(UNKNOWN));
        assert_eq!(eval(json!({"Ref": "AWS::Partition"})), json!("aws"));
        assert_eq!(
            eval(json!({"Ref": "AWS::URLSuffix"})),
            json!("amazonaws.com")
        );
        assert_eq!(eval(json!({"Ref": "AWS::StackName"})), json!("demo"));
        assert_eq!(
            eval(json!({"Ref": "AWS::AccountId"})),
            json!("111122223333")
        );
        assert_eq!(
            eval(json!({"a": {"Ref": "AWS::NoValue"}, "b": 1})),
            json!({"b": 1})
        );
    }

    #[test]
    fn string_functions() {
        assert_eq!(
            eval(json!({"Fn::Join": ["-", ["a", {"Ref": "Env"}, 3]]})),
            json!("a-prod-3")
        );
        assert_eq!(
            eval(json!({"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]})),
            json!("y")
        );
        assert_eq!(
            eval(json!({"Fn::Sub": "${AWS::Region}/${Env}/${Key.Arn}/${!Literal}"})),
            json!("us-east-1/prod/arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab/${Literal}")
        );
        assert_eq!(
            eval(json!({"Fn::Sub": ["${A}-${Env}", {"A": {"Ref": "Days"}}]})),
            json!("9-prod")
        );
        assert_eq!(eval(json!({"Fn::Base64": "hi"})), json!("aGk="));
        assert_eq!(
            eval(json!({"Fn::GetAZs": ""})),
            json!(["us-east-1a", "us-east-1b", "us-east-1c"])
        );
        assert_eq!(eval(json!({"Fn::Sub": "${Later}"})), json!(UNKNOWN));
        assert_eq!(
            eval(json!({"Fn::Join": ["", ["x", {"Fn::GetAtt": ["Later", "Arn"]}]]})),
            json!(UNKNOWN)
        );
    }

    #[test]
    fn selection_functions() {
        assert_eq!(
            eval(json!({"Fn::If": ["IsProd", "yes", "no"]})),
            json!("yes")
        );
        assert_eq!(
            eval(json!({"Fn::FindInMap": ["Windows", {"Ref": "Env"}, "Days"]})),
            json!(30)
        );
        assert_eq!(
            eval(json!({"Fn::ImportValue": "shared-key"})),
            json!("imported")
        );
        assert_eq!(
            eval(json!({"Fn::Equals": [{"Ref": "Days"}, 9]})),
            json!(true)
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(
            eval_err(json!({"Fn::Select": [5, ["a"]]})),
            "Template error: Fn::Select cannot select nonexistent value at index 5"
        );
        assert_eq!(
            eval_err(json!({"Fn::FindInMap": ["Windows", "qa", "Days"]})),
            "Template error: Unable to get mapping for Windows::qa::Days"
        );
        assert_eq!(
            eval_err(json!({"Fn::ImportValue": "nope"})),
            "No export named nope found"
        );
        assert!(eval_err(json!({"Fn::Join": ["-"]}))
            .starts_with("Template error: every Fn::Join object requires two parameters"));
        assert!(eval_err(json!({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}))
            .starts_with("Template format error: Encountered unsupported function: Fn::Cidr"));
    }
}
