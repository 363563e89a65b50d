//! CloudFormation on the same port: stacks of `AWS::KMS::Key`, `AWS::KMS::ReplicaKey` and
//! `AWS::KMS::Alias` resources, deployed with the same requests and templates as in AWS.
//!
//! - [`dispatch`]: the entry point of every CloudFormation API call (operation by name,
//!   audit record);
//! - [`service`]: the service state (stack store and its in-memory view);
//! - [`template`]: JSON/YAML templates, parameters, intrinsic functions, conditions, the
//!   dependency graph;
//! - [`plan`]: a deployment made concrete (parameter values, conditions, properties,
//!   outputs) and the changes a change set lists;
//! - [`engine`]: stack operations — create, update, delete, rollback, cleanup — run on
//!   their own thread, each step durable before the next, resumed or rolled back at
//!   startup;
//! - [`resources`]: the three resource providers, calling KMS only through the KMS
//!   entry point (`kms::dispatch::invoke`, in [`resources::kms_client`]), so every
//!   resource operation is the KMS call it is, with the same validation, checks and audit
//!   records;
//! - [`store`]: the stack store (its own SQLite file);
//! - [`operations`]: one file per CloudFormation API operation, each declared with the
//!   IAM action it needs;
//! - [`model`], [`error`]: records and errors.
//!
//! The service speaks JSON: the API layer (`api::query`) turns awsQuery requests into the
//! input JSON of an operation and its output JSON into XML.

pub mod dispatch;
pub mod engine;
pub mod error;
pub mod model;
pub mod operations;
pub mod plan;
pub mod resources;
pub mod service;
pub mod store;
pub mod template;
