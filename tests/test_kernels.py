"""The compiled passes over similarity blocks (align/core/_kernels.c) against the numpy code that
the package runs without them: the same columns and the same values, bit for bit, ties included."""

import numpy as np
import pytest

from align.core import similarity, vectors
from align.core.options import MoveOptions

pytestmark = pytest.mark.skipif(vectors.KERNELS is None, reason="installed without a C compiler: numpy only")


def _blocks(seed: int):
    """Similarity blocks of unit rows, some with repeated English sentences (equal values: ties)."""
    rng = np.random.default_rng(seed)
    for trial in range(24):
        n, m = int(rng.integers(1, 50)), int(rng.integers(2, 2500))
        z = rng.standard_normal((n, 32)).astype(np.float32)
        e = rng.standard_normal((m, 32)).astype(np.float32)
        if trial % 2 and m > 12:
            e[m // 2:m // 2 + 6] = e[1]  # the same sentence seven times
        yield vectors.unit_rows(z) @ vectors.unit_rows(e).T, int(rng.integers(1, 17))


def test_compiled_top_k_is_the_numpy_top_k_ties_going_to_the_lower_column():
    for sim, k in _blocks(1):
        k = min(k, sim.shape[1])
        got, ref = vectors.block_top_k(sim, k), vectors.block_top_k(sim, k, use_kernel=False)
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    sim = np.array([[0.5, 0.9, 0.5, 0.9, 0.5, 0.1]], dtype=np.float32)
    assert vectors.block_top_k(sim, 3)[0].tolist() == [[1, 3, 0]]
    assert vectors.block_top_k(sim, 3, use_kernel=False)[0].tolist() == [[1, 3, 0]]


def test_compiled_column_best_is_numpys_two_best_and_first_rows():
    """Each column's best value and first row holding it, then the best of the other rows and the
    first row holding that: equal rows (a sentence repeated) and a single row included."""
    blocks = [sim for sim, _ in _blocks(2)]
    tied = np.vstack([blocks[3]] * 3)  # every row twice again further down
    blocks += [tied, blocks[5][:1].copy()]
    for sim in blocks:
        got = vectors.column_best(sim)
        cols = np.arange(sim.shape[1])
        assert np.array_equal(got[0], sim.max(axis=0)) and np.array_equal(got[1], sim.argmax(axis=0))
        rest = sim.copy()
        rest[sim.argmax(axis=0), cols] = -np.inf
        assert np.array_equal(got[2], rest.max(axis=0)) and np.array_equal(got[3], rest.argmax(axis=0))
        ref = vectors.column_best(sim, use_kernel=False)
        assert all(np.array_equal(g, r) for g, r in zip(got, ref))
    assert np.array_equal(vectors.column_best(tied)[2], tied.max(axis=0))  # the repeat holds the same value


def test_compiled_smoothed_candidates_are_the_numpy_ones_and_the_reference_smoothing():
    opt = MoveOptions()
    for sim, _ in _blocks(3):
        n, m = sim.shape
        whole = similarity.smoothed(sim.astype(np.float64), opt)  # the whole-matrix reference
        for lo, hi in {(0, n), (0, max(1, n // 2)), (n // 3, n)}:
            if hi <= lo:
                continue
            first = max(0, lo - 1)
            raw = np.ascontiguousarray(sim[first:min(n, hi + 1)])
            got, ref = similarity.Candidates(n, m, opt), similarity.Candidates(n, m, opt)
            got.add(lo, hi, raw, first)
            ref.add(lo, hi, raw, first, use_kernel=False)
            assert np.array_equal(got.idx[lo:hi], ref.idx[lo:hi]) and np.array_equal(got.sims[lo:hi], ref.sims[lo:hi])
            k = got.idx.shape[1]
            expect = -np.sort(-whole[lo:hi], axis=1)[:, :k]  # the values of the k best, best first
            assert np.allclose(got.sims[lo:hi], expect, atol=1e-6)


def test_compiled_heaviest_chain_is_the_python_one():
    rng = np.random.default_rng(4)
    for trial in range(40):
        count, size = int(rng.integers(1, 400)), int(rng.integers(1, 60))
        rows = np.sort(rng.integers(0, max(1, count // 3), count))
        cols = rng.integers(0, size, count)
        weights = rng.choice([0.25, 0.5, 1.0], count) if trial % 2 else rng.random(count)  # ties, or none
        got = vectors.heaviest_chain(rows.tolist(), cols.tolist(), weights.tolist(), size)
        assert got == vectors.heaviest_chain(rows.tolist(), cols.tolist(), weights.tolist(), size, use_kernel=False)
        assert all(rows[a] < rows[b] and cols[a] < cols[b] for a, b in zip(got, got[1:]))


def test_compiled_row_sums_are_numpys_reduceat_bit_for_bit():
    rng = np.random.default_rng(4)
    for trial in range(60):  # runs shorter than numpy's 8-way unrolling, up to past its 128-row blocks
        sizes = rng.choice([1, 2, 3, 7, 8, 9, 16, 17, 127, 128, 129, 137, 300, 1100], size=int(rng.integers(1, 8)))
        x = (rng.standard_normal((int(sizes.sum()), int(rng.choice([1, 5, 64, 1280])))) * 100).astype(np.float32)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        want = np.add.reduceat(x, starts, axis=0)
        assert vectors.row_sums(x, starts).tobytes() == want.tobytes()
        assert vectors.row_sums(x, starts, use_kernel=False).tobytes() == want.tobytes()
    with pytest.raises(ValueError):
        vectors.KERNELS.row_sums(x, len(x), x.shape[1], np.array([0, 0], dtype=np.int64), 2,
                                 np.empty((2, x.shape[1]), dtype=np.float32))


def _random_table(rng, n: int, m: int, types):
    """A band around a random monotone path and bead scores laid out as ``dp.bead_table`` lays them
    out, some of them equal (ties between types) and some impossible (``NEG``)."""
    from align.core.dp import Table
    from align.core.features import NEG

    width = int(rng.integers(1, 9))
    diag = np.round(np.linspace(0, m, n + 1)).astype(np.int64)
    lo = np.maximum(np.minimum.accumulate((diag - width)[::-1])[::-1], 0)
    hi = np.minimum(np.maximum.accumulate(diag + width), m)
    lo[0], hi[-1] = 0, m
    rows = np.arange(n + 1)
    ok_l, c0_l, c1_l, start_l, flat_l = [], [], [], [], []
    for a, b in types:
        prc = np.maximum(rows - a, 0)
        ok = (rows - a >= 0) & (a > 0)
        c0, c1 = np.maximum(lo, lo[prc] + b), np.minimum(hi, hi[prc] + b)
        ok &= c0 <= c1
        count = n + 1 if b == 0 else int(np.where(ok, c1 - c0 + 1, 0).sum())
        start = rows.copy() if b == 0 else np.concatenate([[0], np.cumsum(np.where(ok, c1 - c0 + 1, 0))[:-1]])
        flat = rng.choice([-0.5, 0.25, 1.0], count) if rng.random() < 0.5 else rng.standard_normal(count)
        flat[rng.random(count) < 0.05] = NEG
        ok_l.append(ok), c0_l.append(c0), c1_l.append(c1), start_l.append(start.astype(np.int64)), flat_l.append(flat)
    return Table(list(types), ok_l, c0_l, c1_l, start_l, flat_l), lo, hi


def test_compiled_forward_pass_is_the_numpy_one_bit_for_bit():
    """The DP's forward pass (best scores and back pointers of every band cell) compiled and in
    numpy, on random bands and scores with ties between bead types, impossible beads, English
    sentences known to have no counterpart and bands that start off the corner."""
    from align.core import dp
    from align.core.aligner import bead_types

    rng = np.random.default_rng(7)
    types = bead_types(4)
    for trial in range(40):
        n, m = int(rng.integers(1, 60)), int(rng.integers(1, 70))
        table, lo, hi = _random_table(rng, n, m, types)
        off = dp._cumsum_start(hi - lo + 1)
        lone = rng.random(m) < 0.1 if trial % 2 else None
        ins = float(rng.choice([-0.3, -1.0, 0.0]))
        start = bool(trial % 5)
        args = (table, lo, hi, off, start, lone, ins, types.index((0, 1)))
        best, back = dp._forward(*args)
        want_best, want_back = dp._forward(*args, use_kernel=False)
        assert best.tobytes() == want_best.tobytes() and back.tobytes() == want_back.tobytes()
        assert not start or (back >= 0).any()  # (without the start cell nothing is reachable)


def test_compiled_chain_of_anchors_is_the_python_one():
    """The move finder's chain of anchors, compiled and in Python, on random candidates: moved
    blocks, equal similarities (ties between predecessors), rows with no candidate above 0."""
    from align.core import moves

    rng = np.random.default_rng(5)
    for trial in range(30):
        n, k = int(rng.integers(1, 300)), int(rng.integers(1, 9))
        m = int(rng.integers(1, 400))
        base = np.round(np.arange(n) * m / n).astype(np.int64)
        cand = np.clip(base[:, None] + rng.integers(-3, 4, (n, k)), 0, m - 1)
        far = rng.random(n) < 0.2  # some rows point anywhere: a moved block, look-alikes
        cand[far] = rng.integers(0, m, (int(far.sum()), k))
        sims = rng.choice([-0.1, 0.3, 0.5, 0.9], (n, k)) if trial % 2 else rng.random((n, k)) - 0.2
        opt = MoveOptions(lookback=int(rng.choice([1, 5, 40])), jump=float(rng.choice([0.2, 0.5])))
        got = moves.chain(cand, sims, m, opt)
        assert got == moves.chain(cand, sims, m, opt, use_kernel=False)
        assert len(got) > 0 or not (sims > 0).any()


def test_compiled_run_sums_are_numpys_bit_for_bit():
    """A run's pooled features (compose.pooled_runs) compiled and in numpy: the same float32 sums,
    for every half-precision edge value (subnormal, infinite and NaN ones too), runs of 1 to 6
    sentences, consecutive starts and gathered ones."""
    from align.core.compose import Parts, pooled_runs

    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16).reshape(-1, 8)  # 8,192 rows of 8
    rows = len(every)
    rng = np.random.default_rng(3)
    full = (rng.standard_normal((rows, 8)) * 1e3).astype(np.float32)
    parts = Parts(full, np.ascontiguousarray(every[::-1]), every, np.ones(rows, dtype=np.float32))
    with np.errstate(invalid="ignore", over="ignore"):
        for a in range(1, 7):
            for starts in (np.arange(rows - a + 1), np.sort(rng.choice(rows - a + 1, 300))[::-1]):
                got = pooled_runs(parts, a, starts)
                assert got.tobytes() == pooled_runs(parts, a, starts, use_kernel=False).tobytes()
    with pytest.raises(ValueError):
        vectors.KERNELS.run_sums(full, parts.bos, parts.eos, rows, 8, np.array([rows - 1]), 1, 2,
                                 np.empty((1, 8), dtype=np.float32))


def test_compiled_casts_to_and_from_half_precision_are_numpys():
    """float32 ↔ float16 (vectors.cast, F16C where the CPU has it) and numpy's casts: the same bits
    for every half, every midpoint between two halves (ties go to the even one), overflow,
    subnormals and a million random float32 patterns; only signalling NaNs may differ."""
    halves = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    h = halves.view(np.float16)
    keep = ((halves & 0x7c00) != 0x7c00) | ((halves & 0x03ff) == 0) | ((halves & 0x0200) != 0)
    with np.errstate(invalid="ignore", over="ignore"):
        wide = vectors.cast(h, np.float32)
        assert wide.view(np.uint32)[keep].tobytes() == h.astype(np.float32).view(np.uint32)[keep].tobytes()
        for cut in range(1, 8):  # lengths past a multiple of 8: the elements after the vector loop
            assert vectors.cast(h[:1000 + cut], np.float32).tobytes() == wide[:1000 + cut].tobytes()
        finite = h[np.isfinite(h)].astype(np.float64)
        finite = np.unique(finite)
        mids = ((finite[:-1] + finite[1:]) / 2).astype(np.float32)  # exact in float32
        rng = np.random.default_rng(8)
        bits = np.concatenate([rng.integers(0, 1 << 32, 1 << 20, dtype=np.uint64).astype(np.uint32),
                               np.array([0x7f7fffff, 0x477fefff, 0x477ff000, 0x00000001, 0x33000000,
                                         0x33000001, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000],
                                        dtype=np.uint32)])
        x = np.concatenate([mids, wide[keep & np.isfinite(h)], bits.view(np.float32)])
        xb = x.view(np.uint32)
        ok = ((xb & 0x7f800000) != 0x7f800000) | ((xb & 0x007fffff) == 0) | ((xb & 0x00400000) != 0)
        got = vectors.cast(x, np.float16)
        assert got.view(np.uint16)[ok].tobytes() == x.astype(np.float16).view(np.uint16)[ok].tobytes()
        for cut in range(1, 8):
            assert vectors.cast(x[:8000 + cut], np.float16).tobytes() == got[:8000 + cut].tobytes()
        into = np.empty(len(x), dtype=np.float16)
        assert vectors.cast(x[::-1], out=into[::-1]) is not None  # not contiguous: numpy's cast
        assert into.view(np.uint16)[ok].tobytes() == got.view(np.uint16)[ok].tobytes()


def test_compiled_unit_rows_are_numpys_bit_for_bit():
    """Rows at unit length compiled and in numpy (the squares' pairwise sum, as np.add.reduce adds
    a row): every width from 1 to past two of numpy's 128-value blocks, zero rows, in place."""
    rng = np.random.default_rng(6)
    for d in list(range(1, 300)) + [511, 512, 513, 1280]:
        x = (rng.standard_normal((5, d)) * rng.choice([1e-20, 1.0, 1e15])).astype(np.float32)
        x[0] = 0.0
        want = vectors.unit_rows(x, use_kernel=False)
        assert vectors.unit_rows(x).tobytes() == want.tobytes()
        assert vectors.unit_rows(x, out=x).tobytes() == want.tobytes()  # in place


def test_compiled_pair_dots_are_numpys_bit_for_bit_whatever_else_is_asked():
    """A bead's similarity is one row pair's sum of products, as numpy adds them: the same bits
    from the compiled loop and from numpy, for widths with and without a tail of eight, for the
    weakest of several members (both sides stepping), and whichever pairs come with it."""
    rng = np.random.default_rng(11)
    for d in (512, 384, 320, 1, 7, 8, 13, 128, 129, 300, 1000):  # 512, 384, 320: four blocks side by side
        A = rng.standard_normal((60, d)).astype(np.float32)
        B = rng.standard_normal((70, d)).astype(np.float32)
        ia, ib = rng.integers(0, 54, 3000), rng.integers(0, 64, 3000)
        for k, sa, sb in ((1, 0, 1), (3, 0, 1), (5, 1, 0), (2, 1, 1)):
            got = vectors.pair_dots(A, B, ia, ib, k, sa, sb)
            ref = vectors.pair_dots(A, B, ia, ib, k, sa, sb, use_kernel=False)
            assert got.dtype == np.float32 and np.array_equal(got, ref)
            if k == 1:
                assert np.array_equal(got, np.add.reduce(A[ia] * B[ib], axis=1))
            else:
                each = [np.add.reduce(A[ia + u * sa] * B[ib + u * sb], axis=1) for u in range(k)]
                assert np.array_equal(got, np.minimum.reduce(each))
        # pairs in runs, as a row of the bead table (one side's row fixed, the other's next along):
        # each run's products once, the least of each window; the same values
        fixed = np.repeat(rng.integers(0, 55, 40), 12)
        along = np.tile(np.arange(12), 40) + np.repeat(rng.integers(0, 40, 40), 12)
        for k in (2, 6):
            each = [np.add.reduce(A[fixed] * B[along + u], axis=1) for u in range(k)]
            assert np.array_equal(vectors.pair_dots(A, B, fixed, along, k, 0, 1), np.minimum.reduce(each))
            each = [np.add.reduce(A[along + u] * B[fixed], axis=1) for u in range(k)]
            assert np.array_equal(vectors.pair_dots(A, B, along, fixed, k, 1, 0), np.minimum.reduce(each))
            assert np.array_equal(vectors.pair_dots(A, B, along, fixed, k, 1, 0, use_kernel=False), np.minimum.reduce(each))
        alone = vectors.pair_dots(A, B, ia[5:6], ib[5:6])
        assert alone[0] == vectors.pair_dots(A, B, ia, ib)[5]
    with pytest.raises(IndexError):
        vectors.pair_dots(A, B, np.array([58]), np.array([0]), 3, 1, 0)  # rows 58, 59, 60: past the end


def test_compiled_pair_counts_are_the_numpy_counts_inside_and_outside_the_band():
    """The dictionary and anchor hits of a bead come from the band's table of pair masks: the
    compiled count of every bead type equals numpy's, for beads in the band and for beads with a
    pair outside it (answered on demand)."""
    from pathlib import Path

    from align.core.signals import PairTable, Signals
    from align.io.document import document_from_text

    doc = document_from_text((Path(__file__).resolve().parents[1] / "data" / "sample-press.txt").read_text("utf-8"))
    zh, en = [s.text for s in doc.zh], [s.text for s in doc.en]
    sig = Signals.build(zh, en, True, True)
    n, m = len(zh), len(en)
    lo = np.maximum(np.arange(n) - 3, 0)
    hi = np.minimum(np.arange(n) + 6, m - 1)
    table = PairTable([sig.lexicon.term_bits, sig.lexicon.word_bits, sig.anchors.bits], [False, True, False], lo, hi)
    rng = np.random.default_rng(4)
    hit_any = outside = 0
    for a, b in ((1, 1), (1, 3), (2, 1), (2, 2), (3, 2), (1, 6)):
        P = rng.integers(0, n - a + 1, 200)
        S = np.clip(P + rng.integers(-4, 6, 200), 0, m - b)
        inside = np.array([all(lo[q] <= S[t] and S[t] + b - 1 <= hi[q] for q in range(P[t], P[t] + a)) for t in range(200)])
        outside += int((~inside).sum())
        for kind, by_english, mask in ((0, True, None), (1, False, None), (2, True, sig.anchors.num_mask)):
            for pick in (inside, np.ones(200, dtype=bool)):  # in the band; and with pairs outside it
                got = table.counts(kind, P[pick], a, S[pick], b, by_english, mask)
                ref = table.counts(kind, P[pick], a, S[pick], b, by_english, mask, use_kernel=False)
                assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
                hit_any += int(got[0].sum() > 0) + int(got[1].sum() > 0)
    assert hit_any > 10 and outside > 50
    # probes of up to 150 items (three 64-bit lanes a pair), random keys
    from align.core.signals import ItemBits
    keys = [f"k{j}" for j in range(300)]
    probes = [[(keys[int(j)],) for j in rng.integers(0, 300, int(rng.integers(0, 150)))] for _ in range(m)]
    sets = [set(keys[int(j)] for j in rng.integers(0, 300, 60)) for _ in range(n)]
    wide = PairTable([ItemBits(probes, sets)], [False], lo, hi)
    assert wide.table(0).shape[1] == 3
    mask = rng.integers(0, 2**63, (m, 3), dtype=np.int64).astype(np.uint64)
    for a, b in ((1, 1), (2, 3), (3, 1)):
        P = rng.integers(0, n - a + 1, 100)
        S = np.clip(P + rng.integers(-1, 3, 100), 0, m - b)
        for by_english in (True, False):
            got = wide.counts(0, P, a, S, b, by_english, mask if by_english else None)
            ref = wide.counts(0, P, a, S, b, by_english, mask if by_english else None, use_kernel=False)
            assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1]) and got[0].sum() > 0


def test_compiled_item_masks_are_the_numpy_join_in_any_order():
    """Which items of a probe sentence the other side's sentence holds: the compiled masks are the
    numpy join's for random probes of up to three lanes, for pairs in any order, repeated pairs and
    reordered views (another English order)."""
    from align.core.signals import ItemBits

    rng = np.random.default_rng(8)
    keys = [f"k{j}" for j in range(400)]
    probes = [[tuple(keys[int(j)] for j in rng.integers(0, 400, int(rng.integers(1, 3))))
               for _ in range(int(rng.integers(0, 170)))] for _ in range(40)]
    sets = [set(keys[int(j)] for j in rng.integers(0, 400, int(rng.integers(0, 90)))) for _ in range(50)]
    bits = ItemBits(probes, sets)
    assert bits.lanes == 3
    X, Y = rng.integers(0, 40, 3000), rng.integers(0, 50, 3000)
    got = bits.masks(X, Y)
    assert np.array_equal(got, bits.masks(X, Y, use_kernel=False)) and got.any()
    view = bits.reordered(probes=rng.permutation(40), sets=rng.permutation(50))
    assert np.array_equal(view.masks(X, Y), view.masks(X, Y, use_kernel=False))
    for t in range(0, 3000, 97):  # each bit: some key of the item is in the set
        want = [u for u, item in enumerate(probes[X[t]]) if any(k in sets[Y[t]] for k in item)]
        have = [u for u in range(64 * bits.lanes) if int(got[t, u >> 6]) >> (u & 63) & 1]
        assert have == want
