"""A plain LlamaIndex query engine over the answer dev set, with Quarry's embedding model and the same GGUF.

As a user builds it: ``VectorStoreIndex`` over the corpus (default ``SentenceSplitter``: 1,024-token nodes with
200 overlap, the default in-memory vector store) and ``index.as_query_engine(similarity_top_k=k)`` with its
default response mode (``compact``: the retrieved nodes packed into the context window, refined over several
calls when they do not fit). Two things are held equal so the comparison is about the pipelines:

- the documents are the text Quarry's parsers extracted (LlamaIndex's own readers would need pypdf & co.);
- the models: :class:`QuarryMiniLM` (bench/llamaindex_system.py) embeds, and :class:`SameGGUF` — a LlamaIndex
  ``CustomLLM`` — answers through the very llama.cpp server Quarry's local provider starts for the model, with
  a 4,096-token window and 64 answer tokens.

Outcomes are reported through the same :class:`~quarry.evaluation.AnswerOutcome` as Quarry's: the source nodes
are what it retrieved and what the model read; it does not cite inline, so its "citations" are its source
nodes; it has no supported flag; an answer saying the context does not answer it counts as an abstention.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from pydantic import PrivateAttr

from llamaindex_system import QuarryMiniLM
from quarry.embeddings import MiniLMEmbedder
from quarry.embeddings.onnx_minilm import load_tokenizer
from quarry.evaluation.outcome import AnswerOutcome, CitedSpan, Passage
from quarry.evaluation.qa import QAItem
from quarry.generation.checking import said_cannot
from quarry.llm import ChatModel, ChatSettings
from quarry.types import Document as QuarryDocument
from quarry.types import Message

# the model serves 4,096 tokens; LlamaIndex counts with the MiniLM WordPiece tokenizer (tiktoken would download its
# tables), which counts ~10-25% fewer tokens than SmolLM2 does, so it is told less to keep prompts inside the window
CONTEXT_WINDOW = 3300
ANSWER_TOKENS = 64


class SameGGUF(CustomLLM):
    """LlamaIndex's LLM interface over a Quarry :class:`ChatModel` (the same server, the same weights)."""

    _model: ChatModel = PrivateAttr()
    _last: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(self, model: ChatModel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._model = model
        self._last = {}

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=CONTEXT_WINDOW, num_output=ANSWER_TOKENS, is_chat_model=True, model_name=self._model.model_id
        )

    def _call(self, messages: list[Message]) -> str:
        done = self._model.complete(messages, settings=ChatSettings(max_tokens=ANSWER_TOKENS, temperature=0.0))
        usage = self._last.setdefault("usage", [0, 0])
        usage[0] += done.usage.prompt_tokens
        usage[1] += done.usage.completion_tokens
        self._last["finish_reason"] = done.finish_reason
        return done.text

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        converted = [
            Message(
                "system"
                if m.role == MessageRole.SYSTEM
                else "assistant"
                if m.role == MessageRole.ASSISTANT
                else "user",
                m.content or "",
            )
            for m in messages
        ]
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=self._call(converted)))

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._call([Message("user", prompt)]))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        yield self.complete(prompt, formatted=formatted)

    def take_last(self) -> dict[str, Any]:
        last, self._last = self._last, {}
        return last


class LlamaIndexQA:
    """The query engine over ``documents``; call it with a question item."""

    def __init__(
        self, documents: Sequence[QuarryDocument], chat: ChatModel, *, top_k: int, vectors: dict[str, list[float]]
    ) -> None:
        wordpiece = load_tokenizer()
        Settings.tokenizer = lambda text: wordpiece.encode(text, add_special_tokens=False).ids
        self.embed_model = QuarryMiniLM(MiniLMEmbedder(), vectors, embed_batch_size=512)
        self.llm = SameGGUF(chat)
        docs = [
            Document(
                id_=d.uri,
                text=d.text,
                metadata={"uri": d.uri},
                excluded_embed_metadata_keys=["uri"],
                excluded_llm_metadata_keys=["uri"],
            )
            for d in documents
        ]
        self.index = VectorStoreIndex.from_documents(docs, embed_model=self.embed_model)
        self.engine = self.index.as_query_engine(similarity_top_k=top_k, llm=self.llm)
        self.top_k = top_k

    def __call__(self, item: QAItem) -> AnswerOutcome:
        began = time.perf_counter()
        response = self.engine.query(item.question)
        seconds = time.perf_counter() - began
        last = self.llm.take_last()
        text = str(response.response or "").strip()
        nodes = [(str(n.node.metadata.get("uri", "")), n.node.get_content()) for n in response.source_nodes]
        passages = tuple(Passage(uri, content) for uri, content in nodes)
        prompt_tokens, completion_tokens = last.get("usage", [0, 0])
        abstained = not text or text == "Empty Response" or said_cannot(text, "I don't know")
        return AnswerOutcome(
            text=text,
            abstained=abstained,
            supported=False,
            truncated=last.get("finish_reason") == "length",
            citations=tuple(CitedSpan(uri, content) for uri, content in nodes),
            retrieved=passages,
            context=passages,
            seconds=seconds,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            model=self.llm.metadata.model_name,
        )
