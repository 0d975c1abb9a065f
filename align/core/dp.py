"""The dynamic programme: the best monotonic path of beads through a band of the n×m grid.

* ``band`` — for each DP row the range of columns to search, around the first path's anchors
  (linear in the document size, connected from (0, 0) to (n, m)).
* ``best_path`` — the path of bead types maximising the summed bead scores (``BeadScorer``),
  row by row, vectorised over the band; insertions within a row as a running maximum.
* ``shortlist`` — after a first pass with summed span embeddings, the multi-sentence beads
  worth a real embedding.
* ``Known`` — an earlier run's bead scores, read instead of scored again by a run of the same
  document against the English in another order (the move search's runs).
* ``Realigner`` — a finished alignment kept for cheap what-ifs: a window of the path aligned
  again with more sentences marked one-sided.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import NEG, BeadScorer
from .vectors import KERNELS, cumsum0

_MAX_GAP_CELLS = 16  # a gap between anchors is searched whole while it costs at most this many cells per sentence


def band(n: int, m: int, path: list[tuple[int, int]], window: int) -> list[tuple[int, int]]:
    """For each DP row i (0..n), the inclusive range of DP columns j to search."""
    # DP cell (i, j) means zh[:i] and en[:j] are aligned; anchor (ai, aj) covers cell (ai+1, aj+1).
    anchors = np.array([(-1, -1)] + [(i, j) for i, j in path] + [(n, m)], dtype=np.int64)
    i = np.arange(n + 1, dtype=np.int64)
    k = np.searchsorted(anchors[:, 0], i - 1, side="right")  # the anchors around row i: k - 1 and k
    (li, lj), (ui, uj) = anchors[k - 1].T, anchors[np.minimum(k, len(anchors) - 1)].T
    di, dj = ui - li, uj - lj
    # Small gap between anchors: search the whole rectangle between them.
    small = (di <= 1) | (di * (dj + 2 * window) <= _MAX_GAP_CELLS * (di + dj))
    lo = np.minimum(lj, uj) + 1 - window
    hi = np.maximum(lj, uj) + 1 + window
    # Big gap (few or no anchors, e.g. unrelated texts): follow the diagonal between the
    # anchors, so the band, and with it time and memory, stays linear in the document size.
    big = ~small
    slope = np.maximum(dj[big], 0) / di[big]
    diagonal = lj[big] + 1 + (i[big] - li[big] - 1) * slope
    lo[big] = diagonal.astype(np.int64) - window
    hi[big] = np.ceil(diagonal + slope).astype(np.int64) + window
    lo, hi = np.maximum(lo, 0), np.minimum(hi, m)
    # Make the band monotonic and connected, so that a path from (0, 0) to (n, m) always exists:
    # each row starts no earlier than the row before and no later than where that row ends.
    lo[0] = 0
    hi = np.maximum.accumulate(hi)
    start = np.maximum.accumulate(lo)
    if n and (start[1:] > hi[:-1]).any():  # some row would start past the last row's end: row by row
        rows, ends = lo.tolist(), hi.tolist()
        for r in range(1, n + 1):
            rows[r] = min(max(rows[r], rows[r - 1]), ends[r - 1])
        start = np.array(rows)
    hi[n] = m
    return list(zip(start.tolist(), hi.tolist()))


@dataclass
class Pass:
    """One run of the DP: the path [(a, b)] from the origin, each row's best scores (from the
    origin's row on), the score at the end cell (``NEG`` where the band does not join the two
    corners) and, when asked for, the bead scores (a ``Table``, for shortlisting)."""

    path: list[tuple[int, int]]
    rows: list[np.ndarray]
    end: float
    scores: "Table | None" = None


@dataclass
class Table:
    """The scores of every bead the DP considers: for each bead type, for each DP row r (row
    origin + r), the columns [c0, c1] it can end at (``ok`` false: none) and their scores at
    ``start[r]`` .. in ``flat`` (deletions: one score per row)."""

    types: list[tuple[int, int]]
    ok: list[np.ndarray]
    c0: list[np.ndarray]
    c1: list[np.ndarray]
    start: list[np.ndarray]
    flat: list[np.ndarray]

    def score(self, t: int, r: int, j: int) -> float | None:
        """The score of the bead of type t ending at DP cell (origin + r, j), if the DP considered it."""
        if not self.ok[t][r] or not self.c0[t][r] <= j <= self.c1[t][r]:
            return None
        return float(self.flat[t][self.start[t][r] + j - self.c0[t][r]])


def band_rows(wins) -> tuple[np.ndarray, np.ndarray]:
    """The band's rows as two arrays: each row's first and last column."""
    lo = np.fromiter((w[0] for w in wins), dtype=np.int64, count=len(wins))
    hi = np.fromiter((w[1] for w in wins), dtype=np.int64, count=len(wins))
    return lo, hi


KNOWN_MIN_SHARE = 0.5  # a run reads an earlier run's bead scores (Known) where they hold this share of its band


@dataclass
class Known:
    """The bead scores of an earlier run of the same document (a ``Table`` from its origin) with
    the same Chinese, the same sentences known to have no counterpart and the same options, but the
    English in another order: English position k of this run is position ``order[k]`` of that one.
    A bead whose English sentences run consecutively there too is the same bead and has the same
    score (its signals are the bead's own; the centring means do not depend on the order)."""

    table: Table
    order: np.ndarray

    def __post_init__(self):
        self.order = np.asarray(self.order, dtype=np.int64)
        self._piece = cumsum0(np.diff(self.order) != 1).astype(np.int64)  # runs of consecutive positions
        self._type = {t: k for k, t in enumerate(self.table.types)}

    def scores(self, a: int, b: int, I: np.ndarray, J: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For beads of type (a, b) ending at DP cells (I, J) of this run: which ones the earlier run
        scored, and their scores."""
        t, tab = self._type[(a, b)], self.table
        start = J - b
        same = self._piece[J - 1] == self._piece[start]
        I, J0 = I[same], self.order[start[same]] + b  # the bead's end cell in the earlier run
        ok, c0, c1 = tab.ok[t][I], tab.c0[t][I], tab.c1[t][I]
        hit = ok & (c0 <= J0) & (J0 <= c1)
        got = np.zeros(len(J), dtype=bool)
        at = np.flatnonzero(same)[hit]
        got[at] = True
        return got, tab.flat[t][tab.start[t][I[hit]] + J0[hit] - c0[hit]]

    def share(self, lo: np.ndarray, hi: np.ndarray, types, step: int = 8) -> float:
        """The share of the beads of a band from the origin (rows ``lo``..``hi``) that these scores
        hold, counted on every ``step``-th row: where the English order moved far, few (the run then
        scores its band as a first run does, which costs less than scoring most beads one by one)."""
        held = total = 0
        rows = np.arange(0, len(lo), step)
        for a, b in types:
            if b == 0:
                continue
            ok, c0, c1 = _type_cells(lo, hi, a, b)
            r = rows[ok[rows]]
            width = c1[r] - c0[r] + 1
            R = np.repeat(r, width)
            J = c0[R] + np.arange(len(R)) - np.repeat(_cumsum_start(width), width)
            held += int(self.scores(a, b, R, J)[0].sum())
            total += len(R)
        return held / total if total else 1.0


def _type_cells(lo: np.ndarray, hi: np.ndarray, a: int, b: int):
    """Where beads of type (a, b) end in the band's rows ``lo``..``hi``: (whether row r has any, and
    its first and last column c0[r]..c1[r]); a bead ending at (r, c) starts at (r - a, c - b)."""
    rows = np.arange(len(lo))
    pr = rows - a
    ok = (pr >= 0) & (a > 0)  # insertions (0, 1) are the forward pass's, within a row
    prc = np.maximum(pr, 0)
    c0 = np.maximum(lo, lo[prc] + b)
    c1 = np.minimum(hi, hi[prc] + b)
    return ok & (c0 <= c1), c0, c1


def bead_table(scorer: BeadScorer, i0: int, lo: np.ndarray, hi: np.ndarray, types, known: Known | None = None) -> Table:
    """The scores of all beads of the band's rows i0 .. i0 + len(lo) - 1, a chunk of rows at a time
    (every bead type of the chunk from the same run embeddings, ``BeadScorer.hold``); those
    ``known`` (for a band from the origin) are read, not scored."""
    wv = scorer.weight_vector()
    rows = np.arange(len(lo))
    ok_l, c0_l, c1_l, start_l, flat_l, width_l = [], [], [], [], [], []
    for a, b in types:
        ok, c0, c1 = _type_cells(lo, hi, a, b)
        if b == 0:  # a deletion: one score per row (a lone Chinese sentence is free)
            width = np.zeros(len(lo), dtype=np.int64)  # (no columns to score)
            start = rows.copy()
            flat = np.full(len(lo), scorer.type_weight(a, 0))
            if a == 1 and scorer.z.lone_cum is not None:
                i = rows + i0
                lone = scorer.z.lone_cum[np.minimum(i, len(scorer.z.lone_cum) - 1)] > scorer.z.lone_cum[np.maximum(i - 1, 0)]
                flat = np.where(lone & ok, 0.0, flat)
        else:
            width = np.where(ok, c1 - c0 + 1, 0)
            start = _cumsum_start(width)
            flat = np.zeros(int(width.sum()))
        for lst, v in zip((ok_l, c0_l, c1_l, start_l, flat_l, width_l), (ok, c0, c1, start, flat, width)):
            lst.append(v)
    for r0, r1 in _row_chunks(width_l):  # a chunk of rows at a time: memory stays bounded
        if known is None:  # (with one, the beads to score are few and scattered)
            _hold_spans(scorer, i0, r0, r1, types, c0_l, c1_l, width_l)
        for t, (a, b) in enumerate(types):
            width, c0, start = width_l[t], c0_l[t], start_l[t]
            if b == 0 or not width[r0:r1].any():
                continue
            R = np.repeat(rows[r0:r1], width[r0:r1])
            J = c0[R] + (np.arange(len(R)) - (start[R] - start[r0]))
            out = flat_l[t][start[r0]:start[r0] + len(R)]
            if known is None:
                out[:] = scorer.scores(R + i0 - a, a, J - b, b, wv)
                continue
            got, vals = known.scores(a, b, R + i0, J)
            out[got] = vals
            new = ~got
            if new.any():
                out[new] = scorer.scores(R[new] + i0 - a, a, J[new] - b, b, wv)
    scorer.hold()
    return Table(list(types), ok_l, c0_l, c1_l, start_l, flat_l)


def _hold_spans(scorer: BeadScorer, i0: int, r0: int, r1: int, types, c0_l, c1_l, width_l) -> None:
    """Have the scorer keep the run embeddings the beads of rows [r0, r1) meet (``BeadScorer.hold``):
    a bead of type (a, b) ending at cell (row, column) starts its runs at row - a and column - b."""
    zh, en = [], []  # (first start, end, run length) of each bead type with beads here
    for t, (a, b) in enumerate(types):
        ok = np.flatnonzero(width_l[t][r0:r1]) + r0
        if b > 0 and len(ok):
            zh.append((int(ok[0]) + i0 - a, int(ok[-1]) + i0 - a + 1, a))
            en.append((int(c0_l[t][ok].min()) - b, int(c1_l[t][ok].max()) - b + 1, b))
    if zh:
        scorer.hold(*((min(r[0] for r in side), max(r[1] for r in side), {r[2] for r in side}) for side in (zh, en)))


TABLE_BEADS = 1 << 18  # beads of one type scored at a time by bead_table (their features: 12 floats each)
HOLD_ROWS = 1024  # at most this many DP rows a chunk (the run embeddings kept for it: 2 KB a run)


def _row_chunks(widths: list[np.ndarray]):
    """Row ranges [r0, r1) of about TABLE_BEADS beads of the widest type and at most ``HOLD_ROWS``,
    from the first row with beads (a bead's score does not depend on the chunk it is scored in)."""
    width = np.max(widths, axis=0) if widths else np.zeros(0)
    nz = np.flatnonzero(width)
    if not len(nz):
        return
    first, last = int(nz[0]), int(nz[-1]) + 1
    per_row = max(1.0, float(width[first:last].mean()))
    step = max(1, min(int(TABLE_BEADS / per_row), HOLD_ROWS))
    for r0 in range(first, last, step):
        yield r0, min(last, r0 + step)


def _cumsum_start(width: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(width)[:-1]]).astype(np.int64) if len(width) else np.zeros(0, np.int64)


def _insertions(best: np.ndarray, back: np.ndarray, lone: np.ndarray | None, lo: int, hi: int,
                ins_w: float, code: int) -> None:
    """Insertions within a row, in place: best[j] = max(best[j], best[j-1] + w[j]), as a running
    maximum over best[k] - c[k] with c the summed insertion weights (a lone English sentence's is 0)."""
    if lone is None:
        c = np.arange(hi - lo + 1) * ins_w
    else:
        c = cumsum0(np.where(lone[lo:hi], 0.0, ins_w))
    run = np.maximum.accumulate(best - c) + c
    ins = run > best + 1e-12
    ins[0] = False
    back[ins] = code
    best[ins] = run[ins]


FORWARD_ROWS = 1024  # DP rows whose beads the forward pass lays out at a time (memory: 21 bytes a bead)


def _row_beads(table: Table, order, lo, off, r0: int, r1: int):
    """The beads of the table ending in rows [r0, r1), grouped by row: each one's row, its column
    in the row, the flat index of the cell it starts from, its score and its type's rank in
    ``order``; and where each row's beads start."""
    parts = []
    for rank, t in enumerate(order):
        a, b = table.types[t]
        r = r0 + np.flatnonzero(table.ok[t][r0:r1])
        if not len(r):
            continue
        c0 = table.c0[t][r]
        width = table.c1[t][r] - c0 + 1
        first = cumsum0(width)[:-1].astype(np.int64)
        R = np.repeat(r, width)
        k = np.arange(len(R)) - np.repeat(first, width)  # the bead's place in its row's run of columns
        J = np.repeat(c0, width) + k
        P = R - a
        prev = off[P] - lo[P] + J - b
        score = table.flat[t][R] if b == 0 else table.flat[t][np.repeat(table.start[t][r], width) + k]
        parts.append((R, J - lo[R], prev, score, np.full(len(R), rank, dtype=np.int64)))
    if not parts:
        return None
    R, col, prev, score, rank = (np.concatenate(x) for x in zip(*parts))
    by_row = np.argsort(R, kind="stable")
    R, col, prev, score, rank = R[by_row], col[by_row], prev[by_row], score[by_row], rank[by_row]
    return col, prev, score, rank, np.searchsorted(R, np.arange(r0, r1 + 1))


def _forward(table: Table, lo, hi, off, start_cell: bool, ins_lone, ins_w: float, ins_code: int,
             use_kernel: bool = True):
    """The DP's forward pass over the band's rows (flat arrays of the rows' best scores and back
    pointers, row r at off[r] .. off[r] + hi[r] - lo[r]). A row's cells take the best of all
    their beads at once (ties: the first type in ``order``, as a strict running maximum would),
    then its insertions. Compiled where it can be (``_kernels.forward``, the same numbers bit for
    bit; ``use_kernel`` False: this numpy code)."""
    total = int(off[-1] + hi[-1] - lo[-1] + 1)
    best_flat = np.full(total, NEG)
    back_flat = np.full(total, -1, dtype=np.int16)
    order = [t for t, (a, b) in enumerate(table.types) if b == 0] + \
            [t for t, (a, b) in enumerate(table.types) if a > 0 and b > 0]
    type_of = np.array(order, dtype=np.int16)
    if use_kernel and KERNELS is not None:
        def each(arrays, dtype):
            return [np.ascontiguousarray(arrays[t], dtype=dtype) for t in order]

        ab = np.array([table.types[t] for t in order], dtype=np.int64).reshape(-1, 2)
        lone = np.zeros(0, dtype=np.uint8) if ins_lone is None else np.ascontiguousarray(ins_lone, dtype=np.uint8)
        KERNELS.forward(np.ascontiguousarray(ab[:, 0]), np.ascontiguousarray(ab[:, 1]), each(table.ok, np.uint8),
                        each(table.c0, np.int64), each(table.c1, np.int64), each(table.start, np.int64),
                        each(table.flat, np.float64), type_of, np.ascontiguousarray(lo, dtype=np.int64),
                        np.ascontiguousarray(hi, dtype=np.int64), np.ascontiguousarray(off, dtype=np.int64),
                        int(start_cell), lone, float(ins_w), int(ins_code), float(NEG), best_flat, back_flat)
        return best_flat, back_flat
    for r0 in range(0, len(lo), FORWARD_ROWS):
        r1 = min(len(lo), r0 + FORWARD_ROWS)
        beads = _row_beads(table, order, lo, off, r0, r1)
        for r in range(r0, r1):
            l, h, o = int(lo[r]), int(hi[r]), int(off[r])
            best = best_flat[o:o + h - l + 1]
            back = back_flat[o:o + h - l + 1]
            if r == 0 and start_cell:
                best[0] = 0.0
            if beads is not None:
                col, prev, score, rank, at = beads
                k0, k1 = at[r - r0], at[r - r0 + 1]
                if k1 > k0:
                    cand = np.full((len(order) + 1, h - l + 1), NEG)  # row 0: no bead (the cell is NEG still)
                    cand[rank[k0:k1] + 1, col[k0:k1]] = best_flat[prev[k0:k1]] + score[k0:k1]
                    win = cand.argmax(axis=0)
                    won = win > 0
                    best[won] = cand[win[won], np.flatnonzero(won)]
                    back[won] = type_of[win[won] - 1]
            _insertions(best, back, ins_lone, l, h, ins_w, ins_code)
    return best_flat, back_flat


def best_path(scorer: BeadScorer, n: int, m: int, wins, types, keep_scores: bool = False,
              origin: tuple[int, int] = (0, 0), known: Known | None = None) -> Pass:
    """The best monotonic path of bead types through the band from ``origin`` to (n, m).

    All bead scores are computed first, one batch per bead type (``bead_table``); the forward pass
    then runs row by row (``known``: bead scores to read instead, for a band from the origin).
    A sub-rectangle (``origin`` not (0, 0), or a band of other than n + 1
    rows) uses the band clipped to it; if the band does not join its two corners, the path is empty."""
    i0, j0 = origin
    sub = origin != (0, 0) or len(wins) != n + 1
    lo, hi = band_rows(wins[i0:n + 1])
    if sub:
        lo, hi = np.maximum(lo, j0), np.minimum(hi, m)
        if np.any(lo > hi) or lo[0] != j0 or not lo[-1] <= m <= hi[-1]:
            return Pass([], [], NEG)
    table = bead_table(scorer, i0, lo, hi, types, known if origin == (0, 0) else None)
    tidx = {t: k for k, t in enumerate(types)}
    off = _cumsum_start(hi - lo + 1)
    best_flat, back_flat = _forward(table, lo, hi, off, int(lo[0]) == j0, scorer.e.lone,
                                    scorer.type_weight(0, 1), tidx[(0, 1)])
    rows = [best_flat[int(off[r]):int(off[r] + hi[r] - lo[r] + 1)] for r in range(len(lo))]
    scores = table if keep_scores else None
    end = float(rows[-1][m - lo[-1]])
    if sub and end <= NEG / 2:
        return Pass([], rows, end, scores)
    out = []
    i, j = n, m
    while i > i0 or j > j0:
        r = i - i0
        a, b = types[int(back_flat[off[r] + j - lo[r]])]
        out.append((a, b))
        i, j = i - a, j - b
    return Pass(out[::-1], rows, end, scores)


def shortlist(scorer: BeadScorer, wins, types, first: Pass, margin: float):
    """Multi-sentence runs worth a real embedding: at each bead boundary of the first (summed) path,
    and one column either side, the multi-sentence beads whose path score comes within ``margin``
    (in units of the cosine weight) of the best bead there (bead scores from the first pass)."""
    slack = margin * max(abs(scorer.w.get("cos", 1.0)), 1e-6)
    rows, table = first.rows, first.scores
    need_z, need_e = set(), set()
    cells, i, j = [], 0, 0
    for a, b in first.path:
        i, j = i + a, j + b
        cells += [(i, j - 1), (i, j), (i, j + 1)]
    multi = [(t, a, b) for t, (a, b) in enumerate(types) if a and b and (a, b) != (1, 1)]
    for i, j in cells:
        lo, hi = wins[i]
        if not lo <= j <= hi:
            continue
        cands = []
        for t, a, b in multi:
            p, s = i - a, j - b
            if p < 0 or s < 0 or not wins[p][0] <= s <= wins[p][1]:
                continue
            prev = rows[p][s - wins[p][0]]
            got = table.score(t, i, j)
            if prev <= NEG / 2 or got is None:
                continue
            cands.append((prev + float(np.float32(got)), p, a, s, b))
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
