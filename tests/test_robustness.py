"""Bad input never crashes the run, and no sentence is ever lost.

Every case ends in one clear line saying what is wrong and what to do, with a
non-zero exit code and never a traceback; in a batch the other documents go on.
Most cases go through the API with the fast ``FakeEncoder``; ``test_cli_*``
run the real ``align`` command in a subprocess (few of them: the default
encoder takes seconds to load).
"""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import sys
import time
import tracemalloc
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from align import api
from align.io import read, write
from align.core.aligner import AlignOptions
from align.errors import AlignError, InputError, OutputError
from align.model import Alignment, Bead, Document, Sentence

from conftest import FakeEncoder

ZH = ("国务院新闻办公室今天在北京举行新闻发布会。国家统计局介绍了今年前三季度的经济运行情况。"
      "前三季度国内生产总值同比增长百分之五点二！专家认为，消费仍然是经济增长的主要动力。\n")
EN = ("The State Council Information Office held a press conference in Beijing today. "
      "The National Bureau of Statistics presented the economy in the first three quarters. "
      "Gross domestic product grew by 5.2 percent year on year! "
      "Experts believe that consumption remains the main driver of growth.\n")
BILINGUAL = ZH + "\n" + EN
# The same release in traditional characters (Big5 cannot encode simplified ones).
ZH_TRAD = ("國務院新聞辦公室今天在北京舉行新聞發布會。國家統計局介紹了今年前三季度的經濟運行情況。"
           "前三季度國內生產總值同比增長百分之五點二！專家認為，消費仍然是經濟增長的主要動力。\n")


def run_api(path, en_path=None, **kw):
    kw.setdefault("encoder", FakeEncoder())
    return api.align_path(path, en_path, **kw)


def expect_error(exc_type, *fragments, call, **kw):
    """``call(**kw)`` raises ``exc_type`` whose single-line message holds every fragment."""
    with pytest.raises(exc_type) as info:
        call(**kw)
    message = str(info.value)
    assert "\n" not in message, "an error message must be one line"
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return info.value


def write_file(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


# ----------------------------------------------------------------- inputs without usable text

@pytest.mark.parametrize("content", [b"", b"   \n\t\n \r\n", "\u3000\u00a0 \n\n\u200b\n".encode("utf-8"),
                                     b"\xef\xbb\xbf", "\ufeff  \n".encode("utf-16-le")])
def test_empty_or_whitespace_file_says_it_is_empty(tmp_path, content):
    p = write_file(tmp_path, "empty.txt", content)
    e = expect_error(InputError, "empty.txt", "empty", call=run_api, path=p)
    assert e.exit_code == 2


def test_whitespace_only_with_presplit_is_empty_too(tmp_path):
    zh = write_file(tmp_path, "a.zh.txt", "\n  \n\n")
    en = write_file(tmp_path, "a.en.txt", EN)
    expect_error(InputError, "no Chinese", call=run_api, path=zh, en_path=en, presplit=True)


@pytest.mark.parametrize("text,missing", [(ZH, "no English"), (EN, "no Chinese"), (ZH * 3, "no English")])
def test_one_language_only_says_which_is_missing(tmp_path, text, missing):
    p = write_file(tmp_path, "one.txt", text)
    expect_error(InputError, missing, "give the", call=run_api, path=p)


def test_two_files_of_the_same_language_say_which_is_missing(tmp_path):
    a = write_file(tmp_path, "a.txt", EN)
    b = write_file(tmp_path, "b.txt", EN.lower())
    expect_error(InputError, "no Chinese", call=run_api, path=a, en_path=b)


def test_neutral_text_only_is_refused(tmp_path):
    p = write_file(tmp_path, "numbers.txt", "2024-10-18\n###\n12345 67.8%\nhttp://example.com/a\n")
    expect_error(InputError, "numbers.txt", "no Chinese or English", call=run_api, path=p)


# ----------------------------------------------------------------- not text at all

def test_binary_data_is_refused(tmp_path):
    rng = random.Random(1)
    p = write_file(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(5000))
    expect_error(InputError, "image.txt", "binary", call=run_api, path=p)


def test_bytes_that_are_text_in_no_encoding_are_refused(tmp_path):
    rng = random.Random(2)
    data = bytes(rng.randrange(0x80, 0x100) for _ in range(4000))  # no NULs, invalid UTF-8
    p = write_file(tmp_path, "noise.txt", data)
    expect_error(InputError, "noise.txt", "not text", call=run_api, path=p)


@pytest.mark.parametrize("data,what", [
    (b"\xef\xbb\xbf" + ZH.encode("utf-8")[:-2] + b"\xff\xfe\xfd", "UTF-8"),  # BOM, then broken
    ("\ufeff".encode("utf-16-le") + ZH.encode("utf-16-le") + b"\x00", "UTF-16"),  # odd length
])
def test_damaged_file_after_a_bom_is_refused_not_crashed(tmp_path, data, what):
    p = write_file(tmp_path, "damaged.txt", data)
    expect_error(InputError, "damaged.txt", what, "damaged", call=run_api, path=p)


def test_pdf_renamed_to_txt_is_refused(tmp_path):
    p = write_file(tmp_path, "release.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n")
    expect_error(InputError, "release.txt", "PDF", call=run_api, path=p)


# ----------------------------------------------------------------- encodings and line ends

@pytest.mark.parametrize("encoding,zh", [("gb18030", ZH), ("gbk", ZH), ("big5", ZH_TRAD),
                                         ("utf-16-le", ZH), ("utf-16-be", ZH), ("utf-8-sig", ZH)])
def test_legacy_and_utf16_encodings_are_read(tmp_path, encoding, zh):
    text = zh + "\n" + EN
    data = text.encode(encoding)
    if encoding.startswith("utf-16"):
        data = "\ufeff".encode(encoding) + data  # with a BOM
    p = write_file(tmp_path, "release.txt", data)
    report = run_api(p, out_dir=tmp_path / "out", formats=["jsonl"])
    doc = report.documents[0].alignment.doc
    assert "".join(s.text for s in doc.zh) == zh.strip()
    assert " ".join(s.text for s in doc.en) == EN.strip()


def test_mixed_line_ends_read_like_plain_newlines(tmp_path):
    lf = BILINGUAL + "第二段也很重要。\n\nA second paragraph matters too.\n"
    lines = lf.split("\n")
    mixed = "".join(line + ("\r\n", "\r", "\n")[k % 3] for k, line in enumerate(lines[:-1]))
    a = api.load_document(write_file(tmp_path, "lf.txt", lf))
    b = api.load_document(write_file(tmp_path, "mixed.txt", mixed))
    assert a.zh == b.zh and a.en == b.en
    assert len(b.zh) == 5 and len(b.en) == 5


# ----------------------------------------------------------------- huge inputs

def _words(n_chars: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    words = ["economy", "growth", "market", "China", "trade", "report", "policy", "bank", "rate"]
    out, n = [], 0
    while n < n_chars:
        w = rng.choice(words)
        out.append(w)
        n += len(w) + 1
    return " ".join(out)


@pytest.mark.parametrize("side", ["zh", "en", "nospace"])
def test_one_megabyte_line_without_punctuation(tmp_path, side):
    """A 1 MB line with no full stop: finishes quickly, and every character is in a sentence."""
    if side == "zh":
        big = "经济增长市场贸易报告政策银行利率" * (1_000_000 // 16 // 3)
        text = big + "\n" + EN
    elif side == "en":
        big = _words(1_000_000)
        text = ZH + "\n" + big + "\n"
    else:
        big = "x" * 1_000_000
        text = ZH + "\n" + big + "\n"
    p = write_file(tmp_path, "huge.txt", text)
    start = time.perf_counter()
    report = run_api(p, out_dir=tmp_path / "out", formats=["tmx", "jsonl"])
    elapsed = time.perf_counter() - start
    a = report.documents[0].alignment
    sentences = a.doc.zh if side == "zh" else a.doc.en
    assert "".join("".join(s.text.split()) for s in sentences).count(big.replace(" ", "")[:1000]) >= 1
    assert sum(len("".join(s.text.split())) for s in sentences) >= len(big.replace(" ", ""))
    assert sorted(i for b in a.beads for i in b.zh_ids) == list(range(len(a.doc.zh)))
    assert sorted(j for b in a.beads for j in b.en_ids) == list(range(len(a.doc.en)))
    assert elapsed < 60, f"a 1 MB line took {elapsed:.0f} s (quadratic somewhere?)"


def _numbered_document(n: int) -> Document:
    zh = [Sentence(f"第{i}条：今年经济增长{i % 97}个百分点。", i // 5) for i in range(n)]
    en = [Sentence(f"Item {i}: the economy grew by {i % 97} points this year.", i // 5) for i in range(n)]
    return Document(f"n{n}", zh=zh, en=en)


def _peak_bytes(n: int, options: AlignOptions) -> tuple[int, Alignment]:
    doc = _numbered_document(n)
    tracemalloc.start()
    try:
        a = api.align_document(doc, options, FakeEncoder())
        return tracemalloc.get_traced_memory()[1], a
    finally:
        tracemalloc.stop()


# Bertalign's cosine scorer: the same data structures as the default, a quarter of the time.
_FAST = AlignOptions(scorer="cosine", lexical=False)


def _assert_linear(options: AlignOptions) -> None:
    """Four times the sentences may take about four times the memory, never sixteen."""
    small, _ = _peak_bytes(200, options)
    big, a = _peak_bytes(800, options)
    assert sorted(i for b in a.beads for i in b.zh_ids) == list(range(800))
    assert sorted(j for b in a.beads for j in b.en_ids) == list(range(800))
    assert big / small < 6, f"peak memory {small / 1e6:.1f} MB → {big / 1e6:.1f} MB for 4× the sentences"


def test_memory_grows_linearly_with_document_size_monotonic():
    _assert_linear(replace(_FAST, monotonic=True))


def test_memory_grows_linearly_with_document_size_default_path():
    _assert_linear(_FAST)


@pytest.mark.skipif(os.environ.get("ALIGN_SLOW_TESTS") != "1",
                    reason="50,000 sentences take many minutes; ALIGN_SLOW_TESTS=1 runs it "
                           "(benchmarks/large.py measures time and memory)")
def test_fifty_thousand_sentences_finish_with_every_sentence_in_one_bead():
    peak, a = _peak_bytes(50_000, _FAST)
    assert sorted(i for b in a.beads for i in b.zh_ids) == list(range(50_000))
    assert sorted(j for b in a.beads for j in b.en_ids) == list(range(50_000))
    assert peak < 4e9


# ----------------------------------------------------------------- Word files

def _docx_bytes() -> bytes:
    docx = pytest.importorskip("docx")
    d = docx.Document()
    for para in BILINGUAL.split("\n"):
        d.add_paragraph(para)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_a_good_docx_is_read(tmp_path):
    p = write_file(tmp_path, "release.docx", _docx_bytes())
    doc = api.load_document(p)
    assert "".join(s.text for s in doc.zh) == ZH.strip()


@pytest.mark.parametrize("how", ["truncated", "not-a-zip", "zip-without-document"])
def test_a_broken_docx_is_refused(tmp_path, how):
    good = _docx_bytes()
    if how == "truncated":
        data = good[: len(good) // 2]
    elif how == "not-a-zip":
        data = b"PK\x03\x04" + random.Random(4).randbytes(3000)
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("hello.txt", "not a Word file")
        data = buf.getvalue()
    p = write_file(tmp_path, "broken.docx", data)
    expect_error(InputError, "broken.docx", "docx", call=run_api, path=p)


def test_a_password_protected_docx_is_refused(tmp_path):
    # Word saves an encrypted .docx as an OLE compound file holding an "EncryptedPackage" stream.
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    data = ole + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 50 + "EncryptedPackage".encode("utf-16-le")
    data += random.Random(5).randbytes(4000)
    p = write_file(tmp_path, "secret.docx", data)
    expect_error(InputError, "secret.docx", "password", call=run_api, path=p)


# ----------------------------------------------------------------- files that cannot be read

def test_missing_file(tmp_path):
    e = expect_error(InputError, "nope.txt", "no such file", call=run_api, path=tmp_path / "nope.txt")
    assert e.exit_code == 2
    expect_error(InputError, "nope.en.txt", "no such file", call=run_api,
                 path=write_file(tmp_path, "a.zh.txt", ZH), en_path=tmp_path / "nope.en.txt")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    expect_error(InputError, "pipe.txt", "not a regular file", call=run_api,
                 path=write_file(tmp_path, "a.zh.txt", ZH), en_path=fifo)
    expect_error(InputError, "pipe.txt", "not a regular file", call=run_api, path=fifo)


def test_a_folder_given_as_the_second_file(tmp_path):
    (tmp_path / "dir.en.txt").mkdir()
    expect_error(InputError, "folder", call=run_api, path=write_file(tmp_path, "a.zh.txt", ZH),
                 en_path=tmp_path / "dir.en.txt")


def test_an_unreadable_file_says_permission_denied(tmp_path, monkeypatch):
    """chmod 000 does not stop root (tests run as root), so the refusal is simulated at the OS call."""
    p = write_file(tmp_path, "locked.txt", BILINGUAL)
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    e = expect_error(InputError, "locked.txt", "permission denied", call=run_api, path=p)
    assert e.exit_code == 2


# ----------------------------------------------------------------- outputs that cannot be written

def test_output_folder_under_a_regular_file(tmp_path):
    p = write_file(tmp_path, "release.txt", BILINGUAL)
    blocker = write_file(tmp_path, "not-a-folder", "I am a file")
    e = expect_error(OutputError, "not-a-folder", "cannot", call=run_api, path=p, out_dir=blocker / "out")
    assert e.exit_code == 4
    e = expect_error(OutputError, "not-a-folder", "cannot", call=run_api, path=p, out_dir=blocker)
    assert e.exit_code == 4
    assert blocker.read_text() == "I am a file"


def test_a_bad_output_folder_fails_before_any_aligning(tmp_path, monkeypatch):
    """A long document must not be aligned for minutes only to fail at writing."""
    from align import api

    p = write_file(tmp_path, "release.txt", BILINGUAL)
    blocker = write_file(tmp_path, "not-a-folder", "I am a file")
    calls = []
    monkeypatch.setattr(api, "align_document", lambda *a, **k: calls.append(1))
    expect_error(OutputError, "not-a-folder", call=run_api, path=p, out_dir=blocker / "out")
    (tmp_path / "out" / "release.csv").mkdir(parents=True)
    expect_error(OutputError, "release.csv", call=run_api, path=p, out_dir=tmp_path / "out")
    assert calls == []


def test_output_file_that_is_a_folder(tmp_path):
    p = write_file(tmp_path, "release.txt", BILINGUAL)
    (tmp_path / "out" / "release.tmx").mkdir(parents=True)
    expect_error(OutputError, "release.tmx", call=run_api, path=p, out_dir=tmp_path / "out")


def test_output_never_overwrites_an_input(tmp_path):
    p = write_file(tmp_path, "release.csv", BILINGUAL)  # the input has the name an output would get
    e = expect_error(OutputError, "release.csv", "input", call=run_api, path=p, formats=["tmx", "csv"])
    assert e.exit_code == 4
    assert p.read_text(encoding="utf-8") == BILINGUAL
    assert not (tmp_path / "release.tmx").exists(), "nothing is written when one output would hit an input"


def test_output_never_overwrites_an_input_of_a_pair(tmp_path):
    zh = write_file(tmp_path, "release.jsonl", ZH)
    en = write_file(tmp_path, "release.en.txt", EN)
    expect_error(OutputError, "input", call=run_api, path=zh, en_path=en, formats=["jsonl"])
    assert zh.read_text(encoding="utf-8") == ZH


# ----------------------------------------------------------------- XML-hostile text

def test_tmx_stays_valid_with_xml_special_and_forbidden_characters(tmp_path):
    zh = "价格<10元 & 数量>5件]]>成交。控制\x01字符\x0b在\x1f这里。"
    en = "Price <10 yuan & quantity >5 ]]> sold. Control \x01chars\x0b are\x1f here."
    p = write_file(tmp_path, "xml.txt", zh + "\n" + en + "\n")
    report = run_api(p, out_dir=tmp_path / "out", formats=["tmx", "jsonl"])
    tree = etree.parse(str(tmp_path / "out" / "xml.tmx"))  # raises on invalid XML
    segs = tree.xpath("//tuv/seg/text()")
    pairs = report.documents[0].alignment.pairs
    assert segs == [t for p in pairs if p.zh and p.en for t in (p.zh, p.en)]  # the TMX holds the pairs' text
    zh_clean = zh.replace("\x01", "").replace("\x0b", "").replace("\x1f", "")
    en_clean = en.replace("\x01", "").replace("\x0b", "").replace("\x1f", "")
    # Every character XML allows survives, < & ]]> included; only the forbidden controls go.
    assert "".join(p.zh for p in pairs) == zh_clean
    assert " ".join(p.en for p in pairs if p.en) == en_clean


def test_tmx_stays_valid_when_the_api_gets_raw_control_characters(tmp_path):
    """Text that never went through read.normalise (a Document built in code) still makes valid XML."""
    bad = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "\x7f\ufffe\uffff"
    doc = Document("raw", zh=[Sentence("中文" + bad + "<&>]]>句子。")], en=[Sentence("English" + bad + " <&>]]> text.")],
                   source="we&ird<name>.txt")
    a = Alignment(doc, [Bead([0], [0], 0.9)])
    out = write.write_alignment(a, tmp_path, write.OutputOptions(["tmx"]))
    tree = etree.parse(str(out[0]))
    segs = tree.xpath("//tuv/seg/text()")
    assert segs == ["中文\x7f<&>]]>句子。", "English\x7f <&>]]> text."]
    assert tree.xpath("//prop[@type='x-source']/text()") == ["we&ird<name>.txt"]


# ----------------------------------------------------------------- atomic outputs and batches

def test_atomic_write_crash_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "doc.tmx"
    target.write_bytes(b"old complete file")

    class Crash(Exception):
        pass

    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", *a, **kw):
        f = real_fdopen(fd, mode, *a, **kw)
        real_write = f.write

        def write_half(data):
            real_write(data[: len(data) // 2])
            raise Crash("power cut")

        f.write = write_half
        return f

    monkeypatch.setattr(write.os, "fdopen", fdopen)
    with pytest.raises(Crash):
        write.atomic_write(target, b"new " * 1000)
    assert target.read_bytes() == b"old complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.tmx"], "a temporary file was left behind"


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), OSError(28, "No space left on device")])
def test_atomic_write_interrupted_before_the_rename(tmp_path, monkeypatch, exc):
    target = tmp_path / "doc.csv"
    target.write_bytes(b"old")

    def replace(src, dst):
        raise exc

    monkeypatch.setattr(write.os, "replace", replace)
    with pytest.raises(OutputError if isinstance(exc, OSError) else KeyboardInterrupt) as info:
        write.atomic_write(target, b"new")
    if isinstance(exc, OSError):
        assert "No space left" in str(info.value)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.csv"]


def test_interrupted_batch_leaves_finished_outputs_whole_and_old_ones_untouched(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        write_file(folder, f"{name}.txt", BILINGUAL.replace("今天", f"今天{name}"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "c.tmx").write_bytes(b"previous run's c.tmx")
    real = write.atomic_write

    def crash_on_c(path, data):
        if Path(path).name == "c.tmx":
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(write, "atomic_write", crash_on_c)
    with pytest.raises(KeyboardInterrupt):
        run_api(folder, out_dir=out, formats=["tmx"], jobs=1)
    assert (out / "c.tmx").read_bytes() == b"previous run's c.tmx"
    for name in ("a", "b"):
        if (out / f"{name}.tmx").exists():  # finished before the crash: complete, valid XML
            etree.parse(str(out / f"{name}.tmx"))
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_batch_goes_on_past_bad_documents(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_file(folder, "good.txt", BILINGUAL)
    write_file(folder, "gbk.txt", BILINGUAL.encode("gbk"))
    write_file(folder, "empty.txt", "")
    write_file(folder, "chinese-only.txt", ZH)
    write_file(folder, "binary.txt", b"\x00\x01\x02\x03" * 500)
    report = run_api(folder, out_dir=tmp_path / "out", formats=["tmx", "jsonl"], jobs=1)
    by_name = {d.name: d for d in report.documents}
    assert by_name["good"].error is None and by_name["gbk"].error is None
    assert (tmp_path / "out" / "good.tmx").exists() and (tmp_path / "out" / "gbk.tmx").exists()
    assert "empty" in by_name["empty"].error
    assert "no English" in by_name["chinese-only"].error
    assert "binary" in by_name["binary"].error
    assert len(report.failed) == 3


def test_same_input_and_options_give_byte_identical_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    p = write_file(tmp_path, "release.txt", BILINGUAL)
    outs = []
    for run in ("one", "two"):
        report = run_api(p, out_dir=tmp_path / run, formats=list(write.FORMATS))
        outs.append({f.name: f.read_bytes() for f in report.documents[0].outputs})
        time.sleep(1.1)  # a clock-dependent date would differ now
    assert outs[0] == outs[1]
    assert b'creationdate="20231114T221320Z"' in outs[0]["release.tmx"]


# ----------------------------------------------------------------- the real command, in a subprocess

def _align_command() -> list[str]:
    script = Path(sys.executable).parent / "align"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from align.cli import entry; entry()"]


def run_cli(*args, cwd=None, env=None, timeout=300):
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("ALIGN_DEBUG", None)
    return subprocess.run(_align_command() + [str(a) for a in args], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=timeout)


def assert_one_line_error(proc, code: int, *fragments):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), lines[0]


def test_cli_input_errors_are_one_line_with_exit_code_2(tmp_path):
    """Every bad input in a real process: one ``error:`` line, exit 2, no traceback (no model load needed)."""
    rng = random.Random(6)
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    cases = [
        (write_file(tmp_path, "empty.txt", b""), "empty"),
        (write_file(tmp_path, "blank.txt", " \n\t\r\n"), "empty"),
        (write_file(tmp_path, "zh-only.txt", ZH), "no English"),
        (write_file(tmp_path, "en-only.txt", EN), "no Chinese"),
        (write_file(tmp_path, "bin.txt", rng.randbytes(3000) + b"\x00" * 10), "binary"),
        (write_file(tmp_path, "noise.txt", bytes(rng.randrange(0x80, 0x100) for _ in range(3000))), "not text"),
        (write_file(tmp_path, "doc.txt", b"%PDF-1.4\n..."), "PDF"),
        (write_file(tmp_path, "broken.docx", b"PK\x03\x04" + rng.randbytes(500)), "docx"),
        (tmp_path / "missing.txt", "no such file"),
        (fifo, "not a regular file"),
    ]
    for path, fragment in cases:
        assert_one_line_error(run_cli(path, "-o", tmp_path / "out"), 2, path.name, fragment)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_real_encoder_batch_output_errors_and_reproducibility(tmp_path):
    """One real-encoder group: a batch with bad documents goes on (exit 1), output errors exit 4,
    an input is never overwritten, and two runs give byte-identical files."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_file(folder, "good.txt", BILINGUAL)
    write_file(folder, "big5.txt", (ZH_TRAD + "\n" + EN).encode("big5"))
    write_file(folder, "empty.txt", "")
    write_file(folder, "english.txt", EN)
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    proc = run_cli(folder, "-o", tmp_path / "out1", "--format", "tmx,csv,jsonl", "-j", "1", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    failed = [line for line in proc.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 2 and any("empty" in f for f in failed) and any("no Chinese" in f for f in failed)
    for name in ("good", "big5"):
        etree.parse(str(tmp_path / "out1" / f"{name}.tmx"))
    # Byte-identical on a second run (same input, same options, SOURCE_DATE_EPOCH fixed).
    proc2 = run_cli(folder, "-o", tmp_path / "out2", "--format", "tmx,csv,jsonl", "-j", "1", env=env)
    assert proc2.returncode == 1
    for f in sorted((tmp_path / "out1").iterdir()):
        if f.suffix in (".tmx", ".csv", ".jsonl") and f.stem in ("good", "big5"):
            assert f.read_bytes() == (tmp_path / "out2" / f.name).read_bytes(), f.name
    # Output folder under a regular file: exit 4, one line.
    single = folder / "good.txt"
    blocker = write_file(tmp_path, "blocker", "x")
    assert_one_line_error(run_cli(single, "-o", blocker / "out"), 4, "blocker")
    # Output equal to an input: exit 4, the input untouched.
    clash = write_file(tmp_path, "clash.csv", BILINGUAL)
    assert_one_line_error(run_cli(clash, "--format", "csv"), 4, "clash.csv", "input")
    assert clash.read_text(encoding="utf-8") == BILINGUAL


def test_cli_unexpected_error_is_one_line_not_a_traceback(monkeypatch, capsys):
    """A bug inside align still ends in one line and a non-zero exit (ALIGN_DEBUG=1 shows the traceback)."""
    from align import cli

    def boom(*a, **kw):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(api, "align_path", boom)
    monkeypatch.setattr(sys, "argv", ["align", "whatever.txt"])
    monkeypatch.delenv("ALIGN_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        cli.entry()
    assert info.value.code == cli.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.strip()] == [
        "error: internal error (RuntimeError: something broke); this is a bug, please report it "
        "(ALIGN_DEBUG=1 shows the traceback)"]
