"""align: sentence alignment of Chinese–English documents into TMX, CSV and JSONL.

The Python API mirrors the command line; see ``align.api``.
"""

__version__ = "0.1.0"

from .api import align_file, align_pair, align_path, align_text  # noqa: E402
from .model import Alignment, Bead, Document, Pair, Sentence  # noqa: E402



def export(path, formats=("tmx", "csv"), out_dir=None, *, confirmed_only=False, tmx=None):
    """Write the corrected memory of a review file NAME.align.json (``align export``); see ``align.review``."""
    from .review import export as _export

    return _export(path, formats, out_dir, confirmed_only=confirmed_only, tmx=tmx)


__all__ = ["align_text", "align_pair", "align_file", "align_path", "export",
           "Alignment", "Bead", "Document", "Pair", "Sentence", "__version__"]
