"""``quarry eval retrieval`` on a small BEIR-format dataset written in the test."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import quarry

DOCS = {
    "d1": ("Annual leave", "Employees receive 27 days of paid annual leave every calendar year."),
    "d2": ("Sick leave", "A doctor's note is required from the fourth consecutive day of illness."),
    "d3": ("Laptops", "Full-disk encryption must be enabled on every company laptop."),
    "d4": ("Passwords", "Passwords must be at least fourteen characters long and unique."),
    "d5": ("Robot arm", "The arm lifts up to 7.5 kg at full reach of 850 millimetres."),
    "d6": ("Warranty", "Two years on parts and labour, extendable to five years."),
}
QUERIES = {
    "q1": ("how much holiday do staff get", "d1"),
    "q2": ("disk encryption on notebooks", "d3"),
    "q3": ("maximum payload of the robot", "d5"),
    "q4": ("minimum password length", "d4"),
}


def _write_beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, (t, x) in DOCS.items()) + "\n"
    )
    (folder / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": q, "text": t}) for q, (t, _) in QUERIES.items()) + "\n"
    )
    rows = "".join(f"{q}\t{d}\t1\n" for q, (_, d) in QUERIES.items())
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + rows)
    return folder


def test_eval_retrieval_reports_metrics_and_per_query_json(isolated_env: Path) -> None:
    dataset = _write_beir(isolated_env / "mini")
    (isolated_env / "rrf.toml").write_text('[retrieval]\nfusion = "rrf"\nmode = "bm25"\n')
    done = quarry(
        "eval", "retrieval", "--dataset", str(dataset), "--baseline", "rrf.toml", "--out", "out.json", cwd=isolated_env
    )
    assert "nDCG@10" in done.stdout
    assert "baseline (bm25, rrf)" in done.stdout
    report = json.loads((isolated_env / "out.json").read_text())
    assert report["summary"]["ndcg@10"]["mean"] >= 0.75
    assert {q["qid"] for q in report["per_query"]} == set(QUERIES)
    again = quarry("eval", "retrieval", "--dataset", str(dataset), cwd=isolated_env)
    assert "nDCG@10" in again.stdout


def test_eval_tune_keeps_current_settings_when_four_queries_cannot_tell(isolated_env: Path) -> None:
    dataset = _write_beir(isolated_env / "mini")
    done = quarry("eval", "tune", "--dataset", str(dataset), "--split", "test", "--save", cwd=isolated_env)
    assert "hybrid zscore 0.5" in done.stdout and "bm25 only" in done.stdout and "dense only" in done.stdout
    assert "choice for beir-mini: current settings" in done.stdout
    assert "nothing to save" in done.stdout
    assert not (isolated_env / "quarry.toml").exists()
