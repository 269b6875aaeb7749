"""What a stage's result depends on (its declared `Inputs`), and the key computed from it.

The key is one sha256 per component, so a miss can say what changed:

- `stage`: the session, its options, nox-cargo's version;
- `config`: the config values the stage reads (its `config` callable's canonical JSON);
- `sources`: every source file of the workspace and Cargo.lock (`cache.sources`);
- `toolchain`: `rustc -vV` of the project's compiler (run in the workspace, so
  rust-toolchain.toml counts), the size and mtime of every rustc this machine has (an update or an
  MSRV toolchain installed), the tools the stages pick up from PATH, and the environment cargo
  reads (`RUSTFLAGS`, `CARGO_*`, `RUSTUP_TOOLCHAIN`, ...);
- `upstream`: the sha256 of the files the stage reads from other stages (build manifests, which
  carry their artifacts' sha256) and of other inputs outside the sources (Dockerfile, README);
- `machine`: CPU model, cores, kernel, OS (bench: figures from another machine are not reused).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nox_cargo.cache.sources import FileHashes, listed_files, tree_digest
from nox_cargo.errors import NoxCargoError

if TYPE_CHECKING:
    from nox_cargo.config import Config
    from nox_cargo.project import Project

PathsOf = Callable[["Project", str], Iterable[Path]]
ConfigOf = Callable[["Config", str], object]

# Tools a stage may pick up from PATH: a different one (or none) can change the verdict.
TOOLS = ("cargo", "rustc", "rustup", "cargo-nextest", "cargo-zigbuild", "cross", "wasm-opt")
# Environment variables cargo and rustc read, by prefix.
CARGO_ENV_PREFIXES = ("CARGO_", "RUST", "CC", "CXX", "AR", "TARGET_", "SOURCE_DATE_EPOCH")
CARGO_ENV_IGNORED = ("CARGO_MAKEFLAGS", "CARGO_TERM_")


def no_paths(project: Project, value: str) -> Iterable[Path]:
    return ()


def no_config(config: Config, value: str) -> object:
    return None


def outputs_in_files(project: Project, value: str) -> str | None:
    return None


def sections(*names: str) -> ConfigOf:
    """The config values of the named top-level keys (`sections("lint")`)."""

    def read(config: Config, value: str) -> object:
        return {name: getattr(config, name) for name in names}

    return read


@dataclass(frozen=True)
class Inputs:
    """A stage's declared inputs and outputs; a stage without one always runs."""

    config: ConfigOf = no_config
    sources: bool = True  # the workspace's source tree and Cargo.lock
    toolchain: bool = True
    machine: bool = False
    upstream: PathsOf = no_paths  # files read from other stages or from outside the sources
    outputs: PathsOf = no_paths  # files the stage leaves; a missing or changed one means rerun
    # Outputs outside files (an image in the Docker engine): None when still there, else why not.
    intact: Callable[[Project, str], str | None] = outputs_in_files


def canonical(value: object) -> str:
    """Stable JSON of config values: dataclasses, paths, tuples, dicts with sorted keys."""

    def default(item: object) -> object:
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
        if isinstance(item, Path):
            return item.as_posix()
        if isinstance(item, (set, frozenset)):
            return sorted(item, key=str)
        return repr(item)

    return json.dumps(value, default=default, sort_keys=True, separators=(",", ":"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def args_of(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The options that shape a result (not --strict, -c (already in the config), --fresh)."""
    return {k: v for k, v in namespace.items() if k not in ("strict", "config", "fresh")}


@dataclass(frozen=True)
class Key:
    """One digest per input component."""

    components: Mapping[str, str]

    @property
    def digest(self) -> str:
        return _sha(canonical(dict(self.components)))

    def changed(self, recorded: Mapping[str, str]) -> list[str]:
        names = set(self.components) | set(recorded)
        return sorted(n for n in names if self.components.get(n) != recorded.get(n))


def key(
    inputs: Inputs,
    project: Project,
    session: str,
    value: str,
    options: Mapping[str, Any],
    hashes: FileHashes,
    memo_dir: Path | None = None,
) -> Key:
    from nox_cargo import __version__

    parts = {"stage": _sha(canonical([session, args_of(options), __version__]))}
    parts["config"] = _sha(canonical(inputs.config(project.config, value)))
    # The workspace's root is `workspace_path` (cargo metadata is refused otherwise); its target
    # dir comes from a record while nothing that decides it changed: no cargo for a cached key.
    root = project.workspace_path
    if inputs.sources:
        names = listed_files(root, (project.target_dir, project.dist_dir))
        parts["sources"] = tree_digest(root, names, hashes)
    if inputs.toolchain:
        parts["toolchain"] = toolchain_fingerprint(root, project.environ, memo_dir)
    upstream = [
        (str(path), _upstream_digest(path, hashes)) for path in inputs.upstream(project, value)
    ]
    if upstream:
        parts["upstream"] = _sha(canonical(upstream))
    if inputs.machine:
        parts["machine"] = _sha(canonical(machine_fingerprint()))
    return Key(parts)


# Fields of a stage manifest that differ between two runs producing the same bytes.
VOLATILE_KEYS = frozenset({"duration_seconds"})


def _upstream_digest(path: Path, hashes: FileHashes) -> str:
    """A file's sha256; a JSON manifest's without its volatile fields, so a rebuild that gave
    the same binaries leaves the stages after it cached."""
    if not path.is_file():
        return "missing"
    if path.suffix == ".json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return hashes.digest(path)
        if isinstance(document, dict):
            return _sha(canonical({k: v for k, v in document.items() if k not in VOLATILE_KEYS}))
    return hashes.digest(path)


# -- the toolchain ------------------------------------------------------------------------------

_TOOLCHAINS: dict[tuple[str, str], str] = {}


def toolchain_fingerprint(
    workspace_root: Path, environ: Mapping[str, str], memo_dir: Path | None = None
) -> str:
    """The compiler and everything around it. `rustc -vV` runs once per workspace per process,
    and not at all while what decides its answer is unchanged since a recorded run (`memo_dir`)."""
    relevant = {
        k: v
        for k, v in environ.items()
        if k.startswith(CARGO_ENV_PREFIXES) and not k.startswith(CARGO_ENV_IGNORED)
    }
    path = environ.get("PATH")
    tools = {tool: shutil.which(tool, path=path) or "" for tool in TOOLS}
    memo = (str(workspace_root), canonical([relevant, tools]))
    if memo not in _TOOLCHAINS:
        # What rustc -vV's answer depends on: which rustc, every toolchain's files, rustup's
        # settings (default, overrides) and rust-toolchain files from the workspace up.
        stats = _stats(environ, tools.values())
        decides = _sha(
            canonical([memo, stats, _rustup_settings(environ), _toolchain_files(workspace_root)])
        )
        version = _recorded_version(memo_dir, decides)
        if version is None:
            version = _rustc_version(workspace_root, tools["rustc"])
            _record_version(memo_dir, decides, version)
        _TOOLCHAINS[memo] = _sha(canonical([version, memo, stats]))
    return _TOOLCHAINS[memo]


def _rustup_settings(environ: Mapping[str, str]) -> str:
    """rustup's default toolchain and directory overrides (rewritten by rustup at times: it
    only decides whether rustc -vV is asked again, its answer is what the key holds)."""
    home = Path(environ.get("RUSTUP_HOME") or Path.home() / ".rustup")
    try:
        return (home / "settings.toml").read_text(encoding="utf-8")
    except OSError:
        return ""


def _toolchain_files(workspace_root: Path) -> list[tuple[str, str]]:
    found = []
    for directory in (workspace_root, *workspace_root.parents):
        for name in ("rust-toolchain.toml", "rust-toolchain"):
            try:
                found.append((str(directory / name), (directory / name).read_text()))
            except OSError:
                continue
    return found


def _recorded_version(memo_dir: Path | None, decides: str) -> str | None:
    if memo_dir is None:
        return None
    try:
        data = json.loads((memo_dir / "toolchain.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get(decides) if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def _record_version(memo_dir: Path | None, decides: str, version: str) -> None:
    if memo_dir is None:
        return
    from nox_cargo.fsutil import atomic_write_text

    with contextlib.suppress(OSError):  # the next run asks rustc again
        atomic_write_text(memo_dir / "toolchain.json", json.dumps({decides: version}))


def forget_toolchains() -> None:
    """After a stage installed a toolchain or a target (`rustup target add`)."""
    _TOOLCHAINS.clear()


def _rustc_version(workspace_root: Path, rustc: str) -> str:
    if not rustc:
        return "no rustc on PATH"
    from nox_cargo.process import run

    try:
        done = run([rustc, "-vV"], cwd=workspace_root, capture=True, quiet=True, check=False)
    except NoxCargoError:
        return "rustc does not run"
    return done.stdout if done.ok else f"rustc -vV failed: {done.stderr.strip()}"


def _stats(environ: Mapping[str, str], tools: Iterable[str] = ()) -> list[tuple[str, int, int]]:
    """Size and mtime of every rustc here (an update, or a toolchain installed or removed) and
    of the tools on PATH."""
    home = Path(environ.get("RUSTUP_HOME") or Path.home() / ".rustup")
    paths = [Path("/usr/bin/rustc"), Path("/usr/local/bin/rustc")]
    paths += [Path(tool) for tool in tools if tool]
    toolchains = home / "toolchains"
    if toolchains.is_dir():
        for directory in sorted(toolchains.iterdir()):
            # Not lib/rustlib/components: a target added to some toolchain (a `rustup target add`
            # by another project on a shared machine) changes no result that was recorded (a
            # missing std is a skip, never recorded).
            paths.append(directory / "bin" / "rustc")
    found = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return found


# -- the machine --------------------------------------------------------------------------------


def machine_fingerprint() -> dict[str, str]:
    from nox_cargo.bench.fingerprint import cpu_model

    return {
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "os": platform.system(),
    }
