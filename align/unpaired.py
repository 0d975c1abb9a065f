"""Paragraphs present in one language only: an "About …" section, contacts, a photo caption,
a paragraph the translator left out.

The aligner charges every one-sided sentence more than gluing it onto a neighbouring bead
usually costs (one-sided sentences are rare in its training data), so a paragraph of six
English sentences with no Chinese counterpart ends up inside one big wrong bead. Three steps
keep such paragraphs apart:

1. ``lone_paragraphs``, before aligning: a whole paragraph whose sentences match nothing
   on the other side (the mean, over its sentences, of each one's best document-centred
   cosine with any sentence of the other language is below ``LONE_BELOW``) is marked; the
   aligner (``align(lone_zh=, lone_en=)``) keeps its sentences out of every pair, at no cost,
   so they become one-sided beads in their place and every bead stays a contiguous run.
2. ``verify_lone``, after aligning: weakly matched paragraphs (evidence below
   ``CANDIDATE_BELOW``, weakest first, at most ``CANDIDATE_TRIES``) are tried marked and stay
   marked when the aligner's path then scores higher by ``LONE_COST``. A try re-aligns only a
   window of the path around the paragraph (``aligner.Realigner``: same band, span embeddings
   and bead scores), so it costs a small part of an aligner run; one whole run follows at the
   end if anything stays marked.
3. ``detach``, last: a bead whose side runs across a paragraph break gives up the
   paragraph part at either end of that side when that part matches the bead's other
   side poorly (centred cosine below ``DETACH_BELOW``) and the rest of the side clearly
   better (by ``DETACH_MARGIN``); its sentences become one-sided beads.

All of it needs paragraphs, so pre-split input (one sentence a line, no paragraphs) is
never touched. Measured on ``benchmarks/reorder.py`` (MAC-Dev variants with moved, dropped
and added paragraphs; strict text-bead F1, moves mode): variants 0.819 → 0.838 with whole
aligner runs as tries (detach alone 0.825, with marking 0.832, with 5 tries below 0.35
0.838), 0.840 with tries on a window (half the alignment time), 0.848 with 20 tries below
0.45 at ``LONE_COST`` 2.0; controls (nothing dropped or added) 0.877 throughout.
What separates the two (all paragraphs tried, the path's gain logged): on the 24 controls one
paragraph of 770 tried gained more than 0 (1.1, a loosely translated one, so ``LONE_COST``
1.0 cost the controls 0.0005); on the variants 27 gained more than 2. 25 of those 27 have
evidence below 0.45 (17 below 0.35). ``LONE_BELOW`` 0.25 marked real paragraphs of the
controls (0.877 → 0.874).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .aligner import centred as _center
from .aligner import unit as _unit
from .model import Bead, chinese_order

LONE_BELOW = 0.2  # mean best centred cosine of a paragraph's sentences: below, it has no counterpart
LONE_MIN_SENTENCES = 8  # each side needs this many sentences for the centring to mean something
# At most half of a side is marked: more means the encoder does not know the language pair.
CANDIDATE_BELOW = 0.45  # paragraphs with weaker evidence than this are tried as one-sided (verify_lone)
CANDIDATE_TRIES = 20  # at most this many such tries per document (each re-aligns a window of the path)
LONE_COST = 2.0  # how much higher the path must score with a tried paragraph one-sided
DETACH_BELOW = 0.15  # centred cosine of a paragraph part with its bead's other side
DETACH_MARGIN = 0.1  # how much better the rest of the side must match


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
                       en_paras: list[int] | None) -> list[tuple[float, str, list[int]]]:
    """Per paragraph: (the mean over its sentences of each one's best centred cosine with any
    sentence of the other language, "zh"/"en", its sentence ids); empty where that cannot be
    judged (no paragraphs, or too few sentences for the centring to mean something)."""
    n, m = len(zh_vecs), len(en_vecs)
    if n < LONE_MIN_SENTENCES or m < LONE_MIN_SENTENCES or zh_paras is None or en_paras is None:
        return []
    z, e = _center(np.asarray(zh_vecs, dtype=np.float32)), _center(np.asarray(en_vecs, dtype=np.float32))
    best_z = np.full(n, -1.0, dtype=np.float32)
    best_e = np.full(m, -1.0, dtype=np.float32)
    rows = max(16, (1 << 22) // m)  # row blocks of about 4M cells: memory stays linear
    for s in range(0, n, rows):
        sim = z[s:s + rows] @ e.T
        best_z[s:s + rows] = sim.max(axis=1)
        np.maximum(best_e, sim.max(axis=0), out=best_e)
    out = []
    for lang, paras, best in (("zh", zh_paras, best_z), ("en", en_paras, best_e)):
        groups = _groups(list(range(len(best))), paras)
        if len(groups) > 1:
            out += [(float(best[g].mean()), lang, g) for g in groups]
    return out


def lone_paragraphs(zh_vecs: np.ndarray, en_vecs: np.ndarray, zh_paras: list[int] | None,
                    en_paras: list[int] | None, below: float | None = None,
                    evidence: list | None = None) -> tuple[list[int], list[int]]:
    """Sentence ids (Chinese, English) of whole paragraphs with no counterpart in the other language.
    ``evidence``: ``paragraph_evidence`` of the same arguments, if the caller has it already."""
    below = LONE_BELOW if below is None else below
    if evidence is None:
        evidence = paragraph_evidence(zh_vecs, en_vecs, zh_paras, en_paras)
    out = []
    for lang, size in (("zh", len(zh_vecs)), ("en", len(en_vecs))):
        lone = sorted(s for mean, la, g in evidence if la == lang and mean < below for s in g)
        # Never most of a side: then the encoder does not know the language pair, nothing to mark.
        out.append(lone if len(lone) * 2 <= size else [])
    return out[0], out[1]


def verify_lone(try_lone: Callable[[list[int], list[int]], tuple[list[Bead], float]], beads: list[Bead],
                total: float, zh_vecs: np.ndarray, en_vecs: np.ndarray, zh_paras: list[int] | None,
                en_paras: list[int] | None, lone_zh: list[int], lone_en: list[int], limit: int | None = None,
                local: Callable[[list[int], list[int]], tuple[float, Callable[[], None]]] | None = None,
                evidence: list | None = None):
    """Paragraphs with weak evidence (below ``CANDIDATE_BELOW``, weakest first, at most
    ``CANDIDATE_TRIES``) are tried as one-sided; a paragraph stays marked when the aligner's
    path then scores more than ``LONE_COST`` higher (its sentences did the path more harm than
    good; a paragraph the aligner left one-sided anyway always passes, and then no longer counts
    in the document's length ratio).

    ``local(lone_zh, lone_en)``, if given, judges a try cheaply: it returns the path's change of
    score with those sentences marked, re-aligning only a window around them, and a function
    that keeps that change (``aligner.Realigner``). Then ``try_lone(lone_zh, lone_en)`` (a whole
    aligner run, returning (beads, path score)) runs once at the end, if anything was marked.
    Without ``local``, every try is a ``try_lone`` run, at most ``limit`` of them (the caller's
    budget of aligner runs); with it, ``limit`` below 1 means no tries.
    ``evidence``: ``paragraph_evidence`` of the same vectors and paragraphs, if the caller has it.
    Returns (beads, lone_zh, lone_en)."""
    if limit is not None and limit < 1:
        return beads, lone_zh, lone_en
    if evidence is None:
        evidence = paragraph_evidence(zh_vecs, en_vecs, zh_paras, en_paras)
    marked = {"zh": set(lone_zh), "en": set(lone_en)}
    cands = sorted((mean, lang, g) for mean, lang, g in evidence if mean < CANDIDATE_BELOW and g[0] not in marked[lang])
    tries = CANDIDATE_TRIES if limit is None or local is not None else min(CANDIDATE_TRIES, limit)
    changed = False
    for _, lang, g in cands[:max(0, tries)]:
        z2, e2 = (sorted(lone_zh + g), lone_en) if lang == "zh" else (lone_zh, sorted(lone_en + g))
        if max(len(z2) * 2 - len(zh_vecs), len(e2) * 2 - len(en_vecs)) > 0:
            continue  # never most of a side
        if local is not None:
            gain, keep = local(z2, e2)
            if gain > LONE_COST:
                keep()
                lone_zh, lone_en, changed = z2, e2, True
            continue
        got, score = try_lone(z2, e2)
        if score > total + LONE_COST:
            beads, total, lone_zh, lone_en = got, score, z2, e2
    if changed:
        beads = try_lone(lone_zh, lone_en)[0]
    return beads, lone_zh, lone_en


def detach(beads: list[Bead], zh_vecs: np.ndarray, en_vecs: np.ndarray, zh_paras: list[int] | None,
           en_paras: list[int] | None, below: float | None = None, margin: float | None = None) -> list[Bead]:
    """Beads that run across a paragraph break lose an end part that does not belong (one-sided beads)."""
    below = DETACH_BELOW if below is None else below
    margin = DETACH_MARGIN if margin is None else margin
    if zh_paras is None or en_paras is None or len(zh_vecs) < 2 or len(en_vecs) < 2:
        return beads
    vecs = {"zh": _center(np.asarray(zh_vecs, dtype=np.float32)), "en": _center(np.asarray(en_vecs, dtype=np.float32))}
    paras = {"zh": zh_paras, "en": en_paras}
    out: list[Bead] = []
    for b in beads:
        if not b.two_sided:
            out.append(b)
            continue
        sides = {"zh": list(b.zh_ids), "en": list(b.en_ids)}
        freed: list[tuple[str, int]] = []
        while True:
            cut = None
            for lang, other in (("zh", "en"), ("en", "zh")):
                groups = _groups(sides[lang], paras[lang])
                if len(groups) < 2:
                    continue
                target = _unit(vecs[other][sides[other]].sum(axis=0))
                for part, rest in ((groups[0], groups[1:]), (groups[-1], groups[:-1])):
                    rest_ids = [s for g in rest for s in g]
                    c_part = float(_unit(vecs[lang][part].sum(axis=0)) @ target)
                    c_rest = float(_unit(vecs[lang][rest_ids].sum(axis=0)) @ target)
                    if c_part < below and c_rest > c_part + margin and (cut is None or c_part < cut[0]):
                        cut = (c_part, lang, part, rest_ids)
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
