//! The stack store: its own SQLite file (`cloudformation.sqlite3` in the data directory),
//! WAL with `synchronous = FULL`, so that a batch of writes is on disk before the engine
//! takes its next step. Records are JSON documents keyed by identity; the schema is
//! versioned and migrated forward at open, like the KMS metadata store.

use std::path::Path;

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

fn err(e: impl std::fmt::Display) -> String {
    format!("stack store: {e}")
}

impl StackStore {
    /// Opens (creating if needed) the database file and migrates it.
    pub fn open(path: &Path) -> Result<StackStore, String> {
        let mut conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = conn.transaction().map_err(err)?;
            tx.execute_batch(sql).map_err(err)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(StackStore {
            conn: Mutex::new(conn),
        })
    }

    /// Applies a batch atomically and durably.
    pub fn apply(&self, batch: &[Write]) -> Result<(), String> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(err)?;
        for w in batch {
            let doc = |v: &dyn erased::Doc| v.doc();
            match w {
                Write::PutStack(s) => tx.execute(
                    "INSERT OR REPLACE INTO stacks (stack_id, region, name, doc) VALUES (?1, ?2, ?3, ?4)",
                    params![s.stack_id, s.region.as_str(), s.name, doc(s)?],
                ),
                Write::PutResource(r) => tx.execute(
                    "INSERT OR REPLACE INTO resources (stack_id, logical_id, doc) VALUES (?1, ?2, ?3)",
                    params![r.stack_id, r.logical_id, doc(r)?],
                ),
                Write::DeleteResource { stack_id, logical_id } => tx.execute(
                    "DELETE FROM resources WHERE stack_id = ?1 AND logical_id = ?2",
                    params![stack_id, logical_id],
                ),
                Write::PutEvent(e) => tx.execute(
                    "INSERT OR REPLACE INTO events (stack_id, seq, doc) VALUES (?1, ?2, ?3)",
                    params![e.stack_id, e.seq as i64, doc(e)?],
                ),
                Write::PutChangeSet(c) => tx.execute(
                    "INSERT OR REPLACE INTO change_sets (id, stack_id, doc) VALUES (?1, ?2, ?3)",
                    params![c.id, c.stack_id, doc(c)?],
                ),
                Write::DeleteChangeSet { id } => {
                    tx.execute("DELETE FROM change_sets WHERE id = ?1", params![id])
                }
                Write::PutExport(x) => tx.execute(
                    "INSERT OR REPLACE INTO exports (region, name, stack_id, doc) VALUES (?1, ?2, ?3, ?4)",
                    params![x.region.as_str(), x.name, x.stack_id, doc(x)?],
                ),
                Write::DeleteExport { region, name } => tx.execute(
                    "DELETE FROM exports WHERE region = ?1 AND name = ?2",
                    params![region, name],
                ),
            }
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Reads everything back.
    pub fn load(&self) -> Result<Snapshot, String> {
        let conn = self.conn.lock();
        let docs = |sql: &str| -> Result<Vec<String>, String> {
            let mut stmt = conn.prepare(sql).map_err(err)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(err)
        };
        fn parse<T: serde::de::DeserializeOwned>(docs: Vec<String>) -> Result<Vec<T>, String> {
            docs.iter()
                .map(|d| serde_json::from_str(d).map_err(err))
                .collect()
        }
        Ok(Snapshot {
            stacks: parse(docs("SELECT doc FROM stacks ORDER BY rowid")?)?,
            resources: parse(docs("SELECT doc FROM resources ORDER BY rowid")?)?,
            events: parse(docs("SELECT doc FROM events ORDER BY stack_id, seq")?)?,
            change_sets: parse(docs("SELECT doc FROM change_sets ORDER BY rowid")?)?,
            exports: parse(docs("SELECT doc FROM exports ORDER BY region, name")?)?,
        })
    }
}

mod erased {
    /// A record stored as a JSON document.
    pub trait Doc {
        fn doc(&self) -> Result<String, String>;
    }

    impl<T: serde::Serialize> Doc for T {
        fn doc(&self) -> Result<String, String> {
            serde_json::to_string(self).map_err(super::err)
        }
    }
}
