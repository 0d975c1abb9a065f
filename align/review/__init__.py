"""Review an alignment in the browser, then export the corrected memory (``align review``, ``align export``).

* ``prepare(path)`` — a document is aligned and its review file NAME.align.json written (beside
  it, or in ``out_dir``); a review file is opened as it is. Returns the review file's path.
* ``serve(path, port=None, open_browser=True)`` — that, then a local web server on 127.0.0.1
  for the page until Ctrl-C. The page's URL (with a random per-run token) is passed to ``on_url``.
* ``make_app(review_path, token)`` — the Starlette app alone (for tests and embedding).
* ``export(review_path, formats, out_dir, confirmed_only=False)`` — write NAME.tmx, NAME.csv, …

The modules: ``store`` (the file format, the edits and their checks), ``server`` (the app),
``exports`` (the corrected memory through align.io.write); the page is in ``static/``.
"""

from __future__ import annotations

import errno
import signal
import socket
import threading
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InputError, OutputError
from .exports import export
from .server import make_app, new_token
from .store import from_alignment, is_review_file, load, review_path, same_text, save

__all__ = ["prepare", "serve", "make_app", "export", "bind", "Prepared"]
HOST = "127.0.0.1"


@dataclass
class Prepared:
    """The review file to serve, and whether it was there already (corrections kept) or just made."""

    path: Path
    resumed: bool = False
    created: bool = False


def prepare(path: str | Path, out_dir: str | Path | None = None, *, model: str | None = None,
            device: str | None = None, encoder=None, monotonic: bool = False) -> Prepared:
    """The review file for ``path``: itself if it is NAME.align.json; else the document is aligned
    and OUT_DIR/NAME.align.json written. An existing review file of the same text is kept (with its
    corrections); one of another text is never overwritten (``OutputError``)."""
    from ..core.embed import load_encoder
    from ..core.options import AlignOptions
    from ..io.document import load_document
    from ..pipeline import align_document

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; review one document (or its .align.json) at a time")
    if is_review_file(path):
        load(path)  # fails now, with its reason, if the file is not usable
        return Prepared(path, resumed=True)
    doc = load_document(path)
    folder = Path(out_dir) if out_dir else path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{folder}: cannot create the output folder ({e.strerror or e})") from None
    target = review_path(doc.name, folder)
    if target.exists():
        try:
            existing = load(target)
        except InputError as e:
            raise OutputError(f"{target}: exists and is not a usable review file ({e}); move it away") from None
        if same_text(existing, doc):
            return Prepared(target, resumed=True)
        raise OutputError(f"{target}: holds the review of another text; move it away, or open it directly")
    alignment = align_document(doc, AlignOptions(monotonic=monotonic), encoder or load_encoder(model, device))
    save(from_alignment(alignment), target)
    return Prepared(target, created=True)


def bind(port: int | None = None) -> socket.socket:
    """A listening socket on 127.0.0.1 (``port``, or a free one); a port in use is an ``InputError``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port or 0))
        sock.listen(128)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise InputError(f"port {port} is already in use; choose another --port, or leave it out") from None
        raise InputError(f"cannot listen on {HOST}:{port} ({e.strerror or e})") from None
    return sock


def url_of(sock: socket.socket, token: str) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}/?token={token}"


def serve(path: str | Path, port: int | None = None, open_browser: bool = True, *,
          out_dir: str | Path | None = None, model: str | None = None, device: str | None = None,
          encoder=None, on_url: Callable[[str, Path], None] | None = None) -> Prepared:
    """Serve the review page for ``path`` (a document or NAME.align.json) until Ctrl-C (or SIGTERM).

    The port is bound before the page's URL is announced (``on_url(url, review_path)``; default:
    printed) and the browser opened, so the URL always works. Returns the review file served."""
    import uvicorn

    prepared = prepare(path, out_dir, model=model, device=device, encoder=encoder)
    token = new_token()
    app = make_app(prepared.path, token)
    sock = bind(port)
    url = url_of(sock, token)
    (on_url or (lambda u, p: print(u, flush=True)))(url, prepared.path)
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        server.run(sockets=[sock])  # uvicorn stops on SIGINT/SIGTERM, then re-raises the signal
    except KeyboardInterrupt:
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        sock.close()
    return prepared


def _interrupt(signum, frame):
    raise KeyboardInterrupt
