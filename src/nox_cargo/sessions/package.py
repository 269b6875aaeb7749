"""Sessions of the release packaging: `package(target=…)`, `installers`, `checksums`, `verify`."""

from __future__ import annotations

import argparse
from pathlib import Path

from nox_cargo.config import Config
from nox_cargo.console import get_console
from nox_cargo.fsutil import locked
from nox_cargo.project import Project


def package(project: Project, args: argparse.Namespace, target_id: str) -> None:
    from nox_cargo.packaging import release

    console = get_console()
    done = release.package_target(project, target_id)
    console.table(
        f"package({target_id})",
        ["archive", "size", "sha256", "entries"],
        [(p.path.name, str(p.size), p.sha256, ", ".join(p.entries)) for p in done],
    )
    console.success(
        f"{len(done)} archive(s) in {project.dist_dir}; SHA256SUMS updated "
        "(`nox -s verify` re-checks them)"
    )


def write_checksums(project: Project, args: argparse.Namespace, value: str = "") -> None:
    from nox_cargo.packaging import checksums

    dist_dir = project.dist_dir
    with locked(dist_dir):
        path, digests = checksums.write_sums(dist_dir)
    get_console().table(
        str(path), ["archive", "sha256"], [(n, d) for n, d in sorted(digests.items())]
    )
    get_console().success(f"{path} covers {len(digests)} archive(s)")


def write_installers(project: Project, args: argparse.Namespace, value: str = "") -> None:
    from nox_cargo.packaging import checksums, installers, release

    dist_dir = project.dist_dir
    binary = next(iter(project.workspace.release_binaries(project.config.binaries)))
    package = project.workspace.binaries()[binary]
    url = installers.download_url(
        project.config.package.download_url, package.repository, package.version
    )
    with locked(dist_dir):
        manifests = release.load_manifests(dist_dir)
        for name in installers.SHELL, installers.POWERSHELL:
            checksums.sidecar_path(dist_dir / name).unlink(missing_ok=True)
        written = installers.write(dist_dir, manifests, binary, package.version, url)
        checksums.write_sums(dist_dir)
    get_console().success(
        f"{', '.join(p.name for p in written)} for {binary} {package.version} from {url} "
        "(SHA256SUMS updated)"
    )


def extra_file_names(project: Project) -> tuple[str, ...]:
    return tuple(Path(f).name for f in project.config.package.files)


def verify_dist(project: Project, args: argparse.Namespace, value: str = "") -> None:
    from nox_cargo.packaging import pending
    from nox_cargo.packaging.verify import Limits, VerificationFailed, verify

    console = get_console()
    dist_dir = project.dist_dir
    with locked(dist_dir):
        report = verify(
            dist_dir, extra_file_names(project), Limits.from_config(project.config.package)
        )
    if report.rows:
        console.table(
            f"verify {dist_dir}",
            ["archive", "sha256", "files", "binary checked against"],
            report.rows,
        )
    for note in report.notes:
        console.warn(note)
    if report.problems:
        runs = pending.interrupted(dist_dir)
        hint = (
            " and ".join(f"run `{pending.command(r.target_id)}`" for r in runs)
            + " to complete the interrupted run."
            if runs
            else "re-run `nox -s package` from the build manifests; never edit dist/ by hand."
        )
        raise VerificationFailed(
            f"{len(report.problems)} problem(s) in {dist_dir}:\n"
            + "\n".join(f"- {p}" for p in report.problems),
            hint,
        )
    console.success(
        f"{len(report.rows)} release file(s) match SHA256SUMS and their sidecars; archives hold "
        "what was packaged"
    )
    console.info(
        "provenance of a published release: `gh attestation verify <file> --repo <owner>/<repo>`"
        " (see docs/packaging.md)"
    )


def requires(config: Config, target_id: str) -> list[tuple[str, str]]:
    return [("build", target_id)]
