"""The sample release ../shared/samples/zgc-forum-2023.txt: its English swaps two paragraphs.

The Chinese paragraph about the Collaborative Innovation Platform (姜爱娜发布了…)
is the English text's sixth paragraph, after the round-table paragraph. All 16
Chinese sentences must be paired with the right English sentence(s). Uses the
default encoder; skipped when the shared samples are absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import align
from align import AlignOptions
from align.pipeline import align_document

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "zgc-forum-2023.txt"

# Each Chinese sentence (by prefix) and the prefixes of its English sentence(s), in order.
EXPECTED = [
    ("世界知名高校技术转移发展大会于2023", ["ZGC Forum Technology Transfer"]),
    ("【2023年5月28日 北京】", ["[28 May 2023, Beijing]"]),
    ("专场由科技部成果转化", ["The conference is hosted by"]),
    ("专场由中国教育在线副总编", ["The conference was presided over", "Representatives of scientific"]),
    ("近年来，职务科技成果", ["In recent years"]),
    ("科技部科技评估中心副总评估师杨云", ["Yang Yun, Deputy Chief Assessor"]),
    ("《报告》显示", ["According to this report", "The contract value of multi-modal",
                 "The total amount of contracts"]),
    ("中央和地方所属高等院校", ["The amount and number of contracts"]),
    ("北京中关村软件园发展有限责任公司总经理姜爱娜", ["Jiang Aina, General Manager"]),
    ("据介绍，该平台将打造", ["According to the introduction"]),
    ("会上还以视频的形式", ["The conference also released"]),
    ("专场邀请到了一批", ["The conference invited a group", "This session was moderated"]),
    ("其中，西安交通大学", ["Among them, Wang Wen"]),
    ("德国卡尔斯鲁厄理工学院", ["Leading experts from overseas"]),
    ("据悉，本次系中关村论坛", ["This series of special activities"]),
    ("邀请国内外知名高校", ["Inviting relevant competent authorities"]),
]


@pytest.fixture(scope="module")
def alignment():
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} not available")
    return align.align_file(SAMPLE)


def test_all_16_sentence_pairs_are_right_although_two_paragraphs_are_swapped(alignment):
    doc = alignment.doc
    assert len(doc.zh) == 16
    got = []
    for b in alignment.beads:
        if b.zh_ids:
            got.append((doc.zh[b.zh_ids[0]].text, [doc.en[j].text for j in b.en_ids], len(b.zh_ids)))
    assert len(got) == 16 and all(n == 1 for _, _, n in got)
    for (zh, en, _), (zh_prefix, en_prefixes) in zip(got, EXPECTED):
        assert zh.startswith(zh_prefix)
        assert len(en) == len(en_prefixes), (zh_prefix, en)
        assert all(e.startswith(p) for e, p in zip(en, en_prefixes)), (zh_prefix, en)


def test_output_follows_the_chinese_and_flags_the_moved_paragraph(alignment):
    zh_order = [b.zh_ids[0] for b in alignment.beads if b.zh_ids]
    assert zh_order == sorted(zh_order)
    moved = [b for b in alignment.beads if b.moved]
    assert moved and all(b.two_sided for b in moved)
    assert all(0.0 <= b.score <= 1.0 for b in alignment.beads)
    assert all(b.zh_ids and b.en_ids for b in alignment.beads)  # no sentence left over on either side


def test_monotonic_mode_cannot_pair_the_swapped_paragraphs(alignment):
    mono = align_document(alignment.doc, AlignOptions(monotonic=True))
    right = {(tuple(b.zh_ids), tuple(b.en_ids)) for b in alignment.beads}
    assert sum((tuple(b.zh_ids), tuple(b.en_ids)) in right for b in mono.beads) < 16
