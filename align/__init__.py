"""align: sentence alignment of Chinese–English documents into TMX, CSV and JSONL.

The Python API mirrors the command line; see ``align.api``.
"""

__version__ = "0.1.0"

from .api import align_file, align_pair, align_path, align_text  # noqa: E402
from .model import Alignment, Bead, Document, Pair, Sentence  # noqa: E402

__all__ = ["align_text", "align_pair", "align_file", "align_path",
           "Alignment", "Bead", "Document", "Pair", "Sentence", "__version__"]
