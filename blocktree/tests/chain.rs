//! Integration tests of the root chain: fork choice and reorgs, conservation of money, restart
//! from RocksDB, refusal of invalid blocks, and light-client proofs.

use bitverse_blocktree::{
    AccountError, Block, BlockError, Chain, ChainError, ChainParams, ImportOutcome, KeyspaceError,
    StatelessError, Transaction, TxError, TxPayload, TxStatus, UnsignedTx, ValueProof,
    genesis_block, genesis_hash_of, verify_header_chain,
};
use bitverse_primitives::{AccountId, Amount, ChainId, SecretKey};
use proptest::prelude::*;

fn key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

/// Builds and signs a transaction from `who` with the next nonce the chain expects.
fn tx(chain: &Chain, who: &str, fee: u128, payload: TxPayload) -> Transaction {
    let k = key(who);
    let nonce = chain.pending_nonce(&k.account()).unwrap();
    UnsignedTx {
        chain: ChainId::ROOT,
        sender: k.account(),
        nonce,
        fee: Amount(fee),
        payload,
    }
    .sign(&k)
}

fn buy(chain: &Chain, who: &str, name: &str, quota_bytes: u64) -> Transaction {
    let owner = key(who).account();
    let prepaid = Amount(u128::from(quota_bytes) * chain.params().root.storage_price_per_byte.0);
    tx(
        chain,
        who,
        1,
        TxPayload::BuyKeyspace {
            name: name.into(),
            owner,
            quota_bytes,
            prepaid,
            script: None,
            depth: 0,
        },
    )
}

fn put(chain: &Chain, who: &str, k: &str, v: &[u8]) -> Transaction {
    tx(
        chain,
        who,
        1,
        TxPayload::Put {
            key: k.into(),
            value: v.to_vec(),
        },
    )
}

fn transfer(chain: &Chain, who: &str, to: AccountId, amount: u128) -> Transaction {
    tx(
        chain,
        who,
        2,
        TxPayload::Transfer {
            to,
            amount: Amount(amount),
        },
    )
}

/// Submits `txs` and produces one block with them, as miner `miner`, at `time_ms`.
fn block_with(chain: &mut Chain, txs: Vec<Transaction>, miner: &str, time_ms: u64) -> Block {
    for t in txs {
        chain.submit_transaction(t).unwrap();
    }
    chain
        .produce_block(key(miner).account(), time_ms, true, u64::MAX)
        .unwrap()
        .expect("a block")
}

fn time(i: u64) -> u64 {
    ChainParams::dev().genesis_time_ms + i * 1_000
}

#[test]
fn reorg_restores_state_root_of_winning_branch() {
    let mut a = Chain::in_memory(ChainParams::dev()).unwrap();
    let mut b = Chain::in_memory(ChainParams::dev()).unwrap();
    let dave = key("dave").account();
    // Branch A: alice buys "shared" and writes; two blocks.
    let t = buy(&a, "alice", "shared", 1000);
    block_with(&mut a, vec![t], "alice", time(1));
    let t = put(&a, "alice", "shared/x", b"from a");
    block_with(&mut a, vec![t], "alice", time(2));
    // Branch B: bob buys the same name and pays dave; three blocks, so more work.
    let t = buy(&b, "bob", "shared", 1000);
    block_with(&mut b, vec![t], "bob", time(1));
    let t = transfer(&b, "bob", dave, 777);
    block_with(&mut b, vec![t], "bob", time(2));
    let t = put(&b, "bob", "shared/x", b"from b");
    let b3 = block_with(&mut b, vec![t], "bob", time(3));

    let mut replica = Chain::in_memory(ChainParams::dev()).unwrap();
    let mut outcomes = Vec::new();
    for h in 1..=3 {
        let block = b.block_at(h).unwrap().unwrap();
        replica.import_block(block.clone(), time(10)).unwrap();
        outcomes.push(a.import_block(block, time(10)).unwrap());
    }
    assert_eq!(outcomes[0], ImportOutcome::SideChain);
    assert_eq!(
        outcomes[1],
        ImportOutcome::SideChain,
        "equal work keeps the first-seen tip"
    );
    assert_eq!(
        outcomes[2],
        ImportOutcome::NewTip {
            height: 3,
            reorged_blocks: 2
        }
    );
    assert_eq!(a.tip().hash, b3.hash());
    assert_eq!(a.tip().state_root, b.tip().state_root);
    assert_eq!(a.tip().state_root, replica.tip().state_root);
    assert_eq!(a.value("shared/x").unwrap(), Some(b"from b".to_vec()));
    assert_eq!(
        a.keyspace("shared").unwrap().unwrap().owner,
        key("bob").account()
    );
    assert_eq!(a.account(&dave).unwrap(), replica.account(&dave).unwrap());
    // Alice's abandoned transactions went back to the mempool; her purchase now fails there
    // (the name is taken on the winning branch), so it is refused, not re-admitted.
    assert_eq!(a.account(&key("alice").account()).unwrap().nonce, 0);
}

#[test]
fn invalid_branch_is_refused_and_the_previous_chain_restored() {
    let mut a = Chain::in_memory(ChainParams::dev()).unwrap();
    let mut b = Chain::in_memory(ChainParams::dev()).unwrap();
    let t = buy(&a, "alice", "mine", 100);
    block_with(&mut a, vec![t], "alice", time(1));
    let root_before = a.tip().state_root;
    // b builds two blocks; the second is tampered with (wrong state root, re-sealed at
    // difficulty 1 so that only state can tell).
    let t = transfer(&b, "bob", key("carol").account(), 5);
    block_with(&mut b, vec![t], "bob", time(1));
    let t = transfer(&b, "bob", key("carol").account(), 6);
    let mut bad = block_with(&mut b, vec![t], "bob", time(2));
    bad.header.state_root.0[0] ^= 1;
    a.import_block(b.block_at(1).unwrap().unwrap(), time(5))
        .unwrap();
    let err = a.import_block(bad.clone(), time(5)).unwrap_err();
    assert!(
        matches!(err, ChainError::Block(BlockError::StateRootMismatch { .. })),
        "{err}"
    );
    assert_eq!(a.tip().state_root, root_before);
    assert_eq!(a.tip().height, 1);
    let again = a.import_block(bad, time(5)).unwrap_err();
    assert!(
        matches!(again, ChainError::Block(BlockError::KnownInvalid(_))),
        "{again}"
    );
}

#[test]
fn headers_breaking_the_rules_are_refused() {
    let mut a = Chain::in_memory(ChainParams::dev()).unwrap();
    let mut b = Chain::in_memory(ChainParams::dev()).unwrap();
    let t = transfer(&b, "bob", key("carol").account(), 5);
    let good = block_with(&mut b, vec![t], "bob", time(1));
    let check =
        |a: &mut Chain, block: Block| a.import_block(block, time(1)).unwrap_err().to_string();

    let mut future = good.clone();
    future.header.time_ms = time(1) + a.params().future_time_ms_max + 1;
    assert!(check(&mut a, future).contains("ahead of now"));
    let mut old = good.clone();
    old.header.time_ms = a.params().genesis_time_ms;
    assert!(check(&mut a, old).contains("median time past"));
    let mut height = good.clone();
    height.header.height = 5;
    assert!(check(&mut a, height).contains("bad height"));
    let mut difficulty = good.clone();
    difficulty.header.difficulty = 2;
    assert!(check(&mut a, difficulty).contains("bad difficulty"));
    let mut orphan = good.clone();
    orphan.header.parent.0[0] ^= 1;
    assert!(check(&mut a, orphan).contains("unknown parent"));
    let mut txroot = good.clone();
    txroot.transactions.clear();
    assert!(check(&mut a, txroot).contains("transaction root"));
    let mut forged = good.clone();
    forged.transactions[0].signature.0[5] ^= 1;
    let hashes: Vec<_> = forged.transactions.iter().map(Transaction::hash).collect();
    forged.header.tx_root = bitverse_blocktree::block::tx_root(&hashes);
    assert!(check(&mut a, forged).contains("bad signature"));
    assert_eq!(a.tip().height, 0);
    a.import_block(good, time(1)).unwrap();
    assert_eq!(a.tip().height, 1);
}

#[test]
fn proof_of_work_is_enforced_at_real_difficulty() {
    let params = ChainParams::local();
    let mut miner = Chain::in_memory(params.clone()).unwrap();
    let mut follower = Chain::in_memory(params.clone()).unwrap();
    let block = miner
        .produce_block(
            key("alice").account(),
            params.genesis_time_ms + 3_000,
            true,
            u64::MAX,
        )
        .unwrap()
        .unwrap();
    assert_eq!(block.header.difficulty, params.root.difficulty_initial);
    assert!(block.header.meets_difficulty());
    // Find a nonce that does not meet the difficulty (almost every nonce).
    let mut weak = block.clone();
    while weak.header.meets_difficulty() {
        weak.header.nonce = weak.header.nonce.wrapping_add(1);
    }
    let err = follower
        .import_block(weak, params.genesis_time_ms + 3_000)
        .unwrap_err();
    assert!(
        matches!(err, ChainError::Block(BlockError::InsufficientWork)),
        "{err}"
    );
    follower
        .import_block(block, params.genesis_time_ms + 3_000)
        .unwrap();
}

/// Sum of every balance the test knows of and what the root's endowment pool holds (every
/// keyspace here is on the root, and pays into its pool).
fn supply(chain: &Chain, accounts: &[AccountId]) -> u128 {
    let balances: u128 = accounts
        .iter()
        .map(|a| chain.account(a).unwrap().balance.0)
        .sum();
    balances + chain.endowment_pool(&ChainId::ROOT).unwrap().held().0
}

#[test]
fn balances_and_endowments_are_conserved_in_every_block() {
    let params = ChainParams::local();
    let mut chain = Chain::in_memory(params.clone()).unwrap();
    let outsider = SecretKey::from_seed(b"outsider").account();
    let mut accounts: Vec<AccountId> = ["alice", "bob", "carol", "dave"]
        .iter()
        .map(|n| key(n).account())
        .collect();
    accounts.push(outsider);
    let genesis_supply: u128 = params.genesis_allocations.iter().map(|(_, a)| a.0).sum();
    assert_eq!(supply(&chain, &accounts), genesis_supply);
    for round in 1..=8u64 {
        let mut txs = vec![transfer(
            &chain,
            "alice",
            outsider,
            1_000 + u128::from(round),
        )];
        match round {
            1 => txs.push(buy(&chain, "bob", "conserve", 500)),
            2 => txs.push(put(&chain, "bob", "conserve/a", b"value")),
            3 => txs.push(buy(&chain, "bob", "conserve/sub", 100)),
            4 => txs.push(tx(
                &chain,
                "bob",
                3,
                TxPayload::Delete {
                    key: "conserve/a".into(),
                },
            )),
            5 => txs.push(buy(&chain, "carol", "other", 10)),
            _ => txs.push(transfer(&chain, "dave", key("carol").account(), 5)),
        }
        block_with(
            &mut chain,
            txs,
            "dave",
            params.genesis_time_ms + round * 3_000,
        );
        let expected = genesis_supply + u128::from(round) * params.block_subsidy.0;
        assert_eq!(supply(&chain, &accounts), expected, "after block {round}");
    }
    // What the keyspaces prepaid went into the pool, and its share went to the miner.
    let pool = chain.endowment_pool(&ChainId::ROOT).unwrap();
    let prepaid: u128 = ["conserve", "conserve/sub", "other"]
        .iter()
        .map(|k| chain.keyspace(k).unwrap().unwrap().endowment.0)
        .sum();
    assert_eq!(pool.deposited.0, prepaid);
}

#[test]
fn refused_transactions_say_why() {
    let mut chain = Chain::in_memory(ChainParams::dev()).unwrap();
    let t = buy(&chain, "alice", "alice", 20);
    block_with(&mut chain, vec![t], "alice", time(1));
    let refuse = |chain: &mut Chain, t: Transaction| match chain.submit_transaction(t) {
        Err(ChainError::Tx(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let t = put(&chain, "alice", "nobody/x", b"v");
    assert!(matches!(
        refuse(&mut chain, t),
        TxError::Keyspace(KeyspaceError::UnknownKeyspace(_))
    ));
    let t = put(&chain, "bob", "alice/x", b"v");
    assert!(matches!(
        refuse(&mut chain, t),
        TxError::Keyspace(KeyspaceError::NotOwner { .. })
    ));
    let t = put(&chain, "alice", "alice/x", &[0; 64]);
    assert!(matches!(
        refuse(&mut chain, t),
        TxError::Keyspace(KeyspaceError::QuotaExceeded { .. })
    ));
    let broke = SecretKey::from_seed(b"broke");
    let t = UnsignedTx {
        chain: ChainId::ROOT,
        sender: broke.account(),
        nonce: 0,
        fee: Amount(1),
        payload: TxPayload::Transfer {
            to: key("bob").account(),
            amount: Amount(1),
        },
    }
    .sign(&broke);
    assert!(matches!(
        refuse(&mut chain, t),
        TxError::Account(AccountError::InsufficientBalance { .. })
    ));
    let mut forged = put(&chain, "alice", "alice/x", b"v");
    forged.body.sender = key("bob").account();
    assert_eq!(
        refuse(&mut chain, forged),
        TxError::Stateless(StatelessError::BadSignature)
    );
    let used = UnsignedTx {
        chain: ChainId::ROOT,
        sender: key("alice").account(),
        nonce: 0,
        fee: Amount(5),
        payload: TxPayload::Put {
            key: "alice/x".into(),
            value: b"v".to_vec(),
        },
    }
    .sign(&key("alice"));
    assert!(matches!(
        refuse(&mut chain, used),
        TxError::Account(AccountError::BadNonce {
            expected: 1,
            got: 0
        })
    ));
    let t = buy(&chain, "bob", "alice", 5);
    assert!(matches!(
        refuse(&mut chain, t),
        TxError::Keyspace(KeyspaceError::KeyspaceTaken(_))
    ));
    // A later-nonce write that turns out invalid at block building is dropped with its reason.
    let ok = put(&chain, "alice", "alice/a", b"1234567");
    chain.submit_transaction(ok.clone()).unwrap();
    let too_much = put(&chain, "alice", "alice/b", b"1234567");
    chain.submit_transaction(too_much.clone()).unwrap();
    chain
        .seal_dev_block(key("alice").account(), time(2))
        .unwrap()
        .unwrap();
    assert!(matches!(
        chain.tx_status(&ok.hash()).unwrap(),
        TxStatus::Included { height: 2, .. }
    ));
    assert!(matches!(
        chain.tx_status(&too_much.hash()).unwrap(),
        TxStatus::Dropped {
            error: TxError::Keyspace(KeyspaceError::QuotaExceeded { .. })
        }
    ));
}

#[test]
fn restart_resumes_at_the_tip_with_state_intact() {
    // One store outlives the chain opened on it, as a node's database outlives its process
    // (RocksDB's own durability: `bitverse-store-rocks`'s tests).
    let store: std::sync::Arc<dyn bitverse_blocktree::store::KvStore> =
        std::sync::Arc::new(bitverse_blocktree::store::MemoryStore::default());
    let open = |params: ChainParams| Chain::in_store(store.clone(), params, ChainId::ROOT);
    let (tip, root) = {
        let mut chain = open(ChainParams::dev()).unwrap();
        let t = buy(&chain, "alice", "disk", 1000);
        block_with(&mut chain, vec![t], "alice", time(1));
        let t = put(&chain, "alice", "disk/k", b"persisted");
        block_with(&mut chain, vec![t], "alice", time(2));
        (chain.tip().hash, chain.tip().state_root)
    };
    let chain = open(ChainParams::dev()).unwrap();
    assert_eq!(chain.tip().hash, tip);
    assert_eq!(chain.tip().state_root, root);
    assert_eq!(chain.value("disk/k").unwrap(), Some(b"persisted".to_vec()));
    drop(chain);
    let err = open(ChainParams::local()).err().unwrap();
    assert!(matches!(err, ChainError::WrongNetwork { .. }), "{err}");
}

#[test]
fn light_client_checks_values_absences_and_headers() {
    let mut chain = Chain::in_memory(ChainParams::dev()).unwrap();
    let t = buy(&chain, "alice", "light", 1000);
    block_with(&mut chain, vec![t], "alice", time(1));
    let t = buy(&chain, "alice", "light/sub", 100);
    block_with(&mut chain, vec![t], "alice", time(2));
    let t = put(&chain, "alice", "light/sub/k", b"deep");
    chain.submit_transaction(t).unwrap();
    let t = put(&chain, "alice", "light/top", b"shallow");
    block_with(&mut chain, vec![t], "alice", time(3));

    let proof = chain.value_proof("light/sub/k").unwrap();
    assert_eq!(proof.value.as_deref(), Some(&b"deep"[..]));
    proof.verify().unwrap();
    let proof = ValueProof::from_bytes(&proof.to_bytes()).unwrap();
    proof.verify().unwrap();
    chain.value_proof("light/top").unwrap().verify().unwrap();

    let absent = chain.value_proof("light/sub/nothing").unwrap();
    assert_eq!(absent.value, None);
    absent.verify().unwrap();

    let mut lie = proof.clone();
    lie.value = Some(b"forged".to_vec());
    assert!(lie.verify().is_err());
    let mut hide = proof.clone();
    hide.value = None;
    assert!(hide.verify().is_err());
    let mut wrong_root = proof.clone();
    wrong_root.header.state_root.0[3] ^= 1;
    assert!(wrong_root.verify().is_err());
    // Claiming the shorter keyspace as home, hiding the registered sub-keyspace, fails.
    let mut wrong_home = proof.clone();
    wrong_home.keyspaces.remove(0);
    assert!(wrong_home.verify().is_err());

    let headers: Vec<_> = (0..=chain.tip().height)
        .map(|h| chain.header_at(h).unwrap().unwrap())
        .collect();
    let genesis = genesis_hash_of(&ChainParams::dev()).unwrap();
    assert_eq!(genesis, chain.genesis_hash());
    assert_eq!(
        genesis_block(&ChainParams::dev()).unwrap().header,
        headers[0]
    );
    let now = u64::MAX / 2;
    verify_header_chain(&ChainParams::dev(), &headers, now).unwrap();
    let mut broken = headers.clone();
    broken[2].time_ms += 1;
    assert!(verify_header_chain(&ChainParams::dev(), &broken, now).is_err());
    assert!(verify_header_chain(&ChainParams::local(), &headers, now).is_err());
}

/// A `local` chain of `blocks` blocks mined by the real producer at the difficulty the rules
/// demand, and its headers.
fn mined_local_chain(blocks: u64) -> (Chain, Vec<bitverse_blocktree::BlockHeader>) {
    let mut chain = Chain::in_memory(ChainParams::local()).unwrap();
    let start = ChainParams::local().genesis_time_ms + 86_400_000;
    for i in 0..blocks {
        chain
            .produce_block(key("miner").account(), start + i * 3_000, true, u64::MAX)
            .unwrap()
            .unwrap();
    }
    let headers = (0..=blocks)
        .map(|h| chain.header_at(h).unwrap().unwrap())
        .collect();
    (chain, headers)
}

#[test]
fn light_client_refuses_a_forged_low_work_header_chain() {
    let params = ChainParams::local();
    let (_, honest) = mined_local_chain(12);
    let now = params.genesis_time_ms + 2 * 86_400_000;
    let honest_work = verify_header_chain(&params, &honest, now).unwrap();
    assert!(honest_work >= 12 * 4_096 / 4);

    // The forger's chain: same genesis, each header claiming difficulty 1, which any nonce
    // meets. Linkage and heights are perfect; only the network's retarget rule can tell.
    let mut forged = vec![honest[0].clone()];
    for i in 1..=12u64 {
        let parent = forged.last().unwrap();
        let mut header = honest[usize::try_from(i).unwrap()].clone();
        header.parent = parent.hash();
        header.difficulty = 1;
        forged.push(header);
    }
    for header in &forged[1..] {
        assert!(header.meets_difficulty(), "every nonce meets difficulty 1");
    }
    let refused = verify_header_chain(&params, &forged, now).unwrap_err();
    assert!(
        refused.to_string().contains("bad difficulty"),
        "refused for the wrong reason: {refused}"
    );

    // Honest headers, but one stamped before the median time past, or far in the future.
    let mut old = honest.clone();
    old[8].time_ms = old[3].time_ms;
    assert!(verify_header_chain(&params, &old, now).is_err());
    let clock_behind = honest[12].time_ms - params.future_time_ms_max - 1;
    assert!(verify_header_chain(&params, &honest, clock_behind).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn proofs_hold_for_present_keys_and_absent_ones(
        entries in proptest::collection::btree_map("[a-z0-9]{1,6}", proptest::collection::vec(any::<u8>(), 0..40), 1..12),
        absent in proptest::collection::vec("[A-Z]{1,4}", 1..4),
    ) {
        let mut chain = Chain::in_memory(ChainParams::dev()).unwrap();
        let t = buy(&chain, "carol", "prop", 100_000);
        block_with(&mut chain, vec![t], "carol", time(1));
        let txs: Vec<Transaction> = entries.iter().enumerate().map(|(i, (k, v))| {
            let c = key("carol");
            UnsignedTx { chain: ChainId::ROOT, sender: c.account(), nonce: 1 + i as u64, fee: Amount(1),
                payload: TxPayload::Put { key: format!("prop/{k}"), value: v.clone() } }.sign(&c)
        }).collect();
        block_with(&mut chain, txs, "carol", time(2));
        for (k, v) in &entries {
            let proof = chain.value_proof(&format!("prop/{k}")).unwrap();
            prop_assert_eq!(proof.value.as_ref(), Some(v));
            prop_assert!(proof.verify().is_ok());
            let mut tampered = proof.clone();
            let mut forged = v.clone();
            forged.push(1);
            tampered.value = Some(forged);
            prop_assert!(tampered.verify().is_err());
        }
        for k in &absent {
            // Upper-case segments are not valid keys, so use a lower-cased variant never written.
            let key_text = format!("prop/absent-{}", k.to_lowercase());
            let proof = chain.value_proof(&key_text).unwrap();
            prop_assert_eq!(proof.value.as_ref(), None);
            prop_assert!(proof.verify().is_ok());
            let mut claimed = proof.clone();
            claimed.value = Some(b"x".to_vec());
            prop_assert!(claimed.verify().is_err());
        }
    }
}

/// A mempool holding more transaction bytes than one block may is mined over several blocks:
/// the builder stops at `BLOCK_SIZE_BYTES_MAX` (header and all), where before it sealed every
/// transaction into one block that `check_body` — its own import included — refused, so that
/// a mempool full of large writes stalled block production.
#[test]
fn more_transaction_bytes_than_a_block_holds_are_mined_over_several_blocks() {
    use bitverse_blocktree::VALUE_SIZE_BYTES_MAX;
    use bitverse_blocktree::block::BLOCK_SIZE_BYTES_MAX;
    let mut chain = Chain::in_memory(ChainParams::dev()).unwrap();
    let writes = BLOCK_SIZE_BYTES_MAX / VALUE_SIZE_BYTES_MAX + 4;
    let quota = u64::try_from((writes + 1) * (VALUE_SIZE_BYTES_MAX + 64)).unwrap();
    chain
        .submit_transaction(buy(&chain, "alice", "big", quota))
        .unwrap();
    let at = |height: u64| chain_params_time(height);
    chain
        .produce_block(key("miner").account(), at(1), false, u64::MAX)
        .unwrap()
        .unwrap();
    for i in 0..writes {
        let value = vec![u8::try_from(i % 251).unwrap(); VALUE_SIZE_BYTES_MAX];
        let t = put(&chain, "alice", &format!("big/{i}"), &value);
        chain.submit_transaction(t).unwrap();
    }
    let mut mined = 0;
    let mut blocks = 0;
    while chain.mempool_len() > 0 {
        blocks += 1;
        assert!(blocks <= 3, "the writes should take two blocks");
        let block = chain
            .produce_block(key("miner").account(), at(1 + blocks), false, u64::MAX)
            .unwrap()
            .expect("a block");
        assert!(block.to_bytes().len() <= BLOCK_SIZE_BYTES_MAX);
        assert!(!block.transactions.is_empty());
        mined += block.transactions.len();
    }
    assert_eq!(mined, writes);
    assert_eq!(blocks, 2);
}

fn chain_params_time(step: u64) -> u64 {
    ChainParams::dev().genesis_time_ms + step * 1_000
}
