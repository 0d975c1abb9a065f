"""Align a folder (or a manifest) of documents in one run, and merge them into one corpus.

* The documents are found and their outputs planned by ``align.discover``.
* ``run_batch(jobs, ...)`` — the model loads once; documents are read in parallel, then
  aligned in chunks whose sentences *and* multi-sentence spans are embedded together in
  one batched call (``CachedEncoder``); chunks run on ``jobs`` worker processes (forked
  after the model is loaded, so it loads once). Every document's outputs are written,
  then the merged ``corpus.FORMAT`` (duplicates removed, source file kept).
* Resumable: a document whose outputs are all newer than its inputs is skipped (its pairs
  are read back from its outputs for the corpus, ``align.readback``) unless ``force``.
* A failing document never stops the batch: it is reported with its reason.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core.embed import DEFAULT_MODEL, Encoder, USEEncoder, load_encoder
from ..core.options import AlignOptions
from ..errors import AlignError, InputError
from ..io.document import document_from_text, load_document
from ..io.readback import read_back, up_to_date
from ..io.write import OutputOptions, write_alignment, write_corpus
from ..model import Pair, join_en, join_zh
from ..pipeline import align_document
from .discover import SUFFIXES, Job, discover, plan, read_manifest
from .report import DocResult, RunReport, count, finish_report

CHUNK_SENTENCES = 600  # sentences embedded together in one batched call (per worker)


# ------------------------------------------------------------------ embedding across documents

class CachedEncoder:
    """Wraps an encoder: ``prime(texts)`` embeds many texts (of many documents) in one batched
    call, longest first so that batches pad little; ``encode`` then answers from that cache and
    embeds only what it has not seen. Vectors do not depend on the batch (checked to 1e-6)."""

    def __init__(self, base: Encoder):
        self.base = base
        self.name = getattr(base, "name", "encoder")
        self.cache: dict[str, np.ndarray] = {}

    def prime(self, texts, progress: Callable[[int], None] | None = None) -> None:
        todo = sorted({t for t in texts if t not in self.cache}, key=len, reverse=True)
        if todo:
            vecs = self.base.encode(todo, progress=progress)
            self.cache.update(zip(todo, vecs))

    def encode(self, texts, progress=None) -> np.ndarray:
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.base.encode(missing)))
        if progress and texts:
            progress(len(texts))
        if not texts:
            return self.base.encode([])
        return np.stack([self.cache[t] for t in texts])

    def clear(self) -> None:
        self.cache.clear()


def texts_to_embed(doc, max_bead: int = 5, spans: bool = True) -> list[str]:
    """The sentences of a document and (``spans``) every run of 2..max_bead consecutive sentences
    per language, joined as the aligner joins them: what aligning it will embed."""
    zh = [s.text for s in doc.zh]
    en = [s.text for s in doc.en]
    out = zh + en
    if spans:
        for texts, join in ((zh, join_zh), (en, join_en)):
            for a in range(2, max_bead + 1):
                out += [join(texts[i:i + a]) for i in range(len(texts) - a + 1)]
    return out


# ------------------------------------------------------------------ progress

class Progress:
    """What a batch reports while it runs (the CLI draws a rich progress bar from it)."""

    def start(self, documents: int, done: int) -> None:
        """``documents`` in all, ``done`` of them already (skipped as up to date)."""

    def sentences_total(self, n: int) -> None:
        """The number of sentences to align is known (grows as documents are read)."""

    def sentences(self, n: float) -> None:
        """``n`` more sentences embedded (fractions while a chunk's spans are embedded)."""

    def document(self, result) -> None:
        """A document is finished (aligned, skipped or failed)."""


class _CallableProgress(Progress):
    """An old-style ``progress(n)`` callback (sentences embedded) as a ``Progress``."""

    def __init__(self, fn: Callable[[int], None]):
        self.fn, self.carry = fn, 0.0

    def sentences(self, n: float) -> None:
        self.carry += n
        whole = int(self.carry)
        if whole:
            self.carry -= whole
            self.fn(whole)


def as_progress(progress) -> Progress:
    if progress is None:
        return Progress()
    if isinstance(progress, Progress):
        return progress
    return _CallableProgress(progress)


# ------------------------------------------------------------------ running

@dataclass
class Settings:
    """Everything a worker needs to align and write a document."""

    output: OutputOptions = field(default_factory=OutputOptions)
    options: AlignOptions = field(default_factory=AlignOptions)
    presplit: bool = False

    @property
    def spans(self) -> bool:
        """Whether multi-sentence spans are embedded up front: only when the aligner embeds them all
        (spans="embed"); otherwise ("sum", "refine") it asks for few or none, and the cache answers
        for the sentences."""
        return self.options.spans == "embed"


@dataclass
class BatchOptions:
    """How a batch runs: ``recursive`` (subfolders too), ``pairs`` (a manifest instead of a
    folder), ``force`` (redo up-to-date documents), ``jobs`` (worker processes; default: see
    ``default_jobs``), ``json_report`` (also write the run's report as JSON there)."""

    recursive: bool = False
    pairs: str | Path | None = None
    force: bool = False
    jobs: int | None = None
    json_report: str | Path | None = None

    def __post_init__(self):
        if self.jobs is not None and self.jobs < 1:
            raise InputError(f"--jobs must be 1 or more (got {self.jobs})")


def _why(e: BaseException) -> str:
    if isinstance(e, AlignError):
        return str(e)
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def _prepare(job: Job, presplit: bool):
    """Read and split one job's document: (Document, None) or (None, reason)."""
    try:
        second = job.inputs[1] if len(job.inputs) > 1 else None
        doc = load_document(job.inputs[0], second, presplit)
        return doc, None
    except Exception as e:  # noqa: BLE001 - one broken document never stops the batch
        return None, _why(e)


def _align_chunk(items: list[tuple[int, Job, Any]], encoder: CachedEncoder, settings: Settings,
                 emit: Callable[[tuple], None]) -> list[tuple]:
    """Embed a chunk of documents together, then align and write each: [(index, result fields)]."""
    sentences = sum(len(d.zh) + len(d.en) for _, _, d in items)
    texts = [t for _, _, d in items for t in texts_to_embed(d, settings.options.max_bead, settings.spans)]
    share = sentences / max(1, len(texts))
    out = []
    try:
        encoder.prime(texts, progress=lambda n: emit(("sentences", n * share)))
    except Exception as e:  # noqa: BLE001 - e.g. out of memory: fall back to one document at a time
        encoder.clear()
        emit(("note", f"batched embedding failed ({_why(e)}); embedding one document at a time"))
    for index, job, doc in items:
        t0 = time.perf_counter()
        try:
            alignment = align_document(doc, settings.options, encoder)
            outputs = write_alignment(alignment, job.target, settings.output, job.inputs, name=job.name)
            out.append((index, alignment, outputs, None, time.perf_counter() - t0))
        except Exception as e:  # noqa: BLE001 - one broken document never stops the batch
            out.append((index, None, [], _why(e), time.perf_counter() - t0))
        emit(("done", index))
    encoder.clear()
    return out


# Worker-process state, set before the fork (so the model is loaded once, in the parent).
_WORKER: dict[str, Any] = {}


def _worker_init(q) -> None:
    _WORKER["queue"] = q


def _worker_chunk(items):
    q = _WORKER["queue"]
    return _align_chunk(items, _WORKER["encoder"], _WORKER["settings"], q.put)


def _worker_prepare(args):
    job, presplit = args
    return _prepare(job, presplit)


def cores() -> int:
    """The CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def free_cores() -> float:
    """Cores not busy with other work: the cores less the load average (this process counts one)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return float(cores())
    return cores() - max(0.0, load - 1.0)


def default_jobs(n_docs: int, model: str | None = None, encoder: Encoder | None = None) -> int:
    """Worker processes for a batch, for the default (numpy) encoder: two when two cores are free
    and there are several documents. On cores that other work keeps busy a second worker only
    competes for them (benchmarks/batch.py measured it slower there); ``jobs=2`` forces it.
    Torch models get one: they use every core from one process."""
    default = encoder is None and (model or DEFAULT_MODEL) in (DEFAULT_MODEL, "use", "default")
    if not (default or isinstance(encoder, USEEncoder)):
        return 1
    return max(1, min(2, cores(), n_docs, int(free_cores() + 0.5)))


def _chunks(items: list[tuple[int, Job, Any]], n_workers: int) -> list[list[tuple[int, Job, Any]]]:
    """Consecutive documents grouped to about CHUNK_SENTENCES sentences, smaller when that leaves
    a worker idle."""
    total = sum(len(d.zh) + len(d.en) for _, _, d in items)
    size = max(1, min(CHUNK_SENTENCES, -(-total // (2 * n_workers)) if n_workers > 1 else CHUNK_SENTENCES))
    chunks, cur, n = [], [], 0
    for it in items:
        cur.append(it)
        n += len(it[2].zh) + len(it[2].en)
        if n >= size:
            chunks.append(cur)
            cur, n = [], 0
    if cur:
        chunks.append(cur)
    return chunks


def make_encoder(model: str | None, device: str | None, workers: int) -> Encoder:
    """The run's encoder, loaded now. The default (numpy) encoder gets one BLAS thread per worker:
    its batches are small, and two BLAS threads on two shared cores ran the 100-document benchmark
    6× slower than one (benchmarks/batch.py)."""
    enc = load_encoder(model, device)
    if isinstance(enc, USEEncoder) and enc.threads != 1:
        enc = USEEncoder(threads=1)
    enc.encode(["预热 warm-up"])  # load the weights now: once, before any worker starts
    return enc


def run_batch(jobs: list[Job], settings: Settings, *, encoder: Encoder | None = None,
              model: str | None = None, device: str | None = None, force: bool = False,
              workers: int | None = None, progress=None, corpus_dir: Path | None = None):
    """Align every job (skipping up-to-date ones unless ``force``), write their outputs and the
    merged corpus in ``corpus_dir`` (none when None); returns a ``RunReport``."""
    started = time.perf_counter()
    bar = as_progress(progress)
    results = [DocResult(j.name, list(j.inputs), source=j.source) for j in jobs]
    skipped_pairs: dict[int, list[Pair]] = {}
    todo = []
    for i, job in enumerate(jobs):
        outputs = job.outputs(settings.output.formats)
        if not force and up_to_date(job.inputs, outputs):
            pairs = read_back(outputs, settings.output.excel_safe)
            if pairs is not None:
                r = results[i]
                r.status, r.outputs = "skipped", outputs
                count(r, pairs, settings.output.min_score)
                skipped_pairs[i] = pairs
                continue
        todo.append(i)
    bar.start(len(jobs), len(jobs) - len(todo))
    for i in skipped_pairs:
        bar.document(results[i])

    n_workers = workers if workers is not None else default_jobs(len(todo), model, encoder)
    n_workers = max(1, min(n_workers, len(todo) or 1))
    if encoder is None and todo:
        encoder = make_encoder(model, device, n_workers)
    cached = CachedEncoder(encoder) if encoder is not None else None

    def finish(index, alignment, outputs, error, seconds):
        r = results[index]
        r.alignment, r.outputs, r.error, r.seconds = alignment, outputs, error, round(seconds, 3)
        r.status = "failed" if error else "aligned"
        if alignment is not None:
            count(r, min_score=settings.output.min_score)
        bar.document(r)

    if n_workers > 1 and len(todo) > 1:
        prepared = _run_parallel(jobs, todo, settings, cached, n_workers, bar, finish)
    else:
        prepared = _run_serial(jobs, todo, settings, cached, bar, finish)
    for i, why in prepared.items():
        results[i].status, results[i].error = "failed", why
        bar.document(results[i])

    report = RunReport(results)
    if corpus_dir is not None:
        items = []
        for i, r in enumerate(results):
            pairs = skipped_pairs.get(i) or (r.alignment.pairs if r.alignment else [])
            items += [(p, jobs[i].source) for p in pairs]
        if any(r.status != "failed" for r in results):
            out = settings.output
            report.corpus, report.corpus_pairs, report.duplicates_removed = write_corpus(
                items, corpus_dir, out.formats, out.tmx, excel_safe=out.excel_safe)
    report.seconds = round(time.perf_counter() - started, 3)
    report.workers = n_workers
    return report


def _run_serial(jobs, todo, settings, cached, bar, finish) -> dict[int, str]:
    """Read, embed (chunk by chunk) and align in this process; returns {index: reading failure}."""
    failed: dict[int, str] = {}
    items = []
    for i in todo:
        doc, why = _prepare(jobs[i], settings.presplit)
        if why:
            failed[i] = why
        else:
            items.append((i, jobs[i], doc))
            bar.sentences_total(len(doc.zh) + len(doc.en))

    def emit(event):
        if event[0] == "sentences":
            bar.sentences(event[1])

    for chunk in _chunks(items, 1):
        for row in _align_chunk(chunk, cached, settings, emit):
            finish(*row)
    return failed


def _run_parallel(jobs, todo, settings, cached, n_workers, bar, finish) -> dict[int, str]:
    """The same on ``n_workers`` forked processes: reading in parallel, then chunks in parallel."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("fork")
    q = ctx.SimpleQueue()
    _WORKER["encoder"], _WORKER["settings"] = cached, settings
    try:  # warm the tokenizers (jieba's dictionary) once, before the fork
        document_from_text("预热。\n\nWarm up.")
    except Exception:  # noqa: BLE001
        pass
    failed: dict[int, str] = {}
    finished: set[int] = set()
    stop = threading.Event()

    def drain():
        while not stop.is_set() or not q.empty():
            try:
                if q.empty():
                    time.sleep(0.05)
                    continue
                event = q.get()
            except (EOFError, OSError, queue.Empty):
                return
            if event[0] == "sentences":
                bar.sentences(event[1])

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_worker_init, initargs=(q,)) as pool:
            items = []
            for i, (doc, why) in zip(todo, pool.map(_worker_prepare, [(jobs[i], settings.presplit) for i in todo],
                                                    chunksize=4)):
                if why:
                    failed[i] = why
                    finished.add(i)
                else:
                    items.append((i, jobs[i], doc))
                    bar.sentences_total(len(doc.zh) + len(doc.en))
            futures = {pool.submit(_worker_chunk, chunk): chunk for chunk in _chunks(items, n_workers)}
            from concurrent.futures import as_completed

            for fut in as_completed(futures):
                try:
                    rows = fut.result()
                except Exception as e:  # noqa: BLE001 - a worker died (killed, out of memory)
                    rows = [(i, None, [], f"worker process failed: {_why(e)}", 0.0) for i, _, _ in futures[fut]]
                for row in rows:
                    finished.add(row[0])
                    finish(*row)
    except BrokenProcessPool as e:
        for i in todo:
            if i not in finished:
                failed.setdefault(i, f"worker process failed: {_why(e)}")
    finally:
        stop.set()
        thread.join(timeout=5)
        _WORKER.pop("encoder", None)
        _WORKER.pop("settings", None)
    return failed


# ------------------------------------------------------------------ the API entry

def align_batch(path: str | Path | None, *, out_dir: str | Path | None = None, batch: BatchOptions | None = None,
                settings: Settings | None = None, model: str | None = None, device: str | None = None,
                encoder: Encoder | None = None, progress=None) -> RunReport:
    """A folder (``path``) or a manifest (``batch.pairs``) as one batch; see ``api.align_path``."""
    batch = batch or BatchOptions()
    settings = settings or Settings()
    out = Path(out_dir) if out_dir is not None else None
    if batch.pairs is not None:
        root = Path(batch.pairs).parent
        docs = read_manifest(batch.pairs)
    else:
        root = Path(path)
        docs = discover(root, batch.recursive)
        if not docs:
            kinds = ", ".join(sorted(s for s in SUFFIXES if s))
            raise InputError(f"{root}: no documents to align in this folder ({kinds}"
                             f"{'' if batch.recursive else '; --recursive for subfolders'})")
    corpus_dir = out if out is not None else root
    report = run_batch(plan(docs, root, out, corpus_dir), settings, encoder=encoder, model=model, device=device,
                       force=batch.force, workers=batch.jobs, progress=progress, corpus_dir=corpus_dir)
    return finish_report(report, batch.json_report, settings.output.min_score)
