//! Fault injection for the crash tests: with `PEERSEAL_TEST_CRASH_AT` set to one of the
//! [`CrashPoint`] names, the process aborts at that point of a rotation. Only dev builds have
//! the hook; in a production build [`crash_point`] is an empty inline function, and the variable
//! is never read.

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
}

impl CrashPoint {
    /// The value of `PEERSEAL_TEST_CRASH_AT` that selects this point.
    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::AfterStoreShares => "after_store_shares",
            CrashPoint::AfterPendingFile => "after_pending_file",
            CrashPoint::AfterCommit => "after_commit",
            CrashPoint::AfterReseal => "after_reseal",
        }
    }
}

/// Aborts the process when `PEERSEAL_TEST_CRASH_AT` names `point` (dev builds only).
#[cfg(feature = "dev")]
pub fn crash_point(point: CrashPoint) {
    if std::env::var("PEERSEAL_TEST_CRASH_AT").is_ok_and(|p| p == point.name()) {
        tracing::error!(point = point.name(), "PEERSEAL_TEST_CRASH_AT: aborting the process");
        std::process::abort();
    }
}

/// No fault hooks in a production build.
#[cfg(not(feature = "dev"))]
#[inline(always)]
pub fn crash_point(_point: CrashPoint) {}
