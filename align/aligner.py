"""Sentence alignment from embeddings plus length, dictionary and anchor signals.

Two passes, as in Bertalign (Liu & Zhu 2022), with a richer bead score:

1. *Anchors*: for every Chinese sentence its top-k most similar English
   sentences (computed in row blocks, so memory stays linear); the monotonic
   chain of such 1-1 candidates with the highest total similarity is the
   first search path.
2. *Beads*: dynamic programming over a band around that path with beads up
   to 1-6 / 5-1 (and 2-2, 2-3, 3-2, 2-4, 3-3), insertions and deletions. The
   path maximises the sum of its beads' scores; a bead's score is a weighted
   sum of a few signals (``WEIGHTS``, fitted on MAC-Dev by a structured
   perceptron with leave-one-document-out checks, ``benchmarks/quality.py``):

   * the cosine of the embeddings of its two sides (document-centred). A
     multi-sentence side is first the normalised sum of its sentence
     embeddings; by default (``spans="refine"``) a first DP pass with those
     sums shortlists the multi-sentence beads that come close to the best one
     at the path's bead boundaries, only those sides are embedded for real,
     and the DP runs again (``"sum"``: sums only, fastest; ``"embed"``: every
     side in the band embedded, the old way, several times slower);
   * a length signal: the squared log ratio of Chinese characters to English
     characters, against the document's own ratio;
   * (Chinese side only) the share of English content words that a Chinese
     word of the bead translates to through CC-CEDICT (``align.lexical``), and
     the other way round, the share of the Chinese dictionary words whose
     translation occurs in the English side ("zlex");
   * for a bead with more than one sentence on a side: its cosine again (a
     weight of its own, "mcos"), and how far its weakest member falls behind,
     i.e. the lowest cosine between one member sentence and the whole other
     side, minus the bead's cosine, summed over the two sides ("memb": a
     sentence that does not belong);
   * matching and unmatched anchors: numbers (``129.8亿`` = ``12.98 billion``),
     percentages, Latin names and acronyms;
   * a prior per bead type (1-1, 1-2, …, insertion, deletion);
   * optionally (``csls=True``; measured, no gain, so off) a CSLS-style hubness discount;
   * optionally, a paragraph boundary crossed inside a bead.

   Sentences known to have no counterpart (``lone_zh``/``lone_en``, from
   ``align.unpaired``) are kept out of every two-sided bead and cost nothing
   one-sided; the length ratio is then the document's without them.

   The DP runs row by row, vectorised over the band, so time and memory are
   linear in the document size.

``Bead.score`` stays what other modules calibrate on: the cosine of the two
sides times a length penalty, clipped to [0, 1]; one-sided beads have None.
Every input sentence ends up in exactly one bead.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import numpy as np

from . import lexical
from .embed import Encoder
from .model import Bead, join_en, join_zh

FEATURES = ("cos", "len", "lex", "hit", "miss", "para", "hub", "punct", "quote", "zlex", "mcos", "memb")

# Fitted by `python benchmarks/quality.py --fit` on MAC-Dev (spans="embed", which gives the beads that
# "refine" keeps their real embeddings): conditional logit of the next bead, a per-bead price chosen on
# the training documents, then averaged structured perceptron (10 epochs).
# Leave-one-document-out MAC-Dev: strict F1 0.892, lax F1 0.995 (training score 0.904 / 0.997).
# "para" (paragraph breaks inside a bead) cannot be fitted on MAC-Dev, which has no paragraphs; it is
# set by hand to -1.0 (about 0.2 of cosine), measured on benchmarks/reorder.py's press-release-like
# variants: strict text-bead F1 0.807 -> 0.818 (variants), 0.864 -> 0.877 (controls); -2.0 gave
# 0.821 / 0.880, so the milder value. Pre-split input has no paragraphs: no effect. Insertions and
# deletions are capped at -3.0 (MAC-Dev has 6 deletions in 1463 sentences, press releases have
# captions and "About" sections; uncapped fits gave -4.9 / -3.7 and unrelated sentences got absorbed
# into big beads).
WEIGHTS: dict[str, float] = {
    "cos": 4.855, "len": 3.469, "lex": 2.365, "hit": 0.420, "miss": -1.343, "para": -1.0, "hub": 0.0,
    "punct": -0.092, "quote": 0.625, "zlex": 1.988, "mcos": 2.404, "memb": 1.665,
    "t0-1": -3.0, "t1-0": -2.924, "t1-1": -0.614, "t1-2": -1.307, "t1-3": -1.295, "t1-4": -1.164,
    "t1-5": -2.326, "t1-6": -2.410, "t2-1": -1.909, "t3-1": -3.517, "t4-1": -2.779, "t5-1": -2.471,
    "t2-2": -2.621, "t2-3": -3.249, "t3-2": -3.746, "t2-4": -4.270, "t3-3": -4.847,
}
COSINE_WEIGHTS: dict[str, float] = {"cos": 1.0}  # Bertalign-style: cosine × length penalty, flat skips


@dataclass
class AlignOptions:
    """Knobs of the aligner (defaults are the tuned ones); each lever is one field."""

    max_bead: int = 6  # largest side of a 1-n / n-1 bead
    top_k: int = 3  # anchor candidates per Chinese sentence
    window: int = 5  # search window around the first path, in sentences
    skip: float = -0.1  # score of an insertion or deletion (scorer="cosine" only)
    center: bool = True  # subtract each side's mean embedding (per document)
    spans: str = "refine"  # multi-sentence sides: "sum" of sentence embeddings, "embed" each, "refine" shortlisted
    scorer: str = "learned"  # "learned": WEIGHTS over all signals; "cosine": Bertalign's sim × length; "length": no embeddings
    lexical: bool = True  # CC-CEDICT dictionary overlap (Chinese side only)
    anchors: bool = True  # numbers, percentages, Latin names as anchors
    length: bool = True  # the length signal in the learned score
    weights: dict | None = None  # override WEIGHTS (for experiments)
    punct: bool = True  # question/exclamation marks and quotation marks should agree across a bead
    csls: bool = False  # margin scoring: discount sentences similar to everything (CSLS hubness)
    refine_margin: float = 0.15  # spans="refine": embed multi-sentence candidates within this of the best


def _bead_types(max_bead: int) -> list[tuple[int, int]]:
    types = [(0, 1), (1, 0), (1, 1)]
    types += [(1, b) for b in range(2, max_bead + 1)] + [(a, 1) for a in range(2, min(max_bead, 5) + 1)]
    types += [(2, 2), (2, 3), (3, 2)]
    if max_bead >= 4:
        types += [(2, 4), (3, 3)]
    return types


def type_key(a: int, b: int) -> str:
    return f"t{a}-{b}"


def _center(vecs: np.ndarray, mean: np.ndarray) -> np.ndarray:
    out = vecs - mean
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return out / norms


def centred(vecs: np.ndarray) -> np.ndarray:
    """Document-centred embeddings: each row minus the rows' mean, at unit length."""
    return _center(vecs, vecs.mean(axis=0))


def unit(v: np.ndarray) -> np.ndarray:
    """One vector at unit length (a zero vector stays zero)."""
    return v / (np.linalg.norm(v) or 1.0)


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


_QUOTE = re.compile(r"[“”「」『』\"]|(?<![A-Za-z])['‘’]|['‘’](?![A-Za-z])")


def _quotes(text: str) -> int:
    """Quotation marks in a sentence (apostrophes inside words are not quotes)."""
    return len(_QUOTE.findall(text))


class _Side:
    """One language's sentences: lengths, embeddings of runs of sentences, lexical signals."""

    def __init__(self, texts, vecs, raw, mean, encoder, joiner, spans):
        self.texts, self.vecs, self.raw, self.mean = texts, vecs, raw, mean
        self.encoder, self.joiner, self.spans = encoder, joiner, spans
        lens = np.array([len("".join(t.split())) for t in texts], dtype=float)
        self.cum = np.concatenate([[0.0], np.cumsum(lens)])
        self.cache: dict[tuple[int, int], np.ndarray] = {}
        marks = np.array([[t.count("?") + t.count("？"), t.count("!") + t.count("！"), _quotes(t)] for t in texts],
                         dtype=float)
        self.marks = np.concatenate([np.zeros((1, 3)), np.cumsum(marks, axis=0)])

    def length(self, starts, a):
        return self.cum[starts + a] - self.cum[starts]

    def _finish(self, vecs):
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
        return _center(vecs, self.mean) if self.mean is not None else vecs

    def summed(self, starts: np.ndarray, a: int) -> np.ndarray:
        """Embeddings of the runs [s, s+a) for each start s, from summed sentence embeddings."""
        if a == 1:
            return self.vecs[starts]
        acc = self.raw[starts].astype(np.float32, copy=True)
        for t in range(1, a):
            acc += self.raw[starts + t]
        return self._finish(acc)

    def need(self, keys) -> None:
        """Embed the runs (start, a) not embedded yet, in one batch."""
        todo = sorted({k for k in keys if k[1] > 1 and k not in self.cache})
        if todo:
            vecs = self.encoder.encode([self.joiner(self.texts[s:s + a]) for s, a in todo])
            vecs = _center(vecs, self.mean) if self.mean is not None else vecs
            self.cache.update(zip(todo, vecs))

    def embedded(self, starts: np.ndarray, a: int) -> np.ndarray:
        if a == 1:
            return self.vecs[starts]
        self.need([(int(s), a) for s in starts])
        return np.stack([self.cache[(int(s), a)] for s in starts])

    def span_vecs(self, starts, a, exact=False):
        if self.vecs is None:
            return None
        if exact or self.spans == "embed":
            return self.embedded(starts, a)
        out = self.summed(starts, a)
        if self.spans == "refine" and a > 1 and self.cache:  # the shortlisted runs have their own embedding
            for t, s in enumerate(starts):
                v = self.cache.get((int(s), a))
                if v is not None:
                    out[t] = v
        return out


class _Context:
    """What the bead score of one document needs."""

    def __init__(self, zh_texts, en_texts, encoder, opt, zh_vecs, en_vecs, zh_paras=None, en_paras=None):
        self.opt = opt
        n, m = len(zh_texts), len(en_texts)
        zh_mean = en_mean = None
        raw_z, raw_e = zh_vecs, en_vecs
        if zh_vecs is not None and opt.center and n > 1 and m > 1:
            zh_mean, en_mean = zh_vecs.mean(axis=0), en_vecs.mean(axis=0)
            zh_vecs, en_vecs = _center(zh_vecs, zh_mean), _center(en_vecs, en_mean)
        self.z = _Side(zh_texts, zh_vecs, raw_z, zh_mean, encoder, join_zh, opt.spans)
        self.e = _Side(en_texts, en_vecs, raw_e, en_mean, encoder, join_en, opt.spans)
        self.ratio = self.z.cum[-1] / max(self.e.cum[-1], 1.0)  # Chinese characters per English character
        self.full_ratio = self.ratio
        w = dict(COSINE_WEIGHTS if opt.scorer == "cosine" else WEIGHTS)
        w.update(opt.weights or {})
        if not opt.length:
            w["len"] = 0.0
        self.w = w
        learned = opt.scorer != "cosine"
        self.use_lex = learned and opt.lexical and lexical.is_chinese(zh_texts)
        self.use_anchors = learned and opt.anchors
        self.zpara = np.asarray(zh_paras) if zh_paras is not None and len(zh_paras) == n else None
        self.epara = np.asarray(en_paras) if en_paras is not None and len(en_paras) == m else None
        if self.use_lex:
            self.z_terms = [lexical.zh_terms(t) for t in zh_texts]
            self.e_terms = [lexical.en_terms(t) for t in en_texts]
            self.e_count = np.array([len(t) for t in self.e_terms], dtype=float)
            self.e_count_cum = np.concatenate([[0.0], np.cumsum(self.e_count)])
            self.z_words = [lexical.zh_words(t) for t in zh_texts]
            self.e_stems = [frozenset(x.split("|", 1)[0] for x in t) for t in self.e_terms]
        if self.use_anchors:
            if lexical.is_chinese(zh_texts):
                self.z_anch = [lexical.zh_anchors(t) for t in zh_texts]
            else:  # two alphabetic languages: numbers only
                self.z_anch = [lexical.en_anchors(t)[0] for t in zh_texts]
            ea = [lexical.en_anchors(t) for t in en_texts]
            self.e_nums = [x[0] for x in ea]
            self.e_all = [x[0] | x[1] for x in ea]
        self._zcache: dict = {}
        self.zlone = self.elone = self.zlone_cum = self.elone_cum = None  # see set_lone
        if zh_vecs is not None and opt.csls:
            # CSLS-style hubness: each sentence's mean similarity to its k nearest neighbours
            # across languages; a bead of "hub" sentences gets less credit for its cosine.
            rz = _top_k(self.z.vecs, self.e.vecs, 4)[1].mean(axis=1)
            re_ = _top_k(self.e.vecs, self.z.vecs, 4)[1].mean(axis=1)
            self.rz_cum = np.concatenate([[0.0], np.cumsum(rz)])
            self.re_cum = np.concatenate([[0.0], np.cumsum(re_)])
        else:
            self.rz_cum = self.re_cum = None

    # ---- per-row pieces, cached by (zh start, zh size)
    def _zh_union(self, items, p, a):
        out = frozenset()
        for k in range(p, p + a):
            out |= items[k]
        return out

    def _counts(self, p, a, k0, k1):
        """Per English sentence k in [k0, k1): lexical hits, anchor hits, unmatched English numbers."""
        key = (p, a, k0, k1)
        got = self._zcache.get(key)
        if got is not None:
            return got
        lex = anch = miss = cover = None
        if self.use_lex:
            z = self._zh_union(self.z_terms, p, a)
            lex = np.array([lexical.en_hits(self.e_terms[k], z) for k in range(k0, k1)], dtype=float)
            words = [w for q in range(p, p + a) for w in self.z_words[q]]
            if words:  # cover[w, k]: how many English sentences before k (from k0) translate word w
                hit = np.array([[not w.isdisjoint(self.e_stems[k]) for k in range(k0, k1)] for w in words])
                cover = np.concatenate([np.zeros((len(words), 1)), np.cumsum(hit, axis=1)], axis=1)
        if self.use_anchors:
            z = self._zh_union(self.z_anch, p, a)
            anch = np.array([len(self.e_all[k] & z) for k in range(k0, k1)], dtype=float)
            miss = np.array([len(self.e_nums[k] - z) for k in range(k0, k1)], dtype=float)
            got = (lex, anch, miss, len(z), cover)
        else:
            got = (lex, anch, miss, 0, cover)
        if len(self._zcache) > 4096:
            self._zcache.clear()
        self._zcache[key] = got
        return got

    def features(self, p: int, a: int, starts: np.ndarray, b: int, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Feature rows (len(starts) × len(FEATURES)) of beads zh[p:p+a] ↔ en[s:s+b], and their display scores."""
        k = len(starts)
        f = np.zeros((k, len(FEATURES)))
        zv = self.z.span_vecs(np.array([p]), a, exact)
        lz = self.z.length(np.array([p]), a)[0]
        le = self.e.length(starts, b) * self.ratio
        lo, hi = np.minimum(lz, le), np.maximum(lz, le)
        lp = np.where(hi > 0, np.log2(1.0 + lo / np.maximum(hi, 1e-9)), 1.0)
        if zv is not None:
            ev = self.e.span_vecs(starts, b, exact)
            cos = ev @ zv[0]
            f[:, 0] = cos
            display = np.clip(cos * lp, 0.0, 1.0)
            if a > 1 or b > 1:
                f[:, 10] = cos
                if b > 1:  # the weakest English member against the whole Chinese side
                    weakest = np.min([self.e.vecs[starts + t] @ zv[0] for t in range(b)], axis=0)
                    f[:, 11] += weakest - cos
                if a > 1:  # the weakest Chinese member against each candidate English side
                    f[:, 11] += (self.z.vecs[p:p + a] @ ev.T).min(axis=0) - cos
        else:
            display = np.clip(lp, 0.0, 1.0)
        if self.opt.scorer == "cosine":
            f[:, 0] = display if zv is not None else lp
            return f, display
        f[:, 1] = -np.log((lz + 2.0) / (le + 2.0)) ** 2
        if self.use_lex or self.use_anchors:
            k0, k1 = int(starts[0]), int(starts[-1]) + b
            lex, anch, miss, nz, cover = self._counts(p, a, k0, k1)
            idx = starts - k0
            if lex is not None:
                c = np.concatenate([[0.0], np.cumsum(lex)])
                denom = self.e_count_cum[starts + b] - self.e_count_cum[starts]
                f[:, 2] = (c[idx + b] - c[idx]) / np.maximum(denom, 1.0)
            if cover is not None:
                f[:, 9] = ((cover[:, idx + b] - cover[:, idx]) > 0).mean(axis=0)
            if anch is not None:
                ca = np.concatenate([[0.0], np.cumsum(anch)])
                cm = np.concatenate([[0.0], np.cumsum(miss)])
                hits = ca[idx + b] - ca[idx]
                f[:, 3] = np.minimum(hits, 3.0)
                f[:, 4] = np.minimum(np.maximum(nz - hits, 0.0) + cm[idx + b] - cm[idx], 3.0)
        if self.opt.punct:
            zq = self.z.marks[p + a] - self.z.marks[p]
            eq = self.e.marks[starts + b] - self.e.marks[starts]
            diff = np.abs(zq - eq)
            f[:, 7] = -diff[:, 0] - diff[:, 1]
            f[:, 8] = -np.minimum(diff[:, 2], 4.0)
        if self.rz_cum is not None:
            f[:, 6] = -0.5 * ((self.rz_cum[p + a] - self.rz_cum[p]) / a
                              + (self.re_cum[starts + b] - self.re_cum[starts]) / b)
        if self.zpara is not None and self.epara is not None:
            cross = (self.zpara[p + a - 1] != self.zpara[p]).astype(float) if a > 1 else 0.0
            ecross = (self.epara[starts + b - 1] != self.epara[starts]).astype(float)
            f[:, 5] = cross + ecross
        return f, display

    def set_lone(self, lone_zh, lone_en) -> None:
        """Mark sentences with no counterpart: masks and running counts for the DP."""
        self.zlone = self.elone = None
        self.ratio = self.full_ratio
        for side, ids, size in (("z", lone_zh, len(self.z.texts)), ("e", lone_en, len(self.e.texts))):
            mask = None
            if len(ids):
                mask = np.zeros(size, dtype=bool)
                mask[list(ids)] = True
            setattr(self, side + "lone", mask)
            setattr(self, side + "lone_cum", None if mask is None else np.concatenate([[0], np.cumsum(mask)]))
        if self.zlone is not None or self.elone is not None:  # the length ratio of what can pair
            zl, el = np.diff(self.z.cum), np.diff(self.e.cum)
            zs = zl[~self.zlone].sum() if self.zlone is not None else zl.sum()
            es = el[~self.elone].sum() if self.elone is not None else el.sum()
            if zs > 0 and es > 0:
                self.ratio = zs / es

    def weight_vector(self) -> np.ndarray:
        return np.array([self.w.get(name, 0.0) for name in FEATURES])

    def type_weight(self, a: int, b: int) -> float:
        if self.opt.scorer == "cosine":
            return self.opt.skip if a == 0 or b == 0 else 0.0
        return self.w.get(type_key(a, b), 0.0)


_NEG = -1e18


def _dp(ctx: _Context, n: int, m: int, wins, types, exact=None, rows_out=None,
        scores_out=None, origin: tuple[int, int] = (0, 0)) -> list[tuple[int, int]]:
    """The best monotonic path of bead types through the band from ``origin`` to (n, m);
    returns [(a, b)] from the start.

    ``rows_out`` (a list), if given, receives each row's best scores (from the origin's row on),
    and ``scores_out`` (a dict) each bead's score as {(p, a, b): (first English start, scores by
    start)} (for shortlisting). A sub-rectangle (``origin`` not (0, 0)) uses the band clipped to it;
    if the band does not join its two corners, the path is empty and the end score is ``_NEG``."""
    i0, j0 = origin
    sub = origin != (0, 0) or len(wins) != n + 1
    if sub:
        wins = {i: (max(wins[i][0], j0), min(wins[i][1], m)) for i in range(i0, n + 1)}
        if any(lo > hi for lo, hi in wins.values()) or wins[i0][0] != j0 or not wins[n][0] <= m <= wins[n][1]:
            if rows_out is not None:
                rows_out.extend(np.full(1, _NEG) for _ in range(i0, n + 1))
            return []
    wv = ctx.weight_vector()
    two = [(a, b) for a, b in types if a > 0 and b > 0]
    dels = [(a, b) for a, b in types if b == 0]
    ins_w = ctx.type_weight(0, 1)
    tidx = {t: k for k, t in enumerate(types)}
    rows: list[np.ndarray] = []
    backs: list[np.ndarray] = []
    for i in range(i0, n + 1):
        lo, hi = wins[i]
        width = hi - lo + 1
        best = np.full(width, _NEG)
        back = np.full(width, -1, dtype=np.int16)
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
            prev = rows[p - i0][c0 - b - plo: c1 - b - plo + 1]
            zl = ctx.zlone_cum is not None and ctx.zlone_cum[i] > ctx.zlone_cum[p]  # holds a lone sentence
            if b == 0:
                s = 0.0 if zl and a == 1 else ctx.type_weight(a, 0)
            else:
                starts = np.arange(c0 - b, c1 - b + 1)
                f, _ = ctx.features(p, a, starts, b, exact is not None and (p, a) in exact)
                s = f @ wv + ctx.type_weight(a, b)
                if zl:
                    s = np.full_like(s, _NEG)
                elif ctx.elone_cum is not None:
                    s = np.where(ctx.elone_cum[starts + b] > ctx.elone_cum[starts], _NEG, s)
                if scores_out is not None:
                    scores_out[(p, a, b)] = (c0 - b, s.astype(np.float32))
            cand = prev + s
            seg = best[c0 - lo: c1 - lo + 1]
            better = cand > seg
            seg[better] = cand[better]
            back[c0 - lo: c1 - lo + 1][better] = tidx[(a, b)]
        # insertions within the row: best[j] = max(best[j], best[j-1] + w[j]), as a running maximum
        # over best[k] - c[k] with c the summed insertion weights (a lone English sentence's is 0)
        if ctx.elone is None:
            c = np.arange(width) * ins_w
        else:
            c = np.concatenate([[0.0], np.cumsum(np.where(ctx.elone[lo:hi], 0.0, ins_w))])
        run = np.maximum.accumulate(best - c) + c
        ins = run > best + 1e-12
        ins[0] = False
        best = np.where(ins, run, best)
        back[ins] = tidx[(0, 1)]
        rows.append(best)
        backs.append(back)
    if rows_out is not None:
        rows_out.extend(rows)
    out = []
    i, j = n, m
    if sub and rows[-1][m - wins[n][0]] <= _NEG / 2:
        return out
    while i > i0 or j > j0:
        lo = wins[i][0]
        a, b = types[int(backs[i - i0][j - lo])]
        out.append((a, b))
        i, j = i - a, j - b
    return out[::-1]


def _beads(ctx: _Context, path: list[tuple[int, int]], exact: bool = False) -> list[Bead]:
    beads, i, j = [], 0, 0
    for a, b in path:
        if a and b:
            _, disp = ctx.features(i, a, np.array([j]), b, exact)
            score = float(disp[0])
        else:
            score = None
        beads.append(Bead(list(range(i, i + a)), list(range(j, j + b)), score))
        i, j = i + a, j + b
    return beads


def path_features(ctx: _Context, path: list[tuple[int, int]]) -> dict[str, float]:
    """Summed features (signals and type counts) of a path of bead types: for fitting WEIGHTS."""
    tot: dict[str, float] = {}
    i = j = 0
    for a, b in path:
        if a and b:
            f, _ = ctx.features(i, a, np.array([j]), b)
            for name, v in zip(FEATURES, f[0]):
                tot[name] = tot.get(name, 0.0) + float(v)
        key = type_key(a, b)
        tot[key] = tot.get(key, 0.0) + 1.0
        i, j = i + a, j + b
    return tot


def _shortlist(ctx: _Context, wins, types, path, rows, scores, margin: float):
    """Multi-sentence runs worth a real embedding: at each bead boundary of the first (summed) path,
    and one column either side, the multi-sentence beads whose path score comes within ``margin``
    (in units of the cosine weight) of the best bead there (bead scores from the first pass)."""
    slack = margin * max(abs(ctx.w.get("cos", 1.0)), 1e-6)
    need_z, need_e = set(), set()
    cells, i, j = [], 0, 0
    for a, b in path:
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
            if prev <= _NEG / 2 or got is None or not 0 <= s - got[0] < len(got[1]):
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


def _need_both(ctx: _Context, need_z, need_e) -> None:
    """Embed both sides' missing runs in one encoder call (each call has a fixed cost)."""
    zk = sorted(k for k in need_z if k[1] > 1 and k not in ctx.z.cache)
    ek = sorted(k for k in need_e if k[1] > 1 and k not in ctx.e.cache)
    if not zk and not ek:
        return
    texts = [ctx.z.joiner(ctx.z.texts[s:s + a]) for s, a in zk] + [ctx.e.joiner(ctx.e.texts[s:s + b]) for s, b in ek]
    vecs = ctx.z.encoder.encode(texts)
    for side, keys, part in ((ctx.z, zk, vecs[:len(zk)]), (ctx.e, ek, vecs[len(zk):])):
        if keys:
            side.cache.update(zip(keys, _center(part, side.mean) if side.mean is not None else part))


def prepare(zh_texts, en_texts, encoder, options=None, zh_vecs=None, en_vecs=None, zh_paras=None, en_paras=None,
            lone_zh=(), lone_en=()):
    """The context, band and bead types of one document (shared by ``align`` and weight fitting)."""
    opt = options or AlignOptions()
    n, m = len(zh_texts), len(en_texts)
    if opt.scorer == "length" or encoder is None and zh_vecs is None:
        zh_vecs = en_vecs = None
        path = []
        window = max(opt.window, 15)
    else:
        if zh_vecs is None:
            zh_vecs = encoder.encode(zh_texts)
        if en_vecs is None:
            en_vecs = encoder.encode(en_texts)
        window = opt.window
    ctx = _Context(zh_texts, en_texts, encoder, opt, zh_vecs, en_vecs, zh_paras, en_paras)
    ctx.set_lone(lone_zh, lone_en)
    if zh_vecs is not None:
        zv, ev = ctx.z.vecs, ctx.e.vecs
        if ctx.zlone is not None:  # sentences known to have no counterpart are no anchors
            zv = np.where(ctx.zlone[:, None], 0.0, zv)
        if ctx.elone is not None:
            ev = np.where(ctx.elone[:, None], 0.0, ev)
        path = first_path(zv, ev, opt.top_k)
    wins = _windows(n, m, path, window)
    return ctx, wins, _bead_types(opt.max_bead)


def align(zh_texts: list[str], en_texts: list[str], encoder: Encoder | None,
          options: AlignOptions | None = None,
          zh_vecs: np.ndarray | None = None, en_vecs: np.ndarray | None = None,
          zh_paras: list[int] | None = None, en_paras: list[int] | None = None,
          stats: dict | None = None, lone_zh=(), lone_en=()) -> list[Bead]:
    """Align two sentence lists; every sentence ends up in exactly one bead, in order.

    ``encoder`` may be None with ``AlignOptions(scorer="length")`` (a Gale-Church-style
    length-only aligner). ``zh_paras``/``en_paras`` (optional) give each sentence's
    paragraph number, used as a soft signal. ``stats`` (a dict), if given, receives
    ``total``: the path's score (comparable between English orders of the same document).
    ``lone_zh``/``lone_en``: ids of sentences known to have no counterpart (``align.unpaired``):
    they are never part of a two-sided bead, and leaving them one-sided costs nothing.
    """
    opt = options or AlignOptions()
    n, m = len(zh_texts), len(en_texts)
    if n == 0 or m == 0:
        if stats is not None:
            stats["total"] = 0.0
        return [Bead([i], []) for i in range(n)] + [Bead([], [j]) for j in range(m)]
    ctx, wins, types = prepare(zh_texts, en_texts, encoder, opt, zh_vecs, en_vecs, zh_paras, en_paras,
                               lone_zh, lone_en)
    if ctx.z.vecs is not None and opt.spans == "embed":
        need_z, need_e = set(), set()
        for i in range(n + 1):
            lo, hi = wins[i]
            for a, b in types:
                if a > 1 and i - a >= 0:
                    need_z.add((i - a, a))
                if b > 1:
                    need_e.update((j - b, b) for j in range(max(lo, b), hi + 1))
        ctx.z.need(need_z)
        ctx.e.need(need_e)
    if ctx.z.vecs is not None and opt.spans == "refine":
        rows: list[np.ndarray] = []
        scores: dict = {}
        first = _dp(ctx, n, m, wins, types, rows_out=rows, scores_out=scores)
        need_z, need_e = _shortlist(ctx, wins, types, first, rows, scores, opt.refine_margin)
        _need_both(ctx, need_z, need_e)
    rows = [] if stats is not None else None
    path = _dp(ctx, n, m, wins, types, rows_out=rows)
    if stats is not None:
        stats["total"] = float(rows[n][m - wins[n][0]])
        stats["realign"] = Realigner(ctx, wins, types, path, lone_zh, lone_en)
    return _beads(ctx, path, exact=opt.spans == "embed")


class Realigner:
    """A finished alignment, kept for cheap what-ifs: how much higher would the path score if
    more sentences were known to have no counterpart? Only a window of the path (the beads
    that hold those sentences and ``WINDOW_BEADS`` beads either side) is aligned again, with
    the same band, span embeddings and bead scores; the rest of the path stays as it is."""

    WINDOW_BEADS = 4

    def __init__(self, ctx: _Context, wins, types, path, lone_zh=(), lone_en=()):
        self.ctx, self.wins, self.types, self.path = ctx, wins, types, list(path)
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
        self.ctx.set_lone(*lone)
        rows: list[np.ndarray] = []
        got = _dp(self.ctx, i1, j1, self.wins, self.types, rows_out=rows, origin=(i0, j0))
        lo = max(self.wins[i1][0], j0)
        end = float(rows[-1][j1 - lo]) if got else _NEG
        return got, end

    def gain(self, lone_zh, lone_en) -> float:
        """The change of the path's score if ``lone_zh``/``lone_en`` (all marked sentences, the
        ones marked so far included) had no counterpart; ``keep()`` then makes it so."""
        new = (sorted(lone_zh), sorted(lone_en))
        k0, k1 = self._window(set(new[0]) - set(self.lone[0]), set(new[1]) - set(self.lone[1]))
        if k1 < k0:
            return 0.0
        _, before = self._sub(k0, k1, self.lone)
        path, after = self._sub(k0, k1, new)
        self.ctx.set_lone(*self.lone)
        self._pending = (k0, k1, path, new)
        return after - before if after > _NEG / 2 else _NEG

    def keep(self) -> None:
        """Take the last ``gain``'s marks and its re-aligned window."""
        k0, k1, path, new = self._pending
        self.path[k0:k1 + 1] = path
        self.lone = new
        self.ctx.set_lone(*new)
