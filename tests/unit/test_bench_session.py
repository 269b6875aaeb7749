"""The bench session's arguments: flags win over `bench.*` keys; paths are relative to the root."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from nox_cargo import config as cfg
from nox_cargo.errors import ConfigError
from nox_cargo.project import Project
from nox_cargo.sessions import bench


def project(tmp_path: Path, overrides: list[str]) -> Project:
    return Project(tmp_path, cfg.load(None, {}, overrides), None, {})


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def fake_run_bench(proj: Project, **kwargs: Any) -> None:
        seen.append(kwargs)

    monkeypatch.setattr(bench, "run_bench", fake_run_bench)
    return seen


def args(**values: Any) -> argparse.Namespace:
    return argparse.Namespace(
        **{
            "base": None,
            "baseline": None,
            "save": None,
            "compare": None,
            "history": None,
            **values,
        }
    )


def test_config_keys_are_used_when_no_flag_is_given(
    tmp_path: Path, calls: list[dict[str, Any]]
) -> None:
    bench.run(project(tmp_path, ["bench.base=main", "bench.save=out/b.json"]), args())
    assert calls == [
        {
            "base_ref": "main",
            "baseline_path": None,
            "save_path": tmp_path / "out" / "b.json",
            "compare": (),
            "history_path": None,
        }
    ]


def test_history_key_and_flag(tmp_path: Path, calls: list[dict[str, Any]]) -> None:
    proj = project(tmp_path, ["bench.history=h/main.jsonl"])
    bench.run(proj, args())
    bench.run(proj, args(history=Path("other.jsonl")))
    assert [c["history_path"] for c in calls] == [
        tmp_path / "h" / "main.jsonl",
        tmp_path / "other.jsonl",
    ]


def test_flags_win_over_keys(tmp_path: Path, calls: list[dict[str, Any]]) -> None:
    proj = project(tmp_path, ["bench.baseline=old.json"])
    bench.run(proj, args(baseline=Path("/abs/new.json")))
    assert calls[0]["baseline_path"] == Path("/abs/new.json")


def test_base_and_baseline_keys_together_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not both"):
        cfg.load(None, {}, ["bench.base=main", "bench.baseline=b.json"])
