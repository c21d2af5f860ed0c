//! The errors of the blocktree's boundary: why a transaction, a block or a storage operation
//! was refused, with variants a caller can act on.

use bitverse_pricing::{PricingError, TaskKind};
use bitverse_primitives::{AccountId, Amount, ChainId, Hash};
use bitverse_relay_lineup::LineupError;

/// Why a transaction was refused, by the mempool or by a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The bytes do not decode to a transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
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
    /// The nonce is not the sender's next one.
    #[error("bad nonce: expected {expected}, got {got}")]
    BadNonce {
        /// The next nonce the sender may use.
        expected: u64,
        /// The nonce the transaction carries.
        got: u64,
    },
    /// The nonce is too far ahead of the sender's next one for the mempool to hold.
    #[error("nonce {got} is too far ahead of the next nonce {expected}")]
    NonceTooFarAhead {
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
    /// No registered keyspace prefixes the key.
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
    /// The value is above the on-chain limit.
    #[error("value too large: {size_bytes} bytes, the maximum is {size_bytes_max}")]
    ValueTooLarge {
        /// The value's size.
        size_bytes: usize,
        /// The limit.
        size_bytes_max: usize,
    },
    /// The key does not follow the key syntax.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The keyspace name does not follow the name syntax.
    #[error("invalid keyspace name: {0}")]
    InvalidKeyspaceName(String),
    /// A keyspace needs a quota of at least one byte.
    #[error("a keyspace needs a quota of at least one byte")]
    ZeroQuota,
    /// The prepaid endowment does not cover the quota at the storage price.
    #[error("prepaid amount {prepaid} does not cover the quota: {needed} needed")]
    PrepaidTooLow {
        /// What was offered.
        prepaid: Amount,
        /// What the quota costs.
        needed: Amount,
    },
    /// Deleting a key that holds no value.
    #[error("key {0:?} holds no value")]
    NoSuchKey(String),
    /// Amounts overflowed.
    #[error("amount overflow")]
    Overflow,
    /// The mempool already holds this transaction.
    #[error("transaction {0} is already known")]
    AlreadyKnown(Hash),
    /// The mempool is full of transactions paying at least as much.
    #[error("mempool full: fee {fee} is too low to replace any pending transaction")]
    MempoolFull {
        /// The refused transaction's fee.
        fee: Amount,
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
    ScriptRefused(String),
    /// A script is above the size a transaction may carry.
    #[error("script too large: {size_bytes} bytes, the maximum is {size_bytes_max}")]
    ScriptTooLarge {
        /// The script's size.
        size_bytes: usize,
        /// The limit.
        size_bytes_max: usize,
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
    /// A keyspace may not be bought deeper than the network's deepest chain.
    #[error("depth {depth} is deeper than this network's maximum of {depth_max}")]
    DepthTooDeep {
        /// The depth asked for.
        depth: u8,
        /// The network's deepest.
        depth_max: u8,
    },
    /// A miner's earnings proof does not check, or ends in a block the root never anchored.
    #[error("bad earnings proof: {0}")]
    BadEarningsProof(String),
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
    /// A pending transaction with the same sender and nonce pays at least as much.
    #[error(
        "a pending transaction with nonce {nonce} pays at least as much; raise the fee to replace it"
    )]
    ReplacementUnderpriced {
        /// The contested nonce.
        nonce: u64,
    },
    /// A Stake or Unstake of nothing.
    #[error("a stake or unstake must move at least one base unit")]
    ZeroStakeAmount,
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
    /// A PostBounty of nothing.
    #[error("a bounty must escrow at least one base unit")]
    ZeroBountyAmount,
    /// A PostBounty with more inputs than a bounty may pin.
    #[error("a bounty pins at most {max} inputs, this one names {count}")]
    TooManyBountyInputs {
        /// Inputs named.
        count: usize,
        /// `BOUNTY_INPUTS_MAX`.
        max: usize,
    },
    /// A PostBounty for a tier with more hops than any lineup has.
    #[error("a bounty of {hops} hops exceeds the limit of {max}")]
    TooManyHops {
        /// Hops asked.
        hops: u8,
        /// `bitverse_pricing::HOPS_MAX`.
        max: u8,
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
    /// A PostBounty whose argument bytes exceed what a transformation takes.
    #[error("a bounty's arguments of {size_bytes} bytes exceed the limit of {max}")]
    BountyArgsTooLarge {
        /// Bytes given.
        size_bytes: usize,
        /// `bitverse_compute::ARGS_SIZE_BYTES_MAX`.
        max: usize,
    },
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
        reason: String,
    },
    /// A PostBounty naming an offerer that had no offerer stake at the pinned height.
    #[error("{offerer} is not staked as an offerer at root height {height}")]
    OffererNotStaked {
        /// The offerer named.
        offerer: AccountId,
        /// The pinned height.
        height: u64,
    },
    /// A PostBounty naming its own requester as offerer: the ledger would record the
    /// requester's own bounties as its successes (farming a reputation for nothing).
    #[error("{account} cannot be the offerer of its own bounty")]
    OffererIsRequester {
        /// The requester, named as offerer.
        account: AccountId,
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
    /// The bounty settled or expired already: a bounty ends exactly once.
    #[error("bounty {bounty} is closed: {status}")]
    BountyClosed {
        /// The bounty.
        bounty: Hash,
        /// How it ended (`settled at 12`, `expired at 40`).
        status: String,
    },
    /// A Settle's envelope chain does not check against the bounty and its lineup.
    #[error("envelope chain refused: {0}")]
    BadEnvelopeChain(LineupError),
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

/// The word the CLI and errors use for a staking role: `offerer` or `relayer`.
pub fn role_name(role: TaskKind) -> &'static str {
    match role {
        TaskKind::Offer => "offerer",
        TaskKind::Relay => "relayer",
    }
}

impl TxError {
    /// A stable code for the RPC and the CLI, documented in `docs/RPC.md`.
    pub fn code(&self) -> i32 {
        match self {
            TxError::UnknownKeyspace(_) => -32001,
            TxError::NotOwner { .. } => -32002,
            TxError::InsufficientBalance { .. } => -32003,
            TxError::QuotaExceeded { .. } => -32004,
            TxError::ValueTooLarge { .. } => -32005,
            TxError::BadNonce { .. } | TxError::NonceTooFarAhead { .. } => -32006,
            TxError::BadSignature => -32007,
            TxError::MempoolFull { .. } | TxError::ReplacementUnderpriced { .. } => -32008,
            TxError::KeyspaceTaken(_) => -32011,
            TxError::AlreadyKnown(_) => -32012,
            TxError::ScriptRejected { .. } => -32013,
            TxError::ScriptRefused(_) | TxError::ScriptTooLarge { .. } => -32014,
            TxError::KeyOnOtherChain { .. } => -32015,
            TxError::NothingToClaim { .. } => -32020,
            TxError::BadEarningsProof(_) => -32021,
            TxError::InsufficientStake { .. } => -32018,
            TxError::StakedNodesFull { .. } | TxError::TooManyUnbonding { .. } => -32019,
            TxError::UnknownBounty(_) => -32022,
            TxError::BountyClosed { .. } => -32023,
            TxError::BadEnvelopeChain(_) | TxError::BadDisputeEvidence(_) => -32024,
            TxError::BadLineupProof(_) => -32025,
            TxError::TooManyOpenBounties { .. } | TxError::OpenBountiesFull { .. } => -32026,
            TxError::OffererNotStaked { .. }
            | TxError::TierUnavailable { .. }
            | TxError::OffererIsRequester { .. } => -32027,
            TxError::PinnedKeyMissing { .. } => -32028,
            TxError::BadDeepValue { .. } => -32030,
            TxError::DisputeBurnsNothing { .. } => -32031,
            TxError::DisputeFuelFull { .. } => -32032,
            TxError::LineupNotDrawn(_)
            | TxError::LineupAlreadyDrawn(_)
            | TxError::NoLineupForTier(_) => -32029,
            TxError::Malformed(_)
            | TxError::RootOnly { .. }
            | TxError::FeeOnDataChain { .. }
            | TxError::DepthTooDeep { .. }
            | TxError::WrongChain { .. }
            | TxError::InvalidKey(_)
            | TxError::InvalidKeyspaceName(_)
            | TxError::ZeroQuota
            | TxError::PrepaidTooLow { .. }
            | TxError::NoSuchKey(_)
            | TxError::ZeroStakeAmount
            | TxError::ZeroBountyAmount
            | TxError::TooManyBountyInputs { .. }
            | TxError::TooManyHops { .. }
            | TxError::FuelBudgetOutOfRange { .. }
            | TxError::BountyArgsTooLarge { .. }
            | TxError::PinHeightOutOfRange { .. }
            | TxError::ExpiryOutOfRange { .. }
            | TxError::Ledger(_)
            | TxError::Overflow => -32009,
        }
    }
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

/// Why a block was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The bytes do not decode to a block.
    #[error("malformed block: {0}")]
    Malformed(String),
    /// The parent is not known.
    #[error("unknown parent {0}")]
    UnknownParent(Hash),
    /// The block is known already.
    #[error("block {0} is already known")]
    AlreadyKnown(Hash),
    /// The block, or an ancestor, failed validation before.
    #[error("block {0} is known to be invalid")]
    KnownInvalid(Hash),
    /// Header says another chain.
    #[error("block is for chain {got}, not {expected}")]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The chain it names.
        got: ChainId,
    },
    /// The relay parent is missing, misplaced, unknown, off the root's best chain, too
    /// recent, or older than the parent block's.
    #[error("bad relay parent: {0}")]
    BadRelayParent(String),
    /// An anchor names no child of this chain or repeats one, or the child headers it carries
    /// do not extend the header anchored last by the child's own rules and proof of work.
    #[error("bad anchor: {0}")]
    BadAnchor(String),
    /// The chain is deeper than the network allows.
    #[error("chain depth {depth} is deeper than this network's maximum of {depth_max}")]
    DepthNotAllowed {
        /// The chain's depth.
        depth: u8,
        /// The network's deepest.
        depth_max: u8,
    },
    /// Height is not the parent's plus one.
    #[error("bad height {got}, expected {expected}")]
    BadHeight {
        /// Parent height plus one.
        expected: u64,
        /// The header's height.
        got: u64,
    },
    /// Difficulty is not what retargeting gives.
    #[error("bad difficulty {got}, expected {expected}")]
    BadDifficulty {
        /// What retargeting gives.
        expected: u64,
        /// The header's difficulty.
        got: u64,
    },
    /// The hash does not meet the difficulty.
    #[error("insufficient proof of work")]
    InsufficientWork,
    /// Time is not after the median of the previous blocks.
    #[error("time {time_ms} is not after the median time past {median_ms}")]
    TimeTooOld {
        /// The header's time.
        time_ms: u64,
        /// The median time past.
        median_ms: u64,
    },
    /// Time is too far ahead of the local clock.
    #[error("time {time_ms} is more than {future_time_ms_max} ms ahead of now ({now_ms})")]
    TimeTooNew {
        /// The header's time.
        time_ms: u64,
        /// The local clock.
        now_ms: u64,
        /// The allowed drift.
        future_time_ms_max: u64,
    },
    /// The transaction root does not match the transactions.
    #[error("transaction root mismatch")]
    TxRootMismatch,
    /// The state root does not match the state after the transactions.
    #[error("state root mismatch: header says {header}, transactions give {computed}")]
    StateRootMismatch {
        /// The header's root.
        header: Hash,
        /// The root computed by applying the block.
        computed: Hash,
    },
    /// Too many transactions or bytes.
    #[error("block too large: {0}")]
    TooLarge(String),
    /// A transaction is invalid.
    #[error("transaction {index} ({hash}) is invalid: {error}")]
    InvalidTransaction {
        /// Position in the block.
        index: usize,
        /// Its hash.
        hash: Hash,
        /// Why (boxed: it would make every block and chain result large).
        error: Box<TxError>,
    },
    /// Supply accounting overflowed.
    #[error("supply overflow")]
    Overflow,
}

/// A failure of the storage underneath the chain.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(String),
    /// Stored bytes do not decode or do not hash to their key: the database is damaged.
    #[error("corrupt database: {0}")]
    Corrupt(String),
}

/// Errors of chain operations that touch storage.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The block was refused.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// The transaction was refused.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node could not run a validation script (its sandbox failed, not the script): no
    /// verdict was reached, so neither the transaction nor the block is judged by it.
    #[error("the node could not run a validation script: {0}")]
    Sandbox(String),
    /// A data-chain block or transaction cannot be judged now: its relay parent is unknown
    /// to the root, off the root's best chain, or not yet deep enough. Not proof of fault;
    /// it may be judged later.
    #[error("relay parent not usable now: {0}")]
    RelayPending(String),
    /// The chain is not one this node tracks (or not live): it stores none of its blocks.
    #[error("chain {0} is not tracked by this node")]
    NotTracked(ChainId),
    /// Opening one more chain would pass the node's maximum of open chains.
    #[error("this node keeps at most {chains_max} chains open")]
    TooManyChains {
        /// The maximum.
        chains_max: usize,
    },
    /// The data directory holds a chain of another network.
    #[error("data directory holds network {found:?} (genesis {found_genesis}), not {expected:?}")]
    WrongNetwork {
        /// The network asked for.
        expected: String,
        /// The network found.
        found: String,
        /// The genesis found.
        found_genesis: Hash,
    },
    /// A state read at a height the chain has not reached.
    #[error("height {height} is above the tip at height {tip}")]
    HeightAboveTip {
        /// The height asked for.
        height: u64,
        /// The tip's height.
        tip: u64,
    },
}
