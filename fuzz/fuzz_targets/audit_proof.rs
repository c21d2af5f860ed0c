//! Audit proofs (`ProveShards`, `docs/STORAGE.md` "Audits"): what the root runs on a proof a
//! storer sends is `verify_range` of one chunk group against the shard root, for a shard size
//! and range from its own state and the proof's bytes from outside. No proof bytes, shard size
//! or group panic it or verify more than the range; the bound on a proof's length holds for
//! honest proofs; an honest proof of any group of a small shard verifies to exactly its bytes,
//! and the same proof with one byte changed does not.
#![no_main]

use arbitrary::Arbitrary;
use bitverse_primitives::Hash;
use bitverse_storage::{
    BLOB_SIZE_BYTES_MAX, chunk_group_count, chunk_group_proof_bytes_max, chunk_group_range,
    encode_outboard, prove_range, verify_range,
};

#[derive(Arbitrary, Debug)]
struct Input {
    root: [u8; 32],
    /// Any shard size, up to past the largest.
    size_bytes: u64,
    group: u64,
    proof: Vec<u8>,
    /// An honest shard of up to 64 KiB.
    honest_bytes: u16,
    seed: u8,
    flip_at: u16,
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    let size = input.size_bytes % (BLOB_SIZE_BYTES_MAX + 2);
    let groups = chunk_group_count(size);
    if groups > 0 {
        let range = chunk_group_range(size, input.group % groups).expect("a group of the shard");
        let length = range.end - range.start;
        if let Ok(verified) = verify_range(
            Hash(input.root),
            size,
            range,
            input.proof.as_slice(),
            |_, _| {},
        ) {
            assert!(verified <= length);
        }
    }

    let size = u64::from(input.honest_bytes);
    if size == 0 {
        return;
    }
    let shard: Vec<u8> = (0..size)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(input.seed))
        .collect();
    let outboard = encode_outboard(shard.as_slice(), size).expect("outboard");
    let range = chunk_group_range(size, input.group % chunk_group_count(size)).expect("group");
    let proof = prove_range(shard.as_slice(), &outboard, range.clone()).expect("proof");
    assert!(proof.len() as u64 <= chunk_group_proof_bytes_max(size));
    let mut got = Vec::new();
    let verified = verify_range(
        outboard.root(),
        size,
        range.clone(),
        proof.as_slice(),
        |_, bytes| got.extend_from_slice(bytes),
    )
    .expect("an honest proof verifies");
    assert_eq!(verified, range.end - range.start);
    assert_eq!(got, shard[range.start as usize..range.end as usize]);
    let mut changed = proof;
    let at = usize::from(input.flip_at) % changed.len();
    changed[at] ^= 0x01;
    assert!(
        verify_range(outboard.root(), size, range, changed.as_slice(), |_, _| {}).is_err(),
        "a changed byte at {at} is refused"
    );
});
