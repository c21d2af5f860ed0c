//! `bitverse.toml`, the node's configuration file: every `bitverse node` flag under its name
//! with `_` for `-`. This module reads the file (a bad key or value is an error naming its
//! line), merges it under the command-line flags (a flag given overrides the file), and writes
//! the commented file `bitverse init` creates. docs/CONFIG.md describes the file for users.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bitverse_p2p::P2pAddr;
use bitverse_primitives::ChainId;
use serde::Deserialize;
use toml::Spanned;

use crate::cli::{InitArgs, NodeArgs};
use bitverse_client::keys::parse_address;

/// Name of the configuration file in a data directory.
pub(crate) const CONFIG_FILE_NAME: &str = "bitverse.toml";
/// Name of the node's log file in its data directory, unless `--log-file` says otherwise.
pub(crate) const LOG_FILE_NAME: &str = "node.log";
/// Where the node serves JSON-RPC unless told otherwise (client commands' default URL too).
pub(crate) const DEFAULT_RPC_ADDR: &str = "127.0.0.1:8645";
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

/// Where the node's log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogTarget {
    /// Appended to this file.
    File(PathBuf),
    /// Written to stderr.
    Stderr,
}

/// The compute market roles a node takes (`--offer`, `--relay`, `--market-key`).
#[derive(Debug, Clone, Default)]
pub(crate) struct MarketSettings {
    /// Take the offerer's role.
    pub(crate) offer: bool,
    /// Take the relayer's role.
    pub(crate) relay: bool,
    /// The key spec (`dev:NAME` or a key file) the roles sign with.
    pub(crate) key: Option<String>,
    /// A test-only fault.
    pub(crate) fault: Option<crate::cli::MarketFaultArg>,
}

/// The node's settings after the file and the flags are merged: what `node::run` runs with.
#[derive(Debug, Clone)]
pub(crate) struct NodeConfig {
    /// Development mode.
    pub(crate) dev: bool,
    /// Network parameters by name; `None` picks by `dev`.
    pub(crate) network: Option<String>,
    /// The data directory.
    pub(crate) data_dir: PathBuf,
    /// Where JSON-RPC is served.
    pub(crate) rpc_addr: SocketAddr,
    /// Mine on a non-dev network.
    pub(crate) mine: bool,
    /// Account paid for produced blocks; `None` is dev:miner.
    pub(crate) miner: Option<String>,
    /// The peer-to-peer listen address; `None` runs without networking.
    pub(crate) p2p_addr: Option<P2pAddr>,
    /// Peers dialed at start.
    pub(crate) bootstrap: Vec<P2pAddr>,
    /// Branches of the blocktree tracked (empty: see `track_all` and `dev`).
    pub(crate) track: Vec<ChainId>,
    /// Track every chain.
    pub(crate) track_all: bool,
    /// The market roles taken, and the key they sign with.
    pub(crate) market: MarketSettings,
    /// Where the log goes.
    pub(crate) log: LogTarget,
    /// The log filter; `None` is RUST_LOG or `info`.
    pub(crate) log_level: Option<String>,
    /// The configuration file read, if any.
    pub(crate) config_file: Option<PathBuf>,
}

/// The file as written: every key optional, unknown keys refused. Values parsed here (rather
/// than by serde) keep their span, so an error can name the line.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    dev: Option<bool>,
    network: Option<Spanned<String>>,
    data_dir: Option<PathBuf>,
    rpc_addr: Option<Spanned<String>>,
    mine: Option<bool>,
    miner: Option<Spanned<String>>,
    p2p_addr: Option<Spanned<String>>,
    bootstrap: Option<Vec<Spanned<String>>>,
    track: Option<Vec<Spanned<String>>>,
    track_all: Option<bool>,
    offer: Option<bool>,
    relay: Option<bool>,
    market_key: Option<Spanned<String>>,
    log_file: Option<PathBuf>,
    log_stderr: Option<Spanned<bool>>,
    log_level: Option<Spanned<String>>,
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

/// Every key of the file, in the order `bitverse init` writes them. A test checks this list
/// against `bitverse node`'s flags and [`FileConfig`].
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
            let dir = match &args.data_dir {
                Some(dir) => dir.clone(),
                None => default_data_dir()?,
            };
            (dir.join(CONFIG_FILE_NAME), false)
        }
    };
    let text = match read_bounded(&config_path) {
        Ok(text) => Some(text),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(ConfigError::Io {
                path: config_path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    let file = match &text {
        Some(text) => Some(parse_file(&config_path, text)?),
        None => None,
    };
    merge(args, log_level, file, text.as_ref().map(|_| config_path))
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

/// The file's settings, each value checked. Paths stay as written (resolved in [`merge`]).
#[derive(Debug, Default)]
struct FileSettings {
    dev: Option<bool>,
    network: Option<String>,
    data_dir: Option<PathBuf>,
    rpc_addr: Option<SocketAddr>,
    mine: Option<bool>,
    miner: Option<String>,
    p2p_addr: Option<P2pAddr>,
    bootstrap: Option<Vec<P2pAddr>>,
    track: Option<Vec<ChainId>>,
    track_all: Option<bool>,
    offer: Option<bool>,
    relay: Option<bool>,
    market_key: Option<String>,
    log: Option<LogTarget>,
    log_level: Option<String>,
}

/// Parses and checks the file's text; every error names the line.
fn parse_file(path: &Path, text: &str) -> Result<FileSettings, ConfigError> {
    let invalid = |span: Option<std::ops::Range<usize>>, message: String| ConfigError::Invalid {
        path: path.display().to_string(),
        line: span.map_or(1, |span| line_of(text, span.start)),
        message,
    };
    let raw: FileConfig =
        toml::from_str(text).map_err(|e| invalid(e.span(), e.message().trim().to_owned()))?;
    // Checks one spanned string with `parse`, naming the key and the line on failure.
    fn check<T>(
        value: &Spanned<String>,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
        invalid: &impl Fn(Option<std::ops::Range<usize>>, String) -> ConfigError,
    ) -> Result<T, ConfigError> {
        parse(value.get_ref())
            .map_err(|reason| invalid(Some(value.span()), format!("{key}: {reason}")))
    }
    let network = raw
        .network
        .map(|v| {
            check(
                &v,
                "network",
                |name| {
                    bitverse_blocktree::ChainParams::named(name)
                        .map(|_| name.to_owned())
                        .ok_or_else(|| format!("unknown network {name:?} (known: dev, local)"))
                },
                &invalid,
            )
        })
        .transpose()?;
    let rpc_addr = raw
        .rpc_addr
        .map(|v| {
            check(
                &v,
                "rpc_addr",
                |a| {
                    a.parse::<SocketAddr>()
                        .map_err(|e| format!("{a:?} is not IP:PORT: {e}"))
                },
                &invalid,
            )
        })
        .transpose()?;
    let miner = raw
        .miner
        .map(|v| {
            check(
                &v,
                "miner",
                |m| {
                    parse_address(m)
                        .map(|_| m.to_owned())
                        .map_err(|e| e.to_string())
                },
                &invalid,
            )
        })
        .transpose()?;
    let parse_multiaddr = |a: &str| {
        a.parse::<P2pAddr>()
            .map_err(|e| format!("{a:?} is not a multiaddr: {e}"))
    };
    let p2p_addr = raw
        .p2p_addr
        .map(|v| check(&v, "p2p_addr", parse_multiaddr, &invalid))
        .transpose()?;
    let bootstrap = raw
        .bootstrap
        .map(|list| {
            list.iter()
                .map(|v| check(v, "bootstrap", parse_multiaddr, &invalid))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let track = raw
        .track
        .map(|list| {
            list.iter()
                .map(|v| {
                    check(
                        v,
                        "track",
                        |prefix| prefix.parse::<ChainId>().map_err(|e| e.to_string()),
                        &invalid,
                    )
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let log_level = raw
        .log_level
        .map(|v| {
            check(
                &v,
                "log_level",
                |level| {
                    tracing_subscriber::EnvFilter::try_new(level)
                        .map(|_| level.to_owned())
                        .map_err(|e| format!("{level:?} is not a log level or filter: {e}"))
                },
                &invalid,
            )
        })
        .transpose()?;
    let log = match (raw.log_file, raw.log_stderr) {
        (Some(_), Some(stderr)) if *stderr.get_ref() => {
            return Err(invalid(
                Some(stderr.span()),
                "log_stderr = true and log_file both set; keep one".to_owned(),
            ));
        }
        (Some(file), _) => Some(LogTarget::File(file)),
        (None, Some(stderr)) if *stderr.get_ref() => Some(LogTarget::Stderr),
        (None, _) => None,
    };
    let market_key = raw
        .market_key
        .map(|v| {
            check(
                &v,
                "market_key",
                |k| {
                    bitverse_client::keys::load_key(k)
                        .map(|_| k.to_owned())
                        .map_err(|e| e.to_string())
                },
                &invalid,
            )
        })
        .transpose()?;
    Ok(FileSettings {
        dev: raw.dev,
        network,
        data_dir: raw.data_dir,
        rpc_addr,
        mine: raw.mine,
        miner,
        p2p_addr,
        bootstrap,
        track,
        track_all: raw.track_all,
        offer: raw.offer,
        relay: raw.relay,
        market_key,
        log,
        log_level,
    })
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

/// Flags over file over defaults. `config_path` is the file read, if one was.
fn merge(
    args: NodeArgs,
    log_level: Option<String>,
    file: Option<FileSettings>,
    config_path: Option<PathBuf>,
) -> Result<NodeConfig, ConfigError> {
    let file = file.unwrap_or_default();
    let from_file = |path: PathBuf| match &config_path {
        Some(config) => relative_to(config, path),
        None => path,
    };
    let data_dir = match (args.data_dir, file.data_dir, &config_path) {
        (Some(dir), _, _) => dir,
        (None, Some(dir), _) => from_file(dir),
        // Found by --config without data_dir: the file's own directory.
        (None, None, Some(config)) => config
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        (None, None, None) => default_data_dir()?,
    };
    let log = if args.log_stderr {
        LogTarget::Stderr
    } else if let Some(path) = args.log_file {
        LogTarget::File(path)
    } else {
        match file.log {
            Some(LogTarget::File(path)) => LogTarget::File(from_file(path)),
            Some(LogTarget::Stderr) => LogTarget::Stderr,
            None => LogTarget::File(data_dir.join(LOG_FILE_NAME)),
        }
    };
    let rpc_addr = match args.rpc_addr.or(file.rpc_addr) {
        Some(addr) => addr,
        None => DEFAULT_RPC_ADDR
            .parse()
            .map_err(|e| ConfigError::Conflict(format!("default RPC address: {e}")))?,
    };
    let p2p_addr = args.p2p_addr.or(file.p2p_addr);
    let bootstrap = if args.bootstrap.is_empty() {
        file.bootstrap.unwrap_or_default()
    } else {
        args.bootstrap
    };
    if !bootstrap.is_empty() && p2p_addr.is_none() {
        return Err(ConfigError::Conflict(
            "bootstrap peers need a p2p address to listen on (--p2p-addr or p2p_addr)".to_owned(),
        ));
    }
    let track = if args.track.is_empty() {
        file.track.unwrap_or_default()
    } else {
        args.track
    };
    let track_all = args.track_all || file.track_all.unwrap_or(false);
    if track_all && !track.is_empty() {
        return Err(ConfigError::Conflict(
            "track_all and track both set; keep one".to_owned(),
        ));
    }
    let market = MarketSettings {
        offer: args.offer || file.offer.unwrap_or(false),
        relay: args.relay || file.relay.unwrap_or(false),
        key: args.market_key.or(file.market_key),
        fault: args.market_fault,
    };
    if (market.offer || market.relay) && market.key.is_none() {
        return Err(ConfigError::Conflict(
            "offer and relay need the key they sign with (--market-key or market_key)".to_owned(),
        ));
    }
    Ok(NodeConfig {
        dev: args.dev || file.dev.unwrap_or(false),
        network: args.network.or(file.network),
        data_dir,
        rpc_addr,
        mine: args.mine || file.mine.unwrap_or(false),
        miner: args.miner.or(file.miner),
        p2p_addr,
        bootstrap,
        track,
        track_all,
        market,
        log,
        log_level: log_level.or(file.log_level),
        config_file: config_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::{CommandFactory, Parser};

    /// `bitverse node ARGS…` parsed.
    fn node_args(args: &[&str]) -> NodeArgs {
        let all = [&["bitverse", "node"][..], args].concat();
        match Cli::parse_from(all).command {
            Command::Node(args) => args,
            other => panic!("not a node command: {other:?}"),
        }
    }

    fn parse(text: &str) -> Result<FileSettings, ConfigError> {
        parse_file(Path::new("/cfg/bitverse.toml"), text)
    }

    fn invalid_line(result: Result<FileSettings, ConfigError>) -> (usize, String) {
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
            // --market-fault is a test-only flag, never a setting.
            .filter(|long| {
                !["config", "help", "version", "market_fault", "market-fault"].contains(long)
            })
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
        assert!(defaults.dev.is_none() && defaults.rpc_addr.is_none() && defaults.log.is_none());
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
        assert!(message.contains("rpc_adr"), "{message}");
    }

    #[test]
    fn bad_values_are_refused_naming_their_line() {
        let (line, message) = invalid_line(parse("\nrpc_addr = \"localhost\"\n"));
        assert_eq!(line, 2);
        assert!(message.contains("rpc_addr"), "{message}");
        let (line, _) = invalid_line(parse("mine = false\ndev = \"yes\"\n"));
        assert_eq!(line, 2);
        let (line, message) = invalid_line(parse("\n\n\nnetwork = \"mainnet\"\n"));
        assert_eq!(line, 4);
        assert!(message.contains("unknown network"), "{message}");
        let (line, _) = invalid_line(parse(
            "bootstrap = [\n  \"/ip4/1.2.3.4/tcp/1\",\n  \"nope\",\n]\n",
        ));
        assert_eq!(line, 3);
        let (line, _) = invalid_line(parse("miner = \"bv1nothing\"\n"));
        assert_eq!(line, 1);
        let (line, _) = invalid_line(parse("log_file = \"a.log\"\nlog_stderr = true\n"));
        assert_eq!(line, 2);
        let (line, _) = invalid_line(parse("dev = true\ndev = false\n"));
        assert_eq!(line, 2);
    }

    #[test]
    fn flags_override_the_file_and_file_overrides_defaults() {
        let file = parse(
            "dev = true\nrpc_addr = \"127.0.0.1:9000\"\nlog_file = \"logs/n.log\"\n\
             miner = \"dev:carol\"\ndata_dir = \"data\"\n",
        )
        .unwrap();
        let config_path = Some(PathBuf::from("/cfg/bitverse.toml"));
        let merged = merge(
            node_args(&["--rpc-addr", "127.0.0.1:9001"]),
            None,
            Some(file),
            config_path.clone(),
        )
        .unwrap();
        assert!(merged.dev);
        assert_eq!(merged.rpc_addr.to_string(), "127.0.0.1:9001");
        assert_eq!(merged.miner.as_deref(), Some("dev:carol"));
        assert_eq!(merged.data_dir, PathBuf::from("/cfg/data"));
        assert_eq!(merged.log, LogTarget::File("/cfg/logs/n.log".into()));

        let file = parse("log_file = \"n.log\"\ndata_dir = \"/d\"\n").unwrap();
        let merged = merge(
            node_args(&["--log-stderr", "--data-dir", "/x"]),
            Some("debug".into()),
            Some(file),
            config_path,
        )
        .unwrap();
        assert_eq!(merged.log, LogTarget::Stderr);
        assert_eq!(merged.data_dir, PathBuf::from("/x"));
        assert_eq!(merged.log_level.as_deref(), Some("debug"));
    }

    #[test]
    fn without_a_file_the_log_goes_to_the_data_directory() {
        let merged = merge(node_args(&["--data-dir", "/d", "--dev"]), None, None, None).unwrap();
        assert_eq!(merged.log, LogTarget::File("/d/node.log".into()));
        assert_eq!(merged.rpc_addr.to_string(), DEFAULT_RPC_ADDR);
        assert!(merged.config_file.is_none());
    }

    #[test]
    fn bootstrap_without_p2p_address_is_refused() {
        let result = merge(
            node_args(&["--data-dir", "/d", "--bootstrap", "/ip4/127.0.0.1/tcp/1"]),
            None,
            None,
            None,
        );
        assert!(
            matches!(result, Err(ConfigError::Conflict(_))),
            "{result:?}"
        );
    }
}
