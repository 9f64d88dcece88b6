"""``quarry init``: write a commented quarry.toml holding the defaults."""

from __future__ import annotations

from pathlib import Path

from quarry.errors import ConfigError
from quarry.settings import CONFIG_FILE

TEMPLATE = """\
# Quarry settings. Every key is optional; environment variables override them
# (QUARRY_<SECTION>__<KEY>, e.g. QUARRY_STORE__PATH=/data/quarry.db).

[store]
path = ".quarry/quarry.db"          # one SQLite file: documents, chunks, indexes, traces

[embeddings]
provider = "local"                  # "local" (packaged MiniLM, ONNX, no network) or "openai"
model = "all-MiniLM-L6-v2"
batch_size = 32
# base_url = "https://api.openai.com/v1"   # for provider = "openai" (any OpenAI-compatible server)
# api_key_env = "OPENAI_API_KEY"           # the variable holding the key; the key itself never goes here

[chunking]
max_tokens = 200                    # measured in the embedder's own tokens
overlap_tokens = 24

[ingest]
max_file_mb = 64
exclude = []                        # gitignore-style patterns; .gitignore/.quarryignore files apply too

[tracing]
enabled = true
# otlp_endpoint = "http://localhost:4318/v1/traces"
"""


def write_config(directory: Path, *, force: bool) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CONFIG_FILE
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", key="config", hint="pass --force to overwrite it")
    path.write_text(TEMPLATE, encoding="utf-8")
    return path
