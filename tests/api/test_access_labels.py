"""Access labels at ingestion (quarry.pipeline.access): sources, rules, defaults, and re-labelling on a
rule change without re-embedding."""

from __future__ import annotations

from pathlib import Path

import pytest

from quarry.assembly import Quarry
from quarry.embeddings import Embedder
from quarry.ingest.sources import FolderSource
from quarry.pipeline import Ingestor
from quarry.pipeline.access import AccessPolicy, label, normalise_principals
from quarry.settings import AccessRule, AccessSettings
from quarry.stores.filters import AnyOf
from quarry.types import Document
from tests.api.conftest import make_settings, make_system, write_corpus
from tests.pipeline.conftest import Counting


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["group:hr", "user:ann", "group:hr", " "], ("group:hr", "user:ann")),
        ('["user:b", "user:a"]', ("user:a", "user:b")),
        ("user:a, group:x", ("group:x", "user:a")),
        ("", ()),
        (42, ()),
        ([1, None, "ok"], ("ok",)),
    ],
)
def test_normalise_principals(value: object, expected: tuple[str, ...]) -> None:
    assert normalise_principals(value) == expected


def test_label_precedence_source_then_first_rule_then_default() -> None:
    policy = AccessPolicy(
        AccessSettings(
            rules=[
                AccessRule(glob="hr/**", principals=["group:hr"]),
                AccessRule(glob="*.md", principals=["group:all"]),
            ],
            default_principals=["public"],
        )
    )
    doc = Document("file:///x/hr/a.md", "file:///x/hr/a.md", "text", metadata={"path": "hr/a.md"})
    assert label(doc, policy).metadata["principals"] == ["group:hr"]
    assert label(Document("u", "u", "t", metadata={"path": "b.md"}), policy).metadata["principals"] == ["group:all"]
    assert label(Document("u", "u", "t", metadata={"path": "b.txt"}), policy).metadata["principals"] == ["public"]
    own = Document("u", "u", "t", metadata={"path": "hr/c.md", "principals": "user:zed"})
    assert label(own, policy).metadata["principals"] == ["user:zed"]
    assert label(doc, policy).text_hash != doc.text_hash  # principals are part of what the pipeline compares
    relabelled = label(doc, AccessPolicy(AccessSettings(default_principals=["public"])))
    assert relabelled.text_hash != label(doc, policy).text_hash


def _count(quarry: Quarry) -> int:
    inner = quarry.embedder.inner  # type: ignore[attr-defined]
    assert isinstance(inner, Counting)
    return inner.texts


def test_rule_change_relabels_without_re_embedding(tmp_path: Path, minilm: Embedder) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    settings = make_settings(tmp_path)
    quarry = make_system(tmp_path, Counting(minilm), settings)
    source = FolderSource(corpus, max_bytes=10**6)
    first = quarry.ingestor.run(source, "c")
    embedded = _count(quarry)
    assert first.ok and embedded > 0
    again = quarry.ingestor.run(source, "c")
    assert again.unchanged == again.seen and _count(quarry) == embedded  # nothing changed, nothing done
    hr = AnyOf("principals", ("group:hr",))
    assert {h.document_uri.rsplit("/", 1)[-1] for h in quarry.store.search_text("c", "salary band", 10, hr)} == {
        "salaries.md"
    }
    opened = AccessSettings(rules=[AccessRule(glob="hr/**", principals=["group:hr", "group:finance"])])
    relabel = Ingestor(quarry.store, quarry.embedder, quarry.parsers, settings.chunking, quarry.tracer, access=opened)
    report = relabel.run(source, "c")
    assert report.changed == report.seen and report.documents_written == 1  # only the HR document's label changed
    assert _count(quarry) == embedded  # the embedding cache served every chunk
    finance = AnyOf("principals", ("group:finance",))
    assert [h.document_uri.rsplit("/", 1)[-1] for h in quarry.store.search_text("c", "salary band", 10, finance)] == [
        "salaries.md"
    ]
    quarry.close()


def test_same_text_different_principals_is_not_a_duplicate(tmp_path: Path, minilm: Embedder) -> None:
    (tmp_path / "docs" / "hr").mkdir(parents=True)
    (tmp_path / "docs" / "hr" / "policy.md").write_text("# Policy\n\nThe same words in two places.")
    (tmp_path / "docs" / "policy.md").write_text("# Policy\n\nThe same words in two places.")
    quarry = make_system(tmp_path, minilm, make_settings(tmp_path))
    report = quarry.ingestor.run(FolderSource(tmp_path / "docs", max_bytes=10**6), "c")
    assert report.duplicates == 0
    public = quarry.store.search_text("c", "same words", 5, AnyOf("principals", ("public",)))
    assert [h.document_uri.rsplit("/", 2)[-2:] for h in public] == [["docs", "policy.md"]]
    quarry.close()
