#!/usr/bin/env python3
"""The local batch against the Ray engine on this machine: documents/s, Ray's fixed start-up
time and its overhead per document.

Generates 100 documents into a temporary folder (never into the repository): variants of
``data/sample-press.txt`` (numbers, dates and names changed, paragraphs dropped or repeated, so
that no two are the same), as bilingual ``.txt`` files and ``NAME.zh.txt`` + ``NAME.en.txt`` pairs.
Then, each in a fresh process, with the real default encoder and ``SOURCE_DATE_EPOCH`` set:

* ``local-j1`` / ``local-j2``: ``align DIR -j 1`` / ``-j 2`` (one process; two forked workers);
* ``ray``: ``align DIR --engine ray --actors 2`` on a local Ray with 2 CPUs. The child first
  times the start-up on its own — ``ray.init`` and two actors loading the encoder — and the
  round trip of an empty actor call, then runs the batch in that Ray session (its actors load
  the encoder again: that is counted in its time, ``ray.init`` is added once);
* ``ray-data`` (only with ``--ray-data``; needs ``ray[data]``): the same per-document function
  through Ray Data's ``map_batches`` with an actor class, to compare with the actor pool.

The table gives documents/s over the whole run, documents/s after the start-up, and the extra
seconds Ray spends per document against the local batch with as many processes. Every run's
per-document files and corpus are compared byte for byte with ``local-j1``'s.

    python benchmarks/scale.py               # local-j1, local-j2, ray
    python benchmarks/scale.py --ray-data    # and Ray Data's map_batches
    python benchmarks/scale.py --docs 40     # fewer documents

The machine is shared: rerun when other jobs compete for its cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EPOCH = "1700000000"

# ------------------------------------------------------------------ the documents

_NAMES = [("星河科技", "Galaxy Tech"), ("晨光科技", "Dawnlight Tech"), ("蓝海科技", "Blue Ocean Tech"),
          ("远山科技", "Far Hills Tech"), ("云帆科技", "Cloud Sail Tech")]


def variant(text: str, i: int) -> str:
    """The sample release, changed by ``i``: company, numbers, which paragraphs, how many times."""
    rng = random.Random(i)
    zh, en = text.split("###", 1)
    zh_name, en_name = _NAMES[i % len(_NAMES)]
    zh, en = zh.replace("星河科技", zh_name), en.replace("Galaxy Tech", en_name)
    shift = {str(d): str((d + i) % 10) for d in range(10)}

    def digits(s: str) -> str:  # the same new number on both sides
        return re.sub(r"\d", lambda m: shift[m.group()], s)

    zh, en = digits(zh), digits(en)
    zp = [p for p in zh.strip().split("\n\n") if p.strip()]
    ep = [p for p in en.strip().split("\n\n") if p.strip()]
    keep = [0] + [k for k in range(1, min(len(zp), len(ep))) if rng.random() > 0.2]
    repeat = 1 + (i % 4 == 0)  # every fourth one is twice as long
    zp, ep = [zp[k] for k in keep] * repeat, [ep[k] for k in keep] * repeat
    return "\n\n".join(zp) + "\n\n###\n\n" + "\n\n".join(ep) + "\n"


def make_documents(folder: Path, n: int) -> None:
    text = (ROOT / "data" / "sample-press.txt").read_text(encoding="utf-8")
    for i in range(n):
        doc = variant(text, i)
        if i % 3 == 2:
            zh, en = doc.split("###", 1)
            (folder / f"release-{i:03d}.zh.txt").write_text(zh.strip() + "\n", encoding="utf-8")
            (folder / f"release-{i:03d}.en.txt").write_text(en.strip() + "\n", encoding="utf-8")
        else:
            (folder / f"release-{i:03d}.txt").write_text(doc, encoding="utf-8")


# ------------------------------------------------------------------ the runs (each in a fresh process)

_CHILD = r"""
import json, sys, time
from pathlib import Path
config, folder, out = sys.argv[1:4]
t0 = time.perf_counter()
import align
info = {}
if config.startswith("local"):
    from align.batch.worker import make_encoder
    start = time.perf_counter()
    encoder = make_encoder(None, None, 1)  # what the batch loads itself, timed apart (before the fork)
    info["actors"] = time.perf_counter() - start
    r = align.align_path(folder, out_dir=out, formats=["tmx", "csv"], force=True, jobs=int(config[-1]),
                         encoder=encoder)
    info["run"] = time.perf_counter() - start
elif config == "ray":
    import ray
    from align.batch import ray_engine
    from align.batch.run import Settings
    start = time.perf_counter()
    ray_engine.connect(None, 2)
    info["init"] = time.perf_counter() - start
    start = time.perf_counter()
    actors = ray_engine.start_actors(2, Settings())
    info["actors"] = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(200):
        ray.get(actors[0].ready.remote())
    info["call_ms"] = (time.perf_counter() - start) / 200 * 1000
    for a in actors:
        ray.kill(a, no_restart=True)
    start = time.perf_counter()
    r = align.align_path(folder, out_dir=out, formats=["tmx", "csv"], force=True, engine="ray", actors=2)
    info["run"] = time.perf_counter() - start
    import pickle
    from align.batch.worker import JobResult
    sizes = [len(pickle.dumps(JobResult(d.alignment, d.outputs))) for d in r.documents if d.alignment]
    info["result_kib"] = sum(sizes) / len(sizes) / 1024
    ray.shutdown()
else:  # ray-data: the per-document function through Ray Data's map_batches with an actor class
    import os, pickle
    import ray
    from align.batch import ray_engine
    from align.batch.discover import discover, plan
    from align.batch.run import Settings
    from align.io.write import write_corpus
    start = time.perf_counter()
    ray_engine.connect(None, 2)
    info["init"] = time.perf_counter() - start
    import ray.data

    class Aligner:
        def __init__(self):
            self.worker = ray_engine.Worker(Settings(), None, None, None, os.getcwd())

        def __call__(self, batch):
            items = [(int(i), pickle.loads(j)) for i, j in zip(batch["index"], batch["job"])]
            rows = self.worker.run(items)
            return {"index": [i for i, _ in rows], "result": [pickle.dumps(res) for _, res in rows]}

    start = time.perf_counter()
    jobs = plan(discover(folder), Path(folder), Path(out), None)
    ds = ray.data.from_items([{"index": i, "job": pickle.dumps(j)} for i, j in enumerate(jobs)])
    ds = ds.map_batches(Aligner, batch_size=1, concurrency=2, num_cpus=1)
    results = {int(row["index"]): pickle.loads(row["result"]) for row in ds.iter_rows()}
    items = [(p, jobs[i].source) for i in sorted(results) if results[i].alignment
             for p in results[i].alignment.pairs]
    write_corpus(items, Path(out), ["tmx", "csv"])
    info["run"] = time.perf_counter() - start
    ray.shutdown()
    print(json.dumps({**info, "documents": len(results), "sentences": sum(r.sentences for r in results.values()),
                      "failed": sum(1 for r in results.values() if r.error), "import": 0.0}))
    sys.exit(0)
tot = {"documents": len(r.documents), "failed": len(r.failed),
       "sentences": sum((d.zh_sentences or 0) + (d.en_sentences or 0) for d in r.documents)}
print(json.dumps({**info, **tot}))
"""


def run(config: str, folder: Path, out: Path) -> dict:
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    env.pop("RAY_ADDRESS", None)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, config, str(folder), str(out)], capture_output=True,
                          text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{config} failed:\n{proc.stderr[-3000:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["wall"] = wall
    return data


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=100, help="how many documents (default 100)")
    ap.add_argument("--ray-data", action="store_true", help="also Ray Data's map_batches (needs ray[data])")
    args = ap.parse_args()
    configs = ["local-j1", "local-j2", "ray"] + (["ray-data"] if args.ray_data else [])
    with tempfile.TemporaryDirectory(prefix="align-scale-bench-") as tmp:
        folder = Path(tmp) / "releases"
        folder.mkdir()
        make_documents(folder, args.docs)
        print(f"{args.docs} documents; {os.cpu_count()} CPU cores; load average {os.getloadavg()[0]:.1f} "
              "at the start", flush=True)
        results = {}
        for cfg in configs:
            results[cfg] = run(cfg, folder, Path(tmp) / cfg)
            results[cfg]["same"] = files(Path(tmp) / cfg) == files(Path(tmp) / "local-j1")
            print(f"  {cfg}: {results[cfg]['wall']:.1f} s (load average now {os.getloadavg()[0]:.1f})", flush=True)

    local2 = (results["local-j2"]["run"] - results["local-j2"]["actors"]) / args.docs
    head = ("run", "docs", "seconds", "docs/s", "docs/s after start-up", "start-up s", "extra s/doc", "same bytes")
    table = []
    for cfg, r in results.items():
        docs = r["documents"] - r["failed"]
        startup = r.get("init", 0.0) + r.get("actors", 0.0)
        total = r["run"] + r.get("init", 0.0)  # ray: ray.init once, then the batch (its actors load the model)
        steady = r["run"] - r.get("actors", 0.0)
        extra = f"{steady / args.docs - local2:+.3f}" if cfg.startswith("ray") else "-"
        table.append((cfg, str(docs), f"{total:.1f}", f"{docs / total:.2f}", f"{docs / steady:.2f}",
                      f"{startup:.1f}" if startup else "-", extra, "yes" if r["same"] else "NO"))
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(head)]
    print()
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for row in table:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    ray_info = results["ray"]
    print(f"\nRay start-up: ray.init {ray_info['init']:.1f} s + 2 actors loading the encoder {ray_info['actors']:.1f} s; "
          f"an empty actor call {ray_info['call_ms']:.2f} ms; a document's result {ray_info['result_kib']:.0f} KiB "
          f"pickled. 'extra s/doc': seconds per document after start-up, less local-j2's ({local2:.3f}). "
          "Start-up: local, loading the encoder; ray-data, ray.init only (its actors load inside its run).")


if __name__ == "__main__":
    main()
