//! First-start setup and the commands that work on the tokens without serving: the
//! SoftHSM2 configuration in the data directory (written before the module is loaded),
//! `hsm-kms init`, which opens every Region's token once (creating it, see
//! [`super::slots`]) and sets up key transport, and `hsm-kms rotate-pins`
//! ([`super::pin_change::rotate`]).
//!
//! Before the module is loaded, the token directories of the data directory are cleared of
//! the empty object files SoftHSM leaves when the process is killed while it creates an
//! object (it creates the file before writing it): invisible through PKCS#11, they would
//! stay forever. Only files named as SoftHSM names object files, only in token directories
//! of this data directory's `tokens/`, only when hsm-kms manages the SoftHSM
//! configuration.

use std::path::Path;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};

use super::pin_change::{self, Rotation};
use super::slots;
use super::Hsm;
use crate::config::Config;
use crate::data_dir::{self, SOFTHSM_CONF, TOKENS_DIR};

const CONF_TEMPLATE: &str = include_str!("../../softhsm/softhsm2.conf.template");

/// Prepares the data directory ([`data_dir::prepare`]: directories, file modes), writes
/// `<data dir>/softhsm2.conf` (token directory `<data dir>/tokens`), removes SoftHSM's
/// empty object files and points SOFTHSM2_CONF at the configuration. Must run before the
/// module is loaded and before any thread starts.
pub fn prepare_environment(config: &Config) -> Result<(), String> {
    data_dir::prepare(config)?;
    if !config.manage_softhsm_conf {
        return Ok(());
    }
    let data_dir = config
        .data_dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", config.data_dir.display()))?;
    let token_dir = data_dir.join(TOKENS_DIR);
    let conf_path = data_dir.join(SOFTHSM_CONF);
    let conf = CONF_TEMPLATE.replace("{TOKEN_DIR}", &token_dir.to_string_lossy());
    write_if_changed(&conf_path, &conf)?;
    let removed = remove_empty_object_files(&token_dir)
        .map_err(|e| format!("cannot clean {}: {e}", token_dir.display()))?;
    if removed > 0 {
        tracing::warn!(
            removed,
            "removed empty token object files (left by an interrupted object creation)"
        );
    }
    // Safe: called from main before the runtime or any other thread exists.
    std::env::set_var("SOFTHSM2_CONF", &conf_path);
    Ok(())
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    data_dir::write_private(path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Whether `name` is the name SoftHSM gives an object file: a UUID (8-4-4-4-12 lowercase
/// hex digits) and `.object`.
fn is_object_file_name(name: &str) -> bool {
    let Some(uuid) = name.strip_suffix(".object") else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, len)| {
            g.len() == len && g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

/// Removes, in every SoftHSM token directory under `tokens` (a directory holding
/// `token.object`), the object files that are empty, with their lock files. Returns how
/// many object files it removed.
pub fn remove_empty_object_files(tokens: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(tokens) else {
        return Ok(0);
    };
    for token_dir in entries {
        let token_dir = token_dir?.path();
        if !token_dir.is_dir() || !token_dir.join("token.object").is_file() {
            continue;
        }
        for file in std::fs::read_dir(&token_dir)? {
            let file = file?;
            let name = file.file_name().to_string_lossy().into_owned();
            if !is_object_file_name(&name) || !file.file_type()?.is_file() {
                continue;
            }
            if file.metadata()?.len() != 0 {
                continue;
            }
            std::fs::remove_file(file.path())?;
            let lock = token_dir.join(name.replace(".object", ".lock"));
            if std::fs::metadata(&lock).is_ok_and(|m| m.is_file() && m.len() == 0) {
                std::fs::remove_file(lock)?;
            }
            removed += 1;
        }
    }
    Ok(removed)
}

/// Used by `hsm-kms init`: prepares the environment and creates every token.
pub fn init_all(config: &Config) -> Result<(), String> {
    prepare_environment(config)?;
    Hsm::open(config).map_err(|e| e.to_string())?;
    Ok(())
}

/// Used by `hsm-kms rotate-pins`: replaces the user and SO PINs of every served token with
/// new random ones and writes them to `<data dir>/pins` ([`pin_change::rotate`]). The server
/// must not be running (it keeps its login, but its next start needs the new PINs, which
/// it reads from the file).
pub fn rotate_pins(config: &Config) -> Result<Rotation, String> {
    prepare_environment(config)?;
    let ctx = Pkcs11::new(&config.pkcs11_module)
        .map_err(|e| format!("cannot load {}: {e}", config.pkcs11_module.display()))?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(|e| format!("PKCS#11 C_Initialize failed: {e}"))?;
    let mut tokens = Vec::new();
    for region in &config.regions {
        tokens.push((
            *region,
            slots::find(&ctx, *region).map_err(|e| e.to_string())?,
        ));
    }
    pin_change::rotate(
        &ctx,
        &config.data_dir,
        (config.user_pin.as_ref(), config.so_pin.as_ref()),
        &tokens,
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_softhsm_object_file_names_are_recognised() {
        assert!(is_object_file_name(
            "9cff7bed-31ff-090f-5837-3b1af69cb6fa.object"
        ));
        for other in [
            "token.object",
            "9cff7bed-31ff-090f-5837-3b1af69cb6fa.lock",
            "9cff7bed-31ff-090f-5837-3b1af69cb6f.object",
            "9CFF7BED-31FF-090F-5837-3B1AF69CB6FA.object",
            "notes.object",
            "9cff7bed-31ff-090f-5837-3b1af69cb6fa.object.bak",
        ] {
            assert!(!is_object_file_name(other), "{other}");
        }
    }

    #[test]
    fn empty_object_files_go_and_everything_else_stays() {
        let tokens = tempfile::tempdir().expect("temp dir");
        let token = tokens.path().join("01a5299a-c9b2-f6d7-a530-84a188e5d15e");
        std::fs::create_dir(&token).expect("token dir");
        std::fs::write(token.join("token.object"), b"token").expect("write");
        std::fs::write(token.join("token.lock"), b"").expect("write");
        let empty = "9cff7bed-31ff-090f-5837-3b1af69cb6fa";
        let full = "a6eff06a-0697-c64d-0138-c0bd355fc563";
        std::fs::write(token.join(format!("{empty}.object")), b"").expect("write");
        std::fs::write(token.join(format!("{empty}.lock")), b"").expect("write");
        std::fs::write(token.join(format!("{full}.object")), b"data").expect("write");
        std::fs::write(token.join(format!("{full}.lock")), b"").expect("write");
        std::fs::write(token.join("notes.object"), b"").expect("write");
        // A directory without token.object is not a token directory.
        let other = tokens.path().join("other");
        std::fs::create_dir(&other).expect("dir");
        std::fs::write(other.join(format!("{empty}.object")), b"").expect("write");

        assert_eq!(remove_empty_object_files(tokens.path()).expect("clean"), 1);
        assert!(!token.join(format!("{empty}.object")).exists());
        assert!(!token.join(format!("{empty}.lock")).exists());
        for stays in [
            token.join(format!("{full}.object")),
            token.join(format!("{full}.lock")),
            token.join("token.lock"),
            token.join("notes.object"),
            other.join(format!("{empty}.object")),
        ] {
            assert!(stays.exists(), "{}", stays.display());
        }
    }
}
