//! Rendezvous (highest-random-weight) ordering of backup providers.
//!
//! Each candidate provider gets the score `blake2_256(DOMAIN ‖ client ‖ provider ‖ epoch)`, and
//! providers are tried highest score first. Every party that knows the candidate set computes the
//! same order without coordination; when a provider joins or leaves, only clients that ranked it
//! at the top move, so re-backups after a membership change stay few and spread evenly.
//!
//! Inputs are length-prefixed (`u32` little endian) so that no two distinct `(client, provider)`
//! pairs hash the same bytes.

use alloc::vec::Vec;

/// Domain separation for the score hash; bump the version if the formula ever changes.
pub const DOMAIN: &[u8] = b"peerseal/rendezvous/v1";

/// The rendezvous score of `provider` for `client` at `epoch`; higher is preferred.
pub fn score(client: &[u8], provider: &[u8], epoch: u64) -> [u8; 32] {
    let mut input = Vec::with_capacity(DOMAIN.len() + client.len() + provider.len() + 16);
    input.extend_from_slice(DOMAIN);
    push_prefixed(&mut input, client);
    push_prefixed(&mut input, provider);
    input.extend_from_slice(&epoch.to_le_bytes());
    sp_crypto_hashing::blake2_256(&input)
}

fn push_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    // Account ids and peer ids are tiny; a length over u32::MAX cannot reach here from a
    // bounded chain type, and saturating keeps the function total anyway.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

/// `candidates` ordered best first for `client` at `epoch`, with `client` itself and duplicates
/// removed. Ties (equal scores, i.e. equal providers) cannot survive deduplication.
pub fn order<A: AsRef<[u8]> + Clone + PartialEq>(
    client: &A,
    candidates: &[A],
    epoch: u64,
) -> Vec<A> {
    let mut scored: Vec<([u8; 32], A)> = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        if candidate == client || scored.iter().any(|(_, seen)| seen == candidate) {
            continue;
        }
        scored.push((score(client.as_ref(), candidate.as_ref(), epoch), candidate.clone()));
    }
    scored.sort_by_key(|(score, _)| core::cmp::Reverse(*score));
    scored.into_iter().map(|(_, provider)| provider).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn acct(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn excludes_client_and_duplicates() {
        let client = acct(1);
        let got = order(&client, &[acct(1), acct(2), acct(3), acct(2)], 0);
        assert_eq!(got.len(), 2);
        assert!(!got.contains(&client));
        assert!(got.contains(&acct(2)) && got.contains(&acct(3)));
    }

    #[test]
    fn length_prefix_separates_boundaries() {
        assert_ne!(score(b"ab", b"c", 0), score(b"a", b"bc", 0));
    }

    #[test]
    fn epoch_changes_order_for_some_client() {
        let candidates: Vec<[u8; 32]> = (2..12).map(acct).collect();
        let moved = (100..140u8)
            .any(|c| order(&acct(c), &candidates, 1) != order(&acct(c), &candidates, 2));
        assert!(moved, "rendezvous order must depend on the epoch");
    }

    #[test]
    fn balanced_first_choice() {
        // 8 providers, 4000 clients: every provider should be first choice for roughly 1/8.
        let providers: Vec<Vec<u8>> = (0..8u8).map(|p| vec![0xAA, p]).collect();
        let mut firsts = [0usize; 8];
        for c in 0..4000u32 {
            let client = c.to_le_bytes().to_vec();
            let best = order(&client, &providers, 7);
            let idx = providers.iter().position(|p| *p == best[0]).unwrap_or(usize::MAX);
            firsts[idx] += 1;
        }
        for count in firsts {
            assert!((350..=650).contains(&count), "unbalanced first choices: {firsts:?}");
        }
    }

    proptest! {
        #[test]
        fn removing_a_provider_only_moves_its_clients(
            client in proptest::collection::vec(any::<u8>(), 1..40),
            n in 2usize..12,
            gone in 0usize..12,
            epoch in any::<u64>(),
        ) {
            let providers: Vec<Vec<u8>> = (0..n).map(|i| vec![0x55, i as u8]).collect();
            let gone = gone % n;
            let before = order(&client, &providers, epoch);
            let remaining: Vec<Vec<u8>> =
                providers.iter().filter(|p| **p != providers[gone]).cloned().collect();
            let after = order(&client, &remaining, epoch);
            let expected: Vec<Vec<u8>> =
                before.into_iter().filter(|p| *p != providers[gone]).collect();
            prop_assert_eq!(after, expected);
        }

        #[test]
        fn order_is_independent_of_input_order(seed in any::<u64>(), n in 1usize..10) {
            let mut providers: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8, 9]).collect();
            let client = seed.to_le_bytes().to_vec();
            let a = order(&client, &providers, seed);
            providers.reverse();
            let b = order(&client, &providers, seed);
            prop_assert_eq!(a, b);
        }
    }
}
