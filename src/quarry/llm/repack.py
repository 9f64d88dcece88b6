"""Re-pack a GGUF model's weights as Q8_0, the format llama.cpp's CPU kernels run fastest here.

The packaged SmolLM2 ships as Q4_1, which llama.cpp has no repacked AVX2 kernels for: on 2 cores it read
prompts at ~180 tok/s. The same weights as Q8_0 read at ~330 tok/s and generate as fast (bench/RESULTS.md,
"Answer models"). Q8_0 keeps 8 bits per weight with a per-block scale, so the Q4_1 values (4 bits plus a
per-block scale and offset) survive the round trip almost exactly; the file grows from 93 to 145 MB.

:func:`repacked` builds the twin once into the model cache (``<stem>.q8_0.<digest>.gguf``, keyed by the source
file's size and modification time and this module's version), then reuses it. Tensors that are already
F32/F16/Q8_0, or whose rows are not a multiple of the 32-value block, are copied unchanged; all metadata
(tokenizer, chat template) is copied as is.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["repack_q8", "repacked"]

VERSION = 1


def repack_q8(source: Path, target: Path) -> Path:
    """Write ``source`` with its quantised matrices re-quantised to Q8_0 as ``target`` (atomically)."""
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter, quants

    reader = GGUFReader(str(source))
    architecture = reader.fields["general.architecture"].contents()
    partial = target.with_suffix(".partial")
    writer = GGUFWriter(str(partial), architecture)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        kind = field.types[0]
        if kind == GGUFValueType.ARRAY:
            writer.add_key_value(key, field.contents(), kind, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, field.contents(), kind)
    keep = (GGMLQuantizationType.F32, GGMLQuantizationType.F16, GGMLQuantizationType.Q8_0)
    for tensor in reader.tensors:
        if tensor.tensor_type in keep:
            writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type)
            continue
        values = quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        if values.shape[-1] % 32:
            writer.add_tensor(tensor.name, values)
            continue
        packed = quants.quantize(values, GGMLQuantizationType.Q8_0)
        writer.add_tensor(tensor.name, packed, raw_shape=packed.shape, raw_dtype=GGMLQuantizationType.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(target)
    return target


def repacked(source: Path, cache_dir: Path) -> Path:
    """The Q8_0 twin of ``source`` in ``cache_dir``, built on first use."""
    stat = source.stat()
    digest = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{VERSION}".encode()).hexdigest()
    target = cache_dir / f"{source.stem}.q8_0.{digest[:12]}.gguf"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    return repack_q8(source, target)
