//! The blocktree's costs on one in-process dev blocktree (memory store): proof bytes and
//! verification time against depth and root height, root header bytes against the number of
//! live chains, and signed writes per second spread over 1, 2, 4 and 8 data chains (admission
//! with its signature check, dev sealing of the chains and their ancestors up to the root).
//!
//! `cargo bench -p bitverse-blocktree --bench tree` (sizes are printed before criterion runs).

use std::collections::BTreeSet;
use std::time::Instant;

use bitverse_blocktree::{
    Blocktree, ChainParams, Tracking, Transaction, TxPayload, UnsignedTx, chain_of_keyspace,
};
use bitverse_primitives::{Amount, ChainId, SecretKey};
use criterion::{Criterion, criterion_main};

const START_MS: u64 = 1_800_000_000_000;

fn new_tree() -> Blocktree {
    Blocktree::in_memory(ChainParams::dev(), Tracking::All).expect("blocktree")
}

fn sign(tree: &Blocktree, key: &SecretKey, chain: ChainId, payload: TxPayload) -> Transaction {
    let nonce = tree.chain(chain).map_or(0, |c| {
        c.lock().pending_nonce(&key.account()).expect("nonce")
    });
    let fee = if chain.is_root() {
        Amount(1)
    } else {
        Amount::ZERO
    };
    UnsignedTx {
        chain,
        sender: key.account(),
        nonce,
        fee,
        payload,
    }
    .sign(key)
}

fn buy(tree: &Blocktree, key: &SecretKey, name: &str, depth: u8) {
    let price = tree
        .params()
        .depth(depth)
        .expect("depth")
        .storage_price_per_byte;
    let quota_bytes = 1 << 20;
    let tx = sign(
        tree,
        key,
        ChainId::ROOT,
        TxPayload::BuyKeyspace {
            name: name.into(),
            owner: key.account(),
            quota_bytes,
            prepaid: Amount(price.0 * u128::from(quota_bytes)),
            script: None,
            depth,
        },
    );
    tree.submit(tx).expect("buy");
}

fn put(tree: &Blocktree, key: &SecretKey, path: &str, value: &[u8]) {
    let chain = tree.chain_of_key(path).expect("home");
    let tx = sign(
        tree,
        key,
        chain,
        TxPayload::Put {
            key: path.into(),
            value: value.to_vec(),
        },
    );
    tree.submit(tx).expect("put");
}

/// Keyspaces `d0`…`d8`, one per depth, each holding `dD/v`.
fn one_keyspace_per_depth(tree: &Blocktree, alice: &SecretKey) {
    for depth in 0..=8u8 {
        buy(tree, alice, &format!("d{depth}"), depth);
    }
    tree.seal_dev(alice.account(), START_MS).expect("seal");
    for depth in 0..=8u8 {
        put(tree, alice, &format!("d{depth}/v"), b"value");
    }
    tree.seal_dev(alice.account(), START_MS + 1).expect("seal");
}

fn print_sizes() {
    let alice = SecretKey::dev("alice");
    println!("proof bytes by depth (one keyspace per depth, dev):");
    let tree = new_tree();
    one_keyspace_per_depth(&tree, &alice);
    for depth in 0..=8u8 {
        let proof = tree.value_proof(&format!("d{depth}/v")).expect("proof");
        proof.verify().expect("verifies");
        println!("  depth {depth}: {} bytes", proof.to_bytes().len());
    }

    println!("proof bytes of a depth-8 value against root height:");
    for root_blocks in [1_000u64, 10_000] {
        let tree = new_tree();
        one_keyspace_per_depth(&tree, &alice);
        let started = Instant::now();
        for i in 0..root_blocks {
            let to = SecretKey::dev("bob").account();
            let tx = sign(
                &tree,
                &alice,
                ChainId::ROOT,
                TxPayload::Transfer {
                    to,
                    amount: Amount(1),
                },
            );
            tree.submit(tx).expect("transfer");
            tree.seal_dev(alice.account(), START_MS + 2 + i)
                .expect("seal");
        }
        let proof = tree.value_proof("d8/v").expect("proof");
        proof.verify().expect("verifies");
        println!(
            "  root height {}: {} bytes (built in {:.1} s)",
            tree.root().lock().tip().height,
            proof.to_bytes().len(),
            started.elapsed().as_secs_f64()
        );
    }

    println!("root header bytes against live chains:");
    for chains_min in [4usize, 64, 510] {
        let tree = new_tree();
        let mut live = BTreeSet::new();
        let mut names = Vec::new();
        for i in 0.. {
            if live.len() >= chains_min {
                break;
            }
            let name = format!("k{i}");
            let chain = chain_of_keyspace(&name, 8).expect("chain");
            let path = chain.path_to_root();
            if path.iter().all(|c| c.is_root() || live.contains(c)) {
                continue;
            }
            live.extend(path.into_iter().filter(|c| !c.is_root()));
            names.push(name);
        }
        for name in &names {
            buy(&tree, &alice, name, 8);
        }
        tree.seal_dev(alice.account(), START_MS).expect("seal");
        for name in &names {
            put(&tree, &alice, &format!("{name}/v"), b"x");
        }
        let blocks = tree.seal_dev(alice.account(), START_MS + 1).expect("seal");
        let root = blocks
            .iter()
            .rev()
            .find(|b| b.header.chain.is_root())
            .expect("a root block");
        println!(
            "  {} live chains: root header {} bytes, {} anchors",
            tree.data_chains().len(),
            root.header.to_bytes().len(),
            root.header.anchors.len()
        );
    }
}

/// Signed puts per second spread over `chains` data chains (depth 3 keyspaces on distinct
/// chains), 2,000 puts a round, sealed in rounds of 200.
fn writes_over_chains(c: &mut Criterion) {
    let mut group = c.benchmark_group("signed_writes_sealed");
    group.sample_size(10);
    for chains in [1usize, 2, 4, 8] {
        group.throughput(criterion::Throughput::Elements(2_000));
        group.bench_function(format!("{chains}_chains"), |b| {
            b.iter_custom(|rounds| {
                let mut total = std::time::Duration::ZERO;
                for round in 0..rounds {
                    let tree = new_tree();
                    let writers: Vec<SecretKey> = (0..chains)
                        .map(|i| SecretKey::dev(&format!("writer{i}")))
                        .collect();
                    let alice = SecretKey::dev("alice");
                    let mut seen = BTreeSet::new();
                    let mut names = Vec::new();
                    for i in 0.. {
                        if names.len() == chains {
                            break;
                        }
                        let name = format!("w{round}x{i}");
                        if seen.insert(chain_of_keyspace(&name, 3).expect("chain")) {
                            names.push(name);
                        }
                    }
                    for (name, writer) in names.iter().zip(&writers) {
                        // Each writer owns its keyspace; alice pays.
                        let price = tree
                            .params()
                            .depth(3)
                            .expect("depth")
                            .storage_price_per_byte;
                        let tx = sign(
                            &tree,
                            &alice,
                            ChainId::ROOT,
                            TxPayload::BuyKeyspace {
                                name: name.clone(),
                                owner: writer.account(),
                                quota_bytes: 1 << 24,
                                prepaid: Amount(price.0 << 24),
                                script: None,
                                depth: 3,
                            },
                        );
                        tree.submit(tx).expect("buy");
                    }
                    tree.seal_dev(alice.account(), START_MS).expect("seal");
                    // Pre-sign, so the clock sees admission (with its signature check) and
                    // sealing, as a node's write path does.
                    let mut txs = Vec::new();
                    for i in 0..2_000usize {
                        let which = i % chains;
                        let path = format!("{}/{i}", names[which]);
                        let chain = chain_of_keyspace(&names[which], 3).expect("chain");
                        let writer = &writers[which];
                        let nonce = (i / chains) as u64;
                        txs.push(
                            UnsignedTx {
                                chain,
                                sender: writer.account(),
                                nonce,
                                fee: Amount::ZERO,
                                payload: TxPayload::Put {
                                    key: path,
                                    value: vec![7; 100],
                                },
                            }
                            .sign(writer),
                        );
                    }
                    let started = Instant::now();
                    for (i, tx) in txs.into_iter().enumerate() {
                        tree.submit(tx).expect("put");
                        if i % 200 == 199 {
                            tree.seal_dev(alice.account(), START_MS + 1 + i as u64)
                                .expect("seal");
                        }
                    }
                    total += started.elapsed();
                }
                total
            });
        });
    }
    group.finish();
}

fn proofs(c: &mut Criterion) {
    print_sizes();
    let alice = SecretKey::dev("alice");
    let tree = new_tree();
    one_keyspace_per_depth(&tree, &alice);
    let mut group = c.benchmark_group("proof_verify");
    for depth in [0u8, 4, 8] {
        let proof = tree.value_proof(&format!("d{depth}/v")).expect("proof");
        group.bench_function(format!("depth_{depth}"), |b| {
            b.iter(|| proof.verify().expect("verifies"))
        });
    }
    group.finish();
}

/// Finding the chain a key's writes go to (every `bv_getValue`, `bv_getKeyChain` and
/// lazily-opened data-chain write asks it): a key under a depth-3 keyspace.
fn key_chain_lookup(c: &mut Criterion) {
    let alice = SecretKey::dev("alice");
    let tree = new_tree();
    one_keyspace_per_depth(&tree, &alice);
    c.bench_function("chain_of_key/depth_3", |b| {
        b.iter(|| tree.chain_of_key("d3/v").expect("home"))
    });
}

mod harness {
    criterion::criterion_group!(
        benches,
        super::key_chain_lookup,
        super::proofs,
        super::writes_over_chains
    );
}
criterion_main!(harness::benches);
