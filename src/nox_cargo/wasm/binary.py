"""A small reader of the WebAssembly binary format: sections, function bodies, names, features.

Enough of the spec (https://webassembly.github.io/spec/core/binary/) for the size breakdown:
LEB128 integers, the section list, the import section (imported functions come first in the
function index space), the code section's body sizes, and the `name` custom section's function
names (subsection 1). Anything malformed or truncated raises `WasmFormatError` naming the file and
the byte offset, never an IndexError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nox_cargo.errors import NoxCargoError

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

SECTION_NAMES = {
    0: "custom",
    1: "type",
    2: "import",
    3: "function",
    4: "table",
    5: "memory",
    6: "global",
    7: "export",
    8: "start",
    9: "element",
    10: "code",
    11: "data",
    12: "datacount",
    13: "tag",
}

# The order non-custom sections must appear in (datacount and tag sit between others).
SECTION_ORDER = {
    1: 1,
    2: 2,
    3: 3,
    4: 4,
    5: 5,
    13: 6,
    6: 7,
    7: 8,
    8: 9,
    9: 10,
    12: 11,
    10: 12,
    11: 13,
}

# Custom sections a stripped module does without (what `strip = true` removes in wasm-ld).
STRIPPED_CUSTOM = (
    "name",
    "producers",
    "target_features",
    "sourceMappingURL",
    "external_debug_info",
)

# `target_features` names (LLVM) → wasm-opt's --enable-* flag names (binaryen).
FEATURE_FLAGS = {
    "atomics": "threads",
    "bulk-memory": "bulk-memory",
    "bulk-memory-opt": "bulk-memory",
    "exception-handling": "exception-handling",
    "extended-const": "extended-const",
    "multivalue": "multivalue",
    "mutable-globals": "mutable-globals",
    "nontrapping-fptoint": "nontrapping-float-to-int",
    "reference-types": "reference-types",
    "relaxed-simd": "relaxed-simd",
    "sign-ext": "sign-ext",
    "simd128": "simd",
    "tail-call": "tail-call",
    "memory64": "memory64",
    "multimemory": "multimemory",
}


class WasmFormatError(NoxCargoError):
    """A file that is not a well-formed WebAssembly module."""


@dataclass(frozen=True)
class Section:
    id: int
    name: str  # the standard section's name, or the custom section's own name
    offset: int  # where the section (its id byte) starts
    size: int  # the whole section: id byte, size LEB and payload

    @property
    def label(self) -> str:
        return f"custom:{self.name}" if self.id == 0 else self.name


@dataclass(frozen=True)
class Function:
    index: int  # in the function index space (imports first)
    size: int  # the body with its size prefix, as it sits in the code section
    name: str | None


@dataclass(frozen=True)
class Module:
    size: int
    sections: tuple[Section, ...]
    imported_functions: int
    functions: tuple[Function, ...]  # defined functions, in code-section order
    code: bytes = field(repr=False)  # the code section's payload (to match two modules' code)
    features: tuple[str, ...]  # `target_features` entries marked used (+), if the section exists

    @property
    def has_names(self) -> bool:
        return any(f.name is not None for f in self.functions)

    def section_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for section in self.sections:
            sizes[section.label] = sizes.get(section.label, 0) + section.size
        return sizes


class _Reader:
    """Bounds-checked cursor over `data[start:end]`; every overrun is a WasmFormatError."""

    def __init__(self, data: bytes, start: int, end: int, where: str) -> None:
        self.data = data
        self.pos = start
        self.end = end
        self.where = where

    def fail(self, what: str) -> WasmFormatError:
        return WasmFormatError(
            f"{self.where} is not a valid WebAssembly module: {what} at byte {self.pos}.",
            "the file is truncated or corrupt; rebuild it (delete it and run the stage again).",
        )

    def done(self) -> bool:
        return self.pos >= self.end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise self.fail("unexpected end of data")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u32(self) -> int:
        """An unsigned LEB128 of at most 5 bytes (the spec's u32)."""
        value = self._uleb(5)
        if value > 0xFFFFFFFF:
            raise self.fail("LEB128 value does not fit in 32 bits")
        return value

    def u64(self) -> int:
        return self._uleb(10)

    def _uleb(self, max_bytes: int) -> int:
        result = 0
        for shift in range(0, 7 * max_bytes, 7):
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
        raise self.fail(f"LEB128 integer longer than {max_bytes} bytes")

    def take(self, count: int) -> bytes:
        if count > self.end - self.pos:
            raise self.fail(f"{count} bytes announced but only {self.end - self.pos} left")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def name(self) -> str:
        raw = self.take(self.u32())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("a name that is not UTF-8") from None


def read_u32(data: bytes, offset: int = 0) -> tuple[int, int]:
    """(value, next offset) of the unsigned LEB128 at `offset`."""
    reader = _Reader(data, offset, len(data), "data")
    value = reader.u32()
    return value, reader.pos


def encode_u32(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _limits(reader: _Reader) -> None:
    flags = reader.byte()
    reader.u64()
    if flags & 0x01:
        reader.u64()


def _imported_functions(reader: _Reader) -> int:
    functions = 0
    for _ in range(reader.u32()):
        reader.name()
        reader.name()
        kind = reader.byte()
        if kind == 0x00:  # function: type index
            reader.u32()
            functions += 1
        elif kind == 0x01:  # table: reftype, limits
            reader.byte()
            _limits(reader)
        elif kind == 0x02:  # memory: limits
            _limits(reader)
        elif kind == 0x03:  # global: valtype, mutability
            reader.byte()
            reader.byte()
        elif kind == 0x04:  # tag: attribute, type index
            reader.byte()
            reader.u32()
        else:
            raise reader.fail(f"unknown import kind 0x{kind:02x}")
    return functions


def _function_names(reader: _Reader) -> dict[int, str]:
    """Subsection 1 of the `name` section: function index → name."""
    names: dict[int, str] = {}
    while not reader.done():
        sub_id = reader.byte()
        sub_size = reader.u32()
        sub_end = reader.pos + sub_size
        if sub_end > reader.end:
            raise reader.fail("name subsection runs past its section")
        if sub_id == 1:
            sub = _Reader(reader.data, reader.pos, sub_end, reader.where)
            for _ in range(sub.u32()):
                index = sub.u32()
                names[index] = sub.name()
        reader.pos = sub_end
    return names


def _features(reader: _Reader) -> tuple[str, ...]:
    used = []
    for _ in range(reader.u32()):
        prefix = reader.byte()
        name = reader.name()
        if prefix == ord("+"):
            used.append(name)
    return tuple(used)


def _check_header(data: bytes, where: str) -> None:
    if len(data) < 8 or data[:4] != MAGIC:
        raise WasmFormatError(
            f"{where} is not a WebAssembly module (it does not start with \\0asm).",
            "check the path; rebuild the module (delete it and run the stage again).",
        )
    if data[4:8] != VERSION:
        raise WasmFormatError(
            f"{where} is a WebAssembly binary of version {data[4:8].hex()}, not 1 "
            "(a component or a future format).",
            "build a core module (a wasm32-wasip1 `cargo build`) for this stage.",
        )


def _sections(data: bytes, where: str) -> Iterator[tuple[Section, _Reader]]:
    """Each section with a reader over its payload (after a custom section's name)."""
    reader = _Reader(data, 8, len(data), where)
    last_order = 0
    while not reader.done():
        start = reader.pos
        section_id = reader.byte()
        if section_id not in SECTION_NAMES:
            raise reader.fail(f"unknown section id {section_id}")
        size = reader.u32()
        payload = reader.pos
        if size > reader.end - payload:
            raise reader.fail(
                f"the {SECTION_NAMES[section_id]} section announces {size} bytes but only "
                f"{reader.end - payload} remain (truncated file)"
            )
        body = _Reader(data, payload, payload + size, where)
        name = SECTION_NAMES[section_id]
        if section_id == 0:
            name = body.name()
        else:
            order = SECTION_ORDER[section_id]
            if order <= last_order:
                raise reader.fail(f"the {name} section is out of order or repeated")
            last_order = order
        yield Section(section_id, name, start, payload + size - start), body
        reader.pos = payload + size


def _code_bodies(body: _Reader) -> list[int]:
    sizes = []
    for _ in range(body.u32()):
        size = body.u32()
        body.take(size)
        sizes.append(size + len(encode_u32(size)))
    return sizes


def parse(data: bytes, where: str = "the module") -> Module:
    """Read `data` as a WebAssembly module; `where` names it in errors (e.g. its path)."""
    _check_header(data, where)
    sections: list[Section] = []
    imported = 0
    declared: int | None = None
    bodies: list[int] = []
    code = b""
    names: dict[int, str] = {}
    features: tuple[str, ...] = ()
    for section, body in _sections(data, where):
        sections.append(section)
        if section.id == 0 and section.name == "name":
            names = _function_names(body)
        elif section.id == 0 and section.name == "target_features":
            features = _features(body)
        elif section.id == 2:
            imported = _imported_functions(body)
        elif section.id == 3:
            declared = body.u32()
        elif section.id == 10:
            code = data[body.pos : body.end]
            bodies = _code_bodies(body)
        if section.id in (2, 10) and not body.done():
            raise body.fail(f"bytes left over at the end of the {section.name} section")
    if (declared or 0) != len(bodies):
        raise WasmFormatError(
            f"{where} is not a valid WebAssembly module: the function section declares "
            f"{declared or 0} functions but the code section has {len(bodies)} bodies.",
            "the file is truncated or corrupt; rebuild it (delete it and run the stage again).",
        )
    functions = tuple(
        Function(imported + i, size, names.get(imported + i)) for i, size in enumerate(bodies)
    )
    return Module(len(data), tuple(sections), imported, functions, code, features)


def parse_file(path: Path) -> Module:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WasmFormatError(f"Cannot read {path}: {exc.strerror}.", "check the path.") from None
    return parse(data, str(path))


def is_stripped_section(name: str) -> bool:
    return name in STRIPPED_CUSTOM or name.startswith(".debug")


def strip_custom(data: bytes, drop: Callable[[str], bool] = is_stripped_section) -> bytes:
    """`data` without the custom sections `drop` selects; every other byte is kept as it is."""
    module = parse(data)
    out = bytearray(data[:8])
    for section in module.sections:
        if section.id == 0 and drop(section.name):
            continue
        out += data[section.offset : section.offset + section.size]
    return bytes(out)


def wasm_opt_feature_flags(features: tuple[str, ...]) -> list[str]:
    """`--enable-*` flags for the features the module says it uses (unknown ones are skipped)."""
    flags = []
    for feature in features:
        flag = FEATURE_FLAGS.get(feature)
        if flag and f"--enable-{flag}" not in flags:
            flags.append(f"--enable-{flag}")
    return flags


_LEGACY_ESCAPES = {
    "SP": "@",
    "BP": "*",
    "RF": "&",
    "LT": "<",
    "GT": ">",
    "LP": "(",
    "RP": ")",
    "C": ",",
}


def demangle(symbol: str) -> str:
    """Rust's legacy mangling (`_ZN...17h<hash>E`) made readable; other names are kept as is."""
    if not (symbol.startswith("_ZN") and symbol.endswith("E")):
        return symbol
    body, pos, parts = symbol[3:-1], 0, []
    while pos < len(body):
        digits = pos
        while digits < len(body) and body[digits].isdigit():
            digits += 1
        if digits == pos:
            return symbol
        length = int(body[pos:digits])
        part = body[digits : digits + length]
        if len(part) != length:
            return symbol
        parts.append(part)
        pos = digits + length
    if len(parts) > 1 and len(parts[-1]) == 17 and parts[-1][0] == "h":
        parts.pop()  # the hash
    return "::".join(_unescape(p) for p in parts)


def _unescape(part: str) -> str:
    if part.startswith("_$"):
        part = part[1:]
    out, pos = [], 0
    while pos < len(part):
        if part.startswith("..", pos):
            out.append("::")
            pos += 2
        elif part[pos] == "$":
            end = part.find("$", pos + 1)
            code = part[pos + 1 : end] if end > 0 else ""
            if code in _LEGACY_ESCAPES:
                out.append(_LEGACY_ESCAPES[code])
            elif (
                code.startswith("u") and code[1:] and all(c in "0123456789abcdef" for c in code[1:])
            ):
                out.append(chr(int(code[1:], 16)))
            else:
                return part
            pos = end + 1
        else:
            out.append(part[pos])
            pos += 1
    return "".join(out)
