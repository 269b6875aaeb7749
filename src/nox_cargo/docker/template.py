"""Which Dockerfile template the docker stage fills: never a repository's own one by accident.

`docker.dockerfile` when it is set. Otherwise `nox-cargo.Dockerfile` beside the config (what
`nox-cargo init` writes), then a `Dockerfile` that is nox-cargo's template (it carries the
marker line below), and else the template shipped inside the package: a repository's own
Dockerfile (an alpine dev image, say) is left alone.
"""

from __future__ import annotations

from pathlib import Path

from nox_cargo.errors import ConfigError

FILE_NAME = "nox-cargo.Dockerfile"
MARKER = "nox-cargo's docker stage fills this template"
PACKAGED = Path(__file__).with_name(FILE_NAME)


def packaged_text() -> str:
    return PACKAGED.read_text(encoding="utf-8")


def is_nox_cargo_template(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def resolve(base_dir: Path, configured: Path | None) -> Path:
    """The template's path (see the module docstring)."""
    if configured is not None:
        path = (base_dir / configured).resolve()
        if not path.is_file():
            raise ConfigError(
                f"The Dockerfile template {path} (config key `docker.dockerfile`) does not exist.",
                f"run `nox-cargo init` (it writes {FILE_NAME}), or point `docker.dockerfile` at "
                "a FROM scratch template.",
            )
        return path
    for path in (base_dir / FILE_NAME, base_dir / "Dockerfile"):
        if path.is_file() and is_nox_cargo_template(path):
            return path.resolve()
    return PACKAGED
