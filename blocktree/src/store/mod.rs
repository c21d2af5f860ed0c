//! The storage under a chain: a small key/value trait with column families and atomic batches,
//! implemented by an in-memory map here (tests, replays, the fuzz targets, the simulator) and
//! by RocksDB for nodes in `bitverse-store-rocks`, so that the chain's rules link no database.

mod memory;
mod prefixed;

pub use memory::MemoryStore;
pub use prefixed::PrefixedStore;

use crate::error::StoreError;

/// The column families, one per concern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// Block hash → header bytes.
    Headers,
    /// Block hash → encoded transaction list.
    Bodies,
    /// Block hash → [`crate::chain::BlockMeta`]: height, cumulative work, validity.
    BlockMeta,
    /// Best-chain height (big-endian) → block hash.
    BestChain,
    /// jmt node key (version big-endian ‖ nibble path) → node.
    StateNodes,
    /// jmt key hash ‖ version (big-endian) → value (tag 0 = deleted, 1 = present).
    StateValues,
    /// Block hash → what connecting the block wrote, to roll it back on a reorg.
    Undo,
    /// Transaction hash → where it sits in the best chain.
    TxIndex,
    /// Node-wide facts: the tip, the genesis.
    Meta,
}

impl Column {
    /// Every column, for opening a database.
    pub const ALL: [Column; 9] = [
        Column::Headers,
        Column::Bodies,
        Column::BlockMeta,
        Column::BestChain,
        Column::StateNodes,
        Column::StateValues,
        Column::Undo,
        Column::TxIndex,
        Column::Meta,
    ];

    /// The column family's name on disk.
    pub fn name(self) -> &'static str {
        match self {
            Column::Headers => "headers",
            Column::Bodies => "bodies",
            Column::BlockMeta => "block_meta",
            Column::BestChain => "best_chain",
            Column::StateNodes => "state_nodes",
            Column::StateValues => "state_values",
            Column::Undo => "undo",
            Column::TxIndex => "tx_index",
            Column::Meta => "meta",
        }
    }
}

/// One change in a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// Sets a key.
    Put(Column, Vec<u8>, Vec<u8>),
    /// Removes a key.
    Delete(Column, Vec<u8>),
    /// Removes every key in `[from, to)`.
    DeleteRange(Column, Vec<u8>, Vec<u8>),
}

/// Changes applied all together or not at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// Adds a put.
    pub fn put(&mut self, column: Column, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops
            .push(WriteOp::Put(column, key.into(), value.into()));
    }

    /// Adds a delete.
    pub fn delete(&mut self, column: Column, key: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Delete(column, key.into()));
    }

    /// Adds a range delete of `[from, to)`.
    pub fn delete_range(
        &mut self,
        column: Column,
        from: impl Into<Vec<u8>>,
        to: impl Into<Vec<u8>>,
    ) {
        self.ops
            .push(WriteOp::DeleteRange(column, from.into(), to.into()));
    }

    /// The changes, in order.
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// The operations, in order, taken out of the batch: what a store applies.
    pub fn into_ops(self) -> Vec<WriteOp> {
        self.ops
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A stored key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A key/value store with column families and atomic batches.
pub trait KvStore: Send + Sync {
    /// The value at `key`.
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// The entry with the greatest key that is at most `key`, if any.
    fn get_at_or_before(&self, column: Column, key: &[u8]) -> Result<Option<Entry>, StoreError>;

    /// Every entry of a column whose key starts with `prefix`, in key order. For the block
    /// index at start-up.
    fn scan(&self, column: Column, prefix: &[u8]) -> Result<Vec<Entry>, StoreError>;

    /// Applies `batch` atomically and durably: after a crash, all of it or none of it is there.
    fn write(&self, batch: WriteBatch) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &dyn KvStore) {
        let mut batch = WriteBatch::default();
        batch.put(Column::Meta, b"a".to_vec(), b"1".to_vec());
        batch.put(Column::Meta, b"c".to_vec(), b"3".to_vec());
        batch.put(Column::Headers, b"b".to_vec(), b"other column".to_vec());
        store.write(batch).unwrap();
        assert_eq!(store.get(Column::Meta, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(store.get(Column::Meta, b"b").unwrap(), None);
        assert_eq!(
            store.get_at_or_before(Column::Meta, b"b").unwrap(),
            Some((b"a".to_vec(), b"1".to_vec()))
        );
        assert_eq!(store.get_at_or_before(Column::Meta, b"0").unwrap(), None);
        let mut batch = WriteBatch::default();
        batch.delete(Column::Meta, b"a".to_vec());
        batch.put(Column::Meta, b"d".to_vec(), b"4".to_vec());
        batch.delete_range(Column::Meta, b"c".to_vec(), b"d".to_vec());
        store.write(batch).unwrap();
        let all = store.scan(Column::Meta, b"").unwrap();
        assert_eq!(all, vec![(b"d".to_vec(), b"4".to_vec())]);
        let mut batch = WriteBatch::default();
        batch.put(Column::Meta, b"da".to_vec(), b"5".to_vec());
        batch.put(Column::Meta, b"e".to_vec(), b"6".to_vec());
        store.write(batch).unwrap();
        assert_eq!(
            store.scan(Column::Meta, b"d").unwrap(),
            vec![
                (b"d".to_vec(), b"4".to_vec()),
                (b"da".to_vec(), b"5".to_vec())
            ]
        );
    }

    #[test]
    fn memory_store_behaves() {
        exercise(&MemoryStore::default());
    }
}
