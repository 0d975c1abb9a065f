"""Calibrated bead confidence: a score in 0–1 that estimates the chance the bead is right.

The aligner's own score (cosine of the two sides × a length penalty) ranks
beads but is no probability: with the default encoder true pairs score about
0.4–0.7. Here a logistic model turns a few features of each bead into the
probability that the bead is exactly right (the strict criterion of
``score.py``), fitted on MAC-Dev by ``benchmarks/reorder.py --fit``:

* two-sided beads: the aligner's score; the margin of the cosine of the two
  sides' summed (document-centred) sentence embeddings over the best competing
  sentence outside the bead; and the bead's size;
* one-sided beads (a sentence with no counterpart): the sentence's best cosine
  with any sentence of the other language — a low one makes "unaligned" likely right.

The aligner's score stays in ``Bead.raw``; ``Bead.score`` becomes the
calibrated value.
"""

from __future__ import annotations

import numpy as np

from .model import Bead

# Fitted by `python benchmarks/reorder.py --fit` (logistic regression on the beads of the six
# pre-split MAC-Dev documents, labelled right when the gold has exactly that bead; default encoder
# and aligner). Refit when the aligner's score or the encoder changes.
TWO_SIDED = (0.611, 4.78, 0.693, -0.482)  # intercept, raw, margin, size
ONE_SIDED = (2.01, -5.64)  # intercept, best cosine


def _center(vecs: np.ndarray) -> np.ndarray:
    if len(vecs) < 2:
        return vecs
    out = vecs - vecs.mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return out / norms


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n else v


def features(beads: list[Bead], zh_vecs: np.ndarray, en_vecs: np.ndarray) -> list[list[float]]:
    """One feature row per bead: two-sided [raw, margin, size], one-sided [best cos]."""
    z, e = _center(np.asarray(zh_vecs)), _center(np.asarray(en_vecs))
    sim = z @ e.T if len(z) and len(e) else np.zeros((len(z), len(e)))
    rows = []
    for b in beads:
        raw = b.raw if b.raw is not None else b.score
        if b.two_sided:
            zv, ev = _unit(z[b.zh_ids].sum(axis=0)), _unit(e[b.en_ids].sum(axis=0))
            cos = float(zv @ ev)
            alt = -1.0
            out_e = np.ones(sim.shape[1], bool)
            out_e[b.en_ids] = False
            out_z = np.ones(sim.shape[0], bool)
            out_z[b.zh_ids] = False
            if out_e.any():
                alt = max(alt, float((zv @ e[out_e].T).max()))
            if out_z.any():
                alt = max(alt, float((ev @ z[out_z].T).max()))
            rows.append([float(raw or 0.0), cos - alt, float(len(b.zh_ids) + len(b.en_ids) - 2)])
        elif b.zh_ids:
            rows.append([float(sim[b.zh_ids[0]].max()) if sim.shape[1] else 0.0])
        else:
            rows.append([float(sim[:, b.en_ids[0]].max()) if sim.shape[0] else 0.0])
    return rows


def _logistic(coef, x) -> float:
    t = coef[0] + sum(c * v for c, v in zip(coef[1:], x))
    return float(1.0 / (1.0 + np.exp(-np.clip(t, -30, 30))))


def calibrate_beads(beads: list[Bead], zh_vecs: np.ndarray, en_vecs: np.ndarray,
                    two_sided=None, one_sided=None) -> list[Bead]:
    """Set each bead's ``raw`` (the aligner's score) and ``score`` (calibrated, 0–1), in place."""
    two_sided = two_sided or TWO_SIDED
    one_sided = one_sided or ONE_SIDED
    for b in beads:
        if b.raw is None:
            b.raw = b.score
    for b, x in zip(beads, features(beads, zh_vecs, en_vecs)):
        b.score = round(_logistic(two_sided if b.two_sided else one_sided, x), 4)
    return beads


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iters: int = 50) -> np.ndarray:
    """Intercept and coefficients of an L2-regularised logistic regression (Newton's method)."""
    x = np.hstack([np.ones((len(x), 1)), np.asarray(x, dtype=float)])
    y = np.asarray(y, dtype=float)
    w = np.zeros(x.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + l2 * np.r_[0, w[1:]]
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w
