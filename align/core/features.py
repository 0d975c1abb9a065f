"""Bead scores: the signals of a candidate bead zh[p:p+a] ↔ en[s:s+b] and their weighted sum.

The signals (``FEATURES``, one column each, addressed by name through ``COL``):

* ``cos`` — the cosine of the embeddings of the two sides (document-centred). A
  multi-sentence side is the normalised sum of its sentence embeddings, or its own
  embedding where the aligner asked for one (``spans="refine"``/``"embed"``);
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

import re

import numpy as np

from . import lexical
from ..model import join_en, join_zh
from .options import AlignOptions
from .vectors import centred, length_penalty, top_k, unit_rows

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


_QUOTE = re.compile(r"[“”「」『』\"]|(?<![A-Za-z])['‘’]|['‘’](?![A-Za-z])")


def _quotes(text: str) -> int:
    """Quotation marks in a sentence (apostrophes inside words are not quotes)."""
    return len(_QUOTE.findall(text))


def _cumsum0(values) -> np.ndarray:
    """Prefix sums with a leading 0: the sum over [s, e) is c[e] - c[s]."""
    return np.concatenate([[0.0], np.cumsum(values)])


class Side:
    """One language's sentences: lengths, paragraphs, marks, embeddings of runs of sentences,
    and which sentences are known to have no counterpart (``lone``)."""

    def __init__(self, texts, vecs, raw, mean, encoder, joiner, spans, paras=None):
        self.texts, self.vecs, self.raw, self.mean = texts, vecs, raw, mean
        self.encoder, self.joiner, self.spans = encoder, joiner, spans
        self.cum = _cumsum0(np.array([len("".join(t.split())) for t in texts], dtype=float))
        self.cache: dict[tuple[int, int], np.ndarray] = {}
        marks = np.array([[t.count("?") + t.count("？"), t.count("!") + t.count("！"), _quotes(t)] for t in texts],
                         dtype=float)
        self.marks = np.concatenate([np.zeros((1, 3)), np.cumsum(marks, axis=0)])
        self.paras = np.asarray(paras) if paras is not None and len(paras) == len(texts) else None
        self.lone: np.ndarray | None = None  # mask of sentences with no counterpart (set_lone)
        self.lone_cum: np.ndarray | None = None

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

    def summed(self, starts: np.ndarray, a: int) -> np.ndarray:
        """Embeddings of the runs [s, s+a) for each start s, from summed sentence embeddings."""
        if a == 1:
            return self.vecs[starts]
        acc = self.raw[starts].astype(np.float32, copy=True)
        for t in range(1, a):
            acc += self.raw[starts + t]
        return self._centre(unit_rows(acc))

    def need(self, keys) -> None:
        """Embed the runs (start, a) not embedded yet, in one batch."""
        todo = sorted({k for k in keys if k[1] > 1 and k not in self.cache})
        if todo:
            vecs = self.encoder.encode([self.joiner(self.texts[s:s + a]) for s, a in todo])
            self.cache.update(zip(todo, self._centre(vecs)))

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
            side.cache.update(zip(keys, side._centre(part)))


class Lexicon:
    """CC-CEDICT signals of a document: each sentence's terms, once."""

    def __init__(self, zh_texts, en_texts):
        self.z_terms = [lexical.zh_terms(t) for t in zh_texts]
        self.e_terms = [lexical.en_terms(t) for t in en_texts]
        self.e_count_cum = _cumsum0(np.array([len(t) for t in self.e_terms], dtype=float))
        self.z_words = [lexical.zh_words(t) for t in zh_texts]
        self.e_stems = [frozenset(x.split("|", 1)[0] for x in t) for t in self.e_terms]


class Anchors:
    """Number and name anchors of a document's sentences."""

    def __init__(self, zh_texts, en_texts):
        if lexical.is_chinese(zh_texts):
            self.z_anch = [lexical.zh_anchors(t) for t in zh_texts]
        else:  # two alphabetic languages: numbers only
            self.z_anch = [lexical.en_anchors(t)[0] for t in zh_texts]
        ea = [lexical.en_anchors(t) for t in en_texts]
        self.e_nums = [x[0] for x in ea]
        self.e_all = [x[0] | x[1] for x in ea]


def _union(items, p, a):
    out = frozenset()
    for k in range(p, p + a):
        out |= items[k]
    return out


class BeadScorer:
    """What the bead score of one document needs; ``features`` computes the signals of beads."""

    def __init__(self, zh_texts, en_texts, encoder, opt: AlignOptions, zh_vecs, en_vecs, zh_paras=None, en_paras=None):
        self.opt = opt
        n, m = len(zh_texts), len(en_texts)
        zh_mean = en_mean = None
        raw_z, raw_e = zh_vecs, en_vecs
        if zh_vecs is not None and opt.center and n > 1 and m > 1:
            zh_mean, en_mean = zh_vecs.mean(axis=0), en_vecs.mean(axis=0)
            zh_vecs, en_vecs = centred(zh_vecs, zh_mean), centred(en_vecs, en_mean)
        self.z = Side(zh_texts, zh_vecs, raw_z, zh_mean, encoder, join_zh, opt.spans, zh_paras)
        self.e = Side(en_texts, en_vecs, raw_e, en_mean, encoder, join_en, opt.spans, en_paras)
        self.full_ratio = self.z.cum[-1] / max(self.e.cum[-1], 1.0)  # Chinese characters per English character
        self.ratio = self.full_ratio  # the same without the lone sentences (set_lone)
        w = dict(COSINE_WEIGHTS if opt.scorer == "cosine" else WEIGHTS)
        w.update(opt.weights or {})
        if not opt.length:
            w["len"] = 0.0
        self.w = w
        learned = opt.scorer != "cosine"
        self.lexicon = Lexicon(zh_texts, en_texts) if learned and opt.lexical and lexical.is_chinese(zh_texts) else None
        self.anchors = Anchors(zh_texts, en_texts) if learned and opt.anchors else None
        self._counts_cache: dict = {}
        self.hub = None
        if zh_vecs is not None and opt.csls:
            # CSLS-style hubness: each sentence's mean similarity to its k nearest neighbours
            # across languages; a bead of "hub" sentences gets less credit for its cosine.
            rz = top_k(self.z.vecs, self.e.vecs, 4, dtype=np.float32, max_rows=2048)[1].mean(axis=1)
            re_ = top_k(self.e.vecs, self.z.vecs, 4, dtype=np.float32, max_rows=2048)[1].mean(axis=1)
            self.hub = (_cumsum0(rz), _cumsum0(re_))
        self.memo: dict | None = None  # features by bead, when set to a dict (weight fitting)

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

    def _counts(self, p, a, k0, k1):
        """Per English sentence k in [k0, k1): lexical hits, anchor hits, unmatched English numbers."""
        key = (p, a, k0, k1)
        got = self._counts_cache.get(key)
        if got is not None:
            return got
        lex = anch = miss = cover = None
        lx, an = self.lexicon, self.anchors
        if lx is not None:
            z = _union(lx.z_terms, p, a)
            lex = np.array([lexical.en_hits(lx.e_terms[k], z) for k in range(k0, k1)], dtype=float)
            words = [w for q in range(p, p + a) for w in lx.z_words[q]]
            if words:  # cover[w, k]: how many English sentences before k (from k0) translate word w
                hit = np.array([[not w.isdisjoint(lx.e_stems[k]) for k in range(k0, k1)] for w in words])
                cover = np.concatenate([np.zeros((len(words), 1)), np.cumsum(hit, axis=1)], axis=1)
        if an is not None:
            z = _union(an.z_anch, p, a)
            anch = np.array([len(an.e_all[k] & z) for k in range(k0, k1)], dtype=float)
            miss = np.array([len(an.e_nums[k] - z) for k in range(k0, k1)], dtype=float)
            got = (lex, anch, miss, len(z), cover)
        else:
            got = (lex, anch, miss, 0, cover)
        if len(self._counts_cache) > 4096:
            self._counts_cache.clear()
        self._counts_cache[key] = got
        return got

    def features(self, p: int, a: int, starts: np.ndarray, b: int, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Feature rows (len(starts) × len(FEATURES)) of beads zh[p:p+a] ↔ en[s:s+b], and their display scores."""
        if self.memo is not None:
            key = (p, a, int(starts[0]), len(starts), b)
            if key not in self.memo:
                self.memo[key] = self._features(p, a, starts, b, exact)
            return self.memo[key]
        return self._features(p, a, starts, b, exact)

    def _features(self, p, a, starts, b, exact):
        f = np.zeros((len(starts), len(FEATURES)))
        zv = self.z.span_vecs(np.array([p]), a, exact)
        lz = self.z.length(np.array([p]), a)[0]
        le = self.e.length(starts, b) * self.ratio
        lp = length_penalty(lz, le)
        if zv is not None:
            ev = self.e.span_vecs(starts, b, exact)
            cos = ev @ zv[0]
            f[:, COL["cos"]] = cos
            display = np.clip(cos * lp, 0.0, 1.0)
            if a > 1 or b > 1:
                f[:, COL["mcos"]] = cos
                if b > 1:  # the weakest English member against the whole Chinese side
                    weakest = np.min([self.e.vecs[starts + t] @ zv[0] for t in range(b)], axis=0)
                    f[:, COL["memb"]] += weakest - cos
                if a > 1:  # the weakest Chinese member against each candidate English side
                    f[:, COL["memb"]] += (self.z.vecs[p:p + a] @ ev.T).min(axis=0) - cos
        else:
            display = np.clip(lp, 0.0, 1.0)
        if self.opt.scorer == "cosine":
            f[:, COL["cos"]] = display if zv is not None else lp
            return f, display
        f[:, COL["len"]] = -np.log((lz + 2.0) / (le + 2.0)) ** 2
        if self.lexicon is not None or self.anchors is not None:
            self._dictionary_features(f, p, a, starts, b)
        if self.opt.punct:
            zq = self.z.marks[p + a] - self.z.marks[p]
            eq = self.e.marks[starts + b] - self.e.marks[starts]
            diff = np.abs(zq - eq)
            f[:, COL["punct"]] = -diff[:, 0] - diff[:, 1]
            f[:, COL["quote"]] = -np.minimum(diff[:, 2], 4.0)
        if self.hub is not None:
            rz_cum, re_cum = self.hub
            f[:, COL["hub"]] = -0.5 * ((rz_cum[p + a] - rz_cum[p]) / a + (re_cum[starts + b] - re_cum[starts]) / b)
        if self.z.paras is not None and self.e.paras is not None:
            zp, ep = self.z.paras, self.e.paras
            cross = (zp[p + a - 1] != zp[p]).astype(float) if a > 1 else 0.0
            f[:, COL["para"]] = cross + (ep[starts + b - 1] != ep[starts]).astype(float)
        return f, display

    def _dictionary_features(self, f, p, a, starts, b) -> None:
        k0, k1 = int(starts[0]), int(starts[-1]) + b
        lex, anch, miss, nz, cover = self._counts(p, a, k0, k1)
        idx = starts - k0
        if lex is not None:
            c = _cumsum0(lex)
            denom = self.lexicon.e_count_cum[starts + b] - self.lexicon.e_count_cum[starts]
            f[:, COL["lex"]] = (c[idx + b] - c[idx]) / np.maximum(denom, 1.0)
        if cover is not None:
            f[:, COL["zlex"]] = ((cover[:, idx + b] - cover[:, idx]) > 0).mean(axis=0)
        if anch is not None:
            ca, cm = _cumsum0(anch), _cumsum0(miss)
            hits = ca[idx + b] - ca[idx]
            f[:, COL["hit"]] = np.minimum(hits, 3.0)
            f[:, COL["miss"]] = np.minimum(np.maximum(nz - hits, 0.0) + cm[idx + b] - cm[idx], 3.0)
