//! The platform a quote comes from, in a form that survives TCB updates: [`platform_id`].
//!
//! ## Which identity, and why the PPID
//! A production quote carries its PCK certificate chain; the leaf (the PCK certificate) has
//! Intel's SGX extensions (OID `1.2.840.113741.1.13.1`, Intel SGX PCK Certificate and CRL
//! Profile), a sequence of `(OID, value)` pairs. Candidates for "the same machine":
//!
//! - **PCK public key**: what recovery compared before. It is derived from the platform's
//!   hardware key *and its TCB* (CPU SVN, PCE SVN): a microcode or SEAM-module update (TCB
//!   recovery) gives the platform a new PCK key and certificate. Binding to it loses the data
//!   of every node whose host applies a security update.
//! - **PPID** (`…13.1.1`, 16 bytes, Platform Provisioning ID): the provisioning id of the CPU
//!   package (single-package platforms) or of the platform instance (multi-package platforms,
//!   from the platform keys made when the platform was registered). The PCE derives it
//!   independently of the TCB level, so it is the same in the PCK certificates of every TCB
//!   level of one platform. It changes only when the hardware identity does: another machine,
//!   a replaced CPU package, or a multi-package platform re-registered with new platform keys.
//!   **This is what we bind to.**
//! - **FMSPC** (`…13.1.4`, 6 bytes): family, model, stepping and platform type. Shared by every
//!   machine of the same model, so it identifies a product, not a platform. Not used.
//! - **Platform Instance ID** (`…13.1.6`, 16 bytes): present only on multi-package platforms,
//!   where it changes together with the PPID (both come from the platform keys); adds nothing
//!   over the PPID and is missing on single-package hosts. Not used.
//!
//! So [`PlatformId`] is the PPID. A move to another host (or a platform whose identity was
//! reset) needs a governance-approved move (`pallet-registry`'s `approve_move`), not a new
//! platform rule.
//!
//! ## Where it is trusted
//! In [`PckMode::Production`] the PPID is read only after tdx-quote has verified the whole
//! embedded chain up to Intel's SGX root CA and the PCK's signature over the QE report, and it
//! is read from the same certificate tdx-quote took the PCK from (the first PEM block). In
//! [`PckMode::Dev`] a mock quote's claimed platform ([`crate::DEV_MOCK_PLATFORM`] unless its
//! provider says otherwise) is believed as claimed: the dev mode proves nothing, and the
//! claim only lets the tests drive the same rule. A mock claim in production mode is refused.
//!
//! ## Parsing
//! `x509-cert` and `der` (RustCrypto, `no_std`) parse the certificate and the extension; both
//! are already in the tree through tdx-quote's own chain verification (`x509-verify`), so no new
//! parser is built, and the certificate is parsed by the same code that verified it. `pem` (also
//! tdx-quote's) splits the chain exactly as tdx-quote does. All input is inside a quote that
//! passed the framing bound ([`crate::MAX_QUOTE_LEN`]), DER lengths are checked against the
//! input by `der`, and nothing here indexes or unwraps: a hostile chain is an error, never a
//! panic (property test `platform_id_never_panics` in `tests/no_panic.rs`).

use crate::{
    dev::parse_mock_claim,
    error::VerifyError,
    types::{PckMode, PlatformId},
    verify::{embedded_chain, parse_framed, production_pck},
};
use alloc::vec::Vec;
use der::{
    asn1::{AnyRef, ObjectIdentifier, OctetStringRef},
    Decode, Sequence,
};
use tdx_quote::Quote;
use x509_cert::Certificate;

/// The platform every mock quote claims unless its provider is given another one
/// (`MockQuoteProvider::with_platform`): all dev nodes "run on one host", so moving between
/// mock seeds (a mock TCB update: a new PCK) keeps the platform. Public and forgeable, like
/// every mock value: honoured only in [`crate::PckMode::Dev`].
pub const DEV_MOCK_PLATFORM: PlatformId = PlatformId(*b"peerseal-devplat");

/// Intel's SGX extensions of a PCK certificate.
const SGX_EXTENSIONS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1");
/// The PPID inside the SGX extensions: an OCTET STRING of 16 bytes.
const SGX_PPID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113741.1.13.1.1");
/// The PEM label of a certificate.
const PEM_CERTIFICATE: &str = "CERTIFICATE";

/// One `(OID, value)` pair of the SGX extensions.
#[derive(Sequence)]
struct SgxEntry<'a> {
    id: ObjectIdentifier,
    value: AnyRef<'a>,
}

/// The platform `quote` comes from, judged by `mode` (see the module docs). Never panics.
///
/// Production: the quote must parse, its PCK chain must verify to Intel's root and the PCK
/// must have signed the QE report (the errors are [`crate::verify_quote`]'s), and the PCK
/// certificate must carry exactly one SGX extension with exactly one 16-byte PPID
/// ([`VerifyError::PlatformIdMissing`] otherwise). Dev: a mock quote's claimed platform; a
/// real chain is handled as in production.
///
/// It does not check measurement or report data: callers use it beside
/// [`crate::verify_quote`], which does.
pub fn platform_id(quote: &[u8], mode: PckMode) -> Result<PlatformId, VerifyError> {
    platform_of(&parse_framed(quote)?, mode, false)
}

/// [`platform_id`] of a parsed quote; `chain_verified` when the caller has already verified its
/// PCK chain and the PCK's signature (so they are not verified twice).
pub(crate) fn platform_of(
    parsed: &Quote,
    mode: PckMode,
    chain_verified: bool,
) -> Result<PlatformId, VerifyError> {
    let chain = embedded_chain(parsed)?.ok_or(VerifyError::UnsupportedCertificationData)?;
    if let Some(claim) = parse_mock_claim(chain) {
        return match mode {
            PckMode::Dev => claim.platform.ok_or(VerifyError::PlatformIdMissing),
            PckMode::Production => Err(VerifyError::PckChainInvalid),
        };
    }
    // The chain and the PCK's signature first: an unverified certificate names nothing.
    if !chain_verified {
        production_pck(parsed)?;
    }
    let leaf = leaf_certificate(chain)?;
    ppid_of_certificate(&leaf)
}

/// The DER of the first certificate of a PEM chain: the PCK certificate, as tdx-quote reads it.
fn leaf_certificate(chain: &[u8]) -> Result<Vec<u8>, VerifyError> {
    let blocks = pem::parse_many(chain).map_err(|_| VerifyError::PckChainInvalid)?;
    let leaf = blocks.into_iter().next().ok_or(VerifyError::PckChainInvalid)?;
    if leaf.tag() != PEM_CERTIFICATE {
        return Err(VerifyError::PckChainInvalid);
    }
    Ok(leaf.into_contents())
}

/// The PPID in a DER PCK certificate's SGX extensions.
pub(crate) fn ppid_of_certificate(der: &[u8]) -> Result<PlatformId, VerifyError> {
    let certificate = Certificate::from_der(der).map_err(|_| VerifyError::PckChainInvalid)?;
    let extensions = certificate.tbs_certificate.extensions.unwrap_or_default();
    let sgx = single(extensions.iter().filter(|e| e.extn_id == SGX_EXTENSIONS))?;
    let entries = Vec::<SgxEntry<'_>>::from_der(sgx.extn_value.as_bytes())
        .map_err(|_| VerifyError::PlatformIdMissing)?;
    let ppid = single(entries.iter().filter(|entry| entry.id == SGX_PPID))?;
    let bytes =
        ppid.value.decode_as::<OctetStringRef<'_>>().map_err(|_| VerifyError::PlatformIdMissing)?;
    let ppid: [u8; 16] = bytes.as_bytes().try_into().map_err(|_| VerifyError::PlatformIdMissing)?;
    Ok(PlatformId(ppid))
}

/// The only item of `items`: none, or more than one (an ambiguous certificate), is
/// [`VerifyError::PlatformIdMissing`].
fn single<T>(mut items: impl Iterator<Item = T>) -> Result<T, VerifyError> {
    match (items.next(), items.next()) {
        (Some(item), None) => Ok(item),
        _ => Err(VerifyError::PlatformIdMissing),
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    const INTEL_QUOTE: &[u8] = include_bytes!("../tests/data/intel_tdx_quote_v4.dat");
    /// The PPID of the test quote's PCK certificate, read independently with
    /// `openssl asn1parse -strparse` on its SGX extension (see `tests/data/README.md`).
    const INTEL_PPID: &str = "c335f11e70bb1c8ed05276ad85084c3c";
    /// The DER prefix of the SGX extensions' OID (1.2.840.113741.1.13.1).
    const SGX_OID_DER: &[u8] = &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01];

    fn intel_leaf() -> Vec<u8> {
        let quote = tdx_quote::Quote::from_bytes(&INTEL_QUOTE[..4936]).unwrap();
        leaf_certificate(&quote.pck_cert_chain().unwrap()).unwrap()
    }

    fn find(haystack: &[u8], needle: &[u8]) -> usize {
        haystack.windows(needle.len()).position(|w| w == needle).unwrap()
    }

    #[test]
    fn the_real_quote_names_its_ppid_in_both_modes() {
        for mode in [PckMode::Production, PckMode::Dev] {
            let platform = platform_id(INTEL_QUOTE, mode).unwrap();
            assert_eq!(hex::encode(platform.0), INTEL_PPID);
        }
    }

    #[test]
    fn a_chain_verified_by_the_caller_gives_the_same_platform_without_verifying_again() {
        let parsed = parse_framed(INTEL_QUOTE).unwrap();
        for mode in [PckMode::Production, PckMode::Dev] {
            assert_eq!(
                platform_of(&parsed, mode, true),
                platform_id(INTEL_QUOTE, mode),
                "{mode:?}"
            );
        }
    }

    #[test]
    fn a_new_pck_key_on_the_same_platform_keeps_the_ppid() {
        // What a TCB update does to the PCK certificate: Intel issues one with a new subject
        // key and the same PPID. We cannot get Intel to sign one, so the key is replaced in the
        // real certificate (its signature then fails, which this parser does not look at: in
        // `platform_id` the chain is verified first).
        let leaf = intel_leaf();
        let original = Certificate::from_der(&leaf).unwrap();
        let key = original.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes();
        assert_eq!(key.len(), 65);
        let at = find(&leaf, key);
        let other = p256::ecdsa::SigningKey::from_slice(&[0x11; 32]).unwrap();
        let other = other.verifying_key().to_encoded_point(false);
        let mut updated = leaf.clone();
        updated[at..at + 65].copy_from_slice(other.as_bytes());

        let reparsed = Certificate::from_der(&updated).unwrap();
        assert_ne!(
            reparsed.tbs_certificate.subject_public_key_info,
            original.tbs_certificate.subject_public_key_info
        );
        assert_eq!(ppid_of_certificate(&updated), ppid_of_certificate(&leaf));
        assert_eq!(hex::encode(ppid_of_certificate(&updated).unwrap().0), INTEL_PPID);
    }

    #[test]
    fn a_certificate_without_the_sgx_extension_names_no_platform() {
        let mut leaf = intel_leaf();
        // Another OID of the same length: the certificate still parses, the extension is gone.
        let at = find(&leaf, SGX_OID_DER);
        leaf[at + SGX_OID_DER.len() - 1] = 0x0E;
        assert!(Certificate::from_der(&leaf).is_ok());
        assert_eq!(ppid_of_certificate(&leaf), Err(VerifyError::PlatformIdMissing));
        assert_eq!(ppid_of_certificate(b"not DER"), Err(VerifyError::PckChainInvalid));
    }

    #[test]
    fn a_ppid_that_is_not_one_16_byte_octet_string_is_refused() {
        let leaf = intel_leaf();
        // The PPID entry: SEQUENCE(30 1E) { OID …13.1.1 (06 0A …), OCTET STRING(04 10) … }.
        let ppid_oid = [0x06, 0x0A, 0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01, 0x01];
        let at = find(&leaf, &ppid_oid) + ppid_oid.len();
        assert_eq!(&leaf[at..at + 2], &[0x04, 0x10]);
        // An INTEGER tag where the OCTET STRING was.
        let mut wrong_type = leaf.clone();
        wrong_type[at] = 0x02;
        assert_eq!(ppid_of_certificate(&wrong_type), Err(VerifyError::PlatformIdMissing));
        // The PPID entry renamed to another SGX OID: no PPID left.
        let mut renamed = leaf.clone();
        renamed[at - 1] = 0x09;
        assert_eq!(ppid_of_certificate(&renamed), Err(VerifyError::PlatformIdMissing));
        // The FMSPC entry (…13.1.4) renamed to the PPID's OID: two PPIDs are ambiguous.
        let fmspc_oid = [0x06, 0x0A, 0x2A, 0x86, 0x48, 0x86, 0xF8, 0x4D, 0x01, 0x0D, 0x01, 0x04];
        let mut twice = leaf.clone();
        let fmspc = find(&twice, &fmspc_oid);
        twice[fmspc + fmspc_oid.len() - 1] = 0x01;
        assert_eq!(ppid_of_certificate(&twice), Err(VerifyError::PlatformIdMissing));
    }

    #[test]
    fn a_real_chain_must_verify_before_its_ppid_counts() {
        // The real chain as certification data of a quote whose QE report a mock key signed.
        let chain =
            tdx_quote::Quote::from_bytes(&INTEL_QUOTE[..4936]).unwrap().pck_cert_chain().unwrap();
        let ak = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
        let pck = p256::ecdsa::SigningKey::from_slice(&[0x43; 32]).unwrap();
        let quote = tdx_quote::Quote::mock(ak, pck, [0; 64], chain).as_bytes();
        for mode in [PckMode::Production, PckMode::Dev] {
            assert_eq!(platform_id(&quote, mode), Err(VerifyError::PckSignatureInvalid));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn mutated_certificates_never_panic(
            mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            let mut leaf = intel_leaf();
            for (index, value) in &mutations {
                let i = index.index(leaf.len());
                leaf[i] = *value;
            }
            if let Some(cut) = cut {
                leaf.truncate(cut.index(leaf.len()));
            }
            // Any outcome but a panic; a PPID found is always 16 bytes by type.
            let _ = ppid_of_certificate(&leaf);
        }

        #[test]
        fn random_bytes_are_no_certificate(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            prop_assert!(ppid_of_certificate(&bytes).is_err());
            let _ = leaf_certificate(&bytes);
        }
    }
}
