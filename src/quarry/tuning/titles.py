"""Document titles as pseudo-queries: the cheapest synthetic question a collection already holds.

A title states what its document is about in a sentence much like a search (SciFact's claims read like paper
titles), so (title → the document's opening passage, its title line removed) pairs teach the embedder the
collection's vocabulary without a chat model. The title is stripped from the positive: every chunk of a
document carries its title in the embedded context, and a pair whose query is a substring of its positive
teaches nothing. Titles that are file names (a document without one is titled by its file stem) or a single word
are skipped.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from quarry.pipeline.reembed import all_documents
from quarry.stores.base import Store
from quarry.tuning.pairs import TrainingPair
from quarry.tuning.sources import doc_key

__all__ = ["TitleReport", "title_pairs"]

MIN_TITLE_WORDS = 2
MIN_BODY_CHARS = 100
_FILE_NAME = re.compile(r"^[\w.-]+\.\w{2,5}$")


@dataclass(frozen=True, slots=True)
class TitleReport:
    pairs: list[TrainingPair]
    documents: int  # documents considered
    skipped: int  # no usable title or no body beside it


def title_pairs(store: Store, collection: str, *, count: int, seed: int = 0) -> TitleReport:
    """Up to ``count`` pairs from documents sampled at random (seeded), one per document; duplicates skipped."""
    infos = all_documents(store, collection)
    uris = sorted(uri for uri, info in infos.items() if info.duplicate_of is None)
    random.Random(seed).shuffle(uris)
    pairs: list[TrainingPair] = []
    considered = 0
    for uri in uris:
        if len(pairs) == count:
            break
        considered += 1
        title = " ".join(infos[uri].title.split())
        chunks = store.chunks(collection, uri)
        body = _without_title(chunks[0].text, title) if chunks and usable_title(title) else ""
        if len(body) >= MIN_BODY_CHARS:
            pairs.append(TrainingPair(title, body, doc_key(uri), source="title"))
    return TitleReport(pairs, considered, considered - len(pairs))


def usable_title(title: str) -> bool:
    """At least two words apart (a file stem like ``book-war-and-peace-1p`` is one) and not a file name."""
    return len(title.split()) >= MIN_TITLE_WORDS and not _FILE_NAME.match(title)


def _without_title(text: str, title: str) -> str:
    """``text`` with a leading line that is the title (as a Markdown heading or plain) removed."""
    head, _, rest = text.lstrip().partition("\n")
    if " ".join(head.lstrip("#").split()) == title:
        return rest.strip()
    return re.sub(re.escape(title), " ", text, flags=re.IGNORECASE).strip()
