"""What happened in a run: one ``DocResult`` per document, the ``RunReport``, and its JSON.

Every count a user sees (the CLI's summary and table, ``--json``) is computed here, once:
``count`` fills a document's numbers from its pairs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..io.write import atomic_write
from ..model import LOW_SCORE, Alignment, Pair, jumped, low_confidence
from ..version import __version__


@dataclass
class DocResult:
    """What happened to one document of a run."""

    name: str
    inputs: list[Path]
    alignment: Alignment | None = None
    outputs: list[Path] = field(default_factory=list)
    error: str | None = None
    source: str = ""  # the input as the merged corpus names it
    status: str = "aligned"  # "aligned", "skipped" (outputs up to date) or "failed"
    zh_sentences: int | None = None
    en_sentences: int | None = None
    pairs: int | None = None  # two-sided beads
    low_confidence: int | None = None  # two-sided beads scored below LOW_SCORE (model.low_confidence)
    unaligned: int | None = None  # one-sided beads (a sentence in one language only)
    moved: int | None = None  # pairs out of the Chinese order (moved paragraphs in the English)
    jumped: int | None = None  # pairs linked far from their neighbours' English (model.jumped)
    below_min: int | None = None  # with --min-score: pairs scored below it (kept out of the TMX)
    kinds: dict[str, int] = field(default_factory=dict)  # beads per kind ("1-1": 12, ...), most first
    seconds: float | None = None


@dataclass
class RunReport:
    documents: list[DocResult]
    corpus: list[Path] = field(default_factory=list)  # the merged corpus.FORMAT files of a batch
    corpus_pairs: int = 0  # rows in the merged corpus
    duplicates_removed: int = 0  # exact duplicate pairs left out of it
    seconds: float | None = None
    workers: int = 1

    @property
    def failed(self) -> list[DocResult]:
        return [d for d in self.documents if d.error]


def count(result: DocResult, pairs: list[Pair] | None = None, min_score: float | None = None) -> None:
    """Fill a DocResult's counts from its pairs (default: its alignment's)."""
    a = result.alignment
    pairs = pairs if pairs is not None else (a.pairs if a else [])
    result.zh_sentences = len(a.doc.zh) if a else sum(len(p.zh_ids) for p in pairs)
    result.en_sentences = len(a.doc.en) if a else sum(len(p.en_ids) for p in pairs)
    result.pairs = sum(1 for p in pairs if p.two_sided)
    result.low_confidence = sum(1 for p in pairs if low_confidence(p))
    result.unaligned = sum(1 for p in pairs if not p.two_sided)
    result.moved = sum(1 for b in a.beads if b.two_sided and b.moved) if a else None
    result.jumped = sum(1 for b in a.beads if jumped(b)) if a else None
    result.below_min = None if min_score is None else sum(1 for p in pairs if low_confidence(p, min_score))
    kinds: dict[str, int] = {}
    for p in pairs:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    result.kinds = dict(sorted(kinds.items(), key=lambda kv: -kv[1]))


def finish_report(report: RunReport, json_report: str | Path | None = None,
                  min_score: float | None = None) -> RunReport:
    """Fill each document's counts and status, and write the JSON report when asked."""
    for r in report.documents:
        if r.error:
            r.status = "failed"
        if r.alignment is not None and r.pairs is None:
            count(r, min_score=min_score)
    if json_report is not None:
        write_report(report, json_report)
    return report


def report_dict(report: RunReport) -> dict:
    """The run as a machine-readable dict (what ``--json FILE`` writes)."""
    docs = []
    for d in report.documents:
        docs.append({
            "name": d.name, "source": d.source, "inputs": [str(p) for p in d.inputs], "status": d.status,
            "zh_sentences": d.zh_sentences, "en_sentences": d.en_sentences, "pairs": d.pairs,
            "low_confidence": d.low_confidence, "outputs": [str(p) for p in d.outputs], "error": d.error,
            "seconds": d.seconds,
        })
    counts = {s: sum(1 for d in report.documents if d.status == s) for s in ("aligned", "skipped", "failed")}
    return {
        "tool": "zhen-align", "version": __version__, "low_confidence_below": LOW_SCORE,
        "documents": docs,
        "totals": {"documents": len(docs), **counts,
                   "sentences": sum((d.zh_sentences or 0) + (d.en_sentences or 0) for d in report.documents),
                   "pairs": sum(d.pairs or 0 for d in report.documents),
                   "low_confidence": sum(d.low_confidence or 0 for d in report.documents)},
        "corpus": None if not report.corpus else {
            "outputs": [str(p) for p in report.corpus], "pairs": report.corpus_pairs,
            "duplicates_removed": report.duplicates_removed},
        "seconds": report.seconds, "workers": report.workers,
    }


def write_report(report: RunReport, path: str | Path) -> Path:
    """Write ``report_dict(report)`` as JSON to ``path`` (atomically)."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return path
