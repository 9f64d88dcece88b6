"""``quarry tune llm`` end to end: chat examples → LoRA → GGUF adapter → registry candidate of the ``chat``
target, scored base vs tuned on held-out examples (and, when a collection is given, through the served answer
pipeline), per question, so promotion is gated by a paired test.

The direct score (``<set>:format``) is the narrow task itself: given the sources, the reply must hold a
reference answer and cite the source it came from in the prompt's ``[n]`` format, in at most two sentences —
or abstain when no source answers."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from quarry import __version__
from quarry.evaluation.answer_metrics import normalise_answer
from quarry.llm.base import ChatModel, ChatSettings
from quarry.stores.models import ModelEntry
from quarry.tuning.budget import ProgressFn
from quarry.tuning.lora_training import LoraTraining, TrainedAdapter, train_lora
from quarry.tuning.pairs import data_hash
from quarry.tuning.registry import ModelRegistry
from quarry.tuning.sft_data import ChatExample
from quarry.types import Message

__all__ = ["CHAT_TARGET", "TunedChat", "format_score", "score_examples", "tune_llm"]

CHAT_TARGET = "chat"
_CITE = re.compile(r"\[(\d+)\]")
_SENTENCE_END = re.compile(r"[.!?](\s|$)")

LoadChat = Callable[[Path | None], ChatModel]
"""The local chat model with this LoRA adapter (None: the base model)."""
AnswerEval = Callable[[Path | None], Mapping[str, float]]
"""Per-question correctness of the served answer pipeline with this adapter (None: the base model)."""


@dataclass(frozen=True, slots=True)
class TunedChat:
    entry: ModelEntry
    production: ModelEntry
    adapter: TrainedAdapter
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # eval set → production/candidate means


def format_score(example: ChatExample, reply: str, abstain: str) -> float:
    """1 when the reply does the task: the reference and the right citation (or an abstention), ≤ 2 sentences."""
    text = reply.strip()
    if not example.cite:
        return float(abstain.lower() in text.lower())
    holds = any(normalise_answer(a) in normalise_answer(text) for a in example.answers)
    cited = str(example.cite) in _CITE.findall(text)
    short = len(_SENTENCE_END.findall(text)) <= 2
    return float(holds and cited and short and abstain.lower() not in text.lower())


def score_examples(chat: ChatModel, examples: Sequence[ChatExample], abstain: str, *, stop: tuple[str, ...] = ("\n",),
                   progress: Callable[[int, int], None] | None = None) -> dict[str, float]:  # fmt: skip
    settings = ChatSettings(temperature=0.0, max_tokens=96, stop=stop, seed=0)
    scores: dict[str, float] = {}
    for done, example in enumerate(examples, 1):
        messages = [Message(m["role"], m["content"]) for m in example.messages]  # type: ignore[arg-type]
        scores[example.id or str(done)] = format_score(
            example, chat.complete(messages, settings=settings).text, abstain
        )
        if progress:
            progress(done, len(examples))
    return scores


def tune_llm(
    registry: ModelRegistry, train: Sequence[ChatExample], held_out: Sequence[ChatExample], *, base_model: Path,
    base_model_id: str, out_root: Path, settings: LoraTraining, load: LoadChat, abstain: str, eval_name: str,
    answers: AnswerEval | None = None, by: str = "", on_step: ProgressFn | None = None,
    on_eval: Callable[[int, int], None] | None = None,
) -> TunedChat:  # fmt: skip
    production = registry.ensure_base(CHAT_TARGET, model_id=base_model_id, kind="chat")
    work = out_root / f"lora-run-{int(time.time())}"
    adapter = train_lora(train, base_model, work, settings, progress=on_step)
    digest = hashlib.sha256(adapter.gguf.read_bytes()).hexdigest()[:10]
    artifact = out_root / f"lora.{digest}"
    if artifact.exists():
        shutil.rmtree(artifact)
    shutil.move(str(work), artifact)
    gguf = artifact / adapter.gguf.name
    (artifact / "training.json").write_text(json.dumps({"losses": adapter.losses, "params": adapter.params}))
    lineage = {"base": base_model_id, "base_file": str(base_model), "data_hash": data_hash(train),
               "examples": len(train), "params": adapter.params, "code_version": __version__, "steps": adapter.steps,
               "train_seconds": round(adapter.seconds, 1), "load_seconds": round(adapter.load_seconds, 1),
               "loss_first": adapter.losses[:5], "loss_last": adapter.losses[-5:]}  # fmt: skip
    model_id = f"{base_model_id}+{artifact.name}"
    entry = registry.models.add(ModelEntry(CHAT_TARGET, "adapter", model_id, artifact=str(artifact),
                                           base=base_model_id, lineage=lineage, created_by=by))  # fmt: skip
    scores: dict[str, dict[str, float]] = {}
    base_adapter = production.adapter_file
    runs: list[tuple[str, Callable[[Path | None], Mapping[str, float]]]] = [
        (f"{eval_name}:format", lambda lora: score_examples(load(lora), held_out, abstain, progress=on_eval))
    ]
    if answers is not None:
        runs.append((f"{eval_name}:answers", answers))
    for name, evaluate in runs:
        theirs, mine = evaluate(base_adapter), evaluate(gguf)
        metric = "format" if name.endswith(":format") else "correct"
        production = registry.attach_evaluation(production.id, name, metric, theirs)
        entry = registry.attach_evaluation(entry.id, name, metric, mine)
        scores[name] = {"production": float(np.mean(list(theirs.values()))),
                        "candidate": float(np.mean(list(mine.values())))}  # fmt: skip
    return TunedChat(entry, production, adapter, scores)
