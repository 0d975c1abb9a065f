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
* ``export(review_file, formats)`` — the corrected memory of a review (``align export``);
  ``align.review.serve`` is ``align review``.

The document pipeline itself is ``align.pipeline.align_document``; settings are the
dataclasses ``AlignOptions`` (aligner, moves, one-sided sentences), ``OutputOptions``
(formats, TMX tags, ``min_score``) and ``BatchOptions`` (folders and manifests).
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Callable

from .batch.report import DocResult, RunReport, finish_report
from .core.embed import Encoder, load_encoder
from .core.options import AlignOptions
from .errors import InputError
from .io.document import document_from_pair, document_from_text, load_document
from .io.write import OutputOptions, TmxOptions, check_outputs, write_alignment
from .model import Alignment
from .pipeline import align_document


def _options(options: AlignOptions | None, monotonic: bool) -> AlignOptions:
    opt = options or AlignOptions()
    return replace(opt, monotonic=True) if monotonic else opt


def align_text(text: str, *, presplit: bool = False, model: str | None = None, device: str | None = None,
               options: AlignOptions | None = None, name: str = "text", monotonic: bool = False) -> Alignment:
    """Align one bilingual text (both languages in one string)."""
    doc = document_from_text(text, name, presplit)
    return align_document(doc, _options(options, monotonic), load_encoder(model, device))


def align_pair(zh_text: str, en_text: str, *, presplit: bool = False, model: str | None = None,
               device: str | None = None, options: AlignOptions | None = None, name: str = "text",
               monotonic: bool = False) -> Alignment:
    """Align a Chinese text with its English translation (the order of the two is detected)."""
    doc = document_from_pair(zh_text, en_text, name, presplit)
    return align_document(doc, _options(options, monotonic), load_encoder(model, device))


def align_file(path: str | Path, en_path: str | Path | None = None, *, presplit: bool = False,
               model: str | None = None, device: str | None = None,
               options: AlignOptions | None = None, monotonic: bool = False) -> Alignment:
    """Align one bilingual file, or a Chinese file and an English file (either order)."""
    doc = load_document(path, en_path, presplit)
    return align_document(doc, _options(options, monotonic), load_encoder(model, device))


def _settings(options, output, batch, settings: dict):
    """The three settings dataclasses, with ``settings`` (keyword arguments named like their
    fields; ``zh_tag``/``en_tag`` for the TMX tags) applied on top."""
    from .batch.run import BatchOptions

    def take(obj, cls):
        names = {f.name for f in fields(cls)}
        mine = {k: settings.pop(k) for k in list(settings) if k in names}
        return replace(obj, **mine) if obj is not None else cls(**mine)

    tags = {k: settings.pop(k) for k in ("zh_tag", "en_tag") if k in settings}
    tags = {k: v for k, v in tags.items() if v is not None}
    options, output, batch = take(options, AlignOptions), take(output, OutputOptions), take(batch, BatchOptions)
    if tags:
        output = replace(output, tmx=TmxOptions(tags.get("zh_tag", output.tmx.zh_tag),
                                                tags.get("en_tag", output.tmx.en_tag)))
    if settings:
        raise TypeError(f"align_path() got an unexpected keyword argument {next(iter(settings))!r}")
    return options, output, batch


def align_path(path: str | Path | None, en_path: str | Path | None = None, *, out_dir: str | Path | None = None,
               options: AlignOptions | None = None, output: OutputOptions | None = None, batch=None,
               presplit: bool = False, model: str | None = None, device: str | None = None,
               encoder: Encoder | None = None, progress: Callable[[int], None] | None = None,
               **settings) -> RunReport:
    """Align a file, a ZH/EN pair of files or every document in a folder, and write the outputs.

    Outputs go to ``out_dir`` (default: beside the input) as NAME.tmx, NAME.csv, NAME.jsonl.
    A document that fails is reported with its reason; the others go on.

    Settings come as dataclasses or, the same, as keywords named like their fields:
    ``AlignOptions`` (``monotonic=True``: assume both texts run in the same order, …),
    ``OutputOptions`` (``formats``, ``excel_safe``, ``min_score``: pairs scored below it stay
    out of the TMX and are listed, with the unaligned sentences, in NAME.review.tsv;
    ``zh_tag``/``en_tag``: TMX language tags) and ``BatchOptions`` (``recursive``, ``pairs``:
    a manifest, ``force``, ``jobs``, ``json_report``: also write the run's report as JSON;
    ``engine="ray"``: the batch on a Ray cluster, ``ray_address``, ``actors``).
    A folder or a manifest is a batch (``align.batch``): one model load, embeddings batched
    across documents on ``jobs`` worker processes, a merged ``corpus.FORMAT`` (duplicates
    removed, source kept), and documents whose outputs are newer than their inputs skipped
    unless ``force``. ``encoder``: an already loaded encoder (on Ray: sent to every actor; by
    default each actor loads the model itself). Every engine aligns each document of a batch with
    the same pure function, ``align.batch.worker.align_job(job, settings, encoder)``.
    """
    options, output, batch = _settings(options, output, batch, dict(settings))
    if batch.pairs is not None or (path is not None and Path(path).is_dir()):
        from .batch.run import Settings, align_batch

        if en_path is not None and batch.pairs is None:
            raise InputError(f"{path}: is a folder; give either a folder or files")
        if path is not None and batch.pairs is not None:
            raise InputError("give either PATH or --pairs MANIFEST, not both")
        return align_batch(path, out_dir=out_dir, batch=batch, settings=Settings(output, options, presplit),
                           model=model, device=device, encoder=encoder, progress=progress)
    if path is None:
        raise InputError("give a file, two files, a folder, or --pairs MANIFEST")
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    inputs = [path] + ([Path(en_path)] if en_path else [])
    doc = load_document(path, en_path, presplit)
    result = DocResult(doc.name, inputs)
    target = Path(out_dir) if out_dir else path.parent
    check_outputs(target, doc.name, output.formats, inputs, min_score=output.min_score, probe=True)  # fail first
    result.alignment = align_document(doc, options, encoder or load_encoder(model, device), progress)
    result.outputs = write_alignment(result.alignment, target, output, inputs)
    return finish_report(RunReport([result]), batch.json_report, output.min_score)


def export(path, formats=("tmx", "csv"), out_dir=None, *, confirmed_only=False, tmx=None):
    """Write the corrected memory of a review file NAME.align.json (``align export``); see ``align.review``."""
    from .review import export as _export

    return _export(path, formats, out_dir, confirmed_only=confirmed_only, tmx=tmx)
