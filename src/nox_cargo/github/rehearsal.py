"""`nox -s workflows -- --rehearse [JOB]`: the Linux jobs of ci.yml and release.yml, run here as a
GitHub-hosted runner would run them.

Planning (pure, unit-tested) reads the workflow files: every job, every matrix entry with its
runner, the `needs` order, the env (workflow + job, matrix values filled in). An entry whose
runner is not a Linux runner of this machine's CPU is listed as not rehearsable, with the runner
it needs. Running (integration-tested) gives each job entry a fresh clone of HEAD and the job's
env plus what a runner sets (`CI`, `GITHUB_ACTIONS`, `GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`,
`GITHUB_ENV`, …), runs its `run:` steps in order with `bash -eo pipefail` (Actions' bash), and
maps the known `uses:` steps to local equivalents:

- actions/checkout: `git clone` of this repository's HEAD into the job's workspace;
- actions/setup-python: a fresh virtualenv of this Python, first on PATH;
- actions/upload-artifact / download-artifact: a directory per workflow run, so artifacts pass
  between jobs in `needs` order;
- actions/cache, Swatinem/rust-cache: nothing (a cold cache, as on a first run);
- attestation actions: a red step if ever reached (the workflows run them on a tag only).

Publishing cannot happen: the rehearsal is a push to main (or `--event pull_request`), and the
publishing steps of release.yml run on a `v*` tag only. `CI_REHEARSAL=1` tells a step that
it runs here (the generated apt step then installs nothing on this machine).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nox_cargo.console import get_console
from nox_cargo.errors import NoxCargoError
from nox_cargo.fsutil import locked
from nox_cargo.github import expressions as ex
from nox_cargo.github import invocations
from nox_cargo.github import workflow_yaml as wy
from nox_cargo.github.runners import runner_arch, runner_os
from nox_cargo.process import run as _process_run
from nox_cargo.project import Project

WORKFLOW_FILES = ("ci.yml", "release.yml")
# What a job inherits from this machine: the tools of the "runner image", never its settings.
HOST_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "WINEPREFIX",
    "SSL_CERT_FILE",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_CACHE_DIR",
)
GREEN, RED, SKIPPED, ELSEWHERE = "green", "red", "skipped", "not rehearsable here"


class RehearsalFailed(NoxCargoError):
    """At least one rehearsed job went red."""


@dataclass(frozen=True)
class Step:
    """One step of a job, as written (expressions are evaluated when it runs)."""

    index: int
    raw: Mapping[str, Any]

    @property
    def name(self) -> str:
        if self.raw.get("name"):
            return str(self.raw["name"])
        if self.raw.get("uses"):
            return str(self.raw["uses"]).split("@")[0]
        first = str(self.raw.get("run", "")).strip().splitlines()
        return first[0] if first else f"#{self.index + 1}"


@dataclass(frozen=True)
class PlannedJob:
    """One job entry (one matrix combination) of one workflow."""

    workflow: str
    job_id: str
    name: str
    combo: Mapping[str, str]
    runner: str
    needs: tuple[str, ...]
    condition: object
    env: Mapping[str, str]
    steps: tuple[Step, ...]
    elsewhere: str = ""  # why it cannot run here ("" = rehearsable)

    @property
    def key(self) -> str:
        return f"{self.workflow}:{self.job_id}"


@dataclass
class JobResult:
    job: PlannedJob
    status: str
    seconds: float = 0.0
    failed_step: str = ""
    summary: str = ""
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Planning


def host_arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def why_elsewhere(runner: str, arch: str) -> str:
    """Why a job on `runner` cannot be rehearsed on this machine ("" when it can)."""
    if "${{" in runner or not runner:
        return f"its runner `{runner}` is not known before the run"
    kind = runner_os(runner)
    if kind != "linux":
        return f"needs a {'macOS' if kind == 'macos' else 'Windows'} runner ({runner})"
    if runner in ("self-hosted",) or runner.startswith("self-hosted"):
        return "needs a self-hosted runner"
    if runner_arch(runner) != arch:
        return f"needs an {runner_arch(runner)} runner ({runner}); this machine is {arch}"
    return ""


def _needs(job: Mapping[str, Any]) -> tuple[str, ...]:
    raw = job.get("needs")
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list):
        return tuple(str(n) for n in raw)
    return ()


def _order(jobs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Job ids in `needs` order (file order among equals); a cycle is an error."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(job_id: str) -> None:
        if job_id in done:
            return
        if job_id in visiting:
            raise wy.WorkflowError(
                f"The jobs' `needs` form a cycle through `{job_id}`.", "break the cycle."
            )
        visiting.add(job_id)
        for need in _needs(jobs[job_id]):
            if need not in jobs:
                raise wy.WorkflowError(
                    f"Job `{job_id}` needs `{need}`, which the workflow does not have.",
                    f"fix `needs:` of `{job_id}`.",
                )
            visit(need)
        visiting.discard(job_id)
        done.append(job_id)

    for job_id in jobs:
        visit(job_id)
    return done


def _expand(value: str, combo: Mapping[str, str], env: Mapping[str, str]) -> str:
    """`${{ matrix.x }}` and `${{ env.X }}` filled in; other expressions wait for the run."""
    expanded = invocations.expand_templates(value, combo)

    def env_ref(match: re.Match[str]) -> str:
        return env.get(match[1], match.group(0))

    return re.sub(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", env_ref, expanded)


def plan_workflow(
    name: str, workflow: Mapping[str, Any], arch: str | None = None
) -> list[PlannedJob]:
    """Every job entry of one workflow, in `needs` order."""
    arch = arch or host_arch()
    jobs = wy.jobs(dict(workflow))
    base_env = {str(k): invocations._text(v) for k, v in (workflow.get("env") or {}).items()}
    planned: list[PlannedJob] = []
    for job_id in _order(jobs):
        job = jobs[job_id]
        for combo in invocations.matrix_combinations(job):
            env = dict(base_env)
            env.update({str(k): invocations._text(v) for k, v in (job.get("env") or {}).items()})
            env = {k: invocations.expand_templates(v, combo) for k, v in env.items()}
            env = {k: _expand(v, combo, env) for k, v in env.items()}
            runs_on = job.get("runs-on")
            runner = _expand(runs_on if isinstance(runs_on, str) else "", combo, env)
            if isinstance(runs_on, list):
                runner = " ".join(str(x) for x in runs_on)
            title = _expand(str(job.get("name") or job_id), combo, env)
            planned.append(
                PlannedJob(
                    workflow=name,
                    job_id=job_id,
                    name=title,
                    combo=combo,
                    runner=runner,
                    needs=_needs(job),
                    condition=job.get("if"),
                    env=env,
                    steps=tuple(Step(i, s) for i, s in enumerate(wy.steps(job))),
                    elsewhere=why_elsewhere(runner, arch),
                )
            )
    return planned


def select(planned: Sequence[PlannedJob], wanted: str) -> list[PlannedJob]:
    """The entries `wanted` names (a file, `file:job`, a job id or an entry's name; several
    separated by commas, `-NAME` leaving one out), plus every job they need, so artifacts flow as
    on GitHub; all entries when `wanted` is empty. A job left out counts as skipped for the jobs
    that need it."""
    if not wanted:
        return list(planned)
    if "," in wanted or wanted.startswith("-"):
        parts = [p for p in wanted.split(",") if p]
        keep = [p for p in parts if not p.startswith("-")]
        picked_all = {id(j) for part in keep for j in select(planned, part)} if keep else set()
        if not keep:
            picked_all = {id(j) for j in planned}
        dropped = {
            id(j) for part in parts if part.startswith("-") for j in _named(planned, part[1:])
        }
        return [j for j in planned if id(j) in picked_all and id(j) not in dropped]
    chosen = _named(planned, wanted)
    if not chosen:
        names = ", ".join(sorted({j.key for j in planned}))
        raise NoxCargoError(
            f"No job of {' or '.join(WORKFLOW_FILES)} is called {wanted!r}.",
            "name a workflow file, a job id, `file:job`, or an entry such as `lint(step=fmt)`; "
            f"the jobs are: {names}.",
        )
    picked = {id(j) for j in chosen}
    needed: set[str] = set()
    pending = [f"{j.workflow}:{n}" for j in chosen for n in j.needs]
    while pending:
        key = pending.pop()
        if key in needed:
            continue
        needed.add(key)
        pending += [f"{j.workflow}:{n}" for j in planned if j.key == key for n in j.needs]
    return [j for j in planned if id(j) in picked or j.key in needed]


def _named(planned: Sequence[PlannedJob], wanted: str) -> list[PlannedJob]:
    if wanted in WORKFLOW_FILES:
        return [j for j in planned if j.workflow == wanted]
    file_part, job_part = wanted.split(":", 1) if ":" in wanted else ("", wanted)
    return [
        j
        for j in planned
        if (not file_part or j.workflow == file_part) and job_part in (j.job_id, j.name)
    ]


def release_targets_here(planned: Sequence[PlannedJob], value: str) -> tuple[str, list[str]]:
    """RELEASE_TARGETS limited to the targets this machine can build, and the ones left out."""
    away = {j.combo["target"] for j in planned if j.elsewhere and "target" in j.combo} - {
        j.combo["target"] for j in planned if not j.elsewhere and "target" in j.combo
    }
    kept = [t for t in value.split() if t not in away]
    return " ".join(kept), [t for t in value.split() if t in away]


KNOWN_ACTIONS = {
    "actions/checkout": "checkout",
    "actions/setup-python": "setup-python",
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
    "actions/cache": "cache",
    "actions/cache/restore": "cache",
    "actions/cache/save": "cache",
    "Swatinem/rust-cache": "cache",
    # Publishing actions: the workflows run them on a tag only, which a rehearsal never is.
    "actions/attest-build-provenance": "publish",
    "actions/attest": "publish",
}


def local_equivalent(uses: str) -> str | None:
    """What a rehearsal does for a `uses:` (None: it has no local equivalent)."""
    return KNOWN_ACTIONS.get(uses.split("@", maxsplit=1)[0])


def runner_env(
    workspace: Path, files: Mapping[str, Path], github: Mapping[str, Any]
) -> dict[str, str]:
    """The variables a GitHub-hosted runner sets for every step."""
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "CI_REHEARSAL": "1",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_EVENT_NAME": str(github["event_name"]),
        "GITHUB_REF": str(github["ref"]),
        "GITHUB_REF_NAME": str(github["ref_name"]),
        "GITHUB_SHA": str(github["sha"]),
        "GITHUB_REPOSITORY": str(github["repository"]),
        "GITHUB_REPOSITORY_OWNER": str(github["repository_owner"]),
        "GITHUB_ACTOR": str(github["actor"]),
        "GITHUB_RUN_ID": "1",
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "ARM64" if host_arch() == "aarch64" else "X64",
        "RUNNER_TEMP": str(files["temp"]),
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_ENV": str(files["env"]),
        "GITHUB_PATH": str(files["path"]),
    }


def parse_env_file(text: str) -> dict[str, str]:
    """`KEY=value` lines and `KEY<<DELIM … DELIM` blocks, as GITHUB_OUTPUT/GITHUB_ENV hold."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            values[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
        i += 1
    return values


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class _Run:
    """One rehearsal: where it happens and what the jobs left for each other."""

    repo: Path
    root: Path
    python: str
    github: dict[str, Any]
    host_env: dict[str, str]
    results: dict[str, list[JobResult]] = field(default_factory=dict)

    def artifacts(self, workflow: str) -> Path:
        return self.root / "artifacts" / workflow


def _slug(text_: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text_).strip("-")[:60] or "job"


def _needs_context(run_: _Run, job: PlannedJob) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for need in job.needs:
        entries = run_.results.get(f"{job.workflow}:{need}", [])
        here = [r for r in entries if r.status != ELSEWHERE]
        if not here:
            result = "skipped"
        elif any(r.status == RED for r in here):
            result = "failure"
        elif all(r.status == SKIPPED for r in here):
            result = "skipped"
        else:
            result = "success"
        out[need] = {"result": result, "outputs": {}}
    return out


def _copy_into(src: Path, dst: Path) -> None:
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _upload(with_: Mapping[str, str], workspace: Path, store: Path) -> str:
    name = with_.get("name") or "artifact"
    patterns = [p.strip() for p in (with_.get("path") or "").splitlines() if p.strip()]
    files: list[Path] = []
    for pattern in patterns:
        path = (workspace / pattern).resolve()
        if path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file()]
        elif path.is_file():
            files.append(path)
        else:
            files += [p for p in workspace.glob(pattern) if p.is_file()]
    if not files:
        if (with_.get("if-no-files-found") or "warn") == "error":
            raise NoxCargoError(f"No files were found with the provided path: {patterns}.", None)
        return f"artifact `{name}`: no files"
    roots = [(workspace / p).resolve() for p in patterns if (workspace / p).resolve().is_dir()]
    base = (
        roots[0]
        if len(patterns) == 1 and roots
        else Path(os.path.commonpath([str(f.parent) for f in files]))
    )
    dest = store / name
    if dest.exists():
        raise NoxCargoError(f"An artifact named `{name}` was already uploaded in this run.", None)
    for path in files:
        target = dest / path.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        # An artifact keeps no file modes: a downloaded binary is not executable.
        shutil.copyfile(path, target)
        target.chmod(0o644)
    return f"artifact `{name}`: {len(files)} file(s)"


def _download(with_: Mapping[str, str], workspace: Path, store: Path) -> str:
    dest = workspace / (with_.get("path") or ".")
    name = with_.get("name")
    if name:
        source = store / name
        if not source.is_dir():
            raise NoxCargoError(
                f"Artifact not found: `{name}` (no job of this run uploaded it).", None
            )
        _copy_into(source, dest)
        return f"artifact `{name}` → {with_.get('path') or '.'}"
    pattern = with_.get("pattern") or "*"
    found = sorted(p for p in store.glob(pattern) if p.is_dir()) if store.is_dir() else []
    merge = str(with_.get("merge-multiple", "false")).lower() == "true"
    for source in found:
        _copy_into(source, dest if merge else dest / source.name)
    return f"{len(found)} artifact(s) matching `{pattern}`"


def _context(
    run_: _Run,
    job: PlannedJob,
    env: Mapping[str, str],
    steps: Mapping[str, Any],
    needs: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "matrix": dict(job.combo),
        "env": dict(env),
        "github": run_.github,
        "runner": {"os": "Linux", "arch": "X64", "temp": str(run_.root)},
        "steps": dict(steps),
        "needs": dict(needs),
        "secrets": {"GITHUB_TOKEN": ""},
        "job": {"status": "success"},
        "strategy": {"fail-fast": False},
        "inputs": {},
        "vars": {},
    }


@dataclass
class _JobState:
    """What earlier steps of a job leave to later ones."""

    home: Path
    workspace: Path
    needs: Mapping[str, Any]
    path_prefix: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    summaries: list[str] = field(default_factory=list)
    failed: bool = False


def run_job(run_: _Run, job: PlannedJob, number: int) -> JobResult:
    """One job entry in a fresh workspace; after a failing step only `if: always()`-like steps
    run, as on a runner."""
    needs = _needs_context(run_, job)
    status = ex.Status(failed=any(n["result"] != "success" for n in needs.values()))
    if not ex.condition(job.condition, _context(run_, job, job.env, {}, needs), status):
        return JobResult(job, SKIPPED)
    home = run_.root / "jobs" / f"{number:02d}-{_slug(job.name)}"
    state = _JobState(home, home / "workspace", needs)
    state.workspace.mkdir(parents=True)
    (home / "temp").mkdir()
    result = JobResult(job, GREEN)
    started = time.monotonic()
    with get_console().group(f"rehearsal: {job.workflow} > {job.name}"):
        for step in job.steps:
            try:
                _step(run_, job, step, state)
            except (NoxCargoError, OSError) as exc:
                message = exc.message if isinstance(exc, NoxCargoError) else str(exc)
                get_console().error(f"{job.name}: step `{step.name}` failed: {message}")
                state.failed = True
                result.status = RED
                name = ex.substitute(step.name, _context(run_, job, job.env, {}, state.needs))
                result.failed_step = result.failed_step or name
    result.seconds = time.monotonic() - started
    result.summary = "\n".join(state.summaries)
    return result


def _step(run_: _Run, job: PlannedJob, step: Step, state: _JobState) -> None:
    home = state.home
    files = {
        "temp": home / "temp",
        "summary": home / f"step{step.index}.summary.md",
        "output": home / f"step{step.index}.output",
        "env": home / f"step{step.index}.env",
        "path": home / f"step{step.index}.path",
    }
    for key in ("summary", "output", "env", "path"):
        files[key].write_text("")
    env = dict(job.env)
    env.update(state.extra_env)
    ctx = _context(run_, job, env, state.outputs, state.needs)
    if not ex.condition(step.raw.get("if"), ctx, ex.Status(state.failed)):
        return
    step_env = {
        str(k): ex.substitute(invocations._text(v), ctx)
        for k, v in (step.raw.get("env") or {}).items()
    }
    full_env = dict(run_.host_env)
    full_env.update(env)
    full_env.update(step_env)
    full_env.update(runner_env(state.workspace, files, run_.github))
    if state.path_prefix:
        full_env["PATH"] = os.pathsep.join([*state.path_prefix, full_env.get("PATH", "")])
    get_console().info(f"step: {ex.substitute(step.name, ctx)}")
    try:
        if step.raw.get("uses"):
            with_ = {
                str(k): ex.substitute(invocations._text(v), ctx)
                for k, v in (step.raw.get("with") or {}).items()
            }
            uses = str(step.raw["uses"])
            note = _uses(run_, job, uses, with_, state.workspace, home, state.path_prefix)
            get_console().info(f"  {note}")
        else:
            _run_script(step, ctx, state.workspace, full_env, home)
    finally:
        if files["summary"].stat().st_size:
            state.summaries.append(files["summary"].read_text(encoding="utf-8"))
    if step.raw.get("id"):
        state.outputs[str(step.raw["id"])] = {
            "outputs": parse_env_file(files["output"].read_text(encoding="utf-8"))
        }
    state.extra_env.update(parse_env_file(files["env"].read_text(encoding="utf-8")))
    added = [line for line in files["path"].read_text(encoding="utf-8").splitlines() if line]
    state.path_prefix[:0] = added


def _run_script(
    step: Step, ctx: Mapping[str, Any], workspace: Path, env: Mapping[str, str], home: Path
) -> None:
    shell = str(step.raw.get("shell") or "bash")
    if shell != "bash":
        raise NoxCargoError(
            f"The rehearsal runs `shell: bash` steps only (this one: {shell}).", None
        )
    script = ex.substitute(str(step.raw.get("run") or ""), ctx)
    path = home / f"step{step.index}.sh"
    path.write_text(script, encoding="utf-8")
    cwd = workspace / ex.substitute(str(step.raw.get("working-directory") or "."), ctx)
    done = _process_run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        cwd=cwd,
        env=dict(env),
        check=False,
        inherit_env=False,
    )
    if not done.ok:
        raise NoxCargoError(f"Process completed with exit code {done.returncode}.", None)


def _uses(
    run_: _Run,
    job: PlannedJob,
    uses: str,
    with_: Mapping[str, str],
    workspace: Path,
    home: Path,
    path_prefix: list[str],
) -> str:
    kind = local_equivalent(uses)
    if kind is None:
        raise NoxCargoError(f"`{uses}` has no local equivalent in a rehearsal.", None)
    if kind == "publish":
        raise NoxCargoError(
            f"`{uses}` publishes; a rehearsal never does (guard the step with a tag condition).",
            None,
        )
    if kind == "checkout":
        target = workspace / with_.get("path", "")
        if target.exists() and any(target.iterdir()):
            shutil.rmtree(target)
        _process_run(["git", "clone", "--quiet", str(run_.repo), str(target)], quiet=True)
        ref = with_.get("ref") or run_.github["sha"]
        _process_run(["git", "checkout", "--quiet", "--detach", ref], cwd=target, quiet=True)
        return f"checkout: fresh clone of {run_.repo} at {ref[:12]}"
    if kind == "setup-python":
        venv = home / "python"
        _process_run([run_.python, "-m", "venv", str(venv)], quiet=True)
        path_prefix.insert(0, str(venv / "bin"))
        wanted = with_.get("python-version", "")
        have = f"{sys.version_info.major}.{sys.version_info.minor}"
        mismatch = f" (asked for {wanted})" if wanted and not have.startswith(wanted) else ""
        return f"setup-python: fresh virtualenv of Python {have}{mismatch}"
    if kind == "upload-artifact":
        store = run_.artifacts(job.workflow)
        store.mkdir(parents=True, exist_ok=True)
        return "upload " + _upload(with_, workspace, store)
    if kind == "download-artifact":
        return "download " + _download(with_, workspace, run_.artifacts(job.workflow))
    action = uses.split("@", maxsplit=1)[0]
    return f"{action}: no cache in a rehearsal (a cold start, as on a first run)"


# ---------------------------------------------------------------------------------------------
# The session's entry point


def _github(repo: Path, event: str) -> dict[str, Any]:
    sha = _process_run(["git", "rev-parse", "HEAD"], cwd=repo, capture=True, quiet=True).stdout
    sha = sha.strip()
    base = _process_run(
        ["git", "rev-parse", "--verify", "--quiet", "HEAD~1"],
        cwd=repo,
        capture=True,
        quiet=True,
        check=False,
    ).stdout.strip()
    github: dict[str, Any] = {
        "event_name": event,
        "sha": sha,
        "repository": "rehearsal/local",
        "repository_owner": "rehearsal",
        "actor": "rehearsal",
        "token": "",
        "run_id": "1",
        "workspace": "",
    }
    if event == "pull_request":
        github.update(
            ref="refs/pull/1/merge",
            ref_name="1/merge",
            event={"pull_request": {"number": 1, "base": {"sha": base or sha}}},
        )
    else:
        github.update(ref="refs/heads/main", ref_name="main", event={})
    return github


def rehearse(project: Project, directory: Path, wanted: str, event: str = "push") -> None:
    """Plan, run and report; RehearsalFailed when a rehearsed job is red."""
    console = get_console()
    planned: list[PlannedJob] = []
    for name in WORKFLOW_FILES:
        path = directory / name
        if path.is_file():
            planned += plan_workflow(name, wy.load(path))
    chosen = select(planned, wanted)
    repo = project.root
    dirty = _process_run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=repo,
        capture=True,
        quiet=True,
        check=False,
    )
    if dirty.returncode != 0:
        raise NoxCargoError(
            f"{repo} is not a git repository: a rehearsal clones the commit a runner checks out.",
            "run it in a git checkout (`git init && git add -A && git commit`).",
        )
    if dirty.stdout.strip():
        console.warn(
            "uncommitted changes are not rehearsed: each job clones HEAD, as a runner does"
        )
    root = project.report_dir / "rehearsal"
    # Two rehearsals of one workspace would clone into and delete each other's directories.
    with locked(project.report_dir, ".rehearsal.lock"):
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        _rehearse(project, repo, root, planned, chosen, event)


def _rehearse(
    project: Project,
    repo: Path,
    root: Path,
    planned: Sequence[PlannedJob],
    chosen: Sequence[PlannedJob],
    event: str,
) -> None:
    console = get_console()
    host_env = {k: v for k, v in project.environ.items() if k in HOST_ENV}
    run_ = _Run(repo, root, sys.executable, _github(repo, event), host_env)
    release = [j for j in chosen if j.workflow == "release.yml" and "RELEASE_TARGETS" in j.env]
    if release:
        kept, away = release_targets_here(
            [j for j in planned if j.workflow == "release.yml"], release[0].env["RELEASE_TARGETS"]
        )
        if away:
            console.info(
                f"release.yml: the gate expects {kept or 'no target'} here; "
                f"{', '.join(away)} need runners this machine is not"
            )
        chosen = [
            j
            if j.workflow != "release.yml" or "RELEASE_TARGETS" not in j.env
            else _with_env(j, "RELEASE_TARGETS", kept)
            for j in chosen
        ]
    results: list[JobResult] = []
    for number, job in enumerate(chosen, 1):
        if job.elsewhere:
            outcome = JobResult(job, ELSEWHERE, notes=[job.elsewhere])
        else:
            outcome = run_job(run_, job, number)
        run_.results.setdefault(job.key, []).append(outcome)
        results.append(outcome)
    report(results, root)


def _with_env(job: PlannedJob, key: str, value: str) -> PlannedJob:
    env = dict(job.env)
    env[key] = value
    return PlannedJob(
        job.workflow,
        job.job_id,
        job.name,
        job.combo,
        job.runner,
        job.needs,
        job.condition,
        env,
        job.steps,
        job.elsewhere,
    )


def sessions_of(job: PlannedJob) -> list[str]:
    """The nox sessions a job entry's `run:` steps name, with its env and matrix filled in."""
    found: list[str] = []
    for step in job.steps:
        script = step.raw.get("run")
        if not isinstance(script, str):
            continue
        env = dict(job.env)
        env.update(
            {
                str(k): invocations.expand_templates(invocations._text(v), job.combo)
                for k, v in (step.raw.get("env") or {}).items()
            }
        )
        for names in invocations.nox_sessions(script):
            found += [invocations.expand_variables(n, env) for n in names]
    return list(dict.fromkeys(found))


def job_table(planned: Sequence[PlannedJob]) -> str:
    """The Markdown table of every job entry: workflow, job, runner, sessions, rehearsable."""
    lines = [
        "| workflow | job | runner | nox sessions | rehearsed here |",
        "|---|---|---|---|---|",
    ]
    for job in planned:
        sessions = ", ".join(f"`{s}`" for s in sessions_of(job)) or "—"
        here = "no: " + job.elsewhere.split(";")[0] if job.elsewhere else "yes"
        lines.append(f"| {job.workflow} | `{job.name}` | {job.runner} | {sessions} | {here} |")
    return "\n".join(lines) + "\n"


def table_rows(results: Sequence[JobResult]) -> list[list[str]]:
    return [
        [
            f"{r.job.workflow}: {r.job.name}",
            r.status,
            f"{r.seconds:.0f} s" if r.status in (GREEN, RED) else "",
            r.failed_step or "; ".join(r.notes),
        ]
        for r in results
    ]


def report(results: Sequence[JobResult], root: Path) -> None:
    console = get_console()
    console.table("rehearsal", ("job", "result", "time", "first failing step"), table_rows(results))
    summary = root / "summary.md"
    parts = [
        f"## {r.job.workflow}: {r.job.name} ({r.status})\n\n{r.summary}".rstrip() + "\n"
        for r in results
        if r.summary
    ]
    summary.write_text("\n".join(parts) or "No step wrote a summary.\n", encoding="utf-8")
    console.info(f"step summaries: {summary}")
    red = [r for r in results if r.status == RED]
    green = [r for r in results if r.status == GREEN]
    if red:
        raise RehearsalFailed(
            f"{len(red)} of {len(red) + len(green)} rehearsed jobs are red: "
            + "; ".join(f"{r.job.name} (step `{r.failed_step}`)" for r in red)
            + ".",
            "the failing step's output is above; fix it and rehearse that job again with "
            "`nox -s workflows -- --rehearse JOB`.",
        )
    if not green:
        raise RehearsalFailed(
            "Nothing was rehearsed: every selected job is for another runner or was skipped.",
            "select a Linux job, e.g. `nox -s workflows -- --rehearse lint`.",
        )
    console.success(f"{len(green)} job(s) green in the rehearsal")
