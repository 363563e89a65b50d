//! One Region's token: a long-lived logged-in session that keeps the login and object
//! handles alive, a pool of work sessions, and the map from object labels to object
//! handles (built once at startup, so no C_FindObjects runs on a request path).
//!
//! The keys the process makes anew at every start — the key-encryption keys of key
//! transport and the import measuring key — are session objects of the long-lived
//! session ([`RegionToken::session_key`]): they never touch the disk and no other process
//! sees them.
//!
//! Opening a token also removes what an interrupted object creation left behind (kill -9
//! while SoftHSM writes an object): objects with neither a label nor an ID, which report
//! CKA_TOKEN=false and so escape a search for token objects; every object this service
//! makes has a label.
//!
//! Crypto operations on session-object copies of key material (made on first use) run
//! without touching SoftHSM2's object store lock; creation and destruction of objects are
//! serialised per token ([`RegionToken::creation_guard`]). The token's capabilities are
//! probed once here, at open ([`super::capabilities`]).
//!
//! Besides sessions and handles, this file holds the generic token primitives the other
//! files build on (key-pair generation, wrap/unwrap by label, a temporary Security
//! Officer login, attribute reads), and a few methods that exist for tests and for people
//! learning PKCS#11 ([`RegionToken::secret_access`],
//! [`RegionToken::try_wrap_under_untrusted_key`], [`RegionToken::count_objects`]).
//! The operations themselves live one concern per file (`aes_gcm`, `sign_verify`, `mac`,
//! `rsa_decrypt`, `ecdh`, `data_key_pair`, `generate`, `import`, `transport`).

use std::collections::HashMap;
use std::sync::Arc;

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use parking_lot::{Mutex, RwLock};
use zeroize::Zeroizing;

use super::capabilities::Capabilities;
use super::errors::{breaks_session, HsmError};
use super::mechanisms;
use super::raw::ArrayCalls;
use super::templates::{self, Template};
use crate::domain::region::Region;

/// What the token answers when asked for an attribute's value (C_GetAttributeValue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeAccess {
    /// The value can be read (this many bytes).
    Readable(usize),
    /// CKR_ATTRIBUTE_SENSITIVE: the object has the attribute but will not reveal it.
    Sensitive,
    /// The value length came back as CK_UNAVAILABLE_INFORMATION.
    Unavailable,
    /// CKR_ATTRIBUTE_TYPE_INVALID: the object has no such attribute.
    TypeInvalid,
}

/// A served Region's token.
pub struct RegionToken {
    region: Region,
    pkcs11: Pkcs11,
    slot: Slot,
    /// Keeps the user login (and thereby private object handles) alive.
    login: Mutex<Session>,
    /// Needed to log the user back in after a temporary Security Officer login.
    user_pin: AuthPin,
    pool: Mutex<Vec<Session>>,
    handles: RwLock<HashMap<String, ObjectHandle>>,
    /// Keys made anew at every start as session objects of the login session (KEKs, the
    /// measuring key), by label.
    session_keys: RwLock<HashMap<String, ObjectHandle>>,
    /// The calls whose templates hold array attributes (unwrap and wrap templates).
    raw: Arc<ArrayCalls>,
    /// Session-object copies of key material used for crypto (made on first use by the
    /// long-lived login session, so they live as long as it): SoftHSM2 locks its object
    /// store for every operation with a token object, not with a session object.
    hot: RwLock<HashMap<String, ObjectHandle>>,
    /// Session objects of public keys Verify runs with, by DER SubjectPublicKeyInfo: made
    /// once by the login session instead of created and destroyed for every request.
    public_objects: RwLock<HashMap<Vec<u8>, ObjectHandle>>,
    /// SoftHSM 2.6.1 races on concurrent object creation/destruction: serialise them.
    create_lock: Mutex<()>,
    /// What the token can do (probed once, at open).
    capabilities: Capabilities,
}

impl RegionToken {
    /// Logs in, removes the remains of interrupted object creations, probes the token's
    /// capabilities and maps every key-material object of the token by label.
    pub(crate) fn open(
        pkcs11: &Pkcs11,
        raw: Arc<ArrayCalls>,
        region: Region,
        slot: Slot,
        user_pin: &str,
    ) -> Result<RegionToken, HsmError> {
        let err = |call: &'static str| {
            move |error| HsmError::Pkcs11 {
                call,
                region,
                error,
            }
        };
        let login = pkcs11.open_rw_session(slot).map_err(err("C_OpenSession"))?;
        let user_pin = AuthPin::new(user_pin.to_string().into());
        match login.login(UserType::User, Some(&user_pin)) {
            Ok(()) => {}
            Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::UserAlreadyLoggedIn,
                _,
            )) => {}
            Err(e) => return Err(err("C_Login")(e)),
        }
        let orphans = sweep_orphans(&login, region)?;
        if orphans > 0 {
            tracing::warn!(
                %region,
                orphans,
                "destroyed objects with neither label nor ID (left by an interrupted object creation)"
            );
        }
        let capabilities = Capabilities::probe(pkcs11, slot, &login);
        let handles = scan_labels(&login, region)?;
        tracing::info!(%region, objects = handles.len(), "token ready");
        capabilities.log(region);
        Ok(RegionToken {
            region,
            pkcs11: pkcs11.clone(),
            slot,
            login: Mutex::new(login),
            user_pin,
            pool: Mutex::new(Vec::new()),
            handles: RwLock::new(handles),
            session_keys: RwLock::new(HashMap::new()),
            raw,
            hot: RwLock::new(HashMap::new()),
            public_objects: RwLock::new(HashMap::new()),
            create_lock: Mutex::new(()),
            capabilities,
        })
    }

    pub fn region(&self) -> Region {
        self.region
    }

    /// What the token can do (probed once, when it was opened).
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    pub(super) fn p11(
        &self,
        call: &'static str,
    ) -> impl Fn(cryptoki::error::Error) -> HsmError + '_ {
        move |error| HsmError::Pkcs11 {
            call,
            region: self.region,
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
        let broken = result.as_ref().is_err_and(breaks_session);
        if !broken {
            self.pool.lock().push(session);
        }
        result
    }

    /// Runs `f` with a work session from the pool (for the operation files of this
    /// module).
    pub(super) fn session<R>(
        &self,
        f: impl FnOnce(&Session) -> Result<R, HsmError>,
    ) -> Result<R, HsmError> {
        self.with_session(f)
    }

    /// Holds the token's object creation/destruction lock (SoftHSM 2.6.1 races without it).
    pub(super) fn creation_guard(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.create_lock.lock()
    }

    /// Maps `label` to a token object created while holding [`Self::creation_guard`].
    pub(super) fn insert_handle(&self, label: &str, handle: ObjectHandle) {
        self.handles.write().insert(label.to_string(), handle);
    }

    /// The object labelled `label`: a token object, or a key of this start
    /// ([`Self::session_key`]).
    pub(super) fn handle(&self, label: &str) -> Result<ObjectHandle, HsmError> {
        if let Some(h) = self.handles.read().get(label) {
            return Ok(*h);
        }
        self.session_key(label)
            .ok_or_else(|| HsmError::MissingObject(label.to_string()))
    }

    /// The key of this start labelled `label` (a session object of the login session).
    pub(super) fn session_key(&self, label: &str) -> Option<ObjectHandle> {
        self.session_keys.read().get(label).copied()
    }

    /// True when this start made (or received) the session key `label`.
    pub fn has_session_key(&self, label: &str) -> bool {
        self.session_keys.read().contains_key(label)
    }

    /// Forgets every session key and returns them (startup: they are made anew).
    pub(super) fn take_session_keys(&self) -> HashMap<String, ObjectHandle> {
        std::mem::take(&mut *self.session_keys.write())
    }

    /// Records session keys made in the login session.
    pub(super) fn add_session_keys(&self, keys: impl IntoIterator<Item = (String, ObjectHandle)>) {
        self.session_keys.write().extend(keys);
    }

    /// The calls with array attributes.
    pub(super) fn raw(&self) -> &ArrayCalls {
        &self.raw
    }

    /// True when the token holds an object with this label.
    pub fn has_object(&self, label: &str) -> bool {
        self.handles.read().contains_key(label)
    }

    /// Every object label in the token (for startup reconciliation).
    pub fn labels(&self) -> Vec<String> {
        self.handles.read().keys().cloned().collect()
    }

    /// Destroys the object labelled `label` (no error when it is already gone).
    pub fn destroy(&self, label: &str) -> Result<(), HsmError> {
        let Some(handle) = self.handles.read().get(label).copied() else {
            return Ok(());
        };
        let _guard = self.create_lock.lock();
        let copy = self.hot.write().remove(label);
        if let Some(copy) = copy.filter(|c| *c != handle) {
            let login = self.login.lock();
            if let Err(e) = login.destroy_object(copy) {
                tracing::warn!(region = %self.region, %label, "cannot destroy session copy: {e}");
            }
        }
        self.with_session(|s| {
            s.destroy_object(handle)
                .map_err(self.p11("C_DestroyObject"))
        })?;
        self.handles.write().remove(label);
        Ok(())
    }

    /// The session object of the public key `spki` (created from `template()` on first
    /// use by the long-lived login session, so it lasts as long as the process). Public
    /// keys are public data; keeping one object per key verified costs a few hundred bytes.
    pub(super) fn public_object(
        &self,
        spki: &[u8],
        template: impl FnOnce() -> Result<Vec<Attribute>, HsmError>,
    ) -> Result<ObjectHandle, HsmError> {
        if let Some(h) = self.public_objects.read().get(spki) {
            return Ok(*h);
        }
        let template = template()?;
        let _guard = self.create_lock.lock();
        if let Some(h) = self.public_objects.read().get(spki) {
            return Ok(*h);
        }
        let handle = self
            .login
            .lock()
            .create_object(&template)
            .map_err(self.p11("C_CreateObject"))?;
        self.public_objects.write().insert(spki.to_vec(), handle);
        Ok(handle)
    }

    /// Makes the session-object copy of `label` now rather than on its first use.
    pub fn warm(&self, label: &str) -> Result<(), HsmError> {
        self.copy_for_crypto(label, true).map(|_| ())
    }

    /// The object to run crypto with for `label`: a session-object copy of the token
    /// object, made on first use (falls back to the token object if the copy fails).
    /// Never waits for the creation lock: while another object is being created or
    /// destroyed (a key-pair generation can take seconds) the call runs with the token
    /// object and a later call makes the copy, so crypto on the request threads is not
    /// held up by key creation.
    pub(super) fn crypto_handle(&self, label: &str) -> Result<ObjectHandle, HsmError> {
        self.copy_for_crypto(label, false)
    }

    /// [`Self::crypto_handle`]; `wait`: wait for the creation lock and make the copy.
    fn copy_for_crypto(&self, label: &str, wait: bool) -> Result<ObjectHandle, HsmError> {
        if let Some(h) = self.hot.read().get(label) {
            return Ok(*h);
        }
        let token_object = self.handle(label)?;
        let _guard = if wait {
            self.create_lock.lock()
        } else {
            match self.create_lock.try_lock() {
                Some(guard) => guard,
                None => return Ok(token_object),
            }
        };
        if let Some(h) = self.hot.read().get(label) {
            return Ok(*h);
        }
        let copy = {
            let login = self.login.lock();
            login.copy_object(token_object, &[Attribute::Token(false)])
        };
        let handle = match copy {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(region = %self.region, %label, "no session copy ({e}); using the token object");
                token_object
            }
        };
        self.hot.write().insert(label.to_string(), handle);
        Ok(handle)
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

    /// What the token answers when asked for the secret of the key `label`: CKA_VALUE, or
    /// CKA_PRIVATE_EXPONENT for an RSA private key (which has no CKA_VALUE). Exists for
    /// tests and for learning: sensitive keys answer [`AttributeAccess::Sensitive`]
    /// (CKR_ATTRIBUTE_SENSITIVE).
    pub fn secret_access(&self, label: &str) -> Result<AttributeAccess, HsmError> {
        let key = self.handle(label)?;
        self.with_session(|s| {
            let mut access = AttributeAccess::TypeInvalid;
            for secret in [AttributeType::Value, AttributeType::PrivateExponent] {
                let info = s
                    .get_attribute_info(key, &[secret])
                    .map_err(self.p11("C_GetAttributeValue"))?;
                access = match info.first() {
                    Some(AttributeInfo::Available(len)) => AttributeAccess::Readable(*len),
                    Some(AttributeInfo::Sensitive) => AttributeAccess::Sensitive,
                    Some(AttributeInfo::TypeInvalid) => AttributeAccess::TypeInvalid,
                    Some(AttributeInfo::Unavailable) | None => AttributeAccess::Unavailable,
                };
                if access != AttributeAccess::TypeInvalid {
                    break;
                }
            }
            Ok(access)
        })
    }

    /// Exists for tests and for learning: generates a throwaway AES session key that the
    /// user created (so CKA_TRUSTED is false) with CKA_WRAP = true, asks the token to wrap
    /// `label` under it (C_WrapKey, CKM_AES_KEY_WRAP_PAD), then destroys the throwaway key
    /// and discards whatever came out. Multi-Region material (CKA_WRAP_WITH_TRUSTED) must
    /// be refused with CKR_KEY_NOT_WRAPPABLE, single-Region material with
    /// CKR_KEY_UNEXTRACTABLE; `Ok(())` means the token let the material out.
    pub fn try_wrap_under_untrusted_key(&self, label: &str) -> Result<(), HsmError> {
        let key = self.handle(label)?;
        let template = templates::throwaway_wrapping_key();
        let _guard = self.create_lock.lock();
        self.with_session(|s| {
            let untrusted = s
                .generate_key(&Mechanism::AesKeyGen, &template)
                .map_err(self.p11("C_GenerateKey"))?;
            let wrapped = s
                .wrap_key(&mechanisms::AES_KEY_WRAP_PAD, untrusted, key)
                .map(Zeroizing::new)
                .map_err(self.p11("C_WrapKey"));
            let destroyed = s
                .destroy_object(untrusted)
                .map_err(self.p11("C_DestroyObject"));
            wrapped?;
            destroyed
        })
    }

    /// How many objects labelled `label` the token holds (private ones included). For
    /// tests and diagnostics only: C_FindObjects is a linear scan, never on a request path.
    pub fn count_objects(&self, label: &str) -> Result<usize, HsmError> {
        self.with_session(|s| {
            s.find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
                .map(|found| found.len())
                .map_err(self.p11("C_FindObjects"))
        })
    }

    /// Reads attributes of the object labelled `label` (those the token reveals).
    pub(super) fn attributes(
        &self,
        label: &str,
        types: &[AttributeType],
    ) -> Result<Vec<Attribute>, HsmError> {
        let object = self.handle(label)?;
        self.with_session(|s| {
            s.get_attributes(object, types)
                .map_err(self.p11("C_GetAttributeValue"))
        })
    }

    /// Generates a key pair as the user from templates that carry their labels.
    pub(super) fn generate_key_pair(
        &self,
        mechanism: &Mechanism,
        (public_label, public): (&str, &Template),
        (private_label, private): (&str, &Template),
    ) -> Result<(), HsmError> {
        let _guard = self.create_lock.lock();
        let (public_handle, private_handle) = self.with_session(|s| {
            self.raw
                .generate_key_pair(s, mechanism, public, private)
                .map_err(self.p11("C_GenerateKeyPair"))
        })?;
        let mut handles = self.handles.write();
        handles.insert(public_label.to_string(), public_handle);
        handles.insert(private_label.to_string(), private_handle);
        Ok(())
    }

    /// C_WrapKey of the object `key_label` under the object `wrapping_label`.
    pub(super) fn wrap(
        &self,
        mechanism: &Mechanism,
        wrapping_label: &str,
        key_label: &str,
    ) -> Result<Zeroizing<Vec<u8>>, HsmError> {
        let wrapping_key = self.handle(wrapping_label)?;
        let key = self.handle(key_label)?;
        self.with_session(|s| {
            s.wrap_key(mechanism, wrapping_key, key)
                .map(Zeroizing::new)
                .map_err(self.p11("C_WrapKey"))
        })
    }

    /// C_UnwrapKey under the object `unwrapping_label`, creating an object labelled
    /// `label` from `template` (which gets the label here) unless the token already holds
    /// one: returns whether it created the object. The check and the creation happen under
    /// the token's creation lock, so concurrent callers never create duplicates.
    pub(super) fn unwrap_unless_present(
        &self,
        mechanism: &Mechanism,
        unwrapping_label: &str,
        wrapped: &[u8],
        label: &str,
        mut template: Vec<Attribute>,
    ) -> Result<bool, HsmError> {
        let unwrapping_key = self.handle(unwrapping_label)?;
        template.push(Attribute::Label(label.as_bytes().to_vec()));
        let _guard = self.create_lock.lock();
        if self.has_object(label) {
            return Ok(false);
        }
        let handle = self.with_session(|s| {
            s.unwrap_key(mechanism, unwrapping_key, wrapped, &template)
                .map_err(self.p11("C_UnwrapKey"))
        })?;
        self.handles.write().insert(label.to_string(), handle);
        Ok(true)
    }

    /// C_UnwrapKey under the object `unwrapping_label` into a session object of the login
    /// session (so it lives as long as the process), recorded as the session key `label`.
    pub(super) fn unwrap_session_key(
        &self,
        mechanism: &Mechanism,
        unwrapping_label: &str,
        wrapped: &[u8],
        label: &str,
        template: &Template,
    ) -> Result<(), HsmError> {
        let unwrapping_key = self.handle(unwrapping_label)?;
        let _guard = self.create_lock.lock();
        let handle = self
            .raw
            .unwrap_key(
                &self.login.lock(),
                mechanism,
                unwrapping_key,
                wrapped,
                template,
            )
            .map_err(self.p11("C_UnwrapKey"))?;
        self.session_keys.write().insert(label.to_string(), handle);
        Ok(())
    }

    /// Runs `f` in a session logged in as the token's Security Officer, then logs the user
    /// back in and rebuilds the label map (C_Logout drops every private-object handle).
    ///
    /// PKCS#11 login state is per application and token, so the user stays logged out
    /// while `f` runs: call this only at startup, while nothing else uses the token. Object
    /// creation and destruction in the token wait for the whole time. Objects the SO
    /// creates are public objects (CKA_PRIVATE = false).
    pub(super) fn with_so_login<R>(
        &self,
        so_pin: &str,
        f: impl FnOnce(&Session) -> Result<R, HsmError>,
    ) -> Result<R, HsmError> {
        // The SO PIN is copied only into cryptoki's AuthPin (secrecy: zeroised on drop).
        let started = std::time::Instant::now();
        let _guard = self.create_lock.lock();
        let login = self.login.lock();
        login.logout().map_err(self.p11("C_Logout"))?;
        let so_pin = AuthPin::new(so_pin.to_string().into());
        let result = match login.login(UserType::So, Some(&so_pin)) {
            Ok(()) => {
                let result = f(&login);
                let logout = login.logout().map_err(self.p11("C_Logout(SO)"));
                result.and_then(|r| logout.map(|()| r))
            }
            Err(e) => Err(self.p11("C_Login(SO)")(e)),
        };
        // Back to the user login whatever happened above.
        login
            .login(UserType::User, Some(&self.user_pin))
            .map_err(self.p11("C_Login"))?;
        // Logging out dropped private session objects: their copies must be made anew, and
        // received KEKs (private session objects) are gone.
        self.hot.write().clear();
        self.public_objects.write().clear();
        *self.handles.write() = scan_labels(&login, self.region)?;
        tracing::debug!(
            region = %self.region,
            ms = started.elapsed().as_millis() as u64,
            "Security Officer session done"
        );
        result
    }
}

/// Maps every token object the session can see by label (startup only: a linear scan).
fn scan_labels(
    session: &Session,
    region: Region,
) -> Result<HashMap<String, ObjectHandle>, HsmError> {
    let err = |call: &'static str| {
        move |error| HsmError::Pkcs11 {
            call,
            region,
            error,
        }
    };
    let mut handles = HashMap::new();
    let found = session
        .find_objects(&[Attribute::Token(true)])
        .map_err(err("C_FindObjects"))?;
    for handle in found {
        let attrs = session
            .get_attributes(handle, &[AttributeType::Label])
            .map_err(err("C_GetAttributeValue"))?;
        for attr in attrs {
            if let Attribute::Label(bytes) = attr {
                handles.insert(String::from_utf8_lossy(&bytes).into_owned(), handle);
            }
        }
    }
    Ok(handles)
}

/// Destroys the objects with neither a label nor an ID: what SoftHSM leaves when the
/// process is killed while it creates an object (it writes the object before its
/// attributes, and such a remnant reports CKA_TOKEN=false, so only a search with an empty
/// template finds it). Every object this service makes has a label, and nothing else
/// creates objects in its tokens. Startup only (a linear scan). Returns how many it
/// destroyed.
fn sweep_orphans(session: &Session, region: Region) -> Result<usize, HsmError> {
    let err = |call: &'static str| {
        move |error| HsmError::Pkcs11 {
            call,
            region,
            error,
        }
    };
    let mut destroyed = 0;
    for handle in session.find_objects(&[]).map_err(err("C_FindObjects"))? {
        let attrs = match session.get_attributes(handle, &[AttributeType::Label, AttributeType::Id])
        {
            Ok(attrs) => attrs,
            Err(e) => {
                // Not ours to judge: leave it.
                tracing::debug!(%region, "cannot read the label of an object: {e}");
                continue;
            }
        };
        let named = attrs.iter().any(|a| match a {
            Attribute::Label(l) => !l.is_empty(),
            Attribute::Id(i) => !i.is_empty(),
            _ => false,
        });
        if !named {
            session
                .destroy_object(handle)
                .map_err(err("C_DestroyObject"))?;
            destroyed += 1;
        }
    }
    Ok(destroyed)
}
