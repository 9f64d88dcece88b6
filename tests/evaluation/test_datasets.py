"""BEIR and JSONL QA loaders on the real SciFact folder and on small hand-made files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from quarry.errors import QuarryError, SourceError
from quarry.evaluation import CorpusDoc, DatasetError, RetrievalDataset, load_beir, load_qa

CORPUS: list[dict[str, object]] = [
    {"_id": "d1", "title": "Alpha", "text": "first document"},
    {"_id": "d2", "title": "", "text": "second document"},
    {"_id": 3, "text": "integer id, no title"},
]
QUERIES: list[dict[str, object]] = [
    {"_id": "q1", "text": "which is first?"},
    {"_id": "q2", "text": "second?"},
    {"_id": "q3", "text": "unjudged"},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\nq2\td2\t1\n"


def write_jsonl(path: Path, records: list[dict[str, object]], *, gz: bool) -> None:
    text = "".join(json.dumps(record) + "\n" for record in records)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def make_beir(root: Path, *, gz: bool, qrels: str = QRELS) -> Path:
    (root / "qrels").mkdir(parents=True)
    write_jsonl(root / "corpus.jsonl", CORPUS, gz=gz)
    write_jsonl(root / "queries.jsonl", QUERIES, gz=gz)
    (root / "qrels" / "test.tsv").write_text(qrels)
    return root


# --- the real SciFact ----------------------------------------------------------------------------


def test_scifact_test_split(scifact: RetrievalDataset) -> None:
    assert scifact.name == "scifact"
    assert len(scifact.corpus) == 5183
    assert len(scifact.queries) == len(scifact.qrels) == 300
    assert set(scifact.queries) == set(scifact.qrels)
    assert scifact.relevant_count == 339
    assert scifact.queries["1"] == "0-dimensional biomaterials show inductive properties."
    assert scifact.qrels["1"] == {"31715818": 1}
    assert scifact.corpus["4983"].title.startswith("Microstructural development of human newborn")
    assert scifact.answers == {}


def test_scifact_train_split(scifact_dir: Path) -> None:
    train = load_beir(scifact_dir, "train", name="scifact-train")
    assert train.name == "scifact-train"
    assert len(train.queries) == len(train.qrels) == 809
    assert len(train.corpus) == 5183


def test_unknown_split_lists_the_available_ones(scifact_dir: Path) -> None:
    with pytest.raises(DatasetError, match="no judgments for split 'dev'") as caught:
        load_beir(scifact_dir, "dev")
    assert "test, train" in caught.value.hint


# --- hand-made BEIR folders ----------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_small_beir_folder(tmp_path: Path, gz: bool) -> None:
    data = load_beir(make_beir(tmp_path / "tiny", gz=gz))
    assert data.name == "tiny"
    assert data.corpus == {
        "d1": CorpusDoc("Alpha", "first document"),
        "d2": CorpusDoc("", "second document"),
        "3": CorpusDoc("", "integer id, no title"),
    }
    assert data.queries == {"q1": "which is first?", "q2": "second?"}  # q3 has no judgments
    assert data.qrels == {"q1": {"d1": 2, "d2": 0}, "q2": {"d2": 1}}


def test_qrels_without_header_and_blank_lines(tmp_path: Path) -> None:
    data = load_beir(make_beir(tmp_path, gz=False, qrels="q1\td1\t1\n\nq2\td2\t1\n"))
    assert data.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1}}


def test_dataset_errors_are_source_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="dataset folder does not exist") as caught:
        load_beir(tmp_path / "nowhere")
    assert isinstance(caught.value, QuarryError)
    assert caught.value.source == str(tmp_path / "nowhere")


def test_missing_corpus_file(tmp_path: Path) -> None:
    root = make_beir(tmp_path, gz=False)
    (root / "corpus.jsonl").unlink()
    with pytest.raises(DatasetError, match=r"missing corpus\.jsonl or corpus\.jsonl\.gz"):
        load_beir(root)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("q1\td1", "expected 3 tab-separated fields"),
        ("q1\td1\thigh", "score 'high' is not an integer"),
        ("\td1\t1", "empty query-id"),
    ],
)
def test_malformed_qrels_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    root = make_beir(tmp_path, gz=False, qrels=QRELS + line + "\n")
    with pytest.raises(DatasetError, match=message) as caught:
        load_beir(root)
    assert caught.value.line == 5
    assert str(caught.value).startswith(f"{root / 'qrels' / 'test.tsv'}:5: ")


def test_empty_qrels(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no judgments in the file"):
        load_beir(make_beir(tmp_path, gz=False, qrels="query-id\tcorpus-id\tscore\n"))


def test_judged_query_missing_from_queries(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"1 judged queries have no text, e\.g\. 'q9'"):
        load_beir(make_beir(tmp_path, gz=False, qrels=QRELS + "q9\td1\t1\n"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"title": "no id"}', "missing or empty '_id'"),
        ('{"_id": "d1", "text": "again"}', "duplicate _id 'd1'"),
    ],
)
def test_malformed_corpus_lines(tmp_path: Path, line: str, message: str) -> None:
    root = make_beir(tmp_path, gz=False)
    with (root / "corpus.jsonl").open("a") as corpus:
        corpus.write(line + "\n")
    with pytest.raises(DatasetError, match=message) as caught:
        load_beir(root)
    assert caught.value.line == 4
    assert caught.value.path == root / "corpus.jsonl"


def test_corrupt_gzip(tmp_path: Path) -> None:
    root = make_beir(tmp_path, gz=True)
    (root / "queries.jsonl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match="cannot read the file") as caught:
        load_beir(root)
    assert caught.value.path == root / "queries.jsonl.gz"


# --- JSONL QA ------------------------------------------------------------------------------------

QA: list[dict[str, object]] = [
    {"id": "a", "question": "What is Quarry?", "answer": "A RAG platform.", "relevant": ["docs/intro.md"]},
    {"id": 7, "question": "Graded?", "relevant": {"doc-1": 2, "doc-2": 1}},
    {"id": "c", "question": "Unanswerable?", "answer": "Nobody knows.", "relevant": []},
]


@pytest.mark.parametrize("gz", [False, True])
def test_jsonl_qa(tmp_path: Path, gz: bool) -> None:
    write_jsonl(tmp_path / "faq.jsonl", QA, gz=gz)
    data = load_qa(tmp_path / ("faq.jsonl.gz" if gz else "faq.jsonl"))
    assert data.name == "faq"
    assert data.corpus == {}
    assert data.queries == {"a": "What is Quarry?", "7": "Graded?"}
    assert data.qrels == {"a": {"docs/intro.md": 1}, "7": {"doc-1": 2, "doc-2": 1}}
    assert data.answers == {"a": "A RAG platform.", "c": "Nobody knows."}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"question": "q", "relevant": ["d"]}, "missing or empty 'id'"),
        ({"id": "x", "question": "", "relevant": ["d"]}, '"question" must be a non-empty string'),
        ({"id": "x", "question": "q"}, '"relevant" must be a list'),
        ({"id": "x", "question": "q", "relevant": "d"}, '"relevant" must be a list'),
        ({"id": "x", "question": "q", "relevant": {"d": "high"}}, "integer grade"),
        ({"id": "x", "question": "q", "relevant": ["d"], "answer": 3}, '"answer" must be a string'),
        ({"id": "a", "question": "q", "relevant": ["d"]}, "duplicate id 'a'"),
    ],
)
def test_malformed_qa_lines(tmp_path: Path, record: dict[str, object], message: str) -> None:
    path = tmp_path / "qa.jsonl"
    write_jsonl(path, [QA[0], record], gz=False)
    with pytest.raises(DatasetError, match=message) as caught:
        load_qa(path)
    assert caught.value.line == 2
    assert str(caught.value).startswith(f"{path}:2: ")


def test_missing_qa_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="file does not exist"):
        load_qa(tmp_path / "absent.jsonl")
