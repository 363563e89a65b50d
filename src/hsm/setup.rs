//! First-start setup: the SoftHSM2 configuration in the data directory (written before the
//! module is loaded), and `hsm-kms init`, which opens every Region's token once (creating
//! it, see [`super::slots`]) and sets up key transport.

use std::path::Path;

use super::Hsm;
use crate::config::Config;

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

/// Used by `hsm-kms init`: prepares the environment and creates every token.
pub fn init_all(config: &Config) -> Result<(), String> {
    prepare_environment(config)?;
    Hsm::open(config).map_err(|e| e.to_string())?;
    Ok(())
}
