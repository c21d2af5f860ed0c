//! Erasure coding of a blob, streamed stripe by stripe ([`crate::manifest`] fixes the layout).
//!
//! Encoding reads one stripe of the file (k pieces), writes the k data pieces and the n − k
//! Reed-Solomon recovery pieces to the n shard writers, and hashes the file and every shard as
//! it goes; decoding reads one piece a stripe from any k shards and writes the stripe's data.
//! Either holds one stripe's pieces and the Reed-Solomon work space for one stripe, both set
//! by k, n and the piece width (at most n × 1 MiB and its work space), never by the file.

use std::io::{self, Read, Write};

use bitverse_primitives::Hash;
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

use crate::manifest::{
    BLOB_SIZE_BYTES_MAX, Layout, MANIFEST_VERSION, Manifest, ManifestError, PIECE_BYTES_DEFAULT,
    Shares, Stripe,
};

/// A blob that could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The parameters, or the file's size, make no valid manifest.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Not one writer a shard.
    #[error("{writers} shard writers for {total_shards} shards")]
    ShardWriters {
        /// The writers given.
        writers: usize,
        /// n.
        total_shards: u8,
    },
    /// Reading the file failed.
    #[error("reading the file: {0}")]
    Read(#[source] io::Error),
    /// Writing shard `index` failed.
    #[error("writing shard {index}: {source}")]
    Write {
        /// The shard.
        index: usize,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The Reed-Solomon coder refused its input (a bug: the layout keeps pieces even).
    #[error("erasure coding: {0}")]
    Coding(reed_solomon_simd::Error),
}

/// A blob that could not be rebuilt from the shards given.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The manifest is inconsistent.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The manifest's layout is not the one this decoder was made for.
    #[error("the manifest's layout is not the one this decoder was made for")]
    OtherLayout,
    /// Not one slot a shard.
    #[error("{slots} shard slots for {total_shards} shards")]
    ShardSlots {
        /// The slots given.
        slots: usize,
        /// n.
        total_shards: u8,
    },
    /// Fewer than k shards.
    #[error("{available} shards available, {data_shards} needed")]
    TooFewShards {
        /// Shards given.
        available: usize,
        /// k.
        data_shards: u8,
    },
    /// Shard `index` ended before the manifest's shard size.
    #[error("shard {index} is shorter than the manifest's shard size")]
    ShardTooShort {
        /// The shard.
        index: usize,
    },
    /// Shard `index` goes on past the manifest's shard size.
    #[error("shard {index} is longer than the manifest's shard size")]
    ShardTooLong {
        /// The shard.
        index: usize,
    },
    /// Shard `index` does not hash to its root.
    #[error("shard {index} does not match its root in the manifest")]
    ShardCorrupt {
        /// The shard.
        index: usize,
    },
    /// The rebuilt bytes do not hash to the content hash.
    #[error("the rebuilt blob does not match the manifest's content hash")]
    ContentMismatch,
    /// Reading shard `index` failed.
    #[error("reading shard {index}: {source}")]
    Read {
        /// The shard.
        index: usize,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A stripe given other than k distinct shards' pieces of the stripe's width.
    #[error("a stripe needs {data_shards} distinct shards' pieces of {piece_bytes} bytes")]
    StripePieces {
        /// k.
        data_shards: u8,
        /// The stripe's piece width.
        piece_bytes: u32,
    },
    /// Writing the blob failed.
    #[error("writing the blob: {0}")]
    Write(#[source] io::Error),
    /// The Reed-Solomon coder refused its input.
    #[error("erasure coding: {0}")]
    Coding(reed_solomon_simd::Error),
}

fn usize_of(value: u64) -> usize {
    // Pieces and stripes are at most 64 MiB: they fit in any usize this crate builds for.
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// Reads until `buf` is full or the input ends; the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match reader.read(rest) {
            Ok(0) => break,
            Ok(read) => filled = filled.saturating_add(read),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Streams files into shards, holding one stripe at a time; reusable across files.
pub struct BlobEncoder {
    shares: Shares,
    piece_bytes: u32,
    /// One stripe of data: k full pieces, allocated once.
    stripe: Vec<u8>,
    /// `None` when k = n (no recovery shards).
    coder: Option<ReedSolomonEncoder>,
}

impl BlobEncoder {
    /// An encoder for k-of-n with full pieces of `piece_bytes`.
    pub fn new(shares: Shares, piece_bytes: u32) -> Result<Self, EncodeError> {
        // Validates shares and piece width (the size here is a stand-in).
        let layout = Layout::new(1, shares, piece_bytes)?;
        let coder = match shares.recovery_shards() {
            0 => None,
            recovery => Some(
                ReedSolomonEncoder::new(
                    usize::from(shares.data_shards),
                    usize::from(recovery),
                    usize_of(u64::from(piece_bytes)),
                )
                .map_err(EncodeError::Coding)?,
            ),
        };
        Ok(BlobEncoder {
            shares,
            piece_bytes,
            stripe: vec![0; usize_of(layout.stripe_data_bytes())],
            coder,
        })
    }

    /// The bytes of blob data this encoder holds at once: one stripe, whatever the file's size.
    /// (The recovery pieces live in the Reed-Solomon coder's work space, allocated once by
    /// [`Self::new`] from k, n and the piece width.)
    pub fn buffer_bytes(&self) -> usize {
        self.stripe.capacity()
    }

    /// Reads the whole of `file` and writes shard i to `shards[i]`, data shards first; returns
    /// the blob's manifest. Refuses an empty file and one above [`BLOB_SIZE_BYTES_MAX`] (the
    /// latter after reading just past the limit).
    pub fn encode<R: Read, W: Write>(
        &mut self,
        mut file: R,
        shards: &mut [W],
    ) -> Result<Manifest, EncodeError> {
        let k = usize::from(self.shares.data_shards);
        if shards.len() != usize::from(self.shares.total_shards) {
            return Err(EncodeError::ShardWriters {
                writers: shards.len(),
                total_shards: self.shares.total_shards,
            });
        }
        let mut content = blake3::Hasher::new();
        let mut hashers: Vec<blake3::Hasher> =
            shards.iter().map(|_| blake3::Hasher::new()).collect();
        let mut size_bytes: u64 = 0;
        loop {
            let read = read_full(&mut file, &mut self.stripe).map_err(EncodeError::Read)?;
            if read == 0 {
                break;
            }
            size_bytes = size_bytes.saturating_add(read as u64);
            if size_bytes > BLOB_SIZE_BYTES_MAX {
                return Err(ManifestError::TooLarge {
                    size_bytes,
                    size_bytes_max: BLOB_SIZE_BYTES_MAX,
                }
                .into());
            }
            let full = read == self.stripe.len();
            let piece = if full {
                usize_of(u64::from(self.piece_bytes))
            } else {
                // The last stripe: the remainder over k, rounded up to even.
                let per_shard = read.div_ceil(k);
                per_shard.saturating_add(usize::from(!per_shard.is_multiple_of(2)))
            };
            let data = self.stripe.get(..read).unwrap_or_default();
            content.update(data);
            let used = piece.saturating_mul(k);
            if let Some(padding) = self.stripe.get_mut(read..used) {
                padding.fill(0);
            }
            let pieces = self.stripe.get(..used).unwrap_or_default();
            for (index, ((piece, hasher), shard)) in pieces
                .chunks_exact(piece)
                .zip(hashers.iter_mut())
                .zip(shards.iter_mut())
                .enumerate()
            {
                hasher.update(piece);
                shard
                    .write_all(piece)
                    .map_err(|source| EncodeError::Write { index, source })?;
            }
            if let Some(coder) = &mut self.coder {
                coder
                    .reset(k, usize::from(self.shares.recovery_shards()), piece)
                    .map_err(EncodeError::Coding)?;
                for original in pieces.chunks_exact(piece) {
                    coder
                        .add_original_shard(original)
                        .map_err(EncodeError::Coding)?;
                }
                let result = coder.encode().map_err(EncodeError::Coding)?;
                for (index, ((recovery, hasher), shard)) in result
                    .recovery_iter()
                    .zip(hashers.iter_mut().skip(k))
                    .zip(shards.iter_mut().skip(k))
                    .enumerate()
                {
                    hasher.update(recovery);
                    shard
                        .write_all(recovery)
                        .map_err(|source| EncodeError::Write {
                            index: index.saturating_add(k),
                            source,
                        })?;
                }
            }
            if !full {
                break;
            }
        }
        let layout = Layout::new(size_bytes, self.shares, self.piece_bytes)?;
        let manifest = Manifest {
            version: MANIFEST_VERSION,
            size_bytes,
            content_hash: Hash(*content.finalize().as_bytes()),
            shares: self.shares,
            piece_bytes: self.piece_bytes,
            shard_size_bytes: layout.shard_size_bytes(),
            shard_roots: hashers
                .iter()
                .map(|h| Hash(*h.finalize().as_bytes()))
                .collect(),
        };
        manifest.validate()?;
        Ok(manifest)
    }
}

/// Encodes `file` at `shares` with the default piece width ([`PIECE_BYTES_DEFAULT`]).
pub fn encode_blob<R: Read, W: Write>(
    file: R,
    shares: Shares,
    shards: &mut [W],
) -> Result<Manifest, EncodeError> {
    BlobEncoder::new(shares, PIECE_BYTES_DEFAULT)?.encode(file, shards)
}

/// Rebuilds blobs from any k of their shards, holding one stripe's k pieces at a time.
pub struct BlobDecoder {
    layout: Layout,
    /// k pieces of one stripe, allocated once.
    pieces: Vec<u8>,
    /// `None` when k = n.
    coder: Option<ReedSolomonDecoder>,
}

impl BlobDecoder {
    /// A decoder for `manifest`'s layout.
    pub fn new(manifest: &Manifest) -> Result<Self, DecodeError> {
        manifest.validate()?;
        let layout = manifest.layout()?;
        let coder = match manifest.shares.recovery_shards() {
            0 => None,
            recovery => Some(
                ReedSolomonDecoder::new(
                    usize::from(manifest.shares.data_shards),
                    usize::from(recovery),
                    usize_of(u64::from(manifest.piece_bytes)),
                )
                .map_err(DecodeError::Coding)?,
            ),
        };
        Ok(BlobDecoder {
            layout,
            pieces: vec![0; usize_of(layout.stripe_data_bytes())],
            coder,
        })
    }

    /// The bytes of blob data this decoder holds at once: one stripe's k pieces. (Pieces it
    /// restores live in the Reed-Solomon coder's work space, allocated once by [`Self::new`].)
    pub fn buffer_bytes(&self) -> usize {
        self.pieces.capacity()
    }

    /// Reads the first k shards given (`shards[i]` is shard i, `None` if lost) and writes the
    /// blob to `out`; returns its size. Every shard read is checked against its root and the
    /// blob against the content hash, at the end: the bytes written are the blob only if this
    /// returns `Ok`, so write to a temporary file and keep it then. (A reader over the network
    /// checks each chunk as it arrives with [`crate::verified`] before it gets here.)
    pub fn decode<R: Read, W: Write>(
        &mut self,
        manifest: &Manifest,
        shards: Vec<Option<R>>,
        mut out: W,
    ) -> Result<u64, DecodeError> {
        let shares = self.layout.shares();
        manifest.validate()?;
        if manifest.layout()? != self.layout {
            return Err(DecodeError::OtherLayout);
        }
        let k = usize::from(shares.data_shards);
        if shards.len() != usize::from(shares.total_shards) {
            return Err(DecodeError::ShardSlots {
                slots: shards.len(),
                total_shards: shares.total_shards,
            });
        }
        let available = shards.iter().filter(|s| s.is_some()).count();
        let mut chosen: Vec<(usize, R, blake3::Hasher)> = shards
            .into_iter()
            .enumerate()
            .filter_map(|(index, shard)| shard.map(|s| (index, s, blake3::Hasher::new())))
            .take(k)
            .collect();
        if chosen.len() < k {
            return Err(DecodeError::TooFewShards {
                available,
                data_shards: shares.data_shards,
            });
        }
        // The first k shards given are the data shards: no decoding, only copying.
        let systematic = chosen
            .iter()
            .enumerate()
            .all(|(slot, (index, ..))| slot == *index);
        let mut content = blake3::Hasher::new();
        let mut written: u64 = 0;
        for stripe in self.layout.stripe_iter() {
            let piece = usize_of(u64::from(stripe.piece_bytes));
            let used = piece.saturating_mul(k);
            let pieces = self.pieces.get_mut(..used).unwrap_or_default();
            for ((index, reader, hasher), slot) in
                chosen.iter_mut().zip(pieces.chunks_exact_mut(piece))
            {
                reader
                    .read_exact(slot)
                    .map_err(|source| match source.kind() {
                        io::ErrorKind::UnexpectedEof => {
                            DecodeError::ShardTooShort { index: *index }
                        }
                        _ => DecodeError::Read {
                            index: *index,
                            source,
                        },
                    })?;
                hasher.update(slot);
            }
            let indexed: Vec<(usize, &[u8])> = chosen
                .iter()
                .map(|(index, ..)| *index)
                .zip(pieces.chunks_exact(piece))
                .collect();
            rebuild_stripe(
                &mut self.coder,
                shares,
                &stripe,
                &indexed,
                systematic,
                |data| {
                    out.write_all(data).map_err(DecodeError::Write)?;
                    content.update(data);
                    written = written.saturating_add(data.len() as u64);
                    Ok(())
                },
            )?;
        }
        for (index, reader, hasher) in &mut chosen {
            let mut probe = [0u8; 1];
            if read_full(reader, &mut probe).map_err(|source| DecodeError::Read {
                index: *index,
                source,
            })? != 0
            {
                return Err(DecodeError::ShardTooLong { index: *index });
            }
            let root = manifest
                .shard_roots
                .get(*index)
                .copied()
                .unwrap_or_default();
            if Hash(*hasher.finalize().as_bytes()) != root {
                return Err(DecodeError::ShardCorrupt { index: *index });
            }
        }
        if Hash(*content.finalize().as_bytes()) != manifest.content_hash {
            return Err(DecodeError::ContentMismatch);
        }
        out.flush().map_err(DecodeError::Write)?;
        Ok(written)
    }
}

impl BlobDecoder {
    /// Rebuilds one stripe of the blob from k of its pieces, `(shard index, piece)`, in any
    /// order, and writes the stripe's data (without padding) to `emit`: for a reader that
    /// fetches pieces itself and may switch shards between stripes (a storer that fails is
    /// replaced by another shard's for the rest). The pieces must already be verified (against
    /// their shard roots, as `crate::verified` does while they stream); this checks only their
    /// number, width and indices.
    pub fn decode_stripe(
        &mut self,
        stripe: &Stripe,
        pieces: &[(usize, &[u8])],
        emit: impl FnMut(&[u8]) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let shares = self.layout.shares();
        let k = usize::from(shares.data_shards);
        let n = usize::from(shares.total_shards);
        let width = usize_of(u64::from(stripe.piece_bytes));
        let mut seen = [false; 256];
        let well_formed = pieces.len() == k
            && pieces.iter().all(|(index, piece)| {
                let fresh = seen
                    .get_mut(*index)
                    .is_some_and(|s| !std::mem::replace(s, true));
                *index < n && piece.len() == width && fresh
            });
        if !well_formed {
            return Err(DecodeError::StripePieces {
                data_shards: shares.data_shards,
                piece_bytes: stripe.piece_bytes,
            });
        }
        let mut sorted: Vec<(usize, &[u8])> = pieces.to_vec();
        sorted.sort_by_key(|(index, _)| *index);
        let systematic = sorted
            .iter()
            .enumerate()
            .all(|(slot, (index, _))| slot == *index);
        rebuild_stripe(&mut self.coder, shares, stripe, &sorted, systematic, emit)
    }
}

/// Writes stripe `stripe`'s data, rebuilt from `pieces` (k of them, `(shard index, piece)`,
/// in increasing index order), to `emit`, cut to the stripe's data bytes. `systematic`: the
/// pieces are the k data shards', so the data is copied, not decoded.
fn rebuild_stripe(
    coder: &mut Option<ReedSolomonDecoder>,
    shares: Shares,
    stripe: &Stripe,
    pieces: &[(usize, &[u8])],
    systematic: bool,
    mut emit: impl FnMut(&[u8]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let k = usize::from(shares.data_shards);
    let piece = usize_of(u64::from(stripe.piece_bytes));
    let mut remaining = usize_of(stripe.data_bytes);
    let mut emit_data = |data: &[u8]| -> Result<(), DecodeError> {
        let take = data.get(..remaining.min(data.len())).unwrap_or_default();
        remaining = remaining.saturating_sub(take.len());
        if take.is_empty() {
            return Ok(());
        }
        emit(take)
    };
    match (coder, systematic) {
        (Some(coder), false) => {
            coder
                .reset(k, usize::from(shares.recovery_shards()), piece)
                .map_err(DecodeError::Coding)?;
            for (index, slot) in pieces {
                match index.checked_sub(k) {
                    None => coder.add_original_shard(*index, slot),
                    Some(recovery) => coder.add_recovery_shard(recovery, slot),
                }
                .map_err(DecodeError::Coding)?;
            }
            let result = coder.decode().map_err(DecodeError::Coding)?;
            for original in 0..k {
                let given = pieces
                    .iter()
                    .find(|(index, _)| *index == original)
                    .map(|(_, piece)| *piece);
                let data = given
                    .or_else(|| result.restored_original(original))
                    .unwrap_or_default();
                emit_data(data)?;
            }
        }
        _ => {
            for (_, data) in pieces {
                emit_data(data)?;
            }
        }
    }
    Ok(())
}

/// Rebuilds `manifest`'s blob into `out` from the first k of `shards` given.
pub fn decode_blob<R: Read, W: Write>(
    manifest: &Manifest,
    shards: Vec<Option<R>>,
    out: W,
) -> Result<u64, DecodeError> {
    BlobDecoder::new(manifest)?.decode(manifest, shards, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PIECE_BYTES_MIN, SHARDS_MAX};
    use proptest::prelude::*;

    /// `len` bytes from a seeded BLAKE3 stream: reproducible, incompressible.
    pub(crate) fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        blake3::Hasher::new()
            .update(&seed.to_le_bytes())
            .finalize_xof()
            .fill(&mut bytes);
        bytes
    }

    fn encode(data: &[u8], shares: Shares, piece_bytes: u32) -> (Manifest, Vec<Vec<u8>>) {
        let mut shards = vec![Vec::new(); usize::from(shares.total_shards)];
        let manifest = BlobEncoder::new(shares, piece_bytes)
            .unwrap()
            .encode(data, &mut shards)
            .unwrap();
        (manifest, shards)
    }

    fn decode(
        manifest: &Manifest,
        shards: &[Vec<u8>],
        keep: &[usize],
    ) -> Result<Vec<u8>, DecodeError> {
        let slots = shards
            .iter()
            .enumerate()
            .map(|(i, s)| keep.contains(&i).then_some(s.as_slice()))
            .collect();
        let mut out = Vec::new();
        decode_blob(manifest, slots, &mut out)?;
        Ok(out)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_k_shards_rebuild_the_blob(
            size in 1usize..40_000,
            n in 1u8..=12,
            k_pick in any::<prop::sample::Index>(),
            keep_seed in any::<u64>(),
        ) {
            let k = u8::try_from(k_pick.index(usize::from(n))).unwrap() + 1;
            let shares = Shares::new(k, n).unwrap();
            let data = seeded_bytes(size as u64, size);
            let (manifest, shards) = encode(&data, shares, PIECE_BYTES_MIN * 2);
            prop_assert_eq!(manifest.content_hash, Hash::digest(&data));
            for (shard, root) in shards.iter().zip(&manifest.shard_roots) {
                prop_assert_eq!(shard.len() as u64, manifest.shard_size_bytes);
                prop_assert_eq!(Hash::digest(shard), *root);
            }
            // A seeded choice of k shards.
            let mut order: Vec<usize> = (0..usize::from(n)).collect();
            order.sort_by_key(|i| Hash::digest(&[keep_seed.to_le_bytes(), (*i as u64).to_le_bytes()].concat()));
            let keep = &order[..usize::from(k)];
            prop_assert_eq!(decode(&manifest, &shards, keep).unwrap(), data);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// A reader that switches shards between stripes (a storer dropped mid-file) still
        /// rebuilds the blob, stripe by stripe, from whichever k pieces it has for each.
        #[test]
        fn each_stripe_rebuilds_from_its_own_k_pieces(
            size in 1usize..30_000,
            n in 2u8..=10,
            k_pick in any::<prop::sample::Index>(),
            seed in any::<u64>(),
        ) {
            let k = u8::try_from(k_pick.index(usize::from(n))).unwrap() + 1;
            let shares = Shares::new(k, n).unwrap();
            let data = seeded_bytes(seed, size);
            let (manifest, shards) = encode(&data, shares, PIECE_BYTES_MIN);
            let layout = manifest.layout().unwrap();
            let mut decoder = BlobDecoder::new(&manifest).unwrap();
            let mut out = Vec::new();
            for (number, stripe) in layout.stripe_iter().enumerate() {
                let mut order: Vec<usize> = (0..usize::from(n)).collect();
                order.sort_by_key(|i| Hash::digest(&[seed.to_le_bytes(), (number as u64).to_le_bytes(), (*i as u64).to_le_bytes()].concat()));
                let start = stripe.shard_offset_bytes as usize;
                let end = start + stripe.piece_bytes as usize;
                let pieces: Vec<(usize, &[u8])> = order[..usize::from(k)]
                    .iter()
                    .map(|i| (*i, &shards[*i][start..end]))
                    .collect();
                decoder.decode_stripe(&stripe, &pieces, |bytes| {
                    out.extend_from_slice(bytes);
                    Ok(())
                }).unwrap();
            }
            prop_assert_eq!(out, data);
        }
    }

    #[test]
    fn a_stripe_needs_k_distinct_pieces_of_its_width() {
        let data = seeded_bytes(9, 10_000);
        let (manifest, shards) = encode(&data, Shares::new(3, 5).unwrap(), PIECE_BYTES_MIN);
        let stripe = manifest.layout().unwrap().stripe(0).unwrap();
        let width = stripe.piece_bytes as usize;
        let piece = |i: usize| (i, &shards[i][..width]);
        let mut decoder = BlobDecoder::new(&manifest).unwrap();
        for pieces in [
            vec![piece(0), piece(1)],
            vec![piece(0), piece(1), piece(1)],
            vec![piece(0), piece(1), (7, &shards[2][..width])],
            vec![piece(0), piece(1), (2, &shards[2][..width - 2])],
        ] {
            assert!(matches!(
                decoder.decode_stripe(&stripe, &pieces, |_| Ok(())),
                Err(DecodeError::StripePieces { data_shards: 3, .. })
            ));
        }
    }

    #[test]
    fn every_k_of_64_rebuilds_from_its_last_k_shards() {
        let data = seeded_bytes(5, 70_000);
        for k in 1..=SHARDS_MAX {
            let (manifest, shards) =
                encode(&data, Shares::new(k, SHARDS_MAX).unwrap(), PIECE_BYTES_MIN);
            let keep: Vec<usize> = (usize::from(SHARDS_MAX - k)..usize::from(SHARDS_MAX)).collect();
            assert_eq!(
                decode(&manifest, &shards, &keep).unwrap(),
                data,
                "{k}-of-64"
            );
        }
    }

    #[test]
    fn a_writer_a_shard_and_a_slot_a_shard_are_required() {
        let data = seeded_bytes(6, 1_000);
        let mut nine = vec![Vec::new(); 9];
        assert!(matches!(
            encode_blob(data.as_slice(), Shares::default(), &mut nine),
            Err(EncodeError::ShardWriters {
                writers: 9,
                total_shards: 10
            })
        ));
        let (manifest, shards) = encode(&data, Shares::default(), PIECE_BYTES_MIN);
        let slots: Vec<Option<&[u8]>> = shards.iter().take(9).map(|s| Some(s.as_slice())).collect();
        assert!(matches!(
            decode_blob(&manifest, slots, Vec::new()),
            Err(DecodeError::ShardSlots {
                slots: 9,
                total_shards: 10
            })
        ));
    }

    #[test]
    fn fewer_than_k_shards_are_refused() {
        let data = seeded_bytes(1, 10_000);
        let (manifest, shards) = encode(&data, Shares::default(), PIECE_BYTES_MIN);
        assert!(matches!(
            decode(&manifest, &shards, &[4, 9]),
            Err(DecodeError::TooFewShards {
                available: 2,
                data_shards: 3
            })
        ));
    }

    #[test]
    fn a_corrupt_shorter_or_longer_shard_is_refused() {
        let data = seeded_bytes(2, 10_000);
        let (manifest, mut shards) = encode(&data, Shares::default(), PIECE_BYTES_MIN);
        shards[5][17] ^= 1;
        assert!(matches!(
            decode(&manifest, &shards, &[0, 5, 7]),
            Err(DecodeError::ShardCorrupt { index: 5 })
        ));
        shards[5][17] ^= 1;
        shards[7].pop();
        assert!(matches!(
            decode(&manifest, &shards, &[0, 5, 7]),
            Err(DecodeError::ShardTooShort { index: 7 })
        ));
        shards[7].extend_from_slice(&[0, 0]);
        assert!(matches!(
            decode(&manifest, &shards, &[0, 5, 7]),
            Err(DecodeError::ShardTooLong { index: 7 })
        ));
    }

    #[test]
    fn a_manifest_with_the_wrong_content_hash_is_refused() {
        let data = seeded_bytes(3, 5_000);
        let (mut manifest, shards) = encode(&data, Shares::default(), PIECE_BYTES_MIN);
        manifest.content_hash = Hash::digest(b"another file");
        assert!(matches!(
            decode(&manifest, &shards, &[0, 1, 2]),
            Err(DecodeError::ContentMismatch)
        ));
    }

    #[test]
    fn an_empty_file_is_refused() {
        let mut shards = vec![Vec::new(); 10];
        assert!(matches!(
            encode_blob(&[][..], Shares::default(), &mut shards),
            Err(EncodeError::Manifest(ManifestError::Empty))
        ));
    }

    #[test]
    fn k_of_k_needs_no_recovery_and_loses_nothing() {
        let data = seeded_bytes(4, 3_333);
        let (manifest, shards) = encode(&data, Shares::new(3, 3).unwrap(), PIECE_BYTES_MIN);
        assert_eq!(decode(&manifest, &shards, &[0, 1, 2]).unwrap(), data);
    }
}
