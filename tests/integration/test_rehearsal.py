"""`nox -s workflows -- --rehearse`: the shipped workflows' Linux jobs run here as a runner would,
on a committed copy of this repository (nox-cargo's sources, its workflows, examples/weft).

The release chain is rehearsed whole (package → gather: checksums, verify → image → publish,
which stays dry); CI's jobs by selection, to keep the run short on a shared machine (the full
set is a script run reported in docs/github-actions.md). Broken jobs go red with their step.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, WEFT, require_tool
from tests.integration.conftest import run_nox

pytestmark = pytest.mark.integration

# The release of this copy: one target this machine builds for real, one image platform.
ONE_TARGET = """
[tool.nox-cargo.build]
default-targets = false

[[tool.nox-cargo.targets]]
id = "x86_64-gnu"
triple = "x86_64-unknown-linux-gnu"
runner = "ubuntu-latest"
static = true
"""


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def _commit(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)


def _narrow(pyproject: Path) -> None:
    text = pyproject.read_text()
    start = text.index("[[tool.nox-cargo.targets]]")
    end = text.index("[tool.nox-cargo.wasm]")
    text = text[:start] + ONE_TARGET.lstrip() + "\n" + text[end:]
    # One image, of the one target (the repository's own config takes the default platforms).
    text = re.sub(r"(?m)^platforms = .*\n", "", text).replace(
        "[tool.nox-cargo.docker]\n",
        '[tool.nox-cargo.docker]\nplatforms = { "linux/amd64" = "x86_64-gnu" }\n',
    )
    assert 'platforms = { "linux/amd64" = "x86_64-gnu" }' in text
    pyproject.write_text(text)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding what a runner checks out: sources, workflows, example."""
    require_tool("git", "cargo", "docker")
    root = tmp_path_factory.mktemp("rehearsal") / "repo"
    root.mkdir()
    for name in ("pyproject.toml", "poetry.lock", "noxfile.py", "Dockerfile", "README.md"):
        shutil.copy2(REPO / name, root / name)
    shutil.copy2(REPO / ".gitignore", root / ".gitignore")
    ignore = shutil.ignore_patterns("__pycache__", "target", "*.pyc")
    shutil.copytree(REPO / "src", root / "src", ignore=ignore)
    shutil.copytree(REPO / ".github", root / ".github")
    shutil.copytree(WEFT, root / "examples" / "weft", ignore=ignore)
    _narrow(root / "pyproject.toml")
    written = run_nox(root, "-s", "workflows", "--", "--write")
    assert written.returncode == 0, written.stdout[-3000:]
    _git(root, "init", "-q", "-b", "main")
    _commit(root, "the repository as a runner checks it out")
    return root


def rows(output: str) -> dict[str, str]:
    """`job → result` from the rehearsal table (rich wraps long cells: join the lines)."""
    table = output[output.rindex("┃ job") :]
    cells: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in table.splitlines()[2:]:
        if not line.startswith("│"):
            continue
        parts = [p.strip() for p in line.strip("│").split("│")]
        if parts[1]:
            current = [parts[0], parts[1]]
            cells[str(len(cells))] = current
        elif current is not None:
            current[0] += ("" if current[0].endswith(("-", "/")) else " ") + parts[0]
    return {job: result for job, result in cells.values()}


def test_the_release_chain_is_green_and_publishes_nothing(repo: Path) -> None:
    result = run_nox(repo, "-s", "workflows", "--", "--rehearse", "release.yml")
    out = result.stdout
    assert result.returncode == 0, out[-6000:]
    table = rows(out)
    assert table["release.yml: package(target=x86_64-gnu)"] == "green"
    assert table["release.yml: gather, checksums, verify"] == "green"
    assert table["release.yml: image index (checked; pushed to GHCR on a tag)"] == "green"
    assert table["release.yml: GitHub release"] == "skipped"  # a tag only: publishing is dry
    assert "gh release create" not in out and "docker login" not in out
    assert "skopeo copy" not in out  # the index was checked, not pushed
    # Artifacts went from the package job to gather, and from gather to the image job.
    assert "upload artifact `dist-x86_64-gnu`" in out
    assert "download artifact `release` → dist" in out
    summary = repo / "examples" / "weft" / "target" / "nox-cargo" / "rehearsal" / "summary.md"
    assert "All release targets packaged: x86_64-gnu" in summary.read_text()
    # Each job had a clone of its own.
    jobs = summary.parent / "jobs"
    assert len([p for p in jobs.iterdir() if (p / "workspace" / ".git").is_dir()]) == 3


def test_ci_jobs_by_selection_are_green(repo: Path) -> None:
    result = run_nox(repo, "-s", "workflows", "--", "--rehearse", "ci.yml:package")
    assert result.returncode == 0, result.stdout[-6000:]
    assert rows(result.stdout) == {"ci.yml: package(target=x86_64-gnu) smoke": "green"}
    lint = run_nox(repo, "-s", "workflows", "--", "--rehearse", "lint(step=clippy)")
    assert lint.returncode == 0, lint.stdout[-6000:]
    assert rows(lint.stdout) == {"ci.yml: lint(step=clippy)": "green"}


@pytest.fixture
def broken(repo: Path, tmp_path: Path) -> Path:
    """A clone of `repo` whose ci.yml has a session-name typo and a job that lacks a tool."""
    clone = tmp_path / "broken"
    _git(tmp_path, "clone", "-q", str(repo), str(clone))
    ci = clone / ".github" / "workflows" / "ci.yml"
    text = ci.read_text()
    typo = text.replace(
        "          SESSION: lint(step=${{ matrix.step }})",
        "          SESSION: lnit(step=${{ matrix.step }})",
        1,
    )
    assert typo != text
    # The wasm job forgets to install wasmtime, which its smoke run needs (a runner's fresh
    # Python has no wasmtime, and neither has the rehearsal's).
    forgot = typo.replace(
        'run: python -m pip install "$INSTALL_NOX" "$INSTALL_NOX_CARGO" "wasmtime==50.0.1"',
        'run: python -m pip install "$INSTALL_NOX" "$INSTALL_NOX_CARGO"',
        1,
    )
    assert forgot != typo
    ci.write_text(forgot)
    _commit(clone, "broken on purpose")
    return clone


def test_a_session_typo_and_a_missing_tool_are_red_with_the_failing_step(broken: Path) -> None:
    typo = run_nox(broken, "-s", "workflows", "--", "--rehearse", "lint(step=fmt)")
    assert typo.returncode != 0
    assert "lnit(step=fmt)" in typo.stdout  # nox says which session it cannot find
    assert rows(typo.stdout) == {"ci.yml: lint(step=fmt)": "red"}
    assert "lint(step=fmt) (step `nox -s lint(step=fmt)`)" in typo.stdout

    tool = run_nox(broken, "-s", "workflows", "--", "--rehearse", "wasm")
    assert tool.returncode != 0
    assert "needs the wasmtime Python package, which is not installed" in tool.stdout
    assert rows(tool.stdout) == {"ci.yml: wasm(target=wasm32-wasip1)": "red"}
    assert "(step `nox -s wasm(target=wasm32-wasip1)`)" in tool.stdout


def test_a_retired_runner_in_the_registry_fails_the_workflows_check(
    repo: Path, tmp_path: Path
) -> None:
    require_tool("zizmor")
    clone = tmp_path / "retired"
    _git(tmp_path, "clone", "-q", str(repo), str(clone))
    pyproject = clone / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[[tool.nox-cargo.targets]]\nid = "old-mac"\ntriple = "aarch64-apple-darwin"\n'
        'runner = "macos-14"\n'
    )
    result = run_nox(clone, "-s", "workflows")
    assert result.returncode != 0
    assert "target `old-mac`: `macos-14` was retired by GitHub on 2026-11-02; use `macos-15`" in (
        result.stdout
    )
