//! One file per CloudFormation API operation (related read operations share one), each
//! `handle(cfn, ctx, input) -> CfnResult<Value>` over the input and output JSON of the
//! service model; [`registry`]: the declaration of every operation served; [`common`]: the
//! input helpers and stack rendering they share.

pub mod change_sets;
pub mod common;
pub mod create_stack;
pub mod delete_stack;
pub mod describe_stack_events;
pub mod describe_stacks;
pub mod exports;
pub mod get_template;
pub mod registry;
pub mod stack_resources;
pub mod template_info;
pub mod update_stack;
