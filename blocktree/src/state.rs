//! The state of a chain: what it holds (accounts, keyspaces, values), how those live in the
//! Jellyfish Merkle Tree, and how a transaction changes them: [`StateView`]'s
//! `apply_transaction` makes the sender pay, then hands the transaction to the module of its
//! kind (`crate::keyspace`, `crate::stake`, `crate::bounty`, `crate::endowment`; a transfer
//! here).

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use bitverse_keyspace::{KeyspaceName, home_candidates, key_address};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, codec};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, SimpleHasher, Version};
use serde::Serialize;

use crate::block::Anchor;
use crate::endowment::{
    EndowmentPool, anchored_key, block_release, claimed_key, earned_key, pool_key, released_key,
};
use crate::error::{
    AccountError, KeyspaceError, SandboxFailure, StatelessError, StoreError, TxError,
};
use crate::params::ChainParams;
use crate::scripts::BlockContext;
use crate::store::{Column, KvStore};
use crate::tx::{Transaction, TxPayload};

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

fn overflow<E>(_: E) -> TxError {
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
    fn registry_raw(&self, key: &KeyHash) -> Result<Option<Vec<u8>>, StoreError> {
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

    /// Records `anchor` as its child's latest, with the trail its headers leave
    /// ([`crate::anchoring::AnchorTrail`]), outside any transaction (a block's anchors, taken
    /// in the block at `height`). On the root, also adds it to the set of every anchor taken
    /// ([`anchored_key`], holding `height`), which miners' claims and deep values are checked
    /// against: since each anchor extends the one before, the set is one branch of the child.
    pub(crate) fn set_anchor_now(
        &mut self,
        anchor: &Anchor,
        trail: &crate::anchoring::AnchorTrail,
        height: u64,
    ) {
        self.changes
            .insert(anchor_key(&anchor.chain), Some(codec::encode(anchor)));
        self.changes.insert(
            crate::anchoring::anchor_trail_key(&anchor.chain),
            Some(codec::encode(trail)),
        );
        if self.chain.is_root() {
            self.changes
                .insert(anchored_key(anchor), Some(codec::encode(&height)));
        }
    }

    /// `chain`'s endowment pool: from this state on the root, from the relay parent's on a
    /// data chain.
    pub(crate) fn pool(&self, chain: &ChainId) -> Result<EndowmentPool, StoreError> {
        Ok(self
            .registry_raw(&pool_key(chain))?
            .map(|bytes| codec::decode(&bytes).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()?
            .unwrap_or_default())
    }

    /// What this data chain's blocks have released from its pool, in total.
    pub(crate) fn released(&self) -> Result<Amount, StoreError> {
        Ok(self.get_decoded(&released_key())?.unwrap_or(Amount::ZERO))
    }

    /// What `miner` has earned on this data chain, in total.
    pub(crate) fn earned(&self, miner: &AccountId) -> Result<Amount, StoreError> {
        Ok(self
            .get_decoded(&earned_key(miner))?
            .unwrap_or(Amount::ZERO))
    }

    /// What the root has paid `miner` for blocks of `chain`, in total.
    pub(crate) fn claimed(&self, chain: &ChainId, miner: &AccountId) -> Result<Amount, StoreError> {
        Ok(self
            .get_decoded(&claimed_key(chain, miner))?
            .unwrap_or(Amount::ZERO))
    }

    /// Pays a block's miner, outside any transaction: on the root the fees, the subsidy and
    /// what the block releases from the root's endowment pool; on a data chain (whose
    /// transactions carry no fee) what it releases from its pool, counted as the miner's
    /// earnings there, which the root pays on a claim (`crate::endowment`).
    pub(crate) fn pay_block_miner(
        &mut self,
        params: &ChainParams,
        miner: &AccountId,
        fees: Amount,
    ) -> Result<(), ApplyError> {
        let mut pool = self.pool(&self.chain)?;
        if self.chain.is_root() {
            let release = block_release(pool.deposited, pool.paid, params.endowment_release_shift);
            pool.paid = pool.paid.checked_add(release).map_err(overflow)?;
            if release > Amount::ZERO {
                self.pending
                    .insert(pool_key(&ChainId::ROOT), Some(codec::encode(&pool)));
            }
            let reward = fees
                .checked_add(params.block_subsidy)
                .and_then(|r| r.checked_add(release))
                .map_err(overflow)?;
            self.credit(miner, reward)?;
        } else {
            let released = self.released()?;
            let release = block_release(pool.deposited, released, params.endowment_release_shift);
            if release > Amount::ZERO {
                let released = released.checked_add(release).map_err(overflow)?;
                let earned = self.earned(miner)?.checked_add(release).map_err(overflow)?;
                self.pending
                    .insert(released_key(), Some(codec::encode(&released)));
                self.pending
                    .insert(earned_key(miner), Some(codec::encode(&earned)));
            }
        }
        let pending = std::mem::take(&mut self.pending);
        self.changes.extend(pending);
        Ok(())
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

    /// Applies one transaction whose signature has been checked, into the pending journal:
    /// the sender pays ([`StateView::charge_sender`]), then the module of the transaction's
    /// kind makes its change. Returns the fee, which the block pays to its miner.
    fn apply_transaction(
        &mut self,
        tx: &Transaction,
        ctx: &BlockContext<'_>,
        check_nonce: bool,
    ) -> Result<Amount, ApplyError> {
        let holding = self.charge_sender(tx, ctx, check_nonce)?;
        let body = &tx.body;
        let sender = &body.sender;
        match &body.payload {
            TxPayload::Transfer { to, amount } => self.transfer(sender, to, *amount)?,
            TxPayload::BuyKeyspace {
                name,
                owner,
                quota_bytes,
                prepaid,
                script,
                depth,
            } => crate::keyspace::buy(
                self,
                ctx,
                *sender,
                &crate::keyspace::Purchase {
                    name,
                    owner: *owner,
                    quota_bytes: *quota_bytes,
                    prepaid: *prepaid,
                    script: script.as_deref(),
                    depth: *depth,
                },
            )?,
            TxPayload::SetScript { keyspace, script } => {
                crate::keyspace::set_script(self, ctx, *sender, keyspace, script.as_deref())?
            }
            TxPayload::Put { key, value } => crate::keyspace::put(self, ctx, *sender, key, value)?,
            TxPayload::Delete { key } => crate::keyspace::delete(self, ctx, *sender, key)?,
            TxPayload::ClaimMinerReward { proof } => {
                crate::endowment::claim_miner_reward(self, ctx.params, proof)?
            }
            TxPayload::Stake { amount, role } => crate::stake::stake(self, sender, *role, *amount)?,
            TxPayload::Unstake { amount, role } => {
                crate::stake::unstake(self, ctx, sender, *role, *amount)?
            }
            TxPayload::PostBounty {
                amount,
                transform,
                inputs,
                args,
                pinned_height,
                hops,
                offerer,
                fuel_budget,
                expiry_height,
                deep_values,
                acceptance,
            } => crate::bounty::post_bounty(
                self,
                ctx,
                &crate::bounty::PostBounty {
                    id: tx.hash(),
                    requester: *sender,
                    amount: *amount,
                    holding,
                    transform,
                    inputs,
                    args,
                    pinned_height: *pinned_height,
                    hops: *hops,
                    offerer: *offerer,
                    fuel_budget: *fuel_budget,
                    expiry_height: *expiry_height,
                    deep_values,
                    accepted: acceptance.is_some(),
                },
            )?,
            TxPayload::LineupProof { proof } => crate::bounty::publish_lineup(self, ctx, proof)?,
            TxPayload::Settle { bounty, chain } => crate::bounty::settle(self, ctx, bounty, chain)?,
            TxPayload::Dispute {
                bounty,
                first,
                second,
            } => crate::bounty::dispute(self, ctx, bounty, [first.as_ref(), second.as_ref()])?,
        }
        Ok(body.fee)
    }

    /// Makes `tx`'s sender pay: checks its nonce (admission, which may hold later nonces,
    /// skips that with `check_nonce` off), then takes the fee and what the transaction moves
    /// out of the balance, refusing a sender that cannot pay, and counts the nonce. Returns a
    /// PostBounty's holding charge (part of what it paid), which goes into the root's pool.
    fn charge_sender(
        &mut self,
        tx: &Transaction,
        ctx: &BlockContext<'_>,
        check_nonce: bool,
    ) -> Result<Amount, ApplyError> {
        let body = &tx.body;
        let mut account = self.account(&body.sender)?;
        if check_nonce && body.nonce != account.nonce {
            return Err(AccountError::BadNonce {
                expected: account.nonce,
                got: body.nonce,
            }
            .into());
        }
        // What a bounty pays to be held until its expiry, beyond its amount.
        let holding = match &body.payload {
            TxPayload::PostBounty {
                expiry_height,
                deep_values,
                ..
            } => {
                crate::bounty::holding_charge(ctx.params, ctx.height, *expiry_height, deep_values)?
            }
            _ => Amount::ZERO,
        };
        let needed = spend(&body.payload, holding)?
            .checked_add(body.fee)
            .map_err(overflow)?;
        if account.balance < needed {
            return Err(AccountError::InsufficientBalance {
                account: body.sender,
                available: account.balance,
                needed,
            }
            .into());
        }
        account.balance = account.balance.checked_sub(needed).map_err(overflow)?;
        account.nonce = account.nonce.checked_add(1).ok_or(TxError::Overflow)?;
        // Written before the transaction's own change: a refusal there discards the whole
        // journal, this write with it.
        self.set_account(&body.sender, &account);
        Ok(holding)
    }

    /// Moves `amount` (already taken from `from`'s balance) to `to`, and adds it to the total
    /// `from` has paid `to`, which scripts read.
    fn transfer(
        &mut self,
        from: &AccountId,
        to: &AccountId,
        amount: Amount,
    ) -> Result<(), ApplyError> {
        self.credit(to, amount)?;
        let key = payment_key(from, to);
        let paid: Amount = self.get_decoded(&key)?.unwrap_or(Amount::ZERO);
        let paid = paid.checked_add(amount).map_err(overflow)?;
        self.pending.insert(key, Some(codec::encode(&paid)));
        Ok(())
    }

    /// Applies `tx` only if it is valid: on a refusal the view is left as it was. The
    /// transaction's writes go to a journal of their own first, merged only on success.
    pub(crate) fn try_apply_transaction(
        &mut self,
        tx: &Transaction,
        ctx: &BlockContext<'_>,
    ) -> Result<Amount, ApplyError> {
        self.pending.clear();
        let result = self.apply_transaction(tx, ctx, true);
        let pending = std::mem::take(&mut self.pending);
        if result.is_ok() {
            self.changes.extend(pending);
        }
        result
    }
}

impl StateView<'_> {
    /// Checks `tx` against this state as if it were the sender's next transaction, changing
    /// nothing: the mempool's admission check, which a later nonce cannot make exact.
    pub(crate) fn dry_run(
        &mut self,
        tx: &Transaction,
        ctx: &BlockContext<'_>,
    ) -> Result<(), ApplyError> {
        self.pending.clear();
        let result = self.apply_transaction(tx, ctx, false);
        self.pending.clear();
        result.map(|_| ())
    }
}

/// What `payload` moves out of its sender's balance besides the fee: the amount it sends,
/// stakes, prepays or escrows (with a bounty's `holding` charge).
fn spend(payload: &TxPayload, holding: Amount) -> Result<Amount, TxError> {
    Ok(match payload {
        TxPayload::Transfer { amount, .. } => *amount,
        TxPayload::BuyKeyspace { prepaid, .. } => *prepaid,
        TxPayload::Stake { amount, .. } => *amount,
        TxPayload::PostBounty { amount, .. } => amount.checked_add(holding).map_err(overflow)?,
        TxPayload::SetScript { .. }
        | TxPayload::LineupProof { .. }
        | TxPayload::Settle { .. }
        | TxPayload::Dispute { .. }
        | TxPayload::Put { .. }
        | TxPayload::Delete { .. }
        | TxPayload::Unstake { .. }
        | TxPayload::ClaimMinerReward { .. } => Amount::ZERO,
    })
}
