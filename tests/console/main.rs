//! The web console against the real server: HTTP-level tests of sessions, CSRF and
//! escaping ([`http`]), and browser tests that drive headless Chromium through the seed's
//! console procedure and the key pages around it ([`flows`]).

#[path = "../common/mod.rs"]
mod common;

mod browser;
mod flows;
mod http;
