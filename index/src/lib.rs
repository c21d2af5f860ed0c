//! Browse indexes: what `bitverse browse`, `bv_browse` and the explorer page list (keyspaces,
//! published transformations, the most written and most read keys, a keyspace's keys), built
//! by the node from the canonical blocks of every chain its `Blocktree` holds and kept in a
//! RocksDB database of its own beside the chain's (`DATA_DIR/browse`).
//!
//! The index follows each chain by canonical block: a cursor per chain names the last block
//! indexed (height and hash). A round reads the next blocks under the chain's lock, each
//! checked to extend the cursor; when the cursor's block is no longer on the best chain (a
//! reorg), everything derived from blocks is dropped and rebuilt from genesis, so the index is
//! never left describing a branch that lost. Read counts come from RPC, not from blocks, and
//! survive a rebuild. Every table has a named maximum; the index is outside consensus, so it
//! reads the chain but the chain never waits for it (`blocktree` knows nothing of browsing).

use bitverse_rpc_api::BROWSE_RESULTS_MAX;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use bitverse_blocktree::{Block, Blocktree, ChainError, TxPayload};
use bitverse_compute::transform::TransformRunner;
use bitverse_primitives::{AccountId, ChainId, Hash};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Subdirectory of the data directory holding the browse index's RocksDB database.
pub const BROWSE_DB_DIR: &str = "browse";
/// Most keyspaces the index lists; past it new keyspaces are not indexed (logged once).
pub const KEYSPACES_INDEXED_MAX: usize = 10_000;
/// Most keys whose writes are counted; past it the least written key makes room, and the
/// newcomer starts from its count plus one (space-saving counting: a count is then an upper
/// bound, and a key written more than the smallest count is never missed).
pub const WRITTEN_KEYS_COUNTED_MAX: usize = 10_000;
/// Most keys whose reads (`bv_getValue` answers with a value) are counted, as the written.
pub const READ_KEYS_COUNTED_MAX: usize = 10_000;
/// Most transformations listed; past it new ones are not indexed.
pub const TRANSFORMS_INDEXED_MAX: usize = 1_000;
/// Most keys listed per keyspace; past it the keyspace's list says it is truncated.
pub const KEYS_PER_KEYSPACE_INDEXED_MAX: usize = 1_000;
/// Most blocks one refresh indexes per chain, so one call never holds the index for long; the
/// follower comes back for the rest.
pub const BLOCKS_PER_REFRESH_MAX: u64 = 512;
/// The first bytes of every WebAssembly binary: only such values are checked as
/// transformations.
const WASM_MAGIC: &[u8] = b"\0asm";
/// The index's row format; another value in the store means it is rebuilt.
const INDEX_FORMAT_VERSION: u32 = 1;

/// Why the index failed: its store, or the chain it reads.
#[derive(Debug, thiserror::Error)]
pub enum BrowseError {
    /// The index's RocksDB failed.
    #[error("browse index store: {0}")]
    Store(#[from] rocksdb::Error),
    /// A row of the index could not be read back.
    #[error("browse index row {row:?} is corrupt: {reason}")]
    Corrupt {
        /// The row's key, as text.
        row: String,
        /// What was wrong.
        reason: String,
    },
    /// Reading the chain failed.
    #[error("reading the chain for the browse index: {0}")]
    Chain(#[from] ChainError),
}

/// The limits an index enforces: the named maxima, smaller in tests that reach them.
#[derive(Clone, Copy, Debug)]
pub struct BrowseLimits {
    /// See [`KEYSPACES_INDEXED_MAX`].
    pub keyspaces_max: usize,
    /// See [`WRITTEN_KEYS_COUNTED_MAX`].
    pub written_keys_max: usize,
    /// See [`READ_KEYS_COUNTED_MAX`].
    pub read_keys_max: usize,
    /// See [`TRANSFORMS_INDEXED_MAX`].
    pub transforms_max: usize,
    /// See [`KEYS_PER_KEYSPACE_INDEXED_MAX`].
    pub keys_per_keyspace_max: usize,
}

impl Default for BrowseLimits {
    fn default() -> Self {
        BrowseLimits {
            keyspaces_max: KEYSPACES_INDEXED_MAX,
            written_keys_max: WRITTEN_KEYS_COUNTED_MAX,
            read_keys_max: READ_KEYS_COUNTED_MAX,
            transforms_max: TRANSFORMS_INDEXED_MAX,
            keys_per_keyspace_max: KEYS_PER_KEYSPACE_INDEXED_MAX,
        }
    }
}

/// The last block indexed on one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: Hash,
}

/// One keyspace as the index lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyspaceEntry {
    /// Its name.
    pub name: String,
    /// Its owner, as the root's state has it at the last block indexed that touched it.
    pub owner: AccountId,
    /// Depth of the chain its keys live on.
    pub depth: u8,
    /// That chain: `root` or a bit string.
    pub chain: String,
    /// Its quota.
    pub quota_bytes: u64,
    /// Bytes it holds: the root's count for a root keyspace; for a deeper one, the sum over
    /// its indexed keys (a lower bound once its key list is truncated).
    pub size_bytes: u64,
    /// Hash of its validation script; none when owner-only.
    pub script_hash: Option<Hash>,
    /// Root height of the block that bought it.
    pub bought_height: u64,
    /// Height (on its chain) of the last block that wrote in it; none before any write.
    pub last_write_height: Option<u64>,
}

/// One published transformation: a key whose value is a module the transformation runner
/// accepts at upload (`docs/TRANSFORMS.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransformEntry {
    /// The key holding it.
    pub key: String,
    /// The chain the key lives on.
    pub chain: String,
    /// The module's hash, as requests name it.
    pub module_hash: Hash,
    /// The module's size.
    pub size_bytes: u64,
    /// Height of the block that wrote it.
    pub height: u64,
}

/// A key's write count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteCount {
    /// Puts and deletes counted (an upper bound once the table was full, see
    /// [`WRITTEN_KEYS_COUNTED_MAX`]).
    pub count: u64,
    /// The chain the key lives on.
    pub chain: String,
    /// Height of the last block that wrote it.
    pub last_write_height: u64,
}

/// Counts with a bound: the map, and the same entries ordered by count so the smallest is
/// found in `O(log n)` when a newcomer needs room.
#[derive(Debug, Default)]
struct BoundedCounts {
    counts: BTreeMap<String, u64>,
    by_count: BTreeSet<(u64, String)>,
}

impl BoundedCounts {
    /// Adds one to `key`'s count; when `key` is new and the table holds `max`, the key with
    /// the smallest count is evicted (returned) and `key` starts from that count plus one.
    fn bump(&mut self, key: &str, max: usize) -> (u64, Option<String>) {
        let mut evicted = None;
        let previous = match self.counts.get(key) {
            Some(count) => *count,
            None if self.counts.len() >= max => match self.by_count.pop_first() {
                Some((smallest, victim)) => {
                    self.counts.remove(&victim);
                    evicted = Some(victim);
                    smallest
                }
                None => return (0, None),
            },
            None => 0,
        };
        self.by_count.remove(&(previous, key.to_owned()));
        let count = previous.saturating_add(1);
        self.counts.insert(key.to_owned(), count);
        self.by_count.insert((count, key.to_owned()));
        (count, evicted)
    }

    fn insert(&mut self, key: String, count: u64) {
        if let Some(old) = self.counts.insert(key.clone(), count) {
            self.by_count.remove(&(old, key.clone()));
        }
        self.by_count.insert((count, key));
    }

    fn clear(&mut self) {
        self.counts.clear();
        self.by_count.clear();
    }

    /// The `limit` largest counts whose key contains `search` (lowercase; see [`matches`]),
    /// largest first.
    fn top(&self, search: &str, limit: usize) -> Vec<(String, u64)> {
        self.by_count
            .iter()
            .rev()
            .filter(|(_, key)| matches(key, search))
            .take(limit)
            .map(|(count, key)| (key.clone(), *count))
            .collect()
    }
}

/// Everything the index holds, in memory; the store mirrors it row by row.
#[derive(Debug, Default)]
struct IndexState {
    cursors: BTreeMap<String, Cursor>,
    keyspaces: BTreeMap<String, KeyspaceEntry>,
    written: BoundedCounts,
    written_detail: BTreeMap<String, WriteCount>,
    read: BoundedCounts,
    transforms: BTreeMap<String, TransformEntry>,
    /// Per keyspace, its keys and the bytes each holds (key and value, as quotas count).
    keys: BTreeMap<String, BTreeMap<String, u64>>,
    /// Keyspaces some of whose keys were not listed for want of room.
    keys_truncated: BTreeSet<String>,
    /// Rows changed since the last write to the store.
    dirty: BTreeSet<Row>,
    /// Whether a table's maximum was reached and logged, so it is logged once.
    full_logged: BTreeSet<&'static str>,
}

/// A row of the store, by table and key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    Cursor(String),
    Keyspace(String),
    Written(String),
    Read(String),
    Transform(String),
    Key(String, String),
    Truncated(String),
}

const ROW_VERSION: &[u8] = b"v";
const PREFIX_CURSOR: &[u8] = b"c/";
const PREFIX_KEYSPACE: &[u8] = b"k/";
const PREFIX_WRITTEN: &[u8] = b"w/";
const PREFIX_READ: &[u8] = b"r/";
const PREFIX_TRANSFORM: &[u8] = b"t/";
const PREFIX_KEY: &[u8] = b"n/";
const PREFIX_TRUNCATED: &[u8] = b"x/";
/// Between a keyspace and a key in a key row: keyspace names and keys never hold a NUL.
const KEY_ROW_SEPARATOR: u8 = 0;

impl Row {
    fn bytes(&self) -> Vec<u8> {
        let (prefix, text) = match self {
            Row::Cursor(t) => (PREFIX_CURSOR, t.as_str()),
            Row::Keyspace(t) => (PREFIX_KEYSPACE, t.as_str()),
            Row::Written(t) => (PREFIX_WRITTEN, t.as_str()),
            Row::Read(t) => (PREFIX_READ, t.as_str()),
            Row::Transform(t) => (PREFIX_TRANSFORM, t.as_str()),
            Row::Truncated(t) => (PREFIX_TRUNCATED, t.as_str()),
            Row::Key(keyspace, key) => {
                let mut bytes = PREFIX_KEY.to_vec();
                bytes.extend_from_slice(keyspace.as_bytes());
                bytes.push(KEY_ROW_SEPARATOR);
                bytes.extend_from_slice(key.as_bytes());
                return bytes;
            }
        };
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(text.as_bytes());
        bytes
    }
}

impl IndexState {
    /// The row's value as it should be stored, or `None` when the row is gone.
    fn row_value(&self, row: &Row) -> Option<Vec<u8>> {
        match row {
            Row::Cursor(c) => self.cursors.get(c).map(to_json),
            Row::Keyspace(k) => self.keyspaces.get(k).map(to_json),
            Row::Written(k) => self.written_detail.get(k).map(to_json),
            Row::Read(k) => self.read.counts.get(k).map(|v| v.to_le_bytes().to_vec()),
            Row::Transform(k) => self.transforms.get(k).map(to_json),
            Row::Key(keyspace, key) => self
                .keys
                .get(keyspace)
                .and_then(|keys| keys.get(key))
                .map(|v| v.to_le_bytes().to_vec()),
            Row::Truncated(k) => self.keys_truncated.contains(k).then(Vec::new),
        }
    }

    /// Drops everything derived from blocks (a reorg, or a format change); read counts stay.
    fn clear_blocks(&mut self) {
        let rows: Vec<Row> = self
            .cursors
            .keys()
            .map(|c| Row::Cursor(c.clone()))
            .chain(self.keyspaces.keys().map(|k| Row::Keyspace(k.clone())))
            .chain(self.written_detail.keys().map(|k| Row::Written(k.clone())))
            .chain(self.transforms.keys().map(|k| Row::Transform(k.clone())))
            .chain(self.keys.iter().flat_map(|(keyspace, keys)| {
                keys.keys()
                    .map(|key| Row::Key(keyspace.clone(), key.clone()))
            }))
            .chain(
                self.keys_truncated
                    .iter()
                    .map(|k| Row::Truncated(k.clone())),
            )
            .collect();
        self.dirty.extend(rows);
        self.cursors.clear();
        self.keyspaces.clear();
        self.written.clear();
        self.written_detail.clear();
        self.transforms.clear();
        self.keys.clear();
        self.keys_truncated.clear();
    }

    fn log_full_once(&mut self, table: &'static str, max: usize) {
        if self.full_logged.insert(table) {
            tracing::warn!(
                table,
                max,
                "browse index table full; further entries not indexed"
            );
        }
    }
}

/// A row's value as JSON: the index is outside consensus and its rows are small.
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and numbers always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

/// What `bv_browse` lists (see `rpc_api::BrowseResult` for the wire form).
#[derive(Clone, Debug, Default)]
pub struct BrowseLists {
    /// Keyspaces whose name or owner contains the search text, newest purchase first.
    pub keyspaces: Vec<KeyspaceEntry>,
    /// Transformations whose key contains the search text, newest first.
    pub transforms: Vec<TransformEntry>,
    /// The most read keys containing the search text, with their counts.
    pub most_read: Vec<(String, u64)>,
    /// The most written keys containing the search text.
    pub most_written: Vec<(String, WriteCount)>,
    /// How far the index has read each chain.
    pub indexed: Vec<(String, Cursor)>,
}

/// The browse index: in memory, mirrored to its own RocksDB (none in unit tests of other
/// modules, which need an index but not its persistence).
pub struct BrowseIndex {
    db: Option<rocksdb::DB>,
    limits: BrowseLimits,
    state: Mutex<IndexState>,
    /// Serialises refreshes, so two callers never index the same block twice.
    refreshing: Mutex<()>,
    /// Serialises writes to the store, so a row's older value is never written after a newer
    /// one taken by a concurrent flush.
    flushing: Mutex<()>,
    /// Checks values as transformations, as an upload would; it caches compiled modules by
    /// hash (bounded by the sandbox's own cache).
    transforms: Option<TransformRunner>,
}

impl BrowseIndex {
    /// Opens (or creates) the index in `dir`, loading its rows; a store of another format is
    /// emptied, and the next refresh rebuilds it.
    pub fn open(dir: &Path, limits: BrowseLimits) -> Result<BrowseIndex, BrowseError> {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        let db = rocksdb::DB::open(&options, dir)?;
        let index = BrowseIndex::with_db(Some(db), limits);
        index.load()?;
        Ok(index)
    }

    /// An index kept in memory only.
    #[cfg(any(test, feature = "test-support"))]
    pub fn in_memory(limits: BrowseLimits) -> BrowseIndex {
        BrowseIndex::with_db(None, limits)
    }

    fn with_db(db: Option<rocksdb::DB>, limits: BrowseLimits) -> BrowseIndex {
        let transforms = match TransformRunner::new() {
            Ok(runner) => Some(runner),
            Err(e) => {
                tracing::error!(error = %e, "no transformation runner: transformations are not indexed");
                None
            }
        };
        BrowseIndex {
            db,
            limits,
            state: Mutex::new(IndexState::default()),
            refreshing: Mutex::new(()),
            flushing: Mutex::new(()),
            transforms,
        }
    }

    /// Loads the rows; a store that is missing its version, of another format, or holding a
    /// row that does not decode is emptied instead (the index is derived data: refresh
    /// rebuilds it from the chains, and only read counts are lost).
    fn load(&self) -> Result<(), BrowseError> {
        let Some(db) = &self.db else { return Ok(()) };
        let expected = INDEX_FORMAT_VERSION.to_le_bytes();
        if db.get(ROW_VERSION)?.as_deref() == Some(&expected[..]) {
            let mut loaded = IndexState::default();
            let mut outcome = Ok(());
            for item in db.iterator(rocksdb::IteratorMode::Start) {
                let (key, value) = item?;
                outcome = load_row(&mut loaded, &key, &value);
                if outcome.is_err() {
                    break;
                }
            }
            match outcome {
                Ok(()) => {
                    *self.state.lock() = loaded;
                    return Ok(());
                }
                Err(e @ BrowseError::Corrupt { .. }) => {
                    tracing::warn!(error = %e, "browse index unreadable: rebuilding it");
                }
                Err(e) => return Err(e),
            }
        }
        let mut batch = rocksdb::WriteBatch::default();
        for item in db.iterator(rocksdb::IteratorMode::Start) {
            let (key, _) = item?;
            batch.delete(key);
        }
        batch.put(ROW_VERSION, expected);
        db.write(batch)?;
        Ok(())
    }

    /// Counts one read of `key` (a `bv_getValue` that found a value).
    pub fn count_read(&self, key: &str) {
        let mut state = self.state.lock();
        let (_, evicted) = state.read.bump(key, self.limits.read_keys_max);
        if let Some(evicted) = evicted {
            state.dirty.insert(Row::Read(evicted));
        }
        state.dirty.insert(Row::Read(key.to_owned()));
    }

    /// Indexes the blocks each chain of `tree` gained since the last refresh (at most
    /// [`BLOCKS_PER_REFRESH_MAX`] per chain), rebuilding from genesis after a reorg, and
    /// writes what changed to the store. Returns whether every chain is indexed to its tip.
    pub fn refresh(&self, tree: &Blocktree) -> Result<bool, BrowseError> {
        let _one_at_a_time = self.refreshing.lock();
        let mut caught_up = true;
        let chains: Vec<ChainId> = std::iter::once(ChainId::ROOT)
            .chain(tree.data_chains())
            .collect();
        for chain_id in chains {
            match self.follow_chain(tree, chain_id)? {
                Followed::CaughtUp => {}
                Followed::More => caught_up = false,
                Followed::Reorganised => {
                    tracing::info!(chain = %chain_id, "reorg: rebuilding the browse index");
                    self.state.lock().clear_blocks();
                    caught_up = false;
                    break;
                }
            }
        }
        self.flush()?;
        Ok(caught_up)
    }

    /// Indexes up to [`BLOCKS_PER_REFRESH_MAX`] blocks of one chain.
    fn follow_chain(&self, tree: &Blocktree, chain_id: ChainId) -> Result<Followed, BrowseError> {
        let Some(chain) = tree.chain(chain_id) else {
            return Ok(Followed::CaughtUp);
        };
        let name = chain_id.to_string();
        for _ in 0..BLOCKS_PER_REFRESH_MAX {
            let cursor = self.state.lock().cursors.get(&name).copied();
            // The cursor's check and the next block are read under one hold of the chain's
            // lock, so the block read extends the branch the cursor is on.
            let next = {
                let chain = chain.lock();
                let next_height = match cursor {
                    Some(cursor) => {
                        let on_best = chain
                            .header_at(cursor.height)?
                            .is_some_and(|h| h.hash() == cursor.hash);
                        if !on_best {
                            return Ok(Followed::Reorganised);
                        }
                        cursor.height.saturating_add(1)
                    }
                    None => 0,
                };
                if next_height > chain.tip().height {
                    return Ok(Followed::CaughtUp);
                }
                chain.block_at(next_height)?
            };
            let Some(block) = next else {
                return Ok(Followed::CaughtUp);
            };
            if let Some(cursor) = cursor
                && block.header.parent != cursor.hash
            {
                return Ok(Followed::Reorganised);
            }
            self.index_block(tree, &block)?;
        }
        Ok(Followed::More)
    }

    /// Adds one canonical block to the index and moves its chain's cursor.
    fn index_block(&self, tree: &Blocktree, block: &Block) -> Result<(), BrowseError> {
        let chain_name = block.header.chain.to_string();
        let height = block.header.height;
        // Keyspace homes and records come from the root's tip, read under one hold of its lock
        // per block (not one per write, which would contend with the sealer under load) and
        // before the index is locked.
        let mut touched_keyspaces = BTreeSet::new();
        let mut writes: Vec<(String, String, Option<usize>, Option<Hash>)> = Vec::new();
        // Values that may be transformations, checked (compiled) once the root is released.
        let mut modules: Vec<(usize, &[u8])> = Vec::new();
        let records = {
            let root = tree.root().lock();
            let mut registered = BTreeMap::new();
            for tx in &block.transactions {
                match &tx.body.payload {
                    TxPayload::BuyKeyspace { name, .. } => {
                        touched_keyspaces.insert(name.clone());
                    }
                    TxPayload::SetScript { keyspace, .. } => {
                        touched_keyspaces.insert(keyspace.clone());
                    }
                    TxPayload::Put { key, value } => {
                        writes.push((
                            home_of(&root, key, &mut registered),
                            key.clone(),
                            Some(value.len()),
                            None,
                        ));
                        modules.push((writes.len() - 1, value.as_slice()));
                    }
                    TxPayload::Delete { key } => {
                        writes.push((
                            home_of(&root, key, &mut registered),
                            key.clone(),
                            None,
                            None,
                        ));
                    }
                    // The key's value becomes the manifest's canonical bytes.
                    TxPayload::RegisterBlob { key, manifest, .. } => {
                        let size = manifest.encode().len();
                        writes.push((
                            home_of(&root, key, &mut registered),
                            key.clone(),
                            Some(size),
                            None,
                        ));
                    }
                    TxPayload::Transfer { .. }
                    | TxPayload::ClaimMinerReward { .. }
                    | TxPayload::Stake { .. }
                    | TxPayload::Unstake { .. }
                    | TxPayload::PostBounty { .. }
                    | TxPayload::LineupProof { .. }
                    | TxPayload::Settle { .. }
                    | TxPayload::Dispute { .. }
                    | TxPayload::DeclareCapacity { .. }
                    | TxPayload::ConfirmShards { .. }
                    | TxPayload::ProveShards { .. }
                    | TxPayload::PostChallenge { .. }
                    | TxPayload::ClaimChallenge { .. } => {}
                }
            }
            for (home, _, _, _) in &writes {
                touched_keyspaces.insert(home.clone());
            }
            let mut records = Vec::new();
            for name in &touched_keyspaces {
                if let Some(record) = root.keyspace(name)? {
                    records.push(record);
                }
            }
            records
        };
        for (position, value) in modules {
            let hash = self.transform_hash(value);
            if let Some(write) = writes.get_mut(position) {
                write.3 = hash;
            }
        }

        let limits = self.limits;
        let mut state = self.state.lock();
        let state = &mut *state;
        for record in records {
            let name = record.name.clone();
            let known = state.keyspaces.contains_key(&name);
            if !known && state.keyspaces.len() >= limits.keyspaces_max {
                state.log_full_once("keyspaces", limits.keyspaces_max);
                continue;
            }
            let chain = record
                .chain()
                .map_or_else(|| "root".to_owned(), |c| c.to_string());
            let entry = state
                .keyspaces
                .entry(name.clone())
                .or_insert_with(|| KeyspaceEntry {
                    name: name.clone(),
                    owner: record.owner,
                    depth: record.depth,
                    chain,
                    quota_bytes: 0,
                    size_bytes: 0,
                    script_hash: None,
                    bought_height: if block.header.chain.is_root() {
                        height
                    } else {
                        0
                    },
                    last_write_height: None,
                });
            entry.owner = record.owner;
            entry.depth = record.depth;
            entry.quota_bytes = record.quota_bytes;
            entry.script_hash = record.script_hash;
            if record.depth == 0 {
                entry.size_bytes = record.used_bytes;
            }
            state.dirty.insert(Row::Keyspace(name));
        }
        for (home, key, value_len, transform) in writes {
            let (_, evicted) = state.written.bump(&key, limits.written_keys_max);
            if let Some(evicted) = evicted {
                state.written_detail.remove(&evicted);
                state.dirty.insert(Row::Written(evicted));
            }
            let count = state.written.counts.get(&key).copied().unwrap_or(0);
            state.written_detail.insert(
                key.clone(),
                WriteCount {
                    count,
                    chain: chain_name.clone(),
                    last_write_height: height,
                },
            );
            state.dirty.insert(Row::Written(key.clone()));

            let entry_bytes = value_len.map(|len| (key.len() as u64).saturating_add(len as u64));
            let keys = state.keys.entry(home.clone()).or_default();
            match entry_bytes {
                Some(bytes)
                    if keys.contains_key(&key) || keys.len() < limits.keys_per_keyspace_max =>
                {
                    keys.insert(key.clone(), bytes);
                }
                Some(_) => {
                    state.keys_truncated.insert(home.clone());
                    state.dirty.insert(Row::Truncated(home.clone()));
                }
                None => {
                    keys.remove(&key);
                }
            }
            state.dirty.insert(Row::Key(home.clone(), key.clone()));
            if let Some(entry) = state.keyspaces.get_mut(&home) {
                entry.last_write_height = Some(height);
                if entry.depth > 0 {
                    entry.size_bytes = state.keys.get(&home).map_or(0, |keys| {
                        keys.values().fold(0u64, |a, b| a.saturating_add(*b))
                    });
                }
                state.dirty.insert(Row::Keyspace(home.clone()));
            }

            match (transform, value_len) {
                (Some(module_hash), Some(len)) => {
                    if state.transforms.contains_key(&key)
                        || state.transforms.len() < limits.transforms_max
                    {
                        state.transforms.insert(
                            key.clone(),
                            TransformEntry {
                                key: key.clone(),
                                chain: chain_name.clone(),
                                module_hash,
                                size_bytes: len as u64,
                                height,
                            },
                        );
                    } else {
                        state.log_full_once("transforms", limits.transforms_max);
                    }
                }
                _ => {
                    state.transforms.remove(&key);
                }
            }
            state.dirty.insert(Row::Transform(key));
        }
        state.cursors.insert(
            chain_name.clone(),
            Cursor {
                height,
                hash: block.hash(),
            },
        );
        state.dirty.insert(Row::Cursor(chain_name));
        Ok(())
    }

    /// The module hash of `value` when it is a transformation the runner accepts at upload.
    fn transform_hash(&self, value: &[u8]) -> Option<Hash> {
        if !value.starts_with(WASM_MAGIC) {
            return None;
        }
        self.transforms.as_ref()?.check_upload(value).ok()
    }

    /// Writes the changed rows to the store in one batch.
    pub fn flush(&self) -> Result<(), BrowseError> {
        let _one_at_a_time = self.flushing.lock();
        let mut state = self.state.lock();
        let dirty = std::mem::take(&mut state.dirty);
        let Some(db) = &self.db else { return Ok(()) };
        if dirty.is_empty() {
            return Ok(());
        }
        let mut batch = rocksdb::WriteBatch::default();
        for row in &dirty {
            match state.row_value(row) {
                Some(value) => batch.put(row.bytes(), value),
                None => batch.delete(row.bytes()),
            }
        }
        drop(state);
        db.write(batch)?;
        Ok(())
    }

    /// The lists, each filtered by `search` (a substring of names, owners and keys, ASCII case
    /// ignored; empty matches all) and cut to `limit` entries (at most [`BROWSE_RESULTS_MAX`]).
    pub fn lists(&self, search: &str, limit: usize) -> BrowseLists {
        let limit = limit.min(BROWSE_RESULTS_MAX);
        let search = search.to_ascii_lowercase();
        let state = self.state.lock();
        let mut keyspaces: Vec<KeyspaceEntry> = state
            .keyspaces
            .values()
            .filter(|k| matches(&k.name, &search) || matches(&k.owner.to_string(), &search))
            .cloned()
            .collect();
        // Newest purchase first: bought heights are all root heights, so they compare (last
        // write heights are each on the keyspace's own chain, and do not).
        keyspaces.sort_by(|a, b| (b.bought_height, &a.name).cmp(&(a.bought_height, &b.name)));
        keyspaces.truncate(limit);
        let mut transforms: Vec<TransformEntry> = state
            .transforms
            .values()
            .filter(|t| matches(&t.key, &search))
            .cloned()
            .collect();
        transforms.sort_by(|a, b| (b.height, &a.key).cmp(&(a.height, &b.key)));
        transforms.truncate(limit);
        let most_written = state
            .written
            .top(&search, limit)
            .into_iter()
            .filter_map(|(key, _)| {
                let detail = state.written_detail.get(&key)?.clone();
                Some((key, detail))
            })
            .collect();
        BrowseLists {
            keyspaces,
            transforms,
            most_read: state.read.top(&search, limit),
            most_written,
            indexed: state
                .cursors
                .iter()
                .map(|(chain, cursor)| (chain.clone(), *cursor))
                .collect(),
        }
    }

    /// The keys of `keyspace` the index lists, in key order from `after` (exclusive), at most
    /// `limit` (at most [`BROWSE_RESULTS_MAX`]); and whether the index's list is truncated.
    pub fn keyspace_keys(
        &self,
        keyspace: &str,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<(String, u64)>, bool) {
        let limit = limit.min(BROWSE_RESULTS_MAX);
        let state = self.state.lock();
        let keys = state
            .keys
            .get(keyspace)
            .map(|keys| {
                keys.iter()
                    .filter(|(key, _)| after.is_none_or(|after| key.as_str() > after))
                    .take(limit)
                    .map(|(key, bytes)| (key.clone(), *bytes))
                    .collect()
            })
            .unwrap_or_default();
        (keys, state.keys_truncated.contains(keyspace))
    }
}

/// The keyspace a written key belongs to, as the root's tip registers it. A key whose home the
/// tip does not know (its purchase undone by a root reorg the data chain has not followed yet)
/// is filed under its first path segment rather than stopping the index.
///
/// The home is the key's longest prefix that is a registered keyspace (as `Chain::home_of`
/// finds it). `registered` remembers, for one block, which prefixes are registered, so a
/// block's many keys of one keyspace cost one lookup between them rather than one each, under
/// the root's lock that the sealer waits on; it holds at most the prefixes of one block's keys.
fn home_of(
    root: &bitverse_blocktree::Chain,
    key: &str,
    registered: &mut BTreeMap<String, bool>,
) -> String {
    let first_segment = || key.split('/').next().unwrap_or(key).to_owned();
    let mut rest = key;
    while let Some((prefix, _)) = rest.rsplit_once('/') {
        let is_registered = match registered.get(prefix) {
            Some(known) => *known,
            None => match root.keyspace(prefix) {
                Ok(record) => {
                    registered.insert(prefix.to_owned(), record.is_some());
                    record.is_some()
                }
                Err(_) => return first_segment(),
            },
        };
        if is_registered {
            return prefix.to_owned();
        }
        rest = prefix;
    }
    first_segment()
}

/// Whether `text` contains `search_lowercase`, ignoring ASCII case (names and keys are
/// mostly ASCII; `--search Erik` finds `erik/…`).
fn matches(text: &str, search_lowercase: &str) -> bool {
    search_lowercase.is_empty() || text.to_ascii_lowercase().contains(search_lowercase)
}

/// How far one chain was followed.
enum Followed {
    CaughtUp,
    More,
    Reorganised,
}

fn corrupt(key: &[u8], reason: impl std::fmt::Display) -> BrowseError {
    BrowseError::Corrupt {
        row: String::from_utf8_lossy(key).into_owned(),
        reason: reason.to_string(),
    }
}

fn text_after(key: &[u8], prefix: &[u8]) -> Result<String, BrowseError> {
    let rest = key.get(prefix.len()..).unwrap_or_default();
    String::from_utf8(rest.to_vec()).map_err(|e| corrupt(key, e))
}

fn json_row<T: serde::de::DeserializeOwned>(key: &[u8], value: &[u8]) -> Result<T, BrowseError> {
    serde_json::from_slice(value).map_err(|e| corrupt(key, e))
}

fn u64_row(key: &[u8], value: &[u8]) -> Result<u64, BrowseError> {
    let bytes: [u8; 8] = value.try_into().map_err(|e| corrupt(key, e))?;
    Ok(u64::from_le_bytes(bytes))
}

fn load_row(state: &mut IndexState, key: &[u8], value: &[u8]) -> Result<(), BrowseError> {
    if key == ROW_VERSION {
        return Ok(());
    }
    if key.starts_with(PREFIX_CURSOR) {
        let chain = text_after(key, PREFIX_CURSOR)?;
        state.cursors.insert(chain, json_row(key, value)?);
    } else if key.starts_with(PREFIX_KEYSPACE) {
        let name = text_after(key, PREFIX_KEYSPACE)?;
        state.keyspaces.insert(name, json_row(key, value)?);
    } else if key.starts_with(PREFIX_WRITTEN) {
        let name = text_after(key, PREFIX_WRITTEN)?;
        let detail: WriteCount = json_row(key, value)?;
        state.written.insert(name.clone(), detail.count);
        state.written_detail.insert(name, detail);
    } else if key.starts_with(PREFIX_READ) {
        let name = text_after(key, PREFIX_READ)?;
        state.read.insert(name, u64_row(key, value)?);
    } else if key.starts_with(PREFIX_TRANSFORM) {
        let name = text_after(key, PREFIX_TRANSFORM)?;
        state.transforms.insert(name, json_row(key, value)?);
    } else if key.starts_with(PREFIX_TRUNCATED) {
        state
            .keys_truncated
            .insert(text_after(key, PREFIX_TRUNCATED)?);
    } else if key.starts_with(PREFIX_KEY) {
        let rest = text_after(key, PREFIX_KEY)?;
        let (keyspace, name) = rest
            .split_once(char::from(KEY_ROW_SEPARATOR))
            .ok_or_else(|| corrupt(key, "no separator"))?;
        state
            .keys
            .entry(keyspace.to_owned())
            .or_default()
            .insert(name.to_owned(), u64_row(key, value)?);
    } else {
        return Err(corrupt(key, "unknown table"));
    }
    Ok(())
}

/// Keeps the index following the chains: a refresh at each new root head (data chains' blocks
/// are anchored by root blocks, in `--dev` at once) and every `BROWSE_FOLLOW_POLL_MS` besides,
/// until `stop`; and a last flush, so read counts survive the restart.
pub async fn follow(
    index: Arc<BrowseIndex>,
    tree: Arc<Blocktree>,
    metrics: Arc<bitverse_metrics::NodeMetrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut heads = metrics.subscribe_heads();
    loop {
        let (refreshing_index, refreshing_tree) = (index.clone(), tree.clone());
        let refreshed =
            tokio::task::spawn_blocking(move || refreshing_index.refresh(&refreshing_tree)).await;
        let caught_up = match refreshed {
            Ok(Ok(caught_up)) => caught_up,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "browse index refresh failed");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "browse index task failed");
                true
            }
        };
        if *stop.borrow() {
            break;
        }
        if caught_up {
            tokio::select! {
                // A lagging receiver only means heads were missed: the refresh reads the chains.
                _ = heads.recv() => {}
                () = tokio::time::sleep(std::time::Duration::from_millis(BROWSE_FOLLOW_POLL_MS)) => {}
                _ = stop.changed() => break,
            }
        }
    }
    let flushing = index.clone();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || flushing.flush()).await {
        tracing::error!(error = %e, "browse index flush at stop failed");
    }
}

/// How often the follower refreshes without a new head: data chains' blocks without a root
/// block, and read counts to write out.
pub const BROWSE_FOLLOW_POLL_MS: u64 = 1_000;

#[cfg(test)]
mod tests {
    use super::*;
    use bitverse_blocktree::{ChainParams, Tracking, UnsignedTx};
    use bitverse_primitives::{Amount, SecretKey};

    /// A transformation as docs/TRANSFORMS.md describes it: it copies nothing and succeeds.
    const TRANSFORM_WAT: &str = r#"(module
      (import "bitverse_transform_v1" "output_write" (func $output_write (param i32 i32)))
      (memory (export "memory") 1)
      (func (export "transform") (result i32) (call $output_write (i32.const 0) (i32.const 0)) (i32.const 0)))"#;

    /// A dev blocktree in memory, alice writing, blocks sealed as the dev sealer does.
    struct Rig {
        tree: Blocktree,
        alice: SecretKey,
        /// The last block's time; each block is a second later.
        time_ms: std::cell::Cell<u64>,
    }

    impl Rig {
        fn new() -> Rig {
            Rig {
                tree: Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap(),
                alice: SecretKey::dev("alice"),
                time_ms: std::cell::Cell::new(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_millis()
                        .try_into()
                        .unwrap(),
                ),
            }
        }

        fn submit(&self, chain: ChainId, payload: TxPayload) {
            let nonce = match self.tree.chain(chain) {
                Some(c) => c.lock().pending_nonce(&self.alice.account()).unwrap(),
                None => 0,
            };
            let fee = if chain.is_root() {
                Amount(1)
            } else {
                Amount(0)
            };
            let tx = UnsignedTx {
                chain,
                sender: self.alice.account(),
                nonce,
                fee,
                payload,
            }
            .sign(&self.alice);
            self.tree.submit(tx).unwrap();
        }

        fn buy(&self, name: &str, depth: u8) {
            self.submit(
                ChainId::ROOT,
                TxPayload::BuyKeyspace {
                    name: name.into(),
                    owner: self.alice.account(),
                    quota_bytes: 100_000,
                    prepaid: Amount(256 * 100_000),
                    script: None,
                    depth,
                },
            );
            self.seal();
        }

        fn put(&self, key: &str, value: &[u8]) {
            let chain = self.tree.chain_of_key(key).unwrap();
            self.submit(
                chain,
                TxPayload::Put {
                    key: key.into(),
                    value: value.to_vec(),
                },
            );
            self.seal();
        }

        fn seal(&self) {
            self.time_ms.set(self.time_ms.get() + 1_000);
            self.tree
                .seal_dev(SecretKey::dev("miner").account(), self.time_ms.get())
                .unwrap();
        }
    }

    fn caught_up(index: &BrowseIndex, tree: &Blocktree) {
        for _ in 0..16 {
            if index.refresh(tree).unwrap() {
                return;
            }
        }
        panic!("the index did not catch up in 16 refreshes");
    }

    fn names(lists: &BrowseLists) -> Vec<&str> {
        lists.keyspaces.iter().map(|k| k.name.as_str()).collect()
    }

    #[test]
    fn keyspaces_keys_and_write_counts_follow_sealed_blocks() {
        let rig = Rig::new();
        rig.buy("alice", 0);
        rig.put("alice/a", b"one");
        rig.put("alice/a", b"two!");
        rig.put("alice/b", b"x");
        let index = BrowseIndex::in_memory(BrowseLimits::default());
        caught_up(&index, &rig.tree);
        let lists = index.lists("", 10);
        assert_eq!(names(&lists), ["alice"]);
        let alice = &lists.keyspaces[0];
        let record = rig.tree.root().lock().keyspace("alice").unwrap().unwrap();
        assert_eq!(alice.owner, rig.alice.account());
        assert_eq!((alice.depth, alice.chain.as_str()), (0, "root"));
        assert_eq!(alice.size_bytes, record.used_bytes);
        assert_eq!(
            alice.size_bytes,
            ("alice/a".len() + 4 + "alice/b".len() + 1) as u64
        );
        assert_eq!(alice.script_hash, None);
        assert_eq!(alice.bought_height, 1);
        assert_eq!(alice.last_write_height, Some(4));
        let written: Vec<(&str, u64)> = lists
            .most_written
            .iter()
            .map(|(k, w)| (k.as_str(), w.count))
            .collect();
        assert_eq!(written, [("alice/a", 2), ("alice/b", 1)]);
        let (keys, truncated) = index.keyspace_keys("alice", None, 10);
        assert_eq!(
            keys,
            [("alice/a".to_owned(), 11u64), ("alice/b".to_owned(), 8u64)]
        );
        assert!(!truncated);
        let (after_a, _) = index.keyspace_keys("alice", Some("alice/a"), 10);
        assert_eq!(after_a, [("alice/b".to_owned(), 8u64)]);
        assert_eq!(
            lists.indexed,
            [(
                "root".to_owned(),
                Cursor {
                    height: 4,
                    hash: rig.tree.root().lock().tip().hash
                }
            )]
        );
        // Search filters every list.
        let none = index.lists("nobody", 10);
        assert!(none.keyspaces.is_empty() && none.most_written.is_empty());
        assert_eq!(index.lists("alice/b", 10).most_written.len(), 1);
        assert_eq!(
            names(&index.lists("ALICE", 10)),
            ["alice"],
            "case is ignored"
        );
    }

    #[test]
    fn a_deep_keyspace_lists_its_chain_and_the_bytes_of_its_keys() {
        let rig = Rig::new();
        rig.buy("deep", 1);
        rig.put("deep/k", b"value");
        let index = BrowseIndex::in_memory(BrowseLimits::default());
        caught_up(&index, &rig.tree);
        let lists = index.lists("deep", 10);
        let deep = &lists.keyspaces[0];
        let chain = rig.tree.chain_of_key("deep/k").unwrap();
        assert_eq!((deep.depth, deep.chain.clone()), (1, chain.to_string()));
        assert_eq!(deep.size_bytes, ("deep/k".len() + 5) as u64);
        assert_eq!(deep.last_write_height, Some(1), "height on its own chain");
        assert_eq!(lists.most_written[0].1.chain, chain.to_string());
        assert!(lists.indexed.iter().any(|(c, _)| *c == chain.to_string()));
    }

    #[test]
    fn a_transformation_module_is_listed_until_its_key_holds_something_else() {
        let rig = Rig::new();
        rig.buy("tools", 0);
        let module = wat::parse_str(TRANSFORM_WAT).unwrap();
        rig.put("tools/nothing", &module);
        // WebAssembly that is not a transformation (no `transform` export) is not listed.
        rig.put("tools/plain", &wat::parse_str("(module)").unwrap());
        let index = BrowseIndex::in_memory(BrowseLimits::default());
        caught_up(&index, &rig.tree);
        let transforms = index.lists("", 10).transforms;
        assert_eq!(transforms.len(), 1);
        assert_eq!(transforms[0].key, "tools/nothing");
        assert_eq!(transforms[0].size_bytes, module.len() as u64);
        assert_eq!(
            transforms[0].module_hash,
            TransformRunner::new()
                .unwrap()
                .check_upload(&module)
                .unwrap()
        );
        rig.put("tools/nothing", b"not a module any more");
        caught_up(&index, &rig.tree);
        assert!(index.lists("", 10).transforms.is_empty());
    }

    #[test]
    fn a_reorg_rebuilds_the_index_without_the_losing_branch() {
        let rig = Rig::new();
        rig.buy("loser", 0);
        rig.put("loser/x", b"gone after the reorg");
        let index = BrowseIndex::in_memory(BrowseLimits::default());
        caught_up(&index, &rig.tree);
        index.count_read("loser/x");
        assert_eq!(names(&index.lists("", 10)), ["loser"]);

        // Another node's longer branch from genesis, without any of it.
        let other = Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap();
        let miner = SecretKey::dev("bob").account();
        let start_ms = rig.time_ms.get() - 2_000;
        let mut branch = Vec::new();
        for i in 1..=3 {
            let mut root = other.root().lock();
            let block = root
                .produce_block(miner, start_ms + i * 1_000, true, u64::MAX)
                .unwrap()
                .unwrap();
            branch.push(block);
        }
        for block in branch {
            rig.tree.import(block, rig.time_ms.get() + 10_000).unwrap();
        }
        assert_eq!(
            rig.tree.root().lock().tip().height,
            3,
            "the longer branch won"
        );

        caught_up(&index, &rig.tree);
        let lists = index.lists("", 10);
        assert!(lists.keyspaces.is_empty(), "{:?}", lists.keyspaces);
        assert!(lists.most_written.is_empty());
        assert!(index.keyspace_keys("loser", None, 10).0.is_empty());
        assert_eq!(lists.indexed[0].1.hash, rig.tree.root().lock().tip().hash);
        // Reads were served by this node whatever the chain: they stay.
        assert_eq!(lists.most_read, [("loser/x".to_owned(), 1)]);
    }

    #[test]
    fn the_index_survives_a_restart_catches_up_and_is_rebuilt_when_missing() {
        let rig = Rig::new();
        rig.buy("kept", 0);
        rig.put("kept/a", b"1");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(BROWSE_DB_DIR);
        let before = {
            let index = BrowseIndex::open(&path, BrowseLimits::default()).unwrap();
            caught_up(&index, &rig.tree);
            index.count_read("kept/a");
            index.count_read("kept/a");
            index.flush().unwrap();
            index.lists("", 10)
        };
        // Reopened: the same lists before any refresh, read counts included.
        let index = BrowseIndex::open(&path, BrowseLimits::default()).unwrap();
        let reopened = index.lists("", 10);
        assert_eq!(reopened.keyspaces, before.keyspaces);
        assert_eq!(reopened.most_read, [("kept/a".to_owned(), 2)]);
        assert_eq!(reopened.indexed, before.indexed);
        // Behind: the chain moved while it was closed.
        drop(index);
        rig.put("kept/b", b"2");
        let index = BrowseIndex::open(&path, BrowseLimits::default()).unwrap();
        caught_up(&index, &rig.tree);
        let behind = index.lists("", 10);
        assert_eq!(behind.most_written.len(), 2);
        assert_eq!(behind.keyspaces[0].last_write_height, Some(3));
        drop(index);
        // Missing: rebuilt from the chains alone.
        std::fs::remove_dir_all(&path).unwrap();
        let index = BrowseIndex::open(&path, BrowseLimits::default()).unwrap();
        assert!(index.lists("", 10).keyspaces.is_empty());
        caught_up(&index, &rig.tree);
        let rebuilt = index.lists("", 10);
        assert_eq!(rebuilt.keyspaces, behind.keyspaces);
        assert_eq!(rebuilt.most_written, behind.most_written);
        assert_eq!(rebuilt.indexed, behind.indexed);
        assert!(rebuilt.most_read.is_empty());
    }

    #[test]
    fn an_unreadable_index_is_emptied_and_rebuilt_rather_than_stopping_the_node() {
        let rig = Rig::new();
        rig.buy("sound", 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(BROWSE_DB_DIR);
        let index = BrowseIndex::open(&path, BrowseLimits::default()).unwrap();
        caught_up(&index, &rig.tree);
        let before = index.lists("", 10);
        drop(index);
        {
            let db = rocksdb::DB::open_default(&path).unwrap();
            db.put(b"k/sound", b"{not json").unwrap();
        }
        let index = BrowseIndex::open(&path, BrowseLimits::default()).unwrap();
        assert!(
            index.lists("", 10).keyspaces.is_empty(),
            "the bad store was emptied"
        );
        caught_up(&index, &rig.tree);
        assert_eq!(index.lists("", 10).keyspaces, before.keyspaces);
        drop(index);
        // And what it rebuilt is what a later start loads.
        let index = BrowseIndex::open(&path, BrowseLimits::default()).unwrap();
        assert_eq!(index.lists("", 10).keyspaces, before.keyspaces);
    }

    #[test]
    fn full_tables_stop_growing_at_their_maxima() {
        let rig = Rig::new();
        rig.buy("first", 0);
        rig.buy("second", 0);
        rig.put("first/a", b"1");
        rig.put("first/b", b"2");
        let limits = BrowseLimits {
            keyspaces_max: 1,
            written_keys_max: 1,
            read_keys_max: 1,
            transforms_max: 1,
            keys_per_keyspace_max: 1,
        };
        let index = BrowseIndex::in_memory(limits);
        caught_up(&index, &rig.tree);
        let lists = index.lists("", 10);
        assert_eq!(names(&lists), ["first"]);
        let (keys, truncated) = index.keyspace_keys("first", None, 10);
        assert_eq!(keys.len(), 1);
        assert!(truncated);
        // One write counter: first/b evicted first/a (count 1) and starts at 2.
        let written: Vec<(&str, u64)> = lists
            .most_written
            .iter()
            .map(|(k, w)| (k.as_str(), w.count))
            .collect();
        assert_eq!(written, [("first/b", 2)]);
        index.count_read("first/a");
        index.count_read("first/b");
        assert_eq!(index.lists("", 10).most_read, [("first/b".to_owned(), 2)]);
    }

    #[test]
    fn bounded_counts_keep_the_most_counted_keys() {
        let mut counts = BoundedCounts::default();
        for _ in 0..5 {
            counts.bump("hot", 2);
        }
        counts.bump("warm", 2);
        counts.bump("warm", 2);
        let (count, evicted) = counts.bump("new", 2);
        assert_eq!((count, evicted.as_deref()), (3, Some("warm")));
        assert_eq!(counts.counts.len(), 2);
        assert_eq!(
            counts.top("", 10),
            [("hot".to_owned(), 5), ("new".to_owned(), 3)]
        );
        assert_eq!(counts.top("ne", 10), [("new".to_owned(), 3)]);
    }

    #[test]
    fn a_lists_limit_is_capped_at_the_results_maximum() {
        let rig = Rig::new();
        rig.buy("many", 0);
        let index = BrowseIndex::in_memory(BrowseLimits::default());
        caught_up(&index, &rig.tree);
        for i in 0..(BROWSE_RESULTS_MAX + 5) {
            index.count_read(&format!("many/{i}"));
        }
        assert_eq!(
            index.lists("", usize::MAX).most_read.len(),
            BROWSE_RESULTS_MAX
        );
    }
}
