"""30 multi-step tasks over the shared documents (knowledge base) and tables built from the shared spreadsheets
(SQL), for ``python bench/agents.py tasks``.

The database (``bench/_work/agents/finance.db``) is built from ../shared at run time: the half-year segment and
product tables of the Nestlé spreadsheet, the Stanley Cup CSV and the markitdown test workbook. Each task's
expected answer is computed at run time too — by SQL over that database and arithmetic over reference answers
of the dev QA set (bench/qa/dev.jsonl) — never typed in. A task succeeds when the agent's final answer contains
the expected name(s) and, for numbers, a number within 0.5% of the expected one. Steps, tokens, tool calls and
seconds are recorded per task. The knowledge base is the dev set's corpus (collection ``qa``).
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "datasets" / "documents"
DB = HERE / "_work" / "agents" / "finance.db"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def build_database(path: Path = DB) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    book = next(SHARED.rglob("2023-half-year-analyses-by-segment.xlsx"))
    workbook = openpyxl.load_workbook(book, data_only=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE segment_results (segment TEXT, period TEXT, sales REAL, trading_operating_profit REAL)"
        )
        db.execute(
            "CREATE TABLE product_results (product TEXT, period TEXT, sales REAL, trading_operating_profit REAL)"
        )
        for sheet, table in ((workbook.worksheets[0], "segment_results"), (workbook.worksheets[2], "product_results")):
            period = None
            for row in sheet.iter_rows(values_only=True):
                label = row[0]
                marker = next((c for c in row if isinstance(c, str) and c.startswith("January–June")), None)
                if marker:
                    period = "H1 " + marker.split()[-1]
                    continue
                if (period and isinstance(label, str) and _number(row[1]) is not None
                        and not label.startswith(("Total", "Unallocated"))):  # fmt: skip
                    name = re.sub(r"\s*\([a-z]\)$", "", label).strip()
                    db.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", (name, period, row[1], _number(row[3])))
        db.execute("CREATE TABLE stanley_cups (team TEXT, location TEXT, cups INTEGER)")
        with next(SHARED.rglob("stanley-cups.csv")).open(newline="") as handle:
            rows = list(csv.reader(handle))[2:]
        db.executemany("INSERT INTO stanley_cups VALUES (?, ?, ?)", [(r[0], r[1], int(r[2])) for r in rows if r])
        sheet = openpyxl.load_workbook(next(SHARED.rglob("test.xlsx")), data_only=True).worksheets[0]
        db.execute("CREATE TABLE measurements (alpha REAL, beta REAL, gamma REAL, delta REAL)")
        values = [r for r in sheet.iter_rows(min_row=2, values_only=True) if all(_number(v) is not None for v in r)]
        db.executemany("INSERT INTO measurements VALUES (?, ?, ?, ?)", values)
    return path


@dataclass(frozen=True)
class Task:
    id: str
    kind: str  # sql, kb, kb+sql
    task: str
    expected: Callable[[sqlite3.Connection, dict[str, str]], tuple[list[str], float | None]]


def _one(db: sqlite3.Connection, sql: str) -> Any:
    return db.execute(sql).fetchone()[0]


def _ref(refs: dict[str, str], qid: str) -> float:
    return float(re.sub(r"[^\d.]", "", refs[qid]))


H1 = "segment_results WHERE period = 'H1 2023'"
TASKS = [
    Task(
        "sql-01",
        "sql",
        "Which operating segment had the highest sales in H1 2023?",
        lambda db, r: ([_one(db, f"SELECT segment FROM {H1} ORDER BY sales DESC LIMIT 1")], None),
    ),
    Task(
        "sql-02",
        "sql",
        "What were the total sales of all operating segments in H1 2023, in millions of CHF?",
        lambda db, r: ([], _one(db, f"SELECT sum(sales) FROM {H1}")),
    ),
    Task(
        "sql-03",
        "sql",
        "By how many million CHF did Zone NA's sales grow from H1 2022 to H1 2023?",
        lambda db, r: (
            [],
            _one(
                db,
                "SELECT sum(CASE period WHEN 'H1 2023' THEN sales ELSE -sales END) FROM "
                "segment_results WHERE segment = 'Zone NA'",
            ),
        ),
    ),
    Task(
        "sql-04",
        "sql",
        "What was Zone EUR's trading operating profit margin in H1 2023, in percent?",
        lambda db, r: (
            [],
            100 * _one(db, f"SELECT trading_operating_profit / sales FROM {H1} AND segment = 'Zone EUR'"),
        ),
    ),
    Task(
        "sql-05",
        "sql",
        "How many operating segments had sales above 5000 million CHF in H1 2023?",
        lambda db, r: ([], _one(db, f"SELECT count(*) FROM {H1} AND sales > 5000")),
    ),
    Task(
        "sql-06",
        "sql",
        "Which product category had the lowest sales in H1 2023?",
        lambda db, r: (
            [_one(db, "SELECT product FROM product_results WHERE period = 'H1 2023' ORDER BY sales LIMIT 1")],
            None,
        ),
    ),
    Task(
        "sql-07",
        "sql",
        "What were the combined H1 2023 sales of Water and Confectionery, in millions of CHF?",
        lambda db, r: (
            [],
            _one(
                db,
                "SELECT sum(sales) FROM product_results WHERE period = 'H1 2023' AND "
                "product IN ('Water', 'Confectionery')",
            ),
        ),
    ),
    Task(
        "sql-08",
        "sql",
        "How many Stanley Cups have the Flyers and the Blues won together?",
        lambda db, r: ([], _one(db, "SELECT sum(cups) FROM stanley_cups WHERE team IN ('Flyers', 'Blues')")),
    ),
    Task(
        "sql-09",
        "sql",
        "Which team in the Stanley Cup table has won the most cups?",
        lambda db, r: ([_one(db, "SELECT team FROM stanley_cups ORDER BY cups DESC LIMIT 1")], None),
    ),
    Task(
        "sql-10",
        "sql",
        "What is the sum of alpha over the measurements whose beta is above 80?",
        lambda db, r: ([], _one(db, "SELECT sum(alpha) FROM measurements WHERE beta > 80")),
    ),
    Task(
        "sql-11",
        "sql",
        "What is the average gamma of all measurements?",
        lambda db, r: ([], _one(db, "SELECT avg(gamma) FROM measurements")),
    ),
    Task(
        "sql-12",
        "sql",
        "What share of total H1 2023 segment sales came from Nespresso, in percent?",
        lambda db, r: (
            [],
            100 * _one(db, f"SELECT sum(CASE segment WHEN 'Nespresso' THEN sales END) / sum(sales) FROM {H1}"),
        ),
    ),
    Task(
        "kb-01",
        "kb",
        "How many years after Microsoft was founded did it release Windows?",
        lambda db, r: ([], 1985 - 1975),
    ),
    Task(
        "kb-02",
        "kb",
        "Viaweb charged a monthly price for a small store. What would a small store pay per year?",
        lambda db, r: ([], 12 * _ref(r, "pg-32")),
    ),
    Task(
        "kb-03",
        "kb",
        "How many more stores did Viaweb have at the end of 1997 than it opened with in January 1996?",
        lambda db, r: ([], _ref(r, "pg-34") - _ref(r, "pg-31")),
    ),
    Task(
        "kb-04",
        "kb",
        "What was Galaxy Gaming's 2021 total revenue per full-time employee, in dollars?",
        lambda db, r: ([], _ref(r, "doc-31") / _ref(r, "doc-29")),
    ),
    Task(
        "kb-05",
        "kb",
        "What was Microsoft's revenue in 2012 in billions of US dollars?",
        lambda db, r: ([], _ref(r, "doc-25") / 1000),
    ),
    Task(
        "kb-06",
        "kb",
        "Of the applications to the Summer Founders Program, what percentage was picked for the first YC batch?",
        lambda db, r: ([], 100 * _ref(r, "pg-43") / _ref(r, "pg-42")),
    ),
    Task(
        "kb-07",
        "kb",
        "How much money did YC invest in total in a startup with 3 founders in the first batch?",
        lambda db, r: ([], 3 * _ref(r, "pg-44") * 1000),
    ),
    Task(
        "kb-08",
        "kb",
        "Julian's seed funding bought what share of Viaweb, and what valuation does that imply in dollars?",
        lambda db, r: ([], _ref(r, "pg-28") / (_ref(r, "pg-29") / 100)),
    ),
    Task(
        "kb-09",
        "kb",
        "How many years after the author's book On Lisp was published did Viaweb open in 1996?",
        lambda db, r: ([], 1996 - _ref(r, "pg-13")),
    ),
    Task(
        "kb-10",
        "kb",
        "What is the runtime of Holiday Spectacular in hours, to one decimal?",
        lambda db, r: ([], round(_ref(r, "doc-16") / 60, 1)),
    ),
    Task(
        "mix-01",
        "kb+sql",
        "How many more Stanley Cups do the Maple Leafs have than the number of startups in the first YC batch?",
        lambda db, r: ([], _one(db, "SELECT cups FROM stanley_cups WHERE team = 'Maple Leafs'") - _ref(r, "pg-43")),
    ),
    Task(
        "mix-02",
        "kb+sql",
        "Zone NA's H1 2023 sales are in the database. What fraction of the total of all segments is that, in percent?",
        lambda db, r: ([], 100 * _ref(r, "doc-39") / _ref(r, "doc-41")),
    ),
    Task(
        "mix-03",
        "kb+sql",
        "Nespresso's H1 2022 sales according to the documents, minus its H1 2022 sales in the "
        "database: what is the difference?",
        lambda db, r: (
            [],
            _ref(r, "doc-40")
            - _one(db, "SELECT sales FROM segment_results WHERE segment = 'Nespresso' AND period = 'H1 2022'"),
        ),
    ),
    Task(
        "mix-04",
        "kb+sql",
        "How many Stanley Cups have all teams in the table won, and how many employees did "
        "Galaxy Gaming have? Give the sum of the two numbers.",
        lambda db, r: ([], _one(db, "SELECT sum(cups) FROM stanley_cups") + _ref(r, "doc-29")),
    ),
    Task(
        "mix-05",
        "kb+sql",
        "What were Zone AOA's H1 2023 sales in the database, and how many caps did Iwan Roberts "
        "win for Wales? Multiply them.",
        lambda db, r: ([], _one(db, f"SELECT sales FROM {H1} AND segment = 'Zone AOA'") * 15),
    ),
    Task(
        "mix-06",
        "kb+sql",
        "Which product category had the highest H1 2023 sales, and what sales tax rate was "
        "charged on the TechMart purchase?",
        lambda db, r: (
            [
                _one(db, "SELECT product FROM product_results WHERE period = 'H1 2023' ORDER BY sales DESC LIMIT 1"),
                "8.5",
            ],
            None,
        ),
    ),
    Task(
        "mix-07",
        "kb+sql",
        "How many teams are in the Stanley Cup table, and in what year did the author drop out "
        "of RISD? Give the year plus the number of teams.",
        lambda db, r: ([], _ref(r, "pg-22") + _one(db, "SELECT count(*) FROM stanley_cups")),
    ),
    Task(
        "mix-08",
        "kb+sql",
        "What is the maximum delta in the measurements table, and how many days does TechMart "
        "allow for returns? Give their product.",
        lambda db, r: ([], _one(db, "SELECT max(delta) FROM measurements") * 30),
    ),
]
assert len(TASKS) == 30


NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def succeeded(answer: str, names: list[str], number: float | None) -> bool:
    text = answer.lower()
    if any(name.lower() not in text for name in names):
        return False
    if number is None:
        return True
    found = [float(m.replace(",", "")) for m in NUMBER.findall(answer)]
    return any(abs(f - number) <= max(0.005 * abs(number), 0.05) for f in found)


def tasks_main(args: Any) -> None:
    import shlex

    from qa_corpus import COLLECTION, DEV_SET, ensure_corpus
    from quarry.assembly.agents import build_agent
    from quarry.settings import AgentSettings, Settings, SqlToolSettings
    from results import machine, write_section

    rows_read = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line]
    refs = {row["id"]: row["answers"][0] for row in rows_read if row["answers"]}
    db_path = build_database()
    with sqlite3.connect(db_path) as db:
        truths = {t.id: t.expected(db, refs) for t in TASKS}
    rows = []
    for model in args.models.split(","):
        agents = AgentSettings(collection=COLLECTION, sql=SqlToolSettings(url=f"sqlite:///{db_path}"),
                               builtin_tools=["search_knowledge_base", "calculator", "sql_query"], approval_risk=None,
                               memory=False)  # fmt: skip
        settings = Settings(
            store={"path": HERE / "_work" / "qa" / "store" / "quarry.db"},
            llm={"local": {"model": model, "n_threads": 2}},
            agents=agents,
        )  # type: ignore[arg-type]
        quarry = ensure_corpus(settings)
        agent = build_agent(quarry)
        agent.system += ("\nTables (sql_query): segment_results(segment, period, sales, trading_operating_profit), "
                         "product_results(product, period, sales, trading_operating_profit) with period 'H1 2023' or "
                         "'H1 2022' and amounts in millions of CHF; stanley_cups(team, location, cups); "
                         "measurements(alpha, beta, gamma, delta).")  # fmt: skip
        for task in TASKS:
            began = time.perf_counter()
            events = [e.as_dict() for e in agent.start(task.task, user="bench", principals=("*",), sees_all=True)]
            final = events[-1]
            names, number = truths[task.id]
            ok = final["type"] == "answer" and succeeded(final.get("text", ""), names, number)
            spent = final.get("spent", {})
            rows.append({"model": model, "id": task.id, "kind": task.kind, "ok": ok, "final": final["type"],
                         "steps": spent.get("steps", 0), "tokens": spent.get("tokens", 0),
                         "tool_calls": sum(spent.get("calls", {}).values()), "seconds": time.perf_counter() - began,
                         "answer": final.get("text", final.get("reason", ""))[:200], "expected": [names, number]})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
        quarry.close()
    lines = ["| model | tasks | success (95% CI) | sql | kb | kb+sql | steps/task | tokens/task | tool calls/task | "
             "s/task | cost/task |", "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for model in args.models.split(","):
        mine = [r for r in rows if r["model"] == model]
        n = len(mine)
        rate = sum(r["ok"] for r in mine) / n
        by = {k: f"{sum(r['ok'] for r in mine if r['kind'] == k)}/{sum(r['kind'] == k for r in mine)}"
              for k in ("sql", "kb", "kb+sql")}  # fmt: skip
        half = 1.96 * (rate * (1 - rate) / n) ** 0.5
        lines.append(f"| {model} | {n} | {rate:.2f} ± {half:.2f} | {by['sql']} | {by['kb']} | {by['kb+sql']} | "
                     f"{statistics.mean(r['steps'] for r in mine):.1f} | {statistics.mean(r['tokens'] for r in mine):.0f} | "
                     f"{statistics.mean(r['tool_calls'] for r in mine):.1f} | "
                     f"{statistics.mean(r['seconds'] for r in mine):.1f} | $0 (local) |")  # fmt: skip
    body = (f"Command: `python bench/agents.py {shlex.join(sys.argv[1:])}`\n\nMachine: {machine()}\n\n"
            + "\n".join(lines) + "\n\nTasks and scoring: bench/agent_tasks.py (expected answers computed from "
            "../shared at run time). Agent: the default loop and limits, tools search_knowledge_base, calculator "
            "and sql_query; the system prompt names the tables.")  # fmt: skip
    print(body)
    out = HERE / "_work" / "agents" / "tasks.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    if not args.no_write:
        write_section("Agents: multi-step knowledge-base + SQL tasks", body)
