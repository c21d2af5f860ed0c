//! The blocktree's costs on one in-process dev blocktree (memory store): proof bytes and
//! verification time against depth and root height, root header bytes against the number of
//! live chains, signed writes per second spread over 1, 2, 4 and 8 data chains (batch
//! admission with signatures checked in parallel, dev sealing of the chains and their
//! ancestors up to the root) against the signature-verify bound measured in the same run, and
//! the light client's root header check against root height (1k and 100k headers).
//!
//! `cargo bench --workspace --bench tree --profile dev` (the write path's table and the sizes
//! are printed before criterion runs).

use std::collections::BTreeSet;
use std::time::Instant;

use bitverse_blocktree::headers::rules_after;
use bitverse_blocktree::{
    BlockHeader, Blocktree, ChainParams, EarningsProof, HeaderChainChecker, MergedWork, Tracking,
    Transaction, TxPayload, UnsignedTx, chain_of_keyspace, verify_header_chain,
};
use bitverse_primitives::{Amount, ChainId, Hash, SecretKey};
use criterion::{Criterion, criterion_main};

#[path = "../tests/common/mod.rs"]
mod common;
use common::signed_by;

const START_MS: u64 = 1_800_000_000_000;

fn new_tree() -> Blocktree {
    Blocktree::in_memory(ChainParams::dev(), Tracking::All).expect("blocktree")
}

fn buy(tree: &Blocktree, key: &SecretKey, name: &str, depth: u8) {
    let price = tree
        .params()
        .depth(depth)
        .expect("depth")
        .storage_price_per_byte;
    let quota_bytes = 1 << 20;
    let tx = signed_by(
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
    let tx = signed_by(
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

/// The earnings proof of `alice` (the dev sealer of [`one_keyspace_per_depth`]) on the chain
/// of keyspace `d{depth}`, checked.
fn earnings_proof_at(tree: &Blocktree, alice: &SecretKey, depth: u8) -> EarningsProof {
    let chain = chain_of_keyspace(&format!("d{depth}"), depth).expect("chain");
    let proof = tree
        .earnings_proof(chain, alice.account())
        .expect("earnings proof");
    proof.verify().expect("verifies");
    proof
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

    println!("earnings proof bytes by depth (the sealer's earnings on each keyspace's chain):");
    for depth in 1..=8u8 {
        let proof = earnings_proof_at(&tree, &alice, depth);
        println!("  depth {depth}: {} bytes", proof.to_bytes().len());
    }

    println!("proof bytes of a depth-8 value against root height:");
    for root_blocks in [1_000u64, 10_000] {
        let tree = new_tree();
        one_keyspace_per_depth(&tree, &alice);
        let started = Instant::now();
        for i in 0..root_blocks {
            let to = SecretKey::dev("bob").account();
            let tx = signed_by(
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

/// Puts a write-path round admits and seals.
const WRITES_PER_ROUND: usize = 4_000;
/// Puts per `submit_batch` call, as one full `bv_sendTransactions` call carries; the dev
/// sealer seals after each, as it does when a call's admissions wake it.
const WRITES_PER_BATCH: usize = 1_000;
/// Rounds measured for each chain count in the printed table (best and mean reported).
const WRITE_ROUNDS: usize = 5;
/// Signatures verified on one thread to measure the bound.
const VERIFY_BOUND_SIGNATURES: usize = 4_000;

/// A fresh tree where `chains` writers each own a depth-3 keyspace on a chain of its own, and
/// `WRITES_PER_ROUND` puts spread over them, pre-signed (signing is the client's cost).
fn write_round(chains: usize, round: usize) -> (Blocktree, SecretKey, Vec<Transaction>) {
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
        let tx = signed_by(
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
    let txs = (0..WRITES_PER_ROUND)
        .map(|i| {
            let which = i % chains;
            let writer = &writers[which];
            UnsignedTx {
                chain: chain_of_keyspace(&names[which], 3).expect("chain"),
                sender: writer.account(),
                nonce: (i / chains) as u64,
                fee: Amount::ZERO,
                payload: TxPayload::Put {
                    key: format!("{}/{i}", names[which]),
                    value: vec![7; 100],
                },
            }
            .sign(writer)
        })
        .collect();
    (tree, alice, txs)
}

/// The node's write path on `txs`: batches through `submit_batch` (signatures in parallel,
/// one lock per chain per batch), dev sealing after each batch (each depth's chains together,
/// then up to the root). Every put must be admitted and included. Returns the CPU seconds
/// spent admitting and sealing.
fn admit_and_seal(tree: &Blocktree, alice: &SecretKey, txs: Vec<Transaction>) -> (f64, f64) {
    let mut txs = txs.into_iter();
    let mut step = 1u64;
    let (mut admit_cpu_s, mut seal_cpu_s) = (0.0, 0.0);
    loop {
        let batch: Vec<Transaction> = txs.by_ref().take(WRITES_PER_BATCH).collect();
        if batch.is_empty() {
            break;
        }
        let before = process_cpu_s();
        for result in tree.submit_batch(batch) {
            result.expect("put admitted");
        }
        let admitted = process_cpu_s();
        tree.seal_dev(alice.account(), START_MS + step)
            .expect("seal");
        let sealed = process_cpu_s();
        admit_cpu_s += admitted - before;
        seal_cpu_s += sealed - admitted;
        step += 1;
    }
    for chain in tree.data_chains() {
        let chain = tree.chain(chain).expect("open");
        assert!(chain.lock().mempool_is_empty(), "every put included");
    }
    (admit_cpu_s, seal_cpu_s)
}

/// The write path as a dev node runs it: the caller admits batches while the dev sealer, on
/// its own thread, is woken after each and seals whatever waits, so the next batch's
/// signatures are checked while the last is sealed. Every put must be admitted and included.
fn admit_while_sealing(tree: &Blocktree, alice: &SecretKey, txs: Vec<Transaction>) {
    let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut step = 1u64;
            // Ends when the admitting side hangs up, after one last seal.
            while woken.recv().is_ok() {
                tree.seal_dev(alice.account(), START_MS + step)
                    .expect("seal");
                step += 1;
            }
            tree.seal_dev(alice.account(), START_MS + step)
                .expect("seal");
        });
        let mut txs = txs.into_iter();
        loop {
            let batch: Vec<Transaction> = txs.by_ref().take(WRITES_PER_BATCH).collect();
            if batch.is_empty() {
                break;
            }
            for result in tree.submit_batch(batch) {
                result.expect("put admitted");
            }
            // A sealer already woken takes this batch too, as the node's doorbell does.
            let _ = wake.try_send(());
        }
        drop(wake);
    });
    for chain in tree.data_chains() {
        let chain = tree.chain(chain).expect("open");
        assert!(chain.lock().mempool_is_empty(), "every put included");
    }
}

/// CPU seconds this process has used (user + system, all threads), from /proc/self/stat.
fn process_cpu_s() -> f64 {
    // USER_HZ: 100 on every Linux ABI (`getconf CLK_TCK`).
    const TICKS_PER_S: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields[11].parse().expect("utime");
    let stime: f64 = fields[12].parse().expect("stime");
    (utime + stime) / TICKS_PER_S
}

/// One thread verifying signatures of the same puts the write path takes: the bound, as
/// verifies per wall-clock second and per CPU second.
fn verify_bound_one_core() -> (f64, f64) {
    let (_, _, txs) = write_round(1, usize::MAX);
    let txs: Vec<Transaction> = txs
        .into_iter()
        .cycle()
        .take(VERIFY_BOUND_SIGNATURES)
        .collect();
    let cpu_before = process_cpu_s();
    let started = Instant::now();
    for tx in &txs {
        tx.verify_signature().expect("verifies");
    }
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_s = process_cpu_s() - cpu_before;
    let signatures = VERIFY_BOUND_SIGNATURES as f64;
    (signatures / wall_s, signatures / cpu_s)
}

/// The write path against the signature-verify bound, all measured in this one run: the
/// single-core verify rate, then writes/s and CPU-seconds per write over 1, 2, 4 and 8 chains,
/// and each rate's ratio to the bound on every core of the machine. On a machine other work
/// shares, the CPU figures hold where the wall-clock ones do not: the CPU ratio (a signature's
/// CPU over a write's) is what the wall-clock ratio reaches when every core is the bench's.
fn print_write_path() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (one_core, per_cpu_s) = verify_bound_one_core();
    let bound = one_core * cores as f64;
    let verify_cpu_ms = 1_000.0 / per_cpu_s;
    println!(
        "write path: {WRITES_PER_ROUND} pre-signed 100-byte puts a round over depth-3 chains, \
         batches of {WRITES_PER_BATCH} through submit_batch, dev sealing after each batch; \
         {WRITE_ROUNDS} rounds each"
    );
    println!(
        "  verify bound: {one_core:.0} verifies/s on one core, x {cores} cores = {bound:.0}/s; \
         {verify_cpu_ms:.3} CPU ms a verify"
    );
    println!(
        "  chains | writes/s best (mean) | ratio to bound best, mean | CPU ms a write: all \
         (admit + seal) | CPU ratio"
    );
    for chains in [1usize, 2, 4, 8] {
        let mut rates = Vec::new();
        let (mut cpu_s, mut admit_s, mut seal_s) = (0.0, 0.0, 0.0);
        for round in 0..WRITE_ROUNDS {
            let (tree, alice, txs) = write_round(chains, round);
            let cpu_before = process_cpu_s();
            let started = Instant::now();
            let (admit, seal) = admit_and_seal(&tree, &alice, txs);
            let wall_s = started.elapsed().as_secs_f64();
            cpu_s += process_cpu_s() - cpu_before;
            admit_s += admit;
            seal_s += seal;
            rates.push(WRITES_PER_ROUND as f64 / wall_s);
        }
        let best = rates.iter().copied().fold(0.0, f64::max);
        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
        let per_write_ms = |s: f64| s * 1_000.0 / (WRITES_PER_ROUND * WRITE_ROUNDS) as f64;
        println!(
            "  {chains:>6} | {best:>6.0} ({mean:>6.0}) | {:.2}, {:.2} | {:.3} ({:.3} + {:.3}) | {:.2}",
            best / bound,
            mean / bound,
            per_write_ms(cpu_s),
            per_write_ms(admit_s),
            per_write_ms(seal_s),
            verify_cpu_ms / per_write_ms(cpu_s),
        );
    }
    println!(
        "  the same, the sealer on its own thread woken after each batch (as a dev node runs):"
    );
    println!("  chains | writes/s best (mean) | ratio to bound best, mean | CPU ms a write");
    for chains in [1usize, 2, 4, 8] {
        let mut rates = Vec::new();
        let mut cpu_s = 0.0;
        for round in 0..WRITE_ROUNDS {
            let (tree, alice, txs) = write_round(chains, round);
            let cpu_before = process_cpu_s();
            let started = Instant::now();
            admit_while_sealing(&tree, &alice, txs);
            rates.push(WRITES_PER_ROUND as f64 / started.elapsed().as_secs_f64());
            cpu_s += process_cpu_s() - cpu_before;
        }
        let best = rates.iter().copied().fold(0.0, f64::max);
        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
        println!(
            "  {chains:>6} | {best:>6.0} ({mean:>6.0}) | {:.2}, {:.2} | {:.3}",
            best / bound,
            mean / bound,
            cpu_s * 1_000.0 / (WRITES_PER_ROUND * WRITE_ROUNDS) as f64,
        );
    }
}

/// Signed puts per second spread over `chains` data chains, through the batch path.
fn writes_over_chains(c: &mut Criterion) {
    print_write_path();
    let mut group = c.benchmark_group("signed_writes_sealed");
    group.sample_size(10);
    for chains in [1usize, 2, 4, 8] {
        group.throughput(criterion::Throughput::Elements(WRITES_PER_ROUND as u64));
        group.bench_function(format!("{chains}_chains"), |b| {
            b.iter_custom(|rounds| {
                let mut total = std::time::Duration::ZERO;
                for round in 0..rounds {
                    let (tree, alice, txs) = write_round(chains, round as usize);
                    let started = Instant::now();
                    admit_while_sealing(&tree, &alice, txs);
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
    let mut group = c.benchmark_group("earnings_proof_verify");
    for depth in [1u8, 4, 8] {
        let proof = earnings_proof_at(&tree, &alice, depth);
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

/// Root header chains a light client checks: 1k and 100k headers.
const HEADER_CHAIN_LENGTHS: [usize; 2] = [1_000, 100_000];
/// New headers a light client checks on a later call (the incremental case).
const NEW_HEADERS_PER_CALL: usize = 10;

/// The `local` network with the root's difficulty starting at its floor (1), so that headers
/// are generated in-process at once, while every rule a light client applies on `local` stays
/// on: the window-average retarget, median time past, proof of work, linkage.
fn light_client_params() -> ChainParams {
    let mut params = ChainParams::local();
    params.root.difficulty_initial = params.root.difficulty_min;
    params
}

/// Genesis and `count` root headers after it, each at the target interval, with the
/// difficulty the retarget rule demands and a nonce that meets it.
fn root_header_chain(params: &ChainParams, count: usize) -> Vec<BlockHeader> {
    let genesis = bitverse_blocktree::genesis_block(params).expect("genesis");
    let mut checker =
        HeaderChainChecker::resume(params, [genesis.header.clone()], 0).expect("checker");
    let mut headers = vec![genesis.header];
    let miner = SecretKey::dev("miner").account();
    for _ in 0..count {
        let parent = headers.last().expect("genesis");
        let recent: Vec<&BlockHeader> = checker.recent().collect();
        let rules = rules_after(
            params,
            params.depth(0).expect("root"),
            recent.into_iter().rev(),
        );
        let mut header = BlockHeader {
            chain: ChainId::ROOT,
            parent: parent.hash(),
            height: parent.height + 1,
            time_ms: parent.time_ms + params.root.block_interval_target_ms,
            difficulty: rules.difficulty,
            nonce: 0,
            merged: MergedWork::default(),
            miner,
            tx_root: Hash::ZERO,
            state_root: Hash::ZERO,
            relay_parent: Hash::ZERO,
            anchors: Vec::new(),
            anchor_headers_hash: Hash::ZERO,
        };
        while !header.meets_difficulty() {
            header.nonce += 1;
        }
        checker
            .push(header.clone(), header.time_ms)
            .expect("a valid header");
        headers.push(header);
    }
    headers
}

/// The light client's root header check (`get --verify` and `proof` run it before the
/// O(depth) value proof): a whole chain from genesis, as on a first call, against root
/// height; then a later call's cost, checking only the new headers from the stored tip; and
/// what reading the stored chain back costs (decoding each header and hashing it for the
/// link to the next, as `client/src/light.rs` does when it opens its file).
fn header_chains(c: &mut Criterion) {
    let params = light_client_params();
    let mut group = c.benchmark_group("light_client_headers");
    group.sample_size(10);
    for length in HEADER_CHAIN_LENGTHS {
        let all = root_header_chain(&params, length + NEW_HEADERS_PER_CALL);
        let (held, new) = all.split_at(length + 1);
        let now_ms = all.last().expect("tip").time_ms;
        let work = verify_header_chain(&params, held, now_ms).expect("verifies");
        assert_eq!(
            work,
            held.iter().skip(1).map(|h| u128::from(h.difficulty)).sum()
        );
        group.throughput(criterion::Throughput::Elements(length as u64));
        group.bench_function(format!("from_genesis/{length}"), |b| {
            b.iter(|| verify_header_chain(&params, held, now_ms).expect("verifies"))
        });
        group.throughput(criterion::Throughput::Elements(NEW_HEADERS_PER_CALL as u64));
        group.bench_function(
            format!("{NEW_HEADERS_PER_CALL}_new_at_height/{length}"),
            |b| {
                b.iter(|| {
                    // As the light client resumes: the stored tip and the ancestors the
                    // rules need are trusted; only the new headers are checked.
                    let ancestors = held.len().saturating_sub(1024);
                    let mut checker = HeaderChainChecker::resume(
                        &params,
                        held[ancestors..].iter().cloned(),
                        work,
                    )
                    .expect("checker");
                    for header in new {
                        checker.push(header.clone(), now_ms).expect("verifies");
                    }
                    checker.cumulative_work()
                })
            },
        );
        let stored: Vec<Vec<u8>> = held.iter().map(BlockHeader::to_bytes).collect();
        group.throughput(criterion::Throughput::Elements(length as u64));
        group.bench_function(format!("read_back/{length}"), |b| {
            b.iter(|| {
                let mut previous: Option<BlockHeader> = None;
                for bytes in &stored {
                    let header = BlockHeader::from_bytes(bytes).expect("decodes");
                    if let Some(previous) = &previous {
                        assert_eq!(header.parent, previous.hash());
                    }
                    previous = Some(header);
                }
            })
        });
    }
    group.finish();
}

mod harness {
    criterion::criterion_group!(
        benches,
        super::writes_over_chains,
        super::header_chains,
        super::key_chain_lookup,
        super::proofs
    );
}
criterion_main!(harness::benches);
