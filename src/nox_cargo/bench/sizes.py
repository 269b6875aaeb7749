"""Sizes from the manifests earlier stages wrote: exact numbers, read, never re-measured.

- the benchmarked binary: its BuildManifest artifact (`size`);
- WASM modules: every `dist/wasm/<triple>/[<module>.]wasm-manifest.json` (kind "wasm"): its
  `sizes` table (raw, gzip, brotli... bytes);
- Docker images: every `dist/docker/<os-arch>/image-manifest.json` (kind "docker"): its `size`.
A manifest that is absent is not reported; one that is corrupt is an error naming it (its stage
must be re-run).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nox_cargo import manifest as mf
from nox_cargo.bench.results import SizeEntry


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def wasm_sizes(path: Path) -> list[SizeEntry]:
    triple = path.parent.name
    document = mf.read(path, "wasm", f"wasm(target={triple})")
    name = f"{triple}/{document.get('binary', 'module')}"
    table = document.get("sizes")
    entries = []
    if isinstance(table, Mapping):
        for key, value in sorted(table.items()):
            if _is_size(value):
                # `wasm` (the raw module) is what `bench.wasm-budget` gates; gzip, brotli...
                # are reported as `wasm-gzip`, `wasm-brotli`, ...
                kind = "wasm" if key == "raw" else f"wasm-{key}"
                entries.append(SizeEntry(kind, name, value, str(path)))
    return entries


def image_sizes(path: Path) -> list[SizeEntry]:
    document = mf.read(path, "docker", "docker")
    size = document.get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        return []
    platform = str(document.get("platform", path.parent.name))
    return [SizeEntry("image", platform, int(size), str(path))]


def collect(dist_dir: Path, binary: SizeEntry | None) -> list[SizeEntry]:
    entries = [binary] if binary else []
    # One module of a triple: wasm-manifest.json; several: <module>.wasm-manifest.json each.
    for path in sorted(dist_dir.glob("wasm/*/*wasm-manifest.json")):
        entries.extend(wasm_sizes(path))
    for path in sorted(dist_dir.glob("docker/*/image-manifest.json")):
        entries.extend(image_sizes(path))
    return entries
