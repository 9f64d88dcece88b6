// Evaluations: stored runs (answers and retrieval), one run's metrics with CIs, score histogram and worst
// questions, and a paired comparison of two runs.
import { api, clear, fmt, h } from "./lib.js";
import { barChart, histogram } from "./charts.js";

export async function evalsPage(main, [view, ...rest]) {
  if (view === "run") return runPage(main, rest.join("/"));
  if (view === "compare") return comparePage(main, rest[0], rest[1]);
  const runs = await api("/v1/evals");
  const answers = runs.filter((r) => r.kind === "answers");
  const pick = (id) => h("select", { id }, answers.map((r) => h("option", { value: r.id }, `${r.name} · ${fmt.time(r.created)}`)));
  const baseline = pick("baseline");
  const candidate = pick("candidate");
  if (answers.length > 1) baseline.selectedIndex = 1;
  document.title = "Evaluations · Quarry";
  clear(main, h("h1", {}, "Evaluations"),
    runs.length ? h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Run", "Kind", "Dataset", "When", "Questions", "Headline"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, runs.map((r) => h("tr", {},
        h("td", {}, h("a", { href: `#/evals/run/${r.id}` }, r.name)), h("td", {}, r.kind), h("td", {}, r.dataset),
        h("td", {}, fmt.time(r.created)), h("td", { class: "num" }, r.questions),
        h("td", { class: "num" }, `${r.headline} ${fmt.num(r.value)}`)))))
      : h("p", { class: "muted" }, "No stored runs yet: `quarry eval answers --qa questions.jsonl` or `quarry eval retrieval` make them."),
    answers.length > 1 ? h("form", { class: "row wrap", onsubmit: (event) => {
      event.preventDefault();
      location.hash = `#/evals/compare/${encodeURIComponent(baseline.value)}/${encodeURIComponent(candidate.value)}`;
    } }, h("h2", {}, "Compare two answer runs"),
    h("label", { for: "baseline" }, "Baseline"), baseline, h("label", { for: "candidate" }, "Candidate"), candidate,
    h("button", { type: "submit" }, "Compare")) : null);
  return null;
}

async function runPage(main, id) {
  const run = await api("/v1/evals/run", { query: { id } });
  const unit = (run.metrics.find((m) => m.metric === "correct") ? "answers" : "retrieval");
  const [histName, histValues] = Object.entries(run.histograms)[0] || ["", []];
  document.title = `${run.name} · Quarry`;
  clear(main,
    h("p", {}, h("a", { href: "#/evals" }, "← Evaluations")),
    h("h1", {}, run.name),
    h("p", { class: "muted" }, `${run.kind} on ${run.dataset} · ${run.questions} questions · ${fmt.time(run.created)}`,
      run.seconds ? ` · ${run.seconds.toFixed(0)} s` : "", run.cost_usd !== undefined ? ` · ${fmt.usd(run.cost_usd)}` : ""),
    h("div", { class: "eval-charts" },
      barChart(`Metrics with 95% confidence intervals (${unit})`, run.metrics.filter((m) => m.mean !== null && m.high <= 1.0001)),
      histValues.length ? histogram(`Distribution of ${histName}`, histValues) : null),
    h("table", { class: "table narrow-table" },
      h("thead", {}, h("tr", {}, ["Metric", "Mean", "95% CI"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, run.metrics.map((m) => h("tr", {}, h("td", {}, m.metric), h("td", { class: "num" }, fmt.num(m.mean)),
        h("td", { class: "num" }, m.low === null ? "—" : `[${fmt.num(m.low)}, ${fmt.num(m.high)}]`))))),
    h("h2", {}, "Worst questions"),
    h("ol", { class: "worst" }, run.worst.map((q) => h("li", {},
      h("details", {}, h("summary", {}, q.question),
        q.answers ? h("p", {}, h("strong", {}, "Reference: "), q.answers.join(" | ") || "(unanswerable)") : null,
        q.answer !== undefined ? h("p", {}, h("strong", {}, "Answer: "), q.answer,
          q.abstained ? " (abstained)" : "", q.supported ? " (marked supported)" : "") : null,
        h("p", { class: "small mono" }, Object.entries(q.metrics).map(([k, v]) => `${k} ${typeof v === "number" ? v.toFixed(2) : v}`).join(" · ")),
        q.context ? h("ol", { class: "context" }, q.context.map((c) => h("li", {}, h("span", { class: "mono small" }, c.document), h("pre", { class: "chunk-text", tabindex: "0" }, c.text)))) : null,
        q.ranking ? h("p", { class: "small" }, "Top ranked: ", q.ranking.join(", ")) : null)))));
  return null;
}

async function comparePage(main, baseline, candidate) {
  const result = await api("/v1/evals/compare", { query: { baseline, candidate } });
  document.title = "Comparison · Quarry";
  clear(main,
    h("p", {}, h("a", { href: "#/evals" }, "← Evaluations")),
    h("h1", {}, "Comparison"),
    h("p", {}, `${candidate} against ${baseline}; differences are candidate − baseline with paired 95% CIs.`),
    h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Metric", "Baseline", "Candidate", "Difference [95% CI]", "p", "n"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, result.rows.map((r) => h("tr", { class: r.p_value < 0.05 ? (r.difference.mean > 0 ? "better" : "worse") : "" },
        h("td", {}, r.metric), h("td", { class: "num" }, fmt.num(r.a_mean)), h("td", { class: "num" }, fmt.num(r.b_mean)),
        h("td", { class: "num" }, `${fmt.num(r.difference.mean)} [${fmt.num(r.difference.low)}, ${fmt.num(r.difference.high)}]`),
        h("td", { class: "num" }, fmt.num(r.p_value, 4)), h("td", { class: "num" }, r.n))))));
  return null;
}
