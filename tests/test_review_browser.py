"""The review page in a real browser (Debian's chromium driven by Playwright): what a reviewer sees
and does, and what NAME.align.json holds after it. Skipped where no browser can be had."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from align.model import Bead
from align.review import prepare
from review_support import build_review, read, running

ROOT = Path(__file__).resolve().parents[1]
DTD = ROOT.parent / "shared" / "tools" / "tmx14.dtd"
CHROMIUM = os.environ.get("ALIGN_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no browser: {CHROMIUM} is missing (apt-get install -y chromium)")
    with sync_api.sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        except Exception as e:  # noqa: BLE001 - any failure to start it means no browser here
            pytest.skip(f"no browser: chromium does not start ({str(e).splitlines()[0]})")
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    p = context.new_page()
    p.dialogs = []
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    p.set_default_timeout(10_000)
    yield p
    context.close()


def open_page(page, base, token):
    page.goto(f"{base}/?token={token}")
    page.wait_for_selector("body[data-revision]", state="attached")


def rows(page):
    """What each row shows: (Chinese texts, English texts)."""
    return page.eval_on_selector_all(".bead", """els => els.map(e => [
        [...e.querySelectorAll('.side.zh .text')].map(t => t.textContent),
        [...e.querySelectorAll('.side.en .text')].map(t => t.textContent)])""")


def select(page, n):
    page.locator(".bead").nth(n).click(position={"x": 20, "y": 10})
    page.wait_for_selector(f".bead.selected[data-index='{n}']")


def act(page, action, side=None, sid=None, ok=True):
    """Click an edit button of the selected bead (on sentence SIDE #SID if given); wait until the page
    shows the new state (``ok``) or the refusal."""
    scope = page.locator(".bead.selected")
    if side is not None:
        scope = scope.locator(f".sent[data-side='{side}'][data-id='{sid}']")
    revision = int(page.get_attribute("body", "data-revision"))
    scope.locator(f"button[data-action='{action}']").click()
    if ok:
        page.wait_for_selector(f"body[data-revision='{revision + 1}']", state="attached")
    else:
        page.locator("#message").wait_for(state="visible")


def press(page, key):
    """Press a key that edits, and wait for the page to show the new state."""
    revision = int(page.get_attribute("body", "data-revision"))
    page.keyboard.press(key)
    page.wait_for_selector(f"body[data-revision='{revision + 1}']", state="attached")


def beads(path):
    return [(b["zh_ids"], b["en_ids"], b["status"]) for b in read(path)["beads"]]


def test_the_sample_release_shows_its_pairs_with_confidence_colours(page, tmp_path):
    source = tmp_path / "sample-press.txt"
    shutil.copy(ROOT / "data" / "sample-press.txt", source)
    path = prepare(source).path  # the real default encoder
    data = read(path)
    with running(path) as (base, token):
        open_page(page, base, token)
        assert page.locator(".bead").count() == len(data["beads"])
        pairs = sum(1 for b in data["beads"] if b["zh_ids"] and b["en_ids"])
        assert page.text_content("#n-pairs") == str(pairs)
        assert "星河科技" in page.text_content(".bead >> nth=0")
        classes = page.eval_on_selector_all(".bead .score", "els => els.map(e => e.className)")
        for b, cls in zip(data["beads"], classes):
            s = b["score"]
            want = "conf-none" if s is None else "conf-high" if s >= 0.9 else "conf-mid" if s >= 0.5 else "conf-low"
            assert want in cls
        assert any("conf-high" in c for c in classes)
        color = page.eval_on_selector(".score.conf-high", "e => getComputedStyle(e).color")
        assert color == "rgb(26, 127, 55)"  # green
        page.screenshot(path=str(tmp_path / "sample.png"), full_page=False)
    assert page.dialogs == []


def test_made_up_review_shows_colours_moved_and_one_sided_and_filters(page, tmp_path):
    path = build_review(tmp_path)
    with running(path) as (base, token):
        open_page(page, base, token)
        scores = page.eval_on_selector_all(".bead .score", "els => els.map(e => [e.className, e.textContent])")
        assert scores == [["score conf-high", "0.95"], ["score conf-mid", "0.70"], ["score conf-low", "0.30"],
                          ["score conf-none", "—"], ["score conf-none", "—"], ["score conf-mid", "0.80"],
                          ["score conf-high", "0.92"]]
        assert page.text_content(".bead >> nth=5 >> .flag.moved") == "moved: EN #6"
        assert "no English — Chinese only" in page.text_content(".bead >> nth=3")
        assert "no Chinese — English only" in page.text_content(".bead >> nth=4")
        counts = [page.text_content(f"#n-{k}") for k in ("pairs", "review", "confirmed", "edited")]
        assert counts == ["5", "4", "0", "0"]  # red, Chinese only, English only, moved
        page.check("#filter")
        assert page.eval_on_selector_all(".bead", "els => els.map(e => +e.dataset.index)") == [2, 3, 4, 5]
        page.keyboard.press("j")
        assert page.get_attribute(".bead.selected", "data-index") == "3"
        press(page, "c")  # confirmed: it leaves the "needs review" list
        assert page.text_content("#n-review") == "3"
        assert page.eval_on_selector_all(".bead", "els => els.map(e => +e.dataset.index)") == [2, 4, 5]
        page.uncheck("#filter")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("k")
        assert page.get_attribute(".bead.selected", "data-index") == "2"
        page.screenshot(path=str(tmp_path / "made-up.png"))
    assert read(path)["beads"][3]["status"] == "confirmed"


def test_join_split_move_unlink_link_confirm_undo_show_on_the_page_and_in_the_file(page, tmp_path):
    path = build_review(tmp_path)
    with running(path) as (base, token):
        open_page(page, base, token)
        start = rows(page)

        select(page, 0)
        act(page, "join")
        assert rows(page)[0] == [["第一句。", "第二句。"], ["One.", "Two.", "Two, continued."]]
        assert beads(path)[0] == ([0, 1], [0, 1, 2], "edited") and read(path)["beads"][0]["score"] is None
        assert page.text_content(".bead >> nth=0 >> .score") == "—"
        assert page.text_content("#n-edited") == "1"

        press(page, "u")  # undo
        assert rows(page) == start and beads(path)[0] == ([0], [0], "automatic")

        select(page, 1)
        act(page, "split", side="en", sid=2)
        assert rows(page)[1:3] == [[["第二句。"], ["Two."]], [[], ["Two, continued."]]]
        assert beads(path)[1:3] == [([1], [1], "edited"), ([], [2], "edited")]

        press(page, "Control+z")
        select(page, 1)
        act(page, "move-next", side="en", sid=2)
        assert rows(page)[1:3] == [[["第二句。"], ["Two."]], [["第三句。"], ["Two, continued.", "Three."]]]
        assert beads(path)[2] == ([2], [2, 3], "edited")

        select(page, 0)
        act(page, "unlink", side="en", sid=0)
        assert rows(page)[:2] == [[["第一句。"], []], [[], ["One."]]]
        assert beads(path)[:2] == [([0], [], "edited"), ([], [0], "edited")]

        select(page, 0)
        act(page, "link")  # the two one-sided beads again one pair
        assert rows(page)[0] == [["第一句。"], ["One."]]
        assert beads(path)[0] == ([0], [0], "edited")

        select(page, 2)
        press(page, "Enter")
        assert beads(path)[2][2] == "confirmed"
        assert page.text_content("#n-confirmed") == "1"

        shown = rows(page)
        page.reload()  # a reload shows the same state
        page.wait_for_selector("body[data-revision]", state="attached")
        assert rows(page) == shown
        assert page.get_attribute(".bead[data-index='2']", "data-status") == "confirmed"
    with running(path) as (base, token):  # and so does a restart of the server
        open_page(page, base, token)
        assert rows(page) == shown
        page.screenshot(path=str(tmp_path / "edited.png"))
    assert page.dialogs == []


def test_a_refused_edit_shows_its_message_and_changes_nothing(page, tmp_path):
    path = build_review(tmp_path)
    before = path.read_bytes()
    with running(path) as (base, token):
        open_page(page, base, token)
        select(page, 4)  # English only; the next pair's English (#6) stands elsewhere
        act(page, "join", ok=False)
        message = page.locator("#message")
        assert "cannot join" in message.text_content() and "not be adjacent" in message.text_content()
        assert page.locator(".bead").count() == 7
        page.screenshot(path=str(tmp_path / "refused.png"))
        select(page, 0)
        act(page, "confirm")
        message.wait_for(state="hidden")  # the next edit that works clears it
    assert read(path)["beads"][4] == {"zh_ids": [], "en_ids": [4], "score": None, "moved": False,
                                      "status": "automatic"}
    assert before != path.read_bytes()


def test_the_exported_tmx_holds_the_edit_is_dtd_valid_and_translate_toolkit_reads_it(page, tmp_path):
    path = build_review(tmp_path)
    with running(path) as (base, token):
        open_page(page, base, token)
        select(page, 0)
        act(page, "join")
        with page.expect_download() as info:
            page.click("#export-tmx")
        tmx = tmp_path / "export.tmx"
        info.value.save_as(str(tmx))
        assert info.value.suggested_filename == "doc.tmx"
        for fmt in ("csv", "xlsx", "jsonl"):
            with page.expect_download() as got:
                page.click(f"#export-{fmt}")
            assert got.value.suggested_filename == f"doc.{fmt}"
        page.check("#confirmed-only")
        with page.expect_download() as only:
            page.click("#export-jsonl")
        only.value.save_as(str(tmp_path / "only.jsonl"))
    data = tmx.read_text(encoding="utf-8")
    assert "第一句。第二句。" in data and "One. Two. Two, continued." in data
    assert '<prop type="x-status">edited</prop>' in data
    assert (tmp_path / "only.jsonl").read_text(encoding="utf-8") == ""  # nothing confirmed yet
    tmxfile = pytest.importorskip("translate.storage.tmx").tmxfile
    units = tmxfile.parsefile(str(tmx)).units
    assert (units[0].source, units[0].target) == ("第一句。第二句。", "One. Two. Two, continued.")
    etree = pytest.importorskip("lxml.etree")
    if not DTD.exists():
        pytest.skip("../shared/tools/tmx14.dtd is not here")
    dtd = etree.DTD(str(DTD))
    assert dtd.validate(etree.fromstring(tmx.read_bytes())), dtd.error_log.filter_from_errors()


INJECT = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>"]


def test_document_text_is_shown_literally_and_never_runs(page, tmp_path):
    zh = [f"{INJECT[0]}中文。", f"中文{INJECT[1]}。"]
    en = [f"English {INJECT[0]}.", f"English {INJECT[1]}"]
    path = build_review(tmp_path, zh, en, [Bead([0], [0], 0.95), Bead([1], [1], 0.2)], name=INJECT[1])
    with running(path) as (base, token):
        open_page(page, base, token)
        select(page, 1)  # the selected bead's tools are rendered too
        assert rows(page) == [[[zh[0]], [en[0]]], [[zh[1]], [en[1]]]]
        assert page.text_content("#doc-name") == INJECT[1]
        assert page.locator("#beads img, #beads script, header img").count() == 0
        assert page.evaluate("document.scripts.length") == 1  # app.js alone
        page.wait_for_timeout(300)
        page.screenshot(path=str(tmp_path / "inject.png"))
    assert page.dialogs == []


def test_the_page_needs_its_token(page, tmp_path):
    with running(build_review(tmp_path)) as (base, token):
        for url in (f"{base}/", f"{base}/?token=nope", f"{base}/static/app.js", f"{base}/api/alignment"):
            response = page.goto(url)
            assert response.status == 403, url
            assert "forbidden" in page.text_content("body")
        assert page.goto(f"{base}/?token={token}").status == 200
