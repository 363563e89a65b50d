//! Durable metadata behind a narrow trait: the service hands the store a batch of writes,
//! the store makes them durable atomically (on disk before it returns), and at startup
//! gives everything back. The in-memory view the service serves reads from lives in
//! `kms::state`; the store is only written through and read at startup.

pub mod sqlite;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::kms::ids::{AliasName, KeyId};
use crate::kms::model::{AliasRecord, KeyRecord};
use crate::kms::region::Region;

/// A durable background job (delete a key at its date, finish a replica, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: String,
    pub due: Timestamp,
    pub kind: JobKind,
}

/// What a job does when it is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobKind {
    /// Destroy a key scheduled for deletion (metadata and token material).
    DeleteKey { region: Region, key_id: KeyId },
    /// Copy a new replica's material into its token and move it out of `Creating`.
    FinishReplica { region: Region, key_id: KeyId },
    /// Rotate a key: new material in the primary's token, copied to every replica's token,
    /// then made current everywhere at once.
    RotateKey {
        region: Region,
        key_id: KeyId,
        material_id: String,
        rotation_type: String,
    },
    /// Imported key material reached its ValidTo: destroy it in the token, the key
    /// returns to `PendingImport`.
    ExpireImportedMaterial { region: Region, key_id: KeyId },
    /// An import token's 24 hours are over: destroy its wrapping key pair in the token.
    DropImportWrappingKey { region: Region, label: String },
    /// Swap the primary and replica roles after UpdatePrimaryRegion.
    UpdatePrimary {
        key_id: KeyId,
        old: Region,
        new: Region,
    },
}

/// One write of a batch.
#[derive(Debug, Clone)]
pub enum Write {
    PutKey(KeyRecord),
    DeleteKey { region: Region, key_id: KeyId },
    PutAlias(AliasRecord),
    DeleteAlias { region: Region, name: AliasName },
    PutJob(JobRecord),
    DeleteJob { id: String },
}

/// Everything the store holds, read at startup.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub keys: Vec<KeyRecord>,
    pub aliases: Vec<AliasRecord>,
    pub jobs: Vec<JobRecord>,
}

/// A store failure (always an internal fault for the caller).
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "metadata store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// The narrow persistence interface. Implementations: [`sqlite::SqliteStore`].
pub trait MetadataStore: Send + Sync {
    /// Applies every write of `batch` atomically and durably.
    fn apply(&self, batch: &[Write]) -> Result<(), StoreError>;
    /// Reads everything back.
    fn load(&self) -> Result<Snapshot, StoreError>;
}
