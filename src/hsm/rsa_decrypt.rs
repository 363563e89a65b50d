//! RSA-OAEP decryption (Decrypt with an RSA ENCRYPT_DECRYPT key) inside the token. Where
//! the token lacks OAEP with the requested hash (SoftHSM 2.6.1 has only SHA-1; see
//! [`super::capabilities`]), the token decrypts raw RSA (CKM_RSA_X_509) and
//! [`super::oaep`] decodes the block on the host in zeroising memory.

use zeroize::Zeroizing;

use super::algorithms::OaepHash;
use super::errors::{rejects_ciphertext, rejects_parameters, HsmError};
use super::mechanisms;
use super::oaep;
use super::token::RegionToken;

impl RegionToken {
    /// RSA-OAEP decryption with the private key `label` (hash and MGF1 with `hash`, empty
    /// label). A ciphertext that does not decrypt is [`HsmError::AuthenticationFailed`].
    pub fn rsa_oaep_decrypt(
        &self,
        label: &str,
        hash: OaepHash,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        let key = self.handle(label)?;
        let in_token = match hash {
            OaepHash::Sha1 => true,
            OaepHash::Sha256 => self.capabilities().oaep_sha256,
        };
        if in_token {
            let decrypted = self.session(|s| {
                match s.decrypt(&mechanisms::oaep(hash), key, ciphertext) {
                    Ok(pt) => Ok(Some(Zeroizing::new(pt))),
                    // A token that claimed OAEP-SHA-256 and refuses it after all: decode
                    // on the host.
                    Err(e) if hash == OaepHash::Sha256 && rejects_parameters(&e) => Ok(None),
                    Err(e) if rejects_ciphertext(&e) => Err(HsmError::AuthenticationFailed),
                    Err(e) => Err(self.p11("C_Decrypt")(e)),
                }
            })?;
            if let Some(plaintext) = decrypted {
                return Ok(plaintext);
            }
        }
        let raw = self.session(|s| match s.decrypt(&mechanisms::RSA_RAW, key, ciphertext) {
            Ok(raw) => Ok(Zeroizing::new(raw)),
            Err(e) if rejects_ciphertext(&e) => Err(HsmError::AuthenticationFailed),
            Err(e) => Err(self.p11("C_Decrypt")(e)),
        })?;
        oaep::decode_raw(hash.hash(), &raw, ciphertext.len()).ok_or(HsmError::AuthenticationFailed)
    }
}
