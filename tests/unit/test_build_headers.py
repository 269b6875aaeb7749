"""binary.py on small synthetic ELF, PE and Mach-O headers built here with struct."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from nox_cargo.build.headers import BinaryFormatError, inspect, inspect_bytes

BASE = 0x400000


def elf(interp: str | None, needed: list[str], machine: int = 62) -> bytes:
    """A 64-bit little-endian ELF with one PT_LOAD over the file, optional PT_INTERP/PT_DYNAMIC."""
    strtab = b"\0"
    offsets = []
    for name in needed:
        offsets.append(len(strtab))
        strtab += name.encode() + b"\0"
    interp_bytes = (interp.encode() + b"\0") if interp else b""
    phnum = 1 + (1 if interp else 0) + 1  # load, interp, dynamic (always: static-pie style)
    phoff = 64
    data_at = phoff + phnum * 56
    interp_at = data_at
    strtab_at = interp_at + len(interp_bytes)
    dynamic_at = strtab_at + len(strtab)
    dynamic = b"".join(struct.pack("<qQ", 1, off) for off in offsets)
    dynamic += struct.pack("<qQ", 5, BASE + strtab_at) + struct.pack("<qQ", 0, 0)
    total = dynamic_at + len(dynamic)
    header = struct.pack(
        "<16sHHIQQQIHHHHHH",
        b"\x7fELF\x02\x01\x01" + b"\0" * 9,
        2,
        machine,
        1,
        BASE,
        phoff,
        0,
        0,
        64,
        56,
        phnum,
        64,
        0,
        0,
    )
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0, BASE, BASE, total, total, 0x1000)
    if interp:
        phdrs += struct.pack(
            "<IIQQQQQQ", 3, 4, interp_at, BASE + interp_at, 0, len(interp_bytes), 0, 1
        )
    phdrs += struct.pack(
        "<IIQQQQQQ", 2, 6, dynamic_at, BASE + dynamic_at, 0, len(dynamic), len(dynamic), 8
    )
    return header + phdrs + interp_bytes + strtab + dynamic


def pe(dlls: list[str], machine: int = 0x8664) -> bytes:
    """A PE32+ with one section holding the import directory and the DLL names."""
    dos = b"MZ" + b"\0" * 0x3A + struct.pack("<I", 0x40)
    coff = struct.pack("<HHIIIHH", machine, 1, 0, 0, 0, 240, 0x22)
    optional = bytearray(240)
    struct.pack_into("<H", optional, 0, 0x20B)
    struct.pack_into("<I", optional, 108, 16)
    section_rva, section_raw = 0x1000, 0x200
    descriptors = b""
    names = b""
    names_rva = section_rva + 20 * (len(dlls) + 1)
    for dll in dlls:
        descriptors += struct.pack("<IIIII", 0x2000, 0, 0, names_rva + len(names), 0x2000)
        names += dll.encode() + b"\0"
    body = descriptors + b"\0" * 20 + names
    struct.pack_into("<II", optional, 112 + 8, section_rva, len(descriptors) + 20)
    section = struct.pack(
        "<8sIIIIIIHHI", b".idata", len(body), section_rva, 0x200, section_raw, 0, 0, 0, 0, 0
    )
    head = dos + b"PE\0\0" + coff + bytes(optional) + section
    return head + b"\0" * (section_raw - len(head)) + body.ljust(0x200, b"\0")


def macho(dylibs: list[str], cputype: int = 0x0100000C) -> bytes:
    commands = struct.pack("<II", 0x19, 72) + b"\0" * 64  # an LC_SEGMENT_64 to skip over
    for name in dylibs:
        raw = name.encode() + b"\0"
        size = 24 + len(raw)
        size += -size % 8
        commands += struct.pack("<IIIIII", 0xC, size, 24, 2, 0x10000, 0x10000)
        commands += raw.ljust(size - 24, b"\0")
    header = struct.pack(
        "<IiiIIIII", 0xFEEDFACF, cputype, 0, 2, 1 + len(dylibs), len(commands), 0, 0
    )
    return header + commands


def test_static_elf_has_no_loader_and_needs_nothing() -> None:
    info = inspect_bytes(elf(None, []))
    assert (info.format, info.arch, info.static) == ("elf", "x86_64", True)
    assert info.describe_dynamic() == "static"


def test_dynamic_elf_names_its_loader_and_libraries() -> None:
    info = inspect_bytes(elf("/lib64/ld-linux-x86-64.so.2", ["libgcc_s.so.1", "libc.so.6"]))
    assert not info.static
    assert info.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert info.needed == ("libgcc_s.so.1", "libc.so.6")
    assert "libc.so.6" in info.describe_dynamic()


def test_needed_without_loader_is_still_dynamic() -> None:
    info = inspect_bytes(elf(None, ["libc.so.6"], machine=183))
    assert info.arch == "aarch64"
    assert not info.static


def test_pe_with_only_system_dlls_is_static() -> None:
    info = inspect_bytes(pe(["KERNEL32.dll", "msvcrt.dll", "api-ms-win-core-synch-l1-2-0.dll"]))
    assert (info.format, info.arch) == ("pe", "x86_64")
    assert info.needed == ("KERNEL32.dll", "msvcrt.dll", "api-ms-win-core-synch-l1-2-0.dll")
    assert info.static


def test_pe_needing_runtime_dlls_is_not_static() -> None:
    info = inspect_bytes(pe(["KERNEL32.dll", "VCRUNTIME140.dll", "libgcc_s_seh-1.dll"]))
    assert not info.static
    assert info.foreign_libraries == ("VCRUNTIME140.dll", "libgcc_s_seh-1.dll")
    assert "VCRUNTIME140.dll" in info.describe_dynamic()


def test_macho_with_only_libsystem_is_self_contained() -> None:
    info = inspect_bytes(macho(["/usr/lib/libSystem.B.dylib"]))
    assert (info.format, info.arch, info.static) == ("macho", "aarch64", True)


def test_macho_needing_other_dylibs_is_not() -> None:
    info = inspect_bytes(
        macho(["/usr/lib/libSystem.B.dylib", "/opt/homebrew/lib/libssl.3.dylib"], 0x01000007)
    )
    assert info.arch == "x86_64"
    assert info.foreign_libraries == ("/opt/homebrew/lib/libssl.3.dylib",)
    assert not info.static


def test_universal_macho_reads_every_slice() -> None:
    thin = macho(["/usr/lib/libSystem.B.dylib", "@rpath/libfoo.dylib"])
    fat = struct.pack(">II", 0xCAFEBABE, 1) + struct.pack(">iiIII", 0x0100000C, 0, 64, len(thin), 3)
    data = fat.ljust(64, b"\0") + thin
    info = inspect_bytes(data)
    assert info.format == "macho"
    assert info.foreign_libraries == ("@rpath/libfoo.dylib",)


def test_wasm_is_recognised() -> None:
    assert inspect_bytes(b"\0asm\x01\0\0\0").format == "wasm"


@pytest.mark.parametrize(
    "data",
    [
        b"#!/bin/sh\necho hi\n",
        b"\x7fELF\x02\x01\x01",
        pe(["KERNEL32.dll"])[:300],
        b"MZ" + b"\0" * 70,
    ],
    ids=["script", "truncated-elf", "truncated-pe", "dos-stub"],
)
def test_garbage_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(BinaryFormatError):
        inspect_bytes(data)


def test_inspect_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "weft"
    path.write_bytes(b"not a binary")
    with pytest.raises(BinaryFormatError, match="weft"):
        inspect(path)
