//! The AES-GCM nonce budget. Symmetric encryption uses AES-256-GCM with a random 96-bit
//! IV per ciphertext; NIST SP 800-38D allows 2^32 encryptions under one key that way
//! (beyond, the chance of a repeated IV — which reveals the GCM authentication key — is
//! no longer negligible). At hsm-kms's speed one hot key would reach that in hours.
//!
//! hsm-kms counts encryptions per key material (the count is per material id, so the
//! copies of a multi-Region key's material in every Region share it) and:
//! - at half the budget (`encryptions_per_key_material`, default 4,000,000,000, below
//!   2^32) rotates the key automatically, as an AUTOMATIC rotation of the key (for a
//!   multi-Region key, of its primary), when the key can rotate (AWS_KMS origin); new
//!   material starts a new count and old ciphertexts keep decrypting;
//! - at the budget refuses to encrypt under that material (LimitExceededException): a key
//!   with imported material must get new material (ImportKeyMaterial NEW_KEY_MATERIAL,
//!   then RotateKeyOnDemand).
//!
//! Durable and cheap: a count is reserved in blocks (a thousandth of the budget, at most
//! 2^20 encryptions) written to the metadata store before any encryption of the block
//! happens; after a crash the count resumes at the end of the last reserved block, so it
//! can only over-count. Deriving a fresh key per ciphertext inside the token would avoid
//! the bound altogether, but SoftHSM 2.6.1 offers no KDF that the allowed-mechanisms
//! policy of AES material admits, and a derivation per call would cost a token object
//! creation per Encrypt.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::error::{ErrorKind, KmsError, KmsResult};
use crate::domain::key::KeyRecord;
use crate::domain::write::Write;

/// The count of one key material.
struct Counter {
    /// Encryptions taken (may run ahead of `reserved` only while a block is reserved).
    used: AtomicU64,
    /// Encryptions durably reserved.
    reserved: AtomicU64,
    /// Serialises the reservation of the next block.
    reserving: Mutex<()>,
    /// The automatic rotation has been asked for (this run).
    rotation_asked: AtomicBool,
}

/// Encryptions counted per key material.
pub struct Budget {
    limit: u64,
    block: u64,
    counters: RwLock<HashMap<String, Arc<Counter>>>,
}

impl Budget {
    /// A budget of `limit` encryptions per material, resuming the `reserved` counts of the
    /// store.
    pub fn new(limit: u64, reserved: Vec<(String, u64)>) -> Budget {
        let counters = reserved
            .into_iter()
            .map(|(id, n)| {
                let counter = Counter {
                    used: AtomicU64::new(n),
                    reserved: AtomicU64::new(n),
                    reserving: Mutex::new(()),
                    rotation_asked: AtomicBool::new(false),
                };
                (id, Arc::new(counter))
            })
            .collect();
        Budget {
            limit: limit.max(2),
            block: (limit / 1000).clamp(1, 1 << 20),
            counters: RwLock::new(counters),
        }
    }

    fn counter(&self, material_id: &str) -> Arc<Counter> {
        if let Some(c) = self.counters.read().get(material_id) {
            return c.clone();
        }
        self.counters
            .write()
            .entry(material_id.to_string())
            .or_insert_with(|| {
                Arc::new(Counter {
                    used: AtomicU64::new(0),
                    reserved: AtomicU64::new(0),
                    reserving: Mutex::new(()),
                    rotation_asked: AtomicBool::new(false),
                })
            })
            .clone()
    }

    /// Takes one encryption under `material_id` of `key`: refused past the budget; the
    /// block reserved durably first (`commit` writes it to the store) when it is used up.
    /// `Ok(true)` once per run, when the material reaches half its budget: the caller asks
    /// for the key's rotation.
    pub fn take(
        &self,
        key: &KeyRecord,
        material_id: &str,
        commit: impl FnOnce(Write) -> KmsResult<()>,
    ) -> KmsResult<bool> {
        let counter = self.counter(material_id);
        let n = counter.used.fetch_add(1, Ordering::AcqRel) + 1;
        if n > self.limit {
            counter.used.fetch_sub(1, Ordering::AcqRel);
            return Err(KmsError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "The key material {material_id} of {} has been used for {} encryptions, the limit for AES-GCM with random IVs. Rotate the key to encrypt with new key material (for imported key material: import new key material, then RotateKeyOnDemand).",
                    key.arn(),
                    self.limit
                ),
            ));
        }
        if n > counter.reserved.load(Ordering::Acquire) {
            let _one = counter.reserving.lock();
            let reserved = counter.reserved.load(Ordering::Acquire);
            if n > reserved {
                let next = reserved.saturating_add(self.block).max(n).min(self.limit);
                commit(Write::ReserveEncryptions {
                    material_id: material_id.to_string(),
                    reserved: next,
                })
                .inspect_err(|_| {
                    counter.used.fetch_sub(1, Ordering::AcqRel);
                })?;
                counter.reserved.store(next, Ordering::Release);
            }
        }
        Ok(n >= self.limit / 2 && !counter.rotation_asked.swap(true, Ordering::AcqRel))
    }
}
