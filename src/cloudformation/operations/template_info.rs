//! ValidateTemplate and GetTemplateSummary: what a template declares (parameters,
//! description, resource types), after the same checks a deployment makes.

use std::sync::Arc;

use serde_json::{json, Value};

use super::common::text;
use crate::cloudformation::error::{CfnError, CfnResult};
use crate::cloudformation::resources::Catalog;
use crate::cloudformation::service::CloudFormation;
use crate::cloudformation::template::params::ParameterDecl;
use crate::cloudformation::template::Template;
use crate::domain::request::RequestContext;

fn template_of(
    cfn: &Arc<CloudFormation>,
    ctx: &RequestContext,
    input: &Value,
) -> CfnResult<Template> {
    let body = match (text(input, "TemplateBody"), text(input, "StackName")) {
        (Some(b), _) => b.to_string(),
        (None, Some(name)) => cfn.stack(ctx.region, name)?.current.template_body,
        (None, None) if input.get("TemplateURL").is_some() => {
            return Err(CfnError::validation(
                "TemplateURL is not supported by hsm-kms (it has no S3): pass the template in TemplateBody.",
            ))
        }
        (None, None) => {
            return Err(CfnError::validation(
                "Either Template URL or Template Body must be specified.",
            ))
        }
    };
    Template::parse(&body, &Catalog)
}

fn parameter(p: &ParameterDecl, with_type: bool) -> Value {
    let mut v = json!({"ParameterKey": p.name, "NoEcho": p.no_echo});
    if let Some(d) = &p.default {
        v["DefaultValue"] = json!(d);
    }
    if let Some(d) = &p.description {
        v["Description"] = json!(d);
    }
    if with_type {
        v["ParameterType"] = json!(p.param_type.as_str());
        v["ParameterConstraints"] = match &p.allowed_values {
            Some(a) => json!({"AllowedValues": a}),
            None => json!({}),
        };
    }
    v
}

pub fn validate(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let t = template_of(cfn, ctx, &input)?;
    let mut out = json!({
        "Parameters": t.parameters.values().map(|p| parameter(p, false)).collect::<Vec<_>>(),
        "Capabilities": [],
        "DeclaredTransforms": t.transforms,
    });
    if let Some(d) = &t.description {
        out["Description"] = json!(d);
    }
    Ok(out)
}

pub fn summary(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let t = template_of(cfn, ctx, &input)?;
    let mut by_type: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (logical, r) in &t.resources {
        by_type.entry(&r.type_name).or_default().push(logical);
    }
    let identifiers: Vec<Value> = by_type
        .iter()
        .map(|(ty, logicals)| {
            let id = if *ty == "AWS::KMS::Alias" {
                "AliasName"
            } else {
                "KeyId"
            };
            json!({"ResourceType": ty, "LogicalResourceIds": logicals, "ResourceIdentifiers": [id]})
        })
        .collect();
    let mut out = json!({
        "Parameters": t.parameters.values().map(|p| parameter(p, true)).collect::<Vec<_>>(),
        "Capabilities": [],
        "ResourceTypes": t.resource_types(),
        "DeclaredTransforms": t.transforms,
        "ResourceIdentifierSummaries": identifiers,
    });
    if let Some(d) = &t.description {
        out["Description"] = json!(d);
    }
    if let Some(v) = &t.format_version {
        out["Version"] = json!(v);
    }
    if let Some(m) = &t.metadata {
        out["Metadata"] = json!(m.to_string());
    }
    Ok(out)
}
