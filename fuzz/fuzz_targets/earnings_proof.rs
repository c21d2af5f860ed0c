//! Earnings proofs as `ClaimMinerReward` and `bitverse earnings claim` carry them
//! (`EarningsProof::from_bytes`, limit `EARNINGS_PROOF_SIZE_BYTES_MAX`): no input panics; what
//! decodes is canonical and round-trips; verifying it never panics, and what it proves is an
//! anchor of the depth-1 chain on the claimed chain's path.
#![no_main]

use bitverse_blocktree::EarningsProof;
use bitverse_blocktree::endowment::EARNINGS_PROOF_SIZE_BYTES_MAX;
use bitverse_fuzz::assert_canonical;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(proof) = EarningsProof::from_bytes(data) else {
        return;
    };
    assert_canonical(
        "earnings proof",
        data,
        &proof,
        EARNINGS_PROOF_SIZE_BYTES_MAX,
    );
    if let Ok(anchor) = proof.verify() {
        assert_eq!(anchor.chain.depth(), 1);
        assert!(proof.chain.path_to_root().contains(&anchor.chain));
        assert_eq!(anchor.hash, proof.top.hash());
    }
});
