"""The `nox-cargo` command (also `python -m nox_cargo`): `nox-cargo init [DIR] [--dry-run]`.

Everything else runs through nox (`nox -l` lists the stages); this command only sets a
workspace up for it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from nox_cargo import __version__
from nox_cargo.console import get_console
from nox_cargo.errors import NoxCargoError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nox-cargo",
        description="Set a Cargo workspace up for nox-cargo; then `nox` runs its pipeline.",
    )
    p.add_argument("--version", action="version", version=f"nox-cargo {__version__}")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = commands.add_parser(
        "init",
        help="write the noxfile, config, Dockerfile template and .gitignore line",
        description="Read `cargo metadata` and write what `nox` needs to run the pipeline of "
        "the workspace: noxfile.py, [tool.nox-cargo] in pyproject.toml, nox-cargo.Dockerfile "
        "and a dist/ line in .gitignore. Files it did not write are never overwritten.",
    )
    init.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=Path(),
        help="the workspace root, holding its Cargo.toml (default: the current directory)",
    )
    init.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from nox_cargo import init

    try:
        init.init(args.directory, dry_run=args.dry_run)
    except NoxCargoError as exc:
        get_console().error(exc.message, exc.hint, title="nox-cargo init")
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
