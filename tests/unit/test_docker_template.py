"""The Dockerfile template the docker stage fills: a repository's own Dockerfile is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_cargo.docker import template
from nox_cargo.errors import ConfigError
from tests.conftest import REPO

ALPINE = "FROM alpine:3.20\nRUN apk add --no-cache bash\n"


def test_the_packaged_template_is_this_repositorys_template() -> None:
    assert template.packaged_text() == (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert template.is_nox_cargo_template(REPO / "Dockerfile")


def test_a_repositorys_own_dockerfile_is_never_the_template(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(ALPINE)
    assert template.resolve(tmp_path, None) == template.PACKAGED
    written = tmp_path / template.FILE_NAME
    written.write_text(template.packaged_text())
    assert template.resolve(tmp_path, None) == written.resolve()


def test_nox_cargos_own_dockerfile_name_and_the_configured_one(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(template.packaged_text())
    assert template.resolve(tmp_path, None) == (tmp_path / "Dockerfile").resolve()
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "scratch.Dockerfile").write_text(ALPINE)
    configured = template.resolve(tmp_path, Path("docker/scratch.Dockerfile"))
    assert configured == (tmp_path / "docker" / "scratch.Dockerfile").resolve()
    with pytest.raises(ConfigError, match=r"docker\.dockerfile"):
        template.resolve(tmp_path, Path("missing.Dockerfile"))
