//! The blob gateway on the RPC port (issue 19 §2, §4), as IPFS gateways serve files:
//!
//! - `POST /blob-upload/BLOB_ID` with a file as the body: the node streams it through the
//!   erasure coder of the blob's manifest and pushes each shard the chain has placed but no
//!   storer confirmed yet to its storer, all at once; answers JSON naming each shard's outcome
//!   (`bitverse put --file` sends it once the chain has drawn the storers).
//! - `GET /blob/KEY` (and `HEAD`): the blob stored at KEY, streamed as it is rebuilt from any
//!   k storers, every chunk verified against its shard root, with `Content-Length`, its
//!   content type, and `Range: bytes=A-B` answered `206` with only the stripes it touches.
//!
//! The chain is read for the manifest and the placement; the storers are reached through the
//! p2p handle. Work runs on blocking threads, at most [`TRANSFERS_AT_ONCE_MAX`] at once; the
//! body in and out moves through queues of [`CHUNKS_QUEUED`] chunks, so memory stays bounded
//! whatever the blob's size.

use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bitverse_blob_agent::fetch::{FetchError, ShardSource, fetch_range};
use bitverse_blob_agent::upload::{ShardOutcome, ShardTarget, upload_shards};
use bitverse_blocktree::blob::{Blob, BlobStatus};
use bitverse_p2p::{P2pHandle, PeerRef};
use bitverse_primitives::Hash;
use bytes::Bytes;
use http::{Method, StatusCode, header};
use http_body::Frame;
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde_json::json;
use tokio::sync::mpsc;

use crate::context::RpcContext;

/// Where uploads go: `POST /blob-upload/BLOB_ID`.
pub(crate) const UPLOAD_PATH: &str = "/blob-upload/";
/// Where blobs are read: `GET /blob/KEY`.
pub(crate) const BLOB_PATH: &str = "/blob/";
/// Uploads and reads running at once; more are answered `503`.
pub(crate) const TRANSFERS_AT_ONCE_MAX: usize = 8;
/// Chunks of a body queued between the HTTP side and the blocking worker, each way.
const CHUNKS_QUEUED: usize = 8;
/// The size of a chunk the gateway sends.
const CHUNK_BYTES: usize = 256 * 1024;

/// The HTTP middleware that answers the gateway's paths and passes everything else on.
#[derive(Clone)]
pub(crate) struct BlobGatewayLayer {
    pub(crate) context: Arc<RpcContext>,
    pub(crate) transfers: Arc<AtomicUsize>,
}

impl<S> tower::Layer<S> for BlobGatewayLayer {
    type Service = BlobGateway<S>;

    fn layer(&self, inner: S) -> BlobGateway<S> {
        BlobGateway {
            inner,
            layer: self.clone(),
        }
    }
}

/// See [`BlobGatewayLayer`].
#[derive(Clone)]
pub(crate) struct BlobGateway<S> {
    inner: S,
    layer: BlobGatewayLayer,
}

impl<S, B> tower::Service<HttpRequest<B>> for BlobGateway<S>
where
    S: tower::Service<HttpRequest<B>, Response = HttpResponse>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let method = request.method().clone();
        if let Some(id) = path.strip_prefix(UPLOAD_PATH) {
            let layer = self.layer.clone();
            let id = id.to_owned();
            return Box::pin(async move {
                if method != Method::POST {
                    return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "uploads are POSTed"));
                }
                Ok(layer.upload(&id, request.into_body()).await)
            });
        }
        if let Some(key) = path.strip_prefix(BLOB_PATH)
            && (method == Method::GET || method == Method::HEAD)
        {
            let layer = self.layer.clone();
            let key = percent_encoding::percent_decode_str(key)
                .decode_utf8_lossy()
                .into_owned();
            let range = request
                .headers()
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            return Box::pin(
                async move { Ok(layer.read(&key, range, method == Method::HEAD).await) },
            );
        }
        let answer = self.inner.call(request);
        Box::pin(async move { answer.await.map_err(Into::into) })
    }
}

/// A plain-text answer.
fn text(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(HttpBody::from(format!("{}\n", message.into())))
        .unwrap_or_else(|_| jsonrpsee::server::http::response::internal_error())
}

/// A JSON answer.
fn json_response(status: StatusCode, value: serde_json::Value) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(HttpBody::from(value.to_string()))
        .unwrap_or_else(|_| jsonrpsee::server::http::response::internal_error())
}

/// A slot among [`TRANSFERS_AT_ONCE_MAX`], given back when dropped.
struct TransferSlot(Arc<AtomicUsize>);

impl TransferSlot {
    fn take(counter: &Arc<AtomicUsize>) -> Option<TransferSlot> {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < TRANSFERS_AT_ONCE_MAX).then(|| n.saturating_add(1))
            })
            .ok()
            .map(|_| TransferSlot(counter.clone()))
    }
}

impl Drop for TransferSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How a request names its blob.
enum BlobBy<'a> {
    /// By id (an upload).
    Id(&'a str),
    /// By key (a read).
    Key(&'a str),
}

/// Why a blob cannot be served or taken, as the HTTP status and text the caller gets.
type Refusal = (StatusCode, String);

impl BlobGatewayLayer {
    fn p2p(&self) -> Result<P2pHandle, Refusal> {
        self.context.p2p.clone().ok_or((
            StatusCode::SERVICE_UNAVAILABLE,
            "this node runs without the network (no --p2p-addr): it cannot reach storers"
                .to_owned(),
        ))
    }

    /// Blob `id` (or the blob at `key`) and, for each of its shards, the peer its storer
    /// declared: read under one lock at one height, so the placement and the peers agree.
    fn blob_with_peers(&self, by: BlobBy<'_>) -> Result<(Blob, Vec<Option<PeerRef>>), Refusal> {
        let chain = self.context.chain.lock();
        let height = chain.tip().height;
        let internal =
            |e: bitverse_blocktree::ChainError| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        let blob = match by {
            BlobBy::Id(id) => {
                let id: Hash = id.parse().map_err(|_| {
                    (
                        StatusCode::BAD_REQUEST,
                        format!("{id:?} is not a blob id (64 hexadecimal digits)"),
                    )
                })?;
                chain
                    .blob_at(&id, height)
                    .map_err(internal)?
                    .ok_or((StatusCode::NOT_FOUND, format!("no blob {id} on the chain")))?
            }
            BlobBy::Key(key) => chain
                .blob_of_key_at(key, height)
                .map_err(internal)?
                .ok_or((StatusCode::NOT_FOUND, format!("no blob stored at {key}")))?,
        };
        let peers = blob
            .shards
            .iter()
            .map(|shard| {
                let peer = chain
                    .storer_peer_at(&shard.storer?, height)
                    .ok()
                    .flatten()?;
                peer.parse().ok()
            })
            .collect();
        Ok((blob, peers))
    }

    async fn upload<B>(&self, id: &str, body: B) -> HttpResponse
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let prepared = self
            .blob_with_peers(BlobBy::Id(id))
            .and_then(|(blob, peers)| {
                if !blob.status.is_live() {
                    return Err((
                        StatusCode::CONFLICT,
                        format!("blob {} is no longer live ({:?})", blob.id, blob.status),
                    ));
                }
                let p2p = self.p2p()?;
                Ok((blob, peers, p2p))
            });
        let (blob, peers, p2p) = match prepared {
            Ok(ready) => ready,
            Err((status, message)) => return text(status, message),
        };
        let mut targets = Vec::new();
        let mut unreachable = Vec::new();
        for (index, (shard, peer)) in blob.shards.iter().zip(&peers).enumerate() {
            let index = u8::try_from(index).unwrap_or(u8::MAX);
            let Some(storer) = shard.storer else {
                unreachable.push(json!({"index": index, "outcome": "not_placed",
                    "reason": "the chain has not drawn its storer yet"}));
                continue;
            };
            if shard.confirmed_height.is_some() {
                continue;
            }
            match peer {
                Some(peer) => targets.push(ShardTarget {
                    index,
                    storer: *peer,
                }),
                None => unreachable.push(json!({"index": index, "storer": storer.to_string(),
                    "outcome": "failed", "reason": "the storer declared no peer id"})),
            }
        }
        let Some(slot) = TransferSlot::take(&self.transfers) else {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{TRANSFERS_AT_ONCE_MAX} transfers are running; try again shortly"),
            );
        };
        let (chunks_tx, chunks) = mpsc::channel(CHUNKS_QUEUED);
        let pump = tokio::spawn(pump_body(body, chunks_tx));
        let manifest = blob.manifest.clone();
        let blob_id = blob.id;
        let worker_targets = targets.clone();
        let outcomes = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let reader = BodyReader {
                chunks,
                current: Bytes::new(),
            };
            upload_shards(&p2p, blob_id, &manifest, &worker_targets, reader, |_| {})
        })
        .await;
        pump.abort();
        let outcomes = match outcomes {
            Ok(Ok(outcomes)) => outcomes,
            Ok(Err(e)) => return text(StatusCode::BAD_REQUEST, e.to_string()),
            Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let mut failed = !unreachable.is_empty();
        let mut shards = unreachable;
        for (index, outcome) in outcomes {
            let storer = targets
                .iter()
                .find(|t| t.index == index)
                .map(|t| t.storer.to_string());
            shards.push(match outcome {
                ShardOutcome::Stored => {
                    json!({"index": index, "peer": storer, "outcome": "stored"})
                }
                ShardOutcome::AlreadyHeld => {
                    json!({"index": index, "peer": storer, "outcome": "held"})
                }
                ShardOutcome::Failed(reason) => {
                    failed = true;
                    json!({"index": index, "peer": storer, "outcome": "failed", "reason": reason})
                }
            });
        }
        let status = if failed {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::OK
        };
        json_response(status, json!({"blob": blob_id, "shards": shards}))
    }

    async fn read(&self, key: &str, range: Option<String>, head_only: bool) -> HttpResponse {
        let prepared = self
            .blob_with_peers(BlobBy::Key(key))
            .and_then(|(blob, peers)| {
                if blob.status != BlobStatus::Stored {
                    return Err((
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("the blob at {key} is not stored yet ({:?})", blob.status),
                    ));
                }
                let p2p = self.p2p()?;
                Ok((blob, peers, p2p))
            });
        let (blob, peers, p2p) = match prepared {
            Ok(ready) => ready,
            Err((status, message)) => return text(status, message),
        };
        let size_bytes = blob.manifest.size_bytes;
        let wanted = match range.as_deref().map(|r| parse_range(r, size_bytes)) {
            None => None,
            Some(Some(r)) => Some(r),
            Some(None) => {
                return http::Response::builder()
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{size_bytes}"))
                    .body(HttpBody::empty())
                    .unwrap_or_else(|_| jsonrpsee::server::http::response::internal_error());
            }
        };
        let span = wanted.clone().unwrap_or(0..size_bytes);
        let mut response = http::Response::builder()
            .header(header::CONTENT_TYPE, content_type(&blob))
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::CONTENT_LENGTH, span.end - span.start)
            .header(header::ETAG, format!("\"{}\"", blob.manifest.content_hash));
        response = match &wanted {
            Some(r) => response.status(StatusCode::PARTIAL_CONTENT).header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size_bytes}", r.start, r.end - 1),
            ),
            None => response.status(StatusCode::OK),
        };
        if head_only {
            return response
                .body(HttpBody::empty())
                .unwrap_or_else(|_| jsonrpsee::server::http::response::internal_error());
        }
        let sources: Vec<ShardSource> = blob
            .shards
            .iter()
            .zip(&peers)
            .enumerate()
            .filter(|(_, (shard, _))| shard.confirmed_height.is_some())
            .filter_map(|(index, (_, peer))| {
                Some(ShardSource {
                    index: u8::try_from(index).ok()?,
                    storer: (*peer)?,
                })
            })
            .collect();
        let Some(slot) = TransferSlot::take(&self.transfers) else {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{TRANSFERS_AT_ONCE_MAX} transfers are running; try again shortly"),
            );
        };
        let (chunks_tx, chunks) = mpsc::channel(CHUNKS_QUEUED);
        let manifest = blob.manifest.clone();
        let blob_id = blob.id;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let mut out = ChunkWriter {
                chunks: chunks_tx.clone(),
                buffer: Vec::with_capacity(CHUNK_BYTES),
            };
            let fetched = fetch_range(&p2p, blob_id, &manifest, &sources, span, &mut out, |_| {})
                .and_then(|report| out.flush().map(|()| report).map_err(FetchError::Write));
            if let Err(e) = fetched {
                tracing::warn!(blob = %blob_id, error = %e, "gateway read failed");
                // The status is sent already: an error ends the body, and the client sees a
                // response shorter than its Content-Length.
                let _ = chunks_tx.blocking_send(Err(e.to_string().into()));
            }
        });
        response
            .body(HttpBody::new(ChunkBody { chunks }))
            .unwrap_or_else(|_| jsonrpsee::server::http::response::internal_error())
    }
}

/// The blob's content type as its publisher gave it, else bytes.
fn content_type(blob: &Blob) -> String {
    if blob.content_type.is_empty() {
        "application/octet-stream".to_owned()
    } else {
        blob.content_type.clone()
    }
}

/// One `bytes=A-B`, `bytes=A-` or `bytes=-N` range of a blob of `size_bytes`, as a half-open
/// range; `None` if it is malformed, asks for several ranges, or lies outside the blob.
pub(crate) fn parse_range(text: &str, size_bytes: u64) -> Option<std::ops::Range<u64>> {
    let spec = text.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let suffix: u64 = suffix.parse().ok()?;
            (size_bytes.checked_sub(suffix.min(size_bytes))?, size_bytes)
        }
        (start, "") => (start.parse().ok()?, size_bytes),
        (start, end) => {
            let end: u64 = end.parse().ok()?;
            (start.parse().ok()?, end.saturating_add(1).min(size_bytes))
        }
    };
    (start < end && end <= size_bytes).then_some(start..end)
}

/// Moves a request body's chunks to the blocking worker; ends on the body's end or error.
async fn pump_body<B>(body: B, chunks: mpsc::Sender<Result<Bytes, String>>)
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut body = Box::pin(body);
    loop {
        // Made `Send` before the next await: the body's error type need not be.
        let item: Result<Bytes, String> = {
            let frame = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await;
            match frame_data(frame) {
                None => return,
                Some(None) => continue,
                Some(Some(item)) => item,
            }
        };
        if chunks.send(item).await.is_err() {
            return;
        }
    }
}

/// A body frame's data: `None` at the body's end, `Some(None)` for a frame without data
/// (trailers), else the data or the body's error as text.
fn frame_data<E: Into<BoxError>>(
    frame: Option<Result<Frame<Bytes>, E>>,
) -> Option<Option<Result<Bytes, String>>> {
    match frame? {
        Ok(frame) => Some(frame.into_data().ok().map(Ok)),
        Err(e) => Some(Some(Err(e.into().to_string()))),
    }
}

/// A request body read on a blocking thread.
struct BodyReader {
    chunks: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let take = buf.len().min(self.current.len());
        let chunk = self.current.split_to(take);
        if let Some(into) = buf.get_mut(..take) {
            into.copy_from_slice(&chunk);
        }
        Ok(take)
    }
}

/// A response body written on a blocking thread, in chunks of [`CHUNK_BYTES`].
struct ChunkWriter {
    chunks: mpsc::Sender<Result<Bytes, BoxError>>,
    buffer: Vec<u8>,
}

impl Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = CHUNK_BYTES.saturating_sub(self.buffer.len());
        let take = bytes.get(..room.min(bytes.len())).unwrap_or_default();
        self.buffer.extend_from_slice(take);
        if self.buffer.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(take.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        self.chunks
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the reader went away"))
    }
}

/// A response body fed by a [`ChunkWriter`].
struct ChunkBody {
    chunks: mpsc::Receiver<Result<Bytes, BoxError>>,
}

impl http_body::Body for ChunkBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| chunk.map(Frame::data)))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_are_read_as_browsers_send_them() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some(0..100));
        assert_eq!(parse_range("bytes=900-", 1000), Some(900..1000));
        assert_eq!(parse_range("bytes=-100", 1000), Some(900..1000));
        assert_eq!(parse_range("bytes=-5000", 1000), Some(0..1000));
        assert_eq!(parse_range("bytes=990-5000", 1000), Some(990..1000));
        for bad in [
            "bytes=1000-",
            "bytes=5-4",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=x-1",
            "bytes=-0",
        ] {
            assert_eq!(parse_range(bad, 1000), None, "{bad}");
        }
    }
}
