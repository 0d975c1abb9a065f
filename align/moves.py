"""Moved blocks: align texts whose paragraphs do not run in the same order.

Every published sentence aligner (Bertalign, Vecalign, hunalign) and our own
``aligner.align`` assume that both texts run in the same order. Press
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
   (A very long document, over ``VERIFY_BUDGET`` sentence-runs, takes the move
   finder's first answer, as one aligner run.)

   Paragraphs known to have no counterpart (``align.unpaired``) are no anchors and
   stay one-sided in every order; with the best order, up to a few weakly matched
   paragraphs are then tried as one-sided (``unpaired.verify_lone``), each kept so
   when the path scores higher.

5. *Single moved sentences*: ``rescue`` pairs a lone sentence with a
   counterpart far away when the two are each other's nearest neighbour in
   the whole document (a one-sentence move is too small for step 3).
6. *Lone sentences*: ``reattach`` gives a one-sided sentence back to the
   neighbouring pair when embedding the pair's side with it matches the other
   side better (cosine × length penalty) than without it; otherwise it stays
   one-sided. Applied in both modes (``api.align_document``).

Every sentence still ends in exactly one bead.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

import numpy as np

from .aligner import AlignOptions, _top_k, align
from .aligner import centred as _center
from .aligner import unit
from .embed import Encoder
from . import unpaired
from .model import Bead, chinese_order


REATTACH_MARGIN = 0.0
NO_REATTACH_ACROSS = True  # a lone sentence in another paragraph than the pair stays lone
UNPAIR_BELOW = None  # e.g. 0.05 (measured: costs 0.008 strict F1 on pre-split MAC-Dev, so off); a pair whose two sides are less similar than this (centred cosine) is split up
REATTACH = True  # give lone sentences back to the pair they belong to (see ``reattach``)
CANDIDATE_WEIGHTS = (1.7, 1.2, 0.8)  # move-finder evidence thresholds tried (MoveOptions.min_weight)
VERIFY_MARGIN = 0.0  # how much higher a new English order's path must score than the best so far
VERIFY_BUDGET = 20000  # (sentences × aligner runs): a document of n + m sentences gets this / (n + m) runs
PARA_TRIES = 10  # English paragraphs tried at their anchors' place (strongest first)
RESCUE = True  # pair a lone sentence with its counterpart that moved alone (see ``rescue``)
RESCUE_MIN_COS = 0.3  # centred cosine the two must reach
RESCUE_MARGIN = 0.15  # by how much better the counterpart must fit the lone sentence than its bead
RESCUE_NEAR = 5  # beads: a counterpart this close is the aligner's business, not a move


@dataclass
class MoveOptions:
    """Knobs of the move finder (defaults tuned on benchmarks/reorder.py)."""

    top_k: int = 2  # anchor candidates per Chinese sentence
    jump: float = 0.5  # cost of one jump in the chain (in cosine units)
    distortion: float = 0.05  # cost per sentence of distortion near the diagonal, capped at ``jump``
    slack: float = 3.0  # sentences of distortion that cost nothing
    lookback: int = 40  # Chinese rows searched for a cheap (non-jump) predecessor
    min_anchors: int = 2  # anchors a moved block needs
    min_weight: float = 1.7  # summed (smoothed) anchor similarity a moved block needs
    para_bonus: float = 0.3  # preference for cutting English at a paragraph break
    smooth: float = 0.5  # weight of the neighbours' best match (local coherence of a block)
    reach: int = 3  # English sentences searched for a neighbour's match



def _cost(opt: MoveOptions, ratio: float, di: np.ndarray, dj: np.ndarray) -> np.ndarray:
    """Transition cost from an anchor to a later one (di > 0 rows later, dj columns later)."""
    excess = np.maximum(0.0, np.abs(dj - ratio * di) - opt.slack)
    cost = np.minimum(opt.jump, opt.distortion * excess)
    return np.where(dj <= 0, opt.jump, cost)


_BLOCK_CELLS = 1 << 16  # similarities computed at a time (about 64k cells, as aligner._top_k)


class Similarity:
    """Cosine similarities of Chinese × English sentences, computed on demand in blocks.

    Built from the two (centred, unit) embedding matrices, it never holds the whole
    n×m matrix: memory stays linear in the document size. ``Similarity.of_matrix``
    wraps a ready matrix (small inputs, tests).
    """

    def __init__(self, zh: np.ndarray, en: np.ndarray):
        self.zh, self.en, self.matrix = zh, en, None
        self.shape = (zh.shape[0], en.shape[0])

    @classmethod
    def of_matrix(cls, sim: np.ndarray) -> "Similarity":
        out = cls.__new__(cls)
        out.zh = out.en = None
        out.matrix = np.asarray(sim)
        out.shape = out.matrix.shape
        return out

    def block(self, r0: int, r1: int, c0: int = 0, c1: int | None = None) -> np.ndarray:
        """Rows [r0, r1) × columns [c0, c1) of the similarity matrix."""
        c1 = self.shape[1] if c1 is None else c1
        if self.matrix is not None:
            return self.matrix[r0:r1, c0:c1]
        return self.zh[r0:r1] @ self.en[c0:c1].T


def _smoothed_rows(sim: Similarity, lo: int, hi: int, opt: MoveOptions) -> np.ndarray:
    """Rows [lo, hi) of ``smoothed``: needs only rows lo-1 .. hi of the similarities."""
    n, m = sim.shape
    r = opt.reach
    a, b = max(0, lo - 1), min(n, hi + 1)
    raw = sim.block(a, b)
    pad = np.full((hi - lo + 2, m + 2 * r), -1.0)  # pad row t is row lo-1+t (-1 outside the document)
    pad[a - (lo - 1):a - (lo - 1) + (b - a), r:r + m] = raw
    before = pad[:-2, r:r + m].copy()
    after = pad[2:, r:r + m].copy()
    for d in range(1, r + 1):
        np.maximum(before, pad[:-2, r - d:r - d + m], out=before)
        np.maximum(after, pad[2:, r + d:r + d + m], out=after)
    return raw[lo - a:hi - a] + opt.smooth * (np.maximum(before, 0) + np.maximum(after, 0))


def candidates(sim: Similarity, opt: MoveOptions) -> tuple[np.ndarray, np.ndarray]:
    """Each Chinese row's top-k English columns of the (smoothed) similarities: (indices, values).

    Computed in row blocks of about ``_BLOCK_CELLS`` cells: memory O((n + m)·k) plus one block.
    """
    n, m = sim.shape
    k = min(opt.top_k, m)
    idx = np.zeros((n, k), dtype=np.int64)
    vals = np.zeros((n, k))
    step = max(16, _BLOCK_CELLS // max(1, m))
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        val = _smoothed_rows(sim, lo, hi, opt) if opt.smooth else sim.block(lo, hi)
        part = np.argpartition(-val, k - 1, axis=1)[:, :k]
        idx[lo:hi] = part
        vals[lo:hi] = np.take_along_axis(val, part, axis=1)
    return idx, vals


def chain(cand: np.ndarray, cand_sims: np.ndarray, m: int, opt: MoveOptions) -> list[tuple[int, int, float]]:
    """The best non-monotonic chain of anchors (i, j, sim), in Chinese order.

    ``cand``/``cand_sims``: each Chinese row's candidate English columns and their similarity
    (``candidates``); ``m``: the number of English sentences.
    """
    n = len(cand)
    ratio = m / max(n, 1)
    # Per anchor: row, column, similarity, best chain value ending here, back pointer.
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    back: list[int] = []
    sims: list[float] = []
    row_start: list[int] = []  # index of the first anchor of each row
    best_val, best_arg = 0.0, -1  # best chain value among anchors of earlier rows
    for i in range(n):
        row_start.append(len(rows))
        lo = row_start[max(0, i - opt.lookback)]
        prev_r = np.array(rows[lo:], dtype=float)
        prev_c = np.array(cols[lo:], dtype=float)
        prev_v = np.array(vals[lo:], dtype=float)
        new = []
        for j, s in zip(cand[i], cand_sims[i]):
            s = float(s)
            if s <= 0:
                continue
            v, arg = best_val - opt.jump, best_arg  # a jump from anywhere (or a fresh start)
            if best_arg < 0:
                v, arg = -opt.jump, -1
            if len(prev_r):
                tot = prev_v - _cost(opt, ratio, i - prev_r, j - prev_c)
                t = int(np.argmax(tot))
                if tot[t] > v:
                    v, arg = float(tot[t]), lo + t
            new.append((int(j), v + s, arg, s))
        for j, v, arg, s in new:
            rows.append(i)
            cols.append(j)
            vals.append(v)
            back.append(arg)
            sims.append(s)
        for t in range(row_start[i], len(rows)):
            if vals[t] > best_val:
                best_val, best_arg = vals[t], t
    if best_arg < 0:
        return []
    out = []
    cur = best_arg
    while cur >= 0:
        out.append((rows[cur], cols[cur], sims[cur]))
        cur = back[cur]
    return out[::-1]


def smoothed(sim: np.ndarray, opt: MoveOptions) -> np.ndarray:
    """sim[i, j] plus ``smooth`` × the best match of row i-1 just before j and of row i+1 just after j.

    A sentence pair inside a block whose neighbours also pair up gains; an isolated look-alike does not.
    Reference version on a whole matrix (n×m memory; tests): ``candidates`` computes the same in row blocks.
    """
    n, m = sim.shape
    pad = np.full((n + 2, m + 2 * opt.reach), -1.0)
    pad[1:-1, opt.reach:opt.reach + m] = sim
    before = np.max([pad[:-2, opt.reach - d:opt.reach - d + m] for d in range(0, opt.reach + 1)], axis=0)
    after = np.max([pad[2:, opt.reach + d:opt.reach + d + m] for d in range(0, opt.reach + 1)], axis=0)
    return sim + opt.smooth * (np.maximum(before, 0) + np.maximum(after, 0))


def heaviest_increasing(anchors: list[tuple[int, int, float]]) -> set[int]:
    """Indices of the heaviest subsequence of ``anchors`` strictly increasing in English."""
    if not anchors:
        return set()
    # Anchors come in Chinese order; a Fenwick tree over English positions keeps the best chain ending below j.
    m = max(a[1] for a in anchors) + 2
    tree_val = [0.0] * (m + 1)
    tree_arg = [-1] * (m + 1)
    best, prev = [], []
    for k, (_, j, w) in enumerate(anchors):
        q, arg, x = 0.0, -1, j  # best chain ending at an English position < j
        while x > 0:
            if tree_val[x] > q:
                q, arg = tree_val[x], tree_arg[x]
            x -= x & -x
        best.append(q + w)
        prev.append(arg)
        x = j + 1
        while x <= m:
            if best[k] > tree_val[x]:
                tree_val[x], tree_arg[x] = best[k], k
            x += x & -x
    cur = int(np.argmax(best))
    keep = set()
    while cur >= 0:
        keep.add(cur)
        cur = prev[cur]
    return keep


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


def align_moves(zh_texts: list[str], en_texts: list[str], encoder: Encoder,
                options: AlignOptions | None = None, zh_vecs: np.ndarray | None = None,
                en_vecs: np.ndarray | None = None, en_paras: list[int] | None = None,
                move_options: MoveOptions | None = None, zh_paras: list[int] | None = None,
                lone_zh=(), lone_en=(), evidence: list | None = None) -> list[Bead]:
    """Like ``aligner.align``, but English blocks may sit elsewhere than in the Chinese order.

    Beads come in Chinese order; ``en_ids`` are the real English positions; beads
    of moved blocks have ``moved`` set. Identical to ``align`` when nothing moved.
    ``lone_zh``/``lone_en``: sentences known to have no counterpart (``align.unpaired``);
    ``evidence``: ``unpaired.paragraph_evidence`` of these vectors, if the caller has it.
    """
    n, m = len(zh_texts), len(en_texts)
    if n == 0 or m == 0:
        return align(zh_texts, en_texts, encoder, options, zh_vecs, en_vecs)
    if zh_vecs is None:
        zh_vecs = encoder.encode(zh_texts)
    if en_vecs is None:
        en_vecs = encoder.encode(en_texts)
    run = _Runs(zh_texts, en_texts, encoder, options, zh_vecs, en_vecs, en_paras, zh_paras, lone_zh, lone_en)
    if n > 1 and m > 1:
        z, e = _center(zh_vecs), _center(en_vecs)
        z[list(lone_zh)] = 0.0  # sentences with no counterpart are no anchors of a move
        e[list(lone_en)] = 0.0
        sim = Similarity(z, e)  # never the whole n×m matrix
        if VERIFY_BUDGET // (n + m) < 2:  # a very long document: the first move finding, unverified
            run.try_order(find_moves(sim, en_paras, move_options), verified=False)
        else:
            _search(run, sim, en_paras, move_options, VERIFY_BUDGET // (n + m))
    out = run.beads if run.beads is not None else run.try_order(None, verified=False)
    runs_left = VERIFY_BUDGET // (n + m) - len(run.tried)
    if runs_left > 0:  # weakly matched paragraphs tried as one-sided (align.unpaired), within the budget
        def try_lone(z2, e2):
            stats: dict = {}
            got = _align_order(zh_texts, en_texts, encoder, options, zh_vecs, en_vecs, en_paras, zh_paras, z2, e2,
                               run.pieces, stats)
            return got, stats["total"]
        at = {j: k for k, j in enumerate(_en_order(run.pieces, m))}  # real English position -> position in the aligned order

        def local(z2, e2):
            return run.realign.gain(z2, [at[j] for j in e2]), run.realign.keep
        out, lone_zh, lone_en = unpaired.verify_lone(try_lone, out, run.total, zh_vecs, en_vecs, zh_paras, en_paras,
                                                     list(lone_zh), list(lone_en), limit=runs_left,
                                                     local=local,
                                                     evidence=evidence)
    if RESCUE:
        out = rescue(out, zh_vecs, en_vecs, lone_zh=lone_zh, lone_en=lone_en)
    if not REATTACH:
        return out
    return reattach(out, zh_texts, en_texts, encoder, zh_vecs, en_vecs, zh_paras=zh_paras, en_paras=en_paras)


class _Runs:
    """Aligner runs over candidate English orders of one document; keeps the best-scoring one."""

    def __init__(self, *args):
        self.args = args
        self.total, self.beads, self.pieces, self.realign = None, None, None, None
        self.tried: set = set()

    def try_order(self, pieces, verified=True) -> list[Bead] | None:
        """Align against ``pieces`` (None: the real order); keep it if its path scores higher
        than the best so far (or unconditionally, ``verified=False``). None if tried before."""
        key = None if pieces is None else tuple(pieces)
        if key in self.tried:
            return None
        self.tried.add(key)
        stats: dict = {}
        beads = _align_order(*self.args, pieces, stats)
        if not verified or self.total is None or stats["total"] > self.total + VERIFY_MARGIN:
            self.total, self.beads, self.pieces = stats["total"], beads, pieces
            self.realign = stats.get("realign")  # for cheap what-ifs (unpaired.verify_lone)
        return beads


def _search(run: _Runs, sim: Similarity, en_paras, opt: MoveOptions | None, budget: int) -> None:
    """Which English order to align against, judged by the aligner's own path score: the real
    order, the move finder's answers at decreasing evidence thresholds (``CANDIDATE_WEIGHTS``),
    then greedily single paragraphs moved to where their anchors belong (``paragraph_plan``),
    each kept only if the whole alignment scores higher. At most ``budget`` aligner runs."""
    opt = opt or MoveOptions()
    anchors = chain(*candidates(sim, opt), sim.shape[1], opt)
    run.try_order(None)
    for w in CANDIDATE_WEIGHTS:
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
    return paras, loc, tries[:PARA_TRIES] if len(paras) > 1 else []


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


def _en_order(pieces, m: int) -> list[int]:
    """The English positions in the order of ``pieces`` (None: the real order)."""
    return list(range(m)) if pieces is None else [j for s, e, _ in pieces for j in range(s, e)]


def _align_order(zh_texts, en_texts, encoder, options, zh_vecs, en_vecs, en_paras, zh_paras, lone_zh, lone_en,
                 pieces, stats) -> list[Bead]:
    """Align Chinese against the English pieces in the given order (None: the real order);
    bead ids are the real English positions, beads of moved pieces are marked."""
    m = len(en_texts)
    order = _en_order(pieces, m)
    lone = set(lone_en)
    extra = {"lone_zh": lone_zh, "lone_en": [k for k, j in enumerate(order) if j in lone]}
    if zh_paras is not None and en_paras is not None:
        extra.update(zh_paras=list(zh_paras), en_paras=[en_paras[j] for j in order])
    if pieces is None:
        return align(zh_texts, en_texts, encoder, options, zh_vecs, en_vecs, stats=stats, **extra)
    moved = {j for s, e, mv in pieces if mv for j in range(s, e)}
    piece_of = [0] * m
    for k, (s, e, _) in enumerate(pieces):
        for j in range(s, e):
            piece_of[j] = k
    beads = align(zh_texts, [en_texts[j] for j in order], encoder, options, zh_vecs, en_vecs[order],
                  stats=stats, **extra)
    out: list[Bead] = []
    for b in beads:
        real = Bead(list(b.zh_ids), [order[j] for j in b.en_ids], b.score)
        for part in _split_straddling(real, piece_of, lambda j: len(en_texts[j])):
            part.moved = any(j in moved for j in part.en_ids)
            out.append(part)
    return out


def rescue(beads: list[Bead], zh_vecs: np.ndarray, en_vecs: np.ndarray, min_cos: float = None,
           margin: float = None, lone_zh=(), lone_en=()) -> list[Bead]:
    """Pair a lone sentence with its counterpart that moved on its own (a one-sentence block,
    too small for ``find_moves``), when the two are each other's nearest neighbour in the whole
    document, similar enough (``min_cos``, centred cosine), more than ``RESCUE_NEAR`` beads
    apart (nearer pairings the aligner has weighed already), and the counterpart fits the lone
    sentence clearly better (``margin``) than the bead it is in now (which gives it up only from
    one of its ends, so that every bead stays a contiguous run). The new bead sits at the Chinese
    sentence's place and is marked ``moved``. Sentences known to have no counterpart
    (``lone_zh``/``lone_en``, from ``align.unpaired``) are left alone."""
    min_cos = RESCUE_MIN_COS if min_cos is None else min_cos
    margin = RESCUE_MARGIN if margin is None else margin
    n, m = len(zh_vecs), len(en_vecs)
    if n < 2 or m < 2:
        return beads
    z, e = _center(zh_vecs), _center(en_vecs)
    best_e = _top_k(z, e, 1)[0][:, 0]  # each Chinese sentence's nearest English sentence
    best_z = _top_k(e, z, 1)[0][:, 0]

    fixed_zh, fixed_en = set(lone_zh), set(lone_en)
    out = [Bead(list(b.zh_ids), list(b.en_ids), b.score, moved=b.moved) for b in beads]
    for lone_lang in ("zh", "en"):
        where = {}
        for k, b in enumerate(out):
            for i in b.zh_ids:
                where["zh", i] = k
            for j in b.en_ids:
                where["en", j] = k
        lone = [k for k, b in enumerate(out)
                if not b.two_sided and len(b.zh_ids if lone_lang == "zh" else b.en_ids) == 1]
        for k in lone:
            b = out[k]
            if b.two_sided or len(b.zh_ids) + len(b.en_ids) != 1:
                continue  # changed earlier in this pass
            if lone_lang == "zh":
                i = b.zh_ids[0]
                j = int(best_e[i])
                if best_z[j] != i:
                    continue
                partner, p_lang = j, "en"
            else:
                j = b.en_ids[0]
                i = int(best_z[j])
                if best_e[i] != j:
                    continue
                partner, p_lang = i, "zh"
            cos = float(z[i] @ e[j])
            if cos < min_cos or i in fixed_zh or j in fixed_en:
                continue
            kb = where[p_lang, partner]
            other = out[kb]
            if abs(kb - k) <= RESCUE_NEAR:
                continue  # a neighbour: the aligner has weighed that pairing already
            if other.two_sided:
                mine = other.en_ids if p_lang == "en" else other.zh_ids
                if partner not in (mine[0], mine[-1]):
                    continue  # taking it would cut the bead in two
                rest_side = other.zh_ids if p_lang == "en" else other.en_ids
                rest = unit((z if p_lang == "en" else e)[rest_side].sum(axis=0))
                now = float(rest @ (e[j] if p_lang == "en" else z[i]))  # how well it fits where it is
                if cos < now + margin:
                    continue
                mine.remove(partner)
            elif len(other.zh_ids) + len(other.en_ids) == 1:
                other.en_ids, other.zh_ids = [], []  # a lone sentence: its bead empties
            else:
                continue  # a bead that lost its other side earlier in this pass
            b.zh_ids, b.en_ids, b.score = [i], [j], cos
            b.moved = True
        # Emptied beads go; a bead that gave away its only sentence of one side leaves one-sided
        # beads of one sentence each.
        out = [part for b in out if b.zh_ids or b.en_ids for part in
               ([b] if b.two_sided or len(b.zh_ids) + len(b.en_ids) == 1 else
                [Bead([i], [], moved=b.moved) for i in b.zh_ids] + [Bead([], [j], moved=b.moved) for j in b.en_ids])]
    return chinese_order(out)


def _lp(a: float, b: float) -> float:
    """Bertalign's length penalty: log2(1 + shorter/longer)."""
    lo, hi = min(a, b), max(a, b)
    return float(np.log2(1.0 + lo / hi)) if hi > 0 else 1.0


def reattach(beads: list[Bead], zh_texts: list[str], en_texts: list[str], encoder: Encoder,
             zh_vecs: np.ndarray, en_vecs: np.ndarray, margin: float = REATTACH_MARGIN,
             zh_paras: list[int] | None = None, en_paras: list[int] | None = None) -> list[Bead]:
    """Give a lone sentence back to the neighbouring pair it belongs to, when the evidence says so.

    A one-sided bead next to a pair (and adjacent to it in its own language) joins that pair
    when the embedding of the pair's side with the sentence added matches the other side
    better, by ``margin``, than without it (each joined side embedded as one text, as the
    aligner does). A sentence with no such evidence stays one-sided: never forced onto a neighbour.
    """
    if len(zh_texts) < 2 or len(en_texts) < 2:
        return beads
    zmean, emean = zh_vecs.mean(axis=0), en_vecs.mean(axis=0)

    def unit(v, mean):
        v = v - mean
        return v / (np.linalg.norm(v) or 1.0)

    # Unrelated neighbours the aligner paired (e.g. a photo caption facing an "About" section): split.
    split: list[Bead] = []
    for b in beads:
        if b.two_sided and UNPAIR_BELOW is not None:
            zv = unit(zh_vecs[b.zh_ids].sum(axis=0), zmean * len(b.zh_ids))
            ev = unit(en_vecs[b.en_ids].sum(axis=0), emean * len(b.en_ids))
            if float(zv @ ev) < UNPAIR_BELOW and (b.score is None or b.score < UNPAIR_BELOW * 2):
                split += [Bead([i], [], moved=b.moved) for i in b.zh_ids]
                split += [Bead([], [j], moved=b.moved) for j in b.en_ids]
                continue
        split.append(b)
    beads = split

    texts = {"zh": zh_texts, "en": en_texts}
    chars = {lang: [len("".join(t.split())) for t in texts[lang]] for lang in texts}
    ratio = sum(chars["zh"]) / max(sum(chars["en"]), 1)  # Chinese characters per English character

    def length(lang, ids):
        n = sum(chars[lang][i] for i in ids)
        return n / ratio if lang == "zh" else n
    means = {"zh": zmean, "en": emean}
    joiners = {"zh": "".join, "en": " ".join}
    out = list(beads)
    k = 0
    while k < len(out):
        b = out[k]
        if b.two_sided or not (b.zh_ids or b.en_ids):
            k += 1
            continue
        lang = "zh" if b.zh_ids else "en"
        other = "en" if lang == "zh" else "zh"
        s = (b.zh_ids or b.en_ids)[0]
        best = None
        for nb in (k - 1, k + 1):
            if not 0 <= nb < len(out) or not out[nb].two_sided:
                continue
            pair = out[nb]
            ids = pair.zh_ids if lang == "zh" else pair.en_ids
            if s == ids[0] - 1:
                merged = [s] + ids
            elif s == ids[-1] + 1:
                merged = ids + [s]
            else:
                continue
            paras = zh_paras if lang == "zh" else en_paras
            if NO_REATTACH_ACROSS and paras is not None and paras[s] != paras[ids[0 if s < ids[0] else -1]]:
                continue  # the sentence opens or closes a paragraph of its own: not the pair's
            oth = pair.en_ids if lang == "zh" else pair.zh_ids
            vecs = encoder.encode([joiners[lang](texts[lang][i] for i in ids),
                                   joiners[lang](texts[lang][i] for i in merged),
                                   joiners[other](texts[other][i] for i in oth)])
            o = unit(vecs[2], means[other])
            lo = length(other, oth)
            before = float(unit(vecs[0], means[lang]) @ o) * _lp(length(lang, ids), lo)
            after = float(unit(vecs[1], means[lang]) @ o) * _lp(length(lang, merged), lo)
            if after > before + margin and (best is None or after - before > best[0]):
                best = (after - before, nb, merged, after)
        if best is None:
            k += 1
            continue
        _, nb, merged, after = best
        pair = out[nb]
        pair.score = min(1.0, max(0.0, after))  # cosine × length penalty of the grown bead
        if lang == "zh":
            pair.zh_ids = merged
        else:
            pair.en_ids = merged
        pair.moved = pair.moved or b.moved
        del out[k]
        k = max(0, k - 1)
    return out
