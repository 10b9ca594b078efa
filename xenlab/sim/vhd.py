"""VHD files as an ext SR holds them, read and written in Python (the stand-in has no vhd-util).

The format is Microsoft's "Virtual Hard Disk Image Format Specification" 1.0
(footer, dynamic disk header, block allocation table, sector bitmaps, parent
locators), with libvhd's additions as xapi-project/blktap's vhd/lib/libvhd.c makes
them: the `hidden` byte after the footer's saved-state byte, and parent locators
of platform codes MacX (a "file://./<name>" URL), W2ku and W2ru (".\\<name>" in
UTF-16LE), each relative to the child's directory.

What sm's vhdutil.py asks of vhd-util is here as functions: `info` (query/scan),
`check` (vhd-util check: the first line it prints for an invalid file), `create`
(create, or snapshot when given a parent), `set_parent` (modify -p), `set_hidden`
(set -f hidden), `resize` (resize) and `coalesce` (coalesce). Standard library only.
"""

from __future__ import annotations

import os
import struct
import time
import uuid as uuidlib
from dataclasses import dataclass, field, replace
from pathlib import Path

SECTOR = 512
FOOTER_SIZE = 512
HEADER_SIZE = 1024
BLOCK_SIZE = 2 * 1024 * 1024  # sm vhdutil.py VHD_BLOCK_SIZE
MAX_VHD_SIZE = 2040 * 1024 ** 3  # sm vhdutil.py MAX_VHD_SIZE
MAX_CHAIN_SIZE = 30  # sm vhdutil.py MAX_CHAIN_SIZE
FIXED, DYNAMIC, DIFFERENCING = 2, 3, 4
VHD_EPOCH = 946684800  # 2000-01-01T00:00:00Z: the spec's time stamps count from here
UNUSED = 0xFFFFFFFF  # a BAT entry with no block
NO_OFFSET = 0xFFFFFFFFFFFFFFFF
VERSION = 0x00010000
FOOTER_COOKIE, HEADER_COOKIE = b"conectix", b"cxsparse"
LOCATOR_CODES = (b"MacX", b"W2ku", b"W2ru")
_FOOTER = struct.Struct(">8sIIQI4sI4sQQIII16sBB426s")
_HEADER_HEAD = struct.Struct(">8sQQIIII16sI4s512s")
_LOCATOR = struct.Struct(">4sIII Q")


class VhdError(Exception):
    """The file is not a VHD this module can work on (the text says why)."""


@dataclass
class Footer:
    features: int = 2
    version: int = VERSION
    data_offset: int = FOOTER_SIZE
    timestamp: int = 0
    creator_app: bytes = b"tap\0"  # libvhd's creator, as tapdisk writes it
    creator_version: int = 0x00010003
    creator_os: bytes = b"\0\0\0\0"
    original_size: int = 0
    current_size: int = 0
    geometry: int = 0
    disk_type: int = DYNAMIC
    checksum: int = 0
    uuid: bytes = b"\0" * 16
    saved_state: int = 0
    hidden: int = 0
    cookie: bytes = FOOTER_COOKIE

    def pack(self) -> bytes:
        raw = _FOOTER.pack(self.cookie, self.features, self.version, self.data_offset, self.timestamp,
                           self.creator_app, self.creator_version, self.creator_os, self.original_size,
                           self.current_size, self.geometry, self.disk_type, 0, self.uuid, self.saved_state,
                           self.hidden, b"\0" * 426)
        return raw[:64] + struct.pack(">I", _checksum(raw)) + raw[68:]

    @classmethod
    def unpack(cls, raw: bytes) -> "Footer":
        (cookie, features, version, data_offset, timestamp, app, app_ver, host_os, original, current, geometry,
         disk_type, checksum, uid, saved, hidden, _) = _FOOTER.unpack(raw)
        return cls(features, version, data_offset, timestamp, app, app_ver, host_os, original, current, geometry,
                   disk_type, checksum, uid, saved, hidden, cookie)

    def valid_checksum(self, raw: bytes) -> bool:
        return _checksum(raw[:64] + b"\0\0\0\0" + raw[68:]) == self.checksum


@dataclass
class Locator:
    code: bytes
    space: int  # sectors set aside for the data
    length: int  # bytes of data
    offset: int  # where the data is in the file


@dataclass
class Header:
    table_offset: int = 0
    max_bat: int = 0
    block_size: int = BLOCK_SIZE
    parent_uuid: bytes = b"\0" * 16
    parent_timestamp: int = 0
    parent_name: str = ""
    locators: list = field(default_factory=list)
    checksum: int = 0
    version: int = VERSION
    data_offset: int = NO_OFFSET
    cookie: bytes = HEADER_COOKIE

    def pack(self) -> bytes:
        name = self.parent_name.encode("utf-16-be")[:512]
        raw = _HEADER_HEAD.pack(self.cookie, self.data_offset, self.table_offset, self.version, self.max_bat,
                                self.block_size, 0, self.parent_uuid, self.parent_timestamp, b"\0" * 4, name)
        entries = list(self.locators)[:8]
        for loc in entries:
            raw += _LOCATOR.pack(loc.code, loc.space, loc.length, 0, loc.offset)
        raw += b"\0" * (HEADER_SIZE - len(raw))
        return raw[:36] + struct.pack(">I", _checksum(raw)) + raw[40:]

    @classmethod
    def unpack(cls, raw: bytes) -> "Header":
        (cookie, data_offset, table_offset, version, max_bat, block_size, checksum, parent_uuid, parent_ts, _,
         name) = _HEADER_HEAD.unpack(raw[:_HEADER_HEAD.size])
        locators = []
        for i in range(8):
            code, space, length, _, offset = _LOCATOR.unpack_from(raw, 576 + 24 * i)
            if code.strip(b"\0") and length:
                locators.append(Locator(code, space, length, offset))
        parent_name = name.decode("utf-16-be", errors="replace").split("\0", 1)[0]
        return cls(table_offset, max_bat, block_size, parent_uuid, parent_ts, parent_name, locators, checksum,
                   version, data_offset, cookie)

    def valid_checksum(self, raw: bytes) -> bool:
        return _checksum(raw[:36] + b"\0\0\0\0" + raw[40:]) == self.checksum


@dataclass(frozen=True)
class Info:
    """What `vhd-util scan`/`query` report of one file."""

    path: Path
    virtual_size: int
    physical_size: int
    disk_type: int
    uuid: str
    hidden: bool
    parent: Path | None  # the parent file the locators name (None: no parent)
    blocks: int  # allocated blocks

    @property
    def parent_uuid(self) -> str | None:
        """The parent's VDI uuid: its file name without .vhd (sm FileSR extractUuid)."""
        return self.parent.name[:-4] if self.parent is not None and self.parent.name.endswith(".vhd") else None


def _checksum(raw: bytes) -> int:
    return ~sum(raw) & 0xFFFFFFFF


def _pad(n: int, unit: int = SECTOR) -> int:
    return (n + unit - 1) // unit * unit


def now_stamp(now: float | None = None) -> int:
    return max(0, int(time.time() if now is None else now) - VHD_EPOCH)


def geometry(size: int) -> int:
    """CHS for a size, as the spec's appendix computes it (packed cylinders:heads:sectors)."""
    sectors = min(size // SECTOR, 65535 * 16 * 255)
    if sectors >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cth = sectors // spt
    else:
        spt = 17
        cth = sectors // spt
        heads = max((cth + 1023) // 1024, 4)
        if cth >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cth = sectors // spt
        if cth >= heads * 1024:
            spt, heads = 63, 16
            cth = sectors // spt
    return ((cth // heads) << 16) | (heads << 8) | spt


def round_size(size: int) -> int:
    """sm vhdutil.validate_and_round_vhd_size: up to whole 2 MiB blocks, at most MAX_VHD_SIZE."""
    if size < 0 or size > MAX_VHD_SIZE:
        raise VhdError(f"size {size} is not within 0 .. {MAX_VHD_SIZE}")
    return _pad(max(size, BLOCK_SIZE), BLOCK_SIZE)


def _bat_entries(size: int, block_size: int = BLOCK_SIZE) -> int:
    return (size + block_size - 1) // block_size


def _bitmap_size(block_size: int) -> int:
    return _pad(block_size // SECTOR // 8)


# ------------------------------------------------------------------ reading


class _Vhd:
    """An open VHD: footer, header and BAT of a dynamic or differencing file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.size = self.path.stat().st_size
        with open(self.path, "rb") as fh:
            if self.size < FOOTER_SIZE:
                raise VhdError("file too small for a footer")
            fh.seek(self.size - FOOTER_SIZE)
            self.footer_raw = fh.read(FOOTER_SIZE)
            self.footer = Footer.unpack(self.footer_raw)
            if self.footer.cookie != FOOTER_COOKIE:
                # A file whose last sector is not a footer: libvhd falls back to the copy at 0.
                fh.seek(0)
                self.footer_raw = fh.read(FOOTER_SIZE)
                self.footer = Footer.unpack(self.footer_raw)
            self.header = None
            self.header_raw = b""
            self.bat: list[int] = []
            if self.footer.cookie == FOOTER_COOKIE and self.footer.disk_type in (DYNAMIC, DIFFERENCING):
                if self.footer.data_offset + HEADER_SIZE > self.size:
                    raise VhdError("header beyond the end of the file")
                fh.seek(self.footer.data_offset)
                self.header_raw = fh.read(HEADER_SIZE)
                self.header = Header.unpack(self.header_raw)
                if self.header.cookie == HEADER_COOKIE and self.header.table_offset + 4 * self.header.max_bat \
                        <= self.size:
                    fh.seek(self.header.table_offset)
                    raw = fh.read(4 * self.header.max_bat)
                    self.bat = list(struct.unpack(f">{self.header.max_bat}I", raw))

    def locator_path(self) -> Path | None:
        """The parent file, as libvhd's vhd_parent_locator_get finds it (first locator that resolves)."""
        if self.header is None or self.footer.disk_type != DIFFERENCING:
            return None
        with open(self.path, "rb") as fh:
            found = []
            for code in LOCATOR_CODES:
                for loc in self.header.locators:
                    if loc.code != code:
                        continue
                    fh.seek(loc.offset)
                    data = fh.read(loc.length)
                    if code == b"MacX":
                        text = data.decode("utf-8", errors="replace").rstrip("\0")
                        text = text[len("file://"):] if text.startswith("file://") else text
                    else:
                        text = data.decode("utf-16-le", errors="replace").rstrip("\0").replace("\\", "/")
                    candidate = (self.path.parent / text).resolve() if not text.startswith("/") else Path(text)
                    found.append(candidate)
                    if candidate.exists():
                        return candidate
        if found:
            return found[0]
        return self.path.parent / self.header.parent_name if self.header.parent_name else None

    def read_block(self, fh, index: int) -> tuple[bytes, bytes] | None:
        """(sector bitmap, data) of an allocated block, else None."""
        if index >= len(self.bat) or self.bat[index] == UNUSED:
            return None
        bitmap = _bitmap_size(self.header.block_size)
        fh.seek(self.bat[index] * SECTOR)
        raw = fh.read(bitmap + self.header.block_size)
        return raw[:bitmap], raw[bitmap:].ljust(self.header.block_size, b"\0")


def info(path: str | Path) -> Info:
    """`vhd-util query`: sizes, uuid, hidden flag and parent of one VHD file."""
    vhd = _Vhd(Path(path))
    if vhd.footer.cookie != FOOTER_COOKIE:
        raise VhdError("no VHD footer")
    parent = vhd.locator_path()
    blocks = sum(1 for b in vhd.bat if b != UNUSED)
    return Info(vhd.path, vhd.footer.current_size, vhd.size, vhd.footer.disk_type,
                str(uuidlib.UUID(bytes=vhd.footer.uuid)), bool(vhd.footer.hidden), parent, blocks)


def check(path: str | Path, now: float | None = None) -> str | None:
    """`vhd-util check`: None for a valid file, else the first line it prints for an invalid one
    (libvhd vhd_validate_footer, vhd_validate_header, vhd_validate_bat, parent checks)."""
    try:
        vhd = _Vhd(Path(path))
    except (OSError, VhdError, struct.error) as exc:
        return f"primary footer invalid: {exc}"
    f = vhd.footer
    if f.cookie != FOOTER_COOKIE:
        return "primary footer invalid: invalid cookie"
    if not f.valid_checksum(vhd.footer_raw):
        return "primary footer invalid: invalid checksum"
    if f.version != VERSION:
        return "primary footer invalid: invalid version"
    if f.disk_type not in (FIXED, DYNAMIC, DIFFERENCING):
        return "primary footer invalid: invalid disk type"
    if f.timestamp > now_stamp(now):
        return "primary footer invalid: creation time in future"
    if f.disk_type == FIXED:
        return None if f.data_offset == NO_OFFSET else "primary footer invalid: invalid data offset"
    h = vhd.header
    if h is None or h.cookie != HEADER_COOKIE:
        return "header invalid: invalid cookie"
    if not h.valid_checksum(vhd.header_raw):
        return "header invalid: invalid checksum"
    if h.version != VERSION:
        return "header invalid: invalid header version"
    if h.data_offset != NO_OFFSET:
        return "header invalid: invalid data offset"
    if h.block_size <= 0 or h.block_size & (h.block_size - 1) or h.block_size % SECTOR:
        return "header invalid: invalid block size"
    if h.max_bat < _bat_entries(f.current_size, h.block_size):
        return "header invalid: max bat size too small"
    if h.table_offset + 4 * h.max_bat > vhd.size:
        return "header invalid: batmap beyond end of file"
    end = vhd.size - FOOTER_SIZE
    step = _bitmap_size(h.block_size) + h.block_size
    for entry in vhd.bat:
        if entry != UNUSED and entry * SECTOR + step > end:
            return "bat invalid: block beyond end of file"
    if f.disk_type == DIFFERENCING:
        if h.parent_uuid == b"\0" * 16:
            return "header invalid: invalid parent uuid"
        parent = vhd.locator_path()
        if parent is None or not parent.exists():
            return f"parent locator invalid: parent {parent} not found"
        try:
            parent_vhd = _Vhd(parent)
        except (OSError, VhdError, struct.error) as exc:
            return f"parent invalid: {exc}"
        if parent_vhd.footer.uuid != h.parent_uuid:
            return "parent invalid: parent uuid mismatch"
    return None


def depth(path: str | Path) -> int:
    """`vhd-util query -d`: the chain's length, this file included."""
    count, current, seen = 0, Path(path), set()
    while current is not None and current not in seen:
        seen.add(current)
        count += 1
        current = info(current).parent
        if current is not None and not current.exists():
            break
    return count


# ------------------------------------------------------------------ writing


def _locators(parent: Path, child_dir: Path, start: int) -> tuple[list[Locator], bytes]:
    """libvhd vhd_parent_locator_write for MacX, W2ku and W2ru: relative names, sector-padded data."""
    relative = os.path.relpath(parent, child_dir)
    payloads = [("file://./" + relative if not relative.startswith(".") else "file://" + relative).encode(),
                (".\\" + relative.replace("/", "\\")).encode("utf-16-le"),
                (".\\" + relative.replace("/", "\\")).encode("utf-16-le")]
    out, data, offset = [], b"", start
    for code, payload in zip(LOCATOR_CODES, payloads):
        space = _pad(len(payload))
        out.append(Locator(code, space // SECTOR, len(payload), offset))
        data += payload.ljust(space, b"\0")
        offset += space
    return out, data


def _write(path: Path, footer: Footer, header: Header, blocks, parent: Path | None) -> None:
    """Write a dynamic/differencing VHD: footer copy, header, BAT, locator data, blocks, footer.

    `blocks` yields (index, bitmap, data) for each allocated block. The file is written
    under a temporary name and renamed over `path`, so a reader never sees half of it."""
    bat_offset = FOOTER_SIZE + HEADER_SIZE
    bat_bytes = _pad(4 * header.max_bat)
    locators, locator_data = ([], b"")
    if parent is not None:
        locators, locator_data = _locators(parent, path.parent, bat_offset + bat_bytes)
    header = replace(header, table_offset=bat_offset, locators=locators)
    first_block = bat_offset + bat_bytes + len(locator_data)
    bat = [UNUSED] * header.max_bat
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.seek(first_block)
            for index, bitmap, data in blocks:
                bat[index] = fh.tell() // SECTOR
                fh.write(bitmap)
                fh.write(data)
            footer = replace(footer, data_offset=FOOTER_SIZE)
            raw_footer = footer.pack()
            fh.write(raw_footer)
            fh.seek(0)
            fh.write(raw_footer)
            fh.write(header.pack())
            fh.write(struct.pack(f">{header.max_bat}I", *bat).ljust(bat_bytes, b"\xff"))
            fh.write(locator_data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def create(path: str | Path, size: int, parent: str | Path | None = None, now: float | None = None) -> Info:
    """A new empty VHD of `size` bytes (tapdisk's create), or, with `parent`, an empty
    differencing child of it (vhd-util snapshot), of the parent's size unless `size` is larger."""
    path = Path(path)
    if path.exists():
        raise VhdError(f"{path} exists")
    stamp = now_stamp(now)
    header = Header()
    disk_type = DYNAMIC
    parent_path = None
    if parent is not None:
        parent_path = Path(parent)
        pinfo = _Vhd(parent_path)
        size = max(size, pinfo.footer.current_size)
        header = replace(header, parent_uuid=pinfo.footer.uuid, parent_timestamp=pinfo.footer.timestamp,
                         parent_name=parent_path.name)
        disk_type = DIFFERENCING
    header = replace(header, max_bat=_bat_entries(size))
    footer = Footer(timestamp=stamp, original_size=size, current_size=size, geometry=geometry(size),
                    disk_type=disk_type, uuid=uuidlib.uuid4().bytes)
    _write(path, footer, header, iter(()), parent_path)
    return info(path)


def _rewrite(path: Path, footer: Footer | None = None, header: Header | None = None,
             parent: Path | None | bool = True, extra_blocks: dict | None = None) -> None:
    """Rewrite `path` with a new footer/header/parent, its blocks copied (and `extra_blocks`
    merged in: {index: (bitmap, data)} that replace or fill blocks)."""
    vhd = _Vhd(path)
    if vhd.header is None:
        raise VhdError(f"{path} is not a dynamic or differencing VHD")
    footer = footer or vhd.footer
    header = header or vhd.header
    if parent is True:
        parent = vhd.locator_path()
    if header.max_bat < len(vhd.bat):
        header = replace(header, max_bat=len(vhd.bat))
    merged = dict(extra_blocks or {})

    def blocks(fh):
        for index in range(header.max_bat):
            if index in merged:
                yield (index, *merged[index])
                continue
            block = vhd.read_block(fh, index)
            if block is not None:
                yield (index, *block)

    with open(path, "rb") as fh:
        _write(path, footer, header, blocks(fh), parent if parent else None)


def set_parent(path: str | Path, parent: str | Path) -> None:
    """`vhd-util modify -n path -p parent`: point a differencing disk at another parent file."""
    path, parent = Path(path), Path(parent)
    vhd = _Vhd(path)
    pvhd = _Vhd(parent)
    footer = replace(vhd.footer, disk_type=DIFFERENCING)
    header = replace(vhd.header, parent_uuid=pvhd.footer.uuid, parent_timestamp=pvhd.footer.timestamp,
                     parent_name=parent.name)
    _rewrite(path, footer, header, parent)


def set_hidden(path: str | Path, hidden: bool = True) -> None:
    """`vhd-util set -f hidden`: the libvhd flag that keeps a base copy out of scans."""
    path = Path(path)
    vhd = _Vhd(path)
    raw = replace(vhd.footer, hidden=int(hidden)).pack()
    with open(path, "r+b") as fh:
        fh.seek(vhd.size - FOOTER_SIZE)
        fh.write(raw)
        fh.seek(0)
        fh.write(raw)


def resize(path: str | Path, size: int) -> None:
    """`vhd-util resize`: a larger virtual size (the BAT grows with it)."""
    path = Path(path)
    vhd = _Vhd(path)
    footer = replace(vhd.footer, current_size=size, geometry=geometry(size))
    header = replace(vhd.header, max_bat=max(vhd.header.max_bat, _bat_entries(size)))
    _rewrite(path, footer, header)


def _merge(bitmap_lo: bytes, data_lo: bytes, bitmap_hi: bytes, data_hi: bytes) -> tuple[bytes, bytes]:
    """A block with the sectors `hi` holds laid over those of `lo` (bitmaps OR-ed)."""
    out = bytearray(data_lo)
    for sector in range(len(data_hi) // SECTOR):
        if bitmap_hi[sector // 8] & (0x80 >> (sector % 8)):
            out[sector * SECTOR:(sector + 1) * SECTOR] = data_hi[sector * SECTOR:(sector + 1) * SECTOR]
    return bytes(a | b for a, b in zip(bitmap_lo, bitmap_hi)), bytes(out)


def coalesce(child: str | Path) -> Path:
    """`vhd-util coalesce -n child`: write the child's blocks into its parent; returns the parent."""
    child = Path(child)
    cvhd = _Vhd(child)
    parent = cvhd.locator_path()
    if parent is None:
        raise VhdError(f"{child} has no parent")
    pvhd = _Vhd(parent)
    merged = {}
    with open(child, "rb") as cfh, open(parent, "rb") as pfh:
        for index in range(len(cvhd.bat)):
            block = cvhd.read_block(cfh, index)
            if block is None:
                continue
            below = pvhd.read_block(pfh, index) or (b"\0" * len(block[0]), b"\0" * len(block[1]))
            merged[index] = _merge(*below, *block)
    size = max(pvhd.footer.current_size, cvhd.footer.current_size)
    footer = replace(pvhd.footer, current_size=size, geometry=geometry(size))
    header = replace(pvhd.header, max_bat=max(pvhd.header.max_bat, _bat_entries(size)))
    _rewrite(parent, footer, header, extra_blocks=merged)
    return parent


def write_block(path: str | Path, index: int, data: bytes) -> None:
    """Write one whole block (every sector marked present): test data and guest-less fills."""
    path = Path(path)
    vhd = _Vhd(path)
    bitmap = b"\xff" * (vhd.header.block_size // SECTOR // 8)
    bitmap = bitmap.ljust(_bitmap_size(vhd.header.block_size), b"\0")
    _rewrite(path, extra_blocks={index: (bitmap, data.ljust(vhd.header.block_size, b"\0"))})


def _chain_block(path: Path, index: int) -> tuple[bytes, bytes] | None:
    """Block `index` as the guest sees it through the chain (leaf sectors over parents'), or None."""
    layers = []
    current: Path | None = Path(path)
    seen = set()
    while current is not None and current.exists() and current not in seen:
        seen.add(current)
        vhd = _Vhd(current)
        with open(current, "rb") as fh:
            block = vhd.read_block(fh, index)
        if block is not None:
            layers.append(block)
        current = vhd.locator_path() if vhd.footer.disk_type == DIFFERENCING else None
    if not layers:
        return None
    bitmap, data = layers[-1]
    for upper in reversed(layers[:-1]):
        bitmap, data = _merge(bitmap, data, *upper)
    return bitmap, data


def read_sectors(path: str | Path, offset: int, length: int) -> bytes:
    """The guest-visible bytes at `offset` (through the chain, as tapdisk reads them)."""
    path = Path(path)
    bs = _Vhd(path).header.block_size
    out = bytearray()
    pos = offset
    while pos < offset + length:
        index, within = divmod(pos, bs)
        take = min(bs - within, offset + length - pos)
        block = _chain_block(path, index)
        out += block[1][within:within + take] if block else bytes(take)
        pos += take
    return bytes(out)


def copy_content(source: str | Path, target: str | Path) -> None:
    """What sparse_dd does for VDI.copy: the source's content (through its chain) into `target`."""
    source, target = Path(source), Path(target)
    svhd = _Vhd(source)
    blocks = {}
    for index in range(_bat_entries(svhd.footer.current_size, svhd.header.block_size)):
        block = _chain_block(source, index)
        if block is not None:
            blocks[index] = block
    tvhd = _Vhd(target)
    size = max(tvhd.footer.current_size, svhd.footer.current_size)
    footer = replace(tvhd.footer, current_size=size, geometry=geometry(size))
    header = replace(tvhd.header, max_bat=max(tvhd.header.max_bat, _bat_entries(size)))
    _rewrite(target, footer, header, extra_blocks=blocks)
