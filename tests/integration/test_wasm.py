"""`wasm(target=wasm32-wasip1)` on a copy of examples/weft: build, wasm-opt, gate, wasmtime run.

One project (and one cargo build) is shared by the module: the passing run first, then the runs
that must fail reuse its target dir (cargo finds everything fresh).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nox_cargo.wasm import binary, runtime
from tests.conftest import require, require_tool
from tests.integration.conftest import make_project, run_nox

pytestmark = pytest.mark.integration

SESSION = "wasm(target=wasm32-wasip1)"
Completed = subprocess.CompletedProcess[str]
CONFIG = """
[tool.nox-cargo.wasm]
package = "weft-wasm"
native-bin = "weft"
native-args = ["stats"]
smoke-input = "smoke.txt"
"""
SMOKE_TEXT = (
    "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n"
)


def wasm_std_here() -> bool:
    from nox_cargo.build import toolchain as tc

    return any(t.has_std("wasm32-wasip1") for t in tc.discover())


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    require(wasm_std_here(), "no toolchain with the wasm32-wasip1 std (libstd-rust-dev-wasm32)")
    require(importlib.util.find_spec("wasmtime") is not None, "pip install wasmtime")
    require_tool("wasm-opt", "gzip", "cargo")
    root = make_project(tmp_path_factory.mktemp("wasm") / "project", CONFIG)
    (root / "smoke.txt").write_text(SMOKE_TEXT)
    summary = root / "step-summary.md"
    done = run_nox(root, "-s", SESSION, env={"GITHUB_STEP_SUMMARY": str(summary)})
    # Later runs in this project fail on purpose (and then unstage the module): the tests of the
    # passing run read a snapshot of what it wrote.
    if done.returncode == 0:
        snapshot(root).mkdir()
        shutil.copytree(root / "dist" / "wasm", snapshot(root) / "dist")
        shutil.copy(live_report_path(root), snapshot(root) / "report.json")
    return root, done


def snapshot(root: Path) -> Path:
    return root.parent / "snapshot"


def shipped(root: Path) -> Path:
    return snapshot(root) / "dist" / "wasm32-wasip1" / "weft-wasm.wasm"


def live_report_path(root: Path) -> Path:
    return root / "weft" / "target" / "nox-cargo" / "wasm-wasm32-wasip1.json"


def report(root: Path, live: bool = False) -> dict[str, Any]:
    path = live_report_path(root) if live else snapshot(root) / "report.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_builds_optimizes_runs_and_passes_the_gate(built: tuple[Path, Any]) -> None:
    root, done = built
    assert done.returncode == 0, done.stdout
    module = shipped(root)
    data = report(root)
    assert data["passed"] and data["staged"]
    assert data["optimizer"].startswith("wasm-opt version")
    assert data["sizes"]["raw"] < data["sizes"]["raw_unoptimized"]
    assert data["smoke"]["identical"] and data["smoke"]["reference"] == "weft stats"
    # The staged module is stripped and valid.
    parsed = binary.parse_file(module)
    assert not parsed.has_names
    assert not any(s.id == 0 for s in parsed.sections)
    manifest = json.loads(module.with_name("wasm-manifest.json").read_text())
    assert manifest["kind"] == "wasm"
    assert manifest["path"] == "wasm/wasm32-wasip1/weft-wasm.wasm"
    assert manifest["sha256"] == data["sha256"]
    assert manifest["sizes"] == data["sizes"]
    assert "rustc" in manifest["toolchain"]
    summary = (root / "step-summary.md").read_text()
    assert "within budget" in summary
    assert "| raw | 307200 B (300.0 KiB) |" in summary
    assert "weft_wasm::main" in summary


def test_figures_equal_wc_and_gzip_cli(built: tuple[Path, Any]) -> None:
    root, done = built
    assert done.returncode == 0, done.stdout
    module = shipped(root)
    sizes = report(root)["sizes"]

    def count(pipeline: str) -> int:
        out = subprocess.run(
            ["sh", "-c", pipeline, "sh", str(module)], capture_output=True, text=True, check=True
        )
        return int(out.stdout.strip())

    assert sizes["raw"] == count('wc -c < "$1"')
    assert sizes["gzip"] == count('gzip -9 -c "$1" | wc -c')
    if shutil.which("brotli") and importlib.util.find_spec("brotli") is None:
        assert sizes["brotli"] == count('brotli -q 11 -c "$1" | wc -c')


def test_output_is_identical_to_native_weft_stats(built: tuple[Path, Any], tmp_path: Path) -> None:
    root, done = built
    assert done.returncode == 0, done.stdout
    module = shipped(root)
    native = root / "weft" / "target" / "release" / "weft"
    expected = subprocess.run(
        [native, "stats"], input=SMOKE_TEXT.encode(), capture_output=True, check=True
    ).stdout
    got = runtime.run_wasi(module, SMOKE_TEXT.encode(), (), tmp_path)
    assert got.exit_code == 0
    assert got.stdout == expected
    assert b"3 to\n2 be\n" in expected  # the input really was counted


def test_breakdown_lists_the_largest_functions_by_name(built: tuple[Path, Any]) -> None:
    root, done = built
    assert done.returncode == 0, done.stdout
    breakdown = report(root)["breakdown"]
    assert breakdown["named"]
    names = [f["name"] for f in breakdown["functions"]]
    assert "weft_wasm::main" in names
    assert not any(n.startswith("function[") for n in names[:5])
    sizes = [f["bytes"] for f in breakdown["functions"]]
    assert sizes == sorted(sizes, reverse=True)
    assert breakdown["sections"][0]["section"] == "code"
    assert "weft_wasm::main" in done.stdout


def test_tiny_budget_fails_with_the_overrun_table(built: tuple[Path, Any]) -> None:
    root, first = built
    assert first.returncode == 0, first.stdout
    done = run_nox(root, "-s", SESSION, "--", "-c", "wasm.raw-budget=1KiB")
    assert done.returncode != 0
    assert "over its size budget" in done.stdout
    assert "OVER BUDGET" in done.stdout
    assert "1024 B (1.0 KiB)" in done.stdout
    assert "Traceback" not in done.stdout
    assert report(root, live=True)["passed"] is False
    assert report(root, live=True)["staged"] is False
    assert not (root / "dist" / "wasm" / "wasm32-wasip1" / "weft-wasm.wasm").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("wasm.package=weft-web", "is not a member of the workspace"),
        ("wasm.gzip-budget=lots", "is not a size"),
        ("wasm.profile=no-such-profile", "does not define the cargo profile `no-such-profile`"),
    ],
)
def test_bad_input_is_a_clear_error(built: tuple[Path, Any], override: str, message: str) -> None:
    root, _ = built
    done = run_nox(root, "-s", SESSION, "--", "-c", override)
    assert done.returncode != 0
    assert message in done.stdout
    assert "Fix:" in done.stdout
    assert "Traceback" not in done.stdout


def test_truncated_module_is_a_clear_error(built: tuple[Path, Completed]) -> None:
    root, first = built
    assert first.returncode == 0, first.stdout
    # wasm32-wasi on rustc < 1.78 (Debian's 1.63), wasm32-wasip1 after
    (module,) = (root / "weft" / "target").glob("wasm32-wasi*/wasm-release/weft-wasm.wasm")
    original = module.read_bytes()
    stat = module.stat()
    try:
        # Same mtime as cargo's output, so cargo keeps it as fresh and the stage reads it.
        module.write_bytes(original[: len(original) // 2])
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        done = run_nox(root, "-s", SESSION)
    finally:
        module.write_bytes(original)
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert done.returncode != 0
    assert "is not a valid WebAssembly module" in done.stdout
    assert "truncated" in done.stdout
    assert "Traceback" not in done.stdout


FEATURE_WAT = """
(module
  (memory 1)
  (func (export "narrow") (param i32) (result i32) (i32.extend8_s (local.get 0)))
  (func (export "clear") (memory.fill (i32.const 0) (i32.const 0) (i32.const 16))))
"""


def target_features(*names: str) -> bytes:
    """A `target_features` custom section marking `names` as used, as wasm-ld writes it."""
    enc = binary.encode_u32
    entries = b"".join(b"+" + enc(len(n)) + n.encode() for n in names)
    payload = enc(len(b"target_features")) + b"target_features" + enc(len(names)) + entries
    return b"\x00" + enc(len(payload)) + payload


def test_wasm_opt_gets_the_features_the_module_uses(tmp_path: Path) -> None:
    require_tool("wasm-opt")
    require(importlib.util.find_spec("wasmtime") is not None, "pip install wasmtime")
    import wasmtime

    from nox_cargo.config import WasmConfig
    from nox_cargo.errors import NoxCargoError
    from nox_cargo.wasm import module as stage

    plain = bytes(wasmtime.wat2wasm(FEATURE_WAT))
    without = tmp_path / "without.wasm"
    without.write_bytes(plain)
    # wasm-opt 108 defaults to MVP: sign-ext and bulk-memory are rejected without flags.
    with pytest.raises(NoxCargoError) as info:
        stage.optimize(WasmConfig(), plain, without, tmp_path)
    assert "wasm-opt-args" in (info.value.hint or "")

    with_section = tmp_path / "with.wasm"
    with_section.write_bytes(plain + target_features("sign-ext", "bulk-memory"))
    out, described, _ = stage.optimize(
        WasmConfig(), with_section.read_bytes(), with_section, tmp_path
    )
    assert "--enable-sign-ext --enable-bulk-memory" in described
    shipped = binary.strip_custom(out)
    assert not any(s.id == 0 for s in binary.parse(shipped).sections)
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, shipped), [])
    narrow = instance.exports(store)["narrow"]
    assert isinstance(narrow, wasmtime.Func)
    assert narrow(store, 0x80) == -128  # i32.extend8_s survived wasm-opt
