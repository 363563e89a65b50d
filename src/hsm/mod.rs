//! The PKCS#11 backend: one token per served Region, found by label.
//!
//! This module owns everything that talks to the PKCS#11 module; nothing above it sees a
//! PKCS#11 type. One file per concern:
//!
//! - [`Hsm`] (here): loads the module once per process, opens every Region's token and
//!   sets up key transport; [`setup`]: the SoftHSM2 configuration and `hsm-kms init`;
//!   [`slots`]: finding a Region's token by label and creating it;
//! - [`token`]: one Region's token — sessions, the label → handle map, session-object
//!   copies of key material, generic primitives; [`capabilities`]: what the token can do,
//!   probed once at open and kept with it;
//! - declarations: [`algorithms`] (curves, hashes, schemes, import kinds), [`mechanisms`]
//!   (which PKCS#11 mechanism runs each), [`templates`] (every object template),
//!   [`encoding`] (SubjectPublicKeyInfo, PKCS#8, EC points, ECDSA signatures), [`errors`]
//!   ([`HsmError`] and what each PKCS#11 return value means);
//! - host-side helpers: [`oaep`] (OAEP decoding where the token lacks SHA-256),
//!   [`ec_points`] (public-key recovery of imported EC keys), [`readers`] (key values out
//!   of objects);
//! - operations: [`aes_gcm`], [`generate`], [`sign_verify`], [`mac`], [`rsa_decrypt`],
//!   [`ecdh`], [`data_key_pair`], [`import`], [`transport`].

pub mod aes_gcm;
pub mod algorithms;
pub mod capabilities;
pub mod data_key_pair;
pub mod ec_points;
pub mod ecdh;
pub mod encoding;
pub mod errors;
pub mod generate;
pub mod import;
pub mod mac;
pub mod mechanisms;
pub mod oaep;
pub mod readers;
pub mod rsa_decrypt;
pub mod setup;
pub mod sign_verify;
pub mod slots;
pub mod templates;
pub mod token;
pub mod transport;

use std::collections::HashMap;
use std::sync::Arc;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};

use crate::config::Config;
use crate::kms::region::Region;
pub use algorithms::{
    Curve, Hash, MaterialKind, OaepHash, PairKind, PairUsage, SignScheme, WrappingAlgorithm,
};
pub use capabilities::Capabilities;
pub use errors::{is_unsupported, EncodingError, HsmError, ImportError};
pub use templates::Extractability;
pub use token::{AttributeAccess, RegionToken};
pub use transport::TransportSetup;

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
        let ctx = Pkcs11::new(&config.pkcs11_module).map_err(|source| HsmError::ModuleLoad {
            path: config.pkcs11_module.clone(),
            source,
        })?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(|source| HsmError::Initialize { source })?;
        let mut tokens = HashMap::new();
        for region in &config.regions {
            let slot = slots::ensure_token(&ctx, *region, &config.so_pin, &config.user_pin)?;
            let token = RegionToken::open(&ctx, *region, slot, &config.user_pin)?;
            tokens.insert(*region, Arc::new(token));
        }
        let hsm = Hsm {
            _ctx: ctx,
            regions: config.regions.clone(),
            tokens,
        };
        hsm.ensure_transport(&config.so_pin)?;
        // Imported key material: the import-token sealing keys.
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
        let served = |region: Region| self.tokens.get(&region).ok_or(HsmError::NotServed(region));
        transport::replicate(served(from)?, served(to)?, label)
    }

    /// The token of a served Region.
    pub fn token(&self, region: Region) -> Option<&Arc<RegionToken>> {
        self.tokens.get(&region)
    }
}
