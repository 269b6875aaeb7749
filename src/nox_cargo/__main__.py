"""`python -m nox_cargo init`: the same as the `nox-cargo` command."""

from __future__ import annotations

import sys

from nox_cargo.cli import main

sys.exit(main())
