//! HKDF-SHA256 key derivation with an unambiguous input encoding.
//!
//! `derive_key(label, context, len, epoch)` expands the epoch key with HKDF-SHA256 (no salt:
//! the epoch key is already uniformly random) and the *info* string
//!
//! ```text
//! info = lp(prefix) ‖ u64be(epoch) ‖ lp(label) ‖ lp(context) ‖ u32be(len)
//! lp(x) = u32be(byte length of x) ‖ x
//! prefix = "peerseal-kvdb/derive/v1"          (public derivations)
//!        | "peerseal-kvdb/internal/v1"        (the store's own subkeys; epoch field = 0)
//! ```
//!
//! Every field is either fixed-width or length-prefixed, so the encoding is injective: two
//! distinct `(prefix, epoch, label, context, len)` tuples never produce the same info string,
//! and public derivations can never produce the store's internal sealing key.

use hkdf::Hkdf;
use sha2::Sha256;

use crate::error::{Error, Result};

/// Prefix of every public derivation.
pub const DERIVE_PREFIX: &[u8] = b"peerseal-kvdb/derive/v1";
/// Prefix of the store's internal subkeys.
pub(crate) const INTERNAL_PREFIX: &[u8] = b"peerseal-kvdb/internal/v1";
/// HKDF-SHA256 can expand at most 255 blocks of 32 bytes.
pub const MAX_DERIVED_LEN: usize = 255 * 32;

/// What a derivation is for; selects the prefix.
pub(crate) enum Domain<'a> {
    Public { epoch: u64, label: &'a [u8], context: &'a [u8] },
    Internal(&'a [u8]),
}

fn push_prefixed(info: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| Error::InvalidDerivedLength {
        requested: bytes.len(),
        max: u32::MAX as usize,
    })?;
    info.extend_from_slice(&len.to_be_bytes());
    info.extend_from_slice(bytes);
    Ok(())
}

/// The HKDF info string for `domain` and output length `len` (see the module docs).
pub fn info_string(epoch: u64, label: &[u8], context: &[u8], len: usize) -> Result<Vec<u8>> {
    encode(&Domain::Public { epoch, label, context }, len)
}

fn encode(domain: &Domain<'_>, len: usize) -> Result<Vec<u8>> {
    let out_len = u32::try_from(len)
        .map_err(|_| Error::InvalidDerivedLength { requested: len, max: MAX_DERIVED_LEN })?;
    let mut info = Vec::with_capacity(64);
    match domain {
        Domain::Public { epoch, label, context } => {
            push_prefixed(&mut info, DERIVE_PREFIX)?;
            info.extend_from_slice(&epoch.to_be_bytes());
            push_prefixed(&mut info, label)?;
            push_prefixed(&mut info, context)?;
        }
        Domain::Internal(label) => {
            push_prefixed(&mut info, INTERNAL_PREFIX)?;
            info.extend_from_slice(&0u64.to_be_bytes());
            push_prefixed(&mut info, label)?;
            push_prefixed(&mut info, b"")?;
        }
    }
    info.extend_from_slice(&out_len.to_be_bytes());
    Ok(info)
}

/// Fills `out` with HKDF-SHA256(ikm = `key`, info = encoding of `domain` and `out.len()`).
pub(crate) fn hkdf_expand(key: &[u8], domain: &Domain<'_>, out: &mut [u8]) -> Result<()> {
    if out.is_empty() || out.len() > MAX_DERIVED_LEN {
        return Err(Error::InvalidDerivedLength { requested: out.len(), max: MAX_DERIVED_LEN });
    }
    let info = encode(domain, out.len())?;
    Hkdf::<Sha256>::new(None, key)
        .expand(&info, out)
        .map_err(|_| Error::InvalidDerivedLength { requested: out.len(), max: MAX_DERIVED_LEN })
}

/// Key material derived from an epoch key. Zeroized on drop, never printed.
#[derive(Clone, zeroize::ZeroizeOnDrop)]
pub struct DerivedKey(Vec<u8>);

impl DerivedKey {
    pub(crate) fn derive(
        key: &[u8],
        epoch: u64,
        label: &[u8],
        context: &[u8],
        len: usize,
    ) -> Result<Self> {
        if len == 0 || len > MAX_DERIVED_LEN {
            return Err(Error::InvalidDerivedLength { requested: len, max: MAX_DERIVED_LEN });
        }
        let mut out = vec![0u8; len];
        hkdf_expand(key, &Domain::Public { epoch, label, context }, &mut out)?;
        Ok(Self(out))
    }

    /// The derived bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DerivedKey(<{} bytes redacted>)", self.0.len())
    }
}
