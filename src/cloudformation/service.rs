//! The CloudFormation service state every operation and the engine work on: the stack
//! store and its in-memory view (stacks, resources, events, change sets, exports), the KMS
//! service stacks call, and which stacks have an operation running on an engine thread.
//! Writes go through [`CloudFormation::commit`], durable in the store before they become
//! visible.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use super::error::{CfnError, CfnResult};
use super::model::{
    ChangeSetRecord, EventRecord, ExportRecord, ResourceRecord, StackRecord, StackStatus,
};
use super::store::{StackStore, StackStoreError, Write};
use crate::data_dir::STACKS_FILE;
use crate::domain::region::Region;
use crate::kms::service::Kms;

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
            s.region == region && s.name == name_or_id && s.status != StackStatus::DeleteComplete
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
    /// Test-only pause between a resource's creation and the record of its physical id
    /// (the crash window the engine's recovery closes).
    pub record_delay: Duration,
}

impl CloudFormation {
    /// Opens the stack store in the KMS data directory (`DATA_DIR/cloudformation.sqlite3`,
    /// created with mode 0600 by `data_dir::prepare`).
    pub fn open(kms: Arc<Kms>) -> Result<Arc<CloudFormation>, StackStoreError> {
        let store = StackStore::open(&kms.config.data_dir.join(STACKS_FILE))?;
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
        let record_delay = Duration::from_millis(kms.config.stack_record_delay_ms);
        Ok(Arc::new(CloudFormation {
            kms,
            store,
            state: RwLock::new(state),
            write_lock: Mutex::new(()),
            running: Mutex::new(HashSet::new()),
            finished: Condvar::new(),
            record_delay,
        }))
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

    /// Marks an operation on `stack_id` as running; false when one already is.
    pub fn begin_running(&self, stack_id: &str) -> bool {
        self.running.lock().insert(stack_id.to_string())
    }

    /// Marks the operation on `stack_id` as finished and wakes [`CloudFormation::settle`].
    pub fn end_running(&self, stack_id: &str) {
        self.running.lock().remove(stack_id);
        self.finished.notify_all();
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
}
