#!/usr/bin/env python3
"""Quality by document size: does the default (move search on) stay at or above --monotonic?

    python benchmarks/sizes.py                 # the table
    python benchmarks/sizes.py --copies 1,4    # which sizes (copies of MAC-Dev)

From MAC-Dev (../shared/eval/mac-dev, pre-split, never copied into the repository) this builds
long documents: the six documents concatenated into one (≈ 3.4 k sentences), and ``k`` copies of
that with the documents in a different (seeded) order in each copy (4 copies ≈ 14 k sentences:
every sentence then has look-alikes far away). Each size also comes with English blocks moved:
``--moves`` runs of whole gold beads (10–40 sentences) taken out of the English and put back far
away. Both modes align each document through the pipeline (``align.pipeline.align_document``,
what ``align ZH EN --presplit`` does) and are scored against the gold (strict / lax F1,
``align.evaluate``). Embeddings come from a disk cache (``--cache``) so reruns pay the alignment only.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mac_dev import dataset_dir, load_dataset  # noqa: E402

from align.core.options import AlignOptions  # noqa: E402
from align.evaluate import evaluate  # noqa: E402
from align.model import Document, Sentence  # noqa: E402
from align.pipeline import align_document  # noqa: E402


def concatenated(docs, copies: int, seed: int):
    """(zh sentences, en sentences, gold beads) of ``copies`` copies of the documents, each copy in
    its own order of documents (the first in the given order)."""
    rng = random.Random(seed)
    zh, en, gold = [], [], []
    for c in range(copies):
        order = list(range(len(docs)))
        if c:
            rng.shuffle(order)
        for k in order:
            _, z, e, g = docs[k]
            gold += [(tuple(i + len(zh) for i in a), tuple(j + len(en) for j in b)) for a, b in g]
            zh, en = zh + z, en + e
    return zh, en, gold


def with_moves(zh, en, gold, n_moves: int, seed: int):
    """The same document with ``n_moves`` English blocks of whole gold beads moved far away."""
    rng = random.Random(seed)
    order = list(range(len(en)))  # English positions in the new text, by old position
    beads = [b for b in gold if b[1]]
    for _ in range(n_moves):
        k = rng.randrange(len(beads) - 40)
        run = beads[k:k + rng.randint(5, 15)]
        block = [j for _, b in run for j in b]
        if len(block) < 10 or block != list(range(block[0], block[-1] + 1)):
            continue
        inside = set(block)
        was = order.index(block[0])
        rest = [j for j in order if j not in inside]
        far = [p for p in range(len(rest) + 1) if abs(p - was) >= len(en) // 4]
        if not far:
            continue
        at = rng.choice(far)
        order = rest[:at] + block + rest[at:]
    new_pos = {j: p for p, j in enumerate(order)}
    new_en = [en[j] for j in order]
    new_gold = [(a, tuple(sorted(new_pos[j] for j in b))) for a, b in gold]
    return zh, new_en, new_gold


def run(zh, en, options, encoder):
    doc = Document("sizes", zh=[Sentence(t, 0) for t in zh], en=[Sentence(t, 0) for t in en])
    t0 = time.perf_counter()
    a = align_document(doc, options, encoder)
    return [(tuple(b.zh_ids), tuple(b.en_ids)) for b in a.beads], time.perf_counter() - t0, sum(b.moved for b in a.beads)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", default="1,4", help="comma list: copies of MAC-Dev per document")
    ap.add_argument("--moves", type=int, default=3, help="English blocks moved in the 'moved' documents")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "zhen-align-reorder-cache")
    args = ap.parse_args(argv)
    data = dataset_dir("mac-dev")
    if not (data / "src").is_dir():
        sys.exit(f"no MAC-Dev data at {data}")
    from reorder import CachedEncoder

    docs = load_dataset(data)
    enc = CachedEncoder(args.cache)
    print("| document | sentences | default strict (lax) | monotonic strict (lax) | default − monotonic "
          "| pairs marked moved | seconds default / monotonic |")
    print("|---|---|---|---|---|---|---|")
    for copies in [int(c) for c in args.copies.split(",")]:
        base = concatenated(docs, copies, args.seed)
        for label, (zh, en, gold) in ((f"MAC-Dev ×{copies}", base),
                                      (f"MAC-Dev ×{copies}, {args.moves} blocks moved",
                                       with_moves(*base, args.moves, args.seed + copies))):
            cells = []
            for options in (AlignOptions(), AlignOptions(monotonic=True)):
                beads, secs, moved = run(zh, en, options, enc)
                enc.save()
                r = evaluate([gold], [beads])
                cells.append((r["strict"]["f1"], r["lax"]["f1"], secs, moved))
            (ds, dl, dt, dm), (ms, ml, mt, _) = cells
            print(f"| {label} | {len(zh) + len(en)} | {ds:.3f} ({dl:.3f}) | {ms:.3f} ({ml:.3f}) | {ds - ms:+.3f} "
                  f"| {dm} | {dt:.0f} / {mt:.0f} |", flush=True)


if __name__ == "__main__":
    main()
