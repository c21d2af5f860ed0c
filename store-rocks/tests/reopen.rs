//! RocksDB under the blocktree: the store's operations survive a reopen, and a root chain and
//! a blocktree opened on it resume at their stored tips with their state; a database of one
//! network is refused by another.

use bitverse_blocktree::store::{Column, KvStore, WriteBatch};
use bitverse_blocktree::{ChainError, ChainParams, Tracking, Transaction, TxPayload, UnsignedTx};
use bitverse_primitives::{AccountId, Amount, ChainId, SecretKey};
use bitverse_store_rocks::{RocksStore, open_blocktree, open_chain};

fn dev_key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

#[test]
fn batches_are_atomic_ordered_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RocksStore::open(dir.path()).unwrap();
        let mut batch = WriteBatch::default();
        batch.put(Column::Meta, b"a".to_vec(), b"1".to_vec());
        batch.put(Column::Meta, b"c".to_vec(), b"3".to_vec());
        batch.put(Column::Headers, b"b".to_vec(), b"other column".to_vec());
        store.write(batch).unwrap();
        assert_eq!(
            store.get_at_or_before(Column::Meta, b"b").unwrap(),
            Some((b"a".to_vec(), b"1".to_vec()))
        );
        assert_eq!(store.get_at_or_before(Column::Meta, b"0").unwrap(), None);
        let mut batch = WriteBatch::default();
        batch.delete(Column::Meta, b"a".to_vec());
        batch.put(Column::Meta, b"d".to_vec(), b"4".to_vec());
        batch.put(Column::Meta, b"da".to_vec(), b"5".to_vec());
        batch.delete_range(Column::Meta, b"c".to_vec(), b"d".to_vec());
        store.write(batch).unwrap();
    }
    let store = RocksStore::open(dir.path()).unwrap();
    assert_eq!(
        store.scan(Column::Meta, b"").unwrap(),
        vec![
            (b"d".to_vec(), b"4".to_vec()),
            (b"da".to_vec(), b"5".to_vec())
        ]
    );
    assert_eq!(
        store.get(Column::Headers, b"b").unwrap(),
        Some(b"other column".to_vec())
    );
}

fn transfer(chain: &bitverse_blocktree::Chain, to: AccountId) -> Transaction {
    let key = dev_key("alice");
    UnsignedTx {
        chain: ChainId::ROOT,
        sender: key.account(),
        nonce: chain.pending_nonce(&key.account()).unwrap(),
        fee: Amount(1),
        payload: TxPayload::Transfer {
            to,
            amount: Amount(5),
        },
    }
    .sign(&key)
}

#[test]
fn a_chain_and_a_blocktree_resume_at_their_stored_tips() {
    let dir = tempfile::tempdir().unwrap();
    let bob = dev_key("bob").account();
    let (tip, root) = {
        let mut chain = open_chain(dir.path(), ChainParams::dev()).unwrap();
        let tx = transfer(&chain, bob);
        chain.submit_transaction(tx).unwrap();
        let now_ms = chain.params().genesis_time_ms + 1_000;
        chain.seal_dev_block(bob, now_ms).unwrap().expect("sealed");
        (chain.tip().hash, chain.tip().state_root)
    };
    {
        let chain = open_chain(dir.path(), ChainParams::dev()).unwrap();
        assert_eq!(chain.tip().hash, tip);
        assert_eq!(chain.tip().state_root, root);
    }
    let tree = open_blocktree(dir.path(), ChainParams::dev(), Tracking::All).unwrap();
    assert_eq!(tree.root().lock().tip().hash, tip);
    drop(tree);
    let refused = open_chain(dir.path(), ChainParams::local()).err().unwrap();
    assert!(
        matches!(refused, ChainError::WrongNetwork { .. }),
        "{refused}"
    );
}
