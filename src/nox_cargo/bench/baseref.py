"""`--base <git-ref>`: build the base revision with the head's exact build settings.

The ref is checked out with `git worktree add --detach` under the report dir (removed again
afterwards, whatever happens) and built by the build stage's own plan for the benchmarked target
(same toolchain, profile, RUSTFLAGS, features, `--target`, `--locked`) into a separate cargo target
dir, so the head's build is never disturbed. The base binary is cached by commit + plan, so
re-running a comparison against the same base does not rebuild it.

`BaseBuilder` is the seam: tests and the benchmark scripts hand in their own builder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nox_cargo.build import builder, targets
from nox_cargo.build.strategies import Plan, Request
from nox_cargo.errors import NoxCargoError
from nox_cargo.fsutil import atomic_copy, locked
from nox_cargo.process import run
from nox_cargo.project import Project


class BaseRefError(NoxCargoError):
    """The base revision cannot be resolved or built."""


def git_toplevel(path: Path) -> Path:
    done = run(
        ["git", "rev-parse", "--show-toplevel"], cwd=path, capture=True, quiet=True, check=False
    )
    if not done.ok:
        raise BaseRefError(
            f"`--base` needs a git checkout, but {path} is not inside one.",
            "run the bench from a git clone, or compare against a saved result with --baseline.",
        )
    return Path(done.stdout.strip()).resolve()


def resolve_ref(repo: Path, ref: str) -> str:
    """The commit `ref` names, or a clear error naming the ref."""
    if ref.startswith("-"):
        raise BaseRefError(f"The base ref {ref!r} is not a git ref.", "give a branch, tag or sha.")
    done = run(
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
        cwd=repo,
        capture=True,
        quiet=True,
        check=False,
    )
    if not done.ok or not done.stdout.strip():
        raise BaseRefError(
            f"The base ref {ref!r} does not exist in the git repository at {repo}.",
            f"give a branch, tag or commit that exists (`git fetch origin {ref}`; a shallow CI "
            "checkout needs `fetch-depth: 0`).",
        )
    return done.stdout.strip()


@contextlib.contextmanager
def worktree(repo: Path, commit: str, directory: Path) -> Iterator[Path]:
    """A detached worktree of `commit` at `directory`, removed on exit."""
    if directory.exists():
        run(["git", "worktree", "remove", "--force", directory], cwd=repo, quiet=True, check=False)
        run(["git", "worktree", "prune"], cwd=repo, quiet=True, check=False)
    directory.parent.mkdir(parents=True, exist_ok=True)
    run(["git", "worktree", "add", "--detach", directory, commit], cwd=repo, capture=True)
    try:
        yield directory
    finally:
        run(
            ["git", "worktree", "remove", "--force", directory],
            cwd=repo,
            quiet=True,
            check=False,
            capture=True,
        )
        run(["git", "worktree", "prune"], cwd=repo, quiet=True, check=False, capture=True)


class BaseBuilder(Protocol):
    def key(self) -> str:
        """What the build depends on besides the commit (toolchain, flags...)."""
        ...

    def build(self, workspace: Path, target_dir: Path) -> Path:
        """Build the benchmarked binary of `workspace`; return its path."""
        ...


@dataclass(frozen=True)
class StageBuilder:
    """Builds like `build(target=<id>)` does: the build stage's plan, run in another workspace."""

    project: Project
    target_id: str
    binary: str

    def _plan(self) -> tuple[Plan, Request]:
        target = targets.lookup(self.project.config, self.target_id)
        request = builder.make_request(self.project, target)
        request = Request(
            target=request.target,
            binaries=(self.binary,),
            profile=request.profile,
            features=request.features,
            rustflags=request.rustflags,
            locked=request.locked,
            rust_version=request.rust_version,
        )
        machine = builder.probe_machine(self.project.environ)
        return builder.choose(self.project, request, machine, prepare=True).plan, request

    def key(self) -> str:
        plan, _ = self._plan()
        return json.dumps([plan.argv, sorted(plan.env.items())])

    def build(self, workspace: Path, target_dir: Path) -> Path:
        plan, request = self._plan()
        run(
            plan.argv,
            cwd=workspace,
            env={**plan.env, "CARGO_TARGET_DIR": str(target_dir)},
            hint="the base revision does not build with the head's settings; cargo's error is "
            "above.",
        )
        out: Path = (
            target_dir
            / plan.cargo_triple
            / builder.profile_dir(request.profile)
            / request.triple.binary_name(self.binary)
        )
        if not out.is_file():
            raise BaseRefError(f"cargo succeeded but {out} does not exist.", "check the profile.")
        return out


def from_base(
    project: Project, ref: str, cached: Callable[[str], Path], make: Callable[[Path, Path], Path]
) -> tuple[str, Path]:
    """(commit, `cached(commit)`): unless that file exists, `make(base workspace, cached path)`
    produces it in a temporary worktree of the commit `ref` names, and it is copied there
    atomically (last: a run killed before leaves no cache entry)."""
    workspace = project.workspace_path
    repo = git_toplevel(workspace)
    commit = resolve_ref(repo, ref)
    bench_dir = project.report_dir / "bench"
    path = cached(commit)
    if path.is_file():
        return commit, path
    with locked(bench_dir, ".base.lock"):
        if path.is_file():
            return commit, path
        with worktree(repo, commit, bench_dir / f"base-worktree-{commit[:12]}") as tree:
            relative = workspace.relative_to(repo)
            base_workspace = tree / relative
            if not (base_workspace / "Cargo.toml").is_file():
                raise BaseRefError(
                    f"The base ref {ref!r} ({commit[:12]}) has no Cargo workspace at {relative}.",
                    "choose a base revision that contains the workspace.",
                )
            atomic_copy(make(base_workspace, path), path)
    return commit, path


def cache_key(commit: str, key: str) -> str:
    return hashlib.sha256(f"{commit}\0{key}".encode()).hexdigest()[:16]


def build_base(project: Project, ref: str, builder: BaseBuilder, binary: str) -> tuple[str, Path]:
    """(commit, path of the base binary), built in a temporary worktree, cached by commit."""
    bench_dir = project.report_dir / "bench"

    def cached(commit: str) -> Path:
        key = cache_key(commit, builder.key())
        return bench_dir / "base-bin" / f"{binary}-{commit[:12]}-{key}"

    return from_base(
        project, ref, cached, lambda tree, _: builder.build(tree, bench_dir / "base-target")
    )
