//! The storer's side of the shard protocol: a shard is taken only if the chain placed it on
//! this storer with the root and size offered ([`ShardPlacement`]), only from the peer that
//! began its upload, checked against its root before it counts, and reported once stored so
//! the node can confirm it on the chain. Ranges of held shards are served, with their proofs,
//! to any peer (paid serving is a later issue).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;

use bitverse_p2p::{PeerRef, ShardRef, ShardRequest, ShardResponse, ShardService};
use bitverse_primitives::Hash;
use bitverse_shard_store::{ShardId, ShardMeta, ShardStore, StoreError, UPLOADS_MAX};

/// What the chain says about a shard offered to this storer.
pub trait ShardPlacement: Send + Sync + 'static {
    /// `Ok` if the chain placed `shard` on this storer with root `root` and length
    /// `size_bytes`; else why not, for the uploader.
    fn check(&self, shard: ShardRef, root: Hash, size_bytes: u64) -> Result<(), NotPlaced>;
}

/// Why a storer does not take a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPlaced {
    /// The chain this storer follows does not hold the blob yet: it may be a block behind the
    /// uploader's node, so the uploader is answered Busy and asks again shortly.
    NotYet(String),
    /// The chain says otherwise: the blob ended, the shard is placed on another storer, or its
    /// root or size differ.
    Refused(String),
}

/// Told of every shard this storer holds whole after an upload (or already held when one is
/// offered again), so that the node confirms it on the chain.
pub type OnStored = Box<dyn Fn(ShardId, ShardMeta) + Send + Sync>;

/// A storing node's [`ShardService`].
pub struct StorerService {
    store: Arc<ShardStore>,
    placement: Box<dyn ShardPlacement>,
    on_stored: OnStored,
    /// The peer that began each upload in progress: only it may add to it.
    uploaders: Mutex<BTreeMap<ShardId, PeerRef>>,
}

impl StorerService {
    /// A service over `store`, taking what `placement` allows and telling `on_stored`.
    pub fn new(
        store: Arc<ShardStore>,
        placement: Box<dyn ShardPlacement>,
        on_stored: OnStored,
    ) -> StorerService {
        StorerService {
            store,
            placement,
            on_stored,
            uploaders: Mutex::new(BTreeMap::new()),
        }
    }

    fn uploader_is(&self, id: &ShardId, from: PeerRef) -> bool {
        let uploaders = self.uploaders.lock().unwrap_or_else(|e| e.into_inner());
        uploaders.get(id) == Some(&from)
    }

    fn serve_request(
        &self,
        from: PeerRef,
        request: ShardRequest,
    ) -> Result<ShardResponse, StoreError> {
        let id = |shard: ShardRef| ShardId {
            blob: shard.blob,
            index: shard.index,
        };
        let not_yours = |shard: ShardRef| {
            ShardResponse::refused(format!(
                "no upload of shard {} of blob {} begun by this peer",
                shard.index, shard.blob
            ))
        };
        match request {
            ShardRequest::Begin {
                shard,
                root,
                size_bytes,
            } => {
                match self.placement.check(shard, root, size_bytes) {
                    Ok(()) => {}
                    Err(NotPlaced::NotYet(_)) => return Ok(ShardResponse::Busy),
                    Err(NotPlaced::Refused(why)) => return Ok(ShardResponse::refused(why)),
                }
                let meta = ShardMeta { root, size_bytes };
                let begun = self.store.begin_upload(id(shard), meta)?;
                if begun {
                    let mut uploaders = self.uploaders.lock().unwrap_or_else(|e| e.into_inner());
                    if uploaders.len() >= UPLOADS_MAX {
                        uploaders.retain(|id, _| self.store.is_uploading(id));
                    }
                    uploaders.insert(id(shard), from);
                } else {
                    (self.on_stored)(id(shard), meta);
                }
                Ok(ShardResponse::Begun { held: !begun })
            }
            ShardRequest::Piece {
                shard,
                offset,
                bytes,
            } => {
                if !self.uploader_is(&id(shard), from) {
                    return Ok(not_yours(shard));
                }
                let written_bytes = self.store.write_piece(id(shard), offset, &bytes)?;
                Ok(ShardResponse::Written { written_bytes })
            }
            ShardRequest::Finish { shard } => {
                if !self.uploader_is(&id(shard), from) {
                    return Ok(not_yours(shard));
                }
                let finished = self.store.finish_upload(id(shard));
                if !matches!(finished, Err(StoreError::Incomplete { .. })) {
                    let mut uploaders = self.uploaders.lock().unwrap_or_else(|e| e.into_inner());
                    uploaders.remove(&id(shard));
                }
                let meta = finished?;
                tracing::info!(shard = shard.index, blob = %shard.blob, size_bytes = meta.size_bytes, "shard stored");
                (self.on_stored)(id(shard), meta);
                Ok(ShardResponse::Stored)
            }
            ShardRequest::Range { shard, start, end } => {
                let bytes = self.store.prove(id(shard), start..end)?;
                Ok(ShardResponse::Proof { bytes })
            }
        }
    }
}

impl ShardService for StorerService {
    fn serve(&self, from: PeerRef, request: ShardRequest) -> ShardResponse {
        match self.serve_request(from, request) {
            Ok(response) => response,
            Err(StoreError::Busy { .. }) => ShardResponse::Busy,
            Err(e) => {
                if matches!(e, StoreError::Io { .. } | StoreError::DiskFull { .. }) {
                    tracing::warn!(error = %e, "shard store failed");
                }
                ShardResponse::refused(e.to_string())
            }
        }
    }
}
