//! The mempool: transactions waiting for a block, bounded, ordered by fee and aware of nonces.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bitverse_primitives::{AccountId, Amount, Hash};

use crate::error::{AccountError, AdmissionError, TxError};
use crate::tx::Transaction;

/// Most transactions the mempool holds; past it, a new transaction must outbid the cheapest.
pub const MEMPOOL_TXS_MAX: usize = 50_000;
/// Most transactions one sender may have waiting, and so how far ahead of its next nonce a
/// transaction may be.
pub const MEMPOOL_SENDER_TXS_MAX: u64 = 10_000;

/// Transactions waiting for a block.
#[derive(Default)]
pub struct Mempool {
    by_hash: HashMap<Hash, Transaction>,
    /// Per sender, nonce → transaction hash.
    by_sender: BTreeMap<AccountId, BTreeMap<u64, Hash>>,
    /// (fee, hash), cheapest first: who is evicted when the pool is full.
    by_fee: BTreeSet<(Amount, Hash)>,
}

impl Mempool {
    /// Number of waiting transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Whether `hash` waits here.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The transaction `hash`, if it waits here.
    pub fn get(&self, hash: &Hash) -> Option<&Transaction> {
        self.by_hash.get(hash)
    }

    /// The next nonce `sender` may use, given `state_nonce` from the tip and the run of
    /// consecutive nonces waiting here.
    pub fn pending_nonce(&self, sender: &AccountId, state_nonce: u64) -> u64 {
        let mut next = state_nonce;
        if let Some(nonces) = self.by_sender.get(sender) {
            for nonce in nonces.range(state_nonce..).map(|(n, _)| *n) {
                if nonce != next {
                    break;
                }
                next = next.saturating_add(1);
            }
        }
        next
    }

    /// Admits `tx`, whose signature and state checks have passed, for a sender whose next
    /// nonce at the tip is `state_nonce`. A transaction with the same sender and nonce is
    /// replaced only by a higher fee; a full pool evicts its cheapest transaction for a dearer
    /// one. Returns the transactions this pushed out, each with the reason a client waiting on
    /// it should be given.
    pub fn insert(
        &mut self,
        tx: Transaction,
        state_nonce: u64,
    ) -> Result<Vec<(Hash, TxError)>, TxError> {
        let hash = tx.hash();
        let sender = tx.body.sender;
        let nonce = tx.body.nonce;
        let fee = tx.body.fee;
        if self.by_hash.contains_key(&hash) {
            return Err(AdmissionError::AlreadyKnown(hash).into());
        }
        if nonce < state_nonce {
            return Err(AccountError::BadNonce {
                expected: state_nonce,
                got: nonce,
            }
            .into());
        }
        if nonce >= state_nonce.saturating_add(MEMPOOL_SENDER_TXS_MAX) {
            return Err(AdmissionError::NonceTooFarAhead {
                expected: state_nonce,
                got: nonce,
            }
            .into());
        }
        let mut evicted: Vec<(Hash, TxError)> = Vec::new();
        if let Some(existing) = self
            .by_sender
            .get(&sender)
            .and_then(|n| n.get(&nonce))
            .copied()
        {
            let existing_fee = self
                .by_hash
                .get(&existing)
                .map(|t| t.body.fee)
                .unwrap_or_default();
            if fee <= existing_fee {
                return Err(AdmissionError::ReplacementUnderpriced { nonce }.into());
            }
            self.remove(&existing);
            evicted.push((
                existing,
                AdmissionError::ReplacementUnderpriced { nonce }.into(),
            ));
        } else if self.by_hash.len() >= MEMPOOL_TXS_MAX {
            let Some(&(cheapest_fee, cheapest)) = self.by_fee.first() else {
                return Err(AdmissionError::MempoolFull { fee }.into());
            };
            if fee <= cheapest_fee {
                return Err(AdmissionError::MempoolFull { fee }.into());
            }
            let mut gone = self.remove_with_successors(&cheapest).into_iter();
            if let Some(first) = gone.next() {
                evicted.push((
                    first.hash(),
                    AdmissionError::MempoolFull {
                        fee: first.body.fee,
                    }
                    .into(),
                ));
                // The nonce its successors wait for will not come.
                for later in gone {
                    let why = AccountError::BadNonce {
                        expected: first.body.nonce,
                        got: later.body.nonce,
                    };
                    evicted.push((later.hash(), why.into()));
                }
            }
        }
        self.by_sender
            .entry(sender)
            .or_default()
            .insert(nonce, hash);
        self.by_fee.insert((fee, hash));
        self.by_hash.insert(hash, tx);
        Ok(evicted)
    }

    /// Removes `hash`, if present.
    pub fn remove(&mut self, hash: &Hash) -> Option<Transaction> {
        let tx = self.by_hash.remove(hash)?;
        self.by_fee.remove(&(tx.body.fee, *hash));
        if let Some(nonces) = self.by_sender.get_mut(&tx.body.sender) {
            nonces.remove(&tx.body.nonce);
            if nonces.is_empty() {
                self.by_sender.remove(&tx.body.sender);
            }
        }
        Some(tx)
    }

    /// Removes `hash` and every later-nonce transaction of its sender, which could no longer
    /// be mined. Returns what was removed, `hash` first.
    pub fn remove_with_successors(&mut self, hash: &Hash) -> Vec<Transaction> {
        let Some(tx) = self.by_hash.get(hash) else {
            return Vec::new();
        };
        let sender = tx.body.sender;
        let nonce = tx.body.nonce;
        let doomed: Vec<Hash> = self
            .by_sender
            .get(&sender)
            .map(|n| n.range(nonce..).map(|(_, h)| *h).collect())
            .unwrap_or_default();
        doomed.iter().filter_map(|h| self.remove(h)).collect()
    }

    /// Drops every transaction of `sender` below `state_nonce`: mined in a block, or made
    /// stale by one.
    pub fn prune_sender(&mut self, sender: &AccountId, state_nonce: u64) {
        let stale: Vec<Hash> = self
            .by_sender
            .get(sender)
            .map(|n| n.range(..state_nonce).map(|(_, h)| *h).collect())
            .unwrap_or_default();
        for h in &stale {
            self.remove(h);
        }
    }

    /// Up to `count` transactions for a block, highest fee first among those whose nonce is
    /// next for their sender, so that every pick is valid in order. `state_nonce` gives each
    /// sender's next nonce at the tip.
    pub fn select(
        &self,
        count: usize,
        mut state_nonce: impl FnMut(&AccountId) -> u64,
    ) -> Vec<Transaction> {
        // Ready heads: (fee, sender order, sender) — a sender's next transaction competes on fee.
        let mut heads: BTreeSet<(Amount, std::cmp::Reverse<Hash>, AccountId, u64)> =
            BTreeSet::new();
        for (sender, nonces) in &self.by_sender {
            let next = state_nonce(sender);
            if let Some(hash) = nonces.get(&next)
                && let Some(tx) = self.by_hash.get(hash)
            {
                heads.insert((tx.body.fee, std::cmp::Reverse(*hash), *sender, next));
            }
        }
        let mut picked = Vec::new();
        while picked.len() < count {
            let Some((_, _, sender, nonce)) = heads.pop_last() else {
                break;
            };
            let Some(tx) = self
                .by_sender
                .get(&sender)
                .and_then(|n| n.get(&nonce))
                .and_then(|h| self.by_hash.get(h))
            else {
                continue;
            };
            picked.push(tx.clone());
            let next = nonce.saturating_add(1);
            if let Some(hash) = self.by_sender.get(&sender).and_then(|n| n.get(&next))
                && let Some(next_tx) = self.by_hash.get(hash)
            {
                heads.insert((next_tx.body.fee, std::cmp::Reverse(*hash), sender, next));
            }
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::{TxPayload, UnsignedTx};
    use bitverse_primitives::{ChainId, SecretKey};

    fn tx(who: &str, nonce: u64, fee: u128) -> Transaction {
        let key = SecretKey::dev(who);
        UnsignedTx {
            chain: ChainId::ROOT,
            sender: key.account(),
            nonce,
            fee: Amount(fee),
            payload: TxPayload::Transfer {
                to: AccountId([1; 32]),
                amount: Amount(1),
            },
        }
        .sign(&key)
    }

    #[test]
    fn selects_by_fee_but_in_nonce_order() {
        let mut pool = Mempool::default();
        pool.insert(tx("alice", 0, 1), 0).unwrap();
        pool.insert(tx("alice", 1, 100), 0).unwrap();
        pool.insert(tx("bob", 0, 10), 0).unwrap();
        let picked: Vec<(u128, u64)> = pool
            .select(10, |_| 0)
            .iter()
            .map(|t| (t.body.fee.0, t.body.nonce))
            .collect();
        // bob's 10 beats alice's head (1); alice's nonce 1 (fee 100) must wait for nonce 0.
        assert_eq!(picked, vec![(10, 0), (1, 0), (100, 1)]);
        assert_eq!(pool.pending_nonce(&SecretKey::dev("alice").account(), 0), 2);
    }

    #[test]
    fn refuses_stale_and_far_nonces_and_underpriced_replacements() {
        let mut pool = Mempool::default();
        assert!(matches!(
            pool.insert(tx("alice", 0, 1), 1),
            Err(TxError::Account(AccountError::BadNonce { .. }))
        ));
        assert!(matches!(
            pool.insert(tx("alice", MEMPOOL_SENDER_TXS_MAX + 1, 1), 1),
            Err(TxError::Admission(AdmissionError::NonceTooFarAhead { .. }))
        ));
        pool.insert(tx("alice", 1, 5), 1).unwrap();
        assert!(matches!(
            pool.insert(tx("alice", 1, 5), 1),
            Err(TxError::Admission(AdmissionError::AlreadyKnown(_)))
        ));
        assert!(matches!(
            pool.insert(tx("alice", 1, 4), 1),
            Err(TxError::Admission(
                AdmissionError::ReplacementUnderpriced { .. }
            ))
        ));
        let replaced = pool.insert(tx("alice", 1, 6), 1).unwrap();
        assert_eq!(
            replaced,
            vec![(
                tx("alice", 1, 5).hash(),
                TxError::Admission(AdmissionError::ReplacementUnderpriced { nonce: 1 })
            )]
        );
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn full_pool_evicts_the_cheapest_for_a_dearer_one() {
        let mut pool = Mempool::default();
        let key = SecretKey::dev("carol");
        for i in 0..MEMPOOL_TXS_MAX as u64 {
            let t = UnsignedTx {
                chain: ChainId::ROOT,
                sender: AccountId(Hash::digest(&i.to_le_bytes()).0),
                nonce: 0,
                fee: Amount(2),
                payload: TxPayload::Delete { key: "a/b".into() },
            }
            .sign(&key);
            pool.insert(t, 0).unwrap();
        }
        assert!(matches!(
            pool.insert(tx("alice", 0, 2), 0),
            Err(TxError::Admission(AdmissionError::MempoolFull { .. }))
        ));
        let evicted = pool.insert(tx("alice", 0, 3), 0).unwrap();
        assert_eq!(evicted.len(), 1);
        assert!(
            matches!(
                evicted[0].1,
                TxError::Admission(AdmissionError::MempoolFull { fee: Amount(2) })
            ),
            "{evicted:?}"
        );
        assert_eq!(pool.len(), MEMPOOL_TXS_MAX);
    }
}
