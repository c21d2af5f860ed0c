//! Why a transaction was refused, one enum per stage of its checks: the ones that need no
//! state, the mempool's, the sender's account, and the state transition's by what the
//! transaction changes (keyspaces, stakes, bounties, miners' earnings). [`super::TxError`]
//! wraps them all, so that a caller matches a stage, or a refusal within one.

use bitverse_compute::UploadError;
use bitverse_keyspace::KeyError;
use bitverse_pricing::{DrawError, PricingError, TaskKind};
use bitverse_primitives::codec::CodecError;
use bitverse_primitives::{AccountId, Amount, ChainId, Hash};
use bitverse_relay_lineup::LineupError;
use bitverse_storage::ManifestError;

use super::codes;
use super::{ProofError, role_name};

/// A refusal that no state can change: the transaction is invalid in itself, anywhere and
/// for ever. What `Transaction::from_bytes`, `Transaction::check_stateless`,
/// `Transaction::verify_signature` and `VerifiedTx::check` return; the state transition
/// returns some of these too where it makes the same check again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatelessError {
    /// The bytes do not decode to a transaction.
    #[error("malformed transaction: {0}")]
    Malformed(CodecError),
    /// The signature does not verify for the sender.
    #[error("bad signature")]
    BadSignature,
    /// Signed for another chain.
    #[error("transaction is for chain {got}, not {expected}")]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The chain it names.
        got: ChainId,
    },
    /// Data chains take only puts and deletes; this one belongs on the root.
    #[error("only puts and deletes go to data chain {chain}; send this transaction to the root")]
    RootOnly {
        /// The data chain it was sent to.
        chain: ChainId,
    },
    /// Transactions on data chains carry no fee: their miners are paid on the root.
    #[error("a transaction on data chain {chain} must carry no fee")]
    FeeOnDataChain {
        /// The data chain.
        chain: ChainId,
    },
    /// The key does not follow the key syntax.
    #[error("invalid key: {0}")]
    InvalidKey(KeyError),
    /// The keyspace name does not follow the name syntax.
    #[error("invalid keyspace name: {0}")]
    InvalidKeyspaceName(KeyError),
    /// The value is above the on-chain limit.
    #[error("value too large: {size_bytes} bytes, the maximum is {size_bytes_max}")]
    ValueTooLarge {
        /// The value's size.
        size_bytes: usize,
        /// The limit.
        size_bytes_max: usize,
    },
    /// A script is above the size a transaction may carry.
    #[error("script too large: {size_bytes} bytes, the maximum is {size_bytes_max}")]
    ScriptTooLarge {
        /// The script's size.
        size_bytes: usize,
        /// The limit.
        size_bytes_max: usize,
    },
    /// A keyspace needs a quota of at least one byte.
    #[error("a keyspace needs a quota of at least one byte")]
    ZeroQuota,
    /// A Stake or Unstake of nothing.
    #[error("a stake or unstake must move at least one base unit")]
    ZeroStakeAmount,
    /// A PostBounty of nothing.
    #[error("a bounty must escrow at least one base unit")]
    ZeroBountyAmount,
    /// A PostBounty naming its own requester as offerer: the ledger would record the
    /// requester's own bounties as its successes (farming a reputation for nothing).
    #[error("{account} cannot be the offerer of its own bounty")]
    OffererIsRequester {
        /// The requester, named as offerer.
        account: AccountId,
    },
    /// A PostBounty whose acceptance is not the offerer's signature over its terms.
    #[error("the acceptance is not {offerer}'s signature over this bounty's terms")]
    BadAcceptance {
        /// The offerer named.
        offerer: AccountId,
    },
    /// A PostBounty with more inputs than a bounty may pin.
    #[error("a bounty pins at most {max} inputs, this one names {count}")]
    TooManyBountyInputs {
        /// Inputs named.
        count: usize,
        /// `BOUNTY_INPUTS_MAX`.
        max: usize,
    },
    /// A PostBounty bringing more proven values than it has inputs. (The message is the one
    /// `BountyError::BadDeepValue` gives, naming no input: it was that variant's before.)
    #[error("proven value for input \"\" refused: {count} proven values for {inputs} inputs")]
    TooManyDeepValues {
        /// Proven values brought.
        count: usize,
        /// Inputs named.
        inputs: usize,
    },
    /// A PostBounty for a tier with more hops than any lineup has.
    #[error("a bounty of {hops} hops exceeds the limit of {max}")]
    TooManyHops {
        /// Hops asked.
        hops: u8,
        /// `bitverse_pricing::HOPS_MAX`.
        max: u8,
    },
    /// A PostBounty whose argument bytes exceed what a transformation takes.
    #[error("a bounty's arguments of {size_bytes} bytes exceed the limit of {max}")]
    BountyArgsTooLarge {
        /// Bytes given.
        size_bytes: usize,
        /// `bitverse_compute::ARGS_SIZE_BYTES_MAX`.
        max: usize,
    },
    /// A PostBounty whose fuel budget is zero (no transformation runs on no fuel) or above
    /// what the sandbox lets one run use.
    #[error("a bounty's fuel budget of {fuel_budget} is outside 1..={max}")]
    FuelBudgetOutOfRange {
        /// The budget named.
        fuel_budget: u64,
        /// `bitverse_compute::FUEL_PER_TRANSFORM_MAX`.
        max: u64,
    },
    /// A Settle carrying more envelopes than any lineup has.
    #[error(
        "envelope chain refused: the envelope chain has {length} envelopes, more than the {max} of its lineup"
    )]
    EnvelopeChainTooLong {
        /// Envelopes in the chain.
        length: usize,
        /// `bitverse_relay_lineup::ENVELOPE_CHAIN_LEN_MAX`.
        max: usize,
    },
}

/// A refusal at the mempool's door: the transaction may be valid, but this mempool does not
/// take it now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// The mempool already holds this transaction, or a block holds it.
    #[error("transaction {0} is already known")]
    AlreadyKnown(Hash),
    /// The nonce is too far ahead of the sender's next one for the mempool to hold.
    #[error("nonce {got} is too far ahead of the next nonce {expected}")]
    NonceTooFarAhead {
        /// The next nonce the sender may use.
        expected: u64,
        /// The nonce the transaction carries.
        got: u64,
    },
    /// The mempool is full of transactions paying at least as much.
    #[error("mempool full: fee {fee} is too low to replace any pending transaction")]
    MempoolFull {
        /// The refused transaction's fee.
        fee: Amount,
    },
    /// A pending transaction with the same sender and nonce pays at least as much.
    #[error(
        "a pending transaction with nonce {nonce} pays at least as much; raise the fee to replace it"
    )]
    ReplacementUnderpriced {
        /// The contested nonce.
        nonce: u64,
    },
}

/// A refusal by the sender's account, checked before anything a transaction changes: its
/// nonce, and whether it can pay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// The nonce is not the sender's next one.
    #[error("bad nonce: expected {expected}, got {got}")]
    BadNonce {
        /// The next nonce the sender may use.
        expected: u64,
        /// The nonce the transaction carries.
        got: u64,
    },
    /// The sender cannot pay.
    #[error("insufficient balance: {account} has {available}, needs {needed}")]
    InsufficientBalance {
        /// The sender.
        account: AccountId,
        /// What the sender has.
        available: Amount,
        /// What the transaction costs.
        needed: Amount,
    },
}

/// A refusal by the keyspace rules: registering keyspaces, their scripts, and the puts and
/// deletes of their keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyspaceError {
    /// No registered keyspace prefixes the key (or no keyspace has the name).
    #[error("unknown keyspace: no registered keyspace holds {0:?}")]
    UnknownKeyspace(String),
    /// The keyspace is registered already.
    #[error("keyspace {0:?} is already taken")]
    KeyspaceTaken(String),
    /// The sender may not write in the keyspace.
    #[error("not the owner of keyspace {keyspace:?}")]
    NotOwner {
        /// The keyspace.
        keyspace: String,
    },
    /// The write would take the keyspace past its quota.
    #[error(
        "quota exceeded in keyspace {keyspace:?}: {used_bytes} of {quota_bytes} bytes used, write needs {needed_bytes}"
    )]
    QuotaExceeded {
        /// The keyspace.
        keyspace: String,
        /// Its quota.
        quota_bytes: u64,
        /// Bytes it holds now.
        used_bytes: u64,
        /// Bytes it would hold after the write.
        needed_bytes: u64,
    },
    /// The prepaid endowment does not cover the quota at the storage price.
    #[error("prepaid amount {prepaid} does not cover the quota: {needed} needed")]
    PrepaidTooLow {
        /// What was offered.
        prepaid: Amount,
        /// What the quota costs.
        needed: Amount,
    },
    /// A keyspace may not be bought deeper than the network's deepest chain.
    #[error("depth {depth} is deeper than this network's maximum of {depth_max}")]
    DepthTooDeep {
        /// The depth asked for.
        depth: u8,
        /// The network's deepest.
        depth_max: u8,
    },
    /// Deleting a key that holds no value.
    #[error("key {0:?} holds no value")]
    NoSuchKey(String),
    /// The key's keyspace lives on another chain of the blocktree.
    #[error("key {key:?} lives on chain {home}, not chain {here}")]
    KeyOnOtherChain {
        /// The key.
        key: String,
        /// The chain of its keyspace.
        home: ChainId,
        /// The chain the transaction was for.
        here: ChainId,
    },
    /// The validation script of the keyspace judging the write rejected it.
    #[error("{}", script_rejection_text(keyspace, *reason_code, reason_text.as_deref()))]
    ScriptRejected {
        /// The keyspace whose script ran (for a sub-keyspace purchase, the parent).
        keyspace: String,
        /// The script's reason code; codes from `0xFFFF_FF00` up are the sandbox's own
        /// (out of fuel, trap, ...), see `docs/SCRIPTS.md`.
        reason_code: u32,
        /// Text the script attached, or the sandbox's description of the fault.
        reason_text: Option<String>,
    },
    /// A script offered with BuyKeyspace or SetScript is not an acceptable module (not
    /// WebAssembly, forbidden import, float opcode, missing export, ...).
    #[error("script refused: {0}")]
    ScriptRefused(UploadError),
}

fn script_rejection_text(keyspace: &str, reason_code: u32, reason_text: Option<&str>) -> String {
    match reason_text {
        Some(text) => format!(
            "the script of keyspace {keyspace:?} rejected the write: reason {reason_code} ({text})"
        ),
        None => {
            format!("the script of keyspace {keyspace:?} rejected the write: reason {reason_code}")
        }
    }
}

/// A refusal by the market's stakes: a Stake or Unstake the registry or the account's record
/// cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StakeError {
    /// Unstaking more than is staked in the role.
    #[error("insufficient stake: {account} has {staked} staked as {}, unstake asks {needed}", role_name(*role))]
    InsufficientStake {
        /// The sender.
        account: AccountId,
        /// The role.
        role: TaskKind,
        /// What it has staked in the role.
        staked: Amount,
        /// What the Unstake asks for.
        needed: Amount,
    },
    /// The registry of staked nodes of the role is full and the new stake is not larger than
    /// the smallest listed, which it would have evicted.
    #[error("the registry of staked {}s is full ({nodes_max} nodes); a stake above the smallest listed, {smallest} base units, takes its place", role_name(*role))]
    StakedNodesFull {
        /// The role.
        role: TaskKind,
        /// `STAKED_NODES_PER_ROLE_MAX`.
        nodes_max: usize,
        /// The smallest stake listed: a new node's total stake must exceed it.
        smallest: Amount,
    },
    /// The account already has the most unbonding entries it may have; it must wait for one
    /// to be released.
    #[error("{account} already has {entries_max} unbonding entries; wait for one to be released")]
    TooManyUnbonding {
        /// The sender.
        account: AccountId,
        /// `UNBONDING_ENTRIES_PER_ACCOUNT_MAX`.
        entries_max: usize,
    },
}

/// A refusal by the bounty lifecycle: posting a bounty, drawing its lineup, settling or
/// disputing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BountyError {
    /// A PostBounty pinning a root height that is not there yet or too old to pin.
    #[error("pinned height {pinned_height} is outside {lowest}..={highest}")]
    PinHeightOutOfRange {
        /// The height named.
        pinned_height: u64,
        /// The oldest height a bounty in this block may pin.
        lowest: u64,
        /// The tip the block builds on.
        highest: u64,
    },
    /// A PostBounty whose expiry is not ahead of its block, or too far ahead.
    #[error("expiry height {expiry_height} is outside {lowest}..={highest}")]
    ExpiryOutOfRange {
        /// The height named.
        expiry_height: u64,
        /// The block after the bounty's.
        lowest: u64,
        /// The bounty's block plus `EXPIRY_BLOCKS_MAX`.
        highest: u64,
    },
    /// A PostBounty over a key that had no value at the pinned height: nothing to pin.
    #[error("key {key:?} has no value at root height {height}")]
    PinnedKeyMissing {
        /// The key.
        key: String,
        /// The pinned height.
        height: u64,
    },
    /// A PostBounty's proven value for an input on a data chain does not check: a broken
    /// proof, a header the root never anchored, a missing or extra proof.
    #[error("proven value for input {key:?} refused: {reason}")]
    BadDeepValue {
        /// The input key (empty when the count is wrong).
        key: String,
        /// What failed.
        reason: DeepValueFault,
    },
    /// A PostBounty naming an offerer that had no offerer stake at the pinned height.
    #[error("{offerer} is not staked as an offerer at root height {height}")]
    OffererNotStaked {
        /// The offerer named.
        offerer: AccountId,
        /// The pinned height.
        height: u64,
    },
    /// A PostBounty for more hops than there were eligible relayers at the pinned height, so
    /// that no lineup could ever be drawn for it.
    #[error("a tier of {hops} hops needs that many eligible relayers, {eligible} were staked")]
    TierUnavailable {
        /// Hops asked.
        hops: u8,
        /// Eligible relayers at the pinned height (the requester and offerer excluded).
        eligible: usize,
    },
    /// The requester already has the most open bounties it may have.
    #[error("{account} already has {max} open bounties; wait for one to settle or expire")]
    TooManyOpenBounties {
        /// The requester.
        account: AccountId,
        /// `OPEN_BOUNTIES_PER_ACCOUNT_MAX`.
        max: usize,
    },
    /// The root holds the most open bounties it may (in total, or expiring at one height).
    #[error("the root holds the most open bounties it may: {max}{}", at_height.map(|h| format!(" expiring at root height {h}")).unwrap_or_default())]
    OpenBountiesFull {
        /// The limit reached.
        max: usize,
        /// The expiry height, when the per-height limit was reached.
        at_height: Option<u64>,
    },
    /// No bounty has this id.
    #[error("no bounty {0}")]
    UnknownBounty(Hash),
    /// The bounty settled, expired or was disputed already: a bounty ends exactly once.
    #[error("bounty {bounty} is closed: {status}")]
    BountyClosed {
        /// The bounty.
        bounty: Hash,
        /// How it ended.
        status: BountyEnd,
    },
    /// A bounty with this id exists already: only a collision of transaction ids gets here,
    /// since a PostBounty's id is its transaction's.
    #[error("bounty {0} is closed: posted already")]
    AlreadyPosted(Hash),
    /// A Settle's envelope chain does not check against the bounty and its lineup.
    #[error("envelope chain refused: {0}")]
    BadEnvelopeChain(LineupError),
    /// A Settle's revealed result hash is not the one an envelope of its chain commits to:
    /// that signer computed another result, or signed a commitment it copied.
    #[error(
        "bounty {bounty}: envelope {position} does not commit to the result hash the Settle reveals"
    )]
    ResultNotCommitted {
        /// The bounty.
        bounty: Hash,
        /// The envelope's position in the chain (0: the offerer's).
        position: usize,
    },
    /// A Dispute's two envelopes are not conflicting results of the bounty's participants.
    #[error("dispute evidence refused: {0}")]
    BadDisputeEvidence(LineupError),
    /// A lineup proof does not check for the bounty, or its draw fails.
    #[error("lineup proof refused: {0}")]
    BadLineupProof(LineupError),
    /// A Settle of a bounty with hops whose lineup was not drawn yet.
    #[error("bounty {0} has no lineup yet: publish a lineup proof first")]
    LineupNotDrawn(Hash),
    /// A second lineup proof for a bounty: the first one fixed the seed.
    #[error("bounty {0} has its lineup already")]
    LineupAlreadyDrawn(Hash),
    /// A lineup proof for a bounty of 0 hops, which has no lineup.
    #[error("bounty {0} is for 0 hops: it has no lineup")]
    NoLineupForTier(Hash),
    /// A Dispute whose signers hold no stake in their roles: whoever is wrong, nothing would be
    /// burnt, so the root does not re-execute for it (the bounty still refunds at expiry).
    #[error("dispute of bounty {bounty} refused: its signers hold no stake to burn")]
    DisputeBurnsNothing {
        /// The bounty.
        bounty: Hash,
    },
    /// The block re-executes as much dispute fuel as a block may: the Dispute waits for the
    /// next block (block building keeps it in the mempool).
    #[error(
        "this block re-executes {used} fuel of disputes already; {budget} more would pass the {max} a block may"
    )]
    DisputeFuelFull {
        /// Dispute fuel the block holds before this one.
        used: u64,
        /// This dispute's bounty's fuel budget.
        budget: u64,
        /// `crate::bounty::DISPUTE_FUEL_PER_BLOCK_MAX`.
        max: u64,
    },
    /// A reliability record could not be updated (the ledger's parameters are invalid).
    #[error("ledger: {0}")]
    Ledger(PricingError),
}

/// How a bounty ended, as [`BountyError::BountyClosed`] names it: its status once it left
/// `Open` (`crate::bounty::BountyStatus`, whose text this shares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BountyEnd {
    /// Paid out by a Settle in the root block at `height`.
    #[error("settled at root height {height}")]
    Settled {
        /// The root height.
        height: u64,
    },
    /// Refunded at the start of its expiry block, `height`.
    #[error("expired at root height {height}")]
    Expired {
        /// The root height.
        height: u64,
    },
    /// Refunded by a Dispute in the root block at `height`.
    #[error("disputed at root height {height}")]
    Disputed {
        /// The root height.
        height: u64,
    },
}

/// Why a PostBounty's proven value for an input on a data chain is refused
/// ([`BountyError::BadDeepValue`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeepValueFault {
    /// The input's keyspace lives on data chain `chain`, and the PostBounty brought no proven
    /// value for it.
    #[error("no proven value for this input on chain {chain}")]
    Missing {
        /// The input's chain.
        chain: ChainId,
    },
    /// More proven values than inputs on data chains.
    #[error("more proven values than inputs on data chains")]
    Extra,
    /// The proof has another number of links than the chain's depth needs.
    #[error("{links} links below depth 1 for a chain at depth {depth}")]
    LinkCount {
        /// Links the proof has.
        links: usize,
        /// The depth of the input's chain.
        depth: u8,
    },
    /// The input's chain has no depth-1 ancestor (it is the root).
    #[error("no depth-1 chain on the path")]
    NoTopChain,
    /// The proof's top header is of another depth-1 chain than the input's ancestor.
    #[error("the top header is of chain {got}, not {expected}")]
    TopOnOtherChain {
        /// The chain of the proof's top header.
        got: ChainId,
        /// The input's depth-1 ancestor.
        expected: ChainId,
    },
    /// A link or the value's leaf does not check.
    #[error(transparent)]
    Proof(ProofError),
    /// The proof's top header is not one the root ever anchored.
    #[error("the root never anchored {chain}'s header {hash} at height {height}")]
    NotAnchored {
        /// The depth-1 chain.
        chain: ChainId,
        /// The header's hash.
        hash: Hash,
        /// The header's height.
        height: u64,
    },
}

/// A refusal of a miner's claim on the root for what it earned on a data chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EarningsError {
    /// The claim is for a chain deeper than the network's deepest.
    #[error("depth {depth} is deeper than this network's maximum of {depth_max}")]
    DepthTooDeep {
        /// The chain's depth.
        depth: u8,
        /// The network's deepest.
        depth_max: u8,
    },
    /// The earnings proof does not check.
    #[error("bad earnings proof: {0}")]
    BadProof(ProofError),
    /// An earnings proof asked of the root: the root's miners are paid in their blocks.
    #[error("bad earnings proof: the root's miners are paid in their blocks, not by claims")]
    RootChain,
    /// The earnings proof's top header is not one the root anchored.
    #[error("bad earnings proof: block {hash} of chain {chain} is not one the root anchored")]
    NotAnchored {
        /// The depth-1 chain.
        chain: ChainId,
        /// The header's hash.
        hash: Hash,
    },
    /// A claim would pay nothing: the miner was paid all it earned, or the pool is empty.
    #[error(
        "nothing to claim for {miner} on chain {chain}: earned {earned}, paid {claimed} already, the pool holds {pool_held}"
    )]
    NothingToClaim {
        /// The chain.
        chain: ChainId,
        /// The miner.
        miner: AccountId,
        /// What the proof shows it earned.
        earned: Amount,
        /// What the root paid it for that chain before.
        claimed: Amount,
        /// What the chain's endowment pool holds.
        pool_held: Amount,
    },
}

/// A refusal by the storage rules: storers' capacity, RegisterBlob, ConfirmShards,
/// ProveShards, and an Unstake or a write that would let a placed shard or a live blob's manifest go
/// (`docs/STORAGE.md`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// DeclareCapacity by an account with no storer stake.
    #[error("{account} has no storer stake: stake as a storer before declaring capacity")]
    NotStorer {
        /// The sender.
        account: AccountId,
    },
    /// DeclareCapacity with a peer id that is empty, too long or not letters and digits.
    #[error(
        "a storer's peer id must be 1 to {length_max} ASCII letters and digits (libp2p's text form); got {length} bytes"
    )]
    BadPeer {
        /// Its length.
        length: usize,
        /// `blob::STORER_PEER_BYTES_MAX`.
        length_max: usize,
    },
    /// RegisterBlob with a content type that is not `type/subtype` of printable ASCII.
    #[error(
        "a blob's content type must be empty or type/subtype (such as image/png) of at most {length_max} printable ASCII bytes; got {length} bytes"
    )]
    BadContentType {
        /// Its length.
        length: usize,
        /// `blob::CONTENT_TYPE_BYTES_MAX`.
        length_max: usize,
    },
    /// DeclareCapacity above the most a storer may declare.
    #[error("a capacity of {capacity_bytes} bytes exceeds the limit of {capacity_bytes_max}")]
    CapacityTooLarge {
        /// Declared.
        capacity_bytes: u64,
        /// `blob::CAPACITY_BYTES_MAX`.
        capacity_bytes_max: u64,
    },
    /// RegisterBlob with an inconsistent manifest.
    #[error("bad manifest: {0}")]
    BadManifest(ManifestError),
    /// RegisterBlob whose endowment does not cover the first period and the placements.
    #[error(
        "an endowment of {endowment} base units does not cover the first period and the placement of every shard: {needed} needed"
    )]
    EndowmentTooLow {
        /// Offered.
        endowment: Amount,
        /// What the blob must prepay at least.
        needed: Amount,
    },
    /// RegisterBlob of more shards than there are storers with room for one.
    #[error("{needed} shards need as many storers with room; {eligible} are staked with room")]
    NotEnoughStorers {
        /// n.
        needed: u8,
        /// Storers with stake, reputation and room for a shard.
        eligible: u32,
    },
    /// A RegisterBlob, Put or Delete of a key whose value is a live blob's manifest.
    #[error("key {key:?} holds live blob {blob}: its manifest stays until the blob ends")]
    BlobKeyHeld {
        /// The key.
        key: String,
        /// The blob.
        blob: Hash,
    },
    /// The root holds the most live blobs, or the most placements waiting, it may.
    #[error(
        "the root holds {live} live blobs (at most {live_max}) and {placements_pending} placements waiting: try later"
    )]
    BlobsFull {
        /// Live blobs.
        live: u64,
        /// `blob::BLOBS_LIVE_MAX`.
        live_max: u64,
        /// Placements waiting for their draw.
        placements_pending: u64,
    },
    /// ConfirmShards with no receipt or more than a transaction may carry.
    #[error("{count} receipts: a ConfirmShards carries 1 to {count_max}")]
    ReceiptCount {
        /// Carried.
        count: usize,
        /// `blob::RECEIPTS_PER_TX_MAX`.
        count_max: usize,
    },
    /// A receipt for a blob the root does not know.
    #[error("no blob has id {0}")]
    UnknownBlob(Hash),
    /// A receipt for a blob that failed or expired.
    #[error("blob {0} has ended (failed or expired)")]
    BlobEnded(Hash),
    /// A receipt for a shard index the blob does not have.
    #[error("blob {blob} has {total_shards} shards: there is no shard {shard}")]
    NoSuchShard {
        /// The blob.
        blob: Hash,
        /// The index named.
        shard: u8,
        /// n.
        total_shards: u8,
    },
    /// A receipt by an account that is not the shard's storer (or is no longer: its deadline
    /// passed and the shard was drawn again).
    #[error("shard {shard} of blob {blob} is not placed on {account}")]
    NotAssigned {
        /// The blob.
        blob: Hash,
        /// The shard.
        shard: u8,
        /// The sender.
        account: AccountId,
    },
    /// A second receipt for a shard.
    #[error("shard {shard} of blob {blob} is confirmed already")]
    ShardConfirmed {
        /// The blob.
        blob: Hash,
        /// The shard.
        shard: u8,
    },
    /// An Unstake of part of a storer's stake while shards are placed on it.
    #[error(
        "{account} holds {shards} placed shards: unstake all of its storer stake to leave (its shards are re-placed, then the stake unbonds)"
    )]
    StorerHoldsShards {
        /// The sender.
        account: AccountId,
        /// Shards placed on it.
        shards: u32,
    },
    /// ProveShards with no proof or more than a transaction may carry.
    #[error("{count} proofs: a ProveShards carries 1 to {count_max}")]
    ProofCount {
        /// Carried.
        count: usize,
        /// `blob::SHARD_PROOFS_PER_TX_MAX`.
        count_max: usize,
    },
    /// An audit proof longer than one chunk group and its path can be.
    #[error(
        "the proof of shard {shard} of blob {blob} has {proof_bytes} bytes: one chunk group and its path take at most {proof_bytes_max}"
    )]
    ProofTooLarge {
        /// The blob.
        blob: Hash,
        /// The shard.
        shard: u8,
        /// Its length.
        proof_bytes: usize,
        /// `blob::SHARD_PROOF_BYTES_MAX`.
        proof_bytes_max: usize,
    },
    /// A proof for an audit that is not pending: never issued at that height, answered
    /// already, or past its deadline (the storer failed it).
    #[error(
        "no audit of shard {shard} of blob {blob} issued at root height {audit_height} is pending"
    )]
    NoPendingAudit {
        /// The blob.
        blob: Hash,
        /// The shard.
        shard: u8,
        /// The audit height the proof names.
        audit_height: u64,
    },
    /// A proof that does not verify as the audited segment against the shard's root.
    #[error(
        "the proof of shard {shard} of blob {blob} does not prove bytes {start}..{end} against its root: {reason}"
    )]
    BadAuditProof {
        /// The blob.
        blob: Hash,
        /// The shard.
        shard: u8,
        /// The audited segment's first byte in the shard.
        start: u64,
        /// One past its last.
        end: u64,
        /// What failed.
        reason: String,
    },
    /// An Unstake of storer stake by a storer already leaving.
    #[error("{account} is leaving already: its stake unbonds once its shards are re-placed")]
    StorerLeaving {
        /// The sender.
        account: AccountId,
    },
    /// The root holds the most leaving storers it may.
    #[error("{leaving_max} storers are leaving already: try later")]
    LeavingFull {
        /// `blob::LEAVING_STORERS_MAX`.
        leaving_max: u64,
    },
    /// A PostChallenge locking less than the least a challenge may.
    #[error("a challenge of {amount} base units locks less than the least, {amount_min}")]
    ChallengeTooSmall {
        /// Offered.
        amount: Amount,
        /// `blob::CHALLENGE_AMOUNT_MIN`.
        amount_min: Amount,
    },
    /// A PostChallenge on a blob the sender did not publish.
    #[error("{account} did not publish blob {blob}: only its publisher challenges its storers")]
    NotPublisher {
        /// The blob.
        blob: Hash,
        /// The sender.
        account: AccountId,
    },
    /// A PostChallenge on a shard no storer has confirmed (not drawn yet, waiting for its
    /// receipt, or being repaired).
    #[error("shard {shard} of blob {blob} is not held by a storer that confirmed it")]
    ShardNotHeld {
        /// The blob.
        blob: Hash,
        /// The shard.
        shard: u8,
    },
    /// A PostChallenge on a shard with an open challenge.
    #[error("shard {shard} of blob {blob} has an open challenge already")]
    ChallengeOpen {
        /// The blob.
        blob: Hash,
        /// The shard.
        shard: u8,
    },
    /// A PostChallenge past the most challenges a block takes or a storer may have open.
    #[error(
        "challenges are full: {in_block} posted in this block (at most {in_block_max}), {on_storer} open on the storer (at most {on_storer_max}): try later"
    )]
    ChallengesFull {
        /// Posted in this block.
        in_block: usize,
        /// `blob::CHALLENGES_PER_BLOCK_MAX`.
        in_block_max: usize,
        /// Open on the shard's storer.
        on_storer: usize,
        /// `blob::CHALLENGES_PER_STORER_MAX`.
        on_storer_max: usize,
    },
    /// A ClaimChallenge with no open challenge of the shard posted for the sender before its
    /// deadline.
    #[error("no challenge of shard {shard} of blob {blob} is open for the sender")]
    NoOpenChallenge {
        /// The blob.
        blob: Hash,
        /// The shard.
        shard: u8,
    },
    /// A ClaimChallenge whose signature does not verify under the challenge's key.
    #[error(
        "the claim of the challenge of shard {shard} of blob {blob} is not signed by the key the shard and nonce give"
    )]
    BadChallengeClaim {
        /// The blob.
        blob: Hash,
        /// The shard.
        shard: u8,
    },
    /// A storer's reliability record could not be read or updated (invalid ledger
    /// parameters).
    #[error("storer ledger: {0}")]
    Ledger(PricingError),
    /// The placement draw failed in a way no valid state gives (weights overflowing).
    #[error("placement draw: {0}")]
    Draw(DrawError),
}

impl StorageError {
    /// Its stable code ([`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            StorageError::NotStorer { .. } => codes::NOT_STORER,
            StorageError::CapacityTooLarge { .. } => codes::CAPACITY_TOO_LARGE,
            StorageError::BadManifest(_) => codes::BAD_MANIFEST,
            StorageError::BadPeer { .. } => codes::BAD_STORER_PEER,
            StorageError::BadContentType { .. } => codes::BAD_CONTENT_TYPE,
            StorageError::EndowmentTooLow { .. } => codes::ENDOWMENT_TOO_LOW,
            StorageError::NotEnoughStorers { .. } => codes::NOT_ENOUGH_STORERS,
            StorageError::BlobKeyHeld { .. } => codes::BLOB_KEY_HELD,
            StorageError::BlobsFull { .. } => codes::BLOBS_FULL,
            StorageError::ReceiptCount { .. } => codes::RECEIPT_COUNT,
            StorageError::UnknownBlob(_) => codes::UNKNOWN_BLOB,
            StorageError::BlobEnded(_) => codes::BLOB_ENDED,
            StorageError::NoSuchShard { .. } => codes::NO_SUCH_SHARD,
            StorageError::NotAssigned { .. } => codes::NOT_ASSIGNED,
            StorageError::ShardConfirmed { .. } => codes::SHARD_CONFIRMED,
            StorageError::StorerHoldsShards { .. } => codes::STORER_HOLDS_SHARDS,
            StorageError::Ledger(_) => codes::STORER_LEDGER,
            StorageError::Draw(_) => codes::PLACEMENT_DRAW,
            StorageError::ProofCount { .. } => codes::PROOF_COUNT,
            StorageError::ProofTooLarge { .. } => codes::PROOF_TOO_LARGE,
            StorageError::NoPendingAudit { .. } => codes::NO_PENDING_AUDIT,
            StorageError::BadAuditProof { .. } => codes::BAD_AUDIT_PROOF,
            StorageError::ChallengeTooSmall { .. } => codes::CHALLENGE_TOO_SMALL,
            StorageError::NotPublisher { .. } => codes::NOT_PUBLISHER,
            StorageError::ShardNotHeld { .. } => codes::SHARD_NOT_HELD,
            StorageError::ChallengeOpen { .. } => codes::CHALLENGE_OPEN,
            StorageError::ChallengesFull { .. } => codes::CHALLENGES_FULL,
            StorageError::NoOpenChallenge { .. } => codes::NO_OPEN_CHALLENGE,
            StorageError::BadChallengeClaim { .. } => codes::BAD_CHALLENGE_CLAIM,
            StorageError::StorerLeaving { .. } => codes::STORER_LEAVING,
            StorageError::LeavingFull { .. } => codes::LEAVING_FULL,
        }
    }
}

impl StatelessError {
    /// Its stable code ([`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            StatelessError::Malformed(_) => codes::MALFORMED_TX,
            StatelessError::BadSignature => codes::BAD_SIGNATURE,
            StatelessError::WrongChain { .. } => codes::WRONG_CHAIN,
            StatelessError::RootOnly { .. } => codes::ROOT_ONLY,
            StatelessError::FeeOnDataChain { .. } => codes::FEE_ON_DATA_CHAIN,
            StatelessError::InvalidKey(_) => codes::INVALID_KEY,
            StatelessError::InvalidKeyspaceName(_) => codes::INVALID_KEYSPACE_NAME,
            StatelessError::ValueTooLarge { .. } => codes::VALUE_TOO_LARGE,
            StatelessError::ScriptTooLarge { .. } => codes::SCRIPT_TOO_LARGE,
            StatelessError::ZeroQuota => codes::ZERO_QUOTA,
            StatelessError::ZeroStakeAmount => codes::ZERO_STAKE_AMOUNT,
            StatelessError::ZeroBountyAmount => codes::ZERO_BOUNTY_AMOUNT,
            StatelessError::OffererIsRequester { .. } => codes::OFFERER_IS_REQUESTER,
            StatelessError::BadAcceptance { .. } => codes::BAD_ACCEPTANCE,
            StatelessError::TooManyBountyInputs { .. } => codes::TOO_MANY_BOUNTY_INPUTS,
            StatelessError::TooManyDeepValues { .. } => codes::TOO_MANY_DEEP_VALUES,
            StatelessError::TooManyHops { .. } => codes::TOO_MANY_HOPS,
            StatelessError::BountyArgsTooLarge { .. } => codes::BOUNTY_ARGS_TOO_LARGE,
            StatelessError::FuelBudgetOutOfRange { .. } => codes::FUEL_BUDGET_OUT_OF_RANGE,
            StatelessError::EnvelopeChainTooLong { .. } => codes::ENVELOPE_CHAIN_TOO_LONG,
        }
    }
}

impl AdmissionError {
    /// Its stable code ([`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            AdmissionError::AlreadyKnown(_) => codes::ALREADY_KNOWN,
            AdmissionError::NonceTooFarAhead { .. } => codes::NONCE_TOO_FAR_AHEAD,
            AdmissionError::MempoolFull { .. } => codes::MEMPOOL_FULL,
            AdmissionError::ReplacementUnderpriced { .. } => codes::REPLACEMENT_UNDERPRICED,
        }
    }
}

impl AccountError {
    /// Its stable code ([`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            AccountError::BadNonce { .. } => codes::BAD_NONCE,
            AccountError::InsufficientBalance { .. } => codes::INSUFFICIENT_BALANCE,
        }
    }
}

impl KeyspaceError {
    /// Its stable code ([`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            KeyspaceError::UnknownKeyspace(_) => codes::UNKNOWN_KEYSPACE,
            KeyspaceError::KeyspaceTaken(_) => codes::KEYSPACE_TAKEN,
            KeyspaceError::NotOwner { .. } => codes::NOT_OWNER,
            KeyspaceError::QuotaExceeded { .. } => codes::QUOTA_EXCEEDED,
            KeyspaceError::PrepaidTooLow { .. } => codes::PREPAID_TOO_LOW,
            KeyspaceError::DepthTooDeep { .. } => codes::DEPTH_TOO_DEEP,
            KeyspaceError::NoSuchKey(_) => codes::NO_SUCH_KEY,
            KeyspaceError::KeyOnOtherChain { .. } => codes::KEY_ON_OTHER_CHAIN,
            KeyspaceError::ScriptRejected { .. } => codes::SCRIPT_REJECTED,
            KeyspaceError::ScriptRefused(_) => codes::SCRIPT_REFUSED,
        }
    }
}

impl StakeError {
    /// Its stable code ([`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            StakeError::InsufficientStake { .. } => codes::INSUFFICIENT_STAKE,
            StakeError::StakedNodesFull { .. } => codes::STAKED_NODES_FULL,
            StakeError::TooManyUnbonding { .. } => codes::TOO_MANY_UNBONDING,
        }
    }
}

impl BountyError {
    /// Its stable code ([`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            BountyError::PinHeightOutOfRange { .. } => codes::PIN_HEIGHT_OUT_OF_RANGE,
            BountyError::ExpiryOutOfRange { .. } => codes::EXPIRY_OUT_OF_RANGE,
            BountyError::PinnedKeyMissing { .. } => codes::PINNED_KEY_MISSING,
            BountyError::BadDeepValue { .. } => codes::BAD_DEEP_VALUE,
            BountyError::OffererNotStaked { .. } => codes::OFFERER_NOT_STAKED,
            BountyError::TierUnavailable { .. } => codes::TIER_UNAVAILABLE,
            BountyError::TooManyOpenBounties { .. } => codes::TOO_MANY_OPEN_BOUNTIES,
            BountyError::OpenBountiesFull { .. } => codes::OPEN_BOUNTIES_FULL,
            BountyError::UnknownBounty(_) => codes::UNKNOWN_BOUNTY,
            BountyError::BountyClosed { .. } | BountyError::AlreadyPosted(_) => {
                codes::BOUNTY_CLOSED
            }
            BountyError::BadEnvelopeChain(_) => codes::BAD_ENVELOPE_CHAIN,
            BountyError::ResultNotCommitted { .. } => codes::RESULT_NOT_COMMITTED,
            BountyError::BadDisputeEvidence(_) => codes::BAD_DISPUTE_EVIDENCE,
            BountyError::BadLineupProof(_) => codes::BAD_LINEUP_PROOF,
            BountyError::LineupNotDrawn(_) => codes::LINEUP_NOT_DRAWN,
            BountyError::LineupAlreadyDrawn(_) => codes::LINEUP_ALREADY_DRAWN,
            BountyError::NoLineupForTier(_) => codes::NO_LINEUP_FOR_TIER,
            BountyError::DisputeBurnsNothing { .. } => codes::DISPUTE_BURNS_NOTHING,
            BountyError::DisputeFuelFull { .. } => codes::DISPUTE_FUEL_FULL,
            BountyError::Ledger(_) => codes::LEDGER,
        }
    }
}

impl EarningsError {
    /// Its stable code ([`codes`]).
    pub fn code(&self) -> i32 {
        match self {
            EarningsError::DepthTooDeep { .. } => codes::CLAIM_DEPTH_TOO_DEEP,
            EarningsError::BadProof(_)
            | EarningsError::RootChain
            | EarningsError::NotAnchored { .. } => codes::BAD_EARNINGS_PROOF,
            EarningsError::NothingToClaim { .. } => codes::NOTHING_TO_CLAIM,
        }
    }
}
