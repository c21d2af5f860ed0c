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
use crate::scripts::BlockContext;
use crate::state::{ApplyError, StateView};
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
        self.admit_verified_all(vec![(0, verified)], root)
            .pop()
            .map_or_else(
                || Err(ChainError::from(corrupt("an admission without an answer"))),
                |(_, admitted)| admitted,
            )
    }

    /// [`Chain::admit_verified`] for each of `items` in order, under one hold of the lock:
    /// each answer (under its index) is the one admitting them one by one would give. The tip
    /// does not move while the lock is held, so what every dry run starts from (the next
    /// block's context, and the state after what that block does before its transactions) is
    /// made once for all of them rather than once each.
    pub fn admit_verified_all(
        &mut self,
        items: Vec<(usize, VerifiedTx)>,
        root: Option<&Chain>,
    ) -> Vec<(usize, Result<Hash, ChainError>)> {
        let judged = self.judge_all(items, root);
        judged
            .into_iter()
            .map(|(index, judged)| (index, self.admit_judged(judged)))
            .collect()
    }

    /// The checks of [`Chain::admit_verified`] that read the tip only, for each of `items`;
    /// what depends on the mempool (already waiting, a PostBounty waiting before it) is left
    /// to [`Chain::admit_judged`], in order, as the mempool fills.
    fn judge_all<'s>(
        &'s self,
        items: Vec<(usize, VerifiedTx)>,
        root: Option<&'s Chain>,
    ) -> Vec<(usize, Judged)> {
        let mut on_tip: Option<OnTip<'s>> = None;
        items
            .into_iter()
            .map(|(index, verified)| {
                if verified.chain() != self.chain_id {
                    let wrong = StatelessError::WrongChain {
                        expected: self.chain_id,
                        got: verified.chain(),
                    };
                    return (index, Judged::Refused(wrong.into()));
                }
                let hash = verified.hash();
                let checked = self.judge(verified, root, &mut on_tip);
                (index, Judged::Checked { hash, checked })
            })
            .collect()
    }

    /// Known in a block, nonce, and the dry run against the tip; `on_tip` is what the dry
    /// runs start from, made at the first transaction that needs it.
    fn judge<'s>(
        &'s self,
        verified: VerifiedTx,
        root: Option<&'s Chain>,
        on_tip: &mut Option<OnTip<'s>>,
    ) -> Result<Box<DryRun>, ChainError> {
        let hash = verified.hash();
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
        if on_tip.is_none() {
            *on_tip = Some(self.on_tip_for_admission(root)?);
        }
        let Some(tip) = on_tip.as_mut() else {
            return Err(corrupt("admission without the tip's state").into());
        };
        // A dry run leaves the view as it found it (its writes are pending, then cleared).
        let outcome = tip.view.dry_run(&tx, &tip.context);
        Ok(Box::new(DryRun {
            tx,
            state_nonce,
            outcome,
        }))
    }

    /// What a dry run starts from: the next block's context and the tip's state after what
    /// that block does before its transactions.
    fn on_tip_for_admission<'s>(
        &'s self,
        root: Option<&'s Chain>,
    ) -> Result<OnTip<'s>, ChainError> {
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
        Ok(OnTip { context, view })
    }

    /// The rest of [`Chain::admit_verified`] for one judged transaction: already waiting, the
    /// dry run's verdict, then the mempool.
    fn admit_judged(&mut self, judged: Judged) -> Result<Hash, ChainError> {
        let (hash, checked) = match judged {
            Judged::Refused(error) => return Err(error),
            Judged::Checked { hash, checked } => (hash, checked),
        };
        if self.mempool.contains(&hash) {
            return Err(AdmissionError::AlreadyKnown(hash).into());
        }
        let DryRun {
            tx,
            state_nonce,
            outcome,
        } = *checked?;
        match outcome {
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

/// What every dry run of one admission batch starts from.
struct OnTip<'s> {
    context: BlockContext<'s>,
    view: StateView<'s>,
}

/// A transaction of an admission batch after the checks that read the tip only.
enum Judged {
    /// Refused before anything else is looked at: another chain's.
    Refused(ChainError),
    /// `hash`, and why it is refused, or its dry run (boxed: a transaction is large beside
    /// a refusal).
    Checked {
        hash: Hash,
        checked: Result<Box<DryRun>, ChainError>,
    },
}

/// A transaction past the tip's nonce, with its dry run's verdict.
struct DryRun {
    tx: Transaction,
    /// Its sender's nonce at the tip.
    state_nonce: u64,
    outcome: Result<(), ApplyError>,
}
