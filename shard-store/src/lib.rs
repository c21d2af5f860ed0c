//! A storer's shards on disk: uploads taken piece by piece, checked against the shard root the
//! chain names before they count, kept so that an acknowledged shard survives a crash, and
//! served as byte ranges with their proofs (`bitverse_storage::verified`).
//!
//! One directory holds everything. A shard being uploaded is a file under `partial/`; when its
//! last byte is in, the store builds its outboard tree from the file, refuses it unless the
//! root matches, and commits it: the data is synced and renamed to `<blob>-<index>.data`, then
//! the outboard (root, size, hash pairs) is synced and renamed to `<blob>-<index>.outboard`,
//! then the directory is synced. The outboard's rename is the commit point: on open, a data
//! file without its outboard, or whose length disagrees with it, is removed, and `partial/`
//! is emptied, so a crash at any moment leaves either a whole, checked shard or nothing.
//!
//! Everything is bounded: uploads at once ([`UPLOADS_MAX`]), a piece ([`PIECE_BYTES_MAX`]), a
//! served range ([`RANGE_BYTES_MAX`]), and the bytes held, by the capacity the operator sets,
//! counted with uploads' reservations so that accepted uploads always fit.
//!
//! Invariant: this crate knows nothing of the network, the chain or the runtime. Which shards a
//! storer should accept (the chain's placement) is its caller's decision.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bitverse_primitives::Hash;
use bitverse_storage::{BLOB_SIZE_BYTES_MAX, ShardOutboard, VerifyError, prove_range};
use parking_lot::Mutex;

/// Uploads in progress at once; a further one is refused until one finishes or goes idle.
pub const UPLOADS_MAX: usize = 64;
/// The largest piece of an upload.
pub const PIECE_BYTES_MAX: usize = 1024 * 1024;
/// The largest range served at once.
pub const RANGE_BYTES_MAX: u64 = 1024 * 1024;
/// Outboards kept in memory for the shards served last.
pub const OUTBOARDS_CACHED_MAX: usize = 16;
/// An upload that has received nothing for this long is dropped when room is needed.
pub const UPLOAD_IDLE_MS_MAX: u64 = 60_000;

const PARTIAL_DIR: &str = "partial";
const DATA_SUFFIX: &str = "data";
const OUTBOARD_SUFFIX: &str = "outboard";
/// The outboard file's header: the shard root and its size.
const OUTBOARD_HEADER_BYTES: usize = 32 + 8;

/// A shard: which blob, and which of its n shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardId {
    /// The blob's id, as the chain names it.
    pub blob: Hash,
    /// The shard's index among the blob's n, from 0.
    pub index: u8,
}

impl ShardId {
    fn file_stem(&self) -> String {
        format!("{}-{:02}", self.blob.to_hex(), self.index)
    }

    fn parse_stem(stem: &str) -> Option<ShardId> {
        let (blob, index) = stem.split_once('-')?;
        if index.len() != 2 {
            return None;
        }
        Some(ShardId {
            blob: blob.parse().ok()?,
            index: index.parse().ok()?,
        })
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard {} of blob {}", self.index, self.blob)
    }
}

/// What the store knows of a shard it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardMeta {
    /// BLAKE3 of the shard's bytes: the manifest's shard root.
    pub root: Hash,
    /// The shard's length.
    pub size_bytes: u64,
}

/// Where the store lives and how much it may hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardStoreConfig {
    /// Its directory, created if missing.
    pub dir: PathBuf,
    /// The most bytes of shards and outboards it holds, uploads in progress included.
    pub capacity_bytes: u64,
}

/// What went wrong, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The disk failed or refused (other than being full).
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The disk is full: the upload is dropped, nothing else is lost.
    #[error("the disk holding {path} is full")]
    DiskFull {
        /// The file being written.
        path: PathBuf,
    },
    /// Taking the shard would exceed the capacity the operator set.
    #[error(
        "a shard of {size_bytes} bytes does not fit: {free_bytes} of {capacity_bytes} bytes free"
    )]
    CapacityFull {
        /// The bytes the shard needs (with its outboard).
        size_bytes: u64,
        /// The bytes free.
        free_bytes: u64,
        /// The capacity.
        capacity_bytes: u64,
    },
    /// [`UPLOADS_MAX`] uploads are in progress.
    #[error("{uploads_max} uploads are in progress; try again later")]
    Busy {
        /// The limit.
        uploads_max: usize,
    },
    /// A shard larger than any blob.
    #[error("a shard of {size_bytes} bytes exceeds the largest blob's {size_bytes_max} bytes")]
    ShardTooLarge {
        /// The size asked for.
        size_bytes: u64,
        /// The limit.
        size_bytes_max: u64,
    },
    /// The store already holds this shard with another root.
    #[error("{id} is held with root {held}, not {offered}")]
    RootConflict {
        /// The shard.
        id: ShardId,
        /// The root held.
        held: Hash,
        /// The root offered.
        offered: Hash,
    },
    /// No upload of this shard is in progress (never begun, finished, or dropped when idle).
    #[error("no upload of {0} is in progress")]
    NoUpload(ShardId),
    /// A piece that does not continue the upload where it stands.
    #[error("a piece at byte {offset} of {id}, which continues at byte {expected_offset}")]
    OutOfOrder {
        /// The shard.
        id: ShardId,
        /// Where the piece starts.
        offset: u64,
        /// Where the upload stands.
        expected_offset: u64,
    },
    /// A piece larger than [`PIECE_BYTES_MAX`], or reaching past the shard's end.
    #[error(
        "a piece of {piece_bytes} bytes at byte {offset} does not fit {id} of {size_bytes} bytes (pieces are at most {PIECE_BYTES_MAX} bytes)"
    )]
    BadPiece {
        /// The shard.
        id: ShardId,
        /// Where the piece starts.
        offset: u64,
        /// Its length.
        piece_bytes: usize,
        /// The shard's length.
        size_bytes: u64,
    },
    /// Finishing an upload before all its bytes are in.
    #[error("{id} has {written_bytes} of its {size_bytes} bytes")]
    Incomplete {
        /// The shard.
        id: ShardId,
        /// The bytes received.
        written_bytes: u64,
        /// Its length.
        size_bytes: u64,
    },
    /// The uploaded bytes do not hash to the shard's root: the upload is dropped.
    #[error("the bytes uploaded for {id} hash to {actual}, not its root {expected}")]
    RootMismatch {
        /// The shard.
        id: ShardId,
        /// The root the upload was begun with.
        expected: Hash,
        /// What the bytes hash to.
        actual: Hash,
    },
    /// The store does not hold this shard.
    #[error("{0} is not held here")]
    NotHeld(ShardId),
    /// A range larger than [`RANGE_BYTES_MAX`].
    #[error("a range of {range_bytes} bytes exceeds the {RANGE_BYTES_MAX} served at once")]
    RangeTooLarge {
        /// Its length.
        range_bytes: u64,
    },
    /// The range is outside the shard, or the shard on disk no longer matches its root (it
    /// rotted or was tampered with): no proof can be made.
    #[error("{id}: {source}")]
    Verify {
        /// The shard.
        id: ShardId,
        /// Why.
        #[source]
        source: VerifyError,
    },
}

fn io_error(path: &Path, source: io::Error) -> StoreError {
    if matches!(
        source.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    ) {
        StoreError::DiskFull {
            path: path.to_path_buf(),
        }
    } else {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What opening found: the shards kept and what a crash had left half done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Whole shards held.
    pub shards: usize,
    /// Their bytes, outboards included.
    pub held_bytes: u64,
    /// Partial uploads and uncommitted or damaged shard files removed.
    pub removed_files: usize,
}

struct Upload {
    file: File,
    path: PathBuf,
    meta: ShardMeta,
    written_bytes: u64,
    last_piece_at: Instant,
}

#[derive(Default)]
struct Inner {
    shards: BTreeMap<ShardId, ShardMeta>,
    uploads: BTreeMap<ShardId, Upload>,
    /// Bytes of held shards and their outboards.
    held_bytes: u64,
    /// Bytes reserved by uploads in progress, outboards included.
    reserved_bytes: u64,
    /// The outboards of the shards served last, newest at the back, at most
    /// [`OUTBOARDS_CACHED_MAX`]: a reader asks one shard for range after range, and reading
    /// its outboard again for each would read more than the shard itself (1.4 MB an outboard
    /// for a 358 MB shard, 342 ranges of 1 MiB).
    outboards: std::collections::VecDeque<(ShardId, std::sync::Arc<ShardOutboard>)>,
}

/// A storer's shards on disk. Shared between threads; calls on different shards proceed
/// independently except for a short lock on the index.
pub struct ShardStore {
    dir: PathBuf,
    capacity_bytes: u64,
    inner: Mutex<Inner>,
}

/// The disk a shard takes: its bytes, its outboard and the outboard's header.
pub fn footprint_bytes(size_bytes: u64) -> u64 {
    // 64 bytes of hash pairs a 16 KiB chunk group (one pair fewer than groups).
    let groups = size_bytes.div_ceil(bitverse_storage::CHUNK_GROUP_BYTES);
    size_bytes
        .saturating_add(groups.saturating_mul(64))
        .saturating_add(OUTBOARD_HEADER_BYTES as u64)
}

impl ShardStore {
    /// Opens (creating it if missing) the store at `config.dir`, finishing what a crash left:
    /// partial uploads and uncommitted shard files are removed.
    pub fn open(config: ShardStoreConfig) -> Result<(ShardStore, OpenReport), StoreError> {
        let dir = config.dir;
        let partial = dir.join(PARTIAL_DIR);
        fs::create_dir_all(&partial).map_err(|e| io_error(&partial, e))?;
        let mut report = OpenReport::default();
        for entry in fs::read_dir(&partial).map_err(|e| io_error(&partial, e))? {
            let path = entry.map_err(|e| io_error(&partial, e))?.path();
            fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
            report.removed_files += 1;
        }
        let mut inner = Inner::default();
        let mut data_files = BTreeMap::new();
        let mut outboards = BTreeMap::new();
        for entry in fs::read_dir(&dir).map_err(|e| io_error(&dir, e))? {
            let path = entry.map_err(|e| io_error(&dir, e))?.path();
            let (Some(stem), Some(suffix)) = (
                path.file_stem().and_then(|s| s.to_str()),
                path.extension().and_then(|s| s.to_str()),
            ) else {
                continue;
            };
            let Some(id) = ShardId::parse_stem(stem) else {
                continue;
            };
            match suffix {
                DATA_SUFFIX => data_files.insert(id, path),
                OUTBOARD_SUFFIX => outboards.insert(id, path),
                _ => None,
            };
        }
        for (id, data_path) in &data_files {
            let outboard_path = outboards.remove(id);
            let meta = outboard_path
                .as_deref()
                .and_then(|path| read_outboard(path).ok())
                .map(|outboard| ShardMeta {
                    root: outboard.root(),
                    size_bytes: outboard.size_bytes(),
                });
            let data_len = fs::metadata(data_path).map(|m| m.len()).ok();
            match meta {
                Some(meta) if data_len == Some(meta.size_bytes) => {
                    inner.shards.insert(*id, meta);
                    inner.held_bytes = inner
                        .held_bytes
                        .saturating_add(footprint_bytes(meta.size_bytes));
                }
                _ => {
                    remove_if_present(data_path)?;
                    report.removed_files += 1;
                    if let Some(path) = outboard_path {
                        remove_if_present(&path)?;
                        report.removed_files += 1;
                    }
                }
            }
        }
        // An outboard whose data is gone is no shard (its data was removed by hand).
        for path in outboards.values() {
            remove_if_present(path)?;
            report.removed_files += 1;
        }
        report.shards = inner.shards.len();
        report.held_bytes = inner.held_bytes;
        Ok((
            ShardStore {
                dir,
                capacity_bytes: config.capacity_bytes,
                inner: Mutex::new(inner),
            },
            report,
        ))
    }

    /// The capacity the operator set.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    /// Bytes held and reserved by uploads in progress.
    pub fn used_bytes(&self) -> u64 {
        let inner = self.inner.lock();
        inner.held_bytes.saturating_add(inner.reserved_bytes)
    }

    /// The shard, if held whole.
    pub fn get(&self, id: &ShardId) -> Option<ShardMeta> {
        self.inner.lock().shards.get(id).copied()
    }

    /// Whether an upload of `id` is in progress.
    pub fn is_uploading(&self, id: &ShardId) -> bool {
        self.inner.lock().uploads.contains_key(id)
    }

    /// Every shard held, in id order.
    pub fn list(&self) -> Vec<(ShardId, ShardMeta)> {
        self.inner
            .lock()
            .shards
            .iter()
            .map(|(id, meta)| (*id, *meta))
            .collect()
    }

    /// Begins (or begins again, from byte 0) the upload of shard `id`, whose bytes must hash
    /// to `meta.root`. Returns `false`, doing nothing, if the shard is already held with that
    /// root: the uploader may skip to its receipt.
    pub fn begin_upload(&self, id: ShardId, meta: ShardMeta) -> Result<bool, StoreError> {
        if meta.size_bytes > BLOB_SIZE_BYTES_MAX {
            return Err(StoreError::ShardTooLarge {
                size_bytes: meta.size_bytes,
                size_bytes_max: BLOB_SIZE_BYTES_MAX,
            });
        }
        let mut inner = self.inner.lock();
        if let Some(held) = inner.shards.get(&id) {
            if held.root == meta.root && held.size_bytes == meta.size_bytes {
                return Ok(false);
            }
            return Err(StoreError::RootConflict {
                id,
                held: held.root,
                offered: meta.root,
            });
        }
        if let Some(previous) = inner.uploads.remove(&id) {
            self.drop_upload(&mut inner, previous);
        }
        self.drop_idle_uploads(&mut inner);
        if inner.uploads.len() >= UPLOADS_MAX {
            return Err(StoreError::Busy {
                uploads_max: UPLOADS_MAX,
            });
        }
        let needed = footprint_bytes(meta.size_bytes);
        let used = inner.held_bytes.saturating_add(inner.reserved_bytes);
        let free_bytes = self.capacity_bytes.saturating_sub(used);
        if needed > free_bytes {
            return Err(StoreError::CapacityFull {
                size_bytes: needed,
                free_bytes,
                capacity_bytes: self.capacity_bytes,
            });
        }
        let path = self
            .dir
            .join(PARTIAL_DIR)
            .join(format!("{}.{DATA_SUFFIX}", id.file_stem()));
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        inner.reserved_bytes = inner.reserved_bytes.saturating_add(needed);
        inner.uploads.insert(
            id,
            Upload {
                file,
                path,
                meta,
                written_bytes: 0,
                last_piece_at: Instant::now(),
            },
        );
        Ok(true)
    }

    /// Appends `bytes` at `offset` to the upload of `id`, which must continue it exactly. A
    /// piece already written (an uploader retrying) is accepted again without effect. Returns
    /// the bytes the upload now has.
    pub fn write_piece(&self, id: ShardId, offset: u64, bytes: &[u8]) -> Result<u64, StoreError> {
        let mut inner = self.inner.lock();
        let upload = inner.uploads.get_mut(&id).ok_or(StoreError::NoUpload(id))?;
        let end = offset.saturating_add(bytes.len() as u64);
        if bytes.len() > PIECE_BYTES_MAX || end > upload.meta.size_bytes {
            return Err(StoreError::BadPiece {
                id,
                offset,
                piece_bytes: bytes.len(),
                size_bytes: upload.meta.size_bytes,
            });
        }
        if end <= upload.written_bytes && !bytes.is_empty() {
            return Ok(upload.written_bytes);
        }
        if offset != upload.written_bytes {
            return Err(StoreError::OutOfOrder {
                id,
                offset,
                expected_offset: upload.written_bytes,
            });
        }
        upload.last_piece_at = Instant::now();
        match upload.file.write_all(bytes) {
            Ok(()) => {
                upload.written_bytes = end;
                Ok(end)
            }
            Err(e) => {
                // A failed write (a full disk) drops the upload and its reservation.
                let error = io_error(&upload.path, e);
                if let Some(upload) = inner.uploads.remove(&id) {
                    self.drop_upload(&mut inner, upload);
                }
                Err(error)
            }
        }
    }

    /// Finishes the upload of `id`: checks its bytes against the root it was begun with and
    /// commits it durably. Once this returns `Ok`, the shard survives a crash; on any error the
    /// upload is dropped (except [`StoreError::Incomplete`], which leaves it to go on).
    pub fn finish_upload(&self, id: ShardId) -> Result<ShardMeta, StoreError> {
        let mut upload = {
            let mut inner = self.inner.lock();
            let upload = inner.uploads.get(&id).ok_or(StoreError::NoUpload(id))?;
            if upload.written_bytes != upload.meta.size_bytes {
                return Err(StoreError::Incomplete {
                    id,
                    written_bytes: upload.written_bytes,
                    size_bytes: upload.meta.size_bytes,
                });
            }
            inner.uploads.remove(&id).ok_or(StoreError::NoUpload(id))?
        };
        // The tree is built outside the lock: it reads the whole shard.
        let committed = self.commit(id, &mut upload);
        let mut inner = self.inner.lock();
        let footprint = footprint_bytes(upload.meta.size_bytes);
        inner.reserved_bytes = inner.reserved_bytes.saturating_sub(footprint);
        match committed {
            Ok(()) => {
                inner.shards.insert(id, upload.meta);
                inner.held_bytes = inner.held_bytes.saturating_add(footprint);
                Ok(upload.meta)
            }
            Err(error) => {
                let _ = fs::remove_file(&upload.path);
                Err(error)
            }
        }
    }

    fn commit(&self, id: ShardId, upload: &mut Upload) -> Result<(), StoreError> {
        let path = &upload.path;
        upload
            .file
            .seek(SeekFrom::Start(0))
            .map_err(|e| io_error(path, e))?;
        let outboard = bitverse_storage::encode_outboard(&mut upload.file, upload.meta.size_bytes)
            .map_err(|source| match source {
                VerifyError::Read(e) => io_error(path, e),
                source => StoreError::Verify { id, source },
            })?;
        if outboard.root() != upload.meta.root {
            return Err(StoreError::RootMismatch {
                id,
                expected: upload.meta.root,
                actual: outboard.root(),
            });
        }
        upload.file.sync_all().map_err(|e| io_error(path, e))?;
        let data_path = self.data_path(&id);
        fs::rename(path, &data_path).map_err(|e| io_error(&data_path, e))?;
        let partial_outboard = self
            .dir
            .join(PARTIAL_DIR)
            .join(format!("{}.{OUTBOARD_SUFFIX}", id.file_stem()));
        write_outboard(&partial_outboard, &outboard)?;
        let outboard_path = self.outboard_path(&id);
        fs::rename(&partial_outboard, &outboard_path).map_err(|e| io_error(&outboard_path, e))?;
        sync_dir(&self.dir)
    }

    /// Proves `range` of shard `id` from the disk: its bytes and the hashes a reader needs to
    /// check them against the shard root. A shard that rotted on disk makes no proof
    /// ([`StoreError::Verify`]).
    pub fn prove(&self, id: ShardId, range: Range<u64>) -> Result<Vec<u8>, StoreError> {
        let range_bytes = range.end.saturating_sub(range.start);
        if range_bytes > RANGE_BYTES_MAX {
            return Err(StoreError::RangeTooLarge { range_bytes });
        }
        let cached = {
            let inner = self.inner.lock();
            if !inner.shards.contains_key(&id) {
                return Err(StoreError::NotHeld(id));
            }
            inner
                .outboards
                .iter()
                .find(|(cached, _)| *cached == id)
                .map(|(_, outboard)| outboard.clone())
        };
        let outboard = match cached {
            Some(outboard) => outboard,
            None => {
                // Read outside the lock; another reader may add it too, which is harmless.
                let outboard = std::sync::Arc::new(read_outboard(&self.outboard_path(&id))?);
                let mut inner = self.inner.lock();
                if inner.outboards.len() >= OUTBOARDS_CACHED_MAX {
                    inner.outboards.pop_front();
                }
                inner.outboards.push_back((id, outboard.clone()));
                outboard
            }
        };
        let data_path = self.data_path(&id);
        let file = File::open(&data_path).map_err(|e| io_error(&data_path, e))?;
        prove_range(&file, &outboard, range).map_err(|source| StoreError::Verify { id, source })
    }

    /// Removes shard `id` (no longer assigned here). Returns whether it was held.
    pub fn remove(&self, id: ShardId) -> Result<bool, StoreError> {
        let mut inner = self.inner.lock();
        let Some(meta) = inner.shards.remove(&id) else {
            return Ok(false);
        };
        inner.outboards.retain(|(cached, _)| *cached != id);
        inner.held_bytes = inner
            .held_bytes
            .saturating_sub(footprint_bytes(meta.size_bytes));
        // The outboard first: without it the shard is gone, whatever happens next.
        remove_if_present(&self.outboard_path(&id))?;
        remove_if_present(&self.data_path(&id))?;
        Ok(true)
    }

    /// The file holding shard `id`'s bytes (for an operator, and for tests that damage it).
    pub fn data_path(&self, id: &ShardId) -> PathBuf {
        self.dir.join(format!("{}.{DATA_SUFFIX}", id.file_stem()))
    }

    fn outboard_path(&self, id: &ShardId) -> PathBuf {
        self.dir
            .join(format!("{}.{OUTBOARD_SUFFIX}", id.file_stem()))
    }

    fn drop_upload(&self, inner: &mut Inner, upload: Upload) {
        inner.reserved_bytes = inner
            .reserved_bytes
            .saturating_sub(footprint_bytes(upload.meta.size_bytes));
        drop(upload.file);
        let _ = fs::remove_file(&upload.path);
    }

    fn drop_idle_uploads(&self, inner: &mut Inner) {
        let idle_max = Duration::from_millis(UPLOAD_IDLE_MS_MAX);
        let idle: Vec<ShardId> = inner
            .uploads
            .iter()
            .filter(|(_, upload)| upload.last_piece_at.elapsed() > idle_max)
            .map(|(id, _)| *id)
            .collect();
        for id in idle {
            if let Some(upload) = inner.uploads.remove(&id) {
                self.drop_upload(inner, upload);
            }
        }
    }
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(path, e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

fn write_outboard(path: &Path, outboard: &ShardOutboard) -> Result<(), StoreError> {
    let mut file = File::create(path).map_err(|e| io_error(path, e))?;
    let mut header = [0u8; OUTBOARD_HEADER_BYTES];
    let (root, size) = header.split_at_mut(32);
    root.copy_from_slice(outboard.root().as_bytes());
    size.copy_from_slice(&outboard.size_bytes().to_le_bytes());
    file.write_all(&header)
        .and_then(|()| file.write_all(outboard.hashes()))
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(path, e))
}

fn read_outboard(path: &Path) -> Result<ShardOutboard, StoreError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(|e| io_error(path, e))?;
    let damaged = || StoreError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, "damaged outboard"),
    };
    if bytes.len() < OUTBOARD_HEADER_BYTES {
        return Err(damaged());
    }
    let hashes = bytes.split_off(OUTBOARD_HEADER_BYTES);
    let (root, size) = bytes.split_at(32);
    let root = Hash(root.try_into().map_err(|_| damaged())?);
    let size_bytes = u64::from_le_bytes(size.try_into().map_err(|_| damaged())?);
    ShardOutboard::from_parts(root, size_bytes, hashes).map_err(|_| damaged())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ids_name_their_files_and_parse_back() {
        let id = ShardId {
            blob: Hash::digest(b"blob"),
            index: 7,
        };
        assert_eq!(ShardId::parse_stem(&id.file_stem()), Some(id));
        for stem in ["", "x-01", "00-1", &format!("{}-123", Hash::ZERO)] {
            assert_eq!(ShardId::parse_stem(stem), None, "{stem}");
        }
    }

    #[test]
    fn a_footprint_counts_the_outboard() {
        assert_eq!(footprint_bytes(0), 40);
        assert_eq!(footprint_bytes(16 * 1024), 16 * 1024 + 64 + 40);
        assert_eq!(footprint_bytes(16 * 1024 + 1), 16 * 1024 + 1 + 128 + 40);
    }
}
