"""Bead scores: the signals of a candidate bead zh[p:p+a] ↔ en[s:s+b] and their weighted sum.

The signals (``FEATURES``, one column each, addressed by name through ``COL``):

* ``cos`` — the cosine of the embeddings of the two sides (document-centred). A
  multi-sentence side's embedding is composed from its sentences' by the encoder
  (``spans="compose"``, the default with USE: ``align.core.compose``), or the normalised sum
  of its sentence embeddings, or its own embedding where the aligner asked for one
  (``spans="refine"``, the default with other encoders, or ``"embed"``);
* ``len`` — the squared log ratio of Chinese to English characters, against the document's
  own ratio;
* ``lex`` / ``zlex`` (Chinese side only) — the share of English content words that a
  Chinese word of the bead translates to through CC-CEDICT (``align.core.lexical``), and
  the share of the Chinese dictionary words whose translation occurs in the English;
* ``hit`` / ``miss`` — matching and unmatched anchors (numbers, percentages, Latin names);
* ``para`` — paragraph breaks crossed inside the bead;
* ``hub`` — a CSLS-style hubness discount (``csls=True``; measured, no gain, so off);
* ``punct`` / ``quote`` — question and exclamation marks, quotation marks that disagree;
* ``mcos`` / ``memb`` — for a bead with more than one sentence on a side: its cosine again
  (a weight of its own), and how far its weakest member falls behind.

``WEIGHTS`` holds a weight per signal and a prior per bead type (``t1-1``, ``t0-1``, …).
The display score of a bead (what ``Bead.raw`` keeps) is the cosine times the length
penalty, clipped to [0, 1].
"""

from __future__ import annotations


import numpy as np

from .signals import PairTable, Signals, TextStats, pair_windows
from ..model import join_en, join_zh
from .options import AlignOptions
from .vectors import (cast, centre_rows, centred, cumsum0, length_penalty, mean_row, pair_dots, sorted_unique, top_k,
                      unit_rows)

FEATURES = ("cos", "len", "lex", "hit", "miss", "para", "hub", "punct", "quote", "zlex", "mcos", "memb")
COL = {name: k for k, name in enumerate(FEATURES)}

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
NEG = -1e18  # the score of a bead or a DP cell that cannot be

COSINE_WEIGHTS: dict[str, float] = {"cos": 1.0}  # Bertalign-style: cosine × length penalty, flat skips


def bead_types(max_bead: int) -> list[tuple[int, int]]:
    """The bead shapes (Chinese sentences, English sentences) the aligner considers."""
    types = [(0, 1), (1, 0), (1, 1)]
    types += [(1, b) for b in range(2, max_bead + 1)] + [(a, 1) for a in range(2, min(max_bead, 5) + 1)]
    types += [(2, 2), (2, 3), (3, 2)]
    if max_bead >= 4:
        types += [(2, 4), (3, 3)]
    return types


def type_key(a: int, b: int) -> str:
    return f"t{a}-{b}"


class Side:
    """One language's sentences: lengths, paragraphs, marks, embeddings of runs of sentences,
    and which sentences are known to have no counterpart (``lone``)."""

    def __init__(self, texts, vecs, raw, mean, encoder, joiner, spans, paras=None, stats: TextStats | None = None):
        """``stats``: ``TextStats`` of these texts, if already counted (the document's ``Signals``)."""
        self.texts, self.vecs, self.raw, self.mean = texts, vecs, raw, mean
        self.encoder, self.joiner, self.spans = encoder, joiner, spans
        stats = stats if stats is not None and len(stats.chars) == len(texts) else TextStats.count(texts)
        self.cum = cumsum0(stats.chars)
        self.cache: dict[tuple[int, int], np.ndarray] = {}
        self._cached: dict[int, tuple] = {}  # the cache by run length, as sorted starts and rows (span_block)
        self.marks = np.concatenate([np.zeros((1, 3)), np.cumsum(stats.marks, axis=0)])
        self.paras = np.asarray(paras) if paras is not None and len(paras) == len(texts) else None
        self.lone: np.ndarray | None = None  # mask of sentences with no counterpart (set_lone)
        self.lone_cum: np.ndarray | None = None
        self._composed: dict | None = None  # run length -> ids into the encoder's composed runs (compose_runs)
        self._held: dict[int, tuple[int, np.ndarray]] = {}  # run length -> (first start, rows) (hold)

    def set_lone(self, ids) -> None:
        self.lone = self.lone_cum = None
        if len(ids):
            self.lone = np.zeros(len(self.texts), dtype=bool)
            self.lone[list(ids)] = True
            self.lone_cum = np.concatenate([[0], np.cumsum(self.lone)])

    def length(self, starts, a):
        return self.cum[starts + a] - self.cum[starts]

    def _centre(self, vecs):
        return centred(vecs, self.mean) if self.mean is not None else vecs

    @property
    def composed(self) -> bool:
        """Whether runs' embeddings come from the encoder's composition (``compose_runs``)."""
        return self._composed is not None

    def compose_runs(self) -> None:
        """Take runs' embeddings from the encoder's composition (a ``CachedEncoder``'s ``run_ids``
        and ``run_vecs``: the Side keeps ids, the encoder the vectors) instead of sums."""
        self._composed = {}

    def summed(self, lo: int, hi: int, a: int) -> np.ndarray:
        """Embeddings of the runs [s, s+a) for the starts lo <= s < hi, from summed sentence embeddings,
        or composed by the encoder (``compose_runs``); rows of starts past the end are zero."""
        if a == 1:
            return self.vecs[lo:hi]
        if self._composed is not None:
            ids = self._composed.get(a)
            if ids is None:
                ids = self._composed[a] = self.encoder.run_ids(self.texts, a)
            out = np.zeros((hi - lo, self.vecs.shape[1]), dtype=np.float32)
            top = min(hi, len(ids))
            if top > lo:
                rows = out[:top - lo]
                cast(self.encoder.run_vecs(ids[lo:top], dtype=None), out=rows)
                if self.mean is not None:
                    centre_rows(rows, self.mean)
            return out
        top = min(hi, len(self.texts) - a + 1)
        acc = np.zeros((hi - lo, self.raw.shape[1]), dtype=np.float32)
        if top > lo:
            acc[:top - lo] = self.raw[lo:top]
            for t in range(1, a):
                acc[:top - lo] += self.raw[lo + t:top + t]
            acc[:top - lo] = self._centre(unit_rows(acc[:top - lo]))
        return acc

    def need(self, keys) -> None:
        """Embed the runs (start, a) not embedded yet, in one batch."""
        todo = sorted({k for k in keys if k[1] > 1 and k not in self.cache})
        if todo:
            self.keep(todo, self.encoder.encode([self.joiner(self.texts[s:s + a]) for s, a in todo]))

    def keep(self, keys, vecs) -> None:
        """Runs' own embeddings (encoder rows, not centred yet)."""
        self.cache.update(zip(keys, self._centre(vecs)))
        self._cached.clear()
        self._held = {}

    def hold(self, lo: int, hi: int, lengths) -> None:
        """Keep the ``span_block`` rows of the starts lo <= s < hi for these run lengths (what a
        chunk of the bead table meets: each bead type reads them, none makes them again), instead
        of those kept before; ``hold(0, 0, ())`` lets them go."""
        self._held = {}  # the old rows go first: never two chunks' at once
        self._held = {a: (lo, self.span_block(lo, hi, a)) for a in lengths if a > 1 and hi > lo}

    def span_at(self, starts: np.ndarray, a: int):
        """The embeddings of the runs [s, s+a) for these starts as (rows, where each start's is in
        them), the same rows ``span_block`` gives: read from what the side holds or gathered from
        the composed runs; None where they are summed or embedded (``span_block`` by ranges)."""
        if a == 1:
            return self.vecs, starts
        held = self._held.get(a)
        if held is not None and held[0] <= int(starts.min()) and int(starts.max()) < held[0] + len(held[1]):
            return held[1], starts - held[0]
        if self._composed is None or self.cache:
            return None
        ids = self._composed.get(a)
        if ids is None:
            ids = self._composed[a] = self.encoder.run_ids(self.texts, a)
        # each run once (a start repeats for every bead it begins): the starts' range where it is no
        # longer than the starts, else the distinct starts
        lo, hi = int(starts.min()), int(starts.max()) + 1
        if hi - lo <= len(starts):
            rows, where = self.encoder.run_vecs(ids[lo:hi]), starts - lo
        else:
            distinct = sorted_unique(starts)
            rows, where = self.encoder.run_vecs(ids[distinct]), np.searchsorted(distinct, starts)
        if self.mean is not None:
            centre_rows(rows if rows.flags.writeable else (rows := rows.copy()), self.mean)
        return rows, where

    def holds(self, lo: int, hi: int, a: int) -> bool:
        """Whether ``span_block(lo, hi, a)`` is read from what the side holds (``hold``, or single
        sentences), not composed or summed."""
        held = self._held.get(a)
        return a == 1 or held is not None and held[0] <= lo and hi <= held[0] + len(held[1])

    def span_block(self, lo: int, hi: int, a: int) -> np.ndarray:
        """Embeddings of the runs [s, s+a) for lo <= s < hi: summed sentence embeddings, or the run's
        own embedding where it has one (``need``). Read-only where ``hold`` keeps them."""
        held = self._held.get(a)
        if a > 1 and self.holds(lo, hi, a):
            return held[1][lo - held[0]:hi - held[0]]
        out = self.summed(lo, hi, a)
        if a == 1 or not self.cache:
            return out
        got = self._cached.get(a)
        if got is None:
            keys = sorted(s for s, b in self.cache if b == a)
            got = self._cached[a] = (np.array(keys, dtype=np.int64),
                                     np.stack([self.cache[(s, a)] for s in keys]) if keys else None)
        starts, vecs = got
        i, j = np.searchsorted(starts, lo), np.searchsorted(starts, hi)
        if j > i:
            out = out.copy() if out.base is not None else out
            out[starts[i:j] - lo] = vecs[i:j]
        return out


def need_both(zh: Side, en: Side, need_z, need_e) -> None:
    """Embed both sides' missing runs in one encoder call (each call has a fixed cost)."""
    zk = sorted(k for k in need_z if k[1] > 1 and k not in zh.cache)
    ek = sorted(k for k in need_e if k[1] > 1 and k not in en.cache)
    if not zk and not ek:
        return
    texts = [zh.joiner(zh.texts[s:s + a]) for s, a in zk] + [en.joiner(en.texts[s:s + b]) for s, b in ek]
    vecs = zh.encoder.encode(texts)
    for side, keys, part in ((zh, zk, vecs[:len(zk)]), (en, ek, vecs[len(zk):])):
        if keys:
            side.keep(keys, part)


def document_signals(zh_texts, en_texts, opt: AlignOptions) -> Signals:
    """The dictionary and anchor signals the bead score uses with these options (none for "cosine")."""
    learned = opt.scorer != "cosine"
    return Signals.build(zh_texts, en_texts, learned and opt.lexical, learned and opt.anchors)


SIGNALS_BESIDE_MIN = 200  # sentences from which building the signals (~40 µs each) pays for a second process (~5 ms)


def signals_beside(zh_texts, en_texts, opt: AlignOptions) -> bool:
    """Whether to build the document's signals in a second process while the encoder runs
    (``AlignOptions.background``, ``align.core.background``): for ``SIGNALS_BESIDE_MIN`` sentences
    or more, where building them costs more than forking. (Not for smaller ones even in a fresh
    process, where the child would also spare it loading CC-CEDICT: the child's copy goes with
    it, so a process aligning many small documents would load it again for each.)"""
    return opt.background and bool(zh_texts and en_texts) and len(zh_texts) + len(en_texts) >= SIGNALS_BESIDE_MIN


ROW_BLOCK = 32  # Chinese starts per block of summed or embedded span rows (_cosines; composed ones are gathered)


class BeadScorer:
    """What the bead score of one document needs; ``features`` computes the signals of beads."""

    def __init__(self, zh_texts, en_texts, encoder, opt: AlignOptions, zh_vecs, en_vecs, zh_paras=None, en_paras=None,
                 signals: Signals | None = None, centred_vecs=None):
        """``signals``: the document's dictionary and anchor signals for these texts, if already built;
        ``centred_vecs``: ``vectors.centred`` of the two, if already made (the pipeline's, shared)."""
        self.opt = opt
        n, m = len(zh_texts), len(en_texts)
        zh_mean = en_mean = None
        raw_z, raw_e = zh_vecs, en_vecs
        if zh_vecs is not None and opt.center and n > 1 and m > 1:
            zh_mean, en_mean = mean_row(zh_vecs), mean_row(en_vecs)
            zh_vecs, en_vecs = centred_vecs or (centred(zh_vecs, zh_mean), centred(en_vecs, en_mean))
        signals = signals or document_signals(zh_texts, en_texts, opt)
        self.z = Side(zh_texts, zh_vecs, raw_z, zh_mean, encoder, join_zh, opt.spans, zh_paras, signals.zh_stats)
        self.e = Side(en_texts, en_vecs, raw_e, en_mean, encoder, join_en, opt.spans, en_paras, signals.en_stats)
        if zh_vecs is not None and opt.spans == "compose" and getattr(encoder, "composes", False):
            self.z.compose_runs()
            self.e.compose_runs()
        self.full_ratio = self.z.cum[-1] / max(self.e.cum[-1], 1.0)  # Chinese characters per English character
        self.ratio = self.full_ratio  # the same without the lone sentences (set_lone)
        w = dict(COSINE_WEIGHTS if opt.scorer == "cosine" else WEIGHTS)
        w.update(opt.weights or {})
        if not opt.length:
            w["len"] = 0.0
        self.w = w
        self.lexicon, self.anchors = signals.lexicon, signals.anchors
        self.pairs: PairTable | None = None
        self.hub = None
        if zh_vecs is not None and opt.csls:
            # CSLS-style hubness: each sentence's mean similarity to its k nearest neighbours
            # across languages; a bead of "hub" sentences gets less credit for its cosine.
            rz = top_k(self.z.vecs, self.e.vecs, 4, dtype=np.float32, max_rows=2048)[1].mean(axis=1)
            re_ = top_k(self.e.vecs, self.z.vecs, 4, dtype=np.float32, max_rows=2048)[1].mean(axis=1)
            self.hub = (cumsum0(rz), cumsum0(re_))
        self.memo: dict | None = None  # features by bead, when set to a dict (weight fitting)

    @property
    def refines(self) -> bool:
        """Whether a run first shortlists multi-sentence sides and embeds those (``spans="refine"``,
        or ``"compose"`` with an encoder that cannot compose): a bead's score then depends on the run."""
        return self.z.vecs is not None and (self.opt.spans == "refine" or self.opt.spans == "compose"
                                            and not self.z.composed)

    def set_band(self, wins, types) -> None:
        """Compute once the dictionary and anchor masks of every sentence pair a bead in the band holds."""
        bits, zh_probes = self._bit_sets()
        n, m = len(self.z.texts), len(self.e.texts)
        self.pairs = PairTable(bits, zh_probes, *pair_windows(wins, types, n, m)) if bits and n and m else None

    def hold(self, zh=(0, 0, ()), en=(0, 0, ())) -> None:
        """Keep the run embeddings the beads scored next meet: ``zh``, ``en`` = (first start, end,
        run lengths) (``Side.hold``); no arguments: let them go."""
        if self.z.vecs is not None:
            self.z.hold(*zh)
            self.e.hold(*en)

    def set_lone(self, lone_zh, lone_en) -> None:
        """Mark sentences with no counterpart: masks and running counts for the DP, and the
        length ratio of what can pair."""
        self.z.set_lone(lone_zh)
        self.e.set_lone(lone_en)
        self.ratio = self.full_ratio
        if self.z.lone is not None or self.e.lone is not None:
            zl, el = np.diff(self.z.cum), np.diff(self.e.cum)
            zs = zl[~self.z.lone].sum() if self.z.lone is not None else zl.sum()
            es = el[~self.e.lone].sum() if self.e.lone is not None else el.sum()
            if zs > 0 and es > 0:
                self.ratio = zs / es

    def weight_vector(self) -> np.ndarray:
        return np.array([self.w.get(name, 0.0) for name in FEATURES])

    def type_weight(self, a: int, b: int) -> float:
        if self.opt.scorer == "cosine":
            return self.opt.skip if a == 0 or b == 0 else 0.0
        return self.w.get(type_key(a, b), 0.0)

    def scores(self, P: np.ndarray, a: int, S: np.ndarray, b: int, wv: np.ndarray) -> np.ndarray:
        """Path scores of the beads zh[P:P+a] ↔ en[S:S+b] (weights ``wv``, plus the type's prior);
        a bead holding a sentence known to have no counterpart is impossible (``NEG``)."""
        s = self.features(P, a, S, b)[0] @ wv + self.type_weight(a, b)
        if self.z.lone_cum is not None:
            s = np.where(self.z.lone_cum[P + a] > self.z.lone_cum[P], NEG, s)
        if self.e.lone_cum is not None:
            s = np.where(self.e.lone_cum[S + b] > self.e.lone_cum[S], NEG, s)
        return s

    def features(self, p, a: int, starts: np.ndarray, b: int, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Feature rows (len(starts) × len(FEATURES)) of beads zh[p:p+a] ↔ en[s:s+b], and their display
        scores; ``p`` one Chinese start or one per English start."""
        starts = np.asarray(starts, dtype=np.int64)
        P = np.broadcast_to(np.asarray(p, dtype=np.int64), starts.shape)
        if self.memo is not None and np.ndim(p) == 0:
            key = (int(p), a, int(starts[0]), len(starts), b)
            if key not in self.memo:
                self.memo[key] = self._features(P, a, starts, b, exact)
            return self.memo[key]
        return self._features(P, a, starts, b, exact)

    def display(self, p, a: int, starts: np.ndarray, b: int, exact: bool = False) -> np.ndarray:
        """The display scores ``features`` gives these beads, without the other signals."""
        starts = np.asarray(starts, dtype=np.int64)
        P = np.broadcast_to(np.asarray(p, dtype=np.int64), starts.shape)
        return self._features(P, a, starts, b, exact, signals=False)[1]

    def _features(self, P, a, S, b, exact, signals=True):
        f = np.zeros((len(S), len(FEATURES)))
        display = np.zeros(len(S))
        if not len(S):
            return f, display
        lz = self.z.length(P, a)
        le = self.e.length(S, b) * self.ratio
        lp = length_penalty(lz, le)
        if self.z.vecs is not None:
            if exact or self.opt.spans == "embed":  # every side its own embedding
                self.z.need({(p, a) for p in P.tolist()})
                self.e.need({(s, b) for s in S.tolist()})
            cos = self._cosines(f, P, a, S, b, members=signals)
            display = np.clip(cos * lp, 0.0, 1.0)
        else:
            display = np.clip(lp, 0.0, 1.0)
        if not signals:
            return f, display
        if self.opt.scorer == "cosine":
            f[:, COL["cos"]] = display if self.z.vecs is not None else lp
            return f, display
        f[:, COL["len"]] = -np.log((lz + 2.0) / (le + 2.0)) ** 2
        if self.lexicon is not None or self.anchors is not None:
            self._dictionary_features(f, P, a, S, b)
        if self.opt.punct:
            zm, em = self.z.marks, self.e.marks  # (rows by take: twice as fast as indexing)
            zq = np.take(zm, P + a, axis=0) - np.take(zm, P, axis=0)
            eq = np.take(em, S + b, axis=0) - np.take(em, S, axis=0)
            diff = np.abs(zq - eq)
            f[:, COL["punct"]] = -diff[:, 0] - diff[:, 1]
            f[:, COL["quote"]] = -np.minimum(diff[:, 2], 4.0)
        if self.hub is not None:
            rz_cum, re_cum = self.hub
            f[:, COL["hub"]] = -0.5 * ((rz_cum[P + a] - rz_cum[P]) / a + (re_cum[S + b] - re_cum[S]) / b)
        if self.z.paras is not None and self.e.paras is not None:
            zp, ep = self.z.paras, self.e.paras
            cross = (zp[P + a - 1] != zp[P]).astype(float) if a > 1 else 0.0
            f[:, COL["para"]] = cross + (ep[S + b - 1] != ep[S]).astype(float)
        return f, display

    def _cosines(self, f, P, a, S, b, members: bool = True) -> np.ndarray:
        """The ``cos``, ``mcos`` and ``memb`` columns (``members`` False: ``cos`` only); returns the
        cosines, each one row pair's ``pair_dots``. The span embeddings come from ``Side.span_at``
        where it has them, else in blocks of ``ROW_BLOCK`` Chinese starts and the English starts
        they meet (summed or embedded once a block)."""
        got_z, got_e = self.z.span_at(P, a), self.e.span_at(S, b)
        if got_z is not None and got_e is not None:
            cos, weak_e, weak_z = self._dots(*got_z, *got_e, P, a, S, b, members)
        else:
            order = np.argsort(P, kind="stable")
            P, S = P[order], S[order]
            parts, lo = [], 0
            while lo < len(P):
                hi = int(np.searchsorted(P, P[lo] + ROW_BLOCK, side="left"))
                p, s = P[lo:hi], S[lo:hi]
                p0, s0 = int(p[0]), int(s.min())
                zs = self.z.span_block(p0, int(p[-1]) + 1, a)
                es = self.e.span_block(s0, int(s.max()) + 1, b)
                parts.append(self._dots(zs, p - p0, es, s - s0, p, a, s, b, members))
                lo = hi
            back = np.empty_like(order)
            back[order] = np.arange(len(order))
            cos, weak_e, weak_z = (np.concatenate(x)[back] if x[0] is not None else None for x in zip(*parts))
        f[:, COL["cos"]] = cos
        if members and (a > 1 or b > 1):
            f[:, COL["mcos"]] = cos
            if b > 1:
                f[:, COL["memb"]] += weak_e - cos
            if a > 1:
                f[:, COL["memb"]] += weak_z - cos
        return cos

    def _dots(self, zs, iz, es, ie, P, a, S, b, members):
        """Beads' cosines (Chinese run rows ``zs[iz]`` against English ``es[ie]``) and, with
        ``members``, their weakest members: the weakest English sentence against the whole
        Chinese side (b > 1), the weakest Chinese sentence against the whole English side (a > 1)."""
        cos = pair_dots(zs, es, iz, ie)
        weak_e = pair_dots(zs, self.e.vecs, iz, S, b, 0, 1) if b > 1 and members else None
        weak_z = pair_dots(self.z.vecs, es, P, ie, a, 1, 0) if a > 1 and members else None
        return cos, weak_e, weak_z

    def _dictionary_features(self, f, P, a, S, b) -> None:
        if self.pairs is None:  # no band given: every pair on demand
            self.pairs = PairTable(*self._bit_sets(), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        kind = 0
        if self.lexicon is not None:
            lx = self.lexicon
            # English terms that some Chinese sentence of the bead translates; Chinese words that some
            # English sentence of the bead covers
            hits = self.pairs.counts(0, P, a, S, b)[0]
            denom = lx.e_count_cum[S + b] - lx.e_count_cum[S]
            f[:, COL["lex"]] = hits / np.maximum(denom, 1.0)
            words = lx.z_words_cum[P + a] - lx.z_words_cum[P]
            covered = self.pairs.counts(1, P, a, S, b, by_english=False)[0]
            f[:, COL["zlex"]] = np.where(words > 0, covered / np.maximum(words, 1.0), 0.0)
            kind = 2
        if self.anchors is not None:
            an = self.anchors
            hits, numbers = self.pairs.counts(kind, P, a, S, b, mask=an.num_mask)
            miss = np.zeros(len(S))
            for t in range(b):
                miss += an.e_nums[S + t]
            miss -= numbers
            nz = an.run_sizes(a)[P]
            f[:, COL["hit"]] = np.minimum(hits, 3.0)
            f[:, COL["miss"]] = np.minimum(np.maximum(nz - hits, 0.0) + miss, 3.0)

    def _bit_sets(self):
        bits, zh_probes = [], []
        if self.lexicon is not None:
            bits += [self.lexicon.term_bits, self.lexicon.word_bits]
            zh_probes += [False, True]
        if self.anchors is not None:
            bits.append(self.anchors.bits)
            zh_probes.append(False)
        return bits, zh_probes
