//! The network's wire formats: gossip topic and protocol names (which carry the network's
//! genesis, so two networks never mix), the sync request/response messages, their size limits,
//! and the request-response codec that enforces those limits on both sides of the wire.

use std::io;

use bincode::{Decode, Encode};
use bitverse_blocktree::block::{BLOCK_SIZE_BYTES_MAX, BLOCK_TXS_MAX};
use bitverse_blocktree::tree::LIVE_CHAINS_MAX;
use bitverse_blocktree::{Block, BlockHeader, TX_SIZE_BYTES_MAX};
use bitverse_primitives::codec::{self, DECODE_SIZE_BYTES_MAX};
use bitverse_primitives::{ChainId, Hash};
use libp2p::StreamProtocol;
use libp2p::futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest gossip message: a maximal block plus room for gossipsub's own framing. A
/// transaction is far smaller, so one limit serves both topics.
pub(crate) const GOSSIP_MESSAGE_BYTES_MAX: usize = BLOCK_SIZE_BYTES_MAX + 64 * 1024;
/// Largest sync request on the wire: a status of [`STATUS_CHAINS_MAX`] chains (~68 KiB), a
/// locator of [`LOCATOR_HASHES_MAX`] hashes, [`BLOCKS_PER_REQUEST_MAX`] hashes, a key, or a
/// forwarded transaction (at most [`TX_SIZE_BYTES_MAX`]) all fit with room to spare.
pub(crate) const SYNC_REQUEST_BYTES_MAX: usize = 128 * 1024;
/// Most chains one status names: the root and every data chain a node may have open.
pub(crate) const STATUS_CHAINS_MAX: usize = LIVE_CHAINS_MAX + 1;
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
// A forwarded transaction must fit a request, with room for the encoding around it.
const _: () = assert!(TX_SIZE_BYTES_MAX + 1024 < SYNC_REQUEST_BYTES_MAX);

/// The short form of a genesis hash in names: its first 8 bytes as hex.
fn genesis_short(genesis: &Hash) -> String {
    let text = genesis.to_string();
    text.chars().take(16).collect()
}

/// Names of the gossip topics and protocols of one network.
#[derive(Clone, Debug)]
pub(crate) struct NetworkNames {
    /// The short form of the network's genesis, in every name.
    short: String,
    /// The sync request-response protocol.
    pub sync_protocol: StreamProtocol,
    /// The Kademlia protocol: a separate DHT per network.
    pub kad_protocol: StreamProtocol,
    /// The shard protocol: uploads to storers and verified ranges from them.
    pub shard_protocol: StreamProtocol,
    /// What identify announces as the protocol version.
    pub identify_version: String,
}

impl NetworkNames {
    /// The names for the network with genesis `genesis`.
    pub(crate) fn new(genesis: &Hash) -> anyhow::Result<NetworkNames> {
        let short = genesis_short(genesis);
        let protocol = |what: &str| {
            StreamProtocol::try_from_owned(format!("/bitverse/{short}/{what}"))
                .map_err(|e| anyhow::anyhow!("protocol name for {what}: {e}"))
        };
        Ok(NetworkNames {
            sync_protocol: protocol("sync/2")?,
            kad_protocol: protocol("kad/1")?,
            shard_protocol: protocol("shard/1")?,
            identify_version: format!("/bitverse/{short}/2"),
            short,
        })
    }

    /// Gossip topic of `chain`'s blocks.
    pub(crate) fn blocks_topic(&self, chain: ChainId) -> String {
        format!("/bitverse/{}/{chain}/blocks/1", self.short)
    }

    /// Gossip topic of `chain`'s transactions.
    pub(crate) fn txs_topic(&self, chain: ChainId) -> String {
        format!("/bitverse/{}/{chain}/txs/1", self.short)
    }

    /// Gossip topic of the compute market: requests, offers and result chains.
    pub(crate) fn market_topic(&self) -> String {
        format!("/bitverse/{}/market/1", self.short)
    }
}

/// One chain's best tip as a node tells its peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ChainTip {
    /// The chain.
    pub chain: ChainId,
    /// Height of the best block.
    pub height: u64,
    /// Hash of the best block.
    pub tip: Hash,
    /// Total work of the best chain: sync follows the peer with the most.
    pub cumulative_work: u128,
}

/// A node's chains as it tells its peers: the root's tip first, then every data chain it
/// tracks and has open. A peer that names a chain tracks it: writes and reads for that chain
/// may be forwarded to it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PeerStatus {
    /// The network's genesis: a peer on another network is dropped.
    pub genesis: Hash,
    /// At most [`STATUS_CHAINS_MAX`] chains, the root first.
    pub chains: Vec<ChainTip>,
}

impl PeerStatus {
    /// The tip it names for `chain`, if it tracks it.
    pub fn chain(&self, chain: ChainId) -> Option<&ChainTip> {
        self.chains.iter().find(|tip| tip.chain == chain)
    }

    /// The root's tip (every node tracks the root).
    pub fn root(&self) -> Option<&ChainTip> {
        self.chain(ChainId::ROOT)
    }

    /// Whether the status is within the protocol's bounds: a peer sending more is refused.
    pub fn is_well_formed(&self) -> bool {
        self.chains.len() <= STATUS_CHAINS_MAX
            && self.chains.first().is_some_and(|tip| tip.chain.is_root())
    }

    /// Records a new tip of one chain (a block this node just produced on it): fork choice
    /// decides tips, not work alone, so the newest word wins.
    pub fn update(&mut self, tip: ChainTip) {
        match self
            .chains
            .iter_mut()
            .find(|known| known.chain == tip.chain)
        {
            Some(known) => *known = tip,
            None => {
                if self.chains.len() < STATUS_CHAINS_MAX {
                    self.chains.push(tip);
                }
            }
        }
    }
}

/// Where a transaction stands, as a peer that tracks its chain tells it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum WireTxStatus {
    /// Never seen, or forgotten.
    Unknown,
    /// In the mempool.
    Pending,
    /// In the best chain.
    Included {
        /// Height of the block.
        height: u64,
        /// Hash of the block.
        block: Hash,
        /// Position in the block.
        index: u32,
    },
    /// Refused when a block was built.
    Dropped {
        /// The refusal's stable code.
        code: i32,
        /// Why, as text.
        message: String,
        /// The script's reason code, when a script refused it.
        script_reason_code: Option<u32>,
    },
}

/// What one node asks another over the sync protocol.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SyncRequest {
    /// "Here is my tip; what is yours?"
    Status(PeerStatus),
    /// Headers of the responder's best chain of `chain` after the first locator hash it has
    /// on it.
    HeadersAfter {
        /// The chain.
        chain: ChainId,
        /// Best-chain hashes of the requester, newest first, ending at genesis.
        locator: Vec<Hash>,
        /// Most headers wanted; the responder sends at most [`HEADERS_PER_RESPONSE_MAX`].
        count_max: u32,
    },
    /// Whole blocks of `chain` by hash, in the order given.
    Blocks {
        /// The chain.
        chain: ChainId,
        /// At most [`BLOCKS_PER_REQUEST_MAX`] hashes.
        hashes: Vec<Hash>,
    },
    /// A key's value with its proof against the responder's root tip, through every level
    /// down to the key's chain.
    ValueProof {
        /// The key, keyspace first.
        key: String,
    },
    /// A transaction for a chain the requester does not track: admit it to that chain's
    /// mempool (and gossip it there).
    SubmitTx {
        /// Its canonical bytes.
        tx: Vec<u8>,
    },
    /// Where a transaction stands on a chain the requester does not track.
    TxStatus {
        /// The chain.
        chain: ChainId,
        /// The transaction.
        hash: Hash,
    },
    /// An account's balance and nonces on a chain the requester does not track.
    Account {
        /// The chain.
        chain: ChainId,
        /// The account's 32 bytes.
        account: [u8; 32],
    },
}

/// The answer to a [`SyncRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum SyncResponse {
    /// The responder's tip.
    Status(PeerStatus),
    /// Consecutive best-chain headers, oldest first; empty when the responder has nothing
    /// after the locator.
    Headers(Vec<BlockHeader>),
    /// The requested blocks that the responder has and that fit in one response: a prefix of
    /// the requested hashes, in order.
    Blocks(Vec<Block>),
    /// The canonical bytes of a `ValueProof` against the responder's root tip header.
    ValueProof(Vec<u8>),
    /// The forwarded transaction was admitted: its hash.
    TxAdmitted(Hash),
    /// The forwarded transaction was refused, with the code a node's RPC would give.
    TxRefused {
        /// The stable error code (docs/RPC.md).
        code: i32,
        /// Why.
        message: String,
    },
    /// Where the transaction asked about stands.
    TxStatus(WireTxStatus),
    /// The account asked about.
    Account {
        /// Its balance in base units.
        balance: u128,
        /// Its nonce at the tip.
        nonce: u64,
        /// The nonce its next transaction should carry, counting the mempool.
        pending_nonce: u64,
    },
    /// The request was refused (over a limit, unknown key, …); the text says why.
    Refused(String),
}

impl SyncResponse {
    /// A refusal, its text cut to [`REFUSAL_TEXT_BYTES_MAX`].
    pub fn refused(why: impl std::fmt::Display) -> SyncResponse {
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

/// Decodes a sync request from the whole of a stream's bytes: canonical bincode of at most
/// [`SYNC_REQUEST_BYTES_MAX`] bytes. The codec's read side is this after reading the stream.
#[cfg_attr(
    not(fuzzing),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]
pub fn decode_request(bytes: &[u8]) -> io::Result<SyncRequest> {
    decode_bounded::<SyncRequest, SYNC_REQUEST_BYTES_MAX>(bytes)
}

/// Decodes a sync response from the whole of a stream's bytes: canonical bincode of at most
/// [`SYNC_RESPONSE_BYTES_MAX`] bytes. The codec's read side is this after reading the stream.
#[cfg_attr(
    not(fuzzing),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]
pub fn decode_response(bytes: &[u8]) -> io::Result<SyncResponse> {
    decode_bounded::<SyncResponse, SYNC_RESPONSE_BYTES_MAX>(bytes)
}

/// A sync request's bytes on the wire, refused when over [`SYNC_REQUEST_BYTES_MAX`] (the other
/// side would refuse to read them). The codec's write side is this before writing the stream.
#[cfg_attr(
    not(fuzzing),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]
pub fn encode_request(request: &SyncRequest) -> io::Result<Vec<u8>> {
    encode_bounded::<SyncRequest, SYNC_REQUEST_BYTES_MAX>(request)
}

/// A sync response's bytes on the wire, refused when over [`SYNC_RESPONSE_BYTES_MAX`]. The
/// codec's write side is this before writing the stream.
#[cfg_attr(
    not(fuzzing),
    expect(unreachable_pub, reason = "public only to the fuzz targets")
)]
pub fn encode_response(response: &SyncResponse) -> io::Result<Vec<u8>> {
    encode_bounded::<SyncResponse, SYNC_RESPONSE_BYTES_MAX>(response)
}

pub(crate) fn decode_bounded<T: Decode<()>, const LIMIT: usize>(bytes: &[u8]) -> io::Result<T> {
    codec::decode_with_limit::<T, LIMIT>(bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

pub(crate) fn encode_bounded<T: Encode, const LIMIT: usize>(value: &T) -> io::Result<Vec<u8>> {
    let bytes = codec::encode(value);
    if bytes.len() > LIMIT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("message of {} bytes exceeds {LIMIT}", bytes.len()),
        ));
    }
    Ok(bytes)
}

/// Reads a whole stream, at most `LIMIT` bytes and one more, so that the decoder tells "exactly
/// at the limit" from "over it" and refuses the latter.
pub(crate) async fn read_stream<const LIMIT: usize, I>(io: &mut I) -> io::Result<Vec<u8>>
where
    I: AsyncRead + Unpin + Send,
{
    let mut bytes = Vec::new();
    let limit_plus_one = u64::try_from(LIMIT).unwrap_or(u64::MAX).saturating_add(1);
    io.take(limit_plus_one).read_to_end(&mut bytes).await?;
    Ok(bytes)
}

/// Writes a message's bytes as the whole stream.
pub(crate) async fn write_stream<I>(io: &mut I, bytes: &[u8]) -> io::Result<()>
where
    I: AsyncWrite + Unpin + Send,
{
    io.write_all(bytes).await?;
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
        decode_request(&read_stream::<SYNC_REQUEST_BYTES_MAX, T>(io).await?)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        decode_response(&read_stream::<SYNC_RESPONSE_BYTES_MAX, T>(io).await?)
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
        write_stream(io, &encode_request(&request)?).await
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
        write_stream(io, &encode_response(&response)?).await
    }
}

/// The peer with the most work among `tips`, ties broken by the greater peer id so the
/// choice never depends on a map's order. The one rule for "the best peer on a chain": sync
/// follows it, and forwarded requests and resent transactions go to it.
pub(crate) fn most_work<P: Ord + Copy>(
    tips: impl Iterator<Item = (P, ChainTip)>,
) -> Option<(P, ChainTip)> {
    tips.max_by_key(|(peer, tip)| (tip.cumulative_work, *peer))
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
            chains: vec![ChainTip {
                chain: ChainId::ROOT,
                height: 7,
                tip: Hash::digest(b"tip"),
                cumulative_work: u128::MAX,
            }],
        }
    }

    #[test]
    fn requests_and_responses_round_trip_through_the_codec() {
        let protocol = StreamProtocol::new("/test");
        let request = SyncRequest::HeadersAfter {
            chain: ChainId::ROOT,
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

    fn chain_id() -> impl Strategy<Value = ChainId> {
        (0u8..=8, any::<u64>()).prop_map(|(depth, prefix)| {
            let prefix = if depth == 0 {
                0
            } else {
                prefix % (1u64 << depth)
            };
            ChainId::new(depth, prefix).unwrap()
        })
    }

    fn chain_tip() -> impl Strategy<Value = ChainTip> {
        (chain_id(), any::<u64>(), hash(), any::<u128>()).prop_map(
            |(chain, height, tip, cumulative_work)| ChainTip {
                chain,
                height,
                tip,
                cumulative_work,
            },
        )
    }

    fn peer_status() -> impl Strategy<Value = PeerStatus> {
        (hash(), proptest::collection::vec(chain_tip(), 0..8))
            .prop_map(|(genesis, chains)| PeerStatus { genesis, chains })
    }

    fn wire_tx_status() -> impl Strategy<Value = WireTxStatus> {
        prop_oneof![
            Just(WireTxStatus::Unknown),
            Just(WireTxStatus::Pending),
            (any::<u64>(), hash(), any::<u32>()).prop_map(|(height, block, index)| {
                WireTxStatus::Included {
                    height,
                    block,
                    index,
                }
            }),
            (any::<i32>(), ".{0,32}", any::<Option<u32>>()).prop_map(
                |(code, message, script_reason_code)| WireTxStatus::Dropped {
                    code,
                    message,
                    script_reason_code,
                }
            ),
        ]
    }

    fn request() -> impl Strategy<Value = SyncRequest> {
        prop_oneof![
            peer_status().prop_map(SyncRequest::Status),
            (
                chain_id(),
                proptest::collection::vec(hash(), 0..LOCATOR_HASHES_MAX),
                any::<u32>()
            )
                .prop_map(|(chain, locator, count_max)| SyncRequest::HeadersAfter {
                    chain,
                    locator,
                    count_max
                }),
            (
                chain_id(),
                proptest::collection::vec(hash(), 0..BLOCKS_PER_REQUEST_MAX)
            )
                .prop_map(|(chain, hashes)| SyncRequest::Blocks { chain, hashes }),
            "[a-z]{1,8}/[a-z0-9/]{0,40}".prop_map(|key| SyncRequest::ValueProof { key }),
            proptest::collection::vec(any::<u8>(), 0..512)
                .prop_map(|tx| SyncRequest::SubmitTx { tx }),
            (chain_id(), hash()).prop_map(|(chain, hash)| SyncRequest::TxStatus { chain, hash }),
            (chain_id(), any::<[u8; 32]>())
                .prop_map(|(chain, account)| SyncRequest::Account { chain, account }),
        ]
    }

    fn response() -> impl Strategy<Value = SyncResponse> {
        prop_oneof![
            peer_status().prop_map(SyncResponse::Status),
            proptest::collection::vec(any::<u8>(), 0..512).prop_map(SyncResponse::ValueProof),
            ".{0,64}".prop_map(SyncResponse::refused),
            hash().prop_map(SyncResponse::TxAdmitted),
            (any::<i32>(), ".{0,64}")
                .prop_map(|(code, message)| SyncResponse::TxRefused { code, message }),
            wire_tx_status().prop_map(SyncResponse::TxStatus),
            (any::<u128>(), any::<u64>(), any::<u64>()).prop_map(
                |(balance, nonce, pending_nonce)| SyncResponse::Account {
                    balance,
                    nonce,
                    pending_nonce
                }
            ),
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
    fn a_status_of_every_chain_a_node_may_open_fits_a_request() {
        let tip = ChainTip {
            chain: ChainId::new(8, 255).unwrap(),
            height: u64::MAX,
            tip: Hash::digest(b"tip"),
            cumulative_work: u128::MAX,
        };
        let mut status = status();
        status
            .chains
            .extend(std::iter::repeat_n(tip, STATUS_CHAINS_MAX - 1));
        assert!(status.is_well_formed());
        let request = SyncRequest::Status(status.clone());
        assert!(codec::encode(&request).len() <= SYNC_REQUEST_BYTES_MAX);
        status.chains.push(tip);
        assert!(!status.is_well_formed(), "one chain too many");
        status.chains.remove(0);
        status.chains.truncate(3);
        assert!(!status.is_well_formed(), "the root must come first");
    }

    #[test]
    fn a_status_takes_each_chains_newest_tip() {
        let mut status = status();
        let chain = ChainId::new(1, 0).unwrap();
        let tip = |height: u64, work: u128| ChainTip {
            chain,
            height,
            tip: Hash::digest(&height.to_le_bytes()),
            cumulative_work: work,
        };
        status.update(tip(3, 30));
        assert_eq!(status.chain(chain), Some(&tip(3, 30)));
        // A lighter tip too: an anchored branch may be lighter than the one it replaced.
        status.update(tip(2, 20));
        assert_eq!(status.chain(chain), Some(&tip(2, 20)));
        assert_eq!(status.chains.len(), 2, "one entry per chain");
        assert_eq!(status.root().map(|r| r.height), Some(7));
    }

    #[test]
    fn names_differ_between_networks() {
        let a = NetworkNames::new(&Hash::digest(b"a")).unwrap();
        let b = NetworkNames::new(&Hash::digest(b"b")).unwrap();
        assert_ne!(a.blocks_topic(ChainId::ROOT), b.blocks_topic(ChainId::ROOT));
        assert_ne!(a.sync_protocol, b.sync_protocol);
        let root = a.blocks_topic(ChainId::ROOT);
        assert!(root.ends_with("/root/blocks/1"), "{root}");
        let deep = a.txs_topic(ChainId::new(3, 5).unwrap());
        assert!(deep.ends_with("/101/txs/1"), "{deep}");
    }
}
