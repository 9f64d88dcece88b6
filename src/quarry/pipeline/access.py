"""Access labels set at ingestion: who may see each document, as ``metadata["principals"]``.

A document's principals (``user:ann``, ``group:hr``, ``public``) come from, in order:

1. its source's own ``principals`` metadata (a SQL column, a JSONL field): a list, a JSON list as text,
   or a comma-separated string;
2. the first ``[access] rules`` entry whose glob matches the document's relative ``path`` metadata
   (folder sources) or, failing that, its uri;
3. ``[access] default_principals`` (``["public"]`` unless configured).

Labelled documents hash their principals with their text (:class:`LabelledDocument`), so re-labelling
a document counts as a change the pipeline writes, while the embedding cache spares the model. Two
documents with the same text but different principals are never deduplicated into one another.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pathspec

from quarry.settings import AccessSettings
from quarry.stores.filters import AnyOf, Eq, Filter, Or
from quarry.types import Document, content_hash, freeze

__all__ = [
    "ALL",
    "PRINCIPALS",
    "PUBLIC",
    "AccessPolicy",
    "LabelledDocument",
    "label",
    "label_documents",
    "normalise_principals",
    "visibility_filter",
]

PRINCIPALS = "principals"
PUBLIC = "public"  # every caller holds it
ALL = "*"  # a principal that sees every document (an operator's key)


def visibility_filter(principals: Sequence[str], *, unlabelled_public: bool) -> Filter | None:
    """The filter every search of a caller holding ``principals`` carries (``None``: they see everything):
    documents labelled with one of them (or ``public``), and unlabelled ones when ``unlabelled_public``."""
    held = tuple(sorted({*principals, PUBLIC}))
    if ALL in held:
        return None
    visible: Filter = AnyOf(PRINCIPALS, held)
    return Or(visible, Eq(PRINCIPALS, None)) if unlabelled_public else visible


@dataclass(frozen=True, slots=True)
class LabelledDocument(Document):
    """A document whose ``text_hash`` covers its principals as well as its text."""

    @property
    def text_hash(self) -> str:
        principals = "\n".join(self.metadata.get(PRINCIPALS, ()))
        return content_hash(f"{content_hash(self.text)}|principals|{principals}")


class AccessPolicy:
    """Compiled ``[access]`` settings."""

    def __init__(self, settings: AccessSettings | None = None) -> None:
        self.settings = settings or AccessSettings()
        self._rules = [
            (pathspec.GitIgnoreSpec.from_lines([rule.glob]), normalise_principals(rule.principals))
            for rule in self.settings.rules
        ]
        self.default = normalise_principals(self.settings.default_principals)
        self.fingerprint = content_hash(json.dumps(self.settings.model_dump(mode="json"), sort_keys=True))[:16]

    def principals_for(self, document: Document) -> tuple[str, ...]:
        own = document.metadata.get(PRINCIPALS)
        if own is not None:
            return normalise_principals(own)
        where = document.metadata.get("path")
        target = where if isinstance(where, str) and where else document.uri
        for spec, principals in self._rules:
            if spec.match_file(target):
                return principals
        return self.default


def label(document: Document, policy: AccessPolicy) -> Document:
    """``document`` with its principals in metadata (a pure function of the document and the policy)."""
    principals = policy.principals_for(document)
    metadata = {**document.metadata, PRINCIPALS: list(principals)}
    return LabelledDocument(
        document.uri, document.source_uri, document.text, document.title, document.pages, freeze(metadata)
    )


def label_documents(documents: Sequence[Document], policy: AccessPolicy) -> list[Document]:
    return [label(document, policy) for document in documents]


def normalise_principals(value: Any) -> tuple[str, ...]:
    """Sorted, de-duplicated, non-empty principal strings from a list or a (JSON or comma-separated) string."""
    items: Iterable[Any]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            items = parsed if isinstance(parsed, list) else text.strip("[]").split(",")
        else:
            items = text.split(",")
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        items = ()
    return tuple(sorted({str(item).strip() for item in items if isinstance(item, str) and item.strip()}))
