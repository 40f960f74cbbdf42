//! The one retry helper every retry loop of the node uses: exponential backoff (from `backon`)
//! between attempts, and a stop as soon as the process is asked to shut down, even in the middle
//! of a wait. A loop looks like
//!
//! ```
//! # async fn demo() -> Result<u32, peerseal_backup::Stopped> {
//! use peerseal_backup::{Backoff, Retry, Shutdown};
//! let shutdown = Shutdown::new();
//! let mut retry = Retry::new(Backoff::up_to(std::time::Duration::from_secs(30)), shutdown.signal());
//! let mut attempts = 0;
//! loop {
//!     attempts += 1;
//!     let outcome: Result<u32, &str> = if attempts < 2 { Err("not yet") } else { Ok(7) };
//!     match outcome {
//!         Ok(value) => return Ok(value),
//!         Err(e) => {
//!             retry.after_failure("demo", &e).await?;
//!         }
//!     }
//! }
//! # }
//! ```

use backon::BackoffBuilder;
use std::fmt::Display;
use std::time::Duration;
use tokio::sync::watch;

/// The shape of the delays between attempts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The first delay.
    pub min: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Whether delays are randomised (spreads out nodes that failed together).
    pub jitter: bool,
    /// Attempts after the first one at most; `None`: until success or shutdown.
    pub max_retries: Option<usize>,
}

impl Backoff {
    /// 500 ms doubling up to `max`, with jitter, without a limit on attempts.
    pub fn up_to(max: Duration) -> Self {
        Self { min: Duration::from_millis(500).min(max), max, jitter: true, max_retries: None }
    }

    /// The delays as an iterator (ends after `max_retries` delays, if set).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + 'static {
        let mut builder = backon::ExponentialBuilder::default()
            .with_min_delay(self.min)
            .with_max_delay(self.max.max(self.min))
            .with_factor(2.0);
        if self.jitter {
            builder = builder.with_jitter();
        }
        builder = match self.max_retries {
            Some(n) => builder.with_max_times(n),
            None => builder.without_max_times(),
        };
        builder.build()
    }
}

/// The process was asked to stop while waiting to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stopped: the process is shutting down")]
pub struct Stopped;

/// The sender side of the shutdown signal: one per process, owned by whoever handles signals.
#[derive(Debug)]
pub struct Shutdown {
    sender: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self { sender: watch::channel(false).0 }
    }

    /// A receiver to hand to loops and tasks.
    pub fn signal(&self) -> ShutdownSignal {
        ShutdownSignal { receiver: self.sender.subscribe(), _never: None }
    }

    /// Fires the signal: every waiting [`ShutdownSignal::wait`] returns.
    pub fn fire(&self) {
        self.sender.send_replace(true);
    }
}

/// The receiving side of [`Shutdown`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ShutdownSignal {
    receiver: watch::Receiver<bool>,
    /// For [`ShutdownSignal::never`]: the sender, kept so the signal never counts as dropped.
    _never: Option<std::sync::Arc<watch::Sender<bool>>>,
}

impl ShutdownSignal {
    /// A signal that never fires (tools and tests that run until dropped).
    pub fn never() -> Self {
        let (sender, receiver) = watch::channel(false);
        Self { receiver, _never: Some(std::sync::Arc::new(sender)) }
    }

    /// Whether shutdown was asked for.
    pub fn is_fired(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Returns once shutdown is asked for (at once if it already was). A dropped [`Shutdown`]
    /// counts as asked: nobody is left to let the process go on.
    pub async fn wait(&self) {
        let mut receiver = self.receiver.clone();
        let _ = receiver.wait_for(|fired| *fired).await;
    }
}

/// One retry loop's state: the remaining delays and the shutdown signal.
pub struct Retry {
    backoff: Backoff,
    delays: Box<dyn Iterator<Item = Duration> + Send>,
    shutdown: ShutdownSignal,
    attempts: u64,
}

impl Retry {
    /// A fresh loop.
    pub fn new(backoff: Backoff, shutdown: ShutdownSignal) -> Self {
        Self { delays: Box::new(backoff.delays()), backoff, shutdown, attempts: 0 }
    }

    /// Failed attempts so far.
    pub fn failures(&self) -> u64 {
        self.attempts
    }

    /// After a failed attempt: logs `what` and `error`, then waits the next delay. `Err` when
    /// shutdown is asked for (before or during the wait) or the attempts are used up.
    pub async fn after_failure(
        &mut self,
        what: &str,
        error: &dyn Display,
    ) -> Result<Duration, Stopped> {
        self.attempts += 1;
        let Some(delay) = self.delays.next() else {
            tracing::warn!("{what} failed ({error}); no attempts left");
            return Err(Stopped);
        };
        tracing::warn!("{what} failed ({error}); retrying in {delay:?}");
        self.wait(delay).await.map(|()| delay)
    }

    /// Waits `delay` unless shutdown comes first.
    pub async fn wait(&self, delay: Duration) -> Result<(), Stopped> {
        if self.shutdown.is_fired() {
            return Err(Stopped);
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => Ok(()),
            _ = self.shutdown.wait() => Err(Stopped),
        }
    }

    /// Starts the delays over (after a success in a long-running loop).
    pub fn reset(&mut self) {
        self.delays = Box::new(self.backoff.delays());
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_respect_the_attempt_limit() {
        let backoff = Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_millis(400),
            jitter: false,
            max_retries: Some(4),
        };
        // backon computes in floating point: compare whole milliseconds.
        let delays: Vec<u128> = backoff.delays().map(|d| d.as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 400], "doubling, capped, four retries");
    }

    #[tokio::test]
    async fn shutdown_interrupts_a_long_wait() {
        let shutdown = Shutdown::new();
        // The first delay is an hour, not `up_to`'s half second or so: a stalled machine must
        // not see the delay end before the shutdown that interrupts it.
        let hour = Duration::from_secs(3600);
        let backoff = Backoff { min: hour, max: hour, jitter: false, max_retries: None };
        let mut retry = Retry::new(backoff, shutdown.signal());
        let started = std::time::Instant::now();
        let fire = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            shutdown.fire();
        };
        let (outcome, ()) = tokio::join!(retry.after_failure("test", &"boom"), fire);
        assert_eq!(outcome, Err(Stopped));
        assert!(started.elapsed() < Duration::from_secs(5), "did not wait out the delay");
        assert_eq!(retry.failures(), 1);
    }

    #[tokio::test]
    async fn a_fired_signal_stops_before_waiting() {
        let shutdown = Shutdown::new();
        shutdown.fire();
        let retry = Retry::new(Backoff::up_to(Duration::from_secs(1)), shutdown.signal());
        assert_eq!(retry.wait(Duration::from_secs(3600)).await, Err(Stopped));
    }
}
