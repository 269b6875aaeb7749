//! Text rendering shared by the `weft` and `weft-wasm` binaries, so both
//! print byte-for-byte identical output.

use crate::Stats;
use std::fmt::Write;

/// `lines: N`, `words: N` and `bytes: N`, one per line.
pub fn render_count(stats: &Stats) -> String {
    format!(
        "lines: {}\nwords: {}\nbytes: {}\n",
        stats.lines, stats.words, stats.bytes
    )
}

/// One `count word` line per entry of [`Stats::top`].
pub fn render_top(stats: &Stats, k: usize) -> String {
    let mut out = String::new();
    for (word, count) in stats.top(k) {
        // Writing into a String cannot fail.
        let _ = writeln!(out, "{count} {word}");
    }
    out
}

/// The `weft stats` report: [`render_count`] followed by [`render_top`].
pub fn render_stats(stats: &Stats, k: usize) -> String {
    let mut out = render_count(stats);
    out.push_str(&render_top(stats, k));
    out
}

/// Writes a rendered report to stdout for the program `prog` and turns the
/// outcome into its exit code. A closed pipe (`weft top big.txt | head -1`)
/// is not an error; any other write error is reported on stderr.
pub fn emit(prog: &str, output: &str) -> std::process::ExitCode {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{prog}: writing output: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_report() {
        let s = Stats::from_reader("a b a\n".as_bytes()).unwrap();
        assert_eq!(
            render_stats(&s, 10),
            "lines: 1\nwords: 3\nbytes: 6\n2 a\n1 b\n"
        );
        assert_eq!(render_stats(&s, 0), render_count(&s));
    }
}
