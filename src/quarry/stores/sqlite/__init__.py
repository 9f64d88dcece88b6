"""The embedded default engine: SQLite files beside each other.

:class:`SQLiteStore` is the knowledge base (WAL, FTS5 for the text consistency checks, in-memory BM25 and
vector indexes); :class:`SQLiteTraceStore`, :class:`SQLiteKeyStore` and :class:`SQLiteJobStore` keep traces,
API keys and ingest jobs in their own files (``<store>.traces.db``, ``.keys.db``, ``.jobs.db``).
"""

from quarry.stores.sqlite.api_keys import SQLiteKeyStore
from quarry.stores.sqlite.jobs import SQLiteJobStore
from quarry.stores.sqlite.store import SQLiteStore
from quarry.stores.sqlite.trace_store import SQLiteTraceStore

__all__ = ["SQLiteJobStore", "SQLiteKeyStore", "SQLiteStore", "SQLiteTraceStore"]
