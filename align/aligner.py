"""Sentence alignment from embeddings, in Bertalign's class and beyond.

Two passes, as in Bertalign (Liu & Zhu 2022):

1. *Anchors*: for every Chinese sentence its top-k most similar English
   sentences (computed in row blocks, so memory stays linear); the monotonic
   chain of such 1-1 candidates with the highest total similarity is the
   first search path.
2. *Beads*: dynamic programming over a window around that path with beads up
   to 1-5 / 5-1 (and 2-2, 2-3, 3-2), plus insertions and deletions. A bead's
   score is the cosine similarity of the embeddings of its two sides (each
   side's sentences joined and embedded once) times a length penalty fitted
   on the document's own Chinese/English length ratio.

Every input sentence ends up in exactly one bead.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from .embed import Encoder
from .model import Bead, join_en, join_zh


@dataclass
class AlignOptions:
    """Knobs of the aligner (defaults are the tuned ones)."""

    max_bead: int = 5  # largest side of a 1-n / n-1 bead
    top_k: int = 3  # anchor candidates per Chinese sentence
    window: int = 5  # search window around the first path, in sentences
    skip: float = -0.1  # score of an insertion or deletion
    center: bool = True  # subtract each side's mean embedding (per document)
    spans: str = "embed"  # "embed": embed each multi-sentence side; "sum": sum of its sentence embeddings


def _bead_types(max_bead: int) -> list[tuple[int, int]]:
    types = [(0, 1), (1, 0), (1, 1)]
    types += [(1, b) for b in range(2, max_bead + 1)] + [(a, 1) for a in range(2, max_bead + 1)]
    types += [(2, 2), (2, 3), (3, 2)]
    return types


def _center(vecs: np.ndarray, mean: np.ndarray) -> np.ndarray:
    out = vecs - mean
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return out / norms


def _top_k(zh: np.ndarray, en: np.ndarray, k: int, block: int = 2048):
    """For each row of zh, the k most similar rows of en: (indices, sims), computed in blocks."""
    k = min(k, en.shape[0])
    idx = np.zeros((zh.shape[0], k), dtype=np.int64)
    sims = np.zeros((zh.shape[0], k), dtype=np.float32)
    block = max(16, min(block, (1 << 16) // max(1, en.shape[0])))  # rows per block: about 64k cells at a time
    for s in range(0, zh.shape[0], block):
        sim = zh[s:s + block] @ en.T
        part = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        idx[s:s + block] = part
        sims[s:s + block] = np.take_along_axis(sim, part, axis=1)
    return idx, sims


def first_path(zh: np.ndarray, en: np.ndarray, top_k: int) -> list[tuple[int, int]]:
    """The monotonic chain of 1-1 top-k candidates with the highest total similarity."""
    if zh.shape[0] == 0 or en.shape[0] == 0:
        return []
    idx, sims = _top_k(zh, en, top_k)
    # Heaviest strictly increasing chain over points (i, j): process rows in order,
    # points of one row against a prefix-max structure over j built from earlier rows.
    m = en.shape[0]
    tree_val = np.full(m + 1, -np.inf)
    tree_arg = np.full(m + 1, -1, dtype=np.int64)
    points: list[tuple[int, int]] = []
    back: list[int] = []
    score: list[float] = []

    def query(j):  # best chain ending at en index < j
        best, arg = 0.0, -1
        while j > 0:
            if tree_val[j] > best:
                best, arg = tree_val[j], tree_arg[j]
            j -= j & -j
        return best, arg

    def update(j, val, arg):
        j += 1
        while j <= m:
            if val > tree_val[j]:
                tree_val[j], tree_arg[j] = val, arg
            j += j & -j

    for i in range(zh.shape[0]):
        row = []
        for j, s in zip(idx[i], sims[i]):
            if s <= 0:
                continue
            best, arg = query(int(j))
            row.append((int(j), best + float(s), arg))
        for j, val, arg in row:
            points.append((i, j))
            back.append(arg)
            score.append(val)
            update(j, val, len(points) - 1)
    if not points:
        return []
    cur = int(np.argmax(score))
    path = []
    while cur >= 0:
        path.append(points[cur])
        cur = back[cur]
    return path[::-1]


_MAX_GAP_CELLS = 16  # a gap between anchors is searched whole while it costs at most this many cells per sentence


def _windows(n: int, m: int, path: list[tuple[int, int]], window: int) -> list[tuple[int, int]]:
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


class _Spans:
    """Embeddings of runs of consecutive sentences, computed once each, on demand."""

    def __init__(self, texts, lens, single, encoder, joiner, mean):
        self.texts, self.lens, self.encoder, self.joiner, self.mean = texts, lens, encoder, joiner, mean
        self.vecs = {(i, 1): v for i, v in enumerate(single)}
        self.raw = None
        self.cum = np.concatenate([[0], np.cumsum(lens)])

    def need(self, keys):
        todo = sorted({k for k in keys if k not in self.vecs})
        if not todo:
            return
        if self.raw is not None:  # cheap: the sum of the sentence embeddings
            raw = self.raw
            vecs = np.stack([raw[s:s + a].sum(axis=0) for s, a in todo])
            vecs = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        else:
            vecs = self.encoder.encode([self.joiner(self.texts[s:s + a]) for s, a in todo])
        if self.mean is not None:
            vecs = _center(vecs, self.mean)
        for k, v in zip(todo, vecs):
            self.vecs[k] = v

    def length(self, s, a):
        return self.cum[s + a] - self.cum[s]


def _length_penalty(lz: float, le: float) -> float:
    lo, hi = min(lz, le), max(lz, le)
    if hi <= 0:
        return 1.0
    return float(np.log2(1.0 + lo / hi))


def align(zh_texts: list[str], en_texts: list[str], encoder: Encoder,
          options: AlignOptions | None = None,
          zh_vecs: np.ndarray | None = None, en_vecs: np.ndarray | None = None) -> list[Bead]:
    """Align two sentence lists; every sentence ends up in exactly one bead, in order."""
    opt = options or AlignOptions()
    n, m = len(zh_texts), len(en_texts)
    if n == 0 or m == 0:
        return [Bead([i], []) for i in range(n)] + [Bead([], [j]) for j in range(m)]
    if zh_vecs is None:
        zh_vecs = encoder.encode(zh_texts)
    if en_vecs is None:
        en_vecs = encoder.encode(en_texts)
    raw_z, raw_e = zh_vecs, en_vecs
    zh_mean = en_mean = None
    if opt.center and n > 1 and m > 1:
        zh_mean, en_mean = zh_vecs.mean(axis=0), en_vecs.mean(axis=0)
        zh_vecs, en_vecs = _center(zh_vecs, zh_mean), _center(en_vecs, en_mean)

    zh_len = np.array([len("".join(t.split())) for t in zh_texts], dtype=float)
    en_len = np.array([len("".join(t.split())) for t in en_texts], dtype=float)
    ratio = zh_len.sum() / max(en_len.sum(), 1.0)  # Chinese characters per English character

    path = first_path(zh_vecs, en_vecs, opt.top_k)
    wins = _windows(n, m, path, opt.window)
    types = _bead_types(opt.max_bead)

    zs = _Spans(zh_texts, zh_len, zh_vecs, encoder, join_zh, zh_mean)
    es = _Spans(en_texts, en_len, en_vecs, encoder, join_en, en_mean)
    if opt.spans == "sum":
        zs.raw, es.raw = raw_z, raw_e
    need_z, need_e = set(), set()
    for i in range(n + 1):
        lo, hi = wins[i]
        for a, b in types:
            if a > 1 and i - a >= 0:
                need_z.add((i - a, a))
            if b > 1:
                for j in range(max(lo, b), hi + 1):
                    need_e.add((j - b, b))
    zs.need(need_z)
    es.need(need_e)

    score = {(0, 0): 0.0}
    back: dict[tuple[int, int], tuple[int, int, float | None]] = {}
    for i in range(n + 1):
        lo, hi = wins[i]
        for j in range(lo, hi + 1):
            if i == 0 and j == 0:
                continue
            best, arg = -np.inf, None
            for a, b in types:
                pi, pj = i - a, j - b
                prev = score.get((pi, pj))
                if prev is None:
                    continue
                if a == 0 or b == 0:
                    s, bead_score = opt.skip, None
                else:
                    sim = float(zs.vecs[(pi, a)] @ es.vecs[(pj, b)])
                    lp = _length_penalty(zs.length(pi, a), es.length(pj, b) * ratio)
                    s = bead_score = sim * lp
                if prev + s > best:
                    best, arg = prev + s, (a, b, bead_score)
            if arg is not None:
                score[(i, j)] = best
                back[(i, j)] = arg
    beads: list[Bead] = []
    i, j = n, m
    while i > 0 or j > 0:
        a, b, s = back[(i, j)]
        beads.append(Bead(list(range(i - a, i)), list(range(j - b, j)),
                          None if s is None else float(min(1.0, max(0.0, s)))))
        i, j = i - a, j - b
    return beads[::-1]
