"""Sync safety on real files, the real store and the real model: idempotence, edits, deletions,
bad input. (Crash safety under SIGKILL is in test_crash.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

from quarry.assembly import Quarry
from quarry.ingest.sources import FolderSource
from tests.pipeline.conftest import (
    BAD_FILES,
    ESSAY,
    GOOD_FILES,
    WriteWatcher,
    copy_files,
    model_texts,
    write_truncated_pptx,
)

MAX = 64_000_000


def _ingest(system: Quarry, folder: Path, *, sync: bool = False, collection: str = "kb"):  # type: ignore[no-untyped-def]
    return system.ingestor.run(FolderSource(folder, max_bytes=MAX), collection, sync=sync)


def _index_is_consistent(system: Quarry, collection: str) -> None:
    """Every stored chunk is an exact span of its document's current text, and counts agree."""
    info = system.store.collection(collection)
    total = 0
    for doc in system.store.documents(collection, limit=10_000):
        full = system.store.document(collection, doc.uri)
        assert full is not None
        chunks = system.store.chunks(collection, doc.uri)
        assert [c.index for c in chunks] == list(range(len(chunks)))
        for chunk in chunks:
            assert full.text[chunk.start : chunk.end] == chunk.text
        total += len(chunks)
    assert info.chunks == total


def test_folder_of_real_files_ingests_good_ones_and_reports_bad_ones(system: Quarry, tmp_path: Path) -> None:
    folder = copy_files(GOOD_FILES + BAD_FILES, tmp_path / "docs")
    write_truncated_pptx(folder)
    report = _ingest(system, folder)
    assert report.seen == len(GOOD_FILES) + len(BAD_FILES) + 1
    assert report.new == len(GOOD_FILES)
    failed = {Path(f.uri).name: f for f in report.failures}
    assert set(failed) == {f.name for f in BAD_FILES} | {"truncated.pptx"}
    assert failed["password.pdf"].kind == "encrypted"
    assert failed["random.bin"].kind == "unsupported-format"
    assert all(f.reason for f in report.failures)
    assert report.chunks_written > 20
    assert report.chunks_embedded == report.chunks_written == model_texts(system)
    assert system.store.collection("kb").documents == len(GOOD_FILES)
    states = system.store.source_states("kb")
    assert {Path(u).name for u, s in states.items() if s.status == "failed"} == set(failed)
    _index_is_consistent(system, "kb")
    hits = system.store.search_text("kb", "memo", 3)
    assert hits
    assert hits[0].document_uri.endswith("fake-memo.pdf")


def test_rerun_of_an_unchanged_folder_embeds_nothing_and_writes_nothing(system: Quarry, tmp_path: Path) -> None:
    folder = copy_files(GOOD_FILES + BAD_FILES[:2], tmp_path / "docs")
    _ingest(system, folder)
    embedded = model_texts(system)
    watcher = WriteWatcher(system)
    try:
        again = _ingest(system, folder)
        assert not watcher.written()
    finally:
        watcher.close()
    assert model_texts(system) == embedded
    assert again.unchanged == len(GOOD_FILES)
    assert again.new == again.changed == again.documents_written == again.chunks_embedded == 0
    assert again.failed == 2


def test_an_edit_reembeds_only_changed_chunks_and_old_text_leaves_both_indexes(system: Quarry, tmp_path: Path) -> None:
    folder = copy_files([ESSAY], tmp_path / "docs")
    essay = folder / ESSAY.name
    _ingest(system, folder)
    before = system.store.chunks("kb", str(essay))
    embedded = model_texts(system)
    text = essay.read_text()
    old_sentence = "were on the IBM 1401 that our school district used"
    assert old_sentence in text
    essay.write_text(text.replace(old_sentence, "were punched for a zebra-striped mainframe our district used"))
    report = _ingest(system, folder)
    assert report.changed == 1 and report.documents_written == 1
    newly_embedded = model_texts(system) - embedded
    assert 1 <= newly_embedded <= 3 < len(before)
    after = system.store.chunks("kb", str(essay))
    assert not any("IBM 1401" in c.text for c in after)
    assert not [h for h in system.store.search_text("kb", "IBM 1401", 10) if "IBM 1401" in h.chunk.text]
    dense = system.store.search_vector("kb", system.embedder.embed_query(old_sentence), 50)
    assert {h.chunk.id for h in dense} <= {c.id for c in after}
    assert any("zebra-striped" in h.chunk.text for h in system.store.search_text("kb", "zebra-striped mainframe", 3))
    _index_is_consistent(system, "kb")


def test_sync_removes_documents_whose_files_are_gone_and_plain_runs_keep_them(system: Quarry, tmp_path: Path) -> None:
    folder = copy_files(GOOD_FILES[:4], tmp_path / "docs")
    _ingest(system, folder)
    gone = folder / GOOD_FILES[0].name
    gone.unlink()
    plain = _ingest(system, folder)
    assert plain.deleted == 0
    assert system.store.collection("kb").documents == 4
    synced = _ingest(system, folder, sync=True)
    assert synced.deleted == 1
    assert str(gone) not in system.store.source_states("kb")
    assert {d.uri for d in system.store.documents("kb")} == {str(folder / f.name) for f in GOOD_FILES[1:4]}
    assert all(h.document_uri != str(gone) for h in system.store.search_text("kb", "docx", 20))
    _index_is_consistent(system, "kb")


def test_sync_is_scoped_to_the_ingested_folder(system: Quarry, tmp_path: Path) -> None:
    first = copy_files(GOOD_FILES[:2], tmp_path / "a")
    second = copy_files(GOOD_FILES[2:4], tmp_path / "b")
    _ingest(system, first)
    _ingest(system, second)
    report = _ingest(system, second, sync=True)
    assert report.deleted == 0
    assert system.store.collection("kb").documents == 4


def test_a_file_that_breaks_keeps_its_previous_version_queryable(system: Quarry, tmp_path: Path) -> None:
    folder = copy_files([GOOD_FILES[0]], tmp_path / "docs")
    target = folder / GOOD_FILES[0].name
    _ingest(system, folder)
    chunks = system.store.chunks("kb", str(target))
    target.write_bytes(b"PK\x03\x04 this is not a docx any more")
    report = _ingest(system, folder)
    assert report.failed == 1 and Path(report.failures[0].uri) == target
    assert system.store.chunks("kb", str(target)) == chunks
    state = system.store.source_states("kb")[str(target)]
    assert state.status == "failed" and state.error
    shutil.copyfile(GOOD_FILES[0], target)
    fixed = _ingest(system, folder)
    assert fixed.ok and fixed.changed == 1 and fixed.chunks_embedded == 0


def test_exact_duplicates_are_recorded_once_and_not_indexed_twice(system: Quarry, tmp_path: Path) -> None:
    folder = copy_files(GOOD_FILES[3:4], tmp_path / "docs")
    shutil.copyfile(GOOD_FILES[3], folder / "copy-of-blog.html")
    report = _ingest(system, folder)
    assert report.duplicates == 1
    docs = {d.uri: d for d in system.store.documents("kb")}
    (copy,) = [d for d in docs.values() if d.duplicate_of]
    assert {copy.uri, copy.duplicate_of} == {str(folder / "copy-of-blog.html"), str(folder / GOOD_FILES[3].name)}
    assert copy.chunks == 0
    assert system.store.collection("kb").chunks == docs[copy.duplicate_of].chunks > 0


def test_collections_are_separate_namespaces(system: Quarry, tmp_path: Path) -> None:
    folder = copy_files(GOOD_FILES[:2], tmp_path / "docs")
    _ingest(system, folder, collection="one")
    report = _ingest(system, folder, collection="two")
    assert report.new == 2
    assert report.chunks_embedded == 0
    system.store.delete_collection("one")
    assert system.store.collection("two").documents == 2
