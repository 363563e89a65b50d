//! Reading key values out of token objects: the one RSA public-key reader (public keys,
//! and the public attributes of private keys), the one EC point reader, the DER
//! SubjectPublicKeyInfo of a public key object, and the CKA_VALUE of the few session
//! objects whose value is the operation's result (ECDH secrets, data key pairs).

use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use zeroize::Zeroizing;

use super::algorithms::{Curve, PairKind};
use super::encoding;
use super::errors::HsmError;
use super::token::RegionToken;

/// The public values of an RSA key object (a public key, or the public attributes of a
/// private key), big-endian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RsaPublicValues {
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
}

impl RsaPublicValues {
    /// The modulus without leading zero bytes.
    pub fn modulus(&self) -> &[u8] {
        let skip = self.modulus.iter().take_while(|b| **b == 0).count();
        &self.modulus[skip..]
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> u64 {
        let n = self.modulus();
        (n.len() * 8) as u64 - n.first().map_or(8, |b| b.leading_zeros() as u64)
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki(&self) -> Result<Vec<u8>, HsmError> {
        encoding::rsa_spki(self.modulus(), &self.exponent)
    }
}

/// Reads attribute values of `object` in session `s`.
pub(crate) fn read(
    token: &RegionToken,
    s: &Session,
    object: ObjectHandle,
    types: &[AttributeType],
) -> Result<Vec<Attribute>, HsmError> {
    s.get_attributes(object, types)
        .map_err(token.p11("C_GetAttributeValue"))
}

/// The modulus and public exponent of the RSA key object `object`, which `what` names in
/// errors.
pub(crate) fn rsa_public(
    token: &RegionToken,
    s: &Session,
    object: ObjectHandle,
    what: &str,
) -> Result<RsaPublicValues, HsmError> {
    let (mut modulus, mut exponent) = (Vec::new(), Vec::new());
    for attr in read(
        token,
        s,
        object,
        &[AttributeType::Modulus, AttributeType::PublicExponent],
    )? {
        match attr {
            Attribute::Modulus(m) => modulus = m,
            Attribute::PublicExponent(e) => exponent = e,
            _ => {}
        }
    }
    let missing = |attribute| HsmError::MissingAttribute {
        region: token.region(),
        object: what.to_string(),
        attribute,
    };
    if modulus.is_empty() {
        return Err(missing(AttributeType::Modulus));
    }
    if exponent.is_empty() {
        return Err(missing(AttributeType::PublicExponent));
    }
    Ok(RsaPublicValues { modulus, exponent })
}

/// The DER SubjectPublicKeyInfo of the public key object `object` of a pair of `kind`.
pub(crate) fn spki(
    token: &RegionToken,
    s: &Session,
    object: ObjectHandle,
    kind: PairKind,
) -> Result<Vec<u8>, HsmError> {
    match kind {
        PairKind::Rsa(_) => rsa_public(token, s, object, "the generated public key")?.spki(),
        PairKind::Ec(curve) => encoding::ec_spki(curve, &ec_point(token, s, object, curve)?),
    }
}

/// The public point of the EC public key object `object` (SEC1 uncompressed, or the
/// Ed25519 point).
fn ec_point(
    token: &RegionToken,
    s: &Session,
    object: ObjectHandle,
    curve: Curve,
) -> Result<Vec<u8>, HsmError> {
    read(token, s, object, &[AttributeType::EcPoint])?
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(encoding::point_from_attribute(&p, curve)),
            _ => None,
        })
        .ok_or_else(|| HsmError::MissingAttribute {
            region: token.region(),
            object: "the generated public key".into(),
            attribute: AttributeType::EcPoint,
        })
}

/// The secret CKA_VALUE of the (non-sensitive, session-only) object `object`, in
/// zeroising memory: a derived ECDH secret or a data key pair's private scalar.
pub(crate) fn secret_value(
    token: &RegionToken,
    s: &Session,
    object: ObjectHandle,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, HsmError> {
    secret_attribute(token, s, object, AttributeType::Value, what)
}

/// The secret attribute `which` of `object`, read straight into zeroising memory
/// (`raw::ArrayCalls::secret_attribute`).
pub(crate) fn secret_attribute(
    token: &RegionToken,
    s: &Session,
    object: ObjectHandle,
    which: AttributeType,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, HsmError> {
    let value = token
        .raw()
        .secret_attribute(s, object, which)
        .map_err(token.p11("C_GetAttributeValue"))?;
    value.ok_or_else(|| HsmError::MissingAttribute {
        region: token.region(),
        object: what.to_string(),
        attribute: which,
    })
}
