"""End to end: `align FILE`, `align ZH EN`, `align DIR`, the API, the three output formats."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import align
from align.io.write import tmx_bytes

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample-press.txt"
DTD = ROOT.parent / "shared" / "tools" / "tmx14.dtd"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    proc = run_cli(SAMPLE, "-o", out, "--format", "tmx,csv,jsonl")
    return proc, out


def test_cli_writes_tmx_csv_jsonl_and_a_summary(sample_run):
    proc, out = sample_run
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["sample-press.csv", "sample-press.jsonl", "sample-press.tmx"]
    assert "Chinese" in proc.stdout and "English" in proc.stdout and "sample-press.tmx" in proc.stdout


def test_sample_pairs_are_right(sample_run):
    _, out = sample_run
    beads = [json.loads(line) for line in (out / "sample-press.jsonl").read_text(encoding="utf-8").splitlines()]

    def english_of(zh_start):
        (en,) = [b["en"] for b in beads if b["zh"].startswith(zh_start)]
        return en

    assert english_of("该模型可以实时预测") == (
        "The model predicts congestion on every road in the city in real time. "
        "It also gives recommendations for traffic signal control.")
    assert english_of("据介绍，模型在试点区域").startswith("According to the company")
    assert english_of("三方将共建") == ("The three parties will jointly build the Urban Intelligent Transportation "
                                   "Joint Laboratory. It will focus on the fused analysis of multimodal travel data.")
    assert english_of("星河科技成立于2015年").startswith("Founded in 2015")
    # the JSONL contract: ids cover every sentence exactly once
    zh_ids = sorted(i for b in beads for i in b["zh_ids"])
    en_ids = sorted(i for b in beads for i in b["en_ids"])
    assert zh_ids == list(range(len(zh_ids))) and en_ids == list(range(len(en_ids)))
    for b in beads:
        assert set(b) == {"zh", "en", "zh_ids", "en_ids", "score"}
        assert (b["score"] is None) == (not b["zh_ids"] or not b["en_ids"])


def test_tmx_validates_against_the_tmx14_dtd(sample_run):
    etree = pytest.importorskip("lxml.etree")
    if not DTD.exists():
        pytest.skip("../shared/tools/tmx14.dtd is not here")
    _, out = sample_run
    doc = etree.parse(str(out / "sample-press.tmx"))
    dtd = etree.DTD(str(DTD))
    assert dtd.validate(doc), dtd.error_log.filter_from_errors()
    header = doc.find("header")
    assert header.get("srclang") == "zh-CN" and header.get("segtype") == "sentence"
    assert header.get("creationtool") and header.get("creationtoolversion") and header.get("o-tmf")
    assert header.get("adminlang") and header.get("datatype") == "plaintext"
    tus = doc.findall("body/tu")
    assert len(tus) >= 7
    langs = [tuv.get("{http://www.w3.org/XML/1998/namespace}lang") for tuv in tus[0].findall("tuv")]
    assert langs == ["zh-CN", "en-US"]
    assert {p.get("type") for p in tus[0].findall("prop")} >= {"x-score", "x-bead"}


def test_csv_opens_in_excel_with_chinese(sample_run):
    _, out = sample_run
    raw = (out / "sample-press.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][:4] == ["zh", "en", "score", "bead"]
    assert any(r[0].startswith("星河科技成立于2015年") for r in rows[1:])


def test_tmx_escapes_text_and_keeps_it_verbatim():
    etree = pytest.importorskip("lxml.etree")
    pair = align.Pair("价格<5元 & “好”", "Price < 5 & ]]> \"good\"  spaced", [0], [0], 0.9, "1-1")
    doc = etree.fromstring(tmx_bytes([(pair, "a.txt")]))
    segs = [s.text for s in doc.iter("seg")]
    assert segs == ["价格<5元 & “好”", "Price < 5 & ]]> \"good\"  spaced"]


def test_two_files_in_either_order(tmp_path):
    zh = tmp_path / "press.zh.txt"
    en = tmp_path / "press.en.txt"
    zh.write_text("今天下雨了。我们待在家里。\n", encoding="utf-8")
    en.write_text("It rained today. We stayed at home.\n", encoding="utf-8")
    a = align.align_file(en, zh)  # English first: the order is detected
    assert [(p.zh, p.en) for p in a.pairs] == [("今天下雨了。", "It rained today."),
                                               ("我们待在家里。", "We stayed at home.")]


def test_folder_pairs_named_files_and_takes_bilingual_files(tmp_path):
    (tmp_path / "a.zh.txt").write_text("今天下雨了。\n", encoding="utf-8")
    (tmp_path / "a.en.txt").write_text("It rained today.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("我们待在家里。\n\nWe stayed at home.\n", encoding="utf-8")
    report = align.align_path(tmp_path, out_dir=tmp_path / "out", formats=["jsonl"])
    assert sorted(d.name for d in report.documents) == ["a", "b"]
    # a folder is a batch: each document's outputs plus the merged corpus (align.batch)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jsonl", "b.jsonl", "corpus.jsonl"]


def test_presplit_ids_are_line_numbers(tmp_path):
    zh = tmp_path / "001.zh"
    en = tmp_path / "001.en"
    zh.write_text("第一行。第二句仍在第一行。\n第二行。\n", encoding="utf-8")
    en.write_text("Line one. Still line one.\nLine two.\n", encoding="utf-8")
    a = align.align_file(zh, en, presplit=True)
    assert [s.text for s in a.doc.zh] == ["第一行。第二句仍在第一行。", "第二行。"]
    assert [(b.zh_ids, b.en_ids) for b in a.beads] == [([0], [0]), ([1], [1])]


def test_align_text_api_returns_dataclasses():
    a = align.align_text(SAMPLE.read_text(encoding="utf-8"))
    assert isinstance(a, align.Alignment)
    assert len(a.doc.zh) == 9 and len(a.doc.en) == 11
    assert all(isinstance(p, align.Pair) for p in a.pairs)


def test_user_errors_are_one_line_without_traceback(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    zh_only = tmp_path / "zh.txt"
    zh_only.write_text("只有中文。\n", encoding="utf-8")
    for args, needle in [((tmp_path / "missing.txt",), "no such file"),
                         ((empty,), "empty"),
                         ((zh_only,), "no English text"),
                         ((SAMPLE, "--format", "pdf"), "unknown format")]:
        proc = run_cli(*args, "-o", tmp_path / "out")
        assert proc.returncode != 0
        assert "Traceback" not in proc.stderr
        assert needle in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_console_command_is_installed():
    exe = Path(sys.executable).with_name("align")
    if not exe.exists():
        pytest.skip("the package is not installed in this environment")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "align" in proc.stdout


def test_aligning_leaves_the_callers_garbage_collector_as_it_was():
    """The pipeline freezes the objects older than its aligner steps out of the collector's full
    scans while they run (a speed matter); a program that calls the API must find its collector as
    it left it: nothing it made stays frozen, and what it froze itself stays frozen."""
    import gc

    from align.io.document import load_document
    from align.pipeline import align_document
    from conftest import FakeEncoder

    doc = load_document(SAMPLE)
    seen = []

    class Watching(FakeEncoder):  # the aligner's steps ask for composed spans: note the collector then
        def encode(self, texts, progress=None):
            seen.append(gc.get_freeze_count())
            return super().encode(texts, progress)

    assert gc.get_freeze_count() == 0
    align_document(doc, encoder=Watching())
    assert gc.get_freeze_count() == 0 and max(seen) > 0  # frozen while aligning, not after
    mine = [object() for _ in range(10)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        seen.clear()
        align_document(doc, encoder=Watching())
        assert gc.get_freeze_count() == frozen and set(seen) == {frozen}  # the caller's freeze untouched
    finally:
        gc.unfreeze()
    del mine
