//! Durable metadata behind a narrow trait: the service hands the store a batch of writes,
//! the store makes them durable atomically (on disk before it returns), and at startup
//! gives everything back. The in-memory view the service serves reads from lives in
//! `kms::service`; the store is only written through and read at startup.

pub mod sqlite;

use std::path::PathBuf;

use crate::domain::write::{Snapshot, Write};

/// A store failure (always an internal fault for the caller). Each says what the store
/// was doing; the cause (SQLite's or serde's error) is its `source()`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Opening the database file, or migrating its schema, failed.
    #[error("metadata store: cannot open {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A SQLite statement failed.
    #[error("metadata store: {action} failed")]
    Sqlite {
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// A record could not be encoded as JSON.
    #[error("metadata store: cannot encode a {record} record")]
    Encode {
        record: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A stored document is not a valid record (a damaged file, or one written by a
    /// newer hsm-kms).
    #[error("metadata store: a stored {record} record does not decode")]
    Decode {
        record: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// The narrow persistence interface. Implementations: [`sqlite::SqliteStore`].
pub trait MetadataStore: Send + Sync {
    /// Applies every write of `batch` atomically and durably.
    fn apply(&self, batch: &[Write]) -> Result<(), StoreError>;
    /// Reads everything back.
    fn load(&self) -> Result<Snapshot, StoreError>;
}
