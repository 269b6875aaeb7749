"""One error hierarchy: every failure a user can cause carries a message, the fix, and an exit code.

Sessions catch `NoxCargoError` at their boundary and print `message` + `hint` as one paragraph; a
traceback means a bug in nox-cargo, never bad input.
"""

from __future__ import annotations

from collections.abc import Sequence


class NoxCargoError(Exception):
    """A failure with a user-facing message and, where one exists, the exact fix."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The one-paragraph form printed to the user."""
        if self.hint:
            return f"{self.message}\nFix: {self.hint}"
        return self.message


class ConfigError(NoxCargoError):
    """The configuration (file, environment or session arguments) is malformed."""

    exit_code = 2


class UsageError(NoxCargoError):
    """A session was called with arguments it does not accept."""

    exit_code = 2


class WorkspaceError(NoxCargoError):
    """The Cargo workspace cannot be read (no Cargo.toml, cargo metadata failed...)."""


class ToolchainError(NoxCargoError):
    """No usable toolchain, or a tool the stage needs is missing."""


class CommandFailed(NoxCargoError):
    """A subprocess exited non-zero; carries the command and the tail of its output."""

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int,
        tail: str,
        hint: str | None = None,
    ) -> None:
        import shlex

        self.argv = tuple(argv)
        self.returncode = returncode
        self.tail = tail
        shown = shlex.join(self.argv)
        message = f"`{shown}` failed with exit code {returncode}."
        if tail.strip():
            message += f"\nLast lines of its output:\n{tail.rstrip()}"
        super().__init__(message, hint)


class Unavailable(NoxCargoError):
    """This machine cannot do the stage. Skipped locally; a failure under CI or --strict.

    `reason` says exactly what is missing and `hint` the exact fix, so the skip line and the
    failure line are the same sentence.
    """

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(reason, hint)
