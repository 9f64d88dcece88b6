"""What the web console reads: the calling key, documents' pages and chunks, filtered traces, stored evaluations —
each under the same access rules as the rest of the API — and the console and API docs served without a CDN."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

from quarry.evaluation import EvalReport
from quarry.evaluation.answer_runner import run_answers
from quarry.evaluation.catalog import runs_folder, save_retrieval_report
from quarry.evaluation.outcome import AnswerOutcome, Passage
from quarry.evaluation.qa import QAItem, QASet
from quarry.evaluation.report import Latency
from quarry.evaluation.runs import save_run
from tests.api.conftest import COLLECTION, HR_URI_PART, Api, wait_job
from tests.conftest import MARKITDOWN_FILES


def test_me_describes_the_calling_key(api: Api) -> None:
    headers = api.headers("read", collections=[COLLECTION], principals=["group:hr"])
    me = api.client.get("/v1/keys/me", headers=headers).json()
    assert me["scope"] == "read" and me["collections"] == [COLLECTION] and not me["operator"]
    assert me["principals"] == ["group:hr", "public"]
    assert api.client.get("/v1/keys/me").status_code == 401


def test_chunks_are_the_document_text_at_their_offsets_and_hidden_documents_stay_hidden(api: Api) -> None:
    admin = api.headers("admin", principals=["*"])
    documents = api.client.get(f"/v1/collections/{COLLECTION}/documents", headers=admin).json()
    hr = next(d["uri"] for d in documents if HR_URI_PART in d["uri"])
    text = api.client.get(f"/v1/collections/{COLLECTION}/documents/{hr}", headers=admin).json()["text"]
    chunks = api.client.get(f"/v1/collections/{COLLECTION}/chunks", params={"document": hr}, headers=admin).json()
    assert chunks and [c["index"] for c in chunks] == list(range(len(chunks)))
    assert all(text[c["start"] : c["end"]] == c["text"] for c in chunks)
    reader = api.headers("read")  # not in group:hr
    hidden = api.client.get(f"/v1/collections/{COLLECTION}/chunks", params={"document": hr}, headers=reader)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "document_not_found"


def test_a_pdf_document_carries_its_page_spans(api: Api) -> None:
    admin = api.headers("admin")
    pdf = MARKITDOWN_FILES / "REPAIR-2022-INV-001_multipage.pdf"
    files = {"files": (pdf.name, pdf.read_bytes(), "application/pdf")}
    job = api.client.post("/v1/collections/console-pdf/documents", files=files, headers=admin).json()
    assert wait_job(api, job["id"], admin)["status"] == "succeeded"
    uri = f"upload://console-pdf/{pdf.name}"
    document = api.client.get(f"/v1/collections/console-pdf/documents/{uri}", headers=admin).json()
    pages = document["pages"]
    assert len(pages) >= 2 and [p["number"] for p in pages] == list(range(1, len(pages) + 1))
    assert pages[0]["start"] == 0 and all(a["end"] <= b["start"] for a, b in itertools.pairwise(pages))
    chunks = api.client.get("/v1/collections/console-pdf/chunks", params={"document": uri}, headers=admin).json()
    for chunk in chunks:  # each chunk's page is the page its first character is on
        page = next(p for p in pages if p["start"] <= chunk["start"] < p["end"])
        assert chunk["page"] == page["number"]
    # the page as an image, the cited text marked on it (yellow boxes over black-on-white text)
    quote = "VIN 1C4RJFBG2NC123456"
    assert quote in document["text"][pages[0]["start"] : pages[0]["end"]]
    url = "/v1/collections/console-pdf/page"
    plain = api.client.get(url, params={"document": uri, "number": 1}, headers=admin)
    marked = api.client.get(url, params={"document": uri, "number": 1, "highlight": quote}, headers=admin)
    assert plain.headers["content-type"] == marked.headers["content-type"] == "image/png"
    before, after = (Image.open(io.BytesIO(r.content)).convert("RGB") for r in (plain, marked))
    assert before.size == after.size and before.width > 500
    changed = ImageChops.difference(before, after).getbbox()
    assert changed is not None and _yellowish(after.crop(changed))
    assert api.client.get(url, params={"document": uri, "number": 9}, headers=admin).status_code == 400
    other = api.client.get(url, params={"document": f"{uri}x", "number": 1}, headers=admin)
    assert other.status_code == 404 and other.json()["error"]["code"] == "document_not_found"


def _yellowish(image: Image.Image) -> bool:
    """The mean colour of the region that changed is a yellow (the marker over white and black text)."""
    r, g, b = ImageStat.Stat(image).mean
    return r > 200 and g > 170 and b < 170


def test_traces_filter_by_collection_status_and_latency(api: Api) -> None:
    headers = api.headers("admin")
    api.client.post("/v1/search", json={"collection": COLLECTION, "query": "holidays"}, headers=headers)
    listed = api.client.get("/v1/traces", params={"collection": COLLECTION, "limit": 50}, headers=headers).json()
    assert listed and all(t["attributes"]["collection"] == COLLECTION for t in listed)
    ok = api.client.get("/v1/traces", params={"status": "ok", "limit": 50}, headers=headers).json()
    assert ok and all(t["status"] == "ok" for t in ok)
    slow = api.client.get("/v1/traces", params={"min_ms": 10**9}, headers=headers).json()
    assert slow == []
    assert api.client.get("/v1/traces", params={"status": "broken"}, headers=headers).status_code == 422


def _stored_runs(folder: Path) -> tuple[str, str, str]:
    items = tuple(
        QAItem(f"q{i}", f"Who wrote note {i}?", answers=(f"Author {i}",), gold_docs=(f"note{i}.md",)) for i in range(8)
    )
    qa = QASet("notes", items)

    def right(item: QAItem) -> AnswerOutcome:
        passage = Passage(item.gold_docs[0], f"Note written by {item.answers[0]}.")
        return AnswerOutcome(f"{item.answers[0]} wrote it.", supported=True, retrieved=(passage,), context=(passage,))

    def abstains(item: QAItem) -> AnswerOutcome:
        return AnswerOutcome("I don't know.", abstained=True)

    good = save_run(run_answers(qa, right, name="quotes"), folder)
    bad = save_run(run_answers(qa, abstains, name="abstains"), folder)
    report = EvalReport("bm25", "notes", (10,), {}, {}, Latency.of([1.0, 2.0]), ())
    retrieval = save_retrieval_report(report, folder)
    return good.stem, bad.stem, f"retrieval/{retrieval.stem}"


def test_stored_evaluations_list_show_and_compare_for_operators_only(api: Api) -> None:
    folder = runs_folder(api.app.state.ctx.settings)
    good, bad, retrieval = _stored_runs(folder)
    admin = api.headers("admin")
    listed = api.client.get("/v1/evals", headers=admin).json()
    assert {good, bad, retrieval} <= {r["id"] for r in listed}
    shown = api.client.get("/v1/evals/run", params={"id": good}, headers=admin).json()
    correct = next(m for m in shown["metrics"] if m["metric"] == "correct")
    assert correct["mean"] == 1.0 and correct["low"] == 1.0 and shown["questions"] == 8
    worst = api.client.get("/v1/evals/run", params={"id": bad}, headers=admin).json()["worst"]
    assert len(worst) == 8 and all(q["abstained"] and q["answers"] for q in worst)
    compared = api.client.get("/v1/evals/compare", params={"baseline": good, "candidate": bad}, headers=admin).json()
    row = next(r for r in compared["rows"] if r["metric"] == "correct")
    assert row["a_mean"] == 1.0 and row["b_mean"] == 0.0 and row["difference"]["mean"] == -1.0
    assert row["p_value"] < 0.01 and row["n"] == 8
    assert api.client.get("/v1/evals/run", params={"id": retrieval}, headers=admin).json()["kind"] == "retrieval"
    for run_id in ("../../etc/passwd", "nope", "retrieval/../x"):
        assert api.client.get("/v1/evals/run", params={"id": run_id}, headers=admin).status_code == 404
    limited = api.headers("admin", collections=[COLLECTION])
    assert api.client.get("/v1/evals", headers=limited).status_code == 403
    assert api.client.get("/v1/evals", headers=api.headers("read")).status_code == 403


def test_a_document_without_a_pdf_original_has_no_page_image(api: Api) -> None:
    admin = api.headers("admin", principals=["*"])
    uri = api.client.get(f"/v1/collections/{COLLECTION}/documents", headers=admin).json()[0]["uri"]
    response = api.client.get(
        f"/v1/collections/{COLLECTION}/page", params={"document": uri, "number": 1}, headers=admin
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "page_not_available"


def test_console_and_api_docs_are_served_without_a_cdn(api: Api) -> None:
    index = api.client.get("/")
    assert index.status_code == 200 and "/console/app.js" in index.text
    assert "script-src 'self'" in index.headers["content-security-policy"]
    assert api.client.get("/console/app.js").status_code == 200
    for path in ("/docs", "/redoc"):
        page = api.client.get(path).text
        assert "cdn." not in page and "unpkg" not in page and "googleapis" not in page
    assert "cdn.redoc.ly" not in api.client.get("/docs-redoc.js").text
    assert api.client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
