//! hsm-kms: the AWS Key Management Service API with every key held in a real PKCS#11
//! token, one token per simulated AWS Region.
//!
//! The layers, from the wire inwards:
//! - [`api`]: HTTP, the AWS JSON 1.1 protocol, SigV4 credential scope, request validation
//!   against the service model, error → JSON mapping.
//! - [`kms`]: the service itself — one file per KMS operation under `kms/operations/`, the
//!   key-state table, the ciphertext format, background jobs.
//! - [`console`]: the web console (server-rendered pages under `/console/`), which runs
//!   every read and action through the same service entry point as the API.
//! - [`store`]: durable metadata (SQLite) behind a narrow trait.
//! - [`hsm`]: PKCS#11 tokens (one per Region), sessions, object handles, templates.

pub mod api;
pub mod audit;
pub mod clock;
pub mod config;
pub mod console;
pub mod hsm;
pub mod kms;
pub mod server;
pub mod store;
