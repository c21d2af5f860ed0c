//! The node's options, declared once in [`NodeOptions`]: each field is a `bitverse node` flag
//! (clap) and, under the same name, a key of `bitverse.toml` (serde), read by the same parser
//! either way and merged by the same rule. This module reads the file (a bad key or value is an
//! error naming its line), merges the flags over it and the defaults under both, and writes
//! the commented file `bitverse init` creates. docs/CONFIG.md describes the file for users.
//!
//! The merge order, highest first: the flags given, then the file, then the defaults (in
//! [`NodeConfig`]'s accessors and [`resolve`]). There is no environment layer: no node option
//! is read from the environment (RUST_LOG only when no log level is set, HOME only for the
//! default data directory).

use std::fs;
use std::marker::PhantomData;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

use bitverse_client::keys::{load_key, parse_address};
use bitverse_p2p::P2pAddr;
use bitverse_primitives::{AccountId, ChainId, ChainIdError, SecretKey};
use clap::Args;
use merge::Merge;
use serde::{Deserialize, Deserializer};

/// A test-only market fault on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum MarketFaultArg {
    /// Sign a false result.
    Lie,
    /// Never deliver as an offerer, never settle as the last relayer.
    Silent,
}

/// `bitverse node` flags: the configuration file, every option of it ([`NodeOptions`], declared
/// once in `config.rs`, which merges the flags over the file) and a test-only fault.
#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// The configuration file. Default: DATA_DIR/bitverse.toml, read if it exists (`bitverse
    /// init` writes one with every option). Relative paths in it are relative to its directory.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The options, each also a key of the file.
    #[command(flatten)]
    pub(crate) options: NodeOptions,
    /// Test only: misbehave as an offerer, signing a false result (`lie`) or never delivering
    /// (`silent`, which as the last relayer never settles either), to exercise disputes, expiry
    /// and the requester's own settlement. Never on a real network.
    #[arg(long, value_name = "FAULT", hide = true)]
    pub(crate) market_fault: Option<MarketFaultArg>,
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

/// Name of the configuration file in a data directory.
pub(crate) const CONFIG_FILE_NAME: &str = "bitverse.toml";
/// Name of the node's log file in its data directory, unless `--log-file` says otherwise.
pub(crate) const LOG_FILE_NAME: &str = "node.log";
/// Where the node serves JSON-RPC unless told otherwise (client commands' default URL too).
pub(crate) const DEFAULT_RPC_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8645));
/// Network run without --dev when none is named: the local multi-node test network, the
/// default until a public network exists.
const DEFAULT_NETWORK: &str = "local";
/// Network run with --dev when none is named.
const DEV_NETWORK: &str = "dev";
/// What a storer keeps at most unless told: 10 GiB.
pub(crate) const DEFAULT_STORE_CAPACITY_BYTES: u64 = 10 << 30;
/// Name of the dev key whose account is paid the fees when no `--miner` is given.
const DEFAULT_MINER_DEV_NAME: &str = "miner";
/// The data directory without `--data-dir` or `data_dir`, under the home directory.
const DEFAULT_DATA_DIR_IN_HOME: &str = ".bitverse";
/// Largest configuration file read: a full one is about 4 KiB.
const CONFIG_FILE_BYTES_MAX: u64 = 1024 * 1024;

/// Why the configuration cannot be had. Each is one line for the user.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// A key or value in the file is wrong.
    #[error("{path} line {line}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line of the offending key or value.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file cannot be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// `bitverse init` would overwrite a file.
    #[error("{0} already exists; pass --force to replace it")]
    Exists(String),
    /// No data directory was named and there is no home directory to default to.
    #[error("no data directory: pass --data-dir DIR (HOME is not set for the default ~/.bitverse)")]
    NoDataDir,
    /// Flags and file together ask for something impossible.
    #[error("{0}")]
    Conflict(String),
}

/// Every `bitverse node` option, declared once: the field's doc comment is its `--help`, its
/// name is the flag (with `-` for `_`) and the file's key, its parser reads the flag and the
/// key alike, and its `merge` strategy says how a flag given combines with the file: a value
/// flag replaces the key, a bool flag can only turn its option on, a list given replaces the
/// file's whole list. An option neither sets is `None`, `false` or empty, and takes its default
/// in [`NodeConfig`]. The file refuses unknown keys.
#[derive(Debug, Clone, Default, Args, Deserialize, Merge)]
#[serde(default, deny_unknown_fields)]
#[merge(strategy = merge::option::overwrite_none)]
pub(crate) struct NodeOptions {
    /// Development mode: seal a block as soon as the mempool holds a transaction, at minimum
    /// difficulty. The dev accounts alice, bob, carol and dave are funded at genesis.
    #[arg(long)]
    #[merge(strategy = merge::bool::overwrite_false)]
    pub(crate) dev: bool,
    /// Network parameters to run: `dev` or `local`. Default `dev` with --dev, `local`
    /// without it. Every node of a network must run the same parameters: they fix its genesis,
    /// and nodes of different networks never talk to each other.
    #[arg(long, value_name = "NAME", value_parser = NetworkName::parse)]
    #[serde(deserialize_with = "one::<_, NetworkName>")]
    pub(crate) network: Option<String>,
    /// Directory holding the node's database, its log and its rpc.addr file; created if
    /// missing. Default: the config file's `data_dir`, else ~/.bitverse.
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Address to serve JSON-RPC on. Default 127.0.0.1:8645. Loopback by default: anyone who
    /// can reach the RPC can submit transactions and read everything.
    #[arg(long, value_name = "IP:PORT", value_parser = IpPort::parse)]
    #[serde(deserialize_with = "one::<_, IpPort>")]
    pub(crate) rpc_addr: Option<SocketAddr>,
    /// Mine blocks on a non-dev network: a simple single-threaded proof-of-work loop over
    /// templates built from the mempool. Mined blocks are published to peers.
    #[arg(long)]
    #[merge(strategy = merge::bool::overwrite_false)]
    pub(crate) mine: bool,
    /// Account paid the subsidy and fees of blocks this node produces (`bv1…` or `dev:NAME`).
    /// Default: dev:miner, a well-known development key (anyone can spend what it earns).
    #[arg(long, value_name = "ADDRESS", value_parser = Account::parse)]
    #[serde(deserialize_with = "one::<_, Account>")]
    pub(crate) miner: Option<AccountId>,
    /// Join the peer-to-peer network, listening on this libp2p address, e.g.
    /// `/ip4/0.0.0.0/tcp/8646`, or `/ip4/127.0.0.1/tcp/0` for a free port on loopback. The
    /// address actually bound, with `/p2p/PEER_ID`, is written to DATA_DIR/p2p.addr; the
    /// node's identity key is kept in DATA_DIR/p2p.key so its peer id survives restarts.
    /// Without this flag the node runs alone, without networking.
    #[arg(long, value_name = "MULTIADDR", value_parser = Multiaddr::parse)]
    #[serde(deserialize_with = "one::<_, Multiaddr>")]
    pub(crate) p2p_addr: Option<P2pAddr>,
    /// A peer to connect to at start (repeatable; needs --p2p-addr), e.g. the contents of
    /// another node's p2p.addr. With its `/p2p/PEER_ID` suffix the peer's identity is checked;
    /// without it the address is dialed as it is and the peer id learnt from the connection.
    /// More peers are found through Kademlia. Bootstrap peers are dialed again while the node
    /// has no peer. Given here, they replace the config file's list.
    #[arg(long, value_name = "MULTIADDR", value_parser = Multiaddr::parse)]
    #[serde(deserialize_with = "list::<_, Multiaddr>")]
    #[merge(strategy = merge::vec::overwrite_empty)]
    pub(crate) bootstrap: Vec<P2pAddr>,
    /// Track the branch under this chain prefix (a bit string such as `0110`): store,
    /// validate and seal that chain, every chain below it, and the chains above it that carry
    /// its anchors. Repeatable. Every node tracks the root. Default: only the root, or every
    /// chain with --dev. Writes and reads for a chain the node does not track are forwarded
    /// to a peer that tracks it.
    #[arg(long, value_name = "PREFIX", value_parser = ChainPrefix::parse)]
    #[arg(conflicts_with = "track_all")]
    #[serde(deserialize_with = "list::<_, ChainPrefix>")]
    #[merge(strategy = merge::vec::overwrite_empty)]
    pub(crate) track: Vec<ChainId>,
    /// Track every chain of the blocktree.
    #[arg(long)]
    #[merge(strategy = merge::bool::overwrite_false)]
    pub(crate) track_all: bool,
    /// Take the offerer's role in the compute market (docs/MARKET.md): answer gossiped
    /// requests with signed offers, and compute and sign the result of every bounty that names
    /// the market key's account as its offerer. The account needs an offerer stake (`bitverse
    /// stake AMOUNT --role offerer`). Needs --market-key.
    #[arg(long)]
    #[merge(strategy = merge::bool::overwrite_false)]
    pub(crate) offer: bool,
    /// Take the relayer's role: when a lineup draws the market key's account, recompute the
    /// bounty, countersign a result equal to its own and pass the envelope chain on (settling
    /// it when last), or dispute one that differs. Needs a relayer stake and --market-key.
    #[arg(long)]
    #[merge(strategy = merge::bool::overwrite_false)]
    pub(crate) relay: bool,
    /// Take the storer's role (docs/STORAGE.md): keep the shards the chain places on the
    /// market key's account in DATA_DIR/shards, durably, serve them to readers as verified
    /// ranges, and confirm them on the chain. Needs a storer stake (`bitverse stake AMOUNT
    /// --role storer`), --market-key and --p2p-addr.
    #[arg(long)]
    #[merge(strategy = merge::bool::overwrite_false)]
    pub(crate) store: bool,
    /// The most bytes of shards to keep with --store, e.g. `50GiB` or `500MB`; uploads that
    /// would go past it are refused. Default 10GiB.
    #[arg(long, value_name = "SIZE", value_parser = ByteSize::parse)]
    #[serde(deserialize_with = "one::<_, ByteSize>")]
    pub(crate) store_capacity: Option<u64>,
    /// Run the challenge schedules `bitverse put` wrote (docs/STORAGE.md "Challenges"): for
    /// each blob whose schedule is in --challenges-dir, post each shard's next challenge when
    /// its interval is over (signed by the key the schedule names), and record how each ended.
    #[arg(long)]
    #[merge(strategy = merge::bool::overwrite_false)]
    pub(crate) challenges: bool,
    /// Where the schedules are, with --challenges. Default: $XDG_DATA_HOME/bitverse/challenges,
    /// else ~/.local/share/bitverse/challenges (where `put` writes them).
    #[arg(long, value_name = "DIR", env = "BITVERSE_CHALLENGES_DIR")]
    pub(crate) challenges_dir: Option<PathBuf>,
    /// The key the market roles sign offers, envelopes and their transactions with: `dev:NAME`
    /// or a key file (`bitverse wallet new`). Its account is the one staked; it pays the fees
    /// of the Settle and Dispute transactions the node sends.
    #[arg(long, value_name = "KEY", value_parser = KeySpec::parse)]
    #[serde(deserialize_with = "one::<_, KeySpec>")]
    pub(crate) market_key: Option<String>,
    /// Write the log to this file (appending) instead of DATA_DIR/node.log.
    #[arg(long, value_name = "PATH", conflicts_with = "log_stderr")]
    pub(crate) log_file: Option<PathBuf>,
    /// Write the log to stderr (the terminal) instead of a file.
    #[arg(long)]
    #[merge(strategy = merge::bool::overwrite_false)]
    pub(crate) log_stderr: bool,
    /// The log filter. Its flag is the program's global `--log-level` (`cli::Cli`), which
    /// client commands take too and which `resolve` puts here.
    #[arg(skip)]
    #[serde(deserialize_with = "one::<_, LogFilter>")]
    pub(crate) log_level: Option<String>,
}

/// One kind of option value, read from its text the same way from a flag (as clap's value
/// parser) and from the file (through [`one`] and [`list`]). The error says what the text
/// should have been; it becomes one line for the user.
trait ValueKind {
    /// What the text becomes.
    type Value;
    /// Reads `text`.
    fn parse(text: &str) -> Result<Self::Value, String>;
}

/// Declares each [`ValueKind`]: `Name -> Value: |text| parse`.
macro_rules! value_kinds {
    ($($(#[$doc:meta])* $kind:ident -> $value:ty: |$text:ident| $parse:expr;)*) => {$(
        $(#[$doc])*
        struct $kind;
        impl ValueKind for $kind {
            type Value = $value;
            fn parse($text: &str) -> Result<$value, String> {
                $parse
            }
        }
    )*};
}

value_kinds! {
    /// A socket address, `IP:PORT`.
    IpPort -> SocketAddr: |text| text.parse()
        .map_err(|e| format!("{text:?} is not IP:PORT: {e}"));
    /// A libp2p address.
    Multiaddr -> P2pAddr: |text| text.parse()
        .map_err(|e| format!("{text:?} is not a multiaddr: {e}"));
    /// A chain prefix, a bit string such as `0110`.
    ChainPrefix -> ChainId: |text| text.parse().map_err(|e: ChainIdError| e.to_string());
    /// The name of a network's parameters.
    NetworkName -> String: |text| bitverse_blocktree::ChainParams::named(text)
        .map(|_| text.to_owned())
        .ok_or_else(|| format!("unknown network {text:?} (known: dev, local)"));
    /// An account: `bv1…` or `dev:NAME`.
    Account -> AccountId: |text| parse_address(text).map_err(|e| e.to_string());
    /// A key: `dev:NAME` or a key file, which must load. Kept as written: the node loads it
    /// when it takes a market role.
    KeySpec -> String: |text| load_key(text).map(|_| text.to_owned()).map_err(|e| e.to_string());
    /// A size: bytes, or a number and a unit such as `50GiB`.
    ByteSize -> u64: |text| bitverse_client::args::parse_byte_size(text);
    /// A tracing filter: a level or directives such as `bitverse=debug`.
    LogFilter -> String: |text| tracing_subscriber::EnvFilter::try_new(text)
        .map(|_| text.to_owned())
        .map_err(|e| format!("{text:?} is not a log level or filter: {e}"));
}

/// A value of kind `K` read from the file's text. Parsed inside the visitor, so that the TOML
/// deserializer gives an error the span of this very value (an element's, in a list).
struct FileValue<K: ValueKind>(K::Value, PhantomData<K>);

impl<'de, K: ValueKind> Deserialize<'de> for FileValue<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text<K>(PhantomData<K>);
        impl<K: ValueKind> serde::de::Visitor<'_> for Text<K> {
            type Value = FileValue<K>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<FileValue<K>, E> {
                K::parse(text)
                    .map(|value| FileValue(value, PhantomData))
                    .map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Text(PhantomData))
    }
}

/// The file's value of an optional option of kind `K` (serde's `deserialize_with`).
fn one<'de, D: Deserializer<'de>, K: ValueKind>(
    deserializer: D,
) -> Result<Option<K::Value>, D::Error> {
    FileValue::<K>::deserialize(deserializer).map(|value| Some(value.0))
}

/// The file's list of values of kind `K` (serde's `deserialize_with`).
fn list<'de, D: Deserializer<'de>, K: ValueKind>(
    deserializer: D,
) -> Result<Vec<K::Value>, D::Error> {
    Vec::<FileValue<K>>::deserialize(deserializer)
        .map(|values| values.into_iter().map(|value| value.0).collect())
}

/// Where the node's log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogTarget {
    /// Appended to this file.
    File(PathBuf),
    /// Written to stderr.
    Stderr,
}

/// What `node::run` runs with: the options, flags merged over the file, and what is worked
/// out from them before the node starts. An option neither gave has its default here.
#[derive(Debug, Clone)]
pub(crate) struct NodeConfig {
    /// The options as merged: `None`, `false` or empty where neither the flags nor the file
    /// set them (the accessors below give their defaults).
    pub(crate) options: NodeOptions,
    /// The data directory.
    pub(crate) data_dir: PathBuf,
    /// Where the log goes.
    pub(crate) log: LogTarget,
    /// A test-only market fault (a flag only, never in the file).
    pub(crate) market_fault: Option<MarketFaultArg>,
    /// The configuration file read, if any.
    pub(crate) config_file: Option<PathBuf>,
}

impl NodeConfig {
    /// Where JSON-RPC is served.
    pub(crate) fn rpc_addr(&self) -> SocketAddr {
        self.options.rpc_addr.unwrap_or(DEFAULT_RPC_ADDR)
    }

    /// The network's name: as given, else `dev` in development mode, else `local`.
    pub(crate) fn network(&self) -> &str {
        match (&self.options.network, self.options.dev) {
            (Some(name), _) => name,
            (None, true) => DEV_NETWORK,
            (None, false) => DEFAULT_NETWORK,
        }
    }

    /// The storer's capacity: as given, else [`DEFAULT_STORE_CAPACITY_BYTES`].
    pub(crate) fn store_capacity_bytes(&self) -> u64 {
        self.options
            .store_capacity
            .unwrap_or(DEFAULT_STORE_CAPACITY_BYTES)
    }

    /// The account paid for produced blocks: as given, else dev:miner.
    pub(crate) fn miner(&self) -> AccountId {
        self.options
            .miner
            .unwrap_or_else(|| SecretKey::dev(DEFAULT_MINER_DEV_NAME).account())
    }
}

/// One option of the file, as `bitverse init` documents it.
struct OptionDoc {
    /// The key; the flag is `--` and the key with `-` for `_`.
    key: &'static str,
    /// What it does, one or more comment lines.
    help: &'static str,
    /// The value written, commented out, after `key = `: the default or an example.
    value: &'static str,
}

/// The file's comments, in the order `bitverse init` writes them: the option's help in the
/// file's terms (the flag's `--help` speaks of flags) and its default or an example. A test
/// checks these keys against [`NodeOptions`] and that each example parses.
const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        key: "dev",
        help: "Development mode: seal a block as soon as the mempool holds a transaction, at\n\
               minimum difficulty. The dev accounts alice, bob, carol and dave are funded.",
        value: "false",
    },
    OptionDoc {
        key: "network",
        help: "Network parameters: \"dev\" or \"local\". Default \"dev\" with dev = true, else \"local\".",
        value: "\"local\"",
    },
    OptionDoc {
        key: "data_dir",
        help: "Data directory (database, log, rpc.addr). Default: this file's directory when\n\
               given with --config, else the directory it was found in.",
        value: "\".\"",
    },
    OptionDoc {
        key: "rpc_addr",
        help: "Address to serve JSON-RPC on. Anyone who can reach it can submit transactions.",
        value: "\"127.0.0.1:8645\"",
    },
    OptionDoc {
        key: "mine",
        help: "Mine blocks on a non-dev network (single-threaded proof of work).",
        value: "false",
    },
    OptionDoc {
        key: "miner",
        help: "Account paid for the blocks this node produces (bv1... or dev:NAME).\n\
               Default dev:miner, a well-known development key.",
        value: "\"dev:miner\"",
    },
    OptionDoc {
        key: "p2p_addr",
        help: "Join the peer-to-peer network, listening on this libp2p address. Unset: run alone.",
        value: "\"/ip4/0.0.0.0/tcp/8646\"",
    },
    OptionDoc {
        key: "bootstrap",
        help: "Peers to connect to at start (needs p2p_addr), e.g. another node's p2p.addr.",
        value: "[]",
    },
    OptionDoc {
        key: "track",
        help: "Branches of the blocktree to store, validate and seal, as chain prefixes (bit\n\
               strings such as \"0110\"): each one's chain, every chain below it, and the chains\n\
               above it. Every node tracks the root. Default: only the root, or all with dev.",
        value: "[\"0110\"]",
    },
    OptionDoc {
        key: "track_all",
        help: "Track every chain of the blocktree.",
        value: "false",
    },
    OptionDoc {
        key: "offer",
        help: "Take the compute market's offerer role (needs market_key and an offerer stake).",
        value: "false",
    },
    OptionDoc {
        key: "relay",
        help: "Take the compute market's relayer role (needs market_key and a relayer stake).",
        value: "false",
    },
    OptionDoc {
        key: "store",
        help: "Take the storer's role: keep, serve and confirm the shards the chain places on\n\
               market_key's account (needs market_key, p2p_addr and a storer stake).",
        value: "false",
    },
    OptionDoc {
        key: "store_capacity",
        help: "The most bytes of shards to keep with store = true. Default 10GiB.",
        value: "\"10GiB\"",
    },
    OptionDoc {
        key: "challenges",
        help: "Run the challenge schedules put wrote: post each shard's next challenge on its\n\
               interval and record how each ended.",
        value: "false",
    },
    OptionDoc {
        key: "challenges_dir",
        help: "Where the challenge schedules are. Default: ~/.local/share/bitverse/challenges.",
        value: "\"challenges\"",
    },
    OptionDoc {
        key: "market_key",
        help: "Key the market roles sign with and pay fees from: dev:NAME or a key file.",
        value: "\"dev:carol\"",
    },
    OptionDoc {
        key: "log_file",
        help: "File the log is appended to. Default: node.log in the data directory.",
        value: "\"node.log\"",
    },
    OptionDoc {
        key: "log_stderr",
        help: "Write the log to stderr (the terminal) instead of a file.",
        value: "false",
    },
    OptionDoc {
        key: "log_level",
        help: "Log level (error, warn, info, debug, trace) or a filter such as \"bitverse=debug\".\n\
               Default: RUST_LOG, else info.",
        value: "\"info\"",
    },
];

/// The commented file `bitverse init` writes: every option, commented out at its default.
pub(crate) fn template() -> String {
    let mut text = String::from(
        "# bitverse.toml: the configuration of `bitverse node` (docs/CONFIG.md).\n\
         # Each key is a `bitverse node` flag, with '_' for '-'; a flag given on the command line\n\
         # overrides the key. Every option below is commented out at its default (or, where it\n\
         # has none, an example): remove the '#' to set it. Relative paths are relative to this\n\
         # file's directory.\n",
    );
    for option in OPTIONS {
        text.push('\n');
        for help_line in option.help.lines() {
            text.push_str("# ");
            text.push_str(help_line.trim());
            text.push('\n');
        }
        text.push_str(&format!("# {} = {}\n", option.key, option.value));
    }
    text
}

/// `bitverse init`: writes the template into the data directory; returns the file's path.
pub(crate) fn init(args: &InitArgs) -> Result<PathBuf, ConfigError> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    let io = |path: &Path, e: std::io::Error| ConfigError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let path = dir.join(CONFIG_FILE_NAME);
    if path.exists() && !args.force {
        return Err(ConfigError::Exists(path.display().to_string()));
    }
    fs::write(&path, template()).map_err(|e| io(&path, e))?;
    Ok(path)
}

/// ~/.bitverse.
fn default_data_dir() -> Result<PathBuf, ConfigError> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join(DEFAULT_DATA_DIR_IN_HOME))
        .ok_or(ConfigError::NoDataDir)
}

/// Finds and reads the configuration file and merges the flags over it. `log_level` is the
/// global `--log-level` flag.
pub(crate) fn resolve(
    args: NodeArgs,
    log_level: Option<String>,
) -> Result<NodeConfig, ConfigError> {
    // The file named by --config must exist; the one in the data directory may not.
    let (config_path, required) = match &args.config {
        Some(path) => (path.clone(), true),
        None => {
            let dir = match &args.options.data_dir {
                Some(dir) => dir.clone(),
                None => default_data_dir()?,
            };
            (dir.join(CONFIG_FILE_NAME), false)
        }
    };
    let file = match read_bounded(&config_path) {
        Ok(text) => Some(parse_file(&config_path, &text)?),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(ConfigError::Io {
                path: config_path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    let mut flags = args.options;
    flags.log_level = log_level;
    merge(
        flags,
        args.market_fault,
        file.map(|file| (file, config_path)),
    )
}

/// Reads a file of at most [`CONFIG_FILE_BYTES_MAX`] bytes as text.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    let size_bytes = fs::metadata(path)?.len();
    if size_bytes > CONFIG_FILE_BYTES_MAX {
        return Err(std::io::Error::other(format!(
            "{size_bytes} bytes; a configuration file may be at most {CONFIG_FILE_BYTES_MAX}"
        )));
    }
    fs::read_to_string(path)
}

/// The file's options, each value parsed and checked by its kind; every error names the line,
/// and a bad value its key. Paths stay as written (made relative to the file in [`merge`]).
fn parse_file(path: &Path, text: &str) -> Result<NodeOptions, ConfigError> {
    let invalid = |offset: Option<usize>, message: String| ConfigError::Invalid {
        path: path.display().to_string(),
        line: offset.map_or(1, |offset| line_of(text, offset)),
        message,
    };
    let options: NodeOptions = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|span| span.start);
        let message = e.message().trim();
        let message = match offset.and_then(|offset| key_of_value_at(text, offset)) {
            Some(key) => format!("{key}: {message}"),
            None => message.to_owned(),
        };
        invalid(offset, message)
    })?;
    if options.log_stderr && options.log_file.is_some() {
        return Err(invalid(
            key_offset(text, "log_stderr"),
            "log_stderr = true and log_file both set; keep one".to_owned(),
        ));
    }
    Ok(options)
}

/// The top-level keys of `text` with the byte ranges of the key and of its value; empty if
/// the text does not parse (its error is reported by the caller).
fn top_level_entries(text: &str) -> Vec<(String, std::ops::Range<usize>, std::ops::Range<usize>)> {
    toml::de::DeTable::parse(text)
        .map(|table| {
            table
                .get_ref()
                .iter()
                .map(|(key, value)| (key.get_ref().to_string(), key.span(), value.span()))
                .collect()
        })
        .unwrap_or_default()
}

/// The top-level key whose value holds byte `offset`, if any (not for an error on a key).
fn key_of_value_at(text: &str, offset: usize) -> Option<String> {
    top_level_entries(text)
        .into_iter()
        .find(|(_, _, value)| value.contains(&offset))
        .map(|(key, _, _)| key)
}

/// Byte offset of top-level `key` in `text`.
fn key_offset(text: &str, key: &str) -> Option<usize> {
    top_level_entries(text)
        .into_iter()
        .find(|(name, _, _)| name == key)
        .map(|(_, span, _)| span.start)
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        .saturating_add(1)
}

/// A path from the file, relative to the file's directory unless absolute.
fn relative_to(config_path: &Path, path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    match config_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(path),
        _ => path,
    }
}

/// Flags over file over defaults: `flags.merge(file)` by each field's strategy, after the
/// file's paths are made relative to it and with two rules of the log target: the log target
/// is one setting written with two keys, so a log flag replaces the file's target whole; the
/// data directory defaults to the file's own directory. Then the checks across options.
fn merge(
    mut flags: NodeOptions,
    market_fault: Option<MarketFaultArg>,
    file: Option<(NodeOptions, PathBuf)>,
) -> Result<NodeConfig, ConfigError> {
    let config_file = match file {
        Some((mut file, config_path)) => {
            file.data_dir = file.data_dir.map(|dir| relative_to(&config_path, dir));
            file.log_file = file.log_file.map(|log| relative_to(&config_path, log));
            if flags.log_stderr || flags.log_file.is_some() {
                file.log_file = None;
                file.log_stderr = false;
            }
            // Found by --config without data_dir: the file's own directory.
            file.data_dir.get_or_insert_with(|| {
                config_path
                    .parent()
                    .filter(|dir| !dir.as_os_str().is_empty())
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            });
            flags.merge(file);
            Some(config_path)
        }
        None => None,
    };
    let options = flags;
    let data_dir = match &options.data_dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    let log = match (&options.log_file, options.log_stderr) {
        (_, true) => LogTarget::Stderr,
        (Some(path), false) => LogTarget::File(path.clone()),
        (None, false) => LogTarget::File(data_dir.join(LOG_FILE_NAME)),
    };
    if !options.bootstrap.is_empty() && options.p2p_addr.is_none() {
        return Err(ConfigError::Conflict(
            "bootstrap peers need a p2p address to listen on (--p2p-addr or p2p_addr)".to_owned(),
        ));
    }
    if options.track_all && !options.track.is_empty() {
        return Err(ConfigError::Conflict(
            "track_all and track both set; keep one".to_owned(),
        ));
    }
    if (options.offer || options.relay) && options.market_key.is_none() {
        return Err(ConfigError::Conflict(
            "offer and relay need the key they sign with (--market-key or market_key)".to_owned(),
        ));
    }
    if options.store && options.market_key.is_none() {
        return Err(ConfigError::Conflict(
            "store needs the key of the staked storer account (--market-key or market_key)"
                .to_owned(),
        ));
    }
    if options.store && options.p2p_addr.is_none() {
        return Err(ConfigError::Conflict(
            "store needs the network to take and serve shards (--p2p-addr or p2p_addr)".to_owned(),
        ));
    }
    if options.store_capacity.is_some() && !options.store {
        return Err(ConfigError::Conflict(
            "store_capacity is the storer's (add --store or store = true)".to_owned(),
        ));
    }
    Ok(NodeConfig {
        options,
        data_dir,
        log,
        market_fault,
        config_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::{CommandFactory, Parser};

    /// The file these tests read from: relative paths in it are relative to /cfg.
    const CONFIG_PATH: &str = "/cfg/bitverse.toml";

    /// `bitverse node ARGS…` parsed.
    fn node_args(args: &[&str]) -> NodeArgs {
        let all = [&["bitverse", "node"][..], args].concat();
        match Cli::parse_from(all).command {
            Command::Node(args) => args,
            other => panic!("not a node command: {other:?}"),
        }
    }

    /// The error clap gives for `bitverse node ARGS…`.
    fn flag_error(args: &[&str]) -> String {
        let all = [&["bitverse", "node"][..], args].concat();
        match Cli::try_parse_from(all) {
            Err(e) => e.to_string(),
            Ok(parsed) => panic!("{args:?} parsed: {parsed:?}"),
        }
    }

    fn parse(text: &str) -> Result<NodeOptions, ConfigError> {
        parse_file(Path::new(CONFIG_PATH), text)
    }

    /// The flags of `args` merged over the file `text` read from [`CONFIG_PATH`].
    fn merged(args: &[&str], text: &str) -> Result<NodeConfig, ConfigError> {
        let args = node_args(args);
        let file = parse(text)?;
        merge(
            args.options,
            args.market_fault,
            Some((file, PathBuf::from(CONFIG_PATH))),
        )
    }

    fn invalid_line(result: Result<NodeOptions, ConfigError>) -> (usize, String) {
        match result {
            Err(ConfigError::Invalid { line, message, .. }) => (line, message),
            other => panic!("expected an invalid-file error, got {other:?}"),
        }
    }

    #[test]
    fn every_node_flag_is_a_documented_file_key() {
        let cli = Cli::command();
        let node = cli.find_subcommand("node").expect("node subcommand");
        let mut flags: std::collections::BTreeSet<String> = node
            .get_arguments()
            .filter_map(|a| a.get_long())
            // --config names the file; --market-fault is a test-only flag, never a setting.
            .filter(|long| !["config", "help", "version", "market-fault"].contains(long))
            .map(|long| long.replace('-', "_"))
            .collect();
        // The global --log-level is a node setting too.
        flags.insert("log_level".to_owned());
        let keys: std::collections::BTreeSet<String> =
            OPTIONS.iter().map(|o| o.key.to_owned()).collect();
        assert_eq!(flags, keys);
        assert_eq!(keys.len(), OPTIONS.len(), "a key documented twice");
    }

    #[test]
    fn template_parses_to_defaults_and_each_uncommented_line_is_valid() {
        let text = template();
        let defaults = parse(&text).expect("template parses");
        assert!(!defaults.dev && defaults.rpc_addr.is_none() && defaults.log_file.is_none());
        for option in OPTIONS {
            let line = format!("{} = {}", option.key, option.value);
            let commented = format!("# {line}\n");
            assert!(text.contains(&commented), "{} missing", option.key);
            let uncommented = text.replace(&commented, &format!("{line}\n"));
            parse(&uncommented).unwrap_or_else(|e| panic!("uncommented {}: {e}", option.key));
        }
    }

    #[test]
    fn unknown_key_is_refused_naming_its_line() {
        let (line, message) = invalid_line(parse("dev = true\n\nrpc_adr = \"127.0.0.1:1\"\n"));
        assert_eq!(line, 3);
        assert!(message.starts_with("unknown field `rpc_adr`"), "{message}");
        // --config and --market-fault are flags only.
        let (line, message) = invalid_line(parse("market_fault = \"lie\"\n"));
        assert_eq!(line, 1);
        assert!(message.contains("market_fault"), "{message}");
    }

    #[test]
    fn bad_values_are_refused_naming_their_key_and_line() {
        let (line, message) = invalid_line(parse("\nrpc_addr = \"localhost\"\n"));
        assert_eq!(line, 2);
        assert_eq!(
            message,
            "rpc_addr: \"localhost\" is not IP:PORT: invalid socket address syntax"
        );
        let (line, message) = invalid_line(parse("mine = false\ndev = \"yes\"\n"));
        assert_eq!(line, 2);
        assert!(message.starts_with("dev: invalid type"), "{message}");
        let (line, message) = invalid_line(parse("\n\n\nnetwork = \"mainnet\"\n"));
        assert_eq!(line, 4);
        assert_eq!(
            message,
            "network: unknown network \"mainnet\" (known: dev, local)"
        );
        let (line, message) = invalid_line(parse(
            "bootstrap = [\n  \"/ip4/1.2.3.4/tcp/1\",\n  \"nope\",\n]\n",
        ));
        assert_eq!(line, 3, "the element's line");
        assert!(
            message.starts_with("bootstrap: \"nope\" is not a multiaddr"),
            "{message}"
        );
        let (line, message) = invalid_line(parse("track = [\"012\"]\n"));
        assert_eq!(line, 1);
        assert!(message.starts_with("track: "), "{message}");
        let (line, message) = invalid_line(parse("miner = \"bv1nothing\"\n"));
        assert_eq!(line, 1);
        assert!(message.starts_with("miner: "), "{message}");
        let (line, message) = invalid_line(parse("rpc_addr = 8645\n"));
        assert_eq!(line, 1);
        assert!(message.starts_with("rpc_addr: invalid type"), "{message}");
        let (line, message) = invalid_line(parse("log_level = \"info,=\"\n"));
        assert_eq!(line, 1);
        assert!(message.starts_with("log_level: "), "{message}");
        let (line, message) = invalid_line(parse("log_file = \"a.log\"\nlog_stderr = true\n"));
        assert_eq!(line, 2);
        assert_eq!(message, "log_stderr = true and log_file both set; keep one");
        let (line, _) = invalid_line(parse("dev = true\ndev = false\n"));
        assert_eq!(line, 2);
        // The error names the file too.
        let e = parse("\nrpc_addr = \"localhost\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/cfg/bitverse.toml line 2: rpc_addr: "),
            "{e}"
        );
    }

    #[test]
    fn a_flag_is_read_as_its_key_is() {
        for (flag, value, key) in [
            ("--rpc-addr", "localhost", "rpc_addr"),
            ("--network", "mainnet", "network"),
            ("--p2p-addr", "nope", "p2p_addr"),
            ("--bootstrap", "nope", "bootstrap"),
            ("--track", "012", "track"),
            ("--miner", "bv1nothing", "miner"),
            ("--market-key", "dev:", "market_key"),
        ] {
            let from_flag = flag_error(&[flag, value]);
            let text = match key {
                "bootstrap" | "track" => format!("{key} = [{value:?}]\n"),
                _ => format!("{key} = {value:?}\n"),
            };
            let (_, from_file) = invalid_line(parse(&text));
            let reason = from_file
                .strip_prefix(&format!("{key}: "))
                .unwrap_or_else(|| panic!("{from_file}"));
            assert!(
                from_flag.contains(reason),
                "{flag}: {from_flag:?} lacks the file's {reason:?}"
            );
        }
    }

    #[test]
    fn the_file_alone_sets_the_options_with_paths_relative_to_it() {
        let config = merged(
            &[],
            "dev = true\nrpc_addr = \"127.0.0.1:9000\"\nlog_file = \"logs/n.log\"\n\
             miner = \"dev:carol\"\ndata_dir = \"data\"\ntrack = [\"01\"]\n\
             bootstrap = [\"/ip4/127.0.0.1/tcp/1\"]\np2p_addr = \"/ip4/127.0.0.1/tcp/0\"\n\
             offer = true\nmarket_key = \"dev:carol\"\nlog_level = \"debug\"\n",
        )
        .unwrap();
        assert!(config.options.dev && config.options.offer && !config.options.relay);
        assert_eq!(config.rpc_addr().to_string(), "127.0.0.1:9000");
        assert_eq!(config.miner(), SecretKey::dev("carol").account());
        assert_eq!(config.network(), "dev");
        assert_eq!(config.data_dir, PathBuf::from("/cfg/data"));
        assert_eq!(config.log, LogTarget::File("/cfg/logs/n.log".into()));
        assert_eq!(config.options.track, vec!["01".parse::<ChainId>().unwrap()]);
        assert_eq!(config.options.bootstrap.len(), 1);
        assert_eq!(config.options.market_key.as_deref(), Some("dev:carol"));
        assert_eq!(config.options.log_level.as_deref(), Some("debug"));
        assert_eq!(config.config_file, Some(PathBuf::from(CONFIG_PATH)));
        // Without data_dir, the file's own directory is the data directory.
        let config = merged(&[], "mine = true\n").unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/cfg"));
        assert_eq!(config.log, LogTarget::File("/cfg/node.log".into()));
    }

    #[test]
    fn flags_override_the_file_and_file_overrides_defaults() {
        let file = "dev = true\nrpc_addr = \"127.0.0.1:9000\"\nlog_file = \"logs/n.log\"\n\
                    miner = \"dev:carol\"\ndata_dir = \"data\"\nnetwork = \"dev\"\n\
                    track = [\"01\", \"10\"]\n";
        let config = merged(
            &[
                "--rpc-addr",
                "127.0.0.1:9001",
                "--track",
                "0",
                "--network",
                "local",
            ],
            file,
        )
        .unwrap();
        assert!(
            config.options.dev,
            "a flag not given leaves the file's value"
        );
        assert_eq!(config.rpc_addr().to_string(), "127.0.0.1:9001");
        assert_eq!(config.network(), "local");
        assert_eq!(config.miner(), SecretKey::dev("carol").account());
        assert_eq!(
            config.options.track,
            vec!["0".parse::<ChainId>().unwrap()],
            "a list given replaces the file's whole list"
        );
        assert_eq!(config.data_dir, PathBuf::from("/cfg/data"));
        assert_eq!(config.log, LogTarget::File("/cfg/logs/n.log".into()));

        // Flag paths are taken as given, not relative to the file.
        let config = merged(
            &["--log-stderr", "--data-dir", "/x"],
            "log_file = \"n.log\"\ndata_dir = \"/d\"\n",
        )
        .unwrap();
        assert_eq!(config.log, LogTarget::Stderr);
        assert_eq!(config.data_dir, PathBuf::from("/x"));
        // A log flag replaces the file's log target whole.
        let config = merged(&["--log-file", "flag.log"], "log_stderr = true\n").unwrap();
        assert_eq!(config.log, LogTarget::File("flag.log".into()));
        // A bool flag only turns its option on: the file's true stays without the flag.
        let config = merged(&["--mine"], "mine = false\noffer = false\n").unwrap();
        assert!(config.options.mine && !config.options.offer);
    }

    #[test]
    fn the_global_log_level_flag_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join(CONFIG_FILE_NAME);
        fs::write(&config_path, "log_level = \"warn\"\ndev = true\n").unwrap();
        let data_dir = dir.path().to_str().unwrap();
        let config = resolve(node_args(&["--data-dir", data_dir]), Some("trace".into())).unwrap();
        assert_eq!(config.options.log_level.as_deref(), Some("trace"));
        assert!(
            config.options.dev,
            "the file in the data directory was read"
        );
        assert_eq!(config.config_file, Some(config_path));
        let config = resolve(node_args(&["--data-dir", data_dir]), None).unwrap();
        assert_eq!(config.options.log_level.as_deref(), Some("warn"));
        // A file named by --config must exist.
        let missing = dir.path().join("missing.toml");
        let result = resolve(node_args(&["--config", missing.to_str().unwrap()]), None);
        assert!(matches!(result, Err(ConfigError::Io { .. })), "{result:?}");
    }

    #[test]
    fn without_a_file_the_defaults_apply() {
        let args = node_args(&["--data-dir", "/d", "--dev"]);
        let config = merge(args.options, args.market_fault, None).unwrap();
        assert_eq!(config.log, LogTarget::File("/d/node.log".into()));
        assert_eq!(config.rpc_addr().to_string(), "127.0.0.1:8645");
        assert_eq!(config.network(), "dev");
        assert_eq!(config.miner(), SecretKey::dev("miner").account());
        assert!(config.config_file.is_none());
        let args = node_args(&["--data-dir", "/d"]);
        let config = merge(args.options, args.market_fault, None).unwrap();
        assert_eq!(config.network(), "local");
    }

    #[test]
    fn options_that_exclude_each_other_are_refused_across_flags_and_file() {
        let conflict = |args: &[&str], file: &str| {
            let result = merged(args, file);
            match result {
                Err(ConfigError::Conflict(message)) => message,
                other => panic!("{args:?} over {file:?}: {other:?}"),
            }
        };
        assert!(conflict(&["--bootstrap", "/ip4/127.0.0.1/tcp/1"], "").contains("--p2p-addr"));
        assert!(conflict(&[], "bootstrap = [\"/ip4/127.0.0.1/tcp/1\"]\n").contains("p2p_addr"));
        assert!(conflict(&["--track", "01"], "track_all = true\n").contains("track_all"));
        assert!(conflict(&["--offer"], "").contains("market_key"));
        assert!(conflict(&[], "relay = true\n").contains("market_key"));
        // On the command line, clap refuses them itself.
        assert!(flag_error(&["--track", "01", "--track-all"]).contains("cannot be used with"));
        assert!(flag_error(&["--log-file", "a", "--log-stderr"]).contains("cannot be used with"));
    }
}
