"""The part of GitHub Actions' expression language a rehearsal needs: `${{ … }}` and `if:`.

Literals ('text', numbers, true, false, null), context paths (`matrix.target`, `env.X`,
`github.event.pull_request.number`, `steps.rustc.outputs.version`, `needs.build.result`),
`!`, `==`, `!=`, `&&`, `||`, parentheses, and the functions `always`, `success`, `failure`,
`cancelled`, `startsWith`, `endsWith`, `contains`, `toJSON`, `hashFiles` (an empty string here).
Strings compare case-insensitively, as on GitHub. Anything else is an ExpressionError naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nox_cargo.errors import NoxCargoError

_TEMPLATE = re.compile(r"\$\{\{\s*(?P<expr>.*?)\s*\}\}", re.S)
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!()\[\],.*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
STATUS_FUNCTIONS = ("always", "success", "failure", "cancelled")


class ExpressionError(NoxCargoError):
    """An expression the rehearsal cannot evaluate."""


@dataclass(frozen=True)
class Status:
    """What `success()` and `failure()` answer at this point of a job (or workflow)."""

    failed: bool = False


def _tokens(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        match = _TOKEN.match(expr, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(
                f"Cannot read the expression `{expr}` at `{expr[pos:]}`.",
                "a rehearsal understands literals, contexts, !, ==, !=, &&, || and a few "
                "functions (docs/github-actions.md).",
            )
        kind = next(k for k in ("str", "num", "op", "name") if match[k] is not None)
        out.append((kind, match[kind]))
        pos = match.end()
    return out


def truthy(value: object) -> bool:
    return value not in (None, False, "", 0, 0.0)


def text(value: object) -> str:
    """A value as `${{ }}` pastes it into a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _equal(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if isinstance(a, bool | int | float) and isinstance(b, str):
        return text(a).lower() == b.lower()
    if isinstance(b, bool | int | float) and isinstance(a, str):
        return text(b).lower() == a.lower()
    return a == b


class _Parser:
    def __init__(
        self, expr: str, context: Mapping[str, Any], status: Status, functions: Mapping[str, Any]
    ) -> None:
        self.expr = expr
        self.tokens = _tokens(expr)
        self.pos = 0
        self.context = context
        self.status = status
        self.functions = functions

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(
                f"The expression `{self.expr}` is incomplete or malformed "
                f"(expected {value or 'more'}).",
                "check the expression's syntax.",
            )
        self.pos += 1
        return token

    def parse(self) -> object:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(
                f"Unexpected `{self.peek()[1]}` in `{self.expr}`.",  # type: ignore[index]
                "check the expression's syntax.",
            )
        return value

    def or_(self) -> object:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> object:
        value = self.unary()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.unary()
            value = right if truthy(value) else value
        return value

    def unary(self) -> object:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.comparison()

    def comparison(self) -> object:
        left = self.primary()
        token = self.peek()
        if token in (("op", "=="), ("op", "!=")):
            self.take()
            right = self.primary()
            same = _equal(left, right)
            return same if token == ("op", "==") else not same
        return left

    def primary(self) -> object:
        kind, value = self.take()
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return float(value)
        if (kind, value) == ("op", "("):
            inner = self.or_()
            self.take(")")
            return inner
        if kind != "name":
            raise ExpressionError(f"Unexpected `{value}` in `{self.expr}`.", "check the syntax.")
        if value in ("true", "false"):
            return value == "true"
        if value == "null":
            return None
        if self.peek() == ("op", "("):
            return self.call(value)
        return self.path(self.context.get(value))

    def path(self, current: object) -> object:
        while self.peek() in (("op", "."), ("op", "[")):
            _, op = self.take()
            if op == ".":
                key = self.take()[1]
            else:
                key_value = self.or_()
                self.take("]")
                key = text(key_value)
            current = current.get(key) if isinstance(current, Mapping) else None
        return current

    def call(self, name: str) -> object:
        self.take("(")
        args: list[object] = []
        while self.peek() != ("op", ")"):
            args.append(self.or_())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        if name == "always":
            return True
        if name == "success":
            return not self.status.failed
        if name == "failure":
            return self.status.failed
        if name == "cancelled":
            return False
        function = self.functions.get(name) or _FUNCTIONS.get(name)
        if function is None:
            raise ExpressionError(
                f"The rehearsal does not know the function `{name}()` (in `{self.expr}`).",
                "use one of: " + ", ".join([*STATUS_FUNCTIONS, *_FUNCTIONS]) + ".",
            )
        result: object = function(*args)
        return result


def _starts(a: object, b: object) -> bool:
    return text(a).lower().startswith(text(b).lower())


def _ends(a: object, b: object) -> bool:
    return text(a).lower().endswith(text(b).lower())


def _contains(a: object, b: object) -> bool:
    if isinstance(a, list):
        return any(_equal(item, b) for item in a)
    return text(b).lower() in text(a).lower()


def _to_json(value: object) -> str:
    return json.dumps(value, indent=2)


def _hash_files(*patterns: object) -> str:
    return ""


_FUNCTIONS: dict[str, Callable[..., object]] = {
    "startsWith": _starts,
    "endsWith": _ends,
    "contains": _contains,
    "toJSON": _to_json,
    "hashFiles": _hash_files,
}


def evaluate(
    expr: str,
    context: Mapping[str, Any],
    status: Status | None = None,
    functions: Mapping[str, Any] | None = None,
) -> object:
    """The value of one expression (without `${{ }}`)."""
    return _Parser(expr, context, status or Status(), functions or {}).parse()


def substitute(value: str, context: Mapping[str, Any]) -> str:
    """Every `${{ … }}` of a string replaced by its value."""
    return _TEMPLATE.sub(lambda m: text(evaluate(m["expr"], context)), value)


def condition(raw: object, context: Mapping[str, Any], status: Status) -> bool:
    """An `if:` as GitHub reads it: `success() && (…)` unless it names a status function."""
    if raw is None:
        return not status.failed
    if isinstance(raw, bool):
        return raw and not status.failed
    expr = str(raw).strip()
    whole = _TEMPLATE.fullmatch(expr)
    if whole:
        expr = whole["expr"]
    value = truthy(evaluate(expr, context, status))
    if not any(re.search(rf"\b{name}\s*\(", expr) for name in STATUS_FUNCTIONS):
        return value and not status.failed
    return value
