"""Time and peak memory of one large document, and how both grow with its size.

    python benchmarks/large.py                       # size sweep 250..2000 sentences, real encoder
    python benchmarks/large.py --sizes 50000         # the 50,000-sentence document
    python benchmarks/large.py --encoder fake        # everything but the encoder (hash vectors)
    python benchmarks/large.py --monotonic           # without the search for moved paragraphs

Each size runs in a fresh process (so peak memory is that size's alone) on a
synthetic release of N Chinese and N English sentences (numbers, places and
topics vary, so the encoder has something to go on). Printed per size: wall
time of embedding and of aligning (``align.pipeline.align_document``: anchors, moves,
beads, calibration), sentences per second, peak resident memory above the
process's resident memory just before (encoder and dictionaries loaded), and that memory per sentence,
which stays flat when memory is linear in the document size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CITIES = [("北京", "Beijing"), ("上海", "Shanghai"), ("广州", "Guangzhou"), ("深圳", "Shenzhen"),
          ("成都", "Chengdu"), ("武汉", "Wuhan"), ("西安", "Xi'an"), ("杭州", "Hangzhou")]
TOPICS = [("工业产值", "industrial output"), ("零售额", "retail sales"), ("出口", "exports"),
          ("固定资产投资", "fixed-asset investment"), ("居民收入", "household income"),
          ("粮食产量", "grain output"), ("旅游收入", "tourism revenue"), ("用电量", "power consumption")]
VERBS = [("增长", "grew by", "rose"), ("下降", "fell by", "declined")]


def document(n: int, seed: int = 7):
    """N Chinese and N English sentences that translate each other, in paragraphs of five."""
    from align.model import Document, Sentence

    rng = random.Random(seed)
    zh, en = [], []
    for i in range(n):
        (cz, ce), (tz, te), (vz, ve, _) = rng.choice(CITIES), rng.choice(TOPICS), rng.choice(VERBS)
        p = rng.randint(1, 99) / 10
        zh.append(Sentence(f"第{i + 1}项：今年前三季度，{cz}的{tz}同比{vz}{p}%。", i // 5))
        en.append(Sentence(f"Item {i + 1}: in the first three quarters, {te} in {ce} {ve} {p}% year on year.",
                           i // 5))
    return Document(f"large-{n}", zh=zh, en=en)


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def _reset_peak() -> float:
    """Reset the peak-RSS mark (Linux: clear_refs 5) and return the current RSS in MB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_mb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_mb() -> float:
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n: int, encoder_kind: str, monotonic: bool = False) -> dict:
    """Run one size in this process and return its numbers."""
    sys.path.insert(0, str(ROOT))
    from align.core.embed import load_encoder
    from align.core.options import AlignOptions
    from align.pipeline import align_document

    if encoder_kind == "fake":
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import FakeEncoder

        encoder = FakeEncoder()
    else:
        encoder = load_encoder(None)
    align_document(document(6, seed=1), None, encoder)  # load model, dictionary etc. outside the timings
    doc = document(n)
    base = _reset_peak()
    t0 = time.perf_counter()
    vecs = encoder.encode([s.text for s in doc.zh] + [s.text for s in doc.en])
    t1 = time.perf_counter()

    class Cached:  # align_document embeds again: hand it the vectors just computed
        name = getattr(encoder, "name", "encoder")

        def __init__(self):
            self.first = True

        def encode(self, texts, progress=None):
            if self.first and len(texts) == len(vecs):
                self.first = False
                return vecs
            return encoder.encode(texts)

    alignment = align_document(doc, AlignOptions(monotonic=monotonic), Cached())
    t2 = time.perf_counter()
    zh_ids = sorted(i for b in alignment.beads for i in b.zh_ids)
    en_ids = sorted(j for b in alignment.beads for j in b.en_ids)
    assert zh_ids == list(range(n)) and en_ids == list(range(n)), "a sentence was lost"
    peak = _peak_mb() - base
    correct = sum(1 for b in alignment.beads if b.zh_ids == b.en_ids and len(b.zh_ids) == 1)
    return {"n": n, "embed_s": t1 - t0, "align_s": t2 - t1, "peak_mb": peak,
            "kb_per_sentence": peak * 1024 / (2 * n), "one_to_one_right": correct / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="250,500,1000,2000", help="comma list of sentences per language")
    ap.add_argument("--encoder", choices=["use", "fake"], default="use",
                    help="use: the embedded default encoder; fake: hash vectors (no model)")
    ap.add_argument("--monotonic", action="store_true",
                    help="align as --monotonic does (no search for moved paragraphs)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds allowed per size")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.encoder, args.monotonic)))
        return
    print(f"encoder: {args.encoder}; {'monotonic' if args.monotonic else 'default (moved paragraphs)'}; cores: {os.cpu_count()}; python {sys.version.split()[0]}")
    print(f"{'sentences':>10} {'embed s':>9} {'align s':>9} {'sent/s':>8} {'peak MB':>9} {'KB/sent':>8} {'1-1 ok':>7}")
    for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
        try:
            proc = subprocess.run([sys.executable, __file__, "--one", str(n), "--encoder", args.encoder]
                                  + (["--monotonic"] if args.monotonic else []),
                                  capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"{n:>10} did not finish in {args.timeout:.0f} s")
            continue
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{n:>10} failed (exit {proc.returncode}): {last[:100]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        total = r["embed_s"] + r["align_s"]
        print(f"{n:>10} {r['embed_s']:>9.1f} {r['align_s']:>9.1f} {2 * n / total:>8.0f} {r['peak_mb']:>9.1f} "
              f"{r['kb_per_sentence']:>8.1f} {r['one_to_one_right']:>7.1%}", flush=True)


if __name__ == "__main__":
    main()
