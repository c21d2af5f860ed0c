//! Scenario tests of the peer-to-peer network with real `bitverse` processes on loopback:
//! five nodes converge on one tip and one state root after 200 transactions sent to different
//! nodes; a node started late syncs a 1,000-block chain headers first; a node killed with -9
//! rejoins with its peer id and catches up; a peer that sends garbage, an invalid block and an
//! invalid transaction is banned while honest propagation goes on; two nodes print the same
//! ledger and quote for the same root height. The misbehaving peer is a
//! real libp2p swarm in the test process, speaking gossipsub to a node.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use bitverse_blocktree::params::DEV_ACCOUNT_BALANCE;
use bitverse_blocktree::{Block, BlockHeader, ChainParams, TxPayload, UnsignedTx, genesis_hash_of};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey};
use common::{TestNode, signed, signed_for, tx_hex, wait_for, wait_included};
use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, identity, noise, tcp, yamux};
use serde_json::{Value, json};

/// How long nodes may take to connect and agree on a first block.
const CONNECT_TIMEOUT_MS: u64 = 30_000;
/// How long nodes may take to converge on one tip once the writes are in.
const CONVERGE_TIMEOUT_MS: u64 = 60_000;
/// How long a late node may take to sync the long chain.
const SYNC_TIMEOUT_MS: u64 = 120_000;
/// How long the misbehaving peer waits for each thing it expects.
const MISBEHAVIOUR_STEP_TIMEOUT_MS: u64 = 20_000;

fn logs(nodes: &[&TestNode]) -> String {
    nodes
        .iter()
        .map(|n| format!("--- {} ---\n{}", n.data_dir.display(), tail(&n.log(), 60)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn height(node: &TestNode) -> u64 {
    node.status()["height"].as_u64().expect("height")
}

fn peer_count(node: &TestNode) -> u64 {
    node.network_status()["peer_count"]
        .as_u64()
        .expect("peer_count")
}

/// The tip and state root all `nodes` agree on, if they do.
fn common_tip(nodes: &[&TestNode]) -> Option<(Value, Value, u64)> {
    let statuses: Vec<Value> = nodes.iter().map(|n| n.status()).collect();
    let first = &statuses[0];
    statuses
        .iter()
        .all(|s| s["tip"] == first["tip"] && s["state_root"] == first["state_root"])
        .then(|| {
            (
                first["tip"].clone(),
                first["state_root"].clone(),
                first["height"].as_u64().unwrap_or(0),
            )
        })
}

fn balance(node: &TestNode, account: &AccountId) -> String {
    let answer = node
        .rpc("bv_getAccount", json!([account.to_string()]))
        .expect("bv_getAccount");
    answer["balance"].as_str().expect("balance").to_owned()
}

#[test]
fn five_nodes_converge_on_one_tip_and_state_root_after_200_transactions_sent_to_different_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let miner = TestNode::start_networked(&dir.path().join("miner"), true, &[]);
    // Bootstrap addresses with and without their peer id; `far` and `farther` know only
    // another follower, and reach the miner through relaying (and Kademlia).
    let b = TestNode::start_networked(&dir.path().join("b"), false, &[miner.p2p()]);
    let c = TestNode::start_networked(&dir.path().join("c"), false, &[miner.p2p_plain()]);
    let far = TestNode::start_networked(&dir.path().join("far"), false, &[b.p2p()]);
    let farther = TestNode::start_networked(&dir.path().join("farther"), false, &[c.p2p_plain()]);
    let nodes = [&miner, &b, &c, &far, &farther];

    wait_for(
        CONNECT_TIMEOUT_MS,
        "every node to have a peer and a mined block",
        || {
            nodes
                .iter()
                .all(|n| peer_count(n) >= 1 && height(n) >= 1)
                .then_some(())
        },
        || logs(&nodes),
    );

    // Each sender writes through a different node; none of them mines. The recipient starts
    // with nothing, so its balance counts exactly the transfers that made it into the chain.
    let recipient = SecretKey::dev("recipient").account();
    let amount = 1_000u128;
    let writes_per_sender = 50u64;
    let mut sent = Vec::new();
    for (sender, node) in [
        ("alice", &b),
        ("bob", &c),
        ("carol", &far),
        ("dave", &farther),
    ] {
        let key = SecretKey::dev(sender);
        for nonce in 0..writes_per_sender {
            let tx = signed(
                &key,
                nonce,
                TxPayload::Transfer {
                    to: recipient,
                    amount: Amount(amount),
                },
            );
            let hash = node
                .rpc("bv_sendTransaction", json!([tx_hex(&tx)]))
                .unwrap_or_else(|e| panic!("send to {}: {e:?}", node.data_dir.display()));
            sent.push((node, hash.as_str().expect("hash").to_owned()));
        }
    }
    assert_eq!(sent.len(), 200);
    for (node, hash) in &sent {
        wait_included(&node.url, hash).unwrap_or_else(|e| panic!("{e}; logs:\n{}", logs(&nodes)));
    }

    let (tip, root, at) = wait_for(
        CONVERGE_TIMEOUT_MS,
        "all nodes on one tip and state root",
        || common_tip(&nodes),
        || logs(&nodes),
    );
    eprintln!("converged at height {at}: tip {tip} state root {root}");
    let expected = 200 * amount;
    for node in nodes {
        assert_eq!(balance(node, &recipient), expected.to_string());
    }
    let net = miner.network_status();
    assert!(net["enabled"].as_bool().unwrap());
    assert!(net["peer_count"].as_u64().unwrap() >= 2, "{net}");
}

/// Builds a `local` chain of `blocks` blocks in `db_dir` with the blocktree itself, as a miner
/// would, with a transfer every tenth block. Blocks are spaced 4× the target interval, as if
/// mined by slow miners, so retargeting brings the difficulty down to the minimum within a
/// hundred blocks and the test spends its time syncing, not hashing. Times lie in the past, so
/// every node accepts them. Returns the tip's hash and state root.
fn build_local_chain(db_dir: &Path, blocks: u64) -> (Hash, Hash) {
    let params = ChainParams::local();
    let spacing_ms = params.root.block_interval_target_ms * 4;
    let start_ms = params.genesis_time_ms;
    let mut chain = bitverse_store_rocks::open_chain(db_dir, params).unwrap();
    let alice = SecretKey::dev("alice");
    let dave = SecretKey::dev("dave").account();
    let miner = SecretKey::dev("miner").account();
    let mut nonce = 0;
    for i in 1..=blocks {
        if i % 10 == 0 {
            let tx = UnsignedTx {
                chain: ChainId::ROOT,
                sender: alice.account(),
                nonce,
                fee: Amount(1),
                payload: TxPayload::Transfer {
                    to: dave,
                    amount: Amount(7),
                },
            }
            .sign(&alice);
            chain.submit_transaction(tx).unwrap();
            nonce += 1;
        }
        chain
            .produce_block(miner, start_ms + i * spacing_ms, true, u64::MAX)
            .unwrap()
            .expect("unbounded attempts always seal");
    }
    let tip = chain.tip();
    assert_eq!(tip.height, blocks);
    (tip.hash, tip.state_root)
}

#[test]
fn a_node_started_late_syncs_a_thousand_blocks_headers_first() {
    const BLOCKS: u64 = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let seed_dir = dir.path().join("seed");
    let built = Instant::now();
    // `chain` is where `bitverse node` keeps its database inside the data directory.
    let (tip, state_root) = build_local_chain(&seed_dir.join("chain"), BLOCKS);
    eprintln!("built {BLOCKS} blocks in {:?}", built.elapsed());
    // A second seed with the same chain: the late node fetches blocks from both at once.
    let twin_dir = dir.path().join("twin");
    copy_dir(&seed_dir, &twin_dir);
    let seed = TestNode::start_networked(&seed_dir, false, &[]);
    let twin = TestNode::start_networked(&twin_dir, false, &[]);
    assert_eq!(height(&seed), BLOCKS);
    assert_eq!(height(&twin), BLOCKS);

    let started = Instant::now();
    // Bootstrapped without the peer id: the connection tells who is there.
    let late = TestNode::start_networked(
        &dir.path().join("late"),
        false,
        &[seed.p2p_plain(), twin.p2p_plain()],
    );
    let nodes = [&seed, &twin, &late];
    // `status --wait-sync` returns once the node has caught up; piped, it draws no progress.
    let waited = late.cli(&["status", "--wait-sync", "--wait-sync-timeout-secs", "55"]);
    let waited_text = waited.assert_ok("status --wait-sync").stdout_text();
    assert!(
        waited_text.contains(&format!("height:      {BLOCKS}")),
        "{waited_text}"
    );
    assert!(!waited.stderr.contains("syncing:"), "{}", waited.stderr);
    wait_for(
        SYNC_TIMEOUT_MS,
        "the late node to reach the seed's tip",
        || (late.status()["tip"] == json!(tip.to_hex())).then_some(()),
        || {
            format!(
                "late at {}; network {}; logs:\n{}",
                height(&late),
                late.network_status(),
                logs(&nodes)
            )
        },
    );
    let elapsed = started.elapsed();
    eprintln!(
        "synced {BLOCKS} blocks in {elapsed:?} ({:.0} blocks/s)",
        BLOCKS as f64 / elapsed.as_secs_f64()
    );
    let status = late.status();
    assert_eq!(status["height"], json!(BLOCKS));
    assert_eq!(status["state_root"], json!(state_root.to_hex()));
    // The network view catches up within a tick: the blocks came through sync, not gossip.
    let net = wait_for(
        CONNECT_TIMEOUT_MS,
        "the late node to report the sync",
        || {
            let net = late.network_status();
            // Done: every block synced, and the sync round that fetched them closed (its
            // last headers request answered empty).
            (net["synced_blocks"].as_u64() >= Some(BLOCKS)
                && net["best_peer_height"] == json!(BLOCKS)
                && net["syncing"] == json!(false))
            .then_some(net)
        },
        || format!("{}", late.network_status()),
    );
    let peers = net["peers"].as_array().expect("peers");
    assert_eq!(peers.len(), 2, "{net}");
    for peer in peers {
        assert!(
            peer["synced_blocks"].as_u64() > Some(0),
            "every seed gave blocks: {net}"
        );
    }
    let given: u64 = peers
        .iter()
        .filter_map(|p| p["synced_blocks"].as_u64())
        .sum();
    assert!(given >= BLOCKS, "{net}");
    assert_eq!(net["syncing"], json!(false), "{net}");
    let shown = late.cli(&["status"]);
    let text = shown.assert_ok("status").stdout_text();
    assert!(
        text.contains(&format!("in sync at height {BLOCKS}")),
        "{text}"
    );
    assert!(
        text.contains(seed.peer_id()) && text.contains(twin.peer_id()),
        "{text}"
    );
}

/// Copies a directory tree (a node's data directory, before the node starts).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A libp2p peer in the test process that speaks only gossipsub, on the node's topics.
fn misbehaving_peer() -> Swarm<gossipsub::Behaviour> {
    let key = identity::Keypair::generate_ed25519();
    let config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    let behaviour =
        gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), config).unwrap();
    libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| behaviour)
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// The node's gossip topic `kind` on the `local` network: the wire names of DESIGN.md §5.
fn local_topic(kind: &str) -> IdentTopic {
    let genesis = genesis_hash_of(&ChainParams::local()).unwrap().to_hex();
    IdentTopic::new(format!("/bitverse/{}/root/{kind}/1", &genesis[..16]))
}

/// Waits for the swarm event `pick` selects, with a timeout.
async fn expect_event<T>(
    swarm: &mut Swarm<gossipsub::Behaviour>,
    what: &str,
    mut pick: impl FnMut(&SwarmEvent<gossipsub::Event>) -> Option<T>,
) -> T {
    let waited = tokio::time::timeout(Duration::from_millis(MISBEHAVIOUR_STEP_TIMEOUT_MS), async {
        loop {
            let event = swarm.select_next_some().await;
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

#[test]
fn a_peer_sending_garbage_and_invalid_blocks_and_transactions_is_banned_while_honest_propagation_goes_on()
 {
    let dir = tempfile::tempdir().unwrap();
    let miner = TestNode::start_networked(&dir.path().join("miner"), true, &[]);
    let honest = TestNode::start_networked(&dir.path().join("honest"), false, &[miner.p2p()]);
    let nodes = [&miner, &honest];
    wait_for(
        CONNECT_TIMEOUT_MS,
        "the honest node to follow the miner",
        || (height(&honest) >= 1).then_some(()),
        || logs(&nodes),
    );

    let target: PeerId = miner.peer_id().parse().unwrap();
    let target_addr: Multiaddr = miner.p2p().parse().unwrap();
    let blocks_topic = local_topic("blocks");
    let txs_topic = local_topic("txs");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let evil_id = runtime.block_on(async {
        let mut swarm = misbehaving_peer();
        let evil_id = *swarm.local_peer_id();
        swarm.behaviour_mut().subscribe(&blocks_topic).unwrap();
        swarm.behaviour_mut().subscribe(&txs_topic).unwrap();
        swarm.dial(target_addr.clone()).unwrap();
        // The node must have told us it takes both topics before we can publish on them.
        let mut subscribed = std::collections::HashSet::new();
        expect_event(&mut swarm, "the node's subscriptions", |event| {
            if let SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, topic }) = event
                && *peer_id == target
            {
                subscribed.insert(topic.clone());
            }
            (subscribed.contains(&blocks_topic.hash()) && subscribed.contains(&txs_topic.hash()))
                .then_some(())
        })
        .await;

        // 1. Bytes that decode to nothing.
        let garbage = b"\xff\xfe not a block, not anything".to_vec();
        // 2. A block that decodes but breaks the rules: difficulty 1 where retargeting says
        //    otherwise (any nonce meets difficulty 1, so only the chain's rules catch it).
        let params = ChainParams::local();
        let genesis = genesis_hash_of(&params).unwrap();
        let invalid_block = Block {
            header: BlockHeader {
                chain: ChainId::ROOT,
                parent: genesis,
                height: 1,
                time_ms: params.genesis_time_ms + 3_000,
                difficulty: 1,
                nonce: 0,
                merged: bitverse_blocktree::MergedWork::default(),
                miner: AccountId::default(),
                tx_root: Hash::ZERO,
                state_root: Hash::ZERO,
                relay_parent: Hash::ZERO,
                anchors: Vec::new(),
                anchor_headers_hash: Hash::ZERO,
            },
            transactions: Vec::new(),
            anchor_headers: Vec::new(),
        };
        // 3. A transaction signed by bob in alice's name.
        let forged = UnsignedTx {
            chain: ChainId::ROOT,
            sender: SecretKey::dev("alice").account(),
            nonce: 0,
            fee: Amount(1),
            payload: TxPayload::Transfer {
                to: SecretKey::dev("bob").account(),
                amount: Amount(1_000),
            },
        }
        .sign(&SecretKey::dev("bob"));
        let messages = [
            (&blocks_topic, garbage),
            (&blocks_topic, invalid_block.to_bytes()),
            (&txs_topic, forged.to_bytes()),
        ];
        for (topic, data) in messages {
            swarm
                .behaviour_mut()
                .publish(topic.clone(), data)
                .expect("publish to the node");
        }
        expect_event(&mut swarm, "the node to drop the connection", |event| {
            matches!(
                event,
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } if *peer_id == target
            )
            .then_some(())
        })
        .await;

        // Banned: a new connection is refused.
        swarm.dial(target_addr.clone()).unwrap();
        expect_event(&mut swarm, "the redial to be refused", |event| match event {
            SwarmEvent::ConnectionClosed { peer_id, .. } if *peer_id == target => Some(()),
            SwarmEvent::OutgoingConnectionError { .. } => Some(()),
            _ => None,
        })
        .await;
        evil_id
    });

    let evil = json!(evil_id.to_string());
    let (net, ban) = wait_for(
        CONNECT_TIMEOUT_MS,
        "the node to list the misbehaving peer as banned",
        || {
            let net = miner.network_status();
            let ban = net["banned_peers"]
                .as_array()?
                .iter()
                .find(|b| b["peer_id"] == evil)?
                .clone();
            Some((net, ban))
        },
        || format!("{}\n{}", miner.network_status(), logs(&nodes)),
    );
    assert_eq!(
        ban["rejected_messages"],
        json!(3),
        "each of the three messages was rejected: {ban}"
    );
    assert!(
        net["peers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["peer_id"] != json!(evil_id.to_string())),
        "{net}"
    );
    let shown = miner.cli(&["status"]);
    assert!(
        shown
            .assert_ok("status")
            .stdout_text()
            .contains("banned:      1"),
        "{}",
        shown.stdout_text()
    );

    // Honest propagation goes on: the honest node follows the miner past the attack.
    let attacked_at = height(&miner);
    wait_for(
        CONVERGE_TIMEOUT_MS,
        "the honest node to follow the miner past the attack",
        || {
            common_tip(&nodes)
                .filter(|(_, _, at)| *at > attacked_at)
                .map(|_| ())
        },
        || logs(&nodes),
    );
    assert_eq!(peer_count(&honest), 1);
}

#[test]
fn a_node_killed_with_sigkill_restarts_with_its_peer_id_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let miner = TestNode::start_networked(&dir.path().join("miner"), true, &[]);
    let follower_dir = dir.path().join("follower");
    let mut follower = TestNode::start_networked(&follower_dir, false, &[miner.p2p()]);
    wait_for(
        CONNECT_TIMEOUT_MS,
        "the follower to follow the miner",
        || (height(&follower) >= 2).then_some(()),
        || logs(&[&miner, &follower]),
    );
    let peer_id = follower.peer_id().to_owned();
    follower.kill_9();
    let killed_at = height(&miner);
    wait_for(
        CONVERGE_TIMEOUT_MS,
        "the miner to go on without the follower",
        || (height(&miner) >= killed_at + 2).then_some(()),
        || logs(&[&miner]),
    );

    let restarted = TestNode::start_networked(&follower_dir, false, &[miner.p2p()]);
    assert_eq!(restarted.peer_id(), peer_id, "the identity key is kept");
    let nodes = [&miner, &restarted];
    wait_for(
        CONVERGE_TIMEOUT_MS,
        "the restarted follower to catch up with the miner",
        || {
            common_tip(&nodes)
                .filter(|(_, _, at)| *at >= killed_at + 2)
                .map(|_| ())
        },
        || logs(&nodes),
    );
}

/// Two sides of a partition mine apart, each including a different spend of the same nonce of
/// alice's; when the sides meet, the heavier chain wins everywhere and exactly one spend
/// survives.
#[test]
fn a_partition_heals_and_exactly_one_of_two_conflicting_spends_survives() {
    let dir = tempfile::tempdir().unwrap();
    // Side A: two nodes, one mining. Side B: three nodes, one mining. No node of one side knows
    // any node of the other, so the sides cannot find each other (Kademlia only learns from
    // peers).
    let a_miner = TestNode::start_networked(&dir.path().join("a-miner"), true, &[]);
    let a_bridge_dir = dir.path().join("a-bridge");
    let mut a_bridge = TestNode::start_networked(&a_bridge_dir, false, &[a_miner.p2p()]);
    let b_miner = TestNode::start_networked(&dir.path().join("b-miner"), true, &[]);
    let b1 = TestNode::start_networked(&dir.path().join("b1"), false, &[b_miner.p2p()]);
    let b2 = TestNode::start_networked(&dir.path().join("b2"), false, &[b_miner.p2p()]);

    let side_a = [&a_miner, &a_bridge];
    let side_b = [&b_miner, &b1, &b2];
    for side in [&side_a[..], &side_b[..]] {
        wait_for(
            CONNECT_TIMEOUT_MS,
            "each side connected and mining",
            || {
                side.iter()
                    .all(|n| peer_count(n) >= 1 && height(n) >= 1)
                    .then_some(())
            },
            || logs(side),
        );
    }

    // The same nonce of alice's, spent to bob on side A and to carol on side B.
    let alice = SecretKey::dev("alice");
    let bob = SecretKey::dev("bob").account();
    let carol = SecretKey::dev("carol").account();
    let amount = Amount(123_456);
    let to_bob = signed(&alice, 0, TxPayload::Transfer { to: bob, amount });
    let to_carol = signed(&alice, 0, TxPayload::Transfer { to: carol, amount });
    let hash_bob = a_bridge
        .rpc("bv_sendTransaction", json!([tx_hex(&to_bob)]))
        .expect("side A takes the spend to bob");
    let hash_carol = b2
        .rpc("bv_sendTransaction", json!([tx_hex(&to_carol)]))
        .expect("side B takes the spend to carol");
    let hash_bob = hash_bob.as_str().expect("hash").to_owned();
    let hash_carol = hash_carol.as_str().expect("hash").to_owned();
    wait_included(&a_miner.url, &hash_bob)
        .unwrap_or_else(|e| panic!("{e}; logs:\n{}", logs(&side_a)));
    wait_included(&b_miner.url, &hash_carol)
        .unwrap_or_else(|e| panic!("{e}; logs:\n{}", logs(&side_b)));
    // Both sides build on their spend a little further.
    let (a_at, b_at) = (height(&a_miner), height(&b_miner));
    wait_for(
        CONVERGE_TIMEOUT_MS,
        "both sides to mine past their spend",
        || (height(&a_miner) > a_at && height(&b_miner) > b_at).then_some(()),
        || logs(&[&a_miner, &b_miner]),
    );
    assert_ne!(
        a_miner.status()["tip"],
        b_miner.status()["tip"],
        "the sides were not apart"
    );

    // Heal: the bridge restarts knowing a node of each side.
    a_bridge.kill_9();
    drop(a_bridge);
    a_bridge = TestNode::start_networked(&a_bridge_dir, false, &[a_miner.p2p(), b_miner.p2p()]);
    let all = [&a_miner, &a_bridge, &b_miner, &b1, &b2];
    let (tip, root, at) = wait_for(
        CONVERGE_TIMEOUT_MS * 2,
        "all five nodes on one tip and state root after healing",
        || common_tip(&all),
        || logs(&all),
    );
    eprintln!("healed at height {at}: tip {tip} state root {root}");

    // Exactly one spend is in the chain everyone follows; the other can never be.
    for node in all {
        let status = |hash: &str| {
            node.rpc("bv_getTransaction", json!([hash]))
                .expect("bv_getTransaction")["status"]
                .as_str()
                .expect("status")
                .to_owned()
        };
        let (to_bob_status, to_carol_status) = (status(&hash_bob), status(&hash_carol));
        assert!(
            (to_bob_status == "included") != (to_carol_status == "included"),
            "{}: to bob {to_bob_status}, to carol {to_carol_status}",
            node.data_dir.display()
        );
        let bob_balance: u128 = balance(node, &bob).parse().unwrap();
        let carol_balance: u128 = balance(node, &carol).parse().unwrap();
        let credited =
            (bob_balance - DEV_ACCOUNT_BALANCE.0) + (carol_balance - DEV_ACCOUNT_BALANCE.0);
        assert_eq!(credited, amount.0, "{}", node.data_dir.display());
    }
}

/// A transaction sent to a node before it has any peer is not lost: the node publishes it again
/// once a peer can hear it, and a miner that joins later includes it.
#[test]
fn a_transaction_sent_before_any_peer_joins_reaches_a_later_miner() {
    let dir = tempfile::tempdir().unwrap();
    let lonely = TestNode::start_networked(&dir.path().join("lonely"), false, &[]);
    let tx = signed(
        &SecretKey::dev("alice"),
        0,
        TxPayload::Transfer {
            to: SecretKey::dev("dave").account(),
            amount: Amount(42),
        },
    );
    let hash = lonely
        .rpc("bv_sendTransaction", json!([tx_hex(&tx)]))
        .expect("the lonely node admits the transaction");
    let hash = hash.as_str().expect("hash").to_owned();

    let miner = TestNode::start_networked(&dir.path().join("miner"), true, &[lonely.p2p()]);
    wait_included(&miner.url, &hash)
        .unwrap_or_else(|e| panic!("{e}; logs:\n{}", logs(&[&lonely, &miner])));
    wait_included(&lonely.url, &hash)
        .unwrap_or_else(|e| panic!("{e}; logs:\n{}", logs(&[&lonely, &miner])));
}

/// How long the tree scenario may take for one write to be confirmed, or for a deep write to
/// be anchored up to the root and read back verified: a depth-3 value needs a block on each of
/// four chains, mined one after the other by one miner on a shared 2-core machine.
const TREE_STEP_TIMEOUT_MS: u64 = 180_000;

/// A keyspace name `prefix-N` whose chain at `depth` is `chain`.
fn keyspace_on(prefix: &str, depth: u8, chain: ChainId) -> String {
    (0..100_000)
        .map(|i| format!("{prefix}{i}"))
        .find(|name| bitverse_blocktree::chain_of_keyspace(name, depth) == Some(chain))
        .expect("a name on the chain")
}

/// Starts a `local` node that joins through `bootstrap` with these extra flags.
fn start_tree_node(dir: &Path, name: &str, bootstrap: &str, extra: &[&str]) -> TestNode {
    let mut args = vec![
        "--network",
        "local",
        "--p2p-addr",
        "/ip4/127.0.0.1/tcp/0",
        "--bootstrap",
        bootstrap,
    ];
    args.extend(extra);
    TestNode::launch(&dir.join(name), &args)
}

fn chains_of(node: &TestNode) -> Vec<Value> {
    node.rpc("bv_chains", json!([]))
        .expect("bv_chains")
        .as_array()
        .expect("an array")
        .clone()
}

fn chain_entry(node: &TestNode, chain: ChainId) -> Option<Value> {
    let name = chain.to_string();
    chains_of(node)
        .into_iter()
        .find(|c| c["chain"] == name.as_str())
}

/// A four-level tree over six processes on the `local` network, none tracking every chain:
/// one miner tracks the branch down to a depth-3 chain; two followers track that branch or
/// part of it; three track the root only. Keyspaces at depths 0–3 on that branch are written
/// through different nodes — the depth-3 write through a node that tracks only the root, which
/// forwards it to a peer that tracks the chain — and each write is confirmed. A node that
/// tracks only the root then serves the depth-3 value verified by the light client (the proof
/// fetched from a peer, checked by the node, and checked again by the client against the
/// root's header chain), and `bv_chains` shows the tree with peers per chain. The data chains
/// travel by gossip and per-chain sync: the follower tracking the branch ends on the miner's
/// tips.
#[test]
fn a_four_level_tree_over_six_nodes_confirms_forwarded_writes_and_serves_verified_deep_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    // The branch: root → p1 → p2 → p3.
    let p3 = bitverse_blocktree::chain_of_keyspace("branch", 3).expect("a chain");
    let p2 = p3.parent().expect("depth 2");
    let p1 = p2.parent().expect("depth 1");
    let (p1_text, p2_text, p3_text) = (p1.to_string(), p2.to_string(), p3.to_string());

    let miner = TestNode::launch(
        &path.join("miner"),
        &[
            "--network",
            "local",
            "--p2p-addr",
            "/ip4/127.0.0.1/tcp/0",
            "--mine",
            "--miner",
            "dev:miner",
            "--track",
            &p3_text,
        ],
    );
    let boot = miner.p2p().to_owned();
    let branch = start_tree_node(path, "branch", &boot, &["--track", &p3_text]);
    let middle = start_tree_node(path, "middle", &boot, &["--track", &p2_text]);
    let root_a = start_tree_node(path, "root-a", &boot, &[]);
    let root_b = start_tree_node(path, "root-b", &boot, &[]);
    let root_c = start_tree_node(path, "root-c", &boot, &[]);
    let nodes = [&miner, &branch, &middle, &root_a, &root_b, &root_c];
    let context = || logs(&nodes);
    wait_for(
        CONNECT_TIMEOUT_MS,
        "every node to have a peer and the miner's first block",
        || {
            nodes
                .iter()
                .all(|n| peer_count(n) >= 1 && height(n) >= 1)
                .then_some(())
        },
        context,
    );

    // Keyspaces on the branch at depths 0–3, bought through a node that only relays them.
    let names = [
        keyspace_on("top", 0, ChainId::ROOT),
        keyspace_on("one", 1, p1),
        keyspace_on("two", 2, p2),
        keyspace_on("three", 3, p3),
    ];
    for (depth, name) in names.iter().enumerate() {
        root_a
            .cli(&[
                "keyspace",
                "buy",
                name,
                "--key",
                "dev:alice",
                "--quota",
                "10000",
                "--depth",
                &depth.to_string(),
                "--wait-timeout-secs",
                "50",
            ])
            .assert_ok("keyspace buy");
    }
    // Each write goes through a different node; the depth-3 one through a node that tracks
    // only the root, which forwards it; the depth-2 one through a follower that tracks that
    // chain but does not mine it, and gossips it to the miner.
    let writers = [&miner, &branch, &middle, &root_b];
    for (depth, (name, writer)) in names.iter().zip(writers).enumerate() {
        let put = writer.cli(&[
            "put",
            &format!("{name}/note"),
            "--key",
            "dev:alice",
            "--value",
            &format!("written at depth {depth}"),
            "--no-wait",
            "--json",
        ]);
        let put: Value = serde_json::from_str(&put.assert_ok("put").stdout_text())
            .unwrap_or_else(|e| panic!("put --json: {e}"));
        assert_eq!(put["status"], "pending", "depth {depth}: {put}");
        // Confirmed through the node it was sent to, which asks a peer when it does not track
        // the chain.
        let chain = writer
            .rpc("bv_getKeyChain", json!([format!("{name}/note")]))
            .expect("bv_getKeyChain")["chain"]
            .as_str()
            .expect("chain")
            .to_owned();
        let tx = put["tx"].as_str().expect("tx").to_owned();
        let what = format!("the depth-{depth} write confirmed through the node it was sent to");
        wait_for(
            TREE_STEP_TIMEOUT_MS,
            &what,
            || {
                let status = writer.rpc("bv_getTransaction", json!([tx, chain])).ok()?;
                assert_ne!(status["status"], "dropped", "depth {depth}: {status}");
                (status["status"] == "included").then_some(())
            },
            context,
        );
    }

    // A node tracking only the root serves the depth-3 value, verified, once its write is
    // anchored up to the root.
    let key = format!("{}/note", names[3]);
    let verified = wait_for(
        TREE_STEP_TIMEOUT_MS,
        "the depth-3 value anchored up to the root and served verified by a root-only node",
        || {
            let got = root_c.cli(&["get", &key, "--verify"]);
            (got.code == 0 && got.stdout_text() == "written at depth 3").then_some(got)
        },
        context,
    );
    assert!(
        verified.stderr.contains("through 3 links to root height"),
        "{}",
        verified.stderr
    );
    let proof = root_c.cli(&["proof", &key, "--json"]);
    let proof: Value = serde_json::from_str(&proof.assert_ok("proof --json").stdout_text())
        .expect("proof --json prints JSON");
    assert_eq!(proof["chain"], p3_text.as_str());
    assert_eq!(proof["links"].as_array().map(Vec::len), Some(3));
    // The root-only node reads every depth through its peers, each value checked.
    for (depth, name) in names.iter().enumerate() {
        let value = wait_for(
            TREE_STEP_TIMEOUT_MS,
            "each value readable through the root-only node",
            || {
                let got = root_a
                    .rpc("bv_getValue", json!([format!("{name}/note")]))
                    .ok()?;
                got["value_hex"].as_str().map(str::to_owned)
            },
            context,
        );
        assert_eq!(
            hex::decode(value).unwrap(),
            format!("written at depth {depth}").into_bytes()
        );
    }

    // The tree as nodes see it: tracked chains with their heights, untracked ones with the
    // peers that track them.
    let on_root_only = chain_entry(&root_a, p3).expect("a root-only node knows p3 from peers");
    assert_eq!(on_root_only["tracked"], false);
    assert!(
        on_root_only["peers"].as_u64().unwrap() >= 1,
        "{on_root_only}"
    );
    let on_middle = chain_entry(&middle, p2).expect("middle tracks p2");
    assert_eq!(on_middle["tracked"], true);
    assert!(chain_entry(&middle, p1).is_some_and(|c| c["tracked"] == true));
    // The follower that tracks the branch ends on the miner's tips of every chain on it.
    for chain in [p1, p2, p3] {
        wait_for(
            TREE_STEP_TIMEOUT_MS,
            "the branch follower on the miner's tip of each data chain",
            || {
                let mined = chain_entry(&miner, chain)?;
                let followed = chain_entry(&branch, chain)?;
                (mined["tip"] == followed["tip"] && mined["height"].as_u64()? >= 1).then_some(())
            },
            context,
        );
    }
    let texts = [p1_text, p2_text, p3_text];
    let miner_chains = miner.cli(&["chains"]);
    let drawn = miner_chains.assert_ok("chains").stdout_text();
    for text in &texts {
        assert!(drawn.contains(text.as_str()), "{drawn}");
    }
}

/// Waits until `hash` is included on `chain` as `node` sees it.
fn wait_included_on(node: &TestNode, hash: &str, chain: ChainId, context: &dyn Fn() -> String) {
    wait_for(
        TREE_STEP_TIMEOUT_MS,
        "a write included on its chain",
        || {
            let status = node
                .rpc("bv_getTransaction", json!([hash, chain.to_string()]))
                .ok()?;
            (status["status"] == "included").then_some(())
        },
        context,
    );
}

/// A data-chain fork across a partition, healed by the root. Two sides, each with a miner
/// tracking the same depth-1 chain, buy the same keyspace (one signed transaction sent to
/// both) and write the same key with the same nonce to different values, each anchored in its
/// own root. When a bridge joins them, the root converges on one side's chain, and the data
/// chain follows the branch that root anchors — on both miners, whichever branch had more work
/// — so exactly one value survives, read verified the same on every node.
#[test]
fn a_data_chain_split_by_a_partition_heals_onto_the_branch_the_winning_root_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let chain = bitverse_blocktree::chain_of_keyspace("split", 1).expect("a chain");
    let chain_text = chain.to_string();
    let miner_args = |track: &str| {
        vec![
            "--network".to_owned(),
            "local".to_owned(),
            "--p2p-addr".to_owned(),
            "/ip4/127.0.0.1/tcp/0".to_owned(),
            "--mine".to_owned(),
            "--miner".to_owned(),
            "dev:miner".to_owned(),
            "--track".to_owned(),
            track.to_owned(),
        ]
    };
    let launch = |name: &str, args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        TestNode::launch(&dir.path().join(name), &args)
    };
    let a = launch("a", miner_args(&chain_text));
    let b = launch("b", miner_args(&chain_text));
    let context = || logs(&[&a, &b]);
    wait_for(
        CONNECT_TIMEOUT_MS,
        "both sides mining",
        || (height(&a) >= 1 && height(&b) >= 1).then_some(()),
        context,
    );

    let alice = SecretKey::dev("alice");
    let price = ChainParams::local()
        .depth(1)
        .unwrap()
        .storage_price_per_byte;
    let buy = signed(
        &alice,
        0,
        TxPayload::BuyKeyspace {
            name: "split".into(),
            owner: alice.account(),
            quota_bytes: 1_000,
            prepaid: Amount(price.0 * 1_000),
            script: None,
            depth: 1,
        },
    );
    for side in [&a, &b] {
        let hash = side
            .rpc("bv_sendTransaction", json!([tx_hex(&buy)]))
            .expect("each side takes the purchase");
        wait_included_on(side, hash.as_str().unwrap(), ChainId::ROOT, &context);
    }
    let write = |value: &str| {
        signed_for(
            &alice,
            chain,
            0,
            TxPayload::Put {
                key: "split/x".into(),
                value: value.as_bytes().to_vec(),
            },
        )
    };
    for (side, value) in [(&a, "from a"), (&b, "from b")] {
        // Until the purchase is a root block deep, the node answers `CODE_NOT_ANCHORED_YET`: not yet.
        let hash = wait_for(
            TREE_STEP_TIMEOUT_MS,
            "each side to take its write",
            || match side.rpc("bv_sendTransaction", json!([tx_hex(&write(value))])) {
                Ok(hash) => Some(hash),
                Err(e) if e.code == i64::from(bitverse_rpc_api::CODE_NOT_ANCHORED_YET) => None,
                Err(e) => panic!("each side takes its write: {e:?}"),
            },
            context,
        );
        wait_included_on(side, hash.as_str().unwrap(), chain, &context);
        // Anchored in its side's root: read back verified there.
        wait_for(
            TREE_STEP_TIMEOUT_MS,
            "each side's write anchored in its own root",
            || {
                let got = side.cli(&["get", "split/x", "--verify"]);
                (got.code == 0 && got.stdout_text() == value).then_some(())
            },
            context,
        );
    }
    let tip_of = |node: &TestNode| chain_entry(node, chain).map(|c| c["tip"].clone());
    assert_ne!(tip_of(&a), tip_of(&b), "the sides were not apart");

    // Heal: a bridge that knows both sides.
    let bridge = TestNode::launch(
        &dir.path().join("bridge"),
        &[
            "--network",
            "local",
            "--p2p-addr",
            "/ip4/127.0.0.1/tcp/0",
            "--track",
            &chain_text,
            "--bootstrap",
            a.p2p(),
            "--bootstrap",
            b.p2p(),
        ],
    );
    let all = [&a, &b, &bridge];
    let healed = wait_for(
        CONVERGE_TIMEOUT_MS * 3,
        "every node on one root and one value, read verified",
        || {
            let values: Vec<String> = all
                .iter()
                .map(|node| {
                    let got = node.cli(&["get", "split/x", "--verify"]);
                    (got.code == 0).then(|| got.stdout_text())
                })
                .collect::<Option<_>>()?;
            values
                .windows(2)
                .all(|pair| pair[0] == pair[1])
                .then(|| values[0].clone())
        },
        || logs(&all),
    );
    assert!(
        healed == "from a" || healed == "from b",
        "one side's value survives: {healed}"
    );
    // The two miners mine one data chain again: their tips meet.
    wait_for(
        CONVERGE_TIMEOUT_MS * 2,
        "the miners on one tip of the data chain",
        || (tip_of(&a).is_some() && tip_of(&a) == tip_of(&b)).then_some(()),
        || logs(&all),
    );
}

/// The quote is a pure function of root state at a height: a miner and a follower that synced
/// its blocks print the same ledger and the same tier table for the same root height.
#[test]
fn two_nodes_print_the_same_ledger_and_quote_for_the_same_root_height() {
    let dir = tempfile::tempdir().unwrap();
    let miner = TestNode::start_networked(&dir.path().join("miner"), true, &[]);
    let follower = TestNode::start_networked(&dir.path().join("follower"), false, &[miner.p2p()]);
    let json_of = |out: &common::CliOutput, what: &str| -> Value {
        serde_json::from_slice(&out.assert_ok(what).stdout).expect("one line of JSON")
    };
    for (who, role, amount) in [
        ("dev:bob", "offerer", "5000base"),
        ("dev:carol", "relayer", "2000base"),
        ("dev:dave", "relayer", "3000base"),
    ] {
        // Sent to the follower, which gossips it to the miner.
        follower
            .cli(&["stake", amount, "--role", role, "--key", who, "--no-wait"])
            .assert_ok("stake");
    }
    let nodes = [&miner, &follower];
    let staked_height = wait_for(
        CONVERGE_TIMEOUT_MS,
        "both nodes to agree on a tip where the three stakes are in",
        || {
            let (_, _, at) = common_tip(&nodes)?;
            let quoted = miner.rpc(
                "bv_quote",
                json!(["filters/bw", ["erik/photo"], 5_000_000u64, at]),
            );
            let quoted = quoted.ok()?;
            (quoted["relayers_staked"] == 2 && quoted["offers"].as_array()?.len() == 1)
                .then_some(at)
        },
        || logs(&nodes),
    );
    let at = staked_height.to_string();
    let quote_args = [
        "quote",
        "filters/bw",
        "erik/photo",
        "--height",
        &at,
        "--requester",
        "dev:alice",
        "--json",
    ];
    let on_miner = json_of(&miner.cli(&quote_args), "quote on the miner");
    let on_follower = json_of(&follower.cli(&quote_args), "quote on the follower");
    assert_eq!(on_miner, on_follower);
    assert_eq!(on_miner["offers"][0]["tiers"].as_array().unwrap().len(), 3);
    let ledger_args = ["ledger", "dev:bob", "--height", &at, "--json"];
    assert_eq!(
        json_of(&miner.cli(&ledger_args), "ledger on the miner"),
        json_of(&follower.cli(&ledger_args), "ledger on the follower")
    );
}
