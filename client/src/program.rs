//! The client's half of the `bitverse` program: the small `bitverse` binary runs a client
//! command itself and hands every other command (the node, the tools, `--help`) to the whole
//! program, `bitverse-full`, installed beside it (issue 17 §9: a client command loads nothing
//! it does not use, above all not RocksDB's C++, whose static constructors, libstdc++ symbol
//! bindings and page faults were most of a command's fixed cost).
//!
//! The split is invisible: the whole program parses the same commands with the same clap
//! definitions, so help, usage errors and output are one text whichever binary prints them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::args::ClientCommand;

/// The whole program's file name, beside the `bitverse` binary.
pub const FULL_PROGRAM: &str = "bitverse-full";

/// The part of the command line a client command needs: the global flag and the command.
#[derive(Debug, Parser)]
#[command(name = "bitverse", version)]
struct ClientCli {
    /// See `bitverse --help`.
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: ClientCommand,
}

/// What the `bitverse` binary does with its command line.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// `--version` / `-V` before any command: the version line, as clap prints it.
    Version,
    /// A client command, parsed and run here.
    Client,
    /// Everything else, carried out by the whole program.
    Full,
}

/// Where a command line goes, by its first word after the program name and the global
/// `--log-level` (with its value): a client command without help runs here, `--version`
/// before any command is answered here, anything else is the whole program's.
fn route(args: &[OsString]) -> Route {
    let mut words = args.iter().skip(1).map(|a| a.to_str());
    while let Some(word) = words.next() {
        match word {
            Some("--log-level") => {
                words.next();
            }
            Some(w) if w.starts_with("--log-level=") => {}
            Some("--version" | "-V") => return Route::Version,
            Some(name) if !name.starts_with('-') && ClientCommand::has_subcommand(name) => {
                // Help, at any depth, is the whole program's: one text for every command.
                let asks_help = args
                    .iter()
                    .any(|a| matches!(a.to_str(), Some("--help" | "-h" | "help")));
                return if asks_help {
                    Route::Full
                } else {
                    Route::Client
                };
            }
            _ => return Route::Full,
        }
    }
    Route::Full
}

/// The `bitverse` binary: a client command runs here; anything else, and any command line
/// this parser would refuse, goes to the whole program, which answers it (or refuses it) in
/// the same words.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    match route(&args) {
        Route::Version => {
            end_quietly_on_a_closed_pipe();
            println!("bitverse {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Route::Client => match ClientCli::try_parse_from(&args) {
            Ok(cli) => run_command(cli.command, cli.log_level.as_deref()),
            Err(_) => run_full(args),
        },
        Route::Full => run_full(args),
    }
}

/// Replaces this process with the whole program, same arguments and environment.
fn run_full(args: Vec<OsString>) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let full = match full_program() {
        Ok(path) => path,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut command = std::process::Command::new(&full);
    if let Some(arg0) = args.first() {
        command.arg0(arg0);
    }
    // `exec` returns only on failure.
    let e = command.args(args.iter().skip(1)).exec();
    eprintln!("error: cannot run {}: {e}", full.display());
    ExitCode::FAILURE
}

/// The whole program beside this binary (links followed, so a `bitverse` linked into PATH
/// finds it in the build or install directory).
fn full_program() -> Result<PathBuf, String> {
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| format!("cannot find the bitverse executable: {e}"))?;
    let full = exe.with_file_name(FULL_PROGRAM);
    if full.is_file() {
        Ok(full)
    } else {
        Err(format!(
            "{} is missing: `bitverse` runs the node and the tools through it, and it belongs in \
             the same directory (`cargo install --path bitverse` and `cargo build` put both there)",
            full.display()
        ))
    }
}

/// Runs one client command as a process does: a closed pipe ends it quietly, warnings go to
/// stderr, one runtime thread, and its outcome becomes the exit code.
pub fn run_command(command: ClientCommand, log_level: Option<&str>) -> ExitCode {
    end_quietly_on_a_closed_pipe();
    init_logging(log_level);
    // One thread: a command waits on one RPC call at a time (or a few it joins), so worker
    // threads would only add their start and shutdown to every command's fixed cost;
    // `spawn_blocking` still has its pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::run(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// A command whose output is cut short (`bitverse status | head -3`) ends there quietly, as
/// git and cargo do, rather than panicking on the failed write: writing to a closed pipe kills
/// the process by SIGPIPE, whose default the Rust runtime replaced. Not for the node and the
/// tools that supervise node processes (`devnet`, `demo`, `bench`), which must outlive a
/// reader going away and stop their children on the way out.
// The one `unsafe` of the workspace (whose lint denies it): setting a signal's disposition
// is unsafe in general because a handler runs in signal context; SIG_DFL is no handler.
#[allow(unsafe_code)]
pub fn end_quietly_on_a_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_DFL installs no handler of ours, so nothing runs in signal context; this
    // runs on the main thread before any other thread exists.
    if let Err(e) = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) } {
        eprintln!("warning: cannot restore SIGPIPE's default: {e}");
    }
}

/// Client commands log to stderr, so stdout carries only a command's answer (e.g. a value's
/// raw bytes); only warnings by default.
pub fn init_logging(log_level: Option<&str>) {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(log_level, "warn"))
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

/// `--log-level` (or the file's `log_level`), else RUST_LOG, else `default_level`.
pub fn log_filter(log_level: Option<&str>, default_level: &str) -> EnvFilter {
    match log_level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(line: &str) -> Route {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        route(&args)
    }

    #[test]
    fn client_commands_run_here_and_the_rest_goes_to_the_whole_program() {
        assert_eq!(routed("bitverse status"), Route::Client);
        assert_eq!(routed("bitverse --log-level debug get a/b"), Route::Client);
        assert_eq!(
            routed("bitverse --log-level=debug status --json"),
            Route::Client
        );
        assert_eq!(routed("bitverse keyspace show hello"), Route::Client);
        assert_eq!(routed("bitverse --version"), Route::Version);
        assert_eq!(routed("bitverse -V"), Route::Version);
        for line in [
            "bitverse",
            "bitverse node --dev",
            "bitverse devnet --dir d",
            "bitverse bench puts",
            "bitverse init --data-dir d",
            "bitverse rpc-doc",
            "bitverse --help",
            "bitverse status --help",
            "bitverse keyspace help buy",
            "bitverse -h",
            "bitverse no-such-command",
            "bitverse --no-such-flag status",
        ] {
            assert_eq!(routed(line), Route::Full, "{line}");
        }
    }

    #[test]
    fn the_client_parser_is_the_whole_programs_for_client_commands() {
        // The same clap definitions: a client command line the whole program takes parses
        // here to the same command.
        let cli =
            ClientCli::try_parse_from(["bitverse", "--log-level", "debug", "status", "--json"])
                .unwrap();
        assert_eq!(cli.log_level.as_deref(), Some("debug"));
        assert!(matches!(cli.command, ClientCommand::Status { .. }));
    }
}
