"""align: sentence alignment of Chinese–English documents into TMX, CSV and JSONL.

The Python API mirrors the command line; see ``align.api``. The layout:
``align.io`` (reading, splitting, writing), ``align.core`` (encoders and the aligner),
``align.pipeline`` (one document, top to bottom), ``align.batch`` (many documents),
``align.review`` (reviewing and correcting an alignment in the browser).
"""

from .version import __version__
from .api import align_file, align_pair, align_path, align_text, export  # noqa: E402
from .core.options import AlignOptions, LoneOptions, MoveOptions  # noqa: E402
from .model import Alignment, Bead, Document, Pair, Sentence  # noqa: E402

__all__ = ["align_text", "align_pair", "align_file", "align_path", "export", "AlignOptions", "MoveOptions",
           "LoneOptions", "Alignment", "Bead", "Document", "Pair", "Sentence", "__version__"]
