//! The server configuration.
//!
//! Every setting is declared once, as a field of [`Settings`]: its flag, its environment
//! variable, its config-file key (the field name), its default, the parser of its value and
//! its help text all sit on that field. Four layers fill it, each overriding the one before:
//! the defaults, the TOML file (`--config` / `HSM_KMS_CONFIG`), the `HSM_KMS_*` environment
//! and the command line. One parser per setting reads every layer (clap's value parser of
//! the field), so a value means the same wherever it is written, and a value that does not
//! parse — in the environment, in the file or on the command line — stops startup with a
//! message naming the setting and the value. [`Settings::resolve`] then applies the rules
//! that involve several settings and yields the [`Config`] the server runs with.
//!
//! `hsm-kms serve --help` and the README's settings table are both generated from the same
//! declaration ([`settings_table`]; a unit test keeps the README in step).

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use zeroize::Zeroizing;

use crate::domain::region::Region;

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

/// The setting that names the config file: it is not itself a key of the file.
const CONFIG_FILE_SETTING: &str = "config";

/// Every setting of `hsm-kms serve` and `hsm-kms init`, declared once.
///
/// The doc comment of a field is its help text and its description in the README. The
/// config-file key is the field name; the flag is the field name with dashes. Settings
/// marked `hide = true` are secrets: they are read from the environment or the file only,
/// never from the command line (other local users can read a process's command line).
#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// TOML config file whose keys are the settings below
    #[arg(long, env = "HSM_KMS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Listen address; port 0 picks a free port
    #[arg(
        long,
        env = "HSM_KMS_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:4599"
    )]
    pub listen: SocketAddr,

    /// Data directory: tokens, metadata, audit logs
    #[arg(
        long,
        env = "HSM_KMS_DATA_DIR",
        value_name = "DIR",
        default_value = "data"
    )]
    pub data_dir: PathBuf,

    /// Regions to serve (comma-separated)
    #[arg(
        long,
        env = "HSM_KMS_REGIONS",
        value_name = "REGIONS",
        value_delimiter = ',',
        value_parser = parse_region,
        default_values = DEFAULT_REGIONS
    )]
    pub regions: Vec<Region>,

    /// Opt-in Regions the account has enabled (comma-separated); only these opt-in Regions can be served
    #[arg(
        long,
        env = "HSM_KMS_ENABLED_OPT_IN_REGIONS",
        value_name = "REGIONS",
        value_delimiter = ',',
        value_parser = parse_region
    )]
    pub enabled_opt_in_regions: Vec<Region>,

    /// AWS account id that owns every key (twelve digits)
    #[arg(
        long,
        env = "HSM_KMS_ACCOUNT_ID",
        value_name = "ID",
        value_parser = parse_account_id,
        default_value = "111122223333"
    )]
    pub account_id: String,

    /// PKCS#11 module to load; default: the first SoftHSM2 module found in the usual Debian and Ubuntu paths
    #[arg(long, env = "HSM_KMS_PKCS11_MODULE", value_name = "PATH")]
    pub pkcs11_module: Option<PathBuf>,

    /// Token user PIN; default: generated on the first start into DATA_DIR/pins (mode 0600)
    #[arg(
        long,
        hide = true,
        env = "HSM_KMS_USER_PIN",
        hide_env_values = true,
        value_parser = parse_pin
    )]
    pub user_pin: Option<Pin>,

    /// Token security officer (SO) PIN; default: generated on the first start into DATA_DIR/pins (mode 0600)
    #[arg(
        long,
        hide = true,
        env = "HSM_KMS_SO_PIN",
        hide_env_values = true,
        value_parser = parse_pin
    )]
    pub so_pin: Option<Pin>,

    /// Extra delay before a new replica leaves the Creating state, in milliseconds
    #[arg(
        long,
        env = "HSM_KMS_REPLICA_CREATION_DELAY_MS",
        value_name = "MS",
        default_value = "0"
    )]
    pub replica_creation_delay_ms: u64,

    /// Extra delay before an UpdatePrimaryRegion leaves the Updating state, in milliseconds
    #[arg(
        long,
        env = "HSM_KMS_PRIMARY_UPDATE_DELAY_MS",
        value_name = "MS",
        default_value = "0"
    )]
    pub primary_update_delay_ms: u64,

    /// Extra delay between creating a stack's resource and recording its physical id, in milliseconds (crash tests)
    #[arg(
        long,
        env = "HSM_KMS_STACK_RECORD_DELAY_MS",
        value_name = "MS",
        default_value = "0"
    )]
    pub stack_record_delay_ms: u64,

    /// Most grants one KMS key may have (AWS's quota: 50,000); CreateGrant beyond it is LimitExceededException
    #[arg(
        long,
        env = "HSM_KMS_MAX_GRANTS_PER_KEY",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..),
        default_value = "50000"
    )]
    pub max_grants_per_key: u32,

    /// Enables the /admin endpoints (clock control); `--admin-api` alone means true
    #[arg(
        long,
        env = "HSM_KMS_ADMIN_API",
        value_name = "BOOL",
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new(),
        default_value = "false"
    )]
    pub admin_api: bool,

    /// Access control: `open` (any credentials work and every caller is the account root; loopback only unless allowed) or `strict` (SigV4 verified against principals_file; key policies, IAM policies and grants enforced; a failed audit write fails the request)
    #[arg(
        long,
        env = "HSM_KMS_MODE",
        value_name = "MODE",
        value_parser = parse_mode,
        default_value = "open"
    )]
    pub mode: Mode,

    /// Principals file for strict mode (TOML: accounts, IAM users and roles, access keys, tags, policies)
    #[arg(long, env = "HSM_KMS_PRINCIPALS_FILE", value_name = "FILE")]
    pub principals_file: Option<PathBuf>,

    /// Lets open mode listen on a non-loopback address, where anyone who reaches it can use every key without credentials; `--allow-unauthenticated-network-access` alone means true
    #[arg(
        long,
        env = "HSM_KMS_ALLOW_UNAUTHENTICATED_NETWORK_ACCESS",
        value_name = "BOOL",
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new(),
        default_value = "false"
    )]
    pub allow_unauthenticated_network_access: bool,

    /// Host names a request's Host header may name besides the listen address (and `localhost` on loopback), comma-separated: any other Host is refused (DNS rebinding)
    #[arg(
        long,
        env = "HSM_KMS_ALLOWED_HOSTS",
        value_name = "NAMES",
        value_delimiter = ',',
        value_parser = parse_host_name
    )]
    pub allowed_hosts: Vec<String>,

    /// TLS certificate chain (PEM); with `tls_key` the server speaks only HTTPS
    #[arg(long, env = "HSM_KMS_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM: PKCS#8, SEC1 or PKCS#1) of `tls_cert`
    #[arg(long, env = "HSM_KMS_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Connections open at once; more clients wait in the listen backlog until one closes
    #[arg(
        long,
        env = "HSM_KMS_MAX_CONNECTIONS",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..),
        default_value = "512"
    )]
    pub max_connections: u32,

    /// Time a request's headers may take to arrive, from their first byte, in milliseconds
    #[arg(
        long,
        env = "HSM_KMS_HEADER_TIMEOUT_MS",
        value_name = "MS",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value = "10000"
    )]
    pub header_timeout_ms: u64,

    /// Time a request's body may take to arrive, and a response to be sent, in milliseconds
    #[arg(
        long,
        env = "HSM_KMS_BODY_TIMEOUT_MS",
        value_name = "MS",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value = "30000"
    )]
    pub body_timeout_ms: u64,

    /// Time a keep-alive connection may stay idle between requests, in milliseconds
    #[arg(
        long,
        env = "HSM_KMS_IDLE_TIMEOUT_MS",
        value_name = "MS",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value = "60000"
    )]
    pub idle_timeout_ms: u64,

    /// Largest request body accepted, in bytes (a larger one gets HTTP 413)
    #[arg(
        long,
        env = "HSM_KMS_MAX_REQUEST_BYTES",
        value_name = "BYTES",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value = "1048576"
    )]
    pub max_request_bytes: u64,

    /// Requests that may wait for a thread of each worker pool; more get ThrottlingException
    #[arg(
        long,
        env = "HSM_KMS_MAX_QUEUED_REQUESTS",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..),
        default_value = "256"
    )]
    pub max_queued_requests: u32,

    /// RSA key pair generations (CreateKey RSA_*, GetParametersForImport, GenerateDataKeyPair RSA_*) running at once per Region token
    #[arg(
        long,
        env = "HSM_KMS_KEY_GENERATIONS_PER_REGION",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..),
        default_value = "1"
    )]
    pub key_generations_per_region: u32,

    /// RSA key pair generations that may wait per Region token; more get ThrottlingException
    #[arg(
        long,
        env = "HSM_KMS_KEY_GENERATION_QUEUE",
        value_name = "N",
        value_parser = clap::value_parser!(u32),
        default_value = "4"
    )]
    pub key_generation_queue: u32,

    /// Quota: KMS keys per Region, whatever their state (AWS: 100,000)
    #[arg(
        long,
        env = "HSM_KMS_QUOTA_KEYS_PER_REGION",
        value_name = "N",
        value_parser = clap::value_parser!(u32),
        default_value = "100000"
    )]
    pub quota_keys_per_region: u32,

    /// Quota: aliases per KMS key (AWS: 50)
    #[arg(
        long,
        env = "HSM_KMS_QUOTA_ALIASES_PER_KEY",
        value_name = "N",
        value_parser = clap::value_parser!(u32),
        default_value = "50"
    )]
    pub quota_aliases_per_key: u32,

    /// Encryptions allowed under one AES-GCM key material (random 96-bit IVs: NIST's bound is 2^32); a key rotates itself at half of it and refuses to encrypt at it. Lower only to test
    #[arg(
        long,
        env = "HSM_KMS_ENCRYPTIONS_PER_KEY_MATERIAL",
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(2..=4_294_967_296),
        default_value = "4000000000"
    )]
    pub encryptions_per_key_material: u64,

    /// Log filter for stderr (tracing's env-filter syntax, e.g. `info,hsm_kms=debug`)
    #[arg(
        long,
        env = "HSM_KMS_LOG",
        value_name = "FILTER",
        value_parser = parse_log_filter,
        default_value = "info"
    )]
    pub log: String,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub account_id: String,
    /// Served Regions, without duplicates, never empty.
    pub regions: Vec<Region>,
    /// Opt-in Regions the account has enabled (only these opt-in Regions may be served or
    /// replicated to).
    pub enabled_opt_in_regions: Vec<Region>,
    pub pkcs11_module: PathBuf,
    /// When true the server writes its own softhsm2.conf in the data directory and points
    /// SOFTHSM2_CONF at it (the default, for SoftHSM2).
    pub manage_softhsm_conf: bool,
    /// The user PIN, when the configuration gives it (else hsm-kms keeps it in
    /// `<data dir>/pins`, see [`crate::hsm::pins`]).
    pub user_pin: Option<Pin>,
    /// The SO PIN, when the configuration gives it (as for `user_pin`). Needed only at
    /// startup: [`Config::without_pins`] is what the running service keeps.
    pub so_pin: Option<Pin>,
    /// The config file the settings were read from, if any.
    pub config_file: Option<PathBuf>,
    /// Extra delay before a new replica leaves the `Creating` state.
    pub replica_creation_delay_ms: u64,
    /// Extra delay before an UpdatePrimaryRegion leaves the `Updating` state.
    pub primary_update_delay_ms: u64,
    /// Extra delay between a CloudFormation resource's creation and the record of its
    /// physical id (the crash window stack recovery closes; for tests).
    pub stack_record_delay_ms: u64,
    /// Most grants one key may have (CreateGrant beyond it: LimitExceededException).
    pub max_grants_per_key: u32,
    /// Enables the `/admin/*` endpoints (clock control).
    pub admin_api: bool,
    /// Open or strict access control (docs/access-control.md).
    pub mode: Mode,
    /// The principals file strict mode loads (always `Some` in strict mode).
    pub principals_file: Option<PathBuf>,
    /// The HTTP edge: who may connect, which Host they may name, how long they may take.
    pub edge: EdgeConfig,
    /// Queues, key generations, quotas and the AES-GCM encryption budget.
    pub limits: Limits,
}

/// How requests are authenticated and authorized (docs/access-control.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Any credentials are accepted, signatures are not verified, and every caller is the
    /// account's root user: nothing is refused for want of permission.
    Open,
    /// Signatures are verified against the principals file; key policies, IAM policies
    /// and grants decide every request.
    Strict,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Open => "open",
            Mode::Strict => "strict",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The settings of the HTTP edge (`api::edge`).
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Open mode may listen beyond loopback.
    pub allow_unauthenticated_network_access: bool,
    /// Host names requests may name besides the listen address (lower case).
    pub allowed_hosts: Vec<String>,
    /// Certificate chain and private key files: HTTPS only.
    pub tls: Option<TlsFiles>,
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_request_bytes: usize,
}

/// The PEM files of the server's TLS identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Limits on work and resources.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests that may wait for each worker pool.
    pub max_queued_requests: usize,
    /// RSA key pair generations at once per token, and waiting per token.
    pub key_generations_per_region: usize,
    pub key_generation_queue: usize,
    /// AWS's resource quotas (grants per key: `Config::max_grants_per_key`).
    pub keys_per_region: usize,
    pub aliases_per_key: usize,
    /// Encryptions allowed under one AES-GCM key material.
    pub encryptions_per_key_material: u64,
}

/// A token PIN: wiped from memory when dropped, never shown by `Debug` or `Display`. Derefs
/// to `&str`.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    pub fn new(pin: impl Into<String>) -> Pin {
        Pin(Zeroizing::new(pin.into()))
    }
}

impl std::ops::Deref for Pin {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Why the configuration cannot be used. Each variant names the setting and, where there
/// is one, the value (PINs excepted).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {} is not valid TOML: {message}", path.display())]
    FileSyntax { path: PathBuf, message: String },
    #[error("unknown setting `{key}` in config file {} (the settings are: {known})", path.display())]
    UnknownKey {
        path: PathBuf,
        key: String,
        known: String,
    },
    #[error("invalid value {value} for {origin}: {reason}")]
    InvalidValue {
        origin: Origin,
        /// The value as written (quoted), or `<redacted>` for a secret.
        value: String,
        reason: String,
    },
    #[error(
        "`--{flag}` is not taken from the command line, where other local users can read it: \
         set {env} or `{key}` in the config file"
    )]
    SecretOnCommandLine {
        flag: String,
        env: String,
        key: String,
    },
    #[error("{0}")]
    Command(#[from] clap::Error),
    #[error("{0}")]
    Rule(String),
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An `HSM_KMS_*` variable.
    Environment { variable: String },
    /// A key of the config file.
    File { path: PathBuf, key: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Environment { variable } => write!(f, "environment variable {variable}"),
            Origin::File { path, key } => {
                write!(f, "`{key}` in config file {}", path.display())
            }
        }
    }
}

fn parse_region(name: &str) -> Result<Region, String> {
    Region::parse(name.trim()).ok_or_else(|| {
        "not a Region hsm-kms knows (for example us-east-1, eu-west-1, cn-north-1)".to_string()
    })
}

fn parse_account_id(id: &str) -> Result<String, String> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.to_string())
    } else {
        Err("an account id is twelve decimal digits".to_string())
    }
}

fn parse_pin(pin: &str) -> Result<Pin, String> {
    Ok(Pin::new(pin))
}

fn parse_mode(mode: &str) -> Result<Mode, String> {
    match mode.trim() {
        "open" => Ok(Mode::Open),
        "strict" => Ok(Mode::Strict),
        _ => Err("expected open or strict".to_string()),
    }
}

/// A host name of `allowed_hosts`: letters, digits, dots and dashes (or an IP address),
/// kept in lower case.
fn parse_host_name(name: &str) -> Result<String, String> {
    let name = name.trim().to_ascii_lowercase();
    let plain = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if plain || name.parse::<std::net::IpAddr>().is_ok() {
        Ok(name)
    } else {
        Err(
            "a host name (letters, digits, dots and dashes) or an IP address, without a port"
                .into(),
        )
    }
}

fn parse_log_filter(filter: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::builder()
        .parse(filter)
        .map(|_| filter.to_string())
        .map_err(|e| e.to_string())
}

/// The settings as arguments of `command` (used by `hsm-kms serve` and `hsm-kms init`):
/// an environment variable that is set but empty counts as unset, and the secret settings
/// (hidden from the flags) are listed after the help.
pub fn augment_command(command: Command) -> Command {
    // The derive would make the struct's documentation the command's description.
    let about = command.get_about().cloned().unwrap_or_default();
    let command = Settings::augment_args(command)
        .about(about)
        .long_about(None);
    let command = command.mut_args(|arg| match arg.get_env() {
        Some(var) if std::env::var_os(var).is_some_and(|v| v.is_empty()) => arg.env(None),
        _ => arg,
    });
    let secrets: Vec<String> = settings_args()
        .filter(|a| a.is_hide_set())
        .map(|a| {
            format!(
                "  {} (config file `{}`): {} [default: {}]",
                env_name(&a),
                a.get_id(),
                help_text(&a),
                defaults_text(&a)
            )
        })
        .collect();
    command.after_help(format!(
        "Set only in the environment or the config file (never on the command line):\n{}\n\n\
         Precedence: flag, then environment variable, then config file, then default.",
        secrets.join("\n")
    ))
}

/// The settings' arguments, in declaration order.
fn settings_args() -> impl Iterator<Item = Arg> {
    Settings::augment_args(Command::new("hsm-kms"))
        .get_arguments()
        .cloned()
        .collect::<Vec<_>>()
        .into_iter()
}

fn env_name(arg: &Arg) -> String {
    arg.get_env()
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn help_text(arg: &Arg) -> String {
    arg.get_help().map(|h| h.to_string()).unwrap_or_default()
}

fn defaults_text(arg: &Arg) -> String {
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if defaults.is_empty() {
        "none".to_string()
    } else {
        defaults.join(",")
    }
}

/// A Markdown table of every setting (description, flag, environment variable, config-file
/// key, default), generated from [`Settings`]; the README holds a copy.
pub fn settings_table() -> String {
    let mut out = String::from(
        "| setting | flag | environment | config file key | default |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for arg in settings_args() {
        let id = arg.get_id().as_str();
        let flag = match (arg.is_hide_set(), arg.get_long()) {
            (false, Some(long)) => {
                let value = arg
                    .get_value_names()
                    .and_then(|n| n.first())
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default();
                if arg.get_num_args().is_some_and(|n| n.min_values() == 0) {
                    format!("`--{long}`")
                } else {
                    format!("`--{long}{value}`")
                }
            }
            _ => String::new(),
        };
        let key = if id == CONFIG_FILE_SETTING {
            String::new()
        } else {
            format!("`{id}`")
        };
        let default = match defaults_text(&arg).as_str() {
            "none" => String::new(),
            d => format!("`{d}`"),
        };
        out.push_str(&format!(
            "| {} | {flag} | `{}` | {key} | {default} |\n",
            help_text(&arg),
            env_name(&arg)
        ));
    }
    out
}

/// Checks every `HSM_KMS_*` variable a setting reads: a set, non-empty value that does not
/// parse is an error naming the variable (even when a flag overrides it).
pub fn check_environment() -> Result<(), ConfigError> {
    for arg in settings_args() {
        let Some(var) = arg.get_env() else { continue };
        let Some(value) = std::env::var_os(var) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let Some(text) = value.to_str() else {
            return Err(ConfigError::InvalidValue {
                origin: Origin::Environment {
                    variable: var.to_string_lossy().into_owned(),
                },
                value: shown_value(&arg, &value.to_string_lossy()),
                reason: "not valid UTF-8".to_string(),
            });
        };
        check_value(&arg, text).map_err(|reason| ConfigError::InvalidValue {
            origin: Origin::Environment {
                variable: var.to_string_lossy().into_owned(),
            },
            value: shown_value(&arg, text),
            reason,
        })?;
    }
    Ok(())
}

/// The value for an error message: quoted, or redacted for a secret.
fn shown_value(arg: &Arg, value: &str) -> String {
    if arg.is_hide_env_values_set() {
        "<redacted>".to_string()
    } else {
        format!("{value:?}")
    }
}

/// Runs the setting's own value parser on one textual value; the parser's reason on failure.
fn check_value(arg: &Arg, value: &str) -> Result<(), String> {
    let long = arg.get_long().unwrap_or(arg.get_id().as_str()).to_string();
    let probe = Command::new("hsm-kms").no_binary_name(true).arg(
        arg.clone()
            .env(None)
            .default_value(None)
            .required(false)
            .hide(false),
    );
    probe
        .try_get_matches_from([format!("--{long}={value}")])
        .map(|_| ())
        .map_err(|e| clap_reason(&e))
}

/// What clap's error says about the value, without its framing.
fn clap_reason(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    if let Some(source) = std::error::Error::source(e) {
        return source.to_string();
    }
    if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue) {
        return format!("expected one of {}", valid.join(", "));
    }
    e.kind().to_string()
}

/// The textual values of a config-file entry, one per value of the setting.
fn file_values(arg: &Arg, value: &toml::Value) -> Result<Vec<String>, String> {
    let scalar = |v: &toml::Value| match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(format!(
            "expected a string, an integer or a boolean, found {}",
            v.type_str()
        )),
    };
    let is_list = matches!(arg.get_action(), ArgAction::Append);
    match value {
        toml::Value::Array(items) if is_list => {
            if items.is_empty() && !arg.get_default_values().is_empty() {
                return Err("an empty list: name at least one, or leave the setting out".into());
            }
            items.iter().map(scalar).collect()
        }
        toml::Value::Array(_) => Err("expected one value, found a list".to_string()),
        other => scalar(other).map(|v| vec![v]),
    }
}

/// Reads the config file: each key must be a setting and each value must parse.
/// Returns the entries as `(setting id, textual values)`.
fn read_file(path: &Path) -> Result<Vec<(String, Vec<String>)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| ConfigError::FileSyntax {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
    let args: Vec<Arg> = settings_args()
        .filter(|a| a.get_id() != CONFIG_FILE_SETTING)
        .collect();
    let mut entries = Vec::new();
    for (key, value) in &table {
        let Some(arg) = args.iter().find(|a| a.get_id() == key.as_str()) else {
            return Err(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                key: key.clone(),
                known: args
                    .iter()
                    .map(|a| a.get_id().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let invalid = |value: String, reason: String| ConfigError::InvalidValue {
            origin: Origin::File {
                path: path.to_path_buf(),
                key: key.clone(),
            },
            value,
            reason,
        };
        let values = file_values(arg, value)
            .map_err(|reason| invalid(shown_value(arg, &value.to_string()), reason))?;
        for v in &values {
            check_value(arg, v).map_err(|reason| invalid(shown_value(arg, v), reason))?;
        }
        entries.push((key.clone(), values));
    }
    Ok(entries)
}

/// The settings' command with no environment, no defaults and nothing required: parses
/// exactly the arguments given (the config file's layer).
fn bare_command() -> Command {
    Settings::augment_args(Command::new("hsm-kms").no_binary_name(true))
        .mut_args(|a| a.env(None).default_value(None).required(false))
}

impl Settings {
    /// The settings from the matches of a command built with [`augment_command`] (flags,
    /// environment and defaults), with the config file they name laid under the flags and
    /// the environment.
    pub fn from_matches(matches: &ArgMatches) -> Result<Settings, ConfigError> {
        for arg in settings_args().filter(|a| a.is_hide_set()) {
            if matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine) {
                return Err(ConfigError::SecretOnCommandLine {
                    flag: arg.get_long().unwrap_or_default().to_string(),
                    env: env_name(&arg),
                    key: arg.get_id().to_string(),
                });
            }
        }
        let mut settings = Settings::from_arg_matches(matches)?;
        let Some(path) = settings.config.clone() else {
            return Ok(settings);
        };
        // The file's values replace only the defaults: flags and environment stay on top.
        let mut file_args: Vec<String> = Vec::new();
        for (key, values) in read_file(&path)? {
            let source = matches.value_source(&key);
            if source.is_some() && source != Some(ValueSource::DefaultValue) {
                continue;
            }
            let long = key.replace('_', "-");
            file_args.extend(values.iter().map(|v| format!("--{long}={v}")));
        }
        let file_matches = bare_command().try_get_matches_from(file_args)?;
        settings.update_from_arg_matches(&file_matches)?;
        Ok(settings)
    }

    /// Parses `args` (flags only, no program name) as `hsm-kms serve` would, with the
    /// environment when `use_environment` is true, and lays the config file under them.
    pub fn parse_from<I, T>(args: I, use_environment: bool) -> Result<Settings, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut command = augment_command(Command::new("hsm-kms").no_binary_name(true));
        if use_environment {
            check_environment()?;
        } else {
            command = command.mut_args(|a| a.env(None));
        }
        let matches = command.try_get_matches_from(args)?;
        Settings::from_matches(&matches)
    }

    /// Applies the rules that involve several settings and the computed defaults.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let dedup = |list: Vec<Region>| {
            let mut out: Vec<Region> = Vec::new();
            for region in list {
                if !out.contains(&region) {
                    out.push(region);
                }
            }
            out
        };
        let regions = dedup(self.regions);
        if regions.is_empty() {
            return Err(ConfigError::Rule(
                "the configuration serves no Region (regions is empty)".to_string(),
            ));
        }
        let enabled_opt_in_regions = dedup(self.enabled_opt_in_regions);
        for region in &regions {
            if region.info().opt_in && !enabled_opt_in_regions.contains(region) {
                return Err(ConfigError::Rule(format!(
                    "Region {region} is an opt-in Region: list it in enabled_opt_in_regions to serve it"
                )));
            }
        }
        let (pkcs11_module, manage_softhsm_conf) = match self.pkcs11_module {
            Some(path) => {
                let is_softhsm = path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().contains("softhsm"));
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
        if self.mode == Mode::Strict && self.principals_file.is_none() {
            return Err(ConfigError::Rule(
                "mode strict needs a principals file: set principals_file (--principals-file, HSM_KMS_PRINCIPALS_FILE)".to_string(),
            ));
        }
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Rule(
                    "tls_cert is set but tls_key is not: HTTPS needs both".to_string(),
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::Rule(
                    "tls_key is set but tls_cert is not: HTTPS needs both".to_string(),
                ))
            }
        };
        Ok(Config {
            listen: self.listen,
            data_dir: self.data_dir,
            account_id: self.account_id,
            regions,
            enabled_opt_in_regions,
            pkcs11_module,
            manage_softhsm_conf,
            user_pin: self.user_pin,
            so_pin: self.so_pin,
            config_file: self.config,
            replica_creation_delay_ms: self.replica_creation_delay_ms,
            primary_update_delay_ms: self.primary_update_delay_ms,
            stack_record_delay_ms: self.stack_record_delay_ms,
            max_grants_per_key: self.max_grants_per_key,
            admin_api: self.admin_api,
            mode: self.mode,
            principals_file: self.principals_file,
            edge: EdgeConfig {
                allow_unauthenticated_network_access: self.allow_unauthenticated_network_access,
                allowed_hosts: self.allowed_hosts,
                tls,
                max_connections: self.max_connections as usize,
                header_timeout: Duration::from_millis(self.header_timeout_ms),
                body_timeout: Duration::from_millis(self.body_timeout_ms),
                idle_timeout: Duration::from_millis(self.idle_timeout_ms),
                max_request_bytes: usize::try_from(self.max_request_bytes).unwrap_or(usize::MAX),
            },
            limits: Limits {
                max_queued_requests: self.max_queued_requests as usize,
                key_generations_per_region: self.key_generations_per_region as usize,
                key_generation_queue: self.key_generation_queue as usize,
                keys_per_region: self.quota_keys_per_region as usize,
                aliases_per_key: self.quota_aliases_per_key as usize,
                encryptions_per_key_material: self.encryptions_per_key_material,
            },
        })
    }
}

impl Default for Settings {
    /// The built-in defaults (no file, no environment, no flags).
    fn default() -> Settings {
        Settings::augment_args(Command::new("hsm-kms").no_binary_name(true))
            .mut_args(|a| a.env(None))
            .try_get_matches_from(std::iter::empty::<String>())
            .and_then(|m| Settings::from_arg_matches(&m))
            .expect("the built-in defaults parse (checked by a unit test)")
    }
}

impl Config {
    /// The configuration without its PINs: what the running service keeps once the tokens
    /// are open (the PINs are needed only to open them).
    pub fn without_pins(mut self) -> Config {
        self.user_pin = None;
        self.so_pin = None;
        self
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::Builder::new()
            .suffix(".toml")
            .tempfile()
            .expect("temp file");
        std::fs::write(f.path(), text).expect("write config file");
        f
    }

    /// Parses flags (and a config file) without the process environment.
    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        Settings::parse_from(args.iter().copied(), false)?.resolve()
    }

    fn regions(names: &[&str]) -> Vec<Region> {
        names
            .iter()
            .map(|n| parse_region(n).expect("known"))
            .collect()
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = parse(&[]).expect("defaults resolve");
        assert_eq!(c.listen, "127.0.0.1:4599".parse().expect("addr"));
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.account_id, "111122223333");
        assert_eq!(c.regions, regions(DEFAULT_REGIONS));
        assert!(c.enabled_opt_in_regions.is_empty());
        // No built-in PINs: hsm-kms generates them into DATA_DIR/pins.
        assert!(c.user_pin.is_none());
        assert!(c.so_pin.is_none());
        assert_eq!(c.replica_creation_delay_ms, 0);
        assert_eq!(c.primary_update_delay_ms, 0);
        assert_eq!(c.max_grants_per_key, 50_000, "AWS's quota");
        assert!(!c.admin_api);
        assert!(c.manage_softhsm_conf);
        assert_eq!(c.mode, Mode::Open);
        assert!(c.principals_file.is_none());
        // Settings::default() is the same as parsing nothing.
        let d = Settings::default();
        assert_eq!(d.listen, c.listen);
        assert_eq!(d.regions, c.regions);
        assert_eq!(d.log, "info");
    }

    #[test]
    fn strict_mode_needs_a_principals_file() {
        let e = parse(&["--mode", "strict"]).expect_err("no principals file");
        assert!(e.to_string().contains("principals_file"), "{e}");
        let c = parse(&["--mode=strict", "--principals-file", "p.toml"]).expect("strict");
        assert_eq!(c.mode, Mode::Strict);
        assert_eq!(c.principals_file, Some(PathBuf::from("p.toml")));
        let f = file("mode = \"strict\"\nprincipals_file = \"/etc/hsm-kms/principals.toml\"\n");
        let path = f.path().to_str().expect("utf-8 path");
        let c = parse(&["--config", path]).expect("strict from the file");
        assert_eq!(c.mode, Mode::Strict);
        let e = parse(&["--mode", "closed"]).expect_err("unknown mode");
        assert!(e.to_string().contains("closed"), "{e}");
    }

    #[test]
    fn file_values_replace_defaults_and_flags_replace_file_values() {
        let f = file(
            "listen = \"127.0.0.1:0\"\n\
             regions = [\"us-east-1\", \"eu-west-1\", \"us-east-1\"]\n\
             replica_creation_delay_ms = 250\n\
             primary_update_delay_ms = 300\n\
             admin_api = true\n\
             account_id = \"123456789012\"\n\
             user_pin = \"4321\"\n",
        );
        let path = f.path().to_str().expect("utf-8 path");
        let c = parse(&["--config", path]).expect("file resolves");
        assert_eq!(c.listen.port(), 0);
        assert_eq!(
            c.regions,
            regions(&["us-east-1", "eu-west-1"]),
            "deduplicated"
        );
        assert_eq!(c.replica_creation_delay_ms, 250);
        assert_eq!(c.primary_update_delay_ms, 300);
        assert!(c.admin_api);
        assert_eq!(c.account_id, "123456789012");
        assert_eq!(c.user_pin.as_deref(), Some("4321"));
        assert!(c.so_pin.is_none(), "no default where the file is silent");

        let c = parse(&[
            "--config",
            path,
            "--replica-creation-delay-ms",
            "7",
            "--regions",
            "us-west-2",
            "--admin-api=false",
        ])
        .expect("flags resolve");
        assert_eq!(c.replica_creation_delay_ms, 7, "flag over file");
        assert_eq!(c.regions, regions(&["us-west-2"]), "flag over file");
        assert!(!c.admin_api, "flag over file");
        assert_eq!(c.primary_update_delay_ms, 300, "file where no flag");
    }

    #[test]
    fn a_bad_region_in_the_file_names_the_key_the_value_and_the_file() {
        let f = file("regions = [\"us-east-1\", \"us-east-7\"]\n");
        let path = f.path().to_str().expect("utf-8 path");
        let e = parse(&["--config", path]).expect_err("bad Region");
        assert!(
            matches!(&e, ConfigError::InvalidValue { origin: Origin::File { key, .. }, value, .. }
                if key == "regions" && value == "\"us-east-7\""),
            "{e:?}"
        );
        let msg = e.to_string();
        for words in ["`regions`", "\"us-east-7\"", path, "not a Region"] {
            assert!(msg.contains(words), "{msg:?} should contain {words:?}");
        }
    }

    #[test]
    fn an_unknown_key_in_the_file_is_refused() {
        let f = file("region = [\"us-east-1\"]\n");
        let path = f.path().to_str().expect("utf-8 path");
        let e = parse(&["--config", path]).expect_err("unknown key");
        assert!(
            matches!(&e, ConfigError::UnknownKey { key, .. } if key == "region"),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("unknown setting `region`"), "{msg}");
        assert!(msg.contains("regions"), "lists the known settings: {msg}");
        // The file cannot name another file.
        let f = file("config = \"other.toml\"\n");
        let e = parse(&["--config", f.path().to_str().expect("utf-8")]).expect_err("config key");
        assert!(matches!(&e, ConfigError::UnknownKey { key, .. } if key == "config"));
    }

    #[test]
    fn wrongly_typed_file_values_are_refused() {
        for (text, key, reason) in [
            (
                "replica_creation_delay_ms = \"soon\"\n",
                "replica_creation_delay_ms",
                "invalid digit",
            ),
            (
                "replica_creation_delay_ms = -1\n",
                "replica_creation_delay_ms",
                "invalid digit",
            ),
            ("listen = [\"127.0.0.1:1\"]\n", "listen", "found a list"),
            ("regions = []\n", "regions", "empty list"),
            ("admin_api = \"perhaps\"\n", "admin_api", "not a boolean"),
            (
                "account_id = 12345\n",
                "account_id",
                "twelve decimal digits",
            ),
            ("log = \"info,[\"\n", "log", ""),
            ("listen = 1.5\n", "listen", "found float"),
            (
                "max_grants_per_key = 0\n",
                "max_grants_per_key",
                "not in 1..",
            ),
        ] {
            let f = file(text);
            let e = parse(&["--config", f.path().to_str().expect("utf-8")]).expect_err(text);
            let msg = e.to_string();
            assert!(
                matches!(&e, ConfigError::InvalidValue { origin: Origin::File { key: k, .. }, .. } if k == key),
                "{text}: {e:?}"
            );
            assert!(
                msg.contains(reason),
                "{text}: {msg:?} should contain {reason:?}"
            );
        }
    }

    #[test]
    fn pins_never_appear_in_debug_output_or_errors() {
        let f = file("user_pin = \"98765\"\nso_pin = [\"56789\"]\n");
        let e = parse(&["--config", f.path().to_str().expect("utf-8")]).expect_err("list PIN");
        assert!(!format!("{e} {e:?}").contains("56789"), "{e}");
        assert!(e.to_string().contains("<redacted>"), "{e}");

        let f = file("user_pin = \"98765\"\nso_pin = \"56789\"\n");
        let path = f.path().to_str().expect("utf-8");
        let settings = Settings::parse_from(["--config", path], false).expect("parses");
        assert_eq!(settings.user_pin.as_deref(), Some("98765"));
        let c = settings.clone().resolve().expect("resolves");
        let pin = c.so_pin.clone().expect("so_pin");
        for shown in [
            format!("{settings:?}"),
            format!("{c:?}"),
            format!("{c:#?}"),
            format!("{pin} {pin:?}"),
        ] {
            assert!(!shown.contains("98765"), "{shown}");
            assert!(!shown.contains("56789"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }

    #[test]
    fn pins_are_refused_on_the_command_line() {
        let e = parse(&["--user-pin", "1111"]).expect_err("PIN flag");
        assert!(
            matches!(&e, ConfigError::SecretOnCommandLine { env, .. } if env == "HSM_KMS_USER_PIN"),
            "{e:?}"
        );
        assert!(!e.to_string().contains("1111"));
        let e = parse(&["--so-pin=2222"]).expect_err("PIN flag");
        assert!(e.to_string().contains("HSM_KMS_SO_PIN"), "{e}");
    }

    #[test]
    fn opt_in_regions_are_served_only_when_enabled() {
        let e = parse(&["--regions", "us-east-1,af-south-1"]).expect_err("opt-in");
        assert!(
            e.to_string().contains("af-south-1 is an opt-in Region"),
            "{e}"
        );
        let c = parse(&[
            "--regions",
            "us-east-1,af-south-1",
            "--enabled-opt-in-regions",
            "af-south-1",
        ])
        .expect("enabled opt-in");
        assert_eq!(c.regions, regions(&["us-east-1", "af-south-1"]));
        assert!(!c.region_disabled(regions(&["af-south-1"])[0]));
        assert!(c.region_disabled(regions(&["me-south-1"])[0]));
    }

    #[test]
    fn bad_flags_are_clap_errors_naming_the_flag() {
        let e = parse(&["--regions", "mars-1"]).expect_err("bad Region");
        assert!(matches!(e, ConfigError::Command(_)), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("mars-1") && msg.contains("--regions"), "{msg}");
        let e = parse(&["--account-id", "12"]).expect_err("bad account");
        assert!(e.to_string().contains("twelve decimal digits"), "{e}");
    }

    #[test]
    fn the_readme_example_file_is_a_valid_config_file() {
        let readme = include_str!("../README.md");
        let example = readme
            .split_once("An example `hsm-kms.toml`:")
            .and_then(|(_, rest)| rest.split_once("```toml\n"))
            .and_then(|(_, rest)| rest.split_once("```"))
            .map(|(toml, _)| toml)
            .expect("README.md has an example hsm-kms.toml");
        let f = file(example);
        let c = parse(&["--config", f.path().to_str().expect("utf-8")]).expect("example resolves");
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/hsm-kms"));
        assert_eq!(
            c.regions,
            regions(&["us-east-1", "eu-west-1", "cn-north-1"])
        );
    }

    #[test]
    fn the_readme_table_is_generated_from_the_declaration() {
        let readme = include_str!("../README.md");
        let table = settings_table();
        assert!(
            readme.contains(&table),
            "README.md's settings table is out of date; replace it with:\n\n{table}"
        );
    }
}
