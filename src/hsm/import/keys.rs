//! The Region's import-token sealing key (a token object made at startup) and the
//! measuring key (a trusted session key the Security Officer makes at every start, see
//! [`super::check`]), and the labels of import objects.
use cryptoki::mechanism::Mechanism;
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;

use crate::hsm::errors::HsmError;
use crate::hsm::templates::{self, Extractability};
use crate::hsm::token::RegionToken;

/// Label of the per-Region AES-256 key that seals import tokens (created at startup).
pub const IMPORT_TOKEN_KEY_LABEL: &str = "import-token-key";

/// Label of the measuring key (a session key of every start, see
/// [`templates::measuring_key`]).
pub const MEASURING_KEY_LABEL: &str = "import-measuring-key";

/// Label of the transit key (a session key of every start, see
/// [`templates::transit_key`]).
pub const TRANSIT_KEY_LABEL: &str = "import-transit-key";

/// Prefix of the labels of import wrapping keys.
pub const WRAPPING_LABEL_PREFIX: &str = "import-wrapping/";

impl RegionToken {
    /// Generates this start's measuring key in `s`, a session logged in as the Security
    /// Officer (only the SO can make a trusted key; [`crate::hsm::transport::ensure`] runs it
    /// in the SO session of each start). Returns its label and handle.
    pub(crate) fn make_measuring_key(
        &self,
        s: &Session,
    ) -> Result<(String, ObjectHandle), HsmError> {
        let handle = self
            .raw()
            .generate_key(
                s,
                &Mechanism::AesKeyGen,
                &templates::measuring_key(MEASURING_KEY_LABEL),
            )
            .map_err(self.p11("C_GenerateKey(SO)"))?;
        Ok((MEASURING_KEY_LABEL.to_string(), handle))
    }

    /// Generates this start's transit key in `s`, a session logged in as the Security
    /// Officer, next to the measuring key. Returns its label and handle.
    pub(crate) fn make_transit_key(&self, s: &Session) -> Result<(String, ObjectHandle), HsmError> {
        let handle = self
            .raw()
            .generate_key(
                s,
                &Mechanism::AesKeyGen,
                &templates::transit_key(TRANSIT_KEY_LABEL),
            )
            .map_err(self.p11("C_GenerateKey(SO)"))?;
        Ok((TRANSIT_KEY_LABEL.to_string(), handle))
    }

    /// Startup: creates the Region's import-token sealing key if it is missing.
    pub fn prepare_import(&self) -> Result<(), HsmError> {
        if !self.has_object(IMPORT_TOKEN_KEY_LABEL) {
            self.generate_aes256(IMPORT_TOKEN_KEY_LABEL, Extractability::Never)?;
            tracing::debug!(region = %self.region(), "created the import-token key");
        }
        Ok(())
    }
}
