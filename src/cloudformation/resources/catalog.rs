//! The supported resource types and their providers: `AWS::KMS::Key`,
//! `AWS::KMS::ReplicaKey`, `AWS::KMS::Alias`.

use std::sync::LazyLock;

use super::provider::Provider;
use super::{alias, key, replica_key};
use crate::cloudformation::template::TypeCatalog;

static KEY: LazyLock<key::KeyProvider> = LazyLock::new(key::KeyProvider::default);
static REPLICA: LazyLock<replica_key::ReplicaKeyProvider> =
    LazyLock::new(replica_key::ReplicaKeyProvider::default);
static ALIAS: LazyLock<alias::AliasProvider> = LazyLock::new(alias::AliasProvider::default);

/// The provider of a resource type.
pub fn provider(type_name: &str) -> Option<&'static dyn Provider> {
    match type_name {
        "AWS::KMS::Key" => Some(&*KEY),
        "AWS::KMS::ReplicaKey" => Some(&*REPLICA),
        "AWS::KMS::Alias" => Some(&*ALIAS),
        _ => None,
    }
}

/// The resource types as the template layer sees them.
pub struct Catalog;

impl TypeCatalog for Catalog {
    fn attributes(&self, type_name: &str) -> Option<&'static [&'static str]> {
        provider(type_name).map(|p| p.attributes())
    }
}
