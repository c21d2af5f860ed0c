//! Lineup proofs as a `LineupProof` transaction carries them (`LineupProof::from_bytes`,
//! exactly `LINEUP_PROOF_SIZE_BYTES`): no input panics; what decodes is canonical, round-trips
//! and is exactly that size; its check at any difficulty never panics and agrees with
//! `meets_difficulty` on its hash.
#![no_main]

use bitverse_fuzz::assert_canonical;
use bitverse_relay_lineup::{LINEUP_PROOF_SIZE_BYTES, LineupProof, meets_difficulty};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The difficulty is taken from the input's tail, past the proof's bytes.
    let (bytes, tail) = data.split_at(data.len().min(LINEUP_PROOF_SIZE_BYTES));
    let difficulty = tail
        .first_chunk::<8>()
        .map_or(1, |d| u64::from_le_bytes(*d));
    let Ok(proof) = LineupProof::from_bytes(bytes) else {
        return;
    };
    assert_eq!(bytes.len(), LINEUP_PROOF_SIZE_BYTES);
    assert_canonical("lineup proof", bytes, &proof, LINEUP_PROOF_SIZE_BYTES);
    let seed = proof.check(&proof.bounty, difficulty);
    assert_eq!(seed.is_ok(), meets_difficulty(&proof.hash(), difficulty));
    let other = bitverse_primitives::Hash::digest(bytes);
    if other != proof.bounty {
        assert!(
            proof.check(&other, 0).is_err(),
            "a proof for another bounty"
        );
    }
});
