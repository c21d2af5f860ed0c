//! Writing a command's answer where the user asked for it.

use std::io::Write;
use std::path::Path;

use crate::node_client::CliError;

/// Writes a value's raw bytes to `out`, or to stdout.
pub(crate) fn emit_value(value: &[u8], out: Option<&Path>) -> Result<(), CliError> {
    match out {
        Some(path) => std::fs::write(path, value)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display()))),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(value)
                .and_then(|()| stdout.flush())
                .map_err(|e| CliError::Failed(format!("cannot write to stdout: {e}")))
        }
    }
}
