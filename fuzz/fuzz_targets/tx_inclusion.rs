//! Transaction inclusion proofs (`verify_tx_inclusion`: rs_merkle's proof bytes with an index
//! and a count a prover names): no proof, index or count panics the verifier, and a proof made
//! by `tx_inclusion_proof` for any index of any list of hashes checks.
#![no_main]

use arbitrary::Arbitrary;
use bitverse_blocktree::block::{tx_inclusion_proof, tx_root, verify_tx_inclusion};
use bitverse_primitives::Hash;

#[derive(Arbitrary, Debug)]
struct Input {
    root: [u8; 32],
    tx_hash: [u8; 32],
    index: u16,
    tx_count: u16,
    proof: Vec<u8>,
    honest_leaves: u8,
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    let _ = verify_tx_inclusion(
        &Hash(input.root),
        &Hash(input.tx_hash),
        usize::from(input.index),
        usize::from(input.tx_count),
        &input.proof,
    );
    let count = usize::from(input.honest_leaves);
    if count > 0 {
        let hashes: Vec<Hash> = (0..count)
            .map(|i| Hash::tagged("fuzz leaf", &[&input.tx_hash, &i.to_le_bytes()]))
            .collect();
        let index = usize::from(input.index) % count;
        let proof = tx_inclusion_proof(&hashes, index);
        assert!(verify_tx_inclusion(
            &tx_root(&hashes),
            &hashes[index],
            index,
            count,
            &proof
        ));
    }
});
