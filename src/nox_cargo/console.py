"""Rich output that knows GitHub Actions: fold groups, `::error::` annotations, the job summary."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console as RichConsole


def escape(text: str) -> str:
    """rich markup escaping; rich is imported on first output, not when nox starts."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


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
    def _raw(self, line: str) -> None:
        """Write a line untouched by rich (workflow commands must start the line verbatim)."""
        self.rich.file.write(line + "\n")
        self.rich.file.flush()

    def output_line(self, line: str) -> None:
        self._raw(line)

    def info(self, message: str) -> None:
        self.rich.print(f"[cyan]nox-cargo[/]: {escape(message)}")

    def success(self, message: str) -> None:
        self._record("success", message)
        self.rich.print(f"[green]✓[/] {escape(message)}")

    def warn(self, message: str) -> None:
        self._record("warn", message)
        self.rich.print(f"[yellow]![/] {escape(message)}")
        if self.github:
            self._raw(f"::warning title=nox-cargo::{_escape_data(message)}")

    def skip(self, reason: str, hint: str | None) -> None:
        text = reason + (f"\nFix: {hint}" if hint else "")
        self.rich.print(f"[yellow]skipped[/]: {escape(text)}")
        if self.github:
            self._raw(f"::notice title=nox-cargo skipped::{_escape_data(text)}")

    def error(self, message: str, hint: str | None = None, title: str = "nox-cargo") -> None:
        text = message + (f"\nFix: {hint}" if hint else "")
        self.rich.print(f"[bold red]error[/]: {escape(text)}")
        if self.github:
            self._raw(f"::error title={_escape_property(title)}::{_escape_data(text)}")

    def command(
        self,
        argv: Sequence[str],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        where = f"  [dim](in {escape(str(cwd))})[/]" if cwd else ""
        shown = (prefix + " " if prefix else "") + shlex.join(argv)
        self.rich.print(f"[bold blue]$[/] {escape(shown)}{where}")

    # -- structure ---------------------------------------------------------------------------
    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A foldable section on GitHub Actions, a heading elsewhere."""
        if self.github:
            self._raw(f"::group::{_escape_data(title)}")
        else:
            self.rich.rule(f"[bold]{escape(title)}", align="left")
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
