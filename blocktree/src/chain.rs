//! A chain of the blocktree: importing blocks, fork choice by most work, reorgs that roll state
//! back through jmt versions, the mempool in front of it, and the queries a node answers.
//!
//! Here: the [`Chain`] itself, opening and loading it, its genesis, the tip and the views of
//! state a block or a transaction is applied to. By concern, in submodules: `admission` (the
//! mempool's door), `import` (header and body checks, connecting, rolling back, reorgs),
//! `fork_choice` (which branch is best, the anchor floor), `build` (block candidates and
//! sealing), `reads` (state, proofs and blocks a node answers with) and `sync` (headers-first
//! sync's reads).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bincode::{Decode, Encode};
use bitverse_primitives::{ChainId, Hash, codec};
use serde::Serialize;

use crate::block::{Anchor, Block, BlockHeader};
use crate::error::{ChainError, StoreError, TxError};
use crate::genesis::{genesis_header_of, genesis_state};
use crate::mempool::Mempool;
use crate::params::ChainParams;
use crate::scripts::{BlockContext, LazyScriptRunner, StorePayments};
use crate::state::{
    RootRead, StateUpdate, StateView, apply_to_chain_error, compute_state_update,
    write_state_update,
};
use crate::store::{Column, KvStore, MemoryStore, PrefixedStore, WriteBatch};
use crate::tx::Transaction;

mod admission;
mod blobs;
mod build;
mod fork_choice;
mod import;
mod market;
mod reads;
mod sync;

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
    Ok(Block {
        header: genesis_header_of(params, chain)?,
        transactions: Vec::new(),
        anchor_headers: Vec::new(),
    })
}

/// The hash of [`genesis_block`].
pub fn genesis_hash_of(params: &ChainParams) -> Result<Hash, ChainError> {
    Ok(genesis_block(params)?.hash())
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

impl Chain {
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

    /// The best chain's block hash at `height`.
    fn best_hash_at(&self, height: u64) -> Option<&Hash> {
        usize::try_from(height).ok().and_then(|h| self.best.get(h))
    }

    /// The chain's script and transformation runners (shared with chains that share them).
    pub(crate) fn scripts_runner(&self) -> &LazyScriptRunner {
        &self.scripts
    }

    /// Uses `other`'s script runner (one engine and instance pool for a whole blocktree).
    pub(crate) fn share_scripts_of(&mut self, other: &Chain) {
        self.scripts = other.scripts.clone();
    }
}
