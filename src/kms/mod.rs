//! The KMS service: the [`service::Kms`] state every operation works on (the in-memory
//! view of keys and aliases that reads are served from, written through to the store by
//! [`service::Kms::commit`]), one file per operation under [`operations`] run by
//! [`dispatch`], the rule tables ([`key_state`], [`key_spec`]), the ciphertext format, and
//! the durable background jobs.
//!
//! This file only declares the modules: each item is imported from the file that
//! defines it, so the module graph stays free of cycles (`scripts/check-layers`).

pub mod access;
pub mod asymmetric;
pub mod authorization;
pub mod ciphertext;
pub mod dispatch;
pub mod encryption_budget;
pub mod encryption_context;
pub mod error;
pub mod generation;
pub mod grant_index;
pub mod grants;
pub mod import;
pub mod job_retries;
pub mod jobs;
pub mod key_metadata;
pub mod key_slots;
pub mod key_spec;
pub mod key_state;
pub mod material;
pub mod multi_region;
pub mod operation;
pub mod operations;
pub mod policy;
pub mod quotas;
pub mod rotation;
pub mod service;
pub mod session_seal;
pub mod symmetric;
pub mod tags;
pub mod validate;
pub mod wire;
