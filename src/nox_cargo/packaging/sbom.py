"""CycloneDX SBOM of a released binary: the crates compiled into it, from cargo's own resolve.

`cargo metadata --filter-platform <triple> [--features …]` gives the resolved graph for the
target (platform-specific dependencies of other platforms already dropped). From the package that
owns the binary, only *normal* dependency edges are followed:

- dev-dependencies are never compiled into a release binary: not followed;
- build-dependencies run on the build host inside build scripts and leave no code in the binary:
  not followed (nor is anything reached only through them);
- proc-macro crates are normal dependencies but run inside rustc and emit source into their user;
  their code is not linked in: left out, and their own dependencies are not followed.

So the document lists the binary's package (as `metadata.component`) and every library crate
linked into it (as `components`), with the dependency graph between them. The serial number
and timestamp derive from the binary's sha256 and SOURCE_DATE_EPOCH, so the same build gives the
same bytes. Serialized with cyclonedx-python-lib (CycloneDX 1.6 JSON).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nox_cargo.errors import CommandFailed, NoxCargoError, Unavailable, WorkspaceError
from nox_cargo.process import run

SUFFIX = ".cdx.json"
CRATES_IO = frozenset(
    {"registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io/"}
)
SPEC = "1.6"
INSTALL_HINT = "pip install cyclonedx-python-lib (nox-cargo depends on it; reinstall nox-cargo)"
_NAMESPACE = uuid.UUID("6f1c2a44-52e8-4d0c-9a43-1f0c8a6e9b51")  # nox-cargo's SBOM serial namespace


@dataclass(frozen=True)
class Crate:
    """One package of the resolve, as cargo metadata describes it."""

    id: str
    name: str
    version: str
    source: str | None  # None: a path (workspace) crate
    license: str | None
    description: str | None
    repository: str | None
    dependencies: tuple[str, ...]  # ids of the crates it links (normal edges only)

    @property
    def purl(self) -> str:
        """pkg:cargo/<name>@<version>; crates of another registry name it (purl-spec cargo)."""
        base = f"pkg:cargo/{self.name}@{self.version}"
        if self.source and self.source not in CRATES_IO and "+" in self.source:
            kind, url = self.source.split("+", 1)
            if kind in ("registry", "sparse"):
                return f"{base}?repository_url={url}"
        return base


def _normal(dep: Mapping[str, Any]) -> bool:
    kinds = dep.get("dep_kinds") or [{"kind": None}]
    return any(k.get("kind") is None for k in kinds)


def crates_for(metadata: Mapping[str, Any], package: str) -> tuple[Crate, list[Crate]]:
    """(the binary's package, every library crate linked into it), from a resolved metadata."""
    try:
        packages = {p["id"]: p for p in metadata["packages"]}
        nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
        members = set(metadata["workspace_members"])
    except (KeyError, TypeError) as exc:
        raise WorkspaceError(
            f"`cargo metadata` gave no resolve nox-cargo can read ({exc!r})."
        ) from None
    roots = [i for i in members if packages[i]["name"] == package]
    if len(roots) != 1:
        raise WorkspaceError(f"Package `{package}` is not a member of the workspace.")

    def proc_macro(pid: str) -> bool:
        return any("proc-macro" in t.get("kind", []) for t in packages[pid].get("targets", []))

    def crate(pid: str, deps: Sequence[str]) -> Crate:
        p = packages[pid]
        return Crate(
            id=pid,
            name=p["name"],
            version=p["version"],
            source=p.get("source"),
            license=p.get("license"),
            description=p.get("description"),
            repository=p.get("repository"),
            dependencies=tuple(sorted(deps)),
        )

    found: dict[str, Crate] = {}
    stack = [roots[0]]
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        deps = [
            d["pkg"] for d in nodes[pid].get("deps", []) if _normal(d) and not proc_macro(d["pkg"])
        ]
        found[pid] = crate(pid, deps)
        stack.extend(deps)
    root = found.pop(roots[0])
    return root, sorted(found.values(), key=lambda c: (c.name, c.version, c.id))


def cargo_resolve(
    workspace_root: Path, triple: str, features: Sequence[str], cargo: str = "cargo"
) -> dict[str, Any]:
    """`cargo metadata` with the resolve for `triple` and the build's features."""
    argv = [cargo, "metadata", "--format-version", "1", "--filter-platform", triple, "--locked"]
    if features:
        argv += ["--features", ",".join(features)]
    try:
        done = run(argv, cwd=workspace_root, capture=True, quiet=True)
    except CommandFailed as exc:
        raise WorkspaceError(
            f"`cargo metadata --filter-platform {triple}` failed in {workspace_root}:\n{exc.tail}",
            "the SBOM needs the resolve the build used; fix the error above.",
        ) from None
    try:
        data: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise WorkspaceError(
            f"`cargo metadata` printed something that is not JSON ({exc.msg})."
        ) from None
    return data


def bom_refs(crates: Sequence[Crate]) -> dict[str, str]:
    """cargo id → a bom-ref free of local paths (cargo's ids of path crates hold the absolute
    path, which would make the document differ per checkout): the purl, made unique if needed."""
    refs: dict[str, str] = {}
    taken: set[str] = set()
    for c in sorted(crates, key=lambda c: c.id):
        ref = c.purl
        if ref in taken:
            ref = f"{ref}#{hashlib.sha256(c.id.encode()).hexdigest()[:12]}"
        taken.add(ref)
        refs[c.id] = ref
    return refs


def render(
    root: Crate,
    crates: Sequence[Crate],
    binary: str,
    binary_sha256: str,
    triple: str,
    features: Sequence[str],
    epoch: int,
) -> str:
    """The CycloneDX JSON document (pretty-printed, stable key order)."""
    try:
        from cyclonedx.model import HashAlgorithm, HashType, Property
        from cyclonedx.model.bom import Bom, BomMetaData
        from cyclonedx.model.component import Component, ComponentType
        from cyclonedx.model.license import LicenseExpression
        from cyclonedx.output.json import JsonV1Dot6
        from packageurl import PackageURL
    except ImportError:
        raise Unavailable(
            "cyclonedx-python-lib is not installed, so no SBOM can be written.", INSTALL_HINT
        ) from None

    refs = bom_refs([root, *crates])

    def component(c: Crate, kind: ComponentType, hashes: Sequence[HashType] = ()) -> Component:
        return Component(
            name=c.name,
            version=c.version,
            type=kind,
            bom_ref=refs[c.id],
            description=c.description,
            purl=PackageURL.from_string(c.purl),
            licenses=[LicenseExpression(c.license)] if c.license else None,
            hashes=hashes,
        )

    main = component(
        root,
        ComponentType.APPLICATION,
        [HashType(alg=HashAlgorithm.SHA_256, content=binary_sha256)],
    )
    libraries = {c.id: component(c, ComponentType.LIBRARY) for c in crates}
    bom = Bom(
        serial_number=uuid.uuid5(_NAMESPACE, f"{binary}:{binary_sha256}:{triple}"),
        metadata=BomMetaData(
            component=main,
            timestamp=datetime.fromtimestamp(epoch, tz=UTC),
            properties=[
                Property(name="nox-cargo:binary", value=binary),
                Property(name="nox-cargo:target-triple", value=triple),
                Property(name="nox-cargo:features", value=",".join(features)),
            ],
        ),
        components=libraries.values(),
    )
    bom.register_dependency(main, [libraries[d] for d in root.dependencies])
    for c in crates:
        bom.register_dependency(libraries[c.id], [libraries[d] for d in c.dependencies])
    try:
        text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    except Exception as exc:  # the library's own validation of the model
        raise NoxCargoError(f"cyclonedx-python-lib refused the SBOM of {binary}: {exc}") from None
    return text + "\n"


def sbom_name(archive_name: str, archive_suffix: str) -> str:
    return archive_name.removesuffix(archive_suffix) + SUFFIX
