"""Paragraphs present in one language only (align.core.lone): an added "About" section, a dropped paragraph."""

from __future__ import annotations

import numpy as np
import pytest

from align import api
from align.core import lone as unpaired
from align.core.options import LoneOptions
from align.model import Bead


def lone_paragraphs(zh, en, zh_paras, en_paras):
    return unpaired.lone_paragraphs(unpaired.paragraph_evidence(zh, en, zh_paras, en_paras), len(zh), len(en))

ZH = """2024年5月20日，北京——清华大学今天宣布成立人工智能研究院。研究院将聚焦大模型、机器人和智能医疗三个方向。

首任院长由计算机系教授张伟担任。他表示，研究院计划在五年内引进一百名青年学者。学校将为此投入二十亿元。

研究院与北京市政府签署了合作协议。双方将共建一个开放的算力平台，向中小企业免费开放。该平台预计明年投入使用。

发布会上还展示了一款用于手术辅助的机器人。这款机器人已在三家医院完成临床测试。"""

EN_PARAS = [
    "BEIJING, May 20, 2024 — Tsinghua University today announced the founding of an Institute for Artificial "
    "Intelligence. The institute will focus on large models, robotics and intelligent healthcare.",
    "Its first director is Zhang Wei, a professor of computer science. He said the institute plans to recruit one "
    "hundred young scholars within five years. The university will invest two billion yuan in the effort.",
    "The institute signed a cooperation agreement with the Beijing municipal government. The two sides will jointly "
    "build an open computing platform, free of charge for small and medium-sized enterprises. The platform is "
    "expected to go into service next year.",
    "A surgical assistance robot was also shown at the launch. The robot has completed clinical trials in three "
    "hospitals.",
]
ABOUT = ("About Tsinghua University: Founded in 1911, Tsinghua is one of China's leading research universities. "
         "It has more than 50,000 students in 21 schools. Its campus in northwest Beijing was once an imperial "
         "garden. For more information, visit www.tsinghua.edu.cn.")
ABOUT_SENTENCES = 4
# The English sentence (its start) each Chinese sentence translates, in order.
PAIRS = [("2024年5月20日", "BEIJING"), ("研究院将聚焦", "The institute will focus"), ("首任院长", "Its first director"),
         ("他表示", "He said"), ("学校将为此", "The university will"), ("研究院与北京市", "The institute signed"),
         ("双方将共建", "The two sides"), ("该平台预计", "The platform is expected"),
         ("发布会上", "A surgical assistance"), ("这款机器人", "The robot has")]


def texts(result, bead):
    doc = result.doc
    return [doc.zh[i].text for i in bead.zh_ids], [doc.en[j].text for j in bead.en_ids]


def assert_pairs(result, pairs):
    got = [texts(result, b) for b in result.beads if b.two_sided]
    assert len(got) == len(pairs), got
    for (zh, en), (zp, ep) in zip(got, pairs):
        assert len(zh) == 1 and len(en) == 1 and zh[0].startswith(zp) and en[0].startswith(ep), (zh, en)


@pytest.mark.parametrize("monotonic", [False, True])
def test_an_english_only_about_section_between_paragraphs_stays_unaligned(monotonic):
    en = "\n\n".join(EN_PARAS[:2] + [ABOUT] + EN_PARAS[2:])
    result = api.align_pair(ZH, en, monotonic=monotonic)
    assert_pairs(result, PAIRS)  # before align.core.lone: "The institute signed" came as 1-3 with two About sentences
    lone = [texts(result, b)[1][0] for b in result.beads if not b.zh_ids]
    assert len(lone) == ABOUT_SENTENCES and lone[0].startswith("About Tsinghua")
    assert all(b.score is not None for b in result.beads)
    # The unaligned run keeps its place: after the pair of the English sentence before it.
    order = [j for b in result.beads for j in b.en_ids]
    assert order == sorted(order)


@pytest.mark.parametrize("monotonic", [False, True])
def test_a_paragraph_left_out_of_the_chinese_leaves_its_english_one_sided(monotonic):
    zh = ZH.replace("研究院与北京市政府签署了合作协议。双方将共建一个开放的算力平台，向中小企业免费开放。该平台预计明年投入使用。\n\n", "")
    result = api.align_pair(zh, "\n\n".join(EN_PARAS), monotonic=monotonic)
    assert_pairs(result, PAIRS[:5] + PAIRS[8:])  # before: "A surgical assistance" came with two strays, as 1-3
    lone = [texts(result, b)[1][0] for b in result.beads if not b.zh_ids]
    assert [s.split()[:2] for s in lone] == [["The", "institute"], ["The", "two"], ["The", "platform"]]


def topic_vectors(keys, dim=512, seed=0):
    """Unit vectors as wide as the default encoder's: equal keys are near-identical, different keys unrelated."""
    rng = np.random.default_rng(seed)
    base = {k: np.random.default_rng(k + 1).standard_normal(dim) for k in set(keys)}
    out = np.stack([base[k] + 0.2 * rng.standard_normal(dim) for k in keys])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_a_paragraph_that_matches_nothing_is_set_aside_and_nothing_else():
    zh_keys = list(range(12))
    en_keys = list(range(6)) + [900, 901, 902] + list(range(6, 12))
    zh_paras = [k // 3 for k in range(12)]
    en_paras = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    zh_lone, en_lone = lone_paragraphs(topic_vectors(zh_keys), topic_vectors(en_keys, seed=1), zh_paras, en_paras)
    assert (zh_lone, en_lone) == ([], [6, 7, 8])


def test_without_paragraphs_or_with_a_foreign_encoder_nothing_is_set_aside():
    keys = list(range(12))
    zh, en = topic_vectors(keys), topic_vectors([k + 500 for k in keys], seed=1)  # nothing matches anything
    paras = [k // 3 for k in keys]
    assert lone_paragraphs(zh, en, paras, paras) == ([], [])  # most of a side: the encoder, not the text
    same = topic_vectors(keys, seed=1)
    assert lone_paragraphs(zh, same, [0] * 12, [0] * 12) == ([], [])  # pre-split: one paragraph
    assert lone_paragraphs(zh[:5], same[:5], paras[:5], paras[:5]) == ([], [])  # too short to judge


def test_detach_frees_the_unrelated_paragraph_part_of_a_bead_and_keeps_the_rest():
    zh = topic_vectors([0, 1])
    en = topic_vectors([0, 700, 701, 1], seed=1)
    beads = [Bead([0], [0, 1, 2]), Bead([1], [3])]
    out = unpaired.detach(beads, zh, en, [0, 1], [0, 1, 1, 2])
    assert [(b.zh_ids, b.en_ids) for b in out] == [([0], [0]), ([], [1]), ([], [2]), ([1], [3])]
    # Within one paragraph, or when the part belongs, nothing changes.
    assert unpaired.detach(beads, zh, en, [0, 1], [0, 0, 0, 1]) == beads
    related = topic_vectors([0, 0, 0, 1], seed=1)
    assert [(b.zh_ids, b.en_ids) for b in unpaired.detach(beads, zh, related, [0, 1], [0, 1, 1, 2])] == \
        [([0], [0, 1, 2]), ([1], [3])]


def test_the_aligner_keeps_sentences_marked_lone_one_sided_and_every_bead_contiguous():
    from test_moves import TopicEncoder, en_s, zh_s

    from align.core.aligner import align

    zh_keys = [0, 1, 2, 3, 4, 5, 6, 7]
    en_keys = [0, 1, 2, 2, 3, 4, 5, 6, 7]  # English 3 repeats English 2's meaning
    zh, en = [zh_s(k) for k in zh_keys], [en_s(k) for k in en_keys]
    free = align(zh, en, TopicEncoder()).beads
    assert any(3 in b.en_ids and b.zh_ids for b in free)  # unmarked, it joins the pair of Chinese 2
    marked = align(zh, en, TopicEncoder(), lone_en=[3], lone_zh=[7]).beads
    assert [(b.zh_ids, b.en_ids) for b in marked if b.two_sided] == [([k], [k + (k > 2)]) for k in range(7)]
    assert sorted((b.zh_ids, b.en_ids) for b in marked if not b.two_sided) == [([], [3]), ([], [8]), ([7], [])]


def test_a_try_on_a_window_of_the_path_scores_like_a_whole_aligner_run():
    from test_moves import TopicEncoder, en_s, zh_s

    from align.core.aligner import align

    zh = [zh_s(k) for k in range(10)]
    en = [en_s(k) for k in [0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9]]  # English 3 repeats English 2's meaning
    first = align(zh, en, TopicEncoder())
    realign = first.realign
    for lone in ([3], [2, 3], [5]):
        whole = align(zh, en, TopicEncoder(), lone_en=lone)
        # Only the length ratio of the rest of the document differs: a few hundredths.
        assert realign.gain([], lone) == pytest.approx(whole.total - first.total, abs=0.2)
    realign.gain([], [3])
    realign.keep()
    assert realign.path == whole_path(zh, en, lone_en=[3])
    assert realign.gain([], [3]) == 0.0  # nothing new to mark


def whole_path(zh, en, **lone):
    from test_moves import TopicEncoder

    from align.core.aligner import align

    return align(zh, en, TopicEncoder(), **lone).realign.path


def test_a_weakly_matched_paragraph_is_kept_one_sided_only_when_the_path_scores_higher():
    """Tried one-sided by a cheap window re-alignment; the aligner runs once at the end, and only
    if something stays marked."""
    zh_keys = list(range(12))
    en_keys = list(range(6)) + [900, 901, 902] + list(range(6, 12))
    zh, en = topic_vectors(zh_keys), topic_vectors(en_keys, seed=1)
    en[6:9] = topic_vectors([3, 4, 5], seed=2) * 0.25 + en[6:9]  # a paragraph with some likeness to the one before
    en /= np.linalg.norm(en, axis=1, keepdims=True)
    zh_paras = [k // 3 for k in range(12)]
    en_paras = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert lone_paragraphs(zh, en, zh_paras, en_paras) == ([], [])  # too much likeness to be sure
    evidence = unpaired.paragraph_evidence(zh, en, zh_paras, en_paras)
    runs, tries, kept = [], [], []
    cost = LoneOptions().cost

    def try_lone(lone_zh, lone_en):
        runs.append((lone_zh, lone_en))
        return ["whole run", lone_zh, lone_en]

    def local(gain):
        def judge(lone_zh, lone_en):
            tries.append((lone_zh, lone_en))
            return (gain if lone_en == [6, 7, 8] else -5.0), lambda: kept.append(lone_en)
        return judge

    glued = [Bead([k], [k]) for k in range(5)] + [Bead([5], [5, 6, 7, 8])] + [Bead([k], [k + 3]) for k in range(6, 12)]
    args = (glued, evidence, len(zh), len(en), [], [])
    got = unpaired.verify_lone(try_lone, local(cost + 0.5), *args, limit=1)
    assert got == (["whole run", [], [6, 7, 8]], [], [6, 7, 8])
    assert runs == [([], [6, 7, 8])] and kept == [[6, 7, 8]] and tries[0] == ([], [6, 7, 8])
    runs.clear()
    tries.clear()
    got = unpaired.verify_lone(try_lone, local(cost - 0.5), *args, limit=1)
    assert got == (glued, [], []) and runs == [] and 1 <= len(tries) <= LoneOptions().candidate_tries
    tries.clear()
    unpaired.verify_lone(try_lone, local(cost + 0.5), *args, limit=0)
    assert tries == [] and runs == []  # not even the one run at the end is left in the caller's budget
