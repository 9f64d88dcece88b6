"""``quarry eval retrieval``: measure a collection's retrieval on BEIR-format or JSONL QA judgements."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from quarry.cli.common import console, err_console, system, where_of
from quarry.cli.search import SearchMode
from quarry.errors import ConfigError

if TYPE_CHECKING:
    from quarry.assembly import Quarry
    from quarry.evaluation import EvalReport, RetrievalDataset, Retrieve
    from quarry.settings import RetrievalSettings
    from quarry.types import Hit

eval_app = typer.Typer(rich_markup_mode=None, help="Measure quality with confidence intervals.", no_args_is_help=True)

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "map@100")


@eval_app.command("retrieval")
def retrieval(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option(help="BEIR folder (corpus, queries, qrels/) or a QA .jsonl file")],
    split: Annotated[str, typer.Option(help="qrels split of a BEIR folder")] = "test",
    collection: Annotated[str | None, typer.Option("--collection", "-c", help="default: beir-<folder>")] = None,
    mode: Annotated[SearchMode | None, typer.Option(help="retrieval path (default: settings)")] = None,
    baseline: Annotated[Path | None, typer.Option(help="a quarry.toml whose [retrieval] is the baseline")] = None,
    out: Annotated[Path | None, typer.Option(help="write summary + per-query results as JSON here")] = None,
    depth: Annotated[int, typer.Option(help="results retrieved per query")] = 100,
) -> None:
    """Ingest the dataset's corpus if needed, run every query, report metrics with 95% CIs."""
    from rich.markdown import Markdown

    from quarry.evaluation import compare, comparison_table, markdown_table
    from quarry.settings import load_settings

    quarry = system(ctx)
    data = _load(dataset, split)
    name = collection or f"beir-{dataset.name}"
    if dataset.is_dir():
        _ensure_corpus(quarry, dataset, name)
    settings = quarry.settings.retrieval
    if mode is not None:
        settings = settings.model_copy(update={"mode": mode.value})
    report = _run(quarry, data, name, settings, depth, label=f"quarry ({settings.mode}, {settings.fusion})")
    reports = [report]
    if baseline is not None:
        other = load_settings(baseline).retrieval
        reports.insert(0, _run(quarry, data, name, other, depth, label=f"baseline ({other.mode}, {other.fusion})"))
    console.print(Markdown(markdown_table(reports, METRICS)))
    for r in reports:
        console.print(
            f"{r.name}: latency p50 {r.latency.p50:.1f} ms, p95 {r.latency.p95:.1f} ms, "
            f"p99 {r.latency.p99:.1f} ms over {len(r.queries)} queries"
        )
    if baseline is not None:
        console.print(Markdown(comparison_table([compare(reports[0], reports[1], m) for m in METRICS[:3]])))
    from quarry.evaluation.catalog import runs_folder, save_retrieval_report

    kept = save_retrieval_report(report, runs_folder(quarry.settings))
    console.print(f"report kept as run retrieval/{kept.stem} (quarry serve shows it on the console's Evaluations page)")
    if out is not None:
        report.to_json(out)
        console.print(f"per-query results: {out}")


def _load(dataset: Path, split: str) -> RetrievalDataset:
    from quarry.evaluation import load_beir, load_qa

    if dataset.is_dir():
        return load_beir(dataset, split)
    if dataset.suffix in (".jsonl", ".json"):
        return load_qa(dataset)
    raise ConfigError(f"{dataset} is neither a BEIR folder nor a .jsonl file", key="dataset")


def _ensure_corpus(quarry: Quarry, folder: Path, collection: str) -> None:
    from quarry.ingest.sources import FileSource

    corpus = next((p for p in (folder / "corpus.jsonl", folder / "corpus.jsonl.gz") if p.is_file()), None)
    if corpus is None:
        raise ConfigError(f"no corpus.jsonl[.gz] in {folder}", key="dataset")
    err_console.print(f"checking collection {collection} against {corpus.name} (unchanged corpora are skipped)")
    report = quarry.ingestor.run(FileSource(corpus, max_bytes=10**10), collection)
    if not report.ok:
        raise ConfigError(f"could not ingest {corpus}: {report.failures[0].reason}", key="dataset")


def _doc_id(hit: Hit) -> str:
    uri = hit.document_uri
    return uri.rsplit("#", 1)[1] if "#" in uri else uri


def _run(
    quarry: Quarry, data: RetrievalDataset, collection: str, settings: RetrievalSettings, depth: int, *, label: str
) -> EvalReport:
    from rich.progress import Progress

    from quarry.evaluation import evaluate, hits_to_doc_ids
    from quarry.retrieval.search import Searcher
    from quarry.tracing import Tracer

    searcher = Searcher(quarry.store, quarry.embedder, Tracer(), settings)  # no trace per query
    searcher.search(next(iter(data.queries.values())), collection, k=1)  # load indexes before timing
    with Progress(console=err_console.get(), transient=True) as bar:
        task = bar.add_task(label, total=len(data.queries))

        def retrieve(query: str) -> list[str]:
            return hits_to_doc_ids(searcher.search(query, collection, k=depth).hits, _doc_id)

        return evaluate(data, retrieve, name=label, progress=lambda done, _: bar.update(task, completed=done))


@eval_app.command("tune")
def tune_command(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option(help="BEIR folder or QA .jsonl with YOUR collection's judgements")],
    split: Annotated[str, typer.Option(help="qrels split to tune on (keep a test split aside)")] = "train",
    collection: Annotated[str | None, typer.Option("--collection", "-c", help="default: beir-<folder>")] = None,
    save: Annotated[bool, typer.Option(help="write the choice to [retrieval.collections.NAME] in the config")] = False,
    depth: Annotated[int, typer.Option(help="results retrieved per query")] = 100,
) -> None:
    """Calibrate fusion for one collection; keep the current settings unless an alternative is
    significantly better (paired randomization test, Bonferroni-corrected)."""
    from rich.markdown import Markdown
    from rich.progress import Progress

    from quarry.evaluation import comparison_table, hits_to_doc_ids, markdown_table
    from quarry.evaluation.tuning import fusion_grid, tune
    from quarry.retrieval.search import Searcher
    from quarry.settings import config_file, save_collection_overrides
    from quarry.tracing import Tracer

    quarry = system(ctx)
    data = _load(dataset, split)
    name = collection or f"beir-{dataset.name}"
    if dataset.is_dir():
        _ensure_corpus(quarry, dataset, name)
    current = quarry.settings.retrieval.for_collection(name)

    def make_retrieve(overrides: Mapping[str, object]) -> Retrieve:
        searcher = Searcher(quarry.store, quarry.embedder, Tracer(), current.model_copy(update=dict(overrides)))
        return lambda query: hits_to_doc_ids(searcher.search(query, name, k=depth).hits, _doc_id)

    with Progress(console=err_console.get(), transient=True) as bar:

        def progress(label: str) -> Callable[[int, int], None]:
            task = bar.add_task(label, total=len(data.queries))
            return lambda done, _: bar.update(task, completed=done)

        result = tune(data, make_retrieve, fusion_grid(), progress=progress)
    console.print(Markdown(markdown_table([result.baseline, *result.reports], METRICS[:3])))
    console.print(Markdown(comparison_table(list(result.comparisons))))
    console.print(f"[bold]choice for {name}:[/] {result.chosen.name} — {result.reason}")
    if save and result.chosen.overrides:
        where = where_of(ctx)
        path = save_collection_overrides(config_file(where.config, where.home), name, result.chosen.overrides)
        console.print(f"saved to [retrieval.collections.{name}] in {path}")
    elif save:
        console.print("nothing to save: the current settings stay")
