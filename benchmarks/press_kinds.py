#!/usr/bin/env python3
"""Press-style variants one kind at a time: plain, moved, dropped, added paragraphs.

Issue #15's bar: the full pipeline from raw text gets strict text-bead F1 >= 0.85 on each
kind. From the same MAC-Dev windows and paragraphs as ``benchmarks/reorder.py`` (its
``make_variant``, same seed), four sets:

* plain: the paragraphs only, nothing changed (= reorder.py's controls);
* moved: 1-3 English blocks moved elsewhere, nothing else;
* dropped: one block dropped from one side, nothing else;
* added: one or two boilerplate paragraphs added, nothing else.

Each is aligned by the full pipeline (reorder.run_mode: load_document -> align_document ->
write_alignment) and scored with ../shared/tools/score.py's text beads (strict F1, lax F1).

    python benchmarks/press_kinds.py                  # default mode and --monotonic
    python benchmarks/press_kinds.py --variants 2     # fewer variants per document (faster)
    python benchmarks/press_kinds.py --why            # also: what the missed gold beads are

``--why`` classifies every gold bead the default mode misses (not strictly matched): by what
it is (in a moved block, one-sided: dropped/added/native, in order) and by the cause (a
sentence of ours straddles its edge: splitting; a one-sided gold bead inside a pair: absorbed;
a two-sided one left unaligned; otherwise paired with the wrong sentences).
Embeddings are cached on disk like reorder.py's (--cache).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from reorder import (BOILER_EN, BOILER_ZH, DOCS, KINDS, CachedEncoder, gold_intervals,  # noqa: E402
                     make_variant, read_beads, run_mode, scorer, variant_args)

from align.core.options import AlignOptions  # noqa: E402

SETS = {"plain": (), **{kind: (kind,) for kind in KINDS}}
MODES = {"default": AlignOptions(), "monotonic": AlignOptions(monotonic=True)}


def _lis_out(seq: list[int]) -> set[int]:
    """Positions of ``seq`` outside one longest increasing subsequence (the moved ones)."""
    import bisect

    tails, tail_pos, prev = [], [], [-1] * len(seq)
    for i, x in enumerate(seq):
        k = bisect.bisect_left(tails, x)
        if k == len(tails):
            tails.append(x)
            tail_pos.append(i)
        else:
            tails[k], tail_pos[k] = x, i
        prev[i] = tail_pos[k - 1] if k else -1
    keep, i = set(), tail_pos[-1] if tail_pos else -1
    while i >= 0:
        keep.add(i)
        i = prev[i]
    return set(range(len(seq))) - keep


def gold_kinds(v) -> list[str]:
    """What each gold bead of a variant is: boilerplate, one-sided (dropped, or one-sided in
    MAC-Dev's gold), in a moved block (whole paragraph or part of one), in order."""
    boiler = {s for p in BOILER_EN + BOILER_ZH for s in p}
    two = sorted((z[0], e[0], k) for k, (z, e) in enumerate(v.gold) if z and e)
    moved = {two[i][2] for i in _lis_out([e for _, e, _ in two])}
    zh_para = {i: n for n, p in enumerate(v.zh_paras) for i in p}
    en_para = {j: n for n, p in enumerate(v.en_paras) for j in p}

    def beads_of(para, side, k):
        return {b for b, g in enumerate(v.gold) if g[side] and para[g[side][0]] == para[v.gold[k][side][0]]}

    out = []
    for k, (z, e) in enumerate(v.gold):
        if any(v.zh[i] in boiler for i in z) or any(v.en[j] in boiler for j in e):
            out.append("boilerplate")
        elif not (z and e):
            out.append("one-sided")
        elif k in moved:
            whole = beads_of(en_para, 1, k) == beads_of(zh_para, 0, k)
            out.append("moved block (whole paragraph)" if whole else "moved block (part of a paragraph)")
        else:
            out.append("in order")
    return out


def _edges(spans) -> set[int]:
    return {x for ivs in spans if ivs for iv in ivs for x in iv}


def why(v, gold_doc, alignment, test_csv) -> Counter:
    """(gold bead kind, cause) of each gold bead the test misses."""
    import score

    zdoc, edoc, gold = gold_doc
    test = score.spans_from_text(read_beads(test_csv), zdoc, edoc)
    pool = Counter(b for b in test if b[0] is not None and b[1] is not None)
    # Our sentences as intervals; one that straddles a gold bead edge cannot be right.
    ours = [score.locate(doc, [s.text for s in sents])
            for doc, sents in ((zdoc, alignment.doc.zh), (edoc, alignment.doc.en))]
    gold_edges = [_edges(b[0] for b in gold), _edges(b[1] for b in gold)]

    def straddles(side, ivs):
        for s in ours[side]:
            if s and any(a < x < b for a, b in s for x in gold_edges[side]):
                if any(a < y and x < b for a, b in s for x, y in ivs):
                    return True
        return False

    def covering(side, ivs):
        return [b for b in test if b[side] and any(a < y and x < c for a, c in b[side] for x, y in ivs)]

    causes = Counter()
    for g, kind in zip(gold, gold_kinds(v)):
        if pool[g] > 0:
            pool[g] -= 1
            continue
        if any(straddles(side, g[side]) for side in (0, 1) if g[side]):
            cause = "splitting"
        elif not (g[0] and g[1]):
            side = 0 if g[0] else 1
            cause = "absorbed into a pair" if any(b[0] and b[1] for b in covering(side, g[side])) else "other"
        elif all(not (b[0] and b[1]) for b in covering(0, g[0])):
            cause = "left unaligned"
        else:
            cause = "wrong partner or merge"
        causes[(kind, cause)] += 1
    return causes


def main():
    ap = variant_args(__doc__)
    ap.add_argument("--modes", default="default,monotonic", help="comma-separated: default, monotonic")
    ap.add_argument("--why", action="store_true", help="classify the gold beads the default mode misses")
    args = ap.parse_args()
    score = scorer()

    sets = {name: [make_variant(d, k, args.seed, kinds=kinds) for d in DOCS for k in range(args.variants)]
            for name, kinds in SETS.items()}
    enc = CachedEncoder(args.cache)
    tmp_ctx = tempfile.TemporaryDirectory(prefix="press-kinds-")
    tmp = args.keep or Path(tmp_ctx.name)
    inputs, golds = {}, {}
    for name, vs in sets.items():
        (tmp / "in" / name).mkdir(parents=True, exist_ok=True)
        inputs[name] = []
        for v in vs:
            p = tmp / "in" / name / f"{v.name}.txt"
            p.write_text(v.text(), encoding="utf-8")
            inputs[name].append((v.name, p, None))
        golds[name] = [gold_intervals(v) for v in vs]

    rows, causes = [], {}
    for mode in args.modes.split(","):
        for name in sets:
            t0 = time.time()
            out = tmp / mode / name
            results = run_mode(inputs[name], enc, out, MODES[mode])
            enc.save()
            tests = [read_beads(out / f"{n}.csv") for n, _, _ in inputs[name]]
            sc = score.score_text(golds[name], tests)
            moved = sum(b.moved for a in results for b in a.beads)
            rows.append((name, mode, len(tests), sc, moved, time.time() - t0))
            print(f"{name} {mode}: strict {sc['f1_strict']:.3f} lax {sc['f1_lax']:.3f}", file=sys.stderr)
            if args.why and mode == "default":
                causes[name] = sum((why(v, g, a, out / f"{v.name}.csv")
                                    for v, g, a in zip(sets[name], golds[name], results)), Counter())

    print(f"\n{args.variants} variants (seed {args.seed}) of each of the 6 MAC-Dev documents per kind, "
          "the same windows and paragraphs in every kind; full pipeline on the raw text, "
          "text beads scored by score.py.\n")
    print("| kind | mode | documents | gold beads | strict F1 | lax F1 | pairs marked moved | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for name, mode, n, sc, moved, secs in rows:
        print(f"| {name} | {mode} | {n} | {sc['counts']['gold_beads']} | {sc['f1_strict']:.3f} "
              f"| {sc['f1_lax']:.3f} | {moved} | {secs:.0f} |")
    for name, c in causes.items():
        kinds = Counter(gold_kinds_all for v in sets[name] for gold_kinds_all in gold_kinds(v))
        print(f"\n{name} (default mode): missed gold beads {sum(c.values())}; gold beads by kind: "
              + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + "\n")
        print("| gold bead | cause | missed |")
        print("|---|---|---|")
        for (kind, cause), n in sorted(c.items(), key=lambda x: -x[1]):
            print(f"| {kind} | {cause} | {n} |")


if __name__ == "__main__":
    main()
