//! Anchors as claims checked by their work (DESIGN §2, "An anchor is a claim, valid only with
//! its work"): a block that anchors a child's header carries the child's headers since the
//! previous anchor, and its chain's validators check them by the child's own rules — linkage,
//! height, the child's retarget rule, proof of work, median time past — before the anchor is
//! recorded. So a made-up child header costs as much work as mining that child, and every
//! anchor of a child on one branch of its parent extends the one before: the anchored branch
//! of a child never changes within a branch of its parent, and everything paid or proven
//! through an anchor (miners' claims, deep values, light-client proofs) is on it.
//!
//! Most of a parent's validators do not track the child, so they cannot read the child's
//! ancestors: the parent's state keeps, per child, what the retarget and median-time rules
//! read of the anchored header and its ancestors (an [`AnchorTrail`]), the way a light client
//! keeps a header chain. The headers travel in the block body, committed by the header's
//! `anchor_headers_hash`, so that a peer cannot strip or change them and have an honest block
//! judged invalid.

use bincode::{Decode, Encode};
use bitverse_primitives::{ChainId, Hash, codec};
use jmt::KeyHash;

pub use crate::block::{ANCHOR_HEADERS_MAX, anchor_headers_hash, check_carried};
use crate::block::{Anchor, BlockHeader};
use crate::endowment::anchored_key;
use crate::error::{BlockError, ChainError, StoreError};
use crate::headers::{
    HeaderLink, ancestors_needed, check_header_after, depth_params, rules_after_past,
};
use crate::params::ChainParams;
use crate::pow::PastBlock;
use crate::state::{StateView, anchor_key};

/// What a parent chain's state keeps of a child's anchored branch, under
/// [`anchor_trail_key`]: the anchored header and its ancestors as the child's header rules
/// read them, newest first, at most [`ancestors_needed`] of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct AnchorTrail {
    /// Newest (the anchored header) first.
    pub recent: Vec<PastBlock>,
}

/// Where a chain keeps the [`AnchorTrail`] of its child `child`.
pub fn anchor_trail_key(child: &ChainId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state anchor trail v1", &[&child.to_bytes()]).0)
}

impl StateView<'_> {
    /// Records `anchor` as its child's latest, with the trail its headers leave
    /// ([`AnchorTrail`]), outside any transaction (a block's anchors, taken
    /// in the block at `height`). On the root, also adds it to the set of every anchor taken
    /// ([`anchored_key`], holding `height`), which miners' claims and deep values are checked
    /// against: since each anchor extends the one before, the set is one branch of the child.
    pub(crate) fn set_anchor_now(&mut self, anchor: &Anchor, trail: &AnchorTrail, height: u64) {
        self.set_now(anchor_key(&anchor.chain), Some(codec::encode(anchor)));
        self.set_now(anchor_trail_key(&anchor.chain), Some(codec::encode(trail)));
        if self.chain().is_root() {
            self.set_now(anchored_key(anchor), Some(codec::encode(&height)));
        }
    }
}

/// An anchor of a child chain with the child's headers that justify it: those after the
/// header the parent anchored last (the child's genesis if none), oldest first, the last
/// being the anchored one. What a miner puts in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildAnchor {
    /// The anchor the header carries.
    pub anchor: Anchor,
    /// The child's headers since the previous anchor, oldest first, ending at the anchored.
    pub headers: Vec<BlockHeader>,
}

/// Checks each anchor's headers against what `view` (the parent chain's state before the
/// block) holds of the child's anchored branch, and records the anchors and the trails they
/// leave. The first header must follow the header anchored last (or the child's genesis);
/// every header must meet the child's own rules, with the block's time (`time_ms`) standing in
/// for a clock in the future-time rule. `height` is the block's: the root records at which
/// height it took each anchor ([`crate::endowment::anchored_key`]).
pub(crate) fn apply_anchors(
    view: &mut StateView<'_>,
    params: &ChainParams,
    height: u64,
    time_ms: u64,
    anchors: &[Anchor],
    carried: &[Vec<BlockHeader>],
) -> Result<(), ChainError> {
    if anchors.len() != carried.len() {
        return Err(BlockError::BadAnchor(format!(
            "{} lists of anchor headers for {} anchors",
            carried.len(),
            anchors.len()
        ))
        .into());
    }
    for (anchor, headers) in anchors.iter().zip(carried) {
        let child = anchor.chain;
        let depth = depth_params(params, child)?;
        let needed = ancestors_needed(params, depth);
        let (mut link, mut recent) = match view.anchor(&child)? {
            Some(previous) => {
                let trail: AnchorTrail =
                    view.get_decoded(&anchor_trail_key(&child))?
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "chain {child} is anchored without a trail"
                            ))
                        })?;
                let link = HeaderLink {
                    chain: child,
                    hash: previous.hash,
                    height: previous.height,
                };
                (link, trail.recent)
            }
            None => {
                let genesis = crate::genesis::genesis_header_of(params, child)?;
                (HeaderLink::of(&genesis), vec![PastBlock::of(&genesis)])
            }
        };
        for header in headers {
            let rules = rules_after_past(params, depth, &recent);
            check_header_after(params, &rules, &link, header, time_ms).map_err(|e| {
                BlockError::BadAnchor(format!(
                    "chain {child}'s header at height {} does not follow its anchored branch: {e}",
                    header.height
                ))
            })?;
            link = HeaderLink::of(header);
            recent.insert(0, PastBlock::of(header));
            recent.truncate(needed);
        }
        if link.hash != anchor.hash || link.height != anchor.height {
            return Err(BlockError::BadAnchor(format!(
                "chain {child}'s anchor headers do not end at the anchored block {}",
                anchor.hash
            ))
            .into());
        }
        view.set_anchor_now(anchor, &AnchorTrail { recent }, height);
    }
    Ok(())
}
