//! The key that seals STS session tokens (`authz::sessions`): an AES-256 key made inside
//! the PKCS#11 token of the first served Region, never extractable. A session token is
//! `0x01 || IV (12) || AES-256-GCM(claims) || tag` with AAD `hsm-kms sts session v1`, so
//! its secret key never exists at rest outside the token, and a token that was altered
//! or sealed by another server's key does not open. Sessions therefore survive a restart
//! without being stored; they end if the first served Region changes (another token,
//! another key), as they would if AWS rotated the key behind its tokens.

use std::sync::Arc;

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use super::error::KmsResult;
use super::service::Kms;
use crate::authz::Sealer;
use crate::domain::region::Region;
use crate::hsm::{Extractability, HsmError, RegionToken};

/// Label of the session-sealing key in the token.
pub const SESSION_KEY_LABEL: &str = "sts-session-key";

const VERSION: u8 = 1;
const IV_LEN: usize = 12;
const AAD: &[u8] = b"hsm-kms sts session v1";

/// Seals session claims with the token's session key.
pub struct TokenSealer {
    token: Arc<RegionToken>,
}

impl std::fmt::Debug for TokenSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TokenSealer({}: {SESSION_KEY_LABEL})",
            self.token.region()
        )
    }
}

impl TokenSealer {
    /// The sealer of `region`'s token, making its key on first use (startup).
    pub fn open(kms: &Kms, region: Region) -> KmsResult<TokenSealer> {
        let token = kms.token(region)?.clone();
        if !token.has_object(SESSION_KEY_LABEL) {
            token
                .generate_aes256(SESSION_KEY_LABEL, Extractability::Never)
                .map_err(Kms::hsm_error)?;
            tracing::info!(region = %region, "created the STS session key");
        }
        Ok(TokenSealer { token })
    }
}

impl Sealer for TokenSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        let mut iv = [0u8; IV_LEN];
        OsRng.fill_bytes(&mut iv);
        let body = self
            .token
            .aes_gcm_encrypt(SESSION_KEY_LABEL, &iv, AAD, plaintext)
            .map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(1 + IV_LEN + body.len());
        out.push(VERSION);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&body);
        Ok(out)
    }

    fn open(&self, sealed: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
        if sealed.len() < 1 + IV_LEN + 16 || sealed[0] != VERSION {
            return Ok(None);
        }
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&sealed[1..1 + IV_LEN]);
        match self
            .token
            .aes_gcm_decrypt(SESSION_KEY_LABEL, &iv, AAD, &sealed[1 + IV_LEN..])
        {
            Ok(p) => Ok(Some(p)),
            Err(HsmError::AuthenticationFailed) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}
