//! The data directory: its layout, and the file modes that keep it to the user the server
//! runs as. Startup code only; depends on nothing of the service but the configuration.
//!
//! ```text
//! <data dir>/            0700
//!   tokens/              0700  SoftHSM2 token directories (SoftHSM makes 0700 / 0600)
//!   audit/               0700
//!   audit/<region>.jsonl 0600  (created 0600 by the audit log)
//!   kms.sqlite3          0600  created here before SQLite opens it: SQLite gives its
//!                              -wal and -shm files the database file's mode
//!   cloudformation.sqlite3 0600  the stack store, likewise
//!   pins                 0600  the token PINs hsm-kms generated (src/hsm/pins.rs)
//!   softhsm2.conf        0600
//!   admin-token          0600  the admin API's token (`--admin-api`)
//! ```
//!
//! Modes are set explicitly when a file or directory is created (never left to the
//! umask) and corrected at every start for what already exists. A config file that other
//! users can read gets a warning (it is the user's file: hsm-kms does not change it).

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use crate::config::Config;

/// The token directory SoftHSM2 is pointed at.
pub const TOKENS_DIR: &str = "tokens";
/// The per-Region audit logs.
pub const AUDIT_DIR: &str = "audit";
/// The metadata store (SQLite, WAL).
pub const METADATA_FILE: &str = "kms.sqlite3";
/// The CloudFormation stack store (SQLite, WAL).
pub const STACKS_FILE: &str = "cloudformation.sqlite3";
/// The token PINs hsm-kms generated.
pub const PINS_FILE: &str = "pins";
/// The SoftHSM2 configuration hsm-kms writes.
pub const SOFTHSM_CONF: &str = "softhsm2.conf";
/// The admin API's token (made at the first start with the admin API).
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// Mode of every directory in the data directory.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in the data directory.
pub const FILE_MODE: u32 = 0o600;

/// Sets `path`'s permission bits to `mode` unless they already are.
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    if meta.permissions().mode() & 0o7777 != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Creates the directory `path` (and missing parents) and gives it mode 0700.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    fs::create_dir_all(path)?;
    restrict(path, DIR_MODE)
}

/// Creates `path` empty with mode 0600 if it does not exist; gives an existing file mode
/// 0600.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(f) => f.sync_all()?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    restrict(path, FILE_MODE)
}

/// Writes `bytes` to `path` durably and atomically, mode 0600: a temporary file in the same
/// directory (created 0600), fsync, rename over `path`, fsync of the directory.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let _ = fs::remove_file(&tmp);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&tmp)?;
        restrict(&tmp, FILE_MODE)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    fs::File::open(dir)?.sync_all()
}

/// Gives every directory under `dir` (and `dir`) mode 0700 and every file mode 0600.
fn restrict_tree(dir: &Path) -> std::io::Result<()> {
    restrict(dir, DIR_MODE)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            restrict_tree(&entry.path())?;
        } else if kind.is_file() {
            restrict(&entry.path(), FILE_MODE)?;
        }
    }
    Ok(())
}

/// Prepares the data directory for a start: creates it and its `tokens/` and `audit/`
/// directories with mode 0700, creates the database files with mode 0600, corrects the
/// modes of everything already there, and warns about a config file other users can read.
pub fn prepare(config: &Config) -> Result<(), String> {
    let dir = &config.data_dir;
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| format!("cannot prepare {}: {e}", path.display())
    };
    create_private_dir(dir).map_err(at(dir))?;
    for sub in [TOKENS_DIR, AUDIT_DIR] {
        let path = dir.join(sub);
        create_private_dir(&path).map_err(at(&path))?;
        restrict_tree(&path).map_err(at(&path))?;
    }
    let mut existing = vec![
        PINS_FILE.to_string(),
        SOFTHSM_CONF.to_string(),
        ADMIN_TOKEN_FILE.to_string(),
    ];
    for database in [METADATA_FILE, STACKS_FILE] {
        let path = dir.join(database);
        create_private_file(&path).map_err(at(&path))?;
        existing.extend(["wal", "shm", "journal"].map(|s| format!("{database}-{s}")));
    }
    for name in existing {
        let path = dir.join(name);
        if path.exists() {
            restrict(&path, FILE_MODE).map_err(at(&path))?;
        }
    }
    if let Some(file) = &config.config_file {
        warn_if_readable_by_others(file);
    }
    Ok(())
}

/// The admin API's token: read from `DATA_DIR/admin-token`, or made (128 random bits,
/// hex) and written there with mode 0600 on the first start with the admin API.
pub fn admin_token(dir: &Path) -> Result<zeroize::Zeroizing<String>, String> {
    let path = dir.join(ADMIN_TOKEN_FILE);
    match fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            restrict(&path, FILE_MODE)
                .map_err(|e| format!("cannot protect {}: {e}", path.display()))?;
            return Ok(zeroize::Zeroizing::new(text.trim().to_string()));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let mut bytes = zeroize::Zeroizing::new([0u8; 16]);
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, bytes.as_mut());
    let token = zeroize::Zeroizing::new(hex::encode(bytes.as_ref()));
    let mut text = zeroize::Zeroizing::new(token.to_string());
    text.push('\n');
    write_private(&path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(token)
}

/// Whether a config file's text sets a PIN.
fn holds_pins(text: &str) -> bool {
    text.parse::<toml::Table>()
        .map(|t| t.contains_key("user_pin") || t.contains_key("so_pin"))
        .unwrap_or(false)
}

/// The warning about a config file that users other than its owner can read, if it is.
pub fn readable_by_others(file: &Path) -> Option<String> {
    let mode = fs::metadata(file).ok()?.permissions().mode();
    if mode & 0o044 == 0 {
        return None;
    }
    let pins = fs::read_to_string(file)
        .map(|t| holds_pins(&t))
        .unwrap_or(false);
    Some(format!(
        "config file {} can be read by other users (mode {:o}){}: run chmod 600 {}",
        file.display(),
        mode & 0o777,
        if pins { " and it holds token PINs" } else { "" },
        file.display()
    ))
}

fn warn_if_readable_by_others(file: &Path) {
    if let Some(warning) = readable_by_others(file) {
        tracing::warn!("{warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
    }

    #[test]
    fn private_files_and_directories_get_their_modes_whatever_they_had() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sub = dir.path().join("a/b");
        create_private_dir(&sub).expect("dir");
        assert_eq!(mode(&sub), DIR_MODE);
        let file = sub.join("f");
        fs::write(&file, b"x").expect("write");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod");
        create_private_file(&file).expect("existing file");
        assert_eq!(mode(&file), FILE_MODE);
        assert_eq!(fs::read(&file).expect("read"), b"x", "kept its content");
        let written = sub.join("w");
        write_private(&written, b"secret").expect("write_private");
        assert_eq!(mode(&written), FILE_MODE);
        write_private(&written, b"again").expect("overwrite");
        assert_eq!(fs::read(&written).expect("read"), b"again");
        assert!(!sub.join(".w.tmp").exists());
    }

    #[test]
    fn a_config_file_readable_by_others_is_named_with_its_mode_and_pins() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("hsm-kms.toml");
        fs::write(&file, "user_pin = \"1111\"\n").expect("write");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod");
        let warning = readable_by_others(&file).expect("a warning");
        assert!(warning.contains("mode 644"), "{warning}");
        assert!(warning.contains("holds token PINs"), "{warning}");
        assert!(!warning.contains("1111"), "{warning}");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(readable_by_others(&file), None);
        fs::write(&file, "regions = [\"us-east-1\"]\n").expect("write");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).expect("chmod");
        let warning = readable_by_others(&file).expect("group-readable");
        assert!(!warning.contains("PINs"), "{warning}");
    }
}
