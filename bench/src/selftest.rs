//! `--self-test`: the load generator against a trivial in-process HTTP/1.1 server that
//! answers every request with a fixed 200 JSON body, to show what the load generator
//! itself can drive (and what one request costs it in CPU).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::client::{self, Endpoint, PhaseResult, Workload};

/// Starts the trivial server on its own thread (with its own single-threaded runtime).
fn start_null_server() -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service = service_fn(|_req| async {
                        let body = Bytes::from_static(
                            br#"{"CiphertextBlob":"AAAA","KeyId":"k","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#,
                        );
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .header("content-type", "application/x-amz-json-1.1")
                                .body(Full::new(body))
                                .expect("response"),
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    Ok(addr)
}

pub async fn run(
    connections: &[usize],
    warmup: Duration,
    measure: Duration,
) -> Result<String, String> {
    let addr = start_null_server()?;
    let endpoint = Endpoint::new(addr);
    let body = serde_json::json!({
        "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
        "Plaintext": crate::b64(&[0x5au8; 64]),
    });
    let workload = Workload {
        target: "TrentService.Encrypt".to_string(),
        region: "us-east-1".to_string(),
        bodies: Arc::new(vec![Bytes::from(body.to_string())]),
    };
    let mut out = String::from(
        "\nLoad generator self-test (signed Encrypt 64 B requests against a trivial \
         in-process HTTP/1.1 server answering 200):\n\n\
         | Connections | req/s | p50 ms | p99 ms | Errors | Bench CPU (cores) | Bench CPU µs/request |\n\
         |---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for &conns in connections {
        let p: PhaseResult =
            client::run_phase(&endpoint, &workload, conns, warmup, measure, None).await;
        out.push_str(&format!(
            "| {conns} | {:.0} | {:.2} | {:.2} | {} | {:.2} | {:.1} |\n",
            p.rate(),
            p.percentile_ms(50.0),
            p.percentile_ms(99.0),
            p.errors,
            p.bench_cores(),
            1e6 * p.bench_cpu_secs / p.ok.max(1) as f64,
        ));
    }
    Ok(out)
}
