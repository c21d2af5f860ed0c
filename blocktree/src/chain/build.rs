//! Block building: a candidate from the mempool (fee order, nonce-aware, within the block's
//! bytes and dispute fuel), with the anchors of this chain's children, then sealed by its
//! proof of work and imported through the same path as any block.

use std::collections::BTreeSet;

use bitverse_primitives::{AccountId, Amount, Hash, codec};

use super::{Candidate, Chain, apply_to_chain_error, compute_state_update};
use crate::anchoring::{ChildAnchor, anchor_headers_hash, apply_anchors};
use crate::block::{
    Anchor, BLOCK_SIZE_BYTES_MAX, BLOCK_TXS_MAX, Block, BlockHeader, HEADER_SIZE_BYTES_MAX,
    MergedWork, VEC_LENGTH_BYTES, pow_meets, tx_root, work_hash,
};
use crate::error::{AccountError, BlockError, BountyError, ChainError, TxError};
use crate::headers::HeaderRules;
use crate::scripts::BlockContext;
use crate::state::{ApplyError, StateView};
use crate::tx::Transaction;

impl Chain {
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
        let (anchors, carried) = self.carry_anchors(&mut view, height, time_ms, anchors)?;
        crate::bounty::start_root_block(&mut view, &self.params, height, &tip)
            .map_err(apply_to_chain_error)?;
        let filled = fill(&mut view, &context, candidates, &carried)?;
        let update = if filled.included.is_empty() && !allow_empty {
            None
        } else {
            view.pay_block_miner(&self.params, &miner, filled.fees)
                .map_err(apply_to_chain_error)?;
            Some(compute_state_update(
                self.store.as_ref(),
                view.into_changes(),
                height,
            )?)
        };
        self.drop_refused(filled.refused);
        let Some(update) = update else {
            return Ok(None);
        };
        let hashes: Vec<Hash> = filled.included.iter().map(Transaction::hash).collect();
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
                transactions: filled.included,
                anchor_headers: carried,
            },
            update,
        }))
    }

    /// Applies each of `anchors` on its own to `view` (the candidate's state at `height` and
    /// `time_ms`): one that no longer follows what this chain anchored last (its tip moved
    /// since the anchors were read) is left out, not the whole block. Returns the anchors
    /// carried and their headers.
    fn carry_anchors(
        &self,
        view: &mut StateView<'_>,
        height: u64,
        time_ms: u64,
        anchors: Vec<ChildAnchor>,
    ) -> Result<(Vec<Anchor>, Vec<Vec<BlockHeader>>), ChainError> {
        let mut carried_anchors = Vec::with_capacity(anchors.len());
        let mut carried = Vec::with_capacity(anchors.len());
        for ChildAnchor { anchor, headers } in anchors {
            let one = std::slice::from_ref(&anchor);
            let headers = vec![headers];
            match apply_anchors(view, &self.params, height, time_ms, one, &headers) {
                Ok(()) => {
                    carried_anchors.push(anchor);
                    carried.extend(headers);
                }
                Err(ChainError::Block(BlockError::BadAnchor(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((carried_anchors, carried))
    }

    /// Drops from the mempool each transaction block building refused, and its sender's later
    /// ones, remembering why for a client waiting on them.
    fn drop_refused(&mut self, refused: Vec<(Hash, TxError)>) {
        for (hash, error) in refused {
            let mut gone = self.mempool.remove_with_successors(&hash).into_iter();
            let Some(first) = gone.next() else { continue };
            // Its successors can never be mined: the nonce they wait for will not come.
            for later in gone {
                let why = AccountError::BadNonce {
                    expected: first.body.nonce,
                    got: later.body.nonce,
                }
                .into();
                self.remember_dropped(later.hash(), why);
            }
            self.remember_dropped(first.hash(), error);
        }
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
        // Blob work due (a draw, a deadline) is sealed even without transactions: a dev node
        // is idle between writes, and a blob's storers are drawn at a block after its own.
        let next_height = self.tip().height.saturating_add(1);
        let blob_work = self.id().is_root()
            && crate::blob::work_due(&self.tip_view(), next_height)
                .map_err(apply_to_chain_error)?;
        self.produce_block(miner, now_ms, blob_work, u64::MAX)
    }
}

/// What [`fill`] put in a candidate block.
struct Filled {
    /// The transactions applied, in order.
    included: Vec<Transaction>,
    /// Those refused, with why: dropped from the mempool.
    refused: Vec<(Hash, TxError)>,
    /// The fees of the included ones.
    fees: Amount,
}

/// Applies `candidates` (the mempool's selection, fee order and nonce-aware) to `view` in
/// order, as many as fit the block beside the anchor headers `carried`.
fn fill(
    view: &mut StateView<'_>,
    context: &BlockContext<'_>,
    candidates: Vec<Transaction>,
    carried: &[Vec<BlockHeader>],
) -> Result<Filled, ChainError> {
    let mut filled = Filled {
        included: Vec::new(),
        refused: Vec::new(),
        fees: Amount::ZERO,
    };
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
        match view.try_apply_transaction(&tx, context) {
            Ok(fee) => match filled.fees.checked_add(fee) {
                Ok(total) => {
                    filled.fees = total;
                    size_bytes = size_bytes.saturating_add(tx_size);
                    filled.included.push(tx);
                }
                Err(_) => filled.refused.push((tx.hash(), TxError::Overflow)),
            },
            Err(ApplyError::Tx(TxError::Bounty(BountyError::DisputeFuelFull { .. }))) => {
                deferred.insert(tx.body.sender);
            }
            Err(ApplyError::Tx(error)) => filled.refused.push((tx.hash(), error)),
            Err(ApplyError::Store(e)) => return Err(e.into()),
            Err(ApplyError::Sandbox(e)) => return Err(ChainError::Sandbox(e)),
        }
    }
    Ok(filled)
}
