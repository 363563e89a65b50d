//! The stack store: its own SQLite file (`cloudformation.sqlite3` in the data directory),
//! WAL with `synchronous = FULL`, so that a batch of writes is on disk before the engine
//! takes its next step; created with mode 0600 (`data_dir::prepare`). Records are JSON
//! documents keyed by identity; the schema is versioned and migrated forward at open, like
//! the KMS metadata store.

use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rusqlite::{params, Connection};

use super::model::{ChangeSetRecord, EventRecord, ExportRecord, ResourceRecord, StackRecord};

/// Schema migrations, applied in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    // 1: stacks, their resources and events, change sets, exports.
    "CREATE TABLE stacks (stack_id TEXT PRIMARY KEY, region TEXT NOT NULL, name TEXT NOT NULL,
                          doc TEXT NOT NULL);
     CREATE TABLE resources (stack_id TEXT NOT NULL, logical_id TEXT NOT NULL, doc TEXT NOT NULL,
                             PRIMARY KEY (stack_id, logical_id));
     CREATE TABLE events (stack_id TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL,
                          PRIMARY KEY (stack_id, seq));
     CREATE TABLE change_sets (id TEXT PRIMARY KEY, stack_id TEXT NOT NULL, doc TEXT NOT NULL);
     CREATE TABLE exports (region TEXT NOT NULL, name TEXT NOT NULL, stack_id TEXT NOT NULL,
                           doc TEXT NOT NULL, PRIMARY KEY (region, name));",
];

/// One write of a batch. (Batches are short-lived and small: the size of the stack
/// variant does not matter.)
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Write {
    PutStack(StackRecord),
    PutResource(ResourceRecord),
    DeleteResource {
        stack_id: String,
        logical_id: String,
    },
    PutEvent(EventRecord),
    PutChangeSet(ChangeSetRecord),
    DeleteChangeSet {
        id: String,
    },
    PutExport(ExportRecord),
    DeleteExport {
        region: String,
        name: String,
    },
}

/// Everything the store holds, read at startup.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub stacks: Vec<StackRecord>,
    pub resources: Vec<ResourceRecord>,
    pub events: Vec<EventRecord>,
    pub change_sets: Vec<ChangeSetRecord>,
    pub exports: Vec<ExportRecord>,
}

pub struct StackStore {
    conn: Mutex<Connection>,
}

/// Why the stack store failed: what it was doing, and SQLite's or serde's cause.
#[derive(Debug, thiserror::Error)]
pub enum StackStoreError {
    /// Opening the database file, or migrating its schema, failed.
    #[error("stack store: cannot open {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A SQLite statement failed.
    #[error("stack store: {action} failed")]
    Sqlite {
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// A record could not be encoded as JSON.
    #[error("stack store: cannot encode a {record} record")]
    Encode {
        record: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A stored document is not a valid record (a damaged file, or one written by a newer
    /// hsm-kms).
    #[error("stack store: a stored {record} record does not decode")]
    Decode {
        record: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Wraps a SQLite failure with what the store was doing.
fn sql(action: &'static str) -> impl FnOnce(rusqlite::Error) -> StackStoreError {
    move |source| StackStoreError::Sqlite { action, source }
}

fn encode<T: serde::Serialize>(record: &'static str, value: &T) -> Result<String, StackStoreError> {
    serde_json::to_string(value).map_err(|source| StackStoreError::Encode { record, source })
}

impl StackStore {
    /// Opens (creating if needed) the database file and migrates it.
    pub fn open(path: &Path) -> Result<StackStore, StackStoreError> {
        let open = |source| StackStoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(open)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = conn.transaction().map_err(open)?;
            tx.execute_batch(sql).map_err(open)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(open)?;
            tx.commit().map_err(open)?;
        }
        Ok(StackStore {
            conn: Mutex::new(conn),
        })
    }

    /// Applies a batch atomically and durably.
    pub fn apply(&self, batch: &[Write]) -> Result<(), StackStoreError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(sql("begin a write batch"))?;
        for w in batch {
            match w {
                Write::PutStack(s) => tx.execute(
                    "INSERT OR REPLACE INTO stacks (stack_id, region, name, doc) VALUES (?1, ?2, ?3, ?4)",
                    params![s.stack_id, s.region.as_str(), s.name, encode("stack", s)?],
                ),
                Write::PutResource(r) => tx.execute(
                    "INSERT OR REPLACE INTO resources (stack_id, logical_id, doc) VALUES (?1, ?2, ?3)",
                    params![r.stack_id, r.logical_id, encode("resource", r)?],
                ),
                Write::DeleteResource { stack_id, logical_id } => tx.execute(
                    "DELETE FROM resources WHERE stack_id = ?1 AND logical_id = ?2",
                    params![stack_id, logical_id],
                ),
                Write::PutEvent(e) => tx.execute(
                    "INSERT OR REPLACE INTO events (stack_id, seq, doc) VALUES (?1, ?2, ?3)",
                    params![e.stack_id, e.seq as i64, encode("event", e)?],
                ),
                Write::PutChangeSet(c) => tx.execute(
                    "INSERT OR REPLACE INTO change_sets (id, stack_id, doc) VALUES (?1, ?2, ?3)",
                    params![c.id, c.stack_id, encode("change set", c)?],
                ),
                Write::DeleteChangeSet { id } => {
                    tx.execute("DELETE FROM change_sets WHERE id = ?1", params![id])
                }
                Write::PutExport(x) => tx.execute(
                    "INSERT OR REPLACE INTO exports (region, name, stack_id, doc) VALUES (?1, ?2, ?3, ?4)",
                    params![x.region.as_str(), x.name, x.stack_id, encode("export", x)?],
                ),
                Write::DeleteExport { region, name } => tx.execute(
                    "DELETE FROM exports WHERE region = ?1 AND name = ?2",
                    params![region, name],
                ),
            }
            .map_err(sql("write a record"))?;
        }
        tx.commit().map_err(sql("commit a write batch"))
    }

    /// Reads everything back.
    pub fn load(&self) -> Result<Snapshot, StackStoreError> {
        let conn = self.conn.lock();
        fn records<T: serde::de::DeserializeOwned>(
            conn: &Connection,
            record: &'static str,
            query: &str,
        ) -> Result<Vec<T>, StackStoreError> {
            let mut stmt = conn.prepare(query).map_err(sql("read the store"))?;
            let docs = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(sql("read the store"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql("read the store"))?;
            docs.iter()
                .map(|d| {
                    serde_json::from_str(d)
                        .map_err(|source| StackStoreError::Decode { record, source })
                })
                .collect()
        }
        Ok(Snapshot {
            stacks: records(&conn, "stack", "SELECT doc FROM stacks ORDER BY rowid")?,
            resources: records(
                &conn,
                "resource",
                "SELECT doc FROM resources ORDER BY rowid",
            )?,
            events: records(
                &conn,
                "event",
                "SELECT doc FROM events ORDER BY stack_id, seq",
            )?,
            change_sets: records(
                &conn,
                "change set",
                "SELECT doc FROM change_sets ORDER BY rowid",
            )?,
            exports: records(
                &conn,
                "export",
                "SELECT doc FROM exports ORDER BY region, name",
            )?,
        })
    }
}
