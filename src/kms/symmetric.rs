//! Symmetric encryption with a KMS key: AES-256-GCM inside the key's Region token, in the
//! ciphertext format of [`super::ciphertext`]. Shared by Encrypt, Decrypt, ReEncrypt and
//! the GenerateDataKey family.

use std::sync::Arc;

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use super::ciphertext::{self, IV_LEN};
use super::error::{ErrorKind, KmsError, KmsResult};
use super::service::Kms;
use super::wire::EncryptionContext;
use crate::domain::key::{KeyRecord, KeySpec, KeyUsage};
use crate::domain::region::Region;

/// The only algorithm of symmetric keys.
pub const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";

/// Refuses keys that cannot encrypt symmetrically, with AWS's InvalidKeyUsageException.
pub fn require_symmetric(key: &KeyRecord, operation: &str) -> KmsResult<()> {
    if key.key_usage != KeyUsage::EncryptDecrypt {
        return Err(KmsError::new(
            ErrorKind::InvalidKeyUsage,
            format!(
                "{} key usage is {} which is not valid for {operation}.",
                key.arn(),
                key.key_usage.as_str()
            ),
        ));
    }
    if key.key_spec != KeySpec::SymmetricDefault {
        return Err(KmsError::new(
            ErrorKind::InvalidKeyUsage,
            format!(
                "{} key spec is {} which is not valid for {operation}.",
                key.arn(),
                key.key_spec.as_str()
            ),
        ));
    }
    Ok(())
}

/// Refuses an EncryptionAlgorithm other than SYMMETRIC_DEFAULT for a symmetric key.
pub fn require_algorithm(key: &KeyRecord, algorithm: Option<&str>) -> KmsResult<()> {
    match algorithm {
        None | Some(SYMMETRIC_DEFAULT) => Ok(()),
        Some(other) => Err(KmsError::new(
            ErrorKind::InvalidKeyUsage,
            format!(
                "Algorithm {other} is incompatible with key spec {}.",
                key.key_spec.as_str()
            ),
        )),
    }
}

/// Encrypts `plaintext` under the key's current material. Returns the ciphertext blob and
/// the material id used.
pub fn encrypt(
    kms: &Kms,
    key: &KeyRecord,
    plaintext: &[u8],
    context: &EncryptionContext,
) -> KmsResult<(Vec<u8>, String)> {
    let material = key
        .current_material()
        .ok_or_else(|| KmsError::invalid_state(format!("{} has no key material.", key.arn())))?;
    // One more random IV under this material: counted, and refused past the budget.
    if kms
        .budget
        .take(key, &material.id, |w| kms.commit(vec![w]))?
    {
        super::rotation::for_encryption_budget(kms, key, &material.id);
    }
    let mut iv = [0u8; IV_LEN];
    OsRng.fill_bytes(&mut iv);
    let mut blob = ciphertext::header(&key.key_id, &material.id, &iv)
        .ok_or_else(|| KmsError::internal("cannot build a ciphertext header"))?;
    let aad = ciphertext::aad(&blob, context);
    let body = kms
        .token(key.region)?
        .aes_gcm_encrypt(&material.token_label(&key.key_id), &iv, &aad, plaintext)
        .map_err(Kms::hsm_error)?;
    blob.extend_from_slice(&body);
    Ok((blob, material.id.clone()))
}

/// What a successful decryption yields.
pub struct Decrypted {
    pub material_id: String,
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// The key of `region` a ciphertext blob names. `named` is the key the caller named
/// (KeyId/SourceKeyId), if any: another key than the ciphertext's is
/// IncorrectKeyException. Not a ciphertext of ours, or of a key that does not exist
/// here: InvalidCiphertextException.
pub fn ciphertext_key(
    kms: &Kms,
    region: Region,
    blob: &[u8],
    named: Option<&KeyRecord>,
) -> KmsResult<Arc<KeyRecord>> {
    let parsed = ciphertext::parse(blob).map_err(|_| KmsError::invalid_ciphertext())?;
    if named.is_some_and(|named| named.key_id != parsed.key_id) {
        return Err(KmsError::new(
            ErrorKind::IncorrectKey,
            "The key ID in the request does not identify a CMK that can perform this operation.",
        ));
    }
    kms.get_key(region, &parsed.key_id)
        .ok_or_else(KmsError::invalid_ciphertext)
}

/// Decrypts a ciphertext blob of `key` (found by [`ciphertext_key`], its usage and state
/// checked by the caller) inside the key's Region token.
pub fn decrypt(
    kms: &Kms,
    key: &KeyRecord,
    blob: &[u8],
    context: &EncryptionContext,
) -> KmsResult<Decrypted> {
    let parsed = ciphertext::parse(blob).map_err(|_| KmsError::invalid_ciphertext())?;
    let material = key
        .material(&parsed.material_id)
        .ok_or_else(KmsError::invalid_ciphertext)?;
    let aad = ciphertext::aad(parsed.header, context);
    let plaintext = kms
        .token(key.region)?
        .aes_gcm_decrypt(
            &material.token_label(&key.key_id),
            &parsed.iv,
            &aad,
            parsed.body,
        )
        .map_err(Kms::hsm_error)?;
    let material_id = material.id.clone();
    Ok(Decrypted {
        material_id,
        plaintext,
    })
}
