//! CloudFormation on the same port: stacks of `AWS::KMS::Key`, `AWS::KMS::ReplicaKey` and
//! `AWS::KMS::Alias` resources, deployed with the same requests and templates as in AWS.
//!
//! - [`template`]: JSON/YAML templates, parameters, intrinsic functions, conditions, the
//!   dependency graph;
//! - [`plan`]: a deployment made concrete (parameter values, conditions, properties,
//!   outputs) and the changes a change set lists;
//! - [`engine`]: stack operations — create, update, delete, rollback, cleanup — run on
//!   their own thread, each step durable before the next, resumed or rolled back at
//!   startup;
//! - [`resources`]: the three resource providers, calling KMS only through the KMS
//!   dispatcher ([`resources::kms_client`]), so every resource operation is the KMS call it
//!   is, with the same checks and audit records;
//! - [`store`]: the stack store (its own SQLite file);
//! - [`operations`]: one file per CloudFormation API operation, each declared with the
//!   IAM action it needs;
//! - [`model`], [`error`]: records and errors.
//!
//! The service speaks JSON: the API layer (`api::query`) turns awsQuery requests into the
//! input JSON of an operation and its output JSON into XML.

pub mod engine;
pub mod error;
pub mod model;
pub mod operations;
pub mod plan;
pub mod resources;
pub mod store;
pub mod template;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use serde_json::Value;

use crate::kms::region::Region;
use crate::kms::Kms;
use error::{CfnError, CfnResult};
use model::{ChangeSetRecord, EventRecord, ExportRecord, ResourceRecord, StackRecord};
use store::{StackStore, Write};

/// Who calls, in which Region (from the SigV4 credential scope).
#[derive(Debug, Clone)]
pub struct CfnContext {
    pub region: Region,
    pub access_key: String,
    pub request_id: String,
}

/// The in-memory view of the stack store.
#[derive(Default)]
pub struct CfnState {
    /// Stacks by stack id (deleted stacks stay, as in AWS, visible by id).
    pub stacks: BTreeMap<String, StackRecord>,
    /// Resources per stack id, by logical id.
    pub resources: BTreeMap<String, BTreeMap<String, ResourceRecord>>,
    /// Events per stack id, oldest first.
    pub events: BTreeMap<String, Vec<EventRecord>>,
    pub change_sets: BTreeMap<String, ChangeSetRecord>,
    /// Exports by Region and name.
    pub exports: BTreeMap<(Region, String), ExportRecord>,
}

impl CfnState {
    fn apply(&mut self, w: &Write) {
        match w {
            Write::PutStack(s) => {
                self.stacks.insert(s.stack_id.clone(), s.clone());
            }
            Write::PutResource(r) => {
                self.resources
                    .entry(r.stack_id.clone())
                    .or_default()
                    .insert(r.logical_id.clone(), r.clone());
            }
            Write::DeleteResource {
                stack_id,
                logical_id,
            } => {
                if let Some(m) = self.resources.get_mut(stack_id) {
                    m.remove(logical_id);
                }
            }
            Write::PutEvent(e) => {
                let events = self.events.entry(e.stack_id.clone()).or_default();
                match events.iter_mut().find(|x| x.seq == e.seq) {
                    Some(x) => *x = e.clone(),
                    None => events.push(e.clone()),
                }
            }
            Write::PutChangeSet(c) => {
                self.change_sets.insert(c.id.clone(), c.clone());
            }
            Write::DeleteChangeSet { id } => {
                self.change_sets.remove(id);
            }
            Write::PutExport(x) => {
                self.exports.insert((x.region, x.name.clone()), x.clone());
            }
            Write::DeleteExport { region, name } => {
                if let Some(r) = Region::parse(region) {
                    self.exports.remove(&(r, name.clone()));
                }
            }
        }
    }

    /// A stack by name (live stacks only) or stack id (any, deleted ones too) in `region`.
    pub fn find(&self, region: Region, name_or_id: &str) -> Option<&StackRecord> {
        if name_or_id.starts_with("arn:") {
            return self.stacks.get(name_or_id).filter(|s| s.region == region);
        }
        self.stacks.values().find(|s| {
            s.region == region
                && s.name == name_or_id
                && s.status != model::StackStatus::DeleteComplete
        })
    }
}

/// How long a call that starts a stack operation waits for it to finish before it
/// answers (see [`CloudFormation::settle`]).
const SETTLE: Duration = Duration::from_secs(10);

/// The CloudFormation service.
pub struct CloudFormation {
    pub kms: Arc<Kms>,
    store: StackStore,
    state: RwLock<CfnState>,
    /// Serialises read-modify-write sequences (a stack's status change and its checks).
    write_lock: Mutex<()>,
    /// Stacks with an operation running on an engine thread.
    running: Mutex<HashSet<String>>,
    finished: Condvar,
}

impl CloudFormation {
    /// Opens the stack store in the KMS data directory.
    pub fn open(kms: Arc<Kms>) -> Result<Arc<CloudFormation>, String> {
        let store = StackStore::open(&kms.config.data_dir.join("cloudformation.sqlite3"))?;
        let snapshot = store.load()?;
        let mut state = CfnState::default();
        for s in snapshot.stacks {
            state.apply(&Write::PutStack(s));
        }
        for r in snapshot.resources {
            state.apply(&Write::PutResource(r));
        }
        for e in snapshot.events {
            state.apply(&Write::PutEvent(e));
        }
        for c in snapshot.change_sets {
            state.apply(&Write::PutChangeSet(c));
        }
        for x in snapshot.exports {
            state.apply(&Write::PutExport(x));
        }
        Ok(Arc::new(CloudFormation {
            kms,
            store,
            state: RwLock::new(state),
            write_lock: Mutex::new(()),
            running: Mutex::new(HashSet::new()),
            finished: Condvar::new(),
        }))
    }

    /// Runs a CloudFormation operation (input and output as JSON).
    pub fn call(
        self: &Arc<Self>,
        ctx: &CfnContext,
        operation: &str,
        input: Value,
    ) -> CfnResult<Value> {
        let Some(op) = operations::find(operation) else {
            return Err(CfnError::new(
                error::CfnErrorKind::Validation,
                format!("hsm-kms does not implement the CloudFormation action {operation}. Implemented: {}.", operations::names().join(", ")),
            ));
        };
        // Access control (strict mode) checks `op.action` (e.g. cloudformation:CreateStack)
        // for the caller here, before the operation runs; the KMS permissions of what a
        // template creates are checked by the KMS entry point each resource call goes
        // through, with the caller's access key.
        let _action = op.action;
        (op.handler)(self, ctx, input)
    }

    /// Makes `batch` durable, then visible.
    pub fn commit(&self, batch: Vec<Write>) -> CfnResult<()> {
        self.store.apply(&batch).map_err(CfnError::internal)?;
        let mut state = self.state.write();
        for w in &batch {
            state.apply(w);
        }
        Ok(())
    }

    pub fn state(&self) -> parking_lot::RwLockReadGuard<'_, CfnState> {
        self.state.read()
    }

    pub fn write_guard(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.write_lock.lock()
    }

    /// A stack by name or id, or AWS's `Stack with id X does not exist`.
    pub fn stack(&self, region: Region, name_or_id: &str) -> CfnResult<StackRecord> {
        self.state()
            .find(region, name_or_id)
            .cloned()
            .ok_or_else(|| CfnError::stack_not_found(name_or_id))
    }

    pub fn account(&self) -> &str {
        self.kms.account()
    }

    /// Starts a stack operation on its own thread.
    pub fn spawn(self: &Arc<Self>, stack_id: &str, job: engine::Job) {
        {
            let mut running = self.running.lock();
            if !running.insert(stack_id.to_string()) {
                tracing::warn!(
                    stack = stack_id,
                    "an operation is already running on this stack"
                );
                return;
            }
        }
        let cfn = self.clone();
        let id = stack_id.to_string();
        let spawned = std::thread::Builder::new()
            .name("cfn-stack".into())
            .spawn(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    engine::Run::new(&cfn, &id).execute(job)
                }));
                if outcome.is_err() {
                    tracing::error!(stack = %id, "stack operation panicked; it is resumed at the next start");
                }
                cfn.running.lock().remove(&id);
                cfn.finished.notify_all();
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a stack operation thread: {e}");
            self.running.lock().remove(stack_id);
        }
    }

    /// Waits a little for a stack operation just started to finish, so that a deployment
    /// of a few keys is complete when CreateStack/ExecuteChangeSet/… answers and the
    /// first poll of a waiter (the aws CLI polls every 30 s) sees it done. The operation
    /// goes on in the background if it takes longer, as in AWS.
    pub fn settle(&self, stack_id: &str) {
        let deadline = Instant::now() + SETTLE;
        let mut running = self.running.lock();
        while running.contains(stack_id) {
            if self.finished.wait_until(&mut running, deadline).timed_out() {
                break;
            }
        }
    }

    /// Resumes or rolls back every stack an interrupted server left in progress.
    pub fn recover(self: &Arc<Self>) {
        let ids: Vec<String> = self
            .state()
            .stacks
            .values()
            .filter(|s| s.status.in_progress())
            .map(|s| s.stack_id.clone())
            .collect();
        for id in ids {
            tracing::info!(stack = %id, "recovering a stack operation interrupted by a restart");
            self.spawn(&id, engine::Job::Recover);
        }
    }
}
