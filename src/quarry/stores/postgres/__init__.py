"""The PostgreSQL + pgvector adapters of every store protocol (``[store] url = "postgresql://…"``)."""

from quarry.stores.postgres.agents import PostgresMemoryStore, PostgresRunStore
from quarry.stores.postgres.models import PostgresModelStore
from quarry.stores.postgres.ops import PostgresExperimentStore, PostgresFeedbackStore, PostgresPromptStore
from quarry.stores.postgres.state import PostgresJobStore, PostgresKeyStore, PostgresTraceStore
from quarry.stores.postgres.store import PostgresStore

__all__ = [
    "PostgresExperimentStore",
    "PostgresFeedbackStore",
    "PostgresJobStore",
    "PostgresKeyStore",
    "PostgresMemoryStore",
    "PostgresModelStore",
    "PostgresPromptStore",
    "PostgresRunStore",
    "PostgresStore",
    "PostgresTraceStore",
]
