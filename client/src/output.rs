//! Writing a command's answer where the user asked for it, and progress lines on stderr.

use std::io::Write;
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::node_client::CliError;

/// A progress line on stderr drawn from `template` (indicatif's syntax: `{pos}`, `{len}`,
/// `{per_sec}`, `{eta}`, `{msg}`), over `len` steps when known. Drawn only on a terminal: piped
/// or redirected, it draws nothing, so scripts read only the command's answer.
pub(crate) fn progress_line(len: Option<u64>, template: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    // The templates are constants of this crate; a broken one falls back to a plain bar.
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

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
