"""A benchmarked run that never exits is killed at `bench.run-timeout` with its whole process
group, and the failure names the case; the launcher is the real one, built by the real rustc."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from nox_cargo.bench.launcher import Command, RunFailed, build_launcher, launch
from nox_cargo.bench.runner import sampling_of
from nox_cargo.config import load
from tests.integration.test_bench import RUSTC

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_launcher(RUSTC, tmp_path_factory.mktemp("launcher"))


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_run_that_never_exits_is_killed_with_its_group_and_named(
    launcher: Path, tmp_path: Path, jobs: int
) -> None:
    marker = f"{1000 + uuid.uuid4().int % 1000}.{os.getpid()}"
    # The run starts a grandchild and waits for it: killing the run alone would leave it behind.
    script = f"sleep {marker} & wait"
    with pytest.raises(RunFailed) as info:
        launch(
            launcher,
            [Command(("sh", "-c", script))],
            [(0, "m")] * 2,
            tmp_path,
            jobs=jobs,
            label=lambda _i: "`head` in case `hang`",
            timeout=1.0,
        )
    message = info.value.message
    assert "case `hang`" in message
    assert "did not finish within `bench.run-timeout` (1.0 s)" in message
    assert "bench.run-timeout" in (info.value.hint or "")
    assert processes_with(f"sleep {marker}") == []


def test_runs_within_the_timeout_are_measured(launcher: Path, tmp_path: Path) -> None:
    batch = launch(launcher, [Command(("true",))], [(0, "m")] * 3, tmp_path, timeout=30.0)
    assert len(batch.records) == 3
    assert all(r.status == 0 for r in batch.records)


def test_the_stage_takes_the_timeout_from_config() -> None:
    config = load(None, {"NOX_CARGO_BENCH_RUN_TIMEOUT": "2.5"})
    assert sampling_of(config.bench).run_timeout == 2.5
    assert load(None, {}).bench.run_timeout == 60.0
