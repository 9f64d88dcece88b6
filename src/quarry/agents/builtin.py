"""Built-in tools: knowledge-base search and cited answers (always as the run's caller: their principals filter
every search, their key's collections bound where they may look), and a calculator. The SQL and HTTP tools are
in :mod:`quarry.agents.sql_tool` and :mod:`quarry.agents.http_tool`."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from quarry.agents.tools import Tool, ToolContext, tool
from quarry.errors import ConfigError
from quarry.generation import Answerer
from quarry.retrieval.search import Searcher

__all__ = ["answer_tool", "calculator", "search_tool"]

MAX_PASSAGE_CHARS = 700


def _collection(requested: str | None, default: str, context: ToolContext) -> str:
    chosen = requested or default
    if not context.may_use(chosen):
        raise ConfigError(f"this caller may not use collection {chosen!r}", key="collection")
    return chosen


def search_tool(searcher: Searcher, default_collection: str) -> Tool:
    def search_knowledge_base(query: str, context: ToolContext, collection: str | None = None, k: int = 5) -> Any:
        """Search the organisation's documents; returns the best passages with their source.

        Args:
            query: what to look for, in words the documents would use.
            collection: which collection to search (the default one when omitted).
            k: how many passages (1 to 10).
        """
        chosen = _collection(collection, default_collection, context)
        result = searcher.search(query, chosen, k=max(1, min(k, 10)), where=context.visibility)
        return [{"n": i, "source": h.title or h.document_uri, "uri": h.document_uri, "score": round(h.score, 4),
                 "text": h.chunk.text[:MAX_PASSAGE_CHARS]} for i, h in enumerate(result.hits, 1)]  # fmt: skip

    return tool(search_knowledge_base)


def answer_tool(answerer: Callable[[], Answerer], default_collection: str) -> Tool:
    def answer_from_knowledge_base(question: str, context: ToolContext, collection: str | None = None) -> Any:
        """Answer a factual question from the organisation's documents, with citations, or say it cannot.

        Args:
            question: one self-contained question.
            collection: which collection to answer from (the default one when omitted).
        """
        chosen = _collection(collection, default_collection, context)
        answer = answerer().answer(question, chosen, where=context.visibility, subject=context.user)
        return {
            "answer": answer.text, "abstained": answer.abstained, "supported": answer.supported,
            "citations": [{"n": c.number, "source": c.title or c.document_uri, "quote": c.quote[:400]}
                          for c in answer.citations],
        }  # fmt: skip

    return tool(answer_from_knowledge_base)


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}  # fmt: skip
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "log": math.log, "log10": math.log10, "exp": math.exp, "abs": abs, "round": round,
    "min": min, "max": max, "floor": math.floor, "ceil": math.ceil,
}  # fmt: skip
_CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_EXPONENT = 1000


def _evaluate(node: ast.AST) -> Any:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponents above {MAX_EXPONENT} are not computed")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.keywords:
            raise ValueError("functions take positional arguments only")
        return _FUNCTIONS[node.func.id](*(_evaluate(a) for a in node.args))
    raise ValueError(f"not allowed in an expression: {ast.unparse(node)[:60]!r}")


@tool
def calculator(expression: str) -> str:
    """Compute an arithmetic expression exactly (numbers taken from the question or from tool results).

    Args:
        expression: numbers with + - * / // % ** and parentheses; sqrt, log, log10, exp, abs, round, min, max,
            floor, ceil; the constants pi and e.
    """
    if len(expression) > 500:
        raise ValueError("the expression is longer than 500 characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {exc.msg}") from None
    value = _evaluate(tree)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return str(value)
