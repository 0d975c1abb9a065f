"""Helpers for the review tests: a review file built by hand, and the review server in a thread."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from align.model import Alignment, Bead, Document, Sentence
from align.review import bind, make_app, store
from align.review.server import new_token

ZH = ["第一句。", "第二句。", "第三句。", "第四句。", "第五句。", "第六句。"]
EN = ["One.", "Two.", "Two, continued.", "Three.", "Extra.", "Six.", "Five."]
# pair 1: 1-1 green; 2: 1-2 amber; 3: 1-1 red; 4: Chinese only; 5: English only; 6: moved, amber; 7: 1-1 green
BEADS = [Bead([0], [0], 0.95), Bead([1], [1, 2], 0.7), Bead([2], [3], 0.3), Bead([3], [], None),
         Bead([], [4], None), Bead([4], [6], 0.8, moved=True), Bead([5], [5], 0.92)]


def build_review(folder: Path, zh=ZH, en=EN, beads=BEADS, name: str = "doc", source: str = "doc.txt") -> Path:
    """Write folder/NAME.align.json for these sentences and beads (fresh, all "automatic")."""
    doc = Document(name, list(zh), list(en), [Sentence(t, 0) for t in zh], [Sentence(t, 0) for t in en], source)
    alignment = Alignment(doc, [Bead(list(b.zh_ids), list(b.en_ids), b.score, b.moved) for b in beads])
    path = store.review_path(name, folder)
    store.save(store.from_alignment(alignment), path)
    return path


def read(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@contextmanager
def running(path: Path):
    """The review server for ``path`` on a free port in a background thread: yields (base URL, token)."""
    import uvicorn

    token = new_token()
    sock = bind(None)
    server = uvicorn.Server(uvicorn.Config(make_app(path, token), log_level="warning", access_log=False,
                                           lifespan="off", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", token
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def http(url: str, headers: dict | None = None, data: bytes | None = None) -> tuple[int, bytes, dict]:
    """(status, body, headers) of one request; HTTP errors are answers too."""
    req = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)
