"""The environment fingerprint recorded with every result: CPU model, cores, kernel, rustc.

Two measurements are only comparable on the same fingerprint; a baseline from another machine
gives "inconclusive", never a failure.
"""

from __future__ import annotations

import platform
from pathlib import Path

from nox_cargo.bench.launcher import cpu_count


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "cpu model"):
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fingerprint(rustc: str) -> dict[str, str]:
    return {
        "cpu": cpu_model(),
        "cores": str(cpu_count()),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "os": platform.system(),
        "rustc": rustc,
        "python": platform.python_version(),
    }
