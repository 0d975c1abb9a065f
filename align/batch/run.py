"""Align a folder (or a manifest) of documents in one run, and merge them into one corpus.

* The documents are found and their outputs planned by ``align.discover``.
* ``run_batch(jobs, ...)`` — decides which documents are up to date, runs the others on an
  engine, then writes the merged ``corpus.FORMAT`` (duplicates removed, source file kept).
  The local engine (the default): the model loads once; documents are read in parallel, then
  aligned in chunks whose sentences *and* multi-sentence spans are embedded together in one
  batched call (``CachedEncoder``); chunks run on ``jobs`` worker processes (forked after the
  model is loaded, so it loads once). ``engine="ray"``: the same documents on a Ray cluster
  (``align.batch.ray_engine``). Both call the same per-document function
  (``align.batch.worker.align_job``), so they write the same bytes.
* Resumable: a document whose outputs are all newer than its inputs is skipped (its pairs
  are read back from its outputs for the corpus, ``align.readback``) unless ``force``.
* A failing document never stops the batch: it is reported with its reason.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..core.embed import DEFAULT_MODEL, Encoder, USEEncoder
from ..errors import InputError
from ..io.document import document_from_text
from ..io.readback import read_back, up_to_date
from ..io.write import write_corpus
from ..model import Pair
from .discover import SUFFIXES, Job, discover, plan, read_manifest
from .report import DocResult, RunReport, count, finish_report
from .worker import (CachedEncoder, JobResult, Settings, align_chunk, cores, make_encoder, prepare,  # noqa: F401
                     texts_to_embed)
from .worker import why as _why

ENGINES = ("local", "ray")
CHUNK_SENTENCES = 600  # sentences embedded together in one batched call (per worker)


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
class BatchOptions:
    """How a batch runs: ``recursive`` (subfolders too), ``pairs`` (a manifest instead of a
    folder), ``force`` (redo up-to-date documents), ``jobs`` (worker processes of the local
    engine; default: see ``default_jobs``), ``json_report`` (also write the run's report as JSON
    there), ``engine`` ("local", or "ray": on a Ray cluster, ``align.batch.ray_engine``),
    ``ray_address`` (the cluster to connect to; default: ``RAY_ADDRESS``, else a local Ray on this
    machine), ``actors`` (Ray actors; default: one per CPU of the cluster)."""

    recursive: bool = False
    pairs: str | Path | None = None
    force: bool = False
    jobs: int | None = None
    json_report: str | Path | None = None
    engine: str = "local"
    ray_address: str | None = None
    actors: int | None = None

    def __post_init__(self):
        if self.jobs is not None and self.jobs < 1:
            raise InputError(f"--jobs must be 1 or more (got {self.jobs})")
        if self.engine not in ENGINES:
            raise InputError(f"--engine {self.engine!r}: unknown engine; choose from {', '.join(ENGINES)}")
        if self.actors is not None and self.actors < 1:
            raise InputError(f"--actors must be 1 or more (got {self.actors})")
        if self.engine != "ray" and (self.actors is not None or self.ray_address is not None):
            raise InputError(f"--{'actors' if self.actors is not None else 'ray-address'} needs --engine ray")


# Worker-process state, set before the fork (so the model is loaded once, in the parent).
_WORKER: dict[str, Any] = {}


def _worker_init(q) -> None:
    _WORKER["queue"] = q


def _worker_chunk(items):
    q = _WORKER["queue"]
    return align_chunk(items, _WORKER["encoder"], _WORKER["settings"], q.put)


def _worker_prepare(args):
    job, presplit = args
    return prepare(job, presplit)


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


def run_batch(jobs: list[Job], settings: Settings, *, encoder: Encoder | None = None,
              model: str | None = None, device: str | None = None, force: bool = False,
              workers: int | None = None, progress=None, corpus_dir: Path | None = None,
              engine: str = "local", ray_address: str | None = None, actors: int | None = None):
    """Align every job (skipping up-to-date ones unless ``force``), write their outputs and the
    merged corpus in ``corpus_dir`` (none when None); returns a ``RunReport``. ``engine``: "local"
    (``workers`` processes on this machine) or "ray" (``actors`` on the Ray cluster at
    ``ray_address``, see ``align.batch.ray_engine``); the resume decision, the corpus and the
    report are made here, the same for both."""
    started = time.perf_counter()
    if engine == "ray":
        from .ray_engine import require_ray, run_on_ray  # Ray is imported on this path only

        require_ray()
    bar = as_progress(progress)
    results = [DocResult(j.name, list(j.inputs), source=j.source) for j in jobs]
    todo, skipped_pairs = _up_to_date(jobs, settings, force, results)
    bar.start(len(jobs), len(jobs) - len(todo))
    for i in skipped_pairs:
        bar.document(results[i])

    def finish(index: int, result: JobResult) -> None:
        r = results[index]
        r.alignment, r.outputs, r.error = result.alignment, result.outputs, result.error
        r.seconds = None if result.seconds is None else round(result.seconds, 3)
        r.status = "failed" if result.error else "aligned"
        if result.alignment is not None:
            count(r, min_score=settings.output.min_score)
        bar.document(r)

    if engine == "ray":
        n_workers = run_on_ray(jobs, todo, settings, finish, bar, encoder=encoder, model=model, device=device,
                               address=ray_address, actors=actors) if todo else 1
    else:
        n_workers = workers if workers is not None else default_jobs(len(todo), model, encoder)
        n_workers = max(1, min(n_workers, len(todo) or 1))
        if encoder is None and todo:
            encoder = make_encoder(model, device, n_workers)
        cached = CachedEncoder(encoder) if encoder is not None else None
        if n_workers > 1 and len(todo) > 1:
            unread = _run_parallel(jobs, todo, settings, cached, n_workers, bar, finish)
        else:
            unread = _run_serial(jobs, todo, settings, cached, bar, finish)
        for i, reason in unread.items():
            finish(i, JobResult(error=reason))

    report = RunReport(results)
    if corpus_dir is not None:
        _write_merged(report, jobs, skipped_pairs, settings, corpus_dir)
    report.seconds = round(time.perf_counter() - started, 3)
    report.workers = n_workers
    return report


def _up_to_date(jobs: list[Job], settings: Settings, force: bool,
                results: list[DocResult]) -> tuple[list[int], dict[int, list[Pair]]]:
    """Which jobs to run (indexes), and the pairs of those skipped as up to date (read back from
    their outputs), whose results are filled here; unless ``force``, when every job runs."""
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
    return todo, skipped_pairs


def _write_merged(report: RunReport, jobs: list[Job], skipped_pairs: dict[int, list[Pair]], settings: Settings,
                  corpus_dir: Path) -> None:
    """The merged corpus of every document not failed, in the jobs' order (``write_corpus``)."""
    items = []
    for i, r in enumerate(report.documents):
        pairs = skipped_pairs.get(i) or (r.alignment.pairs if r.alignment else [])
        items += [(p, jobs[i].source) for p in pairs]
    if any(r.status != "failed" for r in report.documents):
        out = settings.output
        report.corpus, report.corpus_pairs, report.duplicates_removed = write_corpus(
            items, corpus_dir, out.formats, out.tmx, excel_safe=out.excel_safe)


def _run_serial(jobs, todo, settings, cached, bar, finish) -> dict[int, str]:
    """Read, embed (chunk by chunk) and align in this process; returns {index: reading failure}."""
    failed: dict[int, str] = {}
    items = []
    for i in todo:
        doc, why = prepare(jobs[i], settings.presplit)
        if why:
            failed[i] = why
        else:
            items.append((i, jobs[i], doc))
            bar.sentences_total(len(doc.zh) + len(doc.en))

    def emit(event):
        if event[0] == "sentences":
            bar.sentences(event[1])

    for chunk in _chunks(items, 1):
        for index, result in align_chunk(chunk, cached, settings, emit):
            finish(index, result)
    return failed


def _run_parallel(jobs, todo, settings, cached, n_workers, bar, finish) -> dict[int, str]:
    """The same on ``n_workers`` forked processes: reading in parallel, then chunks in parallel."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("fork")
    q = ctx.SimpleQueue()
    _WORKER["encoder"], _WORKER["settings"] = cached, settings
    try:  # warm the splitters once, before the fork
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
                    rows = [(i, JobResult(error=f"worker process failed: {_why(e)}", seconds=0.0)) for i, _, _ in futures[fut]]
                for index, result in rows:
                    finished.add(index)
                    finish(index, result)
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
                       force=batch.force, workers=batch.jobs, progress=progress, corpus_dir=corpus_dir,
                       engine=batch.engine, ray_address=batch.ray_address, actors=batch.actors)
    return finish_report(report, batch.json_report, settings.output.min_score)
