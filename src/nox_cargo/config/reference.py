"""The configuration reference, generated from the model: every key, its type, default, meaning."""

from __future__ import annotations

import dataclasses
import json
import typing

from nox_cargo.config.convert import describe
from nox_cargo.config.model import Config, fields, is_section, toml_key


def reference() -> list[tuple[str, str, str, str]]:
    """(key, type, default, description) for every key: the README's configuration reference."""
    rows: list[tuple[str, str, str, str]] = []

    def walk(cls: type, path: tuple[str, ...]) -> None:
        for name, (f, tp) in fields(cls).items():
            here = (*path, name)
            if is_section(tp):
                walk(tp, here)
                continue
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = "(required)"
            rows.append(
                (
                    ".".join(toml_key(p) for p in here),
                    describe(tp),
                    json.dumps(default, default=str) if default != "(required)" else default,
                    f.metadata.get("doc", ""),
                )
            )
            inner = typing.get_args(tp)[0] if typing.get_origin(tp) is tuple else None
            if inner is not None and is_section(inner):  # array of tables: one entry's fields
                walk(inner, (*path, f"{name}[]"))

    walk(Config, ())
    return rows


def reference_markdown() -> str:
    """The configuration reference as a Markdown table (README embeds it; a test keeps it true)."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, kind, default, doc in reference():
        cell_doc = doc.replace("|", "\\|")
        lines.append(f"| `{key}` | {kind} | `{default}` | {cell_doc} |")
    return "\n".join(lines)
