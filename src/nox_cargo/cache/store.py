"""Recorded stage results under `<target dir>/nox-cargo/cache/`: one JSON entry per session.

An entry holds the key's components, the verdict (`passed` or `failed`, with the message and fix),
the figures the stage showed (replayed when the result is reused), the sha256 of every output,
when it ran, and which CI job recorded it. Entries are written atomically; an entry that cannot be
read is ignored with a note and replaced by the next run. Skips are never recorded: what this
machine lacks is looked at again on every run.

Under CI (`CI` set) an entry is reused only when this CI job recorded it (same GITHUB_RUN_ID,
GITHUB_RUN_ATTEMPT and GITHUB_JOB) or when the config says `cache = true` (a job that restores
the cache directory with actions/cache sets `NOX_CARGO_CACHE=true`): a runner's leftovers are
never taken for a result.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nox_cargo.console import Event
from nox_cargo.fsutil import atomic_write_text

SCHEMA_VERSION = 1
CACHE_DIR = "cache"  # under the report dir: <target dir>/nox-cargo/cache/


def cache_dir(report_dir: Path) -> Path:
    return report_dir / CACHE_DIR


def ci_job(environ: Mapping[str, str]) -> str:
    """This CI job's identity ("" outside GitHub Actions' variables)."""
    parts = [environ.get(k, "") for k in ("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_JOB")]
    return "/".join(parts) if any(parts) else ""


@dataclass(frozen=True)
class Entry:
    session: str
    components: Mapping[str, str]
    verdict: str  # "passed" | "failed"
    message: str
    hint: str | None
    events: Sequence[Event]
    outputs: Mapping[str, str]  # path → sha256
    finished: float  # time.time() when it ended
    seconds: float
    ci_job: str = ""
    schema_version: int = field(default=SCHEMA_VERSION)

    def since(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.finished))


class Corrupt(Exception):
    """An entry that cannot be read: it is ignored (and replaced by the next run)."""


def entry_path(directory: Path, session: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.=-]+", "_", session).strip("_")
    return directory / f"{slug}.json"


def load(directory: Path, session: str) -> Entry | None:
    """The recorded entry of `session`, None when there is none; `Corrupt` when unreadable."""
    path = entry_path(directory, session)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Corrupt(f"{path} cannot be read ({exc.strerror})") from None
    try:
        data: Any = json.loads(text)
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            raise Corrupt(f"{path} is not a cache entry of schema {SCHEMA_VERSION}")
        entry = Entry(**data)
        if entry.session != session or entry.verdict not in ("passed", "failed"):
            raise Corrupt(f"{path} is not the entry of {session}")
        if not isinstance(entry.components, dict) or not isinstance(entry.outputs, dict):
            raise Corrupt(f"{path} has malformed fields")
    except (ValueError, TypeError) as exc:
        raise Corrupt(f"{path} is corrupt ({exc})") from None
    return entry


def save(directory: Path, entry: Entry) -> None:
    path = entry_path(directory, entry.session)
    atomic_write_text(path, json.dumps(asdict(entry), indent=1, sort_keys=True) + "\n")


def forget(directory: Path, session: str) -> None:
    entry_path(directory, session).unlink(missing_ok=True)
