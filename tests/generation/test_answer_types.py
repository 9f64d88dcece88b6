"""What counts as holding the value a question asks for: the quoted span's own numbers, not a year written as a date,
a heading's number or a code's digits; for a who-question, a full name, not any capitalised word — checked on
sentences from the shared documents and on real PDFs."""

from __future__ import annotations

from quarry.assembly import Quarry
from quarry.generation.questions import analyse, asked_numbers, missing_qualifiers, type_matches
from quarry.generation.terms import person_names, place_names

from .conftest import scripted

SALES = "What were Zone NA's sales in January–June 2023 in millions of CHF?"


def test_a_year_written_as_a_date_does_not_answer_a_quantity_question() -> None:
    question = analyse(SALES)
    header = "In millions of CHF; January–June 2023; January–June 2022"
    assert question.kind == "number"
    assert asked_numbers(question, header) == frozenset() and not type_matches(question, header)
    assert asked_numbers(question, "Zone NA: 12 553 in January–June 2023") == {"12", "553"}


def test_a_count_that_looks_like_a_year_still_answers_when_it_is_not_written_as_a_date() -> None:
    question = analyse("How many patients were enrolled?")
    assert asked_numbers(question, "We enrolled 2000 patients between March 1999 and 2003.") == {"2000", "2003"}
    assert asked_numbers(question, "A cohort of 1998 patients was followed since 2004.") == {"1998"}
    assert asked_numbers(question, "In 2000, 2000 patients were enrolled.") == {"2000"}  # the count, not the date
    assert asked_numbers(analyse("In what year did it open?"), "It opened in June 1999.") == {"1999"}


def test_a_heading_number_and_a_code_do_not_answer_but_the_same_number_in_the_text_does() -> None:
    question = analyse("What overall accuracy does the inventory reconciliation report state?")
    assert question.kind == "number"
    assert not type_matches(question, "3. Analyses by segment\nINVENTORY REPORT Report ID: SPARSE-2024-INV-1234")
    assert asked_numbers(question, "3. Totals\nThe report lists 3 sites.") == {"3"}
    assert type_matches(question, "The overall accuracy rate of 97.2% meets our target")


def test_what_time_asks_for_a_date() -> None:
    question = analyse("At what time does the family day start?")
    assert question.kind == "date"
    assert type_matches(question, "The day starts at 10 am.")
    assert not type_matches(question, "We are excited about our first annual family day!")


def test_the_quote_must_hold_the_figure_itself_not_the_report_code(report_system: Quarry) -> None:
    made, _, _ = scripted(report_system, [], answer_mode="extract")
    answer = made.answer("What overall accuracy does the inventory reconciliation report state?", "r")
    assert "97.2%" in answer.text, answer.text


def test_a_who_question_is_answered_by_a_full_name_not_by_any_capitalised_word() -> None:
    question = analyse("Who was the author's advisor in his PhD program?")
    assert question.kind == "person"
    assert not type_matches(question, "I was genuinely in love with Lisp hacking and working away at On Lisp.")
    assert not type_matches(question, "Receipt required Electronics must be unopened")
    assert not type_matches(question, "INVENTORY RECONCILIATION REPORT Report ID: SPARSE-2024-INV-1234")
    assert type_matches(question, "My advisor was Tom Cheatham, who let me do what I liked.")
    assert person_names("Shri Mukesh D. Ambani, Chairman") >= {"mukes", "amban"}
    assert person_names("a sonata by Ludwig van Beethoven") >= {"ludwi", "beeth"}
    named = analyse("Who did Robert Morris recommend as an additional programmer?")
    assert not type_matches(named, "I asked Robert Morris who else was in grad school with him.")  # asked, not new
    assert type_matches(named, "Robert Morris suggested Trevor Blackwell.")


def test_the_cashier_is_quoted_from_the_line_that_names_them(receipt_system: Quarry) -> None:
    made, _, _ = scripted(receipt_system, [], answer_mode="extract")
    answer = made.answer("Who was the cashier on the TechMart receipt?", "r")
    assert "Emily Rodriguez" in answer.text and answer.supported, answer.text


def test_a_where_question_is_answered_by_a_place_not_by_any_capitalised_word() -> None:
    born = analyse("Where was Iwan Roberts born?")
    assert born.kind == "place"
    assert not type_matches(born, "Iwan Wyn Roberts (born 26 June 1968) is a Welsh former professional footballer")
    assert type_matches(born, "Roberts was born in Bangor, Gwynedd.")
    assert type_matches(born, "In Bangor, where he was born, the club still plays.")  # a locative opening a sentence
    city = analyse("In which city is the Ken Sargent House project?")
    assert city.kind == "place"
    assert not type_matches(city, "proposals from qualified Construction Managers for the project: KEN SARGENT HOUSE")
    assert type_matches(city, "The project site is located in the City of Grande Prairie.")
    assert type_matches(city, "ZAVA AUTO REPAIR 123 Main Street, Redmond, WA 98052")
    assert place_names("123 Main Street, Redmond, WA 98052") >= {"redmo"}
    assert not type_matches(analyse("In which hospital were the electrodes implanted?"),
                            "We implanted two microelectrode arrays in the motor cortex.")  # fmt: skip


def test_an_abbreviated_species_in_the_question_must_be_what_the_source_is_about() -> None:
    question = analyse("What galactose concentration was optimal for galactokinase induction in E. coli?")
    yeast = "A concentration of 0.5% galactose was optimal for induction in yeast cells."  # SciFact 42421723
    assert missing_qualifiers(question, yeast) == ["coli"]
    assert missing_qualifiers(question, "In Escherichia coli, 0.2% galactose was optimal for induction.") == []
    assert "army" not in analyse("How large is the U.S. army budget?").qualifiers.names
