//! KMS keys as the service keeps them: the wire enums of the service model (key state,
//! key spec, key usage, origin), tags, key material versions, imported material, the
//! multi-Region role, and the key record the metadata store holds.

use serde::{Deserialize, Serialize};

use super::ids::{key_arn, KeyId};
use super::region::Region;
use super::time::Timestamp;

/// The key states of AWS KMS (key-state.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    Creating,
    Enabled,
    Disabled,
    PendingDeletion,
    PendingImport,
    PendingReplicaDeletion,
    Unavailable,
    Updating,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Creating => "Creating",
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
            KeyState::Unavailable => "Unavailable",
            KeyState::Updating => "Updating",
        }
    }
}

/// Macro to define string enums that mirror the service model's enums.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }
        impl $name {
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($text => Some($name::$variant),)+ _ => None } }
        }
    };
}

wire_enum!(
    /// KeySpec values hsm-kms knows (the service model has more; those are refused).
    KeySpec {
        SymmetricDefault = "SYMMETRIC_DEFAULT",
        Rsa2048 = "RSA_2048",
        Rsa3072 = "RSA_3072",
        Rsa4096 = "RSA_4096",
        EccNistP256 = "ECC_NIST_P256",
        EccNistP384 = "ECC_NIST_P384",
        EccNistP521 = "ECC_NIST_P521",
        EccSecgP256k1 = "ECC_SECG_P256K1",
        EccNistEdwards25519 = "ECC_NIST_EDWARDS25519",
        Hmac224 = "HMAC_224",
        Hmac256 = "HMAC_256",
        Hmac384 = "HMAC_384",
        Hmac512 = "HMAC_512",
        Sm2 = "SM2",
        MlDsa44 = "ML_DSA_44",
        MlDsa65 = "ML_DSA_65",
        MlDsa87 = "ML_DSA_87",
    }
);

wire_enum!(KeyUsage {
    EncryptDecrypt = "ENCRYPT_DECRYPT",
    SignVerify = "SIGN_VERIFY",
    GenerateVerifyMac = "GENERATE_VERIFY_MAC",
    KeyAgreement = "KEY_AGREEMENT",
});

wire_enum!(Origin {
    AwsKms = "AWS_KMS",
    External = "EXTERNAL",
    AwsCloudhsm = "AWS_CLOUDHSM",
    ExternalKeyStore = "EXTERNAL_KEY_STORE",
});

/// A tag, kept in insertion order as AWS lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// One version of a key's material. The secret itself lives only in the Region's token, in
/// an object labelled [`MaterialRecord::token_label`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaterialRecord {
    /// 64 lowercase hex digits, as AWS's KeyMaterialId.
    pub id: String,
    pub created: Timestamp,
    /// How this material came to be: `None` for the key's first material, otherwise the
    /// rotation that made it (`AUTOMATIC` or `ON_DEMAND`, as ListKeyRotations shows).
    #[serde(default)]
    pub rotation_type: Option<String>,
    /// Key pairs only: the DER SubjectPublicKeyInfo (base64) read from the token when the
    /// pair was generated. Public, so it travels with the metadata: every Region of a
    /// multi-Region key returns the same bytes and verifies against them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

impl MaterialRecord {
    /// The CKA_LABEL of the token object holding this material.
    pub fn token_label(&self, key_id: &KeyId) -> String {
        material_token_label(key_id, &self.id)
    }
}

/// The CKA_LABEL of the token object holding material `material_id` of `key_id` (also
/// once the metadata no longer lists it, to destroy it).
pub fn material_token_label(key_id: &KeyId, material_id: &str) -> String {
    format!("{key_id}/{material_id}")
}

/// A fresh key material id: 32 random bytes, hex encoded.
pub fn new_material_id() -> String {
    random_hex::<32>()
}

/// `N` random bytes from the operating system, hex encoded.
pub fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    hex::encode(bytes)
}

/// A KMS key in one Region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key_id: KeyId,
    pub region: Region,
    pub account_id: String,
    pub created: Timestamp,
    pub description: String,
    pub key_spec: KeySpec,
    pub key_usage: KeyUsage,
    pub origin: Origin,
    pub state: KeyState,
    pub deletion_date: Option<Timestamp>,
    pub pending_window_days: Option<u32>,
    pub policy: String,
    pub tags: Vec<Tag>,
    /// Every material version, oldest first. The last one is current (skipping imported
    /// material that is pending rotation, see [`KeyRecord::current_material`]).
    pub materials: Vec<MaterialRecord>,
    pub rotation_enabled: bool,
    pub rotation_period_days: Option<u32>,
    /// The key's role when it is a multi-Region key (its id starts with `mrk-`).
    #[serde(default)]
    pub multi_region: Option<MultiRegionRole>,
    /// When automatic rotation next happens (rotation enabled only).
    #[serde(default)]
    pub next_rotation: Option<Timestamp>,
    /// On-demand rotations performed so far (AWS allows 25 per key).
    #[serde(default)]
    pub on_demand_rotations: u32,
    /// When the on-demand rotation in progress was requested.
    #[serde(default)]
    pub rotation_started: Option<Timestamp>,
    /// Origin EXTERNAL: every key material imported into this key (or, for a multi-Region
    /// replica, expected from its primary), with its key check value and import state.
    #[serde(default)]
    pub imported: Vec<ImportedMaterial>,
}

/// Imported key material as the metadata knows it. The secret is in the token (while
/// imported) as the material object of the same id; the key check value, computed in a
/// token, tells whether material imported later is the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedMaterial {
    /// The key material id (derived from the key id and the key check value).
    pub id: String,
    /// Hex key check value (AES-GCM tag of a fixed block, computed in the token).
    pub kcv: String,
    /// When it was last imported into this key; `None` while it is only known from the
    /// key's multi-Region family.
    #[serde(default)]
    pub imported_at: Option<Timestamp>,
    /// Whether the material is in this key's token now.
    #[serde(default)]
    pub in_token: bool,
    /// `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE` (of the current import).
    #[serde(default)]
    pub expiration_model: Option<String>,
    #[serde(default)]
    pub valid_to: Option<Timestamp>,
    #[serde(default)]
    pub description: Option<String>,
    /// Imported as NEW_KEY_MATERIAL after the first import and not yet made current by
    /// RotateKeyOnDemand (PENDING_ROTATION, or PENDING_MULTI_REGION_IMPORT_AND_ROTATION
    /// while a related key lacks it). Shared by every key of a multi-Region family.
    #[serde(default)]
    pub pending_rotation: bool,
    /// The rotation that made this material current (`ON_DEMAND`), and when; `None` for
    /// the key's first material. Kept here because the material itself may leave the
    /// token (deletion, expiry) and come back.
    #[serde(default)]
    pub rotation_type: Option<String>,
    #[serde(default)]
    pub rotated_at: Option<Timestamp>,
}

/// ExpirationModel of imported material that leaves the token at its ValidTo.
pub const KEY_MATERIAL_EXPIRES: &str = "KEY_MATERIAL_EXPIRES";
/// ExpirationModel of imported material that stays until deleted.
pub const KEY_MATERIAL_DOES_NOT_EXPIRE: &str = "KEY_MATERIAL_DOES_NOT_EXPIRE";

impl ImportedMaterial {
    /// When this material leaves the token: its ValidTo while it is in the token under
    /// KEY_MATERIAL_EXPIRES; `None` otherwise.
    pub fn expires_at(&self) -> Option<Timestamp> {
        let expiring =
            self.in_token && self.expiration_model.as_deref() == Some(KEY_MATERIAL_EXPIRES);
        self.valid_to.filter(|_| expiring)
    }
}

/// Whether a multi-Region key is the primary or a replica. The rest of the
/// MultiRegionConfiguration (which Regions hold related keys) is derived from the keys
/// that exist, so it is consistent in every Region after every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MultiRegionRole {
    Primary,
    Replica,
}

impl KeyRecord {
    pub fn arn(&self) -> String {
        key_arn(self.region, &self.account_id, &self.key_id)
    }

    pub fn is_primary(&self) -> bool {
        self.multi_region == Some(MultiRegionRole::Primary)
    }

    /// The material that encrypts: the last one, skipping imported material that is
    /// only pending rotation.
    pub fn current_material(&self) -> Option<&MaterialRecord> {
        self.materials.iter().rev().find(|m| {
            !self
                .imported
                .iter()
                .any(|i| i.id == m.id && i.pending_rotation)
        })
    }

    pub fn material(&self, id: &str) -> Option<&MaterialRecord> {
        self.materials.iter().find(|m| m.id == id)
    }

    /// Origin EXTERNAL: the current imported material as the metadata knows it (whether
    /// or not it is in the token now): the last one that is not pending rotation.
    pub fn current_import(&self) -> Option<&ImportedMaterial> {
        self.imported.iter().rev().find(|m| !m.pending_rotation)
    }

    /// Origin EXTERNAL: the imported material pending rotation, if any (at most one).
    pub fn pending_import(&self) -> Option<&ImportedMaterial> {
        self.imported.iter().find(|m| m.pending_rotation)
    }

    /// Origin EXTERNAL: whether material was ever imported into this key itself (not
    /// only known from its multi-Region family).
    pub fn imported_here(&self) -> bool {
        self.imported.iter().any(|m| m.imported_at.is_some())
    }
}
