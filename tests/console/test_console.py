"""The web console end to end: a real browser against a real `quarry serve` with real documents and the local model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.conftest import MARKITDOWN_FILES
from tests.console.conftest import SAMPLES, SECRET_TEXT, Console, assert_accessible, shot

PDF = MARKITDOWN_FILES / "REPAIR-2022-INV-001_multipage.pdf"
DROPPED_FILE = """() => {
  const data = new DataTransfer();
  const text = "# Canteen hours\\n\\nThe canteen opens at 08:00.";
  data.items.add(new File([text], "canteen.md", { type: "text/markdown" }));
  return data;
}"""
# the browser's own layout-shift entries (what Core Web Vitals call CLS), summed from now on
LAYOUT_SHIFTS = """() => {
  window.layoutShift = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.layoutShift += entry.value;
  }).observe({ type: "layout-shift" });
}"""


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    """A fresh browser context at 1280×800; fails the test on any script error on the page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(60_000)
    yield tab
    context.close()
    assert not errors, errors


def sign_in(page: Any, console: Console, token: str) -> None:
    page.goto(console.base + "/")
    page.get_by_label("API key").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#question")


def test_upload_a_file_and_watch_its_job_finish(page: Any, console: Console, tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n this is not a PDF body")
    sign_in(page, console, console.admin)
    page.goto(console.base + "/#/kb")
    page.get_by_label("New collection").fill("uploads")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url("**/#/kb/uploads")
    page.locator("#files").set_input_files([str(SAMPLES / "security-policy.md"), str(PDF), str(broken)])
    page.wait_for_selector(".job.succeeded", timeout=120_000)
    job = page.locator(".job").first.inner_text()
    assert "new 2" in job and "failed 1" in job, job
    assert "broken.pdf" in page.locator(".job .errors").inner_text()  # the broken file is named with its reason
    page.wait_for_selector("table a:has-text('security')")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    page.dispatch_event(".dropzone", "drop", {"dataTransfer": page.evaluate_handle(DROPPED_FILE)})  # drag and drop
    page.wait_for_selector("table a:has-text('Canteen hours')", timeout=120_000)
    assert rows.count() == 3 and page.locator(".job.succeeded").count() == 2
    shot(page, "knowledge-base")
    assert_accessible(page)
    page.get_by_label("Search documents").fill("REPAIR")
    assert rows.count() == 1
    rows.first.locator("a").click()
    page.wait_for_selector(".chunks li")
    first_chunk = page.locator(".chunks li").first.inner_text()
    assert "chars 0–" in first_chunk and "page 1" in first_chunk
    shot(page, "document-chunks")
    assert_accessible(page)
    page.go_back()
    page.get_by_label("Search documents").fill("security")
    rows.first.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()  # confirm
    page.wait_for_selector("text=No document matches.")
    page.get_by_label("Search documents").fill("")
    assert rows.count() == 2
    # a citation of the PDF opens its page, rendered, with the cited text marked
    page.goto(console.base + "/#/chat")
    page.select_option("#collection", "uploads")
    page.get_by_label("Question").fill("What is the VIN of Gabriel Diaz's Jeep Grand Cherokee?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_selector(".answer .meta", timeout=120_000)
    page.locator(".sources button").first.click()
    image = page.locator(".page-image img")
    image.wait_for()
    page.wait_for_function("() => document.querySelector('.page-image img').naturalWidth > 500")
    assert "page 1 of 3" in page.locator(".viewer").inner_text()
    shot(page, "pdf-source")


def test_ask_see_the_streamed_answer_open_its_source_and_trace(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin)
    page.select_option("#collection", "handbook")
    page.get_by_label("Question").fill("What are the core working hours at Northwind?")
    page.evaluate(LAYOUT_SHIFTS)
    page.get_by_role("button", name="Ask").click()
    page.wait_for_selector(".answer[aria-busy='true']")  # the answer streams into the page before it is done
    page.wait_for_selector(".answer .meta", timeout=120_000)
    shift = page.evaluate("window.layoutShift")
    assert shift < 0.1, f"the page moved while the answer streamed (cumulative layout shift {shift:.3f})"
    answer = page.locator(".answer .text").inner_text()
    assert "10:00" in answer and "16:00" in answer, answer
    page.locator("button.cite").first.click()
    mark = page.locator("#cited-span")
    mark.wait_for()
    assert "10:00 to 16:00" in mark.inner_text()
    assert "Northwind Robotics Employee Handbook" in page.locator(".viewer h2").inner_text()
    shot(page, "chat")
    assert_accessible(page)
    page.get_by_role("button", name="Helpful", exact=True).click()
    page.wait_for_selector(".toast:has-text('feedback recorded')")
    page.get_by_role("link", name="Trace", exact=True).click()
    page.wait_for_selector(".waterfall")
    spans = page.locator(".span-name").all_inner_texts()
    assert "llm" in spans and "retrieve" in spans, spans
    assert "tokens" in page.locator(".waterfall").inner_text()
    shot(page, "trace")
    assert_accessible(page)
    page.get_by_role("link", name="← Traces").click()
    page.wait_for_selector(".chart svg")
    assert page.locator("tbody tr").count() >= 2
    shot(page, "traces")
    assert_accessible(page)


def test_open_an_evaluation_report(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin)
    page.goto(console.base + "/#/evals")
    page.get_by_role("link", name="sample run").click()
    page.wait_for_selector(".chart svg")
    table = page.locator("table").inner_text()
    assert "correct" in table and "supported_agreement" in table and "[" in table
    assert page.locator("h1").inner_text() == "sample run"
    shot(page, "evaluation")
    assert_accessible(page)


def test_a_read_key_cannot_see_a_restricted_collection_in_any_page(page: Any, console: Console) -> None:
    sign_in(page, console, console.reader)
    options = page.locator("#collection option").all_inner_texts()
    assert "secret" not in options and "handbook" in options
    nav = page.locator("#nav").inner_text()
    assert "Evaluations" not in nav and "Prompts" not in nav and "Approvals" in nav
    for route in ("#/kb", "#/traces", "#/approvals"):
        page.goto(console.base + "/" + route)
        page.wait_for_selector("main h1")
        page.wait_for_load_state("networkidle")
        text = page.locator("main").inner_text()
        assert "secret" not in text and "Nightjar" not in text, (route, text)
    page.goto(console.base + "/#/kb/secret")
    page.wait_for_selector("[role=alert]")
    assert "may not use that collection" in page.locator("main").inner_text()
    page.goto(console.base + "/#/evals")  # a page the key may not use: back to chat
    page.wait_for_url("**/#/chat")
    page.select_option("#collection", "handbook")
    page.get_by_label("Question").fill("When does the Nightjar acquisition close?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_selector(".answer .meta", timeout=120_000)
    assert "14 March" not in page.locator(".turn").inner_text() and SECRET_TEXT not in page.content()


def test_phone_width_and_offline_api_docs(browser: Any, console: Console) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    remote: list[str] = []
    phone.on("request", lambda r: remote.append(r.url) if _remote(r.url) else None)
    sign_in(phone, console, console.admin)
    assert not phone.locator("#nav").is_visible()
    phone.get_by_role("button", name="Menu").click()
    assert phone.locator("#nav").is_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width}px)"
    shot(phone, "phone")
    assert_accessible(phone)
    phone.goto(console.base + "/docs")
    phone.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
    phone.goto(console.base + "/redoc")
    phone.wait_for_selector(".api-content h1", timeout=60_000)
    context.close()
    assert not remote, f"pages reached outside the server: {remote[:5]}"


def _remote(url: str) -> bool:
    parts = urlparse(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1"


def test_prompt_and_approval_pages_show_what_exists(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin)
    page.goto(console.base + "/#/prompts")
    row = page.locator("tbody tr", has_text="answer").first
    row.wait_for()
    assert "answer@" in row.inner_text()
    row.get_by_role("button", name="Read").click()
    page.wait_for_selector("pre:has-text('[system]')")
    shot(page, "prompts")
    assert_accessible(page)
    page.goto(console.base + "/#/approvals")
    page.wait_for_selector("text=Nothing waits for a decision.")
    page.goto(console.base + "/#/experiments")
    page.wait_for_selector("text=No experiments")
