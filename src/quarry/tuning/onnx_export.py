"""Export trained sentence-transformers weights to the ONNX layout the default embedder adapter
(:class:`~quarry.embeddings.onnx_minilm.MiniLMEmbedder`) runs: inputs ``input_ids``, ``attention_mask``,
``token_type_ids``; output ``last_hidden_state`` (pooling and normalisation stay in the adapter). Then quantise
it to int8 with onnxruntime's dynamic quantisation."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from quarry.tuning.torch_check import quiet_libraries, require

__all__ = ["ExportedModel", "export_onnx"]

OPSET = 17


@dataclass(frozen=True, slots=True)
class ExportedModel:
    fp32: Path
    int8: Path
    seconds: float


def export_onnx(weights: Path, out_dir: Path) -> ExportedModel:
    """``weights`` (a sentence-transformers folder) → ``out_dir/model.fp32.onnx`` and ``out_dir/model.int8.onnx``."""
    torch = require("torch")
    transformers = require("transformers")
    began = time.monotonic()
    quiet_libraries()
    encoder = transformers.AutoModel.from_pretrained(str(weights)).eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32, int8 = out_dir / "model.fp32.onnx", out_dir / "model.int8.onnx"
    ids = torch.ones((2, 8), dtype=torch.long)
    sample = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    axes = {0: "batch", 1: "tokens"}

    class _Hidden(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: object, attention_mask: object, token_type_ids: object) -> object:
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on traced Python conditionals
        torch.onnx.export(
            _Hidden(),
            sample,
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
            opset_version=OPSET,
            dynamo=False,
        )
    with _root_logging_kept():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    return ExportedModel(fp32, int8, time.monotonic() - began)


@contextmanager
def _root_logging_kept() -> Iterator[None]:
    """onnxruntime's quantiser configures the root logger (``basicConfig``) and warns through it: undo both."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
