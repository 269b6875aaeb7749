"""Facts from git the release stages record: the commit, and SOURCE_DATE_EPOCH."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nox_cargo.errors import ConfigError, NoxCargoError
from nox_cargo.process import run


def commit(repo: Path) -> str:
    """The HEAD commit, or "unknown" outside a git checkout."""
    try:
        done = run(["git", "rev-parse", "HEAD"], cwd=repo, capture=True, quiet=True, check=False)
    except NoxCargoError:
        return "unknown"
    return done.stdout.strip() if done.ok else "unknown"


def source_date_epoch(repo: Path, environ: Mapping[str, str]) -> int:
    """SOURCE_DATE_EPOCH from the environment, else the last commit's time; never the clock."""
    text = environ.get("SOURCE_DATE_EPOCH")
    if text is not None:
        if not text.strip().isdigit():
            raise ConfigError(
                f"SOURCE_DATE_EPOCH={text!r} is not a whole number of seconds since 1970.",
                "set SOURCE_DATE_EPOCH to e.g. `$(git log -1 --format=%ct)`, or unset it.",
            )
        return int(text)
    try:
        done = run(
            ["git", "log", "-1", "--format=%ct"], cwd=repo, capture=True, quiet=True, check=False
        )
    except NoxCargoError:
        done = None
    if done is None or not done.ok or not done.stdout.strip().isdigit():
        raise ConfigError(
            f"SOURCE_DATE_EPOCH is not set and {repo} has no git commit to take it from.",
            "set SOURCE_DATE_EPOCH (seconds since 1970) for reproducible artifacts.",
        )
    return int(done.stdout.strip())
