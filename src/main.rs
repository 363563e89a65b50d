//! `hsm-kms`: the command line. `serve` runs the server; `init` only creates the data
//! directory and the Region tokens; `rotate-pins` replaces the tokens' PINs;
//! `check-config` reads and checks the configuration and prints it. Every setting comes
//! from [`hsm_kms::config::Settings`].

use std::process::ExitCode;

use clap::Command;
use hsm_kms::config::{self, Config, Settings};
use hsm_kms::hsm::setup;

/// Release builds: mimalloc instead of glibc's malloc. A request allocates and frees many
/// small buffers, and glibc spent a fifth of the server's CPU on them (issue 15,
/// scripts/bench). Secrets are wiped by their own buffers (`Zeroizing`) before any
/// allocator sees them freed. Debug builds (the tests) keep the system allocator behind
/// `keep_freed` below, which lets tests/secrets_in_memory.rs find unwiped freed memory.
#[cfg(not(debug_assertions))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn command() -> Command {
    let with_settings = |name: &'static str, about: &'static str| {
        config::augment_command(Command::new(name).about(about))
    };
    Command::new("hsm-kms")
        .version(env!("CARGO_PKG_VERSION"))
        .about("The AWS KMS API with every key in a PKCS#11 token, one token per Region")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(with_settings(
            "serve",
            "Start the server (creates missing Region tokens on first start)",
        ))
        .subcommand(with_settings(
            "init",
            "Create the data directory and one token per Region, then exit",
        ))
        .subcommand(with_settings(
            "rotate-pins",
            "Replace the user and SO PINs of every served token with new random ones, kept in DATA_DIR/pins (stop the server first), then exit",
        ))
        .subcommand(with_settings(
            "check-config",
            "Check the configuration and print it resolved (PINs redacted), then exit",
        ))
}

fn init_logging(filter: &str) {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .init();
}

fn serve(config: Config) -> Result<(), String> {
    if let Some(refusal) = hsm_kms::server::exposure_refusal(&config) {
        return Err(refusal);
    }
    let checked = hsm_kms::server::check(&config).map_err(|e| e.to_string())?;
    setup::prepare_environment(&config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(hsm_kms::server::run(config, checked))
        .map_err(|e| e.to_string())
}

fn run() -> Result<(), String> {
    // Before clap reads them: a bad value is reported with its variable's name.
    config::check_environment().map_err(|e| e.to_string())?;
    let matches = command().get_matches();
    let Some((name, matches)) = matches.subcommand() else {
        return Err("no command given (try --help)".to_string());
    };
    let settings = Settings::from_matches(matches).map_err(|e| e.to_string())?;
    // The PINs are in `settings` now: no child process inherits them. (Safe: no other
    // thread exists yet.)
    std::env::remove_var("HSM_KMS_USER_PIN");
    std::env::remove_var("HSM_KMS_SO_PIN");
    init_logging(&settings.log);
    let config = settings.resolve().map_err(|e| e.to_string())?;
    match name {
        "serve" => serve(config),
        "init" => setup::init_all(&config),
        "rotate-pins" => {
            let rotation = setup::rotate_pins(&config)?;
            let list = |regions: &[hsm_kms::domain::region::Region]| {
                regions
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
                "rotated the user and SO PINs of {} token(s): {}",
                rotation.rotated.len() + rotation.already_rotated.len(),
                list(&[rotation.rotated.clone(), rotation.already_rotated.clone()].concat())
            );
            if !rotation.not_created.is_empty() {
                println!(
                    "not created yet (will get the new PINs): {}",
                    list(&rotation.not_created)
                );
            }
            println!(
                "the new PINs are in {}",
                config.data_dir.join("pins").display()
            );
            Ok(())
        }
        "check-config" => {
            println!("{config:#?}");
            Ok(())
        }
        other => Err(format!("unknown command {other}")),
    }
}

/// A test hook of debug builds, for `tests/secrets_in_memory.rs`: with
/// `HSM_KMS_DEBUG_KEEP_FREED_MEMORY=1` in its environment, the server never reuses or
/// returns memory it frees, and every reallocation moves. Any copy of a secret that was
/// freed without being wiped then stays where a scan of the process's memory finds it,
/// instead of being overwritten by chance. Release builds have no such hook.
#[cfg(debug_assertions)]
mod keep_freed {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicBool, Ordering};

    pub static ON: AtomicBool = AtomicBool::new(false);

    pub struct KeepFreed;

    // SAFETY: every call is forwarded to the system allocator; when the hook is on,
    // blocks are simply never given back (a leak, not a use after free), and a
    // reallocation is an allocation plus a copy of the smaller of the two sizes.
    unsafe impl GlobalAlloc for KeepFreed {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            System.alloc(layout)
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            System.alloc_zeroed(layout)
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if !ON.load(Ordering::Relaxed) {
                System.dealloc(ptr, layout)
            }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if !ON.load(Ordering::Relaxed) {
                return System.realloc(ptr, layout, new_size);
            }
            let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
                return std::ptr::null_mut();
            };
            let new = System.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            }
            new
        }
    }
}

#[cfg(debug_assertions)]
#[global_allocator]
static ALLOCATOR: keep_freed::KeepFreed = keep_freed::KeepFreed;

fn main() -> ExitCode {
    #[cfg(debug_assertions)]
    if std::env::var_os("HSM_KMS_DEBUG_KEEP_FREED_MEMORY").is_some_and(|v| v == "1") {
        keep_freed::ON.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsm-kms: {e}");
            ExitCode::FAILURE
        }
    }
}
