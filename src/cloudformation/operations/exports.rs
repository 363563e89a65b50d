//! ListExports (the exported outputs of the Region) and ListImports (the stacks that
//! import an export).

use std::sync::Arc;

use serde_json::{json, Value};

use super::common::{page, required};
use crate::cloudformation::error::{CfnError, CfnResult};
use crate::cloudformation::model::StackStatus;
use crate::cloudformation::service::CloudFormation;
use crate::domain::request::RequestContext;

pub fn list_exports(
    cfn: &Arc<CloudFormation>,
    ctx: &RequestContext,
    input: Value,
) -> CfnResult<Value> {
    let state = cfn.state();
    let exports: Vec<Value> = state
        .exports
        .values()
        .filter(|x| x.region == ctx.region)
        .map(|x| json!({"ExportingStackId": x.stack_id, "Name": x.name, "Value": x.value}))
        .collect();
    let (items, next) = page(&exports, &input, 100)?;
    let mut out = json!({ "Exports": items });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

pub fn list_imports(
    cfn: &Arc<CloudFormation>,
    ctx: &RequestContext,
    input: Value,
) -> CfnResult<Value> {
    let name = required(&input, "ExportName")?;
    let state = cfn.state();
    let stacks: Vec<Value> = state
        .stacks
        .values()
        .filter(|s| s.region == ctx.region && s.status != StackStatus::DeleteComplete)
        .filter(|s| s.imports.iter().any(|i| i == name))
        .map(|s| json!(s.name))
        .collect();
    if stacks.is_empty() {
        return Err(CfnError::validation(format!(
            "Export '{name}' is not imported by any stack."
        )));
    }
    let (items, next) = page(&stacks, &input, 100)?;
    let mut out = json!({ "Imports": items });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}
