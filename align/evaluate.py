"""Strict / lax precision, recall and F1 of an alignment against a gold one.

The conventions are vecalign's (Sennrich & Volk 2010 as implemented by the
scorer shipped with vecalign and reused by Bertalign), so the numbers compare
with published ones:

* an alignment is a list of beads (zh ids, en ids); beads empty on both sides
  are dropped and a bead listed twice counts once;
* precision is over *all* test beads, insertions and deletions included (such
  a bead is right only if the gold has exactly the same bead);
* recall is over the gold beads with both sides non-empty, judged against the
  test beads with both sides non-empty;
* strict: the bead is in the gold exactly; lax: some zh id and some en id of
  the bead are linked by one gold bead;
* counts are pooled over documents, then P, R and F1 are taken.

Files: vecalign ``.align`` (``[0, 1]:[2]`` per line, a trailing ``:score`` is
ignored) or our JSONL (``{"zh_ids": [...], "en_ids": [...]}`` per line). A
folder is scored against a folder: gold ``NNN.align`` pairs with test
``NNN.jsonl``, ``NNN.align`` or ``NNN``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from .errors import AlignError

Bead = tuple[tuple[int, ...], tuple[int, ...]]


class EvaluateError(AlignError):
    """A gold or test alignment cannot be read."""


# ------------------------------------------------------------------ reading

def _ids(value, where: str) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(x, int) and not isinstance(x, bool)
                                                       for x in value):
        raise EvaluateError(f"{where}: expected a list of sentence ids, got {str(value)[:60]!r}")
    return tuple(value)


def parse_align_line(line: str, where: str = "line") -> Bead:
    """``'[0, 1]:[2]'`` → ``((0, 1), (2,))``; text after a third ``:`` (a score) is ignored."""
    parts = [p.strip() for p in line.split(":") if p.strip()]
    if len(parts) < 2:
        raise EvaluateError(f"{where}: not an alignment line: {line.strip()[:60]!r}")
    try:
        src, tgt = ast.literal_eval(parts[0]), ast.literal_eval(parts[1])
    except (ValueError, SyntaxError):
        raise EvaluateError(f"{where}: not an alignment line: {line.strip()[:60]!r}") from None
    return _ids(src, where), _ids(tgt, where)


def parse_jsonl_line(line: str, where: str = "line") -> Bead:
    """``{"zh_ids": [3, 4], "en_ids": [5], ...}`` → ``((3, 4), (5,))``."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        raise EvaluateError(f"{where}: not a JSON object: {line.strip()[:60]!r}") from None
    if not isinstance(obj, dict) or "zh_ids" not in obj or "en_ids" not in obj:
        raise EvaluateError(f"{where}: a JSONL bead needs \"zh_ids\" and \"en_ids\"")
    return _ids(obj["zh_ids"], where), _ids(obj["en_ids"], where)


def read_beads(path: str | Path) -> list[Bead]:
    """The beads of one ``.align`` or ``.jsonl`` file (the format is told by the first line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvaluateError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise EvaluateError(f"{path}: cannot read ({type(e).__name__})") from None
    beads = []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{no}"
        if line.lstrip().startswith("{"):
            beads.append(parse_jsonl_line(line, where))
        else:
            beads.append(parse_align_line(line, where))
    return beads


# ------------------------------------------------------------------ scoring

def _judge(ref: list[Bead], hyp: list[Bead]) -> tuple[int, int, int]:
    """How many beads of ``hyp`` (deduplicated) are strictly / laxly in ``ref``."""
    ref_set = {b for b in ref if b[0] or b[1]}
    hyp_set = {b for b in hyp if b[0] or b[1]}
    links = {(s, t) for src, tgt in ref_set for s in src for t in tgt}
    strict = lax = 0
    for src, tgt in hyp_set:
        if (src, tgt) in ref_set:
            strict += 1
            lax += 1
        elif any((s, t) in links for s in src for t in tgt):
            lax += 1
    return len(hyp_set), strict, lax


def counts(gold: list[Bead], test: list[Bead]) -> list[int]:
    """One document's counts: [test beads, strict, lax, gold beads, strict, lax]."""
    gold = [(tuple(s), tuple(t)) for s, t in gold]
    test = [(tuple(s), tuple(t)) for s, t in test]
    p = _judge(gold, test)
    r = _judge([b for b in test if b[0] and b[1]], [b for b in gold if b[0] and b[1]])
    return list(p + r)


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def scores_from_counts(c: list[int]) -> dict:
    """Pooled counts → ``{"strict": {"precision", "recall", "f1"}, "lax": {...}, "counts": {...}}``."""
    out = {}
    for name, (hp, hr) in (("strict", (1, 4)), ("lax", (2, 5))):
        p, r = _ratio(c[hp], c[0]), _ratio(c[hr], c[3])
        out[name] = {"precision": p, "recall": r, "f1": _f1(p, r)}
    out["counts"] = dict(zip(("test_beads", "test_strict", "test_lax", "gold_beads", "gold_strict", "gold_lax"),
                             map(int, c)))
    return out


def evaluate(gold_docs: list[list[Bead]], test_docs: list[list[Bead]]) -> dict:
    """Pooled strict/lax P/R/F1 over paired documents (each a list of (zh ids, en ids) beads)."""
    if len(gold_docs) != len(test_docs):
        raise EvaluateError(f"{len(gold_docs)} gold documents but {len(test_docs)} test documents")
    total = [0] * 6
    for gold, test in zip(gold_docs, test_docs):
        total = [a + b for a, b in zip(total, counts(gold, test))]
    return scores_from_counts(total)


def _test_file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".jsonl", stem + ".align", stem):
        p = folder / name
        if p.is_file():
            return p
    return None


def pair_paths(gold: str | Path, test: str | Path) -> list[tuple[Path, Path]]:
    """(gold file, test file) pairs: two files, or two folders paired by document name."""
    gold, test = Path(gold), Path(test)
    for p in (gold, test):
        if not p.exists():
            raise EvaluateError(f"{p}: no such file or folder")
    if gold.is_file() and test.is_file():
        return [(gold, test)]
    if gold.is_dir() != test.is_dir():
        raise EvaluateError(f"give two files or two folders (got {gold} and {test})")
    golds = sorted(p for p in gold.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix in (".align", "") and p.name.lower() != "readme")
    if not golds:
        raise EvaluateError(f"{gold}: no gold .align files in this folder")
    pairs = []
    for g in golds:
        stem = g.name[: -len(".align")] if g.name.endswith(".align") else g.name
        t = _test_file(test, stem)
        if t is None:
            raise EvaluateError(f"{test}: no test file for document {stem} ({stem}.jsonl, {stem}.align or {stem})")
        pairs.append((g, t))
    return pairs


def evaluate_paths(gold: str | Path, test: str | Path, per_doc: bool = False) -> dict:
    """Score a test file or folder against a gold one (see the module docstring).

    Returns ``{"strict": {"precision", "recall", "f1"}, "lax": {...}, "counts": {...}}``,
    plus ``"documents": {name: scores}`` when ``per_doc``.
    """
    pairs = pair_paths(gold, test)
    docs = [(g, read_beads(g), read_beads(t)) for g, t in pairs]
    res = evaluate([d[1] for d in docs], [d[2] for d in docs])
    if per_doc:
        res["documents"] = {g.name.removesuffix(".align"): evaluate([gb], [tb]) for g, gb, tb in docs}
    return res
