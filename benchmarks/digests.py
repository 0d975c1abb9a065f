#!/usr/bin/env python3
"""Digests of the outputs: did a change alter what `align` writes?

    python benchmarks/digests.py > before.txt     # on the old code
    python benchmarks/digests.py > after.txt      # on the new code
    diff before.txt after.txt                     # no lines: byte-identical outputs

Aligns, through the public ``align.align_path`` (what the command does), with
SOURCE_DATE_EPOCH set and formats jsonl, tmx and csv, in both modes (default and
``--monotonic``):

* ``data/`` samples (the sample release as text and HTML);
* ``../shared/samples/*.txt`` (real releases, if present);
* MAC-Dev pre-split (``src/NNN`` + ``tgt/NNN``) and raw (``raw/NNN.bilingual.txt``);
* the reorder variants and controls of ``benchmarks/reorder.py`` (``--variants``, default 2).

One line per output file: ``set/mode/file sha256``. Embeddings come from a disk cache
(``--cache``) so that a rerun measures the aligner, not the encoder's batching.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SHARED = ROOT.parent / "shared"
MAC = SHARED / "eval" / "mac-dev"


def inputs(variants: int, tmp: Path):
    """(set name, [(label, path, en path or None, presplit)])."""
    sets = [("data", [(p.stem + p.suffix.replace(".", "-"), p, None, False)
                      for p in sorted((ROOT / "data").iterdir()) if p.suffix in (".txt", ".html")])]
    samples = SHARED / "samples"
    if samples.is_dir():
        sets.append(("samples", [(p.stem, p, None, False) for p in sorted(samples.glob("*.txt"))]))
    if MAC.is_dir():
        docs = sorted(p.name for p in (MAC / "src").iterdir() if not p.name.startswith("."))
        sets.append(("mac-presplit", [(d, MAC / "src" / d, MAC / "tgt" / d, True) for d in docs]))
        sets.append(("mac-raw", [(d, MAC / "raw" / f"{d}.bilingual.txt", None, False) for d in docs]))
        if variants:
            import reorder

            made = []
            for clean in (False, True):
                for d in reorder.DOCS:
                    for k in range(variants):
                        v = reorder.make_variant(d, k, 13, clean=clean)
                        p = tmp / "in" / f"{v.name}{'-control' if clean else ''}.txt"
                        p.parent.mkdir(parents=True, exist_ok=True)
                        p.write_text(v.text(), encoding="utf-8")
                        made.append((p.stem, p, None, False))
            sets.append(("reorder", made))
    return sets


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", type=int, default=2, help="reorder variants per MAC-Dev document (0: none)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "zhen-align-digest-cache")
    args = ap.parse_args(argv)
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"

    import align
    from reorder import CachedEncoder

    enc = CachedEncoder(args.cache)
    with tempfile.TemporaryDirectory(prefix="digests-") as t:
        tmp = Path(t)
        for set_name, items in inputs(args.variants, tmp):
            for mode, mono in (("default", False), ("monotonic", True)):
                for label, path, en_path, presplit in items:
                    out = tmp / "out" / set_name / mode / label
                    align.align_path(path, en_path, out_dir=out, formats=["jsonl", "tmx", "csv"],
                                     presplit=presplit, monotonic=mono, encoder=enc)
                    for f in sorted(out.iterdir()):
                        digest = hashlib.sha256(f.read_bytes()).hexdigest()[:16]
                        print(f"{set_name}/{mode}/{label}/{f.suffix[1:]} {digest}", flush=True)
                enc.save()


if __name__ == "__main__":
    main()
