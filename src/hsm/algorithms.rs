//! The algorithms of the KMS key specs as the token layer names them: curves, hash
//! functions, key-pair kinds and usages, signature schemes, OAEP hashes. Plain data and
//! host-side hashing of public data only; which PKCS#11 mechanism runs each one is
//! [`super::mechanisms`], how their keys are encoded [`super::encoding`].

use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// Elliptic curves of the KMS key specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
    Secp256k1,
    Ed25519,
}

impl Curve {
    /// Every curve, for reverse look-ups (what curve a token object is on).
    pub const ALL: [Curve; 5] = [
        Curve::P256,
        Curve::P384,
        Curve::P521,
        Curve::Secp256k1,
        Curve::Ed25519,
    ];

    /// Bytes of a field element (and of each ECDSA signature half).
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 | Curve::Secp256k1 | Curve::Ed25519 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// Bytes of a public point as the token holds it: SEC1 uncompressed, or the 32-byte
    /// encoding of an Ed25519 point.
    pub fn point_len(self) -> usize {
        match self {
            Curve::Ed25519 => 32,
            _ => 1 + 2 * self.field_len(),
        }
    }

    /// The curve's name as OpenSSL and the SEC/RFC documents spell it.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "secp256r1",
            Curve::P384 => "secp384r1",
            Curve::P521 => "secp521r1",
            Curve::Secp256k1 => "secp256k1",
            Curve::Ed25519 => "edwards25519",
        }
    }
}

/// The kind of a key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairKind {
    /// RSA with this modulus size in bits.
    Rsa(u64),
    Ec(Curve),
}

impl PairKind {
    /// The PKCS#11 key-pair generation mechanism's name (for error messages).
    pub fn generation_mechanism(self) -> &'static str {
        match self {
            PairKind::Rsa(_) => "CKM_RSA_PKCS_KEY_PAIR_GEN",
            PairKind::Ec(Curve::Ed25519) => "CKM_EC_EDWARDS_KEY_PAIR_GEN",
            PairKind::Ec(_) => "CKM_EC_KEY_PAIR_GEN",
        }
    }
}

/// What a key pair's private key may do in the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairUsage {
    Sign,
    Decrypt,
    Derive,
}

/// Hash functions of the signing, MAC and OAEP algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha224 => 28,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// The digest of `data` (computed on the host: only for data that is not secret, and
    /// inside OAEP decoding, whose buffers are zeroised by the caller).
    /// The digest of `data` written into `out` (cleared first; reserve
    /// [`Hash::output_len`] bytes so it does not grow), the digest's stack copy wiped.
    pub fn digest_into(self, data: &[u8], out: &mut Vec<u8>) {
        use zeroize::Zeroize as _;
        fn into<D: Digest>(data: &[u8], out: &mut Vec<u8>) {
            let mut d = D::digest(data);
            out.extend_from_slice(&d);
            d.as_mut_slice().zeroize();
        }
        out.clear();
        match self {
            Hash::Sha1 => into::<Sha1>(data, out),
            Hash::Sha224 => into::<Sha224>(data, out),
            Hash::Sha256 => into::<Sha256>(data, out),
            Hash::Sha384 => into::<Sha384>(data, out),
            Hash::Sha512 => into::<Sha512>(data, out),
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha1 => Sha1::digest(data).to_vec(),
            Hash::Sha224 => Sha224::digest(data).to_vec(),
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// A signature scheme and what its input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignScheme {
    /// RSASSA-PKCS1-v1_5 over a digest of this hash.
    RsaPkcs1(Hash),
    /// RSASSA-PSS over a digest of this hash, MGF1 with the same hash, salt = hash length.
    RsaPss(Hash),
    /// ECDSA over a digest; signatures are DER `ECDSA-Sig-Value` on the wire.
    Ecdsa(Curve),
    /// Pure Ed25519 over the message itself.
    Ed25519,
}

impl SignScheme {
    /// The PKCS#11 mechanism's name (for error messages).
    pub fn mechanism_name(self) -> &'static str {
        match self {
            SignScheme::RsaPkcs1(_) => "CKM_RSA_PKCS",
            SignScheme::RsaPss(_) => "CKM_RSA_PKCS_PSS",
            SignScheme::Ecdsa(_) => "CKM_ECDSA",
            SignScheme::Ed25519 => "CKM_EDDSA",
        }
    }
}

/// Hashes for RSA-OAEP (the hash and MGF1 use the same function, empty label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OaepHash {
    Sha1,
    Sha256,
}

impl OaepHash {
    /// The hash function itself.
    pub fn hash(self) -> Hash {
        match self {
            OaepHash::Sha1 => Hash::Sha1,
            OaepHash::Sha256 => Hash::Sha256,
        }
    }
}

/// The wrapping algorithms hsm-kms accepts for imported key material (AWS's, minus the
/// retired RSAES_PKCS1_V1_5 and the China-only SM2PKE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrappingAlgorithm {
    RsaesOaepSha1,
    RsaesOaepSha256,
    RsaAesKeyWrapSha1,
    RsaAesKeyWrapSha256,
}

impl WrappingAlgorithm {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RSAES_OAEP_SHA_1" => Some(Self::RsaesOaepSha1),
            "RSAES_OAEP_SHA_256" => Some(Self::RsaesOaepSha256),
            "RSA_AES_KEY_WRAP_SHA_1" => Some(Self::RsaAesKeyWrapSha1),
            "RSA_AES_KEY_WRAP_SHA_256" => Some(Self::RsaAesKeyWrapSha256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
            Self::RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
            Self::RsaAesKeyWrapSha1 => "RSA_AES_KEY_WRAP_SHA_1",
            Self::RsaAesKeyWrapSha256 => "RSA_AES_KEY_WRAP_SHA_256",
        }
    }

    /// The OAEP hash of the RSA step.
    pub fn oaep_hash(self) -> OaepHash {
        match self {
            Self::RsaesOaepSha1 | Self::RsaAesKeyWrapSha1 => OaepHash::Sha1,
            Self::RsaesOaepSha256 | Self::RsaAesKeyWrapSha256 => OaepHash::Sha256,
        }
    }

    /// Whether the material follows the RSA-wrapped ephemeral AES key, wrapped under it
    /// with AES key wrap (RFC 5649).
    pub fn aes_key_wrap(self) -> bool {
        matches!(self, Self::RsaAesKeyWrapSha1 | Self::RsaAesKeyWrapSha256)
    }
}

/// The token object imported material becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaterialKind {
    /// An AES key of exactly this many bytes (SYMMETRIC_DEFAULT: 32).
    Aes { len: usize },
    /// An HMAC key (CKK_GENERIC_SECRET) of exactly this many bytes (HMAC_224: 28, ...).
    Hmac { len: usize },
    /// A private key from PKCS#8 DER, of this kind (curve or modulus size), usable for
    /// `usage` only. Unwrapped only with CKM_AES_KEY_WRAP_PAD (RSA_AES_KEY_WRAP_*): the
    /// token parses the PKCS#8 itself.
    PrivateKey { kind: PairKind, usage: PairUsage },
}

impl MaterialKind {
    /// The exact length of secret-key material; None for private keys (checked by key
    /// type instead).
    pub fn expected_len(self) -> Option<usize> {
        match self {
            MaterialKind::Aes { len } | MaterialKind::Hmac { len } => Some(len),
            MaterialKind::PrivateKey { .. } => None,
        }
    }

    /// Whether the material is a private key (its public key comes back from the unwrap).
    pub fn is_private_key(self) -> bool {
        matches!(self, MaterialKind::PrivateKey { .. })
    }
}
