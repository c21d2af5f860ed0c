//! The node's durable store: the RocksDB [`KvStore`] (one database per node, a column family
//! per [`Column`], every batch written atomically through the write-ahead log and synced before
//! it is acknowledged), and the blocktree and the root chain opened on it.
//!
//! A crate of its own so that nothing links RocksDB's C++ but what opens a database: the
//! blocktree's rules run on any [`KvStore`], and the `bitverse` client binary, which links the
//! blocktree for its proofs, starts without RocksDB's static constructors, libstdc++ symbol
//! bindings and destructors (issue 17 §9).
//!
//! Invariant: no rule of the chain here; only the mapping of the blocktree's store onto RocksDB.

use std::path::Path;
use std::sync::Arc;

use bitverse_blocktree::store::{Column, Entry, KvStore, WriteBatch, WriteOp};
use bitverse_blocktree::{Blocktree, Chain, ChainError, ChainParams, StoreError, Tracking};
use rocksdb::{ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteOptions};

/// Opens the blocktree stored in `data_dir` (RocksDB), creating the root at genesis if new, and
/// reopening every data chain it had opened before.
pub fn open_blocktree(
    data_dir: &Path,
    params: ChainParams,
    tracking: Tracking,
) -> Result<Blocktree, ChainError> {
    let store: Arc<dyn KvStore> = Arc::new(RocksStore::open(data_dir)?);
    Blocktree::in_store(store, params, tracking)
}

/// Opens the root chain stored in `data_dir` (RocksDB) alone, creating it at genesis if it is
/// new, and resumes at the stored tip: for tools that build or read one chain.
pub fn open_chain(data_dir: &Path, params: ChainParams) -> Result<Chain, ChainError> {
    Chain::with_store(Box::new(RocksStore::open(data_dir)?), params)
}

/// A RocksDB database holding one node's chain.
pub struct RocksStore {
    db: DB,
}

fn db_error(e: rocksdb::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

impl RocksStore {
    /// Opens or creates the database in `path`.
    pub fn open(path: &Path) -> Result<RocksStore, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        // Files are few and small on a young chain; a bound keeps descriptors in check on an
        // old one.
        options.set_max_open_files(512);
        let families = Column::ALL
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c.name(), Options::default()));
        let db = DB::open_cf_descriptors(&options, path, families).map_err(db_error)?;
        Ok(RocksStore { db })
    }

    fn family(&self, column: Column) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(column.name())
            .ok_or_else(|| StoreError::Database(format!("missing column family {}", column.name())))
    }
}

impl KvStore for RocksStore {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(self.family(column)?, key).map_err(db_error)
    }

    fn get_at_or_before(&self, column: Column, key: &[u8]) -> Result<Option<Entry>, StoreError> {
        let mut iter = self.db.raw_iterator_cf(self.family(column)?);
        iter.seek_for_prev(key);
        if !iter.valid() {
            iter.status().map_err(db_error)?;
            return Ok(None);
        }
        match (iter.key(), iter.value()) {
            (Some(k), Some(v)) => Ok(Some((k.to_vec(), v.to_vec()))),
            _ => Ok(None),
        }
    }

    fn scan(&self, column: Column, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let mut entries = Vec::new();
        let iter = self.db.iterator_cf(
            self.family(column)?,
            IteratorMode::From(prefix, Direction::Forward),
        );
        for item in iter {
            let (key, value) = item.map_err(db_error)?;
            if !key.starts_with(prefix) {
                break;
            }
            entries.push((key.to_vec(), value.to_vec()));
        }
        Ok(entries)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut rocks_batch = rocksdb::WriteBatch::default();
        for op in batch.into_ops() {
            match op {
                WriteOp::Put(column, key, value) => {
                    rocks_batch.put_cf(self.family(column)?, key, value)
                }
                WriteOp::Delete(column, key) => rocks_batch.delete_cf(self.family(column)?, key),
                WriteOp::DeleteRange(column, from, to) => {
                    rocks_batch.delete_range_cf(self.family(column)?, from, to)
                }
            }
        }
        // Synced: a block the node reported as imported survives a power cut, not only a crash.
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(rocks_batch, &options).map_err(db_error)
    }
}
