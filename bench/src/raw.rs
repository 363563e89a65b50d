//! The ceiling: AES-GCM encryption straight through PKCS#11 in this process, on one
//! thread, with a token of its own (its own softhsm2.conf and token directory, as the
//! server sets up its data directory).

use std::path::Path;
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

const SO_PIN: &str = "bench-so-pin";
const USER_PIN: &str = "bench-user-pin";

pub struct RawRates {
    /// C_Encrypt AES-GCM per second with the token-object key.
    pub token_object: f64,
    /// The same with a session-object copy (C_CopyObject, CKA_TOKEN false) of the key.
    pub session_object: f64,
    /// With `many_keys` session-object keys in the token, a random one per call: SoftHSM's
    /// own cost of spreading work over many keys (the scale test's ceiling).
    pub many_keys: usize,
    pub many_keys_random: f64,
}

/// Writes `<dir>/softhsm2.conf` and points SOFTHSM2_CONF at it. Must run before any
/// other thread exists (it changes the environment) and before the module is loaded.
pub fn prepare_environment(dir: &Path) -> Result<(), String> {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).map_err(|e| format!("{}: {e}", tokens.display()))?;
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n\
             slots.removable = false\n",
            tokens.display()
        ),
    )
    .map_err(|e| format!("{}: {e}", conf.display()))?;
    std::env::set_var("SOFTHSM2_CONF", &conf);
    Ok(())
}

fn p11<T>(call: &'static str) -> impl Fn(T) -> String
where
    T: std::fmt::Display,
{
    move |e| format!("{call}: {e}")
}

/// Creates a token, an AES-256 token-object key and a session-object copy of it, then
/// counts AES-GCM encryptions of `payload` bytes for `duration` with each; then the same
/// with a random key out of `many_keys` session-object keys per call.
pub fn measure(
    module: &Path,
    payload: usize,
    duration: Duration,
    many_keys: usize,
) -> Result<RawRates, String> {
    let ctx = Pkcs11::new(module).map_err(|e| format!("cannot load {}: {e}", module.display()))?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(p11("C_Initialize"))?;
    let slot = ctx
        .get_slots_with_token()
        .map_err(p11("C_GetSlotList"))?
        .into_iter()
        .find(|s| {
            ctx.get_token_info(*s)
                .map(|i| !i.token_initialized())
                .unwrap_or(false)
        })
        .ok_or("no free slot for the bench token")?;
    let so = AuthPin::new(SO_PIN.to_string().into());
    ctx.init_token(slot, &so, "bench")
        .map_err(p11("C_InitToken"))?;
    // SoftHSM2 renumbers the slot after C_InitToken: find it again by label.
    let slot = ctx
        .get_slots_with_token()
        .map_err(p11("C_GetSlotList"))?
        .into_iter()
        .find(|s| {
            ctx.get_token_info(*s)
                .map(|i| i.token_initialized() && i.label().trim_end() == "bench")
                .unwrap_or(false)
        })
        .ok_or("the bench token vanished after C_InitToken")?;
    {
        let s = ctx.open_rw_session(slot).map_err(p11("C_OpenSession"))?;
        s.login(UserType::So, Some(&so))
            .map_err(p11("C_Login(SO)"))?;
        s.init_pin(&AuthPin::new(USER_PIN.to_string().into()))
            .map_err(p11("C_InitPIN"))?;
        s.logout().map_err(p11("C_Logout"))?;
    }
    let session = ctx.open_rw_session(slot).map_err(p11("C_OpenSession"))?;
    session
        .login(
            UserType::User,
            Some(&AuthPin::new(USER_PIN.to_string().into())),
        )
        .map_err(p11("C_Login"))?;
    // The same template the server uses for single-Region key material.
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen(32.into()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
        Attribute::Label(b"bench-key".to_vec()),
    ];
    let token_key = session
        .generate_key(&Mechanism::AesKeyGen, &template)
        .map_err(p11("C_GenerateKey"))?;
    let session_key = session
        .copy_object(token_key, &[Attribute::Token(false)])
        .map_err(p11("C_CopyObject"))?;
    let plaintext = vec![0x42u8; payload];
    let token_object = encrypt_rate(&session, &[token_key], &plaintext, duration)?;
    let session_object = encrypt_rate(&session, &[session_key], &plaintext, duration)?;
    let mut session_template: Vec<Attribute> = template
        .iter()
        .filter(|a| !matches!(a, Attribute::Token(_)))
        .cloned()
        .collect();
    session_template.push(Attribute::Token(false));
    let mut keys = Vec::with_capacity(many_keys);
    for _ in 0..many_keys {
        keys.push(
            session
                .generate_key(&Mechanism::AesKeyGen, &session_template)
                .map_err(p11("C_GenerateKey"))?,
        );
    }
    let many_keys_random = if keys.is_empty() {
        f64::NAN
    } else {
        encrypt_rate(&session, &keys, &plaintext, duration)?
    };
    Ok(RawRates {
        token_object,
        session_object,
        many_keys,
        many_keys_random,
    })
}

fn encrypt_rate(
    session: &Session,
    keys: &[ObjectHandle],
    plaintext: &[u8],
    duration: Duration,
) -> Result<f64, String> {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut counter = 0u64;
    let mut one = |counter: u64| -> Result<(), String> {
        let key = if keys.len() == 1 {
            keys[0]
        } else {
            keys[rng.usize(..keys.len())]
        };
        let mut iv = [0u8; 12];
        iv[4..].copy_from_slice(&counter.to_be_bytes());
        let params = GcmParams::new(&mut iv, &[], 128.into()).map_err(p11("GCM parameters"))?;
        let out = session
            .encrypt(&Mechanism::AesGcm(params), key, plaintext)
            .map_err(p11("C_Encrypt"))?;
        debug_assert_eq!(out.len(), plaintext.len() + 16);
        Ok(())
    };
    // A short warm-up, then the measured loop.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(100) {
        one(counter)?;
        counter += 1;
    }
    let start = Instant::now();
    let mut done = 0u64;
    loop {
        for _ in 0..64 {
            one(counter)?;
            counter += 1;
        }
        done += 64;
        if start.elapsed() >= duration {
            break;
        }
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}
