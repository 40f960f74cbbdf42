//! Unit tests of `pallet-registry` on the mock runtime with the real attestation pallet.

use crate::{
    hook_weight, mock::*, ApprovedMoves, Error, Event, LeaveQueueBounds, LeavingSince, PlatformId,
    RemovalReason, Revision, ServerCount, ServerInfo, ServerRegistry, ServerStatus, ServerStatusOf,
    Servers, StashOf, MAX_MULTIADDRS, MAX_MULTIADDR_LEN, MAX_PEER_ID_LEN, MAX_QUOTE_LEN,
};
use codec::{Decode, Encode};
use frame_support::{
    assert_noop, assert_ok, dispatch::GetDispatchInfo, weights::Weight, BoundedVec,
};
use pallet_attestation::{weights::VERIFY_QUOTE_ESTIMATE, QuoteContext};
use peerseal_attestation::mock_measurement;
use sp_runtime::{AccountId32, BuildStorage, DispatchError};

type AttestationError = pallet_attestation::Error<Test>;

/// What the block hook must report for `processed` queue entries and `removed` servers: its own
/// work plus the listeners' `removed` weight per removal.
fn hook_weight_of(processed: u32, removed: u32) -> Weight {
    <() as crate::WeightInfo>::on_initialize(processed, removed)
        .saturating_add(hook_weight(REMOVED_WEIGHT).saturating_mul(u64::from(removed)))
        .saturating_add(Registry::index_weight().saturating_mul(u64::from(removed)))
}

fn sufficients(who: &AccountId32) -> u32 {
    frame_system::Pallet::<Test>::sufficients(who)
}

/// Registers server `n` (stash `n`, TSS account `n`) with a valid quote.
fn register(n: u8) {
    let server = attested(&stash(n), &tss(n), n, QuoteContext::Register);
    assert_ok!(Registry::register(RuntimeOrigin::signed(stash(n)), server));
}

fn assert_nothing_registered(n: u8) {
    assert!(Servers::<Test>::get(stash(n)).is_none());
    assert!(StashOf::<Test>::get(tss(n)).is_none());
    assert!(ServerStatusOf::<Test>::get(tss(n)).is_none());
    assert_eq!(sufficients(&tss(n)), 0);
}

// ---------------------------------------------------------------------------------------------
// register

#[test]
fn register_works() {
    new_test_ext().execute_with(|| {
        let server = attested(&stash(1), &tss(1), 1, QuoteContext::Register);
        assert_ok!(Registry::register(RuntimeOrigin::signed(stash(1)), server.clone()));

        assert_eq!(Servers::<Test>::get(stash(1)), Some(server.clone()));
        assert_eq!(StashOf::<Test>::get(tss(1)), Some(stash(1)));
        assert_eq!(ServerStatusOf::<Test>::get(tss(1)), Some(ServerStatus::Active));
        assert_eq!(ServerCount::<Test>::get(), 1);
        assert_eq!(sufficients(&tss(1)), 1);
        assert!(frame_system::Pallet::<Test>::account_exists(&tss(1)));
        assert_eq!(Registry::server_by_tss(&tss(1)), Some((stash(1), server)));
        assert!(Attestation::pending_nonce(&tss(1)).is_none(), "the nonce is consumed");
        assert_eq!(take_hooks(), vec![Hook::Joined(tss(1))]);
        assert_eq!(
            registry_events().last(),
            Some(&Event::ServerRegistered {
                stash: stash(1),
                tss_account: tss(1),
                measurement: mock_measurement(),
            })
        );
    });
}

#[test]
fn register_needs_a_signed_origin() {
    new_test_ext().execute_with(|| {
        let server = attested(&stash(1), &tss(1), 1, QuoteContext::Register);
        assert_noop!(
            Registry::register(RuntimeOrigin::none(), server.clone()),
            DispatchError::BadOrigin
        );
        assert_noop!(Registry::register(RuntimeOrigin::root(), server), DispatchError::BadOrigin);
    });
}

#[test]
fn one_server_per_stash() {
    new_test_ext().execute_with(|| {
        register(1);
        take_hooks();
        let second = attested(&stash(1), &tss(2), 2, QuoteContext::Register);
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), second),
            Error::<Test>::AlreadyRegistered
        );
        assert!(take_hooks().is_empty());
    });
}

#[test]
fn tss_account_cannot_be_reused_by_another_stash() {
    new_test_ext().execute_with(|| {
        register(1);
        let same_account = attested(&stash(2), &tss(1), 9, QuoteContext::Register);
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(2)), same_account),
            Error::<Test>::TssAccountInUse
        );
        assert!(Servers::<Test>::get(stash(2)).is_none());
    });
}

#[test]
fn register_is_bounded_by_max_servers() {
    new_test_ext().execute_with(|| {
        for n in 1..=MAX_SERVERS as u8 {
            register(n);
        }
        let extra = attested(&stash(50), &tss(50), 50, QuoteContext::Register);
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(50)), extra),
            Error::<Test>::TooManyServers
        );
    });
}

#[test]
fn register_without_nonce_fails() {
    new_test_ext().execute_with(|| {
        let mut server = info(&tss(1), 1, Vec::new());
        server.quote = BoundedVec::truncate_from(quote_for(
            &stash(1),
            &server,
            QuoteContext::Register,
            &[0; 32],
        ));
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), server),
            AttestationError::NoPendingNonce
        );
        assert_nothing_registered(1);
    });
}

#[test]
fn register_rejects_a_quote_for_another_context() {
    new_test_ext().execute_with(|| {
        let server = attested(&stash(1), &tss(1), 1, QuoteContext::ChangeServerInfo);
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), server),
            AttestationError::ReportDataMismatch
        );
        assert_nothing_registered(1);
        assert!(take_hooks().is_empty());
    });
}

#[test]
fn register_rejects_info_that_differs_from_the_quote() {
    new_test_ext().execute_with(|| {
        let server = attested(&stash(1), &tss(1), 1, QuoteContext::Register);

        let mut other_key = server.clone();
        other_key.x25519_public_key = [0xEE; 32];
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), other_key),
            AttestationError::ReportDataMismatch
        );

        let mut other_peer = server.clone();
        other_peer.peer_id = BoundedVec::truncate_from(b"someone-else".to_vec());
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), other_peer),
            AttestationError::ReportDataMismatch
        );

        // Multiaddrs are not bound by the quote: changing them is fine.
        let mut other_addr = server.clone();
        other_addr.multiaddrs = BoundedVec::new();
        // (Rolled back, so the nonce stays for the checks below.)
        assert_ok!(frame_support::storage::with_transaction(|| {
            sp_runtime::TransactionOutcome::Rollback(Registry::register(
                RuntimeOrigin::signed(stash(1)),
                other_addr,
            ))
        }));

        // A quote made for tss(1) presented with tss(2) as the account: the stash's nonce was
        // issued for tss(1).
        let mut other_account = server.clone();
        other_account.tss_account = tss(2);
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), other_account.clone()),
            AttestationError::NonceForOtherAccount
        );
        // ... and with a nonce for tss(2), the quote still carries the old nonce.
        request_nonce(&stash(1), &tss(2));
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), other_account),
            AttestationError::QuoteNonceMismatch
        );
    });
}

#[test]
fn register_needs_nothing_from_the_tss_account() {
    new_test_ext().execute_with(|| {
        // The stash requests the nonce and registers: the TSS account never signs, so it need
        // not exist (no funds, no references) until registration gives it a sufficient one.
        assert!(!frame_system::Pallet::<Test>::account_exists(&tss(1)));
        let server = attested(&stash(1), &tss(1), 1, QuoteContext::Register);
        assert!(!frame_system::Pallet::<Test>::account_exists(&tss(1)));
        assert_eq!(frame_system::Pallet::<Test>::account_nonce(tss(1)), 0);
        assert_ok!(Registry::register(RuntimeOrigin::signed(stash(1)), server));
        assert_eq!(StashOf::<Test>::get(tss(1)), Some(stash(1)));
    });
}

#[test]
fn register_copied_from_another_stash_fails() {
    new_test_ext().execute_with(|| {
        // stash(1)'s register is pending; stash(2) copies its argument and sends it first.
        let honest = attested(&stash(1), &tss(1), 1, QuoteContext::Register);
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(2)), honest.clone()),
            AttestationError::NoPendingNonce
        );
        // Asking for a nonce of its own for the honest server does not help: the quote carries
        // the honest stash's nonce.
        request_nonce(&stash(2), &tss(1));
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(2)), honest.clone()),
            AttestationError::QuoteNonceMismatch
        );
        assert!(Servers::<Test>::get(stash(2)).is_none());
        assert!(take_hooks().is_empty());
        // The attacker's request did not disturb the honest stash's nonce.
        assert_ok!(Registry::register(RuntimeOrigin::signed(stash(1)), honest));
        assert_eq!(StashOf::<Test>::get(tss(1)), Some(stash(1)));
    });
}

#[test]
fn quote_binding_another_stash_is_rejected() {
    new_test_ext().execute_with(|| {
        // stash(2) got a nonce for tss(1) and a genuine quote over it, but tss(1)'s TEE is
        // configured for stash(1) and binds that stash: stash(2) cannot use it.
        let nonce = request_nonce(&stash(2), &tss(1));
        let mut server = info(&tss(1), 1, Vec::new());
        server.quote = BoundedVec::truncate_from(quote_for(
            &stash(1),
            &server,
            QuoteContext::Register,
            &nonce,
        ));
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(2)), server),
            AttestationError::ReportDataMismatch
        );
        assert_nothing_registered(1);
    });
}

#[test]
fn change_server_info_copied_from_another_stash_fails() {
    new_test_ext().execute_with(|| {
        register(1);
        register(2);
        // stash(1) moves its server to tss(9); stash(2) copies the change.
        let moved = attested(&stash(1), &tss(9), 9, QuoteContext::ChangeServerInfo);
        assert_noop!(
            Registry::change_server_info(RuntimeOrigin::signed(stash(2)), moved.clone()),
            AttestationError::NoPendingNonce
        );
        request_nonce(&stash(2), &tss(9));
        assert_noop!(
            Registry::change_server_info(RuntimeOrigin::signed(stash(2)), moved.clone()),
            AttestationError::QuoteNonceMismatch
        );
        assert_ok!(Registry::change_server_info(RuntimeOrigin::signed(stash(1)), moved));
        assert_eq!(StashOf::<Test>::get(tss(9)), Some(stash(1)));
        assert_eq!(Servers::<Test>::get(stash(2)).map(|s| s.tss_account), Some(tss(2)));
    });
}

#[test]
fn call_weights_include_the_listeners_worst_case() {
    use crate::WeightInfo;
    new_test_ext().execute_with(|| {
        let verify = verify_weight();
        let weight_of =
            |call: crate::Call<Test>| RuntimeCall::Registry(call).get_dispatch_info().call_weight;
        let server = info(&tss(1), 1, vec![0; 8]);

        let register = weight_of(crate::Call::register { server_info: server.clone() });
        assert_eq!(
            register,
            <() as WeightInfo>::register()
                .saturating_add(Registry::index_weight())
                .saturating_add(verify)
                .saturating_add(hook_weight(JOINED_WEIGHT))
        );
        let change = weight_of(crate::Call::change_server_info { server_info: server });
        assert_eq!(
            change,
            <() as WeightInfo>::change_server_info()
                .saturating_add(Registry::index_weight())
                .saturating_add(verify)
                .saturating_add(hook_weight(REMOVED_WEIGHT))
                .saturating_add(hook_weight(JOINED_WEIGHT))
        );
        assert_eq!(
            weight_of(crate::Call::leave {}),
            <() as WeightInfo>::leave().saturating_add(hook_weight(LEAVING_WEIGHT))
        );
        assert_eq!(
            weight_of(crate::Call::purge_left { stash: stash(1) }),
            <() as WeightInfo>::purge_left()
                .saturating_add(Registry::index_weight())
                .saturating_add(hook_weight(REMOVED_WEIGHT))
        );
        assert_eq!(
            weight_of(crate::Call::remove { stash: stash(1) }),
            <() as WeightInfo>::remove()
                .saturating_add(Registry::index_weight())
                .saturating_add(hook_weight(REMOVED_WEIGHT))
        );
        // The listeners' cost dominates in this mock, so leaving it out would be visible.
        assert!(register.all_gte(hook_weight(JOINED_WEIGHT)));
        assert!(hook_weight(REMOVED_WEIGHT).all_gt(<() as WeightInfo>::remove()));
    });
}

#[test]
fn register_rejects_an_expired_nonce() {
    new_test_ext().execute_with(|| {
        let server = attested(&stash(1), &tss(1), 1, QuoteContext::Register);
        System::set_block_number(2 + NONCE_LIFETIME);
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), server),
            AttestationError::NonceExpired
        );
        assert_nothing_registered(1);
    });
}

#[test]
fn register_rejects_a_replayed_quote() {
    new_test_ext().execute_with(|| {
        let server = attested(&stash(1), &tss(1), 1, QuoteContext::Register);
        assert_ok!(Registry::register(RuntimeOrigin::signed(stash(1)), server.clone()));
        assert_ok!(Registry::remove(RuntimeOrigin::root(), stash(1)));
        // Same stash, same info, same quote: the nonce was used.
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), server),
            AttestationError::NoPendingNonce
        );
    });
}

#[test]
fn register_rejects_tampered_and_garbage_quotes() {
    new_test_ext().execute_with(|| {
        let server = attested(&stash(1), &tss(1), 1, QuoteContext::Register);

        let mut tampered = server.clone();
        tampered.quote[200] ^= 0x01;
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), tampered),
            AttestationError::QuoteBadSignature
        );

        let mut empty = server.clone();
        empty.quote = BoundedVec::new();
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), empty),
            AttestationError::QuoteEmpty
        );

        let mut truncated = server.clone();
        truncated.quote = BoundedVec::truncate_from(server.quote[..100].to_vec());
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), truncated),
            AttestationError::QuoteTruncated
        );

        // The failures above kept the nonce (the dispatch was reverted): the real quote works.
        assert_ok!(Registry::register(RuntimeOrigin::signed(stash(1)), server));
    });
}

#[test]
fn register_rejects_a_revoked_measurement() {
    new_test_ext().execute_with(|| {
        assert_ok!(Attestation::revoke_measurement(RuntimeOrigin::root(), mock_measurement()));
        let server = attested(&stash(1), &tss(1), 1, QuoteContext::Register);
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(1)), server),
            AttestationError::MeasurementNotAccepted
        );
    });
}

#[test]
fn register_weight_includes_quote_verification() {
    new_test_ext().execute_with(|| {
        let server = attested(&stash(1), &tss(1), 1, QuoteContext::Register);
        let call = RuntimeCall::Registry(crate::Call::register { server_info: server.clone() });
        let weight = call.get_dispatch_info().call_weight;
        assert!(weight.all_gte(VERIFY_QUOTE_ESTIMATE));
        assert!(weight.all_gte(verify_weight()));
        let change = RuntimeCall::Registry(crate::Call::change_server_info { server_info: server });
        assert!(change.get_dispatch_info().call_weight.all_gte(VERIFY_QUOTE_ESTIMATE));
    });
}

// ---------------------------------------------------------------------------------------------
// bounded fields

/// `ServerInfo`'s wire layout with unbounded fields, to produce oversized encodings.
#[derive(Encode)]
struct UnboundedServerInfo {
    tss_account: AccountId32,
    x25519_public_key: [u8; 32],
    peer_id: Vec<u8>,
    multiaddrs: Vec<Vec<u8>>,
    quote: Vec<u8>,
}

impl UnboundedServerInfo {
    fn at_limits() -> Self {
        Self {
            tss_account: tss(1),
            x25519_public_key: [1; 32],
            peer_id: vec![1; MAX_PEER_ID_LEN as usize],
            multiaddrs: vec![vec![2; MAX_MULTIADDR_LEN as usize]; MAX_MULTIADDRS as usize],
            quote: vec![3; MAX_QUOTE_LEN as usize],
        }
    }
}

fn decodes(raw: &UnboundedServerInfo) -> bool {
    ServerInfo::<AccountId32>::decode(&mut &raw.encode()[..]).is_ok()
}

#[test]
fn server_info_at_its_limits_decodes() {
    assert!(decodes(&UnboundedServerInfo::at_limits()));
}

#[test]
fn oversized_server_info_fields_fail_to_decode() {
    let mut raw = UnboundedServerInfo::at_limits();
    raw.peer_id.push(0);
    assert!(!decodes(&raw), "peer id over {MAX_PEER_ID_LEN} bytes");

    let mut raw = UnboundedServerInfo::at_limits();
    raw.multiaddrs.push(vec![0; 8]);
    assert!(!decodes(&raw), "more than {MAX_MULTIADDRS} multiaddrs");

    let mut raw = UnboundedServerInfo::at_limits();
    raw.multiaddrs[0].push(0);
    assert!(!decodes(&raw), "multiaddr over {MAX_MULTIADDR_LEN} bytes");

    let mut raw = UnboundedServerInfo::at_limits();
    raw.quote.push(0);
    assert!(!decodes(&raw), "quote over {MAX_QUOTE_LEN} bytes");
}

#[test]
fn oversized_register_call_fails_to_decode() {
    // A call is (pallet index, call index, arguments); an oversized argument makes the whole
    // extrinsic undecodable, so it never reaches dispatch.
    let ok =
        RuntimeCall::Registry(crate::Call::register { server_info: info(&tss(1), 1, vec![0; 8]) })
            .encode();
    assert!(RuntimeCall::decode(&mut &ok[..]).is_ok());

    let mut raw = UnboundedServerInfo::at_limits();
    raw.quote.push(0);
    let mut oversized = ok[..2].to_vec();
    oversized.extend(raw.encode());
    assert!(RuntimeCall::decode(&mut &oversized[..]).is_err());
}

// ---------------------------------------------------------------------------------------------
// change_server_info

#[test]
fn change_server_info_keeping_the_account() {
    new_test_ext().execute_with(|| {
        register(1);
        take_hooks();
        let new_info = attested(&stash(1), &tss(1), 7, QuoteContext::ChangeServerInfo);
        assert_ok!(Registry::change_server_info(RuntimeOrigin::signed(stash(1)), new_info.clone()));
        assert_eq!(Servers::<Test>::get(stash(1)), Some(new_info));
        assert_eq!(StashOf::<Test>::get(tss(1)), Some(stash(1)));
        assert_eq!(ServerStatusOf::<Test>::get(tss(1)), Some(ServerStatus::Active));
        assert_eq!(sufficients(&tss(1)), 1);
        assert_eq!(ServerCount::<Test>::get(), 1);
        assert!(take_hooks().is_empty(), "same account: no membership change");
        assert_eq!(
            registry_events().last(),
            Some(&Event::ServerInfoChanged {
                stash: stash(1),
                old_tss_account: tss(1),
                tss_account: tss(1),
                measurement: mock_measurement(),
            })
        );
    });
}

#[test]
fn change_server_info_moving_to_a_new_account() {
    new_test_ext().execute_with(|| {
        register(1);
        take_hooks();
        let new_info = attested(&stash(1), &tss(9), 9, QuoteContext::ChangeServerInfo);
        assert_ok!(Registry::change_server_info(RuntimeOrigin::signed(stash(1)), new_info.clone()));
        assert_eq!(Servers::<Test>::get(stash(1)), Some(new_info));
        assert_eq!(StashOf::<Test>::get(tss(9)), Some(stash(1)));
        assert_eq!(ServerStatusOf::<Test>::get(tss(9)), Some(ServerStatus::Active));
        assert!(StashOf::<Test>::get(tss(1)).is_none());
        assert!(ServerStatusOf::<Test>::get(tss(1)).is_none());
        assert_eq!(sufficients(&tss(1)), 0);
        assert_eq!(sufficients(&tss(9)), 1);
        assert_eq!(ServerCount::<Test>::get(), 1);
        assert_eq!(take_hooks(), vec![Hook::Removed(tss(1)), Hook::Joined(tss(9))]);
        assert_eq!(
            registry_events().last(),
            Some(&Event::ServerInfoChanged {
                stash: stash(1),
                old_tss_account: tss(1),
                tss_account: tss(9),
                measurement: mock_measurement(),
            })
        );
        assert_eq!(Registry::active_servers(), vec![tss(9)]);
    });
}

#[test]
fn change_server_info_refunds_the_notifications_it_did_not_send() {
    use crate::WeightInfo;
    new_test_ext().execute_with(|| {
        register(1);
        let same = attested(&stash(1), &tss(1), 7, QuoteContext::ChangeServerInfo);
        let post = Registry::change_server_info(RuntimeOrigin::signed(stash(1)), same).unwrap();
        let own = <() as WeightInfo>::change_server_info().saturating_add(verify_weight());
        assert_eq!(post.actual_weight, Some(own));

        // Moving to a new account notifies the listeners: the full weight stays charged.
        let moved = attested(&stash(1), &tss(9), 9, QuoteContext::ChangeServerInfo);
        let post = Registry::change_server_info(RuntimeOrigin::signed(stash(1)), moved).unwrap();
        assert_eq!(post.actual_weight, None);
    });
}

#[test]
fn change_server_info_errors() {
    new_test_ext().execute_with(|| {
        let unknown = attested(&stash(1), &tss(1), 1, QuoteContext::ChangeServerInfo);
        assert_noop!(
            Registry::change_server_info(RuntimeOrigin::signed(stash(1)), unknown),
            Error::<Test>::UnknownServer
        );

        register(1);
        register(2);
        // Registration consumed the nonce; without a new request there is none.
        let mut no_nonce = info(&tss(1), 8, Vec::new());
        no_nonce.quote = BoundedVec::truncate_from(quote_for(
            &stash(1),
            &no_nonce,
            QuoteContext::ChangeServerInfo,
            &[0; 32],
        ));
        assert_noop!(
            Registry::change_server_info(RuntimeOrigin::signed(stash(1)), no_nonce),
            AttestationError::NoPendingNonce
        );
        // Taking over another server's TSS account.
        let theirs = attested(&stash(1), &tss(2), 2, QuoteContext::ChangeServerInfo);
        assert_noop!(
            Registry::change_server_info(RuntimeOrigin::signed(stash(1)), theirs),
            Error::<Test>::TssAccountInUse
        );
        // A register-context quote is not valid for a change.
        let wrong_context = attested(&stash(1), &tss(1), 3, QuoteContext::Register);
        assert_noop!(
            Registry::change_server_info(RuntimeOrigin::signed(stash(1)), wrong_context),
            AttestationError::ReportDataMismatch
        );
        // A quote for some other nonce while a fresh one is pending: stale.
        let mut stale = info(&tss(1), 4, Vec::new());
        stale.quote = BoundedVec::truncate_from(quote_for(
            &stash(1),
            &stale,
            QuoteContext::ChangeServerInfo,
            &[0; 32],
        ));
        assert_noop!(
            Registry::change_server_info(RuntimeOrigin::signed(stash(1)), stale),
            AttestationError::QuoteNonceMismatch
        );
        // A leaving server cannot change.
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
        let while_leaving = attested(&stash(1), &tss(1), 5, QuoteContext::ChangeServerInfo);
        assert_noop!(
            Registry::change_server_info(RuntimeOrigin::signed(stash(1)), while_leaving),
            Error::<Test>::ServerLeaving
        );
        let unsigned = attested(&stash(1), &tss(1), 6, QuoteContext::ChangeServerInfo);
        assert_noop!(
            Registry::change_server_info(RuntimeOrigin::none(), unsigned),
            DispatchError::BadOrigin
        );
    });
}

// ---------------------------------------------------------------------------------------------
// leave, the block hook and purge_left

#[test]
fn leave_marks_the_server_leaving() {
    new_test_ext().execute_with(|| {
        register(1);
        register(2);
        take_hooks();
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
        assert_eq!(ServerStatusOf::<Test>::get(tss(1)), Some(ServerStatus::Leaving));
        assert_eq!(LeavingSince::<Test>::get(tss(1)), Some(1));
        assert_eq!(take_hooks(), vec![Hook::Leaving(tss(1))]);
        assert_eq!(
            registry_events().last(),
            Some(&Event::ServerLeaving {
                stash: stash(1),
                tss_account: tss(1),
                removable_at: 1 + LEAVE_DELAY,
            })
        );
        // Still registered and usable, but no longer active.
        assert!(Registry::is_registered(&tss(1)));
        assert!(!Registry::is_active(&tss(1)));
        assert_eq!(Registry::status(&tss(1)), Some(ServerStatus::Leaving));
        assert_eq!(Registry::active_servers(), vec![tss(2)]);
        assert_eq!(sufficients(&tss(1)), 1);
    });
}

#[test]
fn leave_errors() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Registry::leave(RuntimeOrigin::signed(stash(1))),
            Error::<Test>::UnknownServer
        );
        register(1);
        assert_noop!(Registry::leave(RuntimeOrigin::none()), DispatchError::BadOrigin);
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
        assert_noop!(
            Registry::leave(RuntimeOrigin::signed(stash(1))),
            Error::<Test>::AlreadyLeaving
        );
        // The TSS account is not the stash: it cannot leave on the stash's behalf.
        assert_noop!(Registry::leave(RuntimeOrigin::signed(tss(1))), Error::<Test>::UnknownServer);
    });
}

#[test]
fn leave_refuses_when_the_queue_ring_is_exhausted() {
    new_test_ext().execute_with(|| {
        register(1);
        // A ring whose tail is one behind its head has no free position (2^32 - 1 entries);
        // unreachable in practice, but the overwrite must still be refused.
        LeaveQueueBounds::<Test>::put((5, 4));
        assert_noop!(
            Registry::leave(RuntimeOrigin::signed(stash(1))),
            Error::<Test>::LeaveQueueFull
        );
    });
}

#[test]
fn leave_queue_positions_wrap_around() {
    new_test_ext().execute_with(|| {
        register(1);
        register(2);
        LeaveQueueBounds::<Test>::put((u32::MAX, u32::MAX));
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(2))));
        assert_eq!(LeaveQueueBounds::<Test>::get(), (u32::MAX, 1));
        run_to_block(1 + LEAVE_DELAY);
        assert_nothing_registered(1);
        assert_nothing_registered(2);
        assert_eq!(LeaveQueueBounds::<Test>::get(), (1, 1));
    });
}

#[test]
fn block_hook_removes_after_the_leave_delay() {
    new_test_ext().execute_with(|| {
        register(1);
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
        take_hooks();
        for block in 2..1 + LEAVE_DELAY {
            run_to_block(block);
            assert!(Registry::is_registered(&tss(1)), "removed too early, at block {block}");
        }
        assert!(take_hooks().is_empty());

        run_to_block(1 + LEAVE_DELAY);
        assert_nothing_registered(1);
        assert!(LeavingSince::<Test>::get(tss(1)).is_none());
        assert_eq!(ServerCount::<Test>::get(), 0);
        assert!(!frame_system::Pallet::<Test>::account_exists(&tss(1)), "reaped with its last ref");
        assert_eq!(take_hooks(), vec![Hook::Removed(tss(1))]);
        assert_eq!(
            registry_events().last(),
            Some(&Event::ServerRemoved {
                stash: stash(1),
                tss_account: tss(1),
                reason: RemovalReason::Left,
            })
        );
        let (head, tail) = LeaveQueueBounds::<Test>::get();
        assert_eq!(head, tail, "the queue is empty");
    });
}

#[test]
fn block_hook_work_is_bounded_per_block() {
    new_test_ext().execute_with(|| {
        for n in 1..=4 {
            register(n);
            assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(n))));
        }
        let due = 1 + LEAVE_DELAY;
        let weight = run_to_block(due);
        assert_eq!(weight, hook_weight_of(2, 2));
        assert_eq!(ServerCount::<Test>::get(), 2);
        assert_nothing_registered(1);
        assert_nothing_registered(2);
        assert!(Registry::is_registered(&tss(3)));

        let weight = run_to_block(due + 1);
        assert_eq!(weight, hook_weight_of(2, 2));
        assert_eq!(ServerCount::<Test>::get(), 0);

        // Nothing left: the hook only reads the queue bounds.
        let weight = run_to_block(due + 2);
        assert_eq!(weight, hook_weight_of(0, 0));
    });
}

#[test]
fn block_hook_skips_entries_of_servers_already_gone() {
    new_test_ext().execute_with(|| {
        register(1);
        register(2);
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(2))));
        assert_ok!(Registry::remove(RuntimeOrigin::root(), stash(1)));
        System::reset_events();
        take_hooks();

        let weight = run_to_block(1 + LEAVE_DELAY);
        assert_eq!(weight, hook_weight_of(2, 1));
        assert_eq!(take_hooks(), vec![Hook::Removed(tss(2))], "stash 1 is not removed twice");
        assert_eq!(registry_events().len(), 1);
    });
}

#[test]
fn block_hook_ignores_an_earlier_leaving_episode() {
    new_test_ext().execute_with(|| {
        register(1);
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1)))); // due at 1 + delay
        System::set_block_number(2);
        assert_ok!(Registry::remove(RuntimeOrigin::root(), stash(1)));
        System::set_block_number(3);
        register(1);
        System::set_block_number(4);
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1)))); // due at 4 + delay

        run_to_block(1 + LEAVE_DELAY);
        assert!(Registry::is_registered(&tss(1)), "the old entry must not cut the new delay short");
        for block in 2 + LEAVE_DELAY..4 + LEAVE_DELAY {
            run_to_block(block);
            assert!(Registry::is_registered(&tss(1)));
        }
        run_to_block(4 + LEAVE_DELAY);
        assert!(!Registry::is_registered(&tss(1)));
    });
}

#[test]
fn purge_left_removes_after_the_delay() {
    new_test_ext().execute_with(|| {
        register(1);
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
        take_hooks();
        System::set_block_number(LEAVE_DELAY);
        assert_noop!(
            Registry::purge_left(RuntimeOrigin::signed(stash(7)), stash(1)),
            Error::<Test>::LeaveDelayNotPassed
        );
        System::set_block_number(1 + LEAVE_DELAY);
        // Anyone may purge.
        assert_ok!(Registry::purge_left(RuntimeOrigin::signed(stash(7)), stash(1)));
        assert_nothing_registered(1);
        assert_eq!(take_hooks(), vec![Hook::Removed(tss(1))]);
        assert_eq!(
            registry_events().last(),
            Some(&Event::ServerRemoved {
                stash: stash(1),
                tss_account: tss(1),
                reason: RemovalReason::Left,
            })
        );
        // The hook finds the queue entry stale and removes nothing more.
        let weight = run_to_block(2 + LEAVE_DELAY);
        assert_eq!(weight, hook_weight_of(1, 0));
        assert!(take_hooks().is_empty());
    });
}

#[test]
fn purge_left_errors() {
    new_test_ext().execute_with(|| {
        assert_noop!(
            Registry::purge_left(RuntimeOrigin::signed(stash(7)), stash(1)),
            Error::<Test>::UnknownServer
        );
        register(1);
        assert_noop!(
            Registry::purge_left(RuntimeOrigin::signed(stash(7)), stash(1)),
            Error::<Test>::NotLeaving
        );
        assert_noop!(
            Registry::purge_left(RuntimeOrigin::none(), stash(1)),
            DispatchError::BadOrigin
        );
    });
}

// ---------------------------------------------------------------------------------------------
// governance remove

#[test]
fn governance_removes_an_active_server_at_once() {
    new_test_ext().execute_with(|| {
        register(1);
        take_hooks();
        assert_ok!(Registry::remove(RuntimeOrigin::root(), stash(1)));
        assert_nothing_registered(1);
        assert_eq!(ServerCount::<Test>::get(), 0);
        assert_eq!(take_hooks(), vec![Hook::Removed(tss(1))]);
        assert_eq!(
            registry_events().last(),
            Some(&Event::ServerRemoved {
                stash: stash(1),
                tss_account: tss(1),
                reason: RemovalReason::Governance,
            })
        );
        // The stash and the account are free again.
        register(1);
    });
}

#[test]
fn governance_removes_a_leaving_server() {
    new_test_ext().execute_with(|| {
        register(1);
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
        take_hooks();
        assert_ok!(Registry::remove(RuntimeOrigin::root(), stash(1)));
        assert_nothing_registered(1);
        assert!(LeavingSince::<Test>::get(tss(1)).is_none());
        assert_eq!(take_hooks(), vec![Hook::Removed(tss(1))]);
    });
}

#[test]
fn remove_errors() {
    new_test_ext().execute_with(|| {
        register(1);
        assert_noop!(
            Registry::remove(RuntimeOrigin::signed(stash(1)), stash(1)),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Registry::remove(RuntimeOrigin::root(), stash(2)),
            Error::<Test>::UnknownServer
        );
        // A TSS account is not a stash.
        assert_noop!(Registry::remove(RuntimeOrigin::root(), tss(1)), Error::<Test>::UnknownServer);
    });
}

// ---------------------------------------------------------------------------------------------
// genesis, sufficients and the ServerRegistry view

#[test]
fn genesis_servers_are_registered_without_quotes() {
    let servers =
        vec![(stash(1), info(&tss(1), 1, Vec::new())), (stash(2), info(&tss(2), 2, Vec::new()))];
    take_hooks();
    let storage = RuntimeGenesisConfig {
        registry: crate::GenesisConfig { servers: servers.clone() },
        ..Default::default()
    }
    .build_storage()
    .expect("valid genesis");
    assert_eq!(take_hooks(), vec![Hook::Joined(tss(1)), Hook::Joined(tss(2))]);
    sp_io::TestExternalities::new(storage).execute_with(|| {
        for (n, (stash_account, server)) in (1u8..).zip(servers) {
            assert_eq!(Servers::<Test>::get(&stash_account), Some(server));
            assert_eq!(StashOf::<Test>::get(tss(n)), Some(stash_account));
            assert_eq!(Registry::status(&tss(n)), Some(ServerStatus::Active));
            assert_eq!(sufficients(&tss(n)), 1);
        }
        assert_eq!(ServerCount::<Test>::get(), 2);
        let mut active = Registry::active_servers();
        active.sort();
        assert_eq!(active, vec![tss(1), tss(2)]);
    });
}

#[test]
fn genesis_servers_leave_and_are_removed_like_any_other() {
    new_test_ext_with(vec![(stash(1), info(&tss(1), 1, Vec::new()))]).execute_with(|| {
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
        run_to_block(1 + LEAVE_DELAY);
        assert_nothing_registered(1);
    });
}

#[test]
#[should_panic(expected = "TSS account registered twice")]
fn genesis_rejects_a_shared_tss_account() {
    let _ = RuntimeGenesisConfig {
        registry: crate::GenesisConfig {
            servers: vec![
                (stash(1), info(&tss(1), 1, Vec::new())),
                (stash(2), info(&tss(1), 2, Vec::new())),
            ],
        },
        ..Default::default()
    }
    .build_storage();
}

#[test]
#[should_panic(expected = "stash registered twice")]
fn genesis_rejects_a_stash_twice() {
    let _ = RuntimeGenesisConfig {
        registry: crate::GenesisConfig {
            servers: vec![
                (stash(1), info(&tss(1), 1, Vec::new())),
                (stash(1), info(&tss(2), 2, Vec::new())),
            ],
        },
        ..Default::default()
    }
    .build_storage();
}

#[test]
fn sufficients_follow_registration() {
    new_test_ext().execute_with(|| {
        // An unfunded TSS account does not exist until it is registered ...
        assert!(!frame_system::Pallet::<Test>::account_exists(&tss(1)));
        register(1);
        // ... then exists on its sufficient reference alone (no balance, no provider).
        assert!(frame_system::Pallet::<Test>::account_exists(&tss(1)));
        assert_eq!(frame_system::Pallet::<Test>::providers(&tss(1)), 0);
        assert_eq!(sufficients(&tss(1)), 1);

        // A reference held by someone else survives the removal.
        frame_system::Pallet::<Test>::inc_sufficients(&tss(1));
        assert_ok!(Registry::remove(RuntimeOrigin::root(), stash(1)));
        assert_eq!(sufficients(&tss(1)), 1);
        assert!(frame_system::Pallet::<Test>::account_exists(&tss(1)));
    });
}

#[test]
fn server_registry_view() {
    new_test_ext().execute_with(|| {
        assert_eq!(Registry::status(&tss(1)), None);
        assert!(!Registry::is_registered(&tss(1)));
        assert!(!Registry::is_active(&tss(1)));
        assert!(Registry::active_servers().is_empty());
        register(1);
        register(2);
        register(3);
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(2))));
        let mut active = Registry::active_servers();
        active.sort();
        assert_eq!(active, vec![tss(1), tss(3)]);
        // Lookups are by TSS account, not by stash.
        assert_eq!(Registry::status(&stash(1)), None);
        assert_eq!(Registry::server(&stash(3)).map(|s| s.tss_account), Some(tss(3)));
    });
}

#[test]
fn register_weight_is_not_zero() {
    // Guards against a weight function silently returning zero.
    assert!(<() as crate::WeightInfo>::register().all_gt(Weight::zero()));
    assert!(<() as crate::WeightInfo>::remove().all_gt(Weight::zero()));
    assert!(<() as pallet_attestation::WeightInfo>::request_attestation().all_gt(Weight::zero()));
}

#[test]
fn genesis_config_round_trips_through_json() {
    let servers = vec![(stash(1), info(&tss(1), 1, vec![1, 2, 3]))];
    let config = crate::GenesisConfig::<Test> { servers: servers.clone() };
    let json = serde_json::to_string(&config).expect("serialisable");
    assert!(json.contains("\"servers\"") && json.contains("\"peerId\""));
    let back: crate::GenesisConfig<Test> = serde_json::from_str(&json).expect("round trip");
    assert_eq!(back.servers, servers);

    // An oversized field in a chain spec is refused, like on the wire.
    let mut value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    value["servers"][0][1]["peerId"] = serde_json::json!(vec![0u8; MAX_PEER_ID_LEN as usize + 1]);
    let refused = serde_json::from_value::<crate::GenesisConfig<Test>>(value);
    assert!(refused.is_err());

    // So is a misspelt field.
    let mut value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    value["servers"][0][1]["peer_id"] = serde_json::json!([1, 2]);
    assert!(serde_json::from_value::<crate::GenesisConfig<Test>>(value).is_err());
}

// ---------------------------------------------------------------------------------------------
// ServerIndex: the provable list of every server (the invariant that it equals `Servers` is
// also checked after every `execute_with` of every test, see `mock::TestExt`)

fn index() -> Vec<(AccountId32, AccountId32)> {
    crate::ServerIndex::<Test>::get().into_inner()
}

#[test]
fn index_is_sorted_by_tss_account_whatever_the_registration_order() {
    new_test_ext().execute_with(|| {
        for n in [3, 1, 4, 2] {
            register(n);
        }
        assert_eq!(index(), (1..=4).map(|n| (stash(n), tss(n))).collect::<Vec<_>>());
        assert_eq!(Registry::server_index(), index());
    });
}

#[test]
fn index_follows_change_of_tss_account_and_keeps_order() {
    new_test_ext().execute_with(|| {
        register(1);
        register(5);
        // Stash 5 moves to TSS account 0, which sorts before TSS account 1.
        let moved = attested(&stash(5), &tss(0), 0, QuoteContext::ChangeServerInfo);
        assert_ok!(Registry::change_server_info(RuntimeOrigin::signed(stash(5)), moved));
        assert_eq!(index(), vec![(stash(5), tss(0)), (stash(1), tss(1))]);
        // Same account, new info: the index is unchanged.
        let same = attested(&stash(1), &tss(1), 7, QuoteContext::ChangeServerInfo);
        assert_ok!(Registry::change_server_info(RuntimeOrigin::signed(stash(1)), same));
        assert_eq!(index(), vec![(stash(5), tss(0)), (stash(1), tss(1))]);
    });
}

#[test]
fn index_drops_servers_on_every_kind_of_removal() {
    new_test_ext().execute_with(|| {
        for n in 1..=4 {
            register(n);
        }
        // Governance removal.
        assert_ok!(Registry::remove(RuntimeOrigin::root(), stash(2)));
        assert_eq!(index().len(), 3);
        // Leaving: still listed while leaving (it still serves backups).
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(3))));
        assert_eq!(index().len(), 3);
        // purge_left once due, and the block hook for the other one.
        System::set_block_number(1 + LEAVE_DELAY);
        assert_ok!(Registry::purge_left(RuntimeOrigin::signed(stash(9)), stash(1)));
        assert_eq!(index(), vec![(stash(3), tss(3)), (stash(4), tss(4))]);
        run_to_block(1 + LEAVE_DELAY);
        assert_eq!(index(), vec![(stash(4), tss(4))]);
    });
}

#[test]
fn index_is_built_from_genesis_servers() {
    new_test_ext_with(vec![
        (stash(2), info(&tss(2), 2, Vec::new())),
        (stash(1), info(&tss(1), 1, Vec::new())),
    ])
    .execute_with(|| {
        assert_eq!(index(), vec![(stash(1), tss(1)), (stash(2), tss(2))]);
    });
}

#[test]
fn index_is_unchanged_by_failed_calls() {
    new_test_ext().execute_with(|| {
        for n in 1..=MAX_SERVERS as u8 {
            register(n);
        }
        let before = index();
        let extra = attested(&stash(9), &tss(9), 9, QuoteContext::Register);
        assert_noop!(
            Registry::register(RuntimeOrigin::signed(stash(9)), extra),
            Error::<Test>::TooManyServers
        );
        assert_eq!(index(), before);
    });
}

#[test]
fn index_storage_key_and_encoding_are_the_documented_ones() {
    new_test_ext().execute_with(|| {
        register(1);
        let mut key = sp_io::hashing::twox_128(b"Registry").to_vec();
        key.extend_from_slice(&sp_io::hashing::twox_128(b"ServerIndex"));
        let raw = sp_io::storage::get(&key).expect("stored under the documented key");
        let decoded = Vec::<(AccountId32, AccountId32)>::decode(&mut &raw[..]).unwrap();
        assert_eq!(decoded, vec![(stash(1), tss(1))]);
    });
}

// ---------------------------------------------------------------------------------------------
// Revision: one value a light client watches instead of re-reading every server

#[test]
fn every_change_to_the_server_list_bumps_the_revision() {
    let mut ext = new_test_ext();
    let revision = || Revision::<Test>::get();
    // Each step in its own `execute_with`, so the mock's own check (the list changed, so must
    // the revision) sees every call separately, not only the whole scenario.
    let r0 = ext.execute_with(revision);
    ext.execute_with(|| register(1));
    ext.execute_with(|| register(2));
    let r1 = ext.execute_with(revision);
    assert!(r1 > r0);
    ext.execute_with(|| {
        let new_info = attested(&stash(1), &tss(1), 7, QuoteContext::ChangeServerInfo);
        assert_ok!(Registry::change_server_info(RuntimeOrigin::signed(stash(1)), new_info));
    });
    let r2 = ext.execute_with(revision);
    assert!(r2 > r1, "change_server_info");
    ext.execute_with(|| {
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(1))));
    });
    let r3 = ext.execute_with(revision);
    assert!(r3 > r2, "leave");
    ext.execute_with(|| {
        assert_ok!(Registry::remove(RuntimeOrigin::root(), stash(2)));
    });
    let r4 = ext.execute_with(revision);
    assert!(r4 > r3, "remove");
    // A failing call changes nothing, the revision included.
    ext.execute_with(|| {
        assert_noop!(
            Registry::leave(RuntimeOrigin::signed(stash(2))),
            Error::<Test>::UnknownServer
        );
    });
    assert_eq!(ext.execute_with(revision), r4);
}

// ---------------------------------------------------------------------------------------------
// approved moves

const NEW_HOST: PlatformId = PlatformId([0xE1; 16]);
const OTHER_HOST: PlatformId = PlatformId([0xE2; 16]);

#[test]
fn approve_move_is_governance_only_and_recorded_as_an_event() {
    new_test_ext().execute_with(|| {
        register(1);
        for origin in [RuntimeOrigin::signed(stash(1)), RuntimeOrigin::signed(tss(1))] {
            assert_noop!(
                Registry::approve_move(origin, tss(1), NEW_HOST),
                DispatchError::BadOrigin
            );
        }
        assert_noop!(
            Registry::approve_move(RuntimeOrigin::none(), tss(1), NEW_HOST),
            DispatchError::BadOrigin
        );
        assert_ok!(Registry::approve_move(RuntimeOrigin::root(), tss(1), NEW_HOST));
        assert_eq!(ApprovedMoves::<Test>::get(tss(1)), Some(NEW_HOST));
        assert_eq!(Registry::approved_move(&tss(1)), Some(NEW_HOST));
        assert_eq!(
            registry_events().last(),
            Some(&Event::MoveApproved { tss_account: tss(1), platform: NEW_HOST })
        );
        // A second approval replaces the first: one platform per account.
        assert_ok!(Registry::approve_move(RuntimeOrigin::root(), tss(1), OTHER_HOST));
        assert_eq!(ApprovedMoves::<Test>::get(tss(1)), Some(OTHER_HOST));
        assert_eq!(ApprovedMoves::<Test>::iter().count(), 1);
        // Approving a move changes nothing about the server list.
        assert_eq!(ServerStatusOf::<Test>::get(tss(1)), Some(ServerStatus::Active));
    });
}

#[test]
fn only_registered_accounts_can_be_approved_a_move_so_the_map_is_bounded() {
    new_test_ext().execute_with(|| {
        // Neither an unknown account nor a stash (which is not a TSS account).
        assert_noop!(
            Registry::approve_move(RuntimeOrigin::root(), tss(1), NEW_HOST),
            Error::<Test>::UnknownTssAccount
        );
        register(1);
        assert_noop!(
            Registry::approve_move(RuntimeOrigin::root(), stash(1), NEW_HOST),
            Error::<Test>::UnknownTssAccount
        );
        // Every registered server approved: the map holds at most MaxServers entries.
        for n in 2..=MAX_SERVERS as u8 {
            register(n);
        }
        for n in 1..=MAX_SERVERS as u8 {
            assert_ok!(Registry::approve_move(RuntimeOrigin::root(), tss(n), NEW_HOST));
        }
        assert_eq!(ApprovedMoves::<Test>::iter().count(), MAX_SERVERS as usize);
        assert_noop!(
            Registry::approve_move(RuntimeOrigin::root(), tss(MAX_SERVERS as u8 + 1), NEW_HOST),
            Error::<Test>::UnknownTssAccount
        );
    });
}

#[test]
fn revoke_move_is_governance_only_and_recorded_as_an_event() {
    new_test_ext().execute_with(|| {
        register(1);
        assert_noop!(
            Registry::revoke_move(RuntimeOrigin::root(), tss(1)),
            Error::<Test>::NoApprovedMove
        );
        assert_ok!(Registry::approve_move(RuntimeOrigin::root(), tss(1), NEW_HOST));
        assert_noop!(
            Registry::revoke_move(RuntimeOrigin::signed(stash(1)), tss(1)),
            DispatchError::BadOrigin
        );
        assert_ok!(Registry::revoke_move(RuntimeOrigin::root(), tss(1)));
        assert_eq!(ApprovedMoves::<Test>::get(tss(1)), None);
        assert_eq!(registry_events().last(), Some(&Event::MoveRevoked { tss_account: tss(1) }));
        assert_noop!(
            Registry::revoke_move(RuntimeOrigin::root(), tss(1)),
            Error::<Test>::NoApprovedMove
        );
    });
}

#[test]
fn an_approved_move_ends_with_the_registration() {
    new_test_ext().execute_with(|| {
        // Governance removal.
        register(1);
        assert_ok!(Registry::approve_move(RuntimeOrigin::root(), tss(1), NEW_HOST));
        assert_ok!(Registry::remove(RuntimeOrigin::root(), stash(1)));
        assert_eq!(ApprovedMoves::<Test>::get(tss(1)), None);
        assert!(registry_events().contains(&Event::MoveRevoked { tss_account: tss(1) }));
        // Registering the same account again does not bring the approval back.
        register(1);
        assert_eq!(ApprovedMoves::<Test>::get(tss(1)), None);

        // Leaving, then purged after the delay.
        register(2);
        assert_ok!(Registry::approve_move(RuntimeOrigin::root(), tss(2), NEW_HOST));
        assert_ok!(Registry::leave(RuntimeOrigin::signed(stash(2))));
        assert_eq!(ApprovedMoves::<Test>::get(tss(2)), Some(NEW_HOST), "still registered");
        System::set_block_number(System::block_number() + LEAVE_DELAY);
        assert_ok!(Registry::purge_left(RuntimeOrigin::signed(stash(7)), stash(2)));
        assert_eq!(ApprovedMoves::<Test>::get(tss(2)), None);

        // A change of TSS account: the approval was for the old account's keys.
        assert_ok!(Registry::approve_move(RuntimeOrigin::root(), tss(1), NEW_HOST));
        let moved = attested(&stash(1), &tss(9), 9, QuoteContext::ChangeServerInfo);
        assert_ok!(Registry::change_server_info(RuntimeOrigin::signed(stash(1)), moved));
        assert_eq!(ApprovedMoves::<Test>::get(tss(1)), None);
        assert_eq!(ApprovedMoves::<Test>::get(tss(9)), None);
        assert!(registry_events().contains(&Event::MoveRevoked { tss_account: tss(1) }));
        assert_eq!(ApprovedMoves::<Test>::iter().count(), 0);
    });
}

#[test]
fn move_calls_weigh_what_weight_info_says() {
    use crate::WeightInfo;
    let weight_of =
        |call: crate::Call<Test>| RuntimeCall::Registry(call).get_dispatch_info().call_weight;
    assert_eq!(
        weight_of(crate::Call::approve_move { tss_account: tss(1), new_platform: NEW_HOST }),
        <() as WeightInfo>::approve_move()
    );
    assert_eq!(
        weight_of(crate::Call::revoke_move { tss_account: tss(1) }),
        <() as WeightInfo>::revoke_move()
    );
    // The storage value is the 16-byte PPID, as the TSS node decodes it.
    assert_eq!(NEW_HOST.encode().len(), 16);
}

#[test]
fn the_invariant_check_catches_broken_indexes() {
    let broken = |corrupt: fn(&AccountId32, &AccountId32)| {
        let mut ext = new_test_ext();
        // Register through the same helper the other tests use, then corrupt raw storage.
        ext.execute_with(|| register(1));
        let (stash, tss) = (stash(1), tss(1));
        ext.0.execute_with(|| {
            assert_eq!(Registry::do_try_state(), Ok(()));
            corrupt(&stash, &tss);
            Registry::do_try_state().is_err()
        })
    };
    assert!(broken(|_, _| ServerCount::<Test>::put(7)));
    assert!(broken(|_, tss| StashOf::<Test>::remove(tss)));
    assert!(broken(|_, tss| StashOf::<Test>::insert(tss, AccountId32::new([0xCD; 32]))));
    assert!(broken(|stash, _| Servers::<Test>::remove(stash)));
    assert!(broken(|_, tss| ServerStatusOf::<Test>::remove(tss)));
    assert!(broken(|_, tss| LeavingSince::<Test>::insert(tss, 1)));
    assert!(broken(|_, _| crate::ServerIndex::<Test>::kill()));
    assert!(broken(|_, _| ApprovedMoves::<Test>::insert(
        AccountId32::new([0xAB; 32]),
        PlatformId([1; 16])
    )));
}

/// What the registry charges for one quote verification: the mock's attestation weights, the
/// larger of the dev-mode and production-mode verification (as `verify_weight` takes it).
fn verify_weight() -> frame_support::weights::Weight {
    use pallet_attestation::WeightInfo;
    <() as WeightInfo>::verify_and_consume().max(<() as WeightInfo>::verify_production_quote())
}
