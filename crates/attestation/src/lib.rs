//! TDX attestation for peerseal: what a TSS server's quote must prove and how the chain checks it.
//!
//! A TSS server proves it runs an accepted image on genuine TDX hardware by presenting a quote.
//! This crate defines the 64-byte report data that binds a quote to one purpose, account, key,
//! owning validator stash (where there is one) and chain nonce ([`report_data`]), the
//! [`Measurement`] of an image, and [`verify_quote`], the one verification path the chain
//! (`pallet-attestation`, `no_std`) and the TSS node share. The PCK that vouches for the hardware
//! is judged by [`PckMode`], which is data: production requires Intel's certificate chain, dev
//! requires an allow-listed mock key. [`platform_id`] names the physical platform a quote comes
//! from (the PPID of its PCK certificate), which unlike the PCK survives TCB updates. With `std`
//! it also provides [`QuoteProvider`]s: Linux configfs-tsm for real TDs and a loudly logged mock
//! for dev.
//!
//! Without its default `std` feature the crate is `no_std` + `alloc`, and so is everything it
//! depends on, tdx-quote's PCK-chain verification included; only the providers need `std`.
//!
//! Dependencies: `tdx-quote` parses quotes and verifies their signatures and PCK chains
//! (`no_std`, and its `mock` builder lets dev quotes take the same verification path as real
//! ones); `p256` derives the mock keys and is
//! already a dependency of `tdx-quote`; `sha2` is the hash for measurements and bindings (also
//! already in `tdx-quote`'s tree, so nothing new is built); `parity-scale-codec` and `scale-info`
//! because these types cross the chain boundary; `serde` and `hex` so measurements and PCKs can
//! appear in a chain spec; `thiserror` for typed errors without `std`; `log` for the mock
//! provider's warning (light and `no_std`); `x509-cert`, `der` and `pem` to read the PPID from
//! the PCK certificate — RustCrypto's maintained `no_std` X.509/DER parsers and the PEM splitter
//! tdx-quote itself verifies the chain with, all three already in its tree (see
//! [`platform_id`]'s module for the bounds).
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod dev;
mod error;
mod framing;
mod platform;
mod report_data;
mod types;
mod verify;

#[cfg(feature = "std")]
mod provider;

pub use dev::{
    dev_mock_pck, mock_image_measurement, mock_image_mrtd, mock_measurement, mock_pck_key,
    DEV_MOCK_PCK_SEED,
};
pub use error::VerifyError;
pub use framing::{report_data_nonce, MIN_QUOTE_LEN, REPORT_DATA_OFFSET};
pub use platform::{platform_id, DEV_MOCK_PLATFORM};
pub use report_data::{check_report_data, report_data, Binding};
pub use types::{Measurement, PckKey, PckMode, PlatformId, QuoteContext};
pub use verify::{
    claimed_measurement, verify_quote, verify_quote_with_platform, Policy, VerifiedQuote,
};

#[cfg(feature = "std")]
pub use provider::{
    ConfigfsTsmProvider, MockQuoteProvider, ProviderError, QuoteProvider, DEFAULT_TSM_REPORT_ROOT,
    TDX_TSM_PROVIDER,
};

/// Length of a TDX quote's report data.
pub const REPORT_DATA_LEN: usize = 64;

/// The longest quote any decoder here accepts; longer input is rejected before parsing. Real
/// quotes with their PCK certificate chain are about 5 KiB.
pub const MAX_QUOTE_LEN: usize = 16 * 1024;
