//! Property tests: arbitrary bytes into every decoder never panic and never produce a value
//! from more bytes than the bound; valid messages survive arbitrary framing round trips.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use codec::{Decode, DecodeLimit};
use futures::executor::block_on;
use futures::io::Cursor;
use libp2p::request_response::Codec;
use peerseal_protocol::limits::*;
use peerseal_protocol::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn request_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Ok(request) = Request::from_bytes(&bytes) {
            // Whatever decodes re-encodes to the same bytes (SCALE is canonical here).
            prop_assert_eq!(request.to_bytes().unwrap(), bytes);
        }
    }

    #[test]
    fn response_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Ok(response) = Response::from_bytes(&bytes) {
            prop_assert_eq!(response.to_bytes().unwrap(), bytes);
        }
    }

    #[test]
    fn biased_inputs_reach_deep_into_the_decoders(
        first in 0u8..6,
        second in 0u8..16,
        rest in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        // Valid variant indices up front so the decoders get past the first byte.
        let mut bytes = vec![first, second];
        bytes.extend(rest);
        let _ = Request::from_bytes(&bytes);
        let _ = Response::from_bytes(&bytes);
        let _ = BackupShare::from_payload(&bytes);
        let _ = Sealed::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &bytes[..]);
        let _ = SignedReceipt::decode(&mut &bytes[..]);
    }

    #[test]
    fn payload_and_envelope_decoders_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..3000),
    ) {
        let _ = BackupShare::from_payload(&bytes);
        if let Ok(sealed) = Sealed::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &bytes[..]) {
            prop_assert!(sealed.ciphertext.len() <= MAX_SEALED_CIPHERTEXT_LEN);
            // Arbitrary envelopes never open (and never panic).
            prop_assert!(open(&support::x25519(10), DomainTag::StoreBackup, &sealed).is_err());
        }
    }

    #[test]
    fn codec_never_panics_on_arbitrary_streams(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        let _ = block_on(BackupCodec.read_request(&PROTOCOL, &mut Cursor::new(bytes.clone())));
        let _ = block_on(BackupCodec.read_response(&PROTOCOL, &mut Cursor::new(bytes)));
    }

    #[test]
    fn codec_honours_any_length_prefix(len in any::<u32>(), body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend(body);
        let result = block_on(BackupCodec.read_request(&PROTOCOL, &mut Cursor::new(bytes)));
        if len as usize > MAX_REQUEST_LEN || len == 0 {
            prop_assert_eq!(result.unwrap_err().kind(), std::io::ErrorKind::InvalidData);
        }
    }

    #[test]
    fn opened_envelope_rejects_random_tampering(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let sealed = support::sample_envelope(DomainTag::StoreBackup, 32);
        let mut bytes = sealed.ciphertext.as_slice().to_vec();
        let i = index.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let tampered = Sealed { enc: sealed.enc, ciphertext: BoundedBytes::new(bytes).unwrap() };
        prop_assert!(open(&support::x25519(10), DomainTag::StoreBackup, &tampered).is_err());
    }
}
