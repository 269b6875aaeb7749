"""The config package's hints and seams: closest matches for unknown names, one converter per type,
and the check across sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from nox_cargo import config as cfg
from nox_cargo.config import convert
from nox_cargo.errors import ConfigError


def error_of(
    table: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    overrides: tuple[str, ...] = (),
) -> tuple[str, str]:
    """The message and the hint of the error that loading this config gives."""
    source = cfg.ConfigSource(table, "pyproject.toml", Path()) if table is not None else None
    with pytest.raises(ConfigError) as info:
        cfg.load(source, environ or {}, overrides)
    return info.value.message, info.value.hint or ""


def test_a_mistyped_variable_gets_the_closest_names_not_all_of_them() -> None:
    message, hint = error_of(environ={"NOX_CARGO_BENCH_BAS": "main"})
    assert message == "Unknown environment variable NOX_CARGO_BENCH_BAS."
    assert "did you mean `NOX_CARGO_BENCH_BASE`" in hint
    assert "NOX_CARGO_DOCKER_IMAGE" not in hint
    assert len(hint) < 200, hint


def test_the_shared_prefix_does_not_make_every_variable_close() -> None:
    _, hint = error_of(environ={"NOX_CARGO_TYPO": "1"})
    assert "did you mean" not in hint
    assert "NOX_CARGO_STRICT" not in hint
    assert "python -m nox_cargo.config" in hint


def test_a_mistyped_file_key_gets_the_closest_key_of_its_table() -> None:
    message, hint = error_of({"workspce": "rust"})
    assert message == "Unknown key `workspce` in pyproject.toml."
    assert hint == "remove it, or did you mean `workspace`?"
    nested, nested_hint = error_of({"lint": {"clippy-deny": True}})
    assert nested == "Unknown key `lint.clippy-deny` in pyproject.toml."
    assert "`clippy-deny-warnings`" in nested_hint
    assert "check-args" not in nested_hint


def test_an_unknown_key_in_an_array_of_tables_names_its_entry() -> None:
    target = {"id": "a", "triple": "x86_64-unknown-linux-gnu", "linkr": "cc"}
    message, hint = error_of({"targets": [target]})
    assert message == "Unknown key `targets[0].linkr` in pyproject.toml."
    assert hint == "remove it, or did you mean `linker`?"


def test_a_mistyped_override_gets_the_closest_dotted_keys() -> None:
    message, hint = error_of(overrides=("bench.bas=main",))
    assert message == "Unknown key `bench.bas` in session arguments."
    assert "did you mean `bench.base`" in hint
    _, unrelated = error_of(overrides=("lint.nope=1",))
    assert "did you mean" not in unrelated
    assert "python -m nox_cargo.config" in unrelated


def test_closest_lists_up_to_three_names_and_leaves_the_prefix_out_of_the_comparison() -> None:
    names = ["P_ALPHA", "P_ALPHAS", "P_ALPHAB", "P_ALPHAC", "P_OMEGA"]
    hint = convert.closest("P_ALPH", names, "fix it", prefix="P_")
    assert hint.startswith("fix it, or did you mean `P_ALPHA`")
    assert hint.count("`P_") == 3
    assert "P_OMEGA" not in hint
    unrelated = convert.closest("P_ZZZ", names, "fix it", "P_", "see the list")
    assert unrelated == "fix it; see the list."


def test_every_field_type_of_the_model_has_a_converter() -> None:
    for key, (_, tp) in cfg.leaves().items():
        assert convert.describe(tp), key


class Seconds(float):
    """A field type the model does not have: `2.5s`."""


@dataclass(frozen=True)
class Toy:
    timeout: Seconds = field(default=Seconds(1.0))


def test_a_new_field_type_is_one_converter(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(value: Any, tp: Any, where: convert.Where) -> Seconds:
        if not isinstance(value, str) or not value.endswith("s"):
            raise where.bad(tp, value)
        return Seconds(value.removesuffix("s"))

    monkeypatch.setitem(
        convert.CONVERTERS,
        Seconds,
        convert.Converter(lambda tp: "a duration (e.g. `2.5s`)", lambda text, tp: text, parse),
    )
    assert convert.convert({"timeout": "2.5s"}, Toy, "toy", "test") == Toy(Seconds(2.5))
    assert convert.from_string("3s", Seconds) == "3s"
    with pytest.raises(ConfigError) as info:
        convert.convert({"timeout": 3}, Toy, "toy", "test")
    assert info.value.message == "Invalid value for `toy.timeout` in test: expected a duration " + (
        "(e.g. `2.5s`), got int 3."
    )
    assert info.value.hint == "set `toy.timeout` to a duration (e.g. `2.5s`)."


def test_docker_platforms_must_name_registry_targets() -> None:
    config = cfg.load(None, {}, ["build.default-targets=false"])  # one session's run: loads
    with pytest.raises(ConfigError) as info:
        config.check_references()  # the pipeline register() defines: refused
    assert info.value.message == (
        "`docker.platforms` maps linux/amd64 to target 'x86_64-musl', which is not in the target "
        "registry ()."
    )
    assert "[[tool.nox-cargo.targets]]" in (info.value.hint or "")
    cfg.load(None, {}).check_references()  # the defaults are consistent
