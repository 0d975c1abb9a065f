"""The document pipeline, top to bottom: one prepared ``Document`` in, its ``Alignment`` out.

    embed (the dictionary signals built beside it) → mark lone paragraphs
          → align (or search English orders) → verify lone → rescue → reattach → detach
          → mark the order (moved, jump) → calibrate

Each step is one call into ``align.core``; every setting comes from ``AlignOptions``
(``monotonic`` switches the moves off: the search over English orders and the rescue of
single moved sentences). The function is pure: document and options in, alignment out, no
global state, so any engine (one process, a batch, a cluster) can call it.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Callable

from .core import background, lone, moves
from .core.aligner import align
from .core.calibrate import calibrate_beads
from .core.embed import CachedEncoder, Encoder, load_encoder
from .core.features import document_signals, signals_beside
from .core.options import AlignOptions
from .core.similarity import Candidates
from .core.vectors import centred_pair, neighbours, one_blas_thread
from .model import Alignment, Document


NEAR_SPARE = 8  # neighbours kept beyond the first path's top_k, for the sentences known to have none


def align_document(doc: Document, options: AlignOptions | None = None, encoder: Encoder | None = None,
                   progress: Callable[[int], None] | None = None) -> Alignment:
    """Embed and align a prepared document (``align.io.document``); bead scores are calibrated
    confidences. ``encoder``: a loaded encoder (default: the embedded one); ``progress(n)`` is
    called as sentences are embedded."""
    opt = options or AlignOptions()
    enc = encoder or load_encoder()
    if not isinstance(enc, CachedEncoder):  # the move search's runs ask for the same spans again
        enc = CachedEncoder(enc)
    zh, en = [s.text for s in doc.zh], [s.text for s in doc.en]
    texts, pair = zh + en, bool(zh and en)
    # the texts' dictionary and anchor signals: built in a second process while the encoder runs
    beside = signals_beside(zh, en, opt) and not enc.holds(texts)  # (all embedded already: nothing to overlap)
    with background.start(document_signals, zh, en, opt, fork=beside) as job:
        vecs = enc.encode(texts, progress=progress)
        signals = job.result() if pair else None
    zv, ev = vecs[:len(zh)], vecs[len(zh):]
    zc, ec = centred_pair(zv, ev)  # made once: every step below reads them
    with one_blas_thread(), _older_objects_frozen():  # the aligner's products are small: one thread is faster
        zp, ep = [s.para for s in doc.zh], [s.para for s in doc.en]
        near = None
        if not pair:  # nothing can pair
            beads = align(zh, en, enc, opt, zv, ev).beads
        else:
            cands = None if opt.monotonic else Candidates(len(zh), len(en), opt.moves)  # same pass
            near = neighbours(zc, ec, opt.top_k + NEAR_SPARE, cands and cands.add)  # the one n × m pass
            evidence = lone.paragraph_evidence(zv, ev, zp, ep, opt.lone, near)
            lone_zh, lone_en = lone.lone_paragraphs(evidence, len(zh), len(en), opt.lone)
            orders = moves.Orders(zh, en, enc, opt, zv, ev, zp, ep, lone_zh, lone_en, near, (zc, ec), signals)
            if opt.monotonic:
                orders.try_order(None)
            else:
                moves.search_orders(orders, opt, cands)
            runs_left = opt.budget // (len(zh) + len(en)) - len(orders.tried)
            beads, lone_zh, lone_en = lone.verify_lone(orders.try_lone, orders.local, orders.beads, evidence,
                                                       len(zh), len(en), lone_zh, lone_en, runs_left, opt.lone)
            del orders  # the aligner runs are over: their scorers and the composed runs they read go
            enc.forget_runs()
            if not opt.monotonic and opt.lone.rescue:
                beads = lone.rescue(beads, zv, ev, lone_zh, lone_en, opt.lone, near, (zc, ec))
            if opt.lone.reattach:
                beads = lone.reattach(beads, zh, en, enc, zv, ev, zp, ep, opt.lone)
        beads = lone.detach(beads, zv, ev, zp, ep, opt.lone, (zc, ec))
        moves.order_marks(beads)
        calibrate_beads(beads, zv, ev, centred_vecs=(zc, ec), near=near)
        return Alignment(doc, beads)


@contextmanager
def _older_objects_frozen():
    """While the aligner runs, the garbage collector's full scans skip the objects made before it
    (the encoder's tables, the texts, the signals: ``gc.freeze``), which live on past it anyway and
    which each full scan walks again (MAC-Dev x1: one 33 ms scan, 5 % of the aligner's own time);
    refcounting still frees them. Left as it is where the process froze objects itself or turned
    the collector off."""
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()

