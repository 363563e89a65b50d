//! Where operations run that would hold up the async executor. Operations of
//! microseconds (symmetric crypto with an existing key, P-256 signatures, reads of the
//! in-memory metadata) run on the executor's thread that read the request: handing them
//! to another thread and back cost more in wake-ups and context switches than the token
//! call itself (measured by scripts/bench, issue 15). Crypto that can take milliseconds
//! (RSA private-key operations, the larger curves, ECDH) runs on a small fixed set of
//! threads, about one per core, that stay busy under load ([`Workers`]). Operations that
//! can take long (key creation with its durable metadata write, key-pair generation,
//! transport setup) go to tokio's blocking pool so they cannot hold up the short ones
//! ([`Blocking`]). Each operation declares which it is (`kms::operation::Pool`).
//!
//! Both are bounded (`max_queued_requests`): a request that finds its pool full is not
//! queued but answered ThrottlingException ("Rate exceeded"), as AWS answers a caller
//! over its request quota. A job whose caller is gone by the time a thread takes it (the
//! client disconnected and the request's future was dropped) is skipped, not run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a job did not run to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRun {
    /// The pool's queue is full.
    Busy,
    /// The pool is gone or the job panicked.
    Failed,
}

/// Wraps `f` so that it runs only if its result is still awaited, and sends it back.
fn job<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> (Job, tokio::sync::oneshot::Receiver<R>) {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        if done.is_closed() {
            return;
        }
        let _ = done.send(f());
    });
    (job, result)
}

/// A fixed pool of threads for short blocking work.
pub struct Workers {
    tx: Sender<Job>,
}

impl Workers {
    /// Starts `threads` worker threads (at least one) that take jobs from a queue of at
    /// most `queue` waiting jobs.
    pub fn start(threads: usize, queue: usize) -> Workers {
        let (tx, rx): (Sender<Job>, Receiver<Job>) = crossbeam_channel::bounded(queue.max(1));
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
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, NotRun> {
        let (job, result) = job(f);
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(NotRun::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(NotRun::Failed),
        }
        result.await.map_err(|_| NotRun::Failed)
    }
}

/// Long operations on tokio's blocking pool, at most `limit` at once (running or waiting
/// for a thread).
pub struct Blocking {
    in_flight: Arc<AtomicUsize>,
    limit: usize,
}

/// Releases a place of [`Blocking`] when dropped.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Blocking {
    pub fn new(limit: usize) -> Blocking {
        Blocking {
            in_flight: Arc::new(AtomicUsize::new(0)),
            limit: limit.max(1),
        }
    }

    /// Runs `f` on the blocking pool unless `limit` operations are in flight already.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, NotRun> {
        let taken = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            });
        if taken.is_err() {
            return Err(NotRun::Busy);
        }
        let place = Place(self.in_flight.clone());
        // The place is given back before the result is sent (so a caller that has its
        // result finds it free), or with the job if it never runs.
        let (job, result) = job(move || {
            let out = f();
            drop(place);
            out
        });
        tokio::task::spawn_blocking(job);
        result.await.map_err(|_| NotRun::Failed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// Runs a job that holds the pool's only thread until the returned sender sends (or
    /// is dropped); returns once the job is running.
    fn hold_the_only_thread(
        workers: &Arc<Workers>,
    ) -> (
        tokio::task::JoinHandle<Result<(), NotRun>>,
        mpsc::Sender<()>,
    ) {
        let (hold_tx, hold_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let w = workers.clone();
        let holder = tokio::spawn(async move {
            w.run(move || {
                started_tx.send(()).ok();
                hold_rx.recv().ok();
            })
            .await
        });
        started_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the holder runs");
        (holder, hold_tx)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_instead_of_growing() {
        let workers = Arc::new(Workers::start(1, 1));
        // One job holds the only thread...
        let (holder, hold_tx) = hold_the_only_thread(&workers);
        // ...one waits in the only queue place...
        let w = workers.clone();
        let queued = tokio::spawn(async move { w.run(|| 7).await });
        while workers.tx.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // ...and a third is refused rather than queued.
        assert_eq!(workers.run(|| 8).await, Err(NotRun::Busy));
        hold_tx.send(()).ok();
        assert_eq!(holder.await.expect("task"), Ok(()));
        assert_eq!(queued.await.expect("task"), Ok(7));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_whose_caller_left_is_not_run() {
        let workers = Arc::new(Workers::start(1, 8));
        let (holder, hold_tx) = hold_the_only_thread(&workers);
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = ran.clone();
        let w = workers.clone();
        let abandoned =
            tokio::spawn(
                async move { w.run(move || counter.fetch_add(1, Ordering::SeqCst)).await },
            );
        while workers.tx.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        abandoned.abort();
        let _ = abandoned.await;
        hold_tx.send(()).ok();
        holder.await.expect("task").expect("ran");
        // A later job runs after the abandoned one would have.
        assert_eq!(workers.run(|| 1).await, Ok(1));
        assert_eq!(ran.load(Ordering::SeqCst), 0, "the abandoned job ran");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_blocking_pool_takes_at_most_its_limit() {
        let pool = Arc::new(Blocking::new(1));
        let (hold_tx, hold_rx) = mpsc::channel::<()>();
        let p = pool.clone();
        let holder = tokio::spawn(async move {
            p.run(move || {
                hold_rx.recv().ok();
            })
            .await
        });
        while pool.in_flight.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pool.run(|| 1).await, Err(NotRun::Busy));
        hold_tx.send(()).ok();
        assert_eq!(holder.await.expect("task"), Ok(()));
        assert_eq!(pool.run(|| 2).await, Ok(2));
    }
}
