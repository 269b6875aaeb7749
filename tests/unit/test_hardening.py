"""Issue 14: bad input of every class ends in one paragraph with the fix, never a traceback or a
silent acceptance; verify reads archives in bounded memory; dist/ writes stay consistent."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from nox_cargo import config as cfg
from nox_cargo import fsutil
from nox_cargo.bench import results
from nox_cargo.diagnose import explain
from nox_cargo.errors import CommandFailed, ConfigError, NoxCargoError
from nox_cargo.packaging import archive, checksums, pending, release
from nox_cargo.packaging.verify import Limits, verify
from nox_cargo.sessions import runner as stage
from nox_cargo.workspace import parse_metadata
from tests.unit.test_packaging import EXTRA, package_by_hand
from tests.unit.test_workspace import metadata

# -- numeric config ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_non_finite_numbers_are_refused_from_env_and_c(text: str) -> None:
    with pytest.raises(ConfigError, match=r"bench\.max-seconds") as info:
        cfg.load(None, {"NOX_CARGO_BENCH_MAX_SECONDS": text})
    assert "finite" in info.value.message
    with pytest.raises(ConfigError, match=r"bench\.max-seconds"):
        cfg.load(None, {}, [f"bench.max-seconds={text}"])


def test_non_finite_numbers_are_refused_from_toml() -> None:
    source = cfg.ConfigSource({"bench": {"threshold-percent": float("nan")}}, "pyproject", Path())
    with pytest.raises(ConfigError, match="threshold-percent"):
        cfg.load(source, {})


# -- SOURCE_DATE_EPOCH beyond zip ---------------------------------------------------------------


def test_an_epoch_past_2107_is_a_config_error_for_zip() -> None:
    entry = archive.Entry("a", b"x")
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH") as info:
        archive.build([entry], "zip", 5_000_000_000)
    assert "2107" in info.value.message
    assert archive.build([entry], "tar.gz", 5_000_000_000)  # tar stores it


# -- dist/ that cannot be written -------------------------------------------------------------


def test_dist_that_is_a_file_is_an_error_naming_it(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.write_text("oops")
    with pytest.raises(NoxCargoError, match="not a directory") as info, fsutil.locked(dist):
        pass
    assert str(dist) in info.value.message
    with pytest.raises(NoxCargoError, match="not a directory"):
        fsutil.atomic_write_text(dist / "SHA256SUMS", "x")


def test_dist_that_is_not_writable_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(NoxCargoError, match="Permission denied") as info:
        fsutil.atomic_write_text(tmp_path / "SHA256SUMS", "x")
    assert "writable" in (info.value.hint or "")


def test_a_non_utf8_file_name_in_dist_is_an_error_naming_it(tmp_path: Path) -> None:
    package_by_hand(tmp_path)
    bad = os.fsencode(tmp_path) + b"/caf\xe9.zip"
    Path(os.fsdecode(bad)).write_bytes(b"PK")
    with pytest.raises(checksums.ChecksumError, match="UTF-8") as info:
        checksums.write_sums(tmp_path)
    assert "rename" in (info.value.hint or "")
    report = verify(tmp_path, EXTRA)
    assert any("UTF-8" in p for p in report.problems)


# -- files that go into archives --------------------------------------------------------------


def project_with_files(root: Path, files: tuple[str, ...]) -> Any:
    package = SimpleNamespace(files=files)
    return SimpleNamespace(
        workspace=SimpleNamespace(root=root), config=SimpleNamespace(package=package)
    )


def test_a_symlink_to_a_host_file_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "host-secret"
    outside.write_text("hostname\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "NOTICE").symlink_to(outside)
    with pytest.raises(ConfigError, match="outside the workspace") as info:
        release.read_extra_files(project_with_files(ws, ("NOTICE",)))
    assert "package.files" in info.value.message


def test_a_symlink_inside_the_workspace_is_followed(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "docs").mkdir(parents=True)
    (ws / "docs" / "LICENSE-MIT").write_text("MIT\n")
    (ws / "LICENSE").symlink_to(ws / "docs" / "LICENSE-MIT")
    got = release.read_extra_files(project_with_files(ws, ("LICENSE",)))
    assert [(e.name, e.data) for e in got] == [("LICENSE", b"MIT\n")]


def test_a_directory_or_fifo_is_not_a_regular_file(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("fifos are POSIX")
    ws = tmp_path / "ws"
    (ws / "docs").mkdir(parents=True)
    os.mkfifo(ws / "pipe")
    for name in ("docs", "pipe"):
        with pytest.raises(ConfigError, match="not a regular file"):
            release.read_extra_files(project_with_files(ws, (name,)))


# -- streaming, bounded verify ----------------------------------------------------------------


def big_zip(dist: Path, size: int) -> Path:
    """A packaged dist/ whose archive's binary entry is `size` bytes of one repeated block."""
    path = package_by_hand(dist)
    out = io.BytesIO()
    block = bytes(range(256)) * 4096
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("weft", "w", force_zip64=True) as fh,
    ):
        for _ in range(size // len(block)):
            fh.write(block)
    path.write_bytes(out.getvalue())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    checksums.write_sidecar(path, digest)
    checksums.write_sums(dist)
    return path


def test_an_entry_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big_zip(tmp_path, 4 * 1024 * 1024)
    report = verify(tmp_path, EXTRA, Limits(max_entry_size=1024 * 1024, max_ratio=1e9))
    assert any(
        "weft" in p and "package.max-entry-size" in p and "4194304" in p for p in report.problems
    ), report.problems


def test_an_entry_over_the_compression_ratio_is_refused(tmp_path: Path) -> None:
    big_zip(tmp_path, 4 * 1024 * 1024)
    report = verify(tmp_path, EXTRA, Limits(max_entry_size=1 << 40, max_ratio=10))
    assert any("package.max-compression-ratio" in p for p in report.problems), report.problems


def test_the_default_limits_refuse_a_4_gib_entry() -> None:
    defaults = cfg.PackageConfig()
    assert defaults.max_entry_size < 4 * 1024**3
    assert Limits.from_config(defaults).max_entry_size == defaults.max_entry_size


# -- interrupted package runs -----------------------------------------------------------------


def test_verify_names_an_interrupted_package_run_and_the_command(tmp_path: Path) -> None:
    path = package_by_hand(tmp_path)
    with pending.started(tmp_path, "x86_64-gnu"):
        pass  # completed: the marker is gone
    assert pending.interrupted(tmp_path) == []
    marker = pending.mark(tmp_path, "x86_64-gnu")
    assert marker.name.startswith(".")
    flip(path.with_name(path.name + ".sha256"))
    report = verify(tmp_path, EXTRA)
    assert any(
        "interrupted" in p and 'nox -s "package(target=x86_64-gnu)"' in p for p in report.problems
    ), report.problems


def flip(path: Path) -> None:
    text = path.read_text()
    path.write_text(("0" if text[0] != "0" else "1") + text[1:])


# -- bench baselines --------------------------------------------------------------------------


def test_negative_samples_in_a_baseline_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        results._series({"wall": [1.0, -2.0, 3.0]})


# -- library-only workspace -------------------------------------------------------------------


def test_a_workspace_without_binaries_has_nothing_to_release(tmp_path: Path) -> None:
    data = metadata(tmp_path)
    for pkg in data["packages"]:
        pkg["targets"] = [{"name": pkg["name"], "kind": ["lib"]}]
    ws = parse_metadata(data)
    with pytest.raises(NoxCargoError, match="no bin target") as info:
        ws.release_binaries(())
    assert "[[bin]]" in (info.value.hint or "") or "main.rs" in (info.value.hint or "")


# -- usage, --help, fix lines -----------------------------------------------------------------


def test_the_usage_hint_is_a_command_that_works() -> None:
    p = stage.parser("verify", "Re-check dist/.")
    with pytest.raises(NoxCargoError) as info:
        p.error("unrecognized arguments: --bogus")
    hint = info.value.hint or ""
    assert "--usage" not in hint
    assert 'nox -s "verify" -- --help' in hint


class FakeSession:
    def __init__(self, posargs: list[str]) -> None:
        self.posargs = posargs

    def error(self, message: str) -> None:
        raise SystemExit(f"error: {message}")

    def skip(self, message: str) -> None:
        raise SystemExit(f"skip: {message}")


def test_help_prints_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = stage.parser("verify-help-once", "Re-check dist/.")
    stage.run_stage(FakeSession(["--help"]), "verify", lambda pr, a: None, p, tmp_path)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert out.count("usage:") == 1, out


def minimal_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[tool.nox-cargo]\nbinaries = ["weft"]\n')
    return root


def test_an_unexpected_exception_is_a_short_bug_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOX_CARGO_DEBUG", raising=False)
    root = minimal_project(tmp_path / "p")
    p = stage.parser("boom", "Explode.")

    def body(project: Any, args: Any) -> None:
        raise KeyError("surprise")

    with pytest.raises(SystemExit, match="error: "):
        stage.run_stage(FakeSession([]), "boom", body, p, root)  # type: ignore[arg-type]
    out = capsys.readouterr()
    text = out.out + out.err
    assert "bug in nox-cargo" in text
    assert "KeyError" in text and "surprise" in text
    assert "NOX_CARGO_DEBUG=1" in text
    assert "Traceback" not in text


def test_the_traceback_is_shown_under_debug(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOX_CARGO_DEBUG", "1")
    root = minimal_project(tmp_path / "p")
    p = stage.parser("boom-debug", "Explode.")

    def body(project: Any, args: Any) -> None:
        raise KeyError("surprise")

    with pytest.raises(SystemExit):
        stage.run_stage(FakeSession([]), "boom-debug", body, p, root)  # type: ignore[arg-type]
    out = capsys.readouterr()
    assert "Traceback" in out.out + out.err


def test_nox_cargo_debug_is_not_an_unknown_config_variable() -> None:
    cfg.load(None, {"NOX_CARGO_DEBUG": "1"})


def test_the_fmt_fix_line_reads_as_a_sentence() -> None:
    from nox_cargo import lint

    hint = lint.fmt_check_hint()
    assert "what run" not in hint
    assert 'nox -s "lint(step=fmt)" -- --fix' in hint


def test_a_toolchain_older_than_rust_version_is_named() -> None:
    tail = (
        "error: package `weft v0.3.0 (/w/weft)` cannot be built because it requires rustc "
        "1.70 or newer, while the currently active rustc version is 1.63.0"
    )
    generic = "fix the compile errors shown above."
    exc = explain(CommandFailed(["cargo", "check"], 101, tail, generic))
    assert "compile errors" not in (exc.hint or "")
    assert "1.70" in (exc.hint or "") and "1.63.0" in (exc.hint or "")
    assert "rust-version" in (exc.hint or "")


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("/w/pyproject.toml [tool.nox-cargo]", "`[tool.nox-cargo.wasm]` in /w/pyproject.toml"),
        (
            "/w/Cargo.toml [workspace.metadata.nox-cargo]",
            "`[workspace.metadata.nox-cargo.wasm]` in /w/Cargo.toml",
        ),
    ],
)
def test_fix_lines_name_the_config_file_in_use(description: str, expected: str) -> None:
    table = description.rsplit(" [", 1)[1].rstrip("]")
    source = cfg.ConfigSource({}, description, Path("/w"))
    assert cfg.table_for(source, "wasm") == expected
    assert table in expected


def test_fix_lines_without_a_config_file_name_pyproject(tmp_path: Path) -> None:
    assert cfg.table_for(None, "wasm") == "`[tool.nox-cargo.wasm]` in pyproject.toml"


def test_a_linker_name_in_an_error_is_shell_quoted() -> None:
    from nox_cargo.build import linkers

    with pytest.raises(NoxCargoError) as info:
        linkers.check(
            linkers.Linker("my cc;rm", "", True), "x86_64-unknown-linux-gnu", lambda n: None
        )
    assert "`'my cc;rm'`" in info.value.message
    assert "`'my cc;rm'`" in (info.value.hint or "")


def test_commands_in_errors_are_shell_quoted() -> None:
    from nox_cargo.build import smoke

    assert smoke.shown_command(("qemu-aarch64",), Path("/d/my bin"), ("a;b", "$(x)")) == (
        "qemu-aarch64 '/d/my bin' 'a;b' '$(x)'"
    )


# -- wasm: an empty module, and one rule for what a failed run leaves -------------------------


def test_a_wasm_module_with_only_a_header_is_an_empty_build_not_a_config_problem() -> None:
    from nox_cargo.wasm import binary
    from nox_cargo.wasm import module as wasm_stage

    module = binary.parse(b"\0asm\x01\0\0\0", "weft-wasm.wasm")
    with pytest.raises(NoxCargoError, match="no code in it") as info:
        wasm_stage.require_code(module, "weft-wasm.wasm", "weft-wasm")
    assert "wasm.package" not in (info.value.hint or "")
    assert "cargo build -p weft-wasm" in (info.value.hint or "")


def test_a_build_that_is_not_wasm_removes_the_previous_module_like_a_failed_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nox_cargo import project as project_module
    from nox_cargo.project import Project
    from nox_cargo.wasm import binary
    from nox_cargo.wasm import module as wasm_stage

    root = minimal_project(tmp_path / "p")
    fake_ws = SimpleNamespace(metadata={}, manifest=root / "Cargo.toml", target_dir=tmp_path)
    monkeypatch.setattr(project_module, "_workspace_at", lambda path: fake_ws)
    selected = wasm_stage.Selected(
        cast(Any, SimpleNamespace(name="weft-wasm")), "weft-wasm", "command", None, None, None
    )
    monkeypatch.setattr(wasm_stage, "select_modules", lambda ws, config, table: [selected])
    toolchain = SimpleNamespace(triple_name=lambda triple: triple, describe=lambda: "rustc")
    monkeypatch.setattr(wasm_stage, "select_toolchain", lambda project, triple: toolchain)

    def not_wasm(*args: Any) -> Any:
        raise binary.WasmFormatError("target/…/weft-wasm.wasm is not a WebAssembly module.")

    monkeypatch.setattr(wasm_stage, "build_module", not_wasm)
    project = Project.load(root, environ={})
    staged = project.dist_dir / "wasm" / "wasm32-wasip1" / "weft-wasm.wasm"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"\0asm\x01\0\0\0old")
    staged.with_name("wasm-manifest.json").write_text("{}")
    with pytest.raises(NoxCargoError, match="not a WebAssembly module"):
        wasm_stage.run_wasm(project, "wasm32-wasip1")
    assert not staged.exists()
    assert not staged.with_name("wasm-manifest.json").exists()


def test_wasm_fix_lines_name_cargo_toml_when_the_config_lives_there() -> None:
    from nox_cargo.wasm import module as wasm_stage
    from nox_cargo.workspace import Workspace
    from tests.unit.test_wasm_module import package

    ws = Workspace(Path("/w"), Path("/w/target"), (package("a", ("a",)), package("b", ("b",))), {})
    source = cfg.ConfigSource({}, "/w/Cargo.toml [workspace.metadata.nox-cargo]", Path("/w"))
    with pytest.raises(ConfigError) as info:
        wasm_stage.select_binary(ws, "", cfg.table_for(source, "wasm"))
    hint = info.value.hint or ""
    assert "Cargo.toml" in hint and "pyproject.toml" not in hint
    assert "[workspace.metadata.nox-cargo.wasm]" in hint
