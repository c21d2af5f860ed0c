//! The canonical codec: bincode 2 with fixed-width little-endian integers, so every value has
//! exactly one encoding, decoded under a size limit and refusing trailing bytes.

use bincode::config::{self, Configuration, Fixint, Limit, LittleEndian};
use bincode::{Decode, Encode};

/// The largest message the codec will ever decode, and so the most a single decode can be
/// made to allocate. Blocks are the largest values that travel; this leaves them room.
pub const DECODE_SIZE_BYTES_MAX: usize = 16 * 1024 * 1024;

type Canonical<const LIMIT: usize> = Configuration<LittleEndian, Fixint, Limit<LIMIT>>;

fn canonical<const LIMIT: usize>() -> Canonical<LIMIT> {
    config::standard()
        .with_fixed_int_encoding()
        .with_little_endian()
        .with_limit::<LIMIT>()
}

/// Bytes that do not decode to the expected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input is longer than the decode limit.
    #[error("message of {size_bytes} bytes exceeds the limit of {size_bytes_max} bytes")]
    TooLarge {
        /// Length of the input.
        size_bytes: usize,
        /// The limit in force.
        size_bytes_max: usize,
    },
    /// Bytes remain after a whole value was decoded.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// The bytes are not a valid encoding.
    #[error("malformed encoding: {0}")]
    Malformed(String),
}

/// Encodes `value` canonically.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    // Encoding into a Vec cannot fail for our types: no writer errors, and the limit applies to
    // decoding only. An error here would be a bug in a hand-written `Encode`, so it is surfaced
    // as an empty encoding that no decoder accepts rather than a panic.
    bincode::encode_to_vec(value, canonical::<DECODE_SIZE_BYTES_MAX>()).unwrap_or_default()
}

/// Decodes a `T` from exactly `bytes`, under [`DECODE_SIZE_BYTES_MAX`].
pub fn decode<T: Decode<()>>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_with_limit::<T, DECODE_SIZE_BYTES_MAX>(bytes)
}

/// Decodes a `T` from exactly `bytes`, refusing inputs, and claims on memory, above `LIMIT`.
pub fn decode_with_limit<T: Decode<()>, const LIMIT: usize>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > LIMIT {
        return Err(CodecError::TooLarge {
            size_bytes: bytes.len(),
            size_bytes_max: LIMIT,
        });
    }
    let (value, read) = bincode::decode_from_slice::<T, _>(bytes, canonical::<LIMIT>())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    match bytes.len().checked_sub(read) {
        Some(0) => Ok(value),
        Some(extra) => Err(CodecError::TrailingBytes(extra)),
        None => Err(CodecError::Malformed("decoder read past the input".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountId, Amount, ChainId, Hash, Signature};
    use proptest::prelude::*;

    #[derive(Debug, PartialEq, Encode, Decode)]
    struct Sample {
        chain: ChainId,
        hash: Hash,
        account: AccountId,
        amount: Amount,
        signature: Signature,
        bytes: Vec<u8>,
        text: String,
        flag: bool,
        option: Option<u64>,
    }

    fn sample() -> impl Strategy<Value = Sample> {
        (
            (0u8..=64, any::<u64>()),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<u128>(),
            proptest::collection::vec(any::<u8>(), 64),
            proptest::collection::vec(any::<u8>(), 0..300),
            ".{0,40}",
            any::<bool>(),
            any::<Option<u64>>(),
        )
            .prop_map(
                |((depth, bits), hash, account, amount, sig, bytes, text, flag, option)| {
                    let prefix = if depth == 64 {
                        bits
                    } else {
                        bits & ((1u64 << depth) - 1)
                    };
                    let mut signature = [0u8; 64];
                    signature.copy_from_slice(&sig);
                    Sample {
                        chain: ChainId::new(depth, prefix).unwrap(),
                        hash: Hash(hash),
                        account: AccountId(account),
                        amount: Amount(amount),
                        signature: Signature(signature),
                        bytes,
                        text,
                        flag,
                        option,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn round_trips(value in sample()) {
            let bytes = encode(&value);
            prop_assert_eq!(decode::<Sample>(&bytes).unwrap(), value);
        }

        #[test]
        fn rejects_trailing_bytes(value in sample(), extra in proptest::collection::vec(any::<u8>(), 1..16)) {
            let mut bytes = encode(&value);
            bytes.extend_from_slice(&extra);
            prop_assert_eq!(decode::<Sample>(&bytes), Err(CodecError::TrailingBytes(extra.len())));
        }

        #[test]
        fn rejects_oversize_input(value in sample()) {
            let bytes = encode(&value);
            let result = decode_with_limit::<Sample, 64>(&bytes);
            prop_assert!(matches!(result, Err(CodecError::TooLarge { .. })), "{result:?}");
        }

        #[test]
        fn rejects_truncation(value in sample(), cut in 1usize..64) {
            let bytes = encode(&value);
            let cut = cut.min(bytes.len());
            prop_assert!(decode::<Sample>(&bytes[..bytes.len() - cut]).is_err());
        }

        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode::<Sample>(&bytes);
        }
    }

    #[test]
    fn huge_length_prefix_is_refused_without_allocating() {
        // A Vec<u8> claiming u64::MAX / 2 elements in 8 bytes.
        let bytes = (u64::MAX / 2).to_le_bytes();
        assert!(matches!(
            decode::<Vec<u8>>(&bytes),
            Err(CodecError::Malformed(_))
        ));
    }

    #[test]
    fn non_canonical_bool_and_chain_id_are_refused() {
        assert!(decode::<bool>(&[2]).is_err());
        // depth 2 with prefix 0b100: a bit beyond the depth.
        let mut bytes = vec![2u8];
        bytes.extend_from_slice(&4u64.to_le_bytes());
        assert!(decode::<ChainId>(&bytes).is_err());
    }
}
