"""HTML (``.html``, ``.htm``, ``.xhtml``) to Markdown.

Choice: selectolax's lexbor backend (C) does the fast part — parse the page, read ``<title>``, drop
``script``/``style``/``nav``/``noscript``/``template``/``svg``/``iframe`` — and markitdown's
``HtmlConverter`` (BeautifulSoup + markdownify) renders what is left: ``#`` headings, pipe tables,
lists and links, the same rendering markitdown uses for docx and epub, so every format reads alike.
Writing our own renderer on selectolax would duplicate markdownify's table and list handling.

Charset: byte-order mark, then the HTTP ``charset`` (``raw.media_type``), then ``<meta charset>`` /
``http-equiv`` / XML declaration, then UTF-8, then detection (``charset_normalizer``).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from quarry.ingest.parsers.common import build_document, decode_bytes, media_charset, quiet
from quarry.types import Document, RawDocument

__all__ = ["HtmlParser", "html_charset", "html_to_markdown"]

_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
_DROP = "script, style, nav, noscript, template, svg, iframe, object, embed, canvas"


def html_charset(data: bytes) -> str | None:
    """The charset declared inside the document (``<meta>`` or XML declaration), if any."""
    head = data[:8192]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if match is None:
        return None
    declared = match.group(1).decode("ascii", errors="ignore").lower()
    # A UTF-16/32 declaration in bytes we could read as ASCII is wrong (the HTML spec says: use UTF-8).
    return None if declared.startswith(("utf-16", "utf-32")) else declared


@cache
def _converter() -> Any:
    from markitdown.converters import HtmlConverter

    return HtmlConverter()


def html_to_markdown(html: str) -> tuple[str, str]:
    """``(markdown, title)`` for an HTML string, with boilerplate elements removed."""
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else ""
    for node in tree.css(_DROP):
        node.decompose()
    root = tree.body if tree.body is not None else tree.root
    body = root.html if root is not None else ""
    with quiet():
        result = _converter().convert_string(body or "")
    return str(result.markdown or ""), title


class HtmlParser:
    name = "html"
    extensions = frozenset({".html", ".htm", ".xhtml", ".shtml"})
    media_types = frozenset({"text/html", "application/xhtml+xml"})

    def parse(self, raw: RawDocument) -> list[Document]:
        declared = media_charset(raw) or html_charset(raw.data)
        markdown, title = html_to_markdown(decode_bytes(raw.data, declared))
        return [build_document(raw, markdown, fmt="html", title=title)]
