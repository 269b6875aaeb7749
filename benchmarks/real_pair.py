"""Two real builds of a large binary for the gate benchmark: ripgrep 14.1.1 from crates.io.

The crate is downloaded from crates.io, its checksum checked against the registry index, and
unpacked into a scratch git repository with a nox-cargo config (one host target). Then:

- `base-tree`: the base commit built by `build(target=host)` in the tree, as a user builds it;
- `base`: the same commit built the way `bench --base` builds it: a git worktree and the build
  stage's own plan (`baseref.StageBuilder`), cached by commit + plan;
- `head`: a second commit whose `main` first busy-waits `spin_us` (calibrated by the caller,
  e.g. 10 % of the base's startup), built by `build(target=host)` in the tree.

`base` vs `base-tree` is an A/A pair of two real builds (they differ in their build paths and
build-id only); `base` vs `head` is the A/B pair. ripgrep's release profile keeps debug info
(`debug = 1`): the binary is ~27 MB, dynamically linked, and starts in ~1.1 ms here.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from calibration import git, with_spin

from nox_cargo.bench.baseref import StageBuilder, build_base
from nox_cargo.fsutil import atomic_copy
from nox_cargo.manifest import BuildManifest
from nox_cargo.project import Project

CRATE, VERSION = "ripgrep", "14.1.1"
BINARY = "rg"
TARGET_ID = "host"
MAIN = Path("crates/core/main.rs")


@dataclass(frozen=True)
class Pair:
    base: Path  # built in a worktree, as `bench --base` builds it
    base_tree: Path  # the same commit built in the tree
    head: Path  # built in the tree, with the spin


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        data: bytes = response.read()
    return data


def fetch_crate(into: Path) -> Path:
    """Download and unpack the crate (checksum from the crates.io index); return its directory."""
    source = into / f"{CRATE}-{VERSION}"
    if (source / "Cargo.toml").is_file():
        return source
    index = _get(f"https://index.crates.io/{CRATE[:2]}/{CRATE[2:4]}/{CRATE}").decode()
    entry = next(
        json.loads(line) for line in index.splitlines() if json.loads(line)["vers"] == VERSION
    )
    data = _get(f"https://static.crates.io/crates/{CRATE}/{CRATE}-{VERSION}.crate")
    if hashlib.sha256(data).hexdigest() != entry["cksum"]:
        raise SystemExit(f"{CRATE} {VERSION}: checksum differs from the crates.io index")
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        archive.extractall(into, filter="data")
    return source


def _nox_build(repo: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "nox", "-s", f"build(target={TARGET_ID})"],
        cwd=repo,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    project = Project.load(repo)
    manifest = BuildManifest.load(project.dist_dir, TARGET_ID)
    return manifest.verified_path(project.dist_dir, BINARY)


def scratch_project(work: Path) -> Path:
    """The crate as a git repository with a nox-cargo config; the base commit checked out."""
    repo = work / "ripgrep"
    if (repo / ".git").is_dir():
        git(repo, "checkout", "-q", "--force", "main")
        git(repo, "reset", "-q", "--hard", "base")
        return repo
    source = fetch_crate(work / "crate")
    subprocess.run(["cp", "-r", str(source), str(repo)], check=True)
    triple = _host_triple()
    (repo / "pyproject.toml").write_text(
        f'[tool.nox-cargo]\nbinaries = ["{BINARY}"]\n\n'
        f'[[tool.nox-cargo.targets]]\nid = "{TARGET_ID}"\ntriple = "{triple}"\n\n'
        f'[tool.nox-cargo.bench]\ntarget = "{TARGET_ID}"\n',
        encoding="utf-8",
    )
    (repo / "noxfile.py").write_text("import nox_cargo\n\nnox_cargo.register()\n")
    (repo / ".gitignore").write_text("target/\n.nox/\ndist/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "tag", "base")
    return repo


def _host_triple() -> str:
    out = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    return next(line.split()[1] for line in out.splitlines() if line.startswith("host:"))


def build_base_pair(work: Path) -> tuple[Path, Path]:
    """(base built in a worktree, base built in the tree), both of the `base` commit."""
    repo = scratch_project(work)
    base_tree = work / "bins" / "base-tree" / BINARY
    atomic_copy(_nox_build(repo), base_tree)
    project = Project.load(repo)
    _, base = build_base(project, "base", StageBuilder(project, TARGET_ID, BINARY), BINARY)
    return base, base_tree


def build_head(work: Path, spin_us: int) -> Path:
    """The head commit: `main` busy-waits `spin_us` first; built in the tree."""
    repo = work / "ripgrep"
    git(repo, "reset", "-q", "--hard", "base")
    main = repo / MAIN
    main.write_text(with_spin(main.read_text(encoding="utf-8"), spin_us), encoding="utf-8")
    git(repo, "commit", "-q", "-am", f"head: {spin_us} us busy-wait in main")
    head = work / "bins" / f"head-{spin_us}us" / BINARY
    atomic_copy(_nox_build(repo), head)
    return head
