"""`align evaluate`: strict/lax P/R/F1 with vecalign's conventions, from .align or JSONL files."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from align.cli import app
from align.errors import AlignError
from align.evaluate import evaluate, evaluate_paths, read_beads

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

GOLD = "[0, 1]:[0]\n[2]:[1, 2]\n[3]:[3]\n[4]:[]\n[5]:[4]\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(beads) -> str:
    return "".join(json.dumps({"zh": "", "en": "", "zh_ids": z, "en_ids": e, "score": None}) + "\n"
                   for z, e in beads)


def test_perfect_alignment_scores_one(tmp_path):
    g = _write(tmp_path / "g.align", GOLD)
    res = evaluate_paths(g, g)
    for kind in ("strict", "lax"):
        assert res[kind] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_hand_counted_scores(tmp_path):
    # test beads: [0,1]:[0] right; [2]:[1] lax only; []:[2] insertion, wrong;
    # [3]:[3] right; [4]:[] right (the gold has this deletion); [5]:[4] right.
    test = "[0, 1]:[0]\n[2]:[1]\n[]:[2]\n[3]:[3]\n[4]:[]\n[5]:[4]:0.9\n"
    res = evaluate_paths(_write(tmp_path / "g.align", GOLD), _write(tmp_path / "t.align", test))
    # precision over all 6 test beads: 4 strict, 5 lax
    assert res["strict"]["precision"] == pytest.approx(4 / 6)
    assert res["lax"]["precision"] == pytest.approx(5 / 6)
    # recall over the 4 two-sided gold beads: [2]:[1,2] is missed strictly, hit laxly
    assert res["strict"]["recall"] == pytest.approx(3 / 4)
    assert res["lax"]["recall"] == pytest.approx(1.0)
    p, r = 4 / 6, 3 / 4
    assert res["strict"]["f1"] == pytest.approx(2 * p * r / (p + r))


def test_jsonl_and_align_give_the_same_numbers(tmp_path):
    beads = [([0, 1], [0]), ([2], [1]), ([], [2]), ([3], [3]), ([4], []), ([5], [4])]
    j = _write(tmp_path / "t.jsonl", _jsonl(beads))
    a = _write(tmp_path / "t.align", "".join(f"{z}:{e}\n" for z, e in beads))
    g = _write(tmp_path / "g.align", GOLD)
    assert read_beads(j) == read_beads(a)
    assert evaluate_paths(g, j) == evaluate_paths(g, a)


def test_duplicate_beads_count_once(tmp_path):
    g = _write(tmp_path / "g.align", GOLD)
    doubled = _write(tmp_path / "t.align", GOLD + "[3]:[3]\n")
    assert evaluate_paths(g, doubled)["strict"]["precision"] == 1.0


def test_folders_are_paired_by_name_and_counts_pooled(tmp_path):
    gold, test = tmp_path / "gold", tmp_path / "test"
    gold.mkdir()
    test.mkdir()
    _write(gold / "001.align", GOLD)
    _write(gold / "002.align", "[0]:[0]\n[1]:[1]\n")
    _write(test / "001.jsonl", _jsonl([([0, 1], [0]), ([2], [1, 2]), ([3], [3]), ([4], []), ([5], [4])]))
    _write(test / "002", "[0, 1]:[0, 1]\n")  # a bare name pairs too
    res = evaluate_paths(gold, test, per_doc=True)
    # pooled: 5 + 1 test beads, 5 + 0 strict; 4 + 2 two-sided gold beads, 4 + 0 strict
    assert res["strict"]["precision"] == pytest.approx(5 / 6)
    assert res["strict"]["recall"] == pytest.approx(4 / 6)
    assert res["documents"]["002"]["lax"]["precision"] == 1.0


def test_missing_test_document_is_an_error(tmp_path):
    gold, test = tmp_path / "gold", tmp_path / "test"
    gold.mkdir()
    test.mkdir()
    _write(gold / "001.align", GOLD)
    with pytest.raises(AlignError, match="no test file for document 001"):
        evaluate_paths(gold, test)


@pytest.mark.parametrize("text", ["[0]\n", "[0]:[x]\n", "{\"zh_ids\": [0]}\n", "{not json\n", "[0]:['a']\n"])
def test_malformed_files_raise_a_one_line_align_error(tmp_path, text):
    g = _write(tmp_path / "g.align", GOLD)
    t = _write(tmp_path / "t.align", text)
    with pytest.raises(AlignError) as info:
        evaluate_paths(g, t)
    assert "\n" not in str(info.value) and "t.align:1" in str(info.value)


def test_cli_prints_the_table_and_fails_cleanly(tmp_path):
    g = _write(tmp_path / "g.align", GOLD)
    runner = CliRunner()
    ok = runner.invoke(app, ["evaluate", str(g), str(g)])
    assert ok.exit_code == 0 and "1.000" in ok.output and "strict" in ok.output
    bad = runner.invoke(app, ["evaluate", str(g), str(_write(tmp_path / "bad.align", "nonsense\n"))])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def _score_py():
    tool = SHARED / "tools" / "score.py"
    if not tool.exists():
        pytest.skip("../shared/tools/score.py not available")
    spec = importlib.util.spec_from_file_location("shared_score", tool)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _perturb(beads, rnd):
    """Merge, split and drop beads at random: a plausible imperfect alignment."""
    out = []
    for z, e in beads:
        r = rnd.random()
        if r < 0.1 and out:
            pz, pe = out.pop()
            out.append((pz + z, pe + e))
        elif r < 0.2 and len(e) > 1:
            out += [(z, e[:1]), ((), e[1:])]
        elif r < 0.25 and z:
            out += [(z, ()), ((), e)] if e else [(z, ())]
        else:
            out.append((z, e))
    return out


@pytest.mark.parametrize("dataset", ["mac-dev", "textberg"])
def test_numbers_equal_score_py_on_the_shared_gold(tmp_path, dataset):
    score = _score_py()
    gold_dir = SHARED / "eval" / dataset / "gold"
    rnd = random.Random(7)
    test_dir = tmp_path / "test"
    test_dir.mkdir()
    golds, tests = [], []
    for g in sorted(gold_dir.glob("*.align")):
        gold = score.read_align(str(g))
        test = _perturb(gold, rnd)
        score.write_align(str(test_dir / g.name), test)
        golds.append(gold)
        tests.append(test)
    ref = score.score_index(golds, tests)
    ours = evaluate_paths(gold_dir, test_dir)
    for kind in ("strict", "lax"):
        for key in ("precision", "recall", "f1"):
            assert ours[kind][key] == pytest.approx(ref[f"{key}_{kind}"], abs=1e-12)
    assert ours["strict"]["f1"] < 1.0  # the perturbation did change something
    assert evaluate(golds, tests)["strict"] == ours["strict"]
