"""Settings of the alignment, as dataclasses: one field per lever, defaults are the tuned ones.

``AlignOptions`` is what the pipeline takes; it carries the move search's settings
(``MoveOptions``) and the one-sided sentences' (``LoneOptions``). Nothing in the package
reads a module-level flag: a test or a benchmark that wants another setting passes other
options.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MoveOptions:
    """The move finder and the search over English orders (tuned on benchmarks/reorder.py)."""

    top_k: int = 2  # anchor candidates per Chinese sentence
    jump: float = 0.5  # cost of one jump in the chain (in cosine units)
    distortion: float = 0.05  # cost per sentence of distortion near the diagonal, capped at ``jump``
    slack: float = 3.0  # sentences of distortion that cost nothing
    lookback: int = 40  # Chinese rows searched for a cheap (non-jump) predecessor
    min_anchors: int = 2  # anchors a moved block needs
    min_weight: float = 1.7  # summed (smoothed) anchor similarity a moved block needs
    para_bonus: float = 0.3  # preference for cutting English at a paragraph break
    smooth: float = 0.5  # weight of the neighbours' best match (local coherence of a block)
    reach: int = 3  # English sentences searched for a neighbour's match
    thresholds: tuple[float, ...] = (1.7, 1.2, 0.8)  # move-finder evidence thresholds tried, in turn
    verify_margin: float = 0.0  # how much higher a new English order's path must score than the best so far
    para_tries: int = 10  # English paragraphs tried at their anchors' place (strongest first)


@dataclass
class LoneOptions:
    """Sentences with no counterpart: one-sided paragraphs (``align.core.lone``), single moved
    sentences (rescue) and lone sentences given back to their pair (reattach)."""

    below: float = 0.2  # mean best centred cosine of a paragraph's sentences: below, it has no counterpart
    min_sentences: int = 8  # each side needs this many sentences for the centring to mean something
    candidate_below: float = 0.45  # paragraphs with weaker evidence are tried as one-sided
    candidate_tries: int = 20  # at most this many such tries per document
    cost: float = 2.0  # how much higher the path must score with a tried paragraph one-sided
    detach_below: float = 0.15  # centred cosine of a paragraph part with its bead's other side
    detach_margin: float = 0.1  # how much better the rest of the side must match
    rescue: bool = True  # pair a lone sentence with its counterpart that moved alone
    rescue_min_cos: float = 0.3  # centred cosine the two must reach (nearby; see lone.rescue_bar)
    rescue_far: float = 0.05  # more cosine needed per doubling of the distance beyond rescue_scale beads
    rescue_scale: float = 50.0
    rescue_margin: float = 0.15  # by how much better the counterpart must fit than its current bead
    rescue_near: int = 5  # beads: a counterpart this close is the aligner's business, not a move
    reattach: bool = True  # give lone sentences back to the neighbouring pair they belong to
    reattach_margin: float = 0.0  # by how much the grown bead must score higher
    reattach_across: bool = False  # may a lone sentence join a pair across a paragraph break


@dataclass
class AlignOptions:
    """Knobs of the aligner and of the pipeline around it (defaults are the tuned ones)."""

    max_bead: int = 6  # largest side of a 1-n / n-1 bead
    top_k: int = 8  # anchor candidates per Chinese sentence (3 missed the true one among look-alikes far away)
    window: int = 5  # search window around the first path, in sentences
    skip: float = -0.1  # score of an insertion or deletion (scorer="cosine" only)
    center: bool = True  # subtract each side's mean embedding (per document)
    # multi-sentence sides: "compose"d from the sentences by the encoder (USE; others: "refine"), "sum" of
    # sentence embeddings, "embed" each, "refine": sums, then the shortlisted ones embedded
    spans: str = "compose"
    scorer: str = "learned"  # "learned": WEIGHTS over all signals; "cosine": Bertalign's sim × length; "length": no embeddings
    lexical: bool = True  # CC-CEDICT dictionary overlap (Chinese side only)
    anchors: bool = True  # numbers, percentages, Latin names as anchors
    length: bool = True  # the length signal in the learned score
    weights: dict | None = None  # override WEIGHTS (for experiments)
    punct: bool = True  # question/exclamation marks and quotation marks should agree across a bead
    csls: bool = False  # margin scoring: discount sentences similar to everything (CSLS hubness)
    refine_margin: float = 0.15  # spans="refine": embed multi-sentence candidates within this of the best
    monotonic: bool = False  # both texts run in the same order: no search over English orders
    budget: int = 20000  # sentences × aligner runs: a document of n + m sentences gets budget / (n + m) runs
    background: bool = True  # build the dictionary and anchor signals in a second process while the encoder runs
    moves: MoveOptions = field(default_factory=MoveOptions)
    lone: LoneOptions = field(default_factory=LoneOptions)
