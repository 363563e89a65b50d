//! Aliases: a friendly name for a key of the same Region.

use serde::{Deserialize, Serialize};

use super::ids::{AliasName, KeyId};
use super::region::Region;
use super::time::Timestamp;

/// An alias in one Region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRecord {
    pub name: AliasName,
    pub region: Region,
    pub target: KeyId,
    pub created: Timestamp,
    pub updated: Timestamp,
}
