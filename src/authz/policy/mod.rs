//! The IAM policy language: documents parsed once into typed statements, refused with
//! `MalformedPolicyDocumentException` messages when malformed, and evaluated against a
//! request ([`eval`]).
//!
//! What a document may hold depends on where it is attached ([`PolicyKind`]): identity
//! policies name no principal, key policies and trust policies must, trust policies name no
//! resource.

pub mod condition;
pub mod document;
pub mod error;
pub mod eval;
pub mod template;

pub use document::{is_resource_pattern, Effect, Match, PolicyDoc, PrincipalElement, Statement};
pub use error::{PolicyError, PolicyKind};
