#!/usr/bin/env python3
"""Our sentence splitter against MAC-Dev's gold sentences, on the raw text.

    python benchmarks/splitting.py              # one table per language
    python benchmarks/splitting.py --examples 5 # and that many examples of each kind of difference

MAC-Dev's ``raw/NNN.zh.txt`` / ``raw/NNN.en.txt`` are its gold sentences (``src/NNN``,
``tgt/NNN``: pyltp for Chinese, the Moses splitter for English) joined back into one paragraph.
The file is read as ``align FILE`` reads it (``align.io.document.load_document``) and its
sentence ends are compared with the gold ones, as positions in the text without its spaces:

* **missed** — a gold sentence end that we do not split at;
* **extra** — a split of ours that the gold does not have.

Each difference is keyed by the mark it falls after (``；``, ``：``, ``”``, ``.``, …) and the
character that follows, so that a convention (the gold splits at every ``：“``) can be told from
an error of ours (a stop we do not see). ``../shared`` is needed; nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAC = ROOT.parent / "shared" / "eval" / "mac-dev"
sys.path.insert(0, str(ROOT))


def _ends(sentences: list[str]) -> tuple[str, set[int]]:
    """The text without spaces, and the positions (in it) where a sentence ends, the last aside."""
    flat, ends, k = [], set(), 0
    for s in sentences:
        t = "".join(s.split())
        flat.append(t)
        k += len(t)
        ends.add(k)
    ends.discard(k)
    return "".join(flat), ends


def _key(text: str, at: int) -> str:
    """The mark before a boundary (a closing quote with the stop before it) and the next character's kind."""
    before = text[max(0, at - 2):at]
    if before[-1:] not in "”’\"'」』）)":
        before = before[-1:]
    nxt = text[at:at + 1]
    kind = "A" if nxt.isupper() else "a" if nxt.isalpha() and nxt.isascii() else "字" if "\u3400" <= nxt <= "\u9fff" \
        else nxt
    return f"{before}|{kind}"


def compare(lang: str, examples: int):
    from align.io.document import load_document

    counts = {"gold": 0, "ours": 0, "same": 0}
    missed, extra = Counter(), Counter()
    shown: dict[tuple[str, str], list[str]] = defaultdict(list)
    docs = sorted(p.name for p in (MAC / "src").iterdir() if not p.name.startswith("."))
    for d in docs:
        gold_lines = (MAC / ("src" if lang == "zh" else "tgt") / d).read_text(encoding="utf-8").splitlines()
        doc = load_document(MAC / "raw" / f"{d}.zh.txt", MAC / "raw" / f"{d}.en.txt")
        ours = [s.text for s in (doc.zh if lang == "zh" else doc.en)]
        g_text, g_ends = _ends([s for s in gold_lines if s.strip()])
        o_text, o_ends = _ends(ours)
        if g_text != o_text:
            print(f"{d} {lang}: the text differs from the gold's ({len(o_text)} vs {len(g_text)} characters); "
                  "positions past the first difference are not comparable", file=sys.stderr)
        counts["gold"] += len(g_ends)
        counts["ours"] += len(o_ends)
        counts["same"] += len(g_ends & o_ends)
        for kind, got, tally in (("missed", g_ends - o_ends, missed), ("extra", o_ends - g_ends, extra)):
            for at in sorted(got):
                key = _key(g_text, at)
                tally[key] += 1
                if len(shown[kind, key]) < examples:
                    shown[kind, key].append(f"{d}: …{g_text[max(0, at - 30):at]} ‖ {g_text[at:at + 25]}…")
    return counts, missed, extra, shown


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=0, help="examples printed per kind of difference")
    args = ap.parse_args(argv)
    if not (MAC / "raw").is_dir():
        print(f"skipped: no {MAC / 'raw'}")
        return
    for lang in ("zh", "en"):
        counts, missed, extra, shown = compare(lang, args.examples)
        g, o, s = counts["gold"], counts["ours"], counts["same"]
        print(f"\n{lang}: gold sentence ends {g}, ours {o}, the same {s} "
              f"(recall {s / max(g, 1):.3f}, precision {s / max(o, 1):.3f})")
        print(f"{'after|next':<12} {'missed':>7} {'extra':>7}")
        for key in sorted(set(missed) | set(extra), key=lambda k: -(missed[k] + extra[k])):
            print(f"{key:<12} {missed[key]:7d} {extra[key]:7d}")
        for (kind, key), lines in sorted(shown.items()):
            if lines and kind in ("missed", "extra"):
                print(f"  {kind} {key}:")
                for line in lines:
                    print(f"    {line}")


if __name__ == "__main__":
    main()
