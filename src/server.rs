//! Wires the layers together and runs the HTTP server until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::audit::Audit;
use crate::authz::{Authorizer, Principals, PrincipalsError};
use crate::clock::Clock;
use crate::cloudformation::service::CloudFormation;
use crate::cloudformation::store::StackStoreError;
use crate::config::{Config, Mode};
use crate::hsm::{Hsm, HsmError};
use crate::kms::access::Access;
use crate::kms::jobs;
use crate::kms::service::Kms;
use crate::kms::session_seal::TokenSealer;
use crate::store::sqlite::SqliteStore;
use crate::store::StoreError;

/// Why the server could not start, or stopped with a failure. The message names what
/// failed and why (its cause, also given by `source()`).
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the Region tokens: {0}")]
    Tokens(#[source] HsmError),
    #[error("the task opening the Region tokens failed: {0}")]
    TokensTask(#[source] tokio::task::JoinError),
    #[error("{}", crate::kms::error::Report(.0))]
    Store(#[source] StoreError),
    #[error("{}", crate::kms::error::Report(.0))]
    StackStore(#[source] StackStoreError),
    #[error("cannot open the audit log in {}: {source}", dir.display())]
    Audit {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("strict mode: {0}")]
    Principals(#[source] PrincipalsError),
    #[error("strict mode: cannot make the STS session key: {}", crate::kms::error::Report(.0))]
    SessionKey(#[source] crate::kms::error::KmsError),
    /// Open mode on a non-loopback address without the flag that allows it.
    #[error("{0}")]
    Exposed(String),
    #[error("{0}")]
    Tls(String),
    #[error("admin API: {0}")]
    AdminToken(String),
}

/// What is read and checked before anything is created or opened: in strict mode, the
/// principals file (a malformed file stops startup naming the entry and what is wrong).
pub struct Checked {
    principals: Option<Principals>,
}

/// Reads what the configuration names before the data directory is touched.
pub fn check(config: &Config) -> Result<Checked, StartupError> {
    let principals = match (config.mode, &config.principals_file) {
        (Mode::Strict, Some(path)) => {
            Some(Principals::load(path).map_err(StartupError::Principals)?)
        }
        _ => None,
    };
    Ok(Checked { principals })
}

/// Why the configuration must not be served (open mode on a non-loopback address without
/// the flag that allows it), checked before anything is created or opened.
pub fn exposure_refusal(config: &Config) -> Option<String> {
    crate::api::edge::check_exposure(config).err()
}

/// Opens tokens and store, reconciles them, and serves until a shutdown signal.
/// `hsm::setup::prepare_environment` must have run before (it sets SOFTHSM2_CONF).
pub async fn run(config: Config, checked: Checked) -> Result<(), StartupError> {
    let principals = checked.principals;
    crate::api::edge::check_exposure(&config).map_err(StartupError::Exposed)?;
    if !config.listen.ip().is_loopback() && config.mode == crate::config::Mode::Open {
        tracing::warn!(
            listen = %config.listen,
            "open mode on a non-loopback address: anyone who can reach it can use every key without credentials"
        );
    }
    let tls = config
        .edge
        .tls
        .as_ref()
        .map(crate::api::edge::tls_acceptor)
        .transpose()
        .map_err(StartupError::Tls)?;
    let clock = Arc::new(Clock::new());
    let hsm_config = config.clone();
    let hsm = tokio::task::spawn_blocking(move || Hsm::open(&hsm_config))
        .await
        .map_err(StartupError::TokensTask)?
        .map_err(StartupError::Tokens)?;
    let store =
        SqliteStore::open(&config.data_dir.join("kms.sqlite3")).map_err(StartupError::Store)?;
    let audit_dir = config.data_dir.join("audit");
    let strict = config.mode == crate::config::Mode::Strict;
    let audit =
        Audit::open(&audit_dir, &config.regions, strict).map_err(|source| StartupError::Audit {
            dir: audit_dir,
            source,
        })?;
    let listen = config.listen;
    let mut kms = Kms::new(config.without_pins(), clock, hsm, Box::new(store), audit)
        .map_err(StartupError::Store)?;
    if let Some(principals) = principals {
        let source = principals.source.clone().unwrap_or_default();
        let (accounts, users, roles) = principals.counts();
        let sealer =
            TokenSealer::open(&kms, kms.config.regions[0]).map_err(StartupError::SessionKey)?;
        let authz = Authorizer::new(principals, Arc::new(sealer));
        kms = kms.with_access(Access::Strict(Arc::new(authz)));
        tracing::info!(
            principals = %source.display(),
            accounts,
            users,
            roles,
            "strict mode: signatures verified, key policies, IAM policies and grants enforced"
        );
    }
    let kms = Arc::new(kms);
    let cfn = CloudFormation::open(kms.clone()).map_err(StartupError::StackStore)?;
    tokio::spawn(jobs::run(kms.clone()));
    let flusher = kms.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let k = flusher.clone();
            let _ = tokio::task::spawn_blocking(move || k.audit.flush()).await;
        }
    });

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| StartupError::Listen {
            addr: listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartupError::Listen {
            addr: listen,
            source,
        })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut app = crate::api::router(kms.clone(), cfn.clone());
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        if kms.config.admin_api {
            let token = crate::data_dir::admin_token(&kms.config.data_dir)
                .map_err(StartupError::AdminToken)?;
            let _ = writeln!(
                out,
                "hsm-kms admin API token: {} (kept in {})",
                token.as_str(),
                kms.config
                    .data_dir
                    .join(crate::data_dir::ADMIN_TOKEN_FILE)
                    .display()
            );
            app = app.merge(crate::api::admin::routes(
                kms.clone(),
                crate::api::admin::AdminToken::new(token),
            ));
        }
        let _ = writeln!(out, "hsm-kms listening on {scheme}://{addr}");
        let _ = out.flush();
    }
    tracing::info!(%addr, regions = %kms.config.served_list(), mode = %kms.config.mode, "serving");
    let warm = kms.clone();
    tokio::task::spawn_blocking(move || warm.warm_tokens());
    // Stacks a stop interrupted are finished or rolled back (after the listener is up:
    // recovery calls KMS, which needs nothing from HTTP, but waits on replica jobs).
    crate::cloudformation::engine::recover(&cfn);
    let edge = crate::api::edge::Edge::new(kms.config.edge.clone(), addr, tls);
    edge.serve(listener, app, shutdown_signal())
        .await
        .map_err(StartupError::Serve)?;
    kms.audit.flush();
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_startup_error_names_what_failed_and_why() {
        let e = StartupError::Listen {
            addr: "127.0.0.1:4599".parse().expect("address"),
            source: std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use"),
        };
        assert_eq!(
            e.to_string(),
            "cannot listen on 127.0.0.1:4599: address in use"
        );
        assert!(e.source().is_some());
        let dir = tempfile::tempdir().expect("temp dir");
        let Err(store) = SqliteStore::open(dir.path()) else {
            panic!("opened a directory as a database");
        };
        let e = StartupError::Store(store);
        let text = e.to_string();
        assert!(text.starts_with("metadata store: cannot open "), "{text}");
        // The cause is named too (SQLite's words after the colon).
        assert!(text.matches(": ").count() >= 2, "{text}");
    }
}
