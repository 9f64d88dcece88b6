"""The evidence rules behind extractive answers, abstention and the supported flag, on real text from the shared
documents: what a "how many" question counts, when a code must be in the passage, prose wrapped at a fixed width,
a quote that must say something the question does not, and a trimmed passage that keeps its best quote."""

from __future__ import annotations

import gzip
import json
from functools import cache

from quarry.assembly import Quarry
from quarry.generation.counting import counted_noun, counts
from quarry.generation.extractive import candidate_spans, rank_quotes
from quarry.generation.packing import PackedSource
from quarry.generation.questions import analyse, asked_numbers, missing_qualifiers
from quarry.generation.run import unmatched
from quarry.generation.terms import person_names, text_words
from quarry.ingest.parsers import default_registry
from quarry.types import RawDocument
from tests.conftest import SCIFACT, UNSTRUCTURED_FILES

from .conftest import ESSAY, chunk, scripted


@cache
def abstract(doc_id: str) -> str:
    with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        for record in map(json.loads, handle):
            if record["_id"] == doc_id:
                return f"{record['title']}\n{record['text']}"
    raise KeyError(doc_id)


def sentence_with(text: str, words: str) -> str:
    return next(t for _, _, t in candidate_spans(text) if words in t)


def parsed(name: str) -> str:
    path = UNSTRUCTURED_FILES / name
    return "\n\n".join(d.text for d in default_registry().parse(RawDocument(str(path), path.read_bytes(), path.name)))


def source(number: int, text: str, words: str = "") -> PackedSource:
    return PackedSource(number, f"/docs/{number}", "", [chunk(0, text, 0, document_id=f"d{number}")],
                        document_words=text_words(words or text))  # fmt: skip


def test_a_count_must_count_what_the_question_asks_about() -> None:
    question = analyse("How many SIDS cases were in the combined bed-sharing analysis?")
    assert question.counted == "case"
    text = abstract("20240998")  # bed sharing and SIDS: five datasets combined, 1472 cases
    datasets = sentence_with(text, "datasets were combined")
    cases = sentence_with(text, "1472 SIDS cases")
    assert not counts(question.counted, datasets, asked_numbers(question, datasets))  # five *datasets*
    assert counts(question.counted, cases, asked_numbers(question, cases))
    shares = sentence_with(text, "of cases and")
    assert not counts(question.counted, shares, asked_numbers(question, shares))  # "22.2% of cases" is a share
    quotes = rank_quotes(question, [source(1, text)])
    assert "1472" in quotes[0].text, quotes[0].text


def test_labels_n_equals_and_an_elided_noun_count_too() -> None:
    assert counted_noun("How many reward points did the TechMart purchase earn?") == "point"
    assert counts("point", "Total Points: 3,247\nPoints Earned: 821", frozenset({"821"}))
    assert counts("adolesc", "adolescents aged 10-16 (n = 702) living with HIV", frozenset({"702"}))
    viaweb = "We had about 70 stores at the end of 1996 and about 500 at the end of 1997."
    assert counts("store", viaweb, frozenset({"500"}))
    assert not counts("store", "Sales grew 500 at the end of 1997.", frozenset({"500"}))
    assert counted_noun("How many of the elderly hypertensive patients had a stroke?") == "patient"
    assert counted_noun("What was the total amount paid?") == ""


def test_a_code_is_needed_in_the_passage_only_when_its_document_holds_others_of_its_family() -> None:
    essay = ESSAY.read_text(encoding="utf-8")
    pages = analyse("How many pages of text fit in memory on the author's TRS-80 word processor?")
    assert pages.qualifiers.numbers == frozenset() and "trs-80" in pages.qualifiers.names
    passage = sentence_with(essay, "only room in memory")
    assert missing_qualifiers(pages, passage, document_words=text_words(essay)) == []
    report = "| SKU-8847 | Electronics | $45.00 |\n| SKU-9201 | Hardware | $32.50 |\n| SKU-6678 | Software | $200.00 |"
    cost = analyse("What is the unit cost of SKU-6678?")
    assert missing_qualifiers(cost, "| SKU-8847 | Electronics | $45.00 |", document_words=text_words(report)) == [
        "sku-6678"
    ]


def test_no_answer_is_pieced_together_from_a_passage_on_the_subject_and_one_with_the_year() -> None:
    chevron = "Chevron 2022: carbon intensity from our Eastern Mediterranean operations was 2.5 kilograms CO2e/boe."
    other = "Balance, December 31, 2021: the company recorded goodwill of $1.2 million."
    question = analyse("What carbon intensity did Chevron's Eastern Mediterranean operations have in 2021?")
    assert unmatched(question, [source(1, chevron), source(2, other)])
    assert not unmatched(analyse(question.text.replace("2021", "2022")), [source(1, chevron), source(2, other)])


def test_prose_wrapped_at_a_fixed_width_is_read_as_whole_sentences() -> None:
    text = (UNSTRUCTURED_FILES / "norwich-city.txt").read_text(encoding="utf-8", errors="replace")
    spans = [text[s:e] for s, e, _ in candidate_spans(text)]
    grew = next(s for s in spans if "grew up in" in s)
    assert "Barmouth" in grew and grew.rstrip().endswith(".[2]")
    assert "Date of birth 26 June 1968" in spans  # a short field line stays a line of its own


def test_a_quote_must_say_something_the_question_does_not() -> None:
    mail = parsed("eml/family-day.eml")
    question = analyse("What company does Mallori Harrell work for?")
    quotes = rank_quotes(question, [source(1, mail)])
    signature = next(q for q in quotes if q.text.startswith("Mallori Harrell") and "Technologies" in q.text)
    restating = next(q for q in quotes if q.text.strip().endswith("Mallori Harrell") and "Best" in q.text)
    assert signature.fits and not restating.fits
    assert signature.score > restating.score


def test_a_run_of_capitals_naming_a_place_or_an_organisation_is_not_a_person() -> None:
    assert person_names("Warehouse: Distribution Center East") == frozenset()
    assert person_names("Prepared By: Sarah Martinez") >= {"sarah", "marti"}
    assert person_names("Mike Walker signed him for Norwich City") == {"mike", "walke"}


def test_a_passage_cut_to_the_budget_keeps_the_row_the_quote_comes_from(report_system: Quarry) -> None:
    made, _, _ = scripted(report_system, [], answer_mode="extract", max_context_tokens=96)
    answer = made.answer("What is the total value of SKU-9201 in the extended inventory review?", "r")
    assert not answer.abstained and "$25,285.00" in answer.text, answer.text
