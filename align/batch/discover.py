"""Find the documents of a batch and plan where their outputs go.

* ``discover(folder, recursive)`` — the documents of a folder: ``NAME.zh.* + NAME.en.*``
  (also ``_zh``/``-zh``, and tags like ``NAME.zh-CN.docx``), ``zh/NAME + en/NAME``
  (sibling language folders), and every other supported file alone as one bilingual
  document. ``read_manifest(tsv)`` — explicit ``ZH_PATH<TAB>EN_PATH`` pairs.
* ``plan(docs, ...)`` — one ``Job`` per document, with output names that never collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import read
from ..io.encoding import decode
from ..io.naming import doc_name, language_tag, stem
from ..io.write import CORPUS

SUFFIXES = read.SUFFIXES
_ZH_DIRS = {"zh", "zh-cn", "zh_cn", "zh-hans", "zh-hant", "zh-tw", "zh_tw", "zh-hk", "cn", "chs", "cht", "chinese"}
_EN_DIRS = {"en", "en-us", "en_us", "en-gb", "en_gb", "eng", "english"}


@dataclass
class Job:
    """One document to align: its input file(s) and where its outputs go."""

    name: str  # output file stem: OUT/NAME.tmx
    inputs: list[Path]  # one bilingual file, or the Chinese and the English file
    out_dir: Path | None = None  # None: beside the (first) input
    source: str = ""  # how the corpus names it (path relative to the batch's folder)

    @property
    def target(self) -> Path:
        return self.out_dir if self.out_dir is not None else _home(self.inputs[0], None)

    def outputs(self, formats) -> list[Path]:
        return [self.target / f"{self.name}.{fmt}" for fmt in formats]


def _files(folder: Path, recursive: bool) -> list[Path]:
    """Supported, visible files of a folder (and its visible subfolders when recursive)."""
    out = []
    try:
        entries = sorted(folder.iterdir())
    except OSError as e:
        raise InputError(f"{folder}: cannot list the folder ({e.strerror or e})") from None
    for p in entries:
        if p.name.startswith((".", "~$")):  # hidden files, Word lock files
            continue
        if p.is_dir():
            if recursive:
                out += _files(p, True)
        elif p.is_file() and p.suffix.lower() in SUFFIXES:
            out.append(p)
    return out


def _lang_dirs(folder: Path) -> tuple[Path, Path] | None:
    """The ``zh/`` and ``en/`` subfolders of a folder, when it has both."""
    try:
        subs = sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return None
    zh = next((p for p in subs if p.name.lower() in _ZH_DIRS), None)
    en = next((p for p in subs if p.name.lower() in _EN_DIRS), None)
    return (zh, en) if zh and en else None


def _pair_by_name(files: list[Path]) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """NAME.zh.* + NAME.en.* pairs (same folder); the files left over."""
    groups: dict[tuple[Path, str], dict[str, list[Path]]] = {}
    for p in files:
        tagged = language_tag(p)
        if tagged:
            groups.setdefault((p.parent, tagged[0]), {}).setdefault(tagged[1], []).append(p)
    pairs, paired = [], set()
    for langs in groups.values():
        zhs, ens = langs.get("zh", []), langs.get("en", [])
        if len(zhs) == 1 and len(ens) == 1:
            pairs.append((zhs[0], ens[0]))
            continue
        for z in zhs:  # several of a kind (NAME.zh.txt and NAME.zh.docx): pair by suffix
            e = [e for e in ens if e.suffix.lower() == z.suffix.lower() and e not in paired]
            if e:
                pairs.append((z, e[0]))
                paired.add(e[0])
    used = {p for pair in pairs for p in pair}
    return pairs, [p for p in files if p not in used]


def _pair_lang_dirs(zh_dir: Path, en_dir: Path, recursive: bool) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """zh/REL/NAME.* + en/REL/NAME.* pairs; the unmatched files of both folders."""
    zh_files, en_files = _files(zh_dir, recursive), _files(en_dir, recursive)

    def key(p: Path, root: Path):
        return (p.parent.relative_to(root), stem(p))

    en_by: dict[Any, list[Path]] = {}
    for e in en_files:
        en_by.setdefault(key(e, en_dir), []).append(e)
    pairs, used = [], set()
    for z in zh_files:
        cands = [e for e in en_by.get(key(z, zh_dir), []) if e not in used]
        if len(cands) > 1:
            cands = [e for e in cands if e.suffix.lower() == z.suffix.lower()] or cands
        if cands:
            pairs.append((z, cands[0]))
            used.add(cands[0])
    paired = {p for pair in pairs for p in pair}
    return pairs, [p for p in zh_files + en_files if p not in paired]


def discover(folder: str | Path, recursive: bool = False) -> list[tuple[Path, Path | None]]:
    """The documents in a folder, as (first file, second file or None), sorted.

    Pairs: ``NAME.zh.* + NAME.en.*`` (separators ``.``, ``_``, ``-``; a region/script tag may
    follow: ``NAME.zh-CN.docx``), and ``zh/NAME.* + en/NAME.*`` in sibling language folders
    (``zh``, ``zh-CN``, ``en``, ``en-US``, ...). Every other .txt/.docx/.html file is one
    bilingual document. ``recursive`` also walks subfolders (hidden ones are skipped).
    """
    folder = Path(folder)
    docs: list[tuple[Path, Path | None]] = []

    def visit(d: Path) -> None:
        langs = _lang_dirs(d)
        skip = set(langs) if langs else set()
        files = _files(d, False)
        if langs:
            pairs, rest = _pair_lang_dirs(langs[0], langs[1], recursive)
            docs.extend(pairs)
            files += rest
        pairs, rest = _pair_by_name(files)
        docs.extend(pairs)
        docs.extend((p, None) for p in rest)
        if recursive:
            for sub in sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")):
                if sub not in skip:
                    visit(sub)

    visit(folder)
    return sorted(docs, key=lambda d: (str(d[0]), str(d[1] or "")))


def read_manifest(path: str | Path) -> list[tuple[Path, Path | None]]:
    """Documents listed in a TSV manifest: ``ZH_PATH<TAB>EN_PATH`` per line (either order; the
    languages are detected), or one path for a bilingual file. Paths are relative to the
    manifest's folder; blank lines, ``#`` comments and a ``zh<TAB>en`` header are ignored."""
    path = Path(path)
    try:
        text = decode(path.read_bytes(), str(path))
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read the manifest ({e.strerror or e})") from None
    docs: list[tuple[Path, Path | None]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        cols = [c.strip() for c in line.split("\t")]
        cols = [c for c in cols if c]
        if not cols or cols[0].startswith("#"):
            continue
        if not docs and cols[0].lower() in ("zh", "chinese", "source", "zh_path", "zh_file") \
                and not (path.parent / cols[0]).exists():
            continue  # a header row
        if len(cols) > 2:
            raise InputError(f"{path}:{n}: expected ZH_PATH<TAB>EN_PATH (or one path), got {len(cols)} columns")
        first = path.parent / cols[0]
        docs.append((first, path.parent / cols[1] if len(cols) == 2 else None))
    if not docs:
        raise InputError(f"{path}: the manifest lists no documents")
    return docs


def plan(docs: list[tuple[Path, Path | None]], root: Path | None, out_dir: Path | None,
         corpus_dir: Path | None) -> list[Job]:
    """Jobs with output names that never collide: in each output folder a name is used once,
    and never ``corpus`` in the corpus folder (colliding names get their file's suffix, then -2, -3)."""
    jobs = []
    for first, second in docs:
        rel = _rel(first, root)
        home = _home(first, second)
        if out_dir is None:
            target = home
        elif root is not None and _within(home, root):
            rel_home = _rel(home, root) if home.resolve() != root.resolve() else ""
            target = Path(out_dir) / rel_home
        else:
            target = Path(out_dir)
        name = doc_name(first)
        source = rel if not second else f"{rel} + {_rel(second, root)}"
        jobs.append(Job(name, [first] + ([second] if second else []), target, source))
    corpus_key = (corpus_dir.resolve(), CORPUS) if corpus_dir is not None else None

    def key(j: Job):
        return (j.target.resolve(), j.name.lower())

    counts: dict[Any, int] = {}
    for j in jobs:
        counts[key(j)] = counts.get(key(j), 0) + 1
    for j in jobs:
        if counts[key(j)] > 1 or key(j) == corpus_key:
            j.name = j.inputs[0].name  # press.docx → outputs press.docx.tmx
    seen: set[Any] = set()
    for j in jobs:
        base, n = j.name, 1
        while key(j) in seen or key(j) == corpus_key:
            n += 1
            j.name = f"{base}-{n}"
        seen.add(key(j))
    return jobs


def _within(p: Path, root: Path) -> bool:
    try:
        p.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _rel(p: Path, root: Path | None) -> str:
    if root is not None and _within(p, root):
        return p.resolve().relative_to(root.resolve()).as_posix()
    return p.name


def _home(first: Path, second: Path | None) -> Path:
    """The folder a document's outputs go to by default: beside its file, and for zh/x.txt +
    en/x.txt beside the zh/ and en/ folders."""
    if second is not None and first.parent != second.parent and first.parent.parent == second.parent.parent:
        return first.parent.parent
    return first.parent
