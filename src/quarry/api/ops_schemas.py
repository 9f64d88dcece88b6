"""Wire schemas of the operations endpoints: feedback, prompts, experiments."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ExperimentIn",
    "FeedbackIn",
    "FeedbackOut",
    "LabelMoveOut",
    "PromoteIn",
    "PromptIn",
    "PromptOut",
    "RollbackIn",
    "VariantIn",
]

TRACE_ID = r"^[0-9a-f]{32}$"
NAME = r"^[a-z][a-z0-9_-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedbackIn(_Strict):
    trace_id: str = Field(pattern=TRACE_ID, description="the answer's trace_id (in every answer response)")
    rating: Literal["up", "down"] | None = Field(None, description="thumbs up or down")
    score: float | None = Field(None, ge=0.0, le=1.0, description="a graded score from 0 (bad) to 1 (good)")
    comment: str = Field("", max_length=4000)
    correction: str = Field("", max_length=8000, description="what the answer should have said")

    @model_validator(mode="after")
    def _says_something(self) -> FeedbackIn:
        if self.rating is None and self.score is None and not self.comment.strip() and not self.correction.strip():
            raise ValueError("give a rating, a score, a comment or a correction")
        return self


class FeedbackOut(BaseModel):
    id: str
    trace_id: str
    rating: str | None
    score: float | None
    comment: str
    correction: str
    key_id: str
    created_at: float


class PromptIn(_Strict):
    system: str = Field(min_length=1, max_length=20_000)
    user: str = Field(min_length=1, max_length=20_000)
    variables: dict[str, str] | None = Field(None, description="name -> type; default: what the pipeline supplies")
    description: str = Field("", max_length=2000)
    abstain_marker: str = Field("I don't know", max_length=200)
    source_titles: bool = True
    stop: list[str] = Field(default_factory=list, max_length=8)


class PromptOut(BaseModel):
    ref: str
    name: str
    version: int
    description: str
    system: str
    user: str
    abstain_marker: str
    source_titles: bool
    stop: list[str]


class PromoteIn(_Strict):
    version: int = Field(ge=1, le=999_999)
    label: str = Field("", pattern=r"^$|^[a-z][a-z0-9_-]{0,63}$", description="default: generation.prompt_label")


class RollbackIn(_Strict):
    label: str = Field("", pattern=r"^$|^[a-z][a-z0-9_-]{0,63}$")


class LabelMoveOut(BaseModel):
    name: str
    label: str
    version: int
    previous: int | None
    at: float
    note: str


class VariantIn(_Strict):
    name: str = Field(pattern=NAME)
    prompt: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}@[0-9]{1,6}$")
    weight: float = Field(gt=0, le=1000)
    settings: dict[str, Any] = Field(
        default_factory=dict, description='[generation] settings this arm changes, e.g. {"k": 3}'
    )


class ExperimentIn(_Strict):
    name: str = Field(pattern=NAME)
    prompt: str = Field("answer", pattern=NAME)
    variants: list[VariantIn] = Field(min_length=2, max_length=10)
    guard_metric: Literal["negative_feedback", "error", "abstention"] = "negative_feedback"
    margin: float = Field(0.05, ge=0, le=1)
    min_requests: int = Field(100, ge=1, le=10_000_000)
    alpha: float = Field(0.05, gt=0, le=0.5)
    collections: list[str] = Field(default_factory=list, max_length=100)


ExperimentOut = dict[str, Any]
