"""E-mail (``.eml``, RFC 822/MIME) with the standard library's ``email`` package (``policy.default``).

The subject becomes a ``#`` heading, followed by ``From``/``To``/``Cc``/``Date`` lines and the body:
the ``text/plain`` part when there is one, else the ``text/html`` part converted to Markdown.
Attachments are not parsed; their file names are listed in ``metadata["attachments"]``. Broken
headers and unknown charsets degrade to the raw value rather than failing the message.
"""

from __future__ import annotations

import codecs
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage, Message
from typing import Any

from quarry.ingest.parsers.common import build_document, decode_bytes
from quarry.ingest.parsers.html import html_to_markdown
from quarry.types import Document, RawDocument

__all__ = ["EmlParser"]

_HEADERS = ("From", "To", "Cc", "Date")
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _message(data: bytes) -> EmailMessage:
    if data.startswith(_WIDE_BOMS):  # a whole message saved as UTF-16/32 text
        message = message_from_string(decode_bytes(data), policy=policy.default)
    else:
        message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
        return " ".join(str(value).split()) if value is not None else ""
    except Exception:  # a malformed header: fall back to its raw text
        raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), "")
        return " ".join(str(raw).split())


def _part_text(part: Message) -> str:
    try:
        content: Any = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError, AssertionError):  # unknown or lying charset
        payload = part.get_payload(decode=True)
        content = decode_bytes(payload) if isinstance(payload, bytes) else str(payload or "")
    if isinstance(content, bytes):
        content = decode_bytes(content)
    return content if isinstance(content, str) else ""


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _part_text(part)
    if part.get_content_subtype() == "html":
        text, _ = html_to_markdown(text)
    return text


def _attachments(message: EmailMessage) -> list[str]:
    names = []
    for part in message.iter_attachments():
        try:
            filename = part.get_filename()
        except Exception:  # a malformed Content-Disposition
            filename = None
        if filename:
            names.append(str(filename))
    return names


class EmlParser:
    name = "eml"
    extensions = frozenset({".eml"})
    media_types = frozenset({"message/rfc822"})

    def parse(self, raw: RawDocument) -> list[Document]:
        message = _message(raw.data)
        subject = _header(message, "Subject")
        headers = {name: _header(message, name) for name in _HEADERS}
        lines = [f"# {subject}", ""] if subject else []
        lines += [f"{name}: {value}" for name, value in headers.items() if value]
        body = _body(message)
        text = "\n".join(lines) + ("\n\n" + body if body.strip() else "")
        metadata: dict[str, Any] = {"subject": subject, **{k.lower(): v for k, v in headers.items() if v}}
        attachments = _attachments(message)
        if attachments:
            metadata["attachments"] = attachments
        return [build_document(raw, text, fmt="eml", title=subject, metadata=metadata)]
