//! What the chain side and the node side of peerseal must agree on, in one `no_std` crate.
//!
//! The pallets (`pallet-registry`, `pallet-backup`) talk to each other only through the traits
//! here, so a production runtime can drive the same hooks from its session or staking pallets.
//! The TSS node computes its backup providers with the same [`rendezvous`] function the chain's
//! runtime API uses, so both sides always agree on the order. Dependencies: `parity-scale-codec`
//! and `scale-info` because these types cross the chain boundary, `sp-crypto-hashing` for the
//! blake2 hash Substrate itself uses (small, `no_std`, no `sp-core`).
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod rendezvous;

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// A key epoch of a node's database key; epoch `e + 1` replaces epoch `e` on rotation.
pub type Epoch = u64;

/// Where a registered TSS server is in its life on chain.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub enum ServerStatus {
    /// Registered and eligible as a backup provider.
    Active,
    /// Has asked to leave: still serves the backups it holds, but is no longer chosen as a
    /// provider; removed once its leave delay has passed.
    Leaving,
}

/// Notified by the registry when TSS servers join, start leaving, or are removed.
///
/// Implemented for `()` (nobody listens) and tuples, so a runtime can fan one registry out to
/// several listeners.
pub trait OnServerChange<AccountId> {
    /// `tss_account` has registered (and been attested).
    fn joined(tss_account: &AccountId);
    /// `tss_account` has started to leave; it still serves, but clients should move away.
    fn leaving(tss_account: &AccountId);
    /// `tss_account` is gone (left after its delay, or removed by governance).
    fn removed(tss_account: &AccountId);
}

impl<AccountId> OnServerChange<AccountId> for () {
    fn joined(_: &AccountId) {}
    fn leaving(_: &AccountId) {}
    fn removed(_: &AccountId) {}
}

impl<AccountId, A: OnServerChange<AccountId>, B: OnServerChange<AccountId>>
    OnServerChange<AccountId> for (A, B)
{
    fn joined(who: &AccountId) {
        A::joined(who);
        B::joined(who);
    }
    fn leaving(who: &AccountId) {
        A::leaving(who);
        B::leaving(who);
    }
    fn removed(who: &AccountId) {
        A::removed(who);
        B::removed(who);
    }
}

/// Read access to the set of registered TSS servers, keyed by their TSS account.
pub trait ServerRegistry<AccountId> {
    /// The server's status, or `None` when `tss_account` is not a registered TSS server.
    fn status(tss_account: &AccountId) -> Option<ServerStatus>;

    /// Every registered server that is [`ServerStatus::Active`], in no particular order.
    fn active_servers() -> alloc::vec::Vec<AccountId>;

    /// Registered, whether active or leaving (a leaving server still holds and serves backups).
    fn is_registered(tss_account: &AccountId) -> bool {
        Self::status(tss_account).is_some()
    }

    /// Registered and not leaving: may be chosen as a new backup provider.
    fn is_active(tss_account: &AccountId) -> bool {
        Self::status(tss_account) == Some(ServerStatus::Active)
    }
}
