//! The lineup proof: a proof of work over a bounty id. Anyone may search for one; its hash
//! seeds the relayer draw, so nobody chooses the lineup, and its finder earns a share of the
//! bounty.
//!
//! The proof's hash is `H_tagged("bitverse lineup proof v1", encode(bounty, finder, nonce))`;
//! it meets a difficulty `D` under the convention of block headers (`blocktree`'s
//! `pow_meets`): the hash's top 128 bits, read big-endian, are at most `u128::MAX / D`, which a
//! random hash is with probability `1/D`. Difficulty 0 and 1 accept every hash.

use bincode::{Decode, Encode};
use bitverse_primitives::{AccountId, Hash, codec};

use crate::LineupError;

/// The encoded size of a lineup proof: bounty, finder and nonce, fixed width.
pub const LINEUP_PROOF_SIZE_BYTES: usize = 32 + 32 + 8;

/// A proof of work over a bounty id whose hash seeds the relayer draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct LineupProof {
    /// The bounty the lineup serves.
    pub bounty: Hash,
    /// Who found the proof, and earns its share. Part of the hashed bytes, so a proof cannot
    /// be claimed by someone else.
    pub finder: AccountId,
    /// Varied to meet the lineup difficulty.
    pub nonce: u64,
}

/// Whether `hash` meets `difficulty`: its top 128 bits, big-endian, are at most
/// `u128::MAX / difficulty` (the rule `blocktree` applies to block headers).
pub fn meets_difficulty(hash: &Hash, difficulty: u64) -> bool {
    let top = hash
        .0
        .first_chunk::<16>()
        .map_or(u128::MAX, |bytes| u128::from_be_bytes(*bytes));
    let target = u128::MAX
        .checked_div(u128::from(difficulty))
        .unwrap_or(u128::MAX);
    top <= target
}

impl LineupProof {
    /// The proof's hash: the draw's seed.
    pub fn hash(&self) -> Hash {
        Hash::tagged("bitverse lineup proof v1", &[&codec::encode(self)])
    }

    /// Whether the proof meets `difficulty`.
    pub fn meets(&self, difficulty: u64) -> bool {
        meets_difficulty(&self.hash(), difficulty)
    }

    /// Checks the proof for `bounty` at `difficulty`, and returns the draw's seed.
    pub fn check(&self, bounty: &Hash, difficulty: u64) -> Result<Hash, LineupError> {
        if self.bounty != *bounty {
            return Err(LineupError::ProofForOtherBounty {
                expected: *bounty,
                found: self.bounty,
            });
        }
        let seed = self.hash();
        if !meets_difficulty(&seed, difficulty) {
            return Err(LineupError::ProofBelowDifficulty { difficulty });
        }
        Ok(seed)
    }

    /// Searches nonces `start_nonce, start_nonce + 1, …` (at most `attempts_max` of them, and
    /// never past `u64::MAX`) for a proof over `bounty` by `finder` that meets `difficulty`.
    /// Expect `difficulty` attempts on average.
    pub fn find(
        bounty: Hash,
        finder: AccountId,
        difficulty: u64,
        start_nonce: u64,
        attempts_max: u64,
    ) -> Option<LineupProof> {
        let mut proof = LineupProof {
            bounty,
            finder,
            nonce: start_nonce,
        };
        for _ in 0..attempts_max {
            if proof.meets(difficulty) {
                return Some(proof);
            }
            proof.nonce = proof.nonce.checked_add(1)?;
        }
        None
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a proof from exactly [`LINEUP_PROOF_SIZE_BYTES`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LineupError> {
        codec::decode_with_limit::<LineupProof, LINEUP_PROOF_SIZE_BYTES>(bytes)
            .map_err(LineupError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bounty() -> Hash {
        Hash::digest(b"bounty 7")
    }

    fn finder() -> AccountId {
        AccountId([7; 32])
    }

    #[test]
    fn a_found_proof_checks_and_seeds_with_its_hash() {
        let proof = LineupProof::find(bounty(), finder(), 1_000, 0, 1_000_000).unwrap();
        assert_eq!(proof.check(&bounty(), 1_000), Ok(proof.hash()));
    }

    #[test]
    fn a_proof_for_another_bounty_is_refused() {
        let proof = LineupProof::find(bounty(), finder(), 16, 0, 10_000).unwrap();
        let other = Hash::digest(b"bounty 8");
        assert_eq!(
            proof.check(&other, 16),
            Err(LineupError::ProofForOtherBounty {
                expected: other,
                found: bounty()
            })
        );
    }

    #[test]
    fn a_proof_below_difficulty_is_refused_and_claiming_it_as_another_finder_breaks_it() {
        // Find a proof at difficulty 1 000 whose hash does not meet 10^9 (almost all).
        let proof = LineupProof::find(bounty(), finder(), 1_000, 0, 1_000_000).unwrap();
        assert!(!proof.meets(1_000_000_000));
        assert_eq!(
            proof.check(&bounty(), 1_000_000_000),
            Err(LineupError::ProofBelowDifficulty {
                difficulty: 1_000_000_000
            })
        );
        // The finder is hashed: the same nonce under another finder is another hash.
        let stolen = LineupProof {
            finder: AccountId([8; 32]),
            ..proof
        };
        assert_ne!(stolen.hash(), proof.hash());
    }

    #[test]
    fn difficulty_zero_and_one_accept_every_hash_and_the_top_bits_decide() {
        let mut hash = Hash([0xff; 32]);
        assert!(meets_difficulty(&hash, 0));
        assert!(meets_difficulty(&hash, 1));
        assert!(!meets_difficulty(&hash, 2));
        // Top 128 bits exactly u128::MAX / 2: meets 2; one more does not.
        hash.0[..16].copy_from_slice(&(u128::MAX / 2).to_be_bytes());
        assert!(meets_difficulty(&hash, 2));
        hash.0[..16].copy_from_slice(&(u128::MAX / 2 + 1).to_be_bytes());
        assert!(!meets_difficulty(&hash, 2));
    }

    #[test]
    fn the_search_gives_up_after_its_attempts_and_at_the_last_nonce() {
        // Difficulty u64::MAX: about 2^-64 per attempt.
        assert_eq!(
            LineupProof::find(bounty(), finder(), u64::MAX, 0, 100),
            None
        );
        assert_eq!(
            LineupProof::find(bounty(), finder(), u64::MAX, u64::MAX - 3, 100),
            None
        );
    }

    proptest! {
        #[test]
        fn proof_codec_round_trips(bounty in any::<[u8; 32]>(), finder in any::<[u8; 32]>(), nonce in any::<u64>()) {
            let proof = LineupProof { bounty: Hash(bounty), finder: AccountId(finder), nonce };
            let bytes = proof.to_bytes();
            prop_assert_eq!(bytes.len(), LINEUP_PROOF_SIZE_BYTES);
            prop_assert_eq!(LineupProof::from_bytes(&bytes), Ok(proof));
        }

        #[test]
        fn proof_decoding_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(LineupProof::from_bytes(&bytes).is_ok(), bytes.len() == LINEUP_PROOF_SIZE_BYTES);
        }

        #[test]
        fn every_found_proof_meets_its_difficulty(seed in any::<u64>(), difficulty in 1u64..64) {
            let proof = LineupProof::find(bounty(), finder(), difficulty, seed, 100_000);
            if let Some(proof) = proof {
                prop_assert!(proof.meets(difficulty));
                prop_assert!(proof.nonce >= seed);
            }
        }
    }
}
