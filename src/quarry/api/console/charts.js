// Small SVG charts (no library): lines over time, bars with confidence intervals, histograms.
// Each chart is a <figure> with a caption and a text alternative for screen readers.
import { h } from "./lib.js";

const NS = "http://www.w3.org/2000/svg";
const W = 560;
const H = 180;
const PAD = { left: 48, right: 12, top: 10, bottom: 28 };

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function frame(title, summary, ...content) {
  return h("figure", { class: "chart" },
    svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title}: ${summary}` }, ...content),
    h("figcaption", {}, title));
}

function tickLabel(v) {
  if (v === 0) return "0";
  if (Math.abs(v) >= 10) return Math.round(v).toLocaleString();
  return Math.abs(v) >= 0.01 ? v.toFixed(2) : v.toExponential(1);
}

function axis(maxY, label = tickLabel) {
  const ticks = [0, 0.5, 1].map((f) => f * maxY);
  return ticks.map((v) => {
    const y = PAD.top + (1 - v / maxY) * (H - PAD.top - PAD.bottom);
    return svg("g", { class: "tick" },
      svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }),
      svg("text", { x: PAD.left - 4, y: y + 4, "text-anchor": "end" }, label(v)));
  });
}

// series: [[name, [{x, y}]]]; x is epoch seconds.
export function lineChart(title, series) {
  const points = series.flatMap(([, s]) => s);
  const minX = Math.min(...points.map((p) => p.x));
  const maxX = Math.max(...points.map((p) => p.x), minX + 1);
  const top = Math.max(...points.map((p) => p.y));
  const maxY = (top > 0 ? top : 1) * 1.1;  // all zero (a local model costs nothing): a 0–1 axis
  const x = (v) => PAD.left + ((v - minX) / (maxX - minX)) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - v / maxY) * (H - PAD.top - PAD.bottom);
  const lines = series.map(([name, s], i) => svg("g", { class: `series s${i}` },
    svg("polyline", { points: s.map((p) => `${x(p.x)},${y(p.y)}`).join(" ") }),
    s.map((p) => svg("circle", { cx: x(p.x), cy: y(p.y), r: 2.5 }, svg("title", {}, `${name} ${p.y.toPrecision(3)}`)))));
  const legend = series.map(([name], i) => svg("text", { x: W - PAD.right - 40 * (series.length - i), y: PAD.top + 4,
    class: `legend s${i}` }, name));
  const last = series.map(([name, s]) => `${name} ${s.at(-1)?.y.toPrecision(3)}`).join(", ");
  const when = (v) => new Date(v * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return frame(title, `latest ${last}`, axis(maxY), lines, legend,
    svg("text", { x: PAD.left, y: H - 6 }, when(minX)), svg("text", { x: x(maxX), y: H - 6, "text-anchor": "end" }, when(maxX)));
}

// rows: [{metric, mean, low, high}] with values in [0, 1]: one horizontal bar per metric, its CI as a whisker.
export function barChart(title, rows) {
  const shown = rows.filter((r) => r.mean !== null && r.mean !== undefined);
  const row = 22;
  const left = 190;
  const right = W - 70;
  const height = PAD.top + shown.length * row + 24;
  const x = (v) => left + Math.max(0, Math.min(1, v)) * (right - left);
  const bars = shown.map((r, i) => {
    const y0 = PAD.top + i * row;
    const low = r.low ?? r.mean;
    const high = r.high ?? r.mean;
    return svg("g", { class: "bar" },
      svg("text", { x: left - 8, y: y0 + 14, "text-anchor": "end", class: "label" }, r.metric),
      svg("rect", { x: left, y: y0 + 3, width: Math.max(x(r.mean) - left, 1), height: row - 8 },
        svg("title", {}, `${r.metric}: ${r.mean.toFixed(3)} [${low.toFixed(3)}, ${high.toFixed(3)}]`)),
      svg("line", { class: "ci", x1: x(low), x2: x(high), y1: y0 + row / 2, y2: y0 + row / 2 }),
      svg("text", { x: right + 6, y: y0 + 14 }, r.mean.toFixed(2)));
  });
  const grid = [0, 0.5, 1].map((v) => svg("g", { class: "tick" },
    svg("line", { x1: x(v), x2: x(v), y1: PAD.top, y2: height - 20 }),
    svg("text", { x: x(v), y: height - 6, "text-anchor": "middle" }, v)));
  return h("figure", { class: "chart" },
    svg("svg", { viewBox: `0 0 ${W} ${height}`, role: "img",
      "aria-label": `${title}: ${shown.map((r) => `${r.metric} ${r.mean.toFixed(2)}`).join(", ")}` }, grid, bars),
    h("figcaption", {}, title));
}

export function histogram(title, values, bins = 10) {
  const finite = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  const counts = new Array(bins).fill(0);
  for (const v of finite) counts[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))] += 1;
  const maxY = Math.max(...counts, 1);
  const band = (W - PAD.left - PAD.right) / bins;
  const y = (v) => PAD.top + (1 - v / maxY) * (H - PAD.top - PAD.bottom);
  const bars = counts.map((c, i) => svg("rect", { x: PAD.left + i * band + 1, y: y(c), width: band - 2, height: y(0) - y(c),
    class: "hist" }, svg("title", {}, `${(i / bins).toFixed(1)}–${((i + 1) / bins).toFixed(1)}: ${c}`)));
  const labels = [0, 0.5, 1].map((f) => svg("text", { x: PAD.left + f * (W - PAD.left - PAD.right), y: H - 6,
    "text-anchor": "middle" }, f));
  return frame(title, `${finite.length} values in ${bins} bins`, axis(maxY, (v) => Math.round(v)), bars, labels);
}
