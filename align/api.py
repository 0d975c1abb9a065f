"""The Python API: every command-line feature is one call here.

    >>> import align
    >>> result = align.align_text(open("press.txt", encoding="utf-8").read())
    >>> for pair in result.pairs: print(pair.zh, "|", pair.en, pair.score)

* ``align_text(text)`` — one bilingual text (Chinese then English, English then
  Chinese, or interleaved paragraphs).
* ``align_pair(a, b)`` — two texts, one per language, in either order.
* ``align_file(path, en_path=None)`` — the same from files (any common encoding).
* ``align_path(path, en_path=None, out_dir=..., formats=...)`` — what ``align``
  on the command line does: align a file, a pair of files or a folder and write
  the outputs; returns a ``RunReport``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import detect, read, split, unpaired
from .aligner import AlignOptions, align
from .embed import Encoder, load_encoder
from .calibrate import calibrate_beads
from .errors import InputError
from .model import Alignment, Document, Sentence
from . import moves
from .moves import align_moves
from .write import FORMATS, TmxOptions, check_outputs, write_alignment

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


def align_document(doc: Document, model: str | None = None, device: str | None = None,
                   options: AlignOptions | None = None, encoder: Encoder | None = None,
                   progress: Callable[[int], None] | None = None, monotonic: bool = False) -> Alignment:
    """Embed and align a prepared document.

    By default English blocks may sit elsewhere than the Chinese order says
    (``align.moves``); ``monotonic=True`` assumes both texts run in the same order.
    Bead scores are calibrated confidences (``align.calibrate``).
    """
    enc = encoder or load_encoder(model, device)
    zh = [s.text for s in doc.zh]
    en = [s.text for s in doc.en]
    vecs = enc.encode(zh + en, progress=progress)
    zv, ev = vecs[:len(zh)], vecs[len(zh):]
    zp, ep = [s.para for s in doc.zh], [s.para for s in doc.en]
    # Paragraphs with no counterpart in the other language stay one-sided (align.unpaired).
    evidence = unpaired.paragraph_evidence(zv, ev, zp, ep)
    lone = dict(zip(("lone_zh", "lone_en"), unpaired.lone_paragraphs(zv, ev, zp, ep, evidence=evidence)))
    if monotonic:
        stats: dict = {}

        def try_lone(lone_zh, lone_en):
            got = align(zh, en, enc, options, zh_vecs=zv, en_vecs=ev, zh_paras=zp, en_paras=ep, stats=stats,
                        lone_zh=lone_zh, lone_en=lone_en)
            return got, stats["total"]
        beads, total = try_lone(**lone)
        realign = stats.get("realign")  # of this first run (none when a side is empty)

        def local(lone_zh, lone_en):
            return realign.gain(lone_zh, lone_en), realign.keep
        beads = unpaired.verify_lone(try_lone, beads, total, zv, ev, zp, ep, **lone,
                                     local=local if realign is not None else None,
                                     limit=moves.VERIFY_BUDGET // max(len(zh) + len(en), 1) - 1,
                                     evidence=evidence)[0]
        if moves.REATTACH:  # lone sentences back to the pair they belong to (align.moves.reattach)
            beads = moves.reattach(beads, zh, en, enc, zv, ev, zh_paras=zp, en_paras=ep)
    else:
        beads = align_moves(zh, en, enc, options, zh_vecs=zv, en_vecs=ev, en_paras=ep, zh_paras=zp, **lone,
                            evidence=evidence)
    beads = unpaired.detach(beads, zv, ev, zp, ep)
    calibrate_beads(beads, zv, ev)
    return Alignment(doc, beads)


def align_text(text: str, *, presplit: bool = False, model: str | None = None, device: str | None = None,
               options: AlignOptions | None = None, name: str = "text", monotonic: bool = False) -> Alignment:
    """Align one bilingual text (both languages in one string)."""
    return align_document(document_from_text(text, name, presplit), model, device, options, monotonic=monotonic)


def align_pair(zh_text: str, en_text: str, *, presplit: bool = False, model: str | None = None,
               device: str | None = None, options: AlignOptions | None = None, name: str = "text",
               monotonic: bool = False) -> Alignment:
    """Align a Chinese text with its English translation (the order of the two is detected)."""
    return align_document(document_from_pair(zh_text, en_text, name, presplit), model, device, options,
                          monotonic=monotonic)


def doc_name(path: Path) -> str:
    """``press.txt`` → ``press``; ``press.zh.txt`` → ``press``."""
    name = path.name
    for suffix in (path.suffix,):
        if suffix and name.endswith(suffix):
            name = name[: -len(suffix)]
    for tag in (".zh", ".en", "_zh", "_en", "-zh", "-en"):
        if name.lower().endswith(tag):
            name = name[: -len(tag)]
    return name or path.name


def load_document(path: str | Path, en_path: str | Path | None = None, presplit: bool = False) -> Document:
    """Read one bilingual file, or a Chinese file and an English file (either order)."""
    path = Path(path)
    if en_path is None:
        return document_from_text(read.read_text(path), doc_name(path), presplit, str(path))
    en_path = Path(en_path)
    return document_from_pair(read.read_text(path), read.read_text(en_path), doc_name(path), presplit, str(path))


def align_file(path: str | Path, en_path: str | Path | None = None, *, presplit: bool = False,
               model: str | None = None, device: str | None = None,
               options: AlignOptions | None = None, monotonic: bool = False) -> Alignment:
    """Align one bilingual file, or a Chinese file and an English file (either order)."""
    return align_document(load_document(path, en_path, presplit), model, device, options, monotonic=monotonic)


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
    low_confidence: int | None = None  # two-sided beads scored below write.LOW_SCORE
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


def align_path(path: str | Path | None, en_path: str | Path | None = None, *, out_dir: str | Path | None = None,
               formats: list[str] | tuple[str, ...] = ("tmx", "csv"), presplit: bool = False,
               model: str | None = None, device: str | None = None, options: AlignOptions | None = None,
               tmx: TmxOptions | None = None,
               progress: Callable[[int], None] | None = None,
               monotonic: bool = False, min_score: float | None = None,
               recursive: bool = False, pairs: str | Path | None = None, json_report: str | Path | None = None,
               force: bool = False, excel_safe: bool = False, zh_tag: str | None = None,
               en_tag: str | None = None, jobs: int | None = None, encoder: Encoder | None = None) -> RunReport:
    """Align a file, a ZH/EN pair of files or every document in a folder, and write the outputs.

    Outputs go to ``out_dir`` (default: beside the input) as NAME.tmx, NAME.csv, NAME.jsonl.
    A document that fails is reported with its reason; the others go on.

    A folder (``recursive``: and its subfolders) or a ``pairs`` manifest is a batch
    (``align.batch``): one model load, embeddings batched across documents on ``jobs``
    worker processes, a merged ``corpus.FORMAT`` (duplicates removed, source kept), and
    documents whose outputs are newer than their inputs skipped unless ``force``.
    ``json_report``: also write the run's report as JSON there. ``excel_safe``: a cell
    starting with = + - @ cannot be read as a formula (csv, tsv, xlsx). ``zh_tag``/``en_tag``:
    TMX language tags (default zh-CN, en-US). ``encoder``: an already loaded encoder.
    ``monotonic``: assume both texts run in the same order (no moved blocks).
    ``min_score`` (0–1): pairs whose calibrated score is below it stay out of the TMX
    and are listed, with the unaligned sentences, in NAME.review.tsv.
    """
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise InputError(f"--min-score must be between 0 and 1 (got {min_score})")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise InputError(f"unknown format {bad[0]!r}; choose from {', '.join(FORMATS)}")
    if zh_tag or en_tag:
        tmx = TmxOptions(zh_tag or (tmx.zh_tag if tmx else "zh-CN"), en_tag or (tmx.en_tag if tmx else "en-US"))
    if pairs is not None or (path is not None and Path(path).is_dir()):
        from .batch import align_batch

        if en_path is not None and pairs is None:
            raise InputError(f"{path}: is a folder; give either a folder or files")
        if path is not None and pairs is not None:
            raise InputError("give either PATH or --pairs MANIFEST, not both")
        return align_batch(path, pairs, out_dir=out_dir, recursive=recursive, formats=list(formats),
                           presplit=presplit, model=model, device=device, encoder=encoder, tmx=tmx,
                           excel_safe=excel_safe, force=force, jobs=jobs, progress=progress,
                           json_report=json_report,
                           align_kwargs={"options": options, "monotonic": monotonic},
                           write_kwargs={"min_score": min_score} if min_score is not None else {})
    if path is None:
        raise InputError("give a file, two files, a folder, or --pairs MANIFEST")
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    inputs = [path] + ([Path(en_path)] if en_path else [])
    result = DocResult(doc_name(path), inputs)
    doc = load_document(path, en_path, presplit)
    target = Path(out_dir) if out_dir else path.parent
    check_outputs(target, doc.name, list(formats), inputs, min_score=min_score, probe=True)  # fail before the work
    result.alignment = align_document(doc, options=options, encoder=encoder or load_encoder(model, device),
                                      progress=progress, monotonic=monotonic)
    result.outputs = write_alignment(result.alignment, target, list(formats),
                                     tmx, inputs, min_score=min_score, excel_safe=excel_safe)
    results = [result]
    from .batch import finish_report

    return finish_report(RunReport(results), json_report)
