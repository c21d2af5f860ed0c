//! One chain's part of a shared store: every key of the chain is stored behind the chain's
//! prefix in each column family, so the chains of a blocktree share one RocksDB (and one
//! column family per concern), each chain's keys one contiguous range.

use std::sync::Arc;

use super::{Column, Entry, KvStore, WriteBatch, WriteOp};
use crate::error::StoreError;

/// A view of `inner` in which every key carries `prefix`, invisibly.
pub struct PrefixedStore {
    inner: Arc<dyn KvStore>,
    prefix: Vec<u8>,
}

impl PrefixedStore {
    /// The part of `inner` behind `prefix`. No prefix may be a prefix of another's (fixed-width
    /// prefixes, as chain ids encode, guarantee it), or one chain would see another's keys.
    pub fn new(inner: Arc<dyn KvStore>, prefix: Vec<u8>) -> PrefixedStore {
        PrefixedStore { inner, prefix }
    }

    fn key(&self, key: &[u8]) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.prefix.len().saturating_add(key.len()));
        full.extend_from_slice(&self.prefix);
        full.extend_from_slice(key);
        full
    }

    fn strip(&self, (key, value): Entry) -> Option<Entry> {
        key.strip_prefix(self.prefix.as_slice())
            .map(|rest| (rest.to_vec(), value))
    }
}

impl KvStore for PrefixedStore {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(column, &self.key(key))
    }

    fn get_at_or_before(&self, column: Column, key: &[u8]) -> Result<Option<Entry>, StoreError> {
        // An entry before our range belongs to another chain: none of ours is at or before.
        Ok(self
            .inner
            .get_at_or_before(column, &self.key(key))?
            .and_then(|entry| self.strip(entry)))
    }

    fn scan(&self, column: Column, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        Ok(self
            .inner
            .scan(column, &self.key(prefix))?
            .into_iter()
            .filter_map(|entry| self.strip(entry))
            .collect())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut prefixed = WriteBatch::default();
        for op in batch.ops {
            match op {
                WriteOp::Put(column, key, value) => prefixed.put(column, self.key(&key), value),
                WriteOp::Delete(column, key) => prefixed.delete(column, self.key(&key)),
                WriteOp::DeleteRange(column, from, to) => {
                    prefixed.delete_range(column, self.key(&from), self.key(&to))
                }
            }
        }
        self.inner.write(prefixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn chains_sharing_a_store_never_see_each_other() {
        let shared: Arc<dyn KvStore> = Arc::new(MemoryStore::default());
        let a = PrefixedStore::new(shared.clone(), vec![0, 1]);
        let b = PrefixedStore::new(shared.clone(), vec![0, 2]);
        for (store, value) in [(&a, b"a".to_vec()), (&b, b"b".to_vec())] {
            let mut batch = WriteBatch::default();
            batch.put(Column::Meta, b"k".to_vec(), value);
            batch.put(Column::Meta, b"m".to_vec(), b"x".to_vec());
            store.write(batch).unwrap();
        }
        assert_eq!(a.get(Column::Meta, b"k").unwrap(), Some(b"a".to_vec()));
        assert_eq!(b.get(Column::Meta, b"k").unwrap(), Some(b"b".to_vec()));
        assert_eq!(a.scan(Column::Meta, b"").unwrap().len(), 2);
        // Nothing of a's at or before "j": the entry before it in the shared store is not a's.
        assert_eq!(b.get_at_or_before(Column::Meta, b"j").unwrap(), None);
        assert_eq!(
            b.get_at_or_before(Column::Meta, b"l").unwrap(),
            Some((b"k".to_vec(), b"b".to_vec()))
        );
        let mut batch = WriteBatch::default();
        batch.delete_range(Column::Meta, b"a".to_vec(), b"z".to_vec());
        a.write(batch).unwrap();
        assert!(a.scan(Column::Meta, b"").unwrap().is_empty());
        assert_eq!(b.scan(Column::Meta, b"").unwrap().len(), 2);
    }
}
