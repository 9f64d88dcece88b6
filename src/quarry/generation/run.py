"""One answer in progress, and the reasons an answer is abstained from before the model is asked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from quarry.generation.citations import close_cut_marker
from quarry.generation.extractive import Quote
from quarry.generation.packing import PackedSource
from quarry.generation.questions import Question, analyse, missing_qualifiers
from quarry.generation.types import Answer, Passage
from quarry.retrieval.search import SearchResult
from quarry.settings import GenerationSettings
from quarry.types import Hit, Matrix, Usage

__all__ = [
    "CacheProbe", "Run", "dense_top", "hit_passage", "source_passage", "thin_evidence", "unmatched", "weak_retrieval",
]  # fmt: skip


@dataclass
class Run:
    """One answer in progress: what was asked, found and packed, and what the model produced while streaming."""

    began: float
    question: str = ""
    query: str = ""
    asked: Question = field(default_factory=lambda: analyse(""))
    sources: list[PackedSource] = field(default_factory=list)  # what the model reads
    extra: list[PackedSource] = field(default_factory=list)  # the other retrieved passages
    quotes: list[Quote] = field(default_factory=list)  # extractive candidates over both, best first
    retrieved: tuple[Passage, ...] = ()
    collection: str = ""
    flags: list[str] = field(default_factory=list)  # guards that fired
    parts: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str = ""
    ttft_s: float | None = None

    @property
    def text(self) -> str:
        return close_cut_marker("".join(self.parts).strip())


@dataclass(frozen=True, slots=True)
class CacheProbe:
    """A cache lookup: the exact key, the collection generation and question vector it was made with, the hit."""

    key: str
    generation: int
    vector: Matrix
    hit: Answer | None = None


def hit_passage(hit: Hit) -> Passage:
    c = hit.chunk
    return Passage(hit.document_uri, hit.title, c.start, c.end, c.text, score=hit.score)


def source_passage(source: PackedSource) -> Passage:
    return Passage(
        source.document_uri, source.title, source.start, source.end, source.text, source.number, source.score
    )


def dense_top(result: SearchResult) -> float | None:
    """The best cosine among the hits (from the dense path's scores), None when it was not run."""
    if result.mode == "dense":
        return max((h.score for h in result.hits), default=0.0)
    found = [e.paths["dense"][1] for e in result.explanations if "dense" in e.paths]
    return max(found) if found else None


def weak_retrieval(result: SearchResult, settings: GenerationSettings) -> str:
    """Why retrieval support is too weak to ask the model ("" when it is fine)."""
    if not result.hits:
        return "no sources found"
    if result.mode == "bm25":
        top = max(h.score for h in result.hits)
        floor = settings.min_score_bm25
        return f"weak retrieval support: top bm25 score {top:.3f} < {floor}" if top < floor else ""
    cosine = dense_top(result)
    floor = settings.min_score_dense
    if cosine is not None and cosine < floor:
        return f"weak retrieval support: best passage cosine {cosine:.3f} < {floor}"
    return ""


def thin_evidence(run: Run, settings: GenerationSettings) -> str:
    """Why the evidence is too thin to answer: no sentence scores ``min_evidence_score`` ("" if one does)."""
    best = run.quotes[0].score if run.quotes else 0.0
    floor = settings.min_evidence_score
    return f"no sentence of the sources answers it well enough (evidence {best:.2f} < {floor})" if best < floor else ""


def unmatched(asked: Question, sources: Sequence[PackedSource]) -> str:
    """Why the sources cannot answer: none of them carries every qualifier of the question ("" when one does) —
    a passage with the asked year but about another company, and one about the company in another year, do not
    make an answer between them."""
    if not sources:
        return "no source fits the context budget"
    missing = [missing_qualifiers(asked, s.qualifier_text(), document_words=s.document_words) for s in sources]
    if all(missing):
        fewest = min(missing, key=len)
        return f"no source mentions {', '.join(fewest)} with the rest of the question"
    return ""
