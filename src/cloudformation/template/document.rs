//! A template as the engine uses it: its sections parsed and checked ([`Template`]), the
//! declarations of its resources and outputs, and what the template layer needs to know
//! about resource types ([`TypeCatalog`]). Parsing and the structural checks are in
//! [`super::parse`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::params::ParameterDecl;
use crate::cloudformation::error::{CfnError, CfnResult};

/// AWS's limit on a TemplateBody.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// What happens to a resource's physical resource when the stack no longer has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Policy {
    #[default]
    Delete,
    Retain,
    /// Retained, except when the stack operation that created it rolls back.
    RetainExceptOnCreate,
}

impl Policy {
    pub fn parse(attribute: &str, logical: &str, v: Option<&Value>) -> CfnResult<Policy> {
        match v {
            None => Ok(Policy::Delete),
            Some(Value::String(s)) => match s.as_str() {
                "Delete" => Ok(Policy::Delete),
                "Retain" => Ok(Policy::Retain),
                "RetainExceptOnCreate" => Ok(Policy::RetainExceptOnCreate),
                "Snapshot" => Err(CfnError::template_format(format!(
                    "[/Resources/{logical}/{attribute}] Snapshot is not supported by the KMS resource types"
                ))),
                other => Err(CfnError::template_format(format!(
                    "[/Resources/{logical}/{attribute}] Unrecognized {attribute} {other}: use Delete, Retain or RetainExceptOnCreate"
                ))),
            },
            Some(_) => Err(CfnError::template_format(format!(
                "[/Resources/{logical}/{attribute}] {attribute} must be a string"
            ))),
        }
    }
}

/// One resource of the `Resources` section.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDecl {
    pub type_name: String,
    /// The `Properties` object as written (intrinsics unevaluated).
    pub properties: Value,
    pub depends_on: Vec<String>,
    pub condition: Option<String>,
    pub deletion_policy: Policy,
    pub update_replace_policy: Policy,
}

/// One output of the `Outputs` section.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputDecl {
    pub value: Value,
    pub description: Option<Value>,
    pub export_name: Option<Value>,
    pub condition: Option<String>,
}

/// A parsed, structurally valid template.
#[derive(Debug, Clone)]
pub struct Template {
    pub format_version: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Value>,
    pub parameters: BTreeMap<String, ParameterDecl>,
    pub mappings: Map<String, Value>,
    pub conditions: Map<String, Value>,
    pub resources: BTreeMap<String, ResourceDecl>,
    pub outputs: BTreeMap<String, OutputDecl>,
    pub transforms: Vec<String>,
}

/// What the template layer needs to know about resource types.
pub trait TypeCatalog {
    /// The `Fn::GetAtt` attributes of a supported type; `None` if the type is unknown.
    fn attributes(&self, type_name: &str) -> Option<&'static [&'static str]>;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::TypeCatalog;

    /// The KMS resource types, as the unit tests of the template layer see them.
    pub(crate) struct Kms;
    impl TypeCatalog for Kms {
        fn attributes(&self, t: &str) -> Option<&'static [&'static str]> {
            match t {
                "AWS::KMS::Key" | "AWS::KMS::ReplicaKey" => Some(&["Arn", "KeyId"]),
                "AWS::KMS::Alias" => Some(&[]),
                _ => None,
            }
        }
    }
}
