//! First-start setup: the SoftHSM2 configuration in the data directory and one token per
//! Region, created with C_InitToken and found by label afterwards (SoftHSM2 renumbers slots
//! after C_InitToken and across restarts, so slot numbers are never remembered).

use std::path::Path;

use cryptoki::context::Pkcs11;
use cryptoki::session::UserType;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use super::HsmError;
use crate::config::Config;
use crate::domain::region::Region;

const CONF_TEMPLATE: &str = include_str!("../../softhsm/softhsm2.conf.template");

/// Writes `<data dir>/softhsm2.conf` (token directory `<data dir>/tokens`) and points
/// SOFTHSM2_CONF at it. Must run before the module is loaded and before any thread starts.
pub fn prepare_environment(config: &Config) -> Result<(), String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    if !config.manage_softhsm_conf {
        return Ok(());
    }
    let data_dir = config
        .data_dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", config.data_dir.display()))?;
    let token_dir = data_dir.join("tokens");
    std::fs::create_dir_all(&token_dir)
        .map_err(|e| format!("cannot create {}: {e}", token_dir.display()))?;
    let conf_path = data_dir.join("softhsm2.conf");
    let conf = CONF_TEMPLATE.replace("{TOKEN_DIR}", &token_dir.to_string_lossy());
    write_if_changed(&conf_path, &conf)?;
    // Safe: called from main before the runtime or any other thread exists.
    std::env::set_var("SOFTHSM2_CONF", &conf_path);
    Ok(())
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn find_by_label(ctx: &Pkcs11, label: &str) -> Result<Option<Slot>, HsmError> {
    let slots = ctx.get_slots_with_token().map_err(|e| HsmError::Pkcs11 {
        call: "C_GetSlotList",
        region: label.to_string(),
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

/// Returns the slot holding `region`'s token, creating the token on a free slot if needed.
pub fn ensure_token(
    ctx: &Pkcs11,
    region: Region,
    so_pin: &str,
    user_pin: &str,
) -> Result<Slot, HsmError> {
    let label = region.as_str();
    if let Some(slot) = find_by_label(ctx, label)? {
        return Ok(slot);
    }
    let p11 = |call: &'static str| {
        move |error| HsmError::Pkcs11 {
            call,
            region: label.to_string(),
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
        .ok_or_else(|| {
            HsmError::Token(format!(
                "no token labelled {label} and no free slot to create one on"
            ))
        })?;
    let so = AuthPin::new(so_pin.to_string().into());
    ctx.init_token(free, &so, label)
        .map_err(p11("C_InitToken"))?;
    let slot = find_by_label(ctx, label)?.ok_or_else(|| {
        HsmError::Token(format!("token {label} vanished right after C_InitToken"))
    })?;
    let session = ctx.open_rw_session(slot).map_err(p11("C_OpenSession"))?;
    session
        .login(UserType::So, Some(&so))
        .map_err(p11("C_Login(SO)"))?;
    session
        .init_pin(&AuthPin::new(user_pin.to_string().into()))
        .map_err(p11("C_InitPIN"))?;
    session.logout().map_err(p11("C_Logout"))?;
    tracing::info!(region = label, "created token");
    Ok(slot)
}

/// Used by `hsm-kms init`: prepares the environment and creates every token.
pub fn init_all(config: &Config) -> Result<(), String> {
    prepare_environment(config)?;
    super::Hsm::open(config).map_err(|e| e.to_string())?;
    Ok(())
}
