//! Elliptic-curve point arithmetic for one job: recovering the public key of an imported
//! EC private key.
//!
//! A private key unwrapped from PKCS#8 arrives in the token without its public point
//! (SoftHSM2 records no CKA_EC_POINT on a private key object and never reveals the
//! scalar), yet GetPublicKey must return it. The token does reveal the x coordinate of
//! d·P for any point P by ECDH, so ECDH with the base point G gives x(d·G), the public
//! point's x. The two points with that x ([`points_with_x`]) are the candidates; a
//! signature the token makes picks the right one (see `import::check`). All point
//! decoding and arithmetic is the curve crates' (`sec1` point decompression).

use p256::elliptic_curve::sec1::ToEncodedPoint;

use super::algorithms::Curve;
use super::encoding::{by_curve, spki_point};

/// The curve's base point G, SEC1 uncompressed (the public key of the scalar 1); None for
/// Ed25519 (no ECDH on it).
pub(crate) fn generator_point(curve: Curve) -> Option<Vec<u8>> {
    let mut one = vec![0u8; curve.field_len()];
    *one.last_mut()? = 1;
    by_curve!(curve, m, _C => Some(
        m::SecretKey::from_slice(&one)
            .ok()?
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
    ), ed25519 => None)
}

/// The two public points with x coordinate `x` (SEC1 uncompressed, even y first); empty
/// when `x` is not on `curve`.
pub(crate) fn points_with_x(curve: Curve, x: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for prefix in [0x02u8, 0x03] {
        let mut compressed = vec![prefix];
        compressed.extend_from_slice(x);
        let point = by_curve!(curve, m, _C => m::PublicKey::from_sec1_bytes(&compressed)
            .ok()
            .map(|k| k.to_encoded_point(false).as_bytes().to_vec()),
            ed25519 => None);
        out.extend(point);
    }
    out
}

/// The x coordinate of the uncompressed point in the EC SubjectPublicKeyInfo `spki`.
pub(crate) fn spki_x(curve: Curve, spki: &[u8]) -> Option<Vec<u8>> {
    let point = spki_point(spki).ok()?;
    let n = curve.field_len();
    if point.len() != 1 + 2 * n || point[0] != 0x04 {
        return None;
    }
    Some(point[1..1 + n].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_one_of_the_two_points_with_its_x() {
        for curve in [Curve::P256, Curve::P384, Curve::P521, Curve::Secp256k1] {
            let g = generator_point(curve).expect("a Weierstrass curve");
            let n = curve.field_len();
            let candidates = points_with_x(curve, &g[1..1 + n]);
            assert_eq!(candidates.len(), 2, "{curve:?}");
            assert!(candidates.contains(&g), "{curve:?}");
            assert_ne!(candidates[0], candidates[1]);
        }
        assert_eq!(generator_point(Curve::Ed25519), None);
    }

    #[test]
    fn an_x_outside_the_field_has_no_points() {
        // 2^256 - 1 is larger than the P-256 field prime.
        assert!(points_with_x(Curve::P256, &[0xff; 32]).is_empty());
    }
}
