"""Read a file into clean text: detect its encoding, normalise line ends and spaces, drop converter debris.

Nothing else is changed: every sentence keeps its text exactly as written.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from . import formats
from .encoding import OLE, decode, looks_binary

SUFFIXES = {".txt", ".text", ""} | formats.DOCX_SUFFIXES | formats.HTML_SUFFIXES  # what read_text reads

# Debris that Word/PDF converters leave in exported text.
_DEBRIS = re.compile(r"\[bookmark: [^\]]*\]|\[(?:image|picture): [^\]]*\]", re.I)
# No-break, thin, ideographic-free "odd" spaces become a plain space; zero-width ones vanish.
_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f]")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")

# Characters XML 1.0 forbids (C0 controls except tab/newline) and other control debris.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise(text: str) -> str:
    """Normalise line ends and spaces and remove converter debris; keep everything else."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _DEBRIS.sub("", text)
    text = _ZERO_WIDTH.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _CONTROL.sub("", text)
    return text


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes; a missing, unreadable or folder path is an ``InputError`` (one line)."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None
    except PermissionError:
        raise InputError(f"{path}: cannot be read (permission denied)") from None
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or e})") from None


def read_text(path: str | Path) -> str:
    """Read a file into normalised text: plain text of any common encoding, .docx or .html/.htm (by suffix)."""
    path = Path(path)
    try:
        special = path.exists() and not path.is_dir() and not path.is_file()
    except OSError:
        special = False  # read_bytes below says what is wrong
    if special:  # a FIFO, socket or device: reading it could block forever or never end
        raise InputError(f"{path}: is not a regular file (a pipe or device?); give a text file")
    data = read_bytes(path)
    if data.startswith(b"%PDF"):
        raise InputError(f"{path}: is a PDF, not text; save it as text or .docx first")
    if data.startswith(b"PK\x03\x04") and path.suffix.lower() != ".docx":
        raise InputError(f"{path}: is a zip/Office file, not text; name it .docx if it is a Word file")
    suffix = path.suffix.lower()
    if data.startswith(OLE) and "EncryptedPackage".encode("utf-16-le") in data:
        raise InputError(f"{path}: is a password-protected Office file; remove the password "
                         "(in Word: File > Info > Protect Document) and save it again")
    if suffix in formats.DOCX_SUFFIXES:
        return normalise(formats.docx_text(data, str(path)))
    if suffix in formats.HTML_SUFFIXES:
        return normalise(formats.html_text(data, str(path)))
    if looks_binary(data):
        raise InputError(f"{path}: is binary data, not text")
    return normalise(decode(data, str(path)))
