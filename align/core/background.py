"""Work that needs only the texts, done in a second process while the encoder runs.

The encoder keeps both cores busy except while it tokenizes, in pure Python, and the dictionary
and anchor signals (``features.document_signals``: CC-CEDICT loaded, every sentence segmented,
stemmed and its anchors found, also pure Python) would wait for it and then run alone on one
core. ``start(build, *args)`` forks, builds ``build(*args)`` in the child and sends it back
pickled through a pipe, read by a thread as it comes so that the child ends as soon as it is
done; ``result()`` unpickles it. The pipeline does so for documents of 200 sentences or more
(``features.signals_beside``). On MAC-Dev x1 this takes 0.13 s off a 3.9 s run (3.5 %), and
the dictionary's 40 MB never enter the aligning process. At 50,000 + 50,000 sentences the
child builds for 3 s, peaks at 350 MB and is gone long before the aligner's peak; its message
is 26 MB.

The result is the same either way: where forking is off or fails, or the child fails
for any reason (it exits without its parent's exit handlers), ``result()`` builds it here, so
an error is raised where it would be without this module. Leaving the ``with`` block ends a
child that was not read.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading


def can_fork() -> bool:
    """Whether a second process can help: Linux (a plain fork, no exec) and more than one core."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and (os.cpu_count() or 1) > 1


class Pending:
    """``build(*args)``, being built in a forked child (or, without one, built on ``result()``)."""

    def __init__(self, build, args):
        self.build, self.args = build, args
        self._pid: int | None = None
        self._reader: threading.Thread | None = None
        self._chunks: list[bytes] = []

    @property
    def pid(self) -> int | None:
        """The child's process id while it is followed (None without one)."""
        return self._pid

    def _follow(self, pid: int, fd: int) -> None:
        self._pid = pid
        self._reader = threading.Thread(target=_read_all, args=(fd, self._chunks), daemon=True)
        self._reader.start()

    def _finish(self) -> tuple[bool, bytes]:
        """Wait for the reader and the child: (whether the child ended well, what it sent)."""
        self._reader.join()
        ok = _reap(self._pid) == 0
        data = b"".join(self._chunks)
        self._pid, self._reader, self._chunks = None, None, []
        return ok, data

    def result(self):
        if self._pid is not None:
            ok, data = self._finish()
            if ok and data:
                try:
                    return pickle.loads(data)
                except Exception:  # noqa: BLE001 - a torn message: build it here
                    pass
        return self.build(*self.args)

    def close(self) -> None:
        """End a child that was not read."""
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._finish()

    def __enter__(self) -> "Pending":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start(build, *args, fork: bool = True) -> Pending:
    """``build(*args)`` begun in a forked child where ``fork`` and ``can_fork()``."""
    job = Pending(build, args)
    if not (fork and can_fork()):
        return job
    try:
        r, w = os.pipe()
    except OSError:
        return job
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return job
    if pid == 0:  # the child: build, send, leave (no exit handlers, no flushing of the parent's buffers)
        code = 1
        try:
            os.close(r)
            data = pickle.dumps(build(*args), protocol=pickle.HIGHEST_PROTOCOL)
            with open(w, "wb") as f:
                f.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    job._follow(pid, r)
    return job


def _read_all(fd: int, chunks: list[bytes]) -> None:
    """Everything the child writes, until it closes the pipe or ends."""
    try:
        with open(fd, "rb", buffering=0) as f:
            while chunk := f.read(1 << 20):
                chunks.append(chunk)
    except OSError:
        chunks.clear()


def _reap(pid: int) -> int:
    """The child's exit status, once it has ended."""
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return -1
