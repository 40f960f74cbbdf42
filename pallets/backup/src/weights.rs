//! Weights of `pallet-backup`.
//!
//! **Hand estimates, not benchmark results.** Each figure counts the storage reads and writes
//! the code performs in its worst case and prices them with the runtime's `DbWeight`, plus a
//! compute allowance per item. Replace with `frame-benchmarking` output before production use.

use core::marker::PhantomData;
use frame_support::{
    traits::Get,
    weights::{constants::RocksDbWeight, RuntimeDbWeight, Weight},
};

/// Weight functions needed by `pallet-backup`.
pub trait WeightInfo {
    /// `record_backup` with `p` providers (worst case: replacing an assignment of `p` others)
    /// and `s` sealed recovery shares.
    fn record_backup(p: u32, s: u32) -> Weight;
    /// `set_recovery_operators` with `o` operators.
    fn set_recovery_operators(o: u32) -> Weight;
    /// `report_recovered_by_operators` with up to `s` recorded sealed shares.
    fn report_recovered_by_operators(s: u32) -> Weight;
    /// `confirm_backup`.
    fn confirm_backup() -> Weight;
    /// `report_recovery`.
    fn report_recovery() -> Weight;
    /// The `leaving` registry hook for a provider with `c` clients.
    fn on_provider_leaving(c: u32) -> Weight;
    /// The `removed` registry hook for a server with `c` clients and `p` providers of its own.
    fn on_server_removed(c: u32, p: u32) -> Weight;
}

/// Estimated compute per call, before storage: signature-independent bookkeeping only.
const BASE_REF_TIME: u64 = 20_000_000;
/// Estimated compute per provider or client visited.
const PER_ITEM_REF_TIME: u64 = 2_000_000;
/// Estimated proof size of one small account-keyed storage item.
const PER_ITEM_PROOF: u64 = 100;
/// Estimated proof size of one stored assignment with its providers.
const ASSIGNMENT_PROOF: u64 = 2_048;
/// Estimated proof size of one sealed recovery share (the runtime bounds it at 512 bytes).
const SEALED_SHARE_PROOF: u64 = 512;
/// Estimated proof size of one recovery operator (account and key).
const OPERATOR_PROOF: u64 = 64;

fn estimate<W: Get<RuntimeDbWeight>>(items: u64, reads: u64, writes: u64, proof: u64) -> Weight {
    Weight::from_parts(BASE_REF_TIME.saturating_add(PER_ITEM_REF_TIME.saturating_mul(items)), proof)
        .saturating_add(W::get().reads_writes(reads, writes))
}

/// The estimates above, priced with the storage weights `W`.
pub struct Estimated<W>(PhantomData<W>);

impl<W: Get<RuntimeDbWeight>> WeightInfo for Estimated<W> {
    fn record_backup(p: u32, s: u32) -> Weight {
        let (p, s) = (u64::from(p), u64::from(s));
        // Reads: registry status of the client, its assignment, the operator set; per provider:
        // registry status (registered + active), reverse-index entry, client count, and the
        // index again when writing. Writes: the assignment, the revision and the recovery
        // shares; per provider (old and new): confirmation, index, count.
        estimate::<W>(
            p + s,
            4 + 5 * p,
            3 + 6 * p,
            ASSIGNMENT_PROOF + PER_ITEM_PROOF * 4 * p + OPERATOR_PROOF * s + SEALED_SHARE_PROOF * s,
        )
    }

    fn set_recovery_operators(o: u32) -> Weight {
        let o = u64::from(o);
        // Reads and writes: the revision counter and the set.
        estimate::<W>(o * o, 1, 2, PER_ITEM_PROOF + OPERATOR_PROOF * o)
    }

    fn report_recovered_by_operators(s: u32) -> Weight {
        // Reads: registry status, the recorded recovery shares.
        estimate::<W>(1, 2, 0, PER_ITEM_PROOF + SEALED_SHARE_PROOF * u64::from(s))
    }

    fn confirm_backup() -> Weight {
        // Reads: registry status, assignment, confirmation. Writes: confirmation.
        estimate::<W>(1, 3, 1, ASSIGNMENT_PROOF + 2 * PER_ITEM_PROOF)
    }

    fn report_recovery() -> Weight {
        // Reads: registry status, assignment. Writes: none besides the event.
        estimate::<W>(1, 2, 0, ASSIGNMENT_PROOF + PER_ITEM_PROOF)
    }

    fn on_provider_leaving(c: u32) -> Weight {
        let c = u64::from(c);
        // Reads: the reverse-index prefix, one entry per client.
        estimate::<W>(c, 1 + c, 0, PER_ITEM_PROOF * (1 + c))
    }

    fn on_server_removed(c: u32, p: u32) -> Weight {
        let (c, p) = (u64::from(c), u64::from(p));
        // Per client: index entry, assignment read+write, index and confirmation removal.
        // Own assignment and recovery shares: take them; per provider: index take, count
        // update, confirmation; the revision once.
        estimate::<W>(
            c + p,
            3 + 2 * c + 2 * p,
            4 + 3 * c + 3 * p,
            ASSIGNMENT_PROOF * (1 + c) + PER_ITEM_PROOF * (c + 2 * p),
        )
    }
}

/// Estimated weights priced with the runtime's `DbWeight`.
pub type SubstrateWeight<T> = Estimated<<T as frame_system::Config>::DbWeight>;

/// The same estimates priced with `RocksDbWeight`, for tests and mocks.
impl WeightInfo for () {
    fn record_backup(p: u32, s: u32) -> Weight {
        Estimated::<RocksDbWeight>::record_backup(p, s)
    }
    fn set_recovery_operators(o: u32) -> Weight {
        Estimated::<RocksDbWeight>::set_recovery_operators(o)
    }
    fn report_recovered_by_operators(s: u32) -> Weight {
        Estimated::<RocksDbWeight>::report_recovered_by_operators(s)
    }
    fn confirm_backup() -> Weight {
        Estimated::<RocksDbWeight>::confirm_backup()
    }
    fn report_recovery() -> Weight {
        Estimated::<RocksDbWeight>::report_recovery()
    }
    fn on_provider_leaving(c: u32) -> Weight {
        Estimated::<RocksDbWeight>::on_provider_leaving(c)
    }
    fn on_server_removed(c: u32, p: u32) -> Weight {
        Estimated::<RocksDbWeight>::on_server_removed(c, p)
    }
}
