//! Blocks: the header, its hash and proof of work (merged: one work hash may seal a candidate
//! block of every chain a miner tracks), and the transaction Merkle root.

use bincode::{Decode, Encode};
use bitverse_primitives::{AccountId, ChainId, Hash, codec};
use rs_merkle::{Hasher, MerkleProof, MerkleTree};

use crate::error::BlockError;
use crate::tx::{TX_SIZE_BYTES_MAX, Transaction};

/// Most transactions one block may hold.
pub const BLOCK_TXS_MAX: usize = 10_000;
/// Largest encoded block: header, transactions and anchor headers together.
pub const BLOCK_SIZE_BYTES_MAX: usize = 8 * 1024 * 1024;
/// The length prefix of an encoded list (the codec writes lengths as `u64`).
pub(crate) const VEC_LENGTH_BYTES: usize = 8;
/// Largest encoded header: the fixed fields, two anchors and a merged-work path of
/// [`MERGED_PATH_LEN_MAX`] hashes, with room.
pub const HEADER_SIZE_BYTES_MAX: usize = 768;
/// Most candidate blocks one merged proof of work commits to: a miner tracking more chains
/// merges this many per round. Bounds the path every header carries.
pub const MERGED_LEAVES_MAX: u32 = 64;
/// Hashes in a merged-work path at most: log2 of [`MERGED_LEAVES_MAX`].
pub const MERGED_PATH_LEN_MAX: usize = 6;
/// Most anchors one header carries: one per child chain.
pub const ANCHORS_PER_BLOCK_MAX: usize = 2;

/// A child chain's block, named by a block of its parent chain (DESIGN §2): the child's tip as
/// the parent's miner saw it. The parent's state keeps the latest anchor of each child, which
/// is what a proof of a deep value walks down.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Anchor {
    /// The child chain.
    pub chain: ChainId,
    /// The anchored block's height on it.
    pub height: u64,
    /// The anchored block's header hash.
    pub hash: Hash,
}

/// Where a header sits in the work commitment its proof of work covers (merged mining,
/// DESIGN §2): the commitment is the Merkle root over the seal hashes (see
/// [`BlockHeader::seal_hash`]) of the candidate blocks a miner built, one per chain it tracks,
/// each at the slot its chain fixes ([`merged_slot`]) in a tree a power of two wide, the other
/// leaves zero; the work hash is `H(commitment ‖ nonce)`, and each chain whose target that hash
/// meets accepts its candidate. A block mined alone is the one leaf of its own commitment
/// (`leaves` 1, no path).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct MergedWork {
    /// The header's leaf: the slot its chain fixes among `leaves`.
    pub index: u32,
    /// The commitment's width: a power of two, at most [`MERGED_LEAVES_MAX`].
    pub leaves: u32,
    /// Sibling hashes from the leaf up to the commitment, as many as the padded tree is deep.
    pub path: Vec<Hash>,
}

impl Default for MergedWork {
    /// A block mined alone.
    fn default() -> MergedWork {
        MergedWork {
            index: 0,
            leaves: 1,
            path: Vec::new(),
        }
    }
}

/// Levels of the commitment tree `leaves` wide (a power of two).
fn merged_levels(leaves: u32) -> usize {
    usize::try_from(leaves.trailing_zeros()).unwrap_or(usize::MAX)
}

fn merged_node(left: &Hash, right: &Hash) -> Hash {
    Hash::tagged("bitverse merged work node v1", &[&left.0, &right.0])
}

/// The work hash of a commitment and a nonce: what must meet a chain's difficulty.
pub fn work_hash(commitment: &Hash, nonce: u64) -> Hash {
    Hash::tagged(
        "bitverse merged work v1",
        &[&commitment.0, &nonce.to_le_bytes()],
    )
}

/// The leaf a block of `chain` must occupy in a commitment `leaves` wide: fixed by the chain,
/// so one work hash can never seal two blocks of the same chain (two branches would need the
/// same leaf).
pub fn merged_slot(chain: ChainId, leaves: u32) -> u32 {
    let hash = Hash::tagged("bitverse merged slot v1", &[&chain.to_bytes()]);
    let (head, _) = hash.0.split_at(4);
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(head);
    u32::from_le_bytes(bytes).checked_rem(leaves).unwrap_or(0)
}

/// The commitment over candidates (each a chain and its seal hash), and each candidate's
/// [`MergedWork`]: the narrowest power-of-two width up to [`MERGED_LEAVES_MAX`] where every
/// candidate's chain has its own slot; where none is, the candidates whose slot is taken by an
/// earlier one (put the root first) sit the round out (`None`). `None` for no candidates.
pub fn merged_commitment(
    candidates: &[(ChainId, Hash)],
) -> Option<(Hash, Vec<Option<MergedWork>>)> {
    let count = u32::try_from(candidates.len()).unwrap_or(u32::MAX);
    if count == 0 {
        return None;
    }
    let mut width = count.next_power_of_two().min(MERGED_LEAVES_MAX);
    loop {
        let mut slots: Vec<u32> = candidates
            .iter()
            .map(|(chain, _)| merged_slot(*chain, width))
            .collect();
        slots.sort_unstable();
        slots.dedup();
        if slots.len() == candidates.len() || width >= MERGED_LEAVES_MAX {
            break;
        }
        width = width.saturating_mul(2);
    }
    let padded = usize::try_from(width).ok()?;
    let mut level: Vec<Hash> = vec![Hash::ZERO; padded];
    let mut taken = vec![false; padded];
    let mut places: Vec<Option<usize>> = Vec::with_capacity(candidates.len());
    for (chain, seal) in candidates {
        let slot = usize::try_from(merged_slot(*chain, width)).ok()?;
        match (taken.get_mut(slot), level.get_mut(slot)) {
            (Some(used), Some(leaf)) if !*used => {
                *used = true;
                *leaf = *seal;
                places.push(Some(slot));
            }
            _ => places.push(None),
        }
    }
    let mut levels = vec![level.clone()];
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => merged_node(left, right),
                _ => Hash::ZERO,
            })
            .collect();
        levels.push(level.clone());
    }
    let commitment = level.first().copied()?;
    let proofs = places
        .into_iter()
        .map(|place| {
            let slot = place?;
            let mut position = slot;
            let path = levels
                .iter()
                .take(levels.len().saturating_sub(1))
                .map(|nodes| {
                    let sibling = nodes.get(position ^ 1).copied().unwrap_or(Hash::ZERO);
                    position /= 2;
                    sibling
                })
                .collect();
            Some(MergedWork {
                index: u32::try_from(slot).ok()?,
                leaves: width,
                path,
            })
        })
        .collect();
    Some((commitment, proofs))
}

/// A block header: everything proof of work and light clients need.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BlockHeader {
    /// The chain this block extends.
    pub chain: ChainId,
    /// The parent's header hash; for genesis, a hash of the network's parameters.
    pub parent: Hash,
    /// Blocks since genesis.
    pub height: u64,
    /// Milliseconds since the Unix epoch, as the miner claims it.
    pub time_ms: u64,
    /// Expected number of hashes to find this block's proof of work.
    pub difficulty: u64,
    /// Varied by the miner to meet the difficulty (in the work hash, with the commitment).
    pub nonce: u64,
    /// Where this header sits in the commitment its proof of work covers.
    pub merged: MergedWork,
    /// Paid the subsidy and the fees.
    pub miner: AccountId,
    /// Merkle root of the transactions' hashes (rs_merkle, BLAKE3); zero when there are none.
    pub tx_root: Hash,
    /// Root of the state after this block (jmt, BLAKE3), at version `height`.
    pub state_root: Hash,
    /// For a block of a data chain, the root block whose state it is validated against
    /// (keyspace registry, scripts, payments); [`Hash::ZERO`] on the root.
    pub relay_parent: Hash,
    /// Tips of this chain's children this block anchors, at most one per child, in chain
    /// order: at most [`ANCHORS_PER_BLOCK_MAX`], whatever the number of live chains.
    pub anchors: Vec<Anchor>,
    /// Commits to the child headers the body carries for `anchors`
    /// ([`crate::anchoring::anchor_headers_hash`]); [`Hash::ZERO`] without anchors.
    pub anchor_headers_hash: Hash,
}

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

impl BlockHeader {
    /// The block's id.
    pub fn hash(&self) -> Hash {
        Hash::tagged("bitverse block header v1", &[&codec::encode(self)])
    }

    /// What the proof of work commits to: the hash of everything but the nonce and the merged
    /// path, so one work hash can cover candidates of several chains.
    pub fn seal_hash(&self) -> Hash {
        let mut unsealed = self.clone();
        unsealed.nonce = 0;
        unsealed.merged = MergedWork::default();
        Hash::tagged("bitverse block seal v1", &[&codec::encode(&unsealed)])
    }

    /// The work hash this header's proof of work is: its seal hash folded up its merged path
    /// to the commitment, hashed with the nonce. `None` when the path does not fit its claimed
    /// place (too many leaves, an index past them, a path of the wrong length).
    pub fn work_hash(&self) -> Option<Hash> {
        let MergedWork {
            index,
            leaves,
            path,
        } = &self.merged;
        if !leaves.is_power_of_two()
            || *leaves > MERGED_LEAVES_MAX
            || *index != merged_slot(self.chain, *leaves)
            || path.len() != merged_levels(*leaves)
        {
            return None;
        }
        let mut node = self.seal_hash();
        let mut position = *index;
        for sibling in path {
            node = if position % 2 == 0 {
                merged_node(&node, sibling)
            } else {
                merged_node(sibling, &node)
            };
            position /= 2;
        }
        Some(work_hash(&node, self.nonce))
    }

    /// Whether the work hash meets the difficulty: read as a number, its top 128 bits are at
    /// most `u128::MAX / difficulty`, which a random hash is with probability `1/difficulty`.
    pub fn meets_difficulty(&self) -> bool {
        self.work_hash()
            .is_some_and(|work| pow_meets(&work, self.difficulty))
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a header from exactly `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<BlockHeader, BlockError> {
        codec::decode_with_limit::<BlockHeader, HEADER_SIZE_BYTES_MAX>(bytes)
            .map_err(|e| BlockError::Malformed(e.to_string()))
    }

    /// The checks of the relay parent and the anchors that need nothing but the header: the
    /// root names no relay parent and a data chain does; at most one anchor per child, each
    /// naming a child of this chain, in chain order.
    pub fn check_tree_fields(&self) -> Result<(), BlockError> {
        let is_root = self.chain.is_root();
        if is_root != (self.relay_parent == Hash::ZERO) {
            return Err(BlockError::BadRelayParent(if is_root {
                "a root block names no relay parent".into()
            } else {
                "a data-chain block must name a relay parent".into()
            }));
        }
        if self.anchors.len() > ANCHORS_PER_BLOCK_MAX {
            return Err(BlockError::BadAnchor(format!(
                "{} anchors, at most {ANCHORS_PER_BLOCK_MAX}",
                self.anchors.len()
            )));
        }
        let mut previous: Option<ChainId> = None;
        for anchor in &self.anchors {
            if anchor.chain.parent() != Some(self.chain) {
                return Err(BlockError::BadAnchor(format!(
                    "chain {} is not a child of chain {}",
                    anchor.chain, self.chain
                )));
            }
            if previous.is_some_and(|p| p >= anchor.chain) {
                return Err(BlockError::BadAnchor(
                    "anchors are not in strictly increasing chain order".into(),
                ));
            }
            previous = Some(anchor.chain);
        }
        Ok(())
    }
}

/// Whether `hash` meets `difficulty` (see [`BlockHeader::meets_difficulty`]).
pub fn pow_meets(hash: &Hash, difficulty: u64) -> bool {
    let (high, _) = hash.0.split_at(16);
    let mut top = [0u8; 16];
    top.copy_from_slice(high);
    let target = u128::MAX
        .checked_div(u128::from(difficulty))
        .unwrap_or(u128::MAX);
    u128::from_be_bytes(top) <= target
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
        crate::anchoring::check_carried(&self.header, &self.anchor_headers)?;
        Ok(hashes)
    }
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
