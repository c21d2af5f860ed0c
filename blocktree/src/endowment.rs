//! Keyspace endowments and the miners they pay (DESIGN §2, §6): each chain's pool of prepaid
//! endowments on the root, the share of it each block releases to its miner, and the proof
//! through the anchors by which the root pays a data chain's miner what it earned there.
//!
//! The rule, in integers: a block of chain `C` releases `(deposited − released) >> shift` to
//! its miner, where `deposited` is everything ever paid into `C`'s pool (read from the root,
//! as of the block's relay parent on a data chain) and `released` is what `C`'s blocks have
//! released so far. So each block takes a fixed fraction of what is left: the pay per block
//! falls over time while the pool lasts, and no branch can release more than was deposited.
//! The root pays its own miners at once. A data chain only counts `earned[miner]` in its
//! state; the miner (or anyone for it) claims on the root with an [`EarningsProof`], and the
//! root pays the difference from what it paid that miner for that chain before, never more
//! than the pool still holds.

use bincode::{Decode, Encode};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, codec};
use jmt::KeyHash;
use serde::Serialize;

use crate::block::header::{Anchor, BlockHeader};
use crate::error::{EarningsError, StoreError, TxError};
use crate::params::ChainParams;
use crate::proof::{AnchorLink, ProofError, check_leaf, walk_links};
use crate::state::{ApplyError, StateView, overflow};

/// Largest encoded [`EarningsProof`]: eight levels of headers and anchor proofs, with room;
/// it travels inside a transaction, so it is below [`crate::tx::TX_SIZE_BYTES_MAX`].
pub const EARNINGS_PROOF_SIZE_BYTES_MAX: usize = 60 * 1024;

/// A chain's endowment pool, kept in the root's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct EndowmentPool {
    /// Everything ever paid in by keyspaces bought on the chain. Never decreases.
    pub deposited: Amount,
    /// What the root has paid out of it to the chain's miners.
    pub paid: Amount,
}

impl EndowmentPool {
    /// What the pool still holds: counted in the supply, as escrow.
    pub fn held(&self) -> Amount {
        self.deposited
            .checked_sub(self.paid)
            .unwrap_or(Amount::ZERO)
    }
}

/// What a block releases to its miner when `deposited` has been paid into its chain's pool
/// and its chain's blocks have released `released` before it.
pub fn block_release(deposited: Amount, released: Amount, shift: u32) -> Amount {
    let unreleased = deposited.0.saturating_sub(released.0);
    Amount(unreleased.checked_shr(shift).unwrap_or(0))
}

/// Where the root keeps `chain`'s endowment pool.
pub fn pool_key(chain: &ChainId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state endowment pool v1", &[&chain.to_bytes()]).0)
}

/// Where a data chain keeps the total its blocks have released.
pub fn released_key() -> KeyHash {
    KeyHash(Hash::tagged("bitverse state endowment released v1", &[]).0)
}

/// Where a data chain keeps what `miner` has earned on it, in total.
pub fn earned_key(miner: &AccountId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state endowment earned v1", &[&miner.0]).0)
}

/// Where the root keeps what it has paid `miner` for blocks of `chain`, in total.
pub fn claimed_key(chain: &ChainId, miner: &AccountId) -> KeyHash {
    KeyHash(
        Hash::tagged(
            "bitverse state endowment claimed v1",
            &[&chain.to_bytes(), &miner.0],
        )
        .0,
    )
}

/// Where the root records that it anchored `anchor` (a depth-1 block), holding the root height
/// it took it at: every anchor it ever took, not only the latest, so that a claim against an
/// older anchor stays valid while new blocks anchor newer headers. Each anchor of a chain
/// extends the one before (`crate::anchoring`), so the set is one branch of the chain: the
/// one the root anchors now. Two leaves a root block at most.
pub fn anchored_key(anchor: &Anchor) -> KeyHash {
    KeyHash(
        Hash::tagged(
            "bitverse state anchored v1",
            &[&anchor.chain.to_bytes(), &anchor.hash.0],
        )
        .0,
    )
}

/// A data-chain miner's earnings, with the proof the root checks before paying them: the
/// depth-1 header on the way to the chain (one the root anchored), one anchor link per level
/// below it, and the earnings leaf in the chain's state at the last header.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct EarningsProof {
    /// The chain the miner earned on.
    pub chain: ChainId,
    /// The miner.
    pub miner: AccountId,
    /// Its earnings on `chain`, in total, as of the last header.
    pub earned: Amount,
    /// The header of `chain`'s depth-1 ancestor (or `chain` itself) that the root anchored.
    pub top: BlockHeader,
    /// Depth 2 down to `chain`: each header and the proof of its anchor in the state of the
    /// header above.
    pub links: Vec<AnchorLink>,
    /// Sparse Merkle proof of [`earned_key`] holding `earned` in the last header's state.
    pub earned_proof: Vec<u8>,
}

impl EarningsProof {
    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a proof from exactly `bytes`, refusing more than
    /// [`EARNINGS_PROOF_SIZE_BYTES_MAX`].
    pub fn from_bytes(bytes: &[u8]) -> Result<EarningsProof, ProofError> {
        codec::decode_with_limit::<EarningsProof, EARNINGS_PROOF_SIZE_BYTES_MAX>(bytes)
            .map_err(|e| ProofError::Malformed(e.to_string()))
    }

    /// Checks every link from the top header down to the earnings leaf. Returns the anchor of
    /// the top header, which the root must find among those it anchored
    /// ([`anchored_key`]) for the proof to count: that part needs the root's state.
    pub fn verify(&self) -> Result<Anchor, ProofError> {
        let depth = self.chain.depth();
        if depth == 0 {
            return Err(ProofError::Link(
                "the root's miners are paid in their blocks, not by claims".into(),
            ));
        }
        if self.links.len() != usize::from(depth).saturating_sub(1) {
            return Err(ProofError::Link(format!(
                "{} links below depth 1 for a chain at depth {depth}",
                self.links.len()
            )));
        }
        // Root excluded, depth 1 first, ending at `chain`.
        let mut path = self.chain.path_to_root();
        path.reverse();
        let mut levels = path.into_iter().skip(1);
        let top_chain = levels
            .next()
            .ok_or_else(|| ProofError::Link("no depth-1 chain on the path".into()))?;
        if self.top.chain != top_chain {
            return Err(ProofError::Link(format!(
                "the top header is of chain {}, not {top_chain}",
                self.top.chain
            )));
        }
        let state_root = walk_links(self.top.state_root, levels, &self.links)?;
        check_leaf(
            &state_root,
            earned_key(&self.miner),
            Some(&codec::encode(&self.earned)),
            &self.earned_proof,
            || format!("earnings of {} on chain {}", self.miner, self.chain),
        )?;
        Ok(Anchor {
            chain: top_chain,
            height: self.top.height,
            hash: self.top.hash(),
        })
    }
}

impl StateView<'_> {
    /// `chain`'s endowment pool: from this state on the root, from the relay parent's on a
    /// data chain.
    pub(crate) fn pool(&self, chain: &ChainId) -> Result<EndowmentPool, StoreError> {
        Ok(self
            .registry_raw(&pool_key(chain))?
            .map(|bytes| codec::decode(&bytes).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()?
            .unwrap_or_default())
    }

    /// What this data chain's blocks have released from its pool, in total.
    pub(crate) fn released(&self) -> Result<Amount, StoreError> {
        Ok(self.get_decoded(&released_key())?.unwrap_or(Amount::ZERO))
    }

    /// What `miner` has earned on this data chain, in total.
    pub(crate) fn earned(&self, miner: &AccountId) -> Result<Amount, StoreError> {
        Ok(self
            .get_decoded(&earned_key(miner))?
            .unwrap_or(Amount::ZERO))
    }

    /// What the root has paid `miner` for blocks of `chain`, in total.
    pub(crate) fn claimed(&self, chain: &ChainId, miner: &AccountId) -> Result<Amount, StoreError> {
        Ok(self
            .get_decoded(&claimed_key(chain, miner))?
            .unwrap_or(Amount::ZERO))
    }

    /// Pays a block's miner, outside any transaction: on the root the fees, the subsidy and
    /// what the block releases from the root's endowment pool; on a data chain (whose
    /// transactions carry no fee) what it releases from its pool, counted as the miner's
    /// earnings there, which the root pays on a claim (`crate::endowment`).
    pub(crate) fn pay_block_miner(
        &mut self,
        params: &ChainParams,
        miner: &AccountId,
        fees: Amount,
    ) -> Result<(), ApplyError> {
        let mut pool = self.pool(&self.chain())?;
        if self.chain().is_root() {
            let release = block_release(pool.deposited, pool.paid, params.endowment_release_shift);
            pool.paid = pool.paid.checked_add(release).map_err(overflow)?;
            if release > Amount::ZERO {
                self.set_pending(pool_key(&ChainId::ROOT), Some(codec::encode(&pool)));
            }
            let reward = fees
                .checked_add(params.block_subsidy)
                .and_then(|r| r.checked_add(release))
                .map_err(overflow)?;
            self.credit(miner, reward)?;
        } else {
            let released = self.released()?;
            let release = block_release(pool.deposited, released, params.endowment_release_shift);
            if release > Amount::ZERO {
                let released = released.checked_add(release).map_err(overflow)?;
                let earned = self.earned(miner)?.checked_add(release).map_err(overflow)?;
                self.set_pending(released_key(), Some(codec::encode(&released)));
                self.set_pending(earned_key(miner), Some(codec::encode(&earned)));
            }
        }
        self.flush_pending();
        Ok(())
    }
}

/// Pays a data-chain miner on the root what `proof` shows it earned beyond what it was paid
/// for that chain before, at most what the chain's pool holds.
pub(crate) fn claim_miner_reward(
    view: &mut StateView<'_>,
    params: &ChainParams,
    proof: &EarningsProof,
) -> Result<(), ApplyError> {
    let chain = proof.chain;
    if chain.depth() > params.depth_max() {
        return Err(EarningsError::DepthTooDeep {
            depth: chain.depth(),
            depth_max: params.depth_max(),
        }
        .into());
    }
    let top = proof.verify().map_err(EarningsError::BadProof)?;
    if view.get_raw(&anchored_key(&top))?.is_none() {
        return Err(EarningsError::NotAnchored {
            chain: top.chain,
            hash: top.hash,
        }
        .into());
    }
    let claimed = view.claimed(&chain, &proof.miner)?;
    let mut pool = view.pool(&chain)?;
    let owed = Amount(proof.earned.0.saturating_sub(claimed.0));
    let pay = owed.min(pool.held());
    if pay == Amount::ZERO {
        return Err(EarningsError::NothingToClaim {
            chain,
            miner: proof.miner,
            earned: proof.earned,
            claimed,
            pool_held: pool.held(),
        }
        .into());
    }
    pool.paid = pool.paid.checked_add(pay).map_err(|_| TxError::Overflow)?;
    let claimed = claimed.checked_add(pay).map_err(|_| TxError::Overflow)?;
    view.set_pending(pool_key(&chain), Some(codec::encode(&pool)));
    view.set_pending(
        claimed_key(&chain, &proof.miner),
        Some(codec::encode(&claimed)),
    );
    view.credit(&proof.miner, pay)
}

/// Adds `amount` (already taken from a balance) to what `chain`'s endowment pool has been
/// paid: a keyspace's endowment, a bounty's holding charge.
pub(crate) fn deposit(
    view: &mut StateView<'_>,
    chain: &ChainId,
    amount: Amount,
) -> Result<(), ApplyError> {
    let mut pool = view.pool(chain)?;
    pool.deposited = pool
        .deposited
        .checked_add(amount)
        .map_err(|_| TxError::Overflow)?;
    view.set_pending(pool_key(chain), Some(codec::encode(&pool)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_releases_a_fixed_fraction_of_what_is_left() {
        assert_eq!(block_release(Amount(1 << 20), Amount::ZERO, 16), Amount(16));
        assert_eq!(
            block_release(Amount(1 << 20), Amount(1 << 19), 16),
            Amount(8)
        );
        // Nothing left, or less than one unit's share: nothing released.
        assert_eq!(block_release(Amount(100), Amount(100), 16), Amount::ZERO);
        assert_eq!(block_release(Amount(100), Amount(0), 16), Amount::ZERO);
        // Released beyond deposited (cannot happen on one branch) releases nothing.
        assert_eq!(block_release(Amount(5), Amount(9), 0), Amount::ZERO);
        // A shift past the width releases nothing rather than panicking.
        assert_eq!(
            block_release(Amount(u128::MAX), Amount::ZERO, 200),
            Amount::ZERO
        );
    }

    #[test]
    fn releases_never_sum_past_the_deposit() {
        let deposited = Amount(123_456_789);
        let mut released = Amount::ZERO;
        for _ in 0..10_000 {
            let pay = block_release(deposited, released, 4);
            released = Amount(released.0 + pay.0);
            assert!(released <= deposited);
        }
        // A fixed fraction of the rest each block: the pool is all but spent.
        assert!(deposited.0 - released.0 < 16, "{released:?}");
    }

    #[test]
    fn pool_keys_differ_by_chain_and_claims_by_miner() {
        let a = ChainId::new(1, 0).unwrap();
        let b = ChainId::new(1, 1).unwrap();
        assert_ne!(pool_key(&a), pool_key(&b));
        let m = AccountId([1; 32]);
        let n = AccountId([2; 32]);
        assert_ne!(claimed_key(&a, &m), claimed_key(&a, &n));
        assert_ne!(claimed_key(&a, &m), claimed_key(&b, &m));
        assert_ne!(earned_key(&m), earned_key(&n));
    }
}
