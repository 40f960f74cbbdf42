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

/// Most backup clients one provider serves at a time: the runtime's
/// `pallet_backup::Config::MaxClientsPerProvider`.
///
/// `BackupApi::candidate_providers` leaves out every provider whose `ClientCount` has reached
/// this bound, so an off-chain client that computes the candidates itself from proven storage
/// (`peerseal_primitives::rendezvous` over the registry's server index and the providers'
/// client counts) must filter with the same number; it lives here so both read one constant.
/// It also bounds the registry hooks' work per provider (see pallet-backup's weights).
pub const MAX_CLIENTS_PER_PROVIDER: u32 = 256;

/// A key epoch of a node's database key; epoch `e + 1` replaces epoch `e` on rotation.
pub type Epoch = u64;

/// An account as the TSS node side of peerseal sees it: the 32 bytes of an sr25519 public key,
/// the same bytes as a Substrate `AccountId32` (and SCALE-encoded the same way). One type for
/// the wire protocol, the chain client and the daemon, so an account is never confused with
/// another 32-byte value (a key, a hash, a commitment). Prints as `0x`-prefixed hex.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for AccountId {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl From<AccountId> for [u8; 32] {
    fn from(account: AccountId) -> Self {
        account.0
    }
}

impl AsRef<[u8]> for AccountId {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl core::fmt::Display for AccountId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("0x")?;
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl core::fmt::Debug for AccountId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AccountId({self})")
    }
}

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

/// The worst-case cost of one [`OnServerChange`] notification, in the two dimensions FRAME
/// weighs by: `ref_time` (picoseconds of execution on reference hardware, storage accesses
/// included) and `proof_size` (bytes of storage proof).
///
/// A plain pair of numbers so this crate stays free of FRAME (the TSS node depends on it too); a
/// FRAME runtime converts it 1:1 with `Weight::from_parts(ref_time, proof_size)`. Arithmetic
/// saturates, like FRAME's weights.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct HookWeight {
    /// Execution time in picoseconds on reference hardware, storage accesses included.
    pub ref_time: u64,
    /// Storage proof size in bytes.
    pub proof_size: u64,
}

impl HookWeight {
    /// No cost: a listener that does nothing.
    pub const ZERO: HookWeight = HookWeight { ref_time: 0, proof_size: 0 };

    /// A weight of `ref_time` picoseconds and `proof_size` proof bytes.
    pub const fn from_parts(ref_time: u64, proof_size: u64) -> Self {
        HookWeight { ref_time, proof_size }
    }

    /// Both dimensions added, saturating at `u64::MAX`.
    pub const fn saturating_add(self, other: HookWeight) -> Self {
        HookWeight {
            ref_time: self.ref_time.saturating_add(other.ref_time),
            proof_size: self.proof_size.saturating_add(other.proof_size),
        }
    }
}

/// Notified by the registry when TSS servers join, start leaving, or are removed.
///
/// Implemented for `()` (nobody listens) and tuples, so a runtime can fan one registry out to
/// several listeners. Every listener states the worst-case weight of each notification (for any
/// account, in any state) so the registry can charge it to the call or block hook that triggers
/// it; `()` costs nothing and a tuple costs the sum of its members. The `*_weight` functions
/// have no default on purpose: a listener must not be able to forget them.
pub trait OnServerChange<AccountId> {
    /// `tss_account` has registered (and been attested).
    fn joined(tss_account: &AccountId);
    /// `tss_account` has started to leave; it still serves, but clients should move away.
    fn leaving(tss_account: &AccountId);
    /// `tss_account` is gone (left after its delay, or removed by governance).
    fn removed(tss_account: &AccountId);

    /// Upper bound of the cost of one [`OnServerChange::joined`].
    fn joined_weight() -> HookWeight;
    /// Upper bound of the cost of one [`OnServerChange::leaving`].
    fn leaving_weight() -> HookWeight;
    /// Upper bound of the cost of one [`OnServerChange::removed`].
    fn removed_weight() -> HookWeight;
}

impl<AccountId> OnServerChange<AccountId> for () {
    fn joined(_: &AccountId) {}
    fn leaving(_: &AccountId) {}
    fn removed(_: &AccountId) {}
    fn joined_weight() -> HookWeight {
        HookWeight::ZERO
    }
    fn leaving_weight() -> HookWeight {
        HookWeight::ZERO
    }
    fn removed_weight() -> HookWeight {
        HookWeight::ZERO
    }
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
    fn joined_weight() -> HookWeight {
        A::joined_weight().saturating_add(B::joined_weight())
    }
    fn leaving_weight() -> HookWeight {
        A::leaving_weight().saturating_add(B::leaving_weight())
    }
    fn removed_weight() -> HookWeight {
        A::removed_weight().saturating_add(B::removed_weight())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener with fixed, distinct costs per notification.
    struct Costly<const R: u64>;

    impl<const R: u64> OnServerChange<u32> for Costly<R> {
        fn joined(_: &u32) {}
        fn leaving(_: &u32) {}
        fn removed(_: &u32) {}
        fn joined_weight() -> HookWeight {
            HookWeight::from_parts(R, 1)
        }
        fn leaving_weight() -> HookWeight {
            HookWeight::from_parts(2 * R, 2)
        }
        fn removed_weight() -> HookWeight {
            HookWeight::from_parts(3 * R, 3)
        }
    }

    #[test]
    fn nobody_listening_costs_nothing() {
        assert_eq!(<() as OnServerChange<u32>>::joined_weight(), HookWeight::ZERO);
        assert_eq!(<() as OnServerChange<u32>>::leaving_weight(), HookWeight::ZERO);
        assert_eq!(<() as OnServerChange<u32>>::removed_weight(), HookWeight::ZERO);
    }

    #[test]
    fn tuple_listeners_sum_their_weights() {
        type Both = (Costly<10>, Costly<1000>);
        assert_eq!(<Both as OnServerChange<u32>>::joined_weight(), HookWeight::from_parts(1010, 2));
        assert_eq!(
            <Both as OnServerChange<u32>>::leaving_weight(),
            HookWeight::from_parts(2020, 4)
        );
        assert_eq!(
            <Both as OnServerChange<u32>>::removed_weight(),
            HookWeight::from_parts(3030, 6)
        );
        type Nested = ((), (Costly<1>, ()));
        assert_eq!(<Nested as OnServerChange<u32>>::removed_weight(), HookWeight::from_parts(3, 3));
    }

    #[test]
    fn hook_weight_addition_saturates() {
        let max = HookWeight::from_parts(u64::MAX, u64::MAX);
        assert_eq!(max.saturating_add(HookWeight::from_parts(1, 1)), max);
    }
}
