#!/usr/bin/env python3
"""How long `align` takes against embedding every sentence once, on large documents.

    python benchmarks/speed.py                 # all rows (the 50,000-sentence one takes minutes)
    python benchmarks/speed.py --skip-large    # without the 50,000-sentence document
    python benchmarks/speed.py --repeat 1      # one run per row instead of the median of 3

Rows:

* ``mac-dev x1`` — MAC-Dev's six documents (``../shared/eval/mac-dev/src/NNN`` and ``tgt/NNN``)
  concatenated into one pre-split document (written to a temporary folder, never into the repo);
* ``mac-dev x4`` — four copies of it;
* ``large-50000`` — the synthetic 50,000 + 50,000-sentence document of ``benchmarks/large.py``;
* ``sample-press`` — ``align data/sample-press.txt`` (cold start, the small everyday case).

For ``mac-dev x1`` it also times, once, what Bertalign's algorithm embeds with the same encoder:
every window of 1–4 sentences of each side (its default ``max_align=5``), each distinct text once
— a lower bound on Bertalign's time (its DP is not counted).

Each measurement is a cold process, the two of a row interleaved: ``embed`` loads the default
encoder and embeds every distinct sentence once, longest first so that batches pad little (what
any embedding-based aligner pays at least; the copies of ``mac-dev x4`` are embedded once);
``align`` runs the ``align`` command (``align ZH EN --presplit -o DIR --format jsonl``). Printed:
the wall times, their ratio, the command's stages (read+split, embed: the encoder's calls;
compose: the runs of sentences composed from their sentences' parts, one pass of the encoder's
head; align: everything else of the aligner; moves: the search over English
orders, its own encoder calls excluded; calibrate; write), sentences per second and peak RSS
(the larger of the process's own peak and its tree's, the process and the child that builds the
signals beside the encoder, sampled every 20 ms).
The stage times come from timing wrappers this script puts around the package's functions in
the child process; the package itself has no timing code. Rows that need ``../shared`` are
skipped when it is absent.

The measured package's bytecode is compiled first (``compileall``), as ``pip install`` compiles an
installed package's and any start writes an editable one's, unless ``PYTHONDONTWRITEBYTECODE`` is
set (this project's machines set it; without bytecode each start compiles the package: 0.05 s of
the sample's cold run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAC = ROOT.parent / "shared" / "eval" / "mac-dev"

CHILD = r"""
import json, resource, sys, time
sys.argv = ["align"] + json.loads(sys.argv[1])
T = {}
def timed(mod, name, key):
    f = getattr(mod, name)
    def wrap(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            T[key] = T.get(key, 0.0) + time.perf_counter() - t
    setattr(mod, name, wrap)
t0 = time.perf_counter()
import align.api as api, align.pipeline as pl
from align.core import embed, moves
timed(api, "load_document", "read")
timed(api, "write_alignment", "write")
timed(embed.USEEncoder, "encode", "embed")
timed(embed.USEEncoder, "encode_parts", "embed")
timed(embed.USEEncoder, "runs", "compose")
timed(moves, "search_orders", "moves")
timed(pl, "calibrate_beads", "calibrate")
timed(api, "align_document", "pipeline")
inner = moves.search_orders
def search(*a, **k):  # moves without the encoder calls made inside
    e = T.get("embed", 0.0) + T.get("compose", 0.0)
    t = time.perf_counter()
    try:
        return inner(*a, **k)
    finally:
        T["moves_embed"] = T.get("moves_embed", 0.0) + T.get("embed", 0.0) + T.get("compose", 0.0) - e
moves.search_orders = search
T["imports"] = time.perf_counter() - t0
from align.cli import entry
try:
    entry()
except SystemExit as e:
    if e.code:
        raise
T["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("STAGES " + json.dumps(T))
"""

EMBED = r"""
import json, sys
from pathlib import Path
arg = json.loads(sys.argv[1])
texts = []
for p in arg["files"]:
    sents = [t for t in Path(p).read_text(encoding="utf-8").splitlines() if t.strip()]
    for k in range(1, arg["windows"] + 1):  # every window of 1 .. windows sentences (1: each sentence)
        texts += [" ".join(sents[i:i + k]) for i in range(len(sents))]
texts = sorted(dict.fromkeys(texts), key=len, reverse=True)  # each text once, batches that pad little
from align.core.embed import load_encoder
load_encoder().encode(texts)
"""
BERTALIGN_WINDOWS = 4  # Bertalign's max_align=5 embeds every window of 1..4 sentences (yield_overlaps)

CODE = ROOT  # the package measured (--code)


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and its children (pages they share counted in each: an upper
    bound), from /proc; 0 where it cannot be read."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
            for task in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
        except (OSError, ValueError, IndexError):
            pass
    return total


def _run(code: str, arg) -> tuple[float, str, float]:
    """A cold process: (wall seconds, its standard output, the peak MB of it and its children
    together, sampled every 20 ms)."""
    env = dict(os.environ, PYTHONPATH=str(CODE))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(arg)], stdout=out, stderr=err, text=True,
                                cwd=CODE, env=env)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise RuntimeError(stderr.strip().splitlines()[-1] if stderr.strip() else "failed")
    return wall, stdout, peak / 2**20


def _mac_files(tmp: Path, copies: int) -> tuple[Path, Path, int]:
    zh, en = [], []
    docs = sorted(p.name for p in (MAC / "src").iterdir() if not p.name.startswith("."))
    for _ in range(copies):
        for d in docs:
            zh += (MAC / "src" / d).read_text(encoding="utf-8").splitlines()
            en += (MAC / "tgt" / d).read_text(encoding="utf-8").splitlines()
    zp, ep = tmp / f"mac{copies}.zh.txt", tmp / f"mac{copies}.en.txt"
    zp.write_text("\n".join(zh) + "\n", encoding="utf-8")
    ep.write_text("\n".join(en) + "\n", encoding="utf-8")
    return zp, ep, len(zh) + len(en)


def _large_files(tmp: Path, n: int) -> tuple[Path, Path, int]:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import large

    doc = large.document(n)
    zp, ep = tmp / f"large{n}.zh.txt", tmp / f"large{n}.en.txt"
    zp.write_text("\n".join(s.text for s in doc.zh) + "\n", encoding="utf-8")
    ep.write_text("\n".join(s.text for s in doc.en) + "\n", encoding="utf-8")
    return zp, ep, 2 * n


def measure(name, files, sentences, presplit, repeat, out_dir, bertalign=False):
    """Interleaved cold runs: embed once, align (and Bertalign's embeddings, once); medians."""
    embeds, aligns, stages = [], [], []
    paths = [str(f) for f in files if f is not None]
    bert = _run(EMBED, {"files": paths, "windows": BERTALIGN_WINDOWS})[0] if bertalign else None
    for _ in range(repeat):
        if files[1] is not None:
            w = _run(EMBED, {"files": paths, "windows": 1})[0]
            embeds.append(w)
        args = paths + ["-o", str(out_dir), "--format", "jsonl", "--force"]
        if presplit:
            args.append("--presplit")
        w, out, tree_mb = _run(CHILD, args)
        aligns.append(w)
        stages.append(json.loads(out.split("STAGES ", 1)[1]))
        stages[-1]["peak_mb"] = max(stages[-1]["peak_mb"], tree_mb)  # (with the signals' process)
    med = {k: statistics.median(s.get(k, 0.0) for s in stages) for k in stages[0]}
    emb = statistics.median(embeds) if embeds else None
    wall = statistics.median(aligns)
    moves_own = med.get("moves", 0.0) - med.get("moves_embed", 0.0)
    align_own = (med.get("pipeline", 0.0) - med.get("embed", 0.0) - med.get("compose", 0.0) - moves_own
                 - med.get("calibrate", 0.0))
    row = {"name": name, "sentences": sentences, "embed_once": emb, "wall": wall,
           "ratio": wall / emb if emb else None, "read": med.get("read", 0.0), "embed": med.get("embed", 0.0),
           "compose": med.get("compose", 0.0), "align": align_own, "moves": moves_own, "calibrate": med.get("calibrate", 0.0),
           "write": med.get("write", 0.0), "peak_mb": med["peak_mb"], "runs": repeat}
    row["bertalign"] = bert
    row["aligner_share"] = (align_own + moves_own + med.get("calibrate", 0.0)) / emb if emb else None
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per small row (median); large rows run once")
    ap.add_argument("--skip-large", action="store_true", help="leave out the 50,000-sentence document")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    ap.add_argument("--skip-bertalign", action="store_true", help="leave out the Bertalign embedding run")
    ap.add_argument("--code", type=Path, default=ROOT, help="the checkout whose package is measured (default: this one)")
    args = ap.parse_args(argv)
    global CODE
    CODE = args.code.resolve()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(CODE / "align")], check=True,
                   stdout=subprocess.DEVNULL)  # (as an install has it)
    rows = []
    with tempfile.TemporaryDirectory(prefix="speed-") as t:
        tmp = Path(t)
        out = tmp / "out"
        plan = []
        if (MAC / "src").is_dir():
            plan.append(("mac-dev x1", _mac_files(tmp, 1), True, args.repeat, True))
            plan.append(("mac-dev x4", _mac_files(tmp, 4), True, 1, False))
        else:
            print(f"skipped the MAC-Dev rows: no {MAC}")
        if not args.skip_large:
            plan.append(("large-50000", _large_files(tmp, 50000), True, 1, False))
        for name, (zp, ep, n), presplit, repeat, bert in plan:
            rows.append(measure(name, (zp, ep), n, presplit, repeat, out, bert and not args.skip_bertalign))
            print(f"  {name}: done", file=sys.stderr, flush=True)
        rows.append(measure("sample-press (cold)", (ROOT / "data" / "sample-press.txt", None), None, False,
                            args.repeat, out))
    print(f"cores: {os.cpu_count()}; python {sys.version.split()[0]}; medians of {args.repeat} where runs=3; "
          f"every time a cold process (wall seconds)")
    head = (f"{'document':<20} {'sent':>7} {'embed 1x':>9} {'align':>8} {'ratio':>6} {'read':>6} {'embed':>7} "
            f"{'compose':>7} {'align':>7} {'moves':>6} {'calib':>6} {'write':>6} {'sent/s':>7} {'peak MB':>8} {'aligner/emb':>11}")
    print(head)
    for r in rows:
        emb = f"{r['embed_once']:9.1f}" if r["embed_once"] else f"{'-':>9}"
        ratio = f"{r['ratio']:6.2f}" if r["ratio"] else f"{'-':>6}"
        share = f"{r['aligner_share']:11.1%}" if r["aligner_share"] is not None else f"{'-':>11}"
        sps = f"{r['sentences'] / r['wall']:7.0f}" if r["sentences"] else f"{'-':>7}"
        sent = f"{r['sentences']:7d}" if r["sentences"] else f"{'-':>7}"
        print(f"{r['name']:<20} {sent} {emb} {r['wall']:8.2f} {ratio} {r['read']:6.2f} {r['embed']:7.2f} "
              f"{r['compose']:7.2f} {r['align']:7.2f} {r['moves']:6.2f} {r['calibrate']:6.2f} {r['write']:6.2f} {sps} "
              f"{r['peak_mb']:8.0f} {share}")
    print("ratio: align wall / embed-once wall; aligner/emb: the aligner's own time (align + moves + "
          "calibrate; encoder calls and composition excluded) / embed-once wall.")
    for r in rows:
        if r.get("bertalign"):
            print(f"{r['name']}: Bertalign's embeddings alone (every window of 1-4 sentences, each distinct text "
                  f"once, cold, its DP not counted): {r['bertalign']:.1f} s, {r['bertalign'] / r['wall']:.1f}x "
                  f"the align wall")
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
