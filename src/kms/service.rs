//! The service state every operation works on: configuration, clock, audit log, the
//! Region tokens, the metadata store, and the in-memory view of keys, aliases, grants and jobs
//! that every read is served from. Writes go through [`Kms::commit`], which makes them
//! durable in the store before they become visible.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::access::Access;
use super::error::{KmsError, KmsResult, Report};
use super::grant_index::GrantIndex;
use super::job_retries::Retries;
use crate::audit::Audit;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::alias::AliasRecord;
use crate::domain::ids::{alias_arn, key_arn, AliasName, KeyId, KeyRef};
use crate::domain::job::JobRecord;
use crate::domain::key::{KeyRecord, KeySpec, KeyState};
use crate::domain::region::Region;
use crate::domain::request::{RequestContext, UserIdentity};
use crate::domain::write::Write;
use crate::hsm::{Hsm, HsmError, RegionToken};
use crate::store::{MetadataStore, StoreError};

/// The in-memory view, rebuilt from the store at startup.
#[derive(Default)]
pub struct State {
    /// Keys per Region, ordered by key id (ListKeys pages in this order).
    pub keys: HashMap<Region, BTreeMap<KeyId, Arc<KeyRecord>>>,
    /// Aliases per Region, ordered by name.
    pub aliases: HashMap<Region, BTreeMap<AliasName, AliasRecord>>,
    /// Grants per Region and key.
    pub grants: GrantIndex,
    pub jobs: BTreeMap<String, JobRecord>,
}

impl State {
    fn apply(&mut self, write: &Write) {
        match write {
            Write::PutKey(k) => {
                self.keys
                    .entry(k.region)
                    .or_default()
                    .insert(k.key_id.clone(), Arc::new(k.clone()));
            }
            Write::DeleteKey { region, key_id } => {
                if let Some(m) = self.keys.get_mut(region) {
                    m.remove(key_id);
                }
                self.grants.remove_key(*region, key_id);
            }
            Write::PutAlias(a) => {
                self.aliases
                    .entry(a.region)
                    .or_default()
                    .insert(a.name.clone(), a.clone());
            }
            Write::DeleteAlias { region, name } => {
                if let Some(m) = self.aliases.get_mut(region) {
                    m.remove(name);
                }
            }
            Write::PutGrant(g) => self.grants.put(g),
            Write::DeleteGrant {
                region,
                key_id,
                grant_id,
            } => self.grants.remove(*region, key_id, grant_id),
            Write::PutJob(j) => {
                self.jobs.insert(j.id.clone(), j.clone());
            }
            Write::DeleteJob { id } => {
                self.jobs.remove(id);
            }
            // Kept by the encryption budget itself.
            Write::ReserveEncryptions { .. } => {}
        }
    }
}

/// The service.
pub struct Kms {
    pub config: Config,
    pub clock: Arc<Clock>,
    pub audit: Audit,
    hsm: Hsm,
    store: Box<dyn MetadataStore>,
    state: RwLock<State>,
    /// Serialises read-modify-write sequences on metadata.
    write_lock: Mutex<()>,
    /// Keys being created, counted in their Region's key quota ([`super::quotas`]).
    pub(super) creations: super::key_slots::Creations,
    /// Wakes the job runner when a job is added or the clock moves.
    pub jobs_changed: tokio::sync::Notify,
    /// Backoff for failed jobs.
    pub job_retries: Retries,
    /// Open or strict access control ([`Kms::with_access`]).
    pub access: Access,
    /// Held while due jobs run (`jobs::run_due`): the job runner and the admin API's
    /// clock move both run them, and a job run twice at once (two rotations of one key
    /// racing) would leave the Regions of a key with different materials.
    pub jobs_running: Mutex<()>,
    /// The RSA key pair generation gate of each Region token.
    generations: HashMap<Region, super::generation::Gate>,
    /// Encryptions counted per AES-GCM key material.
    pub budget: super::encryption_budget::Budget,
}

impl Kms {
    /// Builds the service over an opened token layer, store and audit log, loading every
    /// record and reconciling the store with the tokens.
    pub fn new(
        config: Config,
        clock: Arc<Clock>,
        hsm: Hsm,
        store: Box<dyn MetadataStore>,
        audit: Audit,
    ) -> Result<Kms, StoreError> {
        let snapshot = store.load()?;
        let mut state = State::default();
        for key in snapshot.keys {
            state.apply(&Write::PutKey(key));
        }
        for alias in snapshot.aliases {
            state.apply(&Write::PutAlias(alias));
        }
        for grant in snapshot.grants {
            state.apply(&Write::PutGrant(grant));
        }
        for job in snapshot.jobs {
            state.apply(&Write::PutJob(job));
        }
        let budget = super::encryption_budget::Budget::new(
            config.limits.encryptions_per_key_material,
            snapshot.encryption_reservations,
        );
        let generations = config
            .regions
            .iter()
            .map(|r| {
                let limits = &config.limits;
                (
                    *r,
                    super::generation::Gate::new(
                        limits.key_generations_per_region,
                        limits.key_generation_queue,
                    ),
                )
            })
            .collect();
        let kms = Kms {
            budget,
            generations,
            config,
            clock,
            audit,
            hsm,
            store,
            state: RwLock::new(state),
            write_lock: Mutex::new(()),
            creations: super::key_slots::Creations::default(),
            jobs_changed: tokio::sync::Notify::new(),
            job_retries: Retries::default(),
            access: Access::Open,
            jobs_running: Mutex::new(()),
        };
        kms.reconcile();
        Ok(kms)
    }

    /// The service with `access` control (open mode unless said otherwise).
    pub fn with_access(mut self, access: Access) -> Kms {
        self.access = access;
        self
    }

    /// Whether the caller of `ctx` belongs to another account than the one owning this
    /// service's keys (strict mode, a principal of another account of the principals
    /// file): such a caller reaches keys here by key ARN only, and has no keys or aliases
    /// of its own here.
    pub fn caller_in_other_account(&self, ctx: &RequestContext) -> Option<String> {
        self.access
            .caller_account(&ctx.access_key)
            .filter(|a| a != self.account())
    }

    /// The caller of `ctx` as the audit log records it (`userIdentity`).
    pub fn user_identity(&self, ctx: &RequestContext) -> UserIdentity {
        self.access.user_identity(
            &ctx.access_key,
            ctx.region.partition().as_str(),
            self.account(),
        )
    }

    /// Startup reconciliation: destroys token objects no metadata refers to (left by a
    /// crash between material creation and the metadata commit) and reports keys whose
    /// material is missing from their token.
    fn reconcile(&self) {
        let mut unavailable = Vec::new();
        {
            let state = self.state.read();
            for region in &self.config.regions {
                let Some(token) = self.hsm.token(*region) else {
                    continue;
                };
                let mut expected = std::collections::HashSet::new();
                for key in state.keys.get(region).into_iter().flat_map(|m| m.values()) {
                    let mut missing = false;
                    for m in &key.materials {
                        let label = m.token_label(&key.key_id);
                        missing |= !token.has_object(&label);
                        expected.insert(label);
                    }
                    // A replica still `Creating` gets its material from its job; a key
                    // pending deletion may have lost it to an interrupted deletion job.
                    let in_flux = matches!(
                        key.state,
                        KeyState::Creating | KeyState::PendingDeletion | KeyState::Unavailable
                    );
                    if missing && !in_flux {
                        tracing::error!(
                            region = %region,
                            key = %key.key_id,
                            "key material is missing from the token: the key is now Unavailable"
                        );
                        let mut k = (**key).clone();
                        k.state = KeyState::Unavailable;
                        unavailable.push(Write::PutKey(k));
                    }
                }
                for label in token.labels() {
                    if is_material_label(&label) && !expected.contains(&label) {
                        tracing::warn!(region = %region, %label, "destroying orphaned token object");
                        if let Err(e) = token.destroy(&label) {
                            tracing::error!(region = %region, %label, "cannot destroy orphan: {e}");
                        }
                    }
                }
            }
        }
        if !unavailable.is_empty() {
            if let Err(e) = self.commit(unavailable) {
                tracing::error!("cannot record unavailable keys: {}", Report(&e));
            }
        }
    }

    /// Makes the session-object copies of every symmetric key's material, so the first
    /// request with each key does not pay for it. Runs in the background after startup.
    pub fn warm_tokens(&self) {
        let started = std::time::Instant::now();
        let labels: Vec<(Region, String)> = {
            let state = self.state.read();
            state
                .keys
                .iter()
                .flat_map(|(region, keys)| keys.values().map(move |k| (*region, k)))
                .filter(|(_, k)| k.key_spec == KeySpec::SymmetricDefault)
                .flat_map(|(region, k)| {
                    k.materials
                        .iter()
                        .map(move |m| (region, m.token_label(&k.key_id)))
                })
                .collect()
        };
        let mut warmed = 0usize;
        for (region, label) in &labels {
            if let Some(token) = self.hsm.token(*region) {
                if token.has_object(label) && token.warm(label).is_ok() {
                    warmed += 1;
                }
            }
        }
        tracing::info!(
            warmed,
            ms = started.elapsed().as_millis() as u64,
            "session copies of key material ready"
        );
    }

    /// A place to generate an RSA key pair in `region`'s token (see
    /// [`super::generation`]): waits for one, or ThrottlingException.
    pub fn rsa_generation(&self, region: Region) -> KmsResult<super::generation::Permit<'_>> {
        match self.generations.get(&region) {
            Some(gate) => gate.enter(),
            None => Err(KmsError::internal(format!(
                "no generation gate for {region}"
            ))),
        }
    }

    /// The token layer (multi-Region jobs copy material between tokens).
    pub fn hsm(&self) -> &Hsm {
        &self.hsm
    }

    pub fn account(&self) -> &str {
        &self.config.account_id
    }

    /// The token of `region` (every served Region has one).
    pub fn token(&self, region: Region) -> KmsResult<&Arc<RegionToken>> {
        self.hsm
            .token(region)
            .ok_or_else(|| KmsError::internal(format!("no token for served Region {region}")))
    }

    /// Makes `batch` durable, then visible.
    pub fn commit(&self, batch: Vec<Write>) -> KmsResult<()> {
        self.make_durable_then_visible(&batch).map(drop)
    }

    /// Makes `batch` durable, then visible; returns the state's write lock, still held.
    fn make_durable_then_visible(
        &self,
        batch: &[Write],
    ) -> KmsResult<parking_lot::RwLockWriteGuard<'_, State>> {
        self.store.apply(batch).map_err(KmsError::internal)?;
        let mut state = self.state.write();
        for w in batch {
            state.apply(w);
        }
        Ok(state)
    }

    /// Commits `batch`, which creates the key `slot` holds a place for: the key becomes
    /// visible and the place is given back in one step, under the state's write lock, so a
    /// quota check counts the key exactly once. If the write fails, the place is given back
    /// all the same.
    pub fn commit_new_key(
        &self,
        batch: Vec<Write>,
        slot: super::key_slots::KeySlot<'_>,
    ) -> KmsResult<()> {
        let state = self.make_durable_then_visible(&batch)?;
        drop(slot);
        drop(state);
        Ok(())
    }

    /// Holds the metadata write lock for a read-modify-write sequence.
    pub fn write_guard(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.write_lock.lock()
    }

    pub fn state(&self) -> parking_lot::RwLockReadGuard<'_, State> {
        self.state.read()
    }

    pub fn key_arn(&self, region: Region, key_id: &KeyId) -> String {
        key_arn(region, self.account(), key_id)
    }

    pub fn alias_arn(&self, region: Region, alias: &AliasName) -> String {
        alias_arn(region, self.account(), alias)
    }

    /// A key of `region` by id.
    pub fn get_key(&self, region: Region, key_id: &KeyId) -> Option<Arc<KeyRecord>> {
        self.state
            .read()
            .keys
            .get(&region)
            .and_then(|m| m.get(key_id))
            .cloned()
    }

    /// Resolves a `KeyId` request field (id, key ARN, alias name or alias ARN) to a key of
    /// the request's Region, with AWS's NotFoundException messages.
    /// A caller of another account names keys of this one by ARN: a key id or alias name
    /// is looked for in the caller's own account, where there is none.
    pub fn resolve(&self, ctx: &RequestContext, raw: &str) -> KmsResult<Arc<KeyRecord>> {
        if let Some(own) = self.caller_in_other_account(ctx) {
            if !raw.starts_with("arn:") {
                return Err(
                    match KeyRef::parse(raw, ctx.region, &own).map_err(KmsError::from)? {
                        KeyRef::Id(id) => KmsError::not_found(format!(
                            "Key '{}' does not exist",
                            key_arn(ctx.region, &own, &id)
                        )),
                        KeyRef::Alias(alias) => KmsError::not_found(format!(
                            "Alias '{}' is not found.",
                            alias_arn(ctx.region, &own, &alias)
                        )),
                    },
                );
            }
        }
        match KeyRef::parse(raw, ctx.region, self.account()).map_err(KmsError::from)? {
            KeyRef::Id(id) => self.get_key(ctx.region, &id).ok_or_else(|| {
                KmsError::not_found(format!(
                    "Key '{}' does not exist",
                    self.key_arn(ctx.region, &id)
                ))
            }),
            KeyRef::Alias(alias) => {
                let state = self.state.read();
                let target = state
                    .aliases
                    .get(&ctx.region)
                    .and_then(|m| m.get(&alias))
                    .map(|a| a.target.clone())
                    .ok_or_else(|| {
                        KmsError::not_found(format!(
                            "Alias '{}' is not found.",
                            self.alias_arn(ctx.region, &alias)
                        ))
                    })?;
                state
                    .keys
                    .get(&ctx.region)
                    .and_then(|m| m.get(&target))
                    .cloned()
                    .ok_or_else(|| {
                        KmsError::not_found(format!(
                            "Key '{}' does not exist",
                            self.key_arn(ctx.region, &target)
                        ))
                    })
            }
        }
    }

    /// Maps a token error to the caller's error.
    pub fn hsm_error(e: HsmError) -> KmsError {
        match e {
            HsmError::AuthenticationFailed => KmsError::invalid_ciphertext(),
            other => KmsError::internal(other),
        }
    }
}

/// Key material objects are labelled `<key id>/<64 hex material id>`.
fn is_material_label(label: &str) -> bool {
    match label.split_once('/') {
        Some((id, material)) => {
            KeyId::parse(id).is_some()
                && material.len() == 64
                && material.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}
