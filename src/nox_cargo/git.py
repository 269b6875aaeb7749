"""Facts from git the release stages record: the commit, the tree's state, SOURCE_DATE_EPOCH."""

from __future__ import annotations

import hashlib
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


def tree_state(repo: Path) -> str:
    """The HEAD commit, or `<commit>+dirty.<hash>` when the working tree differs from it.

    The hash (12 hex digits) covers `git diff HEAD --binary` and the untracked, not ignored files
    (name and content), so two different sets of changes on one commit get different labels, and
    the same changes the same label. "unknown" outside a git checkout.
    """
    try:
        where = run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            cwd=repo,
            capture=True,
            quiet=True,
            check=False,
        )
    except NoxCargoError:
        return "unknown"
    if not where.ok or len(where.stdout.splitlines()) != 2:
        return "unknown"
    top, head = where.stdout.splitlines()
    repo = Path(top)  # every path below is relative to the top of the checkout
    status = run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        capture=True,
        quiet=True,
        check=False,
    )
    if not status.ok or not status.stdout.strip():
        return head
    digest = hashlib.sha256()
    diff = run(["git", "diff", "HEAD", "--binary"], cwd=repo, capture=True, quiet=True, check=False)
    digest.update(diff.stdout.encode("utf-8", "surrogateescape"))
    untracked = run(
        ["git", "ls-files", "-z", "--others", "--exclude-standard"],
        cwd=repo,
        capture=True,
        quiet=True,
        check=False,
    )
    for name in sorted(n for n in untracked.stdout.split("\0") if n):
        digest.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0")
        try:
            with (repo / name).open("rb") as file:
                digest.update(hashlib.file_digest(file, "sha256").digest())
        except OSError:
            digest.update(b"unreadable")
    return f"{head}+dirty.{digest.hexdigest()[:12]}"


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
