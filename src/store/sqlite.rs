//! The embedded SQLite store: one file in the data directory, WAL journal with
//! `synchronous = FULL` so a committed batch survives kill -9 and power loss. Records are
//! kept as JSON documents keyed by their identity; the schema is versioned and migrated
//! forward at open.

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{params, Connection};

use super::{MetadataStore, StoreError};
use crate::domain::job::JobRecord;
use crate::domain::write::{Snapshot, Write};

/// Schema migrations, applied in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    // 1: keys, aliases and jobs as JSON documents.
    "CREATE TABLE keys (region TEXT NOT NULL, key_id TEXT NOT NULL, doc TEXT NOT NULL,
                        PRIMARY KEY (region, key_id));
     CREATE TABLE aliases (region TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
                           PRIMARY KEY (region, name));
     CREATE TABLE jobs (id TEXT PRIMARY KEY, due REAL NOT NULL, doc TEXT NOT NULL);",
];

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and migrates it to the current schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
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
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }
}

impl MetadataStore for SqliteStore {
    fn apply(&self, batch: &[Write]) -> Result<(), StoreError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(err)?;
        for write in batch {
            match write {
                Write::PutKey(k) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO keys (region, key_id, doc) VALUES (?1, ?2, ?3)",
                        params![
                            k.region.as_str(),
                            k.key_id.as_str(),
                            serde_json::to_string(k).map_err(err)?
                        ],
                    )
                    .map_err(err)?;
                }
                Write::DeleteKey { region, key_id } => {
                    tx.execute(
                        "DELETE FROM keys WHERE region = ?1 AND key_id = ?2",
                        params![region.as_str(), key_id.as_str()],
                    )
                    .map_err(err)?;
                }
                Write::PutAlias(a) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO aliases (region, name, doc) VALUES (?1, ?2, ?3)",
                        params![
                            a.region.as_str(),
                            a.name.as_str(),
                            serde_json::to_string(a).map_err(err)?
                        ],
                    )
                    .map_err(err)?;
                }
                Write::DeleteAlias { region, name } => {
                    tx.execute(
                        "DELETE FROM aliases WHERE region = ?1 AND name = ?2",
                        params![region.as_str(), name.as_str()],
                    )
                    .map_err(err)?;
                }
                Write::PutJob(j) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO jobs (id, due, doc) VALUES (?1, ?2, ?3)",
                        params![j.id, j.due.secs(), serde_json::to_string(j).map_err(err)?],
                    )
                    .map_err(err)?;
                }
                Write::DeleteJob { id } => {
                    tx.execute("DELETE FROM jobs WHERE id = ?1", params![id])
                        .map_err(err)?;
                }
            }
        }
        tx.commit().map_err(err)
    }

    fn load(&self) -> Result<Snapshot, StoreError> {
        let conn = self.conn.lock();
        let docs = |sql: &str| -> Result<Vec<String>, StoreError> {
            let mut stmt = conn.prepare(sql).map_err(err)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(err)
        };
        let mut snapshot = Snapshot::default();
        for doc in docs("SELECT doc FROM keys ORDER BY rowid")? {
            snapshot.keys.push(serde_json::from_str(&doc).map_err(err)?);
        }
        for doc in docs("SELECT doc FROM aliases ORDER BY name")? {
            snapshot
                .aliases
                .push(serde_json::from_str(&doc).map_err(err)?);
        }
        for doc in docs("SELECT doc FROM jobs ORDER BY due")? {
            let job: JobRecord = serde_json::from_str(&doc).map_err(err)?;
            snapshot.jobs.push(job);
        }
        Ok(snapshot)
    }
}
