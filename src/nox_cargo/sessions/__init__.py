"""The nox side of the pipeline: sessions derived from the stage table, and their thin bodies.

`registry` turns stage declarations into nox sessions; `runner` parses a session's posargs and
turns the outcome into nox's verdict; the other modules hold the stages' bodies.
"""

from __future__ import annotations
