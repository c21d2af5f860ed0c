//! Blocks as sync and gossip deliver them (`Block::from_bytes`, limit `BLOCK_SIZE_BYTES_MAX`):
//! no input panics; what decodes is canonical and round-trips; the body checks (sizes, the
//! transaction root, the anchor headers it carries) and the header's tree fields and work
//! never panic; a block whose body passes decodes again under the same limit, and each of its
//! transactions under the transactions' limit (what the size accounting promises peers).
#![no_main]

use bitverse_blocktree::block::{BLOCK_SIZE_BYTES_MAX, tx_inclusion_proof, verify_tx_inclusion};
use bitverse_blocktree::{Block, Transaction};
use bitverse_fuzz::assert_canonical;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(block) = Block::from_bytes(data) else {
        return;
    };
    assert_canonical("block", data, &block, BLOCK_SIZE_BYTES_MAX);
    let _ = block.header.check_tree_fields();
    let _ = block.header.meets_difficulty();
    if let Ok(hashes) = block.check_body() {
        assert!(Block::from_bytes(&block.to_bytes()).is_ok());
        for tx in &block.transactions {
            assert!(Transaction::from_bytes(&tx.to_bytes()).is_ok());
        }
        // The inclusion proof of every transaction checks against the root the body matched.
        for (index, hash) in hashes.iter().enumerate().take(4) {
            let proof = tx_inclusion_proof(&hashes, index);
            assert!(
                verify_tx_inclusion(&block.header.tx_root, hash, index, hashes.len(), &proof),
                "transaction {index}'s inclusion proof"
            );
        }
    }
});
