"""The review file NAME.align.json: its format, loading and saving, and the edits a reviewer makes.

This module owns the state of a review and nothing else (no HTTP, no page). A ``Review`` holds
the document's sentences per language (id, text, paragraph), its beads in Chinese order with a
status each, a revision number and an undo history. Every edit is a pure function
``apply(review, edit) -> Review`` that returns a new review or raises ``EditError``; the result is
checked (``check``) before anyone sees it: each Chinese and each English sentence is in exactly
one bead, no bead is empty, and a join, a move or a link leaves the sentences of each side of the
new bead contiguous.

An edited bead gets ``status`` "edited" and ``score`` None: its calibrated score belonged to the
aligner's grouping, not to the reviewer's. Confirming a bead keeps its score and sets "confirmed".

The file (JSON, UTF-8)::

    {"format": "zhen-align-review", "version": 1, "name": "press", "source": "press.txt",
     "revision": 3,
     "zh": [{"id": 0, "text": "…", "para": 0}, …], "en": [ … ],
     "beads": [{"zh_ids": [0], "en_ids": [0, 1], "score": 0.93, "moved": false,
                "status": "automatic"}, …],
     "history": [{"op": "join", "beads": [ …the beads before that edit… ]}, …]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError
from ..io.read import read_bytes
from ..io.write import atomic_write
from ..model import (LOW_SCORE, Alignment, Bead, Document, Pair, Sentence, chinese_order, join_en, join_zh,
                     low_confidence)

FORMAT = "zhen-align-review"
VERSION = 1
SUFFIX = ".align.json"
STATUSES = ("automatic", "confirmed", "edited")
OPS = ("confirm", "join", "split", "move", "unlink", "link", "undo")
HISTORY_LIMIT = 200  # undo steps kept in the file


class EditError(Exception):
    """An edit that is refused; ``status`` is the HTTP code (400: malformed, 409: not allowed now)."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ReviewBead:
    """A bead under review: ids are 0-based positions in the document's sentence lists."""

    zh_ids: tuple[int, ...]
    en_ids: tuple[int, ...]
    score: float | None = None
    moved: bool = False
    status: str = "automatic"

    @property
    def two_sided(self) -> bool:
        return bool(self.zh_ids) and bool(self.en_ids)

    @property
    def kind(self) -> str:
        return f"{len(self.zh_ids)}-{len(self.en_ids)}"

    def needs_review(self) -> list[str]:
        """Why a person should look at this bead: "low" (score < 0.5), "moved", "one-sided"."""
        why = []
        if not self.two_sided:
            why.append("one-sided")
        elif low_confidence(self) and self.status != "edited":  # an edited pair's score is a person's: none
            why.append("low")
        if self.moved and self.two_sided:
            why.append("moved")
        return why

    def side(self, side: str) -> tuple[int, ...]:
        return self.zh_ids if side == "zh" else self.en_ids

    def with_side(self, side: str, ids) -> "ReviewBead":
        ids = tuple(ids)
        return replace(self, zh_ids=ids) if side == "zh" else replace(self, en_ids=ids)

    def to_json(self) -> dict:
        return {"zh_ids": list(self.zh_ids), "en_ids": list(self.en_ids), "score": self.score,
                "moved": self.moved, "status": self.status}


@dataclass(frozen=True)
class Review:
    """One document under review: what NAME.align.json holds."""

    name: str
    zh: tuple[Sentence, ...]
    en: tuple[Sentence, ...]
    beads: tuple[ReviewBead, ...]
    source: str = ""
    revision: int = 0
    history: tuple[dict, ...] = field(default_factory=tuple)  # {"op": str, "beads": [bead json, ...]}

    def text(self, bead: ReviewBead) -> tuple[str, str]:
        return (join_zh(self.zh[i].text for i in bead.zh_ids), join_en(self.en[i].text for i in bead.en_ids))

    def pairs(self, confirmed_only: bool = False) -> list[Pair]:
        """The corrected memory: one ``Pair`` per bead, with its status (for the writers)."""
        out = []
        for b in self.beads:
            if confirmed_only and b.status != "confirmed":
                continue
            zh, en = self.text(b)
            out.append(Pair(zh, en, list(b.zh_ids), list(b.en_ids), b.score, b.kind, b.status))
        return out

    def counts(self) -> dict:
        """What the page shows at the top: pairs, to review (automatic beads that need it),
        confirmed, edited."""
        return {"pairs": sum(1 for b in self.beads if b.two_sided),
                "beads": len(self.beads),
                "to_review": sum(1 for b in self.beads if b.status == "automatic" and b.needs_review()),
                "confirmed": sum(1 for b in self.beads if b.status == "confirmed"),
                "edited": sum(1 for b in self.beads if b.status == "edited")}


# ---------------------------------------------------------------- building, loading, saving

def from_alignment(alignment: Alignment) -> Review:
    """A fresh review of an aligner's result: every bead "automatic", in Chinese order."""
    doc = alignment.doc
    beads = tuple(ReviewBead(tuple(b.zh_ids), tuple(b.en_ids), b.score if b.two_sided else None,
                             bool(b.moved and b.two_sided)) for b in chinese_order(list(alignment.beads)))
    review = Review(doc.name, tuple(doc.zh), tuple(doc.en), beads, doc.source)
    check(review)
    return review


def to_alignment(review: Review) -> Alignment:
    """The review as an ``Alignment`` (the document rebuilt from its sentences)."""
    doc = Document(review.name, _paras(review.zh), _paras(review.en), list(review.zh), list(review.en),
                   review.source)
    return Alignment(doc, [Bead(list(b.zh_ids), list(b.en_ids), b.score, b.moved) for b in review.beads])


def _paras(sentences) -> list[str]:
    paras: dict[int, list[str]] = {}
    for s in sentences:
        paras.setdefault(s.para, []).append(s.text)
    return [" ".join(v) for _, v in sorted(paras.items())]


def to_json(review: Review) -> dict:
    def sents(side):
        return [{"id": i, "text": s.text, "para": s.para} for i, s in enumerate(side)]

    return {"format": FORMAT, "version": VERSION, "name": review.name, "source": review.source,
            "revision": review.revision, "zh": sents(review.zh), "en": sents(review.en),
            "beads": [b.to_json() for b in review.beads], "history": list(review.history)}


def dumps(review: Review) -> bytes:
    return (json.dumps(to_json(review), ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def save(review: Review, path: Path) -> None:
    """Write the review atomically (a temporary file beside it, then os.replace)."""
    atomic_write(Path(path), dumps(review))


def _bead_from_json(item, where: str) -> ReviewBead:
    if not isinstance(item, dict):
        raise InputError(f"{where}: a bead is not an object")
    try:
        zh, en = item.get("zh_ids", []), item.get("en_ids", [])
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in list(zh) + list(en)):
            raise TypeError
        score = item.get("score")
        if score is not None and not isinstance(score, (int, float)):
            raise TypeError
        status = item.get("status", "automatic")
        if status not in STATUSES:
            raise InputError(f"{where}: unknown bead status {status!r}")
        return ReviewBead(tuple(zh), tuple(en), None if score is None else float(score),
                          bool(item.get("moved", False)), status)
    except TypeError:
        raise InputError(f"{where}: a bead has bad ids or score") from None


def from_json(data, where: str = "review") -> Review:
    """A review from parsed JSON; an ``InputError`` says what is wrong with it."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{where}: not an align review file (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise InputError(f"{where}: review format version {data.get('version')!r}; this align reads {VERSION}")
    try:
        zh = tuple(Sentence(str(s["text"]), int(s.get("para", 0))) for s in data["zh"])
        en = tuple(Sentence(str(s["text"]), int(s.get("para", 0))) for s in data["en"])
        beads = tuple(_bead_from_json(b, where) for b in data["beads"])
        history = tuple(h for h in data.get("history", []) if isinstance(h, dict) and isinstance(h.get("beads"), list))
        review = Review(str(data.get("name") or "review"), zh, en, beads, str(data.get("source") or ""),
                        int(data.get("revision", 0)), history)
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{where}: malformed review file ({type(e).__name__}: {e})") from None
    try:
        check(review)
    except EditError as e:
        raise InputError(f"{where}: inconsistent review file: {e}") from None
    return review


def load(path: Path) -> Review:
    """Read NAME.align.json; a missing, unreadable or malformed file is an ``InputError``."""
    path = Path(path)
    try:
        data = json.loads(read_bytes(path).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None
    return from_json(data, str(path))


def review_path(name: str, folder: Path) -> Path:
    return Path(folder) / f"{name}{SUFFIX}"


def is_review_file(path: Path) -> bool:
    return Path(path).name.endswith(SUFFIX)


def same_text(review: Review, doc: Document) -> bool:
    """Whether ``review`` was made from the sentences of ``doc`` (so its corrections still apply)."""
    return ([s.text for s in review.zh] == [s.text for s in doc.zh]
            and [s.text for s in review.en] == [s.text for s in doc.en])


# ---------------------------------------------------------------- checking

def check(review: Review) -> None:
    """Every Chinese and every English sentence in exactly one bead, no empty bead, known statuses."""
    for side, sentences in (("zh", review.zh), ("en", review.en)):
        seen: dict[int, int] = {}
        for pos, b in enumerate(review.beads):
            for i in b.side(side):
                if not 0 <= i < len(sentences):
                    raise EditError(f"{_lang(side)} sentence #{i} does not exist")
                if i in seen:
                    raise EditError(f"{_lang(side)} sentence #{i} would be in two beads ({seen[i] + 1} and {pos + 1})")
                seen[i] = pos
        missing = [i for i in range(len(sentences)) if i not in seen]
        if missing:
            raise EditError(f"{_lang(side)} sentence #{missing[0]} would be in no bead")
    for pos, b in enumerate(review.beads):
        if not b.zh_ids and not b.en_ids:
            raise EditError(f"bead {pos + 1} would be empty")
        if b.status not in STATUSES:
            raise EditError(f"bead {pos + 1}: unknown status {b.status!r}")


def _lang(side: str) -> str:
    return "Chinese" if side == "zh" else "English"


def _contiguous(ids) -> bool:
    ids = sorted(ids)
    return all(b == a + 1 for a, b in zip(ids, ids[1:]))


def _need_contiguous(bead: ReviewBead, what: str) -> None:
    for side in ("zh", "en"):
        ids = bead.side(side)
        if not _contiguous(ids):
            gap = next(b for a, b in zip(sorted(ids), sorted(ids)[1:]) if b != a + 1)
            raise EditError(f"cannot {what}: the {_lang(side)} sentences would not be adjacent "
                            f"(#{' #'.join(str(i) for i in sorted(ids))}; a gap before #{gap})")


# ---------------------------------------------------------------- edits

def _int(edit: dict, key: str, low: int, high: int, what: str) -> int:
    value = edit.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise EditError(f"{edit.get('op')}: {key!r} must be a whole number", 400)
    if not low <= value <= high:
        raise EditError(f"{edit.get('op')}: no {what} {value}", 400)
    return value


def _side(edit: dict) -> str:
    side = edit.get("side")
    if side not in ("zh", "en"):
        raise EditError(f"{edit.get('op')}: 'side' must be \"zh\" or \"en\"", 400)
    return side


def _edited(bead: ReviewBead, **changes) -> ReviewBead:
    return replace(bead, score=None, status="edited", **changes)


def _confirm(beads: list[ReviewBead], i: int, edit: dict, op: str) -> None:
    if beads[i].status == "confirmed":
        raise EditError(f"bead {i + 1} is already confirmed")
    beads[i] = replace(beads[i], status="confirmed")


def _join(beads: list[ReviewBead], i: int, edit: dict, op: str) -> None:
    """join: bead i and i+1 become one; link: the same for one Chinese-only and one English-only bead."""
    if i + 1 >= len(beads):
        raise EditError(f"cannot {op}: bead {i + 1} is the last one")
    b, c = beads[i], beads[i + 1]
    if op == "link":
        kinds = {("zh" if x.zh_ids else "en") for x in (b, c) if not x.two_sided}
        if b.two_sided or c.two_sided or kinds != {"zh", "en"}:
            raise EditError(f"cannot link: beads {i + 1} and {i + 2} must be one Chinese-only and one "
                            "English-only bead")
    merged = _edited(b, zh_ids=tuple(sorted(b.zh_ids + c.zh_ids)), en_ids=tuple(sorted(b.en_ids + c.en_ids)),
                     moved=(b.moved or c.moved) if op == "join" else False)
    _need_contiguous(merged, op)
    beads[i:i + 2] = [merged]


def _split(beads: list[ReviewBead], i: int, edit: dict, op: str) -> None:
    b = beads[i]
    a = _int(edit, "zh_at", 0, len(b.zh_ids), "Chinese position")
    e = _int(edit, "en_at", 0, len(b.en_ids), "English position")
    first = _edited(b, zh_ids=b.zh_ids[:a], en_ids=b.en_ids[:e])
    second = _edited(b, zh_ids=b.zh_ids[a:], en_ids=b.en_ids[e:])
    if not (first.zh_ids or first.en_ids) or not (second.zh_ids or second.en_ids):
        raise EditError(f"cannot split bead {i + 1} there: one part would be empty")
    beads[i:i + 1] = [first, second]


def _move(beads: list[ReviewBead], i: int, edit: dict, op: str) -> None:
    b = beads[i]
    side = _side(edit)
    to = edit.get("to")
    if to not in ("prev", "next"):
        raise EditError("move: 'to' must be \"prev\" or \"next\"", 400)
    ids = b.side(side)
    if not ids:
        raise EditError(f"cannot move: bead {i + 1} has no {_lang(side)} sentence")
    j = i - 1 if to == "prev" else i + 1
    if not 0 <= j < len(beads):
        raise EditError(f"cannot move: bead {i + 1} has no {'previous' if to == 'prev' else 'next'} bead")
    sid = ids[0] if to == "prev" else ids[-1]
    target = beads[j]
    beads[j] = _edited(target).with_side(side, tuple(sorted(target.side(side) + (sid,))))
    _need_contiguous(beads[j], "move")
    left = _edited(b).with_side(side, ids[1:] if to == "prev" else ids[:-1])
    beads[i] = left
    if not left.zh_ids and not left.en_ids:
        del beads[i]


def _unlink(beads: list[ReviewBead], i: int, edit: dict, op: str) -> None:
    b = beads[i]
    side = _side(edit)
    sid = edit.get("id")
    ids = b.side(side)
    if sid not in ids or isinstance(sid, bool):
        raise EditError(f"unlink: {_lang(side)} sentence {sid!r} is not in bead {i + 1}", 400)
    if not b.two_sided and len(ids) == 1:
        raise EditError(f"{_lang(side)} sentence #{sid} is already on its own")
    if sid not in (ids[0], ids[-1]):
        raise EditError(f"cannot unlink {_lang(side)} sentence #{sid}: it is inside the pair; split the "
                        "pair first or unlink the sentences at its ends")
    alone = _edited(ReviewBead((sid,), ()) if side == "zh" else ReviewBead((), (sid,)))
    rest = _edited(b, moved=b.moved and len(ids) > 1).with_side(side, tuple(x for x in ids if x != sid))
    beads[i:i + 1] = [alone, rest] if sid == ids[0] and len(ids) > 1 else [rest, alone]


_EDITS = {"confirm": _confirm, "join": _join, "link": _join, "split": _split, "move": _move, "unlink": _unlink}


def apply(review: Review, edit: dict) -> Review:
    """The review after ``edit`` (a dict: "op" and its arguments, see below), checked; or EditError.

    Bead positions are 0-based indexes into ``review.beads``. If the edit names a "revision",
    it must be the review's (an edit made on a page showing an older state is refused).

    * ``{"op": "confirm", "bead": i}`` — the pair is right as it is.
    * ``{"op": "join", "bead": i}`` — bead i and bead i+1 become one.
    * ``{"op": "split", "bead": i, "zh_at": a, "en_at": b}`` — the first a Chinese and first b
      English sentences stay, the rest become a new bead after it.
    * ``{"op": "move", "bead": i, "side": "zh"|"en", "to": "prev"|"next"}`` — the first (prev) or
      last (next) sentence of that side goes to the neighbouring bead.
    * ``{"op": "unlink", "bead": i, "side": s, "id": k}`` — sentence k (first or last of its side)
      leaves the pair and stands alone, before or after it.
    * ``{"op": "link", "bead": i}`` — bead i and bead i+1, one Chinese-only and one English-only,
      become one pair.
    * ``{"op": "undo"}`` — back to the state before the last edit.
    """
    if not isinstance(edit, dict):
        raise EditError("an edit must be a JSON object", 400)
    op = edit.get("op")
    if op not in OPS:
        raise EditError(f"unknown edit {op!r}; one of {', '.join(OPS)}", 400)
    rev = edit.get("revision")
    if rev is not None and rev != review.revision:
        raise EditError(f"the alignment changed since this page loaded it (revision {rev}, now "
                        f"{review.revision}); reload the page")
    if op == "undo":
        if not review.history:
            raise EditError("nothing to undo")
        last = review.history[-1]
        beads = tuple(_bead_from_json(b, "history") for b in last["beads"])
        new = replace(review, beads=beads, history=review.history[:-1], revision=review.revision + 1)
        check(new)
        return new
    beads = list(review.beads)
    i = _int(edit, "bead", 0, len(beads) - 1, "bead")
    _EDITS[op](beads, i, edit, op)
    beads = [replace(x, moved=False) if x.moved and not x.two_sided else x for x in beads]
    new_history = (review.history + ({"op": op, "beads": [x.to_json() for x in review.beads]},))[-HISTORY_LIMIT:]
    new = replace(review, beads=tuple(beads), revision=review.revision + 1, history=new_history)
    check(new)
    return new


# ---------------------------------------------------------------- what the page shows

def view(review: Review) -> dict:
    """The JSON the page renders: sentences, beads with their review reasons, counts, revision."""
    beads = []
    for b in review.beads:
        item = b.to_json()
        item["kind"] = b.kind
        item["review"] = b.needs_review()
        beads.append(item)
    return {"name": review.name, "source": review.source, "revision": review.revision,
            "can_undo": bool(review.history), "undo_op": review.history[-1]["op"] if review.history else None,
            "zh": [{"id": i, "text": s.text, "para": s.para} for i, s in enumerate(review.zh)],
            "en": [{"id": i, "text": s.text, "para": s.para} for i, s in enumerate(review.en)],
            "beads": beads, "counts": review.counts(), "low": LOW_SCORE}
