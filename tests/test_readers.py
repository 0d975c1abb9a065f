"""Reading .docx, .html and non-UTF-8 text: what the aligner sees from each kind of file."""

from __future__ import annotations

from pathlib import Path

import pytest

from align import api
from align.io import read
from align.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
HTML_SAMPLE = ROOT / "data" / "sample-press.html"

ZH = ["星河科技今天发布了新一代城市交通大模型。", "该模型可以实时预测全市道路拥堵情况。"]
EN = ["Galaxy Tech released its new urban traffic model today.", "The model predicts congestion in real time."]


def make_docx(path: Path, paragraphs=(), table_rows=(), after=()) -> Path:
    """A small Word file built at test time: paragraphs, a table, more paragraphs."""
    docx = pytest.importorskip("docx")
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    if table_rows:
        t = d.add_table(rows=len(table_rows), cols=len(table_rows[0]))
        for r, row in enumerate(table_rows):
            for c, text in enumerate(row):
                t.cell(r, c).text = text
    for p in after:
        d.add_paragraph(p)
    section = d.sections[0]
    section.header.paragraphs[0].text = "页眉 Header text that is not part of the release"
    d.save(str(path))
    return path


def test_docx_paragraphs_and_tables_in_document_order(tmp_path):
    path = make_docx(tmp_path / "release.docx", paragraphs=["新闻稿"], table_rows=[[ZH[0], EN[0]], [ZH[1], EN[1]]],
                     after=["###"])
    text = read.read_text(path)
    lines = [line for line in text.split("\n") if line]
    assert lines == ["新闻稿", ZH[0], EN[0], ZH[1], EN[1], "###"]
    assert "Header text" not in text  # headers and footers are page furniture


def test_bilingual_table_docx_aligns_row_by_row(tmp_path, fake_encoder):
    path = make_docx(tmp_path / "table.docx", table_rows=[[ZH[0], EN[0]], [ZH[1], EN[1]]])
    doc = api.load_document(path)
    assert [s.text for s in doc.zh] == ZH and [s.text for s in doc.en] == EN


def test_docx_pair_of_files(tmp_path):
    zh = make_docx(tmp_path / "r.zh.docx", paragraphs=ZH)
    en = make_docx(tmp_path / "r.en.docx", paragraphs=EN)
    doc = api.load_document(en, zh)  # either order: the language is detected
    assert [s.text for s in doc.zh] == ZH and [s.text for s in doc.en] == EN


@pytest.mark.parametrize("data, why", [
    (b"PK\x03\x04 this is no zip at all", "not a readable Word .docx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old Word .doc"),
])
def test_broken_docx_is_a_one_line_input_error(tmp_path, data, why):
    path = tmp_path / "broken.docx"
    path.write_bytes(data)
    with pytest.raises(InputError, match=why):
        read.read_text(path)


def test_html_main_text_without_navigation_scripts_or_footer():
    text = read.read_text(HTML_SAMPLE)
    for furniture in ("首页", "Home", "var ", "cookies", "版权所有", "Share on", "function("):
        assert furniture not in text, furniture
    assert "星河科技发布新一代城市交通大模型" in text  # the article's own heading stays
    # a line break inside a Chinese sentence in the HTML source is no space; inline tags stay inline
    assert "今天，星河科技有限公司在杭州国际博览中心发布了新一代城市交通大模型“星河通途3.0”。" in text
    assert 'released its new-generation urban traffic model, "Galaxy Route 3.0", at the Hangzhou' in text


def test_html_sample_splits_into_both_languages():
    doc = api.load_document(HTML_SAMPLE)
    assert len(doc.zh) >= 5 and len(doc.en) >= 5
    assert doc.en[0].text.startswith("Galaxy Tech Releases")


def test_html_in_gb18030_with_a_gb2312_declaration(tmp_path):
    page = ('<html><head><meta charset="gb2312"></head><body><nav>导航 Nav</nav><p>' + ZH[0] + "𠀀</p><p>"
            + EN[0] + "</p></body></html>")
    path = tmp_path / "page.htm"
    path.write_bytes(page.encode("gb18030"))  # 𠀀 exists in GB18030 only, not in GB2312/GBK
    text = read.read_text(path)
    assert ZH[0] + "𠀀" in text and EN[0] in text and "导航" not in text


def test_gb18030_text_file(tmp_path):
    path = tmp_path / "release.txt"
    path.write_bytes(("\n".join(ZH) + "\n\n" + "\n".join(EN) + "\n").encode("gb18030"))
    doc = api.load_document(path)
    assert [s.text for s in doc.zh] == ZH and [s.text for s in doc.en] == EN
