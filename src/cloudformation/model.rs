//! The records a stack is made of — stack, resources, events, change sets, exports — as
//! the stack store keeps them, and the status values of the CloudFormation API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::template::Policy;
use crate::domain::region::Region;
use crate::domain::time::Timestamp;

/// `StackStatus` of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StackStatus {
    CreateInProgress,
    CreateFailed,
    CreateComplete,
    RollbackInProgress,
    RollbackFailed,
    RollbackComplete,
    DeleteInProgress,
    DeleteFailed,
    DeleteComplete,
    UpdateInProgress,
    UpdateCompleteCleanupInProgress,
    UpdateComplete,
    UpdateFailed,
    UpdateRollbackInProgress,
    UpdateRollbackFailed,
    UpdateRollbackCompleteCleanupInProgress,
    UpdateRollbackComplete,
    ReviewInProgress,
}

impl StackStatus {
    pub fn as_str(self) -> &'static str {
        use StackStatus::*;
        match self {
            CreateInProgress => "CREATE_IN_PROGRESS",
            CreateFailed => "CREATE_FAILED",
            CreateComplete => "CREATE_COMPLETE",
            RollbackInProgress => "ROLLBACK_IN_PROGRESS",
            RollbackFailed => "ROLLBACK_FAILED",
            RollbackComplete => "ROLLBACK_COMPLETE",
            DeleteInProgress => "DELETE_IN_PROGRESS",
            DeleteFailed => "DELETE_FAILED",
            DeleteComplete => "DELETE_COMPLETE",
            UpdateInProgress => "UPDATE_IN_PROGRESS",
            UpdateCompleteCleanupInProgress => "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            UpdateComplete => "UPDATE_COMPLETE",
            UpdateFailed => "UPDATE_FAILED",
            UpdateRollbackInProgress => "UPDATE_ROLLBACK_IN_PROGRESS",
            UpdateRollbackFailed => "UPDATE_ROLLBACK_FAILED",
            UpdateRollbackCompleteCleanupInProgress => {
                "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
            }
            UpdateRollbackComplete => "UPDATE_ROLLBACK_COMPLETE",
            ReviewInProgress => "REVIEW_IN_PROGRESS",
        }
    }

    /// An operation is running (the stack cannot be updated or deleted meanwhile).
    pub fn in_progress(self) -> bool {
        self.as_str().ends_with("_IN_PROGRESS") && self != StackStatus::ReviewInProgress
    }

    /// A stack that can be updated (UpdateStack, an UPDATE change set).
    pub fn updatable(self) -> bool {
        use StackStatus::*;
        // The *_FAILED states are left only by a stack created or updated with rollback
        // disabled; such a stack can be updated again, as in AWS.
        matches!(
            self,
            CreateComplete | UpdateComplete | UpdateRollbackComplete | UpdateFailed | CreateFailed
        )
    }
}

/// `ResourceStatus` of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceStatus {
    CreateInProgress,
    CreateFailed,
    CreateComplete,
    DeleteInProgress,
    DeleteFailed,
    DeleteComplete,
    DeleteSkipped,
    UpdateInProgress,
    UpdateFailed,
    UpdateComplete,
}

impl ResourceStatus {
    pub fn as_str(self) -> &'static str {
        use ResourceStatus::*;
        match self {
            CreateInProgress => "CREATE_IN_PROGRESS",
            CreateFailed => "CREATE_FAILED",
            CreateComplete => "CREATE_COMPLETE",
            DeleteInProgress => "DELETE_IN_PROGRESS",
            DeleteFailed => "DELETE_FAILED",
            DeleteComplete => "DELETE_COMPLETE",
            DeleteSkipped => "DELETE_SKIPPED",
            UpdateInProgress => "UPDATE_IN_PROGRESS",
            UpdateFailed => "UPDATE_FAILED",
            UpdateComplete => "UPDATE_COMPLETE",
        }
    }
}

/// A stack tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// What a deployment is made of: the template and everything given with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub template_body: String,
    /// The value of every declared parameter (defaults filled in).
    pub parameters: BTreeMap<String, String>,
    pub tags: Vec<Tag>,
    pub capabilities: Vec<String>,
    pub notification_arns: Vec<String>,
}

/// A stack output, evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export_name: Option<String>,
}

/// A stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackRecord {
    pub stack_id: String,
    pub name: String,
    pub region: Region,
    pub status: StackStatus,
    pub status_reason: Option<String>,
    pub description: Option<String>,
    pub created: Timestamp,
    pub updated: Option<Timestamp>,
    pub deleted: Option<Timestamp>,
    /// What is deployed (or being deployed while an operation runs).
    pub current: Deployment,
    /// What was deployed before the running update (for its rollback).
    pub previous: Option<Deployment>,
    pub outputs: Vec<OutputRecord>,
    pub disable_rollback: bool,
    pub timeout_minutes: Option<i64>,
    pub role_arn: Option<String>,
    pub termination_protection: bool,
    /// The change set the last operation executed.
    pub change_set_id: Option<String>,
    /// The access key of the caller whose operation runs (the KMS calls carry it).
    pub access_key: String,
    /// The export names the deployed template imports (`Fn::ImportValue`).
    #[serde(default)]
    pub imports: Vec<String>,
    /// The imports of the previous deployment, while an update may roll back.
    #[serde(default)]
    pub previous_imports: Option<Vec<String>>,
    /// Resources to leave alone on the next delete (DeleteStack RetainResources).
    #[serde(default)]
    pub retain: Vec<String>,
    /// Sequence number of the last event.
    pub event_seq: u64,
    pub client_request_token: Option<String>,
}

/// A resource's state before the running operation touched it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Prior {
    /// It did not exist: roll back by deleting it.
    Absent,
    /// It existed like this: roll back by restoring it.
    Was(Box<ResourceSnapshot>),
}

/// A resource's physical identity and applied properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSnapshot {
    pub physical_id: Option<String>,
    pub properties: Value,
    pub attributes: BTreeMap<String, String>,
    pub status: ResourceStatus,
    pub deletion_policy: Policy,
    pub update_replace_policy: Policy,
}

/// One resource of a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub stack_id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
    pub status: ResourceStatus,
    pub status_reason: Option<String>,
    pub updated: Timestamp,
    /// The properties last applied (evaluated).
    pub properties: Value,
    /// `Fn::GetAtt` values.
    pub attributes: BTreeMap<String, String>,
    pub deletion_policy: Policy,
    pub update_replace_policy: Policy,
    /// Set while an operation has touched the resource and may still roll back.
    pub prior: Option<Prior>,
    /// A provider call that creates a physical resource has been (or is being) made and
    /// its physical id is not recorded yet: recovery looks for it.
    pub creating: bool,
}

impl ResourceRecord {
    pub fn snapshot(&self) -> ResourceSnapshot {
        ResourceSnapshot {
            physical_id: self.physical_id.clone(),
            properties: self.properties.clone(),
            attributes: self.attributes.clone(),
            status: self.status,
            deletion_policy: self.deletion_policy,
            update_replace_policy: self.update_replace_policy,
        }
    }
}

/// One stack event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub stack_id: String,
    pub stack_name: String,
    pub seq: u64,
    pub event_id: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub timestamp: Timestamp,
    pub status: String,
    pub reason: Option<String>,
    pub properties: Option<String>,
    pub client_request_token: Option<String>,
}

/// `Status` of a change set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeSetStatus {
    CreateComplete,
    Failed,
    DeleteComplete,
}

/// `ExecutionStatus` of a change set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Unavailable,
    Available,
    ExecuteInProgress,
    ExecuteComplete,
    ExecuteFailed,
    Obsolete,
}

/// A change set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSetRecord {
    pub id: String,
    pub name: String,
    pub stack_id: String,
    pub stack_name: String,
    pub region: Region,
    pub description: Option<String>,
    pub created: Timestamp,
    pub status: ChangeSetStatus,
    pub status_reason: Option<String>,
    pub execution_status: ExecutionStatus,
    /// `CREATE` or `UPDATE`.
    pub change_set_type: String,
    pub deployment: Deployment,
    /// The `Changes` member of DescribeChangeSet.
    pub changes: Vec<Value>,
    pub disable_rollback: Option<bool>,
    pub role_arn: Option<String>,
}

/// An exported output value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRecord {
    pub region: Region,
    pub name: String,
    pub value: String,
    pub stack_id: String,
}
