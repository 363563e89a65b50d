//! Test scaffolding shared by every integration test, said once:
//!
//! - [`server`]: the one launcher — the real `hsm-kms` binary on a fresh data directory
//!   and a free port ([`Server::start`], [`Server::start_with`], [`Server::start_fresh`]),
//!   restart / kill -9 / graceful stop, its log, AWS SDK clients pointed at it, and the
//!   server clock ([`Server::advance_clock`], [`Server::clock_now`]);
//! - [`keys`]: the key factories ([`NewKey`], [`new_key`], [`create_external`],
//!   [`create_mrk`], [`mrk_with_replicas`]), [`describe`], waiting with one timeout
//!   ([`wait_for_state`], [`wait_for_key`], [`wait_until`]), Encrypt/Decrypt round trips;
//! - [`audit`]: the records of a Region's audit log, and waiting for one;
//! - [`errors`]: AWS error codes and messages ([`assert_err`], [`must_fail`]);
//! - [`wrapping`]: key material wrapped as a user wraps it for ImportKeyMaterial;
//! - [`readme`]: a README section's bash blocks replayed with the aws CLI;
//! - [`launch`]: the process-level start (shared with the bench crate);
//! - [`signing`]: requests signed by hand (another time, another secret, a body changed
//!   after signing);
//! - [`pkcs11`]: the tokens of a data directory seen by another process with cryptoki
//!   (attacks, inspections), in a child process of the test binary.
//!
//! Every test starts its own server (tests run in parallel: own temp dir, own port).
#![allow(dead_code)]

pub mod audit;
pub mod errors;
pub mod keys;
pub mod launch;
pub mod pkcs11;
pub mod readme;
pub mod server;
pub mod signing;
pub mod wrapping;

// A test binary uses the part it needs.
#[allow(unused_imports)]
pub use audit::*;
#[allow(unused_imports)]
pub use errors::*;
#[allow(unused_imports)]
pub use keys::*;
#[allow(unused_imports)]
pub use server::*;
