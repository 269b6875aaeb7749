"""The wheel a user installs: built, checked by twine, installed into a fresh venv, and used from
there to adopt a workspace outside this repository (`nox-cargo init` → `nox -l` → `doctor` →
a host build), with nothing of this checkout on the import path."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, require
from tests.integration.conftest import nox_env
from tests.integration.test_adopt import FIXTURE, git_repo

pytestmark = pytest.mark.integration


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}"
    return done.stdout


def build_dists(out: Path) -> list[Path]:
    """`poetry build` (the project's tool), else `python -m build`; the wheel and the sdist."""
    if shutil.which("poetry"):
        run(["poetry", "build", "--output", str(out)], REPO)
    else:
        require(
            subprocess.run([sys.executable, "-m", "build", "--version"], check=False).returncode
            == 0,
            "neither poetry nor `build` is installed",
        )
        run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], REPO)
    return sorted(out.iterdir())


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_dists(tmp_path_factory.mktemp("dist"))


def test_the_wheel_holds_the_package_its_data_and_no_tests(dists: list[Path]) -> None:
    wheel = next(p for p in dists if p.suffix == ".whl")
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("launcher.rs", "nox-cargo.Dockerfile", "py.typed"):
        assert any(n.startswith("nox_cargo/") and n.endswith(data) for n in names), data
    assert not [n for n in names if n.startswith(("tests/", "examples/", "noxfile"))]
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Provides-Extra: wasm" in text and "Provides-Extra: github" in text
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "nox-cargo=nox_cargo.cli:main" in zipfile.ZipFile(wheel).read(
        entry_points
    ).decode().replace(" ", "")


def test_a_fresh_venv_adopts_a_workspace_with_the_wheel(dists: list[Path], tmp_path: Path) -> None:
    wheel = next(p for p in dists if p.suffix == ".whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    bin_dir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    python = bin_dir / "python"
    run([str(python), "-m", "pip", "install", "-q", str(wheel)], tmp_path)

    env = {k: v for k, v in nox_env().items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{':' if sys.platform != 'win32' else ';'}{env.get('PATH', '')}"
    imported = run(
        [str(python), "-c", "import nox_cargo; print(nox_cargo.__file__)"], tmp_path, env
    )
    assert str(venv) in imported and str(REPO) not in imported

    root = tmp_path / "tally"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("target", "dist"))
    git_repo(root)
    init = run([str(bin_dir / "nox-cargo"), "init"], root, env)
    assert "created noxfile.py" in init
    listed = run([str(bin_dir / "nox"), "-l"], root, env)
    assert "lint(step=clippy)" in listed and "wasm(target=wasm32-unknown-unknown)" in listed
    doctor = run([str(bin_dir / "nox"), "-s", "doctor"], root, env)
    assert "toolchain" in doctor
    host = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["nox-cargo"]["bench"][
        "target"
    ]
    built = run([str(bin_dir / "nox"), "-s", f"build(target={host})"], root, env)
    assert f"Session build(target={host}) was successful" in built
    assert (root / "dist" / host / "build-manifest.json").is_file()

    # twine (a release's last check) in the same venv, after the wheel proved itself alone.
    run([str(python), "-m", "pip", "install", "-q", "twine"], tmp_path)
    checked = run([str(python), "-m", "twine", "check", *map(str, dists)], tmp_path, env)
    assert checked.count("PASSED") == len(dists), checked
