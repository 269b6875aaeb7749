"""One converter per field type: how it is described, read from a string, and checked.

Every value goes through `convert`, so a wrong type, an unknown key or a bad value gives the same
kind of error from every source: the key, where it came from, and what is allowed. Values written
as strings (environment, `-c`) are first lifted to TOML-like values by `from_string`.

A new field type is one entry in `CONVERTERS`.
"""

from __future__ import annotations

import difflib
import json
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any, Literal

from nox_cargo.config.model import ByteSize, Invalid, fields, is_section, toml_key
from nox_cargo.errors import ConfigError


@dataclass(frozen=True)
class Where:
    """The key being converted and the source it came from, for error messages."""

    key: str
    source: str

    def at(self, index: int) -> Where:
        return Where(f"{self.key}[{index}]", self.source)

    def bad(self, tp: Any, value: Any, reason: str | None = None) -> ConfigError:
        why = reason or f"expected {describe(tp)}, got {type(value).__name__} {value!r}"
        return ConfigError(
            f"Invalid value for `{self.key}` in {self.source}: {why}.",
            f"set `{self.key}` to {describe(tp)}.",
        )


@dataclass(frozen=True)
class Converter:
    """What the model needs to know about one field type."""

    describe: Callable[[Any], str]
    """The type in words, as error hints and the reference write it."""
    from_string: Callable[[str, Any], Any]
    """A string (environment, `-c`) lifted to a TOML-like value; ValueError if it cannot be."""
    convert: Callable[[Any, Any, Where], Any]
    """A TOML-like value checked and converted to the type; ConfigError if it cannot be."""


def describe(tp: Any) -> str:
    return converter(tp).describe(tp)


def from_string(text: str, tp: Any) -> Any:
    return converter(tp).from_string(text, tp)


def convert(value: Any, tp: Any, key: str, source: str) -> Any:
    """Convert a TOML-like value to `tp`, or raise ConfigError naming `key` and `source`."""
    return converter(tp).convert(value, tp, Where(key, source))


def converter(tp: Any) -> Converter:
    if is_section(tp):
        return _SECTION
    origin = typing.get_origin(tp)
    kind = typing.Union if origin is types.UnionType else origin or tp
    try:
        return CONVERTERS[kind]
    except KeyError:  # pragma: no cover - a field type without a converter
        raise TypeError(f"nox-cargo bug: no converter for {tp!r}") from None


# --------------------------------------------------------------------------------------------
# The converters.
# --------------------------------------------------------------------------------------------


def _text(text: str, tp: Any) -> Any:
    """Strings, paths, sizes and choices are checked by `convert`: pass the text through."""
    return text


def _words(text: str) -> Callable[[Any], str]:
    return lambda tp: text


def _parsed(parse: Callable[[str], Any], not_a: str) -> Callable[[str, Any], Any]:
    """A scalar read from a string by `parse` (int, float)."""

    def read(text: str, tp: Any) -> Any:
        try:
            return parse(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {not_a}") from None

    return read


def _typed(check: Callable[[Any], bool]) -> Callable[[Any, Any, Where], Any]:
    """A scalar taken as it is when `check` accepts the TOML value."""

    def conv(value: Any, tp: Any, where: Where) -> Any:
        if not check(value):
            raise where.bad(tp, value)
        return value

    return conv


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool_from_string(text: str, tp: Any) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean (use true/false, 1/0, yes/no)")


def _float(value: Any, tp: Any, where: Where) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.bad(tp, value)
    if not math.isfinite(value):
        raise where.bad(
            tp, value, f"{value!r} is not a finite number (NaN and infinities are not allowed)"
        )
    return float(value)


def _path(value: Any, tp: Any, where: Where) -> Path:
    if not isinstance(value, str) or not value:
        raise where.bad(tp, value)
    return Path(value)


def _size(value: Any, tp: Any, where: Where) -> ByteSize:
    try:
        return ByteSize.parse(value)
    except ValueError as exc:
        raise where.bad(tp, value, str(exc)) from None


def _literal(value: Any, tp: Any, where: Where) -> Any:
    if value not in typing.get_args(tp):
        raise where.bad(tp, value, f"{value!r} is not {describe(tp)}")
    return value


def _options(tp: Any) -> list[Any]:
    return [a for a in typing.get_args(tp) if a is not type(None)]


def _optional_from_string(text: str, tp: Any) -> Any:
    if text == "" and type(None) in typing.get_args(tp):
        return None
    return from_string(text, _options(tp)[0])


def _optional(value: Any, tp: Any, where: Where) -> Any:
    if value is None and type(None) in typing.get_args(tp):
        return None
    return converter(_options(tp)[0]).convert(value, _options(tp)[0], where)


def _collection_from_string(text: str, tp: Any) -> Any:
    """JSON for a list or a table; a plain comma-separated list for a list of scalars."""
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{text!r} is not valid JSON: {exc.msg}") from None
    if typing.get_origin(tp) is tuple and not is_section(typing.get_args(tp)[0]):
        return [part.strip() for part in stripped.split(",") if part.strip()]
    raise ValueError(f"{text!r}: give {describe(tp)} as JSON")


def _plural(tp: Any) -> str:
    """`a string` -> `strings`, `a list of strings` -> `lists of strings`."""
    words = describe(tp).removeprefix("a ").removeprefix("an ").split(" ", 1)
    return " ".join([words[0] + "s", *words[1:]])


def _describe_tuple(tp: Any) -> str:
    inner = typing.get_args(tp)[0]
    if is_section(inner):
        return "an array of tables"
    return "a list of " + _plural(inner)


def _tuple(value: Any, tp: Any, where: Where) -> tuple[Any, ...]:
    inner = typing.get_args(tp)[0]
    if not isinstance(value, list | tuple):
        raise where.bad(tp, value)
    return tuple(converter(inner).convert(v, inner, where.at(i)) for i, v in enumerate(value))


def _describe_table(tp: Any) -> str:
    return "a table of " + _plural(typing.get_args(tp)[1])


def _table(value: Any, tp: Any, where: Where) -> dict[str, Any]:
    """A table with string keys, each value converted to the value type."""
    inner = typing.get_args(tp)[1]
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise where.bad(tp, value)
    return {
        k: converter(inner).convert(v, inner, Where(f"{where.key}.{k}", where.source))
        for k, v in value.items()
    }


def _section(value: Any, tp: Any, where: Where) -> Any:
    if not isinstance(value, Mapping):
        raise where.bad(tp, value, f"expected a table, got {type(value).__name__} {value!r}")
    values = {
        name: convert(raw, field_type, _dotted(where.key, toml_key(name)), where.source)
        for name, (raw, field_type) in known_keys(tp, value, where.key, where.source).items()
    }
    return build(tp, values, where.key, where.source)


CONVERTERS: dict[Any, Converter] = {
    bool: Converter(_words("a boolean"), _bool_from_string, _typed(lambda v: isinstance(v, bool))),
    int: Converter(
        _words("an integer"),
        _parsed(int, "an integer"),
        _typed(lambda v: not isinstance(v, bool) and isinstance(v, int)),
    ),
    float: Converter(_words("a number"), _parsed(float, "a number"), _float),
    str: Converter(_words("a string"), _text, _typed(lambda v: isinstance(v, str))),
    Path: Converter(_words("a path (string)"), _text, _path),
    ByteSize: Converter(_words('a size (bytes, or e.g. "300 KiB")'), _text, _size),
    Literal: Converter(
        lambda tp: "one of " + ", ".join(repr(a) for a in typing.get_args(tp)), _text, _literal
    ),
    typing.Union: Converter(
        lambda tp: " or ".join(describe(a) for a in _options(tp)), _optional_from_string, _optional
    ),
    tuple: Converter(_describe_tuple, _collection_from_string, _tuple),
    dict: Converter(_describe_table, _collection_from_string, _table),
}
_SECTION = Converter(lambda tp: getattr(tp, "__name__", str(tp)), _text, _section)


# --------------------------------------------------------------------------------------------
# Tables: the one unknown-key check, and building a section from converted values.
# --------------------------------------------------------------------------------------------


def _dotted(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


REFERENCE = "`python -m nox_cargo.config` lists every key with its meaning"


def closest(
    word: str, candidates: Iterable[str], fix: str, prefix: str = "", listing: str = REFERENCE
) -> str:
    """A hint for an unknown name: `fix`, and the closest known names (difflib), if any.

    `prefix`, shared by the word and every candidate, is left out of the comparison: it would
    make any typo look close to every name.
    """
    names = sorted(c.removeprefix(prefix) for c in candidates)
    matches = difflib.get_close_matches(word.removeprefix(prefix), names, n=3, cutoff=0.6)
    if not matches:
        return f"{fix}; {listing}."
    quoted = [f"`{prefix}{m}`" for m in matches]
    joined = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"{fix}, or did you mean {joined}?"


def known_keys(
    cls: type, table: Mapping[str, Any], prefix: str, source: str
) -> dict[str, tuple[Any, Any]]:
    """Check a TOML table's keys against `cls`: field name -> (raw value, field type)."""
    known = fields(cls)
    by_toml = {toml_key(name): name for name in known}
    out: dict[str, tuple[Any, Any]] = {}
    for raw_key, raw_value in table.items():
        name = by_toml.get(raw_key)
        if name is None:
            raise ConfigError(
                f"Unknown key `{_dotted(prefix, raw_key)}` in {source}.",
                closest(raw_key, by_toml, "remove it"),
            )
        out[name] = (raw_value, known[name][1])
    return out


def build(cls: type, values: Mapping[str, Any], prefix: str, source: str) -> Any:
    """Instantiate `cls`; a missing required key or a failed check names the key."""
    missing = [
        toml_key(f.name)
        for f, _ in fields(cls).values()
        if f.name not in values and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        where = f"`{prefix}`" if prefix else "the configuration"
        raise ConfigError(
            f"Missing key `{missing[0]}` in {where} ({source}).",
            f"add `{missing[0]} = ...` to it.",
        )
    try:
        return cls(**values)
    except Invalid as exc:
        key = _dotted(prefix, toml_key(exc.key))
        raise ConfigError(
            f"Invalid value for `{key}` in {source}: {exc.reason}.", f"correct `{key}`."
        ) from None
