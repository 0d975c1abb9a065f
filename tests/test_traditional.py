"""The same release in Simplified and in Traditional Chinese: the same beads, the same counts.

Issue #15: a release in Simplified and the same release converted character by character
to Traditional Chinese gave identical beads, yet the summary reported 3 moved pairs for one
and 8 for the other. "Moved" and "jumped" now depend on the beads alone
(``align.core.moves.order_marks``); this checks it end to end, through the public API
(``align.align_path``: the report's counts) and the command's summary, on data/sample-press.txt
with an English paragraph moved, and on the real release ../shared/samples/zgc-forum-2023.txt
(two paragraphs swapped; skipped when the shared samples are absent). Uses the default encoder,
with one cache by text for the whole module (the English is the same in both versions).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import align
from align import api, cli
from align.core.embed import CachedEncoder, load_encoder

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample-press.txt"
REAL = ROOT.parent / "shared" / "samples" / "zgc-forum-2023.txt"

# Simplified -> Traditional, one character for one, for the characters of the two releases
# that differ (OpenCC's s2t character by character; 钟 as in 分鐘).
SIMPLIFIED = ("万与专业个临为举义书于云亚产亿们价优会伦体余关内况准创别办务动势区医华协卫厅参发台号启员"
              "咨响园国圆场块坛处娅学实对导将尔层属师带并应开张强态总战执报拥据数时显术机权来杨构汉测灯"
              "灵点爱环现硕种秘签纳线细终绍经络维编缩网罗职联肿节莅莱萨见视览讨让议许论评试询该请读贝负"
              "责质资赋赞趋践转软达运还进远里钟长门问间闻阳际陈韩顶项预领频题额骁验鲁麦")
TRADITIONAL = ("萬與專業個臨為舉義書於雲亞產億們價優會倫體餘關內況準創別辦務動勢區醫華協衛廳參發臺號啟員"
               "諮響園國圓場塊壇處婭學實對導將爾層屬師帶並應開張強態總戰執報擁據數時顯術機權來楊構漢測燈"
               "靈點愛環現碩種祕簽納線細終紹經絡維編縮網羅職聯腫節蒞萊薩見視覽討讓議許論評試詢該請讀貝負"
               "責質資賦贊趨踐轉軟達運還進遠裡鐘長門問間聞陽際陳韓頂項預領頻題額驍驗魯麥")
TO_TRADITIONAL = str.maketrans(dict(zip(SIMPLIFIED, TRADITIONAL, strict=True)))


def traditional(text: str) -> str:
    out = text.translate(TO_TRADITIONAL)
    assert not set(out) & set(SIMPLIFIED)  # every character the table knows was converted
    return out


def moved_sample() -> str:
    """data/sample-press.txt with its last English paragraph (the company's founding) moved to
    just after the English title: one pair out of the Chinese order, far from its neighbours."""
    zh, en = SAMPLE.read_text(encoding="utf-8").split("###", 1)
    paras = [p.strip() for p in en.split("\n\n") if p.strip() and p.strip() != "###"]
    assert len(paras) == 5 and paras[-1].startswith("Founded in 2015")
    paras = [paras[0], paras[-1]] + paras[1:-1]
    return zh + "###\n\n" + "\n\n".join(paras) + "\n\n###\n"


def summary(text: str, tmp: Path, name: str, encoder):
    """(beads as ids, moved, jumped) of ``align.align_path`` on ``text`` written as a file."""
    path = tmp / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    report = align.align_path(path, out_dir=tmp / name, formats=["jsonl"], encoder=encoder)
    d = report.documents[0]
    assert d.status == "aligned", d.error
    return [(b.zh_ids, b.en_ids) for b in d.alignment.beads], d.moved, d.jumped


def cli_counts(path: Path, out: Path) -> tuple[int, int]:
    """The moved and jumped counts of the command's summary (0 when a line is absent)."""
    res = CliRunner().invoke(cli.app, [str(path), "-o", str(out), "--format", "jsonl"])
    assert res.exit_code == 0, res.output
    found = {k: re.search(rf"{k}\s+(\d+) pairs", res.output) for k in ("moved", "jumped")}
    return tuple(int(m.group(1)) if m else 0 for m in found.values())


@pytest.fixture(scope="module")
def encoder():
    return CachedEncoder(load_encoder())


@pytest.fixture(scope="module")
def sample(tmp_path_factory, encoder):
    tmp = tmp_path_factory.mktemp("traditional")
    text = moved_sample()
    return tmp, {"simplified": summary(text, tmp, "simplified", encoder),
                 "traditional": summary(traditional(text), tmp, "traditional", encoder)}


def test_the_conversion_changes_the_chinese_and_only_the_chinese():
    text = moved_sample()
    trad = traditional(text)
    changed = [(a, b) for a, b in zip(text, trad) if a != b]
    assert len(trad) == len(text) and len(changed) >= 50
    assert all("\u4e00" <= b <= "\u9fff" for _, b in changed)
    assert trad.split("###")[1] == text.split("###")[1]  # the English is untouched


def test_simplified_and_traditional_give_the_same_beads_and_the_same_moved_and_jumped_counts(sample):
    _, got = sample
    beads, moved, jumped = got["simplified"]
    assert moved >= 1  # the moved paragraph is found: the counts are not trivially 0 = 0
    assert got["traditional"] == (beads, moved, jumped)


def test_the_comparison_tells_a_different_document_apart(sample, encoder):
    """The counts compared above do tell documents apart: the release as written (nothing
    moved) differs from the one with the moved paragraph."""
    tmp, got = sample
    assert summary(SAMPLE.read_text(encoding="utf-8"), tmp, "original", encoder) != got["simplified"]


def test_the_command_summary_reports_the_same_counts_for_both(sample, encoder, monkeypatch):
    monkeypatch.setattr(api, "load_encoder", lambda model=None, device=None: encoder)  # the same model, cached
    tmp, got = sample
    _, moved, jumped = got["simplified"]
    counts = {name: cli_counts(tmp / f"{name}.txt", tmp / f"cli-{name}") for name in got}
    assert counts["simplified"] == counts["traditional"] == (moved, jumped)


def test_the_real_release_with_swapped_paragraphs_counts_the_same_in_traditional(tmp_path, encoder):
    if not REAL.exists():
        pytest.skip(f"{REAL} not available")
    text = REAL.read_text(encoding="utf-8")
    simplified = summary(text, tmp_path, "simplified", encoder)
    trad = summary(traditional(text), tmp_path, "traditional", encoder)
    assert simplified[1] >= 1
    assert trad == simplified
