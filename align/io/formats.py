"""Text out of Word (.docx) and web (.html/.htm) files, paragraph by paragraph.

Both readers return plain text with one paragraph per line and a blank line
between paragraphs, so the rest of the pipeline (``read.normalise``, ``detect``)
treats them exactly like a text file. Nothing inside a paragraph is rewritten.

* ``.docx`` — body paragraphs and tables in document order (a two-column
  Chinese | English table comes out as interleaved paragraphs, which
  ``detect`` sorts into the two languages); headers, footers and text boxes are
  left out. Uses python-docx.
* ``.html``/``.htm`` — the main text: ``<main>``/``<article>`` when the page has
  one, without scripts, styles, navigation, headers, footers, forms or asides.
  Uses BeautifulSoup (lxml parser when installed).
"""

from __future__ import annotations

import io
import re
import zipfile

from ..errors import InputError
from .encoding import OLE, decode

DOCX_SUFFIXES = {".docx"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}



def _paragraph_text(paragraphs: list[str]) -> str:
    return "\n\n".join(p.strip() for p in paragraphs if p and p.strip()) + "\n"


# ---------------------------------------------------------------- .docx

def docx_paragraphs(data: bytes, name: str = "input.docx") -> list[str]:
    """The paragraphs of a .docx file's body, tables included, in document order."""
    if data.startswith(OLE):
        raise InputError(f"{name}: is an old Word .doc file, not .docx; save it as .docx first")
    try:
        import docx  # python-docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError(f"{name}: reading .docx needs python-docx: pip install python-docx") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise InputError(f"{name}: not a readable Word .docx file ({type(e).__name__}: {e})") from None
    except Exception as e:  # noqa: BLE001 - python-docx raises its own PackageNotFoundError and lxml errors
        raise InputError(f"{name}: not a readable Word .docx file ({type(e).__name__}: {e})") from None

    out: list[str] = []

    def walk(parent) -> None:
        # iter_inner_content yields Paragraph and Table objects in document order.
        for block in parent.iter_inner_content():
            if isinstance(block, Paragraph):
                out.append(block.text)
            elif isinstance(block, Table):
                for row in block.rows:
                    seen = set()
                    for cell in row.cells:
                        if id(cell._tc) in seen:  # a merged cell appears once per grid column
                            continue
                        seen.add(id(cell._tc))
                        walk(cell)

    try:
        walk(document)
    except Exception as e:  # noqa: BLE001 - malformed XML inside a valid zip
        raise InputError(f"{name}: cannot read the Word document's text ({type(e).__name__}: {e})") from None
    return [p for p in out if p.strip()]


def docx_text(data: bytes, name: str = "input.docx") -> str:
    """A .docx file as text: one paragraph (or table cell paragraph) per line, blank lines between."""
    return _paragraph_text(docx_paragraphs(data, name))


# ---------------------------------------------------------------- .html

_DROP_TAGS = ("script", "style", "noscript", "template", "nav", "aside", "form",
              "button", "select", "input", "textarea", "iframe", "svg", "canvas", "object", "embed",
              "menu", "dialog", "head", "title", "meta", "link")
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
_DROP_NAMES = re.compile(r"^(?:nav|navbar|navigation|menu|breadcrumbs?|sidebar|footer|header|cookie[-_]?banner|"
                         r"skip[-_]?link|share|social|pagination)$", re.I)
_BLOCKS = {"p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
           "dl", "dt", "dd", "table", "tr", "td", "th", "thead", "tbody", "tfoot", "caption", "blockquote",
           "pre", "figure", "figcaption", "address", "hr", "body", "center"}
_MARK = "\ue000"  # a private-use character marking block boundaries while whitespace is collapsed
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_CJK_PUNCT = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK_PUNCT}])[ \t\n]*\n[ \t\n]*(?=[{_CJK_PUNCT}])")


def _decode_html(data: bytes, name: str) -> str:
    m = _CHARSET.search(data[:4096])
    if m and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        declared = m.group(1).decode("ascii", "replace").lower()
        if declared in ("gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936"):
            declared = "gb18030"  # the superset: pages declared GB2312 often use GBK/GB18030 characters
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown declaration: detect instead
    return decode(data, name)


def _furniture(tag) -> bool:
    """Navigation, banners, cookie notices and hidden parts of a page."""
    attrs = tag.attrs or {}
    role = str(attrs.get("role", "")).lower()
    names = [attrs.get("id", "")] + list(attrs.get("class", []) or [])
    return (role in _DROP_ROLES or any(_DROP_NAMES.match(str(n)) for n in names if n)
            or str(attrs.get("aria-hidden", "")).lower() == "true" or "hidden" in attrs)


def html_paragraphs(data: bytes | str, name: str = "input.html") -> list[str]:
    """The main text of a web page as paragraphs (no navigation, scripts or page furniture)."""
    try:
        from bs4 import BeautifulSoup, Comment
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError(f"{name}: reading HTML needs beautifulsoup4: pip install beautifulsoup4") from None
    text = data if isinstance(data, str) else _decode_html(data, name)
    try:
        soup = BeautifulSoup(text, "lxml")
    except Exception:  # noqa: BLE001 - lxml missing: the standard library parser
        soup = BeautifulSoup(text, "html.parser")
    for c in soup.find_all(string=lambda s: isinstance(s, Comment)):
        c.extract()
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(["header", "footer"]):  # the page's, not an article's own header
        if not getattr(tag, "decomposed", False) and tag.find_parent(["article", "main"]) is None:
            tag.decompose()
    doomed = [tag for tag in soup.find_all(True) if _furniture(tag)]
    for tag in doomed:
        if not getattr(tag, "decomposed", False):
            tag.decompose()
    mains = soup.find_all("main") or soup.find_all("article") or soup.find_all(attrs={"role": "main"})
    if mains:
        root = max(mains, key=lambda t: len(t.get_text()))
    else:
        root = soup.body or soup
    for br in root.find_all("br"):
        br.replace_with(_MARK)
    for tag in root.find_all(_BLOCKS):
        tag.insert_before(_MARK)
        tag.insert_after(_MARK)
    raw = root.get_text()
    if root.name in _BLOCKS:
        raw = _MARK + raw + _MARK
    raw = _CJK_GAP.sub("", raw.replace("\r", "\n"))  # a line break inside Chinese text is no space
    raw = re.sub(r"[ \t\n\f\v]+", " ", raw)  # HTML whitespace collapses to one space
    paras = [p.strip() for p in raw.split(_MARK)]
    return [p for p in paras if p]


def html_text(data: bytes | str, name: str = "input.html") -> str:
    """A web page's main text: one paragraph per line, blank lines between."""
    return _paragraph_text(html_paragraphs(data, name))
