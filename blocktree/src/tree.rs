//! The blocktree: the root chain and the data chains below it, each with its own lock, in one
//! store. Routes transactions and blocks to their chain, opens chains as keyspaces bring them
//! to life, seals a write's chain and its ancestors together in dev mode, and builds the
//! proofs that walk from the root down to any chain.
//!
//! Lock order: a data chain's lock may be held while the root's is taken (a data chain is
//! validated against the root); never the other way round. Two data chains at once only in dev
//! sealing of one depth, which takes them in ascending chain order and the root's last.
//!
//! Signatures are checked before any lock is taken, a batch's on every core: a chain's lock
//! is held only for the checks that need its state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bitverse_primitives::{AccountId, Amount, ChainId, Hash, codec};
use parking_lot::{Mutex, RwLock};

use crate::anchoring::{ANCHOR_HEADERS_MAX, ChildAnchor};
use crate::block::{
    Anchor, Block, BlockHeader, MERGED_LEAVES_MAX, merged_commitment, pow_meets, work_hash,
};
use crate::chain::{Candidate, Chain, ImportOutcome, TxStatus};
use crate::endowment::{EarningsProof, earned_key};
use crate::error::{ChainError, EarningsError, KeyspaceError, StatelessError, StoreError, TxError};
use crate::params::ChainParams;
use crate::proof::{AnchorLink, ValueProof};
pub use crate::state::chain_of_keyspace;
use crate::state::{KeyspaceRecord, anchor_key};
use crate::store::{Column, KvStore, MemoryStore, WriteBatch};
use crate::tx::{Transaction, TxPayload, VerifiedTx};

/// Most data chains one node keeps open. A network of depth 8 has 510.
pub const LIVE_CHAINS_MAX: usize = 1024;
/// Most transactions [`Blocktree::submit_batch`] admits to one chain per hold of its lock (and
/// the root's): a long batch lets other callers in between, every this many.
pub const SUBMIT_BATCH_TXS_PER_LOCK_MAX: usize = 1024;
/// Most threads the blocktree runs work on at once (signature checks of a batch, sibling
/// chains sealed together); fewer when the machine has fewer cores.
pub const WORK_THREADS_MAX: usize = 16;
/// Fewest signatures worth a thread of their own: below it a thread's start costs more than
/// the checks it would share.
const VERIFY_TXS_PER_THREAD_MIN: usize = 16;

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
            return Err(KeyspaceError::DepthTooDeep {
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
            // Another caller (the dev sealer noting a purchase, a write admitted at the same
            // time) may have opened it between the two locks: two `Chain`s over one chain's
            // storage would each believe its own tip.
            if data.contains_key(&id) {
                continue;
            }
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
        if let Some(chain) = record.chain() {
            return Ok(chain);
        }
        // Never for a registered keyspace: its name and depth were checked when it was bought.
        Err(match bitverse_keyspace::KeyspaceName::new(&record.name) {
            Err(e) => StatelessError::InvalidKeyspaceName(e).into(),
            Ok(_) => KeyspaceError::DepthTooDeep {
                depth: record.depth,
                depth_max: bitverse_primitives::DEPTH_MAX,
            }
            .into(),
        })
    }

    /// The name of a key's home keyspace, by the root's registry at its tip.
    pub fn home_keyspace(&self, key: &str) -> Result<String, ChainError> {
        Ok(self.home_record(key)?.name)
    }

    fn home_record(&self, key: &str) -> Result<KeyspaceRecord, ChainError> {
        Ok(self.root.lock().home_of(key)?.1)
    }

    /// Admits a transaction to its chain's mempool (the chain it names). The stateless checks
    /// and the signature are checked before any lock is taken, so concurrent callers verify in
    /// parallel and hold the chain's lock only for the checks that need its state.
    pub fn submit(&self, tx: Transaction) -> Result<Hash, ChainError> {
        let verified = VerifiedTx::check(tx)?;
        let chain_id = verified.chain();
        if chain_id.is_root() {
            return self.root.lock().admit_verified(verified, None);
        }
        let chain = match self.chain(chain_id) {
            Some(chain) => chain,
            // A chain comes to life with its first keyspace, which a root block from the
            // network may have bought: open it when a write shows it is live.
            None => self.open_if_live(verified.tx(), chain_id)?,
        };
        let mut chain = chain.lock();
        let root = self.root.lock();
        young_keyspace(
            &root,
            chain.admit_verified(verified, Some(&root)),
            &self.params,
        )
    }

    /// Admits many transactions, each with the result [`Blocktree::submit`] would give it
    /// (in the same order): every signature is checked first, in parallel and without a lock;
    /// then the transactions are grouped by the chain they name, and each chain's lock (with
    /// the root's, after it) is taken once per [`SUBMIT_BATCH_TXS_PER_LOCK_MAX`] of them, for
    /// the nonce checks and dry runs alone. Within a chain the batch's order is kept, so a
    /// sender's successive nonces may come in one batch.
    pub fn submit_batch(&self, txs: Vec<Transaction>) -> Vec<Result<Hash, ChainError>> {
        let mut results: Vec<(usize, Result<Hash, ChainError>)> = Vec::with_capacity(txs.len());
        let mut by_chain: BTreeMap<ChainId, Vec<(usize, VerifiedTx)>> = BTreeMap::new();
        for (index, checked) in verify_all(txs).into_iter().enumerate() {
            match checked {
                Ok(verified) => by_chain
                    .entry(verified.chain())
                    .or_default()
                    .push((index, verified)),
                Err(error) => results.push((index, Err(error.into()))),
            }
        }
        for (chain_id, items) in by_chain {
            self.admit_to_chain(chain_id, items, &mut results);
        }
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, result)| result).collect()
    }

    /// Admits `items`, all naming `chain_id`, recording each one's result under its index.
    fn admit_to_chain(
        &self,
        chain_id: ChainId,
        items: Vec<(usize, VerifiedTx)>,
        results: &mut Vec<(usize, Result<Hash, ChainError>)>,
    ) {
        let mut items = items.into_iter();
        let chain = if chain_id.is_root() {
            self.root.clone()
        } else {
            match self.chain(chain_id) {
                Some(chain) => chain,
                None => {
                    // As one by one: each write tries to open its chain until one shows it
                    // is live, and those before it get their reason.
                    let mut opened = None;
                    for (index, verified) in items.by_ref() {
                        match self.open_if_live(verified.tx(), chain_id) {
                            Ok(chain) => {
                                opened = Some(chain.clone());
                                let mut chain = chain.lock();
                                let root = self.root.lock();
                                let admitted = chain.admit_verified(verified, Some(&root));
                                results
                                    .push((index, young_keyspace(&root, admitted, &self.params)));
                                break;
                            }
                            Err(error) => results.push((index, Err(error))),
                        }
                    }
                    match opened {
                        Some(chain) => chain,
                        None => return,
                    }
                }
            }
        };
        loop {
            let share: Vec<(usize, VerifiedTx)> =
                items.by_ref().take(SUBMIT_BATCH_TXS_PER_LOCK_MAX).collect();
            if share.is_empty() {
                return;
            }
            let mut chain = chain.lock();
            if chain_id.is_root() {
                results.extend(chain.admit_verified_all(share, None));
            } else {
                let root = self.root.lock();
                let admitted = chain.admit_verified_all(share, Some(&root));
                results.extend(admitted.into_iter().map(|(index, admitted)| {
                    (index, young_keyspace(&root, admitted, &self.params))
                }));
            }
        }
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
            _ => return Err(StatelessError::RootOnly { chain: chain_id }.into()),
        };
        let home = self.chain_of_key(key)?;
        if home != chain_id {
            return Err(KeyspaceError::KeyOnOtherChain {
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
        // Deepest first, so each parent anchors its children's new tips; the chains of one
        // depth are independent of each other and are sealed together.
        let chains = self.data_chains();
        let depths: BTreeSet<u8> = chains.iter().map(|c| c.depth()).collect();
        for depth in depths.into_iter().rev() {
            let level: Vec<ChainId> = chains
                .iter()
                .copied()
                .filter(|c| c.depth() == depth)
                .collect();
            let mut blocks = self.seal_level(&level, miner, now_ms)?;
            // The order one chain at a time gave: the level's chains last prefix first.
            blocks.reverse();
            sealed.extend(blocks);
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

    /// Seals, in parallel, the chains of `level` (all of one depth, so none anchors another)
    /// that have transactions waiting or children to anchor; returns their blocks in the
    /// level's order. Each chain's lock is taken in `level`'s (ascending) order and the root's
    /// after them all, then shared by every thread for reading: the lock order (data chains,
    /// then the root) holds, and no two sealers can wait on each other.
    fn seal_level(
        &self,
        level: &[ChainId],
        miner: AccountId,
        now_ms: u64,
    ) -> Result<Vec<Block>, ChainError> {
        let mut work = Vec::new();
        for &chain_id in level {
            let anchors = self.fresh_anchors(chain_id)?;
            if let Some(chain) = self.chain(chain_id) {
                work.push((chain, anchors));
            }
        }
        let mut guards = Vec::new();
        for (chain, anchors) in &work {
            let guard = chain.lock();
            if guard.mempool_is_empty() && anchors.is_empty() {
                continue;
            }
            guards.push((guard, anchors.clone()));
        }
        if guards.is_empty() {
            return Ok(Vec::new());
        }
        let root = self.root.lock();
        let root: &Chain = &root;
        let jobs: Vec<(&mut Chain, Vec<ChildAnchor>)> = guards
            .iter_mut()
            .map(|(guard, anchors)| (&mut **guard, std::mem::take(anchors)))
            .collect();
        let outcomes = parallel_map(jobs, 1, |(chain, anchors)| {
            chain.produce_block_with(miner, now_ms, false, u64::MAX, Some(root), anchors)
        });
        let mut blocks = Vec::new();
        for outcome in outcomes {
            blocks.extend(outcome?);
        }
        Ok(blocks)
    }

    /// Anchors of `parent`'s open children whose best chains have moved past what `parent`'s
    /// tip state anchors, each with the child's headers since that anchor (at most
    /// [`ANCHOR_HEADERS_MAX`], so a child far ahead is anchored part of the way): what
    /// `parent`'s next block should carry. A child whose best chain does not extend the header
    /// anchored last (it cannot be anchored until it does) is left out.
    pub fn fresh_anchors(&self, parent: ChainId) -> Result<Vec<ChildAnchor>, ChainError> {
        let Some(children) = parent.children() else {
            return Ok(Vec::new());
        };
        let Some(parent_chain) = self.chain(parent) else {
            return Ok(Vec::new());
        };
        let mut anchors = Vec::new();
        for child in children {
            let Some(child_chain) = self.chain(child) else {
                continue;
            };
            let anchored = {
                let parent_chain = parent_chain.lock();
                let version = parent_chain.tip().height;
                parent_chain.anchor_at(&child, version)?
            };
            let child_chain = child_chain.lock();
            let tip = child_chain.tip();
            let from = match &anchored {
                Some(previous) => {
                    if child_chain.best_ancestor_height(&previous.hash) != Some(previous.height) {
                        continue;
                    }
                    previous.height
                }
                None => 0,
            };
            if tip.height <= from {
                continue;
            }
            let steps = u64::try_from(ANCHOR_HEADERS_MAX).unwrap_or(u64::MAX);
            let to = tip.height.min(from.saturating_add(steps));
            let mut headers = Vec::new();
            for height in from.saturating_add(1)..=to {
                match child_chain.header_at(height)? {
                    Some(header) => headers.push(header),
                    None => break,
                }
            }
            let Some(last) = headers.last() else {
                continue;
            };
            anchors.push(ChildAnchor {
                anchor: Anchor {
                    chain: child,
                    height: last.height,
                    hash: last.hash(),
                },
                headers,
            });
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
        let home = ChainId::of_address(&slot.0, record.depth).ok_or(TxError::Overflow)?;
        let (links, (bottom, version)) = self.anchor_links(home, root_height)?;
        proof.links = links;
        let bottom_chain = self.chain(bottom).ok_or(ChainError::NotTracked(bottom))?;
        let (value, value_proof) = bottom_chain.lock().prove_leaf(slot, version)?;
        proof.value = value;
        proof.value_proof = value_proof;
        Ok(proof)
    }

    /// What `miner` earned on data chain `chain` as of the block the root's tip anchors
    /// (through every level), with the proof the root checks to pay it
    /// ([`TxPayload::ClaimMinerReward`](crate::TxPayload::ClaimMinerReward)).
    pub fn earnings_proof(
        &self,
        chain: ChainId,
        miner: AccountId,
    ) -> Result<EarningsProof, ChainError> {
        if chain.is_root() {
            return Err(EarningsError::RootChain.into());
        }
        let root_height = self.root.lock().tip().height;
        let (mut links, (bottom, version)) = self.anchor_links(chain, root_height)?;
        if links.is_empty() {
            return Err(ChainError::NotTracked(chain));
        }
        let top = links.remove(0).header;
        let bottom_chain = self.chain(bottom).ok_or(ChainError::NotTracked(bottom))?;
        let (earned, earned_proof) = bottom_chain
            .lock()
            .prove_leaf(earned_key(&miner), version)?;
        let earned = earned
            .map(|bytes| codec::decode(&bytes))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("earnings of {miner}: {e}")))?
            .unwrap_or(Amount::ZERO);
        Ok(EarningsProof {
            chain,
            miner,
            earned,
            top,
            links,
            earned_proof,
        })
    }

    /// The walk from the root's block at `root_height` down to `target` through the latest
    /// anchors: one link per level below the root (the anchored header, and the proof of its
    /// anchor in the level above), and the chain and height the walk ends at.
    fn anchor_links(
        &self,
        target: ChainId,
        root_height: u64,
    ) -> Result<(Vec<AnchorLink>, (ChainId, u64)), ChainError> {
        let (levels, end) = self.anchor_walk(target, root_height, |above, child, version| {
            let (anchor, anchor_proof) = above.prove_leaf(anchor_key(&child), version)?;
            let anchor = anchor
                .map(|bytes| codec::decode(&bytes))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("anchor of {child}: {e}")))?;
            Ok((anchor, anchor_proof))
        })?;
        let links = levels
            .into_iter()
            .map(|(header, anchor_proof)| AnchorLink {
                header,
                anchor_proof,
            })
            .collect();
        Ok((links, end))
    }

    /// The height of `target`'s block that the root's tip anchors through every level: the
    /// block a value or earnings proof made now ends at, found without building the proofs.
    pub fn anchored_from_root(&self, target: ChainId) -> Result<u64, ChainError> {
        let root_height = self.root.lock().tip().height;
        let (_, (_, height)) = self.anchor_walk(target, root_height, |above, child, version| {
            Ok((above.anchor_at(&child, version)?, ()))
        })?;
        Ok(height)
    }

    /// Walks from the root's block at `root_height` down to `target`, reading each level's
    /// anchor of the next with `read_anchor` (the anchor, and what the caller keeps of the
    /// read, such as its proof); each anchored block must be on its chain's best chain here.
    /// Returns, per level below the root, the anchored header with what was kept, and the
    /// chain and height the walk ends at. Each chain is locked alone, in turn.
    fn anchor_walk<K>(
        &self,
        target: ChainId,
        root_height: u64,
        mut read_anchor: impl FnMut(&Chain, ChainId, u64) -> Result<(Option<Anchor>, K), ChainError>,
    ) -> Result<AnchorWalk<K>, ChainError> {
        let mut path = target.path_to_root();
        path.reverse();
        let mut levels = Vec::with_capacity(path.len().saturating_sub(1));
        let mut level = (ChainId::ROOT, root_height);
        for child in path.into_iter().skip(1) {
            let (above, version) = level;
            let above_chain = self.chain(above).ok_or(ChainError::NotTracked(above))?;
            let (anchor, kept) = read_anchor(&above_chain.lock(), child, version)?;
            let anchor = anchor.ok_or_else(|| {
                ChainError::RelayPending(format!(
                    "chain {child} is not anchored in chain {above} yet"
                ))
            })?;
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
            levels.push((header, kept));
            level = (child, anchor.height);
        }
        Ok((levels, level))
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
        let seals: Vec<(ChainId, Hash)> = candidates
            .iter()
            .map(|candidate| (candidate.block.header.chain, candidate.seal_hash()))
            .collect();
        let Some((commitment, places)) = merged_commitment(&seals) else {
            return Ok(Vec::new());
        };
        let easiest = candidates
            .iter()
            .zip(&places)
            .filter(|(_, place)| place.is_some())
            .map(|(candidate, _)| candidate.difficulty())
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
            // A chain whose slot another took this round sits it out.
            let Some(place) = place else {
                continue;
            };
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

/// A data-chain write refused as "unknown keyspace" although the root's tip has registered it:
/// the purchase is younger than the relay parent the write is judged against. Not the
/// writer's fault, and soon valid: [`ChainError::RelayPending`].
fn young_keyspace(
    root: &Chain,
    admitted: Result<Hash, ChainError>,
    params: &ChainParams,
) -> Result<Hash, ChainError> {
    match admitted {
        Err(ChainError::Tx(TxError::Keyspace(KeyspaceError::UnknownKeyspace(key))))
            if root.home_of(&key).is_ok() =>
        {
            Err(ChainError::RelayPending(format!(
                "the keyspace holding {key:?} was bought less than {} root blocks ago, which a \
                 write to a deeper chain waits for; try again after the next root block",
                params.relay_parent_depth_min
            )))
        }
        other => other,
    }
}

/// What [`Blocktree::anchor_walk`] finds: per level below the root, the anchored header and
/// what the walk kept of reading its anchor; then the chain and height the walk ends at.
type AnchorWalk<K> = (Vec<(BlockHeader, K)>, (ChainId, u64));

/// Checks every transaction's stateless rules and signature ([`VerifiedTx::check`]), in
/// parallel over the machine's cores; results in the input's order.
pub fn verify_all(txs: Vec<Transaction>) -> Vec<Result<VerifiedTx, StatelessError>> {
    parallel_map(txs, VERIFY_TXS_PER_THREAD_MIN, VerifiedTx::check)
}

/// `items` mapped through `f` on up to [`WORK_THREADS_MAX`] threads (no more than the machine's
/// cores, and none with fewer than `items_per_thread_min` items), the calling thread taking
/// the last share; results in the input's order. A panic in `f` is a bug and is carried to the
/// caller as it is.
fn parallel_map<T: Send, R: Send>(
    items: Vec<T>,
    items_per_thread_min: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores
        .min(WORK_THREADS_MAX)
        .min(
            items
                .len()
                .checked_div(items_per_thread_min)
                .unwrap_or(items.len()),
        )
        .max(1);
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let share_len = items.len().div_ceil(threads);
    let mut shares: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut items = items.into_iter();
    loop {
        let share: Vec<T> = items.by_ref().take(share_len).collect();
        if share.is_empty() {
            break;
        }
        shares.push(share);
    }
    let f = &f;
    std::thread::scope(|scope| {
        let last = shares.pop().unwrap_or_default();
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| scope.spawn(move || share.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        let last_results: Vec<R> = last.into_iter().map(f).collect();
        let mut results = Vec::new();
        for handle in handles {
            match handle.join() {
                Ok(share_results) => results.extend(share_results),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results.extend(last_results);
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_the_input_order_over_uneven_shares() {
        let items: Vec<u32> = (0..1_001).collect();
        let doubled = parallel_map(items, 1, |i| i * 2);
        assert_eq!(doubled, (0..1_001).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn parallel_map_keeps_small_work_on_the_calling_thread() {
        let here = std::thread::current().id();
        let threads = parallel_map(
            vec![(); VERIFY_TXS_PER_THREAD_MIN - 1],
            VERIFY_TXS_PER_THREAD_MIN,
            |()| std::thread::current().id(),
        );
        assert!(threads.iter().all(|t| *t == here));
        assert!(parallel_map(Vec::<u8>::new(), 1, |x| x).is_empty());
    }
}
