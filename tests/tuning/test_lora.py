"""A few real LoRA steps on dev-set examples: llama.cpp loads the GGUF adapter, its greedy reply agrees with the
trained PEFT model's (so the tensor names, shapes and Q/K row order are right), and differs from the base model's."""

from __future__ import annotations

import warnings
from pathlib import Path

from quarry.evaluation.qa import load_qa_set
from quarry.generation.prompts import load_prompt
from quarry.llm.base import ChatSettings
from quarry.llm.local import LocalChatModel, locate_model
from quarry.tuning.llm_job import format_score
from quarry.tuning.lora_training import LoraTraining, load_base, train_lora
from quarry.tuning.sft_data import answer_examples
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


def test_a_lora_adapter_trains_converts_and_changes_what_llama_cpp_says(tmp_path: Path) -> None:
    template = load_prompt("answer@4")
    items = load_qa_set(DEV, split="tune").items
    examples = answer_examples(items, system=template.system, user=template.user, abstain=template.abstain_marker)
    settings = LoraTraining(max_steps=8, learning_rate=1e-3, seed=3)
    trained = train_lora(examples, locate_model("smollm2"), tmp_path / "run", settings)
    assert trained.steps == 8 and len(trained.losses) == 8 and trained.gguf.stat().st_size > 100_000
    probe = examples[0]
    messages = [Message(m["role"], m["content"]) for m in probe.messages]  # type: ignore[arg-type]
    greedy = ChatSettings(temperature=0.0, max_tokens=12, seed=0)
    base = LocalChatModel("smollm2", n_threads=2, repack=False)
    tuned = LocalChatModel("smollm2", n_threads=2, repack=False, lora=trained.gguf)
    assert tuned.model_id == "local:smollm2+run"
    said, base_said = tuned.complete(messages, settings=greedy).text, base.complete(messages, settings=greedy).text
    assert said != base_said
    expected = _peft_reply(trained.folder, list(probe.messages), 12)
    assert said.split()[:3] == expected.split()[:3], (said, expected)
    assert format_score(probe, probe.reply, template.abstain_marker) == 1.0  # the target itself does the task
