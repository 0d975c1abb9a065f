"""Moved, missing and added paragraphs (align.core.moves), calibrated scores, --min-score and --monotonic."""

from __future__ import annotations

import csv
import io
import random
import re
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest
from typer.testing import CliRunner

from align import api, cli
from align.core import lone
from align.core import moves as mv
from align.core import similarity as sim_
from align.core.aligner import align, prepare
from align.core.dp import KNOWN_MIN_SHARE, band_rows
from align.core.features import bead_types
from align.core.calibrate import calibrate_beads
from align.core.moves import find_moves
from align.core.options import AlignOptions, LoneOptions, MoveOptions
from align.core.vectors import centred
from align.io.write import OutputOptions, write_alignment
from align.model import Alignment, Document, Sentence
from align.pipeline import align_document


class TopicEncoder:
    """Each sentence names its meaning as «k»: same k in both languages → similar vectors.

    A span of several sentences is the sum of its meanings, so multi-sentence beads
    behave as with a real encoder. Unknown meanings (k ≥ 1000) are unrelated noise.
    """

    name = "topic"

    def __init__(self, dim: int = 64, seed: int = 0):
        self.dim = dim
        self.seed = seed  # the noise is the same in every run (not Python's salted hash)
        self.base: dict[int, np.ndarray] = {}

    def _base(self, k: int) -> np.ndarray:
        if k not in self.base:
            self.base[k] = np.random.default_rng(k + 17).standard_normal(self.dim)
        return self.base[k]

    def encode(self, texts, progress=None):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for r, t in enumerate(texts):
            v = sum((self._base(int(k)) for k in re.findall(r"«(\d+)»", t)), np.zeros(self.dim))
            v = v + 0.3 * np.random.default_rng([self.seed, zlib.crc32(t.encode())]).standard_normal(self.dim)
            out[r] = v / np.linalg.norm(v)
        return out


def align_moves(zh, en, encoder, en_paras=None, zh_paras=None, options=None):
    """The default pipeline (moves on) on sentences with the given paragraph numbers."""
    doc = Document("test", zh=[Sentence(t, p) for t, p in zip(zh, zh_paras or [0] * len(zh))],
                   en=[Sentence(t, p) for t, p in zip(en, en_paras or [0] * len(en))])
    return align_document(doc, options, encoder).beads


def zh_s(k):
    return f"第«{k}»句话。"


def en_s(k):
    return f"Sentence «{k}» here."


def run(zh_keys, en_keys, en_paras=None, monotonic=False, options=None):
    enc = TopicEncoder()
    zh, en = [zh_s(k) for k in zh_keys], [en_s(k) for k in en_keys]
    if monotonic:
        return align(zh, en, enc).beads
    return align_moves(zh, en, enc, en_paras=en_paras, options=options)


def pairs_of(beads, zh_keys, en_keys):
    return [([zh_keys[i] for i in b.zh_ids], [en_keys[j] for j in b.en_ids]) for b in beads]


def covers_each_once(beads, n, m):
    return (sorted(i for b in beads for i in b.zh_ids) == list(range(n))
            and sorted(j for b in beads for j in b.en_ids) == list(range(m)))


def test_same_order_gives_exactly_the_monotonic_result():
    keys = list(range(24))
    mono = run(keys, keys, monotonic=True)
    moves = run(keys, keys)
    assert [(b.zh_ids, b.en_ids) for b in moves] == [(b.zh_ids, b.en_ids) for b in mono]
    assert not any(b.moved for b in moves)


def test_a_moved_english_paragraph_is_paired_crosswise_and_output_follows_chinese():
    zh = list(range(24))
    en = list(range(0, 6)) + list(range(14, 19)) + list(range(6, 14)) + list(range(19, 24))
    mono = pairs_of(run(zh, en, monotonic=True), zh, en)
    assert sum(1 for z, e in mono if z and e and z == e) < 20  # the monotonic aligner cannot do it
    beads = run(zh, en)
    got = pairs_of(beads, zh, en)
    assert got == [([k], [k]) for k in zh]  # every sentence with its own translation, in Chinese order
    moved = sorted(k for (z, e), b in zip(got, beads) if b.moved for k in e)
    assert moved == list(range(14, 19))  # the smaller block is the one that moved
    # the ids are the real English positions
    assert [b.en_ids[0] for b in beads] == [en.index(k) for k in zh]


def test_blocks_moved_anywhere_one_each_way():
    zh = list(range(40))
    en = list(range(30, 36)) + list(range(0, 10)) + list(range(16, 30)) + list(range(10, 16)) + list(range(36, 40))
    beads = run(zh, en)
    assert pairs_of(beads, zh, en) == [([k], [k]) for k in zh]


def test_a_weakly_matched_paragraph_that_the_move_finder_misplaces_is_put_right_by_the_path_score():
    """English: Chinese 3-5 come first, then 0-2, whose translations are loose (each also says
    unrelated things). The move finder's strongest chain takes 3-5 as the main stream and the weak
    0-2 as a moved block too light to trust; trying lower thresholds and moved paragraphs, each
    kept only when the aligner's whole path scores higher, puts every translation with its
    sentence."""
    zh = list(range(20))
    order = [3, 4, 5, 0, 1, 2] + list(range(6, 20))
    loose = {k: f"Sentence «{k}» " + " ".join(f"«{k + 1000 * t}»" for t in range(1, 8)) + " here." for k in (0, 1, 2)}
    en = [loose.get(k, en_s(k)) for k in order]
    paras = [0, 0, 0, 1, 1, 1] + [2 + k // 4 for k in range(14)]

    def together(seed, options=None):  # every English sentence in the same bead as its Chinese sentence
        beads = align_moves([zh_s(k) for k in zh], en, TopicEncoder(seed=seed), en_paras=paras, options=options)
        assert covers_each_once(beads, len(zh), len(en))
        return all(order[j] in b.zh_ids for b in beads for j in b.en_ids)

    assert all(together(seed) for seed in range(6))
    first_answer = AlignOptions(moves=MoveOptions(thresholds=(1.7,), para_tries=0))  # the move finder's first only
    assert sum(together(seed, first_answer) for seed in range(6)) <= 1


def test_an_english_only_sentence_opening_a_paragraph_is_not_pulled_across_the_break():
    """Translations keep paragraphs: an English-only sentence at the start of a paragraph (which
    half echoes the sentence before the break) stays one-sided instead of joining that sentence's
    bead on the other side of the paragraph break."""
    zh = [zh_s(k) for k in range(12)]
    en = [en_s(k) for k in range(6)] + ["About «5» «3001» the forum."] + [en_s(k) for k in range(6, 12)]

    def beads_of_the_extra(seed, options=None):
        beads = align_moves(zh, en, TopicEncoder(seed=seed), en_paras=[0] * 6 + [1] * 7,
                            zh_paras=[0] * 6 + [1] * 6, options=options)
        return [(b.zh_ids, b.en_ids) for b in beads if 6 in b.en_ids]

    assert all(beads_of_the_extra(seed) == [([], [6])] for seed in range(4))
    no_para_signal = AlignOptions(weights={"para": 0.0})  # without the paragraph signal it is absorbed
    assert all(beads_of_the_extra(seed, no_para_signal) == [([5], [5, 6])] for seed in range(4))


def test_a_lone_sentence_is_not_reattached_to_a_pair_across_a_paragraph_break():
    """Chinese 4 says «4» and «40»; English says «4», then «40» alone. In the same paragraph the
    lone «40» joins the pair (a 1-2 bead); opening a paragraph of its own, it stays one-sided."""
    from align.model import Bead

    zh = [zh_s(k) for k in range(4)] + ["第«4»句话，也是«40»的话。"]
    en = [en_s(k) for k in range(5)] + ["And «40»."]
    enc = TopicEncoder()
    zv, ev = enc.encode(zh), enc.encode(en)

    def last_two(en_paras):
        beads = [Bead([k], [k], 0.9) for k in range(5)] + [Bead([], [5])]
        out = lone.reattach(beads, zh, en, enc, zv, ev, zh_paras=[0] * 5, en_paras=en_paras)
        return [(b.zh_ids, b.en_ids) for b in out][-2:]

    assert last_two([0] * 6) == [([3], [3]), ([4], [4, 5])]
    assert last_two([0] * 5 + [1]) == [([4], [4]), ([], [5])]


def test_sentences_in_one_language_only_become_one_sided_beads_of_one_sentence():
    zh = list(range(5)) + [1001, 1002] + list(range(5, 20))  # two Chinese sentences without translation (a caption)
    en = list(range(0, 8)) + list(range(12, 20)) + [2001, 2002, 2003]  # 8-11 missing; an "About" section added
    beads = run(zh, en)
    assert covers_each_once(beads, len(zh), len(en))
    got = pairs_of(beads, zh, en)
    one_sided = [p for p in got if not (p[0] and p[1])]
    assert all(len(z) + len(e) == 1 for z, e in one_sided)  # vecalign's [i]:[] convention
    assert sorted(k for z, e in one_sided for k in z + e) == [8, 9, 10, 11, 1001, 1002, 2001, 2002, 2003]
    assert all(z == e for z, e in got if z and e)


def test_a_single_sentence_moved_far_on_its_own_is_still_paired():
    """One sentence is too small a block for the move search; it is paired with its translation
    (its mutual nearest neighbour in the whole document) instead of being left one-sided, while a
    look-alike near its place is not taken (the aligner already weighed that)."""
    zh = list(range(30))
    en = [k for k in range(30) if k != 4] + [4]  # the translation of sentence 4 sits at the very end
    beads = run(zh, en)
    assert covers_each_once(beads, len(zh), len(en))
    got = pairs_of(beads, zh, en)
    assert got == [([k], [k]) for k in zh]  # Chinese order, sentence 4 with its English
    assert beads[4].moved and beads[4].en_ids == [len(en) - 1]
    without = pairs_of(run(zh, en, options=AlignOptions(lone=LoneOptions(rescue=False))), zh, en)
    assert ([4], [4]) not in without  # what it was before: the move search alone misses it


def test_rescue_never_loses_or_doubles_a_sentence_among_chance_look_alikes():
    """Meaningless vectors (hash encoder) make many lone sentences and chance nearest neighbours:
    taking a sentence out of a bead must leave its other sentences in exactly one bead each."""
    from conftest import FakeEncoder

    zh = [f"第{k}句话。" for k in range(300)]
    en = [f"Sentence {k} here." for k in range(330)]
    beads = align_moves(zh, en, FakeEncoder())
    assert covers_each_once(beads, len(zh), len(en))
    assert all(len(b.zh_ids) + len(b.en_ids) == 1 for b in beads if not (b.zh_ids and b.en_ids))


@pytest.mark.parametrize("seed", range(6))
def test_every_sentence_ends_in_exactly_one_bead(seed):
    rng = random.Random(seed)
    zh = list(range(rng.randint(5, 40)))
    en = [k for k in zh if rng.random() > 0.1] + [1000 + k for k in range(rng.randint(0, 4))]
    for _ in range(rng.randint(0, 3)):  # move a few runs
        a = rng.randrange(len(en))
        block = en[a:a + rng.randint(1, 6)]
        del en[a:a + len(block)]
        p = rng.randrange(len(en) + 1)
        en[p:p] = block
    beads = run(zh, en)
    assert covers_each_once(beads, len(zh), len(en))
    assert all(b.zh_ids or b.en_ids for b in beads)


def test_a_paragraph_break_decides_where_a_moved_block_starts():
    sim = np.full((6, 6), -0.1)
    for i, j in [(0, 0), (1, 1), (2, 4), (3, 5), (4, 2), (5, 3)]:
        sim[i, j] = 0.8
    pieces = find_moves(sim, en_paras=[0, 0, 1, 1, 2, 2])
    assert pieces is not None
    assert [(s, e) for s, e, _ in pieces] == [(0, 2), (4, 6), (2, 4)]


def test_calibrated_scores_are_probabilities_and_rank_right_above_wrong():
    enc = TopicEncoder()
    zh = [zh_s(k) for k in range(10)]
    en = [en_s(k) for k in range(10)]
    vz, ve = enc.encode(zh), enc.encode(en)
    from align.model import Bead

    right = [Bead([k], [k], 0.6) for k in range(10)]
    wrong = [Bead([k], [(k + 5) % 10], 0.05) for k in range(10)]
    calibrate_beads(right, vz, ve)
    calibrate_beads(wrong, vz, ve)
    assert all(0.0 <= b.score <= 1.0 for b in right + wrong)
    assert min(b.score for b in right) > 0.8 and max(b.score for b in wrong) < min(b.score for b in right) - 0.2
    assert right[0].raw == 0.6  # the aligner's own score is kept


def _moved_vectors(seed: int, n: int = 70, d: int = 16):
    """Centred unit vectors of n Chinese and n English sentences, one English block moved."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d)).astype(np.float32)
    order = list(range(n))
    a = int(rng.integers(0, n - 8))
    block = order[a:a + 6]
    del order[a:a + 6]
    p = int(rng.integers(0, len(order)))
    order[p:p] = block
    e = z[order] + 0.5 * rng.standard_normal((n, d)).astype(np.float32)
    return centred(z), centred(e)


@pytest.mark.parametrize("seed", range(4))
def test_blocked_candidates_and_moves_equal_the_whole_matrix_computation(seed):
    """Linear memory changes nothing: row blocks (here 16 rows) give the full matrix's top-k and moves."""
    z, e = _moved_vectors(seed)
    sim = z @ e.T
    opt = MoveOptions()
    idx, vals = sim_.candidates(sim_.Similarity(z, e), opt, cells=64)  # many blocks of 16 rows on a 70×70 document
    full = sim_.smoothed(sim, opt)
    want = np.sort(-full, axis=1)[:, :opt.top_k]
    np.testing.assert_allclose(-np.sort(-vals, axis=1), -want, rtol=0, atol=1e-5)
    np.testing.assert_allclose(vals, np.take_along_axis(full, idx, axis=1), rtol=0, atol=1e-5)
    paras = [j // 4 for j in range(len(e))]
    anchors = mv.chain(idx, vals, len(e), opt)
    assert find_moves(sim_.Similarity(z, e), paras, anchors=anchors) == find_moves(sim, paras)


@pytest.mark.parametrize("n,m", [(1, 1), (2, 3), (3, 2), (5, 4), (4, 9)])
def test_smoothed_candidates_of_tiny_documents_equal_the_whole_matrix_computation(n, m):
    """Documents shorter than the smoothing's reach (3 sentences), a block a row: the first and
    last rows, which have no row above or below, and the last columns, which have fewer after."""
    rng = np.random.default_rng(n * 10 + m)
    z, e = centred(rng.standard_normal((n, 8)).astype(np.float32)), centred(rng.standard_normal((m, 8)).astype(np.float32))
    opt = MoveOptions()
    idx, vals = sim_.candidates(sim_.Similarity(z, e), opt, cells=m)
    full = sim_.smoothed(z @ e.T, opt)
    np.testing.assert_allclose(vals, np.take_along_axis(full, idx, axis=1), rtol=0, atol=1e-6)
    np.testing.assert_allclose(-np.sort(-vals, axis=1), np.sort(full, axis=1)[:, ::-1][:, :idx.shape[1]], atol=1e-6)


@pytest.mark.parametrize("seed", range(2))
def test_candidates_from_the_documents_one_similarity_pass_are_the_move_finders_own(seed):
    """The pipeline takes the move finder's candidates from its neighbours pass (blocks of other
    sizes, one row of margin): what the finder's own pass gives (products of other shapes: to float
    rounding)."""
    from align.core.vectors import neighbours

    z, e = _moved_vectors(seed)
    opt = MoveOptions()
    own_i, own_v = sim_.candidates(sim_.Similarity(z, e), opt)
    fused = sim_.Candidates(len(z), len(e), opt)
    neighbours(z, e, 8, fused.add, cells=70 * 16)  # many blocks of 16 rows
    assert np.array_equal(np.sort(fused.idx, axis=1), np.sort(own_i, axis=1))
    np.testing.assert_allclose(np.sort(fused.sims, axis=1), np.sort(own_v, axis=1), rtol=0, atol=1e-6)


def test_neighbours_of_blocks_on_several_cores_are_the_whole_matrixs():
    """The one similarity pass runs its row blocks side by side; each sentence's nearest ones and each
    English sentence's best Chinese one must be the whole matrix's, a tie going to the first row
    even where a later block finishes first."""
    from align.core.vectors import neighbours

    rng = np.random.default_rng(4)
    # whole numbers: every product is exact in any summation order, so the repeated rows tie exactly
    # (with real-valued vectors the BLAS kernel may round a row differently at another place in a block)
    z = rng.integers(-50, 51, size=(300, 16)).astype(np.float32)
    e = rng.integers(-50, 51, size=(90, 16)).astype(np.float32)
    z[250:] = z[:50]  # the same sentences again, many blocks later
    full = z @ e.T
    near = neighbours(z, e, 5, cells=16 * 90)  # blocks of 16 rows
    assert np.array_equal(near.col_idx, full.argmax(axis=0))  # the first row of each column's best
    assert np.array_equal(near.col_sims, full.max(axis=0))
    rest = full.copy()
    rest[full.argmax(axis=0), np.arange(full.shape[1])] = -np.inf  # and the best of the other rows
    assert np.array_equal(near.col_idx2, rest.argmax(axis=0)) and np.array_equal(near.col_sims2, rest.max(axis=0))
    want = -np.sort(-full, axis=1)[:, :5]
    assert np.array_equal(np.sort(near.idx, axis=1), np.sort(np.argsort(-full, axis=1, kind="stable")[:, :5], axis=1))
    np.testing.assert_allclose(-np.sort(-near.sims, axis=1), want, rtol=0, atol=1e-6)


def test_calibration_features_from_top_lists_equal_the_whole_matrix():
    """Best competitor outside a bead and a lone sentence's best match, without the n×m matrix."""
    from align.core.calibrate import features
    from align.model import Bead

    z, e = _moved_vectors(5, n=40)
    beads = [Bead([0, 1], [0], 0.5), Bead([2], [1, 2, 3], 0.4), Bead([3], []), Bead([], [4])]
    beads += [Bead([i], [i], 0.6) for i in range(4, 40)] + [Bead([], [j]) for j in range(5, 8)]
    got = features(beads, z, e)
    z, e = centred(z), centred(e)  # as features sees them
    sim = z @ e.T
    for b, row in zip(beads, got):
        if b.two_sided:
            zv = z[b.zh_ids].sum(axis=0)
            ev = e[b.en_ids].sum(axis=0)
            zv, ev = zv / np.linalg.norm(zv), ev / np.linalg.norm(ev)
            out_e = [j for j in range(len(e)) if j not in b.en_ids]
            out_z = [i for i in range(len(z)) if i not in b.zh_ids]
            alt = max((zv @ e[out_e].T).max(), (ev @ z[out_z].T).max())
            assert row[1] == pytest.approx(float(zv @ ev) - alt, abs=1e-5)
            assert row[2] == len(b.zh_ids) + len(b.en_ids) - 2
        elif b.zh_ids:
            assert row == [pytest.approx(float(sim[b.zh_ids[0]].max()), abs=1e-5)]
        else:
            assert row == [pytest.approx(float(sim[:, b.en_ids[0]].max()), abs=1e-5)]


def _alignment(scores):
    doc = Document("d", zh=[Sentence(f"中文句子{k}。") for k in range(3)],
                   en=[Sentence(f"English sentence {k}.") for k in range(4)])
    from align.model import Bead

    beads = [Bead([0], [0], scores[0]), Bead([1], [1], scores[1]), Bead([2], [2], scores[2]), Bead([], [3], 0.7)]
    return Alignment(doc, beads)


def test_min_score_keeps_low_pairs_out_of_the_tmx_and_lists_them_for_review(tmp_path):
    written = write_alignment(_alignment([0.95, 0.3, 0.8]), tmp_path, OutputOptions(["tmx", "csv"], min_score=0.5))
    assert sorted(p.name for p in written) == ["d.csv", "d.review.tsv", "d.tmx"]
    segs = [s.text for s in ET.parse(tmp_path / "d.tmx").getroot().iter("seg")]
    assert "中文句子1。" not in segs and "中文句子0。" in segs and "中文句子2。" in segs
    rows = list(csv.reader(io.StringIO((tmp_path / "d.csv").read_text(encoding="utf-8-sig"))))
    assert [r[2] for r in rows[1:4]] == ["0.950", "0.300", "0.800"]  # the CSV keeps them, with their score
    review = list(csv.reader(io.StringIO((tmp_path / "d.review.tsv").read_text(encoding="utf-8")), delimiter="\t"))
    assert review[0][0] == "reason"
    assert [(r[0], r[1], r[2]) for r in review[1:]] == [("low score", "中文句子1。", "English sentence 1."),
                                                        ("unaligned en", "", "English sentence 3.")]


def test_without_min_score_no_review_file_and_the_tmx_keeps_everything(tmp_path):
    written = write_alignment(_alignment([0.95, 0.3, 0.8]), tmp_path, OutputOptions(["tmx"]))
    assert [p.name for p in written] == ["d.tmx"]
    assert len(list(ET.parse(tmp_path / "d.tmx").getroot().iter("tu"))) == 3


@pytest.fixture
def topic_encoder(monkeypatch):
    enc = TopicEncoder()
    monkeypatch.setattr(api, "load_encoder", lambda model=None, device=None: enc)
    return enc


def _swapped_release(tmp_path):
    zh = [list(range(0, 4)), list(range(4, 8)), list(range(8, 12)), list(range(12, 16))]
    en = [zh[0], zh[2], zh[1], zh[3]]  # the English swaps the second and third paragraphs
    text = "\n\n".join("".join(zh_s(k) for k in p) for p in zh) + "\n\n" + \
        "\n\n".join(" ".join(en_s(k) for k in p) for p in en) + "\n"
    path = tmp_path / "release.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_api_monotonic_switch_and_min_score(tmp_path, topic_encoder):
    path = _swapped_release(tmp_path)
    moves = api.align_path(path, out_dir=tmp_path / "a", formats=["csv"], min_score=0.5)
    mono = api.align_path(path, out_dir=tmp_path / "b", formats=["csv"], monotonic=True)
    a, b = moves.documents[0].alignment, mono.documents[0].alignment
    right = lambda al: sum(1 for p in al.pairs if re.findall("«(\\d+)»", p.zh) == re.findall("«(\\d+)»", p.en))  # noqa: E731
    assert right(a) == 16 > right(b)
    assert (tmp_path / "a" / "release.review.tsv").exists() and not (tmp_path / "b" / "release.review.tsv").exists()
    with pytest.raises(api.InputError):
        api.align_path(path, out_dir=tmp_path / "c", min_score=1.5)


def test_cli_min_score_and_monotonic_options(tmp_path, topic_encoder):
    path = _swapped_release(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cli.app, [str(path), "-o", str(tmp_path / "o"), "--min-score", "0.5"])
    assert res.exit_code == 0, res.output
    assert "needs review" in res.output and "moved" in res.output
    assert (tmp_path / "o" / "release.review.tsv").exists()
    res = runner.invoke(cli.app, [str(path), "-o", str(tmp_path / "m"), "--monotonic"])
    assert res.exit_code == 0, res.output
    assert "moved" not in res.output and not (tmp_path / "m" / "release.review.tsv").exists()
    res = runner.invoke(cli.app, [str(path), "--min-score", "2"])
    assert res.exit_code != 0


def test_moved_counts_the_smaller_side_of_each_crossing_and_depends_on_the_beads_alone():
    from align.model import Bead

    def marks(en_order, flags=False):
        beads = [Bead([k], [j], 0.9, moved=flags) for k, j in enumerate(en_order)]
        mv.order_marks(beads)
        return [k for k, b in enumerate(beads) if b.moved], [b.jump for b in beads]

    # English 6-7 sit before 3-5: the two pairs are the smaller side of the crossing
    assert marks([0, 1, 2, 6, 7, 3, 4, 5, 8])[0] == [3, 4]
    assert marks([0, 1, 2, 6, 7, 3, 4, 5, 8], flags=True) == marks([0, 1, 2, 6, 7, 3, 4, 5, 8])
    assert marks(list(range(9))) == ([], [0] * 9)
    # one pair linked far away: out of order, and it jumps; its neighbours do not
    got, jumps = marks([0, 1, 30, 2, 3, 4])
    assert got == [2] and jumps[2] == 28 and jumps[1] == jumps[3] == 0
    # the last pair comes after a moved one: it follows on from the in-order pair before that, no jump
    beads = [Bead([0], [0]), Bead([1], [1]), Bead([2], [2]), Bead([3], [30]), Bead([4], [3, 4])]
    mv.order_marks(beads)
    assert [b.moved for b in beads] == [False, False, False, True, False]
    assert [b.jump for b in beads] == [0, 0, 0, 27, 0]
    # a moved block of two: its pairs follow on from each other, the pairs around it from theirs
    got, jumps = marks([0, 1, 2, 20, 21, 3, 4, 5])
    assert got == [3, 4] and jumps == [0] * 8


def test_a_document_too_long_for_more_tries_still_checks_a_move_against_the_real_order():
    """Every document gets two aligner runs at least: the real order and the move finder's first
    answer, kept only when its path scores higher (unverified moves cost long documents more than
    their real moves gave)."""
    zh = list(range(24))
    en = list(range(0, 6)) + list(range(14, 19)) + list(range(6, 14)) + list(range(19, 24))
    tight = AlignOptions(budget=1)  # budget / (n + m) is 0 runs: as for a document of 20,000 sentences
    assert pairs_of(run(zh, en, options=tight), zh, en) == [([k], [k]) for k in zh]
    assert pairs_of(run(zh, zh, options=tight), zh, zh) == pairs_of(run(zh, zh, monotonic=True), zh, zh)


def test_calibration_reads_one_sentence_sides_from_the_similarity_pass_with_the_same_margins():
    """The pipeline hands calibration its similarity pass: a bead whose side is one sentence takes
    its best competitor from that sentence's top list when the list settles it, the other beads
    are multiplied; the margins are those of multiplying every bead, in a long document too, where
    a copy of the sentence far away (outside the bead's window) is no competitor."""
    from align.core.calibrate import COMPETITORS, features
    from align.core.vectors import centred_pair, neighbours
    from align.model import Bead

    rng = np.random.default_rng(4)
    n = 2 * COMPETITORS + 300  # a long document: each bead's competitors come from a window
    z = rng.standard_normal((n, 16)).astype(np.float32)
    e = z + 0.3 * rng.standard_normal((n, 16)).astype(np.float32)
    e[n - 40:] = e[:40]  # the first 40 English sentences again at the end, far outside their window
    z[n - 40:] = z[:40]
    beads = [Bead([0], [0, 1], 0.5), Bead([1, 2], [2], 0.5), Bead([3], []), Bead([], [3])]
    beads += [Bead([i], [i], 0.6) for i in range(4, n)]
    zc, ec = centred_pair(z, e)
    near = neighbours(zc, ec, 16)
    want = features(beads, z, e, (zc, ec))
    got = features(beads, z, e, (zc, ec), near)
    assert [len(r) for r in got] == [len(r) for r in want]
    for g, w in zip(got, want):
        assert g == pytest.approx(w, abs=1e-5)
    copied = [r[1] for r in got[4:40]]  # beads 4..39: a far copy, counted, would leave a margin of 0
    assert min(copied) > 1e-3


def test_a_long_documents_calibration_competitors_come_from_near_the_bead():
    """In a long document a bead's best competitor is searched within a window of sentences around
    it (linear time): the same as every key in that window, best first; all keys in a short one."""
    from align.core.calibrate import near_top

    rng = np.random.default_rng(1)
    q = rng.standard_normal((600, 8)).astype(np.float32)
    keys = rng.standard_normal((700, 8)).astype(np.float32)
    lo = np.sort(rng.integers(0, 690, 600))
    hi = lo + rng.integers(0, 3, 600)
    idx, sims = near_top(q, keys, 3, lo, hi, window=50)
    for r in range(0, 600, 37):
        block = slice((r // 256) * 256, min(600, (r // 256) * 256 + 256))
        a, b = max(0, lo[block].min() - 50), min(700, hi[block].max() + 51)
        want = np.argsort(-(keys[a:b] @ q[r]), kind="stable")[:3] + a
        assert list(idx[r]) == list(want)
    full = near_top(q[:10], keys[:90], 3, lo[:10], hi[:10], window=50)  # 90 keys <= 2 x 50: all of them
    np.testing.assert_array_equal(full[0], np.argsort(-(q[:10] @ keys[:90].T), axis=1, kind="stable")[:, :3])


@pytest.mark.parametrize("lone_en", [(), (7,)])
def test_a_run_against_another_english_order_reads_the_beads_it_shares_and_scores_the_same(lone_en):
    """The move search aligns the document again against reordered English; beads it holds in the
    same order as the run before are read from that run's table instead of scored again. The path,
    its score and the bead scores must be those of a run that scores every bead itself."""
    from align.core.dp import Known

    keys = list(range(40))
    zh, en = [zh_s(k) for k in keys], [en_s(k) for k in keys]
    en[12:13] = [f"Sentence «12» begins here,", "and it ends there."]  # a 1-2 bead
    enc = TopicEncoder()
    zv, ev = enc.encode(zh), enc.encode(en)
    order = list(range(0, 10)) + list(range(25, 33)) + list(range(10, 25)) + list(range(33, len(en)))
    opt = AlignOptions(spans="sum")  # a bead's score is its own (USE's composed spans are too; refined ones are not)
    first = align(zh, en, enc, opt, zv, ev, lone_en=lone_en, keep_table=True)
    lone_here = [k for k, j in enumerate(order) if j in lone_en]
    args = (zh, [en[j] for j in order], enc, opt, zv, ev[order])
    fresh = align(*args, lone_en=lone_here, keep_table=True)
    known = Known(first.table, order)
    read = align(*args, lone_en=lone_here, known=known, keep_table=True)
    for got, want in zip(read.table.flat, fresh.table.flat):  # every bead's score, not only the path's
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)  # float32 products, in blocks of other shapes
    assert [(b.zh_ids, b.en_ids) for b in read.beads] == [(b.zh_ids, b.en_ids) for b in fresh.beads]
    assert read.total == pytest.approx(fresh.total, abs=1e-4)
    assert [b.score for b in read.beads] == pytest.approx([b.score for b in fresh.beads], abs=1e-6)
    diagonal = known.scores(1, 1, np.arange(1, 41), np.arange(1, 41))[0]
    assert diagonal[:10].all() and not diagonal[10:18].any()  # read where both runs hold the same beads
    assert known.share(*band_rows(prepare(*args, lone_en=lone_here).wins), bead_types(opt.max_bead)) >= KNOWN_MIN_SHARE


def test_the_share_of_a_band_an_earlier_run_holds_counts_every_bead_and_a_far_moved_order_is_scored_afresh():
    """``Known.share`` decides whether a run against reordered English reads the earlier run's scores
    (most beads the same) or scores its band as a first run does (the English moved far: reading
    bead by bead would cost more). It must count what ``Known.scores`` holds, bead by bead, and the
    alignment must not depend on the choice."""
    from align.core.dp import Known, _type_cells

    keys = list(range(60))
    zh, en = [zh_s(k) for k in keys], [en_s(k) for k in keys]
    enc = TopicEncoder()
    zv, ev = enc.encode(zh), enc.encode(en)
    opt = AlignOptions(spans="sum")
    types = bead_types(opt.max_bead)
    first = align(zh, en, enc, opt, zv, ev, keep_table=True)
    far = [j for k in range(6) for j in range(k, 60, 6)]  # every English neighbour pair broken apart
    args = (zh, [en[j] for j in far], enc, opt, zv, ev[far])
    known = Known(first.table, far)
    lo, hi = band_rows(prepare(*args).wins)
    held = total = 0
    for a, b in types:
        if b == 0:
            continue
        ok, c0, c1 = _type_cells(lo, hi, a, b)
        for r in np.flatnonzero(ok):
            cells = np.arange(c0[r], c1[r] + 1)
            held += int(known.scores(a, b, np.full(len(cells), r), cells)[0].sum())
            total += len(cells)
    assert 0 < held < total / 2
    assert known.share(lo, hi, types, step=1) == pytest.approx(held / total)
    same = Known(first.table, list(range(60)))  # the same order: every bead held
    assert same.share(*band_rows(prepare(zh, en, enc, opt, zv, ev).wins), types) == 1.0
    fresh = align(*args)
    read = align(*args, known=known)
    assert [(b.zh_ids, b.en_ids) for b in read.beads] == [(b.zh_ids, b.en_ids) for b in fresh.beads]
    assert [b.score for b in read.beads] == [b.score for b in fresh.beads]
