"""Calibration programs for the bench gate (benchmarks/ab_gate.py and the bench integration tests).

- `spinner`: a tiny Rust program that busy-waits `spin_ns` on the monotonic clock before
  printing one line. Two builds that differ only in `spin_ns` are a known A/B slowdown.
- `toucher`: allocates N MiB and writes every page, so its peak RSS is N MiB plus the runtime.

Both are std-only single files compiled with any rustc (`rustc -O`). The accuracy tests and the
A/A and A/B gate benchmark (benchmarks/ab_gate.py) use them; `compare_binaries` measures two
binaries interleaved exactly as `bench --base` does and returns the report rows.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from nox_cargo.bench import stats
from nox_cargo.bench.compare import Gate, Row, evaluate
from nox_cargo.bench.launcher import cpu_count
from nox_cargo.bench.measure import PreparedCase, Sampling, Side, measure
from nox_cargo.bench.results import BenchRun, CaseResult, Subject
from nox_cargo.fsutil import atomic_copy
from nox_cargo.process import run

SPINNER = """\
use std::time::{Duration, Instant};
const SPIN_NS: u64 = %d;
fn main() {
    let start = Instant::now();
    let spin = Duration::from_nanos(SPIN_NS);
    while start.elapsed() < spin {
        std::hint::spin_loop();
    }
    println!("spun {} ns", SPIN_NS);
}
"""

TOUCHER = """\
fn main() {
    let mib: usize = %d;
    let mut buffer: Vec<u8> = Vec::with_capacity(mib << 20);
    buffer.resize(mib << 20, 1); // writes every byte, so every page is resident
    let mut sum: u64 = 0;
    for page in buffer.chunks(4096) {
        sum += page[0] as u64;
    }
    println!("touched {} MiB ({})", mib, sum);
}
"""


# A busy-wait of SPIN_US µs, inserted as the first statement of a real program's `main`.
SPIN_BLOCK = """\
    {{
        // nox-cargo benchmarks: a calibrated slowdown
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_micros({spin_us}) {{
            std::hint::spin_loop();
        }}
    }}
"""


def with_spin(source: str, spin_us: int, anchor: str = "fn main() -> ExitCode {\n") -> str:
    """`source` with a `spin_us` busy-wait right after `anchor` (the opening of `main`)."""
    if anchor not in source:
        raise SystemExit(f"no `{anchor.strip()}` to put the busy-wait after")
    return source.replace(anchor, anchor + SPIN_BLOCK.format(spin_us=spin_us), 1)


def git(repo: Path, *args: str) -> str:
    """git in a scratch repository of a benchmark, with an identity of its own."""
    done = subprocess.run(
        ["git", "-c", "user.name=nox-cargo", "-c", "user.email=bench@localhost", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def compile_rust(rustc: Path | str, source: str, out: Path) -> Path:
    """`rustc -O` a single-file program to `out` (atomically)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".rustc-") as tmp:
        src = Path(tmp) / "main.rs"
        src.write_text(source, encoding="utf-8")
        exe = Path(tmp) / "main"
        run([rustc, "-O", "--edition", "2018", src, "-o", exe], capture=True, quiet=True)
        atomic_copy(exe, out)
    return out


def spinner(rustc: Path | str, spin_ns: int, out: Path) -> Path:
    return compile_rust(rustc, SPINNER % spin_ns, out)


def toucher(rustc: Path | str, mib: int, out: Path) -> Path:
    return compile_rust(rustc, TOUCHER % mib, out)


def startup_median_ns(
    launcher: Path,
    binary: Path,
    workdir: Path,
    runs: int = 300,
    seed: int = 0,
    args: Sequence[str] = (),
) -> float:
    case = PreparedCase("calibrate", "latency", tuple(args), tuple(args), None, 0, 1)
    sampling = Sampling(warmup=10, min_runs=runs, max_runs=runs, max_seconds=60, seed=seed)
    series = measure(launcher, case, [Side("calibrate", binary)], sampling, workdir)
    return stats.median(series[0]["wall_ns"])


def compare_binaries(
    launcher: Path,
    base: Path,
    head: Path,
    args: Sequence[str],
    sampling: Sampling,
    gate: Gate,
    workdir: Path,
) -> list[Row]:
    """Measure base and head interleaved (as `bench --base` does) and evaluate the rows."""
    case = PreparedCase("ab", "latency", tuple(args), tuple(args), None, 0, 1)
    sides = [Side("base", base), Side("head", head)]
    series = measure(launcher, case, sides, sampling, workdir)
    frozen = [{k: tuple(v) for k, v in s.items()} for s in series]
    result = BenchRun(
        created="",
        fingerprint={},
        head=Subject("head", "", str(head), 0, ""),
        cases=(CaseResult("ab", "latency", tuple(args), 0, 1, cpu_count(), frozen[1], frozen[0]),),
        comparison="interleaved",
        base=Subject("base", "", str(base), 0, ""),
        base_fingerprint={},
    )
    return evaluate(result, gate, seed=random.Random(sampling.seed).randrange(1 << 30))


def wall_row(rows: Sequence[Row]) -> Row:
    return next(r for r in rows if r.metric.startswith("wall time (median"))
