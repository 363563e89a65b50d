//! Access control: who is calling (principals, SigV4 verification), what policies say
//! (the IAM policy language), and what KMS decides (key policies, IAM policies, grants,
//! the lockout check).
//!
//! The module is self-contained: it knows Regions, ARNs and accounts as strings, and the
//! request path calls it through [`Authorizer`].

pub mod arn;
pub mod caller;
pub mod context;
pub mod decide;
pub mod glob;
pub mod grants;
pub mod policy;
pub mod principals;
pub mod rules;
pub mod sessions;
pub mod sigv4;
