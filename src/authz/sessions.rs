//! Temporary credentials of assumed-role sessions: an `ASIA…` access key id, a secret
//! key and a session token, valid until an expiry on the server clock.
//!
//! The session token is self-verifying: it is the session's claims (access key id, secret
//! key, role, session name, who assumed it, issue and expiry times) sealed with AES-GCM
//! by a [`Sealer`] — in the server, a key that never leaves a PKCS#11 token. Nothing
//! about a session is written to disk, and a session outlives a restart: the first
//! request signed with it after the restart presents the token, the token is opened (one
//! call into the PKCS#11 token), and the session is known again. A token that was
//! altered, or sealed by another key, does not open. Sessions are kept in memory once
//! known, so only that first request pays for the opening.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::principals::{Identity, IdentityKind, Principals, Secret};

/// Seals and opens session claims (authenticated encryption with a key the server holds).
pub trait Sealer: Send + Sync + std::fmt::Debug {
    /// Encrypts and authenticates `plaintext`.
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, String>;
    /// Opens what [`Sealer::seal`] made: `Ok(None)` when `sealed` was not made by this
    /// sealer or was altered; `Err` when the sealer itself failed.
    fn open(&self, sealed: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, String>;
}

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
    pub issued: f64,
    /// Server-clock epoch seconds.
    pub expiration: f64,
    /// The ARN of whoever assumed the role (for the audit record's session context).
    pub source_arn: String,
    /// The condition keys that describe this session, computed on first use.
    pub(crate) context_base: std::sync::OnceLock<Arc<super::context::ConditionValues>>,
}

/// What a session token carries (sealed).
#[derive(Serialize, Deserialize)]
struct Claims {
    v: u8,
    akid: String,
    secret: String,
    role: String,
    name: String,
    source: String,
    issued: f64,
    expires: f64,
}

impl Drop for Claims {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

const CLAIMS_VERSION: u8 = 1;

/// The sessions issued by this server (and, after a restart, those presented since).
#[derive(Debug)]
pub struct Sessions {
    sealer: Arc<dyn Sealer>,
    by_key: RwLock<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    pub fn new(sealer: Arc<dyn Sealer>) -> Sessions {
        Sessions {
            sealer,
            by_key: RwLock::new(HashMap::new()),
        }
    }

    /// Sessions sealed with a random in-memory key (unit tests).
    #[cfg(test)]
    pub fn for_tests() -> Sessions {
        Sessions::new(Arc::new(tests::MemorySealer::default()))
    }

    /// Issues credentials for a session of `role` lasting `duration_seconds` from `now`
    /// (server clock). Expired sessions are dropped on the way. `Err` when the sealer
    /// failed (the PKCS#11 token).
    pub fn issue(
        &self,
        role: Arc<Identity>,
        session_name: &str,
        source_arn: &str,
        duration_seconds: u32,
        now: f64,
    ) -> Result<Arc<Session>, String> {
        let claims = Claims {
            v: CLAIMS_VERSION,
            akid: format!("ASIA{}", random_upper(16)),
            secret: base64_random(30),
            role: role.arn.clone(),
            name: session_name.to_string(),
            source: source_arn.to_string(),
            issued: now,
            expires: now + f64::from(duration_seconds),
        };
        let plaintext = Zeroizing::new(serde_json::to_vec(&claims).map_err(|e| e.to_string())?);
        let token = base64::engine::general_purpose::STANDARD.encode(self.sealer.seal(&plaintext)?);
        let session = Arc::new(session_of(role, &claims, token));
        let mut map = self.by_key.write();
        map.retain(|_, s| s.expiration > now);
        map.insert(session.access_key_id.clone(), session.clone());
        Ok(session)
    }

    /// The session an access key id belongs to, if it is known in memory (expired or
    /// not: the caller decides).
    pub fn get(&self, access_key_id: &str) -> Option<Arc<Session>> {
        self.by_key.read().get(access_key_id).cloned()
    }

    /// The session of `access_key_id`: known in memory, or else opened from the session
    /// token presented with it (after a restart). `None` when the token does not open,
    /// names another access key, or names a role the principals file no longer declares.
    /// The caller still compares the token and checks the expiry.
    pub fn find(
        &self,
        access_key_id: &str,
        token: Option<&str>,
        principals: &Principals,
    ) -> Option<Arc<Session>> {
        if let Some(s) = self.get(access_key_id) {
            return Some(s);
        }
        let token = token?;
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(token.as_bytes())
            .ok()?;
        let plaintext = match self.sealer.open(&sealed) {
            Ok(Some(p)) => p,
            Ok(None) => return None,
            Err(e) => {
                tracing::error!("cannot open a session token: {e}");
                return None;
            }
        };
        let claims: Claims = serde_json::from_slice(&plaintext).ok()?;
        if claims.v != CLAIMS_VERSION || claims.akid != access_key_id {
            return None;
        }
        let role = principals
            .by_arn(&claims.role)
            .filter(|r| r.kind == IdentityKind::Role)?
            .clone();
        let session = Arc::new(session_of(role, &claims, token.to_string()));
        let mut map = self.by_key.write();
        Some(
            map.entry(session.access_key_id.clone())
                .or_insert(session)
                .clone(),
        )
    }
}

fn session_of(role: Arc<Identity>, c: &Claims, token: String) -> Session {
    Session {
        arn: format!(
            "arn:{}:sts::{}:assumed-role/{}/{}",
            role.partition, role.account, role.name, c.name
        ),
        role,
        name: c.name.clone(),
        access_key_id: c.akid.clone(),
        secret: Secret::new(c.secret.clone()),
        token: Secret::new(token),
        issued: c.issued,
        expiration: c.expires,
        source_arn: c.source.clone(),
        context_base: Default::default(),
    }
}

fn random_bytes(n: usize) -> Zeroizing<Vec<u8>> {
    use rand_core::RngCore;
    let mut out = Zeroizing::new(vec![0u8; n]);
    rand_core::OsRng.fill_bytes(&mut out);
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aes_gcm::aead::{Aead, KeyInit};
    use aes_gcm::{Aes256Gcm, Nonce};

    /// AES-256-GCM with a random key in memory: the unit tests' stand-in for the key the
    /// server holds in a PKCS#11 token.
    pub struct MemorySealer(Aes256Gcm);

    impl std::fmt::Debug for MemorySealer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("MemorySealer")
        }
    }

    impl Default for MemorySealer {
        fn default() -> MemorySealer {
            MemorySealer(Aes256Gcm::new_from_slice(&random_bytes(32)).expect("a 32-byte key"))
        }
    }

    impl Sealer for MemorySealer {
        fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, String> {
            let iv = random_bytes(12);
            let mut out = iv.to_vec();
            out.extend(
                self.0
                    .encrypt(Nonce::from_slice(&iv), plaintext)
                    .map_err(|e| e.to_string())?,
            );
            Ok(out)
        }

        fn open(&self, sealed: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
            if sealed.len() < 12 {
                return Ok(None);
            }
            Ok(self
                .0
                .decrypt(Nonce::from_slice(&sealed[..12]), &sealed[12..])
                .ok()
                .map(Zeroizing::new))
        }
    }

    fn principals() -> Principals {
        Principals::parse(
            r#"
[accounts.111122223333]
[roles.app]
account = "111122223333"
trust_policy = '{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}'
"#,
            std::path::Path::new("."),
            "p.toml",
        )
        .expect("principals")
    }

    #[test]
    fn a_session_token_brings_its_session_back_after_a_restart() {
        let p = principals();
        let role = p
            .by_arn("arn:aws:iam::111122223333:role/app")
            .expect("role")
            .clone();
        let sealer: Arc<dyn Sealer> = Arc::new(MemorySealer::default());
        let before = Sessions::new(sealer.clone());
        let s = before
            .issue(
                role,
                "batch",
                "arn:aws:iam::111122223333:user/a",
                900,
                100.0,
            )
            .expect("issued");
        // A new process: nothing in memory, the same sealing key.
        let after = Sessions::new(sealer);
        assert!(after.get(&s.access_key_id).is_none());
        let back = after
            .find(&s.access_key_id, Some(s.token.expose()), &p)
            .expect("opened from its token");
        assert_eq!(back.secret.expose(), s.secret.expose());
        assert_eq!(back.arn, "arn:aws:sts::111122223333:assumed-role/app/batch");
        assert_eq!(back.expiration, 1000.0);
        assert_eq!(back.issued, 100.0);
        assert!(after.get(&s.access_key_id).is_some(), "kept in memory");
    }

    #[test]
    fn an_altered_or_foreign_token_opens_nothing() {
        let p = principals();
        let role = p
            .by_arn("arn:aws:iam::111122223333:role/app")
            .expect("role")
            .clone();
        let mine = Sessions::for_tests();
        let s = mine.issue(role, "batch", "x", 900, 0.0).expect("issued");
        let other = Sessions::for_tests();
        assert!(other
            .find(&s.access_key_id, Some(s.token.expose()), &p)
            .is_none());
        let fresh = Sessions::new(mine.sealer.clone());
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(s.token.expose())
            .expect("base64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(fresh.find(&s.access_key_id, Some(&altered), &p).is_none());
        // The token of one session does not serve another access key id.
        assert!(fresh
            .find("ASIAAAAAAAAAAAAAAAAA", Some(s.token.expose()), &p)
            .is_none());
        assert!(fresh
            .find(&s.access_key_id, Some(s.token.expose()), &p)
            .is_some());
    }

    #[test]
    fn the_secret_is_not_readable_in_the_token() {
        let p = principals();
        let role = p
            .by_arn("arn:aws:iam::111122223333:role/app")
            .expect("role")
            .clone();
        let s = Sessions::for_tests()
            .issue(role, "batch", "x", 900, 0.0)
            .expect("issued");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.token.expose())
            .expect("base64");
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains(s.secret.expose()));
        assert!(!text.contains("batch"));
    }
}
