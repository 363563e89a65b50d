//! Wires the layers together and runs the HTTP server until SIGTERM or Ctrl-C.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::hsm::Hsm;
use crate::kms::{jobs, Kms};
use crate::store::sqlite::SqliteStore;

/// Opens tokens and store, reconciles them, and serves until a shutdown signal.
/// `hsm::setup::prepare_environment` must have run before (it sets SOFTHSM2_CONF).
pub async fn run(config: Config) -> Result<(), String> {
    let clock = Arc::new(Clock::new());
    let hsm_config = config.clone();
    let hsm = tokio::task::spawn_blocking(move || Hsm::open(&hsm_config))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let store =
        SqliteStore::open(&config.data_dir.join("kms.sqlite3")).map_err(|e| e.to_string())?;
    let listen = config.listen;
    let kms = Arc::new(Kms::new(config, clock, hsm, Box::new(store))?);
    let cfn = crate::cloudformation::CloudFormation::open(kms.clone())?;
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
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "hsm-kms listening on http://{addr}");
        let _ = out.flush();
    }
    tracing::info!(%addr, regions = %kms.config.served_list(), "serving");
    let warm = kms.clone();
    tokio::task::spawn_blocking(move || warm.warm_tokens());
    // Stacks a stop interrupted are finished or rolled back (after the listener is up:
    // recovery calls KMS, which needs nothing from HTTP, but waits on replica jobs).
    cfn.recover();
    let app = crate::api::router(kms.clone(), cfn)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
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
