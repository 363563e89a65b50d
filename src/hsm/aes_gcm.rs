//! AES-GCM inside the token: the hot path of Encrypt, Decrypt and the data-key
//! operations. Both run on the session-object copy of the key (no object-store lock) in a
//! pooled session; nothing else happens on the way.

use zeroize::Zeroizing;

use super::errors::{rejects_ciphertext, HsmError};
use super::mechanisms;
use super::token::RegionToken;

impl RegionToken {
    /// AES-GCM encryption inside the token: returns ciphertext followed by the 16-byte tag.
    pub fn aes_gcm_encrypt(
        &self,
        label: &str,
        iv: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, HsmError> {
        let key = self.crypto_handle(label)?;
        let mut iv = *iv;
        self.session(|s| {
            let mechanism = mechanisms::aes_gcm(&mut iv, aad).map_err(self.p11("GcmParams"))?;
            s.encrypt(&mechanism, key, plaintext)
                .map_err(self.p11("C_Encrypt"))
        })
    }

    /// AES-GCM decryption inside the token. A failed tag check (SoftHSM2 reports it as
    /// CKR_GENERAL_ERROR or CKR_ENCRYPTED_DATA_INVALID) is [`HsmError::AuthenticationFailed`].
    pub fn aes_gcm_decrypt(
        &self,
        label: &str,
        iv: &[u8; 12],
        aad: &[u8],
        ciphertext_and_tag: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        let key = self.crypto_handle(label)?;
        let mut iv = *iv;
        self.session(|s| {
            let mechanism = mechanisms::aes_gcm(&mut iv, aad).map_err(self.p11("GcmParams"))?;
            match s.decrypt(&mechanism, key, ciphertext_and_tag) {
                Ok(pt) => Ok(Zeroizing::new(pt)),
                Err(e) if rejects_ciphertext(&e) => Err(HsmError::AuthenticationFailed),
                Err(e) => Err(self.p11("C_Decrypt")(e)),
            }
        })
    }
}
