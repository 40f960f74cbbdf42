//! Fault injection for the crash tests: with `PEERSEAL_TEST_CRASH_AT` set to one of the
//! [`CrashPoint`] names, the process aborts at that point of a rotation (`name#N`: the N-th
//! time that point is reached); with `PEERSEAL_TEST_FAIL_RECORD=N` the N-th on-chain backup
//! record of the process fails before it is submitted. Only dev builds have the hooks; in a production
//! build they are empty inline functions, and the variables are never read.

/// The points of a rotation where the crash tests abort the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// New shares are stored with the new providers; nothing else changed.
    AfterStoreShares,
    /// The pending backup is in the recovery file.
    AfterPendingFile,
    /// The store's commit point to the new epoch passed.
    AfterCommit,
    /// Every record is re-sealed; the chain still records the old epoch.
    AfterReseal,
    /// Recording a rotation on chain failed after its commit point.
    AfterRecordFailed,
    /// First start: the store exists, no backup of it is recorded yet.
    AfterStoreCreated,
}

impl CrashPoint {
    /// The value of `PEERSEAL_TEST_CRASH_AT` that selects this point.
    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::AfterStoreShares => "after_store_shares",
            CrashPoint::AfterPendingFile => "after_pending_file",
            CrashPoint::AfterCommit => "after_commit",
            CrashPoint::AfterReseal => "after_reseal",
            CrashPoint::AfterRecordFailed => "after_record_failed",
            CrashPoint::AfterStoreCreated => "after_store_created",
        }
    }
}

#[cfg(feature = "dev")]
mod hooks {
    use super::CrashPoint;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    static REACHED: Mutex<Vec<(&'static str, u32)>> = Mutex::new(Vec::new());
    static RECORDS: AtomicU32 = AtomicU32::new(0);

    /// How often `point` was reached in this process, this time included.
    fn reached(point: CrashPoint) -> u32 {
        let mut seen = REACHED.lock().unwrap_or_else(|p| p.into_inner());
        match seen.iter_mut().find(|(name, _)| *name == point.name()) {
            Some((_, count)) => {
                *count = count.saturating_add(1);
                *count
            }
            None => {
                seen.push((point.name(), 1));
                1
            }
        }
    }

    /// Aborts the process when `PEERSEAL_TEST_CRASH_AT` names `point` (`name` or `name#N`).
    pub fn crash_point(point: CrashPoint) {
        let Ok(wanted) = std::env::var("PEERSEAL_TEST_CRASH_AT") else {
            return;
        };
        let (name, nth) = match wanted.split_once('#') {
            Some((name, n)) => (name.to_owned(), n.parse::<u32>().unwrap_or(1)),
            None => (wanted, 1),
        };
        if name == point.name() && reached(point) == nth {
            tracing::error!(point = point.name(), nth, "PEERSEAL_TEST_CRASH_AT: aborting");
            std::process::abort();
        }
    }

    /// Whether this on-chain record must fail (`PEERSEAL_TEST_FAIL_RECORD=N`: the N-th).
    pub fn fail_record() -> bool {
        let Some(wanted) =
            std::env::var("PEERSEAL_TEST_FAIL_RECORD").ok().and_then(|n| n.parse::<u32>().ok())
        else {
            return false;
        };
        let this = RECORDS.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        let fail = this == wanted;
        if fail {
            tracing::error!(record = this, "PEERSEAL_TEST_FAIL_RECORD: failing this record");
        }
        fail
    }
}

#[cfg(feature = "dev")]
pub use hooks::{crash_point, fail_record};

/// No fault hooks in a production build.
#[cfg(not(feature = "dev"))]
#[inline(always)]
pub fn fail_record() -> bool {
    false
}

/// No fault hooks in a production build.
#[cfg(not(feature = "dev"))]
#[inline(always)]
pub fn crash_point(_point: CrashPoint) {}
