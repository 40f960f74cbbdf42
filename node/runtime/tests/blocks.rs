//! The runtime executed natively, block by block, the way the dev node drives it.
//!
//! Genesis comes from the `development` preset; each block is `initialize_block` → timestamp
//! inherent → signed extrinsics (built with the runtime's real `UncheckedExtrinsic` and
//! `TxExtension`, signed with sr25519 dev keys against the real genesis hash) →
//! `finalize_block`, inside `sp_io::TestExternalities`. Runtime APIs are called through the
//! generated `api::dispatch`, as a node's `state_call` would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use codec::{Decode, Encode};
use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed};
use pallet_backup::runtime_api::AssignmentInfo;
use pallet_registry::ServerInfo;
use peerseal_attestation::{report_data, Binding, MockQuoteProvider, QuoteContext};
use peerseal_devkeys::DevIdentity;
use peerseal_primitives::ServerStatus;
use peerseal_runtime::{
    api, genesis, AccountId, Block, Executive, Header, Runtime, RuntimeCall, RuntimeEvent,
    SignedPayload, TxExtension, UncheckedExtrinsic, UNIT, VERSION,
};
use sp_core::{sr25519, Pair, H256};
use sp_runtime::{
    generic::Era,
    traits::{BlakeTwo256, Hash as _, Header as _},
    transaction_validity::{
        InvalidTransaction, TransactionSource, TransactionValidity, TransactionValidityError,
    },
    ApplyExtrinsicResult, DispatchError, MultiAddress, MultiSignature, StateVersion,
};

type System = frame_system::Pallet<Runtime>;

/// A natively executed dev chain: externalities plus the head the next block builds on.
struct Chain {
    ext: sp_io::TestExternalities,
    genesis_hash: H256,
    head: Header,
    now: u64,
}

impl Chain {
    /// Genesis from the dev preset, with `BlockHash[0]` set to the real genesis hash as a node
    /// must (frame-system's genesis writes a placeholder there).
    fn dev() -> Self {
        let storage = genesis::dev_genesis_storage().unwrap();
        let mut ext = sp_io::TestExternalities::new(storage);
        let head = ext.execute_with(|| {
            let state_root =
                H256::decode(&mut &sp_io::storage::root(StateVersion::V1)[..]).unwrap();
            let extrinsics_root = BlakeTwo256::ordered_trie_root(Vec::new(), StateVersion::V1);
            Header::new(0, extrinsics_root, state_root, H256::zero(), Default::default())
        });
        let genesis_hash = head.hash();
        ext.execute_with(|| frame_system::BlockHash::<Runtime>::insert(0, genesis_hash));
        Chain { ext, genesis_hash, head, now: 1_700_000_000_000 }
    }

    /// Builds, applies and finalizes one block; returns the block and each extrinsic's result.
    fn block(&mut self, extrinsics: Vec<UncheckedExtrinsic>) -> (Block, Vec<ApplyExtrinsicResult>) {
        self.now += 1_000;
        let parent = self.head.hash();
        let number = self.head.number + 1;
        let now = self.now;
        let (header, applied, results) = self.ext.execute_with(|| {
            let header =
                Header::new(number, H256::zero(), H256::zero(), parent, Default::default());
            Executive::initialize_block(&header);
            let timestamp =
                UncheckedExtrinsic::new_bare(RuntimeCall::Timestamp(pallet_timestamp::Call::set {
                    now,
                }));
            assert_eq!(Executive::apply_extrinsic(timestamp.clone()), Ok(Ok(())));
            let mut applied = vec![timestamp];
            let mut results = Vec::new();
            for xt in extrinsics {
                let result = Executive::apply_extrinsic(xt.clone());
                // Transactions that are invalid are not included, as a block builder would.
                if result.is_ok() {
                    applied.push(xt);
                }
                results.push(result);
            }
            (Executive::finalize_block(), applied, results)
        });
        self.head = header.clone();
        (Block { header, extrinsics: applied }, results)
    }

    fn with<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.ext.execute_with(f)
    }

    /// Calls a runtime API by name, as `state_call` does: on the current state, with every
    /// change it makes discarded (validation, for one, initializes a block to check against).
    fn call(&mut self, method: &str, args: &[u8]) -> Vec<u8> {
        self.ext
            .execute_with(|| {
                sp_io::storage::start_transaction();
                let out = api::dispatch(method, args);
                sp_io::storage::rollback_transaction();
                out
            })
            .unwrap_or_else(|| panic!("runtime API {method} not found"))
    }

    /// Calls a runtime API that changes state (block execution) and keeps its changes.
    fn call_mut(&mut self, method: &str, args: &[u8]) -> Vec<u8> {
        self.ext
            .execute_with(|| api::dispatch(method, args))
            .unwrap_or_else(|| panic!("runtime API {method} not found"))
    }

    /// A signed transaction from `signer` with its next nonce, signed the way generic clients
    /// sign: immortal era, no tip, implicit data from the runtime version and genesis hash.
    fn sign(&mut self, signer: &sr25519::Pair, call: RuntimeCall) -> UncheckedExtrinsic {
        let who = AccountId::from(signer.public());
        let nonce: u32 =
            Decode::decode(&mut &self.call("AccountNonceApi_account_nonce", &who.encode())[..])
                .unwrap();
        sign_with_nonce(signer, call, nonce, self.genesis_hash)
    }

    fn validate(&mut self, xt: &UncheckedExtrinsic) -> TransactionValidity {
        let args = (TransactionSource::External, xt.clone(), self.head.hash()).encode();
        Decode::decode(&mut &self.call("TaggedTransactionQueue_validate_transaction", &args)[..])
            .unwrap()
    }

    fn events(&mut self) -> Vec<RuntimeEvent> {
        self.with(|| System::events().into_iter().map(|r| r.event).collect())
    }
}

fn sign_with_nonce(
    signer: &sr25519::Pair,
    call: RuntimeCall,
    nonce: u32,
    genesis_hash: H256,
) -> UncheckedExtrinsic {
    let extension: TxExtension = (
        frame_system::CheckNonZeroSender::new(),
        frame_system::CheckSpecVersion::new(),
        frame_system::CheckTxVersion::new(),
        frame_system::CheckGenesis::new(),
        frame_system::CheckEra::from(Era::Immortal),
        frame_system::CheckNonce::from(nonce),
        frame_system::CheckWeight::new(),
        pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0).into(),
    );
    // The implicit data every client computes itself: no chain access needed.
    let implicit = (
        (),
        VERSION.spec_version,
        VERSION.transaction_version,
        genesis_hash,
        genesis_hash,
        (),
        (),
        (),
    );
    let payload = SignedPayload::from_raw(call.clone(), extension.clone(), implicit);
    let signature = payload.using_encoded(|bytes| signer.sign(bytes));
    UncheckedExtrinsic::new_signed(
        call,
        MultiAddress::Id(AccountId::from(signer.public())),
        MultiSignature::Sr25519(signature),
        extension,
    )
}

fn pair(uri: &str) -> sr25519::Pair {
    sr25519::Pair::from_string(uri, None).unwrap()
}

fn dev(name: &str) -> DevIdentity {
    peerseal_devkeys::dev_identity(name).unwrap()
}

fn tss(name: &str) -> AccountId {
    AccountId::from(dev(name).tss_account)
}

fn stash(name: &str) -> AccountId {
    AccountId::from(dev(name).stash_account)
}

fn free_balance(chain: &mut Chain, who: &AccountId) -> u128 {
    chain.with(|| pallet_balances::Pallet::<Runtime>::free_balance(who))
}

fn record_backup_call(epoch: u64, providers: &[(AccountId, u8)]) -> RuntimeCall {
    RuntimeCall::Backup(pallet_backup::Call::record_backup {
        epoch,
        threshold: 2,
        providers: providers.to_vec().try_into().unwrap(),
        commitment: [0xC0; 32],
        recovery: None,
    })
}

// ---------------------------------------------------------------------------------------------

#[test]
fn dev_genesis_is_deterministic_and_preregisters_dev_servers() {
    let first = genesis::dev_genesis_json().unwrap();
    assert_eq!(first, genesis::dev_genesis_json().unwrap(), "dev genesis must be deterministic");

    let mut chain = Chain::dev();
    // The preset served through the runtime API is the same JSON.
    let preset: Option<Vec<u8>> = Decode::decode(
        &mut &chain.call(
            "GenesisBuilder_get_preset",
            &Some(genesis::DEV_RUNTIME_PRESET.to_string()).encode(),
        )[..],
    )
    .unwrap();
    assert_eq!(preset.as_deref(), Some(&first[..]));
    let names: Vec<String> =
        Decode::decode(&mut &chain.call("GenesisBuilder_preset_names", &[])[..]).unwrap();
    assert_eq!(
        names,
        vec![
            genesis::DEV_RUNTIME_PRESET.to_string(),
            genesis::LOCAL_TESTNET_RUNTIME_PRESET.to_string()
        ]
    );

    chain.with(|| {
        for name in ["alice", "bob", "charlie", "dave"] {
            let id = dev(name);
            let tss_account = AccountId::from(id.tss_account);
            let info: ServerInfo<AccountId> =
                pallet_registry::Servers::<Runtime>::get(stash(name)).unwrap();
            assert_eq!(info.tss_account, tss_account);
            assert_eq!(info.x25519_public_key, id.x25519_public);
            assert_eq!(info.peer_id.to_vec(), id.peer_id);
            assert_eq!(
                info.multiaddrs.iter().map(|m| m.to_vec()).collect::<Vec<_>>(),
                vec![genesis::loopback_multiaddr(id.p2p_port, &id.peer_id)]
            );
            assert_eq!(info.quote.to_vec(), peerseal_devkeys::dev_registration_quote(&id));
            assert_eq!(
                pallet_registry::ServerStatusOf::<Runtime>::get(&tss_account),
                Some(ServerStatus::Active)
            );
            // TSS accounts exist through a sufficient reference, without funds.
            let account = System::account(&tss_account);
            assert_eq!((account.sufficients, account.data.free), (1, 0));
        }
        for name in ["eve", "ferdie"] {
            assert!(pallet_registry::Servers::<Runtime>::get(stash(name)).is_none());
        }
        for name in genesis::DEV_ACCOUNTS {
            assert_eq!(
                pallet_balances::Pallet::<Runtime>::free_balance(stash(name)),
                genesis::DEV_ENDOWMENT
            );
        }
        // The dev accounts are the well-known Substrate dev accounts.
        assert_eq!(stash("alice"), sp_keyring::Sr25519Keyring::Alice.to_account_id());
        assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(stash("alice")));
        let (measurements, mode, pcks) = pallet_attestation::Pallet::<Runtime>::policy_snapshot();
        assert_eq!(measurements, vec![peerseal_attestation::mock_measurement()]);
        assert_eq!(mode, peerseal_attestation::PckMode::Dev);
        assert_eq!(
            pcks,
            vec![peerseal_attestation::mock_pck_key(&peerseal_attestation::DEV_MOCK_PCK_SEED)]
        );
        assert_eq!(
            pallet_backup::Pallet::<Runtime>::candidate_providers(&tss("alice"), 0).len(),
            3
        );
    });

    // Building state from the preset JSON (what a node does with a chain spec) gives exactly
    // the same genesis state as building it from the config struct.
    let mut from_json = sp_io::TestExternalities::new_empty();
    let built: Result<(), String> = from_json
        .execute_with(|| api::dispatch("GenesisBuilder_build_state", &first.encode()))
        .map(|out| Decode::decode(&mut &out[..]).unwrap())
        .unwrap();
    assert_eq!(built, Ok(()));
    let mut from_struct = sp_io::TestExternalities::new(genesis::dev_genesis_storage().unwrap());
    let root = |ext: &mut sp_io::TestExternalities| {
        ext.execute_with(|| sp_io::storage::root(StateVersion::V1))
    };
    assert_eq!(root(&mut from_json), root(&mut from_struct));
}

#[test]
fn loopback_multiaddr_has_the_binary_multiaddr_layout() {
    let peer_id = dev("alice").peer_id;
    let bytes = genesis::loopback_multiaddr(30401, &peer_id);
    let mut expected = vec![0x04, 127, 0, 0, 1, 0x06, 0x76, 0xC1, 0xA5, 0x03];
    expected.push(peer_id.len() as u8);
    expected.extend_from_slice(&peer_id);
    assert_eq!(bytes, expected);
    // An ed25519 peer id is an identity multihash of the 36-byte protobuf public key.
    assert_eq!(&peer_id[..6], &[0x00, 0x24, 0x08, 0x01, 0x12, 0x20]);
}

#[test]
fn core_version_and_metadata_dispatch() {
    let mut chain = Chain::dev();
    let version: sp_version::RuntimeVersion =
        Decode::decode(&mut &chain.call("Core_version", &[])[..]).unwrap();
    assert_eq!(version.spec_name, "peerseal");
    assert_eq!(version.spec_version, VERSION.spec_version);
    for api_name in [
        "Core",
        "Metadata",
        "BlockBuilder",
        "TaggedTransactionQueue",
        "AccountNonceApi",
        "TransactionPaymentApi",
        "GenesisBuilder",
        "BackupApi",
    ] {
        let id = sp_crypto_hashing::blake2_64(api_name.as_bytes());
        assert!(version.apis.iter().any(|(a, _)| *a == id), "{api_name} missing from version");
    }

    let opaque: Vec<u8> = Decode::decode(&mut &chain.call("Metadata_metadata", &[])[..]).unwrap();
    let metadata = RuntimeMetadataPrefixed::decode(&mut &opaque[..]).unwrap();
    assert_eq!(metadata.0, frame_metadata::META_RESERVED);

    let versions: Vec<u32> =
        Decode::decode(&mut &chain.call("Metadata_metadata_versions", &[])[..]).unwrap();
    assert!(versions.contains(&14) && versions.contains(&15), "{versions:?}");
    let v15: Option<Vec<u8>> =
        Decode::decode(&mut &chain.call("Metadata_metadata_at_version", &15u32.encode())[..])
            .unwrap();
    let RuntimeMetadataPrefixed(_, RuntimeMetadata::V15(v15)) =
        RuntimeMetadataPrefixed::decode(&mut &v15.unwrap()[..]).unwrap()
    else {
        panic!("metadata_at_version(15) is not V15");
    };
    // The extension list generic clients read: standard identifiers in the standard order. The
    // feeless wrapper is invisible: it reports itself as ChargeTransactionPayment.
    let identifiers: Vec<&str> =
        v15.extrinsic.signed_extensions.iter().map(|e| e.identifier.as_str()).collect();
    assert_eq!(
        identifiers,
        [
            "CheckNonZeroSender",
            "CheckSpecVersion",
            "CheckTxVersion",
            "CheckGenesis",
            "CheckMortality",
            "CheckNonce",
            "CheckWeight",
            "ChargeTransactionPayment",
        ]
    );
    let payment = v15.extrinsic.signed_extensions.last().unwrap();
    let ty = v15.types.resolve(payment.ty.id).unwrap();
    assert_eq!(ty.path.segments.last().map(String::as_str), Some("ChargeTransactionPayment"));
    // And its encoding is ChargeTransactionPayment's (a compact tip).
    let wrapped: pallet_skip_feeless_payment::SkipCheckIfFeeless<Runtime, _> =
        pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(5).into();
    assert_eq!(
        wrapped.encode(),
        pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(5).encode()
    );

    let pallets: Vec<&str> = v15.pallets.iter().map(|p| p.name.as_str()).collect();
    for name in ["System", "Timestamp", "Balances", "Sudo", "Attestation", "Registry", "Backup"] {
        assert!(pallets.contains(&name), "{name} missing from metadata: {pallets:?}");
    }
    assert!(v15.apis.iter().any(|a| a.name == "BackupApi"));
}

#[test]
fn produced_blocks_re_execute_to_the_same_state() {
    let mut producer = Chain::dev();
    let alice = pair("//Alice");
    let transfer = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
        dest: MultiAddress::Id(stash("ferdie")),
        value: 5 * UNIT,
    });
    let xt = producer.sign(&alice, transfer);
    let (block, results) = producer.block(vec![xt]);
    assert_eq!(results, vec![Ok(Ok(()))]);

    // An independent importer with the same genesis executes the block: `execute_block`
    // checks the header's state and extrinsics roots against its own execution.
    let mut importer = Chain::dev();
    assert_eq!(importer.genesis_hash, producer.genesis_hash);
    importer.call_mut("Core_execute_block", &block.encode());
    let root = |c: &mut Chain| c.with(|| sp_io::storage::root(StateVersion::V1));
    assert_eq!(root(&mut importer), root(&mut producer));
    assert_eq!(free_balance(&mut importer, &stash("ferdie")), genesis::DEV_ENDOWMENT + 5 * UNIT);
}

/// Eve's server info with `quote`.
fn eve_server_info(quote: Vec<u8>) -> ServerInfo<AccountId> {
    let eve = dev("eve");
    ServerInfo::<AccountId> {
        tss_account: tss("eve"),
        x25519_public_key: eve.x25519_public,
        peer_id: eve.peer_id.clone().try_into().unwrap(),
        multiaddrs: vec![genesis::loopback_multiaddr(eve.p2p_port, &eve.peer_id)
            .try_into()
            .unwrap()]
        .try_into()
        .unwrap(),
        quote: quote.try_into().unwrap(),
    }
}

/// The mock quote Eve's TEE, configured for Eve's stash, makes over `nonce`.
fn eve_register_quote(nonce: &[u8; 32]) -> Vec<u8> {
    let eve = dev("eve");
    MockQuoteProvider::from_seed(peerseal_attestation::DEV_MOCK_PCK_SEED).mock_quote(&report_data(
        &Binding {
            context: QuoteContext::Register,
            account: &eve.tss_account,
            public_key: &eve.x25519_public,
            stash: Some(&eve.stash_account),
            peer_id: Some(&eve.peer_id),
            nonce,
        },
    ))
}

fn register_call(info: ServerInfo<AccountId>) -> RuntimeCall {
    RuntimeCall::Registry(pallet_registry::Call::register { server_info: info })
}

/// The nonce the last block issued to `stash` for `tss_account`, read from its events as the
/// TSS node reads it.
fn issued_nonce(chain: &mut Chain, stash_account: &AccountId, tss_account: &AccountId) -> [u8; 32] {
    chain
        .events()
        .into_iter()
        .find_map(|e| match e {
            RuntimeEvent::Attestation(pallet_attestation::Event::AttestationRequested {
                stash,
                tss_account: account,
                nonce,
                ..
            }) if stash == *stash_account && account == *tss_account => Some(nonce),
            _ => None,
        })
        .expect("AttestationRequested event")
}

fn request_attestation_call(tss_account: AccountId) -> RuntimeCall {
    RuntimeCall::Attestation(pallet_attestation::Call::request_attestation { tss_account })
}

#[test]
fn register_backup_and_remove_provider_end_to_end() {
    let mut chain = Chain::dev();
    let eve = dev("eve");
    let eve_stash = pair(&eve.stash_uri);
    let alice_tss = pair(&dev("alice").tss_uri);
    let bob_tss = pair(&dev("bob").tss_uri);

    // Eve's new TSS account is never funded and signs nothing before it is registered.
    chain.with(|| assert!(!System::account_exists(&tss("eve"))));

    // Block 1: Eve's stash asks for an attestation nonce for its TSS account; the TSS node
    // reads it from the events.
    let request = chain.sign(&eve_stash, request_attestation_call(tss("eve")));
    let (_, results) = chain.block(vec![request]);
    assert_eq!(results, vec![Ok(Ok(()))]);
    let nonce = issued_nonce(&mut chain, &stash("eve"), &tss("eve"));
    chain.with(|| assert!(!System::account_exists(&tss("eve"))));

    // Block 2: Eve's stash registers; first with a quote bound to the wrong (zero) nonce, which
    // is rejected, then with a mock quote bound to the issued nonce and Eve's stash.
    let stale_quote = peerseal_devkeys::dev_registration_quote(&eve);
    let bad = chain.sign(&eve_stash, register_call(eve_server_info(stale_quote)));
    let good = sign_with_nonce(
        &eve_stash,
        register_call(eve_server_info(eve_register_quote(&nonce))),
        2,
        chain.genesis_hash,
    );
    let (_, results) = chain.block(vec![bad, good]);
    assert!(matches!(results[0], Ok(Err(DispatchError::Module(_)))), "{:?}", results[0]);
    assert_eq!(results[1], Ok(Ok(())));
    assert!(chain.events().iter().any(|e| matches!(
        e,
        RuntimeEvent::Registry(pallet_registry::Event::ServerRegistered { tss_account, .. })
            if *tss_account == tss("eve")
    )));
    chain.with(|| {
        let account = System::account(tss("eve"));
        assert_eq!((account.nonce, account.sufficients, account.data.free), (0, 1, 0));
    });

    // Block 3: Alice's TSS account, which owns nothing, records a backup (feeless), and Bob's
    // TSS account confirms its share (feeless too).
    assert_eq!(free_balance(&mut chain, &tss("alice")), 0);
    let providers = [(tss("bob"), 1), (tss("charlie"), 2), (tss("eve"), 3)];
    let record = chain.sign(&alice_tss, record_backup_call(1, &providers));
    assert!(chain.validate(&record).is_ok(), "feeless backup must enter the pool");
    // The same account with a call that would fail is not feeless, so it cannot pay and is
    // rejected from the pool.
    let self_provider = chain.sign(&alice_tss, record_backup_call(1, &[(tss("alice"), 1)]));
    assert_eq!(
        chain.validate(&self_provider),
        Err(TransactionValidityError::Invalid(InvalidTransaction::Payment))
    );
    let confirm = sign_with_nonce(
        &bob_tss,
        RuntimeCall::Backup(pallet_backup::Call::confirm_backup { client: tss("alice"), epoch: 1 }),
        0,
        chain.genesis_hash,
    );
    let (_, results) = chain.block(vec![record, confirm]);
    assert_eq!(results, vec![Ok(Ok(())), Ok(Ok(()))]);
    assert_eq!(free_balance(&mut chain, &tss("alice")), 0, "no fee was charged");
    let events = chain.events();
    assert!(events.iter().any(|e| matches!(
        e,
        RuntimeEvent::Backup(pallet_backup::Event::BackupRecorded { client, epoch: 1, .. })
            if *client == tss("alice")
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        RuntimeEvent::SkipFeelessPayment(pallet_skip_feeless_payment::Event::FeeSkipped { .. })
    )));
    let nonce: u32 = Decode::decode(
        &mut &chain.call("AccountNonceApi_account_nonce", &tss("alice").encode())[..],
    )
    .unwrap();
    assert_eq!(nonce, 1);

    // The backup runtime API serves the assignment and the candidate order.
    let info: Option<AssignmentInfo<AccountId>> =
        Decode::decode(&mut &chain.call("BackupApi_assignment", &tss("alice").encode())[..])
            .unwrap();
    let info = info.expect("assignment recorded");
    assert_eq!((info.epoch, info.threshold, info.stale), (1, 2, false));
    assert_eq!(info.providers, providers.to_vec());
    assert_eq!(info.confirmed_by, vec![tss("bob")]);
    assert_eq!(info.recorded_at, 3);
    let candidates: Vec<AccountId> = Decode::decode(
        &mut &chain.call("BackupApi_candidate_providers", &(tss("alice"), 2u64).encode())[..],
    )
    .unwrap();
    // Exactly the rendezvous order a TSS node computes off chain over the raw account bytes.
    let others: Vec<[u8; 32]> =
        ["bob", "charlie", "dave", "eve"].iter().map(|n| dev(n).tss_account).collect();
    let expected: Vec<AccountId> =
        peerseal_primitives::rendezvous::order(&dev("alice").tss_account, &others, 2)
            .into_iter()
            .map(AccountId::from)
            .collect();
    assert_eq!(candidates, expected, "every other active server, in rendezvous order");

    // Block 4: Charlie's validator starts leaving; governance (sudo) removes Eve's server.
    let leave = chain.sign(
        &pair(&dev("charlie").stash_uri),
        RuntimeCall::Registry(pallet_registry::Call::leave {}),
    );
    let remove = chain.sign(
        &pair("//Alice"),
        RuntimeCall::Sudo(pallet_sudo::Call::sudo {
            call: Box::new(RuntimeCall::Registry(pallet_registry::Call::remove {
                stash: stash("eve"),
            })),
        }),
    );
    let (_, results) = chain.block(vec![leave, remove]);
    assert_eq!(results, vec![Ok(Ok(())), Ok(Ok(()))]);
    let events = chain.events();
    assert!(events.iter().any(|e| matches!(
        e,
        RuntimeEvent::Sudo(pallet_sudo::Event::Sudid { sudo_result: Ok(()) })
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        RuntimeEvent::Backup(pallet_backup::Event::ProviderLeaving { provider, clients })
            if *provider == tss("charlie") && *clients == vec![tss("alice")]
    )));
    assert!(
        events.iter().any(|e| matches!(
            e,
            RuntimeEvent::Backup(pallet_backup::Event::ProviderLeft { provider, clients })
                if *provider == tss("eve") && *clients == vec![tss("alice")]
        )),
        "ProviderLeft naming the client expected in {events:#?}"
    );
    chain.with(|| {
        assert!(pallet_backup::Pallet::<Runtime>::assignment_of(&tss("alice")).unwrap().stale);
        assert!(pallet_registry::Servers::<Runtime>::get(stash("eve")).is_none());
        assert_eq!(System::account(tss("eve")).sufficients, 0);
    });
    // Leaving and removed servers are no longer candidates.
    let candidates: Vec<AccountId> = Decode::decode(
        &mut &chain.call("BackupApi_candidate_providers", &(tss("alice"), 2u64).encode())[..],
    )
    .unwrap();
    let mut sorted = candidates;
    sorted.sort();
    let mut expected = vec![tss("bob"), tss("dave")];
    expected.sort();
    assert_eq!(sorted, expected);

    // Block 5: Alice re-backs up away from the lost provider, still without funds.
    let rebackup =
        chain.sign(&alice_tss, record_backup_call(2, &[(tss("bob"), 1), (tss("dave"), 2)]));
    let (_, results) = chain.block(vec![rebackup]);
    assert_eq!(results, vec![Ok(Ok(()))]);
    chain.with(|| {
        let assignment = pallet_backup::Pallet::<Runtime>::assignment_of(&tss("alice")).unwrap();
        assert_eq!((assignment.epoch, assignment.stale), (2, false));
        assert_eq!(pallet_backup::Pallet::<Runtime>::clients_of(&tss("charlie")), vec![]);
    });
    assert_eq!(free_balance(&mut chain, &tss("alice")), 0);
}

#[test]
fn register_copied_by_another_stash_fails_and_the_honest_one_lands() {
    let mut chain = Chain::dev();
    let eve_stash = pair(&dev("eve").stash_uri);
    let ferdie_stash = pair(&dev("ferdie").stash_uri);

    // Block 1: Eve's stash asks for a nonce for Eve's (unfunded) TSS account.
    let request = chain.sign(&eve_stash, request_attestation_call(tss("eve")));
    assert_eq!(chain.block(vec![request]).1, vec![Ok(Ok(()))]);
    let nonce = issued_nonce(&mut chain, &stash("eve"), &tss("eve"));

    // Block 2: Ferdie saw Eve's `register` in the pool and sends the same call from his own
    // stash, ahead of Eve's. Then he asks for a nonce of his own for Eve's TSS account and
    // tries again. Both copies fail; Eve's original registers her server.
    let honest = register_call(eve_server_info(eve_register_quote(&nonce)));
    let copy = chain.sign(&ferdie_stash, honest.clone());
    let ferdie_request =
        sign_with_nonce(&ferdie_stash, request_attestation_call(tss("eve")), 1, chain.genesis_hash);
    let copy_again = sign_with_nonce(&ferdie_stash, honest.clone(), 2, chain.genesis_hash);
    let original = chain.sign(&eve_stash, honest);
    let (_, results) = chain.block(vec![copy, ferdie_request, copy_again, original]);
    assert_eq!(
        results,
        vec![
            Ok(Err(pallet_attestation::Error::<Runtime>::NoPendingNonce.into())),
            Ok(Ok(())),
            Ok(Err(pallet_attestation::Error::<Runtime>::QuoteNonceMismatch.into())),
            Ok(Ok(())),
        ]
    );
    chain.with(|| {
        assert!(pallet_registry::Servers::<Runtime>::get(stash("ferdie")).is_none());
        assert_eq!(
            pallet_registry::StashOf::<Runtime>::get(tss("eve")),
            Some(stash("eve")),
            "the server belongs to the stash that requested its nonce"
        );
    });
}

#[test]
fn registry_weights_include_the_backup_hooks() {
    use frame_support::{dispatch::GetDispatchInfo, weights::Weight};
    use pallet_backup::WeightInfo as _;
    use peerseal_primitives::OnServerChange;
    type BackupWeights = pallet_backup::weights::SubstrateWeight<Runtime>;
    type Listener = <Runtime as pallet_registry::Config>::OnServerChange;

    // The backup pallet states its worst case for the runtime's bounds (256 clients per
    // provider, 16 providers per assignment) ...
    let removed = <Listener as OnServerChange<AccountId>>::removed_weight();
    let worst_removal = BackupWeights::on_server_removed(256, 16);
    assert_eq!(Weight::from_parts(removed.ref_time, removed.proof_size), worst_removal);
    let leaving = <Listener as OnServerChange<AccountId>>::leaving_weight();
    let worst_leaving = BackupWeights::on_provider_leaving(256);
    assert_eq!(Weight::from_parts(leaving.ref_time, leaving.proof_size), worst_leaving);

    // ... and every registry call that notifies it charges that much on top of its own work.
    let weight = |call: pallet_registry::Call<Runtime>| {
        RuntimeCall::Registry(call).get_dispatch_info().call_weight
    };
    let own =
        <<Runtime as pallet_registry::Config>::WeightInfo as pallet_registry::WeightInfo>::remove();
    let remove = weight(pallet_registry::Call::remove { stash: stash("eve") });
    assert!(remove.all_gte(own.saturating_add(worst_removal)), "{remove:?}");
    let purge = weight(pallet_registry::Call::purge_left { stash: stash("eve") });
    assert!(purge.all_gte(worst_removal));
    assert!(weight(pallet_registry::Call::leave {}).all_gte(worst_leaving));
    let change = weight(pallet_registry::Call::change_server_info {
        server_info: eve_server_info(Vec::new()),
    });
    assert!(change.all_gte(worst_removal));
}

#[test]
fn fees_are_charged_for_ordinary_transactions() {
    let mut chain = Chain::dev();
    let bob = pair("//Bob");
    let transfer = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
        dest: MultiAddress::Id(stash("ferdie")),
        value: UNIT,
    });
    let xt = chain.sign(&bob, transfer);
    let info: pallet_transaction_payment::RuntimeDispatchInfo<u128> = Decode::decode(
        &mut &chain.call(
            "TransactionPaymentApi_query_info",
            &(xt.clone(), xt.encoded_size() as u32).encode(),
        )[..],
    )
    .unwrap();
    assert!(info.partial_fee > 0);
    let (_, results) = chain.block(vec![xt]);
    assert_eq!(results, vec![Ok(Ok(()))]);
    assert_eq!(
        free_balance(&mut chain, &stash("bob")),
        genesis::DEV_ENDOWMENT - UNIT - info.partial_fee
    );

    // An unfunded account that is not a registered server cannot transact at all.
    let nobody = pair("//Nobody");
    let xt =
        chain.sign(&nobody, RuntimeCall::System(frame_system::Call::remark { remark: vec![] }));
    assert_eq!(
        chain.validate(&xt),
        Err(TransactionValidityError::Invalid(InvalidTransaction::Payment))
    );
}

fn grandpa_authorities(chain: &mut Chain) -> sp_consensus_grandpa::AuthorityList {
    Decode::decode(&mut &chain.call("GrandpaApi_grandpa_authorities", &[])[..]).unwrap()
}

fn grandpa_set_id(chain: &mut Chain) -> u64 {
    Decode::decode(&mut &chain.call("GrandpaApi_current_set_id", &[])[..]).unwrap()
}

fn grandpa_changes(header: &Header) -> Vec<sp_consensus_grandpa::ConsensusLog<u32>> {
    header
        .digest
        .logs
        .iter()
        .filter_map(|item| match item {
            sp_runtime::DigestItem::Consensus(id, data)
                if *id == sp_consensus_grandpa::GRANDPA_ENGINE_ID =>
            {
                Some(Decode::decode(&mut &data[..]).unwrap())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn grandpa_api_answers_for_the_dev_genesis() {
    use sp_keyring::Ed25519Keyring::Alice;
    let mut chain = Chain::dev();
    let set = grandpa_authorities(&mut chain);
    assert_eq!(set, genesis::dev_grandpa_authorities());
    assert_eq!(set, vec![(Alice.public().into(), 1)]);
    assert_eq!(grandpa_set_id(&mut chain), 0);
    // Equivocation reporting and key-ownership proofs are disabled.
    let proof: Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> = Decode::decode(
        &mut &chain.call(
            "GrandpaApi_generate_key_ownership_proof",
            &(0u64, sp_consensus_grandpa::AuthorityId::from(Alice.public())).encode(),
        )[..],
    )
    .unwrap();
    assert!(proof.is_none());
    // The API is listed in the runtime version, so clients can feature-detect it.
    let grandpa_api_id = sp_crypto_hashing::blake2_64(b"GrandpaApi");
    assert!(VERSION.apis.iter().any(|(id, version)| *id == grandpa_api_id && *version == 3));
    // Blocks without a change carry no GRANDPA digest.
    let (block, _) = chain.block(Vec::new());
    assert!(grandpa_changes(&block.header).is_empty());
}

#[test]
fn sudo_schedules_an_authority_set_change_enacted_after_the_delay() {
    use sp_keyring::Ed25519Keyring::{Alice, Bob, Charlie};
    let mut chain = Chain::dev();
    let next: sp_consensus_grandpa::AuthorityList =
        vec![(Bob.public().into(), 1), (Charlie.public().into(), 1)];
    let schedule =
        RuntimeCall::FinalityAuthorities(pallet_finality_authorities::Call::schedule_change {
            next_authorities: next.clone().try_into().unwrap(),
            delay: 2,
        });
    // Only governance: Bob is not the sudo key, and the call itself wants root.
    let not_sudo = chain.sign(
        &pair("//Bob"),
        RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(schedule.clone()) }),
    );
    let direct = chain.sign(&pair("//Alice"), schedule.clone());
    let (block, results) = chain.block(vec![not_sudo, direct]);
    assert!(results.iter().all(|r| matches!(r, Ok(Err(_)))), "{results:?}");
    assert!(grandpa_changes(&block.header).is_empty());

    let xt = chain.sign(
        &pair("//Alice"),
        RuntimeCall::Sudo(pallet_sudo::Call::sudo { call: Box::new(schedule) }),
    );
    let (b, results) = chain.block(vec![xt]);
    assert_eq!(results, vec![Ok(Ok(()))]);
    assert!(chain.events().iter().any(|e| matches!(
        e,
        RuntimeEvent::Sudo(pallet_sudo::Event::Sudid { sudo_result: Ok(()) })
    )));
    assert_eq!(
        grandpa_changes(&b.header),
        vec![sp_consensus_grandpa::ConsensusLog::ScheduledChange(
            sp_consensus_grandpa::ScheduledChange { next_authorities: next.clone(), delay: 2 }
        )]
    );
    let genesis_set = vec![(Alice.public().into(), 1)];
    // After B and B+1: the old set (id 0) still finalizes the next blocks.
    assert_eq!(
        (grandpa_set_id(&mut chain), grandpa_authorities(&mut chain)),
        (0, genesis_set.clone())
    );
    chain.block(Vec::new());
    assert_eq!((grandpa_set_id(&mut chain), grandpa_authorities(&mut chain)), (0, genesis_set));
    // After B+2 (= B + delay): the new set, id 1, both at once.
    let (enact, _) = chain.block(Vec::new());
    assert_eq!(enact.header.number, b.header.number + 2);
    assert!(grandpa_changes(&enact.header).is_empty());
    assert_eq!((grandpa_set_id(&mut chain), grandpa_authorities(&mut chain)), (1, next));
}

#[test]
fn backup_client_bound_is_the_shared_constant() {
    use frame_support::traits::Get;
    assert_eq!(
        <<Runtime as pallet_backup::Config>::MaxClientsPerProvider as Get<u32>>::get(),
        peerseal_primitives::MAX_CLIENTS_PER_PROVIDER
    );
}
