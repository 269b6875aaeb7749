"""The wasm binary reader: LEB128, sections, the function index space, names, corrupt input."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_cargo.wasm import binary


def leb(value: int) -> bytes:
    return binary.encode_u32(value)


def vec_name(text: str) -> bytes:
    raw = text.encode()
    return leb(len(raw)) + raw


def section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + leb(len(payload)) + payload


def custom(name: str, payload: bytes) -> bytes:
    return section(0, vec_name(name) + payload)


def module(
    bodies: list[bytes],
    names: dict[int, str] | None = None,
    features: list[str] | None = None,
    imports: int = 2,
) -> bytes:
    """A valid module: `imports` imported functions, then one defined function per body."""
    types = section(1, leb(1) + b"\x60\x00\x00")  # one type: () -> ()
    import_entries = b"".join(
        vec_name("wasi_snapshot_preview1") + vec_name(f"f{i}") + b"\x00" + leb(0)
        for i in range(imports)
    )
    # a memory import too: not a function, so it must not shift the function indices
    import_entries += vec_name("env") + vec_name("memory") + b"\x02\x01" + leb(1) + leb(2)
    imports_section = section(2, leb(imports + 1) + import_entries)
    functions = section(3, leb(len(bodies)) + b"".join(leb(0) for _ in bodies))
    code = section(10, leb(len(bodies)) + b"".join(leb(len(b)) + b for b in bodies))
    out = b"\x00asm\x01\x00\x00\x00" + types + imports_section + functions + code
    if names:
        entries = b"".join(leb(i) + vec_name(n) for i, n in sorted(names.items()))
        payload = leb(len(names)) + entries
        module_name = b"\x00" + leb(len(vec_name("m"))) + vec_name("m")  # subsection 0, skipped
        out += custom("name", module_name + b"\x01" + leb(len(payload)) + payload)
    if features:
        payload = leb(len(features)) + b"".join(b"+" + vec_name(f) for f in features)
        out += custom("target_features", payload)
    out += custom("producers", b"\x00")
    return out


def body(size: int) -> bytes:
    """A function body of exactly `size` bytes: no locals, nops, end."""
    return b"\x00" + b"\x01" * (size - 2) + b"\x0b"


def test_function_index_space_starts_after_the_imports() -> None:
    data = module([body(10), body(300), body(5)], names={2: "small", 3: "big", 4: "tiny"})
    parsed = binary.parse(data)
    assert parsed.imported_functions == 2
    assert [(f.index, f.name) for f in parsed.functions] == [(2, "small"), (3, "big"), (4, "tiny")]
    # the size includes the body's LEB prefix: 300 needs two bytes
    assert [f.size for f in parsed.functions] == [11, 302, 6]
    assert parsed.has_names
    assert parsed.size == len(data)
    assert sum(s.size for s in parsed.sections) == len(data) - 8


def test_section_sizes_and_labels() -> None:
    parsed = binary.parse(module([body(4)], names={2: "f"}))
    sizes = parsed.section_sizes()
    assert set(sizes) == {"type", "import", "function", "code", "custom:name", "custom:producers"}


def test_strip_keeps_every_other_byte() -> None:
    data = module([body(10), body(20)], names={2: "a", 3: "b"}, features=["sign-ext"])
    stripped = binary.strip_custom(data)
    parsed = binary.parse(stripped)
    assert not parsed.has_names
    assert [s.id for s in parsed.sections] == [1, 2, 3, 10]
    assert parsed.code == binary.parse(data).code
    assert len(stripped) < len(data)


def test_features_become_wasm_opt_flags() -> None:
    parsed = binary.parse(module([body(3)], features=["sign-ext", "mutable-globals", "atomics"]))
    assert parsed.features == ("sign-ext", "mutable-globals", "atomics")
    assert binary.wasm_opt_feature_flags(parsed.features) == [
        "--enable-sign-ext",
        "--enable-mutable-globals",
        "--enable-threads",
    ]


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 624485, 2**32 - 1])
def test_leb128_round_trip(value: int) -> None:
    encoded = binary.encode_u32(value)
    assert binary.read_u32(encoded + b"\xff") == (value, len(encoded))


def test_truncated_at_every_length_is_a_clear_error() -> None:
    data = module([body(10), body(200)], names={2: "a", 3: "b"})
    for cut in range(len(data)):
        truncated = data[:cut]
        try:
            binary.parse(truncated, "weft-wasm.wasm")
        except binary.WasmFormatError as exc:
            assert "weft-wasm.wasm" in exc.message
            assert exc.hint
        else:
            # Only cuts at a section boundary leave a well-formed (shorter) module.
            boundaries = {
                8 + sum(s.size for s in binary.parse(data).sections[:i]) for i in range(8)
            }
            assert cut in boundaries, f"cut at {cut} parsed without error"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x7fELF\x02\x01\x01\x00", "does not start with \\0asm"),
        (b"\x00asm\x0d\x00\x01\x00", "version"),
        (b"\x00asm\x01\x00\x00\x00\x42\x00", "unknown section id 66"),
        (b"\x00asm\x01\x00\x00\x00\x01\xff\xff\xff\xff\xff\x01", "LEB128"),
        (b"\x00asm\x01\x00\x00\x00\x01\x00\x01\x00", "out of order or repeated"),
        (b"\x00asm\x01\x00\x00\x00\x03\x01\x01", "declares 1 functions but the code section has 0"),
    ],
)
def test_corrupt_modules_are_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(binary.WasmFormatError) as info:
        binary.parse(data, "bad.wasm")
    assert message in info.value.message
    assert "bad.wasm" in info.value.message


def test_code_section_with_trailing_garbage() -> None:
    code = leb(1) + leb(2) + b"\x00\x0b" + b"\xaa"
    data = b"\x00asm\x01\x00\x00\x00" + section(3, leb(1) + leb(0)) + section(10, code)
    with pytest.raises(binary.WasmFormatError, match="left over"):
        binary.parse(data)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(binary.WasmFormatError, match="Cannot read"):
        binary.parse_file(tmp_path / "missing.wasm")


@pytest.mark.parametrize(
    ("symbol", "readable"),
    [
        ("_ZN9weft_wasm4main17h126b027126945794E", "weft_wasm::main"),
        (
            "_ZN60_$LT$std..io..error..Error$u20$as$u20$core..fmt..Display$GT$3fmt17h91185d4d6e436ce8E",
            "<std::io::error::Error as core::fmt::Display>::fmt",
        ),
        ("dlmalloc", "dlmalloc"),
        ("_ZN3bad", "_ZN3bad"),
    ],
)
def test_demangle(symbol: str, readable: str) -> None:
    assert binary.demangle(symbol) == readable
