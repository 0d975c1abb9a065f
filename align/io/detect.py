"""Find the Chinese and the English parts of a bilingual text.

Works paragraph by paragraph, so Chinese-then-English, English-then-Chinese and
interleaved paragraphs all come out the same. A paragraph is a line; a line that
was hard-wrapped inside an English sentence is joined back to its paragraph.
Short neutral lines (dates, numbers, URLs, "###") go with the side around them. A heading
or list item ("II. Title", "3.1 Title", "(a) …") is never joined to the line before or after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .split import HEADING_START

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Bounded local part: "\S+@" would take quadratic time on a long line without spaces.
_URL = re.compile(r"(?:https?://|www\.)\S+|[^\s@]{1,64}@[^\s@]+\.\w+", re.I)
_WRAP = 60  # lines this long, one after another without a stop, were hard-wrapped
_END = re.compile(r"[.!?。！？…:;：；\"'”’」』）》)\]]\s*$")


@dataclass
class Parts:
    """The paragraphs of each language, in text order, and how they were laid out."""

    zh: list[str] = field(default_factory=list)
    en: list[str] = field(default_factory=list)
    layout: str = ""  # "zh-en", "en-zh", "interleaved", "zh", "en", "empty"


def language(line: str) -> str | None:
    """'zh', 'en', or None for a neutral line (no words to speak of)."""
    cjk = len(_CJK.findall(line))
    latin = len(_LATIN.findall(_URL.sub("", line)))
    if cjk == 0 and latin < 3:
        return None
    # A Chinese character carries about as much as two to three Latin letters.
    return "zh" if cjk * 3 >= latin * 0.5 else "en"


def paragraphs(text: str) -> list[str]:
    """Non-empty lines, with hard-wrapped English lines joined back together."""
    out: list[str] = []
    prev_len = 0  # length of the previous physical line; 0 after a blank line
    for raw in text.split("\n"):
        line = raw.strip()
        wrapped = len(line) >= _WRAP and prev_len >= _WRAP  # two long lines in a row: a hard wrap
        heading = bool(line) and bool(prev_len) and (HEADING_START.match(out[-1]) or HEADING_START.match(line))
        if (line and prev_len and not _END.search(out[-1]) and language(out[-1]) == "en" and not heading
                and language(line) != "zh" and (line[0].islower() or wrapped)):
            out[-1] = out[-1] + " " + line
        elif line:
            out.append(line)
        prev_len = len(line)
    return out


def split_languages(text: str) -> Parts:
    """Sort the paragraphs of one bilingual text into Chinese and English."""
    paras = paragraphs(text)
    labels = [language(p) for p in paras]
    # Neutral lines go with the side before them (or after them at the very start).
    known = [lab for lab in labels if lab]
    if not known:
        return Parts(layout="empty" if not paras else "neutral", zh=[], en=[])
    last = known[0]
    for i, lab in enumerate(labels):
        if lab is None:
            labels[i] = last
        else:
            last = lab
    parts = Parts()
    for p, lab in zip(paras, labels):
        (parts.zh if lab == "zh" else parts.en).append(p)
    runs = [labels[0]] + [b for a, b in zip(labels, labels[1:]) if a != b]
    if len(runs) == 1:
        parts.layout = runs[0]
    elif len(runs) == 2:
        parts.layout = f"{runs[0]}-{runs[1]}"
    else:
        parts.layout = "interleaved"
    return parts


def side_language(text: str) -> str | None:
    """The language most of a one-language text is in."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if cjk == 0 and latin == 0:
        return None
    return "zh" if cjk * 3 >= latin * 0.5 else "en"
