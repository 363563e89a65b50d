//! The tokens' user and Security Officer PINs: where they come from, the `pins` file, the
//! replacement of the former built-in defaults, and rotation (`hsm-kms rotate-pins`).
//!
//! There are no built-in PINs. A PIN given in the configuration (environment or config
//! file) is used as given. Otherwise it comes from `<data dir>/pins`; on the first start
//! (`hsm-kms init` or `serve`) the missing ones are generated — 128 random bits each,
//! written as hex — into that file (mode 0600) before any token is created. PINs live in
//! [`Pin`]s (zeroised when dropped, redacted in every Debug); [`super::Hsm::open`] drops
//! the SO PIN as soon as the tokens are set up.
//!
//! Tokens made by earlier versions were initialised with the former defaults (user
//! `1234`, SO `12345678`). When the PINs come from the `pins` file and a token refuses one
//! of them, the former default is tried once and, if the token takes it, replaced with
//! the file's PIN (C_SetPIN) — so such a data directory is upgraded at its first start and
//! the defaults stop working.
//!
//! Rotation ([`rotate`]) replaces both PINs of every served token with new random ones.
//! The new PINs are written to `pins.next` first; each token is moved to them (a token
//! that already takes them is skipped), then `pins.next` replaces `pins`. An interrupted
//! rotation is finished by running it again; until then the server refuses to start.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cryptoki::session::UserType;
use rand_core::OsRng;
use rand_core::RngCore as _;
use zeroize::Zeroizing;

use crate::config::Pin;
use crate::data_dir::{self, PINS_FILE};

/// The user PIN every token of earlier versions was initialised with (upgrade only).
const FORMER_DEFAULT_USER_PIN: &str = "1234";
/// The SO PIN every token of earlier versions was initialised with (upgrade only).
const FORMER_DEFAULT_SO_PIN: &str = "12345678";
/// Random bytes in a generated PIN (written as hex).
const GENERATED_PIN_BYTES: usize = 16;
/// Where an interrupted rotation keeps the PINs it moves the tokens to.
pub(super) const NEXT_PINS_FILE: &str = "pins.next";

/// Which of a token's two users a PIN is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinUser {
    User,
    SecurityOfficer,
}

impl PinUser {
    pub(super) fn user_type(self) -> UserType {
        match self {
            PinUser::User => UserType::User,
            PinUser::SecurityOfficer => UserType::So,
        }
    }

    /// How the PIN is named in messages.
    pub fn name(self) -> &'static str {
        match self {
            PinUser::User => "user",
            PinUser::SecurityOfficer => "SO",
        }
    }

    pub(super) fn former_default(self) -> &'static str {
        match self {
            PinUser::User => FORMER_DEFAULT_USER_PIN,
            PinUser::SecurityOfficer => FORMER_DEFAULT_SO_PIN,
        }
    }

    pub(super) fn setting(self) -> &'static str {
        match self {
            PinUser::User => "HSM_KMS_USER_PIN / user_pin",
            PinUser::SecurityOfficer => "HSM_KMS_SO_PIN / so_pin",
        }
    }
}

/// Where a PIN came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOrigin {
    /// The configuration (environment or config file).
    Given,
    /// `<data dir>/pins` (read, or generated into it by this start).
    File,
}

/// The two PINs the tokens are opened with.
#[derive(Debug, Clone)]
pub struct Pins {
    pub user: Pin,
    pub so: Pin,
    pub user_origin: PinOrigin,
    pub so_origin: PinOrigin,
    /// The `pins` file (for messages).
    pub file: PathBuf,
}

/// The PINs of a `pins` file; either may be absent (given in the configuration instead).
#[derive(Debug, Default)]
pub(super) struct FilePins {
    pub(super) user: Option<Pin>,
    pub(super) so: Option<Pin>,
}

/// What is wrong with a `pins` file or with the PINs.
#[derive(Debug, thiserror::Error)]
pub enum PinsError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} line {line}: {reason} (expected `user_pin = \"...\"` or `so_pin = \"...\"`)", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        reason: &'static str,
    },
    #[error(
        "a PIN rotation was interrupted ({} exists): run `hsm-kms rotate-pins` again to finish it",
        path.display()
    )]
    RotationInterrupted { path: PathBuf },
    #[error(
        "the {} PIN is given in the configuration ({}): hsm-kms rotates only the PINs it \
         keeps in {}; change a given PIN with your PKCS#11 tools, or remove the setting and \
         let hsm-kms keep it",
        who.name(),
        who.setting(),
        file.display()
    )]
    GivenPin { who: PinUser, file: PathBuf },
    #[error("no {}: there are no PINs for hsm-kms to rotate (start it once first)", path.display())]
    NoPinsFile { path: PathBuf },
}

pub(super) fn generate() -> Pin {
    let mut bytes = Zeroizing::new([0u8; GENERATED_PIN_BYTES]);
    OsRng.fill_bytes(bytes.as_mut());
    let mut hex = Zeroizing::new(String::with_capacity(2 * GENERATED_PIN_BYTES));
    for b in bytes.iter() {
        let _ = write!(hex, "{b:02x}");
    }
    Pin::new(hex.as_str())
}

/// Reads a `pins` file (`user_pin = "..."`, `so_pin = "..."`, comments); None when it does
/// not exist.
pub(super) fn read_file(path: &Path) -> Result<Option<FilePins>, PinsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => Zeroizing::new(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PinsError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let mut pins = FilePins::default();
    for (i, line) in text.lines().enumerate() {
        let syntax = |reason| PinsError::Syntax {
            path: path.to_path_buf(),
            line: i + 1,
            reason,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| syntax("no `=`"))?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .filter(|v| !v.is_empty() && !v.contains(['"', '\\']))
            .ok_or_else(|| syntax("the PIN must be a non-empty string in double quotes"))?;
        match key.trim() {
            "user_pin" => pins.user = Some(Pin::new(value)),
            "so_pin" => pins.so = Some(Pin::new(value)),
            _ => return Err(syntax("unknown key")),
        }
    }
    Ok(Some(pins))
}

pub(super) fn write_file(path: &Path, pins: &FilePins) -> Result<(), PinsError> {
    let mut text = Zeroizing::new(String::from(
        "# Token PINs generated by hsm-kms (keep this file private: mode 0600).\n",
    ));
    if let Some(user) = &pins.user {
        let _ = writeln!(text, "user_pin = \"{}\"", &**user);
    }
    if let Some(so) = &pins.so {
        let _ = writeln!(text, "so_pin = \"{}\"", &**so);
    }
    data_dir::write_private(path, text.as_bytes()).map_err(|source| PinsError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

impl Pins {
    /// The PINs for the data directory `data_dir`: each given one as given, the others
    /// from `<data dir>/pins`, generated into it (mode 0600) when missing.
    pub fn load_or_create(
        data_dir: &Path,
        given_user: Option<Pin>,
        given_so: Option<Pin>,
    ) -> Result<Pins, PinsError> {
        let next = data_dir.join(NEXT_PINS_FILE);
        if next.exists() {
            return Err(PinsError::RotationInterrupted { path: next });
        }
        let file = data_dir.join(PINS_FILE);
        let mut stored = read_file(&file)?.unwrap_or_default();
        let mut generated = Vec::new();
        if given_user.is_none() && stored.user.is_none() {
            stored.user = Some(generate());
            generated.push("user");
        }
        if given_so.is_none() && stored.so.is_none() {
            stored.so = Some(generate());
            generated.push("SO");
        }
        if !generated.is_empty() {
            write_file(&file, &stored)?;
            tracing::info!(
                pins = %generated.join(" and "),
                file = %file.display(),
                "generated token PINs"
            );
        }
        let pick = |given: Option<Pin>, stored: Option<Pin>| match given {
            Some(pin) => Some((pin, PinOrigin::Given)),
            None => stored.map(|pin| (pin, PinOrigin::File)),
        };
        let missing = || PinsError::NoPinsFile { path: file.clone() };
        let (user, user_origin) = pick(given_user, stored.user.take()).ok_or_else(missing)?;
        let (so, so_origin) = pick(given_so, stored.so.take()).ok_or_else(missing)?;
        Ok(Pins {
            user,
            so,
            user_origin,
            so_origin,
            file,
        })
    }

    pub(super) fn origin(&self, who: PinUser) -> PinOrigin {
        match who {
            PinUser::User => self.user_origin,
            PinUser::SecurityOfficer => self.so_origin,
        }
    }

    pub(super) fn pin(&self, who: PinUser) -> &Pin {
        match who {
            PinUser::User => &self.user,
            PinUser::SecurityOfficer => &self.so,
        }
    }

    /// Where the PIN of `who` came from, for messages.
    pub(super) fn source(&self, who: PinUser) -> String {
        match self.origin(who) {
            PinOrigin::Given => format!("the configuration ({})", who.setting()),
            PinOrigin::File => self.file.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_first_start_generates_random_pins_into_a_private_file_and_later_starts_read_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = Pins::load_or_create(dir.path(), None, None).expect("generated");
        assert_eq!(first.user.len(), 32);
        assert_ne!(&*first.user, &*first.so);
        assert!(first.user.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(first.user_origin, PinOrigin::File);
        let file = dir.path().join(PINS_FILE);
        let mode = std::fs::metadata(&file).expect("pins").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Pins::load_or_create(dir.path(), None, None).expect("read");
        assert_eq!(&*again.user, &*first.user);
        assert_eq!(&*again.so, &*first.so);
        // Debug never shows them.
        let shown = format!("{again:?}");
        assert!(
            !shown.contains(&*first.user) && !shown.contains(&*first.so),
            "{shown}"
        );
    }

    #[test]
    fn given_pins_win_and_are_never_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pins = Pins::load_or_create(
            dir.path(),
            Some(Pin::new("4321")),
            Some(Pin::new("87654321")),
        )
        .expect("given");
        assert_eq!(&*pins.user, "4321");
        assert_eq!(pins.so_origin, PinOrigin::Given);
        assert!(!dir.path().join(PINS_FILE).exists());
        // Only the missing one is generated and written.
        let pins = Pins::load_or_create(dir.path(), Some(Pin::new("4321")), None).expect("half");
        let text = std::fs::read_to_string(dir.path().join(PINS_FILE)).expect("pins");
        assert!(
            text.contains("so_pin") && !text.contains("user_pin"),
            "{text}"
        );
        assert!(!text.contains("4321"));
        assert_eq!(pins.so_origin, PinOrigin::File);
    }

    #[test]
    fn a_malformed_pins_file_or_an_interrupted_rotation_stops_the_start() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(PINS_FILE), "user_pin = 1234\n").expect("write");
        let e = Pins::load_or_create(dir.path(), None, None).expect_err("unquoted");
        assert!(e.to_string().contains("line 1"), "{e}");
        assert!(!e.to_string().contains("1234"), "{e}");
        std::fs::write(dir.path().join(PINS_FILE), "").expect("write");
        std::fs::write(dir.path().join(NEXT_PINS_FILE), "").expect("write");
        let e = Pins::load_or_create(dir.path(), None, None).expect_err("interrupted");
        assert!(e.to_string().contains("rotate-pins"), "{e}");
    }
}
