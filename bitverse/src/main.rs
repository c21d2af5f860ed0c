//! `bitverse`: the program users run. A client command (status, get, put, …) runs here, in a
//! binary that links only the client; the node, the tools and help are the whole program's,
//! `bitverse-full`, which this binary becomes (exec) for them. See `bitverse_client::program`.

use std::process::ExitCode;

fn main() -> ExitCode {
    bitverse_client::program::main()
}
