"""Each format family on real third-party files."""

from __future__ import annotations

import re

import pytest

from quarry.errors import EncryptedDocument, ParseError
from quarry.ingest.cleaning import clean_text
from quarry.ingest.parsers import ParserRegistry

from .conftest import MARKITDOWN, UNSTRUCTURED, parse_path, raw_of

PIPE_SEPARATOR = re.compile(r"^\| ?---", re.MULTILINE)


def test_pdf_pages_have_exact_spans_into_the_text() -> None:
    path = MARKITDOWN / "REPAIR-2022-INV-001_multipage.pdf"
    (doc,) = parse_path(path)
    assert doc.metadata["format"] == "pdf"
    assert doc.metadata["pages"] == 3
    assert [page.number for page in doc.pages] == [1, 2, 3]
    texts = [doc.text[page.start : page.end] for page in doc.pages]
    assert doc.text == "\n\n".join(texts)
    assert "Gabriel Diaz" in texts[0]
    assert "Bruce Wayne" in texts[1]
    assert "preliminary estimate" in texts[2]
    assert all(text == clean_text(text) and text for text in texts)
    assert doc.page_at(doc.text.index("Bruce Wayne")) == 2
    assert doc.uri == doc.source_uri == str(path)


def test_pdf_tables_option_renders_pipe_tables() -> None:
    (doc,) = ParserRegistry(pdf_tables=True).parse(raw_of(MARKITDOWN / "REPAIR-2022-INV-001_multipage.pdf"))
    assert PIPE_SEPARATOR.search(doc.text)
    assert "| GRAND TOTAL | 5,738 |" in doc.text
    assert [doc.text[p.start : p.end] != "" for p in doc.pages] == [True, True, True]


def test_encrypted_pdf_raises_encrypted_document() -> None:
    path = UNSTRUCTURED / "pdf/password.pdf"
    with pytest.raises(EncryptedDocument) as caught:
        parse_path(path)
    assert caught.value.uri == str(path)
    assert caught.value.hint


def test_scanned_pdf_without_text_layer_says_ocr_is_unsupported() -> None:
    with pytest.raises(ParseError, match="no text could be extracted") as caught:
        parse_path(MARKITDOWN / "MEDRPT-2024-PAT-3847_medical_report_scan.pdf")
    assert "OCR" in caught.value.hint


def test_docx_headings_and_tables() -> None:
    (doc,) = parse_path(MARKITDOWN / "test.docx")
    assert "# Abstract" in doc.text.splitlines()
    assert "# Introduction" in doc.text.splitlines()
    (tables,) = parse_path(UNSTRUCTURED / "docx-tables.docx")
    assert PIPE_SEPARATOR.search(tables.text)
    assert "| Header Col 1 | Header Col 2 |" in tables.text


def test_xlsx_one_heading_per_sheet_and_pipe_tables() -> None:
    (doc,) = parse_path(MARKITDOWN / "test.xlsx")
    headings = [line for line in doc.text.splitlines() if line.startswith("## ")]
    assert headings == ["## Sheet1", "## 09060124-b5e7-4717-9d07-3c046eb"]
    assert doc.metadata["sheets"] == 2
    assert PIPE_SEPARATOR.search(doc.text)
    assert "Unnamed:" not in doc.text
    assert "NaN" not in doc.text


def test_xls_and_empty_or_protected_workbooks() -> None:
    (doc,) = parse_path(MARKITDOWN / "test.xls")
    assert doc.text.startswith("## ")
    assert PIPE_SEPARATOR.search(doc.text)
    with pytest.raises(ParseError, match="no text"):
        parse_path(UNSTRUCTURED / "empty.xlsx")
    with pytest.raises(EncryptedDocument):
        parse_path(UNSTRUCTURED / "password_protected.xlsx")


def test_pptx_slides_are_pages() -> None:
    (doc,) = parse_path(MARKITDOWN / "test.pptx")
    assert doc.metadata["pages"] == len(doc.pages) >= 3
    slides = [doc.text[p.start : p.end] for p in doc.pages]
    assert slides[0].startswith("# AutoGen: Enabling Next-Gen LLM Applications")
    assert any("| ColA | ColB |" in slide for slide in slides)
    assert "Slide number" not in doc.text


def test_utf16_and_utf32_text() -> None:
    for name in ("fake-text-utf-16.txt", "fake-text-utf-16-le.txt", "fake-text-utf-16-be.txt", "fake-text-utf-32.txt"):
        (doc,) = parse_path(UNSTRUCTURED / name)
        assert doc.text.startswith("This is a test document to use for unit tests."), name


def test_markdown_is_kept_and_non_utf8_markdown_decodes() -> None:
    (doc,) = parse_path(UNSTRUCTURED / "README.md")
    assert doc.metadata["format"] == "markdown"
    assert doc.text.startswith("## Example Docs\n\n")  # kept as is
    assert doc.title == "Example Docs"
    (umlauts,) = parse_path(UNSTRUCTURED / "umlauts-non-utf8.md")
    assert "äöüß" in umlauts.text


def test_html_headings_tables_and_dropped_scripts() -> None:
    (doc,) = parse_path(MARKITDOWN / "test_wikipedia.html")
    assert doc.title.startswith("Microsoft")
    assert re.search(r"^## ", doc.text, re.MULTILINE)
    assert PIPE_SEPARATOR.search(doc.text)
    (scripts,) = parse_path(UNSTRUCTURED / "example-with-scripts.html")
    assert "function(" not in scripts.text
    assert "<script" not in scripts.text


def test_html_charsets_cp1252_and_utf16() -> None:
    (cp1252,) = parse_path(UNSTRUCTURED / "fake-html-cp1252.html")
    assert cp1252.text.startswith("# My First Heading")
    assert "Die schöne Frau" in cp1252.text
    assert "15,50 €" in cp1252.text
    assert "El niño" in cp1252.text
    (utf16,) = parse_path(UNSTRUCTURED / "example-steelJIS-datasheet-utf-16.html")
    (utf8,) = parse_path(UNSTRUCTURED / "example-steelJIS-datasheet.html")
    assert "SteelJIS" in utf16.title
    assert "日本語" in utf16.text
    assert "日本語" in utf8.text


def test_html_by_media_type_without_extension() -> None:
    raw = raw_of(UNSTRUCTURED / "fake-html.html", name="page", media_type="text/html; charset=utf-8")
    (doc,) = ParserRegistry().parse(raw)
    assert doc.metadata["format"] == "html"
    assert doc.text.startswith("# ")


def test_csv_shift_jis_semicolons_and_tsv() -> None:
    (kanji,) = parse_path(MARKITDOWN / "test_mskanji.csv")
    assert kanji.text.splitlines()[:2] == ["| 名前 | 年齢 | 住所 |", "| --- | --- | --- |"]
    assert "| 髙橋淳 | 35 | 名古屋 |" in kanji.text
    (semi,) = parse_path(UNSTRUCTURED / "semicolon-delimited.csv")
    assert "| Lorem, ipsum | dolor sit | amet |" in semi.text
    (tsv,) = parse_path(UNSTRUCTURED / "stanley-cups.tsv")
    assert "| Maple Leafs | TOR | 13 |" in tsv.text
    (utf16,) = parse_path(UNSTRUCTURED / "stanley-cups-utf-16.csv")
    assert "| Maple Leafs | TOR | 13 |" in utf16.text


def test_eml_subject_heading_and_header_metadata() -> None:
    (doc,) = parse_path(UNSTRUCTURED / "eml/fake-email.eml")
    assert doc.text.startswith("# Test Email\n\nFrom: Matthew Robinson <mrobinson@unstructured.io>")
    assert doc.title == doc.metadata["subject"] == "Test Email"
    assert doc.metadata["from"] == "Matthew Robinson <mrobinson@unstructured.io>"
    assert {"to", "date"} <= set(doc.metadata)
    assert "This is a test email to use for unit tests." in doc.text


def test_eml_html_only_utf16_and_attachments() -> None:
    (html_only,) = parse_path(UNSTRUCTURED / "eml/mime-html-only.eml")
    assert "This is a text/html part." in html_only.text
    assert "<p>" not in html_only.text
    (utf16,) = parse_path(UNSTRUCTURED / "eml/fake-email-utf-16.eml")
    assert utf16.title == "Test Email"
    (attached,) = parse_path(UNSTRUCTURED / "eml/fake-email-attachment.eml")
    assert attached.metadata["attachments"] == ["fake-attachment.txt"]


def test_outlook_msg() -> None:
    (doc,) = parse_path(MARKITDOWN / "test_outlook_msg.msg")
    assert doc.text.startswith("# Test Email Message")
    assert doc.title == "Test Email Message"
    assert "This is the body of the test email message" in doc.text


def test_epub_chapters_become_headings() -> None:
    (doc,) = parse_path(MARKITDOWN / "test.epub")
    assert doc.title == "Test EPUB Document"
    lines = doc.text.splitlines()
    assert "# Chapter 1: Test Content" in lines
    assert "# Chapter 2: More Content" in lines


def test_json_object_array_is_one_readable_document() -> None:
    (doc,) = parse_path(UNSTRUCTURED / "simple.json")
    assert doc.metadata["format"] == "json"
    assert "text: These are a few of my favorite things:" in doc.text
    assert "{" not in doc.text
