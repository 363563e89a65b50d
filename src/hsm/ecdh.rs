//! ECDH (CKM_ECDH1_DERIVE, no KDF) inside the token: DeriveSharedSecret, and x(d·G) for
//! the public key of imported EC keys ([`super::ec_points`]). The shared secret is derived
//! into a session object that is read once and destroyed.

use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use zeroize::Zeroizing;

use super::algorithms::Curve;
use super::errors::HsmError;
use super::mechanisms;
use super::readers;
use super::templates;
use super::token::RegionToken;

impl RegionToken {
    /// ECDH of the private key `label` with the peer's uncompressed public point, inside
    /// the token: the x coordinate of the shared point.
    pub fn ecdh_with(
        &self,
        label: &str,
        curve: Curve,
        peer_point: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        let key = self.handle(label)?;
        self.session(|s| self.ecdh_x_handle(s, key, curve, peer_point))
    }

    /// ECDH of the private key object `key` with the public point `peer` (uncompressed)
    /// in session `s`: the x coordinate of the shared point. Takes the creation guard itself
    /// (the caller must not hold it). With `peer` = G this is the x coordinate of the key's
    /// own public point (public information).
    pub(crate) fn ecdh_x_handle(
        &self,
        s: &Session,
        key: ObjectHandle,
        curve: Curve,
        peer: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        let template = templates::ecdh_secret(curve);
        let secret = {
            let _guard = self.creation_guard();
            s.derive_key(&mechanisms::ecdh(peer), key, &template)
                .map_err(self.p11("C_DeriveKey"))?
        };
        let value = readers::secret_value(self, s, secret, "the derived ECDH secret");
        let destroyed = {
            let _guard = self.creation_guard();
            s.destroy_object(secret)
                .map_err(self.p11("C_DestroyObject"))
        };
        let value = value?;
        destroyed?;
        Ok(value)
    }
}
