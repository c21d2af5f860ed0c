//! `bitverse-full`: the whole Bitverse program (node, tools and client). Everything it does is
//! in the node library (`bitverse-node`); the commands that run `bitverse` processes (devnet,
//! demo, benches) are in `bitverse-devnet`, handed to the library here, since that crate
//! depends on the library. Users run `bitverse`, which hands this binary every command that is
//! not a client's.

use std::process::ExitCode;

fn main() -> ExitCode {
    bitverse_node::main(&bitverse_devnet::Launcher)
}
