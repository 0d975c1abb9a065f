"""A white-paper-style release (our own text, tests/fixtures/white-paper.txt): a contents page whose
two languages differ (the Chinese lists sections, the English chapters only), numbered headings in
both languages ("一、" / "I.", "（一）" / "1."), and a Chinese paragraph without translation.
Uses the default encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

import align

DOC = Path(__file__).resolve().parent / "fixtures" / "white-paper.txt"

# The contents page: Chinese lines and the English line each pairs with, or None (one-sided).
CONTENTS = [("目录", "Contents"), ("前言", "Preface"), ("一、城市绿道的发展历程", "I. The Development of Urban Greenways"),
            ("（一）从公园到绿道", None), ("（二）规划体系逐步完善", None),
            ("二、城市绿道的主要成效", "II. Main Achievements of Urban Greenways"),
            ("（一）生态环境明显改善", None), ("（二）市民生活更加便利", None),
            ("三、城市绿道的国际合作", "III. International Cooperation on Urban Greenways"), ("结束语", "Conclusion")]
HEADINGS = [("一、城市绿道的发展历程", "I. The Development of Urban Greenways"),
            ("（一）从公园到绿道", "1. From Parks to Greenways"), ("（二）规划体系逐步完善", "2. An Improving Planning System"),
            ("二、城市绿道的主要成效", "II. Main Achievements of Urban Greenways"),
            ("（一）生态环境明显改善", "1. A Markedly Better Environment"),
            ("（二）市民生活更加便利", "2. More Convenient Lives for Residents"),
            ("三、城市绿道的国际合作", "III. International Cooperation on Urban Greenways")]
UNTRANSLATED = "当地居民自发组织了护绿志愿队"


@pytest.fixture(scope="module")
def result():
    return align.align_file(DOC)


def texts(result):
    return [result.text(b) for b in result.beads]


def test_no_english_heading_is_cut_at_its_numeral(result):
    english = [s.text for s in result.doc.en]
    for _, en in HEADINGS:
        assert en in english
    assert not [s for s in english if s.rstrip(".") in ("I", "II", "III", "1", "2")]


def test_the_contents_page_pairs_line_by_line_or_stays_one_sided(result):
    got = texts(result)
    start = next(k for k, (zh, _) in enumerate(got) if zh == "目录")
    assert got[start:start + len(CONTENTS)] == [(zh, en or "") for zh, en in CONTENTS]


def test_every_body_heading_pairs_with_its_own_english_heading(result):
    got = texts(result)
    body = got[next(k for k, (zh, en) in enumerate(got) if zh == "前言" and en == "Preface" and k > 3):]
    for zh, en in HEADINGS:
        assert (zh, en) in body


def test_the_untranslated_paragraph_stays_one_sided_and_every_other_sentence_pairs_one_to_one(result):
    for b, (zh, en) in zip(result.beads, texts(result)):
        if zh.startswith(UNTRANSLATED):
            assert not en
        elif en:
            assert b.kind == "1-1"
    assert sum(1 for b in result.beads if b.two_sided) == len(result.doc.en)  # every English sentence has its pair
    assert not any(b.moved for b in result.beads)
