//! The embedded SQLite store: one file in the data directory, WAL journal with
//! `synchronous = FULL` so a committed batch survives kill -9 and power loss. Records are
//! kept as JSON documents keyed by their identity (keys, aliases, grants, jobs); the schema
//! is versioned and migrated forward at open.

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
    // 2: grants, one row per grant, listed per key in creation order.
    "CREATE TABLE grants (region TEXT NOT NULL, key_id TEXT NOT NULL, grant_id TEXT NOT NULL,
                          created REAL NOT NULL, doc TEXT NOT NULL,
                          PRIMARY KEY (region, key_id, grant_id));",
    // 3: encryptions reserved per AES-GCM key material (the GCM nonce budget).
    "CREATE TABLE encryption_counts (material_id TEXT PRIMARY KEY, reserved INTEGER NOT NULL);",
];

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

/// Wraps a SQLite failure with what the store was doing.
fn sql(action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { action, source }
}

fn encode<T: serde::Serialize>(record: &'static str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode { record, source })
}

fn decode<T: serde::de::DeserializeOwned>(
    record: &'static str,
    doc: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|source| StoreError::Decode { record, source })
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and migrates it to the current schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let open = |source| StoreError::Open {
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
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = conn.transaction().map_err(open)?;
            tx.execute_batch(migration).map_err(open)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(open)?;
            tx.commit().map_err(open)?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }
}

impl MetadataStore for SqliteStore {
    fn apply(&self, batch: &[Write]) -> Result<(), StoreError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(sql("begin a write batch"))?;
        for write in batch {
            match write {
                Write::PutKey(k) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO keys (region, key_id, doc) VALUES (?1, ?2, ?3)",
                        params![k.region.as_str(), k.key_id.as_str(), encode("key", k)?],
                    )
                    .map_err(sql("write a key"))?;
                }
                Write::DeleteKey { region, key_id } => {
                    tx.execute(
                        "DELETE FROM keys WHERE region = ?1 AND key_id = ?2",
                        params![region.as_str(), key_id.as_str()],
                    )
                    .map_err(sql("delete a key"))?;
                    // A grant never outlives its key.
                    tx.execute(
                        "DELETE FROM grants WHERE region = ?1 AND key_id = ?2",
                        params![region.as_str(), key_id.as_str()],
                    )
                    .map_err(sql("delete the grants of a key"))?;
                }
                Write::PutAlias(a) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO aliases (region, name, doc) VALUES (?1, ?2, ?3)",
                        params![a.region.as_str(), a.name.as_str(), encode("alias", a)?],
                    )
                    .map_err(sql("write an alias"))?;
                }
                Write::DeleteAlias { region, name } => {
                    tx.execute(
                        "DELETE FROM aliases WHERE region = ?1 AND name = ?2",
                        params![region.as_str(), name.as_str()],
                    )
                    .map_err(sql("delete an alias"))?;
                }
                Write::PutGrant(g) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO grants (region, key_id, grant_id, created, doc)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![
                            g.region.as_str(),
                            g.key_id.as_str(),
                            g.grant_id.as_str(),
                            g.created.secs(),
                            encode("grant", g)?
                        ],
                    )
                    .map_err(sql("write a grant"))?;
                }
                Write::DeleteGrant {
                    region,
                    key_id,
                    grant_id,
                } => {
                    tx.execute(
                        "DELETE FROM grants WHERE region = ?1 AND key_id = ?2 AND grant_id = ?3",
                        params![region.as_str(), key_id.as_str(), grant_id.as_str()],
                    )
                    .map_err(sql("delete a grant"))?;
                }
                Write::PutJob(j) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO jobs (id, due, doc) VALUES (?1, ?2, ?3)",
                        params![j.id, j.due.secs(), encode("job", j)?],
                    )
                    .map_err(sql("write a job"))?;
                }
                Write::DeleteJob { id } => {
                    tx.execute("DELETE FROM jobs WHERE id = ?1", params![id])
                        .map_err(sql("delete a job"))?;
                }
                Write::ReserveEncryptions {
                    material_id,
                    reserved,
                } => {
                    tx.execute(
                        "INSERT OR REPLACE INTO encryption_counts (material_id, reserved) VALUES (?1, ?2)",
                        params![material_id, i64::try_from(*reserved).unwrap_or(i64::MAX)],
                    )
                    .map_err(sql("reserve encryptions"))?;
                }
            }
        }
        tx.commit().map_err(sql("commit a write batch"))
    }

    fn load(&self) -> Result<Snapshot, StoreError> {
        let conn = self.conn.lock();
        let docs = |query: &str| -> Result<Vec<String>, StoreError> {
            let read = sql("read the records");
            let mut stmt = match conn.prepare(query) {
                Ok(stmt) => stmt,
                Err(e) => return Err(read(e)),
            };
            let rows = stmt.query_map([], |r| r.get::<_, String>(0));
            rows.and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(sql("read the records"))
        };
        let mut snapshot = Snapshot::default();
        for doc in docs("SELECT doc FROM keys ORDER BY rowid")? {
            snapshot.keys.push(decode("key", &doc)?);
        }
        for doc in docs("SELECT doc FROM aliases ORDER BY name")? {
            snapshot.aliases.push(decode("alias", &doc)?);
        }
        for doc in docs("SELECT doc FROM grants ORDER BY created, grant_id")? {
            snapshot.grants.push(decode("grant", &doc)?);
        }
        for doc in docs("SELECT doc FROM jobs ORDER BY due")? {
            let job: JobRecord = decode("job", &doc)?;
            snapshot.jobs.push(job);
        }
        let mut stmt = conn
            .prepare("SELECT material_id, reserved FROM encryption_counts")
            .map_err(sql("read the encryption counts"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(sql("read the encryption counts"))?;
        snapshot.encryption_reservations = rows
            .into_iter()
            .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
            .collect();
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_store_that_cannot_open_says_where_and_keeps_sqlites_cause() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A directory is not a database file.
        let Err(e) = SqliteStore::open(dir.path()) else {
            panic!("opened a directory as a database");
        };
        assert!(matches!(e, StoreError::Open { .. }), "{e:?}");
        assert!(
            e.to_string().contains(&dir.path().display().to_string()),
            "{e}"
        );
        assert!(
            e.source().is_some_and(|c| c.is::<rusqlite::Error>()),
            "{e:?}"
        );
    }

    #[test]
    fn a_damaged_record_is_a_decode_error_naming_the_record() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kms.sqlite3");
        let store = SqliteStore::open(&path).expect("open");
        store
            .conn
            .lock()
            .execute(
                "INSERT INTO keys (region, key_id, doc) VALUES ('us-east-1', 'x', '{not json')",
                [],
            )
            .expect("insert");
        let Err(e) = store.load() else {
            panic!("loaded a damaged record");
        };
        assert!(
            matches!(e, StoreError::Decode { record: "key", .. }),
            "{e:?}"
        );
        assert!(
            e.source().is_some_and(|c| c.is::<serde_json::Error>()),
            "{e:?}"
        );
    }

    fn grant(
        region: &str,
        key_id: &crate::domain::ids::KeyId,
    ) -> crate::domain::grant::GrantRecord {
        use crate::domain::grant::{GrantId, GrantOperation, GrantPrincipal, GrantRecord};
        GrantRecord {
            region: crate::domain::region::Region::parse(region).expect("region"),
            key_id: key_id.clone(),
            grant_id: GrantId::new(),
            name: None,
            grantee: GrantPrincipal::Principal("arn:aws:iam::111122223333:role/app".into()),
            retiring: None,
            operations: vec![GrantOperation::Encrypt],
            constraints: None,
            issuing_account: "arn:aws:iam::111122223333:root".into(),
            created: crate::domain::time::Timestamp::from_secs(1_790_000_000.0),
        }
    }

    #[test]
    fn grants_are_kept_per_key_and_go_with_their_key() {
        use crate::domain::ids::KeyId;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("kms.sqlite3")).expect("open");
        let (k1, k2) = (KeyId::new_single_region(), KeyId::new_single_region());
        let (a, b, c) = (
            grant("us-east-1", &k1),
            grant("us-east-1", &k1),
            grant("us-east-1", &k2),
        );
        store
            .apply(&[
                Write::PutGrant(a.clone()),
                Write::PutGrant(b.clone()),
                Write::PutGrant(c.clone()),
            ])
            .expect("put grants");
        assert_eq!(store.load().expect("load").grants.len(), 3);
        store
            .apply(&[Write::DeleteGrant {
                region: b.region,
                key_id: b.key_id.clone(),
                grant_id: b.grant_id.clone(),
            }])
            .expect("delete a grant");
        let left = store.load().expect("load").grants;
        assert_eq!(left.len(), 2);
        assert!(!left.contains(&b));
        store
            .apply(&[Write::DeleteKey {
                region: a.region,
                key_id: k1.clone(),
            }])
            .expect("delete the key");
        assert_eq!(store.load().expect("load").grants, vec![c]);
    }

    #[test]
    fn a_store_of_schema_1_gains_the_grants_table_and_keeps_its_records() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kms.sqlite3");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(MIGRATIONS[0]).expect("schema 1");
            conn.execute_batch("PRAGMA user_version = 1")
                .expect("version");
            conn.execute(
                "INSERT INTO jobs (id, due, doc) VALUES ('j', 1.0, ?1)",
                params![serde_json::json!({"id": "j", "due": 1.0, "kind": {"DropImportWrappingKey": {"region": "us-east-1", "label": "x"}}}).to_string()],
            )
            .expect("a job of schema 1");
        }
        let store = SqliteStore::open(&path).expect("migrates");
        let version: i64 = store
            .conn
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len() as i64);
        let key = crate::domain::ids::KeyId::new_single_region();
        store
            .apply(&[Write::PutGrant(grant("us-east-1", &key))])
            .expect("a grant");
        let snapshot = store.load().expect("load");
        assert_eq!(snapshot.jobs.len(), 1);
        assert_eq!(snapshot.grants.len(), 1);
    }
}
