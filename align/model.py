"""Plain dataclasses passed one way through the pipeline: read → detect → split → embed → align → write."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sentence:
    """One sentence as it stands in the text (never rewritten), with its paragraph number."""

    text: str
    para: int = 0


@dataclass
class Document:
    """One bilingual document: the Chinese and English paragraphs, then their sentences."""

    name: str
    zh_paras: list[str] = field(default_factory=list)
    en_paras: list[str] = field(default_factory=list)
    zh: list[Sentence] = field(default_factory=list)
    en: list[Sentence] = field(default_factory=list)
    source: str = ""


@dataclass
class Bead:
    """A group of Chinese sentences paired with a group of English ones.

    Ids are 0-based positions in the document's sentence lists. A one-sided
    bead has an empty list on the other side and ``score`` None.
    """

    zh_ids: list[int]
    en_ids: list[int]
    score: float | None = None
    moved: bool = False  # its English stands out of the Chinese order (moves.order_marks)
    raw: float | None = None  # the aligner's own score, before calibration (align.core.calibrate)
    jump: int = 0  # English sentences between its English and its neighbours' (moves.order_marks)

    @property
    def kind(self) -> str:
        return f"{len(self.zh_ids)}-{len(self.en_ids)}"

    @property
    def two_sided(self) -> bool:
        return bool(self.zh_ids) and bool(self.en_ids)


@dataclass
class Pair:
    """A bead with its text, ready to write."""

    zh: str
    en: str
    zh_ids: list[int]
    en_ids: list[int]
    score: float | None
    kind: str
    status: str | None = None  # a reviewed pair's status (align.review); writers add it only when set
    moved: bool = False  # its English stands out of the Chinese order (Bead.moved)
    jump: int = 0  # (Bead.jump)

    @property
    def two_sided(self) -> bool:
        return bool(self.zh and self.en)


@dataclass
class Alignment:
    """The result for one document."""

    doc: Document
    beads: list[Bead]

    def text(self, bead: Bead) -> tuple[str, str]:
        return (join_zh(self.doc.zh[i].text for i in bead.zh_ids),
                join_en(self.doc.en[i].text for i in bead.en_ids))

    @property
    def pairs(self) -> list[Pair]:
        out = []
        for b in self.beads:
            zh, en = self.text(b)
            out.append(Pair(zh, en, list(b.zh_ids), list(b.en_ids), b.score, b.kind, moved=b.moved, jump=b.jump))
        return out


LOW_SCORE = 0.5  # two-sided beads scored below this are "low confidence" (summary, xlsx highlight, report)
FAR_JUMP = 5  # a pair whose English lies more English sentences than this from its neighbours' "jumps"


def low_confidence(item: "Bead | Pair", below: float = LOW_SCORE) -> bool:
    """A two-sided bead or pair that a person should check: scored below ``below``, or not scored."""
    return item.two_sided and (item.score is None or item.score < below)


def jumped(item: "Bead | Pair") -> bool:
    """A pair linked far from where its neighbours' English says it belongs (a person should check it)."""
    return item.two_sided and item.jump > FAR_JUMP


def chinese_order(beads: list[Bead]) -> list[Bead]:
    """Beads in Chinese order (stable); an English-only bead stays after the bead it followed."""
    keyed, key = [], -1
    for pos, b in enumerate(beads):
        if b.zh_ids:
            key = b.zh_ids[0]
        keyed.append((key, pos, b))
    return [b for _, _, b in sorted(keyed, key=lambda t: (t[0], t[1]))]


def join_zh(parts) -> str:
    return "".join(parts)


def join_en(parts) -> str:
    return " ".join(parts)
