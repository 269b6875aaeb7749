"""Reading cargo test's and nextest's output: results, hangs, crashes, and the JUnit written."""

from __future__ import annotations

from pathlib import Path

from nox_cargo import test_output

CARGO_TEST = """\
   Compiling demo v0.1.0 (/w/demo)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.52s
     Running unittests src/lib.rs (target/debug/deps/demo-0123abcd)

running 3 tests
test tests::adds ... ok
test tests::skipped ... ignored, needs a network
test tests::breaks ... FAILED

failures:

---- tests::breaks stdout ----
thread 'tests::breaks' panicked at src/lib.rs:9:9:
assertion failed: false

failures:
    tests::breaks

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out
   Doc-tests demo

running 1 test
test src/lib.rs - add (line 3) ... ok
"""


def feed(text: str) -> test_output.LibtestLog:
    log = test_output.LibtestLog()
    for line in text.splitlines():
        log.feed(line)
    return log


def test_libtest_results_per_binary_and_doctests() -> None:
    log = feed(CARGO_TEST)
    assert [s.name for s in log.suites] == ["src/lib.rs", "doctests of demo"]
    assert log.suites[0].binary == "target/debug/deps/demo-0123abcd"
    assert log.suites[0].results == {
        "tests::adds": "ok",
        "tests::skipped": "ignored",
        "tests::breaks": "FAILED",
    }
    assert log.suites[0].output["tests::breaks"][1] == "assertion failed: false"
    assert log.suites[1].results == {"src/lib.rs - add (line 3)": "ok"}


def test_junit_counts_and_a_stopped_test(tmp_path: Path) -> None:
    log = feed(CARGO_TEST)
    path = tmp_path / "junit.xml"
    path.write_text(test_output.junit_xml(log.suites, {"src/lib.rs": ["tests::hangs"]}))
    assert test_output.read_junit_counts(path) == {"tests": 5, "failures": 2, "skipped": 1}
    text = path.read_text()
    assert 'name="tests::hangs"' in text
    assert "stopped by the test timeout" in text
    assert "assertion failed: false" in text


def test_the_unfinished_test_of_the_running_binary() -> None:
    log = feed(
        CARGO_TEST.split("   Doc-tests", maxsplit=1)[0].replace(
            "test tests::breaks ... FAILED\n", ""
        )
    )
    listed = test_output.parse_list(
        "tests::adds: test\ntests::breaks: test\ntests::skipped: test\n"
    )
    assert log.unfinished(listed) == ["tests::breaks"]
    slow = feed(CARGO_TEST + "test tests::sleeps has been running for over 60 seconds\n")
    assert slow.slow == ["tests::sleeps"]


def test_a_test_binary_start_arms_the_timeout() -> None:
    assert test_output.is_test_start("     Running tests/cli.rs (target/debug/deps/cli-0a)")
    assert test_output.is_test_start("   Doc-tests demo")
    assert not test_output.is_test_start("   Compiling demo v0.1.0 (/w/demo)")


def test_nextest_timeouts_and_crashes() -> None:
    log = test_output.NextestLog()
    for line in (
        "        PASS [   0.004s] demo tests::adds",
        "        SLOW [>  1.000s] demo tests::hangs",
        "     TIMEOUT [   2.003s] demo tests::hangs",
        "     SIGABRT [   0.010s] demo tests::aborts",
    ):
        log.feed(line)
    assert log.timed_out == ["demo tests::hangs"]
    assert log.crashed == [("SIGABRT", "demo tests::aborts")]
