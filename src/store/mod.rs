//! Durable metadata behind a narrow trait: the service hands the store a batch of writes,
//! the store makes them durable atomically (on disk before it returns), and at startup
//! gives everything back. The in-memory view the service serves reads from lives in
//! `kms::service`; the store is only written through and read at startup.

pub mod sqlite;

use std::fmt;

use crate::domain::write::{Snapshot, Write};

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
