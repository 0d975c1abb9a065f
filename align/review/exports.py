"""Exporting a review: the corrected memory as TMX, CSV, TSV, JSONL or XLSX, through align.io.write.

Each pair carries its review status (TMX prop ``x-status``, a ``status`` column elsewhere);
``confirmed_only`` keeps the pairs a reviewer confirmed and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from ..io.write import OutputOptions, TmxOptions, atomic_write, check_outputs, render
from .store import Review, load

DEFAULT_FORMATS = ("tmx", "csv")


def check_formats(formats) -> list[str]:
    """The formats asked for ("TMX", " csv"), checked as every output's are (``OutputOptions``)."""
    return OutputOptions([f.strip().lower() for f in formats if f and f.strip()]).formats


def export_bytes(review: Review, fmt: str, confirmed_only: bool = False, tmx: TmxOptions | None = None) -> bytes:
    """One export file's bytes."""
    source = Path(review.source).name if review.source else ""
    return render(check_formats([fmt])[0], [(p, source) for p in review.pairs(confirmed_only)], tmx)


def export(path: str | Path, formats=DEFAULT_FORMATS, out_dir: str | Path | None = None, *,
           confirmed_only: bool = False, tmx: TmxOptions | None = None) -> list[Path]:
    """Write the corrected memory of the review file ``path`` (NAME.align.json) as OUT_DIR/NAME.FORMAT
    (default: beside it); returns the paths written."""
    path = Path(path)
    review = load(path)
    formats = check_formats(formats)
    targets = check_outputs(Path(out_dir) if out_dir else path.parent, review.name, formats, [path])
    for fmt, target in zip(formats, targets):
        atomic_write(target, export_bytes(review, fmt, confirmed_only, tmx))
    return targets
