//! The genesis state and header of every chain: computable by anyone from the network's
//! parameters alone (DESIGN §2: every chain exists implicitly), which is what lets a light
//! client check a header chain without trusting a node. `crate::chain` wraps the header in a
//! block.

use bitverse_primitives::{AccountId, ChainId, Hash, codec};

use crate::block::header::{BlockHeader, MergedWork};
use crate::error::ChainError;
use crate::headers;
use crate::params::ChainParams;
use crate::state::{StateUpdate, StateView, apply_to_chain_error, compute_state_update};
use crate::store::{KvStore, MemoryStore};

/// The genesis header of any chain of the blocktree, derived from the chain's id and the
/// network's root genesis.
pub(crate) fn genesis_header_of(
    params: &ChainParams,
    chain: ChainId,
) -> Result<BlockHeader, ChainError> {
    let store = MemoryStore::default();
    let (header, _) = genesis_state(&store, params, chain)?;
    Ok(header)
}

/// The genesis header of `chain` and the state update that writes its genesis state into
/// `store`.
pub(crate) fn genesis_state(
    store: &dyn KvStore,
    params: &ChainParams,
    chain: ChainId,
) -> Result<(BlockHeader, StateUpdate), ChainError> {
    let depth = headers::depth_params(params, chain)?;
    let mut view = StateView::new(store, None);
    let (parent, relay_parent) = if chain.is_root() {
        for (account, amount) in &params.genesis_allocations {
            view.credit_now(account, *amount)
                .map_err(apply_to_chain_error)?;
        }
        let parent = Hash::tagged("bitverse genesis v1", &[&codec::encode(params)]);
        (parent, Hash::ZERO)
    } else {
        // A data chain starts empty; its genesis names the root's as its relay parent.
        let root_genesis = genesis_state(&MemoryStore::default(), params, ChainId::ROOT)?
            .0
            .hash();
        let parent = Hash::tagged(
            "bitverse chain genesis v1",
            &[&root_genesis.0, &chain.to_bytes()],
        );
        (parent, root_genesis)
    };
    let update = compute_state_update(store, view.into_changes(), 0)?;
    let header = BlockHeader {
        chain,
        parent,
        height: 0,
        time_ms: params.genesis_time_ms,
        difficulty: depth.difficulty_initial,
        nonce: 0,
        merged: MergedWork::default(),
        miner: AccountId::default(),
        tx_root: Hash::ZERO,
        state_root: update.root,
        relay_parent,
        anchors: Vec::new(),
        anchor_headers_hash: Hash::ZERO,
    };
    Ok((header, update))
}
