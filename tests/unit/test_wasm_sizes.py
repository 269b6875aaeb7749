"""Size figures and the budget gate: exact bytes, headroom or overrun, budgets that are sizes."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from nox_cargo import config as cfg
from nox_cargo.errors import ConfigError
from nox_cargo.wasm import sizes


def test_python_gzip_fallback_is_level9_without_timestamp(tmp_path: Path) -> None:
    data = os.urandom(2000) + b"weft " * 5000
    path = tmp_path / "m.wasm"
    path.write_bytes(data)
    measure = sizes.gzip_size(path, tmp_path, use_cli=False)
    compressed = gzip.compress(data, compresslevel=9, mtime=0)
    assert measure.actual == len(compressed)
    assert compressed[4:8] == b"\x00\x00\x00\x00"  # mtime 0: the figure is reproducible
    assert gzip.decompress(compressed) == data
    assert "zlib" in measure.method


def row(name: str, actual: int, budget: int | None) -> sizes.GateRow:
    return sizes.GateRow(sizes.Measure(name, actual, "test"), budget, f"wasm.{name}-budget")


def test_budget_is_compared_on_exact_bytes() -> None:
    assert row("raw", 1024, 1024).ok
    assert not row("raw", 1025, 1024).ok
    assert row("raw", 1025, 1024).headroom == -1
    assert row("brotli", 10**9, None).ok


def test_gate_table_shows_headroom_and_overrun() -> None:
    rows = [row("raw", 103122, 1024), row("gzip", 44376, 122880), row("brotli", 35019, None)]
    table = sizes.gate_table(rows)
    assert table[0][:5] == (
        "raw",
        "1024 B (1.0 KiB)",
        "103122 B (100.7 KiB)",
        "102098 B (99.7 KiB) over",
        "OVER BUDGET",
    )
    assert table[1][3] == "78504 B (76.7 KiB) headroom"
    assert table[1][4] == "ok"
    assert table[2][1] == "—"
    assert table[2][4] == "not gated"
    text = sizes.plain_table(rows)
    assert "OVER BUDGET" in text
    assert "102098 B (99.7 KiB) over" in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_gate_maps_budgets_by_measure() -> None:
    measures = [sizes.Measure("raw", 10, "x"), sizes.Measure("gzip", 5, "y")]
    rows = sizes.gate(measures, {"raw": (8, "wasm.raw-budget")})
    assert [(r.budget, r.ok, r.key) for r in rows] == [
        (8, False, "wasm.raw-budget"),
        (None, True, ""),
    ]


def test_budgets_parse_as_sizes() -> None:
    config = cfg.load(None, {}, ["wasm.raw-budget=1KiB", "wasm.brotli-budget=40 KB"])
    assert config.wasm.raw_budget == 1024
    assert config.wasm.brotli_budget == 40_000
    assert config.wasm.gzip_budget == 120 * 1024
    assert cfg.WasmConfig().raw_budget == 300 * 1024


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("wasm.raw-budget=huge", "is not a size"),
        ("wasm.gzip-budget=1.5", "not a whole number of bytes"),
        ("wasm.targets=x86_64-unknown-linux-gnu", "is not a wasm target triple"),
        ("wasm.breakdown-top=-1", "must be 0 or more"),
    ],
)
def test_bad_wasm_config_is_a_clear_error(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg.load(None, {}, [assignment])
    key = assignment.split("=", 1)[0]
    assert message in info.value.message
    assert key in info.value.message


def test_budget_from_toml_that_is_not_a_size() -> None:
    source = cfg.ConfigSource({"wasm": {"raw-budget": "big"}}, "pyproject.toml", Path())
    with pytest.raises(ConfigError, match=r"wasm\.raw-budget.*is not a size"):
        cfg.load(source, {})
