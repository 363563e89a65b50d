//! `hsm-kms`: the command line. `serve` runs the server; `init` only creates the data
//! directory and the Region tokens.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hsm_kms::config::{Config, Overrides};
use hsm_kms::hsm::setup;

#[derive(Parser)]
#[command(
    name = "hsm-kms",
    version,
    about = "The AWS KMS API with every key in a PKCS#11 token, one token per Region"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (creates missing Region tokens on first start).
    Serve(Common),
    /// Create the data directory and one token per Region, then exit.
    Init(Common),
}

#[derive(Args)]
struct Common {
    /// TOML configuration file (env HSM_KMS_CONFIG).
    #[arg(long, env = "HSM_KMS_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory: tokens, metadata, audit logs (env HSM_KMS_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:4599; port 0 picks a free port (env HSM_KMS_LISTEN).
    #[arg(long)]
    listen: Option<String>,
    /// Comma-separated Regions to serve (env HSM_KMS_REGIONS).
    #[arg(long, value_delimiter = ',')]
    regions: Option<Vec<String>>,
    /// PKCS#11 module (env HSM_KMS_PKCS11_MODULE).
    #[arg(long)]
    pkcs11_module: Option<PathBuf>,
    /// Extra delay before a new replica becomes usable, in ms.
    #[arg(long)]
    replica_creation_delay_ms: Option<u64>,
    /// Extra delay before an UpdatePrimaryRegion completes (keys stay Updating), in ms.
    #[arg(long)]
    primary_update_delay_ms: Option<u64>,
    /// Enable the /admin endpoints (clock control).
    #[arg(long)]
    admin_api: bool,
}

fn resolve(c: Common) -> Result<Config, String> {
    let file = match &c.config {
        Some(path) => Overrides::from_file(path)?,
        None => Overrides::default(),
    };
    let flags = Overrides {
        listen: c.listen,
        data_dir: c.data_dir,
        regions: c.regions,
        pkcs11_module: c.pkcs11_module,
        replica_creation_delay_ms: c.replica_creation_delay_ms,
        primary_update_delay_ms: c.primary_update_delay_ms,
        admin_api: if c.admin_api { Some(true) } else { None },
        ..Overrides::default()
    };
    file.merge(Overrides::from_env()).merge(flags).resolve()
}

fn main() -> ExitCode {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HSM_KMS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(c) => resolve(c).and_then(|config| {
            setup::prepare_environment(&config)?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(hsm_kms::server::run(config))
                .map_err(|e| e.to_string())
        }),
        Command::Init(c) => resolve(c).and_then(|config| setup::init_all(&config)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsm-kms: {e}");
            ExitCode::FAILURE
        }
    }
}
