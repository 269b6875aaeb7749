"""Workspace facts come from cargo metadata JSON; these tests feed it recorded shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nox_cargo.errors import WorkspaceError
from nox_cargo.workspace import Version, parse_metadata


def metadata(root: Path) -> dict[str, Any]:
    def pkg(name: str, kinds: list[list[str]], rust_version: str | None) -> dict[str, Any]:
        return {
            "id": f"path+file://{root}/{name}#0.3.0",
            "name": name,
            "version": "0.3.0",
            "manifest_path": str(root / name / "Cargo.toml"),
            "rust_version": rust_version,
            "license": "MIT",
            "repository": None,
            "targets": [{"name": name, "kind": k} for k in kinds],
        }

    packages = [
        pkg("weft", [["bin"]], "1.63"),
        pkg("weft-core", [["lib"]], "1.63"),
        pkg("weft-wasm", [["bin"]], "1.70.1"),
        {**pkg("dep", [["lib"]], None), "id": "registry+dep"},
    ]
    return {
        "packages": packages,
        "workspace_members": [p["id"] for p in packages[:3]],
        "workspace_root": str(root),
        "target_directory": str(root / "target"),
        "metadata": {"nox-cargo": {"strict": True}},
        "version": 1,
    }


def test_members_binaries_and_msrv(tmp_path: Path) -> None:
    ws = parse_metadata(metadata(tmp_path))
    assert [p.name for p in ws.members] == ["weft", "weft-core", "weft-wasm"]
    assert ws.binaries().keys() == {"weft", "weft-wasm"}
    assert ws.rust_version == Version(1, 70, 1)
    assert ws.report_dir == tmp_path / "target" / "nox-cargo"
    assert ws.metadata["nox-cargo"] == {"strict": True}


def test_release_binaries_are_checked_against_cargo(tmp_path: Path) -> None:
    ws = parse_metadata(metadata(tmp_path))
    assert list(ws.release_binaries(("weft",))) == ["weft"]
    assert set(ws.release_binaries(())) == {"weft", "weft-wasm"}
    with pytest.raises(WorkspaceError, match=r"`wfet`.*not a bin target") as info:
        ws.release_binaries(("wfet",))
    assert "weft, weft-wasm" in (info.value.hint or "")


def test_unreadable_metadata_is_a_clear_error() -> None:
    with pytest.raises(WorkspaceError, match="cargo metadata"):
        parse_metadata({"packages": []})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.63", Version(1, 63, 0)),
        ("1.78.0", Version(1, 78, 0)),
        ("1.97.0-nightly", Version(1, 97, 0)),
    ],
)
def test_versions(text: str, expected: Version) -> None:
    assert Version.parse(text) == expected


def test_bad_version() -> None:
    with pytest.raises(ValueError, match="not a version"):
        Version.parse("one.two")
