//! The command line of the `bitverse` program (clap derive): the node's own commands (`node`,
//! `init`), the tools' (`devnet`, `demo`, `bench`) and, flattened among them, the client's
//! (`bitverse_client::args`). Parsing only; the commands live in `node.rs`, `config.rs`,
//! `bitverse-client` and `bitverse-devnet`.

use std::path::PathBuf;

use bitverse_client::args::{ClientCommand, RpcArgs};
use clap::{Args, Parser, Subcommand};

use crate::config::{InitArgs, NodeArgs};

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
    /// Print the OpenRPC document of the node's JSON-RPC API.
    ///
    /// Print the OpenRPC document that `rpc.discover` answers, generated from the RPC trait and
    /// its types: `bitverse rpc-doc > docs/openrpc.json` regenerates the checked-in copy.
    RpcDoc,
    /// Run a local network: N node processes on loopback, mining the `local` network.
    ///
    /// Node i keeps its database and log in DIR/node-i (a devnet restarted on the same DIR
    /// resumes its chain). Every node binds free ports, joins through node-0, and mines paying
    /// the dev account `node-i`; the dev accounts alice, bob, carol and dave are funded at
    /// genesis. Once the network runs, every node stakes 100 BV as offerer and as relayer and
    /// 10 BV as storer from `node-i` (funded by alice, bob, carol and dave in turn), so quotes
    /// list them all at once and every
    /// node keeps the shards of blobs (`--store`, 4 GiB in DIR/node-i/shards); stderr says
    /// when. Each node's RPC URL is printed on stdout as `node-i  rpc URL`. Ctrl-C or
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
    #[command(flatten)]
    Client(ClientCommand),
    /// Measure the node's throughput.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Simulate a network of virtual nodes, deterministically from a seed.
    ///
    /// N virtual nodes in this process, each running the real blocktree on an in-memory store,
    /// mine (real proof of work at a tiny fixed difficulty, as a seeded Poisson process) and
    /// gossip blocks over a mesh of 6 peers with 20-200 ms links, 1 % loss and duplication, on
    /// virtual time; --faults adds partitions and crashes. Invariants are checked as it runs
    /// and at the end (no honest block refused, money conserved on every root block, every
    /// node on the same tips and state roots): exit status 1 names the seed and the first
    /// broken one. docs/SIMULATION.md.
    Sim(crate::sim::SimArgs),
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
    /// Crash safety: SIGKILL a node during writes, CYCLES times, against a replica that never
    /// crashed (Bitcoin Core's `feature_dbcrash` is the model).
    ///
    /// Starts a replica (`--network dev --track-all`: it only follows) and a crash node
    /// (`--dev`: it seals a block as soon as a write waits) that dials it over libp2p on
    /// loopback, on ports the system picks. Buys keyspaces at depths 0, 1 and 3 as dev:alice.
    /// Then, each cycle: streams writes to the crash node (puts on the three chains, transfers
    /// dev:bob → dev:carol on the root), counting a write as acknowledged once the node reports
    /// it in a block; kills the node with SIGKILL at a moment drawn from SEED; restarts it on
    /// the same data directory without a peer (so no lost block can come back by sync) and
    /// checks that every write acknowledged so far, in any cycle, is still in a block and
    /// readable, and that the newest value of each keyspace is proven against its root
    /// header; restarts it on the network and waits until both nodes have the same tip on
    /// every chain, then checks that each chain's state root is the same on both. Prints a
    /// line per cycle (a JSON object per line with --json) and a summary: writes
    /// acknowledged, lost, time per cycle, restart time p50/p99. On the first lost write or
    /// divergence it stops the nodes, keeps their data, and exits 1 naming the cycle and the
    /// seed to replay.
    Crash {
        /// Kill-and-restart cycles, 1 to 100,000.
        #[arg(long, default_value_t = 200,
              value_parser = clap::value_parser!(u32).range(1..=100_000))]
        cycles: u32,
        /// Seed of the kill moments (and of nothing else); a random one, printed, by default.
        #[arg(long)]
        seed: Option<u64>,
        /// Latest kill moment, in ms after a cycle's writes start; each cycle draws one from
        /// 1 ms up to this (at least 10).
        #[arg(long, value_name = "MS", default_value_t = 1_500,
              value_parser = clap::value_parser!(u64).range(10..=600_000))]
        kill_within_ms: u64,
        /// Keep the nodes' data and logs here (a new or empty directory) instead of a
        /// temporary one.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print one JSON object per line: one per cycle, then the summary.
        #[arg(long)]
        json: bool,
        /// Test only: after the kill in cycle N, delete the crash node's database, as a disk
        /// that lost everything would, to show that the loss is caught and reported.
        #[arg(long, value_name = "N", hide = true)]
        wipe_in_cycle: Option<u32>,
    },
    /// Honest latency under a gossip flood, and whether the nodes drop the flooder (issue 18 §6).
    ///
    /// Starts NODES honest node processes on loopback (one `--dev`, sealing at once; the others
    /// `--network dev`, following it), and streams honest transfers (dev:bob → dev:carol) sent
    /// over RPC to one node and waited for in a block on another: BASELINE seconds, then FLOOD
    /// seconds while a flooder in this process (a libp2p swarm built as the node's is) joins
    /// every node's root topics and sends RATE messages a second per connection of the KINDS
    /// asked (orphan blocks, transfers from an unfunded key, invalid messages; each identity
    /// sends one kind), coming back under a fresh identity from the same IP whenever a node
    /// drops it, then AFTER seconds. Prints the honest p50/p99 per phase and the flood's p50 as
    /// a multiple of the baseline's, what the flooder did (messages, identities tried, admitted,
    /// dropped, how long each stayed connected, its thread's CPU) and what the nodes saw (bans
    /// and why, refused identities, gossip verdicts, CPU). Exits 1 when the flood's p50 is over
    /// 2× the baseline's or no node ever dropped the flooder.
    Flood {
        /// Honest nodes, 2 or 3.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(2..=3))]
        nodes: u64,
        /// Seconds of honest writes before the flood.
        #[arg(long, value_name = "SECONDS", default_value_t = 20,
              value_parser = clap::value_parser!(u64).range(1..=3_600))]
        baseline: u64,
        /// Seconds of flood.
        #[arg(long, value_name = "SECONDS", default_value_t = 60,
              value_parser = clap::value_parser!(u64).range(1..=3_600))]
        flood: u64,
        /// Seconds of honest writes after the flood.
        #[arg(long, value_name = "SECONDS", default_value_t = 20,
              value_parser = clap::value_parser!(u64).range(1..=3_600))]
        after: u64,
        /// Messages per second each flooder connection sends.
        #[arg(long, default_value_t = 500,
              value_parser = clap::value_parser!(u64).range(1..=100_000))]
        rate: u64,
        /// The kinds of message, comma-separated: orphan, unfunded, invalid.
        #[arg(long, value_delimiter = ',', default_value = "orphan,unfunded,invalid")]
        kinds: Vec<String>,
        /// Honest writes per second (one at a time: a slow one delays the next).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1_000))]
        writes: u64,
        /// Keep the nodes' data and logs here instead of a temporary directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// A client command's fixed cost: `bitverse --version` and `bitverse status` against a dev
    /// node, beside status's two RPC calls sent by hand on a fresh connection and `/bin/true`,
    /// RUNS of each, interleaved. Prints p50, p90 and min of each, and status's cost over its
    /// round trips against the 2 ms bound. Stops the node at the end.
    Cli {
        /// Measured runs of each, 1 to 100,000 (after 5 unmeasured ones).
        #[arg(long, default_value_t = 200,
              value_parser = clap::value_parser!(u64).range(1..=100_000))]
        runs: u64,
        /// Keep the node's data and log here instead of a temporary directory.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Files put and got back through the whole storage path: a dev node and STORERS storer
    /// nodes on loopback (each `bitverse node --store`, staked from its own dev account); for
    /// each size, BLAKE3 + Reed-Solomon over the file in this process (the bound), then
    /// `bitverse put --file` (hash, register, draw, upload, receipts) and `bitverse get --out`
    /// (k shards fetched and verified, rebuilt, hashed), in MB/s with their ratios to the bound
    /// and to Tahoe-LAFS's 44 MB/s up and 45 MB/s down on this machine. Stops the nodes.
    Blob {
        /// File sizes, comma-separated (`10MiB,100MiB,1GiB`).
        #[arg(long, value_name = "SIZES", default_value = "10MiB,100MiB",
              value_delimiter = ',', value_parser = bitverse_client::args::parse_byte_size)]
        size: Vec<u64>,
        /// Erasure coding: any K of N shards rebuild a file.
        #[arg(long, value_name = "K-of-N", default_value = "3-of-10")]
        shares: bitverse_storage::Shares,
        /// Storer node processes, at least N and at most 32.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=32))]
        storers: u64,
        /// Keep the nodes' data and logs here instead of a temporary directory.
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
    use bitverse_client::args::AmountArg;
    use bitverse_primitives::Amount;
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
        let Command::Client(ClientCommand::Send { amount, write, .. }) = parsed.command else {
            panic!("not send: {parsed:?}");
        };
        assert_eq!(amount, AmountArg(Amount(1_500_000_000)));
        assert_eq!(write.fee, AmountArg(Amount(2)));
        let parsed =
            Cli::try_parse_from(["bitverse", "send", "dev:bob", "1", "--key", "dev:alice"])
                .expect("send parses");
        let Command::Client(ClientCommand::Send { amount, write, .. }) = parsed.command else {
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
