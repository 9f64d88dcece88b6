"""A faster twin of the packaged MiniLM for encoding *queries*: the same weights, int8 matmuls.

The packaged model stores its weights as int8 but dequantises them to float32 at load time, so
every matmul runs in float32: ~8 ms for a 23-token query on one core, the largest cost of a hybrid
search. Re-quantising the same weights dynamically (per output channel, onnxruntime's
``MatMulInteger`` kernels) runs a query in ~3.5 ms and yields vectors whose cosine with the
packaged model's is 0.994 on average (SciFact train queries, measured in docs/architecture.md).
Documents keep the packaged model, so stored vectors and the collection's ``model_id`` are
unchanged; only the query side switches.

The twin is derived from the packaged file on first use (a few seconds), written atomically to a
cache directory keyed by the source file's hash and the onnxruntime version, and reused after.
It needs the ``onnx`` package, which is a dependency of Quarry.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from quarry.errors import EmbeddingError

if TYPE_CHECKING:
    import onnx

__all__ = ["default_cache_dir", "dynamic_int8_twin"]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "quarry" / "models"


def dynamic_int8_twin(source: Path, cache_dir: Path | None = None) -> Path:
    """The path of ``source``'s dynamically int8-quantised twin, building it if it is missing."""
    import onnxruntime

    folder = cache_dir or default_cache_dir()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    target = folder / f"{source.stem}.{digest}.ort{onnxruntime.__version__}.dynint8.onnx"
    if target.is_file():
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _build(source, target)
    except OSError as exc:
        raise EmbeddingError(
            f"cannot write the query model to {folder}: {exc}",
            model=source.name,
            hint="set XDG_CACHE_HOME to a writable directory, or embeddings.query_model = 'packaged'",
        ) from exc
    return target


def _build(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    _fold_dequantised_weights(model)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        folded, quantised = Path(scratch) / "folded.onnx", Path(scratch) / "quantised.onnx"
        onnx.save(model, str(folded))
        with _quiet_root_logger():  # the quantiser logs advice about pre-processing on the root logger
            quantize_dynamic(str(folded), str(quantised), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(quantised, target)  # atomic: a concurrent reader sees the whole file or none


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _fold_dequantised_weights(model: onnx.ModelProto) -> None:
    """Replace each ``Mul(Cast(int8 weight), scale)`` with its float32 result as an initializer,
    so the quantiser sees plain float matmul weights it can quantise per channel."""
    from onnx import numpy_helper

    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    folded: list[onnx.TensorProto] = []
    dropped: set[str] = set()
    for node in graph.node:
        cast = producers.get(node.input[0]) if node.op_type == "Mul" and len(node.input) == 2 else None
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in initializers:
            continue
        if node.input[1] not in initializers:
            continue
        weight = numpy_helper.to_array(initializers[cast.input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(initializers[node.input[1]]).astype(np.float32)
        folded.append(numpy_helper.from_array((weight * scale).astype(np.float32), node.output[0]))
        dropped.update((node.name, cast.name))
    kept = [node for node in graph.node if node.name not in dropped]
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(folded)
    used = {name for node in graph.node for name in node.input}
    live = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(live)
