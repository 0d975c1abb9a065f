"""How documents are named: one rule for pairing files and naming their outputs.

``press.txt`` is the document ``press``; so are ``press.zh.txt`` + ``press.en.txt``,
``press_zh.docx``, ``press-EN.html`` and ``press.zh-CN.txt`` + ``press.en-US.txt``:
a language tag (``zh``/``en``, optionally with a region or script, after ``.``, ``_`` or
``-``) at the end of the file's stem is not part of the name. Outputs are ``NAME.tmx``, …
"""

from __future__ import annotations

import re
from pathlib import Path

_NAME_LANG = re.compile(r"^(?P<base>.+?)[._-](?P<lang>zh|en)(?:[-_][A-Za-z]{2,4})?$", re.I)


def stem(path: Path) -> str:
    """The file name without its last suffix."""
    return path.name[: -len(path.suffix)] if path.suffix else path.name


def language_tag(path: Path) -> tuple[str, str] | None:
    """(base name, "zh" or "en") when the file's stem ends in a language tag, else None."""
    m = _NAME_LANG.match(stem(path))
    return (m["base"], m["lang"].lower()) if m else None


def doc_name(path: Path) -> str:
    """The document's name: ``press.txt``, ``press.zh.txt`` and ``press.zh-CN.txt`` → ``press``."""
    tagged = language_tag(path)
    return tagged[0] if tagged else (stem(path) or path.name)
