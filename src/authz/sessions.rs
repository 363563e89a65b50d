//! Temporary credentials of assumed-role sessions: an `ASIA…` access key id, a secret
//! key and a session token, valid until an expiry on the server clock.
//!
//! Sessions live in memory; a restart ends them (callers assume the role again, as they
//! do when a session expires).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use parking_lot::RwLock;

use super::principals::{Identity, Secret};

/// One assumed-role session.
#[derive(Debug)]
pub struct Session {
    pub role: Arc<Identity>,
    /// `RoleSessionName`.
    pub name: String,
    /// `arn:<partition>:sts::<account>:assumed-role/<role name>/<session name>`
    pub arn: String,
    pub access_key_id: String,
    pub secret: Secret,
    pub token: Secret,
    /// Server-clock epoch seconds.
    pub expiration: f64,
    /// The ARN of whoever assumed the role (for the audit record's session context).
    pub source_arn: String,
    /// The condition keys that describe this session, computed on first use.
    pub(crate) context_base: std::sync::OnceLock<Arc<super::context::ConditionValues>>,
}

/// The sessions issued by this server.
#[derive(Debug, Default)]
pub struct Sessions {
    by_key: RwLock<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    pub fn new() -> Sessions {
        Sessions::default()
    }

    /// Issues credentials for a session of `role` lasting `duration_seconds` from `now`
    /// (server clock). Expired sessions are dropped on the way.
    pub fn issue(
        &self,
        role: Arc<Identity>,
        session_name: &str,
        source_arn: &str,
        duration_seconds: u32,
        now: f64,
    ) -> Arc<Session> {
        let arn = format!(
            "arn:{}:sts::{}:assumed-role/{}/{}",
            role.partition, role.account, role.name, session_name
        );
        let session = Arc::new(Session {
            role,
            name: session_name.to_string(),
            arn,
            access_key_id: format!("ASIA{}", random_upper(16)),
            secret: Secret::new(base64_random(30)),
            token: Secret::new(base64_random(96)),
            expiration: now + f64::from(duration_seconds),
            source_arn: source_arn.to_string(),
            context_base: Default::default(),
        });
        let mut map = self.by_key.write();
        map.retain(|_, s| s.expiration > now);
        map.insert(session.access_key_id.clone(), session.clone());
        session
    }

    /// The session an access key id belongs to (expired or not: the caller decides).
    pub fn get(&self, access_key_id: &str) -> Option<Arc<Session>> {
        self.by_key.read().get(access_key_id).cloned()
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 16);
    while out.len() < n {
        // v4 UUIDs come from the operating system's CSPRNG (getrandom).
        out.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    out.truncate(n);
    out
}

fn random_upper(n: usize) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    random_bytes(n)
        .iter()
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect()
}

fn base64_random(n: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(random_bytes(n))
}
