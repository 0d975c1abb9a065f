"""Shared test fixtures: a fast, deterministic fake sentence encoder.

``FakeEncoder`` follows ``align.core.embed.Encoder``: it maps each text to a fixed
unit vector derived from a hash of the text (same text → same vector, in every
process), so tests of everything around the encoder run in microseconds and
give byte-identical results. It knows nothing of meaning: use it to test
coverage, robustness and plumbing, never alignment quality.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest


class FakeEncoder:
    """Hash-based unit vectors: deterministic, fast, meaning-free."""

    name = "fake-hash"

    def __init__(self, dim: int = 32):
        self.dim = dim
        self.calls = 0  # texts encoded so far, for tests that care about cost
        self._cache: dict[str, np.ndarray] = {}

    def vector(self, text: str) -> np.ndarray:
        v = self._cache.get(text)
        if v is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            v = self._cache[text] = self._hash(text)
        return v

    def _hash(self, text: str) -> np.ndarray:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=self.dim).digest()
        v = np.frombuffer(digest, dtype=np.int8).astype(np.float32)
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def encode(self, texts: list[str], progress=None) -> np.ndarray:
        texts = list(texts)
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = self.vector(t)
        if progress and texts:
            progress(len(texts))
        return out


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()
