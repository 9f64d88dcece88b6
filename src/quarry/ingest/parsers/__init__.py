"""ingest/parsers."""
