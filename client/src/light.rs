//! The light client's root header chain, kept on disk between calls: each call downloads only
//! the headers after the ones it holds, checks them by the network's own header rules (the
//! same checker a full node's sync uses), and keeps the chain with the most work it is shown.
//!
//! The file is a sequence of records, `u32` little-endian length then the header's canonical
//! bytes, genesis first. Headers are only appended, except when a node shows a chain with more
//! work that forks below our tip: the file is then cut at the fork and the new branch appended.
//! A crash mid-append leaves a partial last record, which the next load cuts off.
//!
//! Beside it, a checkpoint (`root-headers.check`: the byte length, header count, tip hash and
//! cumulative work of the chain as last written) lets a call trust the records it wrote before
//! without decoding and re-linking them all: loading walks only the records' length prefixes
//! and checks the tip against the checkpoint, so a call at root height 100k costs what one at
//! 1k does. Headers are decoded when asked for. Without a checkpoint that matches, the whole
//! file is re-linked from genesis as before.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use bincode::{Decode, Encode};
use bitverse_blocktree::block::HEADER_SIZE_BYTES_MAX;
use bitverse_blocktree::{BlockHeader, ChainParams, HeaderChainChecker, genesis_block};
use bitverse_primitives::{Hash, codec};

use crate::node_client::{CliError, NodeClient};
use bitverse_rpc_api::HEADERS_PER_CALL_MAX;

/// Headers fetched in one sync beyond which progress is shown on a terminal.
const PROGRESS_HEADERS_MIN: u64 = 2_000;

fn failed(message: impl Into<String>) -> CliError {
    CliError::Failed(message.into())
}

/// The default directory for light-client state: `$XDG_DATA_HOME/bitverse/light`, else
/// `~/.local/share/bitverse/light`, else `./.bitverse-light`.
pub(crate) fn default_state_dir() -> PathBuf {
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(data).join("bitverse/light");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/bitverse/light");
    }
    PathBuf::from(".bitverse-light")
}

/// Headers before a fork point handed to the header checker: enough for the retarget window
/// and the median time past.
const CHECK_ANCESTORS_MAX: usize = 1024;

/// What the checkpoint file records of the chain as last written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
struct Checkpoint {
    /// Bytes of records it covers, from the file's start.
    bytes_len: u64,
    /// Headers in those bytes, genesis included.
    count: u64,
    /// The last one's hash.
    tip_hash: Hash,
    /// Cumulative work up to it.
    tip_work: u128,
}

/// A verified root header chain from genesis, on disk, its records held as bytes and decoded
/// when asked for.
pub(crate) struct LightHeaders {
    params: ChainParams,
    file: File,
    path: PathBuf,
    /// The file's records, genesis first.
    bytes: Vec<u8>,
    /// Byte offset of each header's record: `offsets[h]` is height `h`'s.
    offsets: Vec<usize>,
    /// Cumulative work up to the tip.
    tip_work: u128,
}

/// What one sync did.
pub(crate) struct SyncReport {
    /// Headers downloaded and checked in this call.
    pub fetched: u64,
    /// Headers of ours replaced by a chain with more work.
    pub replaced: u64,
}

impl LightHeaders {
    /// Opens (or starts) the header chain of `params`' network under `state_dir`. `instance`
    /// names one chain of a network where work cannot tell chains apart: every `--dev` node
    /// seals its own chain at difficulty 1 from the same genesis, so each is kept apart, by
    /// the hash of its first block.
    pub(crate) fn open(
        state_dir: &Path,
        params: &ChainParams,
        instance: Option<Hash>,
    ) -> Result<LightHeaders, CliError> {
        let genesis = genesis_block(params)
            .map_err(|e| failed(format!("cannot compute the genesis: {e}")))?
            .header;
        let mut name = format!("{}-{}", params.network, &genesis.hash().to_string()[..16]);
        if let Some(instance) = instance {
            name.push('-');
            name.push_str(&instance.to_string()[..16]);
        }
        let dir = state_dir.join(name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("root-headers.bin");
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| failed(format!("cannot open {}: {e}", path.display())))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| failed(format!("cannot read {}: {e}", path.display())))?;
        let mut light = LightHeaders {
            params: params.clone(),
            file,
            path,
            bytes: Vec::new(),
            offsets: Vec::new(),
            tip_work: 0,
        };
        light.load(bytes, genesis)?;
        Ok(light)
    }

    fn checkpoint_path(&self) -> PathBuf {
        self.path.with_extension("check")
    }

    /// The checkpoint, if there is one that decodes.
    fn read_checkpoint(&self) -> Option<Checkpoint> {
        let bytes = std::fs::read(self.checkpoint_path()).ok()?;
        codec::decode(&bytes).ok()
    }

    /// Records what the file holds now, through a temporary file and a rename.
    fn write_checkpoint(&self) -> Result<(), CliError> {
        let Some(tip) = self.header_at(self.tip_height()) else {
            return Ok(());
        };
        let checkpoint = Checkpoint {
            bytes_len: self.bytes.len() as u64,
            count: self.offsets.len() as u64,
            tip_hash: tip.hash(),
            tip_work: self.tip_work,
        };
        let path = self.checkpoint_path();
        let temporary = path.with_extension("check.tmp");
        std::fs::write(&temporary, codec::encode(&checkpoint))
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))
    }

    /// The offsets of the records in `bytes[..len]` if they are exactly `count` whole records
    /// whose last decodes to a header hashing to `tip_hash`: the checkpoint holds.
    fn trusted_prefix(bytes: &[u8], checkpoint: &Checkpoint) -> Option<Vec<usize>> {
        let len = usize::try_from(checkpoint.bytes_len).ok()?;
        let prefix = bytes.get(..len)?;
        let mut offsets = Vec::new();
        let mut offset = 0usize;
        while offset < len {
            offsets.push(offset);
            offset = offset
                .checked_add(4)?
                .checked_add(record_len(prefix, offset)?)?;
        }
        let last = *offsets.last()?;
        let tip = read_record(prefix, last)??;
        (offset == len
            && offsets.len() as u64 == checkpoint.count
            && tip.hash() == checkpoint.tip_hash)
            .then_some(offsets)
    }

    /// Takes the file's records: those the checkpoint vouches for as they are, then the rest
    /// (or all of them, without a checkpoint that holds) as the longest run that links from
    /// the last; anything after (a partial record from a crash, or damage) is cut off the file.
    fn load(&mut self, bytes: Vec<u8>, genesis: BlockHeader) -> Result<(), CliError> {
        let trusted = self
            .read_checkpoint()
            .and_then(|checkpoint| Some((Self::trusted_prefix(&bytes, &checkpoint)?, checkpoint)));
        let mut offset = 0usize;
        let mut previous: Option<BlockHeader> = None;
        if let Some((offsets, checkpoint)) = trusted {
            offset = checkpoint.bytes_len as usize;
            previous = offsets.last().and_then(|last| read_record(&bytes, *last)?);
            self.offsets = offsets;
            self.tip_work = checkpoint.tip_work;
        }
        while let Some(header) = read_record(&bytes, offset) {
            let Some(header) = header else { break };
            let linked = match &previous {
                None => header == genesis,
                Some(previous) => {
                    header.parent == previous.hash()
                        && Some(header.height) == previous.height.checked_add(1)
                }
            };
            if !linked {
                break;
            }
            self.keep(&header, offset);
            offset += 4 + record_len(&bytes, offset).unwrap_or(0);
            previous = Some(header);
        }
        self.bytes = bytes;
        if offset < self.bytes.len() {
            self.cut(offset)?;
        }
        if self.offsets.is_empty() {
            self.append(std::slice::from_ref(&genesis))?;
        } else {
            self.write_checkpoint()?;
        }
        Ok(())
    }

    /// Holds `header`, whose record starts at byte `offset`, as the next one, adding its work
    /// (genesis counts none).
    fn keep(&mut self, header: &BlockHeader, offset: usize) {
        if header.height > 0 {
            self.tip_work = self.tip_work.saturating_add(u128::from(header.difficulty));
        }
        self.offsets.push(offset);
    }

    /// Cumulative work up to `height`: the tip's, less the work of the headers above it.
    fn work_at(&self, height: u64) -> u128 {
        let mut work = self.tip_work;
        for above in height.saturating_add(1)..=self.tip_height() {
            if let Some(header) = self.header_at(above) {
                work = work.saturating_sub(u128::from(header.difficulty));
            }
        }
        work
    }

    /// The header at `height` we hold, if any, decoded from its record.
    pub(crate) fn header_at(&self, height: u64) -> Option<BlockHeader> {
        let offset = *self.offsets.get(usize::try_from(height).ok()?)?;
        read_record(&self.bytes, offset)?
    }

    /// Height of our tip.
    pub(crate) fn tip_height(&self) -> u64 {
        self.offsets.len().saturating_sub(1) as u64
    }

    /// Cumulative work of the chain up to our tip.
    pub(crate) fn tip_work(&self) -> u128 {
        self.tip_work
    }

    /// Headers held.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Cuts the file (and what we hold) at byte `offset`, a record boundary.
    fn cut(&mut self, offset: usize) -> Result<(), CliError> {
        self.bytes.truncate(offset);
        self.file
            .set_len(offset as u64)
            .and_then(|()| self.file.seek(SeekFrom::End(0)).map(|_| ()))
            .map_err(|e| failed(format!("cannot cut {}: {e}", self.path.display())))
    }

    fn append(&mut self, headers: &[BlockHeader]) -> Result<(), CliError> {
        let start = self.bytes.len();
        for header in headers {
            let bytes = header.to_bytes();
            let offset = self.bytes.len();
            self.bytes
                .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            self.bytes.extend_from_slice(&bytes);
            self.keep(header, offset);
        }
        let written = self.bytes.get(start..).unwrap_or_default();
        self.file
            .write_all(written)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| failed(format!("cannot write {}: {e}", self.path.display())))?;
        self.write_checkpoint()
    }

    /// Brings the chain up to the node's: finds where the node's best chain and ours part,
    /// checks the node's headers from there by the full rules, and adopts them if they carry
    /// more work than ours. A node showing less work than we hold changes nothing.
    pub(crate) async fn sync(
        &mut self,
        client: &NodeClient,
        node_height: u64,
        now_ms: u64,
    ) -> Result<SyncReport, CliError> {
        let fork = self.common_height(client, node_height).await?;
        let fork_index = usize::try_from(fork).map_err(|_| failed("height out of range"))?;
        let ancestors_from = fork.saturating_sub(CHECK_ANCESTORS_MAX as u64);
        let trusted = (ancestors_from..=fork)
            .map(|height| self.header_at(height))
            .collect::<Option<Vec<BlockHeader>>>()
            .ok_or_else(|| failed("fork point beyond our headers"))?;
        let base_work = self.work_at(fork);
        let mut checker = HeaderChainChecker::resume(&self.params, trusted, base_work)
            .map_err(|e| failed(format!("cannot resume the header check: {e}")))?;
        let total = node_height.saturating_sub(fork);
        let progress = Progress::new(total);
        let mut branch: Vec<BlockHeader> = Vec::new();
        let mut next = fork.saturating_add(1);
        while next <= node_height {
            let count = (node_height - next + 1).min(HEADERS_PER_CALL_MAX);
            let page = fetch_page(client, next, count).await?;
            if page.is_empty() {
                break;
            }
            for header in page {
                let height = header.height;
                checker.push(header.clone(), now_ms).map_err(|e| {
                    failed(format!(
                        "verification failed: the node's header at height {height} breaks the network's rules: {e}"
                    ))
                })?;
                branch.push(header);
            }
            next = fork.saturating_add(1).saturating_add(branch.len() as u64);
            progress.show(branch.len() as u64);
        }
        progress.finish(branch.len() as u64);
        let ours = self.tip_work;
        let replaced = self.tip_height().saturating_sub(fork);
        if checker.cumulative_work() <= ours && replaced > 0 {
            // Ours has at least as much work: keep it.
            return Ok(SyncReport {
                fetched: branch.len() as u64,
                replaced: 0,
            });
        }
        if replaced > 0 {
            let cut_at = self
                .offsets
                .get(fork_index + 1)
                .copied()
                .ok_or_else(|| failed("fork point beyond our headers"))?;
            self.tip_work = base_work;
            self.offsets.truncate(fork_index + 1);
            self.cut(cut_at)?;
        }
        self.append(&branch)?;
        Ok(SyncReport {
            fetched: branch.len() as u64,
            replaced,
        })
    }

    /// The highest height at which the node's best chain holds our header: our tip if the
    /// node extends it, else found by walking back a page at a time.
    async fn common_height(&self, client: &NodeClient, node_height: u64) -> Result<u64, CliError> {
        let mut top = self.tip_height().min(node_height);
        loop {
            let from = top.saturating_sub(HEADERS_PER_CALL_MAX - 1);
            let page = fetch_page(client, from, top - from + 1).await?;
            for header in page.iter().rev() {
                if self.header_at(header.height).map(|h| h.hash()) == Some(header.hash()) {
                    return Ok(header.height);
                }
            }
            if from == 0 {
                return Err(failed(
                    "verification failed: the node's chain does not start at this network's genesis",
                ));
            }
            top = from - 1;
        }
    }
}

/// The record at `offset`: `None` at the end, `Some(None)` for one that does not decode.
fn read_record(bytes: &[u8], offset: usize) -> Option<Option<BlockHeader>> {
    let len = record_len(bytes, offset)?;
    let body = bytes.get(offset + 4..offset + 4 + len);
    Some(body.and_then(|body| BlockHeader::from_bytes(body).ok()))
}

fn record_len(bytes: &[u8], offset: usize) -> Option<usize> {
    let prefix: [u8; 4] = bytes.get(offset..offset + 4)?.try_into().ok()?;
    let len = u32::from_le_bytes(prefix) as usize;
    (len <= HEADER_SIZE_BYTES_MAX).then_some(len)
}

/// Headers `from..from + count` of the node's best chain, decoded.
pub(crate) async fn fetch_page(
    client: &NodeClient,
    from: u64,
    count: u64,
) -> Result<Vec<BlockHeader>, CliError> {
    let page = client.headers(from, count).await?;
    if page.len() as u64 > count {
        return Err(failed(format!(
            "node sent {} headers where {count} were asked",
            page.len()
        )));
    }
    let mut headers = Vec::with_capacity(page.len());
    for (i, header_hex) in page.iter().enumerate() {
        let bytes = hex::decode(header_hex)
            .map_err(|e| failed(format!("verification failed: header is not hex: {e}")))?;
        let header = BlockHeader::from_bytes(&bytes)
            .map_err(|e| failed(format!("verification failed: {e}")))?;
        if header.height != from + i as u64 {
            return Err(failed(format!(
                "verification failed: node sent height {} where {} was asked",
                header.height,
                from + i as u64
            )));
        }
        headers.push(header);
    }
    Ok(headers)
}

/// Progress of a long header download on a terminal (stderr); silent when piped.
struct Progress {
    /// None below [`PROGRESS_HEADERS_MIN`] headers.
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let bar = (total >= PROGRESS_HEADERS_MIN).then(|| {
            crate::output::progress_line(
                Some(total),
                "headers: {pos}/{len} ({per_sec}, {eta} left)",
            )
        });
        Progress { bar }
    }

    fn show(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    fn finish(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.finish();
        }
    }
}

/// `bitverse bench light-client`: times opening a stored chain of `height` dev headers
/// through its checkpoint and by re-linking every record, `rounds` of each.
pub fn bench(height: u64, rounds: u32, json: bool) -> anyhow::Result<()> {
    use anyhow::Context;
    let params = ChainParams::dev();
    let mut chain = bitverse_blocktree::Chain::in_memory(params.clone())
        .map_err(|e| anyhow::anyhow!("cannot start a dev chain: {e}"))?;
    let miner = bitverse_primitives::SecretKey::dev("miner").account();
    eprintln!("light-client bench: building {height} dev headers …");
    let mut headers = Vec::new();
    for i in 1..=height {
        let block = chain
            .produce_block(miner, params.genesis_time_ms + i * 1_000, true, u64::MAX)
            .map_err(|e| anyhow::anyhow!("cannot seal block {i}: {e}"))?
            .context("a dev block is always sealed")?;
        headers.push(block.header);
    }
    let dir = tempfile::tempdir().context("cannot make a temporary state directory")?;
    let open =
        || LightHeaders::open(dir.path(), &params, None).map_err(|e| anyhow::anyhow!("{e:?}"));
    let checkpoint = {
        let mut light = open()?;
        light
            .append(&headers)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        light.checkpoint_path()
    };
    let mut through_checkpoint = Vec::new();
    let mut relinked = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let light = open()?;
        through_checkpoint.push(started.elapsed());
        drop(light);
        std::fs::remove_file(&checkpoint).context("cannot remove the checkpoint")?;
        let started = Instant::now();
        let light = open()?;
        relinked.push(started.elapsed());
        if light.tip_height() != height {
            anyhow::bail!("reopened at height {}, not {height}", light.tip_height());
        }
    }
    let stats = |times: &[std::time::Duration]| {
        let best = times.iter().min().copied().unwrap_or_default();
        let mean = times.iter().sum::<std::time::Duration>() / rounds.max(1);
        (best.as_secs_f64() * 1e3, mean.as_secs_f64() * 1e3)
    };
    let (fast_best, fast_mean) = stats(&through_checkpoint);
    let (slow_best, slow_mean) = stats(&relinked);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "height": height,
                "rounds": rounds,
                "checkpoint_ms_best": fast_best,
                "checkpoint_ms_mean": fast_mean,
                "relinked_ms_best": slow_best,
                "relinked_ms_mean": slow_mean,
            })
        );
    } else {
        println!("root headers held: {height}, {rounds} opens of each");
        println!("through the checkpoint: {fast_best:.1} ms best, {fast_mean:.1} ms mean");
        println!("re-linking every record: {slow_best:.1} ms best, {slow_mean:.1} ms mean");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitverse_blocktree::Chain;
    use bitverse_primitives::SecretKey;

    /// Headers 1..=count of a dev chain, after its genesis.
    fn headers(count: u64) -> Vec<BlockHeader> {
        let params = ChainParams::dev();
        let mut chain = Chain::in_memory(params.clone()).unwrap();
        let miner = SecretKey::dev("miner").account();
        (1..=count)
            .map(|i| {
                chain
                    .produce_block(miner, params.genesis_time_ms + i * 1_000, true, u64::MAX)
                    .unwrap()
                    .unwrap()
                    .header
            })
            .collect()
    }

    fn open(dir: &Path) -> LightHeaders {
        LightHeaders::open(dir, &ChainParams::dev(), None).unwrap()
    }

    fn summary(light: &LightHeaders) -> (u64, Option<Hash>, u128) {
        let tip = light.header_at(light.tip_height()).map(|h| h.hash());
        (light.tip_height(), tip, light.tip_work)
    }

    #[test]
    fn a_reopened_chain_is_the_same_with_or_without_its_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let written = {
            let mut light = open(dir.path());
            light.append(&headers(50)).unwrap();
            summary(&light)
        };
        assert_eq!(written.0, 50);
        let reopened = open(dir.path());
        assert_eq!(summary(&reopened), written, "through the checkpoint");
        assert_eq!(reopened.work_at(0), 0);
        assert_eq!(reopened.work_at(50), written.2);
        let checkpoint = reopened.checkpoint_path();
        drop(reopened);
        // A damaged or missing checkpoint: every record is re-linked from genesis instead.
        std::fs::write(&checkpoint, b"garbage").unwrap();
        assert_eq!(summary(&open(dir.path())), written, "damaged checkpoint");
        std::fs::remove_file(&checkpoint).unwrap();
        assert_eq!(summary(&open(dir.path())), written, "no checkpoint");
        assert!(checkpoint.exists(), "a load writes the checkpoint again");
    }

    #[test]
    fn records_after_the_checkpoint_are_linked_and_damage_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let all = headers(30);
        let (path, checkpoint) = {
            let mut light = open(dir.path());
            light.append(&all[..20]).unwrap();
            (light.path.clone(), light.checkpoint_path())
        };
        let vouched = std::fs::read(&checkpoint).unwrap();
        {
            let mut light = open(dir.path());
            light.append(&all[20..]).unwrap();
        }
        // As after a crash between writing records and the checkpoint: the checkpoint vouches
        // for 20 headers, the records after it are linked, and a torn last record is cut.
        std::fs::write(&checkpoint, &vouched).unwrap();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[200, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(file);
        let light = open(dir.path());
        assert_eq!(light.tip_height(), 30);
        assert_eq!(light.header_at(30), all.last().cloned());
        let length = std::fs::metadata(&path).unwrap().len();
        assert_eq!(length, light.bytes.len() as u64, "the torn record is cut");
        // A checkpoint whose tip is not the record there is not trusted.
        let mut lying: Checkpoint = codec::decode(&vouched).unwrap();
        lying.tip_hash = Hash::digest(b"another tip");
        std::fs::write(&checkpoint, codec::encode(&lying)).unwrap();
        assert_eq!(open(dir.path()).tip_height(), 30, "re-linked instead");
    }
}
