//! Storage keys of the peerseal runtime, computed locally (FRAME's layout: `twox128(pallet) ++
//! twox128(item)`, then each map key hashed as its declared hasher says), so the client never
//! asks the endpoint which key to prove. The pallet and item names and hashers mirror the
//! runtime; the chain tests read every one of them from a real dev chain.

use sp_crypto_hashing::{blake2_128, twox_128};

use crate::types::AccountId;

fn prefix(pallet: &str, item: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(32 + 48 * 2);
    key.extend_from_slice(&twox_128(pallet.as_bytes()));
    key.extend_from_slice(&twox_128(item.as_bytes()));
    key
}

fn blake2_128_concat(key: &mut Vec<u8>, part: &[u8]) {
    key.extend_from_slice(&blake2_128(part));
    key.extend_from_slice(part);
}

/// A plain storage value.
pub fn value(pallet: &str, item: &str) -> Vec<u8> {
    prefix(pallet, item)
}

/// An entry of a `Blake2_128Concat` map keyed by an account.
pub fn by_account(pallet: &str, item: &str, account: &AccountId) -> Vec<u8> {
    let mut key = prefix(pallet, item);
    blake2_128_concat(&mut key, &account.0);
    key
}

/// An entry of a double map keyed by two accounts, both `Blake2_128Concat`.
pub fn by_accounts(pallet: &str, item: &str, first: &AccountId, second: &AccountId) -> Vec<u8> {
    let mut key = prefix(pallet, item);
    blake2_128_concat(&mut key, &first.0);
    blake2_128_concat(&mut key, &second.0);
    key
}

/// `Registry.ApprovedMoves` of a TSS account: the platform governance approved it to move to.
pub fn approved_move(tss_account: &AccountId) -> Vec<u8> {
    by_account("Registry", "ApprovedMoves", tss_account)
}

/// `System.Events` of a block.
pub fn system_events() -> Vec<u8> {
    value("System", "Events")
}

/// `Grandpa.Authorities` (the current authority list) and `Grandpa.CurrentSetId`.
pub fn grandpa_authorities() -> Vec<u8> {
    value("Grandpa", "Authorities")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_prefixes_match_substrate() {
        // `System.Events`, as every Substrate client knows it.
        assert_eq!(
            hex::encode(system_events()),
            "26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7"
        );
        // `System.Account` of the zero account: prefix, blake2_128 of the key, the key.
        let key = by_account("System", "Account", &AccountId([0; 32]));
        assert!(hex::encode(&key)
            .starts_with("26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"));
        assert_eq!(key.len(), 32 + 16 + 32);
        // `Registry.ApprovedMoves`: the registry's prefix, then the account's map key.
        let moves = approved_move(&AccountId([1; 32]));
        assert_eq!(&moves[..16], &twox_128(b"Registry"));
        assert_eq!(&moves[16..32], &twox_128(b"ApprovedMoves"));
        assert_eq!(
            &moves[32..],
            &by_account("Registry", "ApprovedMoves", &AccountId([1; 32]))[32..]
        );
    }
}
