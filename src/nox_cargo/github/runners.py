"""GitHub-hosted runner labels: which ones GitHub has retired or will retire, and their successors.

A job on a retired label is never picked up: it waits in the queue until it is cancelled, so the
pipeline looks stuck rather than red. `nox -s workflows` fails on one, naming the replacement.
Keep `RETIRED` up to date from GitHub's changelog and the runner-images README (the date is the
day GitHub stopped running jobs on the label).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from nox_cargo.errors import NoxCargoError


@dataclass(frozen=True)
class Retirement:
    """One retired (or retiring) label."""

    label: str
    date: dt.date
    replacement: str

    def retired(self, today: dt.date) -> bool:
        return today >= self.date


RETIRED: dict[str, Retirement] = {
    r.label: r
    for r in (
        Retirement("ubuntu-16.04", dt.date(2021, 9, 20), "ubuntu-24.04"),
        Retirement("ubuntu-18.04", dt.date(2023, 4, 3), "ubuntu-24.04"),
        Retirement("ubuntu-20.04", dt.date(2025, 4, 15), "ubuntu-24.04"),
        Retirement("macos-10.15", dt.date(2022, 8, 30), "macos-15"),
        Retirement("macos-11", dt.date(2024, 6, 28), "macos-15"),
        Retirement("macos-12", dt.date(2024, 12, 3), "macos-15"),
        # macos-13 was the last Intel image of its generation; Intel builds go to macos-15-intel.
        Retirement("macos-13", dt.date(2025, 12, 4), "macos-15-intel"),
        Retirement("macos-13-large", dt.date(2025, 12, 4), "macos-15-intel"),
        Retirement("macos-13-xlarge", dt.date(2025, 12, 4), "macos-15-xlarge"),
        Retirement("macos-14", dt.date(2026, 11, 2), "macos-15"),
        Retirement("macos-14-large", dt.date(2026, 11, 2), "macos-15-intel"),
        Retirement("macos-14-xlarge", dt.date(2026, 11, 2), "macos-15-xlarge"),
        Retirement("windows-2019", dt.date(2025, 6, 30), "windows-2025"),
    )
}
# How long before a retirement `nox -s workflows` starts warning.
WARN_DAYS = 90


class RetiredRunner(NoxCargoError):
    """A job is configured for a runner label GitHub no longer serves."""


@dataclass(frozen=True)
class LabelUse:
    """Where a runner label is configured: a registry target, or a workflow job."""

    label: str
    where: str


def runner_os(runner: str) -> str:
    """The OS of a GitHub Actions runner label (`macos-15` → macos; anything else is Linux)."""
    label = runner.lower()
    if label.startswith("macos"):
        return "macos"
    if label.startswith("windows"):
        return "windows"
    return "linux"


def runner_arch(runner: str) -> str:
    """The CPU of a GitHub-hosted Linux runner label (`ubuntu-24.04-arm` → aarch64)."""
    return "aarch64" if runner.lower().endswith("-arm") else "x86_64"


def retirement(label: str) -> Retirement | None:
    return RETIRED.get(label.strip().lower())


def check(uses: Iterable[LabelUse], today: dt.date) -> list[str]:
    """Warnings for labels retiring within WARN_DAYS; RetiredRunner for any already retired."""
    problems: list[str] = []
    warnings: list[str] = []
    for use in uses:
        found = retirement(use.label)
        if found is None:
            continue
        if found.retired(today):
            problems.append(
                f"{use.where}: `{use.label}` was retired by GitHub on {found.date.isoformat()}; "
                f"use `{found.replacement}`."
            )
        elif (found.date - today).days <= WARN_DAYS:
            warnings.append(
                f"{use.where}: `{use.label}` retires on {found.date.isoformat()}; move to "
                f"`{found.replacement}`."
            )
    if problems:
        raise RetiredRunner(
            "Jobs would wait forever for runners GitHub no longer has:\n"
            + "\n".join(f"  - {p}" for p in dict.fromkeys(problems)),
            "set each target's `runner` (`[[tool.nox-cargo.targets]]`) or the job's `runs-on:` "
            "to the replacement, then run `nox -s workflows -- --write`.",
        )
    return list(dict.fromkeys(warnings))


_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def literal_labels(runs_on: object) -> list[str]:
    """The plain labels of a job's `runs-on:` (expressions are resolved through the matrix)."""
    if isinstance(runs_on, str):
        values = [runs_on]
    elif isinstance(runs_on, list):
        values = [str(v) for v in runs_on]
    elif isinstance(runs_on, dict):
        labels = runs_on.get("labels")
        values = [labels] if isinstance(labels, str) else [str(v) for v in labels or []]
    else:
        values = []
    return [v for v in values if v and not _EXPRESSION.search(v)]
