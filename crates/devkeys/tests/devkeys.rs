//! Dev identities: deterministic, distinct, consistent with sp-core / sp-keyring and libp2p, and
//! their registration quotes verify under the dev policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use peerseal_attestation::{
    dev_mock_pck, mock_measurement, verify_quote, Binding, PckMode, Policy, VerifyError,
};
use peerseal_devkeys::*;
use sp_core::{crypto::DeriveJunction, Pair};
use sp_keyring::Sr25519Keyring;

const NAMES: [&str; 6] = ["alice", "bob", "charlie", "dave", "eve", "ferdie"];

#[test]
fn identities_are_deterministic() {
    for name in NAMES {
        let a = dev_identity(name).unwrap();
        let b = dev_identity(name).unwrap();
        assert_eq!(a.tss_account, b.tss_account);
        assert_eq!(*a.x25519_secret, *b.x25519_secret);
        assert_eq!(a.x25519_public, b.x25519_public);
        assert_eq!(*a.libp2p_ed25519_secret, *b.libp2p_ed25519_secret);
        assert_eq!(a.peer_id, b.peer_id);
        assert_eq!(dev_registration_quote(&a), dev_registration_quote(&b));
    }
}

#[test]
fn names_are_case_insensitive_and_unknown_names_are_none() {
    assert_eq!(dev_identity("Alice").unwrap().name, "alice");
    assert_eq!(dev_identity("FERDIE").unwrap().p2p_port, 30406);
    assert!(dev_identity("mallory").is_none());
    assert!(dev_identity("").is_none());
}

#[test]
fn identities_are_distinct() {
    let all = dev_identities();
    assert_eq!(all.len(), 6);
    let mut keys = Vec::new();
    for id in &all {
        keys.extend([
            id.stash_account.to_vec(),
            id.tss_account.to_vec(),
            id.x25519_public.to_vec(),
            id.libp2p_public.to_vec(),
            id.x25519_secret.to_vec(),
            id.libp2p_ed25519_secret.to_vec(),
        ]);
    }
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a, b);
        }
    }
    let quotes: Vec<_> = all.iter().map(dev_registration_quote).collect();
    for (i, a) in quotes.iter().enumerate() {
        for b in &quotes[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn uris_ports_and_servers() {
    let alice = dev_identity("alice").unwrap();
    assert_eq!(alice.stash_uri, "//Alice");
    assert_eq!(alice.tss_uri, "//Alice//tss");
    assert_eq!(alice.p2p_port, 30401);
    let servers: Vec<_> = dev_servers().into_iter().map(|id| (id.name, id.p2p_port)).collect();
    assert_eq!(servers, [("alice", 30401), ("bob", 30402), ("charlie", 30403), ("dave", 30404)]);
}

#[test]
fn sr25519_accounts_match_sp_core_and_sp_keyring() {
    for (name, keyring) in [
        ("alice", Sr25519Keyring::Alice),
        ("bob", Sr25519Keyring::Bob),
        ("charlie", Sr25519Keyring::Charlie),
        ("dave", Sr25519Keyring::Dave),
        ("eve", Sr25519Keyring::Eve),
        ("ferdie", Sr25519Keyring::Ferdie),
    ] {
        let id = dev_identity(name).unwrap();
        assert_eq!(id.stash_account, keyring.public().0, "{name} stash");
        // Derive //tss by junction from the keyring pair: a different path than URI parsing.
        let (tss, _) =
            keyring.pair().derive([DeriveJunction::hard("tss")].into_iter(), None).unwrap();
        assert_eq!(id.tss_account, tss.public().0, "{name} tss");
    }
    let from_uri = sp_core::sr25519::Pair::from_string("//Alice//tss", None).unwrap();
    assert_eq!(dev_identity("alice").unwrap().tss_account, from_uri.public().0);
    // The well-known //Alice public key, as a fixed vector.
    assert_eq!(
        hex::encode(dev_identity("alice").unwrap().stash_account),
        "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
    );
}

#[test]
fn x25519_public_matches_the_secret() {
    for id in dev_identities() {
        let secret = x25519_dalek::StaticSecret::from(*id.x25519_secret);
        assert_eq!(x25519_dalek::PublicKey::from(&secret).to_bytes(), id.x25519_public);
    }
}

#[test]
fn peer_id_matches_the_libp2p_spec_vector() {
    // libp2p specs, peer-ids.md test vectors: this ed25519 private key (seed ‖ public) and its
    // protobuf public key; the text peer id is the one rust-libp2p derives for it.
    let seed: [u8; 32] =
        hex::decode("7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d")
            .unwrap()
            .try_into()
            .unwrap();
    let public = ed25519_public(&seed);
    assert_eq!(
        hex::encode(public),
        "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
    );
    let peer_id = peer_id_from_ed25519(&public);
    assert_eq!(
        hex::encode(&peer_id),
        "0024080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
    );
    assert_eq!(peer_id_to_base58(&peer_id), "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
}

#[test]
fn dev_peer_ids_are_ed25519_identity_multihashes() {
    for id in dev_identities() {
        assert_eq!(id.peer_id.len(), 38);
        assert_eq!(id.peer_id[..6], [0x00, 0x24, 0x08, 0x01, 0x12, 0x20]);
        assert_eq!(id.peer_id[6..], id.libp2p_public);
        assert_eq!(ed25519_public(&id.libp2p_ed25519_secret), id.libp2p_public);
        assert!(id.peer_id_base58().starts_with("12D3KooW"));
    }
}

#[test]
fn debug_output_has_no_secrets() {
    let id = dev_identity("alice").unwrap();
    let text = format!("{id:?}");
    assert!(text.contains(&hex::encode(id.tss_account)));
    assert!(!text.contains(&hex::encode(*id.x25519_secret)));
    assert!(!text.contains(&hex::encode(*id.libp2p_ed25519_secret)));
    assert!(!text.contains("//Alice"));
}

#[test]
fn registration_quotes_verify_under_the_dev_policy() {
    let accepted = [mock_measurement()];
    let allowed = [dev_mock_pck()];
    let policy = Policy {
        accepted_measurements: &accepted,
        pck_mode: PckMode::Dev,
        allowed_mock_pcks: &allowed,
    };
    for id in dev_servers() {
        let quote = dev_registration_quote(&id);
        let verified = verify_quote(&quote, &dev_registration_binding(&id), &policy).unwrap();
        assert_eq!(verified.measurement, mock_measurement());
        assert_eq!(verified.pck, dev_mock_pck());
        // Bound to this identity: another server's binding does not accept it.
        let other = dev_identity(if id.name == "alice" { "bob" } else { "alice" }).unwrap();
        assert_eq!(
            verify_quote(&quote, &dev_registration_binding(&other), &policy),
            Err(VerifyError::ReportDataMismatch { nonce_ok: true, binding_ok: false })
        );
        // Bound to this identity's stash: the same server presented by another stash fails.
        let copied = Binding { stash: Some(&other.stash_account), ..dev_registration_binding(&id) };
        assert_eq!(
            verify_quote(&quote, &copied, &policy),
            Err(VerifyError::ReportDataMismatch { nonce_ok: true, binding_ok: false })
        );
        // And a production chain rejects it.
        let production = Policy { pck_mode: PckMode::Production, ..policy };
        assert_eq!(
            verify_quote(&quote, &dev_registration_binding(&id), &production),
            Err(VerifyError::PckChainInvalid)
        );
    }
}
