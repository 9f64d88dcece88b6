"""``[api]``: the HTTP service — binding, limits, keys, ingestion over HTTP, caches, metrics and logs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from quarry.settings.section import Section

__all__ = ["ApiSettings"]


class ApiSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    max_body_kb: int = Field(256, ge=1, description="JSON request body limit")
    max_upload_mb: float = Field(32.0, gt=0, description="multipart upload limit per request")
    request_timeout_s: float = Field(60.0, gt=0, description="time to the first response byte")
    rate_per_s: float = Field(50.0, gt=0, description="per-key sustained request rate (token bucket)")
    rate_burst: int = Field(100, ge=1, description="per-key burst size")
    url_ingestion: bool = Field(False, description="allow ingesting http(s) URLs through the API")
    url_allow_hosts: list[str] = Field(default_factory=list, description="'example.com', '*.example.com' or '*'")
    url_allow_private: list[str] = Field(
        default_factory=list, description="loopback/private IPs or CIDRs the server may fetch from, e.g. 10.0.0.0/8"
    )
    ingest_roots: list[Path] = Field(default_factory=list, description="server folders admins may ingest by path")
    ingest_workers: int = Field(2, ge=1, le=32, description="ingest jobs run at once per server process")
    keys_path: Path | None = Field(None, description="API key database; default <store>.keys.db beside the store")
    redis_url: str | None = Field(
        None,
        description="redis://host:port/db: rate limits and the search result cache shared by every API process "
        "(and the answer cache, unless [cache] url names another); None = per process",
    )
    result_cache: bool = Field(True, description="cache search responses (writes invalidate)")
    result_cache_entries: int = Field(4096, ge=1, description="search result cache: most entries")
    result_cache_mb: float = Field(64.0, gt=0, description="search result cache: most megabytes")
    result_cache_ttl_s: float = Field(300.0, ge=0, description="search result cache: seconds an entry lives")
    metrics_token_env: str = Field(
        "QUARRY_METRICS_TOKEN", description="environment variable holding the /metrics scraper token"
    )
    drift_interval_s: float = Field(
        900.0, ge=0, description="seconds between drift reports exported as quarry_drift_* gauges; 0 = off"
    )
    access_log: bool = Field(True, description="one JSON line per request on stdout (trace id, key id, status, ms)")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:port/db (or rediss://, unix://), or leave it unset")
        return value
