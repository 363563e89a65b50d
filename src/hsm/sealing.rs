//! The Region's grant-token sealing key: an AES-256 token object made once, at the first
//! start that lacks it, and used only for AES-GCM inside the token ([`super::aes_gcm`]).
//! The service seals the grant tokens CreateGrant returns under it, so a grant token is
//! opaque, cannot be forged or altered, and opens only in the Region that issued it. (The
//! import tokens have their own key, [`super::import::IMPORT_TOKEN_KEY_LABEL`].)

use super::errors::HsmError;
use super::templates::Extractability;
use super::token::RegionToken;

/// Label of the per-Region AES-256 key that seals grant tokens.
pub const GRANT_TOKEN_KEY_LABEL: &str = "grant-token-key";

impl RegionToken {
    /// Startup: creates the Region's grant-token sealing key if it is missing.
    pub fn prepare_grant_tokens(&self) -> Result<(), HsmError> {
        if !self.has_object(GRANT_TOKEN_KEY_LABEL) {
            self.generate_aes256(GRANT_TOKEN_KEY_LABEL, Extractability::Never)?;
            tracing::debug!(region = %self.region(), "created the grant-token key");
        }
        Ok(())
    }
}
