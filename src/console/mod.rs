//! The web console, served by the same binary on the same port as the API: server-rendered
//! pages under `/console/`, every asset compiled in, a little vanilla JavaScript for live
//! state (replicas Creating → Enabled, Updating during a primary Region change) and for the
//! replica form's chosen-Region list.
//!
//! Module map:
//! - [`routes`]: the routes, sign-in and sign-out, assets;
//! - [`app`]: the state and checks every handler shares, the page frame, responses;
//! - [`service`]: the one entry point into the KMS service every page and action uses.
//! - [`session`]: sign-in (with the strict-mode seam), sessions, CSRF tokens, cookies.
//! - [`html`]: escaping, the page frame, shared pieces.
//! - [`form`]: urlencoded and multipart form parsing.
//! - [`key_policy`]: the console's default key policy and its administrators/users.
//! - [`keys`]: the customer managed keys table.
//! - [`create`]: the create-key wizard.
//! - [`key_view`]: a key as the key pages show it (its DescribeKey metadata).
//! - [`details`]: the key details page and its tabs.
//! - [`replicate`]: the Regionality tab's "Create new replica keys" procedure.
//! - [`actions`]: every state-changing form on a key.
//!
//! Routes (all below `/console`; `GET /` redirects here, `POST /` stays the API):
//! `GET /signin`, `POST /signin`, `POST /signout`, `GET /assets/{file}`,
//! `GET /{region}/keys`, `POST /{region}/preferences`, `GET|POST /{region}/create`,
//! `GET /{region}/keys/{key}` (`?tab=`), `GET /{region}/keys/{key}/{page}` (sub-pages,
//! downloads, `state.json`), `POST /{region}/keys/{key}/{action}`.

pub mod actions;
pub mod app;
pub mod create;
pub mod details;
pub mod form;
pub mod html;
pub mod key_policy;
pub mod key_view;
pub mod keys;
pub mod replicate;
pub mod routes;
pub mod service;
pub mod session;

pub use routes::{root_redirect, router};
