//! The shard protocol (issue 19): an uploader streams a shard to its storer piece by piece,
//! and a reader asks a storer for a byte range with its proof against the shard root. One
//! request-response exchange per piece or range, each bounded on both sides of the wire; what
//! a storer does with a request is its [`ShardService`]'s business, run off the swarm's task.

use std::io;

use bincode::{Decode, Encode};
use bitverse_primitives::Hash;
use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncWrite};

use super::PeerRef;
use super::protocol::{decode_bounded, encode_bounded, read_stream, write_stream};

/// The largest piece of an upload.
pub const SHARD_PIECE_BYTES_MAX: usize = 1024 * 1024;
/// The largest range asked for at once.
pub const SHARD_RANGE_BYTES_MAX: u64 = 1024 * 1024;
/// The longest refusal text; longer ones are cut.
pub const SHARD_REFUSAL_BYTES_MAX: usize = 512;
/// Largest request on the wire: a whole piece and its framing.
pub(crate) const SHARD_REQUEST_BYTES_MAX: usize = SHARD_PIECE_BYTES_MAX + 1024;
/// Largest response on the wire: a whole range's proof, whose hashes are 64 bytes per 16 KiB
/// chunk group of the range plus at most 32 pairs on the path from the root (a tree of
/// 2^18 groups is a 4 GiB shard), with room to spare.
pub(crate) const SHARD_RESPONSE_BYTES_MAX: usize = SHARD_RANGE_BYTES_MAX as usize + 64 * 1024;

/// A shard on the wire: its blob's id and its index among the blob's shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct ShardRef {
    /// The blob's id, as the chain names it.
    pub blob: Hash,
    /// Which of its shards, from 0.
    pub index: u8,
}

/// What an uploader or a reader asks a storer.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ShardRequest {
    /// Take `shard`, `size_bytes` long, whose bytes hash to `root` (the storer checks that the
    /// chain placed it here with that root before it agrees).
    Begin {
        /// The shard.
        shard: ShardRef,
        /// Its root, from the manifest.
        root: Hash,
        /// Its length, from the manifest.
        size_bytes: u64,
    },
    /// The next piece of an upload begun.
    Piece {
        /// The shard.
        shard: ShardRef,
        /// Where the piece starts.
        offset: u64,
        /// Its bytes, at most [`SHARD_PIECE_BYTES_MAX`].
        bytes: Vec<u8>,
    },
    /// All pieces are sent: check the shard against its root and keep it.
    Finish {
        /// The shard.
        shard: ShardRef,
    },
    /// Bytes `start..end` of a shard held, with their proof.
    Range {
        /// The shard.
        shard: ShardRef,
        /// First byte.
        start: u64,
        /// One past the last byte; at most [`SHARD_RANGE_BYTES_MAX`] after `start`.
        end: u64,
    },
}

/// A storer's answer.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ShardResponse {
    /// The upload may go on; `held` says the storer holds the shard already (nothing to send).
    Begun {
        /// Whether the shard is held already.
        held: bool,
    },
    /// The piece is written; the upload has this many bytes.
    Written {
        /// Bytes received so far.
        written_bytes: u64,
    },
    /// The shard checked against its root and is kept durably.
    Stored,
    /// The range's proof (`bitverse_storage::verify_range` reads it).
    Proof {
        /// The proof's bytes.
        bytes: Vec<u8>,
    },
    /// The storer is working on as many requests as it takes at once: try again shortly.
    Busy,
    /// Refused, with the storer's reason (at most [`SHARD_REFUSAL_BYTES_MAX`] bytes).
    Refused {
        /// Why.
        reason: String,
    },
}

impl ShardResponse {
    /// A refusal whose text is cut to [`SHARD_REFUSAL_BYTES_MAX`] bytes on a character
    /// boundary.
    pub fn refused(reason: impl Into<String>) -> ShardResponse {
        let mut reason = reason.into();
        if reason.len() > SHARD_REFUSAL_BYTES_MAX {
            let mut cut = SHARD_REFUSAL_BYTES_MAX;
            while !reason.is_char_boundary(cut) {
                cut = cut.saturating_sub(1);
            }
            reason.truncate(cut);
        }
        ShardResponse::Refused { reason }
    }
}

/// What a storer does with the shard requests it receives: the node implements it (checking
/// the chain's placement, then its shard store). Called on a blocking thread, never on the
/// swarm's task; `from` is the asking peer.
pub trait ShardService: Send + Sync + 'static {
    /// Answers one request.
    fn serve(&self, from: PeerRef, request: ShardRequest) -> ShardResponse;
}

/// Decodes a shard request: canonical bincode of at most [`SHARD_REQUEST_BYTES_MAX`] bytes.
pub(crate) fn decode_shard_request(bytes: &[u8]) -> io::Result<ShardRequest> {
    decode_bounded::<ShardRequest, SHARD_REQUEST_BYTES_MAX>(bytes)
}

/// Decodes a shard response: canonical bincode of at most [`SHARD_RESPONSE_BYTES_MAX`] bytes.
pub(crate) fn decode_shard_response(bytes: &[u8]) -> io::Result<ShardResponse> {
    decode_bounded::<ShardResponse, SHARD_RESPONSE_BYTES_MAX>(bytes)
}

/// The shard protocol's codec: one canonical bincode value per stream, size-limited on read
/// and on write.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ShardCodec;

impl libp2p::request_response::Codec for ShardCodec {
    type Protocol = StreamProtocol;
    type Request = ShardRequest;
    type Response = ShardResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<ShardRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode_shard_request(&read_stream::<SHARD_REQUEST_BYTES_MAX, T>(io).await?)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<ShardResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode_shard_response(&read_stream::<SHARD_RESPONSE_BYTES_MAX, T>(io).await?)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: ShardRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode_bounded::<ShardRequest, SHARD_REQUEST_BYTES_MAX>(&request)?;
        write_stream(io, &bytes).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: ShardResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode_bounded::<ShardResponse, SHARD_RESPONSE_BYTES_MAX>(&response)?;
        write_stream(io, &bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::futures::executor::block_on;
    use libp2p::futures::io::Cursor;
    use libp2p::request_response::Codec;
    use proptest::prelude::*;

    fn shard() -> ShardRef {
        ShardRef {
            blob: Hash::digest(b"blob"),
            index: 9,
        }
    }

    #[test]
    fn a_whole_piece_and_a_whole_range_fit_the_wire() {
        let protocol = StreamProtocol::new("/test");
        let request = ShardRequest::Piece {
            shard: shard(),
            offset: u64::MAX,
            bytes: vec![7; SHARD_PIECE_BYTES_MAX],
        };
        let mut wire = Cursor::new(Vec::new());
        block_on(ShardCodec.write_request(&protocol, &mut wire, request.clone())).unwrap();
        let mut read = Cursor::new(wire.into_inner());
        assert_eq!(
            block_on(ShardCodec.read_request(&protocol, &mut read)).unwrap(),
            request
        );
        // A 1 MiB range of a 4 GiB shard: 64 groups of 16 KiB with 63 inner pairs, and 18
        // pairs on the path down.
        let proof_bytes = SHARD_RANGE_BYTES_MAX as usize + (63 + 18) * 64;
        let response = ShardResponse::Proof {
            bytes: vec![1; proof_bytes],
        };
        let mut wire = Cursor::new(Vec::new());
        block_on(ShardCodec.write_response(&protocol, &mut wire, response.clone())).unwrap();
        let mut read = Cursor::new(wire.into_inner());
        assert_eq!(
            block_on(ShardCodec.read_response(&protocol, &mut read)).unwrap(),
            response
        );
    }

    #[test]
    fn an_oversized_message_is_refused_on_both_sides() {
        let protocol = StreamProtocol::new("/test");
        let request = ShardRequest::Piece {
            shard: shard(),
            offset: 0,
            bytes: vec![0; SHARD_REQUEST_BYTES_MAX],
        };
        let mut wire = Cursor::new(Vec::new());
        assert!(block_on(ShardCodec.write_request(&protocol, &mut wire, request.clone())).is_err());
        let bytes = bitverse_primitives::codec::encode(&request);
        let mut read = Cursor::new(bytes);
        assert!(block_on(ShardCodec.read_request(&protocol, &mut read)).is_err());
    }

    #[test]
    fn a_long_refusal_is_cut_on_a_character_boundary() {
        let ShardResponse::Refused { reason } = ShardResponse::refused("é".repeat(400)) else {
            panic!("not a refusal");
        };
        assert!(reason.len() <= SHARD_REFUSAL_BYTES_MAX);
        assert_eq!(reason.chars().count(), SHARD_REFUSAL_BYTES_MAX / 2);
    }

    proptest! {
        #[test]
        fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = decode_shard_request(&bytes);
            let _ = decode_shard_response(&bytes);
        }

        #[test]
        fn requests_round_trip(offset in any::<u64>(), start in any::<u64>(), end in any::<u64>(), len in 0usize..4096) {
            for request in [
                ShardRequest::Begin { shard: shard(), root: Hash::digest(&offset.to_le_bytes()), size_bytes: end },
                ShardRequest::Piece { shard: shard(), offset, bytes: vec![3; len] },
                ShardRequest::Finish { shard: shard() },
                ShardRequest::Range { shard: shard(), start, end },
            ] {
                let bytes = bitverse_primitives::codec::encode(&request);
                prop_assert_eq!(decode_shard_request(&bytes).unwrap(), request);
            }
        }
    }
}
