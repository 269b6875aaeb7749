"""The stage cache: which input changes re-run a stage, which never do, and how results replay."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import nox
import pytest

from nox_cargo.cache import inputs as cache_inputs
from nox_cargo.cache import runs, sources, store
from nox_cargo.cache.inputs import Inputs, Key, key, sections
from nox_cargo.cache.sources import FileHashes
from nox_cargo.errors import NoxCargoError, Unavailable
from nox_cargo.project import Project
from nox_cargo.sessions.runner import Cached, parser, run_stage
from nox_cargo.workspace import Workspace
from tests.unit.fake_session import FakeSession, Quit

LINT = Inputs(config=sections("lint", "workspace"))


class World:
    """A project dir with a workspace `ws/`, a fake rustc, and git answering or not."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.ws = root / "ws"
        self.rustc = "rustc 1.95.0 (59807616e 2026-04-14)\nhost: x86_64-unknown-linux-gnu\n"
        self.git: list[str] | None = None  # None: not a git checkout (the walk lists files)
        self.environ = {"PATH": os.environ.get("PATH", "")}
        (self.ws / "crates" / "a" / "src").mkdir(parents=True)
        (root / "pyproject.toml").write_text('[tool.nox-cargo]\nworkspace = "ws"\n')
        (self.ws / "Cargo.toml").write_text('[workspace]\nmembers = ["crates/a"]\n')
        (self.ws / "Cargo.lock").write_text("version = 3\n")
        (self.ws / "crates" / "a" / "src" / "lib.rs").write_text("pub fn a() -> u8 { 1 }\n")
        (self.ws / "target" / "debug").mkdir(parents=True)
        (root / "README.md").write_text("the repository's own readme\n")
        workspace = Workspace(root=self.ws, target_dir=self.ws / "target", members=(), metadata={})
        monkeypatch.setattr("nox_cargo.project._workspace_at", lambda path: workspace)
        monkeypatch.setattr(cache_inputs, "_rustc_version", lambda root, rustc: self.rustc)
        monkeypatch.setattr(sources, "_git_files", lambda root: self.git)
        cache_inputs.forget_toolchains()
        runs.reset()

    def project(self, *overrides: str, environ: dict[str, str] | None = None) -> Project:
        return Project.load(self.root, environ or self.environ, overrides)

    def key(self, project: Project | None = None, spec: Inputs = LINT, **options: Any) -> Key:
        cache_inputs.forget_toolchains()
        hashes = FileHashes(None)
        return key(spec, project or self.project(), "lint(step=clippy)", "clippy", options, hashes)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield World(tmp_path, monkeypatch)
    cache_inputs.forget_toolchains()
    runs.reset()


def later(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = time.time() + 5  # a different mtime even on a coarse clock
    os.utime(path, (stamp, stamp))


def test_the_same_inputs_give_the_same_key(world: World) -> None:
    assert world.key().digest == world.key().digest


@pytest.mark.parametrize("git", [False, True])
def test_a_source_change_reruns(world: World, git: bool) -> None:
    world.git = ["Cargo.toml", "crates/a/src/lib.rs"] if git else None
    before = world.key()
    later(world.ws / "crates" / "a" / "src" / "lib.rs", "pub fn a() -> u8 { 2 }\n")
    assert world.key().changed(before.components) == ["sources"]


@pytest.mark.parametrize("git", [False, True])
def test_a_cargo_lock_change_reruns_even_when_git_ignores_it(world: World, git: bool) -> None:
    world.git = ["Cargo.toml", "crates/a/src/lib.rs"] if git else None  # Cargo.lock ignored
    before = world.key()
    later(world.ws / "Cargo.lock", "version = 4\n")
    assert world.key().changed(before.components) == ["sources"]


def test_a_new_source_file_reruns(world: World) -> None:
    before = world.key()
    (world.ws / "crates" / "a" / "src" / "extra.rs").write_text("")
    assert world.key().changed(before.components) == ["sources"]


def test_a_config_value_the_stage_reads_reruns_it(world: World) -> None:
    before = world.key()
    after = world.key(world.project("lint.clippy-deny-warnings=false"))
    assert after.changed(before.components) == ["config"]


def test_a_config_value_of_another_stage_does_not(world: World) -> None:
    before = world.key()
    assert world.key(world.project("bench.warmup=9")).changed(before.components) == []


def test_a_toolchain_change_reruns(world: World) -> None:
    before = world.key()
    world.rustc = world.rustc.replace("1.95.0", "1.96.0")
    assert world.key().changed(before.components) == ["toolchain"]


def test_rustflags_in_the_environment_rerun(world: World) -> None:
    before = world.key()
    project = world.project(environ={**world.environ, "RUSTFLAGS": "-C target-cpu=native"})
    assert world.key(project).changed(before.components) == ["toolchain"]


def test_an_option_of_the_session_reruns(world: World) -> None:
    before = world.key()
    assert world.key(passthrough=["--no-fail-fast"]).changed(before.components) == ["stage"]
    assert world.key(strict=True, fresh=True).changed(before.components) == []


@pytest.mark.parametrize(
    "unrelated",
    [
        "README.md",  # the repository's, outside the workspace
        "ws/target/debug/libjunk.rlib",  # cargo's own output
        "ws/dist/x86_64-gnu/weft",  # nox-cargo's output inside the workspace
        "ws/notes.txt",  # ignored by git (not listed by git ls-files)
    ],
)
def test_an_unrelated_file_never_reruns(world: World, unrelated: str) -> None:
    world.git = ["Cargo.toml", "crates/a/src/lib.rs"]
    project = world.project("dist-dir=ws/dist")
    before = world.key(project)
    path = world.root / unrelated
    path.parent.mkdir(parents=True, exist_ok=True)
    later(path, "changed\n")
    assert world.key(project).changed(before.components) == []


def test_upstream_files_and_the_machine_are_inputs_when_declared(world: World) -> None:
    manifest = world.root / "dist" / "x" / "weft"
    manifest.parent.mkdir(parents=True)
    manifest.write_bytes(b"binary 1")
    spec = Inputs(sources=False, machine=True, upstream=lambda project, value: [manifest])
    before = world.key(spec=spec)
    assert {"upstream", "machine"} <= set(before.components)
    assert "sources" not in before.components
    later(manifest, "binary 2")
    assert world.key(spec=spec).changed(before.components) == ["upstream"]


def test_a_remembered_hash_is_not_trusted_for_a_file_changed_just_before(tmp_path: Path) -> None:
    path = tmp_path / "lib.rs"
    path.write_text("one\n")
    memo = tmp_path / "files.json"
    hashes = FileHashes(memo)
    first = hashes.digest(path)
    hashes.save()
    # Same size and (forced) same mtime: only the racy-clean rule can catch the new content.
    stat = path.stat()
    path.write_text("two\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert FileHashes(memo).digest(path) != first


def _stage_build(world: World, binary: bytes, duration: float) -> None:
    """What `build(target=x86_64-gnu)` leaves in dist/: the staged binary and its manifest."""
    from nox_cargo.manifest import sha256_file

    staged = world.root / "dist" / "x86_64-gnu" / "weft"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(binary)
    artifact = {"name": "weft", "path": "x86_64-gnu/weft", "sha256": sha256_file(staged)}
    manifest = {"schema_version": 1, "target_id": "x86_64-gnu", "git_commit": "abc"}
    manifest |= {"duration_seconds": duration, "artifacts": [artifact]}
    later(staged.parent / "build-manifest.json", json.dumps(manifest))


def test_later_stages_are_keyed_on_the_built_bytes_not_on_the_build_having_run(
    world: World,
) -> None:
    """A rebuild that stages the same bytes (a comment-only change) leaves package cached; one
    that stages other bytes re-runs it."""
    from nox_cargo.stage_inputs import PACKAGE

    def package_key() -> Key:
        hashes = FileHashes(None)
        project = world.project()
        return key(PACKAGE, project, "package(target=x86_64-gnu)", "x86_64-gnu", {}, hashes)

    _stage_build(world, b"\x7fELF weft 1", duration=12.5)
    before = package_key()
    _stage_build(world, b"\x7fELF weft 1", duration=31.0)  # rebuilt: same bytes, new mtime
    assert package_key().changed(before.components) == []
    _stage_build(world, b"\x7fELF weft 2", duration=12.5)  # other bytes
    assert package_key().changed(before.components) == ["upstream"]


class CountingHashes(FileHashes):
    """Counts the files the memo reads (its one seam for reading contents)."""

    def __init__(self, memo_path: Path | None, hashed_after: float = 0.0) -> None:
        """`hashed_after`: hashes are stamped that many seconds after now (a file older than the
        racy window when it is more than 2)."""
        stamp = time.time_ns() + int(hashed_after * 1e9)
        super().__init__(memo_path, clock=lambda: stamp)
        self.reads: list[str] = []

    def read(self, path: Path) -> str:
        self.reads.append(path.name)
        return super().read(path)


def test_an_untouched_file_is_not_read_again(tmp_path: Path) -> None:
    for name in ("a.rs", "b.rs"):
        (tmp_path / name).write_text(f"// {name}\n")
    memo = tmp_path / "files.json"
    first = CountingHashes(memo, hashed_after=3)  # 3 s after the files last changed
    digests = [first.digest(tmp_path / name) for name in ("a.rs", "b.rs")]
    first.save()
    assert first.reads == ["a.rs", "b.rs"]
    (tmp_path / "b.rs").write_text("// b.rs, changed\n")
    second = CountingHashes(memo)
    assert second.digest(tmp_path / "a.rs") == digests[0]
    assert second.digest(tmp_path / "b.rs") != digests[1]
    assert second.reads == ["b.rs"]  # a.rs came from the memo, b.rs was rewritten


def _memo_claims(memo: Path, path: Path, digest: str) -> None:
    """The memo says `path` (with its current size, mtime, inode and ctime) hashed to `digest`:
    what a write within the same clock tick as the hash leaves behind."""
    data = json.loads(memo.read_text())
    data[str(path)][5] = digest
    memo.write_text(json.dumps(data))


@pytest.mark.parametrize("hashed_after", [0.0, 1.5])
def test_a_file_changed_within_the_racy_window_is_read_again(
    tmp_path: Path, hashed_after: float
) -> None:
    path = tmp_path / "lib.rs"
    path.write_text("pub fn a() -> u8 { 1 }\n")
    memo = tmp_path / "files.json"
    hashes = CountingHashes(memo, hashed_after)  # within 2 s of the file's last change
    true_digest = hashes.digest(path)
    hashes.save()
    # Same size, same mtime, same inode, same ctime, other content: only the racy rule sees it.
    _memo_claims(memo, path, "0" * 64)
    again = CountingHashes(memo)
    assert again.digest(path) == true_digest
    assert again.reads == ["lib.rs"]


def test_outside_the_racy_window_the_signature_is_trusted(tmp_path: Path) -> None:
    """The other side of the rule above: hashed 3 s after its last change, an unchanged
    signature is taken for unchanged content (the same setup, no read)."""
    path = tmp_path / "lib.rs"
    path.write_text("pub fn a() -> u8 { 1 }\n")
    memo = tmp_path / "files.json"
    hashes = CountingHashes(memo, hashed_after=3)
    hashes.digest(path)
    hashes.save()
    _memo_claims(memo, path, "1" * 64)
    again = CountingHashes(memo)
    assert again.digest(path) == "1" * 64
    assert again.reads == []


def test_a_rewrite_with_the_same_size_and_mtime_is_read_again(tmp_path: Path) -> None:
    """Even long after the hash: the rewrite changed the ctime (and the memo compares it)."""
    path = tmp_path / "lib.rs"
    path.write_text("one\n")
    memo = tmp_path / "files.json"
    hashes = CountingHashes(memo, hashed_after=3)
    first = hashes.digest(path)
    hashes.save()
    stat = path.stat()
    time.sleep(0.01)
    path.write_text("two\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    again = CountingHashes(memo)
    assert again.digest(path) != first
    assert again.reads == ["lib.rs"]


# -- the target dir, recorded so that a cached session starts no cargo ------------------------


class Cargo:
    """`cargo metadata`'s answer for the target dir, counted."""

    def __init__(self, answer: Path) -> None:
        self.answer = answer
        self.asked = 0

    def __call__(self) -> Path:
        self.asked += 1
        return self.answer


def after_window() -> int:
    """A clock 10 s ahead: every file the test wrote is older than the racy window then."""
    return time.time_ns() + 10**10


def test_the_target_dir_is_asked_once_then_recorded(tmp_path: Path) -> None:
    from nox_cargo.cache.target_dir import target_dir

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "Cargo.toml").write_text("[workspace]\n")
    environ = {"PATH": os.environ.get("PATH", ""), "CARGO_HOME": str(tmp_path / "home")}
    cargo = Cargo(ws / "target")
    assert target_dir(ws, environ, cargo, after_window()) == ws / "target"
    assert target_dir(ws, environ, cargo, after_window()) == ws / "target"
    assert cargo.asked == 1


@pytest.mark.parametrize(
    "change",
    [
        "ws/.cargo/config.toml",  # build.target-dir in the workspace
        ".cargo/config.toml",  # ... or in a directory above it
        "home/config.toml",  # ... or in $CARGO_HOME
        "ws/Cargo.toml",  # the manifest (a workspace above claiming it, ...)
        "env",  # CARGO_TARGET_DIR
        "pyproject.toml",  # the project's config (`also`)
    ],
)
def test_what_decides_the_target_dir_asks_cargo_again(tmp_path: Path, change: str) -> None:
    from nox_cargo.cache.target_dir import target_dir

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "Cargo.toml").write_text("[workspace]\n")
    environ = {"PATH": os.environ.get("PATH", ""), "CARGO_HOME": str(tmp_path / "home")}
    cargo = Cargo(ws / "target")
    also = [tmp_path / "pyproject.toml"]
    target_dir(ws, environ, cargo, after_window(), also)
    if change == "env":
        environ["CARGO_TARGET_DIR"] = str(tmp_path / "elsewhere")
    else:
        path = tmp_path / change
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('[build]\ntarget-dir = "elsewhere"\n')
    cargo.answer = tmp_path / "elsewhere"
    assert target_dir(ws, environ, cargo, after_window(), also) == tmp_path / "elsewhere"
    assert cargo.asked == 2


def test_a_target_dir_elsewhere_or_a_file_just_changed_is_not_recorded(tmp_path: Path) -> None:
    from nox_cargo.cache.target_dir import target_dir

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "Cargo.toml").write_text("[workspace]\n")
    environ = {"PATH": os.environ.get("PATH", ""), "CARGO_HOME": str(tmp_path / "home")}
    elsewhere = Cargo(tmp_path / "elsewhere")
    target_dir(ws, environ, elsewhere, after_window())
    target_dir(ws, environ, elsewhere, after_window())
    assert elsewhere.asked == 2
    just_now = Cargo(ws / "target")
    target_dir(ws, environ, just_now)  # Cargo.toml was written less than 2 s ago
    target_dir(ws, environ, just_now)
    assert just_now.asked == 2


# -- the runner: reuse, verdicts, outputs, corrupt entries ------------------------------------


class Body:
    def __init__(self, outcome: Exception | None = None, output: Path | None = None) -> None:
        self.calls = 0
        self.outcome = outcome
        self.output = output

    def __call__(self, project: Project, args: argparse.Namespace) -> None:
        from nox_cargo.console import get_console

        self.calls += 1
        if self.output is not None:
            self.output.write_text("built\n")
        get_console().table("figures", ["case", "median"], [["startup", "1.0 ms"]])
        if self.outcome is not None:
            raise self.outcome


def session_run(
    world: World, body: Body, posargs: list[str] | None = None, spec: Inputs = LINT
) -> str:
    """'passed', or the kind of Quit."""
    argparser = parser("lint(step=clippy)", "demo")
    argparser.add_argument("--fix", action="store_true")
    session = cast(nox.Session, FakeSession(posargs or []))
    cached = Cached(spec, "clippy", ("fix",))
    try:
        run_stage(session, "lint(step=clippy)", body, argparser, world.root, (), cached)
    except Quit as exc:
        return exc.kind
    return "passed"


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CI", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_JOB", "NOX_CARGO_CACHE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("local")
def test_a_pass_is_reused_with_its_figures(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.environ = dict(os.environ)
    body = Body()
    assert session_run(world, body) == "passed"
    capsys.readouterr()
    assert session_run(world, body) == "passed"
    shown = capsys.readouterr().out
    assert body.calls == 1
    assert "cached: unchanged since" in shown
    assert "startup" in shown  # the recorded table, shown again
    later(world.ws / "crates" / "a" / "src" / "lib.rs", "pub fn a() -> u8 { 3 }\n")
    runs.reset()
    assert session_run(world, body) == "passed"
    assert body.calls == 2
    assert "sources changed" in capsys.readouterr().out


@pytest.mark.usefixtures("local")
def test_a_failure_is_reused_as_a_failure(world: World) -> None:
    world.environ = dict(os.environ)
    body = Body(NoxCargoError("clippy found 2 warnings", "fix them"))
    assert session_run(world, body) == "error"
    assert session_run(world, body) == "error"
    assert body.calls == 1


@pytest.mark.usefixtures("local")
def test_a_skip_is_never_recorded(world: World) -> None:
    world.environ = dict(os.environ)
    body = Body(Unavailable("no std here", "rustup target add it"))
    assert session_run(world, body) == "skip"
    assert session_run(world, body) == "skip"
    assert body.calls == 2


@pytest.mark.usefixtures("local")
@pytest.mark.parametrize("how", [["--fresh"], ["-c", "cache=false"], ["--fix"]])
def test_fresh_cache_false_and_fix_run(world: World, how: list[str]) -> None:
    world.environ = dict(os.environ)
    body = Body()
    session_run(world, body)
    assert session_run(world, body, how) == "passed"
    assert body.calls == 2


@pytest.mark.usefixtures("local")
def test_a_changed_or_missing_output_reruns(world: World) -> None:
    world.environ = dict(os.environ)
    output = world.root / "out.bin"
    spec = Inputs(config=sections("lint"), outputs=lambda project, value: [output])
    body = Body(output=output)
    session_run(world, body, spec=spec)
    output.write_text("tampered\n")
    session_run(world, body, spec=spec)
    assert body.calls == 2
    output.unlink()
    session_run(world, body, spec=spec)
    assert body.calls == 3
    session_run(world, body, spec=spec)
    assert body.calls == 3


@pytest.mark.usefixtures("local")
def test_a_corrupt_entry_is_ignored_with_a_note(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.environ = dict(os.environ)
    body = Body()
    session_run(world, body)
    entry = store.entry_path(
        store.cache_dir(world.ws / "target" / "nox-cargo"), "lint(step=clippy)"
    )
    entry.write_text('{"schema_version": 1, "session": ')
    capsys.readouterr()
    assert session_run(world, body) == "passed"
    assert body.calls == 2
    assert "ignoring an unreadable entry" in capsys.readouterr().out
    assert json.loads(entry.read_text())["verdict"] == "passed"  # replaced by the new run


def test_under_ci_only_this_jobs_entries_or_a_restored_cache_are_trusted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = {"CI": "true", "GITHUB_RUN_ID": "7", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "lint"}
    for name, value in job.items():
        monkeypatch.setenv(name, value)
    world.environ = dict(os.environ)
    body = Body()
    session_run(world, body)
    session_run(world, body)
    assert body.calls == 1  # recorded by this job
    monkeypatch.setenv("GITHUB_RUN_ID", "8")
    world.environ = dict(os.environ)
    session_run(world, body)
    assert body.calls == 2  # a leftover of another run: not a result
    monkeypatch.setenv("GITHUB_RUN_ID", "9")
    monkeypatch.setenv("NOX_CARGO_CACHE", "true")  # the job restored the cache dir
    world.environ = dict(os.environ)
    session_run(world, body)
    assert body.calls == 2
