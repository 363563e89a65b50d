//! The awsQuery protocol, generic and driven by a botocore-style service model (the one
//! CloudFormation and STS speak): a form-encoded `POST /` with `Action`, `Version` and the
//! input members flattened into dotted names (`Parameters.member.1.ParameterKey`,
//! `Tags.member.2.Value`, `Map.entry.1.key`), answered with XML:
//!
//! ```xml
//! <CreateStackResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
//!   <CreateStackResult><StackId>arn:…</StackId></CreateStackResult>
//!   <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
//! </CreateStackResponse>
//! ```
//!
//! and errors as `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…
//! </Message></Error><RequestId>…</RequestId></ErrorResponse>`.
//!
//! [`QueryModel::decode`] turns the form into the operation's input as JSON (member names
//! as in the model, values typed by their shapes: the same JSON a JSON-protocol client
//! would send), then checks it against the model's constraints with the same validator
//! the KMS API uses ([`super::validate`]), so the messages are AWS's
//! (`1 validation error detected: Value '…' at 'stackName' failed to satisfy constraint:
//! …`). [`QueryModel::encode_result`] writes an operation's JSON output as the XML the
//! output shape describes (lists as `<member>`, maps as `<entry>`, timestamps ISO-8601).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::kms::validate::{InputError, ServiceModel};

/// Why a query request could not be turned into an operation's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// No `Action` parameter.
    MissingAction,
    /// An `Action` the model does not have (or a `Version` it does not speak).
    InvalidAction(String),
    /// The input breaks the model (AWS `ValidationError`).
    Validation(String),
}

impl QueryError {
    /// The error code on the wire, HTTP status, and whether the sender is at fault.
    pub fn wire(&self) -> (&'static str, u16) {
        match self {
            QueryError::MissingAction => ("MissingAction", 400),
            QueryError::InvalidAction(_) => ("InvalidAction", 400),
            QueryError::Validation(_) => ("ValidationError", 400),
        }
    }

    pub fn message(&self) -> String {
        match self {
            QueryError::MissingAction => {
                "The request must contain the parameter Action.".to_string()
            }
            QueryError::InvalidAction(m) | QueryError::Validation(m) => m.clone(),
        }
    }
}

#[derive(Debug)]
enum Shape {
    Structure(Vec<Member>),
    List {
        member: String,
        member_name: String,
        flattened: bool,
    },
    Map {
        key: String,
        value: String,
        key_name: String,
        value_name: String,
        flattened: bool,
    },
    Scalar(Scalar),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    String,
    Integer,
    Float,
    Boolean,
    Timestamp,
    Blob,
}

#[derive(Debug)]
struct Member {
    /// Name in the JSON form of the input/output.
    name: String,
    /// Name on the wire (`locationName`, else the member name).
    wire: String,
    shape: String,
    flattened: bool,
}

#[derive(Debug)]
struct Operation {
    input: Option<String>,
    output: Option<String>,
    result_wrapper: Option<String>,
}

/// An error shape's wire traits (`"error": {"code", "httpStatusCode", "senderFault"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorTraits {
    pub code: String,
    pub http_status: u16,
    pub sender_fault: bool,
}

/// A query-protocol service model: what to decode requests and encode responses with.
pub struct QueryModel {
    namespace: String,
    api_version: String,
    shapes: HashMap<String, Shape>,
    operations: HashMap<String, Operation>,
    errors: HashMap<String, ErrorTraits>,
    validator: ServiceModel,
}

/// The CloudFormation model compiled into the binary.
const CLOUDFORMATION_MODEL: &str = include_str!("../../model/cloudformation-service-model.json");

static CLOUDFORMATION: std::sync::LazyLock<QueryModel> = std::sync::LazyLock::new(|| {
    QueryModel::load(CLOUDFORMATION_MODEL)
        .expect("the compiled-in CloudFormation service model must be valid")
});

/// The STS model compiled into the binary.
const STS_MODEL: &str = include_str!("../../model/sts-service-model.json");

static STS: std::sync::LazyLock<QueryModel> = std::sync::LazyLock::new(|| {
    QueryModel::load(STS_MODEL).expect("the compiled-in STS service model must be valid")
});

impl QueryModel {
    /// The CloudFormation service model, parsed once.
    pub fn cloudformation() -> &'static QueryModel {
        &CLOUDFORMATION
    }

    /// The STS service model, parsed once.
    pub fn sts() -> &'static QueryModel {
        &STS
    }

    /// Builds the model from botocore-style JSON.
    pub fn load(json: &str) -> Result<QueryModel, String> {
        let root: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let meta = root.get("metadata").ok_or("model has no metadata")?;
        let namespace = meta
            .get("xmlNamespace")
            .and_then(Value::as_str)
            .ok_or("model has no xmlNamespace")?
            .to_string();
        let api_version = meta
            .get("apiVersion")
            .and_then(Value::as_str)
            .ok_or("model has no apiVersion")?
            .to_string();
        let shape_defs = root
            .get("shapes")
            .and_then(Value::as_object)
            .ok_or("model has no shapes")?;
        let mut shapes = HashMap::new();
        let mut errors = HashMap::new();
        for (name, def) in shape_defs {
            let target = |v: Option<&Value>| -> Result<String, String> {
                v.and_then(|m| m.get("shape"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| format!("shape {name}: missing shape reference"))
            };
            let ty = def.get("type").and_then(Value::as_str).unwrap_or("");
            let flattened = def.get("flattened").and_then(Value::as_bool) == Some(true);
            let location = |v: Option<&Value>, default: &str| {
                v.and_then(|m| m.get("locationName"))
                    .and_then(Value::as_str)
                    .unwrap_or(default)
                    .to_string()
            };
            let shape = match ty {
                "structure" => {
                    let mut members = Vec::new();
                    if let Some(m) = def.get("members").and_then(Value::as_object) {
                        for (member, mdef) in m {
                            members.push(Member {
                                name: member.clone(),
                                wire: location(Some(mdef), member),
                                shape: target(Some(mdef))?,
                                flattened: mdef.get("flattened").and_then(Value::as_bool)
                                    == Some(true),
                            });
                        }
                    }
                    if let Some(e) = def.get("error") {
                        errors.insert(
                            name.clone(),
                            ErrorTraits {
                                code: e
                                    .get("code")
                                    .and_then(Value::as_str)
                                    .unwrap_or(name)
                                    .to_string(),
                                http_status: e
                                    .get("httpStatusCode")
                                    .and_then(Value::as_u64)
                                    .and_then(|s| u16::try_from(s).ok())
                                    .unwrap_or(400),
                                sender_fault: e.get("senderFault").and_then(Value::as_bool)
                                    == Some(true),
                            },
                        );
                    }
                    Shape::Structure(members)
                }
                "list" => Shape::List {
                    member: target(def.get("member"))?,
                    member_name: location(def.get("member"), "member"),
                    flattened,
                },
                "map" => Shape::Map {
                    key: target(def.get("key"))?,
                    value: target(def.get("value"))?,
                    key_name: location(def.get("key"), "key"),
                    value_name: location(def.get("value"), "value"),
                    flattened,
                },
                "integer" | "long" | "short" | "byte" => Shape::Scalar(Scalar::Integer),
                "float" | "double" => Shape::Scalar(Scalar::Float),
                "boolean" => Shape::Scalar(Scalar::Boolean),
                "timestamp" => Shape::Scalar(Scalar::Timestamp),
                "blob" => Shape::Scalar(Scalar::Blob),
                _ => Shape::Scalar(Scalar::String),
            };
            shapes.insert(name.clone(), shape);
        }
        let mut operations = HashMap::new();
        for (name, def) in root
            .get("operations")
            .and_then(Value::as_object)
            .ok_or("model has no operations")?
        {
            let shape_of = |v: Option<&Value>| {
                v.and_then(|x| x.get("shape"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            operations.insert(
                name.clone(),
                Operation {
                    input: shape_of(def.get("input")),
                    output: shape_of(def.get("output")),
                    result_wrapper: def
                        .get("output")
                        .and_then(|o| o.get("resultWrapper"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                },
            );
        }
        let validator = ServiceModel::load(json)?;
        Ok(QueryModel {
            namespace,
            api_version,
            shapes,
            operations,
            errors,
            validator,
        })
    }

    /// The wire traits of the error shape `shape` (e.g. `ChangeSetNotFoundException`).
    pub fn error_traits(&self, shape: &str) -> Option<&ErrorTraits> {
        self.errors.get(shape)
    }

    /// The action a form names and its input as JSON, validated against the model.
    pub fn decode(&self, form: &[(String, String)]) -> Result<(String, Value), QueryError> {
        let mut root = Node::default();
        let mut action = None;
        let mut version = None;
        for (k, v) in form {
            match k.as_str() {
                "Action" => action = Some(v.clone()),
                "Version" => version = Some(v.clone()),
                _ => root.insert(k, v),
            }
        }
        let action = action.ok_or(QueryError::MissingAction)?;
        let Some(op) = self.operations.get(&action) else {
            return Err(QueryError::InvalidAction(format!(
                "Could not find operation {action} for version {}",
                version.as_deref().unwrap_or(&self.api_version)
            )));
        };
        if let Some(v) = &version {
            if *v != self.api_version {
                return Err(QueryError::InvalidAction(format!(
                    "Could not find operation {action} for version {v}"
                )));
            }
        }
        let input = match &op.input {
            Some(shape) => self
                .decode_shape(shape, &root, "")?
                .unwrap_or_else(|| Value::Object(Map::new())),
            None => Value::Object(Map::new()),
        };
        match self.validator.validate_input(&action, &input) {
            Ok(()) => Ok((action, input)),
            Err(InputError::Validation(m)) | Err(InputError::Serialization(m)) => {
                Err(QueryError::Validation(m))
            }
        }
    }

    fn decode_shape(
        &self,
        shape: &str,
        node: &Node,
        path: &str,
    ) -> Result<Option<Value>, QueryError> {
        let Some(def) = self.shapes.get(shape) else {
            return Ok(None);
        };
        match def {
            Shape::Structure(members) => {
                let mut out = Map::new();
                for m in members {
                    if let Some(child) = node.children.get(&m.wire) {
                        let p = join_path(path, &m.wire);
                        let v = if m.flattened {
                            self.decode_list_items(&m.shape, child, &p, true)?
                        } else {
                            self.decode_shape(&m.shape, child, &p)?
                        };
                        if let Some(v) = v {
                            out.insert(m.name.clone(), v);
                        }
                    }
                }
                if out.is_empty() && node.children.is_empty() && node.value.is_none() {
                    return Ok(None);
                }
                Ok(Some(Value::Object(out)))
            }
            Shape::List { .. } => self.decode_list_items(shape, node, path, false),
            Shape::Map {
                key,
                value,
                key_name,
                value_name,
                flattened,
            } => {
                let entries = if *flattened {
                    Some(node)
                } else {
                    node.children.get("entry")
                };
                let mut out = Map::new();
                if let Some(entries) = entries {
                    for (i, entry) in indexed(entries, path)? {
                        let p = format!("{path}.entry.{i}");
                        let k = entry
                            .children
                            .get(key_name)
                            .and_then(|n| n.value.clone())
                            .ok_or_else(|| {
                                QueryError::Validation(format!("{p}.{key_name} is missing."))
                            })?;
                        let v = match entry.children.get(value_name) {
                            Some(n) => self.decode_shape(value, n, &p)?.unwrap_or(Value::Null),
                            None => Value::Null,
                        };
                        let _ = key;
                        out.insert(k, v);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Shape::Scalar(kind) => {
                let Some(raw) = &node.value else {
                    return Ok(None);
                };
                scalar(*kind, raw, path).map(Some)
            }
        }
    }

    /// A list from `Name.member.N` (or `Name.N` when flattened); `Name=` alone is empty.
    fn decode_list_items(
        &self,
        shape: &str,
        node: &Node,
        path: &str,
        flattened_member: bool,
    ) -> Result<Option<Value>, QueryError> {
        let (member, member_name, flattened) = match self.shapes.get(shape) {
            Some(Shape::List {
                member,
                member_name,
                flattened,
            }) => (member, member_name.as_str(), *flattened || flattened_member),
            _ => return self.decode_shape(shape, node, path),
        };
        let items = if flattened {
            Some(node)
        } else {
            node.children.get(member_name)
        };
        let mut out = Vec::new();
        if let Some(items) = items {
            for (i, item) in indexed(items, path)? {
                let p = format!("{path}.{i}");
                if let Some(v) = self.decode_shape(member, item, &p)? {
                    out.push(v);
                }
            }
        }
        Ok(Some(Value::Array(out)))
    }

    /// The XML response of a successful call: the output shape inside `<XResult>`.
    pub fn encode_result(&self, operation: &str, output: &Value, request_id: &str) -> String {
        let mut xml = String::with_capacity(512);
        let _ = write!(
            xml,
            "<{operation}Response xmlns=\"{}\">",
            escape(&self.namespace)
        );
        if let Some(op) = self.operations.get(operation) {
            if let Some(wrapper) = &op.result_wrapper {
                let _ = write!(xml, "<{wrapper}>");
                if let Some(shape) = &op.output {
                    self.encode_members(shape, output, &mut xml);
                }
                let _ = write!(xml, "</{wrapper}>");
            }
        }
        let _ = write!(
            xml,
            "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{operation}Response>",
            escape(request_id)
        );
        xml
    }

    /// An error response.
    pub fn encode_error(
        &self,
        code: &str,
        message: &str,
        sender: bool,
        request_id: &str,
    ) -> String {
        format!(
            "<ErrorResponse xmlns=\"{}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            escape(&self.namespace),
            if sender { "Sender" } else { "Receiver" },
            escape(code),
            escape(message),
            escape(request_id)
        )
    }

    fn encode_members(&self, shape: &str, value: &Value, xml: &mut String) {
        let (Some(Shape::Structure(members)), Some(obj)) =
            (self.shapes.get(shape), value.as_object())
        else {
            return;
        };
        for m in members {
            match obj.get(&m.name) {
                None | Some(Value::Null) => {}
                Some(v) => self.encode_named(&m.wire, &m.shape, m.flattened, v, xml),
            }
        }
    }

    fn encode_named(
        &self,
        name: &str,
        shape: &str,
        flattened: bool,
        value: &Value,
        xml: &mut String,
    ) {
        match self.shapes.get(shape) {
            Some(Shape::List {
                member,
                member_name,
                flattened: list_flat,
            }) => {
                let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
                if flattened || *list_flat {
                    for item in items {
                        self.encode_named(name, member, false, item, xml);
                    }
                } else {
                    let _ = write!(xml, "<{name}>");
                    for item in items {
                        self.encode_named(member_name, member, false, item, xml);
                    }
                    let _ = write!(xml, "</{name}>");
                }
            }
            Some(Shape::Map {
                key: _,
                value: value_shape,
                key_name,
                value_name,
                flattened: _,
            }) => {
                let _ = write!(xml, "<{name}>");
                if let Some(obj) = value.as_object() {
                    for (k, v) in obj {
                        let _ = write!(xml, "<entry><{key_name}>{}</{key_name}>", escape(k));
                        self.encode_named(value_name, value_shape, false, v, xml);
                        xml.push_str("</entry>");
                    }
                }
                let _ = write!(xml, "</{name}>");
            }
            Some(Shape::Structure(_)) => {
                let _ = write!(xml, "<{name}>");
                self.encode_members(shape, value, xml);
                let _ = write!(xml, "</{name}>");
            }
            Some(Shape::Scalar(kind)) => {
                let text = match (kind, value) {
                    (Scalar::Timestamp, Value::Number(n)) => {
                        iso8601_millis(n.as_f64().unwrap_or_default())
                    }
                    (_, Value::String(s)) => s.clone(),
                    (_, Value::Bool(b)) => b.to_string(),
                    (_, Value::Number(n)) => n.to_string(),
                    (_, other) => other.to_string(),
                };
                let _ = write!(xml, "<{name}>{}</{name}>", escape(&text));
            }
            None => {}
        }
    }
}

/// Epoch seconds as `2026-11-23T15:52:11.123Z`, the timestamp form of query responses.
pub fn iso8601_millis(ts: f64) -> String {
    let millis = (ts * 1000.0).round() as i64;
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// Parses an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// XML text escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {
                let _ = write!(out, "&#x{:X};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The dotted names of a form as a tree (`A.member.1.B=x` → A → member → 1 → B = x).
#[derive(Debug, Default)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, key: &str, value: &str) {
        let mut node = self;
        for part in key.split('.') {
            node = node.children.entry(part.to_string()).or_default();
        }
        node.value = Some(value.to_string());
    }
}

/// The children of a list or map node, by their 1-based index, in order.
fn indexed<'a>(node: &'a Node, path: &str) -> Result<Vec<(u64, &'a Node)>, QueryError> {
    let mut out = Vec::with_capacity(node.children.len());
    for (k, child) in &node.children {
        let i: u64 = k.parse().ok().filter(|i| *i >= 1).ok_or_else(|| {
            QueryError::Validation(format!(
                "Invalid list index '{k}' in parameter {path}: list members are numbered from 1."
            ))
        })?;
        out.push((i, child));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out)
}

fn join_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn scalar(kind: Scalar, raw: &str, path: &str) -> Result<Value, QueryError> {
    let bad = |what: &str| {
        QueryError::Validation(format!(
            "Invalid value '{raw}' for parameter {path}: it must be {what}."
        ))
    };
    Ok(match kind {
        Scalar::String | Scalar::Blob => Value::String(raw.to_string()),
        Scalar::Integer => Value::from(raw.trim().parse::<i64>().map_err(|_| bad("an integer"))?),
        Scalar::Float => {
            let f: f64 = raw.trim().parse().map_err(|_| bad("a number"))?;
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| bad("a finite number"))?
        }
        Scalar::Boolean => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Scalar::Timestamp => {
            let ts = match chrono::DateTime::parse_from_rfc3339(raw.trim()) {
                Ok(d) => d.timestamp_millis() as f64 / 1000.0,
                Err(_) => raw.trim().parse::<f64>().map_err(|_| {
                    bad("an ISO-8601 timestamp (2026-01-31T12:00:00Z) or epoch seconds")
                })?,
            };
            serde_json::Number::from_f64(ts)
                .map(Value::Number)
                .ok_or_else(|| bad("a timestamp"))?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn nested_lists_and_structures_decode_by_their_shapes() {
        let model = QueryModel::cloudformation();
        let (action, input) = model
            .decode(&form(&[
                ("Action", "CreateStack"),
                ("Version", "2010-05-15"),
                ("StackName", "demo"),
                ("TemplateBody", "{}"),
                ("Parameters.member.2.ParameterKey", "B"),
                ("Parameters.member.2.ParameterValue", "2"),
                ("Parameters.member.1.ParameterKey", "A"),
                ("Parameters.member.1.UsePreviousValue", "true"),
                ("Tags.member.1.Key", "team"),
                ("Tags.member.1.Value", "blue"),
                ("DisableRollback", "true"),
                ("TimeoutInMinutes", "15"),
                ("Capabilities", ""),
            ]))
            .expect("decodes");
        assert_eq!(action, "CreateStack");
        assert_eq!(
            input,
            json!({
                "StackName": "demo",
                "TemplateBody": "{}",
                "Parameters": [
                    {"ParameterKey": "A", "UsePreviousValue": true},
                    {"ParameterKey": "B", "ParameterValue": "2"}
                ],
                "Tags": [{"Key": "team", "Value": "blue"}],
                "DisableRollback": true,
                "TimeoutInMinutes": 15,
                "Capabilities": []
            })
        );
    }

    #[test]
    fn constraints_answer_aws_validation_messages() {
        let model = QueryModel::cloudformation();
        let err = model
            .decode(&form(&[
                ("Action", "DescribeChangeSet"),
                ("Version", "2010-05-15"),
                ("ChangeSetName", "1bad"),
            ]))
            .expect_err("pattern");
        let QueryError::Validation(m) = err else {
            panic!("expected a validation error, got {err:?}")
        };
        assert!(
            m.starts_with("1 validation error detected: Value '1bad' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern"),
            "{m}"
        );
        let err = model
            .decode(&form(&[
                ("Action", "CreateStack"),
                ("Version", "2010-05-15"),
            ]))
            .expect_err("required");
        assert!(
            matches!(&err, QueryError::Validation(m) if m.contains("'stackName'") && m.contains("Member must not be null")),
            "{err:?}"
        );
    }

    #[test]
    fn wrong_types_and_unknown_actions_are_refused() {
        let model = QueryModel::cloudformation();
        let err = model
            .decode(&form(&[
                ("Action", "CreateStack"),
                ("StackName", "s"),
                ("TimeoutInMinutes", "soon"),
            ]))
            .expect_err("integer");
        assert!(
            matches!(&err, QueryError::Validation(m) if m.contains("TimeoutInMinutes") && m.contains("integer"))
        );
        assert_eq!(
            model.decode(&form(&[("Action", "LaunchRocket")])),
            Err(QueryError::InvalidAction(
                "Could not find operation LaunchRocket for version 2010-05-15".into()
            ))
        );
        assert_eq!(
            model.decode(&form(&[("StackName", "s")])),
            Err(QueryError::MissingAction)
        );
    }

    #[test]
    fn results_encode_as_the_output_shape_describes() {
        let model = QueryModel::cloudformation();
        let xml = model.encode_result(
            "DescribeStacks",
            &json!({"Stacks": [{
                "StackName": "a<b",
                "StackId": "arn:x",
                "CreationTime": 1_700_000_000.5,
                "StackStatus": "CREATE_COMPLETE",
                "DisableRollback": false,
                "Outputs": [{"OutputKey": "K", "OutputValue": "V"}],
                "Tags": []
            }]}),
            "req-1",
        );
        assert!(xml.starts_with(
            "<DescribeStacksResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><DescribeStacksResult><Stacks><member>"
        ), "{xml}");
        assert!(xml.contains("<StackName>a&lt;b</StackName>"), "{xml}");
        assert!(
            xml.contains("<CreationTime>2023-11-14T22:13:20.500Z</CreationTime>"),
            "{xml}"
        );
        assert!(
            xml.contains("<DisableRollback>false</DisableRollback>"),
            "{xml}"
        );
        assert!(xml.contains("<Outputs><member><OutputKey>K</OutputKey><OutputValue>V</OutputValue></member></Outputs>"), "{xml}");
        assert!(xml.contains("<Tags></Tags>"), "{xml}");
        assert!(xml.ends_with("<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></DescribeStacksResponse>"));
        let empty = model.encode_result("DeleteStack", &json!({}), "r");
        assert_eq!(empty, "<DeleteStackResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteStackResponse>");
    }

    #[test]
    fn errors_carry_type_code_message_and_request_id() {
        let model = QueryModel::cloudformation();
        let xml = model.encode_error(
            "ValidationError",
            "Stack with id x does not exist",
            true,
            "r1",
        );
        assert_eq!(xml, "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id x does not exist</Message></Error><RequestId>r1</RequestId></ErrorResponse>");
        let traits = model
            .error_traits("ChangeSetNotFoundException")
            .expect("modelled");
        assert_eq!(traits.code, "ChangeSetNotFound");
        assert_eq!(traits.http_status, 404);
    }
}
