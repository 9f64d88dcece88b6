"""``[agents]``: tool-using agents — their limits, which tools they get, approvals, memory and MCP servers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from quarry.settings.section import Section

__all__ = ["AgentSettings", "McpServerSettings", "SqlToolSettings"]

RiskLevel = Literal["read", "write", "external"]


class SqlToolSettings(Section):
    url: str | None = Field(None, description="SQLAlchemy URL the sql_query tool reads (SQLite is opened read-only)")
    max_rows: int = Field(100, ge=1, le=100_000, description="rows returned at most (the rest reported as cut)")
    timeout_s: float = Field(5.0, gt=0, description="a statement running longer is cancelled")


class McpServerSettings(Section):
    """An MCP server whose tools agents may call: a command (stdio) or a streamable-HTTP ``url``."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="prefix of its tools' names")
    command: list[str] = Field(default_factory=list, description="argv of a stdio server, e.g. ['uvx', 'mcp-git']")
    url: str | None = Field(None, description="http(s)://…/mcp of a streamable-HTTP server")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers, e.g. Authorization")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment of a stdio server")
    risk: RiskLevel = Field("external", description="risk level of every tool of this server")
    timeout_s: float = Field(30.0, gt=0, description="one tool call (connect + call) at most")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if bool(self.command) == bool(self.url):
            raise ValueError(f"MCP server {self.name!r} needs exactly one of command (stdio) or url (HTTP)")
        return self


class AgentSettings(Section):
    model: str = Field(
        "", description="the [llm] provider's model agents use ('' = [llm]'s own); e.g. 'qwen2.5-0.5b' locally"
    )
    collection: str = Field("docs", description="collection the knowledge-base tools use when none is named")
    builtin_tools: list[str] = Field(
        default_factory=lambda: ["search_knowledge_base", "answer_from_knowledge_base", "calculator", "remember",
                                 "sql_query", "http_get"],
        description="built-in tools offered (sql_query needs [agents.sql] url, http_get [agents] http_allow_hosts)",
    )  # fmt: skip
    tools: list[str] = Field(default_factory=list, description="your tools: 'package.module:function' (@tool-made)")
    max_steps: int = Field(8, ge=1, description="model calls per run")
    max_tokens: int = Field(30_000, ge=1, description="prompt + completion tokens per run")
    max_cost_usd: float | None = Field(None, gt=0, description="spend per run (priced models only)")
    max_wall_s: float = Field(300.0, gt=0, description="seconds of work per run (waiting for approval not counted)")
    max_calls_per_tool: int = Field(5, ge=1, description="calls of any one tool per run")
    max_repeats: int = Field(2, ge=1, description="the same call with the same arguments, at most; then the run stops")
    max_invalid_arguments: int = Field(2, ge=0, description="re-asks after arguments that do not validate, in a row")
    step_tokens: int = Field(512, ge=16, description="completion tokens of one model call")
    tool_timeout_s: float = Field(30.0, gt=0, description="a tool without its own timeout gets this")
    max_result_chars: int = Field(4000, ge=100, description="a tool result is cut to this before the model reads it")
    approval_risk: RiskLevel | None = Field("write", description="tools at or above this risk wait for a human")
    auto_approve: list[str] = Field(default_factory=lambda: ["remember"], description="tools never paused")
    approval_timeout_s: float = Field(86_400.0, gt=0, description="a pending approval escalates after this")
    on_timeout: Literal["reject", "webhook"] = Field("reject", description="what an expired approval does")
    webhook_url: str | None = Field(None, description="POSTed the expired approval when on_timeout = 'webhook'")
    history_tokens: int = Field(3000, ge=200, description="conversation kept verbatim; older turns are summarised")
    memory: bool = Field(True, description="retrieve the user's stored facts into each run")
    memory_k: int = Field(3, ge=1, description="stored facts recalled at most")
    memory_min_score: float = Field(
        0.25, ge=-1, le=1, description="cosine a fact needs to be recalled (MiniLM: related 0.3+, unrelated <0.2)"
    )
    http_allow_hosts: list[str] = Field(default_factory=list, description="hosts http_get may fetch ('*.x.org')")
    http_allow_private: list[str] = Field(default_factory=list, description="private IPs/CIDRs http_get may reach")
    http_max_kb: int = Field(512, ge=1, description="KB a response may have; a larger one is refused")
    sql: SqlToolSettings = Field(default_factory=lambda: SqlToolSettings())
    mcp_servers: list[McpServerSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _webhook_named(self) -> AgentSettings:
        if self.on_timeout == "webhook" and not self.webhook_url:
            raise ValueError("on_timeout = 'webhook' needs webhook_url")
        return self
