//! The principals file (TOML): accounts, IAM users and roles, their access keys, tags,
//! identity policies and (for roles) trust policies. Read once at startup; a malformed
//! file is refused with the entry that is wrong (`users.alice.access_keys[0]`) and what is
//! wrong with it.
//!
//! ```toml
//! [accounts.111122223333]
//! name = "main"                         # optional, for people
//! # partition = "aws"                   # aws (default), aws-cn, aws-us-gov
//! [[accounts.111122223333.access_keys]] # optional: the account root user's keys
//! id = "AKIAROOT000000000001"
//! secret = "..."
//!
//! [users.alice]                         # the entry label is the user name …
//! account = "111122223333"
//! # name = "alice"                      # … unless `name` says otherwise
//! path = "/engineering/"                # optional, default "/"
//! # arn = "arn:aws:iam::111122223333:user/engineering/alice"  # optional, must agree
//! tags = { team = "payments" }          # aws:PrincipalTag/…
//! [[users.alice.access_keys]]
//! id = "AKIAALICE00000000001"
//! secret = "..."
//! [[users.alice.policies]]              # identity policies: inline …
//! name = "use-keys"
//! document = '''{"Version": "2012-10-17", "Statement": {...}}'''
//! [[users.alice.policies]]              # … or a file, relative to this file
//! name = "admin"
//! file = "policies/admin.json"
//!
//! [roles.app]
//! account = "111122223333"
//! trust_policy = '''{"Version": "2012-10-17", "Statement": {...}}'''  # or trust_policy_file
//! max_session_duration = 3600           # seconds, 900..=43200, default 3600
//! ```
//!
//! Secret keys are held in zeroising buffers and print as `***` in Debug output.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::arn::{self, PrincipalArn};
use super::policy::{PolicyDoc, PolicyKind};

/// A secret access key: zeroised when dropped, never printed.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(Zeroizing::new(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What kind of IAM identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    /// The account's root user.
    Root,
    User,
    Role,
}

/// One identity policy attached to a user or role.
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    pub name: String,
    pub doc: Arc<PolicyDoc>,
}

/// An account root user, IAM user or IAM role.
#[derive(Debug)]
pub struct Identity {
    pub kind: IdentityKind,
    pub partition: String,
    pub account: String,
    /// The user or role name (`root` for the root user).
    pub name: String,
    pub path: String,
    pub arn: String,
    /// `AIDA…` (user), `AROA…` (role), or the account id (root user).
    pub unique_id: String,
    pub tags: BTreeMap<String, String>,
    pub policies: Vec<NamedPolicy>,
    /// Roles: who may assume the role.
    pub trust_policy: Option<Arc<PolicyDoc>>,
    /// Roles: the longest session AssumeRole may grant, in seconds.
    pub max_session_duration: u32,
    /// The condition keys that describe this identity, computed on first use.
    pub(crate) context_base: std::sync::OnceLock<Arc<super::context::ConditionValues>>,
}

impl Identity {
    /// An account's root user (what every caller is in open mode).
    pub fn account_root(account: &str, partition: &str) -> Identity {
        Identity {
            kind: IdentityKind::Root,
            partition: partition.to_string(),
            account: account.to_string(),
            name: "root".into(),
            path: "/".into(),
            arn: format!("arn:{partition}:iam::{account}:root"),
            unique_id: account.to_string(),
            tags: BTreeMap::new(),
            policies: Vec::new(),
            trust_policy: None,
            max_session_duration: 0,
            context_base: Default::default(),
        }
    }

    /// The principal as ARN components.
    pub fn principal_arn(&self) -> Option<PrincipalArn> {
        PrincipalArn::parse(&self.arn)
    }
}

/// A loaded principals file.
#[derive(Debug, Default)]
pub struct Principals {
    /// Where it was read from (for the startup line and messages).
    pub source: Option<PathBuf>,
    /// Account id → partition.
    accounts: BTreeMap<String, String>,
    by_arn: HashMap<String, Arc<Identity>>,
    by_access_key: HashMap<String, (Arc<Identity>, Secret)>,
}

/// A fault in the principals file: the entry and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {entry}: {problem}")]
pub struct PrincipalsError {
    pub file: String,
    pub entry: String,
    pub problem: String,
}

/// The limits AWS places on what the file declares.
const MAX_TAGS: usize = 50;
const SESSION_MIN: u32 = 900;
const SESSION_MAX: u32 = 43_200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    accounts: BTreeMap<String, toml::Value>,
    #[serde(default)]
    users: BTreeMap<String, toml::Value>,
    #[serde(default)]
    roles: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: Option<String>,
    partition: Option<String>,
    #[serde(default)]
    access_keys: Vec<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    account: String,
    name: Option<String>,
    path: Option<String>,
    arn: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    access_keys: Vec<toml::Value>,
    #[serde(default)]
    policies: Vec<toml::Value>,
    // Roles only.
    trust_policy: Option<String>,
    trust_policy_file: Option<String>,
    max_session_duration: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    id: String,
    secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: String,
    document: Option<String>,
    file: Option<String>,
}

impl Principals {
    /// Reads and checks a principals file.
    pub fn load(path: &Path) -> Result<Principals, PrincipalsError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| PrincipalsError {
                file: file.clone(),
                entry: "(file)".into(),
                problem: format!("cannot read it: {e}"),
            })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut p = Principals::parse(&text, base, &file)?;
        p.source = Some(path.to_path_buf());
        Ok(p)
    }

    /// Checks a principals file's text; policy files are read relative to `base`.
    pub fn parse(text: &str, base: &Path, file: &str) -> Result<Principals, PrincipalsError> {
        let err = |entry: &str, problem: String| PrincipalsError {
            file: file.to_string(),
            entry: entry.to_string(),
            problem,
        };
        let mut value: toml::Table = toml::from_str(text)
            .map_err(|e| err("(file)", format!("not valid TOML: {}", e.message())))?;
        let raw: Result<RawFile, _> = toml::Value::Table(value.clone()).try_into();
        wipe_table(&mut value);
        let raw = raw.map_err(|e| err("(top level)", e.message().to_string()))?;
        let mut out = Principals::default();
        let mut key_owner: HashMap<String, String> = HashMap::new();

        for (id, v) in raw.accounts {
            let entry = format!("accounts.{id}");
            if !arn::is_account_id(&id) {
                return Err(err(&entry, "an account id is 12 digits".into()));
            }
            let acc: RawAccount = take(v).map_err(|m| err(&entry, m))?;
            // `name` is for the people reading the file.
            let _ = acc.name;
            let partition = acc.partition.unwrap_or_else(|| "aws".into());
            if !arn::PARTITIONS.contains(&partition.as_str()) {
                return Err(err(
                    &format!("{entry}.partition"),
                    format!("unknown partition '{partition}' (aws, aws-cn or aws-us-gov)"),
                ));
            }
            out.accounts.insert(id.clone(), partition.clone());
            let root = Arc::new(Identity::account_root(&id, &partition));
            out.by_arn.insert(root.arn.clone(), root.clone());
            for (i, k) in acc.access_keys.into_iter().enumerate() {
                let e = format!("{entry}.access_keys[{i}]");
                out.add_key(&root, k, &e, &mut key_owner)
                    .map_err(|m| err(&e, m))?;
            }
        }

        for (section, kind, entries) in [
            ("users", IdentityKind::User, raw.users),
            ("roles", IdentityKind::Role, raw.roles),
        ] {
            for (label, v) in entries {
                let entry = format!("{section}.{label}");
                let r: RawIdentity = take(v).map_err(|m| err(&entry, m))?;
                out.build_identity(kind, &label, &entry, r, base, file, &mut key_owner)?;
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn build_identity(
        &mut self,
        kind: IdentityKind,
        label: &str,
        entry: &str,
        r: RawIdentity,
        base: &Path,
        file: &str,
        key_owner: &mut HashMap<String, String>,
    ) -> Result<(), PrincipalsError> {
        let err = |entry: &str, problem: String| PrincipalsError {
            file: file.to_string(),
            entry: entry.to_string(),
            problem,
        };
        let Some(partition) = self.accounts.get(&r.account).cloned() else {
            return Err(err(
                &format!("{entry}.account"),
                format!(
                    "account {} is not declared under [accounts.{}]",
                    r.account, r.account
                ),
            ));
        };
        let name = r.name.unwrap_or_else(|| label.to_string());
        if !valid_name(&name) {
            return Err(err(
                entry,
                format!("bad name '{name}': 1 to 64 letters, digits and +=,.@_-"),
            ));
        }
        let path = r.path.unwrap_or_else(|| "/".into());
        if !valid_path(&path) {
            return Err(err(
                &format!("{entry}.path"),
                format!("bad path '{path}': it starts and ends with '/' (e.g. /division/)"),
            ));
        }
        let word = if kind == IdentityKind::User {
            "user"
        } else {
            "role"
        };
        let derived = format!("arn:{partition}:iam::{}:{word}{path}{name}", r.account);
        if let Some(given) = &r.arn {
            if given != &derived {
                return Err(err(
                    &format!("{entry}.arn"),
                    format!("bad ARN '{given}': account, path and name make it {derived}"),
                ));
            }
        }
        if self.by_arn.contains_key(&derived) {
            return Err(err(entry, format!("{derived} is declared twice")));
        }
        if r.tags.len() > MAX_TAGS {
            return Err(err(
                &format!("{entry}.tags"),
                format!("at most {MAX_TAGS} tags"),
            ));
        }
        for (k, v) in &r.tags {
            if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
                return Err(err(
                    &format!("{entry}.tags.{k}"),
                    "a tag key is 1 to 128 characters, a value at most 256".into(),
                ));
            }
        }
        let mut policies = Vec::new();
        for (i, p) in r.policies.into_iter().enumerate() {
            let e = format!("{entry}.policies[{i}]");
            let p: RawPolicy = take(p).map_err(|m| err(&e, m))?;
            let text = policy_text(p.document, p.file, base).map_err(|m| err(&e, m))?;
            let doc = PolicyDoc::parse(&text, PolicyKind::Identity)
                .map_err(|pe| err(&e, format!("unparsable policy '{}': {pe}", p.name)))?;
            policies.push(NamedPolicy {
                name: p.name,
                doc: Arc::new(doc),
            });
        }
        let (trust_policy, max_session_duration) = match kind {
            IdentityKind::Role => {
                let e = format!("{entry}.trust_policy");
                if r.trust_policy.is_none() && r.trust_policy_file.is_none() {
                    return Err(err(
                        &e,
                        "a role needs a trust_policy (or trust_policy_file)".into(),
                    ));
                }
                let text = policy_text(r.trust_policy, r.trust_policy_file, base)
                    .map_err(|m| err(&e, m))?;
                let doc = PolicyDoc::parse(&text, PolicyKind::Trust)
                    .map_err(|pe| err(&e, format!("unparsable trust policy: {pe}")))?;
                let max = r.max_session_duration.unwrap_or(3600);
                if !(SESSION_MIN..=SESSION_MAX).contains(&max) {
                    return Err(err(
                        &format!("{entry}.max_session_duration"),
                        format!("{max} is outside {SESSION_MIN}..={SESSION_MAX} seconds"),
                    ));
                }
                (Some(Arc::new(doc)), max)
            }
            _ => {
                if r.trust_policy.is_some()
                    || r.trust_policy_file.is_some()
                    || r.max_session_duration.is_some()
                {
                    return Err(err(
                        entry,
                        "trust_policy and max_session_duration are for roles only".into(),
                    ));
                }
                (None, 0)
            }
        };
        let prefix = if kind == IdentityKind::User {
            "AIDA"
        } else {
            "AROA"
        };
        let identity = Arc::new(Identity {
            kind,
            partition,
            account: r.account.clone(),
            unique_id: unique_id(prefix, &derived),
            name,
            path,
            arn: derived.clone(),
            tags: r.tags,
            policies,
            trust_policy,
            max_session_duration,
            context_base: Default::default(),
        });
        if kind == IdentityKind::Role && !r.access_keys.is_empty() {
            return Err(err(
                &format!("{entry}.access_keys"),
                "roles have no access keys: callers assume them (sts:AssumeRole)".into(),
            ));
        }
        for (i, k) in r.access_keys.into_iter().enumerate() {
            let e = format!("{entry}.access_keys[{i}]");
            self.add_key(&identity, k, &e, key_owner)
                .map_err(|m| err(&e, m))?;
        }
        self.by_arn.insert(derived, identity);
        Ok(())
    }

    fn add_key(
        &mut self,
        identity: &Arc<Identity>,
        raw: toml::Value,
        entry: &str,
        key_owner: &mut HashMap<String, String>,
    ) -> Result<(), String> {
        let k: RawKey = take(raw)?;
        let secret = Secret::new(k.secret);
        if !valid_access_key_id(&k.id) {
            return Err(format!(
                "bad access key id '{}': 16 to 128 upper-case letters and digits",
                k.id
            ));
        }
        if secret.expose().is_empty() || secret.expose().contains(char::is_whitespace) {
            return Err("the secret is empty or contains white space".into());
        }
        if let Some(other) = key_owner.get(&k.id) {
            return Err(format!("duplicate access key id {} (also {other})", k.id));
        }
        key_owner.insert(k.id.clone(), entry.to_string());
        self.by_access_key.insert(k.id, (identity.clone(), secret));
        Ok(())
    }

    /// The identity and secret an access key id belongs to.
    pub fn by_access_key(&self, id: &str) -> Option<(&Arc<Identity>, &Secret)> {
        self.by_access_key.get(id).map(|(i, s)| (i, s))
    }

    /// A user, role or account root by ARN.
    pub fn by_arn(&self, arn: &str) -> Option<&Arc<Identity>> {
        self.by_arn.get(arn)
    }

    /// The root user of a declared account.
    pub fn root(&self, account: &str) -> Option<&Arc<Identity>> {
        let partition = self.accounts.get(account)?;
        self.by_arn
            .get(&format!("arn:{partition}:iam::{account}:root"))
    }

    /// The IAM users and roles of `account` whose ARNs are in `partition`, sorted by ARN
    /// (the web console's administrator and user pickers).
    pub fn users_and_roles(&self, account: &str, partition: &str) -> Vec<&Arc<Identity>> {
        let mut out: Vec<&Arc<Identity>> = self
            .by_arn
            .values()
            .filter(|i| {
                matches!(i.kind, IdentityKind::User | IdentityKind::Role)
                    && i.account == account
                    && i.partition == partition
            })
            .collect();
        out.sort_by(|a, b| a.arn.cmp(&b.arn));
        out
    }

    /// Declared account ids.
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.accounts.keys().map(String::as_str)
    }

    /// How many users and roles (for the startup line).
    pub fn counts(&self) -> (usize, usize, usize) {
        let users = self
            .by_arn
            .values()
            .filter(|i| i.kind == IdentityKind::User)
            .count();
        let roles = self
            .by_arn
            .values()
            .filter(|i| i.kind == IdentityKind::Role)
            .count();
        (self.accounts.len(), users, roles)
    }

    /// Whether a principal named in a key policy exists (strict mode refuses key policies
    /// naming unknown principals, as AWS does): a declared account, user or role; an
    /// assumed-role ARN whose role exists.
    pub fn exists(&self, p: &PrincipalArn) -> bool {
        match p {
            PrincipalArn::Account { account, .. } => self.accounts.contains_key(account),
            PrincipalArn::User { .. } | PrincipalArn::Role { .. } => {
                self.by_arn.contains_key(&p.to_arn())
            }
            PrincipalArn::AssumedRole {
                account, role_name, ..
            } => self.by_arn.values().any(|i| {
                i.kind == IdentityKind::Role && &i.account == account && &i.name == role_name
            }),
        }
    }
}

/// Deserialises one entry, turning serde's message into the problem text.
fn take<T: for<'de> Deserialize<'de>>(mut v: toml::Value) -> Result<T, String> {
    let out = v
        .clone()
        .try_into::<T>()
        .map_err(|e| e.message().to_string());
    wipe(&mut v);
    out
}

/// Overwrites every string in a TOML value (the copies of secrets it may hold).
fn wipe(v: &mut toml::Value) {
    match v {
        toml::Value::String(s) => s.zeroize(),
        toml::Value::Array(a) => a.iter_mut().for_each(wipe),
        toml::Value::Table(t) => wipe_table(t),
        _ => {}
    }
}

fn wipe_table(t: &mut toml::Table) {
    for (_, v) in t.iter_mut() {
        wipe(v);
    }
}

fn policy_text(
    inline: Option<String>,
    file: Option<String>,
    base: &Path,
) -> Result<String, String> {
    match (inline, file) {
        (Some(t), None) => Ok(t),
        (None, Some(f)) => {
            let path = base.join(&f);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read policy file {}: {e}", path.display()))
        }
        (Some(_), Some(_)) => Err("give the policy inline or as a file, not both".into()),
        (None, None) => Err("the policy needs a document (inline) or a file".into()),
    }
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

fn valid_path(s: &str) -> bool {
    s.starts_with('/')
        && s.ends_with('/')
        && s.len() <= 512
        && !s.contains("//")
        && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

fn valid_access_key_id(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A stable unique id (`AIDA` / `AROA` + 17 characters) derived from the ARN, so it is
/// the same on every start.
pub fn unique_id(prefix: &str, arn: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(arn.as_bytes());
    let mut out = String::from(prefix);
    for b in digest.iter().take(17) {
        out.push(ALPHABET[(*b & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#;
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}}"#;

    fn good() -> String {
        format!(
            r#"
[accounts.111122223333]
name = "main"
[[accounts.111122223333.access_keys]]
id = "AKIAROOT000000000001"
secret = "root-secret"

[accounts.444455556666]

[users.alice]
account = "111122223333"
path = "/engineering/"
tags = {{ team = "payments" }}
[[users.alice.access_keys]]
id = "AKIAALICE00000000001"
secret = "alice-secret"
[[users.alice.policies]]
name = "all"
document = '{POLICY}'

[users.alice-other]
name = "alice"
account = "444455556666"

[roles.app]
account = "111122223333"
trust_policy = '{TRUST}'
max_session_duration = 7200
"#
        )
    }

    fn parse(text: &str) -> Result<Principals, PrincipalsError> {
        Principals::parse(text, Path::new("."), "principals.toml")
    }

    fn problem(text: &str) -> (String, String) {
        let e = parse(text).expect_err("refused");
        (e.entry, e.problem)
    }

    #[test]
    fn a_good_file_declares_accounts_users_and_roles() {
        let p = parse(&good()).expect("parses");
        assert_eq!(p.counts(), (2, 2, 1));
        let (alice, secret) = p.by_access_key("AKIAALICE00000000001").expect("key");
        assert_eq!(
            alice.arn,
            "arn:aws:iam::111122223333:user/engineering/alice"
        );
        assert_eq!(secret.expose(), "alice-secret");
        assert_eq!(alice.tags.get("team").map(String::as_str), Some("payments"));
        assert_eq!(alice.policies.len(), 1);
        assert!(alice.unique_id.starts_with("AIDA") && alice.unique_id.len() == 21);
        let (root, _) = p.by_access_key("AKIAROOT000000000001").expect("root key");
        assert_eq!(root.kind, IdentityKind::Root);
        assert_eq!(root.arn, "arn:aws:iam::111122223333:root");
        let other = p
            .by_arn("arn:aws:iam::444455556666:user/alice")
            .expect("same name, other account");
        assert_eq!(other.account, "444455556666");
        let app = p
            .by_arn("arn:aws:iam::111122223333:role/app")
            .expect("role");
        assert_eq!(app.max_session_duration, 7200);
        assert!(app.trust_policy.is_some());
        assert!(app.unique_id.starts_with("AROA"));
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let p = parse(&good()).expect("parses");
        let printed = format!("{p:?}");
        assert!(!printed.contains("alice-secret"));
        assert!(!printed.contains("root-secret"));
        assert!(printed.contains("Secret(***)"));
    }

    #[test]
    fn existence_of_policy_principals() {
        let p = parse(&good()).expect("parses");
        let exists = |s: &str| p.exists(&PrincipalArn::parse(s).expect("principal"));
        assert!(exists("111122223333"));
        assert!(exists("arn:aws:iam::111122223333:user/engineering/alice"));
        assert!(exists(
            "arn:aws:sts::111122223333:assumed-role/app/any-session"
        ));
        assert!(!exists("arn:aws:iam::111122223333:user/alice"));
        assert!(!exists("999988887777"));
    }

    #[test]
    fn a_duplicate_access_key_id_names_both_entries() {
        let text = good().replace("AKIAALICE00000000001", "AKIAROOT000000000001");
        let (entry, problem) = problem(&text);
        assert_eq!(entry, "users.alice.access_keys[0]");
        assert!(
            problem.contains("duplicate access key id AKIAROOT000000000001"),
            "{problem}"
        );
        assert!(
            problem.contains("accounts.111122223333.access_keys[0]"),
            "{problem}"
        );
    }

    #[test]
    fn a_bad_arn_says_what_it_should_be() {
        let text = good().replace(
            "path = \"/engineering/\"",
            "path = \"/engineering/\"\narn = \"arn:aws:iam::111122223333:user/alice\"",
        );
        let (entry, problem) = problem(&text);
        assert_eq!(entry, "users.alice.arn");
        assert!(
            problem.contains("arn:aws:iam::111122223333:user/engineering/alice"),
            "{problem}"
        );
    }

    #[test]
    fn an_unparsable_policy_carries_the_policy_error() {
        let text = good().replace(
            r#""Action":"kms:*","Resource":"*"}}"#,
            r#""Resource":"*"}}"#,
        );
        let (entry, problem) = problem(&text);
        assert_eq!(entry, "users.alice.policies[0]");
        assert!(problem.contains("unparsable policy 'all'"), "{problem}");
        assert!(
            problem.contains("Policy statement must contain actions."),
            "{problem}"
        );
    }

    #[test]
    fn an_unknown_field_is_named() {
        let text = good().replace(
            "secret = \"alice-secret\"",
            "secret = \"alice-secret\"\nsekret = 1",
        );
        let (entry, what) = problem(&text);
        assert_eq!(entry, "users.alice.access_keys[0]");
        assert!(what.contains("unknown field `sekret`"), "{what}");
        let (entry, what) = problem(&format!("{}\n[groups.x]\n", good()));
        assert_eq!(entry, "(top level)");
        assert!(what.contains("groups"), "{what}");
    }

    #[test]
    fn other_faults_name_their_entry() {
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "account = \"111122223333\"\npath",
                "account = \"999999999999\"\npath",
                "users.alice.account",
                "not declared",
            ),
            (
                "[accounts.444455556666]",
                "[accounts.4444]",
                "accounts.4444",
                "12 digits",
            ),
            (
                "id = \"AKIAALICE00000000001\"",
                "id = \"akia-short\"",
                "users.alice.access_keys[0]",
                "bad access key id",
            ),
            (
                "secret = \"alice-secret\"",
                "secret = \"\"",
                "users.alice.access_keys[0]",
                "empty",
            ),
            (
                "max_session_duration = 7200",
                "max_session_duration = 60",
                "roles.app.max_session_duration",
                "outside",
            ),
            (
                "path = \"/engineering/\"",
                "path = \"engineering\"",
                "users.alice.path",
                "bad path",
            ),
        ];
        for (from, to, entry, words) in cases {
            let (e, p) = problem(&good().replacen(from, to, 1));
            assert_eq!(&e, entry, "{to}");
            assert!(p.contains(words), "{to}: {p}");
        }
        let no_trust = good().replace(&format!("trust_policy = '{TRUST}'\n"), "");
        let (e, p) = problem(&no_trust);
        assert_eq!(e, "roles.app.trust_policy");
        assert!(p.contains("needs a trust_policy"));
    }

    #[test]
    fn policy_files_are_read_relative_to_the_principals_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("policies")).expect("mkdir");
        std::fs::write(dir.path().join("policies/all.json"), POLICY).expect("write");
        let text = good().replace(
            &format!("document = '{POLICY}'"),
            "file = \"policies/all.json\"",
        );
        let path = dir.path().join("principals.toml");
        std::fs::write(&path, text).expect("write");
        let p = Principals::load(&path).expect("loads");
        assert_eq!(p.source.as_deref(), Some(path.as_path()));
        let alice = p
            .by_arn("arn:aws:iam::111122223333:user/engineering/alice")
            .expect("alice");
        assert_eq!(alice.policies[0].name, "all");
        std::fs::remove_file(dir.path().join("policies/all.json")).expect("rm");
        let e = Principals::load(&path).expect_err("missing policy file");
        assert_eq!(e.entry, "users.alice.policies[0]");
        assert!(e.problem.contains("cannot read policy file"));
    }

    #[test]
    fn the_documented_example_file_loads() {
        let doc = include_str!("../../docs/access-control.md");
        // The principals file example (the first block is the server's configuration).
        let start = doc.find("```toml\n[accounts.").expect("the example") + "```toml\n".len();
        let end = start + doc[start..].find("```").expect("its end");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("policies")).expect("mkdir");
        std::fs::write(dir.path().join("policies/admin.json"), POLICY).expect("write");
        let path = dir.path().join("principals.toml");
        std::fs::write(&path, &doc[start..end]).expect("write");
        let p = Principals::load(&path).expect("the documented example loads");
        assert_eq!(p.counts(), (2, 1, 1));
        let (alice, _) = p
            .by_access_key("AKIAALICE00000000001")
            .expect("alice's key");
        assert_eq!(
            alice.arn,
            "arn:aws:iam::111122223333:user/engineering/alice"
        );
        assert_eq!(alice.policies.len(), 2);
    }
}
