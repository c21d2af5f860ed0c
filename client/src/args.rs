//! The client commands' command line: every command that talks to a node, with its flags and
//! help (clap derive), flattened into the `bitverse` program's commands by `bitverse-node`.
//! Parsing only; the commands live in `commands.rs`, `verify.rs` and `request.rs`.

use std::path::PathBuf;
use std::str::FromStr;

use bitverse_primitives::{Amount, AmountError};
use clap::{Args, Subcommand};

/// Where client commands find a node unless told otherwise.
pub const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8645";

/// The commands that talk to a node.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create and inspect key files.
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// Print the balance of an account (`bv1…` or `dev:NAME`).
    Balance {
        /// The account: a `bv1…` address or `dev:NAME`.
        address: String,
        /// How the answer is printed.
        #[command(flatten)]
        output: OutputArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Transfer AMOUNT to TO.
    Send {
        /// Recipient: a `bv1…` address or `dev:NAME`.
        to: String,
        /// What to transfer, besides the fee: coins (`1.5`, `1.5BV`) or base units (`1500base`).
        amount: AmountArg,
        /// How the transaction is signed, paid and waited for.
        #[command(flatten)]
        write: WriteArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Buy and inspect keyspaces.
    #[command(subcommand)]
    Keyspace(KeyspaceCommand),
    /// Inspect blobs: files stored off chain on staked storers.
    #[command(subcommand)]
    Blob(BlobCommand),
    /// Set KEY (`KEYSPACE/PATH`) to a value, in a keyspace you own.
    Put {
        /// The key, keyspace first: `alice/photos/1`.
        #[arg(value_name = "KEY")]
        target: String,
        /// The value, as text (stored as its UTF-8 bytes).
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        value: Option<String>,
        /// Read the value's bytes from this file, of any size up to 4 GiB: up to the on-chain
        /// value limit (64 KiB) it is a value; above it, a blob: its manifest goes on the
        /// chain with a storage endowment, and its erasure-coded shards to the storers the
        /// chain draws (docs/STORAGE.md). Returns once every storer has confirmed its shard.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// A blob's erasure coding: any K of its N shards rebuild it (N at most 64).
        #[arg(long, value_name = "K-of-N", default_value = "3-of-10")]
        shares: bitverse_storage::Shares,
        /// A blob's media type, as the node's gateway serves it (`image/png`). Default: guessed
        /// from the file's first bytes (PNG, JPEG, GIF, WebP, PDF, MP4), else bytes.
        #[arg(long, value_name = "TYPE", requires = "file")]
        content_type: Option<String>,
        /// A blob's storage endowment, paid once (coins or `…base`). Default: the least the
        /// network takes for its size and shares (its first period and placement).
        #[arg(long, value_name = "AMOUNT", requires = "file")]
        endowment: Option<AmountArg>,
        /// Challenges to derive for each shard of a blob while the file is encoded, written
        /// to a schedule for `blob challenge` and `node --challenges` (docs/STORAGE.md
        /// "Challenges"); 0 for none. Each costs one more hash of every shard byte at `put`.
        #[arg(long, value_name = "N", default_value_t = crate::challenge::CHALLENGES_PER_SHARD_DEFAULT,
              value_parser = clap::value_parser!(u32).range(0..=i64::from(crate::challenge::CHALLENGES_PER_SHARD_MAX)),
              requires = "file")]
        challenges: u32,
        /// Where a blob's challenge schedule is written. Default:
        /// $XDG_DATA_HOME/bitverse/challenges, else ~/.local/share/bitverse/challenges.
        #[arg(
            long,
            value_name = "DIR",
            requires = "file",
            env = "BITVERSE_CHALLENGES_DIR"
        )]
        challenges_dir: Option<PathBuf>,
        /// How the transaction is signed, paid and waited for.
        #[command(flatten)]
        write: WriteArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Remove KEY's value, in a keyspace you own.
    Delete {
        /// The key, keyspace first: `alice/photos/1`.
        #[arg(value_name = "KEY")]
        target: String,
        /// How the transaction is signed, paid and waited for.
        #[command(flatten)]
        write: WriteArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Print KEY's value (with --verify, checked as a light client).
    ///
    /// Print KEY's value: its raw bytes on stdout (exit 1 if the key holds no value), or with
    /// --json an object with the value as hex and, when it is UTF-8, as text.
    ///
    /// With --verify, the value is checked locally, trusting no node: the node's Merkle proof
    /// must lead from the value (or, for an absent key, from its absence) to the state root of
    /// a header, and that header must be linked by proof of work to the genesis of the network
    /// named by --network (never by the node), which the client computes itself.
    ///
    /// A key holding a blob (a file put above the value limit) is written to --out FILE,
    /// streamed from the node's gateway and kept only if it hashes to the manifest's content
    /// hash; with --verify that manifest is the proven value, so no node chose the hash.
    Get {
        /// The key, keyspace first: `alice/photos/1`.
        key: String,
        /// Write the value to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Verify the value against a proof and the root header chain, checked from genesis by
        /// the network's rules and kept between calls under --state-dir; says so on stderr.
        #[arg(long)]
        verify: bool,
        /// Print one line of JSON: key, value_hex, value (text, or null when not UTF-8), and
        /// height (unverified reads) or verified: true.
        #[arg(long, conflicts_with = "out")]
        json: bool,
        /// The light client's network and state.
        #[command(flatten)]
        light: LightArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Check KEY's value as a light client does, and print the check.
    ///
    /// Check KEY's value (or absence) the way a light client does and print the check: the
    /// chain it lives on, one anchor link per level up to a root header, that header's place
    /// in the root header chain checked from genesis by the network's rules, the proof's size,
    /// and whether it is final. Exit status 1, with the reason, if it does not verify.
    Proof {
        /// The key, keyspace first: `alice/photos/1`.
        key: String,
        /// Print the check as one JSON object: key, chain, depth, value_hash (null if
        /// absent), links [{chain, height, header_hash}], proof_bytes, root_height,
        /// root_hash, final.
        #[arg(long)]
        json: bool,
        /// The light client's network and state.
        #[command(flatten)]
        light: LightArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Print the node's network, the root chain's tip, its peers and sync progress.
    Status {
        /// First wait until the node has caught up with the best tip its peers announced,
        /// showing progress on a terminal (height of target, blocks per second, time left);
        /// quiet when stderr is not a terminal.
        #[arg(long)]
        wait_sync: bool,
        /// How long --wait-sync waits before giving up.
        #[arg(long, value_name = "SECS", default_value_t = 3600)]
        wait_sync_timeout_secs: u64,
        /// How the answer is printed.
        #[command(flatten)]
        output: OutputArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Miners' pay from keyspace endowments: show it, claim it.
    ///
    /// Miners' pay from keyspace endowments: what a miner earned on each data chain, and
    /// claiming it on the root.
    ///
    /// Every block releases a share of what is left of its chain's endowment pool (what the
    /// keyspaces bought on that chain prepaid) to its miner. On the root that is paid at once;
    /// on a data chain it is counted there, and the root pays it when a claim proves it
    /// through the anchors.
    #[command(subcommand)]
    Earnings(EarningsCommand),
    /// Post a bounty on the root, or show one.
    ///
    /// Bounties on the root (docs/MARKET.md, "Bounties"): post one for a transformation over
    /// pinned inputs, or show one — what it pins, its lineup, how it ended.
    #[command(subcommand)]
    Bounty(BountyCommand),
    /// Draw the tree of chains the node knows.
    ///
    /// The chains are those it tracks and those its peers say they track; for each: its
    /// height, the height its parent anchors, the height up to which it is final, how many
    /// connected peers track it, and whether the node tracks it.
    Chains {
        /// Print the same as a JSON array, one object per chain.
        #[arg(long)]
        json: bool,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Find keyspaces, transformations and popular keys.
    ///
    /// Find things knowing nothing: the keyspaces, the transformations published, and the
    /// keys most read from and most written to, from the node's browse index (built from every
    /// chain it holds). The explorer page at the node's RPC address shows the same lists.
    Browse {
        /// Only what contains TEXT: keyspace names and owners, keys.
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// Entries per list (at most 200).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print the same as one JSON object (the `bv_browse` result).
        #[arg(long)]
        json: bool,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Stake AMOUNT on the root as an offerer, a relayer or a storer.
    ///
    /// The stake comes from the key's balance: it is what lets the market name the account as
    /// a bounty's offerer or draw it into a relay lineup, or the chain place blobs' shards on
    /// it (a node run with --store), and what a dispute or a failed audit can slash. Prints
    /// one line saying what was staked.
    Stake {
        /// What to stake: coins (`1.5`, `1.5BV`) or base units (`1500base`).
        amount: AmountArg,
        /// The role staked for.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// How the transaction is signed, paid and waited for.
        #[command(flatten)]
        write: WriteArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Unstake AMOUNT of a role's stake (back after the unbonding delay).
    ///
    /// Unstake AMOUNT of the key's stake in a role. The amount is unbonding first and returns
    /// to the balance at the start of the root block `unbonding_delay_blocks` after the one
    /// that includes the unstake (2 blocks on `dev`, 10 on `local`), or, if later, of the block
    /// after the last bounty that named the account in the role expires (a dispute may slash
    /// it until then); `bitverse ledger` shows the entry and its release height.
    Unstake {
        /// What to unstake: coins (`1.5`, `1.5BV`) or base units (`1500base`).
        amount: AmountArg,
        /// The role it was staked for.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// How the transaction is signed, paid and waited for.
        #[command(flatten)]
        write: WriteArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Show an account's stakes, unbonding entries and reliability records.
    ///
    /// At a root height; the records are decayed to it, with the failure estimate, reputation
    /// and latency quotes use. A node with no record reads as the prior (docs/MARKET.md).
    Ledger {
        /// The account: a `bv1…` address or `dev:NAME`. Default: the node's own, the account
        /// its blocks pay (`--miner`).
        node: Option<String>,
        /// The root height to read (default: the tip).
        #[arg(long, value_name = "H")]
        height: Option<u64>,
        /// How the answer is printed.
        #[command(flatten)]
        output: OutputArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Print a request's tier table: reliability, latency and price per tier.
    ///
    /// Print the tier table (hops, probability that a wrong result passes unnoticed, expected
    /// latency, price) of every offerer staked at a root height, for a request of TRANSFORM
    /// over INPUT…: a pure function of root state, so every node prints the same table for the
    /// same height. The price depends on the fuel budget and the ledger, not on the values.
    ///
    /// With --put FILE instead: what storing FILE as a blob costs at --shares K-of-N (the
    /// least endowment the network takes, and what keeps it stored for 1, 10 and 100 years
    /// at the falling rate), from its size alone; nothing is read but the file's length.
    Quote {
        /// The transformation's key (`filters/bw`).
        #[arg(required_unless_present = "put")]
        transform: Option<String>,
        /// The input keys (1 to 16).
        #[arg(value_name = "INPUT", required_unless_present = "put")]
        inputs: Vec<String>,
        /// Quote storing this file as a blob instead of a transformation.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["transform", "inputs", "requester", "height"])]
        put: Option<PathBuf>,
        /// With --put: the blob's erasure coding, any K of its N shards rebuild it.
        #[arg(long, value_name = "K-of-N", default_value = "3-of-10")]
        shares: bitverse_storage::Shares,
        /// Fuel each execution may use.
        #[arg(long, value_name = "FUEL", default_value_t = 10_000_000)]
        fuel: u64,
        /// The root height to read (default: the tip).
        #[arg(long, value_name = "H")]
        height: Option<u64>,
        /// The requester (`bv1…` or `dev:NAME`), never counted as a relayer.
        #[arg(long, value_name = "ADDRESS")]
        requester: Option<String>,
        /// How the answer is printed.
        #[command(flatten)]
        output: OutputArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Get TRANSFORM applied to INPUT… through the compute market, at reliability tier N.
    ///
    /// N relayers recompute and countersign the result. The command quotes the tier, gossip the request
    /// and gather signed offers, post a bounty to the cheapest (escrowed on the root, values
    /// pinned at the tip), publish the lineup proof, follow the envelope chain hop by hop, and
    /// write the result to FILE only once the chain verifies against the bounty's pinned
    /// inputs and the root has settled it. Each step is shown on stderr as it happens. A
    /// dispute or an expiry ends the command with an error and writes nothing.
    Request {
        /// The transformation's key (`filters/bw`).
        transform: String,
        /// The input keys (1 to 16), on any chain of the tree: an input on a data chain goes
        /// to the root with its proof through the anchors.
        #[arg(value_name = "INPUT", required = true)]
        inputs: Vec<String>,
        /// The tier: relayers in the lineup (0 to the network's most, 3 on dev and local).
        #[arg(long, value_name = "N")]
        tier: u8,
        /// Where to write the result (refused if it exists, unless --force).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
        /// The transformation's arguments, as text (e.g. a thumbnail's width, `64`).
        #[arg(long, value_name = "TEXT", default_value = "")]
        args: String,
        /// Fuel each execution may use.
        #[arg(long, value_name = "FUEL", default_value_t = 10_000_000)]
        fuel: u64,
        /// Take only this offerer's offer (`bv1…` or `dev:NAME`).
        #[arg(long, value_name = "ADDRESS")]
        offerer: Option<String>,
        /// The most to pay: coins (`0.001`) or base units (`5000base`).
        #[arg(long, value_name = "AMOUNT")]
        max_price: Option<AmountArg>,
        /// How long to gather offers.
        #[arg(long, value_name = "MS", default_value_t = 3_000)]
        offers_wait_ms: u64,
        /// Root blocks after the bounty's block before it expires and is refunded.
        #[arg(long, value_name = "BLOCKS", default_value_t = 20)]
        expires_in: u64,
        /// How long the whole request may take.
        #[arg(long, value_name = "SECS", default_value_t = 300)]
        timeout_secs: u64,
        /// The requester's key, which pays the bounty and the fees: a key file or `dev:NAME`.
        #[arg(long, value_name = "KEYSPEC")]
        key: String,
        /// Fee of each transaction sent (the bounty, the lineup proof).
        #[arg(long, value_name = "AMOUNT", default_value = "1base")]
        fee: AmountArg,
        /// Print the steps and the outcome as JSON lines (amounts as base units).
        #[arg(long)]
        json: bool,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
}

/// A staking role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Computes transformations as a bounty's offerer.
    Offerer,
    /// Recomputes and countersigns in relay lineups.
    Relayer,
    /// Keeps the shards of blobs the chain places on it (`bitverse node --store`).
    Storer,
}

impl RoleArg {
    /// The task kind the role is judged on.
    pub fn task_kind(self) -> bitverse_pricing::TaskKind {
        match self {
            RoleArg::Offerer => bitverse_pricing::TaskKind::Offer,
            RoleArg::Relayer => bitverse_pricing::TaskKind::Relay,
            RoleArg::Storer => bitverse_pricing::TaskKind::Store,
        }
    }
}

/// The light client's own settings: which network it verifies against and where it keeps
/// what it verified. The network is the client's word, never the node's: a node of another
/// network (one whose rules a node could satisfy at no cost, such as `dev`) is refused.
#[derive(Args, Debug, Clone)]
pub struct LightArgs {
    /// The network the value must be proven on: its rules and genesis are computed here, and
    /// a node of another network is refused (`dev`, whose difficulty is fixed at 1, proves
    /// nothing against a forger: name it only to check a dev node's answers).
    #[arg(
        long,
        value_name = "NAME",
        env = "BITVERSE_NETWORK",
        default_value = "local"
    )]
    pub network: String,
    /// Where the light client keeps its verified header chains (default:
    /// $XDG_DATA_HOME/bitverse/light, else ~/.local/share/bitverse/light).
    #[arg(long, value_name = "DIR", env = "BITVERSE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

/// The RPC endpoint of client commands.
#[derive(Debug, Args)]
pub struct RpcArgs {
    /// URL of the node's JSON-RPC endpoint.
    #[arg(long = "rpc", value_name = "URL", env = "BITVERSE_RPC", default_value = DEFAULT_RPC_URL)]
    pub url: String,
}

/// How a read command prints its answer.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print one line of JSON (amounts as decimal strings of base units).
    #[arg(long)]
    pub json: bool,
    /// Print amounts in base units rather than coins.
    #[arg(long)]
    pub raw: bool,
}

/// An amount typed by a person: coins (`1.5`, `1.5BV`) or base units (`1500base`); see
/// [`Amount::from_user_text`]. Its own type, so that clap can never read an amount argument
/// with `Amount`'s base-unit `FromStr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountArg(pub Amount);

impl FromStr for AmountArg {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<AmountArg, AmountError> {
        Amount::from_user_text(text).map(AmountArg)
    }
}

/// Flags of every command that signs and sends a transaction.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// Signing key: a key file path (see `wallet new`) or `dev:NAME` for a development key.
    #[arg(long, value_name = "KEYSPEC")]
    pub key: String,
    /// Fee paid to the block's miner: coins (`0.000001`) or base units (`1000base`). Writes
    /// to a data chain (a keyspace bought with --depth above 0) carry none: their miners are
    /// paid on the root.
    #[arg(long, value_name = "AMOUNT", default_value = "1base")]
    pub fee: AmountArg,
    /// Return as soon as the node accepted the transaction, without waiting for a block.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the transaction to be in a block before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub wait_timeout_secs: u64,
    /// Print what was done as one line of JSON (amounts as decimal strings of base units).
    #[arg(long)]
    pub json: bool,
    /// Print amounts in base units rather than coins.
    #[arg(long)]
    pub raw: bool,
}

/// `bitverse wallet …`
#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// Create a new random key, write it to FILE (mode 0600, never overwriting) and print its
    /// address.
    New {
        /// Where to write the key file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Print the address and the file as one line of JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the address of a key.
    Address {
        /// A key file path or `dev:NAME`.
        #[arg(long, value_name = "KEYSPEC")]
        key: String,
        /// Print the address as one line of JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `bitverse blob …`
#[derive(Debug, Subcommand)]
pub enum BlobCommand {
    /// Show the blob stored at KEY: its size, content hash, k-of-n, status, endowment, and
    /// each shard's storer, receipt and health.
    ///
    /// Health counts the shards confirmed by their storers against the k a reader needs: a
    /// blob is readable while at least k are held. The table has one row a shard.
    Show {
        /// The blob's key: `alice/photos/1`.
        key: String,
        /// How the answer is printed.
        #[command(flatten)]
        output: OutputArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Challenge a storer of the blob at KEY by hand: lock AMOUNT that only a holder of the
    /// whole shard can claim, and wait for the claim.
    ///
    /// `put` derives each shard's challenges while it has the file and writes them to a
    /// schedule (docs/STORAGE.md "Challenges"); this posts the shard's next one from it.
    /// Claimed: the storer is paid AMOUNT and the shard's next challenge comes after twice the
    /// interval. Unclaimed by the deadline: AMOUNT comes back, the storer's record gets a
    /// failure, and the shard is placed on another storer, which rebuilds it. Prints how it
    /// ended; exits 0 either way (`--json`'s `claimed` says which). `bitverse node
    /// --challenges` runs the schedules on their own.
    Challenge {
        /// The blob's key: `alice/photos/1`.
        #[arg(value_name = "KEY")]
        target: String,
        /// The shard to challenge. Default: the confirmed shard without an open challenge
        /// whose next challenge is due soonest.
        #[arg(long, value_name = "INDEX")]
        shard: Option<u8>,
        /// What a claim pays (coins or `…base`), locked until the claim or the deadline.
        #[arg(long, value_name = "AMOUNT", default_value = "0.0001")]
        amount: AmountArg,
        /// Where the schedules are: `put` writes them there. Default:
        /// $XDG_DATA_HOME/bitverse/challenges, else ~/.local/share/bitverse/challenges.
        #[arg(long, value_name = "DIR", env = "BITVERSE_CHALLENGES_DIR")]
        challenges_dir: Option<PathBuf>,
        /// How the challenge is signed (by the blob's publisher), paid and waited for; the
        /// wait covers the storer's claim too.
        #[command(flatten)]
        write: WriteArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
}

/// `bitverse keyspace …`
#[derive(Debug, Subcommand)]
pub enum KeyspaceCommand {
    /// Buy keyspace NAME, guarded by a validation script, or owner-only without one.
    ///
    /// A sub-keyspace (`twitter/erik`) is bought inside its parent, the longest registered
    /// keyspace prefixing it, and only if the parent's script accepts the purchase (without a
    /// script: if you own the parent). Every later write in NAME is judged by NAME's script.
    Buy {
        /// The keyspace name: segments of a-z, 0-9, '-', '_', '.', separated by '/'.
        name: String,
        /// The validation script: a `.wasm` module, or a `.wat` text module compiled here.
        /// Without it only the owner may write. See docs/SCRIPTS.md for the host API.
        #[arg(long, value_name = "FILE")]
        script: Option<PathBuf>,
        /// Bytes of keys and values the keyspace may hold.
        #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
        quota: u64,
        /// Amount paid into the keyspace's endowment, in coins or base units (`4096base`).
        /// Default: the quota at the network's storage price per byte.
        #[arg(long, value_name = "AMOUNT")]
        prepaid: Option<AmountArg>,
        /// Owner of the keyspace (`bv1…` or `dev:NAME`). Default: the signer.
        #[arg(long, value_name = "ADDRESS")]
        owner: Option<String>,
        /// Depth of the chain its keys live on: 0 is the root (most verified, dearest);
        /// each level down halves the storage price and is tracked by fewer nodes. The
        /// chain is the one whose prefix is the first DEPTH bits of the keyspace's address.
        #[arg(long, value_name = "DEPTH", default_value_t = 0)]
        depth: u8,
        /// How the transaction is signed, paid and waited for.
        #[command(flatten)]
        write: WriteArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Replace keyspace NAME's validation script, if its current script accepts that
    /// (without a script: if you are its owner).
    SetScript {
        /// The keyspace name.
        name: String,
        /// The new script: a `.wasm` module, or a `.wat` text module compiled here.
        #[arg(long, value_name = "FILE", required_unless_present = "owner_only")]
        script: Option<PathBuf>,
        /// Remove the script instead: only the owner may write from then on.
        #[arg(long, conflicts_with = "script")]
        owner_only: bool,
        /// How the transaction is signed, paid and waited for.
        #[command(flatten)]
        write: WriteArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Print a keyspace's owner, script, quota, usage and endowment.
    Show {
        /// The keyspace name.
        name: String,
        /// How the answer is printed.
        #[command(flatten)]
        output: OutputArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
}

/// `bitverse earnings …`
#[derive(Debug, Subcommand)]
pub enum EarningsCommand {
    /// Print, for each data chain the node has open (or --chain), what MINER earned there,
    /// how much of it the root's tip can prove, what the root paid it, what a claim would pay
    /// now, and the chain's endowment pool.
    Show {
        /// The miner: a `bv1…` address or `dev:NAME`. Default: the account the node's own
        /// blocks pay (its --miner).
        miner: Option<String>,
        /// Only this data chain (bit string, `0110`).
        #[arg(long, value_name = "CHAIN")]
        chain: Option<String>,
        /// How the answer is printed.
        #[command(flatten)]
        output: OutputArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Claim on the root what MINER earned on data chain CHAIN and was not paid yet: the node
    /// builds the proof (it must track the chain), the key given signs and pays the fee, and
    /// the miner is paid. Anyone may claim for a miner.
    Claim {
        /// The data chain (bit string, `0110`).
        chain: String,
        /// The miner paid: a `bv1…` address or `dev:NAME`. Default: the account the node's
        /// own blocks pay (its --miner).
        #[arg(long, value_name = "ADDRESS")]
        miner: Option<String>,
        /// How the transaction is signed, paid and waited for.
        #[command(flatten)]
        write: WriteArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
}

/// `bitverse bounty …`
#[derive(Debug, Subcommand)]
pub enum BountyCommand {
    /// Post a bounty from the key's balance: AMOUNT escrowed on the root for OFFERER to run
    /// TRANSFORM over INPUT… as their values stand at a root height (default: the tip), with a
    /// lineup of --hops relayers, refunded if not settled by its expiry. The offerer must be
    /// staked as one at that height, and the tier must be drawable there. The bounty's id is
    /// the transaction's (`tx`), which `bounty show` takes.
    Post {
        /// The transformation's key (`filters/bw`), a root key.
        transform: String,
        /// The input keys (0 to 16), root keys (`bitverse request` also takes keys on data
        /// chains, which it proves to the root).
        #[arg(value_name = "INPUT")]
        inputs: Vec<String>,
        /// The offerer: a `bv1…` address or `dev:NAME`.
        #[arg(long, value_name = "ADDRESS")]
        offerer: String,
        /// What to escrow: coins (`1.5`) or base units (`1500base`); `bitverse quote` prices
        /// each tier.
        #[arg(long, value_name = "AMOUNT")]
        amount: AmountArg,
        /// Relayers in the lineup (the tier; 0 to 8).
        #[arg(long, default_value_t = 0)]
        hops: u8,
        /// Fuel each execution may use (1 to 4000000000).
        #[arg(long, value_name = "FUEL", default_value_t = 10_000_000)]
        fuel: u64,
        /// The transformation's argument, as text (a thumbnail's width: `64`).
        #[arg(long, value_name = "TEXT", default_value = "")]
        args: String,
        /// The root height whose values are pinned (default: the tip; at most 1000 back).
        #[arg(long, value_name = "H")]
        pin_height: Option<u64>,
        /// Root blocks after the one that includes it before it expires (1 to 10000).
        #[arg(long, value_name = "BLOCKS", default_value_t = 100)]
        expires_in: u64,
        /// How the transaction is signed, paid and waited for.
        #[command(flatten)]
        write: WriteArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Show bounty ID at a root height (default: the tip): requester, offerer, amount, the
    /// pinned keys and value hashes, the tier, its lineup once drawn, and its status (open,
    /// settled, expired or disputed, with the result hash and any slashing).
    Show {
        /// The bounty's id (the PostBounty transaction's id, hex).
        id: String,
        /// The root height to read (default: the tip).
        #[arg(long, value_name = "H")]
        height: Option<u64>,
        /// How the answer is printed.
        #[command(flatten)]
        output: OutputArgs,
        /// The node to ask.
        #[command(flatten)]
        rpc: RpcArgs,
    },
}

/// A size in bytes as people write it: `1048576`, `512KB`, `50GiB`, `1.5 TB` (decimal units
/// KB MB GB TB, binary KiB MiB GiB TiB, case-insensitive, a space allowed before the unit).
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "{text:?} is not a size: use bytes or a unit (KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ));
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let not_a_number = || format!("{text:?} is not a size: expected a number, then a unit");
    if whole.is_empty() && fraction.is_empty() {
        return Err(not_a_number());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| not_a_number())?
    };
    let too_large = || format!("{text:?} is larger than {} bytes", u64::MAX);
    let mut bytes = whole.checked_mul(scale).ok_or_else(too_large)?;
    if !fraction.is_empty() {
        if fraction.len() > 9 || fraction.contains('.') {
            return Err(not_a_number());
        }
        let digits: u64 = fraction.parse().map_err(|_| not_a_number())?;
        let denominator = 10u64.pow(fraction.len() as u32);
        let part = u128::from(digits) * u128::from(scale) / u128::from(denominator);
        bytes = bytes
            .checked_add(u64::try_from(part).map_err(|_| too_large())?)
            .ok_or_else(too_large)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::parse_byte_size;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_byte_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_byte_size("50GiB"), Ok(50 << 30));
        assert_eq!(parse_byte_size("50 gib"), Ok(50 << 30));
        assert_eq!(parse_byte_size("512KB"), Ok(512_000));
        assert_eq!(parse_byte_size("1.5 TB"), Ok(1_500_000_000_000));
        assert_eq!(parse_byte_size("0.5MiB"), Ok(1 << 19));
        assert_eq!(parse_byte_size(".25kib"), Ok(256));
        for bad in [
            "",
            "GiB",
            "12 parsecs",
            "1.2.3MB",
            "-5MB",
            "99999999999999999999",
            "20000000TiB",
        ] {
            assert!(parse_byte_size(bad).is_err(), "{bad}");
        }
    }
}
