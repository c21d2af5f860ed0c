//! Rebuilding a shard the chain re-placed on this storer for repair (its last storer failed an
//! audit): the blob is read from any k other shards' storers, every chunk verified as it
//! arrives ([`crate::fetch`]), and streamed through the erasure coder, which computes every
//! shard; only this storer's shard is written, piece by piece, into the shard store, which
//! commits it only if it hashes to the root the manifest names. Nothing is trusted: the
//! pieces read are verified against their roots, the blob against its content hash, and the
//! rebuilt shard against its own root.
//!
//! The cost is Reed-Solomon's: a blob's worth of reading (k pieces a stripe) for one shard.
//! Memory: the fetcher's and the encoder's stripes plus [`PIPE_CHUNKS_MAX`] chunks between
//! them, whatever the blob's size.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use bitverse_primitives::Hash;
use bitverse_shard_store::{ShardId, ShardMeta, ShardStore, StoreError};
use bitverse_storage::{BlobEncoder, Manifest};

use crate::ShardTransport;
use crate::fetch::{FetchError, ShardSource, fetch_blob};

/// Chunks of the blob in flight between the fetcher and the encoder.
const PIPE_CHUNKS_MAX: usize = 8;

/// A repair that did not give the shard.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// The shard is not one of the blob's.
    #[error("shard {index} is not one of the blob's {total_shards} shards")]
    NoSuchShard {
        /// The shard asked for.
        index: u8,
        /// n.
        total_shards: u8,
    },
    /// The other shards could not be read.
    #[error("cannot read the blob from the other shards: {0}")]
    Fetch(#[source] FetchError),
    /// The erasure coder failed, or the blob read is not the manifest's.
    #[error("cannot re-encode the blob: {0}")]
    Encode(String),
    /// The shard store refused the shard (full, or its bytes do not hash to the root).
    #[error("the shard store refused the rebuilt shard: {0}")]
    Store(#[source] StoreError),
}

/// The blob's bytes from the fetcher's thread to the encoder's, in bounded chunks.
struct PipeWriter(SyncSender<Vec<u8>>);

impl Write for PipeWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .send(bytes.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the encoder stopped"))?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct PipeReader {
    chunks: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.chunk.len() {
            match self.chunks.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                // The fetcher is done (or failed: its error is reported, not this end).
                Err(_) => return Ok(0),
            }
        }
        let left = self.chunk.get(self.at..).unwrap_or_default();
        let take = left.len().min(buf.len());
        let (into, _) = buf.split_at_mut(take);
        into.copy_from_slice(left.get(..take).unwrap_or_default());
        self.at = self.at.saturating_add(take);
        Ok(take)
    }
}

/// Where each of the n shards the encoder computes goes: the one rebuilt into the store, the
/// others nowhere.
enum ShardSink<'a> {
    Store {
        store: &'a ShardStore,
        id: ShardId,
        written_bytes: u64,
    },
    Nowhere,
}

impl Write for ShardSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if let ShardSink::Store {
            store,
            id,
            written_bytes,
        } = self
        {
            for piece in bytes.chunks(bitverse_shard_store::PIECE_BYTES_MAX) {
                *written_bytes = store
                    .write_piece(*id, *written_bytes, piece)
                    .map_err(io::Error::other)?;
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Rebuilds shard `index` of `blob` into `store` from `sources` (the other shards' storers),
/// and commits it. Returns `Ok(false)` without reading anything if the store holds it already.
pub fn rebuild_shard(
    transport: &dyn ShardTransport,
    store: &ShardStore,
    blob: Hash,
    manifest: &Manifest,
    index: u8,
    sources: &[ShardSource],
) -> Result<bool, RepairError> {
    let total_shards = manifest.shares.total_shards;
    let root = *manifest
        .shard_roots
        .get(usize::from(index))
        .ok_or(RepairError::NoSuchShard {
            index,
            total_shards,
        })?;
    let id = ShardId { blob, index };
    let meta = ShardMeta {
        root,
        size_bytes: manifest.shard_size_bytes,
    };
    if !store.begin_upload(id, meta).map_err(RepairError::Store)? {
        return Ok(false);
    }
    let others: Vec<ShardSource> = sources
        .iter()
        .filter(|s| s.index != index)
        .copied()
        .collect();
    let (chunks_tx, chunks) = sync_channel(PIPE_CHUNKS_MAX);
    let (fetched, encoded) = thread::scope(|scope| {
        let fetcher = scope.spawn(move || {
            fetch_blob(
                transport,
                blob,
                manifest,
                &others,
                PipeWriter(chunks_tx),
                |_| {},
            )
        });
        let mut sinks: Vec<ShardSink<'_>> = (0..total_shards)
            .map(|i| {
                if i == index {
                    ShardSink::Store {
                        store,
                        id,
                        written_bytes: 0,
                    }
                } else {
                    ShardSink::Nowhere
                }
            })
            .collect();
        let reader = PipeReader {
            chunks,
            chunk: Vec::new(),
            at: 0,
        };
        let encoded = BlobEncoder::new(manifest.shares, manifest.piece_bytes)
            .map_err(|e| e.to_string())
            .and_then(|mut encoder| {
                encoder
                    .encode(reader, &mut sinks)
                    .map_err(|e| e.to_string())
            });
        (fetcher.join(), encoded)
    });
    fetched
        .map_err(|_| RepairError::Encode("the reading thread stopped unexpectedly".to_owned()))?
        .map_err(RepairError::Fetch)?;
    match encoded {
        Ok(rebuilt) if rebuilt == *manifest => {}
        Ok(_) => {
            return Err(RepairError::Encode(
                "the blob read does not give the manifest's shards".to_owned(),
            ));
        }
        Err(e) => return Err(RepairError::Encode(e)),
    }
    store.finish_upload(id).map_err(RepairError::Store)?;
    Ok(true)
}
