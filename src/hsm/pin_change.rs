//! Logging in with, and changing, the tokens' PINs: the startup check that every token
//! takes its PINs (replacing a former built-in default where the PINs come from the `pins`
//! file) and `hsm-kms rotate-pins`. Where the PINs come from is [`super::pins`].

use std::path::Path;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::Session;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use super::errors::HsmError;
use super::pins::{
    generate, read_file, write_file, FilePins, PinOrigin, PinUser, Pins, PinsError, NEXT_PINS_FILE,
};
use crate::config::Pin;
use crate::data_dir::PINS_FILE;
use crate::domain::region::Region;

fn auth(pin: &str) -> AuthPin {
    AuthPin::new(pin.to_string().into())
}

fn pin_incorrect(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
            _
        )
    )
}

/// Logs `who` in to the session's token with `pin`, then out again: Ok(false) when the
/// token refuses the PIN.
fn try_login(s: &Session, who: PinUser, pin: &str) -> Result<bool, CkError> {
    match s.login(who.user_type(), Some(&auth(pin))) {
        Ok(()) => s.logout().map(|()| true),
        Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(true),
        Err(e) if pin_incorrect(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Changes the PIN of `who` from `old` to `new` in the session's token.
fn change_pin(s: &Session, who: PinUser, old: &str, new: &str) -> Result<(), CkError> {
    s.login(who.user_type(), Some(&auth(old)))?;
    let changed = s.set_pin(&auth(old), &auth(new));
    let logout = s.logout();
    changed.and(logout)
}

/// Checks that the token in `slot` takes both PINs; a token of an earlier version that
/// still has a former default PIN, where the PIN comes from the `pins` file, gets the
/// file's PIN instead (see the module documentation). Runs before the token is opened,
/// while no user of this process is logged in to it.
pub(crate) fn check_token(
    ctx: &Pkcs11,
    slot: Slot,
    region: Region,
    pins: &Pins,
) -> Result<(), HsmError> {
    let p11 = |call: &'static str| {
        move |error| HsmError::Pkcs11 {
            call,
            region,
            error,
        }
    };
    let session = ctx.open_rw_session(slot).map_err(p11("C_OpenSession"))?;
    for who in [PinUser::SecurityOfficer, PinUser::User] {
        if try_login(&session, who, pins.pin(who)).map_err(p11("C_Login"))? {
            continue;
        }
        let upgrade = pins.origin(who) == PinOrigin::File
            && try_login(&session, who, who.former_default()).map_err(p11("C_Login"))?;
        if !upgrade {
            return Err(HsmError::WrongPin {
                region,
                who: who.name(),
                origin: pins.source(who),
            });
        }
        change_pin(&session, who, who.former_default(), pins.pin(who)).map_err(p11("C_SetPIN"))?;
        tracing::warn!(
            %region,
            pin = who.name(),
            file = %pins.file.display(),
            "replaced the former built-in default PIN of the token with the PIN in the pins file"
        );
    }
    Ok(())
}

/// What [`rotate`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Tokens whose PINs it changed.
    pub rotated: Vec<Region>,
    /// Tokens that already had the new PINs (an interrupted rotation finished).
    pub already_rotated: Vec<Region>,
    /// Served Regions whose token does not exist yet (it will be created with the new PINs).
    pub not_created: Vec<Region>,
}

/// Rotates the user and SO PINs of every served token in `tokens` (found by the caller):
/// see the module documentation. The PINs must come from the `pins` file of `data_dir`.
pub fn rotate(
    ctx: &Pkcs11,
    data_dir: &Path,
    given: (Option<&Pin>, Option<&Pin>),
    tokens: &[(Region, Option<Slot>)],
) -> Result<Rotation, HsmError> {
    let file = data_dir.join(PINS_FILE);
    for (who, pin) in [
        (PinUser::User, given.0),
        (PinUser::SecurityOfficer, given.1),
    ] {
        if pin.is_some() {
            return Err(PinsError::GivenPin {
                who,
                file: file.clone(),
            }
            .into());
        }
    }
    let current = read_file(&file)?.ok_or(PinsError::NoPinsFile { path: file.clone() })?;
    let (Some(current_user), Some(current_so)) = (current.user, current.so) else {
        return Err(PinsError::NoPinsFile { path: file }.into());
    };
    let next_path = data_dir.join(NEXT_PINS_FILE);
    let next = match read_file(&next_path)? {
        Some(FilePins {
            user: Some(user),
            so: Some(so),
        }) => (user, so),
        _ => {
            let next = (generate(), generate());
            write_file(
                &next_path,
                &FilePins {
                    user: Some(next.0.clone()),
                    so: Some(next.1.clone()),
                },
            )?;
            next
        }
    };
    let mut report = Rotation::default();
    for (region, slot) in tokens {
        let Some(slot) = slot else {
            report.not_created.push(*region);
            continue;
        };
        let p11 = |call: &'static str| {
            let region = *region;
            move |error| HsmError::Pkcs11 {
                call,
                region,
                error,
            }
        };
        let session = ctx.open_rw_session(*slot).map_err(p11("C_OpenSession"))?;
        let mut changed = false;
        for (who, old, new) in [
            (PinUser::User, &current_user, &next.0),
            (PinUser::SecurityOfficer, &current_so, &next.1),
        ] {
            if try_login(&session, who, old).map_err(p11("C_Login"))? {
                change_pin(&session, who, old, new).map_err(p11("C_SetPIN"))?;
                changed = true;
            } else if !try_login(&session, who, new).map_err(p11("C_Login"))? {
                return Err(HsmError::WrongPin {
                    region: *region,
                    who: who.name(),
                    origin: file.display().to_string(),
                });
            }
        }
        if changed {
            report.rotated.push(*region);
        } else {
            report.already_rotated.push(*region);
        }
    }
    std::fs::rename(&next_path, &file)
        .and_then(|()| std::fs::File::open(data_dir)?.sync_all())
        .map_err(|source| PinsError::Io {
            action: "replace",
            path: file.clone(),
            source,
        })?;
    Ok(report)
}
