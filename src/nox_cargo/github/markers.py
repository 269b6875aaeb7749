"""Generated blocks in hand-written files: `# BEGIN nox-cargo generated: <name>` … `# END …`.

Only the lines between a pair of markers belong to nox-cargo; everything else in the file is the
user's and survives a rewrite byte for byte. The BEGIN marker's indentation is the indentation of
the generated lines, so a block can sit at any depth of a YAML document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.errors import NoxCargoError

BEGIN = "# BEGIN nox-cargo generated: "
END = "# END nox-cargo generated"
_BEGIN_LINE = re.compile(r"^(?P<indent>[ ]*)# BEGIN nox-cargo generated: (?P<name>[a-z0-9-]+)\s*$")
_MARKER_STARTS = ("# BEGIN nox-cargo", "# END nox-cargo")
_END_LINE = re.compile(r"^(?P<indent>[ ]*)# END nox-cargo generated\s*$")


class MarkerError(NoxCargoError):
    """A generated block's markers are unbalanced, nested, misnamed or mis-indented."""


@dataclass(frozen=True)
class Block:
    """One generated block: its name, indentation and the line numbers of its markers (0-based)."""

    name: str
    indent: str
    begin: int
    end: int


def find_blocks(text: str, path: Path) -> list[Block]:
    """Every generated block of `text`, in order; malformed markers are an error naming the line."""
    blocks: list[Block] = []
    open_name: str | None = None
    open_indent = ""
    open_line = 0
    for number, line in enumerate(text.splitlines()):
        begin = _BEGIN_LINE.match(line)
        end = _END_LINE.match(line)
        if begin is None and end is None and line.lstrip().startswith(_MARKER_STARTS):
            raise MarkerError(
                f"{path}:{number + 1}: malformed marker {line.strip()!r}.",
                f"write `{BEGIN}<name>` and `{END}` on lines of their own.",
            )
        if begin is not None:
            if open_name is not None:
                raise MarkerError(
                    f"{path}:{number + 1}: block {begin['name']!r} starts inside block "
                    f"{open_name!r} (opened on line {open_line + 1}).",
                    f"close {open_name!r} with `{END}` first.",
                )
            open_name, open_indent, open_line = begin["name"], begin["indent"], number
        elif end is not None:
            if open_name is None:
                raise MarkerError(
                    f"{path}:{number + 1}: `{END}` without a BEGIN marker.",
                    "remove it, or add the BEGIN marker of its block.",
                )
            if end["indent"] != open_indent:
                raise MarkerError(
                    f"{path}:{number + 1}: the END marker of {open_name!r} is not indented like "
                    f"its BEGIN marker (line {open_line + 1}).",
                    "indent both markers alike: the block is written at that indentation.",
                )
            blocks.append(Block(open_name, open_indent, open_line, number))
            open_name = None
    if open_name is not None:
        raise MarkerError(
            f"{path}:{open_line + 1}: block {open_name!r} has no `{END}` marker.",
            f"add `{END}` after the block, indented like its BEGIN marker.",
        )
    return blocks


def rewrite(
    text: str, path: Path, render: Callable[[str], list[str]], known: Collection[str]
) -> str:
    """`text` with the body of every block replaced by `render(name)` (lines without indentation).

    A block whose name is not in `known` is an error (a typo would otherwise go unchecked).
    """
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    out: list[str] = []
    position = 0
    for block in find_blocks(text, path):
        if block.name not in known:
            raise MarkerError(
                f"{path}:{block.begin + 1}: unknown generated block {block.name!r}.",
                f"use one of: {', '.join(sorted(known))}.",
            )
        out.extend(lines[position : block.begin + 1])
        out.extend((block.indent + body if body else "") + newline for body in render(block.name))
        position = block.end
    out.extend(lines[position:])
    return "".join(out)
