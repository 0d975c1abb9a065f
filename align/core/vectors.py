"""The vector maths every part of the core shares, one definition each.

* ``unit_rows`` / ``unit`` — rows (or one vector) at unit length; a zero row stays zero.
* ``centred`` — a document's embeddings minus their mean (``mean_row``: the same in any order of
  the sentences), at unit length (the aligner, the move finder, one-sided paragraphs and
  calibration all compare *centred* vectors).
* ``row_blocks`` / ``top_k`` / ``block_top_k`` — similarities computed in row blocks of about
  ``BLOCK_CELLS`` cells, so memory stays linear in the document size; never the n×m matrix.
* ``neighbours`` — the document's one pass over its n × m similarities (``Neighbours``: each
  Chinese sentence's top k, each English sentence's best), read by every step that needs them.
* ``heaviest_chain`` — the heaviest chain of points strictly increasing in both coordinates
  (the aligner's first path, the move finder's main stream).
* ``length_penalty`` — Bertalign's log2(1 + shorter/longer); ``cumsum0`` — prefix sums for span sums;
  ``sorted_unique`` — ``np.unique`` by sorting.
* ``one_blas_thread`` / ``all_blas_threads`` — matrix products on one BLAS thread while
  aligning, on all cores for the few large ones.

The passes over blocks of similarities (``block_top_k``, ``column_best``, and the move finder's
smoothed candidates, ``similarity.Candidates``), ``heaviest_chain`` and ``row_sums`` (numpy's
``reduceat`` over rows: the encoder's token pooling, calibration's bead sides) run compiled
(``KERNELS``: ``_kernels.c``, built at install) where the install could build it, else as the
numpy code here, which computes the same (tests/test_kernels.py runs both). So do three loops
of other modules, beside their own numpy or Python code: the DP's forward pass (``dp._forward``),
the move finder's chain of anchors (``moves.chain``) and the sums of composed runs
(``compose.pooled_runs``).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

try:
    from . import _kernels as KERNELS  # compiled at install from _kernels.c (optional)
except ImportError:  # pragma: no cover - installed without a C compiler: the numpy code
    KERNELS = None

BLOCK_CELLS = 1 << 16  # similarities computed at a time, at least (rows per block: cells // columns, at least 16)
CELLS_PER_SENTENCE = 256  # ... and as many as this per sentence of the document: memory stays linear in its
# size while the products stay large (fixed 64k-cell blocks were 16-row slivers, 2.3x slower at 5,852 x 7,804)
MAX_BLOCK_CELLS = 1 << 22  # ... but no more than this: at 50,000 sentences a 512-row block and its smoothed
# copies took 1.3 GB; 4 M cells are still 80 rows there


def unit_rows(vecs: np.ndarray, out: np.ndarray | None = None, use_kernel: bool = True) -> np.ndarray:
    """Each row at unit length (a zero row stays zero); into ``out`` if given (may be ``vecs``).
    Compiled for float32 rows (``compiled``; the same numbers bit for bit)."""
    if use_kernel and vecs.ndim == 2 and vecs.shape[1] and compiled(vecs) \
            and (out is None or compiled(out) and out.shape == vecs.shape):
        out = np.empty_like(vecs) if out is None else out
        KERNELS.unit_rows(vecs, vecs.shape[0], vecs.shape[1], out)
        return out
    norms = np.sqrt(np.add.reduce(vecs * vecs, axis=1, keepdims=True))  # numpy.linalg.norm's own sum
    norms[norms == 0] = 1.0
    return np.divide(vecs, norms, out=out)


def cast(x: np.ndarray, dtype=None, out: np.ndarray | None = None) -> np.ndarray:
    """``x`` as ``dtype``, or into ``out``, as numpy casts it. float32 to float16 and back run
    compiled where they can (``_kernels.to_half``/``from_half``, the CPU's F16C: 7× and 2× numpy's
    loop, the same values bit for bit for every float32 but signalling NaNs, which come out quiet)."""
    out = np.empty(x.shape, dtype=dtype) if out is None else out
    if KERNELS is not None and x.shape == out.shape and x.flags.c_contiguous and out.flags.c_contiguous:
        if x.dtype == np.float32 and out.dtype == np.float16 and KERNELS.to_half(x, x.size, out):
            return out
        if x.dtype == np.float16 and out.dtype == np.float32:
            KERNELS.from_half(x, x.size, out)
            return out
    out[...] = x
    return out


def centre_rows(rows: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``centred(rows, mean)`` in place (the same arithmetic, no copy of the rows); returns them."""
    return unit_rows(np.subtract(rows, mean, out=rows), out=rows)


def unit(v: np.ndarray) -> np.ndarray:
    """One vector at unit length (a zero vector stays zero)."""
    return v / (np.linalg.norm(v) or 1.0)


def mean_row(vecs: np.ndarray) -> np.ndarray:
    """The rows' mean, summed in float64: to the rows' precision the same in any order of the rows
    (an aligner run against the English in another order centres it exactly as before, so the
    beads both runs hold score the same: ``dp.Known``)."""
    return vecs.mean(axis=0, dtype=np.float64).astype(vecs.dtype)


def centred(vecs: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Rows minus ``mean`` (default: the rows' own ``mean_row``), at unit length. Fewer than two
    rows without a given mean stay as they are: one sentence has no document to be centred in."""
    if mean is None:
        if len(vecs) < 2:
            return vecs
        mean = mean_row(vecs)
    diff = vecs - mean
    return unit_rows(diff, out=diff)  # in place: one new array, not two


def centred_pair(zh_vecs, en_vecs, given: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``centred`` of both sides' vectors, or ``given`` where the caller made them already (the
    pipeline makes them once per document and every step reads them)."""
    return given if given is not None else (centred(np.asarray(zh_vecs)), centred(np.asarray(en_vecs)))


def row_blocks(n: int, m: int, cells: int | None = None, max_rows: int | None = None) -> Iterator[tuple[int, int]]:
    """Row ranges [lo, hi) of an n×m computation, about ``cells`` cells each (at least 16 rows;
    default: ``BLOCK_CELLS`` or ``CELLS_PER_SENTENCE`` × (n + m), whichever is more, at most
    ``MAX_BLOCK_CELLS``)."""
    if cells is None:
        cells = min(max(BLOCK_CELLS, CELLS_PER_SENTENCE * (n + m)), MAX_BLOCK_CELLS)
    step = cells // max(1, m)
    if max_rows is not None:
        step = min(max_rows, step)
    step = max(16, step)
    for lo in range(0, n, step):
        yield lo, min(n, lo + step)


def top_k(queries: np.ndarray, keys: np.ndarray, k: int, *,
          dtype=None, max_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each query row its k most similar key rows: (indices, similarities), in row blocks.

    Each row's k best come best first (``block_top_k``); ``dtype``
    of the similarities (default: the inputs')."""
    return top_k_of(lambda lo, hi: queries[lo:hi] @ keys.T, len(queries), len(keys), k,
                    dtype=dtype or np.result_type(queries, keys), max_rows=max_rows)


def top_k_of(values: Callable[[int, int], np.ndarray], n: int, m: int, k: int, *,
             dtype=np.float64, max_rows: int | None = None, cells: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``top_k`` of an n×m matrix given by ``values(lo, hi)`` (its rows [lo, hi); called from several
    threads at once), in row blocks (``row_blocks``, ``on_cores``)."""
    k = min(k, m)
    idx = np.zeros((n, k), dtype=np.int64)
    sims = np.zeros((n, k), dtype=dtype)
    if k == 0:
        return idx, sims
    def block(lo: int, hi: int) -> None:
        idx[lo:hi], sims[lo:hi] = block_top_k(values(lo, hi), k)

    for _ in on_cores(block, list(row_blocks(n, m, cells, max_rows))):
        pass
    return idx, sims


TOP_K_SAMPLE = 16  # block_top_k reads every 16th column first: the sample's k-th best bounds the row's


def compiled(*arrays: np.ndarray) -> bool:
    """Whether the compiled passes (``KERNELS``) can read these blocks: C-contiguous float32."""
    return KERNELS is not None and all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrays)


def block_top_k(sim: np.ndarray, k: int, exact=None, slack: float = 0.0, use_kernel: bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k largest values of a block (k <= its columns): (columns, values), best first
    (equal values: the lower column first). Compiled (one pass a row) where it can be
    (``compiled``; ``use_kernel`` False: the numpy code, as without it).

    The k-th best of a sample of the columns is a lower bound on the row's k-th best, so only the
    values at or above it (about k × ``TOP_K_SAMPLE`` of a row) are ranked, not the whole row.
    ``exact(rows, cols)``: the true values, where ``sim`` is an approximation of them within
    ``slack`` / 2; the ranking is then by the true values (and they are returned)."""
    n, m = sim.shape
    out_i = np.zeros((n, k), dtype=np.int64)
    out_v = np.zeros((n, k), dtype=sim.dtype if exact is None else np.float64)
    if not n:
        return out_i, out_v
    if exact is None and use_kernel and compiled(sim):
        KERNELS.top_k(sim, n, m, k, out_i, out_v)
        return out_i, out_v
    step = max(1, min(TOP_K_SAMPLE, m // (4 * k)))
    sample = sim[:, ::step]
    bound = np.partition(sample, sample.shape[1] - k, axis=1)[:, sample.shape[1] - k]
    r, c = np.divmod(np.flatnonzero(sim >= (bound - slack)[:, None]), m)  # row by row, columns ascending
    count = np.bincount(r, minlength=n)
    whole = count * 4 > m if m > 4 * k else np.zeros(n, dtype=bool)  # many equal values (a zero row)
    if whole.any():  # such rows are ranked whole, the others from their candidates
        rows = np.flatnonzero(whole)
        vals = sim[rows] if exact is None else exact(np.repeat(rows, m), np.tile(np.arange(m), len(rows))).reshape(-1, m)
        out_i[rows], out_v[rows] = _best_k(np.broadcast_to(np.arange(m), vals.shape), vals, k)
        keep = ~whole[r]
        r, c = r[keep], c[keep]
        count[rows] = 0
    if len(r):
        vals = sim[r, c] if exact is None else exact(r, c)
        start = cumsum0(count)[:-1].astype(np.int64)
        at = np.arange(len(r)) - start[r]
        pad = np.full((n, int(count.max())), -np.inf, dtype=vals.dtype)
        cols = np.zeros(pad.shape, dtype=np.int64)
        pad[r, at], cols[r, at] = vals, c
        got = np.flatnonzero(~whole)
        out_i[got], out_v[got] = _best_k(cols[got], pad[got], k)
    return out_i, out_v


def row_sums(x: np.ndarray, starts: np.ndarray, use_kernel: bool = True) -> np.ndarray:
    """``np.add.reduceat(x, starts, axis=0)`` for strictly increasing ``starts`` (the first 0): the
    sums of consecutive runs of rows, bit for bit numpy's. Compiled where it can be (numpy's
    reduceat over rows runs at about 1 ns an element: 1 s for 50,000 x 512)."""
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    if use_kernel and compiled(x) and x.ndim == 2 and x.shape[0] and x.shape[1]:
        out = np.empty((len(starts), x.shape[1]), dtype=np.float32)
        KERNELS.row_sums(x, x.shape[0], x.shape[1], starts, len(starts), out)
        return out
    return np.add.reduceat(x, starts, axis=0)


PAIR_ROWS = 4096  # row pairs multiplied at a time by pair_dots' numpy code (memory: two rows each)


def pair_dots(A: np.ndarray, B: np.ndarray, ia: np.ndarray, ib: np.ndarray, k: int = 1,
              step_a: int = 0, step_b: int = 1, use_kernel: bool = True) -> np.ndarray:
    """For each t the dot product of rows ``ia[t]`` of A and ``ib[t]`` of B (float32), or with
    ``k`` > 1 the least of those of rows ``ia[t] + u * step_a`` and ``ib[t] + u * step_b`` for
    u < k (a bead's weakest member). Each product is ``np.add.reduce(a * b)``, whatever else is
    asked with it: a pair's value never depends on the block it comes in (a matrix product's does).
    Compiled where it can be (``compiled``; ``use_kernel`` False: numpy, the same bits)."""
    ia = np.ascontiguousarray(ia, dtype=np.int64)
    ib = np.ascontiguousarray(ib, dtype=np.int64)
    if k > 1 and len(ia) > 1 and (step_a, step_b) in ((0, 1), (1, 0)):
        got = _sliding_dots(A, B, ia, ib, k, step_b == 1, use_kernel)
        if got is not None:
            return got
    out = np.empty(len(ia), dtype=np.float32)
    if use_kernel and compiled(A, B) and A.ndim == 2 and B.ndim == 2 and A.shape[1] == B.shape[1] > 0:
        KERNELS.pair_dots(A, len(A), B, len(B), A.shape[1], ia, ib, len(ia), k, step_a, step_b, out)
        return out
    for lo in range(0, len(ia), PAIR_ROWS):
        x, y = ia[lo:lo + PAIR_ROWS], ib[lo:lo + PAIR_ROWS]
        got = out[lo:lo + PAIR_ROWS]
        np.add.reduce(A[x] * B[y], axis=1, out=got)
        for u in range(1, k):
            np.minimum(got, np.add.reduce(A[x + u * step_a] * B[y + u * step_b], axis=1), out=got)
    return out


def _sliding_dots(A, B, ia, ib, k: int, b_steps: bool, use_kernel: bool):
    """``pair_dots``' least of k for pairs that come in runs (one side's row the same, the stepping
    side's next row along, as a row of the bead table): each run's products once, then the least
    of each window of k (the same values); None where runs are too short to gain."""
    lead, step = (ia, ib) if b_steps else (ib, ia)
    first = np.flatnonzero(np.r_[True, (lead[1:] != lead[:-1]) | (step[1:] != step[:-1] + 1)])
    if 2 * len(first) > len(ia):
        return None
    size = np.diff(np.r_[first, len(ia)])
    width = size + k - 1
    off = cumsum0(width)[:-1].astype(np.int64)
    along = np.repeat(step[first] - off, width) + np.arange(int(width.sum()))
    fixed = np.repeat(lead[first], width)
    dots = pair_dots(A, B, fixed, along, use_kernel=use_kernel) if b_steps else \
        pair_dots(A, B, along, fixed, use_kernel=use_kernel)
    at = np.repeat(off - first, size) + np.arange(len(ia))  # each pair's first product among them
    out = dots[at]
    for u in range(1, k):
        np.minimum(out, dots[at + u], out=out)
    return out


def column_best(sim: np.ndarray, use_kernel: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each column's largest value of a block (at least one row) and the first row holding it
    (``sim.max(axis=0)``, ``sim.argmax(axis=0)``), and the same over the other rows (-inf and row
    0 with one row): its two best. Compiled where it can be (``block_top_k``)."""
    n, m = sim.shape
    if use_kernel and compiled(sim):
        best, row = np.empty(m, dtype=np.float32), np.empty(m, dtype=np.int64)
        second, row2 = np.empty(m, dtype=np.float32), np.empty(m, dtype=np.int64)
        KERNELS.column_best(sim, n, m, best, row, second, row2)
        return best, row, second, row2
    best, row = _column_first_best(sim)
    rest = sim.copy()
    rest[row, np.arange(m)] = -np.inf
    return (best, row) + _column_first_best(rest)


def _column_first_best(sim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    best = sim.max(axis=0)
    r, c = np.divmod(np.flatnonzero(sim == best), sim.shape[1])  # not numpy's slow strided arg-reduction
    row = np.zeros(sim.shape[1], dtype=np.int64)
    row[c[::-1]] = r[::-1]  # the last write wins: the first row
    return best, row


def _best_k(cols: np.ndarray, vals: np.ndarray, k: int):
    """Each row's k best entries (columns ``cols``, values ``vals``; -inf: no entry), best first,
    equal values by the lower column (also at the k-th place: as the compiled pass keeps them)."""
    order = np.lexsort((cols, -vals), axis=1)[:, :k]
    return np.take_along_axis(cols, order, axis=1), np.take_along_axis(vals, order, axis=1)


@dataclass
class Neighbours:
    """Nearest neighbours across the languages, from one pass over the n×m (centred) similarities:
    each Chinese sentence's ``k`` most similar English sentences (``idx``, ``sims``; in no
    particular order) and each English sentence's two most similar Chinese sentences (``col_idx``,
    ``col_sims``; then ``col_idx2``, ``col_sims2``). The pipeline computes it once per document;
    the first path of every aligner run, the one-sided paragraphs' evidence, the rescue of moved
    sentences and calibration read it."""

    idx: np.ndarray
    sims: np.ndarray
    col_idx: np.ndarray
    col_sims: np.ndarray
    col_idx2: np.ndarray
    col_sims2: np.ndarray

    def reordered(self, order) -> "Neighbours":
        """The same for the English sentences taken in ``order`` (new position -> old)."""
        order = np.asarray(order, dtype=np.int64)
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
        return Neighbours(inv[self.idx], self.sims, self.col_idx[order], self.col_sims[order],
                          self.col_idx2[order], self.col_sims2[order])

    def columns(self) -> tuple[np.ndarray, np.ndarray]:
        """Each English sentence's two most similar Chinese sentences as top lists (m × 2), best first."""
        return np.stack([self.col_idx, self.col_idx2], axis=1), np.stack([self.col_sims, self.col_sims2], axis=1)

    def top(self, k: int, skip_rows=None, skip_cols=None, exact=None):
        """Each Chinese row's k best English columns (indices, sims) leaving out the columns
        ``skip_cols`` (a mask; their similarity counts as 0), rows ``skip_rows`` all 0 — what
        ``top_k`` of the matrix with those rows and columns zeroed gives, candidates of
        similarity <= 0 aside. Rows whose k best non-skipped columns may lie beyond the kept
        neighbours are recomputed by ``exact(rows)``."""
        idx, sims = self.idx, self.sims.copy()
        if skip_cols is not None and skip_cols.any():
            sims[skip_cols[idx]] = -np.inf
        if skip_rows is not None and skip_rows.any():
            sims[skip_rows] = -np.inf
        k = min(k, idx.shape[1])
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out_i, out_s = np.take_along_axis(idx, part, axis=1), np.take_along_axis(sims, part, axis=1)
        if skip_cols is not None and skip_cols.any() and exact is not None and k < self.idx.shape[1]:
            unsure = np.flatnonzero(np.isneginf(out_s).any(axis=1) & (self.sims.min(axis=1) > 0))
            if skip_rows is not None:
                unsure = unsure[~skip_rows[unsure]]
            if len(unsure):
                out_i[unsure], out_s[unsure] = exact(unsure)
        return out_i, out_s


EVIDENCE_BLOCK_CELLS = 1 << 22  # neighbours reads each block twice (rows and columns): bigger blocks
EVIDENCE_MIN_ROWS = 320  # ... of at least this many rows: each product packs all of e again, which at 83 rows of
# 50,000 cost as much as the multiplying (the products alone, both cores: 15.0 s at 83 rows, 9.7 s at 332; 64 MB a block)


def neighbours(z: np.ndarray, e: np.ndarray, k: int,
               also: Callable[[int, int, np.ndarray, int], None] | None = None,
               cells: int | None = None) -> Neighbours:
    """``Neighbours`` of unit rows z (Chinese) and e (English), in row blocks, a block on each core
    at a time (each block's product on one BLAS thread: the products and the passes over them run
    side by side; the results are those of one block after another).
    ``also(lo, hi, rows, first)``: called with each block's similarities, ``rows`` being the rows
    ``first`` .. ``first + len(rows)`` of the matrix, one more on each side of [lo, hi) where there
    is one (the move finder's smoothed candidates come from the same pass); it fills rows [lo, hi)
    of its own, so blocks may call it at once."""
    n, m = len(z), len(e)
    if cells is None:  # default: EVIDENCE_BLOCK_CELLS cells, at least EVIDENCE_MIN_ROWS rows, a block for each core
        per_core = -(-n // (os.cpu_count() or 1)) * m
        cells = max(min(EVIDENCE_BLOCK_CELLS, per_core), EVIDENCE_MIN_ROWS * m)
    k = min(k, m)
    idx = np.zeros((n, k), dtype=np.int64)
    sims = np.zeros((n, k), dtype=np.float32)
    col_idx, col_idx2 = np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    col_sims, col_sims2 = np.full(m, -np.inf, dtype=np.float32), np.full(m, -np.inf, dtype=np.float32)
    if k == 0 or n == 0:
        return Neighbours(idx, sims, col_idx, col_sims, col_idx2, col_sims2)

    def block(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        first = max(0, lo - 1) if also else lo
        rows = z[first:min(n, hi + 1) if also else hi] @ e.T
        sim = rows[lo - first:hi - first]
        idx[lo:hi], sims[lo:hi] = block_top_k(sim, k)
        if also:
            also(lo, hi, rows, first)
        best, row, second, row2 = column_best(sim)
        return best, row + lo, second, row2 + lo

    for b1, r1, b2, r2 in on_cores(block, list(row_blocks(n, m, cells))):  # in block order: ties go to the first row
        better = b1 > col_sims  # the block's best comes first; then the better of the kept best and its second
        keep2 = np.where(better, col_sims >= b2, col_sims2 >= b1)
        new2 = np.where(better, np.where(keep2, col_sims, b2), np.where(keep2, col_sims2, b1))
        new_r2 = np.where(better, np.where(keep2, col_idx, r2), np.where(keep2, col_idx2, r1))
        col_sims2[:], col_idx2[:] = new2, new_r2
        col_idx[better], col_sims[better] = r1[better], b1[better]
    return Neighbours(idx, sims, col_idx, col_sims, col_idx2, col_sims2)




def heaviest_chain(rows: Sequence[int], cols: Sequence[int], weights: Sequence[float], size: int,
                   use_kernel: bool = True) -> list[int]:
    """Indices of the heaviest chain of points (rows[t], cols[t]) strictly increasing in both,
    in order; the points come sorted by row, columns are below ``size``. Empty when no point.

    One pass in row order; a Fenwick tree over columns keeps the best chain ending below each
    column, and the points of one row are all queried before any of them is entered. Compiled
    where it can be (``KERNELS``; ``use_kernel`` False: this Python code)."""
    if not len(rows):
        return []
    if use_kernel and KERNELS is not None:
        out = np.empty(len(rows), dtype=np.int64)
        got = KERNELS.heaviest_chain(np.ascontiguousarray(rows, dtype=np.int64), np.ascontiguousarray(cols, dtype=np.int64),
                                     np.ascontiguousarray(weights, dtype=np.float64), len(rows), int(size), out)
        return out[:got].tolist()
    tree_val = [0.0] * (size + 1)
    tree_arg = [-1] * (size + 1)
    best: list[float] = []
    back: list[int] = []
    start = 0
    for t in range(len(rows) + 1):
        if t < len(rows) and rows[t] == rows[start]:
            continue
        for u in range(start, t):  # the points of one row: query first
            q, arg, x = 0.0, -1, int(cols[u])
            while x > 0:
                if tree_val[x] > q:
                    q, arg = tree_val[x], tree_arg[x]
                x -= x & -x
            best.append(q + float(weights[u]))
            back.append(arg)
        for u in range(start, t):  # then enter them
            x = int(cols[u]) + 1
            while x <= size:
                if best[u] > tree_val[x]:
                    tree_val[x], tree_arg[x] = best[u], u
                x += x & -x
        start = t
    cur = int(np.argmax(best))
    out = []
    while cur >= 0:
        out.append(cur)
        cur = back[cur]
    return out[::-1]


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of a 1-d array by sorting (numpy 2.4's hashing ``unique`` took 4 s for 3 M
    integers that sorting takes 0.03 s for)."""
    s = np.sort(values)
    return s[np.concatenate([[True], s[1:] != s[:-1]])] if len(s) else s


def consecutive(ids: np.ndarray) -> bool:
    """Whether the (non-empty) ids are k, k+1, k+2, …: rows a slice can read instead of a gather."""
    return int(ids[-1]) - int(ids[0]) == len(ids) - 1 and (len(ids) == 1 or bool(np.all(np.diff(ids) == 1)))


def cumsum0(values) -> np.ndarray:
    """Prefix sums with a leading 0: the sum over [s, e) is c[e] - c[s]."""
    return np.concatenate([[0.0], np.cumsum(values)])


def length_penalty(a, b):
    """Bertalign's length penalty log2(1 + shorter/longer) of lengths ``a`` and ``b`` (arrays or
    numbers; 1.0 where both are 0)."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return np.where(hi > 0, np.log2(1.0 + lo / np.maximum(hi, 1e-9)), 1.0)


@contextmanager
def one_blas_thread():
    """Matrix products on one BLAS thread inside the block: the aligner's products are small, and
    a small product on two threads costs far more than on one (thread hand-off, and on a busy
    machine waiting for the other core: 38×512 by 74×512 took 57 µs on one thread, 6.6 ms on two
    with the cores shared). Results do not depend on the thread count. The encoder keeps its threads."""
    with _blas_threads(1):
        yield


@contextmanager
def all_blas_threads():
    """Matrix products on every core inside the block (within ``one_blas_thread``): for the few
    large products (every run's composed embedding at once)."""
    with _blas_threads(os.cpu_count() or 1):
        yield


def on_cores(work: Callable, blocks: list[tuple]) -> Iterator:
    """``work(*b)`` for each of ``blocks``, one block on each core at a time (numpy leaves the
    interpreter while it computes; each product on one BLAS thread), the results in block order.
    ``work`` must write nothing another block reads or writes, and must not call ``on_cores``
    (the worker threads are the process's, ``_pool``). No block runs after this returns."""
    workers = min(os.cpu_count() or 1, len(blocks))
    if workers <= 1:  # one block: as the caller's threads are
        yield from (work(*b) for b in blocks)
        return
    from concurrent.futures import wait

    pool, ahead = _pool(), []
    with _blas_threads(1):
        try:
            ahead = [pool.submit(work, *b) for b in blocks[:2 * workers]]  # a few ahead: results wait little
            for t in range(len(blocks)):
                if t + 2 * workers < len(blocks):
                    ahead.append(pool.submit(work, *blocks[t + 2 * workers]))
                yield ahead[t].result()
                ahead[t] = None
        finally:  # the caller stopped early (an error): the blocks already started finish here
            wait([f for f in ahead if f is not None and not f.cancel()])


_POOL = None


def _pool():
    """The process's worker threads for ``on_cores``, one for each core, started once (a pool for
    each call cost 1.3 ms a call of three small blocks, this one 0.8 ms). A forked child starts
    its own (threads do not survive a fork)."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="align-core")
    return _POOL


def _forget_pool() -> None:
    global _POOL
    _POOL = None


os.register_at_fork(after_in_child=_forget_pool)


@contextmanager
def _blas_threads(n: int):
    global _THREADS
    if _THREADS is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a dependency of the package
            _THREADS = False
        else:
            _THREADS = ThreadpoolController()  # finds the BLAS libraries once
    if not _THREADS:  # pragma: no cover
        yield
        return
    with _THREADS.limit(limits=n, user_api="blas"):
        yield


_THREADS = None
