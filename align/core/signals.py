"""Dictionary and anchor signals of sentence pairs, as bit masks.

Each sentence's CC-CEDICT terms and number/name anchors (``align.core.lexical``) become
integer items; for every (Chinese sentence, English sentence) pair in the DP's band a bit mask
says which of the English sentence's items the Chinese one has (``ItemBits``, ``PairTable``),
so the bead scorer (``align.core.features``) counts hits of a whole run of sentences with ORs
and bit counts instead of Python set operations.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np

from . import lexical
from .vectors import KERNELS, cumsum0, sorted_unique


def popcount(x: np.ndarray) -> np.ndarray:
    """Set bits of each unsigned 64-bit integer."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).astype(np.int64)
    b = np.ascontiguousarray(x).view(np.uint8).reshape(x.shape + (8,))
    return _POP8[b].sum(axis=-1).astype(np.int64)


_POP8 = np.array([bin(k).count("1") for k in range(256)], dtype=np.int64)
_PAIR_ENTRIES = 1 << 20  # probe entries expanded at a time by ``ItemBits.masks`` (memory)


class ItemBits:
    """Which items of a "probe" sentence another side's sentence holds, as bit masks.

    ``probes[x]``: sentence x's items, each a collection of keys; ``sets[y]``: sentence y's keys.
    Bit u of ``masks(X, Y)[t]`` (in 64-bit lanes) is set when item u of probe X[t] shares a key
    with set Y[t]. Pairs are answered by one sorted-array join, vectorised over all pairs.
    ``reordered`` gives the same bits for probes or sets in another order, without rebuilding."""

    probe_at: np.ndarray | None = None  # probe x of this view is built probe probe_at[x] (reordered)
    set_at: np.ndarray | None = None

    def __init__(self, probes, sets):
        # (flat lists and maps, not loops of Python statements: a document has ~10^5 keys a side)
        vocab = {key: k for k, key in enumerate(dict.fromkeys(chain.from_iterable(sets)))}
        sk = np.fromiter(map(vocab.__getitem__, chain.from_iterable(sets)), dtype=np.int64)
        sx = np.repeat(np.arange(len(sets), dtype=np.int64), [len(keys) for keys in sets])
        self.ns = len(sets) + 1
        self.codes = sorted_unique(sk * self.ns + sx)
        # key k's codes are codes[key_start[k] .. key_start[k + 1]): the compiled join searches only those
        self.key_start = np.searchsorted(self.codes, np.arange(len(vocab) + 1, dtype=np.int64) * self.ns).astype(np.int64)
        n_items = np.array([len(items) for items in probes], dtype=np.int64)
        n_keys = np.array([len(keys) for items in probes for keys in items], dtype=np.int64)
        keys = list(chain.from_iterable(chain.from_iterable(probes)))
        k = np.fromiter(map(vocab.get, keys, repeat(-1, len(keys))), dtype=np.int64, count=len(keys))
        hit = k >= 0  # a key no set holds can never hit
        probe = np.repeat(np.repeat(np.arange(len(probes), dtype=np.int64), n_items), n_keys)[hit]
        item = np.arange(len(n_keys), dtype=np.int64) - np.repeat(cumsum0(n_items)[:-1].astype(np.int64), n_items)
        self.lanes = (max(int(n_items.max(initial=0)), 1) + 63) // 64
        self.start = cumsum0(np.bincount(probe, minlength=len(probes))).astype(np.int64)
        self.pos = np.repeat(item, n_keys)[hit]
        self.key = k[hit]

    def reordered(self, probes: np.ndarray | None = None, sets: np.ndarray | None = None) -> "ItemBits":
        """A view in which probe x is this one's probe ``probes[x]`` and set y its set ``sets[y]``."""
        view = copy.copy(self)
        if probes is not None:
            view.probe_at = np.asarray(probes) if self.probe_at is None else self.probe_at[probes]
        if sets is not None:
            view.set_at = np.asarray(sets) if self.set_at is None else self.set_at[sets]
        return view

    def masks(self, X: np.ndarray, Y: np.ndarray, use_kernel: bool = True) -> np.ndarray:
        """The masks of the pairs (X[t], Y[t]): compiled where it can be (``_kernels.item_masks``,
        the same bits; ``use_kernel`` False: numpy's sorted join)."""
        out = np.zeros((len(X), self.lanes), dtype=np.uint64)
        if not len(X) or not len(self.codes):
            return out
        if self.probe_at is not None:
            X = self.probe_at[X]
        if self.set_at is not None:
            Y = self.set_at[Y]
        if use_kernel and KERNELS is not None:
            X = np.ascontiguousarray(X, dtype=np.int64)
            Y = np.ascontiguousarray(Y, dtype=np.int64)
            KERNELS.item_masks(self.start, len(self.start), self.key, self.pos, len(self.key), self.codes,
                               len(self.codes), self.key_start, len(self.key_start) - 1, self.ns, X, Y, len(X),
                               self.lanes, out)
            return out
        cnt = self.start[X + 1] - self.start[X]
        ends = np.cumsum(cnt)
        lo = 0
        while lo < len(X):  # pairs in groups of about _PAIR_ENTRIES probe entries
            base = ends[lo - 1] if lo else 0
            hi = max(lo + 1, int(np.searchsorted(ends, base + _PAIR_ENTRIES, side="right")))
            c = cnt[lo:hi]
            pair = np.repeat(np.arange(lo, hi), c)
            first = np.repeat(self.start[X[lo:hi]] - (np.cumsum(c) - c), c)
            entry = first + np.arange(len(pair))
            code = self.key[entry] * self.ns + Y[pair]
            at = np.minimum(np.searchsorted(self.codes, code), len(self.codes) - 1)
            hit = self.codes[at] == code
            pos, pair = self.pos[entry[hit]], pair[hit]
            np.bitwise_or.at(out, (pair, pos >> 6), np.left_shift(np.uint64(1), (pos & 63).astype(np.uint64)))
            lo = hi
        return out


class Lexicon:
    """CC-CEDICT signals of a document: each sentence's terms, once, and which terms of one side
    a sentence of the other side translates (``ItemBits``)."""

    def __init__(self, zh_texts, en_texts):
        z_segs = [lexical.segment(t) for t in zh_texts]
        e_terms = [lexical.en_terms(t) for t in en_texts]
        e_keys = lexical.Keep(chain.from_iterable(x.split("|", 1) for t in e_terms for x in t))  # what a Chinese term can hit
        z_terms = [lexical.zh_terms(t, w, e_keys) for t, w in zip(zh_texts, z_segs)]
        self.e_counts = np.array([len(t) for t in e_terms], dtype=float)
        self.e_count_cum = cumsum0(self.e_counts)
        z_words = [lexical.zh_words(t, w) for t, w in zip(zh_texts, z_segs)]
        self.z_words_cum = cumsum0(np.array([len(w) for w in z_words], dtype=float))
        e_stems = [frozenset(x.split("|", 1)[0] for x in t) for t in e_terms]
        # English term u of sentence k is a hit for Chinese sentence q when its stem (or its name) is a term of q.
        self.term_bits = ItemBits([[t.split("|", 1) for t in terms] for terms in e_terms], z_terms)
        # Chinese word u of sentence q is covered by English sentence k when one of its stems occurs in k.
        self.word_bits = ItemBits(z_words, e_stems)

    def reordered(self, order: np.ndarray) -> "Lexicon":
        """The same signals with the English sentences in ``order`` (English k is sentence order[k])."""
        view = copy.copy(self)
        view.e_counts = self.e_counts[order]
        view.e_count_cum = cumsum0(view.e_counts)
        view.term_bits = self.term_bits.reordered(probes=order)
        view.word_bits = self.word_bits.reordered(sets=order)
        return view


class Anchors:
    """Number and name anchors of a document's sentences."""

    def __init__(self, zh_texts, en_texts):
        if lexical.is_chinese(zh_texts):
            self.z_anch = [lexical.zh_anchors(t) for t in zh_texts]
        else:  # two alphabetic languages: numbers only
            self.z_anch = [lexical.en_anchors(t)[0] for t in zh_texts]
        ea = [lexical.en_anchors(t) for t in en_texts]
        e_items = [sorted(nums | names) for nums, names in ea]
        self.bits = ItemBits([[(x,) for x in items] for items in e_items], self.z_anch)
        self.e_nums = np.array([len(nums) for nums, _ in ea], dtype=float)
        num_mask = np.zeros((len(ea), self.bits.lanes), dtype=np.uint64)
        for k, ((nums, _), items) in enumerate(zip(ea, e_items)):
            for u, x in enumerate(items):
                if x in nums:
                    num_mask[k, u >> 6] |= np.uint64(1) << np.uint64(u & 63)
        self.num_mask = num_mask
        self._sizes: dict[int, np.ndarray] = {}

    def reordered(self, order: np.ndarray) -> "Anchors":
        """The same anchors with the English sentences in ``order``."""
        view = copy.copy(self)  # the Chinese side's run sizes are shared
        view.bits = self.bits.reordered(probes=order)
        view.e_nums, view.num_mask = self.e_nums[order], self.num_mask[order]
        return view

    def run_sizes(self, a: int) -> np.ndarray:
        """For each start p: how many distinct anchors the Chinese run [p, p+a) holds."""
        got = self._sizes.get(a)
        if got is None:
            got = self._sizes[a] = distinct_in_runs(self.z_anch, a)
        return got


_QUOTE = re.compile(r"[“”「」『』\"]")
_QUOTE_APOSTROPHE = re.compile(r"(?<![A-Za-z])['‘’]|['‘’](?![A-Za-z])")  # not inside a word


def _quotes(text: str) -> int:
    """Quotation marks in a sentence (apostrophes inside words are not quotes)."""
    n = len(_QUOTE.findall(text))
    if "'" in text or "‘" in text or "’" in text:  # (the slower pattern only where it can match)
        n += len(_QUOTE_APOSTROPHE.findall(text))
    return n



@dataclass
class TextStats:
    """Per sentence, what the bead score counts of its text: non-blank characters and its marks
    (question, exclamation and quotation marks), in the sentences' order."""

    chars: np.ndarray  # (n,) float
    marks: np.ndarray  # (n, 3) float

    @classmethod
    def count(cls, texts) -> "TextStats":
        chars = np.array([len("".join(t.split())) for t in texts], dtype=float)
        marks = np.array([[t.count("?") + t.count("？"), t.count("!") + t.count("！"), _quotes(t)] for t in texts],
                         dtype=float).reshape(len(texts), 3)
        return cls(chars, marks)

    def reordered(self, order: np.ndarray) -> "TextStats":
        return TextStats(self.chars[order], self.marks[order])


@dataclass
class Signals:
    """A document's dictionary and anchor signals (each None when off) and its sentences'
    ``TextStats``, built once and shared by its aligner runs: a run against another English order
    takes a ``reordered`` view."""

    lexicon: Lexicon | None
    anchors: Anchors | None
    zh_stats: TextStats | None = None
    en_stats: TextStats | None = None

    @classmethod
    def build(cls, zh_texts, en_texts, lexicon: bool, anchors: bool) -> "Signals":
        return cls(Lexicon(zh_texts, en_texts) if lexicon and lexical.is_chinese(zh_texts) else None,
                   Anchors(zh_texts, en_texts) if anchors else None, TextStats.count(zh_texts), TextStats.count(en_texts))

    def reordered(self, order) -> "Signals":
        order = np.asarray(order, dtype=np.int64)
        return Signals(self.lexicon.reordered(order) if self.lexicon is not None else None,
                       self.anchors.reordered(order) if self.anchors is not None else None,
                       self.zh_stats, self.en_stats.reordered(order) if self.en_stats is not None else None)


def distinct_in_runs(sets, a: int) -> np.ndarray:
    """For each start p, how many distinct items the sets [p, p+a) hold together (``len - a + 1``
    of them, as floats). An item's occurrence in set k counts for the runs that hold k and not its
    previous occurrence: the starts max(k - a, previous) < p <= k, one range each, summed at once."""
    n = len(sets) - a + 1
    if n <= 0:
        return np.zeros(0)
    at, before, last = [], [], {}
    for k, items in enumerate(sets):
        for x in items:
            at.append(k)
            before.append(last.get(x, -1))
            last[x] = k
    k, prev = np.array(at, dtype=np.int64), np.array(before, dtype=np.int64)
    lo, hi = np.maximum(np.maximum(prev + 1, k - a + 1), 0), np.minimum(k, n - 1)
    lo, hi = lo[lo <= hi], hi[lo <= hi]
    return np.cumsum(np.bincount(lo, minlength=n + 1) - np.bincount(hi + 1, minlength=n + 1))[:n].astype(float)


class PairTable:
    """Bit masks of the sentence pairs (q, k) that beads in a band can hold, computed once (a kind
    of bits when first asked for): for each Chinese sentence q the English sentences of a window
    [lo[q], hi[q]] (``pair_windows``). Pairs outside are computed on demand."""

    def __init__(self, bits: list[ItemBits], zh_probes: list[bool], lo: np.ndarray, hi: np.ndarray):
        self.bits, self.zh_probes, self.lo, self.hi = bits, zh_probes, lo, hi
        width = np.maximum(hi - lo + 1, 0)
        self.off = cumsum0(width).astype(np.int64)
        self._tables: dict[int, np.ndarray] = {}

    def table(self, kind: int) -> np.ndarray:
        """The masks of every pair in the windows (row off[q] + k - lo[q] for the pair (q, k))."""
        got = self._tables.get(kind)
        if got is None:
            width = np.diff(self.off)
            Q = np.repeat(np.arange(len(self.lo)), width)
            K = self.lo[Q] + (np.arange(len(Q)) - self.off[Q])
            got = self._tables[kind] = self._direct(kind, Q, K)
        return got

    @classmethod
    def around(cls, bits: list[ItemBits], zh_probes: list[bool], P: np.ndarray, a: int, S: np.ndarray, b: int):
        """A table of the pairs these beads hold (each Chinese sentence's window: the English
        sentences of its beads)."""
        nq = int(P.max()) + a
        lo = np.full(nq, np.iinfo(np.int64).max, dtype=np.int64)
        hi = np.full(nq, -1, dtype=np.int64)
        for v in range(a):
            np.minimum.at(lo, P + v, S)
            np.maximum.at(hi, P + v, S + b - 1)
        return cls(bits, zh_probes, np.minimum(lo, hi + 1), hi)

    def _direct(self, kind, Q, K):
        return self.bits[kind].masks(Q, K) if self.zh_probes[kind] else self.bits[kind].masks(K, Q)

    def get(self, kind: int, Q: np.ndarray, K: np.ndarray) -> np.ndarray:
        if not len(self.lo):  # no band: every pair on demand
            return self._direct(kind, Q, K)
        inside = (Q < len(self.lo))
        qc = np.minimum(Q, len(self.lo) - 1)
        inside &= (K >= self.lo[qc]) & (K <= self.hi[qc])
        if inside.all():
            return self.table(kind)[self.off[Q] + K - self.lo[Q]]
        out = np.empty((len(Q), self.bits[kind].lanes), dtype=np.uint64)
        out[inside] = self.table(kind)[self.off[Q[inside]] + K[inside] - self.lo[Q[inside]]]
        out[~inside] = self._direct(kind, Q[~inside], K[~inside])
        return out

    def counts(self, kind: int, P: np.ndarray, a: int, S: np.ndarray, b: int, by_english: bool = True,
               mask: np.ndarray | None = None, use_kernel: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """For each bead (Chinese P[t] .. P[t]+a-1, English S[t] .. S[t]+b-1): ``by_english``, the
        bits of each English sentence's OR over the Chinese ones, summed, and those also in the
        English sentence's row of ``mask``; else each Chinese sentence's OR over the English ones.
        Compiled where every pair is in the table (``_kernels.pair_counts``, the same counts;
        ``use_kernel`` False: numpy)."""
        P = np.ascontiguousarray(P, dtype=np.int64)
        S = np.ascontiguousarray(S, dtype=np.int64)
        if use_kernel and KERNELS is not None and len(S):
            got = self._compiled_counts(kind, P, a, S, b, by_english, mask) if len(self.lo) else None
            if got is None:  # pairs outside the windows: a table of the beads' own pairs
                got = PairTable.around(self.bits, self.zh_probes, P, a, S, b)._compiled_counts(kind, P, a, S, b, by_english, mask)
            if got is not None:
                return got
        hits, masked = np.zeros(len(S)), np.zeros(len(S))
        outer, inner = (b, a) if by_english else (a, b)
        for u in range(outer):
            acc = None
            for v in range(inner):
                got = self.get(kind, P + v, S + u) if by_english else self.get(kind, P + u, S + v)
                acc = got if acc is None else acc | got
            hits += popcount(acc).sum(axis=1)
            if mask is not None:
                masked += popcount(acc & mask[S + u]).sum(axis=1)
        return hits, masked


    def _compiled_counts(self, kind, P, a, S, b, by_english, mask):
        """``counts`` by ``_kernels.pair_counts``; None if a bead holds a pair outside the windows."""
        table = self.table(kind)
        hits, masked = np.empty(len(S)), np.empty(len(S))
        m = np.ascontiguousarray(mask, dtype=np.uint64) if mask is not None else np.zeros((0, 1), dtype=np.uint64)
        outside = KERNELS.pair_counts(np.ascontiguousarray(table), table.shape[1], self.off, self.lo, self.hi,
                                      len(self.lo), P, S, len(S), a, b, by_english, m,
                                      len(m) if mask is not None else 0, hits, masked)
        return (hits, masked) if outside == 0 else None


def pair_windows(wins, types, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """For each Chinese sentence q, the English sentences [lo, hi] that a bead in the band pairs it with."""
    lo_i = np.array([w[0] for w in wins])
    hi_i = np.array([w[1] for w in wins])
    amax = max((a for a, b in types if a and b), default=1)
    bmax = max((b for a, b in types if a and b), default=1)
    lo = np.full(n, m, dtype=np.int64)
    hi = np.full(n, -1, dtype=np.int64)
    for d in range(1, amax + 1):  # q is in a bead ending at row q + d
        rows = np.arange(n) + d
        ok = rows <= n
        r = np.minimum(rows, n)
        lo = np.where(ok, np.minimum(lo, lo_i[r] - bmax), lo)
        hi = np.where(ok, np.maximum(hi, hi_i[r] - 1), hi)
    return np.maximum(lo, 0), np.minimum(hi, m - 1)
