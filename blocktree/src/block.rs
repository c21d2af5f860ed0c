//! Blocks: a header ([`header`], re-exported here) with its transactions and the child headers
//! its anchors carry; the checks of a body that need no state (size, the transaction Merkle
//! root, the carried anchor headers against the header's commitment).

use bincode::{Decode, Encode};
use bitverse_primitives::{Hash, codec};
use rs_merkle::{Hasher, MerkleProof, MerkleTree};

pub(crate) mod header;

pub use header::{
    ANCHORS_PER_BLOCK_MAX, Anchor, BlockHeader, HEADER_SIZE_BYTES_MAX, MERGED_LEAVES_MAX,
    MERGED_PATH_LEN_MAX, MergedWork, merged_commitment, merged_slot, pow_meets, work_hash,
};

use crate::error::BlockError;
use crate::tx::{TX_SIZE_BYTES_MAX, Transaction};

/// Most transactions one block may hold.
pub const BLOCK_TXS_MAX: usize = 10_000;
/// Largest encoded block: header, transactions and anchor headers together.
pub const BLOCK_SIZE_BYTES_MAX: usize = 8 * 1024 * 1024;
/// The length prefix of an encoded list (the codec writes lengths as `u64`).
pub(crate) const VEC_LENGTH_BYTES: usize = 8;
/// Most child headers one anchor carries, so most a child's anchored height moves per parent
/// block: a parent that has not anchored a child for longer catches up over several blocks.
/// With [`ANCHORS_PER_BLOCK_MAX`] anchors of at most
/// [`HEADER_SIZE_BYTES_MAX`] bytes a header, at most 96 KiB of a block.
pub const ANCHOR_HEADERS_MAX: usize = 64;

/// A header, its transactions and the child headers its anchors carry.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions, applied in order.
    pub transactions: Vec<Transaction>,
    /// For each of the header's anchors, in order, the child's headers since the header its
    /// chain anchored last, oldest first, ending at the anchored one: the work that makes the
    /// anchor valid (`crate::anchoring`).
    pub anchor_headers: Vec<Vec<BlockHeader>>,
}

impl Block {
    /// The block's id: its header's hash.
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a block from exactly `bytes`, refusing more than [`BLOCK_SIZE_BYTES_MAX`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Block, BlockError> {
        codec::decode_with_limit::<Block, BLOCK_SIZE_BYTES_MAX>(bytes)
            .map_err(|e| BlockError::Malformed(e.to_string()))
    }

    /// Checks sizes, the transaction root and the shape of the anchor headers: everything about
    /// the body that needs neither the parent nor state. Returns the transactions' hashes, which the checks compute anyway and
    /// the chain needs for its index.
    pub fn check_body(&self) -> Result<Vec<Hash>, BlockError> {
        if self.transactions.len() > BLOCK_TXS_MAX {
            return Err(BlockError::TooLarge(format!(
                "{} transactions, the maximum is {BLOCK_TXS_MAX}",
                self.transactions.len()
            )));
        }
        let mut size_bytes = 0usize;
        let mut hashes = Vec::with_capacity(self.transactions.len());
        for tx in &self.transactions {
            let bytes = tx.to_bytes();
            let tx_size = bytes.len();
            if tx_size > TX_SIZE_BYTES_MAX {
                return Err(BlockError::TooLarge(format!(
                    "a transaction of {tx_size} bytes"
                )));
            }
            size_bytes = size_bytes.saturating_add(tx_size);
            hashes.push(Transaction::id_of_bytes(&bytes));
        }
        // The whole encoding counts, header and anchor headers too, so that a block that
        // passes is one every peer can decode under the same limit.
        size_bytes = size_bytes
            .saturating_add(self.header.to_bytes().len())
            .saturating_add(VEC_LENGTH_BYTES)
            .saturating_add(codec::encode(&self.anchor_headers).len());
        if size_bytes > BLOCK_SIZE_BYTES_MAX {
            return Err(BlockError::TooLarge(format!(
                "{size_bytes} bytes with its transactions and anchor headers"
            )));
        }
        if tx_root(&hashes) != self.header.tx_root {
            return Err(BlockError::TxRootMismatch);
        }
        check_carried(&self.header, &self.anchor_headers)?;
        Ok(hashes)
    }
}

/// The commitment a header makes to its block's anchor headers: [`Hash::ZERO`] when the block
/// anchors nothing.
pub fn anchor_headers_hash(carried: &[Vec<BlockHeader>]) -> Hash {
    if carried.is_empty() {
        return Hash::ZERO;
    }
    Hash::tagged("bitverse anchor headers v1", &[&codec::encode(&carried)])
}

/// The checks of a block's anchor headers that need no state: one list per anchor, each of
/// 1 to [`ANCHOR_HEADERS_MAX`] headers of the anchored chain, linked one to the next and
/// ending at the anchored header, all of it committed by the header. Whether the first one
/// follows the previous anchor, and each meets the child's rules, `crate::anchoring`'s
/// `apply_anchors` checks.
pub fn check_carried(header: &BlockHeader, carried: &[Vec<BlockHeader>]) -> Result<(), BlockError> {
    if carried.len() != header.anchors.len() {
        return Err(BlockError::BadAnchor(format!(
            "{} lists of anchor headers for {} anchors",
            carried.len(),
            header.anchors.len()
        )));
    }
    for (anchor, headers) in header.anchors.iter().zip(carried) {
        if headers.is_empty() || headers.len() > ANCHOR_HEADERS_MAX {
            return Err(BlockError::BadAnchor(format!(
                "chain {}'s anchor carries {} headers, 1 to {ANCHOR_HEADERS_MAX} allowed",
                anchor.chain,
                headers.len()
            )));
        }
        let mut previous: Option<(Hash, u64)> = None;
        for child in headers {
            if child.chain != anchor.chain {
                return Err(BlockError::BadAnchor(format!(
                    "a header of chain {} among chain {}'s anchor headers",
                    child.chain, anchor.chain
                )));
            }
            if let Some((hash, height)) = previous
                && (child.parent != hash || Some(child.height) != height.checked_add(1))
            {
                return Err(BlockError::BadAnchor(format!(
                    "chain {}'s anchor headers are not linked at height {}",
                    anchor.chain, child.height
                )));
            }
            previous = Some((child.hash(), child.height));
        }
        if previous != Some((anchor.hash, anchor.height)) {
            return Err(BlockError::BadAnchor(format!(
                "chain {}'s anchor headers do not end at the anchored block {} at height {}",
                anchor.chain, anchor.hash, anchor.height
            )));
        }
    }
    if anchor_headers_hash(carried) != header.anchor_headers_hash {
        return Err(BlockError::BadAnchor(
            "the anchor headers do not match the header's commitment".into(),
        ));
    }
    Ok(())
}

/// rs_merkle's hasher over BLAKE3, with distinct tags for leaves' parents so that an inner node
/// can never pass for a leaf.
#[derive(Clone)]
pub struct Blake3MerkleHasher;

impl Hasher for Blake3MerkleHasher {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        Hash::tagged("bitverse tx merkle node v1", &[data]).0
    }
}

/// Merkle root of transaction hashes; [`Hash::ZERO`] for none.
pub fn tx_root(tx_hashes: &[Hash]) -> Hash {
    let leaves: Vec<[u8; 32]> = tx_hashes.iter().map(|h| h.0).collect();
    MerkleTree::<Blake3MerkleHasher>::from_leaves(&leaves)
        .root()
        .map(Hash)
        .unwrap_or(Hash::ZERO)
}

/// A proof that a transaction hash is the `index`-th leaf of a block's transaction root.
pub fn tx_inclusion_proof(tx_hashes: &[Hash], index: usize) -> Vec<u8> {
    let leaves: Vec<[u8; 32]> = tx_hashes.iter().map(|h| h.0).collect();
    MerkleTree::<Blake3MerkleHasher>::from_leaves(&leaves)
        .proof(&[index])
        .to_bytes()
}

/// Checks a proof made by [`tx_inclusion_proof`].
pub fn verify_tx_inclusion(
    root: &Hash,
    tx_hash: &Hash,
    index: usize,
    tx_count: usize,
    proof: &[u8],
) -> bool {
    match MerkleProof::<Blake3MerkleHasher>::try_from(proof) {
        Ok(proof) => proof.verify(root.0, &[index], &[tx_hash.0], tx_count),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use bitverse_primitives::{AccountId, ChainId};

    use super::*;
    use proptest::prelude::*;

    fn header() -> impl Strategy<Value = BlockHeader> {
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u64>(),
            1u64..,
            any::<u64>(),
            any::<[u8; 32]>(),
        )
            .prop_map(
                |(parent, height, time_ms, difficulty, nonce, root)| BlockHeader {
                    chain: ChainId::ROOT,
                    parent: Hash(parent),
                    height,
                    time_ms,
                    difficulty,
                    nonce,
                    merged: MergedWork {
                        index: (nonce % 2) as u32,
                        leaves: 2,
                        path: vec![Hash(root)],
                    },
                    miner: AccountId(root),
                    tx_root: Hash(root),
                    state_root: Hash::digest(&root),
                    relay_parent: Hash::ZERO,
                    anchors: vec![
                        Anchor {
                            chain: ChainId::new(1, 0).unwrap(),
                            height,
                            hash: Hash(parent),
                        },
                        Anchor {
                            chain: ChainId::new(1, 1).unwrap(),
                            height: nonce,
                            hash: Hash(root),
                        },
                    ],
                    anchor_headers_hash: Hash(parent),
                },
            )
    }

    proptest! {
        #[test]
        fn header_codec_round_trips(h in header()) {
            prop_assert_eq!(BlockHeader::from_bytes(&h.to_bytes()).unwrap(), h);
        }

        #[test]
        fn header_codec_rejects_trailing_bytes(h in header()) {
            let mut bytes = h.to_bytes();
            bytes.push(0);
            prop_assert!(BlockHeader::from_bytes(&bytes).is_err());
        }

        #[test]
        fn block_codec_round_trips(h in header()) {
            let carried = vec![vec![h.clone()]];
            let block = Block { header: h, transactions: vec![], anchor_headers: carried };
            prop_assert_eq!(Block::from_bytes(&block.to_bytes()).unwrap(), block);
        }

        #[test]
        fn tx_proofs_verify_and_tampering_fails(
            leaves in proptest::collection::vec(any::<[u8; 32]>(), 1..40),
            pick in any::<prop::sample::Index>(),
            flip in 0usize..32,
        ) {
            let hashes: Vec<Hash> = leaves.into_iter().map(Hash).collect();
            let index = pick.index(hashes.len());
            let root = tx_root(&hashes);
            let proof = tx_inclusion_proof(&hashes, index);
            prop_assert!(verify_tx_inclusion(&root, &hashes[index], index, hashes.len(), &proof));
            let mut tampered = hashes[index];
            tampered.0[flip] ^= 1;
            prop_assert!(!verify_tx_inclusion(&root, &tampered, index, hashes.len(), &proof));
            let mut bad_root = root;
            bad_root.0[flip] ^= 1;
            prop_assert!(!verify_tx_inclusion(&bad_root, &hashes[index], index, hashes.len(), &proof));
        }
    }

    #[test]
    fn tree_fields_are_checked_without_state() {
        let root = ChainId::ROOT;
        let left = ChainId::new(1, 0).unwrap();
        let right = ChainId::new(1, 1).unwrap();
        let anchor = |chain| Anchor {
            chain,
            height: 1,
            hash: Hash::ZERO,
        };
        let mut header = BlockHeader {
            chain: root,
            parent: Hash::ZERO,
            height: 1,
            time_ms: 0,
            difficulty: 1,
            nonce: 0,
            merged: MergedWork::default(),
            miner: AccountId::default(),
            tx_root: Hash::ZERO,
            state_root: Hash::ZERO,
            relay_parent: Hash::ZERO,
            anchors: vec![anchor(left), anchor(right)],
            anchor_headers_hash: Hash::ZERO,
        };
        header.check_tree_fields().unwrap();
        header.anchors.reverse();
        assert!(header.check_tree_fields().is_err(), "out of order");
        header.anchors = vec![anchor(left), anchor(left)];
        assert!(header.check_tree_fields().is_err(), "twice the same child");
        header.anchors = vec![anchor(ChainId::new(2, 0).unwrap())];
        assert!(header.check_tree_fields().is_err(), "a grandchild");
        header.anchors = vec![];
        header.relay_parent = Hash([1; 32]);
        assert!(
            header.check_tree_fields().is_err(),
            "root with a relay parent"
        );
        header.chain = left;
        header.check_tree_fields().unwrap();
        header.relay_parent = Hash::ZERO;
        assert!(
            header.check_tree_fields().is_err(),
            "data chain without one"
        );
    }

    #[test]
    fn oversize_block_bytes_are_refused() {
        assert!(Block::from_bytes(&vec![0u8; BLOCK_SIZE_BYTES_MAX + 1]).is_err());
    }

    fn candidate(chain: ChainId, height: u64) -> BlockHeader {
        BlockHeader {
            chain,
            parent: Hash::digest(&height.to_le_bytes()),
            height,
            time_ms: 1,
            difficulty: 4,
            nonce: 0,
            merged: MergedWork::default(),
            miner: AccountId::default(),
            tx_root: Hash::ZERO,
            state_root: Hash::ZERO,
            relay_parent: if chain.is_root() {
                Hash::ZERO
            } else {
                Hash([7; 32])
            },
            anchors: Vec::new(),
            anchor_headers_hash: Hash::ZERO,
        }
    }

    proptest! {
        /// One work hash seals every candidate whose target it meets, each through its own
        /// path; any change to a header, its place or its path breaks its proof of work.
        #[test]
        fn merged_work_seals_every_candidate_it_commits_to(count in 1usize..=20, flip in 0usize..32) {
            let headers: Vec<BlockHeader> = (0..count)
                .map(|i| candidate(ChainId::new(5, i as u64).unwrap(), i as u64 + 1))
                .collect();
            let seals: Vec<(ChainId, Hash)> =
                headers.iter().map(|h| (h.chain, h.seal_hash())).collect();
            let (commitment, proofs) = merged_commitment(&seals).unwrap();
            let nonce = (0u64..).find(|n| pow_meets(&work_hash(&commitment, *n), 4)).unwrap();
            // Chains whose slots collide at the widest commitment sit the round out; at most
            // 20 candidates, a few may.
            let placed = proofs.iter().flatten().count();
            prop_assert!(placed >= 1 && placed <= count);
            for (mut header, merged) in headers.into_iter().zip(proofs) {
                let Some(merged) = merged else { continue };
                header.nonce = nonce;
                header.merged = merged;
                prop_assert!(header.meets_difficulty());
                prop_assert_eq!(header.work_hash(), Some(work_hash(&commitment, nonce)));
                let mut moved = header.clone();
                moved.state_root.0[flip] ^= 1;
                prop_assert_ne!(moved.work_hash(), header.work_hash());
                if count > 1 {
                    let mut elsewhere = header.clone();
                    elsewhere.merged.index ^= 1;
                    prop_assert_ne!(elsewhere.work_hash(), header.work_hash());
                    let mut bent = header.clone();
                    if let Some(first) = bent.merged.path.first_mut() {
                        first.0[flip] ^= 1;
                    }
                    prop_assert_ne!(bent.work_hash(), header.work_hash());
                }
                let mut cut = header.clone();
                cut.merged.path.push(Hash::ZERO);
                prop_assert_eq!(cut.work_hash(), None, "a path longer than the tree");
            }
        }
    }

    #[test]
    fn a_merged_place_out_of_bounds_has_no_work() {
        let mut header = candidate(ChainId::ROOT, 1);
        assert!(header.work_hash().is_some());
        header.merged = MergedWork {
            index: 2,
            leaves: 2,
            path: vec![Hash::ZERO],
        };
        assert_eq!(header.work_hash(), None, "index past the leaves");
        header.merged = MergedWork {
            index: 0,
            leaves: 3,
            path: vec![Hash::ZERO, Hash::ZERO],
        };
        assert_eq!(header.work_hash(), None, "a width not a power of two");
        header.merged = MergedWork {
            index: 0,
            leaves: MERGED_LEAVES_MAX + 1,
            path: vec![Hash::ZERO; MERGED_PATH_LEN_MAX + 1],
        };
        assert_eq!(header.work_hash(), None, "too many leaves");
        header.merged = MergedWork {
            index: 0,
            leaves: 0,
            path: vec![],
        };
        assert_eq!(header.work_hash(), None, "no leaves");
        assert!(merged_commitment(&[]).is_none());
        // More candidates than leaves: the later ones whose slots are taken sit out.
        let many: Vec<(ChainId, Hash)> = (0..=u64::from(MERGED_LEAVES_MAX))
            .map(|i| (ChainId::new(7, i).unwrap(), Hash::digest(&i.to_le_bytes())))
            .collect();
        let (_, places) = merged_commitment(&many).unwrap();
        let placed = places.iter().flatten().count();
        assert!(placed <= MERGED_LEAVES_MAX as usize && placed < many.len());
        assert!(
            places[0].is_some(),
            "the first candidate always has its slot"
        );
    }

    #[test]
    fn one_work_cannot_seal_two_blocks_of_the_same_chain() {
        let chain = ChainId::new(3, 5).unwrap();
        let (a, b) = (candidate(chain, 1), candidate(chain, 2));
        let (_, places) =
            merged_commitment(&[(chain, a.seal_hash()), (chain, b.seal_hash())]).unwrap();
        assert!(places[0].is_some());
        assert_eq!(places[1], None, "the second block of the chain has no slot");
        // Nor can a miner put it at another leaf: a chain's block has one slot.
        let mut header = candidate(chain, 1);
        for leaves in [2u32, 4, 8, 64] {
            let slot = merged_slot(chain, leaves);
            header.merged = MergedWork {
                index: (slot + 1) % leaves,
                leaves,
                path: vec![Hash::ZERO; leaves.trailing_zeros() as usize],
            };
            assert_eq!(header.work_hash(), None, "leaves {leaves}");
        }
    }

    #[test]
    fn a_header_with_the_longest_merged_path_fits_its_size_limit() {
        let mut header = candidate(ChainId::new(8, 255).unwrap(), u64::MAX);
        header.anchors = vec![
            Anchor {
                chain: ChainId::new(9, 510).unwrap(),
                height: u64::MAX,
                hash: Hash([1; 32]),
            },
            Anchor {
                chain: ChainId::new(9, 511).unwrap(),
                height: u64::MAX,
                hash: Hash([2; 32]),
            },
        ];
        header.merged = MergedWork {
            index: merged_slot(header.chain, MERGED_LEAVES_MAX),
            leaves: MERGED_LEAVES_MAX,
            path: vec![Hash([3; 32]); MERGED_PATH_LEN_MAX],
        };
        let bytes = header.to_bytes();
        assert!(
            bytes.len() <= HEADER_SIZE_BYTES_MAX,
            "{} bytes",
            bytes.len()
        );
        assert_eq!(BlockHeader::from_bytes(&bytes).unwrap(), header);
    }

    #[test]
    fn difficulty_one_accepts_every_hash() {
        assert!(pow_meets(&Hash([0xff; 32]), 1));
        assert!(!pow_meets(&Hash([0xff; 32]), 2));
        assert!(pow_meets(&Hash([0; 32]), u64::MAX));
    }
}
