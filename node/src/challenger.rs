//! `bitverse node --challenges`: runs the publishers' challenge schedules that `bitverse put`
//! wrote (`bitverse_client::challenge`, docs/STORAGE.md "Challenges"). Every look it reads
//! each schedule in the directory, records how the challenges it posted ended (read from the
//! shard's `last_challenge` on the root), and posts each shard's next challenge once its
//! interval is over, signed by the key the schedule names. A schedule is saved before its
//! challenge is sent, so a nonce is never posted twice, even across a crash.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitverse_blocktree::{Blocktree, Transaction, TxPayload, UnsignedTx};
use bitverse_client::challenge::{Schedule, interval_start_blocks};
use bitverse_client::keys::load_key;
use bitverse_p2p::P2pHandle;
use bitverse_primitives::{Amount, ChainId, Hash, SecretKey};
use bitverse_rpc_api::ChallengeEnd;

/// How often the root's tip is looked at; the schedules are read when it has moved.
const LOOK_MS: u64 = 2_000;
/// The most schedules read a look (in file-name order); the rest wait for a later look.
const SCHEDULES_PER_LOOK_MAX: usize = 1_024;
/// The most challenges posted a look.
const POSTS_PER_LOOK_MAX: usize = 16;
/// What each challenge locks: 0.0001 BV.
pub(crate) const CHALLENGE_AMOUNT: Amount = Amount(100_000);
/// The fee of a challenge.
const CHALLENGE_FEE: Amount = Amount(1);
/// A challenge sent but not seen on the chain after this long is taken as lost (refused or
/// dropped): its nonce is spent and the shard's next one is due.
const POST_LOST_MS: u64 = 60_000;

/// Runs the schedules in `dir` until `stop` says so; blocks: run it on a blocking thread.
pub(crate) fn run(
    tree: Arc<Blocktree>,
    dir: PathBuf,
    p2p: Option<P2pHandle>,
    tx_admitted: impl Fn(),
    stop: impl Fn() -> bool,
) {
    tracing::info!(dir = %dir.display(), "running challenge schedules");
    let mut challenger = Challenger {
        tree,
        dir,
        p2p,
        keys: BTreeMap::new(),
        warned: BTreeSet::new(),
        posted: BTreeMap::new(),
        looked_at: None,
    };
    let mut last_look: Option<Instant> = None;
    while !stop() {
        if last_look.is_none_or(|at| at.elapsed() >= Duration::from_millis(LOOK_MS)) {
            last_look = Some(Instant::now());
            challenger.look(&tx_admitted);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct Challenger {
    tree: Arc<Blocktree>,
    dir: PathBuf,
    p2p: Option<P2pHandle>,
    /// Keys loaded, by the spec a schedule names.
    keys: BTreeMap<String, SecretKey>,
    /// Things said once (a key that does not load, a schedule that does not read).
    warned: BTreeSet<String>,
    /// Challenges sent by this run and not yet seen on the chain: (blob, shard) and when.
    posted: BTreeMap<(Hash, u8), Instant>,
    /// The root tip of the last look: every step depends on the tip's state only, so the
    /// schedules are read again (up to 1,024 files) only when the tip has moved.
    looked_at: Option<Hash>,
}

impl Challenger {
    fn warn_once(&mut self, what: String) {
        if self.warned.insert(what.clone()) {
            tracing::warn!("{what}");
        }
    }

    /// Reads every schedule (at most [`SCHEDULES_PER_LOOK_MAX`]) and does what is due.
    fn look(&mut self, tx_admitted: &impl Fn()) {
        let tip = self.tree.root().lock().tip().hash;
        if self.looked_at == Some(tip) {
            return;
        }
        self.looked_at = Some(tip);
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            // No schedule written yet.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                self.warn_once(format!("cannot read {}: {e}", self.dir.display()));
                return;
            }
        };
        let mut blobs: Vec<Hash> = entries
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                (path.extension()? == "json").then_some(())?;
                path.file_stem()?.to_str()?.parse().ok()
            })
            .collect();
        blobs.sort();
        let mut posts = 0;
        for blob in blobs.into_iter().take(SCHEDULES_PER_LOOK_MAX) {
            if posts >= POSTS_PER_LOOK_MAX {
                break;
            }
            posts += self.run_schedule(&blob, POSTS_PER_LOOK_MAX - posts, tx_admitted);
        }
    }

    /// Records the ends and posts what is due for one blob's schedule; the challenges posted.
    fn run_schedule(&mut self, blob_id: &Hash, posts_max: usize, tx_admitted: &impl Fn()) -> usize {
        let dir = self.dir.clone();
        let mut schedule = match Schedule::load(&dir, blob_id) {
            Ok(schedule) => schedule,
            Err(e) => {
                self.warn_once(e.to_string());
                return 0;
            }
        };
        let Some(signer) = self.key(&schedule.key_spec) else {
            return 0;
        };
        if signer.account() != schedule.publisher {
            self.warn_once(format!(
                "{}: key {} is not the blob's publisher {}",
                Schedule::path(&dir, blob_id).display(),
                schedule.key_spec,
                schedule.publisher
            ));
            return 0;
        }
        let (blob, open, tip, params) = {
            let chain = self.tree.root().lock();
            let tip = chain.tip().height;
            let Ok(Some(blob)) = chain.blob_at(blob_id, tip) else {
                return 0;
            };
            let open: Vec<bool> = (0u8..)
                .take(blob.shards.len())
                .map(|i| matches!(chain.challenge_at(blob_id, i, tip), Ok(Some(_))))
                .collect();
            (blob, open, tip, chain.params().clone())
        };
        if !blob.status.is_live() {
            return 0;
        }
        let start_blocks = interval_start_blocks(&params);
        let mut changed = false;
        let mut posts = 0;
        for (index, shard) in (0u8..).zip(&blob.shards) {
            let challenged = open.get(usize::from(index)).copied().unwrap_or(false);
            if let Some(nonce) = schedule.open_nonce(index, &signer) {
                match shard.last_challenge.filter(|end| end.nonce == nonce) {
                    Some(end) => {
                        let interval = schedule.record_end(
                            index,
                            &ChallengeEnd {
                                nonce: end.nonce,
                                height: end.height,
                                claimed: end.claimed,
                            },
                            start_blocks,
                        );
                        self.posted.remove(&(*blob_id, index));
                        changed = true;
                        tracing::info!(blob = %blob_id, shard = index, claimed = end.claimed, next_in_blocks = interval, "challenge ended");
                    }
                    None if !challenged => {
                        // Not on the chain and not ended: lost once this run has waited long
                        // enough for it (or at once if another run sent it).
                        let lost = self
                            .posted
                            .get(&(*blob_id, index))
                            .is_none_or(|at| at.elapsed() >= Duration::from_millis(POST_LOST_MS));
                        if lost {
                            tracing::warn!(blob = %blob_id, shard = index, "a challenge sent never reached the chain; its nonce is spent");
                            schedule.record_end(
                                index,
                                &ChallengeEnd {
                                    nonce,
                                    height: tip,
                                    claimed: false,
                                },
                                start_blocks,
                            );
                            self.posted.remove(&(*blob_id, index));
                            changed = true;
                        }
                    }
                    None => {}
                }
                continue;
            }
            let due = shard.confirmed_height.is_some()
                && shard.storer.is_some()
                && !challenged
                && schedule
                    .shards
                    .get(usize::from(index))
                    .is_some_and(|s| tip >= s.next_height);
            if !due || posts >= posts_max {
                continue;
            }
            let Some((number, nonce, key)) = schedule.begin(index, &signer) else {
                continue;
            };
            // Saved before it is sent: a nonce is never posted twice.
            if let Err(e) = schedule.save(&dir) {
                self.warn_once(e.to_string());
                return posts;
            }
            // That save wrote every end recorded above too.
            changed = false;
            posts += 1;
            tracing::info!(blob = %blob_id, shard = index, challenge = number, "posting a challenge");
            self.posted.insert((*blob_id, index), Instant::now());
            self.send(
                &signer,
                TxPayload::PostChallenge {
                    blob: *blob_id,
                    shard: index,
                    nonce,
                    key,
                    amount: CHALLENGE_AMOUNT,
                },
                tx_admitted,
            );
        }
        if changed && let Err(e) = schedule.save(&dir) {
            self.warn_once(e.to_string());
        }
        posts
    }

    /// The key `spec` names, loaded once.
    fn key(&mut self, spec: &str) -> Option<SecretKey> {
        if let Some(key) = self.keys.get(spec) {
            return Some(key.clone());
        }
        match load_key(spec) {
            Ok(key) => {
                self.keys.insert(spec.to_owned(), key.clone());
                Some(key)
            }
            Err(e) => {
                self.warn_once(format!("challenge schedule key {spec}: {e}"));
                None
            }
        }
    }

    /// Signs and submits a root transaction, and publishes it.
    fn send(&self, signer: &SecretKey, payload: TxPayload, tx_admitted: &impl Fn()) {
        let account = signer.account();
        let nonce = match self.tree.root().lock().pending_nonce(&account) {
            Ok(nonce) => nonce,
            Err(e) => {
                tracing::warn!(error = %e, "challenger cannot read its nonce");
                return;
            }
        };
        let tx: Transaction = UnsignedTx {
            chain: ChainId::ROOT,
            sender: account,
            nonce,
            fee: CHALLENGE_FEE,
            payload,
        }
        .sign(signer);
        let bytes = tx.to_bytes();
        match self.tree.submit(tx) {
            Ok(hash) => {
                tracing::info!(%hash, "challenge sent");
                tx_admitted();
                if let Some(p2p) = &self.p2p {
                    p2p.publish_transaction(ChainId::ROOT, bytes);
                }
            }
            Err(e) => tracing::warn!(error = %e, "challenge refused"),
        }
    }
}

/// The directory `--challenges` reads: as given, else where `put` writes.
pub(crate) fn schedules_dir(given: Option<&Path>) -> PathBuf {
    given.map_or_else(bitverse_client::challenge::default_dir, Path::to_path_buf)
}
