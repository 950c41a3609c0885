"""Which DLLs a Windows import library (``lib<name>.a``) names, read from its members.

An import library is an ``ar`` archive. Two kinds of member name their DLL:

- GNU dlltool's (Debian's MinGW-w64 import libraries): a COFF object per imported
  function, plus a "tail" object whose ``.idata$7`` section holds the DLL's name,
  NUL-terminated and without relocations (the per-function objects' ``.idata$7`` is a
  relocated pointer instead);
- the short import format (lib.exe, llvm-dlltool): a 20-byte header with signature
  ``0x0000 0xFFFF`` and version 0, then the symbol and the DLL name, each NUL-terminated.

A static library (``libmingwex.a``, ``libuuid.a``) has neither and names no DLL.
Only member headers and those few bytes are read: the archive is not loaded whole.

Where no import libraries are installed (Windows on ARM: Debian has no MinGW-w64 for it),
the module definitions they are made from name the DLLs: MinGW-w64's ``<dll>.def`` (and
``.def.in``) files, as zig ships them, say ``LIBRARY <name>`` (see :func:`def_dll_name`).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import BinaryIO

AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60
_COFF_HEADER = 20
_SECTION_HEADER = 40
_SHORT_IMPORT = 20
#: i386, AMD64, ARMNT, ARM64: the machines MinGW-w64 import libraries are built for
_MACHINES = {0x14C, 0x8664, 0x1C4, 0xAA64}
#: a DLL's file name (winspool.drv and ntoskrnl.exe are imported from too)
_DLL_NAME = re.compile(rb"[A-Za-z0-9_.+~-]+\.[A-Za-z0-9]+")
_MAX_NAME = 260


def dll_names(path: Path) -> frozenset[str]:
    """The DLL names (lower case) the members of the import library ``path`` name;
    empty for a static library or a file that is not an ``ar`` archive."""
    names: set[str] = set()
    with path.open("rb") as stream:
        if stream.read(len(AR_MAGIC)) != AR_MAGIC:
            return frozenset()
        while True:
            header = stream.read(_AR_HEADER)
            if len(header) < _AR_HEADER or header[58:60] != b"`\n":
                break
            try:
                size = int(header[48:58].decode("ascii").strip() or "0")
            except ValueError:
                break
            start = stream.tell()
            name = _member_dll(stream, start, size)
            if name:
                names.add(name)
            stream.seek(start + size + (size & 1))  # members are 2-byte aligned
    return frozenset(names)


def _member_dll(stream: BinaryIO, start: int, size: int) -> str | None:
    head = stream.read(min(size, _COFF_HEADER))
    if len(head) < _SHORT_IMPORT:
        return None
    sig1, sig2, version = struct.unpack_from("<HHH", head)
    if sig1 == 0 and sig2 == 0xFFFF:
        if version != 0:  # an anonymous or bigobj object, not an import
            return None
        tail = stream.read(min(size - _SHORT_IMPORT, 2 * _MAX_NAME))
        parts = tail.split(b"\0")
        return _valid(parts[1]) if len(parts) > 2 else None
    machine, sections = struct.unpack_from("<HH", head)
    optional = struct.unpack_from("<H", head, 16)[0]
    if machine not in _MACHINES or not 0 < sections <= 64:
        return None
    stream.seek(start + _COFF_HEADER + optional)
    table = stream.read(sections * _SECTION_HEADER)
    for index in range(len(table) // _SECTION_HEADER):
        entry = table[index * _SECTION_HEADER:(index + 1) * _SECTION_HEADER]
        if entry[:8] != b".idata$7":
            continue
        raw_size, raw_pointer = struct.unpack_from("<II", entry, 16)
        relocations = struct.unpack_from("<H", entry, 32)[0]
        if relocations or not 0 < raw_size <= _MAX_NAME or raw_pointer + raw_size > size:
            continue
        stream.seek(start + raw_pointer)
        return _valid(stream.read(raw_size).split(b"\0", 1)[0])
    return None


#: a module definition's LIBRARY statement: the DLL's name, maybe quoted, maybe without ".dll"
_LIBRARY = re.compile(rb'^[ \t]*LIBRARY[ \t]+"?([^"\s]+)"?', re.IGNORECASE | re.MULTILINE)


def def_dll_name(path: Path) -> str | None:
    """The DLL (lower case) a module definition file's ``LIBRARY`` statement names; a name
    without an extension is a ``.dll``, as for the linker. None: no LIBRARY statement."""
    found = _LIBRARY.search(path.read_bytes())
    if found is None:
        return None
    name = found[1] if b"." in found[1] else found[1] + b".dll"
    return _valid(name)


def _valid(name: bytes) -> str | None:
    return name.decode("ascii").lower() if _DLL_NAME.fullmatch(name) else None
