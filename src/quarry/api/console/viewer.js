// The source viewer: a cited document opened at the cited span, highlighted. For paged documents (PDF) it shows
// the page that holds the span; for long texts a window around it.
import { api, apiObjectUrl, clear, errorBox, h } from "./lib.js";

const WINDOW = 4000; // characters shown around the span of a long unpaged document
const documents = new Map();

function documentOf(collection, uri) {
  const key = `${collection}\n${uri}`;
  if (!documents.has(key)) {
    documents.set(key, api(`/v1/collections/${encodeURIComponent(collection)}/documents/${encodeURIComponent(uri)}`)
      .catch((error) => { documents.delete(key); throw error; }));
  }
  return documents.get(key);
}

// span: {start, end, page?, title?, number?}
export async function showSource(viewer, collection, span) {
  viewer.hidden = false;
  const close = h("button", { class: "secondary small", onclick: () => { viewer.hidden = true; } }, "Close");
  clear(viewer, h("div", { class: "row between" }, h("h2", {}, span.number ? `Source ${span.number}` : "Source"), close),
    h("p", { class: "muted" }, "Loading…"));
  try {
    const doc = await documentOf(collection, span.document_uri);
    const { from, to, label } = shownRange(doc, span);
    const text = doc.text;
    const start = Math.max(from, Math.min(span.start, to));
    const end = Math.max(start, Math.min(span.end, to));
    // the quoted sentence(s) marked inside the cited passage, when the quote is found there verbatim
    const at = span.quote ? text.indexOf(span.quote, start) : -1;
    const [qs, qe] = at >= 0 && at + span.quote.length <= end ? [at, at + span.quote.length] : [start, end];
    const mark = h("mark", { id: "cited-span", tabindex: "-1" }, text.slice(qs, qe));
    const passage = h("span", { class: "cited-passage" }, text.slice(start, qs), mark, text.slice(qe, end));
    const textView = h("pre", { class: "source-text" }, from > 0 ? "…" : "", text.slice(from, start), passage,
      text.slice(end, to), to < text.length ? "…" : "");
    const pageNumber = doc.pages.find((p) => p.start === from)?.number;
    const isPdf = pageNumber && String(doc.metadata.format || doc.source_uri).toLowerCase().endsWith("pdf");
    clear(viewer,
      h("div", { class: "row between" }, h("h2", {}, doc.title || doc.uri), close),
      h("p", { class: "muted small" }, doc.uri, label ? ` · ${label}` : ""),
      isPdf ? pageImage(collection, doc, pageNumber, text.slice(qs, qe), textView) : textView);
    mark.scrollIntoView({ block: "center" });
    mark.focus({ preventScroll: true });
  } catch (error) {
    clear(viewer, h("div", { class: "row between" }, h("h2", {}, "Source"), close), errorBox(error));
  }
}

function shownRange(doc, span) {
  const page = doc.pages.find((p) => p.start <= span.start && span.start < p.end) ||
    doc.pages.find((p) => p.number === span.page);
  if (page) return { from: page.start, to: page.end, label: `page ${page.number} of ${doc.pages.length}` };
  if (doc.text.length <= WINDOW * 2) return { from: 0, to: doc.text.length, label: "" };
  const from = Math.max(0, span.start - WINDOW);
  return { from, to: Math.min(doc.text.length, span.end + WINDOW), label: "" };
}

// A PDF citation: the rendered page with the quote highlighted, its text (highlighted too) folded below it.
function pageImage(collection, doc, number, quote, textView) {
  const figure = h("figure", { class: "page-image" }, h("p", { class: "muted small" }, "Rendering the page…"));
  const details = h("details", { open: true }, h("summary", {}, "Page text"), textView);
  apiObjectUrl(`/v1/collections/${encodeURIComponent(collection)}/page`,
    { document: doc.uri, number, highlight: quote.slice(0, 3000) })
    .then((url) => {
      const img = h("img", { src: url, alt: `Page ${number} of ${doc.title || doc.uri}, the cited text highlighted` });
      img.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
      clear(figure, img, h("figcaption", { class: "muted small" }, `Page ${number}`));
      details.open = false;
    })
    .catch(() => figure.remove()); // no original to render (e.g. ingested elsewhere): the page's text stays
  return [figure, details];
}
