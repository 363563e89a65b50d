//! Reading a template: JSON or YAML text into a [`Template`], with the structural checks
//! CloudFormation makes before anything is deployed (sections, resource attributes,
//! references, unknown types, circular dependencies), answered with CloudFormation's
//! `Template format error: …` messages.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::document::{OutputDecl, Policy, ResourceDecl, Template, TypeCatalog, MAX_TEMPLATE_BODY};
use super::params::ParameterDecl;
use super::{graph, intrinsics, yaml};
use crate::cloudformation::error::{CfnError, CfnResult};

/// Top-level sections a template may have.
const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
];

/// Attributes a resource declaration may have.
const RESOURCE_ATTRIBUTES: &[&str] = &[
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
];

/// Parses template text: JSON when it starts with `{`, YAML otherwise.
pub fn parse_text(text: &str) -> CfnResult<Value> {
    if text.len() > MAX_TEMPLATE_BODY {
        return Err(CfnError::validation(format!(
            "1 validation error detected: Value '{}' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to {MAX_TEMPLATE_BODY}",
            &text.chars().take(32).collect::<String>()
        )));
    }
    let doc = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Value>(text).map_err(|e| {
            CfnError::template_format(format!(
                "JSON not well-formed. (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?
    } else {
        yaml::parse(text).map_err(|e| {
            CfnError::template_format(format!(
                "YAML not well-formed. (line {}, column {})",
                e.line, e.column
            ))
        })?
    };
    if !doc.is_object() {
        return Err(CfnError::template_format("unsupported structure."));
    }
    Ok(doc)
}

fn object<'a>(
    doc: &'a Map<String, Value>,
    section: &str,
) -> CfnResult<Option<&'a Map<String, Value>>> {
    match doc.get(section) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(CfnError::template_format(format!(
            "{section} section must be a JSON object (a YAML mapping)"
        ))),
    }
}

fn string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

impl Template {
    /// Parses and checks a template.
    pub fn parse(text: &str, catalog: &dyn TypeCatalog) -> CfnResult<Template> {
        let doc = parse_text(text)?;
        Self::from_value(&doc, catalog)
    }

    /// Checks the structure of a parsed template.
    pub fn from_value(doc: &Value, catalog: &dyn TypeCatalog) -> CfnResult<Template> {
        let doc = doc
            .as_object()
            .ok_or_else(|| CfnError::template_format("unsupported structure."))?;
        let unknown: Vec<&str> = doc
            .keys()
            .map(String::as_str)
            .filter(|k| !SECTIONS.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(CfnError::template_format(format!(
                "Invalid template property or properties [{}]",
                unknown.join(", ")
            )));
        }
        let format_version = match doc.get("AWSTemplateFormatVersion") {
            None => None,
            Some(Value::String(v)) if v == "2010-09-09" => Some(v.clone()),
            Some(v) => {
                return Err(CfnError::template_format(format!(
                    "Unsupported template format version {}: the only version is 2010-09-09",
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                )))
            }
        };
        let description = match doc.get("Description") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(CfnError::template_format(
                    "Every Description member must be a string.",
                ))
            }
        };
        let transforms = match doc.get("Transform") {
            None => Vec::new(),
            Some(v) => string_list(v).ok_or_else(|| {
                CfnError::template_format("Transform must be a string or a list of strings")
            })?,
        };
        if let Some(t) = transforms.first() {
            return Err(CfnError::validation(format!(
                "Transform {t} is not supported by hsm-kms: templates with transforms (macros, AWS::Serverless, AWS::LanguageExtensions) cannot be deployed here."
            )));
        }

        let mut parameters = BTreeMap::new();
        if let Some(decls) = object(doc, "Parameters")? {
            for (name, decl) in decls {
                parameters.insert(name.clone(), ParameterDecl::parse(name, decl)?);
            }
        }
        let mappings = object(doc, "Mappings")?.cloned().unwrap_or_default();
        for (name, m) in &mappings {
            let ok = m
                .as_object()
                .is_some_and(|top| !top.is_empty() && top.values().all(Value::is_object));
            if !ok {
                return Err(CfnError::template_format(format!(
                    "Mappings attribute {name} must be a map of maps"
                )));
            }
        }
        let conditions = object(doc, "Conditions")?.cloned().unwrap_or_default();

        let Some(resource_decls) = object(doc, "Resources")? else {
            return Err(CfnError::template_format(
                "At least one Resources member must be defined.",
            ));
        };
        if resource_decls.is_empty() {
            return Err(CfnError::template_format(
                "At least one Resources member must be defined.",
            ));
        }
        let mut resources = BTreeMap::new();
        let mut unknown_types = BTreeSet::new();
        for (logical, decl) in resource_decls {
            let decl = decl.as_object().ok_or_else(|| {
                CfnError::template_format(format!(
                    "[/Resources/{logical}] resource definition is malformed"
                ))
            })?;
            if let Some(bad) = decl
                .keys()
                .find(|k| !RESOURCE_ATTRIBUTES.contains(&k.as_str()))
            {
                return Err(CfnError::template_format(format!(
                    "Invalid template resource property '{bad}'"
                )));
            }
            let type_name = decl.get("Type").and_then(Value::as_str).ok_or_else(|| {
                CfnError::template_format(format!(
                    "[/Resources/{logical}] Every Resources object must contain a Type member."
                ))
            })?;
            if catalog.attributes(type_name).is_none() {
                unknown_types.insert(type_name.to_string());
            }
            let properties = match decl.get("Properties") {
                None | Some(Value::Null) => Value::Object(Map::new()),
                Some(v @ Value::Object(_)) => v.clone(),
                Some(_) => {
                    return Err(CfnError::template_format(format!(
                        "[/Resources/{logical}/Properties] Properties must be an object"
                    )))
                }
            };
            let depends_on = match decl.get("DependsOn") {
                None => Vec::new(),
                Some(v) => string_list(v).ok_or_else(|| {
                    CfnError::template_format(format!(
                        "[/Resources/{logical}/DependsOn] DependsOn must be a string or a list of strings"
                    ))
                })?,
            };
            let condition = match decl.get("Condition") {
                None => None,
                Some(Value::String(c)) => Some(c.clone()),
                Some(_) => {
                    return Err(CfnError::template_format(format!(
                        "[/Resources/{logical}/Condition] Condition must be a string"
                    )))
                }
            };
            resources.insert(
                logical.clone(),
                ResourceDecl {
                    type_name: type_name.to_string(),
                    properties,
                    depends_on,
                    condition,
                    deletion_policy: Policy::parse(
                        "DeletionPolicy",
                        logical,
                        decl.get("DeletionPolicy"),
                    )?,
                    update_replace_policy: Policy::parse(
                        "UpdateReplacePolicy",
                        logical,
                        decl.get("UpdateReplacePolicy"),
                    )?,
                },
            );
        }
        if !unknown_types.is_empty() {
            return Err(CfnError::template_format(format!(
                "Unrecognized resource types: [{}]",
                unknown_types.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }

        let mut outputs = BTreeMap::new();
        if let Some(decls) = object(doc, "Outputs")? {
            for (key, decl) in decls {
                let decl = decl.as_object().ok_or_else(|| {
                    CfnError::template_format(format!("[/Outputs/{key}] output is malformed"))
                })?;
                let value = decl.get("Value").cloned().ok_or_else(|| {
                    CfnError::template_format(format!(
                        "Every Outputs member must contain a Value object, the Outputs member {key} does not"
                    ))
                })?;
                let export_name = match decl.get("Export") {
                    None => None,
                    Some(e) => Some(e.get("Name").cloned().ok_or_else(|| {
                        CfnError::template_format(format!(
                            "[/Outputs/{key}/Export] Export must contain a Name"
                        ))
                    })?),
                };
                outputs.insert(
                    key.clone(),
                    OutputDecl {
                        value,
                        description: decl.get("Description").cloned(),
                        export_name,
                        condition: decl
                            .get("Condition")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    },
                );
            }
        }

        let template = Template {
            format_version,
            description,
            metadata: doc.get("Metadata").cloned(),
            parameters,
            mappings,
            conditions,
            resources,
            outputs,
            transforms,
        };
        template.check_references(catalog)?;
        graph::Graph::of(&template)?;
        Ok(template)
    }

    /// Every Ref, GetAtt, Sub variable, DependsOn and Condition names something declared.
    fn check_references(&self, catalog: &dyn TypeCatalog) -> CfnResult<()> {
        let declared = |name: &str| {
            self.parameters.contains_key(name)
                || self.resources.contains_key(name)
                || intrinsics::PSEUDO_PARAMETERS.contains(&name)
        };
        let check_block = |block: &str, values: Vec<&Value>| -> CfnResult<()> {
            let mut missing = BTreeSet::new();
            for v in values {
                for r in graph::references(v) {
                    match r {
                        graph::Reference::Ref(name) | graph::Reference::Sub(name) => {
                            if !declared(&name) {
                                missing.insert(name);
                            }
                        }
                        graph::Reference::GetAtt(res, attr) => {
                            let Some(decl) = self.resources.get(&res) else {
                                return Err(CfnError::template(format!(
                                    "instance of Fn::GetAtt references undefined resource {res}"
                                )));
                            };
                            let attributes = catalog.attributes(&decl.type_name).unwrap_or(&[]);
                            if !attr.is_empty() && !attributes.contains(&attr.as_str()) {
                                return Err(CfnError::template(format!(
                                    "resource {res} does not support attribute type {attr} in Fn::GetAtt"
                                )));
                            }
                        }
                        graph::Reference::Condition(name) => {
                            if !self.conditions.contains_key(&name) {
                                return Err(CfnError::template(format!(
                                    "unresolved condition dependency {name} in Fn::If"
                                )));
                            }
                        }
                    }
                }
            }
            if missing.is_empty() {
                Ok(())
            } else {
                Err(CfnError::template_format(format!(
                    "Unresolved resource dependencies [{}] in the {block} block of the template",
                    missing.into_iter().collect::<Vec<_>>().join(", ")
                )))
            }
        };
        let mut resource_values: Vec<&Value> = Vec::new();
        for (logical, decl) in &self.resources {
            resource_values.push(&decl.properties);
            let missing: Vec<&str> = decl
                .depends_on
                .iter()
                .filter(|d| !self.resources.contains_key(*d))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(CfnError::template_format(format!(
                    "Unresolved resource dependencies [{}] in the Resources block of the template",
                    missing.join(", ")
                )));
            }
            if let Some(c) = &decl.condition {
                if !self.conditions.contains_key(c) {
                    return Err(CfnError::template_format(format!(
                        "Unresolved condition dependencies [{c}] in the Resources block of the template (resource {logical})"
                    )));
                }
            }
        }
        check_block("Resources", resource_values)?;
        let mut output_values = Vec::new();
        for (key, o) in &self.outputs {
            output_values.push(&o.value);
            if let Some(e) = &o.export_name {
                output_values.push(e);
            }
            if let Some(c) = &o.condition {
                if !self.conditions.contains_key(c) {
                    return Err(CfnError::template_format(format!(
                        "Unresolved condition dependencies [{c}] in the Outputs block of the template (output {key})"
                    )));
                }
            }
        }
        check_block("Outputs", output_values)?;
        // Conditions may refer to parameters and pseudo parameters only.
        let mut bad = BTreeSet::new();
        for v in self.conditions.values() {
            for r in graph::references(v) {
                match r {
                    graph::Reference::Ref(name) => {
                        if !self.parameters.contains_key(&name)
                            && !intrinsics::PSEUDO_PARAMETERS.contains(&name.as_str())
                        {
                            bad.insert(name);
                        }
                    }
                    graph::Reference::Condition(name) => {
                        if !self.conditions.contains_key(&name) {
                            bad.insert(name);
                        }
                    }
                    graph::Reference::GetAtt(res, _) => {
                        bad.insert(res);
                    }
                    graph::Reference::Sub(_) => {}
                }
            }
        }
        if !bad.is_empty() {
            return Err(CfnError::template_format(format!(
                "Unresolved dependencies [{}]. Cannot reference resources in the Conditions block of the template",
                bad.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(())
    }

    /// The resource types the template declares, sorted.
    pub fn resource_types(&self) -> Vec<String> {
        self.resources
            .values()
            .map(|r| r.type_name.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudformation::template::document::tests::Kms;

    fn err(text: &str) -> String {
        Template::parse(text, &Kms)
            .expect_err("must be refused")
            .message
    }

    #[test]
    fn unknown_resource_types_are_listed() {
        assert_eq!(
            err("Resources:\n  B:\n    Type: AWS::S3::Bucket\n  K:\n    Type: AWS::KMS::Key\n"),
            "Template format error: Unrecognized resource types: [AWS::S3::Bucket]"
        );
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        assert_eq!(
            err("Resources:\n  K:\n    Type: AWS::KMS::Key\n   Properties: {}\n"),
            "Template format error: YAML not well-formed. (line 4, column 14)"
        );
        assert_eq!(
            err("{\n  \"Resources\": {\n    \"K\": {\"Type\": \"AWS::KMS::Key\",}\n  }\n}"),
            "Template format error: JSON not well-formed. (line 3, column 35)"
        );
    }

    #[test]
    fn structure_rules() {
        assert_eq!(
            err("Description: x\n"),
            "Template format error: At least one Resources member must be defined."
        );
        assert_eq!(
            err("Resourcez: {}\nResources:\n  K:\n    Type: AWS::KMS::Key\n"),
            "Template format error: Invalid template property or properties [Resourcez]"
        );
        assert_eq!(
            err("Resources:\n  K:\n    Properties: {}\n"),
            "Template format error: [/Resources/K] Every Resources object must contain a Type member."
        );
        assert_eq!(
            err("Resources:\n  A:\n    Type: AWS::KMS::Alias\n    Properties:\n      TargetKeyId: !Ref Missing\n"),
            "Template format error: Unresolved resource dependencies [Missing] in the Resources block of the template"
        );
        assert_eq!(
            err("Resources:\n  K:\n    Type: AWS::KMS::Key\nOutputs:\n  O:\n    Value: !GetAtt K.Nope\n"),
            "Template error: resource K does not support attribute type Nope in Fn::GetAtt"
        );
        assert_eq!(
            err("just a string"),
            "Template format error: unsupported structure."
        );
    }

    #[test]
    fn circular_dependencies_are_refused() {
        assert_eq!(
            err("Resources:\n  A:\n    Type: AWS::KMS::Key\n    DependsOn: B\n  B:\n    Type: AWS::KMS::Alias\n    Properties:\n      AliasName: alias/x\n      TargetKeyId: !Sub '${A}'\n"),
            "Template format error: Circular dependency between resources: [A, B]"
        );
    }
}
