"""Run a WASI module in-process with wasmtime (PyPI `wasmtime`): stdin in, stdout and exit code out.

The module gets no directories, no environment and the arguments given; stdin, stdout and stderr
are temp files. `proc_exit` surfaces as `ExitTrap` (its code is the exit status); any other trap is
a crash of the module and is reported as such.
"""

from __future__ import annotations

import importlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nox_cargo.errors import NoxCargoError, Unavailable


@dataclass(frozen=True)
class WasiRun:
    exit_code: int
    stdout: bytes
    stderr: bytes
    runtime: str  # e.g. "wasmtime 50.0.1 (Python)"


def load_wasmtime() -> Any:
    """The wasmtime module, or Unavailable with the fix."""
    try:
        return importlib.import_module("wasmtime")
    except ImportError:
        raise Unavailable(
            "The smoke run needs the wasmtime Python package, which is not installed.",
            "pip install wasmtime",
        ) from None


def _version() -> str:
    try:
        from importlib.metadata import version

        return f"wasmtime {version('wasmtime')} (Python)"
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return "wasmtime (Python)"


def run_wasi(module_path: Path, stdin: bytes, args: tuple[str, ...], scratch: Path) -> WasiRun:
    """Instantiate the module with WASI and call `_start`."""
    wasmtime = load_wasmtime()
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="wasi-") as tmp:
        stdin_path = Path(tmp) / "stdin"
        stdout_path = Path(tmp) / "stdout"
        stderr_path = Path(tmp) / "stderr"
        stdin_path.write_bytes(stdin)
        engine = wasmtime.Engine()
        try:
            module = wasmtime.Module.from_file(engine, str(module_path))
        except wasmtime.WasmtimeError as exc:
            raise NoxCargoError(
                f"wasmtime rejects {module_path}: {str(exc).splitlines()[0]}",
                "the module is invalid; if wasm-opt produced it, rerun with "
                "`-c wasm.optimize=false` to compare, and report the wasm-opt version.",
            ) from None
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        store = wasmtime.Store(engine)
        wasi = wasmtime.WasiConfig()
        wasi.argv = [module_path.stem, *args]
        wasi.stdin_file = str(stdin_path)
        wasi.stdout_file = str(stdout_path)
        wasi.stderr_file = str(stderr_path)
        store.set_wasi(wasi)
        try:
            instance = linker.instantiate(store, module)
        except wasmtime.WasmtimeError as exc:
            raise NoxCargoError(
                f"{module_path} cannot be instantiated as a WASI command: "
                f"{str(exc).splitlines()[0]}",
                "build the package as a wasm32-wasip1 binary (a `bin` target with `main`).",
            ) from None
        start = instance.exports(store).get("_start")
        if start is None:
            raise NoxCargoError(
                f"{module_path} exports no `_start`: it is not a WASI command.",
                "configure `wasm.package` to a package with a bin target.",
            )
        code = 0
        try:
            start(store)
        except wasmtime.ExitTrap as exc:
            code = exc.code
        except wasmtime.WasmtimeError as exc:
            stderr = stderr_path.read_bytes().decode("utf-8", "replace").strip()
            raise NoxCargoError(
                f"{module_path} trapped under wasmtime: {str(exc).splitlines()[0]}"
                + (f"\nIts stderr:\n{stderr}" if stderr else ""),
                "the module crashed; run it by hand with `wasmtime run` to debug.",
            ) from None
        return WasiRun(code, stdout_path.read_bytes(), stderr_path.read_bytes(), _version())
