//! Stack operations, run on an engine thread: create, update (with replacement and the
//! cleanup of replaced and removed resources), delete, and the rollbacks.
//!
//! Durability protocol: every step is committed to the stack store before the next one
//! runs. Before a provider call that creates a physical resource the resource is recorded
//! `creating` (CREATE_IN_PROGRESS, or UPDATE_IN_PROGRESS for a replacement) and its state
//! before the operation is kept in `prior`; the physical id is recorded as soon as the
//! call returns it. Keys carry CloudFormation's tags (`aws:cloudformation:stack-id`,
//! `…:logical-id`), so a key created just before a crash is found again. At startup an
//! interrupted create or update is rolled back (a rollback or cleanup continues, a delete
//! continues): every stack ends finished or rolled back, and no key is left that the stack
//! does not know.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::error::CfnResult;
use super::model::{
    ExecutionStatus, ExportRecord, Prior, ResourceRecord, ResourceStatus, StackRecord, StackStatus,
};
use super::plan::{Plan, StackIdentity, StackLookup};
use super::resources::kms_client::KmsClient;
use super::resources::{self, ProviderCx};
use super::service::CloudFormation;
use super::store::Write;
use super::template::intrinsics::contains_unknown;
use super::template::Policy;
use crate::domain::time::Timestamp;
use crate::kms::error::Report;

/// What an engine thread does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Create,
    Update,
    Delete,
    /// Finish what a restart interrupted.
    Recover,
}

/// Why the forward part of an operation failed.
struct Failure {
    /// Resources that failed (for `The following resource(s) failed to …`).
    resources: Vec<String>,
    /// A reason that is not one resource's (an export conflict, a template error).
    reason: Option<String>,
}

impl Failure {
    fn stack_reason(&self, verb: &str) -> String {
        match &self.reason {
            Some(r) => r.clone(),
            None => format!(
                "The following resource(s) failed to {verb}: [{}]. ",
                self.resources.join(", ")
            ),
        }
    }
}

/// `reason` as a sentence another can follow: `The following resource(s) failed to
/// create: [Key]. ` stays, `Resource handler was interrupted…` gets its `. `.
fn sentence(reason: &str) -> String {
    let trimmed = reason.trim_end();
    if trimmed.ends_with('.') {
        format!("{trimmed} ")
    } else {
        format!("{trimmed}. ")
    }
}

const RESTARTED: &str =
    "Resource handler was interrupted: hsm-kms stopped during the operation and restarted";

/// Starts a stack operation on its own thread (nothing, with a warning, when one is
/// already running on the stack).
pub fn spawn(cfn: &Arc<CloudFormation>, stack_id: &str, job: Job) {
    if !cfn.begin_running(stack_id) {
        tracing::warn!(
            stack = stack_id,
            "an operation is already running on this stack"
        );
        return;
    }
    let thread_cfn = cfn.clone();
    let id = stack_id.to_string();
    let spawned = std::thread::Builder::new()
        .name("cfn-stack".into())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Run::new(&thread_cfn, &id).execute(job)
            }));
            if outcome.is_err() {
                tracing::error!(stack = %id, "stack operation panicked; it is resumed at the next start");
            }
            thread_cfn.end_running(&id);
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start a stack operation thread: {e}");
        cfn.end_running(stack_id);
    }
}

/// Resumes or rolls back every stack an interrupted server left in progress.
pub fn recover(cfn: &Arc<CloudFormation>) {
    let ids: Vec<String> = cfn
        .state()
        .stacks
        .values()
        .filter(|s| s.status.in_progress())
        .map(|s| s.stack_id.clone())
        .collect();
    for id in ids {
        tracing::info!(stack = %id, "recovering a stack operation interrupted by a restart");
        spawn(cfn, &id, Job::Recover);
    }
}

/// One stack operation.
pub struct Run<'a> {
    cfn: &'a Arc<CloudFormation>,
    stack_id: String,
}

impl<'a> Run<'a> {
    pub fn new(cfn: &'a Arc<CloudFormation>, stack_id: &str) -> Self {
        Run {
            cfn,
            stack_id: stack_id.to_string(),
        }
    }

    pub fn execute(&self, job: Job) {
        let outcome = match job {
            Job::Create => self.create(),
            Job::Update => self.update(),
            Job::Delete => self.delete(),
            Job::Recover => self.recover(),
        };
        if let Err(e) = outcome {
            tracing::error!(stack = %self.stack_id, "stack operation stopped: {}", Report(&e));
        }
    }

    fn stack(&self) -> CfnResult<StackRecord> {
        self.cfn
            .state()
            .stacks
            .get(&self.stack_id)
            .cloned()
            .ok_or_else(|| {
                super::error::CfnError::internal(format!("stack {} vanished", self.stack_id))
            })
    }

    fn resources(&self) -> BTreeMap<String, ResourceRecord> {
        self.cfn
            .state()
            .resources
            .get(&self.stack_id)
            .cloned()
            .unwrap_or_default()
    }

    fn now(&self) -> Timestamp {
        self.cfn.kms.clock.now()
    }

    fn identity<'s>(&'s self, stack: &'s StackRecord) -> StackIdentity<'s> {
        StackIdentity {
            region: stack.region,
            account: self.cfn.kms.account(),
            stack_name: &stack.name,
            stack_id: &stack.stack_id,
        }
    }

    /// A stack event write (advances the stack's event sequence).
    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        stack: &mut StackRecord,
        logical: &str,
        physical: Option<&str>,
        resource_type: &str,
        status: &str,
        reason: Option<&str>,
        properties: Option<&Value>,
    ) -> Write {
        stack.event_seq += 1;
        Write::PutEvent(super::model::EventRecord {
            stack_id: stack.stack_id.clone(),
            stack_name: stack.name.clone(),
            seq: stack.event_seq,
            event_id: uuid::Uuid::new_v4().to_string(),
            logical_id: logical.to_string(),
            physical_id: physical.map(str::to_string),
            resource_type: resource_type.to_string(),
            timestamp: self.now(),
            status: status.to_string(),
            reason: reason.map(str::to_string),
            properties: properties.map(|p| p.to_string()),
            client_request_token: stack.client_request_token.clone(),
        })
    }

    /// Moves the stack to `status`, with its stack event.
    fn set_status(
        &self,
        status: StackStatus,
        reason: Option<String>,
        extra: Vec<Write>,
    ) -> CfnResult<StackRecord> {
        let mut stack = self.stack()?;
        stack.status = status;
        stack.status_reason = reason.clone();
        let (name, id) = (stack.name.clone(), stack.stack_id.clone());
        let ev = self.event(
            &mut stack,
            &name,
            Some(&id),
            "AWS::CloudFormation::Stack",
            status.as_str(),
            reason.as_deref(),
            None,
        );
        let mut batch = extra;
        batch.push(ev);
        batch.push(Write::PutStack(stack.clone()));
        self.cfn.commit(batch)?;
        Ok(stack)
    }

    /// Records a resource (and an event about it).
    fn save(
        &self,
        rec: &mut ResourceRecord,
        status: ResourceStatus,
        reason: Option<&str>,
        event_physical: Option<&str>,
    ) -> CfnResult<()> {
        let mut stack = self.stack()?;
        rec.status = status;
        rec.status_reason = reason.map(str::to_string);
        rec.updated = self.now();
        let props = matches!(
            status,
            ResourceStatus::CreateInProgress | ResourceStatus::UpdateInProgress
        )
        .then_some(&rec.properties);
        let ev = self.event(
            &mut stack,
            &rec.logical_id,
            event_physical.or(rec.physical_id.as_deref()),
            &rec.resource_type,
            status.as_str(),
            reason,
            props,
        );
        self.cfn.commit(vec![
            Write::PutResource(rec.clone()),
            ev,
            Write::PutStack(stack),
        ])
    }

    /// The test-only pause between a resource's creation and the record of its physical
    /// id (`stack_record_delay_ms`), so a test can kill the server inside that window.
    fn pause_before_record(&self, logical: &str) {
        if !self.cfn.record_delay.is_zero() {
            tracing::info!(
                stack = %self.stack_id,
                resource = logical,
                ms = self.cfn.record_delay.as_millis() as u64,
                "pausing before recording the physical id (stack_record_delay_ms)"
            );
            std::thread::sleep(self.cfn.record_delay);
        }
    }

    fn provider_cx<'s>(&'s self, stack: &'s StackRecord, logical: &'s str) -> ProviderCx<'s> {
        ProviderCx {
            kms: KmsClient::new(&self.cfn.kms, &stack.access_key),
            region: stack.region,
            stack_id: &stack.stack_id,
            stack_name: &stack.name,
            logical_id: logical,
        }
    }

    // ------------------------------------------------------------------ forward

    /// Creates, updates or replaces every resource of the current deployment, in
    /// dependency order.
    fn deploy(&self) -> Result<(), Failure> {
        let stack = self.stack().map_err(|e| Failure {
            resources: vec![],
            reason: Some(e.message),
        })?;
        let plan = Plan::of(&self.identity(&stack), &stack.current).map_err(|e| Failure {
            resources: vec![],
            reason: Some(e.message),
        })?;
        let exports = self.cfn.state().exports.clone();
        let order = {
            let resources = self.resources();
            let lookup = StackLookup {
                resources: &resources,
                exports: &exports,
                region: stack.region,
                unknown: BTreeSet::new(),
            };
            let cx = plan.context(&lookup).map_err(|e| Failure {
                resources: vec![],
                reason: Some(e.message),
            })?;
            plan.active(&cx)
        };
        for logical in order {
            let decl = plan.template.resources[&logical].clone();
            let resources = self.resources();
            let fail = |reason: String| -> Failure {
                let mut rec = resources
                    .get(&logical)
                    .cloned()
                    .unwrap_or_else(|| self.new_record(&logical, &decl.type_name));
                if rec.prior.is_none() {
                    rec.prior = Some(if rec.physical_id.is_some() {
                        Prior::Was(Box::new(rec.snapshot()))
                    } else {
                        Prior::Absent
                    });
                }
                let status = if matches!(rec.prior, Some(Prior::Absent)) {
                    ResourceStatus::CreateFailed
                } else {
                    ResourceStatus::UpdateFailed
                };
                let _ = self.save(&mut rec, status, Some(&reason), None);
                Failure {
                    resources: vec![logical.clone()],
                    reason: None,
                }
            };
            let Some(provider) = resources::provider(&decl.type_name) else {
                return Err(fail(format!(
                    "Unrecognized resource type {}",
                    decl.type_name
                )));
            };
            let props = {
                let lookup = StackLookup {
                    resources: &resources,
                    exports: &exports,
                    region: stack.region,
                    unknown: BTreeSet::new(),
                };
                let evaluated = plan
                    .context(&lookup)
                    .and_then(|cx| plan.properties(&cx, &logical));
                match evaluated {
                    Ok(p) => p,
                    Err(e) => return Err(fail(e.message)),
                }
            };
            if contains_unknown(&props) {
                return Err(fail(
                    "A property refers to a resource that does not exist".into(),
                ));
            }
            let props = match provider.schema().validate(&logical, &props) {
                Ok(p) => p,
                Err(reason) => return Err(fail(reason)),
            };
            let existing = resources
                .get(&logical)
                .filter(|r| r.physical_id.is_some() && r.status != ResourceStatus::DeleteComplete)
                .cloned();
            let result = match existing {
                None => self.create_resource(
                    &stack,
                    &logical,
                    &decl.type_name,
                    props,
                    &decl,
                    resources.get(&logical),
                ),
                Some(mut rec) => {
                    rec.deletion_policy = decl.deletion_policy;
                    rec.update_replace_policy = decl.update_replace_policy;
                    if rec.properties == props
                        && !matches!(
                            rec.status,
                            ResourceStatus::CreateFailed | ResourceStatus::UpdateFailed
                        )
                    {
                        self.cfn
                            .commit(vec![Write::PutResource(rec)])
                            .map_err(|e| e.message)
                    } else if self.needs_replacement(provider, &rec.properties, &props) {
                        self.replace_resource(&stack, rec, props)
                    } else {
                        self.update_resource(&stack, rec, props)
                    }
                }
            };
            if let Err(reason) = result {
                tracing::info!(stack = %stack.name, resource = %logical, "resource failed: {reason}");
                return Err(Failure {
                    resources: vec![logical],
                    reason: None,
                });
            }
        }
        Ok(())
    }

    fn needs_replacement(
        &self,
        provider: &dyn resources::Provider,
        old: &Value,
        new: &Value,
    ) -> bool {
        let schema = provider.schema();
        provider.replacement_properties().iter().any(|p| {
            let a = old.get(p).or_else(|| schema.default_of(p));
            let b = new.get(p).or_else(|| schema.default_of(p));
            a != b
        })
    }

    fn new_record(&self, logical: &str, type_name: &str) -> ResourceRecord {
        ResourceRecord {
            stack_id: self.stack_id.clone(),
            logical_id: logical.to_string(),
            resource_type: type_name.to_string(),
            physical_id: None,
            status: ResourceStatus::CreateInProgress,
            status_reason: None,
            updated: self.now(),
            properties: Value::Null,
            attributes: BTreeMap::new(),
            deletion_policy: Policy::Delete,
            update_replace_policy: Policy::Delete,
            prior: None,
            creating: false,
        }
    }

    /// Creates a resource the stack does not have yet. The error is the status reason.
    fn create_resource(
        &self,
        stack: &StackRecord,
        logical: &str,
        type_name: &str,
        props: Value,
        decl: &super::template::ResourceDecl,
        earlier: Option<&ResourceRecord>,
    ) -> Result<(), String> {
        let provider = resources::provider(type_name).ok_or("unknown type")?;
        let cx = self.provider_cx(stack, logical);
        let mut rec = self.new_record(logical, type_name);
        rec.properties = props.clone();
        rec.deletion_policy = decl.deletion_policy;
        rec.update_replace_policy = decl.update_replace_policy;
        // A resource that failed before keeps its prior state (Absent in this operation).
        rec.prior = Some(
            earlier
                .and_then(|e| e.prior.clone())
                .unwrap_or(Prior::Absent),
        );
        if let Err(reason) = provider.precheck(&cx, &props) {
            self.save(&mut rec, ResourceStatus::CreateFailed, Some(&reason), None)
                .map_err(|e| e.message)?;
            return Err(reason);
        }
        rec.creating = true;
        self.save(&mut rec, ResourceStatus::CreateInProgress, None, None)
            .map_err(|e| e.message)?;
        let mut record_physical = |physical: &str| -> Result<(), String> {
            self.pause_before_record(logical);
            rec.physical_id = Some(physical.to_string());
            rec.creating = false;
            let mut r = rec.clone();
            self.save(
                &mut r,
                ResourceStatus::CreateInProgress,
                Some("Resource creation Initiated"),
                None,
            )
            .map_err(|e| e.message)
        };
        let outcome = provider.create(&cx, &props, &mut record_physical);
        match outcome {
            Ok(created) => {
                rec.physical_id = Some(created.physical_id);
                rec.attributes = created.attributes;
                rec.creating = false;
                self.save(&mut rec, ResourceStatus::CreateComplete, None, None)
                    .map_err(|e| e.message)
            }
            Err(reason) => {
                // The call that would have made the resource failed: nothing to look for.
                rec.creating = false;
                self.save(&mut rec, ResourceStatus::CreateFailed, Some(&reason), None)
                    .map_err(|e| e.message)?;
                Err(reason)
            }
        }
    }

    /// A create-only property changed: a new physical resource; the old one is deleted in
    /// the cleanup phase (or kept, if the update rolls back).
    fn replace_resource(
        &self,
        stack: &StackRecord,
        mut rec: ResourceRecord,
        props: Value,
    ) -> Result<(), String> {
        let provider = resources::provider(&rec.resource_type).ok_or("unknown type")?;
        let logical = rec.logical_id.clone();
        let cx = self.provider_cx(stack, &logical);
        if rec.prior.is_none() {
            rec.prior = Some(Prior::Was(Box::new(rec.snapshot())));
        }
        provider.precheck(&cx, &props)?;
        let old_props = rec.properties.clone();
        rec.properties = props.clone();
        rec.physical_id = None;
        rec.attributes = BTreeMap::new();
        rec.creating = true;
        self.save(
            &mut rec,
            ResourceStatus::UpdateInProgress,
            Some("Requested update requires the creation of a new physical resource; hence creating one."),
            None,
        )
        .map_err(|e| e.message)?;
        let _ = old_props;
        let mut record_physical = |physical: &str| -> Result<(), String> {
            self.pause_before_record(&logical);
            rec.physical_id = Some(physical.to_string());
            rec.creating = false;
            let mut r = rec.clone();
            self.save(
                &mut r,
                ResourceStatus::UpdateInProgress,
                Some("Resource creation Initiated"),
                None,
            )
            .map_err(|e| e.message)
        };
        match provider.create(&cx, &props, &mut record_physical) {
            Ok(created) => {
                rec.physical_id = Some(created.physical_id);
                rec.attributes = created.attributes;
                rec.creating = false;
                self.save(&mut rec, ResourceStatus::UpdateComplete, None, None)
                    .map_err(|e| e.message)
            }
            Err(reason) => {
                rec.creating = false;
                self.save(&mut rec, ResourceStatus::UpdateFailed, Some(&reason), None)
                    .map_err(|e| e.message)?;
                Err(reason)
            }
        }
    }

    /// Changes a resource in place.
    fn update_resource(
        &self,
        stack: &StackRecord,
        mut rec: ResourceRecord,
        props: Value,
    ) -> Result<(), String> {
        let provider = resources::provider(&rec.resource_type).ok_or("unknown type")?;
        let logical = rec.logical_id.clone();
        let cx = self.provider_cx(stack, &logical);
        if rec.prior.is_none() {
            rec.prior = Some(Prior::Was(Box::new(rec.snapshot())));
        }
        let old = rec.properties.clone();
        rec.properties = props.clone();
        self.save(&mut rec, ResourceStatus::UpdateInProgress, None, None)
            .map_err(|e| e.message)?;
        let physical = rec.physical_id.clone().unwrap_or_default();
        match provider.update(&cx, &physical, &old, &props) {
            Ok(attrs) => {
                if !attrs.is_empty() {
                    rec.attributes = attrs;
                }
                self.save(&mut rec, ResourceStatus::UpdateComplete, None, None)
                    .map_err(|e| e.message)
            }
            Err(reason) => {
                self.save(&mut rec, ResourceStatus::UpdateFailed, Some(&reason), None)
                    .map_err(|e| e.message)?;
                Err(reason)
            }
        }
    }

    /// Evaluates the outputs and publishes the exports of the current deployment.
    fn publish(&self) -> Result<(), Failure> {
        let failure = |reason: String| Failure {
            resources: vec![],
            reason: Some(reason),
        };
        let mut stack = self.stack().map_err(|e| failure(e.message))?;
        let plan =
            Plan::of(&self.identity(&stack), &stack.current).map_err(|e| failure(e.message))?;
        let resources = self.resources();
        let state_exports = self.cfn.state().exports.clone();
        let lookup = StackLookup {
            resources: &resources,
            exports: &state_exports,
            region: stack.region,
            unknown: BTreeSet::new(),
        };
        let cx = plan.context(&lookup).map_err(|e| failure(e.message))?;
        let outputs = plan.outputs(&cx).map_err(|e| failure(e.message))?;
        let imports = plan.imports(&cx).map_err(|e| failure(e.message))?;
        let importers = self.importers(stack.region);
        let mut writes = Vec::new();
        let new_exports: BTreeMap<&str, &str> = outputs
            .iter()
            .filter_map(|o| Some((o.export_name.as_deref()?, o.value.as_str())))
            .collect();
        for (name, value) in &new_exports {
            match state_exports.get(&(stack.region, name.to_string())) {
                Some(x) if x.stack_id != stack.stack_id => {
                    return Err(failure(format!(
                        "Export with name {name} is already exported by stack {}",
                        self.stack_name_of(&x.stack_id)
                    )));
                }
                Some(x) if x.value != *value => {
                    if let Some(users) = importers.get(*name) {
                        return Err(failure(format!(
                            "Cannot update export {name} as it is in use by {}",
                            users.join(", ")
                        )));
                    }
                }
                _ => {}
            }
            writes.push(Write::PutExport(ExportRecord {
                region: stack.region,
                name: name.to_string(),
                value: value.to_string(),
                stack_id: stack.stack_id.clone(),
            }));
        }
        for x in state_exports
            .values()
            .filter(|x| x.stack_id == stack.stack_id)
        {
            if !new_exports.contains_key(x.name.as_str()) {
                if let Some(users) = importers.get(&x.name) {
                    return Err(failure(format!(
                        "Cannot delete export {} as it is in use by {}",
                        x.name,
                        users.join(", ")
                    )));
                }
                writes.push(Write::DeleteExport {
                    region: x.region.as_str().to_string(),
                    name: x.name.clone(),
                });
            }
        }
        stack.outputs = outputs;
        stack.imports = imports;
        stack.description = plan.template.description.clone();
        writes.push(Write::PutStack(stack));
        self.cfn.commit(writes).map_err(|e| failure(e.message))
    }

    /// Export name → names of the live stacks (other than this one) importing it.
    fn importers(&self, region: crate::domain::region::Region) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in self.cfn.state().stacks.values() {
            if s.region != region
                || s.stack_id == self.stack_id
                || s.status == StackStatus::DeleteComplete
            {
                continue;
            }
            let mut names: BTreeSet<&String> = s.imports.iter().collect();
            if let Some(p) = &s.previous_imports {
                names.extend(p.iter());
            }
            for n in names {
                out.entry(n.clone()).or_default().push(s.name.clone());
            }
        }
        out
    }

    fn stack_name_of(&self, stack_id: &str) -> String {
        self.cfn
            .state()
            .stacks
            .get(stack_id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| stack_id.to_string())
    }

    /// Marks the change set the operation executes.
    fn change_set_done(&self, ok: bool) -> CfnResult<()> {
        let stack = self.stack()?;
        let Some(id) = stack.change_set_id else {
            return Ok(());
        };
        let Some(mut cs) = self.cfn.state().change_sets.get(&id).cloned() else {
            return Ok(());
        };
        if cs.execution_status != ExecutionStatus::ExecuteInProgress {
            return Ok(());
        }
        cs.execution_status = if ok {
            ExecutionStatus::ExecuteComplete
        } else {
            ExecutionStatus::ExecuteFailed
        };
        self.cfn.commit(vec![Write::PutChangeSet(cs)])
    }

    // ------------------------------------------------------------------ create

    fn create(&self) -> CfnResult<()> {
        match self.deploy().and_then(|_| self.publish()) {
            Ok(()) => {
                self.clear_priors()?;
                self.set_status(StackStatus::CreateComplete, None, vec![])?;
                self.change_set_done(true)
            }
            Err(f) => self.fail_create(f),
        }
    }

    fn fail_create(&self, f: Failure) -> CfnResult<()> {
        let stack = self.stack()?;
        let reason = f.stack_reason("create");
        if stack.disable_rollback {
            self.adopt_orphans()?;
            self.set_status(StackStatus::CreateFailed, Some(reason), vec![])?;
            return self.change_set_done(false);
        }
        self.set_status(
            StackStatus::RollbackInProgress,
            Some(format!("{}Rollback requested by user.", sentence(&reason))),
            vec![],
        )?;
        self.rollback_create()
    }

    /// Deletes everything a failed create made.
    fn rollback_create(&self) -> CfnResult<()> {
        self.adopt_orphans()?;
        let mut failed = Vec::new();
        for logical in self.deletion_order() {
            let Some(rec) = self.resources().get(&logical).cloned() else {
                continue;
            };
            if matches!(
                rec.status,
                ResourceStatus::DeleteComplete | ResourceStatus::DeleteSkipped
            ) {
                continue;
            }
            if self.delete_resource(rec, true).is_err() {
                failed.push(logical);
            }
        }
        let ok = failed.is_empty();
        if ok {
            self.set_status(StackStatus::RollbackComplete, None, vec![])?;
        } else {
            self.set_status(
                StackStatus::RollbackFailed,
                Some(format!(
                    "The following resource(s) failed to delete: [{}]. ",
                    failed.join(", ")
                )),
                vec![],
            )?;
        }
        self.change_set_done(false)
    }

    /// Resources in the order they are deleted: dependents first.
    fn deletion_order(&self) -> Vec<String> {
        let resources = self.resources();
        let mut order: Vec<String> = Vec::new();
        if let Ok(stack) = self.stack() {
            for deployment in [Some(&stack.current), stack.previous.as_ref()]
                .into_iter()
                .flatten()
            {
                if let Ok(plan) = Plan::of(&self.identity(&stack), deployment) {
                    for l in plan.graph.order.iter().rev() {
                        if !order.contains(l) {
                            order.push(l.clone());
                        }
                    }
                }
            }
        }
        // Resources no template names any more go first.
        let mut rest: Vec<String> = resources
            .keys()
            .filter(|k| !order.contains(k))
            .cloned()
            .collect();
        rest.extend(order.into_iter().filter(|l| resources.contains_key(l)));
        rest
    }

    /// Deletes one resource's physical resource, honouring its DeletionPolicy.
    fn delete_resource(
        &self,
        mut rec: ResourceRecord,
        rollback_of_create: bool,
    ) -> Result<(), String> {
        let stack = self.stack().map_err(|e| e.message)?;
        let retained = match rec.deletion_policy {
            Policy::Retain => true,
            Policy::RetainExceptOnCreate => !rollback_of_create,
            Policy::Delete => false,
        } || stack.retain.contains(&rec.logical_id);
        if retained && rec.physical_id.is_some() {
            return self
                .save(&mut rec, ResourceStatus::DeleteSkipped, None, None)
                .map_err(|e| e.message);
        }
        let Some(physical) = rec.physical_id.clone() else {
            return self
                .save(&mut rec, ResourceStatus::DeleteComplete, None, None)
                .map_err(|e| e.message);
        };
        let provider = resources::provider(&rec.resource_type).ok_or("unknown type")?;
        self.save(&mut rec, ResourceStatus::DeleteInProgress, None, None)
            .map_err(|e| e.message)?;
        let cx = self.provider_cx(&stack, &rec.logical_id);
        match provider.delete(&cx, &physical, &rec.properties) {
            Ok(()) => self
                .save(&mut rec, ResourceStatus::DeleteComplete, None, None)
                .map_err(|e| e.message),
            Err(reason) => {
                self.save(&mut rec, ResourceStatus::DeleteFailed, Some(&reason), None)
                    .map_err(|e| e.message)?;
                Err(reason)
            }
        }
    }

    /// Finds physical resources created just before a crash (recorded `creating`, no
    /// physical id) and records them, so the rollback deletes them.
    fn adopt_orphans(&self) -> CfnResult<()> {
        let stack = self.stack()?;
        for (logical, rec) in self.resources() {
            if !rec.creating {
                continue;
            }
            let Some(provider) = resources::provider(&rec.resource_type) else {
                continue;
            };
            let mut known: Vec<String> = rec.physical_id.iter().cloned().collect();
            if let Some(Prior::Was(s)) = &rec.prior {
                known.extend(s.physical_id.iter().cloned());
            }
            let cx = self.provider_cx(&stack, &logical);
            let found = match provider.find_created(&cx, &rec.properties, &known) {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!(stack = %stack.name, resource = %logical, "cannot look for a resource created before the restart: {e}");
                    continue;
                }
            };
            let mut rec = rec.clone();
            rec.creating = false;
            let mut extra = found.into_iter();
            if let Some(first) = extra.next() {
                tracing::warn!(stack = %stack.name, resource = %logical, physical = %first, "found a resource created before the restart");
                rec.physical_id = Some(first);
            }
            for other in extra {
                let _ = provider.delete(&cx, &other, &rec.properties);
            }
            let status = if matches!(rec.status, ResourceStatus::UpdateInProgress) {
                ResourceStatus::UpdateFailed
            } else {
                ResourceStatus::CreateFailed
            };
            self.save(&mut rec, status, Some(RESTARTED), None)?;
        }
        Ok(())
    }

    fn clear_priors(&self) -> CfnResult<()> {
        let writes: Vec<Write> = self
            .resources()
            .into_values()
            .filter(|r| r.prior.is_some())
            .map(|mut r| {
                r.prior = None;
                Write::PutResource(r)
            })
            .collect();
        if writes.is_empty() {
            return Ok(());
        }
        self.cfn.commit(writes)
    }

    // ------------------------------------------------------------------ update

    fn update(&self) -> CfnResult<()> {
        match self.deploy().and_then(|_| self.publish()) {
            Ok(()) => self.cleanup(),
            Err(f) => self.fail_update(f),
        }
    }

    fn fail_update(&self, f: Failure) -> CfnResult<()> {
        let stack = self.stack()?;
        let reason = f.stack_reason("update");
        if stack.disable_rollback {
            self.adopt_orphans()?;
            self.set_status(StackStatus::UpdateFailed, Some(reason), vec![])?;
            return self.change_set_done(false);
        }
        self.set_status(StackStatus::UpdateRollbackInProgress, Some(reason), vec![])?;
        self.rollback_update()
    }

    /// Deletes replaced and removed resources once an update succeeded.
    fn cleanup(&self) -> CfnResult<()> {
        let stack = self.set_status(StackStatus::UpdateCompleteCleanupInProgress, None, vec![])?;
        let plan = Plan::of(&self.identity(&stack), &stack.current)?;
        let resources = self.resources();
        let exports = self.cfn.state().exports.clone();
        let lookup = StackLookup {
            resources: &resources,
            exports: &exports,
            region: stack.region,
            unknown: BTreeSet::new(),
        };
        let active: BTreeSet<String> = plan.active(&plan.context(&lookup)?).into_iter().collect();
        for logical in self.deletion_order() {
            let Some(rec) = self.resources().get(&logical).cloned() else {
                continue;
            };
            if !active.contains(&logical) {
                if !matches!(
                    rec.status,
                    ResourceStatus::DeleteComplete | ResourceStatus::DeleteSkipped
                ) {
                    let _ = self.delete_resource(rec, false);
                }
                self.cfn.commit(vec![Write::DeleteResource {
                    stack_id: self.stack_id.clone(),
                    logical_id: logical,
                }])?;
                continue;
            }
            if let Some(Prior::Was(old)) = &rec.prior {
                if old.physical_id.is_some() && old.physical_id != rec.physical_id {
                    self.delete_replaced(&stack, &rec, old)?;
                }
            }
            let mut r = rec;
            r.prior = None;
            self.cfn.commit(vec![Write::PutResource(r)])?;
        }
        let mut stack = self.stack()?;
        stack.previous = None;
        stack.previous_imports = None;
        self.cfn.commit(vec![Write::PutStack(stack)])?;
        self.set_status(StackStatus::UpdateComplete, None, vec![])?;
        self.change_set_done(true)
    }

    /// Deletes the physical resource a replacement superseded (UpdateReplacePolicy).
    fn delete_replaced(
        &self,
        stack: &StackRecord,
        rec: &ResourceRecord,
        old: &super::model::ResourceSnapshot,
    ) -> CfnResult<()> {
        let physical = old.physical_id.clone().unwrap_or_default();
        let write_event = |status: ResourceStatus, reason: Option<&str>| -> CfnResult<()> {
            let mut s = self.stack()?;
            let ev = self.event(
                &mut s,
                &rec.logical_id,
                Some(&physical),
                &rec.resource_type,
                status.as_str(),
                reason,
                None,
            );
            self.cfn.commit(vec![ev, Write::PutStack(s)])
        };
        if old.update_replace_policy == Policy::Retain
            || rec.update_replace_policy == Policy::Retain
        {
            return write_event(ResourceStatus::DeleteSkipped, None);
        }
        let Some(provider) = resources::provider(&rec.resource_type) else {
            return Ok(());
        };
        write_event(ResourceStatus::DeleteInProgress, None)?;
        let cx = self.provider_cx(stack, &rec.logical_id);
        match provider.delete(&cx, &physical, &old.properties) {
            Ok(()) => write_event(ResourceStatus::DeleteComplete, None),
            Err(reason) => write_event(ResourceStatus::DeleteFailed, Some(&reason)),
        }
    }

    /// Returns every resource the failed update touched to its state before.
    fn rollback_update(&self) -> CfnResult<()> {
        self.adopt_orphans()?;
        let stack = self.stack()?;
        let mut failed = Vec::new();
        for logical in self.deletion_order() {
            let Some(rec) = self.resources().get(&logical).cloned() else {
                continue;
            };
            let Some(prior) = rec.prior.clone() else {
                continue;
            };
            match prior {
                Prior::Absent => {
                    if !matches!(
                        rec.status,
                        ResourceStatus::DeleteComplete | ResourceStatus::DeleteSkipped
                    ) && self.delete_resource(rec, true).is_err()
                    {
                        failed.push(logical.clone());
                        continue;
                    }
                    self.cfn.commit(vec![Write::DeleteResource {
                        stack_id: self.stack_id.clone(),
                        logical_id: logical,
                    }])?;
                }
                Prior::Was(old) => {
                    let mut rec = rec;
                    if rec.physical_id != old.physical_id {
                        // A replacement: delete the new resource, keep the old one.
                        if let Some(new_physical) = rec.physical_id.clone() {
                            if let Some(provider) = resources::provider(&rec.resource_type) {
                                let cx = self.provider_cx(&stack, &logical);
                                let mut gone = rec.clone();
                                self.save(&mut gone, ResourceStatus::DeleteInProgress, None, None)?;
                                if let Err(reason) =
                                    provider.delete(&cx, &new_physical, &rec.properties)
                                {
                                    self.save(
                                        &mut gone,
                                        ResourceStatus::DeleteFailed,
                                        Some(&reason),
                                        None,
                                    )?;
                                    failed.push(logical.clone());
                                    continue;
                                }
                                self.save(&mut gone, ResourceStatus::DeleteComplete, None, None)?;
                            }
                        }
                    } else if rec.properties != old.properties {
                        if let Some(provider) = resources::provider(&rec.resource_type) {
                            let cx = self.provider_cx(&stack, &logical);
                            self.save(&mut rec, ResourceStatus::UpdateInProgress, None, None)?;
                            let physical = rec.physical_id.clone().unwrap_or_default();
                            if let Err(reason) =
                                provider.update(&cx, &physical, &rec.properties, &old.properties)
                            {
                                self.save(
                                    &mut rec,
                                    ResourceStatus::UpdateFailed,
                                    Some(&reason),
                                    None,
                                )?;
                                failed.push(logical.clone());
                                continue;
                            }
                        }
                    }
                    rec.physical_id = old.physical_id.clone();
                    rec.properties = old.properties.clone();
                    rec.attributes = old.attributes.clone();
                    rec.deletion_policy = old.deletion_policy;
                    rec.update_replace_policy = old.update_replace_policy;
                    rec.prior = None;
                    rec.creating = false;
                    let status = match old.status {
                        ResourceStatus::CreateComplete | ResourceStatus::UpdateComplete => {
                            ResourceStatus::UpdateComplete
                        }
                        s => s,
                    };
                    self.save(&mut rec, status, None, None)?;
                }
            }
        }
        if !failed.is_empty() {
            self.set_status(
                StackStatus::UpdateRollbackFailed,
                Some(format!(
                    "The following resource(s) failed to update: [{}]. ",
                    failed.join(", ")
                )),
                vec![],
            )?;
            return self.change_set_done(false);
        }
        let mut stack = self.stack()?;
        if let Some(previous) = stack.previous.take() {
            stack.current = previous;
        }
        if let Some(imports) = stack.previous_imports.take() {
            stack.imports = imports;
        }
        self.cfn.commit(vec![Write::PutStack(stack)])?;
        self.set_status(
            StackStatus::UpdateRollbackCompleteCleanupInProgress,
            None,
            vec![],
        )?;
        self.set_status(StackStatus::UpdateRollbackComplete, None, vec![])?;
        self.change_set_done(false)
    }

    // ------------------------------------------------------------------ delete

    fn delete(&self) -> CfnResult<()> {
        let stack = self.stack()?;
        let importers = self.importers(stack.region);
        let exports: Vec<ExportRecord> = self
            .cfn
            .state()
            .exports
            .values()
            .filter(|x| x.stack_id == stack.stack_id)
            .cloned()
            .collect();
        for x in &exports {
            if let Some(users) = importers.get(&x.name) {
                self.set_status(
                    StackStatus::DeleteFailed,
                    Some(format!(
                        "Export {} cannot be deleted as it is in use by {}",
                        x.name,
                        users.join(", ")
                    )),
                    vec![],
                )?;
                return Ok(());
            }
        }
        self.adopt_orphans()?;
        let mut failed = Vec::new();
        for logical in self.deletion_order() {
            let Some(rec) = self.resources().get(&logical).cloned() else {
                continue;
            };
            if matches!(
                rec.status,
                ResourceStatus::DeleteComplete | ResourceStatus::DeleteSkipped
            ) {
                continue;
            }
            if self.delete_resource(rec, false).is_err() {
                failed.push(logical);
            }
        }
        if !failed.is_empty() {
            self.set_status(
                StackStatus::DeleteFailed,
                Some(format!(
                    "The following resource(s) failed to delete: [{}]. ",
                    failed.join(", ")
                )),
                vec![],
            )?;
            return Ok(());
        }
        let mut writes: Vec<Write> = exports
            .iter()
            .map(|x| Write::DeleteExport {
                region: x.region.as_str().to_string(),
                name: x.name.clone(),
            })
            .collect();
        let mut stack = self.stack()?;
        stack.deleted = Some(self.now());
        stack.imports.clear();
        stack.outputs.clear();
        writes.push(Write::PutStack(stack));
        self.set_status(StackStatus::DeleteComplete, None, writes)?;
        Ok(())
    }

    // ------------------------------------------------------------------ recovery

    fn recover(&self) -> CfnResult<()> {
        let stack = self.stack()?;
        let interrupted = |status: ResourceStatus| {
            matches!(
                status,
                ResourceStatus::CreateInProgress | ResourceStatus::UpdateInProgress
            )
        };
        let mark_interrupted = || -> CfnResult<Vec<String>> {
            self.adopt_orphans()?;
            let mut names = Vec::new();
            for (logical, mut rec) in self.resources() {
                if interrupted(rec.status) {
                    let status = if rec.status == ResourceStatus::CreateInProgress {
                        ResourceStatus::CreateFailed
                    } else {
                        ResourceStatus::UpdateFailed
                    };
                    self.save(&mut rec, status, Some(RESTARTED), None)?;
                    names.push(logical);
                }
            }
            Ok(names)
        };
        match stack.status {
            StackStatus::CreateInProgress => {
                let names = mark_interrupted()?;
                self.fail_create(Failure {
                    reason: names.is_empty().then(|| RESTARTED.to_string()),
                    resources: names,
                })
            }
            StackStatus::RollbackInProgress => self.rollback_create(),
            StackStatus::UpdateInProgress => {
                let names = mark_interrupted()?;
                self.fail_update(Failure {
                    reason: names.is_empty().then(|| RESTARTED.to_string()),
                    resources: names,
                })
            }
            StackStatus::UpdateRollbackInProgress
            | StackStatus::UpdateRollbackCompleteCleanupInProgress => self.rollback_update(),
            StackStatus::UpdateCompleteCleanupInProgress => self.cleanup(),
            StackStatus::DeleteInProgress => self.delete(),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_reason_ends_as_a_sentence_before_the_rollback_note() {
        let listed = Failure {
            resources: vec!["Key".into()],
            reason: None,
        };
        assert_eq!(
            sentence(&listed.stack_reason("create")),
            "The following resource(s) failed to create: [Key]. "
        );
        assert_eq!(
            sentence(RESTARTED),
            format!("{RESTARTED}. "),
            "a reason of its own gets its full stop"
        );
    }
}
