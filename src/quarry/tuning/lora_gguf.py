"""Write a PEFT LoRA adapter of a llama-architecture model as a GGUF LoRA adapter that llama.cpp loads.

This is what llama.cpp's ``convert_lora_to_gguf.py`` does for this architecture, in the ``gguf`` package's own
writer (the converter script needs llama.cpp's source tree): keys ``general.type = adapter``, ``adapter.type =
lora``, ``adapter.lora.alpha``; tensors ``blk.<i>.<attn_q|attn_k|attn_v|attn_output|ffn_*>.weight.lora_a``
(torch shape ``(r, in)``) and ``.lora_b`` (``(out, r)``). llama.cpp stores Q and K with their rows permuted for
its rotary layout (``LlamaModel.permute`` in the converter), and the delta ``B @ A`` must match: the rows of B
are permuted the same way; A is untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["GGUF_NAMES", "write_lora_gguf"]

GGUF_NAMES = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}  # fmt: skip
_PEFT = re.compile(r"layers\.(\d+)\.(.+)\.lora_([AB])\.weight$")


def _permute(rows: np.ndarray[Any, Any], heads: int) -> np.ndarray[Any, Any]:
    """llama.cpp's Q/K row order (the converter's ``LlamaModel.permute``) applied to a (out, …) matrix."""
    shape = rows.shape
    return rows.reshape(heads, 2, shape[0] // heads // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def write_lora_gguf(
    tensors: Mapping[str, np.ndarray[Any, Any]], path: Path, *, alpha: float, heads: int, kv_heads: int,
    architecture: str = "llama", name: str = "quarry-lora",
) -> int:  # fmt: skip
    """``tensors``: the adapter's state dict (PEFT names, e.g. ``base_model.model.model.layers.0.self_attn.q_proj
    .lora_A.weight``) as float arrays. Returns the number of adapted weight matrices."""
    import gguf

    pairs: dict[str, dict[str, np.ndarray[Any, Any]]] = {}
    for key, value in tensors.items():
        match = _PEFT.search(key)
        if match is None:
            raise ValueError(f"not a LoRA weight of a llama decoder layer: {key}")
        layer, module, which = match.groups()
        if module not in GGUF_NAMES:
            raise ValueError(f"llama.cpp has no LoRA target for {module!r} ({key})")
        pairs.setdefault(f"blk.{layer}.{GGUF_NAMES[module]}.weight", {})[which] = np.asarray(value, np.float32)
    writer = gguf.GGUFWriter(str(path), arch=architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_name(name)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    for target, ab in sorted(pairs.items()):
        if set(ab) != {"A", "B"}:
            raise ValueError(f"{target}: LoRA A or B is missing")
        b = ab["B"]
        if ".attn_q." in target:
            b = _permute(b, heads)
        elif ".attn_k." in target:
            b = _permute(b, kv_heads)
        writer.add_tensor(f"{target}.lora_a", np.ascontiguousarray(ab["A"]))
        writer.add_tensor(f"{target}.lora_b", np.ascontiguousarray(b))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return len(pairs)
