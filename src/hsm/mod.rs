//! The PKCS#11 backend: one token per served Region, found by label.
//!
//! This module owns everything that talks to the PKCS#11 module; nothing above it sees a
//! PKCS#11 type. One file per concern:
//!
//! - [`Hsm`] (here): loads the module once per process, opens every Region's token and
//!   sets up key transport; [`setup`]: the SoftHSM2 configuration, `hsm-kms init` and
//!   `hsm-kms rotate-pins`; [`slots`]: finding a Region's token by label and creating it;
//!   [`pins`]: the user and SO PINs (generated, kept in the data directory, rotated);
//! - [`token`]: one Region's token — sessions, the label → handle map, session-object
//!   copies of key material, generic primitives; [`capabilities`]: what the token can do,
//!   probed once at open and kept with it;
//! - declarations: [`algorithms`] (curves, hashes, schemes, import kinds), [`mechanisms`]
//!   (which PKCS#11 mechanism runs each), [`templates`] (every object template),
//!   [`encoding`] (SubjectPublicKeyInfo, PKCS#8, EC points, ECDSA signatures), [`errors`]
//!   ([`HsmError`] and what each PKCS#11 return value means); [`raw`]: the array
//!   attributes cryptoki cannot express (unwrap and wrap templates), the only `unsafe`;
//! - host-side helpers: [`oaep`] (OAEP decoding where the token lacks SHA-256),
//!   [`ec_points`] (public-key recovery of imported EC keys), [`readers`] (key values out
//!   of objects);
//! - operations: [`aes_gcm`], [`generate`], [`sign_verify`], [`mac`], [`rsa_decrypt`],
//!   [`ecdh`], [`data_key_pair`], [`import`], [`transport`], [`sealing`] (the grant-token
//!   key).

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
pub mod pin_change;
pub mod pins;
pub(crate) mod raw;
pub mod readers;
pub mod rsa_decrypt;
pub mod sealing;
pub mod setup;
pub mod sign_verify;
pub mod slots;
pub mod templates;
pub mod token;
pub mod transport;

use std::collections::HashMap;
use std::sync::Arc;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};

use crate::config::{Config, Pin};
use crate::domain::region::Region;
pub use algorithms::{
    Curve, Hash, MaterialKind, OaepHash, PairKind, PairUsage, SignScheme, WrappingAlgorithm,
};
pub use capabilities::Capabilities;
pub use errors::{is_unsupported, EncodingError, HsmError, ImportError};
pub use pins::Pins;
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
    /// each partition ([`transport::ensure`]). The PINs are the configured ones, or those
    /// kept in (and on a first start generated into) `<data dir>/pins` ([`pins`]); the SO
    /// PIN is dropped (zeroised) before this returns.
    pub fn open(config: &Config) -> Result<Hsm, HsmError> {
        let pins = Pins::load_or_create(
            &config.data_dir,
            config.user_pin.clone(),
            config.so_pin.clone(),
        )?;
        Hsm::open_with(config, pins)
    }

    /// [`Hsm::open`] with these PINs (consumed: the SO PIN does not outlive the setup).
    pub fn open_with(config: &Config, pins: Pins) -> Result<Hsm, HsmError> {
        let ctx = Pkcs11::new(&config.pkcs11_module).map_err(|source| HsmError::ModuleLoad {
            path: config.pkcs11_module.clone(),
            source,
        })?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(|source| HsmError::Initialize { source })?;
        let raw =
            Arc::new(raw::ArrayCalls::load(&config.pkcs11_module).map_err(HsmError::ArrayCalls)?);
        let mut tokens = HashMap::new();
        for region in &config.regions {
            let (slot, created) = slots::ensure_token(&ctx, *region, &pins.so, &pins.user)?;
            if !created {
                pin_change::check_token(&ctx, slot, *region, &pins)?;
            }
            let token = RegionToken::open(&ctx, raw.clone(), *region, slot, &pins.user)?;
            tokens.insert(*region, Arc::new(token));
        }
        let hsm = Hsm {
            _ctx: ctx,
            regions: config.regions.clone(),
            tokens,
        };
        hsm.ensure_transport(&pins.so)?;
        drop(pins);
        // Imported key material: the import-token sealing keys; grants: the grant-token
        // sealing keys.
        for token in hsm.tokens.values() {
            token.prepare_import()?;
            token.prepare_grant_tokens()?;
        }
        Ok(hsm)
    }

    /// Sets up key transport ([`transport::ensure`]): creates the transport objects that
    /// are missing or stale and this start's key-encryption keys (session objects).
    /// [`Hsm::open`] runs it; running it again (new KEKs) is for tests. Each token's
    /// Security Officer logs in once and its user is logged out meanwhile, so nothing else
    /// may use the tokens while this runs.
    pub fn ensure_transport(&self, so_pin: &Pin) -> Result<TransportSetup, HsmError> {
        let started = std::time::Instant::now();
        let report = transport::ensure(&self.tokens, &self.regions, so_pin)?;
        tracing::info!(
            key_pairs_generated = report.key_pairs_generated,
            public_keys_trusted = report.public_keys_trusted,
            keks_generated = report.keks_generated,
            keks_delivered = report.keks_delivered,
            former_keks_destroyed = report.former_keks_destroyed,
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

    /// Exists for tests and for learning: [`transport::try_unwrap_readable`] from `from`'s
    /// token to `to`'s.
    pub fn try_unwrap_readable(
        &self,
        from: Region,
        to: Region,
        label: &str,
    ) -> Result<(), HsmError> {
        let served = |region: Region| self.tokens.get(&region).ok_or(HsmError::NotServed(region));
        transport::try_unwrap_readable(served(from)?, served(to)?, label)
    }

    /// The token of a served Region.
    pub fn token(&self, region: Region) -> Option<&Arc<RegionToken>> {
        self.tokens.get(&region)
    }
}
