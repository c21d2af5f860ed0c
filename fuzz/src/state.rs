//! The state-transition driver: runs a program of [`Op`]s — signed transactions of every kind
//! from a few funded keys, dev sealing and merged mining of every chain, root reorgs and
//! restarts — against a [`Blocktree`] on an in-memory store that starts from a small market
//! (keyspaces on the root and two levels down, staked offerer and relayers, a transformation
//! and inputs on the root and a data chain). After every operation that adds root blocks it
//! checks that money is conserved: balances of every account the run named, stakes and
//! unbonding, every endowment pool, bounties' escrow and what disputes burnt equal the genesis
//! allocations plus the subsidies minted. A replica that imports every block the run made (or
//! imported) must accept each and reach the same tips; a block of the history with a byte
//! changed must be judged alike by the tree and the replica; a restart must resume at the same
//! tips; no operation may panic or report a storage fault.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Arc, OnceLock, RwLock};

use bitverse_blocktree::store::{Column, Entry, KvStore, WriteBatch, WriteOp};
use bitverse_blocktree::{
    Block, Blocktree, Bounty, ChainError, ChainParams, DeepValue, StoreError, Tracking,
    Transaction, TxPayload, UnsignedTx, chain_of_keyspace,
};
use bitverse_pricing::TaskKind;
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey, codec};
use bitverse_relay_lineup::{Envelope, LineupProof};

use crate::ops::Op;

/// A transformation that outputs its first input, then its arguments.
const ECHO_WAT: &str = r#"(module
  (import "bitverse_transform_v1" "input_len" (func $input_len (param i32) (result i32)))
  (import "bitverse_transform_v1" "input_read" (func $input_read (param i32 i32 i32 i32)))
  (import "bitverse_transform_v1" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "transform") (result i32)
    (call $input_read (i32.const 0) (i32.const 0) (i32.const 0) (call $input_len (i32.const 0)))
    (call $output_write (i32.const 0) (call $input_len (i32.const 0)))
    (i32.const 0)))"#;
/// A transformation that loops until its fuel runs out.
const LOOP_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "transform") (result i32) (loop $forever (br $forever)) (i32.const 0)))"#;
const ACCEPT_WAT: &str = r#"(module (memory (export "memory") 1) (func (export "validate") (result i32) (i32.const 0)))"#;
const REFUSE_WAT: &str = r#"(module (memory (export "memory") 1) (func (export "validate") (result i32) (i32.const 7)))"#;
const SPIN_WAT: &str = r#"(module (memory (export "memory") 1)
  (func (export "validate") (result i32) (loop $forever (br $forever)) (i32.const 0)))"#;
const OWNER_ONLY_WAT: &str = include_str!("../../sandbox-scripts/owner-only.wat");

/// The keyspaces a run buys and writes in (sub-keyspaces included).
const NAMES: [&str; 8] = [
    "filters", "photos", "deep", "mid", "a", "a/sub", "b", "deep/sub",
];
/// The keys a run writes: two under each keyspace.
const KEYS_PER_NAME: usize = 2;
/// The inputs a bounty may name, by bit of `Op::Post::inputs`.
const INPUTS: [&str; 5] = ["photos/1", "deep/photo", "mid/x", "a/k0", "deep/k1"];
/// Most fuel a bounty of a run may budget: disputes re-execute it, and a run must stay fast.
const FUEL_BUDGET_MAX: u64 = 4_000_000;
/// The preamble's and every operation's spacing of block times.
const BLOCK_SPACING_MS: u64 = 1_000;

/// The keys that sign: the four dev accounts and erin, funded by alice in the preamble.
fn keys() -> &'static [SecretKey] {
    static KEYS: OnceLock<Vec<SecretKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys: Vec<SecretKey> = ["alice", "bob", "carol", "dave"]
            .iter()
            .map(|n| SecretKey::dev(n))
            .collect();
        keys.push(SecretKey::from_seed(b"erin"));
        keys
    })
}

fn key(index: u8) -> &'static SecretKey {
    let keys = keys();
    &keys[usize::from(index) % keys.len()]
}

fn key_name(index: u8) -> String {
    let name = NAMES[usize::from(index) % NAMES.len()];
    format!("{name}/k{}", usize::from(index / 8) % KEYS_PER_NAME)
}

/// The network a run is on: dev (difficulty 1, no relay-parent depth), with a subsidy and
/// pools that release quickly, so that both show in the sums.
pub fn params() -> ChainParams {
    let mut params = ChainParams::dev();
    params.block_subsidy = Amount(1_000);
    params.endowment_release_shift = 4;
    params
}

/// Each column's ordered map.
type Columns = BTreeMap<Column, BTreeMap<Vec<u8>, Vec<u8>>>;

/// A store whose contents can be forked: the preamble is built once and every run starts
/// from a copy of it.
#[derive(Default)]
pub struct ForkableStore {
    columns: RwLock<Columns>,
}

impl ForkableStore {
    /// A store holding what this one holds now.
    pub fn fork(&self) -> ForkableStore {
        let columns = self
            .columns
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        ForkableStore {
            columns: RwLock::new(columns),
        }
    }
}

impl KvStore for ForkableStore {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let columns = self.columns.read().unwrap_or_else(|e| e.into_inner());
        Ok(columns.get(&column).and_then(|c| c.get(key).cloned()))
    }

    fn get_at_or_before(&self, column: Column, key: &[u8]) -> Result<Option<Entry>, StoreError> {
        let columns = self.columns.read().unwrap_or_else(|e| e.into_inner());
        Ok(columns.get(&column).and_then(|c| {
            c.range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
                .next_back()
                .map(|(k, v)| (k.clone(), v.clone()))
        }))
    }

    fn scan(&self, column: Column, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let columns = self.columns.read().unwrap_or_else(|e| e.into_inner());
        Ok(columns
            .get(&column)
            .map(|c| {
                c.range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut columns = self.columns.write().unwrap_or_else(|e| e.into_inner());
        for op in batch.ops() {
            match op {
                WriteOp::Put(column, key, value) => {
                    columns
                        .entry(*column)
                        .or_default()
                        .insert(key.clone(), value.clone());
                }
                WriteOp::Delete(column, key) => {
                    columns.entry(*column).or_default().remove(key);
                }
                WriteOp::DeleteRange(column, from, to) => {
                    let c = columns.entry(*column).or_default();
                    let doomed: Vec<Vec<u8>> = c
                        .range::<Vec<u8>, _>(from..to)
                        .map(|(k, _)| k.clone())
                        .collect();
                    for key in doomed {
                        c.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The preamble, built once: its store, the blocks it made (oldest first) and its last block
/// time.
struct Preamble {
    store: ForkableStore,
    time_ms: u64,
}

fn preamble() -> &'static Preamble {
    static PREAMBLE: OnceLock<Preamble> = OnceLock::new();
    PREAMBLE.get_or_init(|| {
        let store = Arc::new(ForkableStore::default());
        let tree = open(store.clone());
        let mut run = Run::new(tree, store.clone(), params().genesis_time_ms);
        let alice = 0;
        let price = params().root.storage_price_per_byte.0;
        for (name, depth) in [
            ("filters", 0),
            ("photos", 0),
            ("deep", 2),
            ("mid", 1),
            ("a", 0),
        ] {
            run.must(alice, ChainId::ROOT, buy(name, depth, price, None));
        }
        run.must(
            alice,
            ChainId::ROOT,
            TxPayload::Transfer {
                to: key(4).account(),
                amount: Amount(10_000_000_000),
            },
        );
        run.must(1, ChainId::ROOT, stake(TaskKind::Offer, 1_000_000));
        run.must(2, ChainId::ROOT, stake(TaskKind::Relay, 400_000));
        run.must(3, ChainId::ROOT, stake(TaskKind::Relay, 300_000));
        run.seal(3, 0);
        run.must(4, ChainId::ROOT, stake(TaskKind::Relay, 200_000));
        let module = |wat: &str| wat::parse_str(wat).unwrap_or_default();
        for (key, value) in [
            ("filters/echo", module(ECHO_WAT)),
            ("filters/loop", module(LOOP_WAT)),
            ("photos/1", b"a photo".to_vec()),
            ("deep/photo", b"a photo two levels down".to_vec()),
            ("mid/x", b"one level down".to_vec()),
            ("a/k0", b"on the root".to_vec()),
        ] {
            let chain = run.chain_of(key);
            run.must(
                alice,
                chain,
                TxPayload::Put {
                    key: key.into(),
                    value,
                },
            );
        }
        for _ in 0..4 {
            run.seal(3, 0);
        }
        run.check();
        Preamble {
            store: store.fork(),
            time_ms: run.time_ms,
        }
    })
}

fn open(store: Arc<ForkableStore>) -> Blocktree {
    match Blocktree::in_store(store, params(), Tracking::All) {
        Ok(tree) => tree,
        Err(e) => panic!("the tree does not open from its store: {e}"),
    }
}

fn buy(name: &str, depth: u8, price: u128, script: Option<Vec<u8>>) -> TxPayload {
    TxPayload::BuyKeyspace {
        name: name.into(),
        owner: keys()[0].account(),
        quota_bytes: 4096,
        prepaid: Amount(price.saturating_mul(4096)),
        script,
        depth,
    }
}

fn stake(role: TaskKind, amount: u128) -> TxPayload {
    TxPayload::Stake {
        amount: Amount(amount),
        role,
    }
}

fn role(relay: bool) -> TaskKind {
    if relay {
        TaskKind::Relay
    } else {
        TaskKind::Offer
    }
}

/// The validation script `choice` picks: none, accept-all, refuse-all, owner-only, one that
/// never ends, or bytes that are no module.
fn script(choice: u8) -> Option<Vec<u8>> {
    let wat = match choice % 6 {
        0 => return None,
        1 => ACCEPT_WAT,
        2 => REFUSE_WAT,
        3 => OWNER_ONLY_WAT,
        4 => SPIN_WAT,
        _ => return Some(vec![0, b'a', b's', b'm', choice]),
    };
    wat::parse_str(wat).ok()
}

/// Every account a payload can move money to, so the conservation sum counts them.
fn accounts_named(payload: &TxPayload) -> Vec<AccountId> {
    match payload {
        TxPayload::Transfer { to, .. } => vec![*to],
        TxPayload::BuyKeyspace { owner, .. } => vec![*owner],
        TxPayload::SetScript { .. }
        | TxPayload::Put { .. }
        | TxPayload::Delete { .. }
        | TxPayload::Stake { .. }
        | TxPayload::Unstake { .. }
        | TxPayload::DeclareCapacity { .. }
        | TxPayload::RegisterBlob { .. }
        | TxPayload::ConfirmShards { .. }
        | TxPayload::ProveShards { .. }
        | TxPayload::PostChallenge { .. }
        | TxPayload::ClaimChallenge { .. } => Vec::new(),
        TxPayload::ClaimMinerReward { proof } => vec![proof.miner],
        TxPayload::PostBounty { offerer, .. } => vec![*offerer],
        TxPayload::LineupProof { proof } => vec![proof.finder],
        TxPayload::Settle { chain, .. } => chain.iter().map(|e| e.signer).collect(),
        TxPayload::Dispute { first, second, .. } => vec![first.signer, second.signer],
    }
}

/// The chain a keyspace bought by `payload` lives on, whose pool it pays into.
fn pool_of(payload: &TxPayload) -> Option<ChainId> {
    match payload {
        TxPayload::BuyKeyspace { name, depth, .. } => chain_of_keyspace(name, *depth),
        _ => None,
    }
}

/// Panics on what no input may cause: a storage fault.
fn no_store_fault<T>(result: Result<T, ChainError>, what: &str) -> Result<T, ChainError> {
    if let Err(ChainError::Store(e)) = &result {
        panic!("{what}: storage fault {e}");
    }
    result
}

/// The honest result of a bounty: its transformation run over its pinned values.
fn honest_result(tree: &Blocktree, bounty: &Bounty) -> Option<(Hash, u64)> {
    thread_local! {
        static RUNNER: Option<bitverse_compute::TransformRunner> =
            bitverse_compute::TransformRunner::new().ok();
    }
    let (module, inputs) = tree.root().lock().bounty_values(bounty).ok()?;
    RUNNER.with(|runner| {
        let outcome = runner
            .as_ref()?
            .run(
                &module,
                bitverse_compute::TransformRequest {
                    inputs,
                    args: bounty.args.clone(),
                    fuel_max: bounty.fuel_budget,
                },
            )
            .ok()?;
        let output = outcome.result.ok()?;
        Some((Hash::digest(&output), outcome.fuel_used))
    })
}

/// One run: the tree, its replica, and what the checks need to know.
struct Run {
    tree: Blocktree,
    store: Arc<ForkableStore>,
    replica: Option<Blocktree>,
    /// Every block made or imported, in order: what the replica imported, and what a rival
    /// branch replays up to its fork.
    history: Vec<Block>,
    known: BTreeSet<AccountId>,
    pools: BTreeSet<ChainId>,
    bounties: Vec<Hash>,
    time_ms: u64,
}

impl Run {
    fn new(tree: Blocktree, store: Arc<ForkableStore>, time_ms: u64) -> Run {
        let mut known: BTreeSet<AccountId> = params()
            .genesis_allocations
            .iter()
            .map(|(a, _)| *a)
            .collect();
        known.extend(keys().iter().map(SecretKey::account));
        let mut pools: BTreeSet<ChainId> = [ChainId::ROOT].into();
        pools.extend(tree.data_chains());
        Run {
            tree,
            store,
            replica: None,
            history: Vec::new(),
            known,
            pools,
            bounties: Vec::new(),
            time_ms,
        }
    }

    fn chain_of(&self, key: &str) -> ChainId {
        self.tree.chain_of_key(key).unwrap_or(ChainId::ROOT)
    }

    /// Signs `payload` by key `who` for `chain` with its next nonce there and submits it.
    fn submit(&mut self, who: u8, chain: ChainId, payload: TxPayload) -> Result<Hash, ChainError> {
        let signer = key(who);
        self.known.extend(accounts_named(&payload));
        self.pools.extend(pool_of(&payload));
        let nonce = self
            .tree
            .chain(chain)
            .map_or(Ok(0), |c| c.lock().pending_nonce(&signer.account()));
        let nonce = no_store_fault(nonce, "pending nonce")?;
        let tx: Transaction = UnsignedTx {
            chain,
            sender: signer.account(),
            nonce,
            fee: if chain.is_root() {
                Amount(1)
            } else {
                Amount::ZERO
            },
            payload,
        }
        .sign(signer);
        let result = no_store_fault(self.tree.submit(tx), "submit");
        if tracing() {
            eprintln!(
                "  submit on {chain}: {:?}",
                result.as_ref().map_err(|e| e.to_string())
            );
        }
        result
    }

    /// [`Run::submit`], for the preamble, which must go through.
    fn must(&mut self, who: u8, chain: ChainId, payload: TxPayload) {
        if let Err(e) = self.submit(who, chain, payload) {
            panic!("the preamble's transaction was refused: {e}");
        }
    }

    fn next_time(&mut self, ms: u16) -> u64 {
        self.time_ms = self
            .time_ms
            .saturating_add(BLOCK_SPACING_MS)
            .saturating_add(u64::from(ms % 5_000));
        self.time_ms
    }

    /// Blocks made by the run: the replica imports each, and the sums are checked.
    fn made(&mut self, blocks: Vec<Block>) {
        for block in blocks {
            if tracing() {
                eprintln!(
                    "  block {} of chain {} with {} transactions, {} anchors",
                    block.header.height,
                    block.header.chain,
                    block.transactions.len(),
                    block.header.anchors.len()
                );
            }
            if let Some(replica) = &self.replica {
                let hash = block.hash();
                let chain = block.header.chain;
                if let Err(e) = replica.import(block.clone(), self.time_ms) {
                    panic!("the replica refused block {hash} of chain {chain} the run made: {e}");
                }
            }
            self.history.push(block);
        }
        self.pools.extend(self.tree.data_chains());
        self.check();
    }

    fn seal(&mut self, miner: u8, ms: u16) {
        let now = self.next_time(ms);
        match self.tree.seal_dev(key(miner).account(), now) {
            Ok(blocks) => self.made(blocks),
            Err(e) => panic!("dev sealing failed: {e}"),
        }
    }

    fn mine(&mut self, miner: u8, ms: u16) {
        let now = self.next_time(ms);
        match self.tree.mine_round(key(miner).account(), now, 1 << 12) {
            Ok(blocks) => self.made(blocks),
            Err(e) => panic!("a mining round failed: {e}"),
        }
    }

    /// Money is conserved at the root's tip.
    fn check(&self) {
        let params = params();
        let root = self.tree.root().lock();
        let height = root.tip().height;
        let mut supply: u128 = 0;
        let add = |supply: &mut u128, amount: Amount, what: &dyn Fn() -> String| {
            *supply = match supply.checked_add(amount.0) {
                Some(sum) => sum,
                None => panic!("the supply overflows at {}", what()),
            };
        };
        for account in &self.known {
            let state = no_store_fault(root.account(account), "account")
                .unwrap_or_else(|e| panic!("account {account}: {e}"));
            add(&mut supply, state.balance, &|| {
                format!("{account}'s balance")
            });
            let stake = no_store_fault(root.stake_at(account, height), "stake")
                .unwrap_or_else(|e| panic!("stake of {account}: {e}"));
            let escrow = stake
                .escrow_total()
                .unwrap_or_else(|| panic!("{account}'s stake overflows"));
            add(&mut supply, escrow, &|| format!("{account}'s stake"));
        }
        for chain in &self.pools {
            let pool = no_store_fault(root.endowment_pool(chain), "pool")
                .unwrap_or_else(|e| panic!("pool of {chain}: {e}"));
            add(&mut supply, pool.held(), &|| {
                format!("chain {chain}'s pool")
            });
        }
        let totals = no_store_fault(root.bounty_totals_at(height), "bounty totals")
            .unwrap_or_else(|e| panic!("bounty totals: {e}"));
        add(&mut supply, totals.escrowed, &|| "escrow".into());
        add(&mut supply, totals.burnt, &|| "burnt".into());
        let audits = no_store_fault(root.audit_totals_at(height), "audit totals")
            .unwrap_or_else(|e| panic!("audit totals: {e}"));
        add(&mut supply, audits.slashed, &|| "audits' burnt".into());
        let blobs = no_store_fault(root.blob_totals_at(height), "blob totals")
            .unwrap_or_else(|e| panic!("blob totals: {e}"));
        add(&mut supply, blobs.escrowed, &|| "blob escrow".into());
        let challenges = no_store_fault(root.challenge_totals_at(height), "challenge totals")
            .unwrap_or_else(|e| panic!("challenge totals: {e}"));
        add(&mut supply, challenges.escrowed, &|| {
            "challenge escrow".into()
        });
        let genesis: u128 = params.genesis_allocations.iter().map(|(_, a)| a.0).sum();
        let minted = params.block_subsidy.0.saturating_mul(u128::from(height));
        assert_eq!(
            supply,
            genesis + minted,
            "money not conserved at root height {height}"
        );
    }

    fn tips(tree: &Blocktree) -> Vec<(ChainId, Hash)> {
        let mut tips = vec![(ChainId::ROOT, tree.root().lock().tip().hash)];
        for chain in tree.data_chains() {
            if let Some(c) = tree.chain(chain) {
                tips.push((chain, c.lock().tip().hash));
            }
        }
        tips
    }

    fn bounty(&self, index: u8) -> Option<Bounty> {
        if self.bounties.is_empty() {
            return None;
        }
        let id = self.bounties[usize::from(index) % self.bounties.len()];
        let root = self.tree.root().lock();
        let height = root.tip().height;
        no_store_fault(root.bounty_at(&id, height), "bounty")
            .ok()
            .flatten()
    }

    fn key_of(account: &AccountId) -> Option<&'static SecretKey> {
        keys().iter().find(|k| k.account() == *account)
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Transfer { from, to, amount } => {
                let to = if to < 200 {
                    key(to).account()
                } else {
                    AccountId([to; 32])
                };
                let _ = self.submit(
                    from,
                    ChainId::ROOT,
                    TxPayload::Transfer {
                        to,
                        amount: Amount(u128::from(amount)),
                    },
                );
            }
            Op::Buy {
                from,
                name,
                depth,
                quota,
                prepaid,
                script: choice,
            } => {
                let payload = TxPayload::BuyKeyspace {
                    name: NAMES[usize::from(name) % NAMES.len()].into(),
                    owner: key(from).account(),
                    quota_bytes: u64::from(quota),
                    prepaid: Amount(u128::from(prepaid)),
                    script: script(choice),
                    depth: depth % 4,
                };
                let _ = self.submit(from, ChainId::ROOT, payload);
            }
            Op::SetScript {
                from,
                name,
                script: choice,
            } => {
                let payload = TxPayload::SetScript {
                    keyspace: NAMES[usize::from(name) % NAMES.len()].into(),
                    script: script(choice),
                };
                let _ = self.submit(from, ChainId::ROOT, payload);
            }
            Op::Put {
                from,
                key: k,
                len,
                fill,
            } => {
                let name = key_name(k);
                let chain = self.chain_of(&name);
                let payload = TxPayload::Put {
                    key: name,
                    value: vec![fill; usize::from(len)],
                };
                let _ = self.submit(from, chain, payload);
            }
            Op::Delete { from, key: k } => {
                let name = key_name(k);
                let chain = self.chain_of(&name);
                let _ = self.submit(from, chain, TxPayload::Delete { key: name });
            }
            Op::Stake {
                from,
                relay,
                amount,
            } => {
                let _ = self.submit(from, ChainId::ROOT, stake(role(relay), u128::from(amount)));
            }
            Op::Unstake {
                from,
                relay,
                amount,
            } => {
                let payload = TxPayload::Unstake {
                    amount: Amount(u128::from(amount)),
                    role: role(relay),
                };
                let _ = self.submit(from, ChainId::ROOT, payload);
            }
            Op::Post {
                from,
                offerer,
                amount,
                hops,
                expiry,
                pin_back,
                transform,
                inputs,
                fuel,
                tamper,
            } => self.post(
                from, offerer, amount, hops, expiry, pin_back, transform, inputs, fuel, tamper,
            ),
            Op::Lineup { finder, bounty } => {
                let Some(found) = self.bounty(bounty) else {
                    return;
                };
                let difficulty = params().lineup_difficulty;
                if let Some(proof) =
                    LineupProof::find(found.id, key(finder).account(), difficulty, 0, 64)
                {
                    let _ = self.submit(finder, ChainId::ROOT, TxPayload::LineupProof { proof });
                }
            }
            Op::Settle { from, bounty, how } => {
                let Some(found) = self.bounty(bounty) else {
                    return;
                };
                let (chain, result_hash) = self.envelopes(&found, how);
                let payload = TxPayload::Settle {
                    bounty: found.id,
                    result_hash,
                    chain,
                };
                let _ = self.submit(from, ChainId::ROOT, payload);
            }
            Op::Dispute { from, bounty, how } => {
                let Some(found) = self.bounty(bounty) else {
                    return;
                };
                let (honest, truth) = self.envelopes(&found, 0);
                let (lying, lie) = self.envelopes(&found, 2);
                let pick = |chain: &[Envelope], i: usize| chain.get(i).copied();
                // The second envelope's result hash is revealed with the evidence.
                let (first, second, revealed) = match how % 4 {
                    // The offerer's lie against the first relayer's honest result.
                    0 => (pick(&lying, 0), pick(&honest, 1), truth),
                    // The offerer's honest result against its own lie: equivocation.
                    1 => (pick(&honest, 0), pick(&lying, 0), lie),
                    // Two honest envelopes: no conflict.
                    2 => (pick(&honest, 0), pick(&honest, 1), truth),
                    _ => (pick(&lying, 1), pick(&honest, 0), truth),
                };
                let (Some(first), Some(second)) = (first, second) else {
                    return;
                };
                let payload = TxPayload::Dispute {
                    bounty: found.id,
                    first: Box::new(first),
                    second: Box::new(second),
                    result_hash: revealed,
                };
                let _ = self.submit(from, ChainId::ROOT, payload);
            }
            Op::Claim {
                from,
                chain,
                miner,
                tamper,
            } => {
                let chains = self.tree.data_chains();
                if chains.is_empty() {
                    return;
                }
                let chain = chains[usize::from(chain) % chains.len()];
                let Ok(mut proof) = self.tree.earnings_proof(chain, key(miner).account()) else {
                    return;
                };
                if tamper != 0 {
                    let mut bytes = proof.to_bytes();
                    let at = usize::from(tamper) % bytes.len().max(1);
                    if let Some(byte) = bytes.get_mut(at) {
                        *byte ^= (tamper >> 8) as u8 | 1;
                    }
                    match bitverse_blocktree::EarningsProof::from_bytes(&bytes) {
                        Ok(damaged) => proof = damaged,
                        Err(_) => return,
                    }
                }
                let payload = TxPayload::ClaimMinerReward {
                    proof: Box::new(proof),
                };
                let _ = self.submit(from, ChainId::ROOT, payload);
            }
            Op::Seal { miner, ms } => self.seal(miner, ms),
            Op::Mine { miner, ms } => self.mine(miner, ms),
            Op::Raw { from, chain, bytes } => {
                let Ok(payload) = codec::decode::<TxPayload>(&bytes) else {
                    return;
                };
                let chains = self.tree.data_chains();
                let chain = match usize::from(chain) % (chains.len() + 1) {
                    0 => ChainId::ROOT,
                    i => chains[i - 1],
                };
                let _ = self.submit(from, chain, payload);
            }
            Op::Reorg { depth, miner } => self.reorg(depth, miner),
            Op::Tamper { block, at, xor } => self.tamper(block, at, xor),
            Op::Restart => {
                let before = Run::tips(&self.tree);
                let tree = open(self.store.clone());
                self.tree = tree;
                assert_eq!(Run::tips(&self.tree), before, "a restart moved a tip");
                self.check();
            }
        }
    }

    /// A block of the history, one byte of its encoding changed, offered to the tree and the
    /// replica (which hold the same blocks): both must judge it alike, and an accepted one
    /// must leave money conserved.
    fn tamper(&mut self, block: u8, at: u16, xor: u8) {
        if self.history.is_empty() || xor == 0 {
            return;
        }
        let original = &self.history[usize::from(block) % self.history.len()];
        let mut bytes = original.to_bytes();
        let at = usize::from(at) % bytes.len();
        bytes[at] ^= xor;
        let Ok(tampered) = Block::from_bytes(&bytes) else {
            return;
        };
        let now = self.time_ms.saturating_add(BLOCK_SPACING_MS);
        let verdict = no_store_fault(self.tree.import(tampered.clone(), now), "tampered import");
        if tracing() {
            eprintln!(
                "  tampered block: {:?}",
                verdict.as_ref().map_err(|e| e.to_string())
            );
        }
        if let Some(replica) = &self.replica {
            let again = no_store_fault(replica.import(tampered.clone(), now), "replica");
            assert_eq!(
                verdict.is_ok(),
                again.is_ok(),
                "the tree and its replica judge a tampered block differently: {:?} / {:?}",
                verdict.as_ref().err().map(ToString::to_string),
                again.as_ref().err().map(ToString::to_string)
            );
        }
        if verdict.is_ok() {
            self.history.push(tampered);
            self.check();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn post(
        &mut self,
        from: u8,
        offerer: u8,
        amount: u64,
        hops: u8,
        expiry: u8,
        pin_back: u8,
        transform: u8,
        inputs: u8,
        fuel: u32,
        tamper: u16,
    ) {
        let tip = self.tree.root().lock().tip().height;
        let mut keys = Vec::new();
        let mut deep_values = Vec::new();
        for (bit, input) in INPUTS.iter().enumerate() {
            if inputs & (1 << bit) == 0 {
                continue;
            }
            keys.push(input.to_string());
            if self.chain_of(input).is_root() {
                continue;
            }
            let Some(mut deep) = self
                .tree
                .value_proof(input)
                .ok()
                .and_then(DeepValue::from_value_proof)
            else {
                continue;
            };
            if tamper & (1 << bit) != 0 {
                let mut bytes = codec::encode(&deep);
                let at = usize::from(tamper >> 5) % bytes.len().max(1);
                if let Some(byte) = bytes.get_mut(at) {
                    *byte ^= 0x40;
                }
                match codec::decode::<DeepValue>(&bytes) {
                    Ok(damaged) => deep = damaged,
                    Err(_) => continue,
                }
            }
            deep_values.push(deep);
        }
        let payload = TxPayload::PostBounty {
            amount: Amount(u128::from(amount)),
            transform: if transform % 4 == 3 {
                "filters/loop".into()
            } else {
                "filters/echo".into()
            },
            inputs: keys,
            pinned_height: tip.saturating_sub(u64::from(pin_back % 4)),
            args: vec![transform; usize::from(transform % 3)],
            hops: hops % 4,
            offerer: key(offerer).account(),
            fuel_budget: u64::from(fuel) % FUEL_BUDGET_MAX,
            expiry_height: tip + 1 + u64::from(expiry % 32),
            deep_values,
            acceptance: None,
        };
        if let Ok(id) = self.submit(from, ChainId::ROOT, payload) {
            self.bounties.push(id);
        }
    }

    /// An envelope chain for `bounty` as its participants would sign it: honest (the
    /// transformation's real result), cut short, a lie from the offerer on, or in the wrong
    /// order, as `how` says.
    /// An envelope chain of `bounty` and the result hash its envelopes commit to: honest
    /// (`how % 4` 0), one short (1), every signer signing a lie (2), reversed (3).
    fn envelopes(&self, bounty: &Bounty, how: u8) -> (Vec<Envelope>, Hash) {
        let (result, fuel) = honest_result(&self.tree, bounty)
            .unwrap_or((Hash::digest(b"no result"), bounty.fuel_budget));
        let result = if how % 4 == 2 {
            Hash::digest(b"a lie")
        } else {
            result
        };
        let Some(offerer) = Run::key_of(&bounty.offerer) else {
            return (Vec::new(), result);
        };
        let mut chain = vec![Envelope::offer(offerer, bounty.id, result, fuel)];
        let relayers = bounty
            .lineup
            .as_ref()
            .map(|l| l.relayers.clone())
            .unwrap_or_default();
        for relayer in relayers {
            let (Some(signer), Some(previous)) = (Run::key_of(&relayer), chain.last().copied())
            else {
                break;
            };
            chain.push(Envelope::relay(signer, &previous, result, fuel));
        }
        match how % 4 {
            1 => {
                chain.pop();
            }
            3 => chain.reverse(),
            _ => {}
        }
        (chain, result)
    }

    /// A rival replays the run's history up to a root block `depth % 3 + 1` below the tip,
    /// then mines one more empty root block than that on top; the run and its replica import
    /// them: a root reorg, with the data chains settling under it.
    fn reorg(&mut self, depth: u8, miner: u8) {
        let tip = self.tree.root().lock().tip().height;
        let fork = tip.saturating_sub(u64::from(depth % 3) + 1);
        let base = preamble_height();
        if fork < base || fork >= tip {
            return;
        }
        let rival_store = Arc::new(preamble().store.fork());
        let rival = open(rival_store);
        for block in &self.history {
            if block.header.chain.is_root() && block.header.height > fork {
                break;
            }
            // Blocks of a branch the run abandoned since may not fit: the rival keeps to
            // what it can import.
            let _ = no_store_fault(rival.import(block.clone(), u64::MAX / 2), "rival import");
        }
        let count = tip - fork + 1;
        let mut time_ms = rival.root().lock().tip().time_ms;
        let mut branch = Vec::new();
        for _ in 0..count {
            time_ms = time_ms.saturating_add(BLOCK_SPACING_MS + 7);
            let produced =
                rival
                    .root()
                    .lock()
                    .produce_block(key(miner).account(), time_ms, true, u64::MAX);
            match produced {
                Ok(Some(block)) => branch.push(block),
                Ok(None) => return,
                Err(e) => panic!("the rival could not mine: {e}"),
            }
        }
        self.time_ms = self.time_ms.max(time_ms);
        if tracing() {
            eprintln!("  a rival branch of {count} root blocks from height {fork}");
        }
        for block in branch {
            match no_store_fault(
                self.tree.import(block.clone(), u64::MAX / 2),
                "reorg import",
            ) {
                Ok(_) | Err(ChainError::Block(bitverse_blocktree::BlockError::AlreadyKnown(_))) => {
                }
                Err(e) => panic!("the run refused the rival's root block: {e}"),
            }
            if let Some(replica) = &self.replica {
                match no_store_fault(replica.import(block.clone(), u64::MAX / 2), "replica") {
                    Ok(_)
                    | Err(ChainError::Block(bitverse_blocktree::BlockError::AlreadyKnown(_))) => {}
                    Err(e) => panic!("the replica refused the rival's root block: {e}"),
                }
            }
            self.history.push(block);
        }
        self.check();
    }
}

/// Whether to print each operation and its outcome (`BITVERSE_FUZZ_TRACE=1`), to read what an
/// input does: `BITVERSE_FUZZ_TRACE=1 scripts/fuzz replay state_transition FILE`.
fn tracing() -> bool {
    static TRACING: OnceLock<bool> = OnceLock::new();
    *TRACING.get_or_init(|| std::env::var_os("BITVERSE_FUZZ_TRACE").is_some())
}

fn preamble_height() -> u64 {
    static HEIGHT: OnceLock<u64> = OnceLock::new();
    *HEIGHT.get_or_init(|| {
        open(Arc::new(preamble().store.fork()))
            .root()
            .lock()
            .tip()
            .height
    })
}

/// Runs the program `data` encodes (see [`crate::ops`]) from the preamble's state.
pub fn run(data: &[u8]) {
    let ops = crate::ops::decode(data);
    let preamble = preamble();
    let store = Arc::new(preamble.store.fork());
    let tree = open(store.clone());
    let mut run = Run::new(tree, store, preamble.time_ms);
    run.replica = Some(open(Arc::new(preamble.store.fork())));
    for op in ops {
        if tracing() {
            eprintln!("{op:?}");
        }
        run.apply(op);
    }
    if let Some(replica) = &run.replica {
        assert_eq!(
            Run::tips(replica),
            Run::tips(&run.tree),
            "the replica's tips differ from the run's"
        );
    }
}

/// Real values of every kind the decoder targets read, made by a run of [`seed_programs`]'s
/// market program: the seed corpora are their encodings.
pub struct Samples {
    /// Every block the run made, oldest first.
    pub blocks: Vec<Block>,
    /// Value proofs of a root key, a key one and two levels down, and an absent key.
    pub value_proofs: Vec<bitverse_blocktree::ValueProof>,
    /// Earnings proofs of the miner on each data chain.
    pub earnings_proofs: Vec<bitverse_blocktree::EarningsProof>,
    /// Deep values of the data-chain inputs.
    pub deep_values: Vec<DeepValue>,
    /// Envelope chains of the bounties, honest and lying, each with the result hash its
    /// envelopes commit to.
    pub envelope_chains: Vec<(Vec<Envelope>, Hash)>,
}

/// Runs the market program and collects [`Samples`].
pub fn samples() -> Samples {
    let preamble = preamble();
    let store = Arc::new(preamble.store.fork());
    let tree = open(store.clone());
    let mut run = Run::new(tree, store, preamble.time_ms);
    for op in seed_programs().into_iter().next().unwrap_or_default() {
        run.apply(op);
    }
    let value_proofs = ["photos/1", "mid/x", "deep/photo", "photos/none"]
        .iter()
        .filter_map(|k| run.tree.value_proof(k).ok())
        .collect();
    let earnings_proofs = run
        .tree
        .data_chains()
        .into_iter()
        .filter_map(|c| run.tree.earnings_proof(c, key(3).account()).ok())
        .collect();
    let deep_values = ["mid/x", "deep/photo"]
        .iter()
        .filter_map(|k| {
            run.tree
                .value_proof(k)
                .ok()
                .and_then(DeepValue::from_value_proof)
        })
        .collect();
    let envelope_chains = (0..run.bounties.len())
        .filter_map(|i| run.bounty(u8::try_from(i).unwrap_or(0)))
        .flat_map(|b| [run.envelopes(&b, 0), run.envelopes(&b, 2)])
        .filter(|(c, _)| !c.is_empty())
        .collect();
    Samples {
        blocks: run.history,
        value_proofs,
        earnings_proofs,
        deep_values,
        envelope_chains,
    }
}

/// The state-transition target's seed programs, the first a market's whole life.
pub fn seed_programs() -> Vec<Vec<Op>> {
    let post = |offerer, hops, inputs, tamper| Op::Post {
        from: 0,
        offerer,
        amount: 50_000,
        hops,
        expiry: 12,
        pin_back: 0,
        transform: 0,
        inputs,
        fuel: 3_000_000,
        tamper,
    };
    let seal = Op::Seal { miner: 3, ms: 0 };
    let market = vec![
        post(1, 2, 0b111, 0),
        post(1, 0, 0b1, 0),
        seal.clone(),
        Op::Lineup {
            finder: 4,
            bounty: 0,
        },
        seal.clone(),
        Op::Settle {
            from: 2,
            bounty: 0,
            how: 0,
        },
        Op::Settle {
            from: 2,
            bounty: 1,
            how: 0,
        },
        seal.clone(),
        Op::Put {
            from: 0,
            key: 2,
            len: 9,
            fill: 7,
        },
        Op::Mine { miner: 2, ms: 10 },
        Op::Mine { miner: 3, ms: 10 },
        Op::Claim {
            from: 1,
            chain: 0,
            miner: 3,
            tamper: 0,
        },
        seal.clone(),
    ];
    let dispute = vec![
        post(1, 1, 0b1, 0),
        seal.clone(),
        Op::Lineup {
            finder: 0,
            bounty: 0,
        },
        seal.clone(),
        Op::Dispute {
            from: 3,
            bounty: 0,
            how: 0,
        },
        seal.clone(),
        Op::Unstake {
            from: 1,
            relay: false,
            amount: 10_000,
        },
        seal.clone(),
        seal.clone(),
        seal.clone(),
    ];
    let deep = vec![
        post(1, 0, 0b110, 0),
        post(1, 0, 0b110, 0x2a6),
        seal.clone(),
        Op::Transfer {
            from: 0,
            to: 4,
            amount: 1_000,
        },
        Op::Transfer {
            from: 0,
            to: 250,
            amount: 77,
        },
        Op::Stake {
            from: 4,
            relay: false,
            amount: 5_000,
        },
        seal.clone(),
    ];
    let scripts = vec![
        Op::Buy {
            from: 1,
            name: 6,
            depth: 1,
            quota: 512,
            prepaid: 1 << 20,
            script: 1,
        },
        Op::Buy {
            from: 2,
            name: 4,
            depth: 0,
            quota: 512,
            prepaid: 1 << 20,
            script: 3,
        },
        seal.clone(),
        Op::Put {
            from: 1,
            key: 6,
            len: 3,
            fill: 1,
        },
        Op::Put {
            from: 2,
            key: 4,
            len: 3,
            fill: 1,
        },
        Op::SetScript {
            from: 0,
            name: 4,
            script: 2,
        },
        Op::Buy {
            from: 0,
            name: 5,
            depth: 0,
            quota: 64,
            prepaid: 1 << 16,
            script: 4,
        },
        seal.clone(),
        Op::Delete { from: 0, key: 4 },
        seal.clone(),
    ];
    let forks = vec![
        Op::Put {
            from: 0,
            key: 3,
            len: 5,
            fill: 2,
        },
        seal.clone(),
        Op::Transfer {
            from: 1,
            to: 2,
            amount: 5,
        },
        seal.clone(),
        Op::Reorg { depth: 1, miner: 1 },
        Op::Restart,
        Op::Put {
            from: 0,
            key: 2,
            len: 5,
            fill: 3,
        },
        seal.clone(),
        Op::Reorg { depth: 2, miner: 4 },
        seal,
    ];
    let raw = vec![
        Op::Raw {
            from: 0,
            chain: 0,
            bytes: codec::encode(&TxPayload::Transfer {
                to: key(2).account(),
                amount: Amount(3),
            }),
        },
        Op::Raw {
            from: 0,
            chain: 1,
            bytes: codec::encode(&TxPayload::Put {
                key: "mid/raw".into(),
                value: vec![1, 2, 3],
            }),
        },
        Op::Mine { miner: 0, ms: 0 },
        Op::Tamper {
            block: 0,
            at: 40,
            xor: 1,
        },
        Op::Tamper {
            block: 1,
            at: 200,
            xor: 0x80,
        },
        Op::Seal { miner: 1, ms: 3 },
    ];
    vec![market, dispute, deep, scripts, forks, raw]
}
