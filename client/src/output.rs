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

/// Which side of its column a cell keeps to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Align {
    /// Text: names, chains, hashes.
    Left,
    /// Numbers and amounts.
    Right,
}

/// A plain-text table as the read commands print it: a header line, then a line a row, each
/// column as wide as its widest cell and two spaces from the next, no borders, no trailing
/// spaces, every line after `indent`. `columns` names each column and its alignment; a row
/// has a cell a column.
pub(crate) fn table(
    indent: &str,
    columns: &[(&str, Align)],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> String {
    use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(columns.iter().map(|(name, _)| *name));
    for row in rows {
        table.add_row(row);
    }
    let last = columns.len().saturating_sub(1);
    for (index, column) in table.column_iter_mut().enumerate() {
        let alignment = match columns.get(index).map(|(_, align)| *align) {
            Some(Align::Right) => CellAlignment::Right,
            _ => CellAlignment::Left,
        };
        column.set_cell_alignment(alignment);
        column.set_padding((0, if index == last { 0 } else { 1 }));
    }
    table
        .lines()
        .map(|line| line.trim_end().to_owned())
        .filter(|line| !line.is_empty())
        .map(|line| format!("{indent}{line}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_sizes_each_column_to_its_widest_cell() {
        let text = table(
            "  ",
            &[("chain", Align::Left), ("height", Align::Right)],
            [
                vec!["root".to_owned(), "7".to_owned()],
                vec!["a-much-longer-chain-name".to_owned(), "12345".to_owned()],
            ],
        );
        assert_eq!(
            text,
            "  chain                    height\n\
             \x20 root                          7\n\
             \x20 a-much-longer-chain-name  12345\n"
        );
    }
}
