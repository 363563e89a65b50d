//! Asymmetric and HMAC KMS keys in the service layer: which token objects a spec maps to,
//! the usage and algorithm checks with AWS's wording, signing input (RAW / DIGEST), RSA
//! encryption (public key on the host, private key in the token), and the mapping of
//! token errors to UnsupportedOperationException when the token lacks a mechanism.
//! Shared by Sign, Verify, GetPublicKey, GenerateMac, VerifyMac, DeriveSharedSecret, the
//! GenerateDataKeyPair family and the RSA paths of Encrypt, Decrypt and ReEncrypt.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use zeroize::Zeroizing;

use super::error::{ErrorKind, KmsError, KmsResult};
use super::key_spec;
use super::service::Kms;
use super::wire::EncryptionContext;
use crate::domain::key::{KeyRecord, KeySpec, KeyUsage};
use crate::domain::region::Region;
use crate::domain::request::ConditionValues;
use crate::hsm::Extractability;
use crate::hsm::{self, Curve, Hash, OaepHash, PairKind, PairUsage, SignScheme};
use crate::hsm::{HsmError, RegionToken};

/// The key pair a key spec is, if it is one the token layer knows.
pub fn pair_kind(spec: KeySpec) -> Option<PairKind> {
    Some(match spec {
        KeySpec::Rsa2048 => PairKind::Rsa(2048),
        KeySpec::Rsa3072 => PairKind::Rsa(3072),
        KeySpec::Rsa4096 => PairKind::Rsa(4096),
        KeySpec::EccNistP256 => PairKind::Ec(Curve::P256),
        KeySpec::EccNistP384 => PairKind::Ec(Curve::P384),
        KeySpec::EccNistP521 => PairKind::Ec(Curve::P521),
        KeySpec::EccSecgP256k1 => PairKind::Ec(Curve::Secp256k1),
        KeySpec::EccNistEdwards25519 => PairKind::Ec(Curve::Ed25519),
        _ => return None,
    })
}

/// The key pair of a GenerateDataKeyPair KeyPairSpec.
pub fn data_key_pair_kind(spec: &str) -> Option<PairKind> {
    KeySpec::parse(spec).and_then(pair_kind)
}

/// The length in bytes of an HMAC key spec's key.
pub fn hmac_len(spec: KeySpec) -> Option<usize> {
    Some(match spec {
        KeySpec::Hmac224 => 28,
        KeySpec::Hmac256 => 32,
        KeySpec::Hmac384 => 48,
        KeySpec::Hmac512 => 64,
        _ => return None,
    })
}

/// The hash of a MacAlgorithm.
pub fn mac_hash(algorithm: &str) -> Option<Hash> {
    Some(match algorithm {
        "HMAC_SHA_224" => Hash::Sha224,
        "HMAC_SHA_256" => Hash::Sha256,
        "HMAC_SHA_384" => Hash::Sha384,
        "HMAC_SHA_512" => Hash::Sha512,
        _ => return None,
    })
}

/// Maps a token error: a mechanism, curve or parameter the token lacks is
/// UnsupportedOperationException saying what `what` needed; anything else is internal.
pub fn token_error(e: HsmError, region: Region, what: &str) -> KmsError {
    if hsm::is_unsupported(&e) {
        tracing::warn!(%region, "token cannot {what}: {e}");
        let rv = match &e {
            HsmError::Pkcs11 { error, .. } => error.to_string(),
            other => other.to_string(),
        };
        return KmsError::unsupported(format!(
            "The PKCS#11 token of Region {region} cannot {what}: {rv}."
        ));
    }
    Kms::hsm_error(e)
}

/// Generates a key pair for a new KMS key (private key = token object `label`); returns
/// the public key (base64 DER SubjectPublicKeyInfo) to store with the material.
pub fn generate_pair(
    token: &RegionToken,
    label: &str,
    spec: KeySpec,
    kind: PairKind,
    usage: KeyUsage,
    extractability: Extractability,
) -> KmsResult<String> {
    let pair_usage = match usage {
        KeyUsage::SignVerify => PairUsage::Sign,
        KeyUsage::EncryptDecrypt => PairUsage::Decrypt,
        KeyUsage::KeyAgreement => PairUsage::Derive,
        KeyUsage::GenerateVerifyMac => {
            return Err(KmsError::validation(format!(
                "KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec {}",
                spec.as_str()
            )))
        }
    };
    let what = match kind {
        PairKind::Ec(curve) => format!(
            "generate an {} key pair ({} on curve {})",
            spec.as_str(),
            kind.generation_mechanism(),
            curve.name()
        ),
        PairKind::Rsa(_) => format!(
            "generate an {} key pair ({})",
            spec.as_str(),
            kind.generation_mechanism()
        ),
    };
    let spki = token
        .generate_pair_material(label, kind, pair_usage, extractability)
        .map_err(|e| token_error(e, token.region(), &what))?;
    Ok(B64.encode(spki))
}

/// AWS's InvalidKeyUsageException for a key used by an operation its usage does not allow:
/// "<arn> key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."
pub fn require_usage(key: &KeyRecord, usage: KeyUsage, operation: &str) -> KmsResult<()> {
    if key.key_usage != usage {
        return Err(KmsError::new(
            ErrorKind::InvalidKeyUsage,
            format!(
                "{} key usage is {} which is not valid for {operation}.",
                key.arn(),
                key.key_usage.as_str()
            ),
        ));
    }
    Ok(())
}

/// The hash of a MacAlgorithm the key's spec allows (GenerateMac and VerifyMac), or
/// AWS's InvalidKeyUsageException for an algorithm incompatible with the key spec.
pub fn mac_hash_for(key: &KeyRecord, algorithm: &str) -> KmsResult<Hash> {
    mac_hash(algorithm)
        .filter(|_| key_spec::rule(key.key_spec).mac.contains(&algorithm))
        .ok_or_else(|| incompatible(algorithm, key))
}

/// AWS's InvalidKeyUsageException for an algorithm the key spec does not have:
/// "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224."
pub fn incompatible(algorithm: &str, key: &KeyRecord) -> KmsError {
    KmsError::new(
        ErrorKind::InvalidKeyUsage,
        format!(
            "Algorithm {algorithm} is incompatible with key spec {}.",
            key.key_spec.as_str()
        ),
    )
}

/// The token label of the key's (only) material.
pub fn material_label(key: &KeyRecord) -> KmsResult<String> {
    key.current_material()
        .map(|m| m.token_label(&key.key_id))
        .ok_or_else(|| KmsError::invalid_state(format!("{} has no key material.", key.arn())))
}

/// The key's public key: its kind and DER SubjectPublicKeyInfo.
pub fn public_key(key: &KeyRecord) -> KmsResult<(PairKind, Vec<u8>)> {
    let kind = pair_kind(key.key_spec).ok_or_else(|| {
        KmsError::unsupported(format!(
            "{} key spec is {} which is not valid for GetPublicKey.",
            key.arn(),
            key.key_spec.as_str()
        ))
    })?;
    let encoded = key
        .current_material()
        .and_then(|m| m.public_key.as_deref())
        .ok_or_else(|| KmsError::invalid_state(format!("{} has no public key.", key.arn())))?;
    let der = B64
        .decode(encoded)
        .map_err(|e| KmsError::internal(format!("stored public key of {}: {e}", key.key_id)))?;
    Ok((kind, der))
}

/// The condition values of Sign and Verify: `kms:SigningAlgorithm`, `kms:MessageType`.
pub fn signing_conditions(algorithm: &str, message_type: Option<&str>) -> ConditionValues {
    let mut values = ConditionValues::default();
    values.add("kms:SigningAlgorithm", algorithm);
    values.add("kms:MessageType", message_type.unwrap_or("RAW"));
    values
}

/// What to sign or verify for a SigningAlgorithm, MessageType and message: the scheme and
/// its input (the digest, or the message for Ed25519). AWS's checks and wording.
pub fn signing_input(
    key: &KeyRecord,
    algorithm: &str,
    message_type: Option<&str>,
    message: &[u8],
) -> KmsResult<(SignScheme, Vec<u8>)> {
    if !key_spec::rule(key.key_spec).signing.contains(&algorithm) {
        return Err(incompatible(algorithm, key));
    }
    let curve = match pair_kind(key.key_spec) {
        Some(PairKind::Ec(curve)) => Some(curve),
        _ => None,
    };
    let (scheme, hash) = match (algorithm, curve) {
        ("RSASSA_PSS_SHA_256", _) => (SignScheme::RsaPss(Hash::Sha256), Hash::Sha256),
        ("RSASSA_PSS_SHA_384", _) => (SignScheme::RsaPss(Hash::Sha384), Hash::Sha384),
        ("RSASSA_PSS_SHA_512", _) => (SignScheme::RsaPss(Hash::Sha512), Hash::Sha512),
        ("RSASSA_PKCS1_V1_5_SHA_256", _) => (SignScheme::RsaPkcs1(Hash::Sha256), Hash::Sha256),
        ("RSASSA_PKCS1_V1_5_SHA_384", _) => (SignScheme::RsaPkcs1(Hash::Sha384), Hash::Sha384),
        ("RSASSA_PKCS1_V1_5_SHA_512", _) => (SignScheme::RsaPkcs1(Hash::Sha512), Hash::Sha512),
        ("ECDSA_SHA_256", Some(c)) => (SignScheme::Ecdsa(c), Hash::Sha256),
        ("ECDSA_SHA_384", Some(c)) => (SignScheme::Ecdsa(c), Hash::Sha384),
        ("ECDSA_SHA_512", Some(c)) => (SignScheme::Ecdsa(c), Hash::Sha512),
        ("ED25519_SHA_512", _) => (SignScheme::Ed25519, Hash::Sha512),
        ("ED25519_PH_SHA_512", _) => {
            return Err(KmsError::unsupported(
                "ED25519_PH_SHA_512 (Ed25519ph) is not supported by hsm-kms: SoftHSM 2.6.1 \
                 implements CKM_EDDSA only as pure Ed25519 and ignores the Ed25519ph \
                 parameters. Use ED25519_SHA_512.",
            ))
        }
        (other, _) => {
            return Err(KmsError::unsupported(format!(
                "Signing algorithm {other} is not supported by hsm-kms."
            )))
        }
    };
    let message_type = message_type.unwrap_or("RAW");
    match message_type {
        "RAW" => {}
        "DIGEST" => {}
        "EXTERNAL_MU" => {
            return Err(KmsError::validation(format!(
                "The EXTERNAL_MU message type is only valid for ML_DSA key specs, not for {}.",
                key.key_spec.as_str()
            )))
        }
        other => {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [RAW, DIGEST, EXTERNAL_MU]"
            )))
        }
    }
    if scheme == SignScheme::Ed25519 {
        if message_type != "RAW" {
            return Err(KmsError::validation(
                "The ED25519_SHA_512 signing algorithm supports only the RAW message type.",
            ));
        }
        return Ok((scheme, message.to_vec()));
    }
    let input = if message_type == "DIGEST" {
        if message.len() != hash.output_len() {
            return Err(KmsError::validation(format!(
                "Digest is invalid length for algorithm {algorithm}."
            )));
        }
        message.to_vec()
    } else {
        hash.digest(message)
    };
    Ok((scheme, input))
}

/// Whether Encrypt/Decrypt/ReEncrypt take the RSA-OAEP path for this key.
pub fn is_rsa_encryption_key(key: &KeyRecord) -> bool {
    key.key_usage == KeyUsage::EncryptDecrypt
        && matches!(pair_kind(key.key_spec), Some(PairKind::Rsa(_)))
}

fn oaep_hash(key: &KeyRecord, algorithm: Option<&str>) -> KmsResult<(OaepHash, &'static str)> {
    match algorithm {
        Some("RSAES_OAEP_SHA_1") => Ok((OaepHash::Sha1, "RSAES_OAEP_SHA_1")),
        Some("RSAES_OAEP_SHA_256") => Ok((OaepHash::Sha256, "RSAES_OAEP_SHA_256")),
        other => Err(incompatible(other.unwrap_or("SYMMETRIC_DEFAULT"), key)),
    }
}

fn refuse_context(context: Option<&EncryptionContext>) -> KmsResult<()> {
    if context.is_some_and(|c| !c.is_empty()) {
        return Err(KmsError::validation(
            "EncryptionContext is not supported with asymmetric KMS keys: the RSAES_OAEP \
             algorithms take no encryption context.",
        ));
    }
    Ok(())
}

/// RSA-OAEP encryption under an RSA ENCRYPT_DECRYPT key (public key, on the host), whose
/// state the caller checked. Returns
/// the raw RSA-OAEP ciphertext (as AWS's) and the algorithm name.
pub fn rsa_encrypt(
    key: &KeyRecord,
    algorithm: Option<&str>,
    context: Option<&EncryptionContext>,
    plaintext: &[u8],
) -> KmsResult<(Vec<u8>, &'static str)> {
    let (hash, name) = oaep_hash(key, algorithm)?;
    refuse_context(context)?;
    let (kind, spki) = public_key(key)?;
    let PairKind::Rsa(bits) = kind else {
        return Err(incompatible(name, key));
    };
    let hash_len = match hash {
        OaepHash::Sha1 => 20,
        OaepHash::Sha256 => 32,
    };
    let max = (bits as usize) / 8 - 2 * hash_len - 2;
    if plaintext.len() > max {
        return Err(KmsError::validation(format!(
            "Algorithm {name} and key spec {} cannot encrypt data larger than {max} bytes.",
            key.key_spec.as_str()
        )));
    }
    use rsa::pkcs8::DecodePublicKey;
    let public = rsa::RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| KmsError::internal(format!("stored RSA public key: {e}")))?;
    let mut rng = rand_core::OsRng;
    let ciphertext = match hash {
        OaepHash::Sha1 => public.encrypt(&mut rng, rsa::Oaep::new::<sha1::Sha1>(), plaintext),
        OaepHash::Sha256 => public.encrypt(&mut rng, rsa::Oaep::new::<sha2::Sha256>(), plaintext),
    }
    .map_err(|e| KmsError::internal(format!("RSA-OAEP encryption: {e}")))?;
    Ok((ciphertext, name))
}

/// RSA-OAEP decryption with an RSA ENCRYPT_DECRYPT key (whose state the caller checked),
/// inside its Region's token.
pub fn rsa_decrypt(
    kms: &Kms,
    key: &KeyRecord,
    algorithm: Option<&str>,
    context: Option<&EncryptionContext>,
    ciphertext: &[u8],
) -> KmsResult<(Zeroizing<Vec<u8>>, &'static str)> {
    let (hash, name) = oaep_hash(key, algorithm)?;
    refuse_context(context)?;
    let label = material_label(key)?;
    let token = kms.token(key.region)?;
    let plaintext = token
        .rsa_oaep_decrypt(&label, hash, ciphertext)
        .map_err(|e| match e {
            HsmError::AuthenticationFailed => KmsError::invalid_ciphertext(),
            other => token_error(other, key.region, &format!("decrypt with {name}")),
        })?;
    Ok((plaintext, name))
}

/// The uncompressed public point of the DER SubjectPublicKeyInfo `spki` if it is a valid
/// point of `curve` (DeriveSharedSecret's PublicKey).
pub fn peer_point(curve: Curve, spki: &[u8]) -> Option<Vec<u8>> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::DecodePublicKey;
    Some(match curve {
        Curve::P256 => p256::PublicKey::from_public_key_der(spki)
            .ok()?
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::P384 => p384::PublicKey::from_public_key_der(spki)
            .ok()?
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::P521 => p521::PublicKey::from_public_key_der(spki)
            .ok()?
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::Secp256k1 => k256::PublicKey::from_public_key_der(spki)
            .ok()?
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::Ed25519 => return None,
    })
}
