"""Bytes to text: byte-order marks, strict UTF-8, then charset detection (GB18030, Big5, UTF-16, …).

Shared by the text reader (``align.io.read``), the HTML reader (``align.io.formats``) and the
manifest reader of a batch.
"""

from __future__ import annotations

from ..errors import InputError

_BOMS = [
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
]
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the Office binary container: old .doc/.xls, encrypted Office files


def decode(data: bytes, name: str = "input") -> str:
    """Decode bytes: BOM first, then strict UTF-8, then charset detection (GB18030, Big5, UTF-16, ...)."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(enc.replace("-sig", ""), errors="strict")
            except UnicodeDecodeError as e:
                raise InputError(f"{name}: starts like {enc.replace('-sig', '').upper()} text but byte "
                                 f"{e.start + len(bom)} is not; the file is damaged or not text") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise InputError(f"{name}: not text in any known encoding (is it a binary file?)")
    return str(best)


def looks_binary(data: bytes) -> bool:
    """True for data with NUL bytes that is not UTF-16/32 text."""
    head = data[:4096]
    if any(head.startswith(b) for b, _ in _BOMS):
        return False
    if b"\x00" not in head:
        return False
    # UTF-16 without BOM: NULs on every other byte of ASCII text.
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    half = max(1, len(head) // 2)
    return not (max(even, odd) > 0.3 * half and min(even, odd) < 0.05 * half)
