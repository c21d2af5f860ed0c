//! The light client's root header chain, kept on disk between calls: each call downloads only
//! the headers after the ones it holds, checks them by the network's own header rules (the
//! same checker a full node's sync uses), and keeps the chain with the most work it is shown.
//!
//! The file is a sequence of records, `u32` little-endian length then the header's canonical
//! bytes, genesis first. Headers are only appended, except when a node shows a chain with more
//! work that forks below our tip: the file is then cut at the fork and the new branch appended.
//! A crash mid-append leaves a partial last record, which the next load cuts off.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use bitverse_blocktree::block::HEADER_SIZE_BYTES_MAX;
use bitverse_blocktree::{BlockHeader, ChainParams, HeaderChainChecker, genesis_block};
use bitverse_primitives::Hash;

use crate::client::{CliError, NodeClient};
use crate::rpc_api::HEADERS_PER_CALL_MAX;

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

/// A verified root header chain from genesis, in memory and on disk.
pub(crate) struct LightHeaders {
    params: ChainParams,
    file: File,
    path: PathBuf,
    /// Genesis first; `headers[h].height == h`.
    headers: Vec<BlockHeader>,
    /// Byte offset of each header's record, for cutting the file at a fork.
    offsets: Vec<u64>,
    /// Cumulative work up to each header.
    work: Vec<u128>,
}

/// What one sync did.
pub(crate) struct SyncReport {
    /// Headers downloaded and checked in this call.
    pub(crate) fetched: u64,
    /// Headers of ours replaced by a chain with more work.
    pub(crate) replaced: u64,
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
            headers: Vec::new(),
            offsets: Vec::new(),
            work: Vec::new(),
        };
        light.load(&bytes, genesis)?;
        Ok(light)
    }

    /// Reads the records, keeping the longest prefix that links from genesis; anything after
    /// (a partial record from a crash, or damage) is cut off the file.
    fn load(&mut self, bytes: &[u8], genesis: BlockHeader) -> Result<(), CliError> {
        let mut offset = 0usize;
        while let Some(header) = read_record(bytes, offset) {
            let Some(header) = header else { break };
            let linked = match self.headers.last() {
                None => header == genesis,
                Some(previous) => {
                    header.parent == previous.hash()
                        && Some(header.height) == previous.height.checked_add(1)
                }
            };
            if !linked {
                break;
            }
            self.keep(header, offset as u64);
            offset += 4 + record_len(bytes, offset).unwrap_or(0);
        }
        if offset < bytes.len() {
            self.cut(offset as u64)?;
        }
        if self.headers.is_empty() {
            self.append(std::slice::from_ref(&genesis))?;
        }
        Ok(())
    }

    /// Holds `header`, whose record starts at byte `offset`, as the next one, with its
    /// cumulative work (genesis counts none).
    fn keep(&mut self, header: BlockHeader, offset: u64) {
        let below = self.work.last().copied().unwrap_or(0);
        let work = if header.height == 0 {
            0
        } else {
            below.saturating_add(u128::from(header.difficulty))
        };
        self.offsets.push(offset);
        self.work.push(work);
        self.headers.push(header);
    }

    /// The header at `height` we hold, if any.
    pub(crate) fn header_at(&self, height: u64) -> Option<&BlockHeader> {
        self.headers.get(usize::try_from(height).ok()?)
    }

    /// Height of our tip.
    pub(crate) fn tip_height(&self) -> u64 {
        self.headers.len().saturating_sub(1) as u64
    }

    /// Headers held.
    pub(crate) fn len(&self) -> usize {
        self.headers.len()
    }

    fn cut(&mut self, offset: u64) -> Result<(), CliError> {
        self.file
            .set_len(offset)
            .and_then(|()| self.file.seek(SeekFrom::End(0)).map(|_| ()))
            .map_err(|e| failed(format!("cannot cut {}: {e}", self.path.display())))
    }

    fn append(&mut self, headers: &[BlockHeader]) -> Result<(), CliError> {
        let mut end = self
            .file
            .seek(SeekFrom::End(0))
            .map_err(|e| failed(format!("cannot seek {}: {e}", self.path.display())))?;
        let mut buffer = Vec::new();
        for header in headers {
            let bytes = header.to_bytes();
            self.keep(header.clone(), end);
            buffer.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            buffer.extend_from_slice(&bytes);
            end += 4 + bytes.len() as u64;
        }
        self.file
            .write_all(&buffer)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| failed(format!("cannot write {}: {e}", self.path.display())))
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
        let ancestors_from = fork_index.saturating_sub(1024);
        let trusted = self
            .headers
            .get(ancestors_from..=fork_index)
            .ok_or_else(|| failed("fork point beyond our headers"))?
            .to_vec();
        let base_work = self.work.get(fork_index).copied().unwrap_or(0);
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
        let ours = self.work.last().copied().unwrap_or(0);
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
            self.headers.truncate(fork_index + 1);
            self.offsets.truncate(fork_index + 1);
            self.work.truncate(fork_index + 1);
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
                if self.header_at(header.height).map(BlockHeader::hash) == Some(header.hash()) {
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
    total: u64,
    started: Instant,
    shown: bool,
}

impl Progress {
    fn new(total: u64) -> Progress {
        Progress {
            total,
            started: Instant::now(),
            shown: total >= PROGRESS_HEADERS_MIN && std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, done: u64) {
        if !self.shown {
            return;
        }
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = done as f64 / seconds;
        let left = if rate > 0.0 {
            (self.total.saturating_sub(done)) as f64 / rate
        } else {
            0.0
        };
        eprint!(
            "\rheaders: {done}/{} ({rate:.0}/s, {left:.0} s left)   ",
            self.total
        );
    }

    fn finish(&self, done: u64) {
        if self.shown {
            self.show(done);
            eprintln!();
        }
    }
}
