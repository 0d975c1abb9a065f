"""Sentence alignment from embeddings plus length, dictionary and anchor signals.

Two passes, as in Bertalign (Liu & Zhu 2022), with a richer bead score:

1. *Anchors* (``first_path``): for every Chinese sentence its top-k most similar English
   sentences (in row blocks, so memory stays linear); the monotonic chain of such 1-1
   candidates with the highest total similarity is the first search path.
2. *Beads* (``align.core.dp``): dynamic programming over a band around that path with beads
   up to 1-6 / 5-1 (and 2-2, 2-3, 3-2, 2-4, 3-3), insertions and deletions, maximising the
   sum of the beads' scores (``align.core.features``: a weighted sum of signals fitted on
   MAC-Dev). A multi-sentence side's embedding is, by default (``spans="compose"``), composed
   from its sentences' by the encoder (USE: ``align.core.compose``; one DP pass, no text
   encoded twice). With an encoder that cannot compose, ``"refine"``: a first pass with summed
   sentence embeddings shortlists the multi-sentence beads that come close to the best one
   at the path's bead boundaries, only those sides are embedded for real, and the DP runs
   again (``"sum"``: sums only; ``"embed"``: every side in the band embedded, slowest).

Sentences known to have no counterpart (``lone_zh``/``lone_en``, from ``align.core.lone``)
are kept out of every two-sided bead and cost nothing one-sided; the length ratio is then
the document's without them. Every input sentence ends up in exactly one bead.

``Bead.score`` is the cosine of the two sides times a length penalty, clipped to [0, 1]
(``align.core.calibrate`` turns it into a confidence); one-sided beads have None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import Bead
from .dp import KNOWN_MIN_SHARE, Known, Pass, Realigner, Table, band, band_rows, best_path, shortlist
from .embed import Encoder
from .features import FEATURES, BeadScorer, bead_types, need_both, type_key
from .options import AlignOptions
from .signals import Signals
from .vectors import Neighbours, heaviest_chain, top_k


def first_path(zh: np.ndarray, en: np.ndarray, k: int, near: Neighbours | None = None,
               lone_zh: np.ndarray | None = None, lone_en: np.ndarray | None = None) -> list[tuple[int, int]]:
    """The monotonic chain of 1-1 top-k candidates with the highest total similarity; ``near``:
    the document's neighbours of these same vectors (else a pass of its own). Sentences masked
    ``lone_zh``/``lone_en`` are no candidates."""
    if zh.shape[0] == 0 or en.shape[0] == 0:
        return []
    keys = np.where(lone_en[:, None], 0.0, en) if lone_en is not None else en
    if near is None:
        queries = np.where(lone_zh[:, None], 0.0, zh) if lone_zh is not None else zh
        idx, sims = top_k(queries, keys, k, dtype=np.float32, max_rows=2048)
    else:  # rows that the kept neighbours cannot answer (lone_en among them) are computed here
        idx, sims = near.top(k, lone_zh, lone_en, lambda rows: top_k(zh[rows], keys, k, dtype=np.float32))
    keep = sims > 0  # row by row, each row's candidates in their order
    rows = np.nonzero(keep)[0].tolist()
    cols, weights = idx[keep].tolist(), sims[keep].astype(float).tolist()
    chain = heaviest_chain(rows, cols, weights, en.shape[0])
    return [(rows[t], cols[t]) for t in chain]


@dataclass
class Problem:
    """One document made ready for the DP: its bead scorer, band and bead types. Weight fitting
    (``benchmarks/quality.py --fit``) decodes it with other weights."""

    scorer: BeadScorer
    wins: list[tuple[int, int]]
    types: list[tuple[int, int]]

    @property
    def size(self) -> tuple[int, int]:
        return len(self.scorer.z.texts), len(self.scorer.e.texts)

    def decode(self, weights: dict | None = None) -> list[tuple[int, int]]:
        """The best path of bead types (with ``weights`` instead of the scorer's, if given)."""
        if weights is not None:
            self.scorer.w = dict(weights)
        return best_path(self.scorer, *self.size, self.wins, self.types).path

    def beads(self, path: list[tuple[int, int]], exact: bool = False) -> list[Bead]:
        """A path of bead types as beads, each two-sided one with its display score (one batch per bead type)."""
        beads, starts, i, j = [], {}, 0, 0
        for a, b in path:
            beads.append(Bead(list(range(i, i + a)), list(range(j, j + b))))
            if a and b:
                starts.setdefault((a, b), []).append((len(beads) - 1, i, j))
            i, j = i + a, j + b
        for (a, b), got in starts.items():
            k, P, S = (np.array(x) for x in zip(*got))
            display = self.scorer.display(P, a, S, b, exact)
            for t, score in zip(k, display):
                beads[t].score = float(score)
        return beads

    def path_features(self, path: list[tuple[int, int]]) -> dict[str, float]:
        """Summed features (signals and type counts) of a path of bead types: for fitting WEIGHTS."""
        tot: dict[str, float] = {}
        i = j = 0
        for a, b in path:
            if a and b:
                f, _ = self.scorer.features(i, a, np.array([j]), b)
                for name, v in zip(FEATURES, f[0]):
                    tot[name] = tot.get(name, 0.0) + float(v)
            key = type_key(a, b)
            tot[key] = tot.get(key, 0.0) + 1.0
            i, j = i + a, j + b
        return tot


def prepare(zh_texts, en_texts, encoder, options=None, zh_vecs=None, en_vecs=None, zh_paras=None, en_paras=None,
            lone_zh=(), lone_en=(), near: Neighbours | None = None, signals: Signals | None = None,
            band_pairs: bool = True, centred_vecs=None) -> Problem:
    """The bead scorer, band and bead types of one document (shared by ``align`` and weight fitting);
    ``band_pairs``: the dictionary and anchor masks of the band's sentence pairs at once (else on
    demand: a run that reads most bead scores, ``dp.Known``, needs few)."""
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
    scorer = BeadScorer(zh_texts, en_texts, encoder, opt, zh_vecs, en_vecs, zh_paras, en_paras, signals, centred_vecs)
    scorer.set_lone(lone_zh, lone_en)
    if zh_vecs is not None:  # sentences known to have no counterpart are no anchors
        near = near if opt.center and n > 1 and m > 1 else None  # the neighbours of centred vectors
        path = first_path(scorer.z.vecs, scorer.e.vecs, opt.top_k, near, scorer.z.lone, scorer.e.lone)
    wins, types = band(n, m, path, window), bead_types(opt.max_bead)
    if band_pairs:
        scorer.set_band(wins, types)
    return Problem(scorer, wins, types)


@dataclass
class AlignRun:
    """What one aligner run gives: the beads, the path's total score (comparable between English
    orders of the same document), a ``Realigner`` for cheap what-ifs (None when a side is empty)
    and, when asked for, its bead scores (``table``: for ``dp.Known``)."""

    beads: list[Bead]
    total: float = 0.0
    realign: Realigner | None = None
    table: Table | None = None


def _embed_all_spans(problem: Problem) -> None:
    """spans="embed": every multi-sentence side in the band gets its own embedding."""
    need_z, need_e = set(), set()
    n, _ = problem.size
    for i in range(n + 1):
        lo, hi = problem.wins[i]
        for a, b in problem.types:
            if a > 1 and i - a >= 0:
                need_z.add((i - a, a))
            if b > 1:
                need_e.update((j - b, b) for j in range(max(lo, b), hi + 1))
    problem.scorer.z.need(need_z)
    problem.scorer.e.need(need_e)


def align(zh_texts: list[str], en_texts: list[str], encoder: Encoder | None,
          options: AlignOptions | None = None,
          zh_vecs: np.ndarray | None = None, en_vecs: np.ndarray | None = None,
          zh_paras: list[int] | None = None, en_paras: list[int] | None = None,
          lone_zh=(), lone_en=(), near: Neighbours | None = None, signals: Signals | None = None,
          known: Known | None = None, keep_table: bool = False, centred_vecs=None) -> AlignRun:
    """Align two sentence lists; every sentence ends up in exactly one bead, in order.

    ``encoder`` may be None with ``AlignOptions(scorer="length")`` (a Gale-Church-style
    length-only aligner). ``zh_paras``/``en_paras`` (optional) give each sentence's
    paragraph number, used as a soft signal. ``lone_zh``/``lone_en``: ids of sentences known
    to have no counterpart (``align.core.lone``): they are never part of a two-sided bead,
    and leaving them one-sided costs nothing. ``near``: the document's ``vectors.Neighbours``
    (of the centred vectors, English in this order), so that the first path needs no pass of its own;
    ``signals``: the document's ``features.document_signals`` for these texts (else built here).
    ``known``: bead scores of an earlier run of this document against the English in another
    order (``dp.Known``; not read where spans are refined, as a bead's score then depends on the
    run); ``keep_table``: keep this run's (``AlignRun.table``); ``centred_vecs``: ``vectors.centred``
    of the two vectors, if already made.
    """
    opt = options or AlignOptions()
    n, m = len(zh_texts), len(en_texts)
    if n == 0 or m == 0:
        return AlignRun([Bead([i], []) for i in range(n)] + [Bead([], [j]) for j in range(m)])
    problem = prepare(zh_texts, en_texts, encoder, opt, zh_vecs, en_vecs, zh_paras, en_paras, lone_zh, lone_en, near,
                      signals, band_pairs=known is None, centred_vecs=centred_vecs)
    scorer, wins, types = problem.scorer, problem.wins, problem.types
    if known is not None and (scorer.refines  # a bead's score depends on the spans this run refines
                              or known.share(*band_rows(wins), types) < KNOWN_MIN_SHARE):
        known = None
        scorer.set_band(wins, types)
    if scorer.z.vecs is not None and opt.spans == "embed":
        _embed_all_spans(problem)
    if scorer.refines:
        first: Pass = best_path(scorer, n, m, wins, types, keep_scores=True)
        need_both(scorer.z, scorer.e, *shortlist(scorer, wins, types, first, opt.refine_margin))
    final = best_path(scorer, n, m, wins, types, keep_scores=keep_table, known=known)
    return AlignRun(problem.beads(final.path, exact=opt.spans == "embed"), final.end,
                    Realigner(scorer, wins, types, final.path, lone_zh, lone_en), final.scores)
