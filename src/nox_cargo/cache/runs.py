"""One session's use of the cache: look its inputs up before the body runs, record after.

`StageCache.open` decides whether the cache applies (config `cache`, `--fresh`, an option that
always runs such as `--fix`, CI) and computes the key; `lookup` returns the recorded entry when the
key matches and the outputs are intact (printing why not otherwise); `record` stores the run.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nox_cargo.cache import store
from nox_cargo.cache.inputs import Inputs, Key, key
from nox_cargo.cache.sources import FileHashes
from nox_cargo.console import Event, get_console
from nox_cargo.errors import NoxCargoError

if TYPE_CHECKING:
    from nox_cargo.project import Project


@functools.cache
def _hashes(directory: Path) -> FileHashes:
    """One file-hash memo per cache directory per process."""
    return FileHashes(directory / "files.json")


def reset() -> None:
    """Forget the in-process memo (tests that change files within one process)."""
    _hashes.cache_clear()


@dataclass
class StageCache:
    project: Project
    inputs: Inputs
    session: str
    value: str
    directory: Path
    key: Key
    read: bool  # False: --fresh, or under CI without a restored cache: run, and record
    started: float = 0.0

    @classmethod
    def open(
        cls,
        project: Project,
        inputs: Inputs | None,
        session: str,
        value: str,
        options: Mapping[str, Any],
        always_run: Sequence[str] = (),
    ) -> StageCache | None:
        """None when this run neither reads nor records (no inputs declared, `cache = false`,
        or an option such as `--fix` that changes the tree and must always run)."""
        if inputs is None or project.config.cache is False:
            return None
        if any(options.get(dest) for dest in always_run):
            return None
        try:
            directory = store.cache_dir(project.report_dir)
            hashes = _hashes(directory)
            computed = key(inputs, project, session, value, options, hashes, directory)
            hashes.save()
        except (NoxCargoError, OSError):
            return None  # the body meets the same problem and reports it
        read = not options.get("fresh")
        return cls(project, inputs, session, value, directory, computed, read, time.time())

    def _trusted(self, entry: store.Entry) -> bool:
        """Under CI, only what this job recorded, unless the config says the cache was restored."""
        from nox_cargo.project import in_ci

        if self.project.config.cache is True or not in_ci(self.project.environ):
            return True
        job = store.ci_job(self.project.environ)
        return bool(job) and entry.ci_job == job

    def lookup(self) -> store.Entry | None:
        if not self.read:
            return None
        console = get_console()
        try:
            entry = store.load(self.directory, self.session)
        except store.Corrupt as exc:
            console.warn(f"cache: ignoring an unreadable entry: {exc}")
            return None
        if entry is None or not self._trusted(entry):
            return None
        changed = self.key.changed(entry.components)
        if changed:
            console.info(f"cache: {', '.join(changed)} changed since {entry.since()}; running")
            return None
        damaged = self._damaged(entry.outputs)
        if damaged:
            console.info(f"cache: output {damaged} changed or is gone; running")
            return None
        try:
            gone = self.inputs.intact(self.project, self.value)
        except (NoxCargoError, OSError) as exc:
            gone = str(exc)
        if gone:
            console.info(f"cache: {gone}; running")
            return None
        return entry

    def _damaged(self, outputs: Mapping[str, str]) -> str | None:
        hashes = _hashes(self.directory)
        for name, digest in outputs.items():
            path = Path(name)
            try:
                if hashes.digest(path) != digest:
                    return name
            except OSError:
                return name
        hashes.save()
        return None

    def record(
        self, verdict: str, events: Sequence[Event], message: str = "", hint: str | None = None
    ) -> None:
        hashes = _hashes(self.directory)
        outputs: dict[str, str] = {}
        try:
            if verdict == "passed":
                for path in self.inputs.outputs(self.project, self.value):
                    if path.is_file():
                        outputs[str(path)] = hashes.digest(path)
            entry = store.Entry(
                session=self.session,
                components=dict(self.key.components),
                verdict=verdict,
                message=message,
                hint=hint,
                events=list(events),
                outputs=outputs,
                finished=time.time(),
                seconds=round(time.time() - self.started, 3),
                ci_job=store.ci_job(self.project.environ),
            )
            store.save(self.directory, entry)
            hashes.save()
        except (NoxCargoError, OSError) as exc:
            get_console().warn(f"cache: the result of {self.session} was not recorded ({exc})")

    def forget(self) -> None:
        """A skip: nothing is recorded, and an older entry no longer stands for this session."""
        with contextlib.suppress(OSError):
            store.forget(self.directory, self.session)
