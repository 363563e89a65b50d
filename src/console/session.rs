//! Signing in, sessions and CSRF protection.
//!
//! A session is a random token in an `HttpOnly; SameSite=Strict` cookie scoped to
//! `/console`; the server keeps what belongs to it (the principal, the CSRF token, the table
//! preferences, a one-shot flash message, import parameters awaiting download). Every
//! state-changing form carries the session's CSRF token, compared in constant time. The
//! sign-in form itself is protected by a double-submit token held in a short-lived cookie.
//!
//! **Who signs in** is decided by a [`SignIn`] implementation. Open mode ([`OpenSignIn`])
//! signs everyone in as the account's root. Strict mode ([`StrictSignIn`]) verifies the
//! access key id and secret access key of a principal of the principals file (compared in
//! constant time) and lists its IAM users and roles for the key administrator / key user
//! pickers; every action of the session is then authorized as that principal, since the
//! console calls KMS with its access key. The console only needs
//! [`SignIn::requires_credentials`], [`SignIn::verify`] and [`SignIn::principals`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use zeroize::Zeroizing;

use crate::authz::Authorizer;
use crate::domain::region::Region;

/// The session cookie.
pub const SESSION_COOKIE: &str = "hsmkms_console";
/// The sign-in form's double-submit cookie.
pub const SIGNIN_COOKIE: &str = "hsmkms_signin";
/// A session ends this long after sign-in, whatever its activity.
const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// …and this long after its last request.
const SESSION_IDLE: Duration = Duration::from_secs(3600);
/// At most this many live sessions are kept (the oldest is dropped first).
const MAX_SESSIONS: usize = 10_000;

/// An IAM identity the console acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// e.g. `arn:aws:iam::111122223333:root`.
    pub arn: String,
    /// The access key id the calls are made with: the service finds the caller by it
    /// (strict mode: the principal's own key; open mode: every caller is the root).
    pub access_key_id: String,
}

/// Why a sign-in was refused (shown to the user as is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInError(pub String);

/// Decides who may sign in. See the module docs.
pub trait SignIn: Send + Sync {
    /// True when the sign-in form must ask for an access key id and secret access key.
    fn requires_credentials(&self) -> bool;
    /// Verifies the credentials typed into the sign-in form (ignored in open mode).
    fn verify(
        &self,
        access_key_id: &str,
        secret: &Zeroizing<String>,
    ) -> Result<Principal, SignInError>;
    /// The IAM users and roles offered in the key administrator and key user pickers, as
    /// ARNs of `partition` (`aws`, `aws-cn`, …: the partition of the page's Region).
    fn principals(&self, partition: &str) -> Vec<String>;
}

/// Open mode: everyone is the account's root.
pub struct OpenSignIn {
    root: Principal,
    account: String,
}

impl OpenSignIn {
    /// `partition` is the one the signed-in principal's ARN is shown in.
    pub fn new(partition: &str, account: &str) -> OpenSignIn {
        OpenSignIn {
            root: Principal {
                arn: format!("arn:{partition}:iam::{account}:root"),
                access_key_id: "ASIACONSOLEROOT00000".to_string(),
            },
            account: account.to_string(),
        }
    }
}

impl SignIn for OpenSignIn {
    fn requires_credentials(&self) -> bool {
        false
    }
    fn verify(&self, _: &str, _: &Zeroizing<String>) -> Result<Principal, SignInError> {
        Ok(self.root.clone())
    }
    fn principals(&self, partition: &str) -> Vec<String> {
        vec![format!("arn:{partition}:iam::{}:root", self.account)]
    }
}

/// Strict mode: a principal of the principals file signs in with one of its (permanent)
/// access keys and the key's secret.
pub struct StrictSignIn {
    authz: std::sync::Arc<Authorizer>,
    /// The account whose keys the server holds (its users and roles fill the pickers).
    account: String,
}

impl StrictSignIn {
    pub fn new(authz: std::sync::Arc<Authorizer>, account: &str) -> StrictSignIn {
        StrictSignIn {
            authz,
            account: account.to_string(),
        }
    }
}

impl SignIn for StrictSignIn {
    fn requires_credentials(&self) -> bool {
        true
    }

    fn verify(
        &self,
        access_key_id: &str,
        secret: &Zeroizing<String>,
    ) -> Result<Principal, SignInError> {
        // One message for an unknown key and a wrong secret: it tells nobody which.
        let caller = self
            .authz
            .sign_in(access_key_id.trim(), secret.as_str())
            .ok_or_else(|| {
                SignInError(
                    "The access key ID or the secret access key is not correct.".to_string(),
                )
            })?;
        Ok(Principal {
            arn: caller.arn().to_string(),
            access_key_id: caller.access_key_id,
        })
    }

    fn principals(&self, partition: &str) -> Vec<String> {
        self.authz
            .principals
            .users_and_roles(&self.account, partition)
            .into_iter()
            .map(|i| i.arn.clone())
            .collect()
    }
}

/// What the key table shows, chosen with the preferences (gear) control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub columns: Vec<String>,
    pub page_size: usize,
}

/// A message shown once on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

/// A wrapping public key and import token fetched through the Key material tab, kept until
/// downloaded or replaced.
#[derive(Debug, Clone)]
pub struct ImportParams {
    pub wrapping_algorithm: String,
    pub wrapping_key_spec: String,
    pub public_key_b64: String,
    pub import_token_b64: String,
    pub valid_to: f64,
}

/// One signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub csrf: String,
    pub prefs: Preferences,
    pub flash: Option<Flash>,
    pub import: HashMap<(Region, String), ImportParams>,
    created: Instant,
    seen: Instant,
}

/// A fresh random token: 256 bits from the OS generator, hex.
pub fn random_token() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    let c = uuid::Uuid::new_v4();
    format!(
        "{}{}{}",
        a.simple(),
        b.simple(),
        &c.simple().to_string()[..16]
    )
}

/// Compares two tokens without an early exit on the first difference.
pub fn same_token(a: &str, b: &str) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Every live session, by token.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session for `principal`; returns its token.
    pub fn create(&self, principal: Principal, default_prefs: Preferences) -> String {
        let token = random_token();
        let now = Instant::now();
        let mut map = self.map.lock();
        map.retain(|_, s| live(s, now));
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.seen)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            token.clone(),
            Session {
                principal,
                csrf: random_token(),
                prefs: default_prefs,
                flash: None,
                import: HashMap::new(),
                created: now,
                seen: now,
            },
        );
        token
    }

    /// The session for `token`, if it is live (and marks it used).
    pub fn get(&self, token: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.map.lock();
        match map.get_mut(token) {
            Some(s) if live(s, now) => {
                s.seen = now;
                Some(s.clone())
            }
            Some(_) => {
                map.remove(token);
                None
            }
            None => None,
        }
    }

    /// Changes the session for `token`, if it is live.
    pub fn update(&self, token: &str, f: impl FnOnce(&mut Session)) {
        if let Some(s) = self.map.lock().get_mut(token) {
            f(s);
        }
    }

    /// Takes the flash message (shown once).
    pub fn take_flash(&self, token: &str) -> Option<Flash> {
        self.map.lock().get_mut(token).and_then(|s| s.flash.take())
    }

    /// Ends the session.
    pub fn remove(&self, token: &str) {
        self.map.lock().remove(token);
    }
}

fn live(s: &Session, now: Instant) -> bool {
    now.duration_since(s.created) < SESSION_LIFETIME && now.duration_since(s.seen) < SESSION_IDLE
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A `Set-Cookie` value for the session (or, with `None`, one that deletes it).
pub fn set_cookie(name: &str, path: &str, value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{name}={v}; Path={path}; HttpOnly; SameSite=Strict"),
        None => format!("{name}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs() -> Preferences {
        Preferences {
            columns: vec![],
            page_size: 10,
        }
    }

    #[test]
    fn tokens_are_long_random_and_compared_exactly() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 80);
        assert_ne!(a, b);
        assert!(same_token(&a, &a.clone()));
        assert!(!same_token(&a, &b));
        assert!(!same_token(&a, &a[..79]));
        assert!(!same_token("", ""));
    }

    #[test]
    fn a_removed_session_is_gone() {
        let sessions = Sessions::default();
        let root = OpenSignIn::new("aws", "111122223333")
            .verify("", &Zeroizing::new(String::new()))
            .expect("open mode");
        assert_eq!(root.arn, "arn:aws:iam::111122223333:root");
        let open = OpenSignIn::new("aws", "111122223333");
        assert_eq!(
            open.principals("aws-cn"),
            vec!["arn:aws-cn:iam::111122223333:root".to_string()]
        );
        let t = sessions.create(root, prefs());
        assert!(sessions.get(&t).is_some());
        assert!(sessions.get("nope").is_none());
        sessions.remove(&t);
        assert!(sessions.get(&t).is_none());
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = "a=1; hsmkms_console=xyz; hsmkms_console_old=no";
        assert_eq!(cookie(h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(h, "b"), None);
        let set = set_cookie(SESSION_COOKIE, "/console", Some("t"));
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
    }
}
