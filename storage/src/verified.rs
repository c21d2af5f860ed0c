//! Verified streaming of a shard: its BLAKE3 outboard tree, range proofs against the shard's
//! root, and their verification chunk group by chunk group, with `bao-tree` (as iroh-blobs).
//!
//! A shard's root is plain BLAKE3 of its bytes (the manifest's shard root); the outboard keeps
//! the tree's inner hashes down to chunk groups of [`CHUNK_GROUP_BYTES`] (16 KiB), 64 bytes a
//! group: about 0.4 % of the shard. A proof of a byte range is the hashes on the path to each
//! chunk group the range touches, interleaved with those groups' bytes in the order a reader
//! needs them; [`verify_range`] checks each group against the root before handing over a byte.

use std::io::{self, Read};
use std::ops::Range;

use bao_tree::io::outboard::PostOrderMemOutboard;
use bao_tree::io::sync::{
    DecodeResponseIter, ReadAt, encode_ranges_validated, outboard_post_order,
};
use bao_tree::io::{BaoContentItem, round_up_to_chunks_groups};
use bao_tree::{BaoTree, BlockSize, ChunkNum, ChunkRanges};
use bitverse_primitives::Hash;

use crate::manifest::BLOB_SIZE_BYTES_MAX;

/// A chunk group's log2 in 1 KiB BLAKE3 chunks: 2^4 = 16 chunks.
const CHUNK_GROUP_LOG: u8 = 4;

/// The bytes a reader verifies at once: one chunk group, 16 KiB.
pub const CHUNK_GROUP_BYTES: u64 = 16 * 1024;

/// BLAKE3's chunk.
const CHUNK_BYTES: u64 = 1024;

/// One hash pair of a proof's path: the two children of a parent node.
const HASH_PAIR_BYTES: u64 = 64;

/// The chunk groups of a shard of `size_bytes`: `ceil(size_bytes / 16 KiB)`.
pub const fn chunk_group_count(size_bytes: u64) -> u64 {
    size_bytes.div_ceil(CHUNK_GROUP_BYTES)
}

/// The bytes of chunk group `index` of a shard of `size_bytes` (the last group may be
/// shorter); `None` past the shard's end. An audit asks for one such range.
pub fn chunk_group_range(size_bytes: u64, index: u64) -> Option<Range<u64>> {
    let start = index.checked_mul(CHUNK_GROUP_BYTES)?;
    if start >= size_bytes {
        return None;
    }
    Some(start..start.saturating_add(CHUNK_GROUP_BYTES).min(size_bytes))
}

/// The longest [`prove_range`] proof of one chunk group of a shard of `size_bytes`: the
/// group's bytes and one hash pair per level of the tree above it, `ceil(log2(groups))`
/// levels (BLAKE3's tree is left-full, so no path is longer).
pub const fn chunk_group_proof_bytes_max(size_bytes: u64) -> u64 {
    let groups = chunk_group_count(size_bytes);
    let levels = if groups <= 1 {
        0
    } else {
        // ceil(log2(groups)) = the bits of groups - 1.
        64u64.saturating_sub(groups.saturating_sub(1).leading_zeros() as u64)
    };
    let group_bytes = if size_bytes < CHUNK_GROUP_BYTES {
        size_bytes
    } else {
        CHUNK_GROUP_BYTES
    };
    levels
        .saturating_mul(HASH_PAIR_BYTES)
        .saturating_add(group_bytes)
}

/// The longest proof of one chunk group of any shard: a shard of the largest blob
/// ([`BLOB_SIZE_BYTES_MAX`], 4 GiB, at 1-of-n) has 2^18 groups, so 18 hash pairs and 16 KiB of
/// data: 17,536 bytes.
pub const CHUNK_GROUP_PROOF_BYTES_MAX: u64 = chunk_group_proof_bytes_max(BLOB_SIZE_BYTES_MAX);

fn block_size() -> BlockSize {
    BlockSize::from_chunk_log(CHUNK_GROUP_LOG)
}

/// The tree of a shard of `size_bytes`, refused above [`BLOB_SIZE_BYTES_MAX`] so that no size
/// read from the wire reaches the tree's arithmetic unbounded.
fn tree(size_bytes: u64) -> Result<BaoTree, VerifyError> {
    if size_bytes > BLOB_SIZE_BYTES_MAX {
        return Err(VerifyError::ShardTooLarge {
            size_bytes,
            size_bytes_max: BLOB_SIZE_BYTES_MAX,
        });
    }
    Ok(BaoTree::new(size_bytes, block_size()))
}

/// A range, proof or outboard that does not check out.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The range is empty or reaches past the shard.
    #[error("range {start}..{end} is empty or reaches past the shard's {size_bytes} bytes")]
    Range {
        /// Its start.
        start: u64,
        /// Its end.
        end: u64,
        /// The shard's length.
        size_bytes: u64,
    },
    /// A shard larger than any blob (a shard is at most the blob's size).
    #[error("a shard of {size_bytes} bytes exceeds the largest blob's {size_bytes_max} bytes")]
    ShardTooLarge {
        /// The size given.
        size_bytes: u64,
        /// The limit.
        size_bytes_max: u64,
    },
    /// An outboard of the wrong length for its shard.
    #[error("an outboard of {outboard_bytes} bytes, where the shard's tree needs {expected_bytes}")]
    OutboardSize {
        /// Its length.
        outboard_bytes: u64,
        /// The length the tree needs.
        expected_bytes: u64,
    },
    /// Reading the shard failed or ended early.
    #[error("reading the shard: {0}")]
    Read(#[source] io::Error),
    /// The shard's bytes or outboard do not match its root: no proof can be made from them.
    #[error("the shard does not match its outboard: {0}")]
    Prove(#[source] bao_tree::io::EncodeError),
    /// The proof fails: a hash or a chunk group does not match, or the proof ends early.
    #[error("the proof does not verify against the shard root: {0}")]
    Proof(#[source] bao_tree::io::DecodeError),
    /// Bytes after the proof's end.
    #[error("bytes after the end of the proof")]
    TrailingBytes,
}

/// A shard's root and outboard tree (hash pairs in post order, down to chunk groups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardOutboard {
    root: Hash,
    size_bytes: u64,
    hashes: Vec<u8>,
}

impl ShardOutboard {
    /// An outboard read back from storage, refused unless its length fits the shard's tree.
    /// (Its hashes are checked against `root` as proofs are made from it.)
    pub fn from_parts(root: Hash, size_bytes: u64, hashes: Vec<u8>) -> Result<Self, VerifyError> {
        let expected_bytes = tree(size_bytes)?.outboard_size();
        if hashes.len() as u64 != expected_bytes {
            return Err(VerifyError::OutboardSize {
                outboard_bytes: hashes.len() as u64,
                expected_bytes,
            });
        }
        Ok(ShardOutboard {
            root,
            size_bytes,
            hashes,
        })
    }

    /// The shard's root: BLAKE3 of its bytes.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The shard's length.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// The hash pairs, to store beside the shard.
    pub fn hashes(&self) -> &[u8] {
        &self.hashes
    }
}

/// Reads `size_bytes` of a shard and builds its outboard; its root is BLAKE3 of those bytes.
pub fn encode_outboard(shard: impl Read, size_bytes: u64) -> Result<ShardOutboard, VerifyError> {
    let tree = tree(size_bytes)?;
    let mut hashes = Vec::with_capacity(usize::try_from(tree.outboard_size()).unwrap_or(0));
    let root = outboard_post_order(shard, tree, &mut hashes).map_err(VerifyError::Read)?;
    Ok(ShardOutboard {
        root: Hash(*root.as_bytes()),
        size_bytes,
        hashes,
    })
}

/// The chunk groups `range` touches, refused if empty or past the shard.
fn chunk_groups(range: &Range<u64>, size_bytes: u64) -> Result<ChunkRanges, VerifyError> {
    if range.start >= range.end || range.end > size_bytes {
        return Err(VerifyError::Range {
            start: range.start,
            end: range.end,
            size_bytes,
        });
    }
    let first = range.start.checked_div(CHUNK_BYTES).unwrap_or(0);
    let end = range.end.div_ceil(CHUNK_BYTES);
    let chunks = ChunkRanges::from(ChunkNum(first)..ChunkNum(end));
    Ok(round_up_to_chunks_groups(chunks, block_size()))
}

/// The proof of `range` of a shard: the hashes and whole chunk groups a reader needs to check
/// it against the root, checked here too (a shard that rotted on disk makes no proof).
pub fn prove_range(
    shard: impl ReadAt,
    outboard: &ShardOutboard,
    range: Range<u64>,
) -> Result<Vec<u8>, VerifyError> {
    let groups = chunk_groups(&range, outboard.size_bytes)?;
    let tree = tree(outboard.size_bytes)?;
    let memory = PostOrderMemOutboard {
        root: blake3::Hash::from_bytes(outboard.root.0),
        tree,
        data: outboard.hashes.as_slice(),
    };
    let mut proof = Vec::new();
    encode_ranges_validated(shard, memory, &groups, &mut proof).map_err(VerifyError::Prove)?;
    Ok(proof)
}

/// Reads the proof of `range` of a shard of `size_bytes` with root `root` from `proof`, and
/// hands each verified run of the range's bytes to `on_bytes(offset, bytes)` the moment its
/// chunk group checks out, never a byte before. Returns the bytes handed over (the range's
/// length); refuses a proof that fails, ends early or goes on past its end. On an error, the
/// bytes already handed over were verified: a reader keeps them and asks another storer for
/// the rest.
pub fn verify_range(
    root: Hash,
    size_bytes: u64,
    range: Range<u64>,
    mut proof: impl Read,
    mut on_bytes: impl FnMut(u64, &[u8]),
) -> Result<u64, VerifyError> {
    let groups = chunk_groups(&range, size_bytes)?;
    let tree = tree(size_bytes)?;
    let items =
        DecodeResponseIter::new(blake3::Hash::from_bytes(root.0), tree, &mut proof, &groups);
    let mut handed_bytes: u64 = 0;
    for item in items {
        let BaoContentItem::Leaf(leaf) = item.map_err(VerifyError::Proof)? else {
            continue;
        };
        let leaf_end = leaf.offset.saturating_add(leaf.data.len() as u64);
        let start = range.start.max(leaf.offset);
        let end = range.end.min(leaf_end);
        let from = usize::try_from(start.saturating_sub(leaf.offset)).unwrap_or(usize::MAX);
        let to = usize::try_from(end.saturating_sub(leaf.offset)).unwrap_or(0);
        if let Some(bytes) = leaf.data.get(from..to) {
            on_bytes(start, bytes);
            handed_bytes = handed_bytes.saturating_add(bytes.len() as u64);
        }
    }
    let mut probe = [0u8; 1];
    loop {
        match proof.read(&mut probe) {
            Ok(0) => break,
            Ok(_) => return Err(VerifyError::TrailingBytes),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(VerifyError::Read(e)),
        }
    }
    Ok(handed_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shard(len: usize, seed: u8) -> Vec<u8> {
        let mut bytes = vec![0; len];
        blake3::Hasher::new()
            .update(&[seed])
            .finalize_xof()
            .fill(&mut bytes);
        bytes
    }

    /// A shard, its outboard and a range within it.
    fn shard_and_range() -> impl Strategy<Value = (Vec<u8>, ShardOutboard, Range<u64>)> {
        (1usize..150_000, any::<u8>()).prop_flat_map(|(len, seed)| {
            let data = shard(len, seed);
            let outboard = encode_outboard(data.as_slice(), len as u64).unwrap();
            (0..len as u64).prop_flat_map(move |start| {
                let data = data.clone();
                let outboard = outboard.clone();
                (start + 1..=len as u64)
                    .prop_map(move |end| (data.clone(), outboard.clone(), start..end))
            })
        })
    }

    fn verified(
        root: Hash,
        size: u64,
        range: Range<u64>,
        proof: &[u8],
    ) -> Result<Vec<u8>, VerifyError> {
        let mut out = Vec::new();
        let mut next = range.start;
        verify_range(root, size, range, proof, |offset, bytes| {
            assert_eq!(offset, next, "verified bytes come in order");
            next += bytes.len() as u64;
            out.extend_from_slice(bytes);
        })?;
        Ok(out)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn a_proven_range_verifies_to_exactly_its_bytes((data, outboard, range) in shard_and_range()) {
            prop_assert_eq!(outboard.root(), Hash::digest(&data));
            let proof = prove_range(data.as_slice(), &outboard, range.clone()).unwrap();
            let got = verified(outboard.root(), data.len() as u64, range.clone(), &proof).unwrap();
            prop_assert_eq!(&got[..], &data[range.start as usize..range.end as usize]);
        }

        #[test]
        fn a_flipped_bit_anywhere_in_the_proof_is_refused(
            (data, outboard, range) in shard_and_range(),
            at in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let mut proof = prove_range(data.as_slice(), &outboard, range.clone()).unwrap();
            // The proof is the hashes and the chunk groups' data: every byte of either.
            let at = at.index(proof.len());
            proof[at] ^= 1 << bit;
            let result = verified(outboard.root(), data.len() as u64, range, &proof);
            prop_assert!(matches!(result, Err(VerifyError::Proof(_))), "{:?}", result.map(|b| b.len()));
        }

        #[test]
        fn a_flipped_bit_in_the_shard_makes_no_proof_of_its_group(
            (mut data, outboard, range) in shard_and_range(),
            at in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let at = range.start + at.index((range.end - range.start) as usize) as u64;
            data[at as usize] ^= 1 << bit;
            let result = prove_range(data.as_slice(), &outboard, range);
            prop_assert!(matches!(result, Err(VerifyError::Prove(_))));
        }

        #[test]
        fn a_truncated_or_extended_proof_is_refused((data, outboard, range) in shard_and_range(), cut in 1usize..64) {
            let proof = prove_range(data.as_slice(), &outboard, range.clone()).unwrap();
            let short = &proof[..proof.len().saturating_sub(cut)];
            prop_assert!(verified(outboard.root(), data.len() as u64, range.clone(), short).is_err());
            let mut long = proof.clone();
            long.push(0);
            prop_assert!(matches!(
                verified(outboard.root(), data.len() as u64, range, &long),
                Err(VerifyError::TrailingBytes)
            ));
        }
    }

    #[test]
    fn a_chunk_group_s_proof_is_at_most_its_bound_and_the_bound_is_reached() {
        assert_eq!(CHUNK_GROUP_PROOF_BYTES_MAX, 18 * 64 + 16 * 1024);
        assert_eq!(chunk_group_count(0), 0);
        assert_eq!(chunk_group_count(1), 1);
        assert_eq!(chunk_group_count(16 * 1024 + 1), 2);
        assert_eq!(chunk_group_range(40_000, 2), Some(32_768..40_000));
        assert_eq!(chunk_group_range(40_000, 3), None);
        assert_eq!(chunk_group_range(u64::MAX, u64::MAX), None);
        for size in [
            1u64,
            5_000,
            16_384,
            16_385,
            100_000,
            3 * 16_384,
            17 * 16_384 + 9,
        ] {
            let data = shard(size as usize, 9);
            let outboard = encode_outboard(data.as_slice(), size).unwrap();
            let bound = chunk_group_proof_bytes_max(size);
            let mut longest = 0;
            for index in 0..chunk_group_count(size) {
                let range = chunk_group_range(size, index).unwrap();
                let proof = prove_range(data.as_slice(), &outboard, range.clone()).unwrap();
                assert!(proof.len() as u64 <= bound, "size {size} group {index}");
                longest = longest.max(proof.len() as u64);
                assert_eq!(
                    verified(outboard.root(), size, range.clone(), &proof).unwrap(),
                    &data[range.start as usize..range.end as usize]
                );
            }
            assert_eq!(longest, bound, "size {size}: the bound is reached");
        }
    }

    #[test]
    fn a_proof_is_refused_against_another_root() {
        let data = shard(100_000, 1);
        let outboard = encode_outboard(data.as_slice(), 100_000).unwrap();
        let proof = prove_range(data.as_slice(), &outboard, 40_000..50_000).unwrap();
        assert!(verified(Hash::digest(b"other"), 100_000, 40_000..50_000, &proof).is_err());
    }

    #[test]
    fn a_proof_of_one_range_is_refused_for_another() {
        let data = shard(100_000, 2);
        let outboard = encode_outboard(data.as_slice(), 100_000).unwrap();
        let proof = prove_range(data.as_slice(), &outboard, 0..10_000).unwrap();
        assert!(verified(outboard.root(), 100_000, 60_000..70_000, &proof).is_err());
    }

    #[test]
    fn the_outboard_is_small_and_its_length_checked() {
        let data = shard(1_000_000, 3);
        let outboard = encode_outboard(data.as_slice(), 1_000_000).unwrap();
        // 62 groups of 16 KiB, 61 hash pairs of 64 bytes.
        assert_eq!(outboard.hashes().len(), 61 * 64);
        let back =
            ShardOutboard::from_parts(outboard.root(), 1_000_000, outboard.hashes().to_vec());
        assert_eq!(back.unwrap(), outboard);
        assert!(matches!(
            ShardOutboard::from_parts(outboard.root(), 1_000_000, vec![0; 64]),
            Err(VerifyError::OutboardSize { .. })
        ));
    }

    #[test]
    fn a_shard_larger_than_any_blob_is_refused_before_its_tree() {
        let too_large = BLOB_SIZE_BYTES_MAX + 1;
        assert!(matches!(
            verify_range(Hash::ZERO, u64::MAX, 0..10, &[][..], |_, _| {}),
            Err(VerifyError::ShardTooLarge { .. })
        ));
        assert!(matches!(
            ShardOutboard::from_parts(Hash::ZERO, too_large, Vec::new()),
            Err(VerifyError::ShardTooLarge { .. })
        ));
        assert!(matches!(
            encode_outboard(&[][..], too_large),
            Err(VerifyError::ShardTooLarge { .. })
        ));
    }

    #[test]
    fn an_empty_or_outside_range_is_refused() {
        let data = shard(5_000, 4);
        let outboard = encode_outboard(data.as_slice(), 5_000).unwrap();
        for range in [10..10, 4_000..5_001, 6_000..7_000] {
            assert!(matches!(
                prove_range(data.as_slice(), &outboard, range),
                Err(VerifyError::Range { .. })
            ));
        }
    }
}
