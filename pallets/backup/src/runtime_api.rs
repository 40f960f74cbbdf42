//! The `BackupApi` runtime API: what a TSS node asks the chain about backups.
//!
//! Declared next to the pallet so the runtime and any client (which calls it by name through
//! `state_call`, e.g. `BackupApi_candidate_providers`) share one definition. The returned
//! [`AssignmentInfo`] is a plain, non-generic-over-bounds form of the stored assignment so the API
//! stays stable when a runtime changes its `MaxProviders` or block-number type.

use alloc::vec::Vec;
use codec::{Codec, Decode, Encode};
use peerseal_primitives::Epoch;
use scale_info::TypeInfo;

/// A client's current backup assignment as served by [`BackupApi::assignment`].
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct AssignmentInfo<AccountId> {
    /// Key epoch of the backed-up database key.
    pub epoch: Epoch,
    /// Shares needed to recover.
    pub threshold: u8,
    /// Provider TSS accounts and the share index each one holds.
    pub providers: Vec<(AccountId, u8)>,
    /// The client's commitment to the key.
    pub commitment: [u8; 32],
    /// Block number at which the assignment was recorded (widened to `u64`).
    pub recorded_at: u64,
    /// A provider was removed since: the client should re-backup.
    pub stale: bool,
    /// Providers that confirmed storing their share at this epoch.
    pub confirmed_by: Vec<AccountId>,
}

sp_api::decl_runtime_apis! {
    /// Backup queries for TSS nodes.
    pub trait BackupApi<AccountId> where AccountId: Codec {
        /// The current assignment of `client`, or `None` if it never recorded one (or was
        /// removed from the registry).
        fn assignment(client: AccountId) -> Option<AssignmentInfo<AccountId>>;

        /// Active servers `client` may choose as providers at `epoch`, best first (rendezvous
        /// order), excluding `client` itself, leaving servers and providers that are full.
        fn candidate_providers(client: AccountId, epoch: Epoch) -> Vec<AccountId>;
    }
}
