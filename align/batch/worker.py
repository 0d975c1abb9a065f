"""One document of a batch, in whatever process aligns it: this process, a forked worker of the
local batch (``align.batch.run``) or an actor on a Ray cluster (``align.batch.ray_engine``).

* ``align_job(job, settings, encoder)`` — the per-document function every engine calls: read and
  split the job's document, align it, write its outputs; returns a ``JobResult``. It is pure:
  job, settings and encoder in, result fields out, no global state; a broken document never
  raises, its reason is in the result.
* ``align_chunk(items, encoder, settings, emit)`` — many read documents whose sentences and
  multi-sentence spans are embedded together in one batched call (``CachedEncoder``), then
  ``align_job`` for each.
* ``Settings`` (what a worker needs to know), ``make_encoder`` (the encoder, loaded once per
  process), ``cores`` (the CPU cores this process may use).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


from ..core.embed import CachedEncoder, Encoder, USEEncoder, load_encoder
from ..core.options import AlignOptions
from ..errors import AlignError
from ..io.document import load_document
from ..io.write import OutputOptions, write_alignment
from ..model import Alignment, Document, join_en, join_zh
from ..pipeline import align_document
from .discover import Job


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
class JobResult:
    """What one document of a batch gave: its ``alignment`` and the ``outputs`` written, or
    ``error`` (why it failed); ``seconds`` spent aligning and writing it (None when it could not
    be read); ``sentences``: its Chinese and English sentences (0 when it could not be read)."""

    alignment: Alignment | None = None
    outputs: list[Path] = field(default_factory=list)
    error: str | None = None
    seconds: float | None = None
    sentences: int = 0


def why(e: BaseException) -> str:
    """A failure's reason as the report shows it: an AlignError's message, else the exception's type too."""
    if isinstance(e, AlignError):
        return str(e)
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def prepare(job: Job, presplit: bool) -> tuple[Document | None, str | None]:
    """Read and split one job's document: (Document, None) or (None, reason)."""
    try:
        second = job.inputs[1] if len(job.inputs) > 1 else None
        return load_document(job.inputs[0], second, presplit), None
    except Exception as e:  # noqa: BLE001 - one broken document never stops the batch
        return None, why(e)


def align_job(job: Job, settings: Settings, encoder: Encoder, doc: Document | None = None) -> JobResult:
    """One document of a batch, start to end: read and split it (unless ``doc``, read already, is
    given), align it with ``encoder``, write its outputs to ``job.target``.

    Pure: the job, the settings and the encoder in, the result out, no global state; so every
    engine (one process, forked workers, Ray actors) calls this one function and writes the same
    bytes. A broken document does not raise: its reason is the result's ``error``."""
    if doc is None:
        doc, reason = prepare(job, settings.presplit)
        if reason:
            return JobResult(error=reason)
    sentences = len(doc.zh) + len(doc.en)
    t0 = time.perf_counter()
    try:
        alignment = align_document(doc, settings.options, encoder)
        outputs = write_alignment(alignment, job.target, settings.output, job.inputs, name=job.name)
        return JobResult(alignment, outputs, None, time.perf_counter() - t0, sentences)
    except Exception as e:  # noqa: BLE001 - one broken document never stops the batch
        return JobResult(None, [], why(e), time.perf_counter() - t0, sentences)


# ------------------------------------------------------------------ embedding across documents

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


def align_chunk(items: list[tuple[int, Job, Any]], encoder: CachedEncoder, settings: Settings,
                emit: Callable[[tuple], None]) -> list[tuple[int, JobResult]]:
    """Embed a chunk of read documents together, then ``align_job`` each: [(index, JobResult)].
    ``emit`` gets ("sentences", n) as they are embedded, ("done", index) per document, ("note", text)."""
    sentences = sum(len(d.zh) + len(d.en) for _, _, d in items)
    texts = [t for _, _, d in items for t in texts_to_embed(d, settings.options.max_bead, settings.spans)]
    share = sentences / max(1, len(texts))
    out = []
    try:
        encoder.prime(texts, progress=lambda n: emit(("sentences", n * share)))
    except Exception as e:  # noqa: BLE001 - e.g. out of memory: fall back to one document at a time
        encoder.clear()
        emit(("note", f"batched embedding failed ({why(e)}); embedding one document at a time"))
    for index, job, doc in items:
        out.append((index, align_job(job, settings, encoder, doc)))
        emit(("done", index))
    encoder.clear()
    return out


def cores() -> int:
    """The CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def make_encoder(model: str | None, device: str | None, workers: int) -> Encoder:
    """The run's encoder, loaded now. The default (numpy) encoder gets one BLAS thread per worker:
    its batches are small, and two BLAS threads on two shared cores ran the 100-document benchmark
    6× slower than one (benchmarks/batch.py)."""
    enc = load_encoder(model, device)
    if isinstance(enc, USEEncoder) and enc.threads != 1:
        enc = USEEncoder(threads=1)
    enc.encode(["预热 warm-up"])  # load the weights now: once, before any worker starts
    return enc
