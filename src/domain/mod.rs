//! The data model every layer shares, at the bottom of the crate: it depends on nothing
//! of ours. Regions, key ids, alias names and ARNs, the wire enums and the records the
//! metadata store keeps (keys, aliases, grants, jobs), timestamps, and who is calling.
//!
//! Values are parsed once at the edge into these types (a [`region::Region`] can only be
//! a catalogue Region, a [`ids::KeyId`] only a well-formed key id); the layers above
//! (`store`, `hsm`, `audit`, `config`, `kms`, `api`) depend on this module, never the
//! other way round.

pub(crate) mod alias;
pub(crate) mod grant;
pub(crate) mod ids;
pub(crate) mod job;
pub(crate) mod key;
pub mod region;
pub(crate) mod request;
pub(crate) mod time;
pub(crate) mod write;
