"""Pipelines that orchestrate the L2 components: ingestion."""

from quarry.pipeline.ingest import Ingestor
from quarry.pipeline.report import Failure, IngestReport, Progress, ProgressCallback

__all__ = ["Failure", "IngestReport", "Ingestor", "Progress", "ProgressCallback"]
