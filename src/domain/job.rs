//! Durable background jobs: what is to happen to which key or token object, and when.
//! The store keeps them; the service runs them when the clock passes their due time.

use serde::{Deserialize, Serialize};

use super::ids::KeyId;
use super::region::Region;
use super::time::Timestamp;

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
    /// Imported key material deleted by DeleteImportedKeyMaterial (from this key, or from
    /// every key of its multi-Region family when it was pending rotation): destroy its
    /// object in `region`'s token, unless the key there holds it again by then.
    DestroyImportedMaterial {
        region: Region,
        key_id: KeyId,
        material_id: String,
    },
    /// An import token's 24 hours are over: destroy its wrapping key pair in the token.
    DropImportWrappingKey { region: Region, label: String },
    /// Swap the primary and replica roles after UpdatePrimaryRegion.
    UpdatePrimary {
        key_id: KeyId,
        old: Region,
        new: Region,
    },
}
