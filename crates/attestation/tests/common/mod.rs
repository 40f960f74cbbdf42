//! Fixtures shared by the integration tests: a canonical binding, the dev policy and mock quotes.
#![allow(dead_code)]

use peerseal_attestation::{
    dev_mock_pck, mock_measurement, report_data, Binding, Measurement, MockQuoteProvider, PckKey,
    PckMode, Policy, QuoteContext,
};
use std::sync::OnceLock;

pub const ACCOUNT: [u8; 32] = [0xA1; 32];
pub const STASH: [u8; 32] = [0xD4; 32];
pub const X25519: [u8; 32] = [0xB2; 32];
pub const NONCE: [u8; 32] = [0xC3; 32];
pub const PEER_ID: &[u8] = b"\x00\x24\x08\x01\x12\x20peer-id-bytes-of-a-test-node....";

/// Offsets in a v4 quote (header 48, body 584, then signature section).
pub const BODY_OFFSET: usize = 48;
pub const MRTD_OFFSET: usize = BODY_OFFSET + 136;
pub const REPORT_DATA_OFFSET: usize = BODY_OFFSET + 520;
pub const SIGNATURE_OFFSET: usize = 636;
pub const ATTESTATION_KEY_OFFSET: usize = 700;
pub const CERT_DATA_OFFSET: usize = 770;
pub const QE_REPORT_AK_HASH_OFFSET: usize = CERT_DATA_OFFSET + 384 - 64;
pub const PCK_SIGNATURE_OFFSET: usize = CERT_DATA_OFFSET + 384;

pub fn register_binding() -> Binding<'static> {
    Binding {
        context: QuoteContext::Register,
        account: &ACCOUNT,
        public_key: &X25519,
        stash: Some(&STASH),
        peer_id: Some(PEER_ID),
        nonce: &NONCE,
    }
}

pub fn accepted() -> &'static [Measurement] {
    static CELL: OnceLock<[Measurement; 2]> = OnceLock::new();
    CELL.get_or_init(|| [Measurement([0x55; 32]), mock_measurement()])
}

pub fn allowed() -> &'static [PckKey] {
    static CELL: OnceLock<[PckKey; 2]> = OnceLock::new();
    CELL.get_or_init(|| [PckKey([0x02; 33]), dev_mock_pck()])
}

pub fn dev_policy() -> Policy<'static> {
    Policy {
        accepted_measurements: accepted(),
        pck_mode: PckMode::Dev,
        allowed_mock_pcks: allowed(),
    }
}

pub fn provider() -> &'static MockQuoteProvider {
    static CELL: OnceLock<MockQuoteProvider> = OnceLock::new();
    CELL.get_or_init(MockQuoteProvider::dev)
}

pub fn quote_for(binding: &Binding<'_>) -> Vec<u8> {
    provider().mock_quote(&report_data(binding))
}

pub fn intel_quote() -> Vec<u8> {
    include_bytes!("../data/intel_tdx_quote_v4.dat").to_vec()
}
