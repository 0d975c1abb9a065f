"""From a text or a file to a ``Document``: read → find the two languages → split into sentences.

* ``document_from_text(text)`` — one bilingual text (Chinese then English, English then
  Chinese, or interleaved paragraphs); ``presplit``: one sentence per line already.
* ``document_from_pair(a, b)`` — two one-language texts, in either order.
* ``load_document(path, en_path=None)`` — the same from files (any common encoding, .docx, .html),
  named by ``align.io.naming``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..model import Document, Sentence
from . import detect, read, split
from .naming import doc_name


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def document_from_text(text: str, name: str = "text", presplit: bool = False, source: str = "") -> Document:
    """Find the two languages in one bilingual text and split them into sentences."""
    text = read.normalise(text)
    if presplit:
        labels = [detect.language(line) for line in _lines(text)]
        doc = Document(name, source=source)
        last = next((lab for lab in labels if lab), "zh")
        for line, lab in zip(_lines(text), labels):
            last = lab or last
            (doc.zh if last == "zh" else doc.en).append(Sentence(line.strip(), 0))
        doc.zh_paras = [s.text for s in doc.zh]
        doc.en_paras = [s.text for s in doc.en]
    else:
        parts = detect.split_languages(text)
        if parts.layout == "neutral":
            raise InputError(f"{source or name}: no Chinese or English text found, only numbers, dates or "
                             "symbols; give the bilingual text")
        doc = Document(name, parts.zh, parts.en, split.split(parts.zh, "zh"), split.split(parts.en, "en"), source)
    _check_sides(doc, source or name)
    return doc


def document_from_pair(a: str, b: str, name: str = "text", presplit: bool = False, source: str = "") -> Document:
    """Two one-language texts in either order; the Chinese one is found by its script."""
    a, b = read.normalise(a), read.normalise(b)
    la, lb = detect.side_language(a), detect.side_language(b)
    if la is not None and la == lb:
        lang, other = ("English", "Chinese") if la == "en" else ("Chinese", "English")
        raise InputError(f"{source or name}: both files are {lang}; no {other} text found, "
                         f"give the {other} file too")
    if la == "en" or lb == "zh":
        a, b = b, a
    if presplit:
        zh = [Sentence(line.strip(), 0) for line in _lines(a)]
        en = [Sentence(line.strip(), 0) for line in _lines(b)]
        doc = Document(name, [s.text for s in zh], [s.text for s in en], zh, en, source)
    else:
        zp, ep = detect.paragraphs(a), detect.paragraphs(b)
        doc = Document(name, zp, ep, split.split(zp, "zh"), split.split(ep, "en"), source)
    _check_sides(doc, source or name)
    return doc


def _check_sides(doc: Document, where: str) -> None:
    # With --presplit, blank lines are (empty) sentences: a side of blank lines only is still empty.
    has_zh = any(s.text.strip() for s in doc.zh)
    has_en = any(s.text.strip() for s in doc.en)
    if not has_zh and not has_en:
        raise InputError(f"{where}: no text to align (the input is empty)")
    if not has_zh:
        raise InputError(f"{where}: no Chinese text found; give the Chinese text too (one file, or ZH_FILE EN_FILE)")
    if not has_en:
        raise InputError(f"{where}: no English text found; give the English text too (one file, or ZH_FILE EN_FILE)")


def load_document(path: str | Path, en_path: str | Path | None = None, presplit: bool = False) -> Document:
    """Read one bilingual file, or a Chinese file and an English file (either order)."""
    path = Path(path)
    if en_path is None:
        return document_from_text(read.read_text(path), doc_name(path), presplit, str(path))
    en_path = Path(en_path)
    return document_from_pair(read.read_text(path), read.read_text(en_path), doc_name(path), presplit, str(path))
