//! An in-memory [`KvStore`] for unit tests and replays: one ordered map per column.

use std::collections::BTreeMap;
use std::ops::Bound;

use parking_lot::RwLock;

use super::{Column, Entry, KvStore, WriteBatch, WriteOp};

/// Each column's ordered map.
type Columns = BTreeMap<Column, BTreeMap<Vec<u8>, Vec<u8>>>;
use crate::error::StoreError;

/// A [`KvStore`] that lives and dies with the process.
#[derive(Default)]
pub struct MemoryStore {
    columns: RwLock<Columns>,
}

impl KvStore for MemoryStore {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .columns
            .read()
            .get(&column)
            .and_then(|c| c.get(key).cloned()))
    }

    fn get_at_or_before(&self, column: Column, key: &[u8]) -> Result<Option<Entry>, StoreError> {
        let columns = self.columns.read();
        Ok(columns.get(&column).and_then(|c| {
            c.range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
                .next_back()
                .map(|(k, v)| (k.clone(), v.clone()))
        }))
    }

    fn scan(&self, column: Column, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let columns = self.columns.read();
        Ok(columns
            .get(&column)
            .map(|c| {
                c.range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut columns = self.columns.write();
        for op in batch.ops {
            match op {
                WriteOp::Put(column, key, value) => {
                    columns.entry(column).or_default().insert(key, value);
                }
                WriteOp::Delete(column, key) => {
                    columns.entry(column).or_default().remove(&key);
                }
                WriteOp::DeleteRange(column, from, to) => {
                    let c = columns.entry(column).or_default();
                    let doomed: Vec<Vec<u8>> = c.range(from..to).map(|(k, _)| k.clone()).collect();
                    for key in doomed {
                        c.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }
}
