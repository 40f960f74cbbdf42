//! Byte strings with a hard upper length, checked while decoding before any allocation.
//!
//! SCALE's own `Vec<u8>` trusts the compact length prefix far enough to start reading; here the
//! prefix is compared with the type's bound (and with the bytes actually left in the input)
//! first, so a peer can never make a decoder allocate more than the bound.
//! [`SecretBytes`] is the same thing for key material: zeroized on drop, never printed.

use codec::{Compact, Decode, Encode, Error as CodecError, Input, Output};
use core::fmt;
use zeroize::Zeroizing;

/// Reads a compact length prefix and checks it against `max` and the remaining input.
fn read_bounded_len<I: Input>(input: &mut I, max: usize) -> Result<usize, CodecError> {
    let len = usize::try_from(<Compact<u32>>::decode(input)?.0)
        .map_err(|_| CodecError::from("length does not fit in usize"))?;
    if len > max {
        return Err("byte string longer than its bound".into());
    }
    if let Some(remaining) = input.remaining_len()? {
        if remaining < len {
            return Err("byte string longer than the remaining input".into());
        }
    }
    Ok(len)
}

fn encode_len<W: Output + ?Sized>(len: usize, dest: &mut W) {
    // Every constructor caps the length at N, and all bounds in this crate are far below
    // u32::MAX, so the conversion cannot saturate in practice; saturating keeps it total anyway.
    Compact(u32::try_from(len).unwrap_or(u32::MAX)).encode_to(dest);
}

/// Error returned when a byte string is longer than the bound of the type it is put into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} bytes exceed the bound of {max} bytes")]
pub struct TooLong {
    /// Length that was offered.
    pub len: usize,
    /// The type's bound.
    pub max: usize,
}

/// A public byte string of at most `N` bytes (quotes, ciphertexts).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct BoundedBytes<const N: usize>(Vec<u8>);

impl<const N: usize> BoundedBytes<N> {
    /// The bound, in bytes.
    pub const MAX: usize = N;

    /// Wraps `bytes` if it is at most `N` bytes long.
    pub fn new(bytes: Vec<u8>) -> Result<Self, TooLong> {
        if bytes.len() > N {
            return Err(TooLong { len: bytes.len(), max: N });
        }
        Ok(Self(bytes))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Gives the bytes back.
    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const N: usize> TryFrom<Vec<u8>> for BoundedBytes<N> {
    type Error = TooLong;
    fn try_from(bytes: Vec<u8>) -> Result<Self, TooLong> {
        Self::new(bytes)
    }
}

impl<const N: usize> AsRef<[u8]> for BoundedBytes<N> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for BoundedBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Quotes and ciphertexts are public but long; their length is what helps in a log.
        write!(f, "BoundedBytes<{N}>({} bytes)", self.0.len())
    }
}

impl<const N: usize> Encode for BoundedBytes<N> {
    fn size_hint(&self) -> usize {
        5 + self.0.len()
    }
    fn encode_to<W: Output + ?Sized>(&self, dest: &mut W) {
        encode_len(self.0.len(), dest);
        dest.write(&self.0);
    }
}

impl<const N: usize> Decode for BoundedBytes<N> {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        let len = read_bounded_len(input, N)?;
        let mut bytes = vec![0u8; len];
        input.read(&mut bytes)?;
        Ok(Self(bytes))
    }
}

/// Secret bytes (a key share) of at most `N` bytes: zeroized on drop, never printed, compared
/// in constant time.
#[derive(Clone, Default)]
pub struct SecretBytes<const N: usize>(Zeroizing<Vec<u8>>);

impl<const N: usize> SecretBytes<N> {
    /// The bound, in bytes.
    pub const MAX: usize = N;

    /// Wraps `bytes` if it is at most `N` bytes long. The input is zeroized either way.
    pub fn new(bytes: Zeroizing<Vec<u8>>) -> Result<Self, TooLong> {
        if bytes.len() > N {
            return Err(TooLong { len: bytes.len(), max: N });
        }
        Ok(Self(bytes))
    }

    /// Copies `bytes` into a new secret if it is at most `N` bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, TooLong> {
        Self::new(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret bytes; keep the borrow short and do not copy them out unprotected.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Gives the bytes back, still zeroized on drop.
    pub fn into_zeroizing(self) -> Zeroizing<Vec<u8>> {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const N: usize> PartialEq for SecretBytes<N> {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        // Lengths are not secret (they follow from the threshold scheme); contents are.
        self.0.ct_eq(&other.0).into()
    }
}

impl<const N: usize> Eq for SecretBytes<N> {}

impl<const N: usize> fmt::Debug for SecretBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes<{N}>(<{} bytes redacted>)", self.0.len())
    }
}

impl<const N: usize> Encode for SecretBytes<N> {
    fn size_hint(&self) -> usize {
        5 + self.0.len()
    }
    fn encode_to<W: Output + ?Sized>(&self, dest: &mut W) {
        encode_len(self.0.len(), dest);
        dest.write(&self.0);
    }
}

impl<const N: usize> Decode for SecretBytes<N> {
    fn decode<I: Input>(input: &mut I) -> Result<Self, CodecError> {
        let len = read_bounded_len(input, N)?;
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        input.read(&mut bytes)?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_rejects_over_bound_on_construction_and_decode() {
        assert_eq!(BoundedBytes::<4>::new(vec![0; 5]), Err(TooLong { len: 5, max: 4 }));
        let encoded = vec![1u8; 5].encode();
        assert!(BoundedBytes::<4>::decode(&mut &encoded[..]).is_err());
        let ok = BoundedBytes::<5>::decode(&mut &encoded[..]).unwrap();
        assert_eq!(ok.as_slice(), &[1u8; 5]);
        assert_eq!(ok.encode(), encoded);
    }

    #[test]
    fn length_prefix_larger_than_input_is_rejected_before_allocation() {
        // Claims 1000 bytes, carries 3: must fail on the length check, not on a 1000-byte read.
        let mut encoded = Compact(1000u32).encode();
        encoded.extend_from_slice(&[1, 2, 3]);
        assert!(BoundedBytes::<4096>::decode(&mut &encoded[..]).is_err());
        assert!(SecretBytes::<4096>::decode(&mut &encoded[..]).is_err());
    }

    #[test]
    fn secret_debug_redacts() {
        let s = SecretBytes::<8>::from_slice(&[0xAB; 4]).unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("171") && !printed.to_lowercase().contains("ab"), "{printed}");
        assert!(printed.contains("redacted"));
    }
}
