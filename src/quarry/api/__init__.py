"""The HTTP service: versioned REST under ``/v1``, OpenAI-compatible chat, health and metrics."""

from quarry.api.app import create_app

__all__ = ["create_app"]
