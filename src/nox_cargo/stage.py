"""What a pipeline stage is: one frozen declaration holding every fact about it.

A `Stage` names the stage, its parameter (the values nox sessions are made for), its one-line
description, its options, its body, what it requires, its doctor rows and what the CI generator
needs. `nox_cargo.pipeline.STAGES` orders the declarations; everything else is derived from them:
the nox sessions and their `requires=`, plain `nox`'s order, the `nox -l` lines, each
`-- --help`, the doctor table and the workflow matrices.

Sessions are named `name(key=value)` for a parametrized stage (plus `name`, which runs every
value) and `name` otherwise.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nox_cargo.config import Config

if TYPE_CHECKING:
    from nox_cargo.cache.inputs import Inputs
    from nox_cargo.doctor import Probes, Row
    from nox_cargo.github.matrix import Facts
    from nox_cargo.project import Project
    from nox_cargo.provision.needs import Need

# The body of a stage: (project, parsed options, parameter value or "") -> anything.
Body = Callable[["Project", argparse.Namespace, str], object]
# Doctor rows of a stage, from the probes every provider shares.
RowProvider = Callable[["Probes"], Iterable["Row"]]
# What a stage needs provisioned for one value (rustup toolchains/targets/components, PyPI and
# crates.io tools); `nox -s provision` installs the union over the registered stages.
Needs = Callable[["Project", str], Sequence["Need"]]
# One entry of a generated CI matrix.
Entry = dict[str, str | bool]


@dataclass(frozen=True)
class Option:
    """A `--flag` of a stage's posargs (after `--`)."""

    flags: tuple[str, ...]
    help: str
    metavar: str | None = None  # None: a switch that takes no value
    type: Callable[[str], object] = str
    nargs: str | None = None  # "?": the value may be left out
    group: str = ""  # options with the same group exclude each other
    const: str | None = None  # with nargs="?": the value of the flag given without one
    default: str | None = None
    # False: given, the stage always runs and its result is not recorded (`--fix`, `--push`).
    cacheable: bool = True
    repeat: bool = False  # may be given several times: a list of values (`--compare A --compare B`)

    @property
    def dest(self) -> str:
        """The attribute argparse stores it under."""
        long = next((f for f in self.flags if f.startswith("--")), self.flags[0])
        return long.lstrip("-").replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup) -> None:
        if self.metavar is None:
            parser.add_argument(*self.flags, action="store_true", help=self.help)
        elif self.nargs == "?":
            parser.add_argument(
                *self.flags,
                metavar=self.metavar,
                type=self.type,
                nargs="?",
                const=self.const,
                default=self.default,
                help=self.help,
            )
        elif self.repeat:
            parser.add_argument(
                *self.flags, metavar=self.metavar, type=self.type, action="append", help=self.help
            )
        else:
            parser.add_argument(
                *self.flags,
                metavar=self.metavar,
                type=self.type,
                nargs=self.nargs,
                default=self.default,
                help=self.help,
            )


@dataclass(frozen=True)
class Param:
    """The parameter of a stage: its key, its values (from the config) and each value's line."""

    key: str  # "target" → build(target=x86_64-musl)
    values: Callable[[Config], Sequence[str]]
    describe: Callable[[Config, str], str] | None = None  # None: "<summary> (key=value)."

    @classmethod
    def fixed(cls, key: str, lines: Mapping[str, str]) -> Param:
        """Values that do not depend on the config, each with its line."""
        return cls(key, lambda config: tuple(lines), lambda config, value: lines[value])


@dataclass(frozen=True)
class CIMatrix:
    """The stage is a matrix job in CI: one entry per registered session, plus these keys."""

    extras: Callable[[Facts, str], Mapping[str, str | bool]] = lambda facts, value: {}


def no_requirements(config: Config, value: str) -> Sequence[tuple[str, str]]:
    return ()


@dataclass(frozen=True)
class Stage:
    """Every fact about one stage, stated once."""

    name: str
    summary: str  # one line: the unparametrized session's description
    run: Body
    param: Param | None = None
    options: tuple[Option, ...] = ()
    # Remaining arguments passed through to the tool (`test`: nextest's own arguments).
    passthrough: str = ""
    # The sessions this one needs first, as (stage, value) pairs: package(x) needs build(x).
    requires: Callable[[Config, str], Sequence[tuple[str, str]]] = no_requirements
    doctor: tuple[RowProvider, ...] = ()
    ci: CIMatrix | None = None
    in_pipeline: bool = True  # plain `nox` runs it
    # What the result depends on and leaves behind; None: it always runs (see nox_cargo.cache).
    inputs: Inputs | None = None
    needs: Needs | None = None  # None: nothing to provision

    def values(self, config: Config) -> list[str]:
        return list(self.param.values(config)) if self.param else [""]

    def session(self, value: str) -> str:
        """The nox session name of one value: `build(target=x86_64-musl)`, or `doctor`."""
        return f"{self.name}({self.param.key}={value})" if self.param else self.name

    def description(self, config: Config, value: str) -> str:
        """The line `nox -l` shows and `-- --help` starts with."""
        if self.param is None:
            return self.summary
        if self.param.describe is None:
            return f"{self.summary} ({self.param.key}={value})."
        return self.param.describe(config, value)

    def parent_description(self, config: Config) -> str:
        assert self.param is not None
        return f"{self.summary}: every {self.param.key} ({', '.join(self.values(config))})."


def lazy(reference: str) -> Callable[..., Any]:
    """`"package.module:function"`, imported when first called.

    The table names bodies, doctor rows and CI extras this way, so that defining the sessions
    (`nox -l`, and every nox start) imports no stage's machinery.
    """
    module, _, attribute = reference.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), attribute)(*args, **kwargs)

    call.__name__ = attribute
    call.__qualname__ = reference
    return call


def find(stages: Iterable[Stage], name: str) -> Stage | None:
    return next((s for s in stages if s.name == name), None)


def check_unique(stages: Sequence[Stage]) -> None:
    names = [s.name for s in stages]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"stages declared twice: {', '.join(twice)}")
