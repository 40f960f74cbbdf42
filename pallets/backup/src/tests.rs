//! Unit tests of `pallet-backup` against the mock runtime: every call, every error, the events,
//! the reverse index, staleness, the feeless predicates and the queries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{mock::*, Assignments, ClientCount, ClientsOf, Confirmations, Error, Event, Revision};
use codec::{Decode, Encode};
use frame_support::{assert_noop, assert_ok, dispatch::CheckIfFeeless};
use peerseal_primitives::rendezvous;
use sp_runtime::DispatchError;

const COMMIT: [u8; 32] = [7; 32];

fn providers(list: &[(u64, u8)]) -> crate::ProvidersOf<Test> {
    list.to_vec().try_into().unwrap()
}

fn signed(who: u64) -> RuntimeOrigin {
    RuntimeOrigin::signed(who)
}

fn record(
    client: u64,
    epoch: u64,
    threshold: u8,
    list: &[(u64, u8)],
) -> sp_runtime::DispatchResult {
    Backup::record_backup(signed(client), epoch, threshold, providers(list), COMMIT, None)
}

fn clients_of(provider: u64) -> Vec<u64> {
    let mut clients = Backup::clients_of(&provider);
    clients.sort();
    clients
}

fn backup_events() -> Vec<Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|r| match r.event {
            RuntimeEvent::Backup(e) => Some(e),
            _ => None,
        })
        .collect()
}

// ---- record_backup ----

#[test]
fn record_backup_stores_assignment_index_and_event() {
    checked(|| {
        System::set_block_number(5);
        assert_ok!(record(1, 1, 2, &[(2, 1), (3, 2), (4, 3)]));

        let a = Assignments::<Test>::get(1).unwrap();
        assert_eq!(a.epoch, 1);
        assert_eq!(a.threshold, 2);
        assert_eq!(a.providers.to_vec(), vec![(2, 1), (3, 2), (4, 3)]);
        assert_eq!(a.commitment, COMMIT);
        assert_eq!(a.recorded_at, 5);
        assert!(!a.stale);
        for p in [2, 3, 4] {
            assert!(ClientsOf::<Test>::contains_key(p, 1));
            assert_eq!(ClientCount::<Test>::get(p), 1);
        }
        assert!(!ClientsOf::<Test>::contains_key(5, 1));
        System::assert_last_event(
            Event::BackupRecorded {
                client: 1,
                epoch: 1,
                threshold: 2,
                providers: providers(&[(2, 1), (3, 2), (4, 3)]),
                commitment: COMMIT,
            }
            .into(),
        );
    });
}

#[test]
fn record_backup_rejects_unsigned_origins() {
    checked(|| {
        for origin in [RuntimeOrigin::root(), RuntimeOrigin::none()] {
            assert_noop!(
                Backup::record_backup(origin, 1, 1, providers(&[(2, 1)]), COMMIT, None),
                DispatchError::BadOrigin
            );
        }
    });
}

#[test]
fn record_backup_requires_registered_client() {
    checked(|| {
        assert_noop!(record(99, 1, 1, &[(2, 1)]), Error::<Test>::NotRegistered);
        // A leaving server is still registered and may still record its own backup.
        start_leaving(1);
        assert_ok!(record(1, 1, 1, &[(2, 1)]));
    });
}

#[test]
fn record_backup_rejects_stale_epoch() {
    checked(|| {
        assert_ok!(record(1, 5, 1, &[(2, 1)]));
        assert_noop!(record(1, 5, 1, &[(3, 1)]), Error::<Test>::StaleEpoch);
        assert_noop!(record(1, 4, 1, &[(3, 1)]), Error::<Test>::StaleEpoch);
        assert_ok!(record(1, 6, 1, &[(3, 1)]));
        // Epoch 0 is fine for a first record.
        assert_ok!(record(2, 0, 1, &[(3, 1)]));
    });
}

#[test]
fn record_backup_rejects_empty_providers() {
    checked(|| {
        assert_noop!(record(1, 1, 1, &[]), Error::<Test>::NoProviders);
    });
}

#[test]
fn record_backup_rejects_zero_threshold() {
    checked(|| {
        assert_noop!(record(1, 1, 0, &[(2, 1)]), Error::<Test>::ZeroThreshold);
    });
}

#[test]
fn record_backup_rejects_threshold_above_providers() {
    checked(|| {
        assert_noop!(record(1, 1, 3, &[(2, 1), (3, 2)]), Error::<Test>::ThresholdAboveProviders);
        assert_ok!(record(1, 1, 2, &[(2, 1), (3, 2)]));
    });
}

#[test]
fn record_backup_rejects_duplicate_provider() {
    checked(|| {
        assert_noop!(record(1, 1, 1, &[(2, 1), (3, 2), (2, 3)]), Error::<Test>::DuplicateProvider);
    });
}

#[test]
fn record_backup_rejects_duplicate_share_index() {
    checked(|| {
        assert_noop!(
            record(1, 1, 1, &[(2, 1), (3, 2), (4, 1)]),
            Error::<Test>::DuplicateShareIndex
        );
    });
}

#[test]
fn record_backup_rejects_self_as_provider() {
    checked(|| {
        assert_noop!(record(1, 1, 1, &[(2, 1), (1, 2)]), Error::<Test>::SelfAsProvider);
    });
}

#[test]
fn record_backup_rejects_unknown_provider() {
    checked(|| {
        assert_noop!(record(1, 1, 1, &[(2, 1), (42, 2)]), Error::<Test>::ProviderNotRegistered);
    });
}

#[test]
fn record_backup_rejects_leaving_provider() {
    checked(|| {
        start_leaving(3);
        assert_noop!(record(1, 1, 1, &[(2, 1), (3, 2)]), Error::<Test>::ProviderLeaving);
    });
}

#[test]
fn record_backup_rejects_full_provider_but_keeps_existing_clients() {
    checked(|| {
        // MaxClientsPerProvider = 3.
        for client in [1, 2, 3] {
            assert_ok!(record(client, 1, 1, &[(6, 1)]));
        }
        assert_eq!(ClientCount::<Test>::get(6), 3);
        assert_noop!(record(4, 1, 1, &[(5, 1), (6, 2)]), Error::<Test>::ProviderFull);
        // A client that 6 already serves may record again with 6.
        assert_ok!(record(1, 2, 1, &[(6, 1), (5, 2)]));
        assert_eq!(ClientCount::<Test>::get(6), 3);
        // Once a client moves away, there is room again.
        assert_ok!(record(2, 2, 1, &[(5, 1)]));
        assert_eq!(ClientCount::<Test>::get(6), 2);
        assert_ok!(record(4, 1, 1, &[(5, 1), (6, 2)]));
    });
}

#[test]
fn too_many_providers_do_not_decode() {
    // MaxProviders = 4: a call carrying five providers is rejected by the codec, before dispatch.
    let encode_call = |n: u8| {
        let list: Vec<(u64, u8)> = (0..n).map(|i| (u64::from(i) + 2, i)).collect();
        let mut bytes = vec![0u8]; // call index of record_backup
        bytes.extend(1u64.encode());
        bytes.extend(1u8.encode());
        bytes.extend(list.encode());
        bytes.extend(COMMIT.encode());
        bytes.extend(None::<crate::SealedRecoveryOf<Test>>.encode());
        bytes
    };
    assert!(crate::Call::<Test>::decode(&mut &encode_call(4)[..]).is_ok());
    assert!(crate::Call::<Test>::decode(&mut &encode_call(5)[..]).is_err());
    let five: Vec<(u64, u8)> = (0..5).map(|i| (i + 2, i as u8)).collect();
    assert!(crate::ProvidersOf::<Test>::try_from(five).is_err());
}

#[test]
fn replacing_an_assignment_keeps_the_reverse_index_exact() {
    checked(|| {
        assert_ok!(record(1, 1, 2, &[(2, 1), (3, 2)]));
        assert_ok!(record(5, 1, 1, &[(2, 1)]));
        assert_ok!(Backup::confirm_backup(signed(2), 1, 1));
        assert_ok!(Backup::confirm_backup(signed(3), 1, 1));

        assert_ok!(record(1, 2, 2, &[(3, 7), (4, 8)]));
        assert_eq!(clients_of(2), vec![5]);
        assert_eq!(ClientCount::<Test>::get(2), 1);
        assert_eq!(clients_of(3), vec![1]);
        assert_eq!(ClientCount::<Test>::get(3), 1);
        assert_eq!(clients_of(4), vec![1]);
        assert_eq!(ClientCount::<Test>::get(4), 1);
        // Confirmations of the old epoch are gone, for kept and dropped providers alike.
        assert_eq!(Confirmations::<Test>::get(1, 2), None);
        assert_eq!(Confirmations::<Test>::get(1, 3), None);
        assert!(Backup::confirmed_by(&1).is_empty());

        // Dropping the last client of a provider removes its count entry entirely.
        assert_ok!(record(5, 2, 1, &[(4, 1)]));
        assert!(clients_of(2).is_empty());
        assert!(!ClientCount::<Test>::contains_key(2));
        assert_eq!(ClientCount::<Test>::get(4), 2);
    });
}

// ---- confirm_backup ----

#[test]
fn confirm_backup_records_confirmation_and_event() {
    checked(|| {
        assert_ok!(record(1, 3, 2, &[(2, 1), (3, 2)]));
        assert_ok!(Backup::confirm_backup(signed(3), 1, 3));
        assert_eq!(Confirmations::<Test>::get(1, 3), Some(3));
        assert_eq!(Backup::confirmed_by(&1), vec![3]);
        System::assert_last_event(
            Event::BackupConfirmed { client: 1, provider: 3, epoch: 3 }.into(),
        );
        assert_ok!(Backup::confirm_backup(signed(2), 1, 3));
        assert_eq!(Backup::confirmed_by(&1), vec![2, 3]);
    });
}

#[test]
fn confirm_backup_errors() {
    checked(|| {
        assert_noop!(Backup::confirm_backup(RuntimeOrigin::root(), 1, 1), DispatchError::BadOrigin);
        assert_noop!(Backup::confirm_backup(signed(2), 1, 1), Error::<Test>::NoAssignment);
        assert_ok!(record(1, 3, 1, &[(2, 1)]));
        assert_noop!(Backup::confirm_backup(signed(99), 1, 3), Error::<Test>::NotRegistered);
        assert_noop!(Backup::confirm_backup(signed(2), 1, 2), Error::<Test>::EpochMismatch);
        assert_noop!(Backup::confirm_backup(signed(2), 1, 4), Error::<Test>::EpochMismatch);
        assert_noop!(Backup::confirm_backup(signed(3), 1, 3), Error::<Test>::NotAProvider);
        assert_ok!(Backup::confirm_backup(signed(2), 1, 3));
        assert_noop!(Backup::confirm_backup(signed(2), 1, 3), Error::<Test>::AlreadyConfirmed);
    });
}

// ---- report_recovery ----

#[test]
fn report_recovery_emits_audit_event() {
    checked(|| {
        assert_ok!(record(1, 9, 1, &[(2, 1), (3, 2)]));
        assert_ok!(Backup::report_recovery(signed(1), 3, 9));
        System::assert_last_event(Event::KeyRecovered { client: 1, provider: 3, epoch: 9 }.into());
        // Reporting changes no state.
        assert_eq!(Assignments::<Test>::get(1).unwrap().epoch, 9);
    });
}

#[test]
fn report_recovery_errors() {
    checked(|| {
        assert_noop!(
            Backup::report_recovery(RuntimeOrigin::none(), 2, 1),
            DispatchError::BadOrigin
        );
        assert_noop!(Backup::report_recovery(signed(99), 2, 1), Error::<Test>::NotRegistered);
        assert_noop!(Backup::report_recovery(signed(1), 2, 1), Error::<Test>::NoAssignment);
        assert_ok!(record(1, 2, 1, &[(2, 1)]));
        assert_noop!(Backup::report_recovery(signed(1), 2, 1), Error::<Test>::EpochMismatch);
        assert_noop!(Backup::report_recovery(signed(1), 3, 2), Error::<Test>::NotAProvider);
    });
}

// ---- registry hooks ----

#[test]
fn hook_weights_state_the_worst_case_for_the_configured_bounds() {
    use crate::WeightInfo;
    use peerseal_primitives::{HookWeight, OnServerChange};
    let as_hook =
        |w: frame_support::weights::Weight| HookWeight::from_parts(w.ref_time(), w.proof_size());
    // The mock allows 3 clients per provider and 4 providers per assignment.
    assert_eq!(<Backup as OnServerChange<u64>>::joined_weight(), HookWeight::ZERO);
    let leaving = <Backup as OnServerChange<u64>>::leaving_weight();
    assert_eq!(leaving, as_hook(<() as WeightInfo>::on_provider_leaving(3)));
    let removed = <Backup as OnServerChange<u64>>::removed_weight();
    assert_eq!(removed, as_hook(<() as WeightInfo>::on_server_removed(3, 4)));
    // The worst case really is worse than a provider without clients.
    let empty = as_hook(<() as WeightInfo>::on_server_removed(0, 0));
    assert!(removed.ref_time > empty.ref_time && removed.proof_size > empty.proof_size);
    assert!(leaving.ref_time > as_hook(<() as WeightInfo>::on_provider_leaving(0)).ref_time);
}

#[test]
fn leaving_provider_names_its_clients_without_changing_state() {
    checked(|| {
        assert_ok!(record(1, 1, 1, &[(3, 1)]));
        assert_ok!(record(2, 1, 1, &[(3, 1), (4, 2)]));
        assert_ok!(record(5, 1, 1, &[(4, 1)]));
        start_leaving(3);
        let Some(Event::ProviderLeaving { provider, mut clients }) = backup_events().pop() else {
            panic!("expected ProviderLeaving, got {:?}", backup_events());
        };
        clients.sort();
        assert_eq!((provider, clients), (3, vec![1, 2]));
        assert!(!Assignments::<Test>::get(1).unwrap().stale);
        assert_eq!(clients_of(3), vec![1, 2]);
        // A leaving provider still confirms what it holds.
        assert_ok!(Backup::confirm_backup(signed(3), 1, 1));
    });
}

#[test]
fn removed_provider_emits_provider_left_and_marks_assignments_stale() {
    checked(|| {
        assert_ok!(record(1, 1, 1, &[(3, 1), (4, 2)]));
        assert_ok!(record(2, 1, 1, &[(3, 1)]));
        assert_ok!(record(5, 1, 1, &[(4, 1)]));
        assert_ok!(Backup::confirm_backup(signed(3), 1, 1));
        assert_ok!(Backup::confirm_backup(signed(4), 1, 1));

        remove(3);
        let events = backup_events();
        let left: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::ProviderLeft { provider, clients } => Some((*provider, clients.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(left.len(), 1);
        let (provider, mut clients) = left[0].clone();
        clients.sort();
        assert_eq!((provider, clients), (3, vec![1, 2]));

        assert!(Assignments::<Test>::get(1).unwrap().stale);
        assert!(Assignments::<Test>::get(2).unwrap().stale);
        assert!(!Assignments::<Test>::get(5).unwrap().stale);
        assert!(clients_of(3).is_empty());
        assert!(!ClientCount::<Test>::contains_key(3));
        assert_eq!(Confirmations::<Test>::get(1, 3), None);
        assert_eq!(Confirmations::<Test>::get(1, 4), Some(1));
        // 3 had no assignment of its own.
        assert!(!events.iter().any(|e| matches!(e, Event::BackupDropped { .. })));

        // The client re-backs up: fresh, not stale, and the index stays exact.
        assert_ok!(record(1, 2, 1, &[(4, 1), (6, 2)]));
        assert!(!Assignments::<Test>::get(1).unwrap().stale);
        assert_eq!(clients_of(4), vec![1, 5]);
        assert_eq!(ClientCount::<Test>::get(4), 2);
        assert_eq!(clients_of(6), vec![1]);
        assert!(!ClientCount::<Test>::contains_key(3));
    });
}

#[test]
fn removed_server_without_clients_still_reports_empty_provider_left() {
    checked(|| {
        remove(6);
        assert_eq!(backup_events(), vec![Event::ProviderLeft { provider: 6, clients: vec![] }]);
    });
}

#[test]
fn removed_client_drops_its_assignment_and_frees_its_providers() {
    checked(|| {
        assert_ok!(record(1, 4, 2, &[(2, 1), (3, 2)]));
        assert_ok!(Backup::confirm_backup(signed(2), 1, 4));
        remove(1);
        assert_eq!(Assignments::<Test>::get(1), None);
        assert!(clients_of(2).is_empty() && clients_of(3).is_empty());
        assert!(!ClientCount::<Test>::contains_key(2));
        assert_eq!(Confirmations::<Test>::get(1, 2), None);
        System::assert_last_event(
            Event::BackupDropped { client: 1, epoch: 4, providers: vec![2, 3] }.into(),
        );
    });
}

#[test]
fn revision_moves_with_every_assignment_change_and_only_then() {
    checked(|| {
        assert_eq!(Revision::<Test>::get(), 0);
        assert_ok!(record(1, 1, 1, &[(3, 1), (4, 2)]));
        assert_eq!(Revision::<Test>::get(), 1);
        // A failed record changes nothing.
        assert!(record(1, 1, 1, &[(3, 1)]).is_err());
        assert_eq!(Revision::<Test>::get(), 1);
        // Confirmations, audit reports and a leaving provider leave the assignments alone.
        assert_ok!(Backup::confirm_backup(signed(3), 1, 1));
        assert_ok!(Backup::report_recovery(signed(1), 3, 1));
        start_leaving(4);
        assert_eq!(Revision::<Test>::get(), 1);
        // Replacing an assignment moves it.
        assert_ok!(record(1, 2, 1, &[(3, 1)]));
        assert_eq!(Revision::<Test>::get(), 2);
        // A removed server without clients or an assignment of its own changes no assignment.
        remove(6);
        assert_eq!(Revision::<Test>::get(), 2);
        // A removed provider marks its clients stale; a removed client loses its assignment.
        remove(3);
        assert_eq!(Revision::<Test>::get(), 3);
        assert_ok!(record(2, 1, 1, &[(5, 1)]));
        assert_eq!(Revision::<Test>::get(), 4);
        remove(2);
        assert_eq!(Revision::<Test>::get(), 5);
    });
}

// ---- queries ----

#[test]
fn candidate_providers_follow_rendezvous_and_skip_self_leaving_and_full() {
    checked(|| {
        let encoded = |ids: &[u64]| ids.iter().map(|a| a.encode()).collect::<Vec<_>>();
        let expected = |client: u64, ids: &[u64], epoch: u64| -> Vec<u64> {
            rendezvous::order(&client.encode(), &encoded(ids), epoch)
                .into_iter()
                .map(|b| u64::decode(&mut &b[..]).unwrap())
                .collect()
        };
        let got = Backup::candidate_providers(&1, 3);
        assert_eq!(got, expected(1, &[2, 3, 4, 5, 6], 3));
        assert!(!got.contains(&1));

        start_leaving(4);
        assert_eq!(Backup::candidate_providers(&1, 3), expected(1, &[2, 3, 5, 6], 3));

        // Fill provider 6 (3 clients); it disappears for others but not for its own clients.
        for client in [2, 3, 5] {
            assert_ok!(record(client, 1, 1, &[(6, 1)]));
        }
        assert_eq!(Backup::candidate_providers(&1, 3), expected(1, &[2, 3, 5], 3));
        assert_eq!(Backup::candidate_providers(&2, 3), expected(2, &[1, 3, 5, 6], 3));

        // A server that joins becomes a candidate; joining emits nothing.
        let before = System::events().len();
        join(7);
        assert_eq!(System::events().len(), before);
        assert_eq!(Backup::candidate_providers(&1, 3), expected(1, &[2, 3, 5, 7], 3));
    });
}

#[test]
fn assignment_info_reports_assignment_and_confirmations() {
    checked(|| {
        assert_eq!(Backup::assignment_info(&1), None);
        System::set_block_number(12);
        assert_ok!(record(1, 2, 1, &[(2, 1), (3, 2)]));
        assert_ok!(Backup::confirm_backup(signed(2), 1, 2));
        let info = Backup::assignment_info(&1).unwrap();
        assert_eq!(
            info,
            crate::runtime_api::AssignmentInfo {
                epoch: 2,
                threshold: 1,
                providers: vec![(2, 1), (3, 2)],
                commitment: COMMIT,
                recorded_at: 12,
                stale: false,
                confirmed_by: vec![2],
            }
        );
        assert_eq!(Backup::assignment_of(&1).map(|a| a.epoch), Some(2));
    });
}

// ---- feeless predicates ----

#[test]
fn record_backup_is_feeless_only_for_registered_servers_with_valid_calls() {
    checked(|| {
        let call = |epoch: u64| crate::Call::<Test>::record_backup {
            epoch,
            threshold: 1,
            providers: providers(&[(2, 1)]),
            commitment: COMMIT,
            recovery: None,
        };
        assert!(call(1).is_feeless(&signed(1)));
        assert!(!call(1).is_feeless(&signed(99)), "unregistered signer pays");
        assert!(!call(1).is_feeless(&RuntimeOrigin::root()));
        assert_ok!(record(1, 1, 1, &[(2, 1)]));
        assert!(!call(1).is_feeless(&signed(1)), "a call that would fail pays");
        assert!(call(2).is_feeless(&signed(1)));
        let to_self = crate::Call::<Test>::record_backup {
            epoch: 5,
            threshold: 1,
            providers: providers(&[(1, 1)]),
            commitment: COMMIT,
            recovery: None,
        };
        assert!(!to_self.is_feeless(&signed(1)));
    });
}

#[test]
fn confirm_and_report_are_feeless_only_when_valid() {
    checked(|| {
        assert_ok!(record(1, 1, 1, &[(2, 1)]));
        let confirm = crate::Call::<Test>::confirm_backup { client: 1, epoch: 1 };
        assert!(confirm.is_feeless(&signed(2)));
        assert!(!confirm.is_feeless(&signed(3)));
        assert_ok!(Backup::confirm_backup(signed(2), 1, 1));
        assert!(!confirm.is_feeless(&signed(2)), "a second confirmation would fail, so it pays");

        let report = crate::Call::<Test>::report_recovery { provider: 2, epoch: 1 };
        assert!(report.is_feeless(&signed(1)));
        assert!(!report.is_feeless(&signed(3)));
        let wrong_epoch = crate::Call::<Test>::report_recovery { provider: 2, epoch: 0 };
        assert!(!wrong_epoch.is_feeless(&signed(1)));
    });
}

// ---- recovery operators and sealed recovery shares ----

fn operators(list: &[(u64, u8)]) -> crate::OperatorsOf<Test> {
    list.iter()
        .map(|&(account, key)| crate::RecoveryOperator { account, x25519_public_key: [key; 32] })
        .collect::<Vec<_>>()
        .try_into()
        .unwrap()
}

fn sealed(operator_set: u32, shares: &[&[u8]]) -> crate::SealedRecoveryOf<Test> {
    crate::SealedRecovery {
        operator_set,
        shares: shares
            .iter()
            .map(|s| s.to_vec().try_into().unwrap())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap(),
    }
}

fn record_sealed(
    client: u64,
    epoch: u64,
    recovery: Option<crate::SealedRecoveryOf<Test>>,
) -> sp_runtime::DispatchResult {
    Backup::record_backup(signed(client), epoch, 1, providers(&[(2, 1)]), COMMIT, recovery)
}

#[test]
fn only_governance_sets_recovery_operators_and_each_set_gets_a_fresh_revision() {
    checked(|| {
        assert_noop!(
            Backup::set_recovery_operators(signed(1), operators(&[(90, 1)]), 1),
            DispatchError::BadOrigin
        );
        assert_ok!(Backup::set_recovery_operators(
            RuntimeOrigin::root(),
            operators(&[(90, 1), (91, 2), (92, 3)]),
            2
        ));
        let set = Backup::recovery_operators().unwrap();
        assert_eq!((set.revision, set.threshold, set.operators.len()), (1, 2, 3));
        System::assert_last_event(
            Event::RecoveryOperatorsSet { revision: 1, threshold: 2, operators: vec![90, 91, 92] }
                .into(),
        );
        // Clearing and setting again never reuses a revision.
        assert_ok!(Backup::set_recovery_operators(RuntimeOrigin::root(), operators(&[]), 0));
        assert!(Backup::recovery_operators().is_none());
        assert_ok!(Backup::set_recovery_operators(RuntimeOrigin::root(), operators(&[(90, 1)]), 1));
        assert_eq!(Backup::recovery_operators().unwrap().revision, 3);
    });
}

#[test]
fn operator_sets_with_a_bad_threshold_or_duplicates_are_rejected() {
    checked(|| {
        let root = || RuntimeOrigin::root();
        for (list, threshold) in
            [(&[(90, 1), (91, 2)][..], 0), (&[(90, 1), (91, 2)][..], 3), (&[][..], 1)]
        {
            assert_noop!(
                Backup::set_recovery_operators(root(), operators(list), threshold),
                Error::<Test>::OperatorThresholdInvalid
            );
        }
        assert_noop!(
            Backup::set_recovery_operators(root(), operators(&[(90, 1), (90, 2)]), 1),
            Error::<Test>::DuplicateOperator
        );
        assert_noop!(
            Backup::set_recovery_operators(root(), operators(&[(90, 1), (91, 1)]), 1),
            Error::<Test>::DuplicateOperator
        );
        // MaxRecoveryOperators = 3: a fourth does not even fit the bounded parameter.
        let four: Vec<_> = (0..4u8)
            .map(|i| crate::RecoveryOperator {
                account: 90 + u64::from(i),
                x25519_public_key: [i; 32],
            })
            .collect();
        assert!(crate::OperatorsOf::<Test>::try_from(four).is_err());
    });
}

#[test]
fn backups_carry_sealed_shares_exactly_while_operators_are_set() {
    checked(|| {
        // No operators: shares are refused, none is fine.
        assert_noop!(
            record_sealed(1, 1, Some(sealed(1, &[b"a"]))),
            Error::<Test>::RecoverySharesUnexpected
        );
        assert_ok!(record_sealed(1, 1, None));
        assert!(crate::RecoveryShares::<Test>::get(1).is_none());

        assert_ok!(Backup::set_recovery_operators(
            RuntimeOrigin::root(),
            operators(&[(90, 1), (91, 2)]),
            2
        ));
        assert_noop!(record_sealed(1, 2, None), Error::<Test>::RecoverySharesMissing);
        assert_noop!(
            record_sealed(1, 2, Some(sealed(7, &[b"a", b"b"]))),
            Error::<Test>::OperatorSetChanged
        );
        assert_noop!(
            record_sealed(1, 2, Some(sealed(1, &[b"a"]))),
            Error::<Test>::RecoveryShareCountMismatch
        );
        assert_noop!(
            record_sealed(1, 2, Some(sealed(1, &[b"a", b""]))),
            Error::<Test>::EmptyRecoveryShare
        );
        assert_ok!(record_sealed(1, 2, Some(sealed(1, &[b"share-a", b"share-b"]))));
        let recorded = crate::RecoveryShares::<Test>::get(1).unwrap();
        assert_eq!(recorded.epoch, 2);
        assert_eq!(recorded.sealed, sealed(1, &[b"share-a", b"share-b"]));
        System::assert_last_event(
            Event::RecoverySharesRecorded { client: 1, epoch: 2, operator_set: 1 }.into(),
        );

        // A new set: the recorded shares stay until the node re-seals, which replaces them.
        assert_ok!(Backup::set_recovery_operators(RuntimeOrigin::root(), operators(&[(92, 3)]), 1));
        assert_eq!(crate::RecoveryShares::<Test>::get(1).unwrap().sealed.operator_set, 1);
        assert_ok!(record_sealed(1, 3, Some(sealed(2, &[b"share-c"]))));
        assert_eq!(crate::RecoveryShares::<Test>::get(1).unwrap().epoch, 3);

        // Operators cleared: the next backup carries none and the old shares are dropped.
        assert_ok!(Backup::set_recovery_operators(RuntimeOrigin::root(), operators(&[]), 0));
        assert_ok!(record_sealed(1, 4, None));
        assert!(crate::RecoveryShares::<Test>::get(1).is_none());
    });
}

#[test]
fn oversized_sealed_shares_do_not_decode() {
    // MaxSealedShareLen = 8.
    assert!(crate::SealedRecoveryOf::<Test>::decode(&mut &(1u32, vec![vec![0u8; 8]]).encode()[..])
        .is_ok());
    assert!(crate::SealedRecoveryOf::<Test>::decode(&mut &(1u32, vec![vec![0u8; 9]]).encode()[..])
        .is_err());
    assert!(crate::SealedRecoveryOf::<Test>::decode(&mut &(1u32, vec![vec![1u8]; 4]).encode()[..])
        .is_err());
}

#[test]
fn recovery_shares_are_dropped_with_a_removed_server() {
    checked(|| {
        assert_ok!(Backup::set_recovery_operators(RuntimeOrigin::root(), operators(&[(90, 1)]), 1));
        assert_ok!(record_sealed(1, 1, Some(sealed(1, &[b"share"]))));
        remove(1);
        assert!(crate::RecoveryShares::<Test>::get(1).is_none());
    });
}

#[test]
fn recoveries_by_operators_are_reported_for_the_recorded_epoch_only() {
    checked(|| {
        assert_noop!(
            Backup::report_recovered_by_operators(signed(1), 1),
            Error::<Test>::NoRecoveryShares
        );
        assert_ok!(Backup::set_recovery_operators(RuntimeOrigin::root(), operators(&[(90, 1)]), 1));
        assert_ok!(record_sealed(1, 1, Some(sealed(1, &[b"share"]))));
        assert_noop!(
            Backup::report_recovered_by_operators(signed(1), 2),
            Error::<Test>::NoRecoveryShares
        );
        assert_noop!(
            Backup::report_recovered_by_operators(signed(99), 1),
            Error::<Test>::NotRegistered
        );
        let report = crate::Call::<Test>::report_recovered_by_operators { epoch: 1 };
        assert!(report.is_feeless(&signed(1)));
        assert!(
            !crate::Call::<Test>::report_recovered_by_operators { epoch: 2 }.is_feeless(&signed(1))
        );
        assert_ok!(Backup::report_recovered_by_operators(signed(1), 1));
        System::assert_last_event(
            Event::RecoveredByOperators { client: 1, epoch: 1, operator_set: 1 }.into(),
        );
    });
}

#[test]
fn a_backup_with_mismatched_shares_pays_instead_of_being_feeless() {
    checked(|| {
        assert_ok!(Backup::set_recovery_operators(
            RuntimeOrigin::root(),
            operators(&[(90, 1), (91, 2)]),
            1
        ));
        let call = |recovery| crate::Call::<Test>::record_backup {
            epoch: 1,
            threshold: 1,
            providers: providers(&[(2, 1)]),
            commitment: COMMIT,
            recovery,
        };
        assert!(call(Some(sealed(1, &[b"a", b"b"]))).is_feeless(&signed(1)));
        assert!(!call(None).is_feeless(&signed(1)));
        assert!(!call(Some(sealed(1, &[b"a"]))).is_feeless(&signed(1)));
    });
}

// ---- the storage invariant check itself ----

#[test]
fn the_invariant_check_catches_broken_indexes_and_orphans() {
    let broken = |corrupt: fn()| {
        new_test_ext().execute_with(|| {
            assert_ok!(Backup::set_recovery_operators(
                RuntimeOrigin::root(),
                operators(&[(90, 1)]),
                1
            ));
            assert_ok!(Backup::record_backup(
                signed(1),
                1,
                1,
                providers(&[(2, 1), (3, 2)]),
                COMMIT,
                Some(sealed(1, &[b"share"]))
            ));
            assert_ok!(Backup::confirm_backup(signed(2), 1, 1));
            assert_eq!(Backup::do_try_state(), Ok(()));
            corrupt();
            Backup::do_try_state().is_err()
        })
    };
    assert!(broken(|| ClientsOf::<Test>::insert(4, 1, ())), "index entry without assignment");
    assert!(broken(|| ClientsOf::<Test>::remove(2, 1)), "assigned provider not indexed");
    assert!(broken(|| ClientCount::<Test>::insert(2, 2)), "count disagrees");
    assert!(broken(|| Confirmations::<Test>::insert(1, 2, 7)), "confirmation of another epoch");
    assert!(broken(|| Assignments::<Test>::mutate(1, |a| a.as_mut().unwrap().epoch = 5)));
    assert!(broken(|| crate::NextOperatorSetRevision::<Test>::put(0)), "set never issued");
    assert!(broken(|| {
        crate::RecoveryShares::<Test>::insert(
            4,
            crate::RecordedRecovery { epoch: 1, sealed: sealed(1, &[b"x"]) },
        )
    }));
}
