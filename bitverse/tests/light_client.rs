//! The light client (`bitverse get KEY --verify`) against a node that lies: a fake node on
//! loopback serves real proofs over header chains the test builds, honest or forged. The
//! client must apply the network's own header rules, keep the chain with most work on disk
//! between calls, and download only new headers each call.

use std::path::Path;
use std::sync::{Arc, Mutex};

use bitverse_blocktree::{BlockHeader, Chain, ChainParams, Transaction, TxPayload, UnsignedTx};
use bitverse_primitives::{Amount, ChainId, SecretKey};
use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use serde_json::{Value, json};

mod common;
use common::run_cli;

const KEY: &str = "light/greeting";
const VALUE: &[u8] = b"hello, light client";

/// What the fake node serves: a header chain, and a proof against one of its headers.
#[derive(Clone)]
struct Served {
    /// The network the fake node names in its status.
    network: String,
    headers: Vec<BlockHeader>,
    proof_hex: String,
}

fn signed(chain: &Chain, who: &str, payload: TxPayload) -> Transaction {
    let key = SecretKey::dev(who);
    UnsignedTx {
        chain: ChainId::ROOT,
        sender: key.account(),
        nonce: chain.pending_nonce(&key.account()).unwrap(),
        fee: Amount(1),
        payload,
    }
    .sign(&key)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A `local` chain holding `KEY`, mined by the real block producer (at the difficulty the
/// rules demand) with blocks 3 s apart, ending a minute ago.
fn honest_chain(blocks: u64, miner: &str) -> Chain {
    honest_chain_of(ChainParams::local(), blocks, miner)
}

/// [`honest_chain`] on the network of `params`.
fn honest_chain_of(params: ChainParams, blocks: u64, miner: &str) -> Chain {
    let mut chain = Chain::in_memory(params).unwrap();
    let start = now_ms() - 60_000 - blocks * 3_000;
    let alice = SecretKey::dev("alice").account();
    let price = chain.params().root.storage_price_per_byte.0;
    chain
        .submit_transaction(signed(
            &chain,
            "alice",
            TxPayload::BuyKeyspace {
                name: "light".into(),
                owner: alice,
                quota_bytes: 1024,
                prepaid: Amount(1024 * price),
                script: None,
                depth: 0,
            },
        ))
        .unwrap();
    // The keyspace must be in a block before a write in it is admitted.
    extend(&mut chain, 1, miner, start);
    chain
        .submit_transaction(signed(
            &chain,
            "alice",
            TxPayload::Put {
                key: KEY.into(),
                value: VALUE.to_vec(),
            },
        ))
        .unwrap();
    extend(&mut chain, blocks - 1, miner, start + 3_000);
    chain
}

fn extend(chain: &mut Chain, blocks: u64, miner: &str, start_ms: u64) {
    for i in 0..blocks {
        chain
            .produce_block(
                SecretKey::dev(miner).account(),
                start_ms + i * 3_000,
                true,
                u64::MAX,
            )
            .unwrap()
            .expect("mined");
    }
}

fn served(chain: &Chain) -> Served {
    let height = chain.tip().height;
    Served {
        network: chain.params().network.clone(),
        headers: (0..=height)
            .map(|h| chain.header_at(h).unwrap().unwrap())
            .collect(),
        proof_hex: hex::encode(chain.value_proof(KEY).unwrap().to_bytes()),
    }
}

/// A fake node speaking the three methods `get --verify` calls.
async fn fake_node(served: Arc<Mutex<Served>>) -> (String, ServerHandle) {
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    let mut module = RpcModule::new(served);
    module
        .register_method("bv_status", |_, served, _| {
            let served = served.lock().unwrap();
            let tip = served.headers.last().unwrap();
            json!({
                "network": served.network,
                "genesis_hash": served.headers[0].hash(),
                "dev": false,
                "height": tip.height,
                "tip": tip.hash(),
                "state_root": tip.state_root,
                "time_ms": tip.time_ms,
                "difficulty": tip.difficulty,
                "mempool_size": 0,
                "peers": 0,
                "storage_price_per_byte": "256",
            })
        })
        .unwrap();
    module
        .register_method(
            "bv_getProof",
            |_, served, _| json!({ "proof_hex": served.lock().unwrap().proof_hex }),
        )
        .unwrap();
    module
        .register_method("bv_getHeaders", |params, served, _| {
            let (from, count): (u64, u64) = params.parse().unwrap();
            let served = served.lock().unwrap();
            let page: Vec<String> = served
                .headers
                .iter()
                .skip(from as usize)
                .take(count as usize)
                .map(|h| hex::encode(h.to_bytes()))
                .collect();
            Value::from(page)
        })
        .unwrap();
    let handle = server.start(module);
    (url, handle)
}

/// Runs `bitverse get KEY --verify` against `url` with the light state in `state_dir`;
/// returns (succeeded, stderr).
fn verify(url: &str, state_dir: &Path) -> (bool, String) {
    let out = run_cli(&[
        "get",
        KEY,
        "--verify",
        "--rpc",
        url,
        "--state-dir",
        state_dir.to_str().unwrap(),
    ]);
    if out.code == 0 {
        assert_eq!(out.stdout, VALUE, "the verified value is the one written");
    }
    (out.code == 0, out.stderr.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn light_client_keeps_the_best_verified_chain_and_refuses_forgeries() {
    let state = tempfile::tempdir().unwrap();
    let mut longer = honest_chain(30, "miner");
    let shared = Arc::new(Mutex::new(served(&longer)));
    let (url, _server) = fake_node(shared.clone()).await;

    // First call: every header from genesis, checked by the rules.
    let (ok, err) = tokio::task::spawn_blocking({
        let (url, dir) = (url.clone(), state.path().to_owned());
        move || verify(&url, &dir)
    })
    .await
    .unwrap();
    assert!(ok, "honest chain refused: {err}");
    assert!(
        err.contains("31 root headers held, 30 new checked"),
        "{err}"
    );

    // Second call after 5 more blocks: only those 5 are downloaded.
    extend(&mut longer, 5, "miner", now_ms() - 30_000);
    *shared.lock().unwrap() = served(&longer);
    let (ok, err) = tokio::task::spawn_blocking({
        let (url, dir) = (url.clone(), state.path().to_owned());
        move || verify(&url, &dir)
    })
    .await
    .unwrap();
    assert!(ok, "extended chain refused: {err}");
    assert!(err.contains("36 root headers held, 5 new checked"), "{err}");

    // A forged chain from genesis: perfect links and heights, each header claiming
    // difficulty 1 (which any nonce meets) and the last committing to the real state root.
    // More headers than the honest chain, but less work; the rules refuse it outright.
    let mut forged = vec![longer.header_at(0).unwrap().unwrap()];
    for height in 1..=60u64 {
        let parent = forged.last().unwrap().clone();
        let mut header = longer.header_at(height.min(35)).unwrap().unwrap();
        header.parent = parent.hash();
        header.height = height;
        header.time_ms = parent.time_ms.max(now_ms() - 120_000) + 1_000;
        header.difficulty = 1;
        forged.push(header);
    }
    let mut proof = longer.value_proof(KEY).unwrap();
    proof.header = forged.last().unwrap().clone();
    *shared.lock().unwrap() = Served {
        network: "local".into(),
        headers: forged,
        proof_hex: hex::encode(proof.to_bytes()),
    };
    let fresh = tempfile::tempdir().unwrap();
    for dir in [state.path().to_owned(), fresh.path().to_owned()] {
        let (ok, err) = tokio::task::spawn_blocking({
            let url = url.clone();
            move || verify(&url, &dir)
        })
        .await
        .unwrap();
        assert!(!ok, "forged chain accepted");
        assert!(
            err.contains("breaks the network's rules") && err.contains("bad difficulty"),
            "refused for the wrong reason: {err}"
        );
    }

    // A real fork with more work from block 20 replaces ours; then the node that shows the
    // old, lighter branch again is not believed.
    let mut heavier = Chain::in_memory(ChainParams::local()).unwrap();
    for height in 1..=20 {
        let block = longer.block_at(height).unwrap().unwrap();
        heavier.import_block(block, now_ms()).unwrap();
    }
    let fork_start = longer.header_at(20).unwrap().unwrap().time_ms + 3_000;
    extend(&mut heavier, 25, "carol", fork_start);
    *shared.lock().unwrap() = served(&heavier);
    let (ok, err) = tokio::task::spawn_blocking({
        let (url, dir) = (url.clone(), state.path().to_owned());
        move || verify(&url, &dir)
    })
    .await
    .unwrap();
    assert!(ok, "heavier fork refused: {err}");
    assert!(err.contains("replaced by a chain with more work"), "{err}");

    *shared.lock().unwrap() = served(&longer);
    let (ok, err) = tokio::task::spawn_blocking({
        let (url, dir) = (url.clone(), state.path().to_owned());
        move || verify(&url, &dir)
    })
    .await
    .unwrap();
    assert!(!ok, "a lighter branch displaced the heavier one");
    assert!(err.contains("not in the best header chain"), "{err}");
}

/// Issue 18 §2: the network is the client's choice. A node that says `dev` (difficulty fixed
/// at 1, so any chain it makes up has "work") is refused by a client left at its default,
/// `local`, with a message naming both; a `local` chain too young to carry the network's
/// minimum work is refused too; the verified line names the network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_names_the_network_and_demands_its_minimum_work() {
    let dev_chain = honest_chain_of(ChainParams::dev(), 30, "miner");
    let shared = Arc::new(Mutex::new(served(&dev_chain)));
    let (url, _server) = fake_node(shared.clone()).await;
    let state = tempfile::tempdir().unwrap();
    let run = |url: String, dir: std::path::PathBuf| async move {
        tokio::task::spawn_blocking(move || verify(&url, &dir))
            .await
            .unwrap()
    };
    let (ok, err) = run(url.clone(), state.path().to_owned()).await;
    assert!(!ok, "a dev node's chain verified for a local client");
    assert!(
        err.contains("the node serves network \"dev\"")
            && err.contains("verifies against network \"local\""),
        "{err}"
    );

    // Two blocks of `local`: linked and valid by the rules, but less work than the network
    // demands of a chain before the client trusts it.
    let young = honest_chain(2, "miner");
    *shared.lock().unwrap() = served(&young);
    let (ok, err) = run(url.clone(), state.path().to_owned()).await;
    assert!(!ok, "a young chain verified");
    let work_min = ChainParams::local().light_client_work_min();
    assert!(err.contains(&format!("less than the {work_min}")), "{err}");

    // Old enough: verified, and the line says on which network.
    *shared.lock().unwrap() = served(&honest_chain(30, "miner"));
    let fresh = tempfile::tempdir().unwrap();
    let (ok, err) = run(url, fresh.path().to_owned()).await;
    assert!(ok, "{err}");
    assert!(err.contains("on network local, chain root"), "{err}");
}
