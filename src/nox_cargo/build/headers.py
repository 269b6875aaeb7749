"""Reading an executable's headers: its format, architecture, and what it loads at run time.

The build stage does not trust `+crt-static`: it reads the binary it got. ELF: a static binary has
no PT_INTERP (no dynamic loader) and no DT_NEEDED entry (a static-pie keeps a dynamic section for
its own relocations, which loads nothing). PE: the imported DLLs; system DLLs (KERNEL32, ntdll,
msvcrt, the api-ms-win-* sets...) are part of Windows, anything else (vcruntime140.dll,
libgcc_s_seh-1.dll...) must be shipped beside the .exe. Mach-O: the LC_LOAD_DYLIB family of load
commands; libSystem and Apple's frameworks come with macOS, anything else does not.

Everything is parsed with `struct` from the bytes; a truncated or foreign file is a clear error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.errors import NoxCargoError


class BinaryFormatError(NoxCargoError):
    """The file is not an executable nox-cargo can read, or its headers are corrupt."""


@dataclass(frozen=True)
class BinaryInfo:
    """What a binary's headers say about how it runs."""

    format: str  # "elf" | "pe" | "macho" | "wasm"
    arch: str  # x86_64, aarch64, arm, x86, wasm32, ... ("unknown" otherwise)
    interpreter: str | None  # ELF PT_INTERP
    needed: tuple[str, ...]  # ELF DT_NEEDED / PE imported DLLs / Mach-O dylibs
    foreign_libraries: tuple[str, ...]  # the `needed` entries the OS does not provide
    min_os: str | None = None  # Mach-O: the minimum macOS (LC_BUILD_VERSION / LC_VERSION_MIN)

    @property
    def static(self) -> bool:
        """Runs without any library the OS does not ship (ELF: no loader, nothing needed)."""
        if self.format == "elf":
            return self.interpreter is None and not self.needed
        return not self.foreign_libraries

    def describe_dynamic(self) -> str:
        """Why the binary is not static, in one phrase."""
        if self.format == "elf":
            parts = []
            if self.interpreter:
                parts.append(f"loader {self.interpreter}")
            if self.needed:
                parts.append("needs " + ", ".join(self.needed))
            return "; ".join(parts) or "static"
        if self.foreign_libraries:
            return "needs " + ", ".join(self.foreign_libraries)
        return "static"


def inspect(path: Path) -> BinaryInfo:
    """Read the headers of the executable at `path`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BinaryFormatError(f"Cannot read {path}: {exc.strerror}.", f"check {path}.") from None
    try:
        return inspect_bytes(data)
    except BinaryFormatError as exc:
        raise BinaryFormatError(f"{path}: {exc.message}", exc.hint) from None


def inspect_bytes(data: bytes) -> BinaryInfo:
    if data[:4] == b"\x7fELF":
        return _elf(data)
    if data[:2] == b"MZ":
        return _pe(data)
    if data[:4] in (
        b"\xcf\xfa\xed\xfe",
        b"\xce\xfa\xed\xfe",
        b"\xfe\xed\xfa\xcf",
        b"\xfe\xed\xfa\xce",
    ):
        return _macho(data, 0)
    if data[:4] == b"\xca\xfe\xba\xbe":
        return _fat_macho(data)
    if data[:4] == b"\x00asm":
        return BinaryInfo("wasm", "wasm32", None, (), ())
    raise BinaryFormatError(
        f"not an ELF, PE, Mach-O or WebAssembly file (starts with {data[:4]!r}).",
        "point nox-cargo at the executable cargo built.",
    )


def _unpack(fmt: str, data: bytes, offset: int) -> tuple[int, ...]:
    size = struct.calcsize(fmt)
    if offset < 0 or offset + size > len(data):
        raise BinaryFormatError(
            f"truncated header: {size} bytes wanted at offset {offset}, file has {len(data)}.",
            "rebuild it; the file is incomplete or corrupt.",
        )
    return struct.unpack_from(fmt, data, offset)


def _cstring(data: bytes, offset: int) -> str:
    if offset < 0 or offset >= len(data):
        raise BinaryFormatError(
            f"a string offset ({offset}) points outside the file.", "rebuild it; it is corrupt."
        )
    end = data.find(b"\0", offset)
    if end < 0:
        end = len(data)
    return data[offset:end].decode("utf-8", errors="replace")


# -- ELF --------------------------------------------------------------------------------------

_ELF_MACHINES = {3: "x86", 40: "arm", 62: "x86_64", 183: "aarch64", 243: "riscv64", 8: "mips"}
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB = 0, 1, 5


def _elf(data: bytes) -> BinaryInfo:
    elf_class, endian_byte = data[4], data[5]
    if elf_class not in (1, 2) or endian_byte not in (1, 2):
        raise BinaryFormatError(
            f"bad ELF identification (class {elf_class}, data {endian_byte}).",
            "rebuild it; the file is corrupt.",
        )
    e = "<" if endian_byte == 1 else ">"
    is64 = elf_class == 2
    (machine,) = _unpack(e + "H", data, 18)
    if is64:
        phoff, phentsize, phnum = (
            _unpack(e + "Q", data, 32)[0],
            *_unpack(e + "HH", data, 54),
        )
        ph_fmt = e + "IIQQQQQQ"  # type, flags, offset, vaddr, paddr, filesz, memsz, align
    else:
        phoff, phentsize, phnum = (
            _unpack(e + "I", data, 28)[0],
            *_unpack(e + "HH", data, 42),
        )
        ph_fmt = e + "IIIIIIII"  # type, offset, vaddr, paddr, filesz, memsz, flags, align
    interpreter: str | None = None
    dynamic: tuple[int, int] | None = None
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    for i in range(phnum):
        fields = _unpack(ph_fmt, data, phoff + i * phentsize)
        if is64:
            p_type, _, p_offset, p_vaddr, _, p_filesz = fields[:6]
        else:
            p_type, p_offset, p_vaddr, _, p_filesz = fields[:5]
        if p_type == PT_INTERP:
            interpreter = _cstring(data, p_offset)
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
        elif p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
    needed: list[str] = []
    if dynamic is not None:
        entry_fmt = e + ("qQ" if is64 else "iI")
        entry_size = struct.calcsize(entry_fmt)
        needed_offsets: list[int] = []
        strtab_vaddr: int | None = None
        offset, size = dynamic
        for position in range(offset, offset + size, entry_size):
            tag, value = _unpack(entry_fmt, data, position)
            if tag == DT_NULL:
                break
            if tag == DT_NEEDED:
                needed_offsets.append(value)
            elif tag == DT_STRTAB:
                strtab_vaddr = value
        if needed_offsets:
            if strtab_vaddr is None:
                raise BinaryFormatError(
                    "the dynamic section has DT_NEEDED entries but no string table.",
                    "rebuild it; the file is corrupt.",
                )
            strtab = _vaddr_to_offset(strtab_vaddr, loads)
            needed = [_cstring(data, strtab + n) for n in needed_offsets]
    arch = _ELF_MACHINES.get(machine, f"elf-machine-{machine}")
    return BinaryInfo("elf", arch, interpreter, tuple(needed), tuple(needed))


def _vaddr_to_offset(vaddr: int, loads: list[tuple[int, int, int]]) -> int:
    for start, offset, size in loads:
        if start <= vaddr < start + size:
            return offset + (vaddr - start)
    raise BinaryFormatError(
        f"address {vaddr:#x} of the dynamic string table is in no loaded segment.",
        "rebuild it; the file is corrupt.",
    )


# -- PE ---------------------------------------------------------------------------------------

_PE_MACHINES = {0x8664: "x86_64", 0x14C: "x86", 0xAA64: "aarch64", 0x1C4: "arm"}
# DLLs every supported Windows has. Anything else must ship beside the .exe.
SYSTEM_DLLS = frozenset(
    {
        "kernel32.dll",
        "kernelbase.dll",
        "ntdll.dll",
        "advapi32.dll",
        "bcrypt.dll",
        "bcryptprimitives.dll",
        "crypt32.dll",
        "ncrypt.dll",
        "secur32.dll",
        "ws2_32.dll",
        "userenv.dll",
        "user32.dll",
        "gdi32.dll",
        "shell32.dll",
        "ole32.dll",
        "oleaut32.dll",
        "shlwapi.dll",
        "iphlpapi.dll",
        "dbghelp.dll",
        "psapi.dll",
        "synchronization.dll",
        "msvcrt.dll",
        "ucrtbase.dll",
        "comctl32.dll",
        "version.dll",
        "winmm.dll",
        "powrprof.dll",
        "netapi32.dll",
    }
)


def is_system_dll(name: str) -> bool:
    lowered = name.lower()
    return lowered in SYSTEM_DLLS or lowered.startswith(("api-ms-win-", "ext-ms-win-"))


def _pe(data: bytes) -> BinaryInfo:
    (pe_offset,) = _unpack("<I", data, 0x3C)
    if data[pe_offset : pe_offset + 4] != b"PE\0\0":
        raise BinaryFormatError(
            "an MZ file without a PE signature (a DOS program?).", "rebuild it for Windows."
        )
    coff = pe_offset + 4
    machine, nsections, _, _, _, opt_size, _ = _unpack("<HHIIIHH", data, coff)
    optional = coff + 20
    (magic,) = _unpack("<H", data, optional)
    if magic == 0x20B:  # PE32+
        directories = optional + 112
    elif magic == 0x10B:  # PE32
        directories = optional + 96
    else:
        raise BinaryFormatError(
            f"unknown PE optional header magic {magic:#x}.", "rebuild it; the file is corrupt."
        )
    (ndirs,) = _unpack("<I", data, directories - 4)
    sections = []
    section_table = optional + opt_size
    for i in range(nsections):
        vsize, vaddr, raw_size, raw_ptr = _unpack("<IIII", data, section_table + i * 40 + 8)
        sections.append((vaddr, max(vsize, raw_size), raw_ptr))
    needed: list[str] = []
    if ndirs > 1:
        import_rva, import_size = _unpack("<II", data, directories + 8)
        if import_rva and import_size:
            position = _rva_to_offset(import_rva, sections)
            while True:
                original_thunk, _, _, name_rva, first_thunk = _unpack("<IIIII", data, position)
                if not (original_thunk or name_rva or first_thunk):
                    break
                needed.append(_cstring(data, _rva_to_offset(name_rva, sections)))
                position += 20
    foreign = tuple(n for n in needed if not is_system_dll(n))
    arch = _PE_MACHINES.get(machine, f"pe-machine-{machine:#x}")
    return BinaryInfo("pe", arch, None, tuple(needed), foreign)


def _rva_to_offset(rva: int, sections: list[tuple[int, int, int]]) -> int:
    for vaddr, size, raw_ptr in sections:
        if vaddr <= rva < vaddr + size:
            return raw_ptr + (rva - vaddr)
    raise BinaryFormatError(
        f"RVA {rva:#x} of the import table is in no section.", "rebuild it; the file is corrupt."
    )


# -- Mach-O -----------------------------------------------------------------------------------

_MACHO_MAGICS = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce")
_MACHO_CPUS = {0x01000007: "x86_64", 0x0100000C: "aarch64", 7: "x86", 12: "arm"}
LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_LAZY_LOAD_DYLIB = (
    0xC,
    0x80000018,
    0x8000001F,
    0x20,
)
_DYLIB_COMMANDS = {LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_LAZY_LOAD_DYLIB}
LC_VERSION_MIN_MACOSX, LC_BUILD_VERSION = 0x24, 0x32


def macos_version(encoded: int) -> str:
    """Mach-O's xxxx.yy.zz nibble encoding as `11.0` or `10.12.1`."""
    major, minor, patch = encoded >> 16, (encoded >> 8) & 0xFF, encoded & 0xFF
    return f"{major}.{minor}" + (f".{patch}" if patch else "")


def is_system_dylib(name: str) -> bool:
    """libSystem and Apple's frameworks come with every macOS."""
    return name.startswith(("/usr/lib/libSystem", "/System/Library/"))


def _macho(data: bytes, base: int) -> BinaryInfo:
    magic = data[base : base + 4]
    e = "<" if magic in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe") else ">"
    is64 = magic in (b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")
    cputype, _, _, ncmds, _, _ = _unpack(e + "iiIIII", data, base + 4)
    position = base + (32 if is64 else 28)
    needed: list[str] = []
    min_os: str | None = None
    for _ in range(ncmds):
        cmd, cmdsize = _unpack(e + "II", data, position)
        if cmdsize < 8:
            raise BinaryFormatError(
                f"a Mach-O load command has size {cmdsize}.", "rebuild it; the file is corrupt."
            )
        if cmd in _DYLIB_COMMANDS:
            (name_offset,) = _unpack(e + "I", data, position + 8)
            needed.append(_cstring(data, position + name_offset))
        elif cmd == LC_BUILD_VERSION:
            _, minos = _unpack(e + "II", data, position + 8)
            min_os = macos_version(minos)
        elif cmd == LC_VERSION_MIN_MACOSX:
            (version,) = _unpack(e + "I", data, position + 8)
            min_os = macos_version(version)
        position += cmdsize
    foreign = tuple(n for n in needed if not is_system_dylib(n))
    arch = _MACHO_CPUS.get(cputype & 0xFFFFFFFF, f"macho-cpu-{cputype:#x}")
    return BinaryInfo("macho", arch, None, tuple(needed), foreign, min_os)


def _fat_macho(data: bytes) -> BinaryInfo:
    """A universal binary: every slice must be static for the file to be."""
    (count,) = _unpack(">I", data, 4)
    if count == 0 or count > 32:
        raise BinaryFormatError(
            f"a universal Mach-O with {count} slices.", "rebuild it; the file is corrupt."
        )
    slices = []
    for i in range(count):
        _, _, offset, _, _ = _unpack(">iiIII", data, 8 + i * 20)
        slices.append(_macho(data, offset))
    needed = tuple(dict.fromkeys(n for s in slices for n in s.needed))
    foreign = tuple(dict.fromkeys(n for s in slices for n in s.foreign_libraries))
    arch = "+".join(s.arch for s in slices)
    versions = sorted({s.min_os for s in slices if s.min_os}, key=_version_key)
    return BinaryInfo("macho", arch, None, needed, foreign, versions[-1] if versions else None)


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))
