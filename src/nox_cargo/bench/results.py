"""The raw result document: every sample of every case, the sizes, and the environment.

Written to `<report_dir>/bench/results.json` on every run and, with `--save FILE`, as a baseline
for later `--baseline FILE` comparisons. Reading one back checks it thoroughly: a corrupt,
truncated or foreign file is a clear error naming the file, never a traceback.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nox_cargo.errors import NoxCargoError
from nox_cargo.fsutil import atomic_write_text

SCHEMA_VERSION = 1
KIND = "nox-cargo-bench"


class BaselineError(NoxCargoError):
    """A saved bench result cannot be used."""


@dataclass(frozen=True)
class Subject:
    """One measured binary."""

    label: str  # "head" | "base"
    ref: str  # git commit (or ref) it was built from
    binary: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ComparedResult:
    """A command measured beside the binary for information (`compare`, `--compare`)."""

    command: tuple[str, ...]  # as configured, placeholders kept
    samples: dict[str, tuple[float, ...]]  # block-aligned with the case's head samples


@dataclass(frozen=True)
class CaseResult:
    name: str
    mode: str  # latency | throughput
    args: tuple[str, ...]
    input_bytes: int
    invocations: int
    workers: int
    head: dict[str, tuple[float, ...]]
    base: dict[str, tuple[float, ...]] | None = None
    compared: tuple[ComparedResult, ...] = ()
    parameters: dict[str, str] = field(default_factory=dict)  # a parameter scan's values

    @property
    def shape(self) -> tuple[str, tuple[str, ...], int, int]:
        """What makes two results of a case comparable: mode, arguments, input, batch size."""
        return (self.mode, self.args, self.input_bytes, self.invocations)


@dataclass(frozen=True)
class SizeEntry:
    kind: str  # binary | wasm | image
    name: str
    bytes: int
    source: str  # the manifest it was read from


@dataclass(frozen=True)
class MicroEstimate:
    """One `cargo bench` benchmark as its harness computed it; times in ns per iteration.

    `median_ns` is criterion's point estimate of the median of the per-sample mean iteration
    times, `low_ns`..`high_ns` its bootstrap interval at `confidence` (criterion's, 0.95 unless
    the benchmark sets another). `samples_ns` are those per-sample times (sample.json's
    times / iters): the base/head comparison resamples them.
    """

    median_ns: float
    low_ns: float
    high_ns: float
    confidence: float
    samples_ns: tuple[float, ...] = ()
    source: str = ""  # the file it was read from


@dataclass(frozen=True)
class MicroResult:
    """A micro benchmark of `cargo bench` (criterion), on the head and, when compared, the base."""

    id: str  # the harness's full id, e.g. "parse/utf8/1024"
    harness: str  # "criterion"
    head: MicroEstimate | None
    base: MicroEstimate | None = None
    # With `--base`: (base, head) estimates of each round, the two run back to back in random
    # order; `head` and `base` are then the last round's.
    rounds: tuple[tuple[MicroEstimate, MicroEstimate], ...] = ()


@dataclass(frozen=True)
class BenchRun:
    created: str
    fingerprint: dict[str, str]
    head: Subject
    cases: tuple[CaseResult, ...]
    sizes: tuple[SizeEntry, ...] = ()
    comparison: str = "none"  # none | interleaved | baseline
    base: Subject | None = None
    base_fingerprint: dict[str, str] | None = None
    base_sizes: tuple[SizeEntry, ...] = ()
    baseline_file: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    micro: tuple[MicroResult, ...] = ()  # `cargo bench` results (optional, additive)

    def to_json(self) -> str:
        return json.dumps(self.document(), indent=1, sort_keys=True) + "\n"

    def to_json_line(self) -> str:
        """The same document on one line: one entry of a JSON Lines series (bench/series.py)."""
        return json.dumps(self.document(), sort_keys=True, separators=(",", ":")) + "\n"

    def document(self) -> dict[str, Any]:
        return {"schema_version": SCHEMA_VERSION, "kind": KIND, **asdict(self)}

    def save(self, path: Path) -> None:
        atomic_write_text(path, self.to_json())


def load_baseline(path: Path) -> BenchRun:
    """Read a saved result; every defect names the file and says what to do."""
    fix = f"re-create it with `nox -s bench -- --save {path}` on the base revision."
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"The baseline file {path} does not exist.", fix) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"Cannot read the baseline file {path}: {exc}.", fix) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"The baseline file {path} is corrupt or truncated: not valid JSON ({exc.msg} at "
            f"line {exc.lineno}, column {exc.colno}).",
            fix,
        ) from None
    return from_document(document, f"The baseline file {path}", fix)


def from_document(document: Any, where: str, fix: str) -> BenchRun:
    """A parsed JSON document checked and turned into a BenchRun; `where` names its place
    ("The baseline file X", "Line 3 of the series X") in the error."""
    if not isinstance(document, dict) or document.get("kind") != KIND:
        found = document.get("kind") if isinstance(document, dict) else None
        raise BaselineError(
            f"{where} is not a nox-cargo bench result (its `kind` is {found!r}, expected "
            f"{KIND!r}).",
            fix,
        )
    if document.get("schema_version") != SCHEMA_VERSION:
        raise BaselineError(
            f"{where} has schema_version {document.get('schema_version')!r}; "
            f"this nox-cargo reads schema_version {SCHEMA_VERSION}.",
            fix,
        )
    try:
        return _parse(document)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BaselineError(
            f"{where} does not have the expected structure ({exc!r}).", fix
        ) from None


def _strs(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError("expected an object of strings")
    return {str(k): str(v) for k, v in value.items()}


def _series(value: Any) -> dict[str, tuple[float, ...]]:
    if not isinstance(value, Mapping) or not value:
        raise TypeError("expected an object of sample lists")
    out: dict[str, tuple[float, ...]] = {}
    for key, samples in value.items():
        if not isinstance(samples, list) or not samples:
            raise ValueError(f"series {key!r} has no samples")
        numbers = []
        for s in samples:
            if isinstance(s, bool) or not isinstance(s, int | float) or not math.isfinite(s):
                raise ValueError(f"series {key!r} holds a non-number {s!r}")
            if s < 0:
                raise ValueError(
                    f"series {key!r} holds a negative sample {s!r} (times and sizes are >= 0)"
                )
            numbers.append(float(s))
        out[str(key)] = tuple(numbers)
    return out


def _subject(value: Any) -> Subject:
    return Subject(
        label=str(value["label"]),
        ref=str(value["ref"]),
        binary=str(value["binary"]),
        size=int(value["size"]),
        sha256=str(value["sha256"]),
    )


def _sizes(value: Any) -> tuple[SizeEntry, ...]:
    return tuple(
        SizeEntry(str(s["kind"]), str(s["name"]), int(s["bytes"]), str(s["source"])) for s in value
    )


def _parse(d: dict[str, Any]) -> BenchRun:
    cases = []
    for c in d["cases"]:
        cases.append(
            CaseResult(
                name=str(c["name"]),
                mode=str(c["mode"]),
                args=tuple(str(a) for a in c["args"]),
                input_bytes=int(c["input_bytes"]),
                invocations=int(c["invocations"]),
                workers=int(c["workers"]),
                head=_series(c["head"]),
                base=_series(c["base"]) if c.get("base") is not None else None,
                compared=tuple(
                    ComparedResult(tuple(str(a) for a in x["command"]), _series(x["samples"]))
                    for x in c.get("compared", [])
                ),
                parameters=_strs(c.get("parameters", {})),
            )
        )
    if not cases:
        raise ValueError("no cases")
    return BenchRun(
        created=str(d["created"]),
        fingerprint=_strs(d["fingerprint"]),
        head=_subject(d["head"]),
        cases=tuple(cases),
        sizes=_sizes(d.get("sizes", [])),
        comparison=str(d.get("comparison", "none")),
        base=_subject(d["base"]) if d.get("base") else None,
        base_fingerprint=_strs(d["base_fingerprint"]) if d.get("base_fingerprint") else None,
        base_sizes=_sizes(d.get("base_sizes", [])),
        baseline_file=str(d.get("baseline_file", "")),
        settings=dict(d.get("settings", {})),
        micro=tuple(_micro(m) for m in d.get("micro") or ()),
    )


def parse_estimate(value: Any) -> MicroEstimate | None:
    if value is None:
        return None
    numbers = {k: float(value[k]) for k in ("median_ns", "low_ns", "high_ns", "confidence")}
    samples = tuple(float(s) for s in value.get("samples_ns") or ())
    if not all(math.isfinite(v) and v >= 0 for v in (*numbers.values(), *samples)):
        raise ValueError(f"micro benchmark estimate {value!r} holds a negative or non-number")
    return MicroEstimate(**numbers, samples_ns=samples, source=str(value.get("source", "")))


def _micro(value: Any) -> MicroResult:
    return MicroResult(
        id=str(value["id"]),
        harness=str(value["harness"]),
        head=parse_estimate(value.get("head")),
        base=parse_estimate(value.get("base")),
        rounds=tuple(_pair(r) for r in value.get("rounds") or ()),
    )


def _pair(value: Any) -> tuple[MicroEstimate, MicroEstimate]:
    base, head = (parse_estimate(v) for v in value)
    if base is None or head is None:
        raise ValueError("a round needs a base and a head estimate")
    return base, head
