"""`python -m nox_cargo.config`: print the configuration reference (Markdown)."""

from __future__ import annotations

from nox_cargo.config.reference import reference_markdown

print(reference_markdown())
