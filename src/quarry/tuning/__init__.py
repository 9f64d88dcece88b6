"""Fine-tuning, judged by the evaluation harness: embedders (:mod:`.embedder_training`), LoRA adapters of the
local chat model (:mod:`.lora_training`), the data both learn from (:mod:`.pairs`, :mod:`.sft_data`), and the
advice that says which lever an answer-eval run points to (:mod:`.advise`).

Training needs the optional ``quarry[tune]`` dependencies (CPU ``torch==2.13.0``, ``sentence-transformers``,
``transformers``, ``peft``); every module imports them inside the functions that train, so the rest of Quarry
never pays for them.
"""
