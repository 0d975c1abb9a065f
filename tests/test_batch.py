"""Batch runs: finding the documents of a folder, the merged corpus, resuming, failures, the report."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import align
from align.batch import run as batch
from align.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample-press.txt"


def w(path: Path, text: str, encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def names(docs, root):
    return [tuple(None if p is None else p.relative_to(root).as_posix() for p in d) for d in docs]


# ---------------------------------------------------------------- discovery

def test_discover_pairs_by_name_and_by_language_folders(tmp_path):
    for name in ("a.zh.txt", "a.en.txt", "b_zh.docx", "b_en.docx", "c-zh.htm", "c-en.htm", "d.zh-CN.txt",
                 "d.en-US.txt", "solo.txt", "page.html", "only.zh.txt", "zh/e.txt", "en/e.txt", "zh/f.docx",
                 "en/f.txt", "zh/g.txt", ".hidden.txt", "~$lock.docx", "notes.pdf", "sub/h.txt"):
        w(tmp_path / name, "x")
    got = names(batch.discover(tmp_path), tmp_path)
    assert got == [("a.zh.txt", "a.en.txt"), ("b_zh.docx", "b_en.docx"), ("c-zh.htm", "c-en.htm"),
                   ("d.zh-CN.txt", "d.en-US.txt"), ("only.zh.txt", None), ("page.html", None), ("solo.txt", None),
                   ("zh/e.txt", "en/e.txt"), ("zh/f.docx", "en/f.txt"), ("zh/g.txt", None)]
    recursive = names(batch.discover(tmp_path, recursive=True), tmp_path)
    assert recursive == got[:7] + [("sub/h.txt", None)] + got[7:]


def test_discover_recursive_language_folders_keep_subfolders(tmp_path):
    w(tmp_path / "2025" / "zh" / "q1" / "r.txt", "x")
    w(tmp_path / "2025" / "en" / "q1" / "r.txt", "x")
    w(tmp_path / "2025" / "en" / "q2" / "r.txt", "x")
    assert names(batch.discover(tmp_path, recursive=True), tmp_path) == [
        ("2025/en/q2/r.txt", None), ("2025/zh/q1/r.txt", "2025/en/q1/r.txt")]
    assert batch.discover(tmp_path) == []


def test_manifest_lists_pairs_relative_to_itself(tmp_path):
    w(tmp_path / "docs" / "x.txt", "x")
    w(tmp_path / "docs" / "y.txt", "x")
    w(tmp_path / "bi.txt", "x")
    manifest = w(tmp_path / "pairs.tsv", "zh\ten\n# a comment\ndocs/x.txt\tdocs/y.txt\n\nbi.txt\n")
    assert names(batch.read_manifest(manifest), tmp_path) == [("docs/x.txt", "docs/y.txt"), ("bi.txt", None)]
    with pytest.raises(InputError, match="columns"):
        batch.read_manifest(w(tmp_path / "bad.tsv", "a\tb\tc\n"))
    with pytest.raises(InputError, match="no documents"):
        batch.read_manifest(w(tmp_path / "empty.tsv", "# nothing\n"))


# ---------------------------------------------------------------- a batch

def make_releases(root: Path) -> Path:
    """A folder like the issue's: bilingual .txt (one in GB18030), a .docx pair, an HTML page,
    zh/ + en/ folders, a duplicate of a release, and one broken document."""
    docx = pytest.importorskip("docx")
    text = SAMPLE.read_text(encoding="utf-8")
    w(root / "galaxy.txt", text)
    w(root / "galaxy2.txt", text)  # the same release twice: its pairs are duplicates in the corpus
    w(root / "gb" / "rain.txt", "今天下雨了。我们待在家里。\n\nIt rained today. We stayed at home.\n", "gb18030")
    for lang, paras in (("zh", ["公司发布了年度报告。", "收入增长了百分之十。"]),
                        ("en", ["The company published its annual report.", "Revenue grew by ten percent."])):
        d = docx.Document()
        for p in paras:
            d.add_paragraph(p)
        (root / "report").mkdir(exist_ok=True)
        d.save(str(root / "report" / f"annual.{lang}.docx"))
    w(root / "page.html", "<html><body><nav>首页 Home</nav><p>新产品上市了。</p><p>The new product is out.</p>"
                          "<script>var x = 1;</script></body></html>")
    w(root / "zh" / "hire.txt", "我们招聘了五十名工程师。\n")
    w(root / "en" / "hire.txt", "We hired fifty engineers.\n")
    w(root / "broken.txt", "Only English in this file, no Chinese at all.\n")
    return root


@pytest.fixture
def releases(tmp_path):
    return make_releases(tmp_path / "releases")


def run(root, out, encoder, **kw):
    kw.setdefault("formats", ["tmx", "csv", "jsonl"])
    return align.align_path(root, out_dir=out, recursive=True, encoder=encoder, **kw)


def test_batch_writes_every_document_and_one_merged_corpus(releases, tmp_path, fake_encoder):
    out = tmp_path / "out"
    report = run(releases, out, fake_encoder, json_report=tmp_path / "report.json", jobs=1)
    by = {d.source: d for d in report.documents}
    assert set(by) == {"broken.txt", "galaxy2.txt", "galaxy.txt", "gb/rain.txt", "page.html",
                       "report/annual.zh.docx + report/annual.en.docx", "zh/hire.txt + en/hire.txt"}
    assert by["broken.txt"].status == "failed" and "no Chinese text" in by["broken.txt"].error
    assert all(d.status == "aligned" for s, d in by.items() if s != "broken.txt")
    # per-document outputs, mirroring subfolders; the merged corpus at the top
    for rel in ("galaxy", "galaxy2", "gb/rain", "report/annual", "page", "hire"):
        for fmt in ("tmx", "csv", "jsonl"):
            assert (out / f"{rel}.{fmt}").is_file(), f"{rel}.{fmt}"
    assert not (out / "broken.tmx").exists()
    rows = list(csv.DictReader((out / "corpus.csv").read_text(encoding="utf-8-sig").splitlines()))
    keys = [(r["zh"], r["en"]) for r in rows]
    assert len(keys) == len(set(keys)) == report.corpus_pairs
    assert report.duplicates_removed == len(by["galaxy.txt"].alignment.beads)  # the copy adds nothing
    assert {r["source"] for r in rows} == set(by) - {"broken.txt", "galaxy2.txt"}
    # every sentence of every aligned document is in the corpus, in exactly one row
    for d in report.documents:
        if d.alignment and d.source != "galaxy2.txt":
            mine = [r for r in rows if r["source"] == d.source]
            assert sorted(int(i) for r in mine for i in r["zh_ids"].split()) == list(range(len(d.alignment.doc.zh)))
    tmx = (out / "corpus.tmx").read_text(encoding="utf-8")
    two_sided = {r["source"] for r in rows if r["zh"] and r["en"]}
    assert two_sided and all(f'<prop type="x-source">{src}</prop>' in tmx for src in two_sided)
    assert any(r["zh"].startswith("今天下雨了。") for r in rows)  # the GB18030 file was read right
    # the JSON report says the same as the table
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["totals"]["documents"] == 7 and data["totals"]["failed"] == 1
    assert data["corpus"]["pairs"] == report.corpus_pairs
    j = {d["source"]: d for d in data["documents"]}
    assert j["broken.txt"]["status"] == "failed" and "no Chinese text" in j["broken.txt"]["error"]
    assert j["gb/rain.txt"]["zh_sentences"] == 2 and j["gb/rain.txt"]["pairs"] == by["gb/rain.txt"].pairs


def test_resume_skips_up_to_date_documents_and_force_redoes_them(releases, tmp_path, fake_encoder):
    out = tmp_path / "out"
    first = run(releases, out, fake_encoder, jobs=1)
    corpus = {fmt: (out / f"corpus.{fmt}").read_bytes() for fmt in ("csv", "jsonl", "tmx")}
    calls = fake_encoder.calls
    second = run(releases, out, fake_encoder, jobs=1)
    assert {d.source: d.status for d in second.documents if d.status != "failed"} == \
        {d.source: "skipped" for d in first.documents if d.status != "failed"}
    assert fake_encoder.calls == calls  # nothing embedded again
    # the corpus still holds every document, byte for byte (JSONL scores to 4 decimals, as fresh)
    assert {fmt: (out / f"corpus.{fmt}").read_bytes() for fmt in corpus} == corpus
    assert [d.pairs for d in second.documents] == [d.pairs for d in first.documents]
    # an input edited after its outputs: only that one is redone
    time.sleep(0.01)
    rain = releases / "gb" / "rain.txt"
    rain.write_bytes(rain.read_bytes())
    os.utime(rain, None)
    third = run(releases, out, fake_encoder, jobs=1)
    assert sorted(d.source for d in third.documents if d.status == "aligned") == ["gb/rain.txt"]
    forced = run(releases, out, fake_encoder, jobs=1, force=True)
    assert not [d for d in forced.documents if d.status == "skipped"]
    # a missing output (a new format asked for) means the document is not up to date
    more = run(releases, out, fake_encoder, jobs=1, formats=["tmx", "csv", "jsonl", "tsv"])
    assert not [d for d in more.documents if d.status == "skipped"]


def test_two_workers_give_the_same_outputs_as_one(releases, tmp_path, fake_encoder):
    one = run(releases, tmp_path / "one", fake_encoder, jobs=1)
    two = run(releases, tmp_path / "two", fake_encoder, jobs=2)
    assert two.workers == 2
    assert [(d.source, d.status, d.pairs) for d in one.documents] == [(d.source, d.status, d.pairs)
                                                                      for d in two.documents]
    for p in (tmp_path / "one").rglob("*.jsonl"):
        assert p.read_bytes() == (tmp_path / "two" / p.relative_to(tmp_path / "one")).read_bytes()


def test_batched_embeddings_align_as_document_by_document(fake_encoder):
    doc = align.api.document_from_text(SAMPLE.read_text(encoding="utf-8"))
    alone = align.api.align_document(doc, encoder=fake_encoder)
    cached = batch.CachedEncoder(fake_encoder)
    cached.prime(batch.texts_to_embed(doc))
    before = fake_encoder.calls
    together = align.api.align_document(doc, encoder=cached)
    assert fake_encoder.calls == before  # everything the aligner asked for was embedded in the batch
    assert [(b.zh_ids, b.en_ids) for b in together.beads] == [(b.zh_ids, b.en_ids) for b in alone.beads]


def test_a_batch_embeds_no_more_than_aligning_each_document_alone(releases, tmp_path):
    from conftest import FakeEncoder

    alone = 0
    for first, second in batch.discover(releases, recursive=True):
        try:
            doc = align.api.load_document(first, second)
        except InputError:
            continue
        enc = FakeEncoder()
        align.api.align_document(doc, encoder=enc)
        alone += enc.calls
    together = FakeEncoder()
    run(releases, tmp_path / "out", together, jobs=1)
    assert 0 < together.calls <= alone


def test_output_names_never_collide(tmp_path, fake_encoder):
    text = "今天下雨了。\n\nIt rained today.\n"
    w(tmp_path / "in" / "a.txt", text)
    w(tmp_path / "in" / "a.html", "<p>今天下雨了。</p><p>It rained today.</p>")
    w(tmp_path / "in" / "corpus.txt", text)
    report = align.align_path(tmp_path / "in", out_dir=tmp_path / "out", formats=["csv"], encoder=fake_encoder)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.html.csv", "a.txt.csv", "corpus.csv",
                                                                   "corpus.txt.csv"]
    rows = [(p.zh, p.en) for d in report.documents for p in d.alignment.pairs]
    assert len(rows) >= 3 and report.corpus_pairs == len(set(rows))  # the same text three times: one copy
    assert report.duplicates_removed == len(rows) - len(set(rows)) == 2 * len(set(rows))


def test_manifest_batch_and_its_errors(tmp_path, fake_encoder):
    w(tmp_path / "x.txt", "今天下雨了。\n")
    w(tmp_path / "y.txt", "It rained today.\n")
    manifest = w(tmp_path / "m.tsv", "y.txt\tx.txt\nmissing.txt\ty.txt\n")
    report = align.align_path(None, pairs=manifest, out_dir=tmp_path / "out", formats=["tmx"],
                              encoder=fake_encoder)
    assert [(d.status, d.zh_sentences, d.en_sentences) for d in report.documents] == [("aligned", 1, 1),
                                                                                     ("failed", None, None)]
    assert "missing.txt" in report.documents[1].error
    assert (tmp_path / "out" / "corpus.tmx").is_file()
    with pytest.raises(InputError, match="not both"):
        align.align_path(tmp_path, pairs=manifest, encoder=fake_encoder)
    with pytest.raises(InputError, match="no documents"):
        align.align_path(tmp_path / "out", encoder=fake_encoder)


# ---------------------------------------------------------------- the command

def test_cli_batch_prints_a_table_writes_json_and_exits_non_zero_on_a_failure(tmp_path):
    root = tmp_path / "in"
    w(root / "rain.txt", "今天下雨了。我们待在家里。\n\nIt rained today. We stayed at home.\n")
    w(root / "broken.txt", "Only English here.\n")
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "cli.py"), str(root), "-o", str(out), "--format", "tmx,xlsx,tsv",
           "--json", str(tmp_path / "r.json"), "--excel-safe", "--zh-tag", "zh-Hans", "--en-tag", "en-GB",
           "--recursive", "--jobs", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "rain.txt" in proc.stdout and "aligned" in proc.stdout and "failed" in proc.stdout
    assert "broken" in proc.stderr and "no Chinese text" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["corpus.tmx", "corpus.tsv", "corpus.xlsx", "rain.tmx",
                                                     "rain.tsv", "rain.xlsx"]
    assert 'xml:lang="zh-Hans"' in (out / "rain.tmx").read_text(encoding="utf-8")
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [(d["source"], d["status"]) for d in report["documents"]] == [("broken.txt", "failed"),
                                                                         ("rain.txt", "aligned")]
    # again: up to date, skipped; exit code still says one failed
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "skipped" in again.stdout
    # --pairs: the manifest's documents; --force: redone although up to date
    manifest = w(tmp_path / "m.tsv", "in/rain.txt\n")
    forced = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--pairs", str(manifest), "-o", str(out),
                             "--format", "tmx,xlsx,tsv", "--force", "--json", str(tmp_path / "f.json")],
                            capture_output=True, text=True, timeout=300)
    assert forced.returncode == 0, forced.stderr
    report = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert [(d["source"], d["status"]) for d in report["documents"]] == [("in/rain.txt", "aligned")]
    bad = subprocess.run([sys.executable, str(ROOT / "cli.py"), str(root), "--zh-tag", "zh_CN"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "zh-tag" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- one naming rule

@pytest.mark.parametrize("zh_name, en_name", [("press.zh-CN.txt", "press.en-US.txt"), ("press.zh.txt", "press.en.txt"),
                                              ("press_zh.txt", "press_EN.txt")])
def test_a_pair_named_with_language_tags_writes_outputs_under_its_base_name(tmp_path, fake_encoder, zh_name, en_name):
    zh, en = SAMPLE.read_text(encoding="utf-8").split("###", 1)
    w(tmp_path / "in" / zh_name, zh)
    w(tmp_path / "in" / en_name, en)
    folder = align.align_path(tmp_path / "in", out_dir=tmp_path / "a", encoder=fake_encoder, formats=["csv"])
    files = align.align_path(tmp_path / "in" / zh_name, tmp_path / "in" / en_name, out_dir=tmp_path / "b",
                             encoder=fake_encoder, formats=["csv"])
    assert [d.name for d in folder.documents] == [d.name for d in files.documents] == ["press"]
    assert (tmp_path / "a" / "press.csv").is_file() and (tmp_path / "b" / "press.csv").is_file()


# ---------------------------------------------------------------- one low-confidence rule

def test_low_confidence_is_one_rule_for_the_summary_the_report_the_xlsx_and_min_score(tmp_path):
    from openpyxl import load_workbook

    from align.batch.report import DocResult, count
    from align.cli import _summary
    from align.io.write import below_min, render
    from align.model import Pair, low_confidence
    from rich.console import Console

    pairs = [Pair("甲。", "A.", [0], [0], 0.9, "1-1"), Pair("乙。", "B.", [1], [1], 0.3, "1-1"),
             Pair("丙。", "C.", [2], [2], None, "1-1"), Pair("丁。", "", [3], [], 0.1, "1-0")]
    assert [low_confidence(p) for p in pairs] == [False, True, True, False]  # unscored counts; one-sided never
    assert [below_min(p, 0.95) for p in pairs] == [True, True, True, False]
    result = DocResult("d", [])
    count(result, pairs, min_score=0.95)
    assert (result.low_confidence, result.below_min, result.unaligned) == (2, 3, 1)
    ws = load_workbook(__import__("io").BytesIO(render("xlsx", [(p, "") for p in pairs]))).active
    highlighted = [r for r in range(2, 6) if ws.cell(row=r, column=1).fill.fgColor.rgb == "FFF4CCCC"]
    assert highlighted == [3, 4]
    console = Console(record=True, width=200)
    result.alignment = object()  # the summary prints documents that were aligned
    _summary(console, type("R", (), {"documents": [result]})())
    assert "low confidence  2 (score < 0.5)" in console.export_text()
