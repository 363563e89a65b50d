//! RSA key pair generation is the slowest thing a token does (seconds for RSA_4096 on
//! SoftHSM2), and it holds the token's object-creation lock while it runs. Unbounded, a
//! burst of CreateKey RSA_4096 / GetParametersForImport / GenerateDataKeyPair RSA_* calls
//! would queue on that lock in front of every other creation in the Region (CreateKey,
//! imports, ECDH, session copies) and hold a blocking thread each.
//!
//! A [`Gate`] per Region token lets `key_generations_per_region` generations run at once
//! and `key_generation_queue` more wait; a request beyond that is answered
//! ThrottlingException ("Rate exceeded") at once. Other creation work then waits at most
//! for the generations already running, never for a queue an attacker can grow.

use parking_lot::{Condvar, Mutex};

use super::error::{KmsError, KmsResult};

/// The generation gate of one token.
pub struct Gate {
    /// (running, waiting)
    counts: Mutex<(usize, usize)>,
    freed: Condvar,
    running_limit: usize,
    waiting_limit: usize,
}

/// A running generation's place; the next waiter goes when it is dropped.
pub struct Permit<'a> {
    gate: &'a Gate,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.gate.counts.lock().0 -= 1;
        self.gate.freed.notify_one();
    }
}

impl Gate {
    pub fn new(running_limit: usize, waiting_limit: usize) -> Gate {
        Gate {
            counts: Mutex::new((0, 0)),
            freed: Condvar::new(),
            running_limit: running_limit.max(1),
            waiting_limit,
        }
    }

    /// Waits for a place to generate (blocking: called on a blocking thread), or refuses
    /// with ThrottlingException when the queue is full.
    pub fn enter(&self) -> KmsResult<Permit<'_>> {
        let mut counts = self.counts.lock();
        if counts.0 >= self.running_limit {
            if counts.1 >= self.waiting_limit {
                return Err(KmsError::throttled());
            }
            counts.1 += 1;
            while counts.0 >= self.running_limit {
                self.freed.wait(&mut counts);
            }
            counts.1 -= 1;
        }
        counts.0 += 1;
        Ok(Permit { gate: self })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;

    #[test]
    fn beyond_the_running_and_waiting_places_requests_are_throttled() {
        let gate = Arc::new(Gate::new(1, 1));
        let held = gate.enter().expect("first runs");
        let waiting = {
            let gate = gate.clone();
            let start = Arc::new(Barrier::new(2));
            let go = start.clone();
            let t = std::thread::spawn(move || {
                go.wait();
                gate.enter().map(|_| ()).is_ok()
            });
            start.wait();
            t
        };
        while gate.counts.lock().1 == 0 {
            std::thread::yield_now();
        }
        let refused = gate.enter().map(|_| ()).expect_err("third is throttled");
        assert_eq!(refused.message, "Rate exceeded");
        drop(held);
        assert!(waiting.join().expect("thread"), "the waiter ran");
        assert!(gate.enter().is_ok(), "free again");
    }
}
