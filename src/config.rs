//! The server configuration: one struct filled from defaults, then an optional TOML file,
//! then environment variables, then command-line flags (each overriding the one before).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::region::Region;

/// The account every key belongs to unless configured otherwise (AWS's documentation example).
pub const DEFAULT_ACCOUNT_ID: &str = "111122223333";

/// Regions served when the configuration names none.
pub const DEFAULT_REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "cn-north-1",
];

/// Where Debian and Ubuntu put SoftHSM2's PKCS#11 module.
pub const SOFTHSM_MODULE_CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub account_id: String,
    pub regions: Vec<Region>,
    /// Opt-in Regions the account has enabled (only these opt-in Regions may be served or
    /// replicated to).
    pub enabled_opt_in_regions: Vec<Region>,
    pub pkcs11_module: PathBuf,
    /// When true the server writes its own softhsm2.conf in the data directory and points
    /// SOFTHSM2_CONF at it (the default, for SoftHSM2).
    pub manage_softhsm_conf: bool,
    pub user_pin: String,
    pub so_pin: String,
    /// Extra delay before a new replica leaves the `Creating` state.
    pub replica_creation_delay_ms: u64,
    /// Extra delay before an UpdatePrimaryRegion leaves the `Updating` state.
    pub primary_update_delay_ms: u64,
    /// Enables the `/admin/*` endpoints (clock control).
    pub admin_api: bool,
}

/// The TOML file and the environment/flag overrides share this shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub account_id: Option<String>,
    pub regions: Option<Vec<String>>,
    pub enabled_opt_in_regions: Option<Vec<String>>,
    pub pkcs11_module: Option<PathBuf>,
    pub user_pin: Option<String>,
    pub so_pin: Option<String>,
    pub replica_creation_delay_ms: Option<u64>,
    pub primary_update_delay_ms: Option<u64>,
    pub admin_api: Option<bool>,
}

impl Overrides {
    /// Reads the TOML configuration file.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("invalid config file {}: {e}", path.display()))
    }

    /// Reads the `HSM_KMS_*` environment variables.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let list = |v: String| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        Overrides {
            listen: var("HSM_KMS_LISTEN"),
            data_dir: var("HSM_KMS_DATA_DIR").map(PathBuf::from),
            account_id: var("HSM_KMS_ACCOUNT_ID"),
            regions: var("HSM_KMS_REGIONS").map(list),
            enabled_opt_in_regions: var("HSM_KMS_ENABLED_OPT_IN_REGIONS").map(list),
            pkcs11_module: var("HSM_KMS_PKCS11_MODULE").map(PathBuf::from),
            user_pin: var("HSM_KMS_USER_PIN"),
            so_pin: var("HSM_KMS_SO_PIN"),
            replica_creation_delay_ms: var("HSM_KMS_REPLICA_CREATION_DELAY_MS")
                .and_then(|v| v.parse().ok()),
            primary_update_delay_ms: var("HSM_KMS_PRIMARY_UPDATE_DELAY_MS")
                .and_then(|v| v.parse().ok()),
            admin_api: var("HSM_KMS_ADMIN_API").map(|v| v == "1" || v == "true"),
        }
    }

    /// Fields set in `later` replace those in `self`.
    pub fn merge(self, later: Overrides) -> Overrides {
        Overrides {
            listen: later.listen.or(self.listen),
            data_dir: later.data_dir.or(self.data_dir),
            account_id: later.account_id.or(self.account_id),
            regions: later.regions.or(self.regions),
            enabled_opt_in_regions: later.enabled_opt_in_regions.or(self.enabled_opt_in_regions),
            pkcs11_module: later.pkcs11_module.or(self.pkcs11_module),
            user_pin: later.user_pin.or(self.user_pin),
            so_pin: later.so_pin.or(self.so_pin),
            replica_creation_delay_ms: later
                .replica_creation_delay_ms
                .or(self.replica_creation_delay_ms),
            primary_update_delay_ms: later
                .primary_update_delay_ms
                .or(self.primary_update_delay_ms),
            admin_api: later.admin_api.or(self.admin_api),
        }
    }

    /// Applies defaults and checks every value.
    pub fn resolve(self) -> Result<Config, String> {
        let listen_text = self.listen.unwrap_or_else(|| "127.0.0.1:4599".to_string());
        let listen: SocketAddr = listen_text
            .parse()
            .map_err(|e| format!("invalid listen address {listen_text:?}: {e}"))?;
        let parse_regions = |names: Vec<String>| -> Result<Vec<Region>, String> {
            let mut out = Vec::new();
            for name in names {
                let region = Region::parse(&name)
                    .ok_or_else(|| format!("unknown Region {name:?} in configuration"))?;
                if !out.contains(&region) {
                    out.push(region);
                }
            }
            Ok(out)
        };
        let regions = parse_regions(
            self.regions
                .unwrap_or_else(|| DEFAULT_REGIONS.iter().map(|s| s.to_string()).collect()),
        )?;
        if regions.is_empty() {
            return Err("the configuration serves no Region".to_string());
        }
        let enabled_opt_in_regions =
            parse_regions(self.enabled_opt_in_regions.unwrap_or_default())?;
        for region in &regions {
            if region.info().opt_in && !enabled_opt_in_regions.contains(region) {
                return Err(format!(
                    "Region {region} is an opt-in Region: list it in enabled_opt_in_regions to serve it"
                ));
            }
        }
        let account_id = self
            .account_id
            .unwrap_or_else(|| DEFAULT_ACCOUNT_ID.to_string());
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "account id {account_id:?} must be twelve decimal digits"
            ));
        }
        let (pkcs11_module, manage_softhsm_conf) = match self.pkcs11_module {
            Some(path) => {
                let is_softhsm = path
                    .file_name()
                    .map(|n| n.to_string_lossy().contains("softhsm"))
                    .unwrap_or(false);
                (path, is_softhsm)
            }
            None => (
                SOFTHSM_MODULE_CANDIDATES
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.exists())
                    .unwrap_or_else(|| PathBuf::from(SOFTHSM_MODULE_CANDIDATES[0])),
                true,
            ),
        };
        Ok(Config {
            listen,
            data_dir: self.data_dir.unwrap_or_else(|| PathBuf::from("data")),
            account_id,
            regions,
            enabled_opt_in_regions,
            pkcs11_module,
            manage_softhsm_conf,
            user_pin: self.user_pin.unwrap_or_else(|| "1234".to_string()),
            so_pin: self.so_pin.unwrap_or_else(|| "12345678".to_string()),
            replica_creation_delay_ms: self.replica_creation_delay_ms.unwrap_or(0),
            primary_update_delay_ms: self.primary_update_delay_ms.unwrap_or(0),
            admin_api: self.admin_api.unwrap_or(false),
        })
    }
}

impl Config {
    /// True when `region` is an opt-in Region the account has not enabled.
    pub fn region_disabled(&self, region: Region) -> bool {
        region.info().opt_in && !self.enabled_opt_in_regions.contains(&region)
    }

    /// The served Regions as a comma-separated list (for error messages).
    pub fn served_list(&self) -> String {
        self.regions
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
