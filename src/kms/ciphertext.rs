//! The symmetric ciphertext format (docs/architecture.md, "Ciphertext format").
//!
//! ```text
//! version (1) | key id length (1) | key id (ASCII) | key material id (32) | IV (12) | AES-GCM ciphertext | tag (16)
//! ```
//! The AAD given to AES-GCM is the header (everything before the ciphertext) followed by a
//! canonical encoding of the encryption context, so a changed context or a flipped byte
//! anywhere fails the tag check. The format is self-describing: Decrypt needs no KeyId.

use std::collections::BTreeMap;

use crate::domain::ids::KeyId;

pub const VERSION: u8 = 1;
pub const IV_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
pub const MATERIAL_ID_LEN: usize = 32;

/// A parsed ciphertext blob. Borrowing the blob: parsing copies nothing but the key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ciphertext<'a> {
    pub key_id: KeyId,
    /// The key material id as 64 lowercase hex digits.
    pub material_id: String,
    pub iv: [u8; IV_LEN],
    /// The header bytes (start of the AAD).
    pub header: &'a [u8],
    /// AES-GCM ciphertext followed by the tag.
    pub body: &'a [u8],
}

/// Why a blob is not a ciphertext of ours (all map to InvalidCiphertextException).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    TooShort,
    UnknownVersion,
    BadKeyId,
    BadMaterialId,
}

/// Builds the header for `key_id`, `material_id` (hex) and `iv`.
pub fn header(key_id: &KeyId, material_id: &str, iv: &[u8; IV_LEN]) -> Option<Vec<u8>> {
    let id = key_id.as_str().as_bytes();
    let mut material = [0u8; MATERIAL_ID_LEN];
    hex::decode_to_slice(material_id, &mut material).ok()?;
    if id.len() > u8::MAX as usize {
        return None;
    }
    let mut out = Vec::with_capacity(2 + id.len() + MATERIAL_ID_LEN + IV_LEN);
    out.push(VERSION);
    out.push(id.len() as u8);
    out.extend_from_slice(id);
    out.extend_from_slice(&material);
    out.extend_from_slice(iv);
    Some(out)
}

/// Parses a blob into its parts.
pub fn parse(blob: &[u8]) -> Result<Ciphertext<'_>, ParseError> {
    if blob.len() < 2 {
        return Err(ParseError::TooShort);
    }
    if blob[0] != VERSION {
        return Err(ParseError::UnknownVersion);
    }
    let id_len = blob[1] as usize;
    let header_len = 2 + id_len + MATERIAL_ID_LEN + IV_LEN;
    if blob.len() < header_len + TAG_LEN {
        return Err(ParseError::TooShort);
    }
    let id_text = std::str::from_utf8(&blob[2..2 + id_len]).map_err(|_| ParseError::BadKeyId)?;
    let key_id = KeyId::parse(id_text).ok_or(ParseError::BadKeyId)?;
    if key_id.as_str() != id_text {
        return Err(ParseError::BadKeyId);
    }
    let material = &blob[2 + id_len..2 + id_len + MATERIAL_ID_LEN];
    let mut iv = [0u8; IV_LEN];
    iv.copy_from_slice(&blob[header_len - IV_LEN..header_len]);
    if material.iter().all(|b| *b == 0) {
        return Err(ParseError::BadMaterialId);
    }
    Ok(Ciphertext {
        key_id,
        material_id: hex::encode(material),
        iv,
        header: &blob[..header_len],
        body: &blob[header_len..],
    })
}

/// The AAD: header followed by the canonical encryption context (count, then each pair
/// sorted by key, every string length-prefixed with a big-endian u32).
pub fn aad(header: &[u8], context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + 4 + context.len() * 32);
    out.extend_from_slice(header);
    out.extend_from_slice(&(context.len() as u32).to_be_bytes());
    for (k, v) in context {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (KeyId, String, [u8; IV_LEN]) {
        (
            KeyId::new_single_region(),
            "ab".repeat(MATERIAL_ID_LEN),
            [7u8; IV_LEN],
        )
    }

    #[test]
    fn header_round_trips_through_parse() {
        let (id, material, iv) = sample();
        let mut blob = header(&id, &material, &iv).expect("header");
        let header_len = blob.len();
        blob.extend_from_slice(&[1u8; 20 + TAG_LEN]);
        let ct = parse(&blob).expect("parses");
        assert_eq!(ct.key_id, id);
        assert_eq!(ct.material_id, material);
        assert_eq!(ct.iv, iv);
        assert_eq!(ct.header.len(), header_len);
        assert_eq!(ct.body.len(), 20 + TAG_LEN);
    }

    #[test]
    fn multi_region_key_ids_fit() {
        let id = KeyId::new_multi_region();
        let mut blob = header(&id, &"01".repeat(32), &[0u8; IV_LEN]).expect("header");
        blob.extend_from_slice(&[0u8; TAG_LEN]);
        assert_eq!(parse(&blob).expect("parses").key_id, id);
    }

    #[test]
    fn truncated_and_garbage_blobs_are_rejected() {
        let (id, material, iv) = sample();
        let mut blob = header(&id, &material, &iv).expect("header");
        blob.extend_from_slice(&[0u8; TAG_LEN]);
        assert_eq!(parse(&blob[..blob.len() - 1]), Err(ParseError::TooShort));
        assert_eq!(parse(&[]), Err(ParseError::TooShort));
        let mut other_version = blob.clone();
        other_version[0] = 2;
        assert_eq!(parse(&other_version), Err(ParseError::UnknownVersion));
        let mut bad_id = blob.clone();
        bad_id[3] = b'!';
        assert_eq!(parse(&bad_id), Err(ParseError::BadKeyId));
        assert!(parse(&[0x42; 200]).is_err());
    }

    #[test]
    fn context_encoding_is_canonical_and_unambiguous() {
        let h = [1u8, 2, 3];
        let mut a = BTreeMap::new();
        a.insert("b".to_string(), "2".to_string());
        a.insert("a".to_string(), "1".to_string());
        let mut b = BTreeMap::new();
        b.insert("a".to_string(), "1".to_string());
        b.insert("b".to_string(), "2".to_string());
        assert_eq!(aad(&h, &a), aad(&h, &b));
        // "ab"="c" must not encode like "a"="bc".
        let mut c = BTreeMap::new();
        c.insert("ab".to_string(), "c".to_string());
        let mut d = BTreeMap::new();
        d.insert("a".to_string(), "bc".to_string());
        assert_ne!(aad(&h, &c), aad(&h, &d));
        assert_ne!(aad(&h, &BTreeMap::new()), aad(&h, &c));
    }
}
