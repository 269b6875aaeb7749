"""A stand-in for nox.Session in unit tests: posargs, and error/skip that raise `Quit`."""

from __future__ import annotations

from typing import NoReturn


class Quit(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class FakeSession:
    def __init__(self, posargs: list[str]) -> None:
        self.posargs = posargs

    def error(self, message: str) -> NoReturn:
        raise Quit("error", message)

    def skip(self, message: str) -> NoReturn:
        raise Quit("skip", message)
