"""The test stage on a suite with a test that never ends: stopped at the timeout, the test named,
on both runners; a JUnit file either way; nextest's filter arguments passed through."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import require
from tests.integration.conftest import NOXFILE, run_nox

pytestmark = pytest.mark.integration

LIB = """\
/// Adds one.
///
/// ```
/// assert_eq!(hangs::add_one(1), 2);
/// ```
pub fn add_one(x: u32) -> u32 {
    x + 1
}

#[cfg(test)]
mod tests {
    #[test]
    fn top_quick() {
        assert_eq!(super::add_one(1), 2);
    }

    #[test]
    fn waits_forever() {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}
"""


def hanging_project(root: Path, runner: str) -> Path:
    crate = root / "hangs"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "hangs"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    (crate / "src" / "lib.rs").write_text(LIB)
    (root / "noxfile.py").write_text(NOXFILE)
    (root / "pyproject.toml").write_text(
        '[tool.nox-cargo]\nworkspace = "hangs"\n'
        f'[tool.nox-cargo.test]\nrunner = "{runner}"\nslow-timeout = 1\nterminate-after = 3\n'
    )
    return root


@pytest.mark.parametrize("runner", ["nextest", "cargo"])
def test_a_hanging_test_is_stopped_at_the_timeout_and_named(tmp_path: Path, runner: str) -> None:
    if runner == "nextest":
        require(shutil.which("cargo-nextest") is not None, "cargo-nextest is not installed")
    project = hanging_project(tmp_path / "p", runner)
    result = run_nox(project, "-s", "test(toolchain=stable)", timeout=600)
    assert result.returncode != 0, result.stdout
    assert "waits_forever" in result.stdout
    assert "test timeout (3s)" in result.stdout or "for 3s (the test timeout)" in result.stdout
    assert "test.terminate-after" in result.stdout  # the key that gives it more time
    assert "testing with the default toolchain (rustc " in result.stdout
    junit = project / "hangs" / "target" / "nox-cargo" / "junit-stable.xml"
    assert junit.is_file(), result.stdout
    cases = {c.get("name", ""): c for c in ET.parse(junit).getroot().iter("testcase")}
    hung = next(c for name, c in cases.items() if "waits_forever" in name)
    assert hung.find("failure") is not None
    quick = next(c for name, c in cases.items() if "top_quick" in name)
    assert quick.find("failure") is None


def test_filters_pass_through_and_doctests_run_after_nextest(tmp_path: Path) -> None:
    require(shutil.which("cargo-nextest") is not None, "cargo-nextest is not installed")
    project = hanging_project(tmp_path / "p", "nextest")
    # The README's example: nextest's filterset after `--`.
    result = run_nox(project, "-s", "test(toolchain=stable)", "--", "-E", "test(top)")
    assert result.returncode == 0, result.stdout
    assert "PASS" in result.stdout and "top_quick" in result.stdout
    assert "waits_forever" not in result.stdout.split("nextest run")[-1].split("Doc-tests")[0]
    # run by the project's compiler: `cargo +<toolchain> test --workspace --doc`
    assert re.search(r"cargo (\+\S+ )?test --workspace --doc", result.stdout), result.stdout
    assert "src/lib.rs - add_one (line 3) ... ok" in result.stdout
    doc_junit = project / "hangs" / "target" / "nox-cargo" / "junit-stable-doctests.xml"
    assert 'name="src/lib.rs - add_one (line 3)"' in doc_junit.read_text()
