//! What the root's audits cost (issue 19 §7, `docs/STORAGE.md` "Audits"): the bytes of one
//! audit proof and the time to verify it, for shards of the sizes blobs give, and the import
//! of a root block at the audit budget (the proofs of the last block's audits in ProveShards
//! transactions, and this block's audits issued) beside an empty root block, on one in-process
//! dev chain pair (memory store): one chain builds each block, the other imports it, checking
//! it in full as a block from elsewhere.
//!
//! `cargo bench --workspace --bench audits --profile test` (workspace crates at opt-level 1,
//! dependencies at 2: the test build's artifacts, no release build of wasmtime and RocksDB)

use std::time::{Duration, Instant};

use bitverse_blocktree::{
    AUDITS_PER_BLOCK_MAX, Block, Chain, ChainParams, PLACEMENT_DELAY_BLOCKS, ShardProof,
    ShardReceipt, TxPayload, UnsignedTx,
};
use bitverse_pricing::TaskKind;
use bitverse_primitives::{AccountId, Amount, ChainId, SecretKey};
use bitverse_storage::{
    BlobEncoder, CHUNK_GROUP_PROOF_BYTES_MAX, ShardOutboard, Shares, chunk_group_count,
    chunk_group_range, encode_outboard, prove_range, verify_range,
};
use criterion::{Criterion, criterion_main};

const START_MS: u64 = 1_800_000_000_000;

/// Deterministic bytes.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut state = seed.wrapping_add(1);
    for chunk in out.chunks_mut(8) {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let word = state.to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    out
}

/// One audit proof's bytes and verification, per shard size: 1 MiB, 64 MiB, and a third of a
/// GiB (a shard of 1 GiB at 3-of-10).
fn proof_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit_proof_verify");
    println!(
        "longest audit proof (a 4 GiB shard, 2^18 groups): {CHUNK_GROUP_PROOF_BYTES_MAX} bytes"
    );
    for (name, size) in [
        ("1MiB_shard", 1u64 << 20),
        ("64MiB_shard", 64 << 20),
        ("third_of_1GiB_shard", (1u64 << 30).div_ceil(3)),
    ] {
        let shard = bytes(usize::try_from(size).expect("size"), size);
        let outboard = encode_outboard(shard.as_slice(), size).expect("outboard");
        // A group in the middle: as deep as any but the leftmost.
        let index = chunk_group_count(size) / 2;
        let range = chunk_group_range(size, index).expect("range");
        let proof = prove_range(shard.as_slice(), &outboard, range.clone()).expect("proof");
        println!(
            "{name}: {} chunk groups, proof of group {index}: {} bytes ({} of path)",
            chunk_group_count(size),
            proof.len(),
            proof.len() as u64 - (range.end - range.start)
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                verify_range(
                    outboard.root(),
                    size,
                    range.clone(),
                    proof.as_slice(),
                    |_, _| {},
                )
                .expect("verifies")
            })
        });
    }
    group.finish();
}

/// One shard as its storer keeps it.
struct Held {
    bytes: Vec<u8>,
    outboard: ShardOutboard,
}

/// A chain that builds blocks and one that imports them, in step; the storers and what they
/// hold.
struct Pair {
    builder: Chain,
    importer: Chain,
    storers: Vec<SecretKey>,
    held: std::collections::BTreeMap<(bitverse_primitives::Hash, u8), Held>,
    time_ms: u64,
}

const STORERS: usize = 12;
const BLOBS: usize = 60;

fn params() -> ChainParams {
    let mut params = ChainParams::dev();
    // Answered in the block after the audit, so each block both issues a budget of audits and
    // takes the last block's proofs; the shortest window that allows that.
    params.storage.audit_deadline_blocks = 2;
    params
}

impl Pair {
    fn new() -> Pair {
        let params = params();
        Pair {
            builder: Chain::in_memory(params.clone()).expect("chain"),
            importer: Chain::in_memory(params).expect("chain"),
            storers: (0..STORERS)
                .map(|i| SecretKey::from_seed(format!("storer {i}").as_bytes()))
                .collect(),
            held: Default::default(),
            time_ms: START_MS,
        }
    }

    fn submit(&mut self, who: &SecretKey, payload: TxPayload) {
        let nonce = self.builder.pending_nonce(&who.account()).expect("nonce");
        let tx = UnsignedTx {
            chain: ChainId::ROOT,
            sender: who.account(),
            nonce,
            fee: Amount(1),
            payload,
        }
        .sign(who);
        self.builder.submit_transaction(tx).expect("admitted");
    }

    /// A block built on one chain; the time the other takes to import it.
    fn block(&mut self) -> (Block, Duration) {
        self.time_ms += 1_000;
        let block = self
            .builder
            .produce_block(
                SecretKey::dev("dave").account(),
                self.time_ms,
                true,
                u64::MAX,
            )
            .expect("build")
            .expect("a block");
        let started = Instant::now();
        self.importer
            .import_block(block.clone(), self.time_ms)
            .expect("import");
        (block, started.elapsed())
    }

    /// alice buys a keyspace and funds the storers; they stake and declare; she registers
    /// [`BLOBS`] blobs of 1 MiB at 3-of-10; every shard is drawn and confirmed.
    fn stored(mut self) -> Pair {
        let alice = SecretKey::dev("alice");
        let price = self.builder.params().root.storage_price_per_byte;
        self.submit(
            &alice,
            TxPayload::BuyKeyspace {
                name: "files".into(),
                owner: alice.account(),
                quota_bytes: 1 << 20,
                prepaid: Amount(price.0 << 20),
                script: None,
                depth: 0,
            },
        );
        for key in self.storers.clone() {
            self.submit(
                &alice,
                TxPayload::Transfer {
                    to: key.account(),
                    amount: Amount(10_000_000_000),
                },
            );
        }
        self.block();
        for key in self.storers.clone() {
            self.submit(
                &key,
                TxPayload::Stake {
                    amount: Amount(1_000_000_000),
                    role: TaskKind::Store,
                },
            );
        }
        self.block();
        for key in self.storers.clone() {
            self.submit(
                &key,
                TxPayload::DeclareCapacity {
                    capacity_bytes: 1 << 34,
                    peer: "12D3KooWStorer".into(),
                },
            );
        }
        self.block();
        let mut ids = Vec::new();
        for i in 0..BLOBS {
            let file = bytes(1 << 20, 1_000 + i as u64);
            let mut shards: Vec<Vec<u8>> = vec![Vec::new(); 10];
            let manifest = BlobEncoder::new(Shares::new(3, 10).expect("shares"), 64 * 1024)
                .expect("encoder")
                .encode(file.as_slice(), &mut shards)
                .expect("encode");
            let endowment = self.builder.blob_endowment_min(&manifest).expect("min").0 * 100;
            let nonce = self.builder.pending_nonce(&alice.account()).expect("nonce");
            let tx = UnsignedTx {
                chain: ChainId::ROOT,
                sender: alice.account(),
                nonce,
                fee: Amount(1),
                payload: TxPayload::RegisterBlob {
                    key: format!("files/{i}"),
                    manifest,
                    endowment: Amount(endowment),
                    content_type: String::new(),
                },
            }
            .sign(&alice);
            let id = self.builder.submit_transaction(tx).expect("register");
            for (index, bytes) in shards.into_iter().enumerate() {
                let outboard =
                    encode_outboard(bytes.as_slice(), bytes.len() as u64).expect("outboard");
                self.held
                    .insert((id, index as u8), Held { bytes, outboard });
            }
            ids.push(id);
        }
        self.block();
        for _ in 0..PLACEMENT_DELAY_BLOCKS + (BLOBS as u64 * 10).div_ceil(64) {
            self.block();
        }
        let height = self.builder.tip().height;
        let mut receipts: Vec<(AccountId, ShardReceipt)> = Vec::new();
        for id in &ids {
            let blob = self
                .builder
                .blob_at(id, height)
                .expect("read")
                .expect("blob");
            for (index, shard) in blob.shards.iter().enumerate() {
                let storer = shard.storer.expect("drawn");
                receipts.push((
                    storer,
                    ShardReceipt {
                        blob: *id,
                        shard: index as u8,
                    },
                ));
            }
        }
        for key in self.storers.clone() {
            let mine: Vec<ShardReceipt> = receipts
                .iter()
                .filter(|(storer, _)| *storer == key.account())
                .map(|(_, r)| *r)
                .collect();
            for chunk in mine.chunks(64) {
                self.submit(
                    &key,
                    TxPayload::ConfirmShards {
                        receipts: chunk.to_vec(),
                    },
                );
            }
        }
        self.block();
        let totals = self.builder.audit_totals_at(self.builder.tip().height);
        assert_eq!(totals.expect("totals").shards, BLOBS as u64 * 10);
        self
    }

    /// Every pending audit answered, three proofs a transaction; returns how many.
    fn answer_all(&mut self) -> usize {
        let height = self.builder.tip().height;
        let mut answered = 0;
        for key in self.storers.clone() {
            let audits = self
                .builder
                .pending_audits_of_storer_at(&key.account(), height)
                .expect("audits");
            let proofs: Vec<ShardProof> = audits
                .iter()
                .map(|audit| {
                    let held = &self.held[&(audit.blob, audit.shard)];
                    ShardProof {
                        blob: audit.blob,
                        shard: audit.shard,
                        audit_height: audit.audit_height,
                        proof: prove_range(
                            held.bytes.as_slice(),
                            &held.outboard,
                            audit.range.clone(),
                        )
                        .expect("proof"),
                    }
                })
                .collect();
            answered += proofs.len();
            for chunk in proofs.chunks(bitverse_blocktree::SHARD_PROOFS_PER_TX_MAX) {
                self.submit(
                    &key,
                    TxPayload::ProveShards {
                        proofs: chunk.to_vec(),
                    },
                );
            }
        }
        answered
    }
}

fn root_block_import(c: &mut Criterion) {
    let mut group = c.benchmark_group("root_block_import");
    group.sample_size(30);

    let mut empty = Pair::new();
    group.bench_function("empty", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += empty.block().1;
            }
            total
        })
    });

    let mut audited = Pair::new().stored();
    // Two blocks so that the chain is in its steady state: each block takes the last one's
    // proofs and issues its own audits.
    audited.block();
    audited.answer_all();
    audited.block();
    let mut proofs_seen = 0usize;
    let mut bytes_seen = 0usize;
    let mut blocks_seen = 0usize;
    group.bench_function("at_audit_budget", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                proofs_seen += audited.answer_all();
                let (block, took) = audited.block();
                bytes_seen += block.to_bytes().len();
                blocks_seen += 1;
                total += took;
            }
            total
        })
    });
    group.finish();
    let totals = audited
        .builder
        .audit_totals_at(audited.builder.tip().height)
        .expect("totals");
    println!(
        "at the audit budget ({AUDITS_PER_BLOCK_MAX} a block, {} shards): {:.2} proofs and {} \
         bytes a block on average over {blocks_seen} blocks; issued {}, passed {}, failed {}",
        totals.shards,
        proofs_seen as f64 / blocks_seen.max(1) as f64,
        bytes_seen / blocks_seen.max(1),
        totals.issued,
        totals.passed,
        totals.failed,
    );
}

mod harness {
    criterion::criterion_group!(benches, super::proof_verify, super::root_block_import);
}

criterion_main!(harness::benches);
