"""Which packages of a workspace's dependency graph compile C code in their build scripts.

A package with a build-dependency on `cc` or `cmake` compiles C (ring, tikv-jemalloc-sys, zstd-sys
...). Building it for a musl triple needs a C compiler for that triple; rust-lld alone cannot
provide one, so the plan has to know before cargo runs. `cargo metadata` (with dependencies)
answers; when it cannot (no network for an unlocked graph), nothing is assumed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nox_cargo.errors import NoxCargoError
from nox_cargo.process import run

C_BUILD_CRATES = ("cc", "cmake")


def from_metadata(data: Mapping[str, Any]) -> tuple[str, ...]:
    """`ring (cc)`-style names of the packages whose build scripts use cc or cmake."""
    names = {p["id"]: p["name"] for p in data.get("packages", [])}
    found: dict[str, str] = {}
    for node in (data.get("resolve") or {}).get("nodes", []):
        for dep in node.get("deps", []):
            crate = names.get(dep.get("pkg", ""), "")
            kinds = {k.get("kind") for k in dep.get("dep_kinds", [])}
            if crate in C_BUILD_CRATES and "build" in kinds:
                found.setdefault(names.get(node["id"], node["id"]), crate)
    return tuple(f"{name} ({crate})" for name, crate in sorted(found.items()))


@functools.cache
def c_code(workspace_root: Path, locked: bool) -> tuple[str, ...]:
    argv = ["cargo", "metadata", "--format-version", "1", *(["--locked"] if locked else [])]
    try:
        done = run(argv, cwd=workspace_root, capture=True, quiet=True, check=False)
    except NoxCargoError:
        return ()
    if not done.ok:
        return ()
    try:
        return from_metadata(json.loads(done.stdout))
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
        return ()
