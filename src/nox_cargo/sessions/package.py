"""Sessions of the release packaging: `package(target=…)`, `checksums` and `verify`."""

from __future__ import annotations

import argparse
from pathlib import Path

import nox

from nox_cargo.console import get_console
from nox_cargo.fsutil import locked
from nox_cargo.packaging import checksums, release
from nox_cargo.packaging.verify import VerificationFailed, verify
from nox_cargo.project import Project
from nox_cargo.sessions.runner import Define, add_session, define_matrix, parser, run_stage


def _package(project: Project, target_id: str) -> None:
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


def _checksums(project: Project, args: argparse.Namespace) -> None:
    dist_dir = project.dist_dir
    with locked(dist_dir):
        path, digests = checksums.write_sums(dist_dir)
    get_console().table(
        str(path), ["archive", "sha256"], [(n, d) for n, d in sorted(digests.items())]
    )
    get_console().success(f"{path} covers {len(digests)} archive(s)")


def extra_file_names(project: Project) -> tuple[str, ...]:
    return tuple(Path(f).name for f in project.config.package.files)


def _verify(project: Project, args: argparse.Namespace) -> None:
    console = get_console()
    dist_dir = project.dist_dir
    with locked(dist_dir):
        report = verify(dist_dir, extra_file_names(project))
    if report.rows:
        console.table(
            f"verify {dist_dir}",
            ["archive", "sha256", "files", "binary checked against"],
            report.rows,
        )
    for note in report.notes:
        console.warn(note)
    if report.problems:
        raise VerificationFailed(
            f"{len(report.problems)} problem(s) in {dist_dir}:\n"
            + "\n".join(f"- {p}" for p in report.problems),
            "re-run `nox -s package` from the build manifests; never edit dist/ by hand.",
        )
    console.success(
        f"{len(report.rows)} archive(s) match SHA256SUMS and their sidecars, and hold what "
        "was packaged"
    )


def define_package(project: Project) -> None:
    def make(target_id: str) -> Define:
        name = f"package(target={target_id})"
        p = parser(name, "Archive the built binary with the docs, write checksums and manifest.")

        def body(session: nox.Session) -> None:
            run_stage(session, name, lambda proj, args: _package(proj, target_id), p, project.root)

        return body

    define_matrix(
        "package",
        "target",
        [t.id for t in project.config.target_registry],
        "Archive a target's built binary with README, LICENSE, CHANGELOG and checksums",
        make,
        requires=lambda target_id: [f"build(target={target_id})"],
    )

    p_sums = parser("checksums", "Rewrite dist/SHA256SUMS from the archives dist/ holds.")

    def checksums_session(session: nox.Session) -> None:
        """Rewrite dist/SHA256SUMS from every archive in dist/ (a release job's gathered files)."""
        run_stage(session, "checksums", _checksums, p_sums, project.root)

    add_session(checksums_session, "checksums")

    p_verify = parser("verify", "Re-check dist/ against SHA256SUMS, sidecars and manifests.")

    def verify_session(session: nox.Session) -> None:
        """Re-hash dist/ against SHA256SUMS and sidecars, and check every archive's contents."""
        run_stage(session, "verify", _verify, p_verify, project.root)

    add_session(verify_session, "verify")
