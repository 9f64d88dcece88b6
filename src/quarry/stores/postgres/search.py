"""The two search paths inside PostgreSQL, filtered in SQL: BM25 over the ``postings`` table and cosine with
pgvector. Both run inside the caller's transaction.

BM25 (Lucene's IDF, ``k1``/``b`` as configured) is computed in one query over the postings of the query's
lexemes (``to_tsvector('quarry_english', query)``: words, never operators). Its statistics — chunk count, average
length, document frequencies — are those of the chunks the filter lets the caller see, so a hidden document
never moves a caller's scores. Dense search orders by ``<=>`` on the collection's ``vector(dimension)``
expression, which its partial HNSW index serves (``hnsw.ef_search`` per transaction; iterative scans keep
filtered searches at ``k`` results).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from quarry.stores.checks import query_vector
from quarry.stores.filters import Filter
from quarry.stores.postgres.filters_sql import compile_filter
from quarry.stores.postgres.rows import CHUNK_COLUMNS, STOP_LEXEMES, to_hit
from quarry.types import Hit, Matrix

__all__ = ["best_text", "best_vector", "hydrate", "text", "vector"]

_SCORES = """
WITH q AS (
    SELECT DISTINCT t.lexeme FROM unnest(to_tsvector('quarry_english', %(query)s)) AS t
    WHERE t.lexeme <> ALL(%(stop)s)
),
visible AS (
    SELECT c.pk, c.document, c.length FROM chunks c JOIN documents d ON d.pk = c.document
    WHERE c.collection_id = %(collection)s AND {condition}
),
stats AS (SELECT count(*)::float8 AS n, greatest(coalesce(avg(length), 0), 1e-9)::float8 AS avgdl FROM visible),
df AS (
    SELECT p.lexeme, count(*)::float8 AS df FROM postings p JOIN visible v ON v.pk = p.chunk
    WHERE p.collection_id = %(collection)s AND p.lexeme IN (SELECT lexeme FROM q) GROUP BY p.lexeme
),
scores AS (
    SELECT p.chunk AS pk, v.document, sum(
        ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5))
        * p.tf * (%(k1)s + 1) / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * v.length / s.avgdl))
    ) AS score
    FROM postings p JOIN df ON df.lexeme = p.lexeme JOIN visible v ON v.pk = p.chunk CROSS JOIN stats s
    WHERE p.collection_id = %(collection)s
    GROUP BY p.chunk, v.document
)
"""


def _params(collection_id: int, query: str, where: Filter | None, k1: float, b: float) -> tuple[str, dict[str, Any]]:
    condition, filter_params = compile_filter(where)
    named = {f"f{i}": value for i, value in enumerate(filter_params)}
    condition = condition.replace("%s", "{}").format(*(f"%({name})s" for name in named))
    params = {
        "query": query.replace("\x00", " "),
        "stop": STOP_LEXEMES,
        "collection": collection_id,
        "k1": k1,
        "b": b,
        **named,
    }
    return _SCORES.format(condition=condition), params


def text(conn: Any, collection_id: int, query: str, k: int, where: Filter | None, *, k1: float,
         b: float) -> list[tuple[int, float]]:  # fmt: skip
    """``(chunk pk, BM25 score)``, best first (ties by pk)."""
    if k <= 0:
        return []
    head, params = _params(collection_id, query, where, k1, b)
    rows = conn.execute(head + "SELECT pk, score FROM scores ORDER BY score DESC, pk LIMIT %(k)s", {**params, "k": k})
    return [(int(r["pk"]), float(r["score"])) for r in rows.fetchall()]


def best_text(conn: Any, collection_id: int, query: str, keys: Sequence[int], where: Filter | None, *, k1: float,
              b: float) -> dict[int, tuple[int, float]]:  # fmt: skip
    """For each document holding a chunk in ``keys``: ``document → (best chunk pk, BM25 score)`` over all of its
    chunks (0, and its first chunk, when none matches), scored as :func:`text` scores under the same filter."""
    head, params = _params(collection_id, query, where, k1, b)
    rows = conn.execute(
        head + "SELECT DISTINCT ON (c.document) c.document, c.pk, coalesce(s.score, 0) AS score "
        "FROM chunks c LEFT JOIN scores s ON s.pk = c.pk "
        "WHERE c.document IN (SELECT document FROM chunks WHERE pk = ANY(%(keys)s) AND collection_id = %(collection)s) "
        "ORDER BY c.document, coalesce(s.score, 0) DESC, c.pk",
        {**params, "keys": list(keys)},
    )
    return {int(r["document"]): (int(r["pk"]), float(r["score"])) for r in rows.fetchall()}


def vector(conn: Any, collection_id: int, dimension: int, query: Matrix, k: int, where: Filter | None, *,
           ef_search: int, iterative: bool) -> list[tuple[int, float]]:  # fmt: skip
    """``(chunk pk, cosine)``, best first. With an HNSW index, a filtered search scans the index iteratively
    until ``k`` rows pass the filter (pgvector ≥ 0.8); an older pgvector would stop at ``ef_search`` candidates
    and return fewer, so there a filtered search is exact instead."""
    if k <= 0:
        return []
    q = query_vector(query, dimension)
    condition, params = compile_filter(where)
    distance = f"(c.embedding::vector({int(dimension)}) <=> %s::vector({int(dimension)}))"
    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(ef_search, k)),))
    if where is not None and iterative:
        conn.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")
    elif where is not None:
        conn.execute("SELECT set_config('enable_indexscan', 'off', true)")
    rows = conn.execute(
        f"SELECT c.pk, 1 - {distance} AS score FROM chunks c JOIN documents d ON d.pk = c.document "
        f"WHERE c.collection_id = %s AND {condition} ORDER BY {distance}, c.pk LIMIT %s",
        (q, collection_id, *params, q, k),
    )
    return [(int(r["pk"]), float(r["score"])) for r in rows.fetchall()]


def best_vector(conn: Any, collection_id: int, dimension: int, query: Matrix,
                keys: Sequence[int]) -> dict[int, tuple[int, float]]:  # fmt: skip
    """For each document holding a chunk in ``keys``: ``document → (best chunk pk, cosine)``."""
    q = query_vector(query, dimension)
    rows = conn.execute(
        "SELECT DISTINCT ON (c.document) c.document, c.pk, "
        f"1 - (c.embedding::vector({int(dimension)}) <=> %s) AS score FROM chunks c "
        "WHERE c.document IN (SELECT document FROM chunks WHERE pk = ANY(%s) AND collection_id = %s) "
        "ORDER BY c.document, score DESC, c.pk",
        (q, list(keys), collection_id),
    )
    return {int(r["document"]): (int(r["pk"]), float(r["score"])) for r in rows.fetchall()}


def hydrate(conn: Any, scored: Sequence[tuple[int, float]], retriever: str) -> dict[int, Hit]:
    """Hits for scored chunk pks, by pk (rows deleted meanwhile are absent)."""
    if not scored:
        return {}
    rows = conn.execute(
        f"SELECT {CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.pk = c.document WHERE c.pk = ANY(%s)",
        ([pk for pk, _ in scored],),
    ).fetchall()
    by_pk = {row["chunk_pk"]: row for row in rows}
    return {pk: to_hit(by_pk[pk], score, retriever) for pk, score in scored if pk in by_pk}
