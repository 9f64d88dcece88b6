"""The one place that imports the optional training stack, with an error that says how to install it."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from quarry.errors import ConfigError

__all__ = ["pin_threads", "quiet_libraries", "require"]

_INSTALL = "pip install torch==2.13.0 && pip install 'quarry[tune]' (torch first: any other spec pulls CUDA builds)"


def quiet_libraries() -> None:
    """Quarry shows its own progress: silence transformers' and the hub's bars and info logs."""
    transformers = require("transformers")
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    hub = require("huggingface_hub")
    hub.utils.disable_progress_bars()


def pin_threads(torch: ModuleType, threads: int | None) -> None:
    """Train on ``threads`` CPU threads (default: every core), whatever an earlier caller in this process left set
    (a reranker's ``threads`` is process-wide): the count changes how floats are summed, so a seeded run repeats
    only with the same count."""
    torch.set_num_threads(threads or os.cpu_count() or 1)


def require(module: str) -> ModuleType:
    """Import ``module`` (torch, sentence_transformers, transformers, peft) or raise a ConfigError with the fix."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"fine-tuning needs {module}, which is not installed ({exc})", hint=_INSTALL) from exc
