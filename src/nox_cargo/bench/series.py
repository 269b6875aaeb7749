"""A series of saved bench results: a JSON Lines file, one result document (results.json's) a line.

`--save bench-history/main.jsonl` appends this run's result; `--history FILE` reads one to show
the trend; `--baseline FILE` compares with its last result. A plain single-document `.json`
file (what `--save FILE.json` has always written) reads as a series of one, and `--save` keeps
rewriting such a file whole, so existing baselines and scripts see no change.

Appending writes a new file atomically (the existing lines verbatim, then the new one) under a
lock, so an interrupted save leaves the old series. A series written by other means may end in a
torn line (a copy cut short): that last line is dropped with a note. Any other line that is not a
result is an error naming the file and the line, with the fix; nothing is read past it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from nox_cargo.bench.results import BaselineError, BenchRun, from_document
from nox_cargo.fsutil import atomic_write_text, locked


@dataclass(frozen=True)
class Series:
    path: Path
    runs: tuple[BenchRun, ...]
    lines: tuple[str, ...]  # each result's document on one line, as read (kept verbatim)
    notes: tuple[str, ...] = ()  # for information: no file yet, an empty file
    dropped: tuple[str, ...] = ()  # warnings: a torn last line left out


def single_document(path: Path) -> bool:
    """A `.json` path holds one result (rewritten by --save); any other is a JSON Lines series."""
    return path.suffix.lower() == ".json"


def read(path: Path, role: str = "series", missing_ok: bool = False) -> Series:
    """Every result in the file, oldest first. `role` names the file in errors ("baseline")."""
    fix = (
        f"re-create it with `nox -s bench -- --save {path}`"
        if role == "baseline"
        else "point `--history`/`--save` at a JSON Lines file that `nox -s bench -- --save` wrote"
    )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return Series(path, (), (), (f"{path} does not exist yet: no earlier results",))
        raise BaselineError(f"The {role} file {path} does not exist.", fix + ".") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"Cannot read the {role} file {path}: {exc}.", fix + ".") from None
    if not text.strip():
        return Series(path, (), (), (f"{path} is empty: no earlier results",))
    try:
        document = json.loads(text)  # one document (a one-line series reads the same)
    except json.JSONDecodeError:
        if any(_is_object(line) for line in text.split("\n")):
            return _lines(path, text, role)
        return _whole(path, text, role, fix)
    run = from_document(document, f"The {role} file {path}", fix + ".")
    one_line = text.strip()
    if "\n" in one_line:  # pretty-printed: results.json, or `--save FILE.json`
        one_line = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return Series(path, (run,), (one_line,))


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def _whole(path: Path, text: str, role: str, fix: str) -> NoReturn:
    """Neither one JSON document nor lines of results: the error of the whole-document parse."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"The {role} file {path} is corrupt or truncated: neither one JSON document nor "
            f"JSON Lines ({exc.msg} at line {exc.lineno}, column {exc.colno}).",
            fix + ".",
        ) from None
    raise AssertionError("unreachable: the text parsed")  # pragma: no cover


def _lines(path: Path, text: str, role: str) -> Series:
    runs: list[BenchRun] = []
    kept: list[str] = []
    dropped: list[str] = []
    numbered = list(enumerate(text.split("\n"), 1))
    last = max(n for n, line in numbered if line.strip())
    for number, line in numbered:
        if not line.strip():
            continue
        fix = (
            f"delete line {number} (`sed -i '{number}d' {path}`) or restore {path.name} from "
            "its last good copy (the CI cache or artifact); the other lines are kept."
        )
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == last and not text.endswith("\n"):
                dropped.append(
                    f"{path}: dropped the torn last line {number} (cut short: {exc.msg}); the "
                    "next --save rewrites the series without it"
                )
                continue
            raise BaselineError(
                f"Line {number} of the {role} {path} is not valid JSON ({exc.msg} at column "
                f"{exc.colno}).",
                fix,
            ) from None
        runs.append(from_document(document, f"Line {number} of the {role} {path}", fix))
        kept.append(line.strip())
    return Series(path, tuple(runs), tuple(kept), dropped=tuple(dropped))


def last(path: Path) -> BenchRun:
    """The most recent result of a series (or the one result of a `.json` file): `--baseline`."""
    series = read(path, role="baseline")
    if not series.runs:
        raise BaselineError(
            f"The baseline file {path} holds no result.",
            f"save one first with `nox -s bench -- --save {path}`.",
        )
    return series.runs[-1]


def save(path: Path, run: BenchRun) -> Series:
    """Append `run` to the series at `path` (a `.json` path is rewritten with `run` alone).

    The whole file is written anew, atomically, under a lock: a kill leaves the old series, and
    two runs saving at once both land. Returns the series as written.
    """
    if single_document(path):
        run.save(path)
        return Series(path, (run,), (run.to_json_line().strip(),))
    with locked(path.parent, f".{path.name}.lock"):
        current = read(path, missing_ok=True)
        lines = (*current.lines, run.to_json_line().strip())
        atomic_write_text(path, "".join(line + "\n" for line in lines))
    return Series(path, (*current.runs, run), lines, current.notes, current.dropped)
