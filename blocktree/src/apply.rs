//! How a transaction changes a chain's state: the sender pays ([`StateView`]'s
//! `charge_sender`), then the module of the transaction's kind makes its change
//! (`crate::keyspace`, `crate::stake`, `crate::bounty`, `crate::endowment`, `crate::blob`; a
//! transfer here).
//! Above the state modules, which know nothing of the transaction as a whole.

use bitverse_primitives::{AccountId, Amount, codec};

use crate::error::{AccountError, TxError};
use crate::scripts::BlockContext;
use crate::state::{ApplyError, StateView, overflow, payment_key};
use crate::tx::{Transaction, TxPayload};

impl StateView<'_> {
    /// Applies one transaction whose signature has been checked, into the pending journal:
    /// the sender pays ([`StateView::charge_sender`]), then the module of the transaction's
    /// kind makes its change. Returns the fee, which the block pays to its miner.
    fn apply_transaction(
        &mut self,
        tx: &Transaction,
        ctx: &BlockContext<'_>,
        check_nonce: bool,
    ) -> Result<Amount, ApplyError> {
        let holding = self.charge_sender(tx, ctx, check_nonce)?;
        let body = &tx.body;
        let sender = &body.sender;
        match &body.payload {
            TxPayload::Transfer { to, amount } => self.transfer(sender, to, *amount)?,
            TxPayload::BuyKeyspace {
                name,
                owner,
                quota_bytes,
                prepaid,
                script,
                depth,
            } => crate::keyspace::buy(
                self,
                ctx,
                *sender,
                &crate::keyspace::Purchase {
                    name,
                    owner: *owner,
                    quota_bytes: *quota_bytes,
                    prepaid: *prepaid,
                    script: script.as_deref(),
                    depth: *depth,
                },
            )?,
            TxPayload::SetScript { keyspace, script } => {
                crate::keyspace::set_script(self, ctx, *sender, keyspace, script.as_deref())?
            }
            TxPayload::Put { key, value } => {
                crate::blob::check_key_free(self, key)?;
                crate::keyspace::put(self, ctx, *sender, key, value)?
            }
            TxPayload::Delete { key } => {
                crate::blob::check_key_free(self, key)?;
                crate::keyspace::delete(self, ctx, *sender, key)?
            }
            TxPayload::ClaimMinerReward { proof } => {
                crate::endowment::claim_miner_reward(self, ctx.params, proof)?
            }
            TxPayload::Stake { amount, role } => crate::stake::stake(self, sender, *role, *amount)?,
            TxPayload::Unstake { amount, role } => {
                // A storer holding shards leaves instead: its stake unbonds once they are
                // re-placed (`crate::blob`).
                let leaving = *role == bitverse_pricing::TaskKind::Store
                    && crate::blob::begin_leave(self, sender, *amount)?;
                if !leaving {
                    crate::stake::unstake(self, ctx, sender, *role, *amount)?
                }
            }
            TxPayload::PostBounty {
                amount,
                transform,
                inputs,
                args,
                pinned_height,
                hops,
                offerer,
                fuel_budget,
                expiry_height,
                deep_values,
                acceptance,
            } => crate::bounty::post_bounty(
                self,
                ctx,
                &crate::bounty::PostBounty {
                    id: tx.hash(),
                    requester: *sender,
                    amount: *amount,
                    holding,
                    transform,
                    inputs,
                    args,
                    pinned_height: *pinned_height,
                    hops: *hops,
                    offerer: *offerer,
                    fuel_budget: *fuel_budget,
                    expiry_height: *expiry_height,
                    deep_values,
                    accepted: acceptance.is_some(),
                },
            )?,
            TxPayload::LineupProof { proof } => crate::bounty::publish_lineup(self, ctx, proof)?,
            TxPayload::Settle {
                bounty,
                result_hash,
                chain,
            } => crate::bounty::settle(self, ctx, bounty, result_hash, chain)?,
            TxPayload::Dispute {
                bounty,
                first,
                second,
                result_hash,
            } => crate::bounty::dispute(
                self,
                ctx,
                bounty,
                [first.as_ref(), second.as_ref()],
                result_hash,
            )?,
            TxPayload::DeclareCapacity {
                capacity_bytes,
                peer,
            } => crate::blob::declare_capacity(self, sender, *capacity_bytes, peer)?,
            TxPayload::RegisterBlob {
                key,
                manifest,
                endowment,
                content_type,
            } => crate::blob::register(
                self,
                ctx,
                &crate::blob::Registration {
                    id: tx.hash(),
                    publisher: *sender,
                    key,
                    manifest,
                    endowment: *endowment,
                    content_type,
                },
            )?,
            TxPayload::ConfirmShards { receipts } => {
                crate::blob::confirm_shards(self, ctx, sender, receipts)?
            }
            TxPayload::ProveShards { proofs } => {
                crate::blob::prove_shards(self, ctx, sender, proofs)?
            }
            TxPayload::PostChallenge {
                blob,
                shard,
                nonce,
                key,
                amount,
            } => crate::blob::post_challenge(
                self,
                ctx,
                &crate::blob::Posting {
                    poster: *sender,
                    blob,
                    shard: *shard,
                    nonce,
                    key,
                    amount: *amount,
                },
            )?,
            TxPayload::ClaimChallenge {
                blob,
                shard,
                signature,
            } => crate::blob::claim_challenge(self, ctx, sender, blob, *shard, signature)?,
        }
        Ok(body.fee)
    }

    /// Makes `tx`'s sender pay: checks its nonce (admission, which may hold later nonces,
    /// skips that with `check_nonce` off), then takes the fee and what the transaction moves
    /// out of the balance, refusing a sender that cannot pay, and counts the nonce. Returns a
    /// PostBounty's holding charge (part of what it paid), which goes into the root's pool.
    fn charge_sender(
        &mut self,
        tx: &Transaction,
        ctx: &BlockContext<'_>,
        check_nonce: bool,
    ) -> Result<Amount, ApplyError> {
        let body = &tx.body;
        let mut account = self.account(&body.sender)?;
        if check_nonce && body.nonce != account.nonce {
            return Err(AccountError::BadNonce {
                expected: account.nonce,
                got: body.nonce,
            }
            .into());
        }
        // What a bounty pays to be held until its expiry, beyond its amount.
        let holding = match &body.payload {
            TxPayload::PostBounty {
                expiry_height,
                deep_values,
                ..
            } => {
                crate::bounty::holding_charge(ctx.params, ctx.height, *expiry_height, deep_values)?
            }
            _ => Amount::ZERO,
        };
        let needed = spend(&body.payload, holding)?
            .checked_add(body.fee)
            .map_err(overflow)?;
        if account.balance < needed {
            return Err(AccountError::InsufficientBalance {
                account: body.sender,
                available: account.balance,
                needed,
            }
            .into());
        }
        account.balance = account.balance.checked_sub(needed).map_err(overflow)?;
        account.nonce = account.nonce.checked_add(1).ok_or(TxError::Overflow)?;
        // Written before the transaction's own change: a refusal there discards the whole
        // journal, this write with it.
        self.set_account(&body.sender, &account);
        Ok(holding)
    }

    /// Moves `amount` (already taken from `from`'s balance) to `to`, and adds it to the total
    /// `from` has paid `to`, which scripts read.
    fn transfer(
        &mut self,
        from: &AccountId,
        to: &AccountId,
        amount: Amount,
    ) -> Result<(), ApplyError> {
        self.credit(to, amount)?;
        let key = payment_key(from, to);
        let paid: Amount = self.get_decoded(&key)?.unwrap_or(Amount::ZERO);
        let paid = paid.checked_add(amount).map_err(overflow)?;
        self.set_pending(key, Some(codec::encode(&paid)));
        Ok(())
    }

    /// Applies `tx` only if it is valid: on a refusal the view is left as it was. The
    /// transaction's writes go to a journal of their own first, merged only on success.
    pub(crate) fn try_apply_transaction(
        &mut self,
        tx: &Transaction,
        ctx: &BlockContext<'_>,
    ) -> Result<Amount, ApplyError> {
        self.clear_pending();
        let result = self.apply_transaction(tx, ctx, true);
        if result.is_ok() {
            self.flush_pending();
        } else {
            self.clear_pending();
        }
        result
    }
}

impl StateView<'_> {
    /// Checks `tx` against this state as if it were the sender's next transaction, changing
    /// nothing: the mempool's admission check, which a later nonce cannot make exact.
    pub(crate) fn dry_run(
        &mut self,
        tx: &Transaction,
        ctx: &BlockContext<'_>,
    ) -> Result<(), ApplyError> {
        self.clear_pending();
        let result = self.apply_transaction(tx, ctx, false);
        self.clear_pending();
        result.map(|_| ())
    }
}

/// What `payload` moves out of its sender's balance besides the fee: the amount it sends,
/// stakes, prepays or escrows (with a bounty's `holding` charge).
fn spend(payload: &TxPayload, holding: Amount) -> Result<Amount, TxError> {
    Ok(match payload {
        TxPayload::Transfer { amount, .. } => *amount,
        TxPayload::BuyKeyspace { prepaid, .. } => *prepaid,
        TxPayload::Stake { amount, .. } => *amount,
        TxPayload::RegisterBlob { endowment, .. } => *endowment,
        TxPayload::PostChallenge { amount, .. } => *amount,
        TxPayload::PostBounty { amount, .. } => amount.checked_add(holding).map_err(overflow)?,
        TxPayload::SetScript { .. }
        | TxPayload::LineupProof { .. }
        | TxPayload::Settle { .. }
        | TxPayload::Dispute { .. }
        | TxPayload::Put { .. }
        | TxPayload::Delete { .. }
        | TxPayload::Unstake { .. }
        | TxPayload::ClaimMinerReward { .. }
        | TxPayload::DeclareCapacity { .. }
        | TxPayload::ConfirmShards { .. }
        | TxPayload::ProveShards { .. }
        | TxPayload::ClaimChallenge { .. } => Amount::ZERO,
    })
}
