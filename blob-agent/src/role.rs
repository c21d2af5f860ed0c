//! The storer's role as a node runs it (`bitverse node --store`): the shard store in the data
//! directory behind the [`StorerService`], a [`ShardPlacement`] that reads the root chain, and
//! a keeper thread that declares the storer's capacity and peer id on the chain, confirms the
//! shards it holds with `ConfirmShards` receipts (at most 64 a transaction), and removes the
//! shards no longer placed on it (their blob ended, or the shard was drawn again elsewhere).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use bitverse_blocktree::blob::{RECEIPTS_PER_TX_MAX, ShardReceipt};
use bitverse_blocktree::{Blocktree, Transaction, TxPayload, UnsignedTx};
use bitverse_p2p::{P2pHandle, PeerRef, ShardRef};
use bitverse_pricing::TaskKind;
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey};
use bitverse_shard_store::{ShardId, ShardStore, ShardStoreConfig, StoreError};

use crate::storer::{ShardPlacement, StorerService};

/// The fee of the storer's own transactions.
const STORER_TX_FEE: Amount = Amount(1);
/// Stored shards waiting for the keeper; when full, the next look at the store finds them.
const STORED_QUEUE_MAX: usize = 4_096;
/// How often the keeper looks at the whole store and the chain (declaration, receipts not
/// yet included, shards to drop).
const KEEPER_LOOK_MS: u64 = 2_000;
/// A receipt sent but not yet included is sent again after this long.
const RECEIPT_RESEND_MS: u64 = 20_000;
/// How long the keeper gathers receipts before sending them, so one transaction carries many.
const RECEIPT_GATHER_MS: u64 = 200;

/// What the storer's role needs.
pub struct StorerConfig {
    /// The shard store's directory and capacity.
    pub store: ShardStoreConfig,
    /// The staked storer's key: it signs receipts and declarations.
    pub key: SecretKey,
}

/// The storer's placement check: the root chain at its tip.
struct ChainPlacement {
    tree: Arc<Blocktree>,
    account: AccountId,
}

impl ShardPlacement for ChainPlacement {
    fn check(&self, shard: ShardRef, root: Hash, size_bytes: u64) -> Result<(), String> {
        let chain = self.tree.root().lock();
        let height = chain.tip().height;
        let blob = chain
            .blob_at(&shard.blob, height)
            .map_err(|e| format!("cannot read the chain: {e}"))?
            .ok_or_else(|| format!("no blob {} on the chain", shard.blob))?;
        if !blob.status.is_live() {
            return Err(format!("blob {} has ended", shard.blob));
        }
        let placed = blob.shards.get(usize::from(shard.index));
        if placed.and_then(|s| s.storer) != Some(self.account) {
            return Err(format!(
                "shard {} of blob {} is not placed on storer {}",
                shard.index, shard.blob, self.account
            ));
        }
        let expected = blob.manifest.shard_roots.get(usize::from(shard.index));
        if expected != Some(&root) || blob.manifest.shard_size_bytes != size_bytes {
            return Err(format!(
                "shard {} of blob {} has another root or size in its manifest",
                shard.index, shard.blob
            ));
        }
        Ok(())
    }
}

/// The running role: the service the network answers shard requests with, and the keeper.
pub struct StorerRole {
    /// What the p2p service hands shard requests to.
    pub service: Arc<StorerService>,
    /// The shard store, for status.
    pub store: Arc<ShardStore>,
    keeper: Option<Keeper>,
}

struct Keeper {
    tree: Arc<Blocktree>,
    store: Arc<ShardStore>,
    key: SecretKey,
    account: AccountId,
    stored: Receiver<ShardId>,
    /// Receipts sent and not seen included yet, with when they were sent.
    sent: BTreeMap<ShardId, Instant>,
    /// The declaration last sent, and when.
    declared: Option<(u64, String, Instant)>,
}

impl StorerRole {
    /// Opens the store (finishing what a crash left) and makes the service.
    pub fn open(config: StorerConfig, tree: Arc<Blocktree>) -> Result<StorerRole, StoreError> {
        let (store, report) = ShardStore::open(config.store)?;
        tracing::info!(
            shards = report.shards,
            held_bytes = report.held_bytes,
            removed_files = report.removed_files,
            capacity_bytes = store.capacity_bytes(),
            "shard store opened"
        );
        let store = Arc::new(store);
        let account = config.key.account();
        let (stored_tx, stored): (SyncSender<ShardId>, Receiver<ShardId>) =
            sync_channel(STORED_QUEUE_MAX);
        let service = Arc::new(StorerService::new(
            store.clone(),
            Box::new(ChainPlacement {
                tree: tree.clone(),
                account,
            }),
            Box::new(move |id, _| {
                let _ = stored_tx.try_send(id);
            }),
        ));
        Ok(StorerRole {
            service,
            store: store.clone(),
            keeper: Some(Keeper {
                tree,
                store,
                key: config.key,
                account,
                stored,
                sent: BTreeMap::new(),
                declared: None,
            }),
        })
    }

    /// Runs the keeper until `stop` says so; blocks: run it on a blocking thread. `p2p` is the
    /// network the storer's transactions are published to, and where its peer id comes from.
    pub fn run_keeper(&mut self, p2p: P2pHandle, tx_admitted: impl Fn(), stop: impl Fn() -> bool) {
        let Some(mut keeper) = self.keeper.take() else {
            return;
        };
        let peer = p2p.local_peer();
        let mut last_look: Option<Instant> = None;
        while !stop() {
            let mut fresh: Vec<ShardId> = Vec::new();
            match keeper
                .stored
                .recv_timeout(Duration::from_millis(RECEIPT_GATHER_MS))
            {
                Ok(id) => {
                    fresh.push(id);
                    fresh.extend(keeper.stored.try_iter().take(STORED_QUEUE_MAX));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let look =
                last_look.is_none_or(|at| at.elapsed() >= Duration::from_millis(KEEPER_LOOK_MS));
            if look {
                last_look = Some(Instant::now());
                keeper.declare(peer, &p2p, &tx_admitted);
                fresh.extend(keeper.store.list().into_iter().map(|(id, _)| id));
            }
            if !fresh.is_empty() {
                keeper.confirm(fresh, look, &p2p, &tx_admitted);
            }
        }
    }
}

impl Keeper {
    /// Declares the store's capacity and this node's peer id if the chain holds other ones
    /// (and the account has storer stake: without it the chain refuses, so the keeper says
    /// so and waits).
    fn declare(&mut self, peer: PeerRef, p2p: &P2pHandle, tx_admitted: &impl Fn()) {
        let peer = peer.to_string();
        let capacity_bytes = self.store.capacity_bytes();
        let (record, declared_peer, stake) = {
            let chain = self.tree.root().lock();
            let height = chain.tip().height;
            (
                chain.storer_at(&self.account, height),
                chain.storer_peer_at(&self.account, height),
                chain.stake_at(&self.account, height),
            )
        };
        let (Ok(record), Ok(declared_peer), Ok(stake)) = (record, declared_peer, stake) else {
            return;
        };
        if record.capacity_bytes == capacity_bytes && declared_peer.as_deref() == Some(&peer) {
            return;
        }
        if stake.stake(TaskKind::Store) == Amount::ZERO {
            if self.declared.is_none() {
                tracing::warn!(account = %self.account, "no storer stake yet: stake with `bitverse stake AMOUNT --role storer --key …`; the node declares its capacity once it has");
                self.declared = Some((0, String::new(), Instant::now()));
            }
            return;
        }
        let resend = Duration::from_millis(RECEIPT_RESEND_MS);
        if let Some((bytes, sent_peer, at)) = &self.declared
            && *bytes == capacity_bytes
            && *sent_peer == peer
            && at.elapsed() < resend
        {
            return;
        }
        tracing::info!(capacity_bytes, %peer, "declaring storer capacity and peer id");
        self.send(
            TxPayload::DeclareCapacity {
                capacity_bytes,
                peer: peer.clone(),
            },
            p2p,
            tx_admitted,
        );
        self.declared = Some((capacity_bytes, peer, Instant::now()));
    }

    /// Sends receipts for the shards among `held` placed here and not confirmed yet (not
    /// again while one sent is pending), and, on a full look, removes held shards no longer
    /// placed here.
    fn confirm(
        &mut self,
        held: Vec<ShardId>,
        full_look: bool,
        p2p: &P2pHandle,
        tx_admitted: &impl Fn(),
    ) {
        let resend = Duration::from_millis(RECEIPT_RESEND_MS);
        let mut receipts: Vec<ShardReceipt> = Vec::new();
        let mut drop_ids: Vec<ShardId> = Vec::new();
        {
            let chain = self.tree.root().lock();
            let height = chain.tip().height;
            let mut blobs = BTreeMap::new();
            for id in held {
                let blob = blobs
                    .entry(id.blob)
                    .or_insert_with(|| chain.blob_at(&id.blob, height).ok().flatten());
                let placed = blob.as_ref().and_then(|b| {
                    let shard = b.shards.get(usize::from(id.index))?;
                    (b.status.is_live() && shard.storer == Some(self.account))
                        .then_some(shard.confirmed_height.is_some())
                });
                match placed {
                    Some(true) => {
                        self.sent.remove(&id);
                    }
                    Some(false) => {
                        let pending = self.sent.get(&id).is_some_and(|at| at.elapsed() < resend);
                        if !pending
                            && !receipts
                                .iter()
                                .any(|r| r.blob == id.blob && r.shard == id.index)
                        {
                            receipts.push(ShardReceipt {
                                blob: id.blob,
                                shard: id.index,
                            });
                        }
                    }
                    None if full_look && blob.is_some() => drop_ids.push(id),
                    None => {}
                }
            }
        }
        for id in drop_ids {
            // Its blob ended or the shard was drawn onto another storer: the room is freed.
            match self.store.remove(id) {
                Ok(true) => {
                    tracing::info!(shard = id.index, blob = %id.blob, "shard no longer placed here; removed")
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot remove a shard"),
            }
        }
        for batch in receipts.chunks(RECEIPTS_PER_TX_MAX) {
            for receipt in batch {
                self.sent.insert(
                    ShardId {
                        blob: receipt.blob,
                        index: receipt.shard,
                    },
                    Instant::now(),
                );
            }
            tracing::info!(receipts = batch.len(), "confirming shards on the chain");
            self.send(
                TxPayload::ConfirmShards {
                    receipts: batch.to_vec(),
                },
                p2p,
                tx_admitted,
            );
        }
    }

    /// Signs and submits a root transaction from the storer's key, and publishes it.
    fn send(&self, payload: TxPayload, p2p: &P2pHandle, tx_admitted: &impl Fn()) {
        let nonce = match self.tree.root().lock().pending_nonce(&self.account) {
            Ok(nonce) => nonce,
            Err(e) => {
                tracing::warn!(error = %e, "storer cannot read its nonce");
                return;
            }
        };
        let tx: Transaction = UnsignedTx {
            chain: ChainId::ROOT,
            sender: self.account,
            nonce,
            fee: STORER_TX_FEE,
            payload,
        }
        .sign(&self.key);
        let bytes = tx.to_bytes();
        match self.tree.submit(tx) {
            Ok(hash) => {
                tracing::info!(%hash, "storer transaction sent");
                tx_admitted();
                p2p.publish_transaction(ChainId::ROOT, bytes);
            }
            Err(e) => tracing::warn!(error = %e, "storer transaction refused"),
        }
    }
}
