"""Every `nox -s …` a workflow runs, with its session name resolved, checked against nox's list.

A step names its session through `env:` (`SESSION: "build(target=${{ matrix.target }})"`) and
runs `nox -s "$SESSION"`; this module expands the variable with the step, job and workflow env,
and the template with each combination of the job's matrix, so a renamed session or a matrix
value without a session is caught before CI runs.
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nox_cargo.github import workflow_yaml as wy

_TEMPLATE = re.compile(r"\$\{\{\s*(?P<expr>.*?)\s*\}\}")
_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SESSION_FLAGS = ("-s", "--session", "--sessions", "-e")


@dataclass(frozen=True)
class Invocation:
    """One session that one step of one job runs (for one matrix combination)."""

    workflow: Path
    job: str
    step: str
    session: str

    def where(self) -> str:
        return f"{self.workflow.name}: job `{self.job}`, step `{self.step}`"


def matrix_combinations(job: Mapping[str, Any]) -> list[dict[str, str]]:
    """The job's matrix as a list of {key: value} (one empty combination without a matrix)."""
    strategy = job.get("strategy")
    raw = strategy.get("matrix") if isinstance(strategy, Mapping) else None
    if raw is None:
        return [{}]
    if not isinstance(raw, Mapping):
        raise wy.WorkflowError(
            f"A matrix given as an expression ({raw!r}) cannot be checked.",
            "write the matrix as a mapping (nox-cargo generates it between markers).",
        )
    axes = {
        str(k): [str(v) for v in values]
        for k, values in raw.items()
        if k not in ("include", "exclude") and isinstance(values, list)
    }
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    if not axes:
        combos = []
    for extra in raw.get("include") or []:
        if isinstance(extra, Mapping):
            combos.append({str(k): _text(v) for k, v in extra.items()})
    return combos or [{}]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def expand_templates(text: str, combo: Mapping[str, str]) -> str:
    """`${{ matrix.x }}` replaced by the combination's value; other expressions stay as written."""

    def replace(match: re.Match[str]) -> str:
        expr = match["expr"]
        if expr.startswith("matrix.") and expr.removeprefix("matrix.") in combo:
            return combo[expr.removeprefix("matrix.")]
        return match.group(0)

    return _TEMPLATE.sub(replace, text)


def expand_variables(token: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["braced"] or match["bare"]
        return env.get(name, match.group(0))

    return _VARIABLE.sub(replace, token)


def nox_sessions(script: str) -> Iterator[list[str]]:
    """For each `nox` command of a shell script, the session arguments it selects (maybe none)."""
    joined = script.replace("\\\n", " ")
    for line in joined.splitlines():
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            tokens = list(lexer)
        except ValueError:
            continue
        command: list[str] = []
        for token in [*tokens, ";"]:
            if token and set(token) <= set(";&|()"):
                if command and command[0] == "nox":
                    yield _selected(command[1:])
                command = []
            elif command or not _ASSIGNMENT.match(token):  # `VAR=value nox …` runs nox
                command.append(token)


def _selected(args: list[str]) -> list[str]:
    names: list[str] = []
    taking = False
    for arg in args:
        if arg == "--":
            break
        if arg in _SESSION_FLAGS:
            taking = True
        elif arg.startswith("-"):
            taking = False
        elif taking:
            names.append(arg)
    return names


def _env(*layers: object) -> dict[str, str]:
    env: dict[str, str] = {}
    for layer in layers:
        if isinstance(layer, Mapping):
            env.update({str(k): _text(v) for k, v in layer.items()})
    return env


def collect(path: Path, workflow: dict[str, Any]) -> list[Invocation]:
    """Every (job, step, session) of one workflow, matrix templates expanded."""
    found: list[Invocation] = []
    for job_id, job in wy.jobs(workflow).items():
        for combo in matrix_combinations(job):
            for index, step in enumerate(wy.steps(job)):
                script = step.get("run")
                if not isinstance(script, str):
                    continue
                env = _env(workflow.get("env"), job.get("env"), step.get("env"))
                env = {k: expand_templates(v, combo) for k, v in env.items()}
                label = str(step.get("name") or f"#{index + 1}")
                for names in nox_sessions(script):
                    for name in names:
                        session = expand_variables(name, env)
                        found.append(Invocation(path, job_id, label, session))
    return list(dict.fromkeys(found))


def unknown(invocations: Collection[Invocation], known: Collection[str]) -> list[str]:
    """A problem line for each invocation whose session nox does not list."""
    problems = []
    for inv in invocations:
        if inv.session in known:
            continue
        if "$" in inv.session:
            why = "cannot be resolved (set it in the step's or job's `env:`)"
        else:
            why = "is not a nox session"
        problems.append(f"{inv.where()}: `nox -s {inv.session}` — {inv.session!r} {why}.")
    return problems
