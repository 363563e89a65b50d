//! The PKCS#11 backend: one token per served Region, found by label.
//!
//! This module owns everything that talks to the PKCS#11 module: loading it once per
//! process ([`Hsm::open`]), creating missing Region tokens ([`setup`]), the per-token
//! session pool and object-handle map ([`token::RegionToken`]), and the object templates
//! key material is created with. Nothing above this module sees a PKCS#11 type.

pub mod setup;
pub mod token;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};

use crate::config::Config;
use crate::kms::region::Region;
pub use token::RegionToken;

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
        }
    }
}

impl std::error::Error for HsmError {}

/// The process's PKCS#11 context and its Region tokens.
pub struct Hsm {
    _ctx: Pkcs11,
    tokens: HashMap<Region, Arc<RegionToken>>,
}

impl Hsm {
    /// Loads the module, initialises it (once per process), creates missing tokens and
    /// logs in to each served Region's token.
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
        Ok(Hsm { _ctx: ctx, tokens })
    }

    /// The token of a served Region.
    pub fn token(&self, region: Region) -> Option<&Arc<RegionToken>> {
        self.tokens.get(&region)
    }
}
