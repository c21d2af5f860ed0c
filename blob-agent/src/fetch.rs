//! Reading a blob back from its storers: stripe by stripe from k shards, each shard's pieces
//! fetched a few ahead by its own thread as verified ranges (a chunk group that does not check
//! against the shard root is never handed on), and the blob rebuilt from whichever k pieces a
//! stripe has. A storer that fails, is slow or sends a bad chunk is dropped at that stripe and
//! another shard's storer takes over from there; the blob fails only when fewer than k
//! shards remain. Memory: the decoder's stripe plus [`PIECES_AHEAD`] pieces a shard.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread;

use bitverse_p2p::{PeerRef, SHARD_RANGE_BYTES_MAX, ShardRef, ShardRequest, ShardResponse};
use bitverse_primitives::Hash;
use bitverse_storage::{BlobDecoder, DecodeError, Manifest, Stripe, verify_range};

use crate::{ShardTransport, request_with_retries, unexpected};

/// Pieces a shard's fetcher holds ready ahead of the decoder.
pub const PIECES_AHEAD: usize = 2;
/// How long one range may take before its storer is dropped as slow.
pub const RANGE_TIMEOUT_MS: u64 = 10_000;
/// How often progress is reported, in bytes of the blob written.
const PROGRESS_EVERY_BYTES: u64 = 1024 * 1024;

/// Where one shard can be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSource {
    /// The shard's index.
    pub index: u8,
    /// The storer holding it.
    pub storer: PeerRef,
}

/// How far a read is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchProgress {
    /// Bytes of the blob written.
    pub written_bytes: u64,
    /// The bytes to write: the blob's size, or the range's.
    pub size_bytes: u64,
    /// Storers dropped so far.
    pub dropped: usize,
}

/// What a read did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchReport {
    /// Bytes written: the blob's size.
    pub size_bytes: u64,
    /// The storers dropped, with why, in the order they were.
    pub dropped: Vec<(u8, String)>,
}

/// A read that did not give the blob.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Fewer than k shards could be read.
    #[error(
        "only {available} of the {data_shards} shards needed could be read; {}",
        describe(dropped)
    )]
    TooFewShards {
        /// Shards still readable when it gave up.
        available: usize,
        /// k.
        data_shards: u8,
        /// The storers dropped and why.
        dropped: Vec<(u8, String)>,
    },
    /// A range that is empty or reaches past the blob.
    #[error("bytes {start}..{end} are not within the blob's {size_bytes}")]
    Range {
        /// Its start.
        start: u64,
        /// Its end.
        end: u64,
        /// The blob's size.
        size_bytes: u64,
    },
    /// The manifest makes no decoder.
    #[error("cannot decode the blob: {0}")]
    Decode(#[source] DecodeError),
    /// Writing the blob failed.
    #[error("cannot write the blob: {0}")]
    Write(#[source] io::Error),
    /// The rebuilt bytes do not hash to the content hash (verified pieces make this a bug).
    #[error("the rebuilt blob does not match its content hash")]
    ContentMismatch,
}

fn describe(dropped: &[(u8, String)]) -> String {
    if dropped.is_empty() {
        return "no storer was dropped".to_owned();
    }
    let each: Vec<String> = dropped
        .iter()
        .map(|(index, why)| format!("shard {index}: {why}"))
        .collect();
    each.join("; ")
}

/// One shard being read: its index and the pieces its fetcher hands over, in stripe order.
struct Reading {
    index: u8,
    pieces: Receiver<Result<Vec<u8>, String>>,
}

/// Reads `manifest`'s blob from `sources` and writes it to `out`, which gets exactly the
/// blob's bytes in order (write to a temporary file and keep it only on `Ok`). Data shards are
/// read first: when all k answer, nothing is decoded, only copied.
pub fn fetch_blob(
    transport: &dyn ShardTransport,
    blob: Hash,
    manifest: &Manifest,
    sources: &[ShardSource],
    out: impl Write,
    progress: impl FnMut(FetchProgress),
) -> Result<FetchReport, FetchError> {
    fetch_range(
        transport,
        blob,
        manifest,
        sources,
        0..manifest.size_bytes,
        out,
        progress,
    )
}

/// Reads bytes `range` of `manifest`'s blob (as an HTTP `Range` asks), fetching only the
/// stripes it touches. The content hash is checked only when the range is the whole blob:
/// a part is as good as its pieces, each verified against its shard root.
pub fn fetch_range(
    transport: &dyn ShardTransport,
    blob: Hash,
    manifest: &Manifest,
    sources: &[ShardSource],
    range: std::ops::Range<u64>,
    mut out: impl Write,
    mut progress: impl FnMut(FetchProgress),
) -> Result<FetchReport, FetchError> {
    let mut decoder = BlobDecoder::new(manifest).map_err(FetchError::Decode)?;
    let layout = manifest
        .layout()
        .map_err(|e| FetchError::Decode(e.into()))?;
    if range.start >= range.end || range.end > manifest.size_bytes {
        return Err(FetchError::Range {
            start: range.start,
            end: range.end,
            size_bytes: manifest.size_bytes,
        });
    }
    let whole = range.start == 0 && range.end == manifest.size_bytes;
    let range_bytes = range.end - range.start;
    let stripe_data_bytes = layout.stripe_data_bytes().max(1);
    let first_stripe = range.start / stripe_data_bytes;
    let last_stripe = (range.end - 1) / stripe_data_bytes;
    let k = usize::from(manifest.shares.data_shards);
    let mut waiting: Vec<ShardSource> = sources
        .iter()
        .filter(|s| s.index < manifest.shares.total_shards)
        .copied()
        .collect();
    waiting.sort_by_key(|s| s.index);
    waiting.dedup_by_key(|s| s.index);
    // Taken from the back: put the data shards there, lowest index last.
    waiting.reverse();
    let mut dropped: Vec<(u8, String)> = Vec::new();
    let mut content = blake3::Hasher::new();
    let mut written_bytes: u64 = 0;
    let mut reported_at: u64 = 0;
    thread::scope(|scope| {
        let start = |source: ShardSource, first_stripe: u64| {
            let (ready, pieces) = sync_channel(PIECES_AHEAD);
            let root = manifest
                .shard_roots
                .get(usize::from(source.index))
                .copied()
                .unwrap_or_default();
            let shard = ShardRef {
                blob,
                index: source.index,
            };
            let size_bytes = manifest.shard_size_bytes;
            scope.spawn(move || {
                let stripes = first_stripe..=last_stripe;
                for stripe in stripes.filter_map(|s| layout.stripe(s)) {
                    let piece =
                        fetch_piece(transport, source.storer, shard, root, size_bytes, &stripe);
                    let failed = piece.is_err();
                    if ready.send(piece).is_err() || failed {
                        return;
                    }
                }
            });
            Reading {
                index: source.index,
                pieces,
            }
        };
        let mut reading: Vec<Reading> = Vec::with_capacity(k);
        for number in first_stripe..=last_stripe {
            let Some(stripe) = layout.stripe(number) else {
                break;
            };
            let mut pieces: Vec<(usize, Vec<u8>)> = Vec::with_capacity(k);
            let mut slot = 0;
            while pieces.len() < k {
                if slot >= reading.len() {
                    let Some(source) = waiting.pop() else {
                        return Err(FetchError::TooFewShards {
                            available: pieces.len(),
                            data_shards: manifest.shares.data_shards,
                            dropped: std::mem::take(&mut dropped),
                        });
                    };
                    reading.push(start(source, number));
                }
                let Some(shard) = reading.get(slot) else {
                    continue;
                };
                let result = shard
                    .pieces
                    .recv()
                    .unwrap_or_else(|_| Err("its fetcher stopped unexpectedly".to_owned()));
                match result {
                    Ok(piece) => {
                        pieces.push((usize::from(shard.index), piece));
                        slot += 1;
                    }
                    Err(why) => {
                        tracing::info!(shard = shard.index, %why, "storer dropped; reading another shard");
                        dropped.push((shard.index, why));
                        // Its fetcher ends when its queue is dropped.
                        reading.remove(slot);
                        progress(FetchProgress {
                            written_bytes,
                            size_bytes: range_bytes,
                            dropped: dropped.len(),
                        });
                    }
                }
            }
            let borrowed: Vec<(usize, &[u8])> =
                pieces.iter().map(|(i, p)| (*i, p.as_slice())).collect();
            // Where this stripe's data sits in the blob, to cut it to the range.
            let mut at = stripe.data_offset_bytes;
            decoder
                .decode_stripe(&stripe, &borrowed, |data| {
                    let data_end = at.saturating_add(data.len() as u64);
                    let from = range.start.max(at).min(data_end);
                    let to = range.end.min(data_end).max(from);
                    let cut = usize::try_from(from - at).unwrap_or(0)
                        ..usize::try_from(to - at).unwrap_or(0);
                    at = data_end;
                    let Some(data) = data.get(cut) else {
                        return Ok(());
                    };
                    out.write_all(data).map_err(DecodeError::Write)?;
                    if whole {
                        content.update(data);
                    }
                    written_bytes = written_bytes.saturating_add(data.len() as u64);
                    Ok(())
                })
                .map_err(|e| match e {
                    DecodeError::Write(e) => FetchError::Write(e),
                    e => FetchError::Decode(e),
                })?;
            if written_bytes.saturating_sub(reported_at) >= PROGRESS_EVERY_BYTES
                || number == last_stripe
            {
                reported_at = written_bytes;
                progress(FetchProgress {
                    written_bytes,
                    size_bytes: range_bytes,
                    dropped: dropped.len(),
                });
            }
        }
        // The fetchers end as their queues go.
        drop(reading);
        Ok(())
    })?;
    if whole && Hash(*content.finalize().as_bytes()) != manifest.content_hash {
        return Err(FetchError::ContentMismatch);
    }
    out.flush().map_err(FetchError::Write)?;
    Ok(FetchReport {
        size_bytes: written_bytes,
        dropped,
    })
}

/// Fetches stripe `stripe`'s piece of `shard` from `storer` as verified ranges.
fn fetch_piece(
    transport: &dyn ShardTransport,
    storer: PeerRef,
    shard: ShardRef,
    root: Hash,
    shard_size_bytes: u64,
    stripe: &Stripe,
) -> Result<Vec<u8>, String> {
    let start = stripe.shard_offset_bytes;
    let end = start.saturating_add(u64::from(stripe.piece_bytes));
    let mut piece = Vec::with_capacity(usize::try_from(stripe.piece_bytes).unwrap_or(0));
    let mut at = start;
    while at < end {
        let range_end = end.min(at.saturating_add(SHARD_RANGE_BYTES_MAX));
        let request = ShardRequest::Range {
            shard,
            start: at,
            end: range_end,
        };
        let proof = match request_with_retries(transport, storer, &request, RANGE_TIMEOUT_MS)? {
            ShardResponse::Proof { bytes } => bytes,
            other => return Err(unexpected(&other)),
        };
        verify_range(
            root,
            shard_size_bytes,
            at..range_end,
            proof.as_slice(),
            |_, bytes| piece.extend_from_slice(bytes),
        )
        .map_err(|e| format!("storer {storer} sent a bad range at byte {at}: {e}"))?;
        at = range_end;
    }
    Ok(piece)
}
