//! peerseal-chain against a real dev chain (`peerseal-node --dev`) on loopback: reads of the
//! registry, policy, assignments and candidate providers; the backup transactions signed by
//! unfunded dev TSS accounts; dispatch and validity errors; governance removal seen as events
//! of finalized blocks; and the finalized-block stream across a chain-node restart.

// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::future::Future;
use std::time::Duration;

use common::Node;
use futures::StreamExt;
use peerseal_chain::{
    AccountId, Assignment, ChainApi, ChainClient, ChainError, ChainEvent, FinalizedBlock,
    RecoveryOperator, SealedRecovery, ServerState,
};
use peerseal_devkeys::{dev_identity, DevIdentity};
use subxt::{OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::{dev, Keypair};
use subxt_signer::SecretUri;

/// Bound of every step that waits on the chain.
const LIMIT: Duration = Duration::from_secs(60);

async fn bounded<T>(what: &str, work: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, work).await.unwrap_or_else(|_| panic!("{what} timed out"))
}

fn id(name: &str) -> DevIdentity {
    dev_identity(name).unwrap()
}

fn tss_key(name: &str) -> Keypair {
    let uri: SecretUri = id(name).tss_uri.parse().unwrap();
    Keypair::from_uri(&uri).unwrap()
}

async fn connect(node: &Node) -> ChainClient {
    bounded("connect", peerseal_testkit::connect_chain(&node.url)).await.unwrap()
}

/// Pulls finalized blocks until `found` picks something out of one, bounded.
async fn wait_for_event<S, T>(
    stream: &mut S,
    mut found: impl FnMut(&ChainEvent) -> Option<T>,
) -> (FinalizedBlock, T)
where
    S: futures::Stream<Item = Result<FinalizedBlock, ChainError>> + Unpin,
{
    bounded("waiting for an event", async {
        loop {
            let block = stream.next().await.expect("stream ended").expect("block");
            if let Some(hit) = block.events.iter().find_map(&mut found) {
                return (block, hit);
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_dev_servers_policy_and_candidates() {
    let node = Node::start_or_panic(&["--dev", "--block-time", "300"]);
    let client = connect(&node).await;

    let servers = bounded("servers", client.servers()).await.unwrap();
    let mut expected: Vec<DevIdentity> = peerseal_devkeys::dev_servers();
    expected.sort_by_key(|id| id.tss_account);
    assert_eq!(servers.len(), 4);
    for (server, id) in servers.iter().zip(&expected) {
        assert_eq!(server.tss_account, AccountId(id.tss_account), "{}", id.name);
        assert_eq!(server.stash, AccountId(id.stash_account), "{}", id.name);
        assert_eq!(server.x25519_public_key, id.x25519_public, "{}", id.name);
        assert_eq!(server.peer_id, id.peer_id, "{}", id.name);
        assert_eq!(server.quote, peerseal_devkeys::dev_registration_quote(id), "{}", id.name);
        assert_eq!(server.multiaddrs.len(), 1, "{}", id.name);
        // The binary multiaddr ends with the peer id (`/p2p/<id>`).
        assert!(server.multiaddrs[0].ends_with(&id.peer_id), "{}", id.name);
        assert_eq!(server.status, ServerState::Active);
    }

    let bob = id("bob");
    let by_tss =
        bounded("server_by_tss", client.server_by_tss(&AccountId(bob.tss_account))).await.unwrap();
    let listed = servers.iter().find(|s| s.tss_account == AccountId(bob.tss_account)).unwrap();
    assert_eq!(by_tss.as_ref(), Some(listed));
    // A stash is not a TSS account; an unknown account is nobody.
    assert_eq!(client.server_by_tss(&AccountId(bob.stash_account)).await.unwrap(), None);
    assert_eq!(client.server_by_tss(&AccountId([0xAB; 32])).await.unwrap(), None);

    let policy = bounded("policy", client.attestation_policy()).await.unwrap();
    assert_eq!(policy.accepted_measurements, vec![peerseal_attestation::mock_measurement()]);
    assert_eq!(policy.pck_mode, peerseal_attestation::PckMode::Dev);
    assert_eq!(policy.allowed_mock_pcks, vec![peerseal_attestation::dev_mock_pck()]);

    // Candidates: the runtime's rendezvous order over the active servers, without the client.
    let alice = AccountId(id("alice").tss_account);
    let active: Vec<AccountId> =
        servers.iter().filter(|s| s.status == ServerState::Active).map(|s| s.tss_account).collect();
    for epoch in [1u64, 2, 77] {
        let candidates =
            bounded("candidates", client.candidate_providers(&alice, epoch)).await.unwrap();
        assert_eq!(candidates.len(), 3);
        assert!(!candidates.contains(&alice));
        assert_eq!(candidates, peerseal_primitives::rendezvous::order(&alice, &active, epoch));
    }

    // Nothing recorded yet.
    assert_eq!(client.assignment(&alice).await.unwrap(), None);
    // Finalization moves on (300 ms blocks): a later block reaches the verified view. Waited
    // for, not slept on: a loaded machine may verify a block later than it was produced.
    let before = client.finalized_number().await.unwrap();
    bounded("a later verified block", client.wait_verified(before + 1, LIMIT)).await.unwrap();
    assert!(client.finalized_number().await.unwrap() > before);
}

/// The `call` extrinsic in block `hash` carries a mortal era of the client's period.
async fn assert_signed_mortal(url: &str, hash: [u8; 32], call: &str) {
    use subxt::config::transaction_extensions::CheckMortality;
    let api: OnlineClient<PolkadotConfig> =
        bounded("subxt connect", OnlineClient::from_insecure_url(url)).await.unwrap();
    let at = api.at_block(subxt::utils::H256(hash)).await.unwrap();
    let extrinsics = at.extrinsics().fetch().await.unwrap();
    let ext = extrinsics
        .iter()
        .map(|e| e.unwrap())
        .find(|e| e.pallet_name() == "Backup" && e.call_name() == call)
        .expect("the transaction is in the block it was reported in");
    let era = ext
        .transaction_extensions()
        .expect("signed")
        .find::<CheckMortality<PolkadotConfig>>()
        .expect("has CheckMortality")
        .unwrap();
    match era {
        subxt::utils::Era::Mortal { period, .. } => {
            assert_eq!(period, peerseal_chain::TX_MORTALITY_BLOCKS)
        }
        other => panic!("{call} was signed {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_larger_than_one_proof_is_read_whole() {
    // 600 servers beside the 4 dev servers: reading their entries and statuses takes 1,208
    // keys, more than one read-proof request may carry (the dev node takes at most 1,024).
    // Before the view split its reads, it never loaded and the client never connected.
    let dir = tempfile::tempdir().unwrap();
    let extra: Vec<_> = (0..600).map(peerseal_testkit::GenesisServer::numbered).collect();
    let binary = peerseal_testkit::node_binary().unwrap();
    let spec = peerseal_testkit::spec_with_servers(&binary, dir.path(), &extra).unwrap();
    let node = Node::start_or_panic(&["--chain", spec.to_str().unwrap(), "--block-time", "300"]);
    let client = connect(&node).await;
    assert_eq!(client.servers().await.unwrap().len(), 604);
    let last = AccountId(extra[599].tss_account);
    let server = client.server_by_tss(&last).await.unwrap().unwrap();
    assert_eq!(server.stash, AccountId(extra[599].stash));
    assert_eq!(client.view().unwrap().assignment(&last), Some(None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_transactions_by_unfunded_tss_accounts() {
    let node = Node::start_or_panic(&["--dev", "--block-time", "300"]);
    let client = connect(&node).await;
    let mut blocks = Box::pin(client.finalized_blocks());
    let (alice, bob, charlie) = (id("alice"), id("bob"), id("charlie"));

    // Alice (an unfunded TSS account: the call is feeless) records a 2-of-2 backup.
    let providers = vec![(AccountId(bob.tss_account), 1u8), (AccountId(charlie.tss_account), 2u8)];
    let included = bounded(
        "record_backup",
        client.record_backup(&tss_key("alice"), 1, 2, providers.clone(), [7u8; 32], None),
    )
    .await
    .unwrap();
    assert_signed_mortal(&node.url, included, "record_backup").await;
    let assignment = client.assignment(&AccountId(alice.tss_account)).await.unwrap();
    assert_eq!(
        assignment,
        Some(Assignment { epoch: 1, threshold: 2, providers, commitment: [7u8; 32], stale: false })
    );

    // Charlie also backs up to Bob, so Bob confirms two clients at the same time: two
    // concurrent transactions of one signer need consecutive nonces.
    bounded(
        "record_backup",
        client.record_backup(
            &tss_key("charlie"),
            5,
            1,
            vec![(AccountId(bob.tss_account), 1)],
            [9u8; 32],
            None,
        ),
    )
    .await
    .unwrap();
    // Both assignments are served from the verified view: Charlie's record moved only the
    // backup pallet's revision (the server list is unchanged), and that alone re-reads them.
    let view = client.view().unwrap();
    let epoch_in_view = |who: &DevIdentity| {
        view.assignment(&AccountId(who.tss_account)).map(|a| a.map(|a| a.epoch))
    };
    assert_eq!(epoch_in_view(&charlie), Some(Some(5)));
    assert_eq!(epoch_in_view(&alice), Some(Some(1)));
    assert_eq!(epoch_in_view(&bob), Some(None));
    // An account that is not registered is not covered: the client reads it with a proof.
    assert_eq!(view.assignment(&AccountId([0x42; 32])), None);
    assert_eq!(client.assignment(&AccountId([0x42; 32])).await.unwrap(), None);
    let bob_key = tss_key("bob");
    let (alice_account, charlie_account) =
        (AccountId(alice.tss_account), AccountId(charlie.tss_account));
    let (a, c) = bounded("two confirms", async {
        tokio::join!(
            client.confirm_backup(&bob_key, &alice_account, 1),
            client.confirm_backup(&bob_key, &charlie_account, 5)
        )
    })
    .await;
    a.unwrap();
    c.unwrap();
    assert_eq!(
        client.confirmations(&AccountId(alice.tss_account)).await.unwrap(),
        vec![AccountId(bob.tss_account)]
    );
    assert_eq!(
        client.confirmations(&AccountId(charlie.tss_account)).await.unwrap(),
        vec![AccountId(bob.tss_account)]
    );

    bounded(
        "report_recovery",
        client.report_recovery(&tss_key("alice"), &AccountId(charlie.tss_account), 1),
    )
    .await
    .unwrap();

    // The same story, in order, on the finalized-block stream.
    let (_, epoch) = wait_for_event(&mut blocks, |e| match e {
        ChainEvent::BackupRecorded { client, epoch } if *client == AccountId(alice.tss_account) => {
            Some(*epoch)
        }
        _ => None,
    })
    .await;
    assert_eq!(epoch, 1);
    wait_for_event(&mut blocks, |e| match e {
        ChainEvent::BackupConfirmed { client, provider, epoch: 1 }
            if *client == AccountId(alice.tss_account)
                && *provider == AccountId(bob.tss_account) =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
    wait_for_event(&mut blocks, |e| match e {
        ChainEvent::KeyRecovered { client, provider, epoch: 1 }
            if *client == AccountId(alice.tss_account)
                && *provider == AccountId(charlie.tss_account) =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_transactions_come_back_typed() {
    let node = Node::start_or_panic(&["--dev", "--block-time", "300"]);
    let client = connect(&node).await;
    let bob = id("bob");

    // The funded stash //Alice is not a registered TSS server: it pays the fee, the call is
    // dispatched and fails in the backup pallet.
    let err = bounded(
        "record_backup by a stash",
        client.record_backup(
            &dev::alice(),
            1,
            1,
            vec![(AccountId(bob.tss_account), 1)],
            [1u8; 32],
            None,
        ),
    )
    .await
    .unwrap_err();
    match err {
        ChainError::Dispatch { pallet, error } => {
            assert_eq!((pallet.as_str(), error.as_str()), ("Backup", "NotRegistered"));
        }
        other => panic!("expected a dispatch error, got {other:?}"),
    }

    // An unfunded TSS account whose call fails the checks is not feeless, cannot pay, and is
    // refused before inclusion.
    let alice = id("alice");
    let err = bounded(
        "record_backup naming itself",
        client.record_backup(
            &tss_key("alice"),
            1,
            1,
            vec![(AccountId(alice.tss_account), 1)],
            [1u8; 32],
            None,
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ChainError::Invalid(_)), "{err:?}");

    // Confirming a backup that does not exist, by a funded account: dispatch error again.
    let err = bounded(
        "confirm_backup without assignment",
        client.confirm_backup(&dev::bob(), &AccountId(alice.tss_account), 1),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ChainError::Dispatch { pallet, error } if pallet == "Backup" && error == "NotRegistered"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_carry_shares_sealed_to_the_recovery_operators_governance_set() {
    let node = Node::start_or_panic(&["--dev", "--block-time", "300"]);
    let client = connect(&node).await;
    let bob = id("bob");
    let providers = vec![(AccountId(bob.tss_account), 1u8)];
    assert_eq!(client.recovery_operators().await.unwrap(), None, "none in the dev genesis");

    let operators = [([0xA1; 32], [0xB1; 32]), ([0xA2; 32], [0xB2; 32])];
    bounded(
        "set_recovery_operators",
        peerseal_testkit::governance::set_recovery_operators(&node.url, &operators, 2),
    )
    .await
    .unwrap();
    let set = bounded("the new set in the view", async {
        loop {
            if let Some(set) = client.recovery_operators().await.unwrap() {
                return set;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!((set.revision, set.threshold), (1, 2));
    let expected: Vec<RecoveryOperator> = operators
        .iter()
        .map(|(account, key)| RecoveryOperator {
            account: AccountId(*account),
            x25519_public_key: *key,
        })
        .collect();
    assert_eq!(set.operators, expected);

    // With operators set, a backup without sealed shares fails the checks: not feeless, and
    // the unfunded TSS account cannot pay.
    let err = bounded(
        "record_backup without recovery shares",
        client.record_backup(&tss_key("alice"), 1, 1, providers.clone(), [4u8; 32], None),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ChainError::Invalid(_)), "{err:?}");

    // One sealed share per operator of the current set goes through the same extrinsic.
    let sealed = SealedRecovery {
        operator_set: set.revision,
        shares: vec![vec![0x11; 200], vec![0x22; 200]],
    };
    bounded(
        "record_backup with recovery shares",
        client.record_backup(&tss_key("alice"), 1, 1, providers, [4u8; 32], Some(&sealed)),
    )
    .await
    .unwrap();
    let assignment = client.assignment(&AccountId(id("alice").tss_account)).await.unwrap();
    assert_eq!(assignment.map(|a| a.epoch), Some(1));
}

/// Governance removes `stash`'s server (the harness's sudo call, bounded).
async fn governance_remove(url: &str, stash: [u8; 32]) {
    bounded("sudo remove", peerseal_testkit::governance::remove_server(url, stash)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_removal_reaches_the_client_as_provider_left() {
    let node = Node::start_or_panic(&["--dev", "--block-time", "300"]);
    let client = connect(&node).await;
    let (alice, bob) = (id("alice"), id("bob"));
    bounded(
        "record_backup",
        client.record_backup(
            &tss_key("alice"),
            1,
            1,
            vec![(AccountId(bob.tss_account), 1)],
            [3u8; 32],
            None,
        ),
    )
    .await
    .unwrap();

    let mut blocks = Box::pin(client.finalized_blocks());
    governance_remove(&node.url, bob.stash_account).await;

    let (block, clients) = wait_for_event(&mut blocks, |e| match e {
        ChainEvent::ProviderLeft { provider, clients }
            if *provider == AccountId(bob.tss_account) =>
        {
            Some(clients.clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(clients, vec![AccountId(alice.tss_account)]);
    assert!(block.events.contains(&ChainEvent::ServerRemoved {
        stash: AccountId(bob.stash_account),
        tss_account: AccountId(bob.tss_account)
    }));

    // The chain state agrees: stale assignment, three servers, Bob no longer a candidate. The
    // stream hands a block out after a bounded wait for its view; wait longer here, so a slow
    // verification cannot leave the reads on the block before.
    bounded("the removal's view", client.wait_verified(block.number, LIMIT)).await.unwrap();
    let assignment = client.assignment(&AccountId(alice.tss_account)).await.unwrap().unwrap();
    assert!(assignment.stale);
    let servers = client.servers().await.unwrap();
    assert_eq!(servers.len(), 3);
    assert!(servers.iter().all(|s| s.tss_account != AccountId(bob.tss_account)));
    assert_eq!(client.server_by_tss(&AccountId(bob.tss_account)).await.unwrap(), None);
    let candidates = client.candidate_providers(&AccountId(alice.tss_account), 2).await.unwrap();
    assert_eq!(candidates.len(), 2);
    assert!(!candidates.contains(&AccountId(bob.tss_account)));
}

/// Polls `client.approved_move(tss)` until it equals `expected` (the verifier may be a block
/// behind the finalized sudo call), bounded.
async fn wait_for_move(
    client: &ChainClient,
    tss: [u8; 32],
    expected: Option<peerseal_attestation::PlatformId>,
) {
    bounded("approved move", async {
        while client.approved_move(&AccountId(tss)).await.unwrap() != expected {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_moves_are_read_with_a_proof_and_end_with_revocation_or_removal() {
    use peerseal_attestation::PlatformId;
    use peerseal_testkit::governance;
    let node = Node::start_or_panic(&["--dev", "--block-time", "300"]);
    let client = connect(&node).await;
    let (alice, bob) = (id("alice"), id("bob"));
    let new_host = PlatformId([0xE1; 16]);
    assert_eq!(client.approved_move(&AccountId(alice.tss_account)).await.unwrap(), None);

    // Governance approves Alice's move; the node sees it from proven storage.
    let approve = governance::approve_move(&node.url, alice.tss_account, new_host.0);
    bounded("sudo approve_move", approve).await.unwrap();
    wait_for_move(&client, alice.tss_account, Some(new_host)).await;
    assert_eq!(client.approved_move(&AccountId(bob.tss_account)).await.unwrap(), None);

    // Revoked: gone.
    bounded("sudo revoke_move", governance::revoke_move(&node.url, alice.tss_account))
        .await
        .unwrap();
    wait_for_move(&client, alice.tss_account, None).await;

    // An approval ends with the registration.
    let approve = governance::approve_move(&node.url, bob.tss_account, new_host.0);
    bounded("sudo approve_move", approve).await.unwrap();
    wait_for_move(&client, bob.tss_account, Some(new_host)).await;
    governance_remove(&node.url, bob.stash_account).await;
    wait_for_move(&client, bob.tss_account, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalized_blocks_continue_across_a_node_restart() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("chain");
    let base = base.to_str().unwrap();
    let port = common::free_port().to_string();
    let args = ["--dev", "--base-path", base, "--rpc-port", &port, "--block-time", "200"];

    let node = Node::start_or_panic(&args);
    let client = connect(&node).await;
    let mut blocks = Box::pin(client.finalized_blocks());
    let mut seen: Vec<FinalizedBlock> = Vec::new();
    bounded("blocks before the restart", async {
        while seen.len() < 4 {
            seen.push(blocks.next().await.unwrap().unwrap());
        }
    })
    .await;

    // Kill the node, let blocks that would have come pass, and start it again on the same
    // state and port. The stream keeps being polled meanwhile (it must not end or fail).
    node.kill();
    let down = tokio::spawn(async { tokio::time::sleep(Duration::from_secs(2)).await });
    let polled_while_down = tokio::time::timeout(Duration::from_millis(1500), blocks.next()).await;
    match polled_while_down {
        Err(_) => {}
        // Blocks finalized before the kill may still be delivered; nothing else.
        Ok(Some(Ok(block))) => seen.push(block),
        Ok(other) => panic!("stream yielded {other:?} while the node was down"),
    }
    down.await.unwrap();
    let last_before = seen.last().unwrap().number;
    let node = Node::start_or_panic(&args);

    bounded("blocks after the restart", async {
        while seen.last().unwrap().number < last_before + 8 {
            seen.push(blocks.next().await.unwrap().unwrap());
        }
    })
    .await;
    for pair in seen.windows(2) {
        assert_eq!(pair[1].number, pair[0].number + 1, "gap or repeat: {pair:?}");
    }

    // The delivered hashes are the chain's (old blocks survived the restart).
    let api: OnlineClient<PolkadotConfig> =
        bounded("subxt connect", OnlineClient::from_insecure_url(&node.url)).await.unwrap();
    for block in [&seen[0], seen.last().unwrap()] {
        let at = api.at_block(block.number).await.unwrap();
        assert_eq!(at.block_hash().0, block.hash, "block {}", block.number);
    }

    // Resuming from an old block number replays exactly the blocks delivered live.
    let mut replay = Box::pin(client.finalized_blocks_from(seen[0].number));
    bounded("replay from an old block", async {
        for expected in &seen {
            assert_eq!(&replay.next().await.unwrap().unwrap(), expected);
        }
    })
    .await;

    // The query client reconnects too.
    assert_eq!(bounded("servers after restart", client.servers()).await.unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_nothing_fails_in_bounded_time() {
    let port = common::free_port();
    let started = std::time::Instant::now();
    let err = ChainClient::connect(
        &format!("ws://127.0.0.1:{port}"),
        peerseal_chain::TrustRoot::genesis([0; 32]),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ChainError::Connect { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
}
