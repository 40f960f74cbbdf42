//! Unit tests of `pallet-attestation` on the mock runtime, with real mock TDX quotes.

use crate::{
    map_verify_error, mock::*, AcceptedMeasurements, AllowedMockPcks, Error, Event, Measurement,
    NonceExpiryQueue, NonceExpiryQueueBounds, PckKey, PckMode, PckPolicyMode, PendingNonce,
    PendingNonces, QuoteContext, VerifyAttestation, VerifyError, WeightInfo, PRUNES_PER_REQUEST,
};
use codec::Encode;
use frame_support::{assert_noop, assert_ok, storage::with_storage_layer, traits::Hooks};
use peerseal_attestation::{mock_measurement, MockQuoteProvider, MAX_QUOTE_LEN};
use sp_runtime::{BuildStorage, DispatchError, DispatchResult};

fn m(n: u8) -> Measurement {
    Measurement([n; 32])
}

fn pck(n: u8) -> PckKey {
    let mut bytes = [n; 33];
    bytes[0] = 0x02;
    PckKey(bytes)
}

/// Verifies `quote` as presented by `stash` for its server `server(stash)`.
fn verify(
    stash: &sp_runtime::AccountId32,
    quote: &[u8],
) -> Result<crate::VerifiedQuote, DispatchError> {
    verify_for(stash, &server(stash), quote)
}

/// Verifies `quote` as presented by `stash` for `tss_account`.
fn verify_for(
    stash: &sp_runtime::AccountId32,
    tss_account: &sp_runtime::AccountId32,
    quote: &[u8],
) -> Result<crate::VerifiedQuote, DispatchError> {
    <Attestation as VerifyAttestation<_>>::verify_and_consume(
        stash,
        tss_account,
        QuoteContext::Register,
        &PUBLIC_KEY,
        Some(PEER_ID),
        quote,
    )
}

/// `stash` requests a nonce for its server `server(stash)`.
fn request(stash: &sp_runtime::AccountId32) -> [u8; 32] {
    request_for(stash, &server(stash))
}

/// `stash` requests a nonce for `tss_account`.
fn request_for(stash: &sp_runtime::AccountId32, tss_account: &sp_runtime::AccountId32) -> [u8; 32] {
    assert_ok!(Attestation::request_attestation(
        RuntimeOrigin::signed(stash.clone()),
        tss_account.clone()
    ));
    Attestation::pending_nonce(stash).expect("nonce was just issued").nonce
}

/// Moves to block `n` and runs the pallet's block hook there; returns the hook's weight.
fn run_to_block(n: u64) -> frame_support::weights::Weight {
    System::set_block_number(n);
    <Attestation as Hooks<u64>>::on_initialize(n)
}

#[test]
fn genesis_sets_the_policy() {
    checked(|| {
        assert_eq!(AcceptedMeasurements::<Test>::get().into_inner(), vec![mock_measurement()]);
        assert_eq!(AllowedMockPcks::<Test>::get().into_inner(), vec![dev_provider().pck_key()]);
        assert_eq!(PckPolicyMode::<Test>::get(), PckMode::Dev);
        let (measurements, mode, pcks) = Attestation::policy_snapshot();
        assert_eq!(measurements, vec![mock_measurement()]);
        assert_eq!(mode, PckMode::Dev);
        assert_eq!(pcks, vec![dev_provider().pck_key()]);
    });
}

#[test]
fn empty_genesis_defaults_to_production_mode() {
    let storage = RuntimeGenesisConfig::default().build_storage().expect("default genesis");
    sp_io::TestExternalities::new(storage).execute_with(|| {
        assert_eq!(PckPolicyMode::<Test>::get(), PckMode::Production);
        assert!(AcceptedMeasurements::<Test>::get().is_empty());
    });
}

#[test]
#[should_panic(expected = "duplicate accepted measurement")]
fn genesis_rejects_duplicate_measurements() {
    let _ = RuntimeGenesisConfig {
        system: Default::default(),
        attestation: crate::GenesisConfig {
            accepted_measurements: vec![m(1), m(1)],
            allowed_mock_pcks: vec![],
            pck_mode: PckMode::Production,
            _config: Default::default(),
        },
    }
    .build_storage();
}

#[test]
#[should_panic(expected = "too many mock PCK keys")]
fn genesis_rejects_too_many_mock_pcks() {
    let _ = RuntimeGenesisConfig {
        system: Default::default(),
        attestation: crate::GenesisConfig {
            accepted_measurements: vec![],
            allowed_mock_pcks: (0..=MAX_LIST as u8).map(pck).collect(),
            pck_mode: PckMode::Dev,
            _config: Default::default(),
        },
    }
    .build_storage();
}

#[test]
fn accept_and_revoke_measurement() {
    checked(|| {
        assert_ok!(Attestation::accept_measurement(RuntimeOrigin::root(), m(1)));
        assert!(AcceptedMeasurements::<Test>::get().contains(&m(1)));
        assert_eq!(
            attestation_events().last(),
            Some(&Event::MeasurementAccepted { measurement: m(1) })
        );

        assert_ok!(Attestation::revoke_measurement(RuntimeOrigin::root(), m(1)));
        assert!(!AcceptedMeasurements::<Test>::get().contains(&m(1)));
        assert_eq!(
            attestation_events().last(),
            Some(&Event::MeasurementRevoked { measurement: m(1) })
        );
        // The genesis measurement is untouched.
        assert!(AcceptedMeasurements::<Test>::get().contains(&mock_measurement()));
    });
}

#[test]
fn accept_measurement_errors() {
    checked(|| {
        assert_noop!(
            Attestation::accept_measurement(RuntimeOrigin::signed(account(1)), m(1)),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Attestation::accept_measurement(RuntimeOrigin::root(), mock_measurement()),
            Error::<Test>::MeasurementAlreadyAccepted
        );
        // Genesis holds one; fill up to the bound.
        for n in 1..MAX_LIST as u8 {
            assert_ok!(Attestation::accept_measurement(RuntimeOrigin::root(), m(n)));
        }
        assert_noop!(
            Attestation::accept_measurement(RuntimeOrigin::root(), m(99)),
            Error::<Test>::TooManyMeasurements
        );
    });
}

#[test]
fn revoke_measurement_errors() {
    checked(|| {
        assert_noop!(
            Attestation::revoke_measurement(RuntimeOrigin::signed(account(1)), mock_measurement()),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Attestation::revoke_measurement(RuntimeOrigin::root(), m(42)),
            Error::<Test>::MeasurementNotFound
        );
    });
}

#[test]
fn allow_and_disallow_mock_pck() {
    checked(|| {
        assert_ok!(Attestation::allow_mock_pck(RuntimeOrigin::root(), pck(1)));
        assert!(AllowedMockPcks::<Test>::get().contains(&pck(1)));
        assert_eq!(attestation_events().last(), Some(&Event::MockPckAllowed { pck: pck(1) }));

        assert_ok!(Attestation::disallow_mock_pck(RuntimeOrigin::root(), pck(1)));
        assert!(!AllowedMockPcks::<Test>::get().contains(&pck(1)));
        assert_eq!(attestation_events().last(), Some(&Event::MockPckDisallowed { pck: pck(1) }));
    });
}

#[test]
fn mock_pck_errors() {
    checked(|| {
        assert_noop!(
            Attestation::allow_mock_pck(RuntimeOrigin::signed(account(1)), pck(1)),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Attestation::disallow_mock_pck(RuntimeOrigin::signed(account(1)), pck(1)),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Attestation::allow_mock_pck(RuntimeOrigin::root(), dev_provider().pck_key()),
            Error::<Test>::MockPckAlreadyAllowed
        );
        assert_noop!(
            Attestation::disallow_mock_pck(RuntimeOrigin::root(), pck(9)),
            Error::<Test>::MockPckNotFound
        );
        for n in 1..MAX_LIST as u8 {
            assert_ok!(Attestation::allow_mock_pck(RuntimeOrigin::root(), pck(n)));
        }
        assert_noop!(
            Attestation::allow_mock_pck(RuntimeOrigin::root(), pck(99)),
            Error::<Test>::TooManyMockPcks
        );
    });
}

#[test]
fn set_pck_mode_works_and_needs_governance() {
    checked(|| {
        assert_noop!(
            Attestation::set_pck_mode(RuntimeOrigin::signed(account(1)), PckMode::Production),
            DispatchError::BadOrigin
        );
        assert_ok!(Attestation::set_pck_mode(RuntimeOrigin::root(), PckMode::Production));
        assert_eq!(PckPolicyMode::<Test>::get(), PckMode::Production);
        assert_eq!(
            attestation_events().last(),
            Some(&Event::PckModeSet { mode: PckMode::Production })
        );
    });
}

#[test]
fn request_attestation_issues_unique_expiring_nonces() {
    checked(|| {
        let alice = account(1);
        let first = request(&alice);
        let pending = PendingNonces::<Test>::get(&alice).expect("stored under the stash");
        assert_eq!(
            pending,
            PendingNonce {
                tss_account: server(&alice),
                nonce: first,
                expires_at: 1 + NONCE_LIFETIME
            }
        );
        assert!(PendingNonces::<Test>::get(server(&alice)).is_none(), "not under the TSS account");
        assert_eq!(
            attestation_events().last(),
            Some(&Event::AttestationRequested {
                stash: alice.clone(),
                tss_account: server(&alice),
                nonce: first,
                expires_at: 1 + NONCE_LIFETIME,
            })
        );

        // Same stash, same block: a new nonce replaces the old one and differs from it.
        let second = request(&alice);
        assert_ne!(first, second);
        assert_eq!(Attestation::pending_nonce(&alice).map(|p| p.nonce), Some(second));

        // Another stash in the same block gets yet another nonce.
        let bob_nonce = request(&account(2));
        assert_ne!(bob_nonce, second);
        assert_ne!(bob_nonce, first);
    });
}

#[test]
fn request_attestation_needs_a_signed_origin() {
    checked(|| {
        assert_noop!(
            Attestation::request_attestation(RuntimeOrigin::none(), account(0x81)),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Attestation::request_attestation(RuntimeOrigin::root(), account(0x81)),
            DispatchError::BadOrigin
        );
    });
}

#[test]
fn an_account_without_funds_or_references_needs_no_transaction_for_its_nonce() {
    checked(|| {
        // The TSS account does not even exist on chain; its stash asks on its behalf.
        let tss = server(&account(1));
        assert!(!System::account_exists(&tss));
        request(&account(1));
        assert_ok!(verify(&account(1), &register_quote(&account(1))));
        assert!(!System::account_exists(&tss), "verification does not need the account either");
    });
}

#[test]
fn one_pending_nonce_per_stash_whatever_the_tss_account() {
    checked(|| {
        let alice = account(1);
        request_for(&alice, &account(0x91));
        let second = request_for(&alice, &account(0x92));
        assert_eq!(PendingNonces::<Test>::iter().count(), 1);
        assert_eq!(
            Attestation::pending_nonce(&alice).map(|p| (p.tss_account, p.nonce)),
            Some((account(0x92), second))
        );
    });
}

#[test]
fn another_stash_cannot_use_or_disturb_a_nonce() {
    checked(|| {
        let (honest, attacker) = (account(1), account(2));
        let nonce = request(&honest);
        let quote = register_quote(&honest);

        // The attacker presents the honest quote for the honest server: it has no nonce.
        assert_eq!(
            verify_for(&attacker, &server(&honest), &quote),
            Err(Error::<Test>::NoPendingNonce.into())
        );
        // With a nonce of its own for the honest server, the quote's nonce is not that one.
        request_for(&attacker, &server(&honest));
        assert_eq!(
            verify_for(&attacker, &server(&honest), &quote),
            Err(Error::<Test>::QuoteNonceMismatch.into())
        );
        // The attacker's request did not replace the honest stash's nonce.
        assert_eq!(Attestation::pending_nonce(&honest).map(|p| p.nonce), Some(nonce));
        assert_ok!(verify(&honest, &quote));
    });
}

#[test]
fn quote_must_bind_the_presenting_stash() {
    checked(|| {
        let (honest, attacker) = (account(1), account(2));
        // The attacker got a nonce for the honest server and a genuine quote over it, but the
        // honest TEE binds its own stash (or, in an old-style quote, no stash at all).
        let nonce = request_for(&attacker, &server(&honest));
        let provider = dev_provider();
        let mismatch = Err(Error::<Test>::ReportDataMismatch.into());
        for stash in [Some(&honest), None] {
            let quote = quote_binding(
                &provider,
                QuoteContext::Register,
                stash,
                &server(&honest),
                &PUBLIC_KEY,
                &nonce,
            );
            assert_eq!(verify_for(&attacker, &server(&honest), &quote), mismatch);
        }
        let own = quote_binding(
            &provider,
            QuoteContext::Register,
            Some(&attacker),
            &server(&honest),
            &PUBLIC_KEY,
            &nonce,
        );
        assert_ok!(verify_for(&attacker, &server(&honest), &own));
    });
}

#[test]
fn nonce_issued_for_another_tss_account_is_rejected() {
    checked(|| {
        let alice = account(1);
        let nonce = request_for(&alice, &account(0x91));
        let quote = quote_binding(
            &dev_provider(),
            QuoteContext::Register,
            Some(&alice),
            &account(0x92),
            &PUBLIC_KEY,
            &nonce,
        );
        assert_eq!(
            verify_for(&alice, &account(0x92), &quote),
            Err(Error::<Test>::NonceForOtherAccount.into())
        );
        assert!(Attestation::pending_nonce(&alice).is_some());
    });
}

#[test]
fn block_hook_prunes_expired_nonces_in_bounded_steps() {
    checked(|| {
        for n in 1..=5 {
            request(&account(n));
        }
        // Still usable at `expires_at`: nothing is pruned.
        let weight = run_to_block(1 + NONCE_LIFETIME);
        assert_eq!(weight, <() as WeightInfo>::on_initialize(0, 0));
        assert_eq!(PendingNonces::<Test>::iter().count(), 5);

        // One block later all five are expired; the hook removes MAX_PRUNES_PER_BLOCK a block.
        let weight = run_to_block(2 + NONCE_LIFETIME);
        assert_eq!(weight, <() as WeightInfo>::on_initialize(2, 2));
        assert_eq!(PendingNonces::<Test>::iter().count(), 3);
        assert!(PendingNonces::<Test>::get(account(1)).is_none());
        assert!(PendingNonces::<Test>::get(account(3)).is_some());
        run_to_block(3 + NONCE_LIFETIME);
        let weight = run_to_block(4 + NONCE_LIFETIME);
        assert_eq!(weight, <() as WeightInfo>::on_initialize(1, 1));
        assert_eq!(PendingNonces::<Test>::iter().count(), 0);
        assert_eq!(NonceExpiryQueue::<Test>::iter().count(), 0);
        let (head, tail) = NonceExpiryQueueBounds::<Test>::get();
        assert_eq!((head, tail), (5, 5));
        assert_eq!(run_to_block(5 + NONCE_LIFETIME), <() as WeightInfo>::on_initialize(0, 0));
    });
}

#[test]
fn pruning_skips_consumed_and_replaced_nonces() {
    checked(|| {
        let (alice, bob) = (account(1), account(2));
        request(&alice);
        request(&bob);
        assert_ok!(verify(&bob, &register_quote(&bob))); // consumed
        System::set_block_number(3);
        let renewed = request(&alice); // replaces, expires later
        let weight = run_to_block(2 + NONCE_LIFETIME);
        // Two stale entries processed, nothing removed: alice's renewed nonce survives.
        assert_eq!(weight, <() as WeightInfo>::on_initialize(2, 0));
        assert_eq!(Attestation::pending_nonce(&alice).map(|p| p.nonce), Some(renewed));
        run_to_block(4 + NONCE_LIFETIME);
        assert!(Attestation::pending_nonce(&alice).is_none());
    });
}

#[test]
fn requests_prune_expired_nonces_too() {
    checked(|| {
        for n in 1..=3 {
            request(&account(n));
        }
        // No block hook runs here: the request path alone cleans up behind itself.
        System::set_block_number(2 + NONCE_LIFETIME);
        request(&account(9));
        assert_eq!(PendingNonces::<Test>::iter().count(), 1 + 3 - PRUNES_PER_REQUEST as usize);
        assert!(PendingNonces::<Test>::get(account(1)).is_none());
        assert!(PendingNonces::<Test>::get(account(2)).is_none());
        request(&account(9));
        assert!(PendingNonces::<Test>::get(account(3)).is_none());
        assert_eq!(PendingNonces::<Test>::iter().count(), 1);
        // The request's weight covers that pruning.
        assert!(<() as WeightInfo>::request_attestation()
            .all_gte(<() as WeightInfo>::on_initialize(PRUNES_PER_REQUEST, PRUNES_PER_REQUEST)));
    });
}

#[test]
fn request_refuses_when_the_queue_ring_is_exhausted() {
    // Not `checked`: the full ring is faked by its bounds alone, without its 2^32 - 1 entries,
    // a state the invariant check rightly calls broken.
    new_test_ext().execute_with(|| {
        // A ring whose tail is one behind its head has no free position (2^32 - 1 entries);
        // unreachable in practice, but the overwrite must still be refused.
        NonceExpiryQueueBounds::<Test>::put((5, 4));
        assert_noop!(
            Attestation::request_attestation(RuntimeOrigin::signed(account(1)), account(0x81)),
            Error::<Test>::NonceQueueFull
        );
    });
}

#[test]
fn queue_positions_wrap_around() {
    checked(|| {
        NonceExpiryQueueBounds::<Test>::put((u32::MAX, u32::MAX));
        request(&account(1));
        request(&account(2));
        assert_eq!(NonceExpiryQueueBounds::<Test>::get(), (u32::MAX, 1));
        run_to_block(2 + NONCE_LIFETIME);
        assert_eq!(PendingNonces::<Test>::iter().count(), 0);
        assert_eq!(NonceExpiryQueueBounds::<Test>::get(), (1, 1));
    });
}

#[test]
fn valid_quote_verifies_once() {
    checked(|| {
        let alice = account(1);
        request(&alice);
        let quote = register_quote(&alice);
        let verified = verify(&alice, &quote).expect("a valid mock quote verifies");
        assert_eq!(verified.measurement, mock_measurement());
        assert_eq!(verified.pck, dev_provider().pck_key());
        assert!(PendingNonces::<Test>::get(&alice).is_none(), "the nonce is consumed");
        assert_eq!(
            attestation_events().last(),
            Some(&Event::AttestationVerified {
                stash: alice.clone(),
                tss_account: server(&alice),
                context: QuoteContext::Register,
                measurement: mock_measurement(),
                pck: dev_provider().pck_key(),
            })
        );
        // Replaying the same quote fails: the nonce is gone.
        assert_eq!(verify(&alice, &quote), Err(Error::<Test>::NoPendingNonce.into()));
    });
}

#[test]
fn verify_without_request_fails() {
    checked(|| {
        let quote =
            quote_with(&dev_provider(), QuoteContext::Register, &account(1), &PUBLIC_KEY, &[0; 32]);
        assert_eq!(verify(&account(1), &quote), Err(Error::<Test>::NoPendingNonce.into()));
    });
}

#[test]
fn nonce_is_usable_until_expires_at_inclusive() {
    checked(|| {
        let alice = account(1);
        request(&alice);
        let quote = register_quote(&alice);
        System::set_block_number(1 + NONCE_LIFETIME);
        assert_ok!(verify(&alice, &quote));
    });
}

#[test]
fn expired_nonce_is_rejected() {
    checked(|| {
        let alice = account(1);
        request(&alice);
        let quote = register_quote(&alice);
        System::set_block_number(2 + NONCE_LIFETIME);
        assert_eq!(verify(&alice, &quote), Err(Error::<Test>::NonceExpired.into()));
    });
}

#[test]
fn quote_for_a_replaced_nonce_is_stale() {
    checked(|| {
        let alice = account(1);
        request(&alice);
        let old_quote = register_quote(&alice);
        request(&alice);
        assert_eq!(verify(&alice, &old_quote), Err(Error::<Test>::QuoteNonceMismatch.into()));
    });
}

#[test]
fn failed_verification_in_an_extrinsic_keeps_the_nonce() {
    checked(|| {
        let alice = account(1);
        let nonce = request(&alice);
        let bad = quote_with(&dev_provider(), QuoteContext::Recover, &alice, &PUBLIC_KEY, &nonce);
        // Dispatch runs inside a storage layer; emulate it.
        let result: DispatchResult = with_storage_layer(|| verify(&alice, &bad).map(|_| ()));
        assert_eq!(result, Err(Error::<Test>::ReportDataMismatch.into()));
        assert_eq!(Attestation::pending_nonce(&alice).map(|p| p.nonce), Some(nonce));
        // The honest quote for the same nonce still works afterwards.
        assert_ok!(verify(&alice, &register_quote(&alice)));
    });
}

#[test]
fn binding_mismatches_are_rejected() {
    checked(|| {
        let alice = account(1);
        let nonce = request(&alice);
        let provider = dev_provider();
        let mismatch = Err(Error::<Test>::ReportDataMismatch.into());
        // Wrong context.
        let q = quote_with(&provider, QuoteContext::ChangeServerInfo, &alice, &PUBLIC_KEY, &nonce);
        assert_eq!(verify(&alice, &q), mismatch);
        // Wrong public key.
        let q = quote_with(&provider, QuoteContext::Register, &alice, &[8; 32], &nonce);
        assert_eq!(verify(&alice, &q), mismatch);
        // Quote bound to another account, presented for alice.
        let q = quote_with(&provider, QuoteContext::Register, &account(2), &PUBLIC_KEY, &nonce);
        assert_eq!(verify(&alice, &q), mismatch);
        // Wrong peer id.
        let q = register_quote(&alice);
        assert_eq!(
            <Attestation as VerifyAttestation<_>>::verify_and_consume(
                &alice,
                &server(&alice),
                QuoteContext::Register,
                &PUBLIC_KEY,
                Some(b"another-peer"),
                &q,
            ),
            mismatch
        );
        // None of these consumed the nonce.
        assert_ok!(verify(&alice, &q));
    });
}

#[test]
fn revoked_measurement_is_rejected() {
    checked(|| {
        assert_ok!(Attestation::revoke_measurement(RuntimeOrigin::root(), mock_measurement()));
        let alice = account(1);
        request(&alice);
        assert_eq!(
            verify(&alice, &register_quote(&alice)),
            Err(Error::<Test>::MeasurementNotAccepted.into())
        );
    });
}

#[test]
fn unknown_mock_pck_is_rejected() {
    checked(|| {
        let alice = account(1);
        let nonce = request(&alice);
        let stranger = MockQuoteProvider::from_seed([0x55; 32]);
        assert_ne!(stranger.pck_key(), dev_provider().pck_key());
        let q = quote_with(&stranger, QuoteContext::Register, &alice, &PUBLIC_KEY, &nonce);
        assert_eq!(verify(&alice, &q), Err(Error::<Test>::PckNotAllowed.into()));
        // Once governance allows it, the same quote passes.
        assert_ok!(Attestation::allow_mock_pck(RuntimeOrigin::root(), stranger.pck_key()));
        assert_ok!(verify(&alice, &q));
    });
}

#[test]
fn disallowed_mock_pck_is_rejected() {
    checked(|| {
        assert_ok!(Attestation::disallow_mock_pck(RuntimeOrigin::root(), dev_provider().pck_key()));
        let alice = account(1);
        request(&alice);
        assert_eq!(
            verify(&alice, &register_quote(&alice)),
            Err(Error::<Test>::PckNotAllowed.into())
        );
    });
}

#[test]
fn production_mode_rejects_mock_quotes() {
    checked(|| {
        assert_ok!(Attestation::set_pck_mode(RuntimeOrigin::root(), PckMode::Production));
        let alice = account(1);
        request(&alice);
        assert_eq!(
            verify(&alice, &register_quote(&alice)),
            Err(Error::<Test>::PckChainInvalid.into())
        );
    });
}

#[test]
fn malformed_quotes_are_rejected() {
    checked(|| {
        let alice = account(1);
        request(&alice);
        let good = register_quote(&alice);

        assert_eq!(verify(&alice, &[]), Err(Error::<Test>::QuoteEmpty.into()));
        assert_eq!(
            verify(&alice, &vec![0xAB; MAX_QUOTE_LEN + 1]),
            Err(Error::<Test>::QuoteTooLarge.into())
        );
        assert_eq!(
            verify(&alice, &good[..good.len() / 2]),
            Err(Error::<Test>::QuoteTruncated.into())
        );

        // A flipped byte inside the signed body (the report data is at its end, the
        // measurement registers in the middle) breaks the attestation key's signature.
        let mut tampered = good.clone();
        tampered[200] ^= 0x01;
        assert_eq!(verify(&alice, &tampered), Err(Error::<Test>::QuoteBadSignature.into()));

        // All of these left the nonce in place.
        assert_ok!(verify(&alice, &good));
    });
}

#[test]
fn every_verify_error_has_its_own_pallet_error() {
    let all = [
        VerifyError::Empty,
        VerifyError::TooLarge,
        VerifyError::Truncated,
        VerifyError::TrailingData,
        VerifyError::UnsupportedVersion,
        VerifyError::UnsupportedKeyType,
        VerifyError::NotTdx,
        VerifyError::Malformed,
        VerifyError::UnsupportedCertificationData,
        VerifyError::BadSignature,
        VerifyError::AttestationKeyMismatch,
        VerifyError::DebugTd,
        VerifyError::PckChainInvalid,
        VerifyError::PckSignatureInvalid,
        VerifyError::PckNotAllowed,
        VerifyError::MeasurementNotAccepted,
        VerifyError::ReportDataMismatch { nonce_ok: false, binding_ok: true },
        VerifyError::ReportDataMismatch { nonce_ok: true, binding_ok: false },
        VerifyError::PlatformIdMissing,
    ];
    let mut seen = std::collections::BTreeSet::new();
    for err in all {
        let mapped = map_verify_error::<Test>(err).encode();
        assert!(seen.insert(mapped), "{err:?} shares its pallet error with another failure");
    }
    // Neither policy nor nonce errors are reused for quote failures.
    for other in [
        Error::<Test>::NoPendingNonce,
        Error::<Test>::NonceForOtherAccount,
        Error::<Test>::NonceExpired,
        Error::<Test>::MeasurementNotFound,
        Error::<Test>::MockPckNotFound,
    ] {
        assert!(!seen.contains(&other.encode()));
    }
}

#[test]
fn genesis_config_reads_chain_spec_json() {
    // The shape a chain spec / genesis preset uses: camelCase keys, hex byte strings.
    let measurement = mock_measurement();
    let pck = dev_provider().pck_key();
    let json = format!(
        r#"{{"acceptedMeasurements":["0x{}"],"allowedMockPcks":["0x{}"],"pckMode":"Dev"}}"#,
        hex_of(&measurement.0),
        hex_of(&pck.0)
    );
    let config: crate::GenesisConfig<Test> = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(config.accepted_measurements, vec![measurement]);
    assert_eq!(config.allowed_mock_pcks, vec![pck]);
    assert_eq!(config.pck_mode, PckMode::Dev);

    let back = serde_json::to_string(&config).expect("serialisable");
    let again: crate::GenesisConfig<Test> = serde_json::from_str(&back).expect("round trip");
    assert_eq!(again.accepted_measurements, config.accepted_measurements);

    // Unknown keys are refused rather than silently ignored.
    assert!(serde_json::from_str::<crate::GenesisConfig<Test>>(r#"{"pckMode":"Dev","typo":1}"#)
        .is_err());
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A runtime without the dev PCK mode (`Config::DevPckMode = false`, as peerseal's runtime is
/// built for chain specs): the mode cannot be switched on, no mock PCK can be allowed, and a
/// dev mode left in storage (here from the dev genesis) does not let a mock quote through.
mod production_runtime {
    use super::*;
    use frame_support::traits::Get;

    fn production_ext() -> sp_io::TestExternalities {
        let mut ext = new_test_ext();
        set_dev_pck_mode(false);
        ext.execute_with(|| assert!(!<Test as crate::Config>::DevPckMode::get()));
        ext
    }

    #[test]
    fn the_dev_mode_and_mock_pcks_cannot_be_set() {
        production_ext().execute_with(|| {
            assert_noop!(
                Attestation::set_pck_mode(RuntimeOrigin::root(), PckMode::Dev),
                Error::<Test>::DevPckModeUnavailable
            );
            assert_noop!(
                Attestation::allow_mock_pck(RuntimeOrigin::root(), pck(9)),
                Error::<Test>::DevPckModeUnavailable
            );
            assert_ok!(Attestation::set_pck_mode(RuntimeOrigin::root(), PckMode::Production));
        });
        set_dev_pck_mode(true);
    }

    #[test]
    fn a_mock_quote_is_refused_whatever_storage_says() {
        production_ext().execute_with(|| {
            // Storage still says Dev with the mock PCK allowed (written by the dev genesis).
            assert_eq!(PckPolicyMode::<Test>::get(), PckMode::Dev);
            let stash = account(1);
            request(&stash);
            let quote = register_quote(&stash);
            let err = verify(&stash, &quote).unwrap_err();
            assert_ne!(err, Error::<Test>::PckNotAllowed.into());
            assert!(
                matches!(
                    err,
                    DispatchError::Module(_)
                        if err == Error::<Test>::PckChainInvalid.into()
                            || err == Error::<Test>::PckSignatureInvalid.into()
                ),
                "a mock quote must fail the Intel chain check, got {err:?}"
            );
            let (_, mode, pcks) = Attestation::policy_snapshot();
            assert_eq!(mode, PckMode::Production);
            assert!(pcks.is_empty());
        });
        set_dev_pck_mode(true);
    }

    #[test]
    fn the_same_quote_passes_in_a_dev_runtime() {
        // The control: the check above fails for the runtime's reason, not the quote's.
        checked(|| {
            let stash = account(1);
            request(&stash);
            let quote = register_quote(&stash);
            assert_ok!(verify(&stash, &quote));
        });
    }

    #[test]
    #[should_panic(expected = "exist only in a runtime built with the dev feature")]
    fn a_dev_genesis_does_not_build() {
        set_dev_pck_mode(false);
        let _ = new_test_ext();
    }
}

#[test]
fn the_invariant_check_catches_a_broken_nonce_queue() {
    let broken = |corrupt: fn()| {
        new_test_ext().execute_with(|| {
            request(&account(1));
            assert_eq!(Attestation::do_try_state(), Ok(()));
            corrupt();
            Attestation::do_try_state().is_err()
        })
    };
    assert!(broken(|| crate::NonceExpiryQueue::<Test>::remove(0)), "pending nonce not queued");
    assert!(broken(|| crate::NonceExpiryQueueBounds::<Test>::put((0, 2))), "hole in the ring");
    assert!(broken(|| crate::NonceExpiryQueue::<Test>::insert(9, (account(1), 1))), "outside ring");
    assert!(broken(|| {
        let mut all = crate::AcceptedMeasurements::<Test>::get();
        all.try_push(all[0]).unwrap();
        crate::AcceptedMeasurements::<Test>::put(all)
    }));
}
