"""The texts' signals built in a second process while the encoder runs (align.core.background)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from align.core import background
from align.core.features import SIGNALS_BESIDE_MIN, document_signals, signals_beside
from align.core.options import AlignOptions
from align.io.document import load_document
from align.model import Document
from align.pipeline import align_document
from conftest import FakeEncoder

needs_fork = pytest.mark.skipif(not background.can_fork(), reason="no fork or one core: built in-process")


def _pid():
    return os.getpid()


@needs_fork
def test_the_work_is_done_in_another_process_and_comes_back_whole():
    big = bytes(range(256)) * 40_000  # 10 MB: more than a pipe holds, the child is not left blocked
    with background.start(lambda: (_pid(), big)) as job:
        assert job.pid is not None
        pid, data = job.result()
    assert pid != os.getpid() and data == big


def test_without_fork_it_is_built_here():
    with background.start(_pid, fork=False) as job:
        assert job.pid is None and job.result() == os.getpid()


@needs_fork
def test_a_child_that_dies_is_built_here_instead():
    parent = os.getpid()

    def build():
        if os.getpid() != parent:
            os._exit(3)  # as if killed
        return "built here"
    with background.start(build) as job:
        assert job.result() == "built here"


@needs_fork
def test_an_error_is_raised_in_the_caller_as_without_the_child():
    def build():
        raise ValueError("bad input")
    with background.start(build) as job:
        with pytest.raises(ValueError, match="bad input"):
            job.result()


@needs_fork
def test_leaving_without_reading_ends_the_child():
    with background.start(time.sleep, 60) as job:
        pid = job.pid
    with pytest.raises((ProcessLookupError, ChildProcessError)):
        os.waitpid(pid, os.WNOHANG)  # ended and reaped: no such child any more
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _same(a, b) -> bool:
    """Equal values, through objects' fields, arrays, lists and dicts."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if hasattr(a, "__dict__"):
        return type(a) is type(b) and _same(vars(a), vars(b))
    return a == b


@needs_fork
def test_the_signals_built_in_the_child_are_the_ones_built_here():
    doc = load_document("data/sample-press.txt")
    zh, en = [s.text for s in doc.zh], [s.text for s in doc.en]
    with background.start(document_signals, zh, en, AlignOptions()) as job:
        assert job.pid is not None
        there = job.result()
    here = document_signals(zh, en, AlignOptions())
    assert there.lexicon is not None and there.anchors is not None and _same(there, here)
    assert not _same(there, document_signals(zh, en, AlignOptions(anchors=False)))  # (the check can tell)


def test_an_alignment_is_the_same_with_its_signals_built_beside_the_encoder():
    sample = load_document("data/sample-press.txt")
    doc = Document("twelve", zh=sample.zh * 12, en=sample.en * 12)  # (240 sentences)
    zh, en = [s.text for s in doc.zh], [s.text for s in doc.en]
    assert signals_beside(zh, en, AlignOptions()) and not signals_beside(zh, en, AlignOptions(background=False))
    runs = [align_document(doc, AlignOptions(background=flag), FakeEncoder()) for flag in (True, False)]
    assert [(b.zh_ids, b.en_ids, b.score) for b in runs[0].beads] == [(b.zh_ids, b.en_ids, b.score) for b in runs[1].beads]


def test_a_small_document_builds_its_signals_here():
    sample = load_document("data/sample-press.txt")
    zh, en = [s.text for s in sample.zh], [s.text for s in sample.en]
    assert len(zh) + len(en) < SIGNALS_BESIDE_MIN and not signals_beside(zh, en, AlignOptions())
