//! The shard store against a real directory: uploads checked against their roots, durable
//! across reopening, refusals that lose nothing, and ranges a reader verifies.

use std::fs;

use bitverse_primitives::Hash;
use bitverse_shard_store::{
    PIECE_BYTES_MAX, ShardId, ShardMeta, ShardStore, ShardStoreConfig, StoreError, footprint_bytes,
};
use bitverse_storage::verify_range;
use proptest::prelude::*;

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    let mut out = vec![0; len];
    blake3::Hasher::new()
        .update(&[seed])
        .finalize_xof()
        .fill(&mut out);
    out
}

fn id(index: u8) -> ShardId {
    ShardId {
        blob: Hash::digest(b"blob"),
        index,
    }
}

fn meta(data: &[u8]) -> ShardMeta {
    ShardMeta {
        root: Hash::digest(data),
        size_bytes: data.len() as u64,
    }
}

fn open(dir: &std::path::Path, capacity_bytes: u64) -> ShardStore {
    ShardStore::open(ShardStoreConfig {
        dir: dir.to_path_buf(),
        capacity_bytes,
    })
    .unwrap()
    .0
}

fn upload(store: &ShardStore, id: ShardId, data: &[u8], piece_bytes: usize) -> ShardMeta {
    assert!(store.begin_upload(id, meta(data)).unwrap());
    let mut offset = 0;
    for piece in data.chunks(piece_bytes) {
        offset = store.write_piece(id, offset, piece).unwrap();
    }
    store.finish_upload(id).unwrap()
}

fn verified_range(
    store: &ShardStore,
    id: ShardId,
    meta: ShardMeta,
    start: u64,
    end: u64,
) -> Vec<u8> {
    let proof = store.prove(id, start..end).unwrap();
    let mut out = Vec::new();
    verify_range(
        meta.root,
        meta.size_bytes,
        start..end,
        proof.as_slice(),
        |_, b| out.extend_from_slice(b),
    )
    .unwrap();
    out
}

#[test]
fn a_phone_photo_sized_shard_is_kept_across_reopening_and_served_verified() {
    let dir = tempfile::tempdir().unwrap();
    // A 12 MB photo at 3-of-10 makes shards of 4 MB.
    let data = bytes(4_000_000, 1);
    let meta = {
        let store = open(dir.path(), 1 << 30);
        let meta = upload(&store, id(3), &data, PIECE_BYTES_MAX);
        assert_eq!(store.used_bytes(), footprint_bytes(data.len() as u64));
        meta
    };
    let (store, report) = ShardStore::open(ShardStoreConfig {
        dir: dir.path().to_path_buf(),
        capacity_bytes: 1 << 30,
    })
    .unwrap();
    assert_eq!(report.shards, 1);
    assert_eq!(report.removed_files, 0);
    assert_eq!(store.get(&id(3)), Some(meta));
    assert_eq!(store.list(), vec![(id(3), meta)]);
    for (start, end) in [(0, 1), (1_000_000, 2_048_576), (3_999_000, 4_000_000)] {
        assert_eq!(
            verified_range(&store, id(3), meta, start, end),
            data[start as usize..end as usize]
        );
    }
    assert!(matches!(
        store.prove(id(3), 0..2_000_000),
        Err(StoreError::RangeTooLarge { .. })
    ));
    assert!(matches!(
        store.prove(id(4), 0..10),
        Err(StoreError::NotHeld(_))
    ));
}

#[test]
fn bytes_that_miss_the_root_are_refused_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1 << 30);
    let data = bytes(100_000, 2);
    let mut claimed = meta(&data);
    claimed.root = Hash::digest(b"another shard");
    store.begin_upload(id(0), claimed).unwrap();
    store.write_piece(id(0), 0, &data).unwrap();
    assert!(matches!(
        store.finish_upload(id(0)),
        Err(StoreError::RootMismatch { .. })
    ));
    assert_eq!(store.get(&id(0)), None);
    assert_eq!(store.used_bytes(), 0);
    assert_eq!(fs::read_dir(dir.path().join("partial")).unwrap().count(), 0);
}

#[test]
fn pieces_must_continue_the_upload_and_fit_the_shard() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1 << 30);
    let data = bytes(50_000, 3);
    assert!(matches!(
        store.write_piece(id(1), 0, &data),
        Err(StoreError::NoUpload(_))
    ));
    store.begin_upload(id(1), meta(&data)).unwrap();
    store.write_piece(id(1), 0, &data[..20_000]).unwrap();
    // A retried piece is taken again without effect; a gap is refused.
    assert_eq!(
        store.write_piece(id(1), 0, &data[..20_000]).unwrap(),
        20_000
    );
    assert!(matches!(
        store.write_piece(id(1), 30_000, &data[30_000..]),
        Err(StoreError::OutOfOrder {
            expected_offset: 20_000,
            ..
        })
    ));
    assert!(matches!(
        store.write_piece(id(1), 20_000, &bytes(40_000, 9)),
        Err(StoreError::BadPiece { .. })
    ));
    assert!(matches!(
        store.finish_upload(id(1)),
        Err(StoreError::Incomplete {
            written_bytes: 20_000,
            ..
        })
    ));
    store.write_piece(id(1), 20_000, &data[20_000..]).unwrap();
    assert_eq!(store.finish_upload(id(1)).unwrap(), meta(&data));
    // Offered again: already held, nothing to upload; with another root: a conflict.
    assert!(!store.begin_upload(id(1), meta(&data)).unwrap());
    assert!(matches!(
        store.begin_upload(id(1), meta(&bytes(50_000, 4))),
        Err(StoreError::RootConflict { .. })
    ));
}

#[test]
fn capacity_counts_uploads_in_progress_and_frees_on_remove() {
    let dir = tempfile::tempdir().unwrap();
    let data = bytes(100_000, 5);
    let store = open(dir.path(), footprint_bytes(100_000) * 2);
    store.begin_upload(id(0), meta(&data)).unwrap();
    store.begin_upload(id(1), meta(&data)).unwrap();
    match store.begin_upload(id(2), meta(&data)) {
        Err(StoreError::CapacityFull { free_bytes: 0, .. }) => {}
        other => panic!("{other:?}"),
    }
    store.write_piece(id(0), 0, &data).unwrap();
    store.finish_upload(id(0)).unwrap();
    assert!(store.remove(id(0)).unwrap());
    assert!(!store.remove(id(0)).unwrap());
    assert!(store.begin_upload(id(2), meta(&data)).unwrap());
    assert!(!store.data_path(&id(0)).exists());
}

#[test]
fn what_a_crash_leaves_half_done_is_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = bytes(70_000, 6);
    let store = open(dir.path(), 1 << 30);
    upload(&store, id(0), &data, 10_000);
    upload(&store, id(1), &data, 10_000);
    // An upload in progress, a data file that lost its outboard (the crash fell between the
    // two renames), and a data file cut short.
    store.begin_upload(id(2), meta(&data)).unwrap();
    store.write_piece(id(2), 0, &data[..1_000]).unwrap();
    let outboard_of_1 = store.data_path(&id(1)).with_extension("outboard");
    fs::remove_file(outboard_of_1).unwrap();
    let data_of_0 = store.data_path(&id(0));
    drop(store);
    let cut = fs::OpenOptions::new().write(true).open(&data_of_0).unwrap();
    cut.set_len(69_999).unwrap();
    drop(cut);
    let (store, report) = ShardStore::open(ShardStoreConfig {
        dir: dir.path().to_path_buf(),
        capacity_bytes: 1 << 30,
    })
    .unwrap();
    assert_eq!(report.shards, 0);
    // The partial upload, id(1)'s data, and id(0)'s data and outboard.
    assert_eq!(report.removed_files, 4);
    assert!(store.list().is_empty());
    assert_eq!(store.used_bytes(), 0);
}

#[test]
fn a_shard_that_rots_on_disk_makes_no_proof_of_the_rotten_part() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1 << 30);
    let data = bytes(200_000, 7);
    let meta = upload(&store, id(0), &data, PIECE_BYTES_MAX);
    let mut rotten = fs::read(store.data_path(&id(0))).unwrap();
    rotten[150_000] ^= 1;
    fs::write(store.data_path(&id(0)), rotten).unwrap();
    assert!(matches!(
        store.prove(id(0), 140_000..160_000),
        Err(StoreError::Verify { .. })
    ));
    // The rest still proves.
    assert_eq!(
        verified_range(&store, id(0), meta, 0, 100_000),
        data[..100_000]
    );
}

#[test]
fn an_empty_shard_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1 << 30);
    assert!(store.begin_upload(id(0), meta(&[])).unwrap());
    assert_eq!(store.finish_upload(id(0)).unwrap(), meta(&[]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_piece_sizes_make_the_same_shard(len in 1usize..300_000, piece in 1usize..70_000, seed in any::<u8>()) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), 1 << 30);
        let data = bytes(len, seed);
        let meta = upload(&store, id(0), &data, piece);
        prop_assert_eq!(fs::read(store.data_path(&id(0))).unwrap(), data.clone());
        let start = (len / 3) as u64;
        prop_assert_eq!(verified_range(&store, id(0), meta, start, len as u64), data[start as usize..].to_vec());
    }
}

#[test]
fn a_shard_removed_and_taken_again_is_served_from_its_new_outboard() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), 1 << 30);
    let first = bytes(100_000, 10);
    let meta_first = upload(&store, id(0), &first, PIECE_BYTES_MAX);
    // Served once: its outboard is now held in memory.
    assert_eq!(
        verified_range(&store, id(0), meta_first, 0, 1_000),
        first[..1_000]
    );
    assert!(store.remove(id(0)).unwrap());
    let second = bytes(100_000, 11);
    let meta_second = upload(&store, id(0), &second, PIECE_BYTES_MAX);
    assert_eq!(
        verified_range(&store, id(0), meta_second, 0, 1_000),
        second[..1_000]
    );
}
