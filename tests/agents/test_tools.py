"""Tools: schema from the signature and docstring, validation with structured errors, the built-ins' limits."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from quarry.agents import Tool, ToolArgumentError, ToolContext, tool
from quarry.agents.builtin import calculator
from quarry.agents.sql_tool import ReadOnlySql, check_statement
from quarry.agents.tools import at_or_above, result_text
from quarry.errors import ConfigError
from quarry.settings import SqlToolSettings


@tool(risk="write", timeout_s=3)
def create_ticket(title: str, context: ToolContext, priority: int = 3, labels: list[str] | None = None) -> str:
    """Open a ticket in the tracker.

    Args:
        title: a one-line summary.
        priority: 1 (urgent) to 5; 3 when unsure.
        labels: tags such as "billing".
    """
    return f"{context.user} opened {title!r} at priority {priority} with {labels}"


def test_the_schema_comes_from_the_signature_and_docstring() -> None:
    assert isinstance(create_ticket, Tool)
    assert create_ticket.name == "create_ticket"
    assert create_ticket.description == "Open a ticket in the tracker."
    assert create_ticket.risk == "write"
    assert create_ticket.timeout_s == 3
    schema = create_ticket.spec.parameters
    assert schema["required"] == ["title"]
    assert set(schema["properties"]) == {"title", "priority", "labels"}  # the context is not the model's to give
    assert schema["properties"]["priority"] == {"type": "integer", "default": 3,
                                                "description": "1 (urgent) to 5; 3 when unsure."}  # fmt: skip
    assert schema["properties"]["title"]["description"] == "a one-line summary."


def test_arguments_are_validated_into_a_structured_error() -> None:
    with pytest.raises(ToolArgumentError) as caught:
        create_ticket.arguments(json.dumps({"priority": "high"}))
    wheres = {e["where"] for e in caught.value.errors}
    assert wheres == {"title", "priority"}
    assert "valid integer" in next(e["problem"] for e in caught.value.errors if e["where"] == "priority")
    with pytest.raises(ToolArgumentError, match="not JSON"):
        create_ticket.arguments("{title:")
    good = create_ticket.arguments(json.dumps({"title": "Refund", "priority": "2"}))
    assert good == {"title": "Refund", "priority": 2, "labels": None}
    assert create_ticket.invoke(good, ToolContext(user="ann")) == "ann opened 'Refund' at priority 2 with None"


def test_risk_levels_order_read_write_external() -> None:
    assert at_or_above("external", "write") and at_or_above("write", "write")
    assert not at_or_above("read", "write")
    assert not at_or_above("external", None)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("(1250 - 980) / 980 * 100", str((1250 - 980) / 980 * 100)),
        ("2 ** 10 + sqrt(16)", "1028"),
        ("round(pi, 3)", "3.142"),
    ],
)
def test_the_calculator_computes(expression: str, value: str) -> None:
    assert calculator.invoke({"expression": expression}, ToolContext()) == value


@pytest.mark.parametrize("expression", ["__import__('os').system('id')", "open('x')", "2 ** 100000", "a + 1"])
def test_the_calculator_refuses_anything_but_arithmetic(expression: str) -> None:
    with pytest.raises(ValueError, match=r"not allowed|exponents"):
        calculator.invoke({"expression": expression}, ToolContext())


def test_long_results_are_cut_for_the_model() -> None:
    text = result_text({"rows": ["x" * 50] * 100}, max_chars=200)
    assert len(text) < 260
    assert text.endswith("more characters cut]")


@pytest.fixture
def invoices(tmp_path: Path) -> Path:
    path = tmp_path / "finance.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer TEXT, amount REAL, status TEXT)")
        rows = [(f"customer {i}", 100.0 + i, "overdue" if i % 3 == 0 else "paid") for i in range(30)]
        db.executemany("INSERT INTO invoices (customer, amount, status) VALUES (?, ?, ?)", rows)
    return path


def test_sql_reads_with_bound_parameters_and_a_row_limit(invoices: Path) -> None:
    reader = ReadOnlySql(SqlToolSettings(url=f"sqlite:///{invoices}", max_rows=4))
    counted = reader.query("SELECT count(*) AS n FROM invoices WHERE status = :status", {"status": "overdue"})
    assert counted == {"columns": ["n"], "rows": [[10]], "row_count": 1, "truncated": False}
    many = reader.query("SELECT id FROM invoices ORDER BY id")
    assert many["rows"] == [[1], [2], [3], [4]]
    assert many["truncated"] is True
    reader.close()


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM invoices",
        "SELECT 1; DROP TABLE invoices",
        "PRAGMA writable_schema = 1",
        "WITH x AS (SELECT 1) INSERT INTO invoices (customer) SELECT 'y' FROM x",
        "ATTACH DATABASE '/tmp/other.db' AS other",
    ],
)
def test_sql_refuses_anything_but_one_select(sql: str) -> None:
    with pytest.raises(ConfigError):
        check_statement(sql)


def test_a_write_hidden_from_the_allow_list_is_refused_by_the_read_only_connection(invoices: Path) -> None:
    reader = ReadOnlySql(SqlToolSettings(url=f"sqlite:///{invoices}"))
    with reader.engine.connect() as conn, pytest.raises(Exception, match="readonly"):
        conn.exec_driver_sql("UPDATE invoices SET amount = 0")
    assert reader.query("SELECT min(amount) AS low FROM invoices")["rows"] == [[100.0]]
    assert "'; DROP" in reader.query("SELECT :x AS v", {"x": "'; DROP TABLE invoices; --"})["rows"][0][0]
    reader.close()


def test_a_slow_sql_statement_is_interrupted(invoices: Path) -> None:
    reader = ReadOnlySql(SqlToolSettings(url=f"sqlite:///{invoices}", timeout_s=0.2))
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    with pytest.raises(ConfigError, match="interrupted"):
        reader.query(endless)
    reader.close()
