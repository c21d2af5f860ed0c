//! The network's wire formats: gossip topic and protocol names (which carry the network's
//! genesis, so two networks never mix), the sync request/response messages, their size limits,
//! and the request-response codec that enforces those limits on both sides of the wire.

use std::io;

use bincode::{Decode, Encode};
use bitverse_blocktree::block::{BLOCK_SIZE_BYTES_MAX, BLOCK_TXS_MAX};
use bitverse_blocktree::{Block, BlockHeader};
use bitverse_primitives::codec::{self, DECODE_SIZE_BYTES_MAX};
use bitverse_primitives::{ChainId, Hash};
use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest gossip message: a maximal block plus room for gossipsub's own framing. A
/// transaction is far smaller, so one limit serves both topics.
pub(crate) const GOSSIP_MESSAGE_BYTES_MAX: usize = BLOCK_SIZE_BYTES_MAX + 64 * 1024;
/// Largest sync request on the wire: a locator of [`LOCATOR_HASHES_MAX`] hashes, or
/// [`BLOCKS_PER_REQUEST_MAX`] hashes, or a key, all fit with room to spare.
pub(crate) const SYNC_REQUEST_BYTES_MAX: usize = 64 * 1024;
/// Largest sync response on the wire: the codec's own decode limit, which holds two maximal
/// blocks.
pub(crate) const SYNC_RESPONSE_BYTES_MAX: usize = DECODE_SIZE_BYTES_MAX;
/// What a responder puts into one blocks response at most, leaving the rest of
/// [`SYNC_RESPONSE_BYTES_MAX`] for the encoding around the blocks. A block larger than what is
/// left is sent in the next response; one block always fits.
pub(crate) const BLOCKS_RESPONSE_BYTES_BUDGET: usize = SYNC_RESPONSE_BYTES_MAX - 64 * 1024;
/// Most hashes in a best-chain locator: 10 recent ones, then exponentially spaced back to
/// genesis, covers 2^54 blocks.
pub(crate) const LOCATOR_HASHES_MAX: usize = 64;
/// Most headers in one headers response (about 170 bytes each).
pub(crate) const HEADERS_PER_RESPONSE_MAX: u32 = 1000;
/// Most block hashes one blocks request may name.
pub(crate) const BLOCKS_PER_REQUEST_MAX: usize = 128;
/// Longest refusal text a responder sends; longer texts are cut.
pub(crate) const REFUSAL_TEXT_BYTES_MAX: usize = 256;

// One block, however large, must fit a blocks response, or a maximal block could never sync.
const _: () = assert!(BLOCK_SIZE_BYTES_MAX + 1024 < BLOCKS_RESPONSE_BYTES_BUDGET);
const _: () = assert!(BLOCK_TXS_MAX > 0);

/// The short form of a genesis hash in names: its first 8 bytes as hex.
fn genesis_short(genesis: &Hash) -> String {
    let text = genesis.to_string();
    text.chars().take(16).collect()
}

/// Names of the gossip topics and protocols of one network.
#[derive(Clone, Debug)]
pub(crate) struct NetworkNames {
    /// Gossip topic of a chain's blocks.
    pub(crate) blocks_topic: String,
    /// Gossip topic of a chain's transactions.
    pub(crate) txs_topic: String,
    /// The sync request-response protocol.
    pub(crate) sync_protocol: StreamProtocol,
    /// The Kademlia protocol: a separate DHT per network.
    pub(crate) kad_protocol: StreamProtocol,
    /// What identify announces as the protocol version.
    pub(crate) identify_version: String,
}

impl NetworkNames {
    /// The names for the network with genesis `genesis`, chain `chain`.
    pub(crate) fn new(genesis: &Hash, chain: ChainId) -> anyhow::Result<NetworkNames> {
        let short = genesis_short(genesis);
        let protocol = |what: &str| {
            StreamProtocol::try_from_owned(format!("/bitverse/{short}/{what}"))
                .map_err(|e| anyhow::anyhow!("protocol name for {what}: {e}"))
        };
        Ok(NetworkNames {
            blocks_topic: format!("/bitverse/{short}/{chain}/blocks/1"),
            txs_topic: format!("/bitverse/{short}/{chain}/txs/1"),
            sync_protocol: protocol("sync/1")?,
            kad_protocol: protocol("kad/1")?,
            identify_version: format!("/bitverse/{short}/1"),
        })
    }
}

/// A node's best chain as it tells its peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub(crate) struct PeerStatus {
    /// The network's genesis: a peer on another network is dropped.
    pub(crate) genesis: Hash,
    /// Height of the best block.
    pub(crate) height: u64,
    /// Hash of the best block.
    pub(crate) tip: Hash,
    /// Total work of the best chain: sync follows the peer with the most.
    pub(crate) cumulative_work: u128,
}

/// What one node asks another over the sync protocol.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub(crate) enum SyncRequest {
    /// "Here is my tip; what is yours?"
    Status(PeerStatus),
    /// Headers of the responder's best chain after the first locator hash it has on it.
    HeadersAfter {
        /// Best-chain hashes of the requester, newest first, ending at genesis.
        locator: Vec<Hash>,
        /// Most headers wanted; the responder sends at most [`HEADERS_PER_RESPONSE_MAX`].
        count_max: u32,
    },
    /// Whole blocks by hash, in the order given.
    Blocks {
        /// At most [`BLOCKS_PER_REQUEST_MAX`] hashes.
        hashes: Vec<Hash>,
    },
    /// A key's value at the responder's tip with its Merkle proof.
    ValueProof {
        /// The key, keyspace first.
        key: String,
    },
}

/// The answer to a [`SyncRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub(crate) enum SyncResponse {
    /// The responder's tip.
    Status(PeerStatus),
    /// Consecutive best-chain headers, oldest first; empty when the responder has nothing
    /// after the locator.
    Headers(Vec<BlockHeader>),
    /// The requested blocks that the responder has and that fit in one response: a prefix of
    /// the requested hashes, in order.
    Blocks(Vec<Block>),
    /// The canonical bytes of a `ValueProof` against the responder's tip header.
    ValueProof(Vec<u8>),
    /// The request was refused (over a limit, unknown key, …); the text says why.
    Refused(String),
}

impl SyncResponse {
    /// A refusal, its text cut to [`REFUSAL_TEXT_BYTES_MAX`].
    pub(crate) fn refused(why: impl std::fmt::Display) -> SyncResponse {
        let mut text = why.to_string();
        if text.len() > REFUSAL_TEXT_BYTES_MAX {
            let mut cut = REFUSAL_TEXT_BYTES_MAX;
            while !text.is_char_boundary(cut) {
                cut = cut.saturating_sub(1);
            }
            text.truncate(cut);
        }
        SyncResponse::Refused(text)
    }
}

/// Reads a whole stream, refusing more than `LIMIT` bytes, and decodes it canonically.
async fn read_bounded<T, const LIMIT: usize, I>(io: &mut I) -> io::Result<T>
where
    T: Decode<()>,
    I: AsyncRead + Unpin + Send,
{
    let mut bytes = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it".
    let limit_plus_one = u64::try_from(LIMIT).unwrap_or(u64::MAX).saturating_add(1);
    io.take(limit_plus_one).read_to_end(&mut bytes).await?;
    codec::decode_with_limit::<T, LIMIT>(&bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Encodes canonically and writes, refusing to send what the other side would refuse to read.
async fn write_bounded<T, const LIMIT: usize, I>(io: &mut I, value: &T) -> io::Result<()>
where
    T: Encode,
    I: AsyncWrite + Unpin + Send,
{
    let bytes = codec::encode(value);
    if bytes.len() > LIMIT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("message of {} bytes exceeds {LIMIT}", bytes.len()),
        ));
    }
    io.write_all(&bytes).await?;
    io.close().await
}

/// The sync protocol's codec: one canonical bincode value per stream, size-limited on read and
/// on write.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SyncCodec;

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded::<SyncRequest, SYNC_REQUEST_BYTES_MAX, T>(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded::<SyncResponse, SYNC_RESPONSE_BYTES_MAX, T>(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: SyncRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_bounded::<SyncRequest, SYNC_REQUEST_BYTES_MAX, T>(io, &request).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: SyncResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_bounded::<SyncResponse, SYNC_RESPONSE_BYTES_MAX, T>(io, &response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::futures::executor::block_on;
    use libp2p::futures::io::Cursor;
    use libp2p::request_response::Codec;
    use proptest::prelude::*;

    fn status() -> PeerStatus {
        PeerStatus {
            genesis: Hash::digest(b"genesis"),
            height: 7,
            tip: Hash::digest(b"tip"),
            cumulative_work: u128::MAX,
        }
    }

    #[test]
    fn requests_and_responses_round_trip_through_the_codec() {
        let protocol = StreamProtocol::new("/test");
        let request = SyncRequest::HeadersAfter {
            locator: vec![Hash::digest(b"a"), Hash::digest(b"b")],
            count_max: 12,
        };
        let mut wire = Cursor::new(Vec::new());
        block_on(SyncCodec.write_request(&protocol, &mut wire, request.clone())).unwrap();
        let mut read = Cursor::new(wire.into_inner());
        assert_eq!(
            block_on(SyncCodec.read_request(&protocol, &mut read)).unwrap(),
            request
        );
        let response = SyncResponse::Status(status());
        let mut wire = Cursor::new(Vec::new());
        block_on(SyncCodec.write_response(&protocol, &mut wire, response.clone())).unwrap();
        let mut read = Cursor::new(wire.into_inner());
        assert_eq!(
            block_on(SyncCodec.read_response(&protocol, &mut read)).unwrap(),
            response
        );
    }

    #[test]
    fn a_request_over_the_limit_is_refused_on_both_sides() {
        let protocol = StreamProtocol::new("/test");
        let key = "k".repeat(SYNC_REQUEST_BYTES_MAX);
        let request = SyncRequest::ValueProof { key };
        let mut wire = Cursor::new(Vec::new());
        assert!(block_on(SyncCodec.write_request(&protocol, &mut wire, request.clone())).is_err());
        let mut read = Cursor::new(codec::encode(&request));
        assert!(block_on(SyncCodec.read_request(&protocol, &mut read)).is_err());
    }

    #[test]
    fn garbage_and_trailing_bytes_are_refused() {
        let protocol = StreamProtocol::new("/test");
        let mut read = Cursor::new(vec![0xff; 100]);
        assert!(block_on(SyncCodec.read_request(&protocol, &mut read)).is_err());
        let mut bytes = codec::encode(&SyncRequest::Status(status()));
        bytes.push(0);
        let mut read = Cursor::new(bytes);
        assert!(block_on(SyncCodec.read_request(&protocol, &mut read)).is_err());
    }

    fn hash() -> impl Strategy<Value = Hash> {
        any::<[u8; 32]>().prop_map(Hash)
    }

    fn peer_status() -> impl Strategy<Value = PeerStatus> {
        (hash(), any::<u64>(), hash(), any::<u128>()).prop_map(
            |(genesis, height, tip, cumulative_work)| PeerStatus {
                genesis,
                height,
                tip,
                cumulative_work,
            },
        )
    }

    fn request() -> impl Strategy<Value = SyncRequest> {
        prop_oneof![
            peer_status().prop_map(SyncRequest::Status),
            (
                proptest::collection::vec(hash(), 0..LOCATOR_HASHES_MAX),
                any::<u32>()
            )
                .prop_map(|(locator, count_max)| SyncRequest::HeadersAfter { locator, count_max }),
            proptest::collection::vec(hash(), 0..BLOCKS_PER_REQUEST_MAX)
                .prop_map(|hashes| SyncRequest::Blocks { hashes }),
            "[a-z]{1,8}/[a-z0-9/]{0,40}".prop_map(|key| SyncRequest::ValueProof { key }),
        ]
    }

    fn response() -> impl Strategy<Value = SyncResponse> {
        prop_oneof![
            peer_status().prop_map(SyncResponse::Status),
            proptest::collection::vec(any::<u8>(), 0..512).prop_map(SyncResponse::ValueProof),
            ".{0,64}".prop_map(SyncResponse::refused),
        ]
    }

    proptest! {
        #[test]
        fn any_request_round_trips(request in request()) {
            let protocol = StreamProtocol::new("/test");
            let mut wire = Cursor::new(Vec::new());
            block_on(SyncCodec.write_request(&protocol, &mut wire, request.clone())).unwrap();
            let mut read = Cursor::new(wire.into_inner());
            prop_assert_eq!(block_on(SyncCodec.read_request(&protocol, &mut read)).unwrap(), request);
        }

        #[test]
        fn any_response_round_trips(response in response()) {
            let protocol = StreamProtocol::new("/test");
            let mut wire = Cursor::new(Vec::new());
            block_on(SyncCodec.write_response(&protocol, &mut wire, response.clone())).unwrap();
            let mut read = Cursor::new(wire.into_inner());
            prop_assert_eq!(block_on(SyncCodec.read_response(&protocol, &mut read)).unwrap(), response);
        }

        /// Whatever a peer sends, decoding answers (a value or an error) and never panics.
        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let protocol = StreamProtocol::new("/test");
            let _ = block_on(SyncCodec.read_request(&protocol, &mut Cursor::new(bytes.clone())));
            let _ = block_on(SyncCodec.read_response(&protocol, &mut Cursor::new(bytes)));
        }
    }

    #[test]
    fn refusal_text_is_cut_to_its_maximum() {
        let SyncResponse::Refused(text) = SyncResponse::refused("é".repeat(1000)) else {
            panic!("not a refusal");
        };
        assert!(text.len() <= REFUSAL_TEXT_BYTES_MAX);
    }

    #[test]
    fn names_differ_between_networks() {
        let a = NetworkNames::new(&Hash::digest(b"a"), ChainId::ROOT).unwrap();
        let b = NetworkNames::new(&Hash::digest(b"b"), ChainId::ROOT).unwrap();
        assert_ne!(a.blocks_topic, b.blocks_topic);
        assert_ne!(a.sync_protocol, b.sync_protocol);
        assert!(
            a.blocks_topic.ends_with("/root/blocks/1"),
            "{}",
            a.blocks_topic
        );
    }
}
