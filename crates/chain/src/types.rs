//! The chain's data as plain Rust values: what the TSS node reads from the registry, the
//! attestation policy and the backup pallet, and the peerseal events of finalized blocks.
//! These types carry no FRAME or subxt types, so their users depend on neither.

/// An sr25519 public key, i.e. the 32 bytes of an `AccountId32` (one type with the protocol
/// and the daemon).
pub use peerseal_primitives::AccountId;

/// A block hash (blake2-256 of the SCALE header).
pub type BlockHash = [u8; 32];

/// Whether a registered server may still be chosen as a backup provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Registered and eligible as a provider.
    Active,
    /// Asked to leave: still serves what it holds, but is no longer chosen.
    Leaving,
}

/// A registered TSS server: the registry's `ServerInfo` with its stash and status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerRecord {
    /// The validator stash that registered the server.
    pub stash: AccountId,
    /// The server's TSS account (signs its transactions and protocol messages).
    pub tss_account: AccountId,
    /// The server's x25519 public key.
    pub x25519_public_key: [u8; 32],
    /// The server's libp2p peer id, binary form.
    pub peer_id: Vec<u8>,
    /// The server's binary multiaddrs.
    pub multiaddrs: Vec<Vec<u8>>,
    /// The TDX quote the server registered with.
    pub quote: Vec<u8>,
    /// Active or leaving.
    pub status: ServerState,
}

/// What pallet-attestation holds, for verifying quotes off chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationPolicy {
    /// Image measurements the chain accepts.
    pub accepted_measurements: Vec<peerseal_attestation::Measurement>,
    /// How PCKs are judged (Intel chain or dev allow-list).
    pub pck_mode: peerseal_attestation::PckMode,
    /// The dev allow-list of mock PCKs (used in `PckMode::Dev`).
    pub allowed_mock_pcks: Vec<peerseal_attestation::PckKey>,
}

/// pallet-backup's current record for a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Key epoch that is backed up.
    pub epoch: u64,
    /// Shares needed to recover.
    pub threshold: u8,
    /// (provider TSS account, share index).
    pub providers: Vec<(AccountId, u8)>,
    /// The client's commitment to the key.
    pub commitment: [u8; 32],
    /// A provider was removed since the record: the client should back up again.
    pub stale: bool,
}

/// One recovery operator of the chain's set (pallet-backup's `RecoveryOperator`).
#[derive(Clone, Debug, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct RecoveryOperator {
    /// The operator's account.
    pub account: AccountId,
    /// X25519 public key the node seals this operator's share to.
    pub x25519_public_key: [u8; 32],
}

/// The chain's recovery operator set (pallet-backup's `OperatorSet`, same SCALE encoding).
#[derive(Clone, Debug, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct RecoveryOperatorSet {
    /// Revision of the set, which sealed shares name.
    pub revision: u32,
    /// Operators' shares needed to recover a key.
    pub threshold: u8,
    /// The operators in share order (operator `i` holds share index `i + 1`).
    pub operators: Vec<RecoveryOperator>,
}

/// A node's database key of one epoch split threshold-of-m and sealed to the recovery operators
/// of one set (pallet-backup's `SealedRecovery`, same SCALE encoding): `shares[i]` is sealed to
/// operator `i`, share index `i + 1`.
#[derive(Clone, Debug, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct SealedRecovery {
    /// Revision of the operator set the shares are sealed to.
    pub operator_set: u32,
    /// One sealed share per operator, in the set's order.
    pub shares: Vec<Vec<u8>>,
}

/// A client's recorded recovery shares (pallet-backup's `RecordedRecovery` in
/// `Backup.RecoveryShares`, same SCALE encoding).
#[derive(Clone, Debug, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct RecordedRecovery {
    /// Key epoch the shares split.
    pub epoch: u64,
    /// The sealed shares and the operator set they are sealed to.
    pub sealed: SealedRecovery,
}

/// A peerseal event of a finalized block. Events of other pallets, and peerseal events the
/// TSS node does not act on, are left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainEvent {
    /// `provider` started to leave; `clients` should move their backups.
    ProviderLeaving {
        /// The leaving provider's TSS account.
        provider: AccountId,
        /// Clients whose current assignment names it.
        clients: Vec<AccountId>,
    },
    /// `provider` was removed; the assignments of `clients` are stale.
    ProviderLeft {
        /// The removed provider's TSS account.
        provider: AccountId,
        /// Clients whose current assignment named it.
        clients: Vec<AccountId>,
    },
    /// `client` recorded a new assignment at `epoch`.
    BackupRecorded {
        /// The client's TSS account.
        client: AccountId,
        /// The recorded epoch.
        epoch: u64,
    },
    /// `provider` confirmed it stores `client`'s share at `epoch`.
    BackupConfirmed {
        /// The client's TSS account.
        client: AccountId,
        /// The confirming provider's TSS account.
        provider: AccountId,
        /// The confirmed epoch.
        epoch: u64,
    },
    /// Audit record: `client` recovered its key at `epoch` with `provider`'s help.
    KeyRecovered {
        /// The client's TSS account.
        client: AccountId,
        /// The provider's TSS account.
        provider: AccountId,
        /// The recovered epoch.
        epoch: u64,
    },
    /// Audit record: `client` opened its store at `epoch` with its recovery operators' shares
    /// (sealed to operator set `operator_set`): a cold start.
    RecoveredByOperators {
        /// The client's TSS account.
        client: AccountId,
        /// The recovered epoch.
        epoch: u64,
        /// Revision of the operator set whose shares were used.
        operator_set: u32,
    },
    /// A server was registered.
    ServerRegistered {
        /// Its stash.
        stash: AccountId,
        /// Its TSS account.
        tss_account: AccountId,
    },
    /// A server was removed (left after its delay, or by governance).
    ServerRemoved {
        /// Its stash.
        stash: AccountId,
        /// Its TSS account.
        tss_account: AccountId,
    },
    /// A server started to leave.
    ServerLeaving {
        /// Its stash.
        stash: AccountId,
        /// Its TSS account.
        tss_account: AccountId,
    },
}

/// A finalized block with its decoded peerseal events, in block order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalizedBlock {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: BlockHash,
    /// Decoded peerseal events, in the order the block emitted them.
    pub events: Vec<ChainEvent>,
}

/// `Attestation.PendingNonces` of a stash: the nonce the chain issued it for a TSS account's
/// next quote, usable up to and including block `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct PendingNonce {
    /// The TSS account the nonce was requested for.
    pub tss_account: AccountId,
    /// The nonce.
    pub nonce: [u8; 32],
    /// The last block it may be used in.
    pub expires_at: u32,
}
