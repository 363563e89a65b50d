//! The server's audit log as a test reads it: the records of a Region's
//! `<data dir>/audit/<region>.jsonl`, and waiting for one (read-only records reach the file
//! within the log's flush interval).

use serde_json::Value;

use super::{wait_until, Server};

/// Every record of `region`'s audit log so far (none when the file does not exist yet).
pub fn audit_records(server: &Server, region: &str) -> Vec<Value> {
    let path = server
        .data_dir()
        .join("audit")
        .join(format!("{region}.jsonl"));
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect()
}

/// Waits until `region`'s audit log has a record `matches` accepts (described as `what`);
/// returns it.
pub async fn wait_for_record(
    server: &Server,
    region: &str,
    what: &str,
    matches: impl Fn(&Value) -> bool,
) -> Value {
    wait_until(&format!("{what} in the {region} audit log"), || async {
        let records = audit_records(server, region);
        match records.iter().find(|r| matches(r)) {
            Some(r) => Ok(r.clone()),
            None => Err(format!(
                "events: {:?}",
                records
                    .iter()
                    .map(|r| format!("{} {}", r["eventSource"], r["eventName"]))
                    .collect::<Vec<_>>()
            )),
        }
    })
    .await
}
