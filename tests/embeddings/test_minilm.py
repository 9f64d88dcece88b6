"""The real packaged MiniLM model: semantics, determinism, batching, truncation, token counts."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from quarry.embeddings import MiniLMEmbedder
from quarry.embeddings.onnx_minilm import load_tokenizer


@pytest.fixture(scope="module")
def model(minilm: object) -> MiniLMEmbedder:
    assert isinstance(minilm, MiniLMEmbedder)
    return minilm


def test_identity_and_shape(model: MiniLMEmbedder) -> None:
    vectors = model.embed(["hello world", "another text"])
    assert model.model_id == "all-MiniLM-L6-v2-int8"
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrases_rank_above_unrelated_pairs(model: MiniLMEmbedder) -> None:
    pairs = [
        ("A man is playing a guitar.", "Someone plays an acoustic guitar."),
        ("The weather is cold and rainy today.", "It is a chilly, wet day."),
        ("How do I reset my password?", "I forgot my password and need to change it."),
        ("Aspirin reduces the risk of heart attack.", "Taking aspirin lowers myocardial infarction risk."),
    ]
    left = model.embed([a for a, _ in pairs])
    right = model.embed([b for _, b in pairs])
    similarity = left @ right.T
    for i in range(len(pairs)):
        assert similarity[i, i] > 0.5
        others = np.delete(similarity[i], i)
        assert similarity[i, i] > others.max() + 0.2, similarity


def test_query_retrieves_the_matching_passage(model: MiniLMEmbedder) -> None:
    passages = [
        "Photosynthesis converts light energy into chemical energy in plants.",
        "The stock market fell sharply after the interest rate announcement.",
        "Python is a programming language known for its readability.",
    ]
    scores = model.embed(passages) @ model.embed_query("how do plants make energy from sunlight")
    assert int(np.argmax(scores)) == 0


def test_deterministic_across_calls_and_instances(model: MiniLMEmbedder) -> None:
    texts = ["determinism matters", "int8 weights, same answers every time"]
    first = model.embed(texts)
    np.testing.assert_array_equal(first, model.embed(texts))
    np.testing.assert_allclose(first, MiniLMEmbedder(threads=1).embed(texts), atol=1e-5)


def test_batches_preserve_order_and_match_single_embeds(model: MiniLMEmbedder) -> None:
    texts = ["short", "a much longer sentence about embeddings, batching and padding " * 3, "medium length text"]
    small_batches = MiniLMEmbedder(batch_size=2)
    together = small_batches.embed(texts)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(together[i], model.embed([text])[0], atol=1e-5)


def test_long_text_is_truncated_not_rejected(model: MiniLMEmbedder) -> None:
    long_text = "word " * 5000
    vectors = model.embed([long_text, "short"])
    assert vectors.shape == (2, 384)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(vectors[0], model.embed(["word " * 400])[0], atol=1e-5)


def test_empty_inputs(model: MiniLMEmbedder) -> None:
    assert model.embed([]).shape == (0, 384)
    vector = model.embed([""])
    assert vector.shape == (1, 384)
    assert np.isfinite(vector).all()


def test_count_tokens_matches_the_tokenizer_on_real_text(model: MiniLMEmbedder, datasets: Path) -> None:
    tokenizer = load_tokenizer()
    with gzip.open(datasets / "scifact/corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
        docs = [json.loads(line) for _, line in zip(range(300), lines, strict=False)]
    texts = [f"# {doc['title']}\n\n{doc['text']}" for doc in docs]
    texts.append((datasets / "paul-graham-essay/data/paul_graham/paul_graham_essay.txt").read_text())
    for text in texts:
        assert model.count_tokens(text) == len(tokenizer.encode(text, add_special_tokens=False).ids)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "naïve café Ünïcödé 北京大学 😀",
        "page\x0cbreak and\x0bvertical tab, file\x1cseparator",
        "zero\u200bwidth and\u00a0nbsp\u2028line\u2029para\u3000ideographic",
        "[CLS] inside [SEP]text[MASK] [cls]",
        "x" * 150 + " " + "y" * 100,
        "e-mail: someone@example.com, url https://example.com/a?b=c&d=e#f",
        "\ufffd\x00\x7f control",
    ],
)
def test_count_tokens_edge_cases(model: MiniLMEmbedder, text: str) -> None:
    expected = len(load_tokenizer().encode(text, add_special_tokens=False).ids)
    assert model.count_tokens(text) == expected
    assert model.count_tokens(text) == expected  # the memoised path agrees too


def test_encode_offsets_are_token_spans(model: MiniLMEmbedder) -> None:
    text = "Embeddings map text to vectors."
    offsets = model.encode_offsets(text)
    assert len(offsets) == model.count_tokens(text)
    assert offsets == sorted(offsets)
    assert all(0 <= a < b <= len(text) for a, b in offsets)
    assert text[slice(*offsets[-1])] == "."
