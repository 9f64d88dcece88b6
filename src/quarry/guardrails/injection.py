"""Prompt-injection and jailbreak detection: rules for the known shapes, a linear probe for the rest.

Rules (on :func:`~quarry.guardrails.normalise.normalise`-d text, so ``1gn0re pr3vious`` still matches) catch the
shapes injections keep taking: overriding earlier instructions, assigning the model a new persona, named
jailbreaks (DAN, developer mode), asking for the system prompt, telling the *reader* of a document to go
somewhere or do something, and Markdown images whose URL carries data out. A rule match scores its weight.

The probe is logistic regression over the collection's MiniLM embedding of the text, trained offline by
``bench/guards.py`` on the train split of ../shared/datasets/injection (in-the-wild jailbreaks, DAN templates)
against ordinary questions and passages (SciFact claims and abstracts, the QA dev questions, the essay), and
shipped as weights (``data/injection_probe.json``): it catches role-play jailbreaks no rule names. The score is
the larger of the two. The probe judges questions and chat messages only: on document text of a genre it was
not trained on (WHOIS records) it fired on most chunks, so passages — at ingest and at answer time — are judged by
the rules alone. The probe only speaks on texts of at least four words (on a greeting or a single character
its score is noise). Its threshold comes with the weights: set on the train split so that at most 2% of ordinary
train questions score above it, and reported on the held-out split by ``bench/guards.py measure``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from quarry.guardrails.base import GuardContext, Stage, Verdict
from quarry.guardrails.normalise import normalise
from quarry.types import Matrix

__all__ = ["RULES", "InjectionGuard", "Probe", "load_probe", "rule_matches"]

_W = r"(?:\w+\s+){0,4}?"  # a few words between the parts of a phrase
RULES: dict[str, tuple[str, float]] = {
    "forget_all": (
        r"\b(ignore|disregard|forget)\s+(everything|all|anything)\s+(above|before|earlier|previous|prior|"
        r"you (were|have been) told)",
        1.0,
    ),
    "override": (
        rf"\b(ignore|disregard|forget|override|bypass|skip)\s+{_W}"
        rf"(previous|prior|above|earlier|preceding|all|any|every|the|your|these|those)\s+{_W}"
        r"(instructions?|prompts?|rules|directions|guidelines|directives|context|question|messages?)\b",
        1.0,
    ),
    "new_instructions": (
        r"\b(new|updated|real|actual|secret|hidden)\s+(instructions?|directives?|task|orders?)\s*(are|is|follow)?\b",
        0.8,
    ),
    "persona": (
        r"\b(you are now|from now on\s+you|act as|pretend (to be|you are)|roleplay as|role play as|you will "
        r"now|stay in character|you have been freed|you are no longer)\b",
        0.7,
    ),
    "jailbreak": (
        r"\b(do anything now|developer mode|jailbreak|jailbroken|dan mode|uncensored|unfiltered|no "
        r"restrictions|without (any )?(restrictions|filters|limits)|amoral|no ethical|ignore (all )?ethics|"
        r"opposite mode|evil (ai|mode|bot))\b",
        0.9,
    ),
    "system_prompt": (
        r"\b(system prompt|initial (prompt|instructions)|your instructions|reveal (your|the) (prompt|"
        r"instructions|rules)|print (your|the) (prompt|instructions)|repeat (the|your) (words|text) above)\b",
        0.8,
    ),
    "address_reader": (
        r"\b(tell|inform|instruct|ask|advise|remind|warn|direct|urge)\s+(the\s+)?(user|reader|customer|"
        r"human|person asking)s?\b",
        0.9,
    ),
    "address_model": (
        r"\b(assistants?|ai models?|language models?|chatbots?|llms?|ai|ai systems?)\b\s+"
        r"(\w+\s+){0,3}?(must|should|shall|will|has to|have to)\s+(now\s+|not\s+|never\s+|always\s+)?"
        r"(say|answer|reply|respond|tell|output|print|ignore|add|claim|mention|include|recommend|state)\b",
        0.9,
    ),
    # a document speaking to the model that reads it: "If you are an AI reading this", "Note for the chatbot:"
    "speaks_to_model": (  # rules run on normalised text: no punctuation, lower case
        r"\b(if you are an? (ai|assistant|language model|llm|chatbot|bot)|(ai|assistant|language model|llm|"
        r"chatbot|model)s?( systems?)? (reading|processing|quoting|summari[sz]ing|crawling) this|"
        r"(for|to) (the |any |an? )?(ai|assistant|language model|llm|chatbot)s?( model)? (please|your|you|when|if|"
        r"do|include|ignore|say|tell|always|never)|"
        r"instructions? for (the |any )?(ai|assistant|language model|llm|chatbot|model)s?|"
        r"(assistant|chatbot|llm) (when|if) (\w+ ){0,6}?(say|tell|reply|answer|respond|recommend))\b",
        0.8,
    ),
    "redirect": (
        r"\b(visit|go to|click|navigate to|open|download from|send (it|them|this) to)\s+(https?\s|www\s|\S+\s"
        r"(com|net|org|io|biz|ru|xyz)\b)",
        0.45,  # "please visit https://…" is everyday document text: recorded, never enough alone
    ),
}
PROBE_MIN_WORDS = 4  # the probe is noise on one- to three-word texts ("hello" scored 0.76); rules still apply
_COMPILED = {name: re.compile(pattern) for name, (pattern, _) in RULES.items()}
_WORD = re.compile(r"\w{2,}")  # words of two letters or more: "c r y p t o" is not six words
_EXFILTRATION = re.compile(r"!\[[^\]]*\]\(\s*https?://[^)\s]*[?&=][^)]*\)", re.IGNORECASE)


def rule_matches(text: str) -> dict[str, float]:
    """The rules ``text`` matches, with their weights."""
    plain = normalise(text)
    found = {name: RULES[name][1] for name, pattern in _COMPILED.items() if pattern.search(plain)}
    if _EXFILTRATION.search(text):
        found["exfiltration_image"] = 1.0
    return found


@dataclass(frozen=True, slots=True)
class Probe:
    """A logistic-regression probe over normalised embeddings: ``sigmoid(vector · weights + bias)``."""

    weights: Matrix
    bias: float
    threshold: float
    model: str
    notes: str = ""

    def score(self, vectors: Matrix) -> Matrix:
        logits = vectors @ self.weights + self.bias
        scores: Matrix = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        return scores


@cache
def load_probe(name: str = "injection_probe.json") -> Probe | None:
    """The shipped probe (None when the weights file is absent)."""
    try:
        raw = resources.files("quarry.guardrails").joinpath("data", name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    data = json.loads(raw)
    weights = np.asarray(data["weights"], dtype=np.float32)
    return Probe(weights, float(data["bias"]), float(data["threshold"]), str(data["model"]), str(data.get("notes", "")))


class InjectionGuard:
    """Rules plus the probe (when an embedder is given and the probe's model is that embedder's)."""

    name = "injection"
    stages: tuple[Stage, ...] = ("input", "retrieval")

    def __init__(self, embed: Callable[[str], Matrix] | None = None, *, model_id: str = "",
                 threshold: float | None = None) -> None:  # fmt: skip
        probe = load_probe()
        self.probe = probe if probe is not None and embed is not None and model_id == probe.model else None
        self.embed = embed
        self.threshold = threshold if threshold is not None else (self.probe.threshold if self.probe else 0.6)

    def score(self, text: str, *, probe: bool = True) -> tuple[float, dict[str, float]]:
        rules = rule_matches(text)
        learned = 0.0
        use_probe = probe and self.probe is not None and self.embed is not None
        if (
            use_probe
            and self.probe is not None
            and self.embed is not None
            and len(_WORD.findall(text)) >= PROBE_MIN_WORDS
        ):
            learned = float(self.probe.score(self.embed(text).reshape(1, -1))[0])
        return max([learned, *rules.values()]), {**rules, **({"probe": round(learned, 3)} if use_probe else {})}

    def check(self, text: str, context: GuardContext) -> Verdict:
        score, found = self.score(text, probe=context.stage == "input")
        triggered = score >= self.threshold
        names = tuple(sorted(k for k, v in found.items() if k != "probe" or v >= self.threshold))
        reason = f"looks like a prompt injection ({', '.join(names)})" if triggered else ""
        return Verdict(self.name, triggered, round(score, 4), reason=reason, findings=names)
