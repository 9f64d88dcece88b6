"""Original files of uploaded PDFs, kept so a citation can be shown as the page it came from.

Uploads are otherwise read once and dropped; a PDF's bytes are kept under ``<store folder>/originals/<collection>/``
by their (already safe) upload name, replaced by a later upload of the same name and removed with the document.
Documents ingested from a server path are rendered from that path. With several API hosts the folder must be
shared (or the page view falls back to the page's text in the console).
"""

from __future__ import annotations

from pathlib import Path

from quarry.settings import Settings

__all__ = ["Originals"]

UPLOAD = "upload://"


class Originals:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def of(cls, settings: Settings) -> Originals:
        return cls(settings.store.path.parent / "originals")

    def keep(self, collection: str, name: str, data: bytes) -> None:
        """Keep an uploaded PDF (other formats are not rendered, so they are not kept)."""
        if not name.lower().endswith(".pdf"):
            return
        target = self.folder / collection / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def forget(self, collection: str, source_uri: str) -> None:
        path = self._upload(collection, source_uri)
        if path is not None:
            path.unlink(missing_ok=True)

    def find(self, collection: str, source_uri: str) -> Path | None:
        """The PDF a document was made from: its kept upload, or the server file it was ingested from."""
        path = self._upload(collection, source_uri)
        if path is None and source_uri.startswith("/"):
            path = Path(source_uri)
        return path if path is not None and path.suffix.lower() == ".pdf" and path.is_file() else None

    def _upload(self, collection: str, source_uri: str) -> Path | None:
        prefix = f"{UPLOAD}{collection}/"
        if not source_uri.startswith(prefix):
            return None
        name = source_uri[len(prefix) :]
        return self.folder / collection / name if name and "/" not in name and not name.startswith(".") else None
