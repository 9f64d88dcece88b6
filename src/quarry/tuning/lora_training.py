"""Supervised LoRA fine-tuning of the packaged local chat model (``peft`` on ``transformers``, CPU torch).

The base weights are the packaged GGUF, dequantised by ``transformers`` (``gguf_file=``), so the adapter is
trained against exactly the weights llama.cpp serves. Each example is a chat (system + user with the sources)
and the assistant reply to learn; the loss covers the reply only. The loop reports loss and ETA, stops on a
step/time budget, checkpoints (adapter, optimiser, step) atomically, and resumes from its checkpoint. The adapter
is written as PEFT safetensors and as a GGUF LoRA adapter (:mod:`quarry.tuning.lora_gguf`) that
:class:`~quarry.llm.local.LocalChatModel` loads with ``lora=``.
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from quarry.stores.models import ADAPTER_FILE
from quarry.tuning.budget import Budget, ProgressFn, StepLog
from quarry.tuning.lora_gguf import write_lora_gguf
from quarry.tuning.sft_data import ChatExample
from quarry.tuning.torch_check import pin_threads, quiet_libraries, require

__all__ = ["LoraTraining", "TrainedAdapter", "load_base", "train_lora"]

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True, slots=True)
class LoraTraining:
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_proj", "v_proj")
    learning_rate: float = 2e-4
    epochs: float = 1.0
    max_steps: int | None = None
    max_seconds: float | None = None
    max_tokens: int = 512  # an example longer than this is cut from the left (the prompt), never the reply
    checkpoint_every: int = 20
    seed: int = 0
    threads: int | None = None  # CPU threads (default: every core)

    def steps_for(self, examples: int) -> int:
        planned = max(1, round(self.epochs * examples))
        return min(planned, self.max_steps) if self.max_steps else planned


@dataclass(frozen=True, slots=True)
class TrainedAdapter:
    folder: Path  # PEFT adapter (safetensors + config)
    gguf: Path  # the same adapter for llama.cpp
    steps: int
    seconds: float
    load_seconds: float
    resumed_from: int
    losses: list[float] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


def train_lora(
    examples: Sequence[ChatExample], gguf_model: Path, out_dir: Path, settings: LoraTraining | None = None, *,
    progress: ProgressFn | None = None,
) -> TrainedAdapter:  # fmt: skip
    settings = settings or LoraTraining()
    if not examples:
        raise ValueError("no training examples")
    torch, peft = require("torch"), require("peft")
    quiet_libraries()
    torch.manual_seed(settings.seed)
    pin_threads(torch, settings.threads)
    began = time.monotonic()
    tokenizer, base = load_base(gguf_model)
    load_seconds = time.monotonic() - began
    config = peft.LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                             target_modules=list(settings.targets), task_type="CAUSAL_LM")  # fmt: skip
    with warnings.catch_warnings():  # transformers' deprecation note from inside peft
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
        model = peft.get_peft_model(base, config)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate)
    out_dir.mkdir(parents=True, exist_ok=True)
    log, start = StepLog(), _resume(out_dir / CHECKPOINT, model, optimiser, torch, peft)
    if start:
        log.losses = list(torch.load(out_dir / CHECKPOINT, weights_only=False)["losses"])
    total = settings.steps_for(len(examples))
    budget = Budget(total, settings.max_seconds)
    order = _order(len(examples), total, settings.seed)
    model.train()
    step = start
    trained_began = time.monotonic()
    while step < total and not budget.exhausted(step):
        ids, labels = _encode(tokenizer, examples[order[step]], settings.max_tokens, torch)
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimiser.step()
        optimiser.zero_grad()
        step += 1
        log.losses.append(float(loss.item()))
        if progress:
            progress(budget.progress(step, log.losses[-1], start))
        if step % settings.checkpoint_every == 0 and step < total:
            _save_checkpoint(out_dir / CHECKPOINT, model, optimiser, step, log, torch, peft)
    return _finish(model, base, settings, out_dir, step, trained_began, load_seconds, start, log)


def load_base(gguf_model: Path) -> tuple[Any, Any]:
    """(tokenizer, fp32 model) of a GGUF file, dequantised by transformers (~27 s for SmolLM2-135M on 2 cores).
    A cached safetensors copy of the dequantised weights was tried and dropped: the PEFT model built on it did not
    reproduce llama.cpp's replies with the adapter, which the GGUF-loaded one does (tests/tuning/test_lora.py)."""
    torch, transformers = require("torch"), require("transformers")
    quiet_libraries()
    folder, name = str(gguf_model.parent), gguf_model.name
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    return tokenizer, model


def _finish(model: Any, base: Any, settings: LoraTraining, out_dir: Path, step: int, began: float,
            load_seconds: float, start: int, log: StepLog) -> TrainedAdapter:  # fmt: skip
    peft = require("peft")
    folder = out_dir / "peft"
    with _no_config_warning():
        model.save_pretrained(str(folder))
    state = {k: v.detach().cpu().numpy() for k, v in _adapter_state(peft, model).items()}
    cfg = base.config
    gguf = out_dir / ADAPTER_FILE
    write_lora_gguf(state, gguf, alpha=settings.alpha, heads=cfg.num_attention_heads,
                    kv_heads=cfg.num_key_value_heads)  # fmt: skip
    (out_dir / CHECKPOINT).unlink(missing_ok=True)
    return TrainedAdapter(folder, gguf, step, time.monotonic() - began, load_seconds, start, log.losses,
                          asdict(settings))  # fmt: skip


def _order(count: int, total: int, seed: int) -> list[int]:
    """Example indexes for every step: shuffled epoch after epoch (the same on a resume)."""
    rng, order = random.Random(seed), list[int]()
    while len(order) < total:
        epoch = list(range(count))
        rng.shuffle(epoch)
        order.extend(epoch)
    return order[:total]


def _encode(tokenizer: Any, example: ChatExample, max_tokens: int, torch: Any) -> tuple[Any, Any]:
    """Token ids of the whole chat and labels that are -100 (ignored) everywhere but the reply."""
    prompt = tokenizer.apply_chat_template(list(example.messages), tokenize=False, add_generation_prompt=True)
    full = prompt + example.reply + (tokenizer.eos_token or "")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    labels = [-100] * len(prompt_ids) + ids[len(prompt_ids) :]
    if len(ids) > max_tokens:
        ids, labels = ids[-max_tokens:], labels[-max_tokens:]
    return torch.tensor([ids]), torch.tensor([labels])


def _save_checkpoint(path: Path, model: Any, optimiser: Any, step: int, log: StepLog, torch: Any, peft: Any) -> None:
    partial = path.with_suffix(".partial")
    state = {"adapter": _adapter_state(peft, model), "optimiser": optimiser.state_dict(), "step": step,
             "losses": log.losses}  # fmt: skip
    torch.save(state, partial)
    partial.replace(path)  # atomic: a kill leaves the previous checkpoint or this one


def _resume(path: Path, model: Any, optimiser: Any, torch: Any, peft: Any) -> int:
    if not path.is_file():
        return 0
    state = torch.load(path, weights_only=False)
    peft.set_peft_model_state_dict(model, state["adapter"])
    optimiser.load_state_dict(state["optimiser"])
    return int(state["step"])


@contextmanager
def _no_config_warning() -> Iterator[None]:
    """peft looks for a config.json beside the base weights (a GGUF file has none) to see whether the vocabulary
    changed; it did not (LoRA touches attention only)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Could not find a config file", UserWarning)
        yield


def _adapter_state(peft: Any, model: Any) -> dict[str, Any]:
    with _no_config_warning():
        state: dict[str, Any] = peft.get_peft_model_state_dict(model)
    return state
