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
from .vectors import all_blas_threads, block_top_k, centred_pair, cumsum0, on_cores, row_sums, top_k, unit_rows

# Fitted by `python benchmarks/reorder.py --fit` (logistic regression on the beads of the six
# pre-split MAC-Dev documents, labelled right when the gold has exactly that bead; default encoder
# and aligner). Refit when the aligner's score or the encoder changes.
# The order columns (moved, log(1 + jump)) fitted on the 12 variants of `reorder.py --variants 2`
# with the others held fixed: 87 moved pairs (89.7 % right) barely differ from pairs in order
# (85.8 %); the 2 pairs that jumped more than 5 sentences were both wrong (a small sample: the
# coefficient is what the data says, to be refitted as jumped pairs are collected).
TWO_SIDED = (0.561, 5.61, 0.444, -0.665, -0.105, -3.32)  # intercept, raw, margin, size, moved, log(1 + jump)
ONE_SIDED = (1.99, -4.51)  # intercept, best cosine


def _best_outside(idx: np.ndarray, sims: np.ndarray, inside: list[list[int]]) -> np.ndarray:
    """For each row t, the best similarity of the top list ``idx[t]``, ``sims[t]`` (best first)
    whose index is not one of ``inside[t]``; -1 where every one is."""
    if not len(inside):
        return np.zeros(0)
    sizes = np.fromiter(map(len, inside), dtype=np.int64, count=len(inside))
    flat = np.fromiter(chain.from_iterable(inside), dtype=np.int64, count=int(sizes.sum()))
    pad = np.full((len(inside), max(int(sizes.max()), 1)), -1, dtype=np.int64)  # each row's ids, then -1
    pad[np.repeat(np.arange(len(inside)), sizes), np.arange(len(flat)) - np.repeat(np.cumsum(sizes) - sizes, sizes)] = flat
    out = ~(idx[:, :, None] == pad[:, None, :]).any(axis=2)  # which of the top lists are outside
    first = out.argmax(axis=1)
    return np.where(out.any(axis=1), sims[np.arange(len(idx)), first].astype(float), -1.0)


COMPETITORS = 2000  # sentences either side of a bead searched for its best competitor (a shorter side: all)
_BEADS_PER_BLOCK = 256


def near_top(queries: np.ndarray, keys: np.ndarray, k: int, lo: np.ndarray, hi: np.ndarray,
             window: int = COMPETITORS):
    """Each query's k most similar keys, best first, among the keys from ``window`` before to
    ``window`` after the range [lo, hi] of its block of queries (queries come in document order);
    all keys when there are at most 2 × window of them. Time stays linear in a long document
    (every key against every query is quadratic). The blocks of queries run on every core
    (``vectors.on_cores``)."""
    if len(keys) <= 2 * window:
        return top_k(queries, keys, k)
    idx = np.zeros((len(queries), k), dtype=np.int64)
    sims = np.zeros((len(queries), k), dtype=np.result_type(queries, keys))

    def block(s: int, t: int) -> None:
        a = max(0, int(lo[s:t].min()) - window)
        b = min(len(keys), int(hi[s:t].max()) + window + 1)
        got_i, sims[s:t] = block_top_k(queries[s:t] @ keys[a:b].T, k)
        idx[s:t] = got_i + a

    for _ in on_cores(block, [(s, min(len(queries), s + _BEADS_PER_BLOCK))
                              for s in range(0, len(queries), _BEADS_PER_BLOCK)]):
        pass
    return idx, sims


def _sides(vecs: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Each group's rows of ``vecs`` summed, at unit length (one gather and one sum for all)."""
    dim = vecs.shape[1] if vecs.ndim == 2 else 0
    if not groups:
        return np.zeros((0, dim), dtype=vecs.dtype)
    sizes = np.fromiter(map(len, groups), dtype=np.int64, count=len(groups))
    flat = np.fromiter(chain.from_iterable(groups), dtype=np.int64, count=int(sizes.sum()))
    return unit_rows(row_sums(vecs[flat], cumsum0(sizes)[:-1]))


def features(beads: list[Bead], zh_vecs: np.ndarray, en_vecs: np.ndarray, centred_vecs=None) -> list[list[float]]:
    """One feature row per bead: two-sided [raw, margin, size, moved, log(1 + jump)], one-sided [best cos].

    Only top-k lists are computed, in blocks (memory O((n + m)·k), never the n×m matrix): the best
    competitor outside a bead is among the top (bead size + 1) sentences of the other language
    (within ``COMPETITORS`` sentences of the bead in a long document).
    """
    z, e = centred_pair(zh_vecs, en_vecs, centred_vecs)
    two = [b for b in beads if b.two_sided]
    zv, ev = _sides(z, [b.zh_ids for b in two]), _sides(e, [b.en_ids for b in two])
    k_e = max((len(b.en_ids) for b in two), default=0) + 1
    k_z = max((len(b.zh_ids) for b in two), default=0) + 1
    en_lo = np.array([min(b.en_ids) for b in two], dtype=np.int64)
    en_hi = np.array([max(b.en_ids) for b in two], dtype=np.int64)
    zh_lo = np.array([min(b.zh_ids) for b in two], dtype=np.int64)
    zh_hi = np.array([max(b.zh_ids) for b in two], dtype=np.int64)
    lone_z = [b.zh_ids[0] for b in beads if not b.two_sided and b.zh_ids]
    lone_e = [b.en_ids[0] for b in beads if not b.two_sided and not b.zh_ids and b.en_ids]
    with all_blas_threads():  # large products
        ze_idx, ze_sim = near_top(zv, e, k_e, en_lo, en_hi)  # each bead's Chinese side against the English sentences
        ez_idx, ez_sim = near_top(ev, z, k_z, zh_lo, zh_hi)  # and its English side against the Chinese sentences
        best_z = dict(zip(lone_z, top_k(z[lone_z], e, 1)[1][:, 0].tolist())) if len(e) else {}
        best_e = dict(zip(lone_e, top_k(e[lone_e], z, 1)[1][:, 0].tolist())) if len(z) else {}
    alts = np.maximum(_best_outside(ze_idx, ze_sim, [b.en_ids for b in two]),
                      _best_outside(ez_idx, ez_sim, [b.zh_ids for b in two])).tolist()
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
                    two_sided=None, one_sided=None, centred_vecs=None) -> list[Bead]:
    """Set each bead's ``raw`` (the aligner's score) and ``score`` (calibrated, 0–1), in place.
    ``centred_vecs``: ``vectors.centred`` of the two vectors, if already made."""
    two_sided = two_sided or TWO_SIDED
    one_sided = one_sided or ONE_SIDED
    for b in beads:
        if b.raw is None:
            b.raw = b.score
    rows = features(beads, zh_vecs, en_vecs, centred_vecs)
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
