//! The command line: every command, flag and help text of the `bitverse` program (clap derive).
//! Parsing only; the commands live in `node.rs`, `commands.rs` and `bench.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::str::FromStr;

use bitverse_primitives::{Amount, AmountError};
use clap::{Args, Parser, Subcommand};

/// Where client commands find a node unless told otherwise.
pub(crate) const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8645";

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  the node refused the request (unknown keyspace, not the owner, insufficient balance, quota
     exceeded, value too large, bad nonce, bad signature, …), a key is absent, or a proof does
     not verify
  2  usage error (unknown command or flag, bad argument, a bad key or value in bitverse.toml)
  3  the node cannot be reached

Every refusal is one line on stderr, starting with `error:`.

Amounts print as coins with the unit, `12.5 BV` (1 BV = 10^9 base units); --raw prints base
units instead, and --json always gives base units as decimal strings. Amounts typed as
arguments are coins (`5`, `1.5`, `1.5BV`) unless they end in `base` (`1500base`).";

/// Bitverse: a trustless key/value store on a proof-of-work blocktree.
///
/// One program is the node (`bitverse node`) and its command-line client (every other
/// command), which talks to a node over JSON-RPC 2.0 on HTTP.
#[derive(Debug, Parser)]
#[command(name = "bitverse", version, after_long_help = EXIT_CODES_HELP)]
pub(crate) struct Cli {
    /// Log level: error, warn, info, debug or trace, or a tracing filter such as
    /// `bitverse=debug`. Overrides RUST_LOG. Default: info for `node`, warn otherwise.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub(crate) log_level: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a node.
    ///
    /// Run a node: open (or create) the chain in the data directory, serve JSON-RPC, and with
    /// --p2p-addr join the peer-to-peer network.
    ///
    /// The node binds the RPC address, then writes the address it actually bound, as
    /// `http://IP:PORT`, to DATA_DIR/rpc.addr (so `--rpc-addr 127.0.0.1:0` picks a free port).
    /// With --p2p-addr it first binds that address and writes the one actually bound, ending in
    /// `/p2p/PEER_ID`, to DATA_DIR/p2p.addr; other nodes pass it to --bootstrap. The node
    /// catches up from its peers (headers first, replaying every block), relays valid blocks
    /// and transactions, and bans peers that send invalid ones.
    ///
    /// Without --dev the network is `local`: dev accounts funded, low difficulty, a few seconds
    /// per block; use --mine on at least one node. With --dev it seals a block as soon as the
    /// mempool holds a transaction. Ctrl-C or SIGTERM stops it cleanly; a crash at any point
    /// loses no block it reported as imported.
    ///
    /// The node logs to DATA_DIR/node.log (--log-file, --log-stderr to change that) and says
    /// so in one line on stderr. Every flag can also be set in DATA_DIR/bitverse.toml (see
    /// `bitverse init` and docs/CONFIG.md); flags override the file.
    Node(NodeArgs),
    /// Write a commented bitverse.toml into a data directory.
    ///
    /// Write a commented bitverse.toml, with every `bitverse node` option and its default,
    /// into a data directory.
    Init(InitArgs),
    /// Run a local network: N node processes on loopback, mining the `local` network.
    ///
    /// Node i keeps its database and log in DIR/node-i (a devnet restarted on the same DIR
    /// resumes its chain). Every node binds free ports, joins through node-0, and mines paying
    /// the dev account `node-i`; the dev accounts alice, bob, carol and dave are funded at
    /// genesis. Once the network runs, every node stakes 100 BV as offerer and 100 BV as
    /// relayer from `node-i` (dev:alice funds it), so quotes list them all at once; stderr
    /// says when. Each node's RPC URL is printed on stdout as `node-i  rpc URL`. Ctrl-C or
    /// SIGTERM stops every node cleanly; if one node dies, the devnet stops the others and
    /// exits with 1, showing the end of its log.
    Devnet(DevnetArgs),
    /// Show the whole story on a fresh local network, in a couple of minutes.
    ///
    /// A mining node starts; a keyspace guarded by a script is bought, written and read verified; a write
    /// the script refuses is refused; a keyspace two levels down the tree is written and
    /// proven through it; a second node syncs and serves the deep value it does not store.
    /// Each step is explained and shown as the command you would type, with its output. The
    /// nodes stop at the end; their data is removed unless --keep.
    Demo(DemoArgs),
    /// Create and inspect key files.
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// Print the balance of an account (`bv1…` or `dev:NAME`).
    Balance {
        /// The account: a `bv1…` address or `dev:NAME`.
        address: String,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Transfer AMOUNT to TO.
    Send {
        /// Recipient: a `bv1…` address or `dev:NAME`.
        to: String,
        /// What to transfer, besides the fee: coins (`1.5`, `1.5BV`) or base units (`1500base`).
        amount: AmountArg,
        #[command(flatten)]
        write: WriteArgs,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Buy and inspect keyspaces.
    #[command(subcommand)]
    Keyspace(KeyspaceCommand),
    /// Set KEY (`KEYSPACE/PATH`) to a value, in a keyspace you own.
    Put {
        /// The key, keyspace first: `alice/photos/1`.
        #[arg(value_name = "KEY")]
        target: String,
        /// The value, as text (stored as its UTF-8 bytes).
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        value: Option<String>,
        /// Read the value's bytes from this file.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        #[command(flatten)]
        write: WriteArgs,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Remove KEY's value, in a keyspace you own.
    Delete {
        /// The key, keyspace first: `alice/photos/1`.
        #[arg(value_name = "KEY")]
        target: String,
        #[command(flatten)]
        write: WriteArgs,
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
        #[command(flatten)]
        light: LightArgs,
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
        #[command(flatten)]
        light: LightArgs,
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
        #[command(flatten)]
        output: OutputArgs,
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
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Stake AMOUNT on the root as an offerer or a relayer.
    ///
    /// The stake comes from the key's balance: it is what lets the market name the account as
    /// a bounty's offerer or draw it into a relay lineup, and what a dispute can slash. Prints
    /// one line saying what was staked.
    Stake {
        /// What to stake: coins (`1.5`, `1.5BV`) or base units (`1500base`).
        amount: AmountArg,
        /// The role staked for.
        #[arg(long, value_enum)]
        role: RoleArg,
        #[command(flatten)]
        write: WriteArgs,
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
        #[command(flatten)]
        write: WriteArgs,
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
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Print a request's tier table: reliability, latency and price per tier.
    ///
    /// Print the tier table (hops, probability that a wrong result passes unnoticed, expected
    /// latency, price) of every offerer staked at a root height, for a request of TRANSFORM
    /// over INPUT…: a pure function of root state, so every node prints the same table for the
    /// same height. The price depends on the fuel budget and the ledger, not on the values.
    Quote {
        /// The transformation's key (`filters/bw`).
        transform: String,
        /// The input keys (1 to 16).
        #[arg(value_name = "INPUT", required = true)]
        inputs: Vec<String>,
        /// Fuel each execution may use.
        #[arg(long, value_name = "FUEL", default_value_t = 10_000_000)]
        fuel: u64,
        /// The root height to read (default: the tip).
        #[arg(long, value_name = "H")]
        height: Option<u64>,
        /// The requester (`bv1…` or `dev:NAME`), never counted as a relayer.
        #[arg(long, value_name = "ADDRESS")]
        requester: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
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
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Measure the node's throughput.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// A test-only market fault on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum MarketFaultArg {
    /// Sign a false result.
    Lie,
    /// Never deliver as an offerer, never settle as the last relayer.
    Silent,
}

/// A staking role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RoleArg {
    /// Computes transformations as a bounty's offerer.
    Offerer,
    /// Recomputes and countersigns in relay lineups.
    Relayer,
}

impl RoleArg {
    /// The task kind the role is judged on.
    pub(crate) fn task_kind(self) -> bitverse_pricing::TaskKind {
        match self {
            RoleArg::Offerer => bitverse_pricing::TaskKind::Offer,
            RoleArg::Relayer => bitverse_pricing::TaskKind::Relay,
        }
    }
}

/// `bitverse node` flags. Each may also be set in `bitverse.toml` (docs/CONFIG.md), under the
/// flag's name with `_` for `-`; a flag given here overrides the file. `config.rs` merges them.
#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// The configuration file. Default: DATA_DIR/bitverse.toml, read if it exists (`bitverse
    /// init` writes one with every option). Relative paths in it are relative to its directory.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Development mode: seal a block as soon as the mempool holds a transaction, at minimum
    /// difficulty. The dev accounts alice, bob, carol and dave are funded at genesis.
    #[arg(long)]
    pub(crate) dev: bool,
    /// Network parameters to run: `dev` or `local`. Default `dev` with --dev, `local`
    /// without it. Every node of a network must run the same parameters: they fix its genesis,
    /// and nodes of different networks never talk to each other.
    #[arg(long, value_name = "NAME")]
    pub(crate) network: Option<String>,
    /// Directory holding the node's database, its log and its rpc.addr file; created if
    /// missing. Default: the config file's `data_dir`, else ~/.bitverse.
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Address to serve JSON-RPC on. Default 127.0.0.1:8645. Loopback by default: anyone who
    /// can reach the RPC can submit transactions and read everything.
    #[arg(long, value_name = "IP:PORT")]
    pub(crate) rpc_addr: Option<SocketAddr>,
    /// Mine blocks on a non-dev network: a simple single-threaded proof-of-work loop over
    /// templates built from the mempool. Mined blocks are published to peers.
    #[arg(long)]
    pub(crate) mine: bool,
    /// Account paid the subsidy and fees of blocks this node produces (`bv1…` or `dev:NAME`).
    /// Default: dev:miner, a well-known development key (anyone can spend what it earns).
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) miner: Option<String>,
    /// Join the peer-to-peer network, listening on this libp2p address, e.g.
    /// `/ip4/0.0.0.0/tcp/8646`, or `/ip4/127.0.0.1/tcp/0` for a free port on loopback. The
    /// address actually bound, with `/p2p/PEER_ID`, is written to DATA_DIR/p2p.addr; the
    /// node's identity key is kept in DATA_DIR/p2p.key so its peer id survives restarts.
    /// Without this flag the node runs alone, without networking.
    #[arg(long, value_name = "MULTIADDR")]
    pub(crate) p2p_addr: Option<libp2p::Multiaddr>,
    /// A peer to connect to at start (repeatable; needs --p2p-addr), e.g. the contents of
    /// another node's p2p.addr. With its `/p2p/PEER_ID` suffix the peer's identity is checked;
    /// without it the address is dialed as it is and the peer id learnt from the connection.
    /// More peers are found through Kademlia. Bootstrap peers are dialed again while the node
    /// has no peer. Given here, they replace the config file's list.
    #[arg(long, value_name = "MULTIADDR")]
    pub(crate) bootstrap: Vec<libp2p::Multiaddr>,
    /// Track the branch under this chain prefix (a bit string such as `0110`): store,
    /// validate and seal that chain, every chain below it, and the chains above it that carry
    /// its anchors. Repeatable. Every node tracks the root. Default: only the root, or every
    /// chain with --dev. Writes and reads for a chain the node does not track are forwarded
    /// to a peer that tracks it.
    #[arg(long, value_name = "PREFIX", conflicts_with = "track_all")]
    pub(crate) track: Vec<bitverse_primitives::ChainId>,
    /// Track every chain of the blocktree.
    #[arg(long)]
    pub(crate) track_all: bool,
    /// Take the offerer's role in the compute market (docs/MARKET.md): answer gossiped
    /// requests with signed offers, and compute and sign the result of every bounty that names
    /// the market key's account as its offerer. The account needs an offerer stake (`bitverse
    /// stake AMOUNT --role offerer`). Needs --market-key.
    #[arg(long)]
    pub(crate) offer: bool,
    /// Take the relayer's role: when a lineup draws the market key's account, recompute the
    /// bounty, countersign a result equal to its own and pass the envelope chain on (settling
    /// it when last), or dispute one that differs. Needs a relayer stake and --market-key.
    #[arg(long)]
    pub(crate) relay: bool,
    /// The key the market roles sign offers, envelopes and their transactions with: `dev:NAME`
    /// or a key file (`bitverse wallet new`). Its account is the one staked; it pays the fees
    /// of the Settle and Dispute transactions the node sends.
    #[arg(long, value_name = "KEY")]
    pub(crate) market_key: Option<String>,
    /// Test only: misbehave as an offerer, signing a false result (`lie`) or never delivering
    /// (`silent`, which as the last relayer never settles either), to exercise disputes, expiry
    /// and the requester's own settlement. Never on a real network.
    #[arg(long, value_name = "FAULT", hide = true)]
    pub(crate) market_fault: Option<MarketFaultArg>,
    /// Write the log to this file (appending) instead of DATA_DIR/node.log.
    #[arg(long, value_name = "PATH", conflicts_with = "log_stderr")]
    pub(crate) log_file: Option<PathBuf>,
    /// Write the log to stderr (the terminal) instead of a file.
    #[arg(long)]
    pub(crate) log_stderr: bool,
}

/// `bitverse init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The data directory to write bitverse.toml into; created if missing. Default ~/.bitverse,
    /// where `bitverse node` looks without --data-dir.
    #[arg(long, value_name = "DATA_DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Replace an existing bitverse.toml.
    #[arg(long)]
    pub(crate) force: bool,
    /// Print what was written as one line of JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `bitverse devnet`.
#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// How many node processes to run (1 to 16).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) nodes: usize,
    /// Directory holding one data directory per node; created if missing.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// Test only: node INDEX misbehaves as an offerer (`INDEX=lie` or `INDEX=silent`, see
    /// `node --market-fault`). Repeatable.
    #[arg(long, value_name = "INDEX=FAULT", hide = true)]
    pub(crate) market_fault: Vec<String>,
}

/// `bitverse demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where the demo's nodes keep their data (a new or empty directory); a temporary one by
    /// default.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Keep the nodes' data directories after the demo.
    #[arg(long)]
    pub(crate) keep: bool,
}

/// The light client's own settings: which network it verifies against and where it keeps
/// what it verified. The network is the client's word, never the node's: a node of another
/// network (one whose rules a node could satisfy at no cost, such as `dev`) is refused.
#[derive(Args, Debug, Clone)]
pub(crate) struct LightArgs {
    /// The network the value must be proven on: its rules and genesis are computed here, and
    /// a node of another network is refused (`dev`, whose difficulty is fixed at 1, proves
    /// nothing against a forger: name it only to check a dev node's answers).
    #[arg(
        long,
        value_name = "NAME",
        env = "BITVERSE_NETWORK",
        default_value = "local"
    )]
    pub(crate) network: String,
    /// Where the light client keeps its verified header chains (default:
    /// $XDG_DATA_HOME/bitverse/light, else ~/.local/share/bitverse/light).
    #[arg(long, value_name = "DIR", env = "BITVERSE_STATE_DIR")]
    pub(crate) state_dir: Option<PathBuf>,
}

/// The RPC endpoint of client commands.
#[derive(Debug, Args)]
pub(crate) struct RpcArgs {
    /// URL of the node's JSON-RPC endpoint.
    #[arg(long = "rpc", value_name = "URL", env = "BITVERSE_RPC", default_value = DEFAULT_RPC_URL)]
    pub(crate) url: String,
}

/// How a read command prints its answer.
#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// Print one line of JSON (amounts as decimal strings of base units).
    #[arg(long)]
    pub(crate) json: bool,
    /// Print amounts in base units rather than coins.
    #[arg(long)]
    pub(crate) raw: bool,
}

/// An amount typed by a person: coins (`1.5`, `1.5BV`) or base units (`1500base`); see
/// [`Amount::from_user_text`]. Its own type, so that clap can never read an amount argument
/// with `Amount`'s base-unit `FromStr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AmountArg(pub(crate) Amount);

impl FromStr for AmountArg {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<AmountArg, AmountError> {
        Amount::from_user_text(text).map(AmountArg)
    }
}

/// Flags of every command that signs and sends a transaction.
#[derive(Debug, Args)]
pub(crate) struct WriteArgs {
    /// Signing key: a key file path (see `wallet new`) or `dev:NAME` for a development key.
    #[arg(long, value_name = "KEYSPEC")]
    pub(crate) key: String,
    /// Fee paid to the block's miner: coins (`0.000001`) or base units (`1000base`). Writes
    /// to a data chain (a keyspace bought with --depth above 0) carry none: their miners are
    /// paid on the root.
    #[arg(long, value_name = "AMOUNT", default_value = "1base")]
    pub(crate) fee: AmountArg,
    /// Return as soon as the node accepted the transaction, without waiting for a block.
    #[arg(long)]
    pub(crate) no_wait: bool,
    /// How long to wait for the transaction to be in a block before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) wait_timeout_secs: u64,
    /// Print what was done as one line of JSON (amounts as decimal strings of base units).
    #[arg(long)]
    pub(crate) json: bool,
    /// Print amounts in base units rather than coins.
    #[arg(long)]
    pub(crate) raw: bool,
}

/// `bitverse wallet …`
#[derive(Debug, Subcommand)]
pub(crate) enum WalletCommand {
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

/// `bitverse keyspace …`
#[derive(Debug, Subcommand)]
pub(crate) enum KeyspaceCommand {
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
        #[command(flatten)]
        write: WriteArgs,
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
        #[command(flatten)]
        write: WriteArgs,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Print a keyspace's owner, script, quota, usage and endowment.
    Show {
        /// The keyspace name.
        name: String,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        rpc: RpcArgs,
    },
}

/// `bitverse earnings …`
#[derive(Debug, Subcommand)]
pub(crate) enum EarningsCommand {
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
        #[command(flatten)]
        output: OutputArgs,
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
        #[command(flatten)]
        write: WriteArgs,
        #[command(flatten)]
        rpc: RpcArgs,
    },
}

/// `bitverse bounty …`
#[derive(Debug, Subcommand)]
pub(crate) enum BountyCommand {
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
        #[command(flatten)]
        write: WriteArgs,
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
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        rpc: RpcArgs,
    },
}

/// `bitverse bench …`
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Signed Puts imported per second, end to end, on a running dev node.
    ///
    /// Buys a keyspace for each dev sender, pre-signs COUNT puts, sends them over JSON-RPC in
    /// batches (one stream per sender, so nonces arrive in order) and measures from the first
    /// send until the last put is in a block: RPC in → mempool → block → state root → RocksDB
    /// commit. Signing is not measured.
    Puts {
        /// Number of puts.
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        /// Number of dev senders, 1 to 4: alice, bob, carol and dave, funded at genesis.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=4))]
        senders: u8,
        /// Bytes of each value.
        #[arg(long, default_value_t = 32)]
        value_bytes: usize,
        /// Transactions per `bv_sendTransactions` call (at most 1000).
        #[arg(long, default_value_t = 250)]
        batch: usize,
        /// Print the result as one line of JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        rpc: RpcArgs,
    },
    /// Block propagation latency across a network of node processes on loopback.
    ///
    /// Starts NODES nodes of the `local` network (node-0 mines; node i dials node (i-1)/2, a
    /// binary tree, so blocks cross several hops), waits until they agree, then measures, for
    /// each of BLOCKS new blocks, the time from "mined" in node-0's log to "imported" in each
    /// other node's log. Prints p50, p99 and max. Stops every node at the end.
    Propagation {
        /// Nodes in the network, 2 to 16.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=16))]
        nodes: u64,
        /// Blocks to measure.
        #[arg(long, default_value_t = 20)]
        blocks: u64,
        /// Keep the nodes' data and logs here instead of a temporary directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print the result as one line of JSON.
        #[arg(long)]
        json: bool,
    },
    /// How fast a new node syncs a long chain from a peer, in blocks and MB per second.
    ///
    /// Builds a `local` chain of BLOCKS blocks of TXS signed puts each, serves it from one
    /// node, starts a new node that knows only that peer, and times it from process start
    /// until it has imported the whole chain (headers first, every block replayed).
    Sync {
        /// Blocks in the chain.
        #[arg(long, default_value_t = 1_000)]
        blocks: u64,
        /// Signed puts of 200 bytes in each block.
        #[arg(long, default_value_t = 20)]
        txs: usize,
        /// Build and keep the chains here instead of a temporary directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print the result as one line of JSON.
        #[arg(long)]
        json: bool,
    },
    /// Request → settled latency of the compute market, per tier, on a network of node
    /// processes, against the same transformation run natively in the sandbox.
    ///
    /// Starts NODES nodes of the `local` network on loopback (all mine and track every chain;
    /// each offers and relays with its own dev key, staked from dev:alice's funds), buys the
    /// root keyspaces `filters` (dev:alice) and `photos` (dev:bob), puts MODULE as
    /// `filters/NAME` (its file name: `filters/bw`) and PHOTO as `photos/sample`, then for each
    /// tier runs RUNS requests as dev:bob, each to its verified, settled result, which must
    /// equal the native run's. Prints per tier the mean and worst
    /// latency and its breakdown (offers, bounty, lineup, each hop, settlement), the overhead
    /// over the native run, and the aim: 2 root block intervals + (hops + 1) × native, with
    /// the target interval and with the interval measured over the run. Stops every node at
    /// the end.
    Request {
        /// Nodes in the network, 2 to 16; tier N needs at least N + 1.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(2..=16))]
        nodes: u64,
        /// The tiers to measure (relayers in the lineup), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "0,1,2,3")]
        tiers: Vec<u8>,
        /// Requests per tier, 1 to 100.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
        runs: u64,
        /// The transformation module (built by scripts/build-transforms).
        #[arg(
            long,
            value_name = "PATH",
            default_value = "sandbox-scripts/build/bw.wasm"
        )]
        module: PathBuf,
        /// The photo it is requested over (at most 64 KiB).
        #[arg(
            long,
            value_name = "PATH",
            default_value = "sandbox-scripts/photos/sample.png"
        )]
        photo: PathBuf,
        /// Fuel each execution may use.
        #[arg(long, value_name = "FUEL", default_value_t = 10_000_000)]
        fuel: u64,
        /// Keep the nodes' data and logs here (a new or empty directory) instead of a
        /// temporary one.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// What the light client's stored root header chain costs each call at root height
    /// HEIGHT: writes a dev chain of that many headers into a temporary state directory, then
    /// times opening it (what every `get --verify` and `proof` does before asking the node for
    /// new headers) through the checkpoint, and re-linking every record from genesis as a call
    /// without a usable checkpoint does. ROUNDS of each; the best and the mean are printed.
    LightClient {
        /// Root headers held, 1 to 1,000,000 (each is built and kept in memory first).
        #[arg(long, default_value_t = 100_000,
              value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        height: u64,
        /// Opens timed of each kind, 1 to 100.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
        rounds: u32,
        /// Print the result as one line of JSON.
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap checks a command's definition only when it is parsed; this checks all of them.
    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn amount_arguments_are_coins_unless_marked_base() {
        let parsed = Cli::try_parse_from([
            "bitverse",
            "send",
            "dev:bob",
            "1.5",
            "--key",
            "dev:alice",
            "--fee",
            "2base",
        ])
        .expect("send parses");
        let Command::Send { amount, write, .. } = parsed.command else {
            panic!("not send: {parsed:?}");
        };
        assert_eq!(amount, AmountArg(Amount(1_500_000_000)));
        assert_eq!(write.fee, AmountArg(Amount(2)));
        let parsed =
            Cli::try_parse_from(["bitverse", "send", "dev:bob", "1", "--key", "dev:alice"])
                .expect("send parses");
        let Command::Send { amount, write, .. } = parsed.command else {
            panic!("not send: {parsed:?}");
        };
        assert_eq!(
            amount,
            AmountArg(Amount(1_000_000_000)),
            "a bare number is coins"
        );
        assert_eq!(
            write.fee,
            AmountArg(Amount(1)),
            "the default fee is 1 base unit"
        );
        assert!(
            Cli::try_parse_from(["bitverse", "send", "dev:bob", "1e3", "--key", "dev:alice"])
                .is_err()
        );
    }
}
