//! Resource schemas as CloudFormation publishes them (shipped in
//! `model/cloudformation-resource-schemas/`), and the one validator that checks a
//! resource's evaluated properties against its schema before any handler runs: types
//! (with CloudFormation's coercion of strings to integers and booleans), enums, lengths,
//! ranges, patterns, required and unknown properties, array items. Messages follow
//! CloudFormation's: `Properties validation failed for resource Key with message:
//! [#/PendingWindowInDays: 3 is not greater or equal to 7]`.

use regex::Regex;
use serde_json::{Map, Value};

/// A parsed resource schema.
pub struct Schema {
    root: Value,
    /// Top-level properties that cannot change without a new physical resource.
    pub create_only: Vec<String>,
    /// Top-level properties the caller cannot set (`Arn`, `KeyId`).
    pub read_only: Vec<String>,
}

fn pointer_names(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|p| p.strip_prefix("/properties/"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Schema {
    pub fn load(json: &str) -> Result<Schema, String> {
        let root: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        root.get("typeName")
            .and_then(Value::as_str)
            .ok_or("schema has no typeName")?;
        Ok(Schema {
            create_only: pointer_names(root.get("createOnlyProperties")),
            read_only: pointer_names(root.get("readOnlyProperties")),
            root,
        })
    }

    /// The schema's default of a top-level property.
    pub fn default_of(&self, property: &str) -> Option<&Value> {
        self.root
            .get("properties")
            .and_then(|p| p.get(property))
            .and_then(|p| p.get("default"))
    }

    /// Checks (and coerces) evaluated properties; the error is the resource's status reason.
    pub fn validate(&self, logical: &str, props: &Value) -> Result<Value, String> {
        let mut errors = Vec::new();
        let mut props = props.clone();
        if !props.is_object() {
            errors.push("#: expected type: JSONObject, found: ".to_string() + kind(&props));
        } else {
            if let Some(obj) = props.as_object() {
                for ro in &self.read_only {
                    if obj.contains_key(ro) {
                        errors.push(format!("#/{ro}: read-only property cannot be set"));
                    }
                }
            }
            self.check(&self.root.clone(), &mut props, "#", &mut errors);
        }
        if errors.is_empty() {
            Ok(props)
        } else {
            Err(format!(
                "Properties validation failed for resource {logical} with message: [{}]",
                errors.join(", ")
            ))
        }
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix("#/")
                .map(|p| format!("/{p}"))
                .and_then(|p| self.root.pointer(&p))
                .unwrap_or(schema),
            None => schema,
        }
    }

    fn check(&self, schema: &Value, value: &mut Value, path: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema).clone();
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() && !types.iter().any(|t| matches_type(t, value)) {
            // CloudFormation coerces template strings to the declared scalar type.
            let coerced = types.iter().find_map(|t| coerce(t, value));
            match coerced {
                Some(c) => *value = c,
                None => {
                    errors.push(format!(
                        "{path}: expected type: {}, found: {}",
                        type_word(types[0]),
                        kind(value)
                    ));
                    return;
                }
            }
        }
        match value {
            Value::Object(obj) => self.check_object(&schema, obj, path, errors),
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.check(item_schema, item, &format!("{path}/{i}"), errors);
                    }
                }
                if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
                    let mut seen = Vec::new();
                    for item in items.iter() {
                        if seen.contains(&item) {
                            errors.push(format!("{path}: array items are not unique"));
                            break;
                        }
                        seen.push(item);
                    }
                }
            }
            Value::String(s) => {
                let len = s.chars().count() as u64;
                if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
                    if len < min {
                        errors.push(format!("{path}: expected minLength: {min}, actual: {len}"));
                    }
                }
                if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                    if len > max {
                        errors.push(format!("{path}: expected maxLength: {max}, actual: {len}"));
                    }
                }
                if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
                    if Regex::new(p).map(|re| !re.is_match(s)).unwrap_or(false) {
                        errors.push(format!("{path}: string [{s}] does not match pattern {p}"));
                    }
                }
                if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
                    if !allowed.iter().any(|a| a.as_str() == Some(s.as_str())) {
                        errors.push(format!("{path}: {s} is not a valid enum value"));
                    }
                }
            }
            Value::Number(n) => {
                let f = n.as_f64().unwrap_or_default();
                if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
                    if f < min {
                        errors.push(format!(
                            "{path}: {n} is not greater or equal to {}",
                            num(min)
                        ));
                    }
                }
                if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
                    if f > max {
                        errors.push(format!("{path}: {n} is not less or equal to {}", num(max)));
                    }
                }
            }
            _ => {}
        }
    }

    fn check_object(
        &self,
        schema: &Value,
        obj: &mut Map<String, Value>,
        path: &str,
        errors: &mut Vec<String>,
    ) {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errors.push(format!("{path}: required key [{r}] not found"));
                }
            }
        }
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        for (k, v) in obj.iter_mut() {
            match props.and_then(|p| p.get(k)) {
                Some(s) => self.check(s, v, &format!("{path}/{k}"), errors),
                None if closed => {
                    errors.push(format!("{path}: extraneous key [{k}] is not permitted"))
                }
                None => {}
            }
        }
    }
}

fn num(f: f64) -> String {
    if f.fract() == 0.0 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

fn matches_type(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.as_i64().is_some() || v.as_u64().is_some(),
        "number" => v.is_number(),
        _ => true,
    }
}

fn coerce(t: &str, v: &Value) -> Option<Value> {
    match (t, v) {
        ("integer", Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        ("integer", Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map(|f| Value::from(f as i64)),
        ("number", Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        ("boolean", Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        ("string", Value::Number(n)) => Some(Value::String(n.to_string())),
        ("string", Value::Bool(b)) => Some(Value::String(b.to_string())),
        _ => None,
    }
}

fn type_word(t: &str) -> &'static str {
    match t {
        "object" => "JSONObject",
        "array" => "JSONArray",
        "string" => "String",
        "boolean" => "Boolean",
        "integer" => "Integer",
        "number" => "Number",
        _ => "value",
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key_schema() -> Schema {
        Schema::load(include_str!(
            "../../../model/cloudformation-resource-schemas/aws-kms-key.json"
        ))
        .expect("schema")
    }

    #[test]
    fn ranges_enums_and_unknown_properties() {
        let s = key_schema();
        assert_eq!(
            s.validate("Key", &json!({"PendingWindowInDays": 3})).expect_err("min"),
            "Properties validation failed for resource Key with message: [#/PendingWindowInDays: 3 is not greater or equal to 7]"
        );
        assert_eq!(
            s.validate("Key", &json!({"KeySpec": "AES_999", "Colour": "red"})).expect_err("bad"),
            "Properties validation failed for resource Key with message: [#: extraneous key [Colour] is not permitted, #/KeySpec: AES_999 is not a valid enum value]"
        );
        assert_eq!(
            s.validate("Key", &json!({"Tags": [{"Key": "a"}]})).expect_err("tag"),
            "Properties validation failed for resource Key with message: [#/Tags/0: required key [Value] not found]"
        );
    }

    #[test]
    fn strings_are_coerced_to_declared_types() {
        let s = key_schema();
        assert_eq!(
            s.validate(
                "Key",
                &json!({"PendingWindowInDays": "7", "Enabled": "false"})
            )
            .expect("valid"),
            json!({"PendingWindowInDays": 7, "Enabled": false})
        );
        assert!(s
            .validate("Key", &json!({"Enabled": "maybe"}))
            .expect_err("bad")
            .contains("#/Enabled: expected type: Boolean, found: String"));
    }

    #[test]
    fn policy_may_be_object_or_string() {
        let s = key_schema();
        assert!(s
            .validate("Key", &json!({"KeyPolicy": {"Version": "2012-10-17"}}))
            .is_ok());
        assert!(s.validate("Key", &json!({"KeyPolicy": "{}"})).is_ok());
    }
}
