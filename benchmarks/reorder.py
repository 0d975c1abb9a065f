#!/usr/bin/env python3
"""Moved, missing and added paragraphs: monotonic vs move-aware alignment.

From MAC-Dev (../shared/eval/mac-dev, never copied into the repository) this
builds press-release-like variants with a fixed seed: a window of whole gold
beads cut into paragraphs, the Chinese half then the English half in one file;
1–3 English blocks of whole gold beads moved elsewhere (whole paragraphs or a
run of beads that becomes its own paragraph); one block dropped from one
side; boilerplate added ("About …", contacts, a photo caption). Files are
generated into a temporary folder, aligned by the full pipeline
(load_document → align_document → write_alignment, exactly what ``align FILE``
does) and scored with ../shared/tools/score.py's text-bead metric (strict F1,
independent of sentence splitting). Also scored: the untouched raw documents
(text beads) and the pre-split documents (index beads, the usual MAC-Dev F1),
and the calibration of bead scores (precision per score bucket).

    python benchmarks/reorder.py                 # the table
    python benchmarks/reorder.py --fit           # refit align/calibrate.py's coefficients
    python benchmarks/reorder.py --variants 2    # fewer variants per document (faster)

Embeddings are cached on disk (--cache, default a folder in the temp dir) so
that reruns only pay for the alignment.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from align.core.options import AlignOptions, LoneOptions  # noqa: E402
from align.io.document import load_document  # noqa: E402
from align.pipeline import align_document  # noqa: E402
from align.core.calibrate import features, fit_logistic  # noqa: E402
from align.core.compose import Parts  # noqa: E402
from align.core.embed import load_encoder  # noqa: E402
from align.io.write import OutputOptions, write_alignment  # noqa: E402

SHARED = ROOT.parent / "shared"
DATA = SHARED / "eval" / "mac-dev"
DOCS = ["001", "002", "003", "004", "005", "006"]

# Our own boilerplate (not evaluation data): one-sided paragraphs a press release adds.
BOILER_EN = [
    ["The Forum Secretariat coordinates the annual programme of the conference series.",
     "It works with universities, companies and public agencies in more than forty countries."],
    ["Media contact: Li Ming, press office, telephone +86 10 5555 0100, email press@example.org."],
    ["Photo: Guests at the opening ceremony of the conference."],
]
BOILER_ZH = [
    ["论坛秘书处负责统筹系列会议的年度活动安排。", "秘书处与四十多个国家的高校、企业和公共机构开展合作。"],
    ["媒体联系人：李明，新闻办公室，电话010-5555-0100。"],
    ["图为开幕式现场嘉宾合影。"],
]


class CachedEncoder:
    """The default encoder with a disk cache keyed by text (vectors are deterministic). It keeps
    each text's composition parts too (``encode_parts``/``runs``), as the default encoder does."""

    FIELDS = ("vecs", "full", "bos", "eos", "tokens")

    def __init__(self, cache: Path):
        self.inner = load_encoder()
        self.name = self.inner.name
        self.path = cache
        cache.mkdir(parents=True, exist_ok=True)
        self.mem: dict[str, tuple] = {}  # key -> (vec, full, bos, eos, tokens)
        f = cache / "parts.npz"
        if f.exists():
            data = np.load(f)
            self.mem = dict(zip(data["keys"].tolist(), zip(*(data[k] for k in self.FIELDS))))
        self.dirty = False

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _rows(self, texts):
        keys = [self.key(t) for t in texts]
        todo = sorted({(k, t) for k, t in zip(keys, texts) if k not in self.mem})
        if todo:
            vecs, parts = self.inner.encode_parts([t for _, t in todo])
            for (k, _), v, row in zip(todo, vecs, parts.rows()):
                self.mem[k] = (v, *row)
            self.dirty = True
        return [self.mem[k] for k in keys]

    def encode(self, texts, progress=None):
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.stack([r[0] for r in self._rows(texts)])

    def encode_parts(self, texts, progress=None):
        rows = self._rows(texts)
        return self.encode(texts), Parts.stack([r[1:] for r in rows])

    def runs(self, parts, a, starts=None):
        return self.inner.runs(parts, a, starts)

    def save(self):
        if self.dirty:
            keys = list(self.mem)
            cols = list(zip(*(self.mem[k] for k in keys)))
            np.savez(self.path / "parts.npz", keys=np.array(keys),
                     **{name: np.stack(col) for name, col in zip(self.FIELDS, cols)})
            self.dirty = False


@dataclass
class Variant:
    name: str
    doc: str
    zh: list[str] = field(default_factory=list)  # sentences in text order
    en: list[str] = field(default_factory=list)
    zh_paras: list[list[int]] = field(default_factory=list)  # sentence ids per paragraph
    en_paras: list[list[int]] = field(default_factory=list)
    gold: list[tuple[list[int], list[int]]] = field(default_factory=list)
    notes: str = ""

    def text(self) -> str:
        zh = "\n\n".join("".join(self.zh[i] for i in p) for p in self.zh_paras)
        en = "\n\n".join(" ".join(self.en[j] for j in p) for p in self.en_paras)
        return zh + "\n\n\n" + en + "\n"


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def read_gold(doc: str):
    src, tgt = read_lines(DATA / "src" / doc), read_lines(DATA / "tgt" / doc)
    gold = []
    for line in read_lines(DATA / "gold" / f"{doc}.align"):
        if line.strip():
            a, b = line.split(":")[:2]
            gold.append((eval(a), eval(b)))  # noqa: S307 - the gold format is Python lists
    return src, tgt, gold


KINDS = ("moved", "dropped", "added")  # the changes a variant makes; none: the control


def make_variant(doc: str, k: int, seed: int, clean: bool = False, kinds=KINDS) -> Variant:
    """One press-release-like variant of a MAC-Dev document (variant 0: the whole document).

    ``kinds``: which changes to make, any of KINDS (the window and paragraphs do not depend on
    them: they are drawn first). ``clean``: none of them, the same window and paragraphs with
    nothing moved, dropped or added (the control).
    """
    kinds = () if clean else tuple(kinds)
    rng = random.Random(f"{seed}:{doc}:{k}")
    src, tgt, gold = read_gold(doc)
    size = len(gold) if k == 0 else rng.randint(30, 90)
    start = rng.randint(0, len(gold) - size)
    beads = [(list(a), list(b)) for a, b in gold[start:start + size]]
    # Paragraphs of 2-7 beads, the same in both languages.
    paras, i = [], 0
    while i < len(beads):
        n = rng.randint(2, 7)
        paras.append(list(range(i, min(i + n, len(beads)))))
        i += n
    # English units: lists of bead numbers, each a paragraph; blocks are moved as units.
    en_units = [list(p) for p in paras]
    zh_units = [list(p) for p in paras]
    if not kinds:
        return _build(f"{doc}-c{k}", doc, beads, src, tgt, zh_units, en_units, set(), "zh", rng, 0, "control")
    notes, drop, side = [], [], "zh"
    if "moved" in kinds:
        notes += _move_blocks(rng, en_units)
    if "dropped" in kinds:
        drop, side = _drop_block(rng, zh_units, en_units)
        notes.append(f"dropped {len(drop)} {side} beads")
    name = f"{doc}-v{k}" if set(kinds) == set(KINDS) else f"{doc}-{'+'.join(kinds)}{k}"
    return _build(name, doc, beads, src, tgt, zh_units, en_units, set(drop), side, rng,
                  rng.randint(1, 2) if "added" in kinds else 0, "; ".join(notes))


def _move_blocks(rng, en_units) -> list[str]:
    """Move 1-3 English blocks elsewhere (in place): whole paragraphs, or a run of beads out of
    a paragraph that becomes its own paragraph."""
    notes = []
    for _ in range(rng.randint(1, 3)):
        if len(en_units) < 4:
            break
        u = rng.randrange(len(en_units))
        if rng.random() < 0.6 or len(en_units[u]) < 3:  # a whole paragraph
            block = en_units.pop(u)
        else:  # a run of beads out of a paragraph, which becomes its own paragraph
            p = en_units[u]
            a = rng.randrange(len(p) - 1)
            b = rng.randint(a + 2, min(len(p), a + 5))
            block = p[a:b]
            rest = p[:a] + p[b:]
            en_units[u:u + 1] = [rest] if rest else []
        choices = [t for t in range(len(en_units) + 1) if abs(t - u) >= 1]
        dest = rng.choice(choices)
        en_units.insert(dest, block)
        notes.append(f"moved {len(block)} beads")
    return notes


def _drop_block(rng, zh_units, en_units) -> tuple[list[int], str]:
    """Drop one block (1-4 beads, or a paragraph) from one side (in place): its other side
    becomes one-sided. Returns the dropped beads and the side they were dropped from."""
    side = rng.choice(["zh", "en"])
    units = zh_units if side == "zh" else en_units
    u = rng.randrange(len(units))
    drop = units[u] if rng.random() < 0.5 else units[u][: rng.randint(1, min(4, len(units[u])))]
    units[u] = [b for b in units[u] if b not in drop]
    if not units[u]:
        units.pop(u)
    return drop, side


def _place(units, beads, side, texts, sentences, paras) -> dict[int, list[int]]:
    """Lay one side's beads out as paragraphs (units); returns each bead's new sentence ids."""
    of_bead = {}
    for unit in units:
        ids = []
        for b in unit:
            of_bead[b] = []
            for s in beads[b][side]:
                of_bead[b].append(len(sentences))
                ids.append(len(sentences))
                sentences.append(texts[s])
        if ids:
            paras.append(ids)
    return of_bead


def _build(name, doc, beads, src, tgt, zh_units, en_units, dropped, side, rng, n_boiler, notes) -> Variant:
    """The variant's sentences, paragraphs and gold beads; then ``n_boiler`` boilerplate paragraphs."""
    notes = [notes]
    v = Variant(name, doc)
    zh_of_bead = _place(zh_units, beads, 0, src, v.zh, v.zh_paras)
    en_of_bead = _place(en_units, beads, 1, tgt, v.en, v.en_paras)
    for b in range(len(beads)):
        z, e = zh_of_bead.get(b, []), en_of_bead.get(b, [])
        if b in dropped:
            z = z if side == "en" else []
            e = e if side == "zh" else []
        if z and e:
            v.gold.append((z, e))
        else:
            v.gold += [([i], []) for i in z] + [([], [j]) for j in e]
    # Boilerplate: one or two one-sided paragraphs, English or Chinese.
    for _ in range(n_boiler):
        lang = rng.choice(["en", "en", "zh"])
        pick = rng.randrange(len(BOILER_EN))
        sents = (BOILER_EN if lang == "en" else BOILER_ZH)[pick]
        sides, paras = (v.en, v.en_paras) if lang == "en" else (v.zh, v.zh_paras)
        at = rng.choice([len(paras), len(paras), rng.randrange(len(paras) + 1)])
        # Renumber: insert the paragraph's sentences at paragraph `at`.
        pos = paras[at][0] if at < len(paras) else len(sides)
        shift = len(sents)
        renum = lambda i: i + shift if i >= pos else i  # noqa: E731
        for p in paras:
            p[:] = [renum(i) for i in p]
        v.gold = [([renum(i) for i in z], e) if lang == "zh" else (z, [renum(j) for j in e]) for z, e in v.gold]
        sides[pos:pos] = sents
        paras.insert(at, list(range(pos, pos + shift)))
        v.gold += [([i], []) if lang == "zh" else ([], [i]) for i in range(pos, pos + shift)]
        notes.append(f"{lang} boilerplate {shift}")
    # The same boilerplate in both languages is a translation: its sentences pair up (BOILER_ZH
    # translates BOILER_EN sentence by sentence), wherever the two paragraphs sit.
    twin = {z: e for zs, es in zip(BOILER_ZH, BOILER_EN) for z, e in zip(zs, es)}
    lone_en = {v.en[e[0]]: e[0] for z, e in v.gold if not z}
    pairs = {z[0]: lone_en[twin[v.zh[z[0]]]] for z, e in v.gold if not e and twin.get(v.zh[z[0]]) in lone_en}
    if pairs:
        v.gold = [b for b in v.gold if not (b[0] and b[0][0] in pairs) and not (b[1] and b[1][0] in pairs.values())]
        v.gold += [([i], [j]) for i, j in pairs.items()]
        notes.append(f"boilerplate in both languages: {len(pairs)} pairs")
    v.notes = "; ".join(notes)
    return v


def norm_spans(sentences: list[str], order_ids: list[int]):
    """Character intervals of each sentence in the normalised document (sentences in id order)."""
    from score import normalize  # noqa: E402

    spans, pos = [None] * len(sentences), 0
    for i in order_ids:
        n = len(normalize(sentences[i]))
        spans[i] = (pos, pos + n)
        pos += n
    return spans


def gold_intervals(v: Variant):
    import score

    zs = norm_spans(v.zh, [i for p in v.zh_paras for i in p])
    es = norm_spans(v.en, [j for p in v.en_paras for j in p])
    zdoc = "".join(score.normalize(v.zh[i]) for p in v.zh_paras for i in p)
    edoc = "".join(score.normalize(v.en[j]) for p in v.en_paras for j in p)
    return zdoc, edoc, score.spans_from_align(v.gold, zs, es)


def read_beads(test_csv: Path) -> list[tuple[str, str]]:
    """The (zh, en) text beads of one of our CSVs.

    Not score.read_text_beads: our CSV starts with a BOM (for Excel), which score.py's reader
    keeps, so it takes the header row for a bead, one wrong bead per document (measured: 0.004
    strict F1 on the variants). The header row is not an alignment; it is skipped here."""
    import csv

    with open(test_csv, encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    if rows and rows[0][:2] == ["zh", "en"]:
        rows = rows[1:]
    return [(r[0], r[1] if len(r) > 1 else "") for r in rows]


def bead_truth(test_csv: Path, gold_doc) -> list[bool]:
    """Per test bead (CSV order): strictly right?"""
    import score

    zdoc, edoc, gold = gold_doc
    test = read_beads(test_csv)
    spans = score.spans_from_text(test, zdoc, edoc)
    pool = set(b for b in gold if b[0] or b[1])
    return [b in pool for b in spans]


def run_mode(docs, encoder, out: Path, options: AlignOptions):
    """Align each (name, path) with the full pipeline; the CSVs and alignments."""
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for name, path, presplit_pair in docs:
        if presplit_pair:
            doc = load_document(presplit_pair[0], presplit_pair[1], presplit=True)
        else:
            doc = load_document(path)
        doc.name = name
        a = align_document(doc, options, encoder)
        write_alignment(a, out, OutputOptions(["csv"]))
        results.append(a)
    return results


def variant_args(doc: str) -> argparse.ArgumentParser:
    """The command-line options of the benchmarks built on these variants (this one, press_kinds.py)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--variants", type=int, default=4, help="variants per document (variant 0 is the whole document)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "zhen-align-reorder-cache")
    ap.add_argument("--keep", type=Path, help="write the generated files and outputs here (not the repo)")
    return ap


def scorer():
    """../shared/tools/score.py, or exit with one line when the MAC-Dev data is absent."""
    if not DATA.exists():
        sys.exit(f"no MAC-Dev data at {DATA}")
    sys.path.insert(0, str(SHARED / "tools"))
    import score

    return score


def main():
    ap = variant_args(__doc__)
    ap.add_argument("--fit", action="store_true", help="fit calibration coefficients and print them")
    args = ap.parse_args()
    score = scorer()

    sets = {"variants": [make_variant(d, k, args.seed) for d in DOCS for k in range(args.variants)],
            "control": [make_variant(d, k, args.seed, clean=True) for d in DOCS for k in range(args.variants)]}
    enc = CachedEncoder(args.cache)
    tmp_ctx = tempfile.TemporaryDirectory(prefix="reorder-")
    tmp = args.keep or Path(tmp_ctx.name)
    (tmp / "in").mkdir(parents=True, exist_ok=True)
    inputs, golds = {}, {}
    for key, vs in sets.items():
        inputs[key] = []
        for v in vs:
            p = tmp / "in" / f"{v.name}.txt"
            p.write_text(v.text(), encoding="utf-8")
            inputs[key].append((v.name, p, None))
        golds[key] = [gold_intervals(v) for v in vs]
    inputs["raw"] = [(d, DATA / "raw" / f"{d}.bilingual.txt", None) for d in DOCS]
    golds["raw"] = [score.gold_text_doc(str(DATA), d) for d in DOCS]
    pre_docs = [(d, None, (DATA / "src" / d, DATA / "tgt" / d)) for d in DOCS]
    gold_idx = [score.read_align(str(DATA / "gold" / f"{d}.align")) for d in DOCS]

    rows, calib = [], []
    modes = (("aligner only", True, AlignOptions(monotonic=True, lone=LoneOptions(reattach=False))),
             ("monotonic", True, AlignOptions(monotonic=True)), ("moves", False, AlignOptions()))
    for mode, mono, options in modes:
        t0 = time.time()
        scores, results = {}, {}
        for key in ("variants", "control", "raw"):
            results[key] = run_mode(inputs[key], enc, tmp / mode.replace(" ", "-") / key, options)
            tests = [read_beads(tmp / mode.replace(" ", "-") / key / f"{name}.csv") for name, _, _ in inputs[key]]
            scores[key] = score.score_text(golds[key], tests)
        res_p = run_mode(pre_docs, enc, tmp / mode.replace(" ", "-") / "presplit", options)
        scores["presplit"] = score.score_index(gold_idx, [[(b.zh_ids, b.en_ids) for b in a.beads] for a in res_p])
        enc.save()
        moved = sum(b.moved for a in results["variants"] for b in a.beads)
        rows.append((mode, scores, moved, time.time() - t0))
        if not mono:  # calibration data: (set, document, two-sided, features, score, strictly right)
            for key in ("variants", "raw"):
                for (name, _, _), a, g in zip(inputs[key], results[key], golds[key]):
                    truth = bead_truth(tmp / mode.replace(" ", "-") / key / f"{name}.csv", g)
                    calib += _calib_rows(key, name.split("-")[0], a, truth, enc)
            for d, a, g in zip(DOCS, res_p, gold_idx):
                gold_set = {(tuple(z), tuple(e)) for z, e in g}
                truth = [(tuple(b.zh_ids), tuple(b.en_ids)) in gold_set for b in a.beads]
                calib += _calib_rows("presplit", d, a, truth, enc)
    n = len(sets["variants"])
    print(f"\n{n} variants (seed {args.seed}) of the 6 MAC-Dev documents, and their {n} controls "
          "(same windows and paragraphs, nothing moved, dropped or added).")
    print("Full pipeline on the raw files; text beads scored by score.py (strict F1, lax F1 in brackets);")
    print("pre-split: the usual MAC-Dev index-bead F1 on the gold sentences.\n")
    print("Modes: aligner only = --monotonic without reattaching lone sentences; monotonic = --monotonic (plus lone sentences "
          "reattached); moves = the default.\n")
    print("| mode | variants | control | untouched raw | untouched pre-split | beads marked moved | seconds |")
    print("|---|---|---|---|---|---|---|")
    for mode, sc, moved, secs in rows:
        cells = " | ".join(f"{sc[k]['f1_strict']:.3f} ({sc[k]['f1_lax']:.3f})"
                           for k in ("variants", "control", "raw", "presplit"))
        print(f"| {mode} | {cells} | {moved} | {secs:.0f} |")
    if calib:
        report_calibration(calib, args.fit)


def _calib_rows(key, doc, a, truth, enc):
    zv = enc.encode([s.text for s in a.doc.zh])
    ev = enc.encode([s.text for s in a.doc.en])
    return [(key, doc, b.two_sided, x, b.score, ok) for b, x, ok in zip(a.beads, features(a.beads, zv, ev), truth)]


def _buckets(title, items):
    """items: (score, right, two_sided)."""
    print(f"\n{title}\n")
    print("| score | beads | two-sided | one-sided | right | precision | mean score |")
    print("|---|---|---|---|---|---|---|")
    edges = [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0001]
    for lo, hi in zip(edges, edges[1:]):
        sel = [c for c in items if lo <= c[0] < hi]
        if not sel:
            continue
        right = sum(c[1] for c in sel)
        two = sum(c[2] for c in sel)
        print(f"| {lo:.1f}–{min(hi, 1):.1f} | {len(sel)} | {two} | {len(sel) - two} | {right} "
              f"| {right / len(sel):.3f} | {np.mean([c[0] for c in sel]):.3f} |")


def report_calibration(calib, fit: bool):
    """Precision per score bucket (a bead is right if the gold has exactly it: strict)."""
    _buckets("Calibration on MAC-Dev, pre-split (index beads against the gold; moves mode, shipped coefficients):",
             [(c[4], c[5], c[2]) for c in calib if c[0] == "presplit"])
    _buckets("The same on the raw variants (text beads; sentence splitting differs from the gold's, "
             "which counts as wrong):", [(c[4], c[5], c[2]) for c in calib if c[0] == "variants"])
    sel_all = [c for c in calib if c[0] == "presplit"]
    held = []
    base = None
    for two_sided in (True, False):
        sel = [c for c in sel_all if c[2] == two_sided]
        x = np.array([c[3][:3] if two_sided else c[3] for c in sel])  # pre-split: the order columns are all but 0
        y = np.array([c[5] for c in sel], dtype=float)
        w = fit_logistic(x, y)
        if two_sided:
            base = w
        if fit and not two_sided:
            print(f"\nONE_SIDED = ({', '.join(f'{c:.3g}' for c in w)})")
        for d in sorted({c[1] for c in sel}):  # leave one document out
            tr = [k for k, c in enumerate(sel) if c[1] != d]
            te = [k for k, c in enumerate(sel) if c[1] == d]
            wd = fit_logistic(x[tr], y[tr])
            p = 1 / (1 + np.exp(-(wd[0] + x[te] @ wd[1:])))
            held += [(float(pk), bool(y[k]), two_sided) for pk, k in zip(p, te)]
    _buckets("Held-out check (leave one MAC-Dev document out: fitted on five, scored on the sixth):", held)
    # The order's risk, on the variants (moved, dropped, added paragraphs): the two order
    # coefficients fitted with the pre-split ones held fixed.
    var = [c for c in calib if c[0] == "variants" and c[2]]
    xv = np.array([c[3] for c in var])
    yv = np.array([c[5] for c in var], dtype=float)
    order = fit_logistic(xv[:, 3:], yv, offset=base[0] + xv[:, :3] @ base[1:], intercept=False)
    if fit:
        print(f"\nTWO_SIDED = ({', '.join(f'{c:.3g}' for c in list(base) + list(order))})")
    for name, pick in (("moved", lambda c: c[3][3] > 0), ("jumped (over 5 sentences)", lambda c: c[3][4] > np.log1p(5)),
                       ("in order", lambda c: c[3][3] == 0 and c[3][4] <= np.log1p(5))):
        sel = [c for c in var if pick(c)]
        if sel:
            print(f"\nvariants, {name} pairs: {len(sel)}, right {sum(c[5] for c in sel) / len(sel):.3f}, "
                  f"mean score {np.mean([c[4] for c in sel]):.3f}")


if __name__ == "__main__":
    main()
