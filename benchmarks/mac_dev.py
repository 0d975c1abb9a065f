"""MAC-Dev through the real pipeline: align, write JSONL, score.

    python benchmarks/mac_dev.py [--data ../shared/eval/mac-dev] [--out OUT] [--model M]

Aligns every pre-split document (``src/NNN`` Chinese, ``tgt/NNN`` English, one
sentence per line) exactly as ``align SRC TGT -o OUT --format jsonl --presplit``
does (``align.api.align_path``), then prints strict/lax precision, recall and F1
from ``align.evaluate`` and, as a cross-check, from ``../shared/tools/score.py``
(the JSONL is converted to ``.align`` for it), plus the wall time.

The helpers here (``load_dataset``, ``score_py``) are shared with ``quality.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from align.evaluate import read_beads  # noqa: E402


def dataset_dir(name: str) -> Path:
    return SHARED / "eval" / name


def load_dataset(path: Path):
    """[(name, zh lines, en lines, gold beads)] of a dataset folder with src/, tgt/, gold/."""
    docs = []
    for src in sorted((path / "src").iterdir()):
        if src.name.startswith("."):
            continue
        zh = src.read_text(encoding="utf-8").splitlines()
        en = (path / "tgt" / src.name).read_text(encoding="utf-8").splitlines()
        docs.append((src.name, zh, en, read_beads(path / "gold" / f"{src.name}.align")))
    return docs


def jsonl_to_align(jsonl_dir: Path, align_dir: Path) -> None:
    """Our JSONL outputs as vecalign ``.align`` files (for score.py)."""
    align_dir.mkdir(parents=True, exist_ok=True)
    for f in sorted(jsonl_dir.glob("*.jsonl")):
        lines = []
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                b = json.loads(line)
                lines.append(f"{b['zh_ids']}:{b['en_ids']}")
        (align_dir / (f.stem + ".align")).write_text("\n".join(lines) + "\n", encoding="utf-8")


def score_py(gold_dir: Path, align_dir: Path) -> dict | None:
    """score.py's index metric on two folders of .align files (None when score.py is absent)."""
    tool = SHARED / "tools" / "score.py"
    if not tool.exists():
        return None
    out = subprocess.run([sys.executable, str(tool), "--gold", str(gold_dir), "--test", str(align_dir), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=dataset_dir("mac-dev"))
    ap.add_argument("--out", type=Path, default=None, help="where the JSONL goes (default: a temporary folder)")
    ap.add_argument("--model", default=None, help="encoder (default: the embedded USE)")
    args = ap.parse_args(argv)
    if not (args.data / "src").is_dir():
        sys.exit(f"no dataset at {args.data} (expected src/, tgt/, gold/)")

    from align.api import align_path
    from align.evaluate import evaluate_paths

    tmp = tempfile.TemporaryDirectory()
    out = args.out or Path(tmp.name) / "jsonl"
    t0 = time.perf_counter()
    docs = sorted(p.name for p in (args.data / "src").iterdir() if not p.name.startswith("."))
    n_zh = n_en = 0
    for name in docs:
        report = align_path(args.data / "src" / name, args.data / "tgt" / name, out_dir=out,
                            formats=["jsonl"], presplit=True, model=args.model)
        al = report.documents[0].alignment
        n_zh, n_en = n_zh + len(al.doc.zh), n_en + len(al.doc.en)
    wall = time.perf_counter() - t0

    ours = evaluate_paths(args.data / "gold", out)
    align_dir = Path(tmp.name) / "align"
    jsonl_to_align(out, align_dir)
    ref = score_py(args.data / "gold", align_dir)

    print(f"{args.data.name}: {len(docs)} documents, {n_zh} + {n_en} sentences, wall {wall:.1f} s")
    print(f"{'':10} {'P':>7} {'R':>7} {'F1':>7}")
    for kind in ("strict", "lax"):
        s = ours[kind]
        print(f"{kind:10} {s['precision']:7.4f} {s['recall']:7.4f} {s['f1']:7.4f}")
    if ref is None:
        print("score.py: not found (../shared/tools/score.py), cross-check skipped")
    else:
        same = all(abs(ref[f"{k}_{kind}"] - ours[kind][k]) < 1e-12
                   for kind in ("strict", "lax") for k in ("precision", "recall", "f1"))
        print(f"score.py: strict F1 {ref['f1_strict']:.4f}, lax F1 {ref['f1_lax']:.4f} — "
              f"{'identical' if same else 'DIFFERENT'} to align.evaluate")
        if not same:
            sys.exit(1)
    if args.out:
        print(f"JSONL in {out}")


if __name__ == "__main__":
    main()
