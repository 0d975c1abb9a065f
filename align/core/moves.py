"""Moved blocks: align texts whose paragraphs do not run in the same order.

Every published sentence aligner (Bertalign, Vecalign, hunalign) and our own
``align.core.aligner.align`` assume that both texts run in the same order. Press
releases break that: a paragraph sits elsewhere in the English version, or is
missing, or an "About …" section is added. This layer finds the moved English
blocks, puts them back where the Chinese text has them, and lets the monotonic
aligner do the rest:

1. *Anchors*: each Chinese sentence's top-k English sentences (cosine of the
   document-centred embeddings, as the aligner computes them).
2. *Chain*: one anchor per Chinese row at most, chosen by a Viterbi pass in
   Chinese order whose transitions cost nothing near the diagonal, a little
   per sentence of distortion, and at most ``jump`` for any jump (forward or
   backward). A moved block pays two jumps, so only runs of several good
   anchors are worth moving; isolated look-alikes never are.
3. *Segments*: the chain cut at its jumps. The heaviest chain of segments that
   is increasing in English is the main stream; every other segment with
   enough weight is a moved block. No moved block: the result is exactly the
   monotonic one.
4. *Permutation*: English is cut into pieces around the moved blocks (at a
   paragraph break when one is near, else where the neighbouring sentences
   fit best), the pieces are reordered by the Chinese position they belong to,
   and ``align`` runs once on Chinese against the reordered English. Bead ids
   are mapped back to the real English positions, so output follows the
   Chinese text and the ids tell where each sentence really is. A bead that
   would straddle two pieces is split; what is left over becomes one-sided.

   Which order wins is the aligner's own judgement: the real order, the move
   finder's answers at decreasing evidence thresholds, then single English
   paragraphs moved to where their anchors belong (greedily), each kept only
   when the whole alignment's path scores higher than the best order so far.
   (A very long document, over ``AlignOptions.budget`` sentence-runs, tries the move finder's
   first answer only, against the real order.) ``Orders`` keeps the best run.

   Paragraphs known to have no counterpart (``align.core.lone``) are no anchors and
   stay one-sided in every order.

Single moved sentences (too small for step 3) are ``lone.rescue``'s. Every sentence
still ends in exactly one bead.
"""

from __future__ import annotations

import bisect
from dataclasses import replace

import numpy as np

from ..model import Bead
from .aligner import AlignRun, align
from .dp import Known
from .embed import Encoder
from .features import document_signals
from .options import AlignOptions, MoveOptions
from .signals import Signals
from .similarity import Candidates, Similarity, candidates
from .vectors import KERNELS, Neighbours, centred_pair, heaviest_chain


def _cost(opt: MoveOptions, ratio: float, di: np.ndarray, dj: np.ndarray) -> np.ndarray:
    """Transition cost from an anchor to a later one (di > 0 rows later, dj columns later)."""
    excess = np.maximum(0.0, np.abs(dj - ratio * di) - opt.slack)
    cost = np.minimum(opt.jump, opt.distortion * excess)
    return np.where(dj <= 0, opt.jump, cost)


def chain(cand: np.ndarray, cand_sims: np.ndarray, m: int, opt: MoveOptions,
          use_kernel: bool = True) -> list[tuple[int, int, float]]:
    """The best non-monotonic chain of anchors (i, j, sim), in Chinese order.

    ``cand``/``cand_sims``: each Chinese row's candidate English columns and their similarity
    (``candidates``); ``m``: the number of English sentences. Compiled where it can be
    (``_kernels.chain``, the same chain bit for bit; ``use_kernel`` False: this Python code).
    """
    ratio = m / max(len(cand), 1)
    if use_kernel and KERNELS is not None and cand.ndim == 2:
        return _compiled_chain(cand, cand_sims, ratio, opt)
    return _python_chain(cand, cand_sims, ratio, opt)


def _compiled_chain(cand: np.ndarray, cand_sims: np.ndarray, ratio: float, opt: MoveOptions):
    n, k = cand.shape
    held_i, held_j = np.empty(n * k, dtype=np.int64), np.empty(n * k, dtype=np.int64)
    held_v, held_s = np.empty(n * k), np.empty(n * k)
    back = np.empty(n * k, dtype=np.int64)
    _, cur = KERNELS.chain(np.ascontiguousarray(cand, dtype=np.int64), np.ascontiguousarray(cand_sims, dtype=np.float64),
                           n, k, float(ratio), float(opt.jump), float(opt.distortion), float(opt.slack),
                           int(opt.lookback), held_i, held_j, held_v, held_s, back)
    out = []
    while cur >= 0:
        out.append((int(held_i[cur]), int(held_j[cur]), float(held_s[cur])))
        cur = int(back[cur])
    return out[::-1]


def _python_chain(cand: np.ndarray, cand_sims: np.ndarray, ratio: float, opt: MoveOptions):
    n = len(cand)
    # Per anchor: row, column and best chain value ending here (arrays: the rows before are read as
    # views), similarity, back pointer.
    held = np.empty((3, cand.size))
    sims: list[float] = []
    back: list[int] = []
    count = 0
    row_start: list[int] = []  # index of the first anchor of each row
    best_val, best_arg = 0.0, -1  # best chain value among anchors of earlier rows
    for i in range(n):
        row_start.append(count)
        lo = row_start[max(0, i - opt.lookback)]
        prev_r, prev_c, prev_v = held[:, lo:count]
        here = [(j, s) for j, s in zip(cand[i].tolist(), cand_sims[i].tolist()) if s > 0]
        if here and len(prev_r):  # every candidate of the row against the anchors of the rows before
            tot = prev_v - _cost(opt, ratio, i - prev_r, np.array([float(j) for j, _ in here])[:, None] - prev_c)
            at = np.argmax(tot, axis=1)
            reach = tot[np.arange(len(here)), at].tolist()
        for u, (j, s) in enumerate(here):  # best_val stays that of the earlier rows
            v, arg = best_val - opt.jump, best_arg  # a jump from anywhere (or a fresh start)
            if best_arg < 0:
                v, arg = -opt.jump, -1
            if len(prev_r) and reach[u] > v:
                v, arg = reach[u], lo + int(at[u])
            held[:, count] = i, j, v + s
            sims.append(s)
            back.append(arg)
            count += 1
        for t in range(row_start[i], count):
            if held[2, t] > best_val:
                best_val, best_arg = float(held[2, t]), t
    if best_arg < 0:
        return []
    out = []
    cur = best_arg
    while cur >= 0:
        out.append((int(held[0, cur]), int(held[1, cur]), sims[cur]))
        cur = back[cur]
    return out[::-1]


def heaviest_increasing(anchors: list[tuple[int, int, float]]) -> set[int]:
    """Indices of the heaviest subsequence of ``anchors`` (in Chinese order, one per row)
    strictly increasing in English."""
    if not anchors:
        return set()
    return set(heaviest_chain([a[0] for a in anchors], [a[1] for a in anchors], [a[2] for a in anchors],
                              max(a[1] for a in anchors) + 2))


def moved_runs(anchors: list[tuple[int, int, float]], stream: set[int], ratio: float,
               opt: MoveOptions) -> list[list[int]]:
    """Runs of off-stream anchors that go forward together: the candidate moved blocks."""
    runs: list[list[int]] = []
    for k, (i, j, _) in enumerate(anchors):
        if k in stream:
            continue
        if runs:
            pi, pj, _ = anchors[runs[-1][-1]]
            if -opt.slack <= j - pj <= ratio * (i - pi) + opt.slack:
                runs[-1].append(k)
                continue
        runs.append([k])
    return runs


def _best_cut(lo: int, hi: int, left_fit: np.ndarray, right_fit: np.ndarray, breaks: set[int],
              bonus: float) -> int:
    """The cut c in [lo, hi] (sentences [lo, c) go left, [c, hi) go right) that fits best.

    ``left_fit``/``right_fit``: how well English sentences lo .. hi-1 fit each side (length hi - lo).
    """
    # Prefix sums: O(hi - lo) for the whole scan (a long gap must not cost its square).
    left = np.concatenate([[0.0], np.cumsum(left_fit, dtype=float)])
    right = np.concatenate([np.cumsum(np.asarray(right_fit)[::-1], dtype=float)[::-1], [0.0]])
    best_c, best_s = hi, -np.inf
    for c in range(lo, hi + 1):
        s = float(left[c - lo] + right[c - lo]) + (bonus if c in breaks else 0.0)
        if s > best_s + 1e-9:
            best_c, best_s = c, s
    return best_c


def find_moves(sim: "np.ndarray | Similarity", en_paras: list[int] | None = None,
               opt: MoveOptions | None = None, anchors=None) -> list[tuple[int, int, bool]] | None:
    """English pieces [start, end) in Chinese order, each with a moved flag; None when nothing moved.

    ``sim``: a ``Similarity`` (computed in blocks, linear memory) or a ready n×m matrix;
    ``anchors``: the ``chain`` of ``sim`` if already computed (it does not depend on the thresholds).
    """
    opt = opt or MoveOptions()
    if not isinstance(sim, Similarity):
        sim = Similarity.of_matrix(sim)
    n, m = sim.shape
    if n < 2 or m < 2:
        return None
    ratio = m / n
    if anchors is None:
        anchors = chain(*candidates(sim, opt), m, opt)
    stream = heaviest_increasing(anchors)
    group = {k: -1 for k in sorted(stream)}  # -1: the main stream; r: moved run r
    placed = sorted((anchors[k][1], k) for k in group)  # the same anchors by English position
    for r, run in enumerate(moved_runs(anchors, stream, ratio, opt)):
        js = [anchors[k][1] for k in run]
        weight = sum(anchors[k][2] for k in run)
        if len(run) < opt.min_anchors or weight < opt.min_weight:
            continue  # too little evidence: isolated look-alikes
        lo, hi = min(js), max(js)
        a, b = bisect.bisect_left(placed, (lo, -1)), bisect.bisect_right(placed, (hi, len(anchors)))
        inside = [k for _, k in placed[a:b]]
        if sum(anchors[k][2] for k in inside) >= weight / 2:
            continue  # interleaved with what is already placed: not a clean block
        for k in inside:  # a few weak anchors inside the block were wrong
            del group[k]
        del placed[a:b]
        group.update({k: r for k in run})
        for k in run:
            bisect.insort(placed, (anchors[k][1], k))
    if all(g < 0 for g in group.values()):
        return None
    # Segments: kept anchors cut where the group changes in Chinese order, then in English order.
    label, last, labels = {}, None, 0
    for k in sorted(group):
        if last is None or group[k] != group[last]:
            label[k] = labels
            labels += 1
        else:
            label[k] = label[last]
        last = k
    segs: list[list[int]] = []
    for k in sorted(group, key=lambda k: anchors[k][1]):
        if segs and label[segs[-1][-1]] == label[k]:
            segs[-1].append(k)
        else:
            segs.append([k])
    breaks = set()
    if en_paras is not None:
        breaks = {c for c in range(1, m) if en_paras[c] != en_paras[c - 1]}
    cuts = [0]
    for a, b in zip(segs, segs[1:]):
        lo, hi = anchors[a[-1]][1] + 1, anchors[b[0]][1]
        za = max(anchors[k][0] for k in a)  # where a's piece ends in Chinese
        zb = min(anchors[k][0] for k in b)  # where b's piece starts in Chinese
        left_fit = right_fit = np.zeros(0)  # only English lo .. hi-1 can go either way
        if hi > lo:
            left_fit = sim.block(za, min(n, za + 3), lo, hi).max(axis=0)
            right_fit = sim.block(max(0, zb - 2), zb + 1, lo, hi).max(axis=0)
        cuts.append(_best_cut(lo, hi, left_fit, right_fit, breaks, opt.para_bonus))
    cuts.append(m)
    pieces = []
    for k, seg in enumerate(segs):
        if cuts[k + 1] > cuts[k]:
            pieces.append((min(anchors[a][0] for a in seg), cuts[k], cuts[k + 1], group[seg[0]] >= 0))
    pieces.sort()
    if [p[1] for p in pieces] == sorted(p[1] for p in pieces):
        return None
    return [(s, e, moved) for _, s, e, moved in pieces]


def _split_straddling(bead: Bead, piece_of: list[int], text_len) -> list[Bead]:
    """A bead whose English comes from two pieces: keep the larger part, the rest one-sided."""
    groups: dict[int, list[int]] = {}
    for j in bead.en_ids:
        groups.setdefault(piece_of[j], []).append(j)
    if len(groups) <= 1:
        return [bead]
    main = max(groups.values(), key=lambda js: sum(text_len(j) for j in js))
    out = [Bead(list(bead.zh_ids), main, bead.score)]
    for js in groups.values():
        if js is not main:
            out += [Bead([], [j]) for j in js]
    return out


def _en_order(pieces, m: int) -> list[int]:
    """The English positions in the order of ``pieces`` (None: the real order)."""
    return list(range(m)) if pieces is None else [j for s, e, _ in pieces for j in range(s, e)]


class Orders:
    """Aligner runs of one document against candidate English orders (``pieces``: English
    [start, end) ranges with a moved flag, in Chinese order; None: the real order). Keeps the
    best-scoring run; bead ids are always the real English positions."""

    def __init__(self, zh_texts, en_texts, encoder: Encoder, options: AlignOptions, zh_vecs, en_vecs,
                 zh_paras, en_paras, lone_zh=(), lone_en=(), near: Neighbours | None = None, centred_vecs=None,
                 signals: Signals | None = None):
        """``signals``: the document's ``features.document_signals``, if already built (else the
        first run builds them)."""
        self.zh, self.en, self.encoder, self.options = zh_texts, en_texts, encoder, options
        self.near = near
        self.zh_vecs, self.en_vecs, self.zh_paras, self.en_paras = zh_vecs, en_vecs, zh_paras, en_paras
        # the document's centred vectors (``vectors.centred``), made once and shared by every run
        self.centred = centred_pair(zh_vecs, en_vecs, centred_vecs)
        self.lone = (lone_zh, lone_en)
        self.total: float | None = None
        self.beads: list[Bead] | None = None
        self.pieces = None
        self.realign = None
        self.tried: set = set()
        self.signals = signals  # the dictionary and anchor signals
        self.known: tuple | None = None  # (lone sentences, bead scores) of the run against the real order

    def _signals(self, pieces, order) -> Signals:
        if self.signals is None:
            self.signals = document_signals(self.zh, self.en, self.options)
        return self.signals if pieces is None else self.signals.reordered(order)

    def align(self, pieces, lone_zh, lone_en) -> tuple[list[Bead], AlignRun]:
        """Align Chinese against the English pieces in the given order; beads of moved pieces are
        marked, a bead that would straddle two pieces is split."""
        m = len(self.en)
        order = _en_order(pieces, m)
        lone = set(lone_en)
        extra = {"lone_zh": lone_zh, "lone_en": [k for k, j in enumerate(order) if j in lone],
                 "near": self.near if pieces is None or self.near is None else self.near.reordered(order),
                 "signals": self._signals(pieces, order)}
        if self.zh_paras is not None and self.en_paras is not None:
            extra.update(zh_paras=list(self.zh_paras), en_paras=[self.en_paras[j] for j in order])
        if pieces is None:
            first = self.known is None and (lone_zh, lone_en) == self.lone
            run = align(self.zh, self.en, self.encoder, self.options, self.zh_vecs, self.en_vecs, **extra,
                        keep_table=first, centred_vecs=self.centred)
            if first:  # later orders read its bead scores where they hold the same beads
                self.known = ((lone_zh, lone_en), run.table)
                run.table = None
            return run.beads, run
        if self.known is not None and self.known[0] == (lone_zh, lone_en):
            extra["known"] = Known(self.known[1], order)
        moved = {j for s, e, mv in pieces if mv for j in range(s, e)}
        piece_of = [0] * m
        for k, (s, e, _) in enumerate(pieces):
            for j in range(s, e):
                piece_of[j] = k
        run = align(self.zh, [self.en[j] for j in order], self.encoder, self.options, self.zh_vecs,
                    self.en_vecs[order], **extra, centred_vecs=(self.centred[0], self.centred[1][order]))
        out: list[Bead] = []
        for b in run.beads:
            real = Bead(list(b.zh_ids), [order[j] for j in b.en_ids], b.score)
            for part in _split_straddling(real, piece_of, lambda j: len(self.en[j])):
                part.moved = any(j in moved for j in part.en_ids)
                out.append(part)
        return out, run

    def try_order(self, pieces) -> list[Bead] | None:
        """Align against ``pieces``; keep it if its path scores higher than the best so far (the
        first one tried is kept). None if tried before."""
        key = None if pieces is None else tuple(pieces)
        if key in self.tried:
            return None
        self.tried.add(key)
        beads, run = self.align(pieces, *self.lone)
        if self.total is None or run.total > self.total + self.options.moves.verify_margin:
            self.total, self.beads, self.pieces, self.realign = run.total, beads, pieces, run.realign
        return beads

    def try_lone(self, lone_zh, lone_en) -> list[Bead]:
        """The best order aligned again with these sentences known to have no counterpart."""
        return self.align(self.pieces, lone_zh, lone_en)[0]

    def local(self, lone_zh, lone_en):
        """The best run's path gain with these sentences marked (a window re-aligned), and a
        function that keeps it (``dp.Realigner``)."""
        at = {j: k for k, j in enumerate(_en_order(self.pieces, len(self.en)))}  # real position -> aligned order
        return self.realign.gain(lone_zh, [at[j] for j in lone_en]), self.realign.keep


def search_orders(orders: Orders, options: AlignOptions, ready: Candidates | None = None) -> None:
    """Which English order to align against, judged by the aligner's own path score (kept in
    ``orders``): the real order, the move finder's answers at decreasing evidence thresholds
    (``MoveOptions.thresholds``), then greedily single paragraphs moved to where their anchors
    belong (``paragraph_plan``), each kept only if the whole alignment scores higher; at most
    ``budget / (n + m)`` aligner runs, and never fewer than two: a move is always verified
    against the real order (unverified, the finder's look-alikes cost a long document more than
    its real moves gave). Sentences known to have no counterpart are no anchors. ``ready``: the
    candidates, if the document's similarity pass made them (no sentence is lone)."""
    n, m = len(orders.zh), len(orders.en)
    if n > 1 and m > 1:
        z, e = orders.centred
        if orders.lone[0]:
            z = z.copy()
            z[list(orders.lone[0])] = 0.0
        if orders.lone[1]:
            e = e.copy()
            e[list(orders.lone[1])] = 0.0
        cand = (ready.idx, ready.sims) if ready is not None and not any(orders.lone) else None
        _search(orders, Similarity(z, e), orders.en_paras, options.moves, max(2, options.budget // (n + m)), cand)
    if orders.beads is None:
        orders.try_order(None)


def _search(run: Orders, sim: Similarity, en_paras, opt: MoveOptions, budget: int, cand=None) -> None:
    anchors = chain(*(cand or candidates(sim, opt)), sim.shape[1], opt)
    run.try_order(None)
    for w in opt.thresholds:
        if len(run.tried) >= budget:
            return
        run.try_order(find_moves(sim, en_paras, replace(opt, min_weight=w), anchors))
    if en_paras is None:
        return
    start = run.pieces or [(0, sim.shape[1], False)]
    paras, loc, tries = paragraph_plan(anchors, en_paras, opt, {p[0] for p in start})
    rank = {j: t for t, (a, b, _) in enumerate(start) for j in range(a, b)}
    order = sorted(range(len(paras)), key=lambda q: (rank[paras[q][0]], paras[q][0]))
    for k in tries:
        if len(run.tried) >= budget:
            return
        new = _moved_to(order, k, loc)
        if new != order and run.try_order(_para_pieces(new, paras)) is run.beads:
            order = new


def paragraph_plan(anchors: list[tuple[int, int, float]], en_paras: list[int], opt: MoveOptions, cuts=()):
    """English paragraphs [(start, end)] (also cut at ``cuts``), where each belongs in Chinese (the
    weighted median row of its ``chain`` anchors) and the paragraphs worth trying to move,
    strongest evidence first."""
    m = len(en_paras)
    bounds = [0] + [j for j in range(1, m) if en_paras[j] != en_paras[j - 1] or j in cuts] + [m]
    paras = list(zip(bounds, bounds[1:]))
    para_of = np.zeros(m, dtype=int)
    for k, (a, b) in enumerate(paras):
        para_of[a:b] = k
    rows: dict[int, list[tuple[int, float]]] = {}
    for i, j, w in anchors:
        rows.setdefault(int(para_of[j]), []).append((i, w))
    loc, weight, last = [], [], -1.0
    for k in range(len(paras)):
        got = sorted(rows.get(k, []))
        if got:
            ws = np.cumsum([w for _, w in got])
            last = float(got[int(np.searchsorted(ws, ws[-1] / 2))][0])  # weighted median row
            weight.append(float(ws[-1]))
        else:
            last += 0.001  # no anchor: stays after the paragraph before it
            weight.append(0.0)
        loc.append(last)
    tries = sorted((k for k in range(len(paras)) if weight[k] >= opt.min_weight / 2), key=lambda k: -weight[k])
    return paras, loc, tries[:opt.para_tries] if len(paras) > 1 else []


def _moved_to(order: list[int], k: int, loc: list[float]) -> list[int]:
    """``order`` with paragraph k moved before the first other paragraph that belongs after it."""
    rest = [q for q in order if q != k]
    at = next((t for t, q in enumerate(rest) if loc[q] > loc[k]), len(rest))
    return rest[:at] + [k] + rest[at:]


def _para_pieces(order: list[int], paras: list[tuple[int, int]]) -> list[tuple[int, int, bool]]:
    """Paragraphs in ``order`` as pieces (runs contiguous in English joined); the longest is unmoved."""
    pieces: list[list] = []
    for q in order:
        a, b = paras[q]
        if pieces and pieces[-1][1] == a:
            pieces[-1][1] = b
        else:
            pieces.append([a, b])
    main = max(range(len(pieces)), key=lambda t: pieces[t][1] - pieces[t][0])
    return [(a, b, t != main) for t, (a, b) in enumerate(pieces)]


def order_marks(beads: list[Bead]) -> None:
    """Mark, in place, which pairs stand out of the Chinese order and how far each jumps.

    ``moved``: the pairs (beads in Chinese order) to take out so that the English of all the
    others runs in order, as few sentences as possible: of each crossing, the smaller side. ``jump``: how many English
    sentences lie between a pair's English and the English of the pairs next to it in Chinese
    order (the nearer of the two sides); 0 in a run that follows on. An in-order pair is measured
    against its nearest in-order pairs (a moved block beside it does not make it jump), a moved
    pair against its neighbours whatever they are (its own block's). Both depend on the beads
    alone, so the same beads always get the same marks."""
    pairs = [b for b in beads if b.two_sided]
    for b in beads:
        b.moved, b.jump = False, 0
    if not pairs:
        return
    firsts = [min(b.en_ids) for b in pairs]
    sizes = [float(len(b.zh_ids) + len(b.en_ids)) for b in pairs]
    keep = sorted(heaviest_chain(list(range(len(pairs))), firsts, sizes, max(firsts) + 1))
    kept = set(keep)
    for k, b in enumerate(pairs):
        b.moved = k not in kept
        if b.moved:
            before, after = k - 1, k + 1
        else:  # the in-order pairs before and after it
            at = bisect.bisect_left(keep, k)
            before = keep[at - 1] if at > 0 else -1
            after = keep[at + 1] if at + 1 < len(keep) else len(pairs)
        gaps = []
        if before >= 0:
            gaps.append(abs(min(b.en_ids) - max(pairs[before].en_ids) - 1))
        if after < len(pairs):
            gaps.append(abs(min(pairs[after].en_ids) - max(b.en_ids) - 1))
        b.jump = min(gaps) if gaps else 0
