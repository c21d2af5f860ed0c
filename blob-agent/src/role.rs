//! The storer's role as a node runs it (`bitverse node --store`): the shard store in the data
//! directory behind the [`StorerService`], a [`ShardPlacement`] that reads the root chain, and
//! a keeper thread that declares the storer's capacity and peer id on the chain, confirms the
//! shards it holds with `ConfirmShards` receipts (at most 64 a transaction), answers the
//! chain's audits of its shards with `ProveShards` (each proof made from the disk, so a shard
//! lost or rotten fails its audit), claims its publishers' challenges with `ClaimChallenge`
//! (each key derived from the whole shard as the disk holds it), rebuilds the shards the chain re-placed on it for repair
//! from k other shards (one at a time, on a thread of its own), and removes the shards no
//! longer placed on it (their blob ended, or the shard was drawn again elsewhere).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use bitverse_blocktree::blob::{
    RECEIPTS_PER_TX_MAX, SHARD_PROOFS_PER_TX_MAX, ShardProof, ShardReceipt,
};
use bitverse_blocktree::{Blocktree, Transaction, TxPayload, UnsignedTx};
use bitverse_p2p::{P2pHandle, PeerRef, ShardRef};
use bitverse_pricing::TaskKind;
use bitverse_primitives::{AccountId, Amount, ChainId, Hash, SecretKey};
use bitverse_shard_store::{ShardId, ShardStore, ShardStoreConfig, StoreError};
use bitverse_storage::{challenge_secret, claim_message};

use crate::fetch::ShardSource;
use crate::repair::rebuild_shard;
use crate::storer::{NotPlaced, ShardPlacement, StorerService};

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
/// A proof sent but not yet included is sent again after this long (an audit's deadline is
/// tens of blocks away).
const PROOF_RESEND_MS: u64 = 10_000;
/// Challenges claimed at most on one look: each reads its whole shard from disk.
const CLAIMS_PER_LOOK_MAX: usize = 4;
/// Root blocks looked back at a start for repairs placed here while the node was down: the
/// confirmation deadline on every network is shorter.
const REPAIR_LOOKBACK_BLOCKS_MAX: u64 = 1_000;

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
    fn check(&self, shard: ShardRef, root: Hash, size_bytes: u64) -> Result<(), NotPlaced> {
        let chain = self.tree.root().lock();
        let height = chain.tip().height;
        let blob = chain
            .blob_at(&shard.blob, height)
            .map_err(|e| NotPlaced::NotYet(format!("cannot read the chain: {e}")))?
            .ok_or_else(|| NotPlaced::NotYet(format!("no blob {} on the chain yet", shard.blob)))?;
        if !blob.status.is_live() {
            return Err(NotPlaced::Refused(format!("blob {} has ended", shard.blob)));
        }
        let placed = blob.shards.get(usize::from(shard.index));
        if placed.and_then(|s| s.storer) != Some(self.account) {
            return Err(NotPlaced::Refused(format!(
                "shard {} of blob {} is not placed on storer {}",
                shard.index, shard.blob, self.account
            )));
        }
        let expected = blob.manifest.shard_roots.get(usize::from(shard.index));
        if expected != Some(&root) || blob.manifest.shard_size_bytes != size_bytes {
            return Err(NotPlaced::Refused(format!(
                "shard {} of blob {} has another root or size in its manifest",
                shard.index, shard.blob
            )));
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
    /// Proofs sent and not seen included yet: (blob, shard, audit height) and when.
    proved: BTreeMap<(Hash, u8, u64), Instant>,
    /// Claims sent and not seen included yet: (blob, shard, nonce) and when.
    claimed: BTreeMap<(Hash, u8, Hash), Instant>,
    /// The last root height whose placements were looked at for repairs.
    repairs_scanned: Option<u64>,
    /// The repair running, if any: its shard, and the thread rebuilding it (which says
    /// whether it stored the shard).
    repairing: Option<(ShardId, std::thread::JoinHandle<bool>)>,
    /// Shards whose rebuild failed, and when: tried again after [`RECEIPT_RESEND_MS`].
    repair_failed: BTreeMap<ShardId, Instant>,
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
                proved: BTreeMap::new(),
                claimed: BTreeMap::new(),
                repairs_scanned: None,
                repairing: None,
                repair_failed: BTreeMap::new(),
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
                keeper.answer_audits(&p2p, &tx_admitted);
                keeper.claim_challenges(&p2p, &tx_admitted);
                keeper.start_repairs(&p2p);
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

    /// Answers the chain's pending audits of this storer's shards: each proof is made from the
    /// disk (a shard lost or rotten makes none, and its audit fails), at most
    /// [`SHARD_PROOFS_PER_TX_MAX`] a transaction, not again while one sent is pending.
    fn answer_audits(&mut self, p2p: &P2pHandle, tx_admitted: &impl Fn()) {
        let audits = {
            let chain = self.tree.root().lock();
            let height = chain.tip().height;
            chain.pending_audits_of_storer_at(&self.account, height)
        };
        let audits = match audits {
            Ok(audits) => audits,
            Err(e) => {
                tracing::warn!(error = %e, "storer cannot read its audits");
                return;
            }
        };
        let resend = Duration::from_millis(PROOF_RESEND_MS);
        self.proved.retain(|(blob, shard, height), at| {
            at.elapsed() < resend
                && audits
                    .iter()
                    .any(|a| a.blob == *blob && a.shard == *shard && a.audit_height == *height)
        });
        let mut proofs: Vec<ShardProof> = Vec::new();
        for audit in audits {
            let key = (audit.blob, audit.shard, audit.audit_height);
            if self.proved.contains_key(&key) {
                continue;
            }
            let id = ShardId {
                blob: audit.blob,
                index: audit.shard,
            };
            match self.store.prove(id, audit.range.clone()) {
                Ok(proof) => proofs.push(ShardProof {
                    blob: audit.blob,
                    shard: audit.shard,
                    audit_height: audit.audit_height,
                    proof,
                }),
                Err(e) => {
                    tracing::warn!(%id, error = %e, deadline = audit.deadline_height, "cannot prove an audited shard: the audit will fail")
                }
            }
        }
        for batch in proofs.chunks(SHARD_PROOFS_PER_TX_MAX) {
            for proof in batch {
                self.proved.insert(
                    (proof.blob, proof.shard, proof.audit_height),
                    Instant::now(),
                );
            }
            tracing::info!(proofs = batch.len(), "answering audits on the chain");
            self.send(
                TxPayload::ProveShards {
                    proofs: batch.to_vec(),
                },
                p2p,
                tx_admitted,
            );
        }
    }

    /// Claims the open challenges of this storer's shards: each key is derived from the whole
    /// shard read from the disk (a shard lost or changed gives another key, and the claim is
    /// refused or never made), signed over the claim naming this storer; not again while one
    /// sent is pending. The hashing reads every byte of the shard, so at most
    /// [`CLAIMS_PER_LOOK_MAX`] are made a look: the deadline is tens of blocks away.
    fn claim_challenges(&mut self, p2p: &P2pHandle, tx_admitted: &impl Fn()) {
        let challenges = {
            let chain = self.tree.root().lock();
            let height = chain.tip().height;
            chain.challenges_of_storer_at(&self.account, height)
        };
        let challenges = match challenges {
            Ok(challenges) => challenges,
            Err(e) => {
                tracing::warn!(error = %e, "storer cannot read its challenges");
                return;
            }
        };
        let resend = Duration::from_millis(PROOF_RESEND_MS);
        self.claimed.retain(|(blob, shard, nonce), at| {
            at.elapsed() < resend
                && challenges
                    .iter()
                    .any(|c| c.blob == *blob && c.shard == *shard && c.nonce == *nonce)
        });
        let mut made = 0;
        for challenge in challenges {
            let key = (challenge.blob, challenge.shard, challenge.nonce);
            if self.claimed.contains_key(&key) || challenge.storer != self.account {
                continue;
            }
            if made >= CLAIMS_PER_LOOK_MAX {
                break;
            }
            let id = ShardId {
                blob: challenge.blob,
                index: challenge.shard,
            };
            if self.store.get(&id).is_none() {
                tracing::warn!(%id, deadline = challenge.deadline_height, "challenged for a shard not held here: the challenge will fail");
                self.claimed.insert(key, Instant::now());
                continue;
            }
            made += 1;
            let secret = match std::fs::File::open(self.store.data_path(&id))
                .and_then(|file| challenge_secret(&challenge.nonce, std::io::BufReader::new(file)))
            {
                Ok(secret) => secret,
                Err(e) => {
                    tracing::warn!(%id, error = %e, deadline = challenge.deadline_height, "cannot read a challenged shard: the challenge will fail");
                    self.claimed.insert(key, Instant::now());
                    continue;
                }
            };
            if secret.account() != challenge.key {
                // The shard on disk is not the shard (or the key is not from it): a claim
                // would be refused.
                tracing::warn!(%id, deadline = challenge.deadline_height, "the shard on disk does not give the challenge's key: the challenge will fail");
                self.claimed.insert(key, Instant::now());
                continue;
            }
            let message = claim_message(
                &challenge.blob,
                challenge.shard,
                &challenge.nonce,
                &self.account,
            );
            tracing::info!(%id, amount = %challenge.amount, "claiming a challenge on the chain");
            self.claimed.insert(key, Instant::now());
            self.send(
                TxPayload::ClaimChallenge {
                    blob: challenge.blob,
                    shard: challenge.shard,
                    signature: secret.sign(&message),
                },
                p2p,
                tx_admitted,
            );
        }
    }

    /// Starts rebuilding a shard the chain re-placed here for repair (the storer before failed
    /// an audit), if none is being rebuilt: the root blocks since the last look are read for
    /// the placements they made (one leaf each), and the first repair of this storer not
    /// held, not confirmed and not failed lately is rebuilt from the other shards' storers on
    /// a thread of its own. Its receipt follows from the keeper's next look at the store.
    fn start_repairs(&mut self, p2p: &P2pHandle) {
        if let Some((id, handle)) = self.repairing.take() {
            if !handle.is_finished() {
                self.repairing = Some((id, handle));
                return;
            }
            if !handle.join().unwrap_or(false) {
                self.repair_failed.insert(id, Instant::now());
            }
        }
        let retry = Duration::from_millis(RECEIPT_RESEND_MS);
        self.repair_failed.retain(|_, at| at.elapsed() < retry);
        let found = {
            let chain = self.tree.root().lock();
            let tip = chain.tip().height;
            let from = match self.repairs_scanned {
                Some(scanned) => scanned.saturating_add(1),
                None => tip.saturating_sub(REPAIR_LOOKBACK_BLOCKS_MAX),
            };
            let mut found = None;
            let mut scanned = self.repairs_scanned;
            // The first block holding a repair of ours that failed lately: scanned again from
            // there once its pause is over.
            let mut retry_from: Option<u64> = None;
            'blocks: for placed_height in from..=tip {
                let Ok(placed) = chain.shards_placed_at(placed_height, tip) else {
                    break;
                };
                scanned = Some(placed_height);
                for entry in placed {
                    let id = ShardId {
                        blob: entry.blob,
                        index: entry.shard,
                    };
                    if self.store.get(&id).is_some() {
                        continue;
                    }
                    let Some(blob) = chain.blob_at(&entry.blob, tip).ok().flatten() else {
                        continue;
                    };
                    let mine = blob.shards.get(usize::from(entry.shard)).is_some_and(|s| {
                        blob.status.is_live()
                            && s.repair
                            && s.storer == Some(self.account)
                            && s.confirmed_height.is_none()
                    });
                    if !mine {
                        continue;
                    }
                    if self.repair_failed.contains_key(&id) {
                        retry_from.get_or_insert(placed_height);
                        continue;
                    }
                    let sources: Vec<ShardSource> = blob
                        .shards
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| s.confirmed_height.is_some())
                        .filter_map(|(index, s)| {
                            let peer = chain.storer_peer_at(&s.storer?, tip).ok()??;
                            Some(ShardSource {
                                index: u8::try_from(index).ok()?,
                                storer: peer.parse().ok()?,
                            })
                        })
                        .collect();
                    found = Some((id, blob.manifest, sources));
                    // Looked at again next time: the block may hold another repair of ours.
                    retry_from.get_or_insert(placed_height);
                    break 'blocks;
                }
            }
            if let Some(height) = retry_from {
                scanned = Some(height.saturating_sub(1));
            }
            self.repairs_scanned = scanned;
            found
        };
        let Some((id, manifest, sources)) = found else {
            return;
        };
        tracing::info!(%id, sources = sources.len(), "rebuilding a shard placed here for repair");
        let store = self.store.clone();
        let transport = p2p.clone();
        let handle = std::thread::spawn(move || {
            match rebuild_shard(&transport, &store, id.blob, &manifest, id.index, &sources) {
                Ok(_) => {
                    tracing::info!(%id, "repaired shard rebuilt and stored");
                    true
                }
                Err(e) => {
                    tracing::warn!(%id, error = %e, "cannot rebuild a shard for repair");
                    false
                }
            }
        });
        self.repairing = Some((id, handle));
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
