//! The array attributes cryptoki 0.12 cannot express — CKA_UNWRAP_TEMPLATE (what an
//! unwrapping key may create) and CKA_WRAP_TEMPLATE (what a wrapping key may wrap) — and
//! the five PKCS#11 calls that take or read them, made through `cryptoki-sys`; and the
//! reader of secret attribute values into zeroising memory (cryptoki's own reader leaves
//! unwiped copies behind). This is the only `unsafe` code of the service.
//!
//! Everything else stays with cryptoki: sessions, logins and handles come from it (a
//! cryptoki [`Session`] gives its raw handle, a raw object handle becomes a cryptoki
//! [`ObjectHandle`] again), and every plain attribute is converted by cryptoki itself
//! (`CK_ATTRIBUTE::from(&Attribute)`). The module is reached through its own function list
//! (C_GetFunctionList on a second handle of the library cryptoki already loaded and
//! initialised: the dynamic loader returns the same library, so the module's state is
//! shared).
//!
//! One rule is enforced here for every template: CKA_MODIFIABLE goes last. SoftHSM applies
//! a template in order and refuses every attribute after CKA_MODIFIABLE=false in a
//! C_UnwrapKey (or C_CopyObject) template with CKR_ATTRIBUTE_READ_ONLY.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::mem::size_of;
use std::path::Path;

use cryptoki::context::Function;
use cryptoki::error::{Error as CkError, Rv, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use cryptoki_sys::{
    CKA_UNWRAP_TEMPLATE, CKA_WRAP_TEMPLATE, CK_ATTRIBUTE, CK_ATTRIBUTE_TYPE, CK_FUNCTION_LIST,
    CK_FUNCTION_LIST_PTR, CK_MECHANISM, CK_OBJECT_HANDLE, CK_RV, CK_ULONG,
};

use super::templates::Template;

/// Which array attribute [`ArrayCalls::array_len`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArrayAttribute {
    /// CKA_UNWRAP_TEMPLATE.
    Unwrap,
    /// CKA_WRAP_TEMPLATE.
    Wrap,
}

impl ArrayAttribute {
    fn ck(self) -> CK_ATTRIBUTE_TYPE {
        match self {
            ArrayAttribute::Unwrap => CKA_UNWRAP_TEMPLATE,
            ArrayAttribute::Wrap => CKA_WRAP_TEMPLATE,
        }
    }
}

/// A [`Template`] as the module reads it: `CK_ATTRIBUTE`s pointing into the template's
/// attributes (borrowed for `'a`) and into `arrays`, heap buffers that do not move when
/// this value moves. Valid as long as it exists.
struct RawTemplate<'a> {
    attrs: Vec<CK_ATTRIBUTE>,
    _arrays: Vec<Vec<CK_ATTRIBUTE>>,
    _values: PhantomData<&'a Template>,
}

impl<'a> RawTemplate<'a> {
    fn new(template: &'a Template) -> RawTemplate<'a> {
        let is_modifiable = |a: &&Attribute| a.attribute_type() == AttributeType::Modifiable;
        let mut attrs: Vec<CK_ATTRIBUTE> = template
            .attrs
            .iter()
            .filter(|a| !is_modifiable(a))
            .map(CK_ATTRIBUTE::from)
            .collect();
        let mut arrays = Vec::new();
        for (kind, inner) in [
            (CKA_UNWRAP_TEMPLATE, &template.unwrap_template),
            (CKA_WRAP_TEMPLATE, &template.wrap_template),
        ] {
            if inner.is_empty() {
                continue;
            }
            let mut array: Vec<CK_ATTRIBUTE> = inner.iter().map(CK_ATTRIBUTE::from).collect();
            attrs.push(CK_ATTRIBUTE {
                type_: kind,
                pValue: array.as_mut_ptr() as *mut c_void,
                ulValueLen: (array.len() * size_of::<CK_ATTRIBUTE>()) as CK_ULONG,
            });
            arrays.push(array);
        }
        attrs.extend(
            template
                .attrs
                .iter()
                .filter(|a| is_modifiable(a))
                .map(CK_ATTRIBUTE::from),
        );
        RawTemplate {
            attrs,
            _arrays: arrays,
            _values: PhantomData,
        }
    }

    fn ptr(&mut self) -> (*mut CK_ATTRIBUTE, CK_ULONG) {
        (self.attrs.as_mut_ptr(), self.attrs.len() as CK_ULONG)
    }
}

/// The module's function list, for the calls whose templates hold array attributes.
pub(crate) struct ArrayCalls {
    functions: CK_FUNCTION_LIST,
    /// Keeps the library loaded while `functions` points into it.
    _library: cryptoki_sys::Pkcs11,
}

// SAFETY: `functions` holds only function pointers into the loaded library (and its
// version); PKCS#11 modules initialised with CKF_OS_LOCKING_OK (as cryptoki does here)
// may be called from any thread.
unsafe impl Send for ArrayCalls {}
// SAFETY: as for Send; nothing in `ArrayCalls` is mutated after `load`.
unsafe impl Sync for ArrayCalls {}

fn missing(function: Function) -> CkError {
    CkError::Pkcs11(RvError::FunctionNotSupported, function)
}

fn result(rv: CK_RV, function: Function) -> Result<(), CkError> {
    Rv::from(rv).into_result(function)
}

/// A handle the module just returned for a new object.
fn object(handle: CK_OBJECT_HANDLE) -> ObjectHandle {
    // SAFETY: only called with a handle the module returned with CKR_OK.
    unsafe { ObjectHandle::new_from_raw(handle) }
}

impl ArrayCalls {
    /// Opens the PKCS#11 module `path` a second time (cryptoki already loaded and
    /// initialised it from the same path) and reads its function list.
    pub(crate) fn load(path: &Path) -> Result<ArrayCalls, String> {
        // SAFETY: the library is already loaded by cryptoki, so loading it again runs no
        // initialiser; it only takes another reference on it.
        let library = unsafe { cryptoki_sys::Pkcs11::new(path) }
            .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
        let get_list = *library
            .C_GetFunctionList
            .as_ref()
            .map_err(|e| format!("{} has no C_GetFunctionList: {e}", path.display()))?;
        let mut list: CK_FUNCTION_LIST_PTR = std::ptr::null_mut();
        // SAFETY: C_GetFunctionList writes one pointer to the module's static function list.
        let rv = unsafe { get_list(&mut list) };
        if rv != cryptoki_sys::CKR_OK || list.is_null() {
            return Err(format!(
                "C_GetFunctionList of {} failed ({rv:#x})",
                path.display()
            ));
        }
        // SAFETY: the module returned a valid pointer to its function list, which lives as
        // long as the library; the struct is plain data (function pointers), copied here.
        let functions = unsafe { *list };
        Ok(ArrayCalls {
            functions,
            _library: library,
        })
    }

    /// C_GenerateKey from `template` in session `s`.
    pub(crate) fn generate_key(
        &self,
        s: &Session,
        mechanism: &Mechanism,
        template: &Template,
    ) -> Result<ObjectHandle, CkError> {
        let f = self
            .functions
            .C_GenerateKey
            .ok_or_else(|| missing(Function::GenerateKey))?;
        let mut mech = CK_MECHANISM::from(mechanism);
        let mut raw = RawTemplate::new(template);
        let (t, n) = raw.ptr();
        let mut handle: CK_OBJECT_HANDLE = 0;
        // SAFETY: the mechanism and every template pointer are valid for the call (see
        // `RawTemplate`); the module reads them and writes one handle.
        let rv = unsafe { f(s.handle(), &mut mech, t, n, &mut handle) };
        result(rv, Function::GenerateKey).map(|()| object(handle))
    }

    /// C_GenerateKeyPair from `public` and `private` in session `s`: (public, private).
    pub(crate) fn generate_key_pair(
        &self,
        s: &Session,
        mechanism: &Mechanism,
        public: &Template,
        private: &Template,
    ) -> Result<(ObjectHandle, ObjectHandle), CkError> {
        let f = self
            .functions
            .C_GenerateKeyPair
            .ok_or_else(|| missing(Function::GenerateKeyPair))?;
        let mut mech = CK_MECHANISM::from(mechanism);
        let mut public = RawTemplate::new(public);
        let mut private = RawTemplate::new(private);
        let (pt, pn) = public.ptr();
        let (st, sn) = private.ptr();
        let (mut ph, mut sh): (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE) = (0, 0);
        // SAFETY: as for `generate_key`, with two templates and two handles.
        let rv = unsafe { f(s.handle(), &mut mech, pt, pn, st, sn, &mut ph, &mut sh) };
        result(rv, Function::GenerateKeyPair).map(|()| (object(ph), object(sh)))
    }

    /// C_CreateObject from `template` in session `s`.
    pub(crate) fn create_object(
        &self,
        s: &Session,
        template: &Template,
    ) -> Result<ObjectHandle, CkError> {
        let f = self
            .functions
            .C_CreateObject
            .ok_or_else(|| missing(Function::CreateObject))?;
        let mut raw = RawTemplate::new(template);
        let (t, n) = raw.ptr();
        let mut handle: CK_OBJECT_HANDLE = 0;
        // SAFETY: as for `generate_key`.
        let rv = unsafe { f(s.handle(), t, n, &mut handle) };
        result(rv, Function::CreateObject).map(|()| object(handle))
    }

    /// C_UnwrapKey of `wrapped` under `key`, creating an object from `template`.
    pub(crate) fn unwrap_key(
        &self,
        s: &Session,
        mechanism: &Mechanism,
        key: ObjectHandle,
        wrapped: &[u8],
        template: &Template,
    ) -> Result<ObjectHandle, CkError> {
        let f = self
            .functions
            .C_UnwrapKey
            .ok_or_else(|| missing(Function::UnwrapKey))?;
        let mut mech = CK_MECHANISM::from(mechanism);
        let mut raw = RawTemplate::new(template);
        let (t, n) = raw.ptr();
        let mut handle: CK_OBJECT_HANDLE = 0;
        // SAFETY: as for `generate_key`; the module only reads `wrapped` (the C signature
        // is not const-correct).
        let rv = unsafe {
            f(
                s.handle(),
                &mut mech,
                key.handle(),
                wrapped.as_ptr() as *mut u8,
                wrapped.len() as CK_ULONG,
                t,
                n,
                &mut handle,
            )
        };
        result(rv, Function::UnwrapKey).map(|()| object(handle))
    }

    /// The secret attribute `which` (CKA_VALUE, CKA_PRIVATE_EXPONENT, …) of `object`,
    /// read straight into zeroising memory: cryptoki's reader copies every value into a
    /// fresh `Vec` and frees its own buffer unwiped. `None` when the object has no such
    /// attribute (or will not reveal it).
    pub(crate) fn secret_attribute(
        &self,
        s: &Session,
        object: ObjectHandle,
        which: AttributeType,
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, CkError> {
        let f = self
            .functions
            .C_GetAttributeValue
            .ok_or_else(|| missing(Function::GetAttributeValue))?;
        let mut attr = CK_ATTRIBUTE {
            type_: which.into(),
            pValue: std::ptr::null_mut(),
            ulValueLen: 0,
        };
        // SAFETY: one attribute with a null value pointer: the module writes only its
        // length.
        let rv = unsafe { f(s.handle(), object.handle(), &mut attr, 1) };
        match Rv::from(rv) {
            Rv::Ok if attr.ulValueLen != CK_ULONG::MAX => {}
            Rv::Ok
            | Rv::Error(RvError::AttributeTypeInvalid)
            | Rv::Error(RvError::AttributeSensitive) => return Ok(None),
            Rv::Error(e) => return Err(CkError::Pkcs11(e, Function::GetAttributeValue)),
        }
        let mut value = zeroize::Zeroizing::new(vec![0u8; attr.ulValueLen as usize]);
        attr.pValue = value.as_mut_ptr() as *mut c_void;
        // SAFETY: the value pointer points at `ulValueLen` writable bytes owned by `value`.
        let rv = unsafe { f(s.handle(), object.handle(), &mut attr, 1) };
        result(rv, Function::GetAttributeValue)?;
        // A module may report fewer bytes on the second call: shrink without reallocating.
        let len = (attr.ulValueLen as usize).min(value.len());
        value.truncate(len);
        Ok(Some(value))
    }

    /// How many attributes the array attribute `which` of `object` holds (0: none, or
    /// the object's class has no such attribute).
    pub(crate) fn array_len(
        &self,
        s: &Session,
        object: ObjectHandle,
        which: ArrayAttribute,
    ) -> Result<usize, CkError> {
        let f = self
            .functions
            .C_GetAttributeValue
            .ok_or_else(|| missing(Function::GetAttributeValue))?;
        let mut attr = CK_ATTRIBUTE {
            type_: which.ck(),
            pValue: std::ptr::null_mut(),
            ulValueLen: 0,
        };
        // SAFETY: one attribute with a null value pointer: the module writes only its
        // length.
        let rv = unsafe { f(s.handle(), object.handle(), &mut attr, 1) };
        match Rv::from(rv) {
            Rv::Ok if attr.ulValueLen != CK_ULONG::MAX => {
                Ok(attr.ulValueLen as usize / size_of::<CK_ATTRIBUTE>())
            }
            Rv::Ok | Rv::Error(RvError::AttributeTypeInvalid) => Ok(0),
            Rv::Error(e) => Err(CkError::Pkcs11(e, Function::GetAttributeValue)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::object::ObjectClass;

    #[test]
    fn modifiable_goes_last_and_arrays_point_at_their_attributes() {
        let template = Template {
            attrs: vec![
                Attribute::Modifiable(false),
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::Sensitive(true),
            ],
            unwrap_template: vec![Attribute::Sensitive(true), Attribute::Extractable(false)],
            wrap_template: vec![],
        };
        let raw = RawTemplate::new(&template);
        let types: Vec<CK_ATTRIBUTE_TYPE> = raw.attrs.iter().map(|a| a.type_).collect();
        assert_eq!(
            types,
            vec![
                cryptoki_sys::CKA_CLASS,
                cryptoki_sys::CKA_SENSITIVE,
                CKA_UNWRAP_TEMPLATE,
                cryptoki_sys::CKA_MODIFIABLE
            ]
        );
        let array = &raw.attrs[2];
        assert_eq!(array.ulValueLen as usize, 2 * size_of::<CK_ATTRIBUTE>());
        // SAFETY (test): the array attribute points at two CK_ATTRIBUTEs owned by `raw`.
        let inner = unsafe { std::slice::from_raw_parts(array.pValue as *const CK_ATTRIBUTE, 2) };
        assert_eq!(inner[0].type_, cryptoki_sys::CKA_SENSITIVE);
        assert_eq!(inner[1].type_, cryptoki_sys::CKA_EXTRACTABLE);
        // CK_BBOOL true is the byte 1, which SoftHSM compares byte for byte.
        // SAFETY (test): a CK_BBOOL attribute points at one byte of `template`.
        assert_eq!(unsafe { *(inner[0].pValue as *const u8) }, 1);
    }
}
