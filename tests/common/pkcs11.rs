//! PKCS#11 from outside the server: a child process of the test binary that opens a data
//! directory's tokens with cryptoki, as any other local process holding the user PIN
//! could, and prints one `what => result` line per attempt (`CKR_OK`, the `CKR_*` name of
//! the error, or a value). C_Initialize happens once per process and SoftHSM reads
//! SOFTHSM2_CONF only then, hence a process per look at a data directory.
//!
//! A test binary that uses it declares the child entry point, an ignored test named
//! `pkcs11_child` that calls [`child_main`], and calls [`run`]; the tasks are the
//! functions of this file ([`child_main`] dispatches).
//! Everything a task makes on the host (blobs, values to look for) uses independent code
//! (the `rsa` crate), never the server's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::Error as CkError;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{
    Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

const TASK_VAR: &str = "HSM_KMS_TEST_PKCS11_TASK";
const DIR_VAR: &str = "HSM_KMS_TEST_DATA_DIR";
const ARGS_VAR: &str = "HSM_KMS_TEST_PKCS11_ARGS";

/// The PINs every token of hsm-kms before version 2 was initialised with.
pub const FORMER_USER_PIN: &str = "1234";
pub const FORMER_SO_PIN: &str = "12345678";

/// CKA_UNWRAP_TEMPLATE and CKA_WRAP_TEMPLATE (cryptoki 0.12 has no name for them).
const UNWRAP_TEMPLATE: AttributeType =
    AttributeType::VendorDefined(cryptoki_sys::CKA_UNWRAP_TEMPLATE);
const WRAP_TEMPLATE: AttributeType = AttributeType::VendorDefined(cryptoki_sys::CKA_WRAP_TEMPLATE);

/// What a child task printed: its `what => result` lines, and the whole output.
pub struct Outcome {
    pub results: BTreeMap<String, String>,
    pub text: String,
}

impl Outcome {
    /// The result of `what` (panics with the whole output when the task did not say).
    pub fn get(&self, what: &str) -> &str {
        self.results
            .get(what)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("the child said nothing about {what:?}:\n{}", self.text))
    }

    /// Asserts every `(what, expected)`; lists every mismatch at once.
    pub fn assert_all(&self, expected: &[(&str, &str)]) {
        let wrong: Vec<String> = expected
            .iter()
            .filter(|(what, want)| self.results.get(*what).map(String::as_str) != Some(*want))
            .map(|(what, want)| format!("{what}: want {want}, got {:?}", self.results.get(*what)))
            .collect();
        assert!(
            wrong.is_empty(),
            "{}\n--- child output ---\n{}",
            wrong.join("\n"),
            self.text
        );
    }
}

/// Runs `task` on `data_dir` in a child process (this test binary's `pkcs11_child`), with
/// `args` (`name=value`), and returns what it printed. Panics when it fails.
pub fn run(task: &str, data_dir: &Path, args: &[(&str, &str)]) -> Outcome {
    let exe = std::env::current_exe().expect("the test binary");
    let args: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let out = Command::new(exe)
        .args([
            "pkcs11_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(TASK_VAR, task)
        .env(DIR_VAR, data_dir)
        .env(ARGS_VAR, args.join(";"))
        .env_remove("SOFTHSM2_CONF")
        .output()
        .expect("start the PKCS#11 child");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "PKCS#11 child {task} failed:\n{text}");
    let results = text
        .lines()
        .filter_map(|l| l.split_once(" => "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Outcome { results, text }
}

/// The entry point of the child: does nothing unless started by [`run`].
pub fn child_main() {
    let Ok(task) = std::env::var(TASK_VAR) else {
        return;
    };
    let dir = PathBuf::from(std::env::var_os(DIR_VAR).expect("data dir"));
    let args: BTreeMap<String, String> = std::env::var(ARGS_VAR)
        .unwrap_or_default()
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let arg = |name: &str| {
        args.get(name)
            .cloned()
            .unwrap_or_else(|| panic!("argument {name}"))
    };
    // The test harness prints "test pkcs11_child ... " before the first line.
    println!();
    match task.as_str() {
        "attack" => attack(&dir, &arg),
        "secrets-at-rest" => secrets_at_rest(&dir, &arg),
        "former-layout" => former_layout(&dir, &arg),
        "inspect-upgraded" => inspect_upgraded(&dir, &arg),
        "count-objects" => count_objects(&dir, &arg),
        "plant-orphan" => plant_orphan(&dir, &arg),
        "count-labelled" => count_labelled(&dir, &arg),
        other => panic!("no PKCS#11 task {other}"),
    }
}

/// `CKR_OK`, or the `CKR_*` name of a cryptoki error.
pub fn ckr<T>(r: &Result<T, CkError>) -> String {
    match r {
        Ok(_) => "CKR_OK".to_string(),
        Err(CkError::Pkcs11(rv, _)) => {
            let mut out = String::from("CKR");
            for c in format!("{rv:?}").chars() {
                if c.is_ascii_uppercase() {
                    out.push('_');
                }
                out.push(c.to_ascii_uppercase());
            }
            out
        }
        Err(other) => format!("{other:?}"),
    }
}

fn say(what: &str, result: impl std::fmt::Display) {
    println!("{what} => {result}");
}

fn pin(p: &str) -> AuthPin {
    AuthPin::new(p.to_string().into())
}

/// The PKCS#11 module, initialised on the SoftHSM2 configuration of `dir`.
struct Lab {
    ctx: Pkcs11,
}

impl Lab {
    fn open(dir: &Path) -> Lab {
        let conf = dir.join("softhsm2.conf");
        assert!(conf.exists(), "{} (written by hsm-kms)", conf.display());
        std::env::set_var("SOFTHSM2_CONF", &conf);
        let module = hsm_kms::config::SOFTHSM_MODULE_CANDIDATES
            .iter()
            .find(|p| Path::new(p).exists())
            .expect("SoftHSM2 is installed");
        let ctx = Pkcs11::new(module).expect("load SoftHSM2");
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .expect("C_Initialize");
        Lab { ctx }
    }

    fn slot(&self, label: &str) -> Option<Slot> {
        self.ctx
            .get_slots_with_token()
            .expect("slots")
            .into_iter()
            .find(|s| {
                self.ctx
                    .get_token_info(*s)
                    .map(|i| i.token_initialized() && i.label().trim_end() == label)
                    .unwrap_or(false)
            })
    }

    /// A read-write session of the token `label`, logged in as `user` with `p`.
    fn login(&self, label: &str, user: UserType, p: &str) -> Session {
        let slot = self
            .slot(label)
            .unwrap_or_else(|| panic!("no token {label}"));
        let s = self.ctx.open_rw_session(slot).expect("session");
        match s.login(user, Some(&pin(p))) {
            // Login state is per token and process: another session logged in already.
            Ok(()) | Err(CkError::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => panic!("login to {label}: {e}"),
        }
        s
    }

    /// A session of `label` logged in as the user with the PIN of `dir/pins`.
    fn user(&self, dir: &Path, label: &str) -> Session {
        let pins = hsm_kms::hsm::Pins::load_or_create(dir, None, None).expect("the pins file");
        self.login(label, UserType::User, &pins.user)
    }

    /// Creates token `label` on a free slot with the given PINs.
    fn init_token(&self, label: &str, so: &str, user: &str) -> Slot {
        let free = self
            .ctx
            .get_slots_with_token()
            .expect("slots")
            .into_iter()
            .find(|s| {
                !self
                    .ctx
                    .get_token_info(*s)
                    .map(|i| i.token_initialized())
                    .unwrap_or(true)
            })
            .expect("a free slot");
        self.ctx
            .init_token(free, &pin(so), label)
            .expect("C_InitToken");
        let slot = self.slot(label).expect("the new token");
        let s = self.ctx.open_rw_session(slot).expect("session");
        s.login(UserType::So, Some(&pin(so))).expect("SO login");
        s.init_pin(&pin(user)).expect("C_InitPIN");
        s.logout().expect("logout");
        slot
    }
}

fn label_of(s: &Session, h: ObjectHandle) -> Vec<u8> {
    s.get_attributes(h, &[AttributeType::Label])
        .unwrap_or_default()
        .into_iter()
        .find_map(|a| match a {
            Attribute::Label(l) => Some(l),
            _ => None,
        })
        .unwrap_or_default()
}

/// Every object of the session's token (an empty template: objects that report
/// CKA_TOKEN=false included) with its label.
fn all_objects(s: &Session) -> Vec<(ObjectHandle, String)> {
    s.find_objects(&[])
        .expect("C_FindObjects")
        .into_iter()
        .map(|h| (h, String::from_utf8_lossy(&label_of(s, h)).into_owned()))
        .collect()
}

fn find_prefix(s: &Session, prefix: &str) -> ObjectHandle {
    all_objects(s)
        .into_iter()
        .find(|(_, l)| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no object labelled {prefix}…"))
        .0
}

fn find_exact(s: &Session, label: &str) -> ObjectHandle {
    let found = s
        .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
        .expect("C_FindObjects");
    *found
        .first()
        .unwrap_or_else(|| panic!("no object labelled {label}"))
}

fn count_prefix(s: &Session, prefix: &str) -> usize {
    all_objects(s)
        .iter()
        .filter(|(_, l)| l.starts_with(prefix))
        .count()
}

/// What the token answers for CKA_VALUE: `readable` or `sensitive`.
fn value_access(s: &Session, h: ObjectHandle) -> &'static str {
    match s
        .get_attribute_info(h, &[AttributeType::Value])
        .expect("C_GetAttributeValue")
        .first()
    {
        Some(AttributeInfo::Available(_)) => "readable",
        Some(AttributeInfo::Sensitive) => "sensitive",
        _ => "unavailable",
    }
}

fn array_len(s: &Session, h: ObjectHandle, which: AttributeType) -> usize {
    match s
        .get_attribute_info(h, &[which])
        .expect("C_GetAttributeValue")
        .first()
    {
        Some(AttributeInfo::Available(len)) => *len,
        _ => 0,
    }
}

/// A session AES-256 key of the attacker's own (user-made, never trusted).
fn own_key(s: &Session, usage: &[Attribute]) -> ObjectHandle {
    let mut t = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen(32.into()),
        Attribute::Token(false),
        Attribute::Sensitive(false),
        Attribute::Extractable(true),
    ];
    t.extend_from_slice(usage);
    s.generate_key(&Mechanism::AesKeyGen, &t).expect("own key")
}

/// A readable AES key template (what an attacker asks an unwrap for).
fn readable_aes() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Sensitive(false),
        Attribute::Extractable(true),
    ]
}

fn oaep_sha1() -> Mechanism<'static> {
    use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
        MechanismType::SHA1,
        PkcsMgfType::MGF1_SHA1,
        PkcsOaepSource::empty(),
    ))
}

fn rsa_public_of(s: &Session, h: ObjectHandle) -> rsa::RsaPublicKey {
    let (mut n, mut e) = (Vec::new(), Vec::new());
    for a in s
        .get_attributes(h, &[AttributeType::Modulus, AttributeType::PublicExponent])
        .expect("modulus")
    {
        match a {
            Attribute::Modulus(m) => n = m,
            Attribute::PublicExponent(x) => e = x,
            _ => {}
        }
    }
    rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&n),
        rsa::BigUint::from_bytes_be(&e),
    )
    .expect("RSA public key")
}

/// Every attack of issue 12 items 1 and 5 a holder of the user PIN can try in another
/// process against a running server's tokens. Arguments: `a`, `b` (Regions of one
/// partition), `mrk` (a multi-Region key replicated from a to b), `rsa` (an RSA
/// ENCRYPT_DECRYPT key in a), `hmac` (an HMAC_256 key in a), `import_key` (a key in a
/// with import parameters for RSAES_OAEP_SHA_1), `import_blob` (hex: 32 bytes wrapped for
/// it), `kwp_key` (a key in a with import parameters for RSA_AES_KEY_WRAP_SHA_1) and
/// `kwp_blob`.
fn attack(dir: &Path, arg: &dyn Fn(&str) -> String) {
    let lab = Lab::open(dir);
    let (a, b) = (arg("a"), arg("b"));
    let sa = lab.user(dir, &a);
    let sb = lab.user(dir, &b);

    // The key-encryption keys: session objects of the server, invisible here.
    say("A: objects labelled kek/", count_prefix(&sa, "kek/"));
    say("B: objects labelled kek/", count_prefix(&sb, "kek/"));

    // Multi-Region material in A.
    let m = find_prefix(&sa, &format!("{}/", arg("mrk")));
    say("A: read material CKA_VALUE", value_access(&sa, m));
    say(
        "A: set material SENSITIVE=false",
        ckr(&sa.update_attributes(m, &[Attribute::Sensitive(false)])),
    );
    say(
        "A: set material WRAP_WITH_TRUSTED=false",
        ckr(&sa.update_attributes(m, &[Attribute::WrapWithTrusted(false)])),
    );
    say(
        "A: copy material with SENSITIVE=false",
        ckr(&sa.copy_object(m, &[Attribute::Token(false), Attribute::Sensitive(false)])),
    );
    say(
        "A: copy material as a public object",
        ckr(&sa.copy_object(m, &[Attribute::Token(false), Attribute::Private(false)])),
    );
    let own = own_key(&sa, &[Attribute::Wrap(true), Attribute::Unwrap(true)]);
    say(
        "A: wrap material under own key",
        ckr(&sa.wrap_key(&Mechanism::AesKeyWrapPad, own, m)),
    );
    say(
        "A: mark own key trusted",
        ckr(&sa.update_attributes(own, &[Attribute::Trusted(true)])),
    );
    let trusted_b = find_exact(&sa, &format!("transport/{b}/public"));
    say(
        "A: wrap material under trusted transport/B/public",
        ckr(&sa.wrap_key(&oaep_sha1(), trusted_b, m)),
    );
    say(
        "A: wrap own key under trusted transport/B/public",
        ckr(&sa.wrap_key(&oaep_sha1(), trusted_b, own)),
    );
    // Issue 12 item 5: mechanisms outside the key's list.
    say(
        "A: encrypt with AES material under CKM_AES_ECB",
        ckr(&sa.encrypt(&Mechanism::AesEcb, m, &[0u8; 16])),
    );
    let mut iv = [0u8; 12];
    let gcm = Mechanism::AesGcm(GcmParams::new(&mut iv, &[], 128.into()).expect("GCM"));
    say(
        "A: encrypt with AES material under CKM_AES_GCM",
        ckr(&sa.encrypt(&gcm, m, b"allowed")),
    );
    let r = find_prefix(&sa, &format!("{}/", arg("rsa")));
    let public = rsa_public_of(&sa, r);
    let ct = public
        .encrypt(
            &mut rsa::rand_core::OsRng,
            rsa::Pkcs1v15Encrypt,
            b"chosen ciphertext",
        )
        .expect("PKCS#1 v1.5 encryption");
    say(
        "A: decrypt with the RSA decryption key under CKM_RSA_PKCS",
        ckr(&sa.decrypt(&Mechanism::RsaPkcs, r, &ct)),
    );
    let ct = public
        .encrypt(
            &mut rsa::rand_core::OsRng,
            rsa::Oaep::new::<sha1::Sha1>(),
            b"oaep",
        )
        .expect("OAEP encryption");
    say(
        "A: decrypt with the RSA decryption key under CKM_RSA_PKCS_OAEP",
        ckr(&sa.decrypt(&oaep_sha1(), r, &ct)),
    );
    let h = find_prefix(&sa, &format!("{}/", arg("hmac")));
    say(
        "A: sign with the HMAC_256 key under CKM_SHA224_HMAC",
        ckr(&sa.sign(&Mechanism::Sha224Hmac, h, b"m")),
    );
    say(
        "A: sign with the HMAC_256 key under CKM_SHA256_HMAC",
        ckr(&sa.sign(&Mechanism::Sha256Hmac, h, b"m")),
    );

    // Import wrapping keys and a caller's wrapped material.
    let w = find_prefix(&sa, &format!("import-wrapping/{}/", arg("import_key")));
    let blob = hex::decode(arg("import_blob")).expect("hex");
    say(
        "A: unwrap an import blob as a readable key",
        ckr(&sa.unwrap_key(&oaep_sha1(), w, &blob, &readable_aes())),
    );
    let mut sensitive_but_free = readable_aes();
    sensitive_but_free[3] = Attribute::Sensitive(true);
    say(
        "A: unwrap an import blob sensitive but wrappable under any key",
        ckr(&sa.unwrap_key(&oaep_sha1(), w, &blob, &sensitive_but_free)),
    );
    say(
        "A: set import wrapping key DECRYPT=true",
        ckr(&sa.update_attributes(w, &[Attribute::Decrypt(true)])),
    );
    say(
        "A: copy import wrapping key",
        ckr(&sa.copy_object(w, &[Attribute::Token(false)])),
    );
    let kw = find_prefix(&sa, &format!("import-wrapping/{}/", arg("kwp_key")));
    let kwp_blob = hex::decode(arg("kwp_blob")).expect("hex");
    use rsa::traits::PublicKeyParts;
    let modulus_len = rsa_public_of(&sa, kw).size();
    let ephemeral_part = &kwp_blob[..modulus_len];
    say(
        "A: unwrap an RSA_AES_KEY_WRAP ephemeral key as a readable key",
        ckr(&sa.unwrap_key(&oaep_sha1(), kw, ephemeral_part, &readable_aes())),
    );
    let mut decrypting = readable_aes();
    decrypting[3] = Attribute::Sensitive(true);
    decrypting[4] = Attribute::Extractable(false);
    decrypting.push(Attribute::Decrypt(true));
    say(
        "A: unwrap an RSA_AES_KEY_WRAP ephemeral key as a decrypting key",
        ckr(&sa.unwrap_key(&oaep_sha1(), kw, ephemeral_part, &decrypting)),
    );

    // B: the replica, and B's transport key.
    let mb = find_prefix(&sb, &format!("{}/", arg("mrk")));
    say("B: read replica CKA_VALUE", value_access(&sb, mb));
    say(
        "B: wrap replica under own key",
        ckr(&sb.wrap_key(
            &Mechanism::AesKeyWrapPad,
            own_key(&sb, &[Attribute::Wrap(true)]),
            mb,
        )),
    );
    say(
        "B: copy replica with SENSITIVE=false",
        ckr(&sb.copy_object(mb, &[Attribute::Token(false), Attribute::Sensitive(false)])),
    );
    let tb = find_exact(&sb, &format!("transport/{b}"));
    say(
        "B: set transport key DECRYPT=true",
        ckr(&sb.update_attributes(tb, &[Attribute::Decrypt(true)])),
    );
    say(
        "B: copy transport key",
        ckr(&sb.copy_object(tb, &[Attribute::Token(false)])),
    );
    // A blob of a key the attacker knows, made on the host under B's public transport key.
    let tb_public = rsa_public_of(&sb, find_exact(&sb, &format!("transport/{b}/public")));
    let known = [0x42u8; 32];
    let blob = tb_public
        .encrypt(
            &mut rsa::rand_core::OsRng,
            rsa::Oaep::new::<sha1::Sha1>(),
            &known,
        )
        .expect("OAEP");
    say(
        "B: OAEP-decrypt with the transport key",
        ckr(&sb.decrypt(&oaep_sha1(), tb, &blob)),
    );
    say(
        "B: unwrap with the transport key as a readable key",
        ckr(&sb.unwrap_key(&oaep_sha1(), tb, &blob, &readable_aes())),
    );
    let mut unwrap_and_decrypt = readable_aes();
    unwrap_and_decrypt[3] = Attribute::Sensitive(true);
    unwrap_and_decrypt[4] = Attribute::Extractable(false);
    unwrap_and_decrypt.push(Attribute::Unwrap(true));
    unwrap_and_decrypt.push(Attribute::Decrypt(true));
    say(
        "B: unwrap with the transport key as a decrypting key",
        ckr(&sb.unwrap_key(&oaep_sha1(), tb, &blob, &unwrap_and_decrypt)),
    );
}

/// Issue 12 item 2: creates in token `a` two token secret keys of known values, one
/// public and one private, prints the values (hex) for the caller to look for in the token
/// files, and counts the public secret keys of every token (`regions`, comma-separated).
fn secrets_at_rest(dir: &Path, arg: &dyn Fn(&str) -> String) {
    let lab = Lab::open(dir);
    let a = arg("a");
    let s = lab.user(dir, &a);
    let secret = |private: bool, value: &[u8]| {
        s.create_object(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(true),
            Attribute::Private(private),
            Attribute::Sensitive(true),
            Attribute::Label(format!("test/at-rest/{private}").into_bytes()),
            Attribute::Value(value.to_vec()),
        ])
        .expect("create a test secret")
    };
    let public_value: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(7).wrapping_add(0x5a))
        .collect();
    let private_value: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(13).wrapping_add(0xa5))
        .collect();
    secret(false, &public_value);
    secret(true, &private_value);
    say("public value", hex::encode(&public_value));
    say("private value", hex::encode(&private_value));
    for region in arg("regions").split(',') {
        let s = lab.user(dir, region);
        let public_secrets: Vec<String> = s
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::Private(false),
            ])
            .expect("C_FindObjects")
            .into_iter()
            .map(|h| String::from_utf8_lossy(&label_of(&s, h)).into_owned())
            .collect();
        say(
            &format!("{region}: public secret keys"),
            public_secrets.join(","),
        );
        let public_token_secrets = s
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::Private(false),
                Attribute::Token(true),
            ])
            .expect("C_FindObjects")
            .len();
        say(
            &format!("{region}: public secret token objects"),
            public_token_secrets,
        );
    }
}

/// Lays out tokens `a` and `b` as hsm-kms did before key transport was hardened (issue
/// 12): the former default PINs, transport key pairs without an unwrap template, trusted
/// public keys without a wrap template, the sending KEK `kek/A->B` as a public token
/// object of the SO (value printed: `kek value`), its receiving copy as a private token
/// object, and a multi-Region AES material `mrk` in A replicated to B under that KEK.
fn former_layout(dir: &Path, arg: &dyn Fn(&str) -> String) {
    let lab = Lab::open(dir);
    let (a, b) = (arg("a"), arg("b"));
    let mrk = arg("mrk");
    for t in [&a, &b] {
        lab.init_token(t, FORMER_SO_PIN, FORMER_USER_PIN);
    }
    // 1. Transport key pairs (user), the former templates.
    for t in [&a, &b] {
        let s = lab.login(t, UserType::User, FORMER_USER_PIN);
        s.generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::ModulusBits(2048.into()),
                Attribute::PublicExponent(vec![1, 0, 1]),
                Attribute::Encrypt(false),
                Attribute::Verify(false),
                Attribute::Wrap(false),
                Attribute::Modifiable(false),
                Attribute::Label(format!("transport/{t}/public").into_bytes()),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Unwrap(true),
                Attribute::Decrypt(false),
                Attribute::Sign(false),
                Attribute::Modifiable(false),
                Attribute::Label(format!("transport/{t}").into_bytes()),
            ],
        )
        .expect("former transport pair");
        s.logout().expect("logout");
    }
    // 2. The SO of each token trusts its peer's public key (no wrap template), and the SO
    //    of A makes the sending KEK as a public token object, here of a known value.
    let kek_value: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(29).wrapping_add(0x3c))
        .collect();
    for (t, peer) in [(&a, &b), (&b, &a)] {
        let peer_public = {
            let s = lab.login(peer, UserType::User, FORMER_USER_PIN);
            let p = rsa_public_of(&s, find_exact(&s, &format!("transport/{peer}/public")));
            s.logout().expect("logout");
            p
        };
        let so = lab.login(t, UserType::So, FORMER_SO_PIN);
        use rsa::traits::PublicKeyParts;
        so.create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::RSA),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Trusted(true),
            Attribute::Wrap(true),
            Attribute::Encrypt(false),
            Attribute::Verify(false),
            Attribute::Modulus(peer_public.n().to_bytes_be()),
            Attribute::PublicExponent(peer_public.e().to_bytes_be()),
            Attribute::Label(format!("transport/{peer}/public").into_bytes()),
            Attribute::Modifiable(false),
        ])
        .expect("former trusted public key");
        if t == &a {
            so.create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::Sensitive(true),
                Attribute::Extractable(true),
                Attribute::WrapWithTrusted(true),
                Attribute::Trusted(true),
                Attribute::Wrap(true),
                Attribute::Unwrap(false),
                Attribute::Encrypt(false),
                Attribute::Decrypt(false),
                Attribute::Value(kek_value.clone()),
                Attribute::Label(format!("kek/{a}->{b}").into_bytes()),
                Attribute::Modifiable(false),
            ])
            .expect("former sending KEK");
        }
        so.logout().expect("logout");
    }
    // 3. The receiving copy in B, and a multi-Region material replicated A -> B.
    let sa = lab.login(&a, UserType::User, FORMER_USER_PIN);
    let sb = lab.login(&b, UserType::User, FORMER_USER_PIN);
    let kek_b = sb
        .create_object(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Unwrap(true),
            Attribute::Wrap(false),
            Attribute::Value(kek_value.clone()),
            Attribute::Label(format!("kek/{a}->{b}").into_bytes()),
        ])
        .expect("former receiving KEK");
    // The former material template (no CKA_ALLOWED_MECHANISMS).
    let material = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
        Attribute::WrapWithTrusted(true),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Label(mrk.as_bytes().to_vec()),
        Attribute::Id(mrk.as_bytes().to_vec()),
    ];
    let mut generate = material.clone();
    generate.push(Attribute::ValueLen(32.into()));
    let m = sa
        .generate_key(&Mechanism::AesKeyGen, &generate)
        .expect("former material");
    let kek_a = find_exact(&sa, &format!("kek/{a}->{b}"));
    let wrapped = sa
        .wrap_key(&Mechanism::AesKeyWrapPad, kek_a, m)
        .expect("former replication: wrap");
    sb.unwrap_key(&Mechanism::AesKeyWrapPad, kek_b, &wrapped, &material)
        .expect("former replication: unwrap");
    say("kek value", hex::encode(&kek_value));
}

/// After hsm-kms upgraded the former layout: the former PINs are refused, no KEK is a
/// token object, the transport and trusted keys carry their templates, the transport key
/// refuses a readable unwrap, and the former material still works across the tokens.
fn inspect_upgraded(dir: &Path, arg: &dyn Fn(&str) -> String) {
    let lab = Lab::open(dir);
    let (a, b) = (arg("a"), arg("b"));
    for t in [&a, &b] {
        let slot = lab.slot(t).expect("token");
        let s = lab.ctx.open_rw_session(slot).expect("session");
        say(
            &format!("{t}: user login with the former PIN"),
            ckr(&s.login(UserType::User, Some(&pin(FORMER_USER_PIN)))),
        );
        say(
            &format!("{t}: SO login with the former PIN"),
            ckr(&s.login(UserType::So, Some(&pin(FORMER_SO_PIN)))),
        );
    }
    let sa = lab.user(dir, &a);
    let sb = lab.user(dir, &b);
    for (t, s) in [(&a, &sa), (&b, &sb)] {
        say(
            &format!("{t}: objects labelled kek/"),
            count_prefix(s, "kek/"),
        );
        let transport = find_exact(s, &format!("transport/{t}"));
        say(
            &format!("{t}: transport key has an unwrap template"),
            array_len(s, transport, UNWRAP_TEMPLATE) > 0,
        );
        let peer = if t == &a { &b } else { &a };
        let trusted = find_exact(s, &format!("transport/{peer}/public"));
        say(
            &format!("{t}: trusted public key has a wrap template"),
            array_len(s, trusted, WRAP_TEMPLATE) > 0,
        );
    }
    let tb = find_exact(&sb, &format!("transport/{b}"));
    let public = rsa_public_of(&sb, find_exact(&sb, &format!("transport/{b}/public")));
    let blob = public
        .encrypt(
            &mut rsa::rand_core::OsRng,
            rsa::Oaep::new::<sha1::Sha1>(),
            &[7u8; 32],
        )
        .expect("OAEP");
    say(
        "B: unwrap with the transport key as a readable key",
        ckr(&sb.unwrap_key(&oaep_sha1(), tb, &blob, &readable_aes())),
    );
    let mrk = arg("mrk");
    let (ma, mb) = (find_exact(&sa, &mrk), find_exact(&sb, &mrk));
    let mut iv = [9u8; 12];
    let ct = sa
        .encrypt(
            &Mechanism::AesGcm(GcmParams::new(&mut iv, &[], 128.into()).expect("GCM")),
            ma,
            b"before the upgrade",
        )
        .expect("encrypt in A");
    let mut iv = [9u8; 12];
    let pt = sb.decrypt(
        &Mechanism::AesGcm(GcmParams::new(&mut iv, &[], 128.into()).expect("GCM")),
        mb,
        &ct,
    );
    say(
        "former material: A encrypts, B decrypts",
        match pt {
            Ok(p) if p == b"before the upgrade" => "same plaintext".to_string(),
            other => format!("{:?}", other.map(|_| "other plaintext")),
        },
    );
}

/// Counts the objects of token `region`: all (empty template), those with neither label
/// nor ID, and token objects with a label.
fn count_objects(dir: &Path, arg: &dyn Fn(&str) -> String) {
    let lab = Lab::open(dir);
    let s = lab.user(dir, &arg("region"));
    let all = s.find_objects(&[]).expect("C_FindObjects");
    let mut unnamed = 0;
    let mut labelled = 0;
    let mut wrapping = 0;
    for h in &all {
        let attrs = s
            .get_attributes(*h, &[AttributeType::Label, AttributeType::Id])
            .unwrap_or_default();
        wrapping += attrs
            .iter()
            .filter(|a| matches!(a, Attribute::Label(l) if l.starts_with(b"import-wrapping/")))
            .count();
        let named = attrs.iter().any(|a| match a {
            Attribute::Label(l) => !l.is_empty(),
            Attribute::Id(i) => !i.is_empty(),
            _ => false,
        });
        if named {
            labelled += 1;
        } else {
            unnamed += 1;
        }
    }
    say("objects", all.len());
    say("objects with neither label nor ID", unnamed);
    say("labelled objects", labelled);
    say("import wrapping key objects", wrapping);
}

/// How many token objects of token `region` carry each of `labels` (comma-separated
/// CKA_LABEL values, such as a key material's `<key id>/<material id>`).
fn count_labelled(dir: &Path, arg: &dyn Fn(&str) -> String) {
    let lab = Lab::open(dir);
    let s = lab.user(dir, &arg("region"));
    for label in arg("labels").split(',').filter(|l| !l.is_empty()) {
        let found = s
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .expect("C_FindObjects");
        say(label, found.len());
    }
}

/// Creates in token `region` a token object with neither label nor ID, as a kill -9
/// during object creation leaves one (a secret key with SoftHSM's defaults).
fn plant_orphan(dir: &Path, arg: &dyn Fn(&str) -> String) {
    let lab = Lab::open(dir);
    let s = lab.user(dir, &arg("region"));
    s.create_object(&[
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Value(vec![0u8; 32]),
    ])
    .expect("an unnamed token object");
    say("planted", 1);
}
