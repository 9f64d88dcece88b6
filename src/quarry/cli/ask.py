"""``quarry ask``: a grounded answer with its cited sources, streamed to the terminal."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from quarry.cli.common import CollectionOpt, JsonOpt, console, system

if TYPE_CHECKING:
    from rich.table import Table

    from quarry.generation import Answer, Citation


def answer_dict(answer: Answer) -> dict[str, object]:
    payload = dataclasses.asdict(answer)
    payload["usage"] = {**dataclasses.asdict(answer.usage), "total_tokens": answer.usage.total_tokens}
    return payload


def _snippet(citation: Citation, width: int = 160) -> str:
    text = " ".join(citation.quote.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def sources_table(citations: tuple[Citation, ...]) -> Table:
    from rich.table import Table

    table = Table("#", "source", "page", "span", "supported", "quote", title="Sources", expand=True)
    for c in citations:
        mark = "yes" if c.supported else "no"
        table.add_row(
            f"[{c.number}]" + (" (fallback)" if c.fallback else ""),
            c.title or c.document_uri,
            "-" if c.page is None else str(c.page),
            f"{c.start}:{c.end}",
            f"{mark} ({c.overlap:.2f})",
            _snippet(c),
        )
    return table


def _footer(answer: Answer) -> str:
    u = answer.usage
    ttft = f", first token {answer.ttft_s:.2f} s" if answer.ttft_s is not None else ""
    removed = f"; removed invented citation(s) {list(answer.removed_citations)}" if answer.removed_citations else ""
    verdict = "supported" if answer.supported else "not supported"
    cached = " · from the answer cache" if answer.cached else ""
    flags = f" · guards fired: {', '.join(answer.guard_flags)}" if answer.guard_flags else ""
    return (
        f"{answer.model} · {answer.prompt_version} · {answer.method}, {verdict}{cached}{flags} · {u.prompt_tokens}+"
        f"{u.completion_tokens} tokens · ${u.cost_usd:.6f} · {answer.seconds:.2f} s{ttft}{removed} · "
        f"trace {answer.trace_id[:12]}"
    )


def show(answer: Answer) -> None:
    """Everything after the streamed text: abstention, sources, usage and trace."""
    if answer.abstained:
        console.print(f"[yellow]abstained:[/] {answer.abstain_reason}")
    if answer.citations:
        console.print(sources_table(answer.citations))
    elif not answer.abstained:
        console.print("[yellow]no citations[/]")
    console.print(_footer(answer), style="dim")


def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="the question to answer from the collection")],
    collection: CollectionOpt = "default",
    k: Annotated[int | None, typer.Option("-k", help="chunks to retrieve (default: generation.k)")] = None,
    as_json: JsonOpt = False,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="print the answer when it is complete")] = False,
) -> None:
    """Answer a question from a collection, citing the sources it used."""
    from quarry.generation import CitationEvent, DoneEvent, RevisionEvent, TokenEvent

    answerer = system(ctx).answerer
    if as_json or no_stream:
        answer = answerer.answer(question, collection, k=k)
        if as_json:
            print(json.dumps(answer_dict(answer), indent=2, ensure_ascii=False))
            return
        console.print(answer.text)
        show(answer)
        return
    out = WrappingWriter(console.width)
    for event in answerer.stream(question, collection, k=k):
        if isinstance(event, TokenEvent):
            out.write(event.text)
        elif isinstance(event, RevisionEvent):
            out.end()
            console.print(f"[yellow]revised by the claim check[/] ({event.reason}):")
            out.write(event.text)
        elif isinstance(event, CitationEvent):
            continue
        elif isinstance(event, DoneEvent):
            out.end()
            show(event.answer)


class WrappingWriter:
    """Streams text to stdout word by word, breaking lines between words at the terminal width."""

    def __init__(self, width: int) -> None:
        self.width, self.column, self.word = max(20, width), 0, ""

    def write(self, text: str) -> None:
        for piece in re.split(r"(\s+)", text):
            if not piece:
                continue
            if not piece.isspace():
                self.word += piece  # a model token may be half a word: print whole words only
                continue
            self._flush_word()
            if "\n" in piece:
                sys.stdout.write("\n" * piece.count("\n"))
                self.column = 0
        sys.stdout.flush()

    def _flush_word(self) -> None:
        if not self.word:
            return
        if self.column and self.column + 1 + len(self.word) > self.width:
            sys.stdout.write("\n")
            self.column = 0
        sys.stdout.write((" " if self.column else "") + self.word)
        self.column += (1 if self.column else 0) + len(self.word)
        self.word = ""

    def end(self) -> None:
        """Finish the line (the answer's last line always ends with a newline)."""
        self._flush_word()
        sys.stdout.write("\n")
        sys.stdout.flush()
        self.column = 0
