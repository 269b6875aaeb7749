"""`nox-cargo init` without cargo: the plan from a workspace's facts, and what it never touches."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_cargo import cli, init
from nox_cargo import config as cfg
from nox_cargo.config.sources import pyproject_source
from nox_cargo.docker import template
from nox_cargo.workspace import Package, Version, Workspace


def package(
    name: str, bins: tuple[str, ...] = (), lib: tuple[str, ...] = (), root: Path = Path("/w")
) -> Package:
    return Package(
        name,
        "0.2.0",
        root / name / "Cargo.toml",
        Version(1, 70),
        bins,
        "MIT",
        None,
        lib,
        name.replace("-", "_") if lib else "",
    )


def facts(root: Path, *members: Package, host: str = "x86_64-unknown-linux-gnu") -> init.Facts:
    (root / "Cargo.toml").write_text('[workspace]\nmembers = ["*"]\n')
    return init.Facts(root, Workspace(root, root / "target", members, {}), host)


def test_the_written_config_is_a_valid_config(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# tally\n")
    known = facts(
        tmp_path,
        package("tally", ("tally",)),
        package("tally-core", lib=("lib",)),
        package("tally-web", lib=("cdylib",)),
    )
    (tmp_path / "pyproject.toml").write_text(init.config_text(known))
    source = pyproject_source(tmp_path)
    assert source is not None
    config = cfg.load(source, {})
    assert config.binaries == ("tally",)
    assert config.package.files == ("README.md",)  # no LICENSE here: not listed
    assert [t.triple for t in config.targets] == ["x86_64-unknown-linux-gnu"]
    assert config.bench.target == "x86_64-gnu" and config.bench.binary == "tally"
    assert [c.args for c in config.bench.cases] == [("--version",)]
    assert [m.package for m in config.wasm.modules] == ["tally-web"]
    assert config.wasm.targets == ("wasm32-unknown-unknown",)  # a cdylib: a browser's module
    assert config.wasm.profile == "release"  # no [profile.wasm-release] in Cargo.toml


def test_no_wasm_package_means_no_wasm_stage(tmp_path: Path) -> None:
    known = facts(tmp_path, package("tool", ("tool",)), host="x86_64-unknown-linux-musl")
    (tmp_path / "pyproject.toml").write_text(init.config_text(known))
    source = pyproject_source(tmp_path)
    assert source is not None
    config = cfg.load(source, {})
    assert config.wasm.targets == ()
    assert config.targets == ()  # the host is a default target already
    assert config.bench.target == "x86_64-musl"


@pytest.mark.parametrize(
    ("triple", "expected"),
    [
        ("x86_64-unknown-linux-gnu", "x86_64-gnu"),
        ("aarch64-apple-darwin", "aarch64-macos"),
        ("x86_64-pc-windows-gnu", "x86_64-windows-gnu"),
        ("riscv64gc-unknown-linux-gnu", "riscv64gc-gnu"),
        ("x86_64-unknown-freebsd", "x86_64-freebsd"),
    ],
)
def test_host_target_ids(triple: str, expected: str) -> None:
    assert init.target_id(triple) == expected


def test_files_it_did_not_write_are_never_overwritten(tmp_path: Path) -> None:
    known = facts(tmp_path, package("tool", ("tool",)))
    own = {
        "noxfile.py": "import nox\n",
        "pyproject.toml": "[project]\nname = 'bindings'\n",
        "nox-cargo.Dockerfile": "FROM alpine\n",
        ".gitignore": "target/\n",
        "Dockerfile": "FROM alpine\n",
    }
    for name, text in own.items():
        (tmp_path / name).write_text(text)
    planned = {p.path.name: p for p in (planner(known) for planner in init.PLANNERS)}
    assert planned["noxfile.py"].action == "skip"
    assert "nox_cargo.register()" in planned["noxfile.py"].content  # what to add by hand
    assert planned["pyproject.toml"].action == "skip"
    assert "[tool.nox-cargo]" in planned["pyproject.toml"].content
    assert planned["nox-cargo.Dockerfile"].action == "skip"
    assert planned[".gitignore"].action == "append"
    init.apply(list(planned.values()))
    for name, text in own.items():
        expected = text + planned[".gitignore"].content if name == ".gitignore" else text
        assert (tmp_path / name).read_text() == expected, name


def test_its_own_files_are_rewritten_only_when_they_change(tmp_path: Path) -> None:
    known = facts(tmp_path, package("tool", ("tool",)))
    first = [planner(known) for planner in init.PLANNERS]
    assert [p.action for p in first] == ["create"] * 4
    init.apply(first)
    assert template.resolve(tmp_path, None) == (tmp_path / template.FILE_NAME).resolve()
    again = [planner(known) for planner in init.PLANNERS]
    assert [p.action for p in again] == ["unchanged"] * 4
    grown = facts(tmp_path, package("tool", ("tool",)), package("two", ("two",)))
    assert init.plan_config(grown).action == "update"


def test_cli_usage_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert "nox-cargo 0.1.0" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
