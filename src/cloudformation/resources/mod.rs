//! The resource providers: one per supported resource type (`AWS::KMS::Key`,
//! `AWS::KMS::ReplicaKey`, `AWS::KMS::Alias`), each declaring its schema, its `Fn::GetAtt`
//! attributes and the properties that force replacement, and implementing create, update,
//! delete — and, for crash recovery, finding a physical resource it created just before
//! the server stopped — over KMS operations only ([`kms_client`]).

pub mod alias;
pub mod catalog;
pub mod key;
pub mod kms_client;
pub mod provider;
pub mod replica_key;
pub mod schema;

pub use catalog::{provider, Catalog};
pub use provider::{Provider, ProviderCx};
