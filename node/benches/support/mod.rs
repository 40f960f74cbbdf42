//! Signed dev transfers built with the runtime's own types, as any Substrate client signs them
//! (immortal era, no tip), for the node benchmarks.
#![allow(dead_code)]
// Benchmark fixtures: a failed set-up step should fail loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use codec::Encode;
use peerseal_node::types::Hash;
use peerseal_runtime::{
    AccountId, Runtime, RuntimeCall, SignedPayload, TxExtension, UncheckedExtrinsic, VERSION,
};
use sp_core::{sr25519, Pair};
use sp_runtime::generic::Era;
use sp_runtime::{MultiAddress, MultiSignature};

pub fn pair(uri: &str) -> sr25519::Pair {
    sr25519::Pair::from_string(uri, None).expect("dev uri")
}

pub fn account(pair: &sr25519::Pair) -> AccountId {
    AccountId::from(pair.public())
}

/// SCALE bytes of a signed `transfer_keep_alive` from `from` with `nonce`.
pub fn transfer(
    from: &sr25519::Pair,
    to: &AccountId,
    amount: u128,
    nonce: u32,
    genesis: Hash,
) -> Vec<u8> {
    let call = RuntimeCall::Balances(pallet_balances::Call::transfer_keep_alive {
        dest: MultiAddress::Id(to.clone()),
        value: amount,
    });
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
    let implicit =
        ((), VERSION.spec_version, VERSION.transaction_version, genesis, genesis, (), (), ());
    let payload = SignedPayload::from_raw(call.clone(), extension.clone(), implicit);
    let signature = payload.using_encoded(|bytes| from.sign(bytes));
    UncheckedExtrinsic::new_signed(
        call,
        MultiAddress::Id(account(from)),
        MultiSignature::Sr25519(signature),
        extension,
    )
    .encode()
}

/// Percentile (0..=100) of sorted samples.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    if sorted.is_empty() {
        return std::time::Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
