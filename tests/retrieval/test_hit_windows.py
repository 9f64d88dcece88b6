"""Expanding hits to neighbouring chunks and to their section, on real documents in a real store:
Paul Graham's essay (no headings, overlapping chunks) and a blog post (sections under a title)."""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quarry.assembly import Quarry, build
from quarry.embeddings import Embedder
from quarry.errors import ConfigError
from quarry.ingest.sources import FolderSource
from quarry.retrieval.hit_windows import ExpandedHit, expand_hits, expand_in_document
from quarry.settings import Settings, StoreSettings
from quarry.stores.base import Store
from quarry.types import Chunk, Hit
from tests.conftest import DATASETS, MARKITDOWN_FILES

ESSAY = DATASETS / "paul-graham-essay" / "data" / "paul_graham" / "paul_graham_essay.txt"
BLOG = MARKITDOWN_FILES / "test_blog.html"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Iterator[Quarry]:
    folder = tmp_path_factory.mktemp("docs")
    for file in (ESSAY, BLOG):
        shutil.copyfile(file, folder / file.name)
    quarry = build(Settings(store=StoreSettings(path=tmp_path_factory.mktemp("s") / "q.db")))
    quarry.__dict__["embedder"] = minilm
    assert quarry.ingestor.run(FolderSource(folder, max_bytes=10**8), "kb").ok
    yield quarry
    quarry.close()


class Spy:
    """The real store, counting the calls expansion makes."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.store, name)


def _uri(kb: Quarry, name: str) -> str:
    return next(d.uri for d in kb.store.documents("kb") if Path(d.uri).name == name)


def _hit(kb: Quarry, name: str, index: int) -> Hit:
    """A hit on chunk ``index`` of document ``name``, as search would return it."""
    uri = _uri(kb, name)
    return Hit(kb.store.chunks("kb", uri)[index], 1.0, uri, name, retriever="hybrid")


def _assert_exact(kb: Quarry, passage: ExpandedHit) -> None:
    document = kb.store.document("kb", passage.document_uri)
    assert document is not None
    assert passage.text == document.text[passage.start : passage.end]
    chunks = {c.index: c for c in kb.store.chunks("kb", passage.document_uri)}
    covered = [chunks[i] for i in passage.chunk_indexes]
    assert list(passage.chunk_indexes) == list(range(covered[0].index, covered[-1].index + 1))
    assert passage.start == covered[0].start
    assert passage.end == max(c.end for c in covered)
    for hit in passage.hits:
        assert hit.chunk.index in passage.chunk_indexes
        assert passage.start <= hit.chunk.start and hit.chunk.end <= passage.end


def test_neighbours_form_one_exact_span_with_overlap_once(kb: Quarry) -> None:
    hit = _hit(kb, ESSAY.name, 40)
    chunks = kb.store.chunks("kb", hit.document_uri)
    assert chunks[40].start < chunks[39].end, "the essay's chunks overlap"
    [passage] = expand_hits([hit], kb.store, "kb", window=2)
    _assert_exact(kb, passage)
    assert passage.chunk_indexes == (38, 39, 40, 41, 42)
    assert passage.hit == hit
    joined = sum(c.end - c.start for c in chunks[38:43])
    assert len(passage.text) < joined, "overlapping text is not repeated"


@pytest.mark.parametrize(("index", "expected"), [(0, (0, 1)), (-1, (-2, -1))])
def test_neighbours_stop_at_the_ends_of_the_document(kb: Quarry, index: int, expected: tuple[int, int]) -> None:
    chunks = kb.store.chunks("kb", _uri(kb, ESSAY.name))
    hit = _hit(kb, ESSAY.name, chunks[index].index)
    [passage] = expand_hits([hit], kb.store, "kb", window=1)
    _assert_exact(kb, passage)
    assert passage.chunk_indexes == tuple(chunks[i].index for i in expected)


def test_search_hits_next_to_each_other_merge_into_one_passage(kb: Quarry) -> None:
    hits = kb.searcher.search("writing an interpreter for Lisp in Arc", "kb", k=10).hits
    passages = expand_hits(hits, kb.store, "kb", window=1)
    assert sorted(h.chunk.id for p in passages for h in p.hits) == sorted(h.chunk.id for h in hits)
    for passage in passages:
        _assert_exact(kb, passage)
        assert [hits.index(h) for h in passage.hits] == sorted(hits.index(h) for h in passage.hits)
    firsts = [hits.index(p.hit) for p in passages]
    assert firsts == sorted(firsts), "passages come in the order of their best hit"
    for a, b in itertools.combinations(passages, 2):
        if a.document_uri == b.document_uri:
            assert not set(a.chunk_indexes) & set(b.chunk_indexes)
            assert abs(min(a.chunk_indexes) - max(b.chunk_indexes)) > 1
            assert abs(min(b.chunk_indexes) - max(a.chunk_indexes)) > 1


def test_window_zero_only_merges_touching_hits(kb: Quarry) -> None:
    hits = [_hit(kb, ESSAY.name, i) for i in (12, 10, 11, 30)]
    passages = expand_hits(hits, kb.store, "kb", window=0)
    assert [p.chunk_indexes for p in passages] == [(10, 11, 12), (30,)]
    assert passages[0].hits == (hits[0], hits[1], hits[2])
    for passage in passages:
        _assert_exact(kb, passage)


def test_the_document_is_read_only_when_chunks_leave_a_gap(kb: Quarry) -> None:
    """Overlapping chunks tile their span; a section break leaves whitespace only the document holds."""
    for name, tiled in ((ESSAY.name, True), (BLOG.name, False)):
        chunks = kb.store.chunks("kb", _uri(kb, name))
        middle = next(
            b
            for a, b, c in zip(chunks, chunks[1:], chunks[2:], strict=False)
            if (b.start <= a.end and c.start <= b.end) == tiled
        )
        spy = Spy(kb.store)
        [passage] = expand_hits([_hit(kb, name, middle.index)], spy, "kb", window=1)  # type: ignore[arg-type]
        assert spy.calls == (["chunks"] if tiled else ["chunks", "document"])
        _assert_exact(kb, passage)


def _section(chunks: list[Chunk], prefix: tuple[str, ...]) -> list[Chunk]:
    return [c for c in chunks if c.heading_path[: len(prefix)] == prefix]


def _section_hit(kb: Quarry) -> Hit:
    """A hit in the middle of a section of the post (two headings deep: title, section) of 3+ chunks."""
    chunks = kb.store.chunks("kb", _uri(kb, BLOG.name))
    depth = 2
    deep = [c for c in chunks if len(c.heading_path) == depth and len(_section(chunks, c.heading_path)) >= 3]
    assert deep, f"the article has sections {depth} headings deep with several chunks"
    members = _section(chunks, deep[0].heading_path)
    return _hit(kb, BLOG.name, members[len(members) // 2].index)


def test_section_expansion_returns_exactly_the_hits_section(kb: Quarry) -> None:
    hit = _section_hit(kb)
    chunks = kb.store.chunks("kb", hit.document_uri)
    [passage] = expand_hits([hit], kb.store, "kb", window=None, section=True)
    _assert_exact(kb, passage)
    assert passage.chunk_indexes == tuple(c.index for c in _section(chunks, hit.chunk.heading_path))
    assert passage.heading_path == hit.chunk.heading_path
    assert passage.text.lstrip().startswith("#"), "the section starts with its heading line"


def test_level_widens_to_the_parent_section_within_the_budget(kb: Quarry) -> None:
    hit = _section_hit(kb)
    chunks = kb.store.chunks("kb", hit.document_uri)
    parent = _section(chunks, hit.chunk.heading_path[:1])
    assert len(parent) > len(_section(chunks, hit.chunk.heading_path))
    budget = 3000
    [passage] = expand_hits([hit], kb.store, "kb", window=None, section=True, level=1, max_chars=budget)
    _assert_exact(kb, passage)
    assert passage.end - passage.start <= budget
    assert set(passage.chunk_indexes) <= {c.index for c in parent}
    assert len(passage.chunk_indexes) > 1
    wider = expand_hits([hit], kb.store, "kb", window=None, section=True, level=1, max_chars=budget * 3)[0]
    assert set(passage.chunk_indexes) < set(wider.chunk_indexes)


def test_neighbours_can_be_kept_inside_the_section(kb: Quarry) -> None:
    chunks = kb.store.chunks("kb", _uri(kb, BLOG.name))
    first = next(
        c for a, c in itertools.pairwise(chunks) if a.heading_path != c.heading_path and len(c.heading_path) >= 2
    )
    hit = _hit(kb, BLOG.name, first.index)
    [free] = expand_hits([hit], kb.store, "kb", window=1)
    [kept] = expand_hits([hit], kb.store, "kb", window=1, section=True)
    assert first.index - 1 in free.chunk_indexes
    assert min(kept.chunk_indexes) == first.index
    _assert_exact(kb, kept)


def test_a_budget_smaller_than_the_hit_keeps_the_hit_alone(kb: Quarry) -> None:
    hit = _hit(kb, ESSAY.name, 40)
    [passage] = expand_hits([hit], kb.store, "kb", window=3, max_chars=10)
    assert passage.chunk_indexes == (40,)
    assert passage.text == hit.chunk.text


@pytest.mark.parametrize("budget", [800, 1500, 2500])
def test_budgeted_neighbours_grow_nearest_first(kb: Quarry, budget: int) -> None:
    hit = _hit(kb, ESSAY.name, 60)
    [passage] = expand_hits([hit], kb.store, "kb", window=None, max_chars=budget)
    _assert_exact(kb, passage)
    assert passage.end - passage.start <= budget
    chunks = kb.store.chunks("kb", hit.document_uri)
    first, last = min(passage.chunk_indexes), max(passage.chunk_indexes)
    assert first <= 60 <= last
    assert first == 0 or passage.end - chunks[first - 1].start > budget, "one more chunk before would not fit"
    assert last == len(chunks) - 1 or chunks[last + 1].end - passage.start > budget, "nor one more after"


def test_in_document_expansion_matches_the_store_version(kb: Quarry) -> None:
    uri = _uri(kb, ESSAY.name)
    document = kb.store.document("kb", uri)
    assert document is not None
    hits = [_hit(kb, ESSAY.name, i) for i in (70, 5, 72)]
    local = expand_in_document(hits, kb.store.chunks("kb", uri), document.text, window=1)
    assert local == expand_hits(hits, kb.store, "kb", window=1)


def test_a_hit_whose_chunk_changed_comes_back_unexpanded(kb: Quarry) -> None:
    real = _hit(kb, ESSAY.name, 20)
    stale = dataclasses.replace(real, chunk=dataclasses.replace(real.chunk, index=10_000))
    passages = expand_hits([stale, real], kb.store, "kb", window=1)
    assert passages[0].hits == (stale,)
    assert passages[0].text == stale.chunk.text
    assert passages[1].chunk_indexes == (19, 20, 21)


def test_negative_settings_are_rejected(kb: Quarry) -> None:
    with pytest.raises(ConfigError, match="window"):
        expand_hits([], kb.store, "kb", window=-1)
    with pytest.raises(ConfigError, match="max_chars"):
        expand_hits([], kb.store, "kb", max_chars=-5)
