//! Runs the native build of `weft-wasm` and checks it prints the shared
//! `weft stats` report.

use std::io::Write;
use std::process::{Command, Stdio};

use weft_core::{report, Stats, DEFAULT_K};

fn run(input: &[u8]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft-wasm"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn weft-wasm");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn prints_stats_report() {
    assert_eq!(run(b"a b a\n"), "lines: 1\nwords: 3\nbytes: 6\n2 a\n1 b\n");
}

#[test]
fn matches_shared_renderer() {
    let input =
        b"Lorem ipsum, dolor sit amet.\r\nipsum IPSUM dolor\n\xff \xE2\x80\x94 fin".repeat(50);
    let expected = report::render_stats(&Stats::from_reader(&input[..]).unwrap(), DEFAULT_K);
    assert_eq!(run(&input), expected);
}
