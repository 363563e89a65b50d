//! The PKCS#11 backend: one token per served Region, found by label.
//!
//! This module owns everything that talks to the PKCS#11 module: loading it once per
//! process ([`Hsm::open`]), creating missing Region tokens ([`setup`]), the per-token
//! session pool and object-handle map ([`token::RegionToken`]), the object templates
//! key material is created with, and key transport between the tokens of one partition
//! ([`transport`]). Nothing above this module sees a PKCS#11 type.

pub mod asymmetric;
pub mod import;
pub mod setup;
pub mod token;
pub mod transport;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};

use crate::config::Config;
use crate::domain::region::Region;
pub use token::{AttributeAccess, RegionToken};
pub use transport::TransportSetup;

/// What went wrong in the token layer.
#[derive(Debug)]
pub enum HsmError {
    /// A PKCS#11 call failed.
    Pkcs11 {
        call: &'static str,
        region: String,
        error: cryptoki::error::Error,
    },
    /// The module could not be loaded or initialised.
    Module(String),
    /// No token with this Region's label, and none could be created.
    Token(String),
    /// The token has no object for this key material.
    MissingObject(String),
    /// An AES-GCM tag did not verify (wrong key, context or tampered data).
    AuthenticationFailed,
    /// Key material never travels between these Regions: they are in different
    /// partitions, so no transport keys link their tokens.
    NoTransport { from: Region, to: Region },
    /// The object is not multi-Region material (material that may leave its token only
    /// wrapped under a trusted key), so it is never copied to another token.
    NotReplicable(String),
}

impl fmt::Display for HsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HsmError::Pkcs11 {
                call,
                region,
                error,
            } => write!(f, "PKCS#11 {call} failed in the {region} token: {error}"),
            HsmError::Module(m) => write!(f, "PKCS#11 module: {m}"),
            HsmError::Token(m) => write!(f, "token: {m}"),
            HsmError::MissingObject(label) => {
                write!(f, "the token holds no object labelled {label}")
            }
            HsmError::AuthenticationFailed => write!(f, "AES-GCM authentication failed"),
            HsmError::NoTransport { from, to } => write!(
                f,
                "no key transport from {from} to {to}: they are in different partitions \
                 ({} and {}), which never share key material",
                from.partition().as_str(),
                to.partition().as_str()
            ),
            HsmError::NotReplicable(label) => write!(
                f,
                "the object labelled {label} is not multi-Region material and never leaves \
                 its token"
            ),
        }
    }
}

impl std::error::Error for HsmError {}

/// The process's PKCS#11 context and its Region tokens.
pub struct Hsm {
    _ctx: Pkcs11,
    /// The served Regions, in configuration order.
    regions: Vec<Region>,
    tokens: HashMap<Region, Arc<RegionToken>>,
}

impl Hsm {
    /// Loads the module, initialises it (once per process), creates missing tokens, logs
    /// in to each served Region's token and sets up key transport between the tokens of
    /// each partition ([`transport::ensure`]).
    pub fn open(config: &Config) -> Result<Hsm, HsmError> {
        let ctx = Pkcs11::new(&config.pkcs11_module).map_err(|e| {
            HsmError::Module(format!(
                "cannot load {}: {e} (is SoftHSM2 installed? scripts/run installs it)",
                config.pkcs11_module.display()
            ))
        })?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(|e| HsmError::Module(format!("C_Initialize: {e}")))?;
        let mut tokens = HashMap::new();
        for region in &config.regions {
            let slot = setup::ensure_token(&ctx, *region, &config.so_pin, &config.user_pin)?;
            let token = RegionToken::open(&ctx, *region, slot, &config.user_pin)?;
            tokens.insert(*region, Arc::new(token));
        }
        let hsm = Hsm {
            _ctx: ctx,
            regions: config.regions.clone(),
            tokens,
        };
        hsm.ensure_transport(&config.so_pin)?;
        // Imported key material: probe the unwrap mechanisms, create the import-token keys.
        for token in hsm.tokens.values() {
            token.prepare_import()?;
        }
        Ok(hsm)
    }

    /// Creates whatever key-transport objects are missing or stale (idempotent; see
    /// [`transport`]). [`Hsm::open`] runs it; running it again is for tests. When a
    /// token's Security Officer has work to do, that token's user is logged out meanwhile,
    /// so nothing else may use the tokens while this runs.
    pub fn ensure_transport(&self, so_pin: &str) -> Result<TransportSetup, HsmError> {
        let started = std::time::Instant::now();
        let report = transport::ensure(&self.tokens, &self.regions, so_pin)?;
        tracing::info!(
            key_pairs_generated = report.key_pairs_generated,
            public_keys_trusted = report.public_keys_trusted,
            keks_generated = report.keks_generated,
            keks_delivered = report.keks_delivered,
            ms = started.elapsed().as_millis() as u64,
            "key transport ready"
        );
        Ok(report)
    }

    /// Copies multi-Region key material `label` from `from`'s token into `to`'s, wrapped
    /// under the pair's key-encryption key: its plaintext never leaves the tokens. Does
    /// nothing when `to` already holds `label`. Fails with [`HsmError::NoTransport`] across
    /// partitions and [`HsmError::NotReplicable`] for material that is not multi-Region.
    pub fn replicate_material(
        &self,
        from: Region,
        to: Region,
        label: &str,
    ) -> Result<(), HsmError> {
        if from.partition() != to.partition() {
            return Err(HsmError::NoTransport { from, to });
        }
        let served = |region: Region| {
            self.tokens
                .get(&region)
                .ok_or_else(|| HsmError::Token(format!("Region {region} is not served")))
        };
        transport::replicate(served(from)?, served(to)?, label)
    }

    /// The token of a served Region.
    pub fn token(&self, region: Region) -> Option<&Arc<RegionToken>> {
        self.tokens.get(&region)
    }
}
