//! The declaration of every CloudFormation operation hsm-kms serves: its name, the IAM
//! action a caller needs for it (`cloudformation:<name>`, what strict mode checks),
//! whether it changes nothing (CloudTrail's `readOnly`: its audit records are buffered, as
//! for KMS), and its handler.

use std::sync::Arc;

use serde_json::Value;

use super::{
    change_sets, create_stack, delete_stack, describe_stack_events, describe_stacks, exports,
    get_template, stack_resources, template_info, update_stack,
};
use crate::cloudformation::error::CfnResult;
use crate::cloudformation::service::CloudFormation;
use crate::domain::request::RequestContext;

type Handler = fn(&Arc<CloudFormation>, &RequestContext, Value) -> CfnResult<Value>;

/// One operation.
pub struct Operation {
    pub name: &'static str,
    /// The IAM action the caller needs (`cloudformation:<name>`).
    pub action: &'static str,
    /// Changes nothing: CloudTrail's `readOnly`.
    pub read_only: bool,
    pub handler: Handler,
}

const READ: bool = true;
const WRITE: bool = false;

/// Declares an operation; its IAM action is `cloudformation:<name>`.
macro_rules! op {
    ($name:literal, $read_only:expr, $handler:path) => {
        Operation {
            name: $name,
            action: concat!("cloudformation:", $name),
            read_only: $read_only,
            handler: $handler,
        }
    };
}

/// Every CloudFormation operation hsm-kms serves.
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    op!("CreateChangeSet", WRITE, change_sets::create),
    op!("CreateStack", WRITE, create_stack::handle),
    op!("DeleteChangeSet", WRITE, change_sets::delete),
    op!("DeleteStack", WRITE, delete_stack::handle),
    op!("DescribeChangeSet", READ, change_sets::describe),
    op!("DescribeStackEvents", READ, describe_stack_events::handle),
    op!("DescribeStackResource", READ, stack_resources::describe_one),
    op!("DescribeStackResources", READ, stack_resources::describe),
    op!("DescribeStacks", READ, describe_stacks::handle),
    op!("ExecuteChangeSet", WRITE, change_sets::execute),
    op!("GetTemplate", READ, get_template::handle),
    op!("GetTemplateSummary", READ, template_info::summary),
    op!("ListChangeSets", READ, change_sets::list),
    op!("ListExports", READ, exports::list_exports),
    op!("ListImports", READ, exports::list_imports),
    op!("ListStackResources", READ, stack_resources::list),
    op!("ListStacks", READ, describe_stacks::list),
    op!("UpdateStack", WRITE, update_stack::handle),
    op!("UpdateTerminationProtection", WRITE, update_stack::termination_protection),
    op!("ValidateTemplate", READ, template_info::validate),
];

pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.name == name)
}

pub fn names() -> Vec<&'static str> {
    OPERATIONS.iter().map(|o| o.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_describe_list_get_and_validate_operations_are_read_only() {
        for op in OPERATIONS {
            let reads = ["Describe", "List", "Get", "Validate"]
                .iter()
                .any(|p| op.name.starts_with(p));
            assert_eq!(op.read_only, reads, "{}", op.name);
            assert_eq!(op.action, format!("cloudformation:{}", op.name));
        }
    }
}
