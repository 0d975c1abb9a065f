"""The dynamic programme: the best monotonic path of beads through a band of the n×m grid.

* ``band`` — for each DP row the range of columns to search, around the first path's anchors
  (linear in the document size, connected from (0, 0) to (n, m)).
* ``best_path`` — the path of bead types maximising the summed bead scores (``BeadScorer``),
  row by row, vectorised over the band; insertions within a row as a running maximum.
* ``shortlist`` — after a first pass with summed span embeddings, the multi-sentence beads
  worth a real embedding.
* ``Realigner`` — a finished alignment kept for cheap what-ifs: a window of the path aligned
  again with more sentences marked one-sided.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from .features import BeadScorer

NEG = -1e18  # the score of a cell no path reaches
_MAX_GAP_CELLS = 16  # a gap between anchors is searched whole while it costs at most this many cells per sentence


def band(n: int, m: int, path: list[tuple[int, int]], window: int) -> list[tuple[int, int]]:
    """For each DP row i (0..n), the inclusive range of DP columns j to search."""
    anchors = [(-1, -1)] + [(i, j) for i, j in path] + [(n, m)]
    rows_i = [a[0] for a in anchors]
    out = []
    for i in range(n + 1):
        # DP cell (i, j) means zh[:i] and en[:j] are aligned; anchor (ai, aj) covers cell (ai+1, aj+1).
        k = bisect.bisect_right(rows_i, i - 1)
        lo_anchor = anchors[k - 1]
        hi_anchor = anchors[min(k, len(anchors) - 1)]
        di, dj = hi_anchor[0] - lo_anchor[0], hi_anchor[1] - lo_anchor[1]
        if di <= 1 or di * (dj + 2 * window) <= _MAX_GAP_CELLS * (di + dj):
            # Small gap between anchors: search the whole rectangle between them.
            lo = min(lo_anchor[1] + 1, hi_anchor[1] + 1) - window
            hi = max(lo_anchor[1] + 1, hi_anchor[1] + 1) + window
        else:
            # Big gap (few or no anchors, e.g. unrelated texts): follow the diagonal between the
            # anchors, so the band, and with it time and memory, stays linear in the document size.
            slope = max(dj, 0) / di
            start = lo_anchor[1] + 1 + (i - lo_anchor[0] - 1) * slope
            lo = int(start) - window
            hi = int(np.ceil(start + slope)) + window
        out.append((max(0, lo), min(m, hi)))
    # Make the band monotonic and connected, so that a path from (0, 0) to (n, m) always exists.
    out[0] = (0, out[0][1])
    for i in range(1, n + 1):
        lo, hi = out[i]
        plo, phi = out[i - 1]
        out[i] = (min(max(lo, plo), phi), max(hi, phi))
    out[n] = (out[n][0], m)
    return out


@dataclass
class Pass:
    """One run of the DP: the path [(a, b)] from the origin, each row's best scores (from the
    origin's row on), the score at the end cell (``NEG`` where the band does not join the two
    corners) and, when asked for, each bead's score as {(p, a, b): (first English start, scores
    by start)} (for shortlisting)."""

    path: list[tuple[int, int]]
    rows: list[np.ndarray]
    end: float
    scores: dict | None = None


def _bead_scores(scorer: BeadScorer, wv, p: int, a: int, b: int, c0: int, c1: int, exact) -> np.ndarray:
    """Scores of the beads zh[p:p+a] ↔ en[j-b:j] for DP columns j in [c0, c1]; a bead holding a
    sentence known to have no counterpart is impossible."""
    starts = np.arange(c0 - b, c1 - b + 1)
    f, _ = scorer.features(p, a, starts, b, exact is not None and (p, a) in exact)
    s = f @ wv + scorer.type_weight(a, b)
    if scorer.z.lone_cum is not None and scorer.z.lone_cum[p + a] > scorer.z.lone_cum[p]:
        return np.full_like(s, NEG)
    if scorer.e.lone_cum is not None:
        s = np.where(scorer.e.lone_cum[starts + b] > scorer.e.lone_cum[starts], NEG, s)
    return s


def _insertions(best: np.ndarray, back: np.ndarray, lone: np.ndarray | None, lo: int, hi: int,
                ins_w: float, code: int) -> np.ndarray:
    """Insertions within a row: best[j] = max(best[j], best[j-1] + w[j]), as a running maximum
    over best[k] - c[k] with c the summed insertion weights (a lone English sentence's is 0)."""
    if lone is None:
        c = np.arange(hi - lo + 1) * ins_w
    else:
        c = np.concatenate([[0.0], np.cumsum(np.where(lone[lo:hi], 0.0, ins_w))])
    run = np.maximum.accumulate(best - c) + c
    ins = run > best + 1e-12
    ins[0] = False
    back[ins] = code
    return np.where(ins, run, best)


def best_path(scorer: BeadScorer, n: int, m: int, wins, types, exact=None, keep_scores: bool = False,
              origin: tuple[int, int] = (0, 0)) -> Pass:
    """The best monotonic path of bead types through the band from ``origin`` to (n, m).

    A sub-rectangle (``origin`` not (0, 0), or a band of other than n + 1 rows) uses the band
    clipped to it; if the band does not join its two corners, the path is empty."""
    i0, j0 = origin
    sub = origin != (0, 0) or len(wins) != n + 1
    if sub:
        wins = {i: (max(wins[i][0], j0), min(wins[i][1], m)) for i in range(i0, n + 1)}
        if any(lo > hi for lo, hi in wins.values()) or wins[i0][0] != j0 or not wins[n][0] <= m <= wins[n][1]:
            return Pass([], [], NEG)
    wv = scorer.weight_vector()
    two = [(a, b) for a, b in types if a > 0 and b > 0]
    dels = [(a, b) for a, b in types if b == 0]
    tidx = {t: k for k, t in enumerate(types)}
    scores: dict | None = {} if keep_scores else None
    rows: list[np.ndarray] = []
    backs: list[np.ndarray] = []
    for i in range(i0, n + 1):
        lo, hi = wins[i]
        best = np.full(hi - lo + 1, NEG)
        back = np.full(hi - lo + 1, -1, dtype=np.int16)
        if i == i0 and lo == j0:
            best[0] = 0.0
        for a, b in dels + two:
            p = i - a
            if p < i0:
                continue
            plo, phi = wins[p]
            c0, c1 = max(lo, plo + b), min(hi, phi + b)
            if c0 > c1:
                continue
            if b == 0:
                lone = scorer.z.lone_cum is not None and scorer.z.lone_cum[i] > scorer.z.lone_cum[p]
                s = 0.0 if lone and a == 1 else scorer.type_weight(a, 0)
            else:
                s = _bead_scores(scorer, wv, p, a, b, c0, c1, exact)
                if scores is not None:
                    scores[(p, a, b)] = (c0 - b, s.astype(np.float32))
            cand = rows[p - i0][c0 - b - plo: c1 - b - plo + 1] + s
            seg = best[c0 - lo: c1 - lo + 1]
            better = cand > seg
            seg[better] = cand[better]
            back[c0 - lo: c1 - lo + 1][better] = tidx[(a, b)]
        best = _insertions(best, back, scorer.e.lone, lo, hi, scorer.type_weight(0, 1), tidx[(0, 1)])
        rows.append(best)
        backs.append(back)
    end = float(rows[-1][m - wins[n][0]])
    if sub and end <= NEG / 2:
        return Pass([], rows, end, scores)
    out = []
    i, j = n, m
    while i > i0 or j > j0:
        a, b = types[int(backs[i - i0][j - wins[i][0]])]
        out.append((a, b))
        i, j = i - a, j - b
    return Pass(out[::-1], rows, end, scores)


def shortlist(scorer: BeadScorer, wins, types, first: Pass, margin: float):
    """Multi-sentence runs worth a real embedding: at each bead boundary of the first (summed) path,
    and one column either side, the multi-sentence beads whose path score comes within ``margin``
    (in units of the cosine weight) of the best bead there (bead scores from the first pass)."""
    slack = margin * max(abs(scorer.w.get("cos", 1.0)), 1e-6)
    rows, scores = first.rows, first.scores
    need_z, need_e = set(), set()
    cells, i, j = [], 0, 0
    for a, b in first.path:
        i, j = i + a, j + b
        cells += [(i, j - 1), (i, j), (i, j + 1)]
    for i, j in cells:
        lo, hi = wins[i]
        if not lo <= j <= hi:
            continue
        cands = []
        for a, b in types:
            if a == 0 or b == 0 or (a == 1 and b == 1):
                continue
            p, s = i - a, j - b
            if p < 0 or s < 0 or not wins[p][0] <= s <= wins[p][1]:
                continue
            prev = rows[p][s - wins[p][0]]
            got = scores.get((p, a, b))
            if prev <= NEG / 2 or got is None or not 0 <= s - got[0] < len(got[1]):
                continue
            cands.append((prev + float(got[1][s - got[0]]), p, a, s, b))
        best = rows[i][j - lo]
        for val, p, a, s, b in cands:
            if val >= best - slack:
                if a > 1:
                    need_z.add((p, a))
                if b > 1:
                    need_e.add((s, b))
    return need_z, need_e


class Realigner:
    """A finished alignment, kept for cheap what-ifs: how much higher would the path score if
    more sentences were known to have no counterpart? Only a window of the path (the beads
    that hold those sentences and ``WINDOW_BEADS`` beads either side) is aligned again, with
    the same band, span embeddings and bead scores; the rest of the path stays as it is."""

    WINDOW_BEADS = 4

    def __init__(self, scorer: BeadScorer, wins, types, path, lone_zh=(), lone_en=()):
        self.scorer, self.wins, self.types, self.path = scorer, wins, types, list(path)
        self.lone = (sorted(lone_zh), sorted(lone_en))
        self._pending = None

    def _window(self, zh_ids, en_ids) -> tuple[int, int]:
        zs, es = set(zh_ids), set(en_ids)
        touch, i, j = [], 0, 0
        for k, (a, b) in enumerate(self.path):
            if zs.intersection(range(i, i + a)) or es.intersection(range(j, j + b)):
                touch.append(k)
            i, j = i + a, j + b
        if not touch:
            return 0, -1
        return max(touch[0] - self.WINDOW_BEADS, 0), min(touch[-1] + self.WINDOW_BEADS, len(self.path) - 1)

    def _sub(self, k0: int, k1: int, lone) -> tuple[list[tuple[int, int]], float]:
        i0 = sum(a for a, _ in self.path[:k0])
        j0 = sum(b for _, b in self.path[:k0])
        i1 = i0 + sum(a for a, _ in self.path[k0:k1 + 1])
        j1 = j0 + sum(b for _, b in self.path[k0:k1 + 1])
        self.scorer.set_lone(*lone)
        got = best_path(self.scorer, i1, j1, self.wins, self.types, origin=(i0, j0))
        return got.path, got.end if got.path else NEG

    def gain(self, lone_zh, lone_en) -> float:
        """The change of the path's score if ``lone_zh``/``lone_en`` (all marked sentences, the
        ones marked so far included) had no counterpart; ``keep()`` then makes it so."""
        new = (sorted(lone_zh), sorted(lone_en))
        k0, k1 = self._window(set(new[0]) - set(self.lone[0]), set(new[1]) - set(self.lone[1]))
        if k1 < k0:
            return 0.0
        _, before = self._sub(k0, k1, self.lone)
        path, after = self._sub(k0, k1, new)
        self.scorer.set_lone(*self.lone)
        self._pending = (k0, k1, path, new)
        return after - before if after > NEG / 2 else NEG

    def keep(self) -> None:
        """Take the last ``gain``'s marks and its re-aligned window."""
        k0, k1, path, new = self._pending
        self.path[k0:k1 + 1] = path
        self.lone = new
        self.scorer.set_lone(*new)
