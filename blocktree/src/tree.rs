//! The blocktree: the root chain and the data chains below it, each with its own lock, in one
//! store. Routes transactions and blocks to their chain, opens chains as keyspaces bring them
//! to life, seals a write's chain and its ancestors together in dev mode, and builds the
//! proofs that walk from the root down to any chain.
//!
//! Lock order: a data chain's lock may be held while the root's is taken (a data chain is
//! validated against the root); never the other way round, and never two data chains at once.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bitverse_primitives::{AccountId, ChainId, Hash, codec};
use parking_lot::{Mutex, RwLock};

use crate::block::{Anchor, Block, MERGED_LEAVES_MAX, merged_commitment, pow_meets, work_hash};
use crate::chain::{Candidate, Chain, ImportOutcome, TxStatus};
use crate::error::{ChainError, StoreError, TxError};
use crate::params::ChainParams;
use crate::proof::{AnchorLink, ValueProof};
use crate::state::{KeyspaceRecord, anchor_key};
use crate::store::{Column, KvStore, MemoryStore, RocksStore, WriteBatch};
use crate::tx::{Transaction, TxPayload};

/// Most data chains one node keeps open. A network of depth 8 has 510.
pub const LIVE_CHAINS_MAX: usize = 1024;

/// Where the blocktree keeps the set of live chains it opened: in the shared store's meta
/// column, under a key no chain's prefix starts with (chain prefixes start with the depth).
const META_LIVE_CHAINS: &[u8] = b"\xffblocktree live chains";
/// The root height up to which root blocks' keyspace purchases have opened their chains. A
/// root block is committed before its purchases are noted, so after a crash the blocks above
/// this height are noted again at start.
const META_NOTED_HEIGHT: &[u8] = b"\xffblocktree noted root height";
/// Root blocks without purchases between two writes of the noted height: at most this many
/// are read again at start.
const NOTED_HEIGHT_STRIDE_BLOCKS: u64 = 1024;

/// Which chains a node stores, validates, mines and gossips. The root always.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tracking {
    /// Every chain.
    All,
    /// The branches under these prefixes (each prefix's chain and every chain below it), and
    /// the chains above them, which carry their anchors.
    Prefixes(Vec<ChainId>),
}

impl Tracking {
    /// Whether `chain` is tracked.
    pub fn tracks(&self, chain: ChainId) -> bool {
        match self {
            Tracking::All => true,
            Tracking::Prefixes(prefixes) => {
                chain.is_root()
                    || prefixes.iter().any(|prefix| {
                        is_ancestor_or_self(*prefix, chain) || is_ancestor_or_self(chain, *prefix)
                    })
            }
        }
    }
}

/// Whether `above` is `below` or one of its ancestors.
fn is_ancestor_or_self(above: ChainId, below: ChainId) -> bool {
    below.path_to_root().contains(&above)
}

/// What a node knows of one chain, for `bitverse chains`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSummary {
    /// The chain.
    pub chain: ChainId,
    /// Its best height, if this node stores it.
    pub height: Option<u64>,
    /// Its best block, if this node stores it.
    pub tip: Option<Hash>,
    /// The height its parent's best chain anchors (the root's own height for the root).
    pub anchored_height: Option<u64>,
    /// The height below which it is final: anchored, transitively, in a root block buried
    /// `final_depth_blocks` deep.
    pub final_height: Option<u64>,
    /// Whether this node stores and validates it.
    pub tracked: bool,
}

/// The root chain and the live data chains a node tracks.
pub struct Blocktree {
    params: ChainParams,
    store: Arc<dyn KvStore>,
    tracking: Tracking,
    root: Arc<Mutex<Chain>>,
    data: RwLock<BTreeMap<ChainId, Arc<Mutex<Chain>>>>,
}

impl Blocktree {
    /// Opens the blocktree stored in `data_dir` (RocksDB), creating the root at genesis if new,
    /// and reopening every data chain it had opened before.
    pub fn open(
        data_dir: &Path,
        params: ChainParams,
        tracking: Tracking,
    ) -> Result<Blocktree, ChainError> {
        let store: Arc<dyn KvStore> = Arc::new(RocksStore::open(data_dir)?);
        Blocktree::in_store(store, params, tracking)
    }

    /// A blocktree held in memory only: for tests.
    pub fn in_memory(params: ChainParams, tracking: Tracking) -> Result<Blocktree, ChainError> {
        Blocktree::in_store(Arc::new(MemoryStore::default()), params, tracking)
    }

    /// A blocktree over any store.
    pub fn in_store(
        store: Arc<dyn KvStore>,
        params: ChainParams,
        tracking: Tracking,
    ) -> Result<Blocktree, ChainError> {
        let root = Chain::in_store(store.clone(), params.clone(), ChainId::ROOT)?;
        let tree = Blocktree {
            params,
            store,
            tracking,
            root: Arc::new(Mutex::new(root)),
            data: RwLock::new(BTreeMap::new()),
        };
        let live: Vec<ChainId> = match tree.store.get(Column::Meta, META_LIVE_CHAINS)? {
            None => Vec::new(),
            Some(bytes) => codec::decode(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("live chains: {e}")))?,
        };
        for chain in live {
            tree.open_chain(chain)?;
        }
        tree.note_unnoted_root_blocks()?;
        // Anchor floors live in memory: each chain reads its own from its parent again, and
        // re-checks its relay parents as after a root reorg.
        tree.settle_all(true)?;
        Ok(tree)
    }

    /// Notes the root blocks above the noted height (see [`META_NOTED_HEIGHT`]).
    fn note_unnoted_root_blocks(&self) -> Result<(), ChainError> {
        let noted: u64 = match self.store.get(Column::Meta, META_NOTED_HEIGHT)? {
            None => 0,
            Some(bytes) => codec::decode(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("noted height: {e}")))?,
        };
        let tip = self.root.lock().tip().height;
        let mut height = noted.saturating_add(1);
        while height <= tip {
            let block = self.root.lock().block_at(height)?;
            if let Some(block) = block {
                self.note_root_block(&block)?;
            }
            height = height.saturating_add(1);
        }
        Ok(())
    }

    /// The network's parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// Which chains this node tracks.
    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    /// The root chain.
    pub fn root(&self) -> &Arc<Mutex<Chain>> {
        &self.root
    }

    /// A chain this node has open: the root, or a live tracked data chain.
    pub fn chain(&self, chain: ChainId) -> Option<Arc<Mutex<Chain>>> {
        if chain.is_root() {
            return Some(self.root.clone());
        }
        self.data.read().get(&chain).cloned()
    }

    /// The open data chains, shallowest first.
    pub fn data_chains(&self) -> Vec<ChainId> {
        let mut chains: Vec<ChainId> = self.data.read().keys().copied().collect();
        chains.sort_by_key(|c| (c.depth(), c.prefix()));
        chains
    }

    /// Opens `chain` and the chains above it (which carry its anchors), if tracked; remembers
    /// them so a restart reopens them. Returns the chain, or `None` when not tracked. Takes
    /// chain locks: the caller must hold none.
    pub fn open_chain(&self, chain: ChainId) -> Result<Option<Arc<Mutex<Chain>>>, ChainError> {
        if chain.is_root() {
            return Ok(Some(self.root.clone()));
        }
        if !self.tracking.tracks(chain) {
            return Ok(None);
        }
        if chain.depth() > self.params.depth_max() {
            return Err(TxError::DepthTooDeep {
                depth: chain.depth(),
                depth_max: self.params.depth_max(),
            }
            .into());
        }
        let mut opened = Vec::new();
        for id in chain
            .path_to_root()
            .into_iter()
            .rev()
            .filter(|c| !c.is_root())
        {
            if self.data.read().contains_key(&id) {
                continue;
            }
            let mut data = self.data.write();
            if data.len() >= LIVE_CHAINS_MAX {
                return Err(ChainError::TooManyChains {
                    chains_max: LIVE_CHAINS_MAX,
                });
            }
            let mut new_chain = Chain::in_store(self.store.clone(), self.params.clone(), id)?;
            new_chain.share_scripts_of(&self.root.lock());
            data.insert(id, Arc::new(Mutex::new(new_chain)));
            opened.push(id);
        }
        if !opened.is_empty() {
            let live: Vec<ChainId> = self.data.read().keys().copied().collect();
            let mut batch = WriteBatch::default();
            batch.put(
                Column::Meta,
                META_LIVE_CHAINS.to_vec(),
                codec::encode(&live),
            );
            self.store.write(batch)?;
        }
        // A chain opened after its parent anchored it (its first keyspace came from the
        // network, say) takes that anchor now rather than at the parent's next block.
        // Shallowest first; the caller holds no chain's lock.
        for id in opened {
            self.settle_one(id, false)?;
        }
        Ok(self.chain(chain))
    }

    /// Brings to life the chains of the keyspaces a root block bought below the root, and
    /// records that the block was noted.
    pub fn note_root_block(&self, block: &Block) -> Result<(), ChainError> {
        let mut bought_deep = false;
        for tx in &block.transactions {
            if let TxPayload::BuyKeyspace { name, depth, .. } = &tx.body.payload
                && *depth > 0
                && let Some(chain) = chain_of_keyspace(name, *depth)
            {
                self.open_chain(chain)?;
                bought_deep = true;
            }
        }
        // A synced write per root block would double the dev sealer's: the mark moves when a
        // purchase was noted, and otherwise every so often, which bounds the rescan at start.
        if !bought_deep
            && !block
                .header
                .height
                .is_multiple_of(NOTED_HEIGHT_STRIDE_BLOCKS)
        {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        batch.put(
            Column::Meta,
            META_NOTED_HEIGHT.to_vec(),
            codec::encode(&block.header.height),
        );
        self.store.write(batch)?;
        Ok(())
    }

    /// The chain a key's writes go to: its home keyspace's, by the root's registry at its tip.
    pub fn chain_of_key(&self, key: &str) -> Result<ChainId, ChainError> {
        let record = self.home_record(key)?;
        record
            .chain()
            .ok_or_else(|| TxError::InvalidKeyspaceName(record.name.clone()).into())
    }

    /// The name of a key's home keyspace, by the root's registry at its tip.
    pub fn home_keyspace(&self, key: &str) -> Result<String, ChainError> {
        Ok(self.home_record(key)?.name)
    }

    fn home_record(&self, key: &str) -> Result<KeyspaceRecord, ChainError> {
        Ok(self.root.lock().home_of(key)?.1)
    }

    /// Admits a transaction to its chain's mempool (the chain it names).
    pub fn submit(&self, tx: Transaction) -> Result<Hash, ChainError> {
        let chain_id = tx.body.chain;
        if chain_id.is_root() {
            return self.root.lock().submit_transaction(tx);
        }
        let chain = match self.chain(chain_id) {
            Some(chain) => chain,
            // A chain comes to life with its first keyspace, which a root block from the
            // network may have bought: open it when a write shows it is live.
            None => self.open_if_live(&tx, chain_id)?,
        };
        let mut chain = chain.lock();
        let root = self.root.lock();
        chain.submit_transaction_with(tx, Some(&root))
    }

    /// Opens `chain_id` for `tx` if the root's registry puts `tx`'s key there and this node
    /// tracks it.
    fn open_if_live(
        &self,
        tx: &Transaction,
        chain_id: ChainId,
    ) -> Result<Arc<Mutex<Chain>>, ChainError> {
        let key = match &tx.body.payload {
            TxPayload::Put { key, .. } | TxPayload::Delete { key } => key,
            _ => return Err(TxError::RootOnly { chain: chain_id }.into()),
        };
        let home = self.chain_of_key(key)?;
        if home != chain_id {
            return Err(TxError::KeyOnOtherChain {
                key: key.clone(),
                home,
                here: chain_id,
            }
            .into());
        }
        self.open_chain(chain_id)?
            .ok_or(ChainError::NotTracked(chain_id))
    }

    /// Imports a block into its chain; if the chain's tip moved, the chains below follow
    /// (see [`Blocktree::settle_after`]).
    pub fn import(&self, block: Block, now_ms: u64) -> Result<ImportOutcome, ChainError> {
        let chain_id = block.header.chain;
        if chain_id.is_root() {
            let outcome = self.root.lock().import_block(block.clone(), now_ms)?;
            self.note_root_block(&block)?;
            self.settle_after(ChainId::ROOT, &outcome)?;
            return Ok(outcome);
        }
        let chain = self
            .chain(chain_id)
            .ok_or(ChainError::NotTracked(chain_id))?;
        let outcome = {
            let mut chain = chain.lock();
            let root = self.root.lock();
            chain.import_block_with(block, now_ms, Some(&root))?
        };
        self.settle_after(chain_id, &outcome)?;
        Ok(outcome)
    }

    /// After a block was imported into `chain` (by [`Blocktree::import`], or by a caller that
    /// imports into a chain directly): if its tip moved, each open child takes the anchor the
    /// new tip's state holds as the header its tip must extend, and moves its tip if the fork
    /// choice now wants another, passing it on down. After a root reorg every open data chain
    /// also orphans the blocks whose relay parent left the root's best chain.
    pub fn settle_after(&self, chain: ChainId, outcome: &ImportOutcome) -> Result<(), ChainError> {
        match outcome {
            ImportOutcome::SideChain => Ok(()),
            ImportOutcome::NewTip { reorged_blocks, .. } => {
                if chain.is_root() && *reorged_blocks > 0 {
                    self.settle_all(true)
                } else {
                    self.settle_below(chain)
                }
            }
        }
    }

    /// After the root's tip moved from `previous_tip` by a path other than
    /// [`Blocktree::import`] (the network imports into the root chain directly): the data
    /// chains settle as [`Blocktree::settle_after`] says, as after a reorg if `previous_tip`
    /// left the root's best chain.
    pub fn root_tip_moved(&self, previous_tip: &Hash) -> Result<(), ChainError> {
        let reorged = {
            let root = self.root.lock();
            root.header_by_hash(previous_tip)
                .and_then(|header| root.best_header(previous_tip, header.height))
                .is_none()
        };
        if reorged {
            self.settle_all(true)
        } else {
            self.settle_below(ChainId::ROOT)
        }
    }

    /// The children of `changed` settle on their anchor floors; a child whose tip moved
    /// passes it on to its own. Each open chain below is visited at most once.
    fn settle_below(&self, changed: ChainId) -> Result<(), ChainError> {
        let mut waiting: Vec<ChainId> = changed.children().map(Vec::from).unwrap_or_default();
        while let Some(child) = waiting.pop() {
            if self.settle_one(child, false)?.is_some() {
                waiting.extend(child.children().into_iter().flatten());
            }
        }
        Ok(())
    }

    /// Every open data chain settles, shallowest first so each reads its parent's settled
    /// tip; with `root_reorged`, each also re-checks its relay parents.
    fn settle_all(&self, root_reorged: bool) -> Result<(), ChainError> {
        for chain in self.data_chains() {
            self.settle_one(chain, root_reorged)?;
        }
        Ok(())
    }

    /// `chain` reads its anchor from its parent's tip state, then settles (see
    /// [`Chain::settle`]); the two locks are taken in turn, never together (two data chains),
    /// and the parent's change count keeps a stale read from winning over a newer one.
    fn settle_one(&self, chain: ChainId, root_reorged: bool) -> Result<Option<u64>, ChainError> {
        let Some(parent_id) = chain.parent() else {
            return Ok(None);
        };
        let (Some(parent), Some(child)) = (self.chain(parent_id), self.chain(chain)) else {
            return Ok(None);
        };
        let (floor, parent_seq) = {
            let parent = parent.lock();
            (
                parent.anchor_at(&chain, parent.tip().height)?,
                parent.best_changes(),
            )
        };
        let mut child = child.lock();
        let root = self.root.lock();
        child.settle(floor, parent_seq, Some(&root), root_reorged)
    }

    /// Where a transaction stands on `chain`.
    pub fn tx_status(&self, chain: ChainId, hash: &Hash) -> Result<TxStatus, ChainError> {
        let chain = self.chain(chain).ok_or(ChainError::NotTracked(chain))?;
        chain.lock().tx_status(hash)
    }

    /// A key's value at its chain's tip.
    pub fn value(&self, key: &str) -> Result<Option<Vec<u8>>, ChainError> {
        let chain_id = self.chain_of_key(key)?;
        if chain_id.is_root() {
            return self.root.lock().value(key);
        }
        let chain = self
            .chain(chain_id)
            .ok_or(ChainError::NotTracked(chain_id))?;
        let chain = chain.lock();
        let root = self.root.lock();
        chain.value_with(key, Some(&root))
    }

    /// Dev mode: seals what is waiting on every chain, then the ancestors of every chain that
    /// moved, deepest first, each parent anchoring its children's new tips, up to the root: a
    /// write at any depth is anchored in the root at once. Returns the blocks, in order.
    pub fn seal_dev(&self, miner: AccountId, now_ms: u64) -> Result<Vec<Block>, ChainError> {
        let mut sealed = Vec::new();
        // The root's own transactions first: a keyspace bought now opens its chain.
        // Bound first: the root's lock must be released before a bought keyspace opens chains.
        let root_block = self.root.lock().seal_dev_block(miner, now_ms)?;
        if let Some(block) = root_block {
            self.note_root_block(&block)?;
            sealed.push(block);
        }
        // Deepest first, so each parent anchors its children's new tips.
        for chain_id in self.data_chains().into_iter().rev() {
            let anchors = self.fresh_anchors(chain_id)?;
            let Some(chain) = self.chain(chain_id) else {
                continue;
            };
            let mut chain = chain.lock();
            if chain.mempool_is_empty() && anchors.is_empty() {
                continue;
            }
            let root = self.root.lock();
            if let Some(block) =
                chain.produce_block_with(miner, now_ms, false, u64::MAX, Some(&root), anchors)?
            {
                sealed.push(block);
            }
        }
        let anchors = self.fresh_anchors(ChainId::ROOT)?;
        if !anchors.is_empty() {
            let block = self.root.lock().produce_block_with(
                miner,
                now_ms,
                true,
                u64::MAX,
                None,
                anchors,
            )?;
            sealed.extend(block);
        }
        self.settle_after_sealing(&sealed)?;
        Ok(sealed)
    }

    /// The chains below each chain that sealed a block settle on their new anchors (each
    /// parent here anchors its children's tips, so normally none moves: the new floors are
    /// recorded, through the no-scan path of [`Chain::settle`]).
    fn settle_after_sealing(&self, sealed: &[Block]) -> Result<(), ChainError> {
        let mut moved: Vec<ChainId> = sealed.iter().map(|block| block.header.chain).collect();
        moved.sort_by_key(|c| (c.depth(), c.prefix()));
        moved.dedup();
        for chain in moved {
            self.settle_below(chain)?;
        }
        Ok(())
    }

    /// Anchors of `parent`'s open children whose tips are past what `parent`'s tip state
    /// anchors: what `parent`'s next block should carry.
    pub fn fresh_anchors(&self, parent: ChainId) -> Result<Vec<Anchor>, ChainError> {
        let Some(children) = parent.children() else {
            return Ok(Vec::new());
        };
        let mut anchors = Vec::new();
        for child in children {
            let Some(child_chain) = self.chain(child) else {
                continue;
            };
            let tip = child_chain.lock().tip();
            if tip.height == 0 {
                continue;
            }
            let Some(parent_chain) = self.chain(parent) else {
                continue;
            };
            let anchored = {
                let parent_chain = parent_chain.lock();
                let version = parent_chain.tip().height;
                parent_chain.anchor_at(&child, version)?
            };
            if anchored.is_none_or(|a| a.height < tip.height) {
                anchors.push(Anchor {
                    chain: child,
                    height: tip.height,
                    hash: tip.hash,
                });
            }
        }
        Ok(anchors)
    }

    /// A key's value (or absence) with its proof against the root's tip: the keyspace proofs,
    /// then for a deeper keyspace one anchor link per level down to its chain's anchored
    /// header, then the value in that header's state. Each chain is locked alone, in turn.
    pub fn value_proof(&self, key: &str) -> Result<ValueProof, ChainError> {
        let (mut proof, record, slot, root_height) = {
            let root = self.root.lock();
            let (proof, record, slot) = root.registry_proof(key)?;
            (proof, record, slot, root.tip().height)
        };
        let mut level = (ChainId::ROOT, root_height);
        for depth in 1..=record.depth {
            let child = ChainId::of_address(&slot.0, depth).ok_or(TxError::Overflow)?;
            let (above, version) = level;
            let above_chain = self.chain(above).ok_or(ChainError::NotTracked(above))?;
            let (anchor, anchor_proof) =
                above_chain.lock().prove_leaf(anchor_key(&child), version)?;
            let anchor: Anchor = match anchor {
                Some(bytes) => codec::decode(&bytes)
                    .map_err(|e| StoreError::Corrupt(format!("anchor of {child}: {e}")))?,
                None => {
                    return Err(ChainError::RelayPending(format!(
                        "chain {child} is not anchored in chain {above} yet"
                    )));
                }
            };
            let child_chain = self.chain(child).ok_or(ChainError::NotTracked(child))?;
            let header = child_chain
                .lock()
                .best_header(&anchor.hash, anchor.height)
                .ok_or_else(|| {
                    ChainError::RelayPending(format!(
                        "the anchored block {} of chain {child} is not on its best chain here",
                        anchor.hash
                    ))
                })?;
            proof.links.push(AnchorLink {
                header,
                anchor_proof,
            });
            level = (child, anchor.height);
        }
        let (bottom, version) = level;
        let bottom_chain = self.chain(bottom).ok_or(ChainError::NotTracked(bottom))?;
        let (value, value_proof) = bottom_chain.lock().prove_leaf(slot, version)?;
        proof.value = value;
        proof.value_proof = value_proof;
        Ok(proof)
    }

    /// What this node knows of every chain it has open, root first.
    pub fn summaries(&self) -> Result<Vec<ChainSummary>, ChainError> {
        let root_tip = self.root.lock().tip();
        let root_final = root_tip
            .height
            .saturating_sub(self.params.final_depth_blocks);
        let mut summaries = vec![ChainSummary {
            chain: ChainId::ROOT,
            height: Some(root_tip.height),
            tip: Some(root_tip.hash),
            anchored_height: Some(root_tip.height),
            final_height: Some(root_final),
            tracked: true,
        }];
        // Anchored and final heights as the parent sees them, shallowest first so each
        // parent's final height is known before its children's.
        let mut finals: BTreeMap<ChainId, Option<u64>> = BTreeMap::new();
        finals.insert(ChainId::ROOT, Some(root_final));
        let mut data = Vec::new();
        for chain_id in self.data_chains() {
            let Some(chain) = self.chain(chain_id) else {
                continue;
            };
            let parent_id = chain_id.parent().unwrap_or(ChainId::ROOT);
            let (anchored, final_anchor) = match self.chain(parent_id) {
                None => (None, None),
                Some(parent) => {
                    let parent = parent.lock();
                    let anchored = parent
                        .anchor_at(&chain_id, parent.tip().height)?
                        .map(|a| a.height);
                    // The anchor in the parent's final block, read at a height of the
                    // parent's best chain (what the parent's own final height is).
                    let final_anchor = match finals.get(&parent_id).copied().flatten() {
                        Some(version) => parent.anchor_at(&chain_id, version)?,
                        None => None,
                    };
                    (anchored, final_anchor)
                }
            };
            // Final is what the buried anchor vouches for on this chain's best chain: the
            // anchored block's height when it is on it (the fork choice keeps it there), else
            // the last block the two share. Its children's anchors are read at that height.
            let (tip, final_height) = {
                let chain = chain.lock();
                let final_height =
                    final_anchor.and_then(|anchor| chain.best_ancestor_height(&anchor.hash));
                (chain.tip(), final_height)
            };
            finals.insert(chain_id, final_height);
            data.push(ChainSummary {
                chain: chain_id,
                height: Some(tip.height),
                tip: Some(tip.hash),
                anchored_height: anchored,
                final_height,
                tracked: true,
            });
        }
        // Depth-first, each chain under its parent: bit strings in text order are preorder.
        data.sort_by_key(|summary| summary.chain.to_string());
        summaries.extend(data);
        Ok(summaries)
    }

    /// Mining off `--dev`, merged (DESIGN §2): builds a candidate block on every chain this
    /// node has open (the root first, then data chains shallowest first, at most
    /// [`MERGED_LEAVES_MAX`]; each parent's candidate anchors its children's newest tips),
    /// commits to all of them in one Merkle root, and searches at most `nonce_attempts_max`
    /// nonces for a work hash that meets the easiest of their difficulties, holding no lock.
    /// A hash found seals every candidate whose target it meets, so hash power does not split
    /// across chains. A data chain whose relay parent is not deep enough on the root yet sits
    /// the round out. Returns the blocks sealed, the root's first.
    pub fn mine_round(
        &self,
        miner: AccountId,
        now_ms: u64,
        nonce_attempts_max: u64,
    ) -> Result<Vec<Block>, ChainError> {
        let mut candidates: Vec<Candidate> = Vec::new();
        let anchors = self.fresh_anchors(ChainId::ROOT)?;
        candidates.extend(
            self.root
                .lock()
                .candidate_with(miner, now_ms, true, None, anchors)?,
        );
        let leaves_max = usize::try_from(MERGED_LEAVES_MAX).unwrap_or(usize::MAX);
        for chain_id in self.data_chains() {
            if candidates.len() >= leaves_max {
                break;
            }
            let anchors = self.fresh_anchors(chain_id)?;
            let Some(chain) = self.chain(chain_id) else {
                continue;
            };
            let mut chain = chain.lock();
            let root = self.root.lock();
            match chain.candidate_with(miner, now_ms, true, Some(&root), anchors) {
                Ok(candidate) => candidates.extend(candidate),
                Err(ChainError::RelayPending(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let seals: Vec<Hash> = candidates.iter().map(Candidate::seal_hash).collect();
        let Some((commitment, places)) = merged_commitment(&seals) else {
            return Ok(Vec::new());
        };
        let easiest = candidates
            .iter()
            .map(Candidate::difficulty)
            .min()
            .unwrap_or(u64::MAX);
        let Some((nonce, work)) = (0..nonce_attempts_max)
            .map(|nonce| (nonce, work_hash(&commitment, nonce)))
            .find(|(_, work)| pow_meets(work, easiest))
        else {
            return Ok(Vec::new());
        };
        let mut mined = Vec::new();
        for (candidate, place) in candidates.into_iter().zip(places) {
            if !pow_meets(&work, candidate.difficulty()) {
                continue;
            }
            let chain_id = candidate.block.header.chain;
            let sealed = if chain_id.is_root() {
                self.root
                    .lock()
                    .seal_candidate(candidate, nonce, place, now_ms, None)
            } else {
                let Some(chain) = self.chain(chain_id) else {
                    continue;
                };
                let mut chain = chain.lock();
                let root = self.root.lock();
                chain.seal_candidate(candidate, nonce, place, now_ms, Some(&root))
            };
            match sealed {
                Ok(block) => {
                    if chain_id.is_root() {
                        self.note_root_block(&block)?;
                    }
                    mined.push(block);
                }
                // The root moved off the candidate's relay parent while the work was searched.
                Err(ChainError::RelayPending(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.settle_after_sealing(&mined)?;
        Ok(mined)
    }
}

/// The chain a keyspace named `name` bought at `depth` lives on: the first `depth` bits of
/// its address, which all its keys share (DESIGN §3).
pub fn chain_of_keyspace(name: &str, depth: u8) -> Option<ChainId> {
    let name = bitverse_keyspace::KeyspaceName::new(name).ok()?;
    ChainId::of_address(&bitverse_keyspace::key_address(&name, ""), depth)
}
