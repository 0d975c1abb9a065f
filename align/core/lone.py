"""Sentences with no counterpart, and sentences whose counterpart is far away.

Paragraphs present in one language only (an "About …" section, contacts, a photo caption, a
paragraph the translator left out): the aligner charges every one-sided sentence more than
gluing it onto a neighbouring bead usually costs, so a paragraph of six English sentences
with no Chinese counterpart would end up inside one big wrong bead. The steps, in the order
the pipeline (``align.pipeline``) runs them, each with its settings in ``LoneOptions``:

1. ``lone_paragraphs``, before aligning: a whole paragraph whose sentences match nothing on
   the other side (the mean, over its sentences, of each one's best document-centred cosine
   with any sentence of the other language is below ``below``) is marked; the aligner keeps
   its sentences out of every pair, at no cost, so they become one-sided beads in their place.
2. ``verify_lone``, after aligning: weakly matched paragraphs (evidence below
   ``candidate_below``, weakest first, at most ``candidate_tries``) are tried marked and stay
   marked when the aligner's path then scores higher by ``cost``. A try re-aligns only a
   window of the path (``dp.Realigner``); one whole run follows if anything stays marked.
3. ``rescue`` (not with ``monotonic``): a lone sentence and a counterpart far away that are
   each other's nearest neighbour in the whole document are paired (a one-sentence move,
   too small for the move finder).
4. ``reattach``: a one-sided sentence joins the neighbouring pair when embedding the pair's
   side with it matches the other side better than without it.
5. ``detach``, last: a bead whose side runs across a paragraph break gives up the paragraph
   part at either end that matches the bead's other side poorly.

Steps 1, 2 and 5 need paragraphs, so pre-split input (one sentence a line) is never touched
by them. Measured on ``benchmarks/reorder.py`` (MAC-Dev variants with moved, dropped and
added paragraphs; strict text-bead F1, moves mode): variants 0.819 → 0.838 with whole aligner
runs as tries (detach alone 0.825, with marking 0.832, with 5 tries below 0.35 0.838), 0.840
with tries on a window, 0.848 with 20 tries below 0.45 at ``cost`` 2.0; controls (nothing
dropped or added) 0.877 throughout. On the 24 controls one paragraph of 770 tried gained more
than 0 (1.1, a loosely translated one); on the variants 27 gained more than 2, 25 of those with
evidence below 0.45. ``below`` 0.25 marked real paragraphs of the controls (0.877 → 0.874).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..model import Bead, chinese_order
from .embed import CachedEncoder, Encoder
from .options import LoneOptions
from .vectors import Neighbours, centred_pair, length_penalty, mean_row, neighbours, unit

Evidence = list[tuple[float, str, list[int]]]  # (mean best cosine, "zh"/"en", sentence ids) per paragraph


def _groups(ids: list[int], paras: list[int]) -> list[list[int]]:
    """Consecutive runs of ``ids`` in the same paragraph."""
    out: list[list[int]] = []
    for s in ids:
        if out and paras[s] == paras[out[-1][-1]]:
            out[-1].append(s)
        else:
            out.append([s])
    return out


def paragraph_evidence(zh_vecs: np.ndarray, en_vecs: np.ndarray, zh_paras: list[int] | None,
                       en_paras: list[int] | None, opt: LoneOptions | None = None,
                       near: Neighbours | None = None) -> Evidence:
    """Per paragraph: (the mean over its sentences of each one's best centred cosine with any
    sentence of the other language, "zh"/"en", its sentence ids); empty where that cannot be
    judged (no paragraphs, or too few sentences for the centring to mean something).
    ``near``: the document's neighbours of the centred vectors (else a pass of its own)."""
    opt = opt or LoneOptions()
    n, m = len(zh_vecs), len(en_vecs)
    if n < opt.min_sentences or m < opt.min_sentences or zh_paras is None or en_paras is None:
        return []
    if near is None:
        near = neighbours(*centred_pair(np.asarray(zh_vecs, dtype=np.float32), np.asarray(en_vecs, dtype=np.float32)), 1)
    best_z, best_e = near.sims.max(axis=1), near.col_sims
    out = []
    for lang, paras, best in (("zh", zh_paras, best_z), ("en", en_paras, best_e)):
        groups = _groups(list(range(len(best))), paras)
        if len(groups) > 1:
            out += [(float(best[g].mean()), lang, g) for g in groups]
    return out


def lone_paragraphs(evidence: Evidence, n: int, m: int, opt: LoneOptions | None = None) -> tuple[list[int], list[int]]:
    """Sentence ids (Chinese, English) of whole paragraphs with no counterpart in the other
    language, from ``paragraph_evidence`` of a document of n Chinese and m English sentences."""
    opt = opt or LoneOptions()
    out = []
    for lang, size in (("zh", n), ("en", m)):
        lone = sorted(s for mean, la, g in evidence if la == lang and mean < opt.below for s in g)
        # Never most of a side: then the encoder does not know the language pair, nothing to mark.
        out.append(lone if len(lone) * 2 <= size else [])
    return out[0], out[1]


def verify_lone(try_lone: Callable[[list[int], list[int]], list[Bead]],
                local: Callable[[list[int], list[int]], tuple[float, Callable[[], None]]],
                beads: list[Bead], evidence: Evidence, n: int, m: int, lone_zh: list[int], lone_en: list[int],
                limit: int, opt: LoneOptions | None = None):
    """Paragraphs with weak evidence (below ``candidate_below``, weakest first, at most
    ``candidate_tries``) are tried as one-sided; a paragraph stays marked when the aligner's
    path then scores more than ``cost`` higher (its sentences did the path more harm than
    good; a paragraph the aligner left one-sided anyway always passes, and then no longer
    counts in the document's length ratio).

    ``local(lone_zh, lone_en)`` judges a try cheaply: it returns the path's change of score
    with those sentences marked, re-aligning only a window around them, and a function that
    keeps that change (``dp.Realigner``). ``try_lone(lone_zh, lone_en)`` (a whole aligner run,
    returning its beads) runs once at the end, if anything was marked. ``limit`` below 1 (the
    caller's budget of aligner runs is spent): no tries. Returns (beads, lone_zh, lone_en)."""
    opt = opt or LoneOptions()
    if limit < 1:
        return beads, lone_zh, lone_en
    marked = {"zh": set(lone_zh), "en": set(lone_en)}
    cands = sorted((mean, lang, g) for mean, lang, g in evidence
                   if mean < opt.candidate_below and g[0] not in marked[lang])
    changed = False
    for _, lang, g in cands[:max(0, opt.candidate_tries)]:
        z2, e2 = (sorted(lone_zh + g), lone_en) if lang == "zh" else (lone_zh, sorted(lone_en + g))
        if max(len(z2) * 2 - n, len(e2) * 2 - m) > 0:
            continue  # never most of a side
        gain, keep = local(z2, e2)
        if gain > opt.cost:
            keep()
            lone_zh, lone_en, changed = z2, e2, True
    if changed:
        beads = try_lone(lone_zh, lone_en)
    return beads, lone_zh, lone_en


def detach(beads: list[Bead], zh_vecs: np.ndarray, en_vecs: np.ndarray, zh_paras: list[int] | None,
           en_paras: list[int] | None, opt: LoneOptions | None = None, centred_vecs=None) -> list[Bead]:
    """Beads that run across a paragraph break lose an end part that does not belong (one-sided beads).
    ``centred_vecs``: ``vectors.centred`` of the two vectors, if already made."""
    opt = opt or LoneOptions()
    if zh_paras is None or en_paras is None or len(zh_vecs) < 2 or len(en_vecs) < 2:
        return beads
    z, e = centred_pair(np.asarray(zh_vecs, dtype=np.float32), np.asarray(en_vecs, dtype=np.float32), centred_vecs)
    vecs = {"zh": z, "en": e}
    paras = {"zh": zh_paras, "en": en_paras}
    out: list[Bead] = []
    for b in beads:
        if not b.two_sided:
            out.append(b)
            continue
        sides = {"zh": list(b.zh_ids), "en": list(b.en_ids)}
        freed: list[tuple[str, int]] = []
        while True:
            cut = _detachable(sides, vecs, paras, opt)
            if cut is None:
                break
            _, lang, part, rest_ids = cut
            sides[lang] = rest_ids
            freed += [(lang, s) for s in part]
        if not freed:
            out.append(b)
            continue
        # Freed English sentences that came before the bead's English stay before it.
        first = sides["en"][0]
        out += [Bead([], [s], moved=b.moved) for lang, s in sorted(freed) if lang == "en" and s < first]
        out.append(Bead(sides["zh"], sides["en"], b.score, b.moved, b.raw))
        out += [Bead([s], [], moved=b.moved) for lang, s in sorted(freed) if lang == "zh"]
        out += [Bead([], [s], moved=b.moved) for lang, s in sorted(freed) if lang == "en" and s > first]
    return chinese_order(out)


def _detachable(sides, vecs, paras, opt: LoneOptions):
    """The end paragraph part of a bead's side that fits the other side worst, if it fits poorly
    (below ``detach_below``) and the rest clearly better: (cosine, language, part, rest) or None."""
    cut = None
    for lang, other in (("zh", "en"), ("en", "zh")):
        groups = _groups(sides[lang], paras[lang])
        if len(groups) < 2:
            continue
        target = unit(vecs[other][sides[other]].sum(axis=0))
        for part, rest in ((groups[0], groups[1:]), (groups[-1], groups[:-1])):
            rest_ids = [s for g in rest for s in g]
            c_part = float(unit(vecs[lang][part].sum(axis=0)) @ target)
            c_rest = float(unit(vecs[lang][rest_ids].sum(axis=0)) @ target)
            if c_part < opt.detach_below and c_rest > c_part + opt.detach_margin and (cut is None or c_part < cut[0]):
                cut = (c_part, lang, part, rest_ids)
    return cut


# ------------------------------------------------------------------ single sentences

def _where(beads: list[Bead]) -> dict[tuple[str, int], int]:
    where = {}
    for k, b in enumerate(beads):
        for i in b.zh_ids:
            where["zh", i] = k
        for j in b.en_ids:
            where["en", j] = k
    return where


def rescue(beads: list[Bead], zh_vecs: np.ndarray, en_vecs: np.ndarray, lone_zh=(), lone_en=(),
           opt: LoneOptions | None = None, near: Neighbours | None = None, centred_vecs=None) -> list[Bead]:
    """Pair a lone sentence with its counterpart that moved on its own (a one-sentence block,
    too small for ``moves.find_moves``), when the two are each other's nearest neighbour in the
    whole document, similar enough (``rescue_bar``: more the farther they are), more than
    ``rescue_near`` beads apart (nearer pairings the aligner has weighed already), and the
    counterpart fits the lone sentence clearly better (``rescue_margin``) than the bead it is in
    now (which gives it up only from one of its ends, so that every bead stays a contiguous
    run). The new bead sits at the Chinese sentence's place and is marked ``moved``. Sentences
    known to have no counterpart (``lone_zh``/``lone_en``) are left alone. ``centred_vecs``:
    ``vectors.centred`` of the two vectors, if already made."""
    opt = opt or LoneOptions()
    n, m = len(zh_vecs), len(en_vecs)
    if n < 2 or m < 2:
        return beads
    z, e = centred_pair(zh_vecs, en_vecs, centred_vecs)
    near = near or neighbours(z, e, 1)
    best_e = near.idx[np.arange(n), near.sims.argmax(axis=1)]  # each Chinese sentence's nearest English
    best_z = near.col_idx
    fixed_zh, fixed_en = set(lone_zh), set(lone_en)
    out = [Bead(list(b.zh_ids), list(b.en_ids), b.score, moved=b.moved) for b in beads]
    for lone_lang in ("zh", "en"):
        where = _where(out)
        lone = [k for k, b in enumerate(out)
                if not b.two_sided and len(b.zh_ids if lone_lang == "zh" else b.en_ids) == 1]
        for k in lone:
            b = out[k]
            if b.two_sided or len(b.zh_ids) + len(b.en_ids) != 1:
                continue  # changed earlier in this pass
            if lone_lang == "zh":
                i = b.zh_ids[0]
                j = int(best_e[i])
                partner, p_lang = j, "en"
            else:
                j = b.en_ids[0]
                i = int(best_z[j])
                partner, p_lang = i, "zh"
            if best_z[j] != i or best_e[i] != j:
                continue  # not each other's nearest neighbour
            cos = float(z[i] @ e[j])
            kb = where[p_lang, partner]
            if abs(kb - k) <= opt.rescue_near:
                continue  # a neighbour: the aligner has weighed that pairing already
            if cos < rescue_bar(abs(kb - k), opt) or i in fixed_zh or j in fixed_en:
                continue
            if not _give_up(out[kb], partner, p_lang, cos, z, e, i, j, opt.rescue_margin):
                continue
            b.zh_ids, b.en_ids, b.score = [i], [j], cos
            b.moved = True
        # Emptied beads go; a bead that gave away its only sentence of one side leaves one-sided
        # beads of one sentence each.
        out = [part for b in out if b.zh_ids or b.en_ids for part in
               ([b] if b.two_sided or len(b.zh_ids) + len(b.en_ids) == 1 else
                [Bead([i], [], moved=b.moved) for i in b.zh_ids] + [Bead([], [j], moved=b.moved) for j in b.en_ids])]
    return chinese_order(out)


def rescue_bar(distance: int, opt: LoneOptions) -> float:
    """The centred cosine a rescued pair needs ``distance`` beads away: ``rescue_min_cos``, plus
    ``rescue_far`` for each doubling of the distance beyond ``rescue_scale`` beads (the farther
    the jump, the more look-alikes lie within reach)."""
    return opt.rescue_min_cos + opt.rescue_far * float(np.log2(1.0 + distance / opt.rescue_scale))


def _give_up(other: Bead, partner: int, p_lang: str, cos: float, z, e, i: int, j: int, margin: float) -> bool:
    """Take ``partner`` out of the bead ``other`` for the rescue, if it may go (in place): from
    an end of a pair that it fits clearly worse than the rescued sentence, or a lone sentence."""
    if other.two_sided:
        mine = other.en_ids if p_lang == "en" else other.zh_ids
        if partner not in (mine[0], mine[-1]):
            return False  # taking it would cut the bead in two
        rest_side = other.zh_ids if p_lang == "en" else other.en_ids
        rest = unit((z if p_lang == "en" else e)[rest_side].sum(axis=0))
        now = float(rest @ (e[j] if p_lang == "en" else z[i]))  # how well it fits where it is
        if cos < now + margin:
            return False
        mine.remove(partner)
        return True
    if len(other.zh_ids) + len(other.en_ids) == 1:
        other.en_ids, other.zh_ids = [], []  # a lone sentence: its bead empties
        return True
    return False  # a bead that lost its other side earlier in this pass


class _Joined:
    """Cosine × length penalty of joined sentences against the other side (as the aligner
    embeds a bead's side: one text), for ``reattach``."""

    def __init__(self, zh_texts, en_texts, encoder: Encoder, zh_vecs, en_vecs):
        self.texts = {"zh": zh_texts, "en": en_texts}
        self.encoder = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder)
        self.means = {"zh": mean_row(zh_vecs), "en": mean_row(en_vecs)}
        self.chars = {lang: [len("".join(t.split())) for t in self.texts[lang]] for lang in self.texts}
        self.ratio = sum(self.chars["zh"]) / max(sum(self.chars["en"]), 1)  # Chinese characters per English one
        self.joiners = {"zh": "".join, "en": " ".join}

    def length(self, lang, ids) -> float:
        n = sum(self.chars[lang][i] for i in ids)
        return n / self.ratio if lang == "zh" else n

    def before_after(self, lang: str, ids, merged, oth) -> tuple[float, float]:
        other = "en" if lang == "zh" else "zh"
        join = self.encoder.joined
        texts = self.texts
        vecs = np.concatenate([join([[texts[lang][i] for i in ids], [texts[lang][i] for i in merged]], self.joiners[lang]),
                               join([[texts[other][i] for i in oth]], self.joiners[other])])
        o = unit(vecs[2] - self.means[other])
        lo = self.length(other, oth)
        before = float(unit(vecs[0] - self.means[lang]) @ o) * float(length_penalty(self.length(lang, ids), lo))
        after = float(unit(vecs[1] - self.means[lang]) @ o) * float(length_penalty(self.length(lang, merged), lo))
        return before, after


def reattach(beads: list[Bead], zh_texts: list[str], en_texts: list[str], encoder: Encoder,
             zh_vecs: np.ndarray, en_vecs: np.ndarray, zh_paras: list[int] | None = None,
             en_paras: list[int] | None = None, opt: LoneOptions | None = None) -> list[Bead]:
    """Give a lone sentence back to the neighbouring pair it belongs to, when the evidence says so.

    A one-sided bead next to a pair (and adjacent to it in its own language) joins that pair
    when the embedding of the pair's side with the sentence added matches the other side
    better, by ``reattach_margin``, than without it (each joined side embedded as one text, as
    the aligner does). A sentence with no such evidence stays one-sided: never forced onto a
    neighbour; nor across a paragraph break (unless ``reattach_across``).
    """
    opt = opt or LoneOptions()
    if len(zh_texts) < 2 or len(en_texts) < 2:
        return beads
    joined = _Joined(zh_texts, en_texts, encoder, zh_vecs, en_vecs)
    out = list(beads)
    k = 0
    while k < len(out):
        b = out[k]
        if b.two_sided or not (b.zh_ids or b.en_ids):
            k += 1
            continue
        lang = "zh" if b.zh_ids else "en"
        s = (b.zh_ids or b.en_ids)[0]
        paras = zh_paras if lang == "zh" else en_paras
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
            if not opt.reattach_across and paras is not None and paras[s] != paras[ids[0 if s < ids[0] else -1]]:
                continue  # the sentence opens or closes a paragraph of its own: not the pair's
            before, after = joined.before_after(lang, ids, merged, pair.en_ids if lang == "zh" else pair.zh_ids)
            if after > before + opt.reattach_margin and (best is None or after - before > best[0]):
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
