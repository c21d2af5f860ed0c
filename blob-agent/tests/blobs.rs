//! The blob agent end to end over ten storers, each a real shard store in its own directory
//! behind the real storer service, reached through an in-process transport (the libp2p wire
//! is `p2p/tests/shards.rs`'s, and whole nodes are the scenario tests'): a photo-sized file
//! put at 3-of-10 and read back byte for byte with seven storers gone, a storer whose disk
//! flipped a byte dropped at that chunk, and uploads that must not count.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::Mutex;

use bitverse_blob_agent::ShardTransport;
use bitverse_blob_agent::fetch::{FetchError, ShardSource, fetch_blob, fetch_range};
use bitverse_blob_agent::repair::rebuild_shard;
use bitverse_blob_agent::storer::{NotPlaced, ShardPlacement, StorerService};
use bitverse_blob_agent::upload::{ShardOutcome, ShardTarget, UploadError, upload_shards};
use bitverse_p2p::{PeerRef, ShardRef, ShardRequest, ShardResponse, ShardService};
use bitverse_primitives::Hash;
use bitverse_shard_store::{ShardId, ShardStore, ShardStoreConfig};
use bitverse_storage::{Manifest, Shares, encode_blob};

/// A file of `len` reproducible, incompressible bytes, read as a stream.
fn file(seed: u8, len: u64) -> impl Read {
    io::Cursor::new(read_all(seed, len))
}

fn manifest_of(seed: u8, len: u64, shares: Shares) -> Manifest {
    let mut sinks: Vec<io::Sink> = (0..shares.total_shards).map(|_| io::sink()).collect();
    encode_blob(file(seed, len), shares, &mut sinks).unwrap()
}

/// Placement as a fixed table: shard index → the storer's peer.
struct Placed {
    me: PeerRef,
    table: Arc<Mutex<BTreeMap<u8, PeerRef>>>,
    roots: Vec<Hash>,
}

impl ShardPlacement for Placed {
    fn check(&self, shard: ShardRef, root: Hash, _size_bytes: u64) -> Result<(), NotPlaced> {
        let table = self.table.lock().unwrap();
        if table.get(&shard.index) != Some(&self.me) {
            return Err(NotPlaced::Refused(format!(
                "shard {} is not placed on this storer",
                shard.index
            )));
        }
        if self.roots.get(usize::from(shard.index)) != Some(&root) {
            return Err(NotPlaced::Refused("not the shard's root".to_owned()));
        }
        Ok(())
    }
}

struct Storer {
    peer: PeerRef,
    service: StorerService,
    store: Arc<ShardStore>,
    stored: Arc<Mutex<Vec<ShardId>>>,
    _dir: tempfile::TempDir,
}

/// Ten storers, the transport between them and this client, and the placement table.
struct Grid {
    client: PeerRef,
    storers: Vec<Storer>,
    down: Mutex<Vec<PeerRef>>,
}

impl ShardTransport for Grid {
    fn request(
        &self,
        storer: PeerRef,
        request: ShardRequest,
        _: u64,
    ) -> Result<ShardResponse, String> {
        if self.down.lock().unwrap().contains(&storer) {
            return Err(format!("storer {storer} did not answer"));
        }
        let s = self
            .storers
            .iter()
            .find(|s| s.peer == storer)
            .ok_or("no such storer")?;
        Ok(s.service.serve(self.client, request))
    }
}

/// An empty shard store of 4 GiB in a directory of its own, kept as long as the directory.
fn empty_store() -> (ShardStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = ShardStore::open(ShardStoreConfig {
        dir: dir.path().to_path_buf(),
        capacity_bytes: 1 << 32,
    })
    .unwrap();
    (store, dir)
}

fn grid(manifest: &Manifest) -> Grid {
    let table = Arc::new(Mutex::new(BTreeMap::new()));
    let storers = (0..manifest.shares.total_shards)
        .map(|index| {
            let (store, dir) = empty_store();
            let store = Arc::new(store);
            let peer = PeerRef::random();
            table.lock().unwrap().insert(index, peer);
            let stored = Arc::new(Mutex::new(Vec::new()));
            let tell = stored.clone();
            let service = StorerService::new(
                store.clone(),
                Box::new(Placed {
                    me: peer,
                    table: table.clone(),
                    roots: manifest.shard_roots.clone(),
                }),
                Box::new(move |id, _| tell.lock().unwrap().push(id)),
            );
            Storer {
                peer,
                service,
                store,
                stored,
                _dir: dir,
            }
        })
        .collect();
    Grid {
        client: PeerRef::random(),
        storers,
        down: Mutex::new(Vec::new()),
    }
}

fn targets(grid: &Grid) -> Vec<ShardTarget> {
    grid.storers
        .iter()
        .enumerate()
        .map(|(i, s)| ShardTarget {
            index: i as u8,
            storer: s.peer,
        })
        .collect()
}

fn sources(grid: &Grid) -> Vec<ShardSource> {
    targets(grid)
        .into_iter()
        .map(|t| ShardSource {
            index: t.index,
            storer: t.storer,
        })
        .collect()
}

fn read_all(seed: u8, len: u64) -> Vec<u8> {
    let mut bytes = vec![0; len as usize];
    blake3::Hasher::new()
        .update(&[seed])
        .finalize_xof()
        .fill(&mut bytes);
    bytes
}

const PHOTO_BYTES: u64 = 12_000_000;

#[test]
fn a_photo_at_3_of_10_comes_back_with_seven_storers_gone() {
    let shares = Shares::default();
    let manifest = manifest_of(1, PHOTO_BYTES, shares);
    let blob = Hash::digest(&manifest.encode());
    let grid = grid(&manifest);
    let mut reported = Vec::new();
    let outcomes = upload_shards(
        &grid,
        blob,
        &manifest,
        &targets(&grid),
        file(1, PHOTO_BYTES),
        |p| reported.push(p.read_bytes),
    )
    .unwrap();
    assert!(
        outcomes.iter().all(|(_, o)| *o == ShardOutcome::Stored),
        "{outcomes:?}"
    );
    assert_eq!(reported.last(), Some(&PHOTO_BYTES));
    for (index, storer) in grid.storers.iter().enumerate() {
        let id = ShardId {
            blob,
            index: index as u8,
        };
        assert_eq!(storer.stored.lock().unwrap().as_slice(), &[id]);
        assert_eq!(
            storer.store.get(&id).unwrap().root,
            manifest.shard_roots[index]
        );
    }
    // Offered again, every shard is held already.
    let again = upload_shards(
        &grid,
        blob,
        &manifest,
        &targets(&grid),
        file(1, PHOTO_BYTES),
        |_| {},
    )
    .unwrap();
    assert!(again.iter().all(|(_, o)| *o == ShardOutcome::AlreadyHeld));

    let expected = read_all(1, PHOTO_BYTES);
    let mut out = Vec::new();
    let report = fetch_blob(&grid, blob, &manifest, &sources(&grid), &mut out, |_| {}).unwrap();
    assert_eq!(out, expected);
    assert!(report.dropped.is_empty());

    // Ranges, as a gateway's `Range` asks: within a stripe, across stripes (3 MiB each at
    // 3-of-10), the last byte; an empty or outside range is refused.
    for (start, end) in [
        (0u64, 1u64),
        (1_000_000, 1_000_100),
        (3_000_000, 7_500_000),
        (PHOTO_BYTES - 1, PHOTO_BYTES),
    ] {
        let mut part = Vec::new();
        fetch_range(
            &grid,
            blob,
            &manifest,
            &sources(&grid),
            start..end,
            &mut part,
            |_| {},
        )
        .unwrap();
        assert_eq!(
            part,
            expected[start as usize..end as usize],
            "{start}..{end}"
        );
    }
    for (start, end) in [(5u64, 5u64), (0, PHOTO_BYTES + 1)] {
        assert!(matches!(
            fetch_range(
                &grid,
                blob,
                &manifest,
                &sources(&grid),
                start..end,
                io::sink(),
                |_| {}
            ),
            Err(FetchError::Range { .. })
        ));
    }

    // Seven storers gone, data shards among them: the last three rebuild it.
    *grid.down.lock().unwrap() = grid.storers[..7].iter().map(|s| s.peer).collect();
    let mut out = Vec::new();
    let report = fetch_blob(&grid, blob, &manifest, &sources(&grid), &mut out, |_| {}).unwrap();
    assert_eq!(out, expected);
    assert_eq!(report.dropped.len(), 7);

    // Eight gone: the error says how many were needed and why each was dropped.
    *grid.down.lock().unwrap() = grid.storers[..8].iter().map(|s| s.peer).collect();
    match fetch_blob(&grid, blob, &manifest, &sources(&grid), io::sink(), |_| {}) {
        Err(
            e @ FetchError::TooFewShards {
                available: 2,
                data_shards: 3,
                ..
            },
        ) => {
            assert!(e.to_string().contains("did not answer"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_storer_whose_disk_flipped_a_byte_is_dropped_at_that_chunk() {
    let len = 5_000_000;
    let manifest = manifest_of(2, len, Shares::default());
    let blob = Hash::digest(&manifest.encode());
    let grid = grid(&manifest);
    upload_shards(
        &grid,
        blob,
        &manifest,
        &targets(&grid),
        file(2, len),
        |_| {},
    )
    .unwrap();
    // Shard 1 rots in its second megabyte: its first piece still serves, then it is dropped.
    let id = ShardId { blob, index: 1 };
    let path = grid.storers[1].store.data_path(&id);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1_200_000] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let mut out = Vec::new();
    let report = fetch_blob(&grid, blob, &manifest, &sources(&grid), &mut out, |_| {}).unwrap();
    assert_eq!(out, read_all(2, len));
    assert_eq!(report.dropped.len(), 1);
    assert_eq!(report.dropped[0].0, 1);
}

#[test]
fn shards_not_placed_on_a_storer_or_from_a_changed_file_do_not_count() {
    let len = 3_000_000;
    let manifest = manifest_of(3, len, Shares::default());
    let blob = Hash::digest(&manifest.encode());
    let grid = grid(&manifest);
    // Shard 0 sent to storer 1, which the chain did not place it on.
    let mut wrong = targets(&grid);
    wrong[0].storer = grid.storers[1].peer;
    let outcomes = upload_shards(&grid, blob, &manifest, &wrong, file(3, len), |_| {}).unwrap();
    match &outcomes[0] {
        (0, ShardOutcome::Failed(why)) => {
            assert!(why.contains("not placed on this storer"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        outcomes[1..]
            .iter()
            .all(|(_, o)| *o == ShardOutcome::Stored)
    );

    // Another file under the same manifest: refused as a whole, no shard finished.
    let other = manifest_of(4, len, Shares::default());
    let blob = Hash::digest(&other.encode());
    let grid = self::grid(&other);
    match upload_shards(&grid, blob, &other, &targets(&grid), file(5, len), |_| {}) {
        Err(UploadError::FileChanged) => {}
        other => panic!("{other:?}"),
    }
    assert!(grid.storers.iter().all(|s| s.store.list().is_empty()));
    // A file cut short is the same.
    match upload_shards(
        &grid,
        blob,
        &other,
        &targets(&grid),
        file(4, len - 1),
        |_| {},
    ) {
        Err(UploadError::FileChanged) => {}
        other => panic!("{other:?}"),
    }
    assert!(grid.storers.iter().all(|s| s.store.list().is_empty()));
}

#[test]
fn only_the_peer_that_began_an_upload_may_add_to_it() {
    let len = 100_000;
    let manifest = manifest_of(6, len, Shares::new(1, 1).unwrap());
    let blob = Hash::digest(&manifest.encode());
    let grid = grid(&manifest);
    let shard = ShardRef { blob, index: 0 };
    let service = &grid.storers[0].service;
    let begin = ShardRequest::Begin {
        shard,
        root: manifest.shard_roots[0],
        size_bytes: manifest.shard_size_bytes,
    };
    assert_eq!(
        service.serve(grid.client, begin),
        ShardResponse::Begun { held: false }
    );
    let intruder = PeerRef::random();
    let piece = ShardRequest::Piece {
        shard,
        offset: 0,
        bytes: vec![0; 10],
    };
    match service.serve(intruder, piece) {
        ShardResponse::Refused { reason } => {
            assert!(reason.contains("begun by this peer"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    match service.serve(intruder, ShardRequest::Finish { shard }) {
        ShardResponse::Refused { .. } => {}
        other => panic!("{other:?}"),
    }
}

/// Issue 19 §3, repair: a shard lost with its storer is rebuilt onto a new storer from any k
/// of the others, byte for byte, and committed only because it hashes to its root; with too
/// few others left it is not rebuilt, and nothing is committed.
#[test]
fn a_lost_shard_is_rebuilt_onto_a_new_storer_from_k_others() {
    let shares = Shares::default();
    let manifest = manifest_of(4, PHOTO_BYTES, shares);
    let blob = Hash::digest(&manifest.encode());
    let grid = grid(&manifest);
    upload_shards(
        &grid,
        blob,
        &manifest,
        &targets(&grid),
        file(4, PHOTO_BYTES),
        |_| {},
    )
    .unwrap();
    let lost = 8u8;
    let original = std::fs::read(
        grid.storers[usize::from(lost)]
            .store
            .data_path(&ShardId { blob, index: lost }),
    )
    .unwrap();
    // The storer of shard 8 is gone, and so are six others but two: k = 3 remain.
    let mut down = grid.down.lock().unwrap();
    down.push(grid.storers[usize::from(lost)].peer);
    for gone in [0usize, 1, 3, 4, 6, 9] {
        down.push(grid.storers[gone].peer);
    }
    drop(down);
    let (fresh, _dir) = empty_store();
    assert!(
        rebuild_shard(&grid, &fresh, blob, &manifest, lost, &sources(&grid)).unwrap(),
        "rebuilt"
    );
    let id = ShardId { blob, index: lost };
    assert_eq!(fresh.get(&id).unwrap().root, manifest.shard_roots[8]);
    assert_eq!(std::fs::read(fresh.data_path(&id)).unwrap(), original);
    // Held now: a second repair reads nothing.
    assert!(!rebuild_shard(&grid, &fresh, blob, &manifest, lost, &sources(&grid)).unwrap());

    // One more storer gone: two of the others are fewer than k, and nothing is committed.
    grid.down.lock().unwrap().push(grid.storers[2].peer);
    let (other, _other_dir) = empty_store();
    let error = rebuild_shard(&grid, &other, blob, &manifest, lost, &sources(&grid)).unwrap_err();
    assert!(
        error.to_string().contains("only 2 of the 3 shards"),
        "{error}"
    );
    assert!(other.get(&id).is_none());
}

/// A storer whose chain is a block behind the uploader's (the blob not there yet) answers
/// Busy, so the uploader asks again, rather than refusing the shard for good (seen in the
/// storage scenario under load: "no blob … on the chain").
#[test]
fn a_storer_that_does_not_know_the_blob_yet_answers_busy() {
    struct Behind;
    impl ShardPlacement for Behind {
        fn check(&self, shard: ShardRef, _: Hash, _: u64) -> Result<(), NotPlaced> {
            Err(NotPlaced::NotYet(format!("no blob {} yet", shard.blob)))
        }
    }
    let (store, _dir) = empty_store();
    let service = StorerService::new(Arc::new(store), Box::new(Behind), Box::new(|_, _| {}));
    let answer = service.serve(
        PeerRef::random(),
        ShardRequest::Begin {
            shard: ShardRef {
                blob: Hash::digest(b"a blob"),
                index: 0,
            },
            root: Hash::digest(b"a root"),
            size_bytes: 1024,
        },
    );
    assert_eq!(answer, ShardResponse::Busy);
}
