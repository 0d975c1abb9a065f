"""The batch on a Ray cluster (``align DIR --engine ray``): the same documents, outputs, merged
corpus and report as the local batch, aligned by a pool of Ray actors.

* ``run_on_ray(jobs, todo, settings, finish, bar, ...)`` — called by ``align.batch.run.run_batch``
  with the documents that are not up to date: the resume decision, the merged corpus and the
  report stay there, shared with the local engine. Each actor loads the encoder once (or is
  given the run's encoder), then reads, splits, aligns and writes the documents sent to it with
  the local batch's own per-document code (``align.batch.worker.align_job``), so both engines
  write the same bytes. Documents go one per call to whichever actor is free; results come
  back to the driver, which hands each to ``finish`` (the report, the progress bar).
* A broken document is a failed result, as in the local batch; a worker that dies fails only
  the document it had (tried once more on a restarted worker first), and Ray restarts it. Ctrl-C in the driver kills the actors; outputs are
  written atomically, so finished ones are whole and a rerun skips them.
* ``connect(address, cpus)`` — to the cluster at ``address`` (else ``RAY_ADDRESS``), or a local
  Ray on this machine; ``require_ray()`` — the one-line error when Ray is not installed.

The workers write the outputs: on a cluster the input and output folders must be on storage
that every node sees, at the same path. Ray is imported here only, never on the default path.

Why plain actors and a ``ray.wait`` loop (what ``ray.util.ActorPool`` does inside) rather than
Ray Data's ``map_batches`` with an actor class or ``ActorPool`` itself: measured on 100 documents
(benchmarks/scale.py) Ray Data was no faster (5.4 against 5.6 documents/s over the whole run) and
needs pyarrow and pandas (``ray[data]``); a document whose worker dies would be retried on the
restarted actor, or fail the whole dataset, instead of being one failed row; and its results
come as Arrow rows. ``ActorPool.get_next_unordered`` does not say which input a dead actor's error
belongs to (and drops the dead actor); this loop knows each call's documents.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
from dataclasses import dataclass
from typing import Callable

from ..core.embed import Encoder
from ..errors import AlignError
from .discover import Job
from .worker import CachedEncoder, JobResult, Settings, align_chunk, cores, make_encoder, prepare, why

EXTRA = "pip install 'zhen-align[ray]'"
ENV_FORWARDED = ("SOURCE_DATE_EPOCH",)  # the driver's settings that change the bytes written


def require_ray():
    """The ``ray`` module, or the one-line error that names the extra to install."""
    try:
        import ray
    except ImportError:
        raise AlignError(f"--engine ray needs Ray: {EXTRA}") from None
    return ray


@dataclass
class Connection:
    """The Ray session a run uses: ``connected`` when this run called ``ray.init`` (and so ends
    the session after), ``local`` when that started a Ray on this machine; the cluster's CPUs."""

    address: str | None
    connected: bool
    local: bool
    cpus: int


def connect(address: str | None = None, cpus: int | None = None) -> Connection:
    """Connect to the Ray cluster at ``address`` (default: ``RAY_ADDRESS``), reuse the session this
    process already has, or start a local Ray with ``cpus`` CPUs (default: this machine's cores),
    quietly and without the dashboard."""
    ray = require_ray()
    if ray.is_initialized():
        return Connection(address, False, False, int(ray.cluster_resources().get("CPU", 1)))
    address = address or os.environ.get("RAY_ADDRESS") or None
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address and not _reachable(address):
        raise AlignError(f"cannot connect to the Ray cluster at {address} (nothing answers there); start one "
                         "with `ray start --head` and give the address it prints (--ray-address or RAY_ADDRESS)")
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=cpus or cores(), include_dashboard=False, **quiet)
    except Exception as e:  # noqa: BLE001 - no cluster there, or Ray cannot start
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        what = " ".join(why(e).split())[:200]
        raise AlignError(f"cannot connect to {where} ({what}); start one with `ray start --head` "
                         "and give its address (--ray-address or RAY_ADDRESS)" if address else
                         f"cannot start {where} ({what})") from None
    return Connection(address, True, not address, int(ray.cluster_resources().get("CPU", 1)))


def _reachable(address: str, timeout: float = 5.0) -> bool:
    """Whether something answers at a ``HOST:PORT`` address within ``timeout`` seconds (Ray itself
    retries a dead address for minutes); other forms ("auto", "ray://...") are left to Ray."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return True
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
        return True
    except OSError:
        return False


class Worker:
    """A Ray actor's state: the settings, and the encoder, loaded once (``make_encoder``) unless
    the run gave one. ``cwd``: the driver's folder, so that relative paths mean the same here."""

    def __init__(self, settings: Settings, encoder: Encoder | None, model: str | None, device: str | None,
                 cwd: str | None):
        if cwd and os.path.isdir(cwd):
            os.chdir(cwd)  # this actor's own process
        self.settings = settings
        self.encoder = CachedEncoder(encoder if encoder is not None else make_encoder(model, device, 1))

    def ready(self) -> bool:
        return True

    def run(self, items: list[tuple[int, Job]]) -> list[tuple[int, JobResult]]:
        """Read, split, align and write these documents (``align_chunk``, ``align_job``)."""
        out, readable = [], []
        for index, job in items:
            doc, reason = prepare(job, self.settings.presplit)
            if reason:
                out.append((index, JobResult(error=reason)))
            else:
                readable.append((index, job, doc))
        return out + align_chunk(readable, self.encoder, self.settings, lambda event: None)


def start_actors(n: int, settings: Settings, *, encoder: Encoder | None = None, model: str | None = None,
                 device: str | None = None) -> list:
    """``n`` actors, each ready (its encoder loaded); a worker that cannot start is a one-line error."""
    ray = require_ray()
    env = {k: os.environ[k] for k in ENV_FORWARDED if k in os.environ}
    options = {"num_cpus": 1, "max_restarts": -1, "max_task_retries": 0}
    if env:
        options["runtime_env"] = {"env_vars": env}
    actor = ray.remote(**options)(Worker)
    actors = [actor.remote(settings, encoder, model, device, os.getcwd()) for _ in range(n)]
    try:
        ray.get([a.ready.remote() for a in actors])
    except Exception as e:  # noqa: BLE001 - e.g. the model cannot be loaded on a node
        for a in actors:
            ray.kill(a, no_restart=True)
        cause = getattr(e, "cause", None)
        if isinstance(cause, AlignError):
            raise cause from None
        raise AlignError(f"the Ray workers could not start ({' '.join(why(e).split())[:300]})") from None
    return actors


def run_on_ray(jobs: list[Job], todo: list[int], settings: Settings, finish: Callable[[int, JobResult], None],
               bar, *, encoder: Encoder | None = None, model: str | None = None, device: str | None = None,
               address: str | None = None, actors: int | None = None) -> int:
    """Align ``jobs[i]`` for each ``i`` in ``todo`` on Ray actors; ``finish(i, result)`` for each
    as it comes back (any order), with the progress events of the local batch on ``bar``.
    ``actors``: how many (default: the cluster's CPUs). Returns the number of actors used."""
    ray = require_ray()
    conn = connect(address, max(cores(), actors or 0))
    try:
        n = max(1, min(actors or conn.cpus, len(todo)))
        if not conn.local and n > conn.cpus:
            raise AlignError(f"--actors {n}: the Ray cluster has {conn.cpus} CPUs; ask for {conn.cpus} or fewer")
        pool = start_actors(n, settings, encoder=encoder, model=model, device=device)
        try:
            _dispatch(ray, pool, [[(i, jobs[i])] for i in todo], finish, bar)
        finally:
            for a in pool:
                ray.kill(a, no_restart=True)
    finally:
        if conn.connected:
            ray.shutdown()
    return n


RESTART_WAIT = 120.0  # seconds a worker that died is waited for while Ray restarts it


def _wait_restart(ray, actor) -> None:
    """Wait (at most ``RESTART_WAIT``) for Ray to restart a worker that died: it answers ``ready``."""
    try:
        ray.get(actor.ready.remote(), timeout=RESTART_WAIT)
    except Exception:  # noqa: BLE001 - not back yet: its next call fails as before
        pass


def _dispatch(ray, pool: list, calls: list[list[tuple[int, Job]]], finish, bar) -> None:
    """Each call to the next free actor (one in flight per actor, so a worker that dies takes only
    its own documents with it); every result to ``finish`` as it arrives."""
    queue, idle, running = deque(calls), list(pool), {}
    try:
        _loop(ray, queue, idle, running, finish, bar)
    except BaseException:  # Ctrl-C: stop the documents being written (atomic writes clean up), then go
        for ref in running:
            ray.cancel(ref)
        if running:
            ray.wait(list(running), num_returns=len(running), timeout=5)
        raise


def _loop(ray, queue, idle, running, finish, bar) -> None:
    """Keep every idle actor busy while calls are queued; hand the results on as they come. A call
    whose worker died is tried once more (the document may only have met a worker that was dying
    or still restarting, e.g. under load); a document whose worker dies twice is a failed result."""
    tried: set[int] = set()
    while queue or running:
        while idle and queue:
            actor, items = idle.pop(), queue.popleft()
            running[actor.run.remote(items)] = (actor, items)
        done, _ = ray.wait(list(running), num_returns=1)
        actor, items = running.pop(done[0])
        try:
            rows = ray.get(done[0])
        except Exception as e:  # noqa: BLE001 - the worker died (killed, out of memory)
            _wait_restart(ray, actor)
            idle.append(actor)
            key = items[0][0]
            if key not in tried:
                tried.add(key)
                queue.appendleft(items)
                continue
            reason = f"worker process failed: {' '.join(why(e).split())[:200]}"
            rows = [(i, JobResult(error=reason, seconds=0.0)) for i, _ in items]
        else:
            idle.append(actor)
        for index, result in rows:
            if result.sentences:
                bar.sentences_total(result.sentences)
                bar.sentences(result.sentences)
            finish(index, result)
