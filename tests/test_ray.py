"""The batch on Ray (``--engine ray``): the same bytes, report, table and resume as the local batch.

One local Ray (2 CPUs) serves the whole module (``ray_session``); the tests that need it are
skipped, with the reason, when Ray cannot be imported. The API tests pass the fast, deterministic
``FakeEncoder`` (pickled by value to the actors, which cannot import the tests' ``conftest``), so
byte-for-byte comparisons test the engine, not the encoder's arithmetic; the command-line test
runs the real default encoder, which each actor must then load itself.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FakeEncoder
from test_batch import make_releases, w

import align
from align.batch.run import Progress

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ["tmx", "csv", "jsonl"]
EPOCH = "1700000000"


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray for the module; its address lets a command-line run connect to it too."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'zhen-align[ray]')")
    import conftest

    ray.cloudpickle.register_pickle_by_value(conftest)  # the FakeEncoder travels to the actors
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # and the CrashingEncoder
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture
def releases(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return make_releases(tmp_path / "releases")


def run(root, out, engine, encoder=None, **kw):
    kw.setdefault("formats", FORMATS)
    if engine == "ray":
        kw.setdefault("actors", 2)
    else:
        kw.setdefault("jobs", 1)
    return align.align_path(root, out_dir=out, recursive=True, encoder=encoder or FakeEncoder(), engine=engine, **kw)


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def without_timings(report: dict) -> dict:
    report = dict(report, seconds=None)
    report["documents"] = [dict(d, seconds=None) for d in report["documents"]]
    return report


def rows(report, out: Path):
    return [(d.source, d.status, d.error, d.zh_sentences, d.en_sentences, d.pairs, d.low_confidence,
             [p.relative_to(out).as_posix() for p in d.outputs]) for d in report.documents]


# ---------------------------------------------------------------- the same bytes as one machine

def test_ray_writes_the_same_bytes_and_report_as_the_local_batch(ray_session, releases, tmp_path):
    local = run(releases, tmp_path / "local", "local", json_report=tmp_path / "local.json")
    on_ray = run(releases, tmp_path / "ray", "ray", json_report=tmp_path / "ray.json")
    assert on_ray.workers == 2
    mine, theirs = files(tmp_path / "local"), files(tmp_path / "ray")
    assert "corpus.tmx" in mine and "gb/rain.jsonl" in mine and len(mine) == 3 * 7  # 6 documents + corpus
    assert sorted(theirs) == sorted(mine)
    for name in mine:
        assert theirs[name] == mine[name], name
    # the broken document failed with its reason, the others were written, as in the local batch
    assert rows(on_ray, tmp_path / "ray") == rows(local, tmp_path / "local")
    failed = [d for d in on_ray.documents if d.status == "failed"]
    assert [d.source for d in failed] == ["broken.txt"] and "no Chinese text" in failed[0].error
    assert (on_ray.corpus_pairs, on_ray.duplicates_removed) == (local.corpus_pairs, local.duplicates_removed)
    a = json.loads((tmp_path / "local.json").read_text(encoding="utf-8"))
    b = json.loads((tmp_path / "ray.json").read_text(encoding="utf-8"))
    for report in (a, b):  # outputs are named as the run was asked: under its own out_dir
        report["corpus"]["outputs"] = [Path(p).name for p in report["corpus"]["outputs"]]
        for d in report["documents"]:
            d["outputs"] = [Path(p).name for p in d["outputs"]]
    a["workers"] = b["workers"]
    assert without_timings(b) == without_timings(a)


def test_a_manifest_runs_on_ray_too(ray_session, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    w(tmp_path / "x.txt", "今天下雨了。\n")
    w(tmp_path / "y.txt", "It rained today.\n")
    manifest = w(tmp_path / "m.tsv", "y.txt\tx.txt\nmissing.txt\ty.txt\n")
    reports = {}
    for engine in ("local", "ray"):
        reports[engine] = align.align_path(None, pairs=manifest, out_dir=tmp_path / engine, formats=["tmx"],
                                           encoder=FakeEncoder(), engine=engine)
    assert [(d.status, d.zh_sentences) for d in reports["ray"].documents] == [("aligned", 1), ("failed", None)]
    assert reports["ray"].documents[1].error == reports["local"].documents[1].error
    assert files(tmp_path / "ray") == files(tmp_path / "local")


# ---------------------------------------------------------------- resume, failures, interruptions

def test_resume_on_ray_skips_up_to_date_documents_and_force_redoes_them(ray_session, releases, tmp_path):
    out = tmp_path / "out"
    first = run(releases, out, "ray")
    corpus = (out / "corpus.csv").read_bytes()
    second = run(releases, out, "ray")
    assert {d.source: d.status for d in second.documents if d.status != "failed"} == \
        {d.source: "skipped" for d in first.documents if d.status != "failed"}
    assert (out / "corpus.csv").read_bytes() == corpus
    assert [d.pairs for d in second.documents] == [d.pairs for d in first.documents]
    time.sleep(0.01)
    rain = releases / "gb" / "rain.txt"
    rain.write_bytes(rain.read_bytes())
    os.utime(rain, None)
    third = run(releases, out, "ray")
    assert sorted(d.source for d in third.documents if d.status == "aligned") == ["gb/rain.txt"]
    forced = run(releases, out, "ray", force=True)
    assert not [d for d in forced.documents if d.status == "skipped"]


class CrashingEncoder(FakeEncoder):
    """Kills its process (as the out-of-memory killer would) when asked to embed ``marker``."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker = marker

    def encode(self, texts, progress=None):
        if any(self.marker in t for t in texts):
            os._exit(1)
        return super().encode(texts, progress)


def three_releases(folder: Path) -> Path:
    text = "今天{0}下雨了。我们待在家里。\n\nIt rained today ({0}). We stayed at home.\n"
    for name in ("a", "b", "c", "d"):
        w(folder / f"{name}.txt", text.format(name))
    return folder


def test_a_worker_that_dies_fails_its_document_only_and_a_rerun_resumes(ray_session, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    folder = three_releases(tmp_path / "in")
    out = tmp_path / "out"
    report = run(folder, out, "ray", encoder=CrashingEncoder("(b)"), formats=["tmx", "csv"])
    by = {d.name: d for d in report.documents}
    assert by["b"].status == "failed" and "worker process failed" in by["b"].error
    assert [by[n].status for n in "acd"] == ["aligned"] * 3  # the restarted worker went on
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "a.tmx", "c.csv", "c.tmx", "corpus.csv",
                                                     "corpus.tmx", "d.csv", "d.tmx"]
    again = run(folder, out, "ray", formats=["tmx", "csv"])
    assert [(d.name, d.status) for d in again.documents] == [("a", "skipped"), ("b", "aligned"),
                                                             ("c", "skipped"), ("d", "skipped")]
    run(folder, tmp_path / "local", "local", formats=["tmx", "csv"])
    assert files(out) == files(tmp_path / "local")


class CrashingOnceEncoder(CrashingEncoder):
    """Kills its process the first time it is asked to embed ``marker`` (a flag file says it did)."""

    def __init__(self, marker: str, flag: str):
        super().__init__(marker)
        self.flag = flag

    def encode(self, texts, progress=None):
        if any(self.marker in t for t in texts) and not os.path.exists(self.flag):
            Path(self.flag).write_text("crashed")
            os._exit(1)
        return FakeEncoder.encode(self, texts, progress)


def test_a_document_whose_worker_died_once_is_aligned_on_the_restarted_worker(ray_session, tmp_path, monkeypatch):
    """A worker can die for reasons of its own (out of memory, a node going away); the document it
    had is tried once more on the restarted worker before it counts as failed."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    folder = three_releases(tmp_path / "in")
    flag = tmp_path / "crashed"
    report = run(folder, tmp_path / "out", "ray", encoder=CrashingOnceEncoder("(c)", str(flag)), formats=["tmx"])
    assert flag.exists()  # the worker did die
    assert [(d.name, d.status) for d in report.documents] == [(n, "aligned") for n in "abcd"]
    assert (tmp_path / "out" / "c.tmx").is_file()


class InterruptAfterFirst(Progress):
    """Ctrl-C in the driver as soon as the first document is finished."""

    def document(self, result):
        raise KeyboardInterrupt


def test_ctrl_c_in_the_driver_leaves_finished_outputs_whole_and_a_rerun_resumes(ray_session, tmp_path,
                                                                                monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    folder = three_releases(tmp_path / "in")
    out = tmp_path / "out"
    formats = ["tmx", "csv", "jsonl"]  # a resumed corpus.jsonl keeps the 4-decimal scores (readback)
    with pytest.raises(KeyboardInterrupt):
        run(folder, out, "ray", progress=InterruptAfterFirst(), formats=formats)
    run(folder, tmp_path / "local", "local", formats=formats)
    reference = files(tmp_path / "local")
    written = files(out)
    assert written and "corpus.tmx" not in written
    assert not [n for n in written if n.endswith(".tmp")]
    for name, data in written.items():  # whatever was written is whole: the final bytes
        assert data == reference[name], name
    again = run(folder, out, "ray", formats=formats)
    whole = {n for n in "abcd" if all(f"{n}.{f}" in written for f in formats)}
    assert whole and {d.name for d in again.documents if d.status == "skipped"} == whole
    assert files(out) == reference


# ---------------------------------------------------------------- the command

def cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_cli_on_ray_prints_the_same_table_and_json_as_the_local_batch(ray_session, tmp_path):
    root = tmp_path / "in"
    w(root / "rain.txt", "今天下雨了。我们待在家里。\n\nIt rained today. We stayed at home.\n")
    w(root / "sample.txt", (ROOT / "data" / "sample-press.txt").read_text(encoding="utf-8"))
    w(root / "broken.txt", "Only English here.\n")
    out = tmp_path / "out"
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, RAY_ADDRESS=ray_session)  # connect to the module's Ray
    common = [root, "-o", out, "--format", "tmx,csv", "--force"]
    local = cli(*common, "-j", "2", "--json", tmp_path / "local.json", env=env)
    local_files = files(out)
    on_ray = cli(*common, "--engine", "ray", "--actors", "2", "--json", tmp_path / "ray.json", env=env)
    assert local.returncode == on_ray.returncode == 1, on_ray.stderr
    assert "sample.txt" in on_ray.stdout and "aligned" in on_ray.stdout and "failed" in on_ray.stdout
    assert on_ray.stdout == local.stdout  # the same table, the same summary lines
    assert "failed: broken: " in on_ray.stderr and "Traceback" not in on_ray.stderr
    a = json.loads((tmp_path / "local.json").read_text(encoding="utf-8"))
    b = json.loads((tmp_path / "ray.json").read_text(encoding="utf-8"))
    assert without_timings(b) == without_timings(a)
    assert sorted(files(out)) == sorted(local_files)


def test_a_cluster_that_does_not_answer_is_a_one_line_error(ray_session, tmp_path):
    w(tmp_path / "in" / "rain.txt", "今天下雨了。\n\nIt rained today.\n")
    proc = cli(tmp_path / "in", "--engine", "ray", "--ray-address", "127.0.0.1:9", timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: cannot connect to the Ray cluster at 127.0.0.1:9")
    assert len(proc.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- without Ray; the default path

_WITHOUT_RAY = """
import sys
sys.modules["ray"] = None  # `import ray` now fails, as where Ray is not installed
sys.argv = ["align", *sys.argv[1:]]
from align.cli import entry
entry()
"""


def test_without_ray_the_ray_engine_is_a_one_line_error_naming_the_extra(tmp_path):
    w(tmp_path / "in" / "rain.txt", "今天下雨了。\n\nIt rained today.\n")
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_RAY, str(tmp_path / "in"), "--engine", "ray",
                           "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "error: --engine ray needs Ray: pip install 'zhen-align[ray]'"
    assert not (tmp_path / "out").exists()  # nothing was written


def test_an_unknown_engine_or_a_ray_option_without_ray_is_a_one_line_error(tmp_path):
    w(tmp_path / "in" / "rain.txt", "今天下雨了。\n\nIt rained today.\n")
    for args, says in ((["--engine", "spark"], "--engine 'spark': unknown engine; choose from local, ray"),
                       (["--actors", "2"], "--actors needs --engine ray"),
                       (["--engine", "ray", "--actors", "0"], "--actors must be 1 or more (got 0)")):
        proc = cli(tmp_path / "in", *args, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.strip() == f"error: {says}"


_DEFAULT_PATH = """
import sys
from align.cli import app
for args in (sys.argv[1:3], sys.argv[3:]):
    try:
        app(args)
    except SystemExit as e:
        assert not e.code, e.code
print("ray imported:", "ray" in sys.modules)
"""


def test_the_default_engine_never_imports_ray(tmp_path):
    w(tmp_path / "in" / "rain.txt", "今天下雨了。我们待在家里。\n\nIt rained today. We stayed at home.\n")
    one = ["-q", str(tmp_path / "in" / "rain.txt")]
    batch = ["-q", "-j", "1", str(tmp_path / "in"), "-o", str(tmp_path / "out")]
    proc = subprocess.run([sys.executable, "-c", _DEFAULT_PATH, *one, *batch], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "ray imported: False"
    assert (tmp_path / "in" / "rain.tmx").is_file() and (tmp_path / "out" / "corpus.tmx").is_file()
