//! The mempool's door: admitting a transaction after the checks that need this chain's state
//! (already known, nonce, a dry run against the tip), and what became of one (pending,
//! included, dropped).

use bitverse_primitives::{Hash, codec};

use super::{
    Chain, DROPPED_TXS_REMEMBERED_MAX, TxLocation, TxStatus, apply_to_chain_error, corrupt,
};
use crate::error::{
    AccountError, AdmissionError, BountyError, ChainError, StatelessError, TxError,
};
use crate::state::ApplyError;
use crate::store::Column;
use crate::tx::{Transaction, VerifiedTx};

impl Chain {
    /// Whether the mempool is empty.
    pub fn mempool_is_empty(&self) -> bool {
        self.mempool.is_empty()
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

    pub(super) fn remember_dropped(&mut self, hash: Hash, error: TxError) {
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
            return Err(StatelessError::WrongChain {
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
            return Err(StatelessError::WrongChain {
                expected: self.chain_id,
                got: verified.chain(),
            }
            .into());
        }
        let hash = verified.hash();
        if self.mempool.contains(&hash) {
            return Err(AdmissionError::AlreadyKnown(hash).into());
        }
        if self.store.get(Column::TxIndex, &hash.0)?.is_some() {
            return Err(AdmissionError::AlreadyKnown(hash).into());
        }
        let tx = verified.into_tx();
        let state_nonce = self.account(&tx.body.sender)?.nonce;
        if tx.body.nonce < state_nonce {
            return Err(AccountError::BadNonce {
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
        crate::bounty::start_root_block(&mut view, &self.params, context.height, &self.tip_hash())
            .map_err(apply_to_chain_error)?;
        match view.dry_run(&tx, &context) {
            Ok(()) => {}
            // A lineup proof sent right behind its own PostBounty: the block that includes both
            // applies them in the sender's nonce order, so the proof is judged there (block
            // building has the last word, as for any later nonce). This lets a requester's
            // bounty and lineup land in one root block instead of two.
            Err(ApplyError::Tx(TxError::Bounty(BountyError::UnknownBounty(bounty))))
                if self.posts_bounty_before(&tx, &bounty) => {}
            Err(e) => return Err(apply_to_chain_error(e)),
        }
        for (evicted, why) in self.mempool.insert(tx, state_nonce)? {
            self.remember_dropped(evicted, why);
        }
        self.dropped.remove(&hash);
        Ok(hash)
    }
}
