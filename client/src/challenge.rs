//! Challenge schedules (issue 19 §3, `docs/STORAGE.md` "Challenges"): the publisher's own
//! check of its storers. While `put` encodes a blob it derives, for every shard, the public
//! keys of a schedule of challenges (`bitverse_storage::challenge`): each key's secret is the
//! shard's bytes hashed under a nonce the wallet derives from its own secret and the
//! schedule's salt, so the publisher can delete the file and still challenge for years. The
//! schedule (salt, keys, and where each shard stands) is written to
//! `$XDG_DATA_HOME/bitverse/challenges/BLOB.json`; `blob challenge KEY` runs the next challenge
//! of a shard by hand, and `bitverse node --challenges` runs them all on their intervals.
//!
//! A nonce is used once: the schedule counts it used and is written before the challenge is
//! posted, because a storer that answered a nonce once knows its key and could answer it again
//! without the shard.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use bitverse_primitives::{AccountId, Hash, SecretKey};
use bitverse_rpc_api::{BlobResult, ChallengeEnd};
use bitverse_storage::{ChallengeKeyer, challenge_nonce};
use serde::{Deserialize, Serialize};

use crate::node_client::CliError;

/// Challenges derived a shard at `put` unless told otherwise: with the interval doubling after
/// each claim, eight cover 255 times the first interval.
pub const CHALLENGES_PER_SHARD_DEFAULT: u32 = 8;
/// The most challenges a shard may be given at `put`: each costs a hash of every byte of the
/// shard while the file is encoded.
pub const CHALLENGES_PER_SHARD_MAX: u32 = 64;
/// The schedule file's version.
const SCHEDULE_VERSION: u32 = 1;
/// The largest schedule file read: 64 shards of 64 keys take about 600 KB of JSON.
const SCHEDULE_FILE_BYTES_MAX: u64 = 4 << 20;
/// The interval after the first challenge of a shard, and after one its storer missed, in
/// multiples of the network's audit deadline (the time a storer has to answer).
pub const INTERVAL_START_DEADLINES: u64 = 2;
/// The longest interval, in multiples of the first: a claim doubles it up to this.
pub const INTERVAL_CAP_FACTOR: u64 = 128;

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

/// The default directory of schedules: `$XDG_DATA_HOME/bitverse/challenges`, else
/// `~/.local/share/bitverse/challenges`, else `./.bitverse-challenges`.
pub fn default_dir() -> PathBuf {
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(data).join("bitverse/challenges");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/bitverse/challenges");
    }
    PathBuf::from(".bitverse-challenges")
}

/// One blob's schedule, as its file holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Schedule {
    /// [`SCHEDULE_VERSION`].
    pub version: u32,
    /// The blob's id.
    pub blob: Hash,
    /// Its key.
    pub key: String,
    /// The account that published it and signs its challenges.
    pub publisher: AccountId,
    /// The key spec that signs (`dev:NAME` or a key file), for `bitverse node --challenges`.
    pub key_spec: String,
    /// Mixed into every nonce with the wallet's secret, so that two blobs with the same bytes
    /// get different nonces.
    pub salt: Hash,
    /// One entry a shard, in shard order.
    pub shards: Vec<ShardSchedule>,
}

/// Where one shard's challenges stand.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardSchedule {
    /// The public key of challenge `i`, in order.
    pub keys: Vec<AccountId>,
    /// The next challenge's index: every one below it was posted (or is being posted).
    pub next: u32,
    /// Blocks from the end of the last challenge to the next; 0 before the first.
    pub interval_blocks: u64,
    /// The root height from which the next challenge is due; 0: at once.
    pub next_height: u64,
    /// The index of the challenge posted and not yet seen ended, if any.
    #[serde(default)]
    pub open: Option<u32>,
}

/// The keyers `put` feeds each shard through while it encodes: `per_shard` challenges for each
/// of `shards` shards, with nonces from `secret` and `salt`.
pub fn keyers(secret: &SecretKey, salt: &Hash, shards: u8, per_shard: u32) -> Vec<ChallengeKeyer> {
    let seed = secret.to_bytes();
    (0..shards)
        .map(|shard| {
            let nonces: Vec<Hash> = (0..per_shard)
                .map(|index| challenge_nonce(&seed, salt, shard, index))
                .collect();
            ChallengeKeyer::new(&nonces)
        })
        .collect()
}

/// A fresh salt for a blob put now: the wallet's secret, the file and the time mixed, so no
/// two puts share one (it needs to be unique, not secret: nonces also mix the secret).
pub fn new_salt(secret: &SecretKey, file: &Path, size_bytes: u64) -> Hash {
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    Hash::tagged(
        "bitverse 2026-12 challenge schedule salt v1",
        &[
            &secret.to_bytes(),
            file.as_os_str().as_encoded_bytes(),
            &size_bytes.to_le_bytes(),
            &now_ns.to_le_bytes(),
            &std::process::id().to_le_bytes(),
        ],
    )
}

impl Schedule {
    /// The schedule of a blob just registered, from the keyers its shards went through.
    pub fn new(
        blob: Hash,
        key: String,
        key_spec: String,
        publisher: AccountId,
        salt: Hash,
        keyers: Vec<ChallengeKeyer>,
    ) -> Schedule {
        Schedule {
            version: SCHEDULE_VERSION,
            blob,
            key,
            publisher,
            key_spec,
            salt,
            shards: keyers
                .into_iter()
                .map(|keyer| ShardSchedule {
                    keys: keyer.finish().iter().map(SecretKey::account).collect(),
                    next: 0,
                    interval_blocks: 0,
                    next_height: 0,
                    open: None,
                })
                .collect(),
        }
    }

    /// Takes shard `shard`'s next challenge: its index, nonce and public key, counted used
    /// and open from now (save the schedule before posting it). `None` when the shard has
    /// used all its challenges or has no schedule.
    pub fn begin(&mut self, shard: u8, signer: &SecretKey) -> Option<(u32, Hash, AccountId)> {
        let salt = self.salt;
        let planned = self.shards.get_mut(usize::from(shard))?;
        let index = planned.next;
        let key = *planned.keys.get(usize::try_from(index).ok()?)?;
        planned.next = index.checked_add(1)?;
        planned.open = Some(index);
        Some((
            index,
            challenge_nonce(&signer.to_bytes(), &salt, shard, index),
            key,
        ))
    }

    /// Records how shard `shard`'s open challenge ended: a claim doubles the interval (from
    /// `start_blocks` up to [`INTERVAL_CAP_FACTOR`] times it), a miss starts it again; the next
    /// challenge is due that long after the end. Returns the new interval.
    pub fn record_end(&mut self, shard: u8, end: &ChallengeEnd, start_blocks: u64) -> u64 {
        let Some(planned) = self.shards.get_mut(usize::from(shard)) else {
            return 0;
        };
        planned.interval_blocks = if end.claimed {
            planned.interval_blocks.saturating_mul(2).clamp(
                start_blocks,
                start_blocks.saturating_mul(INTERVAL_CAP_FACTOR),
            )
        } else {
            start_blocks
        };
        planned.next_height = end.height.saturating_add(planned.interval_blocks);
        planned.open = None;
        planned.interval_blocks
    }

    /// The nonce of shard `shard`'s open challenge, if one is open.
    pub fn open_nonce(&self, shard: u8, signer: &SecretKey) -> Option<Hash> {
        let index = self.shards.get(usize::from(shard))?.open?;
        Some(challenge_nonce(
            &signer.to_bytes(),
            &self.salt,
            shard,
            index,
        ))
    }

    /// Where the schedule of `blob` lives in `dir`.
    pub fn path(dir: &Path, blob: &Hash) -> PathBuf {
        dir.join(format!("{blob}.json"))
    }

    /// Reads the schedule of `blob` from `dir`.
    pub fn load(dir: &Path, blob: &Hash) -> Result<Schedule, CliError> {
        let path = Schedule::path(dir, blob);
        let shown = path.display();
        let size = fs::metadata(&path)
            .map_err(|e| {
                failed(format!(
                    "no challenge schedule for blob {blob} at {shown} ({e}): `bitverse put` writes it on the machine that uploaded the file (pass --challenges-dir if it wrote elsewhere)"
                ))
            })?
            .len();
        if size > SCHEDULE_FILE_BYTES_MAX {
            return Err(failed(format!(
                "{shown} holds {size} bytes; a challenge schedule is at most {SCHEDULE_FILE_BYTES_MAX}"
            )));
        }
        let text =
            fs::read_to_string(&path).map_err(|e| failed(format!("cannot read {shown}: {e}")))?;
        let schedule: Schedule = serde_json::from_str(&text)
            .map_err(|e| failed(format!("{shown} is not a challenge schedule: {e}")))?;
        if schedule.version != SCHEDULE_VERSION || schedule.blob != *blob {
            return Err(failed(format!(
                "{shown} is a schedule of version {} for blob {}, not of version {SCHEDULE_VERSION} for {blob}",
                schedule.version, schedule.blob
            )));
        }
        Ok(schedule)
    }

    /// Writes the schedule into `dir` durably: a temporary file, synced, renamed over the old
    /// one (owner-only, as it names the key that signs).
    pub fn save(&self, dir: &Path) -> Result<PathBuf, CliError> {
        fs::create_dir_all(dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
        let path = Schedule::path(dir, &self.blob);
        let temporary = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| failed(format!("cannot write the schedule as JSON: {e}")))?;
        let write = || -> std::io::Result<()> {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            fs::rename(&temporary, &path)?;
            fs::File::open(dir)?.sync_all()
        };
        write().map_err(|e| failed(format!("cannot write {}: {e}", path.display())))?;
        Ok(path)
    }
}

/// The interval after a shard's first challenge on a network with `params`.
pub fn interval_start_blocks(params: &bitverse_blocktree::ChainParams) -> u64 {
    params
        .storage
        .audit_deadline_blocks
        .saturating_mul(INTERVAL_START_DEADLINES)
}

/// The shard `blob challenge` picks when not told: the first confirmed one with no open
/// challenge and challenges left in its schedule, due soonest.
pub fn pick_shard(blob: &BlobResult, schedule: &Schedule) -> Option<u8> {
    blob.shards
        .iter()
        .filter(|s| s.confirmed && s.challenge.is_none())
        .filter_map(|s| {
            let planned = schedule.shards.get(usize::from(s.index))?;
            (planned.open.is_none() && usize::try_from(planned.next).ok()? < planned.keys.len())
                .then_some((planned.next_height, s.index))
        })
        .min()
        .map(|(_, index)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_round_trips_through_its_file_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let secret = SecretKey::dev("alice");
        let salt = Hash::digest(b"salt");
        let mut keyers = keyers(&secret, &salt, 3, 4);
        for (i, keyer) in keyers.iter_mut().enumerate() {
            keyer.update(&[i as u8; 1000]);
        }
        let blob = Hash::digest(b"blob");
        let schedule = Schedule::new(
            blob,
            "files/a".into(),
            "dev:alice".into(),
            secret.account(),
            salt,
            keyers,
        );
        let path = schedule.save(dir.path()).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let back = Schedule::load(dir.path(), &blob).unwrap();
        assert_eq!(back.shards.len(), 3);
        assert_eq!(back.shards[2].keys, schedule.shards[2].keys);
        // Each key is the one a holder of the shard derives from the nonce.
        let nonce = challenge_nonce(&secret.to_bytes(), &salt, 2, 3);
        let derived = bitverse_storage::challenge_secret(&nonce, &[2u8; 1000][..]).unwrap();
        assert_eq!(back.shards[2].keys[3], derived.account());
        let missing = Schedule::load(dir.path(), &Hash::digest(b"other")).unwrap_err();
        assert!(missing.to_string().contains("bitverse put"), "{missing}");
    }
}
