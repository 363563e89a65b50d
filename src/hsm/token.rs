//! One Region's token: a long-lived logged-in session that keeps the login and object
//! handles alive, a pool of work sessions, and the map from key-material labels to object
//! handles (built once at startup, so no C_FindObjects runs on a request path).

use std::collections::HashMap;

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use parking_lot::{Mutex, RwLock};
use zeroize::Zeroizing;

use super::HsmError;
use crate::kms::region::Region;

/// How key material may leave its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extractability {
    /// Never (single-Region keys, imported material).
    Never,
    /// Only wrapped under a key the token's Security Officer marked trusted
    /// (CKA_WRAP_WITH_TRUSTED): multi-Region keys.
    WrappedUnderTrustedKey,
}

/// A served Region's token.
pub struct RegionToken {
    region: Region,
    pkcs11: Pkcs11,
    slot: Slot,
    /// Keeps the user login (and thereby private object handles) alive.
    _login: Mutex<Session>,
    pool: Mutex<Vec<Session>>,
    handles: RwLock<HashMap<String, ObjectHandle>>,
    /// SoftHSM 2.6.1 races on concurrent object creation/destruction: serialise them.
    create_lock: Mutex<()>,
}

const GCM_TAG_BITS: u64 = 128;

impl RegionToken {
    /// Logs in and maps every key-material object of the token by label.
    pub fn open(
        pkcs11: &Pkcs11,
        region: Region,
        slot: Slot,
        user_pin: &str,
    ) -> Result<RegionToken, HsmError> {
        let err = |call: &'static str| {
            move |error| HsmError::Pkcs11 {
                call,
                region: region.to_string(),
                error,
            }
        };
        let login = pkcs11.open_rw_session(slot).map_err(err("C_OpenSession"))?;
        match login.login(
            UserType::User,
            Some(&AuthPin::new(user_pin.to_string().into())),
        ) {
            Ok(()) => {}
            Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::UserAlreadyLoggedIn,
                _,
            )) => {}
            Err(e) => return Err(err("C_Login")(e)),
        }
        let mut handles = HashMap::new();
        let found = login
            .find_objects(&[Attribute::Token(true)])
            .map_err(err("C_FindObjects"))?;
        for handle in found {
            let attrs = login
                .get_attributes(handle, &[AttributeType::Label])
                .map_err(err("C_GetAttributeValue"))?;
            for attr in attrs {
                if let Attribute::Label(bytes) = attr {
                    handles.insert(String::from_utf8_lossy(&bytes).into_owned(), handle);
                }
            }
        }
        tracing::info!(%region, objects = handles.len(), "token ready");
        Ok(RegionToken {
            region,
            pkcs11: pkcs11.clone(),
            slot,
            _login: Mutex::new(login),
            pool: Mutex::new(Vec::new()),
            handles: RwLock::new(handles),
            create_lock: Mutex::new(()),
        })
    }

    pub fn region(&self) -> Region {
        self.region
    }

    fn p11(&self, call: &'static str) -> impl Fn(cryptoki::error::Error) -> HsmError + '_ {
        move |error| HsmError::Pkcs11 {
            call,
            region: self.region.to_string(),
            error,
        }
    }

    /// Runs `f` with a work session from the pool (opening one if the pool is empty).
    fn with_session<R>(
        &self,
        f: impl FnOnce(&Session) -> Result<R, HsmError>,
    ) -> Result<R, HsmError> {
        let session = match self.pool.lock().pop() {
            Some(s) => s,
            None => self
                .pkcs11
                .open_rw_session(self.slot)
                .map_err(self.p11("C_OpenSession"))?,
        };
        let result = f(&session);
        let broken = matches!(
            &result,
            Err(HsmError::Pkcs11 {
                error: cryptoki::error::Error::Pkcs11(
                    cryptoki::error::RvError::SessionHandleInvalid
                        | cryptoki::error::RvError::SessionClosed,
                    _
                ),
                ..
            })
        );
        if !broken {
            self.pool.lock().push(session);
        }
        result
    }

    fn handle(&self, label: &str) -> Result<ObjectHandle, HsmError> {
        self.handles
            .read()
            .get(label)
            .copied()
            .ok_or_else(|| HsmError::MissingObject(label.to_string()))
    }

    /// True when the token holds an object with this label.
    pub fn has_object(&self, label: &str) -> bool {
        self.handles.read().contains_key(label)
    }

    /// Every object label in the token (for startup reconciliation).
    pub fn labels(&self) -> Vec<String> {
        self.handles.read().keys().cloned().collect()
    }

    /// Generates an AES-256 key inside the token as a token object labelled `label`.
    pub fn generate_aes256(&self, label: &str, extract: Extractability) -> Result<(), HsmError> {
        let extractable = extract == Extractability::WrappedUnderTrustedKey;
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(32.into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(extractable),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Derive(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(label.as_bytes().to_vec()),
        ];
        if extractable {
            template.push(Attribute::WrapWithTrusted(true));
        }
        let _guard = self.create_lock.lock();
        let handle = self.with_session(|s| {
            s.generate_key(&Mechanism::AesKeyGen, &template)
                .map_err(self.p11("C_GenerateKey"))
        })?;
        self.handles.write().insert(label.to_string(), handle);
        Ok(())
    }

    /// Destroys the object labelled `label` (no error when it is already gone).
    pub fn destroy(&self, label: &str) -> Result<(), HsmError> {
        let Some(handle) = self.handles.read().get(label).copied() else {
            return Ok(());
        };
        let _guard = self.create_lock.lock();
        self.with_session(|s| {
            s.destroy_object(handle)
                .map_err(self.p11("C_DestroyObject"))
        })?;
        self.handles.write().remove(label);
        Ok(())
    }

    /// AES-GCM encryption inside the token: returns ciphertext followed by the 16-byte tag.
    pub fn aes_gcm_encrypt(
        &self,
        label: &str,
        iv: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, HsmError> {
        let key = self.handle(label)?;
        let mut iv = *iv;
        self.with_session(|s| {
            let params = GcmParams::new(&mut iv, aad, GCM_TAG_BITS.into())
                .map_err(|e| HsmError::Module(format!("GCM parameters: {e}")))?;
            s.encrypt(&Mechanism::AesGcm(params), key, plaintext)
                .map_err(self.p11("C_Encrypt"))
        })
    }

    /// AES-GCM decryption inside the token. A failed tag check (SoftHSM2 reports it as
    /// CKR_GENERAL_ERROR or CKR_ENCRYPTED_DATA_INVALID) is [`HsmError::AuthenticationFailed`].
    pub fn aes_gcm_decrypt(
        &self,
        label: &str,
        iv: &[u8; 12],
        aad: &[u8],
        ciphertext_and_tag: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        let key = self.handle(label)?;
        let mut iv = *iv;
        self.with_session(|s| {
            let params = GcmParams::new(&mut iv, aad, GCM_TAG_BITS.into())
                .map_err(|e| HsmError::Module(format!("GCM parameters: {e}")))?;
            match s.decrypt(&Mechanism::AesGcm(params), key, ciphertext_and_tag) {
                Ok(pt) => Ok(Zeroizing::new(pt)),
                Err(cryptoki::error::Error::Pkcs11(rv, _)) => {
                    use cryptoki::error::RvError;
                    match rv {
                        RvError::GeneralError
                        | RvError::EncryptedDataInvalid
                        | RvError::EncryptedDataLenRange => Err(HsmError::AuthenticationFailed),
                        other => Err(self.p11("C_Decrypt")(cryptoki::error::Error::Pkcs11(
                            other,
                            cryptoki::context::Function::Decrypt,
                        ))),
                    }
                }
                Err(e) => Err(self.p11("C_Decrypt")(e)),
            }
        })
    }

    /// `len` random bytes from the token's RNG.
    pub fn random(&self, len: usize) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        self.with_session(|s| {
            s.generate_random_vec(len as u32)
                .map(Zeroizing::new)
                .map_err(self.p11("C_GenerateRandom"))
        })
    }

    /// Reads an attribute's availability (for tests at the PKCS#11 level).
    pub fn value_is_readable(&self, label: &str) -> Result<bool, HsmError> {
        let key = self.handle(label)?;
        self.with_session(|s| match s.get_attributes(key, &[AttributeType::Value]) {
            Ok(attrs) => Ok(attrs.iter().any(|a| matches!(a, Attribute::Value(_)))),
            Err(_) => Ok(false),
        })
    }
}
