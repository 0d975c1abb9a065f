"""Exports that CAT tools and spreadsheets accept: TMX read back by translate-toolkit and
pre-translated from by OmegaT, xlsx opened by openpyxl, tsv/csv with --excel-safe."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from align.errors import InputError
from align.model import Pair
from align.io.write import (FORMATS, TmxOptions, csv_bytes, excel_safe, render, tmx_bytes, tsv_bytes, write_corpus,
                         xlsx_bytes)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DTD = SHARED / "tools" / "tmx14.dtd"
PRETRANSLATE = SHARED / "tools" / "omegat-pretranslate"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Sentence pairs of data/sample-press.txt, as the aligner pairs them.
SAMPLE = [
    ("星河科技发布新一代城市交通大模型（新闻稿）",
     "Galaxy Tech Releases New-Generation Urban Traffic Model (Press Release)"),
    ("公司首席执行官李明远表示：“我们希望让每一位市民的通勤时间缩短十分钟。”",
     "\"We want to cut every commuter's journey by ten minutes,\" said Li Mingyuan, CEO of the company."),
    ("星河科技成立于2015年，总部位于杭州，目前拥有员工1200余人。",
     "Founded in 2015 and headquartered in Hangzhou, Galaxy Tech now has more than 1,200 employees."),
    ("价格低于5元 & 不含税。", "The price is < 5 yuan & excludes tax."),
]


def items(rows=SAMPLE, source="press.txt", scores=None):
    out = []
    for i, (zh, en) in enumerate(rows):
        score = scores[i] if scores else 0.9
        out.append((Pair(zh, en, [i] if zh else [], [i] if en else [], score if zh and en else None,
                         f"{int(bool(zh))}-{int(bool(en))}"), source))
    return out


# ---------------------------------------------------------------- TMX

def check_tmx_structure(data: bytes, zh_tag="zh-CN", en_tag="en-US") -> list:
    """What the DTD requires, checked without it: header attributes, tu/tuv/seg nesting, languages."""
    etree = pytest.importorskip("lxml.etree")
    root = etree.fromstring(data)
    assert root.tag == "tmx" and root.get("version") == "1.4"
    header = root.find("header")
    for attr in ("creationtool", "creationtoolversion", "segtype", "o-tmf", "adminlang", "srclang", "datatype"):
        assert header.get(attr), attr
    assert header.get("srclang") == zh_tag
    assert [c.tag for c in root] == ["header", "body"]
    tus = root.findall("body/tu")
    ids = [tu.get("tuid") for tu in tus]
    assert len(set(ids)) == len(ids) and all(ids)
    for tu in tus:
        assert tu.get("creationdate") and len(tu.get("creationdate")) == 16 and tu.get("creationdate").endswith("Z")
        assert [c.tag for c in tu][-2:] == ["tuv", "tuv"] and all(c.tag == "prop" for c in list(tu)[:-2])
        assert [tuv.get(XML_LANG) for tuv in tu.findall("tuv")] == [zh_tag, en_tag]
        assert all(len(tuv.findall("seg")) == 1 for tuv in tu.findall("tuv"))
    return tus


def test_tmx_props_tags_and_structure():
    data = tmx_bytes(items(), TmxOptions("zh-Hans", "en-GB"))
    tus = check_tmx_structure(data, "zh-Hans", "en-GB")
    props = {p.get("type"): p.text for p in tus[0].findall("prop")}
    assert props == {"x-score": "0.900", "x-bead": "1-1", "x-source": "press.txt"}
    assert [tu.findall("tuv/seg")[1].text for tu in tus] == [en for _, en in SAMPLE]


@pytest.mark.parametrize("tags", [("zh-CN", "en-US"), ("zh-TW", "en-GB"), ("zh-Hant-HK", "en"), ("yue-HK", "en-AU")])
def test_tmx_valid_against_the_dtd_with_any_language_tags(tags):
    etree = pytest.importorskip("lxml.etree")
    data = tmx_bytes(items(), TmxOptions(*tags))
    check_tmx_structure(data, *tags)
    if not DTD.exists():
        pytest.skip("../shared/tools/tmx14.dtd is not here (structure checked without it)")
    dtd = etree.DTD(str(DTD))
    assert dtd.validate(etree.fromstring(data)), dtd.error_log.filter_from_errors()


@pytest.mark.parametrize("zh, en", [("zh_CN", "en-US"), ("en-US", "en-US"), ("zh-CN", "zh-CN"), ("zh CN", "en"),
                                    ("", "en-US"), ("zh-CN", "english"), ("zh-toolongsubtag", "en")])
def test_bad_language_tags_are_refused(zh, en):
    with pytest.raises(InputError, match="tag"):
        TmxOptions(zh, en)


def test_translate_toolkit_reads_every_unit_back_with_its_languages(tmp_path):
    tmx = pytest.importorskip("translate.storage.tmx")
    paths, kept, removed = write_corpus(items() + items(source="other.txt") + items([("只有中文。", "")]),
                                        tmp_path, ["tmx"], TmxOptions("zh-TW", "en-GB"))
    assert (kept, removed) == (len(SAMPLE) + 1, len(SAMPLE))  # duplicates removed; the one-sided row kept
    store = tmx.tmxfile.parsefile(str(paths[0]))
    assert store.sourcelanguage == "zh-TW"
    assert len(store.units) == len(SAMPLE)  # one-sided beads are no translation unit
    for unit, (zh, en) in zip(store.units, SAMPLE):
        assert unit.getNodeText(unit.getlanguageNode(lang="zh-TW")) == zh
        assert unit.getNodeText(unit.getlanguageNode(lang="en-GB")) == en
        assert unit.source == zh and unit.target == en


def test_omegat_pretranslates_a_chinese_document_from_our_tmx(tmp_path):
    if not PRETRANSLATE.exists():
        pytest.skip("../shared/tools/omegat-pretranslate is not here")
    if shutil.which("omegat") is None:
        pytest.skip("OmegaT is not installed (apt-get install -y omegat)")
    paths, _, _ = write_corpus(items(), tmp_path / "out", ["tmx"])
    source = tmp_path / "release.txt"
    source.write_text("\n\n".join(zh for zh, _ in SAMPLE) + "\n", encoding="utf-8")
    proc = subprocess.run([str(PRETRANSLATE), str(paths[0]), str(source)], capture_output=True, text=True,
                          timeout=400)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for _, en in SAMPLE:
        assert en in proc.stdout, (en, proc.stdout)
    assert "星河科技" not in proc.stdout  # every segment was translated from the memory


# ---------------------------------------------------------------- spreadsheets

DANGER = [("=1+1的结果。", "=1+1 is two."), ("+86 电话。", "+86 phone."), ("-5%的增长。", "-5% growth."),
          ("@星河科技。", "@GalaxyTech on Weibo."), ("普通句子。", "A plain sentence.")]


def test_excel_safe_protects_formula_like_cells_in_csv_and_tsv():
    for fn, delim in ((csv_bytes, ","), (tsv_bytes, "\t")):
        plain = list(csv.reader(io.StringIO(fn(items(DANGER)).decode("utf-8-sig")), delimiter=delim))
        safe = list(csv.reader(io.StringIO(fn(items(DANGER), excel_safe=True).decode("utf-8-sig")), delimiter=delim))
        assert [r[0] for r in plain[1:]] == [zh for zh, _ in DANGER]  # off: the text as it is
        assert [r[1] for r in safe[1:]] == ["'=1+1 is two.", "'+86 phone.", "'-5% growth.", "'@GalaxyTech on Weibo.",
                                            "A plain sentence."]
        assert all(not cell.startswith(("=", "+", "-", "@")) for r in safe[1:] for cell in r[:2])
    assert excel_safe("\t=cmd") == "'\t=cmd" and excel_safe("a=b") == "a=b"


def test_tsv_has_the_csv_columns_and_reads_back():
    rows = list(csv.reader(io.StringIO(tsv_bytes(items([("含\t制表符。", "With a\ttab.")] + SAMPLE)).decode("utf-8")),
                           delimiter="\t"))
    assert rows[0] == ["zh", "en", "score", "bead", "zh_ids", "en_ids"]
    assert rows[1][:2] == ["含\t制表符。", "With a\ttab."]
    assert [r[1] for r in rows[2:]] == [en for _, en in SAMPLE]


def test_xlsx_opens_with_the_expected_rows_scores_and_highlights(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    rows = DANGER + [("只有中文。", "")]
    scores = [0.95, 0.2, 0.7, 0.9, 0.45, None]
    path = tmp_path / "a.xlsx"
    path.write_bytes(xlsx_bytes(items(rows, scores=scores), with_source=True, excel_safe=True))
    ws = openpyxl.load_workbook(path).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0] == ("zh", "en", "score", "bead", "zh_ids", "en_ids", "source")
    assert [(r[0], r[1] or "") for r in values[1:]] == rows  # text exactly as aligned, never a formula
    assert [r[2] for r in values[1:]] == [0.95, 0.2, 0.7, 0.9, 0.45, None]  # numeric scores
    assert all(ws.cell(row=r, column=1).data_type == "s" for r in range(2, len(rows) + 2))
    assert ws.cell(row=2, column=2).quotePrefix  # --excel-safe: stays text when edited in Excel
    highlighted = [r for r in range(2, len(rows) + 2) if ws.cell(row=r, column=1).fill.fgColor.rgb not in (None, "00000000")]
    assert highlighted == [3, 6]  # the two-sided pairs scored below 0.5


def test_every_format_renders_and_jsonl_keeps_the_contract():
    for fmt in FORMATS:
        assert render(fmt, items())
    lines = [json.loads(x) for x in render("jsonl", items()).decode("utf-8").splitlines()]
    assert set(lines[0]) == {"zh", "en", "zh_ids", "en_ids", "score"}
    merged = [json.loads(x) for x in render("jsonl", items(), with_source=True).decode("utf-8").splitlines()]
    assert merged[0]["source"] == "press.txt"


def test_omegat_pretranslates_from_a_corrected_tmx_exported_after_review(tmp_path):
    if not PRETRANSLATE.exists():
        pytest.skip("../shared/tools/omegat-pretranslate is not here")
    if shutil.which("omegat") is None:
        pytest.skip("OmegaT is not installed (apt-get install -y omegat)")
    from align.model import Alignment, Bead, Document, Sentence
    from align.review import export, store

    zh, en = [z for z, _ in SAMPLE], [e for _, e in SAMPLE]
    doc = Document("release", zh, en, [Sentence(t, i) for i, t in enumerate(zh)],
                   [Sentence(t, i) for i, t in enumerate(en)], "release.txt")
    # The aligner got it wrong: sentence 2's English joined sentence 1's, sentence 2 left alone.
    wrong = [Bead([0], [0], 0.95), Bead([1], [1, 2], 0.4), Bead([2], [], None), Bead([3], [3], 0.9)]
    review = store.from_alignment(Alignment(doc, wrong))
    review = store.apply(review, {"op": "move", "bead": 1, "side": "en", "to": "next"})  # the reviewer fixes it
    path = tmp_path / "release.align.json"
    store.save(review, path)
    tmx = export(path, ["tmx"], tmp_path / "out")[0]
    assert tmx.read_text(encoding="utf-8").count('<prop type="x-status">edited</prop>') == 2
    source = tmp_path / "release.txt"
    source.write_text("\n\n".join(zh) + "\n", encoding="utf-8")
    proc = subprocess.run([str(PRETRANSLATE), str(tmx), str(source)], capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for _, e in SAMPLE:
        assert e in proc.stdout, (e, proc.stdout)
    assert "星河科技" not in proc.stdout
