//! Deep values as a `PostBounty` carries them (`DeepValue`, decoded inside a transaction, so
//! under `TX_SIZE_BYTES_MAX`): no input panics; what decodes is canonical and round-trips. The
//! root's check of a deep value is private to `blocktree`; the same walk (anchor links, then a
//! sparse Merkle leaf under the last state root) is run here through `EarningsProof::verify`
//! on the deep value's own header, links and proof bytes, and the real check runs in the
//! `state_transition` target, which posts bounties with deep values.
#![no_main]

use bitverse_blocktree::{DeepValue, EarningsProof, TX_SIZE_BYTES_MAX};
use bitverse_fuzz::assert_canonical;
use bitverse_primitives::{AccountId, Amount, ChainId, codec};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(deep) = codec::decode_with_limit::<DeepValue, TX_SIZE_BYTES_MAX>(data) else {
        return;
    };
    assert_canonical("deep value", data, &deep, TX_SIZE_BYTES_MAX);
    // The chain the links lead to: the last link's, else the top header's.
    let chain = deep
        .links
        .last()
        .map_or(deep.top.chain, |link| link.header.chain);
    let walk = EarningsProof {
        chain: if chain.is_root() {
            ChainId::ROOT
        } else {
            chain
        },
        miner: AccountId([0; 32]),
        earned: Amount::ZERO,
        top: deep.top.clone(),
        links: deep.links.clone(),
        earned_proof: deep.value_proof.clone(),
    };
    let _ = walk.verify();
});
