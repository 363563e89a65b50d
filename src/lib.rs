//! hsm-kms: the AWS Key Management Service API with every key held in a real PKCS#11
//! token, one token per simulated AWS Region.
//!
//! The layers, from the wire inwards (dependencies point downwards only; `scripts/check-layers`
//! keeps it so):
//! - [`api`]: HTTP, the AWS JSON 1.1 protocol, SigV4 credential scope, error → JSON
//!   mapping.
//! - [`authz`]: principals, SigV4 verification, the IAM policy language and KMS's
//!   authorization rules (key policies, IAM policies, grants).
//! - [`kms`]: the service itself — one file per KMS operation under `kms/operations/`, the
//!   dispatcher that validates against the service model and runs them, the key-state
//!   table, the ciphertext format, background jobs.
//! - [`cloudformation`]: CloudFormation stacks of KMS resources, over the KMS service
//!   (beside `kms`: it calls KMS only through `kms::dispatch::invoke`).
//! - [`console`]: the web console (server-rendered pages under `/console/`), which runs
//!   every read and action through the KMS entry point (`kms::dispatch::invoke`), as the
//!   API does.
//! - [`store`]: durable metadata (SQLite) behind a narrow trait.
//! - [`hsm`]: PKCS#11 tokens (one per Region), sessions, object handles, templates.
//! - [`domain`]: the shared data model (Regions, ids and ARNs, wire enums, records,
//!   timestamps, the request context), depending on nothing of ours.
//!
//! Only what the command line (`main.rs`) and the integration tests use is public
//! ([`config`], [`server`], [`hsm`], [`domain::region`]); everything else is crate-private,
//! so the compiler reports what nothing uses.

pub(crate) mod api;
pub(crate) mod audit;
// Public until the request path calls it (access control, second step).
pub mod authz;
pub(crate) mod clock;
pub(crate) mod cloudformation;
pub mod config;
pub(crate) mod console;
pub(crate) mod data_dir;
pub mod domain;
pub mod hsm;
pub(crate) mod kms;
pub mod server;
pub(crate) mod store;
