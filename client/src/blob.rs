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
use bitverse_primitives::{Amount, Hash};
use bitverse_rpc_api::BlobResult;
use bitverse_storage::{BLOB_SIZE_BYTES_MAX, Manifest, Shares, encode_blob};
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
    // One pass to make the manifest: every shard's root, without keeping a shard.
    let manifest = {
        let path = path.clone();
        let bar = progress_line(
            Some(size_bytes),
            "hashing {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        );
        let bar_in = bar.clone();
        let manifest = tokio::task::spawn_blocking(move || {
            let file = File::open(&path)?;
            let mut sinks: Vec<io::Sink> = (0..shares.total_shards).map(|_| io::sink()).collect();
            encode_blob(bar_in.wrap_read(file), shares, &mut sinks)
                .map_err(|e| io::Error::other(e.to_string()))
        })
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(format!("cannot encode {shown}: {e}")))?;
        bar.finish_and_clear();
        manifest
    };
    let status = client.status().await?;
    let params = ChainParams::named(&status.network).ok_or_else(|| {
        failed(format!(
            "the node runs an unknown network {:?}",
            status.network
        ))
    })?;
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
