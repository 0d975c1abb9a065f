"""Write alignments: TMX 1.4b, CSV (UTF-8 with BOM, for Excel) and JSONL.

Every file is written atomically (a temporary file beside it, then a rename),
so an interrupted run leaves either the old file or the new one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from . import __version__
from .errors import OutputError
from .model import Alignment, Pair

TOOL = "zhen-align"
FORMATS = ("tmx", "csv", "jsonl")

# Characters XML 1.0 forbids; they cannot survive in a TMX and are left out of it.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass
class TmxOptions:
    zh_tag: str = "zh-CN"
    en_tag: str = "en-US"


def creation_date() -> str:
    """Now in TMX's basic ISO form, or SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = time.gmtime(int(epoch)) if epoch and epoch.isdigit() else time.gmtime()
    return time.strftime("%Y%m%dT%H%M%SZ", t)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OutputError(f"{path.parent}: cannot write there ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"{path}: cannot write ({e.strerror or e})") from None


def _xml(text: str) -> str:
    return escape(_XML_BAD.sub("", text))


def tmx_bytes(pairs: list[tuple[Pair, str]], options: TmxOptions | None = None) -> bytes:
    """A TMX 1.4b document for (pair, source name) items; one-sided pairs are left out."""
    opt = options or TmxOptions()
    date = creation_date()
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tmx SYSTEM "tmx14.dtd">\n<tmx version="1.4">\n')
    out.write(f'  <header creationtool="{TOOL}" creationtoolversion="{__version__}" segtype="sentence" '
              f'o-tmf="{TOOL}" adminlang="en-US" srclang={quoteattr(opt.zh_tag)} datatype="plaintext" '
              f'creationdate="{date}"/>\n  <body>\n')
    n = 0
    for pair, source in pairs:
        if not (pair.zh and pair.en):
            continue
        n += 1
        out.write(f'    <tu tuid="{n}" creationdate="{date}">\n')
        if pair.score is not None:
            out.write(f'      <prop type="x-score">{pair.score:.3f}</prop>\n')
        out.write(f'      <prop type="x-bead">{pair.kind}</prop>\n')
        if source:
            out.write(f'      <prop type="x-source">{_xml(source)}</prop>\n')
        out.write(f'      <tuv xml:lang={quoteattr(opt.zh_tag)}><seg>{_xml(pair.zh)}</seg></tuv>\n')
        out.write(f'      <tuv xml:lang={quoteattr(opt.en_tag)}><seg>{_xml(pair.en)}</seg></tuv>\n')
        out.write('    </tu>\n')
    out.write('  </body>\n</tmx>\n')
    return out.getvalue().encode("utf-8")


def _ids(ids: list[int]) -> str:
    return " ".join(str(i) for i in ids)


def csv_bytes(pairs: list[tuple[Pair, str]], with_source: bool = False) -> bytes:
    """CSV with a header row, UTF-8 with BOM so that Excel shows Chinese."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    head = ["zh", "en", "score", "bead", "zh_ids", "en_ids"] + (["source"] if with_source else [])
    w.writerow(head)
    for pair, source in pairs:
        score = "" if pair.score is None else f"{pair.score:.3f}"
        row = [pair.zh, pair.en, score, pair.kind, _ids(pair.zh_ids), _ids(pair.en_ids)]
        w.writerow(row + ([source] if with_source else []))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def jsonl_bytes(pairs: list[tuple[Pair, str]]) -> bytes:
    """One bead per line: {"zh", "en", "zh_ids", "en_ids", "score"} (the benchmark contract)."""
    lines = []
    for pair, _ in pairs:
        score = None if pair.score is None or not (pair.zh and pair.en) else round(pair.score, 4)
        lines.append(json.dumps({"zh": pair.zh, "en": pair.en, "zh_ids": pair.zh_ids,
                                 "en_ids": pair.en_ids, "score": score}, ensure_ascii=False))
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


def render(fmt: str, pairs: list[tuple[Pair, str]], tmx: TmxOptions | None = None,
           with_source: bool = False) -> bytes:
    if fmt == "tmx":
        return tmx_bytes(pairs, tmx)
    if fmt == "csv":
        return csv_bytes(pairs, with_source)
    if fmt == "jsonl":
        return jsonl_bytes(pairs)
    raise ValueError(f"unknown format {fmt!r}")


def write_alignment(alignment: Alignment, out_dir: Path, formats: list[str],
                    tmx: TmxOptions | None = None, inputs: list[Path] = ()) -> list[Path]:
    """Write one document's outputs as OUT_DIR/NAME.FORMAT; never overwrite an input."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out_dir}: cannot create the output folder ({e.strerror or e})") from None
    source = Path(alignment.doc.source).name if alignment.doc.source else ""
    pairs = [(p, source) for p in alignment.pairs]
    resolved = {Path(p).resolve() for p in inputs}
    written = []
    for fmt in formats:
        path = out_dir / f"{alignment.doc.name}.{fmt}"
        if path.resolve() in resolved:
            raise OutputError(f"{path}: is an input file; choose another --out-dir")
        atomic_write(path, render(fmt, pairs, tmx))
        written.append(path)
    return written
