//! Files larger than a value, as blobs (issue 19, `docs/STORAGE.md`): `put KEY --file FILE`
//! above the on-chain value limit encodes the file here (its manifest: size, content hash,
//! k-of-n, one root a shard), registers it with its endowment, waits for the chain to draw the
//! storers, streams the file to the node's gateway (`POST /blob-upload/ID`), which pushes each
//! shard to its storer, and returns once every storer has confirmed its shard on the chain.
//! `get KEY --out FILE` streams a stored blob from the gateway (`GET /blob/KEY`) into a
//! temporary file beside FILE, keeps it only if its BLAKE3 matches the manifest's content
//! hash, and renames it into place.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bitverse_blocktree::{ChainParams, TxPayload, blob::endowment_min};
use bitverse_primitives::{AccountId, Amount, Hash};
use bitverse_rpc_api::{BlobResult, ChallengeEnd};
use bitverse_storage::{BLOB_SIZE_BYTES_MAX, Manifest, Shares, encode_blob};
use serde::Serialize;
use serde_json::{Value, json};

use crate::args::WriteArgs;
use crate::node_client::{CliError, NodeClient};
use crate::output::progress_line;

/// How often the chain is asked how the blob's placement goes.
const PLACEMENT_POLL_MS: u64 = 300;
/// How long `put` waits for the chain to draw the storers, and then for their receipts.
const PLACEMENT_TIMEOUT_MS: u64 = 120_000;
/// The size of the reads `put` streams the file in.
const UPLOAD_READ_BYTES: usize = 256 * 1024;

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

/// How a blob is put, beyond the write's own flags.
pub(crate) struct BlobPut<'a> {
    /// The file.
    pub path: &'a Path,
    /// k-of-n.
    pub shares: Shares,
    /// The media type the gateway serves it with; guessed from the file's first bytes when
    /// not given.
    pub content_type: Option<String>,
    /// The endowment; the least the network takes when not given.
    pub endowment: Option<Amount>,
    /// Challenges derived a shard for the schedule (`crate::challenge`); 0 for none.
    pub challenges: u32,
    /// Where the schedule is written.
    pub challenges_dir: PathBuf,
}

/// `put KEY --file FILE` for a file above the value limit.
pub(crate) async fn put_blob(
    client: &NodeClient,
    key: String,
    put: BlobPut<'_>,
    write: &WriteArgs,
) -> Result<(), CliError> {
    let path = put.path.to_path_buf();
    let shown = path.display().to_string();
    let size_bytes = fs::metadata(&path)
        .map_err(|e| failed(format!("cannot read {shown}: {e}")))?
        .len();
    if size_bytes > BLOB_SIZE_BYTES_MAX {
        return Err(failed(format!(
            "{shown} holds {size_bytes} bytes; a blob may be at most {BLOB_SIZE_BYTES_MAX} (4 GiB)"
        )));
    }
    let shares = put.shares;
    let content_type = match put.content_type {
        Some(given) => given,
        None => sniff_content_type(&path),
    };
    // The challenge schedule's keys are derived in the same pass, from each shard's bytes.
    let signer = crate::keys::load_key(&write.key)?;
    let salt = crate::challenge::new_salt(&signer, &path, size_bytes);
    let keyers = crate::challenge::keyers(&signer, &salt, shares.total_shards, put.challenges);
    // One pass to make the manifest: every shard's root, without keeping a shard.
    let (manifest, keyers) = {
        let path = path.clone();
        let bar = progress_line(
            Some(size_bytes),
            "hashing {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        );
        let bar_in = bar.clone();
        let mut keyers = keyers;
        let encoded = tokio::task::spawn_blocking(move || {
            let file = File::open(&path)?;
            encode_blob(bar_in.wrap_read(file), shares, &mut keyers)
                .map(|manifest| (manifest, keyers))
                .map_err(|e| io::Error::other(e.to_string()))
        })
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(format!("cannot encode {shown}: {e}")))?;
        bar.finish_and_clear();
        encoded
    };
    let (_, params) = network_params(client).await?;
    let least = endowment_min(&manifest, &params)
        .ok_or_else(|| failed("the blob's endowment is out of range"))?;
    let endowment = put.endowment.unwrap_or(least);
    let payload = TxPayload::RegisterBlob {
        key: key.clone(),
        manifest: manifest.clone(),
        endowment,
        content_type: content_type.clone(),
    };
    let (id, _fee, _height) = crate::submit::submit_quiet(client, write, payload).await?;
    if !write.json {
        eprintln!(
            "registered {key} as blob {id}: {size_bytes} bytes at {shares}, endowment {}",
            crate::submit::shown(endowment, write.raw)
        );
    }
    let schedule = if put.challenges > 0 {
        // A key file is named by its absolute path, so `node --challenges` finds it from
        // any working directory.
        let key_spec = if write.key.starts_with("dev:") {
            write.key.clone()
        } else {
            fs::canonicalize(&write.key)
                .map_or_else(|_| write.key.clone(), |p| p.display().to_string())
        };
        let schedule = crate::challenge::Schedule::new(
            id,
            key.clone(),
            key_spec,
            signer.account(),
            salt,
            keyers,
        );
        let written = schedule.save(&put.challenges_dir)?;
        if !write.json {
            eprintln!(
                "challenge schedule: {} a shard, in {}",
                put.challenges,
                written.display()
            );
        }
        Some(written)
    } else {
        None
    };

    let placed = wait_for_blob(client, &key, "the chain to draw the storers", |blob| {
        blob.shards.iter().all(|s| s.storer.is_some())
    })
    .await?;
    let upload = upload(client, &id, &path, size_bytes).await?;
    let stored = wait_for_blob(
        client,
        &key,
        "the storers to confirm their shards",
        |blob| blob.status == "stored",
    )
    .await?;
    if write.json {
        println!(
            "{}",
            json!({
                "action": "put_blob",
                "key": key,
                "blob": id,
                "size_bytes": size_bytes,
                "content_hash": manifest.content_hash,
                "shares": shares.to_string(),
                "content_type": content_type,
                "endowment": endowment,
                "status": stored.status,
                "storers": placed.shards.iter().map(|s| s.storer.map(|a| a.to_string())).collect::<Vec<_>>(),
                "upload": upload,
                "challenge_schedule": schedule.map(|p| p.display().to_string()),
            })
        );
    } else {
        println!(
            "put {key}: blob {id}, {size_bytes} bytes at {shares}, {} shards stored and confirmed",
            stored.shards.iter().filter(|s| s.confirmed).count()
        );
    }
    Ok(())
}

/// Waits until the blob at `key` satisfies `done`, saying once on stderr what it waits for;
/// fails at once if the blob fails or expires, and after [`PLACEMENT_TIMEOUT_MS`].
async fn wait_for_blob(
    client: &NodeClient,
    key: &str,
    what: &str,
    done: impl Fn(&BlobResult) -> bool,
) -> Result<BlobResult, CliError> {
    let deadline = Instant::now() + Duration::from_millis(PLACEMENT_TIMEOUT_MS);
    let mut told = false;
    loop {
        let blob = client
            .blob(key)
            .await?
            .ok_or_else(|| failed(format!("no blob at {key} on the chain")))?;
        if done(&blob) {
            return Ok(blob);
        }
        if blob.status == "failed" || blob.status == "expired" {
            return Err(failed(format!(
                "blob {} {} at height {}: {}",
                blob.id,
                blob.status,
                blob.ended_height.unwrap_or(blob.height),
                blob.failure.as_deref().unwrap_or("its endowment ran out")
            )));
        }
        if Instant::now() >= deadline {
            return Err(failed(format!(
                "waited {} s for {what}; blob {} is {} ({} of {} shards confirmed)",
                PLACEMENT_TIMEOUT_MS / 1000,
                blob.id,
                blob.status,
                blob.shards.iter().filter(|s| s.confirmed).count(),
                blob.shards.len()
            )));
        }
        if !told {
            eprintln!("waiting for {what}");
            told = true;
        }
        tokio::time::sleep(Duration::from_millis(PLACEMENT_POLL_MS)).await;
    }
}

/// Streams the file to the node's gateway, with a progress line; the gateway's answer names
/// each shard's outcome.
async fn upload(
    client: &NodeClient,
    id: &Hash,
    path: &Path,
    size_bytes: u64,
) -> Result<Value, CliError> {
    let url = format!("{}/blob-upload/{id}", client.url().trim_end_matches('/'));
    let path: PathBuf = path.to_path_buf();
    let bar = progress_line(
        Some(size_bytes),
        "uploading {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    );
    let bar_in = bar.clone();
    let answer = tokio::task::spawn_blocking(move || -> Result<Value, CliError> {
        let file = File::open(&path)
            .map_err(|e| failed(format!("cannot read {}: {e}", path.display())))?;
        let mut reader = io::BufReader::with_capacity(UPLOAD_READ_BYTES, bar_in.wrap_read(file));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .post(&url)
            .header("Content-Type", "application/octet-stream")
            .send(ureq::SendBody::from_reader(&mut reader))
            .map_err(|e| failed(format!("cannot upload to {url}: {e}")))?;
        let status = response.status();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| failed(format!("cannot read the gateway's answer: {e}")))?;
        let value: Value =
            serde_json::from_str(&body).unwrap_or(Value::String(body.trim().to_owned()));
        if !status.is_success() {
            return Err(failed(format!(
                "the node's gateway answered {status}: {value}"
            )));
        }
        Ok(value)
    })
    .await
    .map_err(|e| failed(e.to_string()))?;
    bar.finish_and_clear();
    answer
}

/// `get KEY --out FILE` for a key holding a stored blob: streams it from the gateway into a
/// temporary file beside `out` and keeps it only if it hashes to `content_hash`.
pub(crate) async fn get_blob(
    client: &NodeClient,
    key: &str,
    manifest: &Manifest,
    out: &Path,
) -> Result<(), CliError> {
    let encoded_key: String = key
        .split('/')
        .map(|part| {
            percent_encoding::utf8_percent_encode(part, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("/");
    let url = format!("{}/blob/{encoded_key}", client.url().trim_end_matches('/'));
    let out = out.to_path_buf();
    let size_bytes = manifest.size_bytes;
    let content_hash = manifest.content_hash;
    let bar = progress_line(
        Some(size_bytes),
        "getting {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    );
    let bar_in = bar.clone();
    let got = tokio::task::spawn_blocking(move || -> Result<(), CliError> {
        let partial = out.with_extension("partial");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .get(&url)
            .call()
            .map_err(|e| failed(format!("cannot get {url}: {e}")))?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.body_mut().read_to_string().unwrap_or_default();
            return Err(failed(format!("the node's gateway answered {status}: {}", text.trim())));
        }
        let mut body = response.body_mut().with_config().limit(size_bytes.saturating_add(1)).reader();
        let mut file = File::create(&partial)
            .map_err(|e| failed(format!("cannot write {}: {e}", partial.display())))?;
        let mut hasher = blake3::Hasher::new();
        let mut buffer = vec![0u8; UPLOAD_READ_BYTES];
        let mut written: u64 = 0;
        let result = (|| -> Result<(), CliError> {
            loop {
                let read = body
                    .read(&mut buffer)
                    .map_err(|e| failed(format!("the download broke off after {written} bytes: {e}")))?;
                if read == 0 {
                    break;
                }
                let chunk = &buffer[..read];
                hasher.update(chunk);
                file.write_all(chunk)
                    .map_err(|e| failed(format!("cannot write {}: {e}", partial.display())))?;
                written += read as u64;
                bar_in.set_position(written);
            }
            file.sync_all()
                .map_err(|e| failed(format!("cannot write {}: {e}", partial.display())))?;
            if written != size_bytes || Hash(*hasher.finalize().as_bytes()) != content_hash {
                return Err(failed(format!(
                    "the bytes received ({written} of {size_bytes}) do not match the blob's content hash {content_hash}; nothing written"
                )));
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&partial);
            return Err(e);
        }
        fs::rename(&partial, &out)
            .map_err(|e| failed(format!("cannot write {}: {e}", out.display())))
    })
    .await
    .map_err(|e| failed(e.to_string()))?;
    bar.finish_and_clear();
    got
}

/// The media type of a file from its first bytes: the formats a browser shows, else bytes.
fn sniff_content_type(path: &Path) -> String {
    let mut head = [0u8; 16];
    let read = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..read];
    let kind = if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if head.starts_with(b"\xff\xd8\xff") {
        "image/jpeg"
    } else if head.starts_with(b"GIF8") {
        "image/gif"
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        "image/webp"
    } else if head.starts_with(b"%PDF-") {
        "application/pdf"
    } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
        "video/mp4"
    } else {
        ""
    };
    kind.to_owned()
}

/// `blob show KEY`: the blob at `key` as the chain holds it at the node's tip.
pub(crate) async fn show(
    client: &NodeClient,
    key: &str,
    output: &crate::args::OutputArgs,
) -> Result<(), CliError> {
    use crate::output::{Align, table};
    use crate::submit::shown;
    let Some(blob) = client.blob(key).await? else {
        return Err(CliError::Absent(format!("no blob at {key}")));
    };
    if output.json {
        let value = serde_json::to_value(&blob)
            .map_err(|e| failed(format!("cannot print the blob as JSON: {e}")))?;
        println!("{value}");
        return Ok(());
    }
    let confirmed = blob.shards.iter().filter(|s| s.confirmed).count();
    let status = match (blob.ended_height, &blob.failure) {
        (Some(height), Some(why)) => format!("{} at root block {height}: {why}", blob.status),
        (Some(height), None) => format!("{} at root block {height}", blob.status),
        _ => blob.status.clone(),
    };
    let content_type = if blob.content_type.is_empty() {
        "bytes"
    } else {
        blob.content_type.as_str()
    };
    let readable = if confirmed >= usize::from(blob.data_shards) {
        "readable"
    } else {
        "not readable yet"
    };
    println!("key:           {}", blob.key);
    println!("blob:          {}", blob.id);
    println!("publisher:     {}", blob.publisher);
    println!("status:        {status}");
    println!("size:          {} bytes, {content_type}", blob.size_bytes);
    println!("content hash:  {}", blob.content_hash);
    println!(
        "shares:        {}-of-{}, shards of {} bytes",
        blob.data_shards, blob.total_shards, blob.shard_size_bytes
    );
    println!(
        "health:        {confirmed} of {} shards confirmed, {} needed: {readable}",
        blob.total_shards, blob.data_shards
    );
    println!(
        "registered:    root block {} (read at {})",
        blob.registered_height, blob.height
    );
    println!(
        "endowment:     {} left, {} paid over {} periods",
        shown(blob.endowment_remaining, output.raw),
        shown(blob.paid, output.raw),
        blob.periods_elapsed
    );
    let rows = blob.shards.iter().map(|shard| {
        vec![
            shard.index.to_string(),
            shard
                .storer
                .map_or_else(|| "(drawing)".to_owned(), |s| s.to_string()),
            shard
                .confirmed_height
                .map_or_else(|| "no".to_owned(), |h| format!("at {h}")),
            shard.placed_height.to_string(),
            if shard.confirmed {
                "-".to_owned()
            } else {
                shard.deadline_height.to_string()
            },
            shard.redraws.to_string(),
        ]
    });
    print!(
        "{}",
        table(
            "  ",
            &[
                ("SHARD", Align::Right),
                ("STORER", Align::Left),
                ("CONFIRMED", Align::Left),
                ("PLACED", Align::Right),
                ("DEADLINE", Align::Right),
                ("REDRAWS", Align::Right),
            ],
            rows,
        )
    );
    Ok(())
}

/// What one challenge came to.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Outcome {
    /// The blob's key.
    pub key: String,
    /// The blob.
    pub blob: Hash,
    /// The shard challenged.
    pub shard: u8,
    /// Its index in the shard's schedule.
    pub index: u32,
    /// The storer it was posted for.
    pub storer: Option<AccountId>,
    /// What it locked.
    pub amount: Amount,
    /// The root height it was posted at.
    pub posted_height: Option<u64>,
    /// How it ended.
    pub end: ChallengeEnd,
    /// The blocks to the shard's next challenge, as the schedule now says.
    pub interval_blocks: u64,
}

/// Posts the next challenge of shard `shard` of the blob at `key` (signed by `write.key`,
/// whose schedule is in `dir`), waits until it is claimed or refunded (the network's
/// `audit_deadline_blocks` after it is posted), records the outcome in the schedule, and returns it. `said` is told what is
/// waited for.
pub(crate) async fn run_challenge(
    client: &NodeClient,
    key: &str,
    shard: Option<u8>,
    amount: Amount,
    write: &WriteArgs,
    dir: &Path,
    said: &dyn Fn(&str),
) -> Result<Outcome, CliError> {
    let signer = crate::keys::load_key(&write.key)?;
    let Some(blob) = client.blob(key).await? else {
        return Err(CliError::Absent(format!("no blob at {key}")));
    };
    if blob.publisher != signer.account() {
        return Err(failed(format!(
            "blob {} at {key} was published by {}, not by {}: only its publisher challenges its storers",
            blob.id,
            blob.publisher,
            signer.account()
        )));
    }
    let mut schedule = crate::challenge::Schedule::load(dir, &blob.id)?;
    let shard = match shard {
        Some(shard) => shard,
        None => crate::challenge::pick_shard(&blob, &schedule).ok_or_else(|| {
            failed(format!(
                "no shard of blob {} can be challenged now: each is unconfirmed, challenged already or out of challenges",
                blob.id
            ))
        })?,
    };
    let Some(shown) = blob.shards.get(usize::from(shard)) else {
        return Err(failed(format!(
            "blob {} has {} shards: there is no shard {shard}",
            blob.id,
            blob.shards.len()
        )));
    };
    let storer = shown.storer;
    let Some((index, nonce, challenge_key)) = schedule.begin(shard, &signer) else {
        return Err(failed(format!(
            "shard {shard} of blob {} has used all the challenges of its schedule",
            blob.id
        )));
    };
    // Counted used before it is posted: a nonce once seen is no challenge.
    schedule.save(dir)?;
    let payload = TxPayload::PostChallenge {
        blob: blob.id,
        shard,
        nonce,
        key: challenge_key,
        amount,
    };
    let mut posting = write.clone();
    posting.no_wait = false;
    let (_, _, posted_height) = crate::submit::submit_quiet(client, &posting, payload).await?;
    said(&format!(
        "challenged shard {shard} of blob {} (challenge {index}) at root height {}; waiting for its storer's claim",
        blob.id,
        posted_height.unwrap_or_default()
    ));
    let end = wait_for_end(client, key, shard, &nonce, write).await?;
    let params = network_params(client).await?.1;
    let interval_blocks = schedule.record_end(
        shard,
        &end,
        crate::challenge::interval_start_blocks(&params),
    );
    schedule.save(dir)?;
    Ok(Outcome {
        key: key.to_owned(),
        blob: blob.id,
        shard,
        index,
        storer,
        amount,
        posted_height,
        end,
        interval_blocks,
    })
}

/// Waits until the shard's last challenge is the one with `nonce`: claimed, or refunded at its
/// deadline. Gives up after the write's wait timeout (the challenge stays on the chain and
/// ends on its own; `blob show` tells how).
async fn wait_for_end(
    client: &NodeClient,
    key: &str,
    shard: u8,
    nonce: &Hash,
    write: &WriteArgs,
) -> Result<ChallengeEnd, CliError> {
    let started = Instant::now();
    let timeout = Duration::from_secs(write.wait_timeout_secs);
    loop {
        let blob = client
            .blob(key)
            .await?
            .ok_or_else(|| failed(format!("no blob at {key} on the chain")))?;
        if let Some(end) = blob
            .shards
            .get(usize::from(shard))
            .and_then(|s| s.last_challenge.clone())
            .filter(|end| end.nonce == *nonce)
        {
            return Ok(end);
        }
        if started.elapsed() >= timeout {
            let deadline = blob
                .shards
                .get(usize::from(shard))
                .and_then(|s| s.challenge.as_ref())
                .map(|c| c.deadline_height);
            return Err(failed(format!(
                "waited {} s for the challenge of shard {shard} to end (root height {}, its deadline {}); it ends on its own: `bitverse blob show {key}` tells how",
                timeout.as_secs(),
                blob.height,
                deadline.map_or_else(|| "unknown".to_owned(), |h| h.to_string())
            )));
        }
        tokio::time::sleep(Duration::from_millis(OUTCOME_POLL_MS)).await;
    }
}

/// How often `blob challenge` asks how its challenge went.
const OUTCOME_POLL_MS: u64 = 500;

/// `blob challenge KEY`: the shard's next challenge from the schedule, posted and waited for.
pub(crate) async fn challenge(
    client: &NodeClient,
    key: &str,
    shard: Option<u8>,
    amount: Amount,
    write: &WriteArgs,
    dir: &Path,
) -> Result<(), CliError> {
    let json = write.json;
    let said = |line: &str| {
        if !json {
            eprintln!("{line}");
        }
    };
    let outcome = run_challenge(client, key, shard, amount, write, dir, &said).await?;
    if json {
        let value = serde_json::to_value(&outcome)
            .map_err(|e| failed(format!("cannot print the outcome as JSON: {e}")))?;
        println!("{value}");
        return Ok(());
    }
    let storer = outcome
        .storer
        .map_or_else(|| "its storer".to_owned(), |s| s.to_string());
    if outcome.end.claimed {
        println!(
            "shard {} of {}: claimed by {storer} at root height {}, paid {}; next challenge in {} blocks",
            outcome.shard,
            outcome.key,
            outcome.end.height,
            crate::submit::shown(outcome.amount, write.raw),
            outcome.interval_blocks
        );
    } else {
        println!(
            "shard {} of {}: NOT claimed by {storer} by root height {}: {} refunded, a failure on the storer's record, the shard re-placed on another storer",
            outcome.shard,
            outcome.key,
            outcome.end.height,
            crate::submit::shown(outcome.amount, write.raw)
        );
    }
    Ok(())
}

/// Years `quote --put` prices a blob's keeping for.
const QUOTED_YEARS: [u64; 3] = [1, 10, 100];

/// `quote --put FILE --shares K-of-N`: what storing FILE as a blob costs on the node's network,
/// from its length alone.
pub(crate) async fn quote(
    client: &NodeClient,
    path: &Path,
    shares: Shares,
    output: &crate::args::OutputArgs,
) -> Result<(), CliError> {
    use crate::submit::shown;
    let shown_path = path.display();
    let size_bytes = fs::metadata(path)
        .map_err(|e| failed(format!("cannot read {shown_path}: {e}")))?
        .len();
    let layout =
        bitverse_storage::Layout::new(size_bytes, shares, bitverse_storage::PIECE_BYTES_DEFAULT)
            .map_err(|e| failed(format!("{shown_path} cannot be a blob: {e}")))?;
    let shard_size_bytes = layout.shard_size_bytes();
    let (network, params) = network_params(client).await?;
    let out_of_range = || failed("the blob's price is out of range");
    let least =
        bitverse_blocktree::blob::endowment_min_for(shard_size_bytes, shares.total_shards, &params)
            .ok_or_else(out_of_range)?;
    let placement = Amount(
        params
            .storage
            .placement_price_per_shard
            .0
            .checked_mul(u128::from(shares.total_shards))
            .ok_or_else(out_of_range)?,
    );
    let mut kept = Vec::with_capacity(QUOTED_YEARS.len());
    for years in QUOTED_YEARS {
        let periods = bitverse_pricing::prepaid_for_years(
            shard_size_bytes,
            shares.total_shards,
            years,
            &params.storage,
        )
        .ok_or_else(out_of_range)?;
        kept.push((
            years,
            periods.checked_add(placement).map_err(|_| out_of_range())?,
        ));
    }
    let stored_bytes = shard_size_bytes.saturating_mul(u64::from(shares.total_shards));
    if output.json {
        let kept_json: Vec<Value> = kept
            .iter()
            .map(|(years, amount)| json!({"years": years, "endowment": amount}))
            .collect();
        println!(
            "{}",
            json!({
                "network": network,
                "size_bytes": size_bytes,
                "data_shards": shares.data_shards,
                "total_shards": shares.total_shards,
                "shard_size_bytes": shard_size_bytes,
                "stored_bytes": stored_bytes,
                "endowment_min": least,
                "placement": placement,
                "price_per_gib_year": params.storage.price_per_gib_year,
                "yearly_retention_ppm": params.storage.yearly_retention_ppm,
                "period_blocks": params.storage.period_blocks,
                "kept_for": kept_json,
            })
        );
        return Ok(());
    }
    println!("{shown_path}: {size_bytes} bytes as a blob at {shares} on network {network}");
    println!(
        "  {} shards of {shard_size_bytes} bytes: {stored_bytes} bytes stored ({:.2}× the file)",
        shares.total_shards,
        stored_bytes as f64 / size_bytes as f64
    );
    println!(
        "  least endowment: {} (every shard's first period, and placement {})",
        shown(least, output.raw),
        shown(placement, output.raw)
    );
    for (years, amount) in &kept {
        println!(
            "  kept {years} year{}: {}",
            if *years == 1 { "" } else { "s" },
            shown(*amount, output.raw)
        );
    }
    println!(
        "  price: {} per GiB-year of shard bytes, {:.0} % cheaper each year; storers paid every {} root blocks",
        shown(params.storage.price_per_gib_year, output.raw),
        100.0 - f64::from(params.storage.yearly_retention_ppm) / 10_000.0,
        params.storage.period_blocks
    );
    Ok(())
}

/// The manifest `value` is, if the chain holds a stored blob at `key` with it as its value.
pub(crate) async fn blob_manifest(
    client: &NodeClient,
    key: &str,
    value: &[u8],
) -> Result<Option<bitverse_storage::Manifest>, CliError> {
    let Ok(manifest) = bitverse_storage::Manifest::decode(value) else {
        return Ok(None);
    };
    let Some(blob) = client.blob(key).await? else {
        return Ok(None);
    };
    if blob.manifest_hex != hex::encode(value) {
        return Ok(None);
    }
    if blob.status != "stored" {
        return Err(failed(format!(
            "{key} holds blob {} which is {}: it can be read once every shard is stored",
            blob.id, blob.status
        )));
    }
    Ok(Some(manifest))
}

/// The node's network and its parameters, which price a blob.
pub(crate) async fn network_params(client: &NodeClient) -> Result<(String, ChainParams), CliError> {
    let network = client.status().await?.network;
    let params = ChainParams::named(&network)
        .ok_or_else(|| failed(format!("the node runs an unknown network {network:?}")))?;
    Ok((network, params))
}
