//! The write path's admission and sealing: a batch gives every transaction the result it
//! would get alone (a bad one in the middle spoils nothing), signatures are checked before any
//! lock with the same errors as before, sibling chains sealed together give the same blocks on
//! two nodes, and writers on many chains with a sealer running never deadlock.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use bitverse_blocktree::{
    Blocktree, ChainError, ChainParams, StatelessError, Tracking, Transaction, TxError, TxPayload,
    UnsignedTx, chain_of_keyspace,
};
use bitverse_primitives::{AccountId, Amount, ChainId, SecretKey};

const START_MS: u64 = 1_800_000_000_000;
/// How long the concurrency test may take before it is called a deadlock.
const DEADLOCK_TIMEOUT_MS: u64 = 120_000;

fn alice() -> SecretKey {
    SecretKey::dev("alice")
}

fn miner() -> AccountId {
    SecretKey::dev("miner").account()
}

fn new_tree() -> Blocktree {
    Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap()
}

/// `count` keyspace names at `depth`, each on a chain of its own.
fn names_on_distinct_chains(depth: u8, count: usize) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    for i in 0.. {
        if names.len() == count {
            break;
        }
        let name = format!("n{i}");
        if seen.insert(chain_of_keyspace(&name, depth).unwrap()) {
            names.push(name);
        }
    }
    names
}

/// Buys `names` at `depth` for alice and seals, so their chains are open.
fn buy_all(tree: &Blocktree, names: &[String], depth: u8) {
    let price = tree.params().depth(depth).unwrap().storage_price_per_byte;
    for (nonce, name) in names.iter().enumerate() {
        let tx = UnsignedTx {
            chain: ChainId::ROOT,
            sender: alice().account(),
            nonce: nonce as u64,
            fee: Amount(1),
            payload: TxPayload::BuyKeyspace {
                name: name.clone(),
                owner: alice().account(),
                quota_bytes: 1 << 20,
                prepaid: Amount(price.0 << 20),
                script: None,
                depth,
            },
        }
        .sign(&alice());
        tree.submit(tx).unwrap();
    }
    tree.seal_dev(miner(), START_MS).unwrap();
}

fn put_tx(name: &str, depth: u8, nonce: u64, item: &str) -> Transaction {
    UnsignedTx {
        chain: chain_of_keyspace(name, depth).unwrap(),
        sender: alice().account(),
        nonce,
        fee: Amount::ZERO,
        payload: TxPayload::Put {
            key: format!("{name}/{item}"),
            value: item.as_bytes().to_vec(),
        },
    }
    .sign(&alice())
}

/// `tx` signed by bob in alice's name: refused as badly signed wherever it is checked.
fn with_bad_signature(tx: Transaction) -> Transaction {
    tx.body.sign(&SecretKey::dev("bob"))
}

/// A mixed list: good puts on four chains, a bad signature, a stale nonce, a duplicate, a
/// wrong-chain write, a fee on a data chain and a root transfer, in an interleaved order.
fn mixed_batch(names: &[String]) -> Vec<Transaction> {
    let mut txs = Vec::new();
    for round in 0..3u64 {
        for name in names {
            txs.push(put_tx(name, 3, round, &format!("v{round}")));
        }
    }
    let first = names.first().unwrap();
    txs.insert(5, with_bad_signature(put_tx(first, 3, 3, "bad")));
    txs.push(put_tx(first, 3, 3, "good-after-bad"));
    // Nonce 0 again with other content: the mempool holds nonce 0, so this one competes on
    // fee, which is zero on data chains, and is refused as underpriced.
    txs.push(put_tx(first, 3, 0, "replacement"));
    txs.push(txs.get(1).unwrap().clone());
    let mut wrong_chain = put_tx(first, 3, 4, "elsewhere");
    wrong_chain.body.chain = ChainId::new(1, 0).unwrap();
    txs.push(wrong_chain.body.clone().sign(&alice()));
    let mut fee = put_tx(first, 3, 4, "fee").body;
    fee.fee = Amount(1);
    txs.push(fee.sign(&alice()));
    txs.push(
        UnsignedTx {
            chain: ChainId::ROOT,
            sender: alice().account(),
            nonce: names.len() as u64,
            fee: Amount(1),
            payload: TxPayload::Transfer {
                to: miner(),
                amount: Amount(5),
            },
        }
        .sign(&alice()),
    );
    txs
}

fn rendered(results: &[Result<bitverse_primitives::Hash, ChainError>]) -> Vec<String> {
    results.iter().map(|r| format!("{r:?}")).collect()
}

#[test]
fn a_batch_gives_every_transaction_the_result_it_gets_alone() {
    let names = names_on_distinct_chains(3, 4);
    let one_by_one = new_tree();
    let batched = new_tree();
    buy_all(&one_by_one, &names, 3);
    buy_all(&batched, &names, 3);
    let txs = mixed_batch(&names);
    let alone: Vec<_> = txs.iter().map(|tx| one_by_one.submit(tx.clone())).collect();
    let together = batched.submit_batch(txs.clone());
    assert_eq!(rendered(&together), rendered(&alone));
    // The list does exercise refusals, and good ones around them.
    let refused = together.iter().filter(|r| r.is_err()).count();
    assert!(refused >= 5, "{together:?}");
    assert!(together.iter().filter(|r| r.is_ok()).count() >= 13);
    // And both trees seal the same blocks from it.
    let a = one_by_one.seal_dev(miner(), START_MS + 1_000).unwrap();
    let b = batched.seal_dev(miner(), START_MS + 1_000).unwrap();
    let hashes = |blocks: &[bitverse_blocktree::Block]| -> Vec<_> {
        blocks.iter().map(|b| b.hash()).collect()
    };
    assert_eq!(hashes(&a), hashes(&b));
}

#[test]
fn a_bad_signature_in_the_middle_of_a_batch_spoils_nothing_else() {
    let names = names_on_distinct_chains(3, 2);
    let tree = new_tree();
    buy_all(&tree, &names, 3);
    let first = names.first().unwrap();
    let second = names.get(1).unwrap();
    let txs = vec![
        put_tx(first, 3, 0, "a"),
        put_tx(second, 3, 0, "b"),
        with_bad_signature(put_tx(first, 3, 1, "forged")),
        put_tx(second, 3, 1, "c"),
        put_tx(first, 3, 1, "d"),
    ];
    let results = tree.submit_batch(txs.clone());
    assert_eq!(results.len(), 5);
    for (i, (result, tx)) in results.iter().zip(&txs).enumerate() {
        if i == 2 {
            assert!(
                matches!(
                    result,
                    Err(ChainError::Tx(TxError::Stateless(
                        StatelessError::BadSignature
                    )))
                ),
                "{result:?}"
            );
        } else {
            assert_eq!(result.as_ref().unwrap(), &tx.hash(), "item {i}");
        }
    }
    tree.seal_dev(miner(), START_MS + 1_000).unwrap();
    for (key, value) in [
        (format!("{first}/a"), "a"),
        (format!("{second}/b"), "b"),
        (format!("{second}/c"), "c"),
        (format!("{first}/d"), "d"),
    ] {
        assert_eq!(tree.value(&key).unwrap().as_deref(), Some(value.as_bytes()));
    }
    assert_eq!(tree.value(&format!("{first}/forged")).unwrap(), None);
}

#[test]
fn submit_refuses_a_bad_signature_with_the_same_error_as_the_chain_does() {
    let names = names_on_distinct_chains(3, 1);
    let tree = new_tree();
    buy_all(&tree, &names, 3);
    let name = names.first().unwrap();
    let forged = with_bad_signature(put_tx(name, 3, 0, "x"));
    assert!(matches!(
        tree.submit(forged.clone()),
        Err(ChainError::Tx(TxError::Stateless(
            StatelessError::BadSignature
        )))
    ));
    let chain = tree.chain(forged.body.chain).unwrap();
    let root = tree.root().lock();
    assert!(matches!(
        chain.lock().submit_transaction_with(forged, Some(&root)),
        Err(ChainError::Tx(TxError::Stateless(
            StatelessError::BadSignature
        )))
    ));
}

#[test]
fn sibling_chains_sealed_together_give_the_same_blocks_on_two_nodes() {
    let names = names_on_distinct_chains(3, 8);
    let trees = [new_tree(), new_tree()];
    let mut sealed = Vec::new();
    for tree in &trees {
        buy_all(tree, &names, 3);
        let txs: Vec<Transaction> = names.iter().map(|n| put_tx(n, 3, 0, "v")).collect();
        assert!(tree.submit_batch(txs).iter().all(Result::is_ok));
        sealed.push(tree.seal_dev(miner(), START_MS + 1_000).unwrap());
    }
    let [a, b] = [&sealed[0], &sealed[1]];
    let hashes = |blocks: &[bitverse_blocktree::Block]| -> Vec<_> {
        blocks.iter().map(|b| b.hash()).collect()
    };
    assert_eq!(hashes(a), hashes(b));
    // Deepest first, each level's chains last prefix first, the root last.
    let order: Vec<(u8, u64)> = a
        .iter()
        .map(|b| (b.header.chain.depth(), b.header.chain.prefix()))
        .collect();
    let mut expected = order.clone();
    expected.sort_by(|x, y| y.cmp(x));
    assert_eq!(order, expected);
    assert!(a.last().unwrap().header.chain.is_root());
    assert_eq!(a.iter().filter(|b| b.header.chain.depth() == 3).count(), 8);
    for name in &names {
        let proof = trees[0].value_proof(&format!("{name}/v")).unwrap();
        assert_eq!(proof.verify().unwrap(), chain_of_keyspace(name, 3).unwrap());
    }
}

#[test]
fn writers_on_many_chains_and_a_sealer_never_deadlock() {
    let names = names_on_distinct_chains(2, 4);
    let tree = Arc::new(new_tree());
    buy_all(&tree, &names, 2);
    let (done, finished) = mpsc::channel();
    let mut writers = Vec::new();
    for name in names.clone() {
        let tree = tree.clone();
        let done = done.clone();
        writers.push(std::thread::spawn(move || {
            for nonce in 0..40u64 {
                let single = put_tx(&name, 2, nonce * 2, &format!("s{nonce}"));
                tree.submit(single).unwrap();
                let batch = vec![put_tx(&name, 2, nonce * 2 + 1, &format!("b{nonce}"))];
                assert!(tree.submit_batch(batch).iter().all(Result::is_ok));
            }
            done.send(()).unwrap();
        }));
    }
    let sealer = {
        let tree = tree.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            for step in 1..=60u64 {
                tree.seal_dev(miner(), START_MS + step * 1_000).unwrap();
            }
            done.send(()).unwrap();
        })
    };
    for _ in 0..=names.len() {
        finished
            .recv_timeout(Duration::from_millis(DEADLOCK_TIMEOUT_MS))
            .expect("a writer or the sealer is stuck: a lock-order deadlock");
    }
    for writer in writers {
        writer.join().unwrap();
    }
    sealer.join().unwrap();
    tree.seal_dev(miner(), START_MS + 100_000).unwrap();
    for name in &names {
        assert_eq!(
            tree.value(&format!("{name}/b39")).unwrap().as_deref(),
            Some(b"b39".as_slice())
        );
    }
}

#[test]
fn a_batch_longer_than_one_lock_hold_is_admitted_whole_and_in_order() {
    use bitverse_blocktree::tree::SUBMIT_BATCH_TXS_PER_LOCK_MAX;
    let names = names_on_distinct_chains(1, 1);
    let tree = new_tree();
    buy_all(&tree, &names, 1);
    let name = names.first().unwrap();
    // Successive nonces of one sender across the lock holds: order kept across the split.
    let count = SUBMIT_BATCH_TXS_PER_LOCK_MAX + 3;
    let txs: Vec<Transaction> = (0..count as u64)
        .map(|nonce| put_tx(name, 1, nonce, &format!("k{nonce}")))
        .collect();
    let results = tree.submit_batch(txs.clone());
    assert_eq!(results.len(), count);
    for (result, tx) in results.iter().zip(&txs) {
        assert_eq!(result.as_ref().unwrap(), &tx.hash());
    }
    let chain = tree.chain(chain_of_keyspace(name, 1).unwrap()).unwrap();
    assert_eq!(chain.lock().mempool_len(), count);
    assert_eq!(
        chain.lock().pending_nonce(&alice().account()).unwrap(),
        count as u64
    );
}
