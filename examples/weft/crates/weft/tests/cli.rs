//! End-to-end tests: spawn the `weft` binary and check output and exit codes.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use weft_core::{report, Stats, DEFAULT_K};

const SAMPLE: &str = "The cat sat.\nThe dog sat, too!\r\nthe END";

fn weft(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn weft");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().expect("wait for weft")
}

fn stdout(out: &Output) -> &str {
    std::str::from_utf8(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> &str {
    std::str::from_utf8(&out.stderr).unwrap()
}

fn sample_file(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    fs::write(&path, SAMPLE).unwrap();
    path
}

#[test]
fn version() {
    let out = weft(&["--version"], "");
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        format!("weft {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(stdout(&out), "weft 0.3.0\n");
}

#[test]
fn help() {
    let out = weft(&["--help"], "");
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("Usage: weft"));
}

#[test]
fn count_from_stdin() {
    let out = weft(&["count"], SAMPLE);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "lines: 3\nwords: 9\nbytes: 39\n");
}

#[test]
fn top_from_file_and_dash() {
    let path = sample_file("top.txt");
    let out = weft(&["top", "-k", "3", path.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "3 the\n2 sat\n1 cat\n");
    assert_eq!(weft(&["top", "-k3", "-"], SAMPLE).stdout, out.stdout);
}

#[test]
fn stats_matches_shared_renderer() {
    let out = weft(&["stats"], SAMPLE);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = report::render_stats(&Stats::from_reader(SAMPLE.as_bytes()).unwrap(), DEFAULT_K);
    assert_eq!(stdout(&out), expected);
    assert!(expected.starts_with("lines: 3\nwords: 9\nbytes: 39\n3 the\n"));
}

#[test]
fn empty_stdin() {
    let out = weft(&["stats", "-k", "0"], "");
    assert!(out.status.success());
    assert_eq!(stdout(&out), "lines: 0\nwords: 0\nbytes: 0\n");
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    for args in [
        &[][..],
        &["nope"],
        &["top", "-k"],
        &["top", "-k", "-1"],
        &["count", "-x"],
        &["count", "a", "b"],
    ] {
        let out = weft(args, "");
        assert_eq!(out.status.code(), Some(2), "args {args:?}");
        assert!(out.stdout.is_empty());
        assert!(stderr(&out).contains("Usage: weft"), "args {args:?}");
    }
}

#[test]
fn missing_file_exit_1_names_path() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("does-not-exist.txt");
    let out = weft(&["count", path.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("does-not-exist.txt"),
        "{}",
        stderr(&out)
    );
}
