"""The config model: layering, conversion, and a clear error for every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_cargo import config as cfg
from nox_cargo.config import ByteSize, Config, ConfigSource
from nox_cargo.errors import ConfigError
from nox_cargo.project import Project


def write_pyproject(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(body, encoding="utf-8")
    return tmp_path


def load(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> Config:
    write_pyproject(tmp_path, body)
    return Project.load(tmp_path, environ=env or {}).config


def test_defaults_without_any_source() -> None:
    config = cfg.load(None, {})
    assert config.lint.clippy_deny_warnings is True
    assert config.build.strategies == ("native", "rustup", "zig", "cross")
    assert [t.id for t in config.target_registry] == [
        "x86_64-musl",
        "aarch64-musl",
        "x86_64-macos",
        "aarch64-macos",
        "x86_64-windows",
    ]


def test_file_values_are_converted(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
[tool.nox-cargo]
workspace = "rust"
binaries = ["weft"]
[tool.nox-cargo.lint]
clippy-deny-warnings = false
clippy-args = ["--all-targets", "--all-features"]
[tool.nox-cargo.test]
runner = "cargo"
""",
    )
    assert config.workspace == Path("rust")
    assert config.binaries == ("weft",)
    assert config.lint.clippy_deny_warnings is False
    assert config.lint.clippy_args == ("--all-targets", "--all-features")
    assert config.test.runner == "cargo"


def test_layers_environment_over_file_and_arguments_over_environment(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.nox-cargo.lint]\nclippy-deny-warnings = true\n")
    env = {"NOX_CARGO_LINT_CLIPPY_DENY_WARNINGS": "false", "NOX_CARGO_STRICT": "yes"}
    from_env = Project.load(tmp_path, environ=env).config
    assert from_env.lint.clippy_deny_warnings is False
    assert from_env.strict is True
    from_args = Project.load(
        tmp_path, environ=env, overrides=["lint.clippy-deny-warnings=true"]
    ).config
    assert from_args.lint.clippy_deny_warnings is True
    assert from_args.strict is True  # untouched keys keep the lower layer's value


def test_targets_extend_and_override_the_defaults(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
[[tool.nox-cargo.targets]]
id = "x86_64-gnu"
triple = "x86_64-unknown-linux-gnu"
static = true
[[tool.nox-cargo.targets]]
id = "x86_64-musl"
triple = "x86_64-unknown-linux-musl"
runner = "self-hosted"
""",
    )
    registry = {t.id: t for t in config.target_registry}
    assert registry["x86_64-gnu"].static is True
    assert registry["x86_64-musl"].runner == "self-hosted"
    assert len(registry) == 6


def test_default_targets_can_be_replaced(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
[tool.nox-cargo.build]
default-targets = false
[[tool.nox-cargo.targets]]
id = "riscv"
triple = "riscv64gc-unknown-linux-gnu"
""",
    )
    assert [t.id for t in config.target_registry] == ["riscv"]


def test_environment_lists_accept_commas_and_json() -> None:
    assert cfg.env_layer({"NOX_CARGO_BINARIES": "weft, other"})[("binaries",)] == (
        "weft",
        "other",
    )
    assert cfg.env_layer({"NOX_CARGO_BINARIES": '["a,b"]'})[("binaries",)] == ("a,b",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (1024, 1024),
        ("300 KiB", 307200),
        ("120KB", 120000),
        ("20 MB", 20_000_000),
        ("1.5MiB", 1572864),
    ],
)
def test_byte_sizes(text: object, expected: int) -> None:
    assert ByteSize.parse(text) == expected


# Each malformed configuration: the TOML, then fragments the error must contain (key and file).
MALFORMED = {
    "unknown top-level key": (
        "[tool.nox-cargo]\nworkspce = 'x'\n",
        ["`workspce`", "pyproject.toml"],
    ),
    "unknown nested key": (
        "[tool.nox-cargo.lint]\nclippy-deny = true\n",
        ["`lint.clippy-deny`", "clippy-deny-warnings"],
    ),
    "wrong type bool": (
        "[tool.nox-cargo.lint]\nclippy-deny-warnings = 'yes'\n",
        ["`lint.clippy-deny-warnings`", "expected a boolean"],
    ),
    "wrong type list": (
        "[tool.nox-cargo.lint]\nclippy-args = '--all-targets'\n",
        ["`lint.clippy-args`", "a list of strings"],
    ),
    "wrong list item": (
        "[tool.nox-cargo]\nbinaries = ['weft', 3]\n",
        ["`binaries[1]`", "a string"],
    ),
    "bad literal": ("[tool.nox-cargo.test]\nrunner = 'pytest'\n", ["`test.runner`", "'nextest'"]),
    "bad strategy": (
        "[tool.nox-cargo.build]\nstrategies = ['native', 'magic']\n",
        ["`build.strategies`", "'magic'"],
    ),
    "section not a table": ("[tool.nox-cargo]\nlint = 3\n", ["`lint`", "table"]),
    "target missing triple": (
        "[[tool.nox-cargo.targets]]\nid = 'x'\n",
        ["`triple`", "targets[0]"],
    ),
    "target bad triple": (
        "[[tool.nox-cargo.targets]]\nid = 'x'\ntriple = 'not a triple'\n",
        ["`targets[0].triple`", "not a target triple"],
    ),
    "target bad id": (
        "[[tool.nox-cargo.targets]]\nid = 'Has Space'\ntriple = 'x86_64-unknown-linux-gnu'\n",
        ["`targets[0].id`"],
    ),
    "duplicate target ids": (
        "[[tool.nox-cargo.targets]]\nid = 'a'\ntriple = 'x86_64-unknown-linux-gnu'\n"
        "[[tool.nox-cargo.targets]]\nid = 'a'\ntriple = 'x86_64-unknown-linux-musl'\n",
        ["`targets`", "defined twice"],
    ),
    "targets not an array": ("[tool.nox-cargo]\ntargets = 'x86_64-gnu'\n", ["`targets`"]),
    "malformed toml": ("[tool.nox-cargo\nworkspace = 'x'\n", ["pyproject.toml", "not valid TOML"]),
    "tool table not a table": ("[tool]\nnox-cargo = 1\n", ["tool.nox-cargo", "must be a table"]),
    "empty path": ("[tool.nox-cargo]\nworkspace = ''\n", ["`workspace`"]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_config_names_key_and_file(tmp_path: Path, case: str) -> None:
    body, fragments = MALFORMED[case]
    write_pyproject(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        Project.load(tmp_path, environ={})
    text = info.value.render()
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} missing from: {text}"
    assert info.value.hint, "every config error carries a fix"
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("env", "fragments"),
    [
        (
            {"NOX_CARGO_LINT_CLIPPY_DENY_WARNINGS": "maybe"},
            ["NOX_CARGO_LINT_CLIPPY_DENY_WARNINGS", "boolean"],
        ),
        ({"NOX_CARGO_TYPO": "1"}, ["Unknown environment variable NOX_CARGO_TYPO"]),
        ({"NOX_CARGO_TEST_RUNNER": "pytest"}, ["`test.runner`", "environment variable"]),
        ({"NOX_CARGO_TARGETS": '[{"id": "x"}]'}, ["`triple`"]),
    ],
)
def test_bad_environment_values(tmp_path: Path, env: dict[str, str], fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        Project.load(tmp_path, environ=env)
    for fragment in fragments:
        assert fragment in info.value.render()


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("lint.clippy-deny-warnings", "key=value"),
        ("lint.nope=1", "Unknown key `lint.nope`"),
        ("lint.clippy-deny-warnings=perhaps", "session arguments"),
    ],
)
def test_bad_session_overrides(override: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg.load(None, {}, [override])
    assert fragment in info.value.render()


def test_cargo_metadata_source_is_named_in_errors(tmp_path: Path) -> None:
    source = cfg.cargo_source(tmp_path / "Cargo.toml", {"nox-cargo": {"lnt": {}}})
    assert isinstance(source, ConfigSource)
    with pytest.raises(ConfigError) as info:
        cfg.load(source, {})
    assert "[workspace.metadata.nox-cargo]" in info.value.message
    assert "`lnt`" in info.value.message


def test_ci_makes_every_project_strict(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.nox-cargo]\n")
    assert Project.load(tmp_path, environ={"CI": "true"}).strict
    assert not Project.load(tmp_path, environ={"CI": "false"}).strict
    assert not Project.load(tmp_path, environ={}).strict
    assert Project.load(tmp_path, environ={}, strict=True).strict


def test_reference_covers_every_key() -> None:
    keys = {row[0] for row in cfg.reference()}
    assert set(cfg.leaves()) <= keys
    assert {"targets[].id", "targets[].triple", "targets[].linker"} <= keys
    assert all(row[3] for row in cfg.reference()), "every key is documented"


def test_readme_embeds_the_current_reference() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert cfg.reference_markdown() in readme, (
        "README's configuration reference is stale: paste `python -m nox_cargo.config` into it"
    )
