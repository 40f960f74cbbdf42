//! Unit tests: validation of `schedule_change`, the digest pallet-grandpa emits, and the set id
//! advancing exactly at the enactment block (in the same block as the new `Authorities`).

use crate::mock::*;
use crate::{Error, Event, NextAuthorities, PendingEnactment};
use codec::Decode;
use frame_support::traits::Hooks;
use frame_support::{assert_noop, assert_ok};
use sp_consensus_grandpa::{ConsensusLog, ScheduledChange, GRANDPA_ENGINE_ID};
use sp_keyring::Ed25519Keyring::{Alice, Bob, Charlie, Dave};
use sp_runtime::{traits::BadOrigin, DigestItem};

fn set(list: &[(sp_keyring::Ed25519Keyring, u64)]) -> NextAuthorities<Test> {
    list.iter().map(|(who, w)| (key(*who), *w)).collect::<Vec<_>>().try_into().unwrap()
}

/// Ends the current block (both pallets' `on_finalize`, in the runtime's order), returns its
/// GRANDPA digests, and starts the next block.
fn end_block() -> Vec<ConsensusLog<u64>> {
    let now = System::block_number();
    Grandpa::on_finalize(now);
    FinalityAuthorities::on_finalize(now);
    let logs = System::digest()
        .logs
        .iter()
        .filter_map(|item| match item {
            DigestItem::Consensus(id, data) if *id == GRANDPA_ENGINE_ID => {
                Some(ConsensusLog::<u64>::decode(&mut &data[..]).unwrap())
            }
            _ => None,
        })
        .collect();
    System::initialize(&(now + 1), &Default::default(), &Default::default());
    FinalityAuthorities::on_initialize(now + 1);
    logs
}

fn authorities() -> Vec<(sp_consensus_grandpa::AuthorityId, u64)> {
    Grandpa::grandpa_authorities()
}

#[test]
fn genesis_is_set_zero_with_alice() {
    checked(|| {
        assert_eq!(Grandpa::current_set_id(), 0);
        assert_eq!(authorities(), vec![(key(Alice), 1)]);
    });
}

#[test]
fn only_governance_schedules() {
    checked(|| {
        assert_noop!(
            FinalityAuthorities::schedule_change(RuntimeOrigin::signed(1), set(&[(Bob, 1)]), 2),
            BadOrigin
        );
    });
}

#[test]
fn refuses_bad_sets_with_typed_errors() {
    checked(|| {
        let root = || RuntimeOrigin::root();
        assert_noop!(
            FinalityAuthorities::schedule_change(root(), set(&[]), 2),
            Error::<Test>::EmptyAuthoritySet
        );
        assert_noop!(
            FinalityAuthorities::schedule_change(root(), set(&[(Bob, 1), (Charlie, 0)]), 2),
            Error::<Test>::ZeroWeight
        );
        assert_noop!(
            FinalityAuthorities::schedule_change(root(), set(&[(Bob, 1), (Bob, 2)]), 2),
            Error::<Test>::DuplicateAuthority
        );
        assert_noop!(
            FinalityAuthorities::schedule_change(root(), set(&[(Bob, u64::MAX), (Charlie, 1)]), 2),
            Error::<Test>::WeightOverflow
        );
        assert_noop!(
            FinalityAuthorities::schedule_change(root(), set(&[(Bob, 1)]), u64::MAX),
            Error::<Test>::DelayTooLong
        );
    });
}

#[test]
fn refuses_a_second_change_while_one_is_pending() {
    checked(|| {
        assert_ok!(FinalityAuthorities::schedule_change(
            RuntimeOrigin::root(),
            set(&[(Bob, 1)]),
            3
        ));
        assert_noop!(
            FinalityAuthorities::schedule_change(RuntimeOrigin::root(), set(&[(Charlie, 1)]), 1),
            Error::<Test>::ChangePending
        );
        // Still pending in the blocks up to the enactment.
        end_block();
        end_block();
        assert_noop!(
            FinalityAuthorities::schedule_change(RuntimeOrigin::root(), set(&[(Charlie, 1)]), 1),
            Error::<Test>::ChangePending
        );
        end_block(); // block 3
        end_block(); // block 4 = 1 + 3: enacted
        assert_eq!(PendingEnactment::<Test>::get(), None);
        assert_ok!(FinalityAuthorities::schedule_change(
            RuntimeOrigin::root(),
            set(&[(Charlie, 1)]),
            1
        ));
    });
}

#[test]
fn digest_in_scheduling_block_and_set_id_advances_at_enactment() {
    checked(|| {
        let next = set(&[(Bob, 1), (Charlie, 1)]);
        assert_ok!(FinalityAuthorities::schedule_change(RuntimeOrigin::root(), next.clone(), 2));
        System::assert_last_event(
            Event::<Test>::ChangeScheduled {
                next_authorities: next.clone().into_inner(),
                delay: 2,
                enacted_at: 3,
                next_set_id: 1,
            }
            .into(),
        );
        // Block 1 (B) carries the standard digest.
        let logs = end_block();
        assert_eq!(
            logs,
            vec![ConsensusLog::ScheduledChange(ScheduledChange {
                next_authorities: next.clone().into_inner(),
                delay: 2
            })]
        );
        // After B and B+1 the old set (id 0) still finalizes what follows.
        assert_eq!((Grandpa::current_set_id(), authorities()), (0, vec![(key(Alice), 1)]));
        assert!(end_block().is_empty()); // block 2
        assert_eq!((Grandpa::current_set_id(), authorities()), (0, vec![(key(Alice), 1)]));
        // Block 3 = B + delay: at its end, id and authorities move together.
        assert!(end_block().is_empty());
        assert_eq!(Grandpa::current_set_id(), 1);
        assert_eq!(authorities(), next.into_inner());
        assert!(System::events()
            .iter()
            .any(|r| r.event == Event::<Test>::SetIdAdvanced { set_id: 1 }.into()));
    });
}

#[test]
fn zero_delay_enacts_in_the_same_block() {
    checked(|| {
        assert_ok!(FinalityAuthorities::schedule_change(
            RuntimeOrigin::root(),
            set(&[(Dave, 3)]),
            0
        ));
        let logs = end_block();
        assert_eq!(logs.len(), 1);
        assert_eq!(Grandpa::current_set_id(), 1);
        assert_eq!(authorities(), vec![(key(Dave), 3)]);
    });
}

#[test]
fn hook_order_does_not_matter() {
    checked(|| {
        assert_ok!(FinalityAuthorities::schedule_change(
            RuntimeOrigin::root(),
            set(&[(Bob, 1)]),
            1
        ));
        end_block();
        // Block 2 = enactment: run this pallet's hook before pallet-grandpa's.
        FinalityAuthorities::on_finalize(2);
        Grandpa::on_finalize(2);
        assert_eq!(Grandpa::current_set_id(), 1);
        assert_eq!(authorities(), vec![(key(Bob), 1)]);
    });
}

#[test]
fn on_initialize_charges_more_when_due() {
    checked(|| {
        let idle = FinalityAuthorities::on_initialize(1);
        assert_ok!(FinalityAuthorities::schedule_change(
            RuntimeOrigin::root(),
            set(&[(Bob, 1)]),
            0
        ));
        assert!(FinalityAuthorities::on_initialize(1).ref_time() > idle.ref_time());
    });
}

#[test]
fn broken_storage_is_caught_by_the_invariants() {
    let broken = |corrupt: fn()| {
        new_test_ext().execute_with(|| {
            assert_ok!(FinalityAuthorities::do_try_state());
            assert_ok!(FinalityAuthorities::schedule_change(
                RuntimeOrigin::root(),
                set(&[(Bob, 1)]),
                2
            ));
            assert_ok!(FinalityAuthorities::do_try_state());
            corrupt();
            format!("{:?}", FinalityAuthorities::do_try_state().unwrap_err())
        })
    };
    // The enactment forgotten, or left behind after pallet-grandpa enacted the change.
    assert!(broken(PendingEnactment::<Test>::kill).contains("without its enactment"));
    assert!(
        broken(pallet_grandpa::PendingChange::<Test>::kill).contains("without a GRANDPA change")
    );
    // The enactment block moved away from scheduled_at + delay, or into the past.
    assert!(broken(|| PendingEnactment::<Test>::put(9)).contains("scheduled_at + delay"));
    let past = || {
        PendingEnactment::<Test>::put(3);
        System::set_block_number(5);
    };
    assert!(broken(past).contains("in the past"));
    // No authorities at all.
    let empty = || {
        pallet_grandpa::PendingChange::<Test>::kill();
        PendingEnactment::<Test>::kill();
        pallet_grandpa::Authorities::<Test>::kill();
    };
    assert!(broken(empty).contains("authority set is empty"));
}
