//! The one table of transaction error codes: a named constant per meaning, and
//! [`ERROR_CODES`], the same entries with their stage and a line saying what each means, from
//! which the RPC reference's table and the generated OpenRPC document are built.
//!
//! A code, once documented, keeps its meaning. Each entry has a value of its own, grouped by
//! stage in thousands (stateless 1xxx, admission 2xxx, account 3xxx, keyspace 4xxx, stake
//! 5xxx, bounty 6xxx, earnings 7xxx, arithmetic 8xxx, storage 10xxx: the node's own are
//! 9xxx), outside the range JSON-RPC reserves
//! (-32768 to -32000), where jsonrpsee answers its own transport limits. Until 2026-12 the
//! codes sat in that range and shared values (-32009 stood for twenty refusals); each entry
//! keeps its former code in `former_code`, for the migration note in `docs/RPC.md`; the
//! storage codes came after, and their `former_code` repeats the code.

/// One entry of [`ERROR_CODES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The JSON-RPC error code.
    pub code: i32,
    /// The constant's name in this module (`BAD_NONCE`).
    pub name: &'static str,
    /// The stage of the checks that refuses with it.
    pub stage: ErrorStage,
    /// The code it had before the renumbering of 2026-12 (shared by other entries then, in
    /// the range JSON-RPC reserves): what a client written for the old codes matches.
    pub former_code: i32,
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
    /// [`super::StorageError`]: storers, blobs, placements and receipts.
    Storage,
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
            ErrorStage::Storage => "storage",
        }
    }
}

/// Declares each code once: its constant, and its entry in [`ERROR_CODES`], with the code it
/// had before the renumbering.
macro_rules! error_codes {
    ($($name:ident = $code:literal (was $former:literal), $stage:ident: $meaning:literal;)*) => {
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
            former_code: $former,
            meaning: $meaning,
        },)*];
    };
}

error_codes! {
    MALFORMED_TX = 1001 (was -32009), Stateless: "the bytes do not decode to a transaction";
    BAD_SIGNATURE = 1002 (was -32007), Stateless: "the signature does not verify for the sender";
    WRONG_CHAIN = 1003 (was -32009), Stateless: "the transaction is signed for another chain";
    ROOT_ONLY = 1004 (was -32009), Stateless:
        "a data chain takes only puts and deletes: send this one to the root";
    FEE_ON_DATA_CHAIN = 1005 (was -32009), Stateless: "a transaction on a data chain carries a fee";
    INVALID_KEY = 1006 (was -32009), Stateless: "a key does not follow the key syntax";
    INVALID_KEYSPACE_NAME = 1007 (was -32009), Stateless:
        "a keyspace name does not follow the name syntax";
    VALUE_TOO_LARGE = 1008 (was -32005), Stateless: "a value above the on-chain limit (65536 bytes)";
    SCRIPT_TOO_LARGE = 1009 (was -32014), Stateless:
        "a script above the size a transaction may carry (65536 bytes)";
    ZERO_QUOTA = 1010 (was -32009), Stateless: "a keyspace bought with a quota of zero bytes";
    ZERO_STAKE_AMOUNT = 1011 (was -32009), Stateless: "a stake or unstake of nothing";
    ZERO_BOUNTY_AMOUNT = 1012 (was -32009), Stateless: "a bounty escrowing nothing";
    OFFERER_IS_REQUESTER = 1013 (was -32027), Stateless:
        "a bounty names its own requester as offerer";
    BAD_ACCEPTANCE = 1014 (was -32027), Stateless:
        "a bounty's acceptance is not its offerer's signature over its terms";
    TOO_MANY_BOUNTY_INPUTS = 1015 (was -32009), Stateless:
        "a bounty names more inputs than a bounty may pin";
    TOO_MANY_DEEP_VALUES = 1016 (was -32030), Stateless:
        "a bounty brings more proven values than it has inputs";
    TOO_MANY_HOPS = 1017 (was -32009), Stateless: "a bounty asks more hops than any lineup has";
    BOUNTY_ARGS_TOO_LARGE = 1018 (was -32009), Stateless:
        "a bounty's arguments exceed what a transformation takes";
    FUEL_BUDGET_OUT_OF_RANGE = 1019 (was -32009), Stateless:
        "a bounty's fuel budget is zero or above what one run may use";
    ENVELOPE_CHAIN_TOO_LONG = 1020 (was -32024), Stateless:
        "a Settle carries more envelopes than any lineup has";

    ALREADY_KNOWN = 2001 (was -32012), Admission: "the transaction is already known (pending or included)";
    NONCE_TOO_FAR_AHEAD = 2002 (was -32006), Admission:
        "the nonce is too far ahead of the sender's next one for the mempool to hold";
    MEMPOOL_FULL = 2003 (was -32008), Admission:
        "the mempool is full of transactions paying at least as much";
    REPLACEMENT_UNDERPRICED = 2004 (was -32008), Admission:
        "a pending transaction with the same nonce pays at least as much";

    BAD_NONCE = 3001 (was -32006), Account: "the nonce is not the sender's next one";
    INSUFFICIENT_BALANCE = 3002 (was -32003), Account:
        "the sender cannot pay the fee and what the transaction moves";

    UNKNOWN_KEYSPACE = 4001 (was -32001), Keyspace: "no registered keyspace holds the key or has the name";
    KEYSPACE_TAKEN = 4002 (was -32011), Keyspace: "the keyspace is registered already";
    NOT_OWNER = 4003 (was -32002), Keyspace: "the sender may not write in the keyspace (no script)";
    QUOTA_EXCEEDED = 4004 (was -32004), Keyspace: "the write would take the keyspace past its quota";
    PREPAID_TOO_LOW = 4005 (was -32009), Keyspace:
        "the prepaid endowment does not cover the quota at the storage price";
    DEPTH_TOO_DEEP = 4006 (was -32009), Keyspace:
        "a keyspace bought deeper than the network's deepest chain";
    NO_SUCH_KEY = 4007 (was -32009), Keyspace: "a delete of a key that holds no value";
    KEY_ON_OTHER_CHAIN = 4008 (was -32015), Keyspace:
        "the key's keyspace lives on another chain: sign the write for that chain";
    SCRIPT_REJECTED = 4009 (was -32013), Keyspace:
        "the keyspace's validation script rejected the write (with its reason code)";
    SCRIPT_REFUSED = 4010 (was -32014), Keyspace:
        "a script offered by BuyKeyspace or SetScript is not an acceptable module";

    INSUFFICIENT_STAKE = 5001 (was -32018), Stake: "an unstake asks more than is staked in the role";
    STAKED_NODES_FULL = 5002 (was -32019), Stake:
        "the role's registry is full and the stake is not above the smallest listed";
    TOO_MANY_UNBONDING = 5003 (was -32019), Stake:
        "the sender has the most unbonding entries it may: wait for one to be released";

    PIN_HEIGHT_OUT_OF_RANGE = 6001 (was -32009), Bounty:
        "a bounty pins a root height not reached yet or too old";
    EXPIRY_OUT_OF_RANGE = 6002 (was -32009), Bounty:
        "a bounty's expiry is not ahead of its block, or too far ahead";
    PINNED_KEY_MISSING = 6003 (was -32028), Bounty:
        "a bounty's transformation or input key had no value at the pinned height";
    BAD_DEEP_VALUE = 6004 (was -32030), Bounty:
        "a bounty's proven value of an input on a data chain does not check, or is missing";
    OFFERER_NOT_STAKED = 6005 (was -32027), Bounty:
        "a bounty's offerer had no offerer stake at the pinned height, or has none now";
    TIER_UNAVAILABLE = 6006 (was -32027), Bounty:
        "fewer eligible relayers were staked at the pinned height than the bounty's hops";
    TOO_MANY_OPEN_BOUNTIES = 6007 (was -32026), Bounty:
        "the requester has the most open bounties it may";
    OPEN_BOUNTIES_FULL = 6008 (was -32026), Bounty:
        "the root holds the most open bounties it may, in total or expiring at one height";
    UNKNOWN_BOUNTY = 6009 (was -32022), Bounty: "no bounty has this id";
    BOUNTY_CLOSED = 6010 (was -32023), Bounty:
        "the bounty settled, expired or was disputed already: a bounty ends exactly once";
    BAD_ENVELOPE_CHAIN = 6011 (was -32024), Bounty:
        "a Settle's envelope chain does not check against the bounty and its lineup";
    BAD_DISPUTE_EVIDENCE = 6012 (was -32024), Bounty:
        "a Dispute's envelopes are not conflicting results of the bounty's participants";
    BAD_LINEUP_PROOF = 6013 (was -32025), Bounty:
        "a lineup proof does not meet the lineup difficulty, or its draw fails";
    LINEUP_NOT_DRAWN = 6014 (was -32029), Bounty:
        "a Settle of a bounty with hops before its lineup is drawn";
    LINEUP_ALREADY_DRAWN = 6015 (was -32029), Bounty: "a second lineup proof for a bounty";
    NO_LINEUP_FOR_TIER = 6016 (was -32029), Bounty: "a lineup proof for a bounty of 0 hops";
    DISPUTE_BURNS_NOTHING = 6017 (was -32031), Bounty:
        "a Dispute whose signers hold no stake to burn: the root does not re-execute for it";
    DISPUTE_FUEL_FULL = 6018 (was -32032), Bounty:
        "the block re-executes as much dispute fuel as it may: the Dispute waits for the next";
    LEDGER = 6019 (was -32009), Bounty:
        "a reliability record could not be updated (invalid ledger parameters)";
    RESULT_NOT_COMMITTED = 6020 (was -32024), Bounty:
        "a Settle's revealed result hash is not the one an envelope of its chain commits to";

    CLAIM_DEPTH_TOO_DEEP = 7001 (was -32009), Earnings:
        "a claim for a chain deeper than the network's deepest";
    BAD_EARNINGS_PROOF = 7002 (was -32021), Earnings:
        "a miner's earnings proof does not check, or starts from a block the root never anchored";
    NOTHING_TO_CLAIM = 7003 (was -32020), Earnings:
        "a claim would pay nothing: the miner was paid all it earned there, or the pool is empty";

    OVERFLOW = 8001 (was -32009), Arithmetic: "an amount out of range";

    NOT_STORER = 10001 (was 10001), Storage:
        "a DeclareCapacity by an account with no storer stake";
    CAPACITY_TOO_LARGE = 10002 (was 10002), Storage:
        "a declared capacity above the most a storer may declare (1 PiB)";
    BAD_MANIFEST = 10003 (was 10003), Storage:
        "a RegisterBlob's manifest is inconsistent (version, shares, size, piece width, shard size or roots)";
    ENDOWMENT_TOO_LOW = 10004 (was 10004), Storage:
        "a blob's endowment does not cover its first period and the placement of every shard";
    NOT_ENOUGH_STORERS = 10005 (was 10005), Storage:
        "fewer storers with stake and room for a shard are staked than the blob has shards";
    BLOB_KEY_HELD = 10006 (was 10006), Storage:
        "the key's value is a live blob's manifest: no RegisterBlob, Put or Delete of it until the blob ends";
    BLOBS_FULL = 10007 (was 10007), Storage:
        "the root holds the most live blobs or waiting placements it may: try later";
    RECEIPT_COUNT = 10008 (was 10008), Storage:
        "a ConfirmShards carries no receipt or more than 64";
    UNKNOWN_BLOB = 10009 (was 10009), Storage: "no blob has this id";
    BLOB_ENDED = 10010 (was 10010), Storage: "the blob failed or expired already";
    NO_SUCH_SHARD = 10011 (was 10011), Storage:
        "a receipt or proof names a shard index the blob does not have";
    NOT_ASSIGNED = 10012 (was 10012), Storage:
        "a receipt or proof by an account the shard is not placed on (or no longer: its deadline passed)";
    SHARD_CONFIRMED = 10013 (was 10013), Storage: "a second receipt for a shard";
    STORER_HOLDS_SHARDS = 10014 (was 10014), Storage:
        "an Unstake of part of a storer's stake while shards are placed on it (unstake all of it to leave)";
    STORER_LEDGER = 10015 (was 10015), Storage:
        "a storer's reliability record could not be updated (invalid ledger parameters)";
    PLACEMENT_DRAW = 10016 (was 10016), Storage:
        "the placement draw failed (weights out of range)";
    BAD_STORER_PEER = 10017 (was 10017), Storage:
        "a DeclareCapacity's peer id is empty, longer than 64 bytes or not ASCII letters and digits";
    BAD_CONTENT_TYPE = 10018 (was 10018), Storage:
        "a RegisterBlob's content type is not type/subtype of at most 127 printable ASCII bytes";
    PROOF_COUNT = 10019 (was 10019), Storage:
        "a ProveShards carries no proof or more than 3";
    PROOF_TOO_LARGE = 10020 (was 10020), Storage:
        "an audit proof longer than one chunk group and its path (17,536 bytes)";
    NO_PENDING_AUDIT = 10021 (was 10021), Storage:
        "no audit of the shard issued at that height is pending: never issued, answered already, or past its deadline";
    BAD_AUDIT_PROOF = 10022 (was 10022), Storage:
        "an audit proof does not verify as the audited segment against the shard's root";
    CHALLENGE_TOO_SMALL = 10023 (was 10023), Storage:
        "a PostChallenge locks less than the least a challenge may (1,000 base units)";
    NOT_PUBLISHER = 10024 (was 10024), Storage:
        "a PostChallenge by an account that did not publish the blob";
    SHARD_NOT_HELD = 10025 (was 10025), Storage:
        "a PostChallenge on a shard no storer has confirmed (not drawn, unconfirmed or being repaired)";
    CHALLENGE_OPEN = 10026 (was 10026), Storage:
        "a PostChallenge on a shard whose challenge is still open";
    CHALLENGES_FULL = 10027 (was 10027), Storage:
        "the block takes no more challenges (64) or the storer has the most open (64): try later";
    NO_OPEN_CHALLENGE = 10028 (was 10028), Storage:
        "a ClaimChallenge with no open challenge of the shard for the sender: never posted, claimed, past its deadline, or the shard is no longer the sender's";
    BAD_CHALLENGE_CLAIM = 10029 (was 10029), Storage:
        "a ClaimChallenge's signature does not verify under the challenge's key";
    STORER_LEAVING = 10030 (was 10030), Storage:
        "an Unstake of storer stake by a storer already leaving";
    LEAVING_FULL = 10031 (was 10031), Storage:
        "the root holds the most leaving storers it may (1,024): try later";
}
