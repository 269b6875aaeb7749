//! `weft-wasm`: reads standard input and prints the same report as
//! `weft stats` (with the default k). Built for wasm32-wasip1, where there is
//! no file-system access to rely on; it also runs natively.

use std::io;
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
    report::emit("weft-wasm", &report::render_stats(&stats, DEFAULT_K))
}
