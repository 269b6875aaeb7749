//! `weft-wasm`: reads standard input and prints the same report as
//! `weft stats` (with the default k). Built for wasm32-wasip1, where there is
//! no file-system access to rely on; it also runs natively.

use std::io::{self, Write};
use std::process::ExitCode;

use weft_core::{report, Stats, DEFAULT_K};

fn main() -> ExitCode {
    let stats = match Stats::from_reader(io::stdin().lock()) {
        Ok(stats) => stats,
        Err(e) => {
            eprintln!("weft-wasm: <stdin>: {e}");
            return ExitCode::FAILURE;
        }
    };
    let output = report::render_stats(&stats, DEFAULT_K);
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weft-wasm: writing output: {e}");
            ExitCode::FAILURE
        }
    }
}
