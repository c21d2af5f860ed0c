//! Value proofs as a light client, a forwarding node and a requester receive them
//! (`ValueProof::from_bytes`, limit `VALUE_PROOF_SIZE_BYTES_MAX`): no input panics; what decodes
//! is canonical and round-trips; verifying it (keyspace records, sparse Merkle proofs, anchor
//! links) never panics, whatever it holds.
#![no_main]

use bitverse_blocktree::ValueProof;
use bitverse_blocktree::proof::VALUE_PROOF_SIZE_BYTES_MAX;
use bitverse_fuzz::assert_canonical;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(proof) = ValueProof::from_bytes(data) else {
        return;
    };
    assert_canonical("value proof", data, &proof, VALUE_PROOF_SIZE_BYTES_MAX);
    let _ = proof.verify();
});
