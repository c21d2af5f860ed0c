//! The manifest: what a key's on-chain value holds for a blob, and the layout of its shards.
//!
//! A blob of `size_bytes` is cut into stripes of `k × piece_bytes` bytes. Each stripe gives each
//! of the k data shards one piece of `piece_bytes` (the file's bytes in order) and each of the
//! n − k recovery shards one Reed-Solomon piece of the same size; shard i is its pieces of every
//! stripe, end to end. The last stripe, if the file does not fill it, is narrower: its pieces are
//! the remainder divided by k, rounded up to an even count (Reed-Solomon works on 16-bit words),
//! zero-padded; `size_bytes` says where the data ends. So the layout is fixed by the manifest
//! alone ([`Layout`]), and a small blob is not padded up to a whole stripe.

use std::fmt;
use std::str::FromStr;

use bincode::{Decode, Encode};
use bitverse_primitives::{CodecError, Hash};

/// The manifest's format. A decoder refuses any other.
pub const MANIFEST_VERSION: u8 = 1;

/// The most shards a blob may have (n), as issue 19 fixes it.
pub const SHARDS_MAX: u8 = 64;

/// The largest blob: 4 GiB.
pub const BLOB_SIZE_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024;

/// The widest piece a stripe gives one shard: 1 MiB, so encoding or decoding holds at most
/// n MiB of pieces whatever the file's size.
pub const PIECE_BYTES_MAX: u32 = 1024 * 1024;

/// The narrowest full-stripe piece: 1 KiB, so a blob has at most 4 Mi stripes.
pub const PIECE_BYTES_MIN: u32 = 1024;

/// The piece width an encoder uses unless told otherwise.
pub const PIECE_BYTES_DEFAULT: u32 = PIECE_BYTES_MAX;

/// The largest canonical manifest: version 1, size 8, content hash 32, shares 2, piece 4,
/// shard size 8, the roots' length 8 and 64 roots of 32 (checked by a test).
pub const MANIFEST_BYTES_MAX: usize = 2111;

/// Erasure parameters: any `data_shards` (k) of `total_shards` (n) rebuild the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Shares {
    /// k: the shards any reader needs.
    pub data_shards: u8,
    /// n: the shards stored.
    pub total_shards: u8,
}

impl Default for Shares {
    /// 3-of-10, as Tahoe-LAFS: any 7 storers may vanish.
    fn default() -> Self {
        Shares {
            data_shards: 3,
            total_shards: 10,
        }
    }
}

impl Shares {
    /// k-of-n, refused unless 1 ≤ k ≤ n ≤ [`SHARDS_MAX`].
    pub fn new(data_shards: u8, total_shards: u8) -> Result<Self, ManifestError> {
        let shares = Shares {
            data_shards,
            total_shards,
        };
        shares.validate()?;
        Ok(shares)
    }

    /// Refuses k = 0, k > n and n > [`SHARDS_MAX`].
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.data_shards == 0 {
            return Err(ManifestError::NoDataShards);
        }
        if self.total_shards > SHARDS_MAX {
            return Err(ManifestError::TooManyShards {
                total_shards: self.total_shards,
                shards_max: SHARDS_MAX,
            });
        }
        if self.data_shards > self.total_shards {
            return Err(ManifestError::DataShardsAboveTotal {
                data_shards: self.data_shards,
                total_shards: self.total_shards,
            });
        }
        Ok(())
    }

    /// n − k: the shards that may be lost.
    pub fn recovery_shards(&self) -> u8 {
        self.total_shards.saturating_sub(self.data_shards)
    }
}

impl fmt::Display for Shares {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-of-{}", self.data_shards, self.total_shards)
    }
}

/// Text that is not `K-of-N` with valid K and N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SharesParseError {
    /// Not of the form `K-of-N`.
    #[error("expected shares as K-of-N (for example 3-of-10), got {0:?}")]
    Form(String),
    /// K and N read, but not a valid pair.
    #[error(transparent)]
    Invalid(#[from] ManifestError),
}

impl FromStr for Shares {
    type Err = SharesParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let form = || SharesParseError::Form(text.to_owned());
        let (k, n) = text.trim().split_once("-of-").ok_or_else(form)?;
        let k: u8 = k.parse().map_err(|_| form())?;
        let n: u8 = n.parse().map_err(|_| form())?;
        Ok(Shares::new(k, n)?)
    }
}

/// What a key's on-chain value holds for a blob. Storers and payment are not here: they need
/// the chain (see the crate's documentation).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub version: u8,
    /// The blob's length; where its data ends in the last stripe.
    pub size_bytes: u64,
    /// BLAKE3 of the blob's bytes (the root of its bao tree).
    pub content_hash: Hash,
    /// k-of-n.
    pub shares: Shares,
    /// The width of a full stripe's piece (the last stripe's may be narrower).
    pub piece_bytes: u32,
    /// Every shard's length, fixed by the size, k and the piece width.
    pub shard_size_bytes: u64,
    /// BLAKE3 of each shard's bytes, data shards first: n roots.
    pub shard_roots: Vec<Hash>,
}

impl Manifest {
    /// The manifest's canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        bitverse_primitives::encode(self)
    }

    /// Decodes under [`MANIFEST_BYTES_MAX`] and validates: bytes that decode are a consistent
    /// manifest or an error, never a manifest to check later.
    pub fn decode(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: Manifest =
            bitverse_primitives::decode_with_limit::<Manifest, MANIFEST_BYTES_MAX>(bytes)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Refuses every inconsistent manifest: an unknown version, bad shares, an empty or too
    /// large blob, a piece width out of bounds or odd, a shard size the layout does not give,
    /// or a number of shard roots other than n.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.version != MANIFEST_VERSION {
            return Err(ManifestError::UnknownVersion {
                version: self.version,
            });
        }
        let layout = self.layout()?;
        if self.shard_size_bytes != layout.shard_size_bytes() {
            return Err(ManifestError::ShardSizeMismatch {
                shard_size_bytes: self.shard_size_bytes,
                expected_bytes: layout.shard_size_bytes(),
            });
        }
        if self.shard_roots.len() != usize::from(self.shares.total_shards) {
            return Err(ManifestError::ShardRootCount {
                roots: self.shard_roots.len(),
                total_shards: self.shares.total_shards,
            });
        }
        Ok(())
    }

    /// The stripe layout this manifest fixes.
    pub fn layout(&self) -> Result<Layout, ManifestError> {
        Layout::new(self.size_bytes, self.shares, self.piece_bytes)
    }
}

/// A manifest, or its parts, that is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The bytes are not a canonical manifest.
    #[error("manifest does not decode: {0}")]
    Decode(#[from] CodecError),
    /// A version this build does not know.
    #[error("manifest version {version} is unknown (this build reads version {MANIFEST_VERSION})")]
    UnknownVersion {
        /// The version byte read.
        version: u8,
    },
    /// k = 0.
    #[error("a blob needs at least one data shard")]
    NoDataShards,
    /// k > n.
    #[error("{data_shards} data shards of {total_shards}: k must not exceed n")]
    DataShardsAboveTotal {
        /// k.
        data_shards: u8,
        /// n.
        total_shards: u8,
    },
    /// n > [`SHARDS_MAX`].
    #[error("{total_shards} shards exceeds the limit of {shards_max}")]
    TooManyShards {
        /// n.
        total_shards: u8,
        /// The limit.
        shards_max: u8,
    },
    /// A blob of no bytes (a value of no bytes is a value, not a blob).
    #[error("a blob cannot be empty")]
    Empty,
    /// Larger than [`BLOB_SIZE_BYTES_MAX`].
    #[error("a blob of {size_bytes} bytes exceeds the limit of {size_bytes_max} bytes (4 GiB)")]
    TooLarge {
        /// The size given.
        size_bytes: u64,
        /// The limit.
        size_bytes_max: u64,
    },
    /// A piece width odd or outside [`PIECE_BYTES_MIN`]..=[`PIECE_BYTES_MAX`].
    #[error(
        "piece width of {piece_bytes} bytes: must be even, from {PIECE_BYTES_MIN} to {PIECE_BYTES_MAX}"
    )]
    PieceBytes {
        /// The width given.
        piece_bytes: u32,
    },
    /// A shard size other than the one the size, k and piece width give.
    #[error("shard size of {shard_size_bytes} bytes, where the layout gives {expected_bytes}")]
    ShardSizeMismatch {
        /// The size declared.
        shard_size_bytes: u64,
        /// The size the layout gives.
        expected_bytes: u64,
    },
    /// Not one root a shard.
    #[error("{roots} shard roots for {total_shards} shards")]
    ShardRootCount {
        /// The roots given.
        roots: usize,
        /// n.
        total_shards: u8,
    },
}

/// Where every byte of a blob sits in its shards: derived from the size, k and the piece width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    size_bytes: u64,
    shares: Shares,
    piece_bytes: u32,
}

/// One stripe: a run of the blob's bytes and the pieces it gives each shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stripe {
    /// Where the stripe's data starts in the blob.
    pub data_offset_bytes: u64,
    /// The blob's bytes in this stripe (the rest of its k pieces is zero padding).
    pub data_bytes: u64,
    /// Where the stripe's piece starts in every shard.
    pub shard_offset_bytes: u64,
    /// The width of this stripe's piece in every shard (even).
    pub piece_bytes: u32,
}

impl Layout {
    /// The layout of a blob of `size_bytes` at `shares` with full pieces of `piece_bytes`.
    pub fn new(size_bytes: u64, shares: Shares, piece_bytes: u32) -> Result<Self, ManifestError> {
        shares.validate()?;
        if size_bytes == 0 {
            return Err(ManifestError::Empty);
        }
        if size_bytes > BLOB_SIZE_BYTES_MAX {
            return Err(ManifestError::TooLarge {
                size_bytes,
                size_bytes_max: BLOB_SIZE_BYTES_MAX,
            });
        }
        if !(PIECE_BYTES_MIN..=PIECE_BYTES_MAX).contains(&piece_bytes)
            || !piece_bytes.is_multiple_of(2)
        {
            return Err(ManifestError::PieceBytes { piece_bytes });
        }
        Ok(Layout {
            size_bytes,
            shares,
            piece_bytes,
        })
    }

    /// The blob's length.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// k-of-n.
    pub fn shares(&self) -> Shares {
        self.shares
    }

    /// A full stripe's piece width.
    pub fn piece_bytes(&self) -> u32 {
        self.piece_bytes
    }

    /// A full stripe's data: k pieces. (At most 64 MiB: no overflow.)
    pub fn stripe_data_bytes(&self) -> u64 {
        u64::from(self.shares.data_shards).saturating_mul(u64::from(self.piece_bytes))
    }

    fn full_stripes(&self) -> u64 {
        self.size_bytes
            .checked_div(self.stripe_data_bytes())
            .unwrap_or(0)
    }

    fn remainder_bytes(&self) -> u64 {
        self.size_bytes
            .checked_rem(self.stripe_data_bytes())
            .unwrap_or(0)
    }

    /// The last stripe's piece width if the file does not fill it, else 0: the remainder over
    /// k, rounded up to even.
    fn last_piece_bytes(&self) -> u32 {
        let per_shard = self
            .remainder_bytes()
            .div_ceil(u64::from(self.shares.data_shards));
        let even = per_shard.saturating_add(u64::from(!per_shard.is_multiple_of(2)));
        // Less than a full piece, so it fits.
        u32::try_from(even).unwrap_or(self.piece_bytes)
    }

    /// The number of stripes.
    pub fn stripes(&self) -> u64 {
        let partial = u64::from(self.remainder_bytes() != 0);
        self.full_stripes().saturating_add(partial)
    }

    /// Every shard's length.
    pub fn shard_size_bytes(&self) -> u64 {
        self.full_stripes()
            .saturating_mul(u64::from(self.piece_bytes))
            .saturating_add(u64::from(self.last_piece_bytes()))
    }

    /// Stripe `index`, or `None` past the last.
    pub fn stripe(&self, index: u64) -> Option<Stripe> {
        let full = self.full_stripes();
        let stripe_data = self.stripe_data_bytes();
        let piece = u64::from(self.piece_bytes);
        if index < full {
            return Some(Stripe {
                data_offset_bytes: index.checked_mul(stripe_data)?,
                data_bytes: stripe_data,
                shard_offset_bytes: index.checked_mul(piece)?,
                piece_bytes: self.piece_bytes,
            });
        }
        if index == full && self.remainder_bytes() != 0 {
            return Some(Stripe {
                data_offset_bytes: full.checked_mul(stripe_data)?,
                data_bytes: self.remainder_bytes(),
                shard_offset_bytes: full.checked_mul(piece)?,
                piece_bytes: self.last_piece_bytes(),
            });
        }
        None
    }

    /// Every stripe, in order.
    pub fn stripe_iter(&self) -> impl Iterator<Item = Stripe> + '_ {
        (0..self.stripes()).filter_map(|index| self.stripe(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn manifest(size_bytes: u64, k: u8, n: u8, piece_bytes: u32) -> Manifest {
        let shares = Shares::new(k, n).unwrap();
        let layout = Layout::new(size_bytes, shares, piece_bytes).unwrap();
        Manifest {
            version: MANIFEST_VERSION,
            size_bytes,
            content_hash: Hash::digest(b"content"),
            shares,
            piece_bytes,
            shard_size_bytes: layout.shard_size_bytes(),
            shard_roots: (0..n).map(|i| Hash::digest(&[i])).collect(),
        }
    }

    fn valid_manifest() -> impl Strategy<Value = Manifest> {
        (
            1u8..=SHARDS_MAX,
            1..=BLOB_SIZE_BYTES_MAX,
            PIECE_BYTES_MIN / 2..=PIECE_BYTES_MAX / 2,
        )
            .prop_flat_map(|(n, size, half_piece)| {
                (1..=n).prop_map(move |k| manifest(size, k, n, half_piece * 2))
            })
    }

    proptest! {
        #[test]
        fn a_valid_manifest_round_trips(m in valid_manifest()) {
            let bytes = m.encode();
            prop_assert!(bytes.len() <= MANIFEST_BYTES_MAX);
            prop_assert_eq!(Manifest::decode(&bytes).unwrap(), m);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2400)) {
            let _ = Manifest::decode(&bytes);
        }

        #[test]
        fn a_mutated_manifest_decodes_only_if_consistent(m in valid_manifest(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut bytes = m.encode();
            let at = at.index(bytes.len());
            bytes[at] ^= 1 << bit;
            if let Ok(decoded) = Manifest::decode(&bytes) {
                prop_assert!(decoded.validate().is_ok());
            }
        }

        #[test]
        fn the_layout_covers_every_byte_once(size in 1u64..50_000_000, k in 1u8..=16, half_piece in PIECE_BYTES_MIN / 2..=8192u32) {
            let layout = Layout::new(size, Shares::new(k, 16).unwrap(), half_piece * 2).unwrap();
            let mut data_end = 0;
            let mut shard_end = 0;
            for stripe in layout.stripe_iter() {
                prop_assert_eq!(stripe.data_offset_bytes, data_end);
                prop_assert_eq!(stripe.shard_offset_bytes, shard_end);
                prop_assert_eq!(stripe.piece_bytes % 2, 0);
                prop_assert!(stripe.data_bytes <= u64::from(k) * u64::from(stripe.piece_bytes));
                data_end += stripe.data_bytes;
                shard_end += u64::from(stripe.piece_bytes);
            }
            prop_assert_eq!(data_end, size);
            prop_assert_eq!(shard_end, layout.shard_size_bytes());
        }
    }

    #[test]
    fn the_largest_manifest_is_manifest_bytes_max() {
        let m = manifest(BLOB_SIZE_BYTES_MAX, 1, SHARDS_MAX, PIECE_BYTES_MAX);
        assert_eq!(m.encode().len(), MANIFEST_BYTES_MAX);
    }

    #[test]
    fn every_inconsistency_is_refused_with_its_error() {
        let good = manifest(12_000_000, 3, 10, PIECE_BYTES_DEFAULT);
        assert_eq!(good.validate(), Ok(()));
        type Case = (fn(&mut Manifest), ManifestError);
        let cases: Vec<Case> = vec![
            (
                |m| m.version = 2,
                ManifestError::UnknownVersion { version: 2 },
            ),
            (|m| m.shares.data_shards = 0, ManifestError::NoDataShards),
            (
                |m| m.shares.data_shards = 11,
                ManifestError::DataShardsAboveTotal {
                    data_shards: 11,
                    total_shards: 10,
                },
            ),
            (
                |m| m.shares.total_shards = 65,
                ManifestError::TooManyShards {
                    total_shards: 65,
                    shards_max: 64,
                },
            ),
            (|m| m.size_bytes = 0, ManifestError::Empty),
            (
                |m| m.size_bytes = BLOB_SIZE_BYTES_MAX + 1,
                ManifestError::TooLarge {
                    size_bytes: BLOB_SIZE_BYTES_MAX + 1,
                    size_bytes_max: BLOB_SIZE_BYTES_MAX,
                },
            ),
            (
                |m| m.piece_bytes = 4097,
                ManifestError::PieceBytes { piece_bytes: 4097 },
            ),
            (
                |m| m.piece_bytes = 0,
                ManifestError::PieceBytes { piece_bytes: 0 },
            ),
            (
                |m| m.piece_bytes = PIECE_BYTES_MAX + 2,
                ManifestError::PieceBytes {
                    piece_bytes: PIECE_BYTES_MAX + 2,
                },
            ),
            (
                |m| m.shard_size_bytes += 2,
                ManifestError::ShardSizeMismatch {
                    shard_size_bytes: 4_000_002,
                    expected_bytes: 4_000_000,
                },
            ),
            (
                // The size grown past what the declared shards can hold.
                |m| m.size_bytes = 12_000_007,
                ManifestError::ShardSizeMismatch {
                    shard_size_bytes: 4_000_000,
                    expected_bytes: 4_000_004,
                },
            ),
            (
                |m| {
                    m.shard_roots.pop();
                },
                ManifestError::ShardRootCount {
                    roots: 9,
                    total_shards: 10,
                },
            ),
        ];
        for (mutate, error) in cases {
            let mut bad = good.clone();
            mutate(&mut bad);
            assert_eq!(bad.validate(), Err(error.clone()));
            assert_eq!(Manifest::decode(&bad.encode()), Err(error));
        }
    }

    #[test]
    fn a_small_blob_is_not_padded_to_a_whole_stripe() {
        // 100 KB at 3-of-10: one narrow stripe of 33,334 bytes a shard, not 1 MiB.
        let layout = Layout::new(100_000, Shares::default(), PIECE_BYTES_DEFAULT).unwrap();
        assert_eq!(layout.stripes(), 1);
        assert_eq!(layout.shard_size_bytes(), 33_334);
    }

    #[test]
    fn shares_read_and_print_as_k_of_n() {
        assert_eq!("3-of-10".parse::<Shares>(), Ok(Shares::default()));
        assert_eq!(Shares::default().to_string(), "3-of-10");
        assert!(matches!(
            "3 of 10".parse::<Shares>(),
            Err(SharesParseError::Form(_))
        ));
        assert_eq!(
            "5-of-4".parse::<Shares>(),
            Err(SharesParseError::Invalid(
                ManifestError::DataShardsAboveTotal {
                    data_shards: 5,
                    total_shards: 4
                }
            ))
        );
        assert_eq!(
            "1-of-65".parse::<Shares>(),
            Err(SharesParseError::Invalid(ManifestError::TooManyShards {
                total_shards: 65,
                shards_max: 64
            }))
        );
    }

    #[test]
    fn an_oversize_manifest_is_refused_before_decoding() {
        let bytes = vec![0u8; MANIFEST_BYTES_MAX + 1];
        assert!(matches!(
            Manifest::decode(&bytes),
            Err(ManifestError::Decode(CodecError::TooLarge { .. }))
        ));
    }
}
