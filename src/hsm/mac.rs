//! HMAC inside the token (GenerateMac, VerifyMac) with the HMAC key object of the
//! material label.

use super::algorithms::Hash;
use super::errors::{rejects_signature, HsmError};
use super::mechanisms;
use super::token::RegionToken;

impl RegionToken {
    /// HMAC of `message` with the HMAC key `label`, inside the token.
    pub fn hmac_with(&self, label: &str, hash: Hash, message: &[u8]) -> Result<Vec<u8>, HsmError> {
        let key = self.handle(label)?;
        self.session(|s| {
            s.sign(&mechanisms::hmac(hash), key, message)
                .map_err(self.p11("C_Sign"))
        })
    }

    /// Checks `mac` over `message` with the HMAC key `label`, inside the token.
    pub fn hmac_verify_with(
        &self,
        label: &str,
        hash: Hash,
        message: &[u8],
        mac: &[u8],
    ) -> Result<bool, HsmError> {
        let key = self.handle(label)?;
        if mac.len() != hash.output_len() {
            return Ok(false);
        }
        self.session(
            |s| match s.verify(&mechanisms::hmac(hash), key, message, mac) {
                Ok(()) => Ok(true),
                Err(e) if rejects_signature(&e) => Ok(false),
                Err(e) => Err(self.p11("C_Verify")(e)),
            },
        )
    }
}
