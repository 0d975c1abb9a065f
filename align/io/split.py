"""Split paragraphs into sentences.

Chinese: our own rules (after 。！？!? and ……, closing quotes and brackets stay
with their sentence, never on an ASCII period). English: pysbd, a maintained
rule-based splitter, plus fixes for what it gets wrong in press releases
(``Co.Ltd. launched``, ``Co.,Ltd., Education``, initials, honorifics).
Every character of a paragraph ends up in exactly one sentence (except the
spaces between sentences), so no text is ever lost.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..model import Sentence

_ZH_END = re.compile(
    r"(?:[。！？!?]+|…{1,}|\.{3,})"  # sentence-final punctuation (clusters count once)
    r"(?:[”’」』）》\"')\]】]|\s+(?=[”’」』）》】]))*"  # closing quotes and brackets stay with their
    r"(?:(?<=[。！？!?”」』])\s*…+)?"  # sentence, also when a stray space stands before them, and so does an
)  # ellipsis right after its stop ("…传奇中的传奇。” ……": MAC-Dev's gold, 2 of 2)
# An English abbreviation after which a capitalised word does not start a new sentence.
_NO_BREAK_AFTER = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|No|Nos|Vol|Fig|Art|Sec|Gen|Col|Lt|Sgt|Rev|Hon|Jr|Sr|vs|approx|ca|cf|Co|Messrs|Mt|Ft|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
    r"|(?:^|[\s(])[A-HJ-Z]|(?:[A-Za-z]\.){1,}[A-Za-z])\.$"
)
_ANY_END = re.compile(r"[.!?;。！？…]")  # pysbd can only split after one of these
# Inside a pysbd segment: a stop (and closing quotes) then a capitalised word, perhaps opening a
# quote, is a sentence end too, unless _glue vetoes it (SRX-style; pysbd keeps quoted speech whole,
# 'Well! Surrender?', and takes "I." for an initial).
_QUOTED_END = re.compile(r"(?<=[.!?…—–][\'\"”’])\s+(?=[\'\"“‘]?[A-Z])|(?<=[.!?])\s+(?=[\'\"“‘]?[A-Z])"
                         r"|(?<=[–—][\'\"”’])\s+(?=[\'\"“‘][A-Z])")  # 'Too-tah –' 'Poo-pah –'
_CLOSING = "'\"”’"
# Heading and list markers (white papers, laws, reports). A marker alone is never a sentence: "II.",
# "3.", "3.1", "IV.", "(a)", "A.", "Article 3", "Chapter IV", "No. 5" stay with the title they number.
_MARKER = (r"(?:[IVXLCDM]+|\d+(?:\.\d+)*|[A-Za-z]|\((?:[A-Za-z]|[ivxlcdm]+|\d{1,3})\)"
           r"|(?:Article|Chapter|Section|Part|Item|Annex|Appendix|No)\.?\s+(?:\d+|[IVXLCDM]+))")
_MARKER_ONLY = re.compile(rf"^{_MARKER}[.)]?$", re.I)
# A line that starts with one ("II. Title", "3.1 Title", "(a) …", "Article 3 …"): a heading or list item.
HEADING_START = re.compile(r"^(?:[IVXLCDM]+\.|\d+(?:\.\d+)*\.(?=\s|[A-Z])|\d+(?:\.\d+)+(?=\s)|\((?:[A-Za-z]|[ivxlcdm]+|\d{1,3})\)"
                           r"|(?:Article|Chapter|Section|Part|Annex|Appendix)\s+(?:\d+|[IVXLCDM]+)\b)\s*\S")
_ENUMERATION = re.compile(r"^\((?:[a-z]|[ivx]+|\d{1,2})\)\s")  # "(b) …" inside a sentence
_STOPPED = re.compile(r"[.!?…][\'\"”’)\]]*\s*$")  # a sentence that has ended
_DASH_QUOTES = re.compile(r"(?<=——[”」])\s*(?=[“「])")  # “咚——咚——”“猛捅——”: two utterances
_MAX_CHUNK = 2000  # characters: longer stretches without any stop are cut at spaces for the splitter


def split_zh(paragraph: str) -> list[str]:
    """Split a Chinese paragraph into sentences.

    An ellipsis ends a sentence, except inside an open quotation (“您能…… 说具体些吗？”) or
    at the start of a paragraph ("……他们又谈了一会儿"); right after a stop it ends that
    sentence ("传奇中的传奇。” ……", as MAC-Dev's gold has it); a quotation that ends in a dash and is
    followed at once by another (“咚——咚——”“猛捅——”) ends one too."""
    out, start = [], 0
    depth, seen = 0, 0  # open quotations before paragraph[seen], counted as the matches go
    for m in _ZH_END.finditer(paragraph):
        end = m.end()
        # "?" or "!" inside Latin text (e.g. "Yahoo!") or "..." between digits is not an end.
        if m.group(0)[0] in "!?." and end < len(paragraph) and re.match(r"[A-Za-z0-9]", paragraph[end]):
            continue
        if m.group(0)[0] in "….":
            span = paragraph[seen:m.start()]
            depth += span.count("“") + span.count("「") - span.count("”") - span.count("」")
            seen = m.start()
            closes = any(c in m.group(0) for c in "”」』")
            if not paragraph[start:m.start()].strip() or (not closes and depth > 0):
                continue
        piece = paragraph[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    rest = paragraph[start:].strip()
    if rest:
        out.append(rest)
    return [part for piece in out for part in _DASH_QUOTES.split(piece) if part]


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _glue(prev: str, nxt: str) -> bool:
    """Should ``nxt`` be glued back onto ``prev``?"""
    if not nxt:
        return True
    first = nxt[0]
    if first.islower() or first in ",;:)]}%-–—":
        return True
    if _MARKER_ONLY.match(prev.strip()):  # "II." / "3." + "Title": a heading, one sentence
        return True
    if _ENUMERATION.match(nxt) and not _STOPPED.search(prev):  # "Goals: (a) …; (b) …; and (c) …."
        return True
    if not nxt.strip(". …"):  # a spaced ellipsis ". . . ." ends the sentence before it
        return True
    return bool(_NO_BREAK_AFTER.search(prev.rstrip()))


def _chunks(paragraph: str) -> list[str]:
    """Cut very long stretches without full stops so the rule splitter stays fast."""
    if len(paragraph) <= _MAX_CHUNK:
        return [paragraph]
    out, start = [], 0
    while len(paragraph) - start > _MAX_CHUNK:
        cut = paragraph.rfind(". ", start, start + _MAX_CHUNK)
        if cut <= start:
            cut = paragraph.rfind(" ", start, start + _MAX_CHUNK)
        if cut <= start:
            cut = start + _MAX_CHUNK - 1
        out.append(paragraph[start:cut + 1])
        start = cut + 1
    out.append(paragraph[start:])
    return out


def split_en(paragraph: str) -> list[str]:
    """Split an English paragraph into sentences (each exactly as it stands in the paragraph)."""
    spans: list[list[int]] = []  # [start, end) in the paragraph
    pos = 0
    for chunk in _chunks(paragraph):
        # No sentence-final punctuation at all: nothing to split (and pysbd is slow on long runs).
        pieces = _segmenter().segment(chunk) if _ANY_END.search(chunk) else [chunk]
        for piece in (part for p in pieces for part in _QUOTED_END.split(p)):
            text = piece.strip()
            if not text:
                continue
            start = paragraph.find(text, pos)
            if start < 0:  # the splitter changed the text: never lose it, keep what is left whole
                spans.append([pos, len(paragraph)])
                pos = len(paragraph)
                break
            end = start + len(text)
            if spans and _glue(paragraph[spans[-1][0]:spans[-1][1]], text):
                spans[-1][1] = end
            else:
                spans.append([start, end])
            pos = end
    if paragraph[pos:].strip():
        spans.append([pos, len(paragraph)])
    for k in range(1, len(spans)):  # "presently.' But": a closing quote left at the start of the next
        a, b = spans[k]             # sentence belongs to the one before
        while a < b and paragraph[a].isspace():
            a += 1
        q = a
        while q < b and paragraph[q] in _CLOSING:  # one quote or several: .'" stays whole
            q += 1
        if a < q < b and paragraph[q].isspace() and spans[k - 1][1] <= a:
            spans[k - 1][1], spans[k][0] = q, q
    return [paragraph[a:b].strip() for a, b in spans if paragraph[a:b].strip()]


def split(paragraphs: list[str], lang: str) -> list[Sentence]:
    """Split each paragraph; every sentence remembers its paragraph number."""
    fn = split_zh if lang == "zh" else split_en
    return [Sentence(s, p) for p, para in enumerate(paragraphs) for s in fn(para)]
