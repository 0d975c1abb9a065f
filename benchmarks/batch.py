#!/usr/bin/env python3
"""Batch run vs one ``align`` process per document: documents/s, sentences/s, peak memory.

Generates 100 documents into a temporary folder (never into the repository):

* 4 from ``data/``: the sample release as UTF-8 text, as GB18030 text, as a web
  page (``sample-press.html``) and as a ``NAME.zh.docx`` + ``NAME.en.docx`` pair;
* 96 slices of the MAC-Dev raw bilingual files (``../shared/eval/mac-dev/raw/
  *.bilingual.txt``, 16 slices each, sliced at sentence ends, the English cut at
  the same fraction as the Chinese): bilingual ``.txt`` files, ``NAME.zh.txt`` +
  ``NAME.en.txt`` pairs and ``zh/NAME.txt`` + ``en/NAME.txt`` folders, in turn.

Then it times, each in a fresh process, with the peak memory (PSS of the whole
process tree, sampled every 0.1 s, so shared pages of forked workers count once):

* ``j1t1``:   ``align DIR -j 1``: one process, the encoder with 1 BLAS thread (what batches use);
* ``j2``:     ``align DIR -j 2``: 2 worker processes, 1 BLAS thread each;
* ``auto``:   ``align DIR``: the default, 2 workers when 2 cores are free, else 1;
* ``j1t2``:   one process, the encoder with 2 BLAS threads (the single-file default; slow on
  busy cores, so not run unless asked);
* ``perdoc``: one ``align FILE`` (or ``align ZH EN``) process per document, on the
  first ``--baseline-docs`` documents (default 20; 100 for all of them).

    python benchmarks/batch.py                          # j1t1, j2, auto, perdoc
    python benchmarks/batch.py --baseline-docs 100      # the per-document baseline on all 100
    python benchmarks/batch.py --configs j1t1,j2,j1t2   # some configurations, in this order
    python benchmarks/batch.py --repeat 2               # every batch configuration twice, interleaved

The machine is shared: rerun when other jobs compete for its cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "eval" / "mac-dev" / "raw"
SLICES = 16

# ------------------------------------------------------------------ the documents

_ZH_END = re.compile(r"(?<=[。！？!?…])(?![”’」』）)\"])|(?<=[。！？!?][”’」』）\"])")
_EN_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+")


def _sentences_zh(text: str) -> list[str]:
    return [s for s in _ZH_END.split(text) if s.strip()]


def _sentences_en(text: str) -> list[str]:
    out, start = [], 0
    for m in _EN_END.finditer(text):
        out.append(text[start:m.end()].strip())
        start = m.end()
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


def _slices(items: list[str], k: int) -> list[list[str]]:
    n = len(items)
    return [items[n * i // k: n * (i + 1) // k] for i in range(k)]


def make_documents(folder: Path) -> int:
    """Write the 100 documents; returns how many."""
    import docx  # python-docx

    count = 0
    text = (ROOT / "data" / "sample-press.txt").read_text(encoding="utf-8")
    (folder / "sample.txt").write_text(text, encoding="utf-8")
    (folder / "sample-gb.txt").write_bytes(text.encode("gb18030"))
    (folder / "sample-web.html").write_bytes((ROOT / "data" / "sample-press.html").read_bytes())
    zh_part, en_part = text.split("###", 1)
    for lang, part in (("zh", zh_part), ("en", en_part)):
        d = docx.Document()
        for p in part.split("\n"):
            if p.strip():
                d.add_paragraph(p.strip())
        d.save(str(folder / f"sample-word.{lang}.docx"))
    count += 4
    if not RAW.exists():
        raise SystemExit(f"{RAW} is not here: the benchmark needs MAC-Dev's raw files")
    (folder / "zh").mkdir()
    (folder / "en").mkdir()
    for raw in sorted(RAW.glob("*.bilingual.txt")):
        lines = [line for line in raw.read_text(encoding="utf-8").split("\n") if line.strip()]
        zh, en = _sentences_zh(lines[0]), _sentences_en(lines[-1])
        for i, (zs, es) in enumerate(zip(_slices(zh, SLICES), _slices(en, SLICES))):
            name = f"mac{raw.name[:3]}-{i:02d}"
            zh_text, en_text = "".join(zs) + "\n", " ".join(es) + "\n"
            layout = count % 3
            if layout == 0:
                (folder / f"{name}.txt").write_text(zh_text + "\n" + en_text, encoding="utf-8")
            elif layout == 1:
                (folder / f"{name}.zh.txt").write_text(zh_text, encoding="utf-8")
                (folder / f"{name}.en.txt").write_text(en_text, encoding="utf-8")
            else:
                (folder / "zh" / f"{name}.txt").write_text(zh_text, encoding="utf-8")
                (folder / "en" / f"{name}.txt").write_text(en_text, encoding="utf-8")
            count += 1
    return count


# ------------------------------------------------------------------ measuring

def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def _pss_kib(pid: int) -> int:
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def timed(cmd: list[str], env=None) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run cmd; (wall seconds, peak PSS of its process tree in MiB, the completed process)."""
    peak = [0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _pss_kib(proc.pid))
            stop.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    return wall, peak[0] // 1024, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


_CHILD = """
import sys, json
import align
from align.core import embed
jobs, threads, folder, out, report = int(sys.argv[1]) or None, int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
enc = None  # the batch's own: one BLAS thread per worker
if threads != 1:
    enc = embed.USEEncoder(threads=threads)  # instead of the batch's one-thread encoder (one model in memory)
    enc.encode(["warm-up"])
r = align.align_path(folder, out_dir=out, formats=["tmx", "csv"], jobs=jobs, force=True, json_report=report,
                     encoder=enc)
print(json.dumps({"failed": len(r.failed), "workers": r.workers}))
"""


def run_batch(folder: Path, out: Path, jobs: int, threads: int) -> dict:
    report = out / "report.json"
    wall, mem, proc = timed([sys.executable, "-c", _CHILD, str(jobs), str(threads), str(folder), str(out), str(report)])
    if proc.returncode != 0:
        raise SystemExit(f"batch run failed:\n{proc.stderr[-3000:]}")
    data = json.loads(report.read_text(encoding="utf-8"))
    return {"wall": wall, "mem": mem, "report": data}


def run_per_document(docs: list[dict], out: Path) -> dict:
    align = Path(sys.executable).with_name("align")
    cmd0 = [str(align)] if align.exists() else [sys.executable, str(ROOT / "cli.py")]
    wall, mem, failed = 0.0, 0, 0
    for d in docs:
        wall_d, mem_d, proc = timed(cmd0 + d["inputs"] + ["-o", str(out), "--format", "tmx,csv", "-q"])
        wall += wall_d
        mem = max(mem, mem_d)
        failed += proc.returncode != 0
    return {"wall": wall, "mem": mem, "failed": failed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline-docs", type=int, default=20, help="documents for the per-document baseline")
    ap.add_argument("--configs", default="j1t1,j2,auto,perdoc", help="which runs (comma list)")
    ap.add_argument("--repeat", type=int, default=1, help="run each batch configuration this many times")
    ap.add_argument("--keep", help="generate the documents into this folder and keep them")
    args = ap.parse_args()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]

    with tempfile.TemporaryDirectory(prefix="align-batch-bench-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp) / "releases"
        folder.mkdir(parents=True, exist_ok=True)
        n_docs = make_documents(folder)
        print(f"{n_docs} documents in {folder}; {os.cpu_count()} CPU cores; load average "
              f"{os.getloadavg()[0]:.1f} at the start", flush=True)
        rows, reference = [], None
        known = {"j1t2": (1, 2), "j1t1": (1, 1), "j2": (2, 1), "auto": (0, 1)}
        for cfg in [c for _ in range(args.repeat) for c in configs if c in known]:
            jobs, threads = known[cfg]
            r = run_batch(folder, Path(tmp) / f"out-{cfg}", jobs, threads)
            tot = r["report"]["totals"]
            reference = reference or r["report"]
            workers = r["report"]["workers"]
            label = (f"batch{' -j auto →' if not jobs else ','} {workers} process{'es' if workers > 1 else ''} × "
                     f"{threads} thread{'s' if threads > 1 else ''}")
            rows.append((label, tot["documents"] - tot["failed"], tot["sentences"], r["wall"], r["mem"]))
            print(f"  {label}: {r['wall']:.1f} s (load average now {os.getloadavg()[0]:.1f})", flush=True)
        if "perdoc" in configs:
            if reference is None:
                reference = run_batch(folder, Path(tmp) / "out-ref", 2, 1)["report"]
            docs = [d for d in reference["documents"] if d["status"] == "aligned"][: args.baseline_docs]
            r = run_per_document(docs, Path(tmp) / "out-perdoc")
            sentences = sum(d["zh_sentences"] + d["en_sentences"] for d in docs)
            rows.append((f"one process per document ({len(docs)} docs)", len(docs) - r["failed"], sentences,
                         r["wall"], r["mem"]))

    print()
    head = ("run", "docs", "sentences", "seconds", "docs/s", "sentences/s", "vs per-doc", "peak MiB")
    base = next((r for r in rows if r[0].startswith("one process")), None)
    base_rate = base[1] / base[3] if base else None
    table = []
    for label, docs, sents, wall, mem in rows:
        rate = docs / wall
        ratio = f"{rate / base_rate:.1f}×" if base_rate else "-"
        table.append((label, str(docs), str(sents), f"{wall:.1f}", f"{rate:.2f}", f"{sents / wall:.1f}", ratio,
                      str(mem)))
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    for r in table:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    main()
