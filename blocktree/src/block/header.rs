//! A block's header: its hash, the proof of work it carries (merged: one work hash may seal a
//! candidate block of every chain a miner tracks) and the checks that need nothing but the
//! header. Below transactions, which carry headers in their proofs; the block above holds both.

use bincode::{Decode, Encode};
use bitverse_primitives::{AccountId, ChainId, Hash, codec};

use crate::error::BlockError;

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
    /// ([`crate::block::anchor_headers_hash`]); [`Hash::ZERO`] without anchors.
    pub anchor_headers_hash: Hash,
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
