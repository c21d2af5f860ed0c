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

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(request) = decode_request(data) {
        assert_canonical("sync request", data, &request, SYNC_REQUEST_BYTES_MAX);
        match encode_request(&request) {
            Ok(bytes) => assert_eq!(bytes, data, "the codec writes other bytes"),
            Err(e) => panic!("a request that was read cannot be written: {e}"),
        }
        if let SyncRequest::Status(status) = &request {
            judge(status);
        }
    }
    if let Ok(response) = decode_response(data) {
        assert_canonical("sync response", data, &response, SYNC_RESPONSE_BYTES_MAX);
        match encode_response(&response) {
            Ok(bytes) => assert_eq!(bytes, data, "the codec writes other bytes"),
            Err(e) => panic!("a response that was read cannot be written: {e}"),
        }
        if let SyncResponse::Status(status) = &response {
            judge(status);
        }
    }
});
