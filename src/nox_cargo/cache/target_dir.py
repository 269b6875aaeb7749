"""The workspace's target dir, remembered between runs so that a cached session runs no cargo.

A session's cache entries live under the target dir, which only `cargo metadata` knows for sure
(`CARGO_TARGET_DIR`, `build.target-dir` in a `.cargo/config.toml` anywhere up the tree or in
`$CARGO_HOME`). Asking it costs a cargo start (25 ms) in every session, cached or not. So the
answer is recorded in `<workspace>/target/nox-cargo/cache/target-dir.json` together with a digest
of everything cargo decides it from: the `CARGO_*` environment, which `cargo` is on PATH, and the
identity (size, mtime, inode, ctime, in ns) of every `Cargo.toml` and `.cargo/config(.toml)` from
the workspace up to the filesystem root and in `$CARGO_HOME`. While that digest is unchanged the
recorded answer stands; any change asks cargo again.

Only the default layout is recorded (the target dir is `<workspace>/target`, where the record
itself lives); a workspace with its target dir elsewhere asks cargo every time. A file changed
less than 2 s before the record was made is not trusted (a write within the same clock tick as
its stat would go unseen; git's "racy clean" rule), so such a record is not made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from nox_cargo.cache.sources import RACY_NS
from nox_cargo.cache.store import cache_dir
from nox_cargo.workspace import report_dir_of

RECORD = "target-dir.json"
# Cargo's environment that cannot move the target dir.
_IGNORED_ENV = ("CARGO_TERM_", "CARGO_MAKEFLAGS")


def default_target_dir(workspace_path: Path) -> Path:
    return workspace_path / "target"


def record_path(workspace_path: Path) -> Path:
    return cache_dir(report_dir_of(default_target_dir(workspace_path))) / RECORD


def _candidates(
    workspace_path: Path, environ: Mapping[str, str], also: Sequence[Path] = ()
) -> list[Path]:
    """Every file whose content can change what `cargo metadata` answers for the target dir."""
    found = list(also)
    for directory in (workspace_path, *workspace_path.parents):
        found += [directory / "Cargo.toml", directory / ".cargo" / "config.toml"]
        found.append(directory / ".cargo" / "config")
    home = Path(environ.get("CARGO_HOME") or Path("~/.cargo").expanduser())
    found += [home / "config.toml", home / "config"]
    cargo = shutil.which("cargo", path=environ.get("PATH"))
    if cargo:
        found.append(Path(cargo))
    return found


def decides(
    workspace_path: Path, environ: Mapping[str, str], now_ns: int, also: Sequence[Path] = ()
) -> str | None:
    """The digest of what the target dir depends on (and of the files in `also`); None when a
    file changed too recently (less than RACY_NS before `now_ns`) to trust its identity."""
    signatures: list[object] = []
    for path in _candidates(workspace_path, environ, also):
        try:
            stat = path.stat()
        except OSError:
            signatures.append([str(path)])
            continue
        if stat.st_ctime_ns + RACY_NS >= now_ns or stat.st_mtime_ns + RACY_NS >= now_ns:
            return None
        signatures.append(
            [str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]
        )
    env = sorted(
        (k, v)
        for k, v in environ.items()
        if k.startswith("CARGO") and not k.startswith(_IGNORED_ENV)
    )
    text = json.dumps([str(workspace_path), env, signatures], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recorded(workspace_path: Path) -> str | None:
    """The digest the record was made under, None without a readable record."""
    try:
        data = json.loads(record_path(workspace_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    digest = data.get("decides") if isinstance(data, dict) else None
    return digest if isinstance(digest, str) else None


def target_dir(
    workspace_path: Path,
    environ: Mapping[str, str],
    ask_cargo: Callable[[], Path],
    now_ns: int | None = None,
    also: Sequence[Path] = (),
) -> Path:
    """The target dir: the recorded answer while what decides it is unchanged, else cargo's
    (`ask_cargo`), recorded when it is the default one. `also`: more files whose change asks
    cargo again (the project's config: asking also checks it is not given twice). `now_ns`: the
    clock (tests)."""
    now = time.time_ns() if now_ns is None else now_ns
    digest = decides(workspace_path, environ, now, also)
    if digest is not None and recorded(workspace_path) == digest:
        return default_target_dir(workspace_path)
    answer = ask_cargo()
    if digest is not None and answer.resolve() == default_target_dir(workspace_path).resolve():
        from nox_cargo.fsutil import atomic_write_text

        with contextlib.suppress(OSError):  # the next run asks cargo again
            path = record_path(workspace_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps({"decides": digest, "target_dir": str(answer)}))
    return answer
