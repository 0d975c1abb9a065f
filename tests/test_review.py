"""align review / align export without a browser: the edits and their checks, the review file,
the server's token and file boundaries, the corrected memory's exports and the two commands."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from align.errors import InputError, OutputError
from align.review import export, prepare, store
from align.review.store import EditError, apply
from review_support import BEADS, EN, ZH, build_review, http, read, running

ROOT = Path(__file__).resolve().parents[1]
ALIGN = [str(Path(sys.executable).parent / "align")]  # the installed command


def beads_of(path):
    return [(b["zh_ids"], b["en_ids"]) for b in read(path)["beads"]]


@pytest.fixture
def review(tmp_path):
    return store.load(build_review(tmp_path))


# ---------------------------------------------------------------- edits

def test_each_edit_changes_the_beads_and_marks_them_edited(review):
    joined = apply(review, {"op": "join", "bead": 0})
    assert [(list(b.zh_ids), list(b.en_ids)) for b in joined.beads[:2]] == [([0, 1], [0, 1, 2]), ([2], [3])]
    assert joined.beads[0].status == "edited" and joined.beads[0].score is None

    split = apply(review, {"op": "split", "bead": 1, "zh_at": 1, "en_at": 1})
    assert [(b.zh_ids, b.en_ids) for b in split.beads[1:3]] == [((1,), (1,)), ((), (2,))]

    moved = apply(review, {"op": "move", "bead": 1, "side": "en", "to": "next"})
    assert [(b.zh_ids, b.en_ids) for b in moved.beads[1:3]] == [((1,), (1,)), ((2,), (2, 3))]

    unlinked = apply(review, {"op": "unlink", "bead": 1, "side": "en", "id": 1})
    assert [(b.zh_ids, b.en_ids) for b in unlinked.beads[1:3]] == [((), (1,)), ((1,), (2,))]

    linked = apply(review, {"op": "link", "bead": 3})
    assert (linked.beads[3].zh_ids, linked.beads[3].en_ids) == ((3,), (4,)) and len(linked.beads) == 6

    confirmed = apply(review, {"op": "confirm", "bead": 2})
    assert confirmed.beads[2].status == "confirmed" and confirmed.beads[2].score == 0.3  # score kept

    undone = apply(joined, {"op": "undo"})
    assert undone.beads == review.beads and not undone.history
    assert undone.revision == review.revision + 2


@pytest.mark.parametrize("edit, status, message", [
    ({"op": "join", "bead": 4}, 409, "English sentences would not be adjacent"),   # en 4 + moved en 6
    ({"op": "join", "bead": 6}, 409, "last one"),
    ({"op": "link", "bead": 0}, 409, "one Chinese-only and one English-only"),
    ({"op": "unlink", "bead": 3, "side": "zh", "id": 3}, 409, "already on its own"),
    ({"op": "unlink", "bead": 1, "side": "zh", "id": 5}, 400, "not in bead 2"),
    ({"op": "split", "bead": 0, "zh_at": 0, "en_at": 0}, 409, "one part would be empty"),
    ({"op": "split", "bead": 0, "zh_at": 3, "en_at": 0}, 400, "no Chinese position 3"),
    ({"op": "move", "bead": 0, "side": "zh", "to": "prev"}, 409, "no previous bead"),
    ({"op": "move", "bead": 4, "side": "en", "to": "next"}, 409, "not be adjacent"),
    ({"op": "move", "bead": 3, "side": "en", "to": "next"}, 409, "has no English sentence"),
    ({"op": "confirm", "bead": 99}, 400, "no bead 99"),
    ({"op": "confirm", "bead": "1"}, 400, "whole number"),
    ({"op": "rewrite"}, 400, "unknown edit"),
    ({"op": "undo"}, 409, "nothing to undo"),
    ({"op": "confirm", "bead": 0, "revision": 41}, 409, "reload the page"),
    ([1, 2], 400, "JSON object"),
])
def test_edits_that_would_break_the_alignment_are_refused_with_a_reason(review, edit, status, message):
    with pytest.raises(EditError, match=message) as e:
        apply(review, edit)
    assert e.value.status == status
    assert "\n" not in str(e.value)


def test_unlink_in_the_middle_of_a_pair_is_refused(tmp_path):
    r = store.load(build_review(tmp_path, ["甲。", "乙。", "丙。"], ["A.", "B.", "C."],
                                [store_bead([0, 1, 2], [0, 1, 2], 0.9)]))
    with pytest.raises(EditError, match="inside the pair"):
        apply(r, {"op": "unlink", "bead": 0, "side": "zh", "id": 1})


def store_bead(zh, en, score=None, moved=False):
    from align.model import Bead

    return Bead(zh, en, score, moved)


def test_any_sequence_of_edits_keeps_every_sentence_in_exactly_one_bead(review):
    rng = random.Random(16)
    r, applied = review, 0
    for _ in range(600):
        n = len(r.beads)
        op = rng.choice(["confirm", "join", "split", "move", "unlink", "link", "undo"])
        edit = {"op": op, "bead": rng.randrange(n), "side": rng.choice(["zh", "en"]),
                "to": rng.choice(["prev", "next"]), "zh_at": rng.randrange(3), "en_at": rng.randrange(3),
                "id": rng.randrange(7)}
        try:
            r = apply(r, edit)
            applied += 1
        except EditError:
            continue
        zh = sorted(i for b in r.beads for i in b.zh_ids)
        en = sorted(i for b in r.beads for i in b.en_ids)
        assert zh == list(range(len(ZH))) and en == list(range(len(EN)))
        assert all(b.zh_ids or b.en_ids for b in r.beads)
        assert all(list(b.zh_ids) == sorted(b.zh_ids) and list(b.en_ids) == sorted(b.en_ids) for b in r.beads)
    assert applied > 100
    back = r
    while back.history:
        back = apply(back, {"op": "undo"})
    if len(r.history) < store.HISTORY_LIMIT:  # the whole history kept: undo leads back to the start
        assert back.beads == review.beads


# ---------------------------------------------------------------- the file

def test_the_review_file_round_trips_and_bad_files_are_input_errors(tmp_path, review):
    path = tmp_path / "doc.align.json"
    edited = apply(apply(review, {"op": "join", "bead": 0}), {"op": "confirm", "bead": 1})
    store.save(edited, path)
    assert store.load(path) == edited
    data = read(path)
    assert data["format"] == "zhen-align-review" and data["zh"][1] == {"id": 1, "text": "第二句。", "para": 0}
    assert [b["status"] for b in data["beads"][:2]] == ["edited", "confirmed"] and data["beads"][0]["score"] is None
    assert [h["op"] for h in data["history"]] == ["join", "confirm"]

    bad = tmp_path / "bad.align.json"
    for content, message in [(b"{not json", "not valid JSON"), (b'{"a": 1}', "not an align review file"),
                             (json.dumps({**data, "version": 9}).encode(), "version 9"),
                             (json.dumps({**data, "beads": data["beads"] + [data["beads"][0]]}).encode(),
                              "in two beads")]:
        bad.write_bytes(content)
        with pytest.raises(InputError, match=message):
            store.load(bad)
    with pytest.raises(InputError, match="no such file"):
        store.load(tmp_path / "missing.align.json")


def test_saving_is_atomic_a_failed_save_leaves_the_old_file(tmp_path, review, monkeypatch):
    path = tmp_path / "doc.align.json"
    store.save(review, path)
    before = path.read_bytes()

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OutputError, match="No space left"):
        store.save(apply(review, {"op": "join", "bead": 0}), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.align.json"]  # no temporary file left


def test_prepare_aligns_a_document_once_and_keeps_the_corrections(tmp_path, fake_encoder):
    source = tmp_path / "press.txt"
    shutil.copy(ROOT / "data" / "sample-press.txt", source)
    made = prepare(source, tmp_path / "out", encoder=fake_encoder)
    assert made.created and made.path == tmp_path / "out" / "press.align.json"
    store.save(apply(store.load(made.path), {"op": "confirm", "bead": 0}), made.path)
    again = prepare(source, tmp_path / "out", encoder=fake_encoder)
    assert again.resumed and read(again.path)["beads"][0]["status"] == "confirmed"
    source.write_text("另一篇文章。\n\nAnother text.\n", encoding="utf-8")
    with pytest.raises(OutputError, match="another text"):
        prepare(source, tmp_path / "out", encoder=fake_encoder)


# ---------------------------------------------------------------- exports

def test_export_writes_the_corrected_memory_with_statuses_and_confirmed_only(tmp_path, review):
    path = tmp_path / "doc.align.json"
    r = apply(apply(review, {"op": "confirm", "bead": 0}), {"op": "join", "bead": 1})  # "第二句。第三句。" joined
    store.save(r, path)
    written = export(path, ["tmx", "csv", "xlsx", "jsonl"], tmp_path / "out")
    assert [p.name for p in written] == ["doc.tmx", "doc.csv", "doc.xlsx", "doc.jsonl"]
    lines = [json.loads(x) for x in (tmp_path / "out" / "doc.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["status"] for x in lines[:2]] == ["confirmed", "edited"]
    assert lines[1]["zh"] == "第二句。第三句。" and lines[1]["en"] == "Two. Two, continued. Three."
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "doc.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0][-1] == "status" and rows[1][-1] == "confirmed"
    tmx = (tmp_path / "out" / "doc.tmx").read_text(encoding="utf-8")
    assert '<prop type="x-status">edited</prop>' in tmx
    openpyxl = pytest.importorskip("openpyxl")
    ws = openpyxl.load_workbook(tmp_path / "out" / "doc.xlsx").active
    assert [c.value for c in ws[1]][-1] == "status" and ws.cell(row=2, column=7).value == "confirmed"

    only = export(path, ["jsonl"], tmp_path / "only", confirmed_only=True)
    kept = [json.loads(x) for x in only[0].read_text(encoding="utf-8").splitlines()]
    assert [(x["zh"], x["status"]) for x in kept] == [("第一句。", "confirmed")]


def run_align(*args, **kw):
    return subprocess.run(ALIGN + [str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)


def test_cli_export_writes_files_and_reports_bad_input_on_one_line(tmp_path):
    path = build_review(tmp_path)
    proc = run_align("export", path, "--format", "tmx,csv,xlsx,jsonl", "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["doc.csv", "doc.jsonl", "doc.tmx", "doc.xlsx"]
    assert "wrote" in proc.stdout
    proc = run_align("export", path, "--confirmed-only", "--format", "jsonl", "-o", tmp_path / "only")
    assert proc.returncode == 0 and (tmp_path / "only" / "doc.jsonl").read_text(encoding="utf-8") == ""

    (tmp_path / "bad.align.json").write_text("{oops", encoding="utf-8")
    for args, code, message in [(["export", tmp_path / "bad.align.json"], 2, "not valid JSON"),
                                (["export", tmp_path / "none.align.json"], 2, "no such file"),
                                (["export", path, "--format", "doc"], 2, "unknown format"),
                                (["review", tmp_path / "none.txt", "--no-browser"], 2, "no such file"),
                                (["review", tmp_path / "bad.align.json", "--no-browser"], 2, "not valid JSON")]:
        proc = run_align(*args)
        assert proc.returncode == code, (args, proc.stderr)
        assert proc.stderr.startswith("error: ") and message in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


# ---------------------------------------------------------------- the server

def test_without_the_token_every_request_is_refused(tmp_path):
    with running(build_review(tmp_path)) as (base, token):
        for path in ["/", "/static/app.js", "/static/app.css", "/api/alignment", "/api/export/tmx"]:
            assert http(base + path)[0] == 403, path
            assert http(base + path + "?token=wrong" + token[:5])[0] == 403, path
            assert http(base + path, {"X-Align-Token": token})[0] == 200, path
        status, _, headers = http(f"{base}/?token={token}")
        assert status == 200 and "script-src 'self'" in headers["content-security-policy"]
        cookie = headers["set-cookie"].split(";")[0]
        assert http(base + "/static/app.js", {"Cookie": cookie})[0] == 200  # the page's own assets
        # an edit needs the header: a cross-site form post carries only the cookie
        assert http(base + "/api/edit", {"Cookie": cookie}, b'{"op": "confirm", "bead": 0}')[0] == 403
        assert read(tmp_path / "doc.align.json")["beads"][0]["status"] == "automatic"
        assert http(f"{base}/?token={token}", {"Host": "evil.example"})[0] == 400  # DNS rebinding


def test_only_the_assets_and_the_one_review_are_served(tmp_path):
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    with running(build_review(tmp_path)) as (base, token):
        for path in ["/static/../../etc/passwd", "/static/..%2f..%2fetc%2fpasswd", "/static/%2e%2e/%2e%2e/etc/passwd",
                     "/static/index.html/../../secret.txt", "/static/secret.txt", "/secret.txt", "/doc.align.json",
                     "/static/", "/static/..%2fserver.py", "/api/export/..%2f..%2fsecret.txt"]:
            status, body, _ = http(f"{base}{path}?token={token}")
            assert status == 404, (path, status)
            assert b"root:" not in body and b"secret" not in body


def test_edits_through_the_api_are_saved_at_once_and_refusals_say_why(tmp_path, monkeypatch):
    path = build_review(tmp_path)
    with running(path) as (base, token):
        head = {"X-Align-Token": token, "Content-Type": "application/json"}
        status, body, _ = http(base + "/api/edit", head, json.dumps({"op": "join", "bead": 0, "revision": 0}).encode())
        assert status == 200 and json.loads(body)["counts"]["edited"] == 1
        assert beads_of(path)[0] == ([0, 1], [0, 1, 2])
        status, body, _ = http(base + "/api/edit", head, b'{"op": "join", "bead": 3, "revision": 1}')
        assert status == 409 and "not be adjacent" in json.loads(body)["error"]
        assert http(base + "/api/edit", head, b'{"op": "confirm", "bead": 0, "revision": 0}')[0] == 409  # stale
        assert http(base + "/api/edit", head, b"not json")[0] == 400
        monkeypatch.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError(28, "No space left")))
        status, body, _ = http(base + "/api/edit", head, b'{"op": "confirm", "bead": 1}')
        assert status == 500 and "not saved" in json.loads(body)["error"]
        monkeypatch.undo()
        view = json.loads(http(base + "/api/alignment", head)[1])
        assert view["beads"][1]["status"] == "automatic" and view["revision"] == 1  # the failed edit did not happen
    with running(path) as (base, token):  # a restart shows the same state
        view = json.loads(http(base + "/api/alignment", {"X-Align-Token": token})[1])
        assert (view["beads"][0]["zh_ids"], view["beads"][0]["status"]) == ([0, 1], "edited")


def start_review(*args, cwd=None):
    proc = subprocess.Popen(ALIGN + ["review", *map(str, args), "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)
    return proc, proc.stdout.readline().strip()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_cli_review_prints_the_url_first_serves_it_and_stops_cleanly(tmp_path, stop):
    path = build_review(tmp_path)
    proc, url = start_review(path)
    try:
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url, url
        status, body, _ = http(url)
        assert status == 200 and b"align review" in body
        assert http(url.split("?")[0])[0] == 403
        busy = run_align("review", path, "--no-browser", "--port", url.split(":")[2].split("/")[0])
        assert busy.returncode == 2 and busy.stderr.startswith("error: ") and "in use" in busy.stderr
    finally:
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("stopped")


def test_cli_review_of_a_document_writes_its_review_file_in_the_out_dir(tmp_path):
    source = tmp_path / "press.txt"
    shutil.copy(ROOT / "data" / "sample-press.txt", source)
    proc, url = start_review(source, "-o", tmp_path / "out")
    try:
        status, body, _ = http(url.replace("/?", "/api/alignment?"))
        assert status == 200 and json.loads(body)["counts"]["pairs"] > 5
        assert (tmp_path / "out" / "press.align.json").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode in (0, 130)
