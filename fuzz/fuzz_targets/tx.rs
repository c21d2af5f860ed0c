//! Transactions as they arrive from RPC and gossip (`Transaction::from_bytes`, limit
//! `TX_SIZE_BYTES_MAX`): no input panics; what decodes is canonical and round-trips; the
//! stateless checks and the signature check never panic, and a transaction that passes them
//! keeps the id of its bytes.
#![no_main]

use bitverse_blocktree::{TX_SIZE_BYTES_MAX, Transaction, VerifiedTx};
use bitverse_fuzz::assert_canonical;
use bitverse_primitives::ChainId;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(tx) = Transaction::from_bytes(data) else {
        return;
    };
    assert_canonical("transaction", data, &tx, TX_SIZE_BYTES_MAX);
    assert_eq!(tx.hash(), Transaction::id_of_bytes(data));
    let _ = tx.check_stateless(ChainId::ROOT);
    let _ = tx.check_stateless(tx.body.chain);
    if let Ok(verified) = VerifiedTx::check(tx.clone()) {
        assert_eq!(verified.hash(), Transaction::id_of_bytes(data));
        assert_eq!(verified.chain(), tx.body.chain);
    }
});
