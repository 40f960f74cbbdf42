//! # pallet-finality-authorities: governance changes of the GRANDPA authority set
//!
//! `pallet-grandpa` tracks the authority set and emits the standard `FRNK` digests, but it has no
//! call to plan a change: upstream, `pallet-session` drives it through `on_new_session`. This
//! runtime has no session pallet, so this pallet gives governance (root, i.e. Sudo on the dev
//! chain) one call, [`Pallet::schedule_change`], that validates the new set and hands it to
//! `pallet_grandpa::Pallet::schedule_change(next, delay, None)`.
//!
//! ## GRANDPA semantics, and how the set id follows them
//! A change scheduled in block `B` with delay `d` puts `ConsensusLog::ScheduledChange
//! { next_authorities, delay: d }` (engine `FRNK`) into `B`'s header digest. Block `B + d` is
//! still finalized by the current set `s`; every block after it by set `s + 1`. The genesis set
//! has id 0. Forced changes are never scheduled.
//!
//! Upstream `on_new_session` increments `pallet_grandpa::CurrentSetId` when the change is
//! *scheduled*, while `pallet_grandpa::Authorities` only changes when it is *enacted*; between
//! the two, the state pairs the old authorities with the new id. This pallet instead increments
//! `CurrentSetId` in the `on_finalize` of the enactment block `B + d`, the same block in whose
//! `on_finalize` pallet-grandpa writes the new `Authorities`. So in the state after any block
//! `N`, `Authorities` and `CurrentSetId` (and the runtime API `GrandpaApi_current_set_id`)
//! always describe the same set: the one that finalizes `N + 1`, `N + 2`, ... exactly as
//! `GrandpaApi_grandpa_authorities` is documented to. A client that proves those two storage
//! values at a finalized block therefore learns the set (and its id) that justifies the next
//! blocks. The enactment block is remembered in [`PendingEnactment`], so the hook does not
//! depend on the order in which the two pallets' `on_finalize` hooks run.
//!
//! ## Weights
//! The figures in `weights.rs` are measured, not estimated: `src/benchmarking.rs` benchmarks
//! every call and the block hooks (`on_initialize` with `on_finalize`, with and without an enactment) at its worst case, and `peerseal-weights` (crates/weights) runs those
//! benchmarks natively against `peerseal-runtime` and writes the file. Regenerate it (release
//! build, on an otherwise idle machine) with
//! `cargo run --release -p peerseal-weights --features runtime-benchmarks -- --steps 10 --repeat 20`;
//! `cargo test -p pallet-finality-authorities --features runtime-benchmarks` runs each benchmark once as a test
//! against the mock, and `cargo run --release -p peerseal-weights --features runtime-benchmarks
//! -- --check` against the runtime.
//!
//! ## Dependencies
//! FRAME (`frame-support`, `frame-system`, `sp-runtime`), SCALE and metadata
//! (`parity-scale-codec`, `scale-info`), `pallet-grandpa` (the pallet whose planned change this
//! drives, and whose `CurrentSetId` it maintains) and `sp-consensus-grandpa` (the `AuthorityId`
//! and `SetId` types of the GRANDPA primitives, the same ones the node and clients use).
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod mock;
#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests;
pub mod weights;

pub use sp_consensus_grandpa::{AuthorityId, AuthorityWeight, SetId};
pub use weights::WeightInfo;

/// The bounded authority list the call takes: `(ed25519 key, weight)` pairs, at most
/// `pallet_grandpa::Config::MaxAuthorities` of them.
pub type NextAuthorities<T> = frame_support::BoundedVec<
    (AuthorityId, AuthorityWeight),
    <T as pallet_grandpa::Config>::MaxAuthorities,
>;

// The FRAME macros expand to `expect` calls on values that are present by construction (metadata
// and storage prefix plumbing); no code written here unwraps.
#[allow(clippy::expect_used, clippy::unwrap_used)]
#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::vec::Vec;
    use frame_support::pallet_prelude::*;
    use frame_system::pallet_prelude::*;
    use sp_runtime::traits::CheckedAdd;

    /// The in-code storage version.
    const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

    #[pallet::pallet]
    #[pallet::storage_version(STORAGE_VERSION)]
    pub struct Pallet<T>(_);

    /// Configuration of the finality-authorities pallet.
    #[pallet::config]
    pub trait Config:
        frame_system::Config<RuntimeEvent: From<Event<Self>>> + pallet_grandpa::Config
    {
        /// Who may schedule a change (root, a council; sudo on a dev chain).
        type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Weights of this pallet's call and hook.
        type WeightInfo: WeightInfo;
    }

    /// The block at whose end the scheduled change is enacted (`scheduled at + delay`), while a
    /// change is pending. The block hook advances `pallet_grandpa::CurrentSetId` then.
    #[pallet::storage]
    pub type PendingEnactment<T: Config> = StorageValue<_, BlockNumberFor<T>, OptionQuery>;

    /// Events of the finality-authorities pallet.
    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A change to `next_authorities` was scheduled in this block with `delay`; blocks after
        /// `enacted_at` are finalized by set `next_set_id`.
        ChangeScheduled {
            next_authorities: Vec<(AuthorityId, AuthorityWeight)>,
            delay: BlockNumberFor<T>,
            enacted_at: BlockNumberFor<T>,
            next_set_id: SetId,
        },
        /// The scheduled change was enacted at the end of this block: set `set_id` finalizes
        /// the following blocks.
        SetIdAdvanced { set_id: SetId },
    }

    /// Errors of the finality-authorities pallet.
    #[pallet::error]
    pub enum Error<T> {
        /// The new authority set is empty.
        EmptyAuthoritySet,
        /// An authority has weight zero (GRANDPA voters must have positive weight).
        ZeroWeight,
        /// The same authority key appears twice.
        DuplicateAuthority,
        /// The total weight of the new set does not fit in a `u64`.
        WeightOverflow,
        /// A change is already pending; wait until it is enacted.
        ChangePending,
        /// `now + delay` does not fit in a block number.
        DelayTooLong,
        /// The set id counter is exhausted (cannot happen: 2^64 changes).
        SetIdOverflow,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn on_initialize(now: BlockNumberFor<T>) -> Weight {
            // Charge `on_finalize`'s work up front, as FRAME requires.
            let due = PendingEnactment::<T>::get().is_some_and(|at| at <= now);
            <T as Config>::WeightInfo::on_finalize(due)
        }

        fn on_finalize(now: BlockNumberFor<T>) {
            let Some(at) = PendingEnactment::<T>::get() else { return };
            if at > now {
                return;
            }
            PendingEnactment::<T>::kill();
            // Saturating: 2^64 set changes cannot happen; `schedule_change` refuses at the cap.
            let set_id = pallet_grandpa::CurrentSetId::<T>::get().saturating_add(1);
            pallet_grandpa::CurrentSetId::<T>::put(set_id);
            Self::deposit_event(Event::SetIdAdvanced { set_id });
        }

        /// The storage invariants of [`Pallet::do_try_state`], checked by `try-runtime`.
        #[cfg(feature = "try-runtime")]
        fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Schedule a change of the GRANDPA authority set to `next_authorities`, enacted at the
        /// end of block `now + delay` (governance only).
        ///
        /// Refuses an empty set, a zero weight, a key listed twice, a total weight beyond `u64`
        /// and a change while another is pending, each with its own error. On success
        /// pallet-grandpa deposits the `ScheduledChange` digest at the end of this block, and
        /// the set id advances at the end of the enactment block (see the crate docs). Emits
        /// [`Event::ChangeScheduled`].
        #[pallet::call_index(0)]
        #[pallet::weight(<T as Config>::WeightInfo::schedule_change(next_authorities.len() as u32))]
        pub fn schedule_change(
            origin: OriginFor<T>,
            next_authorities: NextAuthorities<T>,
            delay: BlockNumberFor<T>,
        ) -> DispatchResult {
            T::GovernanceOrigin::ensure_origin(origin)?;
            ensure!(!next_authorities.is_empty(), Error::<T>::EmptyAuthoritySet);
            let mut seen = BTreeSet::new();
            let mut total: u64 = 0;
            for (id, weight) in next_authorities.iter() {
                ensure!(*weight > 0, Error::<T>::ZeroWeight);
                ensure!(seen.insert(id.clone()), Error::<T>::DuplicateAuthority);
                total = total.checked_add(*weight).ok_or(Error::<T>::WeightOverflow)?;
            }
            ensure!(
                !PendingEnactment::<T>::exists()
                    && pallet_grandpa::PendingChange::<T>::get().is_none(),
                Error::<T>::ChangePending
            );
            let now = frame_system::Pallet::<T>::block_number();
            let enacted_at = now.checked_add(&delay).ok_or(Error::<T>::DelayTooLong)?;
            let next_set_id = pallet_grandpa::CurrentSetId::<T>::get()
                .checked_add(1)
                .ok_or(Error::<T>::SetIdOverflow)?;
            let list: Vec<_> = next_authorities.into_inner();
            pallet_grandpa::Pallet::<T>::schedule_change(list.clone(), delay, None)?;
            PendingEnactment::<T>::put(enacted_at);
            Self::deposit_event(Event::ChangeScheduled {
                next_authorities: list,
                delay,
                enacted_at,
                next_set_id,
            });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The pallet's storage invariants, with pallet-grandpa's state it drives:
        /// - a change is pending here exactly when pallet-grandpa has one pending (both are
        ///   written by [`Pallet::schedule_change`] and cleared at the enactment block's end);
        /// - the enactment block is the pending change's `scheduled_at + delay`;
        /// - it is not in the past (a missed enactment would leave the set id behind the
        ///   authorities);
        /// - the current authority set is not empty.
        #[cfg(any(test, feature = "try-runtime"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            let ours = PendingEnactment::<T>::get();
            let grandpa = pallet_grandpa::PendingChange::<T>::get();
            match (ours, grandpa) {
                (None, None) => {}
                (Some(at), Some(change)) => {
                    let due = change.scheduled_at.checked_add(&change.delay);
                    ensure!(due == Some(at), "the enactment block is not scheduled_at + delay");
                    ensure!(
                        at >= frame_system::Pallet::<T>::block_number(),
                        "a pending enactment lies in the past"
                    );
                }
                (Some(_), None) => Err("an enactment is pending without a GRANDPA change")?,
                (None, Some(_)) => Err("a GRANDPA change is pending without its enactment")?,
            }
            ensure!(
                !pallet_grandpa::Pallet::<T>::grandpa_authorities().is_empty(),
                "the GRANDPA authority set is empty"
            );
            Ok(())
        }

        /// The block at whose end the pending change is enacted, if one is pending.
        pub fn pending_enactment() -> Option<BlockNumberFor<T>> {
            PendingEnactment::<T>::get()
        }
    }
}
