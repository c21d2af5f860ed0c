//! Pushing a blob's shards to their storers as the file streams through the erasure coder:
//! one sender thread a storer, fed pieces through a queue of [`PIECES_QUEUED_PER_SHARD`], so
//! that every storer receives at once and memory stays at the encoder's stripe plus a few
//! pieces a shard, whatever the file's size. A storer that fails is reported, not fatal: the
//! others go on, and the chain replaces the one that failed.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use bitverse_p2p::{PeerRef, SHARD_PIECE_BYTES_MAX, ShardRef, ShardRequest, ShardResponse};
use bitverse_primitives::Hash;
use bitverse_storage::{BlobEncoder, EncodeError, Manifest};

use crate::{SHARD_REQUEST_TIMEOUT_MS, ShardTransport, request_with_retries, unexpected};

/// Pieces waiting for one storer's sender: the encoder runs this far ahead of the slowest.
pub const PIECES_QUEUED_PER_SHARD: usize = 2;
/// How often progress is reported, in bytes of the file read.
const PROGRESS_EVERY_BYTES: u64 = 1024 * 1024;

/// Where one shard goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardTarget {
    /// The shard's index.
    pub index: u8,
    /// The storer the chain placed it on.
    pub storer: PeerRef,
}

/// What became of one shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardOutcome {
    /// The storer checked it against its root and keeps it.
    Stored,
    /// The storer held it already.
    AlreadyHeld,
    /// It did not get there, and why.
    Failed(String),
}

/// How far an upload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadProgress {
    /// Bytes of the file read and encoded.
    pub read_bytes: u64,
    /// The file's size.
    pub size_bytes: u64,
}

/// An upload that could not run; a storer's failure is a [`ShardOutcome`], not this.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Reading the file failed.
    #[error("cannot read the file: {0}")]
    Read(#[source] io::Error),
    /// The file is not the one the manifest was made from (it changed since).
    #[error("the file changed since its manifest was made (its hash or size differs)")]
    FileChanged,
    /// The manifest's parameters make no encoder.
    #[error("cannot encode the blob: {0}")]
    Encode(#[source] EncodeError),
    /// A target names a shard the blob does not have, or names one twice.
    #[error("shard {index} is not one of the blob's {total_shards} shards, or is named twice")]
    BadTarget {
        /// The shard named.
        index: u8,
        /// n.
        total_shards: u8,
    },
}

/// What feeds one storer's sender.
enum Feed {
    Piece(Vec<u8>),
    /// The file was read to its end and matched: the shard may be finished.
    End,
}

/// One shard's writer for the encoder: pieces go to the shard's sender, or nowhere when the
/// shard has no target (or its sender gave up: the encoder goes on for the others).
struct PieceWriter {
    feed: Option<SyncSender<Feed>>,
    buffer: Vec<u8>,
}

impl PieceWriter {
    fn send(&mut self, feed: Feed) {
        if let Some(sender) = &self.feed
            && sender.send(feed).is_err()
        {
            self.feed = None;
        }
    }

    fn send_buffer(&mut self) {
        if !self.buffer.is_empty() {
            let piece = std::mem::take(&mut self.buffer);
            self.send(Feed::Piece(piece));
        }
    }

    /// Sends what is buffered and, if the file matched, the end.
    fn finish(&mut self, matched: bool) {
        self.send_buffer();
        if matched {
            self.send(Feed::End);
        }
        self.feed = None;
    }
}

impl Write for PieceWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.feed.is_none() {
            return Ok(bytes.len());
        }
        let room = SHARD_PIECE_BYTES_MAX.saturating_sub(self.buffer.len());
        let take = bytes.get(..room.min(bytes.len())).unwrap_or_default();
        self.buffer.extend_from_slice(take);
        if self.buffer.len() >= SHARD_PIECE_BYTES_MAX {
            self.send_buffer();
        }
        Ok(take.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The file, counted as it is read, with progress reported every [`PROGRESS_EVERY_BYTES`].
struct Counted<R, P> {
    file: R,
    read_bytes: u64,
    reported_at: u64,
    size_bytes: u64,
    progress: P,
}

impl<R: Read, P: FnMut(UploadProgress)> Read for Counted<R, P> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read(buf)?;
        self.read_bytes = self.read_bytes.saturating_add(read as u64);
        if read == 0 || self.read_bytes.saturating_sub(self.reported_at) >= PROGRESS_EVERY_BYTES {
            self.reported_at = self.read_bytes;
            (self.progress)(UploadProgress {
                read_bytes: self.read_bytes,
                size_bytes: self.size_bytes,
            });
        }
        Ok(read)
    }
}

/// Streams `file` through the encoder of `manifest`'s parameters and sends each shard named
/// in `targets` to its storer; shards not named are computed and dropped. Returns each
/// target's outcome in target order once every sender is done. Fails as a whole only if the
/// file cannot be read or is not the one the manifest describes (then no shard is finished:
/// storers drop what they got).
pub fn upload_shards(
    transport: &dyn ShardTransport,
    blob: Hash,
    manifest: &Manifest,
    targets: &[ShardTarget],
    file: impl Read,
    progress: impl FnMut(UploadProgress),
) -> Result<Vec<(u8, ShardOutcome)>, UploadError> {
    let total_shards = manifest.shares.total_shards;
    let mut named = [false; 256];
    for target in targets {
        let slot = named.get_mut(usize::from(target.index));
        let fresh = slot.is_some_and(|s| !std::mem::replace(s, true));
        if target.index >= total_shards || !fresh {
            return Err(UploadError::BadTarget {
                index: target.index,
                total_shards,
            });
        }
    }
    let mut encoder =
        BlobEncoder::new(manifest.shares, manifest.piece_bytes).map_err(UploadError::Encode)?;
    let mut reader = Counted {
        file,
        read_bytes: 0,
        reported_at: 0,
        size_bytes: manifest.size_bytes,
        progress,
    };
    thread::scope(|scope| {
        let mut writers: Vec<PieceWriter> = (0..total_shards)
            .map(|_| PieceWriter {
                feed: None,
                buffer: Vec::new(),
            })
            .collect();
        let mut senders = Vec::with_capacity(targets.len());
        for target in targets {
            let (feed, pieces) = sync_channel(PIECES_QUEUED_PER_SHARD);
            if let Some(writer) = writers.get_mut(usize::from(target.index)) {
                writer.feed = Some(feed);
            }
            let shard = ShardRef {
                blob,
                index: target.index,
            };
            let root = manifest
                .shard_roots
                .get(usize::from(target.index))
                .copied()
                .unwrap_or_default();
            let size_bytes = manifest.shard_size_bytes;
            let storer = target.storer;
            senders.push((
                target.index,
                scope.spawn(move || send_shard(transport, storer, shard, root, size_bytes, pieces)),
            ));
        }
        let encoded = encoder.encode(&mut reader, &mut writers);
        let matched = matches!(&encoded, Ok(m) if m == manifest);
        for writer in &mut writers {
            writer.finish(matched);
        }
        drop(writers);
        let outcomes = senders
            .into_iter()
            .map(|(index, sender)| {
                let outcome = sender.join().unwrap_or_else(|_| {
                    ShardOutcome::Failed("the shard's sender stopped unexpectedly".to_owned())
                });
                (index, outcome)
            })
            .collect();
        match encoded {
            Ok(_) if matched => Ok(outcomes),
            Ok(_) => Err(UploadError::FileChanged),
            Err(EncodeError::Read(e)) => Err(UploadError::Read(e)),
            Err(EncodeError::Manifest(_)) => Err(UploadError::FileChanged),
            Err(e) => Err(UploadError::Encode(e)),
        }
    })
}

/// One storer's sender: begins the shard, sends every piece the encoder feeds it in order,
/// and finishes it once the file has matched.
fn send_shard(
    transport: &dyn ShardTransport,
    storer: PeerRef,
    shard: ShardRef,
    root: Hash,
    size_bytes: u64,
    pieces: Receiver<Feed>,
) -> ShardOutcome {
    let ask = |request: &ShardRequest| {
        request_with_retries(transport, storer, request, SHARD_REQUEST_TIMEOUT_MS)
    };
    let failed = |why: String| {
        ShardOutcome::Failed(format!("shard {} to storer {storer}: {why}", shard.index))
    };
    let begin = ShardRequest::Begin {
        shard,
        root,
        size_bytes,
    };
    match ask(&begin) {
        Ok(ShardResponse::Begun { held: true }) => return ShardOutcome::AlreadyHeld,
        Ok(ShardResponse::Begun { held: false }) => {}
        Ok(other) => return failed(unexpected(&other)),
        Err(e) => return failed(e),
    }
    let mut offset: u64 = 0;
    loop {
        match pieces.recv() {
            Ok(Feed::Piece(bytes)) => {
                let end = offset.saturating_add(bytes.len() as u64);
                let request = ShardRequest::Piece {
                    shard,
                    offset,
                    bytes,
                };
                match ask(&request) {
                    Ok(ShardResponse::Written { written_bytes }) if written_bytes == end => {
                        offset = end;
                    }
                    Ok(ShardResponse::Written { written_bytes }) => {
                        return failed(format!(
                            "the storer has {written_bytes} bytes where {end} were sent"
                        ));
                    }
                    Ok(other) => return failed(unexpected(&other)),
                    Err(e) => return failed(e),
                }
            }
            Ok(Feed::End) => break,
            Err(_) => return failed("the upload stopped before the shard was whole".to_owned()),
        }
    }
    match ask(&ShardRequest::Finish { shard }) {
        Ok(ShardResponse::Stored) => ShardOutcome::Stored,
        Ok(other) => failed(unexpected(&other)),
        Err(e) => failed(e),
    }
}
