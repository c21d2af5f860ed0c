//! The one table of transaction error codes: a named constant per meaning, and
//! [`ERROR_CODES`], the same entries with their stage and a line saying what each means, for
//! the RPC reference and a generated OpenRPC document to be built from.
//!
//! A code, once documented, keeps its meaning. The values are today's: most sit in the range
//! jsonrpsee reserves for its own server errors (-32000 to -32099), and -32009 still stands for
//! twenty refusals at once; where an entry shares its value with others, `shares_code` says
//! so. Moving them out of that range, one value per entry, is a change for the whole
//! workspace at once (clients and tests assert the numbers), made with a migration note.

/// One entry of [`ERROR_CODES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The JSON-RPC error code.
    pub code: i32,
    /// The constant's name in this module (`BAD_NONCE`).
    pub name: &'static str,
    /// The stage of the checks that refuses with it.
    pub stage: ErrorStage,
    /// Whether other entries have the same code (only until the codes are renumbered).
    pub shares_code: bool,
    /// What it means, in one line.
    pub meaning: &'static str,
}

/// The stage of a transaction's checks a refusal comes from: which of
/// [`super::TxError`]'s variants wraps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorStage {
    /// [`super::StatelessError`]: invalid in itself, whatever the state.
    Stateless,
    /// [`super::AdmissionError`]: the mempool does not take it now.
    Admission,
    /// [`super::AccountError`]: the sender's nonce or balance.
    Account,
    /// [`super::KeyspaceError`]: keyspaces, their scripts, puts and deletes.
    Keyspace,
    /// [`super::StakeError`]: stakes and the staked registry.
    Stake,
    /// [`super::BountyError`]: bounties, lineups, settlement and disputes.
    Bounty,
    /// [`super::EarningsError`]: miners' claims for what they earned on data chains.
    Earnings,
    /// `TxError::Overflow`: an amount out of range, at any stage.
    Arithmetic,
}

impl ErrorStage {
    /// Its name in documentation: `stateless`, `admission`, ...
    pub fn name(self) -> &'static str {
        match self {
            ErrorStage::Stateless => "stateless",
            ErrorStage::Admission => "admission",
            ErrorStage::Account => "account",
            ErrorStage::Keyspace => "keyspace",
            ErrorStage::Stake => "stake",
            ErrorStage::Bounty => "bounty",
            ErrorStage::Earnings => "earnings",
            ErrorStage::Arithmetic => "arithmetic",
        }
    }
}

/// Declares each code once: its constant, and its entry in [`ERROR_CODES`]. `(shared)` after
/// the value marks an entry whose value other entries have too.
macro_rules! error_codes {
    ($($name:ident = $code:literal $(($shared:ident))?, $stage:ident: $meaning:literal;)*) => {
        $(
            #[doc = $meaning]
            pub const $name: i32 = $code;
        )*

        /// Every transaction error code, stage by stage: what a generated OpenRPC document
        /// and `docs/RPC.md` list.
        pub const ERROR_CODES: &[ErrorCode] = &[$(ErrorCode {
            code: $name,
            name: stringify!($name),
            stage: ErrorStage::$stage,
            shares_code: error_codes!(@shared $($shared)?),
            meaning: $meaning,
        },)*];
    };
    (@shared shared) => { true };
    (@shared) => { false };
}

error_codes! {
    MALFORMED_TX = -32009 (shared), Stateless: "the bytes do not decode to a transaction";
    BAD_SIGNATURE = -32007, Stateless: "the signature does not verify for the sender";
    WRONG_CHAIN = -32009 (shared), Stateless: "the transaction is signed for another chain";
    ROOT_ONLY = -32009 (shared), Stateless:
        "a data chain takes only puts and deletes: send this one to the root";
    FEE_ON_DATA_CHAIN = -32009 (shared), Stateless: "a transaction on a data chain carries a fee";
    INVALID_KEY = -32009 (shared), Stateless: "a key does not follow the key syntax";
    INVALID_KEYSPACE_NAME = -32009 (shared), Stateless:
        "a keyspace name does not follow the name syntax";
    VALUE_TOO_LARGE = -32005, Stateless: "a value above the on-chain limit (65536 bytes)";
    SCRIPT_TOO_LARGE = -32014 (shared), Stateless:
        "a script above the size a transaction may carry (65536 bytes)";
    ZERO_QUOTA = -32009 (shared), Stateless: "a keyspace bought with a quota of zero bytes";
    ZERO_STAKE_AMOUNT = -32009 (shared), Stateless: "a stake or unstake of nothing";
    ZERO_BOUNTY_AMOUNT = -32009 (shared), Stateless: "a bounty escrowing nothing";
    OFFERER_IS_REQUESTER = -32027 (shared), Stateless:
        "a bounty names its own requester as offerer";
    BAD_ACCEPTANCE = -32027 (shared), Stateless:
        "a bounty's acceptance is not its offerer's signature over its terms";
    TOO_MANY_BOUNTY_INPUTS = -32009 (shared), Stateless:
        "a bounty names more inputs than a bounty may pin";
    TOO_MANY_DEEP_VALUES = -32030 (shared), Stateless:
        "a bounty brings more proven values than it has inputs";
    TOO_MANY_HOPS = -32009 (shared), Stateless: "a bounty asks more hops than any lineup has";
    BOUNTY_ARGS_TOO_LARGE = -32009 (shared), Stateless:
        "a bounty's arguments exceed what a transformation takes";
    FUEL_BUDGET_OUT_OF_RANGE = -32009 (shared), Stateless:
        "a bounty's fuel budget is zero or above what one run may use";
    ENVELOPE_CHAIN_TOO_LONG = -32024 (shared), Stateless:
        "a Settle carries more envelopes than any lineup has";

    ALREADY_KNOWN = -32012, Admission: "the transaction is already known (pending or included)";
    NONCE_TOO_FAR_AHEAD = -32006 (shared), Admission:
        "the nonce is too far ahead of the sender's next one for the mempool to hold";
    MEMPOOL_FULL = -32008 (shared), Admission:
        "the mempool is full of transactions paying at least as much";
    REPLACEMENT_UNDERPRICED = -32008 (shared), Admission:
        "a pending transaction with the same nonce pays at least as much";

    BAD_NONCE = -32006 (shared), Account: "the nonce is not the sender's next one";
    INSUFFICIENT_BALANCE = -32003, Account:
        "the sender cannot pay the fee and what the transaction moves";

    UNKNOWN_KEYSPACE = -32001, Keyspace: "no registered keyspace holds the key or has the name";
    KEYSPACE_TAKEN = -32011, Keyspace: "the keyspace is registered already";
    NOT_OWNER = -32002, Keyspace: "the sender may not write in the keyspace (no script)";
    QUOTA_EXCEEDED = -32004, Keyspace: "the write would take the keyspace past its quota";
    PREPAID_TOO_LOW = -32009 (shared), Keyspace:
        "the prepaid endowment does not cover the quota at the storage price";
    DEPTH_TOO_DEEP = -32009 (shared), Keyspace:
        "a keyspace bought deeper than the network's deepest chain";
    NO_SUCH_KEY = -32009 (shared), Keyspace: "a delete of a key that holds no value";
    KEY_ON_OTHER_CHAIN = -32015, Keyspace:
        "the key's keyspace lives on another chain: sign the write for that chain";
    SCRIPT_REJECTED = -32013, Keyspace:
        "the keyspace's validation script rejected the write (with its reason code)";
    SCRIPT_REFUSED = -32014 (shared), Keyspace:
        "a script offered by BuyKeyspace or SetScript is not an acceptable module";

    INSUFFICIENT_STAKE = -32018, Stake: "an unstake asks more than is staked in the role";
    STAKED_NODES_FULL = -32019 (shared), Stake:
        "the role's registry is full and the stake is not above the smallest listed";
    TOO_MANY_UNBONDING = -32019 (shared), Stake:
        "the sender has the most unbonding entries it may: wait for one to be released";

    PIN_HEIGHT_OUT_OF_RANGE = -32009 (shared), Bounty:
        "a bounty pins a root height not reached yet or too old";
    EXPIRY_OUT_OF_RANGE = -32009 (shared), Bounty:
        "a bounty's expiry is not ahead of its block, or too far ahead";
    PINNED_KEY_MISSING = -32028, Bounty:
        "a bounty's transformation or input key had no value at the pinned height";
    BAD_DEEP_VALUE = -32030 (shared), Bounty:
        "a bounty's proven value of an input on a data chain does not check, or is missing";
    OFFERER_NOT_STAKED = -32027 (shared), Bounty:
        "a bounty's offerer had no offerer stake at the pinned height, or has none now";
    TIER_UNAVAILABLE = -32027 (shared), Bounty:
        "fewer eligible relayers were staked at the pinned height than the bounty's hops";
    TOO_MANY_OPEN_BOUNTIES = -32026 (shared), Bounty:
        "the requester has the most open bounties it may";
    OPEN_BOUNTIES_FULL = -32026 (shared), Bounty:
        "the root holds the most open bounties it may, in total or expiring at one height";
    UNKNOWN_BOUNTY = -32022, Bounty: "no bounty has this id";
    BOUNTY_CLOSED = -32023, Bounty:
        "the bounty settled, expired or was disputed already: a bounty ends exactly once";
    BAD_ENVELOPE_CHAIN = -32024 (shared), Bounty:
        "a Settle's envelope chain does not check against the bounty and its lineup";
    BAD_DISPUTE_EVIDENCE = -32024 (shared), Bounty:
        "a Dispute's envelopes are not conflicting results of the bounty's participants";
    BAD_LINEUP_PROOF = -32025, Bounty:
        "a lineup proof does not meet the lineup difficulty, or its draw fails";
    LINEUP_NOT_DRAWN = -32029 (shared), Bounty:
        "a Settle of a bounty with hops before its lineup is drawn";
    LINEUP_ALREADY_DRAWN = -32029 (shared), Bounty: "a second lineup proof for a bounty";
    NO_LINEUP_FOR_TIER = -32029 (shared), Bounty: "a lineup proof for a bounty of 0 hops";
    DISPUTE_BURNS_NOTHING = -32031, Bounty:
        "a Dispute whose signers hold no stake to burn: the root does not re-execute for it";
    DISPUTE_FUEL_FULL = -32032, Bounty:
        "the block re-executes as much dispute fuel as it may: the Dispute waits for the next";
    LEDGER = -32009 (shared), Bounty:
        "a reliability record could not be updated (invalid ledger parameters)";

    CLAIM_DEPTH_TOO_DEEP = -32009 (shared), Earnings:
        "a claim for a chain deeper than the network's deepest";
    BAD_EARNINGS_PROOF = -32021, Earnings:
        "a miner's earnings proof does not check, or starts from a block the root never anchored";
    NOTHING_TO_CLAIM = -32020, Earnings:
        "a claim would pay nothing: the miner was paid all it earned there, or the pool is empty";

    OVERFLOW = -32009 (shared), Arithmetic: "an amount out of range";
}
