"""Retrieval evaluation: test collections, ranking metrics, bootstrap statistics and reports.

Load a dataset (:func:`load_beir`, :func:`load_qa`), run it through any retrieval function with
:func:`evaluate`, and compare two systems with :func:`compare`; render results with
:func:`markdown_table` / :func:`comparison_table` or save them with :meth:`EvalReport.to_json`.
"""

from quarry.evaluation.datasets import CorpusDoc, DatasetError, Qrels, RetrievalDataset, load_beir, load_qa
from quarry.evaluation.metrics import METRICS, PerQuery, evaluate_run, judged_queries, metric_names, per_query
from quarry.evaluation.report import Comparison, EvalReport, Latency, QueryResult, comparison_table, markdown_table
from quarry.evaluation.runner import Retrieve, compare, evaluate, hits_to_doc_ids
from quarry.evaluation.stats import ConfidenceInterval, PairedTest, bootstrap_ci, paired_test

__all__ = [
    "METRICS",
    "Comparison",
    "ConfidenceInterval",
    "CorpusDoc",
    "DatasetError",
    "EvalReport",
    "Latency",
    "PairedTest",
    "PerQuery",
    "Qrels",
    "QueryResult",
    "RetrievalDataset",
    "Retrieve",
    "bootstrap_ci",
    "compare",
    "comparison_table",
    "evaluate",
    "evaluate_run",
    "hits_to_doc_ids",
    "judged_queries",
    "load_beir",
    "load_qa",
    "markdown_table",
    "metric_names",
    "paired_test",
    "per_query",
]
