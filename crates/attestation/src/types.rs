//! The small value types that cross the chain boundary: what a quote is for ([`QuoteContext`]),
//! which software image it proves ([`Measurement`]), which Intel provisioning key vouches for
//! the hardware ([`PckKey`]), which physical platform it is ([`PlatformId`]) and how the key is
//! judged ([`PckMode`]).

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Domain separator of [`Measurement::from_registers`]: a measurement can never be confused with
/// any other SHA-256 value peerseal computes.
const MEASUREMENT_DOMAIN: &[u8] = b"peerseal/attestation/measurement/v1";

/// What a quote is presented for. It is hashed into the report data, so a quote made for one
/// purpose cannot be replayed for another.
///
/// Append new variants at the end only: the SCALE index and the tag in the report data of the
/// existing variants must never change.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
    Serialize,
    Deserialize,
)]
pub enum QuoteContext {
    /// A validator registers its TSS server (binds TSS account, x25519 key, stash and peer id).
    Register,
    /// A node recovers its key backup (binds TSS account and the response key).
    Recover,
    /// A registered server changes its published info (same fields as `Register`).
    ChangeServerInfo,
}

impl QuoteContext {
    /// The byte that stands for this context inside the report-data hash. Explicit rather than
    /// derived from the enum layout so that reordering the source can never change it.
    pub const fn tag(self) -> u8 {
        match self {
            QuoteContext::Register => 1,
            QuoteContext::Recover => 2,
            QuoteContext::ChangeServerInfo => 3,
        }
    }
}

/// The identity of the software running in a TD: a domain-separated SHA-256 of the build-time
/// register MRTD followed by the run-time registers RTMR0..RTMR3.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub struct Measurement(pub [u8; 32]);

impl Measurement {
    /// Hashes the five measurement registers of a TD report, in register order.
    pub fn from_registers(mrtd: &[u8; 48], rtmr: &[[u8; 48]; 4]) -> Self {
        let mut hasher = Sha256::new();
        // The domain has a fixed length, and so have all registers, so plain concatenation is
        // unambiguous.
        hasher.update(MEASUREMENT_DOMAIN);
        hasher.update(mrtd);
        for register in rtmr {
            hasher.update(register);
        }
        Measurement(hasher.finalize().into())
    }
}

/// A provisioning certification key (PCK) public key: SEC1-compressed P-256 point.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub struct PckKey(pub [u8; 33]);

/// The physical platform a quote comes from, as its PCK certificate names it: the 16-byte PPID
/// (Platform Provisioning ID) from Intel's SGX extensions. Unlike [`PckKey`] it stays the same
/// when the platform's TCB (microcode, SEAM module, PCE) is updated; see [`crate::platform_id`]
/// for why the PPID and not another field. Mock quotes carry a claimed one (dev PCK mode only).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub struct PlatformId(pub [u8; 16]);

/// How the PCK that signed a quote's QE report is judged. This is data (stored on chain, set by
/// governance), never a compile-time switch: both modes run the same verification code.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
    Serialize,
    Deserialize,
)]
pub enum PckMode {
    /// The quote must carry a PCK certificate chain that verifies up to Intel's SGX root CA.
    /// The default, so that forgetting to configure a chain fails safe.
    #[default]
    Production,
    /// The PCK must be one of an explicit allow-list of (mock) keys. For dev and test chains
    /// without TDX hardware.
    Dev,
}

/// Serde as a `0x`-prefixed hex string: how fixed-size byte values appear in a chain spec.
/// Written by hand because serde derives stop at 32-byte arrays.
macro_rules! impl_hex_serde {
    ($ty:ident, $len:expr) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut text = alloc::string::String::with_capacity(2 + 2 * $len);
                text.push_str("0x");
                text.push_str(&hex::encode(self.0));
                serializer.serialize_str(&text)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct HexVisitor;
                impl serde::de::Visitor<'_> for HexVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        write!(f, "a 0x-prefixed hex string of {} bytes", $len)
                    }
                    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<$ty, E> {
                        let digits = value.strip_prefix("0x").unwrap_or(value);
                        let mut bytes = [0u8; $len];
                        hex::decode_to_slice(digits, &mut bytes).map_err(E::custom)?;
                        Ok($ty(bytes))
                    }
                }
                deserializer.deserialize_str(HexVisitor)
            }
        }
    };
}

impl_hex_serde!(Measurement, 32);
impl_hex_serde!(PckKey, 33);
impl_hex_serde!(PlatformId, 16);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::VerifyError;

    #[test]
    fn byte_values_serialize_as_prefixed_hex_and_back() {
        let key = PckKey([0xAB; 33]);
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"0x{}\"", "ab".repeat(33)));
        assert_eq!(serde_json::from_str::<PckKey>(&json).unwrap(), key);
        let m = Measurement([7; 32]);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Measurement>(&json).unwrap(), m);
        // Without the prefix is accepted; wrong lengths and non-hex are not.
        assert_eq!(
            serde_json::from_str::<Measurement>(&format!("\"{}\"", "07".repeat(32))).unwrap(),
            m
        );
        assert!(serde_json::from_str::<Measurement>(&format!("\"0x{}\"", "07".repeat(33))).is_err());
        assert!(serde_json::from_str::<PckKey>(&format!("\"0x{}\"", "07".repeat(32))).is_err());
        assert!(serde_json::from_str::<PckKey>(&format!("\"0x{}\"", "zz".repeat(33))).is_err());
        assert!(serde_json::from_str::<PckKey>("[1,2,3]").is_err());
    }

    #[test]
    fn scale_round_trips_and_bounds() {
        for value in [PckMode::Production, PckMode::Dev] {
            assert_eq!(PckMode::decode(&mut &value.encode()[..]).unwrap(), value);
        }
        assert_eq!(PckMode::default(), PckMode::Production);
        let error = VerifyError::ReportDataMismatch { nonce_ok: true, binding_ok: false };
        assert_eq!(VerifyError::decode(&mut &error.encode()[..]).unwrap(), error);
        assert!(error.encode().len() <= VerifyError::max_encoded_len());
        assert_eq!(PckKey::max_encoded_len(), 33);
        assert_eq!(Measurement::max_encoded_len(), 32);
        assert_eq!(PlatformId::max_encoded_len(), 16);
        let platform = PlatformId([0xC3; 16]);
        assert_eq!(PlatformId::decode(&mut &platform.encode()[..]).unwrap(), platform);
        let json = serde_json::to_string(&platform).unwrap();
        assert_eq!(serde_json::from_str::<PlatformId>(&json).unwrap(), platform);
        // SCALE indices of contexts are part of the chain's API: append only.
        assert_eq!(QuoteContext::Register.encode(), [0]);
        assert_eq!(QuoteContext::Recover.encode(), [1]);
        assert_eq!(QuoteContext::ChangeServerInfo.encode(), [2]);
    }
}
