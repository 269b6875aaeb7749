"""The release supply chain on real builds of weft for x86_64-gnu and aarch64-gnu: the multi-arch
image index pushed with skopeo to a real registry (Debian's docker-registry on 127.0.0.1), pulled
back per platform by Docker and run (arm64 under qemu when a binfmt entry can be registered), its
digest reproducible; the CycloneDX SBOMs valid and exact; the shell installer served from a local
HTTP server, refusing a tampered archive."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nox_cargo.packaging import sbom
from tests.conftest import require, require_tool
from tests.integration.conftest import GNU_TARGETS, make_project, run_nox
from tests.integration.release_project import clone, env_for

pytestmark = pytest.mark.integration

VERSION = "0.3.0"
PLATFORMS = {"linux/amd64": "x86_64-gnu", "linux/arm64": "aarch64-gnu"}
TRIPLES = {"x86_64-gnu": "x86_64-unknown-linux-gnu", "aarch64-gnu": "aarch64-unknown-linux-gnu"}
CONFIG = (
    "\n"
    + GNU_TARGETS
    + """
[tool.nox-cargo.docker]
platforms = { "linux/amd64" = "x86_64-gnu", "linux/arm64" = "aarch64-gnu" }
"""
)
BINFMT = Path("/proc/sys/fs/binfmt_misc")
QEMU_CONF = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")
BINFMT_STATE = Path(tempfile.gettempdir()) / "nox-cargo-test-binfmt.json"


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port>, temp storage."""
    require_tool("docker-registry")
    base = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = base / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {base / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (base / "registry.log").open("w")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    try:
        wait_for(f"http://127.0.0.1:{port}/v2/")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@contextlib.contextmanager
def _binfmt_state() -> Iterator[dict[str, Any]]:
    """Who uses the test's binfmt entry, under an exclusive lock: pytest-xdist workers each run
    this module's fixtures, and one must not remove the entry another still uses."""
    if sys.platform == "win32":
        raise RuntimeError("binfmt_misc is Linux only")
    import fcntl

    BINFMT_STATE.touch()
    with BINFMT_STATE.open("r+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            text = fh.read()
            state: dict[str, Any] = json.loads(text) if text else {"owned": False, "users": []}
            state["users"] = [u for u in state["users"] if Path(f"/proc/{u}").exists()]
            yield state
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps(state))
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _register() -> str:
    """Register qemu-aarch64 (mounting binfmt_misc if needed); the reason it cannot, or ""."""
    if not QEMU_CONF.is_file():
        return f"{QEMU_CONF} is missing (apt install qemu-user-static)"
    if not (BINFMT / "register").exists():
        mounted = subprocess.run(
            ["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if mounted.returncode != 0:
            return f"binfmt_misc cannot be mounted here: {mounted.stderr.strip()}"
    try:
        (BINFMT / "register").write_text(QEMU_CONF.read_text().strip())
    except OSError as exc:
        return f"cannot register {QEMU_CONF} in {BINFMT}: {exc}"
    return ""


@pytest.fixture(scope="module")
def binfmt() -> Iterator[str]:
    """qemu-aarch64 registered for the module when this machine allows it, removed after if this
    test registered it (and no other worker still uses it); "" or the reason it cannot run."""
    entry = BINFMT / "qemu-aarch64"
    with _binfmt_state() as state:
        if not state["users"]:
            state["owned"] = False
            if not entry.is_file():
                reason = _register()
                if reason:
                    yield reason
                    return
                state["owned"] = True
        state["users"].append(os.getpid())
    try:
        yield ""
    finally:
        with _binfmt_state() as state:
            state["users"] = [u for u in state["users"] if u != os.getpid()]
            if not state["users"] and state["owned"] and entry.is_file():
                with contextlib.suppress(OSError):
                    entry.write_text("-1")
                state["owned"] = False


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Both targets built and packaged for real."""
    require_tool("aarch64-linux-gnu-gcc")
    base = tmp_path_factory.mktemp("supply")
    target_dir = base / "target"
    project = make_project(base / "built", CONFIG)
    sessions = [f"package(target={t})" for t in PLATFORMS.values()]
    done = run_nox(project, "-s", *sessions, env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-5000:]
    return project, target_dir


def archived_binary(project: Path, target_id: str) -> bytes:
    with zipfile.ZipFile(project / "dist" / f"weft-{VERSION}-{target_id}.zip") as zf:
        return zf.read("weft")


def index_digest(project: Path) -> str:
    data = json.loads((project / "dist" / "docker" / "image-index.json").read_text())
    return str(data["index_digest"])


@pytest.fixture(scope="module")
def pushed(built: tuple[Path, Path], registry: str, binfmt: str) -> Iterator[tuple[Path, str, str]]:
    require_tool("docker", "skopeo")
    require(docker("version").returncode == 0, "no Docker engine is reachable")
    require(not binfmt, f"the image stage smoke-runs every platform before a push: {binfmt}")
    project, target_dir = built
    repo = f"{registry}/nox-cargo-test-{uuid.uuid4().hex[:8]}"
    done = run_nox(
        project, "-s", "image", "--", "--push", "-c", f"docker.registry={repo}",
        env=env_for(target_dir),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:]
    yield project, repo, done.stdout
    listed = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    mine = [ref for ref in listed if ref.startswith((repo, "weft:0.3.0-"))]
    if mine:
        docker("image", "rm", "--force", *mine)


def test_the_index_is_pushed_under_every_tag_with_the_digest_written_here(
    pushed: tuple[Path, str, str],
) -> None:
    project, repo, _ = pushed
    digest = index_digest(project)
    host, _, path = repo.partition("/")
    for tag in (VERSION, "0.3", "latest"):
        request = urllib.request.Request(
            f"http://{host}/v2/{path}/weft/manifests/{tag}",
            method="HEAD",
            headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.headers["Docker-Content-Digest"] == digest
            assert answer.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"
    recorded = (project / "dist" / "IMAGE-DIGEST").read_text().splitlines()
    assert f"{digest}  {repo}/weft:{VERSION}@{digest}" in recorded
    document = json.loads((project / "dist" / "docker" / "image-index.json").read_text())
    assert sorted(document["platforms"]) == sorted(PLATFORMS)


@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_each_platform_pulls_back_with_the_archived_binary(
    pushed: tuple[Path, str, str], platform: str, tmp_path: Path
) -> None:
    project, repo, _ = pushed
    ref = f"{repo}/weft:{VERSION}"
    pulled = docker("pull", "--platform", platform, ref)
    assert pulled.returncode == 0, pulled.stderr
    inspected = json.loads(docker("image", "inspect", ref).stdout)[0]
    assert f"{inspected['Os']}/{inspected['Architecture']}" == platform
    assert inspected["Config"]["User"] == "65532:65532"
    container = docker("create", "--platform", platform, ref).stdout.strip()
    exported = tmp_path / "fs.tar"
    try:
        assert docker("export", "--output", str(exported), container).returncode == 0
    finally:
        docker("rm", container)
    import tarfile

    with tarfile.open(exported) as tar:
        app = tar.extractfile("app")
        assert app is not None
        inside = app.read()
    assert inside == archived_binary(project, PLATFORMS[platform])  # byte-identical
    run = docker(
        "run", "--rm", "--platform", platform, "--network", "none", "--read-only",
        "--cap-drop", "ALL", ref, "--version",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"weft {VERSION}"


def test_the_arm64_image_ran_its_smoke_check_before_the_push(
    pushed: tuple[Path, str, str],
) -> None:
    project, _, _ = pushed
    document = json.loads((project / "dist" / "docker" / "image-index.json").read_text())
    smoke = [c for c in document["checks"] if c["name"] == "smoke"]
    assert {c["platform"] for c in smoke} == set(PLATFORMS)
    assert all(c["ok"] for c in smoke)


def test_rebuilding_the_index_from_the_same_archives_gives_the_same_digest(
    pushed: tuple[Path, str, str], built: tuple[Path, Path], tmp_path: Path
) -> None:
    project, _, _ = pushed
    _, target_dir = built
    first = index_digest(project)
    blobs = {p.name: p.read_bytes() for p in (project / "dist/docker/oci/blobs/sha256").iterdir()}
    again = clone(project, tmp_path / "again")
    shutil.rmtree(again / "dist" / "docker")
    done = run_nox(again, "--no-dependencies", "-s", "image", env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-5000:]
    assert index_digest(again) == first
    rebuilt = {p.name: p.read_bytes() for p in (again / "dist/docker/oci/blobs/sha256").iterdir()}
    assert rebuilt == blobs
    for name, data in rebuilt.items():
        assert hashlib.sha256(data).hexdigest() == name


def test_the_sbom_validates_and_lists_exactly_the_crates_linked_in(
    built: tuple[Path, Path],
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    require_tool("cargo")
    project, _ = built
    sums = (project / "dist" / "SHA256SUMS").read_text()
    for target_id, triple in TRIPLES.items():
        name = f"weft-{VERSION}-{target_id}.cdx.json"
        text = (project / "dist" / name).read_text()
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
        assert f"  {name}\n" in sums
        document = json.loads(text)
        listed = {document["metadata"]["component"]["name"]} | {
            c["name"] for c in document["components"]
        }
        assert listed == cargo_tree(project / "weft", triple)
        assert "weft-wasm" not in listed
        built_sha = json.loads((project / "dist" / target_id / "build-manifest.json").read_text())[
            "artifacts"
        ][0]["sha256"]
        assert document["metadata"]["component"]["hashes"][0]["content"] == built_sha


def cargo_tree(workspace: Path, triple: str) -> set[str]:
    """What cargo itself says is linked into weft for `triple`: normal edges, no proc-macros."""
    done = subprocess.run(
        ["cargo", "tree", "-p", "weft", "-e", "normal,no-proc-macro", "--target", triple,
         "--prefix", "none", "-f", "{p}", "--offline"],
        cwd=workspace, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {line.split()[0] for line in done.stdout.splitlines() if line.strip()}


def add_crate(workspace: Path, name: str, lib: str = "", kind: str = "") -> None:
    crate = workspace / "crates" / name
    (crate / "src").mkdir(parents=True)
    extra = "\n[lib]\nproc-macro = true\n" if kind == "proc-macro" else ""
    (crate / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n{extra}'
    )
    (crate / "src" / "lib.rs").write_text(lib or "pub fn f() {}\n")


def test_the_sbom_leaves_out_dev_build_proc_macro_and_other_platform_crates(
    tmp_path: Path,
) -> None:
    require_tool("cargo")
    project = make_project(tmp_path / "p")
    workspace = project / "weft"
    for name in ("devonly", "buildonly", "winonly", "linked", "linked-by-buildonly"):
        add_crate(workspace, name)
    add_crate(workspace, "macroonly", kind="proc-macro")
    manifest = workspace / "crates" / "weft" / "Cargo.toml"
    manifest.write_text(
        manifest.read_text()
        + 'linked = { path = "../linked" }\nmacroonly = { path = "../macroonly" }\n'
        + '\n[dev-dependencies]\ndevonly = { path = "../devonly" }\n'
        + '\n[build-dependencies]\nbuildonly = { path = "../buildonly" }\n'
        + "\n[target.'cfg(windows)'.dependencies]\nwinonly = { path = \"../winonly\" }\n"
    )
    (workspace / "crates" / "weft" / "build.rs").write_text("fn main() {}\n")
    buildonly = workspace / "crates" / "buildonly" / "Cargo.toml"
    buildonly.write_text(
        buildonly.read_text()
        + '\n[dependencies]\nlinked-by-buildonly = { path = "../linked-by-buildonly" }\n'
    )
    subprocess.run(["cargo", "generate-lockfile", "--offline"], cwd=workspace, check=True)
    triple = "x86_64-unknown-linux-gnu"
    root, crates = sbom.crates_for(sbom.cargo_resolve(workspace, triple, ()), "weft")
    names = {root.name} | {c.name for c in crates}
    assert names == {"weft", "weft-core", "linked"}
    assert names == cargo_tree(workspace, triple)
    windows = sbom.crates_for(sbom.cargo_resolve(workspace, "x86_64-pc-windows-msvc", ()), "weft")
    assert {c.name for c in windows[1]} == {"weft-core", "linked", "winonly"}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_shell_installer_installs_from_a_local_server_and_refuses_a_tampered_archive(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    require_tool("sh", "unzip", "curl")
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    done = run_nox(
        project, "--no-dependencies", "-s", "installers", "checksums", "verify", "--",
        "-c", "package.download-url=https://example.invalid/v{version}",
        env=env_for(target_dir),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    dist = project / "dist"
    assert "  install.sh\n" in (dist / "SHA256SUMS").read_text()
    assert "https://example.invalid/v0.3.0" in (dist / "install.sh").read_text()
    machine = subprocess.run(["uname", "-m"], capture_output=True, text=True, check=True)
    target_id = {"x86_64": "x86_64-gnu", "aarch64": "aarch64-gnu"}[machine.stdout.strip()]

    with serve(dist) as url:
        bin_dir = tmp_path / "bin"
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WEFT_DOWNLOAD_URL": url,
               "WEFT_INSTALL_DIR": str(bin_dir)}  # fmt: skip
        ok = subprocess.run(
            ["sh", str(dist / "install.sh")], env=env, capture_output=True, text=True, check=False
        )
        assert ok.returncode == 0, ok.stderr
        assert "matches SHA256SUMS" in ok.stderr
        installed = bin_dir / "weft"
        assert installed.read_bytes() == archived_binary(project, target_id)
        version = subprocess.run(
            [str(installed), "--version"], capture_output=True, text=True, check=False
        )
        assert version.stdout.strip() == f"weft {VERSION}"

    tampered = tmp_path / "tampered"
    shutil.copytree(dist, tampered)
    archive = tampered / f"weft-{VERSION}-{target_id}.zip"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    with serve(tampered) as url:
        bad_dir = tmp_path / "bad-bin"
        env = {**env, "WEFT_DOWNLOAD_URL": url, "WEFT_INSTALL_DIR": str(bad_dir)}
        refused = subprocess.run(
            ["sh", str(tampered / "install.sh")], env=env, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        assert refused.returncode != 0
        assert "refusing to install it" in refused.stderr
        assert not bad_dir.exists()
