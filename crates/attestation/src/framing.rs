//! Structural checks on raw quote bytes, run before the parser sees them.
//!
//! tdx-quote's parser assumes its input is at least as long as a header and body (it slices the
//! signed region without a length check), so the bounds checked here are what keeps parsing
//! panic-free. They also give precise errors (empty, too large, truncated) instead of one generic
//! parse failure. Offsets follow the v4 quote layout of Intel's TDX DCAP Quoting Library API,
//! appendix 3.

use crate::{error::VerifyError, MAX_QUOTE_LEN};

/// Quote header length.
const HEADER_LEN: usize = 48;
/// v4 TD quote body length.
const V4_BODY_LEN: usize = 584;
/// Header and body: the region the attestation key signs.
const SIGNED_LEN: usize = HEADER_LEN + V4_BODY_LEN;
/// After the body: signature-section length (4), ECDSA signature (64), attestation key (64),
/// certification data type (2) and certification data length (4).
const FIXED_LEN: usize = SIGNED_LEN + 4 + 64 + 64 + 2 + 4;
/// Offset of the (signed, little-endian `i32`) certification data length.
const CERT_LEN_OFFSET: usize = FIXED_LEN - 4;

/// The only quote version accepted, see [`VerifyError::UnsupportedVersion`]. tdx-quote 0.0.5
/// also attempts v5, but signs a fixed 696-byte region for it that ignores the v5 body
/// descriptor, and has no v5 test vectors; real TDX hosts produce v4 through configfs-tsm.
const QUOTE_VERSION: u16 = 4;
/// Attestation key type ECDSA-256 with P-256.
const KEY_TYPE_ECDSA_P256: u16 = 2;
/// TEE type of a TDX trust domain.
const TEE_TYPE_TDX: u32 = 0x81;

/// The smallest well-formed v4 quote (no certification data at all).
pub const MIN_QUOTE_LEN: usize = FIXED_LEN;
/// Offset of the 64-byte report data in a v4 quote: the header, then the TD report body up to
/// its last field.
pub const REPORT_DATA_OFFSET: usize = HEADER_LEN + V4_BODY_LEN - crate::REPORT_DATA_LEN;

/// The nonce half of a quote's report data, if `quote` is long enough to have one. Only a lookup
/// key (a provider finds the nonce it issued with it): the full binding is verified afterwards.
pub fn report_data_nonce(quote: &[u8]) -> Option<[u8; 32]> {
    quote.get(REPORT_DATA_OFFSET + 32..REPORT_DATA_OFFSET + 64)?.try_into().ok()
}

/// Checks size, version, key type, TEE type and that the certification data announced by the
/// header fits in `quote`. Returns the length of the quote proper (any zero padding after it has
/// been checked and can be ignored).
pub(crate) fn check_framing(quote: &[u8]) -> Result<usize, VerifyError> {
    if quote.is_empty() {
        return Err(VerifyError::Empty);
    }
    if quote.len() > MAX_QUOTE_LEN {
        return Err(VerifyError::TooLarge);
    }
    // Version and key type lead the header; both are checked before the length so that an
    // unknown format is reported as such rather than as "truncated".
    let version = read_u16(quote, 0).ok_or(VerifyError::Truncated)?;
    if version != QUOTE_VERSION {
        return Err(VerifyError::UnsupportedVersion);
    }
    let key_type = read_u16(quote, 2).ok_or(VerifyError::Truncated)?;
    if key_type != KEY_TYPE_ECDSA_P256 {
        return Err(VerifyError::UnsupportedKeyType);
    }
    let tee_type = read_u32(quote, 4).ok_or(VerifyError::Truncated)?;
    if tee_type != TEE_TYPE_TDX {
        return Err(VerifyError::NotTdx);
    }
    let cert_len = read_u32(quote, CERT_LEN_OFFSET).ok_or(VerifyError::Truncated)?;
    // The field is a signed i32 in the spec: a "negative" length is malformed, not huge.
    let cert_len = i32::from_le_bytes(cert_len.to_le_bytes());
    let cert_len = usize::try_from(cert_len).map_err(|_| VerifyError::Malformed)?;
    let end = FIXED_LEN.checked_add(cert_len).ok_or(VerifyError::Malformed)?;
    if quote.len() < end {
        return Err(VerifyError::Truncated);
    }
    // `end <= quote.len()` was checked just above, so the range is in bounds.
    if quote.get(end..).is_some_and(|rest| rest.iter().any(|&b| b != 0)) {
        return Err(VerifyError::TrailingData);
    }
    Ok(end)
}

fn read_u16(bytes: &[u8], offset: usize) -> Option<u16> {
    let field = bytes.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_le_bytes(field.try_into().ok()?))
}

fn read_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let field = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_le_bytes(field.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> alloc::vec::Vec<u8> {
        let mut quote = alloc::vec![0u8; FIXED_LEN];
        quote[0..2].copy_from_slice(&4u16.to_le_bytes());
        quote[2..4].copy_from_slice(&2u16.to_le_bytes());
        quote[4..8].copy_from_slice(&0x81u32.to_le_bytes());
        quote
    }

    #[test]
    fn minimal_frame_is_accepted_and_each_header_field_is_checked() {
        assert_eq!(check_framing(&header()), Ok(FIXED_LEN));
        let mut q = header();
        q[0] = 5;
        assert_eq!(check_framing(&q), Err(VerifyError::UnsupportedVersion));
        let mut q = header();
        q[2] = 3;
        assert_eq!(check_framing(&q), Err(VerifyError::UnsupportedKeyType));
        let mut q = header();
        q[4] = 0;
        assert_eq!(check_framing(&q), Err(VerifyError::NotTdx));
    }

    #[test]
    fn certification_length_is_bounded_by_the_input() {
        let mut q = header();
        q[CERT_LEN_OFFSET..FIXED_LEN].copy_from_slice(&10u32.to_le_bytes());
        assert_eq!(check_framing(&q), Err(VerifyError::Truncated));
        q.extend_from_slice(&[7u8; 10]);
        assert_eq!(check_framing(&q), Ok(FIXED_LEN + 10));
        q.push(0);
        assert_eq!(check_framing(&q), Ok(FIXED_LEN + 10));
        q.push(1);
        assert_eq!(check_framing(&q), Err(VerifyError::TrailingData));
        let mut q = header();
        q[CERT_LEN_OFFSET..FIXED_LEN].copy_from_slice(&(-1i32).to_le_bytes());
        assert_eq!(check_framing(&q), Err(VerifyError::Malformed));
    }

    #[test]
    fn short_inputs_are_truncated_not_panics() {
        let full = header();
        for len in 1..FIXED_LEN {
            assert_eq!(check_framing(&full[..len]), Err(VerifyError::Truncated), "len {len}");
        }
    }
}
