"""One PDF page as a PNG image, with given text highlighted where PDFium finds it on the page.

The web console shows a PDF citation as the page it came from. The cited text is searched for line by line
(the parser's text and the page's text agree within a line; line breaks may differ), and every match is drawn
as a translucent box over the rendered page.
"""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageDraw

from quarry.errors import ParseError
from quarry.ingest.parsers.pdf import PDFIUM_LOCK

__all__ = ["render_page"]

MAX_SEGMENTS = 40  # lines of the highlight searched for
MIN_SEGMENT = 4  # shorter lines match too much to be worth marking
HIGHLIGHT = (255, 214, 10, 110)


def render_page(path: Path, number: int, highlight: str = "", *, scale: float = 1.5) -> bytes:
    """PNG bytes of page ``number`` (1-based) of the PDF at ``path``; ParseError when it cannot be rendered.
    PDFium is not thread-safe: this holds the parser's lock, so it never runs beside an ingest's PDF parsing."""
    with PDFIUM_LOCK:
        image = _render(path, number, highlight, scale)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=True)
    return out.getvalue()


def _render(path: Path, number: int, highlight: str, scale: float) -> Image.Image:
    try:
        document = pdfium.PdfDocument(path)
    except (pdfium.PdfiumError, OSError) as exc:
        raise ParseError(f"cannot open {path.name} as a PDF: {exc}", uri=str(path)) from exc
    try:
        if not 1 <= number <= len(document):
            raise ParseError(f"{path.name} has {len(document)} pages, not page {number}", uri=str(path))
        page = document[number - 1]
        image: Image.Image = page.render(scale=scale).to_pil().convert("RGBA")
        boxes = _boxes(page, highlight, scale) if highlight.strip() else []
        if boxes:
            layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
            draw = ImageDraw.Draw(layer)
            for box in boxes:
                draw.rectangle(box, fill=HIGHLIGHT)
            image = Image.alpha_composite(image, layer)
        return image
    finally:
        document.close()


def _boxes(page: pdfium.PdfPage, text: str, scale: float) -> list[tuple[float, float, float, float]]:
    """Pixel rectangles of every place a line of ``text`` occurs on ``page``."""
    height = page.get_height()
    textpage = page.get_textpage()
    found: list[tuple[float, float, float, float]] = []
    segments = [" ".join(line.split()) for line in text.splitlines()]
    for segment in [s for s in segments if len(s) >= MIN_SEGMENT][:MAX_SEGMENTS]:
        searcher = textpage.search(segment, match_case=False)
        match = searcher.get_next()
        while match is not None:
            index, count = match
            for i in range(textpage.count_rects(index, count)):
                left, bottom, right, top = textpage.get_rect(i)
                found.append((left * scale, (height - top) * scale, right * scale, (height - bottom) * scale))
            match = searcher.get_next()
    return found
