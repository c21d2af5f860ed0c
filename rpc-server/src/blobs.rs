//! The storage RPC methods: `bv_getBlob` and `bv_getStorers`, each a read of the root's state
//! at one height (the tip unless named), so any two nodes answer alike for the same height.
//! The rules are `blocktree`'s (`blob`); this only reads and shapes them.

use bitverse_blocktree::{Blob, BlobFailure, BlobStatus, Challenge};
use bitverse_keyspace::check_key;
use bitverse_rpc_api::{BlobResult, ChallengeEnd, ChallengeShown, ShardResult, StorerResult};

use crate::context::{RpcContext, RpcResult, chain_error, invalid_params};

/// `bv_getBlob(key[, height])`.
pub(crate) fn get_blob(
    ctx: &RpcContext,
    key: &str,
    height: Option<u64>,
) -> RpcResult<Option<BlobResult>> {
    check_key(key).map_err(|e| invalid_params(format!("key {key:?}: {e}")))?;
    let chain = ctx.chain.lock();
    let height = height.unwrap_or_else(|| chain.tip().height);
    let Some(blob) = chain.blob_of_key_at(key, height).map_err(chain_error)? else {
        return Ok(None);
    };
    // One leaf a shard, at most 64.
    let mut challenges = Vec::with_capacity(blob.shards.len());
    for index in (0u8..).take(blob.shards.len()) {
        challenges.push(
            chain
                .challenge_at(&blob.id, index, height)
                .map_err(chain_error)?,
        );
    }
    Ok(Some(blob_result(&blob, height, &challenges)))
}

/// `bv_getStorers([height])`.
pub(crate) fn get_storers(ctx: &RpcContext, height: Option<u64>) -> RpcResult<Vec<StorerResult>> {
    let chain = ctx.chain.lock();
    let height = height.unwrap_or_else(|| chain.tip().height);
    let mut storers = Vec::new();
    for candidate in chain.storers_at(height).map_err(chain_error)? {
        let record = chain
            .storer_at(&candidate.account, height)
            .map_err(chain_error)?;
        let peer = chain
            .storer_peer_at(&candidate.account, height)
            .map_err(chain_error)?;
        storers.push(StorerResult {
            address: candidate.account,
            stake: candidate.stake,
            reputation_ppm: candidate.reputation_ppm,
            capacity_bytes: record.capacity_bytes,
            assigned_bytes: record.assigned_bytes,
            shards: record.shards,
            peer,
            leaving: record.leaving,
        });
    }
    Ok(storers)
}

/// A blob as `bv_getBlob` shows it: the manifest and status spread over flat fields, with
/// each shard's open challenge (`challenges`, in shard order).
pub(crate) fn blob_result(
    blob: &Blob,
    height: u64,
    challenges: &[Option<Challenge>],
) -> BlobResult {
    let (status, ended_height, failure) = match blob.status {
        BlobStatus::Placing => ("placing", None, None),
        BlobStatus::Stored => ("stored", None, None),
        BlobStatus::Failed { height, failure } => {
            let why = match failure {
                BlobFailure::NotEnoughStorers { .. } => "not_enough_storers",
                BlobFailure::RedrawsExhausted { .. } => "redraws_exhausted",
                BlobFailure::PlacementQueueFull => "placement_queue_full",
            };
            ("failed", Some(height), Some(why.to_owned()))
        }
        BlobStatus::Expired { height } => ("expired", Some(height), None),
    };
    let manifest = &blob.manifest;
    BlobResult {
        id: blob.id,
        height,
        key: blob.key.clone(),
        publisher: blob.publisher,
        size_bytes: manifest.size_bytes,
        content_hash: manifest.content_hash,
        data_shards: manifest.shares.data_shards,
        total_shards: manifest.shares.total_shards,
        piece_bytes: manifest.piece_bytes,
        shard_size_bytes: manifest.shard_size_bytes,
        manifest_hex: hex::encode(manifest.encode()),
        content_type: blob.content_type.clone(),
        registered_height: blob.registered_height,
        status: status.into(),
        ended_height,
        failure,
        endowment_remaining: blob.endowment,
        paid: blob.paid,
        periods_elapsed: blob.periods_elapsed,
        shards: blob
            .shards
            .iter()
            .zip(&manifest.shard_roots)
            .zip(0u8..)
            .map(|((shard, root), index)| ShardResult {
                index,
                root: *root,
                storer: shard.storer,
                confirmed: shard.confirmed_height.is_some(),
                confirmed_height: shard.confirmed_height,
                placed_height: shard.placed_height,
                deadline_height: shard.deadline_height,
                redraws: shard.redraws,
                last_audit_height: shard.last_audit_height,
                repair: shard.repair,
                challenge: challenges
                    .get(usize::from(index))
                    .copied()
                    .flatten()
                    .map(|c| ChallengeShown {
                        storer: c.storer,
                        nonce: c.nonce,
                        key: c.key,
                        amount: c.amount,
                        posted_height: c.posted_height,
                        deadline_height: c.deadline_height,
                    }),
                last_challenge: shard.last_challenge.map(|c| ChallengeEnd {
                    nonce: c.nonce,
                    height: c.height,
                    claimed: c.claimed,
                }),
            })
            .collect(),
    }
}
