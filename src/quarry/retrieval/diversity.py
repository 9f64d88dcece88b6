"""Result diversity: collapse near-duplicate hits, and re-rank by maximal marginal relevance (MMR).

Both are pure functions over candidates in rank order (best first); neither fetches anything.

**Near-duplicates.** Two hits are near-duplicates when the Jaccard similarity of their sets of word
3-shingles (case-folded ``\\w+`` tokens, so whitespace and punctuation differences do not count) reaches
a threshold. Walking the ranking best first, a hit that is a near-duplicate of an already *kept* hit is
dropped and reported as a :class:`Duplicate` (so a caller can say "3 near-identical passages hidden").
Comparing only against kept hits means a chain a≈b≈c never drops c because of a dropped b.
The Jaccard is exact, computed for all pairs at once with numpy (only shingles that occur in two or
more hits enter the product, so the work is tiny unless there really are duplicates). MinHash
(``datasketch``) would estimate the same number; it pays off when one document is compared against a
large corpus, not for the tens to hundreds of candidates of one query. A caller holding vectors can pass
its own similarity matrix instead (e.g. :func:`cosine_matrix`).

**MMR** (Carbonell & Goldstein, 1998). Greedily pick the candidate maximising
``λ · relevance − (1 − λ) · max cosine to the hits already picked``. Relevance is the fused score
min-max normalised over the candidates (fused scores are z-scores or RRF sums; the cosines are in
[-1, 1], so both terms need one scale). ``λ = 1`` is the plain ranking; smaller values trade relevance
for coverage of different passages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from quarry.errors import ConfigError, QuarryError
from quarry.types import Hit, Matrix

__all__ = [
    "Collapsed",
    "Duplicate",
    "collapse_near_duplicates",
    "cosine_matrix",
    "jaccard_matrix",
    "mmr",
    "mmr_order",
]

_WORD = re.compile(r"\w+")
_MIX = 0x9E3779B97F4A7C15  # odd 64-bit constant: gram hash = ((w0 * MIX) + w1) * MIX + w2, mod 2**64


@dataclass(frozen=True, slots=True)
class Duplicate:
    """``hit`` was dropped as a near-duplicate of the better-ranked ``kept`` (``similarity`` ≥ threshold)."""

    hit: Hit
    kept: Hit
    similarity: float


@dataclass(frozen=True, slots=True)
class Collapsed:
    """The hits that survive, in their original order; ``kept`` are their positions in the input (to
    subset keys or vectors that run parallel to the hits); ``duplicates`` are the dropped hits."""

    hits: tuple[Hit, ...]
    kept: tuple[int, ...]
    duplicates: tuple[Duplicate, ...]


def _shingles(text: str, size: int) -> npt.NDArray[np.uint64]:
    """Distinct hashes of the word ``size``-grams of ``text`` (a text shorter than ``size`` words is one
    shingle). Each word is hashed once and a gram's hash mixes its words' hashes with numpy (measured
    ~2x faster than hashing joined strings). Python's string hash is salted per process, which is fine:
    hashes are only compared within one call.
    """
    words = np.fromiter(map(hash, _WORD.findall(text.casefold())), dtype=np.int64).view(np.uint64)
    if len(words) == 0:
        return words
    width = min(size, len(words))
    grams = words[: len(words) - width + 1].copy()
    for offset in range(1, width):
        grams = grams * np.uint64(_MIX) + words[offset : len(words) - width + 1 + offset]
    return np.unique(grams)


def jaccard_matrix(texts: Sequence[str], *, shingle: int = 3) -> Matrix:
    """``out[i, j]`` = Jaccard similarity of the word ``shingle``-gram sets of ``texts[i]`` and ``texts[j]``.

    Two empty texts have similarity 0 (nothing to call a duplicate); the diagonal is 1 otherwise.
    """
    if shingle < 1:
        raise ConfigError(f"shingle size must be at least 1 word, got {shingle}", key="shingle")
    sets = [_shingles(text, shingle) for text in texts]
    n = len(sets)
    sizes = np.array([len(s) for s in sets], dtype=np.float32)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    owners = np.repeat(np.arange(n), [len(s) for s in sets])
    _, column = np.unique(np.concatenate(sets), return_inverse=True)
    shared = np.bincount(column)[column] >= 2  # a shingle in one hit only adds to no intersection
    columns, ids = np.unique(column[shared], return_inverse=True)
    incidence = np.zeros((n, len(columns)), dtype=np.float32)
    incidence[owners[shared], ids] = 1.0
    intersection = np.einsum("ik,jk->ij", incidence, incidence)
    union = sizes[:, None] + sizes[None, :] - intersection
    similarity = np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
    np.fill_diagonal(similarity, (sizes > 0).astype(np.float32))
    result: Matrix = similarity.astype(np.float32)
    return result


def cosine_matrix(vectors: Matrix) -> Matrix:
    """Pairwise cosine similarity of the rows of ``vectors`` (normalised here, so any scale works)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    result: Matrix = np.einsum("ik,jk->ij", unit, unit).astype(np.float32)
    return result


def collapse_near_duplicates(
    hits: Sequence[Hit], threshold: float | None, *, similarity: Matrix | None = None, shingle: int = 3
) -> Collapsed:
    """Drop each hit whose similarity to a better-ranked *kept* hit is at least ``threshold``.

    ``hits`` must be best first; ``threshold=None`` keeps every hit (collapsing is off). ``similarity``
    defaults to :func:`jaccard_matrix` of the chunk texts; pass e.g. ``cosine_matrix(vectors)`` to judge
    by embeddings instead (its threshold then is a cosine; note that chunks of one document embedded with
    its title reach cosine 0.9 without repeating any text, so text is the safer signal).
    """
    if threshold is None:
        return Collapsed(tuple(hits), tuple(range(len(hits))), ())
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(
            f"near-duplicate threshold must be in (0, 1], got {threshold}",
            key="retrieval.duplicate_threshold",
            hint="0.8 keeps paraphrases apart and catches copies with small edits; leave it unset to keep all hits",
        )
    sim = jaccard_matrix([h.chunk.text for h in hits], shingle=shingle) if similarity is None else similarity
    _check_square(sim, len(hits), "similarity")
    kept: list[int] = []
    duplicates: list[Duplicate] = []
    for i, hit in enumerate(hits):
        if kept:
            best = kept[int(np.argmax(sim[i, kept]))]
            if sim[i, best] >= threshold:
                duplicates.append(Duplicate(hit, hits[best], float(sim[i, best])))
                continue
        kept.append(i)
    return Collapsed(tuple(hits[i] for i in kept), tuple(kept), tuple(duplicates))


def mmr_order(relevance: npt.ArrayLike, vectors: Matrix, *, k: int, lam: float) -> list[int]:
    """Indexes of the ``k`` candidates MMR picks, in pick order (see the module docstring).

    ``relevance[i]`` is candidate i's score (higher is better, any scale); ``vectors[i]`` its embedding.
    Ties go to the better-ranked (lower) index, so ``lam=1`` returns ``range(k)`` for a sorted input.
    """
    if not 0.0 <= lam <= 1.0:
        raise ConfigError(
            f"MMR lambda must be in [0, 1], got {lam}",
            key="retrieval.mmr_lambda",
            hint="1 = pure relevance, 0 = pure diversity; 0.5-0.9 are usual",
        )
    scores = np.asarray(relevance, dtype=np.float64)
    n = len(scores)
    if vectors.shape[0] != n:
        raise QuarryError(
            f"MMR got {n} relevance scores but {vectors.shape[0]} vectors",
            hint="pass one vector per candidate, row i for candidate i",
        )
    if n == 0 or k <= 0:
        return []
    span = float(scores.max() - scores.min())
    rel = (scores - scores.min()) / span if span > 0 else np.zeros(n)
    sim = cosine_matrix(vectors).astype(np.float64)
    closest = np.full(n, -np.inf)  # max similarity to the picked set; -inf while nothing is picked
    picked: list[int] = []
    available = np.ones(n, dtype=bool)
    for _ in range(min(k, n)):
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        gain = np.where(available, lam * rel - (1.0 - lam) * penalty, -np.inf)
        choice = int(np.argmax(gain))
        picked.append(choice)
        available[choice] = False
        closest = np.maximum(closest, sim[choice])
    return picked


def mmr(hits: Sequence[Hit], vectors: Matrix, *, k: int, lam: float) -> list[Hit]:
    """The ``k`` hits MMR picks from ``hits`` (best first, ``vectors[i]`` for ``hits[i]``), in pick order.

    The hits keep their fused ``score``, so the result is no longer sorted by score.
    """
    return [hits[i] for i in mmr_order([h.score for h in hits], vectors, k=k, lam=lam)]


def _check_square(matrix: Matrix, n: int, name: str) -> None:
    if matrix.shape != (n, n):
        raise QuarryError(
            f"{name} matrix has shape {matrix.shape}, expected ({n}, {n}) for {n} hits",
            hint="pass one row and one column per hit, in the hits' order",
        )
