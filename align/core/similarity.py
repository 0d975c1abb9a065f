"""The similarities of a document's sentences as the move finder reads them (``align.core.moves``).

* ``Similarity`` — centred cosines of Chinese × English sentences, computed on demand in blocks
  (never the whole n×m matrix), or a ready matrix (small inputs, tests);
* ``smoothed`` — a similarity plus ``MoveOptions.smooth`` × the best match of the row above just
  before and of the row below just after: a pair inside a block whose neighbours also pair up
  gains, an isolated look-alike does not (the whole-matrix reference version);
* ``Candidates`` / ``candidates`` — each Chinese row's top-k English columns of the smoothed
  similarities, a block of rows at a time: by a pass of their own, or from the document's one
  similarity pass (``vectors.neighbours(also=Candidates(...).add)``).
"""

from __future__ import annotations

import numpy as np

from .options import MoveOptions
from .vectors import KERNELS, all_blas_threads, block_top_k, compiled, row_blocks


class Similarity:
    """Cosine similarities of Chinese × English sentences, computed on demand in blocks.

    Built from the two (centred, unit) embedding matrices, it never holds the whole
    n×m matrix: memory stays linear in the document size. ``Similarity.of_matrix``
    wraps a ready matrix (small inputs, tests).
    """

    def __init__(self, zh: np.ndarray, en: np.ndarray):
        self.zh, self.en, self.matrix = zh, en, None
        self.shape = (zh.shape[0], en.shape[0])

    @classmethod
    def of_matrix(cls, sim: np.ndarray) -> "Similarity":
        out = cls.__new__(cls)
        out.zh = out.en = None
        out.matrix = np.asarray(sim)
        out.shape = out.matrix.shape
        return out

    def block(self, r0: int, r1: int, c0: int = 0, c1: int | None = None) -> np.ndarray:
        """Rows [r0, r1) × columns [c0, c1) of the similarity matrix."""
        c1 = self.shape[1] if c1 is None else c1
        if self.matrix is not None:
            return self.matrix[r0:r1, c0:c1]
        with all_blas_threads():  # a large product
            return self.zh[r0:r1] @ self.en[c0:c1].T


SLACK = 1e-5  # the smoothed similarities are ranked in float32 within this of the float64 sums (at most ~1e-6 apart)


def _smoothed(raw: np.ndarray, lo: int, hi: int, first: int, n: int, opt: MoveOptions):
    """Rows [lo, hi) of the smoothed similarities (``smoothed``), from ``raw``: rows ``first`` .. of
    the similarities, lo-1 .. hi where they exist. Each raw row's best match (at least 0) just
    before each column is taken once, in the similarities' own precision (a maximum is exact); its
    best just after column j is its best before j + reach, read in place (six passes over the
    block in all). Returns the float32 sums and ``exact(rows, cols)``: the float64 sums at those
    cells, as ``smoothed`` adds them (only the candidates' are needed: ``block_top_k``)."""
    a, b = max(0, lo - 1), min(n, hi + 1)
    ext = raw[a - first:b - first]
    r, m = opt.reach, ext.shape[1]
    pos = np.maximum(ext, 0)
    before = _best_before(pos, r)
    u0, d1 = max(lo, a + 1), min(hi, b - 1)  # rows with a row above / below them in ext
    up = before[u0 - 1 - a:hi - 1 - a]  # rows u0 .. hi-1: the row above's best before
    after = before[lo + 1 - a:d1 + 1 - a, r:]  # rows lo .. d1-1: the row below's best after, columns < w
    w = max(m - r, 0)
    own = ext[lo - a:hi - a]
    out = np.zeros((hi - lo, m), dtype=raw.dtype)
    if d1 > u0:
        np.add(up[:d1 - u0, :w], after[u0 - lo:], out=out[u0 - lo:d1 - lo, :w])
    if lo < u0 and lo < d1:  # the document's first row: no row above
        out[0, :w] = after[0]
    if hi > d1 and hi - 1 >= u0:  # its last row: no row below
        out[hi - 1 - lo, :w] = up[-1, :w]
    if w < m:  # the last columns: the best of j .. the row's end
        out[u0 - lo:, w:] = up[:, w:]
        out[:d1 - lo, w:] += np.maximum.accumulate(pos[lo + 1 - a:d1 + 1 - a, w:][:, ::-1], axis=1)[:, ::-1]
    out *= raw.dtype.type(opt.smooth)
    out += own

    def exact(rows, cols):
        acc = np.zeros(len(rows))
        has = rows >= u0 - lo
        acc[has] += up[rows[has] - (u0 - lo), cols[has]]
        has = rows < d1 - lo
        if has.any():
            below, c = rows[has] + lo + 1 - a, cols[has]
            acc[has] += np.max([pos[below, np.minimum(c + d, m - 1)] for d in range(r + 1)], axis=0)
        acc *= opt.smooth
        return acc + own[rows, cols]
    return out, exact


def _best_before(x: np.ndarray, r: int) -> np.ndarray:
    """Each row's best of columns j-r .. j (those there are), by doubling spans: one pass each
    (``x`` itself for r = 0)."""
    cur, span = x, 1  # cur[:, j] covers span columns
    while span < r + 1:
        step = min(span, r + 1 - span)
        nxt = np.empty_like(x)
        nxt[:, :step] = cur[:, :step]
        np.maximum(cur[:, step:], cur[:, :-step], out=nxt[:, step:])
        cur, span = nxt, span + step
    return cur


class Candidates:
    """Each Chinese row's top-k English columns of the (smoothed) similarities, filled a block of
    rows at a time (``add``): by ``candidates``' own pass, or by the document's one pass over its
    similarities (``vectors.neighbours(also=…)``) when no sentence is masked as lone."""

    def __init__(self, n: int, m: int, opt: MoveOptions):
        self.n, self.opt = n, opt
        k = min(opt.top_k, m)
        self.idx = np.zeros((n, k), dtype=np.int64)
        self.sims = np.zeros((n, k), dtype=np.float64)

    def add(self, lo: int, hi: int, raw: np.ndarray, first: int, use_kernel: bool = True) -> None:
        """Rows [lo, hi) from ``raw``, rows ``first`` .. of the similarities (lo-1 .. hi); compiled
        where it can be (``vectors.compiled``; ``use_kernel`` False: the numpy code)."""
        k = self.idx.shape[1]
        if not k or hi <= lo:
            return
        if self.opt.smooth and use_kernel and compiled(raw):
            KERNELS.smoothed_top_k(raw, raw.shape[0], raw.shape[1], lo - first, hi - first, k, float(self.opt.smooth),
                                   int(self.opt.reach), SLACK, self.idx[lo:hi], self.sims[lo:hi])
            return
        if self.opt.smooth:
            values, exact = _smoothed(raw, lo, hi, first, self.n, self.opt)
            self.idx[lo:hi], self.sims[lo:hi] = block_top_k(values, k, exact=exact, slack=SLACK)
        else:
            self.idx[lo:hi], self.sims[lo:hi] = block_top_k(raw[lo - first:hi - first], k, use_kernel=use_kernel)


def candidates(sim: Similarity, opt: MoveOptions, cells: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each Chinese row's top-k English columns of the (smoothed) similarities: (indices, values).

    Computed in row blocks (``vectors.row_blocks``, or of about ``cells`` cells): memory
    O((n + m)·k) plus one block.
    """
    n, m = sim.shape
    out = Candidates(n, m, opt)
    for lo, hi in row_blocks(n, m, cells):
        first = max(0, lo - 1)
        out.add(lo, hi, sim.block(first, min(n, hi + 1)), first)
    return out.idx, out.sims


def smoothed(sim: np.ndarray, opt: MoveOptions) -> np.ndarray:
    """sim[i, j] plus ``smooth`` × the best match of row i-1 just before j and of row i+1 just after j.

    A sentence pair inside a block whose neighbours also pair up gains; an isolated look-alike does not.
    Reference version on a whole matrix (n×m memory; tests): ``candidates`` computes the same in row blocks.
    """
    n, m = sim.shape
    pad = np.full((n + 2, m + 2 * opt.reach), -1.0)
    pad[1:-1, opt.reach:opt.reach + m] = sim
    before = np.max([pad[:-2, opt.reach - d:opt.reach - d + m] for d in range(0, opt.reach + 1)], axis=0)
    after = np.max([pad[2:, opt.reach + d:opt.reach + d + m] for d in range(0, opt.reach + 1)], axis=0)
    return sim + opt.smooth * (np.maximum(before, 0) + np.maximum(after, 0))
