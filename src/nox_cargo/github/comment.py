"""The body of the sticky benchmark comment on a pull request, from an untrusted artifact.

The `bench` job of a pull request (possibly from a fork) uploads `bench.md`, `results.json` and
`pr-number`. A `workflow_run` workflow with write access turns that into a comment, so every
byte of the artifact is hostile input: the PR number must be a plain number (and the run's own
PR when GitHub names one); the report is read up to a size limit, decoded leniently, stripped of
control and bidi characters, and neutralized as Markdown: HTML (tags, comments, scripts) is
escaped, code fences cannot close or open, links and images lose their syntax, bare URLs stop
being autolinked, and `@mentions` notify nobody. The body stays under GitHub's 65,536
characters, truncated at a line with a note.

CLI (what bench-comment.yml runs, from the default branch's checkout, never the PR's):

    python -m nox_cargo.github.comment --artifact DIR [--expected-pr N] [--run-url URL] \
        --output body.md        # prints the validated PR number on stdout
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.errors import NoxCargoError
from nox_cargo.fsutil import atomic_write_text

MARKER = "<!-- nox-cargo-bench -->"
REPORT_NAME = "bench.md"
PR_NAME = "pr-number"
MAX_REPORT_BYTES = 256 * 1024
MAX_PR_BYTES = 32
MAX_BODY_CHARS = 64_000  # GitHub refuses bodies over 65,536 characters
ZWJ = "\u200d"
ZWSP = "\u200b"


class ArtifactError(NoxCargoError):
    """The bench artifact is not what the bench job writes; no comment is posted."""

    exit_code = 2


@dataclass(frozen=True)
class Report:
    """The report text as read, and what reading it had to give up."""

    text: str
    truncated_bytes: int = 0
    invalid_utf8: bool = False


def _regular_file(path: Path) -> Path:
    if path.is_symlink() or not path.is_file():
        raise ArtifactError(
            f"{path.name} in the bench artifact is missing or is not a regular file.",
            "the bench job must upload bench.md and pr-number as plain files.",
        )
    return path


def read_pr_number(artifact: Path, expected: str | None) -> int:
    """The PR number from the artifact: digits only, and the workflow_run's own PR if known."""
    path = _regular_file(artifact / PR_NAME)
    with path.open("rb") as fh:
        raw = fh.read(MAX_PR_BYTES + 1)
    text = raw.decode("ascii", errors="replace").strip()
    if len(raw) > MAX_PR_BYTES or not re.fullmatch(r"[1-9][0-9]{0,9}", text):
        raise ArtifactError(
            f"{PR_NAME} in the bench artifact is not a pull request number: {text[:40]!r}.",
            "the bench job writes the number of the pull request it ran for, and nothing else.",
        )
    number = int(text)
    if expected and (not re.fullmatch(r"[0-9]+", expected.strip()) or int(expected) != number):
        raise ArtifactError(
            f"The bench artifact claims pull request #{number}, but the run that uploaded "
            f"it belongs to #{expected.strip()[:20]}.",
            "nothing to fix here: a run only ever comments on its own pull request.",
        )
    return number


def read_report(artifact: Path) -> Report:
    path = _regular_file(artifact / REPORT_NAME)
    size = path.stat().st_size
    with path.open("rb") as fh:
        raw = fh.read(MAX_REPORT_BYTES)
    try:
        text = raw.decode("utf-8")
        invalid = False
    except UnicodeDecodeError as exc:
        # A cut in the middle of a character at the size limit is not an invalid file.
        if size > MAX_REPORT_BYTES and exc.start >= len(raw) - 3:
            text = raw[: exc.start].decode("utf-8", errors="replace")
            invalid = False
        else:
            text = raw.decode("utf-8", errors="replace")
            invalid = True
    return Report(text, max(0, size - MAX_REPORT_BYTES), invalid)


_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})")
_LINK_BRACKETS = str.maketrans({"[": "\\[", "]": "\\]"})
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|mailto|file|data|javascript)(:)")
_WWW = re.compile(r"(?i)\bwww\.")
_MENTION = re.compile(r"@(?=[A-Za-z0-9_-])")
_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}


def _printable(char: str) -> bool:
    if char in "\n\t":
        return True
    if char in _BIDI:
        return False
    return unicodedata.category(char) not in ("Cc", "Cs", "Co", "Cn")


def neutralize(markdown: str) -> str:
    """Untrusted Markdown made inert: it can format a table, and nothing else of consequence."""
    text = markdown.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c if _printable(c) else "\ufffd" for c in text)
    lines = []
    for raw in text.split("\n"):
        # No fence may open or close: the report stays text, and cannot swallow our footer.
        line = _FENCE.sub(lambda m: m[1] + "".join("\\" + c for c in m[2]), raw)
        line = line.translate(_HTML)  # tags, comments (<!--), <script>, <http://autolinks>
        line = line.translate(_LINK_BRACKETS)  # [text](url), ![img](url), [ref]: url
        line = _AUTOLINK.sub(lambda m: m[1] + ZWSP + m[2], line)  # bare https://…
        line = _WWW.sub("www" + ZWSP + ".", line)
        line = _MENTION.sub("@" + ZWJ, line)  # @user and @org/team notify nobody
        lines.append(line)
    return "\n".join(lines).strip("\n")


_RUN_URL = re.compile(r"^https://[A-Za-z0-9.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/actions/runs/\d+$")


def body(report: Report, run_url: str | None = None, limit: int = MAX_BODY_CHARS) -> str:
    """The complete comment: marker, heading, neutralized report, notes, footer; <= `limit`."""
    head = f"{MARKER}\n## Benchmarks\n\n"
    notes = []
    if report.invalid_utf8:
        notes.append("The report was not valid UTF-8; invalid bytes are shown as �.")
    if report.truncated_bytes:
        notes.append(
            f"The report was larger than {MAX_REPORT_BYTES // 1024} KiB; the rest "
            f"({report.truncated_bytes} bytes) is in the workflow artifact."
        )
    source = "the `bench` job"
    if run_url and _RUN_URL.match(run_url):
        source = f"[the `bench` job]({run_url})"
    foot = (
        f"\n\n<sub>Posted by nox-cargo from {source}. The report comes from the pull request's "
        "build and is shown as text: links, images, HTML and mentions are disabled.</sub>\n"
    )
    content = neutralize(report.text) or "_The bench job produced an empty report._"
    extra = "".join(f"\n\n> {note}" for note in notes)
    room = limit - len(head) - len(foot) - len(extra)
    if len(content) > room:
        cut_note = (
            "\n\n> The report is too long for a comment; the full report is in the workflow "
            "artifact."
        )
        room -= len(cut_note)
        kept = content[: max(room, 0)]
        if "\n" in kept:
            kept = kept[: kept.rindex("\n")]
        content = kept + cut_note
    return head + content + extra + foot


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nox_cargo.github.comment",
        description="Write the bench PR comment body from a bench artifact; print the PR number.",
    )
    parser.add_argument("--artifact", type=Path, required=True, help="the downloaded artifact dir")
    parser.add_argument("--expected-pr", default="", help="the workflow_run's PR number, if any")
    parser.add_argument("--run-url", default="", help="link to the run that produced the report")
    parser.add_argument("--output", type=Path, required=True, help="where to write the body")
    args = parser.parse_args(argv)
    try:
        number = read_pr_number(args.artifact, args.expected_pr or None)
        text = body(read_report(args.artifact), args.run_url or None)
    except NoxCargoError as exc:
        print(f"error: {exc.render()}", file=sys.stderr)
        return exc.exit_code
    atomic_write_text(args.output, text)
    print(number)
    return 0


if __name__ == "__main__":
    sys.exit(main())
