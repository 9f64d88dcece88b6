"""Dispatch, errors with the uri and a hint, and the "a broken file never crashes ingestion" sweep."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from quarry.errors import ParseError, UnsupportedFormat
from quarry.ingest.parsers import ParserRegistry, default_registry
from quarry.ingest.parsers.registry import extension_of
from quarry.types import RawDocument

from .conftest import MARKITDOWN, UNSTRUCTURED, parse_path, raw_of


def test_default_registry_is_cached_and_lists_extensions() -> None:
    assert default_registry() is default_registry()
    extensions = default_registry().supported_extensions()
    assert {".pdf", ".docx", ".pptx", ".xlsx", ".xls", ".csv", ".html", ".eml", ".msg", ".epub", ".jsonl"} <= set(
        extensions
    )
    assert extensions == sorted(extensions)


def test_extension_of() -> None:
    assert extension_of("/a/B.PDF") == ".pdf"
    assert extension_of("corpus.jsonl.gz") == ".gz"
    assert extension_of("README") == ""
    assert extension_of(".bashrc") == ""


def test_unsupported_binary_names_the_extension_uri_and_supported_list() -> None:
    path = MARKITDOWN / "random.bin"
    with pytest.raises(UnsupportedFormat) as caught:
        parse_path(path)
    assert caught.value.uri == str(path)
    assert "'.bin'" in caught.value.message
    assert ".pdf" in caught.value.hint
    assert ".docx" in caught.value.hint


def test_empty_and_whitespace_text_raise_parse_error() -> None:
    for name in ("empty.txt", "fake-text-all-whitespace.txt"):
        with pytest.raises(ParseError, match="no text could be extracted") as caught:
            parse_path(UNSTRUCTURED / name)
        assert caught.value.uri.endswith(name)
        assert caught.value.hint


def test_malformed_pptx_fixture_still_parses_and_a_truncated_one_fails(tmp_path: Path) -> None:
    # unstructured's "malformed" deck has an odd shape but is a valid package: its text is recovered.
    (doc,) = parse_path(UNSTRUCTURED / "fake-power-point-malformed.pptx")
    assert "# Test Slide" in doc.text
    broken = tmp_path / "broken.pptx"
    broken.write_bytes((MARKITDOWN / "test.pptx").read_bytes()[:20_000])
    with pytest.raises(ParseError) as caught:
        parse_path(broken)
    assert caught.value.uri == str(broken)
    assert isinstance(caught.value.__cause__, Exception)


def test_corrupt_pdf_is_a_parse_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes((MARKITDOWN / "test.pdf").read_bytes()[:3000])
    with pytest.raises(ParseError) as caught:
        parse_path(broken)
    assert caught.value.uri == str(broken)


def test_sniffing_without_name_or_media_type() -> None:
    registry = ParserRegistry()
    for path, fmt in [
        (MARKITDOWN / "test.pdf", "pdf"),
        (MARKITDOWN / "test.docx", "docx"),
        (MARKITDOWN / "test.pptx", "pptx"),
        (MARKITDOWN / "test.xlsx", "xlsx"),
        (MARKITDOWN / "test.epub", "epub"),
        (UNSTRUCTURED / "fake-html.html", "html"),
    ]:
        (doc,) = registry.parse(raw_of(path, name="upload"))
        assert doc.metadata["format"] == fmt, path.name


def test_gzip_by_extension_dispatches_on_inner_extension(tmp_path: Path) -> None:
    import gzip

    raw = RawDocument(uri="mem://notes.md.gz", data=gzip.compress(b"# Notes\n\nhello"), name="notes.md.gz")
    (doc,) = ParserRegistry().parse(raw)
    assert doc.metadata["format"] == "markdown"
    assert doc.title == "Notes"
    bad = RawDocument(uri="mem://x.txt.gz", data=b"not gzip", name="x.txt.gz")
    with pytest.raises(ParseError, match="gzip"):
        ParserRegistry().parse(bad)


def test_size_limit() -> None:
    from quarry.errors import DocumentTooLarge

    raw = RawDocument(uri="mem://big.txt", data=b"x" * 100, name="big.txt")
    with pytest.raises(DocumentTooLarge):
        ParserRegistry(max_bytes=10).parse(raw)


def test_zip_without_office_markers_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "archive"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(UnsupportedFormat):
        parse_path(path)


def _every_fixture() -> list[Path]:
    files = [p for root in (UNSTRUCTURED, MARKITDOWN) for p in sorted(root.rglob("*")) if p.is_file()]
    return files


@pytest.mark.slow
def test_every_fixture_parses_or_raises_a_parse_error() -> None:
    files = _every_fixture()
    assert len(files) > 250
    registry = ParserRegistry()
    outcomes: dict[str, int] = {"parsed": 0, "failed": 0}
    wrong_uri: list[str] = []
    for path in files:
        try:
            docs = registry.parse(raw_of(path))
        except ParseError as exc:  # the only acceptable failure; anything else fails the test
            outcomes["failed"] += 1
            if exc.uri != str(path):
                wrong_uri.append(path.name)
            continue
        assert docs, path
        assert all(doc.text.strip() for doc in docs), path
        outcomes["parsed"] += 1
    assert not wrong_uri
    assert outcomes["parsed"] > 180, outcomes


def test_binary_bytes_under_a_text_name_are_skipped_with_the_reason() -> None:
    from quarry.errors import BinaryContent

    for fixture, kind in (("test.jpg", "JPEG"), ("test_files.zip", "ZIP"), ("random.bin", "binary data")):
        raw = raw_of(MARKITDOWN / fixture, name="notes.txt")
        with pytest.raises(BinaryContent) as caught:
            default_registry().parse(raw)
        assert kind in caught.value.message and caught.value.reason == "binary" and caught.value.hint
    utf16 = "Plain text in UTF-16 without a byte-order mark.\n".encode("utf-16-le")
    text = default_registry().parse(RawDocument(uri="u", data=utf16, name="notes.txt"))
    assert text[0].text.startswith("Plain text in UTF-16")


def test_gzip_and_zip_bombs_are_refused_without_inflating_them(tmp_path: Path) -> None:
    import gzip
    import io

    from quarry.errors import DocumentTooLarge

    registry = ParserRegistry(max_bytes=10**6)
    bomb = gzip.compress(b"\0" * (100 * 10**6), compresslevel=9)  # ~100 KB that inflates to 100 MB
    with pytest.raises(DocumentTooLarge, match="inflates to more than 1,000,000 bytes"):
        registry.parse(RawDocument(uri="u", data=bomb, name="notes.txt.gz"))
    docx = (MARKITDOWN / "test.docx").read_bytes()
    packed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as real, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as out:
        for item in real.infolist():
            out.writestr(item, real.read(item))
        out.writestr("word/media/padding.bin", b"\0" * (50 * 10**6))
    with pytest.raises(DocumentTooLarge, match="zip bomb"):
        registry.parse(RawDocument(uri="u", data=packed.getvalue(), name="report.docx"))
    assert registry.parse(raw_of(MARKITDOWN / "test.docx"))  # a real document still parses
