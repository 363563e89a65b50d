//! Finding a Region's token by label, and creating it with C_InitToken on a free slot when
//! it is missing (SoftHSM2 renumbers slots after C_InitToken and across restarts, so slot
//! numbers are never remembered).

use cryptoki::context::Pkcs11;
use cryptoki::session::UserType;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use super::errors::HsmError;
use crate::domain::region::Region;

fn find_by_label(ctx: &Pkcs11, region: Region) -> Result<Option<Slot>, HsmError> {
    let label = region.as_str();
    let slots = ctx.get_slots_with_token().map_err(|e| HsmError::Pkcs11 {
        call: "C_GetSlotList",
        region,
        error: e,
    })?;
    for slot in slots {
        let Ok(info) = ctx.get_token_info(slot) else {
            continue;
        };
        if info.token_initialized() && info.label().trim_end() == label {
            return Ok(Some(slot));
        }
    }
    Ok(None)
}

/// The slot holding `region`'s token, if the token exists.
pub fn find(ctx: &Pkcs11, region: Region) -> Result<Option<Slot>, HsmError> {
    find_by_label(ctx, region)
}

/// Returns the slot holding `region`'s token and whether it was just created (on a free
/// slot, with these PINs).
pub fn ensure_token(
    ctx: &Pkcs11,
    region: Region,
    so_pin: &str,
    user_pin: &str,
) -> Result<(Slot, bool), HsmError> {
    let label = region.as_str();
    if let Some(slot) = find_by_label(ctx, region)? {
        return Ok((slot, false));
    }
    let p11 = |call: &'static str| {
        move |error| HsmError::Pkcs11 {
            call,
            region,
            error,
        }
    };
    let free = ctx
        .get_slots_with_token()
        .map_err(p11("C_GetSlotList"))?
        .into_iter()
        .find(|slot| {
            ctx.get_token_info(*slot)
                .map(|info| !info.token_initialized())
                .unwrap_or(false)
        })
        .ok_or(HsmError::NoFreeSlot { region })?;
    let so = AuthPin::new(so_pin.to_string().into());
    ctx.init_token(free, &so, label)
        .map_err(p11("C_InitToken"))?;
    let slot = find_by_label(ctx, region)?.ok_or(HsmError::TokenVanished { region })?;
    let session = ctx.open_rw_session(slot).map_err(p11("C_OpenSession"))?;
    session
        .login(UserType::So, Some(&so))
        .map_err(p11("C_Login(SO)"))?;
    session
        .init_pin(&AuthPin::new(user_pin.to_string().into()))
        .map_err(p11("C_InitPIN"))?;
    session.logout().map_err(p11("C_Logout"))?;
    tracing::info!(region = label, "created token");
    Ok((slot, true))
}
