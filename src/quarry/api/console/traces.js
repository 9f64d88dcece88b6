// Traces: a filtered list with latency percentiles and cost over time, and one trace's spans as a waterfall
// with timings, tokens and cost per stage.
import { api, clear, errorBox, fmt, h, loading } from "./lib.js";
import { lineChart } from "./charts.js";

const WINDOWS = [["", "any time"], ["3600", "last hour"], ["86400", "last day"], ["604800", "last week"]];

export async function tracesPage(main, [traceId]) {
  if (traceId) return tracePage(main, traceId);
  const field = (id, label, control) => h("div", { class: "field" }, h("label", { for: id }, label), control);
  const kind = h("select", { id: "t-kind" }, ["", "answer", "search", "ingest", "agent"].map((k) =>
    h("option", { value: k }, k || "any kind")));
  const status = h("select", { id: "t-status" }, ["", "ok", "error"].map((s) => h("option", { value: s }, s || "any status")));
  const collection = h("input", { id: "t-collection", placeholder: "any collection" });
  const since = h("select", { id: "t-since" }, WINDOWS.map(([v, t]) => h("option", { value: v }, t)));
  const minMs = h("input", { id: "t-min", type: "number", min: 0, placeholder: "0", class: "narrow" });
  const charts = h("div", { class: "charts" });
  const table = h("div", {}, loading());

  async function load(event) {
    event?.preventDefault();
    const query = { limit: 500, kind: kind.value, status: status.value, collection: collection.value.trim(),
      min_ms: minMs.value, since: since.value ? Date.now() / 1000 - Number(since.value) : "" };
    try {
      const traces = await api("/v1/traces", { query });
      clear(charts, overTime(traces));
      clear(table, traces.length ? traceTable(traces.slice(0, 200)) : h("p", { class: "muted" }, "No trace matches."));
    } catch (error) { clear(table, errorBox(error)); }
  }

  clear(main, h("h1", {}, "Traces"),
    h("form", { class: "row wrap filters", onsubmit: load, "aria-label": "Filter traces" },
      field("t-kind", "Kind", kind), field("t-status", "Status", status), field("t-collection", "Collection", collection),
      field("t-since", "Time", since), field("t-min", "Slower than (ms)", minMs), h("button", { type: "submit" }, "Apply")),
    charts, table);
  document.title = "Traces · Quarry";
  await load();
  return null;
}

function traceTable(traces) {
  return h("table", { class: "table" },
    h("thead", {}, h("tr", {}, ["Started", "Kind", "Name", "Collection", "Status", "Duration", "Tokens", "Cost"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, traces.map((t) => h("tr", {},
      h("td", {}, h("a", { href: `#/traces/${t.trace_id}` }, fmt.time(t.started_at))),
      h("td", {}, t.kind), h("td", { class: "clip" }, t.name), h("td", {}, t.attributes.collection || "—"),
      h("td", {}, h("span", { class: t.status === "ok" ? "ok" : "warn" }, t.status)),
      h("td", { class: "num" }, fmt.ms(t.duration)), h("td", { class: "num" }, t.tokens || "—"),
      h("td", { class: "num" }, fmt.usd(t.cost_usd))))));
}

function percentile(sorted, q) {
  if (!sorted.length) return 0;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
}

// Latency p50/p95/p99 and cost per time bucket (about 12 buckets over the traces' span of time).
function overTime(traces) {
  if (traces.length < 2) return [];
  const times = traces.map((t) => t.started_at);
  const first = Math.min(...times);
  const width = Math.max((Math.max(...times) - first) / 12, 1);
  const buckets = new Map();
  for (const t of traces) {
    const at = first + Math.floor((t.started_at - first) / width) * width;
    if (!buckets.has(at)) buckets.set(at, []);
    buckets.get(at).push(t);
  }
  const keys = [...buckets.keys()].sort((a, b) => a - b);
  const series = (fn) => keys.map((k) => ({ x: k, y: fn(buckets.get(k)) }));
  const latency = (q) => series((ts) => percentile(ts.map((t) => t.duration * 1000).sort((a, b) => a - b), q));
  return [
    lineChart("Latency (ms) over time", [["p50", latency(0.5)], ["p95", latency(0.95)], ["p99", latency(0.99)]]),
    lineChart("Cost (USD) over time", [["cost", series((ts) => ts.reduce((s, t) => s + t.cost_usd, 0))]]),
  ];
}

async function tracePage(main, traceId) {
  const trace = await api(`/v1/traces/${traceId}`);
  const spans = trace.spans || [];
  const root = spans.find((s) => s.parent_id === null) || spans[0];
  const total = Math.max(trace.duration, 1e-6);
  const depth = new Map();
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const depthOf = (s) => {
    if (!depth.has(s.span_id)) depth.set(s.span_id, s.parent_id && byId.has(s.parent_id) ? depthOf(byId.get(s.parent_id)) + 1 : 0);
    return depth.get(s.span_id);
  };
  const ordered = [...spans].sort((a, b) => a.start - b.start);
  document.title = `Trace ${traceId.slice(0, 8)} · Quarry`;
  clear(main,
    h("p", {}, h("a", { href: "#/traces" }, "← Traces")),
    h("h1", {}, trace.name || trace.kind),
    h("p", { class: "row wrap" }, h("span", {}, `${trace.kind} · ${fmt.time(trace.started_at)}`),
      h("span", { class: trace.status === "ok" ? "ok" : "warn" }, trace.status),
      h("span", {}, fmt.ms(trace.duration)), h("span", {}, `${trace.tokens} tokens`), h("span", {}, fmt.usd(trace.cost_usd)),
      h("span", { class: "mono small" }, trace.trace_id)),
    h("h2", {}, "Spans"),
    h("ol", { class: "waterfall", "aria-label": "Spans by start time" }, ordered.map((s) => {
      const left = ((s.start - root.start) / total) * 100;
      const width = Math.max((s.duration / total) * 100, 0.4);
      const a = s.attributes || {};
      const usage = [a.prompt_tokens ? `${a.prompt_tokens}+${a.completion_tokens || 0} tokens` : "",
        a.cost_usd ? fmt.usd(a.cost_usd) : "", a.model || ""].filter(Boolean).join(" · ");
      return h("li", { class: s.errors?.length ? "span error" : "span" },
        h("span", { class: "span-name", style: { paddingLeft: `${depthOf(s) * 1.1}em` } }, s.name),
        h("span", { class: "span-bar", "aria-hidden": "true" },
          h("span", { style: { left: `${Math.min(left, 99.6)}%`, width: `${Math.min(width, 100 - Math.min(left, 99.6))}%` } })),
        h("span", { class: "num" }, fmt.ms(s.duration)),
        h("span", { class: "small muted" }, usage, s.errors?.length ? ` · ${s.errors.join("; ")}` : ""));
    })),
    h("details", {}, h("summary", {}, "Attributes"), h("pre", { class: "mono small" }, JSON.stringify(trace.attributes, null, 2))),
    trace.feedback?.length ? [h("h2", {}, "Feedback"), h("ul", {}, trace.feedback.map((f) =>
      h("li", {}, `${f.rating || f.score} ${f.comment || ""}`)))] : null);
  return null;
}
