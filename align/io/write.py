"""Write alignments: TMX 1.4b, CSV (UTF-8 with BOM, for Excel), TSV, JSONL and XLSX.

A batch also gets one merged corpus (``write_corpus``): every document's pairs,
exact duplicates removed, each row keeping the file it came from.

Every file is written atomically (a temporary file beside it, then a rename),
so an interrupted run leaves either the old file or the new one.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, OutputError
from ..model import Alignment, Pair, jumped, low_confidence
from ..version import __version__

TOOL = "zhen-align"
FORMATS = ("tmx", "csv", "tsv", "jsonl", "xlsx")
CORPUS = "corpus"  # the merged corpus of a batch: corpus.tmx, corpus.csv, ...

# A language tag's shape (BCP 47, simplified): zh-CN, zh-Hans, zh-Hant-TW, en-US, en-GB, yue-HK.
_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_ZH_LANGS = {"zh", "cmn", "yue", "wuu", "hak", "nan", "lzh", "gan", "hsn", "cjy", "cdo", "mnp", "cpx", "czh", "czo"}
# Cells starting with these are read as formulas by Excel/LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Characters XML 1.0 forbids; they cannot survive in a TMX and are left out of it.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass
class TmxOptions:
    """The TMX language tags (``--zh-tag``/``--en-tag``); their shape is checked."""

    zh_tag: str = "zh-CN"
    en_tag: str = "en-US"

    def __post_init__(self):
        self.zh_tag = check_lang_tag(self.zh_tag, "zh")
        self.en_tag = check_lang_tag(self.en_tag, "en")


@dataclass
class OutputOptions:
    """What a run writes: formats (``--format``), TMX language tags, ``--excel-safe`` cells and
    ``--min-score`` (pairs below it stay out of the TMX and go to NAME.review.tsv). Checked when made."""

    formats: list[str] = field(default_factory=lambda: ["tmx", "csv"])
    tmx: TmxOptions = field(default_factory=TmxOptions)
    excel_safe: bool = False
    min_score: float | None = None

    def __post_init__(self):
        self.formats = list(self.formats)
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise InputError(f"unknown format {bad[0] if bad else ''!r}; choose from {', '.join(FORMATS)}")
        if self.min_score is not None and not 0.0 <= self.min_score <= 1.0:
            raise InputError(f"--min-score must be between 0 and 1 (got {self.min_score})")


def check_lang_tag(tag: str, lang: str) -> str:
    """``tag`` if it is a language tag for ``lang`` ("zh" or "en"), else an InputError."""
    tag = (tag or "").strip()
    primary = tag.split("-")[0].lower()
    ok = primary in _ZH_LANGS if lang == "zh" else primary == "en"
    if not _LANG_TAG.match(tag) or not ok:
        example = "zh-CN, zh-Hans or zh-TW" if lang == "zh" else "en-US or en-GB"
        raise InputError(f"--{lang}-tag {tag!r}: not a {'Chinese' if lang == 'zh' else 'English'} "
                         f"language tag; use one like {example}")
    return tag


def excel_safe(text: str) -> str:
    """Text that a spreadsheet shows as text: a leading = + - @ (tab, CR) gets a ' in front."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def excel_unsafe(text: str) -> str:
    """Undo ``excel_safe`` (for reading back our own files)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


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
    except BaseException as e:  # also Ctrl-C or a crash: never leave the temporary file behind
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise OutputError(f"{path}: cannot write ({e.strerror or e})") from None
        raise


def _xml(text: str) -> str:
    """Element text: &, < and > escaped, characters XML forbids dropped (``html.escape``: what
    ``xml.sax.saxutils.escape`` does, without the 30 ms of urllib that module imports)."""
    return html.escape(_XML_BAD.sub("", text), quote=False)


def _attr(text: str) -> str:
    """A quoted attribute value."""
    return '"' + html.escape(_XML_BAD.sub("", text), quote=True) + '"'


def tmx_bytes(pairs: list[tuple[Pair, str]], options: TmxOptions | None = None) -> bytes:
    """A TMX 1.4b document for (pair, source name) items; one-sided pairs are left out."""
    opt = options or TmxOptions()
    date = creation_date()
    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tmx SYSTEM "tmx14.dtd">\n<tmx version="1.4">\n')
    out.write(f'  <header creationtool="{TOOL}" creationtoolversion="{__version__}" segtype="sentence" '
              f'o-tmf="{TOOL}" adminlang="en-US" srclang={_attr(opt.zh_tag)} datatype="plaintext" '
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
        if pair.status is not None:
            out.write(f'      <prop type="x-status">{_xml(pair.status)}</prop>\n')
        if source:
            out.write(f'      <prop type="x-source">{_xml(source)}</prop>\n')
        out.write(f'      <tuv xml:lang={_attr(opt.zh_tag)}><seg>{_xml(pair.zh)}</seg></tuv>\n')
        out.write(f'      <tuv xml:lang={_attr(opt.en_tag)}><seg>{_xml(pair.en)}</seg></tuv>\n')
        out.write('    </tu>\n')
    out.write('  </body>\n</tmx>\n')
    return out.getvalue().encode("utf-8")


def _ids(ids: list[int]) -> str:
    return " ".join(str(i) for i in ids)


COLUMNS = ["zh", "en", "score", "bead", "zh_ids", "en_ids"]  # + "status" when reviewed, + "source" in a corpus


def _with_status(pairs: list[tuple[Pair, str]]) -> bool:
    """Whether the pairs come from a review (align.review): then every format gets a status column."""
    return any(pair.status is not None for pair, _ in pairs)


def _rows(pairs: list[tuple[Pair, str]], with_source: bool, safe: bool) -> list[list[str]]:
    text = excel_safe if safe else (lambda t: t)
    status = _with_status(pairs)
    rows = [COLUMNS + (["status"] if status else []) + (["source"] if with_source else [])]
    for pair, source in pairs:
        score = "" if pair.score is None else f"{pair.score:.3f}"
        row = [text(pair.zh), text(pair.en), score, pair.kind, _ids(pair.zh_ids), _ids(pair.en_ids)]
        rows.append(row + ([pair.status or ""] if status else []) + ([text(source)] if with_source else []))
    return rows


def csv_bytes(pairs: list[tuple[Pair, str]], with_source: bool = False, excel_safe: bool = False) -> bytes:
    """CSV with a header row, UTF-8 with BOM so that Excel shows Chinese."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(_rows(pairs, with_source, excel_safe))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def tsv_bytes(pairs: list[tuple[Pair, str]], with_source: bool = False, excel_safe: bool = False) -> bytes:
    """Tab-separated, UTF-8 (no BOM), the same columns as CSV; a cell holding a tab, quote or line
    break is quoted CSV-style (Python's ``csv`` with ``delimiter="\\t"`` reads it back)."""
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerows(_rows(pairs, with_source, excel_safe))
    return out.getvalue().encode("utf-8")


def jsonl_bytes(pairs: list[tuple[Pair, str]], with_source: bool = False) -> bytes:
    """One bead per line: {"zh", "en", "zh_ids", "en_ids", "score"} (the benchmark contract),
    plus "source" in a merged corpus."""
    lines = []
    for pair, source in pairs:
        score = None if pair.score is None or not (pair.zh and pair.en) else round(pair.score, 4)
        item = {"zh": pair.zh, "en": pair.en, "zh_ids": pair.zh_ids, "en_ids": pair.en_ids, "score": score}
        if pair.status is not None:
            item["status"] = pair.status
        if with_source:
            item["source"] = source
        lines.append(json.dumps(item, ensure_ascii=False))
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")


def xlsx_bytes(pairs: list[tuple[Pair, str]], with_source: bool = False, excel_safe: bool = False) -> bytes:
    """An Excel workbook: one row per bead, a numeric score column, low-confidence rows highlighted.

    Text cells are always stored as text (never as formulas, whatever they start with);
    ``excel_safe`` also marks such cells quote-prefixed, so that editing them in Excel keeps them text.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment as CellAlignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "alignment"
    status = _with_status(pairs)
    head = COLUMNS + (["status"] if status else []) + (["source"] if with_source else [])
    ws.append(head)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    low_fill = PatternFill("solid", start_color="FFF4CCCC", end_color="FFF4CCCC")
    wrap = CellAlignment(wrap_text=True, vertical="top")

    def text_cell(row: int, col: int, value: str):
        cell = ws.cell(row=row, column=col)
        cell.value = _XML_BAD.sub("", value)
        cell.data_type = "s"  # text, even when it starts with "="
        if excel_safe and value.startswith(_FORMULA_START):
            cell.quotePrefix = True
        return cell

    for r, (pair, source) in enumerate(pairs, start=2):
        text_cell(r, 1, pair.zh).alignment = wrap
        text_cell(r, 2, pair.en).alignment = wrap
        ws.cell(row=r, column=3, value=None if pair.score is None else round(pair.score, 3))
        text_cell(r, 4, pair.kind)
        text_cell(r, 5, _ids(pair.zh_ids))
        text_cell(r, 6, _ids(pair.en_ids))
        if status:
            text_cell(r, 7, pair.status or "")
        if with_source:
            text_cell(r, 7 + status, source)
        if low_confidence(pair):
            for c in range(1, len(head) + 1):
                ws.cell(row=r, column=c).fill = low_fill
    for col, width in zip("ABCDEFGH", (50, 70, 8, 6, 10, 10) + ((10,) if status else ()) + (30,)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    out = io.BytesIO()
    wb.save(out)
    return _reproducible_zip(out.getvalue())


def _reproducible_zip(data: bytes) -> bytes:
    """Under SOURCE_DATE_EPOCH, the same workbook gives the same bytes: the zip entries' times and
    the document's created/modified dates become that time (openpyxl stamps "now" in both)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not (epoch and epoch.isdigit()):
        return data
    import zipfile

    t = time.gmtime(max(int(epoch), 315532800))  # zip times start in 1980
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", t).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, body)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=t[:6]), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def render(fmt: str, pairs: list[tuple[Pair, str]], tmx: TmxOptions | None = None,
           with_source: bool = False, excel_safe: bool = False) -> bytes:
    """The bytes of one output file in format ``fmt``."""
    if fmt == "tmx":
        return tmx_bytes(pairs, tmx)
    if fmt == "csv":
        return csv_bytes(pairs, with_source, excel_safe)
    if fmt == "tsv":
        return tsv_bytes(pairs, with_source, excel_safe)
    if fmt == "jsonl":
        return jsonl_bytes(pairs, with_source)
    if fmt == "xlsx":
        return xlsx_bytes(pairs, with_source, excel_safe)
    raise ValueError(f"unknown format {fmt!r}")


def check_outputs(out_dir: Path, name: str, formats: list[str], inputs: list[Path] = (), *,
                  min_score: float | None = None, probe: bool = False) -> list[Path]:
    """The output paths OUT_DIR/NAME.FORMAT, after making sure they can be written: the folder
    exists or is created, no output is an input, and (``probe``) a file can be created there.
    Called before aligning, so a bad --out-dir fails at once, not after the work."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out_dir}: cannot create the output folder ({e.strerror or e})") from None
    resolved = {Path(p).resolve() for p in inputs}
    targets = [out_dir / f"{name}.{ext}" for ext in list(formats) + (["review.tsv"] if min_score is not None else [])]
    for path in targets:  # check them all before writing any
        if path.resolve() in resolved:
            raise OutputError(f"{path}: is an input file; choose another --out-dir")
        if path.is_dir():
            raise OutputError(f"{path}: is a folder; cannot write the output there")
    if probe:
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".probe", dir=out_dir)
            os.close(fd)
            os.unlink(tmp)
        except OSError as e:
            raise OutputError(f"{out_dir}: cannot write there ({e.strerror or e})") from None
    return targets


def write_alignment(alignment: Alignment, out_dir: Path, output: OutputOptions | None = None,
                    inputs: list[Path] = (), *, name: str | None = None) -> list[Path]:
    """Write one document's outputs as OUT_DIR/NAME.FORMAT (NAME: ``name`` or the document's);
    never overwrite an input. With ``min_score``, pairs scored below it stay out of the TMX
    (the other formats keep them with their score) and go to OUT_DIR/NAME.review.tsv."""
    out = output or OutputOptions()
    targets = check_outputs(Path(out_dir), name or alignment.doc.name, out.formats, inputs, min_score=out.min_score)
    source = Path(alignment.doc.source).name if alignment.doc.source else ""
    pairs = [(p, source) for p in alignment.pairs]
    for fmt, path in zip(out.formats, targets):
        kept = [item for item in pairs if not below_min(item[0], out.min_score)] if fmt == "tmx" else pairs
        atomic_write(path, render(fmt, kept, out.tmx, excel_safe=out.excel_safe))
    if out.min_score is not None:  # the review file is the last target
        atomic_write(targets[-1], review_bytes(pairs, out.min_score, out.excel_safe))
    return targets


def below_min(pair: Pair, min_score: float | None) -> bool:
    """A two-sided pair scored below ``min_score`` (never true when ``min_score`` is None)."""
    return min_score is not None and low_confidence(pair, min_score)


def review_items(pairs: list[tuple[Pair, str]], min_score: float | None) -> list[tuple[str, Pair]]:
    """What a person should look at: (reason, pair) for pairs below ``min_score``, pairs out of the
    Chinese order ("moved") or linked far from their neighbours ("jumped"), and unaligned sentences."""
    out = []
    for pair, _ in pairs:
        if below_min(pair, min_score):
            out.append(("low score", pair))
        elif pair.moved and pair.two_sided:
            out.append(("moved", pair))
        elif jumped(pair):
            out.append(("jumped", pair))
        elif not (pair.zh and pair.en):
            out.append(("unaligned zh" if pair.zh else "unaligned en", pair))
    return out


def review_bytes(pairs: list[tuple[Pair, str]], min_score: float | None, excel_safe: bool = False) -> bytes:
    """The review file (TSV, UTF-8): a ``reason`` column, then the CSV columns, in document order."""
    rows = _rows([(p, "") for _, p in review_items(pairs, min_score)], False, excel_safe)
    reasons = ["reason"] + [r for r, _ in review_items(pairs, min_score)]
    out = io.StringIO()
    csv.writer(out, delimiter="\t", lineterminator="\n").writerows([r] + row for r, row in zip(reasons, rows))
    return out.getvalue().encode("utf-8")


def dedupe(items: list[tuple[Pair, str]]) -> tuple[list[tuple[Pair, str]], int]:
    """The items without exact duplicate (zh, en) pairs (the first one is kept), and how many went."""
    seen: set[tuple[str, str]] = set()
    out = []
    for pair, source in items:
        key = (pair.zh, pair.en)
        if key in seen:
            continue
        seen.add(key)
        out.append((pair, source))
    return out, len(items) - len(out)


def write_corpus(items: list[tuple[Pair, str]], out_dir: Path, formats: list[str],
                 tmx: TmxOptions | None = None, *, excel_safe: bool = False,
                 name: str = CORPUS) -> tuple[list[Path], int, int]:
    """Write the merged corpus OUT_DIR/corpus.FORMAT of a batch: exact duplicate pairs removed, the
    source file kept (TMX ``x-source`` prop, ``source`` column). Returns (paths, rows kept, removed)."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out_dir}: cannot create the output folder ({e.strerror or e})") from None
    kept, removed = dedupe(items)
    written = []
    for fmt in formats:
        path = out_dir / f"{name}.{fmt}"
        atomic_write(path, render(fmt, kept, tmx, with_source=True, excel_safe=excel_safe))
        written.append(path)
    return written, len(kept), removed
