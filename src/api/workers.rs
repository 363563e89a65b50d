//! Where operations run. PKCS#11 and SQLite calls block, so they never run on the async
//! executor. Short operations (crypto with an existing key, reads) run on a small fixed
//! set of threads, about one per core, that stay busy under load: handing each request to
//! tokio's elastic blocking pool instead cost more in thread wake-ups and pool-lock
//! contention than the token call itself (measured by scripts/bench). Operations that can
//! take long (key creation with its durable metadata write, key-pair generation,
//! transport setup) go to tokio's blocking pool so they cannot hold up the short ones.
//! Each operation declares which it is (`kms::operation::Pool`).

use crossbeam_channel::{Receiver, Sender};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed pool of threads for short blocking work.
pub struct Workers {
    tx: Sender<Job>,
}

impl Workers {
    /// Starts `threads` worker threads (at least one).
    pub fn start(threads: usize) -> Workers {
        let (tx, rx): (Sender<Job>, Receiver<Job>) = crossbeam_channel::unbounded();
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("hsm-kms-worker-{i}"))
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start worker thread {i}: {e}");
            }
        }
        Workers { tx }
    }

    /// The default size: one thread per core, at least two.
    pub fn default_size() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2)
    }

    /// Runs `f` on a worker thread and waits for its result without blocking the executor.
    /// `None` if the pool is gone or the job panicked.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Option<R> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.tx.send(job).ok()?;
        result.await.ok()
    }
}
