//! The sync protocol's messages as the request-response codec reads them from a stream
//! (`decode_request`, limit `SYNC_REQUEST_BYTES_MAX`; `decode_response`, limit
//! `SYNC_RESPONSE_BYTES_MAX`), every input read both ways: no input panics, and what decodes is
//! canonical, round-trips, and is what the codec's write side sends for it. A status that
//! decodes is judged (`is_well_formed`) as the swarm loop judges it, without panicking.
#![no_main]

use bitverse_fuzz::assert_canonical;
use bitverse_p2p::fuzzing::{
    PeerStatus, SYNC_REQUEST_BYTES_MAX, SYNC_RESPONSE_BYTES_MAX, decode_request, decode_response,
    encode_request, encode_response,
};
use bitverse_p2p::{SyncRequest, SyncResponse};

/// What the loop asks of a peer's status before it follows it; it must answer, whatever the
/// status names.
fn judge(status: &PeerStatus) {
    if status.is_well_formed() {
        assert!(
            status.root().is_some(),
            "a well-formed status names the root"
        );
    }
}

/// What holds of a message the codec read from `data` under `limit_bytes`: it is canonical and
/// round-trips, and the codec's write side sends exactly `data` for it.
fn check<T>(what: &str, data: &[u8], message: &T, limit_bytes: usize, write: WriteFn<T>)
where
    T: bincode::Encode + bincode::Decode<()> + PartialEq + std::fmt::Debug,
{
    assert_canonical(what, data, message, limit_bytes);
    match write(message) {
        Ok(bytes) => assert_eq!(bytes, data, "{what}: the codec writes other bytes"),
        Err(e) => panic!("{what}: read, but cannot be written: {e}"),
    }
}

/// The codec's write side for one message type.
type WriteFn<T> = fn(&T) -> std::io::Result<Vec<u8>>;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(request) = decode_request(data) {
        check(
            "sync request",
            data,
            &request,
            SYNC_REQUEST_BYTES_MAX,
            encode_request,
        );
        if let SyncRequest::Status(status) = &request {
            judge(status);
        }
    }
    if let Ok(response) = decode_response(data) {
        let limit = SYNC_RESPONSE_BYTES_MAX;
        check("sync response", data, &response, limit, encode_response);
        if let SyncResponse::Status(status) = &response {
            judge(status);
        }
    }
});
