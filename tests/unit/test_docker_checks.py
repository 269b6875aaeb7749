"""The docker stage's pure parts: tags, labels, size, filesystem, user, ELF arch, binfmt, config."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_cargo.config import load
from nox_cargo.docker import checks, engine, image
from nox_cargo.errors import ConfigError

MIB = 1024 * 1024
STUBS = sorted(checks.RUNTIME_STUBS)


def test_primary_platform_gets_plain_tags_and_every_platform_arch_tags() -> None:
    assert image.tags("weft", "0.3.0", "abc", "amd64", primary=True) == [
        "weft:0.3.0",
        "weft:abc",
        "weft:0.3.0-amd64",
        "weft:abc-amd64",
    ]
    assert image.tags("weft", "0.3.0", "unknown", "arm64", primary=False) == ["weft:0.3.0-arm64"]


def test_created_label_is_source_date_epoch_in_rfc3339() -> None:
    labels = image.labels("weft", "0.3.0", "abc", "https://x", 1_700_000_000, "MIT")
    assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
    assert set(labels) == {
        f"org.opencontainers.image.{k}"
        for k in ("title", "version", "revision", "source", "created", "licenses")
    }
    assert set(image.BUILD_ARGS) == set(labels)


@pytest.mark.parametrize(
    ("image_size", "binary", "budget", "ok"),
    [
        (MIB, MIB, 20_000_000, True),
        (2 * MIB, MIB, 20_000_000, True),
        (2 * MIB + 1, MIB, 20_000_000, False),
        (3 * MIB, 3 * MIB, 2 * MIB, False),
    ],
)
def test_size_check(image_size: int, binary: int, budget: int, ok: bool) -> None:
    assert checks.size_check(image_size, binary, budget).ok is ok


def test_filesystem_with_only_the_binary_and_runtime_stubs_passes() -> None:
    assert checks.filesystem_check([*STUBS, "app"]).ok


@pytest.mark.parametrize(
    ("extra", "needle"), [(["bin", "bin/sh"], "shell"), (["etc/passwd"], "unexpected")]
)
def test_filesystem_with_anything_else_fails(extra: list[str], needle: str) -> None:
    result = checks.filesystem_check([*STUBS, "app", *extra])
    assert not result.ok
    assert needle in result.detail


def test_filesystem_without_the_binary_fails() -> None:
    assert not checks.filesystem_check(STUBS).ok


def test_user_must_be_numeric_non_root() -> None:
    assert checks.user_check("65532:65532").ok
    assert not checks.user_check("").ok
    assert not checks.user_check("nobody").ok


def test_labels_check_names_the_wrong_label() -> None:
    expected = {"org.opencontainers.image.version": "0.3.0"}
    assert checks.labels_check(expected, expected).ok
    bad = checks.labels_check({"org.opencontainers.image.version": "0.2.0"}, expected)
    assert not bad.ok
    assert "version" in bad.detail


def elf(machine: int) -> bytes:
    return b"\x7fELF\x02\x01\x01" + bytes(11) + machine.to_bytes(2, "little")


def test_elf_arch() -> None:
    assert checks.elf_arch(elf(62)) == "amd64"
    assert checks.elf_arch(elf(183)) == "arm64"
    assert checks.elf_arch(b"MZ" + bytes(30)) is None


def test_foreign_arch_runs_only_with_an_enabled_binfmt_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BINFMT_DIR", tmp_path)
    eng = engine.Engine("20.10", "linux", "amd64", buildx=False)
    assert engine.can_run(eng, "amd64") == (True, "")
    ok, why = engine.can_run(eng, "arm64")
    assert not ok
    assert "qemu-aarch64" in why
    (tmp_path / "qemu-aarch64").write_text("disabled\ninterpreter /usr/bin/qemu-aarch64\n")
    assert not engine.can_run(eng, "arm64")[0]
    (tmp_path / "qemu-aarch64").write_text("enabled\ninterpreter /usr/bin/qemu-aarch64\n")
    assert engine.can_run(eng, "arm64") == (True, "")


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ('docker.platforms={"amd64"="x86_64-musl"}', "platforms"),
        ("docker.platforms={}", "platforms"),
        ("docker.registry=ghcr.io/me/", "registry"),
        ("docker.size-budget=lots", "size-budget"),
    ],
)
def test_bad_docker_config_names_the_key(override: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load(None, {}, [override])


def test_docker_defaults() -> None:
    config = load(None, {}, []).docker
    assert config.platforms == {"linux/amd64": "x86_64-musl", "linux/arm64": "aarch64-musl"}
    assert config.size_budget == 20_000_000


def test_push_tags_under_the_registry_then_pushes_each(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: object) -> object:
        calls.append(list(argv))
        stdout = '["ghcr.io/me/weft@sha256:' + "a" * 64 + '"]' if "inspect" in argv else ""
        return type("Done", (), {"stdout": stdout, "ok": True})()

    monkeypatch.setattr(image, "run", fake_run)
    digests = image.push("sha256:id", ["weft:0.3.0", "weft:0.3.0-amd64"], "ghcr.io/me")
    assert calls[:4] == [
        ["docker", "tag", "sha256:id", "ghcr.io/me/weft:0.3.0"],
        ["docker", "push", "ghcr.io/me/weft:0.3.0"],
        ["docker", "tag", "sha256:id", "ghcr.io/me/weft:0.3.0-amd64"],
        ["docker", "push", "ghcr.io/me/weft:0.3.0-amd64"],
    ]
    assert digests == {"ghcr.io/me/weft": "sha256:" + "a" * 64}


def test_push_without_a_registry_is_a_config_error_before_anything_runs(tmp_path: Path) -> None:
    from nox_cargo.docker.release import build_platform
    from nox_cargo.project import Project

    project = Project(tmp_path, load(None, {}, []), None, {})
    with pytest.raises(ConfigError, match=r"docker\.registry"):
        build_platform(project, "linux/amd64", push=True)
    with pytest.raises(ConfigError, match=r"not in `docker\.platforms`"):
        build_platform(project, "linux/s390x", push=False)
