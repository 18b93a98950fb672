"""Bounded reading of an upload: its bytes under the size cap, a gzip file or a one-file ZIP unpacked a chunk at a
time (so a small archive that unpacks to gigabytes costs no more than the cap), files that are not text refused
with a sentence, and the text made UTF-8 (UTF-8 with or without a BOM, UTF-16, Windows-1252 / Latin-1)."""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Protocol

from engine.data.table import DataError, fingerprint_bytes

_CHUNK = 2**20  # bytes unpacked at a time

# Magic numbers of files that analysts upload by mistake.
_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook",
    b"BM": None,  # too short to be sure; bitmap checked below
}


def _read_source(source: bytes | str | Path | BinaryIO, max_bytes: int, name: str) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if path.stat().st_size > max_bytes:
            raise DataError(_too_big(name, path.stat().st_size, max_bytes))
        raw = path.read_bytes()
    else:
        raw = source.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise DataError(_too_big(name, len(raw), max_bytes))
    return raw


def _too_big(name: str, size: int, limit: int) -> str:
    return (
        f"'{name}' is {size / 2**20:,.1f} MB, over the {limit / 2**20:,.0f} MB limit. "
        "Upload a sample of the rows, or remove columns you do not need, and try again."
    )


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _read_capped(fh: _Readable, limit: int) -> bytes | None:
    """Everything `fh` unpacks to, read a chunk at a time; None as soon as it passes `limit` bytes
    (so a small archive that unpacks to gigabytes costs the server no more than the limit)."""
    out = bytearray()
    while chunk := fh.read(_CHUNK):
        out += chunk
        if len(out) > limit:
            return None
    return bytes(out)


def _unpacks_too_big(name: str, limit: int) -> str:
    return (
        f"'{name}' unpacks to more than {limit / 2**20:,.0f} MB, the upload limit. "
        "Upload a sample of the rows, or remove columns you do not need, and try again."
    )


def _decompress(raw: bytes, name: str, max_bytes: int, notes: list[str]) -> bytes:
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            out = _read_capped(fh, max_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"'{name}' looks like a gzip file but could not be unpacked ({exc}). Upload the plain CSV instead."
        ) from None
    if out is None:
        raise DataError(_unpacks_too_big(name, max_bytes))
    notes.append(f"Unpacked gzip-compressed file ({len(raw):,} bytes → {len(out):,} bytes).")
    return out


def _unzip(raw: bytes, name: str, max_bytes: int, notes: list[str]) -> bytes:
    """A ZIP holding exactly one CSV is read; an Excel workbook or a ZIP of several files gets a sentence."""
    if not raw.startswith(b"PK\x03\x04"):
        return raw
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            members = [
                i
                for i in zf.infolist()
                if not i.is_dir()
                and not i.filename.startswith("__MACOSX/")
                and not Path(i.filename).name.startswith(".")
            ]
            names = [i.filename for i in members]
            if "[Content_Types].xml" in names or any(n.startswith("xl/") for n in names):
                raise DataError(
                    f"'{name}' is an Excel workbook, not a CSV file. In Excel use File → Save As → "
                    "CSV (comma delimited), then upload that file."
                )
            if len(members) != 1:
                listed = ", ".join(names[:4]) + ("…" if len(names) > 4 else "")
                raise DataError(
                    f"'{name}' is a ZIP archive holding {len(members)} files ({listed or 'none'}). "
                    "Unzip it and upload one CSV file."
                )
            member = members[0]
            if not member.filename.lower().endswith((".csv", ".txt", ".tsv", ".csv.gz")):
                raise DataError(
                    f"'{name}' is a ZIP archive holding '{member.filename}', which is not a CSV file. "
                    "Put a CSV file in the archive, or upload the CSV itself."
                )
            if member.file_size > max_bytes:  # the size the archive declares (it may lie: the read is capped too)
                raise DataError(_unpacks_too_big(name, max_bytes))
            with zf.open(member) as fh:
                out = _read_capped(fh, max_bytes)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        RuntimeError,
        EOFError,
        OSError,
        zlib.error,
    ) as exc:
        raise DataError(
            f"'{name}' looks like a ZIP archive but could not be unpacked ({exc}). Unzip it yourself and upload the CSV."
        ) from None
    if out is None:
        raise DataError(_unpacks_too_big(name, max_bytes))
    notes.append(f"Read '{member.filename}' from the ZIP archive.")
    return _decompress(out, member.filename, max_bytes, notes)  # a .csv.gz inside the archive


def _reject_binary(raw: bytes, name: str) -> None:
    for magic, what in _SIGNATURES.items():
        if what and raw.startswith(magic):
            raise DataError(
                f"'{name}' is {what}, not a CSV file. "
                "Export your table as CSV (comma-separated values) and upload that file."
            )
    head = raw[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(raw[:4096]):
        return  # UTF-16 text: NULs are expected
    if b"\x00" in head:
        raise DataError(
            f"'{name}' contains binary data, not text, so it is not a CSV file. "
            "Export your table as CSV (comma-separated values) and upload that file."
        )


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when every other byte of the head is NUL (UTF-16 text saved without a BOM)."""
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _to_utf8(raw: bytes, notes: list[str]) -> bytes:
    """The file's text as UTF-8 bytes (the raw bytes themselves when they already are UTF-8)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        notes.append("Read the file as UTF-16 text.")
        return raw.decode("utf-16", errors="replace").encode("utf-8")
    utf16 = _utf16_without_bom(raw[:4096])
    if utf16:
        notes.append("Read the file as UTF-16 text.")
        return raw.decode(utf16, errors="replace").encode("utf-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        notes.append("Removed the byte-order mark (BOM) that Excel puts at the start of UTF-8 files.")
        raw = raw[3:]
    try:
        raw.decode("utf-8")  # validate only; the bytes are passed on as they are
        return raw
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
        notes.append("The file is not UTF-8; read it as Windows-1252 / Latin-1 text.")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        notes.append("The file is not UTF-8; read it as Latin-1 text.")
    return text.encode("utf-8")


def read_upload(
    source: bytes | str | Path | BinaryIO, name: str, max_bytes: int, notes: list[str]
) -> tuple[bytes, str]:
    """The upload's text as UTF-8 bytes, and the fingerprint of its bytes as uploaded. DataError when it is empty,
    over `max_bytes` (as uploaded or unpacked), an archive that holds no one CSV, or not text."""
    raw = _read_source(source, max_bytes, name)
    if not raw.strip():
        raise DataError(f"'{name}' is empty. Export the table again with a header row and at least a few rows of data.")
    fingerprint = fingerprint_bytes(raw)
    raw = _decompress(raw, name, max_bytes, notes)
    raw = _unzip(raw, name, max_bytes, notes)
    _reject_binary(raw, name)
    return _to_utf8(raw, notes), fingerprint
