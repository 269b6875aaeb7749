"""Output that knows GitHub Actions: fold groups, `::error::` annotations, the job summary.

Lines (`info`, `success`, the group heading, ...) are written directly, with ANSI colours when
the output is a terminal (or GitHub Actions; never with NO_COLOR); rich is imported only for
what needs it, tables and the bench progress bar, so a session that shows a few lines (a cached
one) does not pay for importing it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from rich.console import Console as RichConsole


def escape(text: str) -> str:
    """rich markup escaping (for text inside a rich table)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


# SGR codes of the styles the lines use (rich's names).
_SGR = {
    "cyan": "36",
    "green": "32",
    "yellow": "33",
    "bold": "1",
    "bold red": "1;31",
    "bold blue": "1;34",
    "dim": "2",
    "rule": "92",  # rich's rule.line: bright_green
}


def _escape_data(text: str) -> str:
    """Workflow-command data escaping (%, CR, LF), as the Actions runner expects."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class Console:
    """The pipeline's voice. One per process; tests build their own with a fake environment."""

    def __init__(self, env: Mapping[str, str] | None = None, file: object | None = None) -> None:
        environ = os.environ if env is None else env
        self.github = environ.get("GITHUB_ACTIONS") == "true"
        summary = environ.get("GITHUB_STEP_SUMMARY")
        self.summary_path = Path(summary) if summary else None
        self._file = file
        self._environ = environ
        self._rich: RichConsole | None = None
        self._recorded: list[Event] | None = None

    @property
    def rich(self) -> RichConsole:
        if self._rich is None:
            from rich.console import Console as RichConsole

            # file=None makes rich resolve sys.stdout at each write (pytest's capture swaps it).
            self._rich = RichConsole(
                file=self._file,  # type: ignore[arg-type]
                highlight=False,
                soft_wrap=True,
                force_terminal=True if self.github else None,
            )
        return self._rich

    # -- plain lines -------------------------------------------------------------------------
    @property
    def file(self) -> IO[str]:
        """Where output goes: resolved at each write (pytest's capture swaps sys.stdout)."""
        return cast("IO[str]", self._file) if self._file is not None else sys.stdout

    def _colours(self) -> bool:
        """ANSI colours as rich would use them: never with NO_COLOR, always on GitHub Actions
        or with FORCE_COLOR, else on a terminal that is not `dumb`."""
        env = self._environ
        if env.get("NO_COLOR"):
            return False
        if self.github or env.get("FORCE_COLOR"):
            return True
        isatty = getattr(self.file, "isatty", None)
        return bool(isatty and isatty()) and env.get("TERM", "") not in ("dumb", "unknown")

    def _style(self, style: str, text: str) -> str:
        return f"\x1b[{_SGR[style]}m{text}\x1b[0m" if self._colours() else text

    def _raw(self, line: str) -> None:
        """Write a line as it is (workflow commands must start the line verbatim)."""
        file = self.file
        file.write(line + "\n")
        file.flush()

    def output_line(self, line: str) -> None:
        self._raw(line)

    def info(self, message: str) -> None:
        self._raw(f"{self._style('cyan', 'nox-cargo')}: {message}")

    def success(self, message: str) -> None:
        self._record("success", message)
        self._raw(f"{self._style('green', '✓')} {message}")

    def warn(self, message: str) -> None:
        self._record("warn", message)
        self._raw(f"{self._style('yellow', '!')} {message}")
        if self.github:
            self._raw(f"::warning title=nox-cargo::{_escape_data(message)}")

    def skip(self, reason: str, hint: str | None) -> None:
        text = reason + (f"\nFix: {hint}" if hint else "")
        self._raw(f"{self._style('yellow', 'skipped')}: {text}")
        if self.github:
            self._raw(f"::notice title=nox-cargo skipped::{_escape_data(text)}")

    def error(self, message: str, hint: str | None = None, title: str = "nox-cargo") -> None:
        text = message + (f"\nFix: {hint}" if hint else "")
        self._raw(f"{self._style('bold red', 'error')}: {text}")
        if self.github:
            self._raw(f"::error title={_escape_property(title)}::{_escape_data(text)}")

    def command(
        self,
        argv: Sequence[str],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        where = "  " + self._style("dim", f"(in {cwd})") if cwd else ""
        shown = (prefix + " " if prefix else "") + shlex.join(argv)
        self._raw(f"{self._style('bold blue', '$')} {shown}{where}")

    def _rule(self, title: str) -> None:
        """`title ─────` across the terminal (80 columns when it is not one), as rich's rule."""
        width = shutil.get_terminal_size((80, 24)).columns
        encoding = (getattr(self.file, "encoding", None) or "utf-8").lower()
        char = "─" if encoding.startswith("utf") else "-"
        line = char * max(width - len(title) - 1, 0)
        self._raw(f"{self._style('bold', title)} {self._style('rule', line)}".rstrip())

    # -- structure ---------------------------------------------------------------------------
    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A foldable section on GitHub Actions, a heading elsewhere."""
        if self.github:
            self._raw(f"::group::{_escape_data(title)}")
        else:
            self._rule(title)
        try:
            yield
        finally:
            if self.github:
                self._raw("::endgroup::")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        from rich.table import Table

        self._record("table", title, list(columns), [list(row) for row in rows])
        table = Table(title=title, title_justify="left", show_lines=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        self.rich.print(table)

    def summary(self, markdown: str) -> None:
        """Append Markdown to the job summary when GitHub Actions provides one."""
        self._record("summary", markdown)
        if self.summary_path is None:
            return
        with self.summary_path.open("a", encoding="utf-8") as fh:
            fh.write(markdown.rstrip("\n") + "\n\n")

    # -- recording: a stage's figures, shown again when its result is reused ----------------
    @contextmanager
    def recording(self) -> Iterator[list[Event]]:
        """Collect the figures (tables, successes, warnings, summary lines) written in the block."""
        outer, self._recorded = self._recorded, []
        try:
            yield self._recorded
        finally:
            self._recorded = outer

    def _record(self, kind: str, *args: Any) -> None:
        if self._recorded is not None:
            self._recorded.append([kind, *args])

    def replay(self, events: Sequence[Event]) -> None:
        """Show recorded figures again (a cached stage's output)."""
        for kind, *args in events:
            if kind in ("success", "warn", "table", "summary"):
                getattr(self, kind)(*args)


# A recorded console call: [kind, *arguments], JSON-serializable.
Event = list[Any]


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; pipes in cells are escaped."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


_CONSOLE: Console | None = None


def get_console() -> Console:
    global _CONSOLE  # noqa: PLW0603 - the process-wide console, created on first use
    if _CONSOLE is None:
        _CONSOLE = Console()
    return _CONSOLE
