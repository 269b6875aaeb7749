"""Refresh the generated blocks of README.md: `nox -l` and the configuration reference.

Run it after changing a session or a config key: `python tools/update_readme.py`.
A unit test fails while the README's configuration reference is stale.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from nox_cargo.config import reference_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def replace_block(text: str, begin: str, end: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {re.escape(begin)} -->\n).*?(<!-- {re.escape(end)} -->)", re.S)
    if not pattern.search(text):
        sys.exit(f"README.md has no `<!-- {begin} -->` ... `<!-- {end} -->` block")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(2), text)


def main() -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "nox", "-l"],
        cwd=README.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sessions = "\n".join(line for line in listing.splitlines() if line.startswith(("* ", "- ")))
    text = README.read_text(encoding="utf-8")
    text = replace_block(text, "BEGIN nox -l", "END nox -l", f"```\n$ nox -l\n{sessions}\n```")
    text = replace_block(
        text,
        "BEGIN config reference (python -m nox_cargo.config)",
        "END config reference",
        reference_markdown(),
    )
    README.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
