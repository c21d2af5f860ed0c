//! A chain of the blocktree: importing blocks, fork choice by most work, reorgs that roll state
//! back through jmt versions, the mempool in front of it, and the queries a node answers.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use bincode::{Decode, Encode};
use bitverse_keyspace::home_candidates;
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, codec};
use jmt::storage::TreeUpdateBatch;
use jmt::{JellyfishMerkleTree, KeyHash};
use serde::Serialize;

use crate::anchoring::{ChildAnchor, anchor_headers_hash, apply_anchors};
use crate::block::{
    Anchor, BLOCK_SIZE_BYTES_MAX, BLOCK_TXS_MAX, Block, BlockHeader, HEADER_SIZE_BYTES_MAX,
    MergedWork, VEC_LENGTH_BYTES, pow_meets, tx_root, work_hash,
};
use crate::endowment::EndowmentPool;
use crate::error::{BlockError, ChainError, StoreError, TxError};
use crate::headers::{self, HeaderChainChecker, HeaderRules};
use crate::mempool::Mempool;
use crate::params::ChainParams;
use crate::proof::{KeyspaceProof, ValueProof, encode_proof};
use crate::scripts::{BlockContext, LazyScriptRunner, StorePayments};
use crate::state::{
    AccountState, ApplyError, Blake3Jmt, KeyspaceRecord, RootRead, StateView, StoreTreeReader,
    encode_value_version, keyspace_key, node_key_bytes, value_key, value_version_key,
    version_start,
};
use crate::store::{Column, KvStore, MemoryStore, PrefixedStore, RocksStore, WriteBatch};
use crate::tx::{Transaction, VerifiedTx};

/// Most branches one re-evaluation of a chain's tip tries to connect (each failure marks a
/// branch invalid or leaves it for later) before it keeps the tip it has.
pub const REEVALUATE_ATTEMPTS_MAX: usize = 8;

/// How many refused-at-block-building transactions the node remembers, so that a client
/// waiting on one learns why it was dropped.
pub const DROPPED_TXS_REMEMBERED_MAX: usize = 10_000;

const META_TIP: &[u8] = b"tip";
const META_GENESIS: &[u8] = b"genesis";

/// The best chain's tip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TipInfo {
    /// Height of the tip.
    pub height: u64,
    /// Hash of the tip.
    pub hash: Hash,
    /// State root after the tip.
    pub state_root: Hash,
    /// The tip's time.
    pub time_ms: u64,
    /// The tip's difficulty.
    pub difficulty: u64,
    /// Total work of the best chain.
    pub cumulative_work: u128,
}

/// A block a miner built and has not sealed yet (see [`Chain::candidate_with`]).
pub struct Candidate {
    /// The block, its nonce 0 and its merged place that of a block mined alone.
    pub block: Block,
    /// The state it leads to.
    update: StateUpdate,
}

impl Candidate {
    /// What its proof of work must commit to.
    pub fn seal_hash(&self) -> Hash {
        self.block.header.seal_hash()
    }

    /// The difficulty its proof of work must meet.
    pub fn difficulty(&self) -> u64 {
        self.block.header.difficulty
    }
}

/// Where a transaction stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Never seen, or forgotten.
    Unknown,
    /// In the mempool.
    Pending,
    /// In the best chain.
    Included {
        /// Height of the block.
        height: u64,
        /// Hash of the block.
        block: Hash,
        /// Position in the block.
        index: u32,
    },
    /// Refused when a block was built: it can never be included as it is.
    Dropped {
        /// Why.
        error: TxError,
    },
}

/// What importing a block did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The block extends the best chain, after rolling back `reorged_blocks` blocks.
    NewTip {
        /// Its height.
        height: u64,
        /// Blocks of the previous best chain that were rolled back.
        reorged_blocks: u64,
    },
    /// Stored on a side branch with less work than the best chain.
    SideChain,
}

/// Whether a stored block has been checked against state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
enum BlockStatus {
    /// Header and body checks passed; state not yet checked.
    HeaderValid,
    /// Connected to the best chain at least once: fully valid.
    Valid,
    /// Failed a check against state, or descends from a block that did.
    Invalid,
}

#[derive(Clone, Debug, Encode, Decode)]
struct BlockMeta {
    cumulative_work: u128,
    status: BlockStatus,
}

struct IndexEntry {
    header: BlockHeader,
    meta: BlockMeta,
}

/// Where an included transaction sits.
#[derive(Encode, Decode)]
struct TxLocation {
    block: Hash,
    height: u64,
    index: u32,
}

/// What connecting a block writes to state, computed once whether the block was built here or
/// received.
struct StateUpdate {
    root: Hash,
    tree: TreeUpdateBatch,
    changed: Vec<KeyHash>,
}

/// The root as a data chain sees it for one block: the root chain (locked by the caller for as
/// long as this lives) and the relay parent, a block of the root's best chain.
#[derive(Clone, Copy)]
struct Relay<'r> {
    root: &'r Chain,
    hash: Hash,
    height: u64,
}

impl<'r> Relay<'r> {
    fn read(&self) -> RootRead<'r> {
        RootRead {
            store: self.root.store.as_ref(),
            version: self.height,
        }
    }
}

/// One chain with its storage and mempool. Not thread-safe by itself: a node serialises access.
pub struct Chain {
    /// Shared with the payments ledger validation scripts read while a block is applied.
    store: Arc<dyn KvStore>,
    params: ChainParams,
    /// Shared by every chain of a blocktree: one engine and one pool of instances.
    scripts: Arc<LazyScriptRunner>,
    chain_id: ChainId,
    genesis: Hash,
    index: HashMap<Hash, IndexEntry>,
    /// The best chain's block hashes by height.
    best: Vec<Hash>,
    mempool: Mempool,
    dropped: HashMap<Hash, TxError>,
    dropped_order: VecDeque<Hash>,
    /// A block this node built, with its state update, so connecting it does not compute twice.
    prepared: Option<(Hash, StateUpdate)>,
    /// The header of this chain that its parent's best chain anchors last: the best tip must
    /// extend it (see [`Chain::settle`]). `None` for the root, or while nothing is anchored.
    anchor_floor: Option<Anchor>,
    /// The parent's [`Chain::best_changes`] when `anchor_floor` was read from it: a floor read
    /// earlier never overwrites one read later, whatever order two threads deliver them in.
    anchor_floor_seq: u64,
    /// How many blocks were connected to or rolled back from the best chain since the chain
    /// was opened: orders what children read of this chain's state. Never consensus.
    best_changes: u64,
}

/// The genesis block of a network's root chain: computable by anyone from the parameters
/// alone, which is what lets a light client check a header chain without trusting a node.
pub fn genesis_block(params: &ChainParams) -> Result<Block, ChainError> {
    genesis_block_of(params, ChainId::ROOT)
}

/// The genesis block of any chain of the blocktree, derived from the chain's id and the
/// network's root genesis (DESIGN §2: every chain exists implicitly).
pub fn genesis_block_of(params: &ChainParams, chain: ChainId) -> Result<Block, ChainError> {
    let store = MemoryStore::default();
    let (header, _) = genesis_state(&store, params, chain)?;
    Ok(Block {
        header,
        transactions: Vec::new(),
        anchor_headers: Vec::new(),
    })
}

/// The hash of [`genesis_block`].
pub fn genesis_hash_of(params: &ChainParams) -> Result<Hash, ChainError> {
    Ok(genesis_block(params)?.hash())
}

fn genesis_state(
    store: &dyn KvStore,
    params: &ChainParams,
    chain: ChainId,
) -> Result<(BlockHeader, StateUpdate), ChainError> {
    let depth = headers::depth_params(params, chain)?;
    let mut view = StateView::new(store, None);
    let (parent, relay_parent) = if chain.is_root() {
        for (account, amount) in &params.genesis_allocations {
            view.credit_now(account, *amount)
                .map_err(apply_to_chain_error)?;
        }
        let parent = Hash::tagged("bitverse genesis v1", &[&codec::encode(params)]);
        (parent, Hash::ZERO)
    } else {
        // A data chain starts empty; its genesis names the root's as its relay parent.
        let root_genesis = genesis_state(&MemoryStore::default(), params, ChainId::ROOT)?
            .0
            .hash();
        let parent = Hash::tagged(
            "bitverse chain genesis v1",
            &[&root_genesis.0, &chain.to_bytes()],
        );
        (parent, root_genesis)
    };
    let update = compute_state_update(store, view.into_changes(), 0)?;
    let header = BlockHeader {
        chain,
        parent,
        height: 0,
        time_ms: params.genesis_time_ms,
        difficulty: depth.difficulty_initial,
        nonce: 0,
        merged: MergedWork::default(),
        miner: AccountId::default(),
        tx_root: Hash::ZERO,
        state_root: update.root,
        relay_parent,
        anchors: Vec::new(),
        anchor_headers_hash: Hash::ZERO,
    };
    Ok((header, update))
}

pub(crate) fn apply_to_chain_error(e: ApplyError) -> ChainError {
    match e {
        ApplyError::Tx(e) => ChainError::Tx(e),
        ApplyError::Store(e) => ChainError::Store(e),
        ApplyError::Sandbox(e) => ChainError::Sandbox(e),
    }
}

/// A block's body as the store keeps it: everything but the header.
#[derive(Encode, Decode)]
struct StoredBody {
    transactions: Vec<Transaction>,
    anchor_headers: Vec<Vec<BlockHeader>>,
}

impl StoredBody {
    /// The stored bytes of a body: the encoding of a `StoredBody` (bincode writes a struct as
    /// its fields in order, and a slice as a `Vec`), without copying the block.
    fn bytes(transactions: &[Transaction], anchor_headers: &[Vec<BlockHeader>]) -> Vec<u8> {
        codec::encode(&(transactions, anchor_headers))
    }
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn compute_state_update(
    store: &dyn KvStore,
    changes: BTreeMap<KeyHash, Option<Vec<u8>>>,
    version: u64,
) -> Result<StateUpdate, StoreError> {
    let changed: Vec<KeyHash> = changes.keys().copied().collect();
    let reader = StoreTreeReader { store };
    let tree = JellyfishMerkleTree::<_, Blake3Jmt>::new(&reader);
    let (root, update) = tree
        .put_value_set(changes, version)
        .map_err(|e| corrupt(format!("state tree: {e}")))?;
    Ok(StateUpdate {
        root: Hash(root.0),
        tree: update,
        changed,
    })
}

fn write_state_update(batch: &mut WriteBatch, update: &StateUpdate) -> Result<(), StoreError> {
    for (node_key, node) in update.tree.node_batch.nodes() {
        let bytes = borsh::to_vec(node).map_err(|e| corrupt(format!("state node: {e}")))?;
        batch.put(Column::StateNodes, node_key_bytes(node_key)?, bytes);
    }
    for ((version, key_hash), value) in update.tree.node_batch.values() {
        batch.put(
            Column::StateValues,
            value_version_key(key_hash, *version),
            encode_value_version(value.as_deref()),
        );
    }
    Ok(())
}

impl Chain {
    /// Opens the root chain stored in `data_dir` (RocksDB), creating it at genesis if it is
    /// new, and resumes at the stored tip.
    pub fn open(data_dir: &Path, params: ChainParams) -> Result<Chain, ChainError> {
        let store: Arc<dyn KvStore> = Arc::new(RocksStore::open(data_dir)?);
        Chain::in_store(store, params, ChainId::ROOT)
    }

    /// A root chain held in memory only: for tests and replays.
    pub fn in_memory(params: ChainParams) -> Result<Chain, ChainError> {
        Chain::in_store(Arc::new(MemoryStore::default()), params, ChainId::ROOT)
    }

    /// The root chain over any store.
    pub fn with_store(store: Box<dyn KvStore>, params: ChainParams) -> Result<Chain, ChainError> {
        Chain::in_store(Arc::from(store), params, ChainId::ROOT)
    }

    /// Chain `chain_id`'s part of a store the blocktree's chains share (its keys behind the
    /// chain's id), created at its genesis if new.
    pub fn in_store(
        shared: Arc<dyn KvStore>,
        params: ChainParams,
        chain_id: ChainId,
    ) -> Result<Chain, ChainError> {
        let expected_genesis = genesis_block_of(&params, chain_id)?.hash();
        let store: Arc<dyn KvStore> =
            Arc::new(PrefixedStore::new(shared, chain_id.to_bytes().to_vec()));
        let mut chain = Chain {
            store,
            params,
            scripts: Arc::new(LazyScriptRunner::default()),
            chain_id,
            genesis: expected_genesis,
            index: HashMap::new(),
            best: Vec::new(),
            mempool: Mempool::default(),
            dropped: HashMap::new(),
            dropped_order: VecDeque::new(),
            prepared: None,
            anchor_floor: None,
            anchor_floor_seq: 0,
            best_changes: 0,
        };
        match chain.store.get(Column::Meta, META_GENESIS)? {
            None => chain.write_genesis()?,
            Some(bytes) => {
                let found: Hash = codec::decode(&bytes).map_err(corrupt)?;
                if found != expected_genesis {
                    return Err(ChainError::WrongNetwork {
                        expected: chain.params.network.clone(),
                        found: "another network".into(),
                        found_genesis: found,
                    });
                }
                chain.load()?;
            }
        }
        Ok(chain)
    }

    /// The chain's id.
    pub fn id(&self) -> ChainId {
        self.chain_id
    }

    fn write_genesis(&mut self) -> Result<(), ChainError> {
        let (header, update) = genesis_state(self.store.as_ref(), &self.params, self.chain_id)?;
        let hash = header.hash();
        let meta = BlockMeta {
            cumulative_work: 0,
            status: BlockStatus::Valid,
        };
        let mut batch = WriteBatch::default();
        write_state_update(&mut batch, &update)?;
        batch.put(Column::Headers, hash.0, header.to_bytes());
        batch.put(Column::Bodies, hash.0, StoredBody::bytes(&[], &[]));
        batch.put(Column::BlockMeta, hash.0, codec::encode(&meta));
        batch.put(Column::BestChain, 0u64.to_be_bytes(), hash.0);
        batch.put(Column::Meta, META_TIP, hash.0);
        batch.put(Column::Meta, META_GENESIS, codec::encode(&hash));
        self.store.write(batch)?;
        self.index.insert(hash, IndexEntry { header, meta });
        self.best = vec![hash];
        Ok(())
    }

    /// Loads the block index and the best chain, checking every header against its hash.
    fn load(&mut self) -> Result<(), ChainError> {
        for (key, value) in self.store.scan(Column::BlockMeta, &[])? {
            let hash = Hash(
                key.as_slice()
                    .try_into()
                    .map_err(|_| corrupt("block meta key"))?,
            );
            let meta: BlockMeta = codec::decode(&value).map_err(corrupt)?;
            let header = self.read_header(&hash)?;
            self.index.insert(hash, IndexEntry { header, meta });
        }
        let mut best = Vec::new();
        for (key, value) in self.store.scan(Column::BestChain, &[])? {
            let height = u64::from_be_bytes(
                key.as_slice()
                    .try_into()
                    .map_err(|_| corrupt("height key"))?,
            );
            if height != best.len() as u64 {
                return Err(corrupt(format!("best chain has a gap at height {height}")).into());
            }
            best.push(Hash(
                value
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt("best chain hash"))?,
            ));
        }
        let tip_bytes = self
            .store
            .get(Column::Meta, META_TIP)?
            .ok_or_else(|| corrupt("no tip"))?;
        let tip = Hash(
            tip_bytes
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("tip hash"))?,
        );
        if best.last() != Some(&tip) {
            return Err(corrupt("tip does not match the best chain").into());
        }
        self.best = best;
        Ok(())
    }

    /// Reads a header back and checks that it hashes to its key: a damaged database is reported,
    /// never served.
    fn read_header(&self, hash: &Hash) -> Result<BlockHeader, StoreError> {
        let bytes = self
            .store
            .get(Column::Headers, &hash.0)?
            .ok_or_else(|| corrupt(format!("missing header {hash}")))?;
        let header = BlockHeader::from_bytes(&bytes).map_err(corrupt)?;
        if header.hash() != *hash {
            return Err(corrupt(format!(
                "header stored under {hash} hashes to {}",
                header.hash()
            )));
        }
        Ok(header)
    }

    /// Reads a block back, checks its body, and returns it with its transactions' hashes.
    fn read_block(&self, hash: &Hash) -> Result<(Block, Vec<Hash>), StoreError> {
        let header = self.read_header(hash)?;
        let bytes = self
            .store
            .get(Column::Bodies, &hash.0)?
            .ok_or_else(|| corrupt(format!("missing body {hash}")))?;
        let StoredBody {
            transactions,
            anchor_headers,
        } = codec::decode(&bytes).map_err(corrupt)?;
        let block = Block {
            header,
            transactions,
            anchor_headers,
        };
        let tx_hashes = block
            .check_body()
            .map_err(|e| corrupt(format!("body of {hash}: {e}")))?;
        Ok((block, tx_hashes))
    }

    /// The network's parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// The genesis block's hash.
    pub fn genesis_hash(&self) -> Hash {
        self.genesis
    }

    /// Fuel burned by validation scripts since this chain was opened (admission dry runs,
    /// block building and block validation): for the node's metrics, never for a decision.
    pub fn script_fuel_used_total(&self) -> u64 {
        self.scripts.fuel_used_total()
    }

    fn tip_hash(&self) -> Hash {
        self.best.last().copied().unwrap_or(self.genesis)
    }

    fn tip_entry(&self) -> Result<&IndexEntry, StoreError> {
        self.index
            .get(&self.tip_hash())
            .ok_or_else(|| corrupt("tip not in the block index"))
    }

    pub(crate) fn tip_height(&self) -> u64 {
        (self.best.len() as u64).saturating_sub(1)
    }

    /// The best chain's tip.
    pub fn tip(&self) -> TipInfo {
        let hash = self.tip_hash();
        match self.index.get(&hash) {
            Some(entry) => TipInfo {
                height: entry.header.height,
                hash,
                state_root: entry.header.state_root,
                time_ms: entry.header.time_ms,
                difficulty: entry.header.difficulty,
                cumulative_work: entry.meta.cumulative_work,
            },
            None => TipInfo {
                height: 0,
                hash,
                state_root: Hash::ZERO,
                time_ms: 0,
                difficulty: 0,
                cumulative_work: 0,
            },
        }
    }

    fn tip_view(&self) -> StateView<'_> {
        StateView::new(self.store.as_ref(), Some(self.tip_height()))
    }

    /// The tip's state, reading the registry as of `relay` on a data chain.
    fn tip_view_with<'s>(&'s self, relay: Option<Relay<'s>>) -> StateView<'s> {
        StateView::of_chain(
            self.store.as_ref(),
            Some(self.tip_height()),
            self.chain_id,
            relay.map(|r| r.read()),
        )
    }

    /// What transactions on top of the tip are applied in: the next block, at `time_ms`, with
    /// scripts reading payments as of the tip (on the root) or the relay parent (on a data
    /// chain).
    fn context_on_tip<'s>(&'s self, time_ms: u64, relay: Option<Relay<'s>>) -> BlockContext<'s> {
        let payments = match relay {
            None => StorePayments::new(self.store.clone(), Some(self.tip_height())),
            Some(relay) => StorePayments::new(relay.root.store.clone(), Some(relay.height)),
        };
        BlockContext {
            params: &self.params,
            height: self.tip_height().saturating_add(1),
            time_ms,
            scripts: &self.scripts,
            payments: Arc::new(payments),
            admission: false,
            dispute_fuel_used: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Resolves the relay parent a block of this chain names, against `root`: `None` for the
    /// root chain itself. A relay parent off the root's best chain, unknown, or not
    /// `relay_parent_depth_min` deep is [`ChainError::RelayPending`]: not the block's fault.
    fn relay<'r>(
        &self,
        root: Option<&'r Chain>,
        relay_parent: &Hash,
    ) -> Result<Option<Relay<'r>>, ChainError> {
        if self.chain_id.is_root() {
            return Ok(None);
        }
        let Some(root) = root else {
            return Err(self.root_missing());
        };
        let Some(entry) = root.index.get(relay_parent) else {
            return Err(ChainError::RelayPending(format!(
                "root block {relay_parent} is unknown"
            )));
        };
        let height = entry.header.height;
        if root.best_hash_at(height) != Some(relay_parent) {
            return Err(ChainError::RelayPending(format!(
                "root block {relay_parent} is not on the root's best chain"
            )));
        }
        let depth = root.tip_height().saturating_sub(height);
        if depth < self.params.relay_parent_depth_min {
            return Err(ChainError::RelayPending(format!(
                "root block {relay_parent} is {depth} deep, {} needed",
                self.params.relay_parent_depth_min
            )));
        }
        Ok(Some(Relay {
            root,
            hash: *relay_parent,
            height,
        }))
    }

    /// A data chain asked to judge something without the root it is judged against.
    fn root_missing(&self) -> ChainError {
        ChainError::RelayPending(format!(
            "chain {} is validated against the root, which was not given",
            self.chain_id
        ))
    }

    /// The relay parent this chain's next block or admitted transaction is judged against:
    /// the root's best block `relay_parent_depth_min` below its tip, never older than the
    /// relay parent of this chain's tip.
    fn current_relay<'r>(&self, root: Option<&'r Chain>) -> Result<Option<Relay<'r>>, ChainError> {
        if self.chain_id.is_root() {
            return Ok(None);
        }
        let Some(root_chain) = root else {
            return Err(self.root_missing());
        };
        let height = root_chain
            .tip_height()
            .saturating_sub(self.params.relay_parent_depth_min);
        let floor = self.tip_entry()?.header.relay_parent;
        let floor_height = root_chain.index.get(&floor).map_or(0, |e| e.header.height);
        let hash = *root_chain
            .best_hash_at(height.max(floor_height))
            .ok_or_else(|| ChainError::RelayPending("the root has no such block".into()))?;
        self.relay(root, &hash)
    }

    /// The root's state at `height` of its best chain (a data chain's own state at its
    /// height): what reads at a named height go through.
    pub(crate) fn view_at(&self, height: u64) -> Result<StateView<'_>, ChainError> {
        let tip = self.tip_height();
        if height > tip {
            return Err(ChainError::HeightAboveTip { height, tip });
        }
        Ok(StateView::of_chain(
            self.store.as_ref(),
            Some(height),
            self.chain_id,
            None,
        ))
    }

    /// An account's state at the tip.
    pub fn account(&self, account: &AccountId) -> Result<AccountState, ChainError> {
        Ok(self.tip_view().account(account)?)
    }

    /// The next nonce `account` may use, counting its transactions in the mempool.
    pub fn pending_nonce(&self, account: &AccountId) -> Result<u64, ChainError> {
        let state_nonce = self.account(account)?.nonce;
        Ok(self.mempool.pending_nonce(account, state_nonce))
    }

    /// A key's home keyspace on the root's registry at the tip: its name and record. No
    /// proofs: what routing a key to its chain needs.
    pub fn home_of(&self, key: &str) -> Result<(String, KeyspaceRecord), ChainError> {
        let (name, record) = self.tip_view().home_of(key).map_err(apply_to_chain_error)?;
        Ok((name.to_string(), record))
    }

    /// A keyspace's record at the tip.
    pub fn keyspace(&self, name: &str) -> Result<Option<KeyspaceRecord>, ChainError> {
        Ok(self.tip_view().keyspace(name)?)
    }

    /// `chain`'s endowment pool as this chain's tip holds it: on the root, what was paid in
    /// and paid out; ask the root.
    pub fn endowment_pool(&self, chain: &ChainId) -> Result<EndowmentPool, ChainError> {
        Ok(self.tip_view().pool(chain)?)
    }

    /// What the root has paid `miner` for blocks of `chain`, as of this (root) chain's tip.
    pub fn miner_claimed(&self, chain: &ChainId, miner: &AccountId) -> Result<Amount, ChainError> {
        Ok(self.tip_view().claimed(chain, miner)?)
    }

    /// What `miner` has earned on this data chain as of its best block at `height`.
    pub fn miner_earned(&self, miner: &AccountId, height: u64) -> Result<Amount, ChainError> {
        Ok(self.view_at(height)?.earned(miner)?)
    }

    /// What the best block at `height` released from the chain's endowment pool to its
    /// miner: paid on the root, counted as earnings on a data chain.
    pub fn released_by_block(&self, height: u64) -> Result<Amount, ChainError> {
        let Some(before) = height.checked_sub(1) else {
            return Ok(Amount::ZERO);
        };
        let released = |height: u64| -> Result<Amount, ChainError> {
            let view = self.view_at(height)?;
            if self.chain_id.is_root() {
                Ok(view.pool(&ChainId::ROOT)?.paid)
            } else {
                Ok(view.released()?)
            }
        };
        Ok(Amount(
            released(height)?.0.saturating_sub(released(before)?.0),
        ))
    }

    /// A key's value at the tip of the root chain.
    pub fn value(&self, key: &str) -> Result<Option<Vec<u8>>, ChainError> {
        self.value_with(key, None)
    }

    /// A key's value at this chain's tip; a data chain finds the key's keyspace in `root`'s
    /// registry at the root's tip. A key whose keyspace lives on another chain is
    /// [`TxError::KeyOnOtherChain`].
    pub fn value_with(
        &self,
        key: &str,
        root: Option<&Chain>,
    ) -> Result<Option<Vec<u8>>, ChainError> {
        let relay = match root {
            Some(root) if !self.chain_id.is_root() => Some(Relay {
                root,
                hash: root.tip_hash(),
                height: root.tip_height(),
            }),
            Some(_) => None,
            None if self.chain_id.is_root() => None,
            None => return Err(self.root_missing()),
        };
        self.tip_view_with(relay)
            .value(key)
            .map_err(apply_to_chain_error)
    }

    /// A root key's value at the tip with the proof that it is there (or is not), against
    /// the tip's header: inclusion of the home keyspace's record, non-inclusion of every
    /// longer candidate keyspace, and inclusion (or non-inclusion) of the value at the key's
    /// address. A key of a deeper keyspace needs the chains below: see
    /// [`crate::Blocktree::value_proof`].
    pub fn value_proof(&self, key: &str) -> Result<ValueProof, ChainError> {
        let (mut proof, record, slot) = self.registry_proof(key)?;
        if record.depth != 0 {
            let home = record.chain().unwrap_or(self.chain_id);
            return Err(TxError::KeyOnOtherChain {
                key: key.to_owned(),
                home,
                here: self.chain_id,
            }
            .into());
        }
        let (value, value_proof) = self.prove_leaf(slot, self.tip_height())?;
        proof.value = value;
        proof.value_proof = value_proof;
        Ok(proof)
    }

    /// The top half of a value proof, on the root at its tip: the header and the keyspace
    /// proofs that establish the key's home; with the home's record and the key's slot. The
    /// value and the links are left for the caller to fill.
    pub(crate) fn registry_proof(
        &self,
        key: &str,
    ) -> Result<(ValueProof, KeyspaceRecord, KeyHash), ChainError> {
        let version = self.tip_height();
        let header = self.tip_entry()?.header.clone();
        let candidates = home_candidates(key).map_err(|e| TxError::InvalidKey(e.to_string()))?;
        let mut keyspaces = Vec::new();
        let mut home = None;
        for name in candidates {
            let (record, proof) = self.prove_leaf(keyspace_key(name.as_str()), version)?;
            let found = record.clone();
            keyspaces.push(KeyspaceProof {
                name: name.to_string(),
                record,
                proof,
            });
            if let Some(bytes) = found {
                let record: KeyspaceRecord = codec::decode(&bytes).map_err(corrupt)?;
                home = Some((name, record));
                break;
            }
        }
        let Some((home, record)) = home else {
            return Err(TxError::UnknownKeyspace(key.to_owned()).into());
        };
        let slot = value_key(&home, key);
        let proof = ValueProof {
            key: key.to_owned(),
            value: None,
            header,
            keyspaces,
            links: Vec::new(),
            value_proof: Vec::new(),
        };
        Ok((proof, record, slot))
    }

    /// A leaf of this chain's state at `version` (a best-chain height) and its sparse Merkle
    /// proof.
    pub(crate) fn prove_leaf(
        &self,
        key_hash: KeyHash,
        version: u64,
    ) -> Result<(Option<Vec<u8>>, Vec<u8>), ChainError> {
        let reader = StoreTreeReader {
            store: self.store.as_ref(),
        };
        let tree = JellyfishMerkleTree::<_, Blake3Jmt>::new(&reader);
        let (value, proof) = tree
            .get_with_proof(key_hash, version)
            .map_err(|e| corrupt(format!("state proof: {e}")))?;
        Ok((value, encode_proof(&proof)?))
    }

    /// The latest anchor of `child` in this chain's state as of best-chain height `version`.
    pub fn anchor_at(&self, child: &ChainId, version: u64) -> Result<Option<Anchor>, ChainError> {
        Ok(StateView::new(self.store.as_ref(), Some(version)).anchor(child)?)
    }

    /// The header of block `hash` if it is on the best chain at `height`.
    pub fn best_header(&self, hash: &Hash, height: u64) -> Option<BlockHeader> {
        (self.best_hash_at(height) == Some(hash))
            .then(|| self.header_by_hash(hash))
            .flatten()
    }

    /// Whether the mempool is empty.
    pub fn mempool_is_empty(&self) -> bool {
        self.mempool.is_empty()
    }

    /// The chain's script and transformation runners (shared with chains that share them).
    pub(crate) fn scripts_runner(&self) -> &LazyScriptRunner {
        &self.scripts
    }

    /// Uses `other`'s script runner (one engine and instance pool for a whole blocktree).
    pub(crate) fn share_scripts_of(&mut self, other: &Chain) {
        self.scripts = other.scripts.clone();
    }

    /// The best chain's header at `height`.
    pub fn header_at(&self, height: u64) -> Result<Option<BlockHeader>, ChainError> {
        Ok(self
            .best_hash_at(height)
            .and_then(|hash| self.header_by_hash(hash)))
    }

    /// The best chain's block at `height`, read back from storage and checked.
    pub fn block_at(&self, height: u64) -> Result<Option<Block>, ChainError> {
        match self.best_hash_at(height) {
            Some(hash) => self.block_by_hash(hash),
            None => Ok(None),
        }
    }

    /// The best chain's block hash at `height`.
    fn best_hash_at(&self, height: u64) -> Option<&Hash> {
        usize::try_from(height).ok().and_then(|h| self.best.get(h))
    }

    /// Transactions waiting in the mempool.
    pub fn mempool_len(&self) -> usize {
        self.mempool.len()
    }

    /// Where a transaction stands.
    pub fn tx_status(&self, hash: &Hash) -> Result<TxStatus, ChainError> {
        if self.mempool.contains(hash) {
            return Ok(TxStatus::Pending);
        }
        if let Some(bytes) = self.store.get(Column::TxIndex, &hash.0)? {
            let at: TxLocation = codec::decode(&bytes).map_err(corrupt)?;
            return Ok(TxStatus::Included {
                height: at.height,
                block: at.block,
                index: at.index,
            });
        }
        if let Some(error) = self.dropped.get(hash) {
            return Ok(TxStatus::Dropped {
                error: error.clone(),
            });
        }
        Ok(TxStatus::Unknown)
    }

    fn remember_dropped(&mut self, hash: Hash, error: TxError) {
        if self.dropped.insert(hash, error).is_none() {
            self.dropped_order.push_back(hash);
        }
        while self.dropped_order.len() > DROPPED_TXS_REMEMBERED_MAX {
            if let Some(old) = self.dropped_order.pop_front() {
                self.dropped.remove(&old);
            }
        }
    }

    /// Admits a transaction to the root chain's mempool after every check that can be made
    /// now: syntax, signature, nonce, and a dry run against the tip's state. Returns its hash.
    pub fn submit_transaction(&mut self, tx: Transaction) -> Result<Hash, ChainError> {
        self.submit_transaction_with(tx, None)
    }

    /// Admits a transaction to this chain's mempool; a data chain dry-runs it against `root`'s
    /// registry as of the relay parent its next block would name.
    pub fn submit_transaction_with(
        &mut self,
        tx: Transaction,
        root: Option<&Chain>,
    ) -> Result<Hash, ChainError> {
        if tx.body.chain != self.chain_id {
            return Err(TxError::WrongChain {
                expected: self.chain_id,
                got: tx.body.chain,
            }
            .into());
        }
        self.admit_verified(VerifiedTx::check(tx)?, root)
    }

    /// Whether `bounty` is the id of a PostBounty waiting in the mempool from `tx`'s sender
    /// with an earlier nonce.
    fn posts_bounty_before(&self, tx: &Transaction, bounty: &Hash) -> bool {
        self.mempool.get(bounty).is_some_and(|post| {
            matches!(post.body.payload, crate::tx::TxPayload::PostBounty { .. })
                && post.body.sender == tx.body.sender
                && post.body.nonce < tx.body.nonce
        })
    }

    /// Admits a transaction whose stateless checks and signature passed (outside this chain's
    /// lock, see [`VerifiedTx::check`]): only the checks that need this chain's state are made
    /// here, under the lock: already known, nonce, and a dry run against the tip (for a data
    /// chain, against `root`'s registry as of the relay parent its next block would name).
    pub fn admit_verified(
        &mut self,
        verified: VerifiedTx,
        root: Option<&Chain>,
    ) -> Result<Hash, ChainError> {
        if verified.chain() != self.chain_id {
            return Err(TxError::WrongChain {
                expected: self.chain_id,
                got: verified.chain(),
            }
            .into());
        }
        let hash = verified.hash();
        if self.mempool.contains(&hash) {
            return Err(TxError::AlreadyKnown(hash).into());
        }
        if self.store.get(Column::TxIndex, &hash.0)?.is_some() {
            return Err(TxError::AlreadyKnown(hash).into());
        }
        let tx = verified.into_tx();
        let state_nonce = self.account(&tx.body.sender)?.nonce;
        if tx.body.nonce < state_nonce {
            return Err(TxError::BadNonce {
                expected: state_nonce,
                got: tx.body.nonce,
            }
            .into());
        }
        // The dry run is exact for the sender's next transaction; for later ones it checks
        // everything but the nonce against the tip, and block building has the last word.
        // Scripts see the tip's time: admission must not read the clock, and the block that
        // includes the transaction judges it again at its own time.
        let relay = self.current_relay(root)?;
        let mut context = self.context_on_tip(self.tip().time_ms, relay);
        // A Dispute's re-execution is costly and paid for once: admission makes only the
        // cheap checks, the block that includes it re-executes.
        context.admission = true;
        let mut view = self.tip_view_with(relay);
        // The next block releases what unbonds in it before its transactions: a spend of the
        // released amount is admitted once that block is the next one.
        crate::bounty::start_root_block(&mut view, &self.params, context.height)
            .map_err(apply_to_chain_error)?;
        match view.dry_run(&tx, &context) {
            Ok(()) => {}
            // A lineup proof sent right behind its own PostBounty: the block that includes both
            // applies them in the sender's nonce order, so the proof is judged there (block
            // building has the last word, as for any later nonce). This lets a requester's
            // bounty and lineup land in one root block instead of two.
            Err(ApplyError::Tx(TxError::UnknownBounty(bounty)))
                if self.posts_bounty_before(&tx, &bounty) => {}
            Err(e) => return Err(apply_to_chain_error(e)),
        }
        for (evicted, why) in self.mempool.insert(tx, state_nonce)? {
            self.remember_dropped(evicted, why);
        }
        self.dropped.remove(&hash);
        Ok(hash)
    }

    /// The block `hash` and its ancestors, newest first, as many as the header rules look at
    /// (or down to genesis); empty if `hash` is not indexed.
    fn rule_ancestors(&self, hash: &Hash) -> Result<Vec<&IndexEntry>, ChainError> {
        let depth = headers::depth_params(&self.params, self.chain_id)?;
        let needed = headers::ancestors_needed(&self.params, depth);
        let mut ancestors = Vec::with_capacity(needed.min(1024));
        let mut cursor = self.index.get(hash);
        while let Some(entry) = cursor {
            ancestors.push(entry);
            if ancestors.len() >= needed || entry.header.height == 0 {
                break;
            }
            cursor = self.index.get(&entry.header.parent);
        }
        Ok(ancestors)
    }

    /// The difficulty and minimum time (exclusive) of the block after `parent`.
    fn rules_after(&self, parent: &Hash) -> Result<HeaderRules, ChainError> {
        let depth = headers::depth_params(&self.params, self.chain_id)?;
        let ancestors = self.rule_ancestors(parent)?;
        if ancestors.is_empty() {
            return Err(corrupt("parent not indexed").into());
        }
        Ok(headers::rules_after(
            &self.params,
            depth,
            ancestors.into_iter().map(|entry| &entry.header),
        ))
    }

    fn check_header(&self, header: &BlockHeader, now_ms: u64) -> Result<u128, ChainError> {
        if header.chain != self.chain_id {
            return Err(BlockError::WrongChain {
                expected: self.chain_id,
                got: header.chain,
            }
            .into());
        }
        let parent = self
            .index
            .get(&header.parent)
            .ok_or(BlockError::UnknownParent(header.parent))?;
        if parent.meta.status == BlockStatus::Invalid {
            return Err(BlockError::KnownInvalid(header.parent).into());
        }
        let rules = self.rules_after(&header.parent)?;
        let work = headers::check_header(&self.params, &rules, &parent.header, header, now_ms)?;
        Ok(parent.meta.cumulative_work.saturating_add(work))
    }

    /// Imports a root block received from anywhere. `now_ms` is the local clock, used only for
    /// the maximum-future-time rule.
    pub fn import_block(&mut self, block: Block, now_ms: u64) -> Result<ImportOutcome, ChainError> {
        self.import_block_with(block, now_ms, None)
    }

    /// Imports a block of this chain; a data-chain block is validated against `root` as of
    /// its relay parent.
    pub fn import_block_with(
        &mut self,
        block: Block,
        now_ms: u64,
        root: Option<&Chain>,
    ) -> Result<ImportOutcome, ChainError> {
        let hash = block.hash();
        if let Some(entry) = self.index.get(&hash) {
            return Err(if entry.meta.status == BlockStatus::Invalid {
                BlockError::KnownInvalid(hash)
            } else {
                BlockError::AlreadyKnown(hash)
            }
            .into());
        }
        let cumulative_work = self.check_header(&block.header, now_ms)?;
        let tx_hashes = block.check_body()?;
        // A block built here holds only mempool transactions, whose signatures were checked on
        // admission: checking them again would halve a node's write throughput.
        let built_here = matches!(&self.prepared, Some((h, _)) if *h == hash);
        for (index, (tx, tx_hash)) in block
            .transactions
            .iter()
            .zip(&tx_hashes)
            .enumerate()
            .filter(|_| !built_here)
        {
            tx.check_stateless(self.chain_id)
                .and_then(|()| tx.verify_signature())
                .map_err(|error| BlockError::InvalidTransaction {
                    index,
                    hash: *tx_hash,
                    error: Box::new(error),
                })?;
        }
        // Stored before it is connected, so that a reorg can reach it; not yet trusted.
        let meta = BlockMeta {
            cumulative_work,
            status: BlockStatus::HeaderValid,
        };
        let mut batch = WriteBatch::default();
        batch.put(Column::Headers, hash.0, block.header.to_bytes());
        batch.put(
            Column::Bodies,
            hash.0,
            StoredBody::bytes(&block.transactions, &block.anchor_headers),
        );
        batch.put(Column::BlockMeta, hash.0, codec::encode(&meta));
        let parent = block.header.parent;
        let height = block.header.height;
        // Fork choice: most work among the branches that may be best (on a data chain, those
        // that extend the header its parent anchors and whose relay parents are on the root's
        // best chain). Judged only for a block that could take the tip: the walk is not paid
        // for the lighter side blocks a long sync brings.
        let contends = parent == self.tip_hash() || cumulative_work > self.tip().cumulative_work;
        let may_be_best = contends && self.may_be_best(&hash, &block.header, root);
        if parent == self.tip_hash() && may_be_best {
            // The common case: connect in the same batch as the store.
            self.connect(&block, &tx_hashes, batch, root)?;
            self.index.insert(
                hash,
                IndexEntry {
                    header: block.header,
                    meta: BlockMeta {
                        cumulative_work,
                        status: BlockStatus::Valid,
                    },
                },
            );
            return Ok(ImportOutcome::NewTip {
                height,
                reorged_blocks: 0,
            });
        }
        self.store.write(batch)?;
        self.index.insert(
            hash,
            IndexEntry {
                header: block.header,
                meta,
            },
        );
        if may_be_best && cumulative_work > self.tip().cumulative_work {
            let reorged_blocks = self.reorg_to(hash, root)?;
            return Ok(ImportOutcome::NewTip {
                height,
                reorged_blocks,
            });
        }
        // The anchored header arriving after its anchor: the tip may have to move to it.
        if self
            .anchor_floor
            .as_ref()
            .is_some_and(|floor| floor.hash == hash)
            && let Some(reorged_blocks) = self.reevaluate(root)?
        {
            return Ok(ImportOutcome::NewTip {
                height: self.tip_height(),
                reorged_blocks,
            });
        }
        Ok(ImportOutcome::SideChain)
    }

    /// How many blocks were connected to or rolled back from the best chain since this chain
    /// was opened. A child reading its anchor from this chain's state passes it along with
    /// the anchor to [`Chain::settle`], so an older read never overwrites a newer one.
    pub fn best_changes(&self) -> u64 {
        self.best_changes
    }

    /// The header of this chain its parent's best chain anchors last, as last given to
    /// [`Chain::settle`].
    pub fn anchor_floor(&self) -> Option<Anchor> {
        self.anchor_floor.clone()
    }

    /// Takes `floor`, this chain's anchor in its parent's best chain (read when the parent's
    /// [`Chain::best_changes`] was `parent_seq`), and moves the tip if the fork choice now
    /// wants another: the tip must extend the anchored header, then most work. With
    /// `root_reorged`, blocks whose relay parent left the root's best chain are also orphaned,
    /// and branches whose relay parents came back are reconsidered. Returns the blocks rolled
    /// back if the tip moved.
    pub fn settle(
        &mut self,
        floor: Option<Anchor>,
        parent_seq: u64,
        root: Option<&Chain>,
        root_reorged: bool,
    ) -> Result<Option<u64>, ChainError> {
        if self.chain_id.is_root() {
            return Ok(None);
        }
        let old = self.usable_floor(root);
        if parent_seq >= self.anchor_floor_seq {
            self.anchor_floor = floor;
            self.anchor_floor_seq = parent_seq;
        }
        let new = self.usable_floor(root);
        if !root_reorged {
            if old == new {
                return Ok(None);
            }
            // The floor moved forward along the best chain: the tip was the heaviest of a
            // larger set of branches that may be best and is in the smaller one, so it stays.
            let tip = self.tip_entry()?;
            let forward = new.is_some_and(|(_, new_height)| {
                old.is_none_or(|(old_hash, old_height)| {
                    new_height >= old_height && self.best_hash_at(old_height) == Some(&old_hash)
                })
            });
            if forward && self.may_be_best(&self.tip_hash(), &tip.header, root) {
                return Ok(None);
            }
        }
        self.reevaluate(root)
    }

    /// The anchor floor as `(hash, height)` when it can bind: the anchored block is stored
    /// here, not known invalid, and on the best chain or naming a relay parent on the root's
    /// best chain. Otherwise the floor is pending, and fork choice is by most work alone until
    /// the block arrives (its import re-evaluates the tip).
    fn usable_floor(&self, root: Option<&Chain>) -> Option<(Hash, u64)> {
        let floor = self.anchor_floor.as_ref()?;
        let entry = self.index.get(&floor.hash)?;
        if entry.meta.status == BlockStatus::Invalid || entry.header.height != floor.height {
            return None;
        }
        (self.best_hash_at(floor.height) == Some(&floor.hash)
            || self.relay_on_root_best(root, &entry.header))
        .then_some((floor.hash, floor.height))
    }

    /// Whether `header` names a relay parent on the root's best chain (always, for the root;
    /// and when the root is not given, which only a caller that connects nothing does).
    fn relay_on_root_best(&self, root: Option<&Chain>, header: &BlockHeader) -> bool {
        if self.chain_id.is_root() {
            return true;
        }
        let Some(root) = root else {
            return true;
        };
        root.index.get(&header.relay_parent).is_some_and(|entry| {
            root.best_hash_at(entry.header.height) == Some(&header.relay_parent)
        })
    }

    /// Whether the branch ending at block `hash` (with `header`, stored or not) may be this
    /// chain's best: with no usable anchor floor, any (connecting it judges the rest); with
    /// one, the branch contains it, and each of its stored blocks between the best chain (or
    /// the floor) and `hash` names a relay parent on the root's best chain and is not known
    /// invalid. The block's own relay parent is left to connecting it, which says why it
    /// cannot be judged yet. Walks back to the best chain or the floor's height, whichever
    /// comes first.
    fn may_be_best(&self, hash: &Hash, header: &BlockHeader, root: Option<&Chain>) -> bool {
        let Some((floor_hash, floor_height)) = self.usable_floor(root) else {
            return true;
        };
        let mut at = *hash;
        let mut header = header;
        let mut first = true;
        loop {
            let height = header.height;
            if height < floor_height {
                return false;
            }
            if height == floor_height {
                return at == floor_hash;
            }
            if self.best_hash_at(height) == Some(&at) {
                return self.best_hash_at(floor_height) == Some(&floor_hash);
            }
            if !first && !self.relay_on_root_best(root, header) {
                return false;
            }
            first = false;
            let Some(parent) = self.index.get(&header.parent) else {
                return false;
            };
            if parent.meta.status == BlockStatus::Invalid {
                return false;
            }
            at = header.parent;
            header = &parent.header;
        }
    }

    /// Moves the tip to the best branch the rules allow now. First the best chain's blocks
    /// whose relay parent left the root's best chain are rolled back: orphaned, their writes
    /// offered to the mempool again (admitted if still valid against the new relay parent).
    /// Then the heaviest stored block that may be best is connected; if connecting fails, the
    /// next, at most [`REEVALUATE_ATTEMPTS_MAX`] times. With none, the tip stays. Returns the
    /// blocks rolled back if the tip moved.
    fn reevaluate(&mut self, root: Option<&Chain>) -> Result<Option<u64>, ChainError> {
        let before = self.tip_hash();
        let mut orphaned = Vec::new();
        while self.tip_height() > 0 && !self.relay_on_root_best(root, &self.tip_entry()?.header) {
            orphaned.push(self.disconnect_tip()?);
        }
        let tip_hash = self.tip_hash();
        let tip = self.tip_entry()?;
        let tip_work = tip.meta.cumulative_work;
        let tip_may_be_best = self.may_be_best(&tip_hash, &tip.header, root);
        // The index is a hash map: collected, then ordered by work and hash, so every node
        // tries the same candidates in the same order.
        let mut candidates: Vec<(u128, Hash)> = self
            .index
            .iter()
            .filter(|(hash, entry)| {
                **hash != tip_hash
                    && entry.meta.status != BlockStatus::Invalid
                    && (!tip_may_be_best || entry.meta.cumulative_work > tip_work)
            })
            .map(|(hash, entry)| (entry.meta.cumulative_work, *hash))
            .collect();
        candidates.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut rolled_back = orphaned.len() as u64;
        let mut attempts = 0usize;
        let mut failure = None;
        for (_, candidate) in candidates {
            if attempts >= REEVALUATE_ATTEMPTS_MAX {
                break;
            }
            let Some(entry) = self.index.get(&candidate) else {
                continue;
            };
            if entry.meta.status == BlockStatus::Invalid
                || !self.relay_on_root_best(root, &entry.header)
                || !self.may_be_best(&candidate, &entry.header, root)
            {
                continue;
            }
            attempts = attempts.saturating_add(1);
            match self.reorg_to(candidate, root) {
                Ok(count) => {
                    rolled_back = rolled_back.saturating_add(count);
                    break;
                }
                // The branch was invalid (now marked so) or cannot be judged yet; the old tip
                // is back either way: try the next.
                Err(ChainError::Block(_) | ChainError::RelayPending(_)) => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        // Even when the store failed: the orphaned blocks are rolled back already.
        for (block, _) in orphaned {
            for tx in block.transactions {
                // A write the new branch holds, or no longer valid, is refused: that is fine.
                let _ = self.submit_transaction_with(tx, root);
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        Ok((self.tip_hash() != before).then_some(rolled_back))
    }

    /// The height of the last block `hash` shares with the best chain (its own height when it
    /// is on it), if `hash` is stored: how much of the best chain a header anchored above
    /// vouches for.
    pub fn best_ancestor_height(&self, hash: &Hash) -> Option<u64> {
        let mut at = *hash;
        loop {
            let entry = self.index.get(&at)?;
            if self.best_hash_at(entry.header.height) == Some(&at) {
                return Some(entry.header.height);
            }
            at = entry.header.parent;
        }
    }

    /// Applies `block`'s anchors and transactions to the tip's state and returns the state
    /// update. The signatures have been checked by the caller.
    fn apply_block(&self, block: &Block, root: Option<&Chain>) -> Result<StateUpdate, ChainError> {
        let relay = self.relay(root, &block.header.relay_parent)?;
        if let Some(relay) = relay {
            // A chain's view of the root only moves forward.
            let parent_relay = self.tip_entry()?.header.relay_parent;
            let floor = relay.root.index.get(&parent_relay).map(|e| e.header.height);
            if floor.is_some_and(|floor| relay.height < floor) {
                return Err(BlockError::BadRelayParent(format!(
                    "root block {} is older than the parent block's relay parent",
                    relay.hash
                ))
                .into());
            }
        }
        let context = self.context_on_tip(block.header.time_ms, relay);
        let mut view = self.tip_view_with(relay);
        apply_anchors(
            &mut view,
            &self.params,
            block.header.height,
            block.header.time_ms,
            &block.header.anchors,
            &block.anchor_headers,
        )?;
        crate::bounty::start_root_block(&mut view, &self.params, block.header.height)
            .map_err(apply_to_chain_error)?;
        let mut fees = Amount::ZERO;
        for (index, tx) in block.transactions.iter().enumerate() {
            let fee = view
                .try_apply_transaction(tx, &context)
                .map_err(|e| match e {
                    ApplyError::Tx(error) => ChainError::Block(BlockError::InvalidTransaction {
                        index,
                        hash: tx.hash(),
                        error: Box::new(error),
                    }),
                    ApplyError::Store(e) => ChainError::Store(e),
                    ApplyError::Sandbox(e) => ChainError::Sandbox(e),
                })?;
            fees = fees.checked_add(fee).map_err(|_| BlockError::Overflow)?;
        }
        view.pay_block_miner(&self.params, &block.header.miner, fees)
            .map_err(|e| match e {
                ApplyError::Tx(_) => ChainError::Block(BlockError::Overflow),
                ApplyError::Store(e) => ChainError::Store(e),
                ApplyError::Sandbox(e) => ChainError::Sandbox(e),
            })?;
        Ok(compute_state_update(
            self.store.as_ref(),
            view.into_changes(),
            block.header.height,
        )?)
    }

    /// Connects `block`, a child of the tip, writing `batch` with it in one atomic write.
    fn connect(
        &mut self,
        block: &Block,
        tx_hashes: &[Hash],
        mut batch: WriteBatch,
        root: Option<&Chain>,
    ) -> Result<(), ChainError> {
        let hash = block.hash();
        let update = match self.prepared.take() {
            Some((prepared_hash, update)) if prepared_hash == hash => update,
            _ => self.apply_block(block, root)?,
        };
        if update.root != block.header.state_root {
            return Err(BlockError::StateRootMismatch {
                header: block.header.state_root,
                computed: update.root,
            }
            .into());
        }
        let height = block.header.height;
        write_state_update(&mut batch, &update)?;
        let undo: Vec<[u8; 32]> = update.changed.iter().map(|k| k.0).collect();
        batch.put(Column::Undo, hash.0, codec::encode(&undo));
        for (index, tx_hash) in tx_hashes.iter().enumerate() {
            let at = TxLocation {
                block: hash,
                height,
                index: u32::try_from(index).unwrap_or(u32::MAX),
            };
            batch.put(Column::TxIndex, tx_hash.0, codec::encode(&at));
        }
        let cumulative_work = self
            .index
            .get(&block.header.parent)
            .map(|p| {
                p.meta
                    .cumulative_work
                    .saturating_add(u128::from(block.header.difficulty))
            })
            .unwrap_or(0);
        let meta = BlockMeta {
            cumulative_work,
            status: BlockStatus::Valid,
        };
        batch.put(Column::BlockMeta, hash.0, codec::encode(&meta));
        batch.put(Column::BestChain, height.to_be_bytes(), hash.0);
        batch.put(Column::Meta, META_TIP, hash.0);
        self.store.write(batch)?;
        self.best.push(hash);
        self.best_changes = self.best_changes.wrapping_add(1);
        if let Some(entry) = self.index.get_mut(&hash) {
            entry.meta.status = BlockStatus::Valid;
        }
        let mut senders: Vec<AccountId> =
            block.transactions.iter().map(|t| t.body.sender).collect();
        senders.sort_unstable();
        senders.dedup();
        let mut nonces = Vec::with_capacity(senders.len());
        let view = self.tip_view();
        for sender in senders {
            nonces.push((sender, view.account(&sender)?.nonce));
        }
        for (sender, nonce) in nonces {
            self.mempool.prune_sender(&sender, nonce);
        }
        Ok(())
    }

    /// Rolls the tip back to its parent: deletes the state versions and indexes it wrote.
    /// Returns the block with its transactions' hashes, for reconnecting it.
    fn disconnect_tip(&mut self) -> Result<(Block, Vec<Hash>), ChainError> {
        let hash = self.tip_hash();
        let (block, tx_hashes) = self.read_block(&hash)?;
        let height = block.header.height;
        if height == 0 {
            return Err(corrupt("cannot roll back genesis").into());
        }
        let undo_bytes = self
            .store
            .get(Column::Undo, &hash.0)?
            .ok_or_else(|| corrupt("missing undo"))?;
        let undo: Vec<[u8; 32]> = codec::decode(&undo_bytes).map_err(corrupt)?;
        let mut batch = WriteBatch::default();
        batch.delete_range(
            Column::StateNodes,
            version_start(height),
            version_start(height.saturating_add(1)),
        );
        for key in undo {
            batch.delete(
                Column::StateValues,
                value_version_key(&KeyHash(key), height),
            );
        }
        batch.delete(Column::Undo, hash.0);
        for tx_hash in &tx_hashes {
            batch.delete(Column::TxIndex, tx_hash.0);
        }
        batch.delete(Column::BestChain, height.to_be_bytes());
        batch.put(Column::Meta, META_TIP, block.header.parent.0);
        self.store.write(batch)?;
        self.best.pop();
        self.best_changes = self.best_changes.wrapping_add(1);
        Ok((block, tx_hashes))
    }

    /// Makes `new_tip` the tip: rolls back to the fork point and connects its branch. If a
    /// block of the branch turns out invalid, the branch from it on is marked invalid and the
    /// previous best chain is restored. Returns how many blocks were rolled back.
    fn reorg_to(&mut self, new_tip: Hash, root: Option<&Chain>) -> Result<u64, ChainError> {
        let mut branch = Vec::new();
        let mut cursor = new_tip;
        loop {
            let entry = self
                .index
                .get(&cursor)
                .ok_or_else(|| corrupt("branch not indexed"))?;
            let h = usize::try_from(entry.header.height).map_err(|_| corrupt("height"))?;
            if self.best.get(h) == Some(&cursor) {
                break;
            }
            branch.push(cursor);
            cursor = entry.header.parent;
        }
        branch.reverse();
        let fork = cursor;
        let mut rolled_back = Vec::new();
        while self.tip_hash() != fork {
            rolled_back.push(self.disconnect_tip()?);
        }
        let mut failure = None;
        let mut pending = None;
        for hash in &branch {
            let (block, tx_hashes) = self.read_block(hash)?;
            match self.connect(&block, &tx_hashes, WriteBatch::default(), root) {
                Ok(()) => {}
                Err(ChainError::Block(e)) => {
                    failure = Some((*hash, Some(e)));
                    break;
                }
                // Not the branch's fault (its relay parent is not usable now, or the store
                // failed): back to the old tip, nothing marked invalid.
                Err(e) => {
                    failure = Some((*hash, None));
                    pending = Some(e);
                    break;
                }
            }
        }
        if let Some((bad, error)) = failure {
            if error.is_some() {
                self.mark_invalid_from(bad)?;
            }
            while self.tip_hash() != fork {
                self.disconnect_tip()?;
            }
            for (block, tx_hashes) in rolled_back.iter().rev() {
                self.connect(block, tx_hashes, WriteBatch::default(), root)?;
            }
            return Err(match (error, pending) {
                (Some(e), _) => e.into(),
                (None, Some(e)) => e,
                (None, None) => corrupt("a failed reorg without an error").into(),
            });
        }
        let count = rolled_back.len() as u64;
        // Transactions of the abandoned branch go back to the mempool if still valid there.
        for (block, _) in rolled_back {
            for tx in block.transactions {
                let _ = self.submit_transaction_with(tx, root);
            }
        }
        Ok(count)
    }

    /// Marks `bad` and every indexed descendant invalid, in memory and on disk.
    fn mark_invalid_from(&mut self, bad: Hash) -> Result<(), ChainError> {
        let mut doomed = vec![bad];
        let mut frontier = vec![bad];
        while let Some(parent) = frontier.pop() {
            let mut children: Vec<Hash> = self
                .index
                .iter()
                .filter(|(_, e)| e.header.parent == parent)
                .map(|(h, _)| *h)
                .collect();
            children.sort_unstable();
            frontier.extend(&children);
            doomed.extend(children);
        }
        let mut batch = WriteBatch::default();
        for hash in doomed {
            if let Some(entry) = self.index.get_mut(&hash) {
                entry.meta.status = BlockStatus::Invalid;
                batch.put(Column::BlockMeta, hash.0, codec::encode(&entry.meta));
            }
        }
        self.store.write(batch)?;
        Ok(())
    }

    /// Builds a root block on the tip from the mempool, mines it and imports it. Transactions
    /// that fail against state are dropped from the mempool and remembered as dropped. With
    /// `allow_empty` false, returns `None` when no transaction could be included; it also
    /// returns `None` when no nonce within `nonce_attempts_max` meets the difficulty.
    pub fn produce_block(
        &mut self,
        miner: AccountId,
        now_ms: u64,
        allow_empty: bool,
        nonce_attempts_max: u64,
    ) -> Result<Option<Block>, ChainError> {
        self.produce_block_with(
            miner,
            now_ms,
            allow_empty,
            nonce_attempts_max,
            None,
            Vec::new(),
        )
    }

    /// [`Chain::produce_block`] for any chain: a data-chain block names the root's current
    /// relay parent and is validated against `root`; the block carries `anchors` of this
    /// chain's children with their headers (and is produced for them even without
    /// transactions; an anchor whose headers do not follow what this chain anchored last is
    /// left out). Mined alone: its proof of work covers this block only.
    pub fn produce_block_with(
        &mut self,
        miner: AccountId,
        now_ms: u64,
        allow_empty: bool,
        nonce_attempts_max: u64,
        root: Option<&Chain>,
        anchors: Vec<ChildAnchor>,
    ) -> Result<Option<Block>, ChainError> {
        let Some(candidate) = self.candidate_with(miner, now_ms, allow_empty, root, anchors)?
        else {
            return Ok(None);
        };
        let seal = candidate.seal_hash();
        let mut nonce = 0u64;
        while !pow_meets(&work_hash(&seal, nonce), candidate.block.header.difficulty) {
            nonce = nonce.wrapping_add(1);
            if nonce >= nonce_attempts_max {
                return Ok(None);
            }
        }
        self.seal_candidate(candidate, nonce, MergedWork::default(), now_ms, root)
            .map(Some)
    }

    /// The block this chain's miner would seal now, without its proof of work: the header
    /// with nonce 0, the transactions, and the state it leads to (kept so sealing need not
    /// compute it again). `None` when there is nothing to include and `allow_empty` is off.
    /// Arguments as for [`Chain::produce_block_with`].
    pub fn candidate_with(
        &mut self,
        miner: AccountId,
        now_ms: u64,
        allow_empty: bool,
        root: Option<&Chain>,
        anchors: Vec<ChildAnchor>,
    ) -> Result<Option<Candidate>, ChainError> {
        let allow_empty = allow_empty || !anchors.is_empty();
        if self.mempool.is_empty() && !allow_empty {
            return Ok(None);
        }
        let relay = self.current_relay(root)?;
        let tip = self.tip_hash();
        let HeaderRules {
            difficulty,
            median_time_ms: median_ms,
        } = self.rules_after(&tip)?;
        let height = self.tip_height().saturating_add(1);
        let candidates = {
            let view = self.tip_view();
            self.mempool.select(BLOCK_TXS_MAX, |sender| {
                view.account(sender).map(|a| a.nonce).unwrap_or(u64::MAX)
            })
        };
        let time_ms = now_ms.max(median_ms.saturating_add(1));
        let context = self.context_on_tip(time_ms, relay);
        let mut view = self.tip_view_with(relay);
        // Each anchor on its own: one that no longer follows what this chain anchored last
        // (its tip moved since the anchors were read) is left out, not the whole block.
        let mut carried_anchors = Vec::with_capacity(anchors.len());
        let mut carried = Vec::with_capacity(anchors.len());
        for ChildAnchor { anchor, headers } in anchors {
            let one = std::slice::from_ref(&anchor);
            let headers = vec![headers];
            match apply_anchors(&mut view, &self.params, height, time_ms, one, &headers) {
                Ok(()) => {
                    carried_anchors.push(anchor);
                    carried.extend(headers);
                }
                Err(ChainError::Block(BlockError::BadAnchor(_))) => {}
                Err(e) => return Err(e),
            }
        }
        let anchors = carried_anchors;
        crate::bounty::start_root_block(&mut view, &self.params, height)
            .map_err(apply_to_chain_error)?;
        let mut included = Vec::new();
        let mut refused = Vec::new();
        let mut fees = Amount::ZERO;
        // Senders with a transaction that did not fit this block (its bytes, or a Dispute's
        // fuel): it and their later transactions wait in the mempool for the next block.
        let mut deferred: BTreeSet<AccountId> = BTreeSet::new();
        // What `Block::check_body` allows: the transactions' bytes and the anchor headers'
        // within `BLOCK_SIZE_BYTES_MAX`. A full mempool of large transactions is mined over
        // several blocks, never sealed into one that every node (this one too) refuses.
        let mut size_bytes = HEADER_SIZE_BYTES_MAX
            .saturating_add(VEC_LENGTH_BYTES)
            .saturating_add(codec::encode(&carried).len());
        for tx in candidates {
            if deferred.contains(&tx.body.sender) {
                continue;
            }
            let tx_size = tx.to_bytes().len();
            if size_bytes.saturating_add(tx_size) > BLOCK_SIZE_BYTES_MAX {
                deferred.insert(tx.body.sender);
                continue;
            }
            match view.try_apply_transaction(&tx, &context) {
                Ok(fee) => match fees.checked_add(fee) {
                    Ok(total) => {
                        fees = total;
                        size_bytes = size_bytes.saturating_add(tx_size);
                        included.push(tx);
                    }
                    Err(_) => refused.push((tx.hash(), TxError::Overflow)),
                },
                Err(ApplyError::Tx(TxError::DisputeFuelFull { .. })) => {
                    deferred.insert(tx.body.sender);
                }
                Err(ApplyError::Tx(error)) => refused.push((tx.hash(), error)),
                Err(ApplyError::Store(e)) => return Err(e.into()),
                Err(ApplyError::Sandbox(e)) => return Err(ChainError::Sandbox(e)),
            }
        }
        let update = if included.is_empty() && !allow_empty {
            None
        } else {
            view.pay_block_miner(&self.params, &miner, fees)
                .map_err(apply_to_chain_error)?;
            Some(compute_state_update(
                self.store.as_ref(),
                view.into_changes(),
                height,
            )?)
        };
        for (hash, error) in refused {
            let mut gone = self.mempool.remove_with_successors(&hash).into_iter();
            let Some(first) = gone.next() else { continue };
            // Its successors can never be mined: the nonce they wait for will not come.
            for later in gone {
                let why = TxError::BadNonce {
                    expected: first.body.nonce,
                    got: later.body.nonce,
                };
                self.remember_dropped(later.hash(), why);
            }
            self.remember_dropped(first.hash(), error);
        }
        let Some(update) = update else {
            return Ok(None);
        };
        let hashes: Vec<Hash> = included.iter().map(Transaction::hash).collect();
        let header = BlockHeader {
            chain: self.chain_id,
            parent: tip,
            height,
            time_ms,
            difficulty,
            nonce: 0,
            merged: MergedWork::default(),
            miner,
            tx_root: tx_root(&hashes),
            state_root: update.root,
            relay_parent: relay.map_or(Hash::ZERO, |r| r.hash),
            anchors,
            anchor_headers_hash: anchor_headers_hash(&carried),
        };
        Ok(Some(Candidate {
            block: Block {
                header,
                transactions: included,
                anchor_headers: carried,
            },
            update,
        }))
    }

    /// Seals a candidate of this chain with the proof of work found for it (`nonce`, and its
    /// place in the merged commitment) and imports it through the same path as any block
    /// (header rules, body checks); only the state update is reused. The tip may have moved
    /// since the candidate was built: the block then joins as a side branch, or is refused.
    pub fn seal_candidate(
        &mut self,
        candidate: Candidate,
        nonce: u64,
        merged: MergedWork,
        now_ms: u64,
        root: Option<&Chain>,
    ) -> Result<Block, ChainError> {
        let Candidate { mut block, update } = candidate;
        block.header.nonce = nonce;
        block.header.merged = merged;
        self.prepared = Some((block.hash(), update));
        self.import_block_with(block.clone(), now_ms, root)?;
        Ok(block)
    }

    /// Dev mode: seals a block at minimum difficulty as soon as the mempool holds a
    /// transaction. Returns the block, or `None` if there was nothing to include.
    pub fn seal_dev_block(
        &mut self,
        miner: AccountId,
        now_ms: u64,
    ) -> Result<Option<Block>, ChainError> {
        self.produce_block(miner, now_ms, false, u64::MAX)
    }
}

// Sync accessors (issue 4): what a node needs to serve and check headers-first sync. Reads
// only; importing still goes through `import_block`, which replays and validates everything.
impl Chain {
    /// A checker of headers extending the block `hash` (on any branch), holding the ancestors
    /// the header rules need: what headers-first sync checks a peer's headers with.
    pub fn header_checker_from(&self, hash: &Hash) -> Result<HeaderChainChecker, ChainError> {
        let ancestors = self.rule_ancestors(hash)?;
        let entry = ancestors.first().ok_or(BlockError::UnknownParent(*hash))?;
        let work = entry.meta.cumulative_work;
        let oldest_first = ancestors.iter().rev().map(|entry| entry.header.clone());
        Ok(HeaderChainChecker::resume(
            &self.params,
            oldest_first,
            work,
        )?)
    }

    /// Whether the block index holds `hash`, on any branch, valid or not.
    pub fn knows_block(&self, hash: &Hash) -> bool {
        self.index.contains_key(hash)
    }

    /// Whether `hash` is stored and known to be invalid (it, or an ancestor, failed validation).
    pub fn is_known_invalid(&self, hash: &Hash) -> bool {
        self.index
            .get(hash)
            .is_some_and(|e| e.meta.status == BlockStatus::Invalid)
    }

    /// A stored header by hash, on any branch.
    pub fn header_by_hash(&self, hash: &Hash) -> Option<BlockHeader> {
        self.index.get(hash).map(|e| e.header.clone())
    }

    /// The total work of the branch ending at `hash`, if it is stored.
    pub fn cumulative_work_of(&self, hash: &Hash) -> Option<u128> {
        self.index.get(hash).map(|e| e.meta.cumulative_work)
    }

    /// A stored block by hash, on any branch, read back from storage and checked.
    pub fn block_by_hash(&self, hash: &Hash) -> Result<Option<Block>, ChainError> {
        if !self.index.contains_key(hash) {
            return Ok(None);
        }
        Ok(Some(self.read_block(hash)?.0))
    }

    /// A best-chain locator, newest first: the tip and the 9 blocks before it, then hashes
    /// at exponentially growing distances, and genesis last. At most `hashes_max` hashes
    /// (at least the tip and genesis when `hashes_max >= 2`). A peer finds in it the last block
    /// both share, however far the two best chains have diverged.
    pub fn best_chain_locator(&self, hashes_max: usize) -> Vec<Hash> {
        let mut locator = Vec::new();
        if hashes_max == 0 {
            return locator;
        }
        let mut height = self.tip_height();
        let mut step = 1u64;
        loop {
            if height == 0 || locator.len().saturating_add(1) >= hashes_max {
                break;
            }
            if let Some(hash) = self.best_hash_at(height) {
                locator.push(*hash);
            }
            if locator.len() >= 10 {
                step = step.saturating_mul(2);
            }
            height = height.saturating_sub(step);
        }
        locator.push(self.genesis);
        locator
    }

    /// Up to `count_max` best-chain headers, oldest first, after the first hash of `locator`
    /// that is on this node's best chain (after genesis if none is).
    pub fn headers_after_locator(&self, locator: &[Hash], count_max: usize) -> Vec<BlockHeader> {
        let fork_height = locator
            .iter()
            .find_map(|hash| {
                let entry = self.index.get(hash)?;
                let height = usize::try_from(entry.header.height).ok()?;
                (self.best.get(height) == Some(hash)).then_some(height)
            })
            .unwrap_or(0);
        self.best
            .iter()
            .skip(fork_height.saturating_add(1))
            .take(count_max)
            .filter_map(|hash| self.index.get(hash).map(|e| e.header.clone()))
            .collect()
    }
}
