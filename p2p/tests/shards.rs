//! The shard protocol between two real swarms on loopback: a shard uploaded piece by piece to
//! a storer backed by a real shard store, ranges read back and verified against the shard
//! root, and the refusals an uploader must see (not a storer, a bad root).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bitverse_blocktree::{Blocktree, ChainParams, Tracking};
use bitverse_metrics::NodeMetrics;
use bitverse_p2p::{
    P2pAddr, P2pConfig, P2pHandle, PeerRef, SHARD_PIECE_BYTES_MAX, ShardRef, ShardRequest,
    ShardResponse, ShardService,
};
use bitverse_primitives::Hash;
use bitverse_shard_store::{ShardId, ShardMeta, ShardStore, ShardStoreConfig};
use tokio::sync::{Notify, watch};

const TIMEOUT_MS: u64 = 30_000;

/// A storer that takes every shard offered: the node's own service also checks the chain's
/// placement, which this test of the wire has no chain for.
struct StoreEverything(ShardStore);

impl ShardService for StoreEverything {
    fn serve(&self, _from: PeerRef, request: ShardRequest) -> ShardResponse {
        let id = |shard: ShardRef| ShardId {
            blob: shard.blob,
            index: shard.index,
        };
        let result = match request {
            ShardRequest::Begin {
                shard,
                root,
                size_bytes,
            } => self
                .0
                .begin_upload(id(shard), ShardMeta { root, size_bytes })
                .map(|begun| ShardResponse::Begun { held: !begun }),
            ShardRequest::Piece {
                shard,
                offset,
                bytes,
            } => self
                .0
                .write_piece(id(shard), offset, &bytes)
                .map(|written_bytes| ShardResponse::Written { written_bytes }),
            ShardRequest::Finish { shard } => self
                .0
                .finish_upload(id(shard))
                .map(|_| ShardResponse::Stored),
            ShardRequest::Range { shard, start, end } => self
                .0
                .prove(id(shard), start..end)
                .map(|bytes| ShardResponse::Proof { bytes }),
        };
        result.unwrap_or_else(|e| ShardResponse::refused(e.to_string()))
    }
}

struct Node {
    handle: P2pHandle,
    addr: String,
    _dir: tempfile::TempDir,
}

async fn start(
    shard_service: Option<Arc<dyn ShardService>>,
    bootstrap: Option<&str>,
    stop: watch::Receiver<bool>,
) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let tree = Arc::new(Blocktree::in_memory(ChainParams::dev(), Tracking::All).unwrap());
    let metrics = Arc::new(NodeMetrics::new(tree.root().lock().tip().hash));
    let config = P2pConfig {
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        bootstrap: bootstrap
            .map(|a| a.parse::<P2pAddr>().unwrap())
            .into_iter()
            .collect(),
        data_dir: dir.path().to_path_buf(),
        metrics,
        shard_service,
    };
    let (handle, _task, _heard) = bitverse_p2p::start(config, tree, Arc::new(Notify::new()), stop)
        .await
        .unwrap();
    let addr = std::fs::read_to_string(dir.path().join(bitverse_p2p::P2P_ADDR_FILE)).unwrap();
    Node {
        handle,
        addr: addr.trim().to_owned(),
        _dir: dir,
    }
}

async fn ask(node: &Node, peer: PeerRef, request: ShardRequest) -> ShardResponse {
    let handle = node.handle.clone();
    tokio::task::spawn_blocking(move || handle.shard_request_blocking(peer, request, TIMEOUT_MS))
        .await
        .unwrap()
        .unwrap()
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    let mut out = vec![0; len];
    blake3::Hasher::new()
        .update(&[seed])
        .finalize_xof()
        .fill(&mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_uploaded_over_loopback_comes_back_verified() {
    let (stop_tx, stop) = watch::channel(false);
    let store_dir = tempfile::tempdir().unwrap();
    let (store, _) = ShardStore::open(ShardStoreConfig {
        dir: store_dir.path().to_path_buf(),
        capacity_bytes: 1 << 30,
    })
    .unwrap();
    let storer = start(Some(Arc::new(StoreEverything(store))), None, stop.clone()).await;
    let uploader = start(None, Some(&storer.addr), stop.clone()).await;
    let storer_peer = storer.handle.local_peer();
    let deadline = Instant::now() + Duration::from_millis(TIMEOUT_MS);
    while uploader.handle.snapshot().peers.is_empty() {
        assert!(Instant::now() < deadline, "the nodes never connected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A 12 MB photo at 3-of-10 makes 4 MB shards: four whole pieces and a short one.
    let data = bytes(4_500_000, 1);
    let shard = ShardRef {
        blob: Hash::digest(b"photo"),
        index: 2,
    };
    let root = Hash::digest(&data);
    let begin = ShardRequest::Begin {
        shard,
        root,
        size_bytes: data.len() as u64,
    };
    assert_eq!(
        ask(&uploader, storer_peer, begin.clone()).await,
        ShardResponse::Begun { held: false }
    );
    let mut offset = 0u64;
    for piece in data.chunks(SHARD_PIECE_BYTES_MAX) {
        let request = ShardRequest::Piece {
            shard,
            offset,
            bytes: piece.to_vec(),
        };
        offset += piece.len() as u64;
        assert_eq!(
            ask(&uploader, storer_peer, request).await,
            ShardResponse::Written {
                written_bytes: offset
            }
        );
    }
    assert_eq!(
        ask(&uploader, storer_peer, ShardRequest::Finish { shard }).await,
        ShardResponse::Stored
    );
    // Offered again, it is held already.
    assert_eq!(
        ask(&uploader, storer_peer, begin).await,
        ShardResponse::Begun { held: true }
    );

    let (start_byte, end_byte) = (1_000_000u64, 2_048_576u64);
    let ShardResponse::Proof { bytes: proof } = ask(
        &uploader,
        storer_peer,
        ShardRequest::Range {
            shard,
            start: start_byte,
            end: end_byte,
        },
    )
    .await
    else {
        panic!("no proof");
    };
    let mut got = Vec::new();
    bitverse_storage::verify_range(
        root,
        data.len() as u64,
        start_byte..end_byte,
        proof.as_slice(),
        |_, b| got.extend_from_slice(b),
    )
    .unwrap();
    assert_eq!(got, data[start_byte as usize..end_byte as usize]);

    // A range larger than a response is refused with the limit named.
    let ShardResponse::Refused { reason } = ask(
        &uploader,
        storer_peer,
        ShardRequest::Range {
            shard,
            start: 0,
            end: 3_000_000,
        },
    )
    .await
    else {
        panic!("a 3 MB range was served");
    };
    assert!(reason.contains("1048576"), "{reason}");

    // Bytes that do not hash to the root they were offered with are refused at the end.
    let other = ShardRef { index: 3, ..shard };
    let small = bytes(10_000, 2);
    ask(
        &uploader,
        storer_peer,
        ShardRequest::Begin {
            shard: other,
            root: Hash::digest(b"not these bytes"),
            size_bytes: small.len() as u64,
        },
    )
    .await;
    ask(
        &uploader,
        storer_peer,
        ShardRequest::Piece {
            shard: other,
            offset: 0,
            bytes: small,
        },
    )
    .await;
    let ShardResponse::Refused { reason } = ask(
        &uploader,
        storer_peer,
        ShardRequest::Finish { shard: other },
    )
    .await
    else {
        panic!("a shard that misses its root was stored");
    };
    assert!(reason.contains("not its root"), "{reason}");

    // A node that stores nothing says so.
    let ShardResponse::Refused { reason } = ask(
        &storer,
        uploader.handle.local_peer(),
        ShardRequest::Finish { shard },
    )
    .await
    else {
        panic!("a non-storer answered");
    };
    assert!(reason.contains("stores no shards"), "{reason}");
    stop_tx.send(true).unwrap();
}
