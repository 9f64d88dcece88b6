"""A few real LoRA steps on dev-set examples: llama.cpp loads the GGUF adapter, its greedy reply agrees with the
trained PEFT model's (so the tensor names, shapes and Q/K row order are right), and differs from the base model's;
promoting the adapter in the registry (and rolling it back) changes what an already running Quarry answers with."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from quarry.assembly import build
from quarry.assembly.models import CHAT_TARGET
from quarry.assembly.tuning import model_registry
from quarry.evaluation.qa import load_qa_set
from quarry.generation.prompts import load_prompt
from quarry.llm.base import ChatSettings
from quarry.llm.local import LocalChatModel, locate_model
from quarry.settings import Settings, StoreSettings, TuningSettings
from quarry.stores.models import ModelEntry
from quarry.tuning.llm_job import format_score
from quarry.tuning.lora_training import LoraTraining, TrainedAdapter, load_base, train_lora
from quarry.tuning.sft_data import ChatExample, answer_examples
from quarry.tuning.torch_check import require
from quarry.types import Message

DEV = Path(__file__).resolve().parents[2] / "bench/qa/dev.jsonl"


def _peft_reply(folder: Path, messages: list[dict[str, str]], tokens: int) -> str:
    torch, peft = require("torch"), require("peft")
    tokenizer, base = load_base(locate_model("smollm2"))
    with warnings.catch_warnings():  # transformers' deprecation note from inside peft
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
        model = peft.PeftModel.from_pretrained(base, str(folder)).eval()
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=tokens, do_sample=False)
    return str(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))


@dataclass(frozen=True)
class Trained:
    adapter: TrainedAdapter
    examples: list[ChatExample]
    abstain: str


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Eight real LoRA steps on the dev set's tune split, in the served answer prompt's format."""
    template = load_prompt("answer@4")
    items = load_qa_set(DEV, split="tune").items
    examples = answer_examples(items, system=template.system, user=template.user, abstain=template.abstain_marker)
    settings = LoraTraining(max_steps=8, learning_rate=1e-3, seed=3)
    adapter = train_lora(examples, locate_model("smollm2"), tmp_path_factory.mktemp("lora") / "run", settings)
    return Trained(adapter, list(examples), template.abstain_marker)


def _messages(example: ChatExample) -> list[Message]:
    return [Message(m["role"], m["content"]) for m in example.messages]  # type: ignore[arg-type]


def test_a_lora_adapter_trains_converts_and_changes_what_llama_cpp_says(trained: Trained) -> None:
    adapter = trained.adapter
    assert adapter.steps == 8 and len(adapter.losses) == 8 and adapter.gguf.stat().st_size > 100_000
    probe = trained.examples[0]
    greedy = ChatSettings(temperature=0.0, max_tokens=12, seed=0)
    base = LocalChatModel("smollm2", n_threads=2, repack=False)
    tuned = LocalChatModel("smollm2", n_threads=2, repack=False, lora=adapter.gguf)
    assert tuned.model_id == "local:smollm2+run"
    messages = _messages(probe)
    said, base_said = tuned.complete(messages, settings=greedy).text, base.complete(messages, settings=greedy).text
    assert said != base_said
    expected = _peft_reply(adapter.folder, list(probe.messages), 12)
    assert said.split()[:3] == expected.split()[:3], (said, expected)
    assert format_score(probe, probe.reply, trained.abstain) == 1.0  # the target itself does the task


def test_a_promotion_and_a_rollback_reach_a_running_server_without_a_restart(trained: Trained, tmp_path: Path) -> None:
    settings = Settings(store=StoreSettings(path=tmp_path / "quarry.db"), tuning=TuningSettings(reload_s=0))
    serving, operator = build(settings), build(settings)  # the server, and the operator's CLI beside it
    greedy = ChatSettings(temperature=0.0, max_tokens=12, seed=0)
    messages = _messages(trained.examples[0])
    try:
        before = serving.chat_model.complete(messages, settings=greedy).text
        assert serving.chat_model.model_id == "local:smollm2"
        registry = model_registry(operator)
        registry.ensure_base(CHAT_TARGET, model_id="local:smollm2", kind="chat")
        candidate = registry.models.add(ModelEntry(CHAT_TARGET, "adapter", "local:smollm2+run",
                                                   artifact=str(trained.adapter.gguf.parent)))  # fmt: skip
        registry.promote(candidate.id, force=True)
        tuned = serving.chat_model.complete(messages, settings=greedy).text
        assert serving.chat_model.model_id == "local:smollm2+run" and tuned != before
        registry.rollback(CHAT_TARGET)
        assert serving.chat_model.complete(messages, settings=greedy).text == before
        assert serving.chat_model.model_id == "local:smollm2"
        pinned = build(settings.model_copy(update={"llm": settings.llm.model_copy(
            update={"local": settings.llm.local.model_copy(update={"lora": "none"})})}))  # fmt: skip
        registry.promote(candidate.id, force=True)
        assert pinned.chat_model.model_id == "local:smollm2"  # "none" pins the base model
        pinned.close()
    finally:
        serving.close()
        operator.close()
