"""Read a batch's own earlier outputs back, for resuming.

A document whose outputs are all newer than its inputs (``up_to_date``) is skipped, and its
pairs are read back from those outputs (``read_back``) for the merged corpus.
"""

from __future__ import annotations

import csv
import io
import json

from pathlib import Path

from ..model import Pair
from .write import excel_unsafe


def up_to_date(inputs: list[Path], outputs: list[Path]) -> bool:
    """True when every output exists and is newer than every input."""
    try:
        newest_in = max(p.stat().st_mtime_ns for p in inputs)
        oldest_out = min(p.stat().st_mtime_ns for p in outputs)
    except OSError:
        return False
    return oldest_out > newest_in


def read_back(outputs: list[Path], excel_safe: bool = False) -> list[Pair] | None:
    """A skipped document's pairs, read back from its outputs NAME.FORMAT (None when none reads).

    CSV/TSV first: they hold every bead with its score as the corpus writes it; with
    ``excel_safe`` the exact text comes first (xlsx, jsonl). TMX, last, holds two-sided pairs only.
    """
    prefer = ("xlsx", "jsonl", "csv", "tsv", "tmx") if excel_safe else ("csv", "tsv", "jsonl", "xlsx", "tmx")
    by_format = {p.suffix[1:]: p for p in outputs}
    for fmt in (f for f in prefer if f in by_format):
        try:
            pairs = _READERS[fmt](by_format[fmt].read_bytes(), excel_safe)
        except Exception:  # noqa: BLE001 - an unreadable output: try the next, else redo the document
            continue
        if fmt != "jsonl" and "jsonl" in by_format:
            _finer_scores(pairs, by_format["jsonl"])
        return pairs
    return None


def _finer_scores(pairs: list[Pair], jsonl: Path) -> None:
    """Two-sided pairs take their score from the JSONL (4 decimals; CSV, TSV and XLSX keep 3), so
    that a resumed batch writes the same corpus as a fresh one. Nothing changes if it does not read."""
    try:
        finer = _pairs_from_jsonl(jsonl.read_bytes(), False)
    except Exception:  # noqa: BLE001 - the coarser scores are still right to 3 decimals
        return
    if [(p.zh_ids, p.en_ids) for p in finer] != [(p.zh_ids, p.en_ids) for p in pairs]:
        return
    for p, f in zip(pairs, finer):
        if p.two_sided and f.score is not None:
            p.score = f.score


def _kind(zh_ids, en_ids) -> str:
    return f"{len(zh_ids)}-{len(en_ids)}"


def _ints(s: str) -> list[int]:
    return [int(x) for x in str(s or "").split()]


def _pairs_from_jsonl(data: bytes, excel_safe: bool) -> list[Pair]:
    out = []
    for line in data.decode("utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Pair(d["zh"], d["en"], d["zh_ids"], d["en_ids"], d.get("score"),
                            _kind(d["zh_ids"], d["en_ids"])))
    return out


def _pairs_from_rows(rows, excel_safe: bool) -> list[Pair]:
    rows = list(rows)
    head = [str(h) for h in rows[0]]
    col = {h: i for i, h in enumerate(head)}
    text = excel_unsafe if excel_safe else (lambda t: t)
    out = []
    for r in rows[1:]:
        r = ["" if v is None else v for v in r]
        score = r[col["score"]]
        out.append(Pair(text(str(r[col["zh"]])), text(str(r[col["en"]])), _ints(r[col["zh_ids"]]),
                        _ints(r[col["en_ids"]]), None if score == "" else float(score), str(r[col["bead"]])))
    return out


def _pairs_from_csv(data: bytes, excel_safe: bool, delimiter: str = ",") -> list[Pair]:
    return _pairs_from_rows(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter),
                            excel_safe)


def _pairs_from_xlsx(data: bytes, excel_safe: bool) -> list[Pair]:
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data), read_only=True).active
    return _pairs_from_rows(ws.iter_rows(values_only=True), False)


def _pairs_from_tmx(data: bytes, excel_safe: bool) -> list[Pair]:
    from xml.etree import ElementTree as ET

    out = []
    for tu in ET.fromstring(data).iter("tu"):
        props = {p.get("type"): p.text or "" for p in tu.findall("prop")}
        segs = ["".join(s.itertext()) for s in tu.findall("tuv/seg")]
        score = props.get("x-score")
        out.append(Pair(segs[0], segs[1], [], [], float(score) if score else None, props.get("x-bead", "1-1")))
    return out


_READERS = {"jsonl": _pairs_from_jsonl, "csv": _pairs_from_csv,
            "tsv": lambda d, s: _pairs_from_csv(d, s, "\t"), "xlsx": _pairs_from_xlsx, "tmx": _pairs_from_tmx}
