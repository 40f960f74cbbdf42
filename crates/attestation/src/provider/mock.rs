//! Mock quotes for machines without TDX: tdx-quote's `mock` builder, signed with P-256 keys
//! derived from a seed. Signing is RFC 6979 deterministic, so the same seed and report data give
//! byte-identical quotes (dev genesis relies on this).
//!
//! As on hardware, where the quoting enclave's report is certified by the PCK once per
//! attestation key and each quote costs one attestation-key signature, only the first quote of a
//! provider is built from scratch (two signatures); later ones reuse it as a template and are
//! signed once. The output is byte-identical to building each quote anew (tested).

use super::{ProviderError, QuoteProvider};
use crate::{
    dev::{compress, mock_attestation_signing_key, mock_pck_claim, mock_pck_signing_key},
    types::{PckKey, PlatformId},
    REPORT_DATA_LEN,
};
use p256::ecdsa::SigningKey;
use std::sync::OnceLock;
use std::vec::Vec;
use tdx_quote::Quote;

/// Quote header (48 bytes) and v4 TD report body (584 bytes): what the attestation key signs.
const SIGNED_LEN: usize = 48 + 584;
/// REPORTDATA is the last 64 bytes of the v4 TD report body.
const REPORT_DATA_OFFSET: usize = SIGNED_LEN - REPORT_DATA_LEN;
/// The attestation key's signature follows the signed part and its 4-byte length field.
const SIGNATURE_OFFSET: usize = SIGNED_LEN + 4;

/// Builds mock quotes. Its quotes verify only on a chain in [`crate::PckMode::Dev`] whose
/// allow-list holds [`MockQuoteProvider::pck_key`], and only if the mock measurement (all
/// registers zero, [`crate::mock_measurement`]) is accepted.
pub struct MockQuoteProvider {
    /// The platform every quote claims (see [`MockQuoteProvider::with_platform`]).
    platform: PlatformId,
    // `SigningKey` zeroizes its scalar on drop.
    attestation_key: SigningKey,
    pck: SigningKey,
    pck_key: PckKey,
    /// The TD's MRTD in every quote (zero: the plain mock image).
    mrtd: [u8; 48],
    /// This provider's quote for all-zero report data, built on first use: every quote differs
    /// from it only in the report data and the attestation key's signature.
    template: OnceLock<Vec<u8>>,
}

impl MockQuoteProvider {
    /// A provider whose keys are derived from `seed`. Logs a warning: choosing this provider is a
    /// dev setting and must never go unnoticed on a real deployment.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let pck = mock_pck_signing_key(&seed);
        let pck_key = compress(pck.verifying_key());
        log::warn!(
            "MOCK TDX QUOTE PROVIDER SELECTED: quotes are signed with keys derived from a seed and \
             prove nothing about the hardware or software. Dev and test chains only. Mock PCK: 0x{}",
            hex::encode(pck_key.0)
        );
        MockQuoteProvider {
            attestation_key: mock_attestation_signing_key(&seed),
            pck,
            pck_key,
            mrtd: [0; 48],
            platform: crate::DEV_MOCK_PLATFORM,
            template: OnceLock::new(),
        }
    }

    /// The same provider, quoting as the mock image called `label`
    /// ([`crate::mock_image_mrtd`]): its quotes carry that image's measurement
    /// ([`crate::mock_image_measurement`]) instead of the all-zero one.
    pub fn with_image(mut self, label: &str) -> Self {
        self.mrtd = crate::dev::mock_image_mrtd(label);
        self.template = OnceLock::new();
        self
    }

    /// The provider with the shared dev seed [`crate::DEV_MOCK_PCK_SEED`].
    pub fn dev() -> Self {
        Self::from_seed(crate::DEV_MOCK_PCK_SEED)
    }

    /// The PCK public key that signs this provider's QE reports: what a dev chain must allow.
    pub fn pck_key(&self) -> PckKey {
        self.pck_key
    }

    /// The same provider claiming to run on `platform` instead of
    /// [`crate::DEV_MOCK_PLATFORM`]: a mock node "on another host". (Another seed with the
    /// same platform is a mock TCB update: new PCK, same platform.)
    pub fn with_platform(mut self, platform: PlatformId) -> Self {
        self.platform = platform;
        self.template = OnceLock::new();
        self
    }

    /// The platform id this provider's quotes claim.
    pub fn platform(&self) -> PlatformId {
        self.platform
    }

    /// Builds the quote for `report_data`; infallible, unlike hardware.
    pub fn mock_quote(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Vec<u8> {
        let template = self.template.get_or_init(|| self.build(&[0; REPORT_DATA_LEN]));
        if template.len() < SIGNATURE_OFFSET + 64 {
            // tdx-quote's builder always writes a full v4 quote; build anew should it not.
            return self.build(report_data);
        }
        // Every range below lies within the length checked above.
        let mut quote = template.clone();
        quote[REPORT_DATA_OFFSET..SIGNED_LEN].copy_from_slice(report_data);
        let signature: p256::ecdsa::Signature =
            p256::ecdsa::signature::Signer::sign(&self.attestation_key, &quote[..SIGNED_LEN]);
        quote[SIGNATURE_OFFSET..SIGNATURE_OFFSET + 64].copy_from_slice(&signature.to_bytes());
        quote
    }

    /// Builds the quote for `report_data` from scratch with tdx-quote's builder (PCK signature
    /// over the QE report, attestation-key signature over header and body).
    fn build(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Vec<u8> {
        let mut quote = Quote::mock(
            self.attestation_key.clone(),
            self.pck.clone(),
            *report_data,
            mock_pck_claim(&self.pck_key, &self.platform),
        );
        if self.mrtd != [0; 48] {
            // tdx-quote's builder leaves every register zero; set MRTD and sign header and body
            // again (the first `SIGNED_LEN` bytes of the serialised quote) as the builder does.
            quote.body.mrtd = self.mrtd;
            let bytes = quote.as_bytes();
            let signed = bytes.get(..SIGNED_LEN).unwrap_or(&bytes);
            let mut key = self.attestation_key.clone();
            quote.signature = p256::ecdsa::signature::SignerMut::sign(&mut key, signed);
        }
        quote.as_bytes()
    }
}

impl QuoteProvider for MockQuoteProvider {
    fn quote(&self, report_data: &[u8; REPORT_DATA_LEN]) -> Result<Vec<u8>, ProviderError> {
        Ok(self.mock_quote(report_data))
    }
}

impl core::fmt::Debug for MockQuoteProvider {
    // Only the public PCK: the signing keys must never reach a log.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MockQuoteProvider")
            .field("pck_key", &self.pck_key)
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn report_data(i: u8) -> [u8; REPORT_DATA_LEN] {
        core::array::from_fn(|j| i.wrapping_mul(31).wrapping_add(j as u8))
    }

    #[test]
    fn quotes_from_the_template_equal_quotes_built_anew() {
        let providers = [
            MockQuoteProvider::dev(),
            MockQuoteProvider::from_seed([9; 32]).with_image("other image"),
            MockQuoteProvider::dev().with_platform(PlatformId([7; 16])),
        ];
        for provider in providers {
            for i in 0..4 {
                let data = report_data(i);
                assert_eq!(provider.mock_quote(&data), provider.build(&data), "quote {i}");
            }
        }
    }

    #[test]
    fn changing_image_or_platform_after_quoting_rebuilds_the_template() {
        let data = report_data(1);
        let first = MockQuoteProvider::dev();
        let plain = first.mock_quote(&data);
        let imaged = first.with_image("upgraded");
        let quote = imaged.mock_quote(&data);
        assert_ne!(quote, plain);
        assert_eq!(quote, imaged.build(&data));
        let moved = imaged.with_platform(PlatformId([3; 16]));
        assert_eq!(moved.mock_quote(&data), moved.build(&data));
    }
}
