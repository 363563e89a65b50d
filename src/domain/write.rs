//! What the service hands the metadata store: batches of [`Write`]s, applied atomically;
//! and what the store gives back at startup: a [`Snapshot`] of every record.

use super::alias::AliasRecord;
use super::grant::{GrantId, GrantRecord};
use super::ids::{AliasName, KeyId};
use super::job::JobRecord;
use super::key::KeyRecord;
use super::region::Region;

/// One write of a batch.
#[derive(Debug, Clone)]
pub enum Write {
    PutKey(KeyRecord),
    /// Deletes the key and, with it, every grant of the key (a grant never outlives its
    /// key).
    DeleteKey {
        region: Region,
        key_id: KeyId,
    },
    PutAlias(AliasRecord),
    DeleteAlias {
        region: Region,
        name: AliasName,
    },
    PutGrant(GrantRecord),
    DeleteGrant {
        region: Region,
        key_id: KeyId,
        grant_id: GrantId,
    },
    PutJob(JobRecord),
    DeleteJob {
        id: String,
    },
    /// Encryptions reserved so far under one AES-GCM key material (its id): the count a
    /// restart resumes from (`kms::encryption_budget`).
    ReserveEncryptions {
        material_id: String,
        reserved: u64,
    },
}

/// Everything the store holds, read at startup.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub keys: Vec<KeyRecord>,
    pub aliases: Vec<AliasRecord>,
    pub grants: Vec<GrantRecord>,
    pub jobs: Vec<JobRecord>,
    /// Encryptions reserved per key material id.
    pub encryption_reservations: Vec<(String, u64)>,
}
