"""The blocks the aligner runs on every core (``vectors.on_cores``): results in block order, from
worker threads the process starts once, in a forked batch worker too, and nothing left running
when the caller stops early."""

import multiprocessing as mp
import threading
import time

import numpy as np

from align.core import vectors


def _sums(rows: np.ndarray, lo: int, hi: int) -> float:
    return float((rows[lo:hi] @ rows[lo:hi].T).sum())


def test_blocks_come_back_in_order_and_a_forked_worker_runs_its_own():
    rows = np.random.default_rng(3).standard_normal((400, 64)).astype(np.float32)
    blocks = [(rows, s, s + 50) for s in range(0, 400, 50)]
    want = [_sums(*b) for b in blocks]
    assert list(vectors.on_cores(_sums, blocks)) == want  # the parent's threads are started now

    ctx = mp.get_context("fork")  # a batch's workers are forked after the parent aligned
    got = ctx.Queue()
    child = ctx.Process(target=lambda: got.put(list(vectors.on_cores(_sums, blocks))))
    child.start()
    child.join(60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked worker hung on its parent's threads"
    assert got.get(timeout=5) == want


def test_a_caller_that_stops_early_leaves_no_block_running():
    started, finished = [], []
    lock = threading.Lock()

    def slow(k: int) -> int:
        with lock:
            started.append(k)
        time.sleep(0.05)
        with lock:
            finished.append(k)
        return k

    results = vectors.on_cores(slow, [(k,) for k in range(20)])
    assert next(results) == 0
    results.close()  # the caller stopped (say, an error) after the first block
    with lock:
        done_at_return = sorted(finished)
    assert done_at_return == sorted(started)  # every block that started has finished
    time.sleep(0.2)
    assert sorted(finished) == done_at_return and len(done_at_return) < 20  # and no more start later
