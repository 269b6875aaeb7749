"""Failures whose cause cargo states plainly, turned into the right fix line.

A cargo run fails with a generic hint ("fix the compile errors shown above"); some failures are
not the sources' fault, and cargo says so in a recognisable sentence. `explain` swaps the hint
for the one that fixes that cause.
"""

from __future__ import annotations

import re

from nox_cargo.errors import CommandFailed

_TOO_OLD = re.compile(
    r"package `(?P<package>[^`]+)` cannot be built because it requires rustc (?P<wanted>\S+) "
    r"or newer, while the currently active rustc version is (?P<active>\S+)"
)


def explain(exc: CommandFailed) -> CommandFailed:
    """`exc`, with its hint replaced when cargo's output names a cause outside the sources."""
    match = _TOO_OLD.search(" ".join(exc.tail.split()))
    if match:
        wanted, active = match["wanted"], match["active"]
        return CommandFailed(
            exc.argv,
            exc.returncode,
            exc.tail,
            f"this toolchain (rustc {active}) is older than the workspace's `rust-version` "
            f"({wanted}, package `{match['package'].split()[0]}`): install a newer one "
            f"(`rustup update`, or `rustup toolchain install {wanted}` and a "
            "rust-toolchain.toml), or lower `rust-version` if the code builds on older rustc.",
        )
    return exc
