"""Reading a test run's output line by line: which tests finished how, which one is still running,
and the JUnit XML written from that when the runner writes none itself (`cargo test` on stable).

libtest's pretty output (what `cargo test` prints on stable) names a test when it finishes:
`test tests::parse ... ok`, under the `Running <source> (<binary>)` or `Doc-tests <crate>` line of
its test binary. It has no start line, so a test that hangs is named either by libtest's own
`test x has been running for over 60 seconds`, or by the difference between the binary's test
list and the tests that finished. Durations are not printed on stable: the JUnit file converted
from this output has no per-test times (nextest's own JUnit has them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

_RUNNING = re.compile(r"^\s*Running (?:unittests )?(?P<source>\S+) \((?P<binary>[^)]+)\)\s*$")
_DOCTESTS = re.compile(r"^\s*Doc-tests (?P<crate>\S+)\s*$")
_RESULT = re.compile(r"^test (?P<name>.+?) \.\.\. (?P<outcome>ok|FAILED|ignored)(?:, .*)?$")
_SLOW = re.compile(r"^test (?P<name>.+) has been running for over \d+ seconds$")
_FAILURE_HEADER = re.compile(r"^---- (?P<name>.+) stdout ----$")
# nextest: `        PASS [   0.004s] weft-core tests::parse`, `     TIMEOUT [  2.0s] ...`.
_NEXTEST = re.compile(
    r"^\s*(?P<status>PASS|FAIL|TIMEOUT|SIGABRT|SIGSEGV|SIGBUS|SIGILL|SIGKILL|SIGTERM|ABORT|LEAK)"
    r"\s+\[\s*[>\d.s ]+\]\s+(?:\(\s*\d+/\d+\)\s+)?(?P<test>\S+ \S+.*?)\s*$"
)
# A crash of the test process itself: what runs fine under `cargo test` may not under nextest's
# one-process-per-test model (and the other way round).
_CRASH = ("SIGABRT", "SIGSEGV", "SIGBUS", "SIGILL", "ABORT")


@dataclass
class Suite:
    """One test binary (or one crate's doctests) and its finished tests."""

    name: str
    binary: str = ""  # the test binary, relative to the workspace root; "" for doctests
    results: dict[str, str] = field(default_factory=dict)  # test -> ok | FAILED | ignored
    output: dict[str, list[str]] = field(default_factory=dict)  # a failed test's captured output


@dataclass
class LibtestLog:
    """Fed `cargo test`'s output one line at a time."""

    suites: list[Suite] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)  # libtest's "has been running for over"
    _capturing: str = ""

    def feed(self, line: str) -> None:
        if match := _RUNNING.match(line):
            self.suites.append(Suite(match["source"], match["binary"]))
            return
        if match := _DOCTESTS.match(line):
            self.suites.append(Suite(f"doctests of {match['crate']}"))
            return
        if not self.suites:
            return
        suite = self.suites[-1]
        if match := _RESULT.match(line):
            suite.results[match["name"]] = match["outcome"]
        elif match := _SLOW.match(line):
            self.slow.append(match["name"])
        elif match := _FAILURE_HEADER.match(line):
            self._capturing = match["name"]
            suite.output[self._capturing] = []
        elif self._capturing and (line == "failures:" or line.startswith("test result:")):
            self._capturing = ""
        elif self._capturing:
            suite.output[self._capturing].append(line)

    @property
    def started(self) -> bool:
        """A test binary has started: compiling is over."""
        return bool(self.suites)

    def unfinished(self, listed: list[str]) -> list[str]:
        """Of the running binary's `listed` tests, those that have not finished."""
        done = self.suites[-1].results if self.suites else {}
        return [name for name in listed if name not in done]


def is_test_start(line: str) -> bool:
    """The line that starts a test binary (a `cargo test` run's timeout counts from there on)."""
    return bool(_RUNNING.match(line) or _DOCTESTS.match(line))


@dataclass
class NextestLog:
    """Fed nextest's output: the tests that timed out or crashed."""

    timed_out: list[str] = field(default_factory=list)
    crashed: list[tuple[str, str]] = field(default_factory=list)  # (status, test)

    def feed(self, line: str) -> None:
        match = _NEXTEST.match(line)
        if not match:
            return
        if match["status"] == "TIMEOUT" and match["test"] not in self.timed_out:
            self.timed_out.append(match["test"])
        elif match["status"] in _CRASH and (match["status"], match["test"]) not in self.crashed:
            self.crashed.append((match["status"], match["test"]))


def parse_list(text: str) -> list[str]:
    """Test names from `<test binary> --list --format terse` (`name: test` lines)."""
    return [line[: -len(": test")] for line in text.splitlines() if line.endswith(": test")]


def junit_xml(suites: list[Suite], hung: dict[str, list[str]] | None = None) -> str:
    """A JUnit XML document of `suites`; `hung` adds, per suite name, tests stopped by a timeout."""
    hung = hung or {}
    root = ET.Element("testsuites", name="cargo test")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for suite in suites:
        element = ET.SubElement(root, "testsuite", name=suite.name)
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for name, outcome in suite.results.items():
            case = ET.SubElement(element, "testcase", name=name, classname=suite.name)
            counts["tests"] += 1
            if outcome == "FAILED":
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message="test failed")
                failure.text = "\n".join(suite.output.get(name, []))
            elif outcome == "ignored":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped")
        for name in hung.get(suite.name, []):
            case = ET.SubElement(element, "testcase", name=name, classname=suite.name)
            counts["tests"] += 1
            counts["failures"] += 1
            ET.SubElement(case, "failure", message="stopped by the test timeout")
        for key, value in counts.items():
            element.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def read_junit_counts(path: Path) -> dict[str, int]:
    """tests / failures / skipped of a JUnit file's root (for a test's or a summary's use)."""
    root = ET.parse(path).getroot()
    return {key: int(root.get(key, "0")) for key in ("tests", "failures", "skipped")}
