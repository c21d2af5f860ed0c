//! Writes the seed corpora, `fuzz/corpus/<target>/seed-*`, from real encodings: transactions
//! of every kind, blocks, headers, proofs, deep values, envelopes and programs that a run of
//! the state-transition driver made, and the sync protocol's requests and responses built from
//! them. Run by `scripts/fuzz seeds` when a format changes; the
//! files are checked in. Takes the corpus directory as its one argument.

use std::path::{Path, PathBuf};

// The instrumented code calls libFuzzer's coverage hooks: link its runtime (not its `main`).
use libfuzzer_sys as _;

use bitverse_blocktree::{Block, TxPayload};
use bitverse_fuzz::{ops, state};
use bitverse_market_wire::{MarketMessage, MarketRequest, Offer, OfferTerms, ResultChain, Reveal};
use bitverse_p2p::fuzzing::{ChainTip, PeerStatus, encode_request, encode_response};
use bitverse_p2p::{SyncRequest, SyncResponse, WireTxStatus};
use bitverse_pricing::{EVENT_WEIGHT, LedgerParams, PriceQuote, ReliabilityRecord, TaskKind};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey, codec};
use bitverse_relay_lineup::{LineupProof, encode_envelope_chain};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    let path = dir.join(format!("seed-{name}"));
    if let Err(e) = std::fs::write(&path, bytes) {
        panic!("cannot write {}: {e}", path.display());
    }
}

fn kind(payload: &TxPayload) -> &'static str {
    match payload {
        TxPayload::Transfer { .. } => "transfer",
        TxPayload::BuyKeyspace { .. } => "buy",
        TxPayload::SetScript { .. } => "set-script",
        TxPayload::Put { .. } => "put",
        TxPayload::Delete { .. } => "delete",
        TxPayload::ClaimMinerReward { .. } => "claim",
        TxPayload::Stake { .. } => "stake",
        TxPayload::Unstake { .. } => "unstake",
        TxPayload::PostBounty { .. } => "post-bounty",
        TxPayload::LineupProof { .. } => "lineup-proof",
        TxPayload::Settle { .. } => "settle",
        TxPayload::Dispute { .. } => "dispute",
        TxPayload::DeclareCapacity { .. } => "declare-capacity",
        TxPayload::RegisterBlob { .. } => "register-blob",
        TxPayload::ConfirmShards { .. } => "confirm-shards",
        TxPayload::ProveShards { .. } => "prove-shards",
        TxPayload::PostChallenge { .. } => "post-challenge",
        TxPayload::ClaimChallenge { .. } => "claim-challenge",
    }
}

/// One message of each kind the market topic carries: a request, a priced and a declined offer,
/// a result chain from the seed programs' envelopes, and a reveal.
fn market_messages(
    envelope_chains: &[(Vec<bitverse_relay_lineup::Envelope>, Hash)],
) -> Vec<(&'static str, MarketMessage)> {
    let request = MarketRequest {
        requester: SecretKey::dev("bob").account(),
        transform: "filters/bw".into(),
        inputs: vec!["photos/one".into()],
        args: b"64".to_vec(),
        fuel_budget: 1_000_000,
        hops: 1,
        pinned_height: 7,
        expiry_height: 60,
        nonce: 1,
    };
    let offerer = SecretKey::dev("node-0");
    let priced = Offer::signed(
        &offerer,
        request.id(),
        OfferTerms::Priced {
            price: Amount(1_500),
            latency_ms: 300,
            acceptance: offerer.sign(&Hash::digest(b"the bounty's terms")),
        },
    );
    let declined = Offer::signed(
        &offerer,
        request.id(),
        OfferTerms::Declined {
            reason: "the module traps".into(),
        },
    );
    let mut messages = vec![
        ("request", MarketMessage::Request(request)),
        ("offer-priced", MarketMessage::Offer(priced)),
        ("offer-declined", MarketMessage::Offer(declined)),
    ];
    if let Some((chain, _)) = envelope_chains.first() {
        messages.push((
            "result",
            MarketMessage::Result(ResultChain {
                chain: chain.clone(),
            }),
        ));
        if let Some(first) = chain.first() {
            // Its bytes are checked against a settled bounty, which only a node's root holds.
            messages.push((
                "reveal",
                MarketMessage::Reveal(Reveal {
                    bounty: first.bounty,
                    result: b"grey".to_vec(),
                }),
            ));
        }
    }
    messages
}

/// The sync protocol: every request and response kind as the codec writes it, from the run's
/// blocks and headers (`sync_message`); and event programs for the sync machine
/// (`sync_machine`), patterns that libFuzzer grows from.
fn sync_seeds(dir: &Path, blocks: &[Block]) {
    let root: Vec<&Block> = blocks.iter().filter(|b| b.header.chain.is_root()).collect();
    let tips: Vec<ChainTip> = blocks
        .iter()
        .rev()
        .filter(|b| b.header.chain.is_root())
        .take(1)
        .chain(blocks.iter().filter(|b| !b.header.chain.is_root()).take(2))
        .map(|b| ChainTip {
            chain: b.header.chain,
            height: b.header.height,
            tip: b.hash(),
            cumulative_work: u128::from(b.header.height),
        })
        .collect();
    let status = PeerStatus {
        genesis: root.first().map_or(Hash::ZERO, |b| b.hash()),
        chains: tips,
    };
    let some_hashes: Vec<Hash> = root.iter().take(4).map(|b| b.hash()).collect();
    let requests = [
        ("status", SyncRequest::Status(status.clone())),
        (
            "headers-after",
            SyncRequest::HeadersAfter {
                chain: ChainId::ROOT,
                locator: some_hashes.clone(),
                count_max: 1000,
            },
        ),
        (
            "blocks",
            SyncRequest::Blocks {
                chain: ChainId::ROOT,
                hashes: some_hashes.clone(),
            },
        ),
        (
            "value-proof",
            SyncRequest::ValueProof { key: "a/k0".into() },
        ),
        (
            "submit-tx",
            SyncRequest::SubmitTx {
                tx: blocks
                    .iter()
                    .flat_map(|b| b.transactions.iter())
                    .next()
                    .map(|tx| tx.to_bytes())
                    .unwrap_or_default(),
            },
        ),
        (
            "tx-status",
            SyncRequest::TxStatus {
                chain: ChainId::ROOT,
                hash: Hash::digest(b"a tx"),
            },
        ),
        (
            "account",
            SyncRequest::Account {
                chain: ChainId::ROOT,
                account: SecretKey::dev("alice").account().0,
            },
        ),
    ];
    for (name, request) in requests {
        match encode_request(&request) {
            Ok(bytes) => write(dir, "sync_message", &format!("request-{name}"), &bytes),
            Err(e) => panic!("seed request {name}: {e}"),
        }
    }
    let small: Vec<Block> = root
        .iter()
        .filter(|b| b.to_bytes().len() < 4096)
        .take(2)
        .map(|b| (*b).clone())
        .collect();
    let responses = [
        ("status", SyncResponse::Status(status)),
        (
            "headers",
            SyncResponse::Headers(root.iter().take(3).map(|b| b.header.clone()).collect()),
        ),
        ("blocks", SyncResponse::Blocks(small)),
        ("value-proof", SyncResponse::ValueProof(vec![1, 2, 3])),
        (
            "tx-admitted",
            SyncResponse::TxAdmitted(Hash::digest(b"a tx")),
        ),
        (
            "tx-refused",
            SyncResponse::TxRefused {
                code: -32010,
                message: "nonce too low".into(),
            },
        ),
        (
            "tx-included",
            SyncResponse::TxStatus(WireTxStatus::Included {
                height: 3,
                block: Hash::digest(b"a block"),
                index: 1,
            }),
        ),
        (
            "tx-dropped",
            SyncResponse::TxStatus(WireTxStatus::Dropped {
                code: 7,
                message: "refused by script".into(),
                script_reason_code: Some(4),
            }),
        ),
        (
            "account",
            SyncResponse::Account {
                balance: 1_000,
                nonce: 2,
                pending_nonce: 3,
            },
        ),
        ("refused", SyncResponse::refused("over a limit")),
    ];
    for (name, response) in responses {
        match encode_response(&response) {
            Ok(bytes) => write(dir, "sync_message", &format!("response-{name}"), &bytes),
            Err(e) => panic!("seed response {name}: {e}"),
        }
    }
    // Event programs: a byte pattern reads as statuses, answers and worker results in turn.
    for (name, pattern) in [
        ("ones", vec![0x01u8; 512]),
        ("counting", (0..=255u8).cycle().take(2048).collect()),
        (
            "stride",
            [0x10u8, 0x02, 0x35, 0x81, 0x07, 0x40, 0xc3].repeat(200),
        ),
    ] {
        write(dir, "sync_machine", name, &pattern);
    }
}

fn main() {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("fuzz/corpus"), PathBuf::from);
    let samples = state::samples();

    // Transactions: the first of each kind, from the blocks and the seed programs' payloads.
    let mut seen = std::collections::BTreeSet::new();
    let txs = samples.blocks.iter().flat_map(|b| b.transactions.iter());
    for tx in txs {
        if seen.insert(kind(&tx.body.payload)) {
            write(&dir, "tx", kind(&tx.body.payload), &tx.to_bytes());
        }
    }
    let alice = SecretKey::dev("alice");
    let envelope = samples
        .envelope_chains
        .first()
        .and_then(|(c, _)| c.first().copied());
    let mut extra = vec![
        ("delete", TxPayload::Delete { key: "a/k0".into() }),
        (
            "transfer",
            TxPayload::Transfer {
                to: SecretKey::dev("bob").account(),
                amount: Amount(1_000),
            },
        ),
        (
            "buy",
            TxPayload::BuyKeyspace {
                name: "erik".into(),
                owner: alice.account(),
                quota_bytes: 4096,
                prepaid: Amount(1 << 20),
                script: Some(vec![0, b'a', b's', b'm', 1, 0, 0, 0]),
                depth: 2,
            },
        ),
        (
            "stake",
            TxPayload::Stake {
                amount: Amount(5),
                role: TaskKind::Offer,
            },
        ),
        (
            "set-script",
            TxPayload::SetScript {
                keyspace: "a".into(),
                script: Some(vec![0, b'a', b's', b'm']),
            },
        ),
        (
            "unstake",
            TxPayload::Unstake {
                amount: Amount(5),
                role: TaskKind::Relay,
            },
        ),
        (
            "declare-capacity",
            TxPayload::DeclareCapacity {
                capacity_bytes: 1 << 30,
                peer: "12D3KooWStorer".into(),
            },
        ),
        (
            "confirm-shards",
            TxPayload::ConfirmShards {
                receipts: vec![bitverse_blocktree::ShardReceipt {
                    blob: Hash::digest(b"a blob"),
                    shard: 3,
                }],
            },
        ),
        (
            "prove-shards",
            TxPayload::ProveShards {
                proofs: vec![bitverse_blocktree::ShardProof {
                    blob: Hash::digest(b"a blob"),
                    shard: 3,
                    audit_height: 12,
                    // The shape of a proof: a hash pair, then a chunk group's bytes (one
                    // KiB here); the tx target only decodes and checks it statelessly.
                    proof: (0u8..=255).cycle().take(64 + 1024).collect(),
                }],
            },
        ),
        (
            "post-challenge",
            TxPayload::PostChallenge {
                blob: Hash::digest(b"a blob"),
                shard: 2,
                nonce: Hash::digest(b"a nonce"),
                key: SecretKey::dev("challenge").account(),
                amount: Amount(100_000),
            },
        ),
        (
            "claim-challenge",
            TxPayload::ClaimChallenge {
                blob: Hash::digest(b"a blob"),
                shard: 2,
                signature: SecretKey::dev("challenge").sign(&Hash::digest(b"a claim")),
            },
        ),
    ];
    if let Some(envelope) = envelope {
        let mut other = envelope;
        let revealed = Hash::digest(b"another result");
        other.commitment = bitverse_relay_lineup::result_commitment(&revealed, &other.signer);
        extra.push((
            "dispute",
            TxPayload::Dispute {
                bounty: envelope.bounty,
                first: Box::new(envelope),
                second: Box::new(other),
                result_hash: revealed,
            },
        ));
    }
    for (name, payload) in extra {
        if seen.insert(name) {
            let tx = bitverse_blocktree::UnsignedTx {
                chain: ChainId::ROOT,
                sender: alice.account(),
                nonce: 7,
                fee: Amount(1),
                payload,
            }
            .sign(&alice);
            write(&dir, "tx", name, &tx.to_bytes());
        }
    }

    // Blocks and headers: the first root block with transactions, with anchors, a data-chain
    // block, and an empty one; each small.
    let pick = |f: &dyn Fn(&Block) -> bool| samples.blocks.iter().find(|b| f(b)).cloned();
    let blocks = [
        (
            "root-txs",
            pick(&|b| {
                b.header.chain.is_root() && !b.transactions.is_empty() && b.to_bytes().len() < 4096
            }),
        ),
        (
            "root-anchors",
            pick(&|b| b.header.chain.is_root() && !b.header.anchors.is_empty()),
        ),
        (
            "data-chain",
            pick(&|b| !b.header.chain.is_root() && !b.transactions.is_empty()),
        ),
        ("merged", pick(&|b| b.header.merged.leaves > 1)),
        (
            "empty",
            pick(&|b| b.transactions.is_empty() && b.header.anchors.is_empty()),
        ),
    ];
    for (name, block) in blocks {
        if let Some(block) = block {
            write(&dir, "block", name, &block.to_bytes());
            write(&dir, "header", name, &block.header.to_bytes());
        }
    }
    // A header chain: the run's first root headers, raw, after the fuzzer's structured part.
    let root_headers: Vec<_> = samples
        .blocks
        .iter()
        .filter(|b| b.header.chain.is_root())
        .take(3)
        .map(|b| b.header.clone())
        .collect();
    let mut chain_seed = vec![1u8, 0, 0, 0, 0];
    chain_seed.extend(codec::encode(&root_headers));
    write(&dir, "header_chain", "raw-root-headers", &chain_seed);
    write(&dir, "header_chain", "honest-steps", &[0x01; 256]);
    write(
        &dir,
        "header_chain",
        "fast-blocks",
        &[0x05, 0, 0, 0, 0, 0x11].repeat(40),
    );
    write(&dir, "tx_inclusion", "pattern", &[0x03; 96]);
    write(&dir, "audit_proof", "pattern", &[0x41; 160]);

    for (i, proof) in samples.value_proofs.iter().enumerate() {
        write(&dir, "value_proof", &format!("{i}"), &proof.to_bytes());
    }
    for (i, proof) in samples.earnings_proofs.iter().enumerate() {
        write(&dir, "earnings_proof", &format!("{i}"), &proof.to_bytes());
    }
    for (i, deep) in samples.deep_values.iter().enumerate() {
        write(&dir, "deep_value", &format!("{i}"), &codec::encode(deep));
    }

    let bounty = Hash::digest(b"a bounty");
    let proof = LineupProof::find(bounty, alice.account(), 16, 0, 1 << 12).unwrap_or(LineupProof {
        bounty,
        finder: alice.account(),
        nonce: 0,
    });
    let mut lineup = proof.to_bytes();
    lineup.extend(16u64.to_le_bytes());
    write(&dir, "lineup_proof", "difficulty-16", &lineup);
    for (name, message) in market_messages(&samples.envelope_chains) {
        write(&dir, "market_message", name, &message.to_bytes());
    }
    for (i, (chain, result_hash)) in samples.envelope_chains.iter().enumerate().take(4) {
        write(
            &dir,
            "envelope_chain",
            &format!("{i}"),
            &encode_envelope_chain(chain),
        );
        if let [first, .., last] = chain.as_slice() {
            let evidence = (first.bounty, *first, *last, *result_hash);
            write(
                &dir,
                "dispute_evidence",
                &format!("{i}"),
                &codec::encode(&evidence),
            );
        }
        if let Some(first) = chain.first() {
            write(
                &dir,
                "dispute_evidence",
                &format!("envelope-{i}"),
                &codec::encode(first),
            );
        }
    }

    for (name, text) in [
        ("keyspace", "erik"),
        ("sub-keyspace", "twitter/erik"),
        ("key", "twitter/erik/photos/1.png"),
        ("odd", "a-b_c.d/e"),
    ] {
        write(&dir, "keyspace_names", name, text.as_bytes());
    }
    let name = bitverse_keyspace::KeyspaceName::new("erik").ok();
    write(&dir, "keyspace_names", "encoded", &codec::encode(&name));

    let account = alice.account();
    for (name, text) in [
        ("coins", "1.5 BV".to_string()),
        ("base-units", "1_500base".to_string()),
        (
            "wire-amount",
            "340282366920938463463374607431768211455".to_string(),
        ),
        ("chain", "0110".to_string()),
        ("root", "root".to_string()),
        ("hash", format!("0x{}", Hash::digest(b"h"))),
        ("account", account.to_string()),
    ] {
        write(&dir, "primitives", name, text.as_bytes());
    }
    write(
        &dir,
        "primitives",
        "chain-id",
        &codec::encode(&ChainId::new(3, 5).ok()),
    );
    let message = b"signed";
    let signature = alice.sign(&Hash::digest(message));
    let mut signed = account.0.to_vec();
    signed.extend(signature.0);
    signed.extend(message);
    write(&dir, "primitives", "signature", &signed);
    write(
        &dir,
        "primitives",
        "account-bytes",
        &codec::encode(&AccountId([7; 32])),
    );

    let mut record = ReliabilityRecord::default();
    let params = LedgerParams::DEFAULT;
    let _ = record.record_success(10, 500, EVENT_WEIGHT, &params);
    let _ = record.record_failure(12, EVENT_WEIGHT, &params);
    let mut record_seed = record.to_bytes();
    record_seed.extend(5_000u64.to_le_bytes());
    write(&dir, "pricing_records", "record", &record_seed);
    write(
        &dir,
        "pricing_records",
        "quote",
        &PriceQuote::default().to_bytes(),
    );

    sync_seeds(&dir, &samples.blocks);

    for (i, program) in state::seed_programs().iter().enumerate() {
        write(
            &dir,
            "state_transition",
            &format!("{i}"),
            &ops::encode(program),
        );
    }
}
