//! The state of a chain: what it holds (accounts, keyspaces, values), how those live in the
//! Jellyfish Merkle Tree, the [`StateView`] a block or a transaction is applied to, and the
//! update a block writes. Below the modules that change it (`crate::keyspace`,
//! `crate::stake`, `crate::bounty`, `crate::endowment`, `crate::anchoring`, each adding its
//! methods or functions over a `StateView`) and the dispatcher that hands a transaction to
//! them (`crate::apply`).

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use bitverse_keyspace::{KeyspaceName, home_candidates, key_address};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, codec};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, SimpleHasher, Version};
use serde::Serialize;

use crate::block::header::Anchor;
use crate::error::{
    ChainError, KeyspaceError, SandboxFailure, StatelessError, StoreError, TxError,
};
use crate::store::{Column, KvStore, WriteBatch};

/// An account's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct AccountState {
    /// Spendable balance.
    pub balance: Amount,
    /// Transactions sent so far; the next transaction carries this nonce.
    pub nonce: u64,
}

/// A registered keyspace.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct KeyspaceRecord {
    /// Its name.
    pub name: String,
    /// Who may write in it.
    pub owner: AccountId,
    /// Bytes of keys and values it may hold.
    pub quota_bytes: u64,
    /// Bytes of keys and values it holds.
    pub used_bytes: u64,
    /// What it prepaid at purchase into its chain's endowment pool
    /// ([`crate::endowment::EndowmentPool`]), which holds the money and pays the chain's miners.
    pub endowment: Amount,
    /// Hash of the validation script judging every write in it (the script's bytes live in
    /// state under [`script_key`]); `None` is owner-only.
    pub script_hash: Option<Hash>,
    /// Depth of the chain its keys live on (0: the root). On a data chain, `used_bytes` here
    /// stays 0: the chain's own state counts the bytes (under [`usage_key`]).
    pub depth: u8,
}

impl KeyspaceRecord {
    /// The chain this keyspace's keys live on: the first `depth` bits of its address.
    pub fn chain(&self) -> Option<ChainId> {
        chain_of_keyspace(&self.name, self.depth)
    }
}

/// The chain a keyspace named `name` bought at `depth` lives on: the first `depth` bits of
/// its address, which all its keys share (DESIGN §3).
pub fn chain_of_keyspace(name: &str, depth: u8) -> Option<ChainId> {
    let name = bitverse_keyspace::KeyspaceName::new(name).ok()?;
    ChainId::of_address(&bitverse_keyspace::key_address(&name, ""), depth)
}

/// BLAKE3 for the Jellyfish Merkle Tree.
pub struct Blake3Jmt(blake3::Hasher);

impl SimpleHasher for Blake3Jmt {
    fn new() -> Self {
        Blake3Jmt(blake3::Hasher::new())
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finalize(self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

/// Where an account lives in the state tree.
pub fn account_key(account: &AccountId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state account v1", &[&account.0]).0)
}

/// Where a keyspace's record lives in the state tree.
pub fn keyspace_key(name: &str) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state keyspace v1", &[name.as_bytes()]).0)
}

/// Where a validation script's bytes live in the state tree, by the script's hash: keyspaces
/// that share a script store it once.
pub fn script_key(script_hash: &Hash) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state script v1", &[&script_hash.0]).0)
}

/// Where the total `from` has paid to `to` by Transfer lives in the state tree: what
/// validation scripts read through `paid` (`docs/SCRIPTS.md`).
pub fn payment_key(from: &AccountId, to: &AccountId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state payment v1", &[&from.0, &to.0]).0)
}

/// Where a data chain counts the bytes a keyspace holds on it.
pub fn usage_key(keyspace: &str) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state usage v1", &[keyspace.as_bytes()]).0)
}

/// Where a chain keeps the latest anchor of its child `child`: what a proof of a deep value
/// walks down, one level at a time.
pub fn anchor_key(child: &ChainId) -> KeyHash {
    KeyHash(Hash::tagged("bitverse state anchor v1", &[&child.to_bytes()]).0)
}

/// Where a key's value lives in the state tree: the key's address (§3).
pub fn value_key(home: &KeyspaceName, key: &str) -> KeyHash {
    KeyHash(key_address(home, key))
}

/// jmt node keys are stored as version (big-endian) ‖ borsh(nibble path), so that every node of
/// one version sits in one range, which a rollback deletes at once.
pub(crate) fn node_key_bytes(node_key: &NodeKey) -> Result<Vec<u8>, StoreError> {
    let mut bytes = node_key.version().to_be_bytes().to_vec();
    let path = borsh::to_vec(node_key.nibble_path())
        .map_err(|e| StoreError::Corrupt(format!("node key: {e}")))?;
    bytes.extend_from_slice(&path);
    Ok(bytes)
}

/// The first node key of `version` in [`Column::StateNodes`].
pub(crate) fn version_start(version: Version) -> Vec<u8> {
    version.to_be_bytes().to_vec()
}

/// Key of a value version in [`Column::StateValues`].
pub(crate) fn value_version_key(key_hash: &KeyHash, version: Version) -> Vec<u8> {
    let mut bytes = key_hash.0.to_vec();
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes
}

/// Encoding of a value version: a tag byte (0 deleted, 1 present) and the bytes.
pub(crate) fn encode_value_version(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        None => vec![0],
        Some(v) => {
            let mut bytes = Vec::with_capacity(v.len().saturating_add(1));
            bytes.push(1);
            bytes.extend_from_slice(v);
            bytes
        }
    }
}

/// Reads the state tree out of a [`KvStore`]; jmt's interface to our storage.
pub(crate) struct StoreTreeReader<'a> {
    pub(crate) store: &'a dyn KvStore,
}

impl TreeReader for StoreTreeReader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let Some(bytes) = self
            .store
            .get(Column::StateNodes, &node_key_bytes(node_key)?)?
        else {
            return Ok(None);
        };
        Ok(Some(borsh::from_slice(&bytes)?))
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(read_value(self.store, max_version, &key_hash)?)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only jmt's state-restoration path asks for this; Bitverse syncs by replaying blocks.
        Ok(None)
    }
}

/// The newest value of `key_hash` at a version of at most `max_version`.
pub(crate) fn read_value(
    store: &dyn KvStore,
    max_version: Version,
    key_hash: &KeyHash,
) -> Result<Option<Vec<u8>>, StoreError> {
    let probe = value_version_key(key_hash, max_version);
    let Some((key, value)) = store.get_at_or_before(Column::StateValues, &probe)? else {
        return Ok(None);
    };
    if key.get(..32) != Some(&key_hash.0[..]) {
        return Ok(None);
    }
    match value.split_first() {
        Some((0, _)) => Ok(None),
        Some((1, rest)) => Ok(Some(rest.to_vec())),
        _ => Err(StoreError::Corrupt(
            "state value without a valid tag".into(),
        )),
    }
}

/// The root's committed state at one version: what a data chain reads the keyspace registry,
/// scripts and payments from (the state as of its block's relay parent).
#[derive(Clone, Copy)]
pub(crate) struct RootRead<'a> {
    pub(crate) store: &'a dyn KvStore,
    pub(crate) version: Version,
}

/// State as of a version, with uncommitted changes on top: what a block or a transaction is
/// applied to.
pub(crate) struct StateView<'a> {
    store: &'a dyn KvStore,
    /// The committed version reads fall through to; `None` before genesis.
    version: Option<Version>,
    changes: BTreeMap<KeyHash, Option<Vec<u8>>>,
    /// Writes of the transaction being applied, not yet part of `changes`.
    pending: BTreeMap<KeyHash, Option<Vec<u8>>>,
    /// The chain this is the state of.
    chain: ChainId,
    /// For a data chain, the root state it is validated against; `None` on the root, whose
    /// own state holds the registry.
    root: Option<RootRead<'a>>,
}

/// A failure while applying a transaction: either the transaction's fault or the store's.
#[derive(Debug)]
pub(crate) enum ApplyError {
    Tx(TxError),
    Store(StoreError),
    /// The node could not run a script: no verdict, see `ChainError::Sandbox`.
    Sandbox(SandboxFailure),
}

impl From<TxError> for ApplyError {
    fn from(e: TxError) -> Self {
        ApplyError::Tx(e)
    }
}

// A stage's refusal is the transaction's fault.
crate::error::tx_error_from_stages!(ApplyError);

impl From<SandboxFailure> for ApplyError {
    fn from(e: SandboxFailure) -> Self {
        ApplyError::Sandbox(e)
    }
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        ApplyError::Store(e)
    }
}

pub(crate) fn overflow<E>(_: E) -> TxError {
    TxError::Overflow
}

impl<'a> StateView<'a> {
    /// The root chain's state.
    pub(crate) fn new(store: &'a dyn KvStore, version: Option<Version>) -> StateView<'a> {
        StateView::of_chain(store, version, ChainId::ROOT, None)
    }

    /// The state of `chain`; a data chain reads the registry from `root`.
    pub(crate) fn of_chain(
        store: &'a dyn KvStore,
        version: Option<Version>,
        chain: ChainId,
        root: Option<RootRead<'a>>,
    ) -> StateView<'a> {
        StateView {
            store,
            version,
            changes: BTreeMap::new(),
            pending: BTreeMap::new(),
            chain,
            root,
        }
    }

    pub(crate) fn into_changes(self) -> BTreeMap<KeyHash, Option<Vec<u8>>> {
        self.changes
    }

    pub(crate) fn get_raw(&self, key: &KeyHash) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(change) = self.pending.get(key).or_else(|| self.changes.get(key)) {
            return Ok(change.clone());
        }
        match self.version {
            Some(version) => read_value(self.store, version, key),
            None => Ok(None),
        }
    }

    pub(crate) fn get_decoded<T: Decode<()>>(
        &self,
        key: &KeyHash,
    ) -> Result<Option<T>, StoreError> {
        self.get_raw(key)?
            .map(|bytes| codec::decode(&bytes).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// Writes `value` (`None`: deletes) at `key` in the pending journal of the transaction
    /// being applied; [`StateView::flush_pending`] makes it part of the block's changes
    /// outside a transaction.
    pub(crate) fn set_pending(&mut self, key: KeyHash, value: Option<Vec<u8>>) {
        self.pending.insert(key, value);
    }

    /// Writes `key` outside any transaction, straight into the block's changes (a block's
    /// anchors).
    pub(crate) fn set_now(&mut self, key: KeyHash, value: Option<Vec<u8>>) {
        self.changes.insert(key, value);
    }

    /// Discards the pending journal: a refused transaction's writes.
    pub(crate) fn clear_pending(&mut self) {
        self.pending.clear();
    }

    /// Makes the pending journal part of the block's changes: for writes made outside any
    /// transaction (rewards, releases).
    pub(crate) fn flush_pending(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.changes.extend(pending);
    }

    /// The chain this is the state of.
    pub(crate) fn chain(&self) -> ChainId {
        self.chain
    }

    /// The same chain's committed state at `version` (a root height of the branch this view
    /// builds on, at most its own version), without this view's changes: what a bounty reads
    /// its pinned height from.
    pub(crate) fn committed_at(&self, version: Version) -> StateView<'a> {
        StateView::of_chain(self.store, Some(version), self.chain, self.root)
    }

    pub(crate) fn account(&self, account: &AccountId) -> Result<AccountState, StoreError> {
        Ok(self.get_decoded(&account_key(account))?.unwrap_or_default())
    }

    pub(crate) fn set_account(&mut self, account: &AccountId, state: &AccountState) {
        self.pending
            .insert(account_key(account), Some(codec::encode(state)));
    }

    /// A root leaf: from this state on the root, from the relay parent's on a data chain.
    pub(crate) fn registry_raw(&self, key: &KeyHash) -> Result<Option<Vec<u8>>, StoreError> {
        match self.root {
            Some(root) => read_value(root.store, root.version, key),
            None => self.get_raw(key),
        }
    }

    pub(crate) fn keyspace(&self, name: &str) -> Result<Option<KeyspaceRecord>, StoreError> {
        self.registry_raw(&keyspace_key(name))?
            .map(|bytes| codec::decode(&bytes).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// The validation script stored under `script_hash`: from this state on the root, from
    /// the relay parent's on a data chain.
    pub(crate) fn script(&self, script_hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.registry_raw(&script_key(script_hash))
    }

    /// The latest anchor of `child` this chain's state holds.
    pub(crate) fn anchor(&self, child: &ChainId) -> Result<Option<Anchor>, StoreError> {
        self.get_decoded(&anchor_key(child))
    }

    /// Bytes `record`'s keyspace holds on this chain.
    pub(crate) fn used_bytes(&self, record: &KeyspaceRecord) -> Result<u64, StoreError> {
        if self.root.is_none() {
            return Ok(record.used_bytes);
        }
        Ok(self.get_decoded(&usage_key(&record.name))?.unwrap_or(0))
    }

    /// Sets the bytes `record`'s keyspace holds on this chain.
    pub(crate) fn set_used_bytes(&mut self, record: &mut KeyspaceRecord, used_bytes: u64) {
        if self.root.is_none() {
            record.used_bytes = used_bytes;
            self.set_keyspace(record);
        } else {
            self.pending
                .insert(usage_key(&record.name), Some(codec::encode(&used_bytes)));
        }
    }

    /// The home of `key` and its slot, refusing a key whose keyspace lives on another chain.
    pub(crate) fn home_here(
        &self,
        key: &str,
    ) -> Result<(KeyspaceName, KeyspaceRecord, KeyHash), ApplyError> {
        let (home, record) = self.home_of(key)?;
        let slot = value_key(&home, key);
        let home_chain = ChainId::of_address(&slot.0, record.depth).ok_or(TxError::Overflow)?;
        if home_chain != self.chain {
            return Err(KeyspaceError::KeyOnOtherChain {
                key: key.to_owned(),
                home: home_chain,
                here: self.chain,
            }
            .into());
        }
        Ok((home, record, slot))
    }

    pub(crate) fn set_keyspace(&mut self, record: &KeyspaceRecord) {
        self.pending
            .insert(keyspace_key(&record.name), Some(codec::encode(record)));
    }

    /// The registered keyspace that is home to `key`: the longest registered prefix.
    pub(crate) fn home_of(&self, key: &str) -> Result<(KeyspaceName, KeyspaceRecord), ApplyError> {
        let candidates = home_candidates(key).map_err(StatelessError::InvalidKey)?;
        for name in candidates {
            if let Some(record) = self.keyspace(name.as_str())? {
                return Ok((name, record));
            }
        }
        Err(KeyspaceError::UnknownKeyspace(key.to_owned()).into())
    }

    pub(crate) fn value(&self, key: &str) -> Result<Option<Vec<u8>>, ApplyError> {
        let (_, _, slot) = self.home_here(key)?;
        Ok(self.get_raw(&slot)?)
    }

    /// Credits `amount` to `account`, outside any transaction (the miner's reward).
    pub(crate) fn credit_now(
        &mut self,
        account: &AccountId,
        amount: Amount,
    ) -> Result<(), ApplyError> {
        self.credit(account, amount)?;
        let pending = std::mem::take(&mut self.pending);
        self.changes.extend(pending);
        Ok(())
    }

    /// Credits `amount` to `account` in the pending journal.
    pub(crate) fn credit(&mut self, account: &AccountId, amount: Amount) -> Result<(), ApplyError> {
        let mut state = self.account(account)?;
        state.balance = state.balance.checked_add(amount).map_err(overflow)?;
        self.set_account(account, &state);
        Ok(())
    }
}

/// A block's writes to state: each key's new value, `None` for a deletion.
type StateChanges = BTreeMap<KeyHash, Option<Vec<u8>>>;

/// What connecting a block writes to state, computed once whether the block was built here or
/// received.
pub(crate) struct StateUpdate {
    pub(crate) root: Hash,
    pub(crate) tree: TreeUpdateBatch,
    pub(crate) changed: Vec<KeyHash>,
}

pub(crate) fn compute_state_update(
    store: &dyn KvStore,
    changes: BTreeMap<KeyHash, Option<Vec<u8>>>,
    version: u64,
) -> Result<StateUpdate, StoreError> {
    let changed: Vec<KeyHash> = changes.keys().copied().collect();
    let reader = StoreTreeReader { store };
    let tree = JellyfishMerkleTree::<_, Blake3Jmt>::new(&reader);
    let (root, update) = match upserts_only(changes) {
        // One pass over the tree: each new node is built and hashed once. Inserting key by
        // key (`put_value_set`) rebuilds and rehashes every node on a key's path for each key,
        // so a block of n puts hashed its upper nodes n times, under the chain's lock
        // (`bench puts`, docs/BENCHMARKS.md, issue 17 §10). jmt builds the same tree
        // either way (its own test compares roots and node batches; ours,
        // `batched_and_key_by_key_updates_give_the_same_tree`).
        Ok(upserts) => tree
            .batch_put_value_sets(vec![upserts], None, version)
            .map(|(roots, update)| (roots.first().copied(), update)),
        // jmt's batch takes no deletions (nor an empty set): key by key, as before.
        Err(changes) => tree
            .put_value_set(changes, version)
            .map(|(root, update)| (Some(root), update)),
    }
    .map_err(|e| StoreError::Corrupt(format!("state tree: {e}")))?;
    let root = root.ok_or_else(|| StoreError::Corrupt("state tree: no root".into()))?;
    Ok(StateUpdate {
        root: Hash(root.0),
        tree: update,
        changed,
    })
}

/// `changes` as jmt's batch insertion takes them, when none is a deletion and there is at
/// least one; otherwise `changes` back.
fn upserts_only(changes: StateChanges) -> Result<Vec<(KeyHash, OwnedValue)>, StateChanges> {
    if changes.is_empty() || changes.values().any(Option::is_none) {
        return Err(changes);
    }
    Ok(changes
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)))
        .collect())
}

pub(crate) fn write_state_update(
    batch: &mut WriteBatch,
    update: &StateUpdate,
) -> Result<(), StoreError> {
    for (node_key, node) in update.tree.node_batch.nodes() {
        let bytes =
            borsh::to_vec(node).map_err(|e| StoreError::Corrupt(format!("state node: {e}")))?;
        batch.put(Column::StateNodes, node_key_bytes(node_key)?, bytes);
    }
    for ((version, key_hash), value) in update.tree.node_batch.values() {
        batch.put(
            Column::StateValues,
            value_version_key(key_hash, *version),
            encode_value_version(value.as_deref()),
        );
    }
    Ok(())
}

/// A chain's error for a failure while applying: the transaction's, the store's or the
/// sandbox's.
pub(crate) fn apply_to_chain_error(e: ApplyError) -> ChainError {
    match e {
        ApplyError::Tx(e) => ChainError::Tx(e),
        ApplyError::Store(e) => ChainError::Store(e),
        ApplyError::Sandbox(e) => ChainError::Sandbox(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn key(n: u64) -> KeyHash {
        KeyHash(Hash::digest(&n.to_le_bytes()).0)
    }

    /// Key by key, as every block was computed before the batch path.
    fn key_by_key(
        store: &dyn KvStore,
        changes: BTreeMap<KeyHash, Option<Vec<u8>>>,
        version: u64,
    ) -> (Hash, TreeUpdateBatch) {
        let reader = StoreTreeReader { store };
        let tree = JellyfishMerkleTree::<_, Blake3Jmt>::new(&reader);
        let (root, update) = tree.put_value_set(changes, version).unwrap();
        (Hash(root.0), update)
    }

    #[test]
    fn batched_and_key_by_key_updates_give_the_same_tree() {
        let batched = MemoryStore::default();
        let by_key = MemoryStore::default();
        // Versions of new keys, rewrites of old ones (same and new values), a deletion (the
        // key-by-key path), the deleted key back and a one-key set, over a tree that grows to a few thousand
        // leaves, so that leaves split into internal nodes at several depths.
        let mut next = 0u64;
        for version in 0..12u64 {
            let mut changes: BTreeMap<KeyHash, Option<Vec<u8>>> = BTreeMap::new();
            let fresh = if version % 4 == 3 { 1 } else { 400 };
            for _ in 0..fresh {
                changes.insert(key(next), Some(next.to_le_bytes().to_vec()));
                next += 1;
            }
            for old in (0..next).step_by(37) {
                changes.insert(key(old), Some(vec![version as u8; (old % 5) as usize + 1]));
            }
            match version {
                6 => {
                    changes.insert(key(5), None);
                }
                // The deleted key back.
                9 => {
                    changes.insert(key(5), Some(vec![9]));
                }
                // One key alone.
                11 => {
                    changes = BTreeMap::from([(key(1), Some(vec![11]))]);
                }
                _ => {}
            }
            let (root, tree) = key_by_key(&by_key, changes.clone(), version);
            let update = compute_state_update(&batched, changes, version).unwrap();
            assert_eq!(update.root, root, "version {version}");
            assert_eq!(update.tree, tree, "version {version}");
            let expected = StateUpdate {
                root,
                tree,
                changed: update.changed.clone(),
            };
            for (store, update) in [(&batched, &update), (&by_key, &expected)] {
                let mut batch = WriteBatch::default();
                write_state_update(&mut batch, update).unwrap();
                store.write(batch).unwrap();
            }
        }
    }
}
