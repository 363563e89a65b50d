//! Templates: JSON or YAML text parsed into one JSON form ([`yaml`] expands the YAML
//! short forms), checked for the structure CloudFormation requires (sections, resource
//! attributes, parameter declarations, known resource types, references that resolve,
//! no circular dependency), with AWS's `Template format error: …` messages.
//!
//! - [`document`]: the parsed template and its declarations;
//! - [`parse`]: text → [`Template`], with the structural checks;
//! - [`params`]: parameter declarations, the values a call supplies, their constraints;
//! - [`intrinsics`]: evaluation of the intrinsic functions and conditions;
//! - [`graph`]: which resource depends on which, creation order, cycles.

pub mod document;
pub mod graph;
pub mod intrinsics;
pub mod params;
pub mod parse;
pub mod yaml;

pub use document::{Policy, ResourceDecl, Template, TypeCatalog};
