//! Host-side RSA-OAEP decoding (RFC 8017 section 7.1.2, steps 3 onwards, empty label) for
//! tokens that implement OAEP only with SHA-1 (SoftHSM 2.6.1): the token does a raw RSA
//! decryption (CKM_RSA_X_509) and the decoding happens here, every intermediate value in
//! zeroising memory. Checks run without early exits on secret data; any failure is one
//! undistinguished `None`.

use zeroize::Zeroizing;

use super::algorithms::Hash;

/// Decodes the result `raw` of a raw RSA decryption with a `k`-byte modulus. Tokens that
/// strip the leading zero byte of the block are tolerated (SoftHSM keeps it).
pub(crate) fn decode_raw(hash: Hash, raw: &[u8], k: usize) -> Option<Zeroizing<Vec<u8>>> {
    if raw.len() > k {
        return None;
    }
    let mut em = Zeroizing::new(vec![0u8; k]);
    em[k - raw.len()..].copy_from_slice(raw);
    decode(hash, &em)
}

/// MGF1: every intermediate (the seed with its counter, each digest) in zeroising buffers
/// reserved at their final size, so none is reallocated and freed unwiped.
fn mgf1(hash: Hash, seed: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + hash.output_len()));
    let mut input = Zeroizing::new(Vec::with_capacity(seed.len() + 4));
    let mut digest = Zeroizing::new(Vec::with_capacity(hash.output_len()));
    let mut counter: u32 = 0;
    while out.len() < len {
        input.clear();
        input.extend_from_slice(seed);
        input.extend_from_slice(&counter.to_be_bytes());
        hash.digest_into(&input, &mut digest);
        out.extend_from_slice(&digest);
        counter += 1;
    }
    out.truncate(len);
    out
}

/// Decodes an OAEP-encoded block `em` (k bytes) with an empty label.
pub(crate) fn decode(hash: Hash, em: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let h = hash.output_len();
    let k = em.len();
    if k < 2 * h + 2 {
        return None;
    }
    let mut l_hash = Zeroizing::new(Vec::with_capacity(h));
    hash.digest_into(b"", &mut l_hash);
    let y = em[0];
    let masked_seed = &em[1..1 + h];
    let masked_db = &em[1 + h..];
    let seed_mask = mgf1(hash, masked_db, h);
    let seed: Zeroizing<Vec<u8>> = Zeroizing::new(
        masked_seed
            .iter()
            .zip(seed_mask.iter())
            .map(|(a, b)| a ^ b)
            .collect(),
    );
    let db_mask = mgf1(hash, &seed, k - h - 1);
    let db: Zeroizing<Vec<u8>> = Zeroizing::new(
        masked_db
            .iter()
            .zip(db_mask.iter())
            .map(|(a, b)| a ^ b)
            .collect(),
    );
    let mut bad = y;
    for (a, b) in db[..h].iter().zip(l_hash.iter()) {
        bad |= a ^ b;
    }
    // Find the 0x01 separator after the zero padding, in constant time over the block.
    let mut found: u8 = 0;
    let mut index: usize = 0;
    for (i, &byte) in db[h..].iter().enumerate() {
        let is_one = (byte == 1) as u8;
        let is_zero = (byte == 0) as u8;
        let first_one = is_one & (1 - found);
        index |= (first_one as usize).wrapping_neg() & i;
        // A non-zero, non-one byte before the separator is an error.
        bad |= (1 - found) & (1 - is_one) & (1 - is_zero);
        found |= is_one;
    }
    if bad != 0 || found == 0 {
        return None;
    }
    Some(Zeroizing::new(db[h + index + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oaep_decoding_matches_an_independent_encoder() {
        use rsa::traits::{PrivateKeyParts, PublicKeyParts};
        let mut rng = rsa::rand_core::OsRng;
        let key = rsa::RsaPrivateKey::new(&mut rng, 1024).expect("key");
        let public = key.to_public_key();
        let msg = b"attack at dawn";
        let ct = public
            .encrypt(&mut rng, rsa::Oaep::new::<sha2::Sha256>(), msg)
            .expect("encrypt");
        // Raw RSA decryption, as CKM_RSA_X_509 does it.
        let c = rsa::BigUint::from_bytes_be(&ct);
        let m = c.modpow(key.d(), key.n()).to_bytes_be();
        assert_eq!(
            decode_raw(Hash::Sha256, &m, public.size())
                .as_deref()
                .map(|v| &v[..]),
            Some(&msg[..])
        );
        let mut em = vec![0u8; public.size() - m.len()];
        em.extend_from_slice(&m);
        em[5] ^= 1;
        assert!(decode(Hash::Sha256, &em).is_none());
    }

    #[test]
    fn garbage_and_short_blocks_do_not_decode() {
        assert!(decode(Hash::Sha256, &[0u8; 256]).is_none());
        assert!(decode(Hash::Sha256, &[0u8; 10]).is_none());
        assert!(decode_raw(Hash::Sha256, &[1u8; 257], 256).is_none());
    }
}
