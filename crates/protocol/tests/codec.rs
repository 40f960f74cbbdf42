//! The libp2p request-response codec driven over in-memory streams: round trips, and
//! truncated, oversized, empty and garbage frames rejected as I/O errors without panics.
// Integration tests: fixtures and helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use futures::executor::block_on;
use futures::io::Cursor;
use libp2p::request_response::Codec;
use peerseal_protocol::limits::*;
use peerseal_protocol::*;
use std::io::ErrorKind;
use support::*;

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn read_request(bytes: Vec<u8>) -> std::io::Result<Request> {
    block_on(BackupCodec.read_request(&PROTOCOL, &mut Cursor::new(bytes)))
}

fn read_response(bytes: Vec<u8>) -> std::io::Result<Response> {
    block_on(BackupCodec.read_response(&PROTOCOL, &mut Cursor::new(bytes)))
}

#[test]
fn protocol_id_is_versioned() {
    assert_eq!(PROTOCOL.as_ref(), "/peerseal/backup/2");
}

#[test]
fn every_request_round_trips_through_the_codec() {
    for request in sample_requests(MAX_QUOTE_LEN, MAX_SHARE_LEN) {
        let mut wire = Cursor::new(Vec::new());
        block_on(BackupCodec.write_request(&PROTOCOL, &mut wire, request.clone())).unwrap();
        assert_eq!(read_request(wire.into_inner()).unwrap(), request);
    }
}

#[test]
fn every_response_round_trips_through_the_codec() {
    for response in sample_responses(MAX_SHARE_LEN) {
        let mut wire = Cursor::new(Vec::new());
        block_on(BackupCodec.write_response(&PROTOCOL, &mut wire, response.clone())).unwrap();
        assert_eq!(read_response(wire.into_inner()).unwrap(), response);
    }
}

#[test]
fn frame_layout_is_big_endian_length_then_scale() {
    let request = Request::RequestNonce(RequestNonce { account: AccountId([3; 32]) });
    let mut wire = Cursor::new(Vec::new());
    block_on(BackupCodec.write_request(&PROTOCOL, &mut wire, request.clone())).unwrap();
    assert_eq!(wire.into_inner(), frame(&request.to_bytes().unwrap()));
}

#[test]
fn truncated_frames_are_eof_errors() {
    let request = sample_requests(100, 32).remove(0);
    let full = frame(&request.to_bytes().unwrap());
    for cut in 0..full.len() {
        let err = read_request(full[..cut].to_vec()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "cut at {cut}");
    }
    assert!(read_request(full).is_ok());
}

#[test]
fn oversized_length_prefix_is_invalid_data_before_reading_the_body() {
    // Prefix claims 4 GiB and no body follows: refusing on the prefix (not on EOF) shows the
    // bound is checked before anything is allocated or read.
    let err = read_request(u32::MAX.to_be_bytes().to_vec()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    let err = read_request(((MAX_REQUEST_LEN + 1) as u32).to_be_bytes().to_vec()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    let err = read_response(((MAX_RESPONSE_LEN + 1) as u32).to_be_bytes().to_vec()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    // Exactly the bound is accepted by the framing (and then fails on content, still cleanly).
    let err = read_request(frame(&vec![0xff; MAX_REQUEST_LEN])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
}

#[test]
fn a_request_sized_frame_is_refused_as_a_response() {
    let request = &sample_requests(MAX_QUOTE_LEN, 32)[2];
    let err = read_response(frame(&request.to_bytes().unwrap())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
}

#[test]
fn empty_and_garbage_frames_are_invalid_data() {
    for bytes in [
        frame(&[]),
        frame(&[0xff]),
        frame(&[9, 9, 9, 9]),
        frame(&[0; 64]),
        frame(&[2; 1000]),
        frame(b"GET / HTTP/1.1\r\n\r\n"),
    ] {
        assert_eq!(read_request(bytes.clone()).unwrap_err().kind(), ErrorKind::InvalidData);
        assert_eq!(read_response(bytes).unwrap_err().kind(), ErrorKind::InvalidData);
    }
}

#[test]
fn valid_message_with_trailing_bytes_inside_the_frame_is_invalid_data() {
    let mut body = Response::Error(ErrorReason::Internal).to_bytes().unwrap();
    body.push(0);
    assert_eq!(read_response(frame(&body)).unwrap_err().kind(), ErrorKind::InvalidData);
}

#[test]
fn writer_refuses_frames_over_the_bound() {
    let mut wire = Cursor::new(Vec::new());
    let err = block_on(p2p::write_frame(&mut wire, &[0; 11], 10)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert!(wire.into_inner().is_empty(), "nothing may be written on refusal");
}

/// Counts the writes it is given, as a yamux stream would turn each into a frame of its own.
#[derive(Default)]
struct WriteCounter {
    writes: usize,
    bytes: Vec<u8>,
}

impl futures::AsyncWrite for WriteCounter {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.writes += 1;
        self.bytes.extend_from_slice(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A message goes out in one write, length prefix and body together: on a yamux stream each
/// write is a frame, a noise message and a socket write of its own.
#[test]
fn a_message_is_written_in_one_write() {
    let mut wire = WriteCounter::default();
    let response = Response::Error(ErrorReason::Internal);
    block_on(BackupCodec.write_response(&PROTOCOL, &mut wire, response.clone())).unwrap();
    assert_eq!(wire.writes, 1);
    assert_eq!(wire.bytes, frame(&response.to_bytes().unwrap()));
    let mut wire = WriteCounter::default();
    block_on(BackupCodec.write_request(
        &PROTOCOL,
        &mut wire,
        Request::RequestNonce(RequestNonce { account: AccountId([7; 32]) }),
    ))
    .unwrap();
    assert_eq!(wire.writes, 1);
}
