//! Blobs at the sizes users have: a 12 MB photo through shards with n − k of them lost, every
//! byte fetched as verified ranges; a 100 MB file streamed through the encoder and decoder with
//! the buffers they hold bounded by the stripe, not the file.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};

use bitverse_primitives::Hash;
use bitverse_storage::{
    BLOB_SIZE_BYTES_MAX, BlobDecoder, BlobEncoder, EncodeError, ManifestError, PIECE_BYTES_DEFAULT,
    Shares, decode_blob, encode_blob, encode_outboard, prove_range, verify_range,
};

/// A seeded stream of incompressible bytes: a file that is never whole in memory.
fn seeded_file(seed: &[u8], size_bytes: u64) -> impl Read {
    blake3::Hasher::new()
        .update(seed)
        .finalize_xof()
        .take(size_bytes)
}

/// A shard writer that hashes what it is given and records its largest write.
#[derive(Default)]
struct CountingSink {
    file: Option<File>,
    hasher: blake3::Hasher,
    written_bytes: u64,
    write_bytes_max: usize,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.written_bytes += buf.len() as u64;
        self.write_bytes_max = self.write_bytes_max.max(buf.len());
        if let Some(file) = &mut self.file {
            file.write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_12_mb_photo_comes_back_from_any_3_of_10_shards_fetched_as_verified_ranges() {
    const PHOTO_BYTES: usize = 12_000_000;
    let mut photo = Vec::with_capacity(PHOTO_BYTES);
    seeded_file(b"photo", PHOTO_BYTES as u64)
        .read_to_end(&mut photo)
        .unwrap();
    let mut shards = vec![Vec::new(); 10];
    let manifest = encode_blob(photo.as_slice(), Shares::default(), &mut shards).unwrap();
    assert_eq!(manifest.content_hash, Hash::digest(&photo));
    assert_eq!(manifest.shard_size_bytes, 4_000_000);

    // Seven storers gone, among them two of the three data shards.
    let survivors = [2usize, 5, 8];
    let mut fetched: Vec<Option<Vec<u8>>> = vec![None; 10];
    for &index in &survivors {
        // The storer keeps the shard and its outboard; the reader asks for 1 MiB ranges and
        // checks each against the manifest's shard root alone.
        let shard = &shards[index];
        let outboard = encode_outboard(shard.as_slice(), shard.len() as u64).unwrap();
        assert_eq!(outboard.root(), manifest.shard_roots[index]);
        let mut copy = Vec::with_capacity(shard.len());
        let mut start = 0u64;
        while start < manifest.shard_size_bytes {
            let end = (start + (1 << 20)).min(manifest.shard_size_bytes);
            let proof = prove_range(shard.as_slice(), &outboard, start..end).unwrap();
            let verified = verify_range(
                manifest.shard_roots[index],
                manifest.shard_size_bytes,
                start..end,
                proof.as_slice(),
                |offset, bytes| {
                    assert_eq!(offset, copy.len() as u64);
                    copy.extend_from_slice(bytes);
                },
            )
            .unwrap();
            assert_eq!(verified, end - start);
            start = end;
        }
        fetched[index] = Some(copy);
    }
    let slots = fetched.iter().map(|s| s.as_deref()).collect();
    let mut rebuilt = Vec::new();
    let size = decode_blob(&manifest, slots, &mut rebuilt).unwrap();
    assert_eq!(size, PHOTO_BYTES as u64);
    assert!(rebuilt == photo, "the rebuilt photo differs");
}

#[test]
fn a_100_mb_file_streams_through_encoder_and_decoder_in_bounded_buffers() {
    const FILE_BYTES: u64 = 100_000_000;
    let shares = Shares::default();
    let dir = tempfile::tempdir().unwrap();
    // Recovery shards 7, 8 and 9 go to disk, to rebuild from later; the rest are only hashed.
    let mut sinks: Vec<CountingSink> = (0..10)
        .map(|i| CountingSink {
            file: (i >= 7).then(|| File::create(dir.path().join(i.to_string())).unwrap()),
            ..CountingSink::default()
        })
        .collect();
    let mut encoder = BlobEncoder::new(shares, PIECE_BYTES_DEFAULT).unwrap();
    let stripe_bytes = 3 * PIECE_BYTES_DEFAULT as usize;
    assert_eq!(encoder.buffer_bytes(), stripe_bytes);
    let manifest = encoder
        .encode(seeded_file(b"album", FILE_BYTES), &mut sinks)
        .unwrap();
    // The encoder held one stripe (3 MiB) of a 100 MB file, and wrote one piece at a time.
    assert_eq!(encoder.buffer_bytes(), stripe_bytes);
    assert_eq!(manifest.size_bytes, FILE_BYTES);
    let mut whole = blake3::Hasher::new();
    io::copy(&mut seeded_file(b"album", FILE_BYTES), &mut whole).unwrap();
    assert_eq!(manifest.content_hash, Hash(*whole.finalize().as_bytes()));
    for (index, sink) in sinks.iter().enumerate() {
        assert_eq!(sink.written_bytes, manifest.shard_size_bytes);
        assert!(sink.write_bytes_max <= PIECE_BYTES_DEFAULT as usize);
        assert_eq!(
            Hash(*sink.hasher.finalize().as_bytes()),
            manifest.shard_roots[index]
        );
    }
    drop(sinks);

    // Rebuilt from the three recovery shards on disk: every stripe through Reed-Solomon.
    let slots: Vec<Option<BufReader<File>>> = (0..10)
        .map(|i| {
            (i >= 7).then(|| BufReader::new(File::open(dir.path().join(i.to_string())).unwrap()))
        })
        .collect();
    let mut decoder = BlobDecoder::new(&manifest).unwrap();
    assert_eq!(decoder.buffer_bytes(), stripe_bytes);
    let mut out = CountingSink::default();
    let size = decoder.decode(&manifest, slots, &mut out).unwrap();
    assert_eq!(decoder.buffer_bytes(), stripe_bytes);
    assert_eq!(size, FILE_BYTES);
    assert_eq!(out.written_bytes, FILE_BYTES);
    assert!(out.write_bytes_max <= PIECE_BYTES_DEFAULT as usize);
    assert_eq!(
        Hash(*out.hasher.finalize().as_bytes()),
        manifest.content_hash
    );
}

#[test]
fn a_file_past_4_gib_is_refused_with_the_limit_named() {
    // 64-of-64: no recovery pieces, so the 4 GiB are only hashed, in 64 MiB stripes.
    let shares = Shares::new(64, 64).unwrap();
    let mut sinks: Vec<io::Sink> = (0..64).map(|_| io::sink()).collect();
    let file = io::repeat(7).take(BLOB_SIZE_BYTES_MAX + 1);
    let error = encode_blob(file, shares, &mut sinks).unwrap_err();
    assert!(
        matches!(
            error,
            EncodeError::Manifest(ManifestError::TooLarge {
                size_bytes_max: BLOB_SIZE_BYTES_MAX,
                ..
            })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("4 GiB"), "{error}");
}
