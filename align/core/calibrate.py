"""Calibrated bead confidence: a score in 0–1 that estimates the chance the bead is right.

The aligner's own score (cosine of the two sides × a length penalty) ranks
beads but is no probability: with the default encoder true pairs score about
0.4–0.7. Here a logistic model turns a few features of each bead into the
probability that the bead is exactly right (the strict criterion of
``score.py``), fitted on MAC-Dev by ``benchmarks/reorder.py --fit``:

* two-sided beads: the aligner's score; the margin of the cosine of the two
  sides' summed (document-centred) sentence embeddings over the best competing
  sentence outside the bead; the bead's size; and its place in the order: whether
  its English stands out of the Chinese order (``Bead.moved``) and how far it jumps
  from its neighbours' English (log of 1 + ``Bead.jump``), whose coefficients are
  fitted on the press-release-like variants of ``benchmarks/reorder.py`` (moved,
  dropped and added paragraphs) with the other coefficients held fixed;
* one-sided beads (a sentence with no counterpart): the sentence's best cosine
  with any sentence of the other language — a low one makes "unaligned" likely right.

The aligner's score stays in ``Bead.raw``; ``Bead.score`` becomes the
calibrated value.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from ..model import Bead
from .vectors import Neighbours, all_blas_threads, block_top_k, centred_pair, cumsum0, on_cores, row_sums, top_k, unit_rows

# Fitted by `python benchmarks/reorder.py --fit` (logistic regression on the beads of the six
# pre-split MAC-Dev documents, labelled right when the gold has exactly that bead; default encoder
# and aligner). Refit when the aligner's score or the encoder changes.
# The order columns (moved, log(1 + jump)) fitted on the 12 variants of `reorder.py --variants 2`
# with the others held fixed: 87 moved pairs (89.7 % right) barely differ from pairs in order
# (85.8 %); the 2 pairs that jumped more than 5 sentences were both wrong (a small sample: the
# coefficient is what the data says, to be refitted as jumped pairs are collected).
TWO_SIDED = (0.561, 5.61, 0.444, -0.665, -0.105, -3.32)  # intercept, raw, margin, size, moved, log(1 + jump)
ONE_SIDED = (1.99, -4.51)  # intercept, best cosine


def _pad(groups: list[list[int]]) -> np.ndarray:
    """The groups' ids as rows of one array, filled out with -1."""
    sizes = np.fromiter(map(len, groups), dtype=np.int64, count=len(groups))
    flat = np.fromiter(chain.from_iterable(groups), dtype=np.int64, count=int(sizes.sum()))
    pad = np.full((len(groups), max(int(sizes.max(initial=0)), 1)), -1, dtype=np.int64)
    pad[np.repeat(np.arange(len(groups)), sizes), np.arange(len(flat)) - np.repeat(np.cumsum(sizes) - sizes, sizes)] = flat
    return pad


def _outside(idx: np.ndarray, inside: list[list[int]]) -> np.ndarray:
    """Which entries of each row of ``idx`` are not one of ``inside[t]``."""
    return ~(idx[:, :, None] == _pad(inside)[:, None, :]).any(axis=2)


def _best_outside(idx: np.ndarray, sims: np.ndarray, inside: list[list[int]]) -> np.ndarray:
    """For each row t, the best similarity of the top list ``idx[t]``, ``sims[t]`` (best first)
    whose index is not one of ``inside[t]``; -1 where every one is."""
    if not len(inside):
        return np.zeros(0)
    out = _outside(idx, inside)
    first = out.argmax(axis=1)
    return np.where(out.any(axis=1), sims[np.arange(len(idx)), first].astype(float), -1.0)


COMPETITORS = 2000  # sentences either side of a bead searched for its best competitor (a shorter side: all)
_BEADS_PER_BLOCK = 256


def _windows(lo: np.ndarray, hi: np.ndarray, n_keys: int, window: int = COMPETITORS) -> tuple[np.ndarray, np.ndarray]:
    """The keys [a, b) searched for each query (``near_top``): all of them when there are at most
    2 × ``window``, else from ``window`` before to ``window`` after the range [lo, hi] of the
    query's block of ``_BEADS_PER_BLOCK`` queries."""
    a, b = np.zeros(len(lo), dtype=np.int64), np.full(len(lo), n_keys, dtype=np.int64)
    if n_keys > 2 * window:
        for s in range(0, len(lo), _BEADS_PER_BLOCK):
            t = min(len(lo), s + _BEADS_PER_BLOCK)
            a[s:t] = max(0, int(lo[s:t].min()) - window)
            b[s:t] = min(n_keys, int(hi[s:t].max()) + window + 1)
    return a, b


def near_top(queries: np.ndarray, keys: np.ndarray, k: int, lo: np.ndarray, hi: np.ndarray,
             window: int = COMPETITORS, rows: np.ndarray | None = None):
    """Each query's k most similar keys, best first, among its ``_windows`` (queries come in
    document order): time stays linear in a long document (every key against every query is
    quadratic). ``rows``: only these queries (ascending; their results, in order). The blocks of
    queries run on every core (``vectors.on_cores``)."""
    rows = np.arange(len(queries)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(keys) <= 2 * window:
        return top_k(queries if len(rows) == len(queries) else queries[rows], keys, k)
    a, b = _windows(lo, hi, len(keys), window)
    idx = np.zeros((len(rows), k), dtype=np.int64)
    sims = np.zeros((len(rows), k), dtype=np.result_type(queries, keys))

    def block(u: int, v: int) -> None:
        r, first, end = rows[u:v], int(a[rows[u]]), int(b[rows[u]])
        got_i, sims[u:v] = block_top_k(queries[r] @ keys[first:end].T, k)
        idx[u:v] = got_i + first

    cuts = np.flatnonzero(np.diff(rows // _BEADS_PER_BLOCK)) + 1  # the rows of each block of queries
    bounds = np.concatenate([[0], cuts, [len(rows)]]).tolist()
    for _ in on_cores(block, [(u, v) for u, v in zip(bounds, bounds[1:]) if v > u]):
        pass
    return idx, sims


def _competitors(queries: np.ndarray, keys: np.ndarray, inside: list[list[int]], lo: np.ndarray, hi: np.ndarray,
                 listed=None, single: np.ndarray | None = None) -> np.ndarray:
    """Each bead side's (``queries``) best similarity to a key outside its own sentences ``inside[t]``
    among those ``near_top`` searches for it; -1 where there is none. ``listed``: the document's
    top lists of single sentences against the keys (``Neighbours.idx``, ``.sims``), ``single[t]``
    the side's one sentence (-1: several). A side of one sentence whose list holds a key of its
    window outside the bead has the best such key for answer (any better key would be listed
    too); the other sides are multiplied."""
    out = np.full(len(queries), -1.0)
    todo = np.arange(len(queries))
    if listed is not None and len(queries):
        a, b = _windows(lo, hi, len(keys))
        one = np.flatnonzero(single >= 0)
        idx, sims = listed[0][single[one]], listed[1][single[one]]
        ok = (idx >= a[one, None]) & (idx < b[one, None]) & _outside(idx, [inside[t] for t in one])
        found = ok.any(axis=1)
        out[one[found]] = np.where(ok, sims, -np.inf).max(axis=1)[found].astype(float)
        left = np.ones(len(queries), dtype=bool)
        left[one[found]] = False
        todo = np.flatnonzero(left)
    if len(todo):
        k = max(len(inside[t]) for t in todo.tolist()) + 1
        got_i, got_s = near_top(queries, keys, k, lo, hi, rows=todo)
        out[todo] = _best_outside(got_i, got_s, [inside[t] for t in todo.tolist()])
    return out


def _sides(vecs: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Each group's rows of ``vecs`` summed, at unit length (one gather and one sum for all)."""
    dim = vecs.shape[1] if vecs.ndim == 2 else 0
    if not groups:
        return np.zeros((0, dim), dtype=vecs.dtype)
    sizes = np.fromiter(map(len, groups), dtype=np.int64, count=len(groups))
    flat = np.fromiter(chain.from_iterable(groups), dtype=np.int64, count=int(sizes.sum()))
    return unit_rows(row_sums(vecs[flat], cumsum0(sizes)[:-1]))


def features(beads: list[Bead], zh_vecs: np.ndarray, en_vecs: np.ndarray, centred_vecs=None,
             near: Neighbours | None = None) -> list[list[float]]:
    """One feature row per bead: two-sided [raw, margin, size, moved, log(1 + jump)], one-sided [best cos].

    Only top-k lists are computed, in blocks (memory O((n + m)·k), never the n×m matrix): the best
    competitor outside a bead is among the top (bead size + 1) sentences of the other language
    (within ``COMPETITORS`` sentences of the bead in a long document). ``near``: the document's
    similarity pass over the same centred vectors; a side of one sentence reads its competitor
    from there where it can (``_competitors``: a Chinese sentence's top list, an English
    sentence's two best Chinese sentences).
    """
    z, e = centred_pair(zh_vecs, en_vecs, centred_vecs)
    two = [b for b in beads if b.two_sided]
    zv, ev = _sides(z, [b.zh_ids for b in two]), _sides(e, [b.en_ids for b in two])
    en_lo = np.array([min(b.en_ids) for b in two], dtype=np.int64)
    en_hi = np.array([max(b.en_ids) for b in two], dtype=np.int64)
    zh_lo = np.array([min(b.zh_ids) for b in two], dtype=np.int64)
    zh_hi = np.array([max(b.zh_ids) for b in two], dtype=np.int64)
    one_zh = np.array([b.zh_ids[0] if len(b.zh_ids) == 1 else -1 for b in two], dtype=np.int64)
    one_en = np.array([b.en_ids[0] if len(b.en_ids) == 1 else -1 for b in two], dtype=np.int64)
    lone_z = [b.zh_ids[0] for b in beads if not b.two_sided and b.zh_ids]
    lone_e = [b.en_ids[0] for b in beads if not b.two_sided and not b.zh_ids and b.en_ids]
    with all_blas_threads():  # large products
        rows, cols = ((near.idx, near.sims), near.columns()) if near is not None else (None, None)
        alt_z = _competitors(zv, e, [b.en_ids for b in two], en_lo, en_hi, rows, one_zh)  # Chinese side vs English
        alt_e = _competitors(ev, z, [b.zh_ids for b in two], zh_lo, zh_hi, cols, one_en)  # English side vs Chinese
        best_z = dict(zip(lone_z, top_k(z[lone_z], e, 1)[1][:, 0].tolist())) if len(e) else {}
        best_e = dict(zip(lone_e, top_k(e[lone_e], z, 1)[1][:, 0].tolist())) if len(z) else {}
    alts = np.maximum(alt_z, alt_e).tolist()
    rows = []
    t = 0
    for b in beads:
        raw = b.raw if b.raw is not None else b.score
        if b.two_sided:
            cos, alt = float(zv[t] @ ev[t]), alts[t]
            t += 1
            rows.append([float(raw or 0.0), cos - alt, float(len(b.zh_ids) + len(b.en_ids) - 2),
                         float(b.moved), float(np.log1p(b.jump))])
        elif b.zh_ids:
            rows.append([float(best_z.get(b.zh_ids[0], 0.0))])
        else:
            rows.append([float(best_e.get(b.en_ids[0], 0.0))])
    return rows


def _logistic(coef, x: np.ndarray) -> np.ndarray:
    """The model's probability for each row of features ``x``. The terms are added one column at a
    time, in order, as a Python sum adds them (a matrix product would round differently)."""
    t = np.zeros(len(x))
    for k, c in enumerate(coef[1:]):
        t = t + c * x[:, k]
    return 1.0 / (1.0 + np.exp(-np.clip(coef[0] + t, -30, 30)))


def calibrate_beads(beads: list[Bead], zh_vecs: np.ndarray, en_vecs: np.ndarray,
                    two_sided=None, one_sided=None, centred_vecs=None, near: Neighbours | None = None) -> list[Bead]:
    """Set each bead's ``raw`` (the aligner's score) and ``score`` (calibrated, 0–1), in place.
    ``centred_vecs``: ``vectors.centred`` of the two vectors, if already made; ``near``: the
    similarity pass over them, if made (``features``)."""
    two_sided = two_sided or TWO_SIDED
    one_sided = one_sided or ONE_SIDED
    for b in beads:
        if b.raw is None:
            b.raw = b.score
    rows = features(beads, zh_vecs, en_vecs, centred_vecs, near)
    for sided, coef in ((True, two_sided), (False, one_sided)):
        at = [t for t, b in enumerate(beads) if b.two_sided == sided]
        if at:
            for t, p in zip(at, _logistic(coef, np.array([rows[t] for t in at], dtype=float)).tolist()):
                beads[t].score = round(p, 4)
    return beads


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iters: int = 50, offset=None,
                 intercept: bool = True) -> np.ndarray:
    """(Intercept and) coefficients of an L2-regularised logistic regression (Newton's method);
    ``offset``: a fixed part of each row's logit (coefficients fitted on other data)."""
    x = np.asarray(x, dtype=float)
    if intercept:
        x = np.hstack([np.ones((len(x), 1)), x])
    y = np.asarray(y, dtype=float)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    w = np.zeros(x.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w + off, -30, 30)))
        grad = x.T @ (p - y) + l2 * (np.r_[0, w[1:]] if intercept else w)
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w
