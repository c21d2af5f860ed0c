//! Headers as headers-first sync and light clients receive them (`BlockHeader::from_bytes`,
//! limit `HEADER_SIZE_BYTES_MAX`): no input panics; what decodes is canonical and round-trips;
//! the tree-field checks, seal hash and merged work never panic; and a header whose tree
//! fields and merged path are valid fits the header limit, so no valid header is ever refused
//! by the decoder another node applies.
#![no_main]

use bitverse_blocktree::BlockHeader;
use bitverse_blocktree::block::HEADER_SIZE_BYTES_MAX;
use bitverse_fuzz::assert_canonical;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(header) = BlockHeader::from_bytes(data) else {
        return;
    };
    assert_canonical("header", data, &header, HEADER_SIZE_BYTES_MAX);
    let _ = header.seal_hash();
    let valid_tree = header.check_tree_fields().is_ok();
    let work = header.work_hash();
    let _ = header.meets_difficulty();
    if valid_tree && work.is_some() {
        // The worst case is what the limit is for: two anchors and the longest path.
        let mut widest = header.clone();
        widest.merged.path.resize(
            bitverse_blocktree::block::MERGED_PATH_LEN_MAX,
            bitverse_primitives::Hash::ZERO,
        );
        widest.anchors.resize(
            bitverse_blocktree::block::ANCHORS_PER_BLOCK_MAX,
            bitverse_blocktree::Anchor {
                chain: header.chain,
                height: u64::MAX,
                hash: bitverse_primitives::Hash::ZERO,
            },
        );
        assert!(
            widest.to_bytes().len() <= HEADER_SIZE_BYTES_MAX,
            "a header with the longest path and the most anchors is {} bytes",
            widest.to_bytes().len()
        );
    }
});
